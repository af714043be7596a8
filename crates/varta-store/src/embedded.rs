//! The embedded store: one data directory with `varta.sqlite3`, `index/` and the writer lock.
//!
//! Opened for writing, it holds the directory's [`WriteLock`] for its whole life and makes the
//! index agree with the record before anything else; opened for reading, it takes no lock, writes
//! nothing and sees what writers had committed.

use crate::index::{Filters, IndexDoc, SearchIndex};
use crate::lock::{Wait, WriteLock};
use crate::sqlite::Db;
use crate::{
    BatchOutcome, CONSISTENCY_EXAMPLES, Consistency, PageCursor, Result, SearchHit, SearchQuery,
    Stats, Store, StoreError,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tantivy::snippet::SnippetGenerator;
use varta_core::{Actor, Document};

/// Tuning of the embedded store.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreOptions {
    /// Memory the search index writer may use before writing a segment (at least 15000000; from
    /// 30000000 on, two indexing threads share it).
    pub index_heap_bytes: usize,
    /// Make the index durable after this many new documents (a crash then re-indexes at most
    /// this many).
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

/// `text` with each run of whitespace made one space and the ends trimmed, and the byte ranges
/// `marks` into it moved to where their text now is.
fn collapse_whitespace(
    text: &str,
    marks: &[std::ops::Range<usize>],
) -> (String, Vec<(usize, usize)>) {
    let mut out = String::with_capacity(text.len());
    // For each byte offset of `text` (and its end), the offset in `out`.
    let mut map = vec![0usize; text.len() + 1];
    let mut pending_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            map[i] = out.len();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        for (k, slot) in map[i..i + c.len_utf8()].iter_mut().enumerate() {
            *slot = out.len() + k;
        }
        out.push(c);
    }
    map[text.len()] = out.len();
    let marks = marks
        .iter()
        .filter(|r| r.start < r.end && r.end <= text.len())
        .map(|r| (map[r.start], map[r.end - 1] + 1))
        .filter(|(a, b)| {
            a < b && *b <= out.len() && out.is_char_boundary(*a) && out.is_char_boundary(*b)
        })
        .collect();
    (out, marks)
}

