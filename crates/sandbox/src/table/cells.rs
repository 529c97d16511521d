//! Each resource kind's cells, in the order of its columns.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::age::{human_age, human_duration, parse_time};
use super::fields::{int, items, nonempty, text};
use super::pod_status::pod_status;
use crate::selectors::LabelSelector;

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

pub(super) fn cells(resource: &str, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
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
