//! Narratives between two full runs: each new document joins the narrative whose centre is
//! nearest (cosine ≥ [`Params::join`]), or, when a recent document no narrative took is as close
//! (≥ [`Params::join`]: on the tune half of bench/narratives this beat the full run's `core`,
//! 0.5, which split stories told first in the live phase), the two split off a new narrative;
//! else it waits among those recent documents. Narratives are not merged between full runs
//! (merging centres that come within [`Params::merge`], as a full run does, gained nothing on
//! the tune half). Documents are centred with running language means, so a model started from
//! a few documents improves as more come.
//!
//! A full run ([`super::cluster`] over a window) re-syncs what this drifts from: it merges
//! narratives that grew together, reassigns documents to the centres as they ended up, and sets
//! new language means. [`Model::from_run`] takes over its result; between runs, a document costs
//! one cosine per narrative and per waiting document (at most [`POOL`]), not a re-clustering.
//!
//! Narratives split off here need two members: with [`Params::min_members`] above two, only
//! full runs start narratives.

use super::{
    Cluster, Item, MIN_LANGUAGE_MEAN, Narrative, Params, centred_with, dot, label_words, means,
    unit,
};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Recent documents no narrative took, kept to split off new narratives.
pub const POOL: usize = 5000;
/// Characters of a waiting document's text kept, for the label of a narrative it starts.
const TEXT_KEPT: usize = 600;

#[derive(Clone, Debug)]
struct Centre {
    id: String,
    sum: Vec<f32>,
    centroid: Vec<f32>,
}

/// A document no narrative took (yet).
#[derive(Clone, Debug)]
struct Waiting {
    id: String,
    lang: String,
    /// Seconds since the epoch.
    time: i64,
    /// Its unit vector, not centred: it is centred with the means as they are when compared.
    unit: Vec<f32>,
    text: String,
}

/// Running sums of unit vectors, overall and per language, for the means documents are centred
/// with: a model built from a few documents gets better means as more arrive.
#[derive(Clone, Debug, Default)]
struct Means {
    overall: (Vec<f32>, usize),
    by_lang: HashMap<String, (Vec<f32>, usize)>,
}

impl Means {
    fn add(&mut self, lang: &str, u: &[f32], times: usize) {
        for (sum, n) in [
            &mut self.overall,
            self.by_lang.entry(lang.to_string()).or_default(),
        ] {
            if sum.len() != u.len() {
                *sum = vec![0.0; u.len()];
            }
            for (s, x) in sum.iter_mut().zip(u) {
                *s += x * times as f32;
            }
            *n += times;
        }
    }

    /// The mean a document of `lang` is centred with ([`super::means`]'s rule).
    fn of(&self, lang: &str) -> Vec<f32> {
        let (sum, n) = match self.by_lang.get(lang) {
            Some(l) if l.1 >= MIN_LANGUAGE_MEAN => l,
            _ => &self.overall,
        };
        sum.iter().map(|s| s / (*n).max(1) as f32).collect()
    }
}

fn centre(u: &[f32], mean: &[f32]) -> Vec<f32> {
    if mean.len() != u.len() {
        return u.to_vec();
    }
    unit(&u.iter().zip(mean).map(|(x, m)| x - m).collect::<Vec<f32>>())
}

/// A document placed by [`Model::place`].
pub struct Doc<'a> {
    pub id: &'a str,
    pub lang: &'a str,
    /// Seconds since the epoch.
    pub time: i64,
    /// Its e5 vector (as embedded, not centred).
    pub vector: &'a [f32],
    pub text: &'a str,
}

/// Where [`Model::place`] put a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Placed {
    /// It joined this narrative.
    Joined(String),
    /// It and the waiting document `with` started a narrative; its id is the caller's to name
    /// ([`super::narrative_id`] of the earlier of the two), its label words per language.
    Started {
        with: String,
        labels: BTreeMap<String, Vec<String>>,
    },
    /// It waits.
    Alone,
}

