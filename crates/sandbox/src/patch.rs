//! The four PATCH content types of the Kubernetes API, applied to a stored object.
//!
//! Strategic merge follows `k8s.io/apimachinery/pkg/util/strategicpatch`, with the
//! schema's merge keys looked up by list field name instead of by Go struct tags.

use serde_json::{Map, Value};

type Object = Map<String, Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Strategic,
    Merge,
    Json,
    Apply,
}

/// From the request's Content-Type; `None` means unsupported (the caller answers 415).
pub fn kind_from_content_type(ct: &str) -> Option<PatchKind> {
    let media = ct.split(';').next().unwrap_or_default();
    match media.trim().to_ascii_lowercase().as_str() {
        "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
        "application/merge-patch+json" => Some(PatchKind::Merge),
        "application/json-patch+json" => Some(PatchKind::Json),
        "application/apply-patch+yaml" => Some(PatchKind::Apply),
        _ => None,
    }
}

/// `status` is the HTTP code the caller should answer with: 400 for a malformed body,
/// 422 for a well-formed patch that cannot be applied to this object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    pub status: u16,
    pub message: String,
}

fn bad_request(message: impl Into<String>) -> PatchError {
    let message = message.into();
    PatchError {
        status: 400,
        message,
    }
}

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PatchError {}

/// Applies `body` to `target` and returns the patched object; `target` itself is untouched.
pub fn apply(kind: PatchKind, target: &Value, body: &[u8]) -> Result<Value, PatchError> {
    const NOT_JSON: &str = "the body of the patch is not valid JSON";
    const APPLY_NOT_JSON: &str = "only JSON-form apply bodies are supported; not valid JSON";
    match kind {
        PatchKind::Json => apply_json_patch(target, body),
        PatchKind::Merge => {
            let patch = parse_object(body, NOT_JSON)?;
            let mut doc = target.clone();
            json_patch::merge(&mut doc, &Value::Object(patch));
            Ok(doc)
        }
        PatchKind::Strategic => merge_into(target.clone(), &parse_object(body, NOT_JSON)?),
        // Server-side apply is simplified to "upsert plus strategic merge": no managedFields,
        // so no conflicts and no removal of fields that a manager stopped sending.
        PatchKind::Apply => merge_into(target.clone(), &parse_object(body, APPLY_NOT_JSON)?),
    }
}

fn parse_object(body: &[u8], what: &str) -> Result<Object, PatchError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request("the body of the patch must be a JSON object")),
        Err(e) => Err(bad_request(format!("{what}: {e}"))),
    }
}

fn apply_json_patch(target: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let ops: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the body of the patch is not valid JSON: {e}")))?;
    if !ops.is_array() {
        return Err(bad_request("a json patch must be an array of operations"));
    }
    let patch: json_patch::Patch = serde_json::from_value(ops.clone())
        .map_err(|e| bad_request(format!("invalid json patch operation: {e}")))?;
    let mut doc = target.clone();
    json_patch::patch(&mut doc, &patch).map_err(|e| {
        let (i, path, why) = (e.operation, &e.path, &e.kind);
        let op = ops[i]["op"].as_str().unwrap_or("?");
        let message = format!("json patch operation {i} ({op}) failed at path \"{path}\": {why}");
        PatchError {
            status: 422,
            message,
        }
    })?;
    Ok(doc)
}

const PATCH_DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE: &str = "$deleteFromPrimitiveList/";

/// Unknown `$`-keys are ordinary data, as in Kubernetes (CRD schemas carry `$ref`).
fn is_directive(key: &str) -> bool {
    key == PATCH_DIRECTIVE
        || key == RETAIN_KEYS
        || key.starts_with(SET_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE)
}

#[derive(PartialEq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

fn directive(patch: &Object) -> Result<Directive, PatchError> {
    match patch.get(PATCH_DIRECTIVE) {
        None => Ok(Directive::Merge),
        Some(Value::String(s)) if s == "merge" => Ok(Directive::Merge),
        Some(Value::String(s)) if s == "replace" => Ok(Directive::Replace),
        Some(Value::String(s)) if s == "delete" => Ok(Directive::Delete),
        Some(other) => Err(bad_request(format!("unknown $patch directive {other}"))),
    }
}

