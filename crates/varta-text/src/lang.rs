//! Language identification: a fast first pass for uk, ru and en, then lingua for the rest.
//!
//! Ingest must keep up with tens of thousands of posts a second, and nearly all of them are in
//! Ukrainian, Russian or English. The first pass looks at letters that one language has and its
//! neighbours lack (і ї є ґ against ы э ъ ё) and at the commonest function words, one hash lookup a
//! word, and decides when that evidence is clear. Anything else (short texts without telling
//! letters, Belarusian, Bulgarian, Kazakh, Polish, German, French, Spanish, mixed texts) goes to
//! lingua, restricted to the languages Varta reports, whose n-gram models are slower but know those
//! languages. Texts with too few letters are `und`.

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
use std::sync::OnceLock;

/// A language code (ISO 639-1, or `und`) with a confidence in 0..=1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Guess {
    pub lang: &'static str,
    pub confidence: f32,
}

impl Guess {
    pub const UNDETERMINED: Guess = Guess {
        lang: "und",
        confidence: 0.0,
    };
}

/// The languages Varta identifies, as ISO 639-1 codes. Others come out as the closest of these or
/// `und`.
pub const LANGUAGES: &[&str] = &["uk", "ru", "en", "be", "bg", "kk", "pl", "de", "fr", "es"];

const LINGUA_LANGUAGES: &[Language] = &[
    Language::Ukrainian,
    Language::Russian,
    Language::English,
    Language::Belarusian,
    Language::Bulgarian,
    Language::Kazakh,
    Language::Polish,
    Language::German,
    Language::French,
    Language::Spanish,
];

/// Words of a text that the second pass reads.
const LINGUA_MAX_WORDS: usize = 100;

/// Fewer letters than this (links, handles and hashtags not counted) say nothing reliable.
const MIN_LETTERS: u32 = 8;

const UK_WORDS: &[&str] = &[
    "і",
    "й",
    "та",
    "що",
    "це",
    "як",
    "від",
    "для",
    "при",
    "які",
    "який",
    "яка",
    "також",
    "його",
    "її",
    "він",
    "вона",
    "вони",
    "але",
    "щоб",
    "буде",
    "було",
    "були",
    "був",
    "через",
    "після",
    "під",
    "над",
    "цього",
    "року",
    "україни",
    "україна",
    "не",
    "на",
    "до",
    "з",
    "із",
    "зі",
    "у",
    "в",
    "вже",
    "хто",
    "ще",
    "цей",
    "ця",
    "ці",
    "має",
    "мають",
    "дуже",
    "коли",
    "тому",
    "якщо",
    "або",
    "лише",
    "тільки",
    "зараз",
    "сьогодні",
    "вчора",
    "завтра",
    "ось",
    "оце",
    "треба",
    "можна",
    "щодо",
    "нас",
    "вас",
    "нам",
    "чи",
    "де",
    "тут",
    "теж",
    "навіть",
    "все",
    "всі",
    "ніж",
    "бо",
    "проте",
    "себе",
    "свої",
    "своїх",
];
const RU_WORDS: &[&str] = &[
    "и",
    "что",
    "это",
    "как",
    "от",
    "для",
    "при",
    "которые",
    "который",
    "также",
    "его",
    "её",
    "ее",
    "он",
    "она",
    "они",
    "но",
    "чтобы",
    "будет",
    "было",
    "были",
    "был",
    "через",
    "после",
    "под",
    "над",
    "этого",
    "года",
    "россии",
    "не",
    "на",
    "до",
    "с",
    "из",
    "у",
    "в",
    "же",
    "только",
    "или",
    "уже",
    "кто",
    "еще",
    "этот",
    "эта",
    "эти",
    "очень",
    "когда",
    "потому",
    "если",
    "лишь",
    "сейчас",
    "сегодня",
    "вчера",
    "завтра",
    "вот",
    "надо",
    "нужно",
    "можно",
    "ли",
    "ничего",
    "тоже",
    "такой",
    "даже",
    "где",
    "здесь",
    "всё",
    "все",
    "чем",
    "себя",
    "свои",
    "своих",
    "правда",
    "будут",
    "просто",
    "нет",
    "нас",
    "вас",
    "нам",
    "вам",
    "мы",
];
const EN_WORDS: &[&str] = &[
    "the", "and", "of", "to", "in", "is", "that", "for", "it", "was", "on", "with", "as", "are",
    "be", "this", "by", "at", "from", "have", "has", "not", "but", "were", "which", "will", "they",
    "their", "an", "or", "a", "he", "she", "said", "would", "after", "we", "our", "you", "your",
    "who", "what", "now", "just", "all", "more", "about", "been", "there", "than", "no", "yes",
    "how", "why", "its",
];

