//! The simulated Deal Scout API's traffic: requests, latencies, database and Celery work,
//! driven by a traffic model and by the image versions the ready pods run, so that mid-rollout
//! a mix of pods gives a mix of behaviour.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::scenario::Scenario;

type Labels = Vec<(String, String)>;

/// Request latency buckets: 0.5 and 0.8 are the procedure's thresholds, so p95 against them
/// is read off a bucket edge, not interpolated across one.
pub const HTTP_BUCKETS: &[f64] = &[0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 2.5, 5.0];
pub const DB_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Base load in requests per second, before the daily swing.
pub fn base_rps(namespace: &str) -> f64 {
    if namespace == "production" { 40.0 } else { 5.0 }
}

/// How the pods of one image version behave.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    pub error_ratio: f64,
    /// Multiplies every latency.
    pub slowness: f64,
    /// Celery backlog growth per second.
    pub queue_growth: f64,
}

impl Behaviour {
    pub fn of_image(image: &str) -> Self {
        let s = Scenario::from_image(image);
        let tag = |t: &str| s.service.iter().any(|w| w == t);
        Behaviour {
            error_ratio: if tag("errors") { 0.08 } else { 0.002 },
            slowness: if tag("slow") { 2.0 } else { 1.0 },
            queue_growth: if tag("queue") { 8.0 } else { 0.0 },
        }
    }
}

/// A small deterministic generator: the same run gives the same numbers.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u1 = self.next().max(1e-12);
        let u2 = self.next();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// The metrics of one environment's service, and the model that moves them.
pub struct ServiceModel {
    pub registry: Registry,
    requests: Family<Labels, Counter>,
    durations: Family<Labels, Histogram, fn() -> Histogram>,
    errors: Family<Labels, Counter>,
    db_connections: Counter,
    db_durations: Histogram,
    db_errors: Counter,
    celery_tasks: Family<Labels, Counter>,
    queue_depth: Gauge<f64, std::sync::atomic::AtomicU64>,
    rng: Rng,
    /// Fractions of a request carried to the next step.
    carry: f64,
    /// Fractions of an error carried to the next request.
    error_carry: f64,
    queue: f64,
    base_rps: f64,
}

const PATHS: &[(&str, &str, f64)] = &[
    ("GET", "/api/v1/deals", 0.6),
    ("GET", "/api/v1/searches", 0.25),
    ("POST", "/api/v1/searches", 0.1),
    ("GET", "/api/v1/alerts", 0.05),
];

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_BUCKETS.iter().copied())
}

