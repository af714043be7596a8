//! Copy-paste campaigns found as documents arrive, over a sliding window: what a watcher runs on
//! every batch.
//!
//! Each batch goes into a [`neardup::live::Live`] index, whose new pairs join groups (union by
//! size: the smaller group's members and pairs move into the larger, so a document moves
//! O(log n) times however its group grows). A group whose documents come from `min_actors`
//! actors is a campaign, built by the same code as the batch [`super::Detector`]'s, so after the
//! same documents the campaigns are the same.
//!
//! A campaign is handed out ([`Live::take`]) when it first appears and again each time it has
//! doubled; every other change waits for a flush (the caller's period). A campaign of 100,000
//! copies arriving a hundred at a time is therefore built about twenty times, not a thousand.
//! It keeps the id it was first handed out with while it grows (the batch detector's id comes
//! from the origin, which may leave the window); when two campaigns merge, the larger's id
//! stays.
//!
//! Documents leave with their index generation; groups holding any are re-formed from what
//! remains (and may split: the largest part keeps the id).

use super::{Campaign, DocInfo, Docs, Params, campaign_of};
use crate::neardup::live::Live as Index;
use crate::neardup::{Copies, Pair, Shingles};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

/// A group of near-duplicates (two documents or more).
#[derive(Default)]
struct Group {
    members: Vec<u32>,
    /// Verified pairs among its representatives.
    pairs: Vec<Pair>,
    /// Documents per actor (hash of [`Docs::actor_key`]).
    actors: FxHashMap<u64, u32>,
    /// The id it was handed out with.
    id: Option<String>,
    /// Members when last handed out; 0: never.
    handed: usize,
}

impl Group {
    fn absorb(&mut self, other: Group) {
        self.members.extend(other.members);
        self.pairs.extend(other.pairs);
        for (a, n) in other.actors {
            *self.actors.entry(a).or_insert(0) += n;
        }
        if self.id.is_none() {
            self.id = other.id;
            self.handed = other.handed;
        }
    }
}

/// Campaigns over a sliding window.
pub struct Live {
    params: Params,
    index: Index,
    docs: Docs,
    parent: FxHashMap<u32, u32>,
    groups: FxHashMap<u32, Group>,
    /// Groups changed since they were last handed out.
    dirty: FxHashSet<u32>,
    /// How long a generation of the index spans and how long documents stay (ms).
    span_ms: i64,
    window_ms: i64,
}

fn actor_hash(key: &str) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

impl Live {
    /// Documents stay `window_ms` after they arrive (up to a tenth of that longer: they leave
    /// with their generation).
    pub fn new(params: Params, window_ms: i64) -> Live {
        Live {
            params,
            index: Index::with_containment(params.threshold, params.containment),
            docs: Docs::default(),
            parent: FxHashMap::default(),
            groups: FxHashMap::default(),
            dirty: FxHashSet::default(),
            span_ms: (window_ms / 10).max(1),
            window_ms,
        }
    }

    /// Documents held.
    pub fn len(&self) -> usize {
        self.docs.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.docs.is_empty()
    }

    /// Groups of near-duplicates held (campaigns or not yet).
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    fn find(&mut self, mut x: u32) -> u32 {
        let mut path = Vec::new();
        while let Some(&p) = self.parent.get(&x) {
            if p == x {
                break;
            }
            path.push(x);
            x = p;
        }
        for y in path {
            self.parent.insert(y, x);
        }
        x
    }

    fn single(&self, i: u32) -> Group {
        let mut actors = FxHashMap::default();
        actors.insert(actor_hash(&self.docs.actor_key(i)), 1);
        Group {
            members: vec![i],
            ..Group {
                actors,
                ..Group::default()
            }
        }
    }

