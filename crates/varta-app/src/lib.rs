//! Varta's jobs as a library: everything the `varta` command, the server and the watcher do with a
//! store goes through here, so that no front end holds logic the others would have to copy.
//!
//! Each job is a function over a [`varta_store::Store`] (or files) with typed parameters and a
//! typed result. Long work reports progress, and anything a person should know (a record that
//! failed, a model that is missing), through an [`Observer`]: the CLI draws progress bars and
//! prints notices, a server logs them. Failures are [`AppError`]s whose [`ErrorKind`] each front
//! end maps once, to exit codes or HTTP statuses.

pub mod claims;
pub mod coord;
pub mod dedup;
pub mod detect;
pub mod export;
pub mod ingest;
pub mod models;
pub mod narratives;
pub mod report;
pub mod stix;
pub mod taxii;
pub mod tokens;
pub mod watch;

use varta_store::{StoreError, StoreErrorKind};

/// What a job tells whoever runs it, besides its result.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A record (or a whole file) could not be read; the job went on.
    RecordFailed(varta_ingest::RecordError),
    /// Something is off but the job goes on (a query naming an unknown claim).
    Warning(String),
    /// Information (semantic matching is off because no model was found).
    Note(String),
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::RecordFailed(e) => write!(f, "error: {e}"),
            Notice::Warning(m) => write!(f, "warning: {m}"),
            Notice::Note(m) => write!(f, "note: {m}"),
        }
    }
}

/// A long step's progress, advanced by the job.
pub trait Progress: Send + Sync {
    /// `n` more units done.
    fn inc(&self, n: u64);
    /// The step turned out to have `n` more units than announced.
    fn inc_total(&self, n: u64);
    /// A short status line (rates, counts).
    fn message(&self, text: &str);
    /// The step is over.
    fn finish(&self);
}

/// Receives a job's progress and notices. `Sync`: jobs report from worker threads.
pub trait Observer: Sync {
    /// A long step starts (`what`: "embedding documents"), with its size when known.
    fn start(&self, what: &str, total: Option<u64>) -> Box<dyn Progress>;
    /// Something a person should know.
    fn notice(&self, notice: Notice);
}

/// An observer that logs through `tracing` (a server's, a watcher's) and shows no progress.
pub struct Logged;

/// A progress that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn inc(&self, _: u64) {}
    fn inc_total(&self, _: u64) {}
    fn message(&self, _: &str) {}
    fn finish(&self) {}
}

impl Observer for Logged {
    fn start(&self, what: &str, total: Option<u64>) -> Box<dyn Progress> {
        tracing::debug!(what, total, "step started");
        Box::new(NoProgress)
    }
    fn notice(&self, notice: Notice) {
        match notice {
            Notice::RecordFailed(e) => tracing::warn!(%e, "record failed"),
            Notice::Warning(m) => tracing::warn!("{m}"),
            Notice::Note(m) => tracing::info!("{m}"),
        }
    }
}

/// What kind of failure an [`AppError`] is: the one thing front ends map (exit codes, HTTP
/// statuses), in one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong (bad parameters, an empty text).
    Usage,
    /// Nothing to work on: no input could be read, the store or the claims are empty.
    NothingRead,
    /// What was asked for does not exist.
    NotFound,
    /// Another process is writing to the data directory.
    Busy,
    /// The disk is full.
    DiskFull,
    /// Something outside the request failed: the store, the file system, a model, pip.
    Failed,
}

/// A job's failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    NothingRead(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Match(#[from] varta_detect::claims::matcher::MatchError),
    #[error("{what}: {source}")]
    Embed {
        what: String,
        #[source]
        source: varta_detect::claims::matcher::EmbedError,
    },
    #[error("loading the e5 model {path}: {source}")]
    Model {
        path: String,
        #[source]
        source: varta_embed::ModelError,
    },
    #[error("{0}")]
    Failed(String),
}

/// An error with its sources, `a: b: c`, each said once (a message that already ends with its
/// source's text does not repeat it).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

impl AppError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::Store(e) => match e.kind() {
                StoreErrorKind::Busy => ErrorKind::Busy,
                StoreErrorKind::DiskFull => ErrorKind::DiskFull,
                StoreErrorKind::Invalid => ErrorKind::Usage,
                StoreErrorKind::Corrupt | StoreErrorKind::Failed => ErrorKind::Failed,
            },
            AppError::Io { source, .. }
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                ) =>
            {
                ErrorKind::DiskFull
            }
            AppError::Usage(_) => ErrorKind::Usage,
            AppError::NothingRead(_) => ErrorKind::NothingRead,
            AppError::NotFound(_) => ErrorKind::NotFound,
            AppError::Io { .. }
            | AppError::Match(_)
            | AppError::Embed { .. }
            | AppError::Model { .. }
            | AppError::Failed(_) => ErrorKind::Failed,
        }
    }

    /// An I/O failure of `what` (a file named, an action).
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> AppError {
        let what = what.into();
        move |source| AppError::Io { what, source }
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;
