//! Bursts against the reference implementation, PyPI `burst_detection` 0.1.3 (Kleinberg's
//! two-state automaton over counts per period), on generated series: identical intervals, the
//! same weights. Needs a Python with burst_detection 0.1.3, numpy 1.23.5, pandas 1.5.3 and mpmath
//! (`$VARTA_BURSTS_PYTHON`, else `python3`); `.ci/run` makes that venv.

#![cfg(feature = "reference-bursts")]

use varta_detect::bursts::{Params, bursts};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        (self.next() * n as f64) as u64
    }
}

/// A series: a base share with noise, and up to three surges of varied length and height.
fn series(seed: u64) -> (Vec<u64>, Vec<u64>, Params) {
    let mut g = Rng(seed * 7919 + 13);
    let n = 40 + g.below(400) as usize;
    let base = 0.005 + g.next() * 0.08;
    let mut share = vec![base; n];
    for _ in 0..g.below(4) {
        let start = g.below(n as u64) as usize;
        let len = 1 + g.below(12) as usize;
        let lift = 1.5 + g.next() * 6.0;
        for s in share.iter_mut().skip(start).take(len) {
            *s = (*s * lift).min(0.9);
        }
    }
    let mut r = Vec::with_capacity(n);
    let mut d = Vec::with_capacity(n);
    for s in share {
        let dt = 20 + g.below(300);
        // Binomial by sum of Bernoulli draws: small counts, as real periods have.
        let rt = (0..dt).filter(|_| g.next() < s).count() as u64;
        d.push(dt);
        r.push(rt);
    }
    if r.iter().all(|&x| x == 0) {
        r[0] = 1;
    }
    let s = [1.5, 2.0, 3.0][g.below(3) as usize];
    let gamma = [0.5, 1.0, 2.0][g.below(3) as usize];
    (r, d, Params { s, gamma })
}

#[test]
fn intervals_are_the_reference_s_on_generated_series() {
    let cases: Vec<_> = (1..=40).map(series).collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("series.jsonl");
    let lines: Vec<String> = cases
        .iter()
        .map(|(r, d, p)| {
            serde_json::json!({"r": r, "d": d, "s": p.s, "gamma": p.gamma}).to_string()
        })
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let python = std::env::var("VARTA_BURSTS_PYTHON").unwrap_or_else(|_| "python3".into());
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/bursts_reference.py");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(&input)
        .output()
        .expect("run the reference (a Python with burst_detection 0.1.3)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(theirs.len(), cases.len());
    let (mut with_bursts, mut total) = (0, 0);
    for (i, ((r, d, p), t)) in cases.iter().zip(&theirs).enumerate() {
        let mine = bursts(r, d, *p).unwrap();
        let want: Vec<(usize, usize, f64)> = t["bursts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b[0].as_u64().unwrap() as usize,
                    b[1].as_u64().unwrap() as usize,
                    b[2].as_f64().unwrap(),
                )
            })
            .collect();
        let got: Vec<(usize, usize)> = mine.iter().map(|b| (b.begin, b.end)).collect();
        let want_iv: Vec<(usize, usize)> = want.iter().map(|w| (w.0, w.1)).collect();
        assert_eq!(got, want_iv, "series {i} ({} periods, {p:?})", r.len());
        for (b, w) in mine.iter().zip(&want) {
            assert!(
                (b.weight - w.2).abs() <= 1e-6 * w.2.abs().max(1.0),
                "series {i}: weight {} against {}",
                b.weight,
                w.2
            );
        }
        with_bursts += usize::from(!mine.is_empty());
        total += mine.len();
    }
    println!(
        "{} series, {with_bursts} with bursts, {total} bursts: identical intervals",
        cases.len()
    );
    assert!(
        with_bursts >= 20,
        "the series exercise bursts: {with_bursts} have some"
    );
}
