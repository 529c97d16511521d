//! The menus in front of a rollback and a migration: kubectl's three ways back (and the
//! database downgrade beside them), the revision to undo to, and the reason asked for.

use super::DeployAnswer;
use crate::app::dialog::{Choice, Input, Pick};
use crate::app::record::no_release;
use crate::app::{Answer, App, Command, Level, Modal};
use crate::release::action::{MigrationDirection, RollbackMethod};

/// The rollback menu: kubectl's three methods, and the database downgrade beside them.
pub fn rollback_menu(app: &mut App) -> Vec<Command> {
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
    let mut options: Vec<Choice<Answer>> = vec![
        Choice::new(
            "previous",
            match previous {
                Some(p) => format!(
                    "undo to the previous revision ({}: {})",
                    p.revision, p.image
                ),
                None => "undo to the previous revision".into(),
            },
            DeployAnswer::Rollback(RollbackMethod::Previous),
        )
        .disabled(if previous.is_none() && !revisions.is_empty() {
            none("previous revision")
        } else {
            None
        }),
    ];
    options.push(
        Choice::new(
            "revision",
            "undo to a chosen revision…",
            DeployAnswer::ChooseRevision,
        )
        .disabled(if revisions.len() < 2 && !revisions.is_empty() {
            none("other revision")
        } else {
            None
        }),
    );
    let previous_image = previous
        .map(|p| p.image.clone())
        .filter(|img| !img.is_empty() && current.is_none_or(|c| c.image != *img));
    options.push(match &previous_image {
        Some(img) => Choice::new(
            "image",
            format!("set the previous image tag ({img})"),
            DeployAnswer::Rollback(RollbackMethod::Image { image: img.clone() }),
        ),
        None => Choice::new(
            "image",
            "set the previous image tag",
            DeployAnswer::Rollback(RollbackMethod::Previous),
        )
        .disabled(Some("no previous image is known".to_string())),
    });
    let down = app
        .config
        .environment(&app.env)
        .map(|e| e.migrate_down.join(" "))
        .unwrap_or_default();
    options.push(Choice::new(
        "downgrade",
        format!("database downgrade ({down})"),
        DeployAnswer::Migrate(MigrationDirection::Down),
    ));
    app.modal = Some(Modal::Pick(Pick::new(
        format!("Roll back {}", app.env),
        options,
    )));
    Vec::new()
}

pub fn revision_menu(app: &mut App) {
    let options: Vec<Choice<Answer>> = app
        .view()
        .map(|v| {
            v.revisions()
                .iter()
                .map(|r| {
                    Choice::new(
                        r.revision.to_string(),
                        format!(
                            "{}  {}  {}",
                            r.revision,
                            r.image,
                            r.change_cause.as_deref().unwrap_or("<none>")
                        ),
                        DeployAnswer::Rollback(RollbackMethod::ToRevision {
                            revision: i64::try_from(r.revision).unwrap_or(i64::MAX),
                        }),
                    )
                    .disabled(r.current.then(|| "running now".to_string()))
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
    app.modal = Some(Modal::Pick(Pick::new("Undo to revision", options)));
}

pub fn ask_rollback_reason(app: &mut App, method: RollbackMethod) {
    app.modal = Some(Modal::Input(Input::new(
        "Rollback reason",
        format!("Why {}? (journaled)", method.describe()),
        DeployAnswer::RollbackReason { method },
    )));
}

pub fn migrations_menu(app: &mut App) -> Vec<Command> {
    let Some(e) = app.config.environment(&app.env) else {
        return Vec::new();
    };
    let options = vec![
        Choice::new(
            "up",
            format!("upgrade: {}", e.migrate_up.join(" ")),
            DeployAnswer::Migrate(MigrationDirection::Up),
        ),
        Choice::new(
            "down",
            format!("downgrade: {}", e.migrate_down.join(" ")),
            DeployAnswer::Migrate(MigrationDirection::Down),
        ),
    ];
    app.modal = Some(Modal::Pick(Pick::new(
        format!("Migrations in {}", app.env),
        options,
    )));
    Vec::new()
}
