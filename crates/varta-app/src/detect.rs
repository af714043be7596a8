//! The detectors over the store that have no module of their own: copy-paste campaigns. (Claim
//! matching lives in [`crate::claims`], coordination in [`crate::coord`].)

use crate::Result;
use chrono::{DateTime, Utc};
use varta_detect::campaigns::{CampaignFinding, Detector, DocInfo, Params};
use varta_store::Store;

/// What `detect campaigns` found.
#[derive(Debug, Clone)]
pub struct Campaigns {
    /// Documents read.
    pub documents: u64,
    /// The campaigns, best first, each as its finding's record.
    pub found: Vec<CampaignFinding>,
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
    let mut findings = Vec::with_capacity(found.len());
    let mut out = Vec::with_capacity(found.len());
    for c in found {
        let text = store
            .get(&c.representative)?
            .map(|d| d.text)
            .unwrap_or_default();
        let f = CampaignFinding::new(c, text);
        findings.push(f.finding(&params, now));
        out.push(f);
    }
    store.put_findings(&findings)?;
    crate::taxii::publish_findings(store)?;
    Ok(Campaigns {
        documents: read,
        found: out,
    })
}
