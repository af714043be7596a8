//! Varta's own coordination network: every signal at once, popular keys discounted, the window
//! estimated from the data, groups with their evidence.
//!
//! - **Signals.** A post's keys may be links, near-duplicate text clusters, repost/forward targets,
//!   reply targets and hashtag sequences; the caller builds them ([`KeyKind`]). A co-share on any
//!   key counts once per (post, partner): the best-credited key wins.
//! - **Popular keys.** A key shared by more than `popular_actors` distinct actors is organic
//!   virality more often than coordination (a breaking-news link): each co-share on it is worth
//!   1 / (1 + ln(actors / popular_actors)). Keys of more than `max_key_actors` actors are left out
//!   (their co-shares would be worth almost nothing and cost the most).
//! - **Window.** `auto` counts, over keys of 2 to 50 actors, the co-shares between distinct actors
//!   within 1 s, 2 s, … 1 h, and takes the first step after which the count grows no faster than
//!   1.5 times the organic rate (its growth per second between 2 and 5 minutes), at most 120 s;
//!   when co-shares within seconds are not at least three times that rate (no pushes stand out,
//!   as in a retweet cascade) it keeps 60 s. (The rate between 10 min and 1 h was used first:
//!   organic bursts of 5–30 minutes keep the count growing faster than that, and the window came
//!   out at 600–900 s.) CooRnet's estimate (the median time to half the shares among the
//!   fastest-spreading 10% of links) was tried first: on data with mostly organic keys it answers
//!   hours.
//! - **Bounded work.** Each posting is compared with at most [`MAX_WINDOW_POSTINGS`] postings of
//!   its key, the nearest in time; the near-duplicate text keys come from distinct texts (see
//!   [`crate::neardup::Clusters`]). Memory holds the postings and the co-sharing pairs.
//! - **Edges.** Directed discounted weights d(a→b) as the toolkit counts them; the undirected
//!   weight is their mean and CooRTweet's edge symmetry is min/max. Edges of weight ≥ `min_weight`
//!   (repeated co-shares) form the core graph.
//! - **Groups.** Louvain communities of each connected component of the core graph with at least
//!   `min_group` actors; then an
//!   actor that co-shared at least once with at least `attach_share` of a group's core (and with 3
//!   of them) joins it, which brings in members who took part in one push only and lets an actor
//!   belong to two groups; one who met the core on a single key must have posted inside the
//!   core's push there, where chance brings fewer than one passer-by ([`joins_pushes`]).

use super::louvain::louvain;
use super::{Layout, Posts};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What a key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyKind {
    Link,
    Text,
    Repost,
    Reply,
    Hashtags,
}

impl KeyKind {
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Link => "link",
            KeyKind::Text => "text",
            KeyKind::Repost => "repost",
            KeyKind::Reply => "reply",
            KeyKind::Hashtags => "hashtags",
        }
    }
}

/// The window: given, or estimated from the data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Window {
    Seconds(f64),
    Auto,
}

/// Parameters of the own network, with their defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Params {
    pub window: Window,
    /// Undirected edge weight (mean of both directions' discounted co-shares) for the core graph.
    pub min_weight: f64,
    /// Distinct actors above which a key's co-shares are discounted.
    pub popular_actors: u32,
    /// Distinct actors above which a key is left out.
    pub max_key_actors: u32,
    /// Louvain resolution.
    pub resolution: f64,
    /// Share of a group's core an outside actor must have co-shared with to join.
    pub attach_share: f64,
    /// Smallest group reported.
    pub min_group: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            window: Window::Auto,
            min_weight: 2.0,
            popular_actors: 40,
            max_key_actors: 1000,
            resolution: 1.0,
            attach_share: 0.5,
            min_group: 3,
        }
    }
}

/// A key with what the user is shown about it.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    pub kind: KeyKind,
    pub label: String,
}

/// Everything the own network reads.
pub struct Input {
    /// Per post: actor and time (seconds).
    pub actor: Vec<u32>,
    pub time: Vec<f64>,
    pub n_actors: usize,
    /// `(key, post)`.
    pub postings: Vec<(u128, u32)>,
    pub keys: rustc_hash::FxHashMap<u128, KeyInfo>,
}

/// How the window was chosen.
#[derive(Clone, Debug, Serialize)]
pub struct WindowEstimate {
    pub seconds: f64,
    /// Co-shares between distinct actors within each step (seconds, count), keys of 2–50 actors.
    pub ladder: Vec<(f64, u64)>,
    /// Organic growth, co-shares per second of window between 2 and 5 minutes.
    pub background_per_s: f64,
}

/// An undirected edge.
#[derive(Clone, Debug, Serialize)]
pub struct UEdge {
    pub a: u32,
    pub b: u32,
    /// Mean of both directions' discounted co-shares.
    pub weight: f64,
    pub a_to_b: f64,
    pub b_to_a: f64,
    /// min/max of the two directions (CooRTweet's edge symmetry).
    pub symmetry: f64,
    /// The part of `weight` from co-shares on quiet postings (see [`build`]): what lets a
    /// one-time co-sharer join a group.
    #[serde(skip)]
    pub quiet: f64,
}

/// One co-share between two members of a group: the evidence.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub kind: KeyKind,
    pub key: String,
    pub actor_a: u32,
    pub post_a: u32,
    pub time_a: f64,
    pub actor_b: u32,
    pub post_b: u32,
    pub time_b: f64,
    pub delta_s: f64,
}

/// A key the group shared, with how many of its members shared it within the window.
#[derive(Clone, Debug, Serialize)]
pub struct SharedKey {
    pub kind: KeyKind,
    pub key: String,
    pub members: usize,
    pub posts: usize,
    pub first: f64,
    pub spread_s: f64,
}

/// A coordinated group.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    /// Members, sorted: the core found by Louvain and those attached to it.
    pub members: Vec<u32>,
    pub core: Vec<u32>,
    pub attached: Vec<u32>,
    /// Core edges inside the group.
    pub edges: usize,
    /// Share of possible core pairs joined by a core edge.
    pub density: f64,
    pub mean_weight: f64,
    pub mean_symmetry: f64,
    /// Heuristic rank in [0, 1): density × mean weight / (mean weight + 1).
    pub score: f64,
    pub shared_keys: Vec<SharedKey>,
    pub evidence: Vec<Evidence>,
    /// Member posts in co-shares per hour: (hour start, count).
    pub timeline: Vec<(i64, u32)>,
    /// The earliest member post in a co-share.
    pub first_seen: f64,
    pub first_post: u32,
    pub first_actor: u32,
}

