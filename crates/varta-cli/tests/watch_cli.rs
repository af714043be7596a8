//! `varta watch` as a process, against a site and a webhook receiver run by the test on
//! 127.0.0.1: conditional GET, robots.txt, hostile feeds failing alone, folders, rules, signed
//! CloudEvents with retries and a dead letter, the JSON-lines and TAXII sinks, `--status`, and
//! `kill -9` at random moments losing and doubling nothing.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "test-secret";

/// What the site serves and what it saw.
#[derive(Default)]
struct Site {
    /// Feed items: (guid, text).
    items: Mutex<Vec<(String, String)>>,
    feed_200: AtomicUsize,
    feed_304: AtomicUsize,
    private_hits: AtomicUsize,
    page_hits: AtomicUsize,
    /// The first this-many deliveries to /hook fail with 500.
    hook_failures_left: AtomicUsize,
    /// Deliveries to /hook that were accepted: (signature header, body).
    delivered: Mutex<Vec<(String, String)>>,
    dead_hits: AtomicUsize,
    stop: AtomicBool,
}

fn rss(items: &[(String, String)]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><link>http://site.test/</link><description>d</description>"#,
    );
    for (guid, text) in items.iter().rev() {
        s.push_str(&format!(
            "<item><title>{guid}</title><link>http://site.test/p/{guid}</link><guid>{guid}</guid><pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate><description>{text}</description></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn handle(mut stream: TcpStream, site: &Site) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    match (method.as_str(), path.as_str()) {
        ("GET", "/robots.txt") => respond(
            &mut stream,
            "200 OK",
            &[],
            b"User-agent: *\nDisallow: /private/\n",
        ),
        ("GET", "/feed.xml") => {
            let items = site.items.lock().unwrap().clone();
            let etag = format!("\"{}\"", items.len());
            if headers.get("if-none-match") == Some(&etag) {
                site.feed_304.fetch_add(1, Ordering::SeqCst);
                respond(&mut stream, "304 Not Modified", &[("ETag", etag)], b"");
            } else {
                site.feed_200.fetch_add(1, Ordering::SeqCst);
                respond(
                    &mut stream,
                    "200 OK",
                    &[
                        ("ETag", etag),
                        ("Content-Type", "application/rss+xml; charset=utf-8".into()),
                    ],
                    rss(&items).as_bytes(),
                );
            }
        }
        ("GET", p) if p.starts_with("/private/") => {
            site.private_hits.fetch_add(1, Ordering::SeqCst);
            respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "application/rss+xml".into())],
                rss(&[]).as_bytes(),
            );
        }
        // A sitemap listing two pages (and one that robots.txt forbids).
        ("GET", "/sitemap.xml") => {
            let host = headers.get("host").cloned().unwrap_or_default();
            let body = format!(
                r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://{host}/p/1.html</loc></url><url><loc>http://{host}/p/2.html?a=1&amp;b=2</loc></url><url><loc>http://{host}/private/3.html</loc></url></urlset>"#
            );
            respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "application/xml".into())],
                body.as_bytes(),
            );
        }
        ("GET", p) if p.starts_with("/p/") => {
            site.page_hits.fetch_add(1, Ordering::SeqCst);
            let body = format!(
                "<!doctype html><html><head><title>Page {p}</title></head><body><article><h1>Page {p}</h1><p>Енергетики попереджають про можливі графіки відключень у регіоні через пошкодження мереж після нічної атаки.</p><p>Подробиці з'являться пізніше на сторінці {p}, обіцяють у компанії.</p></article></body></html>"
            );
            respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "text/html; charset=utf-8".into())],
                body.as_bytes(),
            );
        }
        // Hostile feeds: one too big, one a redirect loop, one not XML at all.
        ("GET", "/huge.xml") => {
            let big = vec![b'x'; 3 << 20];
            respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "application/rss+xml".into())],
                &big,
            );
        }
        ("GET", "/loop.xml") => respond(
            &mut stream,
            "302 Found",
            &[("Location", "/loop.xml".into())],
            b"",
        ),
        ("GET", "/bad.xml") => respond(
            &mut stream,
            "200 OK",
            &[("Content-Type", "application/rss+xml".into())],
            b"<rss><channel><item><title>\x00\xff<<<</rss",
        ),
        ("POST", "/hook") => {
            let fail = site
                .hook_failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if fail {
                respond(&mut stream, "500 Internal Server Error", &[], b"");
                return;
            }
            let sig = headers
                .get("x-varta-signature")
                .cloned()
                .unwrap_or_default();
            site.delivered
                .lock()
                .unwrap()
                .push((sig, String::from_utf8_lossy(&body).into_owned()));
            respond(&mut stream, "204 No Content", &[], b"");
        }
        ("POST", "/deadhook") => {
            site.dead_hits.fetch_add(1, Ordering::SeqCst);
            respond(&mut stream, "503 Service Unavailable", &[], b"");
        }
        _ => respond(&mut stream, "404 Not Found", &[], b""),
    }
}

