//! coordination-network-toolkit's CSV and generic CSV.
//!
//! Rows are split by [`crate::lines::BoundedLines`] in CSV mode (a quoted field may hold newlines)
//! and parsed one at a time with `csv_core`, so a broken row is one error and the next row reads
//! normally.

use super::{Ctx, Flow, parse_time};
use crate::lines::{BoundedLines, Item};
use crate::mapping::Field;
use crate::{DocBuilder, RecordError, Sink};
use csv_core::ReadRecordResult;
use std::cell::RefCell;
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

/// Parses one complete CSV record into its fields.
/// `rdr` is reused across records: building a `csv_core::Reader` costs more than parsing a row.
pub(crate) fn parse_record(
    rdr: &mut csv_core::Reader,
    bytes: &[u8],
) -> Result<Vec<String>, String> {
    rdr.reset();
    let mut out = vec![0u8; bytes.len() + 16];
    let mut ends = vec![0usize; 16];
    let (mut input, mut olen, mut nends) = (bytes, 0usize, 0usize);
    loop {
        let (res, nin, nout, nend) = rdr.read_record(input, &mut out[olen..], &mut ends[nends..]);
        input = &input[nin..];
        olen += nout;
        nends += nend;
        match res {
            ReadRecordResult::InputEmpty => {
                if nin == 0 && input.is_empty() && nout == 0 && nend == 0 {
                    // csv_core signals the end of input by an empty slice; it answered without a
                    // record, so there was none.
                    break;
                }
            }
            ReadRecordResult::OutputFull => out.resize(out.len() * 2 + 16, 0),
            ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            ReadRecordResult::Record | ReadRecordResult::End => break,
        }
    }
    let mut fields = Vec::with_capacity(nends);
    let mut start = 0;
    for (i, &end) in ends[..nends].iter().enumerate() {
        let f = std::str::from_utf8(&out[start..end])
            .map_err(|e| format!("field {} is not valid UTF-8 ({e})", i + 1))?;
        fields.push(f.to_string());
        start = end;
    }
    Ok(fields)
}

/// Yields each parsed row (after the header) with its line number, reporting unreadable rows.
fn rows<R: BufRead>(
    ctx: &Ctx<'_>,
    reader: R,
    sink: &mut dyn Sink,
    mut on_header: impl FnMut(&[String]) -> Result<(), String>,
    mut on_row: impl FnMut(u64, Vec<String>, &mut dyn Sink) -> Flow,
) -> Flow {
    let mut lines = BoundedLines::csv(reader, ctx.limits.max_record_bytes);
    let mut header_seen = false;
    let mut rdr = csv_core::Reader::new();
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
                if !header_seen {
                    return Ok(());
                }
            }
            Item::Record { line, bytes } => {
                if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                let fields = match parse_record(&mut rdr, &bytes) {
                    Ok(f) => f,
                    Err(e) => {
                        sink.error(ctx.line_error(line, e));
                        if !header_seen {
                            return Ok(());
                        }
                        continue;
                    }
                };
                if !header_seen {
                    header_seen = true;
                    let mut header = fields;
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
                    continue;
                }
                on_row(line, fields, sink)?;
            }
        }
    }
}

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
            let mut b = DocBuilder::new(source.clone(), Format::CntCsv, ctx.collected_at);
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
    let layout: RefCell<(usize, BTreeMap<Field, usize>)> = RefCell::new((0, BTreeMap::new()));
    rows(
        ctx,
        reader,
        sink,
        |h| {
            *layout.borrow_mut() = (h.len(), ctx.map.resolve_header(h)?);
            Ok(())
        },
        |line, f, sink| {
            let layout = layout.borrow();
            let (width, cols) = (layout.0, &layout.1);
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
            parse_record(&mut csv_core::Reader::new(), b"a,\"b,\"\"c\"\"\nd\",").unwrap(),
            ["a", "b,\"c\"\nd", ""]
        );
        assert_eq!(
            parse_record(&mut csv_core::Reader::new(), b"x").unwrap(),
            ["x"]
        );
        assert!(parse_record(&mut csv_core::Reader::new(), b"a,\xff\xfe").is_err());
    }
}
