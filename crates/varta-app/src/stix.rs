//! STIX 2.1 bundle of the stored findings, for OpenCTI, MISP and other threat-intelligence
//! platforms, with the DISARM techniques each finding evidences.
//!
//! - Varta's operator is an `identity` that creates every object.
//! - A copy-paste campaign is a `campaign`; a coordinated group an `intrusion-set` (a set of
//!   accounts acting together); a document repeating a debunked claim a `note` on the post.
//! - Accounts and channels are `user-account` observables; the posts each finding cites are
//!   `observed-data` over them (with the posts' URLs as `url` observables).
//! - A narrative is OpenCTI's custom `narrative` object (marked as OpenCTI's `new-sdo`
//!   extension, as OpenCTI writes it), `related-to` the campaigns, intrusion sets and notes that cite
//!   its documents, and to `observed-data` over its accounts. Not core STIX, but the OASIS validator
//!   (stix2-validator 3.3.2) accepts it with no error and, with the extension marker, no warning;
//!   so it is the default, and no core stand-in (a `grouping`) is needed.
//! - Techniques are the DISARM bundle's own `attack-pattern` objects (ids, names, references kept;
//!   `data/disarm.json`, made by `scripts/disarm_subset.py`), linked by `uses` (campaigns, groups) or
//!   `related-to` (notes); a campaign whose accounts are mostly a group's is `attributed-to` it.
//!
//! Ids are UUIDv5, so exporting again yields the same ids and a platform updates its objects
//! rather than duplicating them: observables by STIX's own rule (its namespace over their
//! contributing properties), the rest over the finding's id in Varta's namespace.

use crate::{AppError, Result};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use uuid::Uuid;
use varta_core::Finding;
use varta_detect::claims::finding::short;
use varta_detect::narratives::NarrativeFinding;
use varta_store::Store;

/// The DISARM objects the mapping names (CC BY-SA 4.0, DISARM Foundation).
const DISARM: &str = include_str!("../data/disarm.json");

/// OpenCTI's extension definition, which marks its own object types (`narrative`, `channel`) as
/// `new-sdo` extensions of STIX.
const OPENCTI_EXTENSION: &str = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba";

/// STIX 2.1's namespace for the ids of cyber-observable objects (spec §2.9).
const STIX_SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// Varta's namespace for the ids of the objects it derives from findings.
const VARTA_NAMESPACE: Uuid = Uuid::from_u128(0x5a6b_2c1e_7f3d_4b8a_9e10_c4d2_a7f6_3b91);

/// Which DISARM techniques a finding evidences, and why. One table, so that the mapping can be
/// read and argued with in one place.
pub const TECHNIQUES: &[(&str, &str, &str)] = &[
    (
        varta_detect::campaigns::KIND,
        "T0084.001",
        "Use Copypasta: the same text, copied and lightly edited, posted by several accounts",
    ),
    (
        varta_detect::campaigns::KIND,
        "T0119",
        "Cross-Posting (when the copies span two or more sources or platforms): one message \
         posted to several communities at once",
    ),
    (
        varta_detect::coord::finding::KIND,
        "T0049.003",
        "Bots Amplify via Automated Forwarding and Reposting (when the group reposts): accounts \
         reposting the same posts within seconds, again and again",
    ),
    (
        varta_detect::coord::finding::KIND,
        "T0049.001",
        "Trolls Amplify and Manipulate: a group of accounts pushing the same links, texts or \
         replies within seconds of each other, again and again",
    ),
    (
        varta_detect::claims::finding::KIND,
        "T0118",
        "Amplify Existing Narrative: a post repeating a claim fact-checkers have already debunked",
    ),
];

/// Options of an export.
#[derive(Clone, Debug)]
pub struct StixOptions {
    /// The organisation running Varta, named in the `identity` that creates every object.
    pub operator: String,
    /// Include claim matches that are only suggestions (confidence 50 instead of 85).
    pub suggestions: bool,
}

impl Default for StixOptions {
    fn default() -> Self {
        StixOptions {
            operator: "Varta".into(),
            suggestions: false,
        }
    }
}

/// What the bundle holds.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct StixSummary {
    pub objects: usize,
    pub campaigns: usize,
    pub intrusion_sets: usize,
    pub notes: usize,
    pub narratives: usize,
    pub accounts: usize,
    pub relationships: usize,
    pub techniques: usize,
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn sdo_id(kind: &str, name: &str) -> String {
    format!(
        "{kind}--{}",
        Uuid::new_v5(&VARTA_NAMESPACE, name.as_bytes())
    )
}

