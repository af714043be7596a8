//! The tantivy full-text index over titles and texts, with Varta's folding tokenizer.
//!
//! The index is derived data: SQLite is the record. Only the holder of the data directory's writer
//! lock opens it for writing (creating or rebuilding it when needed); readers open it as they find
//! it and write nothing, not even tantivy's lock files when the directory is read-only. Whether it
//! holds exactly the stored documents is checked id by id against SQLite ([`SearchIndex::ids`]),
//! never trusted to a high-water mark.

use crate::{Result, StoreError};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, WatchCallback, WatchHandle, WritePtr,
};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term,
};

fn idx(op: &'static str) -> impl FnOnce(tantivy::TantivyError) -> StoreError {
    move |source| {
        // tantivy wraps I/O errors in several variants, some only by their Debug text.
        let text = format!("{source:?}");
        if text.contains("os error 28")
            || text.contains("StorageFull")
            || text.contains("QuotaExceeded")
        {
            StoreError::DiskFull {
                what: "search index",
                op,
                source: Box::new(source),
            }
        } else {
            StoreError::Index {
                op,
                source: Box::new(source),
            }
        }
    }
}

/// Name under which [`FoldingTokenizer`] is registered.
const TOKENIZER: &str = "varta_fold";
/// Indexing threads. Tokenizing and folding is the costliest part of ingest; two threads keep up
/// with the reader on this project's two-core machines.
const INDEX_THREADS: usize = 2;
/// tantivy's minimum heap per indexing thread.
pub(crate) const MIN_HEAP_PER_THREAD: usize = 15_000_000;
/// Past this many segments, closing the writer waits for merges.
const MAX_SEGMENTS_WITHOUT_MERGE: usize = 12;
/// Longer tokens are not words anyone searches for; tantivy would reject them past 64 KiB anyway.
const MAX_TOKEN_BYTES: usize = 200;

/// Splits on the original text's word boundaries and emits each word's folded form, with offsets
/// into the original, so that snippets highlight the right characters whatever folding did.
#[derive(Clone, Default)]
pub struct FoldingTokenizer;

pub struct FoldingTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

fn is_word_char(c: char) -> bool {
    varta_text::fold::is_alnum(c)
        || matches!(
            c,
            '\'' | '\u{2019}' | '\u{02BC}' | '\u{2018}' | '`' | '\u{00B4}' | '\u{02B9}'
        )
        || matches!(c, '\u{0300}'..='\u{036F}')
        || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

impl Tokenizer for FoldingTokenizer {
    type TokenStream<'a> = FoldingTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> FoldingTokenStream {
        let mut tokens = Vec::new();
        let mut position = 0usize;
        let mut start: Option<usize> = None;
        let mut folded = String::new();
        let mut emit = |s: usize, e: usize, tokens: &mut Vec<Token>| {
            varta_text::fold::fold_word(&text[s..e], &mut folded);
            for (_, t) in varta_text::fold::tokens(&folded) {
                if t.len() > MAX_TOKEN_BYTES {
                    continue;
                }
                tokens.push(Token {
                    offset_from: s,
                    offset_to: e,
                    position,
                    text: t.to_string(),
                    position_length: 1,
                });
                position += 1;
            }
        };
        for (i, c) in text.char_indices() {
            if is_word_char(c) {
                start.get_or_insert(i);
            } else if let Some(s) = start.take() {
                emit(s, i, &mut tokens);
            }
        }
        if let Some(s) = start {
            emit(s, text.len(), &mut tokens);
        }
        FoldingTokenStream { tokens, next: 0 }
    }
}

impl TokenStream for FoldingTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self
            .next
            .saturating_sub(1)
            .min(self.tokens.len().saturating_sub(1))]
    }
    fn token_mut(&mut self) -> &mut Token {
        let i = self
            .next
            .saturating_sub(1)
            .min(self.tokens.len().saturating_sub(1));
        &mut self.tokens[i]
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub title: Field,
    pub text: Field,
    pub lang: Field,
    pub actor: Field,
    pub published: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_opts = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        title: b.add_text_field("title", text_opts.clone()),
        text: b.add_text_field("text", text_opts),
        lang: b.add_text_field("lang", STRING),
        actor: b.add_text_field("actor", STRING),
        published: b.add_i64_field("published", INDEXED),
    };
    (b.build(), fields)
}

