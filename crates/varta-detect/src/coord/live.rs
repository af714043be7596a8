//! Coordination over a sliding window, brought up to date batch by batch.
//!
//! The own network ([`super::network`]) is a function of the posts in its window; re-running it
//! over a day of posts for every batch of a few hundred would cost the day each time. This keeps
//! what the network is made of and changes only what a batch can change:
//!
//! - **Postings** per key, sorted by time, each with its credit, chance rate and quiet flag (the
//!   crowds around it). A posting entering or leaving a key changes the crowds of that key's
//!   postings within an hour of it (the widest span a crowd is counted over).
//! - **Contributions.** A post's best-credited co-share with each partner actor, kept with the
//!   post (12 bytes a partner) so that recomputing it takes back exactly what it added. Pair sums
//!   are fixed-point (2⁻³¹ units): adding and taking away leaves no drift, and whole co-shares stay
//!   whole numbers at the `min_weight` threshold.
//! - **Per batch**, a new post's contribution is computed whole, and each partner within the
//!   window has its best with the new post's actor raised where the new posting beats it: the
//!   co-shares a batch brings count at once, at the cost of the new postings' windows. What moves
//!   slowly waits for the next flush (every [`FLUSH_S`] of the clock): posts whose crowds moved by
//!   more than a tenth since their contribution was computed, and the partners of postings that
//!   left. Following every move at once would recompute a crowded key's hour for each posting on
//!   it, which grows with the square of the key's rate. [`Live::flush`] recomputes every move.
//! - **Text keys** come from a sliding near-duplicate index ([`crate::neardup::live`]) at the
//!   batch collector's thresholds; a cluster becomes a key once it has two texts, and when
//!   clusters join, the smaller's postings move into the larger (union by size: each posting moves
//!   O(log n) times). Clusters are not split when texts leave the window. The index holds the
//!   texts of the last two hours (two crowd reaches, if the window is wider): postings further
//!   apart share no co-share and no crowd, so older texts would only link near-duplicates through
//!   a text hours away (which the batch collector does: its clusters are transitive over the
//!   whole window) at the cost of their shingles and band keys for the whole window.
//! - **Keys of one posting** (most links, reposts, forwards) are kept as their hash and post
//!   only, and made keys when a second posting comes: alone they have no co-share and no crowd.
//! - **Groups.** Everything [`super::network`]'s group step reads about a group lies in one
//!   *unit*: a connected component of the kept edges (weight ≥ [`EDGE_FLOOR`]) that touch an
//!   actor with a core-strength edge (≥ `min_weight`). Louvain runs per component of the core
//!   graph, attachment reads a core member's neighbours, merges and splits need shared members;
//!   an edge between two actors in no core is read by none of them (and over a day such weak
//!   edges link most actors of a busy stream into one component). So only the units holding an
//!   actor whose edges or postings changed are grouped again, by the batch network's own step,
//!   over the postings of their keys.
//!
//! With the same posts and the window fixed, after [`Live::flush`] the groups are the batch
//! network's (the tests check it against [`super::network::build`]); the window `auto` estimates is taken from the last full
//! run by the caller. A group is handed out when it first appears and each time its co-shared
//! posts double.

use super::collect::{actor_of, exact_keys, snippet, text_of, time_of};
use super::finding::GroupFinding;
use super::network::{
    self, ByActor, CROWD_SPAN, EDGE_FLOOR, Input, KeyInfo, KeyKind, MAX_WINDOW_POSTINGS, Params,
    QUIET_RATIO, RATE_SPAN, UEdge, chance_credit, credit_of,
};
use super::{Layout, Posts, key_hash, ordered_bits};
use crate::neardup::live::Live as Texts;
use crate::neardup::{Copies, Shingles};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet};
use varta_core::Document;

/// Fixed-point unit of pair sums.
const UNIT: f64 = (1u64 << 31) as f64;

/// A credit (in [0, 1]) in fixed point: 12 bytes a partner is what a post's contribution costs.
fn fixed(x: f64) -> u32 {
    (x.clamp(0.0, 1.0) * UNIT).round() as u32
}

/// A posting's standing on its key: what a co-share from it is worth.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Attr {
    credit: f64,
    rate: f32,
    quiet: bool,
}

/// A post in the window.
struct Post {
    doc: Box<str>,
    actor: u32,
    time: f64,
    keys: Vec<u32>,
    text: Option<u32>,
    contrib: Contribution,
}

/// Per partner actor: best credit and best quiet credit, fixed-point, sorted by partner.
type Contribution = Vec<(u32, u32, u32)>;

/// A key and its postings, sorted by (time, post).
struct Key {
    hash: u128,
    info: KeyInfo,
    /// (time, post, actor).
    at: Vec<(f64, u32, u32)>,
    /// Per posting: its standing now, and the one its post's contribution was computed with.
    attr: Vec<(Attr, Attr)>,
    /// For a text cluster: its texts, and the first of them (which names it).
    texts: Vec<u32>,
    first_text: u32,
}

/// Both directions of a pair (lo, hi), fixed-point, and the posts contributing.
#[derive(Clone, Copy, Default)]
struct PairSum {
    lo_hi: i64,
    lo_hi_quiet: i64,
    hi_lo: i64,
    hi_lo_quiet: i64,
    posts: u32,
}

impl PairSum {
    fn weight(&self) -> f64 {
        (self.lo_hi + self.hi_lo) as f64 / UNIT / 2.0
    }
}

/// A group held, with its members' actor numbers.
struct Held {
    members: Vec<u32>,
    finding: GroupFinding,
}

