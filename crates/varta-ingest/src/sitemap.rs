//! Page listings: the `<loc>` URLs of a sitemap (`urlset`, Google News sitemaps) or a sitemap
//! index (`sitemapindex`), so that a watcher can fetch the pages a site lists as new.
//!
//! A sitemap is flat, machine-written XML; reading its `<loc>` elements by hand needs no XML
//! parser and cannot be made to expand entities or fetch anything.

/// What a sitemap lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sitemap {
    /// `true` for a sitemap index: its URLs are more sitemaps, not pages.
    pub is_index: bool,
    /// The `<loc>` URLs, in document order, at most `max` of them.
    pub urls: Vec<String>,
}

/// Reads the `<loc>` URLs of `xml`, keeping at most `max`. Only `http(s)` URLs are kept.
pub fn read(xml: &[u8], max: usize) -> Sitemap {
    let text = String::from_utf8_lossy(xml);
    let is_index = text.contains("<sitemapindex");
    let mut urls = Vec::new();
    let mut rest: &str = &text;
    while urls.len() < max {
        let Some(start) = rest.find("<loc>") else {
            break;
        };
        let after = &rest[start + 5..];
        let Some(end) = after.find("</loc>") else {
            break;
        };
        let raw = after[..end].trim();
        let raw = raw
            .strip_prefix("<![CDATA[")
            .and_then(|r| r.strip_suffix("]]>"))
            .unwrap_or(raw)
            .trim();
        let url = unescape(raw);
        let l = url.get(..8).unwrap_or(&url).to_ascii_lowercase();
        if l.starts_with("http://") || l.starts_with("https://") {
            urls.push(url);
        }
        rest = &after[end + 6..];
    }
    Sitemap { is_index, urls }
}

/// The five predefined XML entities (sitemaps must escape `&` in URLs).
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_news_sitemap_and_index() {
        let xml = br#"<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
 <url><loc>https://news.example/a?x=1&amp;y=2</loc><news:news><news:title>A</news:title></news:news></url>
 <url><loc> <![CDATA[https://news.example/b]]> </loc></url>
 <url><loc>javascript:alert(1)</loc></url>
 <url><loc>https://news.example/c</loc></url>
</urlset>"#;
        let s = read(xml, 10);
        assert!(!s.is_index);
        assert_eq!(
            s.urls,
            [
                "https://news.example/a?x=1&y=2",
                "https://news.example/b",
                "https://news.example/c"
            ]
        );
        assert_eq!(read(xml, 1).urls.len(), 1);
        let idx = read(
            b"<sitemapindex><sitemap><loc>https://x.example/s1.xml</loc></sitemap></sitemapindex>",
            10,
        );
        assert!(idx.is_index);
        assert_eq!(idx.urls, ["https://x.example/s1.xml"]);
        assert_eq!(read(b"<loc>unterminated", 10).urls.len(), 0);
    }
}
