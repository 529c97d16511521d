//! The sandbox against the real `kubectl` from PATH: what a user types during a release
//! (get, set image, rollout status/history/undo, get -w, Jobs, ConfigMaps, delete) must work
//! and print what a real API server would make it print.
//!
//! Every test starts its own seeded sandbox on a free loopback port, with simulated time 60
//! times faster than the wall clock (the 600 s progress deadline is 10 s), and a temp dir for
//! the kubeconfig and kubectl's discovery cache.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cockpit_clock::{Clock, ScaledClock};
use cockpit_sandbox::{kubeconfig, server};
use serde_json::Value;
use tokio::sync::mpsc;

const SPEED: f64 = 60.0;
/// Any single kubectl run longer than this is a hang: kill it and fail.
const KUBECTL_LIMIT: Duration = Duration::from_secs(60);
const DEPLOY: &str = "deployment/deal-scout-api";

const NO_KUBECTL: &str = "`kubectl` is not on PATH: these tests drive the real kubectl against \
     the sandbox (CI has it; install kubectl or put it on PATH)";

// ---------------------------------------------------------------------------------------
// Harness

/// A seeded sandbox and a temp dir with its kubeconfig (every context and user) and
/// kubectl's discovery cache.
pub(crate) struct Cluster {
    pub(crate) running: server::Running,
    pub(crate) dir: tempfile::TempDir,
}

impl Cluster {
    pub(crate) async fn start() -> Self {
        let clock = Arc::new(ScaledClock::new(Utc::now(), SPEED)) as Arc<dyn Clock>;
        let running = server::start_seeded(clock, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("start the sandbox");
        let dir = tempfile::tempdir().expect("temp dir");
        kubeconfig::write(
            &dir.path().join("kubeconfig"),
            &running.kubeconfig_server(),
            &[("staging", "staging"), ("production", "production")],
            running.sandbox.users(),
        )
        .expect("write the kubeconfig");
        Self { running, dir }
    }

    pub(crate) async fn stop(self) {
        self.running.stop().await;
    }

    fn command(&self, args: &[&str]) -> Command {
        self.command_with(&self.dir.path().join("kubeconfig"), args)
    }

    fn command_with(&self, kubeconfig: &std::path::Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .arg("--request-timeout=20s")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a kill reaches whatever it runs.
            .process_group(0);
        cmd
    }

    /// Runs kubectl to the end (in the current context, `staging`, unless `-n` says otherwise).
    pub(crate) async fn kubectl(&self, args: &[&str]) -> Output {
        run_blocking(self.command(args), args).await
    }

    /// Runs kubectl with another kubeconfig than the sandbox's own.
    pub(crate) async fn kubectl_with(&self, kubeconfig: &std::path::Path, args: &[&str]) -> Output {
        run_blocking(self.command_with(kubeconfig, args), args).await
    }

    /// Runs kubectl and insists it succeeds; returns its stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).await;
        assert!(
            out.status.success(),
            "kubectl {} failed\n{}",
            args.join(" "),
            show(&out)
        );
        stdout(&out)
    }

