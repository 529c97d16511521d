//! Bad input over raw HTTP: every mistake gets the Status error a real API server gives
//! (HTTP code, and `code`/`reason`/`message` in the body), and a few hundred pseudo-random
//! requests never get a 5xx, an empty answer, or a dead server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cockpit_clock::{Clock, ScaledClock};
use cockpit_sandbox::server::{self, Running};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

const DEPLOYMENT_URL: &str = "/apis/apps/v1/namespaces/staging/deployments";
const CONFIGMAP_URL: &str = "/api/v1/namespaces/staging/configmaps";

async fn start() -> (Running, reqwest::Client) {
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(Utc::now(), 60.0));
    let running = server::start_seeded(clock, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts");
    let http = crate::http_client_builder_as(running.sandbox.release_engineer_token())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    (running, http)
}

/// The HTTP status and the Status body, checked to agree with each other.
async fn status_of(resp: reqwest::Response) -> (u16, Value) {
    let code = resp.status().as_u16();
    let ct = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = resp.text().await.expect("body");
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{code}: body is not JSON ({e}): {text:?}"));
    assert!(ct.starts_with("application/json"), "content type {ct:?}");
    if code >= 400 {
        assert_eq!(body["kind"], "Status", "{body}");
        assert_eq!(body["apiVersion"], "v1", "{body}");
        assert_eq!(body["status"], "Failure", "{body}");
        assert_eq!(body["code"], code, "the body's code matches HTTP: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    (code, body)
}

fn expect(code: u16, body: &Value, want_code: u16, want_reason: &str) {
    assert_eq!(code, want_code, "{body}");
    assert_eq!(body["reason"], want_reason, "{body}");
}

fn deployment(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.20"}]},
            },
        },
    })
}

