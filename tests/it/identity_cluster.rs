//! Who the cockpit is comes from the API server: each of the sandbox's users is who its
//! token says, an unknown token vouches for nobody, and what an identity may not do is
//! refused before the confirmation, or, when it could not be asked, in the API server's
//! own words.

use crate::common::cluster::{Live, sandbox};

use std::collections::BTreeMap;
use std::time::Duration;

use release_cockpit::cluster::{client, identity};
use release_cockpit::config::Config;
use release_cockpit::release::identity::{Author, Identity};

const LIMIT: Duration = Duration::from_secs(30);

fn clients_as(
    config: &Config,
    url: &str,
    token: &str,
) -> BTreeMap<String, Result<kube::Client, String>> {
    config
        .environments
        .iter()
        .map(|(name, env)| {
            (
                name.clone(),
                client::for_url(url, &env.namespace, Some(token)),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_is_who_the_api_server_says_and_an_unknown_token_is_nobody() {
    let running = sandbox(1.0).await;
    let config = Config::embedded();
    for (user, group) in [
        ("release-engineer", "release-cockpit:release-engineers"),
        ("reviewer", "release-cockpit:reviewers"),
        ("on-call", "release-cockpit:on-call"),
        ("observer", "release-cockpit:observers"),
    ] {
        let token = running.sandbox.token_of(user).unwrap();
        let clients = clients_as(&config, &running.url(), token);
        // The name typed on the command line loses to the API server's answer.
        let found = identity::identify(&config, &clients, "typed-name", LIMIT).await;
        assert_eq!(found.identity.author, Author::verified(user, "production"));
        assert!(
            found.identity.groups.iter().any(|g| g == group),
            "{user}: {:?}",
            found.identity.groups
        );
        assert!(found.notes.is_empty(), "{user}: {:?}", found.notes);
    }
    let clients = clients_as(&config, &running.url(), "not-a-token");
    let found = identity::identify(&config, &clients, "typed-name", LIMIT).await;
    assert_eq!(found.identity, Identity::claimed("typed-name"));
    assert!(
        found.notes.iter().any(|n| n.contains("Unauthorized")),
        "{:?}",
        found.notes
    );
    assert!(
        found
            .notes
            .iter()
            .any(|n| n == "no cluster said who you are; recording as typed-name (unverified)"),
        "{:?}",
        found.notes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observer_is_refused_a_deploy_before_its_confirmation() {
    let running = sandbox(60.0).await;
    let config = Config::embedded();
    let mut live = Live::new(&running, config.clone(), "1.2.3", "regular");
    live.tick_phase("week-before");
    live.char('s');
    live.answer("0123abcd");
    // The cockpit started by the observer: its clients carry the observer's token.
    let token = running.sandbox.token_of("observer").unwrap().to_string();
    live.c.sign_in(Identity {
        author: Author::verified("observer", "production"),
        groups: vec!["release-cockpit:observers".into()],
    });
    for (name, env) in &config.environments {
        let client = client::for_url(&running.url(), &env.namespace, Some(&token));
        let c = &mut live.c;
        c.rt.set_client(&mut c.app, name, client);
    }
    live.pump("what the observer may not do is known", LIMIT, |c| {
        c.app.denied.contains_key("staging")
    })
    .await;
    assert!(
        live.last_log()
            .contains("observer may not patch deployments in staging"),
        "{}",
        live.last_log()
    );
    live.char('D');
    assert!(
        live.app.modal.is_none(),
        "no confirmation: {:?}",
        live.app.modal
    );
    assert_eq!(
        live.last_log(),
        "refused: you (observer) may not patch deployments in staging (the API server's \
         answer to a SelfSubjectAccessReview)"
    );

    // Had it not been asked, the write's own answer says it, word for word.
    live.c.app.denied.clear();
    let task = live.release().next_task();
    live.char('D');
    live.char('y');
    live.pump("the refused deploy ends", LIMIT, |c| {
        c.release()
            .action(task)
            .is_some_and(|a| a.finished.is_some())
    })
    .await;
    let (_, outcome) = live
        .release()
        .action(task)
        .unwrap()
        .finished
        .clone()
        .unwrap();
    assert!(!outcome.ok);
    assert!(
        live.log_tail(10).contains(
            "deployments.apps \"deal-scout-api\" is forbidden: User \"observer\" cannot patch \
             resource \"deployments\" in API group \"apps\" in the namespace \"staging\""
        ),
        "{}",
        live.log_tail(10)
    );
    assert!(
        running
            .sandbox
            .requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.status == 403),
        "the write reached the API server and was refused there"
    );
}
