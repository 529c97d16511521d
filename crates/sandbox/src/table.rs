//! Server-side printing for `kubectl get`: the meta.k8s.io/v1 Table a real API server sends
//! when kubectl asks for `as=Table` (with a plain list kubectl prints only NAME and AGE).
//!
//! Cells follow kubectl 1.20's `pkg/printers/internalversion/printers.go`. Priority-1 cells
//! are always sent, as a real server does; kubectl shows them only with `-o wide`.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::selectors::LabelSelector;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    /// The `includeObject` query parameter; anything else gets the server default, Metadata.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

const NAME: &str = "Name|string|0|Name must be unique within a namespace.";
const AGE: &str = "Age|string|0|The server time when this object was created.";
const TEMPLATE: &str = "Containers|string|1|Names of each container in the template.
    Images|string|1|Images referenced by each container in the template.
    Selector|string|1|Label selector for pods.";

/// A resource's own columns, one `name|type|priority|description` per line.
fn own_columns(resource: &str) -> &'static str {
    match resource {
        "deployments" => {
            "Ready|string|0|Ready pods out of the desired replicas.
            Up-to-date|integer|0|Pods that run the desired template.
            Available|integer|0|Pods ready for at least minReadySeconds."
        }
        "replicasets" => {
            "Desired|integer|0|The number of desired replicas.
            Current|integer|0|The most recently observed number of replicas.
            Ready|integer|0|The number of ready replicas."
        }
        "pods" => {
            "Ready|string|0|The aggregate readiness state of this pod.
            Status|string|0|The aggregate status of the containers in this pod.
            Restarts|integer|0|The number of times the containers have been restarted.
            IP|string|1|IP address allocated to the pod.
            Node|string|1|The node the pod is scheduled onto."
        }
        "jobs" => {
            "Completions|string|0|The completion status of the job.
            Duration|string|0|Time required to complete the job."
        }
        "events" => {
            "Last Seen|string|0|When the event was last seen.
            Type|string|0|Type of this event (Normal, Warning).
            Reason|string|0|Why the object got into its current state.
            Object|string|0|The object this event is about.
            Message|string|0|A human-readable description of the event."
        }
        "configmaps" => "Data|integer|0|Number of keys in data and binaryData.",
        "namespaces" => "Status|string|0|The phase of the namespace.",
        "leases" => "Holder|string|0|The holder of the lease.",
        _ => "",
    }
}

/// The columnDefinitions for a resource (plural name); unknown ones get Name and Age.
pub fn columns(resource: &str) -> Value {
    let mut specs: Vec<&str> = own_columns(resource).lines().collect();
    if matches!(resource, "deployments" | "replicasets") {
        specs.extend(TEMPLATE.lines());
    }
    // kubectl 1.20 prints events without Name and Age columns.
    if resource != "events" {
        let wide = specs.iter().position(|s| s.contains("|1|"));
        specs.insert(wide.unwrap_or(specs.len()), AGE);
        specs.insert(0, NAME);
    }
    let definitions = specs.iter().map(|spec| {
        let fields: Vec<&str> = spec.trim().splitn(4, '|').collect();
        let [name, kind, priority, description] = fields[..] else {
            unreachable!("malformed column spec {spec}")
        };
        let format = if name == "Name" { "name" } else { "" };
        let priority: u8 = priority.parse().unwrap_or(0);
        json!({"name": name, "type": kind, "format": format,
               "description": description, "priority": priority})
    });
    Value::Array(definitions.collect())
}

fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn items<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn nonempty(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty())
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc))
}

/// Containers, Images and Selector of a workload's pod template.
fn template_cells(obj: &Value) -> [Value; 3] {
    let containers = items(obj, "/spec/template/spec/containers");
    let join = |field: &str| {
        let parts: Vec<&str> = containers.iter().map(|c| text(c, field)).collect();
        json!(parts.join(","))
    };
    let selector = match LabelSelector::from_selector_object(&obj["spec"]["selector"]) {
        Ok(s) => nonempty(&s.to_string()).unwrap_or("<none>").to_string(),
        Err(_) => "<error>".to_string(),
    };
    [join("/name"), join("/image"), json!(selector)]
}

fn terminated_reason(t: &Value) -> String {
    match (nonempty(text(t, "/reason")), int(t, "/signal")) {
        (Some(reason), _) => reason.to_string(),
        (None, 0) => format!("ExitCode:{}", int(t, "/exitCode")),
        (None, signal) => format!("Signal:{signal}"),
    }
}

