//! The checklist pane: phases with progress and due dates, items with who settled them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::pane_block;
use super::theme::Theme;
use crate::app::checklist::{Row, rows, scroll_offset};
use crate::app::{App, Pane};
use crate::release::state::ItemStatus;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(release) = &app.release else {
        let block = pane_block(app, Pane::Checklist, None, theme);
        let text = vec![
            Line::raw("No release is open."),
            Line::raw(""),
            Line::from(vec![
                Span::raw("Press "),
                Span::styled("n", theme.key()),
                Span::raw(" to create one (version and type),"),
            ]),
            Line::from(vec![
                Span::raw("or start with "),
                Span::styled("--release 1.2.3", theme.key()),
                Span::raw("."),
            ]),
        ];
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    };
    let all = rows(&app.config, release, &app.collapsed_phases);
    let settled: usize = all
        .iter()
        .filter_map(|r| match r {
            Row::Phase {
                done,
                applies: true,
                ..
            } => Some(*done),
            _ => None,
        })
        .sum();
    let total: usize = all
        .iter()
        .filter_map(|r| match r {
            Row::Phase {
                total,
                applies: true,
                ..
            } => Some(*total),
            _ => None,
        })
        .sum();
    let block = pane_block(
        app,
        Pane::Checklist,
        Some(Line::raw(format!(" {settled}/{total} ")).style(theme.dim())),
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let offset = scroll_offset(app.checklist.selected, all.len(), height);
    let width = inner.width as usize;
    let lines: Vec<Line> = all
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, row)| {
            let line = row_line(app, row, width, theme);
            if i == app.checklist.selected && app.focus == Pane::Checklist {
                line.style(theme.selected())
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row_line<'a>(app: &App, row: &Row, width: usize, theme: &Theme) -> Line<'a> {
    match row {
        Row::Phase {
            title,
            done,
            total,
            due,
            applies,
            gating,
            folded,
            ..
        } => {
            let marker = if *folded { "▸" } else { "▾" };
            let progress_style = if done == total {
                theme.ok()
            } else {
                theme.base()
            };
            let mut spans = vec![
                Span::styled(format!("{marker} {title} "), theme.title()),
                Span::styled(format!("{done}/{total}"), progress_style),
            ];
            if !applies {
                spans.push(Span::styled(" off (C: on)", theme.dim()));
            } else if !gating {
                spans.push(Span::styled(" not gating", theme.dim()));
            }
            spans.push(Span::styled(
                format!(" due {}", due.format("%a %m-%d")),
                theme.dim(),
            ));
            Line::from(spans)
        }
        Row::Item {
            id,
            text,
            state,
            has_check,
            applies,
            linked,
        } => {
            let running = state.check_running || app.running_checks.contains_key(id);
            let check_failed = state
                .last_check
                .as_ref()
                .is_some_and(|c| !c.outcome.passed());
            let (mark, style) = match &state.status {
                _ if linked.is_some() => ("[x]", theme.ok()),
                ItemStatus::Done { .. } => ("[x]", theme.ok()),
                ItemStatus::Waived { .. } => ("[~]", theme.warn()),
                ItemStatus::Open if running && !app.running_checks.contains_key(id) => {
                    ("[?]", theme.warn())
                }
                ItemStatus::Open if running => ("[…]", theme.warn()),
                ItemStatus::Open if check_failed => ("[!]", theme.bad()),
                ItemStatus::Open => ("[ ]", theme.base()),
            };
            let who = match &state.status {
                _ if linked.is_some() => format!(" {}", linked.as_deref().unwrap_or_default()),
                ItemStatus::Done { signed, by_check } => {
                    let how = if *by_check {
                        "check"
                    } else {
                        signed.by.as_str()
                    };
                    format!(" {how} {}", signed.at.format("%m-%d %H:%M"))
                }
                ItemStatus::Waived { signed, reason } => {
                    format!(" waived by {}: {reason}", signed.by)
                }
                ItemStatus::Open if running && !app.running_checks.contains_key(id) => {
                    " check interrupted".to_string()
                }
                ItemStatus::Open if running => " checking…".to_string(),
                ItemStatus::Open if check_failed => " check failed".to_string(),
                ItemStatus::Open => String::new(),
            };
            let check = if *has_check { " ⚙" } else { "" };
            let text_style = if *applies { theme.base() } else { theme.dim() };
            let budget = width.saturating_sub(6 + who.chars().count() + check.len());
            Line::from(vec![
                Span::styled(format!("  {mark} "), style),
                Span::styled(truncate(text, budget.max(8)), text_style),
                Span::styled(check.to_string(), theme.dim()),
                Span::styled(who, theme.dim()),
            ])
        }
    }
}

/// Cuts `s` to `max` characters, marking the cut with an ellipsis.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