/// A document as the index sees it.
pub(crate) struct IndexDoc<'a> {
    pub id: &'a str,
    pub title: Option<&'a str>,
    pub text: &'a str,
    pub lang: &'a str,
    pub actor_id: Option<&'a str>,
    pub actor_handle: Option<&'a str>,
    pub published: Option<i64>,
}

impl<'a> IndexDoc<'a> {
    pub(crate) fn of(d: &'a varta_core::Document, actor_handle: Option<&'a str>) -> IndexDoc<'a> {
        IndexDoc {
            id: &d.id,
            title: d.title.as_deref(),
            text: &d.text,
            lang: &d.language,
            actor_id: d.actor_id.as_deref(),
            actor_handle,
            published: d.published_at.map(|t| t.timestamp()),
        }
    }
}

pub(crate) struct SearchIndex {
    index: Index,
    fields: Fields,
    writer: Option<IndexWriter>,
    writer_heap_bytes: usize,
    /// Highest `seq` committed to the index.
    committed_seq: i64,
    /// Highest `seq` added since the last commit.
    pending_seq: i64,
    /// Additions or deletions since the last commit.
    dirty: bool,
}

/// What the filters of a search are.
pub(crate) struct Filters<'a> {
    pub lang: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it, or re-creating it when its schema is not this build's
    /// or it carries no watermark (it is derived data, rebuilt from SQLite).
    pub(crate) fn open(dir: &Path, writer_heap_bytes: usize) -> Result<SearchIndex> {
        let (schema, fields) = schema();
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let existing = Index::open_in_dir(dir)
            .ok()
            .filter(|i| i.schema() == schema);
        let (index, committed_seq) = match existing {
            Some(index) => {
                let metas = index.load_metas().map_err(idx("read metadata"))?;
                match metas.payload.as_deref().and_then(|p| p.parse::<i64>().ok()) {
                    Some(seq) => (index, seq),
                    None => (Self::recreate(dir, &schema)?, 0),
                }
            }
            None => (Self::recreate(dir, &schema)?, 0),
        };
        Ok(Self::with(index, fields, writer_heap_bytes, committed_seq))
    }

    /// An opened index with Varta's tokenizer registered.
    fn with(index: Index, fields: Fields, writer_heap_bytes: usize, committed_seq: i64) -> Self {
        index
            .tokenizers()
            .register(TOKENIZER, TextAnalyzer::from(FoldingTokenizer));
        SearchIndex {
            index,
            fields,
            writer: None,
            writer_heap_bytes,
            committed_seq,
            pending_seq: committed_seq,
            dirty: false,
        }
    }

    /// Opens the index in `dir` for searching only. Nothing is created or rebuilt: an index that
    /// is missing or of another schema is [`StoreError::IndexUnavailable`].
    pub(crate) fn open_read(dir: &Path) -> Result<SearchIndex> {
        let (schema, fields) = schema();
        let unavailable = || StoreError::IndexUnavailable {
            dir: dir.display().to_string(),
        };
        let inner = MmapDirectory::open(dir).map_err(|_| unavailable())?;
        let directory = ReadOnlyLocks {
            inner,
            root: dir.to_path_buf(),
        };
        let index = Index::open(directory).map_err(|_| unavailable())?;
        if index.schema() != schema {
            return Err(unavailable());
        }
        // A reader never commits: no writer heap, no watermark of its own.
        Ok(Self::with(index, fields, 0, 0))
    }

    /// An empty index in memory, for a reader that found none on disk.
    pub(crate) fn empty() -> SearchIndex {
        let (schema, fields) = schema();
        Self::with(Index::create_in_ram(schema), fields, 0, 0)
    }

    fn recreate(dir: &Path, schema: &Schema) -> Result<Index> {
        let io = |source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        };
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io)?;
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        let index = Index::create_in_dir(dir, schema.clone()).map_err(idx("create"))?;
        Ok(index)
    }

    fn writer(&mut self) -> Result<&mut IndexWriter> {
        if self.writer.is_none() {
            // tantivy wants at least 15 MB of heap per indexing thread; a small budget gets one.
            let threads = (self.writer_heap_bytes / MIN_HEAP_PER_THREAD).clamp(1, INDEX_THREADS);
            let w = self
                .index
                .writer_with_num_threads(threads, self.writer_heap_bytes)
                .map_err(idx("open writer"))?;
            self.writer = Some(w);
        }
        // Just set above when it was missing.
        self.writer
            .as_mut()
            .ok_or(StoreError::Query("index writer unavailable".into()))
    }

    /// Adds a document stored in SQLite under `seq`. Callers add in increasing `seq` order.
    pub(crate) fn add(&mut self, seq: i64, d: &IndexDoc<'_>) -> Result<()> {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, d.id);
        if let Some(t) = d.title {
            doc.add_text(f.title, t);
        }
        doc.add_text(f.text, d.text);
        doc.add_text(f.lang, d.lang);
        if let Some(a) = d.actor_id {
            doc.add_text(f.actor, a.to_lowercase());
        }
        if let Some(h) = d.actor_handle {
            doc.add_text(f.actor, h.to_lowercase());
        }
        if let Some(p) = d.published {
            doc.add_i64(f.published, p);
        }
        self.writer()?
            .add_document(doc)
            .map_err(idx("add document"))?;
        self.pending_seq = self.pending_seq.max(seq);
        self.dirty = true;
        Ok(())
    }

    /// Records `seq` as the highest stored document the next commit covers.
    pub(crate) fn set_watermark(&mut self, seq: i64) {
        self.pending_seq = self.pending_seq.max(seq);
    }

    /// Removes every entry of document `id`.
    pub(crate) fn delete(&mut self, id: &str) -> Result<()> {
        let term = Term::from_field_text(self.fields.id, id);
        self.writer()?.delete_term(term);
        self.dirty = true;
        Ok(())
    }

    /// The ids of every live entry, sorted; an id indexed twice appears twice.
    pub(crate) fn ids(&self) -> Result<Vec<String>> {
        let searcher = self.reader()?.searcher();
        let mut out = Vec::with_capacity(searcher.num_docs() as usize);
        for segment in searcher.segment_readers() {
            let inverted = segment
                .inverted_index(self.fields.id)
                .map_err(idx("read ids"))?;
            let alive = segment.alive_bitset();
            let mut terms = inverted.terms().stream().map_err(|e| StoreError::Index {
                op: "read ids",
                source: Box::new(e),
            })?;
            while terms.advance() {
                let id = String::from_utf8_lossy(terms.key()).into_owned();
                let live = match alive {
                    // Without deletes every posting is live; each id posting counts once.
                    None => terms.value().doc_freq as usize,
                    Some(alive) => {
                        let mut postings = inverted
                            .read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)
                            .map_err(|e| StoreError::Index {
                                op: "read ids",
                                source: Box::new(e),
                            })?;
                        let mut n = 0;
                        let mut doc = postings.doc();
                        while doc != tantivy::TERMINATED {
                            n += usize::from(alive.is_alive(doc));
                            doc = postings.advance();
                        }
                        n
                    }
                };
                for _ in 0..live {
                    out.push(id.clone());
                }
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Commits what was added or deleted, recording the watermark.
    pub(crate) fn commit(&mut self) -> Result<()> {
        if self.pending_seq == self.committed_seq && !self.dirty {
            return Ok(());
        }
        let seq = self.pending_seq;
        let w = self.writer()?;
        let mut prepared = w.prepare_commit().map_err(idx("prepare commit"))?;
        prepared.set_payload(&seq.to_string());
        prepared.commit().map_err(idx("commit"))?;
        self.committed_seq = seq;
        self.dirty = false;
        Ok(())
    }

    /// Closes the writer. Background merges are waited for only when many segments have piled up:
    /// after a large ingest the wait can take a fifth of the run, and an unfinished merge is harmless
    /// (its files are collected by the next writer), but many segments slow every search.
    pub(crate) fn close(&mut self) -> Result<()> {
        if let Some(w) = self.writer.take() {
            let segments = self
                .index
                .searchable_segment_ids()
                .map_err(idx("list segments"))?
                .len();
            if segments > MAX_SEGMENTS_WITHOUT_MERGE {
                w.wait_merging_threads().map_err(idx("finish merges"))?;
            }
        }
        Ok(())
    }

    pub(crate) fn reader(&self) -> Result<IndexReader> {
        self.index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(idx("open reader"))
    }

    pub(crate) fn num_docs(&self) -> Result<u64> {
        Ok(self.reader()?.searcher().num_docs())
    }

    /// Parses `text` (lenient: a stray quote or colon never fails a search) and combines it with the
    /// filters.
    pub(crate) fn build_query(&self, text: &str, filters: &Filters<'_>) -> Box<dyn Query> {
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if text.trim().is_empty() {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        } else {
            let mut qp = QueryParser::for_index(&self.index, vec![f.title, f.text]);
            qp.set_conjunction_by_default();
            qp.set_field_boost(f.title, 2.0);
            let (q, _errors) = qp.parse_query_lenient(text);
            clauses.push((Occur::Must, q));
        }
        if let Some(l) = filters.lang {
            let t = Term::from_field_text(f.lang, &l.to_lowercase());
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
            ));
        }
        if let Some(a) = filters.actor {
            let t = Term::from_field_text(f.actor, &a.to_lowercase());
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
            ));
        }
        if filters.since.is_some() || filters.until.is_some() {
            let lo = filters.since.map_or(Bound::Unbounded, |s| {
                Bound::Included(Term::from_field_i64(f.published, s))
            });
            let hi = filters.until.map_or(Bound::Unbounded, |s| {
                Bound::Included(Term::from_field_i64(f.published, s))
            });
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// The ids and scores of the best `limit` matches, best first, with the query for snippets.
    pub(crate) fn search(
        &self,
        reader: &IndexReader,
        query: &dyn Query,
        limit: usize,
    ) -> Result<Vec<(String, f32)>> {
        let searcher = reader.searcher();
        let top: Vec<(f32, DocAddress)> = searcher
            .search(query, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(idx("search"))?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(idx("read hit"))?;
            if let Some(id) = doc.get_first(self.fields.id).and_then(|v| v.as_str()) {
                out.push((id.to_string(), score));
            }
        }
        Ok(out)
    }

    pub(crate) fn text_field(&self) -> Field {
        self.fields.text
    }
}

