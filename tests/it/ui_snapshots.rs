//! What the engineer sees: every pane, the help overlay and the modals, at the smallest
//! supported terminal (80x24) and a roomy one (160x48).

use crate::common;

use common::Cockpit;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use release_cockpit::app::Modal;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// A release a few days in: some items done, one waived, one approval.
fn midweek() -> Cockpit {
    let mut c = Cockpit::new("regular");
    c.app.state_dir = "/home/alice/.local/state/release-cockpit".into();
    c.app.log_file = "/home/alice/.local/state/release-cockpit/logs/release-cockpit.log".into();
    c.tick_phase("week-before");
    c.tick("staging-deploy");
    c.select("performance-testing");
    c.char('w');
    c.answer("no hot path touched");
    c.approve("team_lead", "Tess Lead");
    c.select("regression-suite");
    c
}

fn snap(name: &str, c: &Cockpit) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), c.render(w, h));
    }
}

#[test]
fn whole_screen_midweek() {
    snap("whole_screen", &midweek());
}

#[test]
fn no_release_open() {
    let mut c = Cockpit::new("regular");
    c.app.release = None;
    snap("no_release", &c);
}

#[test]
fn each_pane_zoomed() {
    let mut c = midweek();
    for (key, name) in [
        ('1', "checklist"),
        ('2', "runbook"),
        ('3', "rollout"),
        ('4', "timeline"),
        ('5', "tasks"),
    ] {
        c.char(key);
        c.char('z');
        snap(&format!("pane_{name}"), &c);
        c.char('z');
    }
}

#[test]
fn help_overlay() {
    let mut c = midweek();
    c.char('?');
    assert!(matches!(c.app.modal, Some(Modal::Help { .. })));
    snap("help", &c);
}

#[test]
fn confirm_modal() {
    let mut c = midweek();
    c.tick("code-freeze"); // already ticked: asks to confirm the untick
    assert!(matches!(c.app.modal, Some(Modal::Confirm(_))));
    snap("confirm_untick", &c);
}

#[test]
fn prompt_with_an_error() {
    let mut c = midweek();
    // Where the config allows proxy entries, the approver's name is asked.
    c.app.config.access.proxy_approvals = true;
    c.approve_entering("engineer", Some("tess lead"));
    snap("approve_refused", &c);
}

#[test]
fn release_day_counts_down_to_the_go_no_go() {
    let mut c = midweek();
    c.send(release_cockpit::app::Msg::Tick(common::at(
        "2026-12-08T07:30:00Z",
    )));
    let screen = c.render(80, 24);
    assert!(
        screen.contains("release day: go/no-go at 09:00 UTC, in 1h 30m"),
        "{screen}"
    );
    snap("release_day", &c);
}

#[test]
fn no_color_draws_no_colour_at_all() {
    let mut c = midweek();
    c.app.no_color = true;
    c.char('?');
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|f| release_cockpit::ui::draw(f, &c.app))
        .unwrap();
    for cell in terminal.backend().buffer().content() {
        assert_eq!(cell.fg, Color::Reset, "a coloured cell {:?}", cell.symbol());
        assert_eq!(cell.bg, Color::Reset, "a coloured cell {:?}", cell.symbol());
    }
    // And with colour allowed, the blocked gate is red.
    c.app.no_color = false;
    c.app.modal = None;
    terminal
        .draw(|f| release_cockpit::ui::draw(f, &c.app))
        .unwrap();
    assert!(
        terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg == Color::Red)
    );
}

/// Below the supported 80x24 nothing panics and the two bars stay where they are, cut at
/// the right edge: the status line names the release whenever it is wide enough to, and
/// the key hints start with help. From 80x24 up every pane is there with its title, and
/// the gates at a glance fit.
#[test]
fn tiny_terminals_do_not_panic() {
    const STATUS: &str =
        " release-cockpit │ env staging │ release 1.2.3 regular │ alice (unverified)";
    // Narrower, the product's name gives way to who is recording.
    const COMPACT: &str = " env staging │ release 1.2.3 regular │ alice (unverified)";
    const HINTS: &str =
        " ? help  Space tick  w waive  a approve  d go/no-go  c check  Tab pane  q quit";
    const TITLES: [&str; 6] = [
        "1 Checklist",
        "2 Runbook",
        "3 Rollout",
        "4 Timeline & gauges",
        "5 Tasks / log",
        "Gates",
    ];
    // The first `w` columns of a bar, as `render` writes a line (trailing blanks trimmed).
    let cut = |bar: &str, w: u16| bar.chars().take(w as usize).collect::<String>();
    let version_fits = COMPACT.find("1.2.3").unwrap() + "1.2.3".len();
    let c = midweek();
    for (w, h) in [
        (1, 1),
        (10, 5),
        (40, 12),
        (60, 16),
        (79, 23),
        (80, 24),
        (300, 100),
    ] {
        let text = c.render(w, h);
        assert_eq!(text.lines().count(), h as usize);
        let lines: Vec<&str> = text.lines().collect();
        if h >= 3 {
            let status = if w as usize >= STATUS.chars().count() {
                STATUS
            } else {
                COMPACT
            };
            assert_eq!(lines[0], cut(status, w).trim_end(), "at {w}x{h}:\n{text}");
            assert_eq!(
                lines[h as usize - 1],
                cut(HINTS, w).trim_end(),
                "at {w}x{h}:\n{text}"
            );
        }
        if h >= 3 && w as usize >= version_fits {
            assert!(lines[0].contains("release 1.2.3"), "at {w}x{h}:\n{text}");
        }
        if w >= 80 && h >= 24 {
            for title in TITLES {
                assert!(text.contains(title), "{title} missing at {w}x{h}:\n{text}");
            }
            assert!(
                lines[1].ends_with("│ staging OPEN │ prod BLOCKED(7)"),
                "at {w}x{h}:\n{text}"
            );
        }
    }
}

#[test]
fn timeline_pane_with_gauges_shows_no_data_and_no_traffic_apart_from_zero() {
    use release_cockpit::metrics::gauges::GaugeBoard;
    use release_cockpit::metrics::source::Reading;
    let mut c = midweek();
    let mut board = GaugeBoard::new(&c.app.config, "scrape of the sandbox's service".into());
    let t0 = common::at(common::START);
    for i in 0..12 {
        let readings = [
            (
                "error_rate",
                Reading::Value {
                    value: 0.002 + 0.0005 * (i % 3) as f64,
                },
            ),
            (
                "p95_latency_seconds",
                Reading::Value {
                    value: 0.3 + 0.05 * i as f64,
                },
            ),
            ("throughput_rps", Reading::Value { value: 40.0 }),
            ("queue_depth", Reading::Value { value: 0.0 }),
            ("db_error_rate", Reading::NoTraffic),
            (
                "db_p95_seconds",
                Reading::no_data("not enough samples in the window yet"),
            ),
            (
                "celery_failure_rate",
                if i % 4 == 0 {
                    Reading::NoTraffic
                } else {
                    Reading::Value { value: 0.01 }
                },
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        board.record(t0 + chrono::Duration::seconds(i), &readings, false);
    }
    c.app.boards.insert(c.app.env.clone(), board);
    c.char('4');
    c.char('z');
    let screen = c.render(120, 30);
    assert!(screen.contains("db_error_rate               —"), "{screen}");
    assert!(screen.contains("no traffic"), "{screen}");
    assert!(screen.contains("no data"), "{screen}");
    assert!(screen.contains("queue_depth                 0"), "{screen}");
    snap("pane_timeline_gauges", &c);
}