/// The live network.
pub struct Live {
    params: Params,
    window: f64,
    keep: f64,
    actor_ids: FxHashMap<String, u32>,
    actor_names: Vec<String>,
    posts: FxHashMap<u32, Post>,
    next_post: u32,
    by_time: BTreeSet<(u64, u32)>,
    by_actor: FxHashMap<u32, BTreeSet<u32>>,
    keys: FxHashMap<u32, Key>,
    /// Exact keys with one posting so far: (hash, post). Most links and reposts are never
    /// shared; a key of one posting has no co-share and no crowd, so it is made a [`Key`] only
    /// when a second posting comes (a `Key` costs some 400 bytes, this 50).
    singles: FxHashMap<u32, (u128, u32)>,
    key_of_hash: FxHashMap<u128, u32>,
    next_key: u32,
    texts: Texts,
    text_post: FxHashMap<u32, u32>,
    cluster_of: BTreeMap<u32, u32>,
    pairs: FxHashMap<(u32, u32), PairSum>,
    adj: FxHashMap<u32, FxHashSet<u32>>,
    /// Per actor, its edges strong enough for a core (weight ≥ `min_weight` and ≥ the floor);
    /// actors without one are in no core and only ever attached.
    core_deg: FxHashMap<u32, u32>,
    groups: FxHashMap<String, Held>,
    groups_of: FxHashMap<u32, Vec<String>>,
    handed: FxHashMap<String, u64>,
    // What the batch being pushed changed: times of postings in or out per key (their crowds
    // change), postings in (their partners gain a co-share), times of postings out (their
    // partners may lose one), posts to recompute now, actors whose groups may change.
    changes: FxHashMap<u32, Vec<f64>>,
    inserted: Vec<(u32, u32)>,
    removed: Vec<(u32, f64)>,
    dirty: FxHashSet<u32>,
    touched: FxHashSet<u32>,
    /// Posts whose contribution waits for the next flush: their crowds moved, or a partner
    /// posting left. Recomputing them per batch would cost a crowded key's hour times its window
    /// for every new posting on it.
    stale: FxHashSet<u32>,
    /// The clock at the last flush.
    flushed_at: f64,
}

/// How often (seconds of the network's clock) stale contributions are recomputed.
pub const FLUSH_S: f64 = 60.0;

impl Live {
    /// An empty network: co-shares within `window_s` seconds, posts kept `keep_s` seconds.
    pub fn new(params: Params, window_s: f64, keep_s: f64) -> Live {
        Live {
            params,
            window: window_s,
            keep: keep_s,
            actor_ids: FxHashMap::default(),
            actor_names: Vec::new(),
            posts: FxHashMap::default(),
            next_post: 0,
            by_time: BTreeSet::new(),
            by_actor: FxHashMap::default(),
            keys: FxHashMap::default(),
            singles: FxHashMap::default(),
            key_of_hash: FxHashMap::default(),
            next_key: 0,
            texts: Texts::with_containment(0.5, 0.9),
            text_post: FxHashMap::default(),
            cluster_of: BTreeMap::new(),
            pairs: FxHashMap::default(),
            adj: FxHashMap::default(),
            core_deg: FxHashMap::default(),
            groups: FxHashMap::default(),
            groups_of: FxHashMap::default(),
            handed: FxHashMap::default(),
            changes: FxHashMap::default(),
            inserted: Vec::new(),
            removed: Vec::new(),
            dirty: FxHashSet::default(),
            touched: FxHashSet::default(),
            stale: FxHashSet::default(),
            flushed_at: f64::MIN,
        }
    }

    /// The window co-shares are counted in, seconds.
    pub fn window(&self) -> f64 {
        self.window
    }

    /// Posts held.
    pub fn len(&self) -> usize {
        self.posts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.posts.is_empty()
    }

    /// Groups held.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Actor names, by the numbers [`Live::edges`] uses.
    pub fn actor_names(&self) -> &[String] {
        &self.actor_names
    }

    /// The groups held, best first (score, then members).
    pub fn groups(&self) -> Vec<&GroupFinding> {
        let mut out: Vec<&Held> = self.groups.values().collect();
        out.sort_by(|a, b| {
            b.finding
                .score
                .total_cmp(&a.finding.score)
                .then_with(|| a.members.cmp(&b.members))
        });
        out.into_iter().map(|h| &h.finding).collect()
    }

    /// Pairs of actors with a kept edge (weight ≥ [`EDGE_FLOOR`]), sorted.
    pub fn edges(&self) -> Vec<UEdge> {
        let mut out: Vec<UEdge> = self
            .pairs
            .iter()
            .filter(|(_, s)| s.weight() >= EDGE_FLOOR)
            .map(|(&(a, b), s)| uedge(a, b, s))
            .collect();
        out.sort_by_key(|e| (e.a, e.b));
        out
    }

    /// Recomputes the contributions waiting since the last flush ([`FLUSH_S`]) and regroups:
    /// afterwards the network is exactly the batch network over the posts held. Returns the
    /// groups to hand out.
    pub fn flush(&mut self) -> Vec<GroupFinding> {
        for key in self.keys.values() {
            for (x, (now, used)) in key.at.iter().zip(&key.attr) {
                if now != used && (now.credit > 0.0 || used.credit > 0.0) {
                    self.stale.insert(x.1);
                }
            }
        }
        self.settle(true)
    }

    /// Adds a batch of documents; posts older than `now_s` minus the time kept leave first.
    /// Co-shares the batch brings count at once; changes of credit on crowded keys and co-shares
    /// lost with posts that left count at the next flush, at most [`FLUSH_S`] of the clock later.
    /// Returns the groups that appeared or whose co-shared posts doubled.
    pub fn push(&mut self, docs: Vec<Document>, now_s: f64) -> Vec<GroupFinding> {
        let cutoff = now_s - self.keep;
        let now_ms = (now_s * 1000.0) as i64;
        // Texts are compared with those of the last two reaches (two hours at least): two
        // postings further apart share no co-share and no crowd, so a day of shingles and band
        // keys would only link near-duplicates through texts hours away.
        let texts_ms = (self.keep.min(2.0 * self.reach()) * 1000.0) as i64;
        let old_base = self.texts.base();
        let base = self.texts.roll(now_ms, (texts_ms / 10).max(1), texts_ms);
        self.cluster_of = self.cluster_of.split_off(&base);
        for t in old_base..base {
            self.text_post.remove(&t);
        }
        while let Some(&(bits, p)) = self.by_time.first() {
            if self.posts.get(&p).is_some_and(|x| x.time >= cutoff) {
                break;
            }
            self.by_time.remove(&(bits, p));
            self.remove_post(p);
        }
        let mut shingles = Vec::new();
        let mut new_texts: Vec<u32> = Vec::new();
        for doc in docs {
            let time = time_of(&doc);
            if time < cutoff {
                continue;
            }
            let post = self.add_post(&doc, time);
            if let Some(t) = text_of(&doc) {
                shingles.push(t.to_string());
                new_texts.push(post);
            }
        }
        if !shingles.is_empty() {
            let sets: Vec<Shingles> = shingles.par_iter().map(|t| Shingles::of_text(t)).collect();
            let first = self.texts.next();
            let pairs = self.texts.add_batch(&sets, now_ms);
            let mut label: FxHashMap<u32, String> = FxHashMap::default();
            for (i, (post, text)) in new_texts.iter().zip(&shingles).enumerate() {
                let t = first + i as u32;
                self.text_post.insert(t, *post);
                if let Some(p) = self.posts.get_mut(post) {
                    p.text = Some(t);
                }
                label.insert(t, snippet(text));
            }
            for t in first..self.texts.next() {
                let rep = self.texts.canonical_of(t);
                if rep != t {
                    self.join(rep, t, &label);
                }
            }
            for p in pairs {
                self.join(p.a, p.b, &label);
            }
        }
        let flush = now_s - self.flushed_at >= FLUSH_S;
        if flush {
            self.flushed_at = now_s;
        }
        self.settle(flush)
    }

