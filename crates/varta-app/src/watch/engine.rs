//! Incremental detection: what the watcher does with each batch of new documents, reading only
//! them (and, every so often, a window of recent ones), never the whole store.
//!
//! - claim matching of the new documents ([`crate::claims::detect_after`]);
//! - watchlist rules ([`super::rules`]): one finding per rule and day, growing as matches come;
//! - bursts ([`super::tracker`]) of each rule's, claim's, hashtag's and link's arrivals;
//! - known coordinated groups acting again: members of a stored group posting together;
//! - copy-paste campaigns over a sliding window ([`varta_detect::campaigns::live`]): each batch
//!   joins the near-duplicate groups it belongs to; a campaign is stored when it appears and each
//!   time it doubles, every other change at least every `campaigns_every`;
//! - every so often, coordination over a recent window.
//!
//! Each finding's id comes from what it is about (the rule and day, the burst's key and start,
//! the group and day), so detecting a batch twice (after a crash) updates the same findings.

use super::config::{Rate, WatchSetup};
use super::rules::Rules;
use super::tracker::Tracker;
use crate::{Logged, Result};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;
use varta_core::{Document, Finding, stable_hash};
use varta_detect::claims::finding::Verdict;
use varta_detect::claims::matcher::Embedder;
use varta_detect::coord::live::Live as CoordLive;
use varta_store::{PageCursor, Store, WatchDb};

pub const RULE_KIND: &str = "rule-match";
pub const BURST_KIND: &str = "burst";
pub const GROUP_KIND: &str = "group-active";
const DETECTOR: &str = "varta watch 1";
/// Documents a growing finding lists at most (its count goes on).
const MAX_DOCS: usize = 5000;
/// Evidence rows a growing finding keeps at most.
const MAX_EVIDENCE: usize = 200;
const PAGE: usize = 2000;
/// The coordination network's window before a full run has estimated one (the batch network's
/// default).
const COORD_DEFAULT_WINDOW: f64 = 60.0;

/// One document as evidence in a watch finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    pub document: String,
    pub actor: Option<String>,
    pub source: String,
    pub language: String,
    pub time: DateTime<Utc>,
    pub title: Option<String>,
    pub url: Option<String>,
    /// What matched: the rule's phrases, the burst's key.
    pub matched: Vec<String>,
    /// The text's start.
    pub text: String,
}

impl Evidence {
    fn of(d: &Document, matched: Vec<String>) -> Evidence {
        Evidence {
            document: d.id.clone(),
            actor: d.actor_id.clone(),
            source: d.source.clone(),
            language: d.language.clone(),
            time: doc_time(d),
            title: d.title.clone(),
            url: d.url.clone(),
            matched,
            text: d.text.chars().take(280).collect(),
        }
    }
}

/// The body of a `rule-match`, `burst` or `group-active` finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct WatchBody {
    /// The rule's name, the burst's key, the group's id.
    pub trigger: String,
    /// The day (rule, group) or the burst's first period start.
    pub period: String,
    pub count: u64,
    pub summary: String,
    #[serde(default)]
    pub burst: Option<BurstBody>,
    #[serde(default)]
    pub actors: Vec<String>,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BurstBody {
    pub begin: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub level: u8,
    pub weight: f64,
    pub share: f64,
    pub base_share: f64,
}

/// A finding that may alert, and under which limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    pub finding: String,
    /// `rule`, `burst`, `group`.
    pub alert: String,
    pub trigger: String,
    pub rate_key: String,
    pub rate: Rate,
    pub summary: String,
    /// Whether its conditions hold (min_docs, burst); one that does not waits for more.
    pub ready: bool,
    pub count: u64,
}

fn doc_time(d: &Document) -> DateTime<Utc> {
    d.published_at.unwrap_or(d.collected_at)
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// What one batch did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct BatchReport {
    pub documents: u64,
    pub claim_matches: u64,
    /// Coordinated groups the batch found or grew (stored).
    pub coordinated_groups: u64,
    pub findings: u64,
    pub candidates: Vec<Candidate>,
}

pub struct Engine<'e> {
    setup: WatchSetup,
    rules: Rules,
    tracker: Tracker,
    /// Stored coordinated groups by member actor.
    groups_of: HashMap<String, Vec<String>>,
    /// Each group's recent posts: (time ms, actor, document).
    recent: HashMap<String, VecDeque<(i64, String, String)>>,
    pub cursor: PageCursor,
    embedder: Option<&'e dyn Embedder>,
    claim_params: varta_detect::claims::matcher::Params,
    last_campaigns: Instant,
    last_coordination: Instant,
    last_narratives: Instant,
    since_coordination: u64,
    since_narratives: u64,
    /// Each narrative's documents already counted in its burst series.
    narrative_counted: HashMap<String, std::collections::HashSet<String>>,
    /// Copy-paste campaigns over the sliding window (off when `campaigns_every` is 0s).
    campaigns: Option<CampaignsLive>,
    /// The campaigns window's clock (ms): the latest document time seen, never ahead of the
    /// wall clock (a post dated next year must not push every other out), so a backlog or a
    /// replayed day slides the window as its documents' times do.
    campaign_clock: i64,
    /// Coordination over its window, kept up to date per batch (`None`: coordination off, or
    /// its first fill is still running).
    coordination: Option<CoordLive>,
    /// The coordination network's clock: the latest post time it was given, never ahead of now.
    coord_clock: f64,
    /// The window of the network held or being filled.
    coord_window: f64,
    /// A fill from the store's window the caller should start (at start, and when the window
    /// estimate moved): its window.
    coord_fill: Option<f64>,
    /// An estimate of the window the caller should start: over the documents since then.
    coord_estimate: Option<DateTime<Utc>>,
    /// The narratives as the last full run left them, grown by every batch since
    /// ([`crate::narratives::join_after`]); none before the first full run.
    narrative_model: Option<NarrativeModel>,
    /// Where the documents joined into `narrative_model` end.
    narrative_after: PageCursor,
    /// The cursor when the running full narratives run started.
    full_from: PageCursor,
    /// Each known narrative's label, members as stored, and latest member's time.
    narrative_known: HashMap<String, (String, usize, DateTime<Utc>)>,
    /// Members that joined a narrative since its finding was last stored.
    narrative_pending: HashMap<String, Vec<varta_detect::narratives::Member>>,
    last_narrative_store: Instant,
}

