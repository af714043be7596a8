//! A sliding near-duplicate index for a watcher: texts arrive in small batches, each new distinct
//! text is checked against the window at once, and texts leave a generation at a time.
//!
//! The batch [`super::Index`] finds candidates by sorting every band's keys over all its texts,
//! so asking it what a batch of a hundred new posts pairs with costs the whole window each time.
//! Here each generation keeps its band keys sorted, in runs merged as they double (a
//! log-structured index): a new text's candidates cost a binary search per band and run, and a
//! batch's work grows with the batch (and the near-duplicates it has), not with the window.
//!
//! Shingles, signatures, banding and the exact verification are [`super::Index`]'s, so the pairs
//! among representatives are the same. One difference: copies are recognised within a
//! generation; the first copy in a later generation of an earlier text is a representative of
//! its own, paired at 1.0 with the earlier one, which counts the same pairs (see [`Copies`]).
//!
//! Texts are numbered from 0 in the order they came, for the life of the index (`u32`: four
//! billion texts, years of a busy watcher).

use super::{Banding, Copies, Pair, Shingles, band_keys, prepare, similar};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Texts of one arrival span.
struct Gen {
    /// Number of its first text.
    start: u32,
    /// When it was opened (ms, the caller's clock).
    opened_ms: i64,
    /// Representatives' shingle sets (others: empty).
    sets: Vec<Box<[u32]>>,
    /// Per text, its representative's number.
    canonical: Vec<u32>,
    /// Per representative, its copies (itself included); 0 for the others.
    copies: Vec<u32>,
    by_set: FxHashMap<u64, u32>,
    /// Band entries `(band and key) << 32 | text`, sorted, in runs of decreasing size.
    runs: Vec<Vec<u64>>,
}

impl Gen {
    fn new(start: u32, opened_ms: i64) -> Gen {
        Gen {
            start,
            opened_ms,
            sets: Vec::new(),
            canonical: Vec::new(),
            copies: Vec::new(),
            by_set: FxHashMap::default(),
            runs: Vec::new(),
        }
    }

    fn end(&self) -> u32 {
        self.start + self.sets.len() as u32
    }

    /// Adds a sorted run and merges runs while the last is not much smaller than the one before
    /// it, so a generation of n texts keeps about log₂ n runs.
    fn add_run(&mut self, run: Vec<u64>) {
        if run.is_empty() {
            return;
        }
        self.runs.push(run);
        while self.runs.len() >= 2 {
            let n = self.runs.len();
            if self.runs[n - 2].len() > 2 * self.runs[n - 1].len() {
                break;
            }
            let (b, a) = (self.runs.pop(), self.runs.pop());
            if let (Some(a), Some(b)) = (a, b) {
                self.runs.push(merge(a, b));
            }
        }
    }
}

/// Texts of a sorted run sharing band entry `bk`, appended to `out`.
fn lookup_run(run: &[u64], bk: u32, out: &mut Vec<u32>) {
    let lo = u64::from(bk) << 32;
    let mut i = run.partition_point(|&e| e < lo);
    while i < run.len() && (run[i] >> 32) as u32 == bk {
        out.push(run[i] as u32);
        i += 1;
    }
}

fn merge(a: Vec<u64>, b: Vec<u64>) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// A band's key tagged with its band, in 32 bits: six bits of band, the key's top 26 bits. Two
/// texts that share a band share its entry; a chance collision only adds a candidate that
/// verification rejects.
fn entry_key(band: usize, key: u32) -> u32 {
    ((band as u32 & 63) << 26) | (key >> 6)
}

/// The sliding index.
pub struct Live {
    threshold: f64,
    containment: Option<f64>,
    banding: Banding,
    gens: VecDeque<Gen>,
    next: u32,
}

impl Live {
    /// An empty index with [`super::Index::with_containment`]'s thresholds and banding.
    pub fn with_containment(threshold: f64, containment: f64) -> Live {
        Live {
            threshold,
            containment: Some(containment),
            banding: Banding::for_threshold(threshold * 0.9),
            gens: VecDeque::new(),
            next: 0,
        }
    }

