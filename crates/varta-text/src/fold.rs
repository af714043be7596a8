//! Folding text for matching and search, kept apart from the stored original.
//!
//! Adversaries dodge filters by mixing scripts ("Укрaїна" with a Latin `a`), by using one of three
//! Ukrainian apostrophes, or by hiding zero-width characters inside words. Folding maps all of those
//! to one form, so that the index, the query and later the detectors see the same word.

use std::borrow::Cow;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// `char::is_alphanumeric` with fast paths for ASCII and Cyrillic, nearly all of what Varta reads:
/// the general lookup is a binary search over Unicode tables and showed up as the hottest function
/// of ingest.
#[inline]
pub fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    match c as u32 {
        0x0400..=0x0481 | 0x048A..=0x052F => true,
        // Cyrillic signs, and general punctuation (dashes, quotes, ellipsis, invisible marks).
        0x0482..=0x0489 | 0x2000..=0x206F => false,
        _ => c.is_alphanumeric(),
    }
}

/// True when `s` is certainly in NFKC: ASCII and the Cyrillic block (precomposed letters that NFC
/// composes back) are answered without the Unicode tables, other characters one at a time by the
/// quick check (an emoji or a dash in a long Cyrillic text used to send the whole text through
/// it); only a character whose answer depends on its neighbours sends the text to the full check.
fn is_plainly_nfkc(s: &str) -> bool {
    for c in s.chars() {
        if c.is_ascii() || matches!(c as u32, 0x0400..=0x0482 | 0x048A..=0x04FF) {
            continue;
        }
        match is_nfkc_quick(std::iter::once(c)) {
            IsNormalized::Yes if unicode_normalization::char::canonical_combining_class(c) == 0 => {
            }
            IsNormalized::No => return false,
            _ => return is_nfkc_quick(s.chars()) == IsNormalized::Yes,
        }
    }
    true
}

/// `char::is_alphabetic` with the same fast paths as [`is_alnum`].
#[inline]
pub fn is_alpha(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    match c as u32 {
        0x0400..=0x0481 | 0x048A..=0x052F => true,
        0x0482..=0x0489 | 0x2000..=0x206F => false,
        _ => c.is_alphabetic(),
    }
}

/// True for the characters a word is made of before folding: letters, digits, combining marks,
/// apostrophes (dropped by folding) and invisible characters (dropped too). Splitting raw text on
/// the others and folding each piece with [`fold_word`] gives the tokens of [`fold`] + [`tokens`]
/// without folding the whole text first.
#[inline]
pub fn is_word_char(c: char) -> bool {
    is_alnum(c) || is_apostrophe(c) || is_mark(c) || is_invisible(c)
}

