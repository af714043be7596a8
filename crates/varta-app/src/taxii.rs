//! What the TAXII 2.1 feed serves: three collections, and the jobs that keep them current.
//!
//! A collection is stored, not computed per request: TAXII clients page by the time each object
//! was added, and that time must not change when the bundle is rebuilt. After a detector runs,
//! [`publish_findings`] rebuilds the STIX bundle `varta export stix` writes and adds the objects
//! that are new or say something else than their last version (as a new version); unchanged ones
//! are not sent again. [`publish_claims`] does the same for the claims database.

use crate::Result;
use crate::stix::{self, StixOptions};
use serde_json::{Value, json};
use uuid::Uuid;
use varta_store::{Store, TaxiiObject};

/// A collection of the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collection {
    /// The name the store files its objects under, also accepted in URLs.
    pub name: &'static str,
    /// The collection's TAXII id (a UUID, fixed).
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
}

/// The feed's collections, all read-only to clients.
pub const COLLECTIONS: [Collection; 3] = [
    Collection {
        name: "findings",
        id: "5d1c0f6e-6a3e-5b1e-9a57-5e1c6b0f0a01",
        title: "findings",
        description: "Varta's findings as `varta export stix` writes them: campaigns, coordinated groups (intrusion sets), repeated debunked claims, the accounts and posts they cite, and the DISARM techniques they use.",
    },
    Collection {
        name: "claims",
        id: "5d1c0f6e-6a3e-5b1e-9a57-5e1c6b0f0a02",
        title: "claims",
        description: "The claims database: each reviewed claim as a STIX note about its reviewer.",
    },
    Collection {
        name: "alerts",
        id: "5d1c0f6e-6a3e-5b1e-9a57-5e1c6b0f0a03",
        title: "alerts",
        description: "Alerts raised by watch rules, as STIX sightings (empty until alerts exist).",
    },
];

/// The collection an id or name names.
pub fn collection(id_or_name: &str) -> Option<&'static Collection> {
    COLLECTIONS
        .iter()
        .find(|c| c.id == id_or_name || c.name == id_or_name)
}

