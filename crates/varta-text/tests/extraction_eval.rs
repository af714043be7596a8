//! Measures `html::extract` on the Article Extraction Benchmark pages: bag-of-words F1 against
//! the gold `articleBody` (the same scoring as `shared/peers/score_extraction.py`) and pages per
//! second. Ignored by default: it needs the pages unpacked into a folder (the test crate has no
//! gzip reader), and its numbers are measured, not asserted.
//!
//! ```text
//! mkdir -p /tmp/aeb && for f in /work/shared/eval/extraction/aeb-html/*.html.gz; do
//!   gunzip -c "$f" > /tmp/aeb/$(basename "$f" .gz); done
//! VARTA_AEB_DIR=/tmp/aeb VARTA_AEB_GOLD=/work/shared/eval/extraction/ground-truth.json \
//!   cargo test --release -p varta-text --test extraction_eval -- --ignored --nocapture
//! ```
//! `VARTA_AEB_OUT=/tmp/pred.jsonl` also writes `{"id","text"}` lines for the Python scorer, and
//! `VARTA_AEB_WORST=1` lists the 30 worst pages. `VARTA_PAGE=/tmp/aeb/ID.html` with the test
//! `one_page` prints what one page yields.

use std::collections::HashMap;
use std::io::Write;
use std::time::Instant;

fn tokens(s: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let lower = s.to_lowercase();
    for w in lower.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if !w.is_empty() {
            *counts.entry(w.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

fn prf(pred: &str, gold: &str) -> (f64, f64, f64) {
    let (p, g) = (tokens(pred), tokens(gold));
    let overlap: usize = p
        .iter()
        .map(|(w, n)| (*n).min(g.get(w).copied().unwrap_or(0)))
        .sum();
    let np: usize = p.values().sum();
    let ng: usize = g.values().sum();
    let pr = overlap as f64 / np.max(1) as f64;
    let rc = overlap as f64 / ng.max(1) as f64;
    let f = if pr + rc > 0.0 {
        2.0 * pr * rc / (pr + rc)
    } else {
        0.0
    };
    (pr, rc, f)
}

#[test]
#[ignore = "needs the unpacked benchmark pages; run by hand"]
fn aeb_f1_and_speed() {
    let Ok(dir) = std::env::var("VARTA_AEB_DIR") else {
        eprintln!("VARTA_AEB_DIR not set: nothing measured");
        return;
    };
    let gold_path = std::env::var("VARTA_AEB_GOLD")
        .unwrap_or_else(|_| "/work/shared/eval/extraction/ground-truth.json".to_string());
    let gold: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gold_path).unwrap()).unwrap();
    let mut pages = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let id = name.split('.').next().unwrap().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let (html, _) = varta_text::encoding::decode_html(&bytes, None);
        pages.push((id, html));
    }
    let now = chrono::Utc::now();
    let start = Instant::now();
    let results: Vec<_> = pages
        .iter()
        .map(|(_, html)| varta_text::html::extract(html, now))
        .collect();
    let first = start.elapsed().as_secs_f64();
    let rounds = 3;
    let start = Instant::now();
    for _ in 0..rounds {
        for (_, html) in &pages {
            std::hint::black_box(varta_text::html::extract(html, now));
        }
    }
    let secs = start.elapsed().as_secs_f64() / f64::from(rounds);
    let mut out = std::env::var("VARTA_AEB_OUT")
        .ok()
        .map(|p| std::fs::File::create(p).unwrap());
    let (mut sp, mut sr, mut sf) = (0.0, 0.0, 0.0);
    let mut rows = Vec::new();
    for ((id, _), e) in pages.iter().zip(&results) {
        let g = gold[id.as_str()]["articleBody"].as_str().unwrap_or("");
        let (p, r, f) = prf(&e.text, g);
        sp += p;
        sr += r;
        sf += f;
        rows.push((f, p, r, id.clone()));
        if let Some(out) = out.as_mut() {
            let line = serde_json::json!({"id": id, "text": e.text});
            writeln!(out, "{line}").unwrap();
        }
    }
    let n = pages.len() as f64;
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    if std::env::var("VARTA_AEB_WORST").is_ok() {
        for (f, p, r, id) in rows.iter().take(30) {
            println!("{f:.3} p={p:.3} r={r:.3} {id}");
        }
    }
    println!(
        "pages {} precision {:.4} recall {:.4} f1 {:.4} | {:.1} pages/s (first pass {:.1} pages/s)",
        pages.len(),
        sp / n,
        sr / n,
        sf / n,
        n / secs,
        n / first
    );
}

#[test]
#[ignore = "debugging aid: VARTA_PAGE=path"]
fn one_page() {
    let Ok(path) = std::env::var("VARTA_PAGE") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let (html, _) = varta_text::encoding::decode_html(&bytes, None);
    let e = varta_text::html::extract(&html, chrono::Utc::now());
    println!(
        "META {:?} | {:?} | {:?} | {:?} | {:?}",
        e.title, e.author, e.published_at, e.canonical_url, e.language_hint
    );
    println!("{}", e.text);
}
