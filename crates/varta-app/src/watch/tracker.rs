//! Arrivals per period for every watched key (a rule, a claim, a hashtag, a link), and the
//! question Kleinberg's automaton answers for each: is it bursting now?
//!
//! Counts are sparse (a key keeps only the periods it occurred in) and pruned to the history
//! window, so memory follows the distinct keys of the window, not the stream's length. "Now" is
//! the latest document time seen (never ahead of the clock), so a replayed day bursts as the
//! live day would.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use varta_detect::bursts;

/// A burst still going on in the latest period.
#[derive(Debug, Clone, PartialEq)]
pub struct Ongoing {
    /// Start of the burst's first period (ms since the epoch).
    pub begin_ms: i64,
    /// End of its latest period.
    pub end_ms: i64,
    pub weight: f64,
    /// The key's documents over the burst's periods.
    pub count: u64,
    /// The key's share of all documents over the burst, and over the whole history.
    pub share: f64,
    pub base_share: f64,
}

pub struct Tracker {
    period_ms: i64,
    periods: i64,
    params: bursts::Params,
    min_count: u64,
    totals: BTreeMap<i64, u64>,
    keys: HashMap<String, VecDeque<(i64, u64)>>,
    latest: i64,
    /// `latest` when the keys were last pruned.
    pruned_at: i64,
    touched: HashSet<String>,
}

impl Tracker {
    pub fn new(period_ms: i64, history_ms: i64, params: bursts::Params, min_count: u64) -> Tracker {
        let period_ms = period_ms.max(1);
        Tracker {
            period_ms,
            periods: (history_ms / period_ms).max(1),
            params,
            min_count,
            totals: BTreeMap::new(),
            keys: HashMap::new(),
            latest: i64::MIN,
            pruned_at: i64::MIN,
            touched: HashSet::new(),
        }
    }

    fn period(&self, t_ms: i64) -> i64 {
        t_ms.div_euclid(self.period_ms)
    }

    /// One document arrived at `t_ms` (clamped to `now_ms`), counted under `keys` (each once).
    pub fn add(&mut self, t_ms: i64, now_ms: i64, keys: &[String]) {
        let p = self.period(t_ms.min(now_ms));
        if p > self.latest {
            self.latest = p;
            self.prune();
        }
        if p <= self.latest - self.periods {
            return;
        }
        *self.totals.entry(p).or_insert(0) += 1;
        let mut seen = HashSet::new();
        for k in keys {
            if !seen.insert(k) {
                continue;
            }
            let q = self.keys.entry(k.clone()).or_default();
            match q.iter_mut().rev().find(|(pp, _)| *pp == p) {
                Some((_, n)) => *n += 1,
                None => {
                    q.push_back((p, 1));
                    q.make_contiguous().sort_unstable_by_key(|e| e.0);
                }
            }
            self.touched.insert(k.clone());
        }
    }

    /// A document already counted in the totals turned out to belong to `key` too (a
    /// narrative found after it arrived).
    pub fn add_key(&mut self, t_ms: i64, now_ms: i64, key: &str) {
        let p = self.period(t_ms.min(now_ms));
        if p <= self.latest - self.periods || p > self.latest {
            return;
        }
        let q = self.keys.entry(key.to_string()).or_default();
        match q.iter_mut().rev().find(|(pp, _)| *pp == p) {
            Some((_, n)) => *n += 1,
            None => {
                q.push_back((p, 1));
                q.make_contiguous().sort_unstable_by_key(|e| e.0);
            }
        }
        self.touched.insert(key.to_string());
    }

    fn prune(&mut self) {
        let first = self.latest - self.periods + 1;
        while self
            .totals
            .first_key_value()
            .is_some_and(|(&p, _)| p < first)
        {
            self.totals.pop_first();
        }
        // Every key is visited only once a thirty-second of the history has passed (readers skip
        // older periods): visiting a day's million keys each minute was most of a restart's
        // rebuild.
        if self.latest.saturating_sub(self.pruned_at) < (self.periods / 32).max(1) {
            return;
        }
        self.pruned_at = self.latest;
        self.keys.retain(|_, q| {
            while q.front().is_some_and(|e| e.0 < first) {
                q.pop_front();
            }
            !q.is_empty()
        });
    }

    /// The keys counted since the last call, bursting now, with their bursts.
    pub fn take_bursts(&mut self) -> Vec<(String, Ongoing)> {
        let touched: Vec<String> = self.touched.drain().collect();
        let mut out = Vec::new();
        for k in touched {
            if let Some(b) = self.ongoing(&k) {
                out.push((k, b));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The burst of `key` that includes the latest period, if any.
    pub fn ongoing(&self, key: &str) -> Option<Ongoing> {
        let q = self.keys.get(key)?;
        let last = q.back()?;
        if last.0 != self.latest || last.1 < self.min_count {
            return None;
        }
        let first = self.latest - self.periods + 1;
        let n = usize::try_from(self.periods).ok()?;
        let mut d = vec![0u64; n];
        let mut r = vec![0u64; n];
        for (&p, &c) in self.totals.range(first..) {
            d[usize::try_from(p - first).ok()?] = c;
        }
        for &(p, c) in q {
            if p >= first {
                r[usize::try_from(p - first).ok()?] = c;
            }
        }
        let found = bursts::bursts(&r, &d, self.params).ok()?;
        let b = found.into_iter().find(|b| b.end == n - 1)?;
        let (sr, sd): (u64, u64) = (b.begin..=b.end).fold((0, 0), |(a, c), i| (a + r[i], c + d[i]));
        let (tr, td): (u64, u64) = (r.iter().sum(), d.iter().sum());
        Some(Ongoing {
            begin_ms: (first + b.begin as i64) * self.period_ms,
            end_ms: (first + b.end as i64 + 1) * self.period_ms,
            weight: b.weight,
            count: sr,
            share: sr as f64 / sd.max(1) as f64,
            base_share: tr as f64 / td.max(1) as f64,
        })
    }

    /// Distinct keys held (for the memory bench and the status).
    pub fn keys(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_surge_bursts_and_old_periods_are_forgotten() {
        let minute = 60_000;
        let mut t = Tracker::new(minute, 60 * minute, bursts::Params::default(), 5);
        let k = vec!["rule:x".to_string()];
        // One hour: 100 documents a minute, 1 of them matching.
        for m in 0..60 {
            for i in 0..100 {
                let keys: &[String] = if i == 0 { &k } else { &[] };
                t.add(m * minute + i, i64::MAX, keys);
            }
        }
        assert!(t.take_bursts().is_empty(), "one a minute is the base rate");
        // Then a minute with 30 of 100 matching.
        for i in 0..100 {
            let keys: &[String] = if i < 30 { &k } else { &[] };
            t.add(60 * minute + i, i64::MAX, keys);
        }
        let b = t.take_bursts();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].1.begin_ms, 60 * minute);
        assert_eq!(b[0].1.count, 30);
        // A day later everything before has left the window.
        t.add(24 * 60 * minute, i64::MAX, &[]);
        assert_eq!(t.keys(), 0);
        assert_eq!(t.totals.len(), 1);
    }
}