/// The index directory as a reader sees it: tantivy's own, except that a lock a reader takes (the
/// meta lock that keeps a writer's garbage collection from deleting files a reader is opening)
/// falls back to a shared `flock` on a read-only handle when the lock file cannot be opened for
/// writing (a read-only directory, a full disk). Without any lock file no writer ever collected
/// garbage here, so there is nothing to hold off.
#[derive(Clone, Debug)]
struct ReadOnlyLocks {
    inner: MmapDirectory,
    root: std::path::PathBuf,
}

/// A lock held through a read-only handle (released when it closes), or none.
struct ReadLockFile {
    _file: Option<std::fs::File>,
}

impl Directory for ReadOnlyLocks {
    fn get_file_handle(
        &self,
        path: &Path,
    ) -> std::result::Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }
    fn delete(&self, path: &Path) -> std::result::Result<(), DeleteError> {
        self.inner.delete(path)
    }
    fn exists(&self, path: &Path) -> std::result::Result<bool, OpenReadError> {
        self.inner.exists(path)
    }
    fn open_write(&self, path: &Path) -> std::result::Result<WritePtr, OpenWriteError> {
        self.inner.open_write(path)
    }
    fn atomic_read(&self, path: &Path) -> std::result::Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }
    fn atomic_write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        self.inner.atomic_write(path, data)
    }
    fn sync_directory(&self) -> std::io::Result<()> {
        self.inner.sync_directory()
    }
    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
    fn acquire_lock(&self, lock: &Lock) -> std::result::Result<DirectoryLock, LockError> {
        match self.inner.acquire_lock(lock) {
            Err(LockError::IoError(_)) => {}
            other => return other,
        }
        let file = match std::fs::File::open(self.root.join(&lock.filepath)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DirectoryLock::from(Box::new(ReadLockFile { _file: None })));
            }
            Err(e) => return Err(LockError::IoError(Arc::new(e))),
        };
        // A shared lock excludes the writer's exclusive one all the same.
        let taken = if lock.is_blocking {
            file.lock_shared()
                .map_err(|e| LockError::IoError(Arc::new(e)))
        } else {
            file.try_lock_shared().map_err(|_| LockError::LockBusy)
        };
        taken?;
        Ok(DirectoryLock::from(Box::new(ReadLockFile {
            _file: Some(file),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(String, usize, usize)> {
        let mut t = FoldingTokenizer;
        let mut ts = t.token_stream(s);
        let mut out = vec![];
        while ts.advance() {
            let k = ts.token();
            out.push((k.text.clone(), k.offset_from, k.offset_to));
        }
        out
    }

    #[test]
    fn folds_with_original_offsets() {
        let s = "Укрaїна — пов’язаних";
        let t = toks(s);
        assert_eq!(t[0].0, "україна");
        assert_eq!(&s[t[0].1..t[0].2], "Укрaїна");
        assert_eq!(t[1].0, "повязаних");
    }

    #[test]
    fn empty_and_punctuation_only() {
        assert!(toks("").is_empty());
        assert!(toks(" — !!! ").is_empty());
    }
}