    /// Starts a long-running kubectl (such as `get -w`); its output arrives line by line,
    /// stderr's marked `[stderr] `.
    fn spawn(&self, args: &[&str]) -> (Watcher, mpsc::UnboundedReceiver<String>) {
        let mut child = spawn_or_fail(self.command(args));
        let (tx, rx) = mpsc::unbounded_channel();
        let forward = |from: Box<dyn Read + Send>, mark: &'static str| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(from).lines().map_while(Result::ok) {
                    if tx.send(format!("{mark}{line}")).is_err() {
                        return;
                    }
                }
            });
        };
        forward(Box::new(child.stdout.take().expect("piped stdout")), "");
        forward(
            Box::new(child.stderr.take().expect("piped stderr")),
            "[stderr] ",
        );
        (Watcher(child), rx)
    }

    /// The Deployment's ReplicaSets in `ns`, sorted by name.
    async fn replica_sets(&self, ns: &str) -> Vec<Rs> {
        let out = self.ok(&["-n", ns, "get", "rs", "-o", "json"]).await;
        let list: Value = serde_json::from_str(&out).expect("get rs -o json");
        let mut rs: Vec<Rs> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| Rs {
                name: i["metadata"]["name"].as_str().unwrap_or_default().into(),
                replicas: i["spec"]["replicas"].as_i64().unwrap_or(-1),
                revision: i["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0),
                image: i["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
            })
            .collect();
        rs.sort_by(|a, b| a.name.cmp(&b.name));
        rs
    }

    /// `rollout history` in `ns` as (revision, change-cause) rows.
    async fn history(&self, ns: &str) -> Vec<(u32, String)> {
        let out = self.ok(&["-n", ns, "rollout", "history", DEPLOY]).await;
        let rows: Vec<(u32, String)> = out
            .lines()
            .skip_while(|l| !l.starts_with("REVISION"))
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (rev, cause) = l.trim().split_once(char::is_whitespace).unwrap_or((l, ""));
                let rev = rev
                    .parse()
                    .unwrap_or_else(|_| panic!("revision in {l:?}:\n{out}"));
                (rev, cause.trim().to_string())
            })
            .collect();
        assert!(!rows.is_empty(), "no history rows:\n{out}");
        rows
    }

    /// `set image` to `image`, then `rollout status` until it succeeds.
    async fn deploy(&self, ns: &str, image: &str) {
        let set = self
            .ok(&["-n", ns, "set", "image", DEPLOY, &format!("api={image}")])
            .await;
        assert!(set.contains("image updated"), "{set}");
        self.rollout_status_ok(ns).await;
    }

    async fn rollout_status_ok(&self, ns: &str) {
        let out = self
            .ok(&["-n", ns, "rollout", "status", DEPLOY, "--timeout=60s"])
            .await;
        assert!(
            out.contains("deployment \"deal-scout-api\" successfully rolled out"),
            "{out}"
        );
    }
}

#[derive(Debug)]
struct Rs {
    name: String,
    replicas: i64,
    revision: u32,
    image: String,
}

fn rs_by_image<'a>(all: &'a [Rs], image: &str) -> &'a Rs {
    all.iter()
        .find(|r| r.image == image)
        .unwrap_or_else(|| panic!("no ReplicaSet runs {image}: {all:#?}"))
}

fn names(all: &[Rs]) -> Vec<String> {
    all.iter().map(|r| r.name.clone()).collect()
}

/// A spawned kubectl, killed (with its process group) when dropped, pass or fail.
struct Watcher(Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        kill_group(&mut self.0);
    }
}

fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // Signals only the process group we created for this child.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn spawn_or_fail(mut cmd: Command) -> Child {
    match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!("{NO_KUBECTL}"),
        Err(e) => panic!("cannot run kubectl: {e}"),
    }
}

/// Reads a child's pipe to its end on a thread of its own.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// Runs `cmd` to the end off the async workers.
async fn run_blocking(cmd: Command, args: &[&str]) -> Output {
    let line = format!("kubectl {}", args.join(" "));
    match tokio::task::spawn_blocking(move || run(cmd, &line)).await {
        Ok(out) => out,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Blocking: runs `cmd` to the end, or kills it and fails after `KUBECTL_LIMIT`.
fn run(cmd: Command, line: &str) -> Output {
    let mut child = spawn_or_fail(cmd);
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for kubectl") {
            break status;
        }
        if started.elapsed() > KUBECTL_LIMIT {
            kill_group(&mut child);
            let (o, e) = (
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default(),
            );
            panic!(
                "{line} hung for more than {KUBECTL_LIMIT:?}; killed it\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&o),
                String::from_utf8_lossy(&e)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn show(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        stdout(out),
        stderr(out)
    )
}

/// A printed table: its header and rows, split on whitespace (no cell here is empty).
#[derive(Debug)]
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header))
    }

    fn row(&self, first: &str) -> &[String] {
        self.rows
            .iter()
            .find(|r| r[0] == first)
            .unwrap_or_else(|| panic!("no row {first} in {self:#?}"))
    }
}

