//! HTML page to main text and metadata.
//!
//! Ingestion meets hundreds of thousands of pages, many hostile or broken, so extraction is one
//! streaming pass over a purpose-built tokenizer (`tokenizer.rs`) with no DOM: a bounded stack of open elements
//! (depth-capped, tolerant of unclosed and misnested tags) records a flat list of text blocks
//! (paragraphs, headings, list items, cells, text directly inside a `div`) and a skeleton of the
//! elements around them (parent, the range of blocks each one holds, class/id hints). Metadata
//! (`<meta>`, `<link>`, JSON-LD, `<title>`, the first `<h1>`, `<time>`) is picked up on the way.
//!
//! The main text is then chosen the way Readability does it, on that skeleton instead of a tree:
//! paragraphs score their container and its ancestors by length and commas, scores are damped by
//! link density and nudged by class/id words ("article-body" up, "comment" down), the best
//! container wins (widened to the common ancestor of a nearby container that scores about as
//! well, for articles split around ad slots) and takes along sibling containers and paragraphs
//! that score close to it. Inside the winner, blocks under boilerplate elements (share bars,
//! related lists, comment widgets, cookie banners), link lists, captions and stock phrases
//! ("Advertisement", "Читайте також") are dropped.
//!
//! On the 181 pages of the Article Extraction Benchmark this scores a bag-of-words F1 of 0.97
//! against the gold article bodies (see `tests/extraction_eval.rs`).

use crate::dates::{find_strong_date_in_text, is_bare_date, parse_datetime};
use crate::tokenizer::{self, Raw, Tag};
use chrono::{DateTime, Utc};
use html5ever::{LocalName, local_name};
use std::collections::HashSet;
use std::sync::OnceLock;

/// What [`extract`] finds in a page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extracted {
    pub title: Option<String>,
    pub author: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// `<link rel=canonical>` or `og:url`, as written in the page.
    pub canonical_url: Option<String>,
    /// The `lang` attribute of `<html>` or `og:locale`, as written.
    pub language_hint: Option<String>,
    /// Main text, paragraphs separated by blank lines.
    pub text: String,
    /// `href`s of links inside the main text, as written.
    pub links: Vec<String>,
}

/// Pages beyond this size are cut: nothing real is that long, and the tokenizer's buffers count
/// lengths in `u32`.
const MAX_INPUT_BYTES: usize = 64 << 20;
/// Open elements kept on the stack; deeper elements still count for closing tags but are not
/// tracked, so 100,000 nested `<div>`s cost neither stack nor quadratic time.
const MAX_DEPTH: usize = 512;
/// How far down the stack an end tag or an implied close looks for its element.
const MAX_CLOSE_SEARCH: usize = 64;
/// Caps on captured metadata text, so a hostile page cannot make them grow without bound.
const MAX_JSON_LD_BYTES: usize = 1 << 20;
const MAX_META_TEXT: usize = 2000;
/// Only this much of the main text is searched for a prose date.
const DATE_PROBE_CHARS: usize = 3000;

/// The longest block read as a bare date line near the title: a date with its weekday, time and
/// zone ("Tuesday, October 16, 2018, 5:07 pm EEST"), or a place before it, and no more.
const BARE_DATE_CHARS: u32 = 60;

/// Extracts the main text and metadata of a page. `collected_at` anchors relative dates.
pub fn extract(html: &str, collected_at: DateTime<Utc>) -> Extracted {
    scan(html).finish(collected_at)
}

/// All the text of an HTML fragment (a feed entry's summary or content), paragraphs separated by
/// blank lines. Nothing is chosen as main content: a fragment is all content.
pub fn fragment_text(html: &str) -> String {
    let mut scan = scan(html);
    scan.flush();
    let mut out = String::new();
    for b in &scan.blocks {
        let t = b.text.trim();
        if !t.is_empty() {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(t);
        }
    }
    out
}

/// Runs the tokenizer over the whole (capped) input and returns what the scan collected.
fn scan(html: &str) -> Scan {
    let html = truncate_at_char(html, MAX_INPUT_BYTES);
    let mut scan = Scan::new();
    tokenizer::tokenize(html, &mut scan);
    scan.flush();
    scan
}

fn truncate_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl tokenizer::Handler for Scan {
    fn start_tag(&mut self, tag: &Tag<'_>) -> Option<Raw> {
        Scan::start_tag(self, tag)
    }

    fn end_tag(&mut self, name: &LocalName) {
        Scan::end_tag(self, name)
    }

    fn text(&mut self, text: &str) {
        Scan::text(self, text)
    }
}

/// Kind of an element, as far as text extraction cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Inline or unknown: text flows through it.
    Inline,
    Root,
    Body,
    Div,
    /// `article`, `main`, `section`.
    Section,
    P,
    Heading(u8),
    Pre,
    Quote,
    List,
    Item,
    Table,
    Row,
    Cell,
    Caption,
    Form,
}

impl Kind {
    fn is_block(self) -> bool {
        self != Kind::Inline
    }
}

// Frame flags, inherited by everything inside the element.
const F_SKIP: u32 = 1; // content that is never text: nav, button, svg, template...
const F_LINK: u32 = 1 << 1;
const F_TITLE: u32 = 1 << 2;
const F_JSON_LD: u32 = 1 << 3;
const F_H1: u32 = 1 << 4;
const F_AUTHOR: u32 = 1 << 5;
const F_FOREIGN: u32 = 1 << 6;
const F_RAW: u32 = 1 << 7; // script or style body

const NONE: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Frame {
    name: LocalName,
    kind: Kind,
    flags: u32,
    /// This element's index in `elems`.
    elem: u32,
    /// Innermost block-level element at or above this frame.
    block_elem: u32,
    /// Innermost element at or above this frame with a boilerplate hint, or `NONE`.
    bad_elem: u32,
}

#[derive(Clone, Debug)]
struct Elem {
    parent: u32,
    /// One past the last element inside this one (elements are numbered in document order).
    end: u32,
    block_start: u32,
    block_end: u32,
    kind: Kind,
    /// Readability's class/id weight: +25 per content-like attribute, -25 per boilerplate-like.
    class_weight: i16,
    /// Innermost element at or above this one with a boilerplate hint, or `NONE`.
    bad: u32,
}

#[derive(Clone, Debug)]
struct Block {
    text: String,
    /// Length in letter units ([`letter_weight`]), not bytes or code points.
    chars: u32,
    /// The part of `chars` inside links.
    link_chars: u32,
    commas: u32,
    /// Innermost block-level element holding the text.
    elem: u32,
    kind: Kind,
    bad_elem: u32,
    links: Vec<String>,
}

#[derive(Default)]
struct Meta {
    og_title: Option<String>,
    twitter_title: Option<String>,
    site_name: Option<String>,
    author: Option<String>,
    article_author: Option<String>,
    published: Vec<(u8, String)>,
    canonical: Option<String>,
    og_url: Option<String>,
    og_locale: Option<String>,
    html_lang: Option<String>,
    title: String,
    title_done: bool,
    h1: String,
    h1_done: bool,
    rel_author: String,
    rel_author_done: bool,
    json_ld: Vec<String>,
    json_ld_open: Option<String>,
}

struct Scan {
    stack: Vec<Frame>,
    /// Start tags that were not pushed because the stack was full; their end tags are absorbed.
    overflow: usize,
    elems: Vec<Elem>,
    blocks: Vec<Block>,
    cur: String,
    cur_chars: u32,
    cur_link_chars: u32,
    cur_commas: u32,
    cur_links: Vec<String>,
    pending_space: bool,
    open_p: u32,
    open_li: u32,
    open_a: u32,
    open_cell: u32,
    meta: Meta,
}

impl Scan {
    fn new() -> Scan {
        Scan {
            stack: Vec::with_capacity(64),
            overflow: 0,
            elems: vec![Elem {
                parent: NONE,
                end: NONE,
                block_start: 0,
                block_end: NONE,
                kind: Kind::Root,
                class_weight: 0,
                bad: NONE,
            }],
            blocks: Vec::new(),
            cur: String::new(),
            cur_chars: 0,
            cur_link_chars: 0,
            cur_commas: 0,
            cur_links: Vec::new(),
            pending_space: false,
            open_p: 0,
            open_li: 0,
            open_a: 0,
            open_cell: 0,
            meta: Meta::default(),
        }
    }

    fn top_flags(&self) -> u32 {
        self.stack.last().map_or(0, |f| f.flags)
    }

