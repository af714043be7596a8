//! Crash safety of `varta ingest` (issue 2): killing it with SIGKILL at any moment and running it
//! again ends in the same store as one uninterrupted run — the same documents with the same
//! sequence numbers, the same actors, and a search index that holds exactly the stored documents.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    write_posts(&posts, 0..12_000);
    let inputs = vec![posts, examples()];
    let config = small_batches_config(tmp.path());

    let reference = tmp.path().join("reference");
    let t0 = Instant::now();
    complete(&reference, &config, &inputs);
    let full = t0.elapsed();
    let expected = dump(&reference);
    let stored = expected.documents.len();
    assert!(stored > 12_000, "reference run stored {stored}");
    assert_eq!(
        expected.indexed.len(),
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
            got.documents == expected.documents,
            "documents differ after a kill at {:.0}% of the run",
            frac * 100.0
        );
        assert!(
            got.actors == expected.actors,
            "actors differ after a kill at {:.0}% of the run",
            frac * 100.0
        );
        assert!(
            got.indexed == expected.indexed,
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
