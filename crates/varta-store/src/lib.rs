//! Where Varta keeps what it has read.
//!
//! The [`Store`] trait is what the jobs and the detectors program against. Its embedded
//! implementation, [`EmbeddedStore`], keeps the documents in SQLite (the system of record) and a
//! tantivy full-text index beside it (derived data, checked against SQLite and repaired from it). A
//! team-mode PostgreSQL implementation comes later as a second implementation of the same trait,
//! held to the same [`conformance`] suite; no SQL lives outside [`sqlite`].
//!
//! A data directory is shared by any number of processes: writers take the directory's
//! [`WriteLock`] (one at a time), readers open the store read-only and never wait, never write.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod embedded;
pub mod index;
mod lock;
pub mod sqlite;
pub mod watch_db;

pub use embedded::{EmbeddedStore, StoreOptions};
pub use index::FoldingTokenizer;
pub use lock::{LOCK_FILE, LockHolder, Wait, WriteLock};
pub use watch_db::{OutboxCounts, OutboxItem, WatchDb};

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use varta_core::{Actor, Claim, Document, Finding};

/// The error of a storage backend (SQLite, tantivy, later PostgreSQL), kept as the source of a
/// [`StoreError`] so that no caller depends on the backend's types.
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors of the store; each names the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database {op}: {source}")]
    Database {
        op: &'static str,
        #[source]
        source: BackendError,
    },
    /// The search index failed.
    #[error("search index {op}: {source}")]
    Index {
        op: &'static str,
        #[source]
        source: BackendError,
    },
    /// The disk (or the user's quota) is full: nothing of the failed operation was stored, and
    /// what was stored before is intact.
    #[error(
        "{what} {op}: no space left on the device (free some and run it again: nothing stored is lost)"
    )]
    DiskFull {
        what: &'static str,
        op: &'static str,
        #[source]
        source: BackendError,
    },
    #[error("cannot open the data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the writer lock and the caller chose not to wait.
    #[error("the data directory {dir} is being written by {holder}; try again when it is done")]
    Busy { dir: String, holder: String },
    /// A write on a store opened for reading.
    #[error("the store is open for reading only ({op})")]
    ReadOnly { op: &'static str },
    #[error(
        "the database was written by a newer Varta (schema {found}, this build knows up to {known})"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// A reader found a database an older Varta wrote; a writer upgrades it.
    #[error(
        "the database is from an older Varta (schema {found}, this build writes {known}): run a \
         writing command (e.g. `varta check --repair`) once to upgrade it"
    )]
    SchemaTooOld { found: i64, known: i64 },
    /// The search index is missing or from another version; a writer rebuilds it.
    #[error(
        "the search index in {dir} is missing or from another version of Varta: run a writing \
         command (e.g. `varta check --repair`) to rebuild it from the database"
    )]
    IndexUnavailable { dir: String },
    #[error("corrupt row {id} in column {column}: {message}")]
    CorruptRow {
        id: String,
        column: &'static str,
        message: String,
    },
    #[error("invalid search query: {0}")]
    Query(String),
}

/// What kind of failure a [`StoreError`] is, for callers that map failures to exit codes or HTTP
/// statuses without matching every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// Another writer holds the data directory.
    Busy,
    /// The disk is full.
    DiskFull,
    /// The caller asked for something invalid (a bad query, a write on a reader).
    Invalid,
    /// The store's files are damaged or of another version.
    Corrupt,
    /// The backend or the file system failed.
    Failed,
}

impl StoreError {
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            StoreError::Busy { .. } => StoreErrorKind::Busy,
            StoreError::DiskFull { .. } => StoreErrorKind::DiskFull,
            StoreError::Query(_) | StoreError::ReadOnly { .. } => StoreErrorKind::Invalid,
            StoreError::SchemaTooNew { .. }
            | StoreError::SchemaTooOld { .. }
            | StoreError::IndexUnavailable { .. }
            | StoreError::CorruptRow { .. } => StoreErrorKind::Corrupt,
            StoreError::Database { .. } | StoreError::Index { .. } => StoreErrorKind::Failed,
            StoreError::DataDir { source, .. } if is_disk_full(source) => StoreErrorKind::DiskFull,
            StoreError::DataDir { .. } => StoreErrorKind::Failed,
        }
    }
}

