//! The collectors: feeds and sitemaps polled over HTTP, folders scanned for new files. They only
//! fetch and find; the watcher's main loop stores what they bring and then records their state,
//! so that a crash between the two fetches again rather than loses anything.
//!
//! Politeness: one thread per host, so one request at a time per host, at least
//! `politeness` apart (or robots.txt's Crawl-delay, when longer), and robots.txt obeyed. A
//! failing source backs off exponentially with jitter up to `max_backoff`; a hostile one (huge,
//! malformed, a redirect loop) fails alone.

use super::config::{SourceConfig, WatchSetup};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender as Sender;
use std::time::{Duration, Instant};
use varta_core::Format;
use varta_ingest::fetch::{self, Conditional, FetchPolicy, Fetched, Validators};
use varta_store::WatchDb;

/// A source's state, as the journal keeps it and `--status` shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SourceState {
    pub kind: String,
    pub target: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_poll: Option<String>,
    pub last_ok: Option<String>,
    pub last_error: Option<String>,
    pub failures: u32,
    pub next_poll: Option<String>,
    /// Documents stored from this source (new ones).
    pub documents: u64,
    pub polls: u64,
}

/// What a collector brings to the main loop.
pub enum Payload {
    Fetched {
        url: String,
        fetched: Box<Fetched>,
        format: Option<Format>,
    },
    File(PathBuf),
}

pub enum Event {
    /// Something to store; afterwards the main loop saves `state` and marks `seen`.
    Payload {
        source: usize,
        key: String,
        payload: Payload,
        state: Option<SourceState>,
        seen: Option<(String, String, String)>,
    },
    /// Nothing to store; save the state (not modified, an error).
    State { key: String, state: SourceState },
}

