//! Varta's domain types, shared by every other crate.
//!
//! This crate owns the shape of what Varta stores ([`Document`], [`Actor`]) and how their stable
//! identifiers are derived. It does no I/O, so that readers, stores and detectors can all depend on it
//! without pulling in anything heavy.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The input format a document was read from. Also the `--format` names on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// An HTML page (file, folder walked recursively, `.html.gz`).
    Html,
    /// Plain text as a scraper left it, boilerplate lines included.
    Text,
    /// RSS 2.0 or Atom feed, from a file or a URL.
    Rss,
    /// Telegram Desktop export (`result.json`).
    Telegram,
    /// coordination-network-toolkit's 8-column CSV.
    CntCsv,
    /// X/Twitter API v2 responses, one JSON object a line.
    XJsonl,
    /// Generic CSV with a column mapping.
    Csv,
    /// Generic JSON lines with a field mapping.
    Jsonl,
}

impl Format {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Format; 8] = [
        Format::Html,
        Format::Text,
        Format::Rss,
        Format::Telegram,
        Format::CntCsv,
        Format::XJsonl,
        Format::Csv,
        Format::Jsonl,
    ];

    /// The name used on the command line, in the store and in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Text => "text",
            Format::Rss => "rss",
            Format::Telegram => "telegram",
            Format::CntCsv => "cnt-csv",
            Format::XJsonl => "x-jsonl",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`Format::ALL`].
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown format {0:?} (expected one of: html, text, rss, telegram, cnt-csv, x-jsonl, csv, jsonl)"
)]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// One clean document: a page, a feed entry, a post or a message.
///
/// `text` is the clean main text; `raw` keeps what the source said when it differs (an HTML page's
/// markup, a post's text before entity expansion), for provenance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    /// Stable id, see [`document_id`].
    pub id: String,
    /// Where the record came from: a platform or channel (`telegram:1234`, `x`, `cnt-csv`), a feed URL,
    /// or `html` / `text` for loose files.
    pub source: String,
    pub format: Format,
    /// The account, channel or site that published it, see [`actor_id`].
    pub actor_id: Option<String>,
    /// The record's id in its source (message id, tweet id, feed entry id).
    pub native_id: Option<String>,
    pub url: Option<String>,
    pub canonical_url: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub text: String,
    pub raw: Option<String>,
    /// ISO 639-1 code, or `und` when unknown.
    pub language: String,
    pub language_confidence: f32,
    pub published_at: Option<DateTime<Utc>>,
    pub collected_at: DateTime<Utc>,
    /// Normalized links (see `varta_text::links::normalize_url`), in order of appearance, no repeats.
    pub links: Vec<String>,
    /// Hashtags without `#`, lower-cased.
    pub hashtags: Vec<String>,
    /// Mentions without `@`, lower-cased.
    pub mentions: Vec<String>,
    /// Native id of the post this one reposts (retweet, repost), in the same source.
    pub repost_of: Option<String>,
    /// Name or id of the channel or account a message was forwarded from.
    pub forwarded_from: Option<String>,
    /// Native id of the post this one replies to, in the same source.
    pub reply_to: Option<String>,
    /// Hash of `text`, hex.
    pub content_hash: String,
}

/// An account, channel or site that publishes documents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    /// `platform:native-id`, see [`actor_id`].
    pub id: String,
    pub platform: String,
    pub handle: Option<String>,
    pub display_name: Option<String>,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
}

/// 128 bits of BLAKE3 over the parts, separated so that ("ab","c") and ("a","bc") differ.
/// What a detector found (DESIGN.md §3): a copy-paste campaign, a coordinated network, a claim
/// match. The `body` holds the kind's own record (members, evidence, timeline) as JSON, so that
/// reports and exports read every kind the same way. Ids are derived from the data and the
/// parameters, so a rerun on the same data yields the same ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub id: String,
    /// `copy-paste-campaign`, …
    pub kind: String,
    /// Detector name and version, e.g. `varta-detect/campaigns 1`.
    pub detector: String,
    /// The parameters the detector ran with, as JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub parameters: serde_json::Value,
    pub score: f64,
    /// Time of the earliest member (the origin).
    pub first_seen: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The stored documents the finding cites (members, evidence), so that a store can tell when
    /// a finding's evidence is gone.
    #[serde(default)]
    pub documents: Vec<String>,
    /// The finding's record and its evidence, per kind.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: serde_json::Value,
}

