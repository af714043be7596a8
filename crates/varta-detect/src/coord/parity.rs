//! coordination-network-toolkit 1.5.2's networks, row for row.
//!
//! The toolkit loads its CSV into SQLite and joins it with itself; the rules below are read from its
//! source (`preprocess.py`, `compute_networks.py`, `similarity.py`) and checked against its output:
//!
//! - a message id seen again is ignored (`insert or ignore`), but the repeated row's URLs are still
//!   recorded, under that row's user and time, unless the (message, URL) pair is already known;
//! - URLs are the `urls` field split on single spaces, so an empty field is the URL "" and every
//!   message without links shares it; reposts' URLs are left out;
//! - co_link joins message URLs; co_retweet joins reposts on `repost_id`; co_tweet joins non-reposts
//!   on the lower-cased text with `@mentions` removed and whitespace collapsed (empty texts match);
//!   co_reply joins non-reposts on `reply_id`; co_similar_tweet joins every pair of non-reposts in
//!   the window whose token sets have Jaccard ≥ the threshold (sets under one token never match);
//! - weight(u1 → u2) = number of distinct messages of u1 with a matching message of u2 whose time is
//!   within [t − window, t + window]; both directions and self-loops are kept when ≥ min weight.
//!
//! Tokens for co_similar_tweet come from Unicode word boundaries (UAX #29, as the toolkit's
//! `regex` pattern with the WORD flag), without whitespace and lone apostrophes. Where the two
//! implementations of the word-boundary rules disagree the token sets differ; the shared suite
//! counts such rows.

use super::{Edge, Posts, similar_network};
use rustc_hash::{FxHashMap, FxHashSet};
use std::hash::{Hash, Hasher};

/// The toolkit's network types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerNetwork {
    CoLink,
    CoTweet,
    CoRetweet,
    CoReply,
    CoSimilarTweet,
}

impl PeerNetwork {
    pub fn parse(s: &str) -> Option<PeerNetwork> {
        Some(match s {
            "co_link" => PeerNetwork::CoLink,
            "co_tweet" => PeerNetwork::CoTweet,
            "co_retweet" => PeerNetwork::CoRetweet,
            "co_reply" => PeerNetwork::CoReply,
            "co_similar_tweet" => PeerNetwork::CoSimilarTweet,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            PeerNetwork::CoLink => "co_link",
            PeerNetwork::CoTweet => "co_tweet",
            PeerNetwork::CoRetweet => "co_retweet",
            PeerNetwork::CoReply => "co_reply",
            PeerNetwork::CoSimilarTweet => "co_similar_tweet",
        }
    }
}

/// One row of the toolkit's CSV: `message_id,user_id,username,repost_id,reply_id,message,timestamp,urls`.
#[derive(Clone, Copy, Debug)]
pub struct PeerRow<'a> {
    pub message_id: &'a str,
    pub user_id: &'a str,
    pub repost_id: &'a str,
    pub reply_id: &'a str,
    pub message: &'a str,
    pub timestamp: f64,
    pub urls: &'a str,
}

/// The identity of a message id, user, URL, text or target: SipHash-1-3 with a 128-bit output,
/// keyed once per process so that no input can be crafted to collide with another, and several
/// times faster than BLAKE3 on strings this short. Only equality of hashes is used, so results
/// do not depend on the key.
fn id_hash(kind: u8, parts: &[&[u8]]) -> u128 {
    use siphasher::sip128::{Hasher128, SipHasher13};
    static KEYS: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    let &(k0, k1) = KEYS.get_or_init(|| {
        use std::hash::BuildHasher;
        let r = std::collections::hash_map::RandomState::new();
        (r.hash_one(1u8), r.hash_one(2u8))
    });
    let mut h = SipHasher13::new_with_keys(k0, k1);
    h.write_u8(kind);
    for p in parts {
        h.write_usize(p.len());
        h.write(p);
    }
    h.finish128().as_u128()
}

/// Removes repeated values, keeping the first of each in place.
fn distinct_in_order(v: &mut Vec<u128>) {
    if v.len() <= 16 {
        let mut n = 0;
        for i in 0..v.len() {
            let x = v[i];
            if !v[..n].contains(&x) {
                v[n] = x;
                n += 1;
            }
        }
        v.truncate(n);
    } else {
        let mut seen = FxHashSet::default();
        v.retain(|x| seen.insert(*x));
    }
}

