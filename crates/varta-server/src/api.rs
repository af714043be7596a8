//! The HTTP API under `/api/v1`: JSON in and out, a token on every request, errors from
//! [`crate::error`]'s table, lists paged by opaque cursors. The OpenAPI 3.1 document at
//! `/api/v1/openapi.json` is generated from these handlers' annotations.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Code};
use crate::jobs::{self, Detector, Job};
use crate::state::State as Shared;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::{IntoParams, OpenApi, ToSchema};
use varta_app::tokens::Role;
use varta_core::{Actor, Claim, Document, Finding};
use varta_store::{SearchQuery, Store};

type S = State<Arc<Shared>>;

/// Query parameters, with a JSON 400 (not axum's plain text) when they do not parse.
pub struct Q<T>(pub T);

impl<St: Send + Sync, T: DeserializeOwned> FromRequestParts<St> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Q(q.0))
            .map_err(|e| ApiError::bad(format!("query parameters: {}", e.body_text())))
    }
}

/// A JSON body: 415 unless `Content-Type: application/json`, 413 over the limit, 400 when it
/// does not parse into the request's type.
pub struct J<T>(pub T);

impl<St: Send + Sync, T: DeserializeOwned> FromRequest<St> for J<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, _: &St) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                "send the body as JSON, with `Content-Type: application/json`",
            ));
        }
        let bytes = body_bytes(req.into_body(), JSON_LIMIT).await?;
        serde_json::from_slice(&bytes)
            .map(J)
            .map_err(|e| ApiError::bad(format!("the JSON body: {e}")))
    }
}

/// JSON bodies are small (a claim, a text to match).
const JSON_LIMIT: usize = 1 << 20;

/// The whole body, or 413 past `limit` bytes.
pub async fn body_bytes(body: Body, limit: usize) -> ApiResult<Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // http-body-util's LengthLimitError, somewhere in the chain.
        let mut too_large = false;
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            too_large |= s.to_string().contains("length limit exceeded");
            source = s.source();
        }
        if too_large {
            ApiError::new(
                Code::PayloadTooLarge,
                format!("the body is over the server's limit of {limit} bytes"),
            )
        } else {
            ApiError::bad(format!("reading the body: {e}"))
        }
    })
}

/// An opaque position in a list (`kind` names the list's kind of position: `o` an offset, `a`
/// an actor id), encoded so that clients do not build their own.
fn encode_cursor(kind: char, position: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{position}"))
}

/// The position a cursor of `kind` holds; `None` for no cursor, 400 for one this server did not
/// give out.
fn decode_cursor(kind: char, c: Option<&str>) -> ApiResult<Option<String>> {
    let Some(c) = c.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.strip_prefix(kind)
                .and_then(|r| r.strip_prefix(':'))
                .map(str::to_owned)
        })
        .map(Some)
        .ok_or_else(|| ApiError::bad("cursor: not one this server gave out"))
}

fn cursor_out(offset: usize) -> String {
    encode_cursor('o', &offset.to_string())
}

fn cursor_in(c: Option<&str>) -> ApiResult<usize> {
    match decode_cursor('o', c)? {
        None => Ok(0),
        Some(n) => n
            .parse()
            .map_err(|_| ApiError::bad("cursor: not one this server gave out")),
    }
}

fn time_param(name: &str, v: Option<&str>) -> ApiResult<Option<DateTime<Utc>>> {
    match v {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| {
                ApiError::bad(format!("{name}: {e} (use RFC 3339: 2026-03-01T00:00:00Z)"))
            }),
    }
}

