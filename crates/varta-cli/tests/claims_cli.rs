//! `varta claims …` and `varta detect claims` (lexical matching, which needs no model) on the repo's
//! fixtures: `tests/data/claims-sample.json` (four ClaimReview objects whose claims the bundled
//! examples repeat) and the examples themselves.

mod common;

use common::*;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    test_data(name)
}

fn ok(out: &std::process::Output) {
    assert_success(out);
}

#[test]
fn import_twice_adds_nothing_and_bad_records_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let sample = data("claims-sample.json");
    let out = varta(
        dir.path(),
        &["claims", "import", sample.to_str().unwrap(), "--json"],
    );
    ok(&out);
    let v = last_json(&out);
    assert_eq!(
        (v["read"].as_u64(), v["added"].as_u64()),
        (Some(4), Some(4))
    );
    let out = varta(
        dir.path(),
        &["claims", "import", sample.to_str().unwrap(), "--json"],
    );
    let v = last_json(&out);
    assert_eq!(
        (v["added"].as_u64(), v["duplicates"].as_u64()),
        (Some(0), Some(4))
    );

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"@type":"ClaimReview","url":"https://x.example/1","claimReviewed":"Ок"},{"@type":"ClaimReview"}]"#,
    )
    .unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let out = varta(
        dir.path(),
        &[
            "claims",
            "import",
            bad.to_str().unwrap(),
            garbage.to_str().unwrap(),
            "--json",
        ],
    );
    ok(&out);
    let v = last_json(&out);
    assert_eq!(v["added"], 1);
    assert_eq!(v["failed"], 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.json: [1]: no claimReviewed"),
        "{stderr}"
    );
    assert!(stderr.contains("garbage.json: not JSON"), "{stderr}");

    let out = varta(dir.path(), &["claims", "list", "--json"]);
    ok(&out);
    assert_eq!(last_json(&out).as_array().map(Vec::len), Some(5));
    // Nothing readable: exit 1.
    let out = varta(dir.path(), &["claims", "import", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_reworded_repeat_is_matched_and_detect_stores_stable_findings() {
    let dir = tempfile::tempdir().unwrap();
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    ok(&varta(dir.path(), &["ingest", examples.to_str().unwrap()]));
    ok(&varta(
        dir.path(),
        &[
            "claims",
            "import",
            data("claims-sample.json").to_str().unwrap(),
        ],
    ));
    let out = varta(
        dir.path(),
        &[
            "claims",
            "match",
            "Кажуть, що з першого квітня ТЦК отримає доступ до даних операторів мобільного зв'язку",
            "--lexical-only",
            "--json",
        ],
    );
    ok(&out);
    let v = last_json(&out);
    assert_eq!(
        v[0]["review_url"],
        "https://factcheck.example/uk/tck-mobile-operators"
    );
    assert!(v[0]["lexical"].as_f64().unwrap() > 0.5, "{v}");

    let out = varta(
        dir.path(),
        &["detect", "claims", "--lexical-only", "--json"],
    );
    ok(&out);
    let rows = last_json(&out);
    let rows = rows.as_array().unwrap();
    let repeated: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| r["match"]["verdict"] == "match")
        .filter_map(|r| r["match"]["review_url"].as_str())
        .collect();
    // The examples repeat three of the four claims in their own language.
    assert!(
        repeated.contains("https://factcheck.example/uk/tck-mobile-operators")
            && repeated.contains("https://factcheck.example/en/zelensky-illegitimate-may-20")
            && repeated.contains("https://factcheck.example/ru/kiev-16-hours-blackouts"),
        "{repeated:?}"
    );
    assert!(!repeated.contains("https://factcheck.example/en/us-biolabs-ukraine"));
    let ids = |dir: &std::path::Path| {
        let out = varta(dir, &["detect", "claims", "--lexical-only"]);
        ok(&out);
        let db = rusqlite::Connection::open(dir.join("varta.sqlite3")).unwrap();
        let mut st = db
            .prepare("SELECT id FROM findings WHERE kind = 'claim-match' ORDER BY id")
            .unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    let first = ids(dir.path());
    assert_eq!(first.len(), rows.len());
    assert_eq!(ids(dir.path()), first, "a rerun gives the same finding ids");
}

#[test]
fn eval_reports_the_metrics_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("q.jsonl");
    std::fs::write(
        &queries,
        // As a Windows editor saves it: a byte-order mark and CRLF line ends.
        concat!(
            "\u{feff}",
            r#"{"text":"С первого апреля в Киеве свет будут отключать на 16 часов","lang":"ru","claim_url":"https://factcheck.example/ru/kiev-16-hours-blackouts"}"#,
            "\r\n",
            r#"{"text":"Zelensky stops being legitimate president after May 20","lang":"en","claim_url":"https://factcheck.example/en/zelensky-illegitimate-may-20"}"#,
            "\r\n",
            r#"{"text":"Укренерго: графіків відключень у Києві сьогодні немає","lang":"uk","claim_url":null}"#,
            "\r\n",
            // A typo in a url: a miss, and a warning naming the line.
            r#"{"text":"Zelensky is not legitimate","lang":"en","claim_url":"https://factcheck.example/en/zelensky-illegitimate"}"#,
            "\r\n"
        ),
    )
    .unwrap();
    let out = varta(
        dir.path(),
        &[
            "claims",
            "eval",
            "--claims",
            data("claims-sample.json").to_str().unwrap(),
            "--queries",
            queries.to_str().unwrap(),
            "--lexical-only",
            "--json",
        ],
    );
    ok(&out);
    let v = last_json(&out);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "false_match_rate",
            "matched",
            "mrr",
            "queries",
            "recall_at_1",
            "recall_at_5"
        ]
    );
    assert_eq!(v["queries"], 4);
    assert_eq!(v["recall_at_1"], 2.0 / 3.0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("q.jsonl:4: no claim in") && stderr.contains("zelensky-illegitimate\""),
        "{stderr}"
    );
    assert_eq!(v["false_match_rate"], 0.0);
    // The user's store is not touched.
    assert!(!dir.path().join("varta.sqlite3").exists());
}