/// The network and its groups.
#[derive(Clone, Debug, Serialize)]
pub struct Network {
    pub window: f64,
    pub window_estimate: Option<WindowEstimate>,
    pub keys: usize,
    pub keys_discounted: usize,
    pub keys_left_out: usize,
    /// Co-sharing pairs of actors, of any weight.
    pub co_sharing_pairs: usize,
    /// The pairs with at least one full co-share on average (weight ≥ [`EDGE_FLOOR`]): what
    /// groups, attachment and the exported networks read. A key copied by a hundred thousand
    /// accounts makes tens of millions of weaker pairs, which are counted, not kept.
    pub edges: Vec<UEdge>,
    pub groups: Vec<Group>,
}

/// The least weight of an edge kept in [`Network::edges`].
pub const EDGE_FLOOR: f64 = 0.99;

const LADDER: [f64; 18] = [
    1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
    900.0, 1800.0, 3600.0,
];
const ESTIMATE_MAX_ACTORS: u32 = 50;
/// Postings of one key a posting is compared with at most, half before it and half after: with
/// keys of at most `max_key_actors` (1,000) actors, this holds every partner of a posting unless
/// the same actors repeat the key within the window, and it keeps a burst of a million postings
/// from costing a million squared.
pub const MAX_WINDOW_POSTINGS: usize = 2048;
const DEFAULT_WINDOW: f64 = 60.0;
/// The widest window `auto` chooses: co-shares minutes apart are what organic spread looks like.
const MAX_AUTO_WINDOW: f64 = 120.0;

/// Distinct actors per key index.
fn actors_per_key(layout: &Layout, n_actors: usize) -> Vec<u32> {
    let mut stamp = vec![u32::MAX; n_actors];
    let mut counts = vec![0u32; layout.keys.len()];
    for p in 0..layout.post.len() {
        let k = layout.key_index[p];
        let a = layout.actor[p] as usize;
        if stamp[a] != k {
            stamp[a] = k;
            counts[k as usize] += 1;
        }
    }
    counts
}

/// The automatic window (see the module docs).
pub(crate) fn estimate_window(layout: &Layout, actors: &[u32]) -> WindowEstimate {
    let mut counts = [0u64; LADDER.len()];
    let mut p = 0usize;
    let n = layout.post.len();
    while p < n {
        let (ks, ke) = layout.key_range[p];
        let (ks, ke) = (ks as usize, ke as usize);
        let a = actors[layout.key_index[p] as usize];
        if (2..=ESTIMATE_MAX_ACTORS).contains(&a) {
            // A key repeated by one actor thousands of times would cost quadratic time here.
            let end = ke.min(ks + 500);
            for i in ks..end {
                for j in i + 1..end {
                    let gap = layout.time[j] - layout.time[i];
                    if gap > 3600.0 {
                        break;
                    }
                    if layout.actor[i] != layout.actor[j] {
                        let step = LADDER.partition_point(|&w| w < gap);
                        counts[step] += 1;
                    }
                }
            }
        }
        p = ke;
    }
    let mut cumulative = Vec::with_capacity(LADDER.len());
    let mut sum = 0u64;
    for (i, &w) in LADDER.iter().enumerate() {
        sum += counts[i];
        cumulative.push((w, sum));
    }
    let c = |w: f64| cumulative.iter().find(|x| x.0 == w).map_or(0, |x| x.1) as f64;
    // The organic rate of co-shares per second of window, where pushes are over and bursts have
    // not yet bent the curve: between 2 and 5 minutes.
    let background = (c(300.0) - c(120.0)) / 180.0;
    let slope = |i: usize| {
        let ((w, cw), (next, cn)) = (cumulative[i], cumulative[i + 1]);
        (cn - cw) as f64 / (next - w)
    };
    // Pushes put far more co-shares within seconds than the organic rate explains; without that
    // excess there is nothing to estimate from, and the default stands.
    let peak = (0..LADDER.len() - 1)
        .filter(|&i| LADDER[i] < 30.0)
        .map(slope)
        .fold(0.0f64, f64::max);
    let mut seconds = DEFAULT_WINDOW;
    if sum > 0 && peak >= 3.0 * background.max(f64::MIN_POSITIVE) {
        seconds = MAX_AUTO_WINDOW;
        for (i, &w) in LADDER[..LADDER.len() - 1].iter().enumerate() {
            if w >= MAX_AUTO_WINDOW {
                break;
            }
            if slope(i) <= 1.5 * background {
                seconds = w;
                break;
            }
        }
    }
    WindowEstimate {
        seconds,
        ladder: cumulative,
        background_per_s: background,
    }
}

/// Builds the own network and its groups.
pub fn build(input: &Input, params: &Params) -> Network {
    let posts = Posts {
        actor: &input.actor,
        time: &input.time,
        n_actors: input.n_actors,
    };
    let layout = Layout::new(posts, None, input.postings.clone());
    let actors = actors_per_key(&layout, input.n_actors);
    let (window, estimate) = match params.window {
        Window::Seconds(s) => (s, None),
        Window::Auto => {
            let e = estimate_window(&layout, &actors);
            (e.seconds, Some(e))
        }
    };
    // The crowd is counted over a little more than the window (two windows, at least two
    // minutes either side): a group's push fits in it, a news crowd spreading over minutes
    // shows its size.
    let crowd = local_crowds(&layout, (2.0 * window).max(CROWD_SPAN));
    // Other actors per second on the key within the hour around each posting: how often a
    // partner turns up within a given gap by chance.
    let hourly = local_crowds(&layout, RATE_SPAN);
    let rate: Vec<f32> = hourly
        .par_iter()
        .map(|&c| (f64::from(c.saturating_sub(1)) / (2.0 * RATE_SPAN)) as f32)
        .collect();
    // A posting is quiet when the hour around it holds little more than the burst it is in: a
    // post a group reposts of its own, not a post a crowd reposts all afternoon.
    let quiet: Vec<bool> = hourly
        .par_iter()
        .zip(crowd.par_iter())
        .map(|(&h, &c)| f64::from(h) <= QUIET_RATIO * f64::from(c))
        .collect();
    drop(hourly);
    let credit: Vec<f64> = crowd
        .par_iter()
        .zip(layout.key_index.par_iter())
        .map(|(&c, &k)| credit_of(c, actors[k as usize], params))
        .collect();
    let by_actor = ByActor::new(&layout, input.n_actors);
    let (edges, co_sharing_pairs) = discounted(
        &layout,
        &by_actor,
        input.n_actors,
        window,
        &credit,
        &rate,
        &quiet,
    );
    let groups = groups(input, &layout, &by_actor, &edges, window, params);
    Network {
        window,
        window_estimate: estimate,
        keys: layout.keys.len(),
        keys_discounted: keys_where(&layout, &credit, |c| c > 0.0 && c < 1.0),
        keys_left_out: keys_where(&layout, &credit, |c| c == 0.0)
            - actors.iter().filter(|&&a| a < 2).count(),
        co_sharing_pairs,
        edges,
        groups,
    }
}

