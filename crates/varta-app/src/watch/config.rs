//! `varta watch`'s configuration: the `[watch]`, `[detect]`, `[bursts]` tables and the
//! `[[source]]`, `[[rule]]`, `[[alert]]` lists of `varta.toml`. Every key has a default; unknown
//! keys are errors (a typo must never leave a default silently in force). The documented text is
//! the CLI's `DEFAULT_TOML`; [`WatchSetup::validate`] reports what serde cannot (a source with
//! both `url` and `folder`, a rule without terms, an alert without a sink).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A span of time written as `500ms`, `10s`, `5m`, `1h`, `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl Span {
    pub const fn secs(s: u64) -> Span {
        Span(Duration::from_secs(s))
    }
    pub fn ms(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }
}

impl std::str::FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Span, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("{s:?}: a duration needs a unit (ms, s, m, h, d)"))?;
        let (n, unit) = t.split_at(split);
        let n: u64 = n
            .parse()
            .map_err(|_| format!("{s:?}: expected a whole number and a unit, like 5m"))?;
        let ms = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h, d)")),
        };
        Ok(Span(Duration::from_millis(n.saturating_mul(ms))))
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0.as_millis();
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
        ] {
            if ms >= size && ms.is_multiple_of(size) {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// At most `count` alerts per `per`, written `10/1h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Span,
}

impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Rate, String> {
        let (n, per) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: a rate is written count/duration, like 10/1h"))?;
        let count = n
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: the count must be a whole number"))?;
        Ok(Rate {
            count,
            per: per.parse()?,
        })
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}/{}", self.count, self.per))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `[watch]`: the collector.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// Let sources reach loopback and private addresses (also `--allow-private`).
    pub allow_private: bool,
    /// Least time between two requests to one host (robots.txt's Crawl-delay may raise it).
    pub politeness: Span,
    /// Longest wait after repeated failures of a source (backoff doubles up to this).
    pub max_backoff: Span,
    /// Pages fetched from one sitemap per poll, newest listed first.
    pub max_pages_per_poll: usize,
    /// Obey robots.txt (a site's rules for automated clients).
    pub robots: bool,
    /// Where alerts link to: the `varta serve` of this data directory.
    pub base_url: String,
    /// The CloudEvents `source` of every alert.
    pub event_source: String,
    /// Alerts given up after their last retry are appended here (relative to the data directory).
    pub dead_letter: String,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            allow_private: false,
            politeness: Span::secs(1),
            max_backoff: Span::secs(3600),
            max_pages_per_poll: 50,
            robots: true,
            base_url: "http://127.0.0.1:8080".into(),
            event_source: "urn:varta:watch".into(),
            dead_letter: "alerts-dead.jsonl".into(),
        }
    }
}

/// `[detect]`: what runs on each new batch, and what runs every so often over a window.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Match each new document against the claims database.
    pub claims: bool,
    /// Copy-paste campaigns over the last `campaigns_window`, found on every batch: a campaign
    /// is stored when it appears and each time it doubles, every other change at least this
    /// often (0s: campaigns off).
    pub campaigns_every: Span,
    pub campaigns_window: Span,
    /// Coordination over the last `coordination_window`, on every batch (a group is stored when it
    /// appears and each time its co-shared posts double); this often the window is estimated
    /// again, over the whole window while it holds up to 200,000 posts, else over its last hour
    /// (0s: coordination off).
    pub coordination_every: Span,
    pub coordination_window: Span,
    /// Narratives (needs the e5 model): every new document joins the narrative nearest to it
    /// or splits off a new one with a recent document close to it; a full run over the last
    /// `narratives_window` re-syncs them this often, and first as soon as documents come
    /// ("0s": narratives off).
    pub narratives_every: Span,
    pub narratives_window: Span,
    /// Alert when this many members of a stored coordinated group post within `group_window`.
    pub group_min_actors: usize,
    pub group_window: Span,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            claims: true,
            campaigns_every: Span::secs(600),
            campaigns_window: Span::secs(6 * 3600),
            coordination_every: Span::secs(1800),
            coordination_window: Span::secs(24 * 3600),
            narratives_every: Span::secs(600),
            narratives_window: Span::secs(6 * 3600),
            group_min_actors: 2,
            group_window: Span::secs(3600),
        }
    }
}

/// `[bursts]`: Kleinberg's automaton over arrivals per period.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BurstsConfig {
    pub period: Span,
    /// How far back the base rate is taken from.
    pub history: Span,
    /// A key is only tested when its latest period holds at least this many documents.
    pub min_count: u64,
    pub s: f64,
    pub gamma: f64,
    /// What is counted: `rule`, `claim`, `narrative`, `hashtag`, `link`.
    pub keys: Vec<String>,
    /// Whose bursts alert (the others are stored as findings only).
    pub alert: Vec<String>,
}

