//! Hostile input through the real `varta` binary.
//!
//! Every test writes its inputs into a fresh temporary directory, runs `varta ingest --json` with a
//! fresh `--data-dir`, and checks the exit code, the JSON summary (the last line of stdout), that the
//! good records next to the bad ones were stored, and that the store still answers `stats --json`
//! with counts matching the summary. The large cases (100 MB one-line files, a 1 GiB gzip bomb) also
//! measure the child's peak resident memory, exactly, from `wait4`'s rusage (what `/usr/bin/time -v`
//! reports as "Maximum resident set size").

use serde::Deserialize;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const VARTA: &str = env!("CARGO_BIN_EXE_varta");
const MIB: u64 = 1 << 20;
/// Any single run that takes longer than this is killed and the test fails (a hang is a bug too).
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

/// What one run of the binary did.
struct Run {
    /// The exit code, `None` when a signal killed it.
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident set size of the child, in bytes.
    peak_rss: u64,
    elapsed: Duration,
    /// The command line, for failure messages.
    cmdline: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "`{}`\nexit code {:?}, signal {:?}, {:.2} s, peak RSS {} MiB\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmdline,
            self.code,
            self.signal,
            self.elapsed.as_secs_f64(),
            self.peak_rss / MIB,
            tail(&self.stdout, 4000),
            tail(&self.stderr, 4000),
        )
    }

    /// Neither a crash (panic, signal) nor a store/system failure (exit 3).
    #[track_caller]
    fn assert_no_crash(&self) {
        assert!(
            self.signal.is_none(),
            "varta was killed by a signal:\n{}",
            self.describe()
        );
        assert!(
            !self.stderr.contains("panicked"),
            "varta panicked:\n{}",
            self.describe()
        );
        assert_ne!(
            self.code,
            Some(3),
            "varta reported a store/system failure:\n{}",
            self.describe()
        );
    }

    #[track_caller]
    fn assert_code(&self, code: i32) {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code:\n{}",
            self.describe()
        );
    }

    /// Bounds sit well under the size of the hostile input (100 MiB lines, 512 MiB bombs) plus
    /// the process's own baseline (about 60 MiB for the debug binary, more with mimalloc's
    /// per-thread segments), so reading the input whole fails them.
    #[track_caller]
    fn assert_peak_rss_below(&self, mib: u64) {
        assert!(
            self.peak_rss < mib * MIB,
            "peak RSS {} MiB is not below {mib} MiB:\n{}",
            self.peak_rss / MIB,
            self.describe()
        );
    }
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Runs `varta` with `args`, reaping it with `wait4` to learn its exact peak RSS; kills it after
/// [`RUN_TIMEOUT`].
fn run_varta(args: &[&str]) -> Run {
    let cmdline = format!("varta {}", args.join(" "));
    let started = Instant::now();
    let mut child = Command::new(VARTA)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // No log noise, no progress bar: stderr is a pipe anyway.
        .env_remove("RUST_LOG")
        .env_remove("VARTA_DATA_DIR")
        .spawn()
        .expect("spawning the varta binary");
    let pid = child.id() as libc::pid_t;
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let mut timed_out = false;
    let (status, rusage) = loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain old data; all-zero is a valid value.
        let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if timed_out { 0 } else { libc::WNOHANG };
        // SAFETY: valid pointers to locals; `pid` is our own child, reaped only here (the `Child`
        // handle is never waited on).
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut rusage) };
        if r == pid {
            break (status, rusage);
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            panic!("wait4 on {cmdline}: {e}");
        }
        if started.elapsed() > RUN_TIMEOUT && !timed_out {
            // SAFETY: sending a signal to our own, not yet reaped, child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            timed_out = true;
            continue;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(child);
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out_thread.join().expect("stdout reader")).into_owned();
    let stderr = String::from_utf8_lossy(&err_thread.join().expect("stderr reader")).into_owned();
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    let run = Run {
        code,
        signal,
        stdout,
        stderr,
        // Linux reports ru_maxrss in KiB.
        peak_rss: rusage.ru_maxrss as u64 * 1024,
        elapsed,
        cmdline,
    };
    assert!(
        !timed_out,
        "varta did not finish within {RUN_TIMEOUT:?} and was killed:\n{}",
        run.describe()
    );
    run
}

/// The `ingest --json` summary.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    ingested: u64,
    duplicates: u64,
    failed: u64,
    errors: Vec<ErrorEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorEntry {
    file: String,
    record: Option<String>,
    message: String,
}

/// What an expected error's `record` must be.
#[derive(Debug, Clone, Copy)]
enum Rec<'a> {
    /// Null: the whole file failed.
    WholeFile,
    /// This record, e.g. "line 3" or "message 3" (which also matches "message 3 (id 103)").
    Is(&'a str),
}

impl Rec<'_> {
    fn matches(self, record: Option<&str>) -> bool {
        match (self, record) {
            (Rec::WholeFile, r) => r.is_none(),
            (Rec::Is(want), Some(r)) => {
                r == want
                    || r.starts_with(&format!("{want} "))
                    || r.starts_with(&format!("{want},"))
            }
            (Rec::Is(_), None) => false,
        }
    }
}

