//! Narratives: documents grouped by what they say, across languages.
//!
//! # What it detects
//! Groups of documents that tell the same story or push the same claim, in any of the languages
//! Varta reads. Each document's multilingual e5 vector, less the mean vector of its language
//! (see `centred`), joins the narrative whose centroid it is closest to when the cosine reaches
//! [`Params::join`], else it starts a new one (an online clustering: documents arrive in time
//! order, as a watcher sees them); narratives whose centroids end up within [`Params::merge`] of
//! each other are then merged, and each document is reassigned to the centre now closest. A
//! narrative needs [`Params::min_members`] documents, two of which reach [`Params::core`] (texts
//! on one everyday topic sit near each other, retellings of one story nearer); the rest stay out.
//!
//! Each narrative is labelled by its most telling words per language: class-based TF-IDF (a
//! word's share of the narrative's words, weighted by how rare the word is across all
//! narratives), so that the words it shares with every other narrative do not label it.
//!
//! # Why it matters
//! An operation tells one story in many wordings and languages; counting its wordings one by
//! one hides its size. A narrative is what bursts, returns and spreads.
//!
//! # Example
//! "Kyiv metro closes for three days" in an English headline, a Ukrainian post and a Russian
//! channel: one narrative; "Kharkiv introduces 16-hour power cuts" (same topic, another claim):
//! another.
//!
//! # Limitations
//! The language means come from the input: a file of a few dozen texts gives a poor one (under
//! `MIN_LANGUAGE_MEAN` texts of a language, the overall mean stands in). Two claims on one topic
//! can merge, and one story told very differently can split. Each new document is compared with every
//! narrative's centroid (linear in the narratives).
//!
//! # As a stored finding
//! [`NarrativeFinding`] is a narrative as stored (kind [`KIND`]): its label, members with their
//! actors, languages and times, representative texts, volume over time, and the other stored
//! findings that cite its documents ([`Linker`]). Its id is derived from the parameters and the
//! narrative's earliest member ([`narrative_id`]), so a rerun on the same data replaces the same
//! findings, and a narrative keeps its id as later documents join it.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub mod live;

/// Detector name and version recorded with every finding.
pub const DETECTOR: &str = "varta-detect/narratives 1";
/// The finding kind.
pub const KIND: &str = "narrative";

/// Thresholds of the clustering.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Params {
    /// Cosine with a narrative's centroid at which a document joins it.
    pub join: f32,
    /// Cosine between two centroids at which their narratives merge.
    pub merge: f32,
    /// Documents a narrative needs.
    pub min_members: usize,
    /// Cosine the closest two members of a narrative must reach: texts on one everyday topic
    /// (recipes, match results) sit near each other, retellings of one story nearer.
    pub core: f32,
}

impl Default for Params {
    fn default() -> Self {
        // Tuned on the tune half of bench/narratives (cosines of language-centred vectors).
        Params {
            join: 0.45,
            merge: 0.4,
            min_members: 2,
            core: 0.5,
        }
    }
}

/// One document to cluster.
pub struct Item<'a> {
    pub text: &'a str,
    pub lang: &'a str,
    /// Seconds since the epoch (ordering and timelines); `None`: input order.
    pub time: Option<i64>,
    /// Its e5 vector.
    pub vector: &'a [f32],
}

/// A narrative: its members (indices into the input), best representatives first in
/// `representatives`, and its label words per language.
#[derive(Debug, Clone, PartialEq)]
pub struct Narrative {
    pub members: Vec<usize>,
    pub representatives: Vec<usize>,
    pub labels: BTreeMap<String, Vec<String>>,
}