/// The technique objects by DISARM id (`T0084.001`).
fn disarm() -> Result<(Vec<Value>, BTreeMap<String, Value>)> {
    let v: Value = serde_json::from_str(DISARM)
        .map_err(|e| AppError::Failed(format!("the embedded DISARM objects: {e}")))?;
    let mut support = Vec::new();
    let mut techniques = BTreeMap::new();
    for o in v["objects"].as_array().into_iter().flatten() {
        if o["type"] == "attack-pattern" {
            let ext = o["external_references"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|r| r["external_id"].as_str());
            if let Some(e) = ext {
                techniques.insert(e.to_string(), o.clone());
            }
        } else {
            support.push(o.clone());
        }
    }
    Ok((support, techniques))
}

struct Builder {
    operator: String,
    created: String,
    objects: BTreeMap<String, Value>,
    summary: StixSummary,
    used: BTreeSet<String>,
    techniques: BTreeMap<String, Value>,
}

impl Builder {
    fn add(&mut self, o: Value) -> String {
        let id = o["id"].as_str().unwrap_or_default().to_string();
        self.objects.entry(id.clone()).or_insert(o);
        id
    }

    /// A `user-account` for a Varta actor id (`platform:native`).
    fn account(&mut self, actor: &str) -> String {
        let (platform, native) = actor.split_once(':').unwrap_or(("", actor));
        // The platform when Varta knows it; a generic file's actors (`csv:`, `cnt-csv:`, `site:`)
        // name Varta's reader, not a platform, and go without.
        let account_type = match platform {
            "x" | "twitter" => Some("twitter"),
            "telegram" => Some("telegram"),
            "facebook" | "fb" => Some("facebook"),
            _ => None,
        };
        let user_id = if account_type.is_some() {
            native
        } else {
            actor
        };
        let mut contributing = BTreeMap::new();
        if let Some(t) = account_type {
            contributing.insert("account_type", t);
        }
        contributing.insert("user_id", user_id);
        let canonical = serde_json::to_string(&contributing).unwrap_or_default();
        let id = format!(
            "user-account--{}",
            Uuid::new_v5(&STIX_SCO_NAMESPACE, canonical.as_bytes())
        );
        if !self.objects.contains_key(&id) {
            self.summary.accounts += 1;
        }
        let mut o = json!({
            "type": "user-account",
            "spec_version": "2.1",
            "id": id,
            "user_id": user_id,
            "account_login": native,
        });
        if let Some(t) = account_type {
            o["account_type"] = t.into();
        }
        self.add(o)
    }

    fn url(&mut self, u: &str) -> Option<String> {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return None;
        }
        let canonical = serde_json::to_string(&json!({"value": u})).unwrap_or_default();
        let id = format!(
            "url--{}",
            Uuid::new_v5(&STIX_SCO_NAMESPACE, canonical.as_bytes())
        );
        Some(self.add(json!({"type": "url", "spec_version": "2.1", "id": id, "value": u})))
    }

    fn relationship(&mut self, kind: &str, source: &str, target: &str, description: &str) {
        let id = sdo_id("relationship", &format!("{kind}|{source}|{target}"));
        if self.objects.contains_key(&id) {
            return;
        }
        self.summary.relationships += 1;
        let o = json!({
            "type": "relationship",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": self.operator,
            "created": self.created,
            "modified": self.created,
            "relationship_type": kind,
            "source_ref": source,
            "target_ref": target,
            "description": description,
        });
        self.add(o);
    }

    fn technique(
        &mut self,
        finding_kind: &str,
        source: &str,
        rel: &str,
        which: impl Fn(&str) -> bool,
    ) {
        for &(kind, ext, why) in TECHNIQUES {
            if kind != finding_kind || !which(ext) {
                continue;
            }
            let Some(t) = self.techniques.get(ext).cloned() else {
                continue;
            };
            let tid = t["id"].as_str().unwrap_or_default().to_string();
            if self.used.insert(ext.to_string()) {
                self.add(t);
            }
            self.relationship(rel, source, &tid, why);
        }
    }

    /// `observed-data` over the accounts (and post URLs) a finding cites.
    fn observed(
        &mut self,
        finding: &Finding,
        first: &str,
        last: &str,
        count: usize,
        refs: Vec<String>,
    ) -> Option<String> {
        if refs.is_empty() {
            return None;
        }
        let id = sdo_id("observed-data", &finding.id);
        Some(self.add(json!({
            "type": "observed-data",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": self.operator,
            "created": self.created,
            "modified": self.created,
            "first_observed": first,
            "last_observed": last,
            "number_observed": count.max(1),
            "object_refs": refs,
            "external_references": [{"source_name": "varta", "external_id": finding.id}],
        })))
    }
}

