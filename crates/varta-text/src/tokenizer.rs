//! A fast HTML tokenizer for text extraction: tags, attributes, text and raw-text elements.
//!
//! Extraction spends most of its time turning bytes into tokens, and html5ever's tokenizer (a
//! character-at-a-time state machine over tendrils) tops out near 1,000 pages a second. Extraction
//! needs much less than the full HTML5 tokenizer: start and end tags with the few attributes it
//! reads, text with character references decoded, comments and doctypes skipped, and the contents
//! of `script`, `style`, `title` and the like taken verbatim up to their end tag. This does that by
//! jumping between `<` and `&` with `memchr` and lending slices of the input wherever no
//! reference needs decoding, following the HTML5 tokenizer where it matters for text (a `<` not
//! followed by a letter is text; an unterminated tag at the end is dropped; references without a
//! semicolon; numeric references with the C1 and invalid code point rules).
//!
//! Names come out as html5ever atoms, so the extractor matches them with `local_name!` as before.

use html5ever::{LocalName, local_name};
use std::borrow::Cow;

/// How the text of an element is read until its end tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Raw {
    /// `script`, `style`, `iframe`, …: verbatim.
    Text,
    /// `title`, `textarea`: character references decoded.
    Rcdata,
}

/// One attribute the extractor reads (see [`kept_attribute`]); the value is borrowed from the
/// page unless a character reference had to be decoded.
pub(crate) struct Attr<'a> {
    pub name: LocalName,
    pub value: Cow<'a, str>,
}

/// A start tag.
pub(crate) struct Tag<'a> {
    pub name: LocalName,
    pub self_closing: bool,
    pub attrs: Vec<Attr<'a>>,
}

/// What the tokenizer reports, in document order.
pub(crate) trait Handler {
    /// A start tag; returning `Some` reads the element's content as raw text up to its end tag.
    fn start_tag(&mut self, tag: &Tag<'_>) -> Option<Raw>;
    fn end_tag(&mut self, name: &LocalName);
    /// Text, possibly in several pieces.
    fn text(&mut self, text: &str);
}

/// Longest tag or attribute name looked up; longer ones are kept as they are (tags) or skipped.
const MAX_NAME: usize = 64;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Runs the tokenizer over `html`, reporting to `h`.
pub(crate) fn tokenize(html: &str, h: &mut impl Handler) {
    let mut t = Tokenizer {
        src: html,
        bytes: html.as_bytes(),
        pos: 0,
        scratch: String::new(),
        attrs: Vec::new(),
    };
    t.run(h);
}

struct Tokenizer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    scratch: String,
    attrs: Vec<Attr<'a>>,
}

impl<'a> Tokenizer<'a> {
    fn run(&mut self, h: &mut impl Handler) {
        let n = self.bytes.len();
        while self.pos < n {
            let lt = memchr::memchr(b'<', &self.bytes[self.pos..]).map_or(n, |i| self.pos + i);
            if lt > self.pos {
                self.emit_text(self.pos, lt, true, h);
            }
            if lt >= n {
                break;
            }
            self.pos = lt;
            self.markup(h);
        }
    }

    /// Text between `start` and `end` (both at char boundaries), references decoded if `decode`.
    fn emit_text(&mut self, start: usize, end: usize, decode: bool, h: &mut impl Handler) {
        let seg = &self.src[start..end];
        if !decode || memchr::memchr2(b'&', 0, seg.as_bytes()).is_none() {
            h.text(seg);
            return;
        }
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        decode_into(seg, false, &mut out);
        h.text(&out);
        self.scratch = out;
    }