impl Default for BurstsConfig {
    fn default() -> Self {
        BurstsConfig {
            period: Span::secs(300),
            history: Span::secs(24 * 3600),
            min_count: 5,
            s: 2.0,
            gamma: 1.0,
            keys: ["rule", "claim", "narrative", "hashtag", "link"]
                .map(String::from)
                .into(),
            alert: ["rule", "claim", "narrative"].map(String::from).into(),
        }
    }
}

/// `[[source]]`: a feed, a sitemap or a folder.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// An RSS/Atom feed, or a sitemap (`kind = "sitemap"`, or a URL ending in `sitemap.xml`).
    pub url: Option<String>,
    /// A folder other collectors drop files into (any format `varta ingest` reads).
    pub folder: Option<String>,
    /// `feed` or `sitemap` (URLs only; guessed from the URL when absent).
    pub kind: Option<String>,
    /// How often to poll (default 5m for URLs, 2s for folders).
    pub every: Option<Span>,
    /// The source name given to its documents (default: the format's).
    pub name: Option<String>,
    /// Force the format of what is read.
    pub format: Option<varta_core::Format>,
}

/// `[[rule]]`: a watchlist entry.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub name: String,
    /// Matches when any of these phrases occurs (folded as search folds; the words of a phrase
    /// in order, next to each other; "quotes" are allowed and mean the same).
    #[serde(default)]
    pub any: Vec<String>,
    /// …and all of these.
    #[serde(default)]
    pub all: Vec<String>,
    /// …and none of these.
    #[serde(default)]
    pub none: Vec<String>,
    /// Only documents in these languages.
    #[serde(default)]
    pub lang: Vec<String>,
    /// Only documents by these actors (ids or handles).
    #[serde(default)]
    pub actors: Vec<String>,
    /// Only documents from these sources.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Only documents that match one of these claims (claim ids).
    #[serde(default)]
    pub claim: Vec<String>,
    /// Only documents of a narrative the watcher found whose id is one of these, or whose
    /// label holds one of these words (checked when narratives are detected, every
    /// `narratives_every`; needs the e5 model).
    #[serde(default)]
    pub narrative: Vec<String>,
    /// Alert only once the day's finding holds this many documents.
    #[serde(default = "one")]
    pub min_docs: usize,
    /// Alert only while the rule's matches burst.
    #[serde(default)]
    pub burst: bool,
    /// At most this many alerts (new findings and updates) per period.
    #[serde(default = "default_rate")]
    pub rate_limit: Rate,
}

fn one() -> usize {
    1
}

fn default_rate() -> Rate {
    Rate {
        count: 20,
        per: Span::secs(3600),
    }
}

/// `[[alert]]`: where alerts go. Exactly one of `webhook`, `jsonl`, `stdout`, `taxii`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// POST each alert here as a CloudEvent (structured JSON).
    pub webhook: Option<String>,
    /// Signs the body: header `X-Varta-Signature: sha256=<hex HMAC-SHA256>`.
    pub secret: Option<String>,
    /// Append each alert as a line to this file.
    pub jsonl: Option<String>,
    /// Print each alert as a line on standard output.
    #[serde(default)]
    pub stdout: bool,
    /// Publish each alert as a STIX sighting into the TAXII `alerts` collection.
    #[serde(default)]
    pub taxii: bool,
    /// Only these kinds of alert: `rule`, `burst`, `group` (default: all).
    #[serde(default)]
    pub on: Vec<String>,
    /// Attempts after the first before the alert goes to the dead-letter file.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The first retry's wait; each next one doubles it (with jitter).
    #[serde(default = "default_backoff")]
    pub backoff: Span,
    /// A webhook call's deadline.
    #[serde(default = "default_timeout")]
    pub timeout: Span,
}

fn default_retries() -> u32 {
    8
}
fn default_backoff() -> Span {
    Span::secs(2)
}
fn default_timeout() -> Span {
    Span::secs(10)
}

/// Everything `varta watch` reads from the configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchSetup {
    pub watch: WatchConfig,
    pub detect: DetectConfig,
    pub bursts: BurstsConfig,
    pub sources: Vec<SourceConfig>,
    pub rules: Vec<RuleConfig>,
    pub alerts: Vec<AlertConfig>,
}

/// Alert kinds an `[[alert]]` may filter on.
pub const ALERT_KINDS: [&str; 3] = ["rule", "burst", "group"];
const BURST_KEYS: [&str; 5] = ["rule", "claim", "narrative", "hashtag", "link"];

