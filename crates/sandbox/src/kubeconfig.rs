//! The kubeconfig the sandbox writes: one cluster, a context per environment defaulting to
//! its namespace, and a user with no credentials (plain HTTP on loopback).

use std::path::Path;

pub fn render(server: &str, contexts: &[(&str, &str)]) -> String {
    let mut out = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster:\n    server: {server}\ncontexts:\n"
    );
    for (name, ns) in contexts {
        out.push_str(&format!(
            "- name: {name}\n  context:\n    cluster: sandbox\n    namespace: {ns}\n    user: sandbox\n"
        ));
    }
    let current = contexts.first().map(|(n, _)| *n).unwrap_or("staging");
    out.push_str(&format!(
        "current-context: {current}\npreferences: {{}}\nusers:\n- name: sandbox\n  user: {{}}\n"
    ));
    out
}

pub fn write(path: &Path, server: &str, contexts: &[(&str, &str)]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render(server, contexts))
}