    /// Number of the oldest text still held (texts before it left with their generation).
    pub fn base(&self) -> u32 {
        self.gens.front().map_or(self.next, |g| g.start)
    }

    /// Number the next text will get.
    pub fn next(&self) -> u32 {
        self.next
    }

    /// Texts held.
    pub fn len(&self) -> usize {
        (self.next - self.base()) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn gen_of(&self, i: u32) -> Option<&Gen> {
        let at = self.gens.partition_point(|g| g.start <= i);
        let g = self.gens.get(at.checked_sub(1)?)?;
        (i < g.end()).then_some(g)
    }

    fn set(&self, i: u32) -> &[u32] {
        self.gen_of(i)
            .map_or(&[][..], |g| &g.sets[(i - g.start) as usize])
    }

    /// Starts a new generation when the current one is `span_ms` old, and lets go of the
    /// generations that closed more than `window_ms` before `now_ms`. Returns the number of the
    /// oldest text still held: every text before it is gone.
    pub fn roll(&mut self, now_ms: i64, span_ms: i64, window_ms: i64) -> u32 {
        if self
            .gens
            .back()
            .is_none_or(|g| now_ms - g.opened_ms >= span_ms)
        {
            self.gens.push_back(Gen::new(self.next, now_ms));
        }
        // A generation closed when the next one opened.
        while self.gens.len() >= 2 && self.gens[1].opened_ms < now_ms - window_ms {
            self.gens.pop_front();
        }
        self.base()
    }

    /// Adds texts in order (numbered from [`Live::next`]) and returns the verified pairs among
    /// representatives that involve one of them, each `(a, b)` with `a < b`, sorted.
    pub fn add_batch(&mut self, shingles: &[Shingles], now_ms: i64) -> Vec<Pair> {
        if self.gens.is_empty() {
            self.gens.push_back(Gen::new(self.next, now_ms));
        }
        let prepared: Vec<(u64, Vec<u32>)> = shingles.par_iter().map(prepare).collect();
        let first = self.next;
        let mut fresh: Vec<u32> = Vec::new();
        {
            let Some(g) = self.gens.back_mut() else {
                return Vec::new();
            };
            for (s, (set_key, compact)) in shingles.iter().zip(prepared) {
                let i = self.next;
                self.next += 1;
                let canon = if s.is_empty() {
                    i
                } else {
                    *g.by_set.entry(set_key).or_insert(i)
                };
                // A hash collision between different sets must not merge them.
                let canon = if canon != i && *g.sets[(canon - g.start) as usize] != *compact {
                    i
                } else {
                    canon
                };
                g.canonical.push(canon);
                g.copies.push(0);
                g.copies[(canon - g.start) as usize] += 1;
                if canon == i && !s.is_empty() {
                    g.sets.push(compact.into_boxed_slice());
                    fresh.push(i);
                } else {
                    g.sets.push(Box::default());
                }
            }
        }
        let banding = self.banding;
        let keys: Vec<Vec<u32>> = fresh
            .par_iter()
            .map(|&i| band_keys(banding, &shingles[(i - first) as usize]))
            .collect();
        let (t, c) = (self.threshold, self.containment);
        let verify = |a: u32, b: u32| -> Option<Pair> {
            let (jaccard, containment) = similar(t, c, self.set(a), self.set(b))?;
            Some(Pair {
                a,
                b,
                jaccard,
                containment,
            })
        };
        // The batch's band entries, sorted: looked up in the runs, then a run of their own.
        let mut entries: Vec<u64> = Vec::with_capacity(fresh.len() * banding.bands);
        for (&i, k) in fresh.iter().zip(&keys) {
            for (band, &key) in k.iter().enumerate() {
                entries.push(u64::from(entry_key(band, key)) << 32 | u64::from(i));
            }
        }
        entries.par_sort_unstable();
        entries.dedup();
        // Against the texts held before this batch: (old, new) candidates from every run, by a
        // binary search per entry when the batch is small against the run, else by one
        // merge-join of the two sorted lists (sequential memory, linear in the run: a backlog of
        // 100,000 posts is not 6 million cache-missing searches per run).
        let runs: Vec<&Vec<u64>> = self.gens.iter().flat_map(|g| &g.runs).collect();
        let mut old: Vec<(u32, u32)> = runs
            .par_iter()
            .flat_map_iter(|run| {
                let mut out = Vec::new();
                if entries.len().saturating_mul(32) < run.len() {
                    let mut found = Vec::new();
                    let mut at = 0;
                    while at < entries.len() {
                        let bk = (entries[at] >> 32) as u32;
                        let mut end = at + 1;
                        while end < entries.len() && (entries[end] >> 32) as u32 == bk {
                            end += 1;
                        }
                        found.clear();
                        lookup_run(run, bk, &mut found);
                        for &a in &found {
                            for e in &entries[at..end] {
                                out.push((a, *e as u32));
                            }
                        }
                        at = end;
                    }
                } else {
                    let (mut x, mut y) = (0, 0);
                    while x < entries.len() && y < run.len() {
                        let (kx, ky) = (entries[x] >> 32, run[y] >> 32);
                        if kx < ky {
                            x += 1;
                        } else if ky < kx {
                            y += 1;
                        } else {
                            let mut xe = x;
                            while xe < entries.len() && entries[xe] >> 32 == kx {
                                xe += 1;
                            }
                            let mut ye = y;
                            while ye < run.len() && run[ye] >> 32 == ky {
                                ye += 1;
                            }
                            for r in &run[y..ye] {
                                for e in &entries[x..xe] {
                                    out.push((*r as u32, *e as u32));
                                }
                            }
                            (x, y) = (xe, ye);
                        }
                    }
                }
                out
            })
            .collect();
        old.par_sort_unstable();
        old.dedup();
        let mut pairs: Vec<Pair> = old
            .par_iter()
            .filter(|&&(a, _)| a < first)
            .filter_map(|&(a, b)| verify(a, b))
            .collect();
        // Among the batch's own new texts.
        let mut cands: Vec<(u32, u32)> = Vec::new();
        let mut s = 0;
        while s < entries.len() {
            let mut e = s + 1;
            while e < entries.len() && entries[e] >> 32 == entries[s] >> 32 {
                e += 1;
            }
            for x in s..e {
                for y in x + 1..e {
                    cands.push((entries[x] as u32, entries[y] as u32));
                }
            }
            s = e;
        }
        cands.par_sort_unstable();
        cands.dedup();
        pairs.extend(
            cands
                .par_iter()
                .filter_map(|&(a, b)| verify(a, b))
                .collect::<Vec<_>>(),
        );
        if let Some(g) = self.gens.back_mut() {
            g.add_run(entries);
        }
        pairs.par_sort_unstable_by_key(|p| (p.a, p.b));
        pairs
    }
}

impl Copies for Live {
    fn canonical_of(&self, i: u32) -> u32 {
        self.gen_of(i)
            .map_or(i, |g| g.canonical[(i - g.start) as usize])
    }