fn unit(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter().map(|x| x / n).collect()
    } else {
        v.to_vec()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The items' vectors, unit length, less the mean of their language's, unit length again. e5's
/// vectors of any two news posts are close (cosines of 0.8 and more): they share a direction, "a
/// news post", that says nothing about which story, and one per language, which pulls posts of
/// one language together across stories. Taking each language's mean out leaves what differs.
/// (A language with fewer than [`MIN_LANGUAGE_MEAN`] items takes the overall mean.)
fn centred(items: &[Item<'_>]) -> Vec<Vec<f32>> {
    let (overall, by_lang) = means(items);
    centred_with(items, &overall, &by_lang)
}

/// The mean unit vector of all items, and of each language's (the overall one for a language
/// with fewer than [`MIN_LANGUAGE_MEAN`] items).
fn means(items: &[Item<'_>]) -> (Vec<f32>, HashMap<String, Vec<f32>>) {
    let units: Vec<Vec<f32>> = items.iter().map(|i| unit(i.vector)).collect();
    let dim = units.first().map_or(0, Vec::len);
    let mean_of = |which: &mut dyn Iterator<Item = &Vec<f32>>| {
        let mut mean = vec![0f32; dim];
        let mut n = 0usize;
        for v in which {
            for (m, x) in mean.iter_mut().zip(v) {
                *m += x;
            }
            n += 1;
        }
        for m in &mut mean {
            *m /= n.max(1) as f32;
        }
        (mean, n)
    };
    let (overall, _) = mean_of(&mut units.iter());
    let mut by_lang: HashMap<String, Vec<f32>> = HashMap::new();
    for lang in items.iter().map(|i| i.lang) {
        if by_lang.contains_key(lang) {
            continue;
        }
        let (mean, n) = mean_of(
            &mut units
                .iter()
                .zip(items)
                .filter(|(_, i)| i.lang == lang)
                .map(|(v, _)| v),
        );
        by_lang.insert(
            lang.to_string(),
            if n >= MIN_LANGUAGE_MEAN {
                mean
            } else {
                overall.clone()
            },
        );
    }
    (overall, by_lang)
}

/// Each item's unit vector less its language's mean, unit length again.
fn centred_with(
    items: &[Item<'_>],
    overall: &[f32],
    by_lang: &HashMap<String, Vec<f32>>,
) -> Vec<Vec<f32>> {
    items
        .iter()
        .map(|i| {
            let v = unit(i.vector);
            let mean = by_lang.get(i.lang).map_or(overall, Vec::as_slice);
            unit(&v.iter().zip(mean).map(|(x, m)| x - m).collect::<Vec<f32>>())
        })
        .collect()
}

/// Items a language needs for a mean of its own.
pub const MIN_LANGUAGE_MEAN: usize = 20;

struct Cluster {
    sum: Vec<f32>,
    members: Vec<usize>,
}

impl Cluster {
    fn centroid(&self) -> Vec<f32> {
        unit(&self.sum)
    }
}

/// Groups `items` into narratives, largest first.
pub fn cluster(items: &[Item<'_>], params: &Params) -> Vec<Narrative> {
    let vectors: Vec<Vec<f32>> = centred(items);
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (items[i].time.unwrap_or(i64::MIN), i));
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut centroids: Vec<Vec<f32>> = Vec::new();
    for &i in &order {
        let best = centroids
            .iter()
            .enumerate()
            .map(|(c, v)| (c, dot(v, &vectors[i])))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((c, cos)) if cos >= params.join => {
                for (s, x) in clusters[c].sum.iter_mut().zip(&vectors[i]) {
                    *s += x;
                }
                clusters[c].members.push(i);
                centroids[c] = clusters[c].centroid();
            }
            _ => {
                clusters.push(Cluster {
                    sum: vectors[i].clone(),
                    members: vec![i],
                });
                centroids.push(vectors[i].clone());
            }
        }
    }
    // Merge the closest pair of centroids until none is within `merge`.
    loop {
        let mut best: Option<(usize, usize, f32)> = None;
        for a in 0..clusters.len() {
            for b in a + 1..clusters.len() {
                let cos = dot(&centroids[a], &centroids[b]);
                if cos >= params.merge && best.is_none_or(|(_, _, c)| cos > c) {
                    best = Some((a, b, cos));
                }
            }
        }
        let Some((a, b, _)) = best else { break };
        let gone = clusters.swap_remove(b);
        centroids.swap_remove(b);
        for (s, x) in clusters[a].sum.iter_mut().zip(&gone.sum) {
            *s += x;
        }
        clusters[a].members.extend(gone.members);
        centroids[a] = clusters[a].centroid();
    }
    // Two rounds of reassignment: each document to the centre it is now closest to (the centres
    // moved as documents joined after it), or out when none is within `join`.
    for _ in 0..2 {
        let centres: Vec<Vec<f32>> = clusters
            .iter()
            .filter(|c| c.members.len() >= 2)
            .map(Cluster::centroid)
            .collect();
        if centres.is_empty() {
            break;
        }
        let mut next: Vec<Cluster> = centres
            .iter()
            .map(|_| Cluster {
                sum: vec![0.0; vectors[0].len()],
                members: Vec::new(),
            })
            .collect();
        for &i in &order {
            let (c, cos) = centres
                .iter()
                .enumerate()
                .map(|(c, v)| (c, dot(v, &vectors[i])))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((0, f32::MIN));
            if cos >= params.join {
                for (s, x) in next[c].sum.iter_mut().zip(&vectors[i]) {
                    *s += x;
                }
                next[c].members.push(i);
            }
        }
        clusters = next.into_iter().filter(|c| !c.members.is_empty()).collect();
    }
    let closest_pair = |c: &Cluster| {
        let mut best = f32::MIN;
        for (k, &a) in c.members.iter().enumerate() {
            for &b in &c.members[k + 1..] {
                best = best.max(dot(&vectors[a], &vectors[b]));
            }
        }
        best
    };
    let mut kept: Vec<Cluster> = clusters
        .into_iter()
        .filter(|c| c.members.len() >= params.min_members.max(1))
        .filter(|c| closest_pair(c) >= params.core)
        .collect();
    kept.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then_with(|| a.members.iter().min().cmp(&b.members.iter().min()))
    });
    let labels = label_words(items, &kept);
    kept.into_iter()
        .zip(labels)
        .map(|(c, labels)| {
            let centroid = c.centroid();
            let mut reps = c.members.clone();
            reps.sort_by(|&x, &y| {
                dot(&vectors[y], &centroid).total_cmp(&dot(&vectors[x], &centroid))
            });
            reps.truncate(3);
            let mut members = c.members;
            members.sort_unstable();
            Narrative {
                members,
                representatives: reps,
                labels,
            }
        })
        .collect()
}

/// Words too common to label anything (of four letters or more: shorter ones are skipped).
const STOP: &[&str] = &[
    "that",
    "this",
    "with",
    "from",
    "have",
    "will",
    "they",
    "their",
    "there",
    "what",
    "about",
    "been",
    "were",
    "which",
    "would",
    "after",
    "into",
    "more",
    "than",
    "also",
    "just",
    "said",
    "says",
    "який",
    "яка",
    "яке",
    "які",
    "якщо",
    "тому",
    "буде",
    "будуть",
    "вони",
    "його",
    "через",
    "після",
    "також",
    "щодо",
    "може",
    "можуть",
    "було",
    "були",
    "цього",
    "цей",
    "того",
    "лише",
    "коли",
    "який",
    "каже",
    "заявив",
    "заявила",
    "который",
    "которые",
    "которая",
    "будет",
    "будут",
    "если",
    "этого",
    "этот",
    "того",
    "после",
    "также",
    "может",
    "могут",
    "было",
    "были",
    "только",
    "когда",
    "через",
    "чтобы",
    "заявил",
    "заявила",
    "говорит",
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’').to_lowercase())
        .filter(|w| w.chars().count() >= 4 && !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !STOP.contains(&w.as_str()))
        .filter(|w| !w.starts_with("http"))
        .collect()
}

/// The top words per language of each cluster by class-based TF-IDF.
fn label_words(items: &[Item<'_>], clusters: &[Cluster]) -> Vec<BTreeMap<String, Vec<String>>> {
    // Per cluster and language: word counts; across clusters: how often each word occurs.
    let mut per: Vec<HashMap<(String, String), usize>> = Vec::with_capacity(clusters.len());
    let mut totals: HashMap<String, usize> = HashMap::new();
    let mut sizes = Vec::with_capacity(clusters.len());
    for c in clusters {
        let mut counts: HashMap<(String, String), usize> = HashMap::new();
        let mut size = 0usize;
        for &m in &c.members {
            for w in words(items[m].text) {
                *totals.entry(w.clone()).or_default() += 1;
                *counts.entry((items[m].lang.to_string(), w)).or_default() += 1;
                size += 1;
            }
        }
        per.push(counts);
        sizes.push(size.max(1));
    }
    let avg = sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64;
    per.iter()
        .zip(&sizes)
        .map(|(counts, &size)| {
            // A word scores by its count in the whole narrative (a name repeated in every
            // language counts each time), and is listed under each language it occurs in.
            let mut in_cluster: HashMap<&str, usize> = HashMap::new();
            for ((_, w), n) in counts {
                *in_cluster.entry(w.as_str()).or_default() += n;
            }
            let score = |w: &str| {
                let f = totals.get(w).copied().unwrap_or(1) as f64;
                in_cluster.get(w).copied().unwrap_or(0) as f64 / size as f64 * (1.0 + avg / f).ln()
            };
            let mut by_lang: BTreeMap<String, Vec<(f64, String)>> = BTreeMap::new();
            for (lang, w) in counts.keys() {
                by_lang
                    .entry(lang.clone())
                    .or_default()
                    .push((score(w), w.clone()));
            }
            by_lang
                .into_iter()
                .map(|(lang, mut v)| {
                    v.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
                    (lang, v.into_iter().take(4).map(|(_, w)| w).collect())
                })
                .collect()
        })
        .collect()
}

/// A narrative's document as its finding records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub document: String,
    pub actor: Option<String>,
    pub language: String,
    /// Publication time, or collection time when the date is unknown.
    pub time: DateTime<Utc>,
}

/// A narrative's earliest document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstSeen {
    pub document: String,
    pub actor: Option<String>,
    pub time: DateTime<Utc>,
}

