//! Access tokens for `varta serve`: made here, shown once, stored only as a keyed hash.
//!
//! A token is 32 random bytes from the operating system, written `varta_` + 64 hex digits. The
//! store keeps BLAKE3 of it under a key of its own (a derived key, so the hash is useless as a
//! hash of anything else); checking a presented token hashes it and compares against every stored
//! hash in constant time, so neither the answer nor its timing tells how close a guess was.

use crate::{AppError, Result};
use chrono::Utc;
use varta_store::{Store, TokenRecord};

/// What a token may do; each role can do everything the ones before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Search, read documents, findings and claims, exports, TAXII.
    Reader,
    /// And: upload to ingest, run detectors, add and import claims.
    Analyst,
    /// And: manage tokens.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Role, String> {
        match s {
            "reader" => Ok(Role::Reader),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?} (reader, analyst or admin)")),
        }
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub role: String,
    pub created_at: chrono::DateTime<Utc>,
}

const HASH_CONTEXT: &str = "varta 2026-12 server access token";

/// The keyed hash the store keeps of a token.
pub fn hash(token: &str) -> [u8; 32] {
    blake3::derive_key(HASH_CONTEXT, token.as_bytes())
}

/// Names are what logs and lists show: short, printable, no spaces.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(AppError::Usage(format!(
            "token name {name:?}: use 1-64 letters, digits, '-', '_', '.' or '@'"
        )))
    }
}

/// Makes a token for `name` with `role`, stores its hash, and returns the token itself: the only
/// time it exists outside the caller's hands.
pub fn add(store: &mut impl Store, name: &str, role: Role) -> Result<String> {
    check_name(name)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Failed(format!("the system's random source failed: {e}")))?;
    let token = format!("varta_{}", hex(&bytes));
    let rec = TokenRecord {
        name: name.to_string(),
        role: role.as_str().to_string(),
        hash: hash(&token),
        created_at: Utc::now(),
    };
    if !store.put_token(&rec)? {
        return Err(AppError::Usage(format!(
            "a token named {name:?} exists; revoke it first or choose another name"
        )));
    }
    Ok(token)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub fn list(store: &impl Store) -> Result<Vec<TokenInfo>> {
    Ok(store
        .tokens()?
        .into_iter()
        .map(|t| TokenInfo {
            name: t.name,
            role: t.role,
            created_at: t.created_at,
        })
        .collect())
}

pub fn revoke(store: &mut impl Store, name: &str) -> Result<()> {
    if store.revoke_token(name)? {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("no token named {name:?}")))
    }
}

/// The token among `known` that `presented` is, compared in constant time against every one.
pub fn verify<'a>(known: &'a [TokenRecord], presented: &str) -> Option<(&'a str, Role)> {
    let h = blake3::Hash::from(hash(presented));
    let mut found = None;
    for t in known {
        // blake3::Hash's equality is constant-time; no early exit either.
        if blake3::Hash::from(t.hash) == h && found.is_none() {
            found = t.role.parse::<Role>().ok().map(|r| (t.name.as_str(), r));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_and_a_near_miss_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = varta_store::EmbeddedStore::open_write(
            dir.path(),
            Default::default(),
            "test",
            varta_store::Wait::No,
        )
        .unwrap();
        let t = add(&mut s, "alice", Role::Analyst).unwrap();
        assert!(t.starts_with("varta_") && t.len() == 70);
        let known = s.tokens().unwrap();
        assert_eq!(known.len(), 1);
        assert_ne!(known[0].hash.to_vec(), t.as_bytes()[..32].to_vec());
        assert_eq!(verify(&known, &t), Some(("alice", Role::Analyst)));
        let mut wrong = t.clone();
        wrong.pop();
        wrong.push('x');
        assert_eq!(verify(&known, &wrong), None);
        assert!(add(&mut s, "alice", Role::Reader).is_err());
        assert!(add(&mut s, "bad name", Role::Reader).is_err());
        revoke(&mut s, "alice").unwrap();
        assert_eq!(verify(&s.tokens().unwrap(), &t), None);
        assert!(revoke(&mut s, "alice").is_err());
    }
}
