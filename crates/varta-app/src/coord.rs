//! The coordination jobs: networks from post files (`coord`) or the store (`detect coordination`).
//!
//! Parity mode reads coordination-network-toolkit's CSV with its own small reader (no document is
//! built: a million rows take a second or two) and writes the toolkit's edge list. The own mode
//! reads any ingestible format (or the store), builds the combined network with groups and their
//! evidence (stored as findings over the store), and writes the edge list, GEXF and GraphML on
//! request.

use crate::{AppError, Notice, Observer, Result};
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use varta_core::{Actor, Document};
use varta_detect::coord::collect::{Collected, Collector};
pub use varta_detect::coord::finding::{GroupFinding, rfc3339};
use varta_detect::coord::graphfile::{GraphEdge, Node, write_gexf, write_graphml};
use varta_detect::coord::network::{Group, Params, Window};
use varta_detect::coord::parity::{PeerNetwork, PeerNetworkBuilder, PeerRow, PreparedRows};
use varta_ingest::{
    Block, BlockItem, CsvBlocks, CsvSlices, RecordError, RecordSplitter, Sink, SinkError,
};
use varta_store::Store;

/// Where graph files go.
#[derive(Default)]
pub struct Outputs<'a> {
    pub edges: Option<&'a Path>,
    pub gexf: Option<&'a Path>,
    pub graphml: Option<&'a Path>,
}

/// Parses `--window`: seconds, or `auto`.
pub fn parse_window(s: &str) -> Result<Window, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(Window::Auto);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Window::Seconds(v)),
        _ => Err(format!("expected seconds (e.g. 60) or auto, found {s:?}")),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    Ok(std::io::BufWriter::new(
        std::fs::File::create(path)
            .map_err(AppError::io(format!("creating {}", path.display())))?,
    ))
}

/// Writes `path` with `write`, naming the file in any error.
fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let mut f = create(path)?;
    write(&mut f)
        .and_then(|()| f.flush())
        .map_err(AppError::io(format!("writing {}", path.display())))
}

/// Records of a parity CSV, a block at a time: from the mapped file, or read into buffers.
enum Source<'a> {
    Mapped(CsvSlices<'a>),
    Read(CsvBlocks<std::fs::File>),
}

/// One block's records; `data: None` when their offsets are into the mapped file.
struct Chunk {
    data: Option<Vec<u8>>,
    items: Vec<BlockItem>,
}

impl Chunk {
    fn data<'a>(&'a self, mapped: &'a [u8]) -> &'a [u8] {
        self.data.as_deref().unwrap_or(mapped)
    }
}

impl Source<'_> {
    fn next(&mut self) -> std::io::Result<Option<Chunk>> {
        Ok(match self {
            Source::Mapped(s) => s.next_items().map(|items| Chunk { data: None, items }),
            Source::Read(r) => r.next_block()?.map(|b| Chunk {
                data: Some(b.data),
                items: b.items,
            }),
        })
    }

    fn recycle(&mut self, chunk: Chunk) {
        if let (Source::Read(r), Some(data)) = (self, chunk.data) {
            r.recycle(Block {
                data,
                items: chunk.items,
            });
        }
    }
}

/// A run of records of a parity CSV, parsed and prepared.
#[derive(Default)]
struct Parsed {
    rows: PreparedRows,
    /// Records that could not be read, by line.
    errors: Vec<(u64, String)>,
    /// The header, if in this run: its line, and what it was if not the toolkit's.
    header: Option<(u64, Option<String>)>,
}