/// A time from a finding body ("2024-03-02T07:14:05Z"), as STIX writes timestamps.
fn body_time(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| ts(t.with_timezone(&chrono::Utc)))
}

/// Builds the bundle of every stored finding.
pub fn bundle(store: &impl Store, opts: &StixOptions) -> Result<(Value, StixSummary)> {
    let (support, techniques) = disarm()?;
    let findings = store.findings(None)?;
    let created = findings
        .iter()
        .map(|f| f.created_at)
        .max()
        .map(ts)
        .unwrap_or_else(|| ts(chrono::DateTime::UNIX_EPOCH));
    let operator = sdo_id("identity", &format!("operator|{}", opts.operator));
    let mut b = Builder {
        operator: operator.clone(),
        created: created.clone(),
        objects: BTreeMap::new(),
        summary: StixSummary::default(),
        used: BTreeSet::new(),
        techniques,
    };
    b.add(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": operator,
        "created": created,
        "modified": created,
        "name": opts.operator,
        "identity_class": "organization",
        "description": "Runs Varta, an early-warning system for information operations.",
    }));
    // Groups first: campaigns are attributed to them.
    let mut groups: Vec<(String, BTreeSet<String>)> = Vec::new();
    for f in findings
        .iter()
        .filter(|f| f.kind == varta_detect::coord::finding::KIND)
    {
        let members: BTreeSet<String> = f.body["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
        let id = sdo_id("intrusion-set", &f.id);
        let keys: Vec<String> = f.body["shared_keys"]
            .as_array()
            .into_iter()
            .flatten()
            .take(5)
            .filter_map(|k| {
                Some(format!(
                    "{} {}",
                    k["kind"].as_str()?,
                    short(k["key"].as_str()?, 80)
                ))
            })
            .collect();
        let first = body_time(&f.body["first_seen"]["time"]);
        let mut o = json!({
            "type": "intrusion-set",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": b.operator,
            "created": created,
            "modified": created,
            "name": format!("Coordinated group of {} accounts ({})", members.len(), f.id),
            "description": format!(
                "{} accounts that shared the same keys within seconds of each other, again and again (score {:.3}). Shared: {}.",
                members.len(), f.score, keys.join("; ")
            ),
            "confidence": 85,
            "external_references": [{"source_name": "varta", "external_id": f.id}],
        });
        if let Some(t) = &first {
            o["first_seen"] = t.clone().into();
        }
        b.add(o);
        b.summary.intrusion_sets += 1;
        let reposts = keys.iter().any(|k| k.starts_with("repost"));
        b.technique(varta_detect::coord::finding::KIND, &id, "uses", |t| {
            t != "T0049.003" || reposts
        });
        let mut refs = Vec::new();
        for m in &members {
            let a = b.account(m);
            b.relationship("related-to", &id, &a, "a member of the group");
            refs.push(a);
        }
        let evidence = f.body["evidence"].as_array().map_or(0, Vec::len);
        let times: Vec<String> = f.body["evidence"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|e| [body_time(&e["time_a"]), body_time(&e["time_b"])])
            .flatten()
            .collect();
        let (lo, hi) = (
            times.iter().min().cloned().or(first.clone()),
            times.iter().max().cloned().or(first.clone()),
        );
        if let (Some(lo), Some(hi)) = (lo, hi)
            && let Some(od) = b.observed(f, &lo, &hi, evidence, refs)
        {
            b.relationship("related-to", &id, &od, "the co-shares that make the group");
        }
        groups.push((id, members));
    }
    for f in findings
        .iter()
        .filter(|f| f.kind == varta_detect::campaigns::KIND)
    {
        let id = sdo_id("campaign", &f.id);
        let text = f.body["representative_text"].as_str().unwrap_or_default();
        let actors: BTreeSet<String> = f.body["actors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        let sources: BTreeSet<&str> = f.body["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["source"].as_str())
            .collect();
        let members = f.body["members"].as_array().map_or(0, Vec::len);
        let (first, last) = (
            body_time(&f.body["first_seen"]["time"]),
            body_time(&f.body["last_seen"]),
        );
        let mut o = json!({
            "type": "campaign",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": b.operator,
            "created": created,
            "modified": created,
            "name": format!("Copy-paste campaign: {}", short(text, 80)),
            "description": format!(
                "{members} copies of one text by {} accounts from {} sources (score {:.3}): {}",
                actors.len(), sources.len(), f.score, short(text, 500)
            ),
            "confidence": 85,
            "external_references": [{"source_name": "varta", "external_id": f.id}],
        });
        if let Some(t) = &first {
            o["first_seen"] = t.clone().into();
        }
        if let Some(t) = &last {
            o["last_seen"] = t.clone().into();
        }
        b.add(o);
        b.summary.campaigns += 1;
        let cross = sources.len() >= 2;
        b.technique(varta_detect::campaigns::KIND, &id, "uses", |t| {
            t != "T0119" || cross
        });
        let mut refs = Vec::new();
        for a in &actors {
            refs.push(b.account(a));
        }
        if let (Some(lo), Some(hi)) = (first.clone(), last.clone().or(first.clone()))
            && let Some(od) = b.observed(f, &lo, &hi, members, refs)
        {
            b.relationship("related-to", &id, &od, "the copies");
        }
        for (gid, gm) in &groups {
            let shared = actors.iter().filter(|a| gm.contains(*a)).count();
            if shared * 2 > actors.len() && shared >= 2 {
                b.relationship(
                    "attributed-to",
                    &id,
                    gid,
                    "most of the campaign's accounts are members of the group",
                );
            }
        }
    }
    for f in findings
        .iter()
        .filter(|f| f.kind == varta_detect::claims::finding::KIND)
    {
        let m = &f.body["match"];
        let verdict = m["verdict"].as_str().unwrap_or_default();
        if verdict != "match" && !(opts.suggestions && verdict == "suggest") {
            continue;
        }
        let Some(actor) = f.body["actor"].as_str() else {
            continue;
        };
        let account = b.account(actor);
        let mut refs = vec![account];
        if let Some(u) = f.body["url"].as_str().and_then(|u| b.url(u)) {
            refs.push(u);
        }
        let when = body_time(&f.body["published_at"]).unwrap_or_else(|| created.clone());
        let Some(od) = b.observed(f, &when, &when, 1, refs) else {
            continue;
        };
        let id = sdo_id("note", &f.id);
        let mut refs = vec![json!({"source_name": "varta", "external_id": f.id})];
        if let Some(u) = m["review_url"].as_str().filter(|u| u.starts_with("http")) {
            let mut r =
                json!({"source_name": m["reviewer"].as_str().unwrap_or("fact-check"), "url": u});
            if let Some(d) = m["text"].as_str() {
                r["description"] = short(d, 300).into();
            }
            refs.push(r);
        }
        b.add(json!({
            "type": "note",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": b.operator,
            "created": created,
            "modified": created,
            "abstract": format!("Repeats a debunked claim ({verdict})"),
            "content": format!(
                "The post repeats a claim {} rated {:?}: {}\n\nPost: {}",
                m["reviewer"].as_str().unwrap_or("a fact-checker"),
                m["rating"].as_str().unwrap_or("false"),
                short(m["text"].as_str().unwrap_or_default(), 500),
                short(f.body["text"].as_str().unwrap_or_default(), 500),
            ),
            "confidence": if verdict == "match" { 85 } else { 50 },
            "object_refs": [od],
            "external_references": refs,
        }));
        b.summary.notes += 1;
        b.technique(
            varta_detect::claims::finding::KIND,
            &id,
            "related-to",
            |_| true,
        );
    }
    for f in findings
        .iter()
        .filter(|f| f.kind == varta_detect::narratives::KIND)
    {
        narrative(&mut b, f);
    }
    let mut objects: Vec<Value> = support;
    b.summary.techniques = b.used.len();
    objects.extend(b.objects.into_values());
    b.summary.objects = objects.len();
    // The bundle's id names what it holds, so the same findings give the same bundle.
    let ids: Vec<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    let bundle = json!({
        "type": "bundle",
        "id": sdo_id("bundle", &ids.join(",")),
        "objects": objects,
    });
    Ok((bundle, b.summary))
}

