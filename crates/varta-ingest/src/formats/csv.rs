//! coordination-network-toolkit's CSV and generic CSV.
//!
//! Rows are split by [`crate::lines::BoundedLines`] in CSV mode (a quoted field may hold newlines)
//! and parsed one at a time with `csv_core`, so a broken row is one error and the next row reads
//! normally. [`RecordSplitter`] is the one CSV field splitter of the workspace: the parity reader
//! of `varta coord` splits its rows with it too.

use super::{Ctx, Flow, parse_time};
use crate::lines::{BoundedLines, Item};
use crate::mapping::Field;
use crate::{RecordError, Sink};
use csv_core::ReadRecordResult;
use std::collections::BTreeMap;
use std::io::BufRead;
use varta_core::{Actor, Format, actor_id};

/// The exact header of coordination-network-toolkit's CSV.
pub const CNT_HEADER: [&str; 8] = [
    "message_id",
    "user_id",
    "username",
    "repost_id",
    "reply_id",
    "message",
    "timestamp",
    "urls",
];

/// Splits CSV records into their fields (RFC 4180 quoting, as Python's csv module reads it).
///
/// One splitter serves many records: it keeps its `csv_core::Reader` (building one costs more than
/// parsing a row) and its output buffers, which grow to the longest record seen, so splitting
/// allocates nothing once they have. Fields come back as unescaped bytes; what they must be
/// (UTF-8, how many) is the caller's to say.
#[derive(Clone, Debug)]
pub struct RecordSplitter {
    rdr: csv_core::Reader,
    /// Unescaped field bytes, back to back.
    out: Vec<u8>,
    /// Where each field ends in `out`.
    ends: Vec<usize>,
}

impl Default for RecordSplitter {
    fn default() -> Self {
        RecordSplitter::new()
    }
}

impl RecordSplitter {
    pub fn new() -> RecordSplitter {
        RecordSplitter {
            rdr: csv_core::Reader::new(),
            out: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// The fields of one complete record (a quoted field may hold line ends). Empty input has no
    /// fields; a quote left open runs to the end of the input.
    pub fn split(&mut self, bytes: &[u8]) -> RecordFields<'_> {
        self.rdr.reset();
        // Unescaped fields are never longer than their record, so this is room enough for one
        // pass; the loop still grows either buffer if csv_core asks for more.
        if self.out.len() < bytes.len() + 16 {
            self.out.resize(bytes.len() + 16, 0);
        }
        if self.ends.len() < 16 {
            self.ends.resize(16, 0);
        }
        let (mut input, mut olen, mut nends) = (bytes, 0usize, 0usize);
        loop {
            let (res, nin, nout, nend) =
                self.rdr
                    .read_record(input, &mut self.out[olen..], &mut self.ends[nends..]);
            input = &input[nin..];
            olen += nout;
            nends += nend;
            match res {
                ReadRecordResult::InputEmpty => {
                    if input.is_empty() && nin == 0 && nout == 0 && nend == 0 {
                        // csv_core signals the end of input by an empty slice; it answered
                        // without a record, so there was none.
                        break;
                    }
                }
                ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2 + 16, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record | ReadRecordResult::End => break,
            }
        }
        RecordFields {
            data: &self.out,
            ends: &self.ends[..nends],
            start: 0,
        }
    }
}

/// The fields of one record, in order, from [`RecordSplitter::split`].
#[derive(Clone, Debug)]
pub struct RecordFields<'a> {
    data: &'a [u8],
    /// Ends of the fields not yet yielded.
    ends: &'a [usize],
    /// Where the next field starts in `data`.
    start: usize,
}

impl<'a> Iterator for RecordFields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&end, rest) = self.ends.split_first()?;
        let field = self.data.get(self.start..end)?;
        self.ends = rest;
        self.start = end;
        Some(field)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.ends.len(), Some(self.ends.len()))
    }
}

impl ExactSizeIterator for RecordFields<'_> {}