/// Parses a block's records in parallel, in runs; `header_at`: the item that is the file's header.
fn parse_block(
    data: &[u8],
    items: &[BlockItem],
    network: PeerNetwork,
    header_at: Option<usize>,
    max_record: usize,
) -> Vec<Parsed> {
    use rayon::prelude::*;
    const RUN: usize = 2048;
    items
        .par_chunks(RUN)
        .enumerate()
        .map_init(RecordSplitter::new, |splitter, (run, items)| {
            let mut out = Parsed::default();
            for (k, item) in items.iter().enumerate() {
                let (line, bytes) = match *item {
                    BlockItem::Record { line, start, end } => (line, &data[start..end]),
                    BlockItem::TooLong { line, len } => {
                        out.errors.push((
                            line,
                            format!("{len} bytes, over the record limit of {max_record}"),
                        ));
                        continue;
                    }
                };
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let mut raw: [&[u8]; 8] = [b""; 8];
                let n = if memchr::memchr2(b'"', b'\r', bytes).is_none() {
                    // No quoting (and no carriage return, a line end to Python): the fields are the
                    // bytes between commas.
                    let mut n = 0usize;
                    for f in bytes.split(|&b| b == b',') {
                        if n < 8 {
                            raw[n] = f;
                        }
                        n += 1;
                    }
                    n
                } else {
                    let split = splitter.split(bytes);
                    let n = split.len();
                    if n == 8 {
                        for (r, f) in raw.iter_mut().zip(split) {
                            *r = f;
                        }
                    }
                    n
                };
                let mut fields: [&str; 8] = [""; 8];
                let mut bad = None;
                if n != 8 {
                    bad = Some(format!("expected 8 fields, found {n}"));
                } else {
                    for (f, r) in raw.iter().enumerate() {
                        match simdutf8::basic::from_utf8(r) {
                            Ok(v) => fields[f] = v,
                            Err(_) => {
                                bad = Some(format!("field {} is not valid UTF-8", f + 1));
                                break;
                            }
                        }
                    }
                }
                if header_at == Some(run * RUN + k) {
                    let got: Vec<&str> = fields
                        .iter()
                        .map(|f| f.trim().trim_start_matches('\u{feff}'))
                        .collect();
                    let ok = bad.is_none() && got == varta_ingest::CNT_HEADER;
                    out.header = Some((
                        line,
                        (!ok).then(|| String::from_utf8_lossy(bytes).into_owned()),
                    ));
                    continue;
                }
                if let Some(why) = bad {
                    out.errors.push((line, why));
                    continue;
                }
                // Python's float(): surrounding whitespace allowed.
                let timestamp = match fields[6].trim().parse::<f64>() {
                    Ok(t) if t.is_finite() => t,
                    _ => {
                        out.errors.push((
                            line,
                            format!("timestamp {:?} is not a number of seconds", fields[6]),
                        ));
                        continue;
                    }
                };
                out.rows.add(
                    network,
                    &PeerRow {
                        message_id: fields[0],
                        user_id: fields[1],
                        repost_id: fields[3],
                        reply_id: fields[4],
                        message: fields[5],
                        timestamp,
                        urls: fields[7],
                    },
                );
            }
            out
        })
        .collect()
}

/// What parity mode did (`coord --parity --json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParitySummary {
    pub network: &'static str,
    pub rows: u64,
    pub failed: u64,
    pub posts: usize,
    pub edges: usize,
    pub window: f64,
    pub min_weight: u32,
    pub seconds: ParitySeconds,
}

/// Where parity mode's time went.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParitySeconds {
    pub read: f64,
    pub compute: f64,
    pub write: f64,
}

/// What parity mode computes: coordination-network-toolkit 1.5.2's parameters.
#[derive(Debug, Clone, Copy)]
pub struct ParityParams {
    pub network: PeerNetwork,
    /// Seconds within which two posts of the same thing are a co-share.
    pub window: f64,
    /// Smallest edge weight kept.
    pub min_weight: u32,
    /// co_similar_tweet: Jaccard of token sets at which two posts are similar.
    pub similarity_threshold: f64,
    /// Longest record read (longer ones are reported and skipped).
    pub max_record: usize,
}