fn causes(body: &Value) -> Vec<String> {
    body["details"]["causes"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| c["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400() {
    let (running, http) = start().await;
    let url = running.url();
    for body in [
        "{",
        "{\"metadata\": ",
        "not json",
        "\u{0}\u{1}",
        "[1,2]",
        "\"str\"",
    ] {
        let resp = http
            .post(format!("{url}{CONFIGMAP_URL}"))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (code, st) = status_of(resp).await;
        expect(code, &st, 400, "BadRequest");
    }
    // Nothing was created.
    let resp = http
        .get(format!("{url}{CONFIGMAP_URL}"))
        .send()
        .await
        .unwrap();
    let (code, list) = status_of(resp).await;
    assert_eq!(code, 200);
    assert_eq!(list["items"], json!([]));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_resource_and_missing_objects_are_404() {
    let (running, http) = start().await;
    let url = running.url();

    let resp = http
        .post(format!("{url}/api/v1/namespaces/staging/widgets"))
        .json(&json!({"metadata": {"name": "w"}}))
        .send()
        .await
        .unwrap();
    let (code, st) = status_of(resp).await;
    expect(code, &st, 404, "NotFound");
    assert_eq!(
        st["message"],
        "the server could not find the requested resource"
    );

    let resp = http
        .get(format!("{url}{DEPLOYMENT_URL}/nope"))
        .send()
        .await
        .unwrap();
    let (code, st) = status_of(resp).await;
    expect(code, &st, 404, "NotFound");
    assert_eq!(st["message"], r#"deployments.apps "nope" not found"#);
    assert_eq!(
        st["details"],
        json!({"name": "nope", "group": "apps", "kind": "deployments"})
    );

    // A create in a namespace that does not exist.
    let resp = http
        .post(format!("{url}/apis/apps/v1/namespaces/ghost/deployments"))
        .json(&deployment("web"))
        .send()
        .await
        .unwrap();
    let (code, st) = status_of(resp).await;
    expect(code, &st, 404, "NotFound");
    assert_eq!(st["message"], r#"namespaces "ghost" not found"#);

    // OpenAPI and swagger: a 404 Status, never a 500 or a dropped connection.
    for path in [
        "/openapi/v2",
        "/openapi/v3",
        "/swagger-2.0.0.pb-v1",
        "/swagger.json",
    ] {
        let resp = http
            .get(format!("{url}{path}"))
            .header(
                ACCEPT,
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            )
            .send()
            .await
            .unwrap();
        let (code, st) = status_of(resp).await;
        expect(code, &st, 404, "NotFound");
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_with_unknown_content_type_is_415() {
    let (running, http) = start().await;
    let url = running.url();
    for ct in [
        "text/plain",
        "application/json",
        "application/yaml",
        "application/x-www-form-urlencoded",
    ] {
        let resp = http
            .patch(format!("{url}{DEPLOYMENT_URL}/deal-scout-api"))
            .header(CONTENT_TYPE, ct)
            .body(r#"{"spec":{"replicas":3}}"#)
            .send()
            .await
            .unwrap();
        let (code, st) = status_of(resp).await;
        expect(code, &st, 415, "UnsupportedMediaType");
        assert!(
            st["message"]
                .as_str()
                .unwrap()
                .contains("application/strategic-merge-patch+json"),
            "{st}"
        );
    }
    // No content type at all.
    let resp = http
        .patch(format!("{url}{DEPLOYMENT_URL}/deal-scout-api"))
        .body(r#"{"spec":{"replicas":3}}"#)
        .send()
        .await
        .unwrap();
    let (code, st) = status_of(resp).await;
    expect(code, &st, 415, "UnsupportedMediaType");
    // And the deployment is unchanged.
    let resp = http
        .get(format!("{url}{DEPLOYMENT_URL}/deal-scout-api"))
        .send()
        .await
        .unwrap();
    let (_, d) = status_of(resp).await;
    assert_eq!(d["spec"]["replicas"], 2);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_objects_are_422_with_causes() {
    let (running, http) = start().await;
    let url = running.url();

    let mut d = deployment("web");
    d["spec"]["replicas"] = json!(-1);
    let resp = http
        .post(format!("{url}{DEPLOYMENT_URL}"))
        .json(&d)
        .send()
        .await
        .unwrap();
    let (code, st) = status_of(resp).await;
    expect(code, &st, 422, "Invalid");
    assert_eq!(causes(&st), ["spec.replicas"]);
    assert_eq!(
        st["message"],
        r#"Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"#
    );
    assert_eq!(st["details"]["causes"][0]["reason"], "FieldValueInvalid");
    assert_eq!(st["details"]["name"], "web");
    assert_eq!(st["details"]["group"], "apps");
    assert_eq!(st["details"]["kind"], "Deployment");

    // The same through a patch of the existing deployment.
    let resp = http
        .patch(format!("{url}{DEPLOYMENT_URL}/deal-scout-api"))
        .header(CONTENT_TYPE, "application/merge-patch+json")
        .body(r#"{"spec":{"replicas":-1}}"#)
        .send()
        .await
        .unwrap();
    let (code, st) = status_of(resp).await;
    expect(code, &st, 422, "Invalid");
    assert_eq!(causes(&st), ["spec.replicas"]);

    let mut d = deployment("web");
    d["spec"]["template"]["spec"]["containers"] = json!([{"image": "nginx:1.20"}]);
    let resp = http
        .post(format!("{url}{DEPLOYMENT_URL}"))
        .json(&d)
        .send()
        .await
        .unwrap();
    let (code, st) = status_of(resp).await;
    expect(code, &st, 422, "Invalid");
    assert!(
        causes(&st).contains(&"spec.template.spec.containers[0].name".to_string()),
        "{st}"
    );

    // A ConfigMap over 1 MiB.
    let big = "x".repeat(1024 * 1024 + 16);
    let resp = http
        .post(format!("{url}{CONFIGMAP_URL}"))
        .json(&json!({"metadata": {"name": "big"}, "data": {"blob": big}}))
        .send()
        .await
        .unwrap();
    let (code, st) = status_of(resp).await;
    expect(code, &st, 422, "Invalid");
    assert!(st["message"].as_str().unwrap().contains("Too long"), "{st}");
    // Just under the limit is fine.
    let ok = "x".repeat(1024 * 1024 - 64);
    let resp = http
        .post(format!("{url}{CONFIGMAP_URL}"))
        .json(&json!({"metadata": {"name": "almost"}, "data": {"blob": ok}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    // None of the invalid objects were stored.
    for path in [
        format!("{DEPLOYMENT_URL}/web"),
        format!("{CONFIGMAP_URL}/big"),
    ] {
        let resp = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_field_selector_is_400() {
    let (running, http) = start().await;
    let url = running.url();
    let cases = [
        (DEPLOYMENT_URL, "spec.replicas=1", "spec.replicas"),
        (
            "/api/v1/namespaces/staging/pods",
            "status.podIP=1.2.3.4",
            "status.podIP",
        ),
        (
            "/api/v1/namespaces/staging/pods",
            "metadata.labels=x",
            "metadata.labels",
        ),
    ];
    for (path, selector, field) in cases {
        for watch in [false, true] {
            let watch_query = if watch {
                "&watch=true&timeoutSeconds=1"
            } else {
                ""
            };
            let req = http.get(format!("{url}{path}?fieldSelector={selector}{watch_query}"));
            let (code, st) = status_of(req.send().await.unwrap()).await;
            expect(code, &st, 400, "BadRequest");
            assert_eq!(
                st["message"],
                format!("field label not supported: {field}"),
                "{path}?fieldSelector={selector} watch={watch}"
            );
        }
    }
    // Supported fields still select.
    let resp = http
        .get(format!(
            "{url}{DEPLOYMENT_URL}?fieldSelector=metadata.name=deal-scout-api"
        ))
        .send()
        .await
        .unwrap();
    let (code, list) = status_of(resp).await;
    assert_eq!(code, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    running.stop().await;
}

/// A small xorshift64*: deterministic, no crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }

    fn word(&mut self) -> String {
        const WORDS: &[&str] = &[
            "",
            "a",
            "deal-scout-api",
            "api",
            "fuzz",
            "UPPER",
            "x.y",
            "-bad-",
            "0",
            "-1",
            "999999999999999999999",
            "true",
            "null",
            "é",
            "日本",
            "a b",
            "%",
            "\\",
            "\"",
            "\n",
            "metadata",
            "spec",
            "status",
            "$patch",
            "$setElementOrder/containers",
            "replace",
            "delete",
            "containers",
            "name",
            "image",
            "resourceVersion",
            "1",
            "2",
        ];
        let mut s = self.pick(WORDS).to_string();
        if self.chance(20) {
            s.push_str(&format!("{:x}", self.next() % 4096));
        }
        s
    }

    fn json(&mut self, depth: u32) -> Value {
        let top = if depth == 0 { 4 } else { 7 };
        match self.below(top) {
            0 => Value::Null,
            1 => json!(self.chance(50)),
            2 => match self.below(4) {
                0 => json!(self.next() as i64),
                1 => json!(-(self.below(10) as i64)),
                2 => json!((self.next() % 1000) as f64 / 7.0),
                _ => json!(self.below(5)),
            },
            3 => json!(self.word()),
            4 | 5 => {
                let mut m = serde_json::Map::new();
                for _ in 0..self.below(5) {
                    m.insert(self.word(), self.json(depth - 1));
                }
                Value::Object(m)
            }
            _ => Value::Array((0..self.below(4)).map(|_| self.json(depth - 1)).collect()),
        }
    }

    /// A Kubernetes-shaped object with random parts, so more requests get past parsing.
    fn object(&mut self, names: &[&str]) -> Value {
        let mut obj = json!({
            "apiVersion": self.pick(&["v1", "apps/v1", "coordination.k8s.io/v1", "bogus/v9"]),
            "kind": self.pick(&["Deployment", "Pod", "ConfigMap", "Lease", "Namespace", "Widget"]),
            "metadata": {"name": self.pick(names)},
        });
        for key in ["spec", "status", "data", "metadata", "binaryData"] {
            if self.chance(40) {
                let v = self.json(3);
                if key == "metadata" {
                    if let Value::Object(m) = v {
                        for (k, v) in m {
                            obj["metadata"][k] = v;
                        }
                    }
                } else {
                    obj[key] = v;
                }
            }
        }
        if self.chance(30) {
            obj["spec"] = json!({
                "replicas": self.json(0),
                "selector": {"matchLabels": {"app": self.word()}},
                "template": {"metadata": {"labels": self.json(1)}, "spec": {"containers": [
                    {"name": self.word(), "image": self.word(), "ports": self.json(2)}
                ]}},
                "holderIdentity": self.json(0),
                "containers": self.json(2),
            });
        }
        if self.chance(20) {
            obj["metadata"]["resourceVersion"] = json!(self.pick(&["", "1", "0", "abc", "99999"]));
        }
        obj
    }

    fn json_patch(&mut self) -> Value {
        let ops = ["add", "remove", "replace", "move", "copy", "test", "bogus"];
        let paths = [
            "/spec/replicas",
            "/spec/template/spec/containers/0/image",
            "/metadata/labels/x",
            "/metadata/name",
            "/spec",
            "",
            "/",
            "/spec/template/spec/containers/-",
            "/status",
            "~1bad",
            "/metadata/resourceVersion",
        ];
        let n = self.below(4);
        Value::Array(
            (0..n)
                .map(|_| {
                    let mut op = json!({"op": self.pick(&ops), "path": self.pick(&paths)});
                    if self.chance(70) {
                        op["value"] = self.json(2);
                    }
                    if self.chance(20) {
                        op["from"] = json!(self.pick(&paths));
                    }
                    op
                })
                .collect(),
        )
    }
}

/// Whether deleting `path` (as sent, after URL normalisation: `staging/configmaps/..` is
/// `staging/`) would take away what the fuzz test reads at the end, or its namespace.
fn protected(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "v1", "namespaces", "staging", rest @ ..] => rest.is_empty() || rest[0] == "status",
        [
            "apis",
            "apps",
            "v1",
            "namespaces",
            "staging",
            "deployments",
            "deal-scout-api",
            ..,
        ] => true,
        _ => false,
    }
}

/// One pseudo-random request: (method, path and query, content type, accept, body).
struct Fuzzed {
    method: reqwest::Method,
    path: String,
    content_type: Option<&'static str>,
    accept: Option<&'static str>,
    body: Vec<u8>,
}

/// Resources the sandbox serves, by URL prefix.
const RESOURCES: &[(&str, &str)] = &[
    ("/api/v1", "pods"),
    ("/api/v1", "configmaps"),
    ("/api/v1", "events"),
    ("/apis/apps/v1", "deployments"),
    ("/apis/apps/v1", "replicasets"),
    ("/apis/batch/v1", "jobs"),
    ("/apis/coordination.k8s.io/v1", "leases"),
    ("/apis/events.k8s.io/v1", "events"),
];

/// Paths a real server does not serve: wrong group, version or resource.
const WRONG_RESOURCES: &[(&str, &str)] = &[
    ("/api/v1", "widgets"),
    ("/api/v1", "deployments"),
    ("/apis/apps/v1", "pods"),
    ("/apis/apps/v2", "deployments"),
    ("/apis/nope/v1", "things"),
    ("/api/v2", "pods"),
];

fn fuzzed(rng: &mut Rng, real: &[(String, String)]) -> Fuzzed {
    let namespaces = ["ghost", "", "UPPER", "..", "a%20b", "default"];
    let odd_names = ["fuzz-b", "", "Bad_Name", "..", "a.b.c", "%2F", "x%00y"];
    let ns = if rng.chance(75) {
        *rng.pick(&["staging", "staging", "staging", "production"])
    } else {
        *rng.pick(&namespaces)
    };
    let (prefix, resource) = if rng.chance(85) {
        *rng.pick(RESOURCES)
    } else {
        *rng.pick(WRONG_RESOURCES)
    };
    // Mostly an object that exists (in staging), of the resource the path names.
    let of_resource: Vec<&str> = real
        .iter()
        .filter(|(r, _)| r == resource)
        .map(|(_, n)| n.as_str())
        .collect();
    let name: &str = if !of_resource.is_empty() && rng.chance(65) {
        rng.pick::<&str>(&of_resource)
    } else {
        rng.pick::<&str>(&odd_names)
    };
    let pod_name: &str = {
        let pods: Vec<&str> = real
            .iter()
            .filter(|(r, _)| r == "pods")
            .map(|(_, n)| n.as_str())
            .collect();
        if rng.chance(70) {
            rng.pick::<&str>(&pods)
        } else {
            rng.pick::<&str>(&odd_names)
        }
    };
    let mut names: Vec<&str> = odd_names.to_vec();
    names.extend(real.iter().map(|(_, n)| n.as_str()));
    let base = if rng.chance(85) {
        format!("{prefix}/namespaces/{ns}/{resource}")
    } else {
        format!("{prefix}/{resource}")
    };
    let shape = rng.below(12);
    use reqwest::Method as M;
    let fitting: &[M] = match shape {
        0..=2 | 9 => &[M::GET, M::GET, M::POST],
        3..=6 | 8 => &[M::GET, M::PUT, M::PATCH, M::PATCH, M::DELETE],
        _ => &[M::GET],
    };
    let method = if rng.chance(75) {
        rng.pick(fitting).clone()
    } else {
        rng.pick(&[M::GET, M::POST, M::PUT, M::PATCH, M::DELETE])
            .clone()
    };
    let mut path = match shape {
        0..=2 => base,
        3..=5 => format!("{base}/{name}"),
        6 => format!("{base}/{name}/status"),
        7 => format!("/api/v1/namespaces/{ns}/pods/{pod_name}/log"),
        8 => {
            let sub = *rng.pick(&["scale", "exec", "bogus", "status/extra", "log"]);
            format!("{base}/{name}/{sub}")
        }
        9 => match rng.below(3) {
            0 => "/api/v1/namespaces".to_string(),
            1 => format!("/api/v1/namespaces/{ns}"),
            _ => format!("/api/v1/namespaces/{ns}/status"),
        },
        10 => rng
            .pick(&[
                "/api",
                "/apis",
                "/api/v1",
                "/apis/apps/v1",
                "/apis/apps",
                "/apis/coordination.k8s.io/v1",
                "/apis/events.k8s.io/v1",
                "/apis/batch/v1",
                "/version",
                "/openapi/v2",
                "/swagger-2.0.0.pb-v1",
                "/healthz",
                "/",
            ])
            .to_string(),
        _ => {
            // Garbage paths, never under the admin prefix.
            let n = rng.below(6);
            let mut p = String::new();
            for _ in 0..n {
                p.push('/');
                match rng.below(5) {
                    0 => p.push_str(&"z".repeat(rng.below(300))),
                    1 => p.push_str(rng.pick::<&str>(&[
                        "api",
                        "apis",
                        "v1",
                        "namespaces",
                        "%FF",
                        "%00",
                        ".",
                        "",
                        "_sandbox2",
                    ])),
                    _ => p.push_str(&rng.word().replace(['\n', '\\', '"', ' ', '%'], "q")),
                }
            }
            if p.is_empty() { "/".to_string() } else { p }
        }
    };
    // Watches and log follows stream; the few watches here end after a second.
    let mut query: Vec<String> = Vec::new();
    for _ in 0..rng.below(3) {
        let q = match rng.below(11) {
            0 => format!(
                "labelSelector={}",
                rng.pick(&[
                    "app=deal-scout-api",
                    "a in (b",
                    "!x",
                    "a!=",
                    "==",
                    "x,,y",
                    "app%20notin%20(a,b)"
                ])
            ),
            1 => format!(
                "fieldSelector={}",
                rng.pick(&[
                    "metadata.name=x",
                    "status.phase=Running",
                    "bogus=1",
                    "=",
                    "metadata.name",
                    "involvedObject.kind=Pod"
                ])
            ),
            2 => format!(
                "resourceVersion={}",
                rng.pick(&["", "0", "1", "abc", "-5", "18446744073709551616"])
            ),
            3 => format!("limit={}", rng.pick(&["0", "1", "-1", "x", "500"])),
            4 => format!(
                "tailLines={}",
                rng.pick(&["0", "5", "-1", "x", "99999999999"])
            ),
            5 => format!("sinceSeconds={}", rng.pick(&["0", "10", "-1", "x"])),
            6 => format!(
                "includeObject={}",
                rng.pick(&["Object", "None", "Metadata", "junk"])
            ),
            7 => "dryRun=All".to_string(),
            8 => format!("fieldManager={}", rng.pick(&["", "fuzz", "kubectl-set"])),
            9 => format!("previous={}", rng.pick(&["true", "false", "x"])),
            _ => format!("force={}", rng.pick(&["true", "false"])),
        };
        query.push(q);
    }
    if method == reqwest::Method::GET && rng.chance(3) {
        query.push("watch=true".into());
        query.push("timeoutSeconds=1".into());
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let body = match rng.below(6) {
        0 => Vec::new(),
        1 => rng.bytes(200),
        2 => serde_json::to_vec(&rng.json(4)).unwrap(),
        3 => serde_json::to_vec(&rng.json_patch()).unwrap(),
        _ => serde_json::to_vec(&rng.object(&names)).unwrap(),
    };
    let content_type = *rng.pick(&[
        Some("application/json"),
        Some("application/strategic-merge-patch+json"),
        Some("application/merge-patch+json"),
        Some("application/json-patch+json"),
        Some("application/apply-patch+yaml"),
        Some("application/apply-patch+yaml; charset=utf-8"),
        Some("text/plain"),
        Some("application/vnd.kubernetes.protobuf"),
        Some("garbage/type"),
        None,
    ]);
    let accept = *rng.pick(&[
        None,
        Some("application/json"),
        Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"),
        Some("application/vnd.kubernetes.protobuf,application/json"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"),
        Some("*/*"),
        Some("text/html"),
    ]);
    Fuzzed {
        method,
        path,
        content_type,
        accept,
        body,
    }
}

/// ~300 pseudo-random requests of every method and path shape with random bodies and patch
/// types: every answer is below 500 and has a body, and the server still serves afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_never_break_the_server() {
    let (running, http) = start().await;
    let url = running.url();
    // Objects of every kind in staging, for the requests to hit.
    let seeds = [
        (
            CONFIGMAP_URL,
            json!({"metadata": {"name": "fuzz-a"}, "data": {"k": "v"}}),
        ),
        (
            "/apis/coordination.k8s.io/v1/namespaces/staging/leases",
            json!({"metadata": {"name": "release-lock"}, "spec": {"holderIdentity": "a"}}),
        ),
        (
            "/apis/batch/v1/namespaces/staging/jobs",
            json!({"metadata": {"name": "migrate"}, "spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "m", "image": "deal-scout-api:1.2.2"}],
            }}}}),
        ),
    ];
    for (path, obj) in seeds {
        let resp = http
            .post(format!("{url}{path}"))
            .json(&obj)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{path}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut real: Vec<(String, String)> = Vec::new();
    for (prefix, resource) in RESOURCES {
        let resp = http
            .get(format!("{url}{prefix}/namespaces/staging/{resource}"))
            .send()
            .await
            .unwrap();
        let (_, list) = status_of(resp).await;
        for o in list["items"].as_array().unwrap() {
            let name = o["metadata"]["name"].as_str().unwrap().to_string();
            real.push((resource.to_string(), name));
        }
    }
    for kind in [
        "deployments",
        "replicasets",
        "pods",
        "configmaps",
        "leases",
        "jobs",
        "events",
    ] {
        assert!(real.iter().any(|(r, _)| r == kind), "no {kind} in {real:?}");
    }
    let seed = std::env::var("SANDBOX_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe_f00d_d00d_u64);
    let mut rng = Rng(seed | 1);
    let started = Instant::now();
    let budget = Duration::from_secs(90);
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    let mut failures = Vec::new();
    let mut sent = 0;
    for i in 0..300 {
        assert!(started.elapsed() < budget, "fuzzing took over {budget:?}");
        let f = fuzzed(&mut rng, &real);
        // A URL reqwest itself refuses is not the server's business.
        let Ok(target) = reqwest::Url::parse(&format!("{url}{}", f.path)) else {
            continue;
        };
        let method = if f.method == reqwest::Method::DELETE && protected(target.path()) {
            reqwest::Method::GET
        } else {
            f.method.clone()
        };
        let mut req = http.request(method.clone(), target).body(f.body.clone());
        if let Some(ct) = f.content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        if let Some(a) = f.accept {
            req = req.header(ACCEPT, a);
        }
        let what = format!(
            "#{i} {} {} (content-type {:?}, body {:?})",
            method,
            f.path,
            f.content_type,
            String::from_utf8_lossy(&f.body[..f.body.len().min(200)])
        );
        sent += 1;
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{what}: no answer: {e}"));
                continue;
            }
        };
        let code = resp.status().as_u16();
        *by_status.entry(code).or_default() += 1;
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{what}: body failed: {e}"));
                continue;
            }
        };
        if code >= 500 {
            failures.push(format!("{what}: {code} {}", String::from_utf8_lossy(&body)));
        }
        // Logs may be legitimately empty (no lines yet, tailLines=0), and so may a watch
        // that timed out without events; nothing else is.
        let is_log = f
            .path
            .split('?')
            .next()
            .unwrap_or_default()
            .ends_with("/log");
        let is_watch = f.path.contains("watch=true");
        if body.is_empty() && !((is_log || is_watch) && code == 200) {
            failures.push(format!("{what}: {code} with an empty body"));
        }
        if code >= 400 && !body.is_empty() {
            match serde_json::from_slice::<Value>(&body) {
                Ok(st) if st["kind"] == "Status" && st["code"] == code => {}
                _ => failures.push(format!(
                    "{what}: {code} without a matching Status body: {}",
                    String::from_utf8_lossy(&body)
                )),
            }
        }
    }
    eprintln!(
        "{sent} requests in {:?}, by status: {by_status:?}",
        started.elapsed()
    );
    assert!(sent >= 250, "only {sent} requests were sent");
    assert!(
        failures.is_empty(),
        "{} bad answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Enough variety to mean something.
    let successes: usize = by_status.range(..300).map(|(_, n)| n).sum();
    assert!(successes >= 20, "{by_status:?}");
    assert!(
        by_status.keys().filter(|c| **c >= 400).count() >= 4,
        "{by_status:?}"
    );

    let resp = http
        .get(format!("{url}{DEPLOYMENT_URL}/deal-scout-api"))
        .send()
        .await
        .unwrap();
    let (code, d) = status_of(resp).await;
    assert_eq!(code, 200);
    assert_eq!(d["metadata"]["name"], "deal-scout-api");
    // The controllers are alive too: a new Deployment is rolled out.
    assert!(
        controllers_roll_out(&http, &url, "after-fuzz").await,
        "the controllers no longer act after the fuzzing"
    );
    running.stop().await;
}

/// Creates a one-replica Deployment in staging and waits (10 s at most) for the controllers to
/// observe it and make it available.
async fn controllers_roll_out(http: &reqwest::Client, url: &str, name: &str) -> bool {
    let resp = http
        .post(format!("{url}{DEPLOYMENT_URL}"))
        .json(&deployment(name))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let resp = http
            .get(format!("{url}{DEPLOYMENT_URL}/{name}"))
            .send()
            .await
            .unwrap();
        let (_, d) = status_of(resp).await;
        if d["status"]["observedGeneration"] == d["metadata"]["generation"]
            && d["status"]["availableReplicas"] == 1
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Fields of the wrong JSON type (a string where an object goes, replicas beyond int32) are
/// refused with a Status, as the real API server's decoder does; they never reach the
/// handler's or the controllers' code that expects objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_of_the_wrong_type_are_refused_and_the_controllers_keep_running() {
    let (running, http) = start().await;
    let url = running.url();
    let d = format!("{DEPLOYMENT_URL}/deal-scout-api");
    let cases: &[(&str, String, &str, &str)] = &[
        (
            "POST",
            DEPLOYMENT_URL.into(),
            "application/json",
            r#"{"metadata":{"name":"x"},"spec":true}"#,
        ),
        (
            "POST",
            CONFIGMAP_URL.into(),
            "application/json",
            r#"{"metadata":"x"}"#,
        ),
        (
            "PUT",
            format!("{CONFIGMAP_URL}/x"),
            "application/json",
            r#"{"metadata":[1]}"#,
        ),
        (
            "POST",
            "/api/v1/namespaces/staging/pods".into(),
            "application/json",
            r#"{"metadata":{"name":"p"},"spec":{"containers":[true]}}"#,
        ),
        (
            "POST",
            "/apis/batch/v1/namespaces/staging/jobs".into(),
            "application/json",
            r#"{"metadata":{"name":"j"},"spec":{"template":5}}"#,
        ),
        (
            "PATCH",
            d.clone(),
            "application/merge-patch+json",
            r#"{"metadata":"x"}"#,
        ),
        (
            "PATCH",
            d.clone(),
            "application/json-patch+json",
            r#"[{"op":"replace","path":"","value":7}]"#,
        ),
        (
            "PATCH",
            d.clone(),
            "application/json-patch+json",
            r#"[{"op":"copy","from":"/spec/replicas","path":"/spec/template"}]"#,
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, ct, body) in cases {
        let resp = http
            .request(method.parse().unwrap(), format!("{url}{path}"))
            .header(CONTENT_TYPE, *ct)
            .body(*body)
            .send()
            .await;
        match resp {
            Ok(r) if (400..500).contains(&r.status().as_u16()) => {}
            Ok(r) => wrong.push(format!("{method} {path} {body}: {}", r.status())),
            Err(e) => wrong.push(format!("{method} {path} {body}: no answer ({e})")),
        }
    }
    // Accepted, then fatal to the controllers: replicas beyond int32 (a real server answers
    // 400, the field is an int32) overflow `resolve`'s `pct * replicas`.
    let mut huge = deployment("huge");
    huge["spec"]["replicas"] = json!(7_186_384_098_661_717_204_i64);
    let resp = http
        .post(format!("{url}{DEPLOYMENT_URL}"))
        .json(&huge)
        .send()
        .await
        .unwrap();
    if resp.status().is_success() && !controllers_roll_out(&http, &url, "after-huge").await {
        wrong.push("replicas 7186384098661717204: accepted, and the controllers stopped".into());
    }
    // Accepted, then fatal to the controllers: template labels that are not a map.
    let resp = http
        .patch(format!("{url}{d}?fieldManager=fuzz"))
        .header(CONTENT_TYPE, "application/apply-patch+yaml")
        .body(r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"deal-scout-api"},"spec":{"template":{"metadata":{"labels":"z"}}}}"#)
        .send()
        .await
        .unwrap();
    if resp.status().is_success() && !controllers_roll_out(&http, &url, "after-bad-labels").await {
        wrong.push(
            "apply with spec.template.metadata.labels \"z\": accepted, and the controllers stopped"
                .into(),
        );
    }
    running.stop().await;
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Methods a path does not support get 405: DELETE on `pods/X/log` or `X/status` must not
/// act on the object itself, and discovery documents are read-only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_a_path_does_not_support_are_refused() {
    let (running, http) = start().await;
    let url = running.url();
    let resp = http
        .get(format!("{url}/api/v1/namespaces/staging/pods"))
        .send()
        .await
        .unwrap();
    let (_, pods) = status_of(resp).await;
    let pod = pods["items"][0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let mut wrong = Vec::new();
    for (method, path) in [
        (
            "DELETE",
            format!("/api/v1/namespaces/staging/pods/{pod}/log"),
        ),
        ("PUT", format!("/api/v1/namespaces/staging/pods/{pod}/log")),
        ("DELETE", format!("{DEPLOYMENT_URL}/deal-scout-api/scale")),
        ("DELETE", format!("{DEPLOYMENT_URL}/deal-scout-api/status")),
        ("DELETE", "/apis/batch/v1".to_string()),
        ("POST", "/version".to_string()),
        ("PUT", "/api".to_string()),
    ] {
        let resp = http
            .request(method.parse().unwrap(), format!("{url}{path}"))
            .header(CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        if resp.status().is_success() {
            wrong.push(format!("{method} {path}: {}", resp.status()));
        }
    }
    let resp = http
        .get(format!("{url}/api/v1/namespaces/staging/pods/{pod}"))
        .send()
        .await
        .unwrap();
    if resp.status() != 200 {
        wrong.push(format!("the pod is gone after DELETE .../{pod}/log"));
    }
    let resp = http
        .get(format!("{url}{DEPLOYMENT_URL}/deal-scout-api"))
        .send()
        .await
        .unwrap();
    if resp.status() != 200 {
        wrong.push("the deployment is gone after DELETE .../deal-scout-api/status".into());
    }
    running.stop().await;
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