impl Summary {
    /// The error about `file` (its path ends with it) and `record` whose message contains every
    /// needle (case-insensitive).
    #[track_caller]
    fn expect_error(&self, file: &str, record: Rec<'_>, needles: &[&str]) -> &ErrorEntry {
        self.errors
            .iter()
            .find(|e| {
                let msg = e.message.to_lowercase();
                e.file.ends_with(file)
                    && record.matches(e.record.as_deref())
                    && needles.iter().all(|n| msg.contains(&n.to_lowercase()))
            })
            .unwrap_or_else(|| {
                panic!(
                    "no error for file {file:?}, record {record:?}, message containing {needles:?}; errors:\n{:#?}",
                    self.errors
                )
            })
    }

    /// Errors naming `file`.
    fn errors_for(&self, file: &str) -> Vec<&ErrorEntry> {
        self.errors
            .iter()
            .filter(|e| e.file.ends_with(file))
            .collect()
    }
}

/// One test's world: inputs under `in/`, the store under `data/`, all removed at the end.
struct Env {
    dir: TempDir,
    /// Documents the store should hold after every ingest so far.
    stored: std::cell::Cell<u64>,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("varta-hostile-")
            .tempdir()
            .expect("creating a temporary directory");
        fs::create_dir_all(dir.path().join("in")).expect("creating in/");
        Env {
            dir,
            stored: std::cell::Cell::new(0),
        }
    }

    fn data_dir(&self) -> String {
        path_str(&self.dir.path().join("data"))
    }

    /// A path under `in/` (parents created).
    fn path(&self, rel: &str) -> PathBuf {
        let p = self.dir.path().join("in").join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("creating input folders");
        }
        p
    }

    /// Writes an input file under `in/` and returns its path as a string.
    fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.path(rel);
        fs::write(&p, bytes).expect("writing an input file");
        path_str(&p)
    }

    /// A configuration file outside `in/` and `data/`.
    fn config(&self, toml: &str) -> String {
        let p = self.dir.path().join("varta-test.toml");
        fs::write(&p, toml).expect("writing the config file");
        path_str(&p)
    }

    /// `varta --data-dir DATA [--config CFG] ARGS...`
    fn varta(&self, config: Option<&str>, args: &[&str]) -> Run {
        let data = self.data_dir();
        let mut all: Vec<&str> = vec!["--data-dir", &data];
        if let Some(c) = config {
            all.extend(["--config", c]);
        }
        all.extend_from_slice(args);
        run_varta(&all)
    }

    /// `varta ingest ARGS... --json`: checks it did not crash, parses the summary (the last stdout
    /// line), checks the summary is consistent, and checks the store still works and holds what the
    /// summary says.
    #[track_caller]
    fn ingest(&self, config: Option<&str>, args: &[&str]) -> (Run, Summary) {
        let mut all = vec!["ingest"];
        all.extend_from_slice(args);
        all.push("--json");
        let run = self.varta(config, &all);
        // Shown by the test harness only when the test fails (or with --nocapture).
        eprintln!("{}", run.describe());
        run.assert_no_crash();
        let last = run.stdout.lines().last().unwrap_or_else(|| {
            panic!(
                "ingest --json printed nothing on stdout:\n{}",
                run.describe()
            )
        });
        let summary: Summary = serde_json::from_str(last).unwrap_or_else(|e| {
            panic!(
                "the last stdout line is not the JSON summary ({e}):\n{}",
                run.describe()
            )
        });
        if summary.failed <= 1000 {
            assert_eq!(
                summary.failed as usize,
                summary.errors.len(),
                "failed must count the listed errors: {summary:#?}"
            );
        }
        for e in &summary.errors {
            assert!(
                !e.file.is_empty() && !e.message.is_empty(),
                "an error without a file or a message: {e:?}"
            );
        }
        let want_code = if summary.ingested + summary.duplicates > 0 {
            0
        } else {
            1
        };
        assert_eq!(
            run.code,
            Some(want_code),
            "exit code does not follow the summary {summary:?}:\n{}",
            run.describe()
        );
        self.stored.set(self.stored.get() + summary.ingested);
        self.assert_store_usable(config);
        (run, summary)
    }

    /// `stats --json` works and counts what was ingested.
    #[track_caller]
    fn assert_store_usable(&self, config: Option<&str>) {
        let run = self.varta(config, &["stats", "--json"]);
        run.assert_code(0);
        let stats: serde_json::Value = serde_json::from_str(run.stdout.trim())
            .unwrap_or_else(|e| panic!("stats --json is not JSON ({e}):\n{}", run.describe()));
        assert_eq!(
            stats["documents"].as_u64(),
            Some(self.stored.get()),
            "stats disagree with the ingest summaries: {stats}"
        );
    }

    /// The stored documents straight from the database: (native id, title, text, raw).
    fn documents(&self) -> Vec<StoredDoc> {
        let db = self.dir.path().join("data").join("varta.sqlite3");
        let conn =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("opening the store's database");
        let mut stmt = conn
            .prepare("SELECT native_id, title, text, raw FROM documents ORDER BY seq")
            .expect("preparing a query");
        stmt.query_map([], |r| {
            Ok(StoredDoc {
                native_id: r.get(0)?,
                title: r.get(1)?,
                text: r.get(2)?,
                raw: r.get(3)?,
            })
        })
        .expect("querying documents")
        .collect::<Result<Vec<_>, _>>()
        .expect("reading documents")
    }

    /// Titles of the stored documents, in storage order.
    fn titles(&self) -> Vec<String> {
        self.documents()
            .into_iter()
            .filter_map(|d| d.title)
            .collect()
    }

    /// Sorted native ids of the stored documents.
    fn native_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .documents()
            .into_iter()
            .filter_map(|d| d.native_id)
            .collect();
        ids.sort();
        ids
    }
}

