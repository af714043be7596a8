//! One function per subcommand: open the store the way the command needs it (a writer waits for
//! the data directory's lock, a reader never does), call the job in varta-app, render its
//! result, and say which exit code it means.

use crate::args::*;
use crate::observer::{RecordErrors, Terminal};
use crate::{EXIT_NOTHING_READ, config, render};
use anyhow::{Context, Result, bail};
use chrono::Utc;
use std::io::Write;
use std::path::{Path, PathBuf};
use varta_app::claims::{self, ParamOverrides};
use varta_app::coord::{Outputs, ParityParams};
use varta_ingest::IngestOptions;
use varta_store::{EmbeddedStore, SearchQuery, Store, StoreOptions};

/// What every command may need besides its own arguments.
pub struct Ctx {
    pub data_dir: PathBuf,
    pub no_wait: bool,
    pub cfg: config::Config,
}

impl Ctx {
    /// The store, open for writing: waits for another writer (saying so) unless `--no-wait`.
    fn writer(&self) -> Result<EmbeddedStore> {
        let dir = &self.data_dir;
        let opts = StoreOptions {
            index_heap_bytes: self.cfg.store.index_heap_bytes,
            index_commit_every: self.cfg.store.index_commit_every,
        };
        self.waiting(|wait| EmbeddedStore::open_write(dir, opts, &command_line(), wait))
            .map_err(varta_app::AppError::from)
            .with_context(|| format!("opening the store in {}", dir.display()))
    }

