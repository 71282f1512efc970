//! The JSON API's bearer tokens: a name, a scope and the SHA-256 of the token, which is
//! all that is kept of it.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::{from_millis, to_millis};
use super::{Doing, Store, StoreError};

/// A token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub name: String,
    /// `read` or `write`.
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, StoreError> {
        let millis = |column: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
            let value: Option<i64> = row.try_get(column).doing("reading a token")?;
            value.map(from_millis).transpose()
        };
        Ok(Self {
            name: row.try_get("name").doing("reading a token")?,
            scope: row.try_get("scope").doing("reading a token")?,
            created_at: millis("created_at")?.unwrap_or_default(),
            revoked_at: millis("revoked_at")?,
        })
    }
}

const COLUMNS: &str = "name, scope, created_at, revoked_at";

impl Store {
    /// Keeps a new token `name` by its `hash`; `false` when an unrevoked token has that name.
    pub async fn create_token(
        &self,
        name: &str,
        hash: &str,
        scope: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO api_tokens (name, token_hash, scope, created_at) \
             SELECT $1, $2, $3, $4 WHERE NOT EXISTS \
             (SELECT 1 FROM api_tokens WHERE name = $1 AND revoked_at IS NULL)",
        )
        .bind(name.to_string())
        .bind(hash.to_string())
        .bind(scope.to_string())
        .bind(to_millis(at))
        .execute(&mut *self.conn().await?)
        .await
        .doing("keeping a token")?;
        Ok(done.rows_affected() == 1)
    }

    /// Every token, unrevoked first, then by name.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_tokens \
             ORDER BY CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END, name, id"
        )))
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("listing tokens")?;
        rows.iter().map(TokenRecord::from_row).collect()
    }

    /// Revokes the unrevoked token `name`; `false` when there is none.
    pub async fn revoke_token(&self, name: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
        )
        .bind(to_millis(at))
        .bind(name.to_string())
        .execute(&mut *self.conn().await?)
        .await
        .doing("revoking a token")?;
        Ok(done.rows_affected() == 1)
    }

    /// The unrevoked token whose hash is `hash`.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        )))
        .bind(hash.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("checking a token")?;
        row.as_ref().map(TokenRecord::from_row).transpose()
    }
}
