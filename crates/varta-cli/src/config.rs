//! The configuration file (`varta.toml`): every tunable with its documented default.
//!
//! Looked up at `--config FILE`, else `<data dir>/varta.toml`; a missing file means the defaults.
//! Unknown keys are errors, so a typo never silently leaves a default in force.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use varta_ingest::Limits;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Size caps on input: `varta_ingest::Limits` itself (its fields are the keys).
    pub limits: Limits,
    pub store: StoreConfig,
    pub ingest: IngestConfig,
    pub serve: ServeConfig,
    /// `varta watch`: the collector.
    pub watch: varta_app::watch::config::WatchConfig,
    /// `varta watch`: incremental detection.
    pub detect: varta_app::watch::config::DetectConfig,
    /// `varta watch`: burst detection.
    pub bursts: varta_app::watch::config::BurstsConfig,
    /// `varta watch`: what to watch.
    #[serde(rename = "source")]
    pub sources: Vec<varta_app::watch::config::SourceConfig>,
    /// `varta watch`: watchlist rules.
    #[serde(rename = "rule")]
    pub rules: Vec<varta_app::watch::config::RuleConfig>,
    /// `varta watch`: where alerts go.
    #[serde(rename = "alert")]
    pub alerts: Vec<varta_app::watch::config::AlertConfig>,
}

impl Config {
    /// What `varta watch` reads of the configuration.
    pub fn watch_setup(&self) -> varta_app::watch::config::WatchSetup {
        varta_app::watch::config::WatchSetup {
            watch: self.watch.clone(),
            detect: self.detect.clone(),
            bursts: self.bursts.clone(),
            sources: self.sources.clone(),
            rules: self.rules.clone(),
            alerts: self.alerts.clone(),
        }
    }
}

/// `varta serve`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    pub listen: String,
    pub upload_limit_bytes: usize,
    pub readers: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: "127.0.0.1:8080".into(),
            upload_limit_bytes: 64 << 20,
            readers: 4,
        }
    }
}

/// The embedded store.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub index_heap_bytes: usize,
    pub index_commit_every: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let o = varta_store::StoreOptions::default();
        StoreConfig {
            index_heap_bytes: o.index_heap_bytes,
            index_commit_every: o.index_commit_every,
        }
    }
}

/// Ingestion.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub batch_size: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig { batch_size: 5000 }
    }
}

/// The documented default configuration, as `varta config` prints it. A test checks that it
/// parses to exactly [`Config::default`], so this text cannot drift from the code.
pub const DEFAULT_TOML: &str = r#"# Varta configuration. Put it at <data dir>/varta.toml or pass --config FILE.
# Every key is optional; these are the defaults.

[limits]
# Largest file read whole (HTML pages, text files, feeds), in bytes. Streamed formats (CSV, JSON lines,
# Telegram exports) are not capped as files, only per record.
max_file_bytes = 67108864
# Largest single record: a CSV row, a JSON line, one Telegram message. Longer ones are reported and skipped.
max_record_bytes = 4194304
# Largest output of decompressing one .gz file; a gzip bomb stops here.
max_decompressed_bytes = 268435456
# Largest body fetched from a URL.
max_fetch_bytes = 33554432

[store]
# Memory the search index writer may use before writing a segment (at least 15000000; from 30000000
# on, two indexing threads share it).
index_heap_bytes = 268435456
# Make the index durable after this many new documents (a crash then re-indexes at most this many).
index_commit_every = 1000000

[ingest]
# Documents stored per database transaction.
batch_size = 5000

[serve]
# Address `varta serve` listens on (--listen overrides). Keep it on loopback unless a TLS proxy
# stands in front: tokens travel in headers and cookies.
listen = "127.0.0.1:8080"
# Largest upload to POST /api/v1/documents or /api/v1/claims/import, in bytes (413 above).
upload_limit_bytes = 67108864
# Read-only stores kept open for requests (searches run on them in parallel).
readers = 4

# ---- varta watch: continuous collection, detection and alerts ----

[watch]
# Let sources reach loopback and private addresses (also --allow-private). Off: a feed or a
# redirect cannot make the watcher fetch from your own network.
allow_private = false
# Least time between two requests to one host (robots.txt's Crawl-delay may make it longer).
# Each host gets one request at a time.
politeness = "1s"
# A failing source waits twice as long after each failure (with jitter), up to this.
max_backoff = "1h"
# Pages fetched from one sitemap per poll.
max_pages_per_poll = 50
# Obey robots.txt.
robots = true
# Where alerts link to (the `varta serve` of this data directory).
base_url = "http://127.0.0.1:8080"
# The CloudEvents `source` of every alert.
event_source = "urn:varta:watch"
# Alerts given up after their last retry go here (relative to the data directory).
dead_letter = "alerts-dead.jsonl"

