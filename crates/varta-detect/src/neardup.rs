//! Near-duplicate texts at corpus scale: shingles, signatures, LSH banding, exact verification.
//!
//! A text is folded as search folds it (case, Latin/Cyrillic look-alikes, apostrophes, ё, invisible
//! characters), stripped of links, @handles and #hashtags (inserted to dodge filters, they say
//! nothing about the text), and cut into word 3-gram shingles, or character 5-grams when it has
//! fewer than [`SHORT_TEXT_WORDS`] words. Its signature is MinHash over [`NUM_HASHES`]
//! multiply-shift hash functions (vectorized). One-permutation hashing with densification was tried
//! first: on posts of 20–60 words most bins are filled by densification, the rows of a band stop
//! being independent, and unrelated posts sharing one common phrase became candidates by the
//! hundred million. Signatures are cut into bands of `rows` values; two texts sharing a band are
//! candidates, and every candidate pair is verified by the exact Jaccard similarity of its shingle
//! sets, so the pairs reported are exact and only recall depends on chance. `rows` is chosen for the
//! threshold so that a pair exactly at the threshold is a candidate with probability ≥ 0.995.
//!
//! Texts with identical shingle sets (plain copies, the bulk of a campaign) are banded once, so a
//! thousand copies cost one signature lookup rather than half a million candidate pairs.
//!
//! The index is incremental: [`Index::add`] appends texts and [`Index::pairs_since`] finds the pairs
//! that involve texts added since a given point, without redoing the older ones. [`BatchedIndex`]
//! takes raw texts one at a time and shingles them in parallel batches, for detectors that read a
//! store document by document.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

pub mod live;

/// Signature length: 128 MinHash values.
pub const NUM_HASHES: usize = 128;
/// Signature length for low thresholds (see [`Banding::for_threshold_with`]): its first
/// [`NUM_HASHES`] values are the ordinary signature.
pub const WIDE_HASHES: usize = 192;
/// Texts with fewer words than this are shingled by characters.
pub const SHORT_TEXT_WORDS: usize = 12;
const WORD_NGRAM: usize = 3;
const CHAR_NGRAM: usize = 5;
/// Containment is not trusted below this many shingles in the smaller text.
pub const MIN_CONTAINED_SHINGLES: usize = 10;

/// A text's shingles: hashed, sorted, without repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shingles {
    hashes: Vec<u64>,
}

impl Shingles {
    /// Shingles of a raw text (folded and cleaned here).
    pub fn of_text(text: &str) -> Shingles {
        let mut word_hashes = Vec::new();
        if fast_word_hashes(text, &mut word_hashes) {
            let mut hashes: Vec<u64> = word_hashes
                .windows(WORD_NGRAM)
                .map(|w| mix(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42)))
                .collect();
            hashes.sort_unstable();
            hashes.dedup();
            return Shingles { hashes };
        }
        Shingles::of_text_general(text)
    }

    /// [`Shingles::of_text`] for any text: the fast path's answer is the same where it applies.
    fn of_text_general(text: &str) -> Shingles {
        // One pass over the raw text: links, handles and hashtags skipped, each word folded on its
        // own (the fast path of `fold_word` takes plain words without Unicode tables) into one
        // buffer; folding the whole text first cost three times as much.
        let mut buf = String::with_capacity(text.len());
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut folded = String::new();
        for token in text.split_whitespace() {
            if is_link_or_tag(token) {
                continue;
            }
            for piece in token.split(|c: char| !varta_text::fold::is_word_char(c)) {
                if piece.is_empty() {
                    continue;
                }
                varta_text::fold::fold_word(piece, &mut folded);
                for (_, t) in varta_text::fold::tokens(&folded) {
                    let start = buf.len();
                    buf.push_str(t);
                    spans.push((start, buf.len()));
                }
            }
        }
        let mut words: Vec<std::borrow::Cow<'_, str>> = spans
            .iter()
            .map(|&(s, e)| std::borrow::Cow::Borrowed(&buf[s..e]))
            .collect();
        by_text_script(&mut words);
        let mut hashes: Vec<u64> = if words.len() >= SHORT_TEXT_WORDS {
            let word_hashes: Vec<u64> = words.iter().map(|w| hash_bytes(w.as_bytes())).collect();
            word_hashes
                .windows(WORD_NGRAM)
                .map(|w| mix(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42)))
                .collect()
        } else {
            let joined = words.join(" ");
            let chars: Vec<(usize, char)> = joined.char_indices().collect();
            if chars.len() < CHAR_NGRAM {
                if joined.is_empty() {
                    Vec::new()
                } else {
                    vec![hash_bytes(joined.as_bytes())]
                }
            } else {
                (0..=chars.len() - CHAR_NGRAM)
                    .map(|i| {
                        let start = chars[i].0;
                        let end = chars.get(i + CHAR_NGRAM).map_or(joined.len(), |c| c.0);
                        // Character shingles live in their own hash space: a short text never
                        // matches a long one by accident of hashing.
                        mix(hash_bytes(&joined.as_bytes()[start..end]) ^ 0x5bd1_e995)
                    })
                    .collect()
            }
        };
        hashes.sort_unstable();
        hashes.dedup();
        Shingles { hashes }
    }

    /// Shingles from hashes computed elsewhere (tests, stored sets).
    pub fn from_hashes(mut hashes: Vec<u64>) -> Shingles {
        hashes.sort_unstable();
        hashes.dedup();
        Shingles { hashes }
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    pub fn hashes(&self) -> &[u64] {
        &self.hashes
    }

    /// Exact Jaccard similarity of two shingle sets (0 when both are empty).
    pub fn jaccard(&self, other: &Shingles) -> f64 {
        jaccard(&self.hashes, &other.hashes)
    }

    /// MinHash signature: for each of [`NUM_HASHES`] hash functions, the minimum over the set;
    /// `None` for an empty set.
    pub fn signature(&self) -> Option<[u32; NUM_HASHES]> {
        self.signature_of::<NUM_HASHES>()
    }

    /// A signature of [`WIDE_HASHES`] values, the first [`NUM_HASHES`] of them
    /// [`Shingles::signature`].
    pub fn wide_signature(&self) -> Option<[u32; WIDE_HASHES]> {
        self.signature_of::<WIDE_HASHES>()
    }

    fn signature_of<const N: usize>(&self) -> Option<[u32; N]> {
        if self.hashes.is_empty() {
            return None;
        }
        let mut sig = [u32::MAX; N];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the CPU supports AVX-512F and DQ, checked just above; the function is the
            // portable loop below compiled with them enabled (same arithmetic, same result).
            unsafe { min_hashes_avx512(&self.hashes, &mut sig) };
            return Some(sig);
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above; the function is the portable
            // loop below compiled with AVX2 enabled (same integer arithmetic, same result).
            unsafe { min_hashes_avx2(&self.hashes, &mut sig) };
            return Some(sig);
        }
        min_hashes(&self.hashes, &mut sig);
        Some(sig)
    }
}

/// The MinHash loop. Multiply-add-shift hashing (Dietzfelbinger): (a·x + b mod 2^64) >> 32 with
/// random 64-bit a, b and 32-bit x, a 2-universal family. The product is assembled from two
/// 32×32→64-bit multiplies, which the compiler vectorizes where one 64-bit multiply would stay
/// scalar.
#[inline(always)]
fn min_hashes<const N: usize>(hashes: &[u64], sig: &mut [u32; N]) {
    let (a, b) = permutations();
    let (a, b) = (&a[..N], &b[..N]);
    for &h in hashes {
        let x = u64::from((h >> 32) as u32 ^ h as u32);
        for k in 0..N {
            let (lo, hi) = (a[k] & 0xffff_ffff, a[k] >> 32);
            let v = ((lo * x).wrapping_add((hi * x) << 32).wrapping_add(b[k]) >> 32) as u32;
            sig[k] = sig[k].min(v);
        }
    }
}

/// [`min_hashes`] with AVX-512: eight lanes and a native 64-bit multiply.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn min_hashes_avx512<const N: usize>(hashes: &[u64], sig: &mut [u32; N]) {
    min_hashes(hashes, sig)
}

/// [`min_hashes`] with AVX2: four lanes instead of SSE2's two, and a native unsigned minimum.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn min_hashes_avx2<const N: usize>(hashes: &[u64], sig: &mut [u32; N]) {
    min_hashes(hashes, sig)
}

/// The multipliers and offsets of the hash functions, fixed for all time so that
/// signatures, band keys and findings are the same on every run and machine. Function `k` depends
/// on `k` alone, so a wide signature begins with the ordinary one.
fn permutations() -> &'static ([u64; WIDE_HASHES], [u64; WIDE_HASHES]) {
    static P: std::sync::OnceLock<([u64; WIDE_HASHES], [u64; WIDE_HASHES])> =
        std::sync::OnceLock::new();
    P.get_or_init(|| {
        let mut a = [0u64; WIDE_HASHES];
        let mut b = [0u64; WIDE_HASHES];
        for k in 0..WIDE_HASHES {
            a[k] = mix(0x9e37_79b9 + k as u64) | 1;
            b[k] = mix(0x7f4a_7c15 ^ (k as u64) << 40);
        }
        (a, b)
    })
}

