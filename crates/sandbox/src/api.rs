//! The REST API: paths to resources, verbs to store operations, and Kubernetes' answers
//! (Status errors, Tables, list and watch) as kubectl and kube-rs expect them.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::discovery;
use super::errors::ApiError;
use super::http::{error_response, param, parse_body, query, truthy};
use super::output::{Shape, from_events_v1, typed};
use super::patch::{self, PatchKind};
use super::resources::{Resource, lookup};
use super::selectors::{FieldSelector, LabelSelector};
use super::store::{WriteTo, name_of, rv_of};
use super::target::{self, Target, target_ns};
use super::watch::{self, WatchRequest};
use super::{RequestRecord, Sandbox, authn, authz, defaults, logs, reviews, validate};

// Their public path was this module before they moved to http.rs; it stays valid.
pub use super::http::{empty, json_response};

pub async fn handle(
    State(sb): State<Arc<Sandbox>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    if path.starts_with("/_sandbox/") {
        return super::admin::handle(sb, &method, &path, &body).await;
    }
    let (latency, fail) = {
        let mut f = sb.faults.lock().unwrap_or_else(|p| p.into_inner());
        let fail = (f.fail_next > 0).then(|| {
            f.fail_next -= 1;
            f.fail_status
        });
        (f.latency_ms, fail)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let mutating = matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let patch_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| method == Method::PATCH)
        .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
    let response = match fail {
        Some(code) => {
            let reason = if code == 429 {
                "TooManyRequests"
            } else {
                "InternalError"
            };
            let mut r = error_response(&ApiError::new(
                code,
                reason,
                format!("injected fault: {code}"),
            ));
            if code == 429 {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, "1".parse().expect("header"));
            }
            r
        }
        None => authorised(&sb, &method, &uri, &headers, &body).await,
    };
    if mutating {
        sb.record_request(RequestRecord {
            method: method.to_string(),
            path: path.clone(),
            patch_type,
            status: response.status().as_u16(),
        });
        if response.status().is_success() {
            sb.kick.notify_one();
        }
    }
    response
}

/// Who sent the request, and whether the table lets them, before anything else is read:
/// a real API server refuses a forbidden request for a resource it does not even serve.
async fn authorised(
    sb: &Arc<Sandbox>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let who = match authn::authenticate(sb.users(), headers) {
        Ok(who) => who,
        Err(e) => return error_response(&e),
    };
    let attributes = authz::of_request(method, uri.path(), &query(uri));
    if authz::allowing(&who, &attributes).is_none() {
        return error_response(&authz::forbidden(&who, &attributes));
    }
    if let authz::Attributes::Resource(r) = &attributes
        && r.verb == "create"
    {
        let named = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|b| b["metadata"]["name"].as_str().map(str::to_string))
            .unwrap_or_default();
        if !authz::may_write_signatures(&who, r, &named) {
            let mut named_attributes = r.clone();
            named_attributes.name = named;
            return error_response(&authz::forbidden(
                &who,
                &authz::Attributes::Resource(named_attributes),
            ));
        }
    }
    if let Some(answer) = reviews::answer(&who, method, uri.path(), body) {
        return answer;
    }
    route(sb, method, uri, headers, body).await
}

async fn route(
    sb: &Arc<Sandbox>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let path = uri.path();
    let not_allowed = || {
        error_response(&ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ))
    };
    if let Some(doc) = discovery::answer(path) {
        if *method != Method::GET {
            return not_allowed();
        }
        return json_response(200, &doc);
    }
    if path.len() > 1 && path.ends_with('/') {
        return error_response(&ApiError::not_found_path());
    }
    let target = match target::parse(path) {
        Ok(t) => t,
        Err(e) => return error_response(&e),
    };
    let allowed = match target.subresource.as_deref() {
        None => true,
        Some("log") => *method == Method::GET,
        Some(_) => matches!(*method, Method::GET | Method::PUT | Method::PATCH),
    };
    if !allowed {
        return not_allowed();
    }
    let q = query(uri);
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let shape = Shape::from_request(accept, param(&q, "includeObject"), sb.clock.now());
    let result = match (method.clone(), &target.name) {
        (Method::GET, None) => return list_or_watch(sb, &target, &q, shape),
        (Method::GET, Some(_)) if target.subresource.as_deref() == Some("log") => {
            return logs::respond(
                sb,
                &target_ns(&target),
                target.name.as_deref().unwrap_or(""),
                &q,
            )
            .await;
        }
        (_, Some(name)) if target.subresource.as_deref() == Some("scale") => {
            super::scale::respond(sb, &target, name, method, headers, body)
        }
        (Method::GET, Some(name)) => get(sb, &target, name, shape),
        (Method::POST, None) => create(sb, &target, body, &q),
        (Method::PUT, Some(name)) => replace(sb, &target, name, body),
        (Method::PATCH, Some(name)) => patch_object(sb, &target, name, headers, body, &q),
        (Method::DELETE, Some(name)) => delete(sb, &target, name, body),
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".to_string(),
        )),
    };
    match result {
        Ok((code, v)) => json_response(code, &v),
        Err(e) => error_response(&e),
    }
}

