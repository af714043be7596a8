//! `varta serve` as a process on loopback: tokens and roles, the API, TAXII paging under writes
//! and its status codes, the dashboard's login and forms, graceful shutdown and what the log
//! holds (never a token).

mod common;

use common::*;
use std::collections::HashSet;

const TAXII: &str = "application/taxii+json;version=2.1";

fn b(t: &str) -> String {
    format!("Bearer {t}")
}

#[test]
fn tokens_roles_logs_and_shutdown() {
    let data = examples_with_findings();
    let reader = token(data.path(), "reader1", "reader");
    let analyst = token(data.path(), "analyst1", "analyst");
    let admin = token(data.path(), "admin1", "admin");
    assert!(reader.starts_with("varta_") && reader != analyst);
    let list = varta(data.path(), &["token", "list", "--json"]);
    assert_success(&list);
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(
        listed.contains("analyst1") && !listed.contains(&analyst),
        "{listed}"
    );
    let dup = varta(data.path(), &["token", "add", "reader1"]);
    assert_eq!(dup.status.code(), Some(2), "a taken name is a usage error");

    let s = Server::start(data.path(), &[]);
    assert_eq!(get(&s.url("/healthz"), &[]).status, 200);
    assert_eq!(get(&s.url("/readyz"), &[]).status, 200);
    let none = get(&s.url("/api/v1/stats"), &[]);
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["code"], "unauthorized");
    assert!(none.header("www-authenticate").is_some());
    let wrong = format!("{}0", &reader[..reader.len() - 1]);
    assert_eq!(
        get(&s.url("/api/v1/stats"), &[("Authorization", &b(&wrong))]).status,
        401
    );
    let ok = get(&s.url("/api/v1/stats"), &[("Authorization", &b(&reader))]);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.json()["documents"].as_u64().unwrap() > 100);
    // HTTP Basic with the token as password, as TAXII clients send it.
    let basic = format!(
        "Basic {}",
        base64_encode(format!("anyone:{reader}").as_bytes())
    );
    assert_eq!(
        get(&s.url("/api/v1/stats"), &[("Authorization", &basic)]).status,
        200
    );

    // Roles: a reader may not upload, an analyst may; per-record errors name the upload.
    let body = b"{\"id\":\"u1\",\"text\":\"\xd0\x9f\xd0\xbe\xd1\x81\xd1\x82 \xd0\xbf\xd1\x80\xd0\xbe \xd0\xb2\xd1\x96\xd0\xb4\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\xd0\xb5\xd0\xbd\xd0\xbd\xd1\x8f \xd1\x81\xd0\xb2\xd1\x96\xd1\x82\xd0\xbb\xd0\xb0\",\"author\":\"a\",\"time\":\"2026-12-01T10:00:00Z\"}\n{not json\n{\"id\":\"u2\",\"text\":\"second upload post about something else\",\"author\":\"b\",\"time\":\"2026-12-01T10:01:00Z\"}\n";
    let up = send(
        "POST",
        &s.url("/api/v1/documents?format=jsonl"),
        &[("Authorization", &b(&reader))],
        body,
    );
    assert_eq!(up.status, 403);
    assert_eq!(up.json()["code"], "forbidden");
    let up = send(
        "POST",
        &s.url("/api/v1/documents?format=jsonl"),
        &[("Authorization", &b(&analyst))],
        body,
    );
    assert_eq!(up.status, 200, "{}", up.body);
    let j = up.json();
    assert_eq!(j["ingested"], 2, "{j}");
    assert_eq!(j["failed"], 1);
    assert_eq!(j["errors"][0]["file"], "upload");
    assert!(
        j["errors"][0]["record"].as_str().unwrap().contains('2'),
        "{j}"
    );
    assert!(
        !up.body.contains("/tmp"),
        "no server path in the answer: {}",
        up.body
    );
    // Token listing: admin only, never the secrets.
    assert_eq!(
        get(&s.url("/api/v1/tokens"), &[("Authorization", &b(&analyst))]).status,
        403
    );
    let t = get(&s.url("/api/v1/tokens"), &[("Authorization", &b(&admin))]);
    assert_eq!(t.status, 200);
    assert_eq!(t.json().as_array().unwrap().len(), 3);
    assert!(!t.body.contains("varta_"), "{}", t.body);

    // Revoking works while the server runs (it waits for the server's writer to close).
    assert_success(&varta(data.path(), &["token", "revoke", "reader1"]));
    std::thread::sleep(std::time::Duration::from_millis(2300));
    assert_eq!(
        get(&s.url("/api/v1/stats"), &[("Authorization", &b(&reader))]).status,
        401
    );

    let (status, log) = s.stop();
    assert!(
        status.success(),
        "SIGTERM is a clean stop: {status:?}\n{log}"
    );
    assert!(
        log.contains("who=analyst1") || log.contains("who=\"analyst1\""),
        "{log}"
    );
    assert!(log.contains("status=403"));
    for t in [&reader, &analyst, &admin] {
        assert!(!log.contains(t.as_str()), "a token reached the log");
    }
    // Nothing half-written: the store is consistent and holds the upload.
    let check = varta(data.path(), &["check", "--json"]);
    assert_success(&check);
    assert_eq!(last_json(&check)["ok"], true);
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn api_search_findings_jobs_claims_and_errors() {
    let data = examples_with_findings();
    let analyst = token(data.path(), "a", "analyst");
    let cfg = data.path().join("small.toml");
    std::fs::write(&cfg, "[serve]\nupload_limit_bytes = 2000\n").unwrap();
    let cfg_arg = cfg.display().to_string();
    let s = Server::start(data.path(), &["--config", &cfg_arg]);
    let auth = b(&analyst);
    let h = [("Authorization", auth.as_str())];

    let page1 = get(
        &s.url("/api/v1/search?q=%D1%83%D0%BA%D1%80%D0%B0%D1%97%D0%BD%D0%B0&limit=1"),
        &h,
    );
    assert_eq!(page1.status, 200, "{}", page1.body);
    let j1 = page1.json();
    let hit = &j1["hits"][0];
    let snippet = hit["snippet"].as_str().unwrap();
    let [a, z] = [
        hit["highlights"][0][0].as_u64().unwrap() as usize,
        hit["highlights"][0][1].as_u64().unwrap() as usize,
    ];
    assert!(
        snippet[a..z].to_lowercase().starts_with("україн"),
        "{snippet} {a}..{z}"
    );
    let next = j1["next"].as_str().expect("more than one hit");
    let page2 = get(
        &s.url(&format!(
            "/api/v1/search?q=%D1%83%D0%BA%D1%80%D0%B0%D1%97%D0%BD%D0%B0&limit=1&cursor={next}"
        )),
        &h,
    )
    .json();
    assert_ne!(page2["hits"][0]["id"], hit["id"]);
    let doc = get(
        &s.url(&format!(
            "/api/v1/documents/{}",
            hit["id"].as_str().unwrap()
        )),
        &h,
    );
    assert_eq!(doc.status, 200);
    assert_eq!(doc.json()["id"], hit["id"]);
    for (path, code, status) in [
        ("/api/v1/documents/nope", "not_found", 404),
        ("/api/v1/search?q=x&limit=abc", "bad_request", 400),
        ("/api/v1/search?q=x&limit=0", "bad_request", 400),
        ("/api/v1/search?q=x&cursor=%21%21", "bad_request", 400),
        ("/api/v1/search?q=x&since=yesterday", "bad_request", 400),
        ("/api/v1/findings?sort=random", "bad_request", 400),
        ("/api/v1/no-such-thing", "not_found", 404),
        ("/api/v1/jobs/999", "not_found", 404),
    ] {
        let r = get(&s.url(path), &h);
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert_eq!(r.json()["code"], code, "{path}");
        assert_eq!(r.json()["status"], status, "{path}");
    }

    // Actors, paged by id.
    let a1 = get(&s.url("/api/v1/actors?limit=2"), &h).json();
    assert_eq!(a1["actors"].as_array().unwrap().len(), 2);
    let a2 = get(
        &s.url(&format!(
            "/api/v1/actors?limit=2&cursor={}",
            a1["next"].as_str().unwrap()
        )),
        &h,
    )
    .json();
    assert!(a2["actors"][0]["id"].as_str() > a1["actors"][1]["id"].as_str());
    let one = get(
        &s.url(&format!(
            "/api/v1/actors/{}",
            enc(a1["actors"][0]["id"].as_str().unwrap())
        )),
        &h,
    );
    assert_eq!(one.status, 200);

    // Findings by kind, with their evidence, paged.
    let f = get(
        &s.url("/api/v1/findings?kind=copy-paste-campaign&limit=2"),
        &h,
    )
    .json();
    let total = f["total"].as_u64().unwrap();
    assert!(total >= 3, "{f}");
    assert_eq!(f["findings"].as_array().unwrap().len(), 2);
    assert!(f["findings"][0]["body"]["members"].is_array());
    let id = f["findings"][0]["id"].as_str().unwrap();
    let one = get(&s.url(&format!("/api/v1/findings/{}", enc(id))), &h);
    assert_eq!(one.status, 200, "{}", one.body);

    // A detector job, polled to its end.
    let j = send(
        "POST",
        &s.url("/api/v1/jobs"),
        &[h[0], ("Content-Type", "application/json")],
        br#"{"detector":"campaigns"}"#,
    );
    assert_eq!(j.status, 202, "{}", j.body);
    let jid = j.json()["id"].as_u64().unwrap();
    let done = wait_for(|| {
        let r = get(&s.url(&format!("/api/v1/jobs/{jid}")), &h).json();
        (r["state"] == "done" || r["state"] == "failed").then_some(r)
    });
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["result"]["campaigns"].as_u64(), Some(total));
    assert_eq!(
        send(
            "POST",
            &s.url("/api/v1/jobs"),
            &[h[0], ("Content-Type", "application/json")],
            br#"{"detector":"nope"}"#
        )
        .status,
        400
    );
    assert_eq!(
        send(
            "POST",
            &s.url("/api/v1/jobs"),
            &[h[0], ("Content-Type", "text/plain")],
            br#"{"detector":"campaigns"}"#
        )
        .status,
        415
    );

    // Claims: add, list, match.
    let before = get(&s.url("/api/v1/claims?limit=1"), &h).json()["total"]
        .as_u64()
        .unwrap();
    let add = send("POST", &s.url("/api/v1/claims"), &[h[0], ("Content-Type", "application/json")],
        "{\"text\":\"Мобілізація жінок почнеться з 1 січня\",\"rating\":\"False\",\"reviewer\":\"StopFake\"}".as_bytes());
    assert_eq!(add.status, 200, "{}", add.body);
    assert_eq!(add.json()["added"], true);
    assert_eq!(
        get(&s.url("/api/v1/claims?limit=1"), &h).json()["total"].as_u64(),
        Some(before + 1)
    );
    let m = send(
        "POST",
        &s.url("/api/v1/claims/match"),
        &[h[0], ("Content-Type", "application/json")],
        "{\"text\":\"з 1 січня почнеться мобілізація жінок\",\"limit\":3}".as_bytes(),
    );
    assert_eq!(m.status, 200, "{}", m.body);
    assert!(
        m.json()["matches"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Мобілізація жінок")
    );

    // Over the upload limit: 413, nothing stored.
    let big = vec![b'x'; 5000];
    let r = send("POST", &s.url("/api/v1/documents"), &h, &big);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.json()["code"], "payload_too_large");

    // The OpenAPI document, generated from the handlers.
    let doc = get(&s.url("/api/v1/openapi.json"), &h).json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for p in [
        "/search",
        "/documents",
        "/documents/{id}",
        "/findings",
        "/findings/{id}",
        "/stats",
        "/jobs",
        "/jobs/{id}",
        "/claims",
        "/claims/import",
        "/claims/match",
        "/actors/{id}",
    ] {
        assert!(
            doc["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let (status, _) = s.stop();
    assert!(status.success());
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed().as_secs() < 120, "timed out");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Every (id, version) of a collection, paging by `next` with `limit`; between pages, `between`
/// runs (with the page number).
fn page_all(
    s: &Server,
    auth: &str,
    collection: &str,
    limit: usize,
    mut between: impl FnMut(usize),
) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for page in 0.. {
        let mut url = s.url(&format!(
            "/taxii2/varta/collections/{collection}/objects/?limit={limit}"
        ));
        if let Some(n) = &next {
            url.push_str(&format!("&next={n}"));
        }
        let r = get(&url, &[("Authorization", auth), ("Accept", TAXII)]);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("content-type"), Some(TAXII));
        let j = r.json();
        let objects = j["objects"].as_array().cloned().unwrap_or_default();
        assert!(objects.len() <= limit);
        for o in &objects {
            let v = o
                .get("modified")
                .or_else(|| o.get("created"))
                .and_then(|v| v.as_str())
                .unwrap_or("");
            seen.push((o["id"].as_str().unwrap().to_string(), v.to_string()));
        }
        between(page);
        if j["more"] != true {
            break;
        }
        next = Some(j["next"].as_str().expect("next with more").to_string());
    }
    seen
}