/// Look-alike letters read by the script of the whole text: in a mostly Cyrillic text, a word whose
/// Latin letters all have Cyrillic look-alikes ("a", "нa", a tie that folding gave to neither) is
/// a disguised Cyrillic word, and the other way round in a Latin text.
fn by_text_script(words: &mut [std::borrow::Cow<'_, str>]) {
    let (mut cyr, mut lat) = (0usize, 0usize);
    for w in words.iter() {
        for c in w.chars() {
            if matches!(c, '\u{0400}'..='\u{04FF}') {
                cyr += 1;
            } else if c.is_ascii_alphabetic() {
                lat += 1;
            }
        }
    }
    let cyrillic_text = cyr > lat;
    for w in words.iter_mut() {
        // Most words are all of the text's script: skip them without allocating.
        let foreign = if cyrillic_text {
            w.bytes().any(|b| b.is_ascii_alphabetic())
        } else {
            !w.is_ascii()
        };
        if !foreign {
            continue;
        }
        let swapped = if cyrillic_text {
            varta_text::fold::lookalikes_to_cyrillic(w)
        } else {
            varta_text::fold::lookalikes_to_latin(w)
        };
        if let Some(c) = swapped {
            *w = std::borrow::Cow::Owned(c);
        }
    }
}

/// Exact Jaccard similarity of two sorted, repeat-free sets (0 when both are empty): the 64-bit
/// hashes of [`Shingles`] or the 32-bit ones the index keeps.
pub fn jaccard<T: Copy + Ord>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    let common = overlap(a, b);
    common as f64 / (a.len() + b.len() - common) as f64
}

/// Size of the intersection of two sorted, repeat-free sets, without branches in the loop:
/// verification runs it on millions of candidate pairs, and a branchy merge mispredicts on every
/// other element.
pub fn overlap<T: Copy + Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut common) = (0usize, 0usize, 0usize);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        common += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    common
}

/// The Cyrillic letter a lower-case ASCII letter is drawn like (as `varta_text::fold` maps them).
#[inline]
const fn latin_lookalike(l: u8) -> Option<char> {
    Some(match l {
        b'a' => 'а',
        b'b' => 'в',
        b'c' => 'с',
        b'e' => 'е',
        b'h' => 'н',
        b'i' => 'і',
        b'j' => 'ј',
        b'k' => 'к',
        b'm' => 'м',
        b'o' => 'о',
        b'p' => 'р',
        b's' => 'ѕ',
        b't' => 'т',
        b'x' => 'х',
        b'y' => 'у',
        _ => return None,
    })
}

/// The Latin letter a lower-case basic Cyrillic letter is drawn like.
#[inline]
const fn cyrillic_lookalike(k: char) -> Option<char> {
    Some(match k {
        'а' => 'a',
        'в' => 'b',
        'с' => 'c',
        'е' => 'e',
        'н' => 'h',
        'і' => 'i',
        'ј' => 'j',
        'к' => 'k',
        'м' => 'm',
        'о' => 'o',
        'р' => 'p',
        'ѕ' => 's',
        'т' => 't',
        'х' => 'x',
        'у' => 'y',
        'ї' => 'ï',
        _ => return None,
    })
}

/// Bit `l - b'a'` set for the ASCII letters [`latin_lookalike`] maps.
const LATIN_LOOKALIKES: u32 = {
    let mut m = 0u32;
    let mut l = b'a';
    while l <= b'z' {
        if latin_lookalike(l).is_some() {
            m |= 1 << (l - b'a');
        }
        l += 1;
    }
    m
};

/// Bit `k - 'а'` set for the lower-case basic Cyrillic letters (а..џ) [`cyrillic_lookalike`] maps.
const CYRILLIC_LOOKALIKES: u64 = {
    let mut m = 0u64;
    let mut u = 0x0430u32;
    while u <= 0x045F {
        if let Some(k) = char::from_u32(u)
            && cyrillic_lookalike(k).is_some()
        {
            m |= 1 << (u - 0x0430);
        }
        u += 1;
    }
    m
};

/// One word of the fast path: where its folded bytes are and what folding needs to choose how
/// to read its look-alike letters.
#[derive(Clone, Copy)]
struct FastWord {
    start: u32,
    end: u32,
    n_lat: u32,
    n_cyr: u32,
    lat_nonlook: u32,
    cyr_nonlook: u32,
}

/// How a word's look-alike letters are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    AsWritten,
    Cyrillic,
    Latin,
}

impl FastWord {
    /// The word as `fold_word` leaves it, by its own majority script: the reading and its
    /// Cyrillic and Latin letter counts.
    fn folded(&self) -> (Reading, u32, u32) {
        if self.n_lat > 0 && self.n_cyr > 0 {
            if self.n_cyr >= self.n_lat {
                (
                    Reading::Cyrillic,
                    self.n_cyr + self.n_lat - self.lat_nonlook,
                    self.lat_nonlook,
                )
            } else {
                (
                    Reading::Latin,
                    self.cyr_nonlook,
                    self.n_lat + self.n_cyr - self.cyr_nonlook,
                )
            }
        } else {
            (Reading::AsWritten, self.n_cyr, self.n_lat)
        }
    }
}

/// Scratch buffers of the fast path, one per thread: a text's folded bytes and its words.
struct FastScratch {
    buf: Vec<u8>,
    words: Vec<FastWord>,
    swapped: String,
}

thread_local! {
    static FAST_SCRATCH: std::cell::RefCell<FastScratch> = const {
        std::cell::RefCell::new(FastScratch { buf: Vec::new(), words: Vec::new(), swapped: String::new() })
    };
}

/// Word hashes of a plain text (ASCII and basic Cyrillic words, ASCII and general punctuation,
/// emoji) with at least [`SHORT_TEXT_WORDS`] words, in one pass over its bytes with no allocation
/// per word. Folding is reproduced exactly: lower case, ё→е, apostrophes and invisible characters
/// dropped, look-alike letters read by the word's majority script and then, for words whose
/// other-script letters all have look-alikes, by the text's. Each word's folded bytes are written
/// once and hashed once; only words that mix scripts are rewritten. Returns false, leaving the text
/// to the general path, for other scripts, marks, compatibility characters, non-ASCII spaces or a
/// short text.
fn fast_word_hashes(text: &str, out: &mut Vec<u64>) -> bool {
    FAST_SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let FastScratch {
            buf,
            words,
            swapped,
        } = &mut *s;
        buf.clear();
        words.clear();
        fast_scan(text, buf, words) && fast_hash_words(buf, words, swapped, out)
    })
}

/// What an ASCII byte does in [`fast_scan`].
const ASCII_LETTER: u8 = 1;
const ASCII_DIGIT: u8 = 2;
const ASCII_VANISH: u8 = 3;
const ASCII_SPACE: u8 = 4;
const ASCII_BREAK: u8 = 5;
/// Punctuation that may begin a link or tag (`@`, `#`, `:` of `://`, `.` of `www.`).
const ASCII_SUSPECT: u8 = 6;
const ASCII_CLASS: [u8; 128] = {
    let mut t = [ASCII_BREAK; 128];
    let mut b = 0u8;
    while b < 128 {
        t[b as usize] = if b.is_ascii_alphabetic() {
            ASCII_LETTER
        } else if b.is_ascii_digit() {
            ASCII_DIGIT
        } else if b == b'\'' || b == b'`' {
            ASCII_VANISH
        } else if b.is_ascii_whitespace() {
            ASCII_SPACE
        } else if matches!(b, b'@' | b'#' | b':' | b'.') {
            ASCII_SUSPECT
        } else {
            ASCII_BREAK
        };
        b += 1;
    }
    t
};