/// List fields the Kubernetes schema merges by key (`patchStrategy:"merge"`), with their key.
const MERGE_KEYS: &[(&str, &str)] = &[
    ("containers", "name"),
    ("initContainers", "name"),
    ("ephemeralContainers", "name"),
    ("env", "name"),
    ("volumes", "name"),
    ("imagePullSecrets", "name"),
    ("resourceClaims", "name"),
    ("schedulingGates", "name"),
    ("volumeMounts", "mountPath"),
    ("volumeDevices", "devicePath"),
    ("ownerReferences", "uid"),
    ("conditions", "type"),
    ("hostAliases", "ip"),
    ("topologySpreadConstraints", "topologyKey"),
];

fn merge_key(field: &str, live: &[Value], patch: &[Value]) -> Option<&'static str> {
    // Container ports merge by containerPort, Service ports by port; one field name serves both.
    if field == "ports" {
        let container = |p: &Value| p.get("containerPort").is_some();
        let in_pod = live.iter().chain(patch).any(container);
        return Some(if in_pod { "containerPort" } else { "port" });
    }
    MERGE_KEYS.iter().find(|e| e.0 == field).map(|e| e.1)
}

/// Merges `patch` into `target`, which counts as an empty map unless it is one, so a patch
/// placed where nothing was still has its directives applied.
fn merge_into(target: Value, patch: &Object) -> Result<Value, PatchError> {
    let mut map = match target {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    merge_map(&mut map, patch)?;
    Ok(Value::Object(map))
}

/// Merges `patch` into `target` in place. A `$patch: delete` map empties `target`;
/// callers that hold the map under a key remove the key instead.
fn merge_map(target: &mut Object, patch: &Object) -> Result<(), PatchError> {
    match directive(patch)? {
        Directive::Merge => {}
        Directive::Replace => target.clear(),
        Directive::Delete => {
            target.clear();
            return Ok(());
        }
    }
    if let Some(keys) = patch.get(RETAIN_KEYS) {
        let keys = keys
            .as_array()
            .filter(|k| k.iter().all(Value::is_string))
            .ok_or_else(|| bad_request("$retainKeys must be a list of strings"))?;
        target.retain(|k, _| keys.iter().any(|r| r == k));
    }
    // The live order of each list is what $setElementOrder interleaves unmentioned items by.
    let mut live_orders = Vec::new();
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(SET_ORDER) {
            let order = value
                .as_array()
                .ok_or_else(|| bad_request(format!("{key} must be a list")))?;
            let live = match target.get(field) {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            live_orders.push((field, order, live));
        } else if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE) {
            let gone = value
                .as_array()
                .ok_or_else(|| bad_request(format!("{key} must be a list")))?;
            if let Some(Value::Array(items)) = target.get_mut(field) {
                items.retain(|v| !gone.contains(v));
            }
        }
    }
    for (key, value) in patch {
        if is_directive(key) {
            continue;
        }
        if value.is_null() || element_directive(value)? == Directive::Delete {
            target.remove(key);
            continue;
        }
        let slot = target.entry(key.clone()).or_insert(Value::Null);
        *slot = match value {
            Value::Object(sub) => merge_into(slot.take(), sub)?,
            Value::Array(items) => Value::Array(merge_list(key, slot.take(), items)?),
            scalar => scalar.clone(),
        };
    }
    for (field, order, live) in live_orders {
        if let Some(Value::Array(items)) = target.get_mut(field) {
            let key = merge_key(field, &live, items);
            *items = reorder(std::mem::take(items), order, &live, key);
        }
    }
    Ok(())
}