    fn start_tag(&mut self, tag: &Tag<'_>) -> Option<Raw> {
        let name = &tag.name;
        match *name {
            local_name!("meta") => {
                self.meta_tag(tag);
                return None;
            }
            local_name!("link") => {
                self.link_tag(tag);
                return None;
            }
            local_name!("html") => {
                if self.meta.html_lang.is_none() {
                    self.meta.html_lang = attr(tag, local_name!("lang"))
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned);
                }
                return None;
            }
            local_name!("br") => {
                self.flush();
                return None;
            }
            local_name!("hr") => {
                self.flush();
                return None;
            }
            _ => {}
        }
        if self.top_flags() & F_SKIP == 0 {
            self.date_attrs(tag);
        }
        if is_void(name) {
            return None;
        }
        let parent_flags = self.top_flags();
        if tag.self_closing && parent_flags & F_FOREIGN != 0 {
            return None;
        }
        let raw = match *name {
            local_name!("script") => Some(Raw::Text),
            local_name!("style")
            | local_name!("xmp")
            | local_name!("iframe")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("noscript") => Some(Raw::Text),
            local_name!("title") | local_name!("textarea") if parent_flags & F_FOREIGN == 0 => {
                Some(Raw::Rcdata)
            }
            _ => None,
        };
        // Raw-text elements are pushed even on a full stack: their end tag comes right after
        // their text, and their text must not leak into the page text.
        if self.stack.len() >= MAX_DEPTH && raw.is_none() {
            self.overflow += 1;
            return None;
        }
        let kind = kind_of(name);
        self.close_implied(name, kind);
        if kind.is_block() {
            self.flush();
        }
        self.push(tag, kind, raw.is_some());
        raw
    }

    fn push(&mut self, tag: &Tag<'_>, kind: Kind, raw: bool) {
        let name = &tag.name;
        let (mut flags, parent_elem, parent_block, parent_bad) = match self.stack.last() {
            Some(f) => (f.flags, f.elem, f.block_elem, f.bad_elem),
            None => (0, 0, 0, NONE),
        };
        flags &= !(F_TITLE | F_JSON_LD);
        if raw {
            flags |= F_RAW;
        }
        match *name {
            local_name!("a") => {
                flags |= F_LINK;
                self.open_a += 1;
                if flags & F_SKIP == 0
                    && let Some(href) = attr(tag, local_name!("href"))
                {
                    let href = href.trim();
                    if !href.is_empty()
                        && !href.starts_with('#')
                        && !starts_with_ci(href, "javascript:")
                    {
                        self.cur_links.push(href.to_owned());
                    }
                }
                if attr(tag, local_name!("rel")).is_some_and(|r| {
                    r.split_ascii_whitespace()
                        .any(|t| t.eq_ignore_ascii_case("author"))
                }) && !self.meta.rel_author_done
                {
                    flags |= F_AUTHOR;
                }
            }
            local_name!("title") if !self.meta.title_done && flags & F_FOREIGN == 0 => {
                flags |= F_TITLE
            }
            local_name!("script") => {
                if attr(tag, local_name!("type"))
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"))
                {
                    flags |= F_JSON_LD;
                    self.meta.json_ld_open = Some(String::new());
                }
            }
            local_name!("h1") if !self.meta.h1_done => flags |= F_H1,
            local_name!("svg") | local_name!("math") => flags |= F_FOREIGN | F_SKIP,
            _ => {}
        }
        if is_skipped(name) {
            flags |= F_SKIP;
        }
        let elem = u32::try_from(self.elems.len()).unwrap_or(NONE - 1);
        let mut class_weight = 0i16;
        let mut bad_elem = parent_bad;
        if flags & F_SKIP == 0 {
            let (weight, bad) = class_hints(tag);
            class_weight = weight;
            if bad || is_boilerplate_tag(name) {
                bad_elem = elem;
            }
        }
        let block_count = self.block_count();
        self.elems.push(Elem {
            parent: parent_elem,
            end: NONE,
            block_start: block_count,
            block_end: NONE,
            kind,
            class_weight,
            bad: bad_elem,
        });
        match kind {
            Kind::P => self.open_p += 1,
            Kind::Item => self.open_li += 1,
            Kind::Cell => self.open_cell += 1,
            _ => {}
        }
        self.stack.push(Frame {
            name: name.clone(),
            kind,
            flags,
            elem,
            block_elem: if kind.is_block() { elem } else { parent_block },
            bad_elem,
        });
    }

    fn block_count(&self) -> u32 {
        u32::try_from(self.blocks.len()).unwrap_or(NONE - 1)
    }

    fn pop(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        if frame.kind.is_block() {
            // The block in progress belongs to the element being closed.
            self.stack.push(frame);
            self.flush();
            let Some(frame) = self.stack.pop() else {
                return;
            };
            self.finish_frame(frame);
        } else {
            self.finish_frame(frame);
        }
    }

    fn finish_frame(&mut self, frame: Frame) {
        let end = u32::try_from(self.elems.len()).unwrap_or(NONE - 1);
        let block_end = self.block_count();
        if let Some(e) = self.elems.get_mut(frame.elem as usize) {
            e.end = end;
            e.block_end = block_end;
        }
        match frame.kind {
            Kind::P => self.open_p = self.open_p.saturating_sub(1),
            Kind::Item => self.open_li = self.open_li.saturating_sub(1),
            Kind::Cell => self.open_cell = self.open_cell.saturating_sub(1),
            _ => {}
        }
        if frame.name == local_name!("a") {
            self.open_a = self.open_a.saturating_sub(1);
        }
        let had =
            |f: u32| frame.flags & f != 0 && self.stack.last().is_none_or(|p| p.flags & f == 0);
        if had(F_TITLE) && !self.meta.title.trim().is_empty() {
            self.meta.title_done = true;
        }
        if had(F_H1) && !self.meta.h1.trim().is_empty() {
            self.meta.h1_done = true;
        }
        if had(F_AUTHOR) && !self.meta.rel_author.trim().is_empty() {
            self.meta.rel_author_done = true;
        }
        if frame.flags & F_JSON_LD != 0
            && let Some(json) = self.meta.json_ld_open.take()
        {
            self.meta.json_ld.push(json);
        }
    }

    fn end_tag(&mut self, name: &LocalName) {
        match *name {
            // Browsers read both as line breaks.
            local_name!("br") | local_name!("p")
                if self.open_p == 0 || *name == local_name!("br") =>
            {
                self.flush();
                return;
            }
            _ => {}
        }
        if self.stack.last().is_some_and(|f| f.name == *name) {
            self.pop();
            return;
        }
        if self.overflow > 0 {
            self.overflow -= 1;
            return;
        }
        let found = self
            .stack
            .iter()
            .rev()
            .take(MAX_CLOSE_SEARCH)
            .position(|f| f.name == *name);
        if let Some(depth) = found {
            for _ in 0..=depth {
                self.pop();
            }
        } else if kind_of(name).is_block() {
            self.flush();
        }
    }

    /// Closes what the HTML parser closes implicitly: an open `<p>` before a block, the previous
    /// `<li>`, cell or row, a link inside a link. Without this, pages that never close their
    /// paragraphs would nest deeper with every one.
    fn close_implied(&mut self, name: &LocalName, kind: Kind) {
        if self.open_p > 0 && kind.is_block() && kind != Kind::Inline {
            self.close_up_to(
                |f| f.kind == Kind::P,
                |f| matches!(f.kind, Kind::Table | Kind::Cell | Kind::Body),
            );
        }
        match kind {
            Kind::Item if self.open_li > 0 => {
                let is_dl_item = matches!(*name, local_name!("dd") | local_name!("dt"));
                self.close_up_to(
                    |f| f.kind == Kind::Item && (f.name == local_name!("li")) != is_dl_item,
                    |f| matches!(f.kind, Kind::List | Kind::Table | Kind::Body),
                );
            }
            Kind::Cell if self.open_cell > 0 => {
                self.close_up_to(
                    |f| f.kind == Kind::Cell,
                    |f| matches!(f.kind, Kind::Row | Kind::Table),
                );
            }
            Kind::Row => {
                self.close_up_to(|f| f.kind == Kind::Row, |f| f.kind == Kind::Table);
            }
            _ => {}
        }
        if *name == local_name!("a") && self.open_a > 0 {
            self.close_up_to(|f| f.name == local_name!("a"), |f| f.kind.is_block());
        }
    }

    fn close_up_to(&mut self, target: impl Fn(&Frame) -> bool, barrier: impl Fn(&Frame) -> bool) {
        let mut depth = None;
        for (i, f) in self.stack.iter().rev().take(MAX_CLOSE_SEARCH).enumerate() {
            if target(f) {
                depth = Some(i);
                break;
            }
            if barrier(f) {
                return;
            }
        }
        if let Some(d) = depth {
            for _ in 0..=d {
                self.pop();
            }
        }
    }

    fn text(&mut self, s: &str) {
        let flags = self.top_flags();
        if flags & F_RAW != 0 {
            if flags & F_JSON_LD != 0
                && let Some(buf) = self.meta.json_ld_open.as_mut()
                && buf.len() + s.len() <= MAX_JSON_LD_BYTES
            {
                buf.push_str(s);
            }
            if flags & F_TITLE != 0 {
                push_capped(&mut self.meta.title, s);
            }
            return;
        }
        if flags & F_TITLE != 0 {
            push_capped(&mut self.meta.title, s);
            return;
        }
        if flags & F_H1 != 0 && flags & F_FOREIGN == 0 {
            push_capped(&mut self.meta.h1, s);
        }
        if flags & F_AUTHOR != 0 {
            push_capped(&mut self.meta.rel_author, s);
        }
        if flags & F_SKIP != 0 {
            return;
        }
        let in_link = flags & F_LINK != 0;
        for c in s.chars() {
            if c.is_whitespace() {
                self.pending_space = !self.cur.is_empty();
                continue;
            }
            if self.pending_space {
                self.cur.push(' ');
                self.pending_space = false;
            }
            self.cur.push(c);
            let w = letter_weight(c);
            self.cur_chars += w;
            if in_link {
                self.cur_link_chars += w;
            }
            if matches!(c, ',' | '،' | '，' | '、') {
                self.cur_commas += 1;
            }
        }
    }

    /// Ends the block in progress, if it holds any text.
    fn flush(&mut self) {
        self.pending_space = false;
        if self.cur.is_empty() {
            self.cur_links.clear();
            return;
        }
        let (elem, bad_elem) = self
            .stack
            .last()
            .map_or((0, NONE), |f| (f.block_elem, f.bad_elem));
        let kind = self.elems.get(elem as usize).map_or(Kind::Root, |e| e.kind);
        self.blocks.push(Block {
            text: std::mem::take(&mut self.cur),
            chars: self.cur_chars,
            link_chars: self.cur_link_chars,
            commas: self.cur_commas,
            elem,
            kind,
            bad_elem,
            links: std::mem::take(&mut self.cur_links),
        });
        self.cur_chars = 0;
        self.cur_link_chars = 0;
        self.cur_commas = 0;
    }

    fn meta_tag(&mut self, tag: &Tag<'_>) {
        let Some(content) = attr(tag, local_name!("content"))
            .map(str::trim)
            .filter(|c| !c.is_empty())
        else {
            return;
        };
        // One tag may carry several keys (`property="article:published"
        // itemprop="datePublished dateCreated"`); each is looked at.
        let keys = [
            local_name!("property"),
            local_name!("name"),
            local_name!("itemprop"),
        ]
        .into_iter()
        .filter_map(|a| attr(tag, a))
        .flat_map(str::split_ascii_whitespace)
        .map(str::to_ascii_lowercase);
        let m = &mut self.meta;
        let set = |slot: &mut Option<String>| {
            if slot.is_none() {
                *slot = Some(content.chars().take(MAX_META_TEXT).collect());
            }
        };
        for key in keys {
            match key.as_str() {
                "og:title" => set(&mut m.og_title),
                "twitter:title" => set(&mut m.twitter_title),
                "og:site_name" | "application-name" => set(&mut m.site_name),
                "author" | "byl" | "sailthru.author" | "parsely-author" | "dc.creator" => {
                    set(&mut m.author)
                }
                "article:author" => set(&mut m.article_author),
                "og:url" => set(&mut m.og_url),
                "og:locale" => set(&mut m.og_locale),
                _ => {
                    if let Some(rank) = date_meta_rank(&key)
                        && m.published.len() < 32
                    {
                        m.published.push((rank, content.to_owned()));
                    }
                }
            }
        }
    }

    fn link_tag(&mut self, tag: &Tag<'_>) {
        let rel = attr(tag, local_name!("rel")).unwrap_or_default();
        if self.meta.canonical.is_none()
            && rel
                .split_ascii_whitespace()
                .any(|t| t.eq_ignore_ascii_case("canonical"))
            && let Some(href) = attr(tag, local_name!("href"))
                .map(str::trim)
                .filter(|h| !h.is_empty())
        {
            self.meta.canonical = Some(href.to_owned());
        }
    }

    /// `<time datetime>` and `itemprop="datePublished"` on any element.
    fn date_attrs(&mut self, tag: &Tag<'_>) {
        if self.meta.published.len() >= 32 {
            return;
        }
        if let Some(prop) = attr(tag, local_name!("itemprop"))
            && prop.trim().eq_ignore_ascii_case("datePublished")
            && let Some(v) =
                attr(tag, local_name!("datetime")).or_else(|| attr(tag, local_name!("content")))
        {
            self.meta.published.push((2, v.to_owned()));
        } else if tag.name == local_name!("time")
            && let Some(v) = attr(tag, local_name!("datetime"))
        {
            let publish_hint = attr(tag, local_name!("class")).is_some_and(|c| {
                let c = c.to_ascii_lowercase();
                c.contains("publish") || c.contains("posted")
            }) || tag.attrs.iter().any(|a| &*a.name == "pubdate");
            self.meta
                .published
                .push((if publish_hint { 5 } else { 6 }, v.to_owned()));
        }
    }

    fn finish(mut self, collected_at: DateTime<Utc>) -> Extracted {
        self.flush();
        while !self.stack.is_empty() {
            self.pop();
        }
        let total_elems = u32::try_from(self.elems.len()).unwrap_or(NONE - 1);
        let total_blocks = self.block_count();
        for e in &mut self.elems {
            if e.end == NONE {
                e.end = total_elems;
            }
            if e.block_end == NONE {
                e.block_end = total_blocks;
            }
        }
        let mut keep = select_main(&self.elems, &self.blocks);
        // A heading over a list of links ("More from NWN Weather" above a related-stories rail
        // inside the article) titles what was dropped, not the article.
        let kept: HashSet<usize> = keep.iter().copied().collect();
        keep.retain(|&i| {
            let heads_links = matches!(self.blocks[i].kind, Kind::Heading(n) if n > 1)
                && self
                    .blocks
                    .get(i + 1)
                    .is_some_and(|n| !kept.contains(&(i + 1)) && link_density(n) > 0.5);
            !heads_links
        });
        let meta = std::mem::take(&mut self.meta);
        let ld = JsonLd::parse(&meta.json_ld);
        let title = choose_title(&meta, &ld);
        let mut text = String::new();
        let mut links: Vec<String> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for &i in &keep {
            let Some(b) = self.blocks.get(i) else {
                continue;
            };
            if b.kind == Kind::Heading(1) && title.as_deref().is_some_and(|t| same_text(t, &b.text))
            {
                continue;
            }
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&b.text);
            for l in &b.links {
                if seen.insert(l) {
                    links.push(l.clone());
                }
            }
        }
        // A byline's date line is dropped from the text but is the best prose date there is, when
        // it sits with the article (among its blocks or right around them, not in a sidebar).
        let dateline = match (keep.first(), keep.last()) {
            (Some(&first), Some(&last)) => self
                .blocks
                .get(first.saturating_sub(5)..(last + 3).min(self.blocks.len()))
                .unwrap_or_default()
                .iter()
                .find(|b| b.chars < 120 && is_dateline(&b.text)),
            _ => None,
        };
        // A bare date in its own element between the title and the article ("<span class="dt">16
        // октября 2018, 17:07</span>" under the <h1>) is the page's date as surely as a byline.
        let bare_date = || {
            let first = *keep.first()?;
            let heading = self.blocks[..first.min(self.blocks.len())]
                .iter()
                .rposition(|b| matches!(b.kind, Kind::Heading(1 | 2)))
                .unwrap_or(first);
            let from = heading.min(first.saturating_sub(5));
            // The article's first paragraph: a kept title heading comes before the date line.
            let body = keep
                .iter()
                .copied()
                .find(|&i| {
                    self.blocks
                        .get(i)
                        .is_some_and(|b| !matches!(b.kind, Kind::Heading(_)))
                })
                .unwrap_or(first)
                .min(first + 5);
            self.blocks
                .get(from..(body + 1).min(self.blocks.len()))
                .unwrap_or_default()
                .iter()
                .filter(|b| b.chars <= BARE_DATE_CHARS && !b.text.contains('\n'))
                .find_map(|b| find_strong_date_in_text(&b.text, collected_at))
        };
        let published_at = choose_date(&meta, &ld)
            .or_else(|| dateline.and_then(|b| find_strong_date_in_text(&b.text, collected_at)))
            .or_else(bare_date)
            .or_else(|| {
                let probe: String = text.chars().take(DATE_PROBE_CHARS).collect();
                find_strong_date_in_text(&probe, collected_at)
            });
        let author = [&meta.author, &meta.article_author]
            .into_iter()
            .flatten()
            .map(|a| strip_by(a.trim()))
            .find(|a| !a.is_empty() && !looks_like_url(a))
            .map(str::to_owned)
            .or(ld.author)
            .or_else(|| Some(collapse(&meta.rel_author)).filter(|a| !a.is_empty()));
        Extracted {
            title,
            author,
            published_at,
            canonical_url: meta.canonical.or(meta.og_url),
            language_hint: meta.html_lang.or(meta.og_locale),
            text,
            links,
        }
    }
}