/// The scanning half of [`fast_word_hashes`]: folded bytes into `buf`, word spans into `words`.
/// Folded text is never longer than the text, so `buf` is sized once and written by a cursor.
fn fast_scan(text: &str, buf: &mut Vec<u8>, words: &mut Vec<FastWord>) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() >= u32::MAX as usize {
        return false;
    }
    let empty = |at: usize| FastWord {
        start: at as u32,
        end: at as u32,
        n_lat: 0,
        n_cyr: 0,
        lat_nonlook: 0,
        cyr_nonlook: 0,
    };
    buf.clear();
    buf.resize(bytes.len(), 0);
    let out = buf.as_mut_slice();
    let mut n = 0usize;
    let mut w = empty(0);
    let finish = |w: &mut FastWord, n: usize, words: &mut Vec<FastWord>| {
        if n as u32 > w.start {
            w.end = n as u32;
            words.push(*w);
        }
        *w = empty(n);
    };
    // Where the current whitespace-separated token began: a link or tag is taken back whole.
    let (mut token_start, mut token_words, mut token_buf) = (0usize, 0usize, 0usize);
    let mut suspicious = false;
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
            match ASCII_CLASS[b as usize] {
                ASCII_LETTER => {
                    let l = b | 0x20;
                    out[n] = l;
                    n += 1;
                    w.n_lat += 1;
                    w.lat_nonlook += (LATIN_LOOKALIKES >> (l - b'a')) & 1 ^ 1;
                }
                ASCII_DIGIT => {
                    out[n] = b;
                    n += 1;
                }
                // Apostrophes vanish inside a word.
                ASCII_VANISH => {}
                ASCII_SPACE => {
                    finish(&mut w, n, words);
                    if suspicious && is_link_or_tag(&text[token_start..i - 1]) {
                        words.truncate(token_words);
                        n = token_buf;
                        w = empty(n);
                    }
                    suspicious = false;
                    token_start = i;
                    token_words = words.len();
                    token_buf = n;
                }
                class => {
                    suspicious |= class == ASCII_SUSPECT;
                    finish(&mut w, n, words);
                }
            }
            continue;
        }
        if (b == 0xD0 || b == 0xD1) && i + 1 < bytes.len() {
            // Basic Cyrillic: two bytes in, two bytes out, lower case by arithmetic.
            let u = (u32::from(b & 0x1F) << 6) | u32::from(bytes[i + 1] & 0x3F);
            let k = match u {
                0x0410..=0x042F => u + 0x20,
                0x0401 | 0x0451 => 0x0435, // ё → е
                0x0400..=0x040F => u + 0x50,
                0x0430..=0x045F => u,
                _ => return false,
            };
            out[n] = 0xC0 | (k >> 6) as u8;
            out[n + 1] = 0x80 | (k & 0x3F) as u8;
            n += 2;
            w.n_cyr += 1;
            w.cyr_nonlook += ((CYRILLIC_LOOKALIKES >> (k - 0x0430)) & 1 ^ 1) as u32;
            i += 2;
            continue;
        }
        let Some(c) = text.get(i..).and_then(|t| t.chars().next()) else {
            return false;
        };
        let u = c as u32;
        i += c.len_utf8();
        if u == 0x0490 || u == 0x0491 {
            out[n..n + 2].copy_from_slice("ґ".as_bytes());
            n += 2;
            w.n_cyr += 1;
            w.cyr_nonlook += 1;
        } else if matches!(
            c,
            '\u{2019}' | '\u{02BC}' | '\u{2018}' | '\u{00B4}' | '\u{02B9}'
        ) || matches!(u, 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x2069 | 0xFEFF | 0x00AD)
        {
            // Apostrophes and invisible characters vanish inside a word.
        } else if matches!(u, 0x2010..=0x2027 | 0x2030..=0x205E | 0x00AB | 0x00BB | 0x00B7)
            || (0x1F000..=0x1FAFF).contains(&u)
            || matches!(u, 0x2600..=0x27BF | 0xFE0F)
        {
            finish(&mut w, n, words);
        } else {
            return false;
        }
    }
    finish(&mut w, n, words);
    if suspicious && is_link_or_tag(&text[token_start..]) {
        words.truncate(token_words);
    }
    buf.truncate(n);
    words.len() >= SHORT_TEXT_WORDS
}

/// The hashing half of [`fast_word_hashes`]: each word read by its own and the text's script.
fn fast_hash_words(
    buf: &[u8],
    words: &[FastWord],
    swapped: &mut String,
    out: &mut Vec<u64>,
) -> bool {
    let (mut text_cyr, mut text_lat) = (0u64, 0u64);
    for w in words {
        let (_, c, l) = w.folded();
        text_cyr += u64::from(c);
        text_lat += u64::from(l);
    }
    let cyrillic_text = text_cyr > text_lat;
    out.reserve(words.len());
    for w in words {
        let span = &buf[w.start as usize..w.end as usize];
        // A word whose letters of the other script all have look-alikes is read in the text's.
        let reading = if cyrillic_text && w.lat_nonlook == 0 {
            Reading::Cyrillic
        } else if !cyrillic_text && w.cyr_nonlook == 0 {
            Reading::Latin
        } else {
            w.folded().0
        };
        let h = match reading {
            Reading::Cyrillic if w.n_lat > 0 => {
                let Ok(t) = std::str::from_utf8(span) else {
                    return false;
                };
                swapped.clear();
                swapped.extend(t.chars().map(|c| {
                    if c.is_ascii_lowercase() {
                        latin_lookalike(c as u8).unwrap_or(c)
                    } else {
                        c
                    }
                }));
                hash_bytes(swapped.as_bytes())
            }
            Reading::Latin if w.n_cyr > 0 => {
                let Ok(t) = std::str::from_utf8(span) else {
                    return false;
                };
                swapped.clear();
                swapped.extend(t.chars().map(|c| cyrillic_lookalike(c).unwrap_or(c)));
                hash_bytes(swapped.as_bytes())
            }
            _ => hash_bytes(span),
        };
        out.push(h);
    }
    true
}

/// Links, @handles and #hashtags (after any leading punctuation): inserted to dodge filters, they
/// say nothing about the text.
fn is_link_or_tag(token: &str) -> bool {
    // Nearly every token is a plain word: one byte scan clears it.
    // (`www.` needs a dot, `://` a colon.)
    if !token
        .bytes()
        .any(|b| matches!(b, b'@' | b'#' | b':' | b'.'))
    {
        return false;
    }
    let t =
        token.trim_start_matches(|c: char| !varta_text::fold::is_alnum(c) && c != '@' && c != '#');
    t.starts_with('@') || t.starts_with('#') || t.starts_with("www.") || token.contains("://")
}

/// FNV-1a over the bytes, then a strong finalizer: fast on short words, well mixed. (Eight bytes
/// a time through a multiply was tried: no faster here, since the scan, not the hash, is the cost.)
fn hash_bytes(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// Band keys of a shingle set under `banding` (empty when it has no shingles): each band's
/// `rows` signature values hashed together, cut to 32 bits.
fn band_keys(banding: Banding, s: &Shingles) -> Vec<u32> {
    let of = |sig: &[u32]| -> Vec<u32> {
        let Banding { bands, rows, .. } = banding;
        (0..bands)
            .map(|b| {
                let mut h = mix(b as u64 + 1);
                for &v in &sig[b * rows..(b + 1) * rows] {
                    h = mix(h ^ u64::from(v));
                }
                (h >> 32) as u32 ^ h as u32
            })
            .collect()
    };
    if banding.hashes > NUM_HASHES {
        s.wide_signature().map_or_else(Vec::new, |sig| of(&sig))
    } else {
        s.signature().map_or_else(Vec::new, |sig| of(&sig))
    }
}

/// The exact check of two shingle sets: their Jaccard similarity and containment when the pair
/// reaches `threshold`, or `containment` with enough shingles in the smaller set.
fn similar(threshold: f64, containment: Option<f64>, sa: &[u32], sb: &[u32]) -> Option<(f64, f64)> {
    let (la, lb) = (sa.len(), sb.len());
    let (small, large) = (la.min(lb), la.max(lb));
    let contained_ok = containment.filter(|_| small >= MIN_CONTAINED_SHINGLES);
    // Jaccard never exceeds the ratio of the sizes.
    if contained_ok.is_none() && (small as f64) < threshold * large as f64 {
        return None;
    }
    let common = overlap(sa, sb);
    let j = common as f64 / (la + lb - common) as f64;
    let contained = common as f64 / small.max(1) as f64;
    let keep = j >= threshold || contained_ok.is_some_and(|c| contained >= c);
    keep.then_some((j, contained))
}

/// The splitmix64 finalizer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// How signatures are cut for a threshold: `bands` bands of `rows` values each, from a signature
/// of `hashes` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Banding {
    pub bands: usize,
    pub rows: usize,
    pub hashes: usize,
}

impl Banding {
    /// The most selective banding (most rows per band) of a [`NUM_HASHES`] signature under which a
    /// pair exactly at `threshold` becomes a candidate with probability at least 0.995.
    pub fn for_threshold(threshold: f64) -> Banding {
        Banding::for_threshold_with(threshold, NUM_HASHES)
    }

    /// [`Banding::for_threshold`] for a signature of `hashes` values ([`NUM_HASHES`] or
    /// [`WIDE_HASHES`]). A longer signature allows more rows per band at the same recall: at
    /// 0.45, 128 values allow only 2 rows (a pair at Jaccard 0.1 is a candidate with odds 0.47,
    /// hundreds of millions of them among ten million posts) where 192 allow 3 (odds 0.06).
    pub fn for_threshold_with(threshold: f64, hashes: usize) -> Banding {
        let t = threshold.clamp(0.01, 1.0);
        let mut best = Banding {
            bands: hashes,
            rows: 1,
            hashes,
        };
        for rows in 1..=16 {
            let bands = hashes / rows;
            let p = 1.0 - (1.0 - t.powi(rows as i32)).powi(bands as i32);
            if p >= 0.995 {
                best = Banding {
                    bands,
                    rows,
                    hashes,
                };
            }
        }
        best
    }

