//! Authentication: the bearer token names the user, as a real API server's token
//! authenticator does with anonymous requests allowed.

use axum::http::{HeaderMap, header};

use super::errors::ApiError;
use super::users::{ANONYMOUS_IDENTITY, Identity, SandboxUser, by_token};

/// Who sent the request: the token's user, or the anonymous user when there is no bearer
/// token at all. A bearer token that is no user's is refused outright (401), never taken
/// for anonymous: a typo in a kubeconfig must not quietly downgrade to read-only.
pub fn authenticate(users: &[SandboxUser], headers: &HeaderMap) -> Result<Identity, ApiError> {
    let Some(token) = bearer_token(headers) else {
        return Ok(ANONYMOUS_IDENTITY);
    };
    by_token(users, token)
        .map(|u| u.identity)
        .ok_or_else(unauthorized)
}

/// The token of an `Authorization: Bearer <token>` header. Like the API server, another
/// scheme or an empty token is no bearer token (the request is anonymous), and the scheme's
/// name is case-insensitive.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let mut parts = value.splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The Status a real API server sends for credentials it does not know.
pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized")
}