#[test]
fn taxii_pages_never_repeat_or_skip_and_answer_as_specified() {
    let data = examples_with_findings();
    let reader = token(data.path(), "r", "reader");
    let s = Server::start(data.path(), &[]);
    let auth = b(&reader);
    let th = [("Authorization", auth.as_str()), ("Accept", TAXII)];

    let disc = get(&s.url("/taxii2/"), &th);
    assert_eq!(disc.status, 200);
    assert_eq!(disc.json()["api_roots"][0], "/taxii2/varta/");
    let cols = get(&s.url("/taxii2/varta/collections/"), &th).json();
    let names: Vec<&str> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["findings", "claims", "alerts"]);
    let findings_id = cols["collections"][0]["id"].as_str().unwrap().to_string();

    // Page through while a detector run adds objects and a new version of one: two new accounts
    // copy the best campaign's text. No (id, version) comes twice, and every object's last
    // version is among what was seen.
    let best = get(
        &s.url("/api/v1/findings?kind=copy-paste-campaign&limit=1"),
        &[th[0]],
    )
    .json();
    let text = best["findings"][0]["body"]["representative_text"]
        .as_str()
        .unwrap()
        .to_string();
    let copies = data.path().join("copies.jsonl");
    std::fs::write(
        &copies,
        (1..=2)
            .map(|i| serde_json::json!({"id": format!("copy{i}"), "text": text, "author": format!("newcomer{i}"), "time": "2024-03-20T10:00:00Z"}).to_string() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let before = page_all(&s, &auth, "findings", 1000, |_| {});
    let d = data.path().to_path_buf();
    let seen = page_all(&s, &auth, &findings_id, 7, |page| {
        if page == 2 {
            let (code, out) = ingest_json(&d, &[&copies], &["--format", "jsonl"]);
            assert_eq!(code, 0, "{out}");
            assert_success(&varta(&d, &["detect", "campaigns"]));
        }
    });
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "an object version came twice");
    let after = page_all(&s, &auth, "findings", 1000, |_| {});
    for pair in &after {
        assert!(unique.contains(pair), "{pair:?} was skipped");
    }
    assert!(after.len() > 100, "{}", after.len());
    // Unchanged objects were not sent again: a re-run adds only what changed.
    let added = after.iter().filter(|p| !before.contains(p)).count();
    assert!(
        (1..20).contains(&added),
        "{added} object versions added by the re-run"
    );

    // added_after is exclusive, at the precision of the date headers.
    let full = get(&s.url("/taxii2/varta/collections/findings/objects/"), &th);
    let last = full.header("x-taxii-date-added-last").unwrap().to_string();
    assert!(full.header("x-taxii-date-added-first").is_some());
    let empty = get(
        &s.url(&format!(
            "/taxii2/varta/collections/findings/objects/?added_after={last}"
        )),
        &th,
    );
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json(), serde_json::json!({}));

    // Filters, manifest, one object, its versions.
    let camps = get(
        &s.url("/taxii2/varta/collections/findings/objects/?match[type]=campaign"),
        &th,
    )
    .json();
    let camps = camps["objects"].as_array().unwrap();
    assert!(!camps.is_empty() && camps.iter().all(|o| o["type"] == "campaign"));
    // The campaign the copies joined has two versions.
    let cid = camps
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .find(|id| {
            get(
                &s.url(&format!(
                    "/taxii2/varta/collections/findings/objects/{id}/versions/"
                )),
                &th,
            )
            .json()["versions"]
                .as_array()
                .is_some_and(|v| v.len() == 2)
        })
        .expect("a campaign with a new version");
    let one = get(
        &s.url(&format!(
            "/taxii2/varta/collections/findings/objects/{cid}/"
        )),
        &th,
    )
    .json();
    assert_eq!(one["objects"].as_array().unwrap().len(), 1);
    let by_id = get(
        &s.url(&format!(
            "/taxii2/varta/collections/findings/objects/?match[id]={cid}&match[version]=all"
        )),
        &th,
    )
    .json();
    assert_eq!(
        by_id["objects"].as_array().unwrap().len(),
        2,
        "two versions after the re-run"
    );
    let first = get(
        &s.url(&format!(
            "/taxii2/varta/collections/findings/objects/?match[id]={cid}&match[version]=first"
        )),
        &th,
    )
    .json();
    assert!(first["objects"][0]["modified"].as_str() < one["objects"][0]["modified"].as_str());
    let vers = get(
        &s.url(&format!(
            "/taxii2/varta/collections/findings/objects/{cid}/versions/"
        )),
        &th,
    )
    .json();
    assert_eq!(vers["versions"].as_array().unwrap().len(), 2);
    let exact = vers["versions"][0].as_str().unwrap();
    let at = get(
        &s.url(&format!(
            "/taxii2/varta/collections/findings/objects/{cid}/?match[version]={exact}"
        )),
        &th,
    )
    .json();
    assert_eq!(at["objects"][0]["modified"], exact);
    let man = get(
        &s.url("/taxii2/varta/collections/findings/manifest/?limit=3"),
        &th,
    )
    .json();
    assert_eq!(man["objects"].as_array().unwrap().len(), 3);
    assert_eq!(
        man["objects"][0]["media_type"],
        "application/stix+json;version=2.1"
    );
    assert!(man["more"] == true && man["next"].is_string());
    let claims = get(&s.url("/taxii2/varta/collections/claims/objects/"), &th).json();
    assert!(
        claims["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["type"] == "note")
    );
    assert_eq!(
        get(&s.url("/taxii2/varta/collections/alerts/objects/"), &th).json(),
        serde_json::json!({})
    );

    // Status codes.
    let code = |path: &str, headers: &[(&str, &str)]| get(&s.url(path), headers).status;
    assert_eq!(
        code("/taxii2/varta/collections/", &[("Accept", TAXII)]),
        401
    );
    assert_eq!(
        code(
            "/taxii2/varta/collections/",
            &[th[0], ("Accept", "application/json")]
        ),
        406
    );
    assert_eq!(
        code(
            "/taxii2/varta/collections/",
            &[th[0], ("Accept", "application/taxii+json;version=2.0")]
        ),
        406
    );
    assert_eq!(code("/taxii2/varta/collections/nope/objects/", &th), 404);
    assert_eq!(
        code(
            "/taxii2/varta/collections/findings/objects/indicator--0/",
            &th
        ),
        404
    );
    assert_eq!(
        code("/taxii2/varta/collections/findings/objects/?limit=-1", &th),
        400
    );
    assert_eq!(
        code(
            "/taxii2/varta/collections/findings/objects/?next=garbage",
            &th
        ),
        400
    );
    assert_eq!(
        code(
            "/taxii2/varta/collections/findings/objects/?added_after=yesterday",
            &th
        ),
        400
    );
    let post = |ctype: &str, body: &[u8]| {
        send(
            "POST",
            &s.url("/taxii2/varta/collections/findings/objects/"),
            &[th[0], th[1], ("Content-Type", ctype)],
            body,
        )
    };
    assert_eq!(post("application/json", b"{}").status, 415);
    let r = send_too_large(
        &s.url("/taxii2/varta/collections/findings/objects/"),
        &[th[0], th[1], ("Content-Type", TAXII)],
        &vec![b' '; 11 << 20],
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.header("content-type"), Some(TAXII));
    assert_eq!(r.json()["http_status"], "413");
    assert_eq!(post(TAXII, b"{\"objects\":[]}").status, 403);
    s.stop();
}

