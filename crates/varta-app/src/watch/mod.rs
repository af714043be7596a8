//! `varta watch`: collect continuously, detect on every new batch, alert within seconds.
//!
//! Threads: one collector per host and one for folders ([`collect`]) fetch and find; the main
//! loop stores what they bring (taking the data directory's writer lock only while it writes, so
//! `serve` and the CLI write in between), runs incremental detection ([`engine`]) on the new
//! documents, decides which findings alert, and queues the alerts in the journal
//! ([`varta_store::WatchDb`]) in the same transaction that moves its cursor; a delivery thread
//! sends them ([`alerts`]). Anything may die at any moment (`kill -9`): on restart, documents
//! already stored are not fetched again (the sources' validators and the files seen are saved
//! after storing), a batch not yet detected is detected (the cursor moves with its alerts), and
//! an alert not yet delivered is delivered — with the same id, so receivers can drop repeats.

pub mod alerts;
pub mod background;
pub mod collect;
pub mod config;
pub mod engine;
pub mod rules;
pub mod tracker;

use crate::{AppError, Observer, Result};
use collect::{Event, Payload, SourceState};
use config::{AlertConfig, WatchSetup};
use engine::{Candidate, Engine};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};
use varta_detect::claims::matcher::Embedder;
use varta_ingest::IngestOptions;
use varta_store::{EmbeddedStore, Store, StoreOptions, Wait, WatchDb};

