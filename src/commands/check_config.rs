//! `check-config [FILE]`.

use std::path::PathBuf;

use super::{CmdResult, usage};
use crate::cli::Common;
use crate::config::{self, Config};

pub fn run(common: &Common, file: Option<PathBuf>) -> CmdResult {
    let path = file.or_else(|| config::locate(common.config.as_deref()));
    let Some(path) = path else {
        println!("no config file found; the embedded default is used, and it is valid");
        return Ok(());
    };
    match Config::from_file(&path) {
        Ok(c) => {
            let items: usize = c.procedure.phases.iter().map(|p| p.items.len()).sum();
            println!(
                "{}: ok ({} environments, {} release types, {} phases, {} checklist items)",
                path.display(),
                c.environments.len(),
                c.release_types.len(),
                c.procedure.phases.len(),
                items
            );
            Ok(())
        }
        Err(problems) => Err(usage(config::describe_problems(&problems))),
    }
}
