//! Copy-paste campaigns: connected groups of near-duplicate documents from several actors.
//!
//! Documents are fed in any order ([`Detector::push`]); their shingles are computed in parallel
//! batches and only the shingles are kept, so a store of a million posts is read without holding
//! its texts. Pairs come from the near-duplicate index with containment on, so a copy cut to half
//! joins its original. Groups are the connected components of the pairs, found among distinct
//! texts (copies collapsed onto their first, [`crate::neardup::Clusters`]), so a campaign of 500,000
//! copies costs what its few distinct texts cost; a group is a campaign when it holds documents of
//! at least `min_actors` distinct actors. Each campaign carries its origin
//! (the earliest document, its actor and time), members, sources, languages, a timeline of
//! documents per hour, the most connected document as the representative text, the mean and
//! minimum Jaccard similarity of its pairs (exact: derived from the distinct texts' pairs and the
//! number of copies of each), and a score.
//!
//! The campaign id is derived from the origin document and the parameters, so rerunning on the same
//! data gives the same ids, and a campaign keeps its id as later copies join it.
//!
//! [`CampaignFinding`] is a campaign as stored: the campaign with its representative text, and
//! the [`varta_core::Finding`] that carries it.

use crate::neardup::{BatchedIndex, Clusters, Copies, Index, Pair};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub mod live;

/// Detector name and version recorded with every finding.
pub const DETECTOR: &str = "varta-detect/campaigns 1";
/// The finding kind.
pub const KIND: &str = "copy-paste-campaign";

/// What campaign detection runs with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Params {
    /// Jaccard similarity at which two documents are near-duplicates (DESIGN.md: 0.5).
    pub threshold: f64,
    /// Share of the smaller document's shingles found in the larger at which it counts as a copy
    /// cut short.
    pub containment: f64,
    /// Distinct actors a group needs to be a campaign.
    pub min_actors: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            threshold: 0.5,
            containment: 0.9,
            min_actors: 2,
        }
    }
}

/// A document as campaign detection sees it.
#[derive(Clone, Debug)]
pub struct DocInfo {
    pub id: String,
    /// The publishing actor; documents without one count as their source's.
    pub actor: Option<String>,
    pub source: String,
    pub language: String,
    /// Publication time, or collection time when the date is unknown.
    pub time: DateTime<Utc>,
}

/// The first appearance of a campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FirstSeen {
    pub document: String,
    pub actor: Option<String>,
    pub time: DateTime<Utc>,
}

/// Documents of a campaign in one hour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HourCount {
    pub hour: DateTime<Utc>,
    pub documents: usize,
}

/// One member with what ties it to the campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub document: String,
    pub actor: Option<String>,
    pub source: String,
    pub language: String,
    pub time: DateTime<Utc>,
    /// Its highest similarity to another member.
    pub best_jaccard: f64,
}

/// A copy-paste campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: String,
    pub score: f64,
    pub first_seen: FirstSeen,
    pub last_seen: DateTime<Utc>,
    /// Members in order of time.
    pub members: Vec<Member>,
    pub actors: Vec<String>,
    pub sources: Vec<String>,
    pub languages: Vec<String>,
    pub timeline: Vec<HourCount>,
    /// Id of the member most similar to the most others: its text stands for the campaign.
    pub representative: String,
    pub pairs: usize,
    pub mean_jaccard: f64,
    pub min_jaccard: f64,
}

