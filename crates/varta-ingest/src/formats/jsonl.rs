//! JSON lines: generic records mapped by `--map`, and X/Twitter API v2 response pages.

use super::{Ctx, Flow, mapped_document, parse_time, scalar};
use crate::lines::{BoundedLines, Item};
use crate::{RecordError, Sink};
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;
use varta_core::{Actor, Format, actor_id};

/// Calls `f` with each line parsed as JSON, reporting lines that are too long or not JSON.
fn each_json<R: BufRead>(
    ctx: &Ctx<'_>,
    reader: R,
    sink: &mut dyn Sink,
    mut f: impl FnMut(u64, Value, &mut dyn Sink) -> Flow,
) -> Flow {
    let mut lines = BoundedLines::new(reader, ctx.limits.max_record_bytes);
    loop {
        match lines.next_item() {
            Ok(None) => return Ok(()),
            Err(e) => {
                sink.error(ctx.file_error(format!("read error: {e}")));
                return Ok(());
            }
            Ok(Some(Item::TooLong { line, len })) => {
                let limit = ctx.limits.max_record_bytes;
                sink.error(ctx.line_error(
                    line,
                    format!("line of {len} bytes exceeds the limit of {limit} bytes"),
                ));
            }
            Ok(Some(Item::Record { line, bytes })) => {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
                match serde_json::from_slice::<Value>(bytes) {
                    Ok(v) => f(line, v, sink)?,
                    Err(e) => sink.error(ctx.line_error(line, format!("not valid JSON: {e}"))),
                }
            }
        }
    }
}

/// Reads generic JSON lines, one record an object.
pub(crate) fn read_generic<R: BufRead>(ctx: &Ctx<'_>, reader: R, sink: &mut dyn Sink) -> Flow {
    let source = ctx.source.unwrap_or("jsonl").to_string();
    each_json(ctx, reader, sink, |line, v, sink| {
        if !v.is_object() {
            sink.error(ctx.line_error(line, "expected a JSON object"));
            return Ok(());
        }
        match mapped_document(ctx, &source, Format::Jsonl, |f| {
            ctx.map.lookup(&v, f).cloned()
        }) {
            Ok((doc, actor)) => ctx.emit(sink, doc, actor),
            Err(e) => {
                sink.error(ctx.line_error(line, e));
                Ok(())
            }
        }
    })
}

/// Reads X API v2 JSON lines: each line a response page (`data` + `includes.users`) or one tweet.
pub(crate) fn read_x<R: BufRead>(ctx: &Ctx<'_>, reader: R, sink: &mut dyn Sink) -> Flow {
    let source = ctx.source.unwrap_or("x").to_string();
    // Users seen in earlier pages name authors of later tweets too.
    let mut users: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
    each_json(ctx, reader, sink, |line, v, sink| {
        if let Some(list) = v.pointer("/includes/users").and_then(Value::as_array) {
            for u in list {
                if let Some(id) = u.get("id").and_then(scalar) {
                    let username = u
                        .get("username")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    let name = u.get("name").and_then(Value::as_str).map(str::to_string);
                    users.insert(id, (username, name));
                }
            }
        }
        let tweets: Vec<&Value> = match v.get("data") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(o @ Value::Object(_)) => vec![o],
            Some(_) => {
                sink.error(
                    ctx.line_error(line, "\"data\" is neither a tweet nor a list of tweets"),
                );
                return Ok(());
            }
            None if v.get("id").is_some() && v.get("text").is_some() => vec![&v],
            None if v.get("errors").is_some() || v.get("meta").is_some() => Vec::new(),
            None => {
                sink.error(
                    ctx.line_error(line, "neither an X API v2 response (\"data\") nor a tweet"),
                );
                return Ok(());
            }
        };
        for (i, t) in tweets.into_iter().enumerate() {
            match tweet(ctx, &source, t, &users) {
                Ok((doc, actor)) => ctx.emit(sink, doc, actor)?,
                Err(e) => sink.error(RecordError {
                    file: ctx.file.to_string(),
                    record: Some(format!("line {line}, tweet {}", i + 1)),
                    message: e,
                }),
            }
        }
        Ok(())
    })
}

fn tweet(
    ctx: &Ctx<'_>,
    source: &str,
    t: &Value,
    users: &HashMap<String, (Option<String>, Option<String>)>,
) -> Result<(varta_core::Document, Option<Actor>), String> {
    let id = t.get("id").and_then(scalar).ok_or("tweet without \"id\"")?;
    let text = t
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("tweet {id} without \"text\""))?;
    let mut b = ctx.builder(source, Format::XJsonl);
    b.native_id = Some(id.clone());
    // `note_tweet` holds the full text of long posts; `text` is then cut at 280 characters.
    b.text = t
        .pointer("/note_tweet/text")
        .and_then(Value::as_str)
        .unwrap_or(text)
        .to_string();
    if let Some(c) = t.get("created_at").and_then(Value::as_str) {
        b.published_at = Some(
            parse_time(c).ok_or_else(|| format!("tweet {id}: created_at {c:?} is not a time"))?,
        );
    }
    b.declared_language = t.get("lang").and_then(Value::as_str).map(str::to_string);
    let entities = |kind: &str, key: &str| -> Vec<String> {
        t.pointer(&format!("/entities/{kind}"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get(key).and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    b.links = t
        .pointer("/entities/urls")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    ["unwound_url", "expanded_url", "url"]
                        .iter()
                        .find_map(|k| e.get(*k).and_then(Value::as_str))
                })
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    b.hashtags = entities("hashtags", "tag");
    b.mentions = entities("mentions", "username");
    if let Some(refs) = t.get("referenced_tweets").and_then(Value::as_array) {
        for r in refs {
            let rid = r.get("id").and_then(scalar);
            match r.get("type").and_then(Value::as_str) {
                Some("retweeted") => b.repost_of = rid,
                Some("replied_to") => b.reply_to = rid,
                Some("quoted") => {
                    if let Some(q) = rid {
                        b.links.push(format!("https://x.com/i/status/{q}"));
                    }
                }
                _ => {}
            }
        }
    }
    let author = t.get("author_id").and_then(scalar);
    let actor = author.map(|a| {
        let (handle, name) = users.get(&a).cloned().unwrap_or((None, None));
        if let Some(h) = &handle {
            b.url = Some(format!("https://x.com/{h}/status/{id}"));
        }
        b.author = name.clone().or_else(|| handle.clone());
        let aid = actor_id(source, &a);
        b.actor_id = Some(aid.clone());
        Actor {
            id: aid,
            platform: source.to_string(),
            handle,
            display_name: name,
            first_seen: None,
            last_seen: None,
        }
    });
    Ok((b.build(), actor))
}
