//! `varta serve`: one data directory over HTTP, for a team and for partners' tools.
//!
//! - `/api/v1/…`: the JSON API ([`api`]), described by the OpenAPI 3.1 document it serves;
//! - `/taxii2/…`: the TAXII 2.1 feed of findings, claims and alerts ([`taxii`]);
//! - `/`: the dashboard ([`dashboard`]), pages made on the server with no scripts;
//! - `/healthz`, `/readyz`: for supervisors, the only paths without a token.
//!
//! Everything goes through `varta-app` and the same store the CLI uses ([`state`]); the server
//! adds only HTTP: tokens and roles ([`auth`]), one error table ([`error`]) and jobs ([`jobs`]).

pub mod api;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod jobs;
pub mod state;
pub mod taxii;

use crate::error::{ApiError, Code};
use crate::state::State;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// How the server runs (the `[serve]` table of the config file, and `varta serve`'s flags).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// The largest upload (`POST /api/v1/documents`, claims imports), bytes.
    pub upload_limit: usize,
    /// Read-only stores kept open for requests.
    pub readers: usize,
    pub store: varta_store::StoreOptions,
    /// The e5 model file for claim matching (else found as the CLI finds it).
    pub model: Option<PathBuf>,
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("opening the data directory: {0}")]
    Open(String),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(#[source] std::io::Error),
}

/// The API's requests: a token on each (401), attached as the caller.
async fn api_guard(
    axum::extract::State(st): axum::extract::State<Arc<State>>,
    mut req: Request,
    next: Next,
) -> Response {
    match auth::caller(&st, req.headers(), false).await {
        Ok(c) => {
            req.extensions_mut().insert(c);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(axum::extract::State(st): axum::extract::State<Arc<State>>) -> Response {
    match st
        .read(|s| Ok(varta_store::Store::stats(s)?.documents))
        .await
    {
        Ok(n) => format!("ready: {n} documents\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", e.message),
        )
            .into_response(),
    }
}

async fn api_not_found() -> ApiError {
    ApiError::new(Code::NotFound, "no such endpoint; see /api/v1/openapi.json")
}

/// The whole application.
pub fn app(state: Arc<State>) -> Router {
    let api = Router::new()
        .route("/search", get(api::search))
        .route("/documents", post(api::upload))
        .route("/documents/{id}", get(api::document))
        .route("/actors", get(api::actors))
        .route("/actors/{id}", get(api::actor))
        .route("/findings", get(api::findings))
        .route("/findings/{id}", get(api::finding))
        .route("/stats", get(api::stats))
        .route("/jobs", post(api::start_job))
        .route("/jobs/{id}", get(api::job))
        .route("/claims", get(api::claims).post(api::add_claim))
        .route("/claims/import", post(api::import_claims))
        .route("/claims/match", post(api::match_claims))
        .route("/tokens", get(api::tokens))
        .route("/openapi.json", get(api::openapi_json))
        .fallback(api_not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api_guard,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .nest("/api/v1", api)
        .merge(taxii::router(state.clone()))
        .merge(dashboard::router(state.clone()))
        // Bodies are read by the handlers with their own limits (413 in the endpoint's shape).
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // The path only: queries can hold search words, never a token (tokens
                    // travel in headers, which are not logged).
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), who = tracing::field::Empty)
                })
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                ),
        )
        .with_state(state)
}

/// Serves until `shutdown` resolves; then lets requests in flight finish and the writer finish
/// its queue and close the store.
pub async fn serve(
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let addr = options.listen;
    let state = State::open(options).map_err(|e| ServeError::Open(e.message))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Listen { addr, source })?;
    on_listening(local);
    tracing::info!(%local, "serving");
    let result = axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    let st = state.clone();
    let _ = tokio::task::spawn_blocking(move || st.shutdown()).await;
    tracing::info!("stopped");
    result.map_err(ServeError::Serve)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn signals() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("interrupted; finishing requests in flight"),
        _ = term => tracing::info!("terminated; finishing requests in flight"),
    }
}
