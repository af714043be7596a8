//! `varta lang`: the language of each line on stdin, or accuracy and speed on a labelled file.
//!
//! The same identifier as ingest (`varta_text::lang`), exposed so that users can check it on their
//! own material and so that the bench can compare it with lingua on the same file.

use anyhow::{Context, Result};
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;
use varta_ingest::{BoundedLines, LineItem};
use varta_text::lang;

/// One JSON object a line on `out` for each line of `input`, in order, so that outputs line up
/// with inputs; a line too long to hold is answered `und` and reported on stderr.
pub fn each_line(input: impl BufRead, out: &mut impl Write, max_line: usize) -> Result<u8> {
    let mut lines = BoundedLines::new(input, max_line);
    while let Some(item) = lines.next_item().context("reading stdin")? {
        let guess = match item {
            LineItem::Record { bytes, .. } => {
                let text = String::from_utf8_lossy(&bytes);
                lang::identify(text.trim_end_matches('\r'))
            }
            LineItem::TooLong { line, len } => {
                eprintln!(
                    "error: stdin line {line}: {len} bytes, over the record limit of {max_line}"
                );
                lang::Guess::UNDETERMINED
            }
        };
        writeln!(out, "{}", guess_json(&guess))?;
    }
    Ok(0)
}

/// Field order as documented: a struct keeps it, a JSON map would sort it.
#[derive(serde::Serialize)]
struct LineGuess {
    lang: &'static str,
    confidence: f64,
}

#[derive(serde::Serialize)]
struct Score {
    texts: usize,
    accuracy: f64,
    texts_per_s: u64,
}

fn guess_json(g: &lang::Guess) -> String {
    let line = LineGuess {
        lang: g.lang,
        confidence: (f64::from(g.confidence) * 1000.0).round() / 1000.0,
    };
    serde_json::to_string(&line).unwrap_or_default()
}

/// Accuracy and texts per second on a `lang<TAB>text` file whose first line is a header. The
/// clock covers identification only (reading the file does not count), lingua's lazy model loading
/// included. With `show_errors`, every miss is printed on stderr.
pub fn tsv(path: &Path, out: &mut impl Write, max_line: usize, show_errors: bool) -> Result<u8> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut lines = BoundedLines::new(std::io::BufReader::new(file), max_line);
    let mut rows: Vec<(u64, String, String)> = Vec::new();
    let mut bad = 0u64;
    let mut first = true;
    while let Some(item) = lines
        .next_item()
        .with_context(|| format!("reading {}", path.display()))?
    {
        let (line, bytes) = match item {
            LineItem::Record { line, bytes } => (line, bytes),
            LineItem::TooLong { line, len } => {
                eprintln!(
                    "error: {}:{line}: {len} bytes, over the record limit",
                    path.display()
                );
                bad += 1;
                continue;
            }
        };
        if std::mem::take(&mut first) {
            continue;
        }
        let Ok(text) = String::from_utf8(bytes) else {
            eprintln!("error: {}:{line}: not UTF-8", path.display());
            bad += 1;
            continue;
        };
        let text = text.trim_end_matches('\r');
        if text.is_empty() {
            continue;
        }
        let Some((want, body)) = text.split_once('\t') else {
            eprintln!(
                "error: {}:{line}: no tab between language and text",
                path.display()
            );
            bad += 1;
            continue;
        };
        rows.push((line, want.trim().to_lowercase(), body.to_string()));
    }
    if bad > 0 {
        eprintln!(
            "{bad} lines skipped; the figures cover the other {}",
            rows.len()
        );
    }
    let start = Instant::now();
    let guesses: Vec<lang::Guess> = rows.iter().map(|(_, _, t)| lang::identify(t)).collect();
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let mut right = 0usize;
    for ((line, want, text), g) in rows.iter().zip(&guesses) {
        if g.lang == want {
            right += 1;
        } else if show_errors {
            eprintln!(
                "{}:{line}: {want} read as {} ({:.2}): {text}",
                path.display(),
                g.lang,
                g.confidence
            );
        }
    }
    let n = rows.len();
    let accuracy = if n == 0 { 0.0 } else { right as f64 / n as f64 };
    let summary = Score {
        texts: n,
        accuracy: (accuracy * 10_000.0).round() / 10_000.0,
        texts_per_s: (n as f64 / secs).round() as u64,
    };
    writeln!(out, "{}", serde_json::to_string(&summary)?)?;
    Ok(if n == 0 { crate::EXIT_NOTHING_READ } else { 0 })
}
