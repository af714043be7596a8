//! Narratives: documents grouped by what they say, across languages ([`varta_detect::narratives`]).
//!
//! - [`run`] (`varta narratives FILE.jsonl`): narratives in a file of texts, without a store.
//!   Reads `{"id", "text"}` lines (optional `"time"`, RFC 3339, and `"lang"`), embeds each text
//!   with e5, clusters them and returns each narrative with its label, members, representative
//!   texts, languages, first seen and volume per day.
//! - [`detect`] (`varta detect narratives`): the same over the stored documents, their vectors
//!   from the store's embedding cache (the one `detect claims` fills: same model, same prefix),
//!   each narrative stored as a `narrative` finding linked to the campaigns, coordinated groups
//!   and claim matches that cite its documents.
//! - [`join_after`] (the watcher, between two runs of [`detect`]): the documents stored after a
//!   cursor join the narratives of the last run or split off new ones
//!   ([`varta_detect::narratives::live`]), and the findings grow.

use crate::claims::VectorCache;
use crate::{AppError, Notice, Observer, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use varta_detect::claims::matcher::Embedder;
use varta_detect::narratives::live::{Doc as LiveDoc, Model, Placed};
use varta_detect::narratives::{
    DocInfo, Item, Linker, Member, Narrative, NarrativeFinding, Params, cluster, narrative_id,
};
use varta_ingest::{BoundedLines, LineItem};
use varta_store::{PageCursor, Store};

/// One narrative as printed.
#[derive(Debug, Clone, Serialize)]
pub struct NarrativeOut {
    pub id: String,
    /// The most telling words, language by language (`uk: …; ru: …; en: …`).
    pub label: String,
    pub labels: BTreeMap<String, Vec<String>>,
    /// The input ids, in input order.
    pub members: Vec<String>,
    pub size: usize,
    /// Up to three members closest to the narrative's centre: ids and texts.
    pub representatives: Vec<Representative>,
    pub languages: BTreeMap<String, usize>,
    pub first_seen: Option<DateTime<Utc>>,
    /// Members per day (UTC), for dated inputs.
    pub timeline: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Representative {
    pub id: String,
    pub text: String,
}

struct Doc {
    id: String,
    text: String,
    lang: String,
    time: Option<DateTime<Utc>>,
}

fn parse(bytes: &[u8]) -> std::result::Result<Doc, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let id = match &v["id"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err("no \"id\" (a string or a number)".into()),
    };
    let text = v["text"].as_str().ok_or("no \"text\" string")?.to_string();
    let time = match v.get("time").and_then(|t| t.as_str()) {
        None => None,
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|e| format!("\"time\" {t:?}: {e}"))?
                .with_timezone(&Utc),
        ),
    };
    let lang = match v.get("lang").and_then(|l| l.as_str()) {
        Some(l) if !l.is_empty() => l.to_string(),
        _ => varta_text::lang::identify(&text).lang.to_string(),
    };
    Ok(Doc {
        id,
        text,
        lang,
        time,
    })
}

