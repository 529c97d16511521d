//! The driver's lease and the presence leases of a shared release, kept by a task of the
//! runtime's: claimed as the release opens, renewed while the cockpit runs, given up as
//! it closes. What the leases say reaches the app as `Msg::Role` and `Msg::Presence`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

use super::Runtime;
use crate::app::Msg;
use crate::cluster::lease::{self, Claim, Role};

/// How long closing waits to give the driver's lease up before it lets the lease lapse.
const GIVE_UP_TIMEOUT: Duration = Duration::from_secs(2);

impl Runtime {
    /// The shared journal's place and the client of its environment, when both are there.
    fn journal_client(&self) -> Option<(&super::SharedJournal, &kube::Client)> {
        let shared = self.shared_journal.as_ref()?;
        let client = self.clients.get(&shared.environment)?.as_ref().ok()?;
        Some((shared, client))
    }

    fn lease_api(&self) -> Option<(Api<Lease>, String)> {
        let (shared, client) = self.journal_client()?;
        let release = self.release.clone()?;
        Some((Api::namespaced(client.clone(), &shared.namespace), release))
    }

    /// On a shared release: claims the driver's lease unless `observe`, or learns who holds
    /// it; then keeps the leases fresh. `None` when the journal is not shared (the only
    /// cockpit on it drives).
    ///
    /// `may_take_over`: whether this participant takes a lapsed driver's lease over (the
    /// on-call); then the cockpit that no longer renews it is replaced within a renewal.
    pub async fn take_role(&mut self, observe: bool, may_take_over: bool) -> Option<Msg> {
        let (api, release) = self.lease_api()?;
        let me = self.operator.name.clone();
        let instance = self.instance();
        let (role, driver) = if observe {
            let driver = lease::survey(&api, &release)
                .await
                .ok()
                .and_then(|(d, _)| d);
            (Role::Observer, driver)
        } else {
            match timed(lease::claim(&api, &release, &me, &instance)).await {
                Ok(Claim::Held(d)) => {
                    self.lease_renewed
                        .store(self.lease_clock(), Ordering::SeqCst);
                    (Role::Driver, Some(d))
                }
                Ok(Claim::TakenBy(d)) => (self.second_role().await, Some(d)),
                Err(e) => {
                    tracing::warn!("could not claim the driver's lease: {e}");
                    let driver = lease::survey(&api, &release)
                        .await
                        .ok()
                        .and_then(|(d, _)| d);
                    (Role::Observer, driver)
                }
            }
        };
        self.role = role;
        self.leased = true;
        if let Some(old) = self.keeping.take() {
            old.abort();
        }
        self.warn_if_signatures_are_open().await;
        let tx = self.tx.clone();
        let keeper = Keeper {
            api,
            release,
            me,
            instance,
            fallback: self.second_role().await,
            may_take_over: may_take_over && !observe,
            renewed: self.lease_renewed.clone(),
            started: self.lease_started,
            tx,
        };
        self.keeping = Some(tokio::spawn(keeper.keep(role)));
        Some(Msg::Role { role, driver })
    }

    /// Milliseconds since this runtime started, on the monotonic clock: when the driver's
    /// lease was last renewed, which a paused process cannot fake.
    fn lease_clock(&self) -> u64 {
        self.lease_started.elapsed().as_millis() as u64
    }

    /// Why this cockpit may not act as the driver now: its lease was last renewed too long
    /// ago for it to be sure it still holds it (a network down, a process paused and
    /// resumed), so another may hold it already.
    pub(super) fn stale_lease(&self) -> Option<String> {
        // Only a cockpit whose role a lease decided (a shared release) has one to be stale.
        if self.role != Role::Driver || !self.leased {
            return None;
        }
        let since = self
            .lease_clock()
            .saturating_sub(self.lease_renewed.load(Ordering::SeqCst));
        let limit = step_down_after().as_millis() as u64;
        (since >= limit).then(|| {
            format!(
                "this cockpit's lease as the driver was last renewed {} s ago: it does not act until it is renewed, since another may drive by now",
                since / 1000
            )
        })
    }

