//! Exports of the store for partners' tools: CSV for spreadsheets and scripts, GEXF and GraphML of
//! the coordination network for Gephi, ClaimReview JSON-LD for fact-checkers. Every front end (the
//! CLI's `export`, later the server) writes through these functions, so a file means the same
//! wherever it came from.
//!
//! Everything here was read from hostile input: CSV cells are quoted as RFC 4180 says and, by
//! default, cells a spreadsheet would run as a formula are defused; XML strings are escaped by
//! [`varta_detect::coord::graphfile`]; JSON is written by serde.

use crate::{AppError, Result};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use varta_core::{Document, Finding};
use varta_detect::coord::graphfile::{self, GraphEdge, Node};
use varta_store::Store;

/// What `export csv` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvTable {
    /// One row per stored document.
    Documents,
    /// One row per finding, every kind, best score first.
    Findings,
    /// One row per pair of accounts of a coordinated group that co-shared, with how often.
    Edges,
    /// One row per account or channel, with its documents.
    Actors,
}

/// Graph file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Gexf,
    Graphml,
}

/// How many rows, nodes, edges or objects an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    pub rows: usize,
    pub nodes: usize,
    pub edges: usize,
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |source| AppError::Io {
        what: what.to_string(),
        source,
    }
}

/// One CSV field, RFC 4180: quoted when it holds a quote, a comma or a line break. With `safe`,
/// a cell that starts as a spreadsheet formula does (`=`, `+`, `-`, `@`, tab, carriage return)
/// gets a leading apostrophe, which spreadsheet tools read as "text" and do not show.
pub fn csv_field(s: &str, safe: bool) -> String {
    let defused;
    let s = if safe && s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        defused = format!("'{s}");
        defused.as_str()
    } else {
        s
    };
    if s.contains(['"', ',', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_row(out: &mut dyn Write, cells: &[&str], safe: bool) -> Result<()> {
    let line: Vec<String> = cells.iter().map(|c| csv_field(c, safe)).collect();
    // CRLF, as RFC 4180 writes records.
    write!(out, "{}\r\n", line.join(",")).map_err(io("writing the CSV"))
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Writes one table as CSV (UTF-8, a header row, CRLF line ends).
pub fn csv(
    store: &impl Store,
    table: CsvTable,
    safe: bool,
    out: &mut dyn Write,
) -> Result<Written> {
    let mut rows = 0usize;
    match table {
        CsvTable::Documents => {
            csv_row(
                out,
                &[
                    "id",
                    "source",
                    "format",
                    "actor",
                    "published_at",
                    "collected_at",
                    "language",
                    "url",
                    "title",
                    "text",
                ],
                safe,
            )?;
            let mut failed: Option<AppError> = None;
            store.for_each_document(None, &mut |d: Document| {
                if failed.is_some() {
                    return Ok(());
                }
                let format = serde_json::to_value(d.format)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let r = csv_row(
                    out,
                    &[
                        &d.id,
                        &d.source,
                        &format,
                        d.actor_id.as_deref().unwrap_or(""),
                        &time(d.published_at),
                        &time(Some(d.collected_at)),
                        &d.language,
                        d.url.as_deref().unwrap_or(""),
                        d.title.as_deref().unwrap_or(""),
                        &d.text,
                    ],
                    safe,
                );
                match r {
                    Ok(()) => rows += 1,
                    Err(e) => failed = Some(e),
                }
                Ok(())
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
        }
        CsvTable::Findings => {
            csv_row(
                out,
                &[
                    "id",
                    "kind",
                    "score",
                    "first_seen",
                    "members",
                    "documents",
                    "summary",
                    "detector",
                    "created_at",
                ],
                safe,
            )?;
            for f in store.findings(None)? {
                let (members, summary) = summary(&f);
                csv_row(
                    out,
                    &[
                        &f.id,
                        &f.kind,
                        &format!("{:.4}", f.score),
                        &time(f.first_seen),
                        &members.to_string(),
                        &f.documents.len().to_string(),
                        &summary,
                        &f.detector,
                        &time(Some(f.created_at)),
                    ],
                    safe,
                )?;
                rows += 1;
            }
        }
        CsvTable::Edges => {
            csv_row(
                out,
                &[
                    "finding",
                    "actor_a",
                    "actor_b",
                    "co_shares",
                    "first",
                    "last",
                    "keys",
                ],
                safe,
            )?;
            for f in store.findings(Some(varta_detect::coord::finding::KIND))? {
                for ((a, b), e) in co_shares(&f) {
                    csv_row(
                        out,
                        &[
                            &f.id,
                            &a,
                            &b,
                            &e.count.to_string(),
                            &e.first,
                            &e.last,
                            &e.kinds.join(" "),
                        ],
                        safe,
                    )?;
                    rows += 1;
                }
            }
        }
        CsvTable::Actors => {
            csv_row(
                out,
                &[
                    "id",
                    "platform",
                    "handle",
                    "display_name",
                    "documents",
                    "first_seen",
                    "last_seen",
                ],
                safe,
            )?;
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            store.for_each_document(None, &mut |d: Document| {
                if let Some(a) = d.actor_id {
                    *counts.entry(a).or_insert(0) += 1;
                }
                Ok(())
            })?;
            for (id, n) in counts {
                let actor = store.get_actor(&id)?;
                let a = actor.as_ref();
                csv_row(
                    out,
                    &[
                        &id,
                        a.map_or("", |a| a.platform.as_str()),
                        a.and_then(|a| a.handle.as_deref()).unwrap_or(""),
                        a.and_then(|a| a.display_name.as_deref()).unwrap_or(""),
                        &n.to_string(),
                        &time(a.and_then(|a| a.first_seen)),
                        &time(a.and_then(|a| a.last_seen)),
                    ],
                    safe,
                )?;
                rows += 1;
            }
        }
    }
    out.flush().map_err(io("writing the CSV"))?;
    Ok(Written {
        rows,
        ..Written::default()
    })
}

/// A finding's size (members; 1 for a claim match) and a line saying what it is.
pub fn summary(f: &Finding) -> (usize, String) {
    let b = &f.body;
    let len = |k: &str| b.get(k).and_then(|v| v.as_array()).map_or(0, Vec::len);
    match f.kind.as_str() {
        varta_detect::campaigns::KIND => (
            len("members"),
            b.get("representative_text")
                .and_then(|v| v.as_str())
                .map(|t| t.chars().take(200).collect())
                .unwrap_or_default(),
        ),
        varta_detect::coord::finding::KIND => {
            let keys: Vec<String> = b
                .get("shared_keys")
                .and_then(|v| v.as_array())
                .map(|ks| {
                    ks.iter()
                        .take(3)
                        .filter_map(|k| {
                            Some(format!(
                                "{} {}",
                                k.get("kind")?.as_str()?,
                                k.get("key")?.as_str()?.chars().take(60).collect::<String>()
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            (len("members"), keys.join("; "))
        }
        varta_detect::claims::finding::KIND => {
            let m = b.get("match");
            let s = |k: &str| {
                m.and_then(|m| m.get(k))
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
            };
            (1, format!("{}: {}", s("verdict"), s("text")))
        }
        varta_detect::narratives::KIND => (
            len("members"),
            b.get("label")
                .and_then(|v| v.as_str())
                .map(|t| t.chars().take(200).collect())
                .unwrap_or_default(),
        ),
        _ => (0, String::new()),
    }
}

/// Co-shares of one pair of a group, from its evidence rows.
pub(crate) struct PairEvidence {
    pub(crate) count: usize,
    first: String,
    last: String,
    kinds: Vec<String>,
}

/// The pairs of a coordination finding's evidence, (a, b) with a < b, in order.
pub(crate) fn co_shares(f: &Finding) -> BTreeMap<(String, String), PairEvidence> {
    let mut pairs: BTreeMap<(String, String), PairEvidence> = BTreeMap::new();
    let rows = f.body.get("evidence").and_then(|v| v.as_array());
    for r in rows.into_iter().flatten() {
        let s = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let (a, b) = (s("actor_a"), s("actor_b"));
        if a.is_empty() || b.is_empty() || a == b {
            continue;
        }
        let key = if a < b { (a, b) } else { (b, a) };
        let t = s("time_a").min(s("time_b"));
        let e = pairs.entry(key).or_insert_with(|| PairEvidence {
            count: 0,
            first: t.clone(),
            last: t.clone(),
            kinds: Vec::new(),
        });
        e.count += 1;
        if t < e.first {
            e.first = t.clone();
        }
        if t > e.last {
            e.last = t;
        }
        let kind = s("kind");
        if !e.kinds.contains(&kind) {
            e.kinds.push(kind);
        }
    }
    pairs
}

/// Writes the coordination network of the stored groups: a node per account (attributes: the
/// first group it is in and all of them, numbered from 1 by score), an undirected edge per pair
/// that co-shared, weighted by how often (from the groups' evidence).
pub fn coordination_graph(
    store: &impl Store,
    format: GraphFormat,
    out: &mut dyn Write,
) -> Result<Written> {
    let findings = store.findings(Some(varta_detect::coord::finding::KIND))?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut labels: Vec<String> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut node = |id: &str, labels: &mut Vec<String>, groups: &mut Vec<Vec<usize>>| {
        *index.entry(id.to_string()).or_insert_with(|| {
            labels.push(id.to_string());
            groups.push(Vec::new());
            labels.len() - 1
        })
    };
    let mut weights: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for (g, f) in findings.iter().enumerate() {
        let members = f.body.get("members").and_then(|v| v.as_array());
        for m in members.into_iter().flatten().filter_map(|m| m.as_str()) {
            let i = node(m, &mut labels, &mut groups);
            if !groups[i].contains(&(g + 1)) {
                groups[i].push(g + 1);
            }
        }
        for ((a, b), e) in co_shares(f) {
            let (i, j) = (
                node(&a, &mut labels, &mut groups),
                node(&b, &mut labels, &mut groups),
            );
            *weights.entry((i.min(j), i.max(j))).or_insert(0.0) += e.count as f64;
        }
    }
    write_graph(&labels, groups, weights, format, out)
}

/// Writes an undirected graph of labelled nodes (with their groups, numbered from 1) and
/// weighted edges between node indices.
fn write_graph(
    labels: &[String],
    groups: Vec<Vec<usize>>,
    weights: BTreeMap<(usize, usize), f64>,
    format: GraphFormat,
    out: &mut dyn Write,
) -> Result<Written> {
    let nodes: Vec<Node<'_>> = labels
        .iter()
        .zip(groups)
        .map(|(l, groups)| Node { label: l, groups })
        .collect();
    let edges: Vec<GraphEdge> = weights
        .into_iter()
        .map(|((source, target), weight)| GraphEdge {
            source,
            target,
            weight,
            symmetry: None,
        })
        .collect();
    let mut w = std::io::BufWriter::new(out);
    match format {
        GraphFormat::Gexf => graphfile::write_gexf(&mut w, &nodes, &edges, false),
        GraphFormat::Graphml => graphfile::write_graphml(&mut w, &nodes, &edges, false),
    }
    .and_then(|()| w.flush())
    .map_err(io("writing the graph"))?;
    Ok(Written {
        rows: 0,
        nodes: nodes.len(),
        edges: edges.len(),
    })
}

/// Writes the campaign network of the stored copy-paste campaigns: a node per document and per
/// account (`group`: the campaign, numbered from 1 by score), an edge from each account to the
/// documents it posted (weight 1) and from each copy to its campaign's first document (weight: the
/// copy's similarity).
pub fn campaign_graph(
    store: &impl Store,
    format: GraphFormat,
    out: &mut dyn Write,
) -> Result<Written> {
    let findings = store.findings(Some(varta_detect::campaigns::KIND))?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut labels: Vec<String> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut node =
        |id: String, g: usize, labels: &mut Vec<String>, groups: &mut Vec<Vec<usize>>| {
            let i = *index.entry(id.clone()).or_insert_with(|| {
                labels.push(id);
                groups.push(Vec::new());
                labels.len() - 1
            });
            if !groups[i].contains(&g) {
                groups[i].push(g);
            }
            i
        };
    let mut edges: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for (g, f) in findings.iter().enumerate() {
        let origin = f.body["first_seen"]["document"].as_str().unwrap_or("");
        let o = node(
            format!("document:{origin}"),
            g + 1,
            &mut labels,
            &mut groups,
        );
        for m in f.body["members"].as_array().into_iter().flatten() {
            let Some(doc) = m["document"].as_str() else {
                continue;
            };
            let d = node(format!("document:{doc}"), g + 1, &mut labels, &mut groups);
            if let Some(actor) = m["actor"].as_str() {
                let a = node(actor.to_string(), g + 1, &mut labels, &mut groups);
                edges.insert((a.min(d), a.max(d)), 1.0);
            }
            if d != o {
                let j = m["best_jaccard"].as_f64().unwrap_or(1.0);
                edges.insert((o.min(d), o.max(d)), j);
            }
        }
    }
    write_graph(&labels, groups, edges, format, out)
}

/// Writes the stored claims as a schema.org ClaimReview JSON-LD array; each claim's documents that
/// repeat it (claim-match findings at *match*, or at *suggest* too with `suggestions`) are its
/// `itemReviewed.appearance`, with their URL, date, author and Varta id.
pub fn claimreview(store: &impl Store, suggestions: bool, out: &mut dyn Write) -> Result<Written> {
    let mut appearances: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
    for f in store.findings(Some(varta_detect::claims::finding::KIND))? {
        let b = &f.body;
        let m = b.get("match");
        let s = |v: Option<&serde_json::Value>, k: &str| {
            v.and_then(|v| v.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let (Some(claim), Some(verdict)) = (s(m, "claim"), s(m, "verdict")) else {
            continue;
        };
        if verdict != "match" && !(suggestions && verdict == "suggest") {
            continue;
        }
        let mut a = serde_json::json!({
            "@type": "CreativeWork",
            "identifier": s(Some(b), "document"),
        });
        if let Some(u) = s(Some(b), "url").filter(|u| u.starts_with("http")) {
            a["url"] = u.into();
        }
        if let Some(t) = s(Some(b), "published_at") {
            a["datePublished"] = t.into();
        }
        if let Some(actor) = s(Some(b), "actor") {
            a["author"] = serde_json::json!({"@type": "Person", "identifier": actor});
        }
        if suggestions {
            a["description"] = format!("varta verdict: {verdict}").into();
        }
        appearances.entry(claim).or_default().push(a);
    }
    let mut reviews = Vec::new();
    for c in store.claims()? {
        let mut item = serde_json::json!({"@type": "Claim"});
        if let Some(who) = &c.claimant {
            item["author"] = serde_json::json!({"@type": "Organization", "name": who});
        }
        if let Some(d) = c.claim_date {
            item["datePublished"] = time(Some(d)).into();
        }
        let mut seen: Vec<serde_json::Value> = c
            .appearances
            .iter()
            .map(|u| serde_json::json!({"@type": "CreativeWork", "url": u}))
            .collect();
        seen.extend(appearances.remove(&c.id).unwrap_or_default());
        if !seen.is_empty() {
            item["appearance"] = seen.into();
        }
        let mut r = serde_json::json!({
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "identifier": c.id,
            "claimReviewed": c.text,
            "itemReviewed": item,
        });
        if let Some(u) = &c.review_url {
            r["url"] = u.clone().into();
        }
        if let Some(who) = &c.reviewer {
            r["author"] = serde_json::json!({"@type": "Organization", "name": who});
        }
        if let Some(d) = c.review_date {
            r["datePublished"] = time(Some(d)).into();
        }
        if let Some(rating) = &c.rating {
            r["reviewRating"] = serde_json::json!({"@type": "Rating", "alternateName": rating});
        }
        if let Some(l) = c.languages.first() {
            r["inLanguage"] = l.clone().into();
        }
        reviews.push(r);
    }
    let n = reviews.len();
    serde_json::to_writer_pretty(&mut *out, &reviews)
        .map_err(|e| AppError::Failed(format!("writing ClaimReview JSON: {e}")))?;
    writeln!(out).map_err(io("writing ClaimReview JSON"))?;
    Ok(Written {
        rows: n,
        ..Written::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain", true), "plain");
        assert_eq!(csv_field("a,b", true), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"", true), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("line\nbreak", true), "\"line\nbreak\"");
        assert_eq!(
            csv_field("=HYPERLINK(\"x\")", true),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(csv_field("+1", true), "'+1");
        assert_eq!(csv_field("-cmd", true), "'-cmd");
        assert_eq!(csv_field("@SUM(A1)", true), "'@SUM(A1)");
        assert_eq!(csv_field("\tx", true), "'\tx");
        assert_eq!(csv_field("=1+1", false), "=1+1");
    }
}