/// The journal key of source `i`.
pub fn source_key(s: &SourceConfig) -> String {
    match (&s.url, &s.folder) {
        (Some(u), _) => format!("url:{u}"),
        (_, Some(f)) => format!("folder:{f}"),
        _ => String::new(),
    }
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn later_text(d: Duration) -> String {
    (chrono::Utc::now() + chrono::Duration::from_std(d).unwrap_or_default())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What every collector thread shares.
pub struct Shared {
    pub setup: WatchSetup,
    pub policy: FetchPolicy,
    pub dir: PathBuf,
    pub stop: Arc<AtomicBool>,
    /// Sources whose last payload could not be read at all (a malformed feed), with why: the
    /// main loop notes them, the source's collector backs off at its next poll.
    pub unreadable: std::sync::Mutex<HashMap<String, String>>,
}

/// Sleeps up to `d`, waking early when asked to stop. Returns false when stopping.
fn nap(stop: &AtomicBool, d: Duration) -> bool {
    let until = Instant::now() + d;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

fn is_sitemap(s: &SourceConfig) -> bool {
    match s.kind.as_deref() {
        Some(k) => k == "sitemap",
        None => s
            .url
            .as_deref()
            .is_some_and(|u| u.to_ascii_lowercase().contains("sitemap")),
    }
}

/// Starts the collector threads: one per host, one for all folders.
pub fn start(shared: Arc<Shared>, tx: Sender<Event>) -> Vec<std::thread::JoinHandle<()>> {
    let mut hosts: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut folders = Vec::new();
    for (i, s) in shared.setup.sources.iter().enumerate() {
        if let Some(u) = &s.url {
            let host = url::Url::parse(u)
                .ok()
                .map(|u| {
                    format!(
                        "{}:{}",
                        u.host_str().unwrap_or(""),
                        u.port_or_known_default().unwrap_or(0)
                    )
                })
                .unwrap_or_default();
            hosts.entry(host).or_default().push(i);
        } else if s.folder.is_some() {
            folders.push(i);
        }
    }
    let mut handles = Vec::new();
    for (host, sources) in hosts {
        let (shared, tx) = (shared.clone(), tx.clone());
        handles.push(
            std::thread::Builder::new()
                .name(format!("watch {host}"))
                .spawn(move || Host::new(shared, sources).run(&tx))
                .expect("spawn a collector thread"),
        );
    }
    if !folders.is_empty() {
        let (shared, tx) = (shared.clone(), tx.clone());
        handles.push(
            std::thread::Builder::new()
                .name("watch folders".into())
                .spawn(move || folders_loop(&shared, &folders, &tx))
                .expect("spawn the folder thread"),
        );
    }
    handles
}

struct Polled {
    idx: usize,
    key: String,
    state: SourceState,
    due: Instant,
}

struct Host {
    shared: Arc<Shared>,
    sources: Vec<Polled>,
    robots: Option<(texting_robots::Robot, Instant)>,
    /// A robots.txt that could not be read because the site failed (5xx, network): all is
    /// disallowed until it can be read (RFC 9309 §2.3.1.4).
    robots_unreachable: bool,
    last_request: Option<Instant>,
    journal: Option<WatchDb>,
    /// Pages of each sitemap handed over and perhaps not yet recorded as seen (the main loop
    /// records them once stored); kept only while the sitemap still lists them.
    taken: HashMap<usize, std::collections::HashSet<String>>,
}

impl Host {
    fn new(shared: Arc<Shared>, idx: Vec<usize>) -> Host {
        let journal = WatchDb::open_read(&shared.dir).ok().flatten();
        let sources = idx
            .into_iter()
            .map(|i| {
                let s = &shared.setup.sources[i];
                let key = source_key(s);
                let mut state: SourceState = journal
                    .as_ref()
                    .and_then(|j| j.source(&key).ok().flatten())
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default();
                state.kind = if is_sitemap(s) { "sitemap" } else { "feed" }.into();
                state.target = s.url.clone().unwrap_or_default();
                Polled {
                    idx: i,
                    key,
                    state,
                    due: Instant::now(),
                }
            })
            .collect();
        Host {
            shared,
            sources,
            robots: None,
            robots_unreachable: false,
            last_request: None,
            journal,
            taken: HashMap::new(),
        }
    }

    fn every(&self, i: usize) -> Duration {
        self.shared.setup.sources[i]
            .every
            .map_or(Duration::from_secs(300), |e| e.0)
    }

    fn run(mut self, tx: &Sender<Event>) {
        loop {
            let Some(next) = (0..self.sources.len()).min_by_key(|&k| self.sources[k].due) else {
                return;
            };
            let wait = self.sources[next]
                .due
                .saturating_duration_since(Instant::now());
            if !nap(&self.shared.stop, wait) {
                return;
            }
            if !self.poll(next, tx) {
                return;
            }
        }
    }

    /// Waits for the host's turn. False when stopping.
    fn polite(&mut self) -> bool {
        let mut gap = self.shared.setup.watch.politeness.0;
        if let Some((r, _)) = &self.robots
            && let Some(d) = r.delay
        {
            gap = gap.max(Duration::from_secs_f32(d.clamp(0.0, 3600.0)));
        }
        if let Some(last) = self.last_request {
            let wait = (last + gap).saturating_duration_since(Instant::now());
            if !nap(&self.shared.stop, wait) {
                return false;
            }
        }
        self.last_request = Some(Instant::now());
        true
    }

    /// Whether robots.txt lets us fetch `url` (reading it once a day).
    fn allowed(&mut self, url: &str) -> bool {
        if !self.shared.setup.watch.robots {
            return true;
        }
        let stale = self
            .robots
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() > Duration::from_secs(86_400));
        if stale {
            let Ok(mut robots_url) = url::Url::parse(url) else {
                return false;
            };
            robots_url.set_path("/robots.txt");
            robots_url.set_query(None);
            if !self.polite() {
                return false;
            }
            let policy = FetchPolicy {
                max_body_bytes: 512 * 1024,
                ..self.shared.policy.clone()
            };
            let agent = "Varta";
            let (robot, unreachable) = match fetch::fetch(robots_url.as_str(), &policy) {
                Ok(f) => (texting_robots::Robot::new(agent, &f.body).ok(), false),
                // 4xx: no rules. 5xx and network failures: the site is not reachable (assume
                // nothing is allowed, and ask again at the next poll).
                Err(fetch::FetchError::Http { status }) if (400..500).contains(&status) => {
                    (texting_robots::Robot::new(agent, b"").ok(), false)
                }
                Err(e) => {
                    tracing::info!(robots = %robots_url, error = %e, "robots.txt unreachable");
                    (None, true)
                }
            };
            self.robots_unreachable = unreachable;
            match robot {
                Some(r) => self.robots = Some((r, Instant::now())),
                None => {
                    self.robots = None;
                    return !unreachable;
                }
            }
        }
        self.robots.as_ref().is_none_or(|(r, _)| r.allowed(url))
    }

    fn poll(&mut self, k: usize, tx: &Sender<Event>) -> bool {
        let idx = self.sources[k].idx;
        let every = self.every(idx);
        let source = self.shared.setup.sources[idx].clone();
        let url = source.url.clone().unwrap_or_default();
        let mut state = self.sources[k].state.clone();
        state.last_poll = Some(now_text());
        state.polls += 1;
        // The previous payload was fetched but could not be read (a malformed feed): this poll
        // counts as a failure, and the source backs off before it is fetched again.
        let unreadable = self
            .shared
            .unreadable
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&self.sources[k].key));
        let result = if let Some(e) = unreadable {
            Err(e)
        } else if !self.allowed(&url) {
            Err("robots.txt does not allow fetching this URL (or could not be read)".to_string())
        } else if !self.polite() {
            return false;
        } else {
            let v = Validators {
                etag: state.etag.clone(),
                last_modified: state.last_modified.clone(),
            };
            fetch::fetch_conditional(&url, &self.shared.policy, &v).map_err(|e| e.to_string())
        };
        let key = self.sources[k].key.clone();
        let next = match result {
            Ok(c) => {
                state.failures = 0;
                state.last_error = None;
                state.last_ok = Some(now_text());
                state.next_poll = Some(later_text(every));
                match c {
                    Conditional::NotModified => {
                        let _ = tx.send(Event::State {
                            key: key.clone(),
                            state: state.clone(),
                        });
                    }
                    Conditional::Fetched(f) => {
                        state.etag = f.etag.clone();
                        state.last_modified = f.last_modified.clone();
                        if state.kind == "sitemap" {
                            if !self.sitemap(idx, &key, &f, &mut state, tx) {
                                return false;
                            }
                        } else {
                            let _ = tx.send(Event::Payload {
                                source: idx,
                                key: key.clone(),
                                payload: Payload::Fetched {
                                    url: url.clone(),
                                    fetched: Box::new(f),
                                    format: source.format,
                                },
                                state: Some(state.clone()),
                                seen: None,
                            });
                        }
                    }
                }
                every
            }
            Err(e) => {
                state.failures = state.failures.saturating_add(1);
                let wait = super::alerts::backoff(every, state.failures.min(20))
                    .min(self.shared.setup.watch.max_backoff.0.max(every));
                tracing::warn!(source = %url, error = %e, failures = state.failures, retry_in = ?wait, "source failed");
                state.last_error = Some(e);
                state.next_poll = Some(later_text(wait));
                let _ = tx.send(Event::State {
                    key: key.clone(),
                    state: state.clone(),
                });
                wait
            }
        };
        self.sources[k].state = state;
        self.sources[k].due = Instant::now() + next;
        true
    }

    /// The pages a sitemap lists that were not taken yet, fetched one by one (politely).
    fn sitemap(
        &mut self,
        idx: usize,
        key: &str,
        f: &Fetched,
        state: &mut SourceState,
        tx: &Sender<Event>,
    ) -> bool {
        let max = self.shared.setup.watch.max_pages_per_poll;
        let mut listed = varta_ingest::sitemap::read(&f.body, 50_000);
        if listed.is_index {
            // An index lists sitemaps: read the first few of them.
            let mut pages = Vec::new();
            for child in listed.urls.iter().take(5) {
                if !self.allowed(child) || !self.polite() {
                    continue;
                }
                if let Ok(c) = fetch::fetch(child, &self.shared.policy) {
                    pages.extend(varta_ingest::sitemap::read(&c.body, 50_000).urls);
                }
            }
            listed.urls = pages;
        }
        let journal = self.journal.as_ref();
        let taken = self.taken.entry(idx).or_default();
        let still: std::collections::HashSet<&String> = listed.urls.iter().collect();
        taken.retain(|u| still.contains(u));
        let fresh: Vec<String> = listed
            .urls
            .iter()
            .filter(|u| !taken.contains(*u))
            .filter(|u| journal.is_none_or(|j| j.seen("page", u).ok().flatten().is_none()))
            .take(max)
            .cloned()
            .collect();
        taken.extend(fresh.iter().cloned());
        let total = fresh.len();
        for (n, page) in fresh.into_iter().enumerate() {
            if !self.allowed(&page) {
                continue;
            }
            if !self.polite() {
                return false;
            }
            match fetch::fetch(&page, &self.shared.policy) {
                Ok(p) => {
                    let _ = tx.send(Event::Payload {
                        source: idx,
                        key: key.to_string(),
                        payload: Payload::Fetched {
                            url: page.clone(),
                            fetched: Box::new(p),
                            format: Some(Format::Html),
                        },
                        // The sitemap's own state is saved with its last page.
                        state: (n + 1 == total).then(|| state.clone()),
                        seen: Some(("page".into(), page, "1".into())),
                    });
                }
                Err(e) => {
                    tracing::info!(page = %page, error = %e, "a listed page failed");
                    // Tried again at the next poll of the sitemap.
                    if let Some(t) = self.taken.get_mut(&idx) {
                        t.remove(&page);
                    }
                }
            }
        }
        if total == 0 {
            let _ = tx.send(Event::State {
                key: key.to_string(),
                state: state.clone(),
            });
        }
        true
    }
}

