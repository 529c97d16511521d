//! The Rollout and Timeline panes. Until a cluster and a metrics source are connected they
//! say so plainly and show only what the config says will happen: never invented data.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::pane_block;
use super::theme::Theme;
use crate::app::{App, Pane};

pub fn rollout(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines = match &app.cluster {
        None => vec![Line::styled("No cluster connected.", theme.warn())],
        Some(c) => vec![
            Line::styled(
                if c.simulated {
                    "Sandbox cluster running (simulated)."
                } else {
                    "Cluster configured."
                },
                theme.ok(),
            ),
            Line::raw(format!("api {}", c.api)),
            Line::styled(
                format!("kubectl --kubeconfig {} get pods", c.kubeconfig.display()),
                theme.dim(),
            ),
            Line::styled("The live rollout view is not built yet.", theme.warn()),
        ],
    };
    if let Some(env) = app.config.environment(&app.env) {
        lines.push(Line::from(vec![
            Span::raw("target: "),
            Span::styled(
                format!("deployment/{} ({})", env.deployment, env.container),
                theme.title(),
            ),
        ]));
        lines.push(Line::raw(format!(
            "namespace {}, context {}",
            env.namespace, env.kube_context
        )));
        lines.push(Line::styled(
            format!("image {}:<version>", env.image_repository),
            theme.dim(),
        ));
    }
    let block = pane_block(app, Pane::Rollout, None, theme);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

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