    /// This cockpit's id among its person's cockpits: kept in its state dir, so a cockpit
    /// restarted on the same state dir takes its own lease back at once.
    fn instance(&self) -> String {
        let path = self.store.root().join("cockpit-instance");
        if let Ok(id) = std::fs::read_to_string(&path)
            && !id.trim().is_empty()
        {
            return id.trim().to_string();
        }
        let seed = format!(
            "{} {} {:?}",
            path.display(),
            std::process::id(),
            std::time::SystemTime::now()
        );
        let id = crate::release::journal::chain::hash_line(seed.as_bytes())[..16].to_string();
        if let Err(e) = std::fs::write(&path, &id) {
            tracing::warn!(
                "could not keep this cockpit's id in {}: {e}",
                path.display()
            );
        }
        id
    }

    /// The authorship proof holds only where nobody may write another's signatures; a
    /// cluster that lets this user do so is said to, once.
    async fn warn_if_signatures_are_open(&self) {
        let Some((shared, client)) = self.journal_client() else {
            return;
        };
        let someone_else = crate::cluster::journal::signatures::signatures_name(
            "release-cockpit-probe-of-another-user",
        );
        let request = crate::cluster::identity::Request {
            verb: "patch",
            group: "",
            resource: "configmaps",
            namespace: shared.signatures_namespace.clone(),
            name: Some(someone_else),
        };
        if let Ok(Ok(true)) = tokio::time::timeout(
            CALL_TIMEOUT,
            crate::cluster::identity::may(client, &request),
        )
        .await
        {
            let _ = self.tx.send(Msg::Notice {
                level: crate::app::Level::Warn,
                text: format!(
                    "the cluster lets you write other people's signatures in namespace {}: who wrote an entry is not proven there (see the README's RBAC manifest)",
                    shared.signatures_namespace
                ),
            });
        }
    }

    /// What a cockpit on a release someone else drives is: a reviewer if the cluster
    /// lets it write the journal, else an observer.
    async fn second_role(&self) -> Role {
        let Some((shared, client)) = self.journal_client() else {
            return Role::Observer;
        };
        let request = crate::cluster::identity::Request {
            verb: "patch",
            group: "",
            resource: "configmaps",
            namespace: shared.namespace.clone(),
            name: None,
        };
        match crate::cluster::identity::may(client, &request).await {
            Ok(true) => Role::Reviewer,
            Ok(false) => Role::Observer,
            Err(e) => {
                tracing::info!("could not ask whether we may write the journal: {e}");
                Role::Reviewer
            }
        }
    }

    /// Stops keeping the leases without giving them up: what a cockpit that died leaves
    /// behind (tests, and a cockpit closing on a signal it must not wait on).
    pub fn abandon_leases(&mut self) {
        if let Some(k) = self.keeping.take() {
            k.abort();
        }
    }

    /// Gives the driver's lease up, so another cockpit may drive at once.
    pub async fn leave(&mut self) {
        if let Some(k) = self.keeping.take() {
            k.abort();
        }
        if self.role != Role::Driver {
            return;
        }
        if let Some((api, release)) = self.lease_api() {
            let me = self.operator.name.clone();
            let instance = self.instance();
            match tokio::time::timeout(
                GIVE_UP_TIMEOUT,
                lease::give_up(&api, &release, &me, &instance),
            )
            .await
            {
                Ok(Ok(())) => tracing::info!("gave up the driver's lease"),
                Ok(Err(e)) => tracing::warn!("could not give up the driver's lease: {e}"),
                Err(_) => tracing::warn!("giving up the driver's lease timed out; it lapses"),
            }
        }
    }
}

/// How long one lease call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(4);

async fn timed<T>(
    call: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", CALL_TIMEOUT.as_secs())),
    }
}

/// A driver that has not renewed for this long steps down, and does not act meanwhile:
/// a renewal before its lease lapses, at worst, is what keeps two from acting at once.
fn step_down_after() -> Duration {
    Duration::from_secs(lease::LEASE_SECONDS as u64).saturating_sub(lease::RENEW_EVERY)
}

