//! Where releases live on disk: `<state>/releases/<version>.jsonl`, `<state>/releases.log`,
//! `<state>/logs/`, and `<state>/current` naming the release the cockpit last had open.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::event::Event;
use super::identity::Author;
use super::journal::chain::entry_hash;
use super::journal::{
    self, AppendError, ChainStatus, Contents, Journal, JournalError, JournalStore, Recovery,
};
use super::mirror::Mirrored;
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
    /// A concluded release's journal no longer holds the entry releases.log pinned: the
    /// file was replaced by one with a chain of its own.
    #[error(
        "releases.log pins head {pinned} for {version}, which no entry of its journal hashes to: the journal was rewritten"
    )]
    Rewritten { version: String, pinned: String },
    #[error("cannot read {path} for the heads it pins: {source}")]
    AuditLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An entry the cockpit would have refused when it was written: edited in by hand.
    #[error("{path}: {broken}; the journal was left as it is")]
    BrokenRule {
        path: PathBuf,
        broken: crate::release::replay::BrokenRule,
    },
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
    pub chain: ChainStatus,
}

impl OpenRelease {
    /// What the cockpit should say on opening: a recovered last line, a history the chain
    /// does not cover.
    pub fn notice(&self) -> Option<String> {
        let unverifiable = match &self.chain {
            ChainStatus::Chained { .. } => None,
            ChainStatus::Unchained => Some(
                "this journal was written before the hash chain: an edit to it cannot be told"
                    .to_string(),
            ),
            ChainStatus::ChainedFrom { seq, .. } => Some(format!(
                "this journal's entries before {seq} were written before the hash chain: an edit to them cannot be told"
            )),
        };
        let notices: Vec<String> = self
            .recovery
            .as_ref()
            .map(Recovery::to_string)
            .into_iter()
            .chain(unverifiable)
            .collect();
        (!notices.is_empty()).then(|| notices.join("; "))
    }
}

/// A release opened on a shared journal, with its mirror.
pub struct SharedRelease {
    pub journal: Mirrored,
    pub state: ReleaseState,
    pub created: bool,
    pub chain: ChainStatus,
    /// What the mirror set aside, or why there is none.
    pub notice: Option<String>,
}

/// A release's journal read and checked end to end, with its folded state.
#[derive(Debug, Clone)]
pub struct Verified {
    pub state: ReleaseState,
    pub entries: usize,
    pub chain: ChainStatus,
    /// The entry whose hash releases.log pinned when the release concluded (the latest
    /// line, if there are several); `None` when no line pins one.
    pub pinned: Option<u64>,
    /// A cut-short last line that a reader left unread (opening for writing recovers it).
    pub torn_tail: Option<String>,
}

