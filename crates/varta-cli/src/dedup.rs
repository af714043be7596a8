//! `varta dedup`: the near-duplicate pairs of a JSON-lines file (the job is
//! `varta_app::dedup`), written as CSV to a file or stdout, and its clusters as JSON lines, with
//! a summary.

use crate::EXIT_NOTHING_READ;
use crate::args::DedupArgs;
use crate::observer::{RecordErrors, Terminal};
use anyhow::{Context, Result};
use std::io::Write;
use varta_app::Observer;

pub fn run(a: DedupArgs, max_line: usize, out: &mut impl Write) -> Result<u8> {
    let observer = Terminal::new(RecordErrors::All);
    let mut found = varta_app::dedup::run(&a.input, a.threshold, a.exact, max_line, &observer)?;
    if let Some(path) = &a.clusters {
        let f =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        found
            .write_clusters(&mut std::io::BufWriter::new(f))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let pairs_to_stdout = a.pairs.is_none() && a.clusters.is_none() && !a.json;
    if (a.pairs.is_some() || pairs_to_stdout) && found.pair_count() > a.max_pairs {
        observer.notice(varta_app::Notice::Warning(format!(
            "about to write {} pair lines, more than --max-pairs {}: copies of one text pair with \
             each other; --clusters OUT.jsonl gives the same groups in one line each",
            found.pair_count(),
            a.max_pairs
        )));
    }
    match &a.pairs {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            found
                .write_pairs(&mut std::io::BufWriter::new(f))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None if pairs_to_stdout => found.write_pairs(out)?,
        None => {}
    }
    let s = &found.summary;
    if a.json {
        writeln!(out, "{}", serde_json::to_string(s)?)?;
    } else {
        // With the pairs on stdout, the summary goes to stderr.
        let to = match pairs_to_stdout {
            false => &mut *out as &mut dyn Write,
            true => &mut std::io::stderr(),
        };
        writeln!(
            to,
            "{} texts ({} failed), {} pairs with Jaccard >= {} in {:.2} s ({} candidates, {} bands of {} rows)",
            s.docs, s.failed, s.pairs, s.threshold, s.seconds.total, s.candidates, s.bands, s.rows
        )?;
        if let Some(n) = s.clusters {
            writeln!(to, "{n} clusters of near-duplicates")?;
        }
    }
    Ok(if found.texts() == 0 {
        EXIT_NOTHING_READ
    } else {
        0
    })
}
