//! Starting the migration's Job, or adopting the one a cockpit already started under the
//! same name, once it is known to be ours.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};

use super::manifest::migration_job;
use super::{BACKOFF_LIMIT, Say, api_error};
use crate::cluster::{FIELD_MANAGER, FOR_DEPLOYMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, Target};

/// Whether an existing Job of this name is the cockpit's migration of this Deployment with
/// these arguments; anything else is refused rather than reported as our result.
fn check_adoptable(job: &Job, target: &Target, argv: &[String]) -> Result<(), String> {
    let labels = job.labels();
    let name = job.name_any();
    if labels.get(MANAGED_BY_LABEL).map(String::as_str) != Some(MANAGED_BY)
        || labels.get(FOR_DEPLOYMENT_LABEL) != Some(&target.deployment)
    {
        return Err(format!(
            "a Job named {name} already exists in {} and is not release-cockpit's migration of {}; \
             choose another name or delete it",
            target.namespace, target.deployment
        ));
    }
    let command = job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.iter().find(|c| c.name == target.container))
        .and_then(|c| c.command.clone())
        .unwrap_or_default();
    if command != argv {
        return Err(format!(
            "Job {name} already exists but runs `{}`, not `{}`",
            command.join(" "),
            argv.join(" ")
        ));
    }
    Ok(())
}

/// The Job to follow: the one already there when it is ours, else a new one.
pub(super) async fn create_or_adopt(
    client: &Client,
    target: &Target,
    argv: &[String],
    name: &str,
    deadline_secs: i64,
    say: &Say<'_>,
) -> Result<(Job, bool), String> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), &target.namespace);
    let adopt = |job: Job| -> Result<(Job, bool), String> {
        check_adoptable(&job, target, argv)?;
        let created = job
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| format!(" (created {})", t.0))
            .unwrap_or_default();
        say(format!(
            "Job {name} already exists{created}: following it instead of running the migration again"
        ))?;
        Ok((job, true))
    };
    let existing = jobs
        .get_opt(name)
        .await
        .map_err(|e| api_error(&format!("cannot read Job {name}"), e))?;
    if let Some(job) = existing {
        return adopt(job);
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &target.namespace);
    let deployment = deployments
        .get(&target.deployment)
        .await
        .map_err(|e| api_error(&format!("cannot read deployment {}", target.deployment), e))?;
    let containers = deployment
        .spec
        .template
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let Some(image) = containers
        .iter()
        .find(|c| c.name == target.container)
        .map(|c| c.image.clone().unwrap_or_default())
    else {
        return Err(format!(
            "deployment {} has no container {:?}",
            target.deployment, target.container
        ));
    };
    let job = migration_job(
        &deployment,
        &target.container,
        argv,
        name,
        BACKOFF_LIMIT,
        deadline_secs,
    );
    say(format!(
        "creating Job {name} in {} with {image}: {}",
        target.namespace,
        argv.join(" ")
    ))?;
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    match jobs.create(&params, &job).await {
        Ok(job) => Ok((job, false)),
        // Another cockpit (or this one, before a restart) got there between GET and POST.
        Err(kube::Error::Api(s)) if s.is_already_exists() || s.code == 409 => {
            let job = jobs
                .get(name)
                .await
                .map_err(|e| api_error(&format!("cannot read Job {name}"), e))?;
            adopt(job)
        }
        Err(e) => Err(api_error(&format!("cannot create Job {name}"), e)),
    }
}
