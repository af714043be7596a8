//! Narratives: documents grouped by what they say, across languages.
//!
//! # What it detects
//! Groups of documents that tell the same story or push the same claim, in any of the languages
//! Varta reads. Each document's multilingual e5 vector, less the mean vector of its language
//! (see `centred`), joins the narrative whose centroid it is closest to when the cosine reaches
//! [`Params::join`], else it starts a new one (an online clustering: documents arrive in time
//! order, as a watcher sees them); narratives whose centroids end up within [`Params::merge`] of
//! each other are then merged, and each document is reassigned to the centre now closest. A
//! narrative needs [`Params::min_members`] documents, two of which reach [`Params::core`] (texts
//! on one everyday topic sit near each other, retellings of one story nearer); the rest stay out.
//!
//! Each narrative is labelled by its most telling words per language: class-based TF-IDF (a
//! word's share of the narrative's words, weighted by how rare the word is across all
//! narratives), so that the words it shares with every other narrative do not label it.
//!
//! # Why it matters
//! An operation tells one story in many wordings and languages; counting its wordings one by
//! one hides its size. A narrative is what bursts, returns and spreads.
//!
//! # Example
//! "Kyiv metro closes for three days" in an English headline, a Ukrainian post and a Russian
//! channel: one narrative; "Kharkiv introduces 16-hour power cuts" (same topic, another claim):
//! another.
//!
//! # Limitations
//! The language means come from the input: a file of a few dozen texts gives a poor one (under
//! `MIN_LANGUAGE_MEAN` texts of a language, the overall mean stands in). Two claims on one topic
//! can merge, and one story told very differently can split. Each new document is compared with every
//! narrative's centroid (linear in the narratives).

use std::collections::{BTreeMap, HashMap};

/// Thresholds of the clustering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Cosine with a narrative's centroid at which a document joins it.
    pub join: f32,
    /// Cosine between two centroids at which their narratives merge.
    pub merge: f32,
    /// Documents a narrative needs.
    pub min_members: usize,
    /// Cosine the closest two members of a narrative must reach: texts on one everyday topic
    /// (recipes, match results) sit near each other, retellings of one story nearer.
    pub core: f32,
}

impl Default for Params {
    fn default() -> Self {
        // Tuned on the tune half of bench/narratives (cosines of language-centred vectors).
        Params {
            join: 0.45,
            merge: 0.4,
            min_members: 2,
            core: 0.5,
        }
    }
}

/// One document to cluster.
pub struct Item<'a> {
    pub text: &'a str,
    pub lang: &'a str,
    /// Seconds since the epoch (ordering and timelines); `None`: input order.
    pub time: Option<i64>,
    /// Its e5 vector.
    pub vector: &'a [f32],
}

/// A narrative: its members (indices into the input), best representatives first in
/// `representatives`, and its label words per language.
#[derive(Debug, Clone, PartialEq)]
pub struct Narrative {
    pub members: Vec<usize>,
    pub representatives: Vec<usize>,
    pub labels: BTreeMap<String, Vec<String>>,
}

