//! The gate panel: what still blocks each deploy, always on screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::release::gates::{Gate, GateStatus, Gates};

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
    let shown = gate.blockers.len().min(room);
    for b in gate.blockers.iter().take(shown) {
        lines.push(Line::raw(format!(" • {}", b.describe(&app.config))));
    }
    if gate.blockers.len() > shown {
        lines.push(Line::styled(
            format!(" … {} more", gate.blockers.len() - shown),
            theme.dim(),
        ));
    }
    lines
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
                1.max(inner_height.saturating_sub(4) / 3)
            } else {
                0
            };
            let mut lines = gate_lines(app, &g.staging, theme, staging_room);
            let used = lines.len();
            let prod_room = inner_height.saturating_sub(used + 2);
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