/// How the watcher runs besides its configuration.
pub struct WatchOptions {
    pub dir: PathBuf,
    pub store: StoreOptions,
    pub ingest: IngestOptions,
    pub batch_size: usize,
    /// Set to stop: the watcher finishes the batch in hand and returns.
    pub stop: Arc<AtomicBool>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What `varta watch --status` shows.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Status {
    pub running: bool,
    pub sources: Vec<SourceState>,
    pub alerts: varta_store::OutboxCounts,
    pub last_batch: Option<LastBatch>,
    /// Alerts that failed at least once and are still pending, with their last error.
    pub failing: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct LastBatch {
    pub at: String,
    pub documents: u64,
    pub stored: u64,
    pub findings: u64,
    pub alerts: u64,
    pub seconds: f64,
    pub tracked_keys: u64,
    /// Documents in the campaigns' window index, and their groups of near-duplicates.
    #[serde(default)]
    pub campaign_documents: u64,
    #[serde(default)]
    pub campaign_groups: u64,
    /// Posts in the coordination network's window, the groups it holds, and those this batch
    /// found or grew.
    #[serde(default)]
    pub coordination_posts: u64,
    #[serde(default)]
    pub coordination_groups: u64,
    #[serde(default)]
    pub coordinated_groups_found: u64,
}

/// The watcher's state in `dir`, read without disturbing a running watcher.
pub fn status(dir: &Path) -> Result<Option<Status>> {
    let Some(j) = WatchDb::open_read(dir)? else {
        return Ok(None);
    };
    let sources = j
        .sources()?
        .into_iter()
        .filter_map(|(_, s)| serde_json::from_str(&s).ok())
        .collect();
    let failing = j
        .due(i64::MAX, 20)?
        .into_iter()
        .filter_map(|i| i.last_error.map(|e| (i.id, i.sink, e)))
        .collect();
    Ok(Some(Status {
        running: WatchDb::running(dir),
        sources,
        alerts: j.outbox_counts()?,
        last_batch: j
            .get("last_batch")?
            .and_then(|t| serde_json::from_str(&t).ok()),
        failing,
    }))
}

/// Runs until `opts.stop` is set.
pub fn run(
    setup: &WatchSetup,
    opts: &WatchOptions,
    embedder: Option<Box<dyn Embedder>>,
    observer: &dyn Observer,
) -> Result<()> {
    setup
        .validate()
        .map_err(|e| AppError::Usage(e.join("\n")))?;
    let mut journal = WatchDb::open(&opts.dir)?;
    let store = open_store(opts)?;
    // The model lives as long as the process: background narratives runs borrow it, and are
    // not waited for at shutdown.
    let embedder: Option<&'static dyn Embedder> = embedder.map(|b| &*Box::leak(b));
    let mut engine = Engine::restore(&store, &journal, setup, embedder)?;
    drop(store);

    let shared = Arc::new(collect::Shared {
        setup: setup.clone(),
        policy: varta_ingest::fetch::FetchPolicy {
            allow_private: setup.watch.allow_private || opts.ingest.allow_private,
            max_body_bytes: opts.ingest.limits.max_fetch_bytes,
            ..Default::default()
        },
        dir: opts.dir.clone(),
        stop: opts.stop.clone(),
        unreadable: Default::default(),
    });
    // Bounded: while the store is busy (another writer holds the lock), collectors wait instead
    // of piling up fetched bodies in memory.
    let (tx, rx) = sync_channel(256);
    let mut threads = collect::start(shared.clone(), tx);
    let dead_letter = opts.dir.join(&setup.watch.dead_letter);
    {
        let (dir, alerts, stop) = (opts.dir.clone(), setup.alerts.clone(), opts.stop.clone());
        let dl = dead_letter.clone();
        threads.push(
            std::thread::Builder::new()
                .name("watch alerts".into())
                .spawn(move || deliver_loop(&dir, &alerts, &dl, &stop))
                .map_err(|e| AppError::Failed(format!("starting the alert thread: {e}")))?,
        );
    }
    tracing::info!(
        sources = setup.sources.len(),
        rules = setup.rules.len(),
        alerts = setup.alerts.len(),
        "watching"
    );
    let result = main_loop(
        setup,
        opts,
        &shared,
        &mut journal,
        &mut engine,
        &rx,
        observer,
    );
    opts.stop.store(true, Ordering::Relaxed);
    // A collector waiting to hand over a payload wakes up (with an error) once no one receives.
    drop(rx);
    for t in threads {
        let _ = t.join();
    }
    result
}

fn open_store(opts: &WatchOptions) -> Result<EmbeddedStore> {
    let mut waited = |holder: &varta_store::LockHolder| {
        tracing::info!(%holder, "waiting for the writer lock");
    };
    Ok(EmbeddedStore::open_write(
        &opts.dir,
        opts.store.clone(),
        "varta watch",
        Wait::Yes(&mut waited),
    )?)
}

fn main_loop(
    setup: &WatchSetup,
    opts: &WatchOptions,
    shared: &collect::Shared,
    journal: &mut WatchDb,
    engine: &mut Engine<'static>,
    rx: &Receiver<Event>,
    observer: &dyn Observer,
) -> Result<()> {
    // A narratives run in progress: not joined at shutdown (the process ends it; what it had
    // embedded is embedded again next time).
    let mut job: Option<Job> = None;
    // A fill of the coordination network from the store's window, on its own thread.
    let mut coord_job: Option<(f64, std::thread::JoinHandle<Result<engine::Filled>>)> = None;
    // The coordination window's periodic estimate, on its own thread.
    let mut estimate_job: Option<std::thread::JoinHandle<Result<Option<f64>>>> = None;
    let mut last_look = Instant::now();
    let mut last_prune: Option<Instant> = None;
    let mut store: Option<EmbeddedStore> = None;
    let mut idle_since = Instant::now();
    loop {
        if opts.stop.load(Ordering::Relaxed) {
            break;
        }
        if coord_job.is_none()
            && let Some(fill) = engine.coordination_fill_due()
        {
            let dir = opts.dir.clone();
            let window = fill.window_s();
            coord_job = Some((
                window,
                std::thread::spawn(move || -> Result<engine::Filled> {
                    let reader = EmbeddedStore::open_read(&dir)?;
                    engine::fill_coordination(&reader, &fill)
                }),
            ));
        }
        if estimate_job.is_none()
            && let Some(since) = engine.coordination_estimate_due()
        {
            let dir = opts.dir.clone();
            estimate_job = Some(std::thread::spawn(move || -> Result<Option<f64>> {
                let reader = EmbeddedStore::open_read(&dir)?;
                match crate::coord::estimate_window(
                    &reader,
                    &varta_detect::coord::network::Params::default(),
                    Some(since),
                ) {
                    Ok(w) => Ok(Some(w)),
                    Err(AppError::NothingRead(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            }));
        }
        // Gather what the collectors brought, for up to half a second once something came.
        let mut events = Vec::new();
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(e) => {
                events.push(e);
                let until = Instant::now() + Duration::from_millis(500);
                while events.len() < 256 {
                    match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                        Ok(e) => events.push(e),
                        Err(_) => break,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if !opts.stop.load(Ordering::Relaxed) && setup.sources.is_empty() {
                    break;
                }
            }
        }
        // Documents other writers stored (an upload to `serve`, `varta ingest`), looked for
        // every few seconds; deferred alerts too.
        let look = last_look.elapsed() >= Duration::from_secs(5);
        let job_done = job.as_ref().is_some_and(Job::is_finished)
            || coord_job.as_ref().is_some_and(|j| j.1.is_finished())
            || estimate_job.as_ref().is_some_and(|j| j.is_finished());
        if events.is_empty() && !look && !job_done {
            if store.is_some() && idle_since.elapsed() > Duration::from_secs(2) {
                // Idle: let the others write.
                if let Some(s) = store.take() {
                    s.close()?;
                }
            }
            continue;
        }
        if last_prune.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            // Delivered and given-up alerts are kept a week for --status, then forgotten (the
            // findings' alert bookkeeping, not the outbox, keeps them from being sent again).
            let n = journal.prune(now_ms() - 7 * 86_400_000)?;
            if n > 0 {
                tracing::info!(alerts = n, "forgot alerts delivered over a week ago");
            }
            last_prune = Some(Instant::now());
        }
        if look {
            last_look = Instant::now();
            let reader = EmbeddedStore::open_read(&opts.dir)?;
            let others = reader.end_cursor()? != engine.cursor;
            let deferred = journal.get("deferred")?.is_some_and(|d| d != "[]");
            let narratives = job.is_none() && engine.narratives_due().is_some();
            if events.is_empty()
                && !others
                && !deferred
                && !engine.periodic_due()
                && !narratives
                && !job_done
            {
                continue;
            }
        }
        let started = Instant::now();
        if store.is_none() {
            store = Some(open_store(opts)?);
        }
        let Some(s) = store.as_mut() else { continue };
        let stored = store_events(s, journal, shared, events, opts, observer)?;
        let mut report = engine.batch(s)?;
        engine.periodic(s)?;
        if estimate_job.as_ref().is_some_and(|j| j.is_finished())
            && let Some(j) = estimate_job.take()
        {
            match j.join() {
                Ok(Ok(w)) => engine.coordination_estimated(w),
                Ok(Err(e)) => {
                    tracing::warn!(error = %crate::chain(&e), "estimating the coordination window failed");
                }
                Err(_) => tracing::error!("the coordination estimate's thread panicked"),
            }
        }
        if coord_job.as_ref().is_some_and(|j| j.1.is_finished())
            && let Some((window, j)) = coord_job.take()
        {
            match j.join() {
                Ok(Ok(filled)) => {
                    report.coordinated_groups += engine.coordination_filled(s, filled)? as u64;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %crate::chain(&e), "filling the coordination network failed");
                    engine.coordination_fill_failed(window);
                }
                Err(_) => {
                    tracing::error!("the coordination thread panicked");
                    engine.coordination_fill_failed(window);
                }
            }
        }
        if job.as_ref().is_some_and(Job::is_finished)
            && let Some(j) = job.take()
        {
            match j {
                Job::Full(j) => match j.join() {
                    Ok(Ok((found, buffered))) => {
                        buffered.apply(s)?;
                        report.candidates.extend(engine.narratives_done(s, &found)?);
                        crate::taxii::publish_findings(s)?;
                    }
                    Ok(Err(e)) => tracing::warn!(error = %crate::chain(&e), "narratives failed"),
                    Err(_) => tracing::error!("the narratives thread panicked"),
                },
                Job::Join(j) => match j.join() {
                    Ok(Ok((joined, model, buffered))) => {
                        buffered.apply(s)?;
                        report.candidates.extend(engine.joined(s, &joined, model)?);
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %crate::chain(&e), "placing documents in narratives failed");
                    }
                    Err(_) => tracing::error!("the narratives thread panicked"),
                },
            }
        }
        if job.is_none()
            && let (Some(since), Some(e)) = (engine.narratives_due(), engine.embedder())
        {
            engine.narratives_started();
            let dir = opts.dir.clone();
            job = Some(Job::Full(std::thread::spawn(move || -> FullJob {
                let mut b = background::Buffered::new(EmbeddedStore::open_read(&dir)?);
                let found = crate::narratives::detect_unpublished(
                    &mut b,
                    e,
                    &varta_detect::narratives::Params::default(),
                    Some(since),
                    &crate::Logged,
                )?;
                Ok((found, b))
            })));
        }
        if job.is_none()
            && let (Some((mut model, after, oldest)), Some(e)) =
                (engine.join_due(), engine.embedder())
        {
            let dir = opts.dir.clone();
            job = Some(Job::Join(std::thread::spawn(move || -> JoinJob {
                let mut b = background::Buffered::new(EmbeddedStore::open_read(&dir)?);
                let joined = crate::narratives::join_after(
                    &mut b,
                    e,
                    &varta_detect::narratives::Params::default(),
                    &mut model,
                    after,
                    oldest,
                )?;
                Ok((joined, model, b))
            })));
        }
        let (queued, taxii) = decide(setup, journal, s, engine, &report.candidates)?;
        if !taxii.is_empty() {
            s.publish("alerts", &alerts::taxii_objects(&taxii))?;
            let now = now_ms();
            for e in &taxii {
                let id = e["id"].as_str().unwrap_or("");
                for (i, a) in setup.alerts.iter().enumerate() {
                    if a.taxii {
                        journal.delivered(id, &alerts::sink_name(i, a), now)?;
                    }
                }
            }
        }
        let last = LastBatch {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            documents: report.documents,
            stored,
            findings: report.findings,
            alerts: queued as u64,
            seconds: started.elapsed().as_secs_f64(),
            tracked_keys: engine.tracked_keys() as u64,
            campaign_documents: engine.campaign_index().0 as u64,
            campaign_groups: engine.campaign_index().1 as u64,
            coordination_posts: engine.coordination_index().0 as u64,
            coordination_groups: engine.coordination_index().1 as u64,
            coordinated_groups_found: report.coordinated_groups,
        };
        if report.documents > 0 || queued > 0 {
            tracing::info!(
                documents = report.documents,
                findings = report.findings,
                alerts = queued,
                seconds = last.seconds,
                "watch batch"
            );
        }
        // The last batch that did something (a look that found nothing leaves it as it was).
        if report.documents > 0 || stored > 0 || queued > 0 {
            journal.put(
                "last_batch",
                &serde_json::to_string(&last).unwrap_or_default(),
            )?;
        }
        for (k, v) in engine.last_runs() {
            journal.put(k, &v)?;
        }
        idle_since = Instant::now();
    }
    if let Some(s) = store.take() {
        s.close()?;
    }
    Ok(())
}

/// One source's payloads of a batch: its index, key, payloads, latest state, what was seen.
type SourceBatch = (
    usize,
    String,
    Vec<Payload>,
    Option<SourceState>,
    Vec<(String, String, String)>,
);

/// Stores the collectors' payloads, then saves their sources' states and what was seen.
fn store_events(
    store: &mut EmbeddedStore,
    journal: &WatchDb,
    shared: &collect::Shared,
    events: Vec<Event>,
    opts: &WatchOptions,
    observer: &dyn Observer,
) -> Result<u64> {
    let mut stored = 0u64;
    let mut by_source: Vec<SourceBatch> = Vec::new();
    for e in events {
        match e {
            Event::State { key, mut state } => {
                // What was stored is counted here, not by the collector.
                state.documents = saved_state(journal, &key)?.map_or(0, |s| s.documents);
                journal.put_source(&key, &serde_json::to_string(&state).unwrap_or_default())?;
            }
            Event::Payload {
                source,
                key,
                payload,
                state,
                seen,
            } => {
                let slot = match by_source.iter().position(|b| b.1 == key) {
                    Some(i) => i,
                    None => {
                        by_source.push((source, key, Vec::new(), None, Vec::new()));
                        by_source.len() - 1
                    }
                };
                let b = &mut by_source[slot];
                b.2.push(payload);
                if state.is_some() {
                    b.3 = state;
                }
                b.4.extend(seen);
            }
        }
    }
    for (_, key, payloads, state, seen) in by_source {
        let mut ingest = opts.ingest.clone();
        ingest.collected_at = chrono::Utc::now();
        let source_name = key.clone();
        let outcome = crate::ingest::run(store, opts.batch_size, observer, |sink| {
            for p in &payloads {
                match p {
                    Payload::Fetched {
                        url,
                        fetched,
                        format,
                    } => {
                        let mut o = ingest.clone();
                        o.format = *format;
                        varta_ingest::ingest_fetched(url, fetched, &o, sink)?;
                    }
                    Payload::File(path) => {
                        varta_ingest::ingest_paths(&[path.display().to_string()], &ingest, sink)?;
                    }
                }
            }
            Ok(())
        })?;
        stored += outcome.summary.ingested;
        if outcome.summary.failed > 0 {
            tracing::warn!(source = %source_name, failed = outcome.summary.failed, "records failed");
        }
        let saved = saved_state(journal, &key)?;
        let before = saved.as_ref().map_or(0, |s| s.documents);
        let mut state = match state.or(saved) {
            Some(s) => s,
            None => SourceState {
                kind: "folder".into(),
                target: key.trim_start_matches("folder:").to_string(),
                ..Default::default()
            },
        };
        state.documents = before + outcome.summary.ingested;
        let read = outcome.summary.ingested + outcome.summary.duplicates;
        if read == 0
            && state.kind != "folder"
            && let Some(e) = outcome.summary.errors.first()
        {
            // Fetched but unreadable: a failure, and the collector backs off at its next poll.
            state.failures = state.failures.saturating_add(1);
            if let Ok(mut m) = shared.unreadable.lock() {
                m.insert(key.clone(), e.to_string());
            }
        }
        if state.kind == "folder" {
            state.polls += 1;
            state.last_ok =
                Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            state.last_error = outcome.summary.errors.first().map(|e| e.to_string());
        } else if let Some(e) = outcome.summary.errors.first() {
            state.last_error = Some(e.to_string());
        }
        journal.put_source(&key, &serde_json::to_string(&state).unwrap_or_default())?;
        for (kind, k, v) in seen {
            journal.put_seen(&kind, &k, &v)?;
        }
    }
    Ok(stored)
}

fn saved_state(journal: &WatchDb, key: &str) -> Result<Option<SourceState>> {
    Ok(journal
        .source(key)?
        .and_then(|t| serde_json::from_str(&t).ok()))
}

/// What a background narratives run gives back.
type FullJob = Result<(crate::narratives::Detected, background::Buffered)>;
/// What placing new documents in the narratives gives back.
type JoinJob = Result<(
    crate::narratives::Joined,
    varta_detect::narratives::live::Model,
    background::Buffered,
)>;

/// The narratives job on its thread: a full run over the window, or new documents placed.
enum Job {
    Full(std::thread::JoinHandle<FullJob>),
    Join(std::thread::JoinHandle<JoinJob>),
}

impl Job {
    fn is_finished(&self) -> bool {
        match self {
            Job::Full(j) => j.is_finished(),
            Job::Join(j) => j.is_finished(),
        }
    }
}

/// What the journal remembers of a finding's alerts.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Alerted {
    revision: u32,
    /// ⌊log₂ documents⌋ + 1 at the last alert: an update alerts when the finding doubled.
    level: u32,
}

fn level(count: u64) -> u32 {
    64 - count.max(1).leading_zeros()
}

/// Decides which candidates alert now (new findings, findings that doubled), within each
/// rule's rate limit (the rest wait in `deferred`), builds their events and queues them with the
/// cursor in one journal transaction. Returns how many alerts were queued and the events for
/// the TAXII sink.
fn decide(
    setup: &WatchSetup,
    journal: &mut WatchDb,
    store: &EmbeddedStore,
    engine: &Engine,
    candidates: &[Candidate],
) -> Result<(usize, Vec<serde_json::Value>)> {
    let now = now_ms();
    let mut deferred: Vec<Candidate> = journal
        .get("deferred")?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    // Deferred first (older), then this batch's; a finding appears once, with its latest state.
    let mut all: Vec<Candidate> = Vec::new();
    for c in deferred.drain(..).chain(candidates.iter().cloned()) {
        match all.iter_mut().find(|x| x.finding == c.finding) {
            Some(x) => *x = c,
            None => all.push(c),
        }
    }
    let mut state: Vec<(String, String)> = Vec::new();
    let mut rates: HashMap<String, Vec<i64>> = HashMap::new();
    let mut queued = Vec::new();
    for c in all {
        if !c.ready {
            continue;
        }
        let key = format!("alerted:{}", c.finding);
        let prev: Alerted = journal
            .get(&key)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let lvl = level(c.count);
        if lvl <= prev.level {
            continue;
        }
        let rate_key = format!("rate:{}", c.rate_key);
        if !rates.contains_key(&rate_key) {
            let times: Vec<i64> = journal
                .get(&rate_key)?
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            rates.insert(rate_key.clone(), times);
        }
        let times = rates.entry(rate_key.clone()).or_default();
        times.retain(|&t| t > now - c.rate.per.ms());
        if times.len() >= c.rate.count as usize {
            deferred.push(c);
            continue;
        }
        let Some(finding) = store.finding(&c.finding)? else {
            continue;
        };
        times.push(now);
        let revision = prev.revision + 1;
        let link = format!(
            "{}/findings/{}",
            setup.watch.base_url.trim_end_matches('/'),
            c.finding
        );
        let ev = alerts::event(
            &setup.watch.event_source,
            chrono::Utc::now(),
            alerts::AlertData {
                alert: c.alert.clone(),
                trigger: c.trigger.clone(),
                revision,
                summary: c.summary.clone(),
                link,
                finding,
            },
        );
        let body = serde_json::to_string(&ev).unwrap_or_default();
        for (i, a) in setup.alerts.iter().enumerate() {
            if !a.on.is_empty() && !a.on.contains(&c.alert) {
                continue;
            }
            queued.push((ev.id.clone(), alerts::sink_name(i, a), body.clone()));
        }
        state.push((
            key,
            serde_json::to_string(&Alerted {
                revision,
                level: lvl,
            })
            .unwrap_or_default(),
        ));
    }
    for (k, times) in rates {
        state.push((k, serde_json::to_string(&times).unwrap_or_default()));
    }
    state.push((
        "deferred".into(),
        serde_json::to_string(&deferred).unwrap_or_default(),
    ));
    state.push(("cursor".into(), engine.cursor.token()));
    let n = journal.commit_batch(&queued, &state, now)?;
    // Every alert pending for a TAXII sink, this batch's and any a crash left unpublished.
    let mut pending_taxii = Vec::new();
    for item in journal.due(i64::MAX, 1000)? {
        if item.sink.starts_with("taxii:")
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&item.body)
        {
            pending_taxii.push(v);
        }
    }
    Ok((n, pending_taxii))
}

