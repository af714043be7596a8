//! How results look on a terminal: the text forms of search hits, documents, campaigns,
//! coordination groups and claim matches (`--json` prints the typed results instead).

use crate::Result;
use std::io::Write;
use varta_app::claims::{DetectReport, EvalReport, MatchedClaim, short};
use varta_app::coord::{Coordination, GroupFinding, rfc3339};
use varta_app::detect::Campaigns;
use varta_detect::coord::network::{Group, Params};

/// Copy-paste campaigns: JSON (`--json`) or each with its origin, spread and an excerpt.
pub fn campaigns(
    found: &Campaigns,
    params: &varta_detect::campaigns::Params,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    if json {
        // Through a Value: its keys print sorted, as they always have.
        let bodies = serde_json::to_value(&found.found)?;
        writeln!(out, "{}", serde_json::to_string_pretty(&bodies)?)?;
        return Ok(());
    }
    let read = found.documents;
    writeln!(
        out,
        "{} campaign{} among {read} documents (Jaccard >= {}, or a copy {}% contained; >= {} actors), stored as findings",
        found.found.len(),
        if found.found.len() == 1 { "" } else { "s" },
        params.threshold,
        (params.containment * 100.0).round(),
        params.min_actors
    )?;
    for f in &found.found {
        let (c, text) = (&f.campaign, f.representative_text.as_str());
        let excerpt: String = text.chars().take(160).collect();
        writeln!(
            out,
            "\n{}  score {:.2}  {} documents, {} actors, {} sources [{}]  mean Jaccard {:.2} (min {:.2})",
            c.id,
            c.score,
            c.members.len(),
            c.actors.len(),
            c.sources.len(),
            c.languages.join(", "),
            c.mean_jaccard,
            c.min_jaccard
        )?;
        writeln!(
            out,
            "  first seen {} by {} ({}), last {}",
            c.first_seen.time.to_rfc3339(),
            c.first_seen.actor.as_deref().unwrap_or("unknown actor"),
            c.first_seen.document,
            c.last_seen.to_rfc3339()
        )?;
        let spread: Vec<String> = c
            .timeline
            .iter()
            .map(|h| format!("{} {}", h.hour.format("%m-%d %H:00"), h.documents))
            .collect();
        writeln!(out, "  per hour: {}", spread.join(", "))?;
        writeln!(
            out,
            "  \"{}{}\"",
            excerpt.replace('\n', " "),
            if text.chars().count() > 160 {
                "…"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

/// Stored narratives: JSON (`--json`, each finding's record) or each with its label, spread,
/// linked findings and representative texts.
pub fn narratives(
    found: &varta_app::narratives::Detected,
    params: &varta_detect::narratives::Params,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    use varta_detect::narratives::Period;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&found.found)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} narrative{} among {} documents (join {}, merge {}, core {}, >= {} documents; {} vectors from the cache, {} texts embedded), stored as findings",
        found.found.len(),
        if found.found.len() == 1 { "" } else { "s" },
        found.documents,
        params.join,
        params.merge,
        params.core,
        params.min_members,
        found.cached,
        found.embedded
    )?;
    for n in &found.found {
        let languages: Vec<String> = n
            .languages
            .iter()
            .map(|(l, c)| format!("{l} {c}"))
            .collect();
        writeln!(
            out,
            "\n{}  score {:.2}  {} documents, {} actors [{}]",
            n.id,
            n.score,
            n.size,
            n.actors.len(),
            languages.join(", ")
        )?;
        writeln!(out, "  {}", short(&n.label, 160))?;
        writeln!(
            out,
            "  first seen {} by {} ({}), last {}",
            n.first_seen.time.to_rfc3339(),
            n.first_seen.actor.as_deref().unwrap_or("unknown actor"),
            n.first_seen.document,
            n.last_seen.to_rfc3339()
        )?;
        let (format, per) = match n.period {
            Period::Hour => ("%m-%d %H:00", "hour"),
            Period::Day => ("%Y-%m-%d", "day"),
        };
        let spread: Vec<String> = n
            .timeline
            .iter()
            .map(|p| format!("{} {}", p.start.format(format), p.documents))
            .collect();
        writeln!(out, "  per {per}: {}", spread.join(", "))?;
        if !n.links.is_empty() {
            let links: Vec<String> = n
                .links
                .iter()
                .map(|l| format!("{} {} ({} shared)", l.kind, l.id, l.documents))
                .collect();
            writeln!(out, "  linked: {}", links.join(", "))?;
        }
        for r in &n.representatives {
            writeln!(
                out,
                "    {} [{}]: {}",
                r.document,
                r.language,
                short(&r.text, 100).replace('\n', " ")
            )?;
        }
    }
    Ok(())
}

/// A coordination network's groups: JSON (`--json`) or a summary with each group's members and
/// shared keys.
/// `coord --live`: the groups the per-batch network holds at the end.
pub fn coordination_live(
    run: &varta_app::coord::LiveRun,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_value(run)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "window: {} s; {} posts in {} batches; {} groups handed out along the way",
        run.window_s, run.posts, run.batches, run.handed_out
    )?;
    writeln!(out, "{} coordinated groups", run.groups.len())?;
    for (i, g) in run.groups.iter().enumerate() {
        writeln!(
            out,
            "{:>3}. {} members (core {}), score {:.3}, first seen {}: {}",
            i + 1,
            g.members.len(),
            g.core.len(),
            g.score,
            g.first_seen.time,
            g.members.join(", ")
        )?;
    }
    Ok(())
}