/// A member that stands for the narrative (one of those closest to its centre), with its text, so
/// that a report or an export shows what the narrative says without the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Representative {
    pub document: String,
    pub language: String,
    pub text: String,
}

/// What one step of a narrative's timeline counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Hour,
    Day,
}

/// Members of a narrative in one period (an hour or a day, UTC, from `start`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodCount {
    pub start: DateTime<Utc>,
    pub documents: usize,
}

/// Another stored finding that cites some of the narrative's documents: the campaign that copied
/// it, the group that pushed it, the debunked claim it repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The other finding's kind (`copy-paste-campaign`, `coordinated-network`, `claim-match`).
    pub kind: String,
    pub id: String,
    /// How many of the narrative's documents it cites.
    pub documents: usize,
}

/// A narrative as a finding's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NarrativeFinding {
    pub id: String,
    /// The most telling words, language by language (`en: …; ru: …; uk: …`).
    pub label: String,
    /// The same words per language.
    pub labels: BTreeMap<String, Vec<String>>,
    pub score: f64,
    /// Members.
    pub size: usize,
    pub first_seen: FirstSeen,
    pub last_seen: DateTime<Utc>,
    /// Members per language.
    pub languages: BTreeMap<String, usize>,
    /// The distinct actors of the members, sorted.
    pub actors: Vec<String>,
    /// Up to three members closest to the centre, closest first.
    pub representatives: Vec<Representative>,
    /// Members in order of time.
    pub members: Vec<Member>,
    /// What a step of `timeline` counts: hours when the narrative spans at most
    /// [`HOURLY_SPAN_HOURS`], else days.
    pub period: Period,
    /// Members per period, in order, periods without members left out.
    pub timeline: Vec<PeriodCount>,
    /// The stored findings that cite its documents, by kind, most shared first.
    pub links: Vec<Link>,
}

