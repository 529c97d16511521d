//! The Rollout pane: kubectl's verdict on the rollout, how stale the view is while a watch
//! is down, the revisions, the pod table, the conditions, migration Jobs and recent Warning
//! events. Rows come ordered from the view; drawing walks only the ones that fit.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::pane_block;
use super::theme::Theme;
use crate::app::{App, Pane};
use crate::cluster::progress::RolloutStatus;
use crate::cluster::view::{ClusterView, JobState};
use crate::release::schedule::human_duration;

/// How many revisions, Warning events and Jobs the pane shows at most.
const REVISIONS: usize = 4;
const WARNINGS: usize = 4;
const JOBS: usize = 2;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(view) = app.view() else {
        not_connected(frame, area, app, theme);
        return;
    };
    let extra = app
        .cluster
        .as_ref()
        .filter(|c| c.simulated)
        .map(|_| Line::styled(" sandbox ", theme.dim()));
    let block = pane_block(app, Pane::Rollout, extra, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let height = inner.height as usize;
    let mut top: Vec<Line> = Vec::new();
    let t = &view.target;
    top.push(Line::from(vec![
        Span::styled(format!("deployment/{}", t.deployment), theme.title()),
        Span::styled(format!("  {}  ns {}", t.env, t.namespace), theme.dim()),
    ]));
    if let Some(stale) = view.staleness(app.now) {
        top.push(Line::styled(format!("⚠ {stale}"), theme.bad()));
    }
    if let Some(why) = &view.missing {
        top.push(Line::styled(
            format!("deployment not found: {why}"),
            theme.bad(),
        ));
    }
    match view.progress() {
        Some(status) => {
            let style = match &status {
                RolloutStatus::Waiting(_) => theme.warn(),
                RolloutStatus::Done(_) => theme.ok(),
                RolloutStatus::Failed(_) => theme.bad(),
            };
            top.push(Line::styled(status.message().to_string(), style));
        }
        None if view.missing.is_none() => {
            top.push(Line::styled("waiting for the first list…", theme.dim()));
        }
        None => {}
    }
    if let Some(c) = view.counts() {
        top.push(Line::styled(
            format!(
                "desired {} · current {} · updated {} · ready {} · available {}",
                c.desired, c.current, c.updated, c.ready, c.available
            ),
            theme.dim(),
        ));
    }
    let conditions: Vec<String> = view
        .conditions()
        .iter()
        .map(|c| match &c.reason {
            Some(r) => format!("{}={} ({r})", c.type_, c.status),
            None => format!("{}={}", c.type_, c.status),
        })
        .collect();
    // What the pane can do without when it is short: conditions, revisions, Jobs.
    let mut extra: Vec<Line> = Vec::new();
    // The image column fits the longest tag shown (a narrow pane keeps each tag's end).
    let image_w = view
        .revisions()
        .iter()
        .take(REVISIONS)
        .map(|r| r.image.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(12, 40);
    for r in view.revisions().iter().take(REVISIONS) {
        let age = r
            .created
            .map(|c| human_duration(app.now - c))
            .unwrap_or_default();
        let style = if r.current { theme.ok() } else { theme.base() };
        // What runs now is never dropped for room; older revisions are.
        let into = if r.current { &mut top } else { &mut extra };
        into.push(Line::from(vec![
            Span::styled(
                format!(
                    "{} rev {:<3} {:<image_w$} {}/{} ",
                    if r.current { "▶" } else { " " },
                    r.revision,
                    keep_end(&r.image, image_w),
                    r.ready,
                    r.replicas
                ),
                style,
            ),
            Span::styled(
                format!("{} {age}", r.change_cause.as_deref().unwrap_or("<none>")),
                theme.dim(),
            ),
        ]));
    }
    if !conditions.is_empty() {
        extra.push(Line::styled(conditions.join(" · "), theme.dim()));
    }
    for j in view.jobs().iter().rev().take(JOBS) {
        let (state, style) = match &j.state {
            JobState::Running => ("Running".to_string(), theme.warn()),
            JobState::Complete => ("Complete".to_string(), theme.ok()),
            JobState::Failed(reason) => (format!("Failed ({reason})"), theme.bad()),
        };
        extra.push(Line::from(vec![
            Span::styled(format!("job {} ", j.name), theme.base()),
            Span::styled(state, style),
            Span::styled(format!("  {}", j.command.join(" ")), theme.dim()),
        ]));
    }
    let all_warnings: Vec<_> = view.warnings().collect();
    let warnings: Vec<Line> = all_warnings
        .iter()
        .rev()
        .take(WARNINGS)
        .map(|w| {
            let count = if w.count > 1 {
                format!(" (×{})", w.count)
            } else {
                String::new()
            };
            Line::from(vec![
                Span::styled(format!("⚠ {} ", w.reason), theme.bad()),
                Span::styled(format!("{}: {}{count}", w.object, w.message), theme.dim()),
            ])
        })
        .collect();
    // A short pane keeps kubectl's verdict, what runs now, a couple of pods and the newest
    // warning before the older revisions and the conditions.
    let mut warnings = warnings;
    let want_pods = view.pod_count().min(2);
    let fixed = top.len() + 1 + want_pods;
    if fixed + warnings.len() > height {
        warnings.truncate(1);
    }
    let extra_rows = height
        .saturating_sub(fixed + warnings.len())
        .min(extra.len());
    extra.truncate(extra_rows);
    let pod_rows = height
        .saturating_sub(top.len() + extra.len() + 1 + warnings.len())
        .min(view.pod_count());
    let mut lines = top;
    lines.extend(extra);
    lines.push(Line::styled(pod_header(width), theme.title()));
    lines.extend(pod_lines(view, app, theme, pod_rows, width));
    lines.extend(warnings);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// At most `w` characters, keeping the end (a tag, a pod's suffix) where it differs.
fn keep_end(s: &str, w: usize) -> String {
    let len = s.chars().count();
    if len <= w {
        return s.to_string();
    }
    let tail: String = s.chars().skip(len - (w - 1)).collect();
    format!("…{tail}")
}

fn pod_header(width: usize) -> String {
    let name = name_width(width);
    format!(
        "{:<name$} {:>4} {:>5} {:<18} {:>8} {:>7}",
        "NAME", "REV", "READY", "STATUS", "RESTARTS", "AGE"
    )
}

/// The name column takes what the fixed columns leave.
fn name_width(width: usize) -> usize {
    width.saturating_sub(4 + 5 + 18 + 8 + 7 + 5).clamp(12, 60)
}

fn pod_lines<'a>(
    view: &'a ClusterView,
    app: &App,
    theme: &Theme,
    rows: usize,
    width: usize,
) -> impl Iterator<Item = Line<'a>> {
    let name_w = name_width(width);
    let now = app.now;
    let ok = theme.ok();
    let warn = theme.warn();
    let bad = theme.bad();
    let skip = app.pod_scroll.min(view.pod_count().saturating_sub(rows));
    view.pods().skip(skip).take(rows).map(move |p| {
        let style: Style = match p.status.as_str() {
            "Running" if p.ready == p.containers => ok,
            "Running" | "ContainerCreating" | "Pending" | "Terminating" => warn,
            _ => bad,
        };
        // Pods differ in their suffix: a narrow column keeps the end of the name.
        let name = keep_end(&p.name, name_w);
        let rev = p
            .revision
            .map(|r| r.to_string())
            .unwrap_or_else(|| "?".into());
        let age = p
            .created
            .map(|c| human_duration(now - c))
            .unwrap_or_default();
        Line::from(vec![
            Span::raw(format!("{name:<name_w$} {rev:>4} {:>5} ", p.ready_text())),
            Span::styled(format!("{:<18}", p.status), style),
            Span::raw(format!(" {:>8} {age:>7}", p.restarts)),
        ])
    })
}

/// Before a cluster is connected: what the config says the cockpit will act on.
fn not_connected(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines = match &app.cluster {
        None => vec![Line::styled("No cluster connected.", theme.warn())],
        Some(c) => vec![
            Line::styled("Connecting to the cluster…", theme.warn()),
            Line::raw(format!("api {}", c.api)),
            Line::styled(
                format!("kubectl --kubeconfig {} get pods", c.kubeconfig.display()),
                theme.dim(),
            ),
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
