//! Documents into the own network's input: actors, times and keys of every signal.
//!
//! Keys per document: each normalized link; the near-duplicate cluster of its text (the
//! [`crate::neardup`] index at Jaccard 0.5 with containment, clusters are connected components, so
//! edited, case-changed or look-alike copies share the key); the repost target (`repost_of`) or, for
//! Telegram forwards, the forwarded-from channel with the text; the reply target; the hashtag
//! sequence when there are at least two. Reposts carry no text key (their text is the original's).

use super::key_hash;
use super::network::{Input, KeyInfo, KeyKind, Network, Params, build};
use crate::neardup::{BatchedIndex, Index};
use rustc_hash::FxHashMap;
use varta_core::Document;

const SNIPPET_CHARS: usize = 120;

/// Collects documents, then builds the network.
pub struct Collector {
    actor_ids: FxHashMap<String, u32>,
    /// Actor ids (`platform:native-id`), by actor index.
    pub actor_names: Vec<String>,
    /// Document ids, by post index.
    pub doc_ids: Vec<String>,
    actor: Vec<u32>,
    time: Vec<f64>,
    postings: Vec<(u128, u32)>,
    keys: FxHashMap<u128, KeyInfo>,
    /// Posts with a text key candidate and their snippets; the index holds their texts at the
    /// same positions.
    text_posts: Vec<u32>,
    snippets: Vec<String>,
    index: BatchedIndex,
}

impl Default for Collector {
    fn default() -> Self {
        Collector::new()
    }
}

impl Collector {
    pub fn new() -> Collector {
        Collector {
            actor_ids: FxHashMap::default(),
            actor_names: Vec::new(),
            doc_ids: Vec::new(),
            actor: Vec::new(),
            time: Vec::new(),
            postings: Vec::new(),
            keys: FxHashMap::default(),
            text_posts: Vec::new(),
            snippets: Vec::new(),
            index: BatchedIndex::new(Index::with_containment(0.5, 0.9)),
        }
    }

    /// Number of documents collected.
    pub fn len(&self) -> usize {
        self.doc_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_ids.is_empty()
    }

    fn key(&mut self, kind: KeyKind, value: &str, label: impl FnOnce() -> String, post: u32) {
        let k = key_hash(kind.name(), value.as_bytes());
        self.keys.entry(k).or_insert_with(|| KeyInfo {
            kind,
            label: label(),
        });
        self.postings.push((k, post));
    }

    /// Adds a document.
    pub fn push(&mut self, doc: Document) {
        let actor_name = doc.actor_id.clone().unwrap_or_else(|| doc.source.clone());
        let actor = match self.actor_ids.get(&actor_name) {
            Some(&a) => a,
            None => {
                let a = self.actor_names.len() as u32;
                self.actor_ids.insert(actor_name.clone(), a);
                self.actor_names.push(actor_name);
                a
            }
        };
        let post = self.doc_ids.len() as u32;
        let t = doc.published_at.unwrap_or(doc.collected_at);
        self.doc_ids.push(doc.id);
        self.actor.push(actor);
        self.time.push(t.timestamp_millis() as f64 / 1000.0);
        for link in &doc.links {
            self.key(KeyKind::Link, link, || link.clone(), post);
        }
        if let Some(r) = &doc.repost_of {
            let v = format!("{}\u{0}{r}", doc.source);
            self.key(KeyKind::Repost, &v, || r.clone(), post);
        } else if let Some(f) = &doc.forwarded_from {
            // Telegram names the channel a message was forwarded from, not the message: the
            // channel and the text together stand for it.
            let v = format!("{f}\u{0}{}", doc.content_hash);
            let label = || format!("forwarded from {f}: {}", snippet(&doc.text));
            self.key(KeyKind::Repost, &v, label, post);
        }
        if let Some(r) = &doc.reply_to {
            let v = format!("{}\u{0}{r}", doc.source);
            self.key(KeyKind::Reply, &v, || r.clone(), post);
        }
        if doc.hashtags.len() >= 2 {
            let seq = doc
                .hashtags
                .iter()
                .map(|h| format!("#{h}"))
                .collect::<Vec<_>>()
                .join(" ");
            self.key(KeyKind::Hashtags, &seq, || seq.clone(), post);
        }
        if doc.repost_of.is_none() && !doc.text.trim().is_empty() {
            self.text_posts.push(post);
            self.snippets.push(snippet(&doc.text));
            self.index.push(doc.text);
        }
    }

    /// The network input: near-duplicate clusters become text keys.
    pub fn input(mut self) -> (Input, Vec<String>, Vec<String>) {
        // Clusters come from distinct texts: a sentence posted 100,000 times costs one lookup.
        let index = self.index.into_index();
        let clusters = index.clusters();
        for members in clusters.components() {
            // The cluster is named by its first document: stable for the same data.
            let r = members[0] as usize;
            let value = self.doc_ids[self.text_posts[r] as usize].clone();
            let k = key_hash(KeyKind::Text.name(), value.as_bytes());
            self.keys.entry(k).or_insert_with(|| KeyInfo {
                kind: KeyKind::Text,
                label: self.snippets[r].clone(),
            });
            self.postings
                .extend(members.iter().map(|&i| (k, self.text_posts[i as usize])));
        }
        let input = Input {
            actor: self.actor,
            time: self.time,
            n_actors: self.actor_names.len(),
            postings: self.postings,
            keys: self.keys,
        };
        (input, self.actor_names, self.doc_ids)
    }

    /// Builds the network and its groups.
    pub fn finish(self, params: &Params) -> Collected {
        let (input, actor_names, doc_ids) = self.input();
        let network = build(&input, params);
        Collected {
            network,
            actor_names,
            doc_ids,
            posts: input.actor.len(),
        }
    }
}

/// A built network with the names its indices stand for.
pub struct Collected {
    pub network: Network,
    pub actor_names: Vec<String>,
    pub doc_ids: Vec<String>,
    pub posts: usize,
}

fn snippet(text: &str) -> String {
    // Word by word, stopping at the limit: every text post gets one, and most are never shown.
    let mut out = String::new();
    let mut chars = 0usize;
    for word in text.split_whitespace() {
        if !out.is_empty() {
            if chars == SNIPPET_CHARS {
                out.push('…');
                return out;
            }
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars == SNIPPET_CHARS {
                out.push('…');
                return out;
            }
            out.push(c);
            chars += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The snippet as it was first written: the whole text's words joined, then cut.
    fn joined_then_cut(text: &str) -> String {
        let t: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        match t.char_indices().nth(SNIPPET_CHARS) {
            Some((i, _)) => format!("{}…", &t[..i]),
            None => t,
        }
    }

    #[test]
    fn snippet_cuts_where_joining_the_whole_text_did() {
        let word = "слово";
        for n in 0..40 {
            for extra in ["", "a", "ab", "  x\n y"] {
                let text = format!("{}{extra}", format!("{word} ").repeat(n));
                assert_eq!(snippet(&text), joined_then_cut(&text), "{text:?}");
            }
        }
        let exact = "x".repeat(SNIPPET_CHARS);
        assert_eq!(snippet(&exact), exact);
        assert_eq!(snippet(&format!("{exact} y")), format!("{exact}…"));
    }
}
