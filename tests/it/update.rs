//! Message sequences through the real `update` and journal give the state and gates a
//! release engineer expects.

use crate::common;

use common::Cockpit;
use crossterm::event::KeyCode;
use release_cockpit::app::Modal;
use release_cockpit::release::event::GoNoGo;
use release_cockpit::release::gates::{Blocker, GateStatus};
use release_cockpit::release::state::ItemStatus;

#[test]
fn ticking_an_item_records_who_and_when_and_shrinks_the_staging_gate() {
    let mut c = Cockpit::new("regular");
    let before = c.gates();
    assert_eq!(before.staging.status, GateStatus::Blocked);
    assert_eq!(
        before.staging.blockers,
        vec![Blocker::OpenItems {
            phase: "week-before".into(),
            items: vec![
                "code-freeze".into(),
                "automated-tests".into(),
                "changelog".into(),
                "merge-prs".into(),
                "release-branch".into()
            ]
        }]
    );
    c.tick("code-freeze");
    match &c.release().item("code-freeze").status {
        ItemStatus::Done { signed, by_check } => {
            assert_eq!(signed.by, "alice");
            assert_eq!(signed.at, common::at(common::START));
            assert!(!by_check);
        }
        other => panic!("not done: {other:?}"),
    }
    // No cluster vouched for alice's name: the log says so.
    assert_eq!(c.last_log(), "alice (unverified) ticked code-freeze");
    c.tick_phase("week-before");
    assert_eq!(c.gates().staging.status, GateStatus::Open);
    // Production still waits on the later phases, approvals, the decision and staging.
    assert_eq!(c.gates().production.status, GateStatus::Blocked);
}

#[test]
fn unticking_asks_first_and_reopens_the_gate() {
    let mut c = Cockpit::new("regular");
    c.tick_phase("week-before");
    c.tick("code-freeze");
    assert!(
        matches!(c.app.modal, Some(Modal::Confirm(_))),
        "untick must be confirmed"
    );
    c.char('n');
    assert!(c.release().item("code-freeze").status.is_settled());
    c.char(' ');
    c.char('y');
    assert_eq!(c.release().item("code-freeze").status, ItemStatus::Open);
    assert_eq!(c.gates().staging.status, GateStatus::Blocked);
}

#[test]
fn a_waiver_needs_a_reason_and_keeps_it() {
    let mut c = Cockpit::new("regular");
    c.select("performance-testing");
    c.char('w');
    c.enter();
    assert_eq!(c.modal_error().as_deref(), Some("a waiver needs a reason"));
    assert_eq!(
        c.release().item("performance-testing").status,
        ItemStatus::Open
    );
    c.answer("no perf-relevant change in 1.2.3");
    match &c.release().item("performance-testing").status {
        ItemStatus::Waived { signed, reason } => {
            assert_eq!(signed.by, "alice");
            assert_eq!(reason, "no perf-relevant change in 1.2.3");
        }
        other => panic!("not waived: {other:?}"),
    }
    assert!(c.app.modal.is_none());
}

#[test]
fn one_person_cannot_fill_two_required_roles() {
    let mut c = Cockpit::new("regular");
    c.approve("team_lead", "Tess Lead");
    assert_eq!(c.release().approvals["team_lead"].name, "Tess Lead");
    assert_eq!(c.release().approvals["team_lead"].recorded_by, "Tess Lead");
    // The same person, typed differently, as the engineer reviewer: refused.
    c.approve("engineer", "  tess LEAD ");
    assert_eq!(
        c.modal_error().as_deref(),
        Some("tess LEAD already approved as Team Lead; one person cannot fill two required roles")
    );
    assert!(!c.release().approvals.contains_key("engineer"));
    c.key(KeyCode::Esc);
    c.approve("engineer", "Eve Engineer");
    assert_eq!(c.release().approvals["engineer"].name, "Eve Engineer");
    assert!(
        !c.gates()
            .production
            .blockers
            .iter()
            .any(|b| matches!(b, Blocker::MissingApproval { .. }))
    );
}

#[test]
fn a_hotfix_needs_on_call_or_team_lead_and_one_is_enough() {
    let mut c = Cockpit::new("hotfix");
    assert!(
        c.gates()
            .production
            .blockers
            .contains(&Blocker::MissingApproval {
                any_of: vec!["on_call".into(), "team_lead".into()]
            })
    );
    c.approve("on_call", "Owen Oncall");
    c.char('a');
    let Some(Modal::Pick(p)) = &c.app.modal else {
        panic!("no picker")
    };
    assert!(
        p.options
            .iter()
            .all(|o| o.disabled.as_deref() == Some("met by Owen Oncall as On-Call Engineer"))
    );
    c.key(KeyCode::Esc);
    // A hotfix gates only on the security (and compliance) phases: staging has nothing to wait for.
    assert_eq!(c.gates().staging.status, GateStatus::Open);
}

