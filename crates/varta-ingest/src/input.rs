//! From what the user named (files, folders, URLs) to readers: walking, decompressing, capping sizes,
//! detecting formats, and extracting whole-document formats in parallel.

use crate::fetch::{FetchPolicy, fetch};
use crate::formats::page::{self, Converted};
use crate::formats::{Ctx, Flow, csv, detect_format, feed, jsonl, telegram};
use crate::{FieldMap, Limits, RecordError, Sink};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use varta_core::Format;

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Force this format instead of detecting it.
    pub format: Option<Format>,
    pub limits: Limits,
    /// Name of the source, overriding each format's default (`cnt-csv`, `x`, `telegram:<id>`, …).
    pub source: Option<String>,
    /// Column mapping for generic CSV and JSON lines.
    pub map: FieldMap,
    /// Let URLs reach loopback, private and link-local addresses.
    pub allow_private: bool,
    /// The time recorded as `collected_at`, and the anchor of relative dates ("вчора").
    pub collected_at: DateTime<Utc>,
    /// Identify each document's language (the default). Readers that never look at it, such as
    /// `varta coord`, turn it off and get "und": it is a sixth of the cost of reading a post.
    pub identify_language: bool,
    /// Hash each text into `content_hash` (the default; the store finds repeated texts by it).
    /// `varta coord` turns it off: its documents keep the hash only where their id or a
    /// forward's key needs it.
    pub hash_content: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            format: None,
            limits: Limits::default(),
            source: None,
            map: FieldMap::default(),
            allow_private: false,
            collected_at: Utc::now(),
            identify_language: true,
            hash_content: true,
        }
    }
}

/// How many pages are extracted in parallel before they are stored, in order.
const PAGE_CHUNK: usize = 64;

fn is_url(s: &str) -> bool {
    let l = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// Ingests every input in order. Returns `Err` only when the sink failed.
pub fn ingest_paths(inputs: &[String], opts: &IngestOptions, sink: &mut dyn Sink) -> Flow {
    for input in inputs {
        if is_url(input) {
            ingest_url(input, opts, sink)?;
            continue;
        }
        let path = Path::new(input);
        match std::fs::metadata(path) {
            Err(e) => sink.error(RecordError {
                file: input.clone(),
                record: None,
                message: e.to_string(),
            }),
            Ok(m) if m.is_dir() => ingest_dir(path, opts, sink)?,
            Ok(_) => {
                let Some(format) = format_of(path, opts, true, sink) else {
                    continue;
                };
                if is_whole(format) {
                    let converted = convert_whole(path, format, opts);
                    emit_converted(converted, sink)?;
                } else {
                    ingest_stream_file(path, format, opts, sink)?;
                }
            }
        }
    }
    Ok(())
}

/// Formats read whole and converted to one document per file.
fn is_whole(f: Format) -> bool {
    matches!(f, Format::Html | Format::Text)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// The name a format is detected from: the file name without a trailing `.gz`.
fn inner_name(p: &Path) -> String {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".GZ"))
    {
        Some(s) => s.to_string(),
        None => name,
    }
}

fn is_gz(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Errors once more than `limit` bytes come out of the inner reader: a gzip bomb stops here.
struct CapRead<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for CapRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "decompresses to more than {} bytes (limits.max_decompressed_bytes); refusing a possible gzip bomb",
                self.limit
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn open(path: &Path, limits: &Limits) -> std::io::Result<Box<dyn Read + Send>> {
    let f = File::open(path)?;
    if is_gz(path) {
        let dec = flate2::read::MultiGzDecoder::new(BufReader::new(f));
        Ok(Box::new(CapRead {
            inner: dec,
            left: limits.max_decompressed_bytes,
            limit: limits.max_decompressed_bytes,
        }))
    } else {
        Ok(Box::new(f))
    }
}

/// Reads a whole file, refusing one larger than `limits.max_file_bytes`.
fn read_whole(path: &Path, limits: &Limits) -> Result<Vec<u8>, String> {
    let cap = limits.max_file_bytes;
    if !is_gz(path)
        && let Ok(m) = std::fs::metadata(path)
        && m.len() > cap
    {
        return Err(format!(
            "file of {} bytes exceeds the limit of {cap} bytes (limits.max_file_bytes)",
            m.len()
        ));
    }
    let r = open(path, limits).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    r.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    if buf.len() as u64 > cap {
        return Err(format!(
            "content exceeds the limit of {cap} bytes (limits.max_file_bytes)"
        ));
    }
    Ok(buf)
}

fn head(path: &Path, limits: &Limits) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Ok(r) = open(path, limits) {
        let _ = r.take(8192).read_to_end(&mut buf);
    }
    buf
}