impl Campaign {
    /// Takes back the members an earlier version of this campaign (as stored) had before this
    /// one's origin: those that left a sliding window ([`live::Live`]), so the stored campaign
    /// keeps its whole history. Its similarity figures stay this version's.
    pub fn keep_earlier(&mut self, earlier: &Campaign) {
        let have: std::collections::HashSet<&str> =
            self.members.iter().map(|m| m.document.as_str()).collect();
        let origin = (self.first_seen.time, self.first_seen.document.as_str());
        let gone: Vec<Member> = earlier
            .members
            .iter()
            .filter(|m| !have.contains(m.document.as_str()))
            .filter(|m| (m.time, m.document.as_str()) < origin)
            .cloned()
            .collect();
        if gone.is_empty() {
            return;
        }
        let mut members = gone;
        members.append(&mut self.members);
        members.sort_by(|a, b| (a.time, &a.document).cmp(&(b.time, &b.document)));
        let first = &members[0];
        self.first_seen = FirstSeen {
            document: first.document.clone(),
            actor: first.actor.clone(),
            time: first.time,
        };
        let union = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter()
                .chain(b)
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        self.actors = union(&self.actors, &earlier.actors);
        self.sources = union(&self.sources, &earlier.sources);
        self.languages = union(&self.languages, &earlier.languages);
        let mut hours: BTreeMap<DateTime<Utc>, usize> = BTreeMap::new();
        for m in &members {
            let hour = m.time.duration_trunc(TimeDelta::hours(1)).unwrap_or(m.time);
            *hours.entry(hour).or_insert(0) += 1;
        }
        self.timeline = hours
            .into_iter()
            .map(|(hour, documents)| HourCount { hour, documents })
            .collect();
        self.members = members;
    }
}

/// A campaign as a finding's body: the campaign's own fields, and the representative document's
/// text beside them, so that a report or an export shows what was copied without the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignFinding {
    #[serde(flatten)]
    pub campaign: Campaign,
    /// The text of `campaign.representative`; empty when the store no longer holds it.
    pub representative_text: String,
}

impl CampaignFinding {
    pub fn new(campaign: Campaign, representative_text: String) -> CampaignFinding {
        CampaignFinding {
            campaign,
            representative_text,
        }
    }

    /// The stored finding: the campaign's id and score, its origin's time, every member document
    /// cited (in the campaign's order, by time), this record as the body.
    pub fn finding(&self, params: &Params, created_at: DateTime<Utc>) -> varta_core::Finding {
        let c = &self.campaign;
        varta_core::Finding {
            id: c.id.clone(),
            kind: KIND.to_string(),
            detector: DETECTOR.to_string(),
            parameters: crate::json_value(params),
            score: c.score,
            first_seen: Some(c.first_seen.time),
            created_at,
            documents: c.members.iter().map(|m| m.document.clone()).collect(),
            body: crate::json_value(self),
        }
    }
}

/// Collects documents, then finds the campaigns among them.
pub struct Detector {
    params: Params,
    /// The documents' texts, in push order.
    index: BatchedIndex,
    docs: Docs,
}

impl Detector {
    pub fn new(params: Params) -> Detector {
        Detector {
            params,
            index: BatchedIndex::new(Index::with_containment(
                params.threshold,
                params.containment,
            )),
            docs: Docs::default(),
        }
    }

    /// Adds a document and its text.
    pub fn push(&mut self, doc: DocInfo, text: String) {
        self.docs.push(doc);
        self.index.push(text);
    }

    /// The campaigns, best score first.
    pub fn finish(self) -> Vec<Campaign> {
        let index = self.index.into_index();
        campaigns(&self.docs, &index.clusters(), &self.params)
    }
}

/// Strings that repeat across documents (actors, sources, languages), each kept once.
#[derive(Default)]
struct Interner {
    ids: rustc_hash::FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn intern(&mut self, s: String) -> u32 {
        if let Some(&i) = self.ids.get(&s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.clone());
        self.ids.insert(s, i);
        i
    }
}

/// One document as detection keeps it: 40 bytes and its id, where [`DocInfo`]'s four strings
/// took four times that (ten million documents are read before any campaign is known).
struct Compact {
    id: Box<str>,
    time: DateTime<Utc>,
    /// Index into `Docs::actors`; `u32::MAX` when the document has none.
    actor: u32,
    source: u32,
    language: u32,
}

/// The documents pushed, compactly; the first `base` have left (a sliding window's).
#[derive(Default)]
struct Docs {
    base: u32,
    docs: std::collections::VecDeque<Compact>,
    actors: Interner,
    sources: Interner,
    languages: Interner,
}

