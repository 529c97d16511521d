//! Ages and durations in the words kubectl prints them (`5m30s`, `47h`, `2y1d`).

use chrono::{DateTime, TimeDelta, Utc};

pub(super) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc))
}

/// kubectl's `translateTimestampSince`: "<unknown>" without a (readable) time, else
/// apimachinery's `HumanDuration` of the time since.
pub fn human_age(created: Option<&str>, now: DateTime<Utc>) -> String {
    match created.and_then(parse_time) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_string(),
    }
}

/// apimachinery's `duration.HumanDuration`: two or three significant figures.
pub(super) fn human_duration(d: TimeDelta) -> String {
    let seconds = d.num_seconds();
    // Up to a second in the future is clock skew, so it reads as "now".
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    let seconds = seconds.max(0);
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    let (days, years) = (hours / 24, hours / 24 / 365);
    let pair = |big: i64, unit: &str, small: i64, small_unit: &str| match small {
        0 => format!("{big}{unit}"),
        _ => format!("{big}{unit}{small}{small_unit}"),
    };
    match hours {
        _ if seconds < 120 => format!("{seconds}s"),
        _ if minutes < 10 => pair(minutes, "m", seconds % 60, "s"),
        _ if minutes < 180 => format!("{minutes}m"),
        0..8 => pair(hours, "h", minutes % 60, "m"),
        8..48 => format!("{hours}h"),
        48..192 => pair(days, "d", hours % 24, "h"),
        _ if years < 2 => format!("{days}d"),
        _ if years < 8 => pair(years, "y", days % 365, "d"),
        _ => format!("{years}y"),
    }
}
