//! Telegram Desktop exports (`result.json` of one chat or channel).
//!
//! A channel's export can be gigabytes in one JSON document, so it is not parsed whole. A small
//! structural scanner (strings, escapes, brackets) walks the bytes: it reads the chat's header
//! fields up to the `"messages"` array, then cuts the array into one byte slice per message, each
//! parsed on its own. A message over the record limit is skipped without being stored, a malformed
//! message is one error, and the next message is read normally; only a file that ends inside a
//! message stops early.

use super::{Ctx, Flow, parse_time, scalar};
use crate::{RecordError, Sink, SinkError};
use serde_json::Value;
use std::io::BufRead;
use varta_core::{Actor, Format, actor_id};

/// One element of the messages array.
enum Element {
    Bytes(Vec<u8>),
    TooLong(u64),
}

/// What one byte is to JSON's string syntax: all the scanner needs to tell structural brackets from
/// brackets inside text.
#[derive(Clone, Copy, PartialEq)]
enum Str {
    Outside,
    Opened,
    Inside,
    Closed,
}

#[derive(Default)]
struct Strings {
    inside: bool,
    escaped: bool,
}

impl Strings {
    fn step(&mut self, b: u8) -> Str {
        if !self.inside {
            if b == b'"' {
                self.inside = true;
                return Str::Opened;
            }
            return Str::Outside;
        }
        if self.escaped {
            self.escaped = false;
        } else if b == b'\\' {
            self.escaped = true;
        } else if b == b'"' {
            self.inside = false;
            return Str::Closed;
        }
        Str::Inside
    }
}

/// Byte-level walker over the export.
struct Scanner<R> {
    inner: R,
    max: usize,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

impl<R: BufRead> Scanner<R> {
    fn next_byte(&mut self) -> std::io::Result<Option<u8>> {
        let b = match self.inner.fill_buf()?.first() {
            Some(&b) => b,
            None => return Ok(None),
        };
        self.inner.consume(1);
        Ok(Some(b))
    }