type NarrativeModel = varta_detect::narratives::live::Model;
/// A narrative's id, label and members (new or not) to count and check.
type NarrativeNews = (String, String, Vec<varta_detect::narratives::Member>);

type CampaignsLive = varta_detect::campaigns::live::Live;

fn campaign_doc(d: &Document) -> (varta_detect::campaigns::DocInfo, String) {
    (
        varta_detect::campaigns::DocInfo {
            id: d.id.clone(),
            actor: d.actor_id.clone(),
            source: d.source.clone(),
            language: d.language.clone(),
            time: doc_time(d),
        },
        d.text.clone(),
    )
}

impl<'e> Engine<'e> {
    /// The engine as the journal left it: the cursor (or, on a first start, the store's end:
    /// the watcher detects what arrives from now on), the groups, and the burst counts rebuilt
    /// from the history window.
    pub fn restore(
        store: &impl Store,
        journal: &WatchDb,
        setup: &WatchSetup,
        embedder: Option<&'e dyn Embedder>,
    ) -> Result<Engine<'e>> {
        let rules = Rules::new(&setup.rules).map_err(crate::AppError::Usage)?;
        let b = &setup.bursts;
        let tracker = Tracker::new(
            b.period.ms(),
            b.history.ms(),
            varta_detect::bursts::Params {
                s: b.s,
                gamma: b.gamma,
            },
            b.min_count,
        );
        let cursor = match journal
            .get("cursor")?
            .as_deref()
            .and_then(PageCursor::from_token)
        {
            Some(c) => c,
            None => {
                let end = store.end_cursor()?;
                journal.put("cursor", &end.token())?;
                end
            }
        };
        let claim_params = if embedder.is_some() {
            varta_detect::claims::matcher::Params::default()
        } else {
            varta_detect::claims::matcher::Params::lexical()
        };
        let mut e = Engine {
            setup: setup.clone(),
            rules,
            tracker,
            groups_of: HashMap::new(),
            recent: HashMap::new(),
            cursor,
            embedder,
            claim_params,
            // When the window detectors last ran, across restarts (a watcher restarted more often
            // than their period would otherwise never run them).
            last_campaigns: since_saved(journal, "last:campaigns")?,
            last_coordination: since_saved(journal, "last:coordination")?,
            last_narratives: since_saved(journal, "last:narratives")?,
            since_coordination: 0,
            since_narratives: 0,
            narrative_counted: HashMap::new(),
            campaign_clock: 0,
            narrative_model: None,
            narrative_after: cursor,
            full_from: cursor,
            narrative_known: HashMap::new(),
            narrative_pending: HashMap::new(),
            last_narrative_store: Instant::now(),
            campaigns: (!setup.detect.campaigns_every.0.is_zero()).then(|| {
                CampaignsLive::new(
                    varta_detect::campaigns::Params::default(),
                    setup.detect.campaigns_window.ms(),
                )
            }),
            coordination: None,
            coord_clock: f64::MIN,
            coord_window: COORD_DEFAULT_WINDOW,
            coord_fill: None,
            coord_estimate: None,
        };
        let of_groups = e.load_groups(store)?;
        let window = journal
            .get("coordination:window_s")?
            .and_then(|w| w.parse::<f64>().ok())
            .filter(|w| w.is_finite() && *w > 0.0)
            .unwrap_or(of_groups);
        if !setup.detect.coordination_every.0.is_zero() {
            // Filled in the background (a day at 100,000 posts an hour is two minutes of work);
            // until then batches are not put in it, and the fill catches up with them.
            e.coord_window = window;
            e.coord_fill = Some(window);
        }
        e.rebuild(store)?;
        Ok(e)
    }

    /// Reads the stored coordinated groups by member; returns the window of the latest one (the
    /// full run's estimate), or the default.
    fn load_groups(&mut self, store: &impl Store) -> Result<f64> {
        self.groups_of.clear();
        let mut latest: Option<(DateTime<Utc>, f64)> = None;
        for f in store.findings(Some(varta_detect::coord::finding::KIND))? {
            self.add_group(&f);
            if let Some(w) = f.body["window_s"].as_f64()
                && w > 0.0
                && latest.is_none_or(|l| f.created_at > l.0)
            {
                latest = Some((f.created_at, w));
            }
        }
        Ok(latest.map_or(COORD_DEFAULT_WINDOW, |l| l.1))
    }

    fn add_group(&mut self, f: &Finding) {
        for m in f.body["members"].as_array().into_iter().flatten() {
            if let Some(a) = m.as_str() {
                let ids = self.groups_of.entry(a.to_string()).or_default();
                if !ids.contains(&f.id) {
                    ids.push(f.id.clone());
                }
            }
        }
    }

    /// Puts documents into the coordination network; returns the groups it hands out.
    fn push_coordination(
        &mut self,
        docs: &[Document],
        now: DateTime<Utc>,
    ) -> Vec<varta_detect::coord::finding::GroupFinding> {
        let Some(c) = self.coordination.as_mut() else {
            return Vec::new();
        };
        push_into(c, &mut self.coord_clock, docs, now)
    }

    /// The fill of the coordination network the caller should start on its own thread with
    /// [`fill_coordination`], if one is due.
    pub fn coordination_fill_due(&mut self) -> Option<CoordFill> {
        let window_s = self.coord_fill.take()?;
        let now = Utc::now();
        Some(CoordFill {
            window_s,
            keep_s: self.setup.detect.coordination_window.ms() as f64 / 1000.0,
            since: now - chrono::Duration::milliseconds(self.setup.detect.coordination_window.ms()),
            upto: self.cursor,
            now,
        })
    }

    /// The estimate of the coordination window the caller should run on its own thread (with
    /// [`crate::coord::estimate_window`] over the documents since the instant returned), if due.
    pub fn coordination_estimate_due(&mut self) -> Option<DateTime<Utc>> {
        self.coord_estimate.take()
    }

    /// The estimate's result (`None`: no documents): when the window moved, the network is
    /// filled again with it, in the background; the one held goes on until then.
    pub fn coordination_estimated(&mut self, window_s: Option<f64>) {
        let held = self.coordination.as_ref().map_or(0, CoordLive::len);
        tracing::info!(
            window_s,
            posts_held = held,
            "watch: coordination window estimated"
        );
        if let Some(w) = window_s
            && w != self.coord_window
        {
            self.coord_window = w;
            self.coord_fill = Some(w);
        }
    }

    /// A fill failed: it is due again.
    pub fn coordination_fill_failed(&mut self, window_s: f64) {
        self.coord_fill = Some(window_s);
    }

    /// Takes a finished fill: puts in it the documents the batches took since it started (their
    /// groups stored), and detects on it from now on. Returns the groups stored.
    pub fn coordination_filled(&mut self, store: &mut impl Store, f: Filled) -> Result<usize> {
        let Filled {
            mut live,
            mut clock,
            upto,
            since,
        } = f;
        let now = Utc::now();
        let mut groups = Vec::new();
        pages_between(store, upto, self.cursor, |docs| {
            let mine: Vec<Document> = docs
                .iter()
                .filter(|d| doc_time(d) >= since)
                .cloned()
                .collect();
            groups.extend(push_into(&mut live, &mut clock, &mine, now));
        })?;
        tracing::info!(
            posts = live.len(),
            window_s = live.window(),
            "watch: coordination network filled from its window"
        );
        if self.coord_fill.is_none() {
            self.coord_window = live.window();
        }
        self.coordination = Some(live);
        self.coord_clock = clock;
        self.store_groups(store, groups, now)
    }

    /// Stores the groups the coordination network handed out; returns how many.
    fn store_groups(
        &mut self,
        store: &mut impl Store,
        groups: Vec<varta_detect::coord::finding::GroupFinding>,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        if groups.is_empty() {
            return Ok(0);
        }
        let params = varta_detect::coord::network::Params::default();
        let findings: Vec<Finding> = groups.iter().map(|g| g.finding(&params, now)).collect();
        for f in &findings {
            self.add_group(f);
        }
        store.put_findings(&findings)?;
        tracing::info!(groups = findings.len(), "watch: coordinated groups stored");
        Ok(findings.len())
    }

    /// Counts the documents of the history window up to the cursor (those after it are the
    /// next batch's), and puts those of the campaigns' window into their index.
    fn rebuild(&mut self, store: &impl Store) -> Result<()> {
        let now = Utc::now();
        let history = now - chrono::Duration::milliseconds(self.setup.bursts.history.ms());
        let campaigns =
            now - chrono::Duration::milliseconds(self.setup.detect.campaigns_window.ms());
        let mut since = history;
        if self.campaigns.is_some() {
            since = since.min(campaigns);
        }
        let mut n = 0u64;
        let cursor = self.cursor;
        let now_ms = now.timestamp_millis();
        pages_before(store, since, cursor, |docs| {
            // Matching the rules is most of the work: over a page at once, on every core.
            let (wanted, rules) = (&self.setup.bursts.keys, &self.rules);
            let keys: Vec<Option<Vec<String>>> = docs
                .par_iter()
                .map(|d| (doc_time(d) >= history).then(|| burst_keys(wanted, rules, d, &[], &[])))
                .collect();
            for (d, k) in docs.iter().zip(keys) {
                if let Some(k) = k {
                    self.tracker.add(doc_time(d).timestamp_millis(), now_ms, &k);
                }
                n += 1;
            }
            self.push_campaigns(docs.iter().filter(|d| doc_time(d) >= campaigns), now);
        })?;
        self.tracker.take_bursts();
        tracing::info!(
            documents = n,
            keys = self.tracker.keys(),
            campaign_groups = self.campaigns.as_ref().map_or(0, |c| c.groups()),
            "watch: burst counts and campaign index rebuilt from their windows"
        );
        Ok(())
    }

    fn count(
        &mut self,
        d: &Document,
        rules: &[usize],
        claims: &[String],
        now: DateTime<Utc>,
    ) -> Vec<String> {
        let keys = burst_keys(&self.setup.bursts.keys, &self.rules, d, rules, claims);
        self.tracker.add(
            doc_time(d).timestamp_millis(),
            now.timestamp_millis(),
            &keys,
        );
        keys
    }

    /// Detects over the documents stored after the cursor; stores the findings; returns what
    /// may alert. The caller moves the journal's cursor to [`Engine::cursor`] with the alerts.
    pub fn batch(&mut self, store: &mut impl Store) -> Result<BatchReport> {
        let mut report = BatchReport::default();
        let now = Utc::now();
        let start = self.cursor;
        // Claims first: rules may filter on them, and their bursts are counted below.
        let mut claims_of: HashMap<String, Vec<String>> = HashMap::new();
        if self.setup.detect.claims && !store.claims()?.is_empty() {
            let r = crate::claims::detect_after(
                store,
                self.embedder,
                &self.claim_params,
                None,
                start,
                1000,
                &Logged,
            )?;
            for row in r.rows {
                if row.matched.verdict == Verdict::Match {
                    report.claim_matches += 1;
                    claims_of
                        .entry(row.document)
                        .or_default()
                        .push(row.matched.claim);
                }
            }
        }
        let mut rule_ev: BTreeMap<(usize, String), Vec<Evidence>> = BTreeMap::new();
        let mut key_ev: HashMap<String, Vec<Evidence>> = HashMap::new();
        let mut group_ev: BTreeMap<(String, String), Vec<Evidence>> = BTreeMap::new();
        let group_window = self.setup.detect.group_window.ms();
        loop {
            let (docs, next) = store.documents_page(None, self.cursor, PAGE)?;
            if docs.is_empty() {
                break;
            }
            self.cursor = next;
            self.push_campaigns(docs.iter(), now);
            let groups = self.push_coordination(&docs, now);
            report.coordinated_groups += self.store_groups(store, groups, now)? as u64;
            for d in &docs {
                report.documents += 1;
                let claims = claims_of.get(&d.id).cloned().unwrap_or_default();
                let hits = self.rules.matches(d, &claims);
                let rules: Vec<usize> = hits.iter().map(|h| h.0).collect();
                for (r, phrases) in hits {
                    rule_ev
                        .entry((r, day(doc_time(d))))
                        .or_default()
                        .push(Evidence::of(d, phrases));
                }
                let keys = self.count(d, &rules, &claims, now);
                for k in keys {
                    let ev = key_ev.entry(k.clone()).or_default();
                    if ev.len() < MAX_EVIDENCE {
                        ev.push(Evidence::of(d, vec![k]));
                    }
                }
                self.group_post(d, group_window, &mut group_ev);
            }
        }
        self.since_coordination += report.documents;
        self.store_campaigns(store, false, now)?;
        self.since_narratives += report.documents;
        let mut findings = Vec::new();
        let (f, c) = self.rule_findings(store, rule_ev, now)?;
        findings.extend(f);
        report.candidates.extend(c);
        let (f, c) = self.burst_findings(store, &mut key_ev, now)?;
        findings.extend(f);
        report.candidates.extend(c);
        for ((group, day), ev) in group_ev {
            let id = stable_hash(&[GROUP_KIND, &group, &day]);
            let f = grow(store, &id, GROUP_KIND, &group, &day, ev, now, |count| {
                format!("coordinated group {group} is posting again: {count} posts on {day}")
            })?;
            report.candidates.push(Candidate {
                finding: f.id.clone(),
                alert: "group".into(),
                trigger: group.clone(),
                rate_key: format!("group:{group}"),
                rate: default_rate(),
                summary: body_summary(&f),
                ready: true,
                count: f.documents.len() as u64,
            });
            findings.push(f);
        }
        report.findings = findings.len() as u64;
        store.put_findings(&findings)?;
        Ok(report)
    }

    /// Puts documents into the campaigns' index, its clock moved to their latest time.
    fn push_campaigns<'d>(&mut self, docs: impl Iterator<Item = &'d Document>, now: DateTime<Utc>) {
        let Some(c) = self.campaigns.as_mut() else {
            return;
        };
        let mut batch = Vec::new();
        for d in docs {
            let t = doc_time(d).min(now).timestamp_millis();
            self.campaign_clock = self.campaign_clock.max(t);
            batch.push(campaign_doc(d));
        }
        c.push(batch, self.campaign_clock);
    }

    /// Stores the campaigns due ([`CampaignsLive::take`]), each with the members its stored
    /// version had before the window; returns how many.
    fn store_campaigns(
        &mut self,
        store: &mut impl Store,
        flush: bool,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let Some(live) = self.campaigns.as_mut() else {
            return Ok(0);
        };
        let found = live.take(flush);
        if found.is_empty() {
            return Ok(0);
        }
        let params = varta_detect::campaigns::Params::default();
        let mut findings = Vec::with_capacity(found.len());
        for mut c in found {
            if let Some(f) = store.finding(&c.id)?
                && let Ok(earlier) =
                    serde_json::from_value::<varta_detect::campaigns::CampaignFinding>(f.body)
            {
                c.keep_earlier(&earlier.campaign);
            }
            let text = store
                .get(&c.representative)?
                .map(|d| d.text)
                .unwrap_or_default();
            findings
                .push(varta_detect::campaigns::CampaignFinding::new(c, text).finding(&params, now));
        }
        tracing::info!(campaigns = findings.len(), flush, "watch: campaigns stored");
        store.put_findings(&findings)?;
        Ok(findings.len())
    }

    /// The rules' findings (one per rule and day) grown by `rule_ev`, with their candidates.
    fn rule_findings(
        &self,
        store: &impl Store,
        rule_ev: BTreeMap<(usize, String), Vec<Evidence>>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Finding>, Vec<Candidate>)> {
        let (mut findings, mut candidates) = (Vec::new(), Vec::new());
        for ((r, day), ev) in rule_ev {
            let rule = &self.rules.rules()[r];
            let id = stable_hash(&[RULE_KIND, &rule.name, &day]);
            let f = grow(store, &id, RULE_KIND, &rule.name, &day, ev, now, |count| {
                format!("rule {:?} matched {count} documents on {day}", rule.name)
            })?;
            let ready = f.documents.len() >= rule.min_docs
                && (!rule.burst
                    || self
                        .tracker
                        .ongoing(&format!("rule:{}", rule.name))
                        .is_some());
            candidates.push(Candidate {
                finding: f.id.clone(),
                alert: "rule".into(),
                trigger: rule.name.clone(),
                rate_key: format!("rule:{}", rule.name),
                rate: rule.rate_limit,
                summary: body_summary(&f),
                ready,
                count: f.documents.len() as u64,
            });
            findings.push(f);
        }
        Ok((findings, candidates))
    }

    /// The findings (and alert candidates) of the keys bursting now among those counted since
    /// the last call; `key_ev` holds the evidence of this batch's documents per key.
    fn burst_findings(
        &mut self,
        store: &impl Store,
        key_ev: &mut HashMap<String, Vec<Evidence>>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Finding>, Vec<Candidate>)> {
        let (mut findings, mut candidates) = (Vec::new(), Vec::new());
        for (key, b) in self.tracker.take_bursts() {
            let begin = DateTime::<Utc>::from_timestamp_millis(b.begin_ms).unwrap_or(now);
            let end = DateTime::<Utc>::from_timestamp_millis(b.end_ms).unwrap_or(now);
            let id = stable_hash(&[BURST_KIND, &key, &b.begin_ms.to_string()]);
            let ev = key_ev.remove(&key).unwrap_or_default();
            let period = begin.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let mut f = grow(store, &id, BURST_KIND, &key, &period, ev, now, |_| {
                format!(
                    "{key} bursts: {} documents since {period}, {:.1}% of all against {:.1}% usually",
                    b.count,
                    b.share * 100.0,
                    b.base_share * 100.0
                )
            })?;
            let mut body: WatchBody = serde_json::from_value(f.body.clone()).unwrap_or_default();
            body.count = b.count;
            body.burst = Some(BurstBody {
                begin,
                end,
                level: 1,
                weight: b.weight,
                share: b.share,
                base_share: b.base_share,
            });
            f.body = serde_json::to_value(&body).unwrap_or_default();
            f.score = b.weight;
            let category = key.split(':').next().unwrap_or("").to_string();
            let rate = if category == "rule" {
                self.setup
                    .rules
                    .iter()
                    .find(|r| key.strip_prefix("rule:") == Some(r.name.as_str()))
                    .map_or(default_rate(), |r| r.rate_limit)
            } else {
                default_rate()
            };
            if self.setup.bursts.alert.contains(&category) {
                candidates.push(Candidate {
                    finding: f.id.clone(),
                    alert: "burst".into(),
                    trigger: key.clone(),
                    rate_key: format!("burst:{key}"),
                    rate,
                    summary: body.summary.clone(),
                    ready: true,
                    count: b.count,
                });
            }
            findings.push(f);
        }
        Ok((findings, candidates))
    }

    /// Records a post by a member of a stored group; when enough members posted within the
    /// window, their posts are evidence of the group acting again.
    fn group_post(
        &mut self,
        d: &Document,
        window_ms: i64,
        out: &mut BTreeMap<(String, String), Vec<Evidence>>,
    ) {
        let Some(actor) = d.actor_id.as_deref() else {
            return;
        };
        let Some(groups) = self.groups_of.get(actor) else {
            return;
        };
        let t = doc_time(d).timestamp_millis();
        for g in groups.clone() {
            let q = self.recent.entry(g.clone()).or_default();
            q.push_back((t, actor.to_string(), d.id.clone()));
            let newest = q.iter().map(|e| e.0).max().unwrap_or(t);
            q.retain(|e| e.0 >= newest - window_ms);
            while q.len() > 1000 {
                q.pop_front();
            }
            let actors: BTreeSet<&str> = q.iter().map(|e| e.1.as_str()).collect();
            if actors.len() >= self.setup.detect.group_min_actors.max(1) {
                out.entry((g, day(doc_time(d))))
                    .or_default()
                    .push(Evidence::of(d, vec![actor.to_string()]));
            }
        }
    }

    /// Campaigns over their window and coordination's window estimate, when their time came and
    /// documents arrived since.
    pub fn periodic(&mut self, store: &mut impl Store) -> Result<()> {
        if !self.narrative_pending.is_empty() {
            self.store_pending_narratives(store)?;
        }
        let d = self.setup.detect.clone();
        if self.campaigns.as_ref().is_some_and(|c| c.changed())
            && self.last_campaigns.elapsed() >= d.campaigns_every.0
        {
            let n = self.store_campaigns(store, true, Utc::now())?;
            if n > 0 {
                crate::taxii::publish_findings(store)?;
            }
            self.last_campaigns = Instant::now();
        }
        if !d.coordination_every.0.is_zero()
            && self.since_coordination > 0
            && self.last_coordination.elapsed() >= d.coordination_every.0
        {
            // The network kept per batch stores its groups; this run only estimates the window
            // (`auto`), over the whole window while it holds few posts and over its last hour
            // once it holds many (a day at 100,000 posts an hour is 50 s and 1.7 GB to read
            // and network again, with every batch waiting).
            let held = self.coordination.as_ref().map_or(0, CoordLive::len);
            let span = if held <= ESTIMATE_ALL_UP_TO {
                d.coordination_window.ms()
            } else {
                d.coordination_window.ms().min(3_600_000)
            };
            // Estimated on its own thread ([`Engine::coordination_estimate_due`]): even its last
            // hour is a scan of the store's dates.
            self.coord_estimate = Some(Utc::now() - chrono::Duration::milliseconds(span));
            self.load_groups(store)?;
            self.last_coordination = Instant::now();
            self.since_coordination = 0;
        }
        Ok(())
    }

    /// The e5 embedder, when the model was found.
    pub fn embedder(&self) -> Option<&'e dyn Embedder> {
        self.embedder
    }

    /// When narratives are due (their time came, documents arrived since, the model is there):
    /// the start of their window. The caller runs them in the background and calls
    /// [`Engine::narratives_done`] with the result.
    pub fn narratives_due(&self) -> Option<DateTime<Utc>> {
        let d = &self.setup.detect;
        self.full_narratives_due()
            .then(|| Utc::now() - chrono::Duration::milliseconds(d.narratives_window.ms()))
    }

    /// Whether a full narratives run is due: documents came, and its period passed or there is
    /// no model yet for documents to join (the first run after a start).
    fn full_narratives_due(&self) -> bool {
        let d = &self.setup.detect;
        self.embedder.is_some()
            && !d.narratives_every.0.is_zero()
            && self.since_narratives > 0
            && (self.narrative_model.is_none()
                || self.last_narratives.elapsed() >= d.narratives_every.0)
    }

    /// A narratives run started: the next one is due a period from now.
    pub fn narratives_started(&mut self) {
        self.last_narratives = Instant::now();
        self.since_narratives = 0;
        self.full_from = self.cursor;
    }

    /// The narratives of a full run (already stored): documents stored after its start join
    /// them from now on; returns the alert candidates of their bursts and of rules watching
    /// them.
    pub fn narratives_done(
        &mut self,
        store: &mut impl Store,
        found: &crate::narratives::Detected,
    ) -> Result<Vec<Candidate>> {
        tracing::info!(
            narratives = found.found.len(),
            documents = found.documents,
            embedded = found.embedded,
            "watch: narratives over the window"
        );
        let mut model = found.model.clone();
        let mut found_now: Vec<varta_detect::narratives::NarrativeFinding> = found.found.clone();
        self.carry_on_narratives(store, &mut found_now, &mut model)?;
        self.narrative_model = Some(model);
        self.narrative_after = self.full_from;
        // The run stored every narrative with all its members.
        self.narrative_pending.clear();
        let known: HashMap<String, (String, usize, DateTime<Utc>)> = found_now
            .iter()
            .map(|n| (n.id.clone(), (n.label.clone(), n.size, n.last_seen)))
            .collect();
        // Narratives known before whose documents the run saw (the latest within its window)
        // but placed elsewhere were merged into others or dissolved: their findings go. Older
        // ones are history and stay.
        let since = Utc::now()
            - chrono::Duration::milliseconds(self.setup.detect.narratives_window.ms())
            + chrono::Duration::seconds(60);
        let gone: Vec<&str> = self
            .narrative_known
            .iter()
            .filter(|(id, k)| !known.contains_key(*id) && k.2 >= since)
            .map(|(id, _)| id.as_str())
            .collect();
        if !gone.is_empty() {
            let n = store.delete_findings(&gone)?;
            tracing::info!(
                narratives = n,
                "watch: narratives merged or dissolved by the full run"
            );
        }
        self.narrative_known = known;
        let events: Vec<NarrativeNews> = found_now
            .iter()
            .map(|n| (n.id.clone(), n.label.clone(), n.members.clone()))
            .collect();
        self.narrative_events(store, &events, true)
    }

    /// A narrative of a full run whose id is new but which holds members of a narrative known
    /// before (and not found again: its origin left the window, or its earliest members went
    /// elsewhere) carries on under the known id, with the known one's members before its own
    /// first: the narrative keeps its id and history as the window slides. The new id's finding
    /// goes.
    fn carry_on_narratives(
        &mut self,
        store: &mut impl Store,
        found: &mut [varta_detect::narratives::NarrativeFinding],
        model: &mut NarrativeModel,
    ) -> Result<()> {
        let ids: std::collections::HashSet<String> = found.iter().map(|n| n.id.clone()).collect();
        let mut owner: HashMap<&str, &str> = HashMap::new();
        for (id, docs) in &self.narrative_counted {
            if ids.contains(id) || !self.narrative_known.contains_key(id) {
                continue;
            }
            for d in docs {
                owner.insert(d.as_str(), id.as_str());
            }
        }
        if owner.is_empty() {
            return Ok(());
        }
        let mut adopted: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut renamed = Vec::new();
        let mut gone = Vec::new();
        let params = varta_detect::narratives::Params::default();
        let now = Utc::now();
        for n in found.iter_mut() {
            if self.narrative_known.contains_key(&n.id) {
                continue;
            }
            let mut votes: HashMap<&str, usize> = HashMap::new();
            for m in &n.members {
                if let Some(k) = owner.get(m.document.as_str()) {
                    *votes.entry(k).or_default() += 1;
                }
            }
            let Some((&known, _)) = votes
                .iter()
                .filter(|(k, _)| !adopted.contains(**k))
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            else {
                continue;
            };
            let Some(f) = store.finding(known)? else {
                continue;
            };
            let Ok(before) =
                serde_json::from_value::<varta_detect::narratives::NarrativeFinding>(f.body)
            else {
                continue;
            };
            let first = n.first_seen.time;
            n.add_members(
                before
                    .members
                    .into_iter()
                    .filter(|m| m.time < first)
                    .collect(),
            );
            model.rename(&n.id, known);
            gone.push(std::mem::replace(&mut n.id, known.to_string()));
            adopted.insert(known.to_string());
            renamed.push(n.finding(&params, now));
        }
        if !renamed.is_empty() {
            store.put_findings(&renamed)?;
            let gone: Vec<&str> = gone.iter().map(String::as_str).collect();
            store.delete_findings(&gone)?;
            tracing::info!(
                narratives = renamed.len(),
                "watch: narratives carried on under their earlier ids"
            );
        }
        Ok(())
    }

    /// When documents wait to join the narratives (a full run left a model, and none runs):
    /// the model, where to start and the oldest document time to place. The caller runs
    /// [`crate::narratives::join_after`] in the background and calls [`Engine::joined`].
    pub fn join_due(&self) -> Option<(NarrativeModel, PageCursor, DateTime<Utc>)> {
        let model = self.narrative_model.as_ref()?;
        self.embedder?;
        (self.cursor > self.narrative_after).then(|| {
            let w = self.setup.detect.narratives_window.ms();
            (
                model.clone(),
                self.narrative_after,
                Utc::now() - chrono::Duration::milliseconds(w),
            )
        })
    }

    /// Documents were placed in the narratives: new narratives (already stored) and members
    /// that joined known ones, whose findings grow when their pending members would double
    /// them, or a minute after they were last stored (a narrative of 50,000 members is not
    /// rewritten for each post).
    pub fn joined(
        &mut self,
        store: &mut impl Store,
        joined: &crate::narratives::Joined,
        model: NarrativeModel,
    ) -> Result<Vec<Candidate>> {
        tracing::info!(
            documents = joined.documents,
            embedded = joined.embedded,
            joined = joined.joins.len(),
            started = joined.started.len(),
            narratives = model.narratives(),
            "watch: new documents placed in narratives"
        );
        self.narrative_model = Some(model);
        self.narrative_after = joined.after;
        let mut events: Vec<NarrativeNews> = Vec::new();
        for n in &joined.started {
            self.narrative_known
                .insert(n.id.clone(), (n.label.clone(), n.size, n.last_seen));
            events.push((n.id.clone(), n.label.clone(), n.members.clone()));
        }
        let mut by: BTreeMap<&str, Vec<varta_detect::narratives::Member>> = BTreeMap::new();
        for (id, m) in &joined.joins {
            by.entry(id.as_str()).or_default().push(m.clone());
        }
        for (id, members) in by {
            let label = self
                .narrative_known
                .get(id)
                .map_or_else(String::new, |k| k.0.clone());
            self.narrative_pending
                .entry(id.to_string())
                .or_default()
                .extend(members.iter().cloned());
            events.push((id.to_string(), label, members));
        }
        let candidates = self.narrative_events(store, &events, false)?;
        self.store_pending_narratives(store)?;
        Ok(candidates)
    }

    /// Grows the stored narratives whose pending members are due (see [`Engine::joined`]).
    fn store_pending_narratives(&mut self, store: &mut impl Store) -> Result<()> {
        let minute = self.last_narrative_store.elapsed() >= std::time::Duration::from_secs(60);
        let due: Vec<String> = self
            .narrative_pending
            .iter()
            .filter(|(id, p)| {
                let size = self.narrative_known.get(*id).map_or(0, |k| k.1);
                minute || p.len() >= size.max(8)
            })
            .map(|(id, _)| id.clone())
            .collect();
        if minute {
            self.last_narrative_store = Instant::now();
        }
        let params = varta_detect::narratives::Params::default();
        let now = Utc::now();
        let mut findings = Vec::new();
        for id in due {
            let Some(pending) = self.narrative_pending.remove(&id) else {
                continue;
            };
            let Some(f) = store.finding(&id)? else {
                continue;
            };
            let Ok(mut n) =
                serde_json::from_value::<varta_detect::narratives::NarrativeFinding>(f.body)
            else {
                continue;
            };
            n.add_members(pending);
            if let Some(k) = self.narrative_known.get_mut(&id) {
                k.1 = n.size;
                k.2 = n.last_seen;
            }
            findings.push(n.finding(&params, now));
        }
        if !findings.is_empty() {
            store.put_findings(&findings)?;
        }
        Ok(())
    }

    /// The members new to each narrative count in its burst series (they are in the totals
    /// already) and are checked against the rules watching narratives. After a full run
    /// (`full`), narratives it no longer found are forgotten.
    fn narrative_events(
        &mut self,
        store: &mut impl Store,
        found: &[NarrativeNews],
        full: bool,
    ) -> Result<Vec<Candidate>> {
        let now = Utc::now();
        if full {
            let live: std::collections::HashSet<&str> =
                found.iter().map(|n| n.0.as_str()).collect();
            self.narrative_counted
                .retain(|k, _| live.contains(k.as_str()));
        }
        let bursts = self.setup.bursts.keys.iter().any(|k| k == "narrative");
        let mut key_ev: HashMap<String, Vec<Evidence>> = HashMap::new();
        let mut fresh: Vec<(usize, Vec<&varta_detect::narratives::Member>)> = Vec::new();
        for (i, (id, label, members)) in found.iter().enumerate() {
            let key = format!("narrative:{id}");
            let counted = self.narrative_counted.entry(id.clone()).or_default();
            let mut new = Vec::new();
            for m in members {
                if counted.insert(m.document.clone()) {
                    new.push(m);
                }
            }
            if bursts {
                for m in &new {
                    self.tracker
                        .add_key(m.time.timestamp_millis(), now.timestamp_millis(), &key);
                    let ev = key_ev.entry(key.clone()).or_default();
                    if ev.len() < MAX_EVIDENCE {
                        ev.push(Evidence {
                            document: m.document.clone(),
                            actor: m.actor.clone(),
                            source: String::new(),
                            language: m.language.clone(),
                            time: m.time,
                            title: None,
                            url: None,
                            matched: vec![label.clone()],
                            text: String::new(),
                        });
                    }
                }
            }
            fresh.push((i, new));
        }
        let (mut f, mut c) = self.burst_findings(store, &mut key_ev, now)?;
        // Rules that watch narratives: the new members of the narratives they name.
        if self.rules.rules().iter().any(|r| !r.narrative.is_empty()) {
            let mut rule_ev: BTreeMap<(usize, String), Vec<Evidence>> = BTreeMap::new();
            for (i, new) in fresh {
                let (id, label, _) = &found[i];
                for m in new {
                    let Some(d) = store.get(&m.document)? else {
                        continue;
                    };
                    for (r, phrases) in self.rules.matches_in_narrative(&d, id, label) {
                        let mut matched = phrases;
                        matched.push(label.clone());
                        rule_ev
                            .entry((r, day(doc_time(&d))))
                            .or_default()
                            .push(Evidence::of(&d, matched));
                    }
                }
            }
            let (rf, rc) = self.rule_findings(store, rule_ev, now)?;
            f.extend(rf);
            c.extend(rc);
        }
        store.put_findings(&f)?;
        Ok(c)
    }

    /// Whether a window detector waits for its time with documents to read.
    pub fn periodic_due(&self) -> bool {
        let d = &self.setup.detect;
        let due = |every: super::config::Span, since: u64, last: Instant| {
            !every.0.is_zero() && since > 0 && last.elapsed() >= every.0
        };
        (self.campaigns.as_ref().is_some_and(|c| c.changed())
            && self.last_campaigns.elapsed() >= d.campaigns_every.0)
            || due(
                d.coordination_every,
                self.since_coordination,
                self.last_coordination,
            )
            || self.full_narratives_due()
    }

    pub fn tracked_keys(&self) -> usize {
        self.tracker.keys()
    }

    /// Documents in the campaigns' index and their groups of near-duplicates.
    pub fn campaign_index(&self) -> (usize, usize) {
        self.campaigns
            .as_ref()
            .map_or((0, 0), |c| (c.len(), c.groups()))
    }

    /// Posts in the coordination network's window and the groups it holds.
    pub fn coordination_index(&self) -> (usize, usize) {
        self.coordination
            .as_ref()
            .map_or((0, 0), |c| (c.len(), c.group_count()))
    }
}

