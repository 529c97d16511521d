//! The scale subresource (`kubectl scale`): an autoscaling/v1 Scale view of a workload's
//! `spec.replicas`, read and written.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, header};
use serde_json::{Value, json};

use super::errors::ApiError;
use super::http::parse_body;
use super::store::WriteTo;
use super::target::{Target, target_ns};
use super::{Sandbox, patch, validate};

/// The scale subresource (`kubectl scale`): an autoscaling/v1 Scale view of spec.replicas.
pub(super) fn respond(
    sb: &Arc<Sandbox>,
    t: &Target,
    name: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(u16, Value), ApiError> {
    let r = t.resource;
    let ns = target_ns(t);
    let current = sb
        .store()
        .get(r.store, &ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(r, name))?;
    let view = |obj: &Value| {
        let selector =
            super::selectors::LabelSelector::from_selector_object(&obj["spec"]["selector"])
                .map(|s| s.to_string())
                .unwrap_or_default();
        json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": name, "namespace": ns, "uid": obj["metadata"]["uid"],
                "resourceVersion": obj["metadata"]["resourceVersion"],
                "creationTimestamp": obj["metadata"]["creationTimestamp"],
            },
            "spec": {"replicas": obj["spec"]["replicas"]},
            "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
        })
    };
    let wanted = match *method {
        Method::GET => return Ok((200, view(&current))),
        Method::PUT => parse_body(body)?,
        Method::PATCH => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let kind = patch::kind_from_content_type(ct).ok_or_else(|| {
                ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    format!("unsupported patch type {ct:?}"),
                )
            })?;
            patch::apply(kind, &view(&current), body).map_err(ApiError::from)?
        }
        _ => {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    let replicas = wanted["spec"]["replicas"]
        .as_i64()
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| {
            ApiError::invalid(
                r,
                name,
                vec![("spec.replicas".into(), "Required value".into())],
            )
        })?;
    let mut obj = current.clone();
    obj["spec"]["replicas"] = json!(replicas);
    validate::check(r, &obj)?;
    let updated = sb.store().update(r, &ns, name, obj, WriteTo::Main)?;
    Ok((200, view(&updated)))
}
