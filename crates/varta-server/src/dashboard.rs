//! The dashboard at `/`: server-rendered pages, no scripts at all (the Content-Security-Policy
//! allows none), the report's style sheet and drawings reused from [`varta_app::report`].
//!
//! Login takes a token and keeps it in an HttpOnly, SameSite=Strict cookie; every form that
//! changes something carries a value derived from the session's token ([`auth::csrf_value`]),
//! and form posts from another origin are refused outright. Every string from the store is
//! escaped where it is written; only http(s) URLs become links.

use crate::auth::{self, Caller, SESSION_COOKIE};
use crate::error::{ApiError, Code};
use crate::state::State as Shared;
use axum::extract::{Form, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use varta_app::report::{self, ReportOptions, esc, link};
use varta_app::tokens::Role;
use varta_store::{SearchQuery, Store};

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const EXTRA_STYLE: &str = r#"
header a{color:#fff}header .who{float:right;font-size:13px}header form{display:inline}
header button{background:none;border:1px solid #fff;color:#fff;border-radius:4px;cursor:pointer;margin-left:8px}
form.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:end;margin:12px 0}form.filters label{display:flex;flex-direction:column;font-size:12px;color:#555}
input,select,button,textarea{font:inherit;padding:4px 6px}mark{background:#ffe58a}
.hit{background:#fff;border:1px solid #d9dde5;border-radius:8px;padding:10px 14px;margin:10px 0}.hit h3 a{color:#14213d}
.login{max-width:420px;margin:60px auto;background:#fff;border:1px solid #d9dde5;border-radius:8px;padding:20px}
.login input{width:100%;box-sizing:border-box}.err{color:#a40000}.mt{margin-top:14px}
"#;

/// A page of the dashboard, with its security headers.
fn page(status: StatusCode, title: &str, caller: Option<&Caller>, body: &str) -> Response {
    let mut h = String::with_capacity(body.len() + 2048);
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="same-origin"><title>{} · Varta</title><link rel="stylesheet" href="/static/style.css"></head><body><header>"#,
        esc(title)
    );
    if let Some(c) = caller {
        let _ = write!(
            h,
            r#"<span class="who">{} ({})<form method="post" action="/logout"><input type="hidden" name="csrf" value="{}"><button type="submit">Log out</button></form></span>"#,
            esc(&c.name),
            c.role.as_str(),
            auth::csrf_value(&c.token)
        );
    }
    h.push_str(r#"<h1><a href="/">Varta</a></h1></header>"#);
    if caller.is_some() {
        h.push_str(r#"<nav><a href="/">Overview</a><a href="/search">Search</a><a href="/findings">Findings</a><a href="/claims">Claims</a><a href="/stats">Stats</a><a href="/watch">Watch</a></nav>"#);
    }
    let _ = write!(h, "<main>{body}</main></body></html>");
    let mut r = (status, h).into_response();
    let hd = r.headers_mut();
    hd.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    hd.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    hd.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the
    // dashboard's own form posts, which the origin check refuses.
    hd.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    hd.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    hd.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A failure as a page.
struct PageError(ApiError, Option<Caller>);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = format!(
            r#"<h2>{}</h2><p class="err">{}</p>"#,
            self.0.code.status(),
            esc(&self.0.message)
        );
        page(self.0.code.status(), "Error", self.1.as_ref(), &body)
    }
}

type PResult = Result<Response, PageError>;

fn fail(c: &Caller) -> impl Fn(ApiError) -> PageError + '_ {
    move |e| PageError(e, Some(c.clone()))
}

/// Pages need a session: without one, the login page.
pub async fn guard(State(st): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    match auth::caller(&st, req.headers(), true).await {
        Ok(c) => {
            req.extensions_mut().insert(c);
            next.run(req).await
        }
        Err(e) if e.code == Code::Unauthorized => Redirect::to("/login").into_response(),
        Err(e) => PageError(e, None).into_response(),
    }
}

pub fn router(state: Arc<Shared>) -> Router<Arc<Shared>> {
    let private = Router::new()
        .route("/", get(overview))
        .route("/search", get(search))
        .route("/findings", get(findings))
        .route("/findings/{id}", get(finding))
        .route("/documents/{id}", get(document))
        .route("/claims", get(claims).post(add_claim))
        .route("/stats", get(stats))
        .route("/watch", get(watch))
        .route("/logout", post(logout))
        .layer(axum::middleware::from_fn_with_state(state, guard));
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/static/style.css", get(style))
        .merge(private)
}

async fn style() -> Response {
    let mut r = format!("{}{}", report::STYLE, EXTRA_STYLE).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    r
}

fn login_page(status: StatusCode, message: Option<&str>) -> Response {
    let mut body = String::from(
        r#"<div class="login"><h2>Log in</h2><p>Paste a token made with <code>varta token add NAME --role reader</code>.</p>"#,
    );
    if let Some(m) = message {
        let _ = write!(body, r#"<p class="err">{}</p>"#, esc(m));
    }
    body.push_str(r#"<form method="post" action="/login"><label>Token<input type="password" name="token" autocomplete="current-password" required></label><button class="mt" type="submit">Log in</button></form></div>"#);
    page(status, "Log in", None, &body)
}

async fn login_form() -> Response {
    login_page(StatusCode::OK, None)
}

/// A form post must come from this server's own pages: a browser names the page's origin, and
/// a cross-site post is refused whatever it carries.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let o = origin.trim_end_matches('/');
            o == format!("http://{host}") || o == format!("https://{host}")
        }
    }
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    State(st): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !same_origin(&headers) {
        return login_page(
            StatusCode::FORBIDDEN,
            Some("a login from another site was refused"),
        );
    }
    let Ok(Form(f)) = form else {
        return login_page(StatusCode::BAD_REQUEST, Some("paste a token"));
    };
    let token = f.token.trim().to_string();
    let st2 = st.clone();
    let t2 = token.clone();
    let found = tokio::task::spawn_blocking(move || auth::check(&st2, &t2)).await;
    match found {
        Ok(Ok(Some(c))) => {
            tracing::info!(who = %c.name, "dashboard login");
            let mut r = Redirect::to("/").into_response();
            let cookie = format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Ok(Ok(None)) => login_page(StatusCode::UNAUTHORIZED, Some("that token is not valid")),
        _ => login_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("the server could not check the token"),
        ),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn check_form(c: &Caller, headers: &HeaderMap, csrf: &str) -> Result<(), PageError> {
    if same_origin(headers) && auth::csrf_ok(&c.token, csrf) {
        Ok(())
    } else {
        Err(PageError(
            ApiError::new(
                Code::Forbidden,
                "the form was not sent from this dashboard (log in again)",
            ),
            Some(c.clone()),
        ))
    }
}

async fn logout(
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> PResult {
    check_form(&c, &headers, &f.csrf)?;
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("varta_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(r)
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

fn finding_title(f: &varta_core::Finding) -> String {
    let (n, text) = varta_app::export::summary(f);
    format!(
        "{} · {n} · {}",
        f.kind,
        varta_detect::claims::finding::short(&text, 90)
    )
}

fn findings_table(h: &mut String, list: &[varta_core::Finding]) {
    h.push_str(r#"<table class="findings"><tr><th>score</th><th>kind</th><th>first seen</th><th>finding</th></tr>"#);
    for f in list {
        let _ = write!(
            h,
            r#"<tr><td>{:.3}</td><td>{}</td><td>{}</td><td><a class="finding" href="/findings/{}">{}</a></td></tr>"#,
            f.score,
            esc(&f.kind),
            when(f.first_seen),
            enc(&f.id),
            esc(&finding_title(f))
        );
    }
    h.push_str("</table>");
}

async fn overview(State(st): State<Arc<Shared>>, Extension(c): Extension<Caller>) -> PResult {
    let (stats, findings) = st
        .read(|s| Ok((s.stats()?, s.findings(None)?)))
        .await
        .map_err(fail(&c))?;
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &findings {
        *kinds.entry(f.kind.as_str()).or_default() += 1;
    }
    let mut h = format!(
        r#"<h2>Overview</h2><div class="cards"><div class="card"><b>{}</b>documents</div><div class="card"><b>{}</b>actors</div>"#,
        stats.documents, stats.actors
    );
    for (k, n) in &kinds {
        let _ = write!(
            h,
            r#"<div class="card"><b>{n}</b><a href="/findings?kind={}">{}</a></div>"#,
            enc(k),
            esc(k)
        );
    }
    h.push_str("</div><h2>Best findings</h2>");
    let top: Vec<_> = findings.into_iter().take(15).collect();
    findings_table(&mut h, &top);
    Ok(page(StatusCode::OK, "Overview", Some(&c), &h))
}

#[derive(Deserialize, Default)]
struct SearchForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
}

/// A date from a form's date field (`2026-03-01`) or a full RFC 3339 time.
fn form_date(name: &str, v: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()));
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| ApiError::bad(format!("{name}: {e}")))
}

/// The snippet with its matched ranges in `<mark>`, everything escaped.
fn highlighted(snippet: &str, marks: &[(usize, usize)]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for &(a, b) in marks {
        if a < at
            || b > snippet.len()
            || !snippet.is_char_boundary(a)
            || !snippet.is_char_boundary(b)
        {
            continue;
        }
        out.push_str(&esc(&snippet[at..a]));
        let _ = write!(out, "<mark>{}</mark>", esc(&snippet[a..b]));
        at = b;
    }
    out.push_str(&esc(&snippet[at..]));
    out
}

async fn search(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    q: Result<axum::extract::Query<SearchForm>, axum::extract::rejection::QueryRejection>,
) -> PResult {
    let f = q
        .map(|q| q.0)
        .map_err(|e| PageError(ApiError::bad(e.body_text()), Some(c.clone())))?;
    let mut h = format!(
        r#"<h2>Search</h2><form class="filters" method="get" action="/search"><label>Words<input name="q" value="{}" size="40" autofocus></label><label>Language<input name="lang" value="{}" size="4" placeholder="uk"></label><label>Actor<input name="actor" value="{}" size="14"></label><label>Since<input type="date" name="since" value="{}"></label><label>Until<input type="date" name="until" value="{}"></label><button type="submit">Search</button></form>"#,
        esc(&f.q),
        esc(&f.lang),
        esc(&f.actor),
        esc(&f.since),
        esc(&f.until)
    );
    if !f.q.trim().is_empty() {
        let query = SearchQuery {
            text: f.q.clone(),
            language: Some(f.lang.trim().to_string()).filter(|s| !s.is_empty()),
            since: form_date("since", &f.since).map_err(fail(&c))?,
            until: form_date("until", &f.until).map_err(fail(&c))?,
            actor: Some(f.actor.trim().to_string()).filter(|s| !s.is_empty()),
            limit: 50,
        };
        let hits = st
            .read(move |s| Ok(s.search(&query)?))
            .await
            .map_err(fail(&c))?;
        let _ = write!(
            h,
            r#"<p class="meta">{} hits{}</p>"#,
            hits.len(),
            if hits.len() == 50 {
                " (the best 50)"
            } else {
                ""
            }
        );
        for hit in &hits {
            let title = hit
                .title
                .clone()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| hit.id.clone());
            let _ = write!(
                h,
                r#"<div class="hit"><h3><a href="/documents/{}">{}</a></h3><p class="meta">{} · {} · {} · score {:.2}</p><p class="snippet">{}</p></div>"#,
                enc(&hit.id),
                esc(&title),
                esc(hit.actor.as_deref().unwrap_or("")),
                esc(&hit.language),
                when(hit.published_at),
                hit.score,
                highlighted(&hit.snippet, &hit.highlighted)
            );
        }
    }
    Ok(page(StatusCode::OK, "Search", Some(&c), &h))
}

#[derive(Deserialize, Default)]
struct FindingsForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    sort: String,
}

async fn findings(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    q: Result<axum::extract::Query<FindingsForm>, axum::extract::rejection::QueryRejection>,
) -> PResult {
    let f = q
        .map(|q| q.0)
        .map_err(|e| PageError(ApiError::bad(e.body_text()), Some(c.clone())))?;
    let kind = Some(f.kind.clone()).filter(|k| !k.is_empty());
    let all = st
        .read(move |s| Ok(s.findings(kind.as_deref())?))
        .await
        .map_err(fail(&c))?;
    let by_time = f.sort == "time";
    let list = crate::api::filter_findings(all, None, None, None, by_time);
    let mut h = String::from(
        "<h2>Findings</h2><form class=\"filters\" method=\"get\" action=\"/findings\"><label>Kind<select name=\"kind\">",
    );
    for (k, label) in [
        ("", "all"),
        (varta_detect::campaigns::KIND, "copy-paste campaigns"),
        (varta_detect::coord::finding::KIND, "coordinated groups"),
        (varta_detect::claims::finding::KIND, "repeated claims"),
        (varta_detect::narratives::KIND, "narratives"),
        (
            varta_app::watch::engine::RULE_KIND,
            "watchlist rule matches",
        ),
        (varta_app::watch::engine::BURST_KIND, "bursts"),
        (varta_app::watch::engine::GROUP_KIND, "groups acting again"),
    ] {
        let _ = write!(
            h,
            r#"<option value="{}"{}>{}</option>"#,
            esc(k),
            if f.kind == k { " selected" } else { "" },
            label
        );
    }
    let _ = write!(
        h,
        r#"</select></label><label>Order<select name="sort"><option value="score"{}>best first</option><option value="time"{}>newest first</option></select></label><button type="submit">Show</button></form><p class="meta">{} findings{}</p>"#,
        if by_time { "" } else { " selected" },
        if by_time { " selected" } else { "" },
        list.len(),
        if list.len() > 500 {
            " (the first 500 shown)"
        } else {
            ""
        }
    );
    let shown: Vec<_> = list.into_iter().take(500).collect();
    findings_table(&mut h, &shown);
    Ok(page(StatusCode::OK, "Findings", Some(&c), &h))
}

async fn finding(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> PResult {
    let html = st
        .read(move |s| {
            let Some(f) = s.finding(&id)? else {
                return Ok(None);
            };
            let section = report::finding_html(s, &f, &ReportOptions::default())?;
            Ok(Some((finding_title(&f), section)))
        })
        .await
        .map_err(fail(&c))?;
    let Some((title, section)) = html else {
        return Err(PageError(
            ApiError::not_found("no finding with this id"),
            Some(c),
        ));
    };
    let body = format!("<h2>{}</h2>{section}", esc(&title));
    Ok(page(StatusCode::OK, &title, Some(&c), &body))
}

async fn document(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> PResult {
    let found = st.read(move |s| Ok(s.get(&id)?)).await.map_err(fail(&c))?;
    let Some(d) = found else {
        return Err(PageError(
            ApiError::not_found("no document with this id"),
            Some(c),
        ));
    };
    let title = d
        .title
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| d.id.clone());
    let mut h = format!(
        r#"<h2 class="doc-title">{}</h2><p class="meta">{} · {} · {} ({:.2}) · published {} · collected {}</p>"#,
        esc(&title),
        esc(&d.source),
        esc(d.actor_id.as_deref().unwrap_or("no actor")),
        esc(&d.language),
        d.language_confidence,
        when(d.published_at),
        when(Some(d.collected_at))
    );
    if let Some(u) = d.url.as_deref() {
        let _ = write!(h, "<p>{}</p>", link(u, u));
    }
    let _ = write!(h, r#"<div class="txt doc-text">{}</div>"#, esc(&d.text));
    if !d.links.is_empty() {
        h.push_str("<h3 class=\"mt\">Links</h3><ul>");
        for l in d.links.iter().take(100) {
            let _ = write!(h, "<li>{}</li>", link(l, l));
        }
        h.push_str("</ul>");
    }
    if !d.hashtags.is_empty() {
        let _ = write!(h, r#"<p class="meta">#{}</p>"#, esc(&d.hashtags.join(" #")));
    }
    Ok(page(StatusCode::OK, &title, Some(&c), &h))
}

fn claims_page(c: &Caller, claims: &[varta_core::Claim], message: Option<&str>) -> String {
    let mut h = format!(
        "<h2>Claims database</h2><p class=\"meta\">{} claims</p>",
        claims.len()
    );
    if let Some(m) = message {
        let _ = write!(h, r#"<p class="err">{}</p>"#, esc(m));
    }
    if c.role >= Role::Analyst {
        let _ = write!(
            h,
            r#"<form class="filters" method="post" action="/claims"><input type="hidden" name="csrf" value="{}"><label>Claim<input name="text" size="50" required></label><label>Rating<input name="rating" size="10" placeholder="False"></label><label>Review URL<input name="url" size="30"></label><label>Reviewer<input name="reviewer" size="14"></label><label>Language<input name="lang" size="3"></label><button type="submit">Add claim</button></form>"#,
            auth::csrf_value(&c.token)
        );
    }
    h.push_str(r#"<table class="claims"><tr><th>claim</th><th>rating</th><th>reviewer</th><th>reviewed</th><th>review</th></tr>"#);
    for cl in claims.iter().rev().take(1000) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&varta_detect::claims::finding::short(&cl.text, 300)),
            esc(cl.rating.as_deref().unwrap_or("")),
            esc(cl.reviewer.as_deref().unwrap_or("")),
            when(cl.review_date),
            cl.review_url
                .as_deref()
                .map(|u| link(u, "review"))
                .unwrap_or_default()
        );
    }
    h.push_str("</table>");
    h
}

async fn claims(State(st): State<Arc<Shared>>, Extension(c): Extension<Caller>) -> PResult {
    let all = st.read(|s| Ok(s.claims()?)).await.map_err(fail(&c))?;
    Ok(page(
        StatusCode::OK,
        "Claims",
        Some(&c),
        &claims_page(&c, &all, None),
    ))
}

#[derive(Deserialize)]
struct ClaimForm {
    #[serde(default)]
    csrf: String,
    text: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    reviewer: String,
    #[serde(default)]
    lang: String,
}

async fn add_claim(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<ClaimForm>,
) -> PResult {
    check_form(&c, &headers, &f.csrf)?;
    c.require(Role::Analyst).map_err(fail(&c))?;
    let opt = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if f.text.trim().is_empty() {
        return Err(PageError(ApiError::bad("the claim is empty"), Some(c)));
    }
    let new = varta_app::claims::NewClaim {
        text: f.text,
        rating: opt(f.rating),
        url: opt(f.url),
        reviewer: opt(f.reviewer),
        lang: opt(f.lang),
    };
    st.write(move |s| Ok(varta_app::claims::add(s, new)?))
        .await
        .map_err(fail(&c))?;
    Ok(Redirect::to("/claims").into_response())
}

async fn stats(State(st): State<Arc<Shared>>, Extension(c): Extension<Caller>) -> PResult {
    let st2 = st.clone();
    let volume = tokio::task::spawn_blocking(move || st2.volume())
        .await
        .map_err(|e| PageError(ApiError::internal(e.to_string()), Some(c.clone())))?
        .map_err(fail(&c))?;
    let base = st.read(|s| Ok(s.stats()?)).await.map_err(fail(&c))?;
    let mut by_source: BTreeMap<String, BTreeMap<chrono::NaiveDate, u64>> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, BTreeMap<chrono::NaiveDate, u64>> = BTreeMap::new();
    let mut source_total: BTreeMap<String, u64> = BTreeMap::new();
    let mut lang_total: BTreeMap<String, u64> = BTreeMap::new();
    for v in volume.iter() {
        *by_source
            .entry(v.source.clone())
            .or_default()
            .entry(v.day)
            .or_default() += v.documents;
        *by_lang
            .entry(v.language.clone())
            .or_default()
            .entry(v.day)
            .or_default() += v.documents;
        *source_total.entry(v.source.clone()).or_default() += v.documents;
        *lang_total.entry(v.language.clone()).or_default() += v.documents;
    }
    // The eight largest series of each; the rest are in the tables.
    let top = |series: BTreeMap<String, BTreeMap<chrono::NaiveDate, u64>>,
               totals: &BTreeMap<String, u64>| {
        let mut names: Vec<(&String, &u64)> = totals.iter().collect();
        names.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let keep: Vec<String> = names.iter().take(8).map(|(n, _)| (*n).clone()).collect();
        series
            .into_iter()
            .filter(|(k, _)| keep.contains(k))
            .collect::<BTreeMap<_, _>>()
    };
    let mut h = format!(
        r#"<h2>Volume</h2><p class="meta">{} documents, {} actors</p><h3>Per source, per day</h3>"#,
        base.documents, base.actors
    );
    h.push_str(&report::volume_svg(
        "documents per source per day",
        &top(by_source, &source_total),
    ));
    h.push_str("<h3 class=\"mt\">Per language, per day</h3>");
    h.push_str(&report::volume_svg(
        "documents per language per day",
        &top(by_lang, &lang_total),
    ));
    for (title, totals) in [("Sources", &source_total), ("Languages", &lang_total)] {
        let _ = write!(
            h,
            r#"<h3 class="mt">{title}</h3><table><tr><th>name</th><th>documents</th></tr>"#
        );
        for (k, n) in totals.iter() {
            let _ = write!(h, "<tr><td>{}</td><td>{n}</td></tr>", esc(k));
        }
        h.push_str("</table>");
    }
    Ok(page(StatusCode::OK, "Stats", Some(&c), &h))
}

/// The state of `varta watch` on this data directory: its sources, its alerts, its last batch.
async fn watch(State(st): State<Arc<Shared>>, Extension(c): Extension<Caller>) -> PResult {
    let dir = st.dir.clone();
    let status = tokio::task::spawn_blocking(move || varta_app::watch::status(&dir))
        .await
        .map_err(|e| PageError(ApiError::internal(e.to_string()), Some(c.clone())))?
        .map_err(|e| PageError(ApiError::internal(varta_app::chain(&e)), Some(c.clone())))?;
    let mut h = String::from("<h2>Watch</h2>");
    let Some(s) = status else {
        h.push_str(
            r#"<p class="meta">No watcher has run on this data directory. Start one with <code>varta watch</code> (see <code>varta config</code> for its sources, rules and alerts).</p>"#,
        );
        return Ok(page(StatusCode::OK, "Watch", Some(&c), &h));
    };
    let _ = write!(
        h,
        r#"<p class="meta">The watcher is <b>{}</b>. Alerts: {} pending, {} delivered, {} given up.</p>"#,
        if s.running { "running" } else { "not running" },
        s.alerts.pending,
        s.alerts.delivered,
        s.alerts.dead
    );
    if let Some(b) = &s.last_batch {
        let _ = write!(
            h,
            r#"<p class="meta">Last batch {}: {} documents read, {} stored, {} findings, {} alerts, {:.2} s.</p>"#,
            esc(&b.at),
            b.documents,
            b.stored,
            b.findings,
            b.alerts,
            b.seconds
        );
    }
    h.push_str(
        "<h3>Sources</h3><table><tr><th>kind</th><th>source</th><th>documents</th><th>polls</th><th>last ok</th><th>next</th><th>health</th></tr>",
    );
    for src in &s.sources {
        let health = match (&src.last_error, src.failures) {
            (Some(e), n) if n > 0 => format!("failing ({n}×): {}", esc(e)),
            (Some(e), _) => format!("ok; last error: {}", esc(e)),
            (None, _) => "ok".into(),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{health}</td></tr>",
            esc(&src.kind),
            esc(&src.target),
            src.documents,
            src.polls,
            esc(src.last_ok.as_deref().unwrap_or("never")),
            esc(src.next_poll.as_deref().unwrap_or("-")),
        );
    }
    h.push_str("</table>");
    if !s.failing.is_empty() {
        h.push_str("<h3 class=\"mt\">Alerts being retried</h3><table><tr><th>alert</th><th>sink</th><th>last error</th></tr>");
        for (id, sink, e) in &s.failing {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(id),
                esc(sink),
                esc(e)
            );
        }
        h.push_str("</table>");
    }
    Ok(page(StatusCode::OK, "Watch", Some(&c), &h))
}
