//! Entering and leaving the full-screen terminal. Leaving happens on every path: normal quit,
//! error return (the guard's Drop) and panic (the hook, which runs before the panic report so
//! the report lands on a cooked terminal).

use std::io::{Stdout, stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Whether the cockpit has the terminal now. Restoring twice would leave the alternate
/// screen twice, and the second time moves the cursor back over the panic report.
static ENTERED: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back as it was, once; does nothing if it was never taken over
/// (`status`, `audit` and friends print to a normal terminal). Says whether it did.
pub fn restore() -> bool {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return false;
    }
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    true
}

/// Restores the terminal when dropped, whatever way the cockpit ends.
pub struct TerminalGuard {
    pub terminal: Tui,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// A panic anywhere while the cockpit has the terminal gives the terminal back, prints the
/// report, and ends the process: a panicked background task must not leave a cockpit running
/// on a cooked terminal. Nothing is lost; the journal is on disk.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let was_full_screen = restore();
        previous(info);
        if was_full_screen {
            std::process::exit(101);
        }
    }));
}

/// Takes the terminal back after the process was stopped and continued (SIGSTOP or a
/// suspended laptop, then `fg`): the shell set it to cooked mode meanwhile.
pub fn resume() -> std::io::Result<()> {
    if !ENTERED.load(Ordering::SeqCst) {
        return Ok(());
    }
    // crossterm remembers raw mode as on and would do nothing: off, then on again.
    let _ = crossterm::terminal::disable_raw_mode();
    enable_raw_mode()?;
    execute!(
        stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )
}

pub fn enter() -> std::io::Result<TerminalGuard> {
    enable_raw_mode()?;
    ENTERED.store(true, Ordering::SeqCst);
    let mut out = stdout();
    if let Err(e) = execute!(out, EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    let mut terminal = match Terminal::new(CrosstermBackend::new(out)) {
        Ok(t) => t,
        Err(e) => {
            restore();
            return Err(e);
        }
    };
    // After a kill -9 the terminal may still be on the alternate screen, full of the old
    // frame; the first frame only writes non-blank cells, so start from a clean screen.
    if let Err(e) = terminal.clear() {
        restore();
        return Err(e);
    }
    Ok(TerminalGuard { terminal })
}