    /// Probability that a pair of Jaccard similarity `j` becomes a candidate.
    pub fn candidate_probability(&self, j: f64) -> f64 {
        1.0 - (1.0 - j.powi(self.rows as i32)).powi(self.bands as i32)
    }
}

/// A verified pair: positions in the index (`a < b`), their exact Jaccard similarity and the
/// share of the smaller set found in the larger (containment).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub a: u32,
    pub b: u32,
    pub jaccard: f64,
    pub containment: f64,
}

/// Band keys, `bands` per representative, in chunks of [`KEY_CHUNK_TEXTS`] texts: ten million
/// texts hold 2.3 GB of keys, and one growing vector would copy all of it each time it doubled,
/// holding the old and the new copy at once.
#[derive(Default)]
struct KeyChunks {
    chunks: Vec<Vec<u32>>,
    /// Texts held.
    len: usize,
}

/// Texts per chunk of [`KeyChunks`] (16 MB at 64 bands).
const KEY_CHUNK_TEXTS: usize = 65_536;

impl KeyChunks {
    /// Appends one text's keys; returns its slot.
    fn push(&mut self, keys: &[u32]) -> usize {
        if self.len.is_multiple_of(KEY_CHUNK_TEXTS) {
            self.chunks
                .push(Vec::with_capacity(KEY_CHUNK_TEXTS * keys.len()));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.extend_from_slice(keys);
        }
        self.len += 1;
        self.len - 1
    }

    fn get(&self, slot: usize, bands: usize) -> &[u32] {
        let at = (slot % KEY_CHUNK_TEXTS) * bands;
        &self.chunks[slot / KEY_CHUNK_TEXTS][at..at + bands]
    }
}

/// Counts of one [`Index::pairs_since`] run, for reports and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PairStats {
    /// Distinct candidate pairs verified.
    pub candidates: u64,
    /// Texts banded (one per group of identical shingle sets).
    pub banded: u64,
}

/// An incremental near-duplicate index.
pub struct Index {
    threshold: f64,
    /// Also report pairs whose smaller text is this much contained in the larger (a copy cut
    /// short), when the smaller has at least [`MIN_CONTAINED_SHINGLES`] shingles.
    containment: Option<f64>,
    banding: Banding,
    /// Shingle sets kept for verification, each hash cut to 32 bits (half the memory and memory
    /// traffic; two shingles of one pair collide with odds of about one in a million). A copy of
    /// an earlier text keeps none: its representative's set is its set.
    sets: Vec<Box<[u32]>>,
    /// Band keys, `bands` per representative (text-major, at `key_slot`), cut to 32 bits: a chance
    /// collision only adds a candidate that verification rejects. Copies keep none, so a
    /// campaign of copies costs 4 bytes a copy here rather than 256.
    keys: KeyChunks,
    /// Per text, where its band keys start in `keys` (in bands); `u32::MAX` for copies and texts
    /// without shingles.
    key_slot: Vec<u32>,
    /// The first text with the same shingle set, for each text.
    canonical: Vec<u32>,
    by_set: FxHashMap<u64, u32>,
}

impl Index {
    /// An empty index reporting pairs with Jaccard ≥ `threshold`.
    pub fn new(threshold: f64) -> Index {
        Index {
            threshold,
            containment: None,
            banding: Banding::for_threshold(threshold),
            sets: Vec::new(),
            keys: KeyChunks::default(),
            key_slot: Vec::new(),
            canonical: Vec::new(),
            by_set: FxHashMap::default(),
        }
    }

    /// An index that also reports copies cut short: pairs whose smaller text is at least
    /// `containment` contained in the larger. Candidates are banded for 0.9 × `threshold`, so
    /// that a copy cut to half (Jaccard just under 0.5) is still found at the default 0.5.
    pub fn with_containment(threshold: f64, containment: f64) -> Index {
        Index {
            containment: Some(containment),
            banding: Banding::for_threshold(threshold * 0.9),
            ..Index::new(threshold)
        }
    }

