//! Clicks focus panes and pick checklist rows; the wheel scrolls. Hit-testing uses the same
//! layout function as drawing.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::move_selection;
use crate::app::checklist::{self, row_count};
use crate::app::{App, Pane, layout};

pub fn on_mouse(app: &mut App, m: MouseEvent) {
    if app.modal.is_some() {
        return;
    }
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    let areas = layout::areas(area, app.zoomed.then_some(app.focus));
    let pos = Position::new(m.column, m.row);
    let hit = Pane::ALL
        .iter()
        .copied()
        .find(|p| areas.pane(*p).is_some_and(|r| r.contains(pos)));
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            let Some(pane) = hit else { return };
            app.focus = pane;
            if pane == Pane::Checklist {
                let rect = areas.pane(pane).expect("hit pane has an area");
                let inner_top = rect.y + 1;
                let height = rect.height.saturating_sub(2) as usize;
                if m.row >= inner_top && (m.row - inner_top) < height as u16 {
                    let n = row_count(app);
                    let offset = checklist::scroll_offset(app.checklist.selected, n, height);
                    let row = offset + (m.row - inner_top) as usize;
                    if row < n {
                        app.checklist.selected = row;
                    }
                }
            }
        }
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            if let Some(pane) = hit {
                app.focus = pane;
            }
            let delta = if m.kind == MouseEventKind::ScrollDown {
                1
            } else {
                -1
            };
            move_selection(app, delta);
        }
        _ => {}
    }
}
