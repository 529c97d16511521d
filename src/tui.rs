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
/// (`status`, `audit` and friends print to a normal terminal).
pub fn restore() {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
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

pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

pub fn enter() -> std::io::Result<TerminalGuard> {
    enable_raw_mode()?;
    ENTERED.store(true, Ordering::SeqCst);
    let mut out = stdout();
    if let Err(e) = execute!(out, EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    let terminal = match Terminal::new(CrosstermBackend::new(out)) {
        Ok(t) => t,
        Err(e) => {
            restore();
            return Err(e);
        }
    };
    Ok(TerminalGuard { terminal })
}