/// Parity mode: the toolkit's network from its CSV, row for row; the edge list goes to
/// `outputs.edges`, else to `edges_out` when given.
pub fn parity(
    input: &Path,
    p: &ParityParams,
    outputs: &Outputs<'_>,
    edges_out: Option<&mut dyn Write>,
    observer: &dyn Observer,
) -> Result<ParitySummary> {
    let ParityParams {
        network,
        window,
        min_weight,
        similarity_threshold,
        max_record,
    } = *p;
    let start = Instant::now();
    let name = input.display().to_string();
    let file = std::fs::File::open(input).map_err(AppError::io(format!("opening {name}")))?;
    // A regular file up to 1 GiB is mapped rather than read: the kernel's copy into a buffer is a
    // good part of the time at this speed. Bigger files are read in blocks, so that the resident
    // set stays what the network needs. SAFETY: the mapping is only read; if another process
    // truncates the file meanwhile, reading it faults, as in any tool that maps its input.
    let map = match file.metadata() {
        Ok(m) if m.is_file() && m.len() > 0 && m.len() <= 1 << 30 => {
            let map = unsafe { memmap2::Mmap::map(&file) }.ok();
            if let Some(m) = &map {
                // Read ahead; pages behind are clean page cache the kernel may drop.
                let _ = m.advise(memmap2::Advice::Sequential);
            }
            map
        }
        _ => None,
    };
    const BLOCK: usize = 8 << 20;
    let mut source = match &map {
        Some(m) => Source::Mapped(CsvSlices::new(m, max_record, BLOCK)),
        None => Source::Read(CsvBlocks::new(file, max_record, BLOCK)),
    };
    let mapped: &[u8] = map.as_deref().unwrap_or_default();
    let mut builder = PeerNetworkBuilder::new(network);
    let (mut rows, mut failed, mut header) = (0u64, 0u64, false);
    // Rows of one block are split and hashed in parallel while the previous block's rows are
    // added to the builder (which must see them in file order) and the next block is read.
    let mut current: Option<(Chunk, Vec<Parsed>)> = None;
    let mut next = source
        .next()
        .map_err(AppError::io(format!("reading {name}")))?;
    loop {
        // The header is the file's first record that is not blank.
        let header_at = match &next {
            Some(c) if !header => {
                let data = c.data(mapped);
                let at = c.items.iter().position(|item| match *item {
                    BlockItem::Record { start, end, .. } => {
                        !data[start..end].iter().all(u8::is_ascii_whitespace)
                    }
                    BlockItem::TooLong { .. } => false,
                });
                header = at.is_some();
                at
            }
            _ => None,
        };
        let (parsed, applied) = rayon::join(
            || {
                let parsed = next.map(|c| {
                    let p = parse_block(c.data(mapped), &c.items, network, header_at, max_record);
                    (c, p)
                });
                let following = match parsed {
                    Some(_) => source.next(),
                    None => Ok(None),
                };
                (parsed, following)
            },
            || -> Result<Option<Chunk>, String> {
                let Some((chunk, parsed)) = current.take() else {
                    return Ok(None);
                };
                for run in parsed {
                    if let Some((line, Some(found))) = run.header {
                        return Err(format!(
                            "{name}:{line}: expected the header {}, found {found}",
                            varta_ingest::CNT_HEADER.join(","),
                        ));
                    }
                    for (line, why) in &run.errors {
                        observer.notice(Notice::RecordFailed(varta_ingest::RecordError {
                            file: format!("{name}:{line}"),
                            record: None,
                            message: why.clone(),
                        }));
                    }
                    failed += run.errors.len() as u64;
                    rows += run.rows.len() as u64;
                    builder.push_rows(run.rows);
                }
                Ok(Some(chunk))
            },
        );
        let (parsed, following) = parsed;
        match applied {
            Err(message) => return Err(AppError::Usage(message)),
            Ok(Some(done)) => source.recycle(done),
            Ok(None) => {}
        }
        let Some(p) = parsed else {
            break;
        };
        current = Some(p);
        next = following.map_err(AppError::io(format!("reading {name}")))?;
    }
    let read = start.elapsed().as_secs_f64();
    let t = Instant::now();
    let posts = builder.posts();
    let edges = builder.edges(window, min_weight, similarity_threshold);
    let compute = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let write_edges = |w: &mut dyn Write| -> std::io::Result<()> {
        writeln!(w, "user_1,user_2,weight")?;
        for (a, b, weight) in &edges {
            writeln!(w, "{},{},{weight}", csv_field(a), csv_field(b))?;
        }
        Ok(())
    };
    match (outputs.edges, edges_out) {
        (Some(path), _) => write_file(path, write_edges)?,
        (None, Some(out)) => write_edges(out).map_err(AppError::io("writing the edges"))?,
        (None, None) => {}
    }
    if outputs.gexf.is_some() || outputs.graphml.is_some() {
        let named = edges
            .iter()
            .map(|(a, b, w)| (&**a, &**b, f64::from(*w), None));
        write_named_graph(outputs, named, true)?;
    }
    let write = t.elapsed().as_secs_f64();
    let summary = ParitySummary {
        network: network.name(),
        rows,
        failed,
        posts,
        edges: edges.len(),
        window,
        min_weight,
        seconds: ParitySeconds {
            read,
            compute,
            write,
        },
    };
    Ok(summary)
}

