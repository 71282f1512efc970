//! When an incident began, as customers write it: `07/01/2021 11:43`, `7 janvier 2021 à
//! 11h43`, `January 7, 2021 at 11:43 AM`, `2021-01-07 11:43`, `today 9:30`, `hier vers
//! 14h`. A time without a zone is read in the mailbox's time zone; `UTC`, `GMT` or an
//! offset (`+02:00`) written after it wins.
//!
//! A value is read only when every word of it is understood: `depuis 3 jours` or `07/01`
//! is not a time, and is named in the acknowledgement rather than guessed.

use std::sync::LazyLock;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;
use regex::Regex;

/// Why a value was not read as a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotATime {
    /// Not a form we know, or words we do not know around it.
    Unknown,
    /// `03/04/2021` in an English mail: the 3rd of April or the 4th of March.
    Ambiguous,
    /// Later than the mail itself.
    Future,
}

impl NotATime {
    pub(super) fn describe(self) -> &'static str {
        match self {
            NotATime::Unknown => "not a date and time we can read",
            NotATime::Ambiguous => {
                "day and month could be either way round: write 2021-04-03 or 3 April 2021"
            }
            NotATime::Future => "later than the mail",
        }
    }
}

/// How a time is read: in which zone, as of when, and whether `03/04` is day first.
#[derive(Debug, Clone, Copy)]
pub struct TimeReading {
    pub zone: Tz,
    pub now: DateTime<Utc>,
    /// French mails write the day first; English ones may write either.
    pub day_first: bool,
}

const MONTHS: &str = "janvier|janv|fevrier|fevr|fev|mars|avril|avr|mai|juin|juillet|juil|aout|\
septembre|sept|octobre|oct|novembre|nov|decembre|dec|january|jan|february|feb|march|mar|april|apr|\
may|june|jun|july|jul|august|aug|september|sep|october|november|december";

static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4})-(\d{1,2})-(\d{1,2})(?:t|\b)").expect("valid"));
static NUMERIC_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})\b").expect("valid"));
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(\d{{1,2}})(?:er|st|nd|rd|th)?\s+({MONTHS})\b\.?(?:,?\s+(\d{{4}})\b)?"
    ))
    .expect("valid")
});
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b({MONTHS})\b\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?"
    ))
    .expect("valid")
});
static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(today|this morning|this afternoon|this evening|tonight|aujourd'hui|aujourd hui|ce matin|cet apres midi|cet apres-midi|ce soir|yesterday|hier)\b",
    )
    .expect("valid")
});
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(\d{1,2})\s*(?:(?::|h)\s*(\d{2})?(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?|\s*(am|pm|a\.m\.|p\.m\.))",
    )
    .expect("valid")
});
static ZONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\b(utc|gmt|z)\b|(?:^|\s)([+-])(\d{2}):?(\d{2})\b)").expect("valid")
});

/// Words that may stand around a date and a time.
const FILLER: &[&str] = &[
    "a",
    "at",
    "le",
    "on",
    "the",
    "vers",
    "around",
    "about",
    "approx",
    "environ",
    "depuis",
    "since",
    "from",
    "des",
    "de",
    "du",
    "en",
    "fin",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "lun",
    "mar",
    "mer",
    "jeu",
    "ven",
    "sam",
    "dim",
];

/// The time `value` gives.
pub(crate) fn incident_time(value: &str, how: TimeReading) -> Result<DateTime<Utc>, NotATime> {
    let mut rest = plain(value);
    if rest.chars().count() > 100 {
        return Err(NotATime::Unknown);
    }
    let today = how.now.with_timezone(&how.zone).date_naive();
    let date = take_date(&mut rest, how.day_first, today)?;
    let time = take_time(&mut rest)?;
    let offset = take_zone(&mut rest);
    let understood = rest
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .all(|w| FILLER.contains(&w));
    if !understood {
        return Err(NotATime::Unknown);
    }
    let (date, relative) = match date {
        Some(d) => d,
        None if time.is_some() => (PartialDate::Full(today), true),
        None => return Err(NotATime::Unknown),
    };
    if relative && time.is_none() {
        // "This morning" says too little to be worth a time.
        return Err(NotATime::Unknown);
    }
    let time = time.unwrap_or(NaiveTime::MIN);
    let at = |day: NaiveDate| to_utc(day.and_time(time), offset, how.zone);
    let latest = how.now + Duration::days(1);
    let found = match date {
        PartialDate::Full(day) => {
            let found = at(day)?;
            // A time alone later than now is yesterday's.
            if relative && found > how.now && day == today {
                at(day - Duration::days(1))?
            } else {
                found
            }
        }
        PartialDate::NoYear { month, day } => {
            let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)
                .ok_or(NotATime::Unknown)
                .and_then(at)?;
            if this_year > latest {
                NaiveDate::from_ymd_opt(today.year() - 1, month, day)
                    .ok_or(NotATime::Unknown)
                    .and_then(at)?
            } else {
                this_year
            }
        }
    };
    if found > latest {
        return Err(NotATime::Future);
    }
    Ok(found)
}