/// Parses one complete CSV record into its fields, each valid UTF-8.
pub(crate) fn parse_record(
    splitter: &mut RecordSplitter,
    bytes: &[u8],
) -> Result<Vec<String>, String> {
    let fields = splitter.split(bytes);
    let mut out = Vec::with_capacity(fields.len());
    for (i, f) in fields.enumerate() {
        let f = std::str::from_utf8(f)
            .map_err(|e| format!("field {} is not valid UTF-8 ({e})", i + 1))?;
        out.push(f.to_string());
    }
    Ok(out)
}

/// Rows read, then split and turned into documents together on every core. The documents and
/// errors of a batch reach the sink in row order, so the result is the sequential one.
const ROW_BATCH: usize = 4096;

/// What one row gave, kept until the rows before it have been handed on.
enum Event {
    Document(Box<varta_core::Document>, Option<Actor>),
    Error(RecordError),
    Skipped(String),
}

/// A sink that keeps what one row gives, for [`rows`]' parallel batches.
#[derive(Default)]
struct Held(Vec<Event>);

impl Sink for Held {
    fn document(
        &mut self,
        doc: varta_core::Document,
        actor: Option<Actor>,
    ) -> Result<(), crate::SinkError> {
        self.0.push(Event::Document(Box::new(doc), actor));
        Ok(())
    }
    fn error(&mut self, error: RecordError) {
        self.0.push(Event::Error(error));
    }
    fn skipped(&mut self, what: &str) {
        self.0.push(Event::Skipped(what.to_string()));
    }
}

/// Yields each parsed row (after the header) with its line number, reporting unreadable rows.
/// Rows after the header are split and handled in parallel batches of [`ROW_BATCH`]: building a
/// document (links, hashtags, language, hashes) is most of the cost of reading a post dump.
fn rows<R: BufRead>(
    ctx: &Ctx<'_>,
    reader: R,
    sink: &mut dyn Sink,
    mut on_header: impl FnMut(&[String]) -> Result<(), String>,
    on_row: impl Fn(u64, Vec<String>, &mut dyn Sink) -> Flow + Sync,
) -> Flow {
    let mut lines = BoundedLines::csv(reader, ctx.limits.max_record_bytes);
    let mut splitter = RecordSplitter::new();
    // The header: read, split and checked before any row.
    loop {
        let item = match lines.next_item() {
            Ok(Some(i)) => i,
            Ok(None) => return Ok(()),
            Err(e) => {
                sink.error(ctx.file_error(format!("read error: {e}")));
                return Ok(());
            }
        };
        match item {
            Item::TooLong { line, len } => {
                let limit = ctx.limits.max_record_bytes;
                sink.error(ctx.line_error(
                    line,
                    format!("row of {len} bytes exceeds the limit of {limit} bytes"),
                ));
                return Ok(());
            }
            Item::Record { bytes, .. } if bytes.iter().all(|b| b.is_ascii_whitespace()) => {}
            Item::Record { line, bytes } => {
                let mut header = match parse_record(&mut splitter, &bytes) {
                    Ok(f) => f,
                    Err(e) => {
                        sink.error(ctx.line_error(line, e));
                        return Ok(());
                    }
                };
                if let Some(first) = header.first_mut() {
                    *first = first.trim_start_matches('\u{feff}').to_string();
                }
                if let Err(e) = on_header(&header) {
                    sink.error(RecordError {
                        file: ctx.file.into(),
                        record: Some("header".into()),
                        message: e,
                    });
                    return Ok(());
                }
                break;
            }
        }
    }
    // Then the rows, in a pipeline: while the pool turns batch k into documents, this thread hands
    // batch k-1's to the sink and reads batch k+1.
    let process = |batch: Vec<RawRow>| -> Vec<Held> {
        use rayon::prelude::*;
        batch
            .into_par_iter()
            .map_init(RecordSplitter::new, |splitter, (line, record)| {
                let mut held = Held::default();
                match record {
                    Err(len) => {
                        let limit = ctx.limits.max_record_bytes;
                        held.error(ctx.line_error(
                            line,
                            format!("row of {len} bytes exceeds the limit of {limit} bytes"),
                        ));
                    }
                    Ok(bytes) => match parse_record(splitter, &bytes) {
                        Ok(fields) => {
                            // `Held` never refuses a document, so this cannot stop.
                            let _ = on_row(line, fields, &mut held);
                        }
                        Err(e) => held.error(ctx.line_error(line, e)),
                    },
                }
                held
            })
            .collect()
    };
    let mut read_error: Option<std::io::Error> = None;
    let mut read_batch = |read_error: &mut Option<std::io::Error>| -> Vec<RawRow> {
        let mut batch = Vec::with_capacity(ROW_BATCH);
        while batch.len() < ROW_BATCH && read_error.is_none() {
            match lines.next_item() {
                Ok(None) => break,
                Err(e) => *read_error = Some(e),
                Ok(Some(Item::TooLong { line, len })) => batch.push((line, Err(len))),
                Ok(Some(Item::Record { line, bytes })) => {
                    if !bytes.iter().all(|b| b.is_ascii_whitespace()) {
                        batch.push((line, Ok(bytes)));
                    }
                }
            }
        }
        batch
    };
    let hand_on = |held: Vec<Held>, sink: &mut dyn Sink| -> Flow {
        for h in held {
            for e in h.0 {
                match e {
                    Event::Document(doc, actor) => sink.document(*doc, actor)?,
                    Event::Error(e) => sink.error(e),
                    Event::Skipped(w) => sink.skipped(&w),
                }
            }
        }
        Ok(())
    };
    let mut current = read_batch(&mut read_error);
    let mut done: Vec<Held> = Vec::new();
    while !current.is_empty() {
        let mut processed: Vec<Held> = Vec::new();
        let mut next: Vec<RawRow> = Vec::new();
        let mut flow: Flow = Ok(());
        rayon::in_place_scope(|scope| {
            let out = &mut processed;
            let process = &process;
            scope.spawn(move |_| *out = process(current));
            flow = hand_on(std::mem::take(&mut done), sink);
            if flow.is_ok() {
                next = read_batch(&mut read_error);
            }
        });
        flow?;
        done = processed;
        current = next;
    }
    hand_on(done, sink)?;
    if let Some(e) = read_error {
        sink.error(ctx.file_error(format!("read error: {e}")));
    }
    Ok(())
}

