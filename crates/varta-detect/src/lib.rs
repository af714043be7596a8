//! Detectors over documents: what no single post shows, but the collection does.
//!
//! `neardup` finds pairs of near-duplicate texts at corpus scale (shingles, one-permutation MinHash
//! with densification, LSH banding, exact Jaccard verification); `campaigns` groups them into
//! copy-paste campaigns with their origin and spread; `coord` builds coordination networks (who
//! shared the same thing within seconds, again and again) and finds the groups in them. All are pure
//! functions over texts and document metadata: the store and the command line feed them and keep
//! their findings. Each detector also defines its findings' records (`CampaignFinding`,
//! `coord::finding::GroupFinding`, `claims::finding::ClaimMatchFinding`): their kind, detector
//! name, id and JSON body live next to the code that finds them.

pub mod bursts;
pub mod campaigns;
pub mod claims;
pub mod coord;
pub mod narratives;
pub mod neardup;

/// A finding's body or parameters as JSON. The types given here are plain structs of strings,
/// numbers, times and sequences, which always serialize; `Null` stands in only for a bug, so that
/// storing findings never fails on their JSON.
pub(crate) fn json_value(v: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}