    fn actor(&mut self, name: String) -> u32 {
        if let Some(&a) = self.actor_ids.get(&name) {
            return a;
        }
        let a = self.actor_names.len() as u32;
        self.actor_ids.insert(name.clone(), a);
        self.actor_names.push(name);
        a
    }

    fn add_post(&mut self, doc: &Document, time: f64) -> u32 {
        let actor = self.actor(actor_of(doc));
        let p = self.next_post;
        self.next_post += 1;
        // A post's repeated key counts once, as the batch layout dedups (key, post).
        let mut keys: Vec<(u128, KeyKind, Option<String>)> = Vec::new();
        let (known, made) = (&self.key_of_hash, &self.keys);
        exact_keys(doc, |kind, value, label| {
            let h = key_hash(kind.name(), value.as_bytes());
            if !keys.iter().any(|k| k.0 == h) {
                // A key's label is the same from any of its postings (the same value).
                let need = known.get(&h).is_none_or(|k| !made.contains_key(k));
                keys.push((h, kind, need.then(label)));
            }
        });
        self.posts.insert(
            p,
            Post {
                doc: doc.id.clone().into(),
                actor,
                time,
                keys: Vec::new(),
                text: None,
                contrib: Vec::new(),
            },
        );
        self.by_time.insert((ordered_bits(time), p));
        self.by_actor.entry(actor).or_default().insert(p);
        for (h, kind, label) in keys {
            match self.key_of_hash.get(&h) {
                Some(&k) if self.keys.contains_key(&k) => self.add_posting(k, p),
                Some(&k) => {
                    // The key's second posting: it becomes a key with its first, whose post is
                    // computed again with it.
                    let label = label.unwrap_or_default();
                    if let Some((_, first)) = self.singles.remove(&k) {
                        self.keys.insert(
                            k,
                            Key {
                                hash: h,
                                info: KeyInfo { kind, label },
                                at: Vec::new(),
                                attr: Vec::new(),
                                texts: Vec::new(),
                                first_text: u32::MAX,
                            },
                        );
                        self.add_posting_of_key(k, first);
                    }
                    self.add_posting(k, p);
                }
                None => {
                    let k = self.next_key;
                    self.next_key += 1;
                    self.singles.insert(k, (h, p));
                    self.key_of_hash.insert(h, k);
                    if let Some(post) = self.posts.get_mut(&p) {
                        post.keys.push(k);
                    }
                }
            }
        }
        self.dirty.insert(p);
        self.touched.insert(actor);
        p
    }

    fn new_key(&mut self, hash: u128, info: KeyInfo, first_text: u32) -> u32 {
        let k = self.next_key;
        self.next_key += 1;
        self.keys.insert(
            k,
            Key {
                hash,
                info,
                at: Vec::new(),
                attr: Vec::new(),
                texts: Vec::new(),
                first_text,
            },
        );
        k
    }

    fn add_posting(&mut self, k: u32, p: u32) {
        if self.add_posting_of_key(k, p)
            && let Some(post) = self.posts.get_mut(&p)
        {
            post.keys.push(k);
        }
    }

    /// Puts post `p` among key `k`'s postings (the post's own list of keys is the caller's).
    fn add_posting_of_key(&mut self, k: u32, p: u32) -> bool {
        let Some(post) = self.posts.get(&p) else {
            return false;
        };
        let Some(key) = self.keys.get_mut(&k) else {
            return false;
        };
        let entry = (post.time, p, post.actor);
        let at = key
            .at
            .partition_point(|x| x.0 < entry.0 || (x.0 == entry.0 && x.1 < entry.1));
        // Most keys keep two or three postings: growing by one until four saves the room a
        // doubling Vec would leave empty (48 bytes a posting).
        let n = key.at.len();
        if n == key.at.capacity() {
            let extra = if n < 4 { 1 } else { n };
            key.at.reserve_exact(extra);
            key.attr.reserve_exact(extra);
        }
        key.at.insert(at, entry);
        key.attr.insert(at, (Attr::default(), Attr::default()));
        self.changes.entry(k).or_default().push(entry.0);
        self.inserted.push((k, p));
        self.dirty.insert(p);
        true
    }

    fn remove_posting(&mut self, k: u32, p: u32, time: f64) {
        let Some(key) = self.keys.get_mut(&k) else {
            if let Some(&(h, q)) = self.singles.get(&k)
                && q == p
            {
                self.singles.remove(&k);
                if self.key_of_hash.get(&h) == Some(&k) {
                    self.key_of_hash.remove(&h);
                }
            }
            return;
        };
        if let Some(i) = position(&key.at, time, p) {
            key.at.remove(i);
            key.attr.remove(i);
        }
        self.changes.entry(k).or_default().push(time);
        self.removed.push((k, time));
        if key.at.is_empty()
            && let Some(key) = self.keys.remove(&k)
        {
            if self.key_of_hash.get(&key.hash) == Some(&k) {
                self.key_of_hash.remove(&key.hash);
            }
            for t in key.texts {
                if self.cluster_of.get(&t) == Some(&k) {
                    self.cluster_of.remove(&t);
                }
            }
        }
    }

    fn remove_post(&mut self, p: u32) {
        let Some(post) = self.posts.remove(&p) else {
            return;
        };
        self.by_time.remove(&(ordered_bits(post.time), p));
        if let Some(set) = self.by_actor.get_mut(&post.actor) {
            set.remove(&p);
            if set.is_empty() {
                self.by_actor.remove(&post.actor);
            }
        }
        for &k in &post.keys {
            self.remove_posting(k, p, post.time);
        }
        self.apply(post.actor, &post.contrib, -1);
        if let Some(t) = post.text {
            self.text_post.remove(&t);
        }
        self.dirty.remove(&p);
        self.stale.remove(&p);
        self.touched.insert(post.actor);
    }

