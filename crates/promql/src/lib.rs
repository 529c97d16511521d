//! PromQL maths for the embedded metrics source: `rate`, `increase`, `irate` and
//! `histogram_quantile` over raw samples, computed the way Prometheus 2.x does it
//! (`extrapolatedRate` and `instantValue` in promql/functions.go, `bucketQuantile` in
//! promql/quantile.go), so the embedded source and a real Prometheus agree on the same
//! samples. tests/promql_golden.rs checks this against `promtool test rules` (2.42).
//!
//! Pure functions over slices of [`Point`]s sorted by time; [`Series`] keeps them sorted.

/// One sample of a series: time in milliseconds, value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t_ms: i64,
    pub v: f64,
}

/// Which samples a range selector `x[w]` evaluated at `t` sees. This is the only
/// difference taken from 3.x: the extrapolation below follows 2.x (see [`increase`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Prometheus 2.x: `[t - w, t]`; a sample exactly `w` old is included.
    Closed,
    /// Prometheus 3.x: `(t - w, t]`.
    LeftOpen,
}

/// The samples of `points` (sorted by time) that the window ending at `t_ms` sees.
fn select(points: &[Point], t_ms: i64, window_ms: i64, w: Window) -> &[Point] {
    let start = t_ms - window_ms;
    let lo = match w {
        Window::Closed => points.partition_point(|p| p.t_ms < start),
        Window::LeftOpen => points.partition_point(|p| p.t_ms <= start),
    };
    let hi = points.partition_point(|p| p.t_ms <= t_ms);
    &points[lo..hi.max(lo)]
}

/// `increase(x[window])` at `t_ms`. `None` when the window holds fewer than 2 samples:
/// Prometheus then gives no output ("no data"), which is not the same as 0.
///
/// Mirrors 2.x `extrapolatedRate` for counters step by step, including the order of the
/// zero clamp and the 1.1 x threshold. Prometheus from 2024 on (prometheus#13725, so all
/// of 3.x) applies the threshold first; the two differ only for a series whose
/// extrapolated zero point lies between 0.5 and 1.1 sample intervals before its first
/// sample in the window.
pub fn increase(points: &[Point], t_ms: i64, window_ms: i64, w: Window) -> Option<f64> {
    let s = select(points, t_ms, window_ms, w);
    let (first, last) = match s {
        [first, .., last] => (*first, *last),
        _ => return None,
    };
    let mut inc = last.v - first.v;
    // A drop is a counter reset: the process restarted from 0, so the value before the
    // drop is missing from `last - first` and is added back.
    for pair in s.windows(2) {
        if pair[1].v < pair[0].v {
            inc += pair[0].v;
        }
    }

    let mut to_start = (first.t_ms - (t_ms - window_ms)) as f64 / 1000.0;
    let to_end = (t_ms - last.t_ms) as f64 / 1000.0;
    let sampled = (last.t_ms - first.t_ms) as f64 / 1000.0;
    let avg = sampled / (s.len() - 1) as f64;

    // A counter cannot have been below zero: extrapolating backwards at the observed
    // slope reaches 0 after `to_zero`, so never extrapolate further than that.
    if inc > 0.0 && first.v >= 0.0 {
        let to_zero = sampled * (first.v / inc);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }

    // A gap to the window edge of up to 1.1 average intervals is scrape jitter: extend
    // all the way. A longer one means the series starts (or ends) inside the window:
    // assume it did so half an interval beyond the outermost sample.
    let threshold = avg * 1.1;
    let mut extrapolate_to = sampled;
    extrapolate_to += if to_start < threshold {
        to_start
    } else {
        avg / 2.0
    };
    extrapolate_to += if to_end < threshold {
        to_end
    } else {
        avg / 2.0
    };
    Some(inc * (extrapolate_to / sampled))
}

/// `rate(x[window])` at `t_ms`: [`increase`] per second of the whole window. Dividing by
/// the window rather than by the sampled interval is what Prometheus does, and is why a
/// young series reads low.
pub fn rate(points: &[Point], t_ms: i64, window_ms: i64, w: Window) -> Option<f64> {
    increase(points, t_ms, window_ms, w).map(|inc| inc / (window_ms as f64 / 1000.0))
}

/// `irate(x[window])` at `t_ms`: per-second increase between the last two samples in the
/// window, with no extrapolation. `None` with fewer than 2 samples.
pub fn irate(points: &[Point], t_ms: i64, window_ms: i64, w: Window) -> Option<f64> {
    let [.., prev, last] = select(points, t_ms, window_ms, w) else {
        return None;
    };
    // After a reset the counter restarted from 0, so its value is the whole increase.
    let delta = if last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let dt_ms = last.t_ms - prev.t_ms;
    if dt_ms == 0 {
        return None;
    }
    Some(delta / (dt_ms as f64 / 1000.0))
}

