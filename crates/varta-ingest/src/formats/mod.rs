//! One module per input format, and the detection that picks one.

pub(crate) mod csv;
pub use csv::CNT_HEADER;
pub(crate) mod feed;
pub(crate) mod jsonl;
pub(crate) mod page;
pub(crate) mod telegram;

use crate::mapping::Field;
use crate::{FieldMap, Limits, Sink, SinkError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use varta_core::{Actor, Document, Format, actor_id};

/// `Err` only when the sink failed; the run stops then. Bad records go to the sink as errors.
pub(crate) type Flow = Result<(), SinkError>;

/// What every reader needs besides its bytes.
pub(crate) struct Ctx<'a> {
    /// The file or URL, as the user will recognise it in an error.
    pub file: &'a str,
    pub limits: &'a Limits,
    pub collected_at: DateTime<Utc>,
    /// `--source`, overriding the format's default source name.
    pub source: Option<&'a str>,
    pub map: &'a FieldMap,
    /// For pages fetched from a URL: where they came from, and the charset the server declared.
    pub url: Option<&'a str>,
    pub http_charset: Option<&'a str>,
    /// Identify each document's language (off where the reader needs none: `varta coord`).
    pub identify_language: bool,
    /// Hash every text (off where nothing needs the hash but the id: `varta coord`).
    pub hash_content: bool,
}

impl Ctx<'_> {
    /// A document builder for this input.
    pub(crate) fn builder(&self, source: impl Into<String>, format: Format) -> crate::DocBuilder {
        let mut b = crate::DocBuilder::new(source, format, self.collected_at);
        b.identify_language = self.identify_language;
        b.hash_content = self.hash_content;
        b
    }

    /// An error for the whole file (it could not be read, or read no further).
    pub(crate) fn file_error(&self, message: impl Into<String>) -> crate::RecordError {
        crate::RecordError {
            file: self.file.to_string(),
            record: None,
            message: message.into(),
        }
    }

    /// An error for one line (or the record starting on it) of this file.
    pub(crate) fn line_error(&self, line: u64, message: impl Into<String>) -> crate::RecordError {
        crate::RecordError {
            file: self.file.to_string(),
            record: Some(format!("line {line}")),
            message: message.into(),
        }
    }

    pub(crate) fn emit(&self, sink: &mut dyn Sink, doc: Document, actor: Option<Actor>) -> Flow {
        sink.document(doc, actor)
    }
}

/// Parses a time as the formats write it: epoch seconds (or milliseconds, or fractional), or any
/// textual form `varta_text::dates::parse_datetime` knows.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return None;
        }
        // Past the year 5138 in seconds means the number was written in milliseconds.
        let secs = if f.abs() > 1e11 { f / 1000.0 } else { f };
        return DateTime::from_timestamp(secs.trunc() as i64, (secs.fract().abs() * 1e9) as u32);
    }
    varta_text::dates::parse_datetime(s)
}