/// The store's documents published since `since` and stored up to `cursor` (those after it are the
/// next batch's), a page at a time; the page that straddles the cursor one document at a time.
/// A fill of the coordination network from the store's window, to run on its own thread.
pub struct CoordFill {
    window_s: f64,
    keep_s: f64,
    since: DateTime<Utc>,
    upto: PageCursor,
    now: DateTime<Utc>,
}

impl CoordFill {
    /// The co-share window it fills with.
    pub fn window_s(&self) -> f64 {
        self.window_s
    }
}

/// A filled coordination network, up to the cursor the fill started at.
pub struct Filled {
    live: CoordLive,
    clock: f64,
    upto: PageCursor,
    since: DateTime<Utc>,
}

/// Fills a coordination network with the documents of its window stored before the cursor
/// (the groups it would hand out were stored before: they are not handed out again).
pub fn fill_coordination(store: &impl Store, fill: &CoordFill) -> Result<Filled> {
    let mut live = CoordLive::new(
        varta_detect::coord::network::Params::default(),
        fill.window_s,
        fill.keep_s,
    );
    let mut clock = f64::MIN;
    pages_before(store, fill.since, fill.upto, |docs| {
        push_into(&mut live, &mut clock, docs, fill.now);
    })?;
    Ok(Filled {
        live,
        clock,
        upto: fill.upto,
        since: fill.since,
    })
}

