//! The Tasks / log pane: running checks first, then the newest log lines.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::pane_block;
use super::theme::Theme;
use crate::app::{App, Level, Pane};
use crate::release::schedule::human_duration;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let extra = (app.log_scroll > 0)
        .then(|| Line::styled(format!(" scrolled back {} ", app.log_scroll), theme.warn()));
    let block = pane_block(app, Pane::Tasks, extra, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let mut lines: Vec<Line> = app
        .running_checks
        .iter()
        .map(|(item, c)| {
            Line::from(vec![
                Span::styled(format!("⟳ {item} "), theme.warn()),
                Span::raw(format!(
                    "{} ({}) ",
                    c.argv.join(" "),
                    human_duration(app.now - c.started)
                )),
                Span::styled(c.last_line.clone().unwrap_or_default(), theme.dim()),
            ])
        })
        .collect();
    // Running actions: what they are, how long, and their newest progress or output line.
    for (task, t) in &app.tasks {
        let last = t
            .progress
            .clone()
            .or_else(|| t.output.back().cloned())
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("⟳ #{task} {} ", t.action.describe()), theme.warn()),
            Span::raw(format!(
                "in {} ({}) ",
                t.env,
                human_duration(app.now - t.started)
            )),
            Span::styled(last, theme.dim()),
        ]));
    }
    let room = height.saturating_sub(lines.len());
    let end = app.log.len().saturating_sub(app.log_scroll);
    let start = end.saturating_sub(room);
    for l in app.log.range(start..end) {
        let style = match l.level {
            Level::Info => theme.base(),
            Level::Warn => theme.warn(),
            Level::Error => theme.bad(),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", l.at.format("%H:%M:%S")), theme.dim()),
            Span::styled(l.text.clone(), style),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
