//! Parsing and evaluating a 5,000-series exposition: what one scrape costs the embedded
//! source.
//!
//! cargo bench --bench metrics

// Tests and benches stop at the first surprise: unwrap is how they say so.
#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use release_cockpit::metrics::exposition::{Format, parse};
use release_cockpit::metrics::scrape::ScrapeSource;

/// 5,000 series: request counters by path and status, a histogram per path, DB and Celery.
fn exposition(scale: f64, openmetrics: bool) -> String {
    let mut s = String::new();
    let counter = if openmetrics {
        "http_requests"
    } else {
        "http_requests_total"
    };
    writeln!(s, "# HELP {counter} HTTP requests served.").unwrap();
    writeln!(s, "# TYPE {counter} counter").unwrap();
    let mut n = 0;
    for p in 0..400 {
        for (status, share) in [("200", 0.97), ("201", 0.02), ("500", 0.01)] {
            writeln!(s, "http_requests_total{{method=\"GET\",path=\"/api/v1/item/{p}\",status=\"{status}\"}} {}", (scale * share * 100.0).floor()).unwrap();
            n += 1;
        }
    }
    writeln!(s, "# TYPE http_request_duration_seconds histogram").unwrap();
    let les = [
        "0.025", "0.05", "0.1", "0.25", "0.5", "0.8", "1.0", "2.5", "5.0", "+Inf",
    ];
    for p in 0..330 {
        for (i, le) in les.iter().enumerate() {
            let c = (scale * 100.0 * (i + 1) as f64 / les.len() as f64).floor();
            writeln!(
                s,
                "http_request_duration_seconds_bucket{{path=\"/api/v1/item/{p}\",le=\"{le}\"}} {c}"
            )
            .unwrap();
        }
        writeln!(
            s,
            "http_request_duration_seconds_sum{{path=\"/api/v1/item/{p}\"}} {}",
            scale * 12.0
        )
        .unwrap();
        writeln!(
            s,
            "http_request_duration_seconds_count{{path=\"/api/v1/item/{p}\"}} {}",
            (scale * 100.0).floor()
        )
        .unwrap();
        n += les.len() + 2;
    }
    writeln!(s, "# TYPE celery_queue_depth gauge\ncelery_queue_depth 20").unwrap();
    n += 1;
    assert!(n >= 5_000, "{n} series");
    if openmetrics {
        s.push_str("# EOF\n");
    }
    s
}

fn benches(c: &mut Criterion) {
    let text = exposition(1.0, false);
    let om = exposition(1.0, true);
    c.bench_function("parse 5,000 series (0.0.4 text)", |b| {
        b.iter(|| parse(black_box(&text), Format::Text004).unwrap());
    });
    c.bench_function("parse 5,000 series (OpenMetrics)", |b| {
        b.iter(|| parse(black_box(&om), Format::OpenMetrics).unwrap());
    });
    // Evaluation over a full window: ten scrapes a second apart, then every gauge.
    let mut source = ScrapeSource::new(
        "http://unused",
        Duration::from_secs(10),
        Duration::from_secs(1),
    );
    for i in 0..10 {
        source
            .ingest(
                &exposition(1.0 + i as f64, false),
                Format::Text004,
                i * 1000,
            )
            .unwrap();
    }
    c.bench_function(
        "ingest one 5,000-series scrape into a 10-scrape window",
        |b| {
            let next = exposition(11.0, false);
            b.iter(|| {
                source
                    .ingest(black_box(&next), Format::Text004, 10_000)
                    .unwrap();
            });
        },
    );
    c.bench_function("evaluate all gauges over 5,000 series", |b| {
        b.iter(|| source.readings(black_box(10_000)));
    });
}

criterion_group!(metrics, benches);
criterion_main!(metrics);
