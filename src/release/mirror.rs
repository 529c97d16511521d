//! A shared journal (in the cluster) with its copy in the state dir: every entry, this
//! cockpit's and the others', is copied to the file journal as the shared store has it,
//! so `status` and `audit` read the release with no cluster at hand.
//!
//! The shared store wins. A mirror that holds what the shared store does not (entries it
//! never had, or other ones) is set aside under another name and reported; it is never
//! uploaded, since the shared copy is the one everyone on the release agreed on.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::event::{Entry, Event};
use super::identity::Author;
use super::journal::{self, AppendError, Contents, Followed, Journal, JournalError, JournalStore};

pub struct Mirrored {
    shared: Box<dyn JournalStore>,
    /// `None` when the copy could not be kept (another cockpit on this machine holds it,
    /// or a write to it failed): the shared store goes on, the reason was said.
    mirror: Option<Journal>,
}

impl Mirrored {
    /// Brings the mirror at `path` up to the shared store's `contents`; the notice says
    /// what was set aside, or why there is no mirror.
    pub fn open(
        shared: Box<dyn JournalStore>,
        contents: &Contents,
        path: &Path,
        release: &str,
    ) -> (Mirrored, Option<String>) {
        let (mirror, notice) = match open_mirror(contents, path, release) {
            Ok(pair) => pair,
            Err(e) => (
                None,
                Some(format!("no local mirror of the shared journal: {e}")),
            ),
        };
        (Mirrored { shared, mirror }, notice)
    }

    /// Copies an entry of the shared journal into the mirror (one this cockpit wrote, or
    /// one it followed); a failure stops the mirror, not the release.
    fn copy(&mut self, entry: &Entry) {
        if let Some(mirror) = &mut self.mirror
            && let Err(e) = mirror.copy(entry)
        {
            tracing::error!("the local mirror stopped at entry {}: {e}", entry.seq);
            self.mirror = None;
        }
    }
}

fn open_mirror(
    contents: &Contents,
    path: &Path,
    release: &str,
) -> Result<(Option<Journal>, Option<String>), JournalError> {
    if !path.exists() {
        return Ok((
            Some(Journal::create_copy(path, release, &contents.entries)?),
            None,
        ));
    }
    let mine = journal::read(path, release).map(|(c, _)| c);
    let agrees = mine.as_ref().is_ok_and(|m| {
        m.hashes.len() <= contents.hashes.len()
            && m.hashes.iter().zip(&contents.hashes).all(|(a, b)| a == b)
    });
    if agrees {
        let mut opened = Journal::open(path, release)?.journal;
        let have = mine.map(|m| m.entries.len()).unwrap_or(0);
        for entry in &contents.entries[have..] {
            opened.copy(entry)?;
        }
        return Ok((Some(opened), None));
    }
    let aside = set_aside_path(path);
    std::fs::rename(path, &aside).map_err(|source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let why = match mine {
        Ok(m) if m.entries.len() > contents.entries.len() => format!(
            "the local mirror held {} entries, the shared journal {}",
            m.entries.len(),
            contents.entries.len()
        ),
        Ok(m) => {
            let at = m
                .hashes
                .iter()
                .zip(&contents.hashes)
                .position(|(a, b)| a != b)
                .map_or(m.entries.len(), |i| i + 1);
            format!("the local mirror's entry {at} is not the shared journal's")
        }
        Err(e) => format!("the local mirror does not read ({e})"),
    };
    let notice = format!(
        "{why}: the shared journal wins; the mirror was set aside as {} and not uploaded",
        aside.display()
    );
    tracing::warn!("{notice}");
    Ok((
        Some(Journal::create_copy(path, release, &contents.entries)?),
        Some(notice),
    ))
}

fn set_aside_path(path: &Path) -> PathBuf {
    let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".set-aside-{stamp}"));
    path.with_file_name(name)
}

impl JournalStore for Mirrored {
    fn location(&self) -> String {
        self.shared.location()
    }

    fn next_seq(&self) -> u64 {
        self.shared.next_seq()
    }

    fn head(&self) -> Option<String> {
        self.shared.head()
    }

    fn append(
        &mut self,
        expected_seq: u64,
        by: &Author,
        at: DateTime<Utc>,
        event: Event,
    ) -> Result<Entry, AppendError> {
        let entry = self.shared.append(expected_seq, by, at, event)?;
        self.copy(&entry);
        Ok(entry)
    }

    fn read_from(&self, seq: u64) -> Result<Vec<Entry>, JournalError> {
        self.shared.read_from(seq)
    }

    fn follow(&self) -> mpsc::UnboundedReceiver<Followed> {
        self.shared.follow()
    }

    fn restore(&mut self) -> Result<String, JournalError> {
        self.shared.restore()
    }

    fn keep_audit(&mut self, line: &str) -> Result<(), JournalError> {
        self.shared.keep_audit(line)
    }

    fn seen(&mut self, entry: &Entry) {
        let next = self.mirror.as_ref().map(JournalStore::next_seq);
        if next == Some(entry.seq) {
            self.copy(entry);
        } else if let Some(next) = next
            && entry.seq > next
        {
            // Entries the mirror missed (it was behind): take them from the shared store.
            match self.shared.read_from(next) {
                Ok(missed) => {
                    for e in missed.iter().filter(|e| e.seq <= entry.seq) {
                        self.copy(e);
                    }
                }
                Err(e) => tracing::warn!("could not catch the mirror up: {e}"),
            }
        }
    }
}
