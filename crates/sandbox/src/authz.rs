//! Authorisation: one table of rules, RBAC-shaped, checked on every API request and
//! answered by SelfSubjectAccessReview, so `kubectl auth can-i` and the real request can
//! never disagree.

use axum::http::Method;
use serde_json::{Map, Value, json};

use super::errors::ApiError;
use super::http::param;
use super::users::{AUTHENTICATED, Identity, UNAUTHENTICATED};

const RELEASE_ENGINEERS: &str = "release-cockpit:release-engineers";
const REVIEWERS: &str = "release-cockpit:reviewers";
const ON_CALL: &str = "release-cockpit:on-call";

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

/// What a rule covers: resources by API group ("" is the core group) and name, where a
/// name is `resource` or `resource/subresource` and `*` is anything; or non-resource paths,
/// where a trailing `*` matches any rest of the path.
pub enum Scope {
    Resources {
        api_groups: &'static [&'static str],
        resources: &'static [&'static str],
    },
    Paths(&'static [&'static str]),
}

/// Members of any of `groups` may do `verbs` within `scope`. `name` is what an allowed
/// SelfSubjectAccessReview gives as its reason.
pub struct Rule {
    pub name: &'static str,
    pub groups: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub scope: Scope,
}

/// Everything anyone may do; what no rule allows is forbidden. Only the release engineers
/// and the on-call may patch Deployments (in production as anywhere): the reviewers write
/// the journal (ConfigMaps and Leases) and nothing else, the observers only read.
pub const RULES: &[Rule] = &[
    Rule {
        name: "discovery",
        groups: &[AUTHENTICATED, UNAUTHENTICATED],
        verbs: &["get"],
        scope: Scope::Paths(&[
            "/api",
            "/api/*",
            "/apis",
            "/apis/*",
            "/version",
            "/version/",
            "/healthz",
            "/livez",
            "/readyz",
        ]),
    },
    Rule {
        name: "read-any-path",
        groups: &[AUTHENTICATED],
        verbs: &["get"],
        scope: Scope::Paths(&["*"]),
    },
    Rule {
        name: "read-everything",
        groups: &[AUTHENTICATED],
        verbs: READ,
        scope: Scope::Resources {
            api_groups: &["*"],
            resources: &["*"],
        },
    },
    Rule {
        name: "who-am-i",
        groups: &[AUTHENTICATED],
        verbs: &["create"],
        scope: Scope::Resources {
            api_groups: &["authentication.k8s.io"],
            resources: &["selfsubjectreviews"],
        },
    },
    Rule {
        name: "may-i",
        groups: &[AUTHENTICATED],
        verbs: &["create"],
        scope: Scope::Resources {
            api_groups: &["authorization.k8s.io"],
            resources: &["selfsubjectaccessreviews"],
        },
    },
    Rule {
        name: "release-engineer-does-anything",
        groups: &[RELEASE_ENGINEERS],
        verbs: &["*"],
        scope: Scope::Resources {
            api_groups: &["*"],
            resources: &["*"],
        },
    },
    Rule {
        name: "on-call-rolls-back",
        groups: &[ON_CALL],
        verbs: WRITE,
        scope: Scope::Resources {
            api_groups: &["apps"],
            resources: &[
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
            ],
        },
    },
    Rule {
        name: "on-call-runs-jobs",
        groups: &[ON_CALL],
        verbs: WRITE,
        scope: Scope::Resources {
            api_groups: &["batch"],
            resources: &["jobs", "jobs/status"],
        },
    },
    Rule {
        name: "on-call-deletes-pods",
        groups: &[ON_CALL],
        verbs: &["delete"],
        scope: Scope::Resources {
            api_groups: &[""],
            resources: &["pods"],
        },
    },
    Rule {
        name: "on-call-takes-over",
        groups: &[ON_CALL],
        verbs: WRITE,
        scope: Scope::Resources {
            api_groups: &[""],
            resources: &["configmaps", "events"],
        },
    },
    Rule {
        name: "on-call-takes-over",
        groups: &[ON_CALL],
        verbs: WRITE,
        scope: Scope::Resources {
            api_groups: &["coordination.k8s.io"],
            resources: &["leases"],
        },
    },
    Rule {
        name: "on-call-takes-over",
        groups: &[ON_CALL],
        verbs: WRITE,
        scope: Scope::Resources {
            api_groups: &["events.k8s.io"],
            resources: &["events"],
        },
    },
    Rule {
        name: "reviewer-writes-the-journal",
        groups: &[REVIEWERS],
        verbs: WRITE,
        scope: Scope::Resources {
            api_groups: &[""],
            resources: &["configmaps"],
        },
    },
    Rule {
        name: "reviewer-writes-the-journal",
        groups: &[REVIEWERS],
        verbs: WRITE,
        scope: Scope::Resources {
            api_groups: &["coordination.k8s.io"],
            resources: &["leases"],
        },
    },
];

