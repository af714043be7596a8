//! What the request handlers share: a pool of read-only stores, one writer thread, the token
//! cache and the detector jobs.
//!
//! Readers never wait on writers (SQLite's WAL snapshots, tantivy's committed segments), so each
//! request takes a free reader from the pool. Everything that writes goes through one thread
//! that opens the store for writing when work arrives and closes it (releasing the directory's
//! lock for the CLI and the watcher) once idle: writes are serialized as the data directory
//! requires, and a request never holds the lock longer than its own work.

use crate::error::{ApiError, ApiResult, Code};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use varta_store::{EmbeddedStore, Store, StoreOptions, TokenRecord, Volume, Wait};

/// A write to run on the writer thread.
type WriteJob = Box<dyn FnOnce(&mut EmbeddedStore) + Send>;

/// How long the writer keeps the store open after its last job.
const WRITER_IDLE: Duration = Duration::from_secs(2);
/// How long a cached token list is trusted: a revoked token stops working within this.
const TOKENS_FRESH: Duration = Duration::from_secs(2);

pub struct State {
    pub dir: PathBuf,
    pub options: crate::ServeOptions,
    readers: Vec<Mutex<EmbeddedStore>>,
    next_reader: AtomicUsize,
    /// One permit per reader, handed out first come, first served: a request waits in line
    /// for a free reader instead of contending for one (an unfair lock starves a few requests
    /// for hundreds of milliseconds under load).
    permits: tokio::sync::Semaphore,
    writer: Mutex<Option<mpsc::Sender<WriteJob>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    tokens: RwLock<(Option<Instant>, Arc<Vec<TokenRecord>>)>,
    pub jobs: Mutex<BTreeMap<u64, Arc<Mutex<crate::jobs::Job>>>>,
    pub next_job: AtomicUsize,
    volume: Mutex<Option<(Instant, Arc<Vec<Volume>>)>>,
}

impl State {
    pub fn open(options: crate::ServeOptions) -> ApiResult<Arc<State>> {
        let dir = options.data_dir.clone();
        // Bring the store up to this build's schema (and its index in line with the record)
        // once, before any reader opens; if another process is writing, it will have done so.
        match EmbeddedStore::open_write(
            &dir,
            options.store.clone(),
            "varta serve (start)",
            Wait::No,
        ) {
            Ok(s) => s.close()?,
            Err(e) if e.kind() == varta_store::StoreErrorKind::Busy => {
                tracing::info!(
                    "another process is writing to the data directory; serving what it has committed"
                )
            }
            Err(e) => return Err(e.into()),
        }
        let mut readers = Vec::new();
        for _ in 0..options.readers.max(1) {
            readers.push(Mutex::new(EmbeddedStore::open_read(&dir)?));
        }
        let (tx, rx) = mpsc::channel::<WriteJob>();
        let (wdir, wopts) = (dir.clone(), options.store.clone());
        let handle = std::thread::Builder::new()
            .name("varta-writer".into())
            .spawn(move || writer_loop(wdir, wopts, rx))
            .map_err(|e| ApiError::internal(format!("starting the writer thread: {e}")))?;
        Ok(Arc::new(State {
            dir,
            options,
            permits: tokio::sync::Semaphore::new(readers.len()),
            readers,
            next_reader: AtomicUsize::new(0),
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            tokens: RwLock::new((None, Arc::new(Vec::new()))),
            jobs: Mutex::new(BTreeMap::new()),
            next_job: AtomicUsize::new(1),
            volume: Mutex::new(None),
        }))
    }