impl WatchSetup {
    /// What serde cannot check; every problem, each naming its entry.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errs = Vec::new();
        if self.sources.is_empty() {
            errs.push("no [[source]]: give at least one url or folder to watch".to_string());
        }
        for (i, s) in self.sources.iter().enumerate() {
            let n = i + 1;
            match (&s.url, &s.folder) {
                (Some(_), Some(_)) => {
                    errs.push(format!("[[source]] {n}: give url or folder, not both"))
                }
                (None, None) => errs.push(format!("[[source]] {n}: needs url or folder")),
                (Some(u), None) => {
                    if url::Url::parse(u).map_or(true, |u| {
                        !matches!(u.scheme(), "http" | "https") || u.host_str().is_none()
                    }) {
                        errs.push(format!("[[source]] {n}: {u:?} is not an http(s) URL"));
                    }
                }
                (None, Some(_)) => {
                    if s.kind.is_some() {
                        errs.push(format!("[[source]] {n}: kind is for URLs only"));
                    }
                }
            }
            if let Some(k) = &s.kind
                && !matches!(k.as_str(), "feed" | "sitemap")
            {
                errs.push(format!(
                    "[[source]] {n}: kind {k:?} (expected feed or sitemap)"
                ));
            }
            if s.every.is_some_and(|e| e.0 < Duration::from_millis(100)) {
                errs.push(format!("[[source]] {n}: every must be at least 100ms"));
            }
        }
        let mut names = std::collections::HashSet::new();
        for r in &self.rules {
            if r.name.trim().is_empty() {
                errs.push("[[rule]]: a rule needs a name".into());
            } else if !names.insert(r.name.as_str()) {
                errs.push(format!("[[rule]] {:?}: two rules have this name", r.name));
            }
            if r.any.is_empty() && r.all.is_empty() && r.claim.is_empty() && r.narrative.is_empty()
            {
                errs.push(format!(
                    "[[rule]] {:?}: needs any, all, claim or narrative to match on",
                    r.name
                ));
            }
            if r.rate_limit.count == 0 || r.rate_limit.per.0.is_zero() {
                errs.push(format!(
                    "[[rule]] {:?}: rate_limit must allow some alerts",
                    r.name
                ));
            }
        }
        for (i, a) in self.alerts.iter().enumerate() {
            let n = i + 1;
            let sinks = [a.webhook.is_some(), a.jsonl.is_some(), a.stdout, a.taxii]
                .into_iter()
                .filter(|&b| b)
                .count();
            if sinks != 1 {
                errs.push(format!(
                    "[[alert]] {n}: give exactly one of webhook, jsonl, stdout, taxii"
                ));
            }
            if let Some(w) = &a.webhook
                && url::Url::parse(w).map_or(true, |u| !matches!(u.scheme(), "http" | "https"))
            {
                errs.push(format!(
                    "[[alert]] {n}: webhook {w:?} is not an http(s) URL"
                ));
            }
            if a.secret.is_some() && a.webhook.is_none() {
                errs.push(format!("[[alert]] {n}: secret is for webhooks"));
            }
            for k in &a.on {
                if !ALERT_KINDS.contains(&k.as_str()) {
                    errs.push(format!(
                        "[[alert]] {n}: on {k:?} (expected rule, burst or group)"
                    ));
                }
            }
        }
        for k in self.bursts.keys.iter().chain(&self.bursts.alert) {
            if !BURST_KEYS.contains(&k.as_str()) {
                errs.push(format!(
                    "[bursts]: {k:?} (expected rule, claim, narrative, hashtag or link)"
                ));
            }
        }
        if self.bursts.period.0.is_zero() || self.bursts.history < self.bursts.period {
            errs.push("[bursts]: period must be above 0 and history at least one period".into());
        }
        if self.bursts.s <= 1.0 || self.bursts.gamma <= 0.0 {
            errs.push("[bursts]: s must be above 1 and gamma above 0".into());
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_rates_parse_and_print() {
        for (t, ms) in [
            ("500ms", 500),
            ("10s", 10_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("2d", 172_800_000),
        ] {
            let s: Span = t.parse().unwrap();
            assert_eq!(s.ms(), ms);
            assert_eq!(s.to_string(), t);
        }
        for bad in ["5", "m", "5x", "-1s", ""] {
            assert!(bad.parse::<Span>().is_err(), "{bad}");
        }
        let r: Rate = "10/1h".parse().unwrap();
        assert_eq!((r.count, r.per.ms()), (10, 3_600_000));
        assert!("10".parse::<Rate>().is_err());
    }

    #[test]
    fn validation_names_each_problem() {
        let setup = WatchSetup {
            sources: vec![
                SourceConfig {
                    url: Some("file:///etc/passwd".into()),
                    ..Default::default()
                },
                SourceConfig::default(),
            ],
            rules: vec![RuleConfig {
                name: "r".into(),
                any: vec![],
                all: vec![],
                none: vec![],
                lang: vec![],
                actors: vec![],
                sources: vec![],
                claim: vec![],
                narrative: vec![],
                min_docs: 1,
                burst: false,
                rate_limit: default_rate(),
            }],
            ..Default::default()
        };
        let errs = setup.validate().unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.contains("[[source]] 1") && e.contains("http"))
        );
        assert!(errs.iter().any(|e| e.contains("[[source]] 2")));
        assert!(errs.iter().any(|e| e.contains("[[rule]] \"r\"")));
    }
}
