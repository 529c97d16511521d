//! A cockpit without a terminal: the real `update`, the real runtime and journal in a temp
//! state dir, a manual clock, and a TestBackend to draw on.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use release_cockpit::app::{App, Msg};
use release_cockpit::config::Config;
use release_cockpit::release::clock::{Clock, ManualClock};
use release_cockpit::release::gates::{Gates, evaluate};
use release_cockpit::release::identity::Identity;
use release_cockpit::release::state::ReleaseState;
use release_cockpit::release::store::{StateDir, parse_version};
use release_cockpit::runtime::Runtime;
use tokio::sync::mpsc;

pub const START: &str = "2026-11-26T11:00:00Z";

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Opens (or creates) `version` as the runtime's operator (alice, unless the set-up said
/// otherwise) where the runtime keeps journals, and hands it to the runtime, as the
/// cockpit does at start.
pub fn open_release(
    rt: &mut Runtime,
    app: &mut App,
    store: &StateDir,
    _config: &Config,
    version: &str,
    release_type: &str,
    _now: DateTime<Utc>,
) {
    let v = parse_version(version).unwrap();
    let opened = rt.open_journal(&v, release_type).unwrap();
    rt.set_journal(version, opened.journal, opened.state.events);
    let mut releases = store.release_names();
    if releases.is_empty() {
        releases.push(version.to_string());
    }
    rt.process(
        app,
        Msg::ReleaseOpened {
            state: opened.state,
            releases,
            notice: opened.notice,
        },
    );
}

pub struct Cockpit {
    pub app: App,
    pub rt: Runtime,
    pub clock: ManualClock,
    pub rx: mpsc::UnboundedReceiver<Msg>,
    pub dir: tempfile::TempDir,
    pub version: String,
}

impl Cockpit {
    pub fn new(release_type: &str) -> Self {
        Self::with_config(Config::embedded(), release_type)
    }

    pub fn with_config(config: Config, release_type: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::open_in(dir, config, "1.2.3", release_type)
    }

    pub fn open_in(
        dir: tempfile::TempDir,
        config: Config,
        version: &str,
        release_type: &str,
    ) -> Self {
        Self::open_in_with(dir, config, version, release_type, |_, _| {})
    }

    /// Like `open_in`, with `before_open` run on the runtime and app before the release is
    /// opened: where `commands/cockpit.rs` connects the cluster, so that an action the
    /// journal has in flight is reconciled against it.
    pub fn open_in_with(
        dir: tempfile::TempDir,
        config: Config,
        version: &str,
        release_type: &str,
        before_open: impl FnOnce(&mut Runtime, &mut App),
    ) -> Self {
        let clock = ManualClock::new(at(START));
        let store = StateDir::new(dir.path());
        let (tx, rx) = mpsc::unbounded_channel();
        let mut app = App::new(
            config.clone(),
            "staging".into(),
            "alice".into(),
            clock.now(),
        );
        app.state_dir = dir.path().to_path_buf();
        app.log_file = dir.path().join("logs/release-cockpit.log");
        let clock_arc: Arc<dyn Clock> = Arc::new(clock.clone());
        let mut rt = Runtime::new(config.clone(), store.clone(), "alice".into(), clock_arc, tx);
        before_open(&mut rt, &mut app);
        open_release(
            &mut rt,
            &mut app,
            &store,
            &config,
            version,
            release_type,
            clock.now(),
        );
        Self {
            app,
            rt,
            clock,
            rx,
            dir,
            version: version.to_string(),
        }
    }

    pub fn send(&mut self, msg: Msg) {
        self.rt.process(&mut self.app, msg);
    }

    pub fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    pub fn char(&mut self, c: char) {
        self.key(KeyCode::Char(c));
    }

    /// Presses each character as a key.
    pub fn keys(&mut self, s: &str) {
        for c in s.chars() {
            self.char(c);
        }
    }

    pub fn enter(&mut self) {
        self.key(KeyCode::Enter);
    }

    /// Types text into an open prompt and submits it.
    pub fn answer(&mut self, text: &str) {
        self.keys(text);
        self.enter();
    }

