//! The release domain: the procedure, the journal of what happened, the state folded from
//! it, the rules checked before anything is written, the gates, the calendar and the audit
//! log.

pub mod action;
pub mod audit;
pub use cockpit_clock as clock;
pub mod event;
pub mod gates;
pub mod identity;
pub mod journal;
pub mod mirror;
pub mod people;
pub use crate::config::procedure_spec as procedure;
pub mod progress;
pub mod replay;
pub mod rules;
pub mod runbook;
pub mod schedule;
pub mod soak;
// Reached through `soak`, which re-exports it; see there.
mod soak_record;
pub mod state;
pub mod store;