pub fn stable_hash(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let bytes = h.finalize();
    let mut out = String::with_capacity(32);
    for b in &bytes.as_bytes()[..16] {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The hash of a document's clean text.
pub fn content_hash(text: &str) -> String {
    stable_hash(&["content", text])
}

/// What a document's id is derived from, strongest first.
///
/// A record with a native id is the same record however often it is re-exported, so source + native id
/// wins; a page without one is the same page when its canonical URL is; anything else is identified by
/// its content, so re-ingesting the same file adds nothing.
pub enum IdBasis<'a> {
    Native { source: &'a str, native_id: &'a str },
    Url(&'a str),
    Content(&'a str),
}

/// The stable document id for `basis`.
pub fn document_id(basis: IdBasis<'_>) -> String {
    match basis {
        IdBasis::Native { source, native_id } => stable_hash(&["native", source, native_id]),
        IdBasis::Url(u) => stable_hash(&["url", u]),
        IdBasis::Content(hash) => stable_hash(&["content-id", hash]),
    }
}

/// The actor id: `platform:native` (`x:12345`, `telegram:channel1001`, `site:example.com`).
pub fn actor_id(platform: &str, native: &str) -> String {
    format!("{platform}:{native}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().ok(), Some(f));
        }
        assert!("pdf".parse::<Format>().is_err());
    }

    #[test]
    fn hash_separates_parts() {
        assert_ne!(stable_hash(&["ab", "c"]), stable_hash(&["a", "bc"]));
        assert_eq!(stable_hash(&["x"]).len(), 32);
    }

    #[test]
    fn ids_differ_by_basis() {
        let a = document_id(IdBasis::Native {
            source: "x",
            native_id: "1",
        });
        let b = document_id(IdBasis::Url("x"));
        assert_ne!(a, b);
        assert_eq!(
            a,
            document_id(IdBasis::Native {
                source: "x",
                native_id: "1"
            })
        );
    }
}

/// A claim a fact-checker has reviewed (debunked, or rated misleading): what incoming documents are
/// matched against. Read from ClaimReview JSON-LD, Google Fact Check Tools JSON, EUvsDisinfo-style
/// CSV, or added by hand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Claim {
    /// Stable: from the review's URL, or (without one) from the claim's text and reviewer.
    pub id: String,
    /// The claim as reviewed (`claimReviewed`; EUvsDisinfo's title and summary).
    pub text: String,
    /// The reviewer's verdict as words (`reviewRating.alternateName`, `textualRating`): "False", …
    pub rating: Option<String>,
    /// The review (fact-check) page.
    pub review_url: Option<String>,
    /// Who reviewed it (`author.name`, `publisher.name`).
    pub reviewer: Option<String>,
    pub review_date: Option<DateTime<Utc>>,
    /// Who made the claim (`itemReviewed.author.name`, `claimant`, EUvsDisinfo's outlets).
    pub claimant: Option<String>,
    pub claim_date: Option<DateTime<Utc>>,
    /// Where the claim appeared (`itemReviewed.appearance[].url`).
    pub appearances: Vec<String>,
    /// Language codes the claim was seen in, the claim's own first when known.
    pub languages: Vec<String>,
    pub keywords: Vec<String>,
    /// The reviewer's refutation (EUvsDisinfo's disproof).
    pub disproof: Option<String>,
    /// `claimreview`, `factcheck-tools`, `euvsdisinfo-csv`, `manual`.
    pub origin: String,
}

impl Claim {
    /// The id for a claim: its review URL when there is one (a fact-check page reviews one claim),
    /// else its whitespace-normalized, lower-cased text and reviewer.
    pub fn derive_id(review_url: Option<&str>, text: &str, reviewer: Option<&str>) -> String {
        let h = match review_url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => stable_hash(&["claim-url", url]),
            None => {
                let norm = text
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase();
                stable_hash(&["claim-text", &norm, reviewer.unwrap_or("")])
            }
        };
        format!("claim:{}", &h[..16])
    }
}