    /// Puts texts `a` and `b` (near-duplicates) in one cluster key.
    fn join(&mut self, a: u32, b: u32, label: &FxHashMap<u32, String>) {
        match (
            self.cluster_of.get(&a).copied(),
            self.cluster_of.get(&b).copied(),
        ) {
            (None, None) => {
                if !self.text_post.contains_key(&a) && !self.text_post.contains_key(&b) {
                    return;
                }
                let first = a.min(b);
                let name = self
                    .text_post
                    .get(&first)
                    .or_else(|| self.text_post.get(&a.max(b)))
                    .and_then(|p| self.posts.get(p))
                    .map_or_else(String::new, |p| p.doc.to_string());
                let text_label = label
                    .get(&b)
                    .or_else(|| label.get(&a))
                    .cloned()
                    .unwrap_or_else(|| name.clone());
                let h = key_hash(KeyKind::Text.name(), name.as_bytes());
                let k = self.new_key(
                    h,
                    KeyInfo {
                        kind: KeyKind::Text,
                        label: text_label,
                    },
                    first,
                );
                self.add_text(k, a);
                self.add_text(k, b);
            }
            (Some(k), None) => self.add_text(k, b),
            (None, Some(k)) => self.add_text(k, a),
            (Some(ka), Some(kb)) if ka != kb => self.merge(ka, kb),
            _ => {}
        }
    }

    fn add_text(&mut self, k: u32, t: u32) {
        self.cluster_of.insert(t, k);
        if let Some(key) = self.keys.get_mut(&k) {
            key.texts.push(t);
        }
        if let Some(&p) = self.text_post.get(&t) {
            self.add_posting(k, p);
        }
    }

    /// Moves the smaller cluster's texts and postings into the larger.
    fn merge(&mut self, ka: u32, kb: u32) {
        let size = |k: u32| self.keys.get(&k).map_or(0, |x| x.texts.len());
        let (big, small) = if size(ka) >= size(kb) {
            (ka, kb)
        } else {
            (kb, ka)
        };
        let Some(gone) = self.keys.remove(&small) else {
            return;
        };
        if let Some(b) = self.keys.get_mut(&big)
            && gone.first_text < b.first_text
        {
            // The merged cluster is named by its first text, as the batch collector names it.
            b.hash = gone.hash;
            b.info = gone.info.clone();
            b.first_text = gone.first_text;
        }
        for &(time, _, _) in &gone.at {
            self.changes.entry(small).or_default().push(time);
        }
        for &(_, p, _) in &gone.at {
            if let Some(post) = self.posts.get_mut(&p) {
                post.keys.retain(|&k| k != small);
            }
            self.add_posting(big, p);
        }
        for t in gone.texts {
            if self.cluster_of.get(&t) == Some(&small) {
                self.cluster_of.insert(t, big);
            }
            if let Some(b) = self.keys.get_mut(&big) {
                b.texts.push(t);
            }
        }
    }

    /// Adds (`sign` 1) or takes away (-1) a post's contributions from the pair sums.
    fn apply(&mut self, me: u32, contrib: &[(u32, u32, u32)], sign: i64) {
        for &(o, c, q) in contrib {
            self.apply_one(me, o, sign * i64::from(c), sign * i64::from(q), sign as i32);
        }
    }

    /// Adds `c`, `q` to the sums of `me`'s side of the pair with `o`, `posts` to its post count.
    fn apply_one(&mut self, me: u32, o: u32, c: i64, q: i64, posts: i32) {
        {
            let (lo, hi) = (me.min(o), me.max(o));
            let core = self.core_floor();
            let s = self.pairs.entry((lo, hi)).or_default();
            let was_core = s.posts > 0 && s.weight() >= core;
            if me == lo {
                s.lo_hi += c;
                s.lo_hi_quiet += q;
            } else {
                s.hi_lo += c;
                s.hi_lo_quiet += q;
            }
            s.posts = s.posts.wrapping_add_signed(posts);
            let (weight, empty) = (s.weight(), s.posts == 0);
            if empty {
                self.pairs.remove(&(lo, hi));
            }
            let kept = !empty && weight >= EDGE_FLOOR;
            let is_core = !empty && weight >= core;
            if is_core != was_core {
                for x in [lo, hi] {
                    if is_core {
                        *self.core_deg.entry(x).or_default() += 1;
                    } else if let Some(d) = self.core_deg.get_mut(&x) {
                        *d = d.saturating_sub(1);
                        if *d == 0 {
                            self.core_deg.remove(&x);
                        }
                    }
                }
            }
            if kept {
                self.adj.entry(lo).or_default().insert(hi);
                self.adj.entry(hi).or_default().insert(lo);
            } else {
                for (x, y) in [(lo, hi), (hi, lo)] {
                    if let Some(n) = self.adj.get_mut(&x) {
                        n.remove(&y);
                        if n.is_empty() {
                            self.adj.remove(&x);
                        }
                    }
                }
            }
            self.touched.insert(lo);
            self.touched.insert(hi);
        }
    }

    fn crowd_span(&self) -> f64 {
        (2.0 * self.window).max(CROWD_SPAN)
    }

    /// Weight from which an edge can hold a core together (what the group step's Louvain reads).
    fn core_floor(&self) -> f64 {
        self.params.min_weight.max(EDGE_FLOOR)
    }

    /// How far a posting's crowds reach.
    fn reach(&self) -> f64 {
        self.crowd_span().max(RATE_SPAN)
    }