fn limit_param(v: Option<u32>, default: usize, max: usize) -> ApiResult<usize> {
    match v {
        None => Ok(default),
        Some(n) if n == 0 || n as usize > max => {
            Err(ApiError::bad(format!("limit: from 1 to {max}")))
        }
        Some(n) => Ok(n as usize),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words, "quoted phrases", -excluded, a OR b; folded as the index folds (case, look-alike
    /// letters, apostrophes).
    #[param(min_length = 1)]
    pub q: String,
    /// Language code (uk, ru, en, …).
    pub lang: Option<String>,
    /// Actor id (`x:123`) or handle.
    pub actor: Option<String>,
    /// Published at or after (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Published before (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Hits per page (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

/// One search hit.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hit {
    pub id: String,
    pub title: Option<String>,
    /// Up to 200 characters of text around the matches.
    pub snippet: String,
    /// Byte ranges `[start, end)` of `snippet` that matched.
    pub highlights: Vec<[usize; 2]>,
    pub score: f32,
    pub url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub language: String,
    pub actor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// How deep a search may page.
const SEARCH_DEPTH: usize = 10_000;

/// Searches the documents.
#[utoipa::path(get, path = "/search", tag = "documents", params(SearchParams),
    responses((status = 200, body = SearchPage), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
pub async fn search(
    State(st): S,
    Extension(_c): Extension<Caller>,
    Q(p): Q<SearchParams>,
) -> ApiResult<Json<SearchPage>> {
    let offset = cursor_in(p.cursor.as_deref())?;
    let limit = limit_param(p.limit, 20, 100)?;
    if p.q.trim().is_empty() {
        return Err(ApiError::bad("q: give at least one word"));
    }
    if offset + limit > SEARCH_DEPTH {
        return Err(ApiError::bad(format!(
            "cursor: searches page at most {SEARCH_DEPTH} hits deep"
        )));
    }
    let query = SearchQuery {
        text: p.q,
        language: p.lang.filter(|s| !s.is_empty()),
        since: time_param("since", p.since.as_deref())?,
        until: time_param("until", p.until.as_deref())?,
        actor: p.actor.filter(|s| !s.is_empty()),
        limit: offset + limit + 1,
    };
    let hits = st.read(move |s| Ok(s.search(&query)?)).await?;
    let more = hits.len() > offset + limit;
    let hits = hits
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|h| Hit {
            highlights: h.highlighted.iter().map(|&(a, b)| [a, b]).collect(),
            id: h.id,
            title: h.title,
            snippet: h.snippet,
            score: h.score,
            url: h.url,
            published_at: h.published_at,
            language: h.language,
            actor: h.actor,
        })
        .collect();
    Ok(Json(SearchPage {
        hits,
        next: more.then(|| cursor_out(offset + limit)),
    }))
}

/// One document, with its text and metadata.
#[utoipa::path(get, path = "/documents/{id}", tag = "documents", params(("id" = String, Path, description = "Document id")),
    responses((status = 200, body = Document), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn document(
    State(st): S,
    Extension(_c): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Document>> {
    let found = st.read(move |s| Ok(s.get(&id)?)).await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no document with this id"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The input's format; detected from the content when absent.
    pub format: Option<varta_core::Format>,
    /// The source name to record (default: each format's own).
    pub source: Option<String>,
}

/// A record that could not be read.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordError {
    /// `upload`.
    pub file: String,
    /// Which record ("line 17"); absent when the whole body failed.
    pub record: Option<String>,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ingested {
    pub ingested: u64,
    pub duplicates: u64,
    pub failed: u64,
    /// The first 1,000 failures.
    pub errors: Vec<RecordError>,
}

/// Ingests a body in any format `varta ingest` reads (size-capped); a bad record is reported
/// and the rest are stored.
#[utoipa::path(post, path = "/documents", tag = "documents", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses((status = 200, body = Ingested), (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 413, body = ApiError), (status = 503, body = ApiError)))]
pub async fn upload(
    State(st): S,
    Extension(c): Extension<Caller>,
    Q(p): Q<UploadParams>,
    body: Body,
) -> ApiResult<Json<Ingested>> {
    c.require(Role::Analyst)?;
    let format = p.format;
    let bytes = non_empty(body_bytes(body, st.options.upload_limit).await?)?;
    let source = p.source.filter(|s| !s.is_empty());
    let who = c.name.clone();
    let out = st
        .write(move |store| {
            // The body goes to a file of our naming (never the client's) so that every format
            // ingest reads, including folders of pages and Telegram exports, reads it as a file.
            let tmp = tempfile::tempdir().map_err(|e| ApiError::internal(format!("a temporary folder: {e}")))?;
            let path = tmp.path().join("upload");
            std::fs::write(&path, &bytes).map_err(|e| ApiError::internal(format!("writing the upload: {e}")))?;
            let opts = varta_ingest::IngestOptions {
                format,
                source,
                collected_at: Utc::now(),
                ..Default::default()
            };
            let inputs = vec![path.display().to_string()];
            let outcome = varta_app::ingest::ingest(store, &inputs, &opts, 5000, &varta_app::Logged)?;
            tracing::info!(by = %who, new = outcome.summary.ingested, failed = outcome.summary.failed, "upload ingested");
            let prefix = path.display().to_string();
            let s = outcome.summary;
            Ok(Ingested {
                ingested: s.ingested,
                duplicates: s.duplicates,
                failed: s.failed,
                errors: s
                    .errors
                    .into_iter()
                    .map(|e| RecordError {
                        file: e.file.replacen(&prefix, "upload", 1),
                        record: e.record,
                        message: e.message.replace(&prefix, "upload"),
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorsPage {
    pub actors: Vec<Actor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The accounts, channels and sites, by id.
#[utoipa::path(get, path = "/actors", tag = "documents", params(PageParams),
    responses((status = 200, body = ActorsPage), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
pub async fn actors(
    State(st): S,
    Extension(_c): Extension<Caller>,
    Q(p): Q<PageParams>,
) -> ApiResult<Json<ActorsPage>> {
    let limit = limit_param(p.limit, 100, 1000)?;
    // The cursor is the last id of the page before, encoded.
    let after = decode_cursor('a', p.cursor.as_deref())?.unwrap_or_default();
    let mut actors = st
        .read(move |s| Ok(s.actors_page(&after, limit + 1)?))
        .await?;
    let more = actors.len() > limit;
    actors.truncate(limit);
    let next = match actors.last() {
        Some(a) if more => Some(encode_cursor('a', &a.id)),
        _ => None,
    };
    Ok(Json(ActorsPage { actors, next }))
}

/// An account, channel or site.
#[utoipa::path(get, path = "/actors/{id}", tag = "documents", params(("id" = String, Path, description = "Actor id (`x:123`)")),
    responses((status = 200, body = Actor), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn actor(
    State(st): S,
    Extension(_c): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Actor>> {
    let found = st.read(move |s| Ok(s.get_actor(&id)?)).await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no actor with this id"))
}

/// The order of a findings list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best score first.
    Score,
    /// Newest first seen first.
    Time,
}

/// The format of a claims file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClaimsFormat {
    Json,
    Csv,
}

/// An upload must hold something.
fn non_empty(b: Bytes) -> ApiResult<Bytes> {
    if b.is_empty() {
        Err(ApiError::bad("the body is empty: send the file's bytes"))
    } else {
        Ok(b)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingsParams {
    /// `copy-paste-campaign`, `coordinated-group`, `claim-match`, …
    pub kind: Option<String>,
    /// First seen at or after (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// First seen before (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Order: best first (the default) or newest first.
    pub sort: Option<Sort>,
    /// Per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingsPage {
    pub findings: Vec<Finding>,
    /// Findings that match the filters, on all pages.
    pub total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Findings with their evidence, filtered by kind and time.
pub fn filter_findings(
    all: Vec<Finding>,
    kind: Option<&str>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    by_time: bool,
) -> Vec<Finding> {
    let mut v: Vec<Finding> = all
        .into_iter()
        .filter(|f| kind.is_none_or(|k| f.kind == k))
        .filter(|f| since.is_none_or(|t| f.first_seen.is_some_and(|s| s >= t)))
        .filter(|f| until.is_none_or(|t| f.first_seen.is_some_and(|s| s < t)))
        .collect();
    if by_time {
        v.sort_by(|a, b| {
            b.first_seen
                .cmp(&a.first_seen)
                .then_with(|| a.id.cmp(&b.id))
        });
    }
    v
}

/// Findings, best (or newest) first, with their evidence.
#[utoipa::path(get, path = "/findings", tag = "findings", params(FindingsParams),
    responses((status = 200, body = FindingsPage), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
pub async fn findings(
    State(st): S,
    Extension(_c): Extension<Caller>,
    Q(p): Q<FindingsParams>,
) -> ApiResult<Json<FindingsPage>> {
    let offset = cursor_in(p.cursor.as_deref())?;
    let limit = limit_param(p.limit, 50, 500)?;
    let since = time_param("since", p.since.as_deref())?;
    let until = time_param("until", p.until.as_deref())?;
    let by_time = p.sort == Some(Sort::Time);
    let kind = p.kind.filter(|k| !k.is_empty());
    let all = st.read(move |s| Ok(s.findings(kind.as_deref())?)).await?;
    let v = filter_findings(all, None, since, until, by_time);
    let total = v.len();
    let page: Vec<Finding> = v.into_iter().skip(offset).take(limit).collect();
    let next = (offset + limit < total).then(|| cursor_out(offset + limit));
    Ok(Json(FindingsPage {
        findings: page,
        total,
        next,
    }))
}

/// One finding with its evidence.
#[utoipa::path(get, path = "/findings/{id}", tag = "findings", params(("id" = String, Path, description = "Finding id")),
    responses((status = 200, body = Finding), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn finding(
    State(st): S,
    Extension(_c): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Finding>> {
    let found = st.read(move |s| Ok(s.finding(&id)?)).await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no finding with this id"))
}

/// Documents of one day, source and language.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolumeRow {
    pub day: chrono::NaiveDate,
    pub source: String,
    pub language: String,
    pub documents: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    pub documents: u64,
    pub actors: u64,
    pub languages: BTreeMap<String, u64>,
    pub formats: BTreeMap<String, u64>,
    /// Findings per kind.
    pub findings: BTreeMap<String, u64>,
    pub claims: u64,
    /// Documents per day, source and language (recomputed at most once a minute).
    pub volume: Vec<VolumeRow>,
}

/// Counts over the whole store, and the volume per source and language over time.
#[utoipa::path(get, path = "/stats", tag = "documents",
    responses((status = 200, body = StatsOut), (status = 401, body = ApiError)))]
pub async fn stats(State(st): S, Extension(_c): Extension<Caller>) -> ApiResult<Json<StatsOut>> {
    let st2 = st.clone();
    let out = st
        .read(move |s| {
            let base = s.stats()?;
            let mut findings = BTreeMap::new();
            for f in s.findings(None)? {
                *findings.entry(f.kind).or_insert(0u64) += 1;
            }
            let claims = s.claims()?.len() as u64;
            Ok((base, findings, claims))
        })
        .await?;
    let volume = tokio::task::spawn_blocking(move || st2.volume())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    let (base, findings, claims) = out;
    Ok(Json(StatsOut {
        documents: base.documents,
        actors: base.actors,
        languages: base.languages,
        formats: base.formats,
        findings,
        claims,
        volume: volume
            .iter()
            .map(|v| VolumeRow {
                day: v.day,
                source: v.source.clone(),
                language: v.language.clone(),
                documents: v.documents,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    pub detector: Detector,
}

/// Starts a detector over the whole store; poll the job for its progress.
#[utoipa::path(post, path = "/jobs", tag = "detectors", request_body = JobRequest,
    responses((status = 202, body = Job), (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
pub async fn start_job(
    State(st): S,
    Extension(c): Extension<Caller>,
    J(req): J<JobRequest>,
) -> ApiResult<impl IntoResponse> {
    c.require(Role::Analyst)?;
    let job = jobs::start(&st, req.detector)?;
    tracing::info!(by = %c.name, job = job.id, detector = ?req.detector, "detector job queued");
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// A job's state and progress.
#[utoipa::path(get, path = "/jobs/{id}", tag = "detectors", params(("id" = u64, Path, description = "Job id")),
    responses((status = 200, body = Job), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn job(
    State(st): S,
    Extension(_c): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    let id: u64 = id.parse().map_err(|_| ApiError::bad("id: a job number"))?;
    let j = st.job(id).ok_or_else(|| {
        ApiError::not_found("no job with this id (jobs are kept until the server stops)")
    })?;
    let snapshot = j.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(Json(snapshot))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Per page (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimsPage {
    pub claims: Vec<Claim>,
    pub total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The claims database, in the order added.
#[utoipa::path(get, path = "/claims", tag = "claims", params(PageParams),
    responses((status = 200, body = ClaimsPage), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
pub async fn claims(
    State(st): S,
    Extension(_c): Extension<Caller>,
    Q(p): Q<PageParams>,
) -> ApiResult<Json<ClaimsPage>> {
    let offset = cursor_in(p.cursor.as_deref())?;
    let limit = limit_param(p.limit, 100, 1000)?;
    let all = st.read(|s| Ok(s.claims()?)).await?;
    let total = all.len();
    let claims = all.into_iter().skip(offset).take(limit).collect();
    Ok(Json(ClaimsPage {
        claims,
        total,
        next: (offset + limit < total).then(|| cursor_out(offset + limit)),
    }))
}

/// A claim to add by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClaim {
    /// The claim as reviewed.
    #[schema(min_length = 1)]
    pub text: String,
    /// The verdict: False, Misleading, …
    pub rating: Option<String>,
    /// The fact-check page.
    pub url: Option<String>,
    pub reviewer: Option<String>,
    /// The claim's language code.
    pub lang: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddedClaim {
    pub id: String,
    /// `false` when the claim was already stored.
    pub added: bool,
}

/// Adds one claim.
#[utoipa::path(post, path = "/claims", tag = "claims", request_body = NewClaim,
    responses((status = 200, body = AddedClaim), (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
pub async fn add_claim(
    State(st): S,
    Extension(c): Extension<Caller>,
    J(n): J<NewClaim>,
) -> ApiResult<Json<AddedClaim>> {
    c.require(Role::Analyst)?;
    if n.text.trim().is_empty() {
        return Err(ApiError::bad("text: the claim is empty"));
    }
    let new = varta_app::claims::NewClaim {
        text: n.text,
        rating: n.rating,
        url: n.url,
        reviewer: n.reviewer,
        lang: n.lang,
    };
    let added = st
        .write(move |s| Ok(varta_app::claims::add(s, new)?))
        .await?;
    Ok(Json(AddedClaim {
        id: added.id,
        added: added.added,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportFailure {
    pub file: String,
    pub record: Option<String>,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Imported {
    pub read: usize,
    pub added: usize,
    pub duplicates: usize,
    pub failed: usize,
    pub errors: Vec<ImportFailure>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `json` (ClaimReview JSON-LD, Google Fact Check Tools) or `csv` (EUvsDisinfo-style);
    /// detected from the content when absent.
    pub format: Option<ClaimsFormat>,
}

/// Imports a claims file (ClaimReview JSON-LD, Fact Check Tools JSON, EUvsDisinfo CSV).
#[utoipa::path(post, path = "/claims/import", tag = "claims", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The claims file"),
    responses((status = 200, body = Imported), (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 413, body = ApiError), (status = 503, body = ApiError)))]
pub async fn import_claims(
    State(st): S,
    Extension(c): Extension<Caller>,
    Q(p): Q<ImportParams>,
    body: Body,
) -> ApiResult<Json<Imported>> {
    c.require(Role::Analyst)?;
    let bytes = non_empty(body_bytes(body, st.options.upload_limit).await?)?;
    let ext = match p.format {
        None => {
            let head = bytes.iter().find(|b| !b.is_ascii_whitespace());
            if matches!(head, Some(b'{') | Some(b'[')) {
                "json"
            } else {
                "csv"
            }
        }
        Some(ClaimsFormat::Json) => "json",
        Some(ClaimsFormat::Csv) => "csv",
    };
    let r = st
        .write(move |s| {
            let tmp = tempfile::tempdir()
                .map_err(|e| ApiError::internal(format!("a temporary folder: {e}")))?;
            let path = tmp.path().join(format!("claims.{ext}"));
            std::fs::write(&path, &bytes)
                .map_err(|e| ApiError::internal(format!("writing the upload: {e}")))?;
            let r = varta_app::claims::import(s, std::slice::from_ref(&path), &varta_app::Logged)?;
            let prefix = path.display().to_string();
            Ok(Imported {
                read: r.read,
                added: r.added,
                duplicates: r.duplicates,
                failed: r.failed,
                errors: r
                    .errors
                    .into_iter()
                    .map(|e| ImportFailure {
                        file: e.file.replacen(&prefix, "upload", 1),
                        record: e.record,
                        message: e.message.replace(&prefix, "upload"),
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(Json(r))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    /// A text (a post, a headline) to compare with every stored claim.
    #[schema(min_length = 1)]
    pub text: String,
    /// Claims to return, best first (default 5).
    #[schema(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchOut {
    /// The best claims, each with its score and verdict (`match`, `suggest`, `none`).
    #[schema(value_type = Vec<Object>)]
    pub matches: Vec<serde_json::Value>,
}

/// Compares a text with the claims database, as `varta claims match` does.
#[utoipa::path(post, path = "/claims/match", tag = "claims", request_body = MatchRequest,
    responses((status = 200, body = MatchOut), (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
pub async fn match_claims(
    State(st): S,
    Extension(c): Extension<Caller>,
    J(m): J<MatchRequest>,
) -> ApiResult<Json<MatchOut>> {
    // Matching caches the claims' embeddings in the store: it runs on the writer.
    c.require(Role::Analyst)?;
    if m.text.trim().is_empty() {
        return Err(ApiError::bad("text: empty"));
    }
    let limit = limit_param(m.limit, 5, 50)?;
    let (dir, model) = (st.dir.clone(), st.options.model.clone());
    let out = st
        .write(move |s| {
            let (embedder, params) = varta_app::claims::match_setup(
                false,
                model.as_deref(),
                &dir,
                &Default::default(),
                &varta_app::Logged,
            )?;
            let found = varta_app::claims::match_text(
                s,
                &m.text,
                embedder.as_deref(),
                &params,
                limit,
                &varta_app::Logged,
            )?;
            found
                .iter()
                .map(|f| serde_json::to_value(f).map_err(|e| ApiError::internal(e.to_string())))
                .collect::<ApiResult<Vec<_>>>()
        })
        .await?;
    Ok(Json(MatchOut { matches: out }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// The server's tokens (names and roles; never the secrets). Admin only.
#[utoipa::path(get, path = "/tokens", tag = "admin",
    responses((status = 200, body = Vec<TokenOut>), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub async fn tokens(
    State(st): S,
    Extension(c): Extension<Caller>,
) -> ApiResult<Json<Vec<TokenOut>>> {
    c.require(Role::Admin)?;
    let list = st.read(|s| Ok(varta_app::tokens::list(s)?)).await?;
    Ok(Json(
        list.into_iter()
            .map(|t| TokenOut {
                name: t.name,
                role: t.role,
                created_at: t.created_at,
            })
            .collect(),
    ))
}

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        openapi.security = Some(vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("basic", Vec::<String>::new()),
        ]);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Varta API", description = "Search, documents, findings with their evidence, detectors and the claims database of one Varta data directory. Every request needs a token (`varta token add NAME --role reader|analyst|admin`), as `Authorization: Bearer TOKEN` or as the password of HTTP Basic."),
    servers((url = "/api/v1")),
    paths(search, document, upload, actors, actor, findings, finding, stats, start_job, job, claims, add_claim, import_claims, match_claims, tokens, openapi_json),
    components(schemas(ApiError, Code, Detector, crate::jobs::JobState, Sort, ClaimsFormat, varta_core::Format)),
    modifiers(&Security)
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "admin",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object), (status = 401, body = ApiError)))]
pub async fn openapi_json(Extension(_c): Extension<Caller>) -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
