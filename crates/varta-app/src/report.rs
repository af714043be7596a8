//! The HTML report: one self-contained page (`index.html`) an analyst reads and prints, with every
//! finding and its evidence, ordered by score.
//!
//! The page needs no network and runs no code: charts and the network drawings are inline SVG
//! drawn here, styles are inline, and the Content-Security-Policy forbids scripts, so hostile text
//! can at worst be text. Every string that came from input is escaped for where it goes (element
//! text, attribute, SVG text); only http(s) URLs become links.

use crate::{AppError, Result};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use varta_core::Finding;
use varta_detect::claims::finding::short;
use varta_detect::narratives::{NarrativeFinding, Period};
use varta_store::Store;

/// How much of each kind the page shows: a store with thousands of findings gives a page that
/// still opens in a moment, with the rest counted.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Findings of each kind shown in full, best first.
    pub per_kind: usize,
    /// Members, copies and evidence rows shown per finding.
    pub rows: usize,
    /// Accounts drawn in a group's network.
    pub drawn: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            per_kind: 100,
            rows: 25,
            drawn: 120,
        }
    }
}

/// What the report holds.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ReportSummary {
    pub path: String,
    pub bytes: u64,
    pub campaigns: usize,
    pub groups: usize,
    pub claim_matches: usize,
    pub narratives: usize,
    pub documents: u64,
}