/// `histogram_quantile(q, ..)` over `(upper bound le, cumulative count)` pairs, in any
/// order, as 2.x `bucketQuantile` computes it. NaN means "cannot say" (no `+Inf` bucket,
/// fewer than 2 buckets, or no observations: a flat histogram is "no traffic").
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let mut sorted = buckets.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    if sorted.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }

    // The same bound twice (le="1" and le="1.0" from two client versions) is one bucket.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(sorted.len());
    for (le, count) in sorted {
        match merged.last_mut() {
            Some(last) if last.0 == le => last.1 += count,
            _ => merged.push((le, count)),
        }
    }
    // Buckets of one scrape are not ingested atomically, so after `rate` a higher bucket
    // can read lower than the one below it; the binary search needs them monotonic.
    let mut max = merged[0].1;
    for b in merged.iter_mut().skip(1) {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }

    let n = merged.len();
    if n < 2 {
        return f64::NAN;
    }
    let observations = merged[n - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // Go's sort.Search over all but +Inf: the first bucket with count >= rank, else n-1.
    // Written negated so that a NaN rank finds no bucket, as in Go.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    let b = merged[..n - 1].partition_point(|x| !(x.1 >= rank));
    if b == n - 1 {
        // Nothing is known about the +Inf bucket's spread: report its lower bound.
        return merged[n - 2].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let (mut start, end, mut count) = (0.0, merged[b].0, merged[b].1);
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    // Observations are assumed spread evenly inside the bucket; the first bucket starts
    // at 0 when its bound is positive.
    start + (end - start) * (rank / count)
}

/// A sliding window of one series' samples, sorted by time.
#[derive(Debug, Clone, Default)]
pub struct Series {
    points: Vec<Point>,
}

impl Series {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a sample. A sample not newer than the last one is dropped (returns false),
    /// as Prometheus' TSDB rejects out-of-order and duplicate timestamps; the window
    /// functions rely on the order.
    pub fn push(&mut self, p: Point) -> bool {
        if self.points.last().is_some_and(|last| p.t_ms <= last.t_ms) {
            return false;
        }
        self.points.push(p);
        true
    }

    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Drops samples older than `now_ms - retain_ms`; one exactly that old is kept, since
    /// a closed `[t - w, t]` window still sees it.
    pub fn prune(&mut self, now_ms: i64, retain_ms: i64) {
        let cutoff = now_ms.saturating_sub(retain_ms);
        let old = self.points.partition_point(|p| p.t_ms < cutoff);
        self.points.drain(..old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `start+stepxN` sampled every `every_s` seconds from t=0, like promtool's notation.
    fn counter(start: f64, step: f64, n: usize, every_s: i64) -> Vec<Point> {
        (0..=n)
            .map(|i| Point {
                t_ms: i as i64 * every_s * 1000,
                v: start + step * i as f64,
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }

    const LE: [(f64, f64); 4] = [(0.1, 1.0), (0.5, 5.0), (1.0, 9.0), (f64::INFINITY, 10.0)];

    #[test]
    fn worked_quantile_example() {
        assert_eq!(histogram_quantile(0.5, &LE), 0.5);
        // rank 9.5 is past le=1 (9): in the +Inf bucket, so the highest finite bound.
        assert_eq!(histogram_quantile(0.95, &LE), 1.0);
        // rank 0.5 in the first bucket, interpolated from 0.
        assert!(close(histogram_quantile(0.05, &LE), 0.05));
        // rank 7: between le=0.5 (5) and le=1 (9).
        assert!(close(histogram_quantile(0.7, &LE), 0.75));
    }

    #[test]
    fn quantile_edge_cases() {
        let mut shuffled = LE;
        shuffled.reverse();
        assert_eq!(histogram_quantile(0.5, &shuffled), 0.5);
        assert_eq!(histogram_quantile(1.5, &LE), f64::INFINITY);
        assert_eq!(histogram_quantile(-0.1, &LE), f64::NEG_INFINITY);
        assert!(histogram_quantile(f64::NAN, &LE).is_nan());
        assert!(histogram_quantile(0.5, &LE[..3]).is_nan(), "no +Inf bucket");
        assert!(histogram_quantile(0.5, &[(f64::INFINITY, 3.0)]).is_nan());
        assert!(histogram_quantile(0.5, &[]).is_nan());
        let flat = [(0.5, 0.0), (f64::INFINITY, 0.0)];
        assert!(histogram_quantile(0.5, &flat).is_nan(), "no traffic");
        // Duplicate bounds add up: le=0.5 holds 6 of 10.
        let dup = [(0.5, 3.0), (0.5, 3.0), (1.0, 8.0), (f64::INFINITY, 10.0)];
        assert!(close(histogram_quantile(0.5, &dup), 0.5 * 5.0 / 6.0));
        // le=0.8 reads 3 < 4 below it; treated as 4, so rank 5 interpolates 0.8..1 by 1/4.
        let dip = [(0.5, 4.0), (0.8, 3.0), (1.0, 8.0), (f64::INFINITY, 10.0)];
        assert!(close(histogram_quantile(0.5, &dip), 0.85));
        // A first bucket at or below 0 is returned as is.
        let neg = [(-1.0, 5.0), (1.0, 8.0), (f64::INFINITY, 10.0)];
        assert_eq!(histogram_quantile(0.2, &neg), -1.0);
    }

    #[test]
    fn steady_counter_rate_is_exact_in_both_window_modes() {
        let x = counter(0.0, 20.0, 40, 15);
        for w in [Window::Closed, Window::LeftOpen] {
            assert!(close(rate(&x, 300_000, 60_000, w).unwrap(), 20.0 / 15.0));
            assert!(close(increase(&x, 300_000, 30_000, w).unwrap(), 40.0));
            assert!(close(irate(&x, 300_000, 60_000, w).unwrap(), 20.0 / 15.0));
        }
    }

    #[test]
    fn window_boundary_sample() {
        // Two samples exactly a window apart: the closed window sees both.
        let x = [
            Point { t_ms: 0, v: 10.0 },
            Point {
                t_ms: 60_000,
                v: 70.0,
            },
        ];
        assert!(close(
            increase(&x, 60_000, 60_000, Window::Closed).unwrap(),
            60.0
        ));
        assert_eq!(increase(&x, 60_000, 60_000, Window::LeftOpen), None);
        assert_eq!(rate(&x[..1], 60_000, 60_000, Window::Closed), None);
    }

    #[test]
    fn reset_adds_back_the_value_before_the_drop() {
        // 0,20,..,100 then restarts at 5: the 100 before the drop is added back.
        let mut x = counter(0.0, 20.0, 5, 15);
        x.extend(counter(5.0, 20.0, 5, 15).into_iter().map(|p| Point {
            t_ms: p.t_ms + 90_000,
            ..p
        }));
        // Window [90s, 150s]: 5, 25, 45, 65, 85 -> 80, no reset inside.
        assert!(close(
            increase(&x, 150_000, 60_000, Window::Closed).unwrap(),
            80.0
        ));
        // Window [45s, 105s]: 60, 80, 100, 5, 25 -> 25 - 60 + 100 = 65 over 60s sampled.
        assert!(close(
            increase(&x, 105_000, 60_000, Window::Closed).unwrap(),
            65.0
        ));
        assert!(close(
            irate(&x, 90_000, 60_000, Window::Closed).unwrap(),
            5.0 / 15.0
        ));
    }

    #[test]
    fn young_series_is_clamped_at_its_zero_point() {
        // Starts at 255s with 3: slope 20/15s reaches 0 at 252.75s, so only 2.25s of the
        // 15s before the first sample count: 60 * (45 + 2.25) / 45.
        let x: Vec<Point> = counter(3.0, 20.0, 3, 15)
            .into_iter()
            .map(|p| Point {
                t_ms: p.t_ms + 255_000,
                ..p
            })
            .collect();
        let inc = increase(&x, 300_000, 60_000, Window::Closed).unwrap();
        assert!(close(inc, 60.0 * 47.25 / 45.0));
        assert!(close(
            rate(&x, 300_000, 60_000, Window::Closed).unwrap(),
            inc / 60.0
        ));
    }

    #[test]
    fn series_keeps_order_and_prunes() {
        let mut s = Series::new();
        assert!(s.push(Point {
            t_ms: 1_000,
            v: 1.0
        }));
        assert!(!s.push(Point {
            t_ms: 1_000,
            v: 2.0
        }));
        assert!(!s.push(Point { t_ms: 500, v: 2.0 }));
        for t in 2..=10 {
            s.push(Point {
                t_ms: t * 1_000,
                v: t as f64,
            });
        }
        s.prune(10_000, 4_000);
        let ts: Vec<i64> = s.points().iter().map(|p| p.t_ms).collect();
        assert_eq!(ts, [6_000, 7_000, 8_000, 9_000, 10_000]);
        assert_eq!(
            rate(s.points(), 10_000, 4_000, Window::Closed),
            Some(1.0),
            "a window of retain_ms still sees everything it needs"
        );
    }
}