fn start_site() -> (Arc<Site>, u16) {
    let site = Arc::new(Site::default());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = site.clone();
    std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(300);
        while !s.stop.load(Ordering::SeqCst) && Instant::now() < until {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let s = s.clone();
                    std::thread::spawn(move || handle(stream, &s));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (site, port)
}

fn hmac_hex(body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    let tag = ring::hmac::sign(&key, body.as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn start_watch(data: &Path, config: &Path, log: &Path) -> KillOnDrop {
    KillOnDrop(
        Command::new(bin())
            .arg("--data-dir")
            .arg(data)
            .arg("--config")
            .arg(config)
            .args(["-v", "watch"])
            .env_remove("VARTA_DATA_DIR")
            .env_remove("RUST_LOG")
            .env("VARTA_E5_MODEL", "")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .unwrap(),
            )
            .spawn()
            .expect("start varta watch"),
    )
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// The accepted deliveries as parsed events, each checked for its signature.
fn events(site: &Site) -> Vec<serde_json::Value> {
    site.delivered
        .lock()
        .unwrap()
        .iter()
        .map(|(sig, body)| {
            assert_eq!(
                sig,
                &hmac_hex(body),
                "every delivery is signed with the secret"
            );
            serde_json::from_str(body).expect("a CloudEvent is JSON")
        })
        .collect()
}

fn status(data: &Path) -> serde_json::Value {
    let out = varta(data, &["watch", "--status", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

#[test]
fn watch_collects_detects_and_alerts() {
    let (site, port) = start_site();
    site.hook_failures_left.store(2, Ordering::SeqCst);
    site.items.lock().unwrap().extend([
        (
            "a1".to_string(),
            "Енергетики працюють у звичайному режимі.".to_string(),
        ),
        ("a2".to_string(), "Погода у Києві сонячна.".to_string()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let incoming = dir.path().join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    let jsonl = dir.path().join("alerts.jsonl");
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("watch.toml");
    std::fs::write(
        &config,
        format!(
            r#"[limits]
max_fetch_bytes = 1048576
[watch]
allow_private = true
politeness = "50ms"
max_backoff = "2s"
[detect]
claims = false
[[source]]
url = "{base}/feed.xml"
every = "300ms"
name = "site"
[[source]]
url = "{base}/private/feed.xml"
every = "300ms"
[[source]]
url = "{base}/huge.xml"
every = "300ms"
[[source]]
url = "{base}/loop.xml"
every = "300ms"
[[source]]
url = "{base}/bad.xml"
every = "300ms"
[[source]]
folder = "{incoming}"
every = "200ms"
[[source]]
url = "{base}/sitemap.xml"
every = "300ms"
[[rule]]
name = "blackout rumours"
any = ["відключення світла", "\"blackout\"", "отключения света"]
[[rule]]
name = "never"
any = ["ніколи не трапиться"]
[[alert]]
webhook = "{base}/hook"
secret = "{SECRET}"
backoff = "100ms"
retries = 5
[[alert]]
webhook = "{base}/deadhook"
backoff = "50ms"
retries = 1
[[alert]]
jsonl = "{jsonl}"
[[alert]]
taxii = true
"#,
            incoming = incoming.display(),
            jsonl = jsonl.display(),
        ),
    )
    .unwrap();
    let log = dir.path().join("watch.log");
    let mut w = start_watch(&data, &config, &log);
    // The feed is read, then asked again with its ETag and not sent again.
    wait_for("conditional GETs", Duration::from_secs(30), || {
        site.feed_304.load(Ordering::SeqCst) >= 2
    });
    site.items.lock().unwrap().push((
        "a3".into(),
        "Завтра ВІДКЛЮЧЕННЯ світла по всьому місту!".into(),
    ));
    wait_for("the rule's first alert", Duration::from_secs(30), || {
        !site.delivered.lock().unwrap().is_empty()
    });
    // A file dropped into the folder (written under a temporary name, then renamed).
    let part = incoming.join("drop.jsonl.part");
    std::fs::write(
        &part,
        "{\"id\":\"t1\",\"text\":\"Massive blackout expected tonight, officials say\",\"author\":\"acct1\"}\n\
         {\"id\":\"t2\",\"text\":\"Готовьтесь: отключения света по всей стране\",\"author\":\"acct2\"}\n\
         {\"id\":\"t3\",\"text\":\"Nothing to see here\",\"author\":\"acct3\"}\n",
    )
    .unwrap();
    std::fs::rename(&part, incoming.join("drop.jsonl")).unwrap();
    wait_for("the rule's update", Duration::from_secs(30), || {
        events(&site).iter().any(|e| e["data"]["revision"] == 2)
    });
    wait_for("the dead letter", Duration::from_secs(30), || {
        data.join("alerts-dead.jsonl").is_file()
    });

    let st = status(&data);
    assert_eq!(st["running"], true, "{st}");
    let sources = st["sources"].as_array().unwrap();
    let by_target = |t: &str| {
        sources
            .iter()
            .find(|s| s["target"].as_str().is_some_and(|x| x.ends_with(t)))
            .unwrap_or_else(|| panic!("no source {t} in {st}"))
    };
    assert!(by_target("/feed.xml")["last_error"].is_null(), "{st}");
    assert_eq!(by_target("/feed.xml")["documents"], 3, "{st}");
    for hostile in ["/huge.xml", "/loop.xml", "/bad.xml", "/private/feed.xml"] {
        let s = by_target(hostile);
        assert!(
            s["failures"].as_u64().unwrap() >= 1,
            "{hostile} fails: {st}"
        );
        assert!(s["last_error"].is_string(), "{st}");
    }
    assert!(
        by_target("/huge.xml")["last_error"]
            .as_str()
            .unwrap()
            .contains("larger than the limit")
    );
    assert!(
        by_target("/loop.xml")["last_error"]
            .as_str()
            .unwrap()
            .contains("redirects")
    );
    assert!(
        by_target("/bad.xml")["last_error"]
            .as_str()
            .unwrap()
            .contains("not a readable")
    );
    assert!(
        by_target("/private/feed.xml")["last_error"]
            .as_str()
            .unwrap()
            .contains("robots.txt")
    );
    assert!(
        by_target("incoming")["documents"].as_u64().unwrap() >= 3,
        "{st}"
    );
    assert_eq!(
        site.private_hits.load(Ordering::SeqCst),
        0,
        "robots.txt is obeyed"
    );
    // The sitemap's two allowed pages, each fetched once however often the sitemap is read.
    assert_eq!(by_target("/sitemap.xml")["documents"], 2, "{st}");
    assert_eq!(site.page_hits.load(Ordering::SeqCst), 2);
    let human = varta(&data, &["watch", "--status"]);
    assert_success(&human);
    assert!(String::from_utf8_lossy(&human.stdout).contains("FAILING"));

    // SIGTERM: a clean stop.
    unsafe {
        libc::kill(w.0.id() as i32, libc::SIGTERM);
    }
    let code = wait_until(&mut w.0, Instant::now() + Duration::from_secs(20))
        .expect("watch stops on SIGTERM");
    assert!(
        code.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    let evs = events(&site);
    for e in &evs {
        assert_eq!(e["specversion"], "1.0");
        assert_eq!(e["type"], "org.varta.alert.rule");
        assert_eq!(e["data"]["trigger"], "blackout rumours");
        assert!(e["data"]["link"].as_str().unwrap().contains("/findings/"));
        assert_eq!(e["data"]["finding"]["kind"], "rule-match");
        assert!(
            !e["data"]["finding"]["body"]["evidence"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    // Two failed attempts were retried: each revision arrived, once per id.
    let ids: BTreeSet<&str> = evs.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let revisions: BTreeSet<u64> = evs
        .iter()
        .map(|e| e["data"]["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), revisions.len(), "one id per revision: {evs:?}");
    assert!(revisions.contains(&1) && revisions.contains(&2));
    // The finding grew to the four matching documents (one in the feed, two in the file).
    let last = evs
        .iter()
        .max_by_key(|e| e["data"]["revision"].as_u64())
        .unwrap();
    assert_eq!(
        last["data"]["finding"]["documents"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // The same alerts in the JSON-lines sink; the dead webhook's in the dead letter.
    let lines = std::fs::read_to_string(&jsonl).unwrap();
    let jl: BTreeSet<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(jl, ids.iter().map(|s| s.to_string()).collect());
    let dead = std::fs::read_to_string(data.join("alerts-dead.jsonl")).unwrap();
    let first_dead: serde_json::Value = serde_json::from_str(dead.lines().next().unwrap()).unwrap();
    assert_eq!(first_dead["attempts"], 2);
    assert!(first_dead["error"].as_str().unwrap().contains("503"));
    assert!(ids.contains(first_dead["id"].as_str().unwrap()));
    // TAXII: a sighting per alert in the alerts collection.
    let db = rusqlite::Connection::open(data.join("varta.sqlite3")).unwrap();
    let sightings: i64 = db
        .query_row(
            "SELECT COUNT(DISTINCT id) FROM taxii_objects WHERE collection = 'alerts' AND type = 'sighting'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sightings as usize, ids.len());
    // The store holds everything read and agrees with its index.
    assert_success(&varta(&data, &["check"]));
    // The dashboard shows the watcher's state.
    let t = token(&data, "w", "reader");
    let server = Server::start(&data, &[]);
    let (k, v) = bearer(&t);
    let page = get(&server.url("/watch"), &[(k, &v)]);
    assert_eq!(page.status, 200);
    let html = &page.body;
    assert!(
        html.contains("not running") && html.contains("/huge.xml") && html.contains("failing"),
        "{html}"
    );
    site.stop.store(true, Ordering::SeqCst);
}

#[test]
fn kill_9_at_random_moments_loses_and_doubles_nothing() {
    let (site, port) = start_site();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let incoming = dir.path().join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    const MARKERS: usize = 12;
    let mut rules = String::new();
    for m in 0..MARKERS {
        rules.push_str(&format!(
            "[[rule]]\nname = \"marker {m}\"\nany = [\"vartamarker{m}\"]\n"
        ));
    }
    let config = dir.path().join("watch.toml");
    std::fs::write(
        &config,
        format!(
            "[watch]\nallow_private = true\npoliteness = \"20ms\"\n[detect]\nclaims = false\n\
             [[source]]\nurl = \"{base}/feed.xml\"\nevery = \"200ms\"\n\
             [[source]]\nfolder = \"{}\"\nevery = \"100ms\"\n{rules}\
             [[alert]]\nwebhook = \"{base}/hook\"\nsecret = \"{SECRET}\"\nbackoff = \"100ms\"\n",
            incoming.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("watch.log");
    // A pseudo-random schedule (fixed seed): where markers go, when the watcher dies.
    let mut seed: u64 = 0x5eed_1234_abcd;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut w = start_watch(&data, &config, &log);
    let mut kills = 0;
    for m in 0..MARKERS {
        // Filler posts and one marker, into the feed or the folder.
        let text = format!("Звичайні новини дня, випуск {m}. vartamarker{m} у тексті.");
        if rnd(2) == 0 {
            let mut items = site.items.lock().unwrap();
            for k in 0..5 {
                items.push((format!("f{m}-{k}"), format!("Новина {m}-{k} без позначки.")));
            }
            items.push((format!("m{m}"), text));
        } else {
            let part = incoming.join(format!("m{m}.jsonl.part"));
            let mut body = String::new();
            for k in 0..5 {
                body.push_str(&format!(
                    "{{\"id\":\"f{m}-{k}\",\"text\":\"Новина {m}-{k}\",\"author\":\"a{k}\"}}\n"
                ));
            }
            body.push_str(&format!(
                "{{\"id\":\"m{m}\",\"text\":\"{text}\",\"author\":\"am\"}}\n"
            ));
            std::fs::write(&part, body).unwrap();
            std::fs::rename(&part, incoming.join(format!("m{m}.jsonl"))).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100 + rnd(900)));
        if rnd(3) == 0 {
            // kill -9 at a random moment, and start again at once.
            let _ = w.0.kill();
            let _ = w.0.wait();
            kills += 1;
            w = start_watch(&data, &config, &log);
        }
    }
    wait_for("every marker's alert", Duration::from_secs(60), || {
        let got: BTreeSet<String> = events(&site)
            .iter()
            .map(|e| e["data"]["trigger"].as_str().unwrap_or("").to_string())
            .collect();
        (0..MARKERS).all(|m| got.contains(&format!("marker {m}")))
    });
    // One more kill and restart after everything arrived: nothing is sent twice under a new id.
    let _ = w.0.kill();
    let _ = w.0.wait();
    let w2 = start_watch(&data, &config, &log);
    std::thread::sleep(Duration::from_secs(3));
    drop(w2);
    assert!(
        kills >= 2,
        "the schedule kills the watcher at least twice ({kills})"
    );
    let evs = events(&site);
    let mut ids_by_trigger: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in &evs {
        ids_by_trigger
            .entry(e["data"]["trigger"].as_str().unwrap().to_string())
            .or_default()
            .insert(e["id"].as_str().unwrap().to_string());
    }
    for m in 0..MARKERS {
        let ids = &ids_by_trigger[&format!("marker {m}")];
        assert_eq!(
            ids.len(),
            1,
            "marker {m}: deduplicated by id, exactly one alert: {ids:?}"
        );
    }
    assert_success(&varta(&data, &["check"]));
    site.stop.store(true, Ordering::SeqCst);
}

#[test]
fn watch_shares_the_directory_and_detects_what_others_store() {
    let (site, port) = start_site();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let incoming = dir.path().join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    let config = dir.path().join("watch.toml");
    std::fs::write(
        &config,
        format!(
            "[detect]\nclaims = false\n[[source]]\nfolder = \"{}\"\n\
             [[rule]]\nname = \"gas\"\nany = [\"газові сховища\"]\n\
             [[alert]]\nwebhook = \"http://127.0.0.1:{port}/hook\"\nsecret = \"{SECRET}\"\n",
            incoming.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("watch.log");
    let mut w = start_watch(&data, &config, &log);
    // A first start detects what arrives from then on: wait until the watcher is up.
    wait_for("the watcher to start", Duration::from_secs(30), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("watching"))
    });
    // Another process writes to the same directory while the watcher runs: the CLI's ingest
    // gets the writer lock between the watcher's batches, and the watcher detects what it stored.
    let posts = dir.path().join("posts.jsonl");
    std::fs::write(
        &posts,
        "{\"id\":\"x1\",\"text\":\"Кажуть, газові сховища порожні\",\"author\":\"a\"}\n",
    )
    .unwrap();
    let out = varta(&data, &["ingest", posts.to_str().unwrap()]);
    assert_success(&out);
    wait_for(
        "the alert on what the CLI stored",
        Duration::from_secs(30),
        || events(&site).iter().any(|e| e["data"]["trigger"] == "gas"),
    );
    // Copies from two accounts: a copy-paste campaign stored with that batch (long before the
    // 10-minute flush), then, as two more copies land, the same campaign grown.
    let copy = "Терміново: у неділю в усіх областях вимкнуть мобільний зв'язок на добу, \
                запасайтеся водою та готівкою, поширте поки не видалили";
    let drop = |name: &str, ids: &[(&str, &str)]| {
        let body: String = ids
            .iter()
            .map(|(id, who)| {
                format!("{{\"id\":\"{id}\",\"text\":\"{copy}\",\"author\":\"{who}\"}}\n")
            })
            .collect();
        let part = incoming.join(format!("{name}.part"));
        std::fs::write(&part, body).unwrap();
        std::fs::rename(&part, incoming.join(name)).unwrap();
    };
    let campaigns = || -> Vec<(String, usize)> {
        let csv = varta(&data, &["export", "csv", "--what", "findings"]);
        String::from_utf8_lossy(&csv.stdout)
            .lines()
            .filter(|l| l.contains(",copy-paste-campaign,"))
            .map(|l| {
                let cols: Vec<&str> = l.split(',').collect();
                (cols[0].to_string(), cols[5].parse().unwrap())
            })
            .collect()
    };
    drop("c1.jsonl", &[("c1", "b"), ("c2", "c")]);
    wait_for("the campaign of one batch", Duration::from_secs(30), || {
        campaigns().len() == 1
    });
    let first = campaigns();
    assert_eq!(first[0].1, 2, "{first:?}");
    drop("c2.jsonl", &[("c3", "d"), ("c4", "e")]);
    wait_for("the campaign grown", Duration::from_secs(30), || {
        campaigns().iter().any(|c| c.1 == 4)
    });
    assert_eq!(
        campaigns(),
        [(first[0].0.clone(), 4)],
        "one campaign, its id kept"
    );
    // Three accounts pushing the same links within seconds, three times: a coordinated group
    // stored with the batch that completes it (the full run over the window is 30 minutes
    // away).
    let groups = || -> Vec<String> {
        let csv = varta(&data, &["export", "csv", "--what", "findings"]);
        String::from_utf8_lossy(&csv.stdout)
            .lines()
            .filter(|l| l.contains(",coordinated-network,"))
            .map(|l| l.split(',').next().unwrap_or("").to_string())
            .collect()
    };
    assert!(groups().is_empty());
    let t0 = chrono::Utc::now() - chrono::Duration::hours(2);
    let mut body = String::new();
    for push in 0..3i64 {
        for (i, who) in ["p1", "p2", "p3"].iter().enumerate() {
            let at = t0 + chrono::Duration::seconds(push * 1200 + i as i64 * 3);
            body.push_str(&format!(
                "{{\"id\":\"g{push}{i}\",\"text\":\"Дивіться, що пишуть {push} {who}\",\"author\":\"{who}\",\"published_at\":\"{}\",\"links\":\"https://push.example/{push}\"}}\n",
                at.to_rfc3339()
            ));
        }
    }
    let part = incoming.join("g.part");
    std::fs::write(&part, body).unwrap();
    std::fs::rename(&part, incoming.join("g.jsonl")).unwrap();
    wait_for("the group of one batch", Duration::from_secs(30), || {
        groups().len() == 1
    });
    let found = groups();
    // The full run over the store finds the same group: same members, same id, nothing added.
    assert_success(&varta(&data, &["detect", "coordination"]));
    assert_eq!(groups(), found);
    let status = varta(&data, &["watch", "--status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(
        status["last_batch"]["coordination_groups"].as_u64() >= Some(1),
        "{status}"
    );
    // A second watcher on the same directory is refused, naming why.
    let second = varta(&data, &["--config", config.to_str().unwrap(), "watch"]);
    assert_ne!(second.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another varta watch"));
    let _ = w.0.kill();
    let _ = w.0.wait();
    site.stop.store(true, Ordering::SeqCst);
}