    /// At a `<`: a tag, an end tag, a comment or doctype, or a plain `<` in text.
    fn markup(&mut self, h: &mut impl Handler) {
        let b = self.bytes;
        let next = b.get(self.pos + 1).copied();
        match next {
            Some(c) if c.is_ascii_alphabetic() => self.start_tag(h),
            Some(b'/') => match b.get(self.pos + 2).copied() {
                Some(c) if c.is_ascii_alphabetic() => self.end_tag(h),
                Some(b'>') => self.pos += 3,
                Some(_) => self.skip_to_gt(self.pos + 2),
                None => self.pos = b.len(),
            },
            Some(b'!') => {
                if b[self.pos..].starts_with(b"<!--") {
                    self.comment();
                } else {
                    self.skip_to_gt(self.pos + 2);
                }
            }
            Some(b'?') => self.skip_to_gt(self.pos + 2),
            _ => {
                h.text("<");
                self.pos += 1;
            }
        }
    }

    /// A bogus comment or doctype: everything up to the next `>`.
    fn skip_to_gt(&mut self, from: usize) {
        self.pos =
            memchr::memchr(b'>', &self.bytes[from..]).map_or(self.bytes.len(), |i| from + i + 1);
    }

    fn comment(&mut self) {
        let body = self.pos + 4;
        let b = self.bytes;
        // `<!-->` and `<!--->` are complete (empty) comments.
        if b.get(body) == Some(&b'>') {
            self.pos = body + 1;
            return;
        }
        if b.get(body) == Some(&b'-') && b.get(body + 1) == Some(&b'>') {
            self.pos = body + 2;
            return;
        }
        let mut from = body;
        loop {
            match memchr::memchr(b'>', &b[from..]) {
                None => {
                    self.pos = b.len();
                    return;
                }
                Some(i) => {
                    let gt = from + i;
                    if gt >= body + 2
                        && (&b[gt - 2..gt] == b"--" || (gt >= body + 3 && &b[gt - 3..gt] == b"--!"))
                    {
                        self.pos = gt + 1;
                        return;
                    }
                    from = gt + 1;
                }
            }
        }
    }

    /// Reads a tag name starting at `start`; returns it lower-cased and the position after it.
    fn name_at(&self, start: usize) -> (LocalName, usize) {
        let b = self.bytes;
        let mut end = start;
        while end < b.len() && !is_space(b[end]) && b[end] != b'/' && b[end] != b'>' {
            end += 1;
        }
        (atom(&self.src[start..end]), end)
    }

    fn start_tag(&mut self, h: &mut impl Handler) {
        let (name, mut p) = self.name_at(self.pos + 1);
        let mut attrs = std::mem::take(&mut self.attrs);
        attrs.clear();
        let Some((end, self_closing)) = self.attributes(&mut p, Some(&mut attrs)) else {
            // End of input inside a tag: the tag is dropped, as browsers do.
            self.pos = self.bytes.len();
            self.attrs = attrs;
            return;
        };
        self.pos = end;
        let tag = Tag {
            name,
            self_closing,
            attrs,
        };
        let raw = h.start_tag(&tag);
        let Tag { name, attrs, .. } = tag;
        self.attrs = attrs;
        if let Some(kind) = raw {
            self.raw_text(&name, kind, h);
        }
    }

    fn end_tag(&mut self, h: &mut impl Handler) {
        let (name, mut p) = self.name_at(self.pos + 2);
        match self.attributes(&mut p, None) {
            Some((end, _)) => {
                self.pos = end;
                h.end_tag(&name);
            }
            None => self.pos = self.bytes.len(),
        }
    }