/// Narratives of the texts in `input`, largest first. With `live_from`, as the watcher finds
/// them: the texts dated before it clustered at once, the others placed one by one in time order
/// ([`varta_detect::narratives::live`]).
pub fn run(
    input: &Path,
    embedder: &dyn Embedder,
    params: &Params,
    live_from: Option<DateTime<Utc>>,
    max_line: usize,
    observer: &dyn Observer,
) -> Result<Vec<NarrativeOut>> {
    let name = input.display().to_string();
    let file = std::fs::File::open(input).map_err(AppError::io(format!("opening {name}")))?;
    let mut lines = BoundedLines::new(std::io::BufReader::new(file), max_line);
    let mut docs = Vec::new();
    while let Some(item) = lines
        .next_item()
        .map_err(AppError::io(format!("reading {name}")))?
    {
        let fail = |line: u64, message: String| {
            observer.notice(Notice::RecordFailed(varta_ingest::RecordError {
                file: format!("{name}:{line}"),
                record: None,
                message,
            }))
        };
        match item {
            LineItem::Record { line, bytes } => {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match parse(&bytes) {
                    Ok(d) if d.text.trim().is_empty() => fail(line, "the text is empty".into()),
                    Ok(d) => docs.push(d),
                    Err(m) => fail(line, m),
                }
            }
            LineItem::TooLong { line, len } => fail(
                line,
                format!("{len} bytes, over the record limit of {max_line}"),
            ),
        }
    }
    if docs.is_empty() {
        return Err(AppError::NothingRead(format!(
            "{name}: no text could be read"
        )));
    }
    let progress = observer.start("embedding texts", Some(docs.len() as u64));
    let mut vectors = Vec::with_capacity(docs.len());
    for chunk in docs.chunks(64) {
        let texts: Vec<&str> = chunk.iter().map(|d| d.text.as_str()).collect();
        let got = embedder.embed(&texts).map_err(|source| AppError::Embed {
            what: format!("embedding the texts of {name}"),
            source,
        })?;
        progress.inc(chunk.len() as u64);
        vectors.extend(got);
    }
    progress.finish();
    let items: Vec<Item<'_>> = docs
        .iter()
        .zip(&vectors)
        .map(|(d, v)| Item {
            text: &d.text,
            lang: &d.lang,
            time: d.time.map(|t| t.timestamp()),
            vector: v,
        })
        .collect();
    let found = match live_from {
        None => cluster(&items, params),
        Some(from) => live(&items, &docs, params, from),
    };
    Ok(found
        .into_iter()
        .map(|n| {
            let mut languages = BTreeMap::new();
            let mut timeline = BTreeMap::new();
            for &m in &n.members {
                *languages.entry(docs[m].lang.clone()).or_insert(0) += 1;
                if let Some(t) = docs[m].time {
                    *timeline
                        .entry(t.format("%Y-%m-%d").to_string())
                        .or_insert(0) += 1;
                }
            }
            let first = n
                .members
                .iter()
                .min_by_key(|&&m| (docs[m].time, m))
                .copied()
                .unwrap_or(0);
            let label = n
                .labels
                .iter()
                .map(|(l, w)| format!("{l}: {}", w.join(" ")))
                .collect::<Vec<_>>()
                .join("; ");
            NarrativeOut {
                id: format!(
                    "narrative:{}",
                    &varta_core::stable_hash(&["narrative", &docs[first].id])[..16]
                ),
                label,
                labels: n.labels,
                size: n.members.len(),
                members: n.members.iter().map(|&m| docs[m].id.clone()).collect(),
                representatives: n
                    .representatives
                    .iter()
                    .map(|&m| Representative {
                        id: docs[m].id.clone(),
                        text: docs[m].text.clone(),
                    })
                    .collect(),
                languages,
                first_seen: docs[first].time,
                timeline,
            }
        })
        .collect())
}

/// The kinds of stored findings a narrative links to (when they cite its documents).
pub const LINKED_KINDS: [&str; 3] = [
    varta_detect::campaigns::KIND,
    varta_detect::coord::finding::KIND,
    varta_detect::claims::finding::KIND,
];

/// What `detect narratives` found.
#[derive(Debug, Clone)]
pub struct Detected {
    /// Documents clustered (stored since `since`, with a text).
    pub documents: usize,
    /// Of those, documents whose vector the store's cache held.
    pub cached: usize,
    /// Texts embedded by this run (copies of a text are embedded once).
    pub embedded: usize,
    /// The narratives, largest first, each as its finding's record.
    pub found: Vec<NarrativeFinding>,
    /// What documents stored later join ([`join_after`]).
    pub model: Model,
}

/// What clustering keeps of a stored document: not the whole record, so that a large store's
/// narratives hold texts and vectors only.
struct Kept {
    id: String,
    text: String,
    language: String,
    actor: Option<String>,
    time: DateTime<Utc>,
}