/// Puts documents into a coordination network whose clock follows the latest post time, never
/// ahead of `now`; returns the groups it hands out.
fn push_into(
    live: &mut CoordLive,
    clock: &mut f64,
    docs: &[Document],
    now: DateTime<Utc>,
) -> Vec<varta_detect::coord::finding::GroupFinding> {
    let cap = now.timestamp_millis() as f64 / 1000.0;
    for d in docs {
        *clock = clock.max((doc_time(d).timestamp_millis() as f64 / 1000.0).min(cap));
    }
    if docs.is_empty() {
        return Vec::new();
    }
    live.push(docs.to_vec(), *clock)
}

/// The burst keys of a document: its rules (matched here when `rules` is empty and there are
/// rules), claims, hashtags and links, as far as `wanted` asks for them.
fn burst_keys(
    wanted: &[String],
    all: &Rules,
    d: &Document,
    rules: &[usize],
    claims: &[String],
) -> Vec<String> {
    let want = |k: &str| wanted.iter().any(|x| x == k);
    let matched: Vec<usize>;
    let rules = if rules.is_empty() && !all.rules().is_empty() && want("rule") {
        matched = all.matches(d, claims).into_iter().map(|(r, _)| r).collect();
        &matched[..]
    } else {
        rules
    };
    let mut keys = Vec::new();
    if want("rule") {
        keys.extend(
            rules
                .iter()
                .map(|&r| format!("rule:{}", all.rules()[r].name)),
        );
    }
    if want("claim") {
        keys.extend(claims.iter().map(|c| format!("claim:{c}")));
    }
    if want("hashtag") {
        keys.extend(
            d.hashtags
                .iter()
                .map(|h| format!("hashtag:{}", h.to_lowercase())),
        );
    }
    if want("link") {
        keys.extend(d.links.iter().map(|l| format!("link:{l}")));
    }
    keys
}

