//! Gauge lines: value against threshold, status in words (so NO_COLOR loses nothing), and a
//! sparkline where missing readings leave a gap instead of drawing a zero.

use chrono::{DateTime, Utc};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::theme::Theme;
use crate::metrics::gauges::{Gauge, GaugeBoard, GaugeStatus};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub use crate::metrics::gauges::format_value;

/// The last `width` readings; a gap (space) where there was no number.
pub fn sparkline(g: &Gauge, width: usize) -> String {
    let recent: Vec<Option<f64>> = g
        .history
        .iter()
        .rev()
        .take(width)
        .rev()
        .map(|(_, v)| *v)
        .collect();
    bars(&recent)
}

fn status_word(s: GaugeStatus) -> &'static str {
    match s {
        GaugeStatus::Ok => "ok",
        GaugeStatus::Warn => "WARN",
        GaugeStatus::Breach => "BREACH",
        GaugeStatus::NoData => "no data",
        GaugeStatus::NoTraffic => "no traffic",
    }
}

fn status_style(s: GaugeStatus, theme: &Theme) -> Style {
    match s {
        GaugeStatus::Ok => theme.ok(),
        GaugeStatus::Warn => theme.warn(),
        GaugeStatus::Breach => theme.bad(),
        GaugeStatus::NoData | GaugeStatus::NoTraffic => theme.dim(),
    }
}

/// The readings between `from` and `to` in `width` equal slices of time, each the mean of
/// its readings; a gap where a slice has none (no data is not zero).
pub fn sparkline_over(g: &Gauge, from: DateTime<Utc>, to: DateTime<Utc>, width: usize) -> String {
    let span = (to - from).num_milliseconds().max(1) as f64;
    let mut sums = vec![(0.0, 0u32); width];
    for (at, v) in g.history.iter().filter(|(at, _)| *at >= from && *at <= to) {
        if let Some(v) = v {
            let x = (((*at - from).num_milliseconds() as f64 / span) * width as f64) as usize;
            let cell = &mut sums[x.min(width - 1)];
            cell.0 += v;
            cell.1 += 1;
        }
    }
    let means: Vec<Option<f64>> = sums
        .iter()
        .map(|(s, n)| (*n > 0).then(|| s / *n as f64))
        .collect();
    bars(&means)
}

fn bars(values: &[Option<f64>]) -> String {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let (lo, hi) = present
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(v) if hi - lo < 1e-12 => BARS[if *v == 0.0 { 0 } else { 3 }],
            Some(v) => BARS[(((v - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

/// One line per gauge; `span` draws the sparkline over that time (the soak window from
/// T-15) instead of the latest readings.
pub fn lines<'a>(
    board: &GaugeBoard,
    width: usize,
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
    theme: &Theme,
) -> Vec<Line<'a>> {
    board
        .gauges
        .values()
        .map(|g| {
            let base = g
                .baseline
                .as_ref()
                .map(|b| format!(" base {}", format_value(g.unit, b.value)))
                .unwrap_or_default();
            // The fixed columns take 52 (name 20, value 9, limit 12, status 10, spaces).
            let spark = width.saturating_sub(52 + base.chars().count()).min(30);
            let value = match g.value {
                Some(v) => format_value(g.unit, v),
                None => "—".to_string(),
            };
            let limit = g
                .threshold
                .map(|t| {
                    let cmp = if g.higher_is_worse { "≤" } else { "≥" };
                    format!(" ({cmp}{})", format_value(g.unit, t))
                })
                .unwrap_or_default();
            let mut spans = vec![
                Span::raw(format!("{:<20}", g.name)),
                Span::styled(format!("{value:>9}"), theme.title()),
                Span::styled(format!("{limit:<12} "), theme.dim()),
                Span::styled(
                    format!("{:<10}", status_word(g.status)),
                    status_style(g.status, theme),
                ),
            ];
            if spark > 0 {
                let line = match span {
                    Some((from, to)) => sparkline_over(g, from, to, spark),
                    None => sparkline(g, spark),
                };
                spans.push(Span::styled(line, theme.dim()));
            }
            if !base.is_empty() {
                spans.push(Span::styled(base, theme.dim()));
            }
            Line::from(spans)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::metrics::source::Reading;
    use chrono::Utc;

    #[test]
    fn a_sparkline_leaves_gaps_for_missing_readings() {
        let mut b = GaugeBoard::new(&Config::embedded(), "t".into());
        let t0 = Utc::now();
        for (i, r) in [
            Reading::Value { value: 1.0 },
            Reading::NoTraffic,
            Reading::Value { value: 8.0 },
        ]
        .into_iter()
        .enumerate()
        {
            let rs = [("throughput_rps".to_string(), r)].into_iter().collect();
            b.record(t0 + chrono::Duration::seconds(i as i64), &rs, false);
        }
        assert_eq!(sparkline(&b.gauges["throughput_rps"], 10), "▁ █");
    }

    #[test]
    fn a_sparkline_over_a_span_puts_each_reading_in_its_slice_of_time() {
        let mut b = GaugeBoard::new(&Config::embedded(), "t".into());
        let t0 = Utc::now();
        // Readings only in the second half of the span: the first half is a gap, not zero.
        for i in 5..10 {
            let rs = [(
                "throughput_rps".to_string(),
                Reading::Value { value: i as f64 },
            )]
            .into_iter()
            .collect();
            b.record(t0 + chrono::Duration::seconds(i), &rs, false);
        }
        let line = sparkline_over(
            &b.gauges["throughput_rps"],
            t0,
            t0 + chrono::Duration::seconds(10),
            10,
        );
        assert_eq!(line, "     ▁▃▅▆█");
    }
}