    /// The same index banding a [`WIDE_HASHES`] signature: more rows per band at the same recall
    /// at the threshold, so far fewer candidates among unrelated texts that share common phrases
    /// (at containment's 0.45, 3 rows instead of 2: 13 times fewer candidates at Jaccard 0.1),
    /// for half again the signing. Pairs below the banded threshold — copies cut to less than
    /// half, found by containment — become candidates more rarely: at Jaccard 0.14 with odds
    /// 0.16 rather than 0.72. Coordination's text keys take it; campaigns keep the ordinary
    /// signature.
    pub fn wide(self) -> Index {
        let banded_at = match self.containment {
            Some(_) => self.threshold * 0.9,
            None => self.threshold,
        };
        Index {
            banding: Banding::for_threshold_with(banded_at, WIDE_HASHES),
            ..self
        }
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    pub fn banding(&self) -> Banding {
        self.banding
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The (32-bit) shingle set of text `i`, sorted.
    pub fn set(&self, i: u32) -> &[u32] {
        &self.sets[self.canonical[i as usize] as usize]
    }

    /// Text `i`'s band keys (a representative's; see [`Index::canonical`]).
    fn keys_of(&self, i: u32) -> &[u32] {
        let bands = self.banding.bands;
        let slot = self.key_slot[self.canonical[i as usize] as usize] as usize;
        self.keys.get(slot, bands)
    }

    /// Band keys of a shingle set (empty when it has no shingles).
    pub fn band_keys(&self, s: &Shingles) -> Vec<u32> {
        band_keys(self.banding, s)
    }

    /// Appends texts in order, signing in parallel only those whose shingle set is new: copies of
    /// a text already indexed (or earlier in the batch) cost a hash lookup, not a signature.
    pub fn add_batch(&mut self, shingles: Vec<Shingles>) {
        let prepared: Vec<(u64, Vec<u32>)> = shingles.par_iter().map(prepare).collect();
        let mut seen: rustc_hash::FxHashSet<u64> = rustc_hash::FxHashSet::default();
        let fresh: Vec<bool> = shingles
            .iter()
            .zip(&prepared)
            .map(|(s, (h, _))| !s.is_empty() && !self.by_set.contains_key(h) && seen.insert(*h))
            .collect();
        let keys: Vec<Vec<u32>> = shingles
            .par_iter()
            .zip(fresh.par_iter())
            .map(|(s, &f)| if f { self.band_keys(s) } else { Vec::new() })
            .collect();
        for ((s, (set_key, compact)), k) in shingles.iter().zip(prepared).zip(keys) {
            self.push_prepared(s, set_key, compact, &k);
        }
    }

    /// Appends a text; returns its position. Texts are numbered in the order they are added.
    pub fn add(&mut self, s: Shingles) -> u32 {
        let keys = self.band_keys(&s);
        self.add_with_keys(s, &keys)
    }

    /// [`Index::add`] with band keys computed beforehand (in parallel, by [`Index::band_keys`]).
    pub fn add_with_keys(&mut self, s: Shingles, keys: &[u32]) -> u32 {
        let (set_key, compact) = prepare(&s);
        self.push_prepared(&s, set_key, compact, keys)
    }

    /// Appends a text given its set hash and compact set ([`prepare`]).
    fn push_prepared(
        &mut self,
        s: &Shingles,
        set_key: u64,
        compact: Vec<u32>,
        keys: &[u32],
    ) -> u32 {
        let i = u32::try_from(self.sets.len()).unwrap_or(u32::MAX);
        let bands = self.banding.bands;
        let canon = if s.is_empty() {
            i
        } else {
            *self.by_set.entry(set_key).or_insert(i)
        };
        // A hash collision between different sets must not merge them.
        let canon = if canon != i && *self.sets[canon as usize] != *compact {
            i
        } else {
            canon
        };
        self.canonical.push(canon);
        if s.is_empty() {
            // Never a candidate: no keys, no set.
            self.key_slot.push(u32::MAX);
            self.sets.push(Box::default());
        } else if canon == i {
            let slot = if keys.len() == bands {
                self.keys.push(keys)
            } else {
                // Left unsigned as a copy, but its set only shares a hash with an earlier one.
                let own = self.band_keys(s);
                self.keys.push(&own)
            };
            self.key_slot.push(u32::try_from(slot).unwrap_or(u32::MAX));
            self.sets.push(compact.into_boxed_slice());
        } else {
            self.key_slot.push(u32::MAX);
            self.sets.push(Box::default());
        }
        i
    }

    /// Per text, its representative: the first text with the same shingle set (itself when it is
    /// the first, or has no shingles).
    pub fn canonical(&self) -> &[u32] {
        &self.canonical
    }

    /// The verified pairs among distinct texts (representatives; see [`Index::canonical`]) that
    /// involve a group with a text at position ≥ `first_new`, sorted by `(a, b)`. Copies of one
    /// text are banded and verified once: the work grows with the distinct texts, not the copies.
    pub fn distinct_pairs_since(&self, first_new: u32) -> (Vec<Pair>, PairStats) {
        let n = self.sets.len();
        // A group of identical texts is new when any of its texts is: its last text is.
        let mut newest: Vec<u32> = (0..n as u32).collect();
        for i in 0..n as u32 {
            let c = self.canonical[i as usize];
            newest[c as usize] = newest[c as usize].max(i);
        }
        self.verified(first_new, &newest)
    }

    fn verified(&self, first_new: u32, newest: &[u32]) -> (Vec<Pair>, PairStats) {
        let n = self.sets.len();
        let bands = self.banding.bands;
        // Representatives: the first text of each group of identical sets.
        let reps: Vec<u32> = (0..n as u32)
            .filter(|&i| self.canonical[i as usize] == i && !self.sets[i as usize].is_empty())
            .collect();
        let group_is_new = |rep: u32| newest[rep as usize] >= first_new;
        // Each band's candidates are verified as the band is scanned and only the pairs kept:
        // a pair is a candidate in the first band it shares and no other, so no list of all
        // candidates (hundreds of millions on ten million posts) is ever held.
        let per_band: Vec<(Vec<Pair>, u64)> = (0..bands)
            .into_par_iter()
            .map(|band| {
                let mut col: Vec<(u32, u32)> =
                    reps.iter().map(|&r| (self.keys_of(r)[band], r)).collect();
                col.sort_unstable();
                let mut out = Vec::new();
                let mut candidates = 0u64;
                let mut start = 0;
                while start < col.len() {
                    let mut end = start + 1;
                    while end < col.len() && col[end].0 == col[start].0 {
                        end += 1;
                    }
                    let run = &col[start..end];
                    if run.len() > 1 && run.iter().any(|&(_, r)| group_is_new(r)) {
                        for x in 0..run.len() {
                            let a = run[x].1;
                            let a_new = group_is_new(a);
                            let ka = &self.keys_of(a)[..band];
                            for &(_, b) in &run[x + 1..] {
                                // A pair is a candidate in the first band it shares, not once
                                // per band: dense campaigns would otherwise verify it dozens of
                                // times.
                                let kb = &self.keys_of(b)[..band];
                                if ka.iter().zip(kb).any(|(p, q)| p == q) {
                                    continue;
                                }
                                if a_new || group_is_new(b) {
                                    candidates += 1;
                                    if let Some(p) = self.verify(a.min(b), a.max(b)) {
                                        out.push(p);
                                    }
                                }
                            }
                        }
                    }
                    start = end;
                }
                (out, candidates)
            })
            .collect();
        let stats = PairStats {
            candidates: per_band.iter().map(|b| b.1).sum(),
            banded: reps.len() as u64,
        };
        let mut verified: Vec<Pair> = per_band.into_iter().flat_map(|b| b.0).collect();
        verified.par_sort_unstable_by_key(|p| (p.a, p.b));
        (verified, stats)
    }

    /// The exact check of a candidate pair of representatives (`a < b`).
    fn verify(&self, a: u32, b: u32) -> Option<Pair> {
        let (sa, sb) = (&self.sets[a as usize], &self.sets[b as usize]);
        let (jaccard, containment) = similar(self.threshold, self.containment, sa, sb)?;
        Some(Pair {
            a,
            b,
            jaccard,
            containment,
        })
    }

    /// Every pair with Jaccard ≥ the threshold that involves a text at position ≥ `first_new`
    /// (0: all pairs), sorted by `(a, b)`: the distinct pairs expanded to every copy. The pairs
    /// among n copies of one text are n(n-1)/2; callers that need groups, not pairs, take
    /// [`Index::clusters`] instead, and [`Clusters::pair_count`] says how many this would be.
    pub fn pairs_since(&self, first_new: u32) -> (Vec<Pair>, PairStats) {
        let n = self.sets.len();
        let mut newest: Vec<u32> = (0..n as u32).collect();
        let mut members: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for i in 0..n as u32 {
            let c = self.canonical[i as usize];
            newest[c as usize] = newest[c as usize].max(i);
            if c != i {
                members.entry(c).or_default().push(i);
            }
        }
        let (verified, stats) = self.verified(first_new, &newest);
        // Expand groups of identical texts: each member pairs as its representative does, and
        // members of a group pair with each other at 1.0.
        let group = |rep: u32| -> Vec<u32> {
            let mut g = vec![rep];
            if let Some(m) = members.get(&rep) {
                g.extend(m);
            }
            g
        };
        let mut pairs: Vec<Pair> = Vec::new();
        for p in &verified {
            for &x in &group(p.a) {
                for &y in &group(p.b) {
                    if x.max(y) >= first_new {
                        pairs.push(Pair {
                            a: x.min(y),
                            b: x.max(y),
                            ..*p
                        });
                    }
                }
            }
        }
        for (&rep, m) in &members {
            if newest[rep as usize] < first_new {
                continue;
            }
            let mut g = vec![rep];
            g.extend(m);
            for x in 0..g.len() {
                for y in x + 1..g.len() {
                    let (a, b) = (g[x].min(g[y]), g[x].max(g[y]));
                    if b >= first_new {
                        pairs.push(Pair {
                            a,
                            b,
                            jaccard: 1.0,
                            containment: 1.0,
                        });
                    }
                }
            }
        }
        pairs.par_sort_unstable_by_key(|p| (p.a, p.b));
        pairs.dedup_by_key(|p| (p.a, p.b));
        (pairs, stats)
    }

    /// The near-duplicate clusters of every text, found without enumerating pairs among copies:
    /// distinct texts are verified against each other, and copies join their representative.
    pub fn clusters(&self) -> Clusters<'_> {
        let (pairs, stats) = self.distinct_pairs_since(0);
        Clusters::from_pairs(&self.canonical, pairs, stats)
    }
}

/// Connected components of the near-duplicate graph over all texts, held as the verified pairs
/// among distinct texts and each text's representative. Everything a detector reads about a
/// cluster (members, pair counts, mean and minimum similarity, each text's best match and degree)
/// follows from these exactly: a pair of representatives of `g` and `h` copies stands for `g·h`
/// pairs at its similarity, and the `g` copies of one text for `g(g-1)/2` pairs at 1.0.
pub struct Clusters<'a> {
    /// Per text, its representative.
    pub canonical: &'a [u32],
    /// Verified pairs among representatives, sorted by `(a, b)`.
    pub pairs: Vec<Pair>,
    pub stats: PairStats,
    /// Per text, the smallest text of its component.
    root: Vec<u32>,
    /// Per representative, its number of copies (itself included); 0 for other texts.
    copies: Vec<u32>,
}

/// What a cluster's pairs add up to, computed from its distinct texts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairSummary {
    /// Pairs of texts (copies included) at or above the threshold.
    pub pairs: u64,
    pub mean_jaccard: f64,
    pub min_jaccard: f64,
}

