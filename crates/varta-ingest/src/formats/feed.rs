//! RSS 2.0 and Atom feeds, through feed-rs.
//!
//! feed-rs resolves only XML's predefined entities and character references, never entities a
//! document type declares, so a "billion laughs" feed cannot expand; the file size cap bounds the rest.

use super::{Ctx, Flow};
use crate::{RecordError, Sink};
use varta_core::{Actor, Format, actor_id};

/// Text of an HTML fragment (feed summaries and contents are HTML).
fn fragment_text(fragment: &str) -> String {
    if !fragment.contains('<') && !fragment.contains('&') {
        return fragment.trim().to_string();
    }
    varta_text::html::fragment_text(fragment)
}

fn host_of(u: &str) -> Option<String> {
    url::Url::parse(u).ok().and_then(|u| {
        u.host_str()
            .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
    })
}

/// Reads one feed document.
pub(crate) fn read(ctx: &Ctx<'_>, bytes: &[u8], sink: &mut dyn Sink) -> Flow {
    let feed = match feed_rs::parser::parse(bytes) {
        Ok(f) => f,
        Err(e) => {
            sink.error(ctx.file_error(format!("not a readable RSS or Atom feed: {e}")));
            return Ok(());
        }
    };
    let site = feed
        .links
        .iter()
        .map(|l| l.href.as_str())
        .find(|h| h.starts_with("http"));
    let feed_title = feed.title.as_ref().map(|t| fragment_text(&t.content));
    let source = match (ctx.source, ctx.url, site) {
        (Some(s), _, _) => s.to_string(),
        (None, Some(u), _) => format!("rss:{u}"),
        (None, None, Some(s)) => format!("rss:{s}"),
        (None, None, None) => format!("rss:{}", feed.id),
    };
    for (i, e) in feed.entries.iter().enumerate() {
        let link = e
            .links
            .iter()
            .map(|l| l.href.as_str())
            .find(|h| h.starts_with("http"));
        let body = e
            .content
            .as_ref()
            .and_then(|c| c.body.as_deref())
            .or(e.summary.as_ref().map(|s| s.content.as_str()))
            .unwrap_or("");
        let text = fragment_text(body);
        let title = e.title.as_ref().map(|t| fragment_text(&t.content));
        if text.is_empty() && title.as_deref().is_none_or(str::is_empty) {
            sink.error(RecordError {
                file: ctx.file.to_string(),
                record: Some(format!("entry {} (id {})", i + 1, e.id)),
                message: "entry has neither title nor text".into(),
            });
            continue;
        }
        let mut b = ctx.builder(source.clone(), Format::Rss);
        b.native_id = Some(e.id.clone());
        b.url = link.map(str::to_string);
        b.canonical_url = link.map(str::to_string);
        b.title = title;
        b.text = text;
        b.raw = Some(body.to_string());
        b.published_at = e.published.or(e.updated);
        b.author = e.authors.iter().filter_map(|p| p.name.clone()).next();
        b.declared_language = e.language.clone().or_else(|| feed.language.clone());
        b.hashtags = e
            .categories
            .iter()
            .map(|c| c.term.replace(' ', "_"))
            .collect();
        let actor = link.or(site).and_then(host_of).map(|h| {
            let id = actor_id("site", &h);
            b.actor_id = Some(id.clone());
            Actor {
                id,
                platform: "site".into(),
                handle: Some(h),
                display_name: feed_title.clone(),
                first_seen: None,
                last_seen: None,
            }
        });
        ctx.emit(sink, b.build(), actor)?;
    }
    Ok(())
}