fn push_capped(buf: &mut String, s: &str) {
    let room = MAX_META_TEXT.saturating_sub(buf.len());
    buf.push_str(truncate_at_char(s, room));
}

fn attr<'t>(tag: &'t Tag<'_>, name: LocalName) -> Option<&'t str> {
    tag.attrs.iter().find(|a| a.name == name).map(|a| &*a.value)
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// "By Jamelle Bouie" → "Jamelle Bouie"; bylines copied into author fields keep their prefix.
fn strip_by(s: &str) -> &str {
    for prefix in ["By ", "by ", "BY ", "Автор: ", "Автор ", "Author: "] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return rest.trim();
        }
    }
    s
}

fn looks_like_url(s: &str) -> bool {
    s.starts_with("http://")
        || s.starts_with("https://")
        || s.starts_with("//")
        || s.starts_with("www.")
}

fn is_void(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("img")
            | local_name!("input")
            | local_name!("keygen")
            | local_name!("param")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
            | local_name!("basefont")
            | local_name!("bgsound")
            | local_name!("frame")
            | local_name!("image")
    )
}

/// Elements whose content is never article text.
fn is_skipped(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("script")
            | local_name!("style")
            | local_name!("noscript")
            | local_name!("template")
            | local_name!("svg")
            | local_name!("math")
            | local_name!("nav")
            | local_name!("button")
            | local_name!("select")
            | local_name!("option")
            | local_name!("iframe")
            | local_name!("textarea")
            | local_name!("head")
            | local_name!("title")
            | local_name!("object")
            | local_name!("canvas")
            | local_name!("audio")
            | local_name!("video")
            | local_name!("map")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("xmp")
            | local_name!("dialog")
            | local_name!("label")
    )
}

