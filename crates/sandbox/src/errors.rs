//! Kubernetes Status errors: the JSON body and the HTTP code that clients read.

use serde_json::{Value, json};

use super::resources::Resource;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn status(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }

    fn details(r: &Resource, name: &str) -> Value {
        json!({"name": name, "group": r.group, "kind": r.plural})
    }

    pub fn not_found(r: &Resource, name: &str) -> Self {
        Self {
            details: Some(Self::details(r, name)),
            ..Self::new(
                404,
                "NotFound",
                format!("{} {name:?} not found", r.qualified()),
            )
        }
    }

    pub fn already_exists(r: &Resource, name: &str) -> Self {
        Self {
            details: Some(Self::details(r, name)),
            ..Self::new(
                409,
                "AlreadyExists",
                format!("{} {name:?} already exists", r.qualified()),
            )
        }
    }

    pub fn conflict(r: &Resource, name: &str) -> Self {
        Self {
            details: Some(Self::details(r, name)),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
                    r.qualified()
                ),
            )
        }
    }

    /// 422 with one cause per invalid field.
    pub fn invalid(r: &Resource, name: &str, causes: Vec<(String, String)>) -> Self {
        let summary: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        let mut details = Self::details(r, name);
        details["kind"] = Value::String(r.kind.to_string());
        details["causes"] = causes
            .iter()
            .map(|(field, message)| {
                json!({"reason": "FieldValueInvalid", "message": format!("{field}: {message}"), "field": field})
            })
            .collect();
        let group = if r.group.is_empty() {
            String::new()
        } else {
            format!(".{}", r.group)
        };
        Self {
            details: Some(details),
            ..Self::new(
                422,
                "Invalid",
                format!(
                    "{}{group} {name:?} is invalid: {}",
                    r.kind,
                    summary.join(", ")
                ),
            )
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn not_found_path() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }
}

impl From<super::patch::PatchError> for ApiError {
    fn from(e: super::patch::PatchError) -> Self {
        let reason = if e.status == 422 {
            "Invalid"
        } else {
            "BadRequest"
        };
        ApiError::new(e.status, reason, e.message)
    }
}