impl std::fmt::Display for Verified {
    /// One line for `audit --verify`: "42 entries, chain intact, head 3fa2…, pinned by releases.log".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.chain == ChainStatus::Unchained {
            write!(f, "{}", self.chain)?;
        } else {
            write!(f, "{} entries, {}", self.entries, self.chain)?;
        }
        let pin = match self.pinned {
            Some(seq) if seq as usize == self.entries => ", pinned by releases.log".to_string(),
            Some(seq) => format!(
                ", pinned by releases.log at entry {seq} ({} entries after it)",
                self.entries - seq as usize
            ),
            None if self.chain != ChainStatus::Unchained => {
                ", no releases.log line pins it".to_string()
            }
            None => String::new(),
        };
        f.write_str(&pin)
    }
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
            let verified = self.checked(config, version, &path, opened.contents, None)?;
            return Ok(OpenRelease {
                journal: opened.journal,
                state: verified.state,
                recovery: opened.recovery,
                created: false,
                chain: verified.chain,
            });
        }
        let first = creation(config, version, create_as)?;
        self.ensure_writable()?;
        let (journal, entry) = Journal::create(&path, &release, by, now, first)?;
        let state = ReleaseState::from_entries(&[entry]).expect("a creation entry folds");
        let chain = journal.chain();
        Ok(OpenRelease {
            journal,
            state,
            recovery: None,
            created: true,
            chain,
        })
    }

    /// Opens a release whose journal is shared (in the cluster), creating it there when it
    /// has no entry yet, with its mirror in this state dir. The shared journal is checked
    /// as a file journal is (`checked`); the notice says what the mirror set aside.
    #[allow(clippy::too_many_arguments)]
    pub fn open_shared(
        &self,
        config: &Config,
        version: &semver::Version,
        create_as: &str,
        by: &Author,
        now: DateTime<Utc>,
        mut shared: Box<dyn JournalStore>,
        contents: Contents,
    ) -> Result<SharedRelease, StoreError> {
        let release = version.to_string();
        let location = PathBuf::from(shared.location());
        let mut contents = contents;
        let mut created = false;
        if contents.entries.is_empty() {
            let first = creation(config, version, create_as)?;
            match shared.append(1, by, now, first) {
                Ok(_) => created = true,
                // Another cockpit created it first: theirs is the release.
                Err(AppendError::Conflict { .. }) => {}
                Err(AppendError::Journal(e)) => return Err(e.into()),
            }
            let entries = shared.read_from(1)?;
            contents = Contents {
                hashes: entries.iter().map(entry_hash).collect(),
                chain: match shared.head() {
                    Some(head) => ChainStatus::Chained { head },
                    None => ChainStatus::Unchained,
                },
                entries,
            };
        }
        self.ensure_writable()?;
        let verified = self.checked(config, version, &location, contents.clone(), None)?;
        let (journal, notice) =
            Mirrored::open(shared, &contents, &self.journal_path(version), &release);
        Ok(SharedRelease {
            journal,
            state: verified.state,
            created,
            chain: verified.chain,
            notice,
        })
    }

    /// Reads a release without taking it (for `status` and the pair reviewer), checked as
    /// `verify` checks it.
    pub fn read(
        &self,
        config: &Config,
        version: &semver::Version,
    ) -> Result<(ReleaseState, Option<String>), StoreError> {
        let verified = self.verify(config, version)?;
        Ok((verified.state, verified.torn_tail))
    }

    /// Reads a release without locking it and checks it end to end: its chain and the
    /// creation's version (the journal's own reading), that it starts with its creation,
    /// that every entry was allowed by the procedure's rules given those before it
    /// (`replay`), and that every head releases.log pinned for it is still one of its
    /// entries. `audit --verify` runs this; the cockpit's opening runs the same checks
    /// (`checked`).
    pub fn verify(
        &self,
        config: &Config,
        version: &semver::Version,
    ) -> Result<Verified, StoreError> {
        let path = self.journal_path(version);
        let (contents, torn_tail) = journal::read(&path, &version.to_string())?;
        self.checked(config, version, &path, contents, torn_tail)
    }

    /// A shared journal's contents as read from where it is kept (`status` on a machine
    /// with a kubeconfig), checked as `verify` checks the file.
    pub fn verify_contents(
        &self,
        config: &Config,
        version: &semver::Version,
        location: &str,
        contents: Contents,
    ) -> Result<Verified, StoreError> {
        self.checked(config, version, Path::new(location), contents, None)
    }

    /// The checks on a journal's contents that every reading shares, whether it holds the
    /// journal's lock or not; the fold is their result.
    fn checked(
        &self,
        config: &Config,
        version: &semver::Version,
        path: &Path,
        contents: Contents,
        torn_tail: Option<String>,
    ) -> Result<Verified, StoreError> {
        let state = crate::release::replay::replay(&contents.entries, config)
            .map_err(|broken| StoreError::BrokenRule {
                path: path.to_path_buf(),
                broken,
            })?
            .ok_or_else(|| StoreError::NoCreation {
                path: path.to_path_buf(),
            })?;
        let mut pinned = None;
        for head in self.pinned_heads(version)? {
            let at = contents
                .hashes
                .iter()
                .position(|h| *h == head)
                .ok_or_else(|| StoreError::Rewritten {
                    version: version.to_string(),
                    pinned: head.clone(),
                })?;
            pinned = Some(contents.entries[at].seq);
        }
        Ok(Verified {
            state,
            entries: contents.entries.len(),
            chain: contents.chain,
            pinned,
            torn_tail,
        })
    }

    /// The journal heads releases.log's lines for `version` pinned, oldest first. A line
    /// that does not read is `audit`'s to report, not a pin.
    fn pinned_heads(&self, version: &semver::Version) -> Result<Vec<String>, StoreError> {
        let path = self.audit_log();
        let (records, _) = crate::release::audit::read(&path)
            .map_err(|source| StoreError::AuditLog { path, source })?;
        Ok(records
            .into_iter()
            .filter(|r| parse_version(&r.version).is_ok_and(|v| v == *version))
            .filter_map(|r| r.journal_head)
            .collect())
    }
}

/// A new release's first entry, of a type the config knows.
fn creation(
    config: &Config,
    version: &semver::Version,
    create_as: &str,
) -> Result<Event, StoreError> {
    if config.release_type(create_as).is_none() {
        return Err(StoreError::UnknownType(
            crate::release::rules::unknown_type(config, create_as),
        ));
    }
    Ok(Event::ReleaseCreated {
        version: version.to_string(),
        release_type: create_as.to_string(),
        commit_sha: None,
    })
}

pub fn default_root() -> PathBuf {
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local").join("state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("release-cockpit")
}