/// Elements whose text is kept in the skeleton (for the date probe and in case the whole page is
/// wrapped in one of them) but dropped from the main text when they sit inside it.
fn is_boilerplate_tag(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("header")
            | local_name!("footer")
            | local_name!("aside")
            | local_name!("form")
            | local_name!("menu")
            | local_name!("fieldset")
    )
}

fn kind_of(name: &LocalName) -> Kind {
    match *name {
        local_name!("p") => Kind::P,
        local_name!("div")
        | local_name!("center")
        | local_name!("header")
        | local_name!("footer")
        | local_name!("aside")
        | local_name!("nav")
        | local_name!("address")
        | local_name!("details")
        | local_name!("summary")
        | local_name!("hgroup")
        | local_name!("figure")
        | local_name!("fieldset")
        | local_name!("legend")
        | local_name!("dialog")
        | local_name!("menu") => Kind::Div,
        local_name!("article") | local_name!("main") | local_name!("section") => Kind::Section,
        local_name!("body") => Kind::Body,
        local_name!("h1") => Kind::Heading(1),
        local_name!("h2") => Kind::Heading(2),
        local_name!("h3") => Kind::Heading(3),
        local_name!("h4") => Kind::Heading(4),
        local_name!("h5") => Kind::Heading(5),
        local_name!("h6") => Kind::Heading(6),
        local_name!("pre") => Kind::Pre,
        local_name!("blockquote") => Kind::Quote,
        local_name!("ul") | local_name!("ol") | local_name!("dl") | local_name!("dir") => {
            Kind::List
        }
        local_name!("li") | local_name!("dd") | local_name!("dt") => Kind::Item,
        local_name!("table")
        | local_name!("tbody")
        | local_name!("thead")
        | local_name!("tfoot") => Kind::Table,
        local_name!("tr") => Kind::Row,
        local_name!("td") | local_name!("th") => Kind::Cell,
        local_name!("figcaption") | local_name!("caption") => Kind::Caption,
        local_name!("form") => Kind::Form,
        _ => Kind::Inline,
    }
}

/// Words in class and id values that mark boilerplate whatever else the value says.
#[rustfmt::skip]
const BAD_WORDS: [&str; 33] = [
    "comment", "disqus", "share", "sharing", "social", "related", "recommend", "footer",
    "breadcrumb", "cookie", "consent", "gdpr", "subscribe", "subscription", "newsletter", "promo",
    "advert", "sponsor", "outbrain", "taboola", "popup", "modal", "pagination", "pager",
    "paywall-prompt", "sr-only", "visually-hidden", "screen-reader", "more-stories", "read-more",
    "readmore", "signup", "sign-up",
];

/// Words that mark boilerplate unless the same value also names content, as Readability's
/// "unlikely candidates" do: "content-with-sidebar" wraps the article, "sidebar" does not.
#[rustfmt::skip]
const SOFT_BAD_WORDS: [&str; 7] = [
    "sidebar", "masthead", "toolbar", "popular", "trending", "login", "byline",
];

/// Whole class/id tokens (split on anything but ASCII letters and digits) that mark boilerplate.
#[rustfmt::skip]
const BAD_TOKENS: [&str; 3] = ["ad", "ads", "advertisement"];
#[rustfmt::skip]
const SOFT_BAD_TOKENS: [&str; 11] = [
    "nav", "navbar", "navigation", "menu", "adv", "banner", "tags", "caption", "credit", "credits",
    "video",
];

/// Words that rescue a value with a soft boilerplate word.
const CONTENT_WORDS: [&str; 5] = ["article", "body", "content", "main", "column"];

/// Class/id words of containers that hold the article body itself.
const BODY_WORDS: [&str; 30] = [
    "articlebody",
    "article-body",
    "article_body",
    "article__body",
    "article-content",
    "article__content",
    "articlecontent",
    "article-text",
    "article__text",
    "articletext",
    "entry-content",
    "entry-body",
    "post-content",
    "postcontent",
    "post-body",
    "postbody",
    "post-text",
    "post-entry",
    "story-body",
    "storybody",
    "story-content",
    "story-text",
    "body-text",
    "bodytext",
    "news-text",
    "news-body",
    "text-content",
    "content-body",
    "rich-text",
    "body-copy",
];

/// Readability's class weights, as substrings of class and id values.
const POSITIVE_WORDS: [&str; 11] = [
    "article", "body", "content", "entry", "hentry", "main", "page", "post", "text", "blog",
    "story",
];
const NEGATIVE_WORDS: [&str; 22] = [
    "banner",
    "combx",
    "comment",
    "com-",
    "contact",
    "foot",
    "masthead",
    "media",
    "meta",
    "outbrain",
    "promo",
    "related",
    "scroll",
    "share",
    "shoutbox",
    "sidebar",
    "skyscraper",
    "sponsor",
    "shopping",
    "tags",
    "tool",
    "widget",
];

// Word lists a class/id value is matched against, as bit flags of one table.
const W_BAD: u8 = 1;
const W_SOFT_BAD: u8 = 1 << 1;
const W_CONTENT: u8 = 1 << 2;
const W_BODY: u8 = 1 << 3;
const W_POSITIVE: u8 = 1 << 4;
const W_NEGATIVE: u8 = 1 << 5;

/// All hint words in one automaton, so that one pass over a class value finds every list's words
/// (testing each word with `contains` cost a fifth of the extraction time), with each word's flag.
fn hint_matcher() -> &'static (aho_corasick::AhoCorasick, Vec<u8>) {
    static MATCHER: OnceLock<(aho_corasick::AhoCorasick, Vec<u8>)> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let lists: [(&[&'static str], u8); 6] = [
            (&BAD_WORDS, W_BAD),
            (&SOFT_BAD_WORDS, W_SOFT_BAD),
            (&CONTENT_WORDS, W_CONTENT),
            (&BODY_WORDS, W_BODY),
            (&POSITIVE_WORDS, W_POSITIVE),
            (&NEGATIVE_WORDS, W_NEGATIVE),
        ];
        let mut words = Vec::new();
        let mut flags = Vec::new();
        for (list, flag) in lists {
            for w in list {
                words.push(*w);
                flags.push(flag);
            }
        }
        // The word lists are constants: building the automaton from them cannot fail.
        #[allow(clippy::expect_used)]
        let ac = aho_corasick::AhoCorasick::new(&words).expect("hint word automaton");
        (ac, flags)
    })
}

/// Which word lists have a word occurring in `value` (lowercase ASCII).
fn word_flags(value: &[u8]) -> u8 {
    let (ac, word_flag) = hint_matcher();
    let mut flags = 0u8;
    for m in ac.find_overlapping_iter(value) {
        flags |= word_flag[m.pattern().as_usize()];
    }
    flags
}

