//! The object store: every object as JSON, one resourceVersion counter for all writes, and
//! a bounded history of changes that watches replay from.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::errors::ApiError;
use super::resources::{Resource, by_store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub store: &'static str,
    pub namespace: String,
    pub kind: ChangeType,
    pub object: Arc<Value>,
    /// The object as JSON, encoded once however many watches send it.
    encoded: Arc<OnceLock<Vec<u8>>>,
}

impl Change {
    pub fn encoded(&self) -> &[u8] {
        self.encoded
            .get_or_init(|| serde_json::to_vec(&*self.object).expect("json"))
    }
}

/// How a write is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteTo {
    /// The object itself: spec, metadata; status is kept as it was.
    Main,
    /// The status subresource (and, for controllers, annotations): nothing else changes.
    Status,
}

/// How many changes are kept for watches to resume from.
pub const HISTORY: usize = 4_096;

pub type Key = (&'static str, String, String);

pub struct Store {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Arc<Change>>,
    /// Watches from a resourceVersion below this get 410 Expired.
    compacted_to: u64,
    tx: broadcast::Sender<Arc<Change>>,
    uids: u64,
}

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn micro_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn meta(obj: &Value) -> &Value {
    &obj["metadata"]
}

pub fn name_of(obj: &Value) -> &str {
    meta(obj)["name"].as_str().unwrap_or_default()
}

pub fn rv_of(obj: &Value) -> u64 {
    meta(obj)["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(65_536);
        Self {
            rv: 1,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            compacted_to: 0,
            tx,
            uids: 0,
        }
    }

    /// A store that goes on from saved state, as an API server after a restart: the
    /// counters where the save left them, and no history, so a watch from before the
    /// restart gets 410 Expired and relists.
    pub fn restored(rv: u64, uids: u64, objects: BTreeMap<Key, Value>) -> Self {
        Self {
            rv,
            objects,
            compacted_to: rv,
            uids,
            ..Self::new()
        }
    }

    /// Every object with the key it is kept under, for a snapshot.
    pub fn objects(&self) -> impl Iterator<Item = (&Key, &Value)> {
        self.objects.iter()
    }

    /// How many uids were handed out: a restored store must not hand them out again.
    pub fn uids_issued(&self) -> u64 {
        self.uids
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn compacted_to(&self) -> u64 {
        self.compacted_to
    }

    /// Forgets history so that a watch from an older resourceVersion gets 410 (a test hook).
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted_to = self.rv;
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    /// Changes after `rv`, oldest first, or `None` when they are no longer kept.
    pub fn changes_since(&self, rv: u64) -> Option<Vec<Arc<Change>>> {
        if rv < self.compacted_to {
            return None;
        }
        Some(self.history.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    pub fn get(&self, store: &'static str, ns: &str, name: &str) -> Option<&Value> {
        self.objects.get(&(store, ns.to_string(), name.to_string()))
    }

    /// Every object of a kind, in one namespace or all, in name order.
    pub fn list(&self, store: &'static str, ns: Option<&str>) -> Vec<&Value> {
        self.objects
            .range((store, String::new(), String::new())..)
            .take_while(|((s, _, _), _)| *s == store)
            .filter(|((_, n, _), _)| ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v)
            .collect()
    }

    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn record(&mut self, store: &'static str, ns: &str, kind: ChangeType, object: Value) -> Value {
        let change = Arc::new(Change {
            rv: self.rv,
            store,
            namespace: ns.to_string(),
            kind,
            object: Arc::new(object.clone()),
            encoded: Arc::new(OnceLock::new()),
        });
        self.history.push_back(change.clone());
        while self.history.len() > HISTORY {
            if let Some(old) = self.history.pop_front() {
                self.compacted_to = old.rv;
            }
        }
        let _ = self.tx.send(change);
        object
    }

    fn new_uid(&mut self) -> String {
        self.uids += 1;
        let n = self.uids;
        format!(
            "5a4d8c1e-{:04x}-4{:03x}-8{:03x}-{:012x}",
            n >> 24 & 0xffff,
            n >> 12 & 0xfff,
            n & 0xfff,
            n
        )
    }

    /// Adds a new object: fills uid, creation time, resourceVersion, generation, namespace,
    /// and a name from `generateName`.
    pub fn create(
        &mut self,
        r: &Resource,
        ns: &str,
        mut obj: Value,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        let mut name = name_of(&obj).to_string();
        if name.is_empty() {
            match obj["metadata"]["generateName"].as_str() {
                Some(prefix) => {
                    let suffix = super::naming::suffix(self.rv + self.uids, 5);
                    name = format!("{prefix}{suffix}");
                }
                None => {
                    return Err(ApiError::invalid(
                        r,
                        "",
                        vec![(
                            "metadata.name".into(),
                            "Required value: name or generateName is required".into(),
                        )],
                    ));
                }
            }
        }
        let ns = if r.namespaced { ns } else { "" };
        if self.get(r.store, ns, &name).is_some() {
            return Err(ApiError::already_exists(r, &name));
        }
        // Stored in the home group's form, typed, so watches can send it as it is.
        if let Some(home) = by_store(r.store) {
            obj["apiVersion"] = json!(home.api_version());
            obj["kind"] = json!(home.kind);
        }
        let rv = self.bump();
        let uid = self.new_uid();
        let m = &mut obj["metadata"];
        m["name"] = Value::String(name.clone());
        if r.namespaced {
            m["namespace"] = Value::String(ns.to_string());
        }
        m["uid"] = Value::String(uid);
        m["resourceVersion"] = Value::String(rv.to_string());
        m["creationTimestamp"] = Value::String(timestamp(now));
        if obj.get("spec").is_some() {
            obj["metadata"]["generation"] = json!(1);
        }
        if r.plural == "jobs" {
            // The API server ties a Job to its pods by its uid (the one default that needs it).
            let uid = obj["metadata"]["uid"].clone();
            if !obj["spec"]["selector"].is_object() {
                obj["spec"]["selector"] =
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
            }
            let name = obj["metadata"]["name"].clone();
            let labels = &mut obj["spec"]["template"]["metadata"]["labels"];
            if !labels.is_object() {
                *labels = json!({});
            }
            labels["batch.kubernetes.io/controller-uid"] = uid.clone();
            labels["controller-uid"] = uid;
            labels["batch.kubernetes.io/job-name"] = name.clone();
            labels["job-name"] = name;
        }
        let store = r.store;
        self.objects
            .insert((store, ns.to_string(), name), obj.clone());
        Ok(self.record(store, ns, ChangeType::Added, obj))
    }

    /// Replaces an object. A non-empty `metadata.resourceVersion` in `new` must match.
    pub fn update(
        &mut self,
        r: &Resource,
        ns: &str,
        name: &str,
        mut new: Value,
        to: WriteTo,
    ) -> Result<Value, ApiError> {
        let ns = if r.namespaced { ns } else { "" };
        let key = (r.store, ns.to_string(), name.to_string());
        let Some(old) = self.objects.get(&key) else {
            return Err(ApiError::not_found(r, name));
        };
        let wanted = meta(&new)["resourceVersion"].as_str().unwrap_or_default();
        if !wanted.is_empty() && wanted != meta(old)["resourceVersion"].as_str().unwrap_or_default()
        {
            return Err(ApiError::conflict(r, name));
        }
        if let Some(causes) = immutable_changed(r, old, &new, to) {
            return Err(ApiError::invalid(r, name, causes));
        }
        let merged = match to {
            WriteTo::Status => {
                let mut o = old.clone();
                o["status"] = new["status"].take();
                if let Some(a) = new["metadata"].get("annotations") {
                    o["metadata"]["annotations"] = a.clone();
                }
                o
            }
            WriteTo::Main => {
                let mut n = new;
                // Identity and bookkeeping are the server's.
                for k in [
                    "uid",
                    "creationTimestamp",
                    "namespace",
                    "name",
                    "generation",
                    "deletionTimestamp",
                ] {
                    match old["metadata"].get(k) {
                        Some(v) => n["metadata"][k] = v.clone(),
                        None => {
                            if let Some(m) = n["metadata"].as_object_mut() {
                                m.remove(k);
                            }
                        }
                    }
                }
                if let Some(s) = old.get("status") {
                    n["status"] = s.clone();
                }
                if let Some(home) = by_store(r.store) {
                    n["apiVersion"] = json!(home.api_version());
                    n["kind"] = json!(home.kind);
                }
                let spec_changed = old.get("spec") != n.get("spec")
                    || old["metadata"].get("annotations") != n["metadata"].get("annotations");
                if spec_changed && old["metadata"].get("generation").is_some() {
                    let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
                    n["metadata"]["generation"] = json!(g + 1);
                }
                n
            }
        };
        if merged == *old {
            // Nothing changed: no new resourceVersion, no watch event (as the API server).
            return Ok(merged);
        }
        let rv = self.bump();
        let mut merged = merged;
        merged["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        self.objects.insert(key, merged.clone());
        Ok(self.record(r.store, ns, ChangeType::Modified, merged))
    }

    /// Removes an object and, in the background policy's spirit, everything it owns.
    pub fn delete(
        &mut self,
        r: &Resource,
        ns: &str,
        name: &str,
        cascade: bool,
    ) -> Result<Value, ApiError> {
        let ns = if r.namespaced { ns } else { "" };
        let key = (r.store, ns.to_string(), name.to_string());
        let Some(mut obj) = self.objects.remove(&key) else {
            return Err(ApiError::not_found(r, name));
        };
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let uid = meta(&obj)["uid"].as_str().unwrap_or_default().to_string();
        let obj = self.record(r.store, ns, ChangeType::Deleted, obj);
        if cascade {
            let owned: Vec<Key> = self
                .objects
                .iter()
                .filter(|(_, v)| {
                    v["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|refs| refs.iter().any(|o| o["uid"] == uid.as_str()))
                })
                .map(|(k, _)| k.clone())
                .collect();
            for (store, ns, name) in owned {
                if let Some(child) = by_store(store) {
                    let _ = self.delete(child, &ns, &name, true);
                }
            }
        }
        if r.plural == "namespaces" {
            let inside: Vec<Key> = self
                .objects
                .keys()
                .filter(|(_, n, _)| *n == name)
                .cloned()
                .collect();
            for (store, ns, name) in inside {
                if let Some(child) = by_store(store) {
                    let _ = self.delete(child, &ns, &name, false);
                }
            }
        }
        Ok(obj)
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// An immutable ConfigMap (or Secret) keeps its data, and stays immutable, for good: the
/// API server refuses the change with one cause per field, as here.
fn immutable_changed(
    r: &Resource,
    old: &Value,
    new: &Value,
    to: WriteTo,
) -> Option<Vec<(String, String)>> {
    if r.plural != "configmaps" || to != WriteTo::Main || old.get("immutable") != Some(&json!(true))
    {
        return None;
    }
    let forbidden = "Forbidden: field is immutable when `immutable` is set".to_string();
    let causes: Vec<(String, String)> = ["data", "binaryData", "immutable"]
        .into_iter()
        .filter(|field| old.get(*field) != new.get(*field))
        .map(|field| (field.to_string(), forbidden.clone()))
        .collect();
    (!causes.is_empty()).then_some(causes)
}
