//! The binary: parses the arguments, makes the printer and runs the command
//! (everything else is in the library, [`trustpub::app`]).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use trustpub::cli::Cli;
use trustpub::env::Env;
use trustpub::ui::{Printer, StdSink};

fn main() -> ExitCode {
    let env = Env::from_process();
    // Every secret the environment holds is known before anything prints,
    // and on GitHub the request token is masked first of all.
    trustpub::secret::register_env(&env);
    let mut printer = Printer::new(&env, false, Arc::new(StdSink));
    if let Some(t) = env.get_non_empty("ACTIONS_ID_TOKEN_REQUEST_TOKEN") {
        printer.mask_value(t);
    }
    // A panic's message goes through the printer's scrubbing too.
    std::panic::set_hook(Box::new(|info| {
        trustpub::ui::stderr_text(&format!("trustpub panicked: {info}"));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // npm's error object goes to standard output when --json was asked for.
            let json = std::env::args_os().skip(1).any(|a| a == "--json");
            return ExitCode::from(trustpub::report::usage(&printer, &e, json));
        }
    };
    // Partial files and lifecycle scripts are cleaned up on SIGINT/SIGTERM.
    trustpub::signals::install();
    printer.json = trustpub::app::wants_json(&cli.command);
    let code = trustpub::app::run_and_report(cli, &env, &printer);
    trustpub::signals::before_exit();
    ExitCode::from(code)
}