#[test]
fn a_missing_model_is_said_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = varta(
        dir.path(),
        &["embed", "--model", "/nonexistent/e5-small-q4.bin"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no e5 model file at /nonexistent/e5-small-q4.bin"),
        "{stderr}"
    );
    let sample = data("claims-sample.json");
    ok(&varta(
        dir.path(),
        &["claims", "import", sample.to_str().unwrap()],
    ));
    let out = varta(
        dir.path(),
        &[
            "claims",
            "match",
            "text",
            "--model",
            "/nonexistent/e5-small-q4.bin",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("loading the e5 model /nonexistent/e5-small-q4.bin: cannot read"),
        "{stderr}"
    );
    // A file that is not a model.
    let bogus = dir.path().join("bogus.bin");
    std::fs::write(&bogus, b"not a model").unwrap();
    let out = varta(dir.path(), &["embed", "--model", bogus.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an e5 model file"));
}

#[test]
fn eval_counts_a_claim_listed_as_the_same_as_found() {
    let dir = tempfile::tempdir().unwrap();
    let run = |also: &str| {
        let queries = dir.path().join("q.jsonl");
        std::fs::write(
            &queries,
            format!(
                r#"{{"text":"Zelensky stops being legitimate president after May 20","lang":"en","claim_url":"https://factcheck.example/ru/kiev-16-hours-blackouts","also":[{also}]}}"#
            ),
        )
        .unwrap();
        let out = varta(
            dir.path(),
            &[
                "claims",
                "eval",
                "--claims",
                data("claims-sample.json").to_str().unwrap(),
                "--queries",
                queries.to_str().unwrap(),
                "--lexical-only",
                "--json",
            ],
        );
        ok(&out);
        last_json(&out)["recall_at_1"].as_f64().unwrap()
    };
    assert_eq!(run(""), 0.0);
    assert_eq!(
        run(r#""https://factcheck.example/en/zelensky-illegitimate-may-20""#),
        1.0
    );
}
