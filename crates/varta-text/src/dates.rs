//! Dates in machine formats and in Ukrainian, Russian and English prose. PLACEHOLDER (helper A).

use chrono::{DateTime, Utc};

/// Parses a machine-written timestamp: RFC 3339, RFC 2822, ISO 8601 without zone, epoch seconds.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(n) = s.parse::<i64>() {
        return DateTime::from_timestamp(n, 0);
    }
    None
}

/// Finds the publication date written in prose ("Опубліковано 16 жовтня 2018 року о 17:07").
pub fn find_date_in_text(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let _ = (s, now);
    None
}