/// A narrative as OpenCTI's `narrative`, related to what the bundle holds of the findings it
/// links (a claim match that is only a suggestion has no note unless suggestions are exported).
fn narrative(b: &mut Builder, f: &Finding) {
    // A record this version cannot read is left out rather than exported half.
    let Ok(n) = serde_json::from_value::<NarrativeFinding>(f.body.clone()) else {
        return;
    };
    let id = sdo_id("narrative", &f.id);
    let languages: Vec<String> = n
        .languages
        .iter()
        .map(|(l, c)| format!("{l} {c}"))
        .collect();
    let texts: Vec<String> = n
        .representatives
        .iter()
        .map(|r| format!("[{}] {}", r.language, short(&r.text, 300)))
        .collect();
    let first = ts(n.first_seen.time);
    let last = ts(n.last_seen);
    b.add(json!({
        "type": "narrative",
        "spec_version": "2.1",
        "id": id,
        "created_by_ref": b.operator,
        "created": b.created,
        "modified": b.created,
        // OpenCTI names a narrative by its name: the finding's id keeps two of them apart.
        "name": format!("{} ({})", short(&n.label, 80), f.id),
        "description": format!(
            "{} documents by {} accounts in {} (score {:.3}), first seen {first}, last {last}. Telling words: {}.\n\n{}",
            n.size,
            n.actors.len(),
            languages.join(", "),
            f.score,
            n.label,
            texts.join("\n\n"),
        ),
        "external_references": [{"source_name": "varta", "external_id": f.id}],
        "extensions": {OPENCTI_EXTENSION: {"extension_type": "new-sdo"}},
    }));
    b.summary.narratives += 1;
    for l in &n.links {
        let (target, why) = match l.kind.as_str() {
            varta_detect::campaigns::KIND => (
                sdo_id("campaign", &l.id),
                "a copy-paste campaign copies documents that tell the narrative",
            ),
            varta_detect::coord::finding::KIND => (
                sdo_id("intrusion-set", &l.id),
                "a coordinated group pushed documents that tell the narrative",
            ),
            varta_detect::claims::finding::KIND => (
                sdo_id("note", &l.id),
                "a document that tells the narrative repeats a debunked claim",
            ),
            _ => continue,
        };
        if b.objects.contains_key(&target) {
            b.relationship(
                "related-to",
                &id,
                &target,
                &format!("{why} ({} shared)", l.documents),
            );
        }
    }
    let refs: Vec<String> = n.actors.iter().map(|a| b.account(a)).collect();
    if let Some(od) = b.observed(f, &first, &last, n.size, refs) {
        b.relationship("related-to", &id, &od, "the accounts that told it");
    }
}

