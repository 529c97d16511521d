//! The menus in front of a rollback and a migration: kubectl's three ways back (and the
//! database downgrade beside them), the revision to undo to, and the reason asked for.

use super::modal::{Input, InputFor, Modal, Pick, PickFor, PickOption};
use super::update::no_release;
use super::{App, Command, Level};
use crate::release::action::RollbackMethod;

/// The rollback menu: kubectl's three methods, and the database downgrade beside them.
pub(super) fn rollback_menu(app: &mut App) -> Vec<Command> {
    if app.release.is_none() {
        no_release(app);
        return Vec::new();
    }
    let revisions = app
        .view()
        .map(|v| v.revisions().to_vec())
        .unwrap_or_default();
    let current = revisions.iter().find(|r| r.current);
    let previous = revisions.iter().find(|r| !r.current);
    let none = |what: &str| Some(format!("no {what} in the revision history"));
    let mut options = vec![PickOption {
        id: "previous".into(),
        label: match previous {
            Some(p) => format!(
                "undo to the previous revision ({}: {})",
                p.revision, p.image
            ),
            None => "undo to the previous revision".into(),
        },
        disabled: if previous.is_none() && !revisions.is_empty() {
            none("previous revision")
        } else {
            None
        },
    }];
    options.push(PickOption {
        id: "revision".into(),
        label: "undo to a chosen revision…".into(),
        disabled: if revisions.len() < 2 && !revisions.is_empty() {
            none("other revision")
        } else {
            None
        },
    });
    let previous_image = previous
        .map(|p| p.image.clone())
        .filter(|img| !img.is_empty() && current.is_none_or(|c| c.image != *img));
    options.push(PickOption {
        id: "image".into(),
        label: match &previous_image {
            Some(img) => format!("set the previous image tag ({img})"),
            None => "set the previous image tag".into(),
        },
        disabled: previous_image
            .is_none()
            .then(|| "no previous image is known".to_string()),
    });
    let down = app
        .config
        .environment(&app.env)
        .map(|e| e.migrate_down.join(" "))
        .unwrap_or_default();
    options.push(PickOption {
        id: "downgrade".into(),
        label: format!("database downgrade ({down})"),
        disabled: None,
    });
    app.modal = Some(Modal::Pick(Pick::new(
        format!("Roll back {}", app.env),
        options,
        PickFor::RollbackMethod { previous_image },
    )));
    Vec::new()
}

pub(super) fn revision_menu(app: &mut App) {
    let options: Vec<PickOption> = app
        .view()
        .map(|v| {
            v.revisions()
                .iter()
                .map(|r| PickOption {
                    id: r.revision.to_string(),
                    label: format!(
                        "{}  {}  {}",
                        r.revision,
                        r.image,
                        r.change_cause.as_deref().unwrap_or("<none>")
                    ),
                    disabled: r.current.then(|| "running now".to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    if options.is_empty() {
        app.modal = None;
        app.log(
            Level::Warn,
            "no revision history is known yet for this environment",
        );
        return;
    }
    app.modal = Some(Modal::Pick(Pick::new(
        "Undo to revision",
        options,
        PickFor::RollbackRevision,
    )));
}

pub(super) fn ask_rollback_reason(app: &mut App, method: RollbackMethod) {
    app.modal = Some(Modal::Input(Input::new(
        "Rollback reason",
        format!("Why {}? (journaled)", method.describe()),
        InputFor::RollbackReason { method },
    )));
}

pub(super) fn migrations_menu(app: &mut App) -> Vec<Command> {
    let Some(e) = app.config.environment(&app.env) else {
        return Vec::new();
    };
    let options = vec![
        PickOption {
            id: "up".into(),
            label: format!("upgrade: {}", e.migrate_up.join(" ")),
            disabled: None,
        },
        PickOption {
            id: "down".into(),
            label: format!("downgrade: {}", e.migrate_down.join(" ")),
            disabled: None,
        },
    ];
    app.modal = Some(Modal::Pick(Pick::new(
        format!("Migrations in {}", app.env),
        options,
        PickFor::Migration,
    )));
    Vec::new()
}
