//! The near-duplicate job over a JSON-lines file of `{"id", "text"}` (`varta dedup`): every pair
//! of texts at or above a Jaccard threshold.
//!
//! The standalone tool a researcher runs instead of datasketch: no store, one pass to shingle and
//! sign (in parallel), one to band and verify, pairs written as `id_a,id_b,jaccard` with
//! `id_a < id_b` as strings, and a summary with the time each stage took.

use crate::{AppError, Notice, Observer, Result};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use varta_detect::neardup::{Index, Shingles};
use varta_ingest::{BoundedLines, LineItem};

/// Lines parsed and signed together: enough to keep both cores busy, small enough to bound memory.
const CHUNK_LINES: usize = 16_384;

#[derive(serde::Deserialize)]
struct Record {
    id: serde_json::Value,
    #[serde(default)]
    text: Option<String>,
}

/// A text ready for the index: its id, shingles and band keys.
type Signed = (String, Shingles, Vec<u64>);

/// Where the time went, in seconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Seconds {
    pub read_and_sign: f64,
    pub pairs: f64,
    pub write: f64,
    pub total: f64,
}

/// What `dedup --json` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub docs: usize,
    pub failed: u64,
    pub pairs: usize,
    pub threshold: f64,
    pub bands: usize,
    pub rows: usize,
    pub candidates: u64,
    pub distinct_texts: u64,
    pub signature_docs_per_s: u64,
    pub seconds: Seconds,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The pairs found, with what is needed to write and summarise them.
pub struct Dedup {
    ids: Vec<String>,
    /// `(a, b, jaccard)` as indices into `ids`, `ids[a] <= ids[b]`, sorted by those ids.
    rows: Vec<(u32, u32, f64)>,
    pub summary: Summary,
    start: Instant,
}

impl Dedup {
    /// Texts read.
    pub fn texts(&self) -> usize {
        self.ids.len()
    }

    /// Writes `id_a,id_b,jaccard` lines after a header, and records the time it took.
    pub fn write_pairs(&mut self, w: &mut dyn Write) -> std::io::Result<()> {
        let t = Instant::now();
        writeln!(w, "id_a,id_b,jaccard")?;
        for &(a, b, j) in &self.rows {
            let (a, b) = (&self.ids[a as usize], &self.ids[b as usize]);
            writeln!(w, "{},{},{:.6}", csv_field(a), csv_field(b), j)?;
        }
        w.flush()?;
        self.summary.seconds.write = round3(t.elapsed().as_secs_f64());
        self.summary.seconds.total = round3(self.start.elapsed().as_secs_f64());
        Ok(())
    }
}

/// Reads `input`, finds every pair with Jaccard similarity at least `threshold` (`exact`: every
/// pair sharing a shingle is checked instead of banding); bad lines are notices.
pub fn run(
    input: &Path,
    threshold: f64,
    exact: bool,
    max_line: usize,
    observer: &dyn Observer,
) -> Result<Dedup> {
    let start = Instant::now();
    let name = input.display().to_string();
    let file = std::fs::File::open(input).map_err(AppError::io(format!("opening {name}")))?;
    let mut lines = BoundedLines::new(std::io::BufReader::with_capacity(1 << 20, file), max_line);
    let mut index = Index::new(threshold);
    let mut ids: Vec<String> = Vec::new();
    let mut failed = 0u64;
    let mut sign_secs = 0.0f64;
    let mut fail = |line: u64, message: String| {
        failed += 1;
        // Located as compilers locate lines (`FILE:LINE`), as this tool always has.
        observer.notice(Notice::RecordFailed(varta_ingest::RecordError {
            file: format!("{name}:{line}"),
            record: None,
            message,
        }));
    };
    loop {
        let mut chunk: Vec<(u64, Vec<u8>)> = Vec::with_capacity(CHUNK_LINES);
        while chunk.len() < CHUNK_LINES {
            match lines
                .next_item()
                .map_err(AppError::io(format!("reading {name}")))?
            {
                None => break,
                Some(LineItem::Record { line, bytes }) => {
                    if !bytes.iter().all(u8::is_ascii_whitespace) {
                        chunk.push((line, bytes));
                    }
                }
                Some(LineItem::TooLong { line, len }) => fail(
                    line,
                    format!("{len} bytes, over the record limit of {max_line}"),
                ),
            }
        }
        if chunk.is_empty() {
            break;
        }
        let parsed: Vec<Result<(String, String), (u64, String)>> = chunk
            .par_iter()
            .map(|(line, bytes)| parse(bytes).map_err(|m| (*line, m)))
            .collect();
        drop(chunk);
        // The signature clock covers shingling and signing only, as the peer's covers its
        // shingling and MinHash.bulk over texts already in memory.
        let t = Instant::now();
        let index_ref = &index;
        let signed: Vec<Result<Signed, (u64, String)>> = parsed
            .into_par_iter()
            .map(|r| {
                let (id, text) = r?;
                let shingles = Shingles::of_text(&text);
                let keys = index_ref.band_keys(&shingles);
                Ok((id, shingles, keys))
            })
            .collect();
        sign_secs += t.elapsed().as_secs_f64();
        for r in signed {
            match r {
                Ok((id, shingles, keys)) => {
                    index.add_with_keys(shingles, &keys);
                    ids.push(id);
                }
                Err((line, message)) => fail(line, message),
            }
        }
    }
    let read_secs = start.elapsed().as_secs_f64();
    let t = Instant::now();
    let (pairs, stats) = if exact {
        (index.exact_pairs(), Default::default())
    } else {
        index.pairs_since(0)
    };
    let pair_secs = t.elapsed().as_secs_f64();
    let mut rows: Vec<(u32, u32, f64)> = pairs
        .iter()
        .map(|p| match ids[p.a as usize] <= ids[p.b as usize] {
            true => (p.a, p.b, p.jaccard),
            false => (p.b, p.a, p.jaccard),
        })
        .collect();
    rows.par_sort_unstable_by(|x, y| {
        let key = |r: &(u32, u32, f64)| (&ids[r.0 as usize], &ids[r.1 as usize]);
        key(x).cmp(&key(y))
    });
    let banding = index.banding();
    let summary = Summary {
        docs: ids.len(),
        failed,
        pairs: rows.len(),
        threshold,
        bands: banding.bands,
        rows: banding.rows,
        candidates: stats.candidates,
        distinct_texts: stats.banded,
        signature_docs_per_s: (ids.len() as f64 / sign_secs.max(1e-9)).round() as u64,
        seconds: Seconds {
            read_and_sign: round3(read_secs),
            pairs: round3(pair_secs),
            write: 0.0,
            total: round3(start.elapsed().as_secs_f64()),
        },
    };
    Ok(Dedup {
        ids,
        rows,
        summary,
        start,
    })
}

/// One line's id and text.
fn parse(bytes: &[u8]) -> std::result::Result<(String, String), String> {
    let rec: Record = serde_json::from_slice(bytes)
        .map_err(|e| format!("not a JSON object with id and text: {e}"))?;
    let id = match rec.id {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        other => return Err(format!("id must be a string or number, not {other}")),
    };
    Ok((id, rec.text.unwrap_or_default()))
}