/// Function words of the neighbours, so that their texts go to the second pass. Words they share
/// with uk, ru or en are harmless here: a word flagged for several languages decides nothing.
const BG_WORDS: &[&str] = &[
    "че",
    "са",
    "е",
    "във",
    "със",
    "към",
    "това",
    "тази",
    "този",
    "които",
    "която",
    "който",
    "няма",
    "също",
    "според",
    "обаче",
    "бъде",
    "съм",
    "сме",
    "сте",
    "беше",
    "тя",
    "той",
    "пък",
    "ги",
    "му",
    "нещо",
    "някой",
    "защото",
    "когато",
    "трябва",
    "днес",
    "вече",
    "години",
    "година",
];
const BE_WORDS: &[&str] = &[
    "гэта",
    "што",
    "калі",
    "вельмі",
    "яшчэ",
    "таксама",
    "ад",
    "каб",
    "будзе",
    "быў",
    "праз",
    "пасля",
    "яго",
    "яна",
    "яны",
    "беларусі",
    "беларусь",
    "ўжо",
    "цяпер",
    "сёння",
    "усё",
    "усе",
    "дзе",
];
const DE_WORDS: &[&str] = &[
    "der", "das", "und", "ist", "nicht", "mit", "sich", "auf", "für", "ein", "eine", "einen",
    "den", "dem", "des", "von", "zu", "im", "auch", "wird", "werden", "sind", "bei", "oder", "aus",
    "nach", "wie", "über", "noch", "nur", "ich", "sie", "es", "wir",
];
const FR_WORDS: &[&str] = &[
    "le", "la", "les", "du", "et", "est", "une", "un", "pour", "dans", "qui", "pas", "sur", "au",
    "avec", "ce", "il", "elle", "sont", "par", "nous", "vous", "cette", "mais", "ou", "leur",
    "aussi",
];
const ES_WORDS: &[&str] = &[
    "el", "los", "las", "del", "y", "es", "una", "por", "con", "para", "que", "se", "su", "lo",
    "como", "pero", "sus", "al", "muy", "fue", "ha",
];
const PL_WORDS: &[&str] = &[
    "w", "z", "na", "się", "nie", "jest", "że", "jak", "dla", "od", "po", "ale", "tak", "są",
    "przez", "czy", "jego", "jej", "oraz", "już", "tylko", "może",
];

// Word flags: which languages a listed function word belongs to. Words shared by uk and ru ("не",
// "на", "до", "у", "в", …) are listed in both and cancel out.
const UK: u8 = 1;
const RU: u8 = 2;
const EN: u8 = 4;
/// Bulgarian: a Cyrillic neighbour that the first pass must not call ru.
const BG: u8 = 8;
/// Belarusian: a Cyrillic neighbour that the first pass must not call uk or ru.
const BE: u8 = 32;
/// Polish, German, French or Spanish: Latin-script neighbours that must not be called en.
const LAT_OTHER: u8 = 16;
const MAX_LISTED_CHARS: usize = 9;

/// Every listed word with the languages it belongs to: one hash lookup per word (string
/// comparisons against the lists were a tenth of ingest time).
fn word_table() -> &'static rustc_hash::FxHashMap<&'static str, u8> {
    static TABLE: OnceLock<rustc_hash::FxHashMap<&'static str, u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = rustc_hash::FxHashMap::default();
        for (list, flag) in [
            (UK_WORDS, UK),
            (RU_WORDS, RU),
            (EN_WORDS, EN),
            (BG_WORDS, BG),
            (BE_WORDS, BE),
            (DE_WORDS, LAT_OTHER),
            (FR_WORDS, LAT_OTHER),
            (ES_WORDS, LAT_OTHER),
            (PL_WORDS, LAT_OTHER),
        ] {
            for w in list {
                debug_assert!(w.chars().count() <= MAX_LISTED_CHARS);
                *t.entry(*w).or_insert(0) |= flag;
            }
        }
        t
    })
}

