//! Plain text with scraper leftovers. PLACEHOLDER (helper A).

use chrono::{DateTime, Utc};

/// What [`clean`] keeps of a scraped text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CleanText {
    pub title: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// Main text without boilerplate lines, paragraphs separated by blank lines.
    pub text: String,
}

/// Removes boilerplate lines and finds the title and date. `collected_at` anchors relative dates.
pub fn clean(text: &str, collected_at: DateTime<Utc>) -> CleanText {
    let _ = collected_at;
    CleanText { text: text.to_string(), ..Default::default() }
}