    /// Runs `take` (which takes the writer lock) with the waiting policy of `--no-wait`: fail at
    /// once, or wait, saying for whom.
    fn waiting<T>(&self, take: impl FnOnce(varta_store::Wait<'_>) -> T) -> T {
        let mut say = |h: &varta_store::LockHolder| {
            eprintln!(
                "waiting: the data directory {} is being written by {h}",
                self.data_dir.display()
            );
        };
        take(match self.no_wait {
            true => varta_store::Wait::No,
            false => varta_store::Wait::Yes(&mut say),
        })
    }

    /// The store, open for reading: never waits, never writes.
    fn reader(&self) -> Result<EmbeddedStore> {
        EmbeddedStore::open_read(&self.data_dir)
            .map_err(varta_app::AppError::from)
            .with_context(|| format!("opening the store in {}", self.data_dir.display()))
    }

    fn ingest_options(&self) -> IngestOptions {
        IngestOptions {
            limits: self.cfg.limits.clone(),
            ..IngestOptions::default()
        }
    }
}

/// This process's command line, for the lock file (whom a waiting writer waits for).
fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn print_json(out: &mut impl Write, v: &impl serde::Serialize) -> Result<()> {
    // Through a Value: its keys print sorted, as every JSON output of Varta always has.
    writeln!(out, "{}", serde_json::to_value(v)?)?;
    Ok(())
}

pub fn config(ctx: &Ctx, out: &mut impl Write) -> Result<u8> {
    if ctx.cfg == config::Config::default() {
        write!(out, "{}", config::DEFAULT_TOML)?;
    } else {
        write!(out, "{}", toml::to_string_pretty(&ctx.cfg)?)?;
    }
    Ok(0)
}

pub fn ingest(ctx: &Ctx, a: IngestArgs, out: &mut impl Write) -> Result<u8> {
    let mut store = ctx.writer()?;
    let opts = IngestOptions {
        format: a.format,
        limits: ctx.cfg.limits.clone(),
        source: a.source,
        map: a.map.unwrap_or_default(),
        allow_private: a.allow_private,
        collected_at: Utc::now(),
        identify_language: true,
        hash_content: true,
    };
    let records = if a.json {
        RecordErrors::Hidden
    } else {
        RecordErrors::Capped
    };
    let observer = Terminal::new(records);
    let done = varta_app::ingest::ingest(
        &mut store,
        &a.inputs,
        &opts,
        ctx.cfg.ingest.batch_size,
        &observer,
    )?;
    store.close().map_err(varta_app::AppError::from)?;
    let s = &done.summary;
    if a.json {
        writeln!(out, "{}", serde_json::to_string(s)?)?;
    } else {
        let secs = done.elapsed.as_secs_f64().max(1e-9);
        let skipped = match done.skipped {
            0 => String::new(),
            n => format!(", skipped {n}"),
        };
        writeln!(
            out,
            "ingested {}, duplicates {}, failed {}{skipped} in {secs:.2} s ({:.0} records/s)",
            s.ingested,
            s.duplicates,
            s.failed,
            (s.ingested + s.duplicates) as f64 / secs
        )?;
    }
    Ok(if done.read_anything() {
        0
    } else {
        EXIT_NOTHING_READ
    })
}

pub fn check(ctx: &Ctx, a: CheckArgs, out: &mut impl Write) -> Result<u8> {
    let found = if a.repair {
        // Opening for writing compares and repairs; what it found is the answer.
        let store = ctx.writer()?;
        let found = store.found_at_open().cloned().unwrap_or_default();
        store.close().map_err(varta_app::AppError::from)?;
        found
    } else {
        ctx.reader()?.check().map_err(varta_app::AppError::from)?
    };
    if a.json {
        writeln!(out, "{}", serde_json::to_string(&found)?)?;
    } else {
        let verdict = match (found.ok, a.repair) {
            (true, _) => "ok",
            (false, true) => "repaired",
            (false, false) => "run `varta check --repair`",
        };
        writeln!(
            out,
            "{} documents stored, {} indexed: {} missing from the index, {} extra in it; {} findings, {} citing a missing document; {verdict}",
            found.documents,
            found.indexed,
            found.missing_from_index,
            found.extra_in_index,
            found.findings,
            found.findings_citing_missing,
        )?;
        for e in &found.examples {
            writeln!(out, "  {e}")?;
        }
    }
    Ok(if found.ok || a.repair {
        0
    } else {
        EXIT_NOTHING_READ
    })
}

pub fn extract(ctx: &Ctx, a: ExtractArgs, out: &mut impl Write) -> Result<u8> {
    let opts = ctx.ingest_options();
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut io_result: std::io::Result<()> = Ok(());
    varta_ingest::extract_pages(&a.inputs, &opts, |path, doc| {
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
        let id = page_id(path);
        io_result = if a.jsonl {
            let published = doc
                .published_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            let line = serde_json::json!({
                "id": id, "url": doc.url, "title": doc.title, "author": doc.author,
                "published_at": published, "language": doc.language, "text": doc.text,
            });
            writeln!(out, "{line}")
        } else {
            let when = doc.published_at.map(|t| t.to_rfc3339()).unwrap_or_default();
            let title = doc.title.as_deref().unwrap_or("(untitled)");
            writeln!(
                out,
                "== {id}: {title} [{}] {when}\n{}\n",
                doc.language, doc.text
            )
        };
    });
    io_result?;
    tracing::info!(ok, failed, "extracted");
    Ok(if ok > 0 { 0 } else { EXIT_NOTHING_READ })
}

/// A page's id: its file name up to the first '.'.
fn page_id(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.split('.').next().unwrap_or("").to_string()
}

pub fn dedup(ctx: &Ctx, a: DedupArgs, out: &mut impl Write) -> Result<u8> {
    crate::dedup::run(a, ctx.cfg.limits.max_record_bytes, out)
}

/// The e5 embedder narratives need; an error saying how to get it when there is none.
fn narratives_model(
    ctx: &Ctx,
    p: &NarrativeParamsArgs,
    observer: &Terminal,
) -> Result<Box<dyn varta_detect::claims::matcher::Embedder>> {
    match claims::load_embedder(p.model.as_deref(), &ctx.data_dir, observer)? {
        Some(e) => Ok(e),
        None => bail!(varta_app::AppError::Failed(
            "narratives need the e5 model: run `varta models install` (or give --model)".into()
        )),
    }
}

pub fn narratives(ctx: &Ctx, a: NarrativesArgs, out: &mut impl Write) -> Result<u8> {
    let observer = Terminal::new(RecordErrors::All);
    let embedder = narratives_model(ctx, &a.params, &observer)?;
    let params = a.params.params();
    let found = varta_app::narratives::run(
        &a.input,
        embedder.as_ref(),
        &params,
        a.live_from,
        ctx.cfg.limits.max_record_bytes,
        &observer,
    )?;
    if a.json {
        print_json(out, &found)?;
    } else if found.is_empty() {
        writeln!(
            out,
            "no narratives (no {} texts say the same thing)",
            params.min_members
        )?;
    } else {
        for n in &found {
            writeln!(out, "{} texts  {}  [{}]", n.size, n.label, n.id)?;
            for r in &n.representatives {
                let short: String = r.text.chars().take(100).collect();
                writeln!(out, "    {}: {}", r.id, short.replace('\n', " "))?;
            }
        }
    }
    Ok(0)
}

pub fn models(ctx: &Ctx, a: ModelsArgs, out: &mut impl Write) -> Result<u8> {
    let ModelsCommand::Install(ModelsInstallArgs { json }) = a.command;
    // The model goes into the data directory: a writer's job.
    let dir = &ctx.data_dir;
    let _lock = ctx
        .waiting(|wait| varta_store::WriteLock::acquire(dir, &command_line(), wait))
        .map_err(varta_app::AppError::from)?;
    let done = varta_app::models::install(dir)?;
    if json {
        print_json(out, &done)?;
    } else {
        writeln!(
            out,
            "installed {} (from {}, SHA-256 checked)",
            done.installed.display(),
            done.from
        )?;
    }
    Ok(0)
}

/// Arguments of one step of `run`, parsed as that command would parse them, so every default is
/// the command's own.
fn step_args<T: clap::Args>(args: &[&str]) -> Result<T> {
    #[derive(clap::Parser)]
    struct Step<T: clap::Args> {
        #[command(flatten)]
        inner: T,
    }
    let parsed = <Step<T> as clap::Parser>::try_parse_from(
        std::iter::once("varta").chain(args.iter().copied()),
    )
    .map_err(|e| varta_app::AppError::Usage(e.to_string()))?;
    Ok(parsed.inner)
}

pub fn run(ctx: &Ctx, a: RunArgs, out: &mut impl Write) -> Result<u8> {
    use varta_app::export::{self, CsvTable, GraphFormat};
    let mut quiet = std::io::sink();
    let mut ingest_args: Vec<&str> = a.inputs.iter().map(String::as_str).collect();
    if a.allow_private {
        ingest_args.push("--allow-private");
    }
    if !a.json {
        writeln!(out, "== ingest {}", a.inputs.join(" "))?;
    }
    let ia = step_args::<IngestArgs>(&ingest_args)?;
    let code = if a.json {
        ingest(ctx, ia, &mut quiet)?
    } else {
        ingest(ctx, ia, out)?
    };
    if code != 0 {
        return Ok(code);
    }
    if !a.claims.is_empty() {
        let files: Vec<&str> = a.claims.iter().filter_map(|p| p.to_str()).collect();
        claims_import(ctx, step_args::<ClaimsImportArgs>(&files)?, &mut quiet)?;
    }
    detect_campaigns(ctx, step_args::<DetectCampaignsArgs>(&[])?, &mut quiet)?;
    detect_coordination(ctx, step_args::<DetectCoordinationArgs>(&[])?, &mut quiet)?;
    if !ctx
        .reader()?
        .claims()
        .map_err(varta_app::AppError::from)?
        .is_empty()
    {
        detect_claims(ctx, step_args::<DetectClaimsArgs>(&[])?, &mut quiet)?;
    }
    // Narratives need the e5 model; without it the report simply has none.
    if varta_app::models::find_model(None, &ctx.data_dir).is_some() {
        detect_narratives(ctx, step_args::<DetectNarrativesArgs>(&[])?, &mut quiet)?;
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let store = ctx.reader()?;
    let report = varta_app::report::write(&store, &Default::default(), &a.out)?;
    let mut files = vec![report.path.clone()];
    let mut write = |name: &str,
                     f: &mut dyn FnMut(&mut dyn Write) -> varta_app::Result<()>|
     -> Result<()> {
        let path = a.out.join(name);
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
        );
        f(&mut w)?;
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
        files.push(path.display().to_string());
        Ok(())
    };
    for (name, table) in [
        ("findings.csv", CsvTable::Findings),
        ("documents.csv", CsvTable::Documents),
        ("edges.csv", CsvTable::Edges),
        ("actors.csv", CsvTable::Actors),
    ] {
        write(name, &mut |w| {
            export::csv(&store, table, true, w).map(|_| ())
        })?;
    }
    write("network.gexf", &mut |w| {
        export::coordination_graph(&store, GraphFormat::Gexf, w).map(|_| ())
    })?;
    write("network.graphml", &mut |w| {
        export::coordination_graph(&store, GraphFormat::Graphml, w).map(|_| ())
    })?;
    write("campaigns.gexf", &mut |w| {
        export::campaign_graph(&store, GraphFormat::Gexf, w).map(|_| ())
    })?;
    write("claimreview.json", &mut |w| {
        export::claimreview(&store, true, w).map(|_| ())
    })?;
    let opts = varta_app::stix::StixOptions {
        operator: a.operator.clone(),
        suggestions: true,
    };
    write("stix.json", &mut |w| {
        varta_app::stix::write(&store, &opts, w).map(|_| ())
    })?;
    let findings = store.findings(None).map_err(varta_app::AppError::from)?;
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in &findings {
        *kinds.entry(f.kind.as_str()).or_default() += 1;
    }
    let top: Vec<serde_json::Value> = ["copy-paste-campaign", "coordinated-network", "claim-match"]
        .iter()
        .flat_map(|k| findings.iter().filter(move |f| f.kind == *k).take(3))
        .map(|f| {
            let (size, summary) = export::summary(f);
            serde_json::json!({"id": f.id, "kind": f.kind, "score": f.score, "size": size, "summary": summary})
        })
        .collect();
    if a.json {
        print_json(
            out,
            &serde_json::json!({
                "documents": store.stats().map_err(varta_app::AppError::from)?.documents,
                "findings": kinds,
                "top": top,
                "files": files,
            }),
        )?;
        return Ok(0);
    }
    writeln!(out, "\n== findings")?;
    for (k, n) in &kinds {
        writeln!(out, "{n:>6}  {k}")?;
    }
    writeln!(out, "\n== top findings")?;
    for t in &top {
        let summary: String = t["summary"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(90)
            .collect();
        writeln!(
            out,
            "{:<20} {:<28} score {:>7.3}  size {:>4}  {summary}",
            t["kind"].as_str().unwrap_or_default(),
            t["id"].as_str().unwrap_or_default(),
            t["score"].as_f64().unwrap_or_default(),
            t["size"],
        )?;
    }
    writeln!(out, "\n== files in {}", a.out.display())?;
    for f in &files {
        writeln!(out, "  {f}")?;
    }
    Ok(0)
}

pub fn report(ctx: &Ctx, a: ReportArgs, out: &mut impl Write) -> Result<u8> {
    let opts = varta_app::report::ReportOptions {
        per_kind: a.per_kind.max(1),
        ..Default::default()
    };
    let r = varta_app::report::write(&ctx.reader()?, &opts, &a.out)?;
    if a.json {
        print_json(out, &r)?;
    } else {
        writeln!(
            out,
            "wrote {} ({} KB): {} campaigns, {} coordinated groups, {} claim matches, {} narratives",
            r.path,
            r.bytes / 1024,
            r.campaigns,
            r.groups,
            r.claim_matches,
            r.narratives
        )?;
    }
    Ok(0)
}

pub fn export(ctx: &Ctx, a: ExportArgs, out: &mut impl Write) -> Result<u8> {
    use varta_app::export::{self, CsvTable, GraphFormat};
    let store = ctx.reader()?;
    let file = match &a.command {
        ExportCommand::Csv(c) => &c.file,
        ExportCommand::Gexf(g) | ExportCommand::Graphml(g) => &g.file,
        ExportCommand::Claimreview(c) => &c.file,
        ExportCommand::Stix(c) => &c.file,
    };
    let mut sink: Box<dyn Write> = match &file.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(&mut *out),
    };
    let written = match &a.command {
        ExportCommand::Csv(c) => {
            let table = match c.what {
                CsvWhat::Documents => CsvTable::Documents,
                CsvWhat::Findings => CsvTable::Findings,
                CsvWhat::Edges => CsvTable::Edges,
                CsvWhat::Actors => CsvTable::Actors,
            };
            export::csv(&store, table, !c.raw, &mut sink)?
        }
        ExportCommand::Gexf(g) | ExportCommand::Graphml(g) => {
            let format = if matches!(a.command, ExportCommand::Gexf(_)) {
                GraphFormat::Gexf
            } else {
                GraphFormat::Graphml
            };
            match g.network {
                NetworkWhat::Coordination => export::coordination_graph(&store, format, &mut sink)?,
                NetworkWhat::Campaigns => export::campaign_graph(&store, format, &mut sink)?,
            }
        }
        ExportCommand::Claimreview(c) => export::claimreview(&store, c.suggestions, &mut sink)?,
        ExportCommand::Stix(c) => {
            let opts = varta_app::stix::StixOptions {
                operator: c.operator.clone(),
                suggestions: c.suggestions,
            };
            let s = varta_app::stix::write(&store, &opts, &mut sink)?;
            export::Written {
                rows: s.objects,
                nodes: s.accounts,
                edges: s.relationships,
            }
        }
    };
    sink.flush()?;
    drop(sink);
    if file.json {
        eprintln!("{}", serde_json::to_value(written)?);
    } else if let Some(p) = &file.out {
        eprintln!(
            "wrote {} ({} rows, {} nodes, {} edges)",
            p.display(),
            written.rows,
            written.nodes,
            written.edges
        );
    }
    Ok(0)
}

pub fn embed(ctx: &Ctx, a: EmbedArgs, out: &mut impl Write) -> Result<u8> {
    crate::embed::run(a.model.as_deref(), &ctx.data_dir, a.passage, a.stats, out)
}

/// The embedder and thresholds `how` asks for.
fn match_setup(
    ctx: &Ctx,
    how: &MatchArgs,
    observer: &Terminal,
) -> Result<(
    Option<Box<dyn varta_detect::claims::matcher::Embedder>>,
    varta_detect::claims::matcher::Params,
)> {
    let overrides = ParamOverrides {
        suggest: how.suggest,
        matched: how.match_threshold,
        embed_gate: how.embed_gate,
    };
    Ok(claims::match_setup(
        how.lexical_only,
        how.model.as_deref(),
        &ctx.data_dir,
        &overrides,
        observer,
    )?)
}

pub fn claims(ctx: &Ctx, a: ClaimsArgs, out: &mut impl Write) -> Result<u8> {
    match a.command {
        ClaimsCommand::Import(a) => claims_import(ctx, a, out),
        ClaimsCommand::Add(a) => claims_add(ctx, a, out),
        ClaimsCommand::List(a) => claims_list(ctx, a, out),
        ClaimsCommand::Match(a) => claims_match(ctx, a, out),
        ClaimsCommand::Eval(a) => claims_eval(ctx, a, out),
    }
}

fn claims_import(ctx: &Ctx, a: ClaimsImportArgs, out: &mut impl Write) -> Result<u8> {
    let mut store = ctx.writer()?;
    let observer = Terminal::new(RecordErrors::All);
    let r = claims::import(&mut store, &a.files, &observer)?;
    store.close().map_err(varta_app::AppError::from)?;
    if a.json {
        print_json(out, &r)?;
    } else {
        writeln!(
            out,
            "{} claims read, {} new, {} already stored, {} records failed",
            r.read, r.added, r.duplicates, r.failed
        )?;
    }
    Ok(if r.read == 0 { EXIT_NOTHING_READ } else { 0 })
}

fn claims_add(ctx: &Ctx, a: ClaimsAddArgs, out: &mut impl Write) -> Result<u8> {
    let mut store = ctx.writer()?;
    let new = claims::NewClaim {
        text: a.text,
        rating: a.rating,
        url: a.url,
        reviewer: a.reviewer,
        lang: a.lang,
    };
    let r = claims::add(&mut store, new)?;
    store.close().map_err(varta_app::AppError::from)?;
    match (a.json, r.added) {
        (true, _) => print_json(out, &r)?,
        (false, true) => writeln!(out, "added {}", r.id)?,
        (false, false) => writeln!(out, "{} is already stored", r.id)?,
    }
    Ok(0)
}

fn claims_list(ctx: &Ctx, a: ClaimsListArgs, out: &mut impl Write) -> Result<u8> {
    let claims = ctx.reader()?.claims().map_err(varta_app::AppError::from)?;
    if a.json {
        writeln!(out, "{}", serde_json::to_string(&claims)?)?;
        return Ok(0);
    }
    for c in &claims {
        let url = c.review_url.as_deref().map(|u| format!("  <{u}>"));
        writeln!(
            out,
            "{}  [{}] {}{}",
            c.id,
            c.rating.as_deref().unwrap_or("?"),
            claims::short(&c.text, 100),
            url.unwrap_or_default()
        )?;
    }
    writeln!(out, "{} claims", claims.len())?;
    Ok(0)
}

fn claims_match(ctx: &Ctx, a: ClaimsMatchArgs, out: &mut impl Write) -> Result<u8> {
    let observer = Terminal::new(RecordErrors::All);
    let (embedder, params) = match_setup(ctx, &a.how, &observer)?;
    let mut store = ctx.reader()?;
    let ranked = claims::match_text(
        &mut store,
        &a.text,
        embedder.as_deref(),
        &params,
        a.limit,
        &observer,
    )?;
    if a.json {
        print_json(out, &ranked)?;
    } else {
        render::matched_claims(&ranked, out)?;
    }
    Ok(0)
}

fn claims_eval(ctx: &Ctx, a: ClaimsEvalArgs, out: &mut impl Write) -> Result<u8> {
    let observer = Terminal::new(RecordErrors::All);
    let (embedder, params) = match_setup(ctx, &a.how, &observer)?;
    let r = claims::eval(
        &a.claims,
        &a.queries,
        embedder.as_deref(),
        &params,
        a.details.as_deref(),
        &observer,
    )?;
    if a.json {
        print_json(out, &r.all)?;
    } else {
        render::evaluation(&r, &params, out)?;
    }
    Ok(0)
}

pub fn detect(ctx: &Ctx, a: DetectArgs, out: &mut impl Write) -> Result<u8> {
    match a.detector {
        DetectCommand::Claims(a) => detect_claims(ctx, a, out),
        DetectCommand::Campaigns(a) => detect_campaigns(ctx, a, out),
        DetectCommand::Coordination(a) => detect_coordination(ctx, a, out),
        DetectCommand::Narratives(a) => detect_narratives(ctx, a, out),
    }
}

fn detect_claims(ctx: &Ctx, a: DetectClaimsArgs, out: &mut impl Write) -> Result<u8> {
    let observer = Terminal::new(RecordErrors::All);
    let (embedder, params) = match_setup(ctx, &a.how, &observer)?;
    let mut store = ctx.writer()?;
    let r = claims::detect(
        &mut store,
        embedder.as_deref(),
        &params,
        a.since,
        a.page,
        &observer,
    )?;
    store.close().map_err(varta_app::AppError::from)?;
    if a.json {
        print_json(out, &r.rows)?;
    } else {
        render::detected_claims(&r, out)?;
    }
    Ok(0)
}

fn detect_campaigns(ctx: &Ctx, a: DetectCampaignsArgs, out: &mut impl Write) -> Result<u8> {
    let mut store = ctx.writer()?;
    let params = varta_detect::campaigns::Params {
        threshold: a.threshold,
        containment: a.containment,
        min_actors: a.min_actors.max(1),
    };
    let found = varta_app::detect::campaigns(&mut store, params, a.since)?;
    store.close().map_err(varta_app::AppError::from)?;
    render::campaigns(&found, &params, a.json, out)?;
    Ok(0)
}

fn detect_narratives(ctx: &Ctx, a: DetectNarrativesArgs, out: &mut impl Write) -> Result<u8> {
    let observer = Terminal::new(RecordErrors::All);
    // The model before the store: a missing model should not wait for another writer first.
    let embedder = narratives_model(ctx, &a.params, &observer)?;
    let params = a.params.params();
    let mut store = ctx.writer()?;
    let found =
        varta_app::narratives::detect(&mut store, embedder.as_ref(), &params, a.since, &observer)?;
    store.close().map_err(varta_app::AppError::from)?;
    render::narratives(&found, &params, a.json, out)?;
    Ok(0)
}

fn detect_coordination(ctx: &Ctx, a: DetectCoordinationArgs, out: &mut impl Write) -> Result<u8> {
    let mut store = ctx.writer()?;
    let params = varta_detect::coord::network::Params {
        window: a.window,
        min_weight: a.min_weight,
        ..Default::default()
    };
    let found = varta_app::coord::detect(&mut store, &params, a.since)?;
    store.close().map_err(varta_app::AppError::from)?;
    let outputs = Outputs {
        edges: a.edges.as_deref(),
        gexf: a.gexf.as_deref(),
        graphml: a.graphml.as_deref(),
    };
    found.write_outputs(&params, &outputs)?;
    render::coordination(&found, &params, a.json, out)?;
    Ok(0)
}

pub fn coord(ctx: &Ctx, a: CoordArgs, out: &mut impl Write) -> Result<u8> {
    match a.parity.as_deref() {
        Some("coortweet") => return coord_coortweet(ctx, a, out),
        Some(_) => return coord_parity(ctx, a, out),
        None => {}
    }
    if a.network.is_some() {
        bail!(varta_app::AppError::Usage(
            "--network chooses a parity network; add --parity".into()
        ));
    }
    if a.pairs.is_some() {
        bail!(varta_app::AppError::Usage(
            "--pairs writes CooRTweet's pairs; add --parity coortweet".into()
        ));
    }
    let opts = IngestOptions {
        format: a.format,
        map: a.map.unwrap_or_default(),
        ..ctx.ingest_options()
    };
    let params = varta_detect::coord::network::Params {
        window: a.window,
        min_weight: a.min_weight,
        ..Default::default()
    };
    let observer = Terminal::new(RecordErrors::All);
    if let Some(batch) = a.live {
        if a.edges.is_some() || a.gexf.is_some() || a.graphml.is_some() {
            bail!(varta_app::AppError::Usage(
                "--live prints the groups; the network files come from the full run (drop --live)"
                    .into()
            ));
        }
        let run = varta_app::coord::own_files_live(&a.inputs, &opts, &params, batch, &observer)?;
        render::coordination_live(&run, a.json, out)?;
        return Ok(0);
    }
    let found = varta_app::coord::own_files(&a.inputs, &opts, &params, &observer)?;
    let outputs = Outputs {
        edges: a.edges.as_deref(),
        gexf: a.gexf.as_deref(),
        graphml: a.graphml.as_deref(),
    };
    // Files first: a reader closing stdout early (`| head`) must not cost the user the files.
    found.write_outputs(&params, &outputs)?;
    render::coordination(&found, &params, a.json, out)?;
    Ok(0)
}

/// Where `coord` writes its network files.
fn graph_outputs(a: &CoordArgs) -> Outputs<'_> {
    Outputs {
        edges: a.edges.as_deref(),
        gexf: a.gexf.as_deref(),
        graphml: a.graphml.as_deref(),
    }
}

