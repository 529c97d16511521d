//! The sandbox's own tests, as one binary: its controllers on a manual clock, its HTTP
//! surface (every Status error, fuzzed requests), kube-rs watchers and reflectors, and the
//! real kubectl as a conformance client, and its state saved and restored.

// Tests and benches stop at the first surprise: unwrap is how they say so.
#![allow(clippy::unwrap_used)]

mod auth;
mod controllers;
mod http;
mod kube;
mod kubectl;
mod persist;

/// An HTTP client builder with rustls' ring provider in place (reqwest is built without
/// one of its own; see the root Cargo.toml).
pub fn http_client_builder() -> reqwest::ClientBuilder {
    // Fails only when a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

pub fn http_client() -> reqwest::Client {
    http_client_builder()
        .build()
        .expect("an HTTP client builds")
}

/// A client builder that sends `token` as the bearer on every request (marked sensitive,
/// so reqwest's Debug never shows it).
pub fn http_client_builder_as(token: &str) -> reqwest::ClientBuilder {
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .expect("a token is a valid header value");
    value.set_sensitive(true);
    let headers = reqwest::header::HeaderMap::from_iter([(reqwest::header::AUTHORIZATION, value)]);
    http_client_builder().default_headers(headers)
}