/// The format of one file: forced, or detected. `explicit` files (named by the user) are sniffed
/// and reported when unknown; files met in a folder walk are skipped quietly when their name says
/// nothing.
fn format_of(
    path: &Path,
    opts: &IngestOptions,
    explicit: bool,
    sink: &mut dyn Sink,
) -> Option<Format> {
    if let Some(f) = opts.format {
        return Some(f);
    }
    let name = inner_name(path);
    let known_ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .is_some_and(|e| {
            matches!(
                e.as_str(),
                "html"
                    | "htm"
                    | "xhtml"
                    | "shtml"
                    | "txt"
                    | "rss"
                    | "atom"
                    | "xml"
                    | "csv"
                    | "json"
                    | "jsonl"
                    | "ndjson"
            )
        });
    if !explicit && !known_ext {
        sink.skipped(&display(path));
        return None;
    }
    match detect_format(&name, &head(path, &opts.limits)) {
        Some(f) => Some(f),
        None => {
            sink.error(RecordError {
                file: display(path),
                record: None,
                message: "cannot tell the format of this file; name it with --format".into(),
            });
            None
        }
    }
}

fn ctx<'a>(file: &'a str, opts: &'a IngestOptions) -> Ctx<'a> {
    Ctx {
        file,
        limits: &opts.limits,
        collected_at: opts.collected_at,
        source: opts.source.as_deref(),
        map: &opts.map,
        url: None,
        http_charset: None,
        identify_language: opts.identify_language,
        hash_content: opts.hash_content,
    }
}

/// One HTML page already in memory to its document, exactly as ingest and `extract_pages`
/// convert it (encoding, extraction, metadata, language). `file` names the page in errors. For
/// benchmarks that must time conversion apart from reading and decompressing.
pub fn page_document(
    file: &str,
    bytes: &[u8],
    opts: &IngestOptions,
) -> Result<varta_core::Document, RecordError> {
    page::html(&ctx(file, opts), bytes).map(|(doc, _)| doc)
}

/// The bytes of a file as ingest reads it: `.gz` decompressed, size limits applied.
pub fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, RecordError> {
    read_whole(path, limits).map_err(|message| RecordError {
        file: display(path),
        record: None,
        message,
    })
}

fn convert_whole(path: &Path, format: Format, opts: &IngestOptions) -> Converted {
    let file = display(path);
    let c = ctx(&file, opts);
    let bytes = read_whole(path, &opts.limits).map_err(|message| RecordError {
        file: file.clone(),
        record: None,
        message,
    })?;
    match format {
        Format::Text => page::text(&c, &bytes),
        _ => page::html(&c, &bytes),
    }
}

fn emit_converted(c: Converted, sink: &mut dyn Sink) -> Flow {
    match c {
        Ok((doc, actor)) => sink.document(doc, actor),
        Err(e) => {
            sink.error(e);
            Ok(())
        }
    }
}

fn ingest_stream_file(
    path: &Path,
    format: Format,
    opts: &IngestOptions,
    sink: &mut dyn Sink,
) -> Flow {
    let file = display(path);
    let c = ctx(&file, opts);
    if format == Format::Rss {
        return match read_whole(path, &opts.limits) {
            Ok(bytes) => feed::read(&c, &bytes, sink),
            Err(message) => {
                sink.error(RecordError {
                    file,
                    record: None,
                    message,
                });
                Ok(())
            }
        };
    }
    let reader = match open(path, &opts.limits) {
        Ok(r) => BufReader::with_capacity(256 * 1024, r),
        Err(e) => {
            sink.error(RecordError {
                file,
                record: None,
                message: e.to_string(),
            });
            return Ok(());
        }
    };
    read_stream(format, &c, reader, sink)
}

fn read_stream<R: BufRead>(format: Format, c: &Ctx<'_>, reader: R, sink: &mut dyn Sink) -> Flow {
    match format {
        Format::CntCsv => csv::read_cnt(c, reader, sink),
        Format::Csv => csv::read_generic(c, reader, sink),
        Format::XJsonl => jsonl::read_x(c, reader, sink),
        Format::Jsonl => jsonl::read_generic(c, reader, sink),
        Format::Telegram => telegram::read(c, reader, sink),
        Format::Rss | Format::Html | Format::Text => {
            let mut bytes = Vec::new();
            let cap = c.limits.max_file_bytes;
            if let Err(e) = reader.take(cap + 1).read_to_end(&mut bytes) {
                sink.error(RecordError {
                    file: c.file.into(),
                    record: None,
                    message: e.to_string(),
                });
                return Ok(());
            }
            if bytes.len() as u64 > cap {
                sink.error(RecordError {
                    file: c.file.into(),
                    record: None,
                    message: format!(
                        "content exceeds the limit of {cap} bytes (limits.max_file_bytes)"
                    ),
                });
                return Ok(());
            }
            match format {
                Format::Rss => feed::read(c, &bytes, sink),
                Format::Text => emit_converted(page::text(c, &bytes), sink),
                _ => emit_converted(page::html(c, &bytes), sink),
            }
        }
    }
}

