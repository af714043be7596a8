//! Detectors over documents: what no single post shows, but the collection does.
//!
//! `neardup` finds pairs of near-duplicate texts at corpus scale (shingles, one-permutation MinHash
//! with densification, LSH banding, exact Jaccard verification); `campaigns` groups them into
//! copy-paste campaigns with their origin and spread; `coord` builds coordination networks (who
//! shared the same thing within seconds, again and again) and finds the groups in them. All are pure
//! functions over texts and document metadata: the store and the command line feed them and keep
//! their findings.

pub mod campaigns;
pub mod claims;
pub mod coord;
pub mod neardup;
