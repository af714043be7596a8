//! Character encodings of pages and text files.
//!
//! Ukrainian and Russian sites still serve windows-1251 and KOI8-R, often with a wrong or missing
//! declaration, so a declared charset is a hint, not a fact: a page declared as UTF-8 whose bytes are
//! not UTF-8 is decoded by detection, and a page declared as a legacy charset whose bytes are valid
//! UTF-8 (with non-ASCII text) is decoded as UTF-8. Detection looks only at the bytes above 0x7F and
//! picks among windows-1251, KOI8-R (KOI8-U when its Ukrainian letters occur) and windows-1252 by how
//! much each decoding looks like Cyrillic prose. Every function here accepts any bytes and never
//! panics.

use encoding_rs::{Encoding, KOI8_R, KOI8_U, UTF_8, WINDOWS_1251, WINDOWS_1252};
use std::sync::OnceLock;

/// How far into a page the `<meta charset>` prescan looks. Browsers look at 1 KiB; pages with long
/// `<head>` comments or inline styles put the declaration later, and the scan is cheap.
const META_PRESCAN_BYTES: usize = 4096;

/// Decodes an HTML page to UTF-8: BOM, then the HTTP charset, then `<meta charset>` / `http-equiv`,
/// then detection among UTF-8, windows-1251 and KOI8-R.
pub fn decode_html(bytes: &[u8], http_charset: Option<&str>) -> (String, &'static Encoding) {
    if let Some(decoded) = decode_with_bom(bytes) {
        return decoded;
    }
    let declared = http_charset
        .and_then(encoding_for_label)
        .or_else(|| prescan_meta_charset(bytes));
    if let Some(enc) = declared {
        return decode_declared(bytes, enc);
    }
    decode_undeclared(bytes)
}

/// Decodes a plain-text file: BOM, valid UTF-8, else detection among windows-1251 and KOI8-R.
pub fn decode_text(bytes: &[u8]) -> (String, &'static Encoding) {
    if let Some(decoded) = decode_with_bom(bytes) {
        return decoded;
    }
    decode_undeclared(bytes)
}

/// Guesses the single-byte encoding of bytes that are not UTF-8: windows-1251, KOI8-R, KOI8-U or,
/// when the high bytes do not read as Cyrillic, windows-1252.
pub fn detect_single_byte(bytes: &[u8]) -> &'static Encoding {
    let tables = tables();
    let mut letters = 0usize;
    let mut next_to_latin = 0usize;
    let mut koi8u_letters = 0usize;
    let mut score_1251 = 0i64;
    let mut score_koi8 = 0i64;
    for (i, &b) in bytes.iter().enumerate() {
        if b < 0x80 {
            continue;
        }
        let w = tables.w1251[usize::from(b - 0x80)];
        let k = tables.koi8[usize::from(b - 0x80)];
        score_1251 += i64::from(w);
        score_koi8 += i64::from(k);
        if tables.koi8u_only[usize::from(b - 0x80)] {
            koi8u_letters += 1;
        }
        // A byte that is a Cyrillic letter in windows-1251 is a Latin letter in windows-1252; in
        // Western text such letters sit inside words made of ASCII letters ("café", "Müller"), in
        // Cyrillic text they sit next to other high bytes.
        if b >= 0xC0 {
            letters += 1;
            let before = i.checked_sub(1).and_then(|j| bytes.get(j));
            let after = bytes.get(i + 1);
            if before.is_some_and(u8::is_ascii_alphabetic)
                || after.is_some_and(u8::is_ascii_alphabetic)
            {
                next_to_latin += 1;
            }
        }
    }
    if letters == 0 || next_to_latin * 2 > letters {
        return WINDOWS_1252;
    }
    if score_koi8 > score_1251 {
        if koi8u_letters > 0 { KOI8_U } else { KOI8_R }
    } else {
        WINDOWS_1251
    }
}