    /// Parses attributes from `*p` to the closing `>`, keeping the ones the extractor reads when
    /// `keep` is given. Returns the position after `>` and whether the tag was self-closing, or
    /// `None` when the input ends first.
    fn attributes(
        &self,
        p: &mut usize,
        mut keep: Option<&mut Vec<Attr<'a>>>,
    ) -> Option<(usize, bool)> {
        let b = self.bytes;
        let n = b.len();
        let mut self_closing = false;
        loop {
            while *p < n && (is_space(b[*p]) || b[*p] == b'/') {
                self_closing = b[*p] == b'/';
                *p += 1;
            }
            if *p >= n {
                return None;
            }
            if b[*p] == b'>' {
                return Some((*p + 1, self_closing));
            }
            self_closing = false;
            // The name: a first `=` belongs to it, as in the HTML5 tokenizer.
            let name_start = *p;
            *p += 1;
            while *p < n && !is_space(b[*p]) && !matches!(b[*p], b'/' | b'>' | b'=') {
                *p += 1;
            }
            let name_end = *p;
            while *p < n && is_space(b[*p]) {
                *p += 1;
            }
            let mut value: Option<(usize, usize)> = None;
            if *p < n && b[*p] == b'=' {
                *p += 1;
                while *p < n && is_space(b[*p]) {
                    *p += 1;
                }
                if *p >= n {
                    return None;
                }
                match b[*p] {
                    q @ (b'"' | b'\'') => {
                        let start = *p + 1;
                        let close = memchr::memchr(q, &b[start..])? + start;
                        value = Some((start, close));
                        *p = close + 1;
                    }
                    b'>' => {}
                    _ => {
                        let start = *p;
                        while *p < n && !is_space(b[*p]) && b[*p] != b'>' {
                            *p += 1;
                        }
                        value = Some((start, *p));
                    }
                }
            }
            if let Some(list) = keep.as_deref_mut() {
                let raw_name = &self.src[name_start..name_end];
                if let Some(name) = kept_attribute(raw_name)
                    && !list.iter().any(|a| a.name == name)
                {
                    let value = match value {
                        None => Cow::Borrowed(""),
                        Some((s, e)) => {
                            let v = &self.src[s..e];
                            if v.as_bytes().contains(&b'&') {
                                let mut out = String::with_capacity(v.len());
                                decode_into(v, true, &mut out);
                                Cow::Owned(out)
                            } else {
                                Cow::Borrowed(v)
                            }
                        }
                    };
                    list.push(Attr { name, value });
                }
            }
        }
    }

    /// The content of a raw-text element up to `</name` (any case) followed by a space, `/` or
    /// `>`; the end tag itself is then read as usual. Without one, the rest of the input is text.
    fn raw_text(&mut self, name: &LocalName, kind: Raw, h: &mut impl Handler) {
        let b = self.bytes;
        let start = self.pos;
        let name_b = name.as_bytes();
        let mut from = start;
        let end = loop {
            let Some(i) = memchr::memchr(b'<', &b[from..]) else {
                break b.len();
            };
            let lt = from + i;
            let after = lt + 2 + name_b.len();
            if b.get(lt + 1) == Some(&b'/')
                && after <= b.len()
                && b[lt + 2..after].eq_ignore_ascii_case(name_b)
                && b.get(after)
                    .is_none_or(|&c| is_space(c) || c == b'/' || c == b'>')
            {
                break lt;
            }
            from = lt + 1;
        };
        if end > start {
            self.emit_text(start, end, kind == Raw::Rcdata, h);
        }
        self.pos = end;
    }
}

/// A tag name as an atom, lower-cased (without allocating when it already is).
fn atom(raw: &str) -> LocalName {
    if raw.bytes().any(|c| c.is_ascii_uppercase()) {
        LocalName::from(raw.to_ascii_lowercase())
    } else {
        LocalName::from(raw)
    }
}

/// The attributes the extractor looks at, as atoms; the others are skipped without being stored,
/// so an attribute-heavy page costs no allocations for them.
fn kept_attribute(raw: &str) -> Option<LocalName> {
    if raw.len() > MAX_NAME {
        return None;
    }
    let mut buf = [0u8; MAX_NAME];
    let lower = &mut buf[..raw.len()];
    lower.copy_from_slice(raw.as_bytes());
    lower.make_ascii_lowercase();
    Some(match &*lower {
        b"class" => local_name!("class"),
        b"id" => local_name!("id"),
        b"name" => local_name!("name"),
        b"itemprop" => local_name!("itemprop"),
        b"role" => local_name!("role"),
        b"hidden" => local_name!("hidden"),
        b"aria-hidden" => local_name!("aria-hidden"),
        b"style" => local_name!("style"),
        b"content" => local_name!("content"),
        b"property" => local_name!("property"),
        b"rel" => local_name!("rel"),
        b"href" => local_name!("href"),
        b"datetime" => local_name!("datetime"),
        b"pubdate" => LocalName::from("pubdate"),
        b"lang" => local_name!("lang"),
        b"type" => local_name!("type"),
        _ => return None,
    })
}

