//! What a response body holds: the objects as stored (with their type set), events in the
//! shape of the group asked for, or a Table for `kubectl get`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::resources::Resource;
use super::table::{self, IncludeObject};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Object,
    Table(IncludeObject, DateTime<Utc>),
}

impl Shape {
    /// From the request's Accept header and `includeObject` parameter.
    pub fn from_request(accept: &str, include: Option<&str>, now: DateTime<Utc>) -> Self {
        if accept.contains("as=Table") {
            Shape::Table(IncludeObject::parse(include), now)
        } else {
            Shape::Object
        }
    }

    /// The same shape, with Table ages counted to `now`.
    pub fn at(&self, now: DateTime<Utc>) -> Self {
        match self {
            Shape::Object => Shape::Object,
            Shape::Table(include, _) => Shape::Table(*include, now),
        }
    }

    pub fn one(&self, r: &Resource, obj: &Value) -> Value {
        let typed = typed(r, obj);
        match self {
            Shape::Object => typed,
            Shape::Table(include, now) => {
                let rv = obj["metadata"]["resourceVersion"].clone();
                let mut t = table::table(
                    r.plural,
                    &[typed],
                    rv.as_str().unwrap_or(""),
                    *now,
                    *include,
                );
                t["metadata"]["resourceVersion"] = rv;
                t
            }
        }
    }

    pub fn list(&self, r: &Resource, objects: &[&Value], rv: u64) -> Value {
        let items: Vec<Value> = objects.iter().map(|o| typed(r, o)).collect();
        match self {
            Shape::Object => json!({
                "kind": r.list_kind(),
                "apiVersion": r.api_version(),
                "metadata": {"resourceVersion": rv.to_string()},
                "items": items,
            }),
            Shape::Table(include, now) => {
                table::table(r.plural, &items, &rv.to_string(), *now, *include)
            }
        }
    }
}

/// The object with `apiVersion` and `kind` set as the resource's group says.
pub fn typed(r: &Resource, obj: &Value) -> Value {
    let mut o = if r.group == "events.k8s.io" {
        to_events_v1(obj)
    } else {
        obj.clone()
    };
    o["apiVersion"] = json!(r.api_version());
    o["kind"] = json!(r.kind);
    o
}

fn micro(ts: &Value) -> Value {
    match ts.as_str() {
        Some(s) => json!(s.replace('Z', ".000000Z")),
        None => Value::Null,
    }
}

/// core/v1 Event → events.k8s.io/v1 Event (one store serves both).
pub fn to_events_v1(core: &Value) -> Value {
    let mut e = json!({
        "metadata": core["metadata"],
        "eventTime": core.get("eventTime").filter(|v| !v.is_null()).cloned().unwrap_or_else(|| micro(&core["firstTimestamp"])),
        "reportingController": core.get("reportingComponent").cloned().unwrap_or_else(|| core["source"]["component"].clone()),
        "reportingInstance": core.get("reportingInstance").cloned().unwrap_or(json!("")),
        "action": core.get("action").cloned().unwrap_or_else(|| core["reason"].clone()),
        "reason": core["reason"],
        "regarding": core["involvedObject"],
        "note": core["message"],
        "type": core["type"],
        "deprecatedSource": core["source"],
        "deprecatedFirstTimestamp": core["firstTimestamp"],
        "deprecatedLastTimestamp": core["lastTimestamp"],
        "deprecatedCount": core["count"],
    });
    if let Some(series) = core.get("series") {
        e["series"] = series.clone();
    }
    if let Some(m) = e.as_object_mut() {
        m.retain(|_, v| !v.is_null());
    }
    e
}

/// events.k8s.io/v1 Event → core/v1 Event, for storing what kube-runtime's Recorder posts.
pub fn from_events_v1(v1: &Value) -> Value {
    let event_time = v1["eventTime"].as_str().map(|s| {
        // MicroTime to whole seconds for the core timestamps.
        let secs: String = s
            .split('.')
            .next()
            .unwrap_or(s)
            .trim_end_matches('Z')
            .to_string();
        format!("{secs}Z")
    });
    let mut e = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": v1["metadata"],
        "involvedObject": v1["regarding"],
        "reason": v1["reason"],
        "message": v1["note"],
        "type": v1["type"],
        "eventTime": v1["eventTime"],
        "action": v1["action"],
        "reportingComponent": v1["reportingController"],
        "reportingInstance": v1["reportingInstance"],
        "source": v1.get("deprecatedSource").cloned().unwrap_or_else(|| json!({"component": v1["reportingController"]})),
        "firstTimestamp": v1.get("deprecatedFirstTimestamp").cloned().unwrap_or(json!(event_time)),
        "lastTimestamp": v1.get("deprecatedLastTimestamp").cloned().unwrap_or(json!(event_time)),
        "count": v1.get("deprecatedCount").cloned().unwrap_or_else(|| v1["series"]["count"].clone()),
    });
    if let Some(series) = v1.get("series") {
        e["series"] = series.clone();
    }
    if e["count"].is_null() {
        e["count"] = json!(1);
    }
    if let Some(m) = e.as_object_mut() {
        m.retain(|_, v| !v.is_null());
    }
    e
}