fn coord_coortweet(ctx: &Ctx, a: CoordArgs, out: &mut impl Write) -> Result<u8> {
    use varta_detect::coord::network::Window;
    let usage = |m: &str| anyhow::Error::from(varta_app::AppError::Usage(m.into()));
    let [input] = a.inputs.as_slice() else {
        return Err(usage("--parity coortweet takes one CSV file"));
    };
    if a.network.is_some() {
        return Err(usage(
            "--network chooses a coordination-network-toolkit network; CooRTweet has none",
        ));
    }
    let Window::Seconds(window) = a.window else {
        return Err(usage(
            "--parity coortweet needs --window in seconds (CooRTweet's time_window)",
        ));
    };
    let p = varta_app::coord::CoortweetParams {
        window,
        min_participation: a.min_participation,
        edge_weight: a.edge_weight,
        max_record: ctx.cfg.limits.max_record_bytes,
    };
    let outputs = graph_outputs(&a);
    let observer = Terminal::new(RecordErrors::All);
    let edges_out: Option<&mut dyn Write> = if a.json { None } else { Some(&mut *out) };
    let s = varta_app::coord::coortweet(
        Path::new(input),
        &p,
        a.pairs.as_deref(),
        &outputs,
        edges_out,
        &observer,
    )?;
    if a.json {
        writeln!(out, "{}", serde_json::to_string(&s)?)?;
    } else {
        eprintln!(
            "coortweet: {} rows ({} failed), {} pairs, {} of {} edges above weight {}, {} accounts in {:.2} s",
            s.rows,
            s.failed,
            s.pairs,
            s.edges,
            s.all_edges,
            s.weight_threshold,
            s.accounts,
            s.seconds.read + s.seconds.compute + s.seconds.write
        );
    }
    Ok(if s.rows == 0 { EXIT_NOTHING_READ } else { 0 })
}