#[derive(Debug)]
struct StoredDoc {
    native_id: Option<String>,
    title: Option<String>,
    text: String,
    raw: Option<String>,
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("temporary paths are UTF-8").to_string()
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

const CNT_HEADER: &str = "message_id,user_id,username,repost_id,reply_id,message,timestamp,urls";

fn cnt_row(id: &str, text: &str) -> String {
    format!("{id},u{id},user_{id},,,\"{text}\",1709274612,https://news.example/{id}\n")
}

fn jsonl_line(id: &str, text: &str) -> String {
    format!(
        "{{\"id\": \"{id}\", \"text\": \"{text}\", \"published_at\": \"2024-03-01T09:30:00Z\"}}\n"
    )
}

/// A Telegram Desktop export of a channel with `n` messages (ids 101, 102, ...), pretty-printed as
/// Telegram writes it.
fn telegram_export(n: usize) -> String {
    let messages: Vec<serde_json::Value> = (1..=n)
        .map(|i| {
            serde_json::json!({
                "id": 100 + i,
                "type": "message",
                "date": "2024-03-01T10:15:00",
                "date_unixtime": (1709280900 + i * 60).to_string(),
                "from": "Hostile Channel",
                "from_id": "channel4242",
                "text": format!("Telegram message number {i}: the power is back in the whole district."),
                "text_entities": [{"type": "plain", "text": format!("Telegram message number {i}")}],
            })
        })
        .collect();
    let export = serde_json::json!({
        "name": "Hostile Channel",
        "type": "public_channel",
        "id": 4242,
        "messages": messages,
    });
    serde_json::to_string_pretty(&export).expect("serialising the export")
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn garbage(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// Writes `before`, then `pattern` repeated to `fill` bytes (in 1 MiB chunks, never holding the
/// whole file), then `after`.
fn write_big(path: &Path, before: &[u8], pattern: &[u8], fill: u64, after: &[u8]) {
    let mut w = BufWriter::new(File::create(path).expect("creating a big file"));
    w.write_all(before).expect("writing");
    let chunk: Vec<u8> = pattern.iter().copied().cycle().take(MIB as usize).collect();
    let mut left = fill;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        w.write_all(&chunk[..n]).expect("writing");
        left -= n as u64;
    }
    w.write_all(after).expect("writing");
    w.flush().expect("flushing");
}

/// A gzip file whose single deflate stream decompresses to `prefix` and then `fill` spaces,
/// written streaming (about 1 KiB of output per MiB of input).
fn write_gzip_bomb(path: &Path, prefix: &[u8], fill: u64) {
    let file = BufWriter::new(File::create(path).expect("creating the bomb"));
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    gz.write_all(prefix).expect("compressing");
    let chunk = vec![b' '; MIB as usize];
    let mut left = fill;
    while left > 0 {
        let n = left.min(MIB) as usize;
        gz.write_all(&chunk[..n]).expect("compressing");
        left -= n as u64;
    }
    gz.finish()
        .expect("finishing the gzip stream")
        .flush()
        .expect("flushing");
}

const GOOD_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><title>Grid restored in Kharkiv</title></head>\
<body><article><h1>Grid restored in Kharkiv</h1>\
<p>Engineers restored power to every district of Kharkiv on Friday evening after the overnight strike.</p>\
<p>The operator said no scheduled outages are planned for the weekend and asked residents to save power \
during the evening peak.</p></article></body></html>";

const GOOD_TEXT: &str = "Ukrenergo: no outage schedules today\n\nThe grid operator said on Friday that \
there is no power deficit and no outage schedules are planned for household consumers today.\n";

fn billion_laughs_feed() -> String {
    let mut dtd = String::from("<!DOCTYPE rss [\n  <!ENTITY lol \"lol\">\n");
    for i in 1..=9 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        let refs = format!("&{prev};").repeat(10);
        dtd.push_str(&format!("  <!ENTITY lol{i} \"{refs}\">\n"));
    }
    dtd.push_str("]>\n");
    format!(
        "<?xml version=\"1.0\"?>\n{dtd}<rss version=\"2.0\"><channel>\
<title>Laughs</title><link>https://laughs.example/</link><description>A feed</description>\
<item><title>&lol9;</title><link>https://laughs.example/1</link><guid>laugh-1</guid>\
<description>&lol9;</description></item>\
<item><title>An ordinary item</title><link>https://laughs.example/2</link><guid>laugh-2</guid>\
<description>An ordinary entry next to the bomb.</description></item>\
</channel></rss>\n"
    )
}

/// 200,000 nested `<div>`s with text at the top and at the bottom.
fn deeply_nested_page(depth: usize) -> String {
    let mut s = String::with_capacity(depth * 11 + 1000);
    s.push_str("<!DOCTYPE html><html><head><title>Nested page</title></head><body>");
    s.push_str("<p>Top paragraph: the regional administration reported no damage overnight.</p>");
    for _ in 0..depth {
        s.push_str("<div>");
    }
    s.push_str("<p>Bottom paragraph: the deepest text of the page, far below everything else.</p>");
    for _ in 0..depth {
        s.push_str("</div>");
    }
    s.push_str("</body></html>");
    s
}

// ---------------------------------------------------------------------------------------------
// 1. Truncated JSON
// ---------------------------------------------------------------------------------------------

#[test]
fn truncated_telegram_export() {
    let env = Env::new();
    let full = telegram_export(5);
    let m3 = full
        .find("Telegram message number 3:")
        .expect("message 3 in the export");
    // Cut inside message 3's text: messages 1 and 2 are complete, 3 is not.
    let file = env.write("export/result.json", &full[..m3 + 12]);
    let (run, sum) = env.ingest(None, &[&file]);
    run.assert_code(0);
    assert_eq!(sum.ingested, 2, "{sum:#?}");
    assert_eq!(sum.failed, 1, "{sum:#?}");
    sum.expect_error("export/result.json", Rec::Is("message 3"), &[]);
    assert_eq!(env.native_ids(), sorted(&["101", "102"]));
}

#[test]
fn truncated_json_line() {
    let env = Env::new();
    let mut s = String::new();
    s += &jsonl_line("j1", "First good line");
    s += &jsonl_line("j2", "Second good line");
    s += "{\"id\": \"j3\", \"text\": \"This line was cut in the mid\n";
    s += &jsonl_line("j4", "Fourth good line");
    s += &jsonl_line("j5", "Fifth good line");
    let file = env.write("posts.jsonl", s);
    let (run, sum) = env.ingest(None, &[&file]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (4, 1), "{sum:#?}");
    sum.expect_error("posts.jsonl", Rec::Is("line 3"), &["json"]);
    assert_eq!(env.native_ids(), sorted(&["j1", "j2", "j4", "j5"]));
}

/// One Telegram message over the record cap (from the config): it is skipped without being stored,
/// the error names the message and the limit, and the messages around it are kept.
#[test]
fn oversized_telegram_message() {
    let env = Env::new();
    let cfg = env.config("[limits]\nmax_record_bytes = 4096\n");
    let export = telegram_export(3).replace(
        "Telegram message number 2:",
        &format!("Telegram message number 2: {}", "padding ".repeat(2000)),
    );
    let file = env.write("result.json", export);
    let (run, sum) = env.ingest(Some(&cfg), &[&file]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (2, 1), "{sum:#?}");
    sum.expect_error(
        "result.json",
        Rec::Is("message 2"),
        &["exceeds the limit", "4096"],
    );
    assert_eq!(env.native_ids(), sorted(&["101", "103"]));
}

// ---------------------------------------------------------------------------------------------
// 2. Invalid UTF-8
// ---------------------------------------------------------------------------------------------

#[test]
fn invalid_utf8_in_cnt_csv() {
    let env = Env::new();
    let mut bytes = format!("{CNT_HEADER}\n").into_bytes();
    bytes.extend(cnt_row("1001", "Good row one").as_bytes());
    bytes.extend(b"1002,u1002,user_1002,,,\"Broken \xff\xfe bytes here\",1709274612,\n");
    bytes.extend(cnt_row("1003", "Good row three").as_bytes());
    bytes.extend(cnt_row("1004", "Good row four").as_bytes());
    let file = env.write("cnt.csv", bytes);
    let (run, sum) = env.ingest(None, &[&file]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (3, 1), "{sum:#?}");
    sum.expect_error("cnt.csv", Rec::Is("line 3"), &["utf-8"]);
    assert_eq!(env.native_ids(), sorted(&["1001", "1003", "1004"]));
}

#[test]
fn invalid_utf8_in_jsonl() {
    let env = Env::new();
    let mut bytes = jsonl_line("k1", "Good line one").into_bytes();
    bytes.extend(b"{\"id\": \"k2\", \"text\": \"Broken \xff\xfe bytes\"}\n");
    bytes.extend(jsonl_line("k3", "Good line three").as_bytes());
    let file = env.write("utf8.jsonl", bytes);
    let (run, sum) = env.ingest(None, &[&file]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (2, 1), "{sum:#?}");
    sum.expect_error("utf8.jsonl", Rec::Is("line 2"), &[]);
    assert_eq!(env.native_ids(), sorted(&["k1", "k3"]));
}

// ---------------------------------------------------------------------------------------------
// 3. Wrong number of fields
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_field_count_cnt_csv() {
    let env = Env::new();
    let mut s = format!("{CNT_HEADER}\n");
    s += &cnt_row("2001", "Good row");
    s += "2002,u2002,user_2002,\"Too few fields\",1709274612\n";
    s += &cnt_row("2003", "Good row");
    s += "2004,u2004,user_2004,,,\"Too many fields\",1709274612,,extra,more\n";
    s += &cnt_row("2005", "Good row");
    let file = env.write("fields.csv", s);
    let (run, sum) = env.ingest(None, &[&file]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (3, 2), "{sum:#?}");
    sum.expect_error("fields.csv", Rec::Is("line 3"), &["fields"]);
    sum.expect_error("fields.csv", Rec::Is("line 5"), &["fields"]);
    assert_eq!(env.native_ids(), sorted(&["2001", "2003", "2005"]));
}

#[test]
fn wrong_field_count_generic_csv() {
    let env = Env::new();
    let s = "id,author,date,text,url,lang\n\
g1,Anna,2024-03-01T09:00:00Z,\"Good generic row one\",https://a.example/1,en\n\
g2,Boris,2024-03-01T09:05:00Z,\"Missing the last columns\"\n\
g3,Chen,2024-03-01T09:10:00Z,\"Good generic row three\",https://a.example/3,en\n\
g4,Dana,2024-03-01T09:15:00Z,\"One column too many\",https://a.example/4,en,surplus\n\
g5,Emil,2024-03-01T09:20:00Z,\"Good generic row five\",https://a.example/5,en\n";
    let file = env.write("generic.csv", s);
    let (run, sum) = env.ingest(None, &[&file]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (3, 2), "{sum:#?}");
    sum.expect_error("generic.csv", Rec::Is("line 3"), &["fields"]);
    sum.expect_error("generic.csv", Rec::Is("line 5"), &["fields"]);
    assert_eq!(env.native_ids(), sorted(&["g1", "g3", "g5"]));
}

// ---------------------------------------------------------------------------------------------
// 4. 100 MB one-line files
// ---------------------------------------------------------------------------------------------

#[test]
fn huge_single_line_jsonl() {
    let env = Env::new();
    let path = env.path("huge.jsonl");
    let before = format!(
        "{}{{\"id\": \"huge\", \"text\": \"",
        jsonl_line("small-1", "Small line before the huge one")
    );
    let after = format!(
        "\"}}\n{}",
        jsonl_line("small-2", "Small line after the huge one")
    );
    write_big(
        &path,
        before.as_bytes(),
        b"lorem ipsum ",
        100 * MIB,
        after.as_bytes(),
    );
    let file = path_str(&path);
    let (run, sum) = env.ingest(None, &[&file]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (2, 1), "{sum:#?}");
    sum.expect_error("huge.jsonl", Rec::Is("line 2"), &["exceeds the limit"]);
    assert_eq!(env.native_ids(), sorted(&["small-1", "small-2"]));
    run.assert_peak_rss_below(128);
}

#[test]
fn huge_single_line_text() {
    let env = Env::new();
    let path = env.path("huge.txt");
    write_big(&path, b"Title\n\n", b"word ", 100 * MIB, b"\n");
    let file = path_str(&path);
    let good = env.write("good.txt", GOOD_TEXT);
    let started = Instant::now();
    let (run, sum) = env.ingest(None, &[&file, &good, "--format", "text"]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (1, 1), "{sum:#?}");
    // The default max_file_bytes is 64 MiB.
    sum.expect_error(
        "huge.txt",
        Rec::WholeFile,
        &["exceeds the limit", "67108864", "max_file_bytes"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "refusing an oversized file should be quick:\n{}",
        run.describe()
    );
    run.assert_peak_rss_below(128);
}

/// The limits come from the config file: a small record cap rejects a line the default would take.
#[test]
fn record_limit_from_config() {
    let env = Env::new();
    let cfg = env.config("[limits]\nmax_record_bytes = 4096\nmax_file_bytes = 8192\n");
    let mut s = jsonl_line("c1", "Small line");
    s += &jsonl_line("c2", &"long ".repeat(2000));
    s += &jsonl_line("c3", "Another small line");
    let jsonl = env.write("limits.jsonl", s);
    let txt = env.write("long.txt", "word ".repeat(4000));
    let (run, sum) = env.ingest(Some(&cfg), &[&jsonl, &txt]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (2, 2), "{sum:#?}");
    sum.expect_error(
        "limits.jsonl",
        Rec::Is("line 2"),
        &["exceeds the limit", "4096"],
    );
    sum.expect_error(
        "long.txt",
        Rec::WholeFile,
        &["exceeds the limit", "8192", "max_file_bytes"],
    );
    assert_eq!(env.native_ids(), sorted(&["c1", "c3"]));
}

// ---------------------------------------------------------------------------------------------
// 5. Binary garbage
// ---------------------------------------------------------------------------------------------

#[test]
fn binary_garbage_unknown_extension() {
    let env = Env::new();
    let file = env.write("garbage.bin", garbage(64 * 1024));
    let (run, sum) = env.ingest(None, &[&file]);
    run.assert_code(1);
    assert_eq!((sum.ingested, sum.failed), (0, 1), "{sum:#?}");
    sum.expect_error("garbage.bin", Rec::WholeFile, &["cannot tell the format"]);
}

#[test]
fn binary_garbage_named_html() {
    let env = Env::new();
    let bad = env.write("page.html", garbage(64 * 1024));
    let good = env.write("good.html", GOOD_PAGE);
    let (run, sum) = env.ingest(None, &[&bad, &good]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (1, 1), "{sum:#?}");
    sum.expect_error("page.html", Rec::WholeFile, &["binary data"]);
    assert_eq!(env.titles(), ["Grid restored in Kharkiv"]);
}

#[test]
fn binary_garbage_forced_text() {
    let env = Env::new();
    let file = env.write("garbage.bin", garbage(64 * 1024));
    let (run, sum) = env.ingest(None, &[&file, "--format", "text"]);
    run.assert_code(1);
    assert_eq!((sum.ingested, sum.failed), (0, 1), "{sum:#?}");
    sum.expect_error("garbage.bin", Rec::WholeFile, &["binary data"]);
}

// ---------------------------------------------------------------------------------------------
// 6. Billion laughs
// ---------------------------------------------------------------------------------------------

#[test]
fn billion_laughs_feed_is_not_expanded() {
    let env = Env::new();
    let file = env.write("laughs.rss", billion_laughs_feed());
    let (run, sum) = env.ingest(None, &[&file]);
    // Either the feed is refused (naming the file) or read without expanding the entities.
    if sum.ingested == 0 {
        assert!(
            !sum.errors_for("laughs.rss").is_empty(),
            "nothing ingested and no error naming the feed: {sum:#?}"
        );
    }
    // Even one level of expansion (&lol1; is ten "lol"s) would show as ten in a row.
    let lols = "lol".repeat(10);
    for d in env.documents() {
        for (what, s) in [
            ("title", d.title.as_deref().unwrap_or("")),
            ("text", &d.text),
            ("raw", d.raw.as_deref().unwrap_or("")),
        ] {
            assert!(
                s.len() < 10_000 && !s.contains(&lols),
                "the entities were expanded into the {what} of {:?} ({} bytes)",
                d.native_id,
                s.len()
            );
        }
    }
    if sum.ingested > 0 {
        assert!(
            env.native_ids().contains(&"laugh-2".to_string()),
            "the feed was read but its ordinary item is missing: {sum:#?}"
        );
    }
    run.assert_peak_rss_below(200);
    assert!(
        run.elapsed < Duration::from_secs(30),
        "billion laughs took too long:\n{}",
        run.describe()
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Gzip bomb
// ---------------------------------------------------------------------------------------------

#[test]
fn gzip_bomb_page() {
    let env = Env::new();
    let bomb = env.path("bomb.html.gz");
    write_gzip_bomb(&bomb, b"<html><body><p>", 1024 * MIB);
    let compressed = fs::metadata(&bomb).expect("bomb metadata").len();
    assert!(
        compressed < 4 * MIB,
        "the bomb should be small: {compressed} bytes"
    );
    let bomb = path_str(&bomb);
    let good = env.write("good.html", GOOD_PAGE);

    // Default limits: the 64 MiB file cap or the 256 MiB decompression cap stops it.
    let (run, sum) = env.ingest(None, &[&bomb, &good]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (1, 1), "{sum:#?}");
    let e = sum.expect_error("bomb.html.gz", Rec::WholeFile, &["limit"]);
    assert!(
        ["max_decompressed_bytes", "gzip bomb", "max_file_bytes"]
            .iter()
            .any(|w| e.message.contains(w)),
        "the error should name the limit: {e:?}"
    );
    assert_eq!(env.titles(), ["Grid restored in Kharkiv"]);
    run.assert_peak_rss_below(300);

    // A decompression cap below the file cap: the bomb is refused as a bomb.
    let env2 = Env::new();
    let cfg =
        env2.config("[limits]\nmax_file_bytes = 536870912\nmax_decompressed_bytes = 16777216\n");
    let (run, sum) = env2.ingest(Some(&cfg), &[&bomb, &good]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (1, 1), "{sum:#?}");
    sum.expect_error(
        "bomb.html.gz",
        Rec::WholeFile,
        &["max_decompressed_bytes", "gzip bomb"],
    );
    assert_eq!(env2.titles(), ["Grid restored in Kharkiv"]);
    run.assert_peak_rss_below(128);
}

// ---------------------------------------------------------------------------------------------
// 8. Deeply nested HTML
// ---------------------------------------------------------------------------------------------

#[test]
fn deeply_nested_html() {
    let env = Env::new();
    let file = env.write("nested.html", deeply_nested_page(200_000));
    let (run, sum) = env.ingest(None, &[&file]);
    match sum.ingested {
        1 => {
            let docs = env.documents();
            let text = &docs[0].text;
            assert!(
                text.contains("Top paragraph") || text.contains("Bottom paragraph"),
                "the nested page was stored without its text: {text:?}"
            );
        }
        0 => {
            sum.expect_error("nested.html", Rec::WholeFile, &[]);
        }
        n => panic!("one page became {n} documents: {sum:#?}"),
    }
    run.assert_peak_rss_below(300);
}

// ---------------------------------------------------------------------------------------------
// 9. A folder mixing good files and every bad one
// ---------------------------------------------------------------------------------------------

#[test]
fn mixed_folder() {
    let env = Env::new();
    // Lower caps keep the oversized cases small; the 100 MB and 1 GiB cases run above.
    let cfg = env.config(
        "[limits]\nmax_record_bytes = 65536\nmax_file_bytes = 4194304\nmax_decompressed_bytes = 2097152\n",
    );
    let mut good_ids: Vec<&str> = Vec::new();
    // (file, what its error must contain) for every bad record or file.
    let mut bad: Vec<(&str, Rec<'_>)> = Vec::new();

    // Good files.
    env.write(
        "mixed/good/cnt.csv",
        format!(
            "{CNT_HEADER}\n{}{}",
            cnt_row("3001", "Good cnt one"),
            cnt_row("3002", "Good cnt two")
        ),
    );
    good_ids.extend(["3001", "3002"]);
    env.write(
        "mixed/good/posts.jsonl",
        jsonl_line("m1", "Good JSON line one") + &jsonl_line("m2", "Good JSON line two"),
    );
    good_ids.extend(["m1", "m2"]);
    env.write("mixed/good/page.html", GOOD_PAGE);
    env.write("mixed/good/notes.txt", GOOD_TEXT);
    let good_whole_files = 2; // no native id
    env.write(
        "mixed/good/telegram/result.json",
        telegram_export(2)
            .replace("channel4242", "channel77")
            .replace("\"id\": 4242", "\"id\": 77"),
    );
    good_ids.extend(["101", "102"]);

    // 1. Truncated JSON: a Telegram export cut in message 3 (its first two are good), a cut line.
    let tg = telegram_export(4)
        .replace("\"id\": 10", "\"id\": 50")
        .replace("\"id\": 4242", "\"id\": 88");
    let cut = tg.find("Telegram message number 3:").expect("message 3") + 12;
    env.write("mixed/bad/truncated/result.json", &tg[..cut]);
    good_ids.extend(["501", "502"]);
    bad.push(("truncated/result.json", Rec::Is("message 3")));
    let mut jl = jsonl_line("t1", "Good line before the cut").into_bytes();
    jl.extend(b"{\"id\": \"t2\", \"text\": \"cut in the mi\n");
    // 2. Invalid UTF-8 in a JSON line.
    jl.extend(b"{\"id\": \"t3\", \"text\": \"bad \xff\xfe\"}\n");
    // 4 (scaled down). A line over the record cap.
    jl.extend(jsonl_line("t4", &"x".repeat(100_000)).as_bytes());
    jl.extend(jsonl_line("t5", "Good line at the end").as_bytes());
    env.write("mixed/bad/lines.jsonl", jl);
    good_ids.extend(["t1", "t5"]);
    bad.push(("lines.jsonl", Rec::Is("line 2")));
    bad.push(("lines.jsonl", Rec::Is("line 3")));
    bad.push(("lines.jsonl", Rec::Is("line 4")));
    // 2, 3. Invalid UTF-8 and wrong field counts in CSVs.
    let mut cnt = format!("{CNT_HEADER}\n").into_bytes();
    cnt.extend(cnt_row("4001", "Good").as_bytes());
    cnt.extend(b"4002,u4002,user_4002,,,\"bad \xff\xfe\",1709274612,\n");
    cnt.extend(b"4003,u4003,\"too few\"\n");
    cnt.extend(cnt_row("4004", "Good").as_bytes());
    env.write("mixed/bad/cnt.csv", cnt);
    good_ids.extend(["4001", "4004"]);
    bad.push(("bad/cnt.csv", Rec::Is("line 3")));
    bad.push(("bad/cnt.csv", Rec::Is("line 4")));
    env.write(
        "mixed/bad/generic.csv",
        "id,text\nh1,Good generic\nh2,Too,many,fields\nh3,Good again\n",
    );
    good_ids.extend(["h1", "h3"]);
    bad.push(("generic.csv", Rec::Is("line 3")));
    // 4 (scaled down). A text file over the file cap.
    write_big(
        &env.path("mixed/bad/big.txt"),
        b"",
        b"word ",
        5 * MIB,
        b"\n",
    );
    bad.push(("big.txt", Rec::WholeFile));
    // 5. Binary garbage named as a page; with an unknown extension it is skipped in a folder walk.
    env.write("mixed/bad/garbage.html", garbage(16 * 1024));
    bad.push(("garbage.html", Rec::WholeFile));
    env.write("mixed/bad/garbage.bin", garbage(16 * 1024));
    // 6. Billion laughs: refused, or read without expansion (then its ordinary item is stored).
    env.write("mixed/bad/laughs.rss", billion_laughs_feed());
    // 7. A gzip bomb (64 MiB of spaces against a 2 MiB decompression cap).
    write_gzip_bomb(
        &env.path("mixed/bad/bomb.html.gz"),
        b"<html><body><p>",
        64 * MIB,
    );
    bad.push(("bomb.html.gz", Rec::WholeFile));
    // 8. Deeply nested HTML (ingested or a clean error; counted below).
    env.write("mixed/bad/nested.html", deeply_nested_page(200_000));

    let folder = path_str(&env.path("mixed"));
    let (run, sum) = env.ingest(Some(&cfg), &[&folder]);
    run.assert_code(0);

    for (file, rec) in &bad {
        sum.expect_error(file, *rec, &[]);
    }
    // The cases allowed to go either way: count what they became.
    let laughs_ids: Vec<String> = env
        .native_ids()
        .into_iter()
        .filter(|id| id.starts_with("laugh-"))
        .collect();
    let laughs_failed = sum.errors_for("laughs.rss").len() as u64;
    assert!(
        laughs_ids.len() as u64 + laughs_failed > 0,
        "the laughs feed neither stored anything nor failed: {sum:#?}"
    );
    let nested_failed = sum.errors_for("nested.html").len() as u64;
    assert!(nested_failed <= 1, "{sum:#?}");
    let nested_ingested = 1 - nested_failed;

    let expected_ingested =
        good_ids.len() as u64 + good_whole_files + laughs_ids.len() as u64 + nested_ingested;
    assert_eq!(
        sum.ingested, expected_ingested,
        "ingested must be exactly the good records: {sum:#?}"
    );
    assert_eq!(sum.duplicates, 0, "{sum:#?}");
    assert!(
        sum.failed >= bad.len() as u64,
        "every bad case must fail ({} listed): {sum:#?}",
        bad.len()
    );
    assert_eq!(
        sum.failed,
        bad.len() as u64 + laughs_failed + nested_failed,
        "no failure beyond the bad cases: {sum:#?}"
    );
    let mut want: Vec<String> = good_ids.iter().map(|s| s.to_string()).collect();
    want.extend(laughs_ids);
    want.sort();
    let stored: Vec<String> = env
        .native_ids()
        .into_iter()
        .filter(|id| !id.is_empty())
        .collect();
    assert_eq!(stored, want, "the stored native ids");
}

// ---------------------------------------------------------------------------------------------
// 10. Nothing readable, missing paths, usage errors
// ---------------------------------------------------------------------------------------------

#[test]
fn nothing_readable_exits_1() {
    let env = Env::new();
    let garbage_bin = env.write("garbage.bin", garbage(4096));
    let garbage_html = env.write("page.html", garbage(4096));
    let cut = env.write("cut.jsonl", "{\"id\": \"x\", \"text\": \"cut\n");
    let mut cnt = format!("{CNT_HEADER}\n").into_bytes();
    cnt.extend(b"1,u1,user,,,\"\xff\xfe\",1709274612,\n");
    let cnt = env.write("bad.csv", cnt);
    let (run, sum) = env.ingest(None, &[&garbage_bin, &garbage_html, &cut, &cnt]);
    run.assert_code(1);
    assert_eq!(
        (sum.ingested, sum.duplicates, sum.failed),
        (0, 0, 4),
        "{sum:#?}"
    );
    sum.expect_error("garbage.bin", Rec::WholeFile, &["cannot tell the format"]);
    sum.expect_error("page.html", Rec::WholeFile, &["binary data"]);
    sum.expect_error("cut.jsonl", Rec::Is("line 1"), &[]);
    sum.expect_error("bad.csv", Rec::Is("line 2"), &[]);
}

#[test]
fn nonexistent_path() {
    let env = Env::new();
    let missing = path_str(&env.path("does-not-exist.jsonl"));
    let (run, sum) = env.ingest(None, &[&missing]);
    run.assert_code(1);
    assert_eq!((sum.ingested, sum.failed), (0, 1), "{sum:#?}");
    let e = sum.expect_error("does-not-exist.jsonl", Rec::WholeFile, &[]);
    assert_eq!(e.file, missing, "the error names the path as given");

    // Next to a good file, the run still succeeds.
    let good = env.write("good.jsonl", jsonl_line("ok1", "A good line"));
    let (run, sum) = env.ingest(None, &[&missing, &good]);
    run.assert_code(0);
    assert_eq!((sum.ingested, sum.failed), (1, 1), "{sum:#?}");
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    let good = env.write("good.jsonl", jsonl_line("u1", "A good line"));
    for args in [
        vec!["ingest"],
        vec!["ingest", "--json"],
        vec!["ingest", good.as_str(), "--format", "pdf"],
        vec!["ingest", good.as_str(), "--map", "nonsense"],
    ] {
        let run = env.varta(None, &args);
        run.assert_no_crash();
        run.assert_code(2);
        assert!(
            !run.stderr.trim().is_empty(),
            "a usage error must say what is wrong:\n{}",
            run.describe()
        );
    }
    // Nothing was ingested by the refused commands.
    env.assert_store_usable(None);
}