impl<'a> Clusters<'a> {
    /// Clusters from the verified pairs among representatives ([`Index::distinct_pairs_since`]
    /// or a subset of exact pairs) and each text's representative.
    pub fn from_pairs(canonical: &'a [u32], pairs: Vec<Pair>, stats: PairStats) -> Clusters<'a> {
        let n = canonical.len();
        let mut copies = vec![0u32; n];
        for &c in canonical {
            copies[c as usize] += 1;
        }
        // Union by the smaller index, so a component's root is its first text: names derived
        // from it stay the same for the same data.
        let mut parent: Vec<u32> = canonical.to_vec();
        fn find(parent: &mut [u32], mut x: u32) -> u32 {
            while parent[x as usize] != x {
                let up = parent[parent[x as usize] as usize];
                parent[x as usize] = up;
                x = up;
            }
            x
        }
        for p in &pairs {
            let (a, b) = (find(&mut parent, p.a), find(&mut parent, p.b));
            if a != b {
                parent[a.max(b) as usize] = a.min(b);
            }
        }
        // A copy's representative is earlier than it, so a text's root is never later than it.
        let root: Vec<u32> = (0..n as u32).map(|i| find(&mut parent, i)).collect();
        Clusters {
            canonical,
            pairs,
            stats,
            root,
            copies,
        }
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        self.canonical.len()
    }

    pub fn is_empty(&self) -> bool {
        self.canonical.is_empty()
    }

    /// The smallest text of text `i`'s component.
    pub fn root(&self, i: u32) -> u32 {
        self.root[i as usize]
    }

    /// Copies of text `i`'s text, itself included.
    pub fn copies_of(&self, i: u32) -> u32 {
        self.copies[self.canonical[i as usize] as usize]
    }

    /// Components of at least two texts, each sorted, in order of their first text.
    pub fn components(&self) -> Vec<Vec<u32>> {
        let n = self.root.len();
        let mut size = vec![0u32; n];
        for &r in &self.root {
            size[r as usize] += 1;
        }
        let mut slot = vec![u32::MAX; n];
        let mut out: Vec<Vec<u32>> = Vec::new();
        for i in 0..n as u32 {
            let r = self.root[i as usize] as usize;
            if size[r] < 2 {
                continue;
            }
            if slot[r] == u32::MAX {
                slot[r] = out.len() as u32;
                out.push(Vec::with_capacity(size[r] as usize));
            }
            out[slot[r] as usize].push(i);
        }
        out
    }

    /// The verified pairs among representatives, grouped by component root.
    pub fn pairs_by_root(&self) -> FxHashMap<u32, Vec<Pair>> {
        let mut by: FxHashMap<u32, Vec<Pair>> = FxHashMap::default();
        for p in &self.pairs {
            by.entry(self.root[p.a as usize]).or_default().push(*p);
        }
        by
    }

    /// Pairs [`Index::pairs_since`]`(0)` would return, counted without enumerating them.
    pub fn pair_count(&self) -> u64 {
        pair_count(self.canonical, &self.pairs)
    }
}

/// Which text stands for which (its representative: the first with the same shingle set) and
/// how many copies each representative has: all a cluster's pair statistics need besides the
/// pairs among representatives. [`Clusters`] answers it for a batch, [`live::Live`] for a
/// sliding window.
pub trait Copies {
    /// Text `i`'s representative.
    fn canonical_of(&self, i: u32) -> u32;
    /// Copies of representative `rep`'s text, itself included.
    fn copies_of_rep(&self, rep: u32) -> u32;

    /// Pair count, mean and minimum similarity of a component, given its representatives' pairs
    /// and its members (copies included).
    fn summary(&self, members: &[u32], rep_pairs: &[Pair]) -> PairSummary {
        let mut pairs = 0u64;
        let mut sum = 0.0f64;
        let mut min = f64::INFINITY;
        for p in rep_pairs {
            let w = u64::from(self.copies_of_rep(p.a)) * u64::from(self.copies_of_rep(p.b));
            pairs += w;
            sum += w as f64 * p.jaccard;
            min = min.min(p.jaccard);
        }
        for &m in members {
            if self.canonical_of(m) == m {
                let g = u64::from(self.copies_of_rep(m));
                if g >= 2 {
                    let w = g * (g - 1) / 2;
                    pairs += w;
                    sum += w as f64;
                    min = min.min(1.0);
                }
            }
        }
        PairSummary {
            pairs,
            mean_jaccard: if pairs == 0 { 0.0 } else { sum / pairs as f64 },
            min_jaccard: if min.is_finite() { min } else { 1.0 },
        }
    }

    /// Per member of a component: its highest similarity to another text and its number of
    /// near-duplicates (degree in the pair graph), from the representatives' pairs.
    fn best_and_degree(&self, rep_pairs: &[Pair]) -> FxHashMap<u32, (f64, u64)> {
        let mut by_rep: FxHashMap<u32, (f64, u64)> = FxHashMap::default();
        for p in rep_pairs {
            for (x, y) in [(p.a, p.b), (p.b, p.a)] {
                let e = by_rep.entry(x).or_insert((0.0, 0));
                e.0 = e.0.max(p.jaccard);
                e.1 += u64::from(self.copies_of_rep(y));
            }
        }
        by_rep
    }

    /// Text `i`'s best similarity and degree, given [`Clusters::best_and_degree`] of its
    /// component.
    fn member_stats(&self, i: u32, by_rep: &FxHashMap<u32, (f64, u64)>) -> (f64, u64) {
        let rep = self.canonical_of(i);
        let g = u64::from(self.copies_of_rep(rep));
        let (best, degree) = by_rep.get(&rep).copied().unwrap_or((0.0, 0));
        if g >= 2 {
            (1.0f64.max(best), degree + g - 1)
        } else {
            (best, degree)
        }
    }
}

impl Copies for Clusters<'_> {
    fn canonical_of(&self, i: u32) -> u32 {
        self.canonical[i as usize]
    }

    fn copies_of_rep(&self, rep: u32) -> u32 {
        self.copies[rep as usize]
    }
}

/// The pairs among all texts that the verified pairs among representatives (`pairs`) and each
/// text's representative (`canonical`) stand for, counted without enumerating them or forming
/// clusters.
pub fn pair_count(canonical: &[u32], pairs: &[Pair]) -> u64 {
    let mut copies = vec![0u32; canonical.len()];
    for &c in canonical {
        copies[c as usize] += 1;
    }
    let mut n = 0u64;
    for p in pairs {
        n += u64::from(copies[p.a as usize]) * u64::from(copies[p.b as usize]);
    }
    for (i, &g) in copies.iter().enumerate() {
        if g >= 2 && canonical[i] == i as u32 {
            let g = u64::from(g);
            n += g * (g - 1) / 2;
        }
    }
    n
}

/// Texts buffered by [`BatchedIndex`] before they are shingled together.
pub const TEXT_BATCH: usize = 8192;

/// An [`Index`] fed one text at a time. Texts wait in a buffer of [`TEXT_BATCH`] and are shingled
/// and banded in parallel, then added in the order they came, so positions are the push order and
/// a caller streaming a store holds at most one batch of texts, never all of them.
pub struct BatchedIndex {
    index: Index,
    pending: Vec<String>,
}

impl BatchedIndex {
    pub fn new(index: Index) -> BatchedIndex {
        BatchedIndex {
            index,
            pending: Vec::new(),
        }
    }

    /// Adds a text; it takes the next position (the number of texts pushed before it).
    pub fn push(&mut self, text: String) {
        self.pending.push(text);
        if self.pending.len() >= TEXT_BATCH {
            self.flush();
        }
    }

