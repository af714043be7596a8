//! Helpers shared by the integration tests: running the real `varta` binary on a data directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_varta")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn examples() -> PathBuf {
    repo_root().join("examples")
}

/// A file of `tests/data`.
pub fn test_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Asserts the run exited 0, showing its stderr if not.
pub fn assert_success(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `varta --data-dir DIR ARGS...`.
pub fn varta(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("VARTA_DATA_DIR")
        .output()
        .expect("run varta")
}

/// Parses the last line of stdout as JSON.
pub fn last_json(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "no stdout; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

/// Parses all of stdout as JSON.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn ingest_json(data_dir: &Path, inputs: &[&Path], extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args: Vec<String> = vec!["ingest".into(), "--json".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = varta(data_dir, &refs);
    (out.status.code().unwrap_or(-1), last_json(&out))
}

/// A child process that is killed (SIGKILL) and reaped when dropped, so that a failing assertion
/// never leaves a `varta` running behind the test. Killing one that has already been waited for
/// does nothing (std knows it is reaped and sends no signal to a pid that may have been reused).
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for `child` at most until `deadline`: its exit status, or `None` when it still runs.
pub fn wait_until(
    child: &mut std::process::Child,
    deadline: std::time::Instant,
) -> Option<std::process::ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().expect("wait for varta") {
            return Some(status);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Runs `cmd` to its end like `Command::output`, but panics (and kills it) when it takes longer
/// than `limit`: a hang fails the test instead of stalling the suite.
pub fn output_within(cmd: &mut Command, limit: std::time::Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = KillOnDrop(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run varta"),
    );
    // Both pipes are drained by threads while the child runs: a child writing more than a pipe
    // holds (a full search listing) would otherwise block forever.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.0.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.0.stderr.take().unwrap()));
    let Some(status) = wait_until(&mut child.0, std::time::Instant::now() + limit) else {
        panic!("{cmd:?} did not finish within {limit:?}");
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// The unique word of post `i` of [`write_posts`]: searching it finds that post and no other.
pub fn post_token(i: usize) -> String {
    format!("tok{i:07}")
}

/// Writes a cnt-csv of the posts numbered `ids`. Post `i` is always the same record, whichever
/// file holds it (message id `i`, user `u{i % 997}` always with handle `user_{i % 997}`, the same
/// text and time), so files of overlapping ranges overlap in identical records; its text holds
/// [`post_token`]`(i)`. Ids and users stay clear of `examples/cnt/posts.csv` (ids 230301001 on,
/// users u1001 on), which would otherwise collide with different contents.
pub fn write_posts(path: &Path, ids: std::ops::Range<usize>) {
    use std::io::Write;
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
    for i in ids {
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
            "{i},u{},user_{},,,\"{} {} #{}\",{},{url}",
            i % 997,
            i % 997,
            text.join(" "),
            post_token(i),
            i % 13,
            1_700_000_000 + i
        )
        .unwrap();
    }
    f.flush().unwrap();
}

/// A configuration of small batches and frequent index commits, so that a writer commits many
/// times in a run: kills land inside and between both commits, and readers see the store grow.
pub fn small_batches_config(dir: &Path) -> PathBuf {
    let p = dir.join("small-batches.toml");
    std::fs::write(
        &p,
        "[ingest]\nbatch_size = 250\n[store]\nindex_commit_every = 1500\nindex_heap_bytes = 40000000\n",
    )
    .unwrap();
    p
}

/// One stored document as [`dump`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpedDocument {
    pub seq: i64,
    pub id: String,
    pub text: String,
    /// Every column but `seq` and `collected_at` (the wall clock), `id` and `text` included.
    pub columns: String,
}

/// Everything in a store that ingest decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreDump {
    /// In `seq` order.
    pub documents: Vec<DumpedDocument>,
    /// Every column, in id order.
    pub actors: Vec<String>,
    /// The ids the search index returns for the empty query, sorted.
    pub indexed: Vec<String>,
}

impl StoreDump {
    /// The documents by id, without `seq`: what must agree between stores that received the
    /// same records in different orders.
    pub fn by_id(&self) -> std::collections::BTreeMap<&str, &str> {
        self.documents
            .iter()
            .map(|d| (d.id.as_str(), d.columns.as_str()))
            .collect()
    }

    /// The stored ids, sorted.
    pub fn stored_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.documents.iter().map(|d| d.id.clone()).collect();
        ids.sort();
        ids
    }
}

