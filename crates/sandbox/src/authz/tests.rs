use axum::http::Method;

use super::*;
use crate::users::{ANONYMOUS_IDENTITY, generate};

fn identity(name: &str) -> Identity {
    generate()
        .into_iter()
        .find(|u| u.name() == name)
        .map(|u| u.identity)
        .unwrap()
}

fn request(method: Method, path: &str, query: &[(&str, &str)]) -> Attributes {
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    of_request(&method, path, &query)
}

fn may(user: &str, verb: &str, group: &str, resource: &str, subresource: &str) -> bool {
    let a = Attributes::Resource(ResourceAttributes {
        verb: verb.into(),
        group: group.into(),
        resource: resource.into(),
        subresource: subresource.into(),
        namespace: "production".into(),
        name: "deal-scout-api".into(),
    });
    allowing(&identity(user), &a).is_some()
}

#[test]
fn only_the_release_engineer_and_the_on_call_patch_deployments() {
    for (user, allowed) in [
        ("release-engineer", true),
        ("on-call", true),
        ("reviewer", false),
        ("observer", false),
    ] {
        assert_eq!(
            may(user, "patch", "apps", "deployments", ""),
            allowed,
            "{user}"
        );
        assert_eq!(
            may(user, "patch", "apps", "deployments", "scale"),
            allowed,
            "{user} scale"
        );
    }
}

#[test]
fn everyone_reads_and_only_writers_write() {
    for user in ["release-engineer", "reviewer", "on-call", "observer"] {
        for verb in ["get", "list", "watch"] {
            assert!(may(user, verb, "apps", "deployments", ""), "{user} {verb}");
            assert!(may(user, verb, "", "pods", "log"), "{user} {verb} logs");
        }
        assert!(may(
            user,
            "create",
            "authentication.k8s.io",
            "selfsubjectreviews",
            ""
        ));
        assert!(may(
            user,
            "create",
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            ""
        ));
    }
    assert!(may("reviewer", "create", "", "configmaps", ""));
    assert!(may(
        "reviewer",
        "update",
        "coordination.k8s.io",
        "leases",
        ""
    ));
    assert!(!may("reviewer", "create", "", "events", ""));
    assert!(!may("reviewer", "delete", "", "pods", ""));
    assert!(may("on-call", "delete", "", "pods", ""));
    assert!(!may("on-call", "create", "", "pods", ""));
    assert!(may("on-call", "create", "batch", "jobs", ""));
    assert!(may("on-call", "create", "events.k8s.io", "events", ""));
    assert!(!may("on-call", "create", "", "namespaces", ""));
    for verb in WRITE {
        assert!(
            !may("observer", verb, "", "configmaps", ""),
            "observer {verb}"
        );
    }
    assert!(may("release-engineer", "create", "", "namespaces", ""));
}

#[test]
fn anonymous_reads_discovery_and_nothing_else() {
    let anonymous = ANONYMOUS_IDENTITY;
    for path in ["/api", "/apis", "/api/v1", "/apis/apps/v1", "/version"] {
        let a = request(Method::GET, path, &[]);
        assert!(allowing(&anonymous, &a).is_some(), "{path}");
    }
    for path in ["/api/v1/namespaces/staging/pods", "/openapi/v2"] {
        let a = request(Method::GET, path, &[]);
        assert!(allowing(&anonymous, &a).is_none(), "{path}");
    }
    let a = request(
        Method::POST,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        &[],
    );
    assert!(allowing(&anonymous, &a).is_none());
}

/// Asserts what `method path?query` parses into: (verb, resource, subresource, name).
fn parses(method: Method, path: &str, query: &[(&str, &str)], want: [&str; 4]) {
    let Attributes::Resource(r) = request(method.clone(), path, query) else {
        panic!("{path} is a resource request");
    };
    assert_eq!(
        [
            r.verb.as_str(),
            r.resource.as_str(),
            r.subresource.as_str(),
            r.name.as_str()
        ],
        want,
        "{method} {path} {query:?}"
    );
}