impl ServiceModel {
    pub fn new(namespace: &str) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        let durations =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(http_histogram);
        let errors = Family::<Labels, Counter>::default();
        let db_connections = Counter::default();
        let db_durations = Histogram::new(DB_BUCKETS.iter().copied());
        let db_errors = Counter::default();
        let celery_tasks = Family::<Labels, Counter>::default();
        let queue_depth = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        // prometheus-client appends `_total` to counters itself.
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            durations.clone(),
        );
        registry.register(
            "http_errors",
            "HTTP requests answered with a 5xx",
            errors.clone(),
        );
        registry.register(
            "database_connections",
            "Database connections opened",
            db_connections.clone(),
        );
        registry.register(
            "database_query_duration_seconds",
            "Database query latency",
            db_durations.clone(),
        );
        registry.register(
            "database_errors",
            "Failed database queries",
            db_errors.clone(),
        );
        registry.register(
            "celery_tasks",
            "Celery tasks run, by outcome",
            celery_tasks.clone(),
        );
        registry.register(
            "celery_queue_depth",
            "Celery tasks waiting",
            queue_depth.clone(),
        );
        // Every series exists from the start at zero, as instrumented services should do:
        // otherwise an error ratio is "no data" until the first error.
        for (method, path, _) in PATHS {
            for status in ["200", "201", "500"] {
                let ok = status == "500" || (status == "201") == (*method == "POST");
                if ok {
                    let _ = requests.get_or_create(&vec![
                        ("method".into(), (*method).into()),
                        ("path".into(), (*path).into()),
                        ("status".into(), status.into()),
                    ]);
                }
            }
            let _ = errors.get_or_create(&vec![("path".into(), (*path).into())]);
            let _ = durations.get_or_create(&vec![("path".into(), (*path).into())]);
        }
        for outcome in ["success", "failed"] {
            let _ = celery_tasks.get_or_create(&vec![("status".into(), outcome.into())]);
        }
        let seed = namespace.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        ServiceModel {
            registry,
            requests,
            durations,
            errors,
            db_connections,
            db_durations,
            db_errors,
            celery_tasks,
            queue_depth,
            rng: Rng(seed | 1),
            carry: 0.0,
            error_carry: 0.0,
            queue: 20.0,
            base_rps: base_rps(namespace),
        }
    }

    /// The load at a moment: a slow swing around the base, so rates are not flat lines.
    pub fn rps_at(&self, sim_secs: f64) -> f64 {
        self.base_rps * (1.0 + 0.15 * (sim_secs * 2.0 * std::f64::consts::PI / 900.0).sin())
    }

    /// Serves `dt` seconds of traffic with the ready pods' behaviours, one per pod.
    pub fn advance(&mut self, sim_secs: f64, dt: f64, pods: &[Behaviour]) {
        if dt <= 0.0 {
            return;
        }
        let growth: f64 =
            pods.iter().map(|b| b.queue_growth).sum::<f64>() / pods.len().max(1) as f64;
        // The workers drain towards a small backlog unless a release makes it grow.
        self.queue = (self.queue + (growth - 0.1 * (self.queue - 20.0)) * dt).max(0.0);
        self.queue_depth.set(self.queue + 3.0 * self.rng.normal());
        if pods.is_empty() {
            // No ready pod: no traffic reaches the service at all.
            return;
        }
        let wanted = self.rps_at(sim_secs) * dt + self.carry;
        let n = wanted.floor() as u64;
        self.carry = wanted - n as f64;
        for _ in 0..n {
            let pod = &pods[(self.rng.next() * pods.len() as f64) as usize % pods.len()];
            let mut pick = self.rng.next();
            let (method, path) = PATHS
                .iter()
                .find(|(_, _, share)| {
                    pick -= share;
                    pick <= 0.0
                })
                .map(|(m, p, _)| (*m, *p))
                .unwrap_or(("GET", "/api/v1/deals"));
            // Errors come at the pods' exact share rather than by chance, so two observers
            // with slightly different windows see the same ratio (the comparison tests rely
            // on it); latencies stay random.
            self.error_carry += pod.error_ratio;
            let failed = self.error_carry >= 1.0;
            if failed {
                self.error_carry -= 1.0;
            }
            let status = if failed {
                "500"
            } else if method == "POST" {
                "201"
            } else {
                "200"
            };
            let labels: Labels = vec![
                ("method".into(), method.into()),
                ("path".into(), path.into()),
                ("status".into(), status.into()),
            ];
            self.requests.get_or_create(&labels).inc();
            if failed {
                self.errors
                    .get_or_create(&vec![("path".into(), path.into())])
                    .inc();
            }
            // Log-normal latency: median 120 ms, p95 about 320 ms for a healthy version.
            let latency = 0.12 * (0.6 * self.rng.normal()).exp() * pod.slowness;
            self.durations
                .get_or_create(&vec![("path".into(), path.into())])
                .observe(latency);
            for _ in 0..2 {
                let q = 0.01 * (0.5 * self.rng.normal()).exp() * pod.slowness;
                self.db_durations.observe(q);
                if self.rng.next() < 0.0005 + pod.error_ratio / 10.0 {
                    self.db_errors.inc();
                }
            }
            if self.rng.next() < 0.05 {
                self.db_connections.inc();
            }
            if self.rng.next() < 0.5 {
                let outcome = if self.rng.next() < 0.01 + pod.error_ratio / 4.0 {
                    "failed"
                } else {
                    "success"
                };
                self.celery_tasks
                    .get_or_create(&vec![("status".into(), outcome.into())])
                    .inc();
            }
        }
    }

    pub fn queue_depth(&self) -> f64 {
        self.queue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(m: &mut ServiceModel, pods: &[Behaviour]) -> f64 {
        let mut text = String::new();
        for s in 0..600 {
            m.advance(s as f64, 1.0, pods);
        }
        prometheus_client::encoding::text::encode(&mut text, &m.registry).unwrap();
        let sum = |prefix: &str, filter: &str| -> f64 {
            text.lines()
                .filter(|l| l.starts_with(prefix) && l.contains(filter))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        sum("http_requests_total{", "status=\"500\"") / sum("http_requests_total{", "")
    }

    #[test]
    fn an_errors_image_fails_about_eight_percent_and_a_mix_fails_in_proportion() {
        let healthy = Behaviour::of_image("deal-scout-api:1.2.2");
        let bad = Behaviour::of_image("deal-scout-api:1.2.3-errors");
        let r = ratio(
            &mut ServiceModel::new("production"),
            std::slice::from_ref(&healthy),
        );
        assert!(r < 0.006, "healthy error ratio {r}");
        let r = ratio(
            &mut ServiceModel::new("production"),
            std::slice::from_ref(&bad),
        );
        assert!((0.07..0.09).contains(&r), "errors image ratio {r}");
        let r = ratio(
            &mut ServiceModel::new("production"),
            &[healthy.clone(), healthy.clone(), healthy, bad],
        );
        assert!((0.012..0.03).contains(&r), "one pod of four: ratio {r}");
    }

    /// p95 of all request latencies served so far, from the histogram's buckets.
    fn p95(m: &mut ServiceModel, pods: &[Behaviour]) -> f64 {
        for s in 0..600 {
            m.advance(s as f64, 1.0, pods);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &m.registry).unwrap();
        let mut by_le: std::collections::BTreeMap<String, f64> = Default::default();
        for l in text
            .lines()
            .filter(|l| l.starts_with("http_request_duration_seconds_bucket{"))
        {
            let le = l
                .split("le=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
            *by_le.entry(le).or_default() += l.rsplit(' ').next().unwrap().parse::<f64>().unwrap();
        }
        let buckets: Vec<(f64, f64)> = by_le
            .iter()
            .map(|(le, c)| (le.parse().unwrap(), *c))
            .collect();
        cockpit_promql::histogram_quantile(0.95, &buckets)
    }

    #[test]
    fn a_slow_image_doubles_the_p95() {
        let healthy = p95(
            &mut ServiceModel::new("production"),
            &[Behaviour::of_image("api:1.2.2")],
        );
        let slow = p95(
            &mut ServiceModel::new("production"),
            &[Behaviour::of_image("api:1.2.3-slow")],
        );
        assert!((0.2..0.5).contains(&healthy), "healthy p95 {healthy}");
        assert!(
            (1.6..2.4).contains(&(slow / healthy)),
            "p95 {healthy} -> {slow}"
        );
    }

    #[test]
    fn no_ready_pod_means_no_traffic_and_a_queue_image_grows_the_backlog() {
        let mut m = ServiceModel::new("staging");
        m.advance(0.0, 60.0, &[]);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &m.registry).unwrap();
        let served: f64 = text
            .lines()
            .filter(|l| l.starts_with("http_requests_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert_eq!(served, 0.0, "{text}");
        let q = Behaviour::of_image("deal-scout-api:1.2.3-queue");
        for s in 0..300 {
            m.advance(s as f64, 1.0, std::slice::from_ref(&q));
        }
        assert!(m.queue_depth() > 60.0, "backlog {}", m.queue_depth());
    }
}
