//! Links, hashtags and mentions: finding them in text and normalizing them.
//!
//! Coordination detectors compare links across accounts, so two shares of one article must become one
//! string whatever tracking parameters, fragments or host case each sharer's client added.

use url::Url;

/// Query parameters that identify the sharer or the campaign tool, not the page.
fn is_tracking_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_")
        || matches!(
            n.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "yclid"
                | "msclkid"
                | "igshid"
                | "mc_cid"
                | "mc_eid"
                | "_hsenc"
                | "_hsmi"
                | "si"
        )
}

/// Normalizes an http(s) URL for comparison: lower-case host, no default port, no fragment, no
/// tracking parameters (`utm_*`, `fbclid`, `gclid`, …), no trailing slash on the path. A bare
/// `www.example.com/…` gets `https://`. Returns `None` for anything that is not an http(s) URL.
pub fn normalize_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let parsed = match Url::parse(raw) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) if raw.starts_with("www.") => {
            Url::parse(&format!("https://{raw}")).ok()?
        }
        Err(_) => return None,
    };
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return None;
    }
    let mut u = parsed;
    u.set_fragment(None);
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| !is_tracking_param(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    let path = u.path().to_string();
    if path.len() > 1 && path.ends_with('/') {
        u.set_path(path.trim_end_matches('/'));
    }
    let mut s = String::from(u);
    // `Url` always writes a root path; "https://example.com/" and "https://example.com" are one page.
    if u_has_root_only(&s) {
        s.pop();
    }
    Some(s)
}

fn u_has_root_only(s: &str) -> bool {
    s.ends_with('/') && s.matches('/').count() == 3
}

/// Characters that end a URL written in running text.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '<' | '>' | '"' | '«' | '»' | '“' | '”' | '\u{3000}')
}

/// Finds `http://`, `https://` and `www.` links written in running text, trimming the punctuation
/// that usually follows them in prose.
pub fn find_urls(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let starts = rest.starts_with("http://")
            || rest.starts_with("https://")
            || ((rest.starts_with("www.") || rest.starts_with("WWW."))
                && (i == 0 || !is_word_byte(bytes[i - 1])));
        if !starts {
            i += next_char_len(rest);
            continue;
        }
        let end = rest.find(ends_url).unwrap_or(rest.len());
        let mut cand = &rest[..end];
        loop {
            let trimmed = cand.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '…']);
            let trimmed = if trimmed.ends_with(')') && !trimmed.contains('(') {
                &trimmed[..trimmed.len() - 1]
            } else {
                trimmed
            };
            if trimmed.len() == cand.len() {
                break;
            }
            cand = trimmed;
        }
        if cand.len() > "https://".len() {
            out.push(cand);
        }
        i += end.max(1);
    }
    out
}

fn next_char_len(s: &str) -> usize {
    s.chars().next().map_or(1, char::len_utf8)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'/' || b == b'.'
}

fn is_tag_char(c: char) -> bool {
    crate::fold::is_alnum(c) || c == '_'
}

/// Words that follow `sigil` (`#` for hashtags, `@` for mentions) at a word start, lower-cased,
/// in order, without repeats.
fn find_tagged(text: &str, sigil: char) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let at_word_start =
            prev.is_none_or(|p| !(is_tag_char(p) || p == sigil || p == '/' || p == '&'));
        prev = Some(c);
        if c != sigil || !at_word_start {
            continue;
        }
        let start = i + c.len_utf8();
        let mut end = start;
        while let Some(&(j, d)) = it.peek() {
            if !is_tag_char(d) {
                break;
            }
            end = j + d.len_utf8();
            prev = Some(d);
            it.next();
        }
        let tag = &text[start..end];
        // "#1" is a numbering, not a hashtag; a tag needs a letter.
        if tag.chars().any(crate::fold::is_alpha) {
            let tag = tag.to_lowercase();
            if !out.contains(&tag) {
                out.push(tag);
            }
        }
    }
    out
}

/// Hashtags in `text`, without `#`, lower-cased, in order, without repeats.
pub fn find_hashtags(text: &str) -> Vec<String> {
    find_tagged(text, '#')
}

/// Mentions (`@handle`) in `text`, without `@`, lower-cased, in order, without repeats.
/// E-mail addresses are not mentions.
pub fn find_mentions(text: &str) -> Vec<String> {
    find_tagged(text, '@')
}

/// Normalizes every link and keeps the first of each, in order.
pub fn normalize_all<'a>(links: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in links {
        if let Some(n) = normalize_url(l)
            && !out.contains(&n)
        {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalizes_tracking_case_fragment_slash() {
        assert_eq!(
            normalize_url("HTTPS://News.Example.COM:443/a/b/?utm_source=tg&id=5&fbclid=x#top")
                .as_deref(),
            Some("https://news.example.com/a/b?id=5")
        );
        assert_eq!(
            normalize_url("https://example.com/").as_deref(),
            Some("https://example.com")
        );
        assert_eq!(
            normalize_url("https://example.com").as_deref(),
            Some("https://example.com")
        );
        assert_eq!(
            normalize_url("www.example.com/x/").as_deref(),
            Some("https://www.example.com/x")
        );
        assert_eq!(normalize_url("ftp://example.com/x"), None);
        assert_eq!(normalize_url("javascript:alert(1)"), None);
        assert_eq!(normalize_url("not a url"), None);
    }

    #[test]
    fn finds_urls_in_prose() {
        let t = "Дивіться (https://a.example/x?utm_medium=1), також www.b.example/y. І http://c.example/z…";
        assert_eq!(
            find_urls(t),
            [
                "https://a.example/x?utm_medium=1",
                "www.b.example/y",
                "http://c.example/z"
            ]
        );
        assert_eq!(find_urls("«https://d.example/п»"), ["https://d.example/п"]);
    }

    #[test]
    fn hashtags_and_mentions() {
        let t = "#Вибори2024 і #вибори2024 @NewsUA mail@example.com #1 #stop_fake";
        assert_eq!(find_hashtags(t), ["вибори2024", "stop_fake"]);
        assert_eq!(find_mentions(t), ["newsua"]);
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent(s in "(https?://)?[a-zA-Z0-9./?=&#_%-]{0,40}") {
            if let Some(n) = normalize_url(&s) {
                prop_assert_eq!(normalize_url(&n), Some(n.clone()));
            }
        }

        #[test]
        fn finders_never_panic(s in "\\PC{0,80}") {
            let _ = find_urls(&s);
            let _ = find_hashtags(&s);
            let _ = find_mentions(&s);
        }
    }
}