/// What CooRTweet parity computes: `detect_groups(time_window, min_participation)` and
/// `generate_coordinated_network(edge_weight, subgraph = 1)`.
#[derive(Clone, Copy, Debug)]
pub struct CoortweetParams {
    pub window: f64,
    pub min_participation: u64,
    pub edge_weight: f64,
    pub max_record: usize,
}

/// What CooRTweet parity did (`coord --parity coortweet --json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CoortweetSummary {
    pub parity: &'static str,
    pub rows: u64,
    pub failed: u64,
    pub pairs: usize,
    /// Edges before the threshold, and kept.
    pub all_edges: usize,
    pub edges: usize,
    pub accounts: usize,
    pub weight_threshold: f64,
    pub window: f64,
    pub min_participation: u64,
    pub edge_weight: f64,
    pub seconds: ParitySeconds,
}

/// The header CooRTweet's functions take.
pub const COORTWEET_HEADER: [&str; 4] =
    ["object_id", "account_id", "content_id", "timestamp_share"];

/// CooRTweet parity: its four-column CSV in, its pairs (to `pairs_path`) and edges (to
/// `outputs.edges`, else `edges_out`) out, row for row. Bad rows are reported and skipped.
pub fn coortweet(
    input: &Path,
    p: &CoortweetParams,
    pairs_path: Option<&Path>,
    outputs: &Outputs<'_>,
    edges_out: Option<&mut dyn Write>,
    observer: &dyn Observer,
) -> Result<CoortweetSummary> {
    use varta_detect::coord::coortweet::{Shares, r_number};
    let start = Instant::now();
    let name = input.display().to_string();
    let file = std::fs::File::open(input).map_err(AppError::io(format!("opening {name}")))?;
    let mut lines = varta_ingest::BoundedLines::csv(std::io::BufReader::new(file), p.max_record);
    let mut splitter = RecordSplitter::new();
    let mut shares = Shares::new();
    let (mut rows, mut failed) = (0u64, 0u64);
    // Columns by name, as R reads them: the header may order them any way.
    let mut columns: Option<[usize; 4]> = None;
    let fail = |line: u64, message: String| {
        observer.notice(Notice::RecordFailed(varta_ingest::RecordError {
            file: name.clone(),
            record: Some(format!("line {line}")),
            message,
        }));
    };
    while let Some(item) = lines
        .next_item()
        .map_err(AppError::io(format!("reading {name}")))?
    {
        let (line, bytes) = match item {
            varta_ingest::LineItem::Record { line, bytes } => (line, bytes),
            varta_ingest::LineItem::TooLong { line, len } => {
                fail(
                    line,
                    format!("{len} bytes, over the record limit of {}", p.max_record),
                );
                failed += 1;
                continue;
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let fields: Vec<String> = splitter
            .split(&bytes)
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let Some(cols) = columns else {
            let names: Vec<&str> = fields
                .iter()
                .map(|f| f.trim().trim_start_matches('\u{feff}'))
                .collect();
            let at = |want: &str| names.iter().position(|n| *n == want);
            let found: Option<Vec<usize>> = COORTWEET_HEADER.iter().map(|w| at(w)).collect();
            match found.as_deref() {
                Some(&[o, a, c, t]) => columns = Some([o, a, c, t]),
                _ => {
                    return Err(AppError::Usage(format!(
                        "{name}:{line}: expected a header with the columns {}, found {}",
                        COORTWEET_HEADER.join(","),
                        String::from_utf8_lossy(&bytes)
                    )));
                }
            }
            continue;
        };
        let get = |i: usize| fields.get(i).map(String::as_str);
        let (Some(object), Some(account), Some(content), Some(time)) =
            (get(cols[0]), get(cols[1]), get(cols[2]), get(cols[3]))
        else {
            fail(
                line,
                format!(
                    "expected at least {} fields, found {}",
                    cols.iter().max().map_or(0, |m| m + 1),
                    fields.len()
                ),
            );
            failed += 1;
            continue;
        };
        let time = match time.trim().parse::<f64>() {
            Ok(t) if t.is_finite() => t,
            _ => {
                fail(
                    line,
                    format!("timestamp_share {time:?} is not a number of seconds"),
                );
                failed += 1;
                continue;
            }
        };
        shares.push(object, account, content, time);
        rows += 1;
    }
    let read = start.elapsed().as_secs_f64();
    let t = Instant::now();
    let pairs = shares.detect_groups(p.window, p.min_participation);
    let net = shares.network(&pairs, p.edge_weight);
    let compute = t.elapsed().as_secs_f64();
    let t = Instant::now();
    if let Some(path) = pairs_path {
        write_file(path, |w| {
            writeln!(
                w,
                "object_id,content_id,content_id_y,time_delta,account_id,account_id_y"
            )?;
            for r in shares.sorted_pairs(&pairs) {
                writeln!(
                    w,
                    "{},{},{},{},{},{}",
                    csv_field(shares.name(r.object)),
                    csv_field(shares.name(r.content)),
                    csv_field(shares.name(r.content_y)),
                    r_number(r.time_delta),
                    csv_field(shares.name(r.account)),
                    csv_field(shares.name(r.account_y)),
                )?;
            }
            Ok(())
        })?;
    }
    let write_edges = |w: &mut dyn Write| -> std::io::Result<()> {
        writeln!(
            w,
            "from,to,weight,avg_time_delta,n_content_id,n_content_id_y,edge_symmetry_score,weight_threshold"
        )?;
        for e in &net.edges {
            writeln!(
                w,
                "{},{},{},{},{},{},{},1",
                csv_field(shares.name(e.from)),
                csv_field(shares.name(e.to)),
                e.weight,
                r_number(e.avg_time_delta),
                e.n_content_id,
                e.n_content_id_y,
                r_number(e.edge_symmetry_score),
            )?;
        }
        Ok(())
    };
    match (outputs.edges, edges_out) {
        (Some(path), _) => write_file(path, write_edges)?,
        (None, Some(out)) => write_edges(out).map_err(AppError::io("writing the edges"))?,
        (None, None) => {}
    }
    let named = net.edges.iter().map(|e| {
        (
            shares.name(e.from),
            shares.name(e.to),
            e.weight as f64,
            Some(e.edge_symmetry_score),
        )
    });
    let accounts = if outputs.gexf.is_some() || outputs.graphml.is_some() {
        write_named_graph(outputs, named, false)?
    } else {
        let mut names: Vec<&str> = named.flat_map(|(a, b, _, _)| [a, b]).collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    };
    let write = t.elapsed().as_secs_f64();
    Ok(CoortweetSummary {
        parity: "coortweet",
        rows,
        failed,
        pairs: pairs.len(),
        all_edges: net.all_edges,
        edges: net.edges.len(),
        accounts,
        weight_threshold: net.threshold,
        window: p.window,
        min_participation: p.min_participation,
        edge_weight: p.edge_weight,
        seconds: ParitySeconds {
            read,
            compute,
            write,
        },
    })
}

/// Writes the GEXF/GraphML files of an edge list whose ends are names (`(from, to, weight,
/// symmetry)`); nodes are the names, sorted. Returns how many nodes there are.
fn write_named_graph<'a>(
    outputs: &Outputs<'_>,
    edges: impl Iterator<Item = (&'a str, &'a str, f64, Option<f64>)>,
    directed: bool,
) -> Result<usize> {
    let edges: Vec<(&str, &str, f64, Option<f64>)> = edges.collect();
    let mut names: Vec<&str> = edges.iter().flat_map(|e| [e.0, e.1]).collect();
    names.sort_unstable();
    names.dedup();
    let nodes: Vec<Node<'_>> = names
        .iter()
        .map(|n| Node {
            label: n,
            groups: Vec::new(),
        })
        .collect();
    let index = |n: &str| names.binary_search(&n).unwrap_or(0);
    let gedges: Vec<GraphEdge> = edges
        .iter()
        .map(|&(a, b, weight, symmetry)| GraphEdge {
            source: index(a),
            target: index(b),
            weight,
            symmetry,
        })
        .collect();
    write_graph_files(outputs, &nodes, &gedges, directed)?;
    Ok(names.len())
}

fn write_graph_files(
    outputs: &Outputs<'_>,
    nodes: &[Node<'_>],
    edges: &[GraphEdge],
    directed: bool,
) -> Result<()> {
    if let Some(p) = outputs.gexf {
        write_file(p, |mut w| write_gexf(&mut w, nodes, edges, directed))?;
    }
    if let Some(p) = outputs.graphml {
        write_file(p, |mut w| write_graphml(&mut w, nodes, edges, directed))?;
    }
    Ok(())
}

/// A sink that collects documents for the network and reports bad records.
struct CollectSink<'a> {
    collector: &'a mut Collector,
    failed: u64,
    observer: &'a dyn Observer,
}

impl Sink for CollectSink<'_> {
    fn document(&mut self, doc: Document, _actor: Option<Actor>) -> Result<(), SinkError> {
        self.collector.push(doc);
        Ok(())
    }

    fn error(&mut self, error: RecordError) {
        self.observer.notice(Notice::RecordFailed(error));
        self.failed += 1;
    }
}

