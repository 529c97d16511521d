//! The Runbook pane: the procedure's deploy steps in order, each with its state from the
//! journal, the step "r" would run marked, and why a blocked step waits.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::pane_block;
use super::theme::Theme;
use crate::app::{App, Pane};
use crate::release::gates;
use crate::release::runbook::{self, StepState};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = pane_block(app, Pane::Runbook, None, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(release) = &app.release else {
        frame.render_widget(
            Paragraph::new(Line::styled("No release open.", theme.dim())),
            inner,
        );
        return;
    };
    let gates = gates::evaluate(release, &app.config);
    let steps = runbook::steps(&app.config);
    let next = runbook::next(&app.config, release, &gates);
    let width = inner.width as usize;
    let mut lines = Vec::new();
    let mut selected_line = 0;
    let mut next_line = 0;
    let mut stage = None;
    for (i, step) in steps.iter().enumerate() {
        if stage != Some(step.stage) {
            stage = Some(step.stage);
            lines.push(Line::styled(step.stage.title(), theme.title()));
        }
        let state = runbook::state(step, release, &app.config, &gates);
        let (mark, style, note) = match &state {
            StepState::Done { summary, .. } => ("✓", theme.ok(), summary.clone()),
            StepState::Failed { summary, .. } => ("✗", theme.bad(), summary.clone()),
            StepState::Running { task } => {
                let progress = app
                    .tasks
                    .get(task)
                    .and_then(|t| t.progress.clone())
                    .unwrap_or_else(|| "running".into());
                ("⟳", theme.warn(), format!("#{task} {progress}"))
            }
            StepState::Blocked { why } => ("·", theme.dim(), why.clone()),
            StepState::NotUsed { why } => ("-", theme.dim(), why.clone()),
            StepState::Ready => ("○", theme.base(), String::new()),
        };
        let pointer = if next == Some(i) {
            next_line = lines.len();
            "▶"
        } else {
            " "
        };
        let head = format!("{pointer}{mark} {} {}", step.env, step.title);
        let room = width.saturating_sub(head.chars().count() + 2);
        let note: String = if note.chars().count() > room {
            let cut: String = note.chars().take(room.saturating_sub(1)).collect();
            format!("{cut}…")
        } else {
            note
        };
        let mut line = Line::from(vec![
            Span::styled(head, style),
            Span::raw("  "),
            Span::styled(note, theme.dim()),
        ]);
        if i == app.runbook_selected && app.focus == Pane::Runbook {
            line = line.style(theme.selected());
            selected_line = lines.len();
        }
        lines.push(line);
    }
    // Keep the selected step (or, unfocused, the next one) in sight when the pane is
    // shorter than the runbook.
    let height = inner.height as usize;
    let anchor = if app.focus == Pane::Runbook {
        selected_line
    } else {
        next_line
    };
    let skip = (anchor + 2)
        .saturating_sub(height)
        .min(anchor.saturating_sub(1));
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