    /// Recomputes what the batch changed (and, on `flush`, what waited) and regroups the
    /// components it touched.
    fn settle(&mut self, flush: bool) -> Vec<GroupFinding> {
        let changes = std::mem::take(&mut self.changes);
        let crowd_span = self.crowd_span();
        let reach = self.reach();
        for (k, mut times) in changes {
            let Some(key) = self.keys.get_mut(&k) else {
                continue;
            };
            times.sort_unstable_by(f64::total_cmp);
            for (lo, hi) in merged(&times, reach) {
                let (from, to) = (
                    key.at.partition_point(|x| x.0 < lo),
                    key.at.partition_point(|x| x.0 <= hi),
                );
                let crowd = crowds(&key.at, from..to, crowd_span);
                let hourly = crowds(&key.at, from..to, RATE_SPAN);
                for (i, (c, h)) in (from..to).zip(crowd.into_iter().zip(hourly)) {
                    let attr = Attr {
                        credit: credit_of(c, 2, &self.params),
                        rate: (f64::from(h.saturating_sub(1)) / (2.0 * RATE_SPAN)) as f32,
                        quiet: f64::from(h) <= QUIET_RATIO * f64::from(c),
                    };
                    let (old, used) = key.attr[i];
                    if attr != old {
                        key.attr[i].0 = attr;
                        if drifted(&attr, &used) {
                            self.stale.insert(key.at[i].1);
                        }
                        self.touched.insert(key.at[i].2);
                    }
                }
            }
        }
        // Partners of postings that left may have lost their best co-share with them.
        let mut removed = std::mem::take(&mut self.removed);
        removed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut at = 0;
        while at < removed.len() {
            let k = removed[at].0;
            let end = at + removed[at..].partition_point(|x| x.0 == k);
            let times: Vec<f64> = removed[at..end].iter().map(|x| x.1).collect();
            at = end;
            let Some(key) = self.keys.get(&k) else {
                continue;
            };
            for (lo, hi) in merged(&times, self.window) {
                let from = key.at.partition_point(|x| x.0 < lo);
                for &(_, p, _) in key.at[from..].iter().take_while(|x| x.0 <= hi) {
                    self.stale.insert(p);
                }
            }
        }
        // New posts (and posts with a new posting) are computed whole.
        let mut dirty: Vec<u32> = std::mem::take(&mut self.dirty).into_iter().collect();
        if flush {
            dirty.extend(self.stale.drain());
        }
        dirty.sort_unstable();
        dirty.dedup();
        let fresh: Vec<(u32, Contribution)> = dirty
            .par_iter()
            .filter_map(|&p| Some((p, self.contribution(p)?)))
            .collect();
        for (p, new) in fresh {
            let Some(post) = self.posts.get(&p) else {
                continue;
            };
            for k in &post.keys {
                if let Some(key) = self.keys.get_mut(k)
                    && let Some(i) = position(&key.at, post.time, p)
                {
                    key.attr[i].1 = key.attr[i].0;
                }
            }
            let Some(post) = self.posts.get_mut(&p) else {
                continue;
            };
            let old = std::mem::replace(&mut post.contrib, new.clone());
            let me = post.actor;
            if old != new {
                self.apply(me, &old, -1);
                self.apply(me, &new, 1);
            }
        }
        // The partners of a new posting gain a co-share with its actor: each one's best with
        // that actor is raised where this one beats it (what recomputing it whole would give,
        // its credit as it stands).
        let inserted = std::mem::take(&mut self.inserted);
        let computed: FxHashSet<u32> = dirty.into_iter().collect();
        for (k, p) in inserted {
            let Some(&Post {
                actor: who,
                time: t,
                ..
            }) = self.posts.get(&p)
            else {
                continue;
            };
            let Some(key) = self.keys.get(&k) else {
                continue;
            };
            let lo = key.at.partition_point(|x| x.0 < t - self.window);
            let hi = key.at.partition_point(|x| x.0 <= t + self.window);
            let mut raise: Vec<(u32, u32, u32, u32)> = Vec::new();
            for i in lo..hi {
                let (tq, q, me) = key.at[i];
                if me == who || computed.contains(&q) {
                    continue;
                }
                let a = key.attr[i].0;
                if a.credit == 0.0 {
                    continue;
                }
                // A posting whose window holds more than the cap counts its nearest partners
                // only; which those are changed, so it is recomputed whole.
                let wlo = key.at.partition_point(|x| x.0 < tq - self.window);
                let whi = key.at.partition_point(|x| x.0 <= tq + self.window);
                if whi - wlo > MAX_WINDOW_POSTINGS {
                    self.stale.insert(q);
                    continue;
                }
                let mut c = a
                    .credit
                    .min(chance_credit(f64::from(a.rate), (t - tq).abs()));
                let mut cq = if a.quiet { c } else { 0.0 };
                if me > who {
                    (c, cq) = (f64::from(c as f32), f64::from(cq as f32));
                }
                if c > 0.0 {
                    raise.push((q, me, fixed(c), fixed(cq)));
                }
            }
            for (q, me, c, cq) in raise {
                let Some(post) = self.posts.get_mut(&q) else {
                    continue;
                };
                let (dc, dq, dn) = match post.contrib.binary_search_by_key(&who, |x| x.0) {
                    Ok(j) => {
                        let e = &mut post.contrib[j];
                        let (nc, nq) = (e.1.max(c), e.2.max(cq));
                        let d = (i64::from(nc - e.1), i64::from(nq - e.2), 0);
                        (e.1, e.2) = (nc, nq);
                        d
                    }
                    Err(j) => {
                        post.contrib.insert(j, (who, c, cq));
                        (i64::from(c), i64::from(cq), 1)
                    }
                };
                if (dc, dq, dn) != (0, 0, 0) {
                    self.apply_one(me, who, dc, dq, dn);
                }
            }
        }
        self.regroup()
    }

    /// Post `p`'s best credit with each partner actor (see [`super::network`]'s `discounted`).
    fn contribution(&self, p: u32) -> Option<Contribution> {
        let post = self.posts.get(&p)?;
        let me = post.actor;
        let mut best: Vec<(u32, f64, f64)> = Vec::new();
        for k in &post.keys {
            let Some(key) = self.keys.get(k) else {
                continue;
            };
            let Some(i) = position(&key.at, post.time, p) else {
                continue;
            };
            let a = key.attr[i].0;
            if a.credit == 0.0 {
                continue;
            }
            let t = post.time;
            let lo = key.at.partition_point(|x| x.0 < t - self.window);
            let hi = key.at.partition_point(|x| x.0 <= t + self.window);
            let lo = lo.max(i.saturating_sub(MAX_WINDOW_POSTINGS / 2));
            let hi = hi.min(i + MAX_WINDOW_POSTINGS / 2 + 1);
            for &(tj, _, o) in &key.at[lo..hi] {
                if o == me {
                    continue;
                }
                let c = a
                    .credit
                    .min(chance_credit(f64::from(a.rate), (tj - t).abs()));
                best.push((o, c, if a.quiet { c } else { 0.0 }));
            }
        }
        best.sort_unstable_by_key(|x| x.0);
        let mut out: Contribution = Vec::new();
        let mut i = 0;
        while i < best.len() {
            let o = best[i].0;
            let (mut c, mut q) = (0.0f64, 0.0f64);
            while i < best.len() && best[i].0 == o {
                c = c.max(best[i].1);
                q = q.max(best[i].2);
                i += 1;
            }
            // The batch network sums the larger actor's side in single precision.
            if me > o {
                (c, q) = (f64::from(c as f32), f64::from(q as f32));
            }
            if c > 0.0 {
                out.push((o, fixed(c), fixed(q)));
            }
        }
        out.shrink_to_fit();
        Some(out)
    }