/// Ready, Status and Restarts as kubectl's `printPod` derives them.
fn pod_status(pod: &Value) -> (String, String, i64) {
    let status = &pod["status"];
    let phase = text(status, "/phase");
    let mut reason = nonempty(text(status, "/reason"))
        .unwrap_or(phase)
        .to_string();
    let (mut restarts, mut ready) = (0, 0);
    let init_total = items(pod, "/spec/initContainers").len();
    let mut initializing = false;
    for (i, c) in items(status, "/initContainerStatuses").iter().enumerate() {
        restarts += int(c, "/restartCount");
        let terminated = &c["state"]["terminated"];
        if terminated.is_object() && int(terminated, "/exitCode") == 0 {
            continue;
        }
        let waiting = text(c, "/state/waiting/reason");
        reason = match terminated.is_object() {
            true => format!("Init:{}", terminated_reason(terminated)),
            false if !matches!(waiting, "" | "PodInitializing") => format!("Init:{waiting}"),
            false => format!("Init:{i}/{init_total}"),
        };
        initializing = true;
        break;
    }
    if !initializing {
        restarts = 0;
        let mut has_running = false;
        // Walked backwards so that the first container with a problem names the status.
        for c in items(status, "/containerStatuses").iter().rev() {
            restarts += int(c, "/restartCount");
            if let Some(waiting) = nonempty(text(c, "/state/waiting/reason")) {
                reason = waiting.to_string();
            } else if c["state"]["terminated"].is_object() {
                reason = terminated_reason(&c["state"]["terminated"]);
            } else if c["ready"] == true && c["state"]["running"].is_object() {
                has_running = true;
                ready += 1;
            }
        }
        // A finished sidecar must not make a still-serving pod look Completed.
        if reason == "Completed" && has_running {
            let conditions = items(status, "/conditions");
            let pod_ready = conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.to_string();
        }
    }
    if pod["metadata"]["deletionTimestamp"].is_string() {
        let lost = text(status, "/reason") == "NodeLost";
        reason = if lost { "Unknown" } else { "Terminating" }.to_string();
    }
    let total = items(pod, "/spec/containers").len();
    (format!("{ready}/{total}"), reason, restarts)
}

fn cells(resource: &str, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = json!(text(obj, "/metadata/name"));
    let created = nonempty(text(obj, "/metadata/creationTimestamp"));
    let age = json!(human_age(created, now));
    let count = |pointer: &str| json!(int(obj, pointer));
    let mut row = match resource {
        "deployments" => {
            let [ready, desired] = ["/status/readyReplicas", "/spec/replicas"].map(|p| int(obj, p));
            let ready = json!(format!("{ready}/{desired}"));
            let [updated, available] =
                ["/status/updatedReplicas", "/status/availableReplicas"].map(count);
            vec![name, ready, updated, available, age]
        }
        "replicasets" => {
            let [desired, current, ready] = [
                "/spec/replicas",
                "/status/replicas",
                "/status/readyReplicas",
            ]
            .map(count);
            vec![name, desired, current, ready, age]
        }
        "pods" => {
            let (ready, status, restarts) = pod_status(obj);
            let or_none = |pointer| json!(nonempty(text(obj, pointer)).unwrap_or("<none>"));
            let [ip, node] = ["/status/podIP", "/spec/nodeName"].map(or_none);
            let [ready, status, restarts] = [json!(ready), json!(status), json!(restarts)];
            vec![name, ready, status, restarts, age, ip, node]
        }
        "jobs" => {
            let succeeded = int(obj, "/status/succeeded");
            let parallelism = int(obj, "/spec/parallelism");
            let completions = match obj.pointer("/spec/completions").and_then(Value::as_i64) {
                Some(c) => format!("{succeeded}/{c}"),
                None if parallelism > 1 => format!("{succeeded}/1 of {parallelism}"),
                None => format!("{succeeded}/1"),
            };
            let start = parse_time(text(obj, "/status/startTime"));
            let end = parse_time(text(obj, "/status/completionTime")).unwrap_or(now);
            let duration = start.map_or(String::new(), |start| human_duration(end - start));
            vec![name, json!(completions), json!(duration), age]
        }
        "events" => {
            // The newest timestamp the event carries; which ones are set depends on its writer.
            let times = "/series/lastObservedTime /lastTimestamp /firstTimestamp /eventTime";
            let seen = times
                .split(' ')
                .find_map(|pointer| nonempty(text(obj, pointer)));
            let seen = json!(human_age(seen, now));
            let kind = text(obj, "/involvedObject/kind").to_lowercase();
            let target = match text(obj, "/involvedObject/name") {
                "" => json!(kind),
                involved => json!(format!("{kind}/{involved}")),
            };
            let [kind, reason, message] =
                ["/type", "/reason", "/message"].map(|p| json!(text(obj, p)));
            vec![seen, kind, reason, target, message]
        }
        "configmaps" => {
            let keys = |field: &str| obj[field].as_object().map_or(0, |m| m.len());
            vec![name, json!(keys("data") + keys("binaryData")), age]
        }
        "namespaces" => {
            let phase = nonempty(text(obj, "/status/phase")).unwrap_or("Active");
            vec![name, json!(phase), age]
        }
        "leases" => vec![name, json!(text(obj, "/spec/holderIdentity")), age],
        _ => vec![name, age],
    };
    if matches!(resource, "deployments" | "replicasets") {
        row.extend(template_cells(obj));
    }
    row
}