/// What the first pass saw in a text.
#[derive(Default, Debug)]
struct Evidence {
    cyr: u32,
    lat: u32,
    /// Latin letters outside ASCII (ą, ß, é, ñ, …): never English.
    lat_accented: u32,
    uk_letters: u32,
    ru_letters: u32,
    /// Letters of Cyrillic languages other than uk and ru: ў (be), ә ғ қ ң ө ұ ү һ (kk),
    /// ђ ј љ њ ћ џ ѓ ќ ѕ (sr, mk), and ъ before a consonant (bg; Russian writes ъ only before е ё ю я).
    cyr_other_letters: u32,
    uk_w: u32,
    ru_w: u32,
    en_w: u32,
    en_only_w: u32,
    bg_w: u32,
    be_w: u32,
    lat_other_w: u32,
    words: u32,
    cyr_words: u32,
}

impl Evidence {
    /// Signs that a Cyrillic text may be Belarusian, Bulgarian, Kazakh, Serbian or Macedonian
    /// rather than Ukrainian or Russian. Bulgarian has none of і ї є ґ ы э ё, so its function
    /// words count only where those letters are absent.
    fn neighbour_evidence(&self) -> bool {
        self.cyr_other_letters > 0
            || self.be_w > 0
            || (self.uk_letters > 0 && self.ru_letters > 0)
            || (self.bg_w > 0 && self.uk_letters == 0 && self.ru_letters == 0)
    }
}

