//! The ingest job: readers into the store, in batches, with progress and a summary.
//!
//! Reading and converting records runs on the calling thread while a writer thread stores batches
//! (and tantivy indexes on its own thread), so ingest keeps both cores busy. Batches are stored
//! strictly in the order they were read, which crash recovery relies on.

use crate::{AppError, Notice, Observer, Progress, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::{Duration, Instant};
use varta_core::{Actor, Document};
use varta_ingest::IngestOptions;
use varta_ingest::{RecordError, Sink, SinkError};
use varta_store::Store;

/// What an ingest did, as `ingest --json` prints it.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub ingested: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub errors: Vec<RecordError>,
}

/// Errors kept for the summary; past this only the count grows (a hostile file can have millions).
const MAX_KEPT_ERRORS: usize = 1000;

type Batch = (Vec<Document>, Vec<Actor>);

struct Counters {
    ingested: AtomicU64,
    duplicates: AtomicU64,
    failed: AtomicU64,
    started: Instant,
}

impl Counters {
    fn message(&self) -> String {
        let stored =
            self.ingested.load(Ordering::Relaxed) + self.duplicates.load(Ordering::Relaxed);
        let rate = stored as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        format!(
            "({rate:.0}/s): new {}, duplicates {}, errors {}",
            self.ingested.load(Ordering::Relaxed),
            self.duplicates.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed)
        )
    }
}

struct StoreSink<'a> {
    tx: SyncSender<Batch>,
    batch_size: usize,
    docs: Vec<Document>,
    actors: HashMap<String, Actor>,
    errors: Vec<RecordError>,
    skipped: u64,
    counters: Arc<Counters>,
    progress: Arc<dyn Progress>,
    observer: &'a dyn Observer,
}

impl StoreSink<'_> {
    fn send(&mut self) -> Result<(), SinkError> {
        if self.docs.is_empty() {
            return Ok(());
        }
        let docs = std::mem::replace(&mut self.docs, Vec::with_capacity(self.batch_size));
        let actors: Vec<Actor> = self.actors.drain().map(|(_, a)| a).collect();
        // The writer only hangs up when the store failed; its error is reported after the join.
        self.tx
            .send((docs, actors))
            .map_err(|_| SinkError("the store stopped accepting documents".into()))
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
            self.send()?;
        }
        Ok(())
    }

    fn error(&mut self, error: RecordError) {
        self.counters.failed.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%error, "record failed");
        self.observer.notice(Notice::RecordFailed(error.clone()));
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(error);
        }
        self.progress.message(&self.counters.message());
    }

    fn skipped(&mut self, what: &str) {
        self.skipped += 1;
        tracing::debug!(what, "skipped");
    }
}

/// What one ingest did.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    /// Files passed over on purpose (unknown types inside a folder).
    pub skipped: u64,
    pub elapsed: Duration,
}

impl Outcome {
    /// Whether anything was read (stored now or already): what a front end reports as success.
    pub fn read_anything(&self) -> bool {
        self.summary.ingested + self.summary.duplicates > 0
    }
}

/// Reads `inputs` (files, folders, URLs) with `opts` into `store`, `batch_size` documents per
/// transaction.
pub fn ingest(
    store: &mut (impl Store + ?Sized),
    inputs: &[String],
    opts: &IngestOptions,
    batch_size: usize,
    observer: &dyn Observer,
) -> Result<Outcome> {
    run(store, batch_size, observer, |sink| {
        varta_ingest::ingest_paths(inputs, opts, sink)
    })
}

/// Runs `read` (the readers) against a sink that stores into `store` on a writer thread.
pub fn run(
    store: &mut (impl Store + ?Sized),
    batch_size: usize,
    observer: &dyn Observer,
    read: impl FnOnce(&mut dyn Sink) -> Result<(), SinkError>,
) -> Result<Outcome> {
    let started = Instant::now();
    let progress: Arc<dyn Progress> = Arc::from(observer.start("records", None));
    let counters = Arc::new(Counters {
        ingested: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        started,
    });

    std::thread::scope(|scope| -> Result<Outcome> {
        // Two batches in flight: enough to overlap reading with storing, little memory.
        let (tx, rx) = sync_channel::<Batch>(2);
        let (pb, c) = (progress.clone(), counters.clone());
        let writer = scope.spawn(move || -> Result<(), varta_store::StoreError> {
            for (docs, actors) in rx {
                let outcome = store.put_batch(&docs, &actors)?;
                c.ingested
                    .fetch_add(outcome.new_count() as u64, Ordering::Relaxed);
                c.duplicates
                    .fetch_add(outcome.duplicate_count() as u64, Ordering::Relaxed);
                pb.inc(docs.len() as u64);
                pb.message(&c.message());
            }
            store.flush()
        });
        let mut sink = StoreSink {
            tx,
            batch_size,
            docs: Vec::with_capacity(batch_size),
            actors: HashMap::new(),
            errors: Vec::new(),
            skipped: 0,
            counters: counters.clone(),
            progress: progress.clone(),
            observer,
        };
        let read_result = read(&mut sink).and_then(|()| sink.send());
        let StoreSink {
            tx,
            errors,
            skipped,
            ..
        } = sink;
        drop(tx);
        let stored = writer
            .join()
            .map_err(|_| AppError::Failed("the store writer thread panicked".into()))?;
        progress.finish();
        stored?;
        read_result.map_err(|e| AppError::Failed(format!("storing documents: {e}")))?;
        Ok(Outcome {
            summary: Summary {
                ingested: counters.ingested.load(Ordering::Relaxed),
                duplicates: counters.duplicates.load(Ordering::Relaxed),
                failed: counters.failed.load(Ordering::Relaxed),
                errors,
            },
            skipped,
            elapsed: started.elapsed(),
        })
    })
}