fn coord_parity(ctx: &Ctx, a: CoordArgs, out: &mut impl Write) -> Result<u8> {
    use varta_detect::coord::network::Window;
    let usage = |m: &str| anyhow::Error::from(varta_app::AppError::Usage(m.into()));
    if a.pairs.is_some() {
        return Err(usage(
            "--pairs writes CooRTweet's pairs; use --parity coortweet",
        ));
    }
    let network = a
        .network
        .as_deref()
        .and_then(varta_detect::coord::parity::PeerNetwork::parse);
    let (Some(network), [input]) = (network, a.inputs.as_slice()) else {
        return Err(usage(
            "--parity (coordination-network-toolkit) takes one CSV file and --network",
        ));
    };
    let Window::Seconds(window) = a.window else {
        return Err(usage(
            "--parity needs --window in seconds (the toolkit has no auto)",
        ));
    };
    if a.min_weight.fract() != 0.0 || a.min_weight < 1.0 {
        return Err(usage("--parity needs a whole --min-weight of at least 1"));
    }
    let p = ParityParams {
        network,
        window,
        min_weight: a.min_weight as u32,
        similarity_threshold: a.similarity_threshold,
        max_record: ctx.cfg.limits.max_record_bytes,
    };
    let outputs = graph_outputs(&a);
    let observer = Terminal::new(RecordErrors::All);
    let edges_out: Option<&mut dyn Write> = if a.json { None } else { Some(&mut *out) };
    let s = varta_app::coord::parity(Path::new(input), &p, &outputs, edges_out, &observer)?;
    if a.json {
        writeln!(out, "{}", serde_json::to_string(&s)?)?;
    } else {
        eprintln!(
            "{}: {} rows ({} failed), {} edges in {:.2} s",
            s.network,
            s.rows,
            s.failed,
            s.edges,
            s.seconds.read + s.seconds.compute + s.seconds.write
        );
    }
    Ok(if s.rows == 0 { EXIT_NOTHING_READ } else { 0 })
}

