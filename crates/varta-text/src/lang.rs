//! Fast first-pass language identification for uk, ru and en, the languages Varta reads most.
//!
//! Ingest must keep up with tens of thousands of posts a second, so this pass looks only at letters
//! that one language has and its neighbours lack (і ї є ґ against ы э ъ ё) and at the commonest
//! function words. It answers `und` when a text is too short or the evidence is thin, leaving those
//! to a slower statistical identifier.

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
];
const EN_WORDS: &[&str] = &[
    "the", "and", "of", "to", "in", "is", "that", "for", "it", "was", "on", "with", "as", "are",
    "be", "this", "by", "at", "from", "have", "has", "not", "but", "were", "which", "will", "they",
    "their", "an", "or", "a", "he", "she", "said", "would", "after", "we", "our", "you", "your",
    "who", "what", "now", "just", "all", "more", "about", "been", "there", "than", "no", "yes",
    "how", "why", "its",
];
// Words shared by uk and ru ("не", "на", "до", "у", "в", …) are listed in both and cancel out.

const UK: u8 = 1;
const RU: u8 = 2;
const EN: u8 = 4;
const MAX_LISTED_CHARS: usize = 9;

/// Every listed word with the languages it belongs to: one hash lookup per word (string
/// comparisons against the lists were a tenth of ingest time).
fn word_table() -> &'static rustc_hash::FxHashMap<&'static str, u8> {
    static TABLE: std::sync::OnceLock<rustc_hash::FxHashMap<&'static str, u8>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = rustc_hash::FxHashMap::default();
        for (list, flag) in [(UK_WORDS, UK), (RU_WORDS, RU), (EN_WORDS, EN)] {
            for w in list {
                debug_assert!(w.chars().count() <= MAX_LISTED_CHARS);
                *t.entry(*w).or_insert(0) |= flag;
            }
        }
        t
    })
}

/// Identifies the language of `text` among uk, ru and en.
pub fn identify(text: &str) -> Guess {
    let (mut cyr, mut lat, mut uk_letters, mut ru_letters) = (0u32, 0u32, 0u32, 0u32);
    let (mut uk_w, mut ru_w, mut en_w, mut words) = (0u32, 0u32, 0u32, 0u32);
    // Long documents are decided well before their end; bound the work.
    let mut lower = String::new();
    // Links, handles and hashtags are written in Latin whatever the language of the text.
    for word in text
        .split_whitespace()
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
        .take(400)
    {
        words += 1;
        let mut chars = 0usize;
        for c in word.chars() {
            chars += 1;
            match c {
                'і' | 'ї' | 'є' | 'ґ' | 'І' | 'Ї' | 'Є' | 'Ґ' => {
                    uk_letters += 1;
                    cyr += 1;
                }
                'ы' | 'э' | 'ъ' | 'ё' | 'Ы' | 'Э' | 'Ъ' | 'Ё' => {
                    ru_letters += 1;
                    cyr += 1;
                }
                '\u{0400}'..='\u{04FF}' => cyr += 1,
                'a'..='z' | 'A'..='Z' => lat += 1,
                _ => {}
            }
        }
        // No listed word is longer than this; longer words need no lower-casing or lookup.
        if chars <= MAX_LISTED_CHARS {
            lower.clear();
            lower.extend(word.chars().flat_map(char::to_lowercase));
            if let Some(&flags) = word_table().get(lower.as_str()) {
                uk_w += u32::from(flags & UK != 0);
                ru_w += u32::from(flags & RU != 0);
                en_w += u32::from(flags & EN != 0);
            }
        }
    }
    let letters = cyr + lat;
    if letters < 8 {
        return Guess::UNDETERMINED;
    }
    if cyr * 10 >= letters * 6 {
        // Distinctive letters weigh more than function words: one "і" or "ы" is strong evidence.
        let uk = uk_letters as f32 * 3.0 + uk_w as f32;
        let ru = ru_letters as f32 * 3.0 + ru_w as f32;
        let total = uk + ru;
        if total < 1.0 {
            return Guess::UNDETERMINED;
        }
        let (lang, top) = if uk >= ru { ("uk", uk) } else { ("ru", ru) };
        if uk == ru {
            return Guess::UNDETERMINED;
        }
        let confidence = (top / total) * (1.0 - 1.0 / (1.0 + total / 3.0));
        return Guess { lang, confidence };
    }
    if lat * 10 >= letters * 6 && words >= 3 {
        let share = en_w as f32 / words as f32;
        if en_w >= 1 && share >= 0.08 {
            let confidence = (share * 3.0).min(1.0) * (1.0 - 1.0 / (1.0 + en_w as f32));
            return Guess {
                lang: "en",
                confidence,
            };
        }
    }
    Guess::UNDETERMINED
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
    fn short_or_unclear_is_und() {
        assert_eq!(identify("ok").lang, "und");
        assert_eq!(identify("12345 !!!").lang, "und");
        assert_eq!(identify("").lang, "und");
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