/// The narratives of `items` as the watcher finds them: those dated before `from` (or undated)
/// clustered at once, then each later one placed in time order.
fn live(items: &[Item<'_>], docs: &[Doc], params: &Params, from: DateTime<Utc>) -> Vec<Narrative> {
    let from = from.timestamp();
    let (before, mut after): (Vec<usize>, Vec<usize>) =
        (0..items.len()).partition(|&i| items[i].time.is_none_or(|t| t < from));
    after.sort_by_key(|&i| (items[i].time, i));
    let first: Vec<Item<'_>> = before
        .iter()
        .map(|&i| Item {
            text: items[i].text,
            lang: items[i].lang,
            time: items[i].time,
            vector: items[i].vector,
        })
        .collect();
    let ids: Vec<&str> = before.iter().map(|&i| docs[i].id.as_str()).collect();
    let local = cluster(&first, params);
    let mut found: Vec<Narrative> = local
        .iter()
        .map(|n| Narrative {
            members: n.members.iter().map(|&m| before[m]).collect(),
            representatives: n.representatives.iter().map(|&m| before[m]).collect(),
            labels: n.labels.clone(),
        })
        .collect();
    let names: Vec<Option<String>> = (0..found.len()).map(|k| Some(k.to_string())).collect();
    let mut model = Model::from_run(&first, &ids, &local, &names, params);
    let index: std::collections::HashMap<&str, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();
    for i in after {
        let placed = model.place(
            &LiveDoc {
                id: &docs[i].id,
                lang: items[i].lang,
                time: items[i].time.unwrap_or(0),
                vector: items[i].vector,
                text: items[i].text,
            },
            i64::MIN,
        );
        match placed {
            Placed::Alone => {}
            Placed::Joined(name) => {
                if let Some(n) = name.parse::<usize>().ok().and_then(|k| found.get_mut(k)) {
                    n.members.push(i);
                }
            }
            Placed::Started { with, labels } => {
                model.name_last(found.len().to_string());
                let other = index.get(with.as_str()).copied().unwrap_or(i);
                found.push(Narrative {
                    members: vec![other, i],
                    representatives: vec![i, other],
                    labels,
                });
            }
        }
    }
    found.retain(|n| n.members.len() >= 2);
    for n in &mut found {
        n.members.sort_unstable();
    }
    found.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then_with(|| a.members.first().cmp(&b.members.first()))
    });
    found
}

/// Finds the narratives among the stored documents (published, or undated and collected, since
/// `since`) and stores each as a `narrative` finding; republishes the findings to TAXII.
pub fn detect(
    store: &mut impl Store,
    embedder: &dyn Embedder,
    params: &Params,
    since: Option<DateTime<Utc>>,
    observer: &dyn Observer,
) -> Result<Detected> {
    let found = detect_paged(
        store,
        embedder,
        params,
        since,
        crate::claims::DETECT_PAGE,
        observer,
    )?;
    crate::taxii::publish_findings(store)?;
    Ok(found)
}

/// [`detect`] without publishing to TAXII (the watcher publishes once it stored the findings).
pub fn detect_unpublished(
    store: &mut impl Store,
    embedder: &dyn Embedder,
    params: &Params,
    since: Option<DateTime<Utc>>,
    observer: &dyn Observer,
) -> Result<Detected> {
    detect_paged(
        store,
        embedder,
        params,
        since,
        crate::claims::DETECT_PAGE,
        observer,
    )
}

/// [`detect`] reading `page` documents at a time, without publishing. Vectors the cache lacks are
/// embedded and cached page by page, so an interrupted run keeps what it embedded.
fn detect_paged(
    store: &mut impl Store,
    embedder: &dyn Embedder,
    params: &Params,
    since: Option<DateTime<Utc>>,
    page: usize,
    observer: &dyn Observer,
) -> Result<Detected> {
    let progress = observer.start("documents", Some(0));
    let mut cache = VectorCache::default();
    let mut kept: Vec<Kept> = Vec::new();
    let mut vectors: Vec<Vec<f32>> = Vec::new();
    let mut after = PageCursor::START;
    loop {
        let (docs, next) = store.documents_page(since, after, page.max(1))?;
        if docs.is_empty() {
            break;
        }
        after = next;
        // An empty text says nothing: it would only pull its language's mean.
        let want: Vec<usize> = (0..docs.len())
            .filter(|&i| !docs[i].text.trim().is_empty())
            .collect();
        let got = cache.vectors(embedder, store, &docs, &want, &*progress)?;
        for (d, v) in docs.into_iter().zip(got) {
            let Some(v) = v else { continue };
            kept.push(Kept {
                time: d.published_at.unwrap_or(d.collected_at),
                id: d.id,
                text: d.text,
                language: d.language,
                actor: d.actor_id,
            });
            vectors.push(v);
        }
    }
    progress.finish();
    tracing::info!(
        documents = kept.len(),
        cached = cache.cached,
        embedded = cache.embedded,
        copies = cache.copies,
        "detect narratives: documents' embeddings"
    );
    let items: Vec<Item<'_>> = kept
        .iter()
        .zip(&vectors)
        .map(|(d, v)| Item {
            text: &d.text,
            lang: &d.language,
            time: Some(d.time.timestamp()),
            vector: v,
        })
        .collect();
    let narratives = cluster(&items, params);
    let mut linker = Linker::default();
    for kind in LINKED_KINDS {
        for f in store.findings(Some(kind))? {
            linker.add(&f.kind, &f.id, &f.documents);
        }
    }
    let infos: Vec<DocInfo<'_>> = kept
        .iter()
        .map(|d| DocInfo {
            id: &d.id,
            actor: d.actor.as_deref(),
            language: &d.language,
            time: d.time,
            text: &d.text,
        })
        .collect();
    let mut found: Vec<NarrativeFinding> = Vec::new();
    let mut names = Vec::with_capacity(narratives.len());
    for n in &narratives {
        let f = NarrativeFinding::new(n, &infos, params, &linker);
        names.push(f.as_ref().map(|f| f.id.clone()));
        found.extend(f);
    }
    let ids: Vec<&str> = kept.iter().map(|d| d.id.as_str()).collect();
    let model = Model::from_run(&items, &ids, &narratives, &names, params);
    let now = Utc::now();
    let findings: Vec<varta_core::Finding> = found.iter().map(|n| n.finding(params, now)).collect();
    store.put_findings(&findings)?;
    Ok(Detected {
        documents: kept.len(),
        cached: cache.cached,
        embedded: cache.embedded,
        found,
        model,
    })
}