/// Writes the bundle as JSON.
pub fn write(store: &impl Store, opts: &StixOptions, out: &mut dyn Write) -> Result<StixSummary> {
    let (bundle, summary) = bundle(store, opts)?;
    serde_json::to_writer_pretty(&mut *out, &bundle)
        .map_err(|e| AppError::Failed(format!("writing the STIX bundle: {e}")))?;
    writeln!(out).map_err(|source| AppError::Io {
        what: "writing the STIX bundle".into(),
        source,
    })?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observable_ids_follow_the_stix_rule() {
        // STIX 2.1 §2.9: UUIDv5 in the SCO namespace over the canonical JSON of the
        // contributing properties; the spec's example for a url.
        let canonical = r#"{"value":"https://example.com/"}"#;
        let id = Uuid::new_v5(&STIX_SCO_NAMESPACE, canonical.as_bytes());
        assert_eq!(id.get_version_num(), 5);
        let again = Uuid::new_v5(&STIX_SCO_NAMESPACE, canonical.as_bytes());
        assert_eq!(id, again);
    }

    #[test]
    fn every_mapped_technique_is_embedded() {
        let (support, techniques) = disarm().unwrap();
        assert_eq!(support.len(), 2);
        for (_, ext, _) in TECHNIQUES {
            let t = techniques.get(*ext).expect(ext);
            assert!(
                t["kill_chain_phases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|p| p["kill_chain_name"] == "disarm")
            );
        }
    }
}