/// Looks for `<meta charset=...>` or `<meta http-equiv="Content-Type" content="...; charset=...">`
/// near the start of a page. A declared UTF-16 means UTF-8, as in browsers, because a page that
/// can be scanned as ASCII cannot be UTF-16.
pub fn prescan_meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(META_PRESCAN_BYTES)];
    let mut i = 0;
    while i < head.len() {
        let Some(lt) = memchr_byte(b'<', &head[i..]) else {
            break;
        };
        i += lt;
        let rest = &head[i..];
        if rest.starts_with(b"<!--") {
            i += find_sub(rest, b"-->").map_or(rest.len(), |e| e + 3);
            continue;
        }
        if rest.len() > 5 && rest[1..5].eq_ignore_ascii_case(b"meta") {
            let end = memchr_byte(b'>', rest).unwrap_or(rest.len());
            if let Some(enc) = charset_in_tag(&rest[..end]) {
                return Some(enc);
            }
            i += end.max(1);
            continue;
        }
        i += 1;
    }
    None
}

fn charset_in_tag(tag: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = tag.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find_sub(&lower[from..], b"charset") {
        let mut j = from + pos + b"charset".len();
        from = j;
        while lower.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
            j += 1;
        }
        if lower.get(j) != Some(&b'=') {
            continue;
        }
        j += 1;
        while lower
            .get(j)
            .is_some_and(|c| c.is_ascii_whitespace() || *c == b'"' || *c == b'\'')
        {
            j += 1;
        }
        let start = j;
        while lower
            .get(j)
            .is_some_and(|c| !(c.is_ascii_whitespace() || b"\"';>/".contains(c)))
        {
            j += 1;
        }
        let label = &lower[start..j];
        if let Some(enc) = Encoding::for_label(label) {
            return Some(
                if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
                    UTF_8
                } else if enc == encoding_rs::X_USER_DEFINED {
                    WINDOWS_1252
                } else {
                    enc
                },
            );
        }
    }
    None
}

fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    Encoding::for_label(label.as_bytes())
}

fn decode_with_bom(bytes: &[u8]) -> Option<(String, &'static Encoding)> {
    let (enc, bom_len) = Encoding::for_bom(bytes)?;
    let body = bytes.get(bom_len..).unwrap_or_default();
    let (text, _) = enc.decode_without_bom_handling(body);
    Some((text.into_owned(), enc))
}

fn decode_declared(bytes: &[u8], declared: &'static Encoding) -> (String, &'static Encoding) {
    if declared == UTF_8 {
        if mostly_utf8(bytes) {
            return decode_as(bytes, UTF_8);
        }
        return decode_as(bytes, detect_single_byte(bytes));
    }
    // Non-ASCII bytes that happen to form valid UTF-8 are very unlikely in real windows-1251 or
    // KOI8 text, while servers that keep announcing the old charset after a site moved to UTF-8
    // are common.
    if declared.is_single_byte() && has_non_ascii(bytes) && std::str::from_utf8(bytes).is_ok() {
        return decode_as(bytes, UTF_8);
    }
    decode_as(bytes, declared)
}

fn decode_undeclared(bytes: &[u8]) -> (String, &'static Encoding) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (s.to_owned(), UTF_8);
    }
    if mostly_utf8(bytes) {
        return decode_as(bytes, UTF_8);
    }
    decode_as(bytes, detect_single_byte(bytes))
}

fn decode_as(bytes: &[u8], enc: &'static Encoding) -> (String, &'static Encoding) {
    let (text, _) = enc.decode_without_bom_handling(bytes);
    (text.into_owned(), enc)
}

fn has_non_ascii(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| *b >= 0x80)
}

