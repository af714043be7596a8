//! Telegram Desktop exports (`result.json` of one chat or channel).
//!
//! A channel's export can be gigabytes in one JSON document, so it is parsed as a stream: the
//! messages array is walked element by element and each message is converted and handed on before
//! the next is read. A counter on the bytes read caps each message at the record limit.

use super::{Ctx, Flow, parse_time, scalar};
use crate::{DocBuilder, RecordError, Sink, SinkError};
use serde::Deserializer as _;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;
use varta_core::{Actor, Format, actor_id};

/// Counts bytes read since the last mark and refuses to read a record past the limit.
struct Capped<R> {
    inner: R,
    since_mark: Rc<Cell<u64>>,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.since_mark.get() + n as u64;
        self.since_mark.set(total);
        if total > self.limit {
            return Err(std::io::Error::other(format!(
                "record exceeds the limit of {} bytes",
                self.limit
            )));
        }
        Ok(n)
    }
}

struct State<'c, 's> {
    ctx: &'c Ctx<'c>,
    sink: &'s mut dyn Sink,
    since_mark: Rc<Cell<u64>>,
    chat_name: Option<String>,
    chat_id: Option<String>,
    /// Index of the message being read (1-based), for error messages.
    index: u64,
    stopped: Option<SinkError>,
}

/// Reads a Telegram Desktop export.
pub(crate) fn read<R: Read>(ctx: &Ctx<'_>, reader: R, sink: &mut dyn Sink) -> Flow {
    let since_mark = Rc::new(Cell::new(0));
    // Nothing before the messages array is a record; give it a generous cap of its own.
    let capped = Capped {
        inner: std::io::BufReader::with_capacity(64 * 1024, reader),
        since_mark: since_mark.clone(),
        limit: ctx.limits.max_record_bytes as u64,
    };
    let mut de = serde_json::Deserializer::from_reader(capped);
    let mut state = State {
        ctx,
        sink,
        since_mark,
        chat_name: None,
        chat_id: None,
        index: 0,
        stopped: None,
    };
    let result = (&mut de).deserialize_map(&mut state);
    if let Some(e) = state.stopped.take() {
        return Err(e);
    }
    let trailing = result.and_then(|_| de.end());
    if let Err(e) = trailing {
        let record = if state.index == 0 {
            None
        } else {
            Some(format!("message {}", state.index))
        };
        state.sink.error(RecordError {
            file: ctx.file.to_string(),
            record,
            message: format!("{e}; the rest of this file was not read"),
        });
    }
    Ok(())
}

impl<'de> Visitor<'de> for &mut State<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Telegram Desktop export object with a \"messages\" array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut saw_messages = false;
        while let Some(key) = map.next_key::<String>()? {
            self.since_mark.set(0);
            match key.as_str() {
                "name" => self.chat_name = map.next_value::<Option<String>>()?,
                "id" => self.chat_id = map.next_value::<Option<Value>>()?.as_ref().and_then(scalar),
                "messages" => {
                    saw_messages = true;
                    map.next_value_seed(Messages(&mut *self))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !saw_messages {
            return Err(A::Error::custom(
                "no \"messages\" array: not a Telegram Desktop chat export",
            ));
        }
        Ok(())
    }
}

struct Messages<'a, 'c, 's>(&'a mut State<'c, 's>);

impl<'de> DeserializeSeed<'de> for Messages<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Messages<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.0;
        loop {
            st.since_mark.set(0);
            st.index += 1;
            let Some(msg) = seq.next_element::<Value>()? else {
                st.index -= 1;
                return Ok(());
            };
            if let Err(e) = st.message(msg) {
                st.stopped = Some(e);
                return Err(A::Error::custom("stopped: the store failed"));
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
        let mut b = DocBuilder::new(source.clone(), Format::Telegram, self.ctx.collected_at);
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
