//! `varta serve` against tools no one here wrote (`.ci/run` installs them): the OASIS
//! `taxii2-client` pages through the findings collection with page sizes 1, 7, 100 and 1000; a
//! replay of OpenCTI's TAXII ingester (`added_after` from the last `X-TAXII-Date-Added-Last`,
//! plus `next`) walks it while more than 500 objects share one date added; Schemathesis fuzzes
//! the API from its OpenAPI document. The scripts are in `crates/varta-server/tests/peers/`.

#![cfg(feature = "serve-peers")]

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// Posts of `n` copy-paste campaigns, three accounts each: one detector run publishes well over
/// 500 objects in one transaction, all with one date added.
fn campaigns_store(dir: &Path, n: usize) {
    const WORDS: [&str; 40] = [
        "світло",
        "відключення",
        "Київ",
        "енергетика",
        "мережа",
        "графік",
        "області",
        "уряд",
        "заява",
        "міністр",
        "газ",
        "ціни",
        "зима",
        "станція",
        "ремонт",
        "аварія",
        "обстріл",
        "тривога",
        "школи",
        "лікарні",
        "вода",
        "тепло",
        "мобілізація",
        "кордон",
        "вибори",
        "партія",
        "депутат",
        "суд",
        "корупція",
        "гроші",
        "кредит",
        "банк",
        "долар",
        "гривня",
        "пенсії",
        "ветерани",
        "волонтери",
        "армія",
        "фронт",
        "допомога",
    ];
    let mut csv =
        String::from("message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n");
    let mut state: u64 = 7;
    let mut id = 1;
    for c in 0..n {
        let mut words = Vec::new();
        for _ in 0..16 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            words.push(WORDS[(state >> 33) as usize % WORDS.len()]);
        }
        let text = format!("Новина {c}: {}", words.join(" "));
        for a in 0..3 {
            let user = 1000 + c * 3 + a;
            let t = 1_709_000_000 + c as i64 * 600 + a as i64 * 5;
            csv.push_str(&format!("{id},{user},user{user},,,\"{text}\",{t},\n"));
            id += 1;
        }
    }
    let posts = dir.join("posts.csv");
    std::fs::write(&posts, csv).unwrap();
    let (code, s) = ingest_json(dir, &[&posts], &["--format", "cnt-csv"]);
    assert_eq!(code, 0, "{s}");
    assert_success(&varta(dir, &["detect", "campaigns"]));
}

fn python() -> String {
    std::env::var("VARTA_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn peers() -> std::path::PathBuf {
    repo_root().join("crates/varta-server/tests/peers")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a peer script");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{:?} failed ({:?}):\n{stdout}\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn taxii_clients_and_schemathesis_find_nothing_wrong() {
    let data = tempfile::tempdir().unwrap();
    campaigns_store(data.path(), 250);
    let reader = token(data.path(), "opencti", "reader");
    let admin = token(data.path(), "fuzzer", "admin");
    // The expected objects: what `varta export stix` writes for this store.
    let bundle = data.path().join("stix.json");
    assert_success(&varta(
        data.path(),
        &["export", "stix", "--out", bundle.to_str().unwrap()],
    ));
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let ids: Vec<String> = b["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() > 1000, "{} objects", ids.len());
    let ids_file = data.path().join("ids.txt");
    std::fs::write(&ids_file, ids.join("\n")).unwrap();

    let s = Server::start(data.path(), &[]);
    let sql = rusqlite::Connection::open(data.path().join("varta.sqlite3")).unwrap();
    let biggest: i64 = sql
        .query_row(
            "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM taxii_objects WHERE collection = 'findings' GROUP BY date_added)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(biggest >= 500, "{biggest} objects share a date added");
    let root = s.url("/taxii2/varta/");
    let findings = "5d1c0f6e-6a3e-5b1e-9a57-5e1c6b0f0a01";
    run(Command::new(python())
        .arg(peers().join("taxii_client_pages.py"))
        .args([&root, findings, &reader, ids_file.to_str().unwrap()])
        .args(["--sizes", "1,7,100,1000"]));
    let replay = run(Command::new(python())
        .arg(peers().join("opencti_replay.py"))
        .args([&root, findings, &reader, ids_file.to_str().unwrap()]));
    assert!(replay.contains("\"ok\": true"), "{replay}");
    // OpenCTI with its page size set, so that pages end inside the run of one date.
    run(Command::new(python())
        .arg(peers().join("opencti_replay.py"))
        .args([&root, findings, &reader, ids_file.to_str().unwrap()])
        .args(["--limit", "7"]));
    run(Command::new("bash")
        .arg(peers().join("schemathesis.sh"))
        .arg(s.url("/api/v1/openapi.json"))
        .arg(&admin));
    let (status, log) = s.stop();
    assert!(status.success());
    assert!(!log.contains(&admin) && !log.contains(&reader));
    let check = varta(data.path(), &["check", "--json"]);
    assert_eq!(last_json(&check)["ok"], true);
}