fn unit(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter().map(|x| x / n).collect()
    } else {
        v.to_vec()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The items' vectors, unit length, less the mean of their language's, unit length again. e5's
/// vectors of any two news posts are close (cosines of 0.8 and more): they share a direction, "a
/// news post", that says nothing about which story, and one per language, which pulls posts of
/// one language together across stories. Taking each language's mean out leaves what differs.
/// (A language with fewer than [`MIN_LANGUAGE_MEAN`] items takes the overall mean.)
fn centred(items: &[Item<'_>]) -> Vec<Vec<f32>> {
    let units: Vec<Vec<f32>> = items.iter().map(|i| unit(i.vector)).collect();
    let dim = units.first().map_or(0, Vec::len);
    let mean_of = |which: &mut dyn Iterator<Item = &Vec<f32>>| {
        let mut mean = vec![0f32; dim];
        let mut n = 0usize;
        for v in which {
            for (m, x) in mean.iter_mut().zip(v) {
                *m += x;
            }
            n += 1;
        }
        for m in &mut mean {
            *m /= n.max(1) as f32;
        }
        (mean, n)
    };
    let (overall, _) = mean_of(&mut units.iter());
    let mut by_lang: HashMap<&str, Vec<f32>> = HashMap::new();
    for lang in items.iter().map(|i| i.lang) {
        if by_lang.contains_key(lang) {
            continue;
        }
        let (mean, n) = mean_of(
            &mut units
                .iter()
                .zip(items)
                .filter(|(_, i)| i.lang == lang)
                .map(|(v, _)| v),
        );
        by_lang.insert(
            lang,
            if n >= MIN_LANGUAGE_MEAN {
                mean
            } else {
                overall.clone()
            },
        );
    }
    units
        .iter()
        .zip(items)
        .map(|(v, i)| {
            let mean = by_lang.get(i.lang).unwrap_or(&overall);
            unit(&v.iter().zip(mean).map(|(x, m)| x - m).collect::<Vec<f32>>())
        })
        .collect()
}

/// Items a language needs for a mean of its own.
pub const MIN_LANGUAGE_MEAN: usize = 20;

struct Cluster {
    sum: Vec<f32>,
    members: Vec<usize>,
}

impl Cluster {
    fn centroid(&self) -> Vec<f32> {
        unit(&self.sum)
    }
}

/// Groups `items` into narratives, largest first.
pub fn cluster(items: &[Item<'_>], params: &Params) -> Vec<Narrative> {
    let vectors: Vec<Vec<f32>> = centred(items);
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (items[i].time.unwrap_or(i64::MIN), i));
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut centroids: Vec<Vec<f32>> = Vec::new();
    for &i in &order {
        let best = centroids
            .iter()
            .enumerate()
            .map(|(c, v)| (c, dot(v, &vectors[i])))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((c, cos)) if cos >= params.join => {
                for (s, x) in clusters[c].sum.iter_mut().zip(&vectors[i]) {
                    *s += x;
                }
                clusters[c].members.push(i);
                centroids[c] = clusters[c].centroid();
            }
            _ => {
                clusters.push(Cluster {
                    sum: vectors[i].clone(),
                    members: vec![i],
                });
                centroids.push(vectors[i].clone());
            }
        }
    }
    // Merge the closest pair of centroids until none is within `merge`.
    loop {
        let mut best: Option<(usize, usize, f32)> = None;
        for a in 0..clusters.len() {
            for b in a + 1..clusters.len() {
                let cos = dot(&centroids[a], &centroids[b]);
                if cos >= params.merge && best.is_none_or(|(_, _, c)| cos > c) {
                    best = Some((a, b, cos));
                }
            }
        }
        let Some((a, b, _)) = best else { break };
        let gone = clusters.swap_remove(b);
        centroids.swap_remove(b);
        for (s, x) in clusters[a].sum.iter_mut().zip(&gone.sum) {
            *s += x;
        }
        clusters[a].members.extend(gone.members);
        centroids[a] = clusters[a].centroid();
    }
    // Two rounds of reassignment: each document to the centre it is now closest to (the centres
    // moved as documents joined after it), or out when none is within `join`.
    for _ in 0..2 {
        let centres: Vec<Vec<f32>> = clusters
            .iter()
            .filter(|c| c.members.len() >= 2)
            .map(Cluster::centroid)
            .collect();
        if centres.is_empty() {
            break;
        }
        let mut next: Vec<Cluster> = centres
            .iter()
            .map(|_| Cluster {
                sum: vec![0.0; vectors[0].len()],
                members: Vec::new(),
            })
            .collect();
        for &i in &order {
            let (c, cos) = centres
                .iter()
                .enumerate()
                .map(|(c, v)| (c, dot(v, &vectors[i])))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((0, f32::MIN));
            if cos >= params.join {
                for (s, x) in next[c].sum.iter_mut().zip(&vectors[i]) {
                    *s += x;
                }
                next[c].members.push(i);
            }
        }
        clusters = next.into_iter().filter(|c| !c.members.is_empty()).collect();
    }
    let closest_pair = |c: &Cluster| {
        let mut best = f32::MIN;
        for (k, &a) in c.members.iter().enumerate() {
            for &b in &c.members[k + 1..] {
                best = best.max(dot(&vectors[a], &vectors[b]));
            }
        }
        best
    };
    let mut kept: Vec<Cluster> = clusters
        .into_iter()
        .filter(|c| c.members.len() >= params.min_members.max(1))
        .filter(|c| closest_pair(c) >= params.core)
        .collect();
    kept.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then_with(|| a.members.iter().min().cmp(&b.members.iter().min()))
    });
    let labels = label_words(items, &kept);
    kept.into_iter()
        .zip(labels)
        .map(|(c, labels)| {
            let centroid = c.centroid();
            let mut reps = c.members.clone();
            reps.sort_by(|&x, &y| {
                dot(&vectors[y], &centroid).total_cmp(&dot(&vectors[x], &centroid))
            });
            reps.truncate(3);
            let mut members = c.members;
            members.sort_unstable();
            Narrative {
                members,
                representatives: reps,
                labels,
            }
        })
        .collect()
}

