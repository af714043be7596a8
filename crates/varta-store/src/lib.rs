//! Where Varta keeps what it has read.
//!
//! The [`Store`] trait is what the CLI and the detectors program against. Its embedded
//! implementation, [`EmbeddedStore`], keeps the documents in SQLite (the system of record) and a
//! tantivy full-text index beside it (derived data, rebuilt from SQLite when it lags). A team-mode
//! PostgreSQL implementation comes later as a second implementation of the same trait; no SQL lives
//! outside [`sqlite`].

mod embedded;
pub mod index;
pub mod sqlite;

pub use embedded::{EmbeddedStore, StoreOptions};
pub use index::FoldingTokenizer;

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use varta_core::{Actor, Claim, Document, Finding};

/// Errors of the store; each names the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {op}: {source}")]
    Sqlite {
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("search index {op}: {source}")]
    Index {
        op: &'static str,
        #[source]
        source: tantivy::TantivyError,
    },
    #[error("cannot open the data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the database was written by a newer Varta (schema {found}, this build knows up to {known})"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("corrupt row {id} in column {column}: {message}")]
    CorruptRow {
        id: String,
        column: &'static str,
        message: String,
    },
    #[error("invalid search query: {0}")]
    Query(String),
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
    pub title: Option<String>,
    pub snippet: String,
    pub score: f32,
    pub url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub language: String,
    pub actor: Option<String>,
}

/// The storage Varta's stages talk through.
pub trait Store {
    /// Stores the documents whose ids are not stored yet, with their actors, atomically: after a crash
    /// either the whole batch is stored or none of it.
    fn put_batch(&mut self, docs: &[Document], actors: &[Actor]) -> Result<BatchOutcome>;
    /// Makes everything stored so far searchable and durable in the index.
    fn flush(&mut self) -> Result<()>;
    fn get(&self, id: &str) -> Result<Option<Document>>;
    fn get_actor(&self, id: &str) -> Result<Option<Actor>>;
    fn stats(&self) -> Result<Stats>;
    fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>>;
    /// Every document published (or, undated, collected) at or after `since`, in storage order.
    fn for_each_document(
        &self,
        since: Option<DateTime<Utc>>,
        f: &mut dyn FnMut(Document) -> Result<()>,
    ) -> Result<()>;
    /// One page of [`Store::for_each_document`]'s scan: up to `limit` documents after the
    /// position `after` (0: from the start), and the position to continue from. A detector that
    /// writes to the store between pages (embeddings, findings) keeps only a page in memory.
    fn documents_page(
        &self,
        since: Option<DateTime<Utc>>,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<Document>, i64)>;
    /// Stores detector findings; a finding with an id already stored replaces it.
    fn put_findings(&mut self, findings: &[Finding]) -> Result<()>;
    /// Stored findings of one kind (or all), best score first.
    fn findings(&self, kind: Option<&str>) -> Result<Vec<Finding>>;
    /// Stores the claims whose ids are not stored yet; returns how many were new.
    fn put_claims(&mut self, claims: &[Claim]) -> Result<usize>;
    /// Every stored claim, in the order added.
    fn claims(&self) -> Result<Vec<Claim>>;
    /// Cached embeddings of `owners` (claim or document ids, with a prefix kind) under `model`.
    fn embeddings(&self, model: &str, owners: &[&str]) -> Result<Vec<Option<Vec<f32>>>>;
    fn put_embeddings(&mut self, model: &str, items: &[(&str, &[f32])]) -> Result<()>;
}
