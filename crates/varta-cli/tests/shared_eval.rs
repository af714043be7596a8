//! The second suite: Varta against `../shared` (gold sets, real pages, the seeds, the coordination
//! dataset). `.ci/run` runs it with `--features shared-eval`; a user's clone has no `../shared`, so
//! the README's test command leaves it out. When `../shared` is missing these tests fail loudly.

#![cfg(feature = "shared-eval")]

mod common;

use common::*;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;

fn shared() -> PathBuf {
    let p = std::env::var_os("VARTA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"));
    assert!(
        p.join("DESIGN.md").exists(),
        "../shared is missing at {} (set VARTA_SHARED): this suite must not be skipped",
        p.display()
    );
    p
}

fn words(s: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for w in s
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
    {
        *m.entry(w.to_string()).or_insert(0) += 1;
    }
    m
}

/// Bag-of-words F1 as `shared/peers/score_extraction.py` computes it.
fn f1(pred: &str, gold: &str) -> f64 {
    let (p, g) = (words(pred), words(gold));
    let overlap: usize = p
        .iter()
        .map(|(w, n)| (*n).min(*g.get(w).unwrap_or(&0)))
        .sum();
    let (np, ng) = (
        p.values().sum::<usize>().max(1),
        g.values().sum::<usize>().max(1),
    );
    let (pr, rc) = (overlap as f64 / np as f64, overlap as f64 / ng as f64);
    if pr + rc == 0.0 {
        0.0
    } else {
        2.0 * pr * rc / (pr + rc)
    }
}

#[test]
fn extraction_gold_set_f1() {
    let dir = shared().join("eval/extraction");
    let gold: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ground-truth.json")).unwrap())
            .unwrap();
    let gold = gold.as_object().unwrap();
    let mut total = 0.0;
    for (id, g) in gold {
        let path = dir.join("aeb-html").join(format!("{id}.html.gz"));
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        let (html, _) = varta_text::encoding::decode_html(&bytes, None);
        let ex = varta_text::html::extract(&html, chrono::Utc::now());
        total += f1(&ex.text, g["articleBody"].as_str().unwrap_or(""));
    }
    let macro_f1 = total / gold.len() as f64;
    eprintln!("extraction F1 over {} pages: {macro_f1:.4}", gold.len());
    // trafilatura 2.3.1 scores 0.948 on this set (shared/README.md).
    assert!(
        macro_f1 >= 0.948,
        "extraction F1 {macro_f1:.4} is below trafilatura's 0.948"
    );
}

#[test]
fn extraction_pages_ingest_without_failures() {
    let data = tempfile::tempdir().unwrap();
    let (code, s) = ingest_json(
        data.path(),
        &[&shared().join("eval/extraction/aeb-html")],
        &[],
    );
    assert_eq!(code, 0);
    assert_eq!(s["failed"], 0, "{s}");
    // Pages sharing a canonical URL would be one document; the set has 181 distinct pages.
    assert_eq!(
        s["ingested"].as_u64().unwrap() + s["duplicates"].as_u64().unwrap(),
        181,
        "{s}"
    );
}

