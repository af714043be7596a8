//! Coordination networks: which actors posted the same *thing* within seconds of each other, how often.
//!
//! A post carries keys (a link, a normalized text, a near-duplicate cluster, a repost target, …).
//! Two posts with a common key whose times differ by at most the window are a co-share. The engine
//! turns co-shares into directed actor weights the way coordination-network-toolkit counts them:
//! weight(u1 → u2) is the number of distinct posts of u1 that have a post of u2 with a common key
//! within ±window (a post matches itself, which gives self-loops). [`parity`] builds the toolkit's
//! keys so that its edge lists come out row for row; [`network`] is Varta's own combined network
//! with discounts for popular keys, an estimated window, evidence and groups ([`louvain`]);
//! [`finding`] turns a group into the finding that is stored. [`coortweet`] reproduces CooRTweet's
//! pairs and edges, the R package most studies of coordinated behaviour use.
//!
//! The computation streams by actor: postings are sorted once by (key, time); each actor's posts
//! look up their windows by binary search and count distinct partner actors in a dense per-thread
//! array, so memory is the postings plus the edges kept, never a table of all co-sharing pairs,
//! however many shares one viral key has. Actors are processed in parallel.

pub mod collect;
pub mod coortweet;
pub mod finding;
pub mod graphfile;
pub mod live;
pub mod louvain;
pub mod network;
pub mod parity;

use rayon::prelude::*;
use std::ops::Range;

/// A directed weighted edge between two actors (indices into the caller's actor table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: u32,
    pub to: u32,
    pub weight: u32,
}

/// Posts as the engine sees them: for post `i`, its actor and its time in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Posts<'a> {
    pub actor: &'a [u32],
    pub time: &'a [f64],
    /// Number of distinct actors (every `actor[i]` is below it).
    pub n_actors: usize,
}

/// Postings sorted by key then time: the layout every window lookup runs on.
pub(crate) struct Layout {
    /// Per posting: its post, the post's distinct-count identity, actor and time.
    pub post: Vec<u32>,
    pub ident: Vec<u32>,
    pub actor: Vec<u32>,
    pub time: Vec<f64>,
    /// Per posting: the range of postings with the same key.
    pub key_range: Vec<(u32, u32)>,
    /// Per posting: its key's index (keys numbered in sorted order).
    pub key_index: Vec<u32>,
    /// The key hashes, one per key index.
    pub keys: Vec<u128>,
}

impl Layout {
    /// Sorts `(key, post)` postings by key, time and post. Repeated (key, post) pairs count once.
    pub fn new(
        posts: Posts<'_>,
        identity: Option<&[u32]>,
        mut postings: Vec<(u128, u32)>,
    ) -> Layout {
        // Sorting materialized (key, time, post) tuples, not postings that look their time up,
        // keeps the comparisons out of main memory.
        let mut sorted: Vec<(u128, u64, u32)> = postings
            .par_iter()
            .map(|&(k, p)| (k, ordered_bits(posts.time[p as usize]), p))
            .collect();
        drop(std::mem::take(&mut postings));
        sorted.par_sort_unstable();
        sorted.dedup();
        postings = sorted.into_iter().map(|(k, _, p)| (k, p)).collect();
        let n = postings.len();
        let mut layout = Layout {
            post: Vec::with_capacity(n),
            ident: Vec::with_capacity(n),
            actor: Vec::with_capacity(n),
            time: Vec::with_capacity(n),
            key_range: Vec::with_capacity(n),
            key_index: Vec::with_capacity(n),
            keys: Vec::new(),
        };
        let mut start = 0usize;
        while start < n {
            let key = postings[start].0;
            let mut end = start;
            while end < n && postings[end].0 == key {
                end += 1;
            }
            let k = layout.keys.len() as u32;
            layout.keys.push(key);
            for &(_, p) in &postings[start..end] {
                layout.post.push(p);
                layout.ident.push(identity.map_or(p, |ids| ids[p as usize]));
                layout.actor.push(posts.actor[p as usize]);
                layout.time.push(posts.time[p as usize]);
                layout.key_range.push((start as u32, end as u32));
                layout.key_index.push(k);
            }
            start = end;
        }
        layout
    }

    /// The postings of the same key within ±window of posting `p` (itself included).
    #[inline]
    pub fn window(&self, p: usize, window: f64) -> Range<usize> {
        let (ks, ke) = self.key_range[p];
        let (ks, ke) = (ks as usize, ke as usize);
        let t = self.time[p];
        let (lo_t, hi_t) = (t - window, t + window);
        // Galloping outward from the posting itself: the cost grows with the window's occupancy,
        // not with the key's length, and stays in the cache lines the caller reads next (a key
        // like the toolkit's empty URL has hundreds of thousands of postings).
        let lo = p - gallop_back(&self.time[ks..p], |x| x >= lo_t);
        let hi = p + gallop(&self.time[p..ke], |x| x <= hi_t);
        lo..hi
    }

