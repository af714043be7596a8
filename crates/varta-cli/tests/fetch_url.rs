//! `varta ingest URL`: feeds and pages fetched over HTTP, with the address policy enforced. The
//! server is a thread on 127.0.0.1 answering a bounded number of requests.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;

/// Serves `responses` in order, one per connection, then stops.
fn serve(responses: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        for body in responses {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .ok();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&body);
        }
    });
    (base, handle)
}

fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn loopback_url_is_refused_without_allow_private() {
    let dir = tempfile::tempdir().unwrap();
    let (code, s) = ingest_json(dir.path(), &[], &["http://127.0.0.1:9/feed.xml"]);
    assert_eq!(code, 1, "{s}");
    let msg = s["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("127.0.0.1"), "{msg}");
    assert_eq!(s["errors"][0]["file"], "http://127.0.0.1:9/feed.xml");
}

#[test]
fn feed_over_http_with_allow_private_and_a_redirect() {
    let feed = std::fs::read(examples().join("rss/perevirka-uk.rss.xml")).unwrap();
    let (base, server) = serve(vec![
        response("301 Moved Permanently", &[("Location", "/feed.xml")], b""),
        response(
            "200 OK",
            &[("Content-Type", "application/rss+xml; charset=utf-8")],
            &feed,
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{base}/old-feed");
    let (code, s) = ingest_json(dir.path(), &[], &["--allow-private", &url]);
    server.join().unwrap();
    assert_eq!(code, 0, "{s}");
    assert!(s["ingested"].as_u64().unwrap() >= 5, "{s}");
    let stats = json(&varta(dir.path(), &["stats", "--json"]));
    assert_eq!(stats["formats"]["rss"], s["ingested"]);
}

#[test]
fn too_many_redirects_fail() {
    let hops: Vec<Vec<u8>> = (0..7)
        .map(|i| response("302 Found", &[("Location", &format!("/r{i}"))], b""))
        .collect();
    let (base, server) = serve(hops);
    let dir = tempfile::tempdir().unwrap();
    let (code, s) = ingest_json(
        dir.path(),
        &[],
        &["--allow-private", &format!("{base}/start")],
    );
    assert_eq!(code, 1, "{s}");
    assert!(
        s["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("redirect"),
        "{s}"
    );
    drop(server);
}
