//! TAXII 2.1 at `/taxii2/`: discovery, one API root (`/taxii2/varta/`) and its three read-only
//! collections (`findings`, `claims`, `alerts`), served from what [`varta_app::taxii`] stores.
//!
//! Paging follows the specification and what clients in the field do with it: objects come in
//! (date added, id, version) order; `added_after` is exclusive; `next` is the position of the
//! last object returned, so a page that ends inside a run of objects sharing one date added
//! continues exactly after it, and objects written while a client pages all sort after what it
//! has seen (every publishing transaction gets a later date than any before it). The
//! `X-TAXII-Date-Added-First`/`-Last` headers are at millisecond precision, as dates are stored,
//! so a client that resumes from `-Last` (OpenCTI's ingester) neither repeats nor skips.

use crate::auth;
use crate::error::{ApiError, Code};
use crate::state::State as Shared;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::Arc;
use varta_app::taxii::{COLLECTIONS, Collection};
use varta_store::{Store, StoredTaxiiObject, TaxiiCursor, TaxiiQuery, VersionMatch};

pub const TAXII_TYPE: &str = "application/taxii+json;version=2.1";
const STIX_TYPE: &str = "application/stix+json;version=2.1";
/// The largest body the API root accepts (advertised as `max_content_length`).
pub const MAX_CONTENT_LENGTH: usize = 10 << 20;
const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 10_000;

/// A TAXII error message (the specification's shape), from the server's one error table.
pub struct TaxiiError(pub ApiError);

impl From<ApiError> for TaxiiError {
    fn from(e: ApiError) -> Self {
        TaxiiError(e)
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = e.code.status();
        let body = json!({
            "title": status.canonical_reason().unwrap_or("error"),
            "description": e.message,
            "error_code": e.code,
            "http_status": status.as_u16().to_string(),
        });
        let mut r = taxii_response(status, body.to_string());
        if e.code == Code::Unauthorized {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"varta\", Bearer realm=\"varta\""),
            );
        }
        r
    }
}

type TResult<T> = Result<T, TaxiiError>;

fn taxii_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_TYPE));
    r
}

/// Whether an `Accept` header lets us answer with TAXII JSON: absent, `*/*`, `application/*`,
/// or `application/taxii+json` (at version 2.1 when a version is named).
fn acceptable(headers: &HeaderMap) -> bool {
    let Some(v) = headers.get(header::ACCEPT) else {
        return true;
    };
    let Ok(v) = v.to_str() else { return false };
    v.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let params: Vec<String> = parts
            .map(|p| p.replace(' ', "").to_ascii_lowercase())
            .collect();
        match media.as_str() {
            "*/*" | "application/*" => true,
            "application/taxii+json" => params
                .iter()
                .filter_map(|p| p.strip_prefix("version="))
                .all(|v| v.trim_matches('"') == "2.1"),
            _ => false,
        }
    })
}

