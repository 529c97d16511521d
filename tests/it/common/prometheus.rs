//! A real Prometheus on loopback (Debian's package, temp storage, 1 s scrapes of the given
//! targets as job "app"), stopped on drop. Shared by the tests that compare against it
//! (`metrics_prometheus.rs`, `soak_sandbox.rs`) and by `benches/soak.rs`.
#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long Prometheus may take to come up and scrape every target once.
const READY_DEADLINE: Duration = Duration::from_secs(30);

pub struct Prometheus {
    child: Child,
    pub url: String,
    log: PathBuf,
    /// Storage and config; removed after the process has exited (fields drop after `drop`).
    _dir: tempfile::TempDir,
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (host:port) as job "app" every second, waits
    /// until it is ready and every target has been scraped successfully.
    pub async fn start(targets: &[&str]) -> Prometheus {
        let Some(binary) = on_path("prometheus") else {
            panic!(
                "`prometheus` is not on PATH: these tests drive a real Prometheus. Run \
                 tests/run.sh, which installs Debian's prometheus package (or `apt-get install \
                 --no-install-recommends prometheus`)."
            );
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let count = targets.len();
        let targets = targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: app\n    scrape_interval: 1s\n    scrape_timeout: 1s\n\
             \x20   static_configs:\n      - targets: [{targets}]\n"
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let data = dir.path().join("data");
        let log = dir.path().join("prometheus.log");
        let log_file = std::fs::File::create(&log).expect("create the log file");
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=1h")
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the log file"))
            .stderr(log_file)
            .spawn()
            .expect("spawn prometheus");
        let mut p = Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        p.wait_until_scraping(count).await;
        p
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_until_scraping(&mut self, targets: usize) {
        let http = release_cockpit::http::client();
        let deadline = Instant::now() + READY_DEADLINE;
        let started = Instant::now();
        // Ready: the web server is up and the TSDB opened.
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited with {status}:\n{}", self.log());
            }
            let ready = http
                .get(format!("{}/-/ready", self.url))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus at {} was not ready within {READY_DEADLINE:?}:\n{}",
                self.url,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let ready_after = started.elapsed();
        // Scraping: every target has been scraped once and is up.
        let mut last = Value::Null;
        loop {
            if let Ok(r) = http
                .get(format!("{}/api/v1/targets?state=active", self.url))
                .timeout(Duration::from_secs(1))
                .send()
                .await
                && let Ok(v) = r.json::<Value>().await
            {
                let active = v["data"]["activeTargets"].as_array().cloned();
                let up = active
                    .as_ref()
                    .map_or(0, |a| a.iter().filter(|t| t["health"] == "up").count());
                if up == targets && active.map_or(0, |a| a.len()) == targets {
                    eprintln!(
                        "prometheus at {}: ready after {ready_after:?}, {targets} target(s) up \
                         after {:?}",
                        self.url,
                        started.elapsed()
                    );
                    return;
                }
                last = v;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus at {} did not scrape its {targets} target(s) within \
                 {READY_DEADLINE:?}; last /api/v1/targets: {last}\n{}",
                self.url,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        // SIGTERM for a clean TSDB shutdown (about 1.8 s), SIGKILL if it hangs.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // A child this process spawned and has not reaped.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(25)),
            }
        }
    }
}