/// Readability's class/id weight of an element, and whether it is boilerplate.
fn class_hints(tag: &Tag<'_>) -> (i16, bool) {
    let mut weight = 0i16;
    let mut bad = false;
    let mut body = false;
    for a in &tag.attrs {
        let local = &a.name;
        match *local {
            local_name!("itemprop") => {
                body |= a.value.trim().eq_ignore_ascii_case("articleBody");
                continue;
            }
            local_name!("role") => {
                let role = a.value.trim().to_ascii_lowercase();
                bad |= matches!(
                    role.as_str(),
                    "navigation"
                        | "banner"
                        | "contentinfo"
                        | "complementary"
                        | "menu"
                        | "menubar"
                        | "dialog"
                        | "alert"
                );
                continue;
            }
            local_name!("hidden") => {
                bad = true;
                continue;
            }
            local_name!("aria-hidden") => {
                bad |= a.value.trim() == "true";
                continue;
            }
            local_name!("style") => {
                let style: String = a
                    .value
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_ascii_lowercase();
                bad |= style.contains("display:none") || style.contains("visibility:hidden");
                continue;
            }
            local_name!("class") | local_name!("id") | local_name!("name") => {}
            _ => continue,
        }
        let value = a.value.to_ascii_lowercase();
        if value.is_empty() {
            continue;
        }
        let flags = word_flags(value.as_bytes());
        body |= flags & W_BODY != 0;
        if *local == local_name!("name") {
            continue;
        }
        if flags & W_NEGATIVE != 0 {
            weight -= 25;
        }
        if flags & W_POSITIVE != 0 {
            weight += 25;
        }
        let tokens = || value.split(|c: char| !c.is_ascii_alphanumeric());
        let hard = flags & W_BAD != 0 || tokens().any(|t| BAD_TOKENS.contains(&t));
        let soft = flags & W_CONTENT == 0
            && (flags & W_SOFT_BAD != 0 || tokens().any(|t| SOFT_BAD_TOKENS.contains(&t)));
        bad |= hard || soft;
    }
    if body {
        weight += 50;
        bad = false;
    }
    (weight, bad)
}

/// Chooses the blocks of the main text, in document order.
fn select_main(elems: &[Elem], blocks: &[Block]) -> Vec<usize> {
    if blocks.is_empty() {
        return Vec::new();
    }
    // Prefix sums make the text and link length of any element's block range O(1).
    let mut chars = Vec::with_capacity(blocks.len() + 1);
    let mut links = Vec::with_capacity(blocks.len() + 1);
    chars.push(0u64);
    links.push(0u64);
    for b in blocks {
        chars.push(chars.last().copied().unwrap_or(0) + u64::from(b.chars));
        links.push(links.last().copied().unwrap_or(0) + u64::from(b.link_chars));
    }
    let range_of = |e: &Elem| {
        let s = (e.block_start as usize).min(blocks.len());
        let t = (e.block_end as usize).clamp(s, blocks.len());
        (s, t)
    };
    let density = |e: &Elem| {
        let (s, t) = range_of(e);
        let c = chars[t] - chars[s];
        if c == 0 {
            0.0
        } else {
            (links[t] - links[s]) as f64 / c as f64
        }
    };

    let mut score = vec![0f64; elems.len()];
    let mut scored = vec![false; elems.len()];
    for b in blocks {
        let scorable = matches!(
            b.kind,
            Kind::P | Kind::Pre | Kind::Div | Kind::Section | Kind::Quote | Kind::Cell | Kind::Body
        ) || matches!(b.kind, Kind::Heading(n) if n > 1);
        if !scorable || b.chars < 25 {
            continue;
        }
        let s = 1.0 + f64::from(b.commas) + (f64::from(b.chars) / 100.0).floor().min(3.0);
        // A paragraph's text belongs to its parent; text straight inside a div makes the div
        // itself the container.
        let mut e = if matches!(b.kind, Kind::P | Kind::Pre | Kind::Heading(_)) {
            elems.get(b.elem as usize).map_or(NONE, |e| e.parent)
        } else {
            b.elem
        };
        for divider in [1.0, 2.0, 6.0] {
            let Some(el) = elems.get(e as usize) else {
                break;
            };
            if matches!(el.kind, Kind::Root) {
                break;
            }
            scored[e as usize] = true;
            score[e as usize] += s / divider;
            e = el.parent;
        }
    }
    // A container inside a boilerplate element (a newsletter box, a "most read" list) keeps a
    // chance only when nothing better exists.
    let final_score = |i: usize| {
        let penalty = if elems[i].bad == NONE { 1.0 } else { 0.5 };
        (score[i] + initial_score(&elems[i], score[i])) * (1.0 - density(&elems[i])) * penalty
    };
    let mut candidates: Vec<usize> = (0..elems.len()).filter(|&i| scored[i]).collect();
    candidates.sort_by(|&a, &b| final_score(b).total_cmp(&final_score(a)));
    let Some(&first) = candidates.first() else {
        return fallback(blocks);
    };
    let mut top = first;
    let core = first as u32;
    let top_score = final_score(top);

    // A strong candidate close by in the same boilerplate context means the article is split
    // across containers (around an ad slot, a pull quote, a newsletter box): take their nearest
    // common ancestor, a few levels up at most.
    for &c in candidates.iter().skip(1).take(5) {
        let cid = c as u32;
        if final_score(c) < 0.5 * top_score
            || elems[c].bad != elems[first].bad
            || is_inside(elems, cid, core)
            || is_inside(elems, core, cid)
        {
            continue;
        }
        let mut anc = elems[first].parent;
        for _ in 0..6 {
            let Some(a) = elems.get(anc as usize) else {
                break;
            };
            if matches!(a.kind, Kind::Root | Kind::Body) {
                break;
            }
            if is_inside(elems, cid, anc) {
                if is_inside(elems, top as u32, anc) {
                    top = anc as usize;
                }
                break;
            }
            anc = a.parent;
        }
    }
    // Climb while the parent scores about as well: the paragraphs' container is often one of
    // several wrappers of the article.
    let mut last = final_score(top);
    let threshold = last / 3.0;
    let mut parent = elems[top].parent;
    while let Some(p) = elems.get(parent as usize) {
        if matches!(p.kind, Kind::Root | Kind::Body) {
            break;
        }
        if scored[parent as usize] {
            let ps = final_score(parent as usize);
            if ps < threshold {
                break;
            }
            if ps > last {
                top = parent as usize;
                break;
            }
            last = ps;
        }
        parent = p.parent;
    }

    let root = &elems[top];
    let (rs, rt) = range_of(root);
    let sibling_threshold = (0.2 * final_score(top)).max(10.0);
    let parent_idx = root.parent;
    let (ps, pt) = elems.get(parent_idx as usize).map_or((rs, rt), range_of);
    let pick = |respect_bad: bool| {
        let mut keep = Vec::new();
        let mut kept_chars = 0u64;
        for (i, b) in blocks.iter().enumerate().take(pt).skip(ps) {
            let inside = (rs..rt).contains(&i);
            // A boilerplate word on a wrapper of the best-scoring container
            // ("content-with-sidebar") says nothing about the container's own paragraphs.
            let bad_under = |root: u32| {
                respect_bad
                    && is_bad_inside(b, root, elems)
                    && b.bad_elem != core
                    && !is_inside(elems, core, b.bad_elem)
            };
            if !inside {
                let good_sibling = child_of(elems, b.elem, parent_idx).is_some_and(|c| {
                    scored[c as usize] && final_score(c as usize) >= sibling_threshold
                });
                let ld = link_density(b);
                let good_paragraph = matches!(b.kind, Kind::P | Kind::Div)
                    && ld < 0.25
                    && (b.chars > 80 || (b.chars > 20 && ld == 0.0 && ends_sentence(&b.text)));
                if !(good_sibling || good_paragraph) || bad_under(parent_idx) {
                    continue;
                }
            }
            if bad_under(top as u32) || !keep_block(b) {
                continue;
            }
            kept_chars += u64::from(b.chars);
            keep.push(i);
        }
        (keep, kept_chars)
    };
    // Class words are only hints: when they throw away all but a scrap of what the scoring
    // chose, they are wrong for this site. A short article above long comments keeps its
    // filter, which is why the scrap is measured in characters and not as a share.
    let (keep, kept) = pick(true);
    if kept >= 100 {
        return keep;
    }
    let (all, all_chars) = pick(false);
    let (keep, kept) = if all_chars >= 5 * kept.max(1) {
        (all, all_chars)
    } else {
        (keep, kept)
    };
    if kept >= EMPTY_TEXT_CHARS {
        return keep;
    }
    // Nearly nothing survived (paragraphs that are links, an article inside a <nav>): a page
    // with a body is never reduced to an empty text, so its prose is taken as it stands.
    let prose: Vec<usize> = (0..blocks.len())
        .filter(|&i| {
            matches!(
                blocks[i].kind,
                Kind::P
                    | Kind::Div
                    | Kind::Quote
                    | Kind::Pre
                    | Kind::Cell
                    | Kind::Section
                    | Kind::Body
            ) && blocks[i].chars >= 80
        })
        .collect();
    let prose_chars: u64 = prose.iter().map(|&i| u64::from(blocks[i].chars)).sum();
    if prose_chars >= 2 * EMPTY_TEXT_CHARS.max(kept) {
        prose
    } else {
        keep
    }
}