fn list_or_watch(sb: &Arc<Sandbox>, t: &Target, q: &[(String, String)], shape: Shape) -> Response {
    let r = t.resource;
    let labels = match LabelSelector::parse(param(q, "labelSelector").unwrap_or("")) {
        Ok(l) => l,
        Err(e) => return error_response(&ApiError::bad_request(e)),
    };
    let fields = match FieldSelector::parse(param(q, "fieldSelector").unwrap_or(""), r.plural) {
        Ok(f) => f,
        Err(e) => return error_response(&ApiError::bad_request(e)),
    };
    let rv = param(q, "resourceVersion").filter(|s| !s.is_empty());
    let Ok(rv_num) = rv.map(str::parse::<u64>).transpose() else {
        return error_response(&ApiError::bad_request(format!(
            "invalid resourceVersion {:?}",
            rv.unwrap_or_default()
        )));
    };
    if truthy(param(q, "watch")) {
        let timeout = param(q, "timeoutSeconds")
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = watch::stream(
            sb.clone(),
            WatchRequest {
                resource: r,
                namespace: t.namespace.clone(),
                resource_version: rv_num,
                labels,
                fields,
                bookmarks: truthy(param(q, "allowWatchBookmarks")),
                timeout,
                send_initial_events: truthy(param(q, "sendInitialEvents")),
                shape,
            },
        );
        return Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-cache, private")
            .body(body)
            .expect("response");
    }
    let store = sb.store();
    let objects: Vec<&Value> = store
        .list(r.store, t.namespace.as_deref())
        .into_iter()
        .filter(|o| labels.matches(o["metadata"]["labels"].as_object()) && fields.matches(o))
        .collect();
    json_response(200, &shape.list(r, &objects, store.resource_version()))
}

fn get(sb: &Arc<Sandbox>, t: &Target, name: &str, shape: Shape) -> Result<(u16, Value), ApiError> {
    let store = sb.store();
    let obj = store
        .get(t.resource.store, &target_ns(t), name)
        .ok_or_else(|| ApiError::not_found(t.resource, name))?;
    Ok((200, shape.one(t.resource, obj)))
}

fn namespace_exists(sb: &Sandbox, t: &Target) -> Result<(), ApiError> {
    let ns = target_ns(t);
    if t.resource.namespaced && sb.store().get("namespaces", "", &ns).is_none() {
        let r = lookup("", "v1", "namespaces").expect("namespaces");
        return Err(ApiError::not_found(r, &ns));
    }
    Ok(())
}

/// A body in the resource's group form, turned into the stored form.
fn incoming(r: &Resource, body: Value) -> Value {
    if r.group == "events.k8s.io" {
        from_events_v1(&body)
    } else {
        body
    }
}

fn create(
    sb: &Arc<Sandbox>,
    t: &Target,
    body: &Bytes,
    q: &[(String, String)],
) -> Result<(u16, Value), ApiError> {
    let r = t.resource;
    let mut obj = incoming(r, parse_body(body)?);
    validate::shape(r, &obj)?;
    if let Some(ns) = &t.namespace {
        obj["metadata"]["namespace"] = json!(ns);
    }
    if r.namespaced && t.namespace.is_none() {
        return Err(ApiError::bad_request(format!(
            "{} must be created in a namespace",
            r.plural
        )));
    }
    namespace_exists(sb, t)?;
    defaults::apply(r, &mut obj);
    validate::check(r, &obj)?;
    if param(q, "dryRun") == Some("All") {
        return Ok((201, typed(r, &obj)));
    }
    let now = sb.clock.now();
    let created = sb.store().create(r, &target_ns(t), obj, now)?;
    Ok((201, typed(r, &created)))
}