/// Posts the coordination network may hold for its window to be estimated over all of them;
/// past this, over the last hour.
const ESTIMATE_ALL_UP_TO: usize = 200_000;

fn pages_before(
    store: &impl Store,
    since: DateTime<Utc>,
    cursor: PageCursor,
    take: impl FnMut(&[Document]),
) -> Result<()> {
    pages_within(store, Some(since), PageCursor::START, cursor, take)
}

/// The documents stored after `from` up to `to`, page by page.
fn pages_between(
    store: &impl Store,
    from: PageCursor,
    to: PageCursor,
    take: impl FnMut(&[Document]),
) -> Result<()> {
    if to <= from {
        return Ok(());
    }
    pages_within(store, None, from, to, take)
}

/// The documents (dated from `since`) stored after `from` up to `to`: whole pages, and the page
/// that straddles `to` one document at a time.
fn pages_within(
    store: &impl Store,
    since: Option<DateTime<Utc>>,
    from: PageCursor,
    to: PageCursor,
    mut take: impl FnMut(&[Document]),
) -> Result<()> {
    let mut after = from;
    loop {
        let (docs, next) = store.documents_page(since, after, PAGE)?;
        if docs.is_empty() {
            return Ok(());
        }
        if next > to {
            let mut at = after;
            loop {
                let (one, nx) = store.documents_page(since, at, 1)?;
                if one.is_empty() || nx > to {
                    return Ok(());
                }
                at = nx;
                take(&one);
            }
        }
        after = next;
        take(&docs);
    }
}