pub fn coordination(
    found: &Coordination,
    params: &Params,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    if json {
        // Through a Value: its keys print sorted, as they always have.
        writeln!(out, "{}", serde_json::to_value(found.summary(params))?)?;
        return Ok(());
    }
    let c = &found.collected;
    let groups: Vec<(&Group, &GroupFinding)> = found.groups().collect();
    let net = &c.network;
    let core_edges = found.core_edges(params);
    match &net.window_estimate {
        Some(e) => writeln!(
            out,
            "window: {} s (auto: where co-shares stop growing faster than 1.5 x their organic rate, {:.3}/s at 2-5 min)",
            net.window, e.background_per_s
        )?,
        None => writeln!(out, "window: {} s", net.window)?,
    }
    writeln!(
        out,
        "{} posts by {} actors; {} keys ({} popular, discounted; {} left out); {} co-sharing pairs, {} edges of weight >= {}",
        c.posts,
        c.actor_names.len(),
        net.keys,
        net.keys_discounted,
        net.keys_left_out,
        net.co_sharing_pairs,
        core_edges,
        params.min_weight
    )?;
    writeln!(out, "{} coordinated groups", groups.len())?;
    for (i, (g, body)) in groups.iter().enumerate() {
        group(i + 1, g, body, &c.actor_names, out)?;
    }
    Ok(())
}

/// `claims match`: each claim with its score, verdict and what matched.
pub fn matched_claims(ranked: &[MatchedClaim], out: &mut impl Write) -> Result<()> {
    for x in ranked {
        writeln!(
            out,
            "{:.3} {:<7} {}  [{}] {}{}",
            x.score,
            x.verdict,
            x.claim,
            x.rating.as_deref().unwrap_or("?"),
            short(&x.text, 90),
            x.review_url
                .as_deref()
                .map(|u| format!("  <{u}>"))
                .unwrap_or_default()
        )?;
        writeln!(
            out,
            "      lexical {:.2}{}{}",
            x.lexical,
            x.semantic
                .map(|s| format!(", cosine {s:.3}"))
                .unwrap_or_default(),
            if x.shared.is_empty() {
                String::new()
            } else {
                format!(", shared: {}", x.shared.join(" "))
            }
        )?;
    }
    if ranked.is_empty() {
        writeln!(out, "no claim shares anything with this text")?;
    }
    Ok(())
}

/// `detect claims`: the counts, then each match with the claim it repeats.
pub fn detected_claims(r: &DetectReport, out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "{} documents against {} claims ({}), {} embedded, in {:.1} s: {} matches, {} suggestions",
        r.documents,
        r.claims,
        if r.semantic {
            "lexical + semantic"
        } else {
            "lexical only"
        },
        r.past_gate,
        r.seconds,
        r.matches,
        r.suggestions,
    )?;
    for r in &r.rows {
        let m = &r.matched;
        writeln!(
            out,
            "\n{} {:.3} {}  {}\n  repeats [{}] {}  <{}>",
            m.verdict.as_str(),
            f64::from(m.score),
            r.document,
            short(&r.text, 120),
            m.rating.as_deref().unwrap_or("?"),
            short(&m.text, 120),
            m.review_url.as_deref().unwrap_or(""),
        )?;
    }
    Ok(())
}

/// `claims eval`: a Markdown table, all queries then each language.
pub fn evaluation(
    r: &EvalReport,
    params: &varta_detect::claims::matcher::Params,
    out: &mut impl Write,
) -> Result<()> {
    writeln!(
        out,
        "{} claims, {} queries ({} repeat a claim), {}; suggest >= {}, match >= {}",
        r.claims,
        r.all.queries,
        r.positives,
        if r.semantic {
            "lexical + semantic"
        } else {
            "lexical only"
        },
        params.suggest,
        params.matched
    )?;
    writeln!(
        out,
        "| set | queries | recall@1 | recall@5 | MRR | false-match rate | repeats at match |"
    )?;
    writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")?;
    for (name, s) in
        std::iter::once(("all", &r.all)).chain(r.by_lang.iter().map(|(k, v)| (k.as_str(), v)))
    {
        writeln!(
            out,
            "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            s.queries, s.recall_at_1, s.recall_at_5, s.mrr, s.false_match_rate, s.matched,
        )?;
    }
    Ok(())
}