/// A list written as a JSON array or as one string separated by spaces or commas.
pub(crate) fn list_of(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(scalar).collect(),
        Value::String(s) => s
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// A string or a number as a string.
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Builds a document from a generic record, whatever it is stored in, through `get`.
pub(crate) fn mapped_document(
    ctx: &Ctx<'_>,
    source: &str,
    format: Format,
    get: impl Fn(Field) -> Option<Value>,
) -> Result<(Document, Option<Actor>), String> {
    let text = get(Field::Text).as_ref().and_then(scalar);
    let title = get(Field::Title).as_ref().and_then(scalar);
    if text.is_none() && title.is_none() {
        return Err("no text (map it with --map text=COLUMN)".into());
    }
    let mut b = ctx.builder(source, format);
    b.text = text.unwrap_or_default();
    b.title = title;
    b.native_id = get(Field::Id).as_ref().and_then(scalar);
    b.url = get(Field::Url).as_ref().and_then(scalar);
    if let Some(v) = get(Field::PublishedAt) {
        let t = match &v {
            Value::Number(n) => n.as_f64().and_then(|f| parse_time(&f.to_string())),
            Value::String(s) => parse_time(s),
            _ => None,
        };
        match t {
            Some(t) => b.published_at = Some(t),
            None => return Err(format!("published_at {v} is not a time")),
        }
    }
    b.declared_language = get(Field::Lang).as_ref().and_then(scalar);
    b.repost_of = get(Field::RepostOf).as_ref().and_then(scalar);
    b.reply_to = get(Field::ReplyTo).as_ref().and_then(scalar);
    b.forwarded_from = get(Field::ForwardedFrom).as_ref().and_then(scalar);
    b.links = get(Field::Links).as_ref().map(list_of).unwrap_or_default();
    b.hashtags = get(Field::Hashtags)
        .as_ref()
        .map(list_of)
        .unwrap_or_default();
    let handle = get(Field::Actor)
        .as_ref()
        .and_then(scalar)
        .filter(|s| !s.trim().is_empty());
    let name = get(Field::ActorName).as_ref().and_then(scalar);
    let actor = handle.map(|h| {
        let id = actor_id(source, h.trim());
        b.actor_id = Some(id.clone());
        b.author = name.clone().or_else(|| Some(h.clone()));
        Actor {
            id,
            platform: source.to_string(),
            handle: Some(h),
            display_name: name,
            first_seen: None,
            last_seen: None,
        }
    });
    Ok((b.build(), actor))
}

/// The format of a file, from its name and its first bytes. `None` when neither tells.
///
/// `name` is the file name with any `.gz` already removed; `head` is up to the first 8 KiB of its
/// (decompressed) content.
pub fn detect_format(name: &str, head: &[u8]) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let text = String::from_utf8_lossy(&head[..head.len().min(8192)]);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let first_line = trimmed.lines().next().unwrap_or("");
    match ext {
        "html" | "htm" | "xhtml" | "shtml" => return Some(Format::Html),
        "txt" => return Some(Format::Text),
        "rss" | "atom" => return Some(Format::Rss),
        "csv" => {
            let h: Vec<String> =
                csv::parse_record(&mut csv::RecordSplitter::new(), first_line.as_bytes())
                    .unwrap_or_default();
            let h: Vec<&str> = h.iter().map(|s| s.trim()).collect();
            return Some(if h == csv::CNT_HEADER {
                Format::CntCsv
            } else {
                Format::Csv
            });
        }
        "jsonl" | "ndjson" => {
            return Some(if looks_like_x(first_line) {
                Format::XJsonl
            } else {
                Format::Jsonl
            });
        }
        "json" => {
            if trimmed.starts_with('{')
                && (trimmed.contains("\"messages\"") || lower.ends_with("result.json"))
            {
                return Some(Format::Telegram);
            }
            if trimmed.starts_with('{')
                && trimmed
                    .lines()
                    .nth(1)
                    .is_some_and(|l| l.trim_start().starts_with('{'))
            {
                return Some(if looks_like_x(first_line) {
                    Format::XJsonl
                } else {
                    Format::Jsonl
                });
            }
            return Some(Format::Telegram);
        }
        _ => {}
    }
    // No telling extension: look at the content.
    let low = trimmed
        .get(..trimmed.len().min(1024))
        .unwrap_or(trimmed)
        .to_ascii_lowercase();
    if (low.starts_with("<?xml") || low.starts_with("<rss") || low.starts_with("<feed"))
        && (low.contains("<rss") || low.contains("<feed") || low.contains("<rdf") || ext == "xml")
    {
        return Some(Format::Rss);
    }
    if low.starts_with("<!doctype html")
        || low.starts_with("<html")
        || low.contains("<body")
        || low.contains("<head")
    {
        return Some(Format::Html);
    }
    if ext == "xml" {
        return Some(Format::Rss);
    }
    if trimmed.starts_with('{') {
        if trimmed.contains("\"messages\"") {
            return Some(Format::Telegram);
        }
        return Some(if looks_like_x(first_line) {
            Format::XJsonl
        } else {
            Format::Jsonl
        });
    }
    None
}

fn looks_like_x(line: &str) -> bool {
    (line.contains("\"data\"") && (line.contains("\"author_id\"") || line.contains("\"includes\"")))
        || (line.contains("\"author_id\"") && line.contains("\"created_at\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_name_and_content() {
        assert_eq!(detect_format("a.html", b""), Some(Format::Html));
        assert_eq!(
            detect_format(
                "a.csv",
                b"message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n"
            ),
            Some(Format::CntCsv)
        );
        assert_eq!(detect_format("a.csv", b"id,text\n"), Some(Format::Csv));
        assert_eq!(
            detect_format("result.json", b"{\"name\": \"x\", \"messages\": []}"),
            Some(Format::Telegram)
        );
        assert_eq!(
            detect_format(
                "t.jsonl",
                b"{\"data\": [{\"id\": \"1\", \"author_id\": \"2\"}]}\n"
            ),
            Some(Format::XJsonl)
        );
        assert_eq!(
            detect_format("t.jsonl", b"{\"id\": 1, \"text\": \"x\"}\n"),
            Some(Format::Jsonl)
        );
        assert_eq!(
            detect_format("feed", b"<?xml version=\"1.0\"?><rss>"),
            Some(Format::Rss)
        );
        assert_eq!(
            detect_format("page", b"<!DOCTYPE html><html>"),
            Some(Format::Html)
        );
        assert_eq!(detect_format("blob", b"\x00\x01\x02"), None);
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_time("1730089428").map(|t| t.timestamp()),
            Some(1730089428)
        );
        assert_eq!(
            parse_time("1730089428000").map(|t| t.timestamp()),
            Some(1730089428)
        );
        assert_eq!(
            parse_time("1730089428.5").map(|t| t.timestamp()),
            Some(1730089428)
        );
        assert_eq!(parse_time("NaN"), None);
        assert_eq!(parse_time("yesterday-ish"), None);
    }
}