/// Per posting, the distinct actors that posted its key within ±`span` seconds of it (its own
/// actor included): how crowded the key is where and when this co-share happens. A slogan that a
/// hundred accounts post over two weeks is uncrowded where fifteen push it within twenty seconds;
/// a breaking-news link is crowded within minutes of its publication.
fn local_crowds(layout: &Layout, span: f64) -> Vec<u32> {
    let n = layout.post.len();
    let mut crowd = vec![0u32; n];
    // Each key's postings (sorted by time) in their own slice, so keys are counted in parallel.
    let mut slices: Vec<(usize, &mut [u32])> = Vec::new();
    let mut rest: &mut [u32] = &mut crowd;
    let mut p = 0usize;
    while p < n {
        let ke = layout.key_range[p].1 as usize;
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(ke - p);
        slices.push((p, head));
        rest = tail;
        p = ke;
    }
    slices.into_par_iter().for_each_init(
        rustc_hash::FxHashMap::<u32, u32>::default,
        |count, (ks, out)| {
            count.clear();
            let ke = ks + out.len();
            let (mut lo, mut hi) = (ks, ks);
            for (i, slot) in (ks..ke).zip(out.iter_mut()) {
                let t = layout.time[i];
                while hi < ke && layout.time[hi] <= t + span {
                    *count.entry(layout.actor[hi]).or_insert(0) += 1;
                    hi += 1;
                }
                while layout.time[lo] < t - span {
                    let a = layout.actor[lo];
                    if let Some(c) = count.get_mut(&a) {
                        *c -= 1;
                        if *c == 0 {
                            count.remove(&a);
                        }
                    }
                    lo += 1;
                }
                *slot = count.len() as u32;
            }
        },
    );
    crowd
}

/// What one co-share from a posting is worth, given the distinct actors around it (`crowd`) and
/// the key's distinct actors over the whole collection (`actors`): 1 where the crowd is at most
/// `popular_actors`, 1 / (1 + ln(crowd / popular_actors)) above, nothing above `max_key_actors`
/// or on a key only one actor posted.
pub(crate) fn credit_of(crowd: u32, actors: u32, params: &Params) -> f64 {
    let popular = f64::from(params.popular_actors.max(1));
    if actors < 2 || crowd > params.max_key_actors {
        0.0
    } else if f64::from(crowd) > popular {
        1.0 / (1.0 + (f64::from(crowd) / popular).ln())
    } else {
        1.0
    }
}

/// Share of a group's core an outsider must have co-shared with when its co-shares were on
/// crowded postings only.
const CROWDED_ATTACH_SHARE: f64 = 0.8;

/// The least span either side of a posting over which its crowd is counted.
pub(crate) const CROWD_SPAN: f64 = 120.0;

/// A posting is quiet when the distinct actors on its key within the hour around it are at most
/// this many times those within the window around it.
pub(crate) const QUIET_RATIO: f64 = 1.5;

/// The span around a posting over which a key's chance rate is measured: an hour either side.
pub(crate) const RATE_SPAN: f64 = 3600.0;

/// What a co-share `gap` seconds apart is worth on a key that other actors post at `lambda` per
/// second around it: 1 while chance brings at most one partner that close (lambda · 2(gap + 1)),
/// 1 / (1 + ln(expected)) beyond. Fifteen accounts within seconds of each other stand out of a
/// post that thousands repost over hours; two of a hundred thousand posters of a slogan meeting
/// within a minute do not.
pub(crate) fn chance_credit(lambda: f64, gap: f64) -> f64 {
    let expected = lambda * 2.0 * (gap + 1.0);
    if expected <= 1.0 {
        1.0
    } else {
        1.0 / (1.0 + expected.ln())
    }
}

/// Keys with at least one posting whose credit passes `pred`.
fn keys_where(layout: &Layout, credit: &[f64], pred: impl Fn(f64) -> bool) -> usize {
    let mut n = 0;
    let mut p = 0usize;
    while p < layout.post.len() {
        let (_, ke) = layout.key_range[p];
        if credit[p..ke as usize].iter().any(|&c| pred(c)) {
            n += 1;
        }
        p = ke as usize;
    }
    n
}

/// Directed discounted co-share weights between distinct actors, all pairs (from, to, weight).
/// Postings grouped by actor ([`Layout::by_actor`]), and where each actor's run is.
pub(crate) struct ByActor {
    order: Vec<u32>,
    runs: Vec<std::ops::Range<usize>>,
    /// Per actor, its run's index in `runs`; `u32::MAX` for actors without postings.
    run_of: Vec<u32>,
}

impl ByActor {
    pub(crate) fn new(layout: &Layout, n_actors: usize) -> ByActor {
        let (order, runs) = layout.by_actor();
        let mut run_of = vec![u32::MAX; n_actors];
        for (i, r) in runs.iter().enumerate() {
            run_of[layout.actor[order[r.start] as usize] as usize] = i as u32;
        }
        ByActor {
            order,
            runs,
            run_of,
        }
    }

    /// The postings of these actors, in layout order (by key, then time).
    fn postings_of(&self, actors: impl Iterator<Item = u32>) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for a in actors {
            if let Some(r) = self
                .run_of
                .get(a as usize)
                .and_then(|&i| self.runs.get(i as usize))
            {
                out.extend(self.order[r.clone()].iter().map(|&p| p as usize));
            }
        }
        out.sort_unstable();
        out
    }
}

