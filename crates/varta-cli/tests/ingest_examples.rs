//! Ingesting the bundled examples: every format, idempotence, search folding and filters, `show`,
//! `stats`, and the JSON contract scripts rely on.

mod common;

use common::*;
use serde_json::Value;

fn ingested_examples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (code, summary) = ingest_json(dir.path(), &[&examples()], &[]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(
        summary["failed"], 0,
        "examples must ingest cleanly: {summary}"
    );
    dir
}

fn search(dir: &std::path::Path, args: &[&str]) -> Vec<Value> {
    let mut a = vec!["search", "--json"];
    a.extend_from_slice(args);
    let out = varta(dir, &a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out).as_array().cloned().unwrap_or_default()
}

#[test]
fn every_format_is_ingested_and_counted() {
    let dir = ingested_examples();
    let stats = json(&varta(dir.path(), &["stats", "--json"]));
    for f in [
        "html", "text", "rss", "telegram", "cnt-csv", "x-jsonl", "csv", "jsonl",
    ] {
        assert!(
            stats["formats"][f].as_u64().unwrap_or(0) > 0,
            "no {f} documents: {stats}"
        );
    }
    let sum: u64 = stats["formats"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(stats["documents"].as_u64(), Some(sum));
    let langs = stats["languages"].as_object().unwrap();
    for l in ["uk", "ru", "en"] {
        assert!(langs.contains_key(l), "{stats}");
    }
    assert!(stats["actors"].as_u64().unwrap() > 10);
    insta::assert_json_snapshot!("examples_stats", stats);
}

#[test]
fn ingesting_twice_adds_nothing() {
    let dir = ingested_examples();
    let before = json(&varta(dir.path(), &["stats", "--json"]));
    let (code, again) = ingest_json(dir.path(), &[&examples()], &[]);
    assert_eq!(code, 0, "all duplicates is success");
    assert_eq!(again["ingested"], 0);
    assert_eq!(again["duplicates"], before["documents"]);
    assert_eq!(again["failed"], 0);
    assert_eq!(json(&varta(dir.path(), &["stats", "--json"])), before);
}

#[test]
fn ingest_json_contract() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = ingest_json(dir.path(), &[&examples().join("cnt")], &[]);
    let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["duplicates", "errors", "failed", "ingested"]);
    assert!(s["errors"].as_array().unwrap().is_empty());
}

#[test]
fn search_folds_latin_lookalikes_apostrophes_and_case() {
    let dir = ingested_examples();
    // "Укрaїна" with a Latin "a" finds documents that write "Україна".
    let latin = search(dir.path(), &["Укрaїна", "--limit", "50"]);
    let cyr = search(dir.path(), &["україна", "--limit", "50"]);
    assert!(!cyr.is_empty());
    let ids = |v: &[Value]| {
        v.iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&latin), ids(&cyr));
    // Apostrophes: the seed text writes "пов'язаних"; the typographic apostrophe finds it.
    assert!(!search(dir.path(), &["пов’язаних"]).is_empty());
    assert!(!search(dir.path(), &["повʼязаних"]).is_empty());
    assert!(!search(dir.path(), &["ПОВ'ЯЗАНИХ"]).is_empty());
}

#[test]
fn search_hits_carry_the_contract_fields() {
    let dir = ingested_examples();
    let hits = search(dir.path(), &["Клімкін", "--limit", "3"]);
    assert!(!hits.is_empty());
    for h in &hits {
        for k in [
            "id",
            "title",
            "snippet",
            "score",
            "url",
            "published_at",
            "language",
            "actor",
        ] {
            assert!(h.get(k).is_some(), "hit lacks {k}: {h}");
        }
    }
    assert!(hits[0]["snippet"].as_str().unwrap().contains("Клімкін"));
}

#[test]
fn search_filters() {
    let dir = ingested_examples();
    let all = search(dir.path(), &["", "--limit", "1000"]);
    let stats = json(&varta(dir.path(), &["stats", "--json"]));
    assert_eq!(
        all.len() as u64,
        stats["documents"].as_u64().unwrap(),
        "every document is indexed"
    );

    let uk = search(dir.path(), &["", "--lang", "uk", "--limit", "1000"]);
    assert_eq!(uk.len() as u64, stats["languages"]["uk"].as_u64().unwrap());
    assert!(uk.iter().all(|h| h["language"] == "uk"));

    let in_2018 = search(
        dir.path(),
        &[
            "",
            "--since",
            "2018-01-01",
            "--until",
            "2018-12-31",
            "--limit",
            "100",
        ],
    );
    assert!(!in_2018.is_empty());
    for h in &in_2018 {
        let t = h["published_at"].as_str().unwrap();
        assert!(t.starts_with("2018"), "{t}");
    }

    let one = all
        .iter()
        .find_map(|h| h["actor"].as_str().filter(|a| a.starts_with("telegram:")))
        .unwrap()
        .to_string();
    let by_actor = search(dir.path(), &["", "--actor", &one, "--limit", "1000"]);
    assert!(!by_actor.is_empty());
    assert!(by_actor.iter().all(|h| h["actor"] == one.as_str()));
}