/// What a request asks to do, in the terms of Kubernetes' authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attributes {
    Resource(ResourceAttributes),
    NonResource { verb: String, path: String },
}

/// Empty strings for what does not apply (the core group, no namespace, no name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAttributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
}

/// The rule that allows `attributes` to `who`, if any.
pub fn allowing(who: &Identity, attributes: &Attributes) -> Option<&'static Rule> {
    if let Attributes::Resource(r) = attributes
        && !may_write_signatures(who, r, &r.name)
    {
        return None;
    }
    RULES
        .iter()
        .find(|rule| rule.groups.iter().any(|g| who.in_group(g)) && rule_allows(rule, attributes))
}

/// The journal's signature ConfigMaps: each names the one user who may write it.
pub const SIGNATURES_PREFIX: &str = "release-cockpit-signatures-";

/// `release-cockpit-signatures-<user>`, the user's name as a DNS label (the cockpit
/// computes the same name for the same user).
pub fn signatures_of(user: &str) -> String {
    let who: String = user
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let who = who.trim_matches('-');
    let who: String = who.chars().take(200).collect();
    if who == user {
        format!("{SIGNATURES_PREFIX}{who}")
    } else {
        use sha2::Digest;
        let hash = hex::encode(sha2::Sha256::digest(user.as_bytes()));
        format!("{SIGNATURES_PREFIX}{who}-{}", &hash[..8])
    }
}

/// Whether `who` may do `r` to the ConfigMap `name` as far as signatures go: a write to a
/// signatures ConfigMap only by the user it is for. A real cluster grants this with RBAC
/// `resourceNames` in a namespace of the signatures' own (the README's manifest), where
/// nobody has a broader write; the sandbox, whose namespaces hold the journal too, says it
/// here, over every rule. `name` is the request's, or for a create its body's (which RBAC
/// cannot see, so a real cluster's administrator creates the ConfigMaps).
pub fn may_write_signatures(who: &Identity, r: &ResourceAttributes, name: &str) -> bool {
    let writes = WRITE.contains(&r.verb.as_str());
    if r.resource != "configmaps" || !r.group.is_empty() || !writes {
        return true;
    }
    if r.verb == "deletecollection" {
        return false;
    }
    !name.starts_with(SIGNATURES_PREFIX) || name == signatures_of(who.username)
}

fn rule_allows(rule: &Rule, attributes: &Attributes) -> bool {
    let verb = match attributes {
        Attributes::Resource(r) => &r.verb,
        Attributes::NonResource { verb, .. } => verb,
    };
    if !rule.verbs.iter().any(|v| *v == "*" || v == verb) {
        return false;
    }
    match (&rule.scope, attributes) {
        (
            Scope::Resources {
                api_groups,
                resources,
            },
            Attributes::Resource(r),
        ) => {
            api_groups.iter().any(|g| *g == "*" || *g == r.group)
                && resources
                    .iter()
                    .any(|name| resource_matches(name, &r.resource, &r.subresource))
        }
        (Scope::Paths(paths), Attributes::NonResource { path, .. }) => {
            paths.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => p == path,
            })
        }
        _ => false,
    }
}

