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

use super::{Edge, Posts, key_hash, similar_network};
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

/// A network being built from rows, for one network type.
pub struct PeerNetworkBuilder {
    network: PeerNetwork,
    users: FxHashMap<Box<str>, u32>,
    user_names: Vec<Box<str>>,
    /// Message ids seen, with their number (the identity repeated rows share).
    seen_messages: FxHashMap<u128, u32>,
    seen_message_urls: FxHashSet<u128>,
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
            seen_message_urls: FxHashSet::default(),
            actor: Vec::new(),
            time: Vec::new(),
            identity: Vec::new(),
            postings: Vec::new(),
            tokens: Vec::new(),
            messages: 0,
        }
    }

    fn user(&mut self, name: &str) -> u32 {
        if let Some(&u) = self.users.get(name) {
            return u;
        }
        let u = self.user_names.len() as u32;
        self.users.insert(name.into(), u);
        self.user_names.push(name.into());
        u
    }

    fn post(&mut self, user: &str, time: f64, identity: u32) -> u32 {
        let actor = self.user(user);
        let p = self.actor.len() as u32;
        self.actor.push(actor);
        self.time.push(time);
        self.identity.push(identity);
        p
    }

    /// Adds one row. Rows must come in file order (the first of a repeated message id wins).
    pub fn push(&mut self, row: &PeerRow<'_>) {
        let mid = key_hash("message", row.message_id.as_bytes());
        let next = self.messages;
        let identity = *self.seen_messages.entry(mid).or_insert(next);
        let first = identity == next;
        if first {
            self.messages += 1;
        }
        let is_repost = !row.repost_id.is_empty();
        match self.network {
            PeerNetwork::CoLink => {
                if is_repost {
                    return;
                }
                let mut post = None;
                for url in row.urls.split(' ') {
                    let mut k = blake3::Hasher::new();
                    k.update(&(row.message_id.len() as u64).to_le_bytes());
                    k.update(row.message_id.as_bytes());
                    k.update(url.as_bytes());
                    let mu = u128::from_le_bytes(
                        k.finalize().as_bytes()[..16]
                            .try_into()
                            .unwrap_or([0u8; 16]),
                    );
                    if !self.seen_message_urls.insert(mu) {
                        continue;
                    }
                    let p = match post {
                        Some(p) => p,
                        None => {
                            let p = self.post(row.user_id, row.timestamp, identity);
                            post = Some(p);
                            p
                        }
                    };
                    self.postings.push((key_hash("url", url.as_bytes()), p));
                }
            }
            PeerNetwork::CoRetweet if first && is_repost => {
                let p = self.post(row.user_id, row.timestamp, identity);
                self.postings
                    .push((key_hash("repost", row.repost_id.as_bytes()), p));
            }
            PeerNetwork::CoReply if first && !is_repost && !row.reply_id.is_empty() => {
                let p = self.post(row.user_id, row.timestamp, identity);
                self.postings
                    .push((key_hash("reply", row.reply_id.as_bytes()), p));
            }
            PeerNetwork::CoTweet if first && !is_repost => {
                let p = self.post(row.user_id, row.timestamp, identity);
                let text = message_preprocessor(row.message);
                self.postings.push((key_hash("text", text.as_bytes()), p));
            }
            PeerNetwork::CoSimilarTweet if first && !is_repost => {
                self.post(row.user_id, row.timestamp, identity);
                self.tokens.push(token_set(row.message));
            }
            _ => {}
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
