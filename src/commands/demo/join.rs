//! How a second terminal joins the demo's release: the config it runs with (the journal in
//! the demo's cluster, the demo's approval rules), and the command line for each of the
//! sandbox's users who may join.

use std::path::{Path, PathBuf};

use super::JOURNAL_ENVIRONMENT;

pub const SHARED_CONFIG: &str = "shared.toml";

/// Who a second terminal may join as: (what they do, the sandbox user).
const JOINERS: &[(&str, &str)] = &[("reviewer", "reviewer"), ("observer", "observer")];

/// The sandbox's group for `group` (its users are in `release-cockpit:*` groups).
pub fn group_name(group: &str) -> String {
    format!("release-cockpit:{group}")
}

/// Writes `shared.toml` into the demo's state dir: the journal in the cluster where the
/// demo keeps it, and the same approvers, so a joined cockpit refuses what the demo would.
/// Rewritten at each start, so it follows the demo's own config.
pub fn write_shared_config(root: &Path, approvers: &[(&str, &str)]) -> std::io::Result<PathBuf> {
    let mut text = format!(
        "# Written by `release-cockpit demo` at each start: the config of a cockpit that joins\n\
         # the demo's release from a second terminal.\n\
         [journal]\n\
         store = \"cluster\"\n\
         environment = \"{JOURNAL_ENVIRONMENT}\"\n\
         namespace = \"{JOURNAL_ENVIRONMENT}\"\n\
         signatures_namespace = \"{JOURNAL_ENVIRONMENT}\"\n\
         \n\
         [access]\n\
         proxy_approvals = true\n\
         \n\
         [access.approvers]\n"
    );
    for (role, group) in approvers {
        text.push_str(&format!("{role} = [\"group:{}\"]\n", group_name(group)));
    }
    let path = root.join(SHARED_CONFIG);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The command line that joins `release` as `user`, from any directory; with its own
/// state dir (its mirror of the journal, its logs) inside the demo's.
pub fn command(root: &Path, kubeconfig: &Path, user: &str, release: &semver::Version) -> String {
    let mut words = vec![
        "release-cockpit".to_string(),
        "--config".into(),
        quoted(&root.join(SHARED_CONFIG)),
        "--kubeconfig".into(),
        quoted(kubeconfig),
        "--state-dir".into(),
        quoted(&root.join(user)),
    ];
    for env in ["production", "staging"] {
        words.push("--context".into());
        words.push(format!("{env}={user}@{env}"));
    }
    words.push("--release".into());
    words.push(release.to_string());
    words.join(" ")
}

/// Holds the join commands whole, for a log pane narrower than they are long.
pub const JOIN_FILE: &str = "join.txt";

/// Writes the join commands into `join.txt` in the demo's state dir, and returns what the
/// demo tells at start: where they are, then each command.
pub fn announce(
    root: &Path,
    kubeconfig: &Path,
    release: &semver::Version,
) -> std::io::Result<Vec<String>> {
    let commands: Vec<(&str, String)> = JOINERS
        .iter()
        .map(|(role, user)| (*role, command(root, kubeconfig, user, release)))
        .collect();
    let mut text = String::from(
        "# Written by `release-cockpit demo` at each start (the tokens in the kubeconfig are\n\
         # new each time): run one in a second terminal to join the demo's release.\n",
    );
    for (role, cmd) in &commands {
        text.push_str(&format!("# as the {role}\n{cmd}\n"));
    }
    let path = root.join(JOIN_FILE);
    std::fs::write(&path, text)?;
    let mut lines = vec![format!(
        "a second terminal joins this release with one of these commands (also in {}):",
        quoted(&path)
    )];
    lines.extend(
        commands
            .into_iter()
            .map(|(role, cmd)| format!("as the {role}: {cmd}")),
    );
    Ok(lines)
}

/// A path as one shell word: bare when it holds nothing the shell treats specially.
fn quoted(path: &Path) -> String {
    let s = path.display().to_string();
    let plain = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain && !s.is_empty() {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_command_names_the_shared_config_the_kubeconfig_and_the_user_s_contexts() {
        let root = Path::new("/home/a/demo state");
        let cmd = command(
            root,
            &root.join("sandbox.kubeconfig"),
            "reviewer",
            &semver::Version::new(1, 2, 3),
        );
        assert_eq!(
            cmd,
            "release-cockpit --config '/home/a/demo state/shared.toml' \
             --kubeconfig '/home/a/demo state/sandbox.kubeconfig' \
             --state-dir '/home/a/demo state/reviewer' \
             --context production=reviewer@production --context staging=reviewer@staging \
             --release 1.2.3"
        );
        assert_eq!(quoted(Path::new("/it's")), r"'/it'\''s'");
        assert_eq!(quoted(Path::new("/tmp/x-1.2")), "/tmp/x-1.2");
    }

    #[test]
    fn the_shared_config_reads_as_the_demo_s_journal_and_approvers() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_shared_config(dir.path(), super::super::APPROVERS).unwrap();
        let config = crate::config::Config::from_file(&path)
            .unwrap_or_else(|p| panic!("{}", crate::config::describe_problems(&p)));
        assert_eq!(
            config.journal,
            crate::config::journal::JournalPlace::Cluster {
                environment: "production".into(),
                namespace: "production".into(),
                signatures_namespace: "production".into(),
            }
        );
        let mut demo = crate::config::Config::embedded();
        super::super::demo_access(&mut demo);
        assert_eq!(config.access.approvers, demo.access.approvers);
        assert!(config.access.proxy_approvals);
    }
}
