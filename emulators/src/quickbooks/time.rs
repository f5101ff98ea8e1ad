//! The timestamps QuickBooks Online writes, computed from the clock without a date crate.
//!
//! Fault and query answers carry `"time":"2024-06-23T04:29:11.688-07:00"`: local time of
//! Intuit's servers with its offset (docs/accounting-systems.md §2, "Errors"). The emulator
//! always uses -07:00 (Pacific daylight time) \[I\]; the lowercase 401 envelope carries
//! milliseconds since the epoch instead, as observed.

use std::time::{SystemTime, UNIX_EPOCH};

/// The offset of the emulated servers, in milliseconds.
const OFFSET_MS: i64 = -7 * 3_600 * 1_000;
const MS_PER_DAY: i64 = 86_400_000;

/// Milliseconds since the Unix epoch now; 0 if the clock is set before 1970.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `ms` as QuickBooks' local timestamp, e.g. `2024-06-23T04:29:11.688-07:00`.
pub(super) fn timestamp(ms: i64) -> String {
    let local = ms + OFFSET_MS;
    let (year, month, day) = civil_from_days(local.div_euclid(MS_PER_DAY));
    let of_day = local.rem_euclid(MS_PER_DAY);
    let (seconds, millis) = (of_day / 1_000, of_day % 1_000);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}-07:00",
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`, proleptic
/// Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_pacific_local_time() {
        assert_eq!(timestamp(0), "1969-12-31T17:00:00.000-07:00");
        // 2024-06-23T11:29:11.688Z, the example of docs/accounting-systems.md §2.
        assert_eq!(
            timestamp(1_719_142_151_688),
            "2024-06-23T04:29:11.688-07:00"
        );
    }

    #[test]
    fn leap_days_are_dates() {
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
