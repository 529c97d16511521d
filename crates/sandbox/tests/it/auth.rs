//! Users, tokens and the authorisation table, through real clients: kubectl with the
//! kubeconfig the sandbox writes (whoami, can-i, a forbidden patch, a stranger's token),
//! kube-rs over https with that kubeconfig and over http with a token, and raw HTTP for
//! the exact Status bodies and the anonymous user.

use std::os::unix::fs::PermissionsExt;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

use crate::kubectl::{Cluster, show, stdout};

const USERS: [(&str, &str); 4] = [
    ("release-engineer", "release-cockpit:release-engineers"),
    ("reviewer", "release-cockpit:reviewers"),
    ("on-call", "release-cockpit:on-call"),
    ("observer", "release-cockpit:observers"),
];

const FORBIDDEN_PATCH: &str = "deployments.apps \"deal-scout-api\" is forbidden: User \"observer\" \
    cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"production\"";

/// No user's token may show in what kubectl prints (the assertion names the user only).
fn assert_no_token(cluster: &Cluster, text: &str) {
    for user in cluster.running.sandbox.users() {
        assert!(
            !text.contains(user.token()),
            "{}'s token appears in output",
            user.name()
        );
    }
}

#[tokio::test]
async fn kubectl_whoami_names_each_user_and_its_groups() {
    let cluster = Cluster::start().await;
    for (user, group) in USERS {
        let context = format!("{user}@production");
        let out = cluster
            .kubectl(&["auth", "whoami", "--context", &context])
            .await;
        assert!(out.status.success(), "whoami as {user}\n{}", show(&out));
        let table = stdout(&out);
        assert_no_token(&cluster, &table);
        let rows: Vec<Vec<&str>> = table
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert!(rows.contains(&vec!["Username", user]), "{table}");
        assert!(
            rows.contains(&vec![
                "Groups",
                &format!("[{group}"),
                "system:authenticated]"
            ]),
            "{table}"
        );

        let out = cluster
            .kubectl(&["auth", "whoami", "--context", &context, "-o", "json"])
            .await;
        assert!(
            out.status.success(),
            "whoami -o json as {user}\n{}",
            show(&out)
        );
        let review: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(review["kind"], "SelfSubjectReview");
        assert_eq!(review["status"]["userInfo"]["username"], user);
        assert_eq!(
            review["status"]["userInfo"]["groups"],
            json!([group, "system:authenticated"])
        );
        let uid = review["status"]["userInfo"]["uid"].as_str().unwrap();
        let expected = cluster
            .running
            .sandbox
            .users()
            .iter()
            .find(|u| u.name() == user)
            .unwrap()
            .identity
            .uid;
        assert_eq!(uid, expected);
    }
    // The plain environment names are the release engineer, as before users existed.
    let out = cluster
        .kubectl(&["auth", "whoami", "--context", "production", "-o", "json"])
        .await;
    let review: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(review["status"]["userInfo"]["username"], "release-engineer");
    cluster.stop().await;
}

#[tokio::test]
async fn kubectl_can_i_follows_the_table() {
    let cluster = Cluster::start().await;
    for (user, may_patch) in [
        ("release-engineer", true),
        ("on-call", true),
        ("reviewer", false),
        ("observer", false),
    ] {
        let context = format!("{user}@production");
        let args = [
            "auth",
            "can-i",
            "patch",
            "deployments",
            "-n",
            "production",
            "--context",
            &context,
        ];
        let out = cluster.kubectl(&args).await;
        let answer = if may_patch { "yes" } else { "no" };
        assert_eq!(stdout(&out).trim(), answer, "{user}\n{}", show(&out));
        assert_eq!(
            out.status.code(),
            Some(if may_patch { 0 } else { 1 }),
            "{user}"
        );
    }
    let out = cluster
        .kubectl(&[
            "auth",
            "can-i",
            "create",
            "configmaps",
            "-n",
            "production",
            "--context",
            "reviewer@production",
        ])
        .await;
    assert_eq!(stdout(&out).trim(), "yes", "{}", show(&out));
    let out = cluster
        .kubectl(&[
            "auth",
            "can-i",
            "create",
            "configmaps",
            "-n",
            "production",
            "--context",
            "observer@production",
        ])
        .await;
    assert_eq!(stdout(&out).trim(), "no", "{}", show(&out));
    cluster.stop().await;
}

