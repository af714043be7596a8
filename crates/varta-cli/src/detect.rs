//! `varta detect …`: detectors over the store, their findings stored and printed.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use std::io::Write;
use varta_detect::campaigns::{self, Detector, DocInfo, Params};
use varta_store::{EmbeddedStore, Store};

/// Finds copy-paste campaigns among the stored documents (published since `since`), stores them as
/// findings and prints them.
pub fn campaigns(
    store: &mut EmbeddedStore,
    params: Params,
    since: Option<DateTime<Utc>>,
    json: bool,
    out: &mut impl Write,
) -> Result<u8> {
    let mut detector = Detector::new(params);
    let mut read = 0u64;
    store
        .for_each_document(since, &mut |doc| {
            read += 1;
            detector.push(
                DocInfo {
                    time: doc.published_at.unwrap_or(doc.collected_at),
                    id: doc.id,
                    actor: doc.actor_id,
                    source: doc.source,
                    language: doc.language,
                },
                doc.text,
            );
            Ok(())
        })
        .context("reading documents")?;
    let found = detector.finish();
    let now = Utc::now();
    let parameters = serde_json::to_value(params)?;
    let mut findings = Vec::with_capacity(found.len());
    let mut bodies = Vec::with_capacity(found.len());
    for c in &found {
        let mut body = serde_json::to_value(c)?;
        let text = store
            .get(&c.representative)?
            .map(|d| d.text)
            .unwrap_or_default();
        body["representative_text"] = serde_json::Value::String(text);
        findings.push(varta_core::Finding {
            id: c.id.clone(),
            kind: campaigns::KIND.to_string(),
            detector: campaigns::DETECTOR.to_string(),
            parameters: parameters.clone(),
            score: c.score,
            first_seen: Some(c.first_seen.time),
            created_at: now,
            documents: c.members.iter().map(|m| m.document.clone()).collect(),
            body: body.clone(),
        });
        bodies.push(body);
    }
    store.put_findings(&findings).context("storing findings")?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&bodies)?)?;
        return Ok(0);
    }
    writeln!(
        out,
        "{} campaign{} among {read} documents (Jaccard >= {}, or a copy {}% contained; >= {} actors), stored as findings",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        params.threshold,
        (params.containment * 100.0).round(),
        params.min_actors
    )?;
    for (c, body) in found.iter().zip(&bodies) {
        let text = body["representative_text"].as_str().unwrap_or_default();
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
    Ok(0)
}