fn ingest_dir(dir: &Path, opts: &IngestOptions, sink: &mut dyn Sink) -> Flow {
    let mut files: Vec<(PathBuf, Format)> = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        match entry {
            Err(e) => sink.error(RecordError {
                file: e.path().map_or_else(|| display(dir), display),
                record: None,
                message: e.to_string(),
            }),
            Ok(e) if e.file_type().is_file() => {
                if let Some(f) = format_of(e.path(), opts, false, sink) {
                    files.push((e.into_path(), f));
                }
            }
            Ok(_) => {}
        }
    }
    let mut i = 0;
    while i < files.len() {
        if is_whole(files[i].1) {
            // Extract a run of pages in parallel, then store them in walk order.
            let mut j = i;
            while j < files.len() && j - i < PAGE_CHUNK && is_whole(files[j].1) {
                j += 1;
            }
            let converted: Vec<Converted> = files[i..j]
                .par_iter()
                .map(|(p, f)| convert_whole(p, *f, opts))
                .collect();
            for c in converted {
                emit_converted(c, sink)?;
            }
            i = j;
        } else {
            ingest_stream_file(&files[i].0, files[i].1, opts, sink)?;
            i += 1;
        }
    }
    Ok(())
}

/// Extracts every HTML page named: files (read as HTML whatever their name), folders (walked
/// recursively, pages recognised by name, `.html.gz` included). Calls `f` in walk order with each
/// page's path and its document or error; pages are converted in parallel, exactly as `ingest`
/// converts them.
pub fn extract_pages(
    inputs: &[PathBuf],
    opts: &IngestOptions,
    mut f: impl FnMut(&Path, Result<varta_core::Document, RecordError>),
) {
    let mut files: Vec<PathBuf> = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let walker = walkdir::WalkDir::new(input)
                .follow_links(false)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                });
            for entry in walker {
                match entry {
                    Ok(e) if e.file_type().is_file() => {
                        if detect_format(&inner_name(e.path()), b"") == Some(Format::Html) {
                            files.push(e.into_path());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => f(
                        input,
                        Err(RecordError {
                            file: display(input),
                            record: None,
                            message: e.to_string(),
                        }),
                    ),
                }
            }
        } else {
            files.push(input.clone());
        }
    }
    for chunk in files.chunks(PAGE_CHUNK) {
        let converted: Vec<Converted> = chunk
            .par_iter()
            .map(|p| convert_whole(p, Format::Html, opts))
            .collect();
        for (path, c) in chunk.iter().zip(converted) {
            f(path, c.map(|(doc, _)| doc));
        }
    }
}

fn ingest_url(url: &str, opts: &IngestOptions, sink: &mut dyn Sink) -> Flow {
    let policy = FetchPolicy {
        allow_private: opts.allow_private,
        max_body_bytes: opts.limits.max_fetch_bytes,
        ..FetchPolicy::default()
    };
    match fetch(url, &policy) {
        Ok(f) => ingest_fetched(url, &f, opts, sink),
        Err(e) => {
            sink.error(RecordError {
                file: url.to_string(),
                record: None,
                message: e.to_string(),
            });
            Ok(())
        }
    }
}

/// Reads what was fetched from `url` (a feed, a page), its format forced by `opts` or told by
/// its `Content-Type`, path and first bytes. Errors name `url`.
pub fn ingest_fetched(
    url: &str,
    fetched: &crate::fetch::Fetched,
    opts: &IngestOptions,
    sink: &mut dyn Sink,
) -> Flow {
    let ct = fetched
        .content_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    let format = opts.format.or_else(|| {
        if ct.contains("rss") || ct.contains("atom") || ct.contains("xml") {
            Some(Format::Rss)
        } else if ct.contains("html") {
            Some(Format::Html)
        } else {
            let path = url::Url::parse(&fetched.final_url)
                .map(|u| u.path().to_string())
                .unwrap_or_default();
            detect_format(&path, &fetched.body)
        }
    });
    let Some(format) = format else {
        sink.error(RecordError {
            file: url.to_string(),
            record: None,
            message: format!("cannot tell the format (Content-Type {ct:?}); name it with --format"),
        });
        return Ok(());
    };
    let mut c = ctx(url, opts);
    c.url = Some(&fetched.final_url);
    c.http_charset = fetched.charset.as_deref();
    read_stream(format, &c, &fetched.body[..], sink)
}