/// RBAC's matching: `*`, the exact `resource[/subresource]`, or `*/subresource`.
fn resource_matches(rule: &str, resource: &str, subresource: &str) -> bool {
    if rule == "*" {
        return true;
    }
    if subresource.is_empty() {
        return rule == resource;
    }
    match rule.split_once('/') {
        Some((r, s)) => (r == resource || r == "*") && s == subresource,
        None => false,
    }
}

/// The attributes of an HTTP request, parsed as the API server's RequestInfoFactory does:
/// any `/api/v1/...` or `/apis/G/V/...` path with a resource in it is a resource request,
/// whether or not the sandbox serves that resource (authorisation comes before the 404).
pub fn of_request(method: &Method, path: &str, query: &[(String, String)]) -> Attributes {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] if !rest.is_empty() => ("", rest),
        ["apis", group, _version, rest @ ..] if !rest.is_empty() => (*group, rest),
        _ => {
            return Attributes::NonResource {
                verb: method.as_str().to_ascii_lowercase(),
                path: path.to_string(),
            };
        }
    };
    let mut namespace = "";
    let mut rest = rest;
    if rest[0] == "namespaces" && rest.len() > 1 {
        namespace = rest[1];
        // `/namespaces/N/status` and `/finalize` are the Namespace's own subresources.
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest = &rest[2..];
        }
    }
    let mut name = rest.get(1).copied().unwrap_or_default().to_string();
    let subresource = rest.get(2).copied().unwrap_or_default().to_string();
    let verb = match *method {
        Method::GET | Method::HEAD if name.is_empty() => {
            // A list of one named object is about that object, for the message as for RBAC.
            if let Some(n) = param(query, "fieldSelector")
                .and_then(|s| s.strip_prefix("metadata.name="))
                .filter(|n| !n.contains(','))
            {
                name = n.to_string();
            }
            if matches!(param(query, "watch"), Some("true" | "1")) {
                "watch"
            } else {
                "list"
            }
        }
        Method::GET | Method::HEAD => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if name.is_empty() => "deletecollection",
        Method::DELETE => "delete",
        // A method no verb stands for keeps its own name, which only a `*` rule allows.
        ref other => other.as_str(),
    };
    Attributes::Resource(ResourceAttributes {
        verb: verb.to_ascii_lowercase(),
        group: group.to_string(),
        resource: rest[0].to_string(),
        subresource,
        namespace: namespace.to_string(),
        name,
    })
}

/// The 403 a real API server sends, word for word (apiserver's `ForbiddenStatusError`).
pub fn forbidden(who: &Identity, attributes: &Attributes) -> ApiError {
    let user = who.username;
    let r = match attributes {
        Attributes::Resource(r) => r,
        Attributes::NonResource { verb, path } => {
            return ApiError {
                details: Some(json!({})),
                ..ApiError::new(
                    403,
                    "Forbidden",
                    format!("forbidden: User {user:?} cannot {verb} path {path:?}"),
                )
            };
        }
    };
    let resource = if r.subresource.is_empty() {
        r.resource.clone()
    } else {
        format!("{}/{}", r.resource, r.subresource)
    };
    let scope = if r.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", r.namespace)
    };
    let why = format!(
        "User {user:?} cannot {} resource {resource:?} in API group {:?} {scope}",
        r.verb, r.group
    );
    let qualified = if r.group.is_empty() {
        r.resource.clone()
    } else {
        format!("{}.{}", r.resource, r.group)
    };
    let message = if r.name.is_empty() {
        format!("{qualified} is forbidden: {why}")
    } else {
        format!("{qualified} {:?} is forbidden: {why}", r.name)
    };
    // Go's omitempty: the core group and a collection's missing name are left out.
    let mut details = Map::new();
    for (key, value) in [
        ("name", &r.name),
        ("group", &r.group),
        ("kind", &r.resource),
    ] {
        if !value.is_empty() {
            details.insert(key.into(), Value::String(value.clone()));
        }
    }
    ApiError {
        details: Some(Value::Object(details)),
        ..ApiError::new(403, "Forbidden", message)
    }
}

#[cfg(test)]
mod tests;
