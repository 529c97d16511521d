//! A kube client for one environment: its kubeconfig context, or a plain URL (the sandbox).

use std::path::Path;

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// A client for `context` of the kubeconfig at `path` (`None`: `$KUBECONFIG` or
/// `~/.kube/config`, as kubectl reads it). The error names the file and the context.
pub async fn connect(path: Option<&Path>, context: &str) -> Result<Client, String> {
    let config = config(path, context).await?;
    Client::try_from(config).map_err(|e| format!("cannot build a client for {context:?}: {e}"))
}

/// The configuration `connect` builds its client from, for what builds its own client
/// (the journal in the cluster, on a thread of its own).
pub async fn config(path: Option<&Path>, context: &str) -> Result<kube::Config, String> {
    let options = KubeConfigOptions {
        context: (!context.is_empty()).then(|| context.to_string()),
        ..Default::default()
    };
    match path {
        Some(p) => {
            let kubeconfig = Kubeconfig::read_from(p)
                .map_err(|e| format!("cannot read the kubeconfig {}: {e}", p.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| format!("kubeconfig {}, context {context:?}: {e}", p.display()))
        }
        None => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| format!("kubeconfig context {context:?}: {e}")),
    }
}

/// A client straight at an API server URL with a default namespace, sending `token` as
/// the bearer if given: the sandbox in tests.
pub fn for_url(url: &str, namespace: &str, token: Option<&str>) -> Result<Client, String> {
    let config = config_for_url(url, namespace, token)?;
    Client::try_from(config).map_err(|e| format!("cannot build a client for {url}: {e}"))
}

/// The configuration `for_url` builds its client from, for what builds its own client
/// (the journal in the cluster, on a thread of its own).
pub fn config_for_url(
    url: &str,
    namespace: &str,
    token: Option<&str>,
) -> Result<kube::Config, String> {
    let uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not an API server URL: {e}"))?;
    let mut config = kube::Config::new(uri);
    config.default_namespace = namespace.to_string();
    config.auth_info.token = token.map(Into::into);
    Ok(config)
}
