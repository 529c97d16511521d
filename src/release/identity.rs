//! Who an entry is recorded under: a name the cluster vouched for, or one that was only
//! claimed (`--user`, `$USER`) and is marked unverified wherever it is shown.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    /// The environment whose API server said who this is; `None` when only claimed.
    pub verified_by: Option<String>,
}

impl Author {
    /// A name nobody vouched for.
    pub fn claimed(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            verified_by: None,
        }
    }

    /// A name `env`'s API server authenticated.
    pub fn verified(name: impl Into<String>, env: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            verified_by: Some(env.into()),
        }
    }

    pub fn is_verified(&self) -> bool {
        self.verified_by.is_some()
    }
}

/// "alice" when verified, "alice (unverified)" when only claimed.
impl fmt::Display for Author {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_verified() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{} (unverified)", self.name)
        }
    }
}

/// A bare name is a claim: tests and fixtures write `"alice".into()`.
impl From<&str> for Author {
    fn from(name: &str) -> Self {
        Self::claimed(name)
    }
}

/// Who the cockpit records as: the author, and the groups the cluster reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub author: Author,
    pub groups: Vec<String>,
}

impl Identity {
    /// A claimed name with no groups (`--user`, `$USER`: no cluster vouched).
    pub fn claimed(name: impl Into<String>) -> Self {
        Self {
            author: Author::claimed(name),
            groups: Vec::new(),
        }
    }
}
