use chrono::TimeDelta;

use super::age::parse_time;
use super::*;

fn now() -> DateTime<Utc> {
    parse_time("2024-05-01T12:00:00Z").unwrap()
}

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "prod", "creationTimestamp": "2024-05-01T11:55:00Z"})
}

/// The row's cells as compact JSON, so integers and strings are told apart.
fn cells(resource: &str, obj: Value) -> String {
    row(resource, &obj, now(), IncludeObject::None)["cells"].to_string()
}

#[test]
fn human_age_boundaries() {
    let cases = "0 0s|-1 0s|-2 <invalid>|119 119s|120 2m|150 2m30s|599 9m59s|600 10m|\
                 10799 179m|10800 3h|11100 3h5m|28799 7h59m|28800 8h|172799 47h|172800 2d|\
                 180000 2d2h|691199 7d23h|691200 8d|63071999 729d|63072000 2y|63158400 2y1d|\
                 252287999 7y364d|252288000 8y";
    for case in cases.split('|') {
        let (secs, want) = case.split_once(' ').unwrap();
        let created = (now() - TimeDelta::seconds(secs.parse().unwrap())).to_rfc3339();
        assert_eq!(human_age(Some(&created), now()), want, "{secs}");
    }
    assert_eq!(human_age(Some("2024-05-01T11:59:58.123456Z"), now()), "1s");
    assert_eq!(human_age(None, now()), "<unknown>");
    assert_eq!(human_age(Some("yesterday"), now()), "<unknown>");
}

#[test]
fn column_definitions() {
    let cases = "deployments=Name:0 Ready:0 Up-to-date:0 Available:0 Age:0 TEMPLATE
        replicasets=Name:0 Desired:0 Current:0 Ready:0 Age:0 TEMPLATE
        pods=Name:0 Ready:0 Status:0 Restarts:0 Age:0 IP:1 Node:1
        jobs=Name:0 Completions:0 Duration:0 Age:0
        events=Last Seen:0 Type:0 Reason:0 Object:0 Message:0
        configmaps=Name:0 Data:0 Age:0
        namespaces=Name:0 Status:0 Age:0
        leases=Name:0 Holder:0 Age:0
        secrets=Name:0 Age:0";
    for case in cases.lines() {
        let (resource, want) = case.trim().split_once('=').unwrap();
        let cols = columns(resource);
        let cols = cols.as_array().unwrap().iter();
        let got: Vec<String> = cols
            .map(|c| format!("{}:{}", c["name"], c["priority"]))
            .collect();
        let want = want.replace("TEMPLATE", "Containers:1 Images:1 Selector:1");
        assert_eq!(got.join(" ").replace('"', ""), want);
    }
    let pods = columns("pods");
    let name = json!({"name": "Name", "type": "string", "format": "name", "priority": 0,
                      "description": "Name must be unique within a namespace."});
    assert_eq!(pods[0], name);
    assert_eq!(
        (&pods[3]["type"], &pods[3]["format"]),
        (&json!("integer"), &json!(""))
    );
}