/// A coordination network in numbers, with its groups (what `coord --json` prints).
#[derive(Debug, serde::Serialize)]
pub struct NetworkSummary<'a> {
    pub posts: usize,
    pub actors: usize,
    /// The window used, in seconds.
    pub window_s: f64,
    /// How the window was chosen, when automatically.
    pub window_estimate: Option<&'a varta_detect::coord::network::WindowEstimate>,
    /// Keys shared by two or more actors.
    pub keys: usize,
    /// Keys discounted as popular.
    pub keys_discounted: usize,
    /// Keys left out as too popular.
    pub keys_left_out: usize,
    pub co_sharing_pairs: usize,
    pub core_edges: usize,
    pub groups: &'a [GroupFinding],
}

/// A coordination network with its groups and their records (the findings' bodies).
pub struct Coordination {
    pub collected: Collected,
    /// Each group's record, in the network's group order.
    pub bodies: Vec<GroupFinding>,
}

impl Coordination {
    fn new(collected: Collected, params: &Params) -> Coordination {
        let bodies = GroupFinding::all(&collected, params);
        Coordination { collected, bodies }
    }

    /// The groups with their records.
    pub fn groups(&self) -> impl Iterator<Item = (&Group, &GroupFinding)> {
        self.collected.network.groups.iter().zip(&self.bodies)
    }

