//! `varta dedup`: pairs written as the contract says, bad lines named, the rest read.

mod common;

use common::*;

fn sample() -> String {
    repo_root()
        .join("crates/varta-cli/tests/data/dedup-sample.jsonl")
        .display()
        .to_string()
}

#[test]
fn pairs_csv_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = dir.path().join("pairs.csv");
    let out = varta(
        dir.path(),
        &[
            "dedup",
            &sample(),
            "--pairs",
            pairs.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dedup-sample.jsonl:9"), "{stderr}");
    assert!(stderr.contains("dedup-sample.jsonl:10"), "{stderr}");
    let v = last_json(&out);
    assert_eq!(v["docs"], 8);
    assert_eq!(v["failed"], 2);
    assert_eq!(v["threshold"], 0.5);
    for k in ["read_and_sign", "pairs", "write", "total"] {
        assert!(v["seconds"][k].as_f64().is_some(), "{v}");
    }
    let csv = std::fs::read_to_string(&pairs).unwrap();
    // Case, look-alike letters, hashtags and links do not hide a copy; a copy cut to half is
    // below 0.5 Jaccard and so not a pair here (campaigns catch it by containment); numeric ids
    // are compared as strings.
    insta::assert_snapshot!(csv, @r"
    id_a,id_b,jaccard
    17,b2,0.880000
    a1,a2,1.000000
    a1,a3,1.000000
    a2,a3,1.000000
    ");
    assert_eq!(v["pairs"], 4);
}

#[test]
fn without_pairs_file_the_csv_goes_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = varta(dir.path(), &["dedup", &sample(), "--threshold", "0.9"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "id_a,id_b,jaccard",
            "a1,a2,1.000000",
            "a1,a3,1.000000",
            "a2,a3,1.000000"
        ]
    );
}

#[test]
fn bad_threshold_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    for t in ["0", "1.5", "x"] {
        let out = varta(dir.path(), &["dedup", &sample(), "--threshold", t]);
        assert_eq!(out.status.code(), Some(2), "{t}");
    }
    let out = varta(dir.path(), &["dedup", "/nonexistent/docs.jsonl"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/docs.jsonl"));
}