/// Rows with their per-row work done (hashing, text normalization, tokens), which is independent
/// of other rows: a reader prepares batches in parallel and feeds them to the builder in file
/// order. A batch keeps its strings and keys in a few flat buffers, so preparing a row allocates
/// nothing (but co_similar_tweet's token sets).
#[derive(Debug, Default)]
pub struct PreparedRows {
    rows: Vec<PreparedRow>,
    /// User names, one after another; rows point into it.
    users: String,
    /// co_link: the URL keys; rows point into it.
    links: Vec<u128>,
}

#[derive(Debug)]
struct PreparedRow {
    message: u128,
    user: u128,
    user_name: (u32, u32),
    timestamp: f64,
    keys: Keys,
}

#[derive(Debug)]
enum Keys {
    /// The row takes no part in this network.
    None,
    /// co_link: the row's range in `links`.
    Links(u32, u32),
    /// co_tweet, co_retweet, co_reply: the key, used if the row is the first of its message id.
    Key(u128),
    /// co_similar_tweet: the token set, used if the row is the first of its message id.
    Tokens(Vec<u64>),
}

impl PreparedRows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Prepares `row` for `network` and appends it.
    pub fn add(&mut self, network: PeerNetwork, row: &PeerRow<'_>) {
        let is_repost = !row.repost_id.is_empty();
        let keys = match network {
            PeerNetwork::CoLink if !is_repost => {
                let start = self.links.len() as u32;
                for url in row.urls.split(' ') {
                    self.links.push(id_hash(b'u', &[url.as_bytes()]));
                }
                Keys::Links(start, self.links.len() as u32)
            }
            PeerNetwork::CoRetweet if is_repost => {
                Keys::Key(id_hash(b'r', &[row.repost_id.as_bytes()]))
            }
            PeerNetwork::CoReply if !is_repost && !row.reply_id.is_empty() => {
                Keys::Key(id_hash(b'p', &[row.reply_id.as_bytes()]))
            }
            PeerNetwork::CoTweet if !is_repost => Keys::Key(id_hash(
                b't',
                &[message_preprocessor(row.message).as_bytes()],
            )),
            PeerNetwork::CoSimilarTweet if !is_repost => Keys::Tokens(token_set(row.message)),
            _ => Keys::None,
        };
        let name_start = self.users.len() as u32;
        self.users.push_str(row.user_id);
        self.rows.push(PreparedRow {
            message: id_hash(b'i', &[row.message_id.as_bytes()]),
            user: id_hash(b'a', &[row.user_id.as_bytes()]),
            user_name: (name_start, self.users.len() as u32),
            timestamp: row.timestamp,
            keys,
        });
    }
}

/// A network being built from rows, for one network type.
pub struct PeerNetworkBuilder {
    network: PeerNetwork,
    /// By the hash of the user id (128 bits, as keys are).
    users: FxHashMap<u128, u32>,
    user_names: Vec<Box<str>>,
    /// Message ids seen, with their number (the identity repeated rows share).
    seen_messages: FxHashMap<u128, u32>,
    /// co_link, per message identity: its first row's postings (the URLs it recorded).
    first_links: Vec<(u32, u32)>,
    /// co_link: URLs recorded by the later rows of a repeated message id.
    more_links: FxHashMap<u32, Vec<u128>>,
    scratch: Vec<u128>,
    /// Per engine post: actor, time and the message it stands for (its distinct-count identity).
    actor: Vec<u32>,
    time: Vec<f64>,
    identity: Vec<u32>,
    postings: Vec<(u128, u32)>,
    /// co_similar_tweet: each post's sorted token hashes.
    tokens: Vec<Vec<u64>>,
    messages: u32,
}

impl PeerNetworkBuilder {
    pub fn new(network: PeerNetwork) -> PeerNetworkBuilder {
        PeerNetworkBuilder {
            network,
            users: FxHashMap::default(),
            user_names: Vec::new(),
            seen_messages: FxHashMap::default(),
            first_links: Vec::new(),
            more_links: FxHashMap::default(),
            scratch: Vec::new(),
            actor: Vec::new(),
            time: Vec::new(),
            identity: Vec::new(),
            postings: Vec::new(),
            tokens: Vec::new(),
            messages: 0,
        }
    }

    fn post(&mut self, user: u128, name: &str, time: f64, identity: u32) -> u32 {
        let next = self.user_names.len() as u32;
        let actor = *self.users.entry(user).or_insert(next);
        if actor == next {
            self.user_names.push(name.into());
        }
        let p = self.actor.len() as u32;
        self.actor.push(actor);
        self.time.push(time);
        self.identity.push(identity);
        p
    }