    /// Runs `f` on a reader, off the async threads.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&EmbeddedStore) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::internal("the readers are closed"))?;
        let me = self.clone();
        let out = tokio::task::spawn_blocking(move || me.read_now(f)).await;
        drop(permit);
        out.map_err(|e| ApiError::internal(format!("a reader task failed: {e}")))?
    }

    /// Runs `f` on a reader on this thread (a blocking context).
    pub fn read_now<T>(&self, f: impl FnOnce(&EmbeddedStore) -> ApiResult<T>) -> ApiResult<T> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            if let Ok(store) = self.readers[(start + k) % n].try_lock() {
                return f(&store);
            }
        }
        let store = self.readers[start % n]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&store)
    }

    /// Queues `f` for the writer thread and waits for its result.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut EmbeddedStore) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move |store| {
            let _ = tx.send(f(store));
        }))?;
        rx.await.map_err(|_| {
            ApiError::new(
                Code::Busy,
                "the data directory could not be opened for writing; see the server log",
            )
        })?
    }

    /// Queues a write without waiting for it (a detector job).
    pub fn submit(&self, job: WriteJob) -> ApiResult<()> {
        match self
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            Some(tx) => tx
                .send(job)
                .map_err(|_| ApiError::internal("the writer thread stopped")),
            None => Err(ApiError::new(Code::Busy, "the server is shutting down")),
        }
    }

    /// Stops taking writes, lets the writer finish what is queued (a detector job runs to its
    /// end) and close the store.
    pub fn shutdown(&self) {
        self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        let handle = self
            .writer_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle
            && h.join().is_err()
        {
            tracing::error!("the writer thread panicked");
        }
    }

    /// The stored tokens, re-read when the cached list is older than [`TOKENS_FRESH`].
    pub fn tokens(&self) -> ApiResult<Arc<Vec<TokenRecord>>> {
        {
            let cached = self.tokens.read().unwrap_or_else(|p| p.into_inner());
            if cached.0.is_some_and(|t| t.elapsed() < TOKENS_FRESH) {
                return Ok(cached.1.clone());
            }
        }
        let list = Arc::new(self.read_now(|s| Ok(s.tokens()?))?);
        *self.tokens.write().unwrap_or_else(|p| p.into_inner()) =
            (Some(Instant::now()), list.clone());
        Ok(list)
    }

    /// Documents per day, source and language: a full scan, so kept for a minute.
    pub fn volume(&self) -> ApiResult<Arc<Vec<Volume>>> {
        let mut cached = self.volume.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, v)) = cached.as_ref()
            && at.elapsed() < Duration::from_secs(60)
        {
            return Ok(v.clone());
        }
        let v = Arc::new(self.read_now(|s| Ok(s.volume()?))?);
        *cached = Some((Instant::now(), v.clone()));
        Ok(v)
    }

    /// Jobs by id, for listing.
    pub fn job(&self, id: u64) -> Option<Arc<Mutex<crate::jobs::Job>>> {
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }
}

fn writer_loop(dir: PathBuf, options: StoreOptions, rx: mpsc::Receiver<WriteJob>) {
    let mut store: Option<EmbeddedStore> = None;
    loop {
        let job = if store.is_some() {
            match rx.recv_timeout(WRITER_IDLE) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(s) = store.take()
                        && let Err(e) = s.close()
                    {
                        tracing::error!(error = %varta_app::chain(&e), "closing the store");
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(job) => job,
                Err(_) => break,
            }
        };
        if store.is_none() {
            let mut say = |h: &varta_store::LockHolder| {
                tracing::info!(holder = %h, "waiting for another writer to finish");
            };
            match EmbeddedStore::open_write(
                &dir,
                options.clone(),
                "varta serve",
                Wait::Yes(&mut say),
            ) {
                Ok(s) => store = Some(s),
                Err(e) => {
                    // Dropping the job drops its reply channel: the request answers "busy".
                    tracing::error!(error = %varta_app::chain(&e), "opening the store for writing");
                    drop(job);
                    continue;
                }
            }
        }
        if let Some(s) = store.as_mut() {
            job(s);
            if let Err(e) = s.flush() {
                tracing::error!(error = %varta_app::chain(&e), "flushing the store");
            }
        }
    }
    if let Some(s) = store.take()
        && let Err(e) = s.close()
    {
        tracing::error!(error = %varta_app::chain(&e), "closing the store");
    }
}

/// Counts by name, for lists and charts.
pub type Counts = HashMap<String, u64>;
