//! Where releases live on disk: `<state>/releases/<version>.jsonl`, `<state>/releases.log`,
//! `<state>/logs/`, and `<state>/current` naming the release the cockpit last had open.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::event::Event;
use super::identity::Author;
use super::journal::{self, Journal, JournalError, Recovery};
use super::state::ReleaseState;
use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0:?} is not a semantic version such as 1.2.3 ({1})")]
    BadVersion(String, String),
    #[error("{0}")]
    UnknownType(String),
    #[error("the state dir {path} is not writable: {source}")]
    NotWritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the journal does not start with the release's creation")]
    NoCreation { path: PathBuf },
    #[error(transparent)]
    Journal(#[from] JournalError),
}

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

/// Parses a release version: semver, with an optional leading `v` as in git tags.
pub fn parse_version(s: &str) -> Result<semver::Version, StoreError> {
    let trimmed = s.strip_prefix('v').unwrap_or(s);
    semver::Version::parse(trimmed)
        .map_err(|e| StoreError::BadVersion(s.to_string(), e.to_string()))
}

/// A release opened for writing, with its folded state.
pub struct OpenRelease {
    pub journal: Journal,
    pub state: ReleaseState,
    pub recovery: Option<Recovery>,
    pub created: bool,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The config's `state_dir`, else the XDG state dir.
    pub fn for_config(config: &Config) -> Self {
        let root = config.state_dir.clone().unwrap_or_else(default_root);
        Self::new(root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn journal_path(&self, version: &semver::Version) -> PathBuf {
        self.root.join("releases").join(format!("{version}.jsonl"))
    }

    pub fn audit_log(&self) -> PathBuf {
        self.root.join("releases.log")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    pub fn check_output_dir(&self, version: &str) -> PathBuf {
        self.root.join("releases").join(format!("{version}.checks"))
    }

    /// Makes sure the dirs exist and files can be written in them, before anything else is.
    pub fn ensure_writable(&self) -> Result<(), StoreError> {
        for dir in [self.root.join("releases"), self.log_dir()] {
            let not_writable = |source| StoreError::NotWritable {
                path: dir.clone(),
                source,
            };
            std::fs::create_dir_all(&dir).map_err(not_writable)?;
            let probe = dir.join(format!(".write-probe-{}", std::process::id()));
            std::fs::write(&probe, b"").map_err(not_writable)?;
            let _ = std::fs::remove_file(&probe);
        }
        Ok(())
    }

    /// Every release with a journal as text, newest first.
    pub fn release_names(&self) -> Vec<String> {
        self.releases().iter().map(|v| v.to_string()).collect()
    }

    /// Every release with a journal, newest version first.
    pub fn releases(&self) -> Vec<semver::Version> {
        let mut out: Vec<semver::Version> = std::fs::read_dir(self.root.join("releases"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                semver::Version::parse(name.strip_suffix(".jsonl")?).ok()
            })
            .collect();
        out.sort_by(|a, b| b.cmp(a));
        out
    }

    /// The release last opened in the cockpit, else the newest one.
    pub fn current(&self) -> Option<semver::Version> {
        std::fs::read_to_string(self.root.join("current"))
            .ok()
            .and_then(|s| semver::Version::parse(s.trim()).ok())
            .filter(|v| self.journal_path(v).is_file())
            .or_else(|| self.releases().into_iter().next())
    }

    pub fn set_current(&self, version: &semver::Version) -> std::io::Result<()> {
        let tmp = self.root.join(".current.tmp");
        std::fs::write(&tmp, format!("{version}\n"))?;
        std::fs::rename(&tmp, self.root.join("current"))
    }

    /// Opens a release for writing, creating it when `create` names its type.
    pub fn open_or_create(
        &self,
        config: &Config,
        version: &semver::Version,
        create_as: &str,
        by: &Author,
        now: DateTime<Utc>,
    ) -> Result<OpenRelease, StoreError> {
        let path = self.journal_path(version);
        // A crash between creating the file and writing its first line leaves it empty:
        // that release was never created.
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == 0) {
            std::fs::remove_file(&path).map_err(|source| StoreError::NotWritable {
                path: path.clone(),
                source,
            })?;
        }
        let release = version.to_string();
        if path.exists() {
            let opened = Journal::open(&path, &release)?;
            let state = ReleaseState::from_entries(&opened.contents.entries)
                .ok_or_else(|| StoreError::NoCreation { path: path.clone() })?;
            return Ok(OpenRelease {
                journal: opened.journal,
                state,
                recovery: opened.recovery,
                created: false,
            });
        }
        if config.release_type(create_as).is_none() {
            return Err(StoreError::UnknownType(
                crate::release::rules::unknown_type(config, create_as),
            ));
        }
        self.ensure_writable()?;
        let first = Event::ReleaseCreated {
            version: version.to_string(),
            release_type: create_as.to_string(),
            commit_sha: None,
        };
        let (journal, entry) = Journal::create(&path, &release, by, now, first)?;
        let state = ReleaseState::from_entries(&[entry]).expect("a creation entry folds");
        Ok(OpenRelease {
            journal,
            state,
            recovery: None,
            created: true,
        })
    }

    /// Reads a release without taking it (for `status` and the pair reviewer).
    pub fn read(
        &self,
        version: &semver::Version,
    ) -> Result<(ReleaseState, Option<String>), StoreError> {
        let path = self.journal_path(version);
        let (contents, warning) = journal::read(&path, &version.to_string())?;
        let state =
            ReleaseState::from_entries(&contents.entries).ok_or(StoreError::NoCreation { path })?;
        Ok((state, warning))
    }
}

pub fn default_root() -> PathBuf {
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local").join("state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("release-cockpit")
}