/// The instant a run saved as `key` (ms since the epoch) happened; now when none was saved.
fn since_saved(journal: &WatchDb, key: &str) -> Result<Instant> {
    let now = Instant::now();
    let Some(ms) = journal.get(key)?.and_then(|t| t.parse::<i64>().ok()) else {
        return Ok(now);
    };
    let ago = u64::try_from(Utc::now().timestamp_millis() - ms).unwrap_or(0);
    Ok(now
        .checked_sub(std::time::Duration::from_millis(ago))
        .unwrap_or(now))
}

impl Engine<'_> {
    /// The window detectors' last runs, to save in the journal.
    pub fn last_runs(&self) -> [(&'static str, String); 4] {
        let ms = |i: Instant| {
            (Utc::now().timestamp_millis() - i.elapsed().as_millis() as i64).to_string()
        };
        [
            ("last:campaigns", ms(self.last_campaigns)),
            ("last:coordination", ms(self.last_coordination)),
            ("last:narratives", ms(self.last_narratives)),
            // The window the coordination network was last filled with, so that a restart
            // fills it once with the right one.
            ("coordination:window_s", self.coord_window.to_string()),
        ]
    }
}

pub fn default_rate() -> Rate {
    Rate {
        count: 20,
        per: super::config::Span::secs(3600),
    }
}