/// Keeps this cockpit's leases while it runs.
struct Keeper {
    api: Api<Lease>,
    release: String,
    me: String,
    instance: String,
    /// What this cockpit is when it is not the driver.
    fallback: Role,
    /// Whether it takes a lapsed driver's lease over.
    may_take_over: bool,
    /// When the driver's lease was last renewed (milliseconds since `started`).
    renewed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    started: std::time::Instant,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
}

impl Keeper {
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Renews the driver's lease (while this cockpit holds it) and this participant's
    /// presence, and reports who drives and who is present, every `RENEW_EVERY`. A driver
    /// that cannot renew steps down before its lease can lapse; the on-call takes a
    /// lapsed lease over.
    async fn keep(self, mut role: Role) {
        // An observer the cluster does not let write a presence lease stays unannounced.
        let mut announce = true;
        loop {
            if role == Role::Driver {
                let since = Duration::from_millis(
                    self.now()
                        .saturating_sub(self.renewed.load(Ordering::SeqCst)),
                );
                match self.claim().await {
                    Ok(Claim::Held(_)) => {
                        self.renewed.store(self.now(), Ordering::SeqCst);
                        // Renewed, but after a gap the lease could have lapsed in:
                        // another may have driven meanwhile. Still ours, so it goes on.
                        if since >= Duration::from_secs(lease::LEASE_SECONDS as u64) {
                            tracing::warn!("renewed the driver's lease after {since:?} without");
                        }
                    }
                    Ok(Claim::TakenBy(d)) => {
                        role = self.fallback;
                        let _ = self.tx.send(Msg::Role {
                            role,
                            driver: Some(d),
                        });
                    }
                    Err(e) if since >= step_down_after() => {
                        tracing::error!(
                            "could not renew the driver's lease for {since:?}: {e}; stepping down"
                        );
                        role = self.fallback;
                        let _ = self.tx.send(Msg::Notice {
                            level: crate::app::Level::Error,
                            text: format!(
                                "the driver's lease could not be renewed for {} s ({e}): this cockpit no longer drives, so no two act at once",
                                since.as_secs()
                            ),
                        });
                        let _ = self.tx.send(Msg::Role { role, driver: None });
                    }
                    Err(e) => tracing::warn!("could not renew the driver's lease: {e}"),
                }
            }
            if announce {
                match timed(lease::announce(&self.api, &self.release, &self.me, role)).await {
                    Ok(()) => {}
                    Err(e) if e.contains("forbidden") || e.contains("403") => {
                        tracing::info!(
                            "the cluster does not let {} announce their presence: {e}",
                            self.me
                        );
                        announce = false;
                    }
                    Err(e) => tracing::warn!("could not renew the presence lease: {e}"),
                }
            }
            match timed(lease::survey(&self.api, &self.release)).await {
                Ok((driver, present)) => {
                    let lapsed = driver.as_ref().is_none_or(|d| !d.live(chrono::Utc::now()));
                    if self.tx.send(Msg::Presence { driver, present }).is_err() {
                        return;
                    }
                    if role != Role::Driver && self.may_take_over && lapsed {
                        role = self.take_over(role).await;
                    }
                }
                Err(e) => tracing::debug!("could not read the release's leases: {e}"),
            }
            tokio::time::sleep(lease::RENEW_EVERY).await;
        }
    }

    /// Claims (or renews) the driver's lease for this cockpit, within the call deadline.
    async fn claim(&self) -> Result<Claim, String> {
        timed(lease::claim(
            &self.api,
            &self.release,
            &self.me,
            &self.instance,
        ))
        .await
    }

    /// Claims the lapsed driver's lease; the role this cockpit has after.
    async fn take_over(&self, role: Role) -> Role {
        match self.claim().await {
            Ok(Claim::Held(d)) => {
                self.renewed.store(self.now(), Ordering::SeqCst);
                tracing::warn!("took the driver's lease over");
                let _ = self.tx.send(Msg::Role {
                    role: Role::Driver,
                    driver: Some(d),
                });
                Role::Driver
            }
            Ok(Claim::TakenBy(_)) => role,
            Err(e) => {
                tracing::warn!("could not take the driver's lease over: {e}");
                role
            }
        }
    }
}
