//! A campaign of copies at the scale of a real one: 200,000 posts, 100,000 of them copies of one
//! text in 20 variants (one word apart), through campaign detection, near-duplicate clusters (what
//! `varta dedup --clusters` writes) and own-mode coordination. Pairs among the copies number five
//! billion; the test asserts the answers and the work counters (distinct texts banded, candidate
//! pairs verified), which stay near the number of distinct texts only if nothing enumerates the
//! pairs among copies. A quadratic regression would not finish.

use chrono::{DateTime, Utc};
use varta_core::{Document, Format};
use varta_detect::campaigns::{Detector, DocInfo, Params};
use varta_detect::coord::collect::Collector;
use varta_detect::neardup::{BatchedIndex, Index};

const POSTS: usize = 200_000;
const COPIES: usize = 100_000;
const VARIANTS: usize = 20;
const ACCOUNTS: u64 = 20_000;
const BASE: &str = "Терміново: у Києві з понеділка вводять нові графіки відключень світла на \
    шістнадцять годин на добу, а енергетики таємно готують повне знеструмлення лівого берега, \
    про це мовчать усі офіційні канали, тому поширюйте цю інформацію серед друзів і рідних, \
    поки її не видалили";

/// A small deterministic generator (splitmix64), so the test needs no dependency for it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Variant `v` of the campaign text: word `v` replaced.
fn variant(v: usize) -> String {
    let mut words: Vec<String> = BASE.split_whitespace().map(str::to_string).collect();
    words[v + 1] = format!("слово{v}");
    words.join(" ")
}

/// An unrelated post: 20–40 pseudo-words from a vocabulary of 30,000.
fn unrelated(rng: &mut Rng) -> String {
    const SYL: [&str; 16] = [
        "ка", "ло", "ми", "ра", "те", "ну", "сі", "до", "ве", "жа", "бо", "ли", "за", "пі", "ко",
        "ру",
    ];
    let n = 20 + rng.below(21);
    let mut out = String::new();
    for _ in 0..n {
        let w = rng.below(30_000);
        for k in 0..4 {
            out.push_str(SYL[((w >> (4 * k)) & 15) as usize]);
        }
        out.push(' ');
    }
    out
}

/// The posts: (id, actor, time, text), copies spread over the variants, accounts and two weeks.
fn posts() -> Vec<(String, String, DateTime<Utc>, String)> {
    let mut rng = Rng(7);
    let start = 1_730_000_000i64;
    let variants: Vec<String> = (0..VARIANTS).map(variant).collect();
    (0..POSTS)
        .map(|i| {
            let text = if i % 2 == 0 {
                variants[(i / 2) % VARIANTS].clone()
            } else {
                unrelated(&mut rng)
            };
            let t = DateTime::from_timestamp(start + rng.below(14 * 86_400) as i64, 0).unwrap();
            (
                format!("p{i}"),
                format!("u{}", rng.below(ACCOUNTS)),
                t,
                text,
            )
        })
        .collect()
}