/// A clustered document, with what its narrative's finding records of it.
#[derive(Debug, Clone, Copy)]
pub struct DocInfo<'a> {
    pub id: &'a str,
    pub actor: Option<&'a str>,
    pub language: &'a str,
    /// Publication time, or collection time when the date is unknown.
    pub time: DateTime<Utc>,
    pub text: &'a str,
}

/// Narratives spanning at most this many hours are counted per hour, longer ones per day: an
/// hourly line of a month-long narrative is mostly empty hours, a daily one of a morning's is
/// one point.
pub const HOURLY_SPAN_HOURS: i64 = 72;

/// Hours when the members span at most [`HOURLY_SPAN_HOURS`], else days; members per period.
fn timeline_of(times: impl Iterator<Item = DateTime<Utc>> + Clone) -> (Period, Vec<PeriodCount>) {
    let (first, last) = (times.clone().min(), times.clone().max());
    let span = match (first, last) {
        (Some(a), Some(b)) => (b - a).num_hours(),
        _ => 0,
    };
    let period = if span <= HOURLY_SPAN_HOURS {
        Period::Hour
    } else {
        Period::Day
    };
    let step = match period {
        Period::Hour => TimeDelta::hours(1),
        Period::Day => TimeDelta::days(1),
    };
    let mut periods: BTreeMap<DateTime<Utc>, usize> = BTreeMap::new();
    for t in times {
        *periods
            .entry(t.duration_trunc(step).unwrap_or(t))
            .or_default() += 1;
    }
    let timeline = periods
        .into_iter()
        .map(|(start, documents)| PeriodCount { start, documents })
        .collect();
    (period, timeline)
}