    /// The network in numbers, with every group's record (`coord --json`).
    pub fn summary(&self, params: &Params) -> NetworkSummary<'_> {
        let c = &self.collected;
        let net = &c.network;
        NetworkSummary {
            posts: c.posts,
            actors: c.actor_names.len(),
            window_s: net.window,
            window_estimate: net.window_estimate.as_ref(),
            keys: net.keys,
            keys_discounted: net.keys_discounted,
            keys_left_out: net.keys_left_out,
            co_sharing_pairs: net.co_sharing_pairs,
            core_edges: self.core_edges(params),
            groups: &self.bodies,
        }
    }

    /// Edges heavy enough for the core graph.
    pub fn core_edges(&self, params: &Params) -> usize {
        let edges = &self.collected.network.edges;
        edges
            .iter()
            .filter(|e| e.weight >= params.min_weight)
            .count()
    }

    /// Writes the edge list, GEXF and GraphML asked for.
    pub fn write_outputs(&self, params: &Params, outputs: &Outputs<'_>) -> Result<()> {
        write_outputs(&self.collected, params, outputs)
    }
}

/// Own mode over files: read them as ingest would (without storing) and build the network.
pub fn own_files(
    inputs: &[String],
    opts: &varta_ingest::IngestOptions,
    params: &Params,
    observer: &dyn Observer,
) -> Result<Coordination> {
    let mut collector = Collector::new();
    let mut sink = CollectSink {
        collector: &mut collector,
        failed: 0,
        observer,
    };
    // The network never reads a post's language nor, unless its id or a forward needs it, the
    // hash of its text: deriving them would be a fifth of the work.
    let opts = varta_ingest::IngestOptions {
        identify_language: false,
        hash_content: false,
        ..opts.clone()
    };
    varta_ingest::ingest_paths(inputs, &opts, &mut sink)
        .map_err(|e| AppError::Failed(format!("reading the inputs: {e}")))?;
    let failed = sink.failed;
    if collector.is_empty() {
        return Err(AppError::NothingRead(format!(
            "no posts read ({failed} records failed)"
        )));
    }
    Ok(Coordination::new(collector.finish(params), params))
}