pub fn lang(ctx: &Ctx, a: LangArgs, out: &mut impl Write) -> Result<u8> {
    let max = ctx.cfg.limits.max_record_bytes;
    match a.tsv {
        Some(path) => crate::lang::tsv(&path, out, max, a.errors),
        None => crate::lang::each_line(std::io::stdin().lock(), out, max),
    }
}

pub fn search(ctx: &Ctx, a: SearchArgs, out: &mut impl Write) -> Result<u8> {
    let store = ctx.reader()?;
    let q = SearchQuery {
        text: a.query,
        language: a.lang,
        since: a.since,
        until: a.until,
        actor: a.actor,
        limit: a.limit,
    };
    let hits = store.search(&q).map_err(varta_app::AppError::from)?;
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&hits)?)?;
    } else {
        render::hits(&hits, out)?;
    }
    Ok(0)
}

pub fn show(ctx: &Ctx, a: ShowArgs, out: &mut impl Write) -> Result<u8> {
    let store = ctx.reader()?;
    let Some(doc) = store.get(&a.id).map_err(varta_app::AppError::from)? else {
        eprintln!("no document with id {}", a.id);
        return Ok(EXIT_NOTHING_READ);
    };
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(0);
    }
    let actor = match &doc.actor_id {
        Some(a) => store.get_actor(a).map_err(varta_app::AppError::from)?,
        None => None,
    };
    render::document(&doc, actor.as_ref(), out)?;
    Ok(0)
}