/// A row as read: its line and its bytes, or its length when it was too long to keep.
type RawRow = (u64, Result<Vec<u8>, u64>);

/// Reads coordination-network-toolkit's CSV.
pub(crate) fn read_cnt<R: BufRead>(ctx: &Ctx<'_>, reader: R, sink: &mut dyn Sink) -> Flow {
    let source = ctx.source.unwrap_or("cnt-csv").to_string();
    rows(
        ctx,
        reader,
        sink,
        |h| {
            let h: Vec<&str> = h.iter().map(|s| s.trim()).collect();
            if h == CNT_HEADER {
                Ok(())
            } else {
                Err(format!(
                    "expected the header {}, found {}",
                    CNT_HEADER.join(","),
                    h.join(",")
                ))
            }
        },
        |line, f, sink| {
            if f.len() != CNT_HEADER.len() {
                sink.error(ctx.line_error(line, format!("expected 8 fields, found {}", f.len())));
                return Ok(());
            }
            let published_at = if f[6].trim().is_empty() {
                None
            } else {
                match parse_time(&f[6]) {
                    Some(t) => Some(t),
                    None => {
                        sink.error(
                            ctx.line_error(line, format!("timestamp {:?} is not a time", f[6])),
                        );
                        return Ok(());
                    }
                }
            };
            if f[0].trim().is_empty() || f[1].trim().is_empty() {
                sink.error(ctx.line_error(line, "message_id and user_id must not be empty"));
                return Ok(());
            }
            let actor = actor_id(&source, f[1].trim());
            let mut b = ctx.builder(source.clone(), Format::CntCsv);
            b.native_id = Some(f[0].clone());
            b.actor_id = Some(actor.clone());
            b.repost_of = Some(f[3].clone());
            b.reply_to = Some(f[4].clone());
            b.text = f[5].clone();
            b.published_at = published_at;
            b.links = f[7].split_whitespace().map(str::to_string).collect();
            let a = Actor {
                id: actor,
                platform: source.clone(),
                handle: Some(f[2].clone()).filter(|s| !s.is_empty()),
                display_name: None,
                first_seen: None,
                last_seen: None,
            };
            ctx.emit(sink, b.build(), Some(a))
        },
    )
}

