//! The 422s a real API server gives for the mistakes a client can make here.

use serde_json::Value;

use super::errors::ApiError;
use super::resources::Resource;
use super::store::name_of;

/// The largest ConfigMap the API server stores.
pub const MAX_CONFIGMAP_BYTES: usize = 1024 * 1024;

fn dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn containers(spec: &Value, path: &str, causes: &mut Vec<(String, String)>) {
    match spec["containers"].as_array() {
        Some(cs) if !cs.is_empty() => {
            for (i, c) in cs.iter().enumerate() {
                if c["name"].as_str().is_none_or(str::is_empty) {
                    causes.push((
                        format!("{path}.containers[{i}].name"),
                        "Required value".into(),
                    ));
                }
                if c["image"].as_str().is_none_or(str::is_empty) {
                    causes.push((
                        format!("{path}.containers[{i}].image"),
                        "Required value".into(),
                    ));
                }
            }
        }
        _ => causes.push((format!("{path}.containers"), "Required value".into())),
    }
}

fn replicas(spec: &Value, causes: &mut Vec<(String, String)>) {
    if let Some(n) = spec.get("replicas").and_then(Value::as_i64) {
        if n < 0 {
            causes.push((
                "spec.replicas".into(),
                format!("Invalid value: {n}: must be greater than or equal to 0"),
            ));
        }
    } else if spec.get("replicas").is_some_and(|v| !v.is_null()) {
        causes.push((
            "spec.replicas".into(),
            "Invalid value: must be an integer".into(),
        ));
    }
}