/// A day, with or without its year.
#[derive(Debug, Clone, Copy)]
enum PartialDate {
    Full(NaiveDate),
    NoYear { month: u32, day: u32 },
}

/// Takes the date out of `rest`: the date and whether it was a relative word.
fn take_date(
    rest: &mut String,
    day_first: bool,
    today: NaiveDate,
) -> Result<Option<(PartialDate, bool)>, NotATime> {
    let full = |y: i32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y, m, d)
            .map(PartialDate::Full)
            .ok_or(NotATime::Unknown)
    };
    let number = |s: Option<regex::Match<'_>>| s.and_then(|m| m.as_str().parse::<u32>().ok());
    let found = if let Some(c) = ISO_DATE.captures(rest) {
        let (y, m, d) = (number(c.get(1)), number(c.get(2)), number(c.get(3)));
        let (Some(y), Some(m), Some(d)) = (y, m, d) else {
            return Err(NotATime::Unknown);
        };
        Some((c.get(0).map(|m| m.range()), full(y as i32, m, d)?, false))
    } else if let Some(c) = NUMERIC_DATE.captures(rest) {
        let (Some(a), Some(b), Some(y)) = (number(c.get(1)), number(c.get(2)), number(c.get(3)))
        else {
            return Err(NotATime::Unknown);
        };
        let year = if y < 100 { 2000 + y } else { y } as i32;
        let (day, month) = if day_first || a > 12 || a == b {
            (a, b)
        } else if b > 12 {
            (b, a)
        } else {
            return Err(NotATime::Ambiguous);
        };
        Some((c.get(0).map(|m| m.range()), full(year, month, day)?, false))
    } else if let Some((range, month, day, year)) = named_date(rest) {
        let date = match year {
            Some(y) => full(y, month, day)?,
            None => PartialDate::NoYear { month, day },
        };
        Some((Some(range), date, false))
    } else if let Some(c) = RELATIVE.captures(rest) {
        let word = c.get(1).map_or("", |m| m.as_str());
        let day = if matches!(word, "yesterday" | "hier") {
            today - Duration::days(1)
        } else {
            today
        };
        Some((c.get(0).map(|m| m.range()), PartialDate::Full(day), true))
    } else {
        None
    };
    Ok(found.map(|(range, date, relative)| {
        if let Some(range) = range {
            rest.replace_range(range, " ");
        }
        (date, relative)
    }))
}

/// `7 janvier 2021` or `January 7, 2021`: where it is, its month, day and year.
fn named_date(rest: &str) -> Option<(std::ops::Range<usize>, u32, u32, Option<i32>)> {
    let (c, day_at, month_at) = match DAY_MONTH.captures(rest) {
        Some(c) => (c, 1, 2),
        None => (MONTH_DAY.captures(rest)?, 2, 1),
    };
    let day = c.get(day_at)?.as_str().parse().ok()?;
    let month = month_number(c.get(month_at)?.as_str())?;
    let year = c.get(3).and_then(|y| y.as_str().parse().ok());
    Some((c.get(0)?.range(), month, day, year))
}

/// The number of a month's name or abbreviation, French or English.
fn month_number(name: &str) -> Option<u32> {
    let n = match name {
        "janvier" | "janv" | "january" | "jan" => 1,
        "fevrier" | "fevr" | "fev" | "february" | "feb" => 2,
        "mars" | "march" | "mar" => 3,
        "avril" | "avr" | "april" | "apr" => 4,
        "mai" | "may" => 5,
        "juin" | "june" | "jun" => 6,
        "juillet" | "juil" | "july" | "jul" => 7,
        "aout" | "august" | "aug" => 8,
        "septembre" | "sept" | "september" | "sep" => 9,
        "octobre" | "october" | "oct" => 10,
        "novembre" | "november" | "nov" => 11,
        "decembre" | "december" | "dec" => 12,
        _ => return None,
    };
    Some(n)
}

