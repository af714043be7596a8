//! Plain text with scraper leftovers.
//!
//! Many collections of Ukrainian and Russian news reach us as text that a scraper cut out of a page
//! together with whatever surrounded the article: accessibility and language menus, "Outdated
//! Browser" banners with usage shares, comment widgets, login prompts, share and print buttons,
//! photo credits. Such lines would join unrelated articles from one site in near-duplicate
//! detection and pollute claim matching, so they are removed here line by line, and the title and
//! publication date are recovered from the text itself.

use crate::dates::{find_date_in_text, find_strong_date_in_text};
use chrono::{DateTime, Utc};

/// What [`clean`] keeps of a scraped text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CleanText {
    pub title: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// Main text without boilerplate lines, paragraphs separated by blank lines.
    pub text: String,
}

/// A title longer than this is a paragraph.
const MAX_TITLE_CHARS: usize = 300;
/// The date is looked for in this many leading lines first: the date of an article sits near
/// its title, while dates further down belong to the story.
const DATE_HEAD_LINES: usize = 12;

/// Removes boilerplate lines and finds the title and date. `collected_at` anchors relative dates.
pub fn clean(text: &str, collected_at: DateTime<Utc>) -> CleanText {
    let lines = classify(text);
    let content: Vec<&Line> = lines
        .iter()
        .filter(|l| l.kind == LineKind::Content)
        .collect();

    let date_line = content
        .iter()
        .take(DATE_HEAD_LINES)
        .position(|l| is_date_line(&l.text, collected_at));
    // Without a date line, only a full date near the top counts: a bare "29 листопада" or
    // "сьогодні" in running text is about the story, not about when it was published.
    let published_at = match date_line {
        Some(i) => find_date_in_text(&content[i].text, collected_at),
        None => {
            let head: Vec<&str> = content
                .iter()
                .take(DATE_HEAD_LINES)
                .map(|l| l.text.as_str())
                .collect();
            find_strong_date_in_text(&head.join("\n"), collected_at)
        }
    };

    // The title is the first substantial line, and it comes before the date line when there is
    // one; a lone paragraph is not a title.
    let title_limit = date_line.unwrap_or(content.len().min(3));
    let title_idx = content
        .iter()
        .take(title_limit)
        .position(|l| is_title_like(&l.text) && content.len() > 1);
    let title = title_idx.map(|i| content[i].text.clone());

    let mut paragraphs: Vec<String> = Vec::new();
    let mut prev_pushed = false;
    for (i, line) in content.iter().enumerate() {
        if Some(i) == title_idx
            || Some(i) == date_line
            || title.as_deref().is_some_and(|t| same_text(t, &line.text))
        {
            prev_pushed = false;
            continue;
        }
        if line.joins_previous
            && prev_pushed
            && let Some(last) = paragraphs.last_mut()
        {
            last.push(' ');
            last.push_str(&line.text);
            continue;
        }
        paragraphs.push(line.text.clone());
        prev_pushed = true;
    }
    CleanText {
        title,
        published_at,
        text: paragraphs.join("\n\n"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineKind {
    Content,
    Boilerplate,
}

#[derive(Debug)]
struct Line {
    /// The line with its whitespace collapsed.
    text: String,
    kind: LineKind,
    /// A hard-wrapped continuation of the line before it.
    joins_previous: bool,
}

fn classify(text: &str) -> Vec<Line> {
    let raw: Vec<&str> = text.lines().collect();
    let wrapped_text = is_hard_wrapped(&raw);
    let mut out: Vec<Line> = Vec::with_capacity(raw.len());
    let mut in_browser_block = false;
    let mut prev_blank = true;
    let mut prev_wrapped = false;
    for (i, r) in raw.iter().enumerate() {
        let collapsed = collapse(r);
        if collapsed.is_empty() {
            prev_blank = true;
            prev_wrapped = false;
            continue;
        }
        let key = normalize(&collapsed);
        if is_browser_banner_title(&key) {
            in_browser_block = true;
        }
        let mut boiler =
            in_browser_block && (collapsed.chars().count() < 160 || is_boilerplate(&key));
        if in_browser_block && !boiler {
            in_browser_block = false;
        }
        boiler = boiler || is_boilerplate(&key) || is_empty_label(&key, &raw[i + 1..]);
        // A line that continues a hard-wrapped paragraph: no blank line before it, and the line
        // before it ran to the wrap width without ending a sentence.
        let joins_previous = wrapped_text && !prev_blank && prev_wrapped && !boiler;
        prev_wrapped = looks_wrapped(&collapsed);
        prev_blank = false;
        out.push(Line {
            text: collapsed,
            kind: if boiler {
                LineKind::Boilerplate
            } else {
                LineKind::Content
            },
            joins_previous,
        });
    }
    out
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lowercased, without list bullets and with one apostrophe, for matching against known lines.
fn normalize(line: &str) -> String {
    line.trim_start_matches(['•', '·', '*', '-', '–', '—', '►', '▪', '●', ' '])
        .trim()
        .to_lowercase()
        .replace(['’', 'ʼ', '`', '‘'], "'")
}

fn same_text(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

/// Lines of menus, widgets and banners, matched whole.
const BOILERPLATE_LINES: &[&str] = &[
    // Accessibility and language menus.
    "a-",
    "a+",
    "a",
    "людям із порушенням зору",
    "людям з порушенням зору",
    "версія для людей з порушенням зору",
    "версія для людей із вадами зору",
    "людям с нарушением зрения",
    "версия для слабовидящих",
    "для слабозорих",
    "українською",
    "українська",
    "укр",
    "english",
    "eng",
    "en",
    "ua",
    "ru",
    "русский",
    "русская версия",
    "по-русски",
    "рус",
    "меню",
    "menu",
    "пошук",
    "поиск",
    "search",
    "головна",
    "главная",
    "home",
    // Outdated-browser banners.
    "outdated browser",
    "людей використовує",
    "цей браузер",
    "людей использует",
    "этот браузер",
    "people use",
    "of people use",
    "this browser",
    "доступно для",
    "доступен для",
    "available for",
    "google chrome",
    "mozilla firefox",
    "firefox",
    "microsoft edge",
    "opera",
    "safari",
    "internet explorer",
    "yandex browser",
    "яндекс.браузер",
    "windows",
    "mac os",
    "macos",
    "linux",
    "android",
    "ios",
    // Comment widgets and loading placeholders.
    "іде завантаження...",
    "іде завантаження",
    "йде завантаження...",
    "завантаження...",
    "загрузка...",
    "идет загрузка...",
    "loading...",
    "loading",
    "показати більше коментарів",
    "показать больше комментариев",
    "показати ще",
    "показать еще",
    "load more comments",
    "show more comments",
    "коментарі",
    "комментарии",
    "comments",
    "залишити коментар",
    "оставить комментарий",
    "leave a comment",
    "додати коментар",
    "добавить комментарий",
    // Share, print and subscribe buttons.
    "поділитися",
    "поділитись",
    "поделиться",
    "share",
    "share this",
    "share this article",
    "tweet",
    "facebook",
    "twitter",
    "telegram",
    "viber",
    "whatsapp",
    "linkedin",
    "email",
    "e-mail",
    "друк",
    "друкувати",
    "версія для друку",
    "печать",
    "распечатать",
    "версия для печати",
    "print",
    "підписатися",
    "підписатись",
    "подписаться",
    "subscribe",
    "реклама",
    "advertisement",
    // Labels left without their content.
    "читайте також:",
    "читайте також",
    "читайте также:",
    "читайте также",
    "read also:",
    "read more:",
    "see also:",
    "дивіться також:",
    "смотрите также:",
    "по темі:",
    "по теме:",
    "теги:",
    "tags:",
];

/// Line beginnings of prompts and notices that never belong to an article.
const BOILERPLATE_PREFIXES: &[&str] = &[
    "авторизуйтесь",
    "увійдіть, щоб",
    "увійдіть щоб",
    "увійдіть або зареєструйтесь",
    "войдите, чтобы",
    "войдите чтобы",
    "войдите или зарегистрируйтесь",
    "log in to",
    "sign in to",
    "login to",
    "please log in",
    "you must be logged in",
    "коментарі —",
    "коментарі -",
    "коментарі (",
    "комментарии —",
    "комментарии (",
    "comments (",
    "для комфортної роботи в мережі потрібен сучасний браузер",
    "для комфортной работы в сети",
    "цей сайт призначений для комп'ютерів",
    "этот сайт предназначен для компьютеров",
    "we use cookies",
    "this site uses cookies",
    "this website uses cookies",
    "ми використовуємо файли cookie",
    "ми використовуємо cookie",
    "цей сайт використовує cookie",
    "сайт використовує файли cookie",
    "мы используем файлы cookie",
    "мы используем cookie",
    "этот сайт использует cookie",
    "всі права захищені",
    "все права защищены",
    "all rights reserved",
    "підпишіться на",
    "подпишитесь на",
    "subscribe to",
    "поділитися в",
    "поделиться в",
    "share on",
];

fn is_boilerplate(key: &str) -> bool {
    if key.is_empty() {
        return true;
    }
    if BOILERPLATE_LINES.contains(&key) || BOILERPLATE_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return true;
    }
    let chars = key.chars().count();
    // "67.15%", "9.6 %": usage shares of browser banners and share counters.
    if key
        .trim_end_matches('%')
        .trim()
        .replace([',', '.'], "")
        .chars()
        .all(|c| c.is_ascii_digit())
        && key.ends_with('%')
    {
        return true;
    }
    // Copyright lines and short cookie notices.
    if chars < 200
        && (key.starts_with('©') || key.starts_with("(c)") || key.starts_with("copyright"))
    {
        return true;
    }
    if chars < 250
        && key.contains("cookie")
        && (key.contains("we use") || key.contains("використов") || key.contains("использ"))
    {
        return true;
    }
    is_photo_credit(key, chars)
}

/// "Фото Офісу президента", "Фото: УНІАН", "Photo: Reuters", "Ілюстративне фото".
fn is_photo_credit(key: &str, chars: usize) -> bool {
    if chars > 100 || key.split_whitespace().count() > 8 || key.ends_with(['.', '!', '?']) {
        return false;
    }
    let first = key
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default();
    let credit_word = matches!(
        first,
        "фото"
            | "photo"
            | "фотографія"
            | "фотография"
            | "ілюстрація"
            | "иллюстрация"
            | "credit"
    );
    credit_word
        || [
            "джерело фото",
            "источник фото",
            "photo credit",
            "ілюстративне фото",
            "иллюстративное фото",
        ]
        .iter()
        .any(|p| key.starts_with(p))
}

fn is_browser_banner_title(key: &str) -> bool {
    matches!(
        key,
        "outdated browser"
            | "застарілий браузер"
            | "устаревший браузер"
            | "ваш браузер застарів"
            | "ваш браузер устарел"
    )
}

/// "Дата публікації новини:" with nothing after it (or only boilerplate after it).
fn is_empty_label(key: &str, rest: &[&str]) -> bool {
    if !key.ends_with(':') || key.chars().count() > 40 {
        return false;
    }
    let label_words = [
        "дата",
        "date",
        "автор",
        "author",
        "джерело",
        "источник",
        "source",
        "теги",
        "tags",
        "фото",
    ];
    if !label_words.iter().any(|w| key.starts_with(w)) {
        return false;
    }
    rest.iter()
        .map(|l| normalize(&collapse(l)))
        .all(|l| is_boilerplate(&l))
}

/// A line made for the date: a publication marker, or a short line that is mostly a date.
fn is_date_line(line: &str, now: DateTime<Utc>) -> bool {
    let key = normalize(line);
    let marker = [
        "опубліковано",
        "опубликовано",
        "published",
        "posted",
        "дата публікації",
        "дата публикации",
        "дата:",
    ]
    .iter()
    .any(|m| key.starts_with(m));
    if marker {
        return find_date_in_text(line, now).is_some();
    }
    key.split_whitespace().count() <= 8
        && key.chars().count() <= 60
        && find_date_in_text(line, now).is_some()
}

fn is_title_like(line: &str) -> bool {
    let chars = line.chars().count();
    let words = line.split_whitespace().count();
    (3..=40).contains(&words) && (15..=MAX_TITLE_CHARS).contains(&chars)
}

/// Whether the text was wrapped at a fixed width: most lines are of similar, medium length and
/// hardly any is long. Texts with one paragraph per line are never joined, or a subheading would
/// swallow the paragraph after it.
fn is_hard_wrapped(lines: &[&str]) -> bool {
    let lengths: Vec<usize> = lines
        .iter()
        .map(|l| l.trim().chars().count())
        .filter(|n| *n > 0)
        .collect();
    let long = lengths.iter().filter(|n| **n > 100).count();
    let medium = lengths.iter().filter(|n| (40..=100).contains(*n)).count();
    lengths.len() >= 4 && long * 20 <= lengths.len() && medium * 2 >= lengths.len()
}

/// A line that ran to a fixed wrap width without ending a sentence.
fn looks_wrapped(line: &str) -> bool {
    let chars = line.chars().count();
    (50..=100).contains(&chars) && !line.ends_with(['.', '!', '?', ':', '»', '"', '”', ';'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 15, 12, 0, 0).unwrap()
    }

    #[test]
    fn menus_and_banners_go_paragraphs_stay() {
        let text = "• A-\n  A+\n• Людям із порушенням зору\n• Українською\n• English\n\
                    Заголовок новини про важливу подію\nОпубліковано 16 жовтня 2018 року о 17:07\n\n\
                    Перший абзац новини.\nДругий абзац новини.\nOutdated Browser\n\
                    Для комфортної роботи в Мережі потрібен сучасний браузер.\n67.15%\nлюдей використовує\n\
                    цей браузер\nGoogle Chrome\nДоступно для\n  • Windows\n";
        let c = clean(text, now());
        assert_eq!(
            c.title.as_deref(),
            Some("Заголовок новини про важливу подію")
        );
        assert_eq!(
            c.published_at,
            Some(Utc.with_ymd_and_hms(2018, 10, 16, 14, 7, 0).unwrap())
        );
        assert_eq!(c.text, "Перший абзац новини.\n\nДругий абзац новини.");
    }

    #[test]
    fn comment_widgets_and_credits_go() {
        let text = "Зеленський запропонував відкрити офіс\n\nЗеленський запропонував відкрити офіс\n\
                    Фото Офісу президента\n\nТекст новини, який лишається.\n\nЧитайте також:\n\n\
                    Коментарі — 0\n\nАвторизуйтесь , щоб додавати коментарі\nІде завантаження...\n\
                    Показати більше коментарів\nДата публікації новини:";
        let c = clean(text, now());
        assert_eq!(
            c.title.as_deref(),
            Some("Зеленський запропонував відкрити офіс")
        );
        assert_eq!(c.text, "Текст новини, який лишається.");
        assert_eq!(c.published_at, None);
    }

    #[test]
    fn filled_labels_stay() {
        let text = "Заголовок новини про важливу подію\nДата публікації новини: 16.10.2018 17:07\n\nТекст.\n\nДжерело: УНІАН";
        let c = clean(text, now());
        assert_eq!(
            c.published_at,
            Some(Utc.with_ymd_and_hms(2018, 10, 16, 14, 7, 0).unwrap())
        );
        assert_eq!(c.text, "Текст.\n\nДжерело: УНІАН");
    }

    #[test]
    fn hard_wrapped_paragraphs_are_joined() {
        let text = "Headline of a wrapped plain text story\n\n\
                    This paragraph was wrapped by the scraper at a fixed width so that\n\
                    its lines continue one another until the sentence ends.\n\n\
                    Second paragraph.";
        let c = clean(text, now());
        assert_eq!(
            c.text,
            "This paragraph was wrapped by the scraper at a fixed width so that its lines continue \
             one another until the sentence ends.\n\nSecond paragraph."
        );
    }

    #[test]
    fn one_line_paragraphs_are_not_joined() {
        let long = "Це довгий абзац тексту, який займає більше ніж сто символів, бо так пишуть новини, \
                    коли кожен абзац стоїть в окремому рядку.";
        let text = format!(
            "Заголовок новини про важливу подію\n{long}\nПідзаголовок без крапки в кінці рядка\n{long}\n{long}"
        );
        let c = clean(&text, now());
        assert_eq!(c.text.split("\n\n").count(), 4, "{}", c.text);
    }

    #[test]
    fn odd_inputs() {
        assert_eq!(clean("", now()), CleanText::default());
        let c = clean("Один рядок без заголовка, просто текст.", now());
        assert_eq!(c.title, None);
        assert_eq!(c.text, "Один рядок без заголовка, просто текст.");
        let _ = clean("\n\n\r\n • \n%\n:\n", now());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = clean(&s, now());
        }
    }
}