/// More publishers, and more languages telling it, make a stronger signal.
fn score_of(publishers: usize, languages: &BTreeMap<String, usize>) -> f64 {
    let told_in = languages.keys().filter(|l| *l != "und").count().max(1);
    let score = (publishers as f64).ln_1p() * (1.0 + 0.5 * (told_in as f64 - 1.0));
    (score * 1000.0).round() / 1000.0
}

/// A narrative's id: the parameters and its earliest member. The earliest member, not the whole
/// membership, so that a narrative keeps its id as later documents join it (as a campaign does).
pub fn narrative_id(params: &Params, origin: &str) -> String {
    let p = format!(
        "{:.3}/{:.3}/{}/{:.3}",
        params.join, params.merge, params.min_members, params.core
    );
    format!(
        "narrative:{}",
        &varta_core::stable_hash(&["narrative", origin, &p])[..16]
    )
}

/// Which stored findings cite which documents, to link narratives to them.
#[derive(Debug, Default)]
pub struct Linker {
    /// Each finding's kind and id.
    findings: Vec<(String, String)>,
    /// The findings (indices into `findings`) citing each document.
    by_document: HashMap<String, Vec<usize>>,
}

impl Linker {
    /// Adds a finding and the documents it cites.
    pub fn add(&mut self, kind: &str, id: &str, documents: &[String]) {
        let f = self.findings.len();
        self.findings.push((kind.to_string(), id.to_string()));
        let distinct: BTreeSet<&str> = documents.iter().map(String::as_str).collect();
        for d in distinct {
            self.by_document.entry(d.to_string()).or_default().push(f);
        }
    }

    /// The findings citing any of `documents`, with how many each cites: by kind, then most
    /// shared first, then by id.
    pub fn links<'a>(&self, documents: impl IntoIterator<Item = &'a str>) -> Vec<Link> {
        let distinct: BTreeSet<&str> = documents.into_iter().collect();
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for d in distinct {
            for &f in self.by_document.get(d).into_iter().flatten() {
                *shared.entry(f).or_default() += 1;
            }
        }
        let mut links: Vec<Link> = shared
            .into_iter()
            .map(|(f, n)| Link {
                kind: self.findings[f].0.clone(),
                id: self.findings[f].1.clone(),
                documents: n,
            })
            .collect();
        links.sort_by(|a, b| {
            a.kind
                .cmp(&b.kind)
                .then_with(|| b.documents.cmp(&a.documents))
                .then_with(|| a.id.cmp(&b.id))
        });
        links
    }
}

