//! Readers for every input format Varta takes.
//!
//! Each reader turns bytes into [`varta_core::Document`]s and hands them, one at a time, to a
//! [`Sink`]. Input is written by adversaries, so readers stream, cap every size they read
//! ([`Limits`]), and report a bad record as a [`RecordError`] naming the file and the record while
//! the rest of the input goes on. Only a failing sink (the store) stops a run.

mod builder;
pub mod fetch;
mod formats;
mod input;
mod lines;
mod mapping;
pub mod sitemap;

pub use builder::DocBuilder;
pub use formats::csv::{RecordFields, RecordSplitter};
pub use formats::{CNT_HEADER, detect_format};
pub use input::{
    IngestOptions, extract_pages, ingest_fetched, ingest_paths, page_document, read_file,
};
pub use lines::{Block, BlockItem, BoundedLines, CsvBlocks, CsvSlices, Item as LineItem};
pub use mapping::FieldMap;

use serde::Serialize;
use varta_core::{Actor, Document};

/// Size caps that keep memory bounded whatever the input. Every one is configurable.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest file read whole (HTML pages, text files, feeds), in bytes. Streamed formats (CSV, JSON
    /// lines, Telegram exports) have no file cap, only the record cap below.
    pub max_file_bytes: u64,
    /// Largest single record (a CSV row, a JSON line, one Telegram message), in bytes.
    pub max_record_bytes: usize,
    /// Largest output of decompressing one `.gz` file, in bytes (a gzip bomb stops here).
    pub max_decompressed_bytes: u64,
    /// Largest body fetched from a URL, in bytes.
    pub max_fetch_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 64 << 20,
            max_record_bytes: 4 << 20,
            max_decompressed_bytes: 256 << 20,
            max_fetch_bytes: 32 << 20,
        }
    }
}

/// A record (or a whole file) that could not be read. The run goes on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordError {
    /// The file or URL.
    pub file: String,
    /// Which record: "line 17", "message 4 (id 1234)", "entry 3"; `None` when the whole file failed.
    pub record: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.record {
            Some(r) => write!(f, "{}: {}: {}", self.file, r, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// An error that stops the whole run: the sink (the store) failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub Box<dyn std::error::Error + Send + Sync>);

/// Where readers put what they read.
pub trait Sink {
    /// A document and, when known, its actor.
    fn document(&mut self, doc: Document, actor: Option<Actor>) -> Result<(), SinkError>;
    /// A record that could not be read.
    fn error(&mut self, error: RecordError);
    /// A file that was passed over on purpose (unknown type inside a folder, a service message).
    fn skipped(&mut self, _what: &str) {}
}