/// What [`own_files_live`] found.
#[derive(Debug, serde::Serialize)]
pub struct LiveRun {
    pub posts: usize,
    /// The window used, in seconds (the full run's estimate when `auto`).
    pub window_s: f64,
    pub batches: usize,
    /// Groups handed out along the way (each appearance and doubling).
    pub handed_out: usize,
    /// The groups held at the end, best first.
    pub groups: Vec<GroupFinding>,
}

/// Own mode over files, batch by batch as the watcher detects: the posts in time order, `batch`
/// at a time, through [`varta_detect::coord::live::Live`], nothing leaving the window.
pub fn own_files_live(
    inputs: &[String],
    opts: &varta_ingest::IngestOptions,
    params: &Params,
    batch: u64,
    observer: &dyn Observer,
) -> Result<LiveRun> {
    struct Docs<'a> {
        docs: Vec<Document>,
        failed: u64,
        observer: &'a dyn Observer,
    }
    impl Sink for Docs<'_> {
        fn document(&mut self, doc: Document, _actor: Option<Actor>) -> Result<(), SinkError> {
            self.docs.push(doc);
            Ok(())
        }
        fn error(&mut self, error: RecordError) {
            self.observer.notice(Notice::RecordFailed(error));
            self.failed += 1;
        }
    }
    let mut sink = Docs {
        docs: Vec::new(),
        failed: 0,
        observer,
    };
    let opts = varta_ingest::IngestOptions {
        identify_language: false,
        ..opts.clone()
    };
    varta_ingest::ingest_paths(inputs, &opts, &mut sink)
        .map_err(|e| AppError::Failed(format!("reading the inputs: {e}")))?;
    let mut docs = sink.docs;
    if docs.is_empty() {
        return Err(AppError::NothingRead(format!(
            "no posts read ({} records failed)",
            sink.failed
        )));
    }
    let window = match params.window {
        Window::Seconds(s) => s,
        Window::Auto => {
            let mut c = Collector::new();
            for d in &docs {
                c.push(d.clone());
            }
            c.finish(params).network.window
        }
    };
    docs.sort_by_key(|d| d.published_at.unwrap_or(d.collected_at));
    let posts = docs.len();
    let mut live = varta_detect::coord::live::Live::new(*params, window, f64::MAX / 4.0);
    let (mut batches, mut handed_out) = (0, 0);
    let mut rest = docs.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<Document> = rest.by_ref().take(batch as usize).collect();
        let now = chunk
            .iter()
            .map(|d| d.published_at.unwrap_or(d.collected_at).timestamp_millis() as f64 / 1000.0)
            .fold(f64::MIN, f64::max);
        handed_out += live.push(chunk, now).len();
        batches += 1;
    }
    handed_out += live.flush().len();
    Ok(LiveRun {
        posts,
        window_s: window,
        batches,
        handed_out,
        groups: live.groups().into_iter().cloned().collect(),
    })
}

