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