/// Every TAXII request: a token (401), then an acceptable `Accept` (406).
pub async fn guard(State(st): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let caller = match auth::caller(&st, req.headers(), false).await {
        Ok(c) => c,
        Err(e) => return TaxiiError(e).into_response(),
    };
    if !acceptable(req.headers()) {
        return TaxiiError(ApiError::new(
            Code::NotAcceptable,
            format!("this TAXII server answers in {TAXII_TYPE}; send it in Accept"),
        ))
        .into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

pub fn router(state: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2/varta/", get(api_root))
        .route("/taxii2/varta/status/{id}/", get(status))
        .route("/taxii2/varta/collections/", get(collections))
        .route("/taxii2/varta/collections/{cid}/", get(collection))
        .route(
            "/taxii2/varta/collections/{cid}/objects/",
            get(objects).post(add_objects),
        )
        .route("/taxii2/varta/collections/{cid}/manifest/", get(manifest))
        .route(
            "/taxii2/varta/collections/{cid}/objects/{oid}/",
            get(object).delete(delete_object),
        )
        .route(
            "/taxii2/varta/collections/{cid}/objects/{oid}/versions/",
            get(versions),
        )
        .layer(axum::middleware::from_fn_with_state(state, guard))
}

async fn discovery() -> Response {
    taxii_response(
        StatusCode::OK,
        json!({
            "title": "Varta",
            "description": "Findings of Varta, an early-warning system for information operations, as STIX 2.1 with DISARM techniques.",
            "default": "/taxii2/varta/",
            "api_roots": ["/taxii2/varta/"],
        })
        .to_string(),
    )
}

async fn api_root() -> Response {
    taxii_response(
        StatusCode::OK,
        json!({
            "title": "Varta",
            "description": "Findings, claims and alerts.",
            "versions": [TAXII_TYPE],
            "max_content_length": MAX_CONTENT_LENGTH,
        })
        .to_string(),
    )
}

async fn status(Path(_id): Path<String>) -> TaxiiError {
    TaxiiError(ApiError::not_found(
        "no such status: this server's collections take no writes",
    ))
}

fn collection_json(c: &Collection) -> serde_json::Value {
    json!({
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "can_read": true,
        "can_write": false,
        "media_types": [STIX_TYPE],
    })
}

async fn collections() -> Response {
    let list: Vec<_> = COLLECTIONS.iter().map(collection_json).collect();
    taxii_response(StatusCode::OK, json!({ "collections": list }).to_string())
}

fn find(cid: &str) -> TResult<&'static Collection> {
    varta_app::taxii::collection(cid)
        .ok_or_else(|| TaxiiError(ApiError::not_found(format!("no collection {cid:?}"))))
}

async fn collection(Path(cid): Path<String>) -> TResult<Response> {
    let c = find(&cid)?;
    Ok(taxii_response(
        StatusCode::OK,
        collection_json(c).to_string(),
    ))
}

/// The filters and paging of a request.
fn query(c: &Collection, raw: &str, id: Option<&str>, all_versions: bool) -> TResult<TaxiiQuery> {
    let bad = |m: String| TaxiiError(ApiError::bad(m));
    let mut q = TaxiiQuery {
        collection: c.name.to_string(),
        limit: DEFAULT_LIMIT,
        ..Default::default()
    };
    let mut versions = VersionMatch::default();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        let list = || {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        match k.as_ref() {
            "added_after" => {
                let t = DateTime::parse_from_rfc3339(&v)
                    .map_err(|e| bad(format!("added_after: {e}")))?;
                q.added_after_ms = Some(t.with_timezone(&Utc).timestamp_millis());
            }
            "limit" => {
                let n: usize = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad("limit: a positive whole number".into()))?;
                q.limit = n.min(MAX_LIMIT);
            }
            "next" if !v.is_empty() => {
                q.after = Some(
                    decode_next(&v)
                        .ok_or_else(|| bad("next: not a value this server gave out".into()))?,
                )
            }
            "match[id]" => q.ids.extend(list()),
            "match[type]" => q.types.extend(list()),
            "match[version]" => {
                for s in list() {
                    match s.as_str() {
                        "all" => versions.all = true,
                        "first" => versions.first = true,
                        "last" => versions.last = true,
                        t => {
                            DateTime::parse_from_rfc3339(t)
                                .map_err(|e| bad(format!("match[version] {t:?}: {e}")))?;
                            versions.exact.push(t.to_string());
                        }
                    }
                }
            }
            // Everything this server holds is STIX 2.1.
            "match[spec_version]" if !list().any(|s| s == "2.1") => {
                q.types = vec!["\u{0}none".into()];
            }
            _ => {}
        }
    }
    if let Some(id) = id {
        q.ids = vec![id.to_string()];
    }
    if all_versions {
        versions = VersionMatch {
            all: true,
            ..Default::default()
        };
    }
    q.versions = versions;
    Ok(q)
}

fn encode_next(o: &StoredTaxiiObject) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}\n{}\n{}",
        o.date_added_ms, o.object.id, o.object.version
    ))
}

fn decode_next(s: &str) -> Option<TaxiiCursor> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut it = text.splitn(3, '\n');
    Some(TaxiiCursor {
        date_added_ms: it.next()?.parse().ok()?,
        id: it.next()?.to_string(),
        version: it.next()?.to_string(),
    })
}

