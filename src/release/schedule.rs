//! The release calendar: windows every `cadence_days` from an anchor, and the go/no-go
//! deadline before each.

use chrono::{DateTime, Duration, Utc};

use crate::config::Schedule;

/// The first release window at or after `now`, or the one in progress today.
pub fn next_window(schedule: &Schedule, now: DateTime<Utc>) -> DateTime<Utc> {
    let cadence = Duration::days(schedule.cadence_days);
    let since = now - schedule.anchor;
    // Windows before the anchor count too: floor division keeps them in step.
    let k = since.num_seconds().div_euclid(cadence.num_seconds());
    let mut window = schedule.anchor + cadence * k as i32;
    // A window that started earlier today is still "today's release".
    if window.date_naive() != now.date_naive() && window < now {
        window += cadence;
    }
    window
}

pub fn go_no_go_deadline(schedule: &Schedule, window: DateTime<Utc>) -> DateTime<Utc> {
    window - Duration::minutes(schedule.go_no_go_before_minutes)
}

/// "3d 4h", "2h 05m", "12m", "45s": the coarsest two units that matter.
pub fn human_duration(d: Duration) -> String {
    let secs = d.num_seconds().abs();
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins:02}m")
    } else if mins > 0 {
        format!("{mins}m")
    } else {
        format!("{secs}s")
    }
}

/// The calendar line of the status bar.
pub fn describe(schedule: &Schedule, now: DateTime<Utc>, decided: bool) -> String {
    let window = next_window(schedule, now);
    if window.date_naive() != now.date_naive() {
        let when = window.format("%a %m-%d %H:%M UTC");
        return format!("next window {when}, in {}", human_duration(window - now));
    }
    let when = window.format("%H:%M UTC");
    let deadline = go_no_go_deadline(schedule, window);
    let go = deadline.format("%H:%M");
    if decided {
        if now < window {
            format!(
                "release day: window at {when}, in {}",
                human_duration(window - now)
            )
        } else {
            format!(
                "release day: window opened {} ago",
                human_duration(now - window)
            )
        }
    } else if now < deadline {
        format!(
            "release day: go/no-go at {go} UTC, in {}",
            human_duration(deadline - now)
        )
    } else {
        format!(
            "release day: go/no-go OVERDUE by {}",
            human_duration(now - deadline)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Schedule {
        Schedule {
            cadence_days: 14,
            anchor: "2024-10-29T10:00:00Z".parse().unwrap(),
            go_no_go_before_minutes: 60,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn windows_fall_every_other_tuesday_at_ten() {
        let s = schedule();
        // 2026-11-26 is a Thursday; 2024-10-29 + 55 fortnights = 2026-12-08 (a Tuesday).
        let w = next_window(&s, at("2026-11-26T11:00:00Z"));
        assert_eq!(w, at("2026-12-08T10:00:00Z"));
        assert_eq!(w.format("%A").to_string(), "Tuesday");
        // Before the anchor the cadence still holds.
        assert_eq!(
            next_window(&s, at("2024-10-20T00:00:00Z")),
            at("2024-10-29T10:00:00Z")
        );
    }

    #[test]
    fn release_day_counts_down_to_go_no_go_then_says_overdue() {
        let s = schedule();
        assert_eq!(
            describe(&s, at("2026-12-08T07:30:00Z"), false),
            "release day: go/no-go at 09:00 UTC, in 1h 30m"
        );
        assert_eq!(
            describe(&s, at("2026-12-08T09:12:00Z"), false),
            "release day: go/no-go OVERDUE by 12m"
        );
        // Later the same day the window is still today's, not the next fortnight's.
        assert_eq!(
            describe(&s, at("2026-12-08T11:00:00Z"), true),
            "release day: window opened 1h 00m ago"
        );
        assert_eq!(
            describe(&s, at("2026-11-26T10:00:00Z"), false),
            "next window Tue 12-08 10:00 UTC, in 12d 0h"
        );
    }
}
