//! `varta dedup`: every near-duplicate pair in a JSON-lines file of `{"id", "text"}`.
//!
//! The standalone tool a researcher runs instead of datasketch: no store, one pass to shingle and
//! sign (in parallel), one to band and verify, pairs written as `id_a,id_b,jaccard` with
//! `id_a < id_b` as strings, and a summary with the time each stage took.

use anyhow::{Context, Result};
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

#[derive(serde::Serialize)]
struct Seconds {
    read_and_sign: f64,
    pairs: f64,
    write: f64,
    total: f64,
}

#[derive(serde::Serialize)]
struct Summary {
    docs: usize,
    failed: u64,
    pairs: usize,
    threshold: f64,
    bands: usize,
    rows: usize,
    candidates: u64,
    distinct_texts: u64,
    signature_docs_per_s: u64,
    seconds: Seconds,
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

pub fn run(
    input: &Path,
    threshold: f64,
    exact: bool,
    pairs_out: Option<&Path>,
    json: bool,
    max_line: usize,
    out: &mut impl Write,
) -> Result<u8> {
    let start = Instant::now();
    let file =
        std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?;
    let mut lines = BoundedLines::new(std::io::BufReader::with_capacity(1 << 20, file), max_line);
    let mut index = Index::new(threshold);
    let mut ids: Vec<String> = Vec::new();
    let mut failed = 0u64;
    let mut sign_secs = 0.0f64;
    let name = input.display().to_string();
    loop {
        let mut chunk: Vec<(u64, Vec<u8>)> = Vec::with_capacity(CHUNK_LINES);
        while chunk.len() < CHUNK_LINES {
            match lines
                .next_item()
                .with_context(|| format!("reading {name}"))?
            {
                None => break,
                Some(LineItem::Record { line, bytes }) => {
                    if !bytes.iter().all(u8::is_ascii_whitespace) {
                        chunk.push((line, bytes));
                    }
                }
                Some(LineItem::TooLong { line, len }) => {
                    eprintln!(
                        "error: {name}:{line}: {len} bytes, over the record limit of {max_line}"
                    );
                    failed += 1;
                }
            }
        }
        if chunk.is_empty() {
            break;
        }
        let parsed: Vec<Result<(String, String), String>> = chunk
            .par_iter()
            .map(|(line, bytes)| {
                let rec: Record = serde_json::from_slice(bytes).map_err(|e| {
                    format!("{name}:{line}: not a JSON object with id and text: {e}")
                })?;
                let id = match rec.id {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Number(n) => n.to_string(),
                    other => {
                        return Err(format!(
                            "{name}:{line}: id must be a string or number, not {other}"
                        ));
                    }
                };
                Ok((id, rec.text.unwrap_or_default()))
            })
            .collect();
        drop(chunk);
        // The signature clock covers shingling and signing only, as the peer's covers its
        // shingling and MinHash.bulk over texts already in memory.
        let t = Instant::now();
        let index_ref = &index;
        let signed: Vec<Result<Signed, String>> = parsed
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
                Err(message) => {
                    eprintln!("error: {message}");
                    failed += 1;
                }
            }
        }
    }
    let read_secs = start.elapsed().as_secs_f64();
    let t = Instant::now();
    let (pairs, stats) = if exact {
        let p = index.exact_pairs();
        (p, Default::default())
    } else {
        index.pairs_since(0)
    };
    let pair_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut rows: Vec<(&str, &str, f64)> = pairs
        .iter()
        .map(|p| {
            let (a, b) = (ids[p.a as usize].as_str(), ids[p.b as usize].as_str());
            if a <= b {
                (a, b, p.jaccard)
            } else {
                (b, a, p.jaccard)
            }
        })
        .collect();
    rows.par_sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
    let write_rows = |w: &mut dyn Write| -> std::io::Result<()> {
        writeln!(w, "id_a,id_b,jaccard")?;
        for (a, b, j) in &rows {
            writeln!(w, "{},{},{:.6}", csv_field(a), csv_field(b), j)?;
        }
        w.flush()
    };
    match pairs_out {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            write_rows(&mut std::io::BufWriter::new(f))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None if !json => write_rows(out)?,
        None => {}
    }
    let write_secs = t.elapsed().as_secs_f64();
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
            write: round3(write_secs),
            total: round3(start.elapsed().as_secs_f64()),
        },
    };
    if json {
        writeln!(out, "{}", serde_json::to_string(&summary)?)?;
    } else {
        let to = if pairs_out.is_some() {
            &mut *out as &mut dyn Write
        } else {
            &mut std::io::stderr()
        };
        writeln!(
            to,
            "{} texts ({} failed), {} pairs with Jaccard >= {} in {:.2} s ({} candidates, {} bands of {} rows)",
            summary.docs,
            failed,
            summary.pairs,
            threshold,
            summary.seconds.total,
            stats.candidates,
            banding.bands,
            banding.rows
        )?;
    }
    Ok(if ids.is_empty() {
        crate::EXIT_NOTHING_READ
    } else {
        0
    })
}
