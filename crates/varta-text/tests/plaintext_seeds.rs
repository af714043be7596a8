//! The two scraped seed texts from the project brief: title, date and body survive cleaning,
//! boilerplate does not.

use chrono::{TimeZone, Utc};
use varta_text::plaintext::clean;

const SEED_000: &str = include_str!("data/000_be8dbb5fcec1547d.txt");
const SEED_002: &str = include_str!("data/002_84b6bbb3e7ef7e54.txt");

const BOILERPLATE: &[&str] = &[
    "Outdated Browser",
    "67.15%",
    "9.6%",
    "людей використовує",
    "цей браузер",
    "Доступно для",
    "Google Chrome",
    "Mozilla Firefox",
    "Microsoft Edge",
    "Windows",
    "Mac OS",
    "Linux",
    "Для комфортної роботи",
    "вільно користуватися",
    "A-",
    "A+",
    "Людям із порушенням зору",
    "Українською",
    "English",
    "Опубліковано",
    "Коментарі — 0",
    "Авторизуйтесь",
    "Іде завантаження",
    "Показати більше коментарів",
    "Читайте також",
    "Дата публікації новини",
    "Фото Офіру президента",
    "•",
];

fn assert_clean(text: &str) {
    for b in BOILERPLATE {
        assert!(!text.contains(b), "{b:?} left in:\n{text}");
    }
    assert!(!text.contains("\n\n\n"));
    assert_eq!(text.trim(), text);
}

#[test]
fn seed_000_klimkin() {
    let collected = Utc.with_ymd_and_hms(2024, 3, 15, 12, 0, 0).unwrap();
    let c = clean(SEED_000, collected);
    assert_eq!(
        c.title.as_deref(),
        Some(
            "Павло Клімкін у Брюсселі взяв участь у конференції високого рівня «Втручання у вибори в цифрову еру»"
        )
    );
    assert_eq!(
        c.published_at,
        Some(Utc.with_ymd_and_hms(2018, 10, 16, 14, 7, 0).unwrap())
    );
    assert_clean(&c.text);
    assert!(
        c.text
            .starts_with("16 жовтня 2018 року в Брюсселі Міністр закордонних справ України"),
        "{}",
        c.text
    );
    assert!(c.text.ends_with(
        "У цьому контексті сторони домовилися опрацювати шляхи налагодження практичної взаємодії з питань \
         кібербезпеки, забезпечення цілісності виборів та захисту критичної інфраструктури."
    ));
    assert!(
        c.text
            .contains("“Перш за все, ми маємо активно залучати суспільство")
    );
    assert_eq!(c.text.split("\n\n").count(), 8, "{}", c.text);
}

#[test]
fn seed_002_zelensky() {
    let collected = Utc.with_ymd_and_hms(2020, 11, 20, 12, 0, 0).unwrap();
    let c = clean(SEED_002, collected);
    let title = "Зеленський запропонував відкрити в Україні офіс компанії Facebook";
    assert_eq!(c.title.as_deref(), Some(title));
    assert!(!c.text.contains(title), "title repeated:\n{}", c.text);
    assert_clean(&c.text);
    assert!(
        c.text
            .starts_with("Глава держави запросив представників компанії приїхати в Україну\n\n"),
        "{}",
        c.text
    );
    assert!(c.text.contains(
        "Президент України Володимир Зеленський провів відеоконференцію з головною операційною директоркою"
    ));
    assert!(c.text.ends_with(
        "Нагадаємо, раніше директор Департаменту інформаційно-комунікаційних технологій Київської міської \
         держадміністрації Олег Половинко розповів про плани розвитку ІТ-сфери та цифровізації Києва."
    ), "{}", c.text);
    // The date label at the end is empty; "сьогодні" and "29 листопада" in the body are about
    // the story, so no publication date is claimed.
    assert_eq!(c.published_at, None);
}