#[test]
fn coordination_dataset_ingests_every_post() {
    let csv = shared().join("eval/coord/dev-20k.csv");
    let data = tempfile::tempdir().unwrap();
    let (code, s) = ingest_json(data.path(), &[&csv], &[]);
    assert_eq!(code, 0);
    assert_eq!(s["ingested"], 20_000, "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    // Every distinct user_id is one actor.
    let text = std::fs::read_to_string(&csv).unwrap();
    let users: HashSet<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    let stats = json(&varta(data.path(), &["stats", "--json"]));
    assert_eq!(stats["actors"].as_u64().unwrap() as usize, users.len());
    assert_eq!(stats["formats"]["cnt-csv"], 20_000);
}

#[test]
fn seeds_as_text() {
    let data = tempfile::tempdir().unwrap();
    let (code, s) = ingest_json(data.path(), &[&shared().join("seeds")], &[]);
    assert_eq!((code, s["ingested"].as_u64()), (0, Some(2)), "{s}");
    let hits = json(&varta(
        data.path(),
        &["search", "Клімкін Брюсселі", "--json"],
    ));
    let hit = &hits.as_array().unwrap()[0];
    assert_eq!(hit["published_at"], "2018-10-16T14:07:00Z");
    assert_eq!(
        hit["title"],
        "Павло Клімкін у Брюсселі взяв участь у конференції високого рівня «Втручання у вибори в цифрову еру»"
    );
    let doc = json(&varta(
        data.path(),
        &["show", "--json", hit["id"].as_str().unwrap()],
    ));
    let text = doc["text"].as_str().unwrap();
    assert!(
        !text.contains("Outdated Browser") && !text.contains("людей використовує"),
        "{text}"
    );
}

/// Issue 3: language identification on the shared set must reach 0.99 (lingua with six languages
/// scores 0.981 on it, by the issue's measure).
#[test]
fn language_id_accuracy_on_the_shared_set() {
    let tsv = shared().join("eval/lid/dev.tsv");
    let dir = tempfile::tempdir().unwrap();
    let out = varta(dir.path(), &["lang", "--tsv", tsv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let v = last_json(&out);
    eprintln!("language id on {}: {v}", tsv.display());
    assert_eq!(v["texts"], 3000);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.99, "{v}");
}

/// Issue 4: on posts built from the shared coordination messages (concatenated, then copied with
/// case changes, look-alike letters, inserted hashtags and cut short), `varta dedup` finds the exact
/// truth (`--exact`) with recall >= 0.98 and reports nothing that is not in it.
#[test]
fn dedup_matches_the_exact_truth_on_shared_messages() {
    let text = std::fs::read_to_string(shared().join("eval/coord/dev-20k.csv")).unwrap();
    let mut messages: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    // The message is the 6th of 8 columns; quoted fields are skipped rather than parsed here.
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        if cols.len() == 8 && cols[5].split_whitespace().count() >= 4 && seen.insert(cols[5]) {
            messages.push(cols[5].to_string());
        }
    }
    assert!(messages.len() > 300, "{}", messages.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docs.jsonl");
    let mut lines = Vec::new();
    let mut n = 0usize;
    for (i, chunk) in messages.chunks(4).enumerate() {
        let base = chunk.join(" ");
        lines.push(serde_json::json!({"id": format!("b{i}"), "text": base}).to_string());
        n += 1;
        if i % 3 == 0 {
            let copy = match i % 4 {
                0 => base.to_uppercase(),
                1 => base.replacen('о', "o", 3).replacen('а', "a", 2),
                2 => format!("#терміново {base} https://t.me/x/{i}"),
                _ => base
                    .split_whitespace()
                    .take(base.split_whitespace().count() * 3 / 4)
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            lines.push(serde_json::json!({"id": format!("c{i}"), "text": copy}).to_string());
            n += 1;
        }
    }
    std::fs::write(&path, lines.join("\n")).unwrap();
    let run = |extra: &[&str]| -> HashSet<(String, String)> {
        let out_csv = dir.path().join(format!("pairs{}.csv", extra.len()));
        let mut args = vec![
            "dedup",
            path.to_str().unwrap(),
            "--pairs",
            out_csv.to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = varta(dir.path(), &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(last_json(&out)["docs"].as_u64().unwrap() as usize, n);
        std::fs::read_to_string(&out_csv)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                (c[0].to_string(), c[1].to_string())
            })
            .collect()
    };
    let banded = run(&[]);
    let exact = run(&["--exact"]);
    assert!(exact.len() > 50, "{}", exact.len());
    assert!(banded.is_subset(&exact));
    let recall = banded.len() as f64 / exact.len() as f64;
    eprintln!(
        "dedup on shared messages: {} true pairs, recall {recall:.4}",
        exact.len()
    );
    assert!(recall >= 0.98, "{recall}");
}

#[test]
fn coordination_parity_with_the_toolkit_on_dev_20k() {
    let dir = tempfile::tempdir().unwrap();
    let input = shared().join("eval/coord/dev-20k.csv");
    for network in ["co_link", "co_tweet", "co_retweet", "co_similar_tweet"] {
        let edges = dir.path().join(format!("{network}.csv"));
        let out = varta(
            dir.path(),
            &[
                "coord",
                input.to_str().unwrap(),
                "--parity",
                "--network",
                network,
                "--window",
                "60",
                "--min-weight",
                "2",
                "--edges",
                edges.to_str().unwrap(),
                "--json",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = std::fs::read_to_string(&edges).unwrap();
        let peer = std::fs::read_to_string(
            shared().join(format!("eval/coord/dev-20k.{network}.w60.peer.csv")),
        )
        .unwrap();
        // Row for row, in the toolkit's order. co_similar_tweet could differ where Unicode word
        // boundaries differ between the toolkit's `regex` and unicode-segmentation; on dev-20k
        // they do not.
        let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), peer.lines().collect());
        let differing =
            a.iter().zip(&b).filter(|(x, y)| x != y).count() + a.len().abs_diff(b.len());
        eprintln!("{network}: {} rows, {} differ", b.len() - 1, differing);
        assert_eq!(differing, 0, "{network}");
    }
}

#[test]
fn coordination_groups_on_dev_20k() {
    let dir = tempfile::tempdir().unwrap();
    let input = shared().join("eval/coord/dev-20k.csv");
    let edges = dir.path().join("edges.csv");
    let out = varta(
        dir.path(),
        &[
            "coord",
            input.to_str().unwrap(),
            "--json",
            "--edges",
            edges.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("eval/coord/dev-20k.truth.json")).unwrap(),
    )
    .unwrap();
    let planted: Vec<HashSet<String>> = truth["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    let groups: Vec<HashSet<String>> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    m.as_str()
                        .unwrap()
                        .trim_start_matches("cnt-csv:")
                        .to_string()
                })
                .collect()
        })
        .collect();
    let mut matched = HashSet::new();
    let mut found = 0;
    for p in &planted {
        if let Some(i) = groups.iter().position(|g| {
            let common = g.intersection(p).count();
            common as f64 >= 0.8 * p.len() as f64
                && (g.len() - common) as f64 <= 0.2 * g.len() as f64
        }) {
            found += 1;
            matched.insert(i);
        }
    }
    let recall = found as f64 / planted.len() as f64;
    let precision = matched.len() as f64 / groups.len().max(1) as f64;
    // False pairs as the issue counts the toolkit's: edges of the core graph (weight >= 2) between
    // accounts that no planted group holds together.
    let text = std::fs::read_to_string(&edges).unwrap();
    let mut false_pairs = 0;
    let mut core = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (a, b) = (
            f[0].trim_start_matches("cnt-csv:"),
            f[1].trim_start_matches("cnt-csv:"),
        );
        if f[2].parse::<f64>().unwrap() < 2.0 {
            continue;
        }
        core += 1;
        if !planted.iter().any(|p| p.contains(a) && p.contains(b)) {
            false_pairs += 1;
        }
    }
    eprintln!(
        "dev-20k: {} groups, recall {recall:.3}, precision {precision:.3}, window {} s, {core} core edges, {false_pairs} false pairs",
        groups.len(),
        report["window_s"]
    );
    assert!(
        recall >= 0.95 && precision >= 0.95,
        "recall {recall}, precision {precision}"
    );
    assert!(
        false_pairs < 50,
        "{false_pairs} false pairs (the toolkit's co_link has 50)"
    );
}