    /// Posting indices grouped by actor, then identity: each actor's run is one unit of work, and
    /// the postings of one identity are adjacent, so one stamp per identity counts it once.
    pub fn by_actor(&self) -> (Vec<u32>, Vec<Range<usize>>) {
        let mut keyed: Vec<(u64, u32)> = (0..self.post.len() as u32)
            .into_par_iter()
            .map(|p| {
                let (a, i) = (self.actor[p as usize], self.ident[p as usize]);
                ((u64::from(a) << 32) | u64::from(i), p)
            })
            .collect();
        keyed.par_sort_unstable();
        let order: Vec<u32> = keyed.into_iter().map(|(_, p)| p).collect();
        let mut runs = Vec::new();
        let mut s = 0usize;
        while s < order.len() {
            let a = self.actor[order[s] as usize];
            let mut e = s;
            while e < order.len() && self.actor[order[e] as usize] == a {
                e += 1;
            }
            runs.push(s..e);
            s = e;
        }
        (order, runs)
    }
}

/// An f64's bits, mapped so that integer order is `f64::total_cmp` order.
#[inline]
pub(crate) fn ordered_bits(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// `s.partition_point(pred)`, probing 1, 2, 4, … elements from the front first.
#[inline]
fn gallop(s: &[f64], pred: impl Fn(f64) -> bool) -> usize {
    let mut bound = 1;
    while bound < s.len() && pred(s[bound]) {
        bound *= 2;
    }
    let lo = bound / 2;
    let hi = bound.min(s.len());
    lo + s[lo..hi].partition_point(|&x| pred(x))
}

/// How many elements at the end of `s` satisfy `pred` (false, then true), probing from the back.
#[inline]
fn gallop_back(s: &[f64], pred: impl Fn(f64) -> bool) -> usize {
    let n = s.len();
    let mut bound = 1;
    while bound < n && pred(s[n - 1 - bound]) {
        bound *= 2;
    }
    let lo = bound / 2;
    let hi = bound.min(n);
    let seg = &s[n - hi..n - lo];
    lo + (seg.len() - seg.partition_point(|&x| !pred(x)))
}

/// Per-thread scratch: per actor, a last-post stamp and a weight side by side (one cache line
/// per visit), and the actors touched.
pub(crate) struct Scratch {
    pub slot: Vec<(u32, u32)>,
    pub touched: Vec<u32>,
}

impl Scratch {
    pub fn new(n_actors: usize) -> Scratch {
        Scratch {
            slot: vec![(0, 0); n_actors],
            touched: Vec::new(),
        }
    }
}

/// Directed co-share weights over keyed posts, exactly as coordination-network-toolkit counts
/// them (see the module docs), keeping edges with weight ≥ `min_weight`, sorted by (from, to).
pub fn keyed_network(
    posts: Posts<'_>,
    postings: Vec<(u128, u32)>,
    window: f64,
    min_weight: u32,
) -> Vec<Edge> {
    keyed_network_with_identity(posts, None, postings, window, min_weight)
}

/// [`keyed_network`] where several posts may stand for one counted thing (`identity[post]`): the
/// toolkit counts message ids, and a repeated message id's rows are separate posts.
pub fn keyed_network_with_identity(
    posts: Posts<'_>,
    identity: Option<&[u32]>,
    postings: Vec<(u128, u32)>,
    window: f64,
    min_weight: u32,
) -> Vec<Edge> {
    let layout = Layout::new(posts, identity, postings);
    directed(posts.n_actors, &layout, min_weight, |p, visit| {
        for j in layout.window(p, window) {
            visit(layout.actor[j]);
        }
    })
}

/// Directed weights where two posts match when `similar(post_a, post_b)` holds and their times
/// differ by at most the window (coordination-network-toolkit's co-similar network). Only posts
/// in `eligible` take part.
pub fn similar_network(
    posts: Posts<'_>,
    eligible: &[u32],
    window: f64,
    min_weight: u32,
    similar: impl Fn(u32, u32) -> bool + Sync,
) -> Vec<Edge> {
    // One key holds every eligible post: the window alone selects candidates.
    let postings: Vec<(u128, u32)> = eligible.iter().map(|&p| (0u128, p)).collect();
    let layout = Layout::new(posts, None, postings);
    directed(posts.n_actors, &layout, min_weight, |p, visit| {
        let me = layout.post[p];
        for j in layout.window(p, window) {
            if similar(me, layout.post[j]) {
                visit(layout.actor[j]);
            }
        }
    })
}

/// The per-actor sweep shared by the networks: for every post of an actor, each partner actor
/// found by `neighbors` counts once per post.
fn directed(
    n_actors: usize,
    layout: &Layout,
    min_weight: u32,
    neighbors: impl Fn(usize, &mut dyn FnMut(u32)) + Sync,
) -> Vec<Edge> {
    let (order, runs) = layout.by_actor();
    let mut edges: Vec<Edge> = runs
        .par_chunks(64)
        .map_init(
            || Scratch::new(n_actors),
            |s, chunk| {
                let mut out = Vec::new();
                for run in chunk {
                    let actor = layout.actor[order[run.start] as usize];
                    for &p in &order[run.clone()] {
                        let p = p as usize;
                        // Identities are numbered from 0; the stamp is identity + 1 so 0 means
                        // "none".
                        let stamp = layout.ident[p] + 1;
                        let Scratch { slot, touched } = &mut *s;
                        neighbors(p, &mut |other| {
                            let (st, w) = &mut slot[other as usize];
                            if *st != stamp {
                                *st = stamp;
                                if *w == 0 {
                                    touched.push(other);
                                }
                                *w += 1;
                            }
                        });
                    }
                    s.touched.sort_unstable();
                    for &other in &s.touched {
                        let w = s.slot[other as usize].1;
                        if w >= min_weight {
                            out.push(Edge {
                                from: actor,
                                to: other,
                                weight: w,
                            });
                        }
                        s.slot[other as usize].1 = 0;
                    }
                    s.touched.clear();
                }
                out
            },
        )
        .flatten_iter()
        .collect();
    edges.par_sort_unstable();
    edges
}

/// A 128-bit key hash: collisions between distinct keys are out of reach for any data set.
pub fn key_hash(kind: &str, value: &[u8]) -> u128 {
    let mut h = blake3::Hasher::new();
    h.update(&(kind.len() as u64).to_le_bytes());
    h.update(kind.as_bytes());
    h.update(value);
    let b = h.finalize();
    let mut x = [0u8; 16];
    x.copy_from_slice(&b.as_bytes()[..16]);
    u128::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        #[test]
        fn galloping_finds_the_partition_point(
            mut v in proptest::collection::vec(0u8..50, 0..300),
            cut in 0u8..55,
        ) {
            v.sort_unstable();
            let s: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
            let c = f64::from(cut);
            proptest::prop_assert_eq!(super::gallop(&s, |x| x <= c), s.partition_point(|&x| x <= c));
            proptest::prop_assert_eq!(
                super::gallop_back(&s, |x| x >= c),
                s.len() - s.partition_point(|&x| x < c)
            );
        }
    }

    use super::*;
    use proptest::prelude::*;

    /// Brute force over all pairs of postings: the definition, for checking the engine.
    fn brute(
        actor: &[u32],
        time: &[f64],
        postings: &[(u128, u32)],
        window: f64,
        min_weight: u32,
    ) -> Vec<Edge> {
        let mut seen =
            std::collections::BTreeMap::<(u32, u32), std::collections::BTreeSet<u32>>::new();
        for &(k1, p1) in postings {
            for &(k2, p2) in postings {
                if k1 == k2 && (time[p1 as usize] - time[p2 as usize]).abs() <= window {
                    seen.entry((actor[p1 as usize], actor[p2 as usize]))
                        .or_default()
                        .insert(p1);
                }
            }
        }
        seen.into_iter()
            .filter(|(_, s)| s.len() as u32 >= min_weight)
            .map(|((from, to), s)| Edge {
                from,
                to,
                weight: s.len() as u32,
            })
            .collect()
    }

    #[test]
    fn counts_distinct_posts_with_self_loops() {
        // Actor 0 posts link A twice and B once; actor 1 posts A within the window of both.
        let actor = [0, 0, 0, 1, 2];
        let time = [0.0, 30.0, 31.0, 20.0, 500.0];
        let postings = vec![(1, 0), (1, 1), (2, 1), (2, 2), (1, 3), (1, 4)];
        let posts = Posts {
            actor: &actor,
            time: &time,
            n_actors: 3,
        };
        let edges = keyed_network(posts, postings.clone(), 60.0, 1);
        assert_eq!(edges, brute(&actor, &time, &postings, 60.0, 1));
        assert!(edges.contains(&Edge {
            from: 0,
            to: 0,
            weight: 3
        }));
        assert!(edges.contains(&Edge {
            from: 0,
            to: 1,
            weight: 2
        }));
        assert!(!edges.iter().any(|e| e.to == 2 && e.from != 2));
    }

    proptest! {
        /// The engine agrees with the definition on arbitrary postings, windows and weights,
        /// including ties in time and posts with several keys.
        #[test]
        fn engine_equals_brute_force(
            actor in proptest::collection::vec(0u32..6, 1..40),
            seed in proptest::collection::vec((0u128..5, 0usize..1000, 0u32..400), 0..80),
            window in 0.0f64..120.0,
            min_weight in 1u32..4,
        ) {
            let n = actor.len();
            let time: Vec<f64> = (0..n).map(|i| ((i * 37) % 300) as f64 / 2.0).collect();
            let postings: Vec<(u128, u32)> = seed.iter().map(|&(k, p, _)| (k, (p % n) as u32)).collect();
            let mut dedup = postings.clone();
            dedup.sort_unstable();
            dedup.dedup();
            let posts = Posts { actor: &actor, time: &time, n_actors: 6 };
            prop_assert_eq!(keyed_network(posts, postings, window, min_weight), brute(&actor, &time, &dedup, window, min_weight));
        }
    }
}
