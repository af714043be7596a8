//! CooRTweet 2.1.3 reproduced exactly: `detect_groups(x, time_window, min_participation,
//! remove_loops = TRUE)` and `generate_coordinated_network(result, edge_weight, subgraph = 1)`.
//!
//! CooRTweet is the tool most studies of coordinated behaviour cite, so a study moving to Varta
//! must get the same pairs and edges, row for row. The rules below are its R code's, including the
//! parts that follow from data.table's and igraph's ordering rather than from a stated design:
//!
//! - accounts with fewer than `min_participation` rows are dropped, and the rest regrouped by
//!   account in order of first appearance (that order decides which share of a tie is "older" and
//!   which end of an edge is `from`);
//! - every unordered pair of shares of one object within the window (inclusive) is a pair, listed
//!   by the later row of the pair, then the earlier (a non-equi self join on row number);
//! - loops are dropped (same account, same content, or the object is one of the contents);
//! - a pair is kept when either content belongs to an account with at least `min_participation`
//!   rows whose content appears in some pair (an OR, counted in rows);
//! - the older share is put first; ties keep the row order;
//! - edges group pairs by (smaller, larger) account: weight = pairs, mean time delta, distinct
//!   older-side and newer-side contents, their ratio as symmetry; the threshold is R's type 7
//!   quantile of all weights at `edge_weight`, an edge kept when its weight is strictly above it;
//! - `from` is the end that comes first in igraph's vertex order: the smaller accounts of the
//!   edges in order of first appearance, then the larger ones.
//!
//! Pairs within each object are found by sorting its shares by time, so the work is the pairs in
//! the window, not the square of the shares. Nothing is deduplicated, as in CooRTweet.

use rustc_hash::FxHashMap;

/// The shares read, with their strings interned: object ids and content ids share one table, so
/// that "the object is one of the contents" is a comparison of numbers.
#[derive(Default)]
pub struct Shares {
    names: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u32>,
    rows: Vec<ShareRow>,
}

#[derive(Clone, Copy, Debug)]
struct ShareRow {
    object: u32,
    account: u32,
    content: u32,
    time: f64,
}

/// One pair of `detect_groups`' result: the older share first (`content`, `account`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairRow {
    pub object: u32,
    pub content: u32,
    pub content_y: u32,
    pub time_delta: f64,
    pub account: u32,
    pub account_y: u32,
}

/// One edge of `generate_coordinated_network(..., subgraph = 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EdgeRow {
    pub from: u32,
    pub to: u32,
    pub weight: u64,
    pub avg_time_delta: f64,
    pub n_content_id: u64,
    pub n_content_id_y: u64,
    pub edge_symmetry_score: f64,
}

/// The network: the edges above the threshold, and the threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub edges: Vec<EdgeRow>,
    /// The quantile of all edges' weights at `edge_weight` (R's type 7).
    pub threshold: f64,
    /// Edges before the threshold.
    pub all_edges: usize,
}

impl Shares {
    pub fn new() -> Shares {
        Shares::default()
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(s.into());
        self.ids.insert(s.into(), i);
        i
    }

    /// Appends one share, in file order (the order matters; see the module's notes).
    pub fn push(&mut self, object: &str, account: &str, content: &str, time: f64) {
        let row = ShareRow {
            object: self.intern(object),
            account: self.intern(account),
            content: self.intern(content),
            time,
        };
        self.rows.push(row);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The string an id stands for.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }

