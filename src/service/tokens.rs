//! The JSON API's bearer tokens: made (shown once), listed, revoked, and checked on each
//! request. A token is `tgk_` and 43 characters of random base64url (256 bits); only its
//! SHA-256 is stored, so a copy of the database opens nothing, and a plain hash is enough
//! for a secret that long (no one guesses it, so no slow hash is needed).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::store::{Store, StoreError, TokenRecord};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read tickets, contacts, the outbox, the quarantine and the jobs.
    Read,
    /// Also change them.
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    /// Whether a token of this scope may do what `needed` names.
    pub fn allows(self, needed: Scope) -> bool {
        self == Scope::Write || needed == Scope::Read
    }
}

impl std::str::FromStr for Scope {
    type Err = TokenError;
    fn from_str(s: &str) -> Result<Self, TokenError> {
        match s {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            other => Err(TokenError::BadScope(other.to_string())),
        }
    }
}

/// A token as it can be shown: its name and scope, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("`{0}` is not a token name: use 1 to 64 letters, digits, dots, dashes or underscores")]
    BadName(String),
    #[error("`{0}` is not a scope: use read or write")]
    BadScope(String),
    #[error("a token named `{0}` exists already; revoke it first, or choose another name")]
    NameTaken(String),
    #[error("there is no token named `{0}` to revoke (`ticketgate tokens list` shows them)")]
    NoSuchToken(String),
    #[error("the system gave no randomness to make a token with: {0}")]
    Random(String),
    /// Unknown, revoked or malformed: the same answer for all.
    #[error("this token is not valid")]
    Invalid,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes, lists, revokes and checks tokens.
#[derive(Debug, Clone)]
pub struct TokenService {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl TokenService {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A new token `name` of `scope`, and the token itself, which is never shown again.
    pub async fn create(&self, name: &str, scope: Scope) -> Result<(ApiToken, String), TokenError> {
        let valid = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !valid {
            return Err(TokenError::BadName(name.to_string()));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
        let secret = format!("tgk_{}", B64.encode(bytes));
        let now = self.clock.now();
        if !self
            .store
            .create_token(name, &hash(&secret), scope.as_str(), now)
            .await?
        {
            return Err(TokenError::NameTaken(name.to_string()));
        }
        let token = ApiToken {
            name: name.to_string(),
            scope,
            created_at: now,
            revoked_at: None,
        };
        Ok((token, secret))
    }

    /// Every token, unrevoked first.
    pub async fn list(&self) -> Result<Vec<ApiToken>, TokenError> {
        self.store
            .list_tokens()
            .await?
            .into_iter()
            .map(shown)
            .collect()
    }

    /// Revokes token `name`: requests with it are refused from now on.
    pub async fn revoke(&self, name: &str) -> Result<(), TokenError> {
        if self.store.revoke_token(name, self.clock.now()).await? {
            Ok(())
        } else {
            Err(TokenError::NoSuchToken(name.to_string()))
        }
    }

    /// The token `secret` is, if it is a valid one.
    pub async fn authenticate(&self, secret: &str) -> Result<ApiToken, TokenError> {
        if !secret.starts_with("tgk_") || secret.len() > 100 {
            return Err(TokenError::Invalid);
        }
        match self.store.token_by_hash(&hash(secret)).await? {
            Some(record) => shown(record),
            None => Err(TokenError::Invalid),
        }
    }
}

fn shown(record: TokenRecord) -> Result<ApiToken, TokenError> {
    Ok(ApiToken {
        scope: record.scope.parse().map_err(|_| {
            TokenError::Store(StoreError::Corrupt(format!(
                "token scope {:?}",
                record.scope
            )))
        })?,
        name: record.name,
        created_at: record.created_at,
        revoked_at: record.revoked_at,
    })
}

/// What is stored of a token.
fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_allows_read_and_read_only_read() {
        assert!(Scope::Write.allows(Scope::Read) && Scope::Write.allows(Scope::Write));
        assert!(Scope::Read.allows(Scope::Read) && !Scope::Read.allows(Scope::Write));
        assert!("admin".parse::<Scope>().is_err());
    }
}
