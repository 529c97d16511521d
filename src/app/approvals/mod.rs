//! The release's decisions: approvals and their revocation, the go/no-go, the release
//! type, compliance, staging validated, and the commit SHA the release is built from.

use super::dialog::{Choice, Confirm, Input, Pick};
use super::record::{no_release, record_from_dialog, refuse_in_dialog};
use super::{Answer, App, Command, Level, Modal, releases};
use crate::release::event::{Event, GoNoGo};
use crate::release::rules;
use crate::release::rules::approval::{MayApprove, may_approve};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Approve,
    Revoke,
    Decide,
    ChangeType,
    ToggleCompliance,
    ValidateStaging,
    SetCommit,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalAnswer {
    /// The role chosen; the approver's name is asked next.
    ApproveAs {
        role: String,
    },
    ApproverName {
        role: String,
    },
    Revoke {
        role: String,
    },
    Go,
    NoGo,
    NoGoReason,
    /// The type chosen; the reason is asked next.
    ChangeTypeTo {
        release_type: String,
    },
    TypeChangeReason {
        release_type: String,
    },
    CommitSha,
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Command> {
    match intent {
        Intent::Approve => open_approve(app),
        Intent::Revoke => open_revoke(app),
        Intent::Decide => {
            if app.release.is_some() {
                let options = vec![
                    Choice::new("go", "GO: proceed with the release", ApprovalAnswer::Go),
                    Choice::new(
                        "no-go",
                        "NO-GO: hold the release (reason required)",
                        ApprovalAnswer::NoGo,
                    ),
                ];
                app.modal = Some(Modal::Pick(Pick::new("Go/no-go decision", options)));
            } else {
                no_release(app);
            }
        }
        Intent::ChangeType => {
            if let Some(release) = &app.release {
                let options =
                    releases::type_options(&app.config, Some(release.release_type.as_str()), |t| {
                        ApprovalAnswer::ChangeTypeTo { release_type: t }.into()
                    });
                app.modal = Some(Modal::Pick(Pick::new("Change release type", options)));
            } else {
                no_release(app);
            }
        }
        Intent::ToggleCompliance => toggle_compliance(app),
        Intent::ValidateStaging => validate_staging(app),
        Intent::SetCommit => {
            app.modal = Some(Modal::Input(Input::new(
                "Commit SHA",
                "The git commit this release is built from",
                ApprovalAnswer::CommitSha,
            )));
        }
    }
    Vec::new()
}

pub fn on_answer(app: &mut App, answer: ApprovalAnswer, text: String) -> Vec<Command> {
    match answer {
        ApprovalAnswer::ApproveAs { role } => {
            approve_as(app, role);
            Vec::new()
        }
        ApprovalAnswer::ApproverName { role } => {
            record_from_dialog(app, Event::Approved { role, name: text })
        }
        ApprovalAnswer::Revoke { role } => {
            let title = app.config.roles.title(&role).to_string();
            app.modal = Some(Modal::Confirm(Confirm::new(
                format!("Revoke the {title} approval?"),
                vec!["The production gate will need it again.".into()],
                Answer::Record(Event::ApprovalRevoked { role }),
            )));
            Vec::new()
        }
        ApprovalAnswer::Go => {
            confirm_go(app);
            Vec::new()
        }
        ApprovalAnswer::NoGo => {
            app.modal = Some(Modal::Input(Input::new(
                "NO-GO",
                "Why is the release held? (recorded in the journal)",
                ApprovalAnswer::NoGoReason,
            )));
            Vec::new()
        }
        ApprovalAnswer::NoGoReason => record_from_dialog(
            app,
            Event::Decision {
                verdict: GoNoGo::NoGo,
                reason: Some(text),
            },
        ),
        ApprovalAnswer::ChangeTypeTo { release_type } => {
            app.modal = Some(Modal::Input(Input::new(
                format!("Change type to {release_type}"),
                "Why? (recorded in the journal)",
                ApprovalAnswer::TypeChangeReason { release_type },
            )));
            Vec::new()
        }
        ApprovalAnswer::TypeChangeReason { release_type } => record_from_dialog(
            app,
            Event::TypeChanged {
                release_type,
                reason: text,
            },
        ),
        ApprovalAnswer::CommitSha => record_from_dialog(app, Event::CommitSet { commit_sha: text }),
    }
}

fn confirm_go(app: &mut App) {
    let event = Event::Decision {
        verdict: GoNoGo::Go,
        reason: None,
    };
    if let Some(Err(why)) = app
        .release
        .as_ref()
        .map(|r| rules::check(r, &app.config, &app.caller(), &event))
    {
        refuse_in_dialog(app, why);
        return;
    }
    let version = app
        .release
        .as_ref()
        .map(|r| r.version.clone())
        .unwrap_or_default();
    app.modal = Some(Modal::Confirm(Confirm::new(
        format!("Record GO for {version}?"),
        vec![
            format!(
                "Decided by {} at {}.",
                app.identity.author,
                app.now.format("%H:%M UTC")
            ),
            "Production still waits for its other gates.".into(),
        ],
        Answer::Record(event),
    )));
}

fn toggle_compliance(app: &mut App) {
    let Some(release) = &app.release else {
        no_release(app);
        return;
    };
    let required = !release.compliance;
    let body = if required {
        vec![
            "This release touches regulated features (payments, user data).".into(),
            "The compliance items will block the production deploy.".into(),
        ]
    } else {
        vec!["The compliance items will no longer be asked of this release.".into()]
    };
    app.modal = Some(Modal::Confirm(Confirm::new(
        if required {
            "Switch compliance on?"
        } else {
            "Switch compliance off?"
        },
        body,
        Answer::Record(Event::ComplianceSet { required }),
    )));
}

/// `V`, and the runbook's staging-validation step: confirmed, then recorded.
pub fn validate_staging(app: &mut App) {
    let event = Event::StagingValidated { note: None };
    let Some(release) = &app.release else {
        no_release(app);
        return;
    };
    if let Err(why) = rules::check(release, &app.config, &app.caller(), &event) {
        app.log(Level::Warn, why);
        return;
    }
    app.modal = Some(Modal::Confirm(Confirm::new(
        "Mark staging validated?",
        vec![
            format!(
                "Smoke and performance tests of {} on staging passed.",
                release.version
            ),
            "This opens the production gate's staging check.".into(),
        ],
        Answer::Record(event),
    )));
}

/// After the role: the approval is the approver's own, recorded under the cockpit's
/// identity once confirmed; where the config allows proxy entries, the name is asked
/// (the operator's own to start with), and another's says it was entered for them.
fn approve_as(app: &mut App, role: String) {
    let title = app.config.roles.title(&role).to_string();
    let me = app.identity.author.clone();
    if app.config.access.proxy_approvals {
        let mut input = Input::new(
            format!("Approval as {title}"),
            format!("Approver: you ({me}), or whose approval you enter for them"),
            ApprovalAnswer::ApproverName { role },
        );
        input.input = me.name;
        app.modal = Some(Modal::Input(input));
        return;
    }
    let event = Event::Approved {
        role,
        name: me.name.clone(),
    };
    let refused = app
        .release
        .as_ref()
        .map(|r| rules::check(r, &app.config, &app.caller(), &event));
    if let Some(Err(why)) = refused {
        refuse_in_dialog(app, why);
        return;
    }
    let vouched = match &me.verified_by {
        Some(env) => format!("{}, as {env}'s API server knows you.", me.name),
        None => format!("{me}: no cluster vouched for this name."),
    };
    app.modal = Some(Modal::Confirm(Confirm::new(
        format!("Approve as {title}?"),
        vec![format!("Recorded as {vouched}")],
        Answer::Record(event),
    )));
}

fn role_label(app: &App, role: &str) -> String {
    format!("{} ({role})", app.config.roles.title(role))
}

fn open_approve(app: &mut App) {
    let Some(release) = &app.release else {
        no_release(app);
        return;
    };
    let Some(spec) = app.config.release_type(&release.release_type) else {
        return;
    };
    let mut options = Vec::new();
    for req in &spec.approvals {
        let met = req
            .any_of
            .iter()
            .find_map(|r| release.approvals.get(r).map(|a| (r, a)));
        for role in &req.any_of {
            options.push(
                Choice::new(
                    role.clone(),
                    role_label(app, role),
                    ApprovalAnswer::ApproveAs { role: role.clone() },
                )
                .disabled(
                    met.map(|(r, a)| format!("met by {} as {}", a.name, app.config.roles.title(r)))
                        .or_else(|| not_mine(app, role)),
                ),
            );
        }
    }
    app.modal = Some(Modal::Pick(Pick::new(
        format!("Approve {} as", release.version),
        options,
    )));
}

/// Why the cockpit's identity may not approve as `role`, when approvals are only ever the
/// approver's own (no proxy entries).
fn not_mine(app: &App, role: &str) -> Option<String> {
    if app.config.access.proxy_approvals {
        return None;
    }
    let me = &app.identity;
    match may_approve(&app.config.access, role, &me.author.name, Some(&me.groups)) {
        MayApprove::No { .. } => Some(format!("not for {}", me.author.name)),
        _ => None,
    }
}

fn open_revoke(app: &mut App) {
    let Some(release) = &app.release else {
        no_release(app);
        return;
    };
    if release.approvals.is_empty() {
        app.log(Level::Warn, "no approvals to revoke");
        return;
    }
    let options = release
        .approvals
        .iter()
        .map(|(role, a)| {
            Choice::new(
                role.clone(),
                match a.proxy() {
                    Some(by) => format!("{}: {} (entered by {by})", role_label(app, role), a.name),
                    None => format!("{}: {}", role_label(app, role), a.name),
                },
                ApprovalAnswer::Revoke { role: role.clone() },
            )
        })
        .collect();
    app.modal = Some(Modal::Pick(Pick::new("Revoke approval", options)));
}
