//! The cockpit's loop: the terminal's input, signals and the clock's tick become messages;
//! each batch of messages is folded in through the runtime, then one frame is drawn.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::app::{App, Msg};
use crate::commands::CmdResult;
use crate::release::clock::Clock;
use crate::runtime::Runtime;
use crate::{tui, ui};

pub async fn run(
    mut app: App,
    mut rt: Runtime,
    tx: mpsc::UnboundedSender<Msg>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    clock: Arc<dyn Clock>,
) -> CmdResult {
    let mut guard = tui::enter()?;
    let size = guard.terminal.size()?;
    rt.process(&mut app, Msg::Resize(size.width, size.height));

    tokio::spawn(read_input(tx.clone()));
    tokio::spawn(watch_signals(tx.clone()));
    tokio::spawn(watch_continue(tx.clone()));
    tokio::spawn(tick(tx.clone(), clock));
    drop(tx);

    guard.terminal.draw(|f| ui::draw(f, &app))?;
    while let Some(msg) = rx.recv().await {
        if matches!(msg, Msg::Continued) {
            // Stopped and continued: the shell wrote over the screen meanwhile, and set
            // the terminal to cooked mode. Raw again, the screen cleared, and the next
            // frame paints every cell (not only the ones that changed).
            if let Err(e) = crate::tui::resume() {
                tracing::warn!("could not take the terminal back after a stop: {e}");
            }
            guard.terminal.swap_buffers();
        }
        rt.process(&mut app, msg);
        // Fold in everything already waiting before paying for a frame.
        while let Ok(more) = rx.try_recv() {
            rt.process(&mut app, more);
            if app.quit {
                break;
            }
        }
        if app.quit {
            break;
        }
        guard.terminal.draw(|f| ui::draw(f, &app))?;
    }
    tracing::info!("cockpit closed");
    drop(guard);
    rt.leave().await;
    Ok(())
}

/// Keys, mouse and resizes; when the terminal's input ends or fails, the cockpit closes.
async fn read_input(tx: mpsc::UnboundedSender<Msg>) {
    let mut events = crossterm::event::EventStream::new();
    let why = loop {
        let msg = match events.next().await {
            Some(Ok(crossterm::event::Event::Key(k))) => Msg::Key(k),
            Some(Ok(crossterm::event::Event::Mouse(m))) => Msg::Mouse(m),
            Some(Ok(crossterm::event::Event::Resize(w, h))) => Msg::Resize(w, h),
            Some(Ok(_)) => continue,
            Some(Err(e)) => break format!("the terminal's input failed: {e}"),
            None => break "the terminal's input ended".to_string(),
        };
        if tx.send(msg).is_err() {
            return;
        }
    };
    let _ = tx.send(Msg::Shutdown(why));
}

/// SIGTERM, SIGHUP and SIGINT close the cockpit in order (the terminal restored).
async fn watch_signals(tx: mpsc::UnboundedSender<Msg>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
        _ = int.recv() => "SIGINT",
    };
    let _ = tx.send(Msg::Shutdown(format!("received {name}")));
}

/// SIGCONT (the cockpit continued after a stop): the terminal taken back and repainted.
async fn watch_continue(tx: mpsc::UnboundedSender<Msg>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut cont) = signal(SignalKind::from_raw(nix::libc::SIGCONT)) else {
        return;
    };
    while cont.recv().await.is_some() {
        if tx.send(Msg::Continued).is_err() {
            return;
        }
    }
}

/// The clock's tick, once a second of wall time (the soak window's minutes follow it).
async fn tick(tx: mpsc::UnboundedSender<Msg>, clock: Arc<dyn Clock>) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = std::time::Instant::now();
    loop {
        interval.tick().await;
        // A tick seconds late means the process did not run meanwhile (stopped, or a
        // laptop asleep): take the terminal back even if SIGCONT was not seen.
        if last.elapsed() > STOPPED_GAP && tx.send(Msg::Continued).is_err() {
            break;
        }
        last = std::time::Instant::now();
        if tx.send(Msg::Tick(clock.now())).is_err() {
            break;
        }
    }
}

/// How late a tick must be to mean the process was stopped.
const STOPPED_GAP: Duration = Duration::from_secs(4);