/// `search`: numbered hits with language, date, actor, snippet, id and url.
pub fn hits(hits: &[varta_store::SearchHit], out: &mut impl Write) -> Result<()> {
    if hits.is_empty() {
        writeln!(out, "no results")?;
    }
    for (i, h) in hits.iter().enumerate() {
        let when = h
            .published_at
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        writeln!(
            out,
            "{}. {} [{}] {} {}",
            i + 1,
            h.title.as_deref().unwrap_or("(untitled)"),
            h.language,
            when,
            h.actor.as_deref().unwrap_or("")
        )?;
        writeln!(out, "   {}", h.snippet)?;
        writeln!(
            out,
            "   id {}{}",
            h.id,
            h.url
                .as_deref()
                .map(|u| format!("  {u}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// `show`: one document's fields, then its text.
pub fn document(
    doc: &varta_core::Document,
    actor: Option<&varta_core::Actor>,
    out: &mut impl Write,
) -> Result<()> {
    writeln!(out, "id:           {}", doc.id)?;
    writeln!(out, "title:        {}", doc.title.as_deref().unwrap_or(""))?;
    writeln!(out, "source:       {} ({})", doc.source, doc.format)?;
    if let Some(a) = &doc.actor_id {
        let name = actor
            .and_then(|a| a.handle.clone().or(a.display_name.clone()))
            .unwrap_or_default();
        writeln!(out, "actor:        {a} {name}")?;
    }
    for (k, v) in [
        ("author", doc.author.clone()),
        ("url", doc.url.clone()),
        ("published:", doc.published_at.map(|t| t.to_rfc3339())),
        ("repost of", doc.repost_of.clone()),
        ("reply to", doc.reply_to.clone()),
        ("forwarded", doc.forwarded_from.clone()),
    ] {
        if let Some(v) = v {
            writeln!(out, "{:<13} {v}", format!("{}:", k.trim_end_matches(':')))?;
        }
    }
    writeln!(
        out,
        "language:     {} ({:.2})",
        doc.language, doc.language_confidence
    )?;
    writeln!(out, "collected:    {}", doc.collected_at.to_rfc3339())?;
    for (name, list) in [
        ("links:   ", &doc.links),
        ("hashtags:", &doc.hashtags),
        ("mentions:", &doc.mentions),
    ] {
        if !list.is_empty() {
            writeln!(out, "{name}     {}", list.join(" "))?;
        }
    }
    writeln!(out, "\n{}", doc.text)?;
    Ok(())
}

/// One coordinated group: its numbers, first appearance, members and shared keys.
fn group(
    number: usize,
    g: &Group,
    body: &GroupFinding,
    actor_names: &[String],
    out: &mut impl Write,
) -> Result<()> {
    writeln!(
        out,
        "\ngroup {} ({}): {} actors ({} attached), score {:.2}, density {:.2}, mean weight {:.1}, symmetry {:.2}",
        number,
        body.id,
        g.members.len(),
        g.attached.len(),
        g.score,
        g.density,
        g.mean_weight,
        g.mean_symmetry
    )?;
    writeln!(
        out,
        "  first seen {} by {} ({})",
        body.first_seen.time,
        body.first_seen.actor.as_deref().unwrap_or_default(),
        body.first_seen.document.as_deref().unwrap_or_default()
    )?;
    let names: Vec<&str> = g
        .members
        .iter()
        .take(12)
        .map(|&a| actor_names[a as usize].as_str())
        .collect();
    writeln!(
        out,
        "  members: {}{}",
        names.join(", "),
        if g.members.len() > 12 { ", …" } else { "" }
    )?;
    for k in g.shared_keys.iter().take(5) {
        writeln!(
            out,
            "  {} {} — {} actors within {:.0} s, {}",
            k.kind.name(),
            k.key,
            k.members,
            k.spread_s,
            rfc3339(k.first)
        )?;
    }
    Ok(())
}

/// `varta watch --status`, for a person.
pub fn watch_status(st: &varta_app::watch::Status, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "watcher: {}",
        if st.running { "running" } else { "not running" }
    )?;
    if let Some(b) = &st.last_batch {
        writeln!(
            out,
            "last batch: {} — {} documents read ({} new stored), {} findings, {} alerts queued, {:.2}s",
            b.at, b.documents, b.stored, b.findings, b.alerts, b.seconds
        )?;
    }
    writeln!(
        out,
        "alerts: {} pending, {} delivered, {} given up (dead letter)",
        st.alerts.pending, st.alerts.delivered, st.alerts.dead
    )?;
    for (id, sink, err) in &st.failing {
        writeln!(out, "  retrying {id} to {sink}: {err}")?;
    }
    writeln!(out, "sources:")?;
    for s in &st.sources {
        let health = match (&s.last_error, s.failures) {
            (Some(e), n) if n > 0 => format!("FAILING ({n}×): {e}"),
            (Some(e), _) => format!("ok, last error: {e}"),
            (None, _) => "ok".to_string(),
        };
        writeln!(
            out,
            "  {} {} — {} documents, {} polls, last ok {}, next {} — {}",
            s.kind,
            s.target,
            s.documents,
            s.polls,
            s.last_ok.as_deref().unwrap_or("never"),
            s.next_poll.as_deref().unwrap_or("-"),
            health
        )?;
    }
    Ok(())
}