#[test]
fn go_needs_the_approvals_and_no_go_needs_a_reason() {
    let mut c = Cockpit::new("regular");
    c.char('d');
    c.enter(); // GO is the first option
    let err = c.modal_error().expect("go refused");
    assert_eq!(
        err,
        "a go needs the required approvals first; missing: Team Lead, Engineer Review"
    );
    assert!(c.release().decision.is_none());
    c.key(KeyCode::Esc);

    c.char('d');
    c.char('j');
    c.enter();
    c.enter(); // empty reason
    assert_eq!(c.modal_error().as_deref(), Some("a no-go needs a reason"));
    c.answer("payment provider outage");
    let d = c.release().decision.clone().expect("decided");
    assert_eq!(d.verdict, GoNoGo::NoGo);
    assert_eq!(d.reason.as_deref(), Some("payment provider outage"));
    assert_eq!(d.signed.by, "alice");
    assert!(c.gates().production.blockers.contains(&Blocker::NoGo {
        reason: Some("payment provider outage".into())
    }));

    c.approve("team_lead", "Tess Lead");
    c.approve("engineer", "Eve Engineer");
    c.clock.advance(chrono::Duration::minutes(30));
    c.send(release_cockpit::app::Msg::Tick(c.now()));
    c.char('d');
    c.enter();
    assert!(
        matches!(c.app.modal, Some(Modal::Confirm(_))),
        "go is confirmed first"
    );
    c.char('y');
    let d = c.release().decision.clone().expect("decided");
    assert_eq!(d.verdict, GoNoGo::Go);
    assert_eq!(d.signed.at, common::at("2026-11-26T11:30:00Z"));
    assert!(
        !c.gates()
            .production
            .blockers
            .iter()
            .any(|b| matches!(b, Blocker::NoDecision | Blocker::NoGo { .. }))
    );
}

#[test]
fn changing_the_type_needs_a_reason_and_changes_what_is_required() {
    let mut c = Cockpit::new("regular");
    c.approve("team_lead", "Tess Lead");
    c.approve("engineer", "Eve Engineer");
    c.char('d');
    c.enter();
    c.char('y');
    assert!(c.release().decision.is_some());

    c.char('t');
    let Some(Modal::Pick(p)) = &c.app.modal else {
        panic!("no picker")
    };
    let to = p.options.iter().position(|o| o.id == "emergency").unwrap();
    let steps = (to + p.options.len() - p.selected) % p.options.len();
    for _ in 0..steps {
        c.char('j');
    }
    c.enter();
    c.enter();
    assert_eq!(
        c.modal_error().as_deref(),
        Some("changing the release type needs a reason")
    );
    c.answer("checkout is down");
    assert_eq!(c.release().release_type, "emergency");
    // The go given for a regular release does not carry over; an emergency has none anyway.
    assert!(c.release().decision.is_none());
    let g = c.gates();
    assert_eq!(g.staging.status, GateStatus::NotUsed);
    assert_eq!(
        g.production.blockers,
        vec![Blocker::MissingApproval {
            any_of: vec!["engineering_manager".into(), "cto".into()]
        }]
    );
    c.approve("cto", "Carla CTO");
    assert_eq!(c.gates().production.status, GateStatus::Open);
}

#[test]
fn compliance_items_block_production_only_when_switched_on() {
    let mut c = Cockpit::new("regular");
    let blocks_compliance = |c: &Cockpit| {
        c.gates()
            .production
            .blockers
            .iter()
            .any(|b| matches!(b, Blocker::OpenItems { phase, .. } if phase == "compliance"))
    };
    assert!(!blocks_compliance(&c));
    c.char('C');
    c.char('y');
    assert!(c.release().compliance);
    assert!(blocks_compliance(&c));
    c.tick_phase("compliance");
    assert!(!blocks_compliance(&c));
}

#[test]
fn production_opens_when_everything_is_done() {
    let mut c = Cockpit::new("regular");
    for phase in [
        "week-before",
        "three-days-before",
        "day-before",
        "release-day",
        "security",
    ] {
        c.tick_phase(phase);
    }
    c.approve("team_lead", "Tess Lead");
    c.approve("engineer", "Eve Engineer");
    c.char('d');
    c.enter();
    c.char('y');
    assert_eq!(
        c.gates().production.blockers,
        vec![Blocker::StagingNotValidated]
    );
    c.char('V');
    c.char('y');
    assert_eq!(c.gates().production.status, GateStatus::Open);
    assert_eq!(c.gates().production.blockers, vec![]);
}

#[test]
fn reopening_the_journal_restores_exactly_the_same_state() {
    let mut c = Cockpit::new("regular");
    c.tick("code-freeze");
    c.select("changelog");
    c.char('w');
    c.answer("no user-facing change");
    c.approve("team_lead", "Tess Lead");
    c.char('C');
    c.char('y');
    c.char('s');
    c.answer("0123abcd");
    assert_eq!(c.release().commit_sha.as_deref(), Some("0123abcd"));
    assert_eq!(&c.reread(), c.release());
}

