//! `varta ingest`: readers into the store, in batches, with progress and a summary.

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use varta_core::{Actor, Document};
use varta_ingest::{RecordError, Sink, SinkError};
use varta_store::{EmbeddedStore, Store};

/// What `ingest --json` prints as its last line.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub ingested: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub errors: Vec<RecordError>,
}

/// Errors kept for the summary; past this only the count grows (a hostile file can have millions).
const MAX_KEPT_ERRORS: usize = 1000;
/// Errors printed as they happen when not in `--json` mode.
const MAX_PRINTED_ERRORS: u64 = 20;

pub struct StoreSink<'a> {
    store: &'a mut EmbeddedStore,
    batch_size: usize,
    docs: Vec<Document>,
    actors: HashMap<String, Actor>,
    pub summary: Summary,
    pub skipped: u64,
    progress: ProgressBar,
    print_errors: bool,
    started: Instant,
}

impl<'a> StoreSink<'a> {
    pub fn new(store: &'a mut EmbeddedStore, batch_size: usize, print_errors: bool) -> Self {
        // Hidden when stderr is not a terminal (CI, pipes, scripts).
        let progress = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        progress.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {pos} records ({per_sec}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        progress.enable_steady_tick(Duration::from_millis(200));
        StoreSink {
            store,
            batch_size,
            docs: Vec::with_capacity(batch_size),
            actors: HashMap::new(),
            summary: Summary::default(),
            skipped: 0,
            progress,
            print_errors,
            started: Instant::now(),
        }
    }

    fn write_batch(&mut self) -> Result<(), varta_store::StoreError> {
        if self.docs.is_empty() {
            return Ok(());
        }
        let actors: Vec<Actor> = self.actors.drain().map(|(_, a)| a).collect();
        let outcome = self.store.put_batch(&self.docs, &actors)?;
        self.summary.ingested += outcome.new_count() as u64;
        self.summary.duplicates += outcome.duplicate_count() as u64;
        self.progress.inc(self.docs.len() as u64);
        self.docs.clear();
        self.set_message();
        Ok(())
    }

    fn set_message(&self) {
        let s = &self.summary;
        self.progress.set_message(format!(
            "new {}, duplicates {}, errors {}",
            s.ingested, s.duplicates, s.failed
        ));
    }

    /// Stores what is pending and makes it searchable.
    pub fn finish(mut self) -> Result<(Summary, u64, Duration)> {
        self.write_batch()?;
        self.store.flush()?;
        self.progress.finish_and_clear();
        Ok((self.summary, self.skipped, self.started.elapsed()))
    }
}

impl Sink for StoreSink<'_> {
    fn document(&mut self, doc: Document, actor: Option<Actor>) -> Result<(), SinkError> {
        if let Some(a) = actor {
            // The latest record's view of an actor wins within a batch, as it would across batches.
            self.actors.insert(a.id.clone(), a);
        }
        self.docs.push(doc);
        if self.docs.len() >= self.batch_size {
            self.write_batch().map_err(|e| SinkError(Box::new(e)))?;
        }
        Ok(())
    }

    fn error(&mut self, error: RecordError) {
        self.summary.failed += 1;
        if self.print_errors && self.summary.failed <= MAX_PRINTED_ERRORS {
            self.progress.suspend(|| eprintln!("error: {error}"));
        } else if self.print_errors && self.summary.failed == MAX_PRINTED_ERRORS + 1 {
            self.progress
                .suspend(|| eprintln!("error: (more errors follow; the summary counts them all)"));
        }
        tracing::debug!(%error, "record failed");
        if self.summary.errors.len() < MAX_KEPT_ERRORS {
            self.summary.errors.push(error);
        }
        self.set_message();
    }

    fn skipped(&mut self, what: &str) {
        self.skipped += 1;
        tracing::debug!(what, "skipped");
    }
}
