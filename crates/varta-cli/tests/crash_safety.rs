//! Crash safety of `varta ingest` (issue 2): killing it with SIGKILL at any moment and running it
//! again ends in the same store as one uninterrupted run — the same documents with the same
//! sequence numbers, the same actors, and a search index that holds exactly the stored documents.

mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A deterministic cnt-csv of `n` posts, large enough that ingest takes a few seconds.
fn write_posts(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        f,
        "message_id,user_id,username,repost_id,reply_id,message,timestamp,urls"
    )
    .unwrap();
    let words = [
        "вибори",
        "світло",
        "Україна",
        "мобілізація",
        "допомога",
        "Київ",
        "выборы",
        "свет",
        "news",
        "aid",
    ];
    for i in 0..n {
        let text: Vec<&str> = (0..12)
            .map(|k| words[(i * 7 + k * 3) % words.len()])
            .collect();
        let url = if i % 3 == 0 {
            format!("https://site{}.example/a/{}?utm_source=x", i % 50, i % 400)
        } else {
            String::new()
        };
        writeln!(
            f,
            "{i},u{},user_{},,,\"{} #{}\",{},{url}",
            i % 997,
            i % 997,
            text.join(" "),
            i % 13,
            1_700_000_000 + i
        )
        .unwrap();
    }
}

/// Small batches and frequent index commits, so that kills land inside and between both commits.
fn write_config(dir: &Path) -> PathBuf {
    let p = dir.join("crash.toml");
    std::fs::write(&p, "[ingest]\nbatch_size = 250\n[store]\nindex_commit_every = 1500\nindex_heap_bytes = 40000000\n").unwrap();
    p
}

fn ingest_cmd(data: &Path, config: &Path, inputs: &[PathBuf]) -> Command {
    let mut c = Command::new(bin());
    c.arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(["ingest", "--json"])
        .args(inputs);
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_remove("VARTA_DATA_DIR");
    c
}

/// Everything in the store that a run decides: rows in `seq` order (all but `collected_at`, which
/// is the wall clock), actors, and the ids the search index returns.
fn dump(data: &Path) -> (Vec<String>, Vec<String>, Vec<String>) {
    let conn = rusqlite::Connection::open(data.join("varta.sqlite3")).unwrap();
    let mut st = conn
        .prepare(
            "SELECT seq, id, source, format, actor_id, native_id, url, canonical_url, title, author, text, raw, \
             language, language_confidence, published_at, links, hashtags, mentions, repost_of, forwarded_from, \
             reply_to, content_hash FROM documents ORDER BY seq",
        )
        .unwrap();
    let ncols = st.column_count();
    let docs: Vec<String> = st
        .query_map([], |r| {
            let mut s = String::new();
            for i in 0..ncols {
                let v: rusqlite::types::Value = r.get(i)?;
                s.push_str(&format!("{v:?}|"));
            }
            Ok(s)
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(st);
    let mut st = conn.prepare("SELECT id, platform, handle, display_name, first_seen, last_seen FROM actors ORDER BY id").unwrap();
    let actors: Vec<String> = st
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{:?}|{:?}|{:?}|{:?}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<i64>>(5)?
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(st);
    drop(conn);
    let out = varta(data, &["search", "", "--json", "--limit", "1000000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut indexed: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect();
    indexed.sort();
    (docs, actors, indexed)
}

/// Starts an ingest, kills it with SIGKILL after `after`; true when it was still running then.
fn kill_after(data: &Path, config: &Path, inputs: &[PathBuf], after: Duration) -> bool {
    let mut child = ingest_cmd(data, config, inputs).spawn().unwrap();
    std::thread::sleep(after);
    let running = child.try_wait().unwrap().is_none();
    // `Child::kill` sends SIGKILL on Unix: no handler, no cleanup, as in a crash or an OOM kill.
    let _ = child.kill();
    let _ = child.wait();
    running
}

fn complete(data: &Path, config: &Path, inputs: &[PathBuf]) {
    let status = ingest_cmd(data, config, inputs).status().unwrap();
    assert!(status.success(), "the run after a kill must succeed");
}

#[test]
fn sigkill_at_any_moment_then_rerun_equals_one_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let posts = tmp.path().join("posts.csv");
    write_posts(&posts, 12_000);
    let inputs = vec![posts, examples()];
    let config = write_config(tmp.path());

    let reference = tmp.path().join("reference");
    let t0 = Instant::now();
    complete(&reference, &config, &inputs);
    let full = t0.elapsed();
    let expected = dump(&reference);
    let stored = expected.0.len();
    assert!(stored > 12_000, "reference run stored {stored}");
    assert_eq!(
        expected.2.len(),
        stored,
        "the index holds every stored document"
    );

    // One kill at each of several moments, from start-up to the final commits.
    let mut mid_run = 0;
    for (i, frac) in [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95]
        .into_iter()
        .enumerate()
    {
        let data = tmp.path().join(format!("kill-{i}"));
        if kill_after(&data, &config, &inputs, full.mul_f64(frac)) {
            mid_run += 1;
        }
        complete(&data, &config, &inputs);
        let got = dump(&data);
        assert!(
            got.0 == expected.0,
            "documents differ after a kill at {:.0}% of the run",
            frac * 100.0
        );
        assert!(
            got.1 == expected.1,
            "actors differ after a kill at {:.0}% of the run",
            frac * 100.0
        );
        assert!(
            got.2 == expected.2,
            "index differs after a kill at {:.0}% of the run",
            frac * 100.0
        );
    }
    assert!(
        mid_run >= 4,
        "only {mid_run} kills landed while ingest was running; the input is too small"
    );

    // Repeated kills of the re-runs themselves, then one run to the end.
    let data = tmp.path().join("kill-repeated");
    for frac in [0.3, 0.3, 0.3, 0.15] {
        kill_after(&data, &config, &inputs, full.mul_f64(frac));
    }
    complete(&data, &config, &inputs);
    assert!(
        dump(&data) == expected,
        "store differs after repeated kills"
    );
}
