//! The dashboard in headless Chromium, driven through Debian's `chromedriver` (W3C WebDriver,
//! spoken here over HTTP): log in, search, open a finding, see its network drawing; the
//! hostile-payload store of the report's browser test runs nothing here either. Chromium runs
//! with `--no-sandbox --disable-gpu --disable-background-networking --no-first-run` and a fresh
//! profile; `.ci/run` installs `chromium` and `chromium-driver`.

#![cfg(feature = "browser")]

mod common;

use common::*;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Driver {
    child: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    let r = match body {
        Some(b) => send(
            method,
            url,
            &[("Content-Type", "application/json")],
            b.to_string().as_bytes(),
        ),
        None if method == "GET" => get(url, &[]),
        None => {
            let a: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut r = a.delete(url).call().unwrap();
            return serde_json::from_str(&r.body_mut().read_to_string().unwrap())
                .unwrap_or(Value::Null);
        }
    };
    let v = r.json();
    assert!(r.status < 300, "{method} {url}: {}", r.body);
    v["value"].clone()
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (.ci/run installs Debian's chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--no-first-run", "--window-size=1280,2000",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let v = call("POST", &format!("{base}/session"), Some(caps));
        let session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Driver {
            child,
            base,
            session,
            _profile: profile,
        }
    }
    fn url(&self, p: &str) -> String {
        format!("{}/session/{}{p}", self.base, self.session)
    }
    fn go(&self, url: &str) {
        call("POST", &self.url("/url"), Some(json!({"url": url})));
    }
    fn find(&self, css: &str) -> String {
        let v = call(
            "POST",
            &self.url("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .to_string()
    }
    fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        call(
            "POST",
            &self.url(&format!("/element/{e}/value")),
            Some(json!({"text": text})),
        );
    }
    fn click(&self, css: &str) {
        let e = self.find(css);
        call(
            "POST",
            &self.url(&format!("/element/{e}/click")),
            Some(json!({})),
        );
    }
    fn title(&self) -> String {
        call("GET", &self.url("/title"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    fn current(&self) -> String {
        call("GET", &self.url("/url"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    /// Waits for the page's URL to satisfy `pred` (a click's navigation is not awaited).
    fn wait_url(&self, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let u = self.current();
            if pred(&u) {
                return u;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "stuck at {u}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    fn eval(&self, script: &str) -> Value {
        call(
            "POST",
            &self.url("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
    }
    /// No alert opened by any payload.
    fn no_alert(&self) {
        let r = get(&self.url("/alert/text"), &[]);
        assert_eq!(r.status, 404, "an alert is open: {}", r.body);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = call("DELETE", &self.url(""), None);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn log_in_search_open_a_finding_and_run_nothing_hostile() {
    let data = tempfile::tempdir().unwrap();
    hostile_store(data.path());
    let token = token(data.path(), "analyst", "analyst");
    let s = Server::start(data.path(), &[]);
    let d = Driver::start();

    d.go(&s.url("/"));
    assert!(d.current().ends_with("/login"), "{}", d.current());
    d.type_in("input[name=token]", &token);
    d.click("button[type=submit]");
    d.wait_url(|u| u.ends_with('/'));
    assert_eq!(d.title(), "Overview · Varta");
    // The cookie is HttpOnly: the page cannot read the token.
    assert_eq!(d.eval("return document.cookie"), json!(""));

    d.go(&s.url("/search"));
    d.type_in("input[name=q]", "світла");
    d.click("form.filters button");
    d.wait_url(|u| u.contains("/search?q="));
    let marks = d.eval("return document.querySelectorAll('.hit mark').length");
    assert!(
        marks.as_u64().unwrap() >= 1,
        "highlighted snippets: {marks}"
    );
    let hits = d
        .eval("return document.querySelectorAll('.hit').length")
        .as_u64()
        .unwrap();
    assert!(hits >= 5);
    d.no_alert();

    d.go(&s.url("/findings?kind=coordinated-network"));
    d.click("a.finding");
    d.wait_url(|u| u.contains("/findings/"));
    let net = d.eval(
        "const s = document.querySelector('svg.network'); if (!s) return null; \
         const r = s.getBoundingClientRect(); \
         return {w: r.width, h: r.height, nodes: s.querySelectorAll('g.node').length, \
                 edges: s.querySelectorAll('line.edge').length};",
    );
    assert!(
        net["w"].as_f64().unwrap() > 300.0 && net["h"].as_f64().unwrap() > 200.0,
        "{net}"
    );
    assert!(
        net["nodes"].as_u64().unwrap() >= 3 && net["edges"].as_u64().unwrap() >= 2,
        "{net}"
    );

    // Every page with hostile text: no payload ran (no title change, no alert, no element
    // made from text, no handler).
    for page in [
        "/",
        "/findings",
        "/claims",
        "/stats",
        "/search?q=%D1%81%D0%B2%D1%96%D1%82%D0%BB%D0%B0",
    ] {
        d.go(&s.url(page));
        d.no_alert();
        assert!(!d.title().contains("PWNED"), "{page}");
        let bad = d.eval(
            "return document.querySelectorAll('script, iframe, img, object, embed, [onerror], [onload], [onclick], a[href^=\"javascript:\"]').length",
        );
        assert_eq!(bad, json!(0), "{page}");
    }
    let shot = call("GET", &d.url("/screenshot"), None);
    let png = shot.as_str().unwrap().len();
    assert!(png > 10_000, "a rendered page");
    drop(d);
    s.stop();
}