pub fn stats(ctx: &Ctx, a: StatsArgs, out: &mut impl Write) -> Result<u8> {
    let s = ctx.reader()?.stats().map_err(varta_app::AppError::from)?;
    if a.json {
        writeln!(out, "{}", serde_json::to_string(&s)?)?;
        return Ok(0);
    }
    let fmt = |m: &std::collections::BTreeMap<String, u64>| {
        let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
        parts.join(", ")
    };
    writeln!(out, "documents  {}", s.documents)?;
    writeln!(out, "actors     {}", s.actors)?;
    writeln!(out, "languages  {}", fmt(&s.languages))?;
    writeln!(out, "formats    {}", fmt(&s.formats))?;
    Ok(0)
}

pub fn bench_extract(ctx: &Ctx, a: BenchExtractArgs, out: &mut impl Write) -> Result<u8> {
    let opts = ctx.ingest_options();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&a.dir)
        .with_context(|| format!("reading {}", a.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut pages = Vec::with_capacity(names.len());
    for p in &names {
        let bytes = varta_ingest::read_file(p, &opts.limits).map_err(|e| anyhow::anyhow!("{e}"))?;
        pages.push((page_id(p), p.display().to_string(), bytes));
    }
    if pages.is_empty() {
        bail!("no pages in {}", a.dir.display());
    }
    // lingua loads its models on first use, once per process: not part of a page's cost.
    varta_text::lang::preload();
    let rounds = a.rounds.max(1);
    let start = std::time::Instant::now();
    let mut texts = Vec::with_capacity(pages.len());
    for round in 0..rounds {
        for (id, file, bytes) in &pages {
            let text =
                varta_ingest::page_document(file, bytes, &opts).map_or(String::new(), |d| d.text);
            if round == 0 {
                texts.push((id, text));
            }
        }
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let file =
        std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    for (id, text) in texts {
        writeln!(w, "{}", serde_json::json!({"id": id, "text": text}))?;
    }
    w.flush()?;
    let n = pages.len() * rounds;
    writeln!(
        out,
        "{}",
        serde_json::json!({"pages": n, "seconds": (secs * 1000.0).round() / 1000.0,
            "pages_per_s": (n as f64 / secs * 10.0).round() / 10.0})
    )?;
    Ok(0)
}

pub fn bench_search(ctx: &Ctx, a: BenchSearchArgs, out: &mut impl Write) -> Result<u8> {
    let store = ctx.reader()?;
    let text = std::fs::read_to_string(&a.queries)
        .with_context(|| format!("reading {}", a.queries.display()))?;
    let qs: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if qs.is_empty() {
        bail!("no queries in {}", a.queries.display());
    }
    let (mut times, mut hits) = (Vec::new(), 0usize);
    for round in 0..a.rounds.max(1) {
        for q in &qs {
            let t = std::time::Instant::now();
            let query = SearchQuery {
                text: q.to_string(),
                limit: a.limit,
                ..Default::default()
            };
            let r = store.search(&query).map_err(varta_app::AppError::from)?;
            // The first round warms the page cache; later rounds are measured.
            if round > 0 || a.rounds <= 1 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                hits += usize::from(!r.is_empty());
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    let documents = store.stats().map_err(varta_app::AppError::from)?.documents;
    let report = serde_json::json!({
        "queries": qs.len(), "measured": times.len(), "with_hits": hits,
        "median_ms": pct(0.5), "p95_ms": pct(0.95), "max_ms": pct(1.0), "documents": documents,
    });
    writeln!(out, "{report}")?;
    Ok(0)
}

pub fn serve(ctx: &Ctx, a: ServeArgs, out: &mut impl Write) -> Result<u8> {
    let listen = match a.listen {
        Some(l) => l,
        None => ctx.cfg.serve.listen.parse().with_context(|| {
            format!("serve.listen {:?} is not an address", ctx.cfg.serve.listen)
        })?,
    };
    let options = varta_server::ServeOptions {
        data_dir: ctx.data_dir.clone(),
        listen,
        upload_limit: ctx.cfg.serve.upload_limit_bytes,
        readers: ctx.cfg.serve.readers.max(1),
        store: StoreOptions {
            index_heap_bytes: ctx.cfg.store.index_heap_bytes,
            index_commit_every: ctx.cfg.store.index_commit_every,
        },
        model: a.model,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(varta_server::serve(
        options,
        varta_server::signals(),
        |addr| {
            // One line a script can wait for; the URL is what a person opens.
            let _ = writeln!(out, "listening on http://{addr}/");
            let _ = out.flush();
        },
    ));
    match result {
        Ok(()) => Ok(0),
        Err(e) => Err(anyhow::Error::new(e)),
    }
}

/// Set by SIGINT/SIGTERM while `varta watch` runs.
static WATCH_STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    WATCH_STOP.store(true, std::sync::atomic::Ordering::Relaxed);
}

pub fn watch(ctx: &Ctx, a: WatchArgs, out: &mut impl Write) -> Result<u8> {
    if a.status {
        let Some(st) = varta_app::watch::status(&ctx.data_dir)? else {
            if a.json {
                writeln!(out, "null")?;
            } else {
                writeln!(out, "no watcher has run on {}", ctx.data_dir.display())?;
            }
            return Ok(1);
        };
        if a.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&st)?)?;
        } else {
            render::watch_status(&st, out)?;
        }
        return Ok(if st.running { 0 } else { 1 });
    }
    let mut setup = ctx.cfg.watch_setup();
    setup.watch.allow_private |= a.allow_private;
    // The e5 model serves semantic claim matching and narratives; without it claims match
    // lexically and narratives are skipped.
    let embedder = if setup.detect.claims || !setup.detect.narratives_every.0.is_zero() {
        varta_app::claims::load_embedder(a.model.as_deref(), &ctx.data_dir, &varta_app::Logged)?
    } else {
        None
    };
    tracing::info!(
        model = embedder.is_some(),
        "e5 model for semantic claim matching and narratives"
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_stop_signal as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_stop_signal as *const () as libc::sighandler_t,
        );
    }
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !WATCH_STOP.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            tracing::info!("stopping: finishing the batch in hand");
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
    let opts = varta_app::watch::WatchOptions {
        dir: ctx.data_dir.clone(),
        store: StoreOptions {
            index_heap_bytes: ctx.cfg.store.index_heap_bytes,
            index_commit_every: ctx.cfg.store.index_commit_every,
        },
        ingest: IngestOptions {
            allow_private: setup.watch.allow_private,
            ..ctx.ingest_options()
        },
        batch_size: ctx.cfg.ingest.batch_size,
        stop,
    };
    writeln!(
        out,
        "watching {} sources with {} rules and {} alert sinks; stop with Ctrl-C",
        setup.sources.len(),
        setup.rules.len(),
        setup.alerts.len()
    )?;
    out.flush()?;
    varta_app::watch::run(&setup, &opts, embedder, &varta_app::Logged)?;
    tracing::info!("stopped");
    Ok(0)
}

