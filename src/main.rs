use std::process::ExitCode;

use clap::Parser;
use trustpub::cli::{Cli, Command};
use trustpub::error::Error;
use trustpub::pack::{self, Output, PackOptions};
use trustpub::ui::Printer;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let env = |k: &str| std::env::var(k).ok();
    let json = match &cli.command {
        Command::Pack(a) => a.json,
    };
    let printer = Printer::from_locale(
        env("LC_ALL").as_deref(),
        env("LC_CTYPE").as_deref(),
        env("LANG").as_deref(),
        json,
    );
    match run(cli, &printer) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            printer.error(&e.to_string(), &e.causes(), e.hint().as_deref());
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

fn run(cli: Cli, printer: &Printer) -> Result<(), Error> {
    match cli.command {
        Command::Pack(args) => {
            let cwd = std::env::current_dir().map_err(|e| Error::Usage {
                message: format!("cannot read the current directory: {e}"),
                hint: None,
            })?;
            let output = if args.dry_run {
                Output::Discard
            } else {
                Output::Directory(args.pack_destination.unwrap_or(cwd))
            };
            let opts = PackOptions {
                output,
                ignore_scripts: args.ignore_scripts,
                threads: 0,
            };
            let packed = pack::pack(&args.dir, &opts, printer)?;
            if args.json {
                let doc = serde_json::to_string_pretty(&[&packed]).unwrap_or_default();
                printer.out(&doc);
            } else {
                for line in pack::notice_lines(&packed, printer.unicode) {
                    printer.notice(&line);
                }
                printer.out(&packed.filename);
            }
            Ok(())
        }
    }
}
