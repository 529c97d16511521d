//! The kubeconfig the sandbox writes: one cluster (https, trusting the sandbox's own
//! certificate), for each environment a context named after it as the release engineer and
//! one `<user>@<environment>` context per user, and every user with its bearer token.
//! It holds credentials, so only its owner may read it.

use std::io::Write;
use std::path::Path;

use base64::Engine;

use super::users::{RELEASE_ENGINEER, SandboxUser};

/// Where the cluster is and how to trust it (`server::Running::kubeconfig_server`).
#[derive(Debug, Clone)]
pub struct Server {
    /// The `https://` URL: kubectl sends a token to nothing else.
    pub url: String,
    pub certificate_pem: String,
}

/// The names of the contexts `render` writes for `environments` (context name, namespace)
/// and `users`, in the order written: what a caller may print, where tokens may not go.
pub fn context_names(environments: &[(&str, &str)], users: &[SandboxUser]) -> Vec<String> {
    contexts(environments, users)
        .into_iter()
        .map(|c| c.name)
        .collect()
}

struct Context<'a> {
    name: String,
    namespace: &'a str,
    user: &'a str,
}

fn contexts<'a>(environments: &[(&'a str, &'a str)], users: &'a [SandboxUser]) -> Vec<Context<'a>> {
    // The plain names keep working for every caller that knew only them.
    let mut out: Vec<Context<'a>> = environments
        .iter()
        .map(|(name, namespace)| Context {
            name: name.to_string(),
            namespace,
            user: RELEASE_ENGINEER,
        })
        .collect();
    for user in users {
        for (env, namespace) in environments {
            out.push(Context {
                name: format!("{}@{env}", user.name()),
                namespace,
                user: user.name(),
            });
        }
    }
    out
}

pub fn render(server: &Server, environments: &[(&str, &str)], users: &[SandboxUser]) -> String {
    let authority = base64::engine::general_purpose::STANDARD.encode(&server.certificate_pem);
    let mut out = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster:\n    server: {}\n    certificate-authority-data: {authority}\ncontexts:\n",
        server.url
    );
    for c in contexts(environments, users) {
        out.push_str(&format!(
            "- name: {:?}\n  context:\n    cluster: sandbox\n    namespace: {}\n    user: {}\n",
            c.name, c.namespace, c.user
        ));
    }
    let current = environments.first().map(|(n, _)| *n).unwrap_or("staging");
    out.push_str(&format!(
        "current-context: {current}\npreferences: {{}}\nusers:\n"
    ));
    for user in users {
        // Quoted: a hex token of digits (and an `e`) would read as a YAML number.
        out.push_str(&format!(
            "- name: {}\n  user:\n    token: \"{}\"\n",
            user.name(),
            user.token()
        ));
    }
    out
}

/// Writes the kubeconfig with mode 0600, also when the file was there before with a
/// looser mode.
pub fn write(
    path: &Path,
    server: &Server,
    environments: &[(&str, &str)],
    users: &[SandboxUser],
) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(render(server, environments, users).as_bytes())
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path)?;
        file.write_all(render(server, environments, users).as_bytes())
    }
}
