//! `varta lang`: one answer per stdin line in order, and the scoring mode on a labelled file.

mod common;

use common::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn lang_stdin(input: &[u8]) -> (i32, Vec<serde_json::Value>) {
    let mut child = Command::new(bin())
        .arg("lang")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn varta lang");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

#[test]
fn one_answer_per_line_in_order() {
    let mut bytes = "Центральна виборча комісія оприлюднила результати\n\
                 Центральная избирательная комиссия опубликовала результаты\n\
                 \n\
                 The central election commission published the results\n\
                 ok\n"
        .as_bytes()
        .to_vec();
    // A line that is not UTF-8 still gets an answer, so that outputs stay aligned with inputs.
    bytes.extend_from_slice(b"\xff\xfe 12\n");
    let (code, got) = lang_stdin(&bytes);
    assert_eq!(code, 0);
    let langs: Vec<&str> = got.iter().map(|v| v["lang"].as_str().unwrap()).collect();
    assert_eq!(langs, ["uk", "ru", "und", "en", "und", "und"]);
    for v in &got {
        let c = v["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{v}");
    }
    assert!(got[0]["confidence"].as_f64().unwrap() > 0.5);
}

#[test]
fn scores_a_labelled_file() {
    let tsv = repo_root().join("crates/varta-cli/tests/data/lid-sample.tsv");
    let dir = tempfile::tempdir().unwrap();
    let out = varta(
        dir.path(),
        &["lang", "--tsv", tsv.to_str().unwrap(), "--errors"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = last_json(&out);
    assert_eq!(v["texts"], 18);
    assert_eq!(
        v["accuracy"],
        1.0,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(v["texts_per_s"].as_u64().unwrap() > 0);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3);
}

#[test]
fn bad_rows_are_named_and_the_rest_is_scored() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("mixed.tsv");
    std::fs::write(
        &tsv,
        "lang\ttext\nuk\tЦе дуже важливо для всіх нас.\nno tab on this line\nen\tThis is what they said about it.\n",
    )
    .unwrap();
    let out = varta(dir.path(), &["lang", "--tsv", tsv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mixed.tsv:3"), "{stderr}");
    let v = last_json(&out);
    assert_eq!(v["texts"], 2);
    assert_eq!(v["accuracy"], 1.0);

    let missing = varta(dir.path(), &["lang", "--tsv", "/nonexistent/x.tsv"]);
    assert_ne!(missing.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/x.tsv"));
}
