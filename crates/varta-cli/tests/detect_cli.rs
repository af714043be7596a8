//! `varta detect campaigns` over the bundled examples: the planted copy-paste campaigns are found
//! with their origin, ids are stable across runs, findings are stored.

mod common;

use common::*;
use varta_store::{EmbeddedStore, Store};

fn campaigns(dir: &std::path::Path) -> serde_json::Value {
    let out = varta(dir, &["detect", "campaigns", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

#[test]
fn planted_campaigns_are_found_stored_and_stable() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = ingest_json(dir.path(), &[&examples()], &[]);
    assert_eq!(code, 0);
    let first = campaigns(dir.path());
    let list = first.as_array().unwrap();
    assert!(!list.is_empty());
    // The summary of every campaign: a snapshot, so that a change in what is found shows up.
    let summary: Vec<String> = list
        .iter()
        .map(|c| {
            format!(
                "{} docs={} actors={} langs={} first={} min_j={}",
                c["id"].as_str().unwrap(),
                c["members"].as_array().unwrap().len(),
                c["actors"].as_array().unwrap().len(),
                c["languages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join("+"),
                c["first_seen"]["time"].as_str().unwrap(),
                c["min_jaccard"],
            )
        })
        .collect();
    insta::assert_snapshot!(summary.join("\n"));
    for c in list {
        assert!(c["actors"].as_array().unwrap().len() >= 2);
        assert!(!c["representative_text"].as_str().unwrap().is_empty());
        let members = c["members"].as_array().unwrap();
        assert_eq!(members[0]["document"], c["first_seen"]["document"]);
        let times: Vec<&str> = members
            .iter()
            .map(|m| m["time"].as_str().unwrap())
            .collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted, "members in time order");
    }
    // A rerun finds the same campaigns under the same ids, and replaces their findings.
    let second = campaigns(dir.path());
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&first), ids(&second));
    let store = EmbeddedStore::open_read(dir.path()).unwrap();
    let stored = store.findings(Some("copy-paste-campaign")).unwrap();
    assert_eq!(stored.len(), list.len());
    assert!(
        stored
            .iter()
            .all(|f| f.detector.starts_with("varta-detect/campaigns"))
    );
}

#[test]
fn since_and_min_actors_narrow_the_search() {
    let dir = tempfile::tempdir().unwrap();
    ingest_json(dir.path(), &[&examples()], &[]);
    let all = campaigns(dir.path()).as_array().unwrap().len();
    let out = varta(
        dir.path(),
        &["detect", "campaigns", "--json", "--min-actors", "5"],
    );
    let big = json(&out).as_array().unwrap().len();
    assert!(big < all && big > 0, "{big} of {all}");
    let out = varta(
        dir.path(),
        &["detect", "campaigns", "--json", "--since", "2030-01-01"],
    );
    assert_eq!(json(&out).as_array().unwrap().len(), 0);
    let out = varta(dir.path(), &["detect", "campaigns"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("first seen"));
}

/// `detect narratives` needs the e5 model: without one it says so and exits 3 (as `varta
/// narratives` does), a model file that cannot be read is named, and nothing is stored.
#[test]
fn narratives_without_the_model_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = ingest_json(dir.path(), &[&test_data("narratives-sample.jsonl")], &[]);
    assert_eq!(code, 0);
    // No model anywhere: no $VARTA_E5_MODEL, none in the data directory, no Python to ask.
    let out = std::process::Command::new(bin())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["detect", "narratives"])
        .env_remove("VARTA_DATA_DIR")
        .env_remove("VARTA_E5_MODEL")
        .env("PATH", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("narratives need the e5 model: run `varta models install`"),
        "{stderr}"
    );
    let out = varta(
        dir.path(),
        &[
            "detect",
            "narratives",
            "--model",
            "/nonexistent/e5-small-q4.bin",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("loading the e5 model /nonexistent/e5-small-q4.bin"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = varta(dir.path(), &["export", "csv", "--what", "findings"]);
    assert_success(&csv);
    assert!(!String::from_utf8_lossy(&csv.stdout).contains("narrative"));
}