    /// Joins the groups of `a` and `b`, with `pair` (between representatives) when there is one.
    fn union(&mut self, a: u32, b: u32, pair: Option<Pair>) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            if let (Some(p), Some(g)) = (pair, self.groups.get_mut(&ra)) {
                g.pairs.push(p);
            }
            self.dirty.insert(ra);
            return;
        }
        let ga = match self.groups.remove(&ra) {
            Some(g) => g,
            None => self.single(ra),
        };
        let gb = match self.groups.remove(&rb) {
            Some(g) => g,
            None => self.single(rb),
        };
        let (mut big, small, rbig, rsmall) = if ga.members.len() >= gb.members.len() {
            (ga, gb, ra, rb)
        } else {
            (gb, ga, rb, ra)
        };
        big.absorb(small);
        big.pairs.extend(pair);
        self.parent.insert(rbig, rbig);
        self.parent.insert(rsmall, rbig);
        self.dirty.remove(&rsmall);
        self.dirty.insert(rbig);
        self.groups.insert(rbig, big);
    }

    /// Adds a batch of documents that arrived at `now_ms` (the caller's clock); documents older
    /// than the window leave first.
    pub fn push(&mut self, batch: Vec<(DocInfo, String)>, now_ms: i64) {
        let base = self.index.roll(now_ms, self.span_ms, self.window_ms);
        if base > self.docs.base {
            self.expire(base);
        }
        let shingles: Vec<Shingles> = batch
            .par_iter()
            .map(|(_, t)| Shingles::of_text(t))
            .collect();
        let first = self.index.next();
        for (d, _) in batch {
            self.docs.push(d);
        }
        let pairs = self.index.add_batch(&shingles, now_ms);
        for i in first..self.index.next() {
            let rep = self.index.canonical_of(i);
            if rep != i {
                self.union(rep, i, None);
            }
        }
        for p in pairs {
            self.union(p.a, p.b, Some(p));
        }
    }

    /// Lets go of the documents before `base`, re-forming the groups that held some.
    fn expire(&mut self, base: u32) {
        while self.docs.base < base && self.docs.docs.pop_front().is_some() {
            self.docs.base += 1;
        }
        self.docs.base = base;
        let touched: Vec<u32> = self
            .groups
            .iter()
            .filter(|(_, g)| g.members.iter().any(|&m| m < base))
            .map(|(&r, _)| r)
            .collect();
        for root in touched {
            let Some(g) = self.groups.remove(&root) else {
                continue;
            };
            self.dirty.remove(&root);
            for m in &g.members {
                self.parent.remove(m);
            }
            let (id, handed) = (g.id, g.handed);
            let members: Vec<u32> = g.members.into_iter().filter(|&m| m >= base).collect();
            let pairs: Vec<Pair> = g.pairs.into_iter().filter(|p| p.a >= base).collect();
            // Re-formed by the same unions; copies and their representative leave together.
            for &m in &members {
                let rep = self.index.canonical_of(m);
                if rep != m {
                    self.union(rep, m, None);
                }
            }
            for p in pairs {
                self.union(p.a, p.b, Some(p));
            }
            // The largest part carries on as the campaign handed out before.
            let mut parts: Vec<u32> = members.iter().map(|&m| self.find(m)).collect();
            parts.sort_unstable();
            parts.dedup();
            if let Some(&largest) = parts
                .iter()
                .max_by_key(|&&r| self.groups.get(&r).map_or(0, |g| g.members.len()))
                && let Some(g) = self.groups.get_mut(&largest)
            {
                g.id = id;
                g.handed = handed.min(g.members.len());
            }
            for r in parts {
                self.dirty.remove(&r);
            }
        }
        // Strings of actors and sources no document holds any more.
        if self.docs.actors.names.len() > 2 * self.docs.docs.len() + 4096 {
            self.docs.compact_names();
        }
    }

    /// The campaigns to store now: those that appeared or doubled since last handed out, and
    /// with `flush`, every one that changed. Each keeps the id it was first handed out with.
    pub fn take(&mut self, flush: bool) -> Vec<Campaign> {
        let mut out = Vec::new();
        let roots: Vec<u32> = self.dirty.iter().copied().collect();
        for root in roots {
            let Some(g) = self.groups.get(&root) else {
                self.dirty.remove(&root);
                continue;
            };
            if g.actors.len() < self.params.min_actors {
                self.dirty.remove(&root);
                continue;
            }
            let due = flush || g.id.is_none() || g.members.len() >= 2 * g.handed;
            if !due {
                continue;
            }
            let actors: BTreeSet<String> =
                g.members.iter().map(|&m| self.docs.actor_key(m)).collect();
            let mut c = campaign_of(
                &self.docs,
                &self.index,
                g.members.clone(),
                &g.pairs,
                actors,
                &self.params,
            );
            let n = g.members.len();
            if let Some(g) = self.groups.get_mut(&root) {
                match &g.id {
                    Some(id) => c.id = id.clone(),
                    None => g.id = Some(c.id.clone()),
                }
                g.handed = n;
            }
            self.dirty.remove(&root);
            out.push(c);
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// Whether a flush would hand out anything.
    pub fn changed(&self) -> bool {
        !self.dirty.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Detector;
    use super::*;
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    const TEXT: &str = "Київ готують до найважчої весни за останні роки: з першого квітня у столиці \
        нібито запровадять графіки відключень електроенергії тривалістю до шістнадцяти годин на добу, \
        а енергетики вже попередили мешканців багатоповерхівок про можливі перебої з водою та теплом.";
    const OTHER: &str = "Харків переходить на нові правила: з понеділка громадський транспорт у місті \
        нібито курсуватиме лише до восьмої вечора, а школи перейдуть на дистанційне навчання до кінця \
        місяця через загрозу атак на енергетичну інфраструктуру регіону.";

    fn item(n: u32, kind: u8, actor: u8) -> (DocInfo, String) {
        let words: Vec<&str> = TEXT.split_whitespace().collect();
        let text = match kind % 6 {
            0 => TEXT.to_string(),
            1 => TEXT.replace("весни", "зими"),
            2 => words[..words.len() / 2 + (n as usize % 5)].join(" "),
            3 => OTHER.to_string(),
            4 => format!("{OTHER} #{n}"),
            _ => format!("Погода: сніг і мороз номер {n}, на Говерлі до мінус п'ятнадцяти."),
        };
        (
            DocInfo {
                id: format!("d{n:03}"),
                actor: (!actor.is_multiple_of(5)).then(|| format!("a{}", actor % 5)),
                source: "telegram".into(),
                language: "uk".into(),
                time: Utc.with_ymd_and_hms(2024, 3, 2, 8, 0, 0).unwrap()
                    + chrono::TimeDelta::minutes(i64::from(n)),
            },
            text,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Fed in batches of any size and flushed, the campaigns are the batch detector's (ids
        /// aside: the live one keeps the first id it gave).
        #[test]
        fn batches_find_the_batch_detectors_campaigns(
            kinds in prop::collection::vec((0u8..6, 0u8..10), 1..50),
            cut in prop::collection::vec(1usize..7, 1..10),
        ) {
            let items: Vec<(DocInfo, String)> = kinds
                .iter()
                .enumerate()
                .map(|(n, &(k, a))| item(n as u32, k, a))
                .collect();
            let mut batch = Detector::new(Params::default());
            for (d, t) in items.clone() {
                batch.push(d, t);
            }
            let want = batch.finish();
            let mut live = Live::new(Params::default(), 3_600_000);
            let mut at = 0;
            let mut sizes = cut.iter().cycle();
            while at < items.len() {
                let n = (*sizes.next().unwrap()).min(items.len() - at);
                live.push(items[at..at + n].to_vec(), 0);
                for c in live.take(false) {
                    prop_assert!(c.actors.len() >= 2);
                }
                at += n;
            }
            live.take(true);
            // Every campaign rebuilt now, not only those changed since last handed out.
            for g in live.groups.values_mut() {
                g.handed = 0;
            }
            live.dirty = live.groups.keys().copied().collect();
            let mut got = live.take(true);
            // The live detector keeps the ids it handed out; the rest must be the batch's.
            for c in &mut got {
                if let Some(w) = want.iter().find(|w| w.members == c.members) {
                    c.id = w.id.clone();
                }
            }
            got.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn handed_out_when_new_and_when_doubled_with_a_stable_id() {
        let mut live = Live::new(Params::default(), 3_600_000);
        let mut n = 0u32;
        let mut next = |k: usize| -> Vec<(DocInfo, String)> {
            (0..k)
                .map(|_| {
                    n += 1;
                    item(n, 0, (n % 4 + 1) as u8)
                })
                .collect()
        };
        live.push(next(1), 0);
        assert!(live.take(false).is_empty(), "one document is no campaign");
        live.push(next(1), 0);
        let first = live.take(false);
        assert_eq!(first.len(), 1, "two actors: a campaign, handed out at once");
        let id = first[0].id.clone();
        let mut sizes = Vec::new();
        for _ in 0..62 {
            live.push(next(1), 0);
            for c in live.take(false) {
                assert_eq!(c.id, id);
                sizes.push(c.members.len());
            }
        }
        assert_eq!(
            sizes,
            [4, 8, 16, 32, 64],
            "handed out again each time it doubled"
        );
        live.push(next(1), 0);
        assert!(live.take(false).is_empty());
        let flushed = live.take(true);
        assert_eq!((flushed.len(), flushed[0].members.len()), (1, 65));
        assert_eq!(flushed[0].id, id);
    }

    #[test]
    fn documents_leave_with_the_window_and_the_rest_keeps_the_id() {
        let mut live = Live::new(Params::default(), 1000);
        let early: Vec<_> = (0..3).map(|n| item(n, 0, n as u8 + 1)).collect();
        live.push(early, 0);
        let id = live.take(false)[0].id.clone();
        let later: Vec<_> = (3..6).map(|n| item(n, 0, n as u8 + 1)).collect();
        live.push(later, 500);
        live.take(true);
        // At 1,700 the first generation (closed at 500) has left; the last three remain.
        live.push(vec![item(6, 0, 1)], 1700);
        assert_eq!(live.len(), 4);
        let c = live.take(true);
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].id, id,
            "the campaign keeps its id as its origin leaves"
        );
        let members: Vec<&str> = c[0].members.iter().map(|m| m.document.as_str()).collect();
        assert_eq!(members, ["d003", "d004", "d005", "d006"]);
    }
}