    /// `e`, then the environment by name.
    pub fn switch_env(&mut self, env: &str) {
        self.char('e');
        let Some(release_cockpit::app::Modal::Pick(p)) = &self.app.modal else {
            panic!(
                "e did not open the environment picker: {:?}",
                self.app.modal
            );
        };
        let to = p.options.iter().position(|o| o.id == env).expect("offered");
        let steps = (to + p.options.len() - p.selected) % p.options.len();
        for _ in 0..steps {
            self.char('j');
        }
        self.enter();
        assert_eq!(self.app.env, env);
    }

    pub fn release(&self) -> &ReleaseState {
        self.app.release.as_ref().expect("a release is open")
    }

    pub fn gates(&self) -> Gates {
        evaluate(self.release(), &self.app.config)
    }

    /// Moves the checklist cursor onto an item by id.
    pub fn select(&mut self, item: &str) {
        use release_cockpit::app::checklist::{Row, rows};
        let all = rows(&self.app.config, self.release(), &self.app.collapsed_phases);
        let i = all
            .iter()
            .position(|r| matches!(r, Row::Item { id, .. } if id == item))
            .unwrap_or_else(|| panic!("no visible row for {item}"));
        self.app.checklist.selected = i;
    }

    pub fn tick(&mut self, item: &str) {
        self.select(item);
        self.char(' ');
    }

    /// Ticks every item of the phases the release type gates on.
    pub fn tick_phase(&mut self, phase: &str) {
        let ids: Vec<String> = self
            .app
            .config
            .procedure
            .phase(phase)
            .unwrap()
            .items
            .iter()
            .map(|i| i.id.clone())
            .collect();
        for id in ids {
            if !self.release().item(&id).status.is_settled() {
                self.tick(&id);
            }
        }
    }

    /// `name` records an approval through the keyboard, signed in as themselves (the
    /// cockpit's identity is theirs for the approval, then alice's again): `a`, pick the
    /// role, confirm.
    pub fn approve(&mut self, role: &str, name: &str) {
        let me = self.app.identity.clone();
        self.sign_in(Identity::claimed(name));
        self.approve_entering(role, None);
        self.sign_in(me);
    }

    /// The cockpit records as `identity` from now on (as if it had been started by them).
    pub fn sign_in(&mut self, identity: Identity) {
        self.rt.operator = identity.author.clone();
        self.app.identity = identity;
    }

    /// `a`, the role, then the approver's name where the config asks for one (proxy
    /// entries allowed: `for_whom`, else the operator's own), or the confirmation.
    pub fn approve_entering(&mut self, role: &str, for_whom: Option<&str>) {
        self.char('a');
        let Some(release_cockpit::app::Modal::Pick(p)) = &self.app.modal else {
            panic!("approve did not open a picker: {:?}", self.app.modal);
        };
        let target = p
            .options
            .iter()
            .position(|o| o.id == role)
            .expect("role offered");
        let n = p.options.len();
        let steps = (target + n - p.selected) % n;
        for _ in 0..steps {
            self.char('j');
        }
        self.enter();
        match &mut self.app.modal {
            Some(release_cockpit::app::Modal::Input(input)) => {
                if let Some(name) = for_whom {
                    input.input.clear();
                    self.answer(name);
                } else {
                    self.enter();
                }
            }
            Some(release_cockpit::app::Modal::Confirm(_)) => self.enter(),
            _ => {}
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn last_log(&self) -> String {
        self.app
            .log
            .back()
            .map(|l| l.text.clone())
            .unwrap_or_default()
    }

    pub fn modal_error(&self) -> Option<String> {
        use release_cockpit::app::Modal;
        match &self.app.modal {
            Some(Modal::Input(i)) => i.error.clone(),
            Some(Modal::Pick(p)) => p.error.clone(),
            Some(Modal::Confirm(c)) => c.error.clone(),
            _ => None,
        }
    }

    /// The release as a fresh process would see it: folded again from the journal on disk.
    pub fn reread(&self) -> ReleaseState {
        let store = StateDir::new(self.dir.path());
        store
            .read(&self.app.config, &parse_version(&self.version).unwrap())
            .unwrap()
            .0
    }

    pub fn render(&self, w: u16, h: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal
            .draw(|f| release_cockpit::ui::draw(f, &self.app))
            .unwrap();
        buffer_text(terminal.backend().buffer())
    }
}

pub fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
