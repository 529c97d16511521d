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

/// What the config says of one person and one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MayApprove {
    Yes,
    No {
        allowed: Vec<Principal>,
    },
    /// The role is mapped by group, and the person's groups are not known (a name entered
    /// for someone else, or an entry read back from a journal).
    Unknown,
}

impl Access {
    /// Whether `name`, in `groups` when they are known, may approve as `role`.
    pub fn may_approve(&self, role: &str, name: &str, groups: Option<&[String]>) -> MayApprove {
        let Some(allowed) = self.approvers.get(role) else {
            return MayApprove::Yes;
        };
        let by_name = allowed.iter().any(
            |p| matches!(p, Principal::User(u) if crate::release::people::same_person(u, name)),
        );
        let by_group = groups.is_some_and(|gs| {
            allowed
                .iter()
                .any(|p| matches!(p, Principal::Group(g) if gs.iter().any(|x| x == g)))
        });
        let has_groups = allowed.iter().any(|p| matches!(p, Principal::Group(_)));
        if by_name || by_group {
            MayApprove::Yes
        } else if groups.is_none() && has_groups {
            MayApprove::Unknown
        } else {
            MayApprove::No {
                allowed: allowed.clone(),
            }
        }
    }

    /// The roles `name` in `groups` may approve as, of `roles`.
    pub fn roles_of<'a>(
        &self,
        roles: impl IntoIterator<Item = &'a String>,
        name: &str,
        groups: &[String],
    ) -> Vec<String> {
        roles
            .into_iter()
            .filter(|r| self.may_approve(r, name, Some(groups)) == MayApprove::Yes)
            .cloned()
            .collect()
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