/// `detect coordination`: the own network over the stored documents (published since `since`);
/// each group is stored as a finding.
pub fn detect(
    store: &mut impl Store,
    params: &Params,
    since: Option<DateTime<Utc>>,
) -> Result<Coordination> {
    let collector = stored(
        store,
        since,
        "the store holds no documents (run varta ingest first)",
    )?;
    let found = Coordination::new(collector.finish(params), params);
    let now = Utc::now();
    let findings: Vec<varta_core::Finding> = found
        .bodies
        .iter()
        .map(|b| b.finding(params, now))
        .collect();
    store.put_findings(&findings)?;
    crate::taxii::publish_findings(store)?;
    Ok(found)
}

/// The window `auto` estimates over the documents stored since `since` (nothing stored: the
/// watcher keeps per-batch groups itself and only needs the window).
pub fn estimate_window(
    store: &impl Store,
    params: &Params,
    since: Option<DateTime<Utc>>,
) -> Result<f64> {
    let collector = stored(store, since, "no documents in the coordination window")?;
    Ok(collector.finish(params).network.window)
}

/// The stored documents published since `since`, collected; `NothingRead(empty)` when none.
fn stored(store: &impl Store, since: Option<DateTime<Utc>>, empty: &str) -> Result<Collector> {
    let mut collector = Collector::new();
    store.for_each_document(since, &mut |doc| {
        collector.push(doc);
        Ok(())
    })?;
    if collector.is_empty() {
        return Err(AppError::NothingRead(empty.into()));
    }
    Ok(collector)
}

fn write_outputs(c: &Collected, params: &Params, outputs: &Outputs<'_>) -> Result<()> {
    if outputs.edges.is_none() && outputs.gexf.is_none() && outputs.graphml.is_none() {
        return Ok(());
    }
    let n = c.actor_names.len();
    let mut groups_of: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, g) in c.network.groups.iter().enumerate() {
        for &m in &g.members {
            groups_of[m as usize].push(i + 1);
        }
    }
    let same_group = |a: u32, b: u32| {
        groups_of[a as usize]
            .iter()
            .any(|g| groups_of[b as usize].contains(g))
    };
    let kept: Vec<&varta_detect::coord::network::UEdge> = c
        .network
        .edges
        .iter()
        .filter(|e| e.weight >= params.min_weight || (e.weight >= 0.99 && same_group(e.a, e.b)))
        .collect();
    if let Some(p) = outputs.edges {
        write_file(p, |f| {
            writeln!(f, "actor_1,actor_2,weight,a_to_b,b_to_a,symmetry,groups")?;
            for e in &kept {
                let mut gs: Vec<String> = groups_of[e.a as usize]
                    .iter()
                    .filter(|g| groups_of[e.b as usize].contains(g))
                    .map(|g| g.to_string())
                    .collect();
                gs.dedup();
                writeln!(
                    f,
                    "{},{},{:.4},{:.4},{:.4},{:.4},{}",
                    csv_field(&c.actor_names[e.a as usize]),
                    csv_field(&c.actor_names[e.b as usize]),
                    e.weight,
                    e.a_to_b,
                    e.b_to_a,
                    e.symmetry,
                    csv_field(&gs.join(" "))
                )?;
            }
            Ok(())
        })?;
    }
    let mut used: Vec<u32> = kept.iter().flat_map(|e| [e.a, e.b]).collect();
    used.sort_unstable();
    used.dedup();
    let nodes: Vec<Node<'_>> = used
        .iter()
        .map(|&a| Node {
            label: &c.actor_names[a as usize],
            groups: groups_of[a as usize].clone(),
        })
        .collect();
    let index = |a: u32| used.binary_search(&a).unwrap_or(0);
    let gedges: Vec<GraphEdge> = kept
        .iter()
        .map(|e| GraphEdge {
            source: index(e.a),
            target: index(e.b),
            weight: e.weight,
            symmetry: Some(e.symmetry),
        })
        .collect();
    write_graph_files(outputs, &nodes, &gedges, false)
}