    /// Adds one row. Rows must come in file order (the first of a repeated message id wins).
    pub fn push(&mut self, row: &PeerRow<'_>) {
        let mut rows = PreparedRows::default();
        rows.add(self.network, row);
        self.push_rows(rows);
    }

    /// Adds rows prepared for this builder's network, in file order.
    pub fn push_rows(&mut self, batch: PreparedRows) {
        let PreparedRows { rows, users, links } = batch;
        for row in rows {
            let next = self.messages;
            let identity = *self.seen_messages.entry(row.message).or_insert(next);
            let first = identity == next;
            if first {
                self.messages += 1;
                if !matches!(row.keys, Keys::Links(..)) && self.network == PeerNetwork::CoLink {
                    let at = self.postings.len() as u32;
                    self.first_links.push((at, at));
                }
            }
            let name = users
                .get(row.user_name.0 as usize..row.user_name.1 as usize)
                .unwrap_or_default();
            match row.keys {
                Keys::None => {}
                Keys::Links(start, end) => {
                    // The toolkit keeps one (message, URL) pair once: a URL repeated in a row, or
                    // recorded by an earlier row of the same message id, is not recorded again.
                    let mut keys = std::mem::take(&mut self.scratch);
                    keys.clear();
                    keys.extend_from_slice(
                        links.get(start as usize..end as usize).unwrap_or_default(),
                    );
                    distinct_in_order(&mut keys);
                    if !first {
                        let (a, b) = self.first_links[identity as usize];
                        let mut known: FxHashSet<u128> = self.postings[a as usize..b as usize]
                            .iter()
                            .map(|&(k, _)| k)
                            .collect();
                        if let Some(more) = self.more_links.get(&identity) {
                            known.extend(more.iter().copied());
                        }
                        keys.retain(|k| !known.contains(k));
                        if !keys.is_empty() {
                            self.more_links
                                .entry(identity)
                                .or_default()
                                .extend(keys.iter().copied());
                        }
                    }
                    let from = self.postings.len() as u32;
                    if !keys.is_empty() {
                        let p = self.post(row.user, name, row.timestamp, identity);
                        self.postings.extend(keys.iter().map(|&k| (k, p)));
                    }
                    if first {
                        self.first_links.push((from, self.postings.len() as u32));
                    }
                    self.scratch = keys;
                }
                Keys::Key(key) if first => {
                    let p = self.post(row.user, name, row.timestamp, identity);
                    self.postings.push((key, p));
                }
                Keys::Tokens(tokens) if first => {
                    self.post(row.user, name, row.timestamp, identity);
                    self.tokens.push(tokens);
                }
                Keys::Key(_) | Keys::Tokens(_) => {}
            }
        }
    }

    /// Number of engine posts (rows that take part in this network).
    pub fn posts(&self) -> usize {
        self.actor.len()
    }

    /// The edges, as `(user_1, user_2, weight)` in the toolkit's order (by user_1, then user_2).
    pub fn edges(
        self,
        window: f64,
        min_weight: u32,
        similarity_threshold: f64,
    ) -> Vec<(Box<str>, Box<str>, u32)> {
        let posts = Posts {
            actor: &self.actor,
            time: &self.time,
            n_actors: self.user_names.len(),
        };
        let edges: Vec<Edge> = match self.network {
            PeerNetwork::CoSimilarTweet => {
                let eligible: Vec<u32> = (0..self.actor.len() as u32).collect();
                let tokens = &self.tokens;
                similar_network(posts, &eligible, window, min_weight, |a, b| {
                    similarity_at_least(
                        &tokens[a as usize],
                        &tokens[b as usize],
                        similarity_threshold,
                    )
                })
            }
            _ => super::keyed_network_with_identity(
                posts,
                Some(&self.identity),
                self.postings,
                window,
                min_weight,
            ),
        };
        let names = self.user_names;
        let mut out: Vec<(Box<str>, Box<str>, u32)> = edges
            .into_iter()
            .map(|e| {
                (
                    names[e.from as usize].clone(),
                    names[e.to as usize].clone(),
                    e.weight,
                )
            })
            .collect();
        out.sort_unstable();
        out
    }
}

