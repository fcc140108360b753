//! The commands, from parsed arguments to a reported result: what the binary
//! (`src/main.rs`) calls once it has parsed the arguments and made the
//! [`Printer`]. Each command runs its stages and hands the result to
//! [`crate::report`].

use std::path::PathBuf;

use crate::batch::BatchOptions;
use crate::cli::{
    Cli, Command, DoctorArgs, PackArgs, PublishArgs, TrustArgs, TrustCommand, TrustTargetArgs,
};
use crate::config::{CliConfig, Config};
use crate::doctor::{self, DoctorOptions};
use crate::env::Env;
use crate::error::Error;
use crate::pack::{self, Output, PackOptions};
use crate::provenance::sign::SigstoreUrls;
use crate::publish::{self, PublishOptions};
use crate::secret::Secret;
use crate::ui::Printer;
use crate::workspace::discover::Selection;

/// Whether the command asked for `--json`.
pub fn wants_json(command: &Command) -> bool {
    match command {
        Command::Pack(a) => a.json,
        Command::Publish(a) => a.json,
        Command::Doctor(a) => a.json,
        Command::Trust(a) => match &a.command {
            TrustCommand::List(l) => l.target.json,
            TrustCommand::Diff(s) | TrustCommand::Sync(s) => s.target.json,
        },
        Command::Completions(_) | Command::Man => false,
    }
}

/// `trustpub <command>`, the title of annotations and the step summary.
pub fn title(command: &Command) -> &'static str {
    match command {
        Command::Pack(_) => "trustpub pack",
        Command::Publish(_) => "trustpub publish",
        Command::Doctor(_) => "trustpub doctor",
        Command::Trust(a) => match a.command {
            TrustCommand::List(_) => "trustpub trust list",
            TrustCommand::Diff(_) => "trustpub trust diff",
            TrustCommand::Sync(_) => "trustpub trust sync",
        },
        Command::Completions(_) => "trustpub completions",
        Command::Man => "trustpub man",
    }
}

/// Runs the command and reports its result or its failure; returns the
/// exit code. The step summary is written last.
pub fn run_and_report(cli: Cli, env: &Env, printer: &Printer) -> u8 {
    let title = title(&cli.command);
    let code = match run(cli, env, printer) {
        Ok(code) => code,
        Err(e) => {
            // A failure caused by a signal (a killed script) is not reported:
            // the process dies of the signal.
            crate::signals::before_exit();
            crate::report::error(printer, title, &e);
            u8::try_from(e.exit_code()).unwrap_or(1)
        }
    };
    printer.write_summary(title);
    code
}

/// Runs the command; `Ok` holds the exit code.
pub fn run(cli: Cli, env: &Env, printer: &Printer) -> Result<u8, Error> {
    match cli.command {
        Command::Pack(args) => pack(args, env, printer),
        Command::Publish(args) => publish(args, env, printer),
        Command::Doctor(args) => doctor(args, env, printer),
        Command::Trust(args) => trust(args, env, printer),
        Command::Completions(args) => {
            let script = crate::generate::completions(args.shell);
            printer.out(script.strip_suffix('\n').unwrap_or(&script));
            Ok(0)
        }
        Command::Man => {
            let page = crate::generate::man_page();
            printer.out(page.strip_suffix('\n').unwrap_or(&page));
            Ok(0)
        }
    }
}

fn current_dir() -> Result<PathBuf, Error> {
    std::env::current_dir().map_err(|e| Error::Usage {
        message: format!("cannot read the current directory: {e}"),
        hint: None,
    })
}

fn pack(args: PackArgs, env: &Env, printer: &Printer) -> Result<u8, Error> {
    let output = if args.dry_run {
        Output::Discard
    } else {
        Output::Directory(args.pack_destination.unwrap_or(current_dir()?))
    };
    // npm reads `ignore-scripts` and `script-shell` from its configuration
    // (.npmrc files, npm_config_*); they matter only when scripts may run.
    let (ignore_scripts, script_shell) = if args.ignore_scripts {
        (true, None)
    } else {
        // npm pack warns about a value or a file it cannot use, skips it
        // and packs on (a valid `ignore-scripts=true` next to it still
        // counts); what npm refuses stops here too.
        let (config, warnings) = Config::load_lenient(env, &CliConfig::default(), &current_dir()?)
            .map_err(|e| pack::PackError::from(Box::new(e)))?;
        for w in warnings {
            printer.warn("config", &format!("{w}; ignored, as npm does"));
        }
        (config.ignore_scripts(), config.script_shell())
    };
    // In a pnpm, yarn or bun workspace: the package.json that manager
    // would publish; in an npm one, `workspace:`/`catalog:` refused.
    let package_json = crate::workspace::rewrite::for_package(&args.dir)
        .map_err(pack::PackError::from)?
        .map(|r| {
            printer.notice(&r.notice());
            r.bytes
        });
    let opts = PackOptions {
        output,
        ignore_scripts,
        script_shell,
        threads: 0,
        package_json,
    };
    let packed = pack::pack(&args.dir, &opts, env, printer)?;
    crate::report::pack(printer, &packed);
    Ok(0)
}