/// Reads a CSV with a header, mapped by `ctx.map`.
pub(crate) fn read_generic<R: BufRead>(ctx: &Ctx<'_>, reader: R, sink: &mut dyn Sink) -> Flow {
    let source = ctx.source.unwrap_or("csv").to_string();
    // Set by the header callback, read by the row callback.
    let layout: std::sync::OnceLock<(usize, BTreeMap<Field, usize>)> = std::sync::OnceLock::new();
    rows(
        ctx,
        reader,
        sink,
        |h| {
            let _ = layout.set((h.len(), ctx.map.resolve_header(h)?));
            Ok(())
        },
        |line, f, sink| {
            let Some((width, cols)) = layout.get() else {
                return Ok(());
            };
            let width = *width;
            if f.len() != width {
                sink.error(ctx.line_error(
                    line,
                    format!(
                        "expected {width} fields as in the header, found {}",
                        f.len()
                    ),
                ));
                return Ok(());
            }
            let get = |field: Field| {
                cols.get(&field)
                    .map(|&i| f[i].trim())
                    .filter(|s| !s.is_empty())
            };
            match super::mapped_document(ctx, &source, Format::Csv, |field| {
                get(field).map(|s| serde_json::Value::String(s.to_string()))
            }) {
                Ok((doc, actor)) => ctx.emit(sink, doc, actor),
                Err(e) => {
                    sink.error(ctx.line_error(line, e));
                    Ok(())
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotes_and_newlines() {
        assert_eq!(
            parse_record(&mut RecordSplitter::new(), b"a,\"b,\"\"c\"\"\nd\",").unwrap(),
            ["a", "b,\"c\"\nd", ""]
        );
        assert_eq!(
            parse_record(&mut RecordSplitter::new(), b"x").unwrap(),
            ["x"]
        );
        assert!(parse_record(&mut RecordSplitter::new(), b"a,\xff\xfe").is_err());
    }

    fn split(sp: &mut RecordSplitter, bytes: &[u8]) -> Vec<Vec<u8>> {
        sp.split(bytes).map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn splitter_is_reused_across_records_of_any_size() {
        let mut sp = RecordSplitter::new();
        // More fields than the first 16 field ends, and a field longer than the record's start.
        let wide: Vec<u8> = (0..40)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
            .into_bytes();
        let got = split(&mut sp, &wide);
        assert_eq!(got.len(), 40);
        assert_eq!(got[39], b"39");
        let long = format!("\"{}\",y", "\"\"".repeat(500));
        assert_eq!(
            split(&mut sp, long.as_bytes()),
            ["\"".repeat(500).into_bytes(), b"y".to_vec()]
        );
        // A shorter record after longer ones sees none of their bytes.
        assert_eq!(split(&mut sp, b"a,b"), [b"a".to_vec(), b"b".to_vec()]);
        let fields = sp.split(b"p,q,r");
        assert_eq!(fields.len(), 3);
    }

    #[test]
    fn splitter_edge_records() {
        let mut sp = RecordSplitter::new();
        assert_eq!(split(&mut sp, b""), Vec::<Vec<u8>>::new());
        assert_eq!(split(&mut sp, b","), [b"".to_vec(), b"".to_vec()]);
        // An unterminated quote runs to the end of the input.
        assert_eq!(split(&mut sp, b"a,\"b,c"), [b"a".to_vec(), b"b,c".to_vec()]);
        // Invalid UTF-8 is the caller's concern: bytes pass through.
        assert_eq!(split(&mut sp, b"\xff"), [b"\xff".to_vec()]);
    }

    proptest::proptest! {
        /// Without quotes or line ends a record's fields are the bytes between its commas: the
        /// parity reader of `varta coord` takes that short cut and must agree.
        #[test]
        fn unquoted_records_split_on_commas(
            rec in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b',', b' ', b'\t', 0xd0, 0xb0, b'1']),
                1..64,
            )
        ) {
            let mut sp = RecordSplitter::new();
            let want: Vec<Vec<u8>> = rec.split(|&b| b == b',').map(<[u8]>::to_vec).collect();
            proptest::prop_assert_eq!(split(&mut sp, &rec), want);
        }
    }
}