/// Whether an I/O error is the disk (or quota) being full.
pub(crate) fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || e.raw_os_error() == Some(28)
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What [`Store::put_batch`] did with each document, in input order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchOutcome {
    /// `true` where the document was new, `false` where its id was already stored.
    pub inserted: Vec<bool>,
}

impl BatchOutcome {
    pub fn new_count(&self) -> usize {
        self.inserted.iter().filter(|b| **b).count()
    }
    pub fn duplicate_count(&self) -> usize {
        self.inserted.len() - self.new_count()
    }
}

/// Counts over the whole store (`varta stats`).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub documents: u64,
    pub actors: u64,
    pub languages: BTreeMap<String, u64>,
    pub formats: BTreeMap<String, u64>,
}

/// Documents of one source and language published (or, undated, collected) on one day (UTC).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Volume {
    pub day: chrono::NaiveDate,
    pub source: String,
    pub language: String,
    pub documents: u64,
}

/// A full-text search with optional filters (`varta search`).
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Words, "phrases", `-excluded`, `a OR b`; all words must match unless OR is used.
    pub text: String,
    pub language: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// An actor id (`x:123`) or handle (`newsua`), case-insensitive.
    pub actor: Option<String>,
    pub limit: usize,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub id: String,
    /// Byte ranges of `snippet` that matched the query (for highlighting; not in JSON).
    #[serde(skip)]
    pub highlighted: Vec<(usize, usize)>,
    pub title: Option<String>,
    pub snippet: String,
    pub score: f32,
    pub url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub language: String,
    pub actor: Option<String>,
}

/// Where a page of [`Store::documents_page`] ends: pass it back for the next page. Opaque, so
/// that each backend keeps its own position (a row number here, a key elsewhere).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageCursor(i64);

impl PageCursor {
    /// The start of the scan.
    pub const START: PageCursor = PageCursor(0);

    /// The cursor as text, to keep between runs (the watcher's journal).
    pub fn token(self) -> String {
        self.0.to_string()
    }

    /// A cursor [`PageCursor::token`] wrote.
    pub fn from_token(token: &str) -> Option<PageCursor> {
        token.parse().ok().map(PageCursor)
    }
}

/// How the record and the search index (and the findings and the documents they cite) agree:
/// what `varta check` prints.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Consistency {
    /// Documents in the record.
    pub documents: u64,
    /// Documents the search index holds.
    pub indexed: u64,
    /// Stored documents the index lacks (unsearchable).
    pub missing_from_index: u64,
    /// Index entries that are not stored documents, or that repeat one.
    pub extra_in_index: u64,
    /// Stored findings.
    pub findings: u64,
    /// Findings that cite a document the record lacks.
    pub findings_citing_missing: u64,
    /// Up to 20 ids of each problem, for a person to look at.
    pub examples: Vec<String>,
    pub ok: bool,
}

/// Up to this many example ids in a [`Consistency`].
pub const CONSISTENCY_EXAMPLES: usize = 20;

/// A server access token as stored: never the secret itself, only a keyed hash of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub name: String,
    /// `reader`, `analyst` or `admin`.
    pub role: String,
    pub hash: [u8; 32],
    pub created_at: DateTime<Utc>,
}

/// One version of one object of a TAXII collection, as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiObject {
    /// The STIX id (`campaign--…`).
    pub id: String,
    /// The version: the object's `modified` (or `created`) timestamp as written.
    pub version: String,
    /// The STIX type.
    pub kind: String,
    /// The object's JSON.
    pub body: String,
}

/// A [`TaxiiObject`] with the time its collection received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTaxiiObject {
    pub object: TaxiiObject,
    /// Milliseconds since the epoch; one value per publishing transaction, strictly increasing
    /// from one transaction to the next, so that `added_after` never skips a later write.
    pub date_added_ms: i64,
}

/// Where a TAXII page ended: the last object returned, in (date added, id, version) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiCursor {
    pub date_added_ms: i64,
    pub id: String,
    pub version: String,
}

/// Which versions of each object a TAXII request wants (`match[version]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionMatch {
    pub all: bool,
    pub first: bool,
    pub last: bool,
    pub exact: Vec<String>,
}

/// A page request over one TAXII collection.
#[derive(Debug, Clone, Default)]
pub struct TaxiiQuery {
    pub collection: String,
    /// Only objects added strictly after this (milliseconds since the epoch).
    pub added_after_ms: Option<i64>,
    /// Only objects after this position (the `next` of the previous page).
    pub after: Option<TaxiiCursor>,
    /// Only these ids (none: all).
    pub ids: Vec<String>,
    /// Only these STIX types (none: all).
    pub types: Vec<String>,
    pub versions: VersionMatch,
    pub limit: usize,
}