#[test]
fn requests_parse_into_verbs_and_resources() {
    let deploy = "/apis/apps/v1/namespaces/production/deployments";
    let web = format!("{deploy}/web");
    parses(Method::GET, &web, &[], ["get", "deployments", "", "web"]);
    parses(Method::GET, deploy, &[], ["list", "deployments", "", ""]);
    let watch = [("watch", "true")];
    parses(
        Method::GET,
        deploy,
        &watch,
        ["watch", "deployments", "", ""],
    );
    let one = [("fieldSelector", "metadata.name=web"), ("watch", "1")];
    parses(
        Method::GET,
        deploy,
        &one,
        ["watch", "deployments", "", "web"],
    );
    parses(Method::POST, deploy, &[], ["create", "deployments", "", ""]);
    parses(Method::PUT, &web, &[], ["update", "deployments", "", "web"]);
    let scale = format!("{web}/scale");
    parses(
        Method::PATCH,
        &scale,
        &[],
        ["patch", "deployments", "scale", "web"],
    );
    parses(
        Method::DELETE,
        &web,
        &[],
        ["delete", "deployments", "", "web"],
    );
    parses(
        Method::DELETE,
        deploy,
        &[],
        ["deletecollection", "deployments", "", ""],
    );
    let ns = "/api/v1/namespaces/staging";
    parses(Method::GET, ns, &[], ["get", "namespaces", "", "staging"]);
    let status = format!("{ns}/status");
    parses(
        Method::PUT,
        &status,
        &[],
        ["update", "namespaces", "status", "staging"],
    );
    assert_eq!(
        request(Method::GET, "/apis/apps/v1", &[]),
        Attributes::NonResource {
            verb: "get".into(),
            path: "/apis/apps/v1".into()
        }
    );
}

#[test]
fn forbidden_messages_are_the_api_servers() {
    let observer = identity("observer");
    let status =
        |method: Method, path: &str| forbidden(&observer, &request(method, path, &[])).status();
    assert_eq!(
        status(
            Method::PATCH,
            "/apis/apps/v1/namespaces/production/deployments/deal-scout-api"
        ),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"deal-scout-api\" is forbidden: User \"observer\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"production\"","reason":"Forbidden","details":{"name":"deal-scout-api","group":"apps","kind":"deployments"},"code":403})
    );
    assert_eq!(
        status(
            Method::POST,
            "/apis/apps/v1/namespaces/production/deployments"
        )["message"],
        "deployments.apps is forbidden: User \"observer\" cannot create resource \"deployments\" in API group \"apps\" in the namespace \"production\""
    );
    assert_eq!(
        status(
            Method::PATCH,
            "/apis/apps/v1/namespaces/production/deployments/web/scale"
        )["message"],
        "deployments.apps \"web\" is forbidden: User \"observer\" cannot patch resource \"deployments/scale\" in API group \"apps\" in the namespace \"production\""
    );
    let pods = status(Method::DELETE, "/api/v1/namespaces/staging/pods/p");
    assert_eq!(
        pods["message"],
        "pods \"p\" is forbidden: User \"observer\" cannot delete resource \"pods\" in API group \"\" in the namespace \"staging\""
    );
    assert_eq!(pods["details"], json!({"name": "p", "kind": "pods"}));
    assert_eq!(
        status(Method::POST, "/api/v1/namespaces")["message"],
        "namespaces is forbidden: User \"observer\" cannot create resource \"namespaces\" in API group \"\" at the cluster scope"
    );
    let anonymous = forbidden(
        &ANONYMOUS_IDENTITY,
        &request(Method::GET, "/openapi/v2", &[]),
    )
    .status();
    assert_eq!(
        anonymous["message"],
        "forbidden: User \"system:anonymous\" cannot get path \"/openapi/v2\""
    );
}