/// The tables of `kubectl get`: one per resource kind, separated by blank lines.
fn tables(text: &str) -> Vec<Table> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut lines = block
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>());
            Table {
                header: lines.next().unwrap_or_default(),
                rows: lines.collect(),
            }
        })
        .collect()
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// 1. kubectl get

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_the_tables_kubectl_users_know() {
    let c = Cluster::start().await;
    let out = c.ok(&["get", "deploy,rs,pods"]).await;
    let t = tables(&out);
    assert_eq!(t.len(), 3, "three tables:\n{out}");

    let (deploy, rs, pods) = (&t[0], &t[1], &t[2]);
    assert_eq!(
        deploy.header,
        words(&["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]),
        "{out}"
    );
    assert_eq!(deploy.rows.len(), 1, "{out}");
    assert_eq!(
        deploy.rows[0][..4],
        words(&["deployment.apps/deal-scout-api", "2/2", "2", "2"]),
        "{out}"
    );
    assert!(
        out.contains("deployment.apps/deal-scout-api   2/2     2            2"),
        "{out}"
    );

    assert_eq!(
        rs.header,
        words(&["NAME", "DESIRED", "CURRENT", "READY", "AGE"]),
        "{out}"
    );
    assert_eq!(
        rs.rows.len(),
        2,
        "two ReplicaSets (1.2.1 and 1.2.2):\n{out}"
    );
    let mut counts: Vec<&[String]> = rs.rows.iter().map(|r| &r[1..4]).collect();
    counts.sort();
    assert_eq!(
        counts,
        [words(&["0", "0", "0"]), words(&["2", "2", "2"])],
        "{out}"
    );
    let current = rs
        .rows
        .iter()
        .find(|r| r[1] == "2")
        .map(|r| r[0].trim_start_matches("replicaset.apps/").to_string())
        .unwrap();
    assert!(current.starts_with("deal-scout-api-"), "{out}");

    assert_eq!(
        pods.header,
        words(&["NAME", "READY", "STATUS", "RESTARTS", "AGE"]),
        "{out}"
    );
    assert_eq!(pods.rows.len(), 2, "{out}");
    for pod in &pods.rows {
        assert!(
            pod[0].starts_with(&format!("pod/{current}-")),
            "pods of the current RS:\n{out}"
        );
        assert_eq!(pod[1..4], words(&["1/1", "Running", "0"]), "{out}");
    }

    let wide = c.ok(&["get", "deploy", "-o", "wide"]).await;
    let t = tables(&wide);
    assert_eq!(
        t[0].header,
        words(&[
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]),
        "{wide}"
    );
    let row = t[0].row("deal-scout-api");
    assert_eq!(row[1..4], words(&["2/2", "2", "2"]), "{wide}");
    assert_eq!(
        row[5..],
        words(&["api", "deal-scout-api:1.2.2", "app=deal-scout-api"]),
        "{wide}"
    );
    c.stop().await;
}

// ---------------------------------------------------------------------------------------
// 2. set image + rollout status

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_image_then_rollout_status_succeeds() {
    let c = Cluster::start().await;
    let set = c
        .ok(&["set", "image", DEPLOY, "api=deal-scout-api:1.2.3"])
        .await;
    assert!(
        set.contains("deployment.apps/deal-scout-api image updated"),
        "{set}"
    );
    let status = c
        .kubectl(&["rollout", "status", DEPLOY, "--timeout=60s"])
        .await;
    assert!(status.status.success(), "{}", show(&status));
    assert!(
        stdout(&status).contains("deployment \"deal-scout-api\" successfully rolled out"),
        "{}",
        show(&status)
    );

    let image = c
        .ok(&[
            "get",
            "deploy",
            "deal-scout-api",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(image, "deal-scout-api:1.2.3");
    let out = c.ok(&["get", "deploy"]).await;
    assert_eq!(
        tables(&out)[0].row("deal-scout-api")[1..4],
        words(&["2/2", "2", "2"]),
        "{out}"
    );
    c.stop().await;
}

// ---------------------------------------------------------------------------------------
// 3. rollout history

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_history_shows_change_causes() {
    let c = Cluster::start().await;
    assert_eq!(
        c.history("staging").await,
        [(1, "release 1.2.1".into()), (2, "release 1.2.2".into())]
    );

    // The order the Kubernetes docs give: update, then annotate. The controller copies the
    // Deployment's annotations onto its *current* ReplicaSet, so annotating first would
    // relabel revision 2 as well (as a real cluster does).
    c.ok(&["set", "image", DEPLOY, "api=deal-scout-api:1.2.3"])
        .await;
    let annotated = c
        .ok(&[
            "annotate",
            DEPLOY,
            "kubernetes.io/change-cause=release 1.2.3",
            "--overwrite",
        ])
        .await;
    assert!(
        // kubectl 1.27 prints "annotate" (kubernetes/kubectl#1462).
        annotated.contains("deployment.apps/deal-scout-api annotate"),
        "{annotated}"
    );
    c.rollout_status_ok("staging").await;
    assert_eq!(
        c.history("staging").await,
        [
            (1, "release 1.2.1".into()),
            (2, "release 1.2.2".into()),
            (3, "release 1.2.3".into())
        ]
    );
    c.stop().await;
}

// ---------------------------------------------------------------------------------------
// 4. rollout undo

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_undo_revives_the_old_replica_set() {
    let c = Cluster::start().await;
    c.deploy("staging", "deal-scout-api:1.2.3").await;
    let before = c.replica_sets("staging").await;
    assert_eq!(before.len(), 3, "{before:#?}");
    assert_eq!(rs_by_image(&before, "deal-scout-api:1.2.3").replicas, 2);
    assert_eq!(rs_by_image(&before, "deal-scout-api:1.2.2").replicas, 0);

    // Back to the previous revision (2, 1.2.2): its RS comes back as revision 4.
    let undo = c.ok(&["rollout", "undo", DEPLOY]).await;
    assert!(
        undo.contains("deployment.apps/deal-scout-api rolled back"),
        "{undo}"
    );
    c.rollout_status_ok("staging").await;
    let after = c.replica_sets("staging").await;
    assert_eq!(
        names(&after),
        names(&before),
        "no new ReplicaSet: {after:#?}"
    );
    let revived = rs_by_image(&after, "deal-scout-api:1.2.2");
    assert_eq!(
        revived.name,
        rs_by_image(&before, "deal-scout-api:1.2.2").name
    );
    assert_eq!(revived.replicas, 2, "{after:#?}");
    assert_eq!(revived.revision, 4, "{after:#?}");
    assert_eq!(rs_by_image(&after, "deal-scout-api:1.2.3").replicas, 0);
    let revisions: Vec<u32> = c.history("staging").await.iter().map(|r| r.0).collect();
    assert_eq!(revisions, [1, 3, 4], "revision 2 renumbered to 4");
    let image = c
        .ok(&[
            "get",
            "deploy",
            "deal-scout-api",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(image, "deal-scout-api:1.2.2");

    // Back to revision 1 (1.2.1) by number: the oldest RS comes back as revision 5.
    let undo = c.ok(&["rollout", "undo", DEPLOY, "--to-revision=1"]).await;
    assert!(
        undo.contains("deployment.apps/deal-scout-api rolled back"),
        "{undo}"
    );
    c.rollout_status_ok("staging").await;
    let last = c.replica_sets("staging").await;
    assert_eq!(names(&last), names(&before), "no new ReplicaSet: {last:#?}");
    let oldest = rs_by_image(&last, "deal-scout-api:1.2.1");
    assert_eq!(
        oldest.name,
        rs_by_image(&before, "deal-scout-api:1.2.1").name
    );
    assert_eq!(oldest.replicas, 2, "{last:#?}");
    assert_eq!(oldest.revision, 5, "{last:#?}");
    assert_eq!(rs_by_image(&last, "deal-scout-api:1.2.2").replicas, 0);
    let history = c.history("staging").await;
    assert_eq!(
        history,
        [
            (3, "release 1.2.2".into()),
            (4, "release 1.2.2".into()),
            (5, "release 1.2.1".into())
        ]
    );

    let missing = c
        .kubectl(&["rollout", "undo", DEPLOY, "--to-revision=99"])
        .await;
    assert!(!missing.status.success(), "{}", show(&missing));
    assert!(
        stderr(&missing).contains("unable to find specified revision 99 in history"),
        "{}",
        show(&missing)
    );
    c.stop().await;
}

// ---------------------------------------------------------------------------------------
// 5. a crashing release

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashloop_exceeds_the_progress_deadline() {
    let c = Cluster::start().await;
    c.ok(&["set", "image", DEPLOY, "api=deal-scout-api:1.2.3-crashloop"])
        .await;
    let started = Instant::now();
    let status = c
        .kubectl(&["rollout", "status", DEPLOY, "--timeout=90s"])
        .await;
    assert!(!status.status.success(), "{}", show(&status));
    assert!(
        stderr(&status).contains("deployment \"deal-scout-api\" exceeded its progress deadline"),
        "{}",
        show(&status)
    );
    // 600 simulated seconds at speed 60.
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "the deadline took {:?}",
        started.elapsed()
    );

    let out = c.ok(&["get", "pods"]).await;
    let t = &tables(&out)[0];
    let (status_col, restarts_col) = (t.col("STATUS"), t.col("RESTARTS"));
    let crashing: Vec<&Vec<String>> = t
        .rows
        .iter()
        .filter(|r| r[status_col] == "CrashLoopBackOff")
        .collect();
    assert!(!crashing.is_empty(), "a CrashLoopBackOff pod:\n{out}");
    for pod in crashing {
        assert_eq!(pod[1], "0/1", "{out}");
        let restarts: u32 = pod[restarts_col].parse().expect("restart count");
        assert!(restarts > 0, "{out}");
    }
    // The old pods keep serving.
    let running = t.rows.iter().filter(|r| r[status_col] == "Running").count();
    assert!(running >= 1, "{out}");
    c.stop().await;
}

// ---------------------------------------------------------------------------------------
// 6. get pods -w

const POD_NAMES: &str = "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}";

/// `kubectl get pods -w` in staging, with every line it printed kept for failure messages.
struct PodWatch {
    _kubectl: Watcher,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl PodWatch {
    /// Starts the watch and waits for its first listing: the header and both pods.
    async fn start(c: &Cluster) -> Self {
        let (kubectl, lines) = c.spawn(&["get", "pods", "-w"]);
        let mut w = Self {
            _kubectl: kubectl,
            lines,
            seen: Vec::new(),
        };
        while w.seen.len() < 3 {
            w.next().await;
        }
        assert!(w.seen[0].starts_with("NAME "), "{}", w.output());
        w
    }

    /// The next line, within 20 s.
    async fn next(&mut self) -> String {
        let line = match tokio::time::timeout(Duration::from_secs(20), self.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the watch ended; output:\n{}", self.output()),
            Err(_) => panic!("no watch output within 20 s; so far:\n{}", self.output()),
        };
        self.seen.push(line.clone());
        line
    }

    fn output(&self) -> String {
        self.seen.join("\n")
    }
}

/// Deletes one of the two staging pods under `watch`; returns (deleted, replacement) once
/// the watch prints a new pod of the same ReplicaSet (within 20 s).
async fn replace_a_pod(c: &Cluster, watch: &mut PodWatch) -> (String, String) {
    let pods = c.ok(&["get", "pods", "-o", POD_NAMES]).await;
    let pods: Vec<&str> = pods.lines().collect();
    assert_eq!(pods.len(), 2, "{pods:?}");
    let victim = pods[0].to_string();
    let rs = victim.rsplit_once('-').expect("pod name <rs>-<suffix>").0;

    let deleted = c.ok(&["delete", "pod", &victim]).await;
    assert!(
        deleted.contains(&format!("pod \"{victim}\" deleted")),
        "{deleted}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            Instant::now() < deadline,
            "no replacement pod within 20 s:\n{}",
            watch.output()
        );
        let line = watch.next().await;
        let name = line.split_whitespace().next().unwrap_or_default();
        if name.starts_with(&format!("{rs}-")) && !pods.contains(&name) {
            return (victim, name.to_string());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_shows_the_replacement_pod() {
    let c = Cluster::start().await;
    let mut watch = PodWatch::start(&c).await;
    let (victim, replacement) = replace_a_pod(&c, &mut watch).await;
    drop(watch);

    let now = c.ok(&["get", "pods", "-o", POD_NAMES]).await;
    assert!(now.lines().any(|p| p == replacement), "{now}");
    assert!(!now.lines().any(|p| p == victim), "{now}");
    c.stop().await;
}

/// Watch rows of a new pod: a status from the first row (pods start Pending), and ages
/// counted at each event's time rather than the watch's start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_rows_of_a_new_pod_show_status_and_age() {
    let c = Cluster::start().await;
    let mut watch = PodWatch::start(&c).await;
    let (_, replacement) = replace_a_pod(&c, &mut watch).await;
    let mut rows = vec![watch.seen.last().cloned().unwrap_or_default()];
    while !rows.last().is_some_and(|r| r.contains(" Running ")) {
        let line = watch.next().await;
        if line.starts_with(&replacement) {
            rows.push(line);
        }
    }
    for row in &rows {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cells.len(),
            5,
            "NAME READY STATUS RESTARTS AGE:\n{}",
            watch.output()
        );
        assert_ne!(cells[4], "<invalid>", "{}", watch.output());
    }
    drop(watch);
    c.stop().await;
}

// ---------------------------------------------------------------------------------------
// 7. migration Jobs

fn job_yaml(name: &str, image: &str) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: {image}
        command: [\"alembic\", \"upgrade\", \"head\"]
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_jobs_complete_or_fail() {
    let c = Cluster::start().await;
    let good = c.dir.path().join("migrate.yaml");
    std::fs::write(&good, job_yaml("migrate-1-2-3", "deal-scout-api:1.2.3")).unwrap();
    let bad = c.dir.path().join("migrate-fail.yaml");
    std::fs::write(
        &bad,
        job_yaml("migrate-1-2-3-migfail", "deal-scout-api:1.2.3-migfail"),
    )
    .unwrap();

    let created = c
        .ok(&["create", "-f", good.to_str().unwrap(), "--validate=false"])
        .await;
    assert!(
        created.contains("job.batch/migrate-1-2-3 created"),
        "{created}"
    );
    let done = c
        .ok(&[
            "wait",
            "--for=condition=complete",
            "job/migrate-1-2-3",
            "--timeout=60s",
        ])
        .await;
    assert!(
        done.contains("job.batch/migrate-1-2-3 condition met"),
        "{done}"
    );
    let logs = c.ok(&["logs", "job/migrate-1-2-3"]).await;
    assert!(logs.contains("[alembic.runtime.migration]"), "{logs}");
    assert!(logs.contains("Running upgrade"), "{logs}");

    c.ok(&["create", "-f", bad.to_str().unwrap(), "--validate=false"])
        .await;
    let failed = c
        .ok(&[
            "wait",
            "--for=condition=failed",
            "job/migrate-1-2-3-migfail",
            "--timeout=60s",
        ])
        .await;
    assert!(
        failed.contains("job.batch/migrate-1-2-3-migfail condition met"),
        "{failed}"
    );
    let out = c.ok(&["get", "jobs"]).await;
    let t = &tables(&out)[0];
    let completions = t.col("COMPLETIONS");
    assert_eq!(t.row("migrate-1-2-3")[completions], "1/1", "{out}");
    assert_eq!(t.row("migrate-1-2-3-migfail")[completions], "0/1", "{out}");
    let complete = c
        .ok(&[
            "get",
            "job",
            "migrate-1-2-3-migfail",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Complete\")].status}",
        ])
        .await;
    assert_eq!(complete, "", "the failed Job is not Complete");
    let logs = c.ok(&["logs", "job/migrate-1-2-3-migfail"]).await;
    assert!(logs.contains("FAILED"), "{logs}");
    c.stop().await;
}

// ---------------------------------------------------------------------------------------
// 8. ConfigMaps

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmap_create_get_delete() {
    let c = Cluster::start().await;
    let file = c.dir.path().join("cm.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release-state\ndata:\n  key: \"hello sandbox\"\n",
    )
    .unwrap();
    let created = c
        .ok(&["create", "-f", file.to_str().unwrap(), "--validate=false"])
        .await;
    assert!(
        created.contains("configmap/release-state created"),
        "{created}"
    );
    let value = c
        .ok(&["get", "cm", "release-state", "-o", "jsonpath={.data.key}"])
        .await;
    assert_eq!(value, "hello sandbox");

    let deleted = c.ok(&["delete", "cm", "release-state"]).await;
    assert!(
        deleted.contains("configmap \"release-state\" deleted"),
        "{deleted}"
    );
    let gone = c.kubectl(&["get", "cm", "release-state"]).await;
    assert!(!gone.status.success(), "{}", show(&gone));
    assert!(
        stderr(&gone).contains("(NotFound)") && stderr(&gone).contains("not found"),
        "{}",
        show(&gone)
    );
    c.stop().await;
}

// ---------------------------------------------------------------------------------------
// 9. cascading delete

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_deployment_cascades() {
    let c = Cluster::start().await;
    let deleted = c.ok(&["delete", "deployment", "deal-scout-api"]).await;
    assert!(
        deleted.contains("deployment.apps \"deal-scout-api\" deleted"),
        "{deleted}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = c.ok(&["get", "rs,pods", "-o", "name"]).await;
        if left.trim().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still there after 10 s:\n{left}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let none = c.kubectl(&["get", "rs,pods"]).await;
    assert!(
        stderr(&none).contains("No resources found in staging namespace."),
        "{}",
        show(&none)
    );
    // The other namespace is untouched.
    let prod = c.ok(&["-n", "production", "get", "deploy"]).await;
    assert_eq!(tables(&prod)[0].row("deal-scout-api")[1], "4/4", "{prod}");
    c.stop().await;
}
