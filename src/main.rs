use std::process::ExitCode;

use clap::Parser;
use trustpub::ci_report::CiReport;
use trustpub::cli::{Cli, Command, PublishArgs};
use trustpub::config::{CliConfig, Config};
use trustpub::doctor::{self, DoctorOptions};
use trustpub::env::Env;
use trustpub::error::Error;
use trustpub::pack::{self, Output, PackOptions};
use trustpub::provenance::sign::SigstoreUrls;
use trustpub::publish::{self, Outcome, PublishOptions, PublishReport};
use trustpub::secret::Secret;
use trustpub::ui::Printer;

fn main() -> ExitCode {
    let env = Env::from_process();
    // Every secret the environment holds is known before anything prints,
    // and on GitHub the request token is masked first of all.
    trustpub::secret::register_env(&env);
    let ci = CiReport::from_env(&env);
    if let Some(t) = env.get_non_empty("ACTIONS_ID_TOKEN_REQUEST_TOKEN") {
        ci.mask_value(t);
    }
    // A panic's message goes through the printer's scrubbing too.
    std::panic::set_hook(Box::new(|info| {
        trustpub::ui::stderr_text(&format!("trustpub panicked: {info}"));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let text = e.render().to_string();
            let text = text.trim_end_matches('\n');
            if e.use_stderr() {
                trustpub::ui::stderr_text(text);
                if std::env::args_os().skip(1).any(|a| a == "--json") {
                    use std::io::Write as _;
                    // npm's error object for --json, as for any failure.
                    let (first, rest) = text.split_once("\n\n").unwrap_or((text, ""));
                    let first = first.strip_prefix("error: ").unwrap_or(first);
                    let summary = first.split_whitespace().collect::<Vec<_>>().join(" ");
                    let doc = serde_json::json!({"error": {
                        "code": "EUSAGE",
                        "summary": summary,
                        "detail": rest.trim(),
                    }});
                    let doc = serde_json::to_string_pretty(&doc).unwrap_or_default();
                    let _ = writeln!(
                        std::io::stdout().lock(),
                        "{}",
                        trustpub::ui::clean_json(&doc)
                    );
                }
            } else {
                use std::io::Write as _;
                let _ = writeln!(std::io::stdout().lock(), "{}", trustpub::ui::clean(text));
            }
            return ExitCode::from(code);
        }
    };
    // Partial files and lifecycle scripts are cleaned up on SIGINT/SIGTERM.
    trustpub::signals::install();
    let json = match &cli.command {
        Command::Pack(a) => a.json,
        Command::Publish(a) => a.json,
        Command::Doctor(a) => a.json,
        Command::Completions(_) | Command::Man => false,
    };
    let title = match &cli.command {
        Command::Pack(_) => "trustpub pack",
        Command::Publish(_) => "trustpub publish",
        Command::Doctor(_) => "trustpub doctor",
        Command::Completions(_) => "trustpub completions",
        Command::Man => "trustpub man",
    };
    let mut printer = Printer::from_locale(
        env.get("LC_ALL"),
        env.get("LC_CTYPE"),
        env.get("LANG"),
        json,
    );
    printer.ci = std::sync::Arc::new(ci);
    let code = match run(cli, &env, &printer) {
        Ok(code) => code,
        Err(e) => {
            // A failure caused by a signal (a killed script) is not reported:
            // the process dies of the signal.
            trustpub::signals::before_exit();
            printer.error(&e.to_string(), &e.causes(), e.hint().as_deref());
            if json {
                // npm's error object on standard output (exit code unchanged).
                printer.out(&serde_json::to_string_pretty(&e.json()).unwrap_or_default());
            }
            let mut annotation = e.to_string();
            if let Some(h) = e.hint() {
                annotation.push_str("\nhint: ");
                annotation.push_str(&h);
            }
            printer.ci.error(&format!("{title} failed"), &annotation);
            printer.ci.row("result", &format!("failed: {e}"));
            u8::try_from(e.exit_code()).unwrap_or(1)
        }
    };
    printer.ci.write_summary(title);
    trustpub::signals::before_exit();
    ExitCode::from(code)
}

fn current_dir() -> Result<std::path::PathBuf, Error> {
    std::env::current_dir().map_err(|e| Error::Usage {
        message: format!("cannot read the current directory: {e}"),
        hint: None,
    })
}

fn run(cli: Cli, env: &Env, printer: &Printer) -> Result<u8, Error> {
    match cli.command {
        Command::Pack(args) => {
            let output = if args.dry_run {
                Output::Discard
            } else {
                Output::Directory(args.pack_destination.unwrap_or(current_dir()?))
            };
            // npm reads `ignore-scripts` and `script-shell` from its
            // configuration (.npmrc files, npm_config_*); they matter only
            // when scripts may run.
            let (ignore_scripts, script_shell) = if args.ignore_scripts {
                (true, None)
            } else {
                match Config::load(env, &CliConfig::default(), &current_dir()?) {
                    Ok(config) => (config.ignore_scripts(), config.script_shell()),
                    // npm pack warns about a configuration it cannot use and
                    // packs on; nothing but these two settings matters here.
                    Err(e) => {
                        printer.warn(
                            "config",
                            &format!(
                                "{e}; packing with npm's defaults for ignore-scripts and script-shell"
                            ),
                        );
                        (false, None)
                    }
                }
            };
            let opts = PackOptions {
                output,
                ignore_scripts,
                script_shell,
                threads: 0,
            };
            let packed = pack::pack(&args.dir, &opts, env, printer)?;
            if args.json {
                let doc = serde_json::to_string_pretty(&[&packed]).unwrap_or_default();
                printer.out(&doc);
            } else {
                for line in pack::notice_lines(&packed, printer.unicode) {
                    printer.notice(&line);
                }
                printer.out(&packed.filename);
            }
            Ok(0)
        }
        Command::Publish(args) => {
            let cwd = current_dir()?;
            let json = args.json;
            let opts = publish_options(args);
            let report = publish::publish(&opts, env, &cwd, printer)?;
            print_publish(&report, json, printer);
            Ok(0)
        }
        Command::Doctor(args) => {
            let cwd = current_dir()?;
            let opts = DoctorOptions {
                dir: args.dir,
                cli: CliConfig {
                    registry: args.registry,
                    userconfig: args.userconfig,
                    ..CliConfig::default()
                },
            };
            let report = doctor::doctor(&opts, env, &cwd, printer)?;
            if args.json {
                printer.out(&serde_json::to_string_pretty(&report.to_json()).unwrap_or_default());
            } else {
                for line in report.lines() {
                    printer.out(&line);
                }
            }
            printer.ci.row(
                "package",
                &format!("`{}@{}`", report.package, report.version),
            );
            printer.ci.row("registry", &report.registry);
            printer.ci.row(
                "result",
                match report.verdict() {
                    "ready" => "ready for trusted publishing",
                    "unknown" => "cannot tell from the files (see the log)",
                    _ => "not ready (see the log)",
                },
            );
            if let Some(p) = &report.provenance {
                printer.ci.row(
                    "provenance",
                    &format!(
                        "would {}sign: {}",
                        if p.would_sign { "" } else { "not " },
                        p.reason
                    ),
                );
            }
            Ok(if report.ready() { 0 } else { 1 })
        }
        Command::Completions(args) => {
            let script = trustpub::generate::completions(args.shell);
            printer.out(script.strip_suffix('\n').unwrap_or(&script));
            Ok(0)
        }
        Command::Man => {
            let page = trustpub::generate::man_page();
            printer.out(page.strip_suffix('\n').unwrap_or(&page));
            Ok(0)
        }
    }
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

fn print_publish(r: &PublishReport, json: bool, printer: &Printer) {
    let how = &r.auth_line;
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
            obj.insert(
                "trustedPublishing".into(),
                serde_json::json!({
                    "mode": r.trust.mode.as_str(),
                    "ci": r.trust.provider,
                    "used": r.trust.used,
                    "failure": r.trust.failure,
                }),
            );
            obj.insert(
                "provenanceDecision".into(),
                r.trust
                    .provenance
                    .as_ref()
                    .map(|p| serde_json::json!({"wouldSign": p.would_sign, "reason": p.reason}))
                    .unwrap_or(serde_json::Value::Null),
            );
            obj.insert(
                "provenance".into(),
                match &r.provenance {
                    Some(p) => serde_json::json!({
                        "source": p.source,
                        "logIndex": p.log_index,
                        "transparencyLog": p.log_index.map(trustpub::provenance::search_url),
                        "bundleSha256": p.bundle_sha256,
                    }),
                    None => serde_json::Value::Bool(false),
                },
            );
            if let Some(st) = &r.provenance_statement {
                obj.insert("provenanceStatement".into(), st.clone());
            }
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
    printer.ci.row("package", &format!("`{spec}`"));
    printer.ci.row("registry", &r.registry);
    printer.ci.row("tag", &r.tag);
    printer.ci.row(
        "result",
        match &r.outcome {
            Outcome::Published | Outcome::PublishedDespiteError => "published",
            Outcome::DryRun => "dry run: nothing uploaded",
            Outcome::AlreadyPublished { .. } => "already published: nothing uploaded",
        },
    );
    printer.ci.row("authentication", how);
    if let Some(f) = &r.trust.failure {
        printer
            .ci
            .row("trusted publishing", &format!("failed: {f}"));
    }
    if let Some(p) = &r.trust.provenance {
        printer.ci.row(
            "provenance",
            &format!(
                "npm would {}sign: {}",
                if p.would_sign { "" } else { "not " },
                p.reason
            ),
        );
    }
}