impl Docs {
    fn push(&mut self, d: DocInfo) {
        let actor = d.actor.map_or(u32::MAX, |a| self.actors.intern(a));
        let source = self.sources.intern(d.source);
        let language = self.languages.intern(d.language);
        self.docs.push_back(Compact {
            id: d.id.into_boxed_str(),
            time: d.time,
            actor,
            source,
            language,
        });
    }

    fn id(&self, i: u32) -> &str {
        &self.docs[(i - self.base) as usize].id
    }

    fn time(&self, i: u32) -> DateTime<Utc> {
        self.docs[(i - self.base) as usize].time
    }

    fn actor(&self, i: u32) -> Option<&str> {
        let a = self.docs[(i - self.base) as usize].actor;
        (a != u32::MAX).then(|| self.actors.names[a as usize].as_str())
    }

    fn source(&self, i: u32) -> &str {
        &self.sources.names[self.docs[(i - self.base) as usize].source as usize]
    }

    /// Drops the actor, source and language names no document holds any more.
    fn compact_names(&mut self) {
        let (mut actors, mut sources, mut languages) = (
            Interner::default(),
            Interner::default(),
            Interner::default(),
        );
        for d in &mut self.docs {
            if d.actor != u32::MAX {
                d.actor = actors.intern(self.actors.names[d.actor as usize].clone());
            }
            d.source = sources.intern(self.sources.names[d.source as usize].clone());
            d.language = languages.intern(self.languages.names[d.language as usize].clone());
        }
        (self.actors, self.sources, self.languages) = (actors, sources, languages);
    }

    /// Who a campaign counts document `i` as from: its actor, else its source.
    fn actor_key(&self, i: u32) -> String {
        self.actor(i)
            .map_or_else(|| format!("source:{}", self.source(i)), str::to_string)
    }

    fn language(&self, i: u32) -> &str {
        &self.languages.names[self.docs[(i - self.base) as usize].language as usize]
    }
}