/// Python's `str.isspace`: Unicode White_Space plus the ASCII separators U+001C–U+001F.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Removes `@mentions` (from `@` up to the next whitespace) from lower-cased text, as the
/// toolkit's `@.*?(?=(?:\s|$))` does.
fn strip_mentions(lower: &str) -> String {
    let mut out = String::with_capacity(lower.len());
    let mut in_mention = false;
    for c in lower.chars() {
        if in_mention {
            if is_py_space(c) {
                in_mention = false;
                out.push(c);
            }
        } else if c == '@' {
            in_mention = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// The toolkit's co-tweet key: lower case, `@mentions` removed, whitespace runs to one space,
/// trimmed.
pub fn message_preprocessor(text: &str) -> String {
    let cleaned = strip_mentions(&text.to_lowercase());
    let mut out = String::with_capacity(cleaned.len());
    for w in cleaned.split(is_py_space).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// The toolkit's token set for co-similarity, as sorted 64-bit token hashes.
pub fn token_set(text: &str) -> Vec<u64> {
    use unicode_segmentation::UnicodeSegmentation;
    let cleaned = strip_mentions(&text.to_lowercase());
    let mut out: Vec<u64> = cleaned
        .split_word_bounds()
        .filter(|t| *t != "'" && !t.chars().all(is_py_space))
        .map(|t| {
            // SipHash with fixed keys: stable across runs and machines.
            #[allow(deprecated)]
            let mut h = std::hash::SipHasher::new();
            t.hash(&mut h);
            h.finish()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The toolkit's `MinDocSizeSimilarity(1)`: Jaccard of the token sets, 0 when either is empty,
/// compared with the threshold in the same floating-point arithmetic.
pub fn similarity_at_least(a: &[u64], b: &[u64], threshold: f64) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let common = crate::neardup::overlap(a, b);
    let union = a.len() + b.len() - common;
    common as f64 / union as f64 >= threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preprocessor_matches_the_toolkit() {
        assert_eq!(
            message_preprocessor("  Hello @Bob,  WORLD\n\tagain @x"),
            "hello world again"
        );
        assert_eq!(message_preprocessor("@only"), "");
        assert_eq!(message_preprocessor("a\u{a0}b\u{1c}c"), "a b c");
    }

    #[test]
    fn tokens_match_the_toolkit_on_its_examples() {
        let t = |s: &str| token_set(s);
        let h = |words: &[&str]| {
            let mut v: Vec<u64> = words
                .iter()
                .map(|w| {
                    #[allow(deprecated)]
                    let mut h = std::hash::SipHasher::new();
                    w.hash(&mut h);
                    h.finish()
                })
                .collect();
            v.sort_unstable();
            v
        };
        // Outputs of coordination_network_toolkit.similarity.tokenize.
        assert_eq!(t("hello, world!"), h(&["!", ",", "hello", "world"]));
        assert_eq!(
            t("don't stop 'orange' now"),
            h(&["don't", "now", "orange", "stop"])
        );
        assert_eq!(
            t("Так, — це 100% правда!!! 🔥🔥"),
            h(&["!", "%", ",", "100", "правда", "так", "це", "—", "🔥"])
        );
        assert_eq!(
            t("e-mail foo.bar 3.14 $5"),
            h(&["$", "-", "3.14", "5", "e", "foo.bar", "mail"])
        );
        assert_eq!(t("x @user y"), h(&["x", "y"]));
    }

    fn row<'a>(id: &'a str, user: &'a str, t: f64, urls: &'a str, repost: &'a str) -> PeerRow<'a> {
        PeerRow {
            message_id: id,
            user_id: user,
            repost_id: repost,
            reply_id: "",
            message: "",
            timestamp: t,
            urls,
        }
    }

    #[test]
    fn empty_url_field_is_a_shared_url_and_reposts_have_none() {
        let mut b = PeerNetworkBuilder::new(PeerNetwork::CoLink);
        b.push(&row("1", "a", 0.0, "", ""));
        b.push(&row("2", "b", 10.0, "", ""));
        b.push(&row("3", "b", 20.0, "", ""));
        b.push(&row("4", "c", 5.0, "", "99"));
        let e = b.edges(60.0, 1, 0.8);
        assert!(e.contains(&("a".into(), "b".into(), 1)));
        assert!(e.contains(&("b".into(), "a".into(), 2)));
        assert!(!e.iter().any(|x| &*x.0 == "c" || &*x.1 == "c"));
    }

    #[test]
    fn repeated_message_ids_count_once() {
        let mut b = PeerNetworkBuilder::new(PeerNetwork::CoLink);
        b.push(&row("1", "a", 0.0, "x y", ""));
        b.push(&row("1", "a", 1.0, "z", ""));
        b.push(&row("2", "b", 2.0, "x z", ""));
        let e = b.edges(60.0, 1, 0.8);
        // Message 1 matches b through x and through its repeated row's z: one message.
        assert!(e.contains(&("a".into(), "b".into(), 1)));
        assert!(e.contains(&("a".into(), "a".into(), 1)));
    }
}
