//! Why a call to the API server failed, in words the engineer can act on. The writes in
//! `actions` and the reads they start from (`history::fetch`) report it alike.

/// A failed action: what the cockpit was doing and why it failed, in the API's (or
/// kubectl's) own words, so the engineer can act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{doing}: {reason}")]
pub struct ActionError {
    /// e.g. `setting the image of deployment "deal-scout-api" in namespace "production"`.
    pub doing: String,
    /// e.g. `deployments.apps "deal-scout-api" not found`.
    pub reason: String,
    /// The HTTP status when the API server answered with an error.
    pub code: Option<u16>,
}

impl ActionError {
    pub fn new(doing: &str, reason: impl Into<String>) -> Self {
        Self {
            doing: doing.to_string(),
            reason: reason.into(),
            code: None,
        }
    }

    pub fn from_kube(doing: &str, e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => {
                let reason = if status.message.is_empty() {
                    format!("the API server answered {} {}", status.code, status.reason)
                } else {
                    status.message.clone()
                };
                Self {
                    doing: doing.to_string(),
                    reason,
                    code: (status.code != 0).then_some(status.code),
                }
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => Self::new(
                doing,
                format!(
                    "cannot reach the API server (check the kubeconfig context and the network): {e}"
                ),
            ),
            other => Self::new(doing, other.to_string()),
        }
    }
}