/// Words too common to label anything (of four letters or more: shorter ones are skipped).
const STOP: &[&str] = &[
    "that",
    "this",
    "with",
    "from",
    "have",
    "will",
    "they",
    "their",
    "there",
    "what",
    "about",
    "been",
    "were",
    "which",
    "would",
    "after",
    "into",
    "more",
    "than",
    "also",
    "just",
    "said",
    "says",
    "який",
    "яка",
    "яке",
    "які",
    "якщо",
    "тому",
    "буде",
    "будуть",
    "вони",
    "його",
    "через",
    "після",
    "також",
    "щодо",
    "може",
    "можуть",
    "було",
    "були",
    "цього",
    "цей",
    "того",
    "лише",
    "коли",
    "який",
    "каже",
    "заявив",
    "заявила",
    "который",
    "которые",
    "которая",
    "будет",
    "будут",
    "если",
    "этого",
    "этот",
    "того",
    "после",
    "также",
    "может",
    "могут",
    "было",
    "были",
    "только",
    "когда",
    "через",
    "чтобы",
    "заявил",
    "заявила",
    "говорит",
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’').to_lowercase())
        .filter(|w| w.chars().count() >= 4 && !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !STOP.contains(&w.as_str()))
        .filter(|w| !w.starts_with("http"))
        .collect()
}

/// The top words per language of each cluster by class-based TF-IDF.
fn label_words(items: &[Item<'_>], clusters: &[Cluster]) -> Vec<BTreeMap<String, Vec<String>>> {
    // Per cluster and language: word counts; across clusters: how often each word occurs.
    let mut per: Vec<HashMap<(String, String), usize>> = Vec::with_capacity(clusters.len());
    let mut totals: HashMap<String, usize> = HashMap::new();
    let mut sizes = Vec::with_capacity(clusters.len());
    for c in clusters {
        let mut counts: HashMap<(String, String), usize> = HashMap::new();
        let mut size = 0usize;
        for &m in &c.members {
            for w in words(items[m].text) {
                *totals.entry(w.clone()).or_default() += 1;
                *counts.entry((items[m].lang.to_string(), w)).or_default() += 1;
                size += 1;
            }
        }
        per.push(counts);
        sizes.push(size.max(1));
    }
    let avg = sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64;
    per.iter()
        .zip(&sizes)
        .map(|(counts, &size)| {
            // A word scores by its count in the whole narrative (a name repeated in every
            // language counts each time), and is listed under each language it occurs in.
            let mut in_cluster: HashMap<&str, usize> = HashMap::new();
            for ((_, w), n) in counts {
                *in_cluster.entry(w.as_str()).or_default() += n;
            }
            let score = |w: &str| {
                let f = totals.get(w).copied().unwrap_or(1) as f64;
                in_cluster.get(w).copied().unwrap_or(0) as f64 / size as f64 * (1.0 + avg / f).ln()
            };
            let mut by_lang: BTreeMap<String, Vec<(f64, String)>> = BTreeMap::new();
            for (lang, w) in counts.keys() {
                by_lang
                    .entry(lang.clone())
                    .or_default()
                    .push((score(w), w.clone()));
            }
            by_lang
                .into_iter()
                .map(|(lang, mut v)| {
                    v.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
                    (lang, v.into_iter().take(4).map(|(_, w)| w).collect())
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item<'a>(text: &'a str, lang: &'a str, v: &'a [f32], t: i64) -> Item<'a> {
        Item {
            text,
            lang,
            time: Some(t),
            vector: v,
        }
    }

    #[test]
    fn near_vectors_group_and_loners_stay_out() {
        let a1 = [1.0, 0.05, 0.0];
        let a2 = [0.98, 0.1, 0.0];
        let a3 = [0.97, 0.0, 0.1];
        let b1 = [0.0, 1.0, 0.02];
        let b2 = [0.05, 0.99, 0.0];
        let lone = [0.0, 0.0, 1.0];
        let items = [
            item("Kyiv metro closes for three days", "en", &a1, 1),
            item("Київське метро закриють на три дні", "uk", &a2, 2),
            item("Киевское метро закроют на три дня", "ru", &a3, 3),
            item("Kharkiv power cuts sixteen hours", "en", &b1, 4),
            item("Харків відключення світла шістнадцять годин", "uk", &b2, 5),
            item("Recipe of the day", "en", &lone, 6),
        ];
        let n = cluster(&items, &Params::default());
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].members, vec![0, 1, 2]);
        assert_eq!(n[1].members, vec![3, 4]);
        assert!(
            n[0].labels["uk"].contains(&"метро".to_string()),
            "{:?}",
            n[0].labels
        );
        assert!(
            n[1].labels["en"].contains(&"kharkiv".to_string()),
            "{:?}",
            n[1].labels
        );
    }
}
