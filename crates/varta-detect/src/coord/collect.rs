//! Documents into the own network's input: actors, times and keys of every signal.
//!
//! Keys per document: each normalized link; the near-duplicate cluster of its text (the
//! [`crate::neardup`] index at Jaccard 0.5 with containment, on the wide signature that keeps ten
//! million posts to a few million candidates; clusters are connected components, so edited,
//! case-changed or look-alike copies share the key); the repost target (`repost_of`) or, for
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
    snippets: Snippets,
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
            snippets: Snippets::new(),
            index: BatchedIndex::new(Index::with_containment(0.5, 0.9).wide()),
        }
    }

    /// Number of documents collected.
    pub fn len(&self) -> usize {
        self.doc_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_ids.is_empty()
    }

    fn key(&mut self, kind: KeyKind, value: &str, label: &dyn Fn() -> String, post: u32) {
        let k = key_hash(kind.name(), value.as_bytes());
        self.keys.entry(k).or_insert_with(|| KeyInfo {
            kind,
            label: label(),
        });
        self.postings.push((k, post));
    }

    /// Adds a document.
    pub fn push(&mut self, doc: Document) {
        let actor_name = actor_of(&doc);
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
        self.actor.push(actor);
        self.time.push(time_of(&doc));
        exact_keys(&doc, |kind, value, label| {
            self.key(kind, value, label, post)
        });
        if let Some(text) = text_of(&doc) {
            self.text_posts.push(post);
            self.snippets.push(&snippet(text));
            self.doc_ids.push(doc.id);
            self.index.push(doc.text);
        } else {
            self.doc_ids.push(doc.id);
        }
    }

    /// The network input: near-duplicate clusters become text keys.
    pub fn input(mut self) -> (Input, Vec<String>, Vec<String>) {
        // Clusters come from distinct texts: a sentence posted 100,000 times costs one lookup.
        let index = self.index.into_index();
        let clusters = index.clusters();
        let mut snippets = std::mem::take(&mut self.snippets);
        for members in clusters.components() {
            // The cluster is named by its first document: stable for the same data.
            let r = members[0] as usize;
            let value = self.doc_ids[self.text_posts[r] as usize].clone();
            let k = key_hash(KeyKind::Text.name(), value.as_bytes());
            let label = snippets.get(r).unwrap_or_else(|| value.clone());
            self.keys.entry(k).or_insert_with(|| KeyInfo {
                kind: KeyKind::Text,
                label,
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

/// The actor a document counts for: its actor id, else its source.
pub(crate) fn actor_of(doc: &Document) -> String {
    doc.actor_id.clone().unwrap_or_else(|| doc.source.clone())
}

/// A document's time in seconds (published, else collected), to the millisecond.
pub(crate) fn time_of(doc: &Document) -> f64 {
    doc.published_at
        .unwrap_or(doc.collected_at)
        .timestamp_millis() as f64
        / 1000.0
}

/// The text whose near-duplicate cluster is a key: not a repost's (its text is the original's),
/// not an empty one.
pub(crate) fn text_of(doc: &Document) -> Option<&str> {
    (doc.repost_of.is_none() && !doc.text.trim().is_empty()).then_some(doc.text.as_str())
}

/// Calls `key(kind, value, label)` for each of a document's keys but its text's cluster: links,
/// the repost or forward target, the reply target, the hashtag sequence.
pub(crate) fn exact_keys(doc: &Document, mut key: impl FnMut(KeyKind, &str, &dyn Fn() -> String)) {
    for link in &doc.links {
        key(KeyKind::Link, link, &|| link.clone());
    }
    if let Some(r) = &doc.repost_of {
        let v = format!("{}\u{0}{r}", doc.source);
        key(KeyKind::Repost, &v, &|| r.clone());
    } else if let Some(f) = &doc.forwarded_from {
        // Telegram names the channel a message was forwarded from, not the message: the
        // channel and the text together stand for it.
        let v = format!("{f}\u{0}{}", doc.content_hash);
        key(KeyKind::Repost, &v, &|| {
            format!("forwarded from {f}: {}", snippet(&doc.text))
        });
    }
    if let Some(r) = &doc.reply_to {
        let v = format!("{}\u{0}{r}", doc.source);
        key(KeyKind::Reply, &v, &|| r.clone());
    }
    if doc.hashtags.len() >= 2 {
        let seq = doc
            .hashtags
            .iter()
            .map(|h| format!("#{h}"))
            .collect::<Vec<_>>()
            .join(" ");
        key(KeyKind::Hashtags, &seq, &|| seq.clone());
    }
}

/// A built network with the names its indices stand for.
pub struct Collected {
    pub network: Network,
    pub actor_names: Vec<String>,
    pub doc_ids: Vec<String>,
    pub posts: usize,
}

/// The snippets of text posts, one per post, written to an unnamed temporary file as they come
/// and read back only for the few posts that name a text key: ten million posts hold ten million
/// snippets (2.4 GB of Cyrillic), of which a few thousand are ever shown. Without a temporary
/// file (none could be made, or a write failed), snippets stay in memory, or are lost and the
/// key is labelled by its document id.
struct Snippets {
    state: Spill,
    /// End offset of each snippet in the file.
    ends: Vec<u64>,
}

enum Spill {
    Writing(std::io::BufWriter<std::fs::File>),
    Reading(std::fs::File),
    /// No temporary file could be made: snippets by post.
    Memory(Vec<String>),
    /// A write failed: the snippets are lost.
    Lost,
}

impl Default for Snippets {
    fn default() -> Snippets {
        Snippets {
            state: Spill::Memory(Vec::new()),
            ends: Vec::new(),
        }
    }
}

impl Snippets {
    fn new() -> Snippets {
        let state = match tempfile::tempfile() {
            Ok(f) => Spill::Writing(std::io::BufWriter::with_capacity(1 << 20, f)),
            Err(_) => Spill::Memory(Vec::new()),
        };
        Snippets {
            state,
            ends: Vec::new(),
        }
    }

    fn push(&mut self, s: &str) {
        use std::io::Write;
        match &mut self.state {
            Spill::Writing(f) => {
                if f.write_all(s.as_bytes()).is_err() {
                    self.state = Spill::Lost;
                }
                let end = self.ends.last().copied().unwrap_or(0) + s.len() as u64;
                self.ends.push(end);
            }
            Spill::Memory(m) => m.push(s.to_string()),
            Spill::Reading(_) | Spill::Lost => {}
        }
    }

    /// Snippet `i`, if it can be read. The first call ends writing.
    fn get(&mut self, i: usize) -> Option<String> {
        use std::io::{Read, Seek, SeekFrom};
        if let Spill::Writing(_) = self.state {
            let state = std::mem::replace(&mut self.state, Spill::Lost);
            if let Spill::Writing(w) = state
                && let Ok(f) = w.into_inner()
            {
                self.state = Spill::Reading(f);
            }
        }
        match &mut self.state {
            Spill::Memory(m) => m.get(i).cloned(),
            Spill::Reading(f) => {
                let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
                let end = *self.ends.get(i)?;
                let mut buf = vec![0u8; usize::try_from(end.checked_sub(start)?).ok()?];
                f.seek(SeekFrom::Start(start)).ok()?;
                f.read_exact(&mut buf).ok()?;
                String::from_utf8(buf).ok()
            }
            Spill::Writing(_) | Spill::Lost => None,
        }
    }
}

pub(crate) fn snippet(text: &str) -> String {
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
        let n = word.chars().count();
        if chars + n <= SNIPPET_CHARS {
            out.push_str(word);
            chars += n;
            continue;
        }
        let cut = word
            .char_indices()
            .nth(SNIPPET_CHARS - chars)
            .map_or(word.len(), |(i, _)| i);
        out.push_str(&word[..cut]);
        out.push('…');
        return out;
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
    fn snippets_come_back_from_the_spill_file_and_from_memory() {
        let texts = ["перший допис", "", "second post, longer", "третій"];
        for mut s in [Snippets::new(), Snippets::default()] {
            for t in texts {
                s.push(t);
            }
            assert_eq!(s.get(2).as_deref(), Some("second post, longer"));
            assert_eq!(s.get(0).as_deref(), Some("перший допис"));
            assert_eq!(s.get(1).as_deref(), Some(""));
            assert_eq!(s.get(3).as_deref(), Some("третій"));
            assert_eq!(s.get(4), None);
        }
        assert!(matches!(Snippets::new().state, Spill::Writing(_)));
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
