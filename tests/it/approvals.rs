//! Approvals by the approver: recorded under the identity of whoever records them, for a
//! role the config maps them to; entered for someone else only where the config allows it,
//! and then marked; one person per required role, whatever the spelling; look-alike names
//! refused; the driver's own approval as the config says. And the rules that do not bend
//! to a script: no conclusion before the window ends, nor before a deploy.

use crate::common::{self, Cockpit};

use crossterm::event::KeyCode;
use release_cockpit::app::Modal;
use release_cockpit::config::Config;
use release_cockpit::config::access::Principal;
use release_cockpit::release::action::{Action, TaskId};
use release_cockpit::release::event::{Entry, Event};
use release_cockpit::release::identity::{Author, Identity};
use release_cockpit::release::rules::{self, Caller};
use release_cockpit::release::soak::SoakVerdict;
use release_cockpit::release::state::ReleaseState;

fn verified(name: &str, groups: &[&str]) -> Identity {
    Identity {
        author: Author::verified(name, "production"),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

/// Where the picker offers `role`, with why it is not offered, if it is not.
fn offered(c: &mut Cockpit, role: &str) -> Option<String> {
    c.char('a');
    let Some(Modal::Pick(p)) = &c.app.modal else {
        panic!("no picker: {:?}", c.app.modal);
    };
    let why = p
        .options
        .iter()
        .find(|o| o.id == role)
        .expect("role listed")
        .disabled
        .clone();
    c.key(KeyCode::Esc);
    why
}

#[test]
fn an_approval_is_recorded_as_its_approver_and_one_for_someone_else_is_refused() {
    let mut c = Cockpit::new("regular");
    c.sign_in(verified("tess", &[]));
    c.approve_entering("team_lead", None);
    let a = &c.release().approvals["team_lead"];
    assert_eq!((a.name.as_str(), a.recorded_by.as_str()), ("tess", "tess"));
    assert!(a.verified && a.proxy().is_none());
    assert_eq!(c.last_log(), "tess approved as Team Lead");
    let store = release_cockpit::release::store::StateDir::new(c.dir.path());
    let path =
        store.journal_path(&release_cockpit::release::store::parse_version("1.2.3").unwrap());
    let (contents, _) = release_cockpit::release::journal::read(&path, "1.2.3").unwrap();
    let last = contents.entries.last().unwrap();
    assert_eq!(last.by, "tess");
    assert_eq!(last.verified_by.as_deref(), Some("production"));

    // Without proxy entries the cockpit never asks for a name; a script that names
    // someone else is refused, saying why.
    let release = c.release().clone();
    let why = rules::check(
        &release,
        &c.app.config,
        &c.app.caller(),
        &Event::Approved {
            role: "engineer".into(),
            name: "Eve Engineer".into(),
        },
    )
    .unwrap_err();
    assert_eq!(
        why,
        "you are tess: an approval is recorded by the approver, so Eve Engineer must record it \
         as themselves (the config does not allow approvals entered for someone else)"
    );
}

#[test]
fn with_proxy_entries_allowed_an_approval_for_another_says_who_entered_it() {
    let mut config = Config::embedded();
    config.access.proxy_approvals = true;
    let mut c = Cockpit::with_config(config.clone(), "regular");
    c.sign_in(verified("alice", &[]));
    c.approve_entering("engineer", Some("Eve Engineer"));
    let a = c.release().approvals["engineer"].clone();
    assert_eq!(a.name, "Eve Engineer");
    assert_eq!(a.proxy(), Some("alice"));
    assert_eq!(
        c.last_log(),
        "Eve Engineer approved as Engineer Review (entered by alice)"
    );
    // releases.log's line names both.
    let record = release_cockpit::app::soak::audit_record(c.release(), &config, c.now());
    let approver = &record.approvers[0];
    assert_eq!(approver.name, "Eve Engineer");
    assert_eq!(approver.entered_by.as_deref(), Some("alice"));
    assert!(approver.verified);
}

#[test]
fn names_differing_in_case_or_width_are_one_person_and_look_alikes_are_refused() {
    let mut config = Config::embedded();
    config.access.proxy_approvals = true;
    let mut c = Cockpit::with_config(config, "regular");
    c.approve("team_lead", "Tess Lead");
    // Full-width letters and another case: the same person, so not a second approver.
    c.approve_entering("engineer", Some("ＴＥＳＳ lead"));
    assert_eq!(
        c.modal_error().as_deref(),
        Some(
            "ＴＥＳＳ lead already approved as Team Lead; one person cannot fill two required roles"
        )
    );
    c.key(KeyCode::Esc);
    // A Cyrillic е in place of the Latin e: another name that reads the same. Refused.
    c.approve_entering("engineer", Some("T\u{0435}ss Lead"));
    assert_eq!(
        c.modal_error().as_deref(),
        Some(
            "\"T\u{0435}ss Lead\" looks like \"Tess Lead\" but is a different name; a name that \
             can be taken for another participant's is refused"
        )
    );
    c.key(KeyCode::Esc);
    // So is one that reads as the driver's.
    c.approve_entering("engineer", Some("\u{0430}lice"));
    assert!(
        c.modal_error().unwrap().contains("looks like \"alice\""),
        "{:?}",
        c.modal_error()
    );
    c.key(KeyCode::Esc);
    assert!(!c.release().approvals.contains_key("engineer"));
}

#[test]
fn the_config_maps_roles_to_cluster_groups_and_users() {
    let mut config = Config::embedded();
    config.access.approvers.insert(
        "team_lead".into(),
        vec![
            Principal::Group("leads".into()),
            Principal::User("Olga".into()),
        ],
    );
    let mut c = Cockpit::with_config(config, "regular");
    // Not in the group, and not named: the role is not offered, and the rules say why.
    c.sign_in(verified("carol", &["devs"]));
    assert_eq!(
        offered(&mut c, "team_lead").as_deref(),
        Some("not for carol")
    );
    assert_eq!(
        offered(&mut c, "engineer"),
        None,
        "an unmapped role is anyone's"
    );
    // A claimed name has no groups: it cannot be a group's member.
    c.sign_in(Identity::claimed("dave"));
    let release = c.release().clone();
    let approve = |name: &str| Event::Approved {
        role: "team_lead".into(),
        name: name.into(),
    };
    let why = rules::check(&release, &c.app.config, &c.app.caller(), &approve("dave")).unwrap_err();
    assert_eq!(
        why,
        "dave may not approve as Team Lead: the config's [access.approvers] team_lead allows \
         group:leads, Olga (no cluster vouched for your name, so your groups are not known)"
    );
    // A member of the group, as the cluster says, may; so may a user named in the list.
    c.sign_in(verified("bob", &["leads"]));
    c.approve_entering("team_lead", None);
    assert_eq!(c.release().approvals["team_lead"].name, "bob");
    c.char('R');
    c.enter();
    c.enter();
    assert!(c.release().approvals.is_empty(), "revoked");
    c.sign_in(verified("olga", &[]));
    c.approve_entering("team_lead", None);
    assert_eq!(c.release().approvals["team_lead"].name, "olga");
}

#[test]
fn the_driver_approves_one_role_unless_the_config_prevents_self_review() {
    let mut c = Cockpit::new("regular");
    // alice created the release: she may fill one role, not two.
    c.approve_entering("team_lead", None);
    assert_eq!(c.release().approvals["team_lead"].name, "alice");
    c.approve_entering("engineer", None);
    assert_eq!(
        c.modal_error().as_deref(),
        Some("alice already approved as Team Lead; one person cannot fill two required roles")
    );
    c.key(KeyCode::Esc);

    let mut config = Config::embedded();
    config.access.driver_may_approve = false;
    let mut c = Cockpit::with_config(config, "regular");
    c.approve_entering("team_lead", None);
    assert_eq!(
        c.modal_error().as_deref(),
        Some(
            "alice drives this release (created it), and the config does not let the driver \
             approve it ([access] driver_may_approve = false)"
        )
    );
    c.key(KeyCode::Esc);
    c.approve("team_lead", "Tess Lead");
    assert_eq!(c.release().approvals["team_lead"].name, "Tess Lead");
}

fn entry(seq: u64, at: &str, event: Event) -> Entry {
    Entry {
        seq,
        prev: None,
        at: common::at(at),
        by: "alice".into(),
        verified_by: None,
        event,
    }
}

#[test]
fn a_release_is_concluded_stable_only_after_its_window_and_never_before_a_deploy() {
    let config = Config::embedded();
    let created = entry(
        1,
        "2026-12-08T10:00:00Z",
        Event::ReleaseCreated {
            version: "1.2.3".into(),
            release_type: "emergency".into(),
            commit_sha: None,
        },
    );
    let stable = Event::Concluded {
        verdict: SoakVerdict::Stable { reason: None },
    };
    let rolled_back = Event::Concluded {
        verdict: SoakVerdict::RolledBack {
            method: "undo".into(),
            reason: "errors".into(),
        },
    };
    let alice: Author = "alice".into();
    let at = |s: &str| Caller {
        author: &alice,
        groups: None,
        at: common::at(s),
    };
    let before = ReleaseState::from_entries(std::slice::from_ref(&created)).unwrap();
    for verdict in [&stable, &rolled_back] {
        assert_eq!(
            rules::check(&before, &config, &at("2026-12-08T13:00:00Z"), verdict).unwrap_err(),
            "nothing to conclude: production was not deployed, so no soak window opened"
        );
    }
    let deployed = ReleaseState::from_entries(&[
        created,
        entry(
            2,
            "2026-12-08T10:05:00Z",
            Event::ActionStarted {
                task: TaskId(1),
                env: "production".into(),
                action: Action::Deploy {
                    version: "1.2.3".into(),
                    image: "deal-scout-api:1.2.3".into(),
                    change_cause: "release 1.2.3".into(),
                    commit_sha: None,
                },
            },
        ),
    ])
    .unwrap();
    assert_eq!(
        rules::check(&deployed, &config, &at("2026-12-08T10:06:00Z"), &stable).unwrap_err(),
        "the soak window runs 1h 59m more; stable is declared at its end"
    );
    rules::check(&deployed, &config, &at("2026-12-08T12:05:00Z"), &stable).unwrap();
    rules::check(
        &deployed,
        &config,
        &at("2026-12-08T10:06:00Z"),
        &rolled_back,
    )
    .unwrap();
}
