//! The release journal: JSON Lines, append-only, each line fsynced before it counts.
//!
//! A power loss can leave a half-written last line; opening keeps the valid prefix, saves
//! the torn bytes beside the journal and says so. Damage anywhere else is not guessed
//! around: the journal is the record of who approved what, so it is refused with the line.
//! A whole line that parses but breaks the hash chain (`chain`) is not a power loss, even
//! as the last line: it is an edit, and refused.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use tokio::sync::mpsc;

mod read;

use super::chain::{Chain, ChainBreak, ChainStatus};
use super::{AppendError, Followed, JournalStore};
use crate::release::event::{Entry, Event};
use crate::release::identity::Author;
pub use read::{Contents, read};
use read::{Parsed, TornTail, parse};

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: the journal is damaged ({message}); it was left as it is")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: the release is open in another cockpit")]
    Locked { path: PathBuf },
    #[error("{path}: a journal already exists for this release")]
    Exists { path: PathBuf },
    #[error("{path}: an earlier write failed and could not be undone; reopen the release")]
    Poisoned { path: PathBuf },
    /// The hash chain does not hold: a line was changed, removed, inserted or moved.
    #[error("{path}: {broken}: the journal was edited; it was left as it is")]
    Broken { path: PathBuf, broken: ChainBreak },
    /// The cluster holding a shared journal refused or did not answer.
    #[error("{at}: {message}")]
    Cluster { at: String, message: String },
    /// An append that would break the chain (another release's creation): nothing written.
    #[error("{path}: {why}; nothing was written")]
    NotWritten { path: PathBuf, why: ChainBreak },
}

/// What opening found at the end of a journal that was cut short.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// The 1-based line that was damaged.
    pub line: usize,
    pub kept_events: usize,
    pub reason: String,
    /// Where the damaged bytes were saved, so nothing is thrown away.
    pub saved_to: PathBuf,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the journal's last line ({}) was cut short ({}); kept the {} events before it, saved the damaged bytes to {}",
            self.line,
            self.reason,
            self.kept_events,
            self.saved_to.display()
        )
    }
}

pub struct Journal {
    path: PathBuf,
    file: File,
    next_seq: u64,
    /// Where the chain stands: the next append names its head.
    chain: Chain,
    /// The length of the valid journal: a failed append is cut back to it.
    len: u64,
    /// Set when a failed append could not be cut back: appending again could bury a good
    /// line under a torn one, so the journal must be reopened (which recovers it).
    poisoned: bool,
    /// The ends of `follow` streams, held so they stay open while the journal is.
    followers: std::sync::Mutex<Vec<mpsc::UnboundedSender<Followed>>>,
}

