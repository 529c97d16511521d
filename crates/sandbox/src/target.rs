//! Where a request points: an API path read as the resource, namespace, name and
//! subresource it names, or the 404 a real server gives a path it does not serve.

use super::errors::ApiError;
use super::resources::{Resource, lookup};

/// Where a request points.
pub(super) struct Target {
    pub(super) resource: &'static Resource,
    pub(super) namespace: Option<String>,
    pub(super) name: Option<String>,
    pub(super) subresource: Option<String>,
}

/// The path's parts after `/api/v1` or `/apis/G/V`, with the namespace split off.
struct Split {
    group: String,
    version: String,
    namespace: Option<String>,
    rest: Vec<String>,
}

pub(super) fn parse(path: &str) -> Result<Target, ApiError> {
    split_namespace(path).and_then(|p| parse_split(&p))
}

fn split_namespace(path: &str) -> Result<Split, ApiError> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::not_found_path()),
    };
    let (namespace, rest): (Option<String>, Vec<String>) = match rest {
        ["namespaces", ns, more @ ..] if !more.is_empty() => (
            Some(ns.to_string()),
            more.iter().map(|s| s.to_string()).collect(),
        ),
        other => (None, other.iter().map(|s| s.to_string()).collect()),
    };
    Ok(Split {
        group: group.to_string(),
        version: version.to_string(),
        namespace,
        rest,
    })
}

fn parse_split(s: &Split) -> Result<Target, ApiError> {
    let (plural, name, sub) = match s.rest.as_slice() {
        [plural] => (plural, None, None),
        [plural, name] => (plural, Some(name.clone()), None),
        [plural, name, sub] => (plural, Some(name.clone()), Some(sub.clone())),
        _ => return Err(ApiError::not_found_path()),
    };
    let resource = lookup(&s.group, &s.version, plural).ok_or_else(ApiError::not_found_path)?;
    if sub
        .as_ref()
        .is_some_and(|x| !resource.subresources.contains(&x.as_str()))
    {
        return Err(ApiError::not_found_path());
    }
    if s.namespace.is_some() && !resource.namespaced {
        return Err(ApiError::not_found_path());
    }
    Ok(Target {
        resource,
        namespace: s.namespace.clone(),
        name,
        subresource: sub,
    })
}

pub(super) fn target_ns(t: &Target) -> String {
    t.namespace.clone().unwrap_or_default()
}