#[test]
fn a_hundred_thousand_copies_cost_their_distinct_texts() {
    let posts = posts();

    // Campaigns: one, holding every copy, its pair statistics exact.
    let mut detector = Detector::new(Params::default());
    for (id, actor, time, text) in &posts {
        detector.push(
            DocInfo {
                id: id.clone(),
                actor: Some(actor.clone()),
                source: "test".into(),
                language: "uk".into(),
                time: *time,
            },
            text.clone(),
        );
    }
    let found = detector.finish();
    assert_eq!(found.len(), 1);
    let c = &found[0];
    assert_eq!(c.members.len(), COPIES);
    let per = (COPIES / VARIANTS) as u64;
    let within = VARIANTS as u64 * per * (per - 1) / 2;
    let across = (VARIANTS * (VARIANTS - 1) / 2) as u64 * per * per;
    assert_eq!(c.pairs as u64, within + across);
    assert_eq!(c.first_seen.time, c.members[0].time);
    assert!(
        c.min_jaccard > 0.5 && c.min_jaccard < 1.0,
        "{}",
        c.min_jaccard
    );

    // Clusters as dedup reads them: one, of 20 distinct texts; the work counters stay near the
    // number of distinct texts.
    let mut index = BatchedIndex::new(Index::new(0.5));
    for (_, _, _, text) in &posts {
        index.push(text.clone());
    }
    let index = index.into_index();
    let clusters = index.clusters();
    let components = clusters.components();
    assert_eq!(components.len(), 1);
    assert_eq!(components[0].len(), COPIES);
    let distinct = components[0]
        .iter()
        .filter(|&&m| index.canonical()[m as usize] == m)
        .count();
    assert_eq!(distinct, VARIANTS);
    assert_eq!(clusters.stats.banded, (POSTS - COPIES + VARIANTS) as u64);
    assert!(
        clusters.stats.candidates < 10 * (POSTS - COPIES) as u64,
        "{:?}",
        clusters.stats
    );
    assert_eq!(clusters.pair_count(), within + across);

    // Own-mode coordination: the copies are one text key of 100,000 postings (shared by every
    // account, so left out as organic), built without pairing them.
    let mut collector = Collector::new();
    for (id, actor, time, text) in posts {
        collector.push(Document {
            id,
            source: "test".into(),
            format: Format::CntCsv,
            actor_id: Some(actor),
            native_id: None,
            url: None,
            canonical_url: None,
            title: None,
            author: None,
            content_hash: String::new(),
            text,
            raw: None,
            language: "uk".into(),
            language_confidence: 1.0,
            published_at: Some(time),
            collected_at: time,
            links: vec![],
            hashtags: vec![],
            mentions: vec![],
            repost_of: None,
            forwarded_from: None,
            reply_to: None,
        });
    }
    let (input, _, _) = collector.input();
    assert_eq!(input.keys.len(), 1);
    assert_eq!(input.postings.len(), COPIES);
    let net = varta_detect::coord::network::build(
        &input,
        &varta_detect::coord::network::Params::default(),
    );
    // Popularity is judged around each co-share: a hundred thousand copies over two weeks are
    // a few accounts a minute (discounted only where chance crowds more than twenty), not left
    // out, and chance meetings of accounts within a minute do not repeat into a group.
    assert_eq!(net.keys_left_out, 0);
    assert!(net.groups.is_empty());
}

/// The same posts as a watcher sees them, a hundred at a time, into the live campaigns: after
/// each batch what is due is taken. The campaign is handed out when it appears and each time it
/// doubles (about log₂ 100,000 times, not once per batch), and at the flush holds every copy with
/// the batch detector's pair count. Linear work: 2,000 batches against a growing window would not
/// finish if each batch re-read the window or rebuilt the campaign.
#[test]
fn a_hundred_thousand_copies_arriving_a_hundred_at_a_time() {
    use varta_detect::campaigns::live::Live;
    let posts = posts();
    let mut live = Live::new(Params::default(), 30 * 86_400_000);
    let mut handed = Vec::new();
    for chunk in posts.chunks(100) {
        let batch: Vec<(DocInfo, String)> = chunk
            .iter()
            .map(|(id, actor, time, text)| {
                (
                    DocInfo {
                        id: id.clone(),
                        actor: Some(actor.clone()),
                        source: "test".into(),
                        language: "uk".into(),
                        time: *time,
                    },
                    text.clone(),
                )
            })
            .collect();
        live.push(batch, 0);
        for c in live.take(false) {
            handed.push((c.id, c.members.len()));
        }
    }
    assert!(
        handed.len() <= 20,
        "handed out {} times: {handed:?}",
        handed.len()
    );
    assert!(handed.iter().all(|h| h.0 == handed[0].0), "one id");
    let found = live.take(true);
    assert_eq!(found.len(), 1);
    let c = &found[0];
    assert_eq!(c.members.len(), COPIES);
    assert_eq!(c.id, handed[0].0);
    let per = (COPIES / VARIANTS) as u64;
    let within = VARIANTS as u64 * per * (per - 1) / 2;
    let across = (VARIANTS * (VARIANTS - 1) / 2) as u64 * per * per;
    assert_eq!(c.pairs as u64, within + across);
    assert_eq!(live.groups(), 1);
}