[detect]
# Match every new document against the claims database.
claims = true
# Copy-paste campaigns over the last campaigns_window, found on every batch: a campaign is
# stored when it appears and each time it doubles, every other change at least this often
# ("0s": campaigns off).
campaigns_every = "10m"
campaigns_window = "6h"
# Coordination over the last coordination_window, on every batch (groups stored as they appear and
# each time they double); this often the window is estimated again, over the whole window while it
# holds up to 200,000 posts, else over its last hour ("0s": coordination off).
coordination_every = "30m"
coordination_window = "1d"
# Narratives (need the e5 model, `varta models install`; without it they are skipped): every
# new document joins the narrative nearest to it or splits off a new one with a recent document
# close to it; a full run over the last narratives_window re-syncs them this often, and first
# as soon as documents come ("0s": narratives off).
narratives_every = "10m"
narratives_window = "6h"
# A stored coordinated group "acts again" when this many of its members post within group_window.
group_min_actors = 2
group_window = "1h"

[bursts]
# Kleinberg's two-state automaton over arrivals per period, against the share over history.
period = "5m"
history = "1d"
# A key is only tested when its latest period holds at least this many documents.
min_count = 5
s = 2.0
gamma = 1.0
# What is counted: rule, claim, narrative, hashtag, link.
keys = ["rule", "claim", "narrative", "hashtag", "link"]
# Whose bursts alert (the others are stored as findings only).
alert = ["rule", "claim", "narrative"]

# Sources (none by default). Durations: 500ms, 10s, 5m, 1h, 1d.
# [[source]]
# url = "https://example.org/feed.xml"   # RSS/Atom; a URL with "sitemap" in it is read as a sitemap
# every = "5m"                           # default 5m for URLs, 2s for folders
# kind = "feed"                          # or "sitemap"
# name = "example-feed"                  # source name of its documents (default: the format's)
# format = "rss"                         # force the format
# [[source]]
# folder = "incoming/"                   # files other collectors drop (any format ingest reads);
#                                        # names starting with "." or ending in .part/.tmp wait
#
# Rules (none by default): a document matches when any phrase occurs (folded as search folds;
# the words in order, next to each other), all of `all` occur and none of `none`.
# [[rule]]
# name = "blackout rumours"
# any = ["відключення світла", "blackout", "отключения света"]
# all = []
# none = []
# lang = ["uk", "ru", "en"]   # optional filters: lang, actors, sources, claim (claim ids),
#                             # narrative (ids, or words of the label, of narratives the watcher finds)
# min_docs = 1                # alert once the day's finding holds this many documents
# burst = false               # alert only while the rule's matches burst
# rate_limit = "20/1h"        # alerts (new findings and updates) per period
#
# Alerts (none by default), each one sink: webhook, jsonl, stdout or taxii.
# [[alert]]
# webhook = "https://hooks.example.org/varta"
# secret = "..."              # X-Varta-Signature: sha256=<hex HMAC-SHA256 of the body>
# on = ["rule", "burst", "group"]
# retries = 8                 # then the alert goes to the dead-letter file
# backoff = "2s"              # first retry's wait, doubling (with jitter)
# timeout = "10s"
# [[alert]]
# jsonl = "alerts.jsonl"
# [[alert]]
# stdout = true
# [[alert]]
# taxii = true                # STIX sightings in the TAXII `alerts` collection of `varta serve`
"#;

impl Config {
    /// Loads `explicit`, else `<data_dir>/varta.toml` when it exists, else the defaults.
    pub fn load(explicit: Option<&Path>, data_dir: &Path) -> Result<Config> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = data_dir.join("varta.toml");
                if !p.exists() {
                    return Ok(Config::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading config {}", path.display()))?;
        let cfg: Config =
            toml::from_str(&text).with_context(|| format!("in config {}", path.display()))?;
        if cfg.store.index_heap_bytes < 15_000_000 {
            anyhow::bail!(
                "in config {}: store.index_heap_bytes must be at least 15000000",
                path.display()
            );
        }
        if cfg.ingest.batch_size == 0 {
            anyhow::bail!(
                "in config {}: ingest.batch_size must be at least 1",
                path.display()
            );
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_defaults_are_the_defaults() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<Config>("[limits]\nmax_file_byte = 1\n").is_err());
    }
}
