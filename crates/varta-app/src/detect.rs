//! The detectors over the store that have no module of their own: copy-paste campaigns. (Claim
//! matching lives in [`crate::claims`], coordination in [`crate::coord`].)

use crate::{AppError, Result};
use chrono::{DateTime, Utc};
use varta_detect::campaigns::{self, Campaign, Detector, DocInfo, Params};
use varta_store::Store;

/// What `detect campaigns` found.
#[derive(Debug, Clone)]
pub struct Campaigns {
    /// Documents read.
    pub documents: u64,
    /// The campaigns, best first, each with its finding's body.
    pub found: Vec<(Campaign, serde_json::Value)>,
}

/// Finds copy-paste campaigns among the stored documents (published since `since`) and stores
/// them as findings.
pub fn campaigns(
    store: &mut impl Store,
    params: Params,
    since: Option<DateTime<Utc>>,
) -> Result<Campaigns> {
    let mut detector = Detector::new(params);
    let mut read = 0u64;
    store.for_each_document(since, &mut |doc| {
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
    })?;
    let found = detector.finish();
    let now = Utc::now();
    let json = |e: serde_json::Error| AppError::Failed(format!("a campaign's record: {e}"));
    let parameters = serde_json::to_value(params).map_err(json)?;
    let mut findings = Vec::with_capacity(found.len());
    let mut out = Vec::with_capacity(found.len());
    for c in found {
        let mut body = serde_json::to_value(&c).map_err(json)?;
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
        out.push((c, body));
    }
    store.put_findings(&findings)?;
    Ok(Campaigns {
        documents: read,
        found: out,
    })
}
