//! `varta narratives FILE.jsonl`: narratives in a file of texts, without a store. Reads
//! `{"id", "text"}` lines (optional `"time"`, RFC 3339, and `"lang"`), embeds each text with e5,
//! clusters them ([`varta_detect::narratives`]) and returns each narrative with its label, members,
//! representative texts, languages, first seen and volume per day.

use crate::{AppError, Notice, Observer, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use varta_detect::claims::matcher::Embedder;
use varta_detect::narratives::{Item, Params, cluster};
use varta_ingest::{BoundedLines, LineItem};

/// One narrative as printed.
#[derive(Debug, Clone, Serialize)]
pub struct NarrativeOut {
    pub id: String,
    /// The most telling words, language by language (`uk: …; ru: …; en: …`).
    pub label: String,
    pub labels: BTreeMap<String, Vec<String>>,
    /// The input ids, in input order.
    pub members: Vec<String>,
    pub size: usize,
    /// Up to three members closest to the narrative's centre: ids and texts.
    pub representatives: Vec<Representative>,
    pub languages: BTreeMap<String, usize>,
    pub first_seen: Option<DateTime<Utc>>,
    /// Members per day (UTC), for dated inputs.
    pub timeline: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Representative {
    pub id: String,
    pub text: String,
}

struct Doc {
    id: String,
    text: String,
    lang: String,
    time: Option<DateTime<Utc>>,
}

fn parse(bytes: &[u8]) -> std::result::Result<Doc, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let id = match &v["id"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err("no \"id\" (a string or a number)".into()),
    };
    let text = v["text"].as_str().ok_or("no \"text\" string")?.to_string();
    let time = match v.get("time").and_then(|t| t.as_str()) {
        None => None,
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|e| format!("\"time\" {t:?}: {e}"))?
                .with_timezone(&Utc),
        ),
    };
    let lang = match v.get("lang").and_then(|l| l.as_str()) {
        Some(l) if !l.is_empty() => l.to_string(),
        _ => varta_text::lang::identify(&text).lang.to_string(),
    };
    Ok(Doc {
        id,
        text,
        lang,
        time,
    })
}

/// Narratives of the texts in `input`, largest first.
pub fn run(
    input: &Path,
    embedder: &dyn Embedder,
    params: &Params,
    max_line: usize,
    observer: &dyn Observer,
) -> Result<Vec<NarrativeOut>> {
    let name = input.display().to_string();
    let file = std::fs::File::open(input).map_err(AppError::io(format!("opening {name}")))?;
    let mut lines = BoundedLines::new(std::io::BufReader::new(file), max_line);
    let mut docs = Vec::new();
    while let Some(item) = lines
        .next_item()
        .map_err(AppError::io(format!("reading {name}")))?
    {
        let fail = |line: u64, message: String| {
            observer.notice(Notice::RecordFailed(varta_ingest::RecordError {
                file: format!("{name}:{line}"),
                record: None,
                message,
            }))
        };
        match item {
            LineItem::Record { line, bytes } => {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match parse(&bytes) {
                    Ok(d) if d.text.trim().is_empty() => fail(line, "the text is empty".into()),
                    Ok(d) => docs.push(d),
                    Err(m) => fail(line, m),
                }
            }
            LineItem::TooLong { line, len } => fail(
                line,
                format!("{len} bytes, over the record limit of {max_line}"),
            ),
        }
    }
    if docs.is_empty() {
        return Err(AppError::NothingRead(format!(
            "{name}: no text could be read"
        )));
    }
    let progress = observer.start("embedding texts", Some(docs.len() as u64));
    let mut vectors = Vec::with_capacity(docs.len());
    for chunk in docs.chunks(64) {
        let texts: Vec<&str> = chunk.iter().map(|d| d.text.as_str()).collect();
        let got = embedder.embed(&texts).map_err(|source| AppError::Embed {
            what: format!("embedding the texts of {name}"),
            source,
        })?;
        progress.inc(chunk.len() as u64);
        vectors.extend(got);
    }
    progress.finish();
    let items: Vec<Item<'_>> = docs
        .iter()
        .zip(&vectors)
        .map(|(d, v)| Item {
            text: &d.text,
            lang: &d.lang,
            time: d.time.map(|t| t.timestamp()),
            vector: v,
        })
        .collect();
    let found = cluster(&items, params);
    Ok(found
        .into_iter()
        .map(|n| {
            let mut languages = BTreeMap::new();
            let mut timeline = BTreeMap::new();
            for &m in &n.members {
                *languages.entry(docs[m].lang.clone()).or_insert(0) += 1;
                if let Some(t) = docs[m].time {
                    *timeline
                        .entry(t.format("%Y-%m-%d").to_string())
                        .or_insert(0) += 1;
                }
            }
            let first = n
                .members
                .iter()
                .min_by_key(|&&m| (docs[m].time, m))
                .copied()
                .unwrap_or(0);
            let label = n
                .labels
                .iter()
                .map(|(l, w)| format!("{l}: {}", w.join(" ")))
                .collect::<Vec<_>>()
                .join("; ");
            NarrativeOut {
                id: format!(
                    "narrative:{}",
                    &varta_core::stable_hash(&["narrative", &docs[first].id])[..16]
                ),
                label,
                labels: n.labels,
                size: n.members.len(),
                members: n.members.iter().map(|&m| docs[m].id.clone()).collect(),
                representatives: n
                    .representatives
                    .iter()
                    .map(|&m| Representative {
                        id: docs[m].id.clone(),
                        text: docs[m].text.clone(),
                    })
                    .collect(),
                languages,
                first_seen: docs[first].time,
                timeline,
            }
        })
        .collect())
}