    /// Regroups the components of the kept-edge graph that hold a touched actor, and the groups
    /// they held; returns the groups to hand out.
    fn regroup(&mut self) -> Vec<GroupFinding> {
        let mut seeds: Vec<u32> = std::mem::take(&mut self.touched).into_iter().collect();
        seeds.sort_unstable();
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        let mut components: Vec<Vec<u32>> = Vec::new();
        let mut removed: BTreeSet<String> = BTreeSet::new();
        while !seeds.is_empty() {
            let mut more: Vec<u32> = Vec::new();
            for s in std::mem::take(&mut seeds) {
                if !seen.insert(s) {
                    continue;
                }
                for id in self.groups_of.get(&s).into_iter().flatten() {
                    if removed.insert(id.clone())
                        && let Some(h) = self.groups.get(id)
                    {
                        more.extend(h.members.iter().copied());
                    }
                }
                if !self.adj.contains_key(&s) {
                    continue;
                }
                let mut comp = vec![s];
                let mut at = 0;
                while at < comp.len() {
                    let x = comp[at];
                    at += 1;
                    let x_core = self.core_deg.contains_key(&x);
                    for &y in self.adj.get(&x).into_iter().flatten() {
                        // An edge between two actors that are in no core is read by nothing
                        // the group step does (attachment reads a core member's edges): it does
                        // not join units. Over a day, such edges would link most actors into
                        // one component, regrouped on every batch.
                        if !x_core && !self.core_deg.contains_key(&y) {
                            continue;
                        }
                        if seen.insert(y) {
                            comp.push(y);
                            for id in self.groups_of.get(&y).into_iter().flatten() {
                                if removed.insert(id.clone())
                                    && let Some(h) = self.groups.get(id)
                                {
                                    more.extend(h.members.iter().copied());
                                }
                            }
                        }
                    }
                }
                comp.sort_unstable();
                components.push(comp);
            }
            seeds = more;
        }
        let min = self.params.min_group.max(2);
        let found: Vec<Vec<(Vec<u32>, GroupFinding)>> = components
            .par_iter()
            .filter(|c| c.iter().filter(|a| self.core_deg.contains_key(a)).count() >= min)
            .map(|c| self.group_component(c))
            .collect();
        let mut out = Vec::new();
        let mut kept: FxHashSet<String> = FxHashSet::default();
        for id in &removed {
            if let Some(h) = self.groups.remove(id) {
                for m in h.members {
                    if let Some(ids) = self.groups_of.get_mut(&m) {
                        ids.retain(|x| x != id);
                        if ids.is_empty() {
                            self.groups_of.remove(&m);
                        }
                    }
                }
            }
        }
        for (members, finding) in found.into_iter().flatten() {
            let posts: u64 = finding.timeline.iter().map(|x| u64::from(x.1)).sum();
            let id = finding.id.clone();
            kept.insert(id.clone());
            let due = self.handed.get(&id).is_none_or(|&was| posts >= 2 * was);
            if due {
                self.handed.insert(id.clone(), posts.max(1));
                out.push(finding.clone());
            }
            for &m in &members {
                self.groups_of.entry(m).or_default().push(id.clone());
            }
            self.groups.insert(id, Held { members, finding });
        }
        for id in removed {
            if !kept.contains(&id) {
                self.handed.remove(&id);
            }
        }
        out
    }

    /// The batch network's groups of one component, over the postings of its actors' keys.
    fn group_component(&self, comp: &[u32]) -> Vec<(Vec<u32>, GroupFinding)> {
        let mut keys: BTreeSet<u32> = BTreeSet::new();
        for a in comp {
            for p in self.by_actor.get(a).into_iter().flatten() {
                if let Some(post) = self.posts.get(p) {
                    keys.extend(post.keys.iter().copied());
                }
            }
        }
        let mut posts: Vec<u32> = Vec::new();
        for k in &keys {
            if let Some(key) = self.keys.get(k) {
                posts.extend(key.at.iter().map(|x| x.1));
            }
        }
        posts.sort_unstable();
        posts.dedup();
        let mut actors: Vec<u32> = posts
            .iter()
            .filter_map(|p| self.posts.get(p).map(|x| x.actor))
            .chain(comp.iter().copied())
            .collect();
        actors.sort_unstable();
        actors.dedup();
        // Numbered as the batch network numbers them, by first post in the window: Louvain
        // visits nodes in that order.
        let mut order: Vec<(u32, u32)> = actors
            .iter()
            .map(|&a| {
                let first = self.by_actor.get(&a).and_then(|s| s.first().copied());
                (first.unwrap_or(u32::MAX), a)
            })
            .collect();
        order.sort_unstable();
        let local_of: FxHashMap<u32, u32> = order
            .iter()
            .enumerate()
            .map(|(i, &(_, a))| (a, i as u32))
            .collect();
        let actors: Vec<u32> = order.into_iter().map(|(_, a)| a).collect();
        let local_actor = |a: u32| local_of.get(&a).copied().unwrap_or(0);
        let local_post = |p: u32| posts.binary_search(&p).map_or(0, |i| i as u32);
        let mut actor = Vec::with_capacity(posts.len());
        let mut time = Vec::with_capacity(posts.len());
        let mut doc_ids = Vec::with_capacity(posts.len());
        for p in &posts {
            let Some(post) = self.posts.get(p) else {
                continue;
            };
            actor.push(local_actor(post.actor));
            time.push(post.time);
            doc_ids.push(post.doc.to_string());
        }
        let mut postings = Vec::new();
        let mut infos = FxHashMap::default();
        for k in &keys {
            if let Some(key) = self.keys.get(k) {
                infos.insert(key.hash, key.info.clone());
                postings.extend(key.at.iter().map(|x| (key.hash, local_post(x.1))));
            }
        }
        let input = Input {
            actor,
            time,
            n_actors: actors.len(),
            postings,
            keys: infos,
        };
        let layout = Layout::new(
            Posts {
                actor: &input.actor,
                time: &input.time,
                n_actors: input.n_actors,
            },
            None,
            input.postings.clone(),
        );
        let by_actor = ByActor::new(&layout, input.n_actors);
        let mut edges: Vec<UEdge> = Vec::new();
        for &a in comp {
            for &b in self.adj.get(&a).into_iter().flatten() {
                // Edges that leave the unit join two actors in no core: nothing reads them.
                if a < b
                    && comp.binary_search(&b).is_ok()
                    && let Some(s) = self.pairs.get(&(a, b))
                {
                    let (la, lb) = (local_actor(a), local_actor(b));
                    let e = uedge(la, lb, s);
                    // Stored from the lower global number's side; locally the lower is `a`.
                    edges.push(if la < lb {
                        e
                    } else {
                        UEdge {
                            a: lb,
                            b: la,
                            a_to_b: e.b_to_a,
                            b_to_a: e.a_to_b,
                            ..e
                        }
                    });
                }
            }
        }
        edges.sort_by_key(|e| (e.a, e.b));
        let names: Vec<String> = actors
            .iter()
            .map(|&a| self.actor_names[a as usize].clone())
            .collect();
        network::groups(
            &input,
            &layout,
            &by_actor,
            &edges,
            self.window,
            &self.params,
        )
        .into_iter()
        .map(|g| {
            let members = g.members.iter().map(|&m| actors[m as usize]).collect();
            let f = GroupFinding::new(&g, &names, &doc_ids, self.window, &self.params);
            (members, f)
        })
        .collect()
    }
}