/// The delivery thread: sends due alerts to webhooks, files and stdout until stopped.
fn deliver_loop(dir: &Path, alerts_cfg: &[AlertConfig], dead_letter: &Path, stop: &AtomicBool) {
    let journal = match WatchDb::open_unlocked(dir) {
        Ok(j) => j,
        Err(e) => {
            tracing::error!(error = %e, "alert delivery cannot open the journal");
            return;
        }
    };
    let sinks: HashMap<String, &AlertConfig> = alerts_cfg
        .iter()
        .enumerate()
        .map(|(i, a)| (alerts::sink_name(i, a), a))
        .collect();
    while !stop.load(Ordering::Relaxed) {
        let now = now_ms();
        let due = match journal.due(now, 200) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "reading the alert outbox");
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        let mut sent = 0;
        for item in due {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            if item.sink.starts_with("taxii:") {
                continue;
            }
            let Some(a) = sinks.get(&item.sink) else {
                // A sink removed from the configuration: nothing can deliver it.
                let _ = alerts::failed(
                    &journal,
                    &no_sink(),
                    &item,
                    "the sink is no longer configured",
                    dead_letter,
                    now,
                );
                continue;
            };
            let r = match alerts::deliver(a, &item) {
                Ok(()) => journal
                    .delivered(&item.id, &item.sink, now_ms())
                    .map(|_| true)
                    .map_err(AppError::from),
                Err(e) => {
                    alerts::failed(&journal, a, &item, &e, dead_letter, now_ms()).map(|_| false)
                }
            };
            match r {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "recording an alert delivery"),
            }
        }
        if sent == 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn no_sink() -> AlertConfig {
    AlertConfig {
        webhook: None,
        secret: None,
        jsonl: None,
        stdout: false,
        taxii: false,
        on: Vec::new(),
        retries: 0,
        backoff: config::Span::secs(1),
        timeout: config::Span::secs(1),
    }
}