/// Takes the time of day out of `rest`.
fn take_time(rest: &mut String) -> Result<Option<NaiveTime>, NotATime> {
    let Some(c) = TIME.captures(rest) else {
        return Ok(None);
    };
    let number = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let mut hour = number(1).ok_or(NotATime::Unknown)?;
    let minute = number(2).unwrap_or(0);
    let second = number(3).unwrap_or(0);
    match c.get(4).or(c.get(5)).map(|m| m.as_str().starts_with('p')) {
        Some(_) if hour == 0 || hour > 12 => return Err(NotATime::Unknown),
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let time = NaiveTime::from_hms_opt(hour, minute, second).ok_or(NotATime::Unknown)?;
    let range = c.get(0).map(|m| m.range()).ok_or(NotATime::Unknown)?;
    rest.replace_range(range, " ");
    Ok(Some(time))
}

/// Takes a zone written after the time out of `rest`: `UTC`, `GMT`, `Z` or an offset.
fn take_zone(rest: &mut String) -> Option<FixedOffset> {
    let c = ZONE.captures(rest)?;
    let offset = if c.get(1).is_some() {
        FixedOffset::east_opt(0)
    } else {
        let sign = if c.get(2)?.as_str() == "-" { -1 } else { 1 };
        let hours: i32 = c.get(3)?.as_str().parse().ok()?;
        let minutes: i32 = c.get(4)?.as_str().parse().ok()?;
        FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
    }?;
    let range = c.get(0)?.range();
    rest.replace_range(range, " ");
    Some(offset)
}

/// `local` in `offset` when the value named one, else in `zone`; the earlier of two
/// readings when the clocks went back, none when they went forward over it.
fn to_utc(
    local: NaiveDateTime,
    offset: Option<FixedOffset>,
    zone: Tz,
) -> Result<DateTime<Utc>, NotATime> {
    let found = match offset {
        Some(o) => o.from_local_datetime(&local).earliest().map(|t| t.to_utc()),
        None => zone
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.to_utc()),
    };
    found.ok_or(NotATime::Unknown)
}

/// `value` in lower case, without accents, its spaces (no-break ones too) made plain.
fn plain(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    value
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            '’' => '\'',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(value: &str, day_first: bool) -> Result<String, NotATime> {
        let how = TimeReading {
            zone: chrono_tz::Europe::Paris,
            // Monday 7 December 2026, 10:00 in Paris.
            now: Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap(),
            day_first,
        };
        incident_time(value, how).map(|t| t.to_rfc3339())
    }

    #[test]
    fn french_forms_are_read_in_the_mailbox_s_zone() {
        let want = Ok("2026-12-03T10:43:00+00:00".to_string());
        assert_eq!(read("03/12/2026 11:43", true), want);
        assert_eq!(read("03/12/2026 à 11h43", true), want);
        assert_eq!(read("le 3 décembre 2026 à 11 h 43", true), want);
        assert_eq!(read("jeudi 3 déc. 2026, 11h43", true), want);
        assert_eq!(read("3 décembre à 11h43", true), want);
        assert_eq!(
            read("hier vers 14h", true),
            Ok("2026-12-06T13:00:00+00:00".into())
        );
        assert_eq!(
            read("ce matin 8h30", true),
            Ok("2026-12-07T07:30:00+00:00".into())
        );
        // Summer time: Paris is UTC+2 in July.
        assert_eq!(
            read("14/07/2026 09:00", true),
            Ok("2026-07-14T07:00:00+00:00".into())
        );
    }

    #[test]
    fn english_forms_and_written_zones() {
        let want = Ok("2026-12-03T10:43:00+00:00".to_string());
        assert_eq!(read("December 3, 2026 at 11:43 AM", false), want);
        assert_eq!(read("3rd December 2026 11:43", false), want);
        assert_eq!(read("2026-12-03 11:43", false), want);
        assert_eq!(read("2026-12-03T11:43", false), want);
        assert_eq!(
            read("2026-12-03 10:43 UTC", false),
            Ok("2026-12-03T10:43:00+00:00".into())
        );
        assert_eq!(
            read("2026-12-03 11:43 -05:00", false),
            Ok("2026-12-03T16:43:00+00:00".into())
        );
        assert_eq!(
            read("today at 9:15 pm", false),
            Ok("2026-12-06T20:15:00+00:00".into()),
            "later today than now: yesterday evening"
        );
        assert_eq!(
            read("12/25/2025 3pm", false),
            Ok("2025-12-25T14:00:00+00:00".into())
        );
        assert_eq!(
            read("3 December 2026", false).unwrap(),
            "2026-12-02T23:00:00+00:00"
        );
    }

    #[test]
    fn what_cannot_be_read_is_said_not_guessed() {
        assert_eq!(read("03/04/2026 10:00", false), Err(NotATime::Ambiguous));
        assert_eq!(read("depuis 3 jours", true), Err(NotATime::Unknown));
        assert_eq!(read("ce matin", true), Err(NotATime::Unknown));
        assert_eq!(read("31/02/2026", true), Err(NotATime::Unknown));
        assert_eq!(read("25:00", true), Err(NotATime::Unknown));
        assert_eq!(read("01/01/2030 10:00", true), Err(NotATime::Future));
        assert_eq!(read(&"1".repeat(500), true), Err(NotATime::Unknown));
        // A date without a year is the last one that has passed.
        assert_eq!(
            read("25 décembre 10h", true),
            Ok("2025-12-25T09:00:00+00:00".into())
        );
    }
}