impl NarrativeFinding {
    /// The record of `narrative`, whose member indices point into `docs` (the documents as they
    /// were clustered); `None` when none of its members is in `docs`.
    pub fn new(
        narrative: &Narrative,
        docs: &[DocInfo<'_>],
        params: &Params,
        linker: &Linker,
    ) -> Option<NarrativeFinding> {
        // In time order, ties in clustering order: the first is the origin the id names.
        let mut members: Vec<(usize, &DocInfo<'_>)> = narrative
            .members
            .iter()
            .filter_map(|&m| Some((m, docs.get(m)?)))
            .collect();
        members.sort_by_key(|(m, d)| (d.time, *m));
        let (_, origin) = *members.first()?;
        let (_, last) = *members.last()?;
        let mut languages: BTreeMap<String, usize> = BTreeMap::new();
        let mut actors: BTreeSet<&str> = BTreeSet::new();
        // A document without an actor counts as a publisher of its own.
        let mut publishers: BTreeSet<&str> = BTreeSet::new();
        for (_, d) in &members {
            *languages.entry(d.language.to_string()).or_default() += 1;
            if let Some(a) = d.actor {
                actors.insert(a);
            }
            publishers.insert(d.actor.unwrap_or(d.id));
        }
        let (period, timeline) = timeline_of(members.iter().map(|(_, d)| d.time));
        let score = score_of(publishers.len(), &languages);
        let label = narrative
            .labels
            .iter()
            .map(|(l, w)| format!("{l}: {}", w.join(" ")))
            .collect::<Vec<_>>()
            .join("; ");
        Some(NarrativeFinding {
            id: narrative_id(params, origin.id),
            label,
            labels: narrative.labels.clone(),
            score,
            size: members.len(),
            first_seen: FirstSeen {
                document: origin.id.to_string(),
                actor: origin.actor.map(str::to_string),
                time: origin.time,
            },
            last_seen: last.time,
            languages,
            actors: actors.into_iter().map(str::to_string).collect(),
            representatives: narrative
                .representatives
                .iter()
                .filter_map(|&r| docs.get(r))
                .map(|d| Representative {
                    document: d.id.to_string(),
                    language: d.language.to_string(),
                    text: d.text.to_string(),
                })
                .collect(),
            links: linker.links(members.iter().map(|(_, d)| d.id)),
            members: members
                .iter()
                .map(|(_, d)| Member {
                    document: d.id.to_string(),
                    actor: d.actor.map(str::to_string),
                    language: d.language.to_string(),
                    time: d.time,
                })
                .collect(),
            period,
            timeline,
        })
    }

    /// Adds documents that joined the narrative since (those it holds already are skipped) and
    /// updates what follows from its members; label, representatives and links stay until the
    /// next full run. Returns how many were added.
    pub fn add_members(&mut self, new: Vec<Member>) -> usize {
        let mut have: std::collections::HashSet<String> =
            self.members.iter().map(|m| m.document.clone()).collect();
        let added: Vec<Member> = new
            .into_iter()
            .filter(|m| have.insert(m.document.clone()))
            .collect();
        if added.is_empty() {
            return 0;
        }
        let n = added.len();
        let mut actors: BTreeSet<String> = self.actors.iter().cloned().collect();
        for m in &added {
            *self.languages.entry(m.language.clone()).or_default() += 1;
            if let Some(a) = &m.actor {
                actors.insert(a.clone());
            }
        }
        self.actors = actors.into_iter().collect();
        self.members.extend(added);
        self.members
            .sort_by(|a, b| (a.time, &a.document).cmp(&(b.time, &b.document)));
        self.size = self.members.len();
        if let (Some(first), Some(last)) = (self.members.first(), self.members.last()) {
            self.first_seen = FirstSeen {
                document: first.document.clone(),
                actor: first.actor.clone(),
                time: first.time,
            };
            self.last_seen = last.time;
        }
        let publishers: BTreeSet<&str> = self
            .members
            .iter()
            .map(|m| m.actor.as_deref().unwrap_or(&m.document))
            .collect();
        self.score = score_of(publishers.len(), &self.languages);
        (self.period, self.timeline) = timeline_of(self.members.iter().map(|m| m.time));
        n
    }

    /// The stored finding: the narrative's id and score, its origin's time, every member
    /// document cited (in order of time), this record as the body.
    pub fn finding(&self, params: &Params, created_at: DateTime<Utc>) -> varta_core::Finding {
        varta_core::Finding {
            id: self.id.clone(),
            kind: KIND.to_string(),
            detector: DETECTOR.to_string(),
            parameters: crate::json_value(params),
            score: self.score,
            first_seen: Some(self.first_seen.time),
            created_at,
            documents: self.members.iter().map(|m| m.document.clone()).collect(),
            body: crate::json_value(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn item<'a>(text: &'a str, lang: &'a str, v: &'a [f32], t: i64) -> Item<'a> {
        Item {
            text,
            lang,
            time: Some(t),
            vector: v,
        }
    }

    #[test]
    fn near_vectors_group_and_loners_stay_out() {
        let a1 = [1.0, 0.05, 0.0];
        let a2 = [0.98, 0.1, 0.0];
        let a3 = [0.97, 0.0, 0.1];
        let b1 = [0.0, 1.0, 0.02];
        let b2 = [0.05, 0.99, 0.0];
        let lone = [0.0, 0.0, 1.0];
        let items = [
            item("Kyiv metro closes for three days", "en", &a1, 1),
            item("Київське метро закриють на три дні", "uk", &a2, 2),
            item("Киевское метро закроют на три дня", "ru", &a3, 3),
            item("Kharkiv power cuts sixteen hours", "en", &b1, 4),
            item("Харків відключення світла шістнадцять годин", "uk", &b2, 5),
            item("Recipe of the day", "en", &lone, 6),
        ];
        let n = cluster(&items, &Params::default());
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].members, vec![0, 1, 2]);
        assert_eq!(n[1].members, vec![3, 4]);
        assert!(
            n[0].labels["uk"].contains(&"метро".to_string()),
            "{:?}",
            n[0].labels
        );
        assert!(
            n[1].labels["en"].contains(&"kharkiv".to_string()),
            "{:?}",
            n[1].labels
        );
    }

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000 + h * 3600, 0).unwrap()
    }

    fn doc<'a>(id: &'a str, actor: Option<&'a str>, lang: &'a str, h: i64) -> DocInfo<'a> {
        DocInfo {
            id,
            actor,
            language: lang,
            time: at(h),
            text: "Kyiv metro closes for three days",
        }
    }

    fn narrative(members: Vec<usize>) -> Narrative {
        Narrative {
            representatives: members.iter().copied().take(1).collect(),
            members,
            labels: BTreeMap::from([
                ("en".to_string(), vec!["metro".to_string()]),
                ("uk".to_string(), vec!["метро".to_string()]),
            ]),
        }
    }

    #[test]
    fn ids_name_the_parameters_and_the_earliest_member_only() {
        let docs = [
            doc("d-late", Some("x:b"), "uk", 5),
            doc("d-origin", Some("x:a"), "en", 1),
            doc("d-mid", None, "ru", 3),
            doc("d-later", Some("x:c"), "uk", 9),
        ];
        let p = Params::default();
        let linker = Linker::default();
        let a = NarrativeFinding::new(&narrative(vec![0, 1, 2]), &docs, &p, &linker).unwrap();
        assert_eq!(a.id, narrative_id(&p, "d-origin"));
        assert_eq!(a.first_seen.document, "d-origin");
        // The same data again, members listed in another order: the same record.
        let again = NarrativeFinding::new(&narrative(vec![2, 0, 1]), &docs, &p, &linker).unwrap();
        assert_eq!(again.id, a.id);
        assert_eq!(again.members, a.members);
        // A later document joins: the id stays.
        let grown =
            NarrativeFinding::new(&narrative(vec![0, 1, 2, 3]), &docs, &p, &linker).unwrap();
        assert_eq!(grown.id, a.id);
        assert_eq!(grown.size, 4);
        // Other parameters, or another origin: another id.
        let other = Params {
            join: 0.5,
            ..Params::default()
        };
        assert_ne!(narrative_id(&other, "d-origin"), a.id);
        assert_ne!(narrative_id(&p, "d-mid"), a.id);
        let f = a.finding(&p, at(100));
        assert_eq!((f.kind.as_str(), f.detector.as_str()), (KIND, DETECTOR));
        assert_eq!(f.id, a.id);
        assert_eq!(f.documents, vec!["d-origin", "d-mid", "d-late"]);
        assert_eq!(f.first_seen, Some(at(1)));
        assert_eq!(
            serde_json::from_value::<NarrativeFinding>(f.body).unwrap(),
            a
        );
    }

    #[test]
    fn record_counts_languages_actors_and_time() {
        let docs = [
            doc("a", Some("x:a"), "en", 0),
            doc("b", Some("x:a"), "uk", 0),
            doc("c", None, "ru", 2),
        ];
        let p = Params::default();
        let n = NarrativeFinding::new(&narrative(vec![0, 1, 2]), &docs, &p, &Linker::default())
            .unwrap();
        assert_eq!(n.label, "en: metro; uk: метро");
        assert_eq!(n.actors, vec!["x:a"]);
        assert_eq!(n.languages.len(), 3);
        assert_eq!(n.period, Period::Hour);
        assert_eq!(
            n.timeline,
            vec![
                PeriodCount {
                    start: at(0),
                    documents: 2
                },
                PeriodCount {
                    start: at(2),
                    documents: 1
                },
            ]
        );
        // Two publishers (x:a, and the document without an actor) in three languages.
        assert_eq!(n.score, (3f64.ln() * 2.0 * 1000.0).round() / 1000.0);
        let long = [doc("a", None, "en", 0), doc("b", None, "en", 24 * 10 + 5)];
        let n =
            NarrativeFinding::new(&narrative(vec![0, 1]), &long, &p, &Linker::default()).unwrap();
        assert_eq!(n.period, Period::Day);
        assert_eq!(n.timeline.len(), 2);
        assert_eq!(
            n.timeline[1].start,
            at(24 * 10 + 5).duration_trunc(TimeDelta::days(1)).unwrap()
        );
        // Indices outside the documents are left out, not a panic.
        assert!(
            NarrativeFinding::new(&narrative(vec![7]), &long, &p, &Linker::default()).is_none()
        );
    }

    #[test]
    fn links_name_the_findings_that_cite_its_documents() {
        let mut l = Linker::default();
        let docs = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        l.add("copy-paste-campaign", "campaign:1", &docs(&["a", "b", "z"]));
        l.add("copy-paste-campaign", "campaign:2", &docs(&["c", "c"]));
        l.add("claim-match", "claim-match:9", &docs(&["b"]));
        l.add("coordinated-network", "group:1", &docs(&["y", "z"]));
        let got = l.links(["a", "b", "c", "b"]);
        let got: Vec<(&str, &str, usize)> = got
            .iter()
            .map(|x| (x.kind.as_str(), x.id.as_str(), x.documents))
            .collect();
        assert_eq!(
            got,
            vec![
                ("claim-match", "claim-match:9", 1),
                ("copy-paste-campaign", "campaign:1", 2),
                ("copy-paste-campaign", "campaign:2", 1),
            ]
        );
        let docs3 = [doc("a", None, "en", 0), doc("b", None, "uk", 1)];
        let n =
            NarrativeFinding::new(&narrative(vec![0, 1]), &docs3, &Params::default(), &l).unwrap();
        assert_eq!(n.links.len(), 2);
        assert!(l.links(["q"]).is_empty());
    }
}
