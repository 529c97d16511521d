//! Harnesses the tests share.
#![allow(dead_code)]

pub mod cluster;
mod cockpit;
pub mod prometheus;
pub mod tmux;

pub use cockpit::*;