/// UTF-8 with a few broken sequences (a truncated download, one bad paste) is still UTF-8: losing
/// a character beats misreading the whole page as another charset.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let mut good_multibyte = 0usize;
    let mut bad = 0usize;
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) if bad == 0 => return true,
            Ok(s) => {
                good_multibyte += s.bytes().filter(|b| *b >= 0xC0).count();
                break;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                good_multibyte += rest[..valid].iter().filter(|b| **b >= 0xC0).count();
                bad += 1;
                let skip = valid + e.error_len().unwrap_or(rest.len() - valid).max(1);
                rest = rest.get(skip..).unwrap_or_default();
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    bad == 0 || good_multibyte >= 8 * bad
}

fn memchr_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

fn find_sub(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Per high byte (0x80..=0xFF), how Cyrillic-prose-like its character is under each encoding.
struct Tables {
    w1251: [i8; 128],
    koi8: [i8; 128],
    /// Bytes that are Ukrainian letters in KOI8-U but box-drawing characters in KOI8-R.
    koi8u_only: [bool; 128],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Tables {
            w1251: [0; 128],
            koi8: [0; 128],
            koi8u_only: [false; 128],
        };
        for b in 0x80u8..=0xFF {
            let i = usize::from(b - 0x80);
            t.w1251[i] = char_weight(decode_byte(WINDOWS_1251, b));
            let r = decode_byte(KOI8_R, b);
            let u = decode_byte(KOI8_U, b);
            t.koi8[i] = char_weight(u).max(char_weight(r));
            t.koi8u_only[i] = r != u && is_cyrillic_letter(u);
        }
        t
    })
}

fn decode_byte(enc: &'static Encoding, b: u8) -> char {
    let buf = [b];
    let (s, _) = enc.decode_without_bom_handling(&buf);
    s.chars().next().unwrap_or('\u{FFFD}')
}

fn is_cyrillic_letter(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}')
}