#[tokio::test]
async fn kubectl_patch_as_the_observer_is_forbidden() {
    let cluster = Cluster::start().await;
    let args = [
        "-n",
        "production",
        "--context",
        "observer@production",
        "patch",
        "deployment",
        "deal-scout-api",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"touched":"yes"}}}"#,
    ];
    let out = cluster.kubectl(&args).await;
    assert!(!out.status.success(), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("Error from server (Forbidden): {FORBIDDEN_PATCH}")),
        "{}",
        show(&out)
    );
    // The same patch as the on-call goes through.
    let mut args = args;
    args[3] = "on-call@production";
    let out = cluster.kubectl(&args).await;
    assert!(out.status.success(), "{}", show(&out));
    cluster.stop().await;
}

#[tokio::test]
async fn kubectl_with_an_unknown_token_is_unauthorized() {
    let cluster = Cluster::start().await;
    let real = std::fs::read_to_string(cluster.dir.path().join("kubeconfig")).unwrap();
    let token = cluster.running.sandbox.release_engineer_token();
    let stranger = real.replace(token, &"0".repeat(token.len()));
    // Not assert_ne: its message would print both kubeconfigs, tokens and all.
    assert!(
        stranger != real,
        "the release engineer's token is in the kubeconfig"
    );
    let path = cluster.dir.path().join("stranger.kubeconfig");
    std::fs::write(&path, stranger).unwrap();
    // A typed request reads the Status body: its message is in the error.
    let out = cluster.kubectl_with(&path, &["auth", "whoami"]).await;
    assert!(!out.status.success(), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: You must be logged in to the server (Unauthorized)"),
        "{}",
        show(&out)
    );
    // Discovery, first thing `get` does, reads only the HTTP code (as against a real
    // server: "the server has asked for the client to provide credentials").
    let out = cluster
        .kubectl_with(&path, &["-n", "production", "get", "pods"])
        .await;
    assert!(!out.status.success(), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: You must be logged in to the server"),
        "{}",
        show(&out)
    );
    cluster.stop().await;
}

#[tokio::test]
async fn the_kubeconfig_is_private_and_names_every_context() {
    let cluster = Cluster::start().await;
    let path = cluster.dir.path().join("kubeconfig");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let names = cockpit_sandbox::kubeconfig::context_names(
        &[("staging", "staging"), ("production", "production")],
        cluster.running.sandbox.users(),
    );
    assert_eq!(names.len(), 2 + 4 * 2);
    assert_eq!(
        &names[..3],
        ["staging", "production", "release-engineer@staging"]
    );
    assert!(names.contains(&"reviewer@production".to_string()));
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    assert_eq!(kubeconfig.auth_infos.len(), 4);
    assert_eq!(kubeconfig.contexts.len(), names.len());
    cluster.stop().await;
}

/// A kube client for `context` of the sandbox's kubeconfig: https, its token, as the
/// cockpit connects.
async fn kube_as(cluster: &Cluster, context: &str) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(cluster.dir.path().join("kubeconfig")).unwrap();
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .unwrap();
    assert!(config.cluster_url.to_string().starts_with("https://"));
    Client::try_from(config).unwrap()
}

