//! Thin: parse the command line, install the panic hook, run the command, map errors to an
//! exit status (2 for bad input, 1 for anything else).

use clap::Parser;
use release_cockpit::cli::{Cli, Cmd};
use release_cockpit::commands::{self, NegativeAnswer, UsageError};
use release_cockpit::tui;

fn main() {
    let cli = Cli::parse();
    // color-eyre's hook prints the report; ours runs first and gives the terminal back.
    let _ = color_eyre::install();
    tui::install_panic_hook();
    let release = cli.release.as_deref();
    let result = match cli.command {
        None => commands::cockpit::run(&cli.common, release, cli.release_type.as_deref()),
        #[cfg(feature = "sandbox")]
        Some(Cmd::Demo { speed, fresh }) => commands::demo::run(
            &cli.common,
            release,
            cli.release_type.as_deref(),
            speed,
            fresh,
        ),
        Some(Cmd::Status { json }) => commands::status::run(&cli.common, release, json),
        Some(Cmd::Audit { json, verify }) => {
            commands::audit::run(&cli.common, release, json, verify)
        }
        #[cfg(feature = "sandbox")]
        Some(Cmd::Sandbox {
            listen,
            kubeconfig_out,
            speed,
        }) => commands::sandbox::run(&listen, kubeconfig_out, speed),
        Some(Cmd::Record) => commands::record::run(&cli.common, release),
        Some(Cmd::Probe { urls, timeout }) => commands::probe::run(&urls, timeout),
        Some(Cmd::CheckConfig { file }) => commands::check_config::run(&cli.common, file),
    };
    if let Err(e) = result {
        // Bad input is said in one line, as the user typed it wrong; anything else gets
        // color-eyre's report: what failed, each cause under it, and where.
        if let Some(usage) = e.downcast_ref::<UsageError>() {
            eprintln!("error: {usage}");
            std::process::exit(2);
        }
        if let Some(no) = e.downcast_ref::<NegativeAnswer>() {
            eprintln!("error: {no}");
            std::process::exit(1);
        }
        eprintln!("error: {e:?}");
        std::process::exit(1);
    }
}
