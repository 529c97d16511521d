//! The two review APIs a client asks about itself: SelfSubjectReview (`kubectl auth
//! whoami`: who the server thinks I am) and SelfSubjectAccessReview (`kubectl auth can-i`:
//! may I do this), answered from the same identity and table as every other request.
//! Nothing is stored: each POST is answered and forgotten.

use axum::body::Bytes;
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use super::authz::{self, Attributes, ResourceAttributes};
use super::errors::ApiError;
use super::http::{error_response, json_response, parse_body};
use super::protobuf;
use super::users::Identity;

/// A review resource, as discovery lists it: (API group, plural, kind).
pub struct Review {
    pub group: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
}

pub const REVIEWS: &[Review] = &[
    Review {
        group: "authentication.k8s.io",
        plural: "selfsubjectreviews",
        kind: "SelfSubjectReview",
    },
    Review {
        group: "authorization.k8s.io",
        plural: "selfsubjectaccessreviews",
        kind: "SelfSubjectAccessReview",
    },
];

/// The answer if `path` is a review's, else `None` (the path is someone else's).
pub fn answer(who: &Identity, method: &Method, path: &str, body: &Bytes) -> Option<Response> {
    let review = REVIEWS
        .iter()
        .find(|r| path.trim_end_matches('/') == format!("/apis/{}/v1/{}", r.group, r.plural))?;
    if *method != Method::POST {
        return Some(error_response(&ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )));
    }
    let answered = match review.plural {
        "selfsubjectreviews" => Ok(who_am_i(who)),
        _ => may_i(who, body),
    };
    Some(match answered {
        Ok(v) => json_response(201, &v),
        Err(e) => error_response(&e),
    })
}

fn who_am_i(who: &Identity) -> Value {
    let mut user_info = json!({"username": who.username, "groups": who.groups});
    if !who.uid.is_empty() {
        user_info["uid"] = json!(who.uid);
    }
    json!({
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "status": {"userInfo": user_info},
    })
}

fn may_i(who: &Identity, body: &Bytes) -> Result<Value, ApiError> {
    // kubectl 1.32 and later send typed requests as protobuf; earlier ones, and kube-rs, JSON.
    let spec = match protobuf::access_review_spec(body) {
        Some(spec) => spec,
        None => parse_body(body)?["spec"].take(),
    };
    let attributes = attributes_of(&spec)?;
    let status = match authz::allowing(who, &attributes) {
        Some(rule) => json!({
            "allowed": true,
            "reason": format!("allowed by the sandbox's rule {:?}", rule.name),
        }),
        // A real RBAC denial gives no reason either, so `can-i` prints a bare "no".
        None => json!({"allowed": false}),
    };
    Ok(json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": status,
    }))
}

fn attributes_of(spec: &Value) -> Result<Attributes, ApiError> {
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_string();
    let resource = &spec["resourceAttributes"];
    let non_resource = &spec["nonResourceAttributes"];
    match (resource.is_object(), non_resource.is_object()) {
        (true, false) => Ok(Attributes::Resource(ResourceAttributes {
            verb: text(resource, "verb"),
            group: text(resource, "group"),
            resource: text(resource, "resource"),
            subresource: text(resource, "subresource"),
            namespace: text(resource, "namespace"),
            name: text(resource, "name"),
        })),
        (false, true) => Ok(Attributes::NonResource {
            verb: text(non_resource, "verb"),
            path: text(non_resource, "path"),
        }),
        _ => Err(ApiError::new(
            422,
            "Invalid",
            "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )),
    }
}