/// The undirected edge of a pair from its sums.
fn uedge(a: u32, b: u32, s: &PairSum) -> UEdge {
    let ab = s.lo_hi as f64 / UNIT;
    let ba = s.hi_lo as f64 / UNIT;
    let hi = ab.max(ba);
    UEdge {
        a,
        b,
        weight: (ab + ba) / 2.0,
        a_to_b: ab,
        b_to_a: ba,
        symmetry: if hi > 0.0 { ab.min(ba) / hi } else { 0.0 },
        quiet: (s.lo_hi_quiet + s.hi_lo_quiet) as f64 / UNIT / 2.0,
    }
}

/// Where posting (time, post) is in a key's sorted postings.
fn position(at: &[(f64, u32, u32)], time: f64, p: u32) -> Option<usize> {
    let i = at.partition_point(|x| x.0 < time || (x.0 == time && x.1 < p));
    (at.get(i).is_some_and(|x| x.1 == p)).then_some(i)
}

/// Relative change of a posting's standing past which its post is recomputed at the next flush
/// within [`Live::push`]: a crowded key's crowds move with every posting on it, and following each
/// move would recompute the key's hour every minute. [`Live::flush`] recomputes every change.
const DRIFT: f64 = 0.1;

/// Whether a posting's standing moved far enough from the one its contribution used.
fn drifted(now: &Attr, used: &Attr) -> bool {
    let far = |a: f64, b: f64| (a - b).abs() > DRIFT * a.abs().max(b.abs());
    (now.credit > 0.0 || used.credit > 0.0)
        && ((now.credit == 0.0) != (used.credit == 0.0)
            || now.quiet != used.quiet
            || far(now.credit, used.credit)
            || far(f64::from(now.rate), f64::from(used.rate)))
}

/// Sorted times widened by `reach` either side, overlapping spans merged.
fn merged(times: &[f64], reach: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for &t in times {
        match out.last_mut() {
            Some(last) if t - reach <= last.1 => last.1 = last.1.max(t + reach),
            _ => out.push((t - reach, t + reach)),
        }
    }
    out
}