/// The undirected edges of weight ≥ [`EDGE_FLOOR`], sorted, and the number of co-sharing pairs.
///
/// Both directions of a pair are computed in the run of its smaller actor: a→b from a's posts
/// (each post's best-credited co-share with b), b→a from the posts of b that a's posts met
/// (each such post's best credit, judged from its own posting). Only the pairs that matter are
/// kept, so a key that a hundred thousand accounts copy, making tens of millions of weak pairs,
/// costs their count, not their memory.
fn discounted(
    layout: &Layout,
    by_actor: &ByActor,
    n_actors: usize,
    window: f64,
    credit: &[f64],
    rate: &[f32],
    quiet: &[bool],
) -> (Vec<UEdge>, usize) {
    let (order, runs) = (&by_actor.order, &by_actor.runs);
    let credit_at = |p: usize, j: usize| {
        credit[p].min(chance_credit(
            f64::from(rate[p]),
            (layout.time[j] - layout.time[p]).abs(),
        ))
    };
    let idents = layout.ident.iter().max().map_or(0, |&m| m as usize + 1);
    let per_chunk: Vec<(Vec<UEdge>, usize)> = runs
        .par_chunks(64)
        .map_init(
            || {
                (
                    vec![[0.0f64; 4]; n_actors],
                    vec![u32::MAX; n_actors],
                    vec![[0.0f64; 2]; n_actors],
                    Vec::<u32>::new(),
                    // Per partner post (identity), its best credit against this actor's posts.
                    (vec![[0.0f32; 2]; idents], Vec::<u32>::new()),
                    vec![false; n_actors],
                )
            },
            |(acc, stamp, given, touched, (back_best, back_touched), listed), chunk| {
                // acc per partner: [a→b, a→b quiet, b→a, b→a quiet].
                let mut out = Vec::new();
                let mut pairs = 0usize;
                for run in chunk {
                    let me = layout.actor[order[run.start] as usize];
                    for &p in &order[run.clone()] {
                        let p = p as usize;
                        let id = layout.ident[p];
                        let w = layout.window(p, window);
                        // A burst denser than the cap is counted over the postings nearest in
                        // time: the work per posting is bounded, whatever the key's shape.
                        let w = w.start.max(p.saturating_sub(MAX_WINDOW_POSTINGS / 2))
                            ..w.end.min(p + MAX_WINDOW_POSTINGS / 2 + 1);
                        for j in w {
                            let o = layout.actor[j];
                            // Each pair is summed, both ways, in its smaller actor's run.
                            if o <= me {
                                continue;
                            }
                            let oi = o as usize;
                            if stamp[oi] != id {
                                stamp[oi] = id;
                                given[oi] = [0.0; 2];
                            }
                            if !listed[oi] {
                                listed[oi] = true;
                                touched.push(o);
                            }
                            // One co-share per (post, partner): the best-credited key counts.
                            let c = credit_at(p, j);
                            if c > given[oi][0] {
                                acc[oi][0] += c - given[oi][0];
                                given[oi][0] = c;
                            }
                            if quiet[p] && c > given[oi][1] {
                                acc[oi][1] += c - given[oi][1];
                                given[oi][1] = c;
                            }
                            // The partner's post, judged from its own posting.
                            let c = credit_at(j, p) as f32;
                            let best = &mut back_best[layout.ident[j] as usize];
                            if *best == [0.0; 2] {
                                back_touched.push(layout.ident[j]);
                            }
                            if c > best[0] {
                                acc[oi][2] += f64::from(c - best[0]);
                                best[0] = c;
                            }
                            if quiet[j] && c > best[1] {
                                acc[oi][3] += f64::from(c - best[1]);
                                best[1] = c;
                            }
                        }
                    }
                    touched.sort_unstable();
                    for &o in touched.iter() {
                        let oi = o as usize;
                        let [ab, abq, ba, baq] = acc[oi];
                        acc[oi] = [0.0; 4];
                        stamp[oi] = u32::MAX;
                        listed[oi] = false;
                        if ab + ba == 0.0 {
                            continue;
                        }
                        pairs += 1;
                        let weight = (ab + ba) / 2.0;
                        if weight < EDGE_FLOOR {
                            continue;
                        }
                        let hi = ab.max(ba);
                        out.push(UEdge {
                            a: me,
                            b: o,
                            weight,
                            a_to_b: ab,
                            b_to_a: ba,
                            symmetry: if hi > 0.0 { ab.min(ba) / hi } else { 0.0 },
                            quiet: (abq + baq) / 2.0,
                        });
                    }
                    touched.clear();
                    for &i in back_touched.iter() {
                        back_best[i as usize] = [0.0; 2];
                    }
                    back_touched.clear();
                }
                (out, pairs)
            },
        )
        .collect();
    let pairs = per_chunk.iter().map(|c| c.1).sum();
    let mut edges: Vec<UEdge> = per_chunk.into_iter().flat_map(|c| c.0).collect();
    edges.par_sort_unstable_by_key(|e| (e.a, e.b));
    (edges, pairs)
}