pub struct Opened {
    pub journal: Journal,
    pub contents: Contents,
    pub recovery: Option<Recovery>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl Journal {
    /// Creates the journal of release `release` with its first event, durable on return.
    pub fn create(
        path: &Path,
        release: &str,
        by: &Author,
        at: DateTime<Utc>,
        first: Event,
    ) -> Result<(Journal, Entry), JournalError> {
        let mut journal = Journal::create_empty(path, release)?;
        let entry = journal.append(by, at, first)?;
        sync_dir(path).map_err(io(path))?;
        Ok((journal, entry))
    }

    /// A new, empty journal file, locked: what `create` and `create_copy` fill.
    fn create_empty(path: &Path, release: &str) -> Result<Journal, JournalError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    JournalError::Exists {
                        path: path.to_path_buf(),
                    }
                } else {
                    io(path)(e)
                }
            })?;
        lock(&file, path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            next_seq: 1,
            chain: Chain::new(release),
            len: 0,
            poisoned: false,
            followers: Default::default(),
        })
    }

    /// Opens release `release`'s journal for appending, recovering a torn last line;
    /// refuses one whose chain is broken.
    pub fn open(path: &Path, release: &str) -> Result<Opened, JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io(path))?;
        lock(&file, path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(path))?;
        let Parsed {
            contents,
            chain,
            torn,
        } = parse(path, release, &bytes)?;
        let recovery = match torn {
            None => {
                if !bytes.is_empty() && !bytes.ends_with(b"\n") {
                    // A whole event whose line end did not make it: finish the line.
                    file.write_all(b"\n").map_err(io(path))?;
                    file.sync_data().map_err(io(path))?;
                }
                None
            }
            Some(TornTail {
                offset,
                line,
                reason,
            }) => {
                let saved_to = torn_copy_path(path);
                let mut copy = File::create(&saved_to).map_err(io(&saved_to))?;
                copy.write_all(&bytes[offset..]).map_err(io(&saved_to))?;
                // The copy must be on disk before the journal forgets those bytes.
                copy.sync_all().map_err(io(&saved_to))?;
                file.set_len(offset as u64).map_err(io(path))?;
                file.seek(SeekFrom::End(0)).map_err(io(path))?;
                file.sync_all().map_err(io(path))?;
                sync_dir(path).map_err(io(path))?;
                let recovery = Recovery {
                    line,
                    kept_events: contents.entries.len(),
                    reason,
                    saved_to,
                };
                tracing::warn!(journal = %path.display(), "{recovery}");
                Some(recovery)
            }
        };
        let next_seq = contents.entries.len() as u64 + 1;
        let len = file.metadata().map_err(io(path))?.len();
        Ok(Opened {
            journal: Journal {
                path: path.to_path_buf(),
                file,
                next_seq,
                chain,
                len,
                poisoned: false,
                followers: Default::default(),
            },
            contents,
            recovery,
        })
    }

    /// Appends one event; when this returns `Ok` the event is on disk.
    pub fn append(
        &mut self,
        by: &Author,
        at: DateTime<Utc>,
        event: Event,
    ) -> Result<Entry, JournalError> {
        let entry = Entry {
            seq: self.next_seq,
            prev: Some(self.chain.next_prev().to_string()),
            at,
            by: by.name.clone(),
            verified_by: by.verified_by.clone(),
            event,
        };
        if self.poisoned {
            return Err(JournalError::Poisoned {
                path: self.path.clone(),
            });
        }
        let line = serde_json::to_vec(&entry).expect("events always serialise");
        let hash = self
            .chain
            .check(&entry, &line)
            .map_err(|why| JournalError::NotWritten {
                path: self.path.clone(),
                why,
            })?;
        // A partial line (a full disk) is undone, so the next event does not join it and
        // the event number is not used twice.
        self.write_line(line)?;
        self.next_seq += 1;
        self.chain.advance(&entry, hash);
        Ok(entry)
    }

    /// Creates a journal holding `entries` as another store wrote them: a mirror.
    pub fn create_copy(
        path: &Path,
        release: &str,
        entries: &[Entry],
    ) -> Result<Journal, JournalError> {
        let mut journal = Journal::create_empty(path, release)?;
        for entry in entries {
            journal.copy(entry)?;
        }
        sync_dir(path).map_err(io(path))?;
        Ok(journal)
    }

    /// Appends an entry exactly as another store wrote it (a mirror of a shared journal):
    /// it must be the next, and follow the chain.
    pub fn copy(&mut self, entry: &Entry) -> Result<(), JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned {
                path: self.path.clone(),
            });
        }
        let line = serde_json::to_vec(entry).expect("entries always serialise");
        if entry.seq != self.next_seq {
            return Err(JournalError::Corrupt {
                path: self.path.clone(),
                line: self.next_seq as usize,
                message: format!(
                    "entry {} cannot follow entry {} in the mirror",
                    entry.seq,
                    self.next_seq - 1
                ),
            });
        }
        let hash = self
            .chain
            .check(entry, &line)
            .map_err(|why| JournalError::NotWritten {
                path: self.path.clone(),
                why,
            })?;
        self.write_line(line)?;
        self.next_seq += 1;
        self.chain.advance(entry, hash);
        Ok(())
    }

    /// Writes one line and syncs it; a failure is cut back so the next line does not
    /// join a torn one.
    fn write_line(&mut self, mut line: Vec<u8>) -> Result<(), JournalError> {
        line.push(b'\n');
        let written = self
            .file
            .write_all(&line)
            .and_then(|_| self.file.sync_data());
        if let Err(e) = written {
            let undone = self
                .file
                .set_len(self.len)
                .and_then(|_| self.file.sync_data());
            if undone.is_err() {
                self.poisoned = true;
            }
            return Err(io(&self.path)(e));
        }
        self.len += line.len() as u64;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How much of this journal's history its chain covers, appends included.
    pub fn chain(&self) -> ChainStatus {
        self.chain.status()
    }
}

impl JournalStore for Journal {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn append(
        &mut self,
        expected_seq: u64,
        by: &Author,
        at: DateTime<Utc>,
        event: Event,
    ) -> Result<Entry, AppendError> {
        if expected_seq != self.next_seq {
            return Err(AppendError::Conflict {
                expected: expected_seq,
                actual: self.next_seq,
            });
        }
        Ok(Journal::append(self, by, at, event)?)
    }

    fn head(&self) -> Option<String> {
        self.chain.head().map(str::to_string)
    }

    fn read_from(&self, seq: u64) -> Result<Vec<Entry>, JournalError> {
        let (contents, _) = read(&self.path, self.chain.release())?;
        Ok(contents
            .entries
            .into_iter()
            .filter(|e| e.seq >= seq)
            .collect())
    }

    /// Nobody else appends to a file journal: its writer holds the lock, and a second
    /// writer is refused (`JournalError::Locked`), so this stream is quiet until the
    /// journal is closed, and then ends.
    fn follow(&self) -> mpsc::UnboundedReceiver<Followed> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.followers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        rx
    }
}

/// Takes the journal's writer lock. A process this one just forked holds a copy of the
/// descriptor (and so of the lock) until it execs, so a busy lock is retried briefly before
/// it is taken to mean another cockpit.
fn lock(file: &File, path: &Path) -> Result<(), JournalError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Locked {
                    path: path.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(path)(e)),
        }
    }
}

fn torn_copy_path(path: &Path) -> PathBuf {
    let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".torn-{stamp}"));
    path.with_file_name(name)
}