fn doctor(args: DoctorArgs, env: &Env, printer: &Printer) -> Result<u8, Error> {
    let cwd = current_dir()?;
    let opts = DoctorOptions {
        dir: args.dir,
        cli: CliConfig {
            registry: args.registry,
            userconfig: args.userconfig,
            ..CliConfig::default()
        },
        stage: args.stage,
    };
    let flags = &args.workspaces;
    let explicit = flags.workspaces || !flags.workspace.is_empty();
    let dir = crate::manifest::clean_path(&cwd.join(&opts.dir));
    if let Some(ws) = doctor::workspace_for(&dir, explicit)? {
        let sel = Selection {
            all: flags.workspaces || !explicit,
            filters: flags.workspace.clone(),
            include_root: flags.include_workspace_root,
        };
        let report = doctor::doctor_workspace(&ws, &sel, &opts, env, &cwd, printer)?;
        crate::report::doctor_workspace(printer, &report);
        return Ok(if report.ready() { 0 } else { 1 });
    }
    let report = doctor::doctor(&opts, env, &cwd, printer)?;
    crate::report::doctor(printer, &report);
    Ok(if report.ready() { 0 } else { 1 })
}

fn trust(args: TrustArgs, env: &Env, printer: &Printer) -> Result<u8, Error> {
    use crate::trust_config::sync::{self, Mode, Plan, Terminal, TrustOptions};
    let cwd = current_dir()?;
    let options = |t: TrustTargetArgs, wanted| -> Result<TrustOptions, Error> {
        let flags = &t.workspaces;
        let explicit = flags.workspaces || !flags.workspace.is_empty();
        if let Some(code) = &t.otp {
            if code.is_empty() || code.len() > 256 || !code.chars().all(|c| c.is_ascii_graphic()) {
                return Err(Error::Usage {
                    message: "--otp: a one-time password is one word of letters and digits".into(),
                    hint: Some("copy the code from your authenticator app".into()),
                });
            }
        }
        if flags.include_workspace_root && !explicit {
            return Err(Error::Usage {
                message: "--include-workspace-root needs --workspaces or --workspace".into(),
                hint: Some(
                    "add --workspaces to take every package of the workspace and its root".into(),
                ),
            });
        }
        Ok(TrustOptions {
            dir: t.dir,
            selection: explicit.then(|| Selection {
                all: flags.workspaces,
                filters: flags.workspace.clone(),
                include_root: flags.include_workspace_root,
            }),
            explicit_workspace: explicit,
            cli: CliConfig {
                registry: t.registry,
                userconfig: t.userconfig,
                otp: t.otp.map(Secret::new),
                ..CliConfig::default()
            },
            wanted,
        })
    };
    let (opts, mode, pace) = match args.command {
        TrustCommand::List(l) => (options(l.target, Default::default())?, Mode::List, 0.0),
        TrustCommand::Diff(s) => (options(s.target, s.wanted)?, Mode::Diff, 0.0),
        TrustCommand::Sync(s) => {
            let mode = if s.dry_run {
                Mode::DryRun
            } else {
                Mode::Apply { yes: s.yes }
            };
            (options(s.target, s.wanted)?, mode, s.pace)
        }
    };
    if !(0.0..=600.0).contains(&pace) || pace.is_nan() {
        let shown = if pace.abs() >= 1e6 {
            format!("{pace:e}")
        } else {
            pace.to_string()
        };
        return Err(Error::Usage {
            message: format!("--pace {shown}: must be between 0 and 600 seconds"),
            hint: Some("npm's documentation advises 2 seconds between changes".into()),
        });
    }
    let pace = std::time::Duration::from_secs_f64(pace);
    let report = sync::run(&opts, mode, pace, env, &cwd, printer, &Terminal)?;
    crate::report::trust_result(printer, &report, mode);
    let changes = report.items.iter().any(|i| i.plan.changes());
    let cannot = report
        .items
        .iter()
        .any(|i| matches!(i.plan, Plan::Cannot { .. }));
    // A package left undecided by local configuration (the flags, the
    // login, the registry) is a configuration error, whatever else happened.
    if report
        .items
        .iter()
        .any(|i| matches!(i.plan, Plan::Cannot { config: true, .. }))
    {
        return Ok(2);
    }
    Ok(match mode {
        Mode::List => u8::from(
            report.stopped.is_some()
                || report.items.iter().any(|i| {
                    matches!(
                        i.current,
                        sync::Current::Unreadable { .. } | sync::Current::NotRead
                    )
                }),
        ),
        Mode::Diff => u8::from(changes || cannot || report.stopped.is_some()),
        Mode::DryRun => u8::from(cannot || report.stopped.is_some()),
        Mode::Apply { .. } => u8::from(!report.complete()),
    })
}

