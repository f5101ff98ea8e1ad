//! Pleo's timestamps: UTC with whole seconds and a trailing `Z`, e.g. `2023-11-07T05:31:56Z`,
//! the `YYYY-MM-DDTHH:mi:ssZ` pattern of every date-time field in the spec
//! (docs/pleo-export-api.md §1).
//!
//! The conversions between days and calendar dates are Howard Hinnant's `civil_from_days` and
//! `days_from_civil` (proleptic Gregorian calendar), so no date crate is needed.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since 1970-01-01T00:00:00Z; negative before it.
pub(super) type UnixSeconds = i64;

const SECONDS_PER_DAY: i64 = 86_400;
/// Days from 0000-03-01 to 1970-01-01 in Hinnant's algorithms.
const EPOCH_SHIFT_DAYS: i64 = 719_468;
const DAYS_PER_ERA: i64 = 146_097;

/// The current time, whole seconds.
pub(super) fn now() -> UnixSeconds {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Formats `secs` the way Pleo does: `YYYY-MM-DDTHH:MM:SSZ`.
pub(super) fn format(secs: UnixSeconds) -> String {
    let (year, month, day) = civil_from_days(secs.div_euclid(SECONDS_PER_DAY));
    let of_day = secs.rem_euclid(SECONDS_PER_DAY);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60
    )
}

/// Parses an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`), the OpenAPI
/// `date-time` format clients send in `exportedAt`. A fraction is dropped, because Pleo
/// stores and returns whole seconds.
pub(super) fn parse(text: &str) -> Option<UnixSeconds> {
    let bytes = text.as_bytes();
    // ASCII only, so that the byte offsets below always fall on character boundaries.
    if !text.is_ascii() || bytes.len() < 20 || !matches!(bytes[10], b'T' | b't') {
        return None;
    }
    let date = parse_date(&text[..10])?;
    let time = parse_time(&text[11..19])?;
    let offset = parse_offset(skip_fraction(&text[19..])?)?;
    Some(date * SECONDS_PER_DAY + time - offset)
}

/// `YYYY-MM-DD` as days since the epoch.
fn parse_date(text: &str) -> Option<i64> {
    let [year, month, day] = split_numbers::<3>(text, b'-', [4, 2, 2])?;
    let valid_day = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    valid_day.then(|| days_from_civil(year, month, day))
}

/// `HH:MM:SS` as seconds into the day. A leap second (`:60`) counts as the next second.
fn parse_time(text: &str) -> Option<i64> {
    let [hour, minute, second] = split_numbers::<3>(text, b':', [2, 2, 2])?;
    (hour < 24 && minute < 60 && second <= 60).then_some(hour * 3_600 + minute * 60 + second)
}

/// Whatever follows `.digits`, or the text itself when there is no fraction.
fn skip_fraction(text: &str) -> Option<&str> {
    let Some(fraction) = text.strip_prefix('.') else {
        return Some(text);
    };
    let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0).then(|| &fraction[digits..])
}

/// `Z` or `±HH:MM` as seconds east of UTC.
fn parse_offset(text: &str) -> Option<i64> {
    if text.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let [hours, minutes] = split_numbers::<2>(&text[1..], b':', [2, 2])?;
    (hours < 24 && minutes < 60).then_some(sign * (hours * 3_600 + minutes * 60))
}

/// Splits `text` at `separator` into exactly `N` all-digit fields of the given widths.
fn split_numbers<const N: usize>(
    text: &str,
    separator: u8,
    widths: [usize; N],
) -> Option<[i64; N]> {
    let mut fields = text.split(char::from(separator));
    let mut numbers = [0; N];
    for (number, width) in numbers.iter_mut().zip(widths) {
        let field = fields.next()?;
        if field.len() != width || !field.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *number = field.parse().ok()?;
    }
    fields.next().is_none().then_some(numbers)
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The calendar date `days` after 1970-01-01, as (year, month 1–12, day 1–31).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + EPOCH_SHIFT_DAYS;
    let era = shifted.div_euclid(DAYS_PER_ERA);
    let day_of_era = shifted.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March, so that the leap day is the last day of the year.
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to the given calendar date; the inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let march_month = (month + 9) % 12;
    let day_of_year = (153 * march_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT_DAYS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_spec_examples() {
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
        assert_eq!(format(1_699_335_116), "2023-11-07T05:31:56Z");
        assert_eq!(format(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn parses_what_it_formats() {
        for secs in [0, 1_699_335_116, 951_782_400, 4_102_444_799, -86_400] {
            assert_eq!(parse(&format(secs)), Some(secs), "{secs}");
        }
    }

    #[test]
    fn parses_fractions_and_offsets() {
        assert_eq!(parse("2023-11-07T05:31:56.789Z"), Some(1_699_335_116));
        assert_eq!(parse("2023-11-07T07:31:56+02:00"), Some(1_699_335_116));
        assert_eq!(parse("2023-11-07T00:01:56-05:30"), Some(1_699_335_116));
        assert_eq!(parse("2023-11-07t05:31:56z"), Some(1_699_335_116));
    }

    #[test]
    fn refuses_what_is_not_a_date_time() {
        for text in [
            "",
            "2023-11-07",
            "2023-11-07 05:31:56Z",
            "2023-11-07T05:31:56",
            "2023-13-07T05:31:56Z",
            "2023-02-29T05:31:56Z",
            "2023-11-07T24:00:00Z",
            "2023-11-07T05:31:56.Z",
            "2023-11-07T05:31:56+2:00",
            "+023-11-07T05:31:56Z",
            "YYYY-MM-DDTHH:mi:ssZ",
            "2023-11-07T05:31:5é+00:00",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn day_conversions_agree_over_four_centuries() {
        for days in (-200_000..200_000).step_by(97) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }
}
