//! The HTML report in headless Chromium (Debian's `chromium`, which `.ci/run` installs): hostile
//! posts and claims run nothing and become no element or attribute, and the charts and network
//! drawings render. Chromium runs with `--no-sandbox --disable-gpu
//! --disable-background-networking --no-first-run` and a fresh profile.

#![cfg(feature = "browser")]

mod common;

use common::*;
use std::process::Command;

fn chromium(args: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.path().display()),
        ])
        .args(args)
        .output()
        .expect("chromium runs (.ci/run installs Debian's chromium)");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn hostile_input_runs_nothing_and_injects_nothing() {
    let dir = tempfile::tempdir().unwrap();
    hostile_store(dir.path());
    let report = dir.path().join("report");
    assert_success(&varta(
        dir.path(),
        &["report", "--out", report.to_str().unwrap()],
    ));
    let page = report.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Content-Security-Policy"));
    assert!(
        html.contains("&lt;script&gt;"),
        "the payloads are in the page, as text"
    );
    let dom =
        String::from_utf8(chromium(&["--dump-dom", &format!("file://{}", page.display())]).stdout)
            .unwrap();
    assert!(
        dom.contains("<title>Varta report</title>"),
        "no payload changed the title"
    );
    assert!(!dom.contains("PWNED</title>"));
    let lower = dom.to_lowercase();
    // Inside a tag, not text: the last '<' before it is after the last '>'. (Chromium writes
    // text with '<' and '>' escaped, so text never holds a raw '<'.)
    let in_tag = |i: usize| {
        let before = &lower[..i];
        before.rfind('<') > before.rfind('>')
    };
    for bad in ["<script", "<iframe", "<img", "<object", "<embed"] {
        assert!(!lower.contains(bad), "{bad} became an element");
    }
    for bad in [
        "href=\"javascript:",
        "href=\"data:",
        "src=\"javascript:",
        "src=\"data:",
    ] {
        let n = lower.match_indices(bad).filter(|(i, _)| in_tag(*i)).count();
        assert_eq!(n, 0, "{bad} became an attribute");
    }
    // No event-handler attribute on any element: ` on…=` only ever appears escaped, as text.
    let handler = lower
        .match_indices(" on")
        .filter(|(i, _)| {
            let rest = &lower[i + 3..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            !name.is_empty() && rest[name.len()..].starts_with('=') && in_tag(*i)
        })
        .count();
    assert_eq!(handler, 0, "an event handler became an attribute");
}

#[test]
fn charts_and_network_drawings_render() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = ingest_json(dir.path(), &[&examples()], &[]);
    assert_eq!(code, 0);
    for args in [&["detect", "campaigns"][..], &["detect", "coordination"]] {
        assert_success(&varta(dir.path(), args));
    }
    let report = dir.path().join("report");
    assert_success(&varta(
        dir.path(),
        &["report", "--out", report.to_str().unwrap()],
    ));
    let page = format!("file://{}", report.join("index.html").display());
    let dom = String::from_utf8(chromium(&["--dump-dom", &page]).stdout).unwrap();
    // Every network drawing has as many nodes as it says, and edges between them.
    let mut networks = 0;
    for part in dom.split("<svg class=\"network\"").skip(1) {
        let svg = &part[..part.find("</svg>").unwrap()];
        let want: usize = svg
            .split("data-nodes=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(want >= 3);
        assert_eq!(svg.matches("<g class=\"node\">").count(), want);
        assert!(svg.matches("<line class=\"edge\"").count() >= want - 1);
        networks += 1;
    }
    assert!(networks >= 1);
    assert!(dom.matches("<svg class=\"chart spread\"").count() >= 1);
    assert!(dom.matches("<rect class=\"bar\"").count() >= 3);
    // The screenshot: a page that rendered is a large, varied image.
    let shot = dir.path().join("report.png");
    chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1280,2400",
        &page,
    ]);
    let bytes = std::fs::read(&shot).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    assert!(
        bytes.len() > 50_000,
        "{} bytes: a blank page compresses to less",
        bytes.len()
    );
    if let Ok(keep) = std::env::var("VARTA_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
