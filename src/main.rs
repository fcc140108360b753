use std::process::ExitCode;

use clap::Parser;
use trustpub::cli::{Cli, Command, PublishArgs};
use trustpub::config::CliConfig;
use trustpub::env::Env;
use trustpub::error::Error;
use trustpub::pack::{self, Output, PackOptions};
use trustpub::publish::{self, Outcome, PublishOptions, PublishReport};
use trustpub::secret::Secret;
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
    let env = Env::from_process();
    let json = match &cli.command {
        Command::Pack(a) => a.json,
        Command::Publish(a) => a.json,
    };
    let printer = Printer::from_locale(
        env.get("LC_ALL"),
        env.get("LC_CTYPE"),
        env.get("LANG"),
        json,
    );
    match run(cli, &env, &printer) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            printer.error(&e.to_string(), &e.causes(), e.hint().as_deref());
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

fn current_dir() -> Result<std::path::PathBuf, Error> {
    std::env::current_dir().map_err(|e| Error::Usage {
        message: format!("cannot read the current directory: {e}"),
        hint: None,
    })
}

fn run(cli: Cli, env: &Env, printer: &Printer) -> Result<(), Error> {
    match cli.command {
        Command::Pack(args) => {
            let output = if args.dry_run {
                Output::Discard
            } else {
                Output::Directory(args.pack_destination.unwrap_or(current_dir()?))
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
        Command::Publish(args) => {
            let cwd = current_dir()?;
            let json = args.json;
            let opts = publish_options(args);
            let report = publish::publish(&opts, env, &cwd, printer)?;
            print_publish(&report, json, printer);
            Ok(())
        }
    }
}

fn publish_options(a: PublishArgs) -> PublishOptions {
    PublishOptions {
        target: a.target,
        cli: CliConfig {
            registry: a.registry,
            tag: a.tag,
            access: a.access,
            otp: a.otp.map(Secret::new),
            userconfig: a.userconfig,
            dry_run: a.dry_run,
            force: a.force,
            ignore_scripts: a.ignore_scripts,
            ..CliConfig::default()
        },
        json: a.json,
        tolerate_republish: a.tolerate_republish,
    }
}

fn print_publish(r: &PublishReport, json: bool, printer: &Printer) {
    let how = match &r.auth_source {
        Some(src) => format!("{} from {src}", r.auth),
        None => r.auth.clone(),
    };
    if json {
        let mut record = serde_json::to_value(&r.packed).unwrap_or_default();
        if let Some(obj) = record.as_object_mut() {
            obj.insert("registry".into(), r.registry.clone().into());
            obj.insert("tag".into(), r.tag.clone().into());
            obj.insert(
                "access".into(),
                r.access.map(|a| a.as_str().to_string()).into(),
            );
            obj.insert("auth".into(), r.auth.clone().into());
            obj.insert("provenance".into(), r.provenance.into());
            let outcome = match &r.outcome {
                Outcome::Published => "published",
                Outcome::PublishedDespiteError => "published",
                Outcome::DryRun => "dry-run",
                Outcome::AlreadyPublished { .. } => "already-published",
            };
            obj.insert("outcome".into(), outcome.into());
        }
        let doc = serde_json::json!({ r.packed.name.clone(): record });
        printer.out(&serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    let spec = format!("{}@{}", r.packed.name, r.packed.version);
    let line = match &r.outcome {
        Outcome::Published | Outcome::PublishedDespiteError => {
            format!("published {spec} to {} with tag {}, authenticated with {how}", r.registry, r.tag)
        }
        Outcome::DryRun => format!(
            "dry run: would publish {spec} to {} with tag {}, authenticating with {how}; nothing was uploaded",
            r.registry, r.tag
        ),
        Outcome::AlreadyPublished { same_integrity } => format!(
            "{spec} was already on {} ({}); nothing was uploaded",
            r.registry,
            if *same_integrity { "the same tarball" } else { "a different tarball" }
        ),
    };
    // npm prints `+ name@version` after a publish (and a dry run); nothing
    // was published when the version was already there.
    if !json && !matches!(r.outcome, Outcome::AlreadyPublished { .. }) {
        printer.out(&format!("+ {spec}"));
    }
    printer.notice(&line);
}