/// The groups `varta coord --live N` holds after feeding a file batch by batch, against the full
/// run over the same file: the same groups (members, core, attached, id), scores, edges,
/// timelines and first appearances. Over dev-20k and the two real sets (their shared objects as
/// links), each sorted by time so that both number accounts alike (Louvain visits them in that
/// order).
#[test]
fn coordination_per_batch_matches_the_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = vec![(
        "dev-20k".to_string(),
        shared().join("eval/coord/dev-20k.csv"),
    )];
    for set in ["german_elections.objects", "russian_coord_tweets"] {
        let text =
            std::fs::read_to_string(shared().join(format!("eval/coord/real/{set}.csv"))).unwrap();
        let mut rows: Vec<(f64, String)> = text
            .lines()
            .skip(1)
            .enumerate()
            .map(|(i, l)| {
                let f: Vec<&str> = l.split(',').collect();
                let t: f64 = f[3].parse().unwrap();
                (
                    t,
                    format!(
                        "{i}-{},{},{},.,https://object.example/{}",
                        f[2], f[1], f[3], f[0]
                    ),
                )
            })
            .collect();
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        let path = dir.path().join(format!("{set}.csv"));
        let body: String = std::iter::once("id,actor,published_at,text,links".to_string())
            .chain(rows.into_iter().map(|r| r.1))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&path, body).unwrap();
        inputs.push((set.to_string(), path));
    }
    for (name, input) in inputs {
        let path = input.to_str().unwrap();
        let full = varta(dir.path(), &["coord", path, "--json"]);
        assert_eq!(
            full.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&full.stderr)
        );
        let full = json(&full);
        for batch in ["100", "2000"] {
            let live = varta(dir.path(), &["coord", path, "--live", batch, "--json"]);
            assert_eq!(
                live.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&live.stderr)
            );
            let live = json(&live);
            assert_eq!(live["window_s"], full["window_s"], "{name}");
            let by_id = |v: &serde_json::Value| -> HashMap<String, serde_json::Value> {
                v["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| (g["id"].as_str().unwrap().to_string(), g.clone()))
                    .collect()
            };
            let (f, l) = (by_id(&full), by_id(&live));
            let mut ids: Vec<&String> = f.keys().collect();
            ids.sort();
            let mut lids: Vec<&String> = l.keys().collect();
            lids.sort();
            assert_eq!(ids, lids, "{name}, batches of {batch}: the same groups");
            let set = |v: &serde_json::Value| -> HashSet<String> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string())
                    .collect()
            };
            for id in ids {
                let (a, b) = (&f[id], &l[id]);
                for k in ["members", "core", "attached"] {
                    assert_eq!(set(&a[k]), set(&b[k]), "{name} {id} {k}");
                }
                for k in ["score", "density", "mean_weight", "mean_symmetry"] {
                    let (x, y) = (a[k].as_f64().unwrap(), b[k].as_f64().unwrap());
                    assert!((x - y).abs() < 1e-6, "{name} {id} {k}: {x} vs {y}");
                }
                for k in ["edges", "timeline", "first_seen", "window_s"] {
                    assert_eq!(a[k], b[k], "{name} {id} {k}");
                }
            }
            eprintln!(
                "{name}: {} groups, batches of {batch} ({} batches): the full run's",
                f.len(),
                live["batches"]
            );
        }
    }
}

