//! Asking the API server who we are (SelfSubjectReview) and what we may do
//! (SelfSubjectAccessReview). The identity shown and stamped is the one the server
//! authenticated, never one the cockpit was told.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Client;
use kube::api::{Api, PostParams};

use super::error::ActionError;
use crate::config::Config;
use crate::release::identity::{Author, Identity};

/// What the API server says of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterUser {
    pub username: String,
    pub groups: Vec<String>,
}

pub async fn whoami(client: &Client) -> Result<ClusterUser, ActionError> {
    let doing = "asking the API server who we are (SelfSubjectReview)";
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let review = api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .map_err(|e| ActionError::from_kube(doing, e))?;
    let info = review
        .status
        .and_then(|s| s.user_info)
        .ok_or_else(|| ActionError::new(doing, "the answer has no user info"))?;
    let username = info
        .username
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ActionError::new(doing, "the answer has no username"))?;
    Ok(ClusterUser {
        username,
        groups: info.groups.unwrap_or_default(),
    })
}

/// One request the cockpit may make, as RBAC names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub namespace: String,
    pub name: Option<String>,
}

impl Request {
    /// "patch deployments in production": how a refusal names it.
    pub fn describe(&self) -> String {
        format!("{} {} in {}", self.verb, self.resource, self.namespace)
    }
}

impl Request {
    /// What the cockpit's writes in `env` need: patching its Deployment (deploys and
    /// rollbacks) and creating Jobs (migrations).
    pub fn for_actions(env: &crate::config::Environment) -> Vec<Request> {
        vec![
            Request {
                verb: "patch",
                group: "apps",
                resource: "deployments",
                namespace: env.namespace.clone(),
                name: Some(env.deployment.clone()),
            },
            Request {
                verb: "create",
                group: "batch",
                resource: "jobs",
                namespace: env.namespace.clone(),
                name: None,
            },
        ]
    }
}

/// Which of `requests` the API server says no to; `Err` when it could not be asked (the
/// actions then learn it from their own answer).
pub async fn denied(client: &Client, requests: Vec<Request>) -> Result<Vec<Request>, String> {
    let mut out = Vec::new();
    for req in requests {
        if !may(client, &req).await.map_err(|e| e.to_string())? {
            out.push(req);
        }
    }
    Ok(out)
}

/// Whether the API server would allow `req`; `Err` when it could not be asked.
pub async fn may(client: &Client, req: &Request) -> Result<bool, ActionError> {
    let doing = format!("asking whether we may {}", req.describe());
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(req.namespace.clone()),
                verb: Some(req.verb.to_string()),
                group: Some(req.group.to_string()),
                resource: Some(req.resource.to_string()),
                name: req.name.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| ActionError::from_kube(&doing, e))?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// Who the cockpit is, as the clusters tell: the protected environments are asked first
/// (the journal's home is production's cluster), then the others, each within `timeout`.
/// When none answers, the claimed name is used, unverified; `notes` says why.
pub struct Identified {
    pub identity: Identity,
    pub notes: Vec<String>,
}

pub async fn identify(
    config: &Config,
    clients: &BTreeMap<String, Result<Client, String>>,
    claimed: &str,
    timeout: Duration,
) -> Identified {
    let mut order: Vec<(&String, bool)> = config
        .environments
        .iter()
        .map(|(name, e)| (name, e.protected))
        .collect();
    order.sort_by_key(|(_, protected)| !protected);
    let asks = order.iter().map(|(env, _)| {
        let client = clients.get(*env).and_then(|c| c.as_ref().ok()).cloned();
        async move {
            let answer = match client {
                None => Err("no client (see the environment's connection error)".to_string()),
                Some(c) => match tokio::time::timeout(timeout, whoami(&c)).await {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
                },
            };
            ((*env).clone(), answer)
        }
    });
    let answers = futures_util::future::join_all(asks).await;
    let mut notes = Vec::new();
    let mut chosen: Option<(String, ClusterUser)> = None;
    for (env, answer) in answers {
        match (answer, &chosen) {
            (Ok(user), None) => chosen = Some((env, user)),
            (Ok(user), Some((first_env, first))) if user.username != first.username => {
                notes.push(format!(
                    "{env}'s cluster knows you as {}, {first_env}'s as {}; recording as {}",
                    user.username, first.username, first.username
                ));
            }
            (Ok(_), Some(_)) => {}
            (Err(e), _) => notes.push(format!("{env}: {e}")),
        }
    }
    let identity = match chosen {
        Some((env, user)) => Identity {
            author: Author::verified(user.username, env),
            groups: user.groups,
        },
        None => {
            if !config.environments.is_empty() {
                notes.push(format!(
                    "no cluster said who you are; recording as {claimed} (unverified)"
                ));
            }
            Identity::claimed(claimed)
        }
    };
    Identified { identity, notes }
}