#[test]
fn actor_filter_takes_a_handle() {
    let dir = ingested_examples();
    let all = search(dir.path(), &["", "--limit", "1000"]);
    let x_actor = all
        .iter()
        .find_map(|h| h["actor"].as_str().filter(|a| a.starts_with("x:")))
        .unwrap()
        .to_string();
    let ids = |v: &[Value]| {
        v.iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let by_id = search(dir.path(), &["", "--actor", &x_actor, "--limit", "1000"]);
    // Look the handle up through `show --json` of one of its posts' actors.
    let out = varta(dir.path(), &["show", by_id[0]["id"].as_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let handle = text
        .lines()
        .find_map(|l| l.strip_prefix("actor:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("actor line with a handle")
        .to_uppercase();
    let by_handle = ids(&search(
        dir.path(),
        &["", "--actor", &handle, "--limit", "1000"],
    ));
    // A handle may be shared by accounts on other platforms; the account's own posts are all there.
    for id in ids(&by_id) {
        assert!(by_handle.contains(&id), "{id} not found by handle {handle}");
    }
}

#[test]
fn show_gives_the_whole_document() {
    let dir = ingested_examples();
    let hits = search(dir.path(), &["", "--limit", "1000"]);
    let docs: Vec<Value> = hits
        .iter()
        .map(|h| {
            json(&varta(
                dir.path(),
                &["show", "--json", h["id"].as_str().unwrap()],
            ))
        })
        .collect();
    let has = |pred: &dyn Fn(&Value) -> bool| docs.iter().any(pred);
    assert!(has(
        &|d| d["format"] == "telegram" && d["forwarded_from"].is_string()
    ));
    assert!(has(
        &|d| d["format"] == "telegram" && d["reply_to"].is_string()
    ));
    assert!(has(
        &|d| d["format"] == "x-jsonl" && d["repost_of"].is_string()
    ));
    assert!(has(
        &|d| d["format"] == "cnt-csv" && d["repost_of"].is_string()
    ));
    assert!(has(&|d| !d["hashtags"].as_array().unwrap().is_empty()));
    assert!(has(&|d| !d["mentions"].as_array().unwrap().is_empty()));
    // Links are normalized: no tracking parameters, no fragments survive.
    for d in &docs {
        for l in d["links"].as_array().unwrap() {
            let l = l.as_str().unwrap();
            assert!(
                !l.contains("utm_") && !l.contains('#') && !l.contains("fbclid"),
                "{l}"
            );
        }
    }
    // The windows-1251 page was decoded.
    assert!(has(&|d| d["format"] == "html" && d["language"] == "ru"));
    // The seed text kept its date and title.
    assert!(has(&|d| d["format"] == "text"
        && d["published_at"] == "2018-10-16T14:07:00Z"
        && d["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Павло Клімкін"))));

    let missing = varta(dir.path(), &["show", "0000"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(varta(dir.path(), &["ingest"]).status.code(), Some(2));
    assert_eq!(
        varta(dir.path(), &["ingest", "--format", "pdf", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        varta(dir.path(), &["ingest", "--map", "nonsense=x", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        varta(dir.path(), &["search", "x", "--since", "yesterday-ish"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn data_dir_from_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .args(["ingest", "--json"])
        .arg(examples().join("text"))
        .env("VARTA_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("varta.sqlite3").exists());
}

#[test]
fn config_prints_documented_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = varta(dir.path(), &["config"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("max_record_bytes = 4194304"), "{text}");
    std::fs::write(
        dir.path().join("varta.toml"),
        "[limits]\nmax_record_byte = 5\n",
    )
    .unwrap();
    let bad = varta(dir.path(), &["stats"]);
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("max_record_byte"));
}

#[test]
fn extract_prints_one_json_line_per_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = varta(
        dir.path(),
        &[
            "extract",
            "--jsonl",
            examples().join("html").to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        6,
        "one line per page, .html.gz and subfolders included"
    );
    for l in &lines {
        for k in [
            "id",
            "url",
            "title",
            "author",
            "published_at",
            "language",
            "text",
        ] {
            assert!(l.get(k).is_some(), "{k} missing: {l}");
        }
        assert!(!l["text"].as_str().unwrap().is_empty());
    }
    let klimkin = lines
        .iter()
        .find(|l| l["id"] == "mfa-klimkin-brussels-2018")
        .expect("id is the file name");
    assert_eq!(klimkin["published_at"], "2018-10-16T14:07:00Z");
    assert!(
        klimkin["text"].as_str().unwrap().contains("\n\n"),
        "paragraphs are kept"
    );
    assert!(
        !klimkin["text"]
            .as_str()
            .unwrap()
            .contains("Outdated Browser")
    );
    assert!(
        lines
            .iter()
            .any(|l| l["id"] == "uk-ukrenergo-16-hours-fake" && l["language"] == "uk")
    );
    // Nothing was stored.
    assert!(!dir.path().join("varta.sqlite3").exists());
}
