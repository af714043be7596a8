//! The near-duplicate job over a JSON-lines file of `{"id", "text"}` (`varta dedup`): every pair
//! of texts at or above a Jaccard threshold, or the clusters they form.
//!
//! The standalone tool a researcher runs instead of datasketch: no store, one pass to shingle and
//! sign (in parallel; copies of a text already seen are not signed again), one to band and verify
//! the distinct texts, and a summary with the time each stage took. Copies are never paired in
//! memory: clusters (`{"cluster", "ids", "texts", "min_jaccard"}` lines) come from the distinct
//! texts in time and memory linear in the input, and pairs (`id_a,id_b,jaccard` with `id_a < id_b`
//! as strings, in that order) are expanded one text at a time as they are written, so memory does
//! not grow with their number: 100,000 copies of one text are 5 billion lines, written in
//! constant memory.

use crate::{AppError, Notice, Observer, Result};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use varta_detect::neardup::{Clusters, Copies, Index, Pair, PairStats, Shingles};
use varta_ingest::{BoundedLines, LineItem};

/// Lines parsed and signed together: enough to keep both cores busy, small enough to bound memory.
const CHUNK_LINES: usize = 16_384;

#[derive(serde::Deserialize)]
struct Record {
    id: serde_json::Value,
    #[serde(default)]
    text: Option<String>,
}

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
    /// Pairs at or above the threshold, copies included (counted, not enumerated).
    pub pairs: u64,
    /// Clusters written (with `--clusters`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clusters: Option<usize>,
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

/// The near-duplicates found, with what is needed to write and summarise them.
pub struct Dedup {
    ids: Vec<String>,
    index: Index,
    /// Verified pairs among distinct texts (representatives), sorted by position.
    pairs: Vec<Pair>,
    stats: PairStats,
    pub summary: Summary,
    start: Instant,
}

/// One line of `--clusters`.
#[derive(serde::Serialize)]
struct ClusterLine<'a> {
    cluster: usize,
    ids: Vec<&'a str>,
    texts: usize,
    pairs: u64,
    min_jaccard: f64,
}

impl Dedup {
    /// Texts read.
    pub fn texts(&self) -> usize {
        self.ids.len()
    }

    /// Pair lines `write_pairs` would write.
    pub fn pair_count(&self) -> u64 {
        self.summary.pairs
    }

    /// Writes `id_a,id_b,jaccard` lines after a header, ordered by `(id_a, id_b)` as strings, and
    /// records the time it took. Each text's partners are gathered and sorted on their own, so the
    /// memory held is one text's partners, never the pairs.
    pub fn write_pairs(&mut self, w: &mut dyn Write) -> std::io::Result<()> {
        let t = Instant::now();
        writeln!(w, "id_a,id_b,jaccard")?;
        let n = self.ids.len();
        // Ranks by id (ties by position, as a stable sort leaves them).
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.par_sort_by(|&x, &y| self.ids[x as usize].cmp(&self.ids[y as usize]));
        let mut rank = vec![0u32; n];
        for (r, &i) in order.iter().enumerate() {
            rank[i as usize] = r as u32;
        }
        // Copies of each representative, and its near-duplicate representatives.
        let canonical = self.index.canonical();
        let (copy_start, copy_list) = csr(n, (0..n as u32).map(|i| (canonical[i as usize], i)));
        let (nb_start, nb_list) = csr(
            n,
            self.pairs
                .iter()
                .enumerate()
                .flat_map(|(k, p)| [(p.a, k as u32), (p.b, k as u32)]),
        );
        let copies = |rep: u32| &copy_list[copy_start[rep as usize]..copy_start[rep as usize + 1]];
        let mut partners: Vec<(u32, f64)> = Vec::new();
        for &a in &order {
            let rep = canonical[a as usize];
            let ra = rank[a as usize];
            partners.clear();
            partners.extend(
                copies(rep)
                    .iter()
                    .filter(|&&x| rank[x as usize] > ra)
                    .map(|&x| (rank[x as usize], 1.0)),
            );
            for &k in &nb_list[nb_start[rep as usize]..nb_start[rep as usize + 1]] {
                let p = &self.pairs[k as usize];
                let other = if p.a == rep { p.b } else { p.a };
                partners.extend(
                    copies(other)
                        .iter()
                        .filter(|&&x| rank[x as usize] > ra)
                        .map(|&x| (rank[x as usize], p.jaccard)),
                );
            }
            if partners.is_empty() {
                continue;
            }
            partners.sort_unstable_by_key(|x| x.0);
            let id_a = csv_field(&self.ids[a as usize]);
            for &(rb, j) in &partners {
                let id_b = csv_field(&self.ids[order[rb as usize] as usize]);
                writeln!(w, "{id_a},{id_b},{j:.6}")?;
            }
        }
        w.flush()?;
        self.summary.seconds.write = round3(t.elapsed().as_secs_f64());
        self.summary.seconds.total = round3(self.start.elapsed().as_secs_f64());
        Ok(())
    }