fn stamp(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

async fn fetch(st: &Arc<Shared>, q: TaxiiQuery) -> TResult<(Vec<StoredTaxiiObject>, bool)> {
    Ok(st.read(move |s| Ok(s.taxii_page(&q)?)).await?)
}

/// An envelope-like body with the paging fields and date headers.
fn paged(items_key: &str, items: Vec<String>, page: &[StoredTaxiiObject], more: bool) -> Response {
    let mut body = String::with_capacity(items.iter().map(|s| s.len() + 1).sum::<usize>() + 200);
    body.push('{');
    if !page.is_empty() {
        body.push_str(if more {
            "\"more\":true"
        } else {
            "\"more\":false"
        });
        if more && let Some(last) = page.last() {
            body.push_str(",\"next\":");
            body.push_str(&json!(encode_next(last)).to_string());
        }
        body.push_str(",\"");
        body.push_str(items_key);
        body.push_str("\":[");
        body.push_str(&items.join(","));
        body.push(']');
    }
    body.push('}');
    let mut r = taxii_response(StatusCode::OK, body);
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        for (name, ms) in [
            ("x-taxii-date-added-first", first.date_added_ms),
            ("x-taxii-date-added-last", last.date_added_ms),
        ] {
            if let Ok(v) = HeaderValue::from_str(&stamp(ms)) {
                r.headers_mut().insert(name, v);
            }
        }
    }
    r
}

async fn objects(
    State(st): State<Arc<Shared>>,
    Path(cid): Path<String>,
    req: Request,
) -> TResult<Response> {
    let c = find(&cid)?;
    let q = query(c, req.uri().query().unwrap_or(""), None, false)?;
    let (page, more) = fetch(&st, q).await?;
    let items = page.iter().map(|o| o.object.body.clone()).collect();
    Ok(paged("objects", items, &page, more))
}

async fn object(
    State(st): State<Arc<Shared>>,
    Path((cid, oid)): Path<(String, String)>,
    req: Request,
) -> TResult<Response> {
    let c = find(&cid)?;
    let q = query(c, req.uri().query().unwrap_or(""), Some(&oid), false)?;
    let (page, more) = fetch(&st, q).await?;
    if page.is_empty() {
        return Err(TaxiiError(ApiError::not_found(format!(
            "no object {oid:?} in {} matches",
            c.name
        ))));
    }
    let items = page.iter().map(|o| o.object.body.clone()).collect();
    Ok(paged("objects", items, &page, more))
}

async fn manifest(
    State(st): State<Arc<Shared>>,
    Path(cid): Path<String>,
    req: Request,
) -> TResult<Response> {
    let c = find(&cid)?;
    let q = query(c, req.uri().query().unwrap_or(""), None, false)?;
    let (page, more) = fetch(&st, q).await?;
    let items = page
        .iter()
        .map(|o| {
            let added = stamp(o.date_added_ms);
            let version = if o.object.version.is_empty() {
                added.clone()
            } else {
                o.object.version.clone()
            };
            json!({"id": o.object.id, "date_added": added, "version": version, "media_type": STIX_TYPE})
                .to_string()
        })
        .collect();
    Ok(paged("objects", items, &page, more))
}

async fn versions(
    State(st): State<Arc<Shared>>,
    Path((cid, oid)): Path<(String, String)>,
    req: Request,
) -> TResult<Response> {
    let c = find(&cid)?;
    let q = query(c, req.uri().query().unwrap_or(""), Some(&oid), true)?;
    let (page, more) = fetch(&st, q).await?;
    if page.is_empty() {
        return Err(TaxiiError(ApiError::not_found(format!(
            "no object {oid:?} in {}",
            c.name
        ))));
    }
    let items = page
        .iter()
        .map(|o| {
            let v = if o.object.version.is_empty() {
                stamp(o.date_added_ms)
            } else {
                o.object.version.clone()
            };
            json!(v).to_string()
        })
        .collect();
    Ok(paged("versions", items, &page, more))
}

/// The collections are read-only; a write is still checked as the specification orders (media
/// type, then size) so that a client learns what is wrong with its request first.
async fn add_objects(Path(cid): Path<String>, headers: HeaderMap, body: Body) -> TResult<Response> {
    find(&cid)?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .replace(' ', "")
        .to_ascii_lowercase();
    if !ctype.starts_with("application/taxii+json") {
        return Err(TaxiiError(ApiError::new(
            Code::UnsupportedMediaType,
            format!("send objects as {TAXII_TYPE}"),
        )));
    }
    crate::api::body_bytes(body, MAX_CONTENT_LENGTH).await?;
    Err(TaxiiError(ApiError::new(
        Code::Forbidden,
        "this collection is read-only (can_write: false)",
    )))
}

async fn delete_object(
    Path((cid, _oid)): Path<(String, String)>,
    method: Method,
) -> TResult<Response> {
    find(&cid)?;
    Err(TaxiiError(ApiError::new(
        Code::Forbidden,
        format!("this collection is read-only ({method} refused)"),
    )))
}