/// Escapes text for HTML element content, attribute values and SVG text alike.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A link when `url` is http(s), else the escaped text: `javascript:` and `data:` never become
/// links.
pub fn link(url: &str, text: &str) -> String {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        format!(
            r#"<a href="{}" rel="noopener noreferrer nofollow">{}</a>"#,
            esc(url.trim()),
            esc(text)
        )
    } else {
        esc(text)
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn time_of(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The report's style sheet, which the dashboard serves too.
pub const STYLE: &str = r#"
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#14213d;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.8}
nav{padding:8px 28px;background:#e8ebf1}nav a{margin-right:16px;color:#14213d}
main{padding:8px 28px 40px;max-width:1200px}
section.f{background:#fff;border:1px solid #d9dde5;border-radius:8px;padding:14px 18px;margin:14px 0}
h2{margin-top:28px}h3{margin:0 0 6px;font-size:17px}
.meta{color:#555;font-size:13px}.score{float:right;font-weight:600;color:#14213d}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0}td,th{border-bottom:1px solid #e3e6ec;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}.meta,.txt{overflow-wrap:anywhere}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #d9dde5;border-radius:8px;padding:10px 16px;min-width:140px}.card b{display:block;font-size:24px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px}.txt{background:#fafbfc;border:1px solid #e3e6ec;border-radius:6px;padding:8px;white-space:pre-wrap;font-size:13px}
del{background:#fde2e2;text-decoration:line-through}ins{background:#dcf5dc;text-decoration:none}
.verdict-match{color:#a40000;font-weight:600}.verdict-suggest{color:#8a5a00;font-weight:600}
svg{max-width:100%;height:auto;background:#fff}svg text{font:11px sans-serif;fill:#333}
.more{color:#666;font-style:italic}
@media print{nav{display:none}body{background:#fff}section.f{break-inside:avoid;border:0;border-top:1px solid #ccc}}
"#;

/// Writes `dir/index.html` for everything the store holds.
pub fn write(store: &impl Store, opts: &ReportOptions, dir: &Path) -> Result<ReportSummary> {
    std::fs::create_dir_all(dir).map_err(|source| AppError::Io {
        what: format!("creating {}", dir.display()),
        source,
    })?;
    let findings = store.findings(None)?;
    let stats = store.stats()?;
    let of = |k: &str| -> Vec<&Finding> { findings.iter().filter(|f| f.kind == k).collect() };
    let campaigns = of(varta_detect::campaigns::KIND);
    let groups = of(varta_detect::coord::finding::KIND);
    let claims = of(varta_detect::claims::finding::KIND);
    let narratives = of(varta_detect::narratives::KIND);
    let mut h = String::new();
    let _ = write!(
        h,
        r##"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer">
<title>Varta report</title><style>{STYLE}</style></head><body>
<header><h1>Varta report</h1><p>{} documents, {} findings; generated {}</p></header>
<nav><a href="#overview">Overview</a><a href="#campaigns">Campaigns ({})</a><a href="#groups">Coordinated groups ({})</a><a href="#claims">Repeated claims ({})</a><a href="#narratives">Narratives ({})</a></nav><main>"##,
        stats.documents,
        findings.len(),
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        campaigns.len(),
        groups.len(),
        claims.len(),
        narratives.len()
    );
    overview(&mut h, &findings, stats.documents);
    let _ = write!(h, r#"<h2 id="campaigns">Copy-paste campaigns</h2>"#);
    for f in campaigns.iter().take(opts.per_kind) {
        campaign(&mut h, store, f, opts)?;
    }
    more(&mut h, campaigns.len(), opts.per_kind, "campaigns");
    let _ = write!(h, r#"<h2 id="groups">Coordinated groups</h2>"#);
    for f in groups.iter().take(opts.per_kind) {
        group(&mut h, f, opts);
    }
    more(&mut h, groups.len(), opts.per_kind, "groups");
    let _ = write!(h, r#"<h2 id="claims">Repeated debunked claims</h2>"#);
    claim_table(&mut h, &claims, opts.per_kind.max(200));
    more(
        &mut h,
        claims.len(),
        opts.per_kind.max(200),
        "claim matches",
    );
    let _ = write!(
        h,
        r#"<h2 id="narratives">Narratives</h2><p class="meta">Documents grouped by what they say, across languages (<code>varta detect narratives</code>).</p>"#
    );
    for f in narratives.iter().take(opts.per_kind) {
        narrative(&mut h, f, opts);
    }
    more(&mut h, narratives.len(), opts.per_kind, "narratives");
    h.push_str("</main></body></html>\n");
    let path: PathBuf = dir.join("index.html");
    std::fs::write(&path, &h).map_err(|source| AppError::Io {
        what: format!("writing {}", path.display()),
        source,
    })?;
    Ok(ReportSummary {
        path: path.display().to_string(),
        bytes: h.len() as u64,
        campaigns: campaigns.len(),
        groups: groups.len(),
        claim_matches: claims.len(),
        narratives: narratives.len(),
        documents: stats.documents,
    })
}

/// One finding as the report shows it (its charts, texts side by side, network drawing), for a
/// page of its own (the dashboard's).
pub fn finding_html(store: &impl Store, f: &Finding, opts: &ReportOptions) -> Result<String> {
    let mut h = String::new();
    match f.kind.as_str() {
        varta_detect::campaigns::KIND => campaign(&mut h, store, f, opts)?,
        varta_detect::coord::finding::KIND => group(&mut h, f, opts),
        varta_detect::claims::finding::KIND => claim_table(&mut h, &[f], 1),
        varta_detect::narratives::KIND => narrative(&mut h, f, opts),
        _ => raw(&mut h, f),
    }
    Ok(h)
}

/// A finding of a kind the report has no layout for (or whose record it cannot read): its
/// record as indented JSON.
fn raw(h: &mut String, f: &Finding) {
    let _ = write!(
        h,
        r#"<section class="f"><h3>{}</h3><pre class="txt">{}</pre></section>"#,
        esc(&f.kind),
        esc(&serde_json::to_string_pretty(&f.body).unwrap_or_default())
    );
}

/// Lines of documents per day, one per series (a source, a language), with a legend.
pub fn volume_svg(
    title: &str,
    series: &BTreeMap<String, BTreeMap<chrono::NaiveDate, u64>>,
) -> String {
    const PALETTE: [&str; 8] = [
        "#c0392b", "#2e86de", "#8e44ad", "#16a085", "#d35400", "#2c3e50", "#7f8c8d", "#27ae60",
    ];
    let (w, hgt, pad) = (900.0, 200.0, 34.0);
    let legend_rows = series.len().min(8);
    let mut out = format!(
        r#"<svg class="chart volume" viewBox="0 0 {w} {}" role="img" aria-label="{}">"#,
        hgt + 30.0 + 16.0 * legend_rows as f64,
        esc(title)
    );
    let days: Vec<chrono::NaiveDate> = series.values().flat_map(|s| s.keys().copied()).collect();
    let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else {
        out.push_str(r#"<text x="10" y="20">no documents</text></svg>"#);
        return out;
    };
    let span = (*last - *first).num_days().max(1) as f64;
    let max = series
        .values()
        .flat_map(|s| s.values().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    for (i, (name, points)) in series.iter().take(8).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let pts: Vec<String> = points
            .iter()
            .map(|(d, n)| {
                let x = pad + (*d - *first).num_days() as f64 / span * (w - 2.0 * pad);
                let y = hgt - *n as f64 / max * (hgt - pad);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            out,
            r#"<polyline class="series" points="{}" fill="none" stroke="{color}" stroke-width="2"><title>{}</title></polyline>"#,
            pts.join(" "),
            esc(name)
        );
        // A point per day: a series of one day is no line at all.
        for p in &pts {
            let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                out,
                r#"<circle class="point" cx="{x}" cy="{y}" r="2.5" fill="{color}"/>"#
            );
        }
        let y = hgt + 40.0 + 16.0 * i as f64;
        let _ = write!(
            out,
            r#"<rect x="{pad}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{y}">{}</text>"#,
            y - 9.0,
            pad + 14.0,
            esc(name)
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{pad}" y1="{hgt}" x2="{}" y2="{hgt}" stroke="#999"/><text x="{pad}" y="{}">{first}</text><text x="{}" y="{}" text-anchor="end">{last}</text><text x="{pad}" y="14">max {max} a day</text></svg>"##,
        w - pad,
        hgt + 16.0,
        w - pad,
        hgt + 16.0
    );
    out
}

fn more(h: &mut String, total: usize, shown: usize, what: &str) {
    if total == 0 {
        let _ = write!(h, r#"<p class="more">No {what}.</p>"#);
    } else if total > shown {
        let _ = write!(
            h,
            r#"<p class="more">{} more {what}, of lower score, are in findings.csv.</p>"#,
            total - shown
        );
    }
}

fn overview(h: &mut String, findings: &[Finding], documents: u64) {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for f in findings {
        *kinds.entry(f.kind.as_str()).or_default() += 1;
    }
    let _ = write!(
        h,
        r#"<h2 id="overview">Overview</h2><div class="cards"><div class="card"><b>{documents}</b>documents</div>"#
    );
    for (k, n) in &kinds {
        let _ = write!(h, r#"<div class="card"><b>{n}</b>{}</div>"#, esc(k));
    }
    h.push_str(
        "</div><h3 style=\"margin-top:14px\">Findings over time (by first seen, per day)</h3>",
    );
    let mut days: BTreeMap<chrono::NaiveDate, [usize; 4]> = BTreeMap::new();
    for f in findings {
        let Some(t) = f.first_seen else { continue };
        let i = match f.kind.as_str() {
            varta_detect::campaigns::KIND => 0,
            varta_detect::coord::finding::KIND => 1,
            varta_detect::narratives::KIND => 3,
            _ => 2,
        };
        days.entry(t.date_naive()).or_default()[i] += 1;
    }
    h.push_str(&timeline_svg(&days));
}

const COLORS: [&str; 4] = ["#c0392b", "#2e86de", "#8e44ad", "#16a085"];

/// Stacked bars per day: campaigns, groups, claim matches, narratives.
fn timeline_svg(days: &BTreeMap<chrono::NaiveDate, [usize; 4]>) -> String {
    let (w, hgt, pad) = (900.0, 180.0, 30.0);
    let mut out = format!(
        r#"<svg class="chart timeline" viewBox="0 0 {w} {}" role="img" aria-label="findings per day">"#,
        hgt + 40.0
    );
    let (Some(first), Some(last)) = (days.keys().next(), days.keys().last()) else {
        out.push_str(r#"<text x="10" y="20">no dated findings</text></svg>"#);
        return out;
    };
    let span = (*last - *first).num_days().max(0) as f64 + 1.0;
    let max = days
        .values()
        .map(|c| c.iter().sum::<usize>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let bw = ((w - 2.0 * pad) / span).clamp(1.0, 40.0);
    for (d, c) in days {
        let x = pad + (*d - *first).num_days() as f64 * (w - 2.0 * pad) / span;
        let mut y = hgt;
        for (i, n) in c.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let bh = *n as f64 / max * (hgt - pad);
            y -= bh;
            let _ = write!(
                out,
                r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="{}"><title>{d}: {n}</title></rect>"#,
                (bw - 1.0).max(1.0),
                COLORS[i]
            );
        }
    }
    let _ = write!(
        out,
        r##"<line x1="{pad}" y1="{hgt}" x2="{}" y2="{hgt}" stroke="#999"/><text x="{pad}" y="{}">{first}</text><text x="{}" y="{}" text-anchor="end">{last}</text><text x="{pad}" y="14">max {max} a day</text>"##,
        w - pad,
        hgt + 16.0,
        w - pad,
        hgt + 16.0
    );
    for (i, name) in ["campaigns", "groups", "claim matches", "narratives"]
        .iter()
        .enumerate()
    {
        let _ = write!(
            out,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{name}</text>"#,
            w - 425.0 + i as f64 * 105.0,
            hgt + 26.0,
            COLORS[i],
            w - 411.0 + i as f64 * 105.0,
            hgt + 35.0
        );
    }
    out.push_str("</svg>");
    out
}

/// Cumulative `what` (copies, documents) over time: how a campaign or a narrative spread.
fn spread_svg(times: &[DateTime<Utc>], what: &str) -> String {
    let (w, hgt, pad) = (600.0, 140.0, 28.0);
    let mut out = format!(
        r#"<svg class="chart spread" viewBox="0 0 {w} {}" role="img" aria-label="{} over time">"#,
        hgt + 20.0,
        esc(what)
    );
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        out.push_str("</svg>");
        return out;
    };
    let span = (*last - *first).num_seconds().max(1) as f64;
    let n = times.len() as f64;
    let mut pts = Vec::new();
    for (i, t) in times.iter().enumerate() {
        let x = pad + (*t - *first).num_seconds() as f64 / span * (w - 2.0 * pad);
        let y = hgt - (i as f64 + 1.0) / n * (hgt - pad);
        pts.push(format!("{x:.1},{y:.1}"));
    }
    let _ = write!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#c0392b" stroke-width="2"/>"##,
        pts.join(" ")
    );
    for p in &pts {
        let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
        let _ = write!(
            out,
            r##"<circle class="point" cx="{x}" cy="{y}" r="2.5" fill="#c0392b"/>"##
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{pad}" y1="{hgt}" x2="{}" y2="{hgt}" stroke="#999"/><text x="{pad}" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{} ({} {})</text>"##,
        w - pad,
        hgt + 14.0,
        first.format("%Y-%m-%d %H:%M:%S"),
        w - pad,
        hgt + 14.0,
        human(span),
        times.len(),
        esc(what)
    );
    out.push_str("</svg>");
    out
}

fn human(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if secs < 7200.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 172_800.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.1} days", secs / 86400.0)
    }
}

/// Word-level differences of `b` against `a`: words only in `a` struck out, words only in `b`
/// marked inserted (a longest common subsequence over at most 300 words each).
pub fn diff_html(a: &str, b: &str) -> String {
    let wa: Vec<&str> = a.split_whitespace().take(300).collect();
    let wb: Vec<&str> = b.split_whitespace().take(300).collect();
    let (n, m) = (wa.len(), wb.len());
    let mut l = vec![vec![0u16; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            l[i][j] = if wa[i] == wb[j] {
                l[i + 1][j + 1] + 1
            } else {
                l[i + 1][j].max(l[i][j + 1])
            };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && wa[i] == wb[j] {
            out.push(esc(wb[j]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || l[i][j + 1] > l[i + 1][j]) {
            out.push(format!("<ins>{}</ins>", esc(wb[j])));
            j += 1;
        } else {
            out.push(format!("<del>{}</del>", esc(wa[i])));
            i += 1;
        }
    }
    out.join(" ")
}

fn campaign(h: &mut String, store: &impl Store, f: &Finding, opts: &ReportOptions) -> Result<()> {
    let b = &f.body;
    let text = s(b, "representative_text");
    let members: Vec<&Value> = b["members"]
        .as_array()
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let list = |k: &str| -> String {
        b[k].as_array()
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .map(esc)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let _ = write!(
        h,
        r#"<section class="f campaign" id="{}"><span class="score">score {:.3}</span><h3>{}</h3><p class="meta">{} copies by {} accounts · sources: {} · languages: {} · origin: {} by {} at {}</p>"#,
        esc(&f.id),
        f.score,
        esc(&short(text, 140)),
        members.len(),
        b["actors"].as_array().map_or(0, Vec::len),
        list("sources"),
        list("languages"),
        esc(s(&b["first_seen"], "document")),
        esc(s(&b["first_seen"], "actor")),
        esc(s(&b["first_seen"], "time")),
    );
    let mut times: Vec<DateTime<Utc>> =
        members.iter().filter_map(|m| time_of(&m["time"])).collect();
    times.sort();
    h.push_str(&spread_svg(&times, "copies"));
    // The copies side by side with the origin, differences marked.
    let origin = s(&b["first_seen"], "document");
    let _ = write!(h, "<h4>Texts</h4>");
    let mut shown = 0;
    for m in &members {
        let id = s(m, "document");
        if shown >= opts.rows.min(5) {
            break;
        }
        if id == origin {
            continue;
        }
        let Some(doc) = store.get(id)? else { continue };
        if doc.text == text {
            continue;
        }
        let _ = write!(
            h,
            r#"<div class="pair"><div class="txt"><b>{}</b><br>{}</div><div class="txt"><b>{}</b><br>{}</div></div>"#,
            esc(origin),
            esc(&short(text, 1500)),
            esc(id),
            diff_html(text, &short(&doc.text, 1500))
        );
        shown += 1;
    }
    if shown == 0 {
        let _ = write!(
            h,
            r#"<div class="txt">{}</div><p class="meta">Every copy has this text.</p>"#,
            esc(&short(text, 1500))
        );
    }
    let _ = write!(
        h,
        "<table><tr><th>time</th><th>actor</th><th>source</th><th>language</th><th>document</th><th>similarity</th><th>link</th></tr>"
    );
    for m in members.iter().take(opts.rows) {
        let id = s(m, "document");
        let url = store.get(id)?.and_then(|d| d.url).unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(s(m, "time")),
            esc(s(m, "actor")),
            esc(s(m, "source")),
            esc(s(m, "language")),
            esc(id),
            m["best_jaccard"]
                .as_f64()
                .map(|j| format!("{j:.2}"))
                .unwrap_or_default(),
            link(&url, &short(&url, 60)),
        );
    }
    h.push_str("</table>");
    if members.len() > opts.rows {
        let _ = write!(
            h,
            r#"<p class="more">{} more copies in documents.csv.</p>"#,
            members.len() - opts.rows
        );
    }
    h.push_str("</section>");
    Ok(())
}

/// A deterministic force-directed layout (Fruchterman–Reingold) of `n` nodes in the unit square.
pub fn layout(n: usize, edges: &[(usize, usize, f64)]) -> Vec<(f64, f64)> {
    let mut pos: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = i as f64 / n.max(1) as f64 * std::f64::consts::TAU;
            (0.5 + 0.4 * a.cos(), 0.5 + 0.4 * a.sin())
        })
        .collect();
    if n < 2 {
        return vec![(0.5, 0.5); n];
    }
    let k = (1.0 / n as f64).sqrt();
    let mut temp = 0.1;
    for _ in 0..200 {
        let mut disp = vec![(0.0f64, 0.0f64); n];
        for i in 0..n {
            for j in i + 1..n {
                let (dx, dy) = (pos[i].0 - pos[j].0, pos[i].1 - pos[j].1);
                let d = (dx * dx + dy * dy).sqrt().max(1e-4);
                let f = k * k / d;
                disp[i].0 += dx / d * f;
                disp[i].1 += dy / d * f;
                disp[j].0 -= dx / d * f;
                disp[j].1 -= dy / d * f;
            }
        }
        for &(a, b, w) in edges {
            let (dx, dy) = (pos[a].0 - pos[b].0, pos[a].1 - pos[b].1);
            let d = (dx * dx + dy * dy).sqrt().max(1e-4);
            let f = d * d / k * (1.0 + w.ln_1p()) * 0.5;
            disp[a].0 -= dx / d * f;
            disp[a].1 -= dy / d * f;
            disp[b].0 += dx / d * f;
            disp[b].1 += dy / d * f;
        }
        for (p, d) in pos.iter_mut().zip(&disp) {
            let len = (d.0 * d.0 + d.1 * d.1).sqrt().max(1e-9);
            p.0 = (p.0 + d.0 / len * len.min(temp)).clamp(0.02, 0.98);
            p.1 = (p.1 + d.1 / len * len.min(temp)).clamp(0.02, 0.98);
        }
        temp *= 0.98;
    }
    pos
}

fn network_svg(members: &[String], edges: &[(usize, usize, f64)]) -> String {
    let (w, hgt) = (640.0, 420.0);
    let pos = layout(members.len(), edges);
    let max = edges.iter().map(|e| e.2).fold(1.0f64, f64::max);
    let mut out = format!(
        r#"<svg class="network" viewBox="0 0 {w} {hgt}" role="img" aria-label="network of the group" data-nodes="{}">"#,
        members.len()
    );
    for &(a, b, wt) in edges {
        let _ = write!(
            out,
            r##"<line class="edge" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#8aa4c8" stroke-width="{:.1}"><title>{} co-shares</title></line>"##,
            pos[a].0 * w,
            pos[a].1 * hgt,
            pos[b].0 * w,
            pos[b].1 * hgt,
            0.5 + 3.0 * wt / max,
            wt
        );
    }
    for (i, m) in members.iter().enumerate() {
        let (x, y) = (pos[i].0 * w, pos[i].1 * hgt);
        let _ = write!(
            out,
            r##"<g class="node"><circle cx="{x:.1}" cy="{y:.1}" r="6" fill="#2e86de"/><text x="{:.1}" y="{:.1}">{}</text></g>"##,
            x + 8.0,
            y + 4.0,
            esc(&short(m, 28))
        );
    }
    out.push_str("</svg>");
    out
}

/// Seconds between the two posts of each co-share: a group's pushes sit at a few seconds.
fn deltas_svg(deltas: &[f64]) -> String {
    let (w, hgt, pad) = (600.0, 130.0, 24.0);
    let bins = 12usize;
    let max_d = deltas.iter().copied().fold(1.0f64, f64::max);
    let mut counts = vec![0usize; bins];
    for d in deltas {
        let i = ((d / max_d) * (bins as f64 - 1.0)).round() as usize;
        counts[i.min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let bw = (w - 2.0 * pad) / bins as f64;
    let mut out = format!(
        r#"<svg class="chart deltas" viewBox="0 0 {w} {}" role="img" aria-label="seconds between posts">"#,
        hgt + 20.0
    );
    for (i, c) in counts.iter().enumerate() {
        let bh = *c as f64 / top * (hgt - pad);
        let _ = write!(
            out,
            r##"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#2e86de"><title>{c}</title></rect>"##,
            pad + i as f64 * bw,
            hgt - bh,
            bw - 2.0
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{pad}" y1="{hgt}" x2="{}" y2="{hgt}" stroke="#999"/><text x="{pad}" y="{}">0 s</text><text x="{}" y="{}" text-anchor="end">{max_d:.0} s between the two posts of a co-share</text>"##,
        w - pad,
        hgt + 14.0,
        w - pad,
        hgt + 14.0
    );
    out.push_str("</svg>");
    out
}

fn group(h: &mut String, f: &Finding, opts: &ReportOptions) {
    let b = &f.body;
    let members: Vec<String> = b["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .take(opts.drawn)
        .collect();
    let index: HashMap<&str, usize> = members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let evidence: Vec<&Value> = b["evidence"]
        .as_array()
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let deltas: Vec<f64> = evidence
        .iter()
        .filter_map(|e| e["delta_s"].as_f64())
        .collect();
    // Pairs of drawn members, weighted by their co-shares (as the exported network has them).
    let edges: Vec<(usize, usize, f64)> = crate::export::co_shares(f)
        .into_iter()
        .filter_map(|((a, b), e)| {
            let (i, j) = (*index.get(a.as_str())?, *index.get(b.as_str())?);
            Some((i.min(j), i.max(j), e.count as f64))
        })
        .collect();
    let all = b["members"].as_array().map_or(0, Vec::len);
    let _ = write!(
        h,
        r#"<section class="f group" id="{}"><span class="score">score {:.3}</span><h3>Coordinated group of {all} accounts</h3><p class="meta">core {} · attached {} · density {:.2} · mean weight {:.2} · window {} s · first seen {} by {}</p>"#,
        esc(&f.id),
        f.score,
        b["core"].as_array().map_or(0, Vec::len),
        b["attached"].as_array().map_or(0, Vec::len),
        b["density"].as_f64().unwrap_or_default(),
        b["mean_weight"].as_f64().unwrap_or_default(),
        b["window_s"].as_f64().unwrap_or_default(),
        esc(s(&b["first_seen"], "time")),
        esc(s(&b["first_seen"], "actor")),
    );
    h.push_str(&network_svg(&members, &edges));
    if all > members.len() {
        let _ = write!(
            h,
            r#"<p class="more">{} of {all} accounts drawn.</p>"#,
            members.len()
        );
    }
    let _ = write!(h, "<h4>Seconds between posts</h4>");
    h.push_str(&deltas_svg(&deltas));
    let _ = write!(
        h,
        "<h4>Shared keys</h4><table><tr><th>kind</th><th>key</th><th>members</th><th>posts</th><th>spread</th><th>first</th></tr>"
    );
    for k in b["shared_keys"]
        .as_array()
        .into_iter()
        .flatten()
        .take(opts.rows)
    {
        let key = s(k, "key");
        let shown = if s(k, "kind") == "link" {
            link(key, &short(key, 90))
        } else {
            esc(&short(key, 90))
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{shown}</td><td>{}</td><td>{}</td><td>{} s</td><td>{}</td></tr>",
            esc(s(k, "kind")),
            k["members"],
            k["posts"],
            k["spread_s"].as_f64().unwrap_or_default(),
            esc(s(k, "first")),
        );
    }
    let _ = write!(
        h,
        "</table><h4>Evidence</h4><table><tr><th>key</th><th>account</th><th>document</th><th>time</th><th>account</th><th>document</th><th>time</th><th>seconds apart</th></tr>"
    );
    for e in evidence.iter().take(opts.rows) {
        let _ = write!(
            h,
            "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(s(e, "kind")),
            esc(&short(s(e, "key"), 40)),
            esc(s(e, "actor_a")),
            esc(s(e, "document_a")),
            esc(s(e, "time_a")),
            esc(s(e, "actor_b")),
            esc(s(e, "document_b")),
            esc(s(e, "time_b")),
            e["delta_s"].as_f64().unwrap_or_default(),
        );
    }
    h.push_str("</table>");
    if evidence.len() > opts.rows {
        let _ = write!(
            h,
            r#"<p class="more">{} more evidence rows in edges.csv and the STIX export.</p>"#,
            evidence.len() - opts.rows
        );
    }
    h.push_str("</section>");
}

/// A narrative: its label, languages, how it spread, what it says (its representative texts),
/// the findings that cite its documents, and its members.
fn narrative(h: &mut String, f: &Finding, opts: &ReportOptions) {
    // The typed record; a body this version cannot read is shown as it is.
    let Ok(n) = serde_json::from_value::<NarrativeFinding>(f.body.clone()) else {
        raw(h, f);
        return;
    };
    let languages: Vec<String> = n
        .languages
        .iter()
        .map(|(l, c)| format!("{} {c}", esc(l)))
        .collect();
    let _ = write!(
        h,
        r#"<section class="f narrative" id="{}"><span class="score">score {:.3}</span><h3>{}</h3><p class="meta">{} documents{} · languages: {} · first seen {} by {} ({}) · last {}</p>"#,
        esc(&f.id),
        f.score,
        esc(&short(&n.label, 200)),
        n.size,
        match n.actors.len() {
            0 => String::new(),
            a => format!(" by {a} accounts"),
        },
        languages.join(", "),
        esc(&n.first_seen.time.to_rfc3339()),
        esc(n.first_seen.actor.as_deref().unwrap_or("unknown actor")),
        esc(&n.first_seen.document),
        esc(&n.last_seen.to_rfc3339()),
    );
    h.push_str("<table class=\"labels\"><tr><th>language</th><th>telling words</th></tr>");
    for (l, words) in &n.labels {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(l),
            esc(&words.join(" "))
        );
    }
    h.push_str("</table><h4>Volume</h4>");
    let times: Vec<DateTime<Utc>> = n.members.iter().map(|m| m.time).collect();
    h.push_str(&spread_svg(&times, "documents"));
    // Per language and day, once it spans days: where it was told, and when.
    let mut by_lang: BTreeMap<String, BTreeMap<chrono::NaiveDate, u64>> = BTreeMap::new();
    for m in &n.members {
        *by_lang
            .entry(m.language.clone())
            .or_default()
            .entry(m.time.date_naive())
            .or_default() += 1;
    }
    let days: std::collections::BTreeSet<chrono::NaiveDate> =
        by_lang.values().flat_map(|d| d.keys().copied()).collect();
    if days.len() >= 2 {
        h.push_str(&volume_svg("documents per day and language", &by_lang));
    }
    let per = match n.period {
        Period::Hour => ("%m-%d %H:00", "hour"),
        Period::Day => ("%Y-%m-%d", "day"),
    };
    let steps: Vec<String> = n
        .timeline
        .iter()
        .take(48)
        .map(|p| format!("{} {}", p.start.format(per.0), p.documents))
        .collect();
    let _ = write!(
        h,
        r#"<p class="meta">per {}: {}{}</p><h4>What it says</h4>"#,
        per.1,
        esc(&steps.join(", ")),
        if n.timeline.len() > steps.len() {
            " …"
        } else {
            ""
        }
    );
    for r in &n.representatives {
        let _ = write!(
            h,
            r#"<div class="txt"><b>{} · {}</b><br>{}</div>"#,
            esc(&r.document),
            esc(&r.language),
            esc(&short(&r.text, 1500))
        );
    }
    h.push_str("<h4>Linked findings</h4>");
    if n.links.is_empty() {
        h.push_str(r#"<p class="meta">No campaign, coordinated group or claim match cites its documents.</p>"#);
    } else {
        h.push_str(
            "<table class=\"links\"><tr><th>kind</th><th>finding</th><th>shared documents</th></tr>",
        );
        for l in n.links.iter().take(opts.rows) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td><a href=\"#{}\">{}</a></td><td>{}</td></tr>",
                esc(&l.kind),
                esc(&l.id),
                esc(&l.id),
                l.documents
            );
        }
        h.push_str("</table>");
        if n.links.len() > opts.rows {
            let _ = write!(
                h,
                r#"<p class="more">{} more linked findings in the STIX export.</p>"#,
                n.links.len() - opts.rows
            );
        }
    }
    h.push_str(
        "<h4>Documents</h4><table><tr><th>time</th><th>actor</th><th>language</th><th>document</th></tr>",
    );
    for m in n.members.iter().take(opts.rows) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.time.to_rfc3339()),
            esc(m.actor.as_deref().unwrap_or("")),
            esc(&m.language),
            esc(&m.document),
        );
    }
    h.push_str("</table>");
    if n.members.len() > opts.rows {
        let _ = write!(
            h,
            r#"<p class="more">{} more documents.</p>"#,
            n.members.len() - opts.rows
        );
    }
    h.push_str("</section>");
}

fn claim_table(h: &mut String, claims: &[&Finding], limit: usize) {
    if claims.is_empty() {
        return;
    }
    let _ = write!(
        h,
        r#"<table class="claims"><tr><th>score</th><th>verdict</th><th>document</th><th>text</th><th>claim</th><th>rating, reviewer</th></tr>"#
    );
    for f in claims.iter().take(limit) {
        let b = &f.body;
        let m = &b["match"];
        let verdict = s(m, "verdict");
        let doc = s(b, "document");
        let url = s(b, "url");
        let review = s(m, "review_url");
        let _ = write!(
            h,
            r#"<tr id="{}"><td>{:.3}</td><td class="verdict-{}">{}</td><td>{}<br>{}<br>{}</td><td>{}</td><td>{}</td><td>{} · {}<br>{}</td></tr>"#,
            esc(&f.id),
            f.score,
            if verdict == "match" {
                "match"
            } else {
                "suggest"
            },
            esc(verdict),
            esc(doc),
            esc(s(b, "actor")),
            link(url, &short(url, 50)),
            esc(&short(s(b, "text"), 300)),
            esc(&short(s(m, "text"), 300)),
            esc(s(m, "rating")),
            esc(s(m, "reviewer")),
            link(review, "review"),
        );
    }
    h.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_strings_stay_text() {
        assert_eq!(
            esc(r#"<script>alert("x")</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
        );
        assert_eq!(esc("' onload='x"), "&#39; onload=&#39;x");
        assert_eq!(link("javascript:alert(1)", "x"), "x");
        assert_eq!(link(" JaVaScRiPt:alert(1)", "x"), "x");
        assert_eq!(link("data:text/html,<script>", "<b>"), "&lt;b&gt;");
        assert_eq!(
            link("https://e.example/?a=\"><script>", "t"),
            r#"<a href="https://e.example/?a=&quot;&gt;&lt;script&gt;" rel="noopener noreferrer nofollow">t</a>"#
        );
    }

    #[test]
    fn diff_marks_changed_words() {
        assert_eq!(
            diff_html("the lights go off at night", "the lights go out at <night>"),
            "the lights go <del>off</del> <ins>out</ins> at <del>night</del> <ins>&lt;night&gt;</ins>"
        );
    }

    #[test]
    fn layout_is_deterministic_and_inside_the_square() {
        let edges = [(0, 1, 2.0), (1, 2, 1.0), (2, 0, 3.0), (3, 4, 1.0)];
        let a = layout(5, &edges);
        assert_eq!(a, layout(5, &edges));
        assert!(
            a.iter()
                .all(|(x, y)| (0.0..=1.0).contains(x) && (0.0..=1.0).contains(y))
        );
    }
}
