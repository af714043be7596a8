//! Turning the fields a reader found into a complete [`Document`].
//!
//! Every reader fills what its format says and leaves the rest to [`DocBuilder::build`], so that
//! language, content hash, links, hashtags, mentions and the id are derived the same way for all.

use chrono::{DateTime, Utc};
use varta_core::{Document, Format, IdBasis, content_hash, document_id};
use varta_text::{lang, links};

/// The fields of a document as a reader found them.
#[derive(Debug, Clone)]
pub struct DocBuilder {
    pub source: String,
    pub format: Format,
    pub actor_id: Option<String>,
    pub native_id: Option<String>,
    pub url: Option<String>,
    pub canonical_url: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub text: String,
    pub raw: Option<String>,
    /// A language the source declared (X's `lang`, `<html lang>`); used when identification is unsure.
    pub declared_language: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub collected_at: DateTime<Utc>,
    /// Links the source listed explicitly (entities, a CSV column); links in the text are added.
    pub links: Vec<String>,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub repost_of: Option<String>,
    pub forwarded_from: Option<String>,
    pub reply_to: Option<String>,
    /// Identify the language from the text (else only a declared language, or "und").
    pub identify_language: bool,
    /// Hash the text into `content_hash` even where the id does not need it (it does when there is
    /// neither a native id nor a URL, and for forwards); off, the hash is left empty.
    pub hash_content: bool,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Tags the source listed (with or without their sigil) followed by those found in the text,
/// lower-cased, without repeats.
fn tags(listed: &[String], sigil: char, found: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in listed
        .iter()
        .map(|t| t.trim_start_matches(sigil).to_lowercase())
        .chain(found)
    {
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Normalizes a declared language tag ("uk-UA", "ru_RU", "EN") to its primary subtag.
fn primary_subtag(tag: &str) -> Option<String> {
    let p = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    (p.len() == 2 || p.len() == 3)
        .then_some(p)
        .filter(|p| p.chars().all(|c| c.is_ascii_lowercase()) && p != "und")
}

impl DocBuilder {
    pub fn new(
        source: impl Into<String>,
        format: Format,
        collected_at: DateTime<Utc>,
    ) -> DocBuilder {
        DocBuilder {
            source: source.into(),
            format,
            actor_id: None,
            native_id: None,
            url: None,
            canonical_url: None,
            title: None,
            author: None,
            text: String::new(),
            raw: None,
            identify_language: true,
            hash_content: true,
            declared_language: None,
            published_at: None,
            collected_at,
            links: Vec::new(),
            hashtags: Vec::new(),
            mentions: Vec::new(),
            repost_of: None,
            forwarded_from: None,
            reply_to: None,
        }
    }

    /// Derives what is derived and fixes the id.
    pub fn build(self) -> Document {
        let title = non_empty(self.title);
        let text = self.text;
        let explicit_links = self.links;
        let canonical_url = self
            .canonical_url
            .as_deref()
            .and_then(links::normalize_url)
            .or_else(|| self.url.as_deref().and_then(links::normalize_url));
        let found = links::find_urls(&text);
        let all_links =
            links::normalize_all(explicit_links.iter().map(String::as_str).chain(found));

        let hashtags = tags(&self.hashtags, '#', links::find_hashtags(&text));
        let mentions = tags(&self.mentions, '@', links::find_mentions(&text));

        // Titles help identification of short posts with a headline; the text decides.
        let mut guess = if self.identify_language {
            lang::identify(&text)
        } else {
            lang::Guess::UNDETERMINED
        };
        if self.identify_language
            && guess.lang == "und"
            && let Some(t) = &title
        {
            guess = lang::identify(&format!("{t} {text}"));
        }
        let (language, language_confidence) = match (
            guess.lang,
            self.declared_language.as_deref().and_then(primary_subtag),
        ) {
            ("und", Some(declared)) => (declared, 0.5),
            (l, _) => (l.to_string(), guess.confidence),
        };

        let native_id = non_empty(self.native_id);
        let hash = if self.hash_content
            || (native_id.is_none() && canonical_url.is_none())
            || self.forwarded_from.is_some()
        {
            content_hash(&text)
        } else {
            String::new()
        };
        let id = match (&native_id, &canonical_url) {
            (Some(n), _) => document_id(IdBasis::Native {
                source: &self.source,
                native_id: n,
            }),
            (None, Some(u)) => document_id(IdBasis::Url(u)),
            (None, None) => document_id(IdBasis::Content(&hash)),
        };
        let raw = self.raw.filter(|r| *r != text);
        Document {
            id,
            source: self.source,
            format: self.format,
            actor_id: non_empty(self.actor_id),
            native_id,
            url: non_empty(self.url),
            canonical_url,
            title,
            author: non_empty(self.author),
            text,
            raw,
            language,
            language_confidence,
            published_at: self.published_at,
            collected_at: self.collected_at,
            links: all_links,
            hashtags,
            mentions,
            repost_of: non_empty(self.repost_of),
            forwarded_from: non_empty(self.forwarded_from),
            reply_to: non_empty(self.reply_to),
            content_hash: hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_links_tags_language_and_id() {
        let mut b = DocBuilder::new("x", Format::XJsonl, Utc::now());
        b.native_id = Some("42".into());
        b.text = "Україна переможе! #Перемога @NewsUA https://t.example/a?utm_source=x".into();
        b.links = vec!["https://t.example/a".into(), "https://b.example/".into()];
        let d = b.build();
        assert_eq!(d.links, ["https://t.example/a", "https://b.example"]);
        assert_eq!(d.hashtags, ["перемога"]);
        assert_eq!(d.mentions, ["newsua"]);
        assert_eq!(d.language, "uk");
        assert_eq!(
            d.id,
            document_id(IdBasis::Native {
                source: "x",
                native_id: "42"
            })
        );
    }

    #[test]
    fn declared_language_fills_in_when_unsure() {
        let mut b = DocBuilder::new("x", Format::XJsonl, Utc::now());
        b.text = "ok".into();
        b.declared_language = Some("pl-PL".into());
        assert_eq!(b.build().language, "pl");
        assert_eq!(primary_subtag("und"), None);
    }
}