/// Decodes character references in `s` into `out`. In attribute values (`in_attr`), a named
/// reference without its semicolon followed by `=` or a letter or digit is left as written.
fn decode_into(s: &str, in_attr: bool, out: &mut String) {
    let b = s.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while let Some(off) = memchr::memchr2(b'&', 0, &b[i..]) {
        let at = i + off;
        out.push_str(&s[last..at]);
        if b[at] == 0 {
            // NUL in text is dropped, as browsers do.
            last = at + 1;
            i = at + 1;
            continue;
        }
        match reference(&s[at + 1..], in_attr) {
            Some((len, c1, c2)) => {
                out.push(c1);
                if let Some(c2) = c2 {
                    out.push(c2);
                }
                last = at + 1 + len;
            }
            None => {
                out.push('&');
                last = at + 1;
            }
        }
        i = last;
    }
    out.push_str(&s[last..]);
}

/// The reference after an `&`: how many bytes it takes and the characters it stands for.
fn reference(s: &str, in_attr: bool) -> Option<(usize, char, Option<char>)> {
    let b = s.as_bytes();
    if b.first() == Some(&b'#') {
        return numeric_reference(b);
    }
    // Named: the longest name in the table, which also holds the semicolon-less legacy names.
    let table = &html5ever::data::NAMED_ENTITIES;
    let mut best: Option<(usize, (u32, u32))> = None;
    let mut len = 0;
    while len < b.len() && len < 40 {
        let c = b[len];
        if !(c.is_ascii_alphanumeric() || c == b';') {
            break;
        }
        len += 1;
        match table.get(&s[..len]) {
            Some(&(0, _)) => {}
            Some(&v) => best = Some((len, v)),
            None => break,
        }
        if c == b';' {
            break;
        }
    }
    let (len, (c1, c2)) = best?;
    if in_attr
        && b[len - 1] != b';'
        && b.get(len)
            .is_some_and(|&c| c == b'=' || c.is_ascii_alphanumeric())
    {
        return None;
    }
    let c1 = char::from_u32(c1)?;
    let c2 = if c2 == 0 { None } else { char::from_u32(c2) };
    Some((len, c1, c2))
}