    /// The rows left by the first participation filter, regrouped by account in order of first
    /// appearance (data.table's `by` keeps that order; rows of an account keep theirs).
    fn participating(&self, min_participation: u64) -> Vec<ShareRow> {
        let mut count: FxHashMap<u32, u64> = FxHashMap::default();
        let mut first: FxHashMap<u32, usize> = FxHashMap::default();
        for (i, r) in self.rows.iter().enumerate() {
            *count.entry(r.account).or_insert(0) += 1;
            first.entry(r.account).or_insert(i);
        }
        let mut kept: Vec<(usize, usize)> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| count.get(&r.account).copied().unwrap_or(0) >= min_participation)
            .map(|(i, r)| (first.get(&r.account).copied().unwrap_or(i), i))
            .collect();
        kept.sort_unstable();
        kept.into_iter().map(|(_, i)| self.rows[i]).collect()
    }

    /// `detect_groups(x, time_window = window, min_participation, remove_loops = TRUE)`: the
    /// pairs in CooRTweet's own order (before any sort for output).
    pub fn detect_groups(&self, window: f64, min_participation: u64) -> Vec<PairRow> {
        let x = self.participating(min_participation);
        // Shares per object, objects in order of first appearance in `x`.
        let mut object_slot: FxHashMap<u32, usize> = FxHashMap::default();
        let mut by_object: Vec<Vec<u32>> = Vec::new();
        for (i, r) in x.iter().enumerate() {
            let slot = *object_slot.entry(r.object).or_insert_with(|| {
                by_object.push(Vec::new());
                by_object.len() - 1
            });
            by_object[slot].push(i as u32);
        }
        let mut result: Vec<(u32, u32)> = Vec::new();
        let mut found: Vec<(u32, u32)> = Vec::new();
        let mut by_time: Vec<(f64, u32)> = Vec::new();
        for shares in &by_object {
            by_time.clear();
            by_time.extend(
                shares
                    .iter()
                    .enumerate()
                    .map(|(k, &i)| (x[i as usize].time, k as u32)),
            );
            by_time.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            found.clear();
            for a in 0..by_time.len() {
                let (ta, ka) = by_time[a];
                for &(tb, kb) in &by_time[a + 1..] {
                    if tb - ta > window {
                        break;
                    }
                    // (later row, earlier row): the join lists pairs by its right-hand row.
                    found.push((ka.max(kb), ka.min(kb)));
                }
            }
            found.sort_unstable();
            result.extend(
                found
                    .iter()
                    .map(|&(k, j)| (shares[j as usize], shares[k as usize])),
            );
        }
        let pair = |&(j, k): &(u32, u32)| {
            let (a, b) = (x[j as usize], x[k as usize]);
            PairRow {
                object: a.object,
                content: a.content,
                content_y: b.content,
                time_delta: a.time - b.time,
                account: a.account,
                account_y: b.account,
            }
        };
        let mut pairs: Vec<PairRow> = result
            .iter()
            .map(pair)
            .filter(|p| {
                p.object != p.content
                    && p.object != p.content_y
                    && p.content != p.content_y
                    && p.account != p.account_y
            })
            .collect();
        // The second participation filter: per account, its rows whose content is in a pair.
        let mut in_pairs: rustc_hash::FxHashSet<u32> = rustc_hash::FxHashSet::default();
        for p in &pairs {
            in_pairs.insert(p.content);
            in_pairs.insert(p.content_y);
        }
        let mut count: FxHashMap<u32, u64> = FxHashMap::default();
        for r in x.iter().filter(|r| in_pairs.contains(&r.content)) {
            *count.entry(r.account).or_insert(0) += 1;
        }
        let kept_contents: rustc_hash::FxHashSet<u32> = x
            .iter()
            .filter(|r| {
                in_pairs.contains(&r.content)
                    && count.get(&r.account).copied().unwrap_or(0) >= min_participation
            })
            .map(|r| r.content)
            .collect();
        pairs
            .retain(|p| kept_contents.contains(&p.content) || kept_contents.contains(&p.content_y));
        for p in &mut pairs {
            if p.time_delta > 0.0 {
                std::mem::swap(&mut p.content, &mut p.content_y);
                std::mem::swap(&mut p.account, &mut p.account_y);
            }
            p.time_delta = p.time_delta.abs();
        }
        pairs
    }

    /// `pairs` sorted as CooRTweet's output files are: by object, content, content_y, as bytes.
    pub fn sorted_pairs(&self, pairs: &[PairRow]) -> Vec<PairRow> {
        let mut out = pairs.to_vec();
        out.sort_by(|a, b| {
            self.name(a.object)
                .cmp(self.name(b.object))
                .then_with(|| self.name(a.content).cmp(self.name(b.content)))
                .then_with(|| self.name(a.content_y).cmp(self.name(b.content_y)))
        });
        out
    }

    /// `generate_coordinated_network(pairs, edge_weight, subgraph = 1)`, edges sorted by
    /// (from, to) as bytes. `pairs` must be in [`Shares::detect_groups`]' order.
    pub fn network(&self, pairs: &[PairRow], edge_weight: f64) -> Network {
        let mut slot: FxHashMap<(u32, u32), usize> = FxHashMap::default();
        // Per edge: (smaller, larger) account, rows, sum of deltas.
        let mut edges: Vec<((u32, u32), u64, Vec<f64>)> = Vec::new();
        let mut contents: Vec<(usize, u32)> = Vec::new();
        let mut contents_y: Vec<(usize, u32)> = Vec::new();
        for p in pairs {
            let key = if self.name(p.account) <= self.name(p.account_y) {
                (p.account, p.account_y)
            } else {
                (p.account_y, p.account)
            };
            let e = *slot.entry(key).or_insert_with(|| {
                edges.push((key, 0, Vec::new()));
                edges.len() - 1
            });
            edges[e].1 += 1;
            edges[e].2.push(p.time_delta);
            contents.push((e, p.content));
            contents_y.push((e, p.content_y));
        }
        let distinct = |mut v: Vec<(usize, u32)>| {
            v.sort_unstable();
            v.dedup();
            let mut n = vec![0u64; edges.len()];
            for (e, _) in v {
                n[e] += 1;
            }
            n
        };
        let n_content = distinct(contents);
        let n_content_y = distinct(contents_y);
        let mut weights: Vec<f64> = edges.iter().map(|e| e.1 as f64).collect();
        let threshold = quantile7(&mut weights, edge_weight);
        // igraph's vertex order: the first column's names by first appearance, then the second's.
        let mut vertex: FxHashMap<u32, usize> = FxHashMap::default();
        for &((a, _), _, _) in &edges {
            let next = vertex.len();
            vertex.entry(a).or_insert(next);
        }
        for &((_, b), _, _) in &edges {
            let next = vertex.len();
            vertex.entry(b).or_insert(next);
        }
        let all_edges = edges.len();
        let mut out: Vec<EdgeRow> = edges
            .iter()
            .enumerate()
            .filter(|(_, e)| e.1 as f64 > threshold)
            .map(|(i, &((a, b), weight, ref deltas))| {
                let (from, to) = if vertex.get(&a) <= vertex.get(&b) {
                    (a, b)
                } else {
                    (b, a)
                };
                let (nc, ncy) = (n_content[i], n_content_y[i]);
                EdgeRow {
                    from,
                    to,
                    weight,
                    avg_time_delta: r_mean(deltas),
                    n_content_id: nc,
                    n_content_id_y: ncy,
                    edge_symmetry_score: nc.min(ncy) as f64 / nc.max(ncy).max(1) as f64,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            self.name(a.from)
                .cmp(self.name(b.from))
                .then_with(|| self.name(a.to).cmp(self.name(b.to)))
        });
        Network {
            edges: out,
            threshold,
            all_edges,
        }
    }
}

