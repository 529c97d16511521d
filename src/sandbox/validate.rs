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
