//! The Timeline pane. Until a metrics source is connected it says so plainly and shows only
//! what the config says will happen: never invented data.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::pane_block;
use super::theme::Theme;
use crate::app::{App, Pane};

pub fn timeline(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines = Vec::new();
    match &app.gauges {
        Some(board) => {
            lines.push(Line::styled(
                format!("{} gauges, from the {}:", app.env, board.source),
                theme.dim(),
            ));
            lines.extend(super::gauges::lines(
                board,
                area.width.saturating_sub(2) as usize,
                theme,
            ));
            lines.push(Line::styled(
                "No deploy yet. Soak window after the production deploy:",
                theme.dim(),
            ));
        }
        None => {
            lines.push(Line::styled(
                "No deploy yet; no metrics source connected.",
                theme.warn(),
            ));
            lines.push(Line::styled(
                "Soak window after the production deploy:",
                theme.dim(),
            ));
        }
    }
    let marks: Vec<String> = app
        .config
        .checkpoints
        .iter()
        .map(|c| format!("T+{} {}", c.at_minutes, c.title))
        .collect();
    for m in marks {
        lines.push(Line::raw(format!(" ○ {m}")));
    }
    let block = pane_block(app, Pane::Timeline, None, theme);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