/// The first pass: `Some` when the evidence for uk, ru or en is clear.
fn first_pass(text: &str) -> (Option<Guess>, Evidence) {
    let mut e = Evidence::default();
    let mut lower = String::new();
    let mut folded: String;
    for word in words(text).take(400) {
        e.words += 1;
        // Look-alike letters hidden in a word ("Укрaїна" with a Latin a) are read as the word's
        // majority script, as search folds them.
        let (mut c_n, mut l_n) = (0u32, 0u32);
        for c in word.chars() {
            match c {
                '\u{0400}'..='\u{04FF}' => c_n += 1,
                c if c.is_ascii_alphabetic() => l_n += 1,
                _ => {}
            }
        }
        let word = if c_n > 0 && l_n > 0 {
            folded = crate::fold::fold(word);
            folded.as_str()
        } else {
            word
        };
        let mut chars = 0usize;
        let mut prev_hard_sign = false;
        let mut word_cyr = false;
        for c in word.chars() {
            chars += 1;
            if prev_hard_sign && !matches!(c, 'е' | 'ё' | 'ю' | 'я' | 'Е' | 'Ё' | 'Ю' | 'Я')
            {
                e.cyr_other_letters += 1;
            }
            prev_hard_sign = false;
            match c {
                'і' | 'ї' | 'є' | 'ґ' | 'І' | 'Ї' | 'Є' | 'Ґ' => {
                    e.uk_letters += 1;
                    e.cyr += 1;
                    word_cyr = true;
                }
                'ъ' | 'Ъ' => {
                    prev_hard_sign = true;
                    e.ru_letters += 1;
                    e.cyr += 1;
                    word_cyr = true;
                }
                'ы' | 'э' | 'ё' | 'Ы' | 'Э' | 'Ё' => {
                    e.ru_letters += 1;
                    e.cyr += 1;
                    word_cyr = true;
                }
                'ў' | 'Ў' | 'ә' | 'Ә' | 'ғ' | 'Ғ' | 'қ' | 'Қ' | 'ң' | 'Ң' | 'ө' | 'Ө' | 'ұ'
                | 'Ұ' | 'ү' | 'Ү' | 'һ' | 'Һ' | 'ђ' | 'Ђ' | 'ј' | 'Ј' | 'љ' | 'Љ' | 'њ' | 'Њ'
                | 'ћ' | 'Ћ' | 'џ' | 'Џ' | 'ѓ' | 'Ѓ' | 'ќ' | 'Ќ' | 'ѕ' | 'Ѕ' => {
                    e.cyr_other_letters += 1;
                    e.cyr += 1;
                    word_cyr = true;
                }
                '\u{0400}'..='\u{04FF}' => {
                    e.cyr += 1;
                    word_cyr = true;
                }
                'a'..='z' | 'A'..='Z' => e.lat += 1,
                '\u{00C0}'..='\u{024F}' if c != '×' && c != '÷' => {
                    e.lat += 1;
                    e.lat_accented += 1;
                }
                _ => {}
            }
        }
        if prev_hard_sign {
            e.cyr_other_letters += 1;
        }
        e.cyr_words += u32::from(word_cyr);
        // No listed word is longer than this; longer words need no lower-casing or lookup.
        if chars <= MAX_LISTED_CHARS {
            lower.clear();
            lower.extend(word.chars().flat_map(char::to_lowercase));
            if let Some(&flags) = word_table().get(lower.as_str()) {
                e.uk_w += u32::from(flags & UK != 0);
                e.ru_w += u32::from(flags & RU != 0);
                e.en_w += u32::from(flags & EN != 0);
                e.en_only_w += u32::from(flags == EN);
                e.bg_w += u32::from(flags & BG != 0 && flags & (UK | RU) == 0);
                e.be_w += u32::from(flags & BE != 0 && flags & (UK | RU) == 0);
                e.lat_other_w += u32::from(flags & LAT_OTHER != 0 && flags & EN == 0);
            }
        }
    }
    let letters = e.cyr + e.lat;
    if letters < MIN_LETTERS {
        return (None, e);
    }
    // Latin words in a Cyrillic text are mostly names and brands ("Windows", "PC Magazine"): a
    // text with a fair share of Cyrillic is read as a Cyrillic-script text.
    if e.cyr * 10 >= letters * 3 {
        if e.neighbour_evidence() {
            return (None, e);
        }
        // Distinctive letters weigh more than function words: one "і" or "ы" is strong evidence.
        let uk = e.uk_letters as f32 * 3.0 + e.uk_w as f32;
        let ru = e.ru_letters as f32 * 3.0 + e.ru_w as f32;
        let total = uk + ru;
        // A function word or two alone is thin (Russian proverbs say "коли"; "не", "на" are
        // everyone's): without a telling letter, demand a clear lead.
        let clear = if e.uk_letters + e.ru_letters > 0 {
            uk != ru
        } else {
            (uk - ru).abs() >= 3.0
        };
        if !clear {
            return (None, e);
        }
        let (lang, top) = if uk > ru { ("uk", uk) } else { ("ru", ru) };
        let confidence = (top / total) * (1.0 - 1.0 / (1.0 + total / 3.0));
        return (Some(Guess { lang, confidence }), e);
    }
    // Names ("Van Der Beek", "al-Tanf", "Dräger") bring a stray foreign word or accent into
    // English; a text of the neighbours has them throughout.
    if e.lat * 10 >= letters * 6
        && e.words >= 3
        && e.lat_accented * 20 <= e.lat
        && e.lat_other_w * 4 <= e.en_only_w
    {
        let share = e.en_w as f32 / e.words as f32;
        if e.en_only_w >= 2 && share >= 0.08 {
            let confidence = (share * 3.0).min(1.0) * (1.0 - 1.0 / (1.0 + e.en_w as f32));
            return (
                Some(Guess {
                    lang: "en",
                    confidence,
                }),
                e,
            );
        }
    }
    (None, e)
}

/// The words of a text that say something about its language: links, handles and hashtags are
/// written in Latin whatever the language, so they are skipped.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
        .filter(|t| {
            !(t.contains("://")
                || t.starts_with("www.")
                || t.starts_with('@')
                || t.starts_with('#'))
        })
        .flat_map(|t| {
            t.split(|c: char| !(crate::fold::is_alpha(c) || c == '\'' || c == '’' || c == 'ʼ'))
        })
        .filter(|w| !w.is_empty())
}

fn detector() -> &'static LanguageDetector {
    static DETECTOR: OnceLock<LanguageDetector> = OnceLock::new();
    DETECTOR.get_or_init(|| LanguageDetectorBuilder::from_languages(LINGUA_LANGUAGES).build())
}

