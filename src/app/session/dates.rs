//! Times in UTC without a calendar library: for the names of set-aside files and for the offer.

use std::time::{SystemTime, UNIX_EPOCH};

/// `20261127T101500Z`: a UTC time for file names.
pub fn utc_stamp(time: SystemTime) -> String {
    let (date, (h, m, s)) = utc_parts(time);
    format!("{}{:02}{:02}T{h:02}{m:02}{s:02}Z", date.0, date.1, date.2)
}

/// `2026-11-27 10:15 UTC`, for people.
pub fn utc_minutes(time: SystemTime) -> String {
    let ((y, mo, d), (h, mi, _)) = utc_parts(time);
    format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// Date and time of day in UTC (times before 1970 count as 1970).
fn utc_parts(time: SystemTime) -> ((i64, u32, u32), (u64, u64, u64)) {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    (civil_from_days(days as i64), (of_day / 3600, of_day % 3600 / 60, of_day % 60))
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// "chrono-Compatible Low-Level Date Algorithms").
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// "just now", "12 minutes ago", "3 hours ago", "2 days ago".
pub fn describe_age(saved_at: u64, now: SystemTime) -> String {
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let age = now.saturating_sub(saved_at);
    let plural = |n: u64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match age {
        0..60 => "just now".to_string(),
        60..7200 => plural(age / 60, "minute"),
        7200..172_800 => plural(age / 3600, "hour"),
        _ => plural(age / 86_400, "day"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn dates_follow_the_gregorian_calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        // 2000 was a leap year (divisible by 400), 2100 will not be.
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(47_540), (2100, 2, 28));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        let time = UNIX_EPOCH + Duration::from_secs(1_795_774_500);
        assert_eq!(utc_stamp(time), "20261127T101500Z");
        assert_eq!(utc_minutes(time), "2026-11-27 10:15 UTC");
    }

    #[test]
    fn ages_read_in_the_largest_sensible_unit() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(describe_age(1_000_000 - 59, now), "just now");
        assert_eq!(describe_age(1_000_000 - 60, now), "1 minute ago");
        assert_eq!(describe_age(1_000_000 - 7199, now), "119 minutes ago");
        assert_eq!(describe_age(1_000_000 - 7200, now), "2 hours ago");
        assert_eq!(describe_age(1_000_000 - 3 * 86_400, now), "3 days ago");
        assert_eq!(describe_age(2_000_000, now), "just now", "a clock set back is not the future");
    }
}