/// A STIX object as a stored collection entry: its version is its `modified`, else `created`,
/// else empty (observables have neither; TAXII then reports the date added as the version).
pub fn entry(o: &Value) -> Option<TaxiiObject> {
    let id = o.get("id")?.as_str()?.to_string();
    let kind = o.get("type")?.as_str()?.to_string();
    let version = o
        .get("modified")
        .or_else(|| o.get("created"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Some(TaxiiObject {
        id,
        version,
        kind,
        body: o.to_string(),
    })
}

/// What an object says, without when: its JSON without `created` and `modified`.
fn content_key(o: &Value) -> blake3::Hash {
    let mut o = o.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("created");
        m.remove("modified");
    }
    blake3::hash(o.to_string().as_bytes())
}

/// The objects among `objects` that say something the collection's last version of them does
/// not: a bundle rebuilt after a detector run re-dates every object, and a feed that re-sent
/// every unchanged one as a new version would grow by the whole bundle at every run (and so
/// would every client's copy).
fn changed(store: &impl Store, collection: &str, objects: &[Value]) -> Result<Vec<TaxiiObject>> {
    let mut last: std::collections::HashMap<String, (blake3::Hash, String)> = Default::default();
    let mut after = None;
    loop {
        let (page, more) = store.taxii_page(&varta_store::TaxiiQuery {
            collection: collection.to_string(),
            after: after.clone(),
            limit: 10_000,
            ..Default::default()
        })?;
        for o in &page {
            if let Ok(v) = serde_json::from_str::<Value>(&o.object.body) {
                last.insert(
                    o.object.id.clone(),
                    (content_key(&v), o.object.version.clone()),
                );
            }
        }
        match page.last() {
            Some(o) if more => {
                after = Some(varta_store::TaxiiCursor {
                    date_added_ms: o.date_added_ms,
                    id: o.object.id.clone(),
                    version: o.object.version.clone(),
                })
            }
            _ => break,
        }
    }
    let mut out = Vec::new();
    for o in objects {
        let id = o.get("id").and_then(Value::as_str).unwrap_or("");
        match last.get(id) {
            Some((key, _)) if *key == content_key(o) => {}
            Some((_, version)) => {
                // A change within the second of the last version (findings are dated to the
                // second) still needs a later version, or it would be taken for the same one.
                let mut o = o.clone();
                let mine = o.get("modified").and_then(Value::as_str).unwrap_or("");
                if !mine.is_empty()
                    && mine <= version.as_str()
                    && let Ok(t) = chrono::DateTime::parse_from_rfc3339(version)
                {
                    let later = (t + chrono::Duration::milliseconds(1))
                        .with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    o["modified"] = Value::String(later);
                }
                out.extend(entry(&o));
            }
            None => out.extend(entry(o)),
        }
    }
    Ok(out)
}

/// Adds to `findings` the objects of the current findings bundle that are new or changed;
/// returns how many.
pub fn publish_findings(store: &mut impl Store) -> Result<usize> {
    let (bundle, _) = stix::bundle(&*store, &StixOptions::default())?;
    let all: Vec<Value> = bundle["objects"].as_array().cloned().unwrap_or_default();
    let objects = changed(&*store, "findings", &all)?;
    let n = store.publish("findings", &objects)?;
    tracing::info!(new = n, of = all.len(), "published findings to TAXII");
    Ok(n)
}

const CLAIMS_NAMESPACE: Uuid = Uuid::from_u128(0x9b1f_3c2a_5d4e_4f60_8a71_b2c3_d4e5_f607);

/// The claims database as STIX: a `note` per claim, about an `identity` per reviewer.
pub fn claims_objects(store: &impl Store) -> Result<Vec<Value>> {
    let ts =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut out = Vec::new();
    let mut reviewers = std::collections::BTreeSet::new();
    for c in store.claims()? {
        let reviewer = c
            .reviewer
            .clone()
            .unwrap_or_else(|| "unknown reviewer".into());
        let rid = format!(
            "identity--{}",
            Uuid::new_v5(&CLAIMS_NAMESPACE, format!("reviewer|{reviewer}").as_bytes())
        );
        if reviewers.insert(rid.clone()) {
            out.push(json!({
                "type": "identity", "spec_version": "2.1", "id": rid,
                "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
                "name": reviewer, "identity_class": "organization",
            }));
        }
        let when = ts(c.review_date.unwrap_or(chrono::DateTime::UNIX_EPOCH));
        let mut note = json!({
            "type": "note", "spec_version": "2.1",
            "id": format!("note--{}", Uuid::new_v5(&CLAIMS_NAMESPACE, c.id.as_bytes())),
            "created": when, "modified": when,
            "abstract": c.rating.clone().unwrap_or_else(|| "reviewed claim".into()),
            "content": c.text,
            "authors": [reviewer],
            "object_refs": [rid],
            "labels": ["debunked-claim"],
        });
        if let Some(url) = c.review_url.as_deref().filter(|u| !u.is_empty()) {
            note["external_references"] = json!([{"source_name": "review", "url": url}]);
        }
        if let Some(l) = c.languages.first() {
            note["lang"] = json!(l);
        }
        out.push(note);
    }
    Ok(out)
}

/// Adds the claims database's new or changed objects to `claims`; returns how many.
pub fn publish_claims(store: &mut impl Store) -> Result<usize> {
    let all = claims_objects(&*store)?;
    let objects = changed(&*store, "claims", &all)?;
    let n = store.publish("claims", &objects)?;
    tracing::info!(new = n, of = all.len(), "published claims to TAXII");
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use varta_store::{EmbeddedStore, TaxiiCursor, TaxiiQuery, VersionMatch, Wait};

    fn obj(id: &str, version: &str) -> TaxiiObject {
        TaxiiObject {
            id: id.into(),
            version: version.into(),
            kind: "note".into(),
            body: format!(r#"{{"id":"{id}"}}"#),
        }
    }

    #[test]
    fn pages_never_repeat_or_skip_while_objects_are_added() {
        let dir = tempfile::tempdir().unwrap();
        let mut s =
            EmbeddedStore::open_write(dir.path(), Default::default(), "t", Wait::No).unwrap();
        let first: Vec<_> = (0..50)
            .map(|i| obj(&format!("note--{i:03}"), "v1"))
            .collect();
        assert_eq!(s.publish("findings", &first).unwrap(), 50);
        assert_eq!(
            s.publish("findings", &first).unwrap(),
            0,
            "republishing adds nothing"
        );
        let mut seen = Vec::new();
        let mut after: Option<TaxiiCursor> = None;
        let mut round = 0;
        loop {
            let (page, more) = s
                .taxii_page(&TaxiiQuery {
                    collection: "findings".into(),
                    after: after.clone(),
                    limit: 7,
                    versions: VersionMatch {
                        all: true,
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .unwrap();
            if let Some(last) = page.last() {
                after = Some(TaxiiCursor {
                    date_added_ms: last.date_added_ms,
                    id: last.object.id.clone(),
                    version: last.object.version.clone(),
                });
            }
            seen.extend(
                page.iter()
                    .map(|o| (o.object.id.clone(), o.object.version.clone())),
            );
            round += 1;
            if round == 3 {
                // Written while a client pages: new objects sort before some unseen ones by id,
                // but after all by date added.
                s.publish(
                    "findings",
                    &[obj("note--000", "v2"), obj("note--005b", "v1")],
                )
                .unwrap();
            }
            if !more {
                break;
            }
        }
        assert_eq!(seen.len(), 52);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 52);
        // By default only the last version of each object is served.
        let (last, _) = s
            .taxii_page(&TaxiiQuery {
                collection: "findings".into(),
                ids: vec!["note--000".into()],
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].object.version, "v2");
        assert!(last[0].date_added_ms > seen.len() as i64);
    }
}