/// Ukrainian against Russian only, for Cyrillic texts that show nothing of the neighbours: lingua
/// has no priors and calls many short Russian texts Bulgarian, and two models run faster than five.
fn uk_ru_detector() -> &'static LanguageDetector {
    static DETECTOR: OnceLock<LanguageDetector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        LanguageDetectorBuilder::from_languages(&[Language::Ukrainian, Language::Russian]).build()
    })
}

/// Loads lingua's models now rather than at the first text that needs them (they take a few
/// hundred milliseconds), e.g. on a background thread while input is opened.
pub fn preload() {
    for sample in ["Добрий день, як справи?", "Good morning, how are you?"] {
        let _ = detector().compute_language_confidence_values(sample);
    }
    let _ = uk_ru_detector().compute_language_confidence_values("Добрий день");
}

fn code(l: Language) -> &'static str {
    match l {
        Language::Ukrainian => "uk",
        Language::Russian => "ru",
        Language::English => "en",
        Language::Belarusian => "be",
        Language::Bulgarian => "bg",
        Language::Kazakh => "kk",
        Language::Polish => "pl",
        Language::German => "de",
        Language::French => "fr",
        Language::Spanish => "es",
        #[allow(unreachable_patterns)]
        _ => "und",
    }
}

/// The second pass: lingua over the words the first pass read.
fn second_pass(text: &str, e: &Evidence) -> Guess {
    let cyrillic_text = e.cyr * 10 >= (e.cyr + e.lat) * 3;
    // In a Cyrillic text, Latin words (names, brands) only mislead the n-gram models.
    let mut input = String::with_capacity(text.len());
    // A hundred words decide as well as a whole article, at a fraction of the n-gram lookups.
    for w in words(text).take(LINGUA_MAX_WORDS) {
        if cyrillic_text && !w.chars().any(|c| matches!(c, '\u{0400}'..='\u{04FF}')) {
            continue;
        }
        if !input.is_empty() {
            input.push(' ');
        }
        input.push_str(w);
    }
    let detector = if cyrillic_text && !e.neighbour_evidence() {
        uk_ru_detector()
    } else {
        detector()
    };
    let values = detector.compute_language_confidence_values(&input);
    let Some(&(top, p)) = values.first() else {
        return Guess::UNDETERMINED;
    };
    if p <= 0.0 {
        return Guess::UNDETERMINED;
    }
    let mut lang = code(top);
    let mut confidence = p;
    // A function word or two that only one of uk and ru has ("це", "оце" against "и", "что")
    // is a lean the first pass did not trust alone; it outweighs an n-gram guess that is itself
    // unsure, which is what short texts get.
    let lean = if e.uk_letters + e.ru_letters == 0 && e.uk_w != e.ru_w {
        Some(if e.uk_w > e.ru_w { "uk" } else { "ru" })
    } else {
        None
    };
    if cyrillic_text
        && let Some(lean) = lean
        && lean != lang
        && let Some(&(l, q)) = values.iter().find(|(l, _)| code(*l) == lean)
        && p < 0.75
    {
        lang = code(l);
        confidence = q;
    }
    Guess {
        lang,
        confidence: confidence as f32,
    }
}

/// Identifies the language of `text`: uk, ru, en, be, bg, kk, pl, de, fr, es, or `und` when the
/// text has too few letters.
pub fn identify(text: &str) -> Guess {
    let (first, e) = first_pass(text);
    if let Some(g) = first {
        return g;
    }
    if e.cyr + e.lat < MIN_LETTERS {
        return hashtags_only(text);
    }
    second_pass(text, &e)
}