/// CooRTweet 2.1.3's exact outputs on the two real sets (`eval/coord/real/`): pairs identical,
/// edges row for row with equal counts and averages within 1e-9, and the same accounts.
#[test]
fn coortweet_parity_on_the_real_sets() {
    let dir = tempfile::tempdir().unwrap();
    let real = shared().join("eval/coord/real");
    for (input, tag, window, mp) in [
        (
            "russian_coord_tweets.csv",
            "russian_coord_tweets.coortweet.w60_mp2",
            "60",
            "2",
        ),
        (
            "russian_coord_tweets.csv",
            "russian_coord_tweets.coortweet.w10_mp5",
            "10",
            "5",
        ),
        (
            "german_elections.objects.csv",
            "german_elections.coortweet.w30_mp2",
            "30",
            "2",
        ),
    ] {
        let (edges, pairs) = (
            dir.path().join(format!("{tag}.edges.csv")),
            dir.path().join(format!("{tag}.pairs.csv")),
        );
        let out = varta(
            dir.path(),
            &[
                "coord",
                real.join(input).to_str().unwrap(),
                "--parity",
                "coortweet",
                "--window",
                window,
                "--min-participation",
                mp,
                "--edge-weight",
                "0.5",
                "--edges",
                edges.to_str().unwrap(),
                "--pairs",
                pairs.to_str().unwrap(),
                "--json",
            ],
        );
        assert_success(&out);
        let summary = last_json(&out);
        assert_eq!(summary["failed"], 0, "{tag}");
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
        let ours = read(pairs);
        let peer = read(real.join(format!("{tag}.pairs.csv")));
        assert_eq!(ours.lines().count(), peer.lines().count(), "{tag} pairs");
        assert!(ours == peer, "{tag}: pairs differ from CooRTweet's");
        let pair_rows = peer.lines().count() - 1;
        let (ours, peer) = (read(edges), read(real.join(format!("{tag}.edges.csv"))));
        let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), peer.lines().collect());
        assert_eq!(a.len(), b.len(), "{tag} edges");
        assert_eq!(a[0], b[0], "{tag} header");
        for (x, y) in a.iter().zip(&b).skip(1) {
            let (fx, fy): (Vec<&str>, Vec<&str>) = (x.split(',').collect(), y.split(',').collect());
            assert_eq!(fx.len(), 8, "{tag}: {x}");
            for c in [0, 1, 2, 4, 5, 7] {
                assert_eq!(fx[c], fy[c], "{tag}: {x} against {y}");
            }
            for c in [3, 6] {
                let (p, q): (f64, f64) = (fx[c].parse().unwrap(), fy[c].parse().unwrap());
                assert!((p - q).abs() <= 1e-9, "{tag}: {x} against {y}");
            }
        }
        let mut accounts: Vec<&str> = a
            .iter()
            .skip(1)
            .flat_map(|l| l.split(',').take(2))
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        let nodes = read(real.join(format!("{tag}.nodes.csv")));
        let want: Vec<&str> = nodes.lines().skip(1).collect();
        assert_eq!(accounts, want, "{tag} accounts");
        assert_eq!(summary["accounts"], want.len(), "{tag}");
        eprintln!(
            "{tag}: {} pairs, {} edges, {} accounts identical",
            pair_rows,
            b.len() - 1,
            want.len()
        );
    }
}

