//! Character encodings of pages and text files. PLACEHOLDER: being written (helper A).

use encoding_rs::Encoding;

/// Decodes an HTML page to UTF-8: BOM, then the HTTP charset, then `<meta charset>` / `http-equiv`,
/// then detection among UTF-8, windows-1251 and KOI8-R.
pub fn decode_html(bytes: &[u8], http_charset: Option<&str>) -> (String, &'static Encoding) {
    let _ = http_charset;
    decode_text(bytes)
}

/// Decodes a plain-text file: BOM, valid UTF-8, else detection among windows-1251 and KOI8-R.
pub fn decode_text(bytes: &[u8]) -> (String, &'static Encoding) {
    let (s, enc, _) = encoding_rs::UTF_8.decode(bytes);
    (s.into_owned(), enc)
}
