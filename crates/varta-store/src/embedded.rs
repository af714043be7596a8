//! The embedded store: one data directory with `varta.sqlite3` and `index/`.

use crate::index::{Filters, IndexDoc, SearchIndex};
use crate::sqlite::Db;
use crate::{BatchOutcome, Result, SearchHit, SearchQuery, Stats, Store, StoreError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tantivy::snippet::SnippetGenerator;
use varta_core::{Actor, Document};

/// Tuning of the embedded store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Memory the index writer may use before it flushes a segment (tantivy's heap budget).
    pub index_heap_bytes: usize,
    /// Commit the index after this many new documents, so that a crash leaves little to re-index.
    pub index_commit_every: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            index_heap_bytes: 256 << 20,
            index_commit_every: 1_000_000,
        }
    }
}

/// SQLite + tantivy in one data directory.
pub struct EmbeddedStore {
    dir: PathBuf,
    db: Db,
    index: SearchIndex,
    options: StoreOptions,
    added_since_commit: usize,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir`, and brings the index up to date with SQLite.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<EmbeddedStore> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let db = Db::open(&dir.join("varta.sqlite3"))?;
        let index = SearchIndex::open(&dir.join("index"), options.index_heap_bytes)?;
        let mut store = EmbeddedStore {
            dir: dir.to_path_buf(),
            db,
            index,
            options,
            added_since_commit: 0,
        };
        store.catch_up()?;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Indexes what SQLite holds beyond the index's watermark (after a crash, or a lost index).
    fn catch_up(&mut self) -> Result<()> {
        let from = self.index.committed_seq();
        if from >= self.db.max_seq()? {
            return Ok(());
        }
        tracing::info!(
            after_seq = from,
            "bringing the search index up to date with the database"
        );
        let index = &mut self.index;
        self.db.for_each_after(from, |row| {
            index.add(
                row.seq,
                &IndexDoc::of(&row.doc, row.actor_handle.as_deref()),
            )
        })?;
        self.index.commit()
    }

    /// Number of documents the search index holds (equal to the database's after a flush).
    pub fn indexed_documents(&self) -> Result<u64> {
        self.index.num_docs()
    }

    /// Flushes and waits for index merges; call once when done writing.
    pub fn close(mut self) -> Result<()> {
        self.flush()?;
        self.index.close()
    }
}

impl Store for EmbeddedStore {
    fn put_batch(&mut self, docs: &[Document], actors: &[Actor]) -> Result<BatchOutcome> {
        let seqs = self.db.insert(docs, actors)?;
        let handles: HashMap<&str, &str> = actors
            .iter()
            .filter_map(|a| Some((a.id.as_str(), a.handle.as_deref()?)))
            .collect();
        let mut inserted = Vec::with_capacity(docs.len());
        for (d, seq) in docs.iter().zip(&seqs) {
            inserted.push(seq.is_some());
            let Some(seq) = *seq else { continue };
            let actor_handle = d.actor_id.as_deref().and_then(|a| handles.get(a).copied());
            self.index.add(seq, &IndexDoc::of(d, actor_handle))?;
            self.added_since_commit += 1;
        }
        if self.added_since_commit >= self.options.index_commit_every {
            self.flush()?;
        }
        Ok(BatchOutcome { inserted })
    }

    fn flush(&mut self) -> Result<()> {
        self.index.commit()?;
        self.added_since_commit = 0;
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<Document>> {
        self.db.get(id)
    }

    fn for_each_document(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        f: &mut dyn FnMut(Document) -> Result<()>,
    ) -> Result<()> {
        self.db.for_each_document(since, f)
    }

    fn documents_page(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<Document>, i64)> {
        self.db.documents_page(since, after, limit)
    }

    fn put_findings(&mut self, findings: &[varta_core::Finding]) -> Result<()> {
        self.db.put_findings(findings)
    }

    fn findings(&self, kind: Option<&str>) -> Result<Vec<varta_core::Finding>> {
        self.db.findings(kind)
    }

    fn put_claims(&mut self, claims: &[varta_core::Claim]) -> Result<usize> {
        self.db.put_claims(claims)
    }

    fn claims(&self) -> Result<Vec<varta_core::Claim>> {
        self.db.claims()
    }

    fn embeddings(&self, model: &str, owners: &[&str]) -> Result<Vec<Option<Vec<f32>>>> {
        self.db.embeddings(model, owners)
    }

    fn put_embeddings(&mut self, model: &str, items: &[(&str, &[f32])]) -> Result<()> {
        self.db.put_embeddings(model, items)
    }

    fn get_actor(&self, id: &str) -> Result<Option<Actor>> {
        self.db.get_actor(id)
    }

    fn stats(&self) -> Result<Stats> {
        self.db.stats()
    }

    fn search(&self, q: &SearchQuery) -> Result<Vec<SearchHit>> {
        let filters = Filters {
            lang: q.language.as_deref(),
            actor: q.actor.as_deref(),
            since: q.since.map(|t| t.timestamp()),
            until: q.until.map(|t| t.timestamp()),
        };
        let query = self.index.build_query(&q.text, &filters);
        let reader = self.index.reader()?;
        let hits = self.index.search(&reader, query.as_ref(), q.limit)?;
        let searcher = reader.searcher();
        let mut snippets =
            SnippetGenerator::create(&searcher, query.as_ref(), self.index.text_field()).map_err(
                |source| StoreError::Index {
                    op: "prepare snippets",
                    source,
                },
            )?;
        snippets.set_max_num_chars(200);
        let mut out = Vec::with_capacity(hits.len());
        for (id, score) in hits {
            // A hit the database no longer has would be an index from another store; skip it.
            let Some(doc) = self.db.get(&id)? else {
                continue;
            };
            let snippet = snippets.snippet(&doc.text);
            let snippet = if snippet.fragment().trim().is_empty() {
                doc.text.chars().take(200).collect::<String>()
            } else {
                snippet.fragment().to_string()
            };
            out.push(SearchHit {
                id,
                title: doc.title,
                snippet: snippet.split_whitespace().collect::<Vec<_>>().join(" "),
                score,
                url: doc.url,
                published_at: doc.published_at,
                language: doc.language,
                actor: doc.actor_id,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use varta_core::Document;

    fn doc(i: i64) -> Document {
        let text = format!("document {i}");
        // Every third undated: collected_at stands in for it.
        let published = (i % 3 != 0).then(|| chrono::Utc.timestamp_opt(1_000 * i, 0).unwrap());
        serde_json::from_value(serde_json::json!({
            "id": format!("d{i}"), "source": "test", "format": "text", "text": text,
            "content_hash": varta_core::stable_hash(&[&text]), "language": "en",
            "language_confidence": 1.0, "published_at": published,
            "collected_at": chrono::Utc.timestamp_opt(1_000 * i + 1, 0).unwrap(),
            "links": [], "hashtags": [], "mentions": [],
        }))
        .unwrap()
    }

    /// Pages of any size, read one after another, give the full scan's documents in its order,
    /// with and without `since`.
    #[test]
    fn pages_follow_the_full_scan() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = EmbeddedStore::open(dir.path(), StoreOptions::default()).unwrap();
        // Stored out of date order: the scan's order is storage order.
        let docs: Vec<Document> = (0..25).map(|i| doc((i * 7) % 25)).collect();
        store.put_batch(&docs, &[]).unwrap();
        for since in [None, Some(chrono::Utc.timestamp_opt(12_000, 0).unwrap())] {
            let mut all = Vec::new();
            store
                .for_each_document(since, &mut |d| {
                    all.push(d.id);
                    Ok(())
                })
                .unwrap();
            assert!(!all.is_empty());
            for limit in [1, 4, 25, 100] {
                let (mut paged, mut at) = (Vec::new(), 0);
                loop {
                    let (page, next) = store.documents_page(since, at, limit).unwrap();
                    assert!(page.len() <= limit);
                    if page.is_empty() {
                        assert_eq!(next, at);
                        break;
                    }
                    paged.extend(page.into_iter().map(|d| d.id));
                    at = next;
                }
                assert_eq!(paged, all, "limit {limit}, since {since:?}");
            }
        }
    }
}