fn publish(args: PublishArgs, env: &Env, printer: &Printer) -> Result<u8, Error> {
    let cwd = current_dir()?;
    let ws = args.workspaces.clone();
    let changesets = args.changesets;
    if changesets {
        crate::changesets::prepare_output(env).map_err(|message| Error::Usage {
            message,
            hint: Some(
                "CHANGESETS_OUTPUT must name a file trustpub can write (changesets/action sets it)"
                    .into(),
            ),
        })?;
    }
    if !ws.workspaces && ws.workspace.is_empty() {
        if ws.include_workspace_root {
            return Err(Error::Usage {
                message: "--include-workspace-root needs --workspaces or --workspace".into(),
                hint: Some(
                    "add --workspaces to publish every package of the workspace and its root"
                        .into(),
                ),
            });
        }
        let opts = publish_options(args);
        let report = publish::publish(&opts, env, &cwd, printer)?;
        crate::report::publish(printer, &report);
        if changesets
            && matches!(
                report.outcome,
                publish::Outcome::Published | publish::Outcome::PublishedDespiteError
            )
        {
            let dir = crate::manifest::clean_path(&cwd.join(&opts.target));
            let dir = if dir.is_dir() { dir } else { cwd.clone() };
            let in_workspace = crate::workspace::discover::find(&dir).ok().flatten();
            let root = in_workspace
                .as_ref()
                .map_or(dir.clone(), |w| w.root.clone());
            let release = crate::changesets::Release {
                name: report.packed.name.clone(),
                version: report.packed.version.clone(),
            };
            let tagged =
                crate::changesets::tag(&[release], in_workspace.is_some(), &root, env, printer);
            if !tagged.failures.is_empty() {
                return Ok(1);
            }
        }
        return Ok(0);
    }
    let opts = BatchOptions {
        publish: publish_options(args),
        selection: Selection {
            all: ws.workspaces,
            filters: ws.workspace,
            include_root: ws.include_workspace_root,
        },
        changesets,
    };
    let report = crate::batch::publish_workspaces(&opts, env, &cwd, printer)?;
    crate::report::workspace::render(printer, &report);
    Ok(u8::try_from(report.exit_code()).unwrap_or(1))
}

fn publish_options(a: PublishArgs) -> PublishOptions {
    PublishOptions {
        target: a.target,
        cli: CliConfig {
            registry: a.registry,
            tag: a.tag,
            access: a.access.map(|a| a.as_str().to_string()),
            otp: a.otp.map(Secret::new),
            userconfig: a.userconfig,
            dry_run: a.dry_run,
            force: a.force,
            ignore_scripts: a.ignore_scripts,
            provenance: if a.provenance {
                Some(true)
            } else if a.no_provenance {
                Some(false)
            } else {
                None
            },
            provenance_file: a.provenance_file,
            ..CliConfig::default()
        },
        json: a.json,
        tolerate_republish: a.tolerate_republish,
        offline: a.offline,
        stage: a.stage,
        workspace: None,
        allow_trust_downgrade: a.allow_trust_downgrade,
        trusted_publishing: a.trusted_publishing,
        sigstore: {
            let mut urls = SigstoreUrls::default();
            if let Some(f) = a.fulcio_url {
                urls.fulcio = f;
            }
            if let Some(r) = a.rekor_url {
                urls.rekor = r;
            }
            urls
        },
    }
}