pub(crate) fn groups(
    input: &Input,
    layout: &Layout,
    by_actor: &ByActor,
    edges: &[UEdge],
    window: f64,
    params: &Params,
) -> Vec<Group> {
    let core_edges: Vec<(u32, u32, f64)> = edges
        .iter()
        .filter(|e| e.weight >= params.min_weight)
        .map(|e| (e.a, e.b, e.weight))
        .collect();
    let by_comm = communities(input.n_actors, &core_edges, params.resolution);
    // Neighbours for attachment by one full co-share: `quiet` where it was on a quiet posting
    // (or two co-shares on any). One co-share on a post that a crowd reposts all afternoon is
    // what a passer-by does too, so there the outsider must have met nearly the whole core.
    let mut neighbours: Vec<Vec<(u32, bool)>> = vec![Vec::new(); input.n_actors];
    for e in edges {
        if e.weight >= 0.99 {
            let quiet = e.quiet >= 0.99 || e.weight >= 1.99;
            neighbours[e.a as usize].push((e.b, quiet));
            neighbours[e.b as usize].push((e.a, quiet));
        }
    }
    // `shared`: per actor, the cores it is in; a link between two actors of one core is that
    // core's, and does not attach either of them to another.
    let attach = |core: &[u32], shared: &BTreeMap<u32, Vec<usize>>| -> Vec<u32> {
        let core_set: BTreeSet<u32> = core.iter().copied().collect();
        let together = |a: u32, b: u32| match (shared.get(&a), shared.get(&b)) {
            (Some(x), Some(y)) => x.iter().any(|c| y.contains(c)),
            _ => false,
        };
        // A core that shares accounts with another attaches through its own accounts only: the
        // other group's periphery meets the shared ones in the other group's pushes.
        let own: Vec<u32> = core
            .iter()
            .copied()
            .filter(|m| shared.get(m).is_none_or(|c| c.len() <= 1))
            .collect();
        let through: &[u32] = if own.len() >= 3 && own.len() < core.len() {
            &own
        } else {
            core
        };
        let mut links: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
        for &m in through {
            for &(o, quiet) in &neighbours[m as usize] {
                if !core_set.contains(&o) && !together(m, o) {
                    let l = links.entry(o).or_default();
                    l.0 += 1;
                    l.1 += usize::from(quiet);
                }
            }
        }
        let need = (params.attach_share * through.len() as f64).max(3.0);
        let need_crowded = (CROWDED_ATTACH_SHARE * through.len() as f64).max(3.0);
        links
            .into_iter()
            .filter(|&(_, (any, quiet))| quiet as f64 >= need || any as f64 >= need_crowded)
            .map(|(o, _)| o)
            .filter(|&o| joins_pushes(layout, by_actor, window, &core_set, o))
            .collect()
    };
    // Louvain may cut one dense group in two; attachment then fills both halves back up. Cores
    // whose grown groups share half of the smaller one are one group.
    let mut cores: Vec<Vec<u32>> = by_comm
        .into_iter()
        .filter(|c| c.len() >= params.min_group)
        .collect();
    loop {
        let grown: Vec<BTreeSet<u32>> = cores
            .iter()
            .map(|c| {
                c.iter()
                    .copied()
                    .chain(attach(c, &BTreeMap::new()))
                    .collect()
            })
            .collect();
        let mut merged = None;
        'find: for i in 0..cores.len() {
            for j in i + 1..cores.len() {
                let common = grown[i].intersection(&grown[j]).count();
                if common * 2 >= grown[i].len().min(grown[j].len()) {
                    merged = Some((i, j));
                    break 'find;
                }
            }
        }
        let Some((i, j)) = merged else { break };
        let other = cores.remove(j);
        cores[i].extend(other);
        cores[i].sort_unstable();
    }
    // Operations that share accounts: a community whose keys fall into separate sets of
    // participants is split by them; shared accounts belong to each.
    let mut cores: Vec<Vec<u32>> = cores
        .into_iter()
        .flat_map(|core| split_by_pushes(layout, by_actor, window, &core, &core_edges, params))
        .collect();
    // Accounts shared by two operations may have formed a community of their own: a core within
    // another core is that, not a group.
    cores.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    let mut kept: Vec<Vec<u32>> = Vec::new();
    for c in cores {
        let set: BTreeSet<u32> = c.iter().copied().collect();
        if !kept
            .iter()
            .any(|k| set.iter().all(|m| k.binary_search(m).is_ok()))
        {
            kept.push(c);
        }
    }
    let cores = kept;
    let mut shared: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, c) in cores.iter().enumerate() {
        for &m in c {
            shared.entry(m).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for core in cores.iter() {
        let core_set: BTreeSet<u32> = core.iter().copied().collect();
        let attached = attach(core, &shared);
        let inner: Vec<&(u32, u32, f64)> = core_edges
            .iter()
            .filter(|(a, b, _)| core_set.contains(a) && core_set.contains(b))
            .collect();
        let possible = core.len() * (core.len() - 1) / 2;
        let density = inner.len() as f64 / possible.max(1) as f64;
        let mean_weight = inner.iter().map(|e| e.2).sum::<f64>() / inner.len().max(1) as f64;
        let mean_symmetry = {
            let sym: Vec<f64> = edges
                .iter()
                .filter(|e| {
                    e.weight >= params.min_weight
                        && core_set.contains(&e.a)
                        && core_set.contains(&e.b)
                })
                .map(|e| e.symmetry)
                .collect();
            sym.iter().sum::<f64>() / sym.len().max(1) as f64
        };
        let mut members: Vec<u32> = core.iter().chain(attached.iter()).copied().collect();
        members.sort_unstable();
        let mut g = Group {
            members,
            core: core.clone(),
            attached,
            edges: inner.len(),
            density,
            mean_weight,
            mean_symmetry,
            score: density * mean_weight / (mean_weight + 1.0),
            shared_keys: Vec::new(),
            evidence: Vec::new(),
            timeline: Vec::new(),
            first_seen: f64::INFINITY,
            first_post: 0,
            first_actor: 0,
        };
        evidence(input, layout, by_actor, window, &mut g);
        out.push(g);
    }
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.members.cmp(&b.members))
    });
    out
}

/// Whether an outsider's co-shares with a core are more than a passer-by's: it met the core on
/// two keys or more, or on one key inside the core's push there (its span, widened by two mean
/// gaps between the core's postings) where chance brings fewer than one outsider into that span.
/// A reposter of a popular post who lands inside one of a group's pushes meets every member
/// once, as a member who skipped the other pushes does; only where and when it posted tell them
/// apart.
fn joins_pushes(
    layout: &Layout,
    by_actor: &ByActor,
    window: f64,
    core: &BTreeSet<u32>,
    outsider: u32,
) -> bool {
    let bounded = |j: usize, span: f64| {
        let w = layout.window(j, span);
        w.start.max(j.saturating_sub(MAX_WINDOW_POSTINGS / 2))
            ..w.end.min(j + MAX_WINDOW_POSTINGS / 2 + 1)
    };
    let mut keys_met = 0usize;
    let mut last_key = u32::MAX;
    for j in by_actor.postings_of(std::iter::once(outsider)) {
        let k = layout.key_index[j];
        if k == last_key || !bounded(j, window).any(|q| core.contains(&layout.actor[q])) {
            continue;
        }
        keys_met += 1;
        last_key = k;
        if keys_met >= 2 {
            return true;
        }
        // The core's push on this key: its postings within three windows of the outsider's.
        let (mut lo, mut hi, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0usize);
        for q in bounded(j, 3.0 * window) {
            if core.contains(&layout.actor[q]) {
                lo = lo.min(layout.time[q]);
                hi = hi.max(layout.time[q]);
                n += 1;
            }
        }
        let margin = 2.0 * (hi - lo) / (n.max(2) - 1) as f64 + 2.0;
        let t = layout.time[j];
        if t < lo - margin || t > hi + margin {
            continue;
        }
        // Other actors per second on the key: over the hour around, and just outside the push
        // (a news crowd that peaks there is denser than its hour).
        let (from, to) = (lo - margin, hi + margin);
        let mut hour: BTreeSet<u32> = BTreeSet::new();
        let mut ring: BTreeSet<u32> = BTreeSet::new();
        for q in bounded(j, RATE_SPAN) {
            let a = layout.actor[q];
            if a == outsider || core.contains(&a) {
                continue;
            }
            hour.insert(a);
            let tq = layout.time[q];
            if (tq < from && tq >= from - CROWD_SPAN) || (tq > to && tq <= to + CROWD_SPAN) {
                ring.insert(a);
            }
        }
        let rate =
            (hour.len() as f64 / (2.0 * RATE_SPAN)).max(ring.len() as f64 / (2.0 * CROWD_SPAN));
        let expected = rate * (hi - lo + 2.0 * margin.min(window));
        if expected <= 1.0 {
            return true;
        }
    }
    false
}

