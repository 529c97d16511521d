//! Who drives a shared release, and who is on it: a `coordination.k8s.io/v1` Lease for the
//! driver (the one cockpit that acts and journals the automatic events), and one presence
//! Lease per participant, renewed while their cockpit runs.
//!
//! Lease times are the wall clock's whatever `--speed` says: a lease measures whether a
//! person's cockpit is still there, which simulated time knows nothing of. Times are
//! written and read as RFC 3339 strings through JSON, as client-go's lock does.

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};

use super::journal::segments::{JOURNAL_LABEL, label_value, segment_name};
use super::{MANAGED_BY, MANAGED_BY_LABEL};

/// How long a lease holds without renewal, and how often it is renewed.
pub const LEASE_SECONDS: i64 = 15;
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// What a participant's cockpit does on the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Holds the driver's lease: acts, and journals the automatic events.
    Driver,
    /// Sees the release live and records approvals.
    Reviewer,
    /// Only watches.
    Observer,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Reviewer => "reviewer",
            Role::Observer => "observer",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        [Role::Driver, Role::Reviewer, Role::Observer]
            .into_iter()
            .find(|r| r.name() == s)
    }
}

/// The driver's lease as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Driver {
    pub name: String,
    /// Which cockpit of theirs (its state dir's id): two cockpits of one person are two.
    pub instance: String,
    pub since: DateTime<Utc>,
    pub renewed: DateTime<Utc>,
    pub seconds: i64,
}

impl Driver {
    /// Whether the lease still holds at `now` (the wall clock).
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        now < self.renewed + chrono::Duration::seconds(self.seconds)
    }
}

/// A participant whose presence lease was renewed lately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    pub name: String,
    pub role: Role,
    pub seen: DateTime<Utc>,
}

/// "release-engineer (driver), reviewer (reviewer)": who is on a release, as shown.
pub fn who_is_on(present: &[Present]) -> String {
    present
        .iter()
        .map(|p| format!("{} ({})", p.name, p.role.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What claiming the driver's lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Held(Driver),
    TakenBy(Driver),
}

const KIND_LABEL: &str = "release-cockpit/lease";

pub fn driver_lease_name(release: &str) -> String {
    segment_name(release, 0)
        .replace("-journal-", "-driver-")
        .trim_end_matches("-0000")
        .to_string()
}

fn presence_name(release: &str, user: &str) -> String {
    let who: String = user
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let base = driver_lease_name(release).replace("-driver-", "-present-");
    let name = format!("{base}-{}", who.trim_matches('-'));
    name.chars().take(253).collect()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()?.parse().ok()
}

fn lease_object(name: &str, release: &str, kind: &str, spec: Value, rv: Option<&str>) -> Lease {
    let mut metadata = json!({
        "name": name,
        "labels": {
            MANAGED_BY_LABEL: MANAGED_BY,
            JOURNAL_LABEL: label_value(release),
            KIND_LABEL: kind,
        },
    });
    if let Some(rv) = rv {
        metadata["resourceVersion"] = json!(rv);
    }
    serde_json::from_value(json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": spec,
    }))
    .expect("a lease's JSON reads as a Lease")
}

/// `user#instance`, as the driver's lease names its holder.
fn holder(me: &str, instance: &str) -> String {
    format!("{me}#{instance}")
}

fn driver_of(lease: &Lease) -> Option<Driver> {
    let spec = serde_json::to_value(lease.spec.as_ref()?).ok()?;
    let held_by = spec["holderIdentity"].as_str().filter(|h| !h.is_empty())?;
    let (name, instance) = held_by.rsplit_once('#').unwrap_or((held_by, ""));
    let renewed = time(&spec["renewTime"])?;
    Some(Driver {
        name: name.to_string(),
        instance: instance.to_string(),
        since: time(&spec["acquireTime"]).unwrap_or(renewed),
        renewed,
        seconds: spec["leaseDurationSeconds"]
            .as_i64()
            .unwrap_or(LEASE_SECONDS),
    })
}

