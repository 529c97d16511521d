//! core/v1 Events as controllers and the kubelet emit them: repeats of the same reason and
//! message on the same object are counted on one Event rather than piled up.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::naming;
use super::resources::lookup;
use super::store::{Store, WriteTo, name_of, timestamp};

pub struct Source<'a> {
    pub component: &'a str,
}

pub fn emit(
    store: &mut Store,
    now: DateTime<Utc>,
    involved: &Value,
    warning: bool,
    reason: &str,
    message: &str,
    source: Source,
) {
    let r = lookup("", "v1", "events").expect("events are served");
    let ns = involved["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let uid = involved["metadata"]["uid"].as_str().unwrap_or_default();
    // Named by what it is about, so a repeat is found by name rather than by a scan.
    let name = format!(
        "{}.{:016x}",
        name_of(involved),
        naming::fnv64(format!("{uid}\0{reason}\0{message}").as_bytes())
    );
    let existing = store.get("events", &ns, &name).cloned();
    if let Some(mut e) = existing {
        let count = e["count"].as_i64().unwrap_or(1) + 1;
        e["count"] = json!(count);
        e["lastTimestamp"] = json!(timestamp(now));
        let name = name_of(&e).to_string();
        e["metadata"]["resourceVersion"] = json!("");
        let _ = store.update(r, &ns, &name, e, WriteTo::Main);
        return;
    }
    let kind = involved["kind"].as_str().unwrap_or_default();
    let api_version = involved["apiVersion"].as_str().unwrap_or("v1");
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": name,
            "namespace": ns,
        },
        "involvedObject": {
            "apiVersion": api_version,
            "kind": kind,
            "name": name_of(involved),
            "namespace": involved["metadata"]["namespace"],
            "uid": uid,
            "resourceVersion": involved["metadata"]["resourceVersion"],
        },
        "reason": reason,
        "message": message,
        "type": if warning { "Warning" } else { "Normal" },
        "source": {"component": source.component},
        "firstTimestamp": timestamp(now),
        "lastTimestamp": timestamp(now),
        "count": 1,
        "reportingComponent": source.component,
        "reportingInstance": "",
    });
    let _ = store.create(r, &ns, event, now);
}