/// Files that are still being written by whoever drops them are skipped by name.
fn partial(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || [".part", ".tmp", ".crdownload", ".partial"]
            .iter()
            .any(|s| name.to_ascii_lowercase().ends_with(s))
}

fn folders_loop(shared: &Shared, idx: &[usize], tx: &Sender<Event>) {
    let journal = WatchDb::open_read(&shared.dir).ok().flatten();
    // What was seen at the previous scan and what was handed over, by path.
    let mut last_scan: HashMap<PathBuf, String> = HashMap::new();
    let mut sent: HashMap<PathBuf, String> = HashMap::new();
    let mut due: Vec<Instant> = vec![Instant::now(); idx.len()];
    loop {
        let next = due.iter().min().copied().unwrap_or_else(Instant::now);
        if !nap(&shared.stop, next.saturating_duration_since(Instant::now())) {
            return;
        }
        for (k, &i) in idx.iter().enumerate() {
            if due[k] > Instant::now() {
                continue;
            }
            let s = &shared.setup.sources[i];
            due[k] = Instant::now() + s.every.map_or(Duration::from_secs(2), |e| e.0);
            let Some(folder) = s.folder.as_deref() else {
                continue;
            };
            let key = source_key(s);
            scan(
                Path::new(folder),
                i,
                &key,
                journal.as_ref(),
                &mut last_scan,
                &mut sent,
                tx,
            );
        }
    }
}