    /// Reads up to the `[` that opens the top-level `"messages"` array; returns the bytes before
    /// the `"messages"` key (the chat's header fields).
    fn header(&mut self) -> Result<Vec<u8>, String> {
        let mut hdr: Vec<u8> = Vec::new();
        let mut depth = 0usize;
        let mut strings = Strings::default();
        let mut str_start = 0usize;
        // 0: nothing; 1: just read the key "messages" at depth 1; 2: and its colon.
        let mut found = 0u8;
        let mut key_start = 0usize;
        loop {
            let Some(b) = self.next_byte().map_err(|e| format!("read error: {e}"))? else {
                return Err(
                    "the file ends before a \"messages\" array: not a Telegram Desktop chat export"
                        .into(),
                );
            };
            if hdr.len() > self.max {
                return Err(format!(
                    "no \"messages\" array within the first {} bytes",
                    self.max
                ));
            }
            if hdr.is_empty() && depth == 0 && !strings.inside {
                // A byte-order mark or whitespace may precede the object.
                if is_ws(b) || matches!(b, 0xEF | 0xBB | 0xBF) {
                    continue;
                }
                if b != b'{' {
                    return Err("not a JSON object: not a Telegram Desktop chat export".into());
                }
            }
            hdr.push(b);
            match strings.step(b) {
                Str::Inside => continue,
                Str::Opened => {
                    str_start = hdr.len() - 1;
                    found = 0;
                    continue;
                }
                Str::Closed => {
                    if depth == 1 && &hdr[str_start..hdr.len()] == b"\"messages\"" {
                        found = 1;
                        key_start = str_start;
                    }
                    continue;
                }
                Str::Outside => {}
            }
            match b {
                b':' if found == 1 && depth == 1 => found = 2,
                b'[' if found == 2 && depth == 1 => {
                    hdr.truncate(key_start);
                    return Ok(hdr);
                }
                b'{' | b'[' => {
                    depth += 1;
                    found = 0;
                }
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Err(
                            "no \"messages\" array: not a Telegram Desktop chat export".into()
                        );
                    }
                }
                _ if is_ws(b) => {}
                _ => found = 0,
            }
        }
    }

    /// The next element of the messages array, `Ok(None)` after its closing `]`.
    fn next_element(&mut self) -> Result<Option<Element>, String> {
        let first = loop {
            match self.next_byte().map_err(|e| format!("read error: {e}"))? {
                None => return Err("the file ends inside the messages array".into()),
                Some(b) if is_ws(b) || b == b',' => continue,
                Some(b']') => return Ok(None),
                Some(b) => break b,
            }
        };
        let mut buf = vec![first];
        let mut len: u64 = 1;
        let mut strings = Strings::default();
        strings.step(first);
        let mut depth = usize::from(matches!(first, b'{' | b'['));
        let scalar = depth == 0 && !strings.inside;
        loop {
            if depth == 0 && !strings.inside && !scalar {
                break;
            }
            let chunk = self
                .inner
                .fill_buf()
                .map_err(|e| format!("read error: {e}"))?;
            if chunk.is_empty() {
                return Err("the file ends inside this message".into());
            }
            let mut used = 0;
            let mut done = false;
            for &b in chunk {
                if scalar && !strings.inside && (b == b',' || b == b']' || is_ws(b)) {
                    done = true;
                    break;
                }
                used += 1;
                match (strings.step(b), b) {
                    (Str::Closed, _) if depth == 0 => {
                        done = true;
                        break;
                    }
                    (Str::Outside, b'{' | b'[') => depth += 1,
                    (Str::Outside, b'}' | b']') => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            done = true;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if buf.len() <= self.max {
                let room = (self.max + 1 - buf.len()).min(used);
                buf.extend_from_slice(&chunk[..room]);
            }
            len += used as u64;
            self.inner.consume(used);
            if done {
                break;
            }
        }
        if len > self.max as u64 {
            return Ok(Some(Element::TooLong(len)));
        }
        Ok(Some(Element::Bytes(buf)))
    }
}

struct State<'c, 's> {
    ctx: &'c Ctx<'c>,
    sink: &'s mut dyn Sink,
    chat_name: Option<String>,
    chat_id: Option<String>,
    /// Index of the message being read (1-based), for error messages.
    index: u64,
}

/// Reads a Telegram Desktop export.
pub(crate) fn read<R: BufRead>(ctx: &Ctx<'_>, reader: R, sink: &mut dyn Sink) -> Flow {
    let mut scanner = Scanner {
        inner: reader,
        max: ctx.limits.max_record_bytes,
    };
    let file_error = |sink: &mut dyn Sink, record: Option<String>, message: String| {
        sink.error(RecordError {
            file: ctx.file.to_string(),
            record,
            message,
        });
    };
    let header = match scanner.header() {
        Ok(h) => h,
        Err(e) => {
            file_error(sink, None, e);
            return Ok(());
        }
    };
    // The header is the object's opening up to the "messages" key; closed, it parses on its own.
    let mut closed = header;
    while closed.last().is_some_and(|b| is_ws(*b) || *b == b',') {
        closed.pop();
    }
    closed.push(b'}');
    let head: Value = serde_json::from_slice(&closed).unwrap_or(Value::Null);
    let mut st = State {
        ctx,
        sink,
        chat_name: head.get("name").and_then(Value::as_str).map(str::to_string),
        chat_id: head.get("id").and_then(scalar),
        index: 0,
    };
    loop {
        match scanner.next_element() {
            Ok(None) => return Ok(()),
            Ok(Some(Element::TooLong(len))) => {
                st.index += 1;
                let limit = ctx.limits.max_record_bytes;
                let record = Some(format!("message {}", st.index));
                file_error(
                    st.sink,
                    record,
                    format!("message of {len} bytes exceeds the limit of {limit} bytes"),
                );
            }
            Ok(Some(Element::Bytes(bytes))) => {
                st.index += 1;
                match serde_json::from_slice::<Value>(&bytes) {
                    Ok(v) => st.message(v)?,
                    Err(e) => {
                        let record = Some(format!("message {}", st.index));
                        file_error(st.sink, record, format!("not valid JSON: {e}"));
                    }
                }
            }
            Err(e) => {
                let record = Some(format!("message {}", st.index + 1));
                file_error(
                    st.sink,
                    record,
                    format!("{e}; the rest of this file was not read"),
                );
                return Ok(());
            }
        }
    }
}

/// Plain text of a `text` field: a string, or an array of strings and `{type, text}` parts.
fn flatten_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.as_str(),
                other => other.get("text").and_then(Value::as_str).unwrap_or(""),
            })
            .collect(),
        _ => String::new(),
    }
}