/// Lowercase letters dominate prose, and the most frequent ones dominate more, so the right
/// decoding collects many points while the wrong one decodes the same bytes as capitals or symbols.
fn char_weight(c: char) -> i8 {
    const FREQUENT: &str = "оеаинтсрвлкмдпуяыьіз";
    if FREQUENT.contains(c) {
        4
    } else if c.is_lowercase() && is_cyrillic_letter(c) {
        2
    } else if c.is_uppercase() && is_cyrillic_letter(c) {
        0
    } else if matches!(
        c,
        '«' | '»' | '—' | '–' | '…' | '№' | '„' | '“' | '”' | '’' | '\u{a0}'
    ) {
        1
    } else {
        -2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UK: &str = "Павло Клімкін у Брюсселі взяв участь у конференції високого рівня «Втручання у \
                      вибори в цифрову еру». Глава МЗС України підкреслив, що майбутні вибори…";
    const RU: &str = "Министр иностранных дел Украины принял участие в конференции высокого уровня \
                      о вмешательстве в выборы в цифровую эпоху.";

    fn encode(enc: &'static Encoding, s: &str) -> Vec<u8> {
        let (b, _, unmappable) = enc.encode(s);
        assert!(!unmappable, "{} cannot encode the sample", enc.name());
        b.into_owned()
    }

    #[test]
    fn detects_windows_1251() {
        for s in [UK, RU, "Привіт", "Коментарі — 0"] {
            let bytes = encode(WINDOWS_1251, s);
            let (text, enc) = decode_text(&bytes);
            assert_eq!(enc, WINDOWS_1251, "{s}");
            assert_eq!(text, s);
        }
    }

    #[test]
    fn detects_koi8() {
        let bytes = encode(KOI8_R, RU);
        assert_eq!(decode_text(&bytes), (RU.to_string(), KOI8_R));
        // KOI8-U has no guillemets or ellipsis.
        let uk =
            "Глава МЗС України підкреслив, що майбутні вибори в Україні будуть використані Росією.";
        let bytes = encode(KOI8_U, uk);
        assert_eq!(decode_text(&bytes), (uk.to_string(), KOI8_U));
        let short = encode(KOI8_R, "Привет, мир");
        assert_eq!(decode_text(&short).1, KOI8_R);
    }

    #[test]
    fn western_text_is_windows_1252() {
        let s = "Le café de la Müller à Zürich, señor. Ça coûte très cher.";
        let bytes = encode(WINDOWS_1252, s);
        assert_eq!(decode_text(&bytes), (s.to_string(), WINDOWS_1252));
    }

    #[test]
    fn utf8_and_bom() {
        assert_eq!(decode_text(UK.as_bytes()), (UK.to_string(), UTF_8));
        let mut with_bom = vec![0xEF, 0xBB, 0xBF];
        with_bom.extend_from_slice(UK.as_bytes());
        assert_eq!(decode_text(&with_bom), (UK.to_string(), UTF_8));
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "Привіт".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_html(&utf16, Some("windows-1251")).0, "Привіт");
    }

    #[test]
    fn html_meta_charset_variants() {
        let body = encode(WINDOWS_1251, "<p>Привіт, світе</p>");
        for head in [
            "<meta charset=\"windows-1251\">",
            "<META CHARSET = 'cp1251' />",
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">",
            "<meta content='text/html;charset = Windows-1251' http-equiv=Content-Type>",
        ] {
            let mut page = format!("<html><head>{head}</head><body>").into_bytes();
            page.extend_from_slice(&body);
            let (text, enc) = decode_html(&page, None);
            assert_eq!(enc, WINDOWS_1251, "{head}");
            assert!(text.contains("Привіт, світе"));
        }
        // A declaration inside a comment is not a declaration.
        let page = b"<!-- <meta charset=koi8-r> --><meta charset=utf-8>x";
        assert_eq!(prescan_meta_charset(page), Some(UTF_8));
    }

    #[test]
    fn http_charset_wins_over_meta() {
        let mut page = b"<meta charset=windows-1251><p>".to_vec();
        page.extend_from_slice(&encode(KOI8_R, RU));
        assert_eq!(
            decode_html(&page, Some("koi8-r")),
            (format!("<meta charset=windows-1251><p>{RU}"), KOI8_R)
        );
    }

    #[test]
    fn wrong_utf8_declaration_falls_back_to_detection() {
        let mut page = b"<meta charset=\"utf-8\"><p>".to_vec();
        page.extend_from_slice(&encode(WINDOWS_1251, UK));
        let (text, enc) = decode_html(&page, None);
        assert_eq!(enc, WINDOWS_1251);
        assert!(text.ends_with(UK));
        let (_, enc) = decode_html(&encode(KOI8_R, RU), Some("UTF-8"));
        assert_eq!(enc, KOI8_R);
    }

    #[test]
    fn legacy_declaration_on_utf8_bytes_is_utf8() {
        let page = format!("<meta charset=windows-1251><p>{UK}");
        assert_eq!(decode_html(page.as_bytes(), None), (page.clone(), UTF_8));
    }

    #[test]
    fn nearly_utf8_stays_utf8() {
        let mut bytes = UK.as_bytes().to_vec();
        bytes.push(0xFF);
        bytes.extend_from_slice(RU.as_bytes());
        let (text, enc) = decode_text(&bytes);
        assert_eq!(enc, UTF_8);
        assert!(text.contains('\u{FFFD}') && text.contains("Министр"));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for bytes in [
            &b""[..],
            b"<",
            b"<meta",
            b"<meta charset=",
            b"<meta charset=\"",
            b"<!--",
            b"\xEF\xBB",
            b"\xFE",
            b"\x80\x81\x82\xFF\xFE\xFD",
            b"<meta charset=nonsense>\xC0",
        ] {
            let _ = decode_html(bytes, Some("bogus"));
            let _ = decode_html(bytes, Some(""));
            let _ = decode_text(bytes);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode_html(&bytes, None);
            let _ = decode_text(&bytes);
        }
    }
}
