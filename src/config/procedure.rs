//! The procedure and the release types: the checklist's phases and items, and what each
//! kind of release must pass. Their cross-references (roles, gating phases) are checked here.

use std::collections::{BTreeMap, BTreeSet};

use super::DEFAULT_ORIGIN;
use super::names::{check_id, list};
use super::reader::Cursor;
use crate::config::procedure_spec::{
    ApprovalRequirement, Blocks, ChecklistItem, Phase, PhaseCondition, Procedure, ReleaseTypeSpec,
    Roles, SettledBy, StagingPolicy,
};

/// The longest a check command may be given.
const MAX_CHECK_TIMEOUT_SECS: i64 = 24 * 3600;

pub(super) fn read_procedure(c: &Cursor) -> Option<Procedure> {
    let phases = c.tables("phases");
    c.finish();
    let phases = phases?;
    let mut out = Vec::new();
    let mut phase_ids = BTreeSet::new();
    let mut item_ids: BTreeMap<String, String> = BTreeMap::new();
    let mut ok = true;
    for p in phases {
        let id = p.str("id");
        if let Some(id) = &id {
            ok &= check_id(&p, "id", id);
            if !phase_ids.insert(id.clone()) {
                p.report("id", format!("duplicate phase id {id:?}"));
                ok = false;
            }
        }
        let title = p.str("title");
        let due = p.opt_int("due_days_before").unwrap_or(0);
        if !(-365..=365).contains(&due) {
            p.report(
                "due_days_before",
                format!("{due} is out of range (-365 to 365 days from the release window)"),
            );
            ok = false;
        }
        let blocks = p.str("blocks").and_then(|s| {
            Blocks::parse(&s).or_else(|| {
                p.report(
                    "blocks",
                    format!("{s:?} is not one of \"staging\", \"production\", \"none\""),
                );
                None
            })
        });
        let only_when = match p.opt_str("only_when").as_deref() {
            None | Some("always") => Some(PhaseCondition::Always),
            Some("compliance") => Some(PhaseCondition::Compliance),
            Some(other) => {
                p.report(
                    "only_when",
                    format!("{other:?} is not one of \"always\", \"compliance\""),
                );
                None
            }
        };
        let mut items = Vec::new();
        for i in p.opt_tables("items").unwrap_or_default() {
            let item_id = i.str("id");
            if let Some(item_id) = &item_id {
                ok &= check_id(&i, "id", item_id);
                if let Some(first) = item_ids.get(item_id) {
                    i.report(
                        "id",
                        format!("duplicate item id {item_id:?} (first used in phase {first:?})"),
                    );
                    ok = false;
                } else {
                    item_ids.insert(item_id.clone(), id.clone().unwrap_or_default());
                }
            }
            let text = i.str("text");
            let check = i.opt_str_list("check");
            if check
                .as_ref()
                .is_some_and(|argv| argv.is_empty() || argv[0].is_empty())
            {
                i.report(
                    "check",
                    "must name a program to run (an argv such as [\"make\", \"test\"])",
                );
                ok = false;
            }
            let settled_by = match i.opt_str("settled_by") {
                None => None,
                Some(s) => match SettledBy::parse(&s) {
                    Some(by) => Some(by),
                    None => {
                        i.report(
                            "settled_by",
                            format!("{s:?} is not one of \"go_decision\", \"staging_validated\""),
                        );
                        ok = false;
                        None
                    }
                },
            };
            let timeout = i.opt_int("check_timeout_secs").unwrap_or(300);
            if !(1..=MAX_CHECK_TIMEOUT_SECS).contains(&timeout) {
                i.report(
                    "check_timeout_secs",
                    format!("{timeout} is out of range (1 to {MAX_CHECK_TIMEOUT_SECS})"),
                );
                ok = false;
            }
            i.finish();
            match (item_id, text) {
                (Some(id), Some(text)) => items.push(ChecklistItem {
                    id,
                    text,
                    check,
                    check_timeout_secs: timeout as u64,
                    settled_by,
                }),
                _ => ok = false,
            }
        }
        p.finish();
        match (id, title, blocks, only_when) {
            (Some(id), Some(title), Some(blocks), Some(only_when)) => out.push(Phase {
                id,
                title,
                due_days_before: due,
                blocks,
                only_when,
                items,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(Procedure { phases: out })
}

/// Where a broken cross-reference is reported: at the release type when the user wrote it;
/// at the user's own table when the release types are the default's but the roles or phases
/// they name were replaced (the user cannot edit the embedded default).
fn blame<'c>(release_types: &'c Cursor, referenced: &'c Cursor) -> Option<&'c Cursor<'c>> {
    let from_default = |c: &Cursor| c.source().file == DEFAULT_ORIGIN;
    (from_default(release_types) && !from_default(referenced)).then_some(referenced)
}

pub(super) fn read_release_types(
    c: &Cursor,
    roles: Option<(&Roles, &Cursor)>,
    procedure: Option<(&Procedure, &Cursor)>,
) -> Option<Vec<ReleaseTypeSpec>> {
    let mut out = Vec::new();
    let mut ok = true;
    let named = c.named_tables();
    if named.is_empty() {
        c.source()
            .report(&c.span(), c.path(), "at least one release type is needed");
        return None;
    }
    for (id, t) in named {
        let title = t.str("title");
        let purpose = t.opt_str("purpose").unwrap_or_default();
        let process = t.opt_str_list("process").unwrap_or_default();
        let approvals = t.str_list_list("approvals");
        if let Some(groups) = &approvals {
            // A role in two groups would let one approval fill both: two roles, one person.
            let mut seen = BTreeSet::new();
            for role in groups.iter().flatten() {
                if !seen.insert(role) {
                    t.report(
                        "approvals",
                        format!("role {role:?} is named in two required approvals; one approval cannot count twice"),
                    );
                    ok = false;
                }
            }
        }
        if let (Some(approvals), Some((roles, roles_c))) = (&approvals, roles) {
            for group in approvals {
                if group.is_empty() {
                    t.report(
                        "approvals",
                        "an approval needs at least one role that may give it",
                    );
                    ok = false;
                }
                for role in group {
                    if roles.0.contains_key(role) {
                        continue;
                    }
                    ok = false;
                    match blame(c, roles_c) {
                        Some(user) => user.source().report(
                            &user.span(),
                            user.path(),
                            format!(
                                "the default release type {id:?} needs role {role:?}; define it here, or write your own [release_types]"
                            ),
                        ),
                        None => t.report(
                            "approvals",
                            format!(
                                "unknown role {role:?} (roles are: {})",
                                list(roles.0.keys())
                            ),
                        ),
                    }
                }
            }
        }
        let go_no_go = t.opt_bool("go_no_go").unwrap_or(true);
        let staging = t.str("staging").and_then(|s| {
            StagingPolicy::parse(&s).or_else(|| {
                t.report(
                    "staging",
                    format!("{s:?} is not one of \"required\", \"optional\", \"skipped\""),
                );
                None
            })
        });
        let gating = t.opt_str_list("gating_phases").unwrap_or_default();
        if let (false, Some((procedure, _))) = (go_no_go, procedure) {
            // An item settled only by a GO would block forever where no GO is recorded.
            for g in &gating {
                let waits_for_go = procedure
                    .phase(g)
                    .into_iter()
                    .flat_map(|p| &p.items)
                    .find(|i| i.settled_by == Some(SettledBy::GoDecision));
                if let Some(item) = waits_for_go {
                    t.report(
                        "gating_phases",
                        format!("phase {g:?} has item {:?}, settled by a go decision, but this type has go_no_go = false", item.id),
                    );
                    ok = false;
                }
            }
        }
        if let Some((procedure, procedure_c)) = procedure {
            for g in &gating {
                if procedure.phase(g).is_some() {
                    continue;
                }
                ok = false;
                match blame(c, procedure_c) {
                    Some(user) => user.source().report(
                        &user.span(),
                        user.path(),
                        format!(
                            "the default release type {id:?} gates on phase {g:?}; add that phase, or write your own [release_types]"
                        ),
                    ),
                    None => {
                        let ids: Vec<&String> = procedure.phases.iter().map(|p| &p.id).collect();
                        t.report(
                            "gating_phases",
                            format!("unknown phase {g:?} (phases are: {})", list(ids)),
                        );
                    }
                }
            }
        }
        t.finish();
        match (title, approvals, staging) {
            (Some(title), Some(approvals), Some(staging)) => out.push(ReleaseTypeSpec {
                id,
                title,
                purpose,
                process,
                approvals: approvals
                    .into_iter()
                    .map(|any_of| ApprovalRequirement { any_of })
                    .collect(),
                go_no_go,
                staging,
                gating_phases: gating,
            }),
            _ => ok = false,
        }
    }
    c.finish();
    ok.then_some(out)
}
