//! The HTTP side of the API, shared by every handler: JSON and Status responses, the query
//! string, and the JSON object a write carries.

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::ApiError;

pub fn json_response(code: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(body).expect("json"),
    )
        .into_response()
}

pub(super) fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.status())
}

/// An empty body for responses that need none.
pub fn empty(code: u16) -> Response {
    Response::builder()
        .status(code)
        .body(Body::empty())
        .expect("response")
}

pub(super) fn query(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(super) fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub(super) fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("true" | "1"))
}

pub(super) fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the body of the request is not valid JSON: {e}"))
    })?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    Ok(v)
}