fn scan(
    folder: &Path,
    source: usize,
    key: &str,
    journal: Option<&WatchDb>,
    last_scan: &mut HashMap<PathBuf, String>,
    sent: &mut HashMap<PathBuf, String>,
    tx: &Sender<Event>,
) {
    let mut files: Vec<(PathBuf, String, std::time::SystemTime)> = Vec::new();
    for entry in walkdir::WalkDir::new(folder)
        .max_depth(4)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .flatten()
    {
        if !entry.file_type().is_file() || partial(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let mtime = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        let stamp = format!(
            "{}:{}",
            meta.len(),
            mtime
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        files.push((entry.into_path(), stamp, mtime));
    }
    // Oldest first: files are read in the order they landed.
    files.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(&b.0)));
    let mut now_seen = HashMap::new();
    for (path, stamp, mtime) in files {
        now_seen.insert(path.clone(), stamp.clone());
        if sent.get(&path) == Some(&stamp) {
            continue;
        }
        let key_path = path.display().to_string();
        if journal
            .is_some_and(|j| j.seen("file", &key_path).ok().flatten().as_deref() == Some(&stamp))
        {
            sent.insert(path, stamp);
            continue;
        }
        // A file is taken when it stopped changing: the same size and time as at the last
        // scan, or untouched for two seconds.
        let settled = last_scan.get(&path) == Some(&stamp)
            || mtime.elapsed().is_ok_and(|e| e > Duration::from_secs(2));
        if !settled {
            continue;
        }
        sent.insert(path.clone(), stamp.clone());
        let _ = tx.send(Event::Payload {
            source,
            key: key.to_string(),
            payload: Payload::File(path),
            state: None,
            seen: Some(("file".into(), key_path, stamp)),
        });
    }
    last_scan.retain(|p, _| !p.starts_with(folder));
    last_scan.extend(now_seen);
    sent.retain(|p, _| !p.starts_with(folder) || last_scan.contains_key(p));
}
