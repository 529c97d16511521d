//! Who may approve: the approver records their own approval, for a role the config maps
//! them to; one person fills one required role; a name that looks like another
//! participant's is refused; entering an approval for someone else (a proxy entry) and the
//! driver approving their own release are the config's to allow.

use super::{Caller, unknown_type};
use crate::config::Config;
use crate::config::access::{Access, Principal};
use crate::release::people::{look_alike_of, same_person};
use crate::release::state::ReleaseState;

pub fn check(
    release: &ReleaseState,
    config: &Config,
    caller: &Caller,
    role: &str,
    name: &str,
) -> Result<(), String> {
    let spec = config
        .release_type(&release.release_type)
        .ok_or_else(|| unknown_type(config, &release.release_type))?;
    let title = config.roles.title(role);
    let name = name.trim();
    if name.is_empty() {
        return Err("an approval needs the approver's name".into());
    }
    let Some(req) = spec
        .approvals
        .iter()
        .find(|r| r.any_of.iter().any(|x| x == role))
    else {
        let needed: Vec<String> = spec
            .approvals
            .iter()
            .map(|r| config.roles.any_of(&r.any_of))
            .collect();
        return Err(format!(
            "a {} release does not need a {title} approval (it needs: {})",
            spec.id,
            needed.join(" + ")
        ));
    };
    if let Some((filled, existing)) = req
        .any_of
        .iter()
        .find_map(|r| release.approvals.get(r).map(|a| (r, a)))
    {
        return Err(format!(
            "{} already approved as {}; that requirement is met",
            existing.name,
            config.roles.title(filled)
        ));
    }
    let me = caller.author.name.as_str();
    let proxy = !same_person(name, me);
    // Read back from a journal (no groups known), an entry is not held to the access the
    // config grants now: that was checked when it was written (see `replay`).
    let live = caller.groups.is_some();
    if live && proxy && !config.access.proxy_approvals {
        return Err(format!(
            "you are {}: an approval is recorded by the approver, so {name} must record it as themselves (the config does not allow approvals entered for someone else)",
            caller.author
        ));
    }
    let participants = std::iter::once(release.created.by.as_str())
        .chain(std::iter::once(me))
        .chain(
            release
                .approvals
                .values()
                .flat_map(|a| [a.name.as_str(), a.recorded_by.as_str()]),
        );
    if let Some(other) = look_alike_of(name, participants) {
        return Err(format!(
            "{name:?} looks like {other:?} but is a different name; a name that can be taken for another participant's is refused"
        ));
    }
    // Groups are the cluster's word about the caller; of someone else nothing is known.
    let groups = if proxy { None } else { caller.groups };
    if live && let MayApprove::No { allowed } = may_approve(&config.access, role, name, groups) {
        let allowed: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        let unverified = if !proxy && !caller.author.is_verified() {
            " (no cluster vouched for your name, so your groups are not known)"
        } else {
            ""
        };
        return Err(format!(
            "{name} may not approve as {title}: the config's [access.approvers] {role} allows {}{unverified}",
            allowed.join(", ")
        ));
    }
    if live && !config.access.driver_may_approve && same_person(name, &release.created.by) {
        return Err(format!(
            "{name} drives this release (created it), and the config does not let the driver approve it ([access] driver_may_approve = false)"
        ));
    }
    // Approvals kept from before a type change count only if this type needs their role.
    let required = |r: &String| spec.approvals.iter().any(|q| q.any_of.contains(r));
    if let Some((other, _)) = release
        .approvals
        .iter()
        .filter(|(r, _)| required(r))
        .find(|(_, a)| same_person(&a.name, name))
    {
        return Err(format!(
            "{name} already approved as {}; one person cannot fill two required roles",
            config.roles.title(other)
        ));
    }
    Ok(())
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

/// Whether `name`, in `groups` when they are known, may approve as `role`.
pub fn may_approve(
    access: &Access,
    role: &str,
    name: &str,
    groups: Option<&[String]>,
) -> MayApprove {
    let Some(allowed) = access.approvers.get(role) else {
        return MayApprove::Yes;
    };
    let by_name = allowed
        .iter()
        .any(|p| matches!(p, Principal::User(u) if same_person(u, name)));
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