    fn copies_of_rep(&self, rep: u32) -> u32 {
        self.gen_of(rep)
            .map_or(0, |g| g.copies[(rep - g.start) as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neardup::Index;
    use proptest::prelude::*;

    const BASE: &str = "Київ готують до найважчої весни за останні роки: з першого квітня у столиці \
        нібито запровадять графіки відключень електроенергії тривалістю до шістнадцяти годин на добу, \
        а енергетики вже попередили мешканців багатоповерхівок про можливі перебої з водою та теплом.";

    /// Texts: copies, edits and cuts of a few bases, and unrelated ones.
    fn texts(picks: &[(u8, u8)]) -> Vec<String> {
        let words: Vec<&str> = BASE.split_whitespace().collect();
        picks
            .iter()
            .map(|&(kind, n)| {
                let n = n as usize;
                match kind % 5 {
                    0 => BASE.to_string(),
                    1 => {
                        let mut w = words.clone();
                        let at = n % w.len();
                        w[at] = "змінено";
                        w.join(" ")
                    }
                    2 => words[..(words.len() / 2 + n % 8)].join(" "),
                    3 => format!("інший текст номер {n} про погоду в Карпатах і сніг на Говерлі вночі та вранці"),
                    _ => format!("{} {}", words[n % 10..].join(" "), "додано кілька слів наприкінці"),
                }
            })
            .collect()
    }

    /// Pairs among representatives by the batch index, as (first text of each group).
    fn batch_pairs(texts: &[String]) -> Vec<(u32, u32, u64)> {
        let mut index = Index::with_containment(0.5, 0.9);
        index.add_batch(texts.iter().map(|t| Shingles::of_text(t)).collect());
        let c = index.clusters();
        c.pairs
            .iter()
            .map(|p| (p.a, p.b, (p.jaccard * 1e9) as u64))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// In one generation, fed in batches of any size, the pairs are the batch index's.
        #[test]
        fn batches_find_what_the_batch_index_finds(
            picks in prop::collection::vec((0u8..5, 0u8..40), 1..60),
            cut in prop::collection::vec(1usize..9, 1..20),
        ) {
            let texts = texts(&picks);
            let mut live = Live::with_containment(0.5, 0.9);
            let mut got = Vec::new();
            let mut at = 0;
            let mut sizes = cut.iter().cycle();
            while at < texts.len() {
                let n = (*sizes.next().unwrap()).min(texts.len() - at);
                let sh: Vec<Shingles> = texts[at..at + n].iter().map(|t| Shingles::of_text(t)).collect();
                live.roll(0, 1000, 10_000);
                got.extend(live.add_batch(&sh, 0).into_iter().map(|p| (p.a, p.b, (p.jaccard * 1e9) as u64)));
                at += n;
            }
            got.sort_unstable();
            prop_assert_eq!(got, batch_pairs(&texts));
            // Copies counted as the batch index counts them.
            let mut index = Index::with_containment(0.5, 0.9);
            index.add_batch(texts.iter().map(|t| Shingles::of_text(t)).collect());
            let c = index.clusters();
            for i in 0..texts.len() as u32 {
                prop_assert_eq!(live.canonical_of(i), c.canonical_of(i));
                prop_assert_eq!(live.copies_of_rep(live.canonical_of(i)), c.copies_of_rep(c.canonical_of(i)));
            }
        }
    }

    #[test]
    fn old_generations_leave_and_later_copies_pair_with_earlier_ones() {
        let mut live = Live::with_containment(0.5, 0.9);
        let one = [Shingles::of_text(BASE)];
        live.roll(0, 100, 1000);
        assert!(live.add_batch(&one, 0).is_empty());
        assert_eq!(
            live.roll(150, 100, 1000),
            0,
            "a new generation, the old one kept"
        );
        let p = live.add_batch(&one, 150);
        assert_eq!(
            p.len(),
            1,
            "a copy in a later generation pairs with the earlier text"
        );
        assert_eq!((p[0].a, p[0].b, p[0].jaccard), (0, 1, 1.0));
        // The first generation closed at 150; at 1,200 it is out of a 1,000 window.
        assert_eq!(live.roll(1200, 100, 1000), 1);
        assert_eq!(live.len(), 1);
        // The second closes when the third opens (2,000), so it stays for another window.
        assert_eq!(live.roll(2000, 100, 1000), 1);
        assert_eq!(live.roll(3100, 100, 1000), 2, "all left");
        assert!(live.add_batch(&one, 3100).is_empty());
        assert_eq!(live.copies_of_rep(2), 1);
    }

    #[test]
    fn runs_stay_logarithmic() {
        let mut live = Live::with_containment(0.5, 0.9);
        for n in 0..200u32 {
            let s = Shingles::of_text(&format!("{BASE} {n} {}", n * 7919));
            live.roll(0, 1000, 10_000);
            live.add_batch(&[s], 0);
        }
        let runs = live.gens[0].runs.len();
        assert!(runs <= 9, "{runs} runs for 200 texts");
    }
}