/// A post that is nothing but hashtags ("#ДумкиВголос #ДиваннаФілософія") still shows its language
/// when the tags are Cyrillic; Latin tags are too often English slogans in any language's post.
fn hashtags_only(text: &str) -> Guess {
    if !text.contains('#') {
        return Guess::UNDETERMINED;
    }
    let untagged: String = text
        .split_whitespace()
        .filter_map(|t| t.strip_prefix('#'))
        .collect::<Vec<_>>()
        .join(" ");
    let (first, e) = first_pass(&untagged);
    if e.cyr + e.lat < MIN_LETTERS || e.cyr * 10 < (e.cyr + e.lat) * 6 {
        return Guess::UNDETERMINED;
    }
    let g = first.unwrap_or_else(|| second_pass(&untagged, &e));
    if matches!(g.lang, "uk" | "ru" | "be" | "bg" | "kk") {
        g
    } else {
        Guess::UNDETERMINED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_uk_ru_en_apart() {
        assert_eq!(
            identify("Президент України провів відеоконференцію з представниками компанії").lang,
            "uk"
        );
        assert_eq!(
            identify("Президент России провёл видеоконференцию с представителями компании").lang,
            "ru"
        );
        assert_eq!(
            identify("The president held a video conference with the company's representatives")
                .lang,
            "en"
        );
    }

    #[test]
    fn short_posts_by_function_words() {
        assert_eq!(
            identify("Хто ще дивився вчора футбол? Оце була гра!").lang,
            "uk"
        );
        assert_eq!(
            identify("Муж спрашивает, правда ли что будут блокировать симки").lang,
            "ru"
        );
        assert_eq!(
            identify("А я вже павербанк замовила, бо світла не буде").lang,
            "uk"
        );
    }

    #[test]
    fn links_and_handles_do_not_count() {
        let g = identify("Україна переможе! #Перемога @NewsUA https://t.example/a?utm_source=x");
        assert_eq!(g.lang, "uk");
    }

    #[test]
    fn cyrillic_hashtags_alone_tell_the_language() {
        assert_eq!(
            identify("#ДумкиВголос #ДиваннаФілософія #ШкідливіПоради").lang,
            "uk"
        );
        assert_eq!(identify("#StandWithUkraine #news #breaking").lang, "und");
    }

    #[test]
    fn short_or_unclear_is_und() {
        assert_eq!(identify("ok").lang, "und");
        assert_eq!(identify("12345 !!!").lang, "und");
        assert_eq!(identify("").lang, "und");
    }

    #[test]
    fn neighbours_are_not_called_uk_ru_or_en() {
        let cases = [
            (
                "be",
                "Беларусь заўсёды была краінай з багатай гісторыяй і культурай.",
            ),
            ("be", "Гэта вельмі добрая навіна для ўсіх жыхароў горада."),
            ("bg", "България е член на Европейския съюз от 2007 година."),
            ("bg", "Той каза, че ще дойде утре сутринта."),
            ("kk", "Қазақстан Республикасы Орталық Азиядағы мемлекет."),
            (
                "pl",
                "Polska jest członkiem Unii Europejskiej od 2004 roku.",
            ),
            ("pl", "Rząd przyjął nową ustawę o ochronie środowiska."),
            (
                "de",
                "Die Bundesregierung hat heute neue Sanktionen gegen Russland beschlossen.",
            ),
            ("de", "Das ist nicht die ganze Wahrheit über den Krieg."),
            (
                "fr",
                "Le gouvernement a annoncé de nouvelles mesures contre la désinformation.",
            ),
            ("fr", "Les élections auront lieu au mois de mai."),
            (
                "es",
                "El gobierno anunció nuevas medidas contra la desinformación en las redes.",
            ),
            (
                "es",
                "Los periodistas publicaron una investigación sobre la campaña.",
            ),
        ];
        for (want, text) in cases {
            assert_eq!(identify(text).lang, want, "{text}");
        }
    }

    #[test]
    fn look_alike_letters_do_not_hide_the_language() {
        // Latin o, e, c inside Russian words.
        assert_eq!(
            identify("Тeпeрь мoжнo нe бoятьcя чeлoвeкa c винчecтeрoм!").lang,
            "ru"
        );
        // Brands in Latin inside a Russian text.
        assert_eq!(
            identify("Выпущена Windows 99! (PC Magazine, апрель 2013)").lang,
            "ru"
        );
    }

    #[test]
    fn short_texts_go_to_the_second_pass() {
        assert_eq!(identify("Своя мошна не тянет.").lang, "ru");
        assert_eq!(identify("Оце ти молодчиночка!").lang, "uk");
    }

    #[test]
    fn confidence_in_range() {
        for t in [
            "Це дуже важливо для всіх нас",
            "Это очень важно",
            "This is very important to us",
        ] {
            let g = identify(t);
            assert!((0.0..=1.0).contains(&g.confidence), "{t}: {g:?}");
        }
    }
}
