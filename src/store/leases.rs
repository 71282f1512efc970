//! Leases: a named piece of work (reading a mailbox) given to one instance at a time until
//! it expires. Times come from the database's clock, the one clock every instance shares,
//! so hosts whose clocks disagree still agree on who holds what.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::{from_millis, to_millis};
use super::{Backend, Doing, Store, StoreError};

/// A lease this process holds. `token` grows each time the lease changes hands, so a
/// holder that was stopped for a while can tell, when it renews, that it lost the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub token: i64,
}

/// What asking for a lease gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseClaim {
    /// This process holds it now.
    Held(Lease),
    /// Another holder does, until `expires_at` unless it renews.
    Taken {
        holder: String,
        expires_at: DateTime<Utc>,
    },
}

/// A lease as an operator sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LeaseRecord {
    pub name: String,
    pub holder: String,
    pub token: i64,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// `ttl` after `now` (Unix milliseconds), saturating rather than overflowing.
fn expiry(now: i64, ttl: Duration) -> i64 {
    now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

impl Store {
    /// The database's clock, in Unix milliseconds.
    async fn database_millis(&self) -> Result<i64, StoreError> {
        let sql = match self.backend {
            Backend::Postgres => {
                "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS now"
            }
            Backend::Sqlite => {
                "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now"
            }
        };
        let row = sqlx::query(sql)
            .fetch_one(&mut *self.conn().await?)
            .await
            .doing("reading the database's clock")?;
        row.try_get("now").doing("reading the database's clock")
    }

    /// Takes lease `name` for `holder` for `ttl`, if it is free, expired, already
    /// `holder`'s, or held by `stale_holder` (a holder known to be dead: an earlier
    /// process of this instance on this host).
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        stale_holder: Option<&str>,
        ttl: Duration,
    ) -> Result<LeaseClaim, StoreError> {
        let now = self.database_millis().await?;
        let expires = expiry(now, ttl);
        // On PostgreSQL two instances racing here are serialised on the row: the second
        // sees the first's new expiry and takes nothing.
        let row = sqlx::query(
            "INSERT INTO leases (name, holder, token, acquired_at, expires_at) VALUES ($1, $2, 1, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET \
               token = CASE WHEN leases.holder = $2 THEN leases.token ELSE leases.token + 1 END, \
               acquired_at = CASE WHEN leases.holder = $2 THEN leases.acquired_at ELSE $3 END, \
               holder = $2, expires_at = $4 \
             WHERE leases.holder = $2 OR leases.expires_at <= $3 OR leases.holder = $5 \
             RETURNING token",
        )
        .bind(name.to_string())
        .bind(holder.to_string())
        .bind(now)
        .bind(expires)
        .bind(stale_holder.map(str::to_string))
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("taking a lease")?;
        if let Some(row) = row {
            return Ok(LeaseClaim::Held(Lease {
                name: name.to_string(),
                holder: holder.to_string(),
                token: row.try_get("token").doing("reading a lease")?,
            }));
        }
        let row = sqlx::query("SELECT holder, expires_at FROM leases WHERE name = $1")
            .bind(name.to_string())
            .fetch_one(&mut *self.conn().await?)
            .await
            .doing("reading a lease")?;
        Ok(LeaseClaim::Taken {
            holder: row.try_get("holder").doing("reading a lease")?,
            expires_at: from_millis(row.try_get("expires_at").doing("reading a lease")?)?,
        })
    }

    /// Extends `lease` by `ttl` from now; `false` when it changed hands meanwhile (the
    /// holder must stop the work at once).
    pub async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool, StoreError> {
        let expires = expiry(self.database_millis().await?, ttl);
        let done = sqlx::query(
            "UPDATE leases SET expires_at = $4 WHERE name = $1 AND holder = $2 AND token = $3",
        )
        .bind(lease.name.clone())
        .bind(lease.holder.clone())
        .bind(lease.token)
        .bind(expires)
        .execute(&mut *self.conn().await?)
        .await
        .doing("renewing a lease")?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives `lease` up, so that another instance takes the work at once rather than
    /// after the expiry. Keeps the row, and so the token's count.
    pub async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2 AND token = $3",
        )
        .bind(lease.name.clone())
        .bind(lease.holder.clone())
        .bind(lease.token)
        .execute(&mut *self.conn().await?)
        .await
        .doing("releasing a lease")?;
        Ok(())
    }

    /// Every lease, by name, for operators.
    pub async fn leases(&self) -> Result<Vec<LeaseRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, holder, token, acquired_at, expires_at FROM leases ORDER BY name",
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("listing leases")?;
        rows.iter()
            .map(|r| {
                Ok(LeaseRecord {
                    name: r.try_get("name").doing("reading a lease")?,
                    holder: r.try_get("holder").doing("reading a lease")?,
                    token: r.try_get("token").doing("reading a lease")?,
                    acquired_at: from_millis(r.try_get("acquired_at").doing("reading a lease")?)?,
                    expires_at: from_millis(r.try_get("expires_at").doing("reading a lease")?)?,
                })
            })
            .collect()
    }
}

impl Store {
    /// Records `value` under `name` unless a value is there already, and gives back the
    /// value that stands (the first recorded, by whichever instance) with who recorded it.
    pub async fn agree_on(
        &self,
        name: &str,
        value: &str,
        recorded_by: &str,
        at: DateTime<Utc>,
    ) -> Result<(String, String), StoreError> {
        self.write_fact(
            "INSERT INTO shared_facts (name, value, recorded_by, recorded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
            name,
            value,
            recorded_by,
            at,
        )
        .await?;
        let row = sqlx::query("SELECT value, recorded_by FROM shared_facts WHERE name = $1")
            .bind(name.to_string())
            .fetch_one(&mut *self.conn().await?)
            .await
            .doing("reading a shared setting")?;
        Ok((
            row.try_get("value").doing("reading a shared setting")?,
            row.try_get("recorded_by")
                .doing("reading a shared setting")?,
        ))
    }

    /// Sets `name` to `value` whatever was recorded before.
    pub async fn replace_fact(
        &self,
        name: &str,
        value: &str,
        recorded_by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_fact(
            "INSERT INTO shared_facts (name, value, recorded_by, recorded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET value = $2, recorded_by = $3, recorded_at = $4",
            name,
            value,
            recorded_by,
            at,
        )
        .await
    }

    async fn write_fact(
        &self,
        sql: &'static str,
        name: &str,
        value: &str,
        recorded_by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(sql)
            .bind(name.to_string())
            .bind(value.to_string())
            .bind(recorded_by.to_string())
            .bind(to_millis(at))
            .execute(&mut *self.conn().await?)
            .await
            .doing("recording a shared setting")?;
        Ok(())
    }
}