/// The narratives as the last full run left them, grown since.
#[derive(Clone, Debug)]
pub struct Model {
    params: Params,
    means: Means,
    centres: Vec<Centre>,
    pool: VecDeque<Waiting>,
}

impl Model {
    /// The model of a full run: `items` as clustered, `ids` their document ids, `found` what
    /// [`super::cluster`] returned and `names` the id each narrative is stored under (`None`:
    /// not stored).
    pub fn from_run(
        items: &[Item<'_>],
        ids: &[&str],
        found: &[Narrative],
        names: &[Option<String>],
        params: &Params,
    ) -> Model {
        let (overall, by_lang) = means(items);
        let vectors = centred_with(items, &overall, &by_lang);
        let mut running = Means::default();
        for i in items {
            running.add(i.lang, &unit(i.vector), 1);
        }
        let mut taken = vec![false; items.len()];
        let mut centres = Vec::new();
        for (n, name) in found.iter().zip(names) {
            let Some(name) = name else { continue };
            let mut sum = vec![0f32; items.first().map_or(0, |i| i.vector.len())];
            for &m in &n.members {
                taken[m] = true;
                for (s, x) in sum.iter_mut().zip(&vectors[m]) {
                    *s += x;
                }
            }
            centres.push(Centre {
                id: name.clone(),
                centroid: unit(&sum),
                sum,
            });
        }
        let mut loners: Vec<usize> = (0..items.len()).filter(|&i| !taken[i]).collect();
        loners.sort_by_key(|&i| (items[i].time.unwrap_or(i64::MIN), i));
        let skip = loners.len().saturating_sub(POOL);
        let pool = loners[skip..]
            .iter()
            .map(|&i| Waiting {
                id: ids[i].to_string(),
                lang: items[i].lang.to_string(),
                time: items[i].time.unwrap_or(0),
                unit: unit(items[i].vector),
                text: items[i].text.chars().take(TEXT_KEPT).collect(),
            })
            .collect();
        Model {
            params: *params,
            means: running,
            centres,
            pool,
        }
    }

    /// Narratives it knows.
    pub fn narratives(&self) -> usize {
        self.centres.len()
    }

    /// Documents waiting.
    pub fn waiting(&self) -> usize {
        self.pool.len()
    }

    /// Renames a narrative (a full run's that carries on one known before under its id).
    pub fn rename(&mut self, from: &str, to: &str) {
        for c in &mut self.centres {
            if c.id == from {
                c.id = to.to_string();
            }
        }
    }

    /// Names the narrative [`Placed::Started`] made (the caller derives the id).
    pub fn name_last(&mut self, id: String) {
        if let Some(c) = self.centres.last_mut() {
            c.id = id;
        }
    }

    /// Places one document; waiting documents older than `oldest` (seconds) are let go first.
    pub fn place(&mut self, d: &Doc<'_>, oldest: i64) -> Placed {
        while self.pool.front().is_some_and(|w| w.time < oldest) {
            self.pool.pop_front();
        }
        let u = unit(d.vector);
        self.means.add(d.lang, &u, 1);
        let v = centre(&u, &self.means.of(d.lang));
        let best = self
            .centres
            .iter()
            .enumerate()
            .map(|(c, centre)| (c, dot(&centre.centroid, &v)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((c, cos)) = best
            && cos >= self.params.join
        {
            let centre = &mut self.centres[c];
            for (s, x) in centre.sum.iter_mut().zip(&v) {
                *s += x;
            }
            centre.centroid = unit(&centre.sum);
            return Placed::Joined(centre.id.clone());
        }
        let mut langs: HashMap<&str, Vec<f32>> = HashMap::new();
        for w in &self.pool {
            if !langs.contains_key(w.lang.as_str()) {
                langs.insert(w.lang.as_str(), self.means.of(&w.lang));
            }
        }
        let near = self
            .pool
            .iter()
            .enumerate()
            .map(|(w, waiting)| {
                let c = centre(&waiting.unit, &langs[waiting.lang.as_str()]);
                (w, dot(&c, &v), c)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if self.params.min_members <= 2
            && let Some((w, cos, other_v)) = near
            && cos >= self.params.join
            && let Some(other) = self.pool.remove(w)
        {
            let labels = self.label(&other, d);
            let sum: Vec<f32> = other_v.iter().zip(&v).map(|(a, b)| a + b).collect();
            self.centres.push(Centre {
                id: String::new(),
                centroid: unit(&sum),
                sum,
            });
            return Placed::Started {
                with: other.id,
                labels,
            };
        }
        self.pool.push_back(Waiting {
            id: d.id.to_string(),
            lang: d.lang.to_string(),
            time: d.time,
            unit: u,
            text: d.text.chars().take(TEXT_KEPT).collect(),
        });
        if self.pool.len() > POOL {
            self.pool.pop_front();
        }
        Placed::Alone
    }

    /// The label words of a narrative of two documents, against the waiting ones (so that words
    /// every post uses do not label it).
    fn label(&self, a: &Waiting, b: &Doc<'_>) -> BTreeMap<String, Vec<String>> {
        let background: Vec<&Waiting> = self.pool.iter().rev().take(500).collect();
        let dummy: [f32; 0] = [];
        let mut items = vec![
            Item {
                text: &a.text,
                lang: &a.lang,
                time: None,
                vector: &dummy,
            },
            Item {
                text: b.text,
                lang: b.lang,
                time: None,
                vector: &dummy,
            },
        ];
        items.extend(background.iter().map(|w| Item {
            text: &w.text,
            lang: &w.lang,
            time: None,
            vector: &dummy,
        }));
        let clusters = [
            Cluster {
                sum: Vec::new(),
                members: vec![0, 1],
            },
            Cluster {
                sum: Vec::new(),
                members: (2..items.len()).collect(),
            },
        ];
        label_words(&items, &clusters)
            .into_iter()
            .next()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::item;
    use super::*;

    #[test]
    fn documents_join_split_off_or_wait() {
        // Two stories and noise, in one language (the overall mean stands in).
        let a = [1.0, 0.1, 0.0, 0.0];
        let b = [0.0, 0.0, 1.0, 0.1];
        let noise = [0.0, 1.0, 0.0, 0.0];
        let items = vec![
            item("metro closes metro", "en", &a, 1),
            item("metro closed again", "en", &a, 2),
            item("weather is fine", "en", &noise, 3),
        ];
        let params = Params::default();
        let found = crate::narratives::cluster(&items, &params);
        assert_eq!(found.len(), 1);
        let mut m = Model::from_run(
            &items,
            &["d1", "d2", "d3"],
            &found,
            &[Some("n1".into())],
            &params,
        );
        assert_eq!((m.narratives(), m.waiting()), (1, 1));
        fn doc<'a>(id: &'a str, v: &'a [f32], text: &'a str) -> Doc<'a> {
            Doc {
                id,
                lang: "en",
                time: 10,
                vector: v,
                text,
            }
        }
        assert_eq!(
            m.place(&doc("d4", &[1.0, 0.12, 0.0, 0.0], "metro again"), 0),
            Placed::Joined("n1".into())
        );
        assert_eq!(
            m.place(&doc("d5", &[0.0, 0.0, 1.0, 0.1], "power cuts tonight"), 0),
            Placed::Alone
        );
        match m.place(&doc("d6", &[0.0, 0.0, 1.0, 0.12], "power cuts again"), 0) {
            Placed::Started { with, labels } => {
                assert_eq!(with, "d5");
                assert!(labels["en"].contains(&"power".to_string()), "{labels:?}");
            }
            other => panic!("{other:?}"),
        }
        m.name_last("n2".into());
        assert_eq!(
            m.place(&doc("d7", &b, "cuts"), 0),
            Placed::Joined("n2".into())
        );
        // Waiting documents older than the window are let go.
        assert_eq!(m.place(&doc("d8", &noise, "x"), 100), Placed::Alone);
        assert_eq!(m.waiting(), 1);
    }
}