pub fn token(ctx: &Ctx, a: TokenArgs, out: &mut impl Write) -> Result<u8> {
    match a.command {
        TokenCommand::Add { name, role, json } => {
            let role: varta_app::tokens::Role = role.parse().map_err(varta_app::AppError::Usage)?;
            let mut store = ctx.writer()?;
            let token = varta_app::tokens::add(&mut store, &name, role)?;
            store.close().map_err(varta_app::AppError::from)?;
            if json {
                print_json(
                    out,
                    &serde_json::json!({"name": name, "role": role, "token": token}),
                )?;
            } else {
                writeln!(out, "{token}")?;
                eprintln!(
                    "token {name:?} ({}) made; it is shown only now. Use it as `Authorization: Bearer TOKEN`, \
                     as the password of HTTP Basic, or on the dashboard's login page.",
                    role.as_str()
                );
            }
        }
        TokenCommand::List { json } => {
            let store =
                EmbeddedStore::open_read(&ctx.data_dir).map_err(varta_app::AppError::from)?;
            let list = varta_app::tokens::list(&store)?;
            if json {
                print_json(out, &list)?;
            } else if list.is_empty() {
                writeln!(
                    out,
                    "no tokens (make one with `varta token add NAME --role reader`)"
                )?;
            } else {
                for t in &list {
                    writeln!(
                        out,
                        "{:<24} {:<8} {}",
                        t.name,
                        t.role,
                        t.created_at.format("%Y-%m-%d %H:%M UTC")
                    )?;
                }
            }
        }
        TokenCommand::Revoke { name } => {
            let mut store = ctx.writer()?;
            varta_app::tokens::revoke(&mut store, &name)?;
            store.close().map_err(varta_app::AppError::from)?;
            writeln!(out, "revoked {name:?}")?;
        }
    }
    Ok(0)
}