    /// Texts pushed so far, indexed or waiting.
    pub fn len(&self) -> usize {
        self.index.len() + self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index with every text pushed so far in it.
    pub fn index(&mut self) -> &Index {
        self.flush();
        &self.index
    }

    /// [`BatchedIndex::index`], owned.
    pub fn into_index(mut self) -> Index {
        self.flush();
        self.index
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let shingles: Vec<Shingles> = self
            .pending
            .par_iter()
            .map(|t| Shingles::of_text(t))
            .collect();
        self.index.add_batch(shingles);
        self.pending.clear();
    }
}

impl Index {
    /// Every pair with Jaccard ≥ the threshold, without LSH: each pair of texts that share a
    /// shingle is counted and checked. Exact and quadratic in the texts per shingle; the truth
    /// against which the banded search is measured, on samples.
    pub fn exact_pairs(&self) -> Vec<Pair> {
        let mut postings: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for i in 0..self.sets.len() as u32 {
            for &h in self.set(i) {
                postings.entry(h).or_default().push(i);
            }
        }
        let mut common: FxHashMap<u64, u32> = FxHashMap::default();
        for list in postings.values() {
            for x in 0..list.len() {
                for y in x + 1..list.len() {
                    *common
                        .entry(u64::from(list[x]) << 32 | u64::from(list[y]))
                        .or_insert(0) += 1;
                }
            }
        }
        let mut pairs: Vec<Pair> = common
            .into_iter()
            .filter_map(|(k, c)| {
                let (a, b) = ((k >> 32) as u32, k as u32);
                let (la, lb) = (self.set(a).len(), self.set(b).len());
                let c = c as usize;
                let j = c as f64 / (la + lb - c) as f64;
                (j >= self.threshold).then_some(Pair {
                    a,
                    b,
                    jaccard: j,
                    containment: c as f64 / la.min(lb).max(1) as f64,
                })
            })
            .collect();
        pairs.sort_unstable_by_key(|p| (p.a, p.b));
        pairs
    }
}

/// A text's set hash (0 without shingles) and its shingles cut to 32 bits, sorted, as the index
/// keeps them.
fn prepare(s: &Shingles) -> (u64, Vec<u32>) {
    if s.is_empty() {
        return (0, Vec::new());
    }
    let mut compact: Vec<u32> = s.hashes().iter().map(|&h| (h >> 32) as u32).collect();
    compact.sort_unstable();
    compact.dedup();
    (set_hash(s), compact)
}

fn set_hash(s: &Shingles) -> u64 {
    let mut h = mix(s.len() as u64);
    for &x in s.hashes() {
        h = mix(h ^ x);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BASE: &str = "Київ готують до найважчої весни за останні роки: з першого квітня у столиці \
        нібито запровадять графіки відключень електроенергії тривалістю до шістнадцяти годин на добу, \
        а енергетики вже попередили мешканців багатоповерхівок про можливі перебої з водою та теплом. \
        Джерела в енергетичній галузі кажуть, що резервів немає і ситуація лише погіршуватиметься. \
        Влада поки що мовчить і не коментує ці повідомлення.";

    fn j(a: &str, b: &str) -> f64 {
        Shingles::of_text(a).jaccard(&Shingles::of_text(b))
    }

    fn found(a: &str, b: &str, threshold: f64) -> bool {
        let mut ix = Index::new(threshold);
        ix.add(Shingles::of_text(a));
        ix.add(Shingles::of_text(b));
        ix.add(Shingles::of_text("Зовсім інший текст про погоду в Карпатах і про сніг, який випав уночі на Говерлі, і про туристів."));
        let (pairs, _) = ix.pairs_since(0);
        pairs.iter().any(|p| p.a == 0 && p.b == 1)
    }

    #[test]
    fn case_changes() {
        assert_eq!(j(BASE, &BASE.to_uppercase()), 1.0);
        assert!(found(BASE, &BASE.to_lowercase(), 0.8));
    }

    /// Swaps one look-alike letter in every word (all of a one-letter word), as filter dodgers do.
    fn disguise(text: &str, map: &[(char, char)]) -> String {
        text.split(' ')
            .map(|w| {
                let mut done = false;
                w.chars()
                    .map(|c| match map.iter().find(|(k, _)| *k == c) {
                        Some(&(_, l)) if !done => {
                            done = true;
                            l
                        }
                        _ => c,
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn lookalike_letters_both_ways() {
        let latin_inside = disguise(
            BASE,
            &[('а', 'a'), ('о', 'o'), ('е', 'e'), ('і', 'i'), ('с', 'c')],
        );
        assert_ne!(latin_inside, BASE);
        assert_eq!(j(BASE, &latin_inside), 1.0);
        let en = "Kyiv is being prepared for the hardest spring in years: from the first of April the \
                  capital will supposedly introduce outage schedules of up to sixteen hours a day.";
        let cyr_inside = disguise(en, &[('o', 'о'), ('a', 'а'), ('e', 'е')]);
        assert_eq!(j(en, &cyr_inside), 1.0);
        assert!(found(BASE, &latin_inside, 0.8));
    }

    #[test]
    fn punctuation_and_emoji_noise() {
        let noisy = BASE
            .replace(", ", " 🔥🔥, ")
            .replace(". ", "!!! 😱 ")
            .replace(':', " ⚡️ —");
        assert!(j(BASE, &noisy) >= 0.95, "{}", j(BASE, &noisy));
        assert!(found(BASE, &noisy, 0.8));
    }

    #[test]
    fn inserted_hashtags_and_urls() {
        let noisy = format!(
            "#Київ #світло {} https://t.me/some_channel/123?utm_source=x @panic_news www.fake.example",
            BASE.replace("столиці", "столиці #терміново")
        );
        assert_eq!(j(BASE, &noisy), 1.0);
        assert!(found(BASE, &noisy, 0.8));
    }

    #[test]
    fn sentence_reordering() {
        let sentences: Vec<&str> = BASE.split_inclusive(". ").collect();
        let mut reordered = sentences.clone();
        reordered.reverse();
        let reordered = reordered.concat();
        assert!(j(BASE, &reordered) >= 0.8, "{}", j(BASE, &reordered));
        assert!(found(BASE, &reordered, 0.5));
    }

    #[test]
    fn truncation_to_half() {
        let words: Vec<&str> = BASE.split_whitespace().collect();
        let half = words[..words.len() / 2].join(" ");
        let jj = j(BASE, &half);
        assert!((0.45..0.5).contains(&jj), "{jj}");
        // Jaccard alone misses a copy cut to half at 0.5; containment finds it.
        let mut ix = Index::with_containment(0.5, 0.9);
        ix.add(Shingles::of_text(BASE));
        ix.add(Shingles::of_text(&half));
        let (pairs, _) = ix.pairs_since(0);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].containment, 1.0);
    }

    #[test]
    fn fast_path_look_alike_tables_match_folding() {
        for l in b'a'..=b'z' {
            let want = varta_text::fold::lookalikes_to_cyrillic(&(l as char).to_string());
            assert_eq!(
                latin_lookalike(l).map(|k| k.to_string()),
                want,
                "{}",
                l as char
            );
        }
        for k in ('а'..='я').chain("іїєґёѕј".chars()) {
            let want = varta_text::fold::lookalikes_to_latin(&k.to_string());
            assert_eq!(cyrillic_lookalike(k).map(|a| a.to_string()), want, "{k}");
        }
    }

    #[test]
    fn vectorized_signatures_equal_the_portable_one() {
        for n in [1usize, 7, 64, 300] {
            let hashes: Vec<u64> = (0..n as u64).map(|i| mix(i * 7919)).collect();
            let mut portable = [u32::MAX; NUM_HASHES];
            min_hashes(&hashes, &mut portable);
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut v = [u32::MAX; NUM_HASHES];
                    // SAFETY: AVX2 support checked just above.
                    unsafe { min_hashes_avx2(&hashes, &mut v) };
                    assert_eq!(v, portable);
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                {
                    let mut v = [u32::MAX; NUM_HASHES];
                    // SAFETY: AVX-512F/DQ support checked just above.
                    unsafe { min_hashes_avx512(&hashes, &mut v) };
                    assert_eq!(v, portable);
                }
            }
            assert_eq!(Shingles::from_hashes(hashes).signature(), Some(portable));
        }
    }

    #[test]
    fn a_wide_signature_begins_with_the_ordinary_one() {
        let s = Shingles::of_text(BASE);
        let (Some(narrow), Some(wide)) = (s.signature(), s.wide_signature()) else {
            panic!("a text with shingles has signatures");
        };
        assert_eq!(&wide[..NUM_HASHES], &narrow[..]);
        let hashes: Vec<u64> = (0..300u64).map(|i| mix(i * 7919)).collect();
        let mut portable = [u32::MAX; WIDE_HASHES];
        min_hashes(&hashes, &mut portable);
        assert_eq!(
            Shingles::from_hashes(hashes).wide_signature(),
            Some(portable)
        );
    }

    #[test]
    fn containment_banding_is_selective_on_a_wide_signature() {
        // Containment bands for 0.9 × 0.5: 128 values allow only 2 rows, 192 allow 3.
        let narrow = Banding::for_threshold(0.45);
        assert_eq!((narrow.bands, narrow.rows), (64, 2));
        let wide = Index::with_containment(0.5, 0.9).wide().banding();
        assert_eq!((wide.bands, wide.rows, wide.hashes), (64, 3, WIDE_HASHES));
        assert!(wide.candidate_probability(0.45) >= 0.995);
        assert!(wide.candidate_probability(0.1) < 0.1);
        assert!(narrow.candidate_probability(0.1) > 0.4);
    }

    #[test]
    fn fast_path_takes_plain_text() {
        let mut v = Vec::new();
        assert!(fast_word_hashes(BASE, &mut v));
        let mut v = Vec::new();
        assert!(fast_word_hashes(&BASE.replacen('а', "a", 1), &mut v));
        let mut v = Vec::new();
        assert!(!fast_word_hashes(&BASE.replacen('а', "ä", 1), &mut v));
    }

    #[test]
    fn unrelated_texts_do_not_pair() {
        assert!(!found(
            BASE,
            "Зовсім інший текст про погоду в Карпатах і про сніг.",
            0.5
        ));
    }

    #[test]
    fn short_texts_use_characters() {
        let a = Shingles::of_text("Світла не буде 16 годин!");
        let b = Shingles::of_text("Cвітла не буде 16 годин");
        assert_eq!(a.jaccard(&b), 1.0);
        assert!(a.len() > 5);
    }

    #[test]
    fn banding_is_tuned_to_the_threshold() {
        let b = Banding::for_threshold(0.5);
        assert_eq!(
            b,
            Banding {
                bands: 42,
                rows: 3,
                hashes: NUM_HASHES
            }
        );
        assert!(b.candidate_probability(0.5) >= 0.995);
        assert!(b.candidate_probability(0.1) < 0.05);
        let strict = Banding::for_threshold(0.8);
        assert!(strict.rows > b.rows);
        assert!(strict.candidate_probability(0.8) >= 0.995);
    }

    #[test]
    fn identical_copies_pair_with_everything_their_original_pairs_with() {
        let mut ix = Index::new(0.5);
        let near = BASE.replace("шістнадцяти", "сімнадцяти");
        for t in [BASE, BASE, &near, BASE] {
            ix.add(Shingles::of_text(t));
        }
        let (pairs, stats) = ix.pairs_since(0);
        assert_eq!(stats.banded, 2);
        let got: Vec<(u32, u32)> = pairs.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(got, [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
        for p in &pairs {
            let want = jaccard(ix.set(p.a), ix.set(p.b));
            assert!((p.jaccard - want).abs() < 1e-12);
        }
    }

    #[test]
    fn incremental_adds_find_only_new_pairs() {
        let mut ix = Index::new(0.5);
        ix.add(Shingles::of_text(BASE));
        ix.add(Shingles::of_text(&BASE.to_uppercase()));
        let (first, _) = ix.pairs_since(0);
        assert_eq!(first.len(), 1);
        let n = ix.add(Shingles::of_text(&BASE.replace("воду", "газ")));
        let (new, _) = ix.pairs_since(n);
        let got: Vec<(u32, u32)> = new.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(got, [(0, 2), (1, 2)]);
        let (all, _) = ix.pairs_since(0);
        assert_eq!(all.len(), 3);
    }

    fn set_strategy() -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::vec(0u64..400, 0..120).prop_map(|v| v.into_iter().map(mix).collect())
    }

    proptest! {
        /// Where the fast path answers, it answers as the general path does.
        #[test]
        fn fast_path_agrees_with_the_general_one(
            words in proptest::collection::vec(prop_oneof![
                8 => "[а-яА-ЯіїєґІЇЄҐёЁ0-9'’ʼ\u{200B}]{1,9}",
                1 => "[a-zA-Z0-9]{1,9}",
                1 => "[a-zA-Zа-я]{2,5}",
            ], 10..40),
            seps in proptest::collection::vec(prop_oneof![Just(" "), Just(", "), Just(". "), Just(" — "), Just(" 🔥 "), Just("\n"), Just(" #тег "), Just(" https://x.example/a "), Just("\u{a0}"), Just(" «")], 40),
        ) {
            let text: String = words.iter().zip(seps.iter().cycle()).map(|(w, s)| format!("{w}{s}")).collect();
            let mut fast = Vec::new();
            if fast_word_hashes(&text, &mut fast) {
                let mut hashes: Vec<u64> = fast
                    .windows(WORD_NGRAM)
                    .map(|w| mix(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42)))
                    .collect();
                hashes.sort_unstable();
                hashes.dedup();
                prop_assert_eq!(Shingles { hashes }, Shingles::of_text_general(&text));
            }
        }

        /// Signatures depend on the set only: order and repeats of shingles do not matter.
        #[test]
        fn signature_is_a_function_of_the_set(v in set_strategy()) {
            let mut rev = v.clone();
            rev.reverse();
            rev.extend(v.iter().take(5));
            let (a, b) = (Shingles::from_hashes(v), Shingles::from_hashes(rev));
            prop_assert_eq!(a.signature(), b.signature());
        }

        /// The share of equal signature values estimates the Jaccard similarity.
        #[test]
        fn signature_agreement_estimates_jaccard(common in 0usize..60, only_a in 0usize..60, only_b in 0usize..60) {
            prop_assume!(common + only_a + only_b > 0);
            let shared: Vec<u64> = (0..common as u64).map(mix).collect();
            let mut a = shared.clone();
            a.extend((0..only_a as u64).map(|i| mix(1_000_000 + i)));
            let mut b = shared;
            b.extend((0..only_b as u64).map(|i| mix(2_000_000 + i)));
            let (a, b) = (Shingles::from_hashes(a), Shingles::from_hashes(b));
            match (a.signature(), b.signature()) {
                (Some(sa), Some(sb)) => {
                    let agree = sa.iter().zip(&sb).filter(|(x, y)| x == y).count() as f64 / NUM_HASHES as f64;
                    // Five standard deviations of a 128-sample estimate at worst.
                    prop_assert!((agree - a.jaccard(&b)).abs() <= 0.23, "{} vs {}", agree, a.jaccard(&b));
                }
                _ => prop_assert!(a.is_empty() || b.is_empty()),
            }
        }

        /// Exact Jaccard is symmetric, in [0, 1], and 1 only for equal non-empty sets.
        #[test]
        fn jaccard_is_symmetric_and_bounded(a in set_strategy(), b in set_strategy()) {
            let (a, b) = (Shingles::from_hashes(a), Shingles::from_hashes(b));
            let (x, y) = (a.jaccard(&b), b.jaccard(&a));
            prop_assert_eq!(x, y);
            prop_assert!((0.0..=1.0).contains(&x));
            prop_assert_eq!(x == 1.0, a == b && !a.is_empty());
        }

        /// The banded search finds a subset of the exact pairs, with the same similarities.
        #[test]
        fn banded_pairs_are_among_the_exact_ones(sets in proptest::collection::vec(set_strategy(), 1..12)) {
            let mut ix = Index::new(0.3);
            for s in &sets {
                ix.add(Shingles::from_hashes(s.clone()));
            }
            let (banded, _) = ix.pairs_since(0);
            let exact = ix.exact_pairs();
            for p in &banded {
                prop_assert!(exact.iter().any(|e| e.a == p.a && e.b == p.b && (e.jaccard - p.jaccard).abs() < 1e-12));
            }
        }

        /// Clusters read from the distinct texts say what the pairs among all texts say: the
        /// same components, pair counts, mean and minimum similarity, and each text's best match
        /// and degree. Sets repeat (copies) and are added one by one and in batches.
        #[test]
        fn clusters_agree_with_the_expanded_pairs(
            distinct in proptest::collection::vec(set_strategy(), 1..8),
            picks in proptest::collection::vec(0usize..8, 1..40),
            batched in any::<bool>(),
        ) {
            let mut ix = Index::with_containment(0.3, 0.8);
            let texts: Vec<Shingles> = picks
                .iter()
                .map(|&k| Shingles::from_hashes(distinct[k % distinct.len()].clone()))
                .collect();
            if batched {
                ix.add_batch(texts);
            } else {
                for t in texts {
                    ix.add(t);
                }
            }
            let (pairs, _) = ix.pairs_since(0);
            let clusters = ix.clusters();
            prop_assert_eq!(clusters.pair_count(), pairs.len() as u64);
            // Components by union-find over the expanded pairs.
            let n = ix.len();
            let mut parent: Vec<usize> = (0..n).collect();
            fn find(p: &mut [usize], mut x: usize) -> usize {
                while p[x] != x { p[x] = p[p[x]]; x = p[x]; }
                x
            }
            for p in &pairs {
                let (a, b) = (find(&mut parent, p.a as usize), find(&mut parent, p.b as usize));
                if a != b { parent[a.max(b)] = a.min(b); }
            }
            let mut want: std::collections::BTreeMap<usize, Vec<u32>> = Default::default();
            for i in 0..n {
                let r = find(&mut parent, i);
                want.entry(r).or_default().push(i as u32);
            }
            let want: Vec<Vec<u32>> = want.into_values().filter(|c| c.len() >= 2).collect();
            let got = clusters.components();
            prop_assert_eq!(&got, &want);
            let by_root = clusters.pairs_by_root();
            for members in &got {
                let rep_pairs = by_root.get(&clusters.root(members[0])).cloned().unwrap_or_default();
                let inside: Vec<&Pair> = pairs.iter().filter(|p| members.contains(&p.a)).collect();
                let summary = clusters.summary(members, &rep_pairs);
                prop_assert_eq!(summary.pairs, inside.len() as u64);
                let mean = inside.iter().map(|p| p.jaccard).sum::<f64>() / inside.len() as f64;
                let min = inside.iter().map(|p| p.jaccard).fold(1.0, f64::min);
                prop_assert!((summary.mean_jaccard - mean).abs() < 1e-9);
                prop_assert!((summary.min_jaccard - min).abs() < 1e-12);
                let stats = clusters.best_and_degree(&rep_pairs);
                for &m in members {
                    let mine: Vec<&&Pair> = inside.iter().filter(|p| p.a == m || p.b == m).collect();
                    let best = mine.iter().map(|p| p.jaccard).fold(0.0, f64::max);
                    let (b, d) = clusters.member_stats(m, &stats);
                    prop_assert_eq!(d, mine.len() as u64);
                    prop_assert!((b - best).abs() < 1e-12);
                }
            }
        }

        /// Every reported pair is exact and above the threshold; pairs of identical sets are
        /// always found.
        #[test]
        fn reported_pairs_are_exact(sets in proptest::collection::vec(set_strategy(), 1..12)) {
            let mut ix = Index::new(0.5);
            for s in &sets {
                ix.add(Shingles::from_hashes(s.clone()));
            }
            let (pairs, _) = ix.pairs_since(0);
            for p in &pairs {
                prop_assert!(p.a < p.b);
                let want = jaccard(ix.set(p.a), ix.set(p.b));
                prop_assert!(want >= 0.5);
                prop_assert!((p.jaccard - want).abs() < 1e-12);
            }
            for a in 0..sets.len() as u32 {
                for b in a + 1..sets.len() as u32 {
                    if !ix.set(a).is_empty() && ix.set(a) == ix.set(b) {
                        prop_assert!(pairs.iter().any(|p| p.a == a && p.b == b));
                    }
                }
            }
        }
    }
}