/// Claims the driver's lease of `release` for `me`'s cockpit `instance`: taken when nobody
/// holds it, its holder let it lapse, or this cockpit held it already (it restarted);
/// another cockpit of the same person holding it is another driver.
pub async fn claim(
    api: &Api<Lease>,
    release: &str,
    me: &str,
    instance: &str,
) -> Result<Claim, kube::Error> {
    let mine = |d: &Driver| d.name == me && d.instance == instance;
    let name = driver_lease_name(release);
    for _ in 0..3 {
        let now = Utc::now();
        let current = api.get_opt(&name).await?;
        let (rv, held, transitions) = match &current {
            None => (None, None, 0),
            Some(l) => (
                l.metadata.resource_version.clone(),
                driver_of(l),
                l.spec
                    .as_ref()
                    .and_then(|s| s.lease_transitions)
                    .unwrap_or(0),
            ),
        };
        if let Some(d) = &held
            && !mine(d)
            && d.live(now)
        {
            return Ok(Claim::TakenBy(d.clone()));
        }
        let since = match &held {
            Some(d) if mine(d) => d.since,
            _ => now,
        };
        let spec = json!({
            "holderIdentity": holder(me, instance),
            "leaseDurationSeconds": LEASE_SECONDS,
            "acquireTime": stamp(since),
            "renewTime": stamp(now),
            "leaseTransitions": if held.as_ref().is_some_and(mine) { transitions } else { transitions + 1 },
        });
        let lease = lease_object(&name, release, "driver", spec, rv.as_deref());
        let written = match rv {
            None => api.create(&PostParams::default(), &lease).await,
            Some(_) => api.replace(&name, &PostParams::default(), &lease).await,
        };
        match written {
            Ok(l) => {
                return Ok(Claim::Held(driver_of(&l).unwrap_or(Driver {
                    name: me.to_string(),
                    instance: instance.to_string(),
                    since,
                    renewed: now,
                    seconds: LEASE_SECONDS,
                })));
            }
            // Another cockpit claimed it in between: look again.
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => return Err(e),
        }
    }
    match api.get_opt(&name).await?.as_ref().and_then(driver_of) {
        Some(d) if !mine(&d) => Ok(Claim::TakenBy(d)),
        _ => Err(kube::Error::Api(Box::new(kube::core::Status::failure(
            "the driver's lease kept changing",
            "Conflict",
        )))),
    }
}

/// Gives the driver's lease up (the cockpit closes), so another may take it at once.
pub async fn give_up(
    api: &Api<Lease>,
    release: &str,
    me: &str,
    instance: &str,
) -> Result<(), kube::Error> {
    let name = driver_lease_name(release);
    let Some(current) = api.get_opt(&name).await? else {
        return Ok(());
    };
    if driver_of(&current).is_none_or(|d| d.name != me || d.instance != instance) {
        return Ok(());
    }
    let spec = json!({"holderIdentity": null, "leaseDurationSeconds": LEASE_SECONDS});
    let lease = lease_object(
        &name,
        release,
        "driver",
        spec,
        current.metadata.resource_version.as_deref(),
    );
    api.replace(&name, &PostParams::default(), &lease)
        .await
        .map(|_| ())
}

/// Says `me` is on the release as `role` (creates or renews their presence lease).
pub async fn announce(
    api: &Api<Lease>,
    release: &str,
    me: &str,
    role: Role,
) -> Result<(), kube::Error> {
    let name = presence_name(release, me);
    let rv = api
        .get_opt(&name)
        .await?
        .and_then(|l| l.metadata.resource_version);
    let spec = json!({
        "holderIdentity": format!("{me}/{}", role.name()),
        "leaseDurationSeconds": LEASE_SECONDS,
        "renewTime": stamp(Utc::now()),
    });
    let lease = lease_object(&name, release, "presence", spec, rv.as_deref());
    match rv {
        None => api.create(&PostParams::default(), &lease).await.map(|_| ()),
        Some(_) => api
            .replace(&name, &PostParams::default(), &lease)
            .await
            .map(|_| ()),
    }
}

/// Who drives the release, and who is on it now.
pub async fn survey(
    api: &Api<Lease>,
    release: &str,
) -> Result<(Option<Driver>, Vec<Present>), kube::Error> {
    let now = Utc::now();
    let leases = api
        .list(&ListParams::default().labels(&format!("{JOURNAL_LABEL}={}", label_value(release))))
        .await?;
    let mut driver = None;
    let mut present = Vec::new();
    for l in &leases.items {
        let kind = l
            .metadata
            .labels
            .as_ref()
            .and_then(|m| m.get(KIND_LABEL))
            .map(String::as_str);
        match kind {
            Some("driver") => driver = driver_of(l),
            Some("presence") => {
                let Some(d) = driver_of(l).filter(|d| d.live(now)) else {
                    continue;
                };
                let (name, role) = d.name.rsplit_once('/').unwrap_or((&d.name, "reviewer"));
                present.push(Present {
                    name: name.to_string(),
                    role: Role::parse(role).unwrap_or(Role::Reviewer),
                    seen: d.renewed,
                });
            }
            _ => {}
        }
    }
    present.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((driver, present))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_names_are_dns_names_per_release_and_person() {
        assert_eq!(driver_lease_name("1.2.3"), "release-cockpit-driver-1.2.3");
        assert_eq!(
            presence_name("1.2.3", "Tess.Lead@example.com"),
            "release-cockpit-present-1.2.3-tess-lead-example-com"
        );
    }

    #[test]
    fn a_lease_lapses_after_its_seconds() {
        let at: DateTime<Utc> = "2026-12-06T10:00:00Z".parse().unwrap();
        let d = Driver {
            name: "a".into(),
            instance: "1".into(),
            since: at,
            renewed: at,
            seconds: 15,
        };
        assert!(d.live(at + chrono::Duration::seconds(14)));
        assert!(!d.live(at + chrono::Duration::seconds(15)));
    }
}
