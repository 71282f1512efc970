//! Moments given on the command line (`--now`): a full RFC 3339 time, or a date alone,
//! which is that day's midnight UTC: what an operator types to ask "as of Christmas".

use chrono::{DateTime, NaiveDate, Utc};

/// `2026-12-24T09:00:00+01:00`, or `2026-12-24` for midnight UTC that day.
pub fn parse_moment(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| {
            format!(
                "`{text}` is not a date (2026-12-24, midnight UTC) or an RFC 3339 time (2026-12-24T09:00:00Z)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_date_alone_is_midnight_utc_and_a_time_keeps_its_offset() {
        assert_eq!(
            parse_moment("2026-12-24").unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 24, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_moment("2026-12-24T09:00:00+01:00").unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 24, 8, 0, 0).unwrap()
        );
        let refused = parse_moment("24/12/2026").unwrap_err();
        assert!(refused.contains("2026-12-24"), "{refused}");
    }
}
