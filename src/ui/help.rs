//! The help overlay, built from the keymap table so it always matches the keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::centered;
use super::theme::Theme;
use crate::app::App;
use crate::app::keymap::HELP;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, scroll: u16, theme: &Theme) {
    let mut lines = Vec::new();
    for (heading, bindings) in HELP {
        lines.push(Line::styled(heading.to_string(), theme.title()));
        for b in *bindings {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<13}", b.keys), theme.key()),
                Span::raw(b.what),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!("log file: {}", app.log_file.display()),
        theme.dim(),
    ));
    lines.push(Line::styled(
        format!("state dir: {}", app.state_dir.display()),
        theme.dim(),
    ));
    lines.push(Line::styled(
        format!("config: {}", app.config.origin),
        theme.dim(),
    ));
    let rect = centered(area, 66, area.height.saturating_sub(2));
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(Line::styled(
            " Help: keys (Esc closes, j/k scroll) ",
            theme.title(),
        ));
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), rect);
}