/// Apostrophe-like characters that Ukrainian writers use interchangeably inside words.
fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{02BC}' | '\u{2018}' | '`' | '\u{00B4}' | '\u{02B9}'
    )
}

/// Characters that change nothing visible: zero-width, joiners, bidi controls, soft hyphen, BOM.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}' | '\u{0500}'..='\u{052F}')
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{00C0}'..='\u{024F}')
}

/// Lower-case Latin letters and the Cyrillic letters they are drawn like (after case folding, so
/// upper-case look-alikes such as H/Н and T/Т are covered through their lower-case forms).
const LOOKALIKES: &[(char, char)] = &[
    ('a', 'а'),
    ('b', 'в'),
    ('c', 'с'),
    ('e', 'е'),
    ('h', 'н'),
    ('i', 'і'),
    ('j', 'ј'),
    ('k', 'к'),
    ('m', 'м'),
    ('o', 'о'),
    ('p', 'р'),
    ('s', 'ѕ'),
    ('t', 'т'),
    ('x', 'х'),
    ('y', 'у'),
    ('ï', 'ї'),
];

fn latin_to_cyrillic(c: char) -> char {
    LOOKALIKES
        .iter()
        .find(|(l, _)| *l == c)
        .map_or(c, |(_, k)| *k)
}

fn cyrillic_to_latin(c: char) -> char {
    LOOKALIKES
        .iter()
        .find(|(_, k)| *k == c)
        .map_or(c, |(l, _)| *l)
}

/// Folds a text for search and matching: NFKC, lower case, `ё`→`е`, apostrophes removed inside words
/// (so "пов'язаних" and "повʼязаних" are one token), invisible characters dropped, and look-alike
/// letters of the minority script in a word replaced by those of the majority script.
///
/// Idempotent: `fold(fold(s)) == fold(s)`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word: Vec<char> = Vec::new();
    // NFKC first so that compatibility forms (full-width letters, ligatures) become plain letters
    // before case folding; lower-casing can un-normalize a few characters, hence the second pass.
    // Both passes are skipped when the quick check says the text is already normalized (almost
    // always: plain Cyrillic and Latin are).
    let lowered: String = if is_plainly_nfkc(s) {
        s.chars().flat_map(char::to_lowercase).collect()
    } else {
        s.nfkc().flat_map(char::to_lowercase).collect()
    };
    let normalized: Cow<'_, str> = if is_plainly_nfkc(&lowered) {
        Cow::Borrowed(&lowered)
    } else {
        Cow::Owned(lowered.nfkc().collect())
    };
    for c in normalized.chars() {
        if is_invisible(c) {
            continue;
        }
        let c = if c == 'ё' { 'е' } else { c };
        if is_alnum(c) || is_apostrophe(c) || is_mark(c) {
            if !is_apostrophe(c) {
                word.push(c);
            }
        } else {
            flush_word(&mut word, &mut out);
            out.push(c);
        }
    }
    flush_word(&mut word, &mut out);
    // Dropping an apostrophe or an invisible character can bring two combining marks together out
    // of canonical order; normalize once more so that folding stays idempotent.
    if is_plainly_nfkc(&out) {
        out
    } else {
        out.nfkc().collect()
    }
}

fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

fn flush_word(word: &mut Vec<char>, out: &mut String) {
    let (mut cyr, mut lat) = (0usize, 0usize);
    for &c in word.iter() {
        if is_cyrillic(c) {
            cyr += 1;
        } else if is_latin(c) {
            lat += 1;
        }
    }
    if cyr > 0 && lat > 0 {
        let map: fn(char) -> char = if cyr >= lat {
            latin_to_cyrillic
        } else {
            cyrillic_to_latin
        };
        out.extend(word.iter().map(|&c| map(c)));
    } else {
        out.extend(word.iter());
    }
    word.clear();
}

/// The word with its Latin letters replaced by the Cyrillic letters they are drawn like, when it
/// has Latin letters and every one of them has a look-alike ("a" → "а", "нa" → "на", "ce" → "се");
/// `None` otherwise. Folding decides a word by its own majority script and cannot decide "a" or
/// a tie; detectors use this where the text around the word is Cyrillic.
pub fn lookalikes_to_cyrillic(word: &str) -> Option<String> {
    swap_lookalikes(word, is_latin, latin_to_cyrillic)
}

/// [`lookalikes_to_cyrillic`] the other way: Cyrillic look-alikes in a word of a Latin text.
pub fn lookalikes_to_latin(word: &str) -> Option<String> {
    swap_lookalikes(word, is_cyrillic, cyrillic_to_latin)
}

fn swap_lookalikes(word: &str, from: fn(char) -> bool, map: fn(char) -> char) -> Option<String> {
    let mut any = false;
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if from(c) {
            let l = c.to_lowercase().next().unwrap_or(c);
            let k = map(l);
            if k == l {
                return None;
            }
            any = true;
            out.push(k);
        } else {
            out.push(c);
        }
    }
    any.then_some(out)
}

/// Folds one word (a run of letters, digits, apostrophes, marks and invisible characters, as the
/// search tokenizer cuts them) into `out`, which is cleared first. Equal to [`fold`] of the word;
/// a word of plain lower- or upper-case letters of one script, the common case, skips the Unicode
/// normalization machinery.
pub fn fold_word(word: &str, out: &mut String) {
    out.clear();
    let mut cyr = false;
    let mut lat = false;
    let plain = word.chars().all(|c| {
        if c.is_ascii_alphanumeric() {
            lat |= c.is_ascii_alphabetic();
            true
        } else if matches!(c as u32, 0x0410..=0x044F | 0x0400..=0x040F | 0x0450..=0x045F | 0x0490..=0x0491) {
            cyr = true;
            true
        } else {
            false
        }
    });
    if plain && !(cyr && lat) {
        for c in word.chars() {
            let l = if c.is_ascii() {
                c.to_ascii_lowercase()
            } else {
                cyrillic_lower(c)
            };
            out.push(if l == 'ё' { 'е' } else { l });
        }
    } else {
        out.push_str(&fold(word));
    }
}

/// Lower case of the basic Cyrillic letters (U+0400–U+045F, Ґ), without the Unicode tables; other
/// characters are returned unchanged.
#[inline]
pub fn cyrillic_lower(c: char) -> char {
    let u = c as u32;
    let l = match u {
        0x0410..=0x042F => u + 0x20,
        0x0400..=0x040F => u + 0x50,
        0x0490 => 0x0491,
        _ => u,
    };
    char::from_u32(l).unwrap_or(c)
}

/// Splits folded text into search tokens: maximal runs of letters and digits.
pub fn tokens(folded: &str) -> impl Iterator<Item = (usize, &str)> {
    folded
        .split(|c: char| !(is_alnum(c) || is_mark(c)))
        .filter(|t| !t.is_empty())
        .map(move |t| (t.as_ptr() as usize - folded.as_ptr() as usize, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn latin_lookalike_in_cyrillic_word() {
        assert_eq!(fold("Укрaїна"), fold("Україна"));
        assert_eq!(fold("УКРАЇНА"), "україна");
        // a Cyrillic `о` inside an English word folds back to Latin
        assert_eq!(fold("Zelenskоy"), "zelenskoy");
    }

    #[test]
    fn short_latin_words_as_cyrillic() {
        assert_eq!(lookalikes_to_cyrillic("a").as_deref(), Some("а"));
        assert_eq!(lookalikes_to_cyrillic("I").as_deref(), Some("і"));
        assert_eq!(lookalikes_to_cyrillic("нa").as_deref(), Some("на"));
        assert_eq!(lookalikes_to_cyrillic("of"), None);
        assert_eq!(lookalikes_to_cyrillic("на"), None);
        assert_eq!(lookalikes_to_latin("оf").as_deref(), Some("of"));
    }

    #[test]
    fn apostrophes_and_yo() {
        assert_eq!(fold("пов’язаних"), fold("пов'язаних"));
        assert_eq!(fold("повʼязаних"), "повязаних");
        assert_eq!(fold("Ёлка"), "елка");
    }

    #[test]
    fn fast_character_classes_agree_with_std() {
        for c in (0..0x3000u32).filter_map(char::from_u32) {
            assert_eq!(is_alnum(c), c.is_alphanumeric(), "{c:?}");
            assert_eq!(is_alpha(c), c.is_alphabetic(), "{c:?}");
        }
    }

    #[test]
    fn cyrillic_lower_case_agrees_with_std() {
        for c in (0x0400..0x0500u32).filter_map(char::from_u32) {
            if matches!(c as u32, 0x0410..=0x044F | 0x0400..=0x040F | 0x0450..=0x045F | 0x0490..=0x0491)
            {
                assert_eq!(
                    cyrillic_lower(c),
                    c.to_lowercase().next().unwrap_or(c),
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn compatibility_forms_fold() {
        assert_eq!(fold("ＵＫＲ ﬁ"), "ukr fi");
    }

    #[test]
    fn invisible_characters_are_dropped() {
        assert_eq!(fold("Укра\u{200B}їна"), "україна");
        assert_eq!(fold("a\u{202E}b"), "ab");
    }

    #[test]
    fn tokens_split_on_punctuation() {
        let f = fold("Київ, 16.10 — «Україна»!");
        let t: Vec<&str> = tokens(&f).map(|(_, t)| t).collect();
        assert_eq!(t, ["київ", "16", "10", "україна"]);
    }

    /// Disguises `clean` the way filter dodgers do: in each word, fewer than half of the letters that
    /// have a look-alike in the other script are swapped for it (keeping case), zero-width and
    /// bidi characters are slipped in, and apostrophes are exchanged for their look-alikes.
    fn disguise(clean: &str, swap: &[bool], hide: &[u8]) -> String {
        let mut out = String::new();
        let mut k = 0usize;
        for word in clean.split(' ') {
            if !out.is_empty() {
                out.push(' ');
            }
            let letters = word.chars().filter(|c| c.is_alphabetic()).count();
            let mut swapped = 0usize;
            for c in word.chars() {
                k += 1;
                let lower = c.to_lowercase().next().unwrap_or(c);
                let other = if is_cyrillic(lower) {
                    cyrillic_to_latin(lower)
                } else {
                    latin_to_cyrillic(lower)
                };
                let d = if other != lower && swapped * 2 + 2 < letters && swap[k % swap.len()] {
                    swapped += 1;
                    if c.is_uppercase() {
                        other.to_uppercase().next().unwrap_or(other)
                    } else {
                        other
                    }
                } else if c == '’' {
                    ['\'', 'ʼ', '’', '`'][k % 4]
                } else {
                    c
                };
                out.push(d);
                match hide[k % hide.len()] {
                    1 => out.push('\u{200B}'),
                    2 => out.push('\u{202E}'),
                    3 => out.push('\u{00AD}'),
                    _ => {}
                }
            }
        }
        out
    }

    #[test]
    fn disguise_really_mixes_scripts() {
        let d = disguise("Україна переможе", &[true], &[0]);
        assert_ne!(d, "Україна переможе");
        assert!(d.chars().any(|c| c.is_ascii_alphabetic()), "{d}");
        assert_eq!(fold(&d), fold("Україна переможе"));
    }

    proptest! {
        /// A homoglyph-disguised text folds to the fold of its clean form, for Cyrillic words
        /// with Latin look-alikes and Latin words with Cyrillic ones.
        #[test]
        fn disguised_text_folds_to_clean(
            clean in "[абвгдеєжзиіїйклмнопрстуфхцчшщьюяАБВЕІКМНОРСТХУ’]{1,12}( [абвгдеєжзиіїйклмнопрстуфхцчшщьюяАВЕІКМНОРСТХ]{1,12}| [a-zA-Z]{1,12}){0,8}",
            swap in proptest::collection::vec(any::<bool>(), 1..16),
            hide in proptest::collection::vec(0u8..6, 1..16),
        ) {
            let disguised = disguise(&clean, &swap, &hide);
            prop_assert_eq!(fold(&disguised), fold(&clean), "disguised as {:?}", disguised);
        }

        #[test]
        fn fold_word_equals_fold(s in "[a-zA-Z0-9а-яА-ЯіїєґІЇЄҐёЁЀѐ'’ʼ\u{200B}\u{0301}]{0,24}") {
            let mut out = String::new();
            fold_word(&s, &mut out);
            prop_assert_eq!(out, fold(&s));
        }

        #[test]
        fn fold_is_idempotent(s in "\\PC{0,64}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once);
        }

        #[test]
        fn fold_is_idempotent_on_mixed_scripts(s in "[a-zA-Zа-яА-ЯіїєґІЇЄҐёЁ'’ʼ\u{200B} .,-]{0,64}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once);
        }

        #[test]
        fn token_offsets_point_into_text(s in "\\PC{0,64}") {
            let f = fold(&s);
            for (off, t) in tokens(&f) {
                prop_assert_eq!(&f[off..off + t.len()], t);
            }
        }
    }
}