/// Below this many letter units, the chosen text counts as empty (see [`select_main`]).
const EMPTY_TEXT_CHARS: u64 = 100;

fn fallback(blocks: &[Block]) -> Vec<usize> {
    (0..blocks.len())
        .filter(|&i| blocks[i].bad_elem == NONE && keep_block(&blocks[i]))
        .collect()
}

/// Readability's starting score of a candidate from its tag and class words. A content-like
/// class counts at most as much as the text under it, so that a near-empty box called
/// "post-content-signup" cannot beat the article.
fn initial_score(e: &Elem, text_score: f64) -> f64 {
    let tag = match e.kind {
        Kind::Div => 5.0,
        Kind::Pre | Kind::Cell | Kind::Quote => 3.0,
        Kind::List | Kind::Item | Kind::Form => -3.0,
        Kind::Heading(_) => -5.0,
        _ => 0.0,
    };
    let class = f64::from(e.class_weight);
    tag + if class > 0.0 {
        class.min(text_score)
    } else {
        class
    }
}

fn is_inside(elems: &[Elem], e: u32, ancestor: u32) -> bool {
    elems
        .get(ancestor as usize)
        .is_some_and(|a| e > ancestor && e < a.end)
}

/// The child of `parent` on the way up from `e`.
fn child_of(elems: &[Elem], mut e: u32, parent: u32) -> Option<u32> {
    for _ in 0..=MAX_DEPTH {
        let el = elems.get(e as usize)?;
        if el.parent == parent {
            return Some(e);
        }
        e = el.parent;
    }
    None
}

/// Whether the block sits under a boilerplate element that is itself inside `root`: a
/// boilerplate hint on `root` or above it says nothing about the blocks we chose.
fn is_bad_inside(b: &Block, root: u32, elems: &[Elem]) -> bool {
    b.bad_elem != NONE && is_inside(elems, b.bad_elem, root)
}

fn link_density(b: &Block) -> f64 {
    if b.chars == 0 {
        0.0
    } else {
        f64::from(b.link_chars) / f64::from(b.chars)
    }
}

fn ends_sentence(s: &str) -> bool {
    s.trim_end().ends_with([
        '.', '!', '?', '…', '"', '»', '”', // Latin, Cyrillic, Greek
        '。', '！', '？', '」', '』', // Chinese, Japanese
        '؟', '۔', // Arabic, Urdu
        '।', '॥', // Devanagari
        ';', '\u{37e}', // Greek question mark
        '։',       // Armenian full stop
    ])
}

/// How much one character counts towards a block's length: a Chinese or Japanese character
/// carries about as much as a three-letter word, a Hangul syllable about two letters; every other
/// script counts by the letter. Lengths and link density are measured in these units, so that a
/// paragraph of sixty ideographs scores as the English paragraph it would translate to.
fn letter_weight(c: char) -> u32 {
    match u32::from(c) {
        0x3040..=0x30ff
        | 0x3400..=0x4dbf
        | 0x4e00..=0x9fff
        | 0xf900..=0xfaff
        | 0x20000..=0x2ffff => 3,
        0xac00..=0xd7af => 2,
        _ => 1,
    }
}

/// Per-block filter inside the chosen container: link lists, captions and stock phrases go.
fn keep_block(b: &Block) -> bool {
    let ld = link_density(b);
    if ld > 0.5 || (ld > 0.3 && b.chars < 100) {
        return false;
    }
    if b.kind == Kind::Caption {
        return false;
    }
    if b.chars < 60 && is_stock_phrase(&b.text) {
        return false;
    }
    if b.chars < 120 && is_dateline(&b.text) {
        return false;
    }
    if b.chars <= BARE_DATE_CHARS && is_bare_date(&b.text) {
        return false;
    }
    if b.chars < 200 && is_call_to_follow(&b.text) {
        return false;
    }
    if b.chars < 60 && is_byline(&b.text) {
        return false;
    }
    true
}

/// A byline on its own: "By Jane Doe", "Par Jacques Munier", "Von Anna Schmidt", "Автор: Іван
/// Петренко" — a lead word and a name, no sentence.
fn is_byline(s: &str) -> bool {
    const LEADS: [&str; 12] = [
        "by",
        "par",
        "von",
        "por",
        "di",
        "door",
        "przez",
        "автор",
        "автор:",
        "від",
        "author:",
        "autor:",
    ];
    let t = s.trim();
    if ends_sentence(t) {
        return false;
    }
    let mut words = t.split_whitespace();
    let Some(first) = words.next() else {
        return false;
    };
    let rest: Vec<&str> = words.collect();
    LEADS.contains(&first.to_lowercase().as_str())
        && (1..=5).contains(&rest.len())
        && rest.iter().all(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_uppercase() || !c.is_alphabetic())
                || *w == "and"
                || *w == "et"
                || *w == "und"
                || *w == "y"
                || *w == "i"
        })
}

/// The line under many Ukrainian and Russian articles asking readers to follow the outlet
/// ("Підписуйтесь на наш Telegram-канал …"), and tag lists ("Теги: …").
fn is_call_to_follow(s: &str) -> bool {
    const LEADS: [&str; 12] = [
        "підписуйтесь на",
        "підписуйтеся на",
        "підпишіться на",
        "подписывайтесь на",
        "подпишитесь на",
        "follow us on",
        "subscribe to our",
        "теги:",
        "теги ",
        "тэги:",
        "мітки:",
        "tags:",
    ];
    let t = s.trim_start().to_lowercase();
    LEADS.iter().any(|l| t.starts_with(l))
}

/// A byline's date line ("Опубліковано 3 березня 2024 року о 11:00 · Читати 4 хв", "Updated
/// 16 Oct 2018, 17:07"): the date is metadata, not article text.
fn is_dateline(s: &str) -> bool {
    const LEADS: [&str; 12] = [
        "опубліковано",
        "оновлено",
        "дата публікації",
        "опубликовано",
        "обновлено",
        "дата публикации",
        "published",
        "updated",
        "posted",
        "last updated",
        "first published",
        "publié",
    ];
    let t = s.trim_start().to_lowercase();
    LEADS.iter().any(|l| {
        t.strip_prefix(l)
            .is_some_and(|rest| rest.starts_with([' ', ':', '\u{a0}']) || rest.is_empty())
    }) && t.chars().any(|c| c.is_ascii_digit())
}