/// Turns near-duplicate clusters into campaigns. Work and memory grow with the documents and the
/// pairs among distinct texts, never with the pairs among copies: pair counts, similarities and
/// each member's best match and degree are derived from the distinct texts (see
/// [`Clusters`]).
fn campaigns(docs: &Docs, clusters: &Clusters<'_>, params: &Params) -> Vec<Campaign> {
    let mut pairs_by_root = clusters.pairs_by_root();
    let mut out = Vec::new();
    for members in clusters.components() {
        let actors: BTreeSet<String> = members.iter().map(|&m| docs.actor_key(m)).collect();
        if actors.len() < params.min_actors {
            continue;
        }
        let rep_pairs = pairs_by_root
            .remove(&clusters.root(members[0]))
            .unwrap_or_default();
        out.push(campaign_of(
            docs, clusters, members, &rep_pairs, actors, params,
        ));
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    out
}

/// One component as a campaign: its members (copies included), the pairs among its
/// representatives, its actors (see [`Docs::actor_key`]).
fn campaign_of(
    docs: &Docs,
    clusters: &impl Copies,
    mut members: Vec<u32>,
    rep_pairs: &[Pair],
    actors: BTreeSet<String>,
    params: &Params,
) -> Campaign {
    let order = |x: u32, y: u32| (docs.time(x), docs.id(x)).cmp(&(docs.time(y), docs.id(y)));
    {
        let summary = clusters.summary(&members, rep_pairs);
        let by_rep = clusters.best_and_degree(rep_pairs);
        members.sort_by(|&x, &y| order(x, y));
        let (origin, last) = (members[0], members[members.len() - 1]);
        let (mean, min) = (summary.mean_jaccard, summary.min_jaccard);
        let representative = members
            .iter()
            .max_by(|&&x, &&y| {
                let (_, deg_x) = clusters.member_stats(x, &by_rep);
                let (_, deg_y) = clusters.member_stats(y, &by_rep);
                // Ties go to the earlier member.
                deg_x.cmp(&deg_y).then_with(|| order(y, x))
            })
            .map_or_else(|| docs.id(origin).to_string(), |&r| docs.id(r).to_string());
        let mut hours: BTreeMap<DateTime<Utc>, usize> = BTreeMap::new();
        for &m in &members {
            let t = docs.time(m);
            let hour = t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t);
            *hours.entry(hour).or_insert(0) += 1;
        }
        let span_hours = (docs.time(last) - docs.time(origin)).num_seconds().max(0) as f64 / 3600.0;
        // More actors, closer copies and a faster spread make a stronger signal.
        let score = (actors.len() as f64).ln_1p() * mean * (1.0 + 1.0 / (1.0 + span_hours));
        let id_parts = [
            "campaign",
            docs.id(origin),
            &format!("{:.3}/{:.3}", params.threshold, params.containment),
        ];
        Campaign {
            id: format!("campaign:{}", &varta_core::stable_hash(&id_parts)[..16]),
            score: (score * 1000.0).round() / 1000.0,
            first_seen: FirstSeen {
                document: docs.id(origin).to_string(),
                actor: docs.actor(origin).map(str::to_string),
                time: docs.time(origin),
            },
            last_seen: docs.time(last),
            members: members
                .iter()
                .map(|&m| {
                    let (best, _) = clusters.member_stats(m, &by_rep);
                    Member {
                        document: docs.id(m).to_string(),
                        actor: docs.actor(m).map(str::to_string),
                        source: docs.source(m).to_string(),
                        language: docs.language(m).to_string(),
                        time: docs.time(m),
                        best_jaccard: (best * 1000.0).round() / 1000.0,
                    }
                })
                .collect(),
            actors: actors.into_iter().collect(),
            sources: members
                .iter()
                .map(|&m| docs.source(m))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(str::to_string)
                .collect(),
            languages: members
                .iter()
                .map(|&m| docs.language(m))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(str::to_string)
                .collect(),
            timeline: hours
                .into_iter()
                .map(|(hour, documents)| HourCount { hour, documents })
                .collect(),
            representative,
            pairs: usize::try_from(summary.pairs).unwrap_or(usize::MAX),
            mean_jaccard: (mean * 1000.0).round() / 1000.0,
            min_jaccard: (min * 1000.0).round() / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const TEXT: &str = "Київ готують до найважчої весни за останні роки: з першого квітня у столиці \
        нібито запровадять графіки відключень електроенергії тривалістю до шістнадцяти годин на добу, \
        а енергетики вже попередили мешканців багатоповерхівок про можливі перебої з водою та теплом.";

    fn doc(id: &str, actor: &str, minute: u32) -> DocInfo {
        DocInfo {
            id: id.into(),
            actor: Some(actor.into()),
            source: "telegram".into(),
            language: "uk".into(),
            time: Utc.with_ymd_and_hms(2024, 3, 2, 8, minute, 0).unwrap(),
        }
    }

    fn run(items: Vec<(DocInfo, String)>, params: Params) -> Vec<Campaign> {
        let mut d = Detector::new(params);
        for (doc, text) in items {
            d.push(doc, text);
        }
        d.finish()
    }

    #[test]
    fn a_campaign_with_origin_spread_and_stable_id() {
        let words: Vec<&str> = TEXT.split_whitespace().collect();
        let items = vec![
            (doc("d3", "c", 50), TEXT.to_uppercase()),
            (doc("d1", "a", 5), TEXT.to_string()),
            (doc("d2", "b", 7), format!("#терміново {} https://t.me/x/1", TEXT.replace('о', "o"))),
            (doc("d4", "d", 55), words[..words.len() / 2].join(" ")),
            (doc("x1", "e", 6), "Погода в Карпатах: сніг і мороз, на Говерлі до мінус п'ятнадцяти, туристам радять утриматися від сходжень.".to_string()),
        ];
        let found = run(items.clone(), Params::default());
        assert_eq!(found.len(), 1);
        let c = &found[0];
        assert_eq!(c.first_seen.document, "d1");
        assert_eq!(c.first_seen.actor.as_deref(), Some("a"));
        let ids: Vec<&str> = c.members.iter().map(|m| m.document.as_str()).collect();
        assert_eq!(ids, ["d1", "d2", "d3", "d4"]);
        assert_eq!(c.actors, ["a", "b", "c", "d"]);
        assert_eq!(c.timeline.len(), 1);
        assert_eq!(c.timeline[0].documents, 4);
        assert!(c.min_jaccard < 0.5, "the cut copy joins by containment");
        assert!(c.mean_jaccard > 0.5);
        // Same data in another order: same campaign, same id.
        let mut shuffled = items;
        shuffled.reverse();
        assert_eq!(run(shuffled, Params::default()), found);
    }

    #[test]
    fn one_actor_repeating_itself_is_not_a_campaign() {
        let items = vec![
            (doc("d1", "a", 1), TEXT.to_string()),
            (doc("d2", "a", 2), TEXT.to_string()),
        ];
        assert!(run(items.clone(), Params::default()).is_empty());
        let one = Params {
            min_actors: 1,
            ..Params::default()
        };
        assert_eq!(run(items, one).len(), 1);
    }
    /// What `varta detect campaigns` stored before the body had a type: the campaign serialized,
    /// with the representative text added as a key.
    fn body_as_the_cli_built_it(c: &Campaign, text: &str) -> serde_json::Value {
        let mut body = serde_json::to_value(c).unwrap();
        body["representative_text"] = serde_json::Value::String(text.to_string());
        body
    }

    fn planted() -> Vec<Campaign> {
        let words: Vec<&str> = TEXT.split_whitespace().collect();
        let mut unknown = doc("d5", "e", 58);
        unknown.actor = None;
        unknown.language = "ru".into();
        unknown.time += TimeDelta::hours(2) + TimeDelta::milliseconds(250);
        run(
            vec![
                (doc("d1", "a", 5), TEXT.to_string()),
                (doc("d2", "b", 7), format!("#терміново {TEXT}")),
                (doc("d4", "d", 55), words[..words.len() / 2].join(" ")),
                (unknown, TEXT.to_lowercase()),
            ],
            Params::default(),
        )
    }

    #[test]
    fn finding_body_is_what_the_cli_built() {
        let found = planted();
        assert_eq!(found.len(), 1);
        let c = &found[0];
        assert!(c.members.iter().any(|m| m.actor.is_none()));
        assert_eq!(c.timeline.len(), 2);
        let typed = CampaignFinding::new(c.clone(), TEXT.to_string());
        assert_eq!(
            serde_json::to_value(&typed).unwrap(),
            body_as_the_cli_built_it(c, TEXT)
        );
        // An empty text (the representative deleted from the store) is still a string.
        let gone = CampaignFinding::new(c.clone(), String::new());
        assert_eq!(
            serde_json::to_value(&gone).unwrap(),
            body_as_the_cli_built_it(c, "")
        );
        let params = Params::default();
        let now = Utc.with_ymd_and_hms(2024, 3, 3, 0, 0, 0).unwrap();
        let f = typed.finding(&params, now);
        assert_eq!(f.id, c.id);
        assert_eq!((f.kind.as_str(), f.detector.as_str()), (KIND, DETECTOR));
        assert_eq!(f.parameters, serde_json::to_value(params).unwrap());
        assert_eq!(f.score, c.score);
        assert_eq!(f.first_seen, Some(c.first_seen.time));
        assert_eq!(f.created_at, now);
        assert_eq!(f.documents, ["d1", "d2", "d4", "d5"]);
        assert_eq!(f.body, body_as_the_cli_built_it(c, TEXT));
    }

    #[test]
    fn finding_body_round_trips() {
        let typed = CampaignFinding::new(planted().remove(0), TEXT.to_string());
        let text = serde_json::to_string(&typed).unwrap();
        assert_eq!(
            serde_json::from_str::<CampaignFinding>(&text).unwrap(),
            typed
        );
        let value = serde_json::to_value(&typed).unwrap();
        assert_eq!(
            serde_json::from_value::<CampaignFinding>(value).unwrap(),
            typed
        );
    }
}