/// Reads the store in `data` (the database read-only, the index through `varta search`). Call it
/// when no writer runs.
pub fn dump(data: &Path) -> StoreDump {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("varta.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st = conn
        .prepare(
            "SELECT seq, id, text, source, format, actor_id, native_id, url, canonical_url, title, author, raw, \
             language, language_confidence, published_at, links, hashtags, mentions, repost_of, forwarded_from, \
             reply_to, content_hash FROM documents ORDER BY seq",
        )
        .unwrap();
    let ncols = st.column_count();
    let documents: Vec<DumpedDocument> = st
        .query_map([], |r| {
            let mut columns = String::new();
            for i in 1..ncols {
                let v: rusqlite::types::Value = r.get(i)?;
                columns.push_str(&format!("{v:?}|"));
            }
            Ok(DumpedDocument {
                seq: r.get(0)?,
                id: r.get(1)?,
                text: r.get(2)?,
                columns,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(st);
    let mut st = conn
        .prepare(
            "SELECT id, platform, handle, display_name, first_seen, last_seen FROM actors ORDER BY id",
        )
        .unwrap();
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
    let out = output_within(
        Command::new(bin())
            .arg("--data-dir")
            .arg(data)
            .args(["search", "", "--json", "--limit", "1000000"])
            .env_remove("VARTA_DATA_DIR"),
        std::time::Duration::from_secs(120),
    );
    assert_success(&out);
    let mut indexed: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect();
    indexed.sort();
    StoreDump {
        documents,
        actors,
        indexed,
    }
}

/// A store with the examples, the sample claims and every detector's findings (claims lexically,
/// so the result does not depend on whether the e5 model is installed).
pub fn examples_with_findings() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = ingest_json(dir.path(), &[&examples()], &[]);
    assert_eq!(code, 0);
    for args in [
        &["detect", "campaigns"][..],
        &["detect", "coordination"],
        &[
            "claims",
            "import",
            test_data("claims-sample.json").to_str().unwrap(),
        ],
        &["detect", "claims", "--lexical-only"],
    ] {
        assert_success(&varta(dir.path(), args));
    }
    dir
}

/// A `varta serve` process on a free loopback port; stopped with SIGTERM when dropped.
pub struct Server {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Server {
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        use std::io::BufRead;
        let logdir = tempfile::tempdir().unwrap();
        let log = logdir.path().join("serve.log");
        let mut child = Command::new(bin())
            .arg("--data-dir")
            .arg(data)
            .args(extra)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("VARTA_DATA_DIR")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start varta serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "varta serve did not start: {line:?}; log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .trim_end_matches('/')
            .to_string();
        Server {
            child,
            base,
            log,
            _logdir: logdir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then the exit status and everything the server logged.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let status = self.child.wait().unwrap();
        (
            status,
            std::fs::read_to_string(&self.log).unwrap_or_default(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP answer: status, headers (lower-case names), body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.expect("the server answers");
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = r
        .body_mut()
        .with_config()
        .limit(512 << 20)
        .read_to_string()
        .unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

/// GET with headers.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    answer(req.call())
}

/// A request with a body the server refuses for its size: ureq writes the whole body before it
/// reads, and the server answers 413 as soon as the body passes its limit and closes, so the
/// client may see a broken pipe where the answer was sent. Tried until an answer is read.
#[allow(dead_code)]
pub fn send_too_large(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    for _ in 0..10 {
        let mut req = agent().post(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        match req.send(body) {
            Ok(r) => return answer(Ok(r)),
            Err(e) => eprintln!("no answer read ({e}); again"),
        }
    }
    panic!("no answer read in 10 tries")
}

/// A request with a body.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let a = agent();
    let mut req = match method {
        "POST" => a.post(url),
        "PUT" => a.put(url),
        other => panic!("no {other}"),
    };
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    answer(req.send(body))
}

/// `Authorization: Bearer TOKEN`.
pub fn bearer(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {token}"))
}

/// `varta token add NAME --role ROLE`: the token.
pub fn token(data: &Path, name: &str, role: &str) -> String {
    let out = varta(data, &["token", "add", name, "--role", role]);
    assert_success(&out);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Posts and claims carrying every payload: script elements, event handlers, javascript: and
/// data: URLs, SVG with onload, a closing </script> inside JSON-like text, hostile actor names.
pub fn hostile_store(dir: &Path) {
    let payloads = [
        r#"<script>document.title='PWNED'</script>"#,
        r#"<img src=x onerror="document.title='PWNED'">"#,
        r#"<svg onload="document.title='PWNED'"><circle r=5></svg>"#,
        r#"{"a":"</script><script>document.title='PWNED'</script>"}"#,
        r#"<a href="javascript:document.title='PWNED'">click</a>"#,
        r#"<iframe src="data:text/html,<script>parent.document.title='PWNED'</script>"></iframe>"#,
    ];
    let mut csv =
        String::from("message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n");
    let mut id = 1;
    for (round, p) in payloads.iter().enumerate() {
        // Five accounts post the same hostile text within seconds, five times over: a campaign,
        // and a coordinated group.
        for a in 0..5 {
            let t = 1_709_000_000 + round as i64 * 3600 + a * 3;
            let user = format!("\"\"><script>u{a}</script>");
            let text = format!("{p} пост номер {round} про відключення світла в Києві на 16 годин");
            let url = if a % 2 == 0 {
                "javascript:alert(1)".to_string()
            } else {
                format!("https://news.example/{round}?q=\"><script>alert(1)</script>")
            };
            csv.push_str(&format!(
                "{id},\"{user}\",\"{user}\",,,\"{}\",{t},\"{}\"\n",
                text.replace('"', "\"\""),
                url.replace('"', "\"\"")
            ));
            id += 1;
        }
    }
    let posts = dir.join("posts.csv");
    std::fs::write(&posts, csv).unwrap();
    let claims = dir.join("claims.json");
    std::fs::write(
        &claims,
        serde_json::json!([{
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "url": "javascript:document.title='PWNED'",
            "claimReviewed": "<script>document.title='PWNED'</script> відключення світла в Києві на 16 годин",
            "author": {"@type": "Organization", "name": "<img src=x onerror=alert(1)>"},
            "reviewRating": {"@type": "Rating", "alternateName": "<svg onload=alert(1)>"}
        }])
        .to_string(),
    )
    .unwrap();
    let (code, s) = ingest_json(dir, &[&posts], &["--format", "cnt-csv"]);
    assert_eq!(code, 0, "{s}");
    for args in [
        &["detect", "campaigns"][..],
        &["detect", "coordination", "--window", "60"],
        &["claims", "import", claims.to_str().unwrap()],
        &["detect", "claims", "--lexical-only", "--suggest", "0.1"],
    ] {
        assert_success(&varta(dir, args));
    }
}

/// Six posts (`x:a1`…`x:a6`; the first three one text, a copy-paste campaign, with a script in
/// it) after `detect campaigns`, and a narrative finding built by hand (no model needed) over the
/// first five, linked to the campaign, with a hostile label word.
pub fn store_with_a_narrative() -> tempfile::TempDir {
    use varta_store::Store;
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts.jsonl");
    let copy =
        "Метро Києва закриють на три дні через відключення <script>document.title='PWNED'</script>";
    let lines = [
        (1, "x:a1", "uk", "2026-11-20T10:00:00Z", copy),
        (2, "x:a2", "uk", "2026-11-20T10:01:00Z", copy),
        (3, "x:a3", "uk", "2026-11-20T10:02:00Z", copy),
        (
            4,
            "x:a4",
            "en",
            "2026-11-20T11:00:00Z",
            "Kyiv metro closes for three days <img src=x onerror=alert(1)>",
        ),
        (
            5,
            "x:a5",
            "ru",
            "2026-11-22T09:00:00Z",
            "Метро Киева закроют на три дня",
        ),
        (6, "x:a6", "en", "2026-11-22T12:00:00Z", "Recipe of the day"),
    ];
    let text: Vec<String> = lines
        .iter()
        .map(|(id, actor, lang, time, text)| {
            serde_json::json!({"id": id, "actor": actor, "lang": lang, "time": time, "text": text})
                .to_string()
        })
        .collect();
    std::fs::write(&posts, text.join("\n")).unwrap();
    let (code, s) = ingest_json(dir.path(), &[&posts], &[]);
    assert_eq!(code, 0, "{s}");
    assert_success(&varta(dir.path(), &["detect", "campaigns"]));
    {
        let mut store = varta_store::EmbeddedStore::open_write(
            dir.path(),
            Default::default(),
            "test",
            varta_store::Wait::No,
        )
        .unwrap();
        let mut docs = Vec::new();
        store
            .for_each_document(None, &mut |d| {
                docs.push(d);
                Ok(())
            })
            .unwrap();
        assert_eq!(docs.len(), 6);
        let infos: Vec<varta_detect::narratives::DocInfo> = docs
            .iter()
            .map(|d| varta_detect::narratives::DocInfo {
                id: &d.id,
                actor: d.actor_id.as_deref(),
                language: &d.language,
                time: d.published_at.unwrap(),
                text: &d.text,
            })
            .collect();
        let mut linker = varta_detect::narratives::Linker::default();
        for f in store.findings(None).unwrap() {
            linker.add(&f.kind, &f.id, &f.documents);
        }
        let n = varta_detect::narratives::Narrative {
            members: vec![0, 1, 2, 3, 4],
            representatives: vec![3, 0, 4],
            labels: [
                ("en", vec!["metro", "<b>kyiv</b>"]),
                ("ru", vec!["метро"]),
                ("uk", vec!["метро", "закриють"]),
            ]
            .into_iter()
            .map(|(l, w)| (l.to_string(), w.into_iter().map(String::from).collect()))
            .collect(),
        };
        let params = varta_detect::narratives::Params::default();
        let record =
            varta_detect::narratives::NarrativeFinding::new(&n, &infos, &params, &linker).unwrap();
        assert_eq!(record.links.len(), 1, "{:?}", record.links);
        assert_eq!(record.links[0].documents, 3);
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .unwrap()
            .to_utc();
        store.put_findings(&[record.finding(&params, now)]).unwrap();
        store.close().unwrap();
    }
    dir
}