#[test]
fn workload_cells() {
    let template = json!({"spec": {"containers": [{"name": "app", "image": "nginx:1.20"},
                                                  {"name": "proxy", "image": "envoy:1"}]}});
    let selector = json!({"matchLabels": {"app": "web"}, "matchExpressions": [
                          {"key": "track", "operator": "NotIn", "values": ["canary"]}]});
    let spec = json!({"replicas": 3, "selector": selector, "template": template});
    let status = json!({"replicas": 4, "readyReplicas": 2, "updatedReplicas": 1,
                        "availableReplicas": 2});
    let deployment = json!({"metadata": meta("web"), "spec": spec, "status": status});
    let wide = r#""app,proxy","nginx:1.20,envoy:1","app=web,track notin (canary)""#;
    let want = format!(r#"["web","2/3",1,2,"5m",{wide}]"#);
    assert_eq!(cells("deployments", deployment.clone()), want);
    let want = format!(r#"["web",3,4,2,"5m",{wide}]"#);
    assert_eq!(cells("replicasets", deployment), want);
    let fresh = json!({"metadata": meta("new"), "spec": {"replicas": 2}});
    let want = r#"["new","0/2",0,0,"5m","","","<none>"]"#;
    assert_eq!(cells("deployments", fresh), want);
}

fn pod(phase: &str, statuses: &[&Value]) -> Value {
    let containers: Vec<Value> = (0..statuses.len().max(1))
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx"}))
        .collect();
    json!({"metadata": meta("web-1"),
           "spec": {"containers": containers, "nodeName": "node-1"},
           "status": {"phase": phase, "podIP": "10.0.0.5", "containerStatuses": statuses}})
}

/// Ready, Status and Restarts.
fn summary(pod: Value) -> String {
    let row = row("pods", &pod, now(), IncludeObject::None);
    let [ready, status] = [1, 2].map(|i| row["cells"][i].as_str().unwrap().to_string());
    format!("{ready} {status} {}", row["cells"][3])
}

#[test]
fn pod_cells_and_status() {
    let running = json!({"ready": true, "restartCount": 1, "state": {"running": {}}});
    let want = r#"["web-1","1/1","Running",1,"5m","10.0.0.5","node-1"]"#;
    assert_eq!(cells("pods", pod("Running", &[&running])), want);
    let waiting = |reason: &str, restarts: i64| {
        json!({"ready": false, "restartCount": restarts,
               "state": {"waiting": {"reason": reason}},
               "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}})
    };
    let terminated = |t: Value| json!({"ready": false, "state": {"terminated": t}});
    let crash = waiting("CrashLoopBackOff", 4);
    assert_eq!(summary(pod("Running", &[&crash])), "0/1 CrashLoopBackOff 4");
    let pull = waiting("ErrImagePull", 0);
    assert_eq!(summary(pod("Pending", &[&pull])), "0/1 ErrImagePull 0");
    let creating = waiting("ContainerCreating", 0);
    let two = pod("Pending", &[&creating, &running]);
    assert_eq!(summary(two), "1/2 ContainerCreating 1");
    let exited = terminated(json!({"exitCode": 137}));
    assert_eq!(summary(pod("Failed", &[&exited])), "0/1 ExitCode:137 0");
    let signalled = terminated(json!({"exitCode": 0, "signal": 9}));
    assert_eq!(summary(pod("Failed", &[&signalled])), "0/1 Signal:9 0");
    let oom = terminated(json!({"exitCode": 137, "reason": "OOMKilled"}));
    assert_eq!(summary(pod("Failed", &[&oom])), "0/1 OOMKilled 0");
    assert_eq!(summary(pod("Pending", &[])), "0/1 Pending 0");
    let mut deleting = pod("Running", &[&running]);
    deleting["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
    assert_eq!(summary(deleting), "1/1 Terminating 1");
    let evicted = json!({"metadata": meta("e"),
                         "status": {"phase": "Failed", "reason": "Evicted"}});
    let want = r#"["e","0/0","Evicted",0,"5m","<none>","<none>"]"#;
    assert_eq!(cells("pods", evicted), want);
    // While init containers run, they alone name the status and count restarts.
    let mut init = pod("Pending", &[&waiting("PodInitializing", 0)]);
    init["spec"]["initContainers"] = json!([{"name": "migrate"}, {"name": "warm"}]);
    let done = json!({"restartCount": 2, "state": {"terminated": {"exitCode": 0}}});
    init["status"]["initContainerStatuses"] = json!([done, waiting("", 0)]);
    assert_eq!(summary(init.clone()), "0/1 Init:1/2 2");
    let failed = terminated(json!({"exitCode": 1, "reason": "Error"}));
    init["status"]["initContainerStatuses"][1] = failed;
    assert_eq!(summary(init), "0/1 Init:Error 2");
}

#[test]
fn job_and_event_cells() {
    let job = |spec: Value, status: Value| {
        let metadata = meta("migrate");
        json!({"metadata": metadata, "spec": spec, "status": status})
    };
    let started = json!({"startTime": "2024-05-01T11:58:30Z", "active": 1});
    assert_eq!(
        cells("jobs", job(json!({}), started)),
        r#"["migrate","0/1","90s","5m"]"#
    );
    let done = json!({"succeeded": 2, "startTime": "2024-05-01T11:55:00Z",
                      "completionTime": "2024-05-01T12:00:30Z"});
    let done = job(json!({"completions": 2}), done);
    assert_eq!(cells("jobs", done), r#"["migrate","2/2","5m30s","5m"]"#);
    let parallel = job(json!({"parallelism": 3}), json!({}));
    assert_eq!(cells("jobs", parallel), r#"["migrate","0/1 of 3","","5m"]"#);

    let event = json!({"metadata": meta("web.1"), "type": "Normal",
                       "reason": "ScalingReplicaSet", "message": "Scaled up",
                       "involvedObject": {"kind": "Deployment", "name": "web"},
                       "firstTimestamp": "2024-05-01T11:00:00Z",
                       "lastTimestamp": "2024-05-01T11:59:15Z"});
    let want = r#"["45s","Normal","ScalingReplicaSet","deployment/web","Scaled up"]"#;
    assert_eq!(cells("events", event), want);
    let recorded = json!({"type": "Warning", "reason": "BackOff",
                          "involvedObject": {"kind": "Pod"},
                          "eventTime": "2024-05-01T11:50:00.000000Z"});
    let want = r#"["10m","Warning","BackOff","pod",""]"#;
    assert_eq!(cells("events", recorded), want);
    let series = json!({"series": {"lastObservedTime": "2024-05-01T11:59:50.000000Z"},
                        "eventTime": "2024-05-01T11:00:00.000000Z"});
    assert!(cells("events", series).starts_with(r#"["10s","#));
}

#[test]
fn small_resource_cells() {
    // resource | object | the cell between Name and Age
    let cases = r#"configmaps | {"data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}} | 3
        configmaps | {} | 0
        namespaces | {} | "Active"
        namespaces | {"status": {"phase": "Terminating"}} | "Terminating"
        leases | {"spec": {"holderIdentity": "alice"}} | "alice"
        leases | {} | """#;
    for case in cases.lines() {
        let [resource, obj, cell] = case.trim().split(" | ").collect::<Vec<_>>()[..] else {
            panic!("{case}")
        };
        let mut obj: Value = serde_json::from_str(obj).unwrap();
        obj["metadata"] = meta("x");
        assert_eq!(
            cells(resource, obj),
            format!(r#"["x",{cell},"5m"]"#),
            "{case}"
        );
    }
    let unknown = json!({"metadata": {"name": "s"}});
    assert_eq!(cells("secrets", unknown), r#"["s","<unknown>"]"#);
}

#[test]
fn include_object_and_table() {
    let parse = IncludeObject::parse;
    let defaults = [None, Some("Metadata"), Some("bogus")].map(parse);
    assert_eq!(defaults, [IncludeObject::Metadata; 3]);
    assert_eq!(parse(Some("None")), IncludeObject::None);
    assert_eq!(parse(Some("Object")), IncludeObject::Object);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("state"),
                    "data": {"a": "1"}});
    let object = |include| row("configmaps", &cm, now(), include)["object"].clone();
    assert_eq!(object(IncludeObject::None), Value::Null);
    assert_eq!(object(IncludeObject::Object), cm);
    let partial = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                         "metadata": meta("state")});
    assert_eq!(object(IncludeObject::Metadata), partial);
    let objects = [cm.clone(), cm];
    let list = table("configmaps", &objects, "42", now(), IncludeObject::Metadata);
    assert_eq!(
        [&list["kind"], &list["apiVersion"]],
        ["Table", "meta.k8s.io/v1"]
    );
    assert_eq!(list["metadata"], json!({"resourceVersion": "42"}));
    assert_eq!(list["columnDefinitions"], columns("configmaps"));
    let want = json!({"cells": ["state", 1, "5m"], "object": partial});
    assert_eq!(list["rows"][1], want);
    let empty = table("pods", &[], "7", now(), IncludeObject::None);
    assert_eq!(empty["rows"], json!([]));
}