/// What [`join_after`] did.
#[derive(Debug)]
pub struct Joined {
    /// Where the documents it read end: the next call starts there.
    pub after: PageCursor,
    pub documents: usize,
    pub embedded: usize,
    /// Documents that joined a narrative already known: (its id, the member). Their findings
    /// are the caller's to grow ([`NarrativeFinding::add_members`]), when it sees fit: a large
    /// narrative is not rewritten for every document.
    pub joins: Vec<(String, Member)>,
    /// The narratives that started, as stored.
    pub started: Vec<NarrativeFinding>,
}

/// Places the documents stored after `after` into `model`'s narratives: a document joins the
/// narrative whose centre is nearest, or starts a new one with a close document no narrative
/// took (stored at once, labelled from their words; linked to other findings at the next full
/// run). Documents dated before `oldest` are read but placed nowhere; waiting ones older than
/// it are let go.
pub fn join_after(
    store: &mut impl Store,
    embedder: &dyn Embedder,
    params: &Params,
    model: &mut Model,
    after: PageCursor,
    oldest: DateTime<Utc>,
) -> Result<Joined> {
    let mut cache = VectorCache::default();
    let progress = crate::Logged.start("documents", Some(0));
    let mut at = after;
    let mut documents = 0usize;
    let mut joins = Vec::new();
    let mut started: Vec<NarrativeFinding> = Vec::new();
    let member = |d: &varta_core::Document| Member {
        document: d.id.clone(),
        actor: d.actor_id.clone(),
        language: d.language.clone(),
        time: d.published_at.unwrap_or(d.collected_at),
    };
    loop {
        let (docs, next) = store.documents_page(None, at, crate::claims::DETECT_PAGE)?;
        if docs.is_empty() {
            break;
        }
        at = next;
        let want: Vec<usize> = (0..docs.len())
            .filter(|&i| !docs[i].text.trim().is_empty())
            .filter(|&i| docs[i].published_at.unwrap_or(docs[i].collected_at) >= oldest)
            .collect();
        let got = cache.vectors(embedder, store, &docs, &want, &*progress)?;
        for (d, v) in docs.iter().zip(got) {
            let Some(v) = v else { continue };
            documents += 1;
            let time = d.published_at.unwrap_or(d.collected_at);
            let placed = model.place(
                &LiveDoc {
                    id: &d.id,
                    lang: &d.language,
                    time: time.timestamp(),
                    vector: &v,
                    text: &d.text,
                },
                oldest.timestamp(),
            );
            match placed {
                Placed::Alone => {}
                Placed::Joined(id) => match started.iter_mut().find(|f| f.id == id) {
                    Some(f) => {
                        f.add_members(vec![member(d)]);
                    }
                    None => joins.push((id, member(d))),
                },
                Placed::Started { with, labels } => {
                    let Some(other) = store.get(&with)? else {
                        model.name_last(narrative_id(params, &with));
                        continue;
                    };
                    let pair = [&other, d];
                    let infos: Vec<DocInfo<'_>> = pair
                        .iter()
                        .map(|x| DocInfo {
                            id: &x.id,
                            actor: x.actor_id.as_deref(),
                            language: &x.language,
                            time: x.published_at.unwrap_or(x.collected_at),
                            text: &x.text,
                        })
                        .collect();
                    let n = Narrative {
                        members: vec![0, 1],
                        representatives: vec![1, 0],
                        labels,
                    };
                    match NarrativeFinding::new(&n, &infos, params, &Linker::default()) {
                        Some(f) => {
                            model.name_last(f.id.clone());
                            started.push(f);
                        }
                        None => model.name_last(narrative_id(params, &with)),
                    }
                }
            }
        }
    }
    progress.finish();
    let now = Utc::now();
    let findings: Vec<varta_core::Finding> =
        started.iter().map(|n| n.finding(params, now)).collect();
    store.put_findings(&findings)?;
    Ok(Joined {
        after: at,
        documents,
        embedded: cache.embedded,
        joins,
        started,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use varta_core::{Document, Finding};
    use varta_detect::claims::matcher::EmbedError;
    use varta_store::EmbeddedStore;

    /// Vectors by topic word, as the clustering test's: metro, power cuts, and one loner.
    struct Topics {
        texts: AtomicUsize,
    }

    impl Embedder for Topics {
        fn model_id(&self) -> &str {
            "test-topics"
        }
        fn embed(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, EmbedError> {
            self.texts.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts
                .iter()
                .map(|t| {
                    let n = t.len() as f32 * 0.001;
                    if t.contains("metro") || t.contains("метро") {
                        vec![1.0, 0.05 + n, 0.0, 0.0]
                    } else if t.contains("16") {
                        vec![0.0, 1.0, 0.02 + n, 0.0]
                    } else if t.contains("gas") || t.contains("газ") {
                        vec![0.0, 0.0, 0.05 + n, 1.0]
                    } else {
                        vec![0.0, 0.0, 1.0, 0.0]
                    }
                })
                .collect())
        }
    }

    fn doc(i: usize, text: &str, lang: &str) -> Document {
        Document {
            id: format!("d{i}"),
            source: "test".into(),
            format: varta_core::Format::Jsonl,
            actor_id: Some(format!("x:a{i}")),
            native_id: Some(i.to_string()),
            url: None,
            canonical_url: None,
            title: None,
            author: None,
            content_hash: varta_core::content_hash(text),
            text: text.into(),
            raw: None,
            language: lang.into(),
            language_confidence: 1.0,
            published_at: DateTime::from_timestamp(1_764_000_000 + i as i64 * 300, 0),
            collected_at: DateTime::UNIX_EPOCH,
            links: vec![],
            hashtags: vec![],
            mentions: vec![],
            repost_of: None,
            forwarded_from: None,
            reply_to: None,
        }
    }

    fn store(dir: &Path) -> EmbeddedStore {
        let mut s =
            EmbeddedStore::open_write(dir, Default::default(), "varta test", varta_store::Wait::No)
                .unwrap();
        let docs = [
            doc(1, "Kyiv metro closes for three days", "en"),
            doc(2, "Київське метро закриють на три дні", "uk"),
            doc(3, "Киевское метро закроют на три дня", "ru"),
            doc(4, "Kharkiv power cuts of 16 hours", "en"),
            doc(5, "Харків: відключення світла на 16 годин", "uk"),
            doc(6, "Recipe of the day", "en"),
            doc(7, "  ", "und"),
        ];
        s.put_batch(&docs, &[]).unwrap();
        s
    }

    fn campaign(id: &str, documents: &[&str]) -> Finding {
        Finding {
            id: id.into(),
            kind: varta_detect::campaigns::KIND.into(),
            detector: "test".into(),
            parameters: serde_json::Value::Null,
            score: 1.0,
            first_seen: None,
            created_at: DateTime::UNIX_EPOCH,
            documents: documents.iter().map(|d| d.to_string()).collect(),
            body: serde_json::json!({}),
        }
    }

    #[test]
    fn stored_narratives_keep_their_ids_and_embed_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(dir.path());
        s.put_findings(&[
            campaign("campaign:metro", &["d2", "d3", "d9"]),
            campaign("campaign:other", &["d6"]),
        ])
        .unwrap();
        let e = Topics {
            texts: AtomicUsize::new(0),
        };
        let p = Params::default();
        let first = detect_paged(&mut s, &e, &p, None, 2, &crate::Logged).unwrap();
        assert_eq!(first.documents, 6, "the empty text is left out");
        assert_eq!((first.embedded, first.cached), (6, 0));
        assert_eq!(e.texts.load(Ordering::SeqCst), 6);
        let members: Vec<Vec<&str>> = first
            .found
            .iter()
            .map(|n| n.members.iter().map(|m| m.document.as_str()).collect())
            .collect();
        assert_eq!(members, vec![vec!["d1", "d2", "d3"], vec!["d4", "d5"]]);
        let metro = &first.found[0];
        assert_eq!(metro.first_seen.document, "d1");
        assert_eq!(
            metro.links,
            vec![varta_detect::narratives::Link {
                kind: varta_detect::campaigns::KIND.into(),
                id: "campaign:metro".into(),
                documents: 2,
            }]
        );
        assert!(first.found[1].links.is_empty());
        let stored = s.findings(Some(varta_detect::narratives::KIND)).unwrap();
        assert_eq!(stored.len(), 2);
        let by_id: BTreeMap<&str, &Finding> = stored.iter().map(|f| (f.id.as_str(), f)).collect();
        let f = by_id[metro.id.as_str()];
        assert_eq!(f.documents, vec!["d1", "d2", "d3"]);
        assert_eq!(f.first_seen, Some(metro.first_seen.time));
        // Again, a page at a time of another size: vectors from the cache, the same ids.
        let again = detect_paged(&mut s, &e, &p, None, 16, &crate::Logged).unwrap();
        assert_eq!((again.embedded, again.cached), (0, 6));
        assert_eq!(e.texts.load(Ordering::SeqCst), 6);
        let ids = |d: &Detected| d.found.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&again), ids(&first));
        assert_eq!(
            s.findings(Some(varta_detect::narratives::KIND))
                .unwrap()
                .len(),
            2
        );
        // Other parameters: other ids.
        let other = Params { join: 0.46, ..p };
        let moved = detect_paged(&mut s, &e, &other, None, 16, &crate::Logged).unwrap();
        assert!(ids(&moved).iter().all(|i| !ids(&first).contains(i)));
        // Since the power cuts: only they are read.
        let since = DateTime::from_timestamp(1_764_000_000 + 4 * 300, 0);
        let late = detect_paged(&mut s, &e, &p, since, 16, &crate::Logged).unwrap();
        assert_eq!(late.documents, 3);
    }

    #[test]
    fn later_documents_join_or_split_off_narratives() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(dir.path());
        let e = Topics {
            texts: AtomicUsize::new(0),
        };
        let p = Params::default();
        let first = detect_paged(&mut s, &e, &p, None, 16, &crate::Logged).unwrap();
        let metro = first.found[0].id.clone();
        let mut model = first.model.clone();
        assert_eq!(model.narratives(), 2);
        let after = s.end_cursor().unwrap();
        s.put_batch(
            &[
                doc(8, "Kyiv metro closed again", "en"),
                doc(9, "The gas storage is empty, they say", "en"),
                doc(10, "Сховища газу порожні", "uk"),
            ],
            &[],
        )
        .unwrap();
        let joined = join_after(&mut s, &e, &p, &mut model, after, DateTime::UNIX_EPOCH).unwrap();
        assert_eq!((joined.documents, joined.embedded), (3, 3));
        assert_eq!(joined.started.len(), 1);
        assert_eq!(model.narratives(), 3);
        let ids: Vec<(&str, &str)> = joined
            .joins
            .iter()
            .map(|(n, m)| (n.as_str(), m.document.as_str()))
            .collect();
        assert_eq!(ids, [(metro.as_str(), "d8")]);
        let gas = &joined.started[0];
        assert_eq!(gas.id, narrative_id(&p, "d9"));
        let ids: Vec<&str> = gas.members.iter().map(|m| m.document.as_str()).collect();
        assert_eq!(ids, ["d9", "d10"]);
        assert!(gas.label.contains("storage"), "{}", gas.label);
        assert!(gas.label.contains("сховища"), "{}", gas.label);
        assert!(
            s.finding(&gas.id).unwrap().is_some(),
            "a new narrative is stored at once"
        );
        // A join grows the stored finding when the caller adds it.
        let mut f: NarrativeFinding =
            serde_json::from_value(s.finding(&metro).unwrap().unwrap().body).unwrap();
        assert_eq!(f.add_members(vec![joined.joins[0].1.clone()]), 1);
        assert_eq!(f.add_members(vec![joined.joins[0].1.clone()]), 0, "once");
        assert_eq!(
            (f.size, f.members.last().unwrap().document.as_str()),
            (4, "d8")
        );
        // Nothing after the cursor: nothing placed, nothing embedded.
        let again = join_after(
            &mut s,
            &e,
            &p,
            &mut model,
            joined.after,
            DateTime::UNIX_EPOCH,
        )
        .unwrap();
        assert_eq!(
            (again.documents, again.joins.len(), again.started.len()),
            (0, 0, 0)
        );
    }
}
