//! The date formats Xero uses, computed from Unix milliseconds without a date crate.
//!
//! Civil-date conversion follows Howard Hinnant's `days_from_civil` / `civil_from_days`
//! algorithms (proleptic Gregorian calendar, UTC).

use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_DAY: i64 = 86_400 * MS_PER_SECOND;

/// Milliseconds since the Unix epoch now; 0 if the clock is set before 1970.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A UTC calendar date and wall-clock time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UtcDateTime {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

impl UtcDateTime {
    /// The UTC date and time `ms` milliseconds after the Unix epoch (sub-seconds dropped).
    pub(crate) fn from_unix_ms(ms: i64) -> Self {
        let days = ms.div_euclid(MS_PER_DAY);
        let seconds_of_day = ms.rem_euclid(MS_PER_DAY) / MS_PER_SECOND;
        let (year, month, day) = civil_from_days(days);
        // seconds_of_day < 86_400, so every part fits in u32.
        let seconds = u32::try_from(seconds_of_day).unwrap_or(0);
        Self {
            year,
            month,
            day,
            hour: seconds / 3_600,
            minute: seconds / 60 % 60,
            second: seconds % 60,
        }
    }
}

/// Xero's JSON timestamp, `/Date(1552357217359)/`, used for `DateTimeUTC` and `CreatedDateUTC`
/// (Xero OpenAPI, `x-is-msdate-time` fields).
pub(crate) fn ms_date(ms: i64) -> String {
    format!("/Date({ms})/")
}

/// Xero's JSON date with an explicit zero offset, `/Date(1553126400000+0000)/`, as the
/// OpenAPI examples show for `ManualJournal.Date` and `UpdatedDateUTC`.
pub(crate) fn ms_date_utc(ms: i64) -> String {
    format!("/Date({ms}+0000)/")
}

/// `MM/DD/YYYY HH:MM:SS`, the US-style stamp in Xero's `TokenExpired: token expired at …`
/// detail (docs/accounting-systems.md §1, "Errors").
pub(crate) fn us_timestamp(ms: i64) -> String {
    let t = UtcDateTime::from_unix_ms(ms);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02}",
        t.month, t.day, t.year, t.hour, t.minute, t.second
    )
}

/// Parses a journal date as clients send it: `YYYY-MM-DD`, optionally followed by a time
/// part that is ignored (`2019-03-14T00:00:00`), or Xero's own `/Date(ms…)/` form.
/// Returns milliseconds at midnight UTC of that day.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(ms) = parse_ms_date(text) {
        return Some(start_of_day(ms));
    }
    let date = text.get(..10)?;
    if text.len() > 10 && !text[10..].starts_with('T') {
        return None;
    }
    let mut parts = date.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (year, month, day): (i64, u32, u32) =
        (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Reject dates like 2023-02-30 that the arithmetic would roll over into March.
    (civil_from_days(days) == (year, month, day)).then_some(days * MS_PER_DAY)
}

/// Midnight UTC of the day `ms` falls on; journal dates carry no time of day.
pub(crate) fn start_of_day(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY) * MS_PER_DAY
}

/// The milliseconds inside `/Date(1553126400000+0000)/` or `/Date(1553126400000)/`.
fn parse_ms_date(text: &str) -> Option<i64> {
    let inner = text.strip_prefix("/Date(")?.strip_suffix(")/")?;
    // The offset, when present, starts with a sign after at least one digit.
    let end = inner
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '+' || c == '-')
        .map_or(inner.len(), |(index, _)| index);
    inner[..end].parse().ok()
}

/// Days since 1970-01-01 of the given civil date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `days` days after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both values are small by construction (1..=31 and 1..=12).
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_first_of_january_1970() {
        assert_eq!(us_timestamp(0), "01/01/1970 00:00:00");
    }

    #[test]
    fn matches_the_token_expired_example_from_pyxero() {
        // "token expired at 09/24/2021 08:23:47" (docs/accounting-systems.md §1).
        assert_eq!(us_timestamp(1_632_471_827_000), "09/24/2021 08:23:47");
    }

    #[test]
    fn handles_leap_days_and_drops_milliseconds() {
        assert_eq!(us_timestamp(1_709_251_199_123), "02/29/2024 23:59:59");
    }

    #[test]
    fn handles_dates_before_the_epoch() {
        assert_eq!(us_timestamp(-1_000), "12/31/1969 23:59:59");
    }

    #[test]
    fn parses_iso_dates_to_midnight_utc() {
        // The OpenAPI example: Date "2019-03-14" comes back as /Date(1552521600000+0000)/.
        assert_eq!(parse_date("2019-03-14"), Some(1_552_521_600_000));
        assert_eq!(parse_date("2019-03-14T00:00:00"), Some(1_552_521_600_000));
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800_000));
    }

    #[test]
    fn parses_xero_ms_dates() {
        assert_eq!(
            parse_date("/Date(1552521600000+0000)/"),
            Some(1_552_521_600_000)
        );
        assert_eq!(parse_date("/Date(1552521600123)/"), Some(1_552_521_600_000));
    }

    #[test]
    fn rejects_impossible_or_malformed_dates() {
        for text in [
            "2023-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-1-01",
            "14/03/2019",
            "2019-03-14x",
            "",
        ] {
            assert_eq!(parse_date(text), None, "{text}");
        }
    }

    #[test]
    fn formats_ms_dates() {
        assert_eq!(ms_date(1_552_357_217_359), "/Date(1552357217359)/");
        assert_eq!(ms_date_utc(1_553_126_400_000), "/Date(1553126400000+0000)/");
    }
}
