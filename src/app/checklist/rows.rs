//! The checklist as rows on screen: phase headers and their items, folded or not. Drawing,
//! the keys and the mouse all read the same rows.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::release::gates::settled_by_link;
use crate::release::procedure::PhaseCondition;
use crate::release::progress;
use crate::release::state::{ItemState, ReleaseState};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChecklistView {
    /// Index into `rows()`.
    pub selected: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Phase {
        id: String,
        title: String,
        done: usize,
        total: usize,
        due: DateTime<Utc>,
        /// False for compliance while the release does not touch regulated features.
        applies: bool,
        gating: bool,
        folded: bool,
    },
    Item {
        id: String,
        text: String,
        state: Box<ItemState>,
        has_check: bool,
        applies: bool,
        /// Settled by a recorded decision: who and how ("GO by alice").
        linked: Option<String>,
    },
}

impl Row {
    pub fn item_id(&self) -> Option<&str> {
        match self {
            Row::Item { id, .. } => Some(id),
            Row::Phase { .. } => None,
        }
    }
}

/// The visible rows. Phases that do not apply start folded unless the user unfolded them.
pub fn rows(config: &Config, release: &ReleaseState, folded: &BTreeSet<String>) -> Vec<Row> {
    let mut out = Vec::new();
    for p in progress::phases(config, release) {
        // `folded` holds the phases whose default was flipped by the user.
        let default_folded = !p.applies && p.phase.only_when == PhaseCondition::Compliance;
        let is_folded = default_folded != folded.contains(p.id);
        out.push(Row::Phase {
            id: p.id.to_string(),
            title: p.title.to_string(),
            done: p.done,
            total: p.total,
            due: p.due,
            applies: p.applies,
            gating: p.gating,
            folded: is_folded,
        });
        if is_folded {
            continue;
        }
        for item in &p.phase.items {
            out.push(Row::Item {
                id: item.id.clone(),
                text: item.text.clone(),
                state: Box::new(release.item(&item.id)),
                has_check: item.check.is_some(),
                applies: p.applies,
                linked: settled_by_link(release, item),
            });
        }
    }
    out
}

/// The first row shown so that `selected` is visible in `height` rows.
pub fn scroll_offset(selected: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    // Keep the selection a little above the bottom edge so what follows is visible.
    let margin = (height / 4).min(2);
    (selected + margin + 1)
        .saturating_sub(height)
        .min(len - height)
}

/// The row under the checklist's cursor.
pub fn selected_row(app: &crate::app::App) -> Option<Row> {
    let release = app.release.as_ref()?;
    let rows = rows(&app.config, release, &app.collapsed_phases);
    rows.get(app.checklist.selected).cloned()
}

pub fn row_count(app: &crate::app::App) -> usize {
    app.release
        .as_ref()
        .map_or(0, |r| rows(&app.config, r, &app.collapsed_phases).len())
}
