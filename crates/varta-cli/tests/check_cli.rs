//! `varta check`: the record and the search index compared document by document, and repaired.

mod common;

use common::*;

#[test]
fn check_finds_a_lost_index_and_repair_rebuilds_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _) = ingest_json(&data, &[&examples()], &[]);
    assert_eq!(code, 0);

    let ok = varta(&data, &["check", "--json"]);
    assert_success(&ok);
    let found = json(&ok);
    assert_eq!(found["ok"], true, "{found}");
    let stored = found["documents"].as_u64().unwrap();
    assert!(stored > 200, "{found}");
    assert_eq!(found["indexed"].as_u64(), Some(stored));

    // The index is gone (a crash of the disk it lived on, a careless `rm`): readers say so.
    std::fs::remove_dir_all(data.join("index")).unwrap();
    let lost = varta(&data, &["check", "--json"]);
    assert_eq!(
        lost.status.code(),
        Some(1),
        "check exits 1 when they disagree"
    );
    let found = json(&lost);
    assert_eq!(found["ok"], false);
    assert_eq!(found["missing_from_index"].as_u64(), Some(stored));
    let search = varta(&data, &["search", "Україна"]);
    assert_eq!(search.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&search.stderr).contains("check --repair"),
        "the error says how to mend it"
    );

    // --repair reports what it found, and leaves the store whole.
    let repaired = varta(&data, &["check", "--repair", "--json"]);
    assert_success(&repaired);
    assert_eq!(json(&repaired)["missing_from_index"].as_u64(), Some(stored));
    let after = varta(&data, &["check", "--json"]);
    assert_success(&after);
    assert_eq!(json(&after)["indexed"].as_u64(), Some(stored));
    let all = varta(&data, &["search", "", "--json", "--limit", "100000"]);
    assert_eq!(json(&all).as_array().map(Vec::len), Some(stored as usize));
}
