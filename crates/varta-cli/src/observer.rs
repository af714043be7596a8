//! The terminal's observer of varta-app jobs: progress bars on stderr (indicatif, drawn only on a
//! terminal) and notices as `error:` / `warning:` / `note:` lines.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use varta_app::{Notice, Observer, Progress};

/// Record errors printed as they happen before the rest are only counted (a hostile file can
/// have millions; the summary counts them all).
const MAX_PRINTED_ERRORS: u64 = 20;

/// Which failed records are printed on stderr.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RecordErrors {
    /// Every one.
    All,
    /// The first [`MAX_PRINTED_ERRORS`], then a line saying more follow.
    Capped,
    /// None (`--json`: the summary lists them).
    Hidden,
}

pub struct Terminal {
    records: RecordErrors,
    failed: AtomicU64,
    /// The bar drawn now, suspended while a notice is printed.
    bar: Mutex<Option<ProgressBar>>,
}

impl Terminal {
    pub fn new(records: RecordErrors) -> Terminal {
        Terminal {
            records,
            failed: AtomicU64::new(0),
            bar: Mutex::new(None),
        }
    }

    fn print(&self, line: &str) {
        let bar = self.bar.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn inc_total(&self, n: u64) {
        self.0.inc_length(n);
    }
    fn message(&self, text: &str) {
        self.0.set_message(text.to_string());
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Observer for Terminal {
    fn start(&self, what: &str, total: Option<u64>) -> Box<dyn Progress> {
        // Hidden when stderr is not a terminal (CI, pipes, scripts).
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let style = match total {
            None => {
                bar.enable_steady_tick(Duration::from_millis(200));
                ProgressStyle::with_template(&format!(
                    "{{spinner}} {{elapsed}} {{pos}} {what} {{msg}}"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
            }
            Some(_) => ProgressStyle::with_template(&format!(
                "{{elapsed}} embedding {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        };
        bar.set_style(style);
        if let Ok(mut current) = self.bar.lock() {
            *current = Some(bar.clone());
        }
        Box::new(Bar(bar))
    }

    fn notice(&self, notice: Notice) {
        if let Notice::RecordFailed(_) = &notice {
            let failed = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
            match self.records {
                RecordErrors::Hidden => return,
                RecordErrors::Capped if failed == MAX_PRINTED_ERRORS + 1 => {
                    return self.print("error: (more errors follow; the summary counts them all)");
                }
                RecordErrors::Capped if failed > MAX_PRINTED_ERRORS => return,
                _ => {}
            }
        }
        self.print(&notice.to_string());
    }
}