fn is_stock_phrase(s: &str) -> bool {
    const PHRASES: &[&str] = &[
        "advertisement",
        "advertising",
        "sponsored",
        "share",
        "share this",
        "share this article",
        "share on facebook",
        "share on twitter",
        "tweet",
        "print",
        "email",
        "read more",
        "continue reading",
        "related",
        "related articles",
        "related stories",
        "see also",
        "loading",
        "loading...",
        "subscribe",
        "sign up",
        "log in",
        "comments",
        "leave a comment",
        "реклама",
        "читайте також",
        "читайте также",
        "читати далі",
        "читать далее",
        "подробнее",
        "детальніше",
        "поділитися",
        "поделиться",
        "коментарі",
        "комментарии",
        "іде завантаження...",
        "загрузка...",
        "по теме",
        // German, French, Spanish, Polish, Greek
        "mehr anzeigen",
        "weiterlesen",
        "mehr lesen",
        "lesen sie auch",
        "lire aussi",
        "a lire aussi",
        "à lire aussi",
        "lire la suite",
        "voir aussi",
        "leer más",
        "lee también",
        "ver también",
        "czytaj też",
        "czytaj także",
        "czytaj więcej",
        "zobacz też",
        "zobacz także",
        "διαβάστε επίσης",
        "δείτε επίσης",
        "διαβάστε περισσότερα",
        // Arabic, Hebrew
        "اقرأ أيضا",
        "اقرأ أيضاً",
        "اقرأ المزيد",
        "קראו עוד",
        "קרא עוד",
        "כתבות נוספות",
        // Korean, Chinese, Japanese
        "더보기",
        "관련기사",
        "관련 기사",
        "阅读更多",
        "相关阅读",
        "相关新闻",
        "続きを読む",
        "関連記事",
    ];
    let t = s
        .trim()
        .trim_end_matches([':', '.', '…', '»', '›', '：'])
        .trim()
        .to_lowercase();
    PHRASES.iter().any(|p| t == p.trim_end_matches(['.', '…']))
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn same_text(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

/// Ranks date-bearing `<meta>` keys: lower is more trustworthy.
fn date_meta_rank(key: &str) -> Option<u8> {
    Some(match key {
        "article:published_time" | "article:published" => 0,
        "og:published_time" | "og:article:published_time" | "published_time" => 1,
        "datepublished" => 2,
        "dc.date" | "dc.date.issued" | "dc.date.created" | "dcterms.date" | "dcterms.issued"
        | "dcterms.created" => 4,
        "pubdate"
        | "publishdate"
        | "publish-date"
        | "publish_date"
        | "date"
        | "sailthru.date"
        | "parsely-pub-date"
        | "article.published"
        | "pdate"
        | "article_date_original"
        | "cxenseparse:recs:publishtime" => 4,
        _ => return None,
    })
}

fn choose_date(meta: &Meta, ld: &JsonLd) -> Option<DateTime<Utc>> {
    let mut found: Vec<(u8, &str)> = meta
        .published
        .iter()
        .map(|(r, v)| (*r, v.as_str()))
        .collect();
    if let Some(d) = &ld.date_published {
        found.push((3, d.as_str()));
    }
    found.sort_by_key(|(r, _)| *r);
    found.into_iter().find_map(|(_, v)| parse_datetime(v))
}

fn choose_title(meta: &Meta, ld: &JsonLd) -> Option<String> {
    let h1 = Some(collapse(&meta.h1)).filter(|s| !s.is_empty());
    let page_title = Some(collapse(&meta.title)).filter(|s| !s.is_empty());
    let og = meta
        .og_title
        .as_deref()
        .map(collapse)
        .filter(|s| !s.is_empty());
    let tw = meta
        .twitter_title
        .as_deref()
        .map(collapse)
        .filter(|s| !s.is_empty());
    let headline = ld
        .headline
        .as_deref()
        .map(collapse)
        .filter(|s| !s.is_empty());
    let sources = [og, tw, headline, h1, page_title];
    let chosen = sources.iter().flatten().next()?.clone();
    let others: Vec<&str> = sources
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|s| *s != chosen)
        .collect();
    Some(strip_site_name(&chosen, &others, meta.site_name.as_deref()))
}

/// "Headline | Site" → "Headline" when another source gives just "Headline" or the site name is
/// known; also "Site — Headline".
fn strip_site_name(title: &str, others: &[&str], site: Option<&str>) -> String {
    const SEPARATORS: [&str; 7] = [" | ", " - ", " — ", " – ", " :: ", " · ", " » "];
    for sep in SEPARATORS {
        for (pos, _) in title.match_indices(sep) {
            let head = title[..pos].trim();
            let tail = title[pos + sep.len()..].trim();
            if head.is_empty() || tail.is_empty() {
                continue;
            }
            if others.iter().any(|o| same_text(o, head)) || site.is_some_and(|s| same_text(s, tail))
            {
                return head.to_owned();
            }
            if others.iter().any(|o| same_text(o, tail)) || site.is_some_and(|s| same_text(s, head))
            {
                return tail.to_owned();
            }
        }
    }
    title.to_owned()
}

/// What the page's JSON-LD says about its article.
#[derive(Default)]
struct JsonLd {
    headline: Option<String>,
    date_published: Option<String>,
    author: Option<String>,
}

impl JsonLd {
    fn parse(scripts: &[String]) -> JsonLd {
        let mut out = JsonLd::default();
        for s in scripts {
            // Some sites put a trailing comma or several objects in one script; what does not
            // parse is skipped, not repaired.
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(s.trim().trim_end_matches(';'))
            {
                out.visit(&v, 0);
            }
        }
        out
    }

    fn visit(&mut self, v: &serde_json::Value, depth: usize) {
        if depth > 8 {
            return;
        }
        match v {
            serde_json::Value::Array(items) => {
                for item in items {
                    self.visit(item, depth + 1);
                }
            }
            serde_json::Value::Object(o) => {
                if is_article_type(o.get("@type")) {
                    if self.headline.is_none() {
                        self.headline = o
                            .get("headline")
                            .or_else(|| o.get("name"))
                            .and_then(str_value);
                    }
                    if self.date_published.is_none() {
                        self.date_published = o
                            .get("datePublished")
                            .or_else(|| o.get("dateCreated"))
                            .and_then(str_value);
                    }
                    if self.author.is_none() {
                        self.author = o.get("author").and_then(author_names);
                    }
                }
                for key in ["@graph", "mainEntity", "mainEntityOfPage"] {
                    if let Some(inner) = o.get(key)
                        && (inner.is_array() || inner.is_object())
                    {
                        self.visit(inner, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }
}

fn is_article_type(t: Option<&serde_json::Value>) -> bool {
    let is_article = |s: &str| {
        s.ends_with("Article")
            || matches!(
                s,
                "BlogPosting"
                    | "LiveBlogPosting"
                    | "SocialMediaPosting"
                    | "Report"
                    | "DiscussionForumPosting"
            )
    };
    match t {
        Some(serde_json::Value::String(s)) => is_article(s),
        Some(serde_json::Value::Array(a)) => a.iter().any(|x| x.as_str().is_some_and(is_article)),
        _ => false,
    }
}

fn str_value(v: &serde_json::Value) -> Option<String> {
    v.as_str().map(collapse).filter(|s| !s.is_empty())
}

fn author_names(v: &serde_json::Value) -> Option<String> {
    let name = |x: &serde_json::Value| -> Option<String> {
        match x {
            serde_json::Value::String(s) => {
                Some(collapse(s)).filter(|s| !s.is_empty() && !looks_like_url(s))
            }
            serde_json::Value::Object(o) => o.get("name").and_then(str_value),
            _ => None,
        }
    };
    match v {
        serde_json::Value::Array(items) => {
            let names: Vec<String> = items.iter().filter_map(name).collect();
            (!names.is_empty()).then(|| names.join(", "))
        }
        other => name(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 15, 12, 0, 0).unwrap()
    }

    const PARA1: &str = "Президент України провів відеоконференцію з представниками компанії, на якій \
                         обговорили цифровізацію, електронні послуги та протидію дезінформації.";
    const PARA2: &str = "The minister stressed that the integrity of elections is a shared challenge, \
                         and that hybrid threats require practical cooperation, new laws and resolve.";
    const PARA3: &str = "Третій абзац статті теж достатньо довгий, щоб бути частиною основного тексту, \
                         а не меню, реклами чи підпису до фото.";

    fn article_page(head: &str, extra_body: &str) -> String {
        format!(
            "<!DOCTYPE html><html lang=\"uk\"><head>{head}</head><body>\
             <nav><ul><li><a href=\"/\">Головна</a></li><li><a href=\"/news\">Новини</a></li></ul></nav>\
             <div class=\"cookie-banner\">We use cookies to improve your experience. Accept all cookies?</div>\
             <div id=\"wrapper\"><div class=\"article-body\">\
             <h1>Заголовок статті</h1>\
             <p>{PARA1}</p><p>{PARA2} <a href=\"https://example.org/src?utm_source=x\">source</a></p>\
             <div class=\"share-buttons\"><a href=\"https://facebook.com/share\">Facebook</a> 12 shares</div>\
             <p>{PARA3}</p>{extra_body}</div>\
             <aside><h3>Related</h3><ul><li><a href=\"/a\">Another story about something else</a></li></ul></aside>\
             <div id=\"comments\"><p>Great article, thanks a lot for writing this, I really enjoyed reading it!</p></div>\
             </div><footer><p>© 2024 Example Media. All rights reserved. Contact us for anything.</p></footer>\
             </body></html>"
        )
    }

    #[test]
    fn main_text_without_boilerplate() {
        let e = extract(
            &article_page("<title>Заголовок статті | Сайт</title>", ""),
            now(),
        );
        assert_eq!(e.text, format!("{PARA1}\n\n{PARA2} source\n\n{PARA3}"));
        assert_eq!(
            e.links,
            vec!["https://example.org/src?utm_source=x".to_string()]
        );
        assert_eq!(e.title.as_deref(), Some("Заголовок статті"));
        assert_eq!(e.language_hint.as_deref(), Some("uk"));
    }

    #[test]
    fn dateline_is_metadata_not_text() {
        let page = article_page(
            "",
            "<p class=\"meta\">Опубліковано 16 жовтня 2018 року о 17:07 · Читати 4 хв</p>",
        );
        let e = extract(&page, now());
        assert_eq!(e.text, format!("{PARA1}\n\n{PARA2} source\n\n{PARA3}"));
        assert_eq!(
            e.published_at.map(|t| t.to_rfc3339()),
            Some("2018-10-16T14:07:00+00:00".to_string())
        );
        assert!(is_call_to_follow(
            "Підписуйтесь на наш Telegram-канал, щоб першими знати новини"
        ));
        assert!(!is_call_to_follow("Підписання угоди відбулося вчора"));
        // A paragraph that merely starts with the word stays.
        assert!(!is_dateline("Published reports say nothing"));
        assert!(is_dateline(
            "Updated 10:01 pm PST, Tuesday, November 19, 2019"
        ));
    }

    #[test]
    fn metadata_from_meta_tags() {
        let head = "<title>Ignored | Site</title>\
            <meta property=\"og:title\" content=\"OG headline\">\
            <meta name=\"author\" content=\"Іван Франко\">\
            <meta property=\"article:published_time\" content=\"2018-10-16T17:07:00+03:00\">\
            <link rel=\"canonical\" href=\"https://example.com/a/1\">\
            <meta property=\"og:url\" content=\"https://example.com/og\">";
        let e = extract(&article_page(head, ""), now());
        assert_eq!(e.title.as_deref(), Some("OG headline"));
        assert_eq!(e.author.as_deref(), Some("Іван Франко"));
        assert_eq!(
            e.published_at,
            Some(Utc.with_ymd_and_hms(2018, 10, 16, 14, 7, 0).unwrap())
        );
        assert_eq!(e.canonical_url.as_deref(), Some("https://example.com/a/1"));
    }

    #[test]
    fn metadata_fallbacks() {
        let head = "<meta property=\"og:url\" content=\"https://example.com/og\">\
            <meta property=\"og:locale\" content=\"ru_RU\">\
            <meta name=\"twitter:title\" content=\"Twitter headline - Site\">\
            <meta property=\"og:site_name\" content=\"Site\">\
            <meta property=\"article:author\" content=\"https://facebook.com/someone\">\
            <meta name=\"DC.date\" content=\"2019-01-02\">";
        let html = article_page(head, "").replace("<html lang=\"uk\">", "<html>");
        let e = extract(&html, now());
        assert_eq!(e.title.as_deref(), Some("Twitter headline"));
        assert_eq!(e.canonical_url.as_deref(), Some("https://example.com/og"));
        assert_eq!(e.language_hint.as_deref(), Some("ru_RU"));
        assert_eq!(e.author, None);
        assert_eq!(
            e.published_at,
            Some(Utc.with_ymd_and_hms(2019, 1, 1, 22, 0, 0).unwrap())
        );
    }

    #[test]
    fn metadata_from_json_ld() {
        let head = r#"<script type="application/ld+json">
            {"@context":"https://schema.org","@graph":[{"@type":"WebSite","name":"Site"},
             {"@type":"NewsArticle","headline":"LD headline","datePublished":"2020-05-01T10:00:00Z",
              "author":[{"@type":"Person","name":"Anna"},{"@type":"Person","name":"Petro"}]}]}
            </script><title>LD headline — Site</title>"#;
        let e = extract(&article_page(head, ""), now());
        assert_eq!(e.title.as_deref(), Some("LD headline"));
        assert_eq!(e.author.as_deref(), Some("Anna, Petro"));
        assert_eq!(
            e.published_at,
            Some(Utc.with_ymd_and_hms(2020, 5, 1, 10, 0, 0).unwrap())
        );
        let head = r#"<script type="application/ld+json">{"@type":["Article"],"author":{"name":"Olena"},
            "datePublished":"2020-05-01"}</script>"#;
        assert_eq!(
            extract(&article_page(head, ""), now()).author.as_deref(),
            Some("Olena")
        );
        let head =
            r#"<script type="application/ld+json">{"@type":"Article","author":"Taras"}</script>"#;
        assert_eq!(
            extract(&article_page(head, ""), now()).author.as_deref(),
            Some("Taras")
        );
    }

    #[test]
    fn metadata_from_body() {
        let body = "<p class=\"byline\">By <a rel=\"author\" href=\"/u/1\">Mykola  Khvylovy</a></p>\
                    <time datetime=\"2021-07-01T09:30:00Z\">1 July</time>\
                    <span itemprop=\"datePublished\" content=\"2021-06-30T09:30:00Z\"></span>";
        let e = extract(
            &article_page("<title>Заголовок статті</title>", body),
            now(),
        );
        assert_eq!(e.author.as_deref(), Some("Mykola Khvylovy"));
        assert_eq!(
            e.published_at,
            Some(Utc.with_ymd_and_hms(2021, 6, 30, 9, 30, 0).unwrap())
        );
        assert!(!e.text.contains("Khvylovy"), "{}", e.text);
        let body = "<time datetime=\"2021-07-01T09:30:00Z\">1 July</time>";
        let e = extract(&article_page("", body), now());
        assert_eq!(
            e.published_at,
            Some(Utc.with_ymd_and_hms(2021, 7, 1, 9, 30, 0).unwrap())
        );
        assert_eq!(e.title.as_deref(), Some("Заголовок статті"));
    }

    #[test]
    fn date_from_text_when_no_metadata() {
        let html = format!(
            "<html><body><article><p>Опубліковано 16 жовтня 2018 року о 17:07</p><p>{PARA1}</p><p>{PARA2}</p></article></body></html>"
        );
        let e = extract(&html, now());
        assert_eq!(
            e.published_at,
            Some(Utc.with_ymd_and_hms(2018, 10, 16, 14, 7, 0).unwrap())
        );
    }

    #[test]
    fn entities_and_whitespace() {
        let html = format!(
            "<article><p>Tom&nbsp;&amp;&#32;Jerry &lt;3 &quot;cartoons&quot; &#x44F; &mdash;   and\n\n more &copy; text, which is long enough to be kept here.</p><p>{PARA1}</p></article>"
        );
        let e = extract(&html, now());
        assert!(
            e.text
                .starts_with("Tom & Jerry <3 \"cartoons\" я — and more © text,"),
            "{}",
            e.text
        );
    }

    #[test]
    fn scripts_styles_and_comments_are_not_text() {
        let html = format!(
            "<body><script>var x = '<p>not text</p>'; if (a < b) {{}}</script><style>p {{ color: red }}</style>\
             <!-- <p>commented out</p> --><noscript>Enable JavaScript</noscript><template><p>tpl</p></template>\
             <article><p>{PARA1}</p><svg><text>svg text</text></svg><p>{PARA2}</p></article></body>"
        );
        let e = extract(&html, now());
        assert_eq!(e.text, format!("{PARA1}\n\n{PARA2}"));
    }

    #[test]
    fn unclosed_and_misnested_tags() {
        let html = format!(
            "<html><body><div class=content><p>{PARA1}<p>{PARA2}<b><i>{PARA3}</b></i><ul><li>Перший пункт списку<li>Другий пункт</ul></div></span></p></div></body>"
        );
        let e = extract(&html, now());
        assert!(
            e.text.contains(PARA1) && e.text.contains(PARA2) && e.text.contains(PARA3),
            "{}",
            e.text
        );
        assert!(
            e.text.contains("\n\nПерший пункт списку\n\nДругий пункт"),
            "{}",
            e.text
        );
        // Only junk, no article: nothing panics.
        for junk in [
            "",
            "<",
            "</",
            "<<<>>>",
            "</div></div></p>",
            "<p",
            "<a href='x",
            "&#xFFFFFF;",
            "<![CDATA[x]]>",
        ] {
            let _ = extract(junk, now());
        }
    }

    #[test]
    fn br_splits_paragraphs_in_div_text() {
        let html = format!(
            "<body><div class=\"post-text\">{PARA1}<br><br>{PARA2}<br/>{PARA3}</div></body>"
        );
        let e = extract(&html, now());
        assert_eq!(e.text, format!("{PARA1}\n\n{PARA2}\n\n{PARA3}"));
    }

    #[test]
    fn deep_nesting_is_cheap() {
        let n = 100_000;
        let mut html = String::with_capacity(n * 12);
        html.push_str("<html><body>");
        for _ in 0..n {
            html.push_str("<div>");
        }
        html.push_str(PARA1);
        for _ in 0..n {
            html.push_str("</div>");
        }
        html.push_str(&format!("<p>{PARA2}</p></body></html>"));
        let start = std::time::Instant::now();
        let e = extract(&html, now());
        assert!(start.elapsed().as_secs() < 10);
        assert!(e.text.contains(PARA2) || e.text.contains(PARA1));
        // Unclosed nesting and stray end tags.
        let mut html = String::new();
        for _ in 0..n {
            html.push_str("<span><div><a>x");
        }
        for _ in 0..n {
            html.push_str("</p></td>");
        }
        let _ = extract(&html, now());
    }

    #[test]
    fn page_without_containers_falls_back() {
        let e = extract(&format!("{PARA1}\n\n{PARA2}"), now());
        assert!(e.text.contains("Президент"), "{}", e.text);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "(<[a-z/!]{0,3}[ a-z=\"']{0,6}>|[a-zа-я ,.&;#]{0,12}){0,40}") {
            let _ = extract(&s, now());
        }
    }

    #[test]
    fn fragment_keeps_all_text() {
        let t = super::fragment_text(
            "<p>Перший &amp; абзац</p><p>Другий <a href=\"/x\">лінк</a></p><script>x()</script>",
        );
        assert_eq!(t, "Перший & абзац\n\nДругий лінк");
    }
}