/// One row: `{"cells":[...],"object":...}`; `object` is PartialObjectMetadata, the whole
/// object, or null, following `include`.
pub fn row(resource: &str, obj: &Value, now: DateTime<Utc>, include: IncludeObject) -> Value {
    let object = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
        IncludeObject::Object => obj.clone(),
    };
    json!({"cells": cells(resource, obj, now), "object": object})
}

/// The whole Table for a list.
pub fn table(
    resource: &str,
    objects: &[Value],
    resource_version: &str,
    now: DateTime<Utc>,
    include: IncludeObject,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| row(resource, o, now, include))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns(resource),
        "rows": rows,
    })
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
fn human_duration(d: TimeDelta) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        parse_time("2024-05-01T12:00:00Z").unwrap()
    }

    fn meta(name: &str) -> Value {
        json!({"name": name, "namespace": "prod", "creationTimestamp": "2024-05-01T11:55:00Z"})
    }

    /// The row's cells as compact JSON, so integers and strings are told apart.
    fn cells(resource: &str, obj: Value) -> String {
        row(resource, &obj, now(), IncludeObject::None)["cells"].to_string()
    }

    #[test]
    fn human_age_boundaries() {
        let cases = "0 0s|-1 0s|-2 <invalid>|119 119s|120 2m|150 2m30s|599 9m59s|600 10m|\
                     10799 179m|10800 3h|11100 3h5m|28799 7h59m|28800 8h|172799 47h|172800 2d|\
                     180000 2d2h|691199 7d23h|691200 8d|63071999 729d|63072000 2y|63158400 2y1d|\
                     252287999 7y364d|252288000 8y";
        for case in cases.split('|') {
            let (secs, want) = case.split_once(' ').unwrap();
            let created = (now() - TimeDelta::seconds(secs.parse().unwrap())).to_rfc3339();
            assert_eq!(human_age(Some(&created), now()), want, "{secs}");
        }
        assert_eq!(human_age(Some("2024-05-01T11:59:58.123456Z"), now()), "1s");
        assert_eq!(human_age(None, now()), "<unknown>");
        assert_eq!(human_age(Some("yesterday"), now()), "<unknown>");
    }

    #[test]
    fn column_definitions() {
        let cases = "deployments=Name:0 Ready:0 Up-to-date:0 Available:0 Age:0 TEMPLATE
            replicasets=Name:0 Desired:0 Current:0 Ready:0 Age:0 TEMPLATE
            pods=Name:0 Ready:0 Status:0 Restarts:0 Age:0 IP:1 Node:1
            jobs=Name:0 Completions:0 Duration:0 Age:0
            events=Last Seen:0 Type:0 Reason:0 Object:0 Message:0
            configmaps=Name:0 Data:0 Age:0
            namespaces=Name:0 Status:0 Age:0
            leases=Name:0 Holder:0 Age:0
            secrets=Name:0 Age:0";
        for case in cases.lines() {
            let (resource, want) = case.trim().split_once('=').unwrap();
            let cols = columns(resource);
            let cols = cols.as_array().unwrap().iter();
            let got: Vec<String> = cols
                .map(|c| format!("{}:{}", c["name"], c["priority"]))
                .collect();
            let want = want.replace("TEMPLATE", "Containers:1 Images:1 Selector:1");
            assert_eq!(got.join(" ").replace('"', ""), want);
        }
        let pods = columns("pods");
        let name = json!({"name": "Name", "type": "string", "format": "name", "priority": 0,
                          "description": "Name must be unique within a namespace."});
        assert_eq!(pods[0], name);
        assert_eq!(
            (&pods[3]["type"], &pods[3]["format"]),
            (&json!("integer"), &json!(""))
        );
    }

    #[test]
    fn workload_cells() {
        let template = json!({"spec": {"containers": [{"name": "app", "image": "nginx:1.20"},
                                                      {"name": "proxy", "image": "envoy:1"}]}});
        let selector = json!({"matchLabels": {"app": "web"}, "matchExpressions": [
                              {"key": "track", "operator": "NotIn", "values": ["canary"]}]});
        let spec = json!({"replicas": 3, "selector": selector, "template": template});
        let status = json!({"replicas": 4, "readyReplicas": 2, "updatedReplicas": 1,
                            "availableReplicas": 2});
        let deployment = json!({"metadata": meta("web"), "spec": spec, "status": status});
        let wide = r#""app,proxy","nginx:1.20,envoy:1","app=web,track notin (canary)""#;
        let want = format!(r#"["web","2/3",1,2,"5m",{wide}]"#);
        assert_eq!(cells("deployments", deployment.clone()), want);
        let want = format!(r#"["web",3,4,2,"5m",{wide}]"#);
        assert_eq!(cells("replicasets", deployment), want);
        let fresh = json!({"metadata": meta("new"), "spec": {"replicas": 2}});
        let want = r#"["new","0/2",0,0,"5m","","","<none>"]"#;
        assert_eq!(cells("deployments", fresh), want);
    }

    fn pod(phase: &str, statuses: &[&Value]) -> Value {
        let containers: Vec<Value> = (0..statuses.len().max(1))
            .map(|i| json!({"name": format!("c{i}"), "image": "nginx"}))
            .collect();
        json!({"metadata": meta("web-1"),
               "spec": {"containers": containers, "nodeName": "node-1"},
               "status": {"phase": phase, "podIP": "10.0.0.5", "containerStatuses": statuses}})
    }

    /// Ready, Status and Restarts.
    fn summary(pod: Value) -> String {
        let row = row("pods", &pod, now(), IncludeObject::None);
        let [ready, status] = [1, 2].map(|i| row["cells"][i].as_str().unwrap().to_string());
        format!("{ready} {status} {}", row["cells"][3])
    }

    #[test]
    fn pod_cells_and_status() {
        let running = json!({"ready": true, "restartCount": 1, "state": {"running": {}}});
        let want = r#"["web-1","1/1","Running",1,"5m","10.0.0.5","node-1"]"#;
        assert_eq!(cells("pods", pod("Running", &[&running])), want);
        let waiting = |reason: &str, restarts: i64| {
            json!({"ready": false, "restartCount": restarts,
                   "state": {"waiting": {"reason": reason}},
                   "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}})
        };
        let terminated = |t: Value| json!({"ready": false, "state": {"terminated": t}});
        let crash = waiting("CrashLoopBackOff", 4);
        assert_eq!(summary(pod("Running", &[&crash])), "0/1 CrashLoopBackOff 4");
        let pull = waiting("ErrImagePull", 0);
        assert_eq!(summary(pod("Pending", &[&pull])), "0/1 ErrImagePull 0");
        let creating = waiting("ContainerCreating", 0);
        let two = pod("Pending", &[&creating, &running]);
        assert_eq!(summary(two), "1/2 ContainerCreating 1");
        let exited = terminated(json!({"exitCode": 137}));
        assert_eq!(summary(pod("Failed", &[&exited])), "0/1 ExitCode:137 0");
        let signalled = terminated(json!({"exitCode": 0, "signal": 9}));
        assert_eq!(summary(pod("Failed", &[&signalled])), "0/1 Signal:9 0");
        let oom = terminated(json!({"exitCode": 137, "reason": "OOMKilled"}));
        assert_eq!(summary(pod("Failed", &[&oom])), "0/1 OOMKilled 0");
        assert_eq!(summary(pod("Pending", &[])), "0/1 Pending 0");
        let mut deleting = pod("Running", &[&running]);
        deleting["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
        assert_eq!(summary(deleting), "1/1 Terminating 1");
        let evicted = json!({"metadata": meta("e"),
                             "status": {"phase": "Failed", "reason": "Evicted"}});
        let want = r#"["e","0/0","Evicted",0,"5m","<none>","<none>"]"#;
        assert_eq!(cells("pods", evicted), want);
        // While init containers run, they alone name the status and count restarts.
        let mut init = pod("Pending", &[&waiting("PodInitializing", 0)]);
        init["spec"]["initContainers"] = json!([{"name": "migrate"}, {"name": "warm"}]);
        let done = json!({"restartCount": 2, "state": {"terminated": {"exitCode": 0}}});
        init["status"]["initContainerStatuses"] = json!([done, waiting("", 0)]);
        assert_eq!(summary(init.clone()), "0/1 Init:1/2 2");
        let failed = terminated(json!({"exitCode": 1, "reason": "Error"}));
        init["status"]["initContainerStatuses"][1] = failed;
        assert_eq!(summary(init), "0/1 Init:Error 2");
    }

    #[test]
    fn job_and_event_cells() {
        let job = |spec: Value, status: Value| {
            let metadata = meta("migrate");
            json!({"metadata": metadata, "spec": spec, "status": status})
        };
        let started = json!({"startTime": "2024-05-01T11:58:30Z", "active": 1});
        assert_eq!(
            cells("jobs", job(json!({}), started)),
            r#"["migrate","0/1","90s","5m"]"#
        );
        let done = json!({"succeeded": 2, "startTime": "2024-05-01T11:55:00Z",
                          "completionTime": "2024-05-01T12:00:30Z"});
        let done = job(json!({"completions": 2}), done);
        assert_eq!(cells("jobs", done), r#"["migrate","2/2","5m30s","5m"]"#);
        let parallel = job(json!({"parallelism": 3}), json!({}));
        assert_eq!(cells("jobs", parallel), r#"["migrate","0/1 of 3","","5m"]"#);

        let event = json!({"metadata": meta("web.1"), "type": "Normal",
                           "reason": "ScalingReplicaSet", "message": "Scaled up",
                           "involvedObject": {"kind": "Deployment", "name": "web"},
                           "firstTimestamp": "2024-05-01T11:00:00Z",
                           "lastTimestamp": "2024-05-01T11:59:15Z"});
        let want = r#"["45s","Normal","ScalingReplicaSet","deployment/web","Scaled up"]"#;
        assert_eq!(cells("events", event), want);
        let recorded = json!({"type": "Warning", "reason": "BackOff",
                              "involvedObject": {"kind": "Pod"},
                              "eventTime": "2024-05-01T11:50:00.000000Z"});
        let want = r#"["10m","Warning","BackOff","pod",""]"#;
        assert_eq!(cells("events", recorded), want);
        let series = json!({"series": {"lastObservedTime": "2024-05-01T11:59:50.000000Z"},
                            "eventTime": "2024-05-01T11:00:00.000000Z"});
        assert!(cells("events", series).starts_with(r#"["10s","#));
    }

    #[test]
    fn small_resource_cells() {
        // resource | object | the cell between Name and Age
        let cases = r#"configmaps | {"data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}} | 3
            configmaps | {} | 0
            namespaces | {} | "Active"
            namespaces | {"status": {"phase": "Terminating"}} | "Terminating"
            leases | {"spec": {"holderIdentity": "alice"}} | "alice"
            leases | {} | """#;
        for case in cases.lines() {
            let [resource, obj, cell] = case.trim().split(" | ").collect::<Vec<_>>()[..] else {
                panic!("{case}")
            };
            let mut obj: Value = serde_json::from_str(obj).unwrap();
            obj["metadata"] = meta("x");
            assert_eq!(
                cells(resource, obj),
                format!(r#"["x",{cell},"5m"]"#),
                "{case}"
            );
        }
        let unknown = json!({"metadata": {"name": "s"}});
        assert_eq!(cells("secrets", unknown), r#"["s","<unknown>"]"#);
    }

    #[test]
    fn include_object_and_table() {
        let parse = IncludeObject::parse;
        let defaults = [None, Some("Metadata"), Some("bogus")].map(parse);
        assert_eq!(defaults, [IncludeObject::Metadata; 3]);
        assert_eq!(parse(Some("None")), IncludeObject::None);
        assert_eq!(parse(Some("Object")), IncludeObject::Object);
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("state"),
                        "data": {"a": "1"}});
        let object = |include| row("configmaps", &cm, now(), include)["object"].clone();
        assert_eq!(object(IncludeObject::None), Value::Null);
        assert_eq!(object(IncludeObject::Object), cm);
        let partial = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": meta("state")});
        assert_eq!(object(IncludeObject::Metadata), partial);
        let objects = [cm.clone(), cm];
        let list = table("configmaps", &objects, "42", now(), IncludeObject::Metadata);
        assert_eq!(
            [&list["kind"], &list["apiVersion"]],
            ["Table", "meta.k8s.io/v1"]
        );
        assert_eq!(list["metadata"], json!({"resourceVersion": "42"}));
        assert_eq!(list["columnDefinitions"], columns("configmaps"));
        let want = json!({"cells": ["state", 1, "5m"], "object": partial});
        assert_eq!(list["rows"][1], want);
        let empty = table("pods", &[], "7", now(), IncludeObject::None);
        assert_eq!(empty["rows"], json!([]));
    }
}