#[test]
fn dashboard_login_forms_and_escaping() {
    let data = tempfile::tempdir().unwrap();
    hostile_store(data.path());
    let analyst = token(data.path(), "ana", "analyst");
    let s = Server::start(data.path(), &[]);
    let r = get(&s.url("/"), &[]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login"));
    let login = get(&s.url("/login"), &[]);
    assert_eq!(login.status, 200);
    let csp = login.header("content-security-policy").unwrap().to_string();
    assert!(
        csp.contains("default-src 'none'")
            && !csp.contains("script-src")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let form = |body: String, extra: &[(&str, &str)]| {
        let mut h = vec![("Content-Type", "application/x-www-form-urlencoded")];
        h.extend_from_slice(extra);
        send("POST", &s.url("/login"), &h, body.as_bytes())
    };
    assert_eq!(form("token=varta_wrong".into(), &[]).status, 401);
    assert_eq!(
        form(
            format!("token={analyst}"),
            &[("Origin", "http://evil.example")]
        )
        .status,
        403
    );
    let ok = form(format!("token={analyst}"), &[]);
    assert_eq!(ok.status, 303);
    let cookie = ok.header("set-cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let c = [("Cookie", session.as_str())];

    for path in [
        "/",
        "/search?q=%D1%81%D0%B2%D1%96%D1%82%D0%BB%D0%B0",
        "/findings",
        "/claims",
        "/stats",
    ] {
        let p = get(&s.url(path), &c);
        assert_eq!(p.status, 200, "{path}");
        let lower = p.body.to_lowercase();
        assert!(
            !lower.contains("<script") && !lower.contains("<img") && !lower.contains("<iframe"),
            "{path} let markup through"
        );
        assert!(!lower.contains("href=\"javascript:"), "{path}");
        assert!(p.header("content-security-policy").is_some());
    }
    let search = get(&s.url("/search?q=%D1%81%D0%B2%D1%96%D1%82%D0%BB%D0%B0"), &c).body;
    assert!(search.contains("<mark>"), "highlighted snippets");
    assert!(
        search.contains("&lt;script&gt;"),
        "the payloads are shown as text"
    );
    // Each finding's page has the report's drawing.
    let list = get(&s.url("/findings?kind=coordinated-network"), &c).body;
    let href = list
        .split("href=\"/findings/")
        .nth(1)
        .expect("a group is listed")
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let fp = get(&s.url(&format!("/findings/{href}")), &c);
    assert_eq!(fp.status, 200);
    assert!(
        fp.body.contains("<svg") && fp.body.contains("class=\"f group\""),
        "{}",
        &fp.body[..fp.body.len().min(2000)]
    );

    // Forms need the session's CSRF value (and a same-origin post).
    let claims_page = get(&s.url("/claims"), &c).body;
    let csrf = claims_page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let post = |body: String, extra: &[(&str, &str)]| {
        let mut h = vec![("Content-Type", "application/x-www-form-urlencoded"), c[0]];
        h.extend_from_slice(extra);
        send("POST", &s.url("/claims"), &h, body.as_bytes())
    };
    assert_eq!(post("text=forged&csrf=00".into(), &[]).status, 403);
    assert_eq!(
        post(
            format!("text=forged&csrf={csrf}"),
            &[("Origin", "http://evil.example")]
        )
        .status,
        403
    );
    let added = post(
        format!("text=%3Cb%3Eadded%3C%2Fb%3E+claim&csrf={csrf}"),
        &[],
    );
    assert_eq!(added.status, 303);
    assert!(
        get(&s.url("/claims"), &c)
            .body
            .contains("&lt;b&gt;added&lt;/b&gt; claim")
    );
    s.stop();
}

#[test]
fn sigterm_lets_an_upload_in_flight_finish() {
    let data = tempfile::tempdir().unwrap();
    let analyst = token(data.path(), "a", "analyst");
    let posts = data.path().join("posts.csv");
    write_posts(&posts, 0..40_000);
    let body = std::fs::read(&posts).unwrap();
    let s = Server::start(data.path(), &[]);
    let url = s.url("/api/v1/documents?format=cnt-csv");
    let auth = b(&analyst);
    let upload = std::thread::spawn(move || send("POST", &url, &[("Authorization", &auth)], &body));
    // The request is in (3 MB over loopback): the server is reading or storing it when the
    // signal comes.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (status, log) = s.stop();
    let r = upload.join().unwrap();
    assert_eq!(
        r.status, 200,
        "the upload in flight finished: {}\n{log}",
        r.body
    );
    assert_eq!(r.json()["ingested"], 40_000);
    assert!(status.success(), "{log}");
    let check = varta(data.path(), &["check", "--json"]);
    assert_eq!(last_json(&check)["ok"], true);
    assert_eq!(last_json(&check)["documents"], 40_000);
}
