//! The driver's lease and the presence leases of a shared release, kept by a task of the
//! runtime's: claimed as the release opens, renewed while the cockpit runs, given up as
//! it closes. What the leases say reaches the app as `Msg::Role` and `Msg::Presence`.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

use super::Runtime;
use crate::app::Msg;
use crate::cluster::lease::{self, Claim, Role};

/// How long closing waits to give the driver's lease up before it lets the lease lapse.
const GIVE_UP_TIMEOUT: Duration = Duration::from_secs(2);

impl Runtime {
    fn lease_api(&self) -> Option<(Api<Lease>, String)> {
        let shared = self.shared_journal.as_ref()?;
        let release = self.release.clone()?;
        let client = self
            .clients
            .get(&shared.environment)?
            .as_ref()
            .ok()?
            .clone();
        Some((Api::namespaced(client, &shared.namespace), release))
    }

    /// On a shared release: claims the driver's lease unless `observe`, or learns who holds
    /// it; then keeps the leases fresh. `None` when the journal is not shared (the only
    /// cockpit on it drives).
    pub async fn take_role(&mut self, observe: bool) -> Option<Msg> {
        let (api, release) = self.lease_api()?;
        let me = self.operator.name.clone();
        let (role, driver) = if observe {
            let driver = lease::survey(&api, &release)
                .await
                .ok()
                .and_then(|(d, _)| d);
            (Role::Observer, driver)
        } else {
            match lease::claim(&api, &release, &me).await {
                Ok(Claim::Held(d)) => (Role::Driver, Some(d)),
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
        if let Some(old) = self.keeping.take() {
            old.abort();
        }
        let tx = self.tx.clone();
        self.keeping = Some(tokio::spawn(keep(api, release, me, role, tx)));
        Some(Msg::Role { role, driver })
    }

    /// What a cockpit on a release someone else drives is: a reviewer if the cluster
    /// lets it write the journal, else an observer.
    async fn second_role(&self) -> Role {
        let (Some(shared), Some(Ok(client))) = (
            self.shared_journal.as_ref(),
            self.shared_journal
                .as_ref()
                .and_then(|s| self.clients.get(&s.environment)),
        ) else {
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
            match tokio::time::timeout(GIVE_UP_TIMEOUT, lease::give_up(&api, &release, &me)).await {
                Ok(Ok(())) => tracing::info!("gave up the driver's lease"),
                Ok(Err(e)) => tracing::warn!("could not give up the driver's lease: {e}"),
                Err(_) => tracing::warn!("giving up the driver's lease timed out; it lapses"),
            }
        }
    }
}

/// Renews the driver's lease (while this cockpit holds it) and this participant's
/// presence, and reports who drives and who is present, every `RENEW_EVERY`.
async fn keep(
    api: Api<Lease>,
    release: String,
    me: String,
    mut role: Role,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
) {
    // An observer the cluster does not let write a presence lease stays unannounced.
    let mut announce = true;
    loop {
        if role == Role::Driver {
            match lease::claim(&api, &release, &me).await {
                Ok(Claim::Held(_)) => {}
                Ok(Claim::TakenBy(d)) => {
                    role = Role::Reviewer;
                    let _ = tx.send(Msg::Role {
                        role,
                        driver: Some(d),
                    });
                }
                Err(e) => tracing::warn!("could not renew the driver's lease: {e}"),
            }
        }
        if announce && let Err(e) = lease::announce(&api, &release, &me, role).await {
            if matches!(&e, kube::Error::Api(s) if s.code == 403) {
                tracing::info!("the cluster does not let {me} announce their presence: {e}");
                announce = false;
            } else {
                tracing::warn!("could not renew the presence lease: {e}");
            }
        }
        match lease::survey(&api, &release).await {
            Ok((driver, present)) => {
                if tx.send(Msg::Presence { driver, present }).is_err() {
                    return;
                }
            }
            Err(e) => tracing::debug!("could not read the release's leases: {e}"),
        }
        tokio::time::sleep(lease::RENEW_EVERY).await;
    }
}