/// Splits a core into the operations it holds: its keys (each with the core members that posted
/// it within the window of another) are joined when their participants overlap by Jaccard
/// ≥ [`SAME_OPERATION`]; sets of at least two keys and `min_group` members are operations. With
/// two or more, each becomes a core (a member may be in several), and a member in none joins the
/// one it has the most core edges into; otherwise the core stays whole.
fn split_by_pushes(
    layout: &Layout,
    by_actor: &ByActor,
    window: f64,
    core: &[u32],
    core_edges: &[(u32, u32, f64)],
    params: &Params,
) -> Vec<Vec<u32>> {
    let postings = by_actor.postings_of(core.iter().copied());
    // Per key (in layout order): the members that co-posted it.
    let mut keys: Vec<BTreeSet<u32>> = Vec::new();
    let mut start = 0usize;
    while start < postings.len() {
        let k = layout.key_index[postings[start]];
        let mut end = start;
        while end < postings.len() && layout.key_index[postings[end]] == k {
            end += 1;
        }
        let run = &postings[start..end];
        let mut who = BTreeSet::new();
        for (i, &p) in run.iter().enumerate() {
            let near = |&q: &usize| {
                layout.actor[q] != layout.actor[p]
                    && (layout.time[q] - layout.time[p]).abs() <= window
            };
            if run[..i].iter().rev().take(64).any(near) || run[i + 1..].iter().take(64).any(near) {
                who.insert(layout.actor[p]);
            }
        }
        if who.len() >= 2 {
            keys.push(who);
        }
        start = end;
    }
    let mut parent: Vec<usize> = (0..keys.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for i in 0..keys.len() {
        for j in i + 1..keys.len() {
            let common = keys[i].intersection(&keys[j]).count();
            let union = keys[i].len() + keys[j].len() - common;
            if common as f64 >= SAME_OPERATION * union as f64 {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut sets: BTreeMap<usize, (usize, BTreeSet<u32>)> = BTreeMap::new();
    for (i, who) in keys.iter().enumerate() {
        let root = find(&mut parent, i);
        let e = sets.entry(root).or_default();
        e.0 += 1;
        e.1.extend(who);
    }
    let mut ops: Vec<BTreeSet<u32>> = sets
        .into_values()
        .filter(|(n, who)| *n >= 2 && who.len() >= params.min_group)
        .map(|(_, who)| who)
        .collect();
    if ops.len() < 2 {
        return vec![core.to_vec()];
    }
    let core_set: BTreeSet<u32> = core.iter().copied().collect();
    // The core's own edges, by member, read once: a leftover member looks only at its own.
    let mut adjacent: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(a, b, _) in core_edges {
        if core_set.contains(&a) && core_set.contains(&b) {
            adjacent.entry(a).or_default().push(b);
            adjacent.entry(b).or_default().push(a);
        }
    }
    for &m in core {
        if ops.iter().any(|o| o.contains(&m)) {
            continue;
        }
        let mine = adjacent.get(&m).map_or(&[][..], Vec::as_slice);
        let into = |o: &BTreeSet<u32>| mine.iter().filter(|x| o.contains(x)).count();
        if let Some(best) = (0..ops.len()).max_by_key(|&i| (into(&ops[i]), usize::MAX - i)) {
            ops[best].insert(m);
        }
    }
    ops.into_iter()
        .map(|o| o.into_iter().filter(|m| core_set.contains(m)).collect())
        .collect()
}

/// Jaccard overlap of two keys' participants above which they are pushes of one operation.
const SAME_OPERATION: f64 = 0.4;

/// Louvain communities of each connected component of the core graph, each component on its own:
/// over the whole graph, modularity's null model ties the communities of unrelated components to
/// each other, and two groups that share a member merged. Returns member lists, sorted.
fn communities(n_actors: usize, core_edges: &[(u32, u32, f64)], resolution: f64) -> Vec<Vec<u32>> {
    let mut parent: Vec<u32> = (0..n_actors as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            parent[x as usize] = parent[parent[x as usize] as usize];
            x = parent[x as usize];
        }
        x
    }
    for &(a, b, _) in core_edges {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }
    let mut components: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut in_graph = vec![false; n_actors];
    for &(a, b, _) in core_edges {
        in_graph[a as usize] = true;
        in_graph[b as usize] = true;
    }
    for a in 0..n_actors as u32 {
        if in_graph[a as usize] {
            let r = find(&mut parent, a);
            components.entry(r).or_default().push(a);
        }
    }
    let mut edges_of: BTreeMap<u32, Vec<(u32, u32, f64)>> = BTreeMap::new();
    for &(a, b, w) in core_edges {
        let r = find(&mut parent, a);
        edges_of.entry(r).or_default().push((a, b, w));
    }
    let mut out = Vec::new();
    for (root, members) in components {
        let local: BTreeMap<u32, u32> = members
            .iter()
            .enumerate()
            .map(|(i, &a)| (a, i as u32))
            .collect();
        let edges: Vec<(u32, u32, f64)> = edges_of
            .get(&root)
            .map(|es| {
                es.iter()
                    .map(|&(a, b, w)| (local[&a], local[&b], w))
                    .collect()
            })
            .unwrap_or_default();
        let labels = louvain(members.len(), &edges, resolution);
        let mut by_label: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (i, &l) in labels.iter().enumerate() {
            by_label.entry(l).or_default().push(members[i]);
        }
        out.extend(by_label.into_values());
    }
    out
}

/// Fills a group's shared keys, evidence, timeline and first appearance from the postings of its
/// members.
fn evidence(input: &Input, layout: &Layout, by_actor: &ByActor, window: f64, g: &mut Group) {
    const MAX_EVIDENCE: usize = 200;
    const MAX_KEYS: usize = 50;
    let mut keys: Vec<SharedKey> = Vec::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut hours: BTreeMap<i64, u32> = BTreeMap::new();
    // Only the members' postings are read, key by key: the work is the group's, not the
    // collection's.
    let postings = by_actor.postings_of(g.members.iter().copied());
    let mut start = 0usize;
    while start < postings.len() {
        let k = layout.key_index[postings[start]];
        let mut end = start + 1;
        while end < postings.len() && layout.key_index[postings[end]] == k {
            end += 1;
        }
        let mine = &postings[start..end];
        start = end;
        if mine.len() < 2 {
            continue;
        }
        let mut in_share: BTreeSet<usize> = BTreeSet::new();
        for (x, &i) in mine.iter().enumerate() {
            for &j in mine[x + 1..].iter().take(MAX_WINDOW_POSTINGS / 2) {
                let delta = layout.time[j] - layout.time[i];
                if delta > window {
                    break;
                }
                if layout.actor[i] == layout.actor[j] {
                    continue;
                }
                in_share.insert(i);
                in_share.insert(j);
                if evidence.len() < MAX_EVIDENCE {
                    let info = input.keys.get(&layout.keys[layout.key_index[i] as usize]);
                    evidence.push(Evidence {
                        kind: info.map_or(KeyKind::Link, |k| k.kind),
                        key: info.map_or_else(String::new, |k| k.label.clone()),
                        actor_a: layout.actor[i],
                        post_a: layout.post[i],
                        time_a: layout.time[i],
                        actor_b: layout.actor[j],
                        post_b: layout.post[j],
                        time_b: layout.time[j],
                        delta_s: delta,
                    });
                }
            }
        }
        if in_share.is_empty() {
            continue;
        }
        let actors: BTreeSet<u32> = in_share.iter().map(|&i| layout.actor[i]).collect();
        let first = in_share
            .iter()
            .map(|&i| layout.time[i])
            .fold(f64::INFINITY, f64::min);
        let last = in_share
            .iter()
            .map(|&i| layout.time[i])
            .fold(f64::NEG_INFINITY, f64::max);
        for &i in &in_share {
            *hours
                .entry((layout.time[i] / 3600.0).floor() as i64 * 3600)
                .or_default() += 1;
            if layout.time[i] < g.first_seen
                || (layout.time[i] == g.first_seen && layout.post[i] < g.first_post)
            {
                g.first_seen = layout.time[i];
                g.first_post = layout.post[i];
                g.first_actor = layout.actor[i];
            }
        }
        let info = input
            .keys
            .get(&layout.keys[layout.key_index[mine[0]] as usize]);
        keys.push(SharedKey {
            kind: info.map_or(KeyKind::Link, |k| k.kind),
            key: info.map_or_else(String::new, |k| k.label.clone()),
            members: actors.len(),
            posts: in_share.len(),
            first,
            spread_s: last - first,
        });
    }
    keys.sort_by(|a, b| {
        b.members
            .cmp(&a.members)
            .then_with(|| a.first.total_cmp(&b.first))
            .then_with(|| a.key.cmp(&b.key))
    });
    keys.truncate(MAX_KEYS);
    evidence.sort_by(|a, b| {
        a.time_a
            .total_cmp(&b.time_a)
            .then_with(|| a.post_a.cmp(&b.post_a))
    });
    g.shared_keys = keys;
    g.evidence = evidence;
    g.timeline = hours.into_iter().collect();
    if !g.first_seen.is_finite() {
        g.first_seen = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coord::key_hash;

    /// Three actors pushing the same links within seconds, three times; a fourth joins one push;
    /// around each push a viral link (a different one each time) shared by sixty of six hundred
    /// other accounts, five seconds apart.
    fn planted() -> Input {
        let mut actor = Vec::new();
        let mut time = Vec::new();
        let mut postings = Vec::new();
        let mut keys = rustc_hash::FxHashMap::default();
        let mut add = |a: u32, t: f64, key: &str, actor: &mut Vec<u32>, time: &mut Vec<f64>| {
            let p = actor.len() as u32;
            actor.push(a);
            time.push(t);
            let k = key_hash("link", key.as_bytes());
            postings.push((k, p));
            keys.insert(
                k,
                KeyInfo {
                    kind: KeyKind::Link,
                    label: key.into(),
                },
            );
        };
        for push in 0..3 {
            let t0 = 10_000.0 * f64::from(push);
            for a in 0..4u32 {
                if a == 3 && push > 0 {
                    continue;
                }
                add(
                    a,
                    t0 + f64::from(a),
                    &format!("https://x.example/{push}"),
                    &mut actor,
                    &mut time,
                );
            }
            for o in 0..60u32 {
                // A fixed permutation of the 120 accounts per push: sharers and order change.
                let who = (o * [7, 11, 13][push as usize] + push * 37) % 600;
                add(
                    10 + who,
                    t0 + 5.0 * f64::from(o),
                    &format!("https://news.example/big/{push}"),
                    &mut actor,
                    &mut time,
                );
            }
        }
        Input {
            actor,
            time,
            n_actors: 610,
            postings,
            keys,
        }
    }

    #[test]
    fn finds_the_pushing_group_and_not_the_viral_crowd() {
        let net = build(&planted(), &Params::default());
        assert_eq!(
            net.groups.len(),
            1,
            "{:?} {:?} {:?}",
            net.groups,
            net.window_estimate,
            &net.edges[..net.edges.len().min(8)]
        );
        let g = &net.groups[0];
        assert_eq!(g.core, vec![0, 1, 2]);
        assert_eq!(g.attached, vec![3]);
        assert_eq!(g.shared_keys.len(), 3);
        assert_eq!(g.first_actor, 0);
        // Within a minute of a share, 25 of the crowd share the link: discounted there.
        let net = build(
            &planted(),
            &Params {
                window: Window::Seconds(60.0),
                ..Params::default()
            },
        );
        assert_eq!(net.groups.len(), 1);
        assert_eq!(net.groups[0].core, vec![0, 1, 2]);
        assert_eq!(net.keys_discounted, 3);
    }

    /// Postings on one key kind, built up push by push.
    #[derive(Default)]
    struct Feed {
        actor: Vec<u32>,
        time: Vec<f64>,
        postings: Vec<(u128, u32)>,
        keys: rustc_hash::FxHashMap<u128, KeyInfo>,
    }

    impl Feed {
        fn post(&mut self, a: u32, t: f64, kind: KeyKind, key: &str) {
            let k = key_hash(kind.name(), key.as_bytes());
            self.keys.insert(
                k,
                KeyInfo {
                    kind,
                    label: key.into(),
                },
            );
            self.postings.push((k, self.actor.len() as u32));
            self.actor.push(a);
            self.time.push(t);
        }

        fn build(self, n_actors: usize) -> Network {
            let input = Input {
                actor: self.actor,
                time: self.time,
                n_actors,
                postings: self.postings,
                keys: self.keys,
            };
            build(
                &input,
                &Params {
                    window: Window::Seconds(60.0),
                    ..Params::default()
                },
            )
        }
    }

    #[test]
    fn fifteen_retweeting_a_post_thousands_retweet_stand_out() {
        // Five posts, each retweeted by 2,000 of 20,000 accounts over two hours; each time the
        // same fifteen retweet it within twenty seconds of each other.
        let mut p = Feed::default();
        let mut x: u64 = 7;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for push in 0..5u32 {
            let key = format!("{push}");
            let t0 = 100_000.0 * f64::from(push);
            for _ in 0..2_000 {
                let a = 100 + (next() % 20_000) as u32;
                p.post(a, t0 + (next() % 7_200) as f64, KeyKind::Repost, &key);
            }
            for a in 0..15u32 {
                p.post(
                    a,
                    t0 + 3_600.0 + f64::from((a * 7) % 20),
                    KeyKind::Repost,
                    &key,
                );
            }
        }
        let net = p.build(20_100);
        let found: Vec<&Group> = net
            .groups
            .iter()
            .filter(|g| g.members.contains(&0))
            .collect();
        assert_eq!(found.len(), 1, "{:?}", net.groups);
        assert_eq!(found[0].members, (0..15).collect::<Vec<u32>>());
        // Nobody else is grouped: 2,000 retweeters a post, five posts, chance meetings repeat
        // rarely and are worth little.
        assert_eq!(net.groups.len(), 1, "{:?}", net.groups);
    }

    #[test]
    fn a_passer_by_inside_one_push_is_not_attached() {
        // Six accounts push three posts: two of their own, and between them a post that others
        // repost all the time (144 in the two hours around it, one every 50 s). A seventh member
        // joins only the first push; a passer-by reposts the popular post in the middle of the
        // push, meeting every member once, as the seventh does.
        let mut p = Feed::default();
        let push = |p: &mut Feed, t0: f64, key: &str, extra: Option<u32>| {
            for a in 0..6u32 {
                p.post(a, t0 + 8.0 * f64::from(a), KeyKind::Repost, key);
            }
            if let Some(x) = extra {
                p.post(x, t0 + 20.0, KeyKind::Repost, key);
            }
        };
        push(&mut p, 10_000.0, "own-a", Some(6));
        push(&mut p, 50_000.0, "popular", Some(100));
        for i in 0..144u32 {
            p.post(
                200 + i,
                50_000.0 - 3_600.0 + 50.0 * f64::from(i) + 7.0,
                KeyKind::Repost,
                "popular",
            );
        }
        push(&mut p, 90_000.0, "own-c", None);
        let net = p.build(400);
        assert_eq!(net.groups.len(), 1, "{:?}", net.groups);
        assert_eq!(net.groups[0].core, (0..6).collect::<Vec<u32>>());
        assert_eq!(net.groups[0].attached, vec![6], "{:?}", net.groups[0]);
    }

    #[test]
    fn a_breaking_news_crowd_is_not_a_group() {
        // 150 unrelated accounts share one link within ten minutes.
        let mut p = Feed::default();
        for a in 0..150u32 {
            p.post(
                a,
                f64::from(a) * 4.0,
                KeyKind::Link,
                "https://news.example/breaking",
            );
        }
        let net = p.build(150);
        assert!(net.groups.is_empty(), "{:?}", net.groups);
        assert_eq!(net.keys_discounted, 1);
    }

    #[test]
    fn operations_sharing_accounts_stay_two_groups() {
        // Ten accounts push four links; six accounts, two of them also in the ten, push three
        // others; hours apart.
        let mut p = Feed::default();
        let push = |p: &mut Feed, members: &[u32], t0: f64, key: &str| {
            for (i, &a) in members.iter().enumerate() {
                p.post(a, t0 + 3.0 * i as f64, KeyKind::Link, key);
            }
        };
        let a: Vec<u32> = (0..10).collect();
        let b: Vec<u32> = vec![8, 9, 11, 12, 13, 14];
        for i in 0..4 {
            let key = format!("https://a.example/{i}");
            push(&mut p, &a, 10_000.0 * f64::from(i), &key);
        }
        for i in 0..3 {
            let key = format!("https://b.example/{i}");
            push(&mut p, &b, 5_000.0 + 10_000.0 * f64::from(i), &key);
        }
        let net = p.build(15);
        let mut got: Vec<Vec<u32>> = net.groups.iter().map(|g| g.members.clone()).collect();
        got.sort();
        assert_eq!(got, vec![a, b], "{:?}", net.groups);
    }

    #[test]
    fn popularity_is_judged_around_the_co_share() {
        // A slogan 120 accounts post over two weeks, one at a time; five times, the same fifteen
        // post it within twenty seconds of each other.
        let mut p = Feed::default();
        for o in 0..120u32 {
            p.post(
                100 + o,
                5_000.0 * f64::from(o) + 777.0,
                KeyKind::Text,
                "slogan",
            );
        }
        for push in 0..5u32 {
            let t0 = 100_000.0 * f64::from(push) + 50_000.0;
            for a in 0..15u32 {
                p.post(a, t0 + f64::from((a * 7) % 20), KeyKind::Text, "slogan");
            }
        }
        let net = p.build(220);
        assert_eq!(net.groups.len(), 1, "{:?}", net.groups);
        assert_eq!(net.groups[0].members, (0..15).collect::<Vec<u32>>());
        assert_eq!(net.keys_discounted, 0);
    }

    #[test]
    fn window_estimate_stops_where_pushes_end() {
        let input = planted();
        let posts = Posts {
            actor: &input.actor,
            time: &input.time,
            n_actors: input.n_actors,
        };
        let layout = Layout::new(posts, None, input.postings.clone());
        let actors = actors_per_key(&layout, input.n_actors);
        let e = estimate_window(&layout, &actors);
        assert_eq!(e.seconds, 3.0, "{e:?}");
    }
}
