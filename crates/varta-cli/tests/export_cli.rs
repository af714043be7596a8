//! `varta export` over the bundled examples after every detector: CSV tables, the coordination
//! network as GEXF and GraphML, ClaimReview JSON-LD. Snapshots (volatile fields redacted) show
//! any change in what is exported; hostile cells stay text.

mod common;

use common::*;
use std::path::Path;

fn export(dir: &Path, args: &[&str]) -> String {
    let out = varta(dir, &[&["export"][..], args].concat());
    assert_success(&out);
    String::from_utf8(out.stdout).unwrap()
}

/// CSV records (RFC 4180: quoted fields may hold commas, quotes and line breaks).
fn records(csv: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = csv.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

#[test]
fn every_table_and_network_is_exported() {
    let dir = examples_with_findings();
    let findings = export(dir.path(), &["csv", "--what", "findings"]);
    let rows = records(&findings);
    assert_eq!(rows[0][..3], ["id", "kind", "score"]);
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));
    let kinds: std::collections::BTreeSet<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["claim-match", "coordinated-network", "copy-paste-campaign"]
    );
    // The snapshot without the time the findings were made.
    let stable: Vec<String> = rows.iter().map(|r| r[..r.len() - 1].join(" | ")).collect();
    insta::assert_snapshot!("findings_csv", stable.join("\n"));

    let edges = records(&export(dir.path(), &["csv", "--what", "edges"]));
    assert!(edges.len() > 1);
    insta::assert_snapshot!(
        "edges_csv",
        edges
            .iter()
            .map(|r| r.join(" | "))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let docs = records(&export(dir.path(), &["csv", "--what", "documents"]));
    // Without collected_at (the time of the ingest) and with texts cut, for a readable snapshot.
    insta::assert_snapshot!(
        "documents_csv",
        docs.iter()
            .map(|r| {
                let mut r = r.clone();
                r[5] = "[collected_at]".into();
                r[9] = r[9].chars().take(60).collect();
                r.join(" | ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    );
    let stats = varta(dir.path(), &["stats", "--json"]);
    let n = json(&stats)["documents"].as_u64().unwrap() as usize;
    assert_eq!(docs.len(), n + 1, "a row per document and the header");
    let actors = records(&export(dir.path(), &["csv", "--what", "actors"]));
    insta::assert_snapshot!(
        "actors_csv",
        actors
            .iter()
            .map(|r| r.join(" | "))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let in_docs: usize = actors[1..]
        .iter()
        .map(|r| r[4].parse::<usize>().unwrap())
        .sum();
    assert_eq!(
        in_docs,
        docs[1..].iter().filter(|r| !r[3].is_empty()).count()
    );

    let gexf = export(dir.path(), &["gexf"]);
    insta::assert_snapshot!("network_gexf", gexf);
    let graphml = export(dir.path(), &["graphml"]);
    assert_eq!(
        gexf.matches("<node ").count(),
        graphml.matches("<node ").count()
    );
    assert_eq!(
        gexf.matches("<edge ").count(),
        graphml.matches("<edge ").count()
    );

    let reviews: serde_json::Value =
        serde_json::from_str(&export(dir.path(), &["claimreview", "--suggestions"])).unwrap();
    insta::assert_json_snapshot!("claimreview", reviews);
    let all: Vec<&serde_json::Value> = reviews
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["itemReviewed"]["appearance"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .collect();
    assert!(!all.is_empty());
    // The documents Varta found (its ids), besides the appearances the claims file listed.
    assert!(all.iter().filter(|a| a["identifier"].is_string()).count() >= 3);
}

#[test]
fn hostile_cells_stay_text() {
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts.csv");
    std::fs::write(
        &posts,
        "id,author,date,text\n\
         1,=cmd|' /C calc'!A0,2024-03-01T10:00:00Z,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\"\n\
         2,@mallory,2024-03-01T10:00:05Z,\"+1, \"\"quoted\"\"\nand a new line\"\n",
    )
    .unwrap();
    let (code, s) = ingest_json(dir.path(), &[&posts], &[]);
    assert_eq!(code, 0, "{s}");
    let safe = records(&export(dir.path(), &["csv", "--what", "documents"]));
    let texts: Vec<&str> = safe[1..].iter().map(|r| r[9].as_str()).collect();
    assert!(
        texts.contains(&"'=HYPERLINK(\"http://evil.example\",\"x\")"),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"'+1, \"quoted\"\nand a new line"),
        "{texts:?}"
    );
    assert!(safe[1..].iter().all(|r| r.len() == safe[0].len()));
    let actors = records(&export(dir.path(), &["csv", "--what", "actors"]));
    assert!(
        actors[1..]
            .iter()
            .all(|r| !r.iter().any(|c| c.starts_with(['=', '+', '-', '@']))),
        "{actors:?}"
    );
    let raw = records(&export(
        dir.path(),
        &["csv", "--what", "documents", "--raw"],
    ));
    assert!(raw[1..].iter().any(|r| r[9].starts_with("=HYPERLINK")));
}

/// The STIX bundle of the examples: what it holds (a snapshot of the object counts and of every
/// finding → technique relationship), every reference resolves, and ids survive a rerun of the
/// detectors, so that a platform updates rather than duplicates.
#[test]
fn stix_bundle_maps_findings_to_disarm_and_keeps_its_ids() {
    let dir = examples_with_findings();
    let bundle: serde_json::Value =
        serde_json::from_str(&export(dir.path(), &["stix", "--suggestions"])).unwrap();
    assert_eq!(bundle["type"], "bundle");
    let objects = bundle["objects"].as_array().unwrap();
    let by_id: std::collections::HashMap<&str, &serde_json::Value> = objects
        .iter()
        .map(|o| (o["id"].as_str().unwrap(), o))
        .collect();
    assert_eq!(by_id.len(), objects.len(), "ids are unique");
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for o in objects {
        *counts.entry(o["type"].as_str().unwrap()).or_default() += 1;
        for r in ["source_ref", "target_ref", "created_by_ref"] {
            if let Some(id) = o[r].as_str() {
                assert!(by_id.contains_key(id), "{r} {id} of {}", o["id"]);
            }
        }
        for id in o["object_refs"].as_array().into_iter().flatten() {
            assert!(by_id.contains_key(id.as_str().unwrap()), "{id}");
        }
    }
    let mut uses: Vec<String> = objects
        .iter()
        .filter(|o| o["type"] == "relationship")
        .filter_map(|o| {
            let t = by_id[o["target_ref"].as_str()?];
            (t["type"] == "attack-pattern").then(|| {
                let ext = t["external_references"][0]["external_id"].as_str().unwrap();
                let source = o["source_ref"]
                    .as_str()
                    .unwrap()
                    .split("--")
                    .next()
                    .unwrap();
                format!(
                    "{source} {} {ext}",
                    o["relationship_type"].as_str().unwrap()
                )
            })
        })
        .collect();
    uses.sort();
    uses.dedup_by(|a, b| a == b);
    let techniques: Vec<&serde_json::Value> = objects
        .iter()
        .filter(|o| o["type"] == "attack-pattern")
        .collect();
    assert!(techniques.iter().all(|t| {
        t["kill_chain_phases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["kill_chain_name"] == "disarm")
    }));
    insta::assert_snapshot!("stix_summary", format!("{counts:?}\n{}", uses.join("\n")));
    // A rerun of the detectors makes new findings records (new times); the ids stay.
    for args in [&["detect", "campaigns"][..], &["detect", "coordination"]] {
        assert_success(&varta(dir.path(), args));
    }
    let again: serde_json::Value =
        serde_json::from_str(&export(dir.path(), &["stix", "--suggestions"])).unwrap();
    let ids = |b: &serde_json::Value| -> std::collections::BTreeSet<String> {
        b["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&bundle), ids(&again));
}

/// `varta run`: the whole job in one command, every export in the folder, the summary as JSON.
#[test]
fn run_ingests_detects_and_exports_everything() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let out = varta(
        dir.path(),
        &[
            "run",
            examples().to_str().unwrap(),
            "--claims",
            test_data("claims-sample.json").to_str().unwrap(),
            "--out",
            report.to_str().unwrap(),
            "--json",
        ],
    );
    assert_success(&out);
    let v = json(&out);
    for kind in ["claim-match", "coordinated-network", "copy-paste-campaign"] {
        assert!(v["findings"][kind].as_u64().unwrap() >= 1, "{kind}: {v}");
    }
    assert!(v["documents"].as_u64().unwrap() > 200);
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 10);
    assert!(files[0].ends_with("index.html"));
    for f in files {
        assert!(std::fs::metadata(f).unwrap().len() > 0, "{f}");
    }
    assert!(!v["top"].as_array().unwrap().is_empty());
}

/// The HTML report of the examples: one page, every section, ordered by score, no script.
#[test]
fn report_holds_every_finding_kind_and_no_script() {
    let dir = examples_with_findings();
    let out = varta(
        dir.path(),
        &[
            "report",
            "--out",
            dir.path().join("r").to_str().unwrap(),
            "--json",
        ],
    );
    assert_success(&out);
    let v = json(&out);
    assert!(v["campaigns"].as_u64().unwrap() >= 10, "{v}");
    assert!(v["groups"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["claim_matches"].as_u64().unwrap() >= 1, "{v}");
    let html = std::fs::read_to_string(dir.path().join("r/index.html")).unwrap();
    assert!(html.contains("Content-Security-Policy"));
    assert!(!html.to_lowercase().contains("<script"));
    for id in [r#"id="campaigns""#, r#"id="groups""#, r#"id="claims""#] {
        assert!(html.contains(id), "{id}");
    }
    assert_eq!(
        html.matches(r#"<svg class="network""#).count(),
        v["groups"].as_u64().unwrap() as usize
    );
    // Campaigns in the order of their scores.
    let scores: Vec<f64> = html
        .split(r#"<section class="f campaign""#)
        .skip(1)
        .map(|s| {
            let t = &s[s.find("score ").unwrap() + 6..];
            t[..t.find('<').unwrap()].parse().unwrap()
        })
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

/// A narrative finding built by hand (no model needed) over posts of which three are a
/// copy-paste campaign: the report shows it (label, languages, representatives escaped, volume
/// charts, the campaign it links) without a script, and STIX exports it as OpenCTI's `narrative`,
/// related to the campaign and to the accounts that told it, with the same ids on every export.
#[test]
fn narrative_finding_in_report_and_stix() {
    let dir = store_with_a_narrative();
    let narratives = varta(dir.path(), &["export", "csv", "--what", "findings"]);
    assert_success(&narratives);
    let findings = records(&String::from_utf8(narratives.stdout).unwrap());
    let row = findings[1..]
        .iter()
        .find(|r| r.iter().any(|c| c == "narrative"))
        .expect("the narrative is a findings.csv row");
    let narrative_id = row[0].clone();
    assert!(narrative_id.starts_with("narrative:"), "{row:?}");

    // The report.
    let out = varta(
        dir.path(),
        &[
            "report",
            "--out",
            dir.path().join("r").to_str().unwrap(),
            "--json",
        ],
    );
    assert_success(&out);
    let v = json(&out);
    assert_eq!(v["narratives"], 1, "{v}");
    assert_eq!(v["campaigns"], 1, "{v}");
    let html = std::fs::read_to_string(dir.path().join("r/index.html")).unwrap();
    assert!(html.contains(r##"<a href="#narratives">Narratives (1)</a>"##));
    let start = html
        .find(&format!(
            r#"<section class="f narrative" id="{narrative_id}">"#
        ))
        .expect("the narrative's section");
    let section = &html[start..start + html[start..].find("</section>").unwrap()];
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>kyiv"));
    for piece in [
        "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "en: metro &lt;b&gt;kyiv&lt;/b&gt;; ru: метро; uk: метро закриють",
        "languages: en 1, ru 1, uk 3",
        "5 documents by 5 accounts",
        r#"<svg class="chart spread""#,
        r#"<svg class="chart volume""#,
        "per hour: 11-20 10:00 3, 11-20 11:00 1, 11-22 09:00 1",
        "47.0 h (5 documents)",
        "copy-paste-campaign",
    ] {
        assert!(section.contains(piece), "{piece} is not in {section}");
    }
    let campaign_id = &findings[1..]
        .iter()
        .find(|r| r.iter().any(|c| c == "copy-paste-campaign"))
        .unwrap()[0];
    assert!(
        section.contains(&format!(r##"<a href="#{campaign_id}">{campaign_id}</a>"##)),
        "{section}"
    );

    // STIX.
    let bundle: serde_json::Value = serde_json::from_str(&export(dir.path(), &["stix"])).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let by_id: std::collections::HashMap<&str, &serde_json::Value> = objects
        .iter()
        .map(|o| (o["id"].as_str().unwrap(), o))
        .collect();
    let narrative = objects
        .iter()
        .find(|o| o["type"] == "narrative")
        .expect("a narrative object");
    let nid = narrative["id"].as_str().unwrap();
    let mut related: Vec<String> = objects
        .iter()
        .filter(|o| o["type"] == "relationship" && o["source_ref"] == nid)
        .map(|o| {
            let target = by_id[o["target_ref"].as_str().unwrap()];
            format!(
                "{} {} ({}): {}",
                o["relationship_type"].as_str().unwrap(),
                target["type"].as_str().unwrap(),
                target["external_references"][0]["external_id"],
                o["description"].as_str().unwrap()
            )
        })
        .collect();
    related.sort();
    let mut shown = narrative.clone();
    for volatile in ["created", "modified"] {
        shown.as_object_mut().unwrap().remove(volatile);
    }
    insta::assert_json_snapshot!("stix_narrative", (shown, related));
    let again: serde_json::Value = serde_json::from_str(&export(dir.path(), &["stix"])).unwrap();
    assert_eq!(again, bundle, "the same store, the same bundle");
}