/// R's `quantile(x, p)` with its default type 7, as R computes it (`(1 - h) * lo + h * hi`);
/// `x` is sorted in place. NaN when `x` is empty.
pub fn quantile7(x: &mut [f64], p: f64) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.sort_unstable_by(f64::total_cmp);
    let index = 1.0 + (x.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = index.floor();
    let hi = index.ceil();
    let at = |i: f64| x[(i as usize).saturating_sub(1).min(x.len() - 1)];
    let q = at(lo);
    if index > lo && at(hi) != q {
        let h = index - lo;
        (1.0 - h) * q + h * at(hi)
    } else {
        q
    }
}

/// R's `mean`, which sums in extended precision: a compensated (Neumaier) sum over n, so that a
/// mean of whole seconds is the correctly rounded quotient, as R's is. (R's second pass, adding
/// the mean residual, is done in its extended precision too; in doubles it would add rounding
/// error, not remove it.)
fn r_mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    for &x in v {
        let t = sum + x;
        carry += if sum.abs() >= x.abs() {
            (sum - t) + x
        } else {
            (x - t) + sum
        };
        sum = t;
    }
    (sum + carry) / v.len() as f64
}

/// A number as R writes it to CSV: up to 15 significant digits, no trailing zeros.
pub fn r_number(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NA".into()
        } else if v > 0.0 {
            "Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let sci = format!("{v:.14e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if neg { "-" } else { "" };
    if !(-5..15).contains(&exp) {
        let (head, tail) = digits.split_at(1);
        let tail = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        return format!(
            "{sign}{head}{tail}e{}{:02}",
            if exp < 0 { "-" } else { "+" },
            exp.abs()
        );
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(rows: &[(&str, &str, &str, f64)]) -> Shares {
        let mut s = Shares::new();
        for &(o, a, c, t) in rows {
            s.push(o, a, c, t);
        }
        s
    }

    #[test]
    fn numbers_as_r_writes_them() {
        assert_eq!(r_number(36.0), "36");
        assert_eq!(r_number(49.0 / 3.0), "16.3333333333333");
        assert_eq!(r_number(2.0 / 3.0), "0.666666666666667");
        assert_eq!(r_number(0.5), "0.5");
        assert_eq!(r_number(9.428571428571429), "9.42857142857143");
        assert_eq!(r_number(0.0001), "0.0001");
        assert_eq!(r_number(-2.5), "-2.5");
    }

    #[test]
    fn type7_quantiles() {
        assert_eq!(quantile7(&mut [1.0, 1.0, 2.0, 5.0], 0.5), 1.5);
        assert_eq!(quantile7(&mut [3.0, 1.0, 2.0], 0.5), 2.0);
        assert_eq!(quantile7(&mut [1.0, 2.0, 3.0, 4.0, 5.0], 0.9), 4.6);
        assert!(quantile7(&mut [], 0.5).is_nan());
    }

    #[test]
    fn pairs_within_the_window_oldest_first_without_loops() {
        let s = shares(&[
            ("o1", "a", "c1", 100.0),
            ("o1", "b", "c2", 90.0),
            ("o1", "c", "c3", 200.0),
            ("o2", "a", "c4", 10.0),
            ("o2", "b", "c5", 10.0),
            ("o2", "a", "c6", 12.0),
            ("o3", "c", "c7", 0.0),
        ]);
        let pairs = s.detect_groups(60.0, 2);
        let named: Vec<(String, String, f64, String, String)> = pairs
            .iter()
            .map(|p| {
                (
                    s.name(p.object).into(),
                    s.name(p.content).into(),
                    p.time_delta,
                    s.name(p.account).into(),
                    s.name(p.account_y).into(),
                )
            })
            .collect();
        // Rows regrouped by account (a, b, c); within o1 the pair (a's c1, b's c2) with b older;
        // within o2 a's two rows are a loop; the tie (c4, c5) keeps a's row first; c's rows have
        // no partner within 60 s.
        assert_eq!(
            named,
            vec![
                ("o1".into(), "c2".into(), 10.0, "b".into(), "a".into()),
                ("o2".into(), "c4".into(), 0.0, "a".into(), "b".into()),
                ("o2".into(), "c5".into(), 2.0, "b".into(), "a".into()),
            ]
        );
        let net = s.network(&pairs, 0.5);
        assert_eq!(net.all_edges, 1);
        // One edge of weight 3: the median is 3, and nothing is strictly above it.
        assert!(net.edges.is_empty());
        let net = s.network(&pairs, 0.0);
        assert!(net.edges.is_empty());
    }

    #[test]
    fn participation_is_counted_in_rows() {
        // Account "d" has one row: dropped before pairing at min_participation 2.
        let s = shares(&[
            ("o1", "a", "c1", 0.0),
            ("o1", "d", "c2", 1.0),
            ("o2", "a", "c3", 0.0),
        ]);
        assert!(s.detect_groups(60.0, 2).is_empty());
        assert_eq!(s.detect_groups(60.0, 1).len(), 1);
    }

    #[test]
    fn from_follows_the_vertex_order_not_the_alphabet() {
        // Edge (m, z) comes first, so m is vertex 0; edge (a, m) then gives a vertex 1, and its
        // `from` is m although a sorts first.
        let mut rows = Vec::new();
        for (o, t) in [("o1", 0.0), ("o2", 100.0)] {
            rows.push((o, "m", format!("{o}m"), t));
            rows.push((o, "z", format!("{o}z"), t + 1.0));
        }
        for (o, t) in [("o3", 500.0), ("o4", 600.0), ("o5", 700.0)] {
            rows.push((o, "m", format!("{o}m"), t));
            rows.push((o, "a", format!("{o}a"), t + 1.0));
        }
        let mut s = Shares::new();
        for (o, a, c, t) in &rows {
            s.push(o, a, c, *t);
        }
        let pairs = s.detect_groups(10.0, 2);
        let net = s.network(&pairs, 0.0);
        let got: Vec<(&str, &str, u64)> = net
            .edges
            .iter()
            .map(|e| (s.name(e.from), s.name(e.to), e.weight))
            .collect();
        assert_eq!(net.threshold, 2.0);
        assert_eq!(got, vec![("m", "a", 3)]);
    }
}