fn body_summary(f: &Finding) -> String {
    f.body["summary"].as_str().unwrap_or("").to_string()
}

/// The stored finding `id` grown by `ev` (or a new one): documents and evidence merged without
/// repeats, so detecting a batch twice changes nothing.
#[allow(clippy::too_many_arguments)]
fn grow(
    store: &impl Store,
    id: &str,
    kind: &str,
    trigger: &str,
    period: &str,
    ev: Vec<Evidence>,
    now: DateTime<Utc>,
    summary: impl Fn(u64) -> String,
) -> Result<Finding> {
    let (mut docs, mut body, first) = match store.finding(id)? {
        Some(f) => {
            let body: WatchBody = serde_json::from_value(f.body).unwrap_or_default();
            (f.documents, body, f.first_seen)
        }
        None => (
            Vec::new(),
            WatchBody {
                trigger: trigger.to_string(),
                period: period.to_string(),
                ..Default::default()
            },
            None,
        ),
    };
    let mut known: std::collections::HashSet<String> = docs.iter().cloned().collect();
    let mut first = first;
    for e in ev {
        if !known.insert(e.document.clone()) {
            continue;
        }
        body.count += 1;
        first = Some(first.map_or(e.time, |f: DateTime<Utc>| f.min(e.time)));
        if docs.len() < MAX_DOCS {
            docs.push(e.document.clone());
        }
        if let Some(a) = &e.actor
            && !body.actors.contains(a)
            && body.actors.len() < MAX_EVIDENCE
        {
            body.actors.push(a.clone());
        }
        if body.evidence.len() < MAX_EVIDENCE {
            body.evidence.push(e);
        }
    }
    body.summary = summary(body.count);
    Ok(Finding {
        id: id.to_string(),
        kind: kind.to_string(),
        detector: DETECTOR.into(),
        parameters: serde_json::json!({"trigger": trigger}),
        score: body.count as f64,
        first_seen: first,
        created_at: now,
        documents: docs,
        body: serde_json::to_value(&body).unwrap_or_default(),
    })
}
