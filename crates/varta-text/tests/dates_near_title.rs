//! Publication dates written as plain text in an element near the title — the form many
//! Ukrainian and Russian sites use instead of a meta tag — read from pages in UTF-8,
//! windows-1251, KOI8-R and KOI8-U, every form in the table, with the right UTC time (a time
//! without a zone is Kyiv time: 17:07 on 16 October 2018 is 14:07 UTC).

use chrono::{TimeZone, Utc};
use varta_text::encoding::decode_html;
use varta_text::html::extract;

const BODY_UK: &str = "Уряд оголосив про нові заходи підтримки для постраждалих регіонів країни, \
    зокрема компенсації за зруйноване житло та допомогу переселенцям. ";
const BODY_RU: &str = "Правительство объявило о новых мерах поддержки для пострадавших регионов \
    страны, в том числе компенсации за разрушенное жильё и помощь переселенцам. ";
const BODY_EN: &str = "The government announced new support measures for the affected regions, \
    including compensation for destroyed homes and help for displaced people. ";

/// (language, the date as the page writes it, the UTC time it means).
fn forms() -> Vec<(&'static str, &'static str, (u32, u32))> {
    vec![
        ("ru", "16 октября 2018, 17:07", (14, 7)),
        ("ru", "16 октября 2018 г., 17:07", (14, 7)),
        ("ru", "16.10.2018, 17:07", (14, 7)),
        ("ru", "Вторник, 16 октября 2018, 17:07", (14, 7)),
        ("ru", "17:07, 16 октября 2018", (14, 7)),
        ("ru", "16 октября 2018", (0, 0)),
        ("uk", "16 жовтня 2018, 17:07", (14, 7)),
        ("uk", "16 жовтня 2018 р., 17:07", (14, 7)),
        ("uk", "16 жовтня 2018 року, 17:07", (14, 7)),
        ("uk", "16.10.2018, 17:07", (14, 7)),
        ("uk", "Вівторок, 16 жовтня 2018, 17:07", (14, 7)),
        ("uk", "16 жовтня 2018 року о 17:07", (14, 7)),
        ("en", "October 16, 2018, 5:07 pm", (14, 7)),
        ("en", "Oct. 16, 2018, 5:07 p.m.", (14, 7)),
        ("en", "Tuesday, October 16, 2018, 5:07 PM", (14, 7)),
        ("en", "16 October 2018, 17:07", (14, 7)),
        ("en", "16.10.2018, 17:07", (14, 7)),
        ("en", "October 16, 2018, 14:07 GMT", (14, 7)),
    ]
}

/// The elements a date line comes in, placed after or before the <h1>.
const WRAPPERS: [(&str, &str, bool); 5] = [
    ("<span class=\"dt\">", "</span>", true),
    ("<div class=\"date\">", "</div>", true),
    ("<time>", "</time>", true),
    ("<p class=\"meta\"><small>", "</small></p>", true),
    ("<div class=\"article-date\">", "</div>", false),
];

fn page(lang: &str, charset: &str, date_html: &str, after_title: bool) -> String {
    let (title, body) = match lang {
        "uk" => ("Уряд оголосив нові заходи підтримки", BODY_UK),
        "ru" => ("Правительство объявило новые меры поддержки", BODY_RU),
        _ => ("The government announces new support measures", BODY_EN),
    };
    let body: String = body.repeat(5);
    let h1 = format!("<h1>{title}</h1>");
    let (before, after) = if after_title {
        (h1, date_html.to_owned())
    } else {
        (date_html.to_owned(), h1)
    };
    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"{charset}\">\
         <title>{title}</title></head><body><nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav>\
         <main>{before}{after}<article><p>{body}</p><p>{body}</p></article></main>\
         <footer>© 2018</footer></body></html>"
    )
}

#[test]
fn every_listed_form_is_read_in_every_encoding() {
    let encodings: [(&str, &'static encoding_rs::Encoding, &[&str]); 4] = [
        ("utf-8", encoding_rs::UTF_8, &["uk", "ru", "en"]),
        (
            "windows-1251",
            encoding_rs::WINDOWS_1251,
            &["uk", "ru", "en"],
        ),
        ("koi8-r", encoding_rs::KOI8_R, &["ru", "en"]),
        ("koi8-u", encoding_rs::KOI8_U, &["uk", "ru", "en"]),
    ];
    let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let mut read = 0;
    let mut failures = Vec::new();
    for (charset, enc, langs) in encodings {
        for (lang, form, (h, m)) in forms() {
            if !langs.contains(&lang) {
                continue;
            }
            let want = if (h, m) == (0, 0) {
                // A date without a time is midnight in Kyiv.
                Utc.with_ymd_and_hms(2018, 10, 15, 21, 0, 0).unwrap()
            } else {
                Utc.with_ymd_and_hms(2018, 10, 16, h, m, 0).unwrap()
            };
            for (open, close, after_title) in WRAPPERS {
                let html = page(lang, charset, &format!("{open}{form}{close}"), after_title);
                let (bytes, _, unmappable) = enc.encode(&html);
                assert!(!unmappable, "{charset} cannot write {form}");
                let (decoded, _) = decode_html(&bytes, None);
                let ex = extract(&decoded, now);
                if ex.published_at != Some(want) {
                    failures.push(format!(
                        "{charset} {lang} {open}{form}{close} (after title: {after_title}): {:?}",
                        ex.published_at
                    ));
                }
                if ex.text.contains(form) {
                    failures.push(format!("{charset} {lang} {form}: kept as article text"));
                }
                read += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {read}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_date_in_the_story_or_a_sidebar_is_not_the_page_date() {
    let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    // A dated sentence inside the article, and a dated link list after it: neither is a date line
    // near the title, and the probe of the article's text accepts only strong dates.
    let html = format!(
        "<html lang=\"en\"><body><h1>Floods</h1><article><p>{}</p><p>The dam was built on \
         16 October 1998, 17:07 local time, engineers said, and has held since then.</p></article>\
         <aside><ul><li><a href=\"/a\">Related story</a> <span>12.03.2017, 10:00</span></li></ul>\
         </aside></body></html>",
        BODY_EN.repeat(6)
    );
    let ex = extract(&html, now);
    let bare_sidebar = Utc.with_ymd_and_hms(2017, 3, 12, 8, 0, 0).unwrap();
    assert_ne!(ex.published_at, Some(bare_sidebar));
}