#[tokio::test]
async fn kube_rs_over_https_is_the_kubeconfig_user() {
    let cluster = Cluster::start().await;
    let client = kube_as(&cluster, "reviewer@production").await;
    let review = Api::<SelfSubjectReview>::all(client.clone())
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .unwrap();
    let user = review.status.unwrap().user_info.unwrap();
    assert_eq!(user.username.as_deref(), Some("reviewer"));

    let ask = |verb: &str, resource: &str, group: &str| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some("production".into()),
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let reviews = Api::<SelfSubjectAccessReview>::all(client);
    for (verb, resource, group, allowed) in [
        ("patch", "deployments", "apps", false),
        ("update", "configmaps", "", true),
        ("update", "leases", "coordination.k8s.io", true),
        ("delete", "pods", "", false),
    ] {
        let answer = reviews
            .create(&PostParams::default(), &ask(verb, resource, group))
            .await
            .unwrap();
        assert_eq!(
            answer.status.unwrap().allowed,
            allowed,
            "reviewer {verb} {resource}"
        );
    }
    cluster.stop().await;
}

#[tokio::test]
async fn the_reviewer_writes_the_journal_but_never_a_deployment() {
    let cluster = Cluster::start().await;
    let mut config = kube::Config::new(cluster.running.url().parse().unwrap());
    config.auth_info.token = Some(cluster.running.sandbox.token_of("reviewer").unwrap().into());
    let client = Client::try_from(config).unwrap();

    let patch = Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}}));
    let err = Api::<Deployment>::namespaced(client.clone(), "production")
        .patch("deal-scout-api", &PatchParams::default(), &patch)
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("not an API error: {err}");
    };
    assert_eq!(status.code, 403);
    assert_eq!(status.reason, "Forbidden");
    assert_eq!(
        status.message,
        FORBIDDEN_PATCH.replace("\"observer\"", "\"reviewer\"")
    );

    let journal = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("release-journal".into()),
            ..Default::default()
        },
        data: Some([("entry".to_string(), "reviewed".to_string())].into()),
        ..Default::default()
    };
    let created = Api::<ConfigMap>::namespaced(client, "production")
        .create(&PostParams::default(), &journal)
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some());
    cluster.stop().await;
}

#[tokio::test]
async fn anonymous_sees_discovery_and_nothing_else() {
    let cluster = Cluster::start().await;
    let url = cluster.running.url();
    let http = crate::http_client();
    for path in ["/api", "/apis", "/api/v1", "/apis/apps/v1", "/version"] {
        let resp = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }

    let anonymous = Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let err = Api::<Pod>::namespaced(anonymous.clone(), "staging")
        .list(&Default::default())
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("not an API error: {err}");
    };
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"staging\""
    );
    let err = Api::<SelfSubjectReview>::all(anonymous)
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(s) if s.code == 403),
        "anonymous whoami"
    );

    // The admin path is the tests' own, outside the API and its users.
    let resp = http
        .get(format!("{url}/_sandbox/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    cluster.stop().await;
}

#[tokio::test]
async fn statuses_are_the_api_servers_word_for_word() {
    let cluster = Cluster::start().await;
    let url = cluster.running.url();
    let stranger = crate::http_client_builder_as("not-a-token")
        .build()
        .unwrap();
    for path in ["/api/v1/namespaces/staging/pods", "/version"] {
        let resp = stranger.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body,
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})
        );
    }

    let observer =
        crate::http_client_builder_as(cluster.running.sandbox.token_of("observer").unwrap())
            .build()
            .unwrap();
    let resp = observer
        .patch(format!(
            "{url}/apis/apps/v1/namespaces/production/deployments/deal-scout-api"
        ))
        .header("content-type", "application/merge-patch+json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":FORBIDDEN_PATCH,"reason":"Forbidden","details":{"name":"deal-scout-api","group":"apps","kind":"deployments"},"code":403})
    );

    // Refused before the request is looked at: the denied write is in the log as a 403.
    let log: Vec<Value> = crate::http_client()
        .get(format!("{url}/_sandbox/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.last().unwrap()["status"], 403);

    let resp = observer
        .get(format!("{url}/apis/authorization.k8s.io/v1"))
        .send()
        .await
        .unwrap();
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(
        doc["resources"],
        json!([{"name":"selfsubjectaccessreviews","singularName":"","namespaced":false,"kind":"SelfSubjectAccessReview","verbs":["create"]}])
    );
    cluster.stop().await;
}
