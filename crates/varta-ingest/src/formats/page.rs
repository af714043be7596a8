//! Whole-document formats: HTML pages and plain text with scraper leftovers.
//!
//! These are converted without touching the sink, so that a folder of pages can be extracted in
//! parallel and then stored in a fixed order (the same order on every run, which crash recovery and
//! reproducible ids rely on).

use super::Ctx;
use crate::RecordError;
use varta_core::{Actor, Document, Format, actor_id};

pub(crate) type Converted = Result<(Document, Option<Actor>), RecordError>;

/// True when the bytes are not text: NUL bytes or many control characters near the start.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    controls * 20 > head.len().max(1)
}

fn site_actor(url: Option<&str>) -> Option<Actor> {
    let host = url::Url::parse(url?)
        .ok()?
        .host_str()?
        .trim_start_matches("www.")
        .to_ascii_lowercase();
    Some(Actor {
        id: actor_id("site", &host),
        platform: "site".into(),
        handle: Some(host),
        display_name: None,
        first_seen: None,
        last_seen: None,
    })
}

/// An HTML page to a document.
pub(crate) fn html(ctx: &Ctx<'_>, bytes: &[u8]) -> Converted {
    if looks_binary(bytes) {
        return Err(ctx.file_error("binary data, not an HTML page"));
    }
    let (html, _enc) = varta_text::encoding::decode_html(bytes, ctx.http_charset);
    let ex = varta_text::html::extract(&html, ctx.collected_at);
    if ex.text.trim().is_empty() && ex.title.is_none() {
        return Err(ctx.file_error("no text found in the page"));
    }
    let base = ctx.url.and_then(|u| url::Url::parse(u).ok());
    let canonical = ex.canonical_url.as_deref().map(|c| match &base {
        Some(b) => b
            .join(c)
            .map(String::from)
            .unwrap_or_else(|_| c.to_string()),
        None => c.to_string(),
    });
    let page_url = ctx.url.map(str::to_string).or_else(|| canonical.clone());
    let link_base = page_url.as_deref().and_then(|u| url::Url::parse(u).ok());
    let mut b = ctx.builder(ctx.source.unwrap_or("web"), Format::Html);
    b.links = ex
        .links
        .iter()
        .filter_map(|h| match &link_base {
            Some(base) => base.join(h).ok().map(String::from),
            None => Some(h.clone()),
        })
        .collect();
    b.url = page_url.clone();
    b.canonical_url = canonical;
    b.title = ex.title;
    b.author = ex.author;
    b.text = ex.text;
    b.published_at = ex.published_at;
    b.declared_language = ex.language_hint;
    b.raw = Some(html);
    let actor = site_actor(b.canonical_url.as_deref().or(page_url.as_deref()));
    b.actor_id = actor.as_ref().map(|a| a.id.clone());
    Ok((b.build(), actor))
}

/// A plain-text file with scraper leftovers to a document.
pub(crate) fn text(ctx: &Ctx<'_>, bytes: &[u8]) -> Converted {
    if looks_binary(bytes) {
        return Err(ctx.file_error("binary data, not text"));
    }
    let (raw, _enc) = varta_text::encoding::decode_text(bytes);
    let clean = varta_text::plaintext::clean(&raw, ctx.collected_at);
    if clean.text.trim().is_empty() {
        return Err(ctx.file_error("no text left after removing boilerplate"));
    }
    let mut b = ctx.builder(ctx.source.unwrap_or("text"), Format::Text);
    b.title = clean.title;
    b.text = clean.text;
    b.published_at = clean.published_at;
    b.raw = Some(raw);
    Ok((b.build(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_detection() {
        assert!(looks_binary(b"\x00\x01abc"));
        assert!(looks_binary(&[1u8; 100]));
        assert!(!looks_binary("Привіт, світе!\n".as_bytes()));
        assert!(!looks_binary(b""));
    }
}
