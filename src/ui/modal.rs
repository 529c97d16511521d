//! Confirmations, prompts and pickers, drawn over everything else.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use super::centered;
use super::theme::Theme;
use crate::app::Modal;

pub fn draw(frame: &mut Frame, area: Rect, modal: &Modal, theme: &Theme) {
    let (title, mut lines, error) = match modal {
        Modal::Help { .. } => return,
        Modal::Confirm(c) => {
            let mut lines: Vec<Line> = c.body.iter().map(|b| Line::raw(b.clone())).collect();
            lines.push(Line::raw(""));
            lines.push(Line::from(vec![
                Span::styled("y", theme.key()),
                Span::raw("/Enter confirm · "),
                Span::styled("n", theme.key()),
                Span::raw("/Esc cancel"),
            ]));
            (c.title.clone(), lines, c.error.clone())
        }
        Modal::Input(i) => {
            let mut lines: Vec<Line> = i.prompt.lines().map(|l| Line::raw(l.to_string())).collect();
            lines.extend([
                Line::styled(format!("> {}▏", i.input), theme.key()),
                Line::styled("Enter submit · Esc cancel · Ctrl-U clear", theme.dim()),
            ]);
            (i.title.clone(), lines, i.error.clone())
        }
        Modal::Pick(p) => {
            let lines = p
                .options
                .iter()
                .enumerate()
                .map(|(n, o)| {
                    let marker = if n == p.selected { "▶ " } else { "  " };
                    let mut spans = vec![Span::raw(format!("{marker}{}", o.label))];
                    if let Some(why) = &o.disabled {
                        spans.push(Span::styled(format!("  ({why})"), theme.dim()));
                    }
                    let line = Line::from(spans);
                    if n == p.selected {
                        line.style(theme.selected())
                    } else {
                        line
                    }
                })
                .collect();
            (p.title.clone(), lines, p.error.clone())
        }
    };
    if let Some(e) = error {
        lines.push(Line::styled(format!("✗ {e}"), theme.bad()));
    }
    let width = area.width.saturating_sub(4).min(72);
    // Long lines wrap: the box grows by the rows they take.
    let inner = width.saturating_sub(2).max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let height = (rows as u16 + 2).min(area.height);
    // Word wrapping can take a row more than the count by characters.
    let slack = u16::from(rows > lines.len());
    let rect = centered(area, width, height + slack);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(Line::styled(format!(" {title} "), theme.title()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}