/// For each posting in `range`, the distinct actors on the key within ±`span` of it (its own
/// included), as [`super::network`] counts crowds.
fn crowds(at: &[(f64, u32, u32)], range: std::ops::Range<usize>, span: f64) -> Vec<u32> {
    let mut out = Vec::with_capacity(range.len());
    let Some(first) = at.get(range.start) else {
        return out;
    };
    let mut count: FxHashMap<u32, u32> = FxHashMap::default();
    let mut lo = at.partition_point(|x| x.0 < first.0 - span);
    let mut hi = lo;
    for i in range {
        let t = at[i].0;
        while hi < at.len() && at[hi].0 <= t + span {
            *count.entry(at[hi].2).or_insert(0) += 1;
            hi += 1;
        }
        while at[lo].0 < t - span {
            if let Some(c) = count.get_mut(&at[lo].2) {
                *c -= 1;
                if *c == 0 {
                    count.remove(&at[lo].2);
                }
            }
            lo += 1;
        }
        out.push(count.len() as u32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coord::collect::Collector;
    use crate::coord::network::Window;
    use chrono::DateTime;
    use proptest::prelude::*;
    use varta_core::Format;

    /// Kept edges (names, weight, quiet part) and groups' member names.
    type Seen = (Vec<(String, String, f64, f64)>, Vec<Vec<String>>);

    fn doc(id: usize, actor: u32, ms: i64, links: &[u32], text: &str) -> Document {
        let at = DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap();
        Document {
            id: format!("d{id}"),
            source: "x".into(),
            format: Format::Jsonl,
            actor_id: Some(format!("a{actor}")),
            native_id: None,
            url: None,
            canonical_url: None,
            title: None,
            author: None,
            text: text.into(),
            raw: None,
            language: "uk".into(),
            language_confidence: 1.0,
            published_at: Some(at),
            collected_at: at,
            links: links
                .iter()
                .map(|l| format!("https://l.example/{l}"))
                .collect(),
            hashtags: vec![],
            mentions: vec![],
            repost_of: None,
            forwarded_from: None,
            reply_to: None,
            content_hash: varta_core::content_hash(text),
        }
    }

    fn params(window: f64) -> Params {
        Params {
            window: Window::Seconds(window),
            ..Params::default()
        }
    }

    /// The batch network's kept edges by actor names, and its groups' member names.
    fn batch(docs: &[Document], window: f64) -> Seen {
        let mut c = Collector::new();
        for d in docs {
            c.push(d.clone());
        }
        let c = c.finish(&params(window));
        let name = |a: u32| c.actor_names[a as usize].clone();
        let mut edges: Vec<(String, String, f64, f64)> = c
            .network
            .edges
            .iter()
            .map(|e| (name(e.a), name(e.b), e.weight, e.quiet))
            .collect();
        edges.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut groups: Vec<Vec<String>> = c
            .network
            .groups
            .iter()
            .map(|g| {
                let mut m: Vec<String> = g.members.iter().map(|&a| name(a)).collect();
                m.sort();
                m
            })
            .collect();
        groups.sort();
        (edges, groups)
    }

    fn live_of(live: &Live) -> Seen {
        let names = live.actor_names();
        let mut edges: Vec<(String, String, f64, f64)> = live
            .edges()
            .iter()
            .map(|e| {
                let (a, b) = (names[e.a as usize].clone(), names[e.b as usize].clone());
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                (a, b, e.weight, e.quiet)
            })
            .collect();
        edges.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut groups: Vec<Vec<String>> = live
            .groups()
            .iter()
            .map(|g| {
                let mut m = g.members.clone();
                m.sort();
                m
            })
            .collect();
        groups.sort();
        (edges, groups)
    }

    fn same(live: Seen, batch: Seen) -> Result<(), TestCaseError> {
        let names = |e: &[(String, String, f64, f64)]| -> Vec<(String, String)> {
            e.iter()
                .map(|x| {
                    let (a, b) = if x.0 <= x.1 {
                        (&x.0, &x.1)
                    } else {
                        (&x.1, &x.0)
                    };
                    (a.clone(), b.clone())
                })
                .collect()
        };
        let mut want = batch.0.clone();
        for w in &mut want {
            if w.0 > w.1 {
                std::mem::swap(&mut w.0, &mut w.1);
            }
        }
        want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        prop_assert_eq!(names(&live.0), names(&want));
        for (l, b) in live.0.iter().zip(&want) {
            prop_assert!((l.2 - b.2).abs() < 1e-6, "{l:?} {b:?}");
            prop_assert!((l.3 - b.3).abs() < 1e-6, "{l:?} {b:?}");
        }
        prop_assert_eq!(live.1, batch.1);
        Ok(())
    }

    /// Pushes in pushes of the given sizes (cycled), with the clock at each batch's latest post.
    fn pushed(docs: &[Document], sizes: &[usize], window: f64, keep: f64) -> Live {
        let mut live = Live::new(params(window), window, keep);
        let mut at = 0;
        let mut i = 0;
        while at < docs.len() {
            let n = sizes[i % sizes.len()].max(1).min(docs.len() - at);
            i += 1;
            let batch = docs[at..at + n].to_vec();
            let now = batch.iter().map(time_of).fold(f64::MIN, f64::max);
            live.push(batch, now);
            at += n;
        }
        live.flush();
        live
    }

    /// Three accounts posting the same links within seconds, four times, and passers-by.
    fn pushes(extra: usize) -> Vec<Document> {
        let mut docs = Vec::new();
        for push in 0..4u32 {
            let t0 = i64::from(push) * 600_000;
            for a in 0..4u32 {
                if a == 3 && push > 1 {
                    continue;
                }
                docs.push(doc(docs.len(), a, t0 + i64::from(a) * 2_000, &[push], ""));
            }
            for o in 0..extra as u32 {
                docs.push(doc(
                    docs.len(),
                    10 + o,
                    t0 + i64::from(o) * 7_000,
                    &[100 + push % 2],
                    "",
                ));
            }
        }
        docs.sort_by_key(|d| d.published_at);
        docs
    }

    #[test]
    fn a_group_found_batch_by_batch_is_the_batch_networks() {
        let docs = pushes(6);
        let want = batch(&docs, 60.0);
        assert!(
            want.1
                .contains(&vec!["a0".into(), "a1".into(), "a2".into(), "a3".into()])
        );
        for sizes in [&[1usize][..], &[3, 1, 7], &[1000]] {
            let live = pushed(&docs, sizes, 60.0, 1e9);
            same(live_of(&live), want.clone()).unwrap();
        }
    }

    #[test]
    fn a_group_is_handed_out_when_it_appears_and_when_it_doubles() {
        let docs = pushes(0);
        let mut live = Live::new(params(60.0), 60.0, 1e9);
        let mut handed = Vec::new();
        for d in docs {
            let now = time_of(&d);
            for g in live.push(vec![d], now) {
                handed.push((g.id.clone(), g.members.len()));
            }
        }
        assert!(!handed.is_empty());
        let ids: BTreeSet<&String> = handed.iter().map(|h| &h.0).collect();
        assert!(handed.len() <= 4, "{handed:?}");
        assert!(ids.len() <= 2, "{handed:?}");
    }

    #[test]
    fn posts_leave_with_the_window() {
        let docs = pushes(3);
        let keep = 700.0;
        let live = pushed(&docs, &[2], 60.0, keep);
        let last = docs.iter().map(time_of).fold(f64::MIN, f64::max);
        let held: Vec<Document> = docs
            .iter()
            .filter(|d| time_of(d) >= last - keep)
            .cloned()
            .collect();
        assert!(held.len() < docs.len());
        assert_eq!(live.len(), held.len());
        same(live_of(&live), batch(&held, 60.0)).unwrap();
    }

    #[test]
    fn copied_texts_are_keys_as_in_the_batch_collector() {
        let base = "Київ готують до найважчої весни за останні роки: з першого квітня у \
            столиці нібито запровадять графіки відключень електроенергії";
        let mut docs = Vec::new();
        for push in 0..3i64 {
            for a in 0..4u32 {
                let text = format!("{base} {push} {}", ["", "!", " терміново", ""][a as usize]);
                docs.push(doc(
                    docs.len(),
                    a,
                    push * 900_000 + i64::from(a) * 3_000,
                    &[],
                    &text,
                ));
            }
        }
        docs.push(doc(
            99,
            9,
            5_000,
            &[],
            "зовсім інший допис про погоду в Одесі сьогодні вранці",
        ));
        docs.sort_by_key(|d| d.published_at);
        let want = batch(&docs, 60.0);
        assert_eq!(want.1.len(), 1, "{want:?}");
        for sizes in [&[1usize][..], &[5]] {
            same(live_of(&pushed(&docs, sizes, 60.0, 1e9)), want.clone()).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Any posts, any batch sizes, the window sliding or not: the kept edges (weights and
        /// their quiet parts) and the groups are the batch network's over the posts held.
        #[test]
        fn live_equals_batch(
            raw in proptest::collection::vec((0u32..9, 0i64..3_000, 0u32..5, 0u32..5), 1..90),
            sizes in proptest::collection::vec(1usize..12, 1..4),
            window in prop_oneof![Just(20.0f64), Just(60.0)],
            keep in prop_oneof![Just(1e9f64), Just(1_500.0)],
        ) {
            let mut docs: Vec<Document> = raw
                .iter()
                .enumerate()
                .map(|(i, &(a, t, l1, l2))| {
                    let links = if l1 == l2 { vec![l1] } else { vec![l1, l2] };
                    doc(i, a, t * 1_000, &links, "")
                })
                .collect();
            docs.sort_by_key(|d| (d.published_at, d.id.clone()));
            let live = pushed(&docs, &sizes, window, keep);
            let last = docs.iter().map(time_of).fold(f64::MIN, f64::max);
            let held: Vec<Document> =
                docs.iter().filter(|d| time_of(d) >= last - keep).cloned().collect();
            same(live_of(&live), batch(&held, window))?;
        }
    }
}