fn numeric_reference(b: &[u8]) -> Option<(usize, char, Option<char>)> {
    let (hex, digits_start) = match b.get(1) {
        Some(b'x' | b'X') => (true, 2),
        _ => (false, 1),
    };
    let mut i = digits_start;
    let mut value: u32 = 0;
    while i < b.len() {
        let d = match (b[i] as char).to_digit(if hex { 16 } else { 10 }) {
            Some(d) => d,
            None => break,
        };
        value = value
            .saturating_mul(if hex { 16 } else { 10 })
            .saturating_add(d);
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    if b.get(i) == Some(&b';') {
        i += 1;
    }
    let c = match value {
        0 | 0xD800..=0xDFFF => '\u{FFFD}',
        0x80..=0x9F => html5ever::data::C1_REPLACEMENTS[(value - 0x80) as usize]
            .unwrap_or_else(|| char::from_u32(value).unwrap_or('\u{FFFD}')),
        v => char::from_u32(v).unwrap_or('\u{FFFD}'),
    };
    Some((i, c, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Log(Vec<String>);

    impl Handler for Log {
        fn start_tag(&mut self, tag: &Tag<'_>) -> Option<Raw> {
            let attrs: Vec<String> = tag
                .attrs
                .iter()
                .map(|a| format!("{}={}", &*a.name, a.value))
                .collect();
            self.0.push(format!(
                "<{}{}{}>",
                &*tag.name,
                if attrs.is_empty() {
                    String::new()
                } else {
                    format!(" {}", attrs.join(" "))
                },
                if tag.self_closing { "/" } else { "" }
            ));
            match &*tag.name {
                "script" | "style" => Some(Raw::Text),
                "title" => Some(Raw::Rcdata),
                _ => None,
            }
        }
        fn end_tag(&mut self, name: &LocalName) {
            self.0.push(format!("</{}>", &**name));
        }
        fn text(&mut self, text: &str) {
            match self.0.last_mut() {
                Some(last) if last.starts_with('"') => {
                    last.pop();
                    last.push_str(text);
                    last.push('"');
                }
                _ => self.0.push(format!("\"{text}\"")),
            }
        }
    }

    fn log(html: &str) -> Vec<String> {
        let mut l = Log::default();
        tokenize(html, &mut l);
        l.0
    }

    #[test]
    fn tags_attributes_text() {
        assert_eq!(
            log(r#"<!DOCTYPE html><DIV Class="a b" data-x='1' id=main>Hi <b>there</b></DIV>"#),
            [
                "<div class=a b id=main>",
                "\"Hi \"",
                "<b>",
                "\"there\"",
                "</b>",
                "</div>"
            ]
        );
        assert_eq!(log("<br/><img src=x />"), ["<br/>", "<img/>"]);
    }

    #[test]
    fn references() {
        assert_eq!(
            log("a &amp; b &lt;c&gt; &#1058;&#x456; &copy &notit; &nbsp;"),
            ["\"a & b <c> Ті © ¬it; \u{a0}\""]
        );
        assert_eq!(
            log("&#0; &#x80; &#xD800; &#99999999; &unknown; &"),
            ["\"\u{FFFD} € \u{FFFD} \u{FFFD} &unknown; &\""]
        );
        assert_eq!(
            log(r#"<a href="?a=1&copy=2&amp;b=3">"#),
            ["<a href=?a=1&copy=2&b=3>"]
        );
    }

    #[test]
    fn raw_text_and_comments() {
        assert_eq!(
            log(
                "<script>if (a<b) { x = '</div>' }</script ><p>t</p><!-- <p>hidden</p> -->after<!---->x"
            ),
            [
                "<script>",
                "\"if (a<b) { x = '</div>' }\"",
                "</script>",
                "<p>",
                "\"t\"",
                "</p>",
                "\"afterx\""
            ]
        );
        assert_eq!(
            log("<title>A &amp; B</title>"),
            ["<title>", "\"A & B\"", "</title>"]
        );
        assert_eq!(log("<style>p{}"), ["<style>", "\"p{}\""]);
    }

    #[test]
    fn stray_and_broken_markup() {
        assert_eq!(log("1 < 2 <3 </ > x"), ["\"1 < 2 <3  x\""]);
        assert_eq!(log("a</>b"), ["\"ab\""]);
        assert_eq!(log("text<div class=\"unterminated"), ["\"text\""]);
        assert_eq!(log("<p>x</p"), ["<p>", "\"x\""]);
        assert_eq!(log("<?xml version='1.0'?>y"), ["\"y\""]);
    }

    #[test]
    fn non_ascii_is_kept_whole() {
        assert_eq!(
            log("<p title=\"ї\">Україна — так</p>"),
            ["<p>", "\"Україна — так\"", "</p>"]
        );
    }

    proptest::proptest! {
        /// Markup soup made of the characters the tokenizer branches on never panics, and text
        /// without any `<` or `&` comes out unchanged.
        #[test]
        fn never_panics(s in "[-<>/!?a-zA-Z0-9 \"'=&;#xї]{0,200}") {
            let _ = log(&s);
        }

        #[test]
        fn plain_text_passes_through(s in "[a-zа-яії .,!?\n]{1,200}") {
            let mut l = Log::default();
            tokenize(&s, &mut l);
            proptest::prop_assert_eq!(l.0, vec![format!("\"{s}\"")]);
        }
    }
}