/// The coordination network exported from the German election shares (a real set, many groups)
/// and the campaign network of the examples open with networkx's `read_gexf` and `read_graphml`,
/// with the node and edge counts Varta wrote. `.ci/run` installs networkx; without it this test fails, saying so.
#[test]
fn exported_networks_open_in_networkx() {
    let dir = tempfile::tempdir().unwrap();
    let input = shared().join("eval/coord/real/german_elections.objects.csv");
    let csv = dir.path().join("shares.csv");
    // CooRTweet's four columns in the toolkit's CSV layout: the object shared is the repost
    // target.
    let text = std::fs::read_to_string(&input).unwrap();
    let mut out =
        String::from("message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (o, a, c, t) = (
        col("object_id"),
        col("account_id"),
        col("content_id"),
        col("timestamp_share"),
    );
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let secs = f[t].split('.').next().unwrap();
        out.push_str(&format!(
            "{}-{},{},{},{},,,{secs},\n",
            f[c], f[o], f[a], f[a], f[o]
        ));
    }
    std::fs::write(&csv, out).unwrap();
    let (code, s) = ingest_json(dir.path(), &[&csv], &[]);
    assert_eq!(code, 0, "{s}");
    assert_success(&varta(
        dir.path(),
        &["detect", "coordination", "--window", "30"],
    ));
    // The campaign network: the examples' copy-paste campaigns (the shares have no texts).
    let examples_store = tempfile::tempdir().unwrap();
    let (code, _) = ingest_json(examples_store.path(), &[&examples()], &[]);
    assert_eq!(code, 0);
    assert_success(&varta(examples_store.path(), &["detect", "campaigns"]));
    for (format, reader, network, store) in [
        ("gexf", "read_gexf", "coordination", dir.path()),
        ("graphml", "read_graphml", "coordination", dir.path()),
        ("gexf", "read_gexf", "campaigns", examples_store.path()),
        (
            "graphml",
            "read_graphml",
            "campaigns",
            examples_store.path(),
        ),
    ] {
        let file = dir.path().join(format!("{network}.{format}"));
        let out = varta(
            store,
            &[
                "export",
                format,
                "--network",
                network,
                "--out",
                file.to_str().unwrap(),
                "--json",
            ],
        );
        assert_success(&out);
        let counts: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().last().unwrap())
                .unwrap();
        assert!(
            counts["nodes"].as_u64().unwrap() > 10,
            "{network}: {counts}"
        );
        let py = std::process::Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import sys, networkx as nx; g = nx.{reader}(sys.argv[1]); \
                     print(g.number_of_nodes(), g.number_of_edges())"
                ),
                file.to_str().unwrap(),
            ])
            .output()
            .expect("python3 runs");
        assert!(
            py.status.success(),
            "networkx could not read {format} (is networkx installed? .ci/run installs it): {}",
            String::from_utf8_lossy(&py.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&py.stdout).trim(),
            format!("{} {}", counts["nodes"], counts["edges"]),
            "{format}"
        );
    }
}

