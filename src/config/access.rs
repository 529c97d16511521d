//! `[access]`: who may approve as which role, by the names and groups the cluster's API
//! server reports (SelfSubjectReview), and whether approvals may be entered for others.

use std::collections::BTreeMap;

use super::procedure_spec::Roles;
use super::reader::Cursor;

/// One entry of an approvers list: a cluster username, or `group:NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User(String),
    Group(String),
}

impl Principal {
    fn parse(s: &str) -> Self {
        match s.strip_prefix("group:") {
            Some(g) => Principal::Group(g.to_string()),
            None => Principal::User(s.to_string()),
        }
    }
}

impl serde::Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::User(u) => write!(f, "{u}"),
            Principal::Group(g) => write!(f, "group:{g}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Access {
    /// Whether an approval may be entered for someone else; such an entry says who
    /// entered it wherever it is shown.
    pub proxy_approvals: bool,
    /// Whether the release's driver (who created it) may fill one of its approvals.
    /// `false` is GitHub's "prevent self-review".
    pub driver_may_approve: bool,
    /// Who may approve as each role. A role not listed may be approved by anyone.
    pub approvers: BTreeMap<String, Vec<Principal>>,
}

impl Default for Access {
    fn default() -> Self {
        Self {
            proxy_approvals: false,
            driver_may_approve: true,
            approvers: BTreeMap::new(),
        }
    }
}

pub fn read_access(c: &Cursor, roles: Option<&Roles>) -> Option<Access> {
    let mut access = Access {
        proxy_approvals: c.opt_bool("proxy_approvals").unwrap_or(false),
        driver_may_approve: c.opt_bool("driver_may_approve").unwrap_or(true),
        approvers: BTreeMap::new(),
    };
    let mut ok = true;
    if let Some(a) = c.opt_table("approvers") {
        for (role, names) in a.named_str_lists() {
            if let Some(roles) = roles
                && !roles.0.contains_key(&role)
            {
                a.report(
                    &role,
                    format!(
                        "unknown role {role:?} (roles are: {})",
                        roles.0.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
                ok = false;
                continue;
            }
            if let Some(bad) = names
                .iter()
                .find(|n| n.trim().is_empty() || n.trim() == "group:")
            {
                a.report(&role, format!("{bad:?} is not a username or group:NAME"));
                ok = false;
                continue;
            }
            access.approvers.insert(
                role,
                names.iter().map(|n| Principal::parse(n.trim())).collect(),
            );
        }
        a.finish();
    }
    c.finish();
    ok.then_some(access)
}