    /// Writes one JSON line per cluster of at least two texts, in the order of each cluster's
    /// first text in the input, its ids in input order; returns the number of clusters.
    pub fn write_clusters(&mut self, w: &mut dyn Write) -> std::io::Result<usize> {
        let t = Instant::now();
        let clusters = Clusters::from_pairs(self.index.canonical(), self.pairs.clone(), self.stats);
        let mut by_root = clusters.pairs_by_root();
        let mut written = 0usize;
        for members in clusters.components() {
            let rep_pairs = by_root
                .remove(&clusters.root(members[0]))
                .unwrap_or_default();
            let summary = clusters.summary(&members, &rep_pairs);
            let texts = members
                .iter()
                .filter(|&&m| clusters.canonical[m as usize] == m)
                .count();
            written += 1;
            let line = ClusterLine {
                cluster: written,
                ids: members
                    .iter()
                    .map(|&m| self.ids[m as usize].as_str())
                    .collect(),
                texts,
                pairs: summary.pairs,
                min_jaccard: (summary.min_jaccard * 1e6).round() / 1e6,
            };
            serde_json::to_writer(&mut *w, &line)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        self.summary.clusters = Some(written);
        self.summary.seconds.write += round3(t.elapsed().as_secs_f64());
        self.summary.seconds.total = round3(self.start.elapsed().as_secs_f64());
        Ok(written)
    }
}

/// Compressed rows: for `(row, value)` items over `n` rows, the start of each row's values and the
/// values, each row's in the order they came.
fn csr(n: usize, items: impl Iterator<Item = (u32, u32)> + Clone) -> (Vec<usize>, Vec<u32>) {
    let mut start = vec![0usize; n + 1];
    for (r, _) in items.clone() {
        start[r as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut list = vec![0u32; start[n]];
    for (r, v) in items {
        list[fill[r as usize]] = v;
        fill[r as usize] += 1;
    }
    (start, list)
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
        let shingled: Vec<Result<(String, Shingles), (u64, String)>> = parsed
            .into_par_iter()
            .map(|r| {
                let (id, text) = r?;
                Ok((id, Shingles::of_text(&text)))
            })
            .collect();
        let mut batch = Vec::with_capacity(shingled.len());
        for r in shingled {
            match r {
                Ok((id, shingles)) => {
                    batch.push(shingles);
                    ids.push(id);
                }
                Err((line, message)) => fail(line, message),
            }
        }
        index.add_batch(batch);
        sign_secs += t.elapsed().as_secs_f64();
    }
    let read_secs = start.elapsed().as_secs_f64();
    let t = Instant::now();
    let (pairs, stats) = if exact {
        // The truth over every text; a copy pairs as its representative does, so the
        // representatives' pairs are the whole answer.
        let canonical = index.canonical();
        let pairs = index
            .exact_pairs()
            .into_iter()
            .filter(|p| canonical[p.a as usize] == p.a && canonical[p.b as usize] == p.b)
            .collect();
        (pairs, PairStats::default())
    } else {
        index.distinct_pairs_since(0)
    };
    let pair_secs = t.elapsed().as_secs_f64();
    let pair_count = varta_detect::neardup::pair_count(index.canonical(), &pairs);
    let banding = index.banding();
    let summary = Summary {
        docs: ids.len(),
        failed,
        pairs: pair_count,
        clusters: None,
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
        index,
        pairs,
        stats,
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
