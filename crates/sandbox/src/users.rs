//! Who may talk to the sandbox: four built-in users, each with a bearer token drawn at
//! random when the sandbox is made, so a token in one run's kubeconfig opens no other run.

use std::fmt;

pub const RELEASE_ENGINEER: &str = "release-engineer";
pub const REVIEWER: &str = "reviewer";
pub const ON_CALL: &str = "on-call";
pub const OBSERVER: &str = "observer";

/// The group every user with a valid token is in, as on a real API server.
pub const AUTHENTICATED: &str = "system:authenticated";
/// A request without credentials is this user, in group `system:unauthenticated`.
pub const ANONYMOUS: &str = "system:anonymous";
pub const UNAUTHENTICATED: &str = "system:unauthenticated";

/// Who a request is, as authorisation and SelfSubjectReview see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub username: &'static str,
    /// Empty for the anonymous user, as a real server reports it.
    pub uid: &'static str,
    pub groups: &'static [&'static str],
}

impl Identity {
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.contains(&group)
    }
}

pub const ANONYMOUS_IDENTITY: Identity = Identity {
    username: ANONYMOUS,
    uid: "",
    groups: &[UNAUTHENTICATED],
};

/// The built-in users. The uids are fixed, so a journal entry's author reads the same in
/// every run; only the tokens change.
const BUILT_IN: [Identity; 4] = [
    Identity {
        username: RELEASE_ENGINEER,
        uid: "5f0c2a6e-0001-4a1e-9d3b-7c1a00000001",
        groups: &["release-cockpit:release-engineers", AUTHENTICATED],
    },
    Identity {
        username: REVIEWER,
        uid: "5f0c2a6e-0002-4a1e-9d3b-7c1a00000002",
        groups: &["release-cockpit:reviewers", AUTHENTICATED],
    },
    Identity {
        username: ON_CALL,
        uid: "5f0c2a6e-0003-4a1e-9d3b-7c1a00000003",
        groups: &["release-cockpit:on-call", AUTHENTICATED],
    },
    Identity {
        username: OBSERVER,
        uid: "5f0c2a6e-0004-4a1e-9d3b-7c1a00000004",
        groups: &["release-cockpit:observers", AUTHENTICATED],
    },
];

/// A user and the bearer token that proves it. Debug leaves the token out, so a user can
/// be logged or put in an assertion message without leaking the credential.
#[derive(Clone)]
pub struct SandboxUser {
    pub identity: Identity,
    token: String,
}

impl SandboxUser {
    pub fn name(&self) -> &'static str {
        self.identity.username
    }

    pub fn token(&self) -> &str {
        &self.token
    }
}

impl fmt::Debug for SandboxUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxUser")
            .field("identity", &self.identity)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The built-in users with fresh tokens.
pub fn generate() -> Vec<SandboxUser> {
    BUILT_IN
        .iter()
        .map(|identity| SandboxUser {
            identity: *identity,
            token: random_token(),
        })
        .collect()
}

/// 32 random bytes as hex: unguessable, and safe unquoted in YAML and in a header.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // Without the OS's randomness every token would be guessable; no sandbox is better.
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The user whose token this is. Compares every token in full whatever matches, so the
/// time an answer takes says nothing about how much of a guess was right.
pub fn by_token<'a>(users: &'a [SandboxUser], token: &str) -> Option<&'a SandboxUser> {
    let mut found = None;
    for user in users {
        if constant_time_eq(user.token.as_bytes(), token.as_bytes()) {
            found = Some(user);
        }
    }
    found
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_between_users_and_between_sandboxes() {
        let a = generate();
        let b = generate();
        let mut all: Vec<&str> = a.iter().chain(&b).map(SandboxUser::token).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 8);
        assert!(a.iter().all(|u| u.token().len() == 64));
    }

    #[test]
    fn debug_hides_the_token() {
        let users = generate();
        let shown = format!("{users:?}");
        assert!(users.iter().all(|u| !shown.contains(u.token())));
        assert!(shown.contains("reviewer"));
    }

    #[test]
    fn a_token_finds_its_user_and_nothing_else_does() {
        let users = generate();
        let reviewer = users.iter().find(|u| u.name() == REVIEWER).unwrap();
        assert_eq!(
            by_token(&users, reviewer.token()).map(SandboxUser::name),
            Some(REVIEWER)
        );
        assert!(by_token(&users, "").is_none());
        assert!(by_token(&users, &reviewer.token()[1..]).is_none());
    }
}
