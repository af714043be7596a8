//! The `varta` command: the command line, the configuration file, rendering and exit codes.
//!
//! Every job runs in `varta-app`; this binary parses arguments (`args`), loads the configuration
//! (`config`), calls one function per subcommand (`commands`), draws progress and notices
//! (`observer`), prints results (`render`), and maps failures to exit codes in one table
//! ([`exit_code`]). It is the only crate that uses `anyhow`.

mod args;
mod commands;
mod config;
mod dedup;
mod embed;
mod lang;
mod observer;
mod render;

/// mimalloc rather than the system allocator: building a million documents is millions of small
/// allocations freed on other threads, where glibc's arenas spent a quarter of the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Result;
use args::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;
use varta_app::{AppError, ErrorKind};

/// Exit code: nothing could be read, or what was asked for is not there.
const EXIT_NOTHING_READ: u8 = 1;

/// The one table from a failure's kind to the exit code `varta --help` documents (a server maps
/// the same kinds to HTTP statuses).
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::NothingRead | ErrorKind::NotFound => EXIT_NOTHING_READ,
        ErrorKind::Usage => 2,
        ErrorKind::Busy | ErrorKind::DiskFull | ErrorKind::Failed => 3,
    }
}

fn init_tracing(verbose: u8, server: bool) {
    let default = match verbose {
        // A server's request log is its record of who did what.
        0 if server => "info",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal: logs kept in files or read by scripts stay plain text.
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(
        cli.verbose,
        matches!(cli.command, Command::Serve(_) | Command::Watch(_)),
    );
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // A closed pipe (`varta search x | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", varta_app::chain(e.as_ref()));
            let kind = e
                .chain()
                .find_map(|c| c.downcast_ref::<AppError>().map(AppError::kind))
                .unwrap_or(ErrorKind::Failed);
            ExitCode::from(exit_code(kind))
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    let ctx = commands::Ctx {
        cfg: config::Config::load(cli.config.as_deref(), &cli.data_dir)?,
        data_dir: cli.data_dir,
        no_wait: cli.no_wait,
    };
    let mut out = std::io::stdout().lock();
    let out = &mut out;
    match cli.command {
        Command::Config => commands::config(&ctx, out),
        Command::Ingest(a) => commands::ingest(&ctx, a, out),
        Command::Run(a) => commands::run(&ctx, a, out),
        Command::Report(a) => commands::report(&ctx, a, out),
        Command::Check(a) => commands::check(&ctx, a, out),
        Command::Extract(a) => commands::extract(&ctx, a, out),
        Command::Dedup(a) => commands::dedup(&ctx, a, out),
        Command::Narratives(a) => commands::narratives(&ctx, a, out),
        Command::Coord(a) => commands::coord(&ctx, a, out),
        Command::Models(a) => commands::models(&ctx, a, out),
        Command::Export(a) => commands::export(&ctx, a, out),
        Command::Embed(a) => commands::embed(&ctx, a, out),
        Command::Claims(a) => commands::claims(&ctx, a, out),
        Command::Detect(a) => commands::detect(&ctx, a, out),
        Command::Lang(a) => commands::lang(&ctx, a, out),
        Command::Search(a) => commands::search(&ctx, a, out),
        Command::Show(a) => commands::show(&ctx, a, out),
        Command::Stats(a) => commands::stats(&ctx, a, out),
        Command::Serve(a) => commands::serve(&ctx, a, out),
        Command::Watch(a) => commands::watch(&ctx, a, out),
        Command::Token(a) => commands::token(&ctx, a, out),
        Command::BenchExtract(a) => commands::bench_extract(&ctx, a, out),
        Command::BenchSearch(a) => commands::bench_search(&ctx, a, out),
    }
}