/// The entity parts of a message: `text_entities`, or the objects inside an array `text`.
fn entities(msg: &Value) -> Vec<&Value> {
    if let Some(Value::Array(e)) = msg.get("text_entities") {
        return e.iter().collect();
    }
    match msg.get("text") {
        Some(Value::Array(parts)) => parts.iter().filter(|p| p.is_object()).collect(),
        _ => Vec::new(),
    }
}

impl State<'_, '_> {
    fn source(&self) -> String {
        if let Some(s) = self.ctx.source {
            return s.to_string();
        }
        match (&self.chat_id, &self.chat_name) {
            (Some(id), _) => format!("telegram:{id}"),
            (None, Some(name)) => format!("telegram:{name}"),
            (None, None) => "telegram".to_string(),
        }
    }

    fn message(&mut self, msg: Value) -> Result<(), SinkError> {
        let id = msg.get("id").and_then(scalar);
        let record = Some(match &id {
            Some(id) => format!("message {} (id {id})", self.index),
            None => format!("message {}", self.index),
        });
        let fail = |st: &mut Self, m: String| {
            st.sink.error(RecordError {
                file: st.ctx.file.to_string(),
                record: record.clone(),
                message: m,
            });
            Ok(())
        };
        if !msg.is_object() {
            return fail(self, "a message must be a JSON object".into());
        }
        match msg.get("type").and_then(Value::as_str) {
            Some("message") | None => {}
            Some(other) => {
                self.sink.skipped(other);
                return Ok(());
            }
        }
        let Some(id) = id else {
            return fail(self, "message without \"id\"".into());
        };
        let source = self.source();
        let mut b = self.ctx.builder(source.clone(), Format::Telegram);
        b.native_id = Some(id);
        b.text = msg.get("text").map(flatten_text).unwrap_or_default();
        b.published_at = match (
            msg.get("date_unixtime").and_then(scalar),
            msg.get("date").and_then(Value::as_str),
        ) {
            (Some(u), _) => match parse_time(&u) {
                Some(t) => Some(t),
                None => return fail(self, format!("date_unixtime {u:?} is not a time")),
            },
            // Without date_unixtime, `date` is the exporting computer's local time; read as Kyiv time.
            (None, Some(d)) => match parse_time(d) {
                Some(t) => Some(t),
                None => return fail(self, format!("date {d:?} is not a time")),
            },
            (None, None) => None,
        };
        for e in entities(&msg) {
            let text = e.get("text").and_then(Value::as_str).unwrap_or("");
            match e.get("type").and_then(Value::as_str) {
                Some("link") => b.links.push(text.to_string()),
                Some("text_link") => {
                    if let Some(h) = e.get("href").and_then(Value::as_str) {
                        b.links.push(h.to_string());
                    }
                }
                Some("hashtag") => b.hashtags.push(text.to_string()),
                Some("mention") => b.mentions.push(text.to_string()),
                _ => {}
            }
        }
        b.forwarded_from = msg.get("forwarded_from").and_then(scalar);
        b.reply_to = msg.get("reply_to_message_id").and_then(scalar);
        let from_name = msg.get("from").and_then(Value::as_str).map(str::to_string);
        let from_id = msg
            .get("from_id")
            .and_then(scalar)
            .or_else(|| self.chat_id.as_ref().map(|c| format!("channel{c}")));
        let actor = from_id.map(|f| {
            let aid = actor_id("telegram", &f);
            b.actor_id = Some(aid.clone());
            b.author = from_name
                .clone()
                .or_else(|| msg.get("author").and_then(scalar));
            Actor {
                id: aid,
                platform: "telegram".into(),
                handle: None,
                display_name: from_name.clone().or_else(|| self.chat_name.clone()),
                first_seen: None,
                last_seen: None,
            }
        });
        let doc = b.build();
        self.ctx.emit(self.sink, doc, actor)
    }
}