/// Items of a replaced list land where nothing was, but their directives still apply.
fn clean(value: &Value) -> Result<Value, PatchError> {
    match value {
        Value::Object(map) => merge_into(Value::Null, map),
        Value::Array(items) => merge_list("", Value::Null, items).map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn element_directive(item: &Value) -> Result<Directive, PatchError> {
    item.as_object().map_or(Ok(Directive::Merge), directive)
}

fn merge_list(field: &str, live: Value, patch: &[Value]) -> Result<Vec<Value>, PatchError> {
    let live = match live {
        Value::Array(items) => items,
        _ => Vec::new(),
    };
    let mut replace_all = false;
    for item in patch {
        replace_all |= element_directive(item)? == Directive::Replace;
    }
    let key = merge_key(field, &live, patch);
    // finalizers is the one primitive list with `patchStrategy:"merge"`: a set union.
    if replace_all || (key.is_none() && field != "finalizers") {
        let mut out = Vec::with_capacity(patch.len());
        for item in patch {
            if element_directive(item)? == Directive::Merge {
                out.push(clean(item)?);
            }
        }
        return Ok(out);
    }
    let mut out = live;
    let Some(key) = key else {
        for item in patch {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
        return Ok(out);
    };
    for item in patch {
        let (Some(map), Some(id)) = (item.as_object(), item.get(key)) else {
            return Err(bad_request(format!("{field} item lacks {key}: {item}")));
        };
        if directive(map)? == Directive::Delete {
            out.retain(|v| v.get(key) != Some(id));
        } else if let Some(existing) = out.iter_mut().find(|v| v.get(key) == Some(id)) {
            *existing = merge_into(existing.take(), map)?;
        } else {
            out.push(merge_into(Value::Null, map)?);
        }
    }
    Ok(out)
}

/// An item's identity in a list: its merge key's value, or the item itself for primitives.
fn ident<'a>(item: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    match key {
        Some(k) => item.get(k),
        None => Some(item),
    }
}

fn position(list: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    let id = ident(item, key)?;
    list.iter().position(|v| ident(v, key) == Some(id))
}

/// `$setElementOrder` as apimachinery's `normalizeElementOrder` does it: the mentioned
/// items take the given order, and each unmentioned item keeps its live place relative to
/// them, so `set image` on one container never moves the others.
fn reorder(items: Vec<Value>, order: &[Value], live: &[Value], key: Option<&str>) -> Vec<Value> {
    let (mut mentioned, unmentioned): (Vec<Value>, Vec<Value>) = items
        .into_iter()
        .partition(|v| position(order, v, key).is_some());
    mentioned.sort_by_key(|v| position(order, v, key));
    let mut out = Vec::with_capacity(mentioned.len() + unmentioned.len());
    let mut left = unmentioned.into_iter().peekable();
    let mut right = mentioned.into_iter().peekable();
    while let (Some(l), Some(r)) = (left.peek(), right.peek()) {
        let left_first = matches!(
            (position(live, l, key), position(live, r, key)),
            (Some(a), Some(b)) if a < b
        );
        let from = if left_first { &mut left } else { &mut right };
        out.extend(from.next());
    }
    out.extend(left);
    out.extend(right);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Strategic-merge cases: a `#` line naming the case, then one line each for the live
    /// object, the patch body and the expected result.
    const CASES: &str = r#"
# kubectl set image, app first: only app's image changes; resources, sidecar and order kept
{"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.19","resources":{"limits":{"cpu":"1"}}},{"name":"sidecar","image":"envoy:1"}]}}}}
{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"}],"containers":[{"image":"nginx:1.20","name":"app"}]}}}}
{"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.20","resources":{"limits":{"cpu":"1"}}},{"name":"sidecar","image":"envoy:1"}]}}}}
# kubectl set image, sidecar first: the sidecar stays first
{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","ports":[{"containerPort":80}]},{"name":"app","image":"nginx:1.19"}]}}}}
{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"}],"containers":[{"image":"nginx:1.20","name":"app"}]}}}}
{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","ports":[{"containerPort":80}]},{"name":"app","image":"nginx:1.20"}]}}}}
# env merges by name; $patch: delete removes one; a new name is appended
{"spec":{"containers":[{"name":"app","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}]}}
{"spec":{"containers":[{"name":"app","env":[{"name":"B","value":"20"},{"name":"A","$patch":"delete"},{"name":"C","value":"3"}]}]}}
{"spec":{"containers":[{"name":"app","env":[{"name":"B","value":"20"},{"name":"C","value":"3"}]}]}}
# $patch: replace and delete on maps; null deletes a key
{"metadata":{"labels":{"a":"1","b":"2"},"annotations":{"x":"y"},"uid":"u","name":"web"}}
{"metadata":{"labels":{"$patch":"replace","c":"3"},"annotations":{"$patch":"delete"},"uid":null}}
{"metadata":{"labels":{"c":"3"},"name":"web"}}
# $retainKeys drops the fields it does not list
{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}
{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}
{"spec":{"strategy":{"type":"Recreate"}}}
# $setElementOrder reorders the merged list
{"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}}
{"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"a"},{"name":"b"}],"containers":[{"name":"c","image":"x"}]}}
{"spec":{"containers":[{"name":"c","image":"x"},{"name":"a"},{"name":"b"}]}}
# $setElementOrder: unmentioned items keep their live place around the mentioned ones
{"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}}
{"spec":{"$setElementOrder/containers":[{"name":"n"},{"name":"c"}],"containers":[{"name":"n"}]}}
{"spec":{"containers":[{"name":"n"},{"name":"a"},{"name":"b"},{"name":"c"}]}}
# $deleteFromPrimitiveList; finalizers are a set; other primitive lists are replaced
{"metadata":{"finalizers":["a","b","c"]},"spec":{"args":["x","y"]}}
{"metadata":{"$deleteFromPrimitiveList/finalizers":["b"],"finalizers":["d","a"]},"spec":{"args":["z"]}}
{"metadata":{"finalizers":["a","c","d"]},"spec":{"args":["z"]}}
# ownerReferences merge by uid, Service ports by port; tolerations are replaced
{"metadata":{"ownerReferences":[{"uid":"1"}]},"spec":{"ports":[{"port":80}],"tolerations":[{"key":"k"}]}}
{"metadata":{"ownerReferences":[{"uid":"2"}]},"spec":{"ports":[{"port":80,"name":"http"},{"port":443}],"tolerations":[{"key":"j"}]}}
{"metadata":{"ownerReferences":[{"uid":"1"},{"uid":"2"}]},"spec":{"ports":[{"port":80,"name":"http"},{"port":443}],"tolerations":[{"key":"j"}]}}
# a {"$patch": "replace"} element replaces a keyed list; directives in new content are applied
{"spec":{"volumes":[{"name":"a"}],"containers":[{"name":"app"}]}}
{"spec":{"volumes":[{"$patch":"replace"},{"name":"b","emptyDir":{"$patch":"replace"}}],"containers":[{"name":"n","env":[{"name":"X","$patch":"delete"}],"$setElementOrder/env":[{"name":"Y"}]}]}}
{"spec":{"volumes":[{"name":"b","emptyDir":{}}],"containers":[{"name":"app"},{"name":"n","env":[]}]}}
# nested directives in a map that did not exist; $patch: merge is the default
{"metadata":{"name":"web"}}
{"metadata":{"$patch":"merge"},"spec":{"new":{"$patch":"replace","a":{"$retainKeys":["b"],"b":1}}}}
{"metadata":{"name":"web"},"spec":{"new":{"a":{"b":1}}}}
"#;

    #[test]
    fn strategic_cases() {
        let lines: Vec<&str> = CASES.lines().filter(|l| !l.is_empty()).collect();
        let (cases, rest) = lines.as_chunks::<4>();
        assert_eq!((cases.len(), rest.len()), (11, 0));
        for [name, live, body, want] in cases {
            let live: Value = serde_json::from_str(live).unwrap();
            let want: Value = serde_json::from_str(want).unwrap();
            // Apply is the same merge, so every case checks it too.
            for kind in [PatchKind::Strategic, PatchKind::Apply] {
                let out = apply(kind, &live, body.as_bytes()).unwrap();
                assert_eq!(out, want, "{kind:?} {name}");
                // No test value starts with '$', so this finds any directive key left behind.
                assert!(!out.to_string().contains("\"$"), "{kind:?} {name}");
            }
        }
    }

    #[test]
    fn merge_patch_and_apply_upsert() {
        let live = json!({"metadata": {"name": "web"}, "spec": {"args": ["a", "b"], "x": 1}});
        let body = br#"{"metadata":null,"spec":{"args":["c"]}}"#;
        let out = apply(PatchKind::Merge, &live, body).unwrap();
        assert_eq!(out, json!({"spec": {"args": ["c"], "x": 1}}));
        let body = br#"{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a"}]}}"#;
        let created = apply(PatchKind::Apply, &Value::Null, body).unwrap();
        assert_eq!(created, serde_json::from_slice::<Value>(body).unwrap());
    }

    #[test]
    fn json_patch_rollout_undo_and_failures() {
        let live =
            json!({"metadata": {"annotations": {}}, "spec": {"replicas": 2, "template": {}}});
        let template = json!({"spec": {"containers": [{"name": "app", "image": "v1"}]}});
        let annotations = json!({"deployment.kubernetes.io/revision": "1"});
        let body = json!([
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations},
        ]);
        let out = apply(PatchKind::Json, &live, body.to_string().as_bytes()).unwrap();
        let (meta, spec) = (
            json!({"annotations": annotations}),
            json!({"replicas": 2, "template": template}),
        );
        assert_eq!(out, json!({"metadata": meta, "spec": spec}));

        let test = br#"[{"op":"add","path":"/x","value":1},{"op":"test","path":"/spec/replicas","value":3}]"#;
        let missing = br#"[{"op":"remove","path":"/status/x"}]"#;
        let test_failed = "(test) failed at path \"/spec/replicas\"";
        for (body, needle) in [(&test[..], test_failed), (missing, "(remove)")] {
            let err = apply(PatchKind::Json, &live, body).unwrap_err();
            assert!(err.status == 422 && err.message.contains(needle), "{err}");
        }
    }

    #[test]
    fn garbage_bodies_are_400() {
        use PatchKind::*;
        let live = json!({"spec": {}});
        let cases: [(PatchKind, &[u8]); 10] = [
            (Strategic, b"{not json"),
            (Strategic, b"[1]"),
            (Strategic, br#"{"a":{"$patch":"explode"}}"#),
            (Strategic, br#"{"spec":{"containers":[{"image":"x"}]}}"#),
            (Merge, b""),
            (Merge, b"\"str\""),
            (Json, br#"{"op":"add"}"#),
            (Json, br#"[{"op":"frobnicate","path":"/a"}]"#),
            (Json, b"nope"),
            (Apply, b"kind: Pod\n"),
        ];
        for (kind, body) in cases {
            let err = apply(kind, &live, body).unwrap_err();
            assert_eq!(err.status, 400, "{kind:?} {body:?}: {err}");
        }
        let err = apply(Apply, &live, b"kind: Pod").unwrap_err().message;
        assert!(err.starts_with("only JSON-form apply"), "{err}");
        let err = apply(Strategic, &live, b"{").unwrap_err().message;
        assert!(
            err.starts_with("the body of the patch is not valid JSON: "),
            "{err}"
        );
    }

    #[test]
    fn content_types() {
        use PatchKind::*;
        let cases = [
            ("application/strategic-merge-patch+json", Some(Strategic)),
            ("application/merge-patch+json; charset=utf-8", Some(Merge)),
            ("Application/JSON-Patch+JSON", Some(Json)),
            ("application/apply-patch+yaml", Some(Apply)),
            ("application/json", None),
            ("", None),
        ];
        for (ct, kind) in cases {
            assert_eq!(kind_from_content_type(ct), kind, "{ct}");
        }
    }
}
