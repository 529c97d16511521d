//! Drawing. Every function here only reads `App`; nothing awaits, locks or does I/O.

mod checklist;
mod gates;
mod gauges;
mod help;
mod modal;
mod rollout;
mod runbook;
mod status_bar;
mod tasks;
pub mod theme;
mod timeline;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders};

use crate::app::{App, Modal, Pane};
use theme::Theme;

pub fn draw(frame: &mut Frame, app: &App) {
    let theme = Theme::new(app.no_color);
    let area = frame.area();
    let areas = crate::app::layout::areas(area, app.zoomed.then_some(app.focus));
    let gates = app.gates();
    status_bar::draw(frame, areas.status, app, gates.as_ref(), &theme);
    if let Some(r) = areas.gates {
        gates::draw(frame, r, app, gates.as_ref(), &theme);
    }
    if let Some(r) = areas.checklist {
        checklist::draw(frame, r, app, &theme);
    }
    if let Some(r) = areas.runbook {
        runbook::draw(frame, r, app, &theme);
    }
    if let Some(r) = areas.rollout {
        rollout::draw(frame, r, app, &theme);
    }
    if let Some(r) = areas.timeline {
        timeline::draw(frame, r, app, &theme);
    }
    if let Some(r) = areas.tasks {
        tasks::draw(frame, r, app, &theme);
    }
    status_bar::footer(frame, areas.footer, app, &theme);
    match &app.modal {
        Some(Modal::Help { scroll }) => help::draw(frame, area, app, *scroll, &theme),
        Some(m) => modal::draw(frame, area, m, &theme),
        None => {}
    }
}

/// A pane's frame: its number for the focus keys, its title, and a highlighted border
/// when it has the focus.
fn pane_block<'a>(app: &App, pane: Pane, extra: Option<Line<'a>>, theme: &Theme) -> Block<'a> {
    let focused = app.focus == pane;
    let n = Pane::ALL.iter().position(|p| *p == pane).unwrap_or(0) + 1;
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(theme.border(focused))
        .title(Line::styled(
            format!(" {n} {} ", pane.title()),
            theme.title(),
        ));
    if let Some(extra) = extra {
        block = block.title(extra.right_aligned());
    }
    block
}

/// A rectangle of at most `w` x `h` in the middle of `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
