//! How values are stored and read back: times as milliseconds, text both backends accept,
//! enumerations and addresses parsed from their stored names. Every read of a row goes
//! through these, so that a value edited by hand into something ticketgate cannot read is
//! reported as such ([`StoreError::Corrupt`]) rather than as a query failure.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Doing, StoreError};
use crate::domain::{EmailAddress, TicketNumber};

/// Text as both backends hold it. PostgreSQL refuses U+0000 in a TEXT value where SQLite
/// keeps it, so a mail carrying one (broken mailers send them) would become a ticket on one
/// backend and be rejected by the other. Both write U+FFFD instead, and look values up the
/// same way, so that what was written is found again.
pub(super) fn storable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// [`storable`] for a value that may be absent.
pub(super) fn storable_opt(text: Option<&str>) -> Option<String> {
    text.map(storable)
}

/// Milliseconds since the epoch: how times are stored.
pub(super) fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(super) fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms}")))
}

pub(super) fn parse_stored<T: FromStr>(column: &str, value: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} = {value:?}")))
}

pub(super) fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r AnyRow,
    column: &'static str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(|source| StoreError::Query {
        doing: "reading a row",
        source,
    })
}

pub(super) fn opt_millis(v: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    v.map(from_millis).transpose()
}

pub(super) fn address(column: &str, value: &str) -> Result<EmailAddress, StoreError> {
    EmailAddress::parse(value).map_err(|_| StoreError::Corrupt(format!("{column} = {value:?}")))
}

/// The ticket number in `column` of `row`.
pub(super) fn ticket_number(
    row: &AnyRow,
    column: &'static str,
) -> Result<TicketNumber, StoreError> {
    let n: String = row.try_get(column).doing("reading a ticket number")?;
    parse_stored(column, &n)
}

/// The ticket number in `column` of `row`, where it may be absent (a message that went to
/// no ticket).
pub(super) fn optional_ticket_number(
    row: &AnyRow,
    column: &'static str,
) -> Result<Option<TicketNumber>, StoreError> {
    let n: Option<String> = row.try_get(column).doing("reading a ticket number")?;
    n.map(|n| parse_stored(column, &n)).transpose()
}

/// The rows of a multi-row `VALUES` list: `rows` groups of `per_row` placeholders,
/// numbered on from `$after + 1`: `($3, $4), ($5, $6)` for 2, 2 and 2. One statement
/// writes them all (each statement is a round trip to the database).
pub(super) fn values_placeholders(rows: usize, per_row: usize, after: usize) -> String {
    (0..rows)
        .map(|row| {
            let first = after + row * per_row + 1;
            let places: Vec<String> = (first..first + per_row).map(|p| format!("${p}")).collect();
            format!("({})", places.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$N, $N+1, …` for an `IN (…)` list of `count` values bound after the first `after`
/// parameters.
pub(super) fn list_placeholders(count: usize, after: usize) -> String {
    (after + 1..=after + count)
        .map(|p| format!("${p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds each of `values` in turn after what `query` has bound: the values of an
/// `IN (…)` list whose places [`list_placeholders`] wrote.
pub(super) fn bind_each<'q, T>(
    values: impl IntoIterator<Item = T>,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>
where
    T: for<'t> sqlx::Encode<'t, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    values
        .into_iter()
        .fold(query, |query, value| query.bind(value))
}

#[cfg(test)]
mod tests {
    use super::{list_placeholders, values_placeholders};

    #[test]
    fn values_placeholders_number_on_from_the_shared_ones() {
        assert_eq!(values_placeholders(2, 2, 2), "($3, $4), ($5, $6)");
        assert_eq!(values_placeholders(1, 3, 0), "($1, $2, $3)");
        assert_eq!(list_placeholders(3, 1), "$2, $3, $4");
    }
}
