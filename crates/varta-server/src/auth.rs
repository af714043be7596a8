//! Who is asking: a token from `Authorization: Bearer`, HTTP Basic (the token as password, what
//! TAXII clients send) or the dashboard's session cookie, checked against the stored hashes.
//!
//! The token itself is never logged or echoed; only the token's name is attached to the request
//! (and to its log line).

use crate::error::{ApiError, Code};
use crate::state::State;
use axum::http::{HeaderMap, header};
use base64::Engine as _;
use std::sync::Arc;
use varta_app::tokens::Role;

/// The cookie the dashboard keeps the token in (HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "varta_session";

/// The authenticated caller, attached to each request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// The token the request carried (for the dashboard's CSRF value; never logged).
    pub token: String,
}

impl Caller {
    /// Allows a role and those above it; 403 otherwise.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::new(
                Code::Forbidden,
                format!(
                    "the token {:?} is a {} token; this needs {}",
                    self.name,
                    self.role.as_str(),
                    role.as_str()
                ),
            ))
        }
    }
}

/// The token a request carries, if any: header first, then the session cookie.
pub fn presented(headers: &HeaderMap, cookie: bool) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            return Some(rest.to_string());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (_, password) = text.split_once(':')?;
            return (!password.is_empty()).then(|| password.to_string());
        }
        return None;
    }
    if cookie {
        return session_cookie(headers);
    }
    None
}

/// The session cookie's value.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for part in v.split(';') {
            if let Some((k, val)) = part.trim().split_once('=')
                && k == SESSION_COOKIE
                && !val.is_empty()
            {
                return Some(val.to_string());
            }
        }
    }
    None
}

/// Checks a presented token; `None` when it is not a stored one.
pub fn check(state: &Arc<State>, token: &str) -> Result<Option<Caller>, ApiError> {
    // A token is `varta_` and 64 hex digits: anything else is refused without hashing.
    if token.len() > 200 {
        return Ok(None);
    }
    let known = state.tokens()?;
    Ok(
        varta_app::tokens::verify(&known, token).map(|(name, role)| Caller {
            name: name.to_string(),
            role,
            token: token.to_string(),
        }),
    )
}

/// The caller of a request, or 401.
pub async fn caller(
    state: &Arc<State>,
    headers: &HeaderMap,
    cookie: bool,
) -> Result<Caller, ApiError> {
    let Some(token) = presented(headers, cookie) else {
        return Err(ApiError::new(
            Code::Unauthorized,
            "this needs a token: send `Authorization: Bearer TOKEN` (make one with `varta token add NAME --role reader`)",
        ));
    };
    let st = state.clone();
    let found = tokio::task::spawn_blocking(move || check(&st, &token))
        .await
        .map_err(|e| ApiError::internal(format!("checking a token: {e}")))??;
    let c = found.ok_or_else(|| {
        ApiError::new(
            Code::Unauthorized,
            "the token is not valid (revoked, or mistyped)",
        )
    })?;
    // The request's log line names the token, never shows it.
    tracing::Span::current().record("who", c.name.as_str());
    Ok(c)
}

/// A keyed value the dashboard's forms carry, derived from the session's token: a page of
/// another origin cannot know it, so it cannot post a form in the user's name.
pub fn csrf_value(token: &str) -> String {
    let key = blake3::derive_key("varta 2026-12 dashboard csrf", token.as_bytes());
    blake3::keyed_hash(&key, b"form").to_hex().to_string()
}

/// Whether a submitted CSRF value is the session's, compared in constant time.
pub fn csrf_ok(token: &str, submitted: &str) -> bool {
    let Ok(h) = blake3::Hash::from_hex(submitted) else {
        return false;
    };
    let key = blake3::derive_key("varta 2026-12 dashboard csrf", token.as_bytes());
    blake3::keyed_hash(&key, b"form") == h
}
