//! Bursts: when something (a narrative, a link, a hashtag, a claim, a rule's matches) is
//! suddenly a larger share of what arrives than it usually is.
//!
//! # What it detects
//! Kleinberg's two-state automaton over periods: in period `t`, `r[t]` of the `d[t]` documents
//! that arrived are the target. A base state expects the overall share `p0 = Σr / Σd`, a burst
//! state `p1 = s · p0` (at most 0.99999); each period is charged the binomial fit of its counts to
//! the state's share, and entering the burst state costs `γ · ln n`. The state sequence is chosen
//! as the reference implementation (PyPI `burst_detection` 0.1.3) chooses it: period by period,
//! the cheaper state given the previous one, so that the intervals are identical to it.
//!
//! # Why it matters
//! A narrative that takes off, a debunked claim coming back, a rule that suddenly matches: the
//! start of a burst is the moment to warn.
//!
//! # Example
//! Shares of 1% for twenty hours, then 10% for three hours: one burst over those three hours.
//!
//! # Limitations
//! The periods must be chosen (an hour, ten minutes); a burst shorter than a period is diluted.
//! Without smoothing (the reference's `smooth_win = 1`).

/// The automaton's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// How much larger the burst state's share is than the base share.
    pub s: f64,
    /// How hard it is to enter the burst state.
    pub gamma: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params { s: 2.0, gamma: 1.0 }
    }
}

/// A burst: periods `begin..=end`, and its weight (how much better the burst state explains
/// them than the base state).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Burst {
    pub begin: usize,
    pub end: usize,
    pub weight: f64,
}

/// Why a series cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BurstError {
    #[error("the target and total series differ in length ({targets} and {totals} periods)")]
    Lengths { targets: usize, totals: usize },
    #[error("period {period}: {target} targets of {total} documents")]
    MoreTargetsThanTotal {
        period: usize,
        target: u64,
        total: u64,
    },
    #[error("the series has no target documents (or no documents) at all")]
    Empty,
    #[error("s must be above 1 and gamma above 0")]
    Params,
}

/// The fit cost of `r` of `d` at share `p`, without the binomial coefficient (the same for
/// every state, so it changes no choice and cancels in every weight).
fn fit(d: u64, r: u64, p: f64) -> f64 {
    let (d, r) = (d as f64, r as f64);
    let a = if r > 0.0 { r * p.ln() } else { 0.0 };
    let b = if d - r > 0.0 {
        (d - r) * (1.0 - p).ln()
    } else {
        0.0
    };
    -(a + b)
}

/// The state (0 base, 1 burst) of each period.
pub fn states(r: &[u64], d: &[u64], params: Params) -> Result<Vec<u8>, BurstError> {
    if r.len() != d.len() {
        return Err(BurstError::Lengths {
            targets: r.len(),
            totals: d.len(),
        });
    }
    if params.s <= 1.0 || params.gamma <= 0.0 || params.s.is_nan() || params.gamma.is_nan() {
        return Err(BurstError::Params);
    }
    for (t, (&rt, &dt)) in r.iter().zip(d).enumerate() {
        if rt > dt {
            return Err(BurstError::MoreTargetsThanTotal {
                period: t,
                target: rt,
                total: dt,
            });
        }
    }
    let (sr, sd) = (r.iter().sum::<u64>(), d.iter().sum::<u64>());
    if sr == 0 || sd == 0 {
        return Err(BurstError::Empty);
    }
    let p0 = sr as f64 / sd as f64;
    let mut p1 = p0 * params.s;
    if p1 > 1.0 {
        p1 = 0.99999;
    }
    let enter = params.gamma * (r.len() as f64).ln();
    let mut q = Vec::with_capacity(r.len());
    let mut prev = 0u8;
    for (&rt, &dt) in r.iter().zip(d) {
        // Entering costs; staying or leaving is free.
        let c0 = fit(dt, rt, p0);
        let c1 = if prev == 1 { 0.0 } else { enter } + fit(dt, rt, p1);
        // On a tie the reference takes the first state.
        prev = if c1 < c0 { 1 } else { 0 };
        q.push(prev);
    }
    Ok(q)
}

/// The bursts of a series, in time order.
pub fn bursts(r: &[u64], d: &[u64], params: Params) -> Result<Vec<Burst>, BurstError> {
    let q = states(r, d, params)?;
    let p0 = r.iter().sum::<u64>() as f64 / d.iter().sum::<u64>() as f64;
    let p1 = if p0 * params.s > 1.0 {
        0.99999
    } else {
        p0 * params.s
    };
    let mut out = Vec::new();
    let mut t = 0;
    while t < q.len() {
        if q[t] == 1 {
            let begin = t;
            while t + 1 < q.len() && q[t + 1] == 1 {
                t += 1;
            }
            let weight = (begin..=t)
                .map(|i| fit(d[i], r[i], p0) - fit(d[i], r[i], p1))
                .sum();
            out.push(Burst {
                begin,
                end: t,
                weight,
            });
        }
        t += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_surge_is_one_burst() {
        let mut r = vec![1u64; 20];
        r.extend([10, 12, 11]);
        r.extend(vec![1; 10]);
        let d = vec![100u64; r.len()];
        let b = bursts(&r, &d, Params::default()).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].begin, b[0].end), (20, 22));
        assert!(b[0].weight > 0.0);
    }

    #[test]
    fn flat_series_have_no_burst_and_bad_ones_say_why() {
        assert!(
            bursts(&[5; 30], &[100; 30], Params::default())
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            bursts(&[1, 2], &[1], Params::default()),
            Err(BurstError::Lengths { .. })
        ));
        assert!(matches!(
            bursts(&[3], &[2], Params::default()),
            Err(BurstError::MoreTargetsThanTotal { .. })
        ));
        assert!(matches!(
            bursts(&[0, 0], &[5, 5], Params::default()),
            Err(BurstError::Empty)
        ));
        assert!(matches!(
            bursts(&[1], &[2], Params { s: 1.0, gamma: 1.0 }),
            Err(BurstError::Params)
        ));
    }
}
