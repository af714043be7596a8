//! The conformance suite every [`Store`] implementation must pass.
//!
//! The embedded store runs it in its unit tests; a second backend (PostgreSQL) runs the same
//! functions from its own tests with the `conformance` feature on. Each check takes a factory of
//! fresh, empty stores open for writing, and panics with a message naming what disagreed.

use crate::{PageCursor, SearchQuery, Store};
use chrono::{DateTime, TimeZone, Utc};
use varta_core::{Actor, Claim, Document, Finding};

/// Every check, in turn, each on a fresh store from `fresh`.
pub fn run_all<S: Store>(mut fresh: impl FnMut() -> S) {
    put_and_get(&mut fresh());
    re_put_is_idempotent(&mut fresh());
    pages_follow_the_full_scan(&mut fresh());
    findings_replace_by_id(&mut fresh());
    search_sees_what_was_committed(&mut fresh());
    claims_and_embeddings(&mut fresh());
    check_agrees_after_writes(&mut fresh());
    tokens_and_taxii_objects(&mut fresh());
}

/// Tokens are stored once per name and revoked; TAXII objects are added once per version, one date
/// per publish, later each time, and paged in (date added, id, version) order with filters.
pub fn tokens_and_taxii_objects<S: Store>(store: &mut S) {
    let t = crate::TokenRecord {
        name: "alice".into(),
        role: "reader".into(),
        hash: [7; 32],
        created_at: at(1_700_000_000),
    };
    assert!(store.put_token(&t).expect("put_token"));
    assert!(
        !store.put_token(&t).expect("put_token again"),
        "a name once"
    );
    assert_eq!(store.tokens().expect("tokens"), vec![t]);
    assert!(store.revoke_token("alice").expect("revoke"));
    assert!(!store.revoke_token("alice").expect("revoke again"));
    assert!(store.tokens().expect("tokens").is_empty());

    let obj = |id: &str, version: &str, kind: &str| crate::TaxiiObject {
        id: id.into(),
        version: version.into(),
        kind: kind.into(),
        body: format!("{{\"id\":\"{id}\"}}"),
    };
    let first = [
        obj("b--1", "2026-01-01T00:00:00.000Z", "note"),
        obj("a--1", "2026-01-01T00:00:00.000Z", "campaign"),
    ];
    assert_eq!(store.publish("c", &first).expect("publish"), 2);
    assert_eq!(store.publish("c", &first).expect("publish again"), 0);
    assert_eq!(
        store
            .publish("c", &[obj("b--1", "2026-02-01T00:00:00.000Z", "note")])
            .expect("publish"),
        1
    );
    let page = |q: crate::TaxiiQuery| store.taxii_page(&q).expect("taxii_page");
    let all = crate::VersionMatch {
        all: true,
        ..Default::default()
    };
    let (objs, more) = page(crate::TaxiiQuery {
        collection: "c".into(),
        limit: 10,
        versions: all.clone(),
        ..Default::default()
    });
    assert!(!more);
    let order: Vec<(&str, &str)> = objs
        .iter()
        .map(|o| (o.object.id.as_str(), o.object.version.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("a--1", "2026-01-01T00:00:00.000Z"),
            ("b--1", "2026-01-01T00:00:00.000Z"),
            ("b--1", "2026-02-01T00:00:00.000Z")
        ]
    );
    assert_eq!(
        objs[0].date_added_ms, objs[1].date_added_ms,
        "one date per publish"
    );
    assert!(
        objs[2].date_added_ms > objs[1].date_added_ms,
        "later each time"
    );
    let (last, _) = page(crate::TaxiiQuery {
        collection: "c".into(),
        limit: 10,
        ..Default::default()
    });
    assert_eq!(last.len(), 2, "the last version of each by default");
    let (after, _) = page(crate::TaxiiQuery {
        collection: "c".into(),
        limit: 10,
        added_after_ms: Some(objs[0].date_added_ms),
        versions: all.clone(),
        ..Default::default()
    });
    assert_eq!(after.len(), 1, "added_after is exclusive");
    let (typed, _) = page(crate::TaxiiQuery {
        collection: "c".into(),
        limit: 10,
        types: vec!["campaign".into()],
        ..Default::default()
    });
    assert_eq!(typed.len(), 1);
    let (one, more) = page(crate::TaxiiQuery {
        collection: "c".into(),
        limit: 1,
        versions: all,
        ..Default::default()
    });
    assert!(more && one.len() == 1);
    assert!(
        page(crate::TaxiiQuery {
            collection: "other".into(),
            limit: 10,
            ..Default::default()
        })
        .0
        .is_empty()
    );
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

/// A document numbered `i`: every third undated (its collection time stands in), actors `a0`–`a2`,
/// languages alternating.
pub fn document(i: i64) -> Document {
    let text = format!("document number {i} about the harvest word{i}");
    Document {
        id: format!("d{i:04}"),
        source: "conformance".into(),
        format: varta_core::Format::Text,
        actor_id: Some(format!("a{}", i % 3)),
        native_id: Some(i.to_string()),
        url: Some(format!("https://example.org/{i}")),
        canonical_url: None,
        title: Some(format!("Title {i}")),
        author: None,
        content_hash: varta_core::stable_hash(&[&text]),
        text,
        raw: None,
        language: if i % 2 == 0 { "en" } else { "uk" }.into(),
        language_confidence: 1.0,
        published_at: (i % 3 != 0).then(|| at(1_000 * i)),
        collected_at: at(1_000 * i + 1),
        links: vec![format!("https://link.example/{}", i % 4)],
        hashtags: vec!["#tag".into()],
        mentions: Vec::new(),
        repost_of: None,
        forwarded_from: None,
        reply_to: None,
    }
}

fn actor(i: i64) -> Actor {
    Actor {
        id: format!("a{i}"),
        platform: "conformance".into(),
        handle: Some(format!("handle{i}")),
        display_name: None,
        first_seen: None,
        last_seen: None,
    }
}

fn actors() -> Vec<Actor> {
    (0..3).map(actor).collect()
}

/// Stored documents read back equal, with their actors and counts.
pub fn put_and_get<S: Store>(store: &mut S) {
    let docs: Vec<Document> = (0..10).map(document).collect();
    let outcome = store.put_batch(&docs, &actors()).expect("put_batch");
    assert_eq!(outcome.new_count(), 10, "all ten documents are new");
    for d in &docs {
        let got = store.get(&d.id).expect("get").expect("stored document");
        assert_eq!(&got, d, "document {} reads back as stored", d.id);
    }
    assert!(store.get("no-such-id").expect("get").is_none());
    let a = store
        .get_actor("a1")
        .expect("get_actor")
        .expect("stored actor");
    assert_eq!(a.handle.as_deref(), Some("handle1"));
    // Actors' times come from their stored, dated documents: a1 posted 1, 4, 7 (all dated).
    assert_eq!(a.first_seen, Some(at(1_000)));
    assert_eq!(a.last_seen, Some(at(7_000)));
    let stats = store.stats().expect("stats");
    assert_eq!(stats.documents, 10);
    assert_eq!(stats.actors, 3);
    assert_eq!(stats.languages.get("en"), Some(&5));
    let first = store.actors_page("", 2).expect("actors_page");
    assert!(!first.is_empty() && first.len() <= 2);
    if let Some(last) = first.last() {
        let rest = store.actors_page(&last.id, 100).expect("actors_page");
        assert!(rest.iter().all(|a| a.id > last.id));
    }
}

/// Putting the same documents again stores nothing and changes nothing.
pub fn re_put_is_idempotent<S: Store>(store: &mut S) {
    let docs: Vec<Document> = (0..6).map(document).collect();
    store.put_batch(&docs, &actors()).expect("put_batch");
    let before = store.stats().expect("stats");
    let again = store.put_batch(&docs, &actors()).expect("put_batch again");
    assert_eq!(
        again.inserted,
        vec![false; 6],
        "every document is a duplicate"
    );
    let mixed: Vec<Document> = (4..8).map(document).collect();
    let outcome = store.put_batch(&mixed, &actors()).expect("put_batch mixed");
    assert_eq!(outcome.inserted, vec![false, false, true, true]);
    let after = store.stats().expect("stats");
    assert_eq!(after.documents, before.documents + 2);
    assert_eq!(after.actors, before.actors);
}

/// Pages of any size, read one after another, give the full scan's documents in its order, with
/// and without `since`; an empty page ends the scan where it was.
pub fn pages_follow_the_full_scan<S: Store>(store: &mut S) {
    // Stored out of date order: the scan's order is storage order.
    let docs: Vec<Document> = (0..25).map(|i| document((i * 7) % 25)).collect();
    store.put_batch(&docs, &actors()).expect("put_batch");
    for since in [None, Some(at(12_000))] {
        let mut all = Vec::new();
        store
            .for_each_document(since, &mut |d| {
                all.push(d.id);
                Ok(())
            })
            .expect("for_each_document");
        assert!(!all.is_empty());
        if since.is_none() {
            let stored: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
            assert_eq!(all, stored, "the full scan is in storage order");
        }
        for limit in 1..=26 {
            let (mut paged, mut cursor) = (Vec::new(), PageCursor::START);
            loop {
                let (page, next) = store
                    .documents_page(since, cursor, limit)
                    .expect("documents_page");
                assert!(page.len() <= limit);
                if page.is_empty() {
                    assert_eq!(next, cursor, "an empty page stays where it was");
                    break;
                }
                paged.extend(page.into_iter().map(|d| d.id));
                cursor = next;
            }
            assert_eq!(paged, all, "pages of {limit}, since {since:?}");
        }
    }
    // The end cursor: nothing after it now, and the next document stored comes after it.
    let end = store.end_cursor().expect("end_cursor");
    let token = PageCursor::from_token(&end.token()).expect("cursor token");
    assert!(
        store
            .documents_page(None, token, 10)
            .expect("page")
            .0
            .is_empty()
    );
}

fn finding(id: &str, score: f64, body: &str, documents: &[&str]) -> Finding {
    Finding {
        id: id.into(),
        kind: "test-kind".into(),
        detector: "conformance 1".into(),
        parameters: serde_json::json!({"threshold": 0.5}),
        score,
        first_seen: Some(at(1_000)),
        created_at: at(2_000),
        documents: documents.iter().map(|d| d.to_string()).collect(),
        body: serde_json::json!({ "note": body }),
    }
}

/// A finding stored again under its id replaces the first; findings come best score first.
pub fn findings_replace_by_id<S: Store>(store: &mut S) {
    let docs: Vec<Document> = (0..3).map(document).collect();
    store.put_batch(&docs, &actors()).expect("put_batch");
    store
        .put_findings(&[
            finding("f1", 0.5, "first", &["d0000"]),
            finding("f2", 0.9, "other", &["d0001", "d0002"]),
        ])
        .expect("put_findings");
    store
        .put_findings(&[finding("f1", 0.95, "replaced", &["d0002"])])
        .expect("put_findings again");
    let all = store.findings(None).expect("findings");
    assert_eq!(all.len(), 2, "replaced, not added");
    assert_eq!(all[0].id, "f1", "best score first");
    assert_eq!(all[0].body["note"], "replaced");
    assert_eq!(all[0].documents, vec!["d0002".to_string()]);
    assert_eq!(all[1], finding("f2", 0.9, "other", &["d0001", "d0002"]));
    assert_eq!(
        store.findings(Some("test-kind")).expect("findings").len(),
        2
    );
    assert!(
        store
            .findings(Some("other-kind"))
            .expect("findings")
            .is_empty()
    );
    assert_eq!(store.finding("f2").expect("finding"), Some(all[1].clone()));
    assert_eq!(store.finding("nope").expect("finding"), None);
    // Deleted: gone with its citations; an unknown id counts nothing.
    assert_eq!(store.delete_findings(&["f2", "nope"]).expect("delete"), 1);
    assert_eq!(store.finding("f2").expect("finding"), None);
    assert_eq!(store.findings(None).expect("findings").len(), 1);
}

/// After a flush, search finds committed documents by a word, with filters.
pub fn search_sees_what_was_committed<S: Store>(store: &mut S) {
    let docs: Vec<Document> = (0..12).map(document).collect();
    store.put_batch(&docs, &actors()).expect("put_batch");
    store.flush().expect("flush");
    let q = |text: &str| SearchQuery {
        text: text.into(),
        limit: 100,
        ..Default::default()
    };
    let hits = store.search(&q("word7")).expect("search");
    assert_eq!(hits.len(), 1, "one document has word7");
    assert_eq!(hits[0].id, "d0007");
    let all = store.search(&q("")).expect("search everything");
    assert_eq!(all.len(), 12);
    let en = store
        .search(&SearchQuery {
            language: Some("en".into()),
            ..q("harvest")
        })
        .expect("search with a language");
    assert_eq!(en.len(), 6);
    let by_handle = store
        .search(&SearchQuery {
            actor: Some("HANDLE1".into()),
            ..q("")
        })
        .expect("search by actor handle");
    assert_eq!(by_handle.len(), 4, "d1, d4, d7, d10");
}

/// Claims are stored once; embeddings read back as stored, per model.
pub fn claims_and_embeddings<S: Store>(store: &mut S) {
    let claim = |n: u32| Claim {
        id: format!("c{n}"),
        text: format!("claim {n}"),
        rating: Some("False".into()),
        review_url: Some(format!("https://factcheck.example/{n}")),
        reviewer: None,
        review_date: None,
        claimant: None,
        claim_date: None,
        appearances: Vec::new(),
        languages: vec!["en".into()],
        keywords: Vec::new(),
        disproof: None,
        origin: "conformance".into(),
    };
    assert_eq!(
        store.put_claims(&[claim(1), claim(2)]).expect("put_claims"),
        2
    );
    assert_eq!(
        store.put_claims(&[claim(2), claim(3)]).expect("put_claims"),
        1
    );
    let ids: Vec<String> = store
        .claims()
        .expect("claims")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["c1", "c2", "c3"], "in the order added");
    let v = [0.25f32, -1.0, 3.5];
    store
        .put_embeddings("m1", &[("c1#claim", &v[..])])
        .expect("put_embeddings");
    let got = store
        .embeddings("m1", &["c1#claim", "c2#claim"])
        .expect("embeddings");
    assert_eq!(got, vec![Some(v.to_vec()), None]);
    assert_eq!(
        store.embeddings("m2", &["c1#claim"]).expect("embeddings"),
        vec![None],
        "another model's cache is another's"
    );
}

/// After writes and a flush, the record and the index agree.
pub fn check_agrees_after_writes<S: Store>(store: &mut S) {
    let docs: Vec<Document> = (0..9).map(document).collect();
    store.put_batch(&docs, &actors()).expect("put_batch");
    store.flush().expect("flush");
    store
        .put_findings(&[finding("f1", 0.5, "x", &["d0001"])])
        .expect("put_findings");
    let c = store.check().expect("check");
    assert!(c.ok, "{c:?}");
    assert_eq!((c.documents, c.indexed, c.findings), (9, 9, 1));
    let again = store.repair().expect("repair");
    assert_eq!(again, c, "repair of a sound store changes nothing");
}