/// The storage Varta's stages talk through. `Send`, so that a job can hand it to a writer thread.
pub trait Store: Send {
    /// Stores the documents whose ids are not stored yet, with their actors, atomically: after a crash
    /// either the whole batch is stored or none of it.
    fn put_batch(&mut self, docs: &[Document], actors: &[Actor]) -> Result<BatchOutcome>;
    /// Makes everything stored so far searchable and durable in the index.
    fn flush(&mut self) -> Result<()>;
    fn get(&self, id: &str) -> Result<Option<Document>>;
    fn get_actor(&self, id: &str) -> Result<Option<Actor>>;
    /// Up to `limit` actors whose ids sort after `after` ("" for the first page), by id.
    fn actors_page(&self, after: &str, limit: usize) -> Result<Vec<Actor>>;
    fn stats(&self) -> Result<Stats>;
    /// Searches what the index had committed when the store was opened (or last flushed).
    fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>>;
    /// Every document published (or, undated, collected) at or after `since`, in storage order.
    fn for_each_document(
        &self,
        since: Option<DateTime<Utc>>,
        f: &mut dyn FnMut(Document) -> Result<()>,
    ) -> Result<()>;
    /// One page of [`Store::for_each_document`]'s scan: up to `limit` documents after `after`
    /// ([`PageCursor::START`] for the first page), and where the next page starts (an empty
    /// page: the end). A detector that writes to the store between pages keeps only a page in
    /// memory.
    fn documents_page(
        &self,
        since: Option<DateTime<Utc>>,
        after: PageCursor,
        limit: usize,
    ) -> Result<(Vec<Document>, PageCursor)>;
    /// Stores detector findings; a finding with an id already stored replaces it.
    fn put_findings(&mut self, findings: &[Finding]) -> Result<()>;
    /// Removes findings a detector superseded (a narrative merged into another); returns how
    /// many were stored.
    fn delete_findings(&mut self, ids: &[&str]) -> Result<usize>;
    /// Where a scan of everything stored now ends: the next document stored comes after it.
    fn end_cursor(&self) -> Result<PageCursor>;
    /// Stored findings of one kind (or all), best score first.
    fn findings(&self, kind: Option<&str>) -> Result<Vec<Finding>>;
    /// The stored finding of this id.
    fn finding(&self, id: &str) -> Result<Option<Finding>>;
    /// Stores the claims whose ids are not stored yet; returns how many were new.
    fn put_claims(&mut self, claims: &[Claim]) -> Result<usize>;
    /// Every stored claim, in the order added.
    fn claims(&self) -> Result<Vec<Claim>>;
    /// Cached embeddings of `owners` (claim or document ids, with a prefix kind) under `model`.
    fn embeddings(&self, model: &str, owners: &[&str]) -> Result<Vec<Option<Vec<f32>>>>;
    fn put_embeddings(&mut self, model: &str, items: &[(&str, &[f32])]) -> Result<()>;
    /// Compares the record with the search index, and the findings with the documents they cite.
    fn check(&self) -> Result<Consistency>;
    /// Indexes what the index lacks and removes what it should not hold; returns the state found
    /// before repairing.
    fn repair(&mut self) -> Result<Consistency>;
    /// Documents per day, source and language, by day.
    fn volume(&self) -> Result<Vec<Volume>>;
    /// Stores a new access token; `false` when the name is taken (nothing changed).
    fn put_token(&mut self, token: &TokenRecord) -> Result<bool>;
    /// Every token, by name.
    fn tokens(&self) -> Result<Vec<TokenRecord>>;
    /// Removes a token; `false` when there was none of that name.
    fn revoke_token(&mut self, name: &str) -> Result<bool>;
    /// Adds to a TAXII collection the object versions it lacks, all with one date added, later
    /// than any before; returns how many were new.
    fn publish(&mut self, collection: &str, objects: &[TaxiiObject]) -> Result<usize>;
    /// Up to `query.limit` objects in (date added, id, version) order, and whether more follow.
    fn taxii_page(&self, query: &TaxiiQuery) -> Result<(Vec<StoredTaxiiObject>, bool)>;
}
