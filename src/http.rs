//! HTTP clients. reqwest is built with rustls but no provider of its own (its default
//! provider, aws-lc, costs ~50 s of a cold build); every client comes from here, which
//! installs ring as the process's provider first.

/// A client builder with the TLS provider in place.
pub fn client_builder() -> reqwest::ClientBuilder {
    // Fails only when a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// A client with default settings.
pub fn client() -> reqwest::Client {
    client_builder()
        .build()
        .expect("an HTTP client with default settings builds")
}