/// SQLite + tantivy in one data directory.
pub struct EmbeddedStore {
    dir: PathBuf,
    db: Db,
    index: SearchIndex,
    options: StoreOptions,
    added_since_commit: usize,
    /// Held by a writer for as long as the store is open; `None` for a reader.
    lock: Option<WriteLock>,
    /// A reader found no usable index beside a stored database.
    index_missing: bool,
    /// See [`EmbeddedStore::found_at_open`].
    found_at_open: Option<Consistency>,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir` for writing, as `command` (recorded in the
    /// lock file for whoever waits). Waits for, or with [`Wait::No`] fails on, another writer.
    /// Then makes the index hold exactly the stored documents ([`Store::repair`]).
    pub fn open_write(
        dir: &Path,
        options: StoreOptions,
        command: &str,
        wait: Wait<'_>,
    ) -> Result<EmbeddedStore> {
        Self::open_write_inner(dir, options, command, wait).map_err(|e| on_full_disk(dir, e))
    }

    fn open_write_inner(
        dir: &Path,
        options: StoreOptions,
        command: &str,
        wait: Wait<'_>,
    ) -> Result<EmbeddedStore> {
        let lock = WriteLock::acquire(dir, command, wait)?;
        // The index first: a reader that finds the database finds an index beside it (an empty
        // new one at worst), never a store half created.
        let index = SearchIndex::open(&dir.join("index"), options.index_heap_bytes)?;
        let db = Db::open(&dir.join("varta.sqlite3"))?;
        let mut store = EmbeddedStore {
            dir: dir.to_path_buf(),
            db,
            index,
            options,
            added_since_commit: 0,
            lock: Some(lock),
            index_missing: false,
            found_at_open: None,
        };
        let found = store.repair()?;
        if !found.ok {
            tracing::info!(
                missing = found.missing_from_index,
                extra = found.extra_in_index,
                "the search index disagreed with the database; repaired"
            );
        }
        store.found_at_open = Some(found);
        Ok(store)
    }

    /// For a writer: how the index and the record agreed when it opened, before the repair
    /// that opening applies (`check --repair` reports it rather than comparing again).
    pub fn found_at_open(&self) -> Option<&Consistency> {
        self.found_at_open.as_ref()
    }

    /// Opens the store in `dir` for reading: no lock, no waiting, nothing written (it works on a
    /// full disk and in a read-only directory). A directory with no store reads as an empty one.
    /// A store whose index is missing or of another version still reads; only its searches
    /// fail ([`StoreError::IndexUnavailable`]), and `check` counts every document as missing.
    pub fn open_read(dir: &Path) -> Result<EmbeddedStore> {
        let db_path = dir.join("varta.sqlite3");
        let exists = db_path.is_file();
        let db = Db::open_read(&db_path)?;
        let (index, index_missing) = match SearchIndex::open_read(&dir.join("index")) {
            Ok(index) => (index, false),
            Err(StoreError::IndexUnavailable { .. }) => (SearchIndex::empty(), exists),
            Err(e) => return Err(e),
        };
        Ok(EmbeddedStore {
            found_at_open: None,
            index_missing,
            dir: dir.to_path_buf(),
            db,
            index,
            options: StoreOptions::default(),
            added_since_commit: 0,
            lock: None,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this store was opened for writing.
    pub fn is_writer(&self) -> bool {
        self.lock.is_some()
    }

    fn writable(&self, op: &'static str) -> Result<()> {
        match self.lock {
            Some(_) => Ok(()),
            None => Err(StoreError::ReadOnly { op }),
        }
    }

    /// Number of documents the search index holds (equal to the database's after a flush).
    pub fn indexed_documents(&self) -> Result<u64> {
        self.index.num_docs()
    }

    /// Flushes and waits for index merges; call once when done writing. The writer lock is
    /// released when the store is dropped, here or on any other path.
    pub fn close(mut self) -> Result<()> {
        if self.lock.is_none() {
            return Ok(());
        }
        self.flush()?;
        self.index.close()
    }

    /// Compares sorted id lists: (missing from the index, extra or repeated in it).
    fn diff(&self) -> Result<(Vec<String>, Vec<String>, u64, u64)> {
        let stored = self.db.ids_sorted()?;
        let indexed = self.index.ids()?;
        let (mut missing, mut extra) = (Vec::new(), Vec::new());
        let (mut i, mut j) = (0, 0);
        while i < stored.len() || j < indexed.len() {
            match (stored.get(i), indexed.get(j)) {
                (Some(a), Some(b)) if a == b => {
                    i += 1;
                    j += 1;
                    // Any further copy of the same id in the index is one too many.
                    while indexed.get(j) == Some(a) {
                        extra.push(a.clone());
                        j += 1;
                    }
                }
                (Some(a), Some(b)) if a < b => {
                    missing.push(a.clone());
                    i += 1;
                }
                (Some(_), None) => {
                    missing.push(stored[i].clone());
                    i += 1;
                }
                (_, Some(b)) => {
                    extra.push(b.clone());
                    j += 1;
                }
                (None, None) => break,
            }
        }
        Ok((missing, extra, stored.len() as u64, indexed.len() as u64))
    }

    fn consistency(&self) -> Result<(Consistency, Vec<String>, Vec<String>)> {
        let (missing, extra, documents, indexed) = self.diff()?;
        let (findings, citing_missing, finding_examples) =
            self.db.findings_citing_missing(CONSISTENCY_EXAMPLES)?;
        let mut examples: Vec<String> = missing
            .iter()
            .take(CONSISTENCY_EXAMPLES)
            .map(|id| format!("document {id} is not in the search index"))
            .collect();
        examples.extend(extra.iter().take(CONSISTENCY_EXAMPLES).map(|id| {
            format!("the search index holds {id}, which is not stored or is indexed twice")
        }));
        examples.extend(finding_examples);
        let c = Consistency {
            documents,
            indexed,
            missing_from_index: missing.len() as u64,
            extra_in_index: extra.len() as u64,
            findings,
            findings_citing_missing: citing_missing,
            examples,
            ok: missing.is_empty() && extra.is_empty() && citing_missing == 0,
        };
        Ok((c, missing, extra))
    }
}

impl EmbeddedStore {
    fn put_batch_inner(&mut self, docs: &[Document], actors: &[Actor]) -> Result<BatchOutcome> {
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
}

/// SQLite reports some writes that fail for want of space as plain I/O errors (growing its
/// shared-memory file, for one): a backend failure while the file system has (nearly) no room
/// left is called what it is, so that the user knows to free space rather than suspect damage.
fn on_full_disk(dir: &Path, e: StoreError) -> StoreError {
    let (what, op, source) = match e {
        StoreError::Database { op, source } => ("database", op, source),
        StoreError::Index { op, source } => ("search index", op, source),
        other => return other,
    };
    let full = fs_available(dir).is_some_and(|bytes| bytes < 1 << 20);
    match (full, what) {
        (true, _) => StoreError::DiskFull { what, op, source },
        (false, "database") => StoreError::Database { op, source },
        (false, _) => StoreError::Index { op, source },
    }
}

/// Bytes an unprivileged process may still write on the file system holding `dir`.
fn fs_available(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string and `st` a buffer of the right type, which
    // statvfs fills on success (checked before it is read).
    let rc = unsafe { libc::statvfs(path.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised `st`.
    let st = unsafe { st.assume_init() };
    #[allow(clippy::useless_conversion)] // u32 on some targets
    Some(u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize)))
}

impl EmbeddedStore {
    /// `e`, called a full disk when it is one.
    fn classify(&self, e: StoreError) -> StoreError {
        on_full_disk(&self.dir, e)
    }
}

impl Store for EmbeddedStore {
    fn put_batch(&mut self, docs: &[Document], actors: &[Actor]) -> Result<BatchOutcome> {
        self.writable("store documents")?;
        self.put_batch_inner(docs, actors)
            .map_err(|e| self.classify(e))
    }

    fn flush(&mut self) -> Result<()> {
        self.writable("flush")?;
        self.index.commit().map_err(|e| self.classify(e))?;
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

    fn end_cursor(&self) -> Result<PageCursor> {
        Ok(PageCursor(self.db.max_seq()?))
    }

    fn documents_page(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        after: PageCursor,
        limit: usize,
    ) -> Result<(Vec<Document>, PageCursor)> {
        let (docs, next) = self.db.documents_page(since, after.0, limit)?;
        Ok((docs, PageCursor(next)))
    }

    fn put_findings(&mut self, findings: &[varta_core::Finding]) -> Result<()> {
        self.writable("store findings")?;
        self.db.put_findings(findings)
    }

    fn delete_findings(&mut self, ids: &[&str]) -> Result<usize> {
        self.writable("delete findings")?;
        self.db.delete_findings(ids)
    }

    fn findings(&self, kind: Option<&str>) -> Result<Vec<varta_core::Finding>> {
        self.db.findings(kind)
    }

    fn volume(&self) -> Result<Vec<crate::Volume>> {
        self.db.volume()
    }

    fn actors_page(&self, after: &str, limit: usize) -> Result<Vec<Actor>> {
        self.db.actors_page(after, limit)
    }

    fn finding(&self, id: &str) -> Result<Option<varta_core::Finding>> {
        self.db.finding(id)
    }

    fn put_token(&mut self, token: &crate::TokenRecord) -> Result<bool> {
        self.writable("store a token")?;
        self.db.put_token(token)
    }

    fn tokens(&self) -> Result<Vec<crate::TokenRecord>> {
        self.db.tokens()
    }

    fn revoke_token(&mut self, name: &str) -> Result<bool> {
        self.writable("revoke a token")?;
        self.db.revoke_token(name)
    }

    fn publish(&mut self, collection: &str, objects: &[crate::TaxiiObject]) -> Result<usize> {
        self.writable("publish TAXII objects")?;
        self.db.publish(collection, objects)
    }

    fn taxii_page(
        &self,
        query: &crate::TaxiiQuery,
    ) -> Result<(Vec<crate::StoredTaxiiObject>, bool)> {
        self.db.taxii_page(query)
    }

    fn put_claims(&mut self, claims: &[varta_core::Claim]) -> Result<usize> {
        self.writable("store claims")?;
        self.db.put_claims(claims)
    }

    fn claims(&self) -> Result<Vec<varta_core::Claim>> {
        self.db.claims()
    }

    fn embeddings(&self, model: &str, owners: &[&str]) -> Result<Vec<Option<Vec<f32>>>> {
        self.db.embeddings(model, owners)
    }

    fn put_embeddings(&mut self, model: &str, items: &[(&str, &[f32])]) -> Result<()> {
        self.writable("store embeddings")?;
        self.db.put_embeddings(model, items)
    }

    fn check(&self) -> Result<Consistency> {
        Ok(self.consistency()?.0)
    }

    fn repair(&mut self) -> Result<Consistency> {
        self.writable("repair")?;
        let (found, missing, extra) = self.consistency()?;
        if missing.is_empty() && extra.is_empty() {
            return Ok(found);
        }
        // Extra entries go first (an id indexed twice is removed, then added once again below).
        let mut readd: Vec<String> = Vec::new();
        for id in &extra {
            if readd.last() == Some(id) {
                continue;
            }
            self.index.delete(id)?;
            if self.db.get(id)?.is_some() {
                readd.push(id.clone());
            }
        }
        let index = &mut self.index;
        if found.indexed == 0 && extra.is_empty() {
            // A missing or rebuilt index: one scan in storage order beats a lookup per id.
            self.db.for_each_after(0, |row| {
                index.add(
                    row.seq,
                    &IndexDoc::of(&row.doc, row.actor_handle.as_deref()),
                )
            })?;
        } else {
            let mut todo = missing;
            todo.extend(readd);
            self.db.for_index(&todo, |row| {
                index.add(
                    row.seq,
                    &IndexDoc::of(&row.doc, row.actor_handle.as_deref()),
                )
            })?;
        }
        self.index.set_watermark(self.db.max_seq()?);
        self.index.commit()?;
        Ok(found)
    }

    fn get_actor(&self, id: &str) -> Result<Option<Actor>> {
        self.db.get_actor(id)
    }

    fn stats(&self) -> Result<Stats> {
        self.db.stats()
    }

    fn search(&self, q: &SearchQuery) -> Result<Vec<SearchHit>> {
        // A writer searches what it has committed: flush first to see the latest batches.
        if self.index_missing {
            return Err(StoreError::IndexUnavailable {
                dir: self.dir.join("index").display().to_string(),
            });
        }
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
                    source: Box::new(source),
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
            let (snippet, highlighted) = if snippet.fragment().trim().is_empty() {
                (doc.text.chars().take(200).collect::<String>(), Vec::new())
            } else {
                (
                    snippet.fragment().to_string(),
                    snippet.highlighted().to_vec(),
                )
            };
            let (snippet, highlighted) = collapse_whitespace(&snippet, &highlighted);
            out.push(SearchHit {
                id,
                highlighted,
                title: doc.title,
                snippet,
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
    use crate::conformance;

    fn writer(dir: &Path) -> EmbeddedStore {
        EmbeddedStore::open_write(dir, StoreOptions::default(), "test", Wait::No).unwrap()
    }

    #[test]
    fn conforms() {
        let dirs = std::cell::RefCell::new(Vec::new());
        conformance::run_all(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = writer(dir.path());
            dirs.borrow_mut().push(dir);
            store
        });
    }

    #[test]
    fn readers_see_commits_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let empty = EmbeddedStore::open_read(dir.path()).unwrap();
        assert_eq!(empty.stats().unwrap().documents, 0);
        assert!(empty.check().unwrap().ok);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "a reader creates nothing"
        );
        let mut w = writer(dir.path());
        let docs: Vec<Document> = (0..5).map(conformance::document).collect();
        w.put_batch(&docs, &[]).unwrap();
        w.flush().unwrap();
        // A reader beside the writer: it takes no lock.
        let mut r = EmbeddedStore::open_read(dir.path()).unwrap();
        assert_eq!(r.stats().unwrap().documents, 5);
        assert!(r.check().unwrap().ok);
        assert!(matches!(
            r.put_batch(&docs, &[]),
            Err(StoreError::ReadOnly { .. })
        ));
        assert!(matches!(r.repair(), Err(StoreError::ReadOnly { .. })));
        // A second writer is refused while the first is open.
        assert!(matches!(
            EmbeddedStore::open_write(dir.path(), StoreOptions::default(), "x", Wait::No),
            Err(StoreError::Busy { .. })
        ));
        drop(w);
        writer(dir.path());
    }

    #[test]
    fn repair_indexes_what_is_missing_and_removes_extras() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path());
        let docs: Vec<Document> = (0..8).map(conformance::document).collect();
        w.put_batch(&docs, &[]).unwrap();
        w.flush().unwrap();
        // Damage the index behind the store's back: two documents gone, one indexed twice, one
        // that was never stored.
        w.index.delete("d0002").unwrap();
        w.index.delete("d0005").unwrap();
        let twice = conformance::document(3);
        w.index.add(3, &IndexDoc::of(&twice, None)).unwrap();
        let stranger = conformance::document(99);
        w.index.add(99, &IndexDoc::of(&stranger, None)).unwrap();
        w.index.commit().unwrap();
        let c = w.check().unwrap();
        assert!(!c.ok);
        assert_eq!((c.missing_from_index, c.extra_in_index), (2, 2), "{c:?}");
        assert_eq!(w.repair().unwrap(), c);
        let after = w.check().unwrap();
        assert!(after.ok, "{after:?}");
        assert_eq!(after.indexed, 8);
        drop(w);
        // Opening for writing repairs too.
        let mut w = writer(dir.path());
        w.index.delete("d0001").unwrap();
        w.index.commit().unwrap();
        drop(w);
        assert!(
            !EmbeddedStore::open_read(dir.path())
                .unwrap()
                .check()
                .unwrap()
                .ok
        );
        let w = writer(dir.path());
        assert!(w.check().unwrap().ok);
    }

    #[test]
    fn findings_citing_missing_documents_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path());
        w.put_batch(&[conformance::document(1)], &[]).unwrap();
        w.flush().unwrap();
        let mut f = varta_core::Finding {
            id: "f".into(),
            kind: "k".into(),
            detector: "d".into(),
            parameters: serde_json::Value::Null,
            score: 1.0,
            first_seen: None,
            created_at: chrono::Utc::now(),
            documents: vec!["d0001".into(), "gone".into()],
            body: serde_json::Value::Null,
        };
        w.put_findings(std::slice::from_ref(&f)).unwrap();
        let c = w.check().unwrap();
        assert_eq!(c.findings_citing_missing, 1);
        assert!(!c.ok);
        f.documents.pop();
        w.put_findings(&[f]).unwrap();
        assert!(w.check().unwrap().ok);
    }
}