/// Checks a STIX bundle with the OASIS validator (zero errors), loads it with the `stix2` library,
/// and checks its DISARM techniques are the official bundle's objects (same ids, names and DISARM
/// ids). `.ci/run` installs stix2 and stix2-validator; without them this fails, saying so.
fn assert_valid_stix(file: &std::path::Path) {
    let script = r#"
import json, sys
import stix2
from stix2validator import validate_file, ValidationOptions
r = validate_file(sys.argv[1], ValidationOptions())
errors = [e for o in r.object_results for e in o.errors]
print("errors", len(errors))
for e in errors[:20]:
    print("  ", e)
bundle = json.load(open(sys.argv[1], encoding="utf-8"))
stix2.parse(bundle, allow_custom=True)
official = {o["id"]: o for o in json.load(open(sys.argv[2], encoding="utf-8"))["objects"]}
for o in bundle["objects"]:
    if o["type"] == "attack-pattern":
        d = official[o["id"]]
        assert o["name"] == d["name"], o["id"]
        assert o["external_references"] == d["external_references"], o["id"]
print("valid", r.is_valid)
"#;
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            file.to_str().unwrap(),
            shared().join("disarm/DISARM.json").to_str().unwrap(),
        ])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&py.stdout);
    assert!(
        py.status.success(),
        "the check failed (are stix2 and stix2-validator installed? .ci/run installs them): {stdout}{}",
        String::from_utf8_lossy(&py.stderr)
    );
    assert!(stdout.contains("errors 0\n"), "{stdout}");
    assert!(stdout.contains("valid True"), "{stdout}");
}

/// The STIX bundle of the examples passes the OASIS validator with zero errors, loads with the
/// `stix2` library, and its DISARM techniques are the official bundle's objects.
#[test]
fn stix_bundle_passes_the_oasis_validator() {
    let dir = examples_with_findings();
    let file = dir.path().join("bundle.json");
    assert_success(&varta(
        dir.path(),
        &[
            "export",
            "stix",
            "--suggestions",
            "--out",
            file.to_str().unwrap(),
        ],
    ));
    assert_valid_stix(&file);
}

/// A narrative is OpenCTI's `narrative` object, not core STIX: the OASIS validator accepts it
/// (with OpenCTI's extension marker, not even a warning), beside the campaign it links.
#[test]
fn stix_narrative_passes_the_oasis_validator() {
    let dir = store_with_a_narrative();
    let file = dir.path().join("bundle.json");
    assert_success(&varta(
        dir.path(),
        &["export", "stix", "--out", file.to_str().unwrap()],
    ));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(r#""type": "narrative""#), "{text}");
    assert_valid_stix(&file);
}