#[test]
fn a_bad_commit_sha_is_refused_in_the_prompt() {
    let mut c = Cockpit::new("regular");
    c.char('s');
    c.answer("not-a-sha");
    assert_eq!(
        c.modal_error().as_deref(),
        Some("\"not-a-sha\" is not a git commit SHA (7 to 64 hex digits)")
    );
    assert_eq!(c.release().commit_sha, None);
}

#[test]
fn compliance_items_cannot_be_ticked_while_compliance_is_off() {
    let mut c = Cockpit::new("regular");
    // Folded by default while off: unfold the phase, then try.
    c.app.collapsed_phases.insert("compliance".into());
    c.tick("security-review");
    assert_eq!(c.release().item("security-review").status, ItemStatus::Open);
    assert!(
        c.last_log().contains("compliance is off"),
        "{}",
        c.last_log()
    );
}

#[test]
fn the_go_no_go_item_is_settled_by_the_decision_not_by_hand() {
    let mut c = Cockpit::new("regular");
    c.tick("go-no-go");
    assert_eq!(
        c.last_log(),
        "go-no-go is recorded by the go/no-go decision (d)"
    );
    assert_eq!(c.release().item("go-no-go").status, ItemStatus::Open);
    let open_release_day = |c: &Cockpit| {
        c.gates().production.blockers.iter().find_map(|b| match b {
            Blocker::OpenItems { phase, items } if phase == "release-day" => Some(items.clone()),
            _ => None,
        })
    };
    assert!(
        open_release_day(&c)
            .unwrap()
            .contains(&"go-no-go".to_string())
    );
    c.approve("team_lead", "Tess Lead");
    c.approve("engineer", "Eve Engineer");
    c.char('d');
    c.enter();
    c.char('y');
    assert!(
        !open_release_day(&c)
            .unwrap()
            .contains(&"go-no-go".to_string())
    );
    let screen = c.render(160, 48);
    assert!(
        screen.contains("[x] Final go/no-go decision (9:00 AM UTC) GO by alice"),
        "{screen}"
    );
}

#[test]
fn approvals_kept_from_another_type_do_not_block_the_same_person_now() {
    let mut c = Cockpit::new("regular");
    c.approve("engineer", "Eve Engineer");
    // Becomes a hotfix: On-Call Engineer or Team Lead. Eve's engineer approval no longer counts,
    // so Eve may give the one approval a hotfix needs.
    c.char('t');
    let Some(Modal::Pick(p)) = &c.app.modal else {
        panic!("no picker")
    };
    let to = p.options.iter().position(|o| o.id == "hotfix").unwrap();
    let steps = (to + p.options.len() - p.selected) % p.options.len();
    for _ in 0..steps {
        c.char('j');
    }
    c.enter();
    c.answer("payment bug in production");
    c.approve("on_call", "Eve Engineer");
    assert_eq!(c.release().approvals["on_call"].name, "Eve Engineer");
    assert!(
        !c.gates()
            .production
            .blockers
            .iter()
            .any(|b| matches!(b, Blocker::MissingApproval { .. }))
    );
}

#[test]
fn a_release_whose_type_left_the_config_is_blocked_and_says_why() {
    let mut c = Cockpit::new("regular");
    c.app.config.release_types.retain(|t| t.id != "regular");
    let g = c.gates();
    assert_eq!(
        g.production.blockers,
        vec![Blocker::UnknownType {
            release_type: "regular".into()
        }]
    );
    assert_eq!(
        g.production.blockers[0].describe(&c.app.config),
        "release type \"regular\" is not in the config; change the type (t)"
    );
    // A decision cannot be recorded either, and says why.
    c.char('d');
    c.enter();
    let err = c.modal_error().unwrap_or_default();
    assert!(err.starts_with("unknown release type \"regular\""), "{err}");
}

#[test]
fn switching_releases_is_refused_while_a_check_runs() {
    let mut c = Cockpit::new("regular");
    c.app.running_checks.insert(
        "changelog".into(),
        release_cockpit::app::RunningCheck {
            started: c.now(),
            argv: vec!["sleep".into(), "9".into()],
            last_line: None,
        },
    );
    c.char('n');
    assert!(c.app.modal.is_none());
    assert!(
        c.last_log().starts_with("checks are running (changelog)"),
        "{}",
        c.last_log()
    );
}

#[test]
fn a_check_result_for_a_release_no_longer_open_is_not_recorded_into_this_one() {
    use release_cockpit::release::event::CheckOutcome;
    let mut c = Cockpit::new("regular");
    c.send(release_cockpit::app::Msg::CheckDone {
        version: "1.1.0".into(),
        item: "changelog".into(),
        outcome: CheckOutcome {
            argv: vec!["true".into()],
            exit_code: Some(0),
            error: None,
            duration_ms: 1,
            output_sha256: String::new(),
            output_tail: String::new(),
            output_file: None,
        },
    });
    assert_eq!(c.release().item("changelog").status, ItemStatus::Open);
    assert!(c.last_log().contains("not recorded"), "{}", c.last_log());
}