pub fn check(r: &Resource, obj: &Value) -> Result<(), ApiError> {
    let name = name_of(obj);
    let mut causes = Vec::new();
    if !name.is_empty() && !dns_subdomain(name) {
        causes.push((
            "metadata.name".into(),
            format!("Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"),
        ));
    }
    match r.plural {
        "deployments" | "replicasets" => {
            let spec = &obj["spec"];
            replicas(spec, &mut causes);
            containers(&spec["template"]["spec"], "spec.template.spec", &mut causes);
            if r.plural == "deployments" && !spec["selector"].is_object() {
                causes.push(("spec.selector".into(), "Required value".into()));
            }
            let selects = super::selectors::LabelSelector::from_selector_object(&spec["selector"])
                .map(|s| s.matches(spec["template"]["metadata"]["labels"].as_object()));
            if spec["selector"].is_object() && selects != Ok(true) {
                causes.push((
                    "spec.template.metadata.labels".into(),
                    "Invalid value: `selector` does not match template `labels`".into(),
                ));
            }
        }
        "jobs" => containers(
            &obj["spec"]["template"]["spec"],
            "spec.template.spec",
            &mut causes,
        ),
        "pods" => containers(&obj["spec"], "spec", &mut causes),
        "configmaps" => {
            let size = serde_json::to_vec(&obj["data"]).map_or(0, |v| v.len())
                + serde_json::to_vec(&obj["binaryData"]).map_or(0, |v| v.len());
            if size > MAX_CONFIGMAP_BYTES {
                causes.push((
                    String::new(),
                    format!("Too long: must have at most {MAX_CONFIGMAP_BYTES} bytes"),
                ));
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(r, name, causes))
    }
}

/// The JSON types the server relies on, checked before anything indexes into the object: a
/// wrong type is a 400, as the real API server's decoder gives, never a panic.
pub fn shape(r: &Resource, obj: &Value) -> Result<(), ApiError> {
    let mut wrong: Vec<String> = Vec::new();
    let mut expect = |path: &str, v: &Value, kind: Kind| {
        if !v.is_null() && !kind.fits(v) {
            wrong.push(format!("{path}: expected {}", kind.name()));
        }
    };
    if !obj.is_object() {
        return Err(ApiError::bad_request("the object must be a JSON object"));
    }
    let meta = &obj["metadata"];
    expect("metadata", meta, Kind::Object);
    if meta.is_object() {
        expect("metadata.name", &meta["name"], Kind::String);
        expect("metadata.generateName", &meta["generateName"], Kind::String);
        expect(
            "metadata.resourceVersion",
            &meta["resourceVersion"],
            Kind::String,
        );
        expect("metadata.labels", &meta["labels"], Kind::StringMap);
        expect(
            "metadata.annotations",
            &meta["annotations"],
            Kind::StringMap,
        );
        expect(
            "metadata.ownerReferences",
            &meta["ownerReferences"],
            Kind::ObjectList,
        );
    }
    expect("spec", &obj["spec"], Kind::Object);
    expect("status", &obj["status"], Kind::Object);
    let spec = &obj["spec"];
    let pod_spec = |path: &str, ps: &Value, expect: &mut dyn FnMut(&str, &Value, Kind)| {
        expect(path, ps, Kind::Object);
        for list in ["containers", "initContainers"] {
            let p = format!("{path}.{list}");
            expect(&p, &ps[list], Kind::ObjectList);
            for (i, c) in ps[list].as_array().into_iter().flatten().enumerate() {
                expect(&format!("{p}[{i}].name"), &c["name"], Kind::String);
                expect(&format!("{p}[{i}].image"), &c["image"], Kind::String);
                expect(
                    &format!("{p}[{i}].resources"),
                    &c["resources"],
                    Kind::Object,
                );
            }
        }
    };
    match r.plural {
        "deployments" | "replicasets" | "jobs" => {
            expect("spec.replicas", &spec["replicas"], Kind::Int32);
            expect("spec.selector", &spec["selector"], Kind::Object);
            expect(
                "spec.selector.matchLabels",
                &spec["selector"]["matchLabels"],
                Kind::StringMap,
            );
            expect("spec.strategy", &spec["strategy"], Kind::Object);
            expect(
                "spec.strategy.rollingUpdate",
                &spec["strategy"]["rollingUpdate"],
                Kind::Object,
            );
            for k in ["maxSurge", "maxUnavailable"] {
                expect(
                    &format!("spec.strategy.rollingUpdate.{k}"),
                    &spec["strategy"]["rollingUpdate"][k],
                    Kind::IntOrPercent,
                );
            }
            for k in [
                "minReadySeconds",
                "progressDeadlineSeconds",
                "revisionHistoryLimit",
                "backoffLimit",
                "completions",
                "parallelism",
            ] {
                expect(&format!("spec.{k}"), &spec[k], Kind::Int32);
            }
            let t = &spec["template"];
            expect("spec.template", t, Kind::Object);
            expect("spec.template.metadata", &t["metadata"], Kind::Object);
            expect(
                "spec.template.metadata.labels",
                &t["metadata"]["labels"],
                Kind::StringMap,
            );
            expect(
                "spec.template.metadata.annotations",
                &t["metadata"]["annotations"],
                Kind::StringMap,
            );
            pod_spec("spec.template.spec", &t["spec"], &mut expect);
        }
        "pods" => pod_spec("spec", spec, &mut expect),
        "configmaps" => expect("data", &obj["data"], Kind::StringMap),
        _ => {}
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "the {} is not in the expected form: {}",
            r.kind,
            wrong.join("; ")
        )))
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Object,
    String,
    StringMap,
    ObjectList,
    Int32,
    IntOrPercent,
}

impl Kind {
    fn fits(self, v: &Value) -> bool {
        match self {
            Kind::Object => v.is_object(),
            Kind::String => v.is_string(),
            Kind::StringMap => v
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string)),
            Kind::ObjectList => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
            Kind::Int32 => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            Kind::IntOrPercent => {
                v.as_i64().is_some_and(|n| i32::try_from(n).is_ok())
                    || v.as_str().is_some_and(|s| {
                        s.strip_suffix('%')
                            .is_some_and(|n| n.parse::<u16>().is_ok_and(|n| n <= 100))
                    })
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Object => "an object",
            Kind::String => "a string",
            Kind::StringMap => "an object of strings",
            Kind::ObjectList => "a list of objects",
            Kind::Int32 => "a 32-bit integer",
            Kind::IntOrPercent => "an integer or a percentage such as \"25%\"",
        }
    }
}
