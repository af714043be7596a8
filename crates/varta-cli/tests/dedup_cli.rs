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

#[test]
fn clusters_jsonl_and_the_max_pairs_warning() {
    let dir = tempfile::tempdir().unwrap();
    let clusters = dir.path().join("clusters.jsonl");
    let out = varta(
        dir.path(),
        &[
            "dedup",
            &sample(),
            "--clusters",
            clusters.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = last_json(&out);
    assert_eq!(v["clusters"], 2);
    assert_eq!(v["pairs"], 4);
    // No pairs asked for: none on stdout, only the summary.
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&clusters)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // In the order of each cluster's first text in the file, ids in file order.
    let ids: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| {
            l["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(ids, [vec!["a1", "a2", "a3"], vec!["17", "b2"]]);
    assert_eq!(lines[0]["cluster"], 1);
    assert_eq!(lines[0]["pairs"], 3);
    assert_eq!(lines[0]["min_jaccard"], 1.0);
    assert_eq!(lines[1]["texts"], 2);
    assert_eq!(lines[1]["min_jaccard"], 0.88);

    // More pairs than --max-pairs: a warning that counts them and points to --clusters; the
    // pairs are written all the same.
    let pairs = dir.path().join("pairs.csv");
    let out = varta(
        dir.path(),
        &[
            "dedup",
            &sample(),
            "--pairs",
            pairs.to_str().unwrap(),
            "--max-pairs",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("about to write 4 pair lines") && stderr.contains("--clusters"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&pairs).unwrap().lines().count(), 5);
    let out = varta(
        dir.path(),
        &["dedup", &sample(), "--pairs", pairs.to_str().unwrap()],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("about to write"));
}
