//! Work that takes time runs here as tokio tasks that report back with owned messages.

pub mod check;
pub mod runner;
