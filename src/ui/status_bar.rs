//! The two status lines on top (where, what, when, and the gates at a glance) and the key
//! hints at the bottom.

use crate::cluster::lease::Role;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::{App, Pane};
use crate::release::event::GoNoGo;
use crate::release::gates::{Gate, GateStatus, Gates};
use crate::release::{schedule, soak};

/// A gate in a word or two; the gate panel beside the checklist has the detail.
fn gate_span<'a>(gate: &Gate, theme: &Theme) -> Span<'a> {
    let name = if gate.target == "production" {
        "prod"
    } else {
        gate.target
    };
    match gate.status {
        GateStatus::Open => Span::styled(format!("{name} OPEN"), theme.ok()),
        GateStatus::NotUsed => Span::styled(format!("{name} not used"), theme.dim()),
        GateStatus::Blocked => Span::styled(
            format!("{name} BLOCKED({})", gate.blockers.len()),
            theme.bad(),
        ),
    }
}

/// Who the cockpit records as: a name the cluster vouched for, or a claim, marked.
fn identity_span<'a>(app: &App, theme: &Theme) -> Span<'a> {
    let author = &app.identity.author;
    if author.is_verified() {
        Span::styled(format!("{} \u{2713}", author.name), theme.ok())
    } else {
        Span::styled(author.to_string(), theme.warn())
    }
}

/// On a shared release: what this cockpit is on it, and who drives; a broken journal
/// first, since nothing is recorded while it is.
fn role_span<'a>(app: &App, theme: &Theme) -> Option<Span<'a>> {
    if app.journal_broken.is_some() {
        return Some(Span::styled(" READ-ONLY (journal broken)", theme.bad()));
    }
    let driver = app.driver.as_ref()?;
    Some(match app.role {
        Role::Driver => Span::styled(" driving", theme.ok()),
        Role::Reviewer => {
            Span::styled(format!(" reviewing · {} drives", driver.name), theme.warn())
        }
        Role::Observer => Span::styled(format!(" observing · {} drives", driver.name), theme.dim()),
    })
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, gates: Option<&Gates>, theme: &Theme) {
    let env = app.config.environment(&app.env);
    let mut first = vec![
        Span::styled(" release-cockpit ", theme.title()),
        Span::raw("│ env "),
        Span::styled(app.env.clone(), theme.title()),
    ];
    if env.is_some_and(|e| e.protected) {
        first.push(Span::styled(" (protected)", theme.warn()));
    }
    first.push(Span::raw(" │ "));
    match &app.release {
        Some(r) => {
            first.push(Span::styled(
                format!("release {}", r.version),
                theme.title(),
            ));
            first.push(Span::raw(format!(" {}", r.release_type)));
            if r.compliance {
                first.push(Span::styled(" +compliance", theme.warn()));
            }
            match &r.decision {
                Some(d) if d.verdict == GoNoGo::Go => {
                    first.push(Span::styled(format!(" GO by {}", d.signed.by), theme.ok()));
                }
                Some(d) => first.push(Span::styled(
                    format!(" NO-GO by {}", d.signed.by),
                    theme.bad(),
                )),
                None => {}
            }
        }
        None => first.push(Span::styled("no release open (n: new)", theme.warn())),
    }
    first.push(Span::raw(" │ "));
    first.push(identity_span(app, theme));
    first.extend(role_span(app, theme));
    // Who is recording matters more than the product's name: that goes first when the
    // line is too long (a protected environment and an unverified name at 80 columns).
    let width: usize = first.iter().map(|s| s.content.chars().count()).sum();
    if width > usize::from(area.width) {
        first[0] = Span::raw(" ");
        first[1] = Span::raw("env ");
    }
    let decided = app.release.as_ref().is_some_and(|r| r.decision.is_some());
    // Sized to fit 80 columns: the calendar (and the go/no-go countdown), then the gates;
    // in the soak window, where it stands and any trigger that fired, first.
    let mut second = vec![Span::raw(" ")];
    match soak_span(app, theme) {
        Some(span) => second.push(span),
        None => second.push(Span::raw(schedule::describe(
            &app.config.schedule,
            app.now,
            decided,
        ))),
    }
    second.push(Span::raw(" │ "));
    match gates {
        Some(g) => {
            second.push(gate_span(&g.staging, theme));
            second.push(Span::raw(" │ "));
            second.push(gate_span(&g.production, theme));
        }
        None => second.push(Span::styled("gates: no release", theme.dim())),
    }
    if !app.present.is_empty() {
        second.push(Span::raw(format!(
            " │ on it: {}",
            crate::cluster::lease::who_is_on(&app.present)
        )));
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]).style(theme.status_bar()),
        area,
    );
}

/// "SOAK T+47m/120", "TRIGGER FIRED", "STABLE" or "ROLLED BACK", once production is deployed.
fn soak_span<'a>(app: &App, theme: &Theme) -> Option<Span<'a>> {
    let r = app.release.as_ref()?;
    let w = soak::window(r, &app.config)?;
    Some(match &r.soak.verdict {
        Some(soak::SoakVerdict::Stable { .. }) => Span::styled("RELEASE STABLE", theme.ok()),
        Some(soak::SoakVerdict::RolledBack { .. }) => Span::styled("ROLLED BACK", theme.bad()),
        // Short: the minute and the gates must still fit in 80 columns.
        None if !r.soak.triggers.is_empty() => Span::styled(
            format!(
                "T+{}m/{} TRIGGER FIRED (U)",
                w.minutes(app.now).floor() as i64,
                (w.end - w.t0).num_minutes()
            ),
            theme.bad(),
        ),
        None if w.is_open(app.now) => Span::styled(
            format!(
                "SOAK T+{}m/{}",
                w.minutes(app.now).floor() as i64,
                (w.end - w.t0).num_minutes()
            ),
            theme.warn(),
        ),
        None => Span::styled("SOAK OVER: Y declares stable", theme.warn()),
    })
}

pub fn footer(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let hints: &[(&str, &str)] = if app.modal.is_some() {
        &[("Enter", "ok"), ("Esc", "cancel"), ("↑↓", "choose")]
    } else if matches!(app.focus, Pane::Runbook | Pane::Rollout) {
        &[
            ("?", "help"),
            ("r", "next step"),
            ("Enter", "run"),
            ("D", "deploy"),
            ("U", "rollback"),
            ("M", "migrate"),
            ("X", "cancel"),
            ("q", "quit"),
        ]
    } else {
        &[
            ("?", "help"),
            ("Space", "tick"),
            ("w", "waive"),
            ("a", "approve"),
            ("d", "go/no-go"),
            ("c", "check"),
            ("Tab", "pane"),
            ("q", "quit"),
        ]
    };
    let mut spans = Vec::new();
    for (k, what) in hints {
        spans.push(Span::styled(format!(" {k}"), theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
