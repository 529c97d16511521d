//! The gate panel: what still blocks each deploy, always on screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::release::gates::{Blocker, Gate, GateStatus, Gates};

fn gate_lines<'a>(app: &App, gate: &Gate, theme: &Theme, room: usize) -> Vec<Line<'a>> {
    let head = match gate.status {
        GateStatus::Open => Span::styled(format!("{}: OPEN", gate.target), theme.ok()),
        GateStatus::NotUsed => Span::styled(
            format!("{}: not used by this release type", gate.target),
            theme.dim(),
        ),
        GateStatus::Blocked => Span::styled(format!("{}: BLOCKED", gate.target), theme.bad()),
    };
    let mut lines = vec![Line::from(head)];
    let described = describe_compact(app, &gate.blockers);
    let shown = if described.len() > room {
        room.saturating_sub(1)
    } else {
        described.len()
    };
    for d in described.iter().take(shown) {
        lines.push(Line::raw(format!(" • {d}")));
    }
    if described.len() > shown {
        lines.push(Line::styled(
            format!(" … {} more", described.len() - shown),
            theme.dim(),
        ));
    }
    lines
}

/// Open items across several phases read better as one line: the checklist has the detail.
fn describe_compact(app: &App, blockers: &[Blocker]) -> Vec<String> {
    let open: Vec<usize> = blockers
        .iter()
        .filter_map(|b| match b {
            Blocker::OpenItems { items, .. } => Some(items.len()),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    if open.len() > 1 {
        let n: usize = open.iter().sum();
        out.push(format!("{n} open items in {} phases", open.len()));
    }
    for b in blockers {
        if open.len() > 1 && matches!(b, Blocker::OpenItems { .. }) {
            continue;
        }
        out.push(b.describe(&app.config));
    }
    out
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, gates: Option<&Gates>, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(false))
        .title(Line::styled(" Gates ", theme.title()));
    let inner_height = area.height.saturating_sub(2) as usize;
    let lines = match gates {
        None => vec![Line::styled("no release open", theme.dim())],
        Some(g) => {
            // Production matters most on release day: give it the room.
            let staging_room = if g.staging.status == GateStatus::Blocked {
                1.max(inner_height.saturating_sub(7))
            } else {
                0
            };
            let mut lines = gate_lines(app, &g.staging, theme, staging_room);
            let used = lines.len();
            let prod_room = inner_height.saturating_sub(used + 1);
            lines.extend(gate_lines(app, &g.production, theme, prod_room));
            lines
        }
    };
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