fn replace(
    sb: &Arc<Sandbox>,
    t: &Target,
    name: &str,
    body: &Bytes,
) -> Result<(u16, Value), ApiError> {
    let r = t.resource;
    let mut obj = incoming(r, parse_body(body)?);
    validate::shape(r, &obj)?;
    if !name_of(&obj).is_empty() && name_of(&obj) != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            name_of(&obj)
        )));
    }
    obj["metadata"]["name"] = json!(name);
    let ns = target_ns(t);
    let exists = sb.store().get(r.store, &ns, name).is_some();
    // Leases are created by PUT and need a resourceVersion to update (client-go's lock).
    if r.plural == "leases" {
        if !exists {
            return create(
                sb,
                t,
                &Bytes::from(serde_json::to_vec(&obj).expect("json")),
                &[],
            )
            .map(|(_, v)| (201, v));
        }
        if obj["metadata"]["resourceVersion"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::invalid(
                r,
                name,
                vec![(
                    "metadata.resourceVersion".into(),
                    "Invalid value: 0x0: must be specified for an update".into(),
                )],
            ));
        }
    }
    let to = if t.subresource.as_deref() == Some("status") {
        WriteTo::Status
    } else {
        WriteTo::Main
    };
    if to == WriteTo::Main {
        defaults::apply(r, &mut obj);
        validate::check(r, &obj)?;
    }
    let updated = sb.store().update(r, &ns, name, obj, to)?;
    Ok((200, typed(r, &updated)))
}

fn patch_object(
    sb: &Arc<Sandbox>,
    t: &Target,
    name: &str,
    headers: &HeaderMap,
    body: &Bytes,
    q: &[(String, String)],
) -> Result<(u16, Value), ApiError> {
    let r = t.resource;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let kind = patch::kind_from_content_type(ct).ok_or_else(|| {
        ApiError::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct:?})"))
    })?;
    if kind == PatchKind::Apply && param(q, "fieldManager").is_none_or(str::is_empty) {
        return Err(ApiError::bad_request(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    let ns = target_ns(t);
    let current = sb.store().get(r.store, &ns, name).cloned();
    let Some(current) = current else {
        if kind == PatchKind::Apply {
            let applied = patch::apply(kind, &json!({}), body).map_err(ApiError::from)?;
            validate::shape(r, &applied)?;
            let mut obj = incoming(r, applied);
            obj["metadata"]["name"] = json!(name);
            return create(
                sb,
                t,
                &Bytes::from(serde_json::to_vec(&obj).expect("json")),
                q,
            );
        }
        return Err(ApiError::not_found(r, name));
    };
    let base = typed(r, &current);
    let patched = patch::apply(kind, &base, body).map_err(ApiError::from)?;
    // A resourceVersion in the patch is a precondition.
    let wanted = patched["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if !wanted.is_empty()
        && wanted
            != current["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
    {
        return Err(ApiError::conflict(r, name));
    }
    validate::shape(r, &patched)?;
    let mut obj = incoming(r, patched);
    validate::shape(r, &obj)?;
    obj["metadata"]["resourceVersion"] = json!(rv_of(&current).to_string());
    let to = if t.subresource.as_deref() == Some("status") {
        WriteTo::Status
    } else {
        WriteTo::Main
    };
    if to == WriteTo::Main {
        defaults::apply(r, &mut obj);
        validate::check(r, &obj)?;
    }
    if param(q, "dryRun") == Some("All") {
        return Ok((200, typed(r, &obj)));
    }
    let updated = sb.store().update(r, &ns, name, obj, to)?;
    Ok((200, typed(r, &updated)))
}

fn delete(
    sb: &Arc<Sandbox>,
    t: &Target,
    name: &str,
    body: &Bytes,
) -> Result<(u16, Value), ApiError> {
    let r = t.resource;
    let options: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("the DeleteOptions are not valid JSON: {e}"))
        })?
    };
    let cascade = options["propagationPolicy"] != "Orphan" && options["orphanDependents"] != true;
    let removed = sb.store().delete(r, &target_ns(t), name, cascade)?;
    if r.plural == "pods" {
        return Ok((200, typed(r, &removed)));
    }
    Ok((
        200,
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": r.group, "kind": r.plural, "uid": removed["metadata"]["uid"]},
        }),
    ))
}
