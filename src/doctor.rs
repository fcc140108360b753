//! `trustpub doctor [DIR] [--registry URL] [--json]`: will trusted
//! publishing work? A preflight that uploads nothing.
//!
//! * In CI (GitHub Actions, GitLab CI, CircleCI) it does what `publish`
//!   would do up to the upload: fetches the id token, decodes its claims,
//!   performs the exchange, reads the packument (does the package exist; is
//!   this version already there), compares package.json's `repository` with
//!   the repository the job runs in, and decides provenance as npm would.
//! * Outside CI it reads the repository's CI files ([`crate::workflows`]),
//!   finds the publishing job and checks what can be checked offline, and
//!   asks the registry whether the package exists.
//!
//! It prints a readiness report with the exact trusted-publisher values and
//! a verdict: ready, not ready, or cannot tell (outside CI, when a program
//! or action doctor cannot read decides; marked `????`). It exits 0 only
//! when ready, 1 otherwise.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::ci::{self, Provider};
use crate::config::{CliConfig, Config, CredentialLookup};
use crate::document::{self, DirSource};
use crate::env::Env;
use crate::manifest::Manifest;
use crate::oidc::PublisherValues;
use crate::publish::PublishError;
use crate::registry::{self, Auth, AuthKind, Client, Packument};
use crate::secret::Secret;
use crate::trust::{self, Attempt, Mode, ProvenanceDecision, Stage};
use crate::ui::Printer;
use crate::workflows;

/// What `trustpub doctor` was asked.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    pub dir: PathBuf,
    pub cli: CliConfig,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Info,
    Warn,
    Fail,
    /// Doctor cannot tell (a program it cannot read decides).
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Info => "info",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Unknown => "????",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub message: String,
    /// What to do, possibly several lines (a YAML snippet).
    pub fix: Option<String>,
}

fn check(name: &str, status: Status, message: impl Into<String>) -> Check {
    Check {
        name: name.to_string(),
        status,
        message: message.into(),
        fix: None,
    }
}

/// A trusted-publisher form: the provider and its fields with values.
pub type Form = (&'static str, Vec<(&'static str, String)>);

/// The whole report.
#[derive(Debug, Clone)]
pub struct DoctorReport {
    pub package: String,
    pub version: String,
    pub registry: String,
    /// The CI provider, or `None` for the offline (workflow files) check.
    pub provider: Option<Provider>,
    pub checks: Vec<Check>,
    /// The trusted-publisher form (provider, fields), from the claims or
    /// the workflow files.
    pub values: Option<Form>,
    pub provenance: Option<ProvenanceDecision>,
}

impl DoctorReport {
    /// No check failed and none is undecided.
    pub fn ready(&self) -> bool {
        !self
            .checks
            .iter()
            .any(|c| matches!(c.status, Status::Fail | Status::Unknown))
    }

    /// `ready`, `not ready` or `unknown` (nothing failed, but doctor cannot
    /// tell whether a check passes).
    pub fn verdict(&self) -> &'static str {
        if self.checks.iter().any(|c| c.status == Status::Fail) {
            "not ready"
        } else if self.checks.iter().any(|c| c.status == Status::Unknown) {
            "unknown"
        } else {
            "ready"
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "ready": self.ready(),
            "verdict": self.verdict(),
            "package": self.package,
            "version": self.version,
            "registry": self.registry,
            "ci": self.provider.map(Provider::user_agent_name),
            "checks": self.checks.iter().map(|c| json!({
                "name": c.name,
                "status": match c.status { Status::Fail => "fail", Status::Unknown => "unknown", s => s.as_str() },
                "message": c.message,
                "fix": c.fix,
            })).collect::<Vec<_>>(),
            "trustedPublisher": self.values.as_ref().map(|(provider, fields)| {
                let mut m = serde_json::Map::new();
                m.insert("provider".into(), (*provider).into());
                for (k, val) in fields {
                    m.insert((*k).into(), val.clone().into());
                }
                Value::Object(m)
            }),
            "provenance": self.provenance.as_ref().map(|p| json!({
                "wouldSign": p.would_sign,
                "reason": p.reason,
            })),
        })
    }

    /// The human report, line by line.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "trustpub doctor: {}@{} to {} ({})",
            self.package,
            self.version,
            self.registry,
            match self.provider {
                Some(p) => format!("in {}", p.display_name()),
                None => "outside CI: checked the CI files".into(),
            }
        )];
        for c in &self.checks {
            if c.name == "ci job" {
                out.push(format!("  {:<4}  {}", c.status.as_str(), c.message));
            } else {
                out.push(format!(
                    "  {:<4}  {}: {}",
                    c.status.as_str(),
                    c.name,
                    c.message
                ));
            }
            if let Some(fix) = &c.fix {
                for l in fix.lines() {
                    out.push(format!("          {l}"));
                }
            }
        }
        if let Some((provider, fields)) = &self.values {
            out.push(String::new());
            out.extend(trust::render_form(
                provider,
                fields,
                &self.registry,
                &self.package,
            ));
        }
        out.push(String::new());
        let fails = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        let unknowns = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Unknown)
            .count();
        out.push(if fails == 0 && unknowns > 0 {
            format!(
                "cannot tell: {unknowns} thing{} doctor cannot check from the files (marked ????); \
                 run `trustpub doctor` in the publishing job to check it",
                if unknowns == 1 { "" } else { "s" }
            )
        } else if fails == 0 {
            match self.provider {
                Some(_) => "ready: a publish from this job would authenticate with trusted publishing".into(),
                None => "ready, as far as the CI files show: run `trustpub doctor` in the publishing job to check the exchange itself".into(),
            }
        } else {
            format!(
                "not ready: {fails} problem{} to fix (marked FAIL)",
                if fails == 1 { "" } else { "s" }
            )
        });
        out
    }
}

/// Runs the checks.
pub fn doctor(
    opts: &DoctorOptions,
    env: &Env,
    cwd: &Path,
    printer: &Printer,
) -> Result<DoctorReport, PublishError> {
    let dir = crate::manifest::clean_path(&cwd.join(&opts.dir));
    let base = Config::load(env, &opts.cli, cwd)?;
    let m = Manifest::read_dir(&dir)?;
    let manifest = document::normalize_manifest(&m.raw, &DirSource::new(&dir))?;
    let config = base.with_publish_config(&manifest)?;
    let registry = config.registry_for(&m.name)?;
    let escaped = document::escaped_name(&m.name);
    let package_url = registry.package_url(&escaped);
    if !registry::is_secure(&package_url) {
        return Err(PublishError::Insecure {
            url: registry.to_string(),
        });
    }
    let client = Client::from_config(ci::user_agent(env), &config, env, &registry.url)?;
    for s in client.secrets() {
        printer.ci.mask(&s);
    }
    for w in client.warnings() {
        printer.warn("network", &w);
    }
    let observer = crate::publish::Report(printer);
    let provider = ci::detect(env);
    let mut report = DoctorReport {
        package: m.name.clone(),
        version: m.version.clone(),
        registry: registry.url.clone(),
        provider,
        checks: Vec::new(),
        values: None,
        provenance: None,
    };
    let repository = manifest.get("repository");
    let mut auth: Option<Auth> = None;

    match provider {
        Some(p) => {
            report.checks.push(check(
                "ci",
                Status::Ok,
                format!("{} detected", p.display_name()),
            ));
            if m.raw.get("private") == Some(&Value::Bool(true)) {
                report.checks.push(finding_check(
                    "package",
                    &workflows::private_finding(&m.name),
                ));
            }
            let inputs = trust::Inputs {
                env,
                registry: &registry.url,
                name: &m.name,
                escaped: &escaped,
                repository,
                auth_type: config.auth_type(),
                client: &client,
                observer: &observer,
                ci: &printer.ci,
                moved_by_repository: config
                    .registry_moved_by_repository(&m.name)
                    .map(|(r, o)| (r.to_string(), r.origin.place(), o.to_string())),
            };
            match trust::attempt(Mode::Always, &inputs) {
                Attempt::Ok(success) => {
                    let aud = success
                        .claims
                        .as_ref()
                        .map(|c| c.audiences().join(", "))
                        .unwrap_or_default();
                    report.checks.push(check(
                        "id token",
                        Status::Ok,
                        format!("from {}, audience {aud}", success.source.describe()),
                    ));
                    report.checks.push(check(
                        "exchange",
                        Status::Ok,
                        format!(
                            "the registry issued a publish token for {} (nothing was uploaded)",
                            m.name
                        ),
                    ));
                    for w in &success.warnings {
                        report
                            .checks
                            .push(check("repository", Status::Warn, w.clone()));
                    }
                    report.values = success.claims.as_ref().map(|c| c.publisher_values().form());
                    auth = Some(Auth {
                        header: Secret::new(format!("Bearer {}", success.token.expose())),
                        origin: registry::origin(&package_url).unwrap_or_default(),
                        kind: AuthKind::TrustedPublishing,
                    });
                    let decision = trust::decide_provenance(
                        &config,
                        Some(&success),
                        env,
                        &client,
                        &registry.url,
                        &escaped,
                        auth.as_ref(),
                    );
                    report.checks.push(check(
                        "provenance",
                        Status::Info,
                        format!(
                            "npm would {}sign provenance: {}",
                            if decision.would_sign { "" } else { "not " },
                            decision.reason
                        ),
                    ));
                    report.provenance = Some(decision);
                }
                Attempt::Failed(d) => {
                    let detail = d.detail_lines(&registry.url, &m.name);
                    let fix = Some(
                        detail
                            .iter()
                            .filter(|l| !l.starts_with("warning: "))
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("\n"),
                    );
                    if d.stage == Stage::IdToken {
                        report.checks.push(Check {
                            name: "id token".into(),
                            status: Status::Fail,
                            message: d.summary.clone(),
                            fix,
                        });
                    } else {
                        report
                            .checks
                            .push(check("id token", Status::Ok, "obtained"));
                        report.checks.push(Check {
                            name: "exchange".into(),
                            status: Status::Fail,
                            message: d.summary.clone(),
                            fix,
                        });
                    }
                    for w in &d.warnings {
                        report
                            .checks
                            .push(check("warning", Status::Warn, w.clone()));
                    }
                    report.values = d.values.as_ref().map(PublisherValues::form);
                }
                Attempt::NotInCi | Attempt::Disabled => {}
            }
        }
        None => {
            let root = workflows::find_repo_root(&dir);
            let host = url::Url::parse(&registry.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "registry.npmjs.org".into());
            let analysis = workflows::analyze(&root, &dir, &host);
            report.checks.push(check(
                "ci files",
                Status::Info,
                if analysis.files_read.is_empty() {
                    format!("no CI files under {}", root.display())
                } else {
                    format!(
                        "read {}",
                        analysis
                            .files_read
                            .iter()
                            .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            ));
            for f in &analysis.problems {
                report.checks.push(finding_check("ci files", f));
            }
            for job in &analysis.jobs {
                let name = job.label();
                report.checks.push(check(
                    &name,
                    Status::Info,
                    format!(
                        "publishes with {} on {}",
                        job.publishes_with,
                        job.provider.display_name()
                    ),
                ));
                // The findings name the file and the job themselves.
                for f in &job.findings {
                    report.checks.push(finding_check("ci job", f));
                }
                // A job that may not publish this package names no form.
                let maybe = job
                    .findings
                    .iter()
                    .any(|f| f.code == "publish-target-unknown");
                if report.values.is_none() && !maybe {
                    report.values = Some(job.publisher_values.form());
                }
            }
            if analysis.jobs.is_empty()
                && !analysis.problems.iter().any(|f| {
                    matches!(
                        f.severity,
                        workflows::Severity::Error | workflows::Severity::Unknown
                    )
                })
            {
                report.checks.push(check(
                    "ci files",
                    Status::Fail,
                    "no job that publishes this package was found",
                ));
            }
        }
    }

    // Does the package exist, and is this version new?
    report
        .checks
        .push(packument_check(&client, &package_url, auth.as_ref(), &m));
    // The fallback credentials, for the record.
    report.checks.push(match config.lookup_credential(&package_url, Some(&m.name)) {
        CredentialLookup::Found(c) => check(
            "fallback",
            Status::Info,
            format!(
                "{} holds a credential for {registry}; `publish` falls back on it if trusted publishing fails (--trusted-publishing auto)",
                c.source
            ),
        ),
        CredentialLookup::Unusable(d) => Check {
            name: "fallback".into(),
            status: Status::Warn,
            message: d.to_string(),
            fix: d.hint(),
        },
        CredentialLookup::Missing => check(
            "fallback",
            Status::Info,
            "no token is configured: if trusted publishing fails, the publish fails",
        ),
    });
    // Outside CI the CI-file analysis compares `repository` with the git remote.
    if provider.is_some() && repository.is_none() {
        report.checks.push(Check {
            name: "repository".into(),
            status: Status::Warn,
            message: "package.json has no \"repository\" field: provenance cannot be made without it".into(),
            fix: Some("add \"repository\": {\"type\": \"git\", \"url\": \"git+https://github.com/OWNER/REPO.git\"}".into()),
        });
    }
    Ok(report)
}

fn finding_check(name: &str, f: &workflows::Finding) -> Check {
    Check {
        name: name.to_string(),
        status: match f.severity {
            workflows::Severity::Error => Status::Fail,
            workflows::Severity::Warning => Status::Warn,
            workflows::Severity::Info => Status::Info,
            workflows::Severity::Unknown => Status::Unknown,
        },
        message: f.message.clone(),
        fix: f.fix.clone(),
    }
}

fn packument_check(client: &Client, url: &str, auth: Option<&Auth>, m: &Manifest) -> Check {
    match client.send_once(&registry::packument_request(url, auth, &m.name, None)) {
        Ok(r) if r.status == 200 => {
            let published = Packument::parse(&r.body)
                .and_then(|p| p.versions)
                .is_some_and(|v| v.contains_key(&m.version));
            if published {
                Check {
                    name: "package".into(),
                    status: Status::Fail,
                    message: format!("{}@{} is already published", m.name, m.version),
                    fix: Some("bump \"version\" in package.json before publishing".into()),
                }
            } else {
                check(
                    "package",
                    Status::Ok,
                    format!("{} exists on the registry and {} is new", m.name, m.version),
                )
            }
        }
        Ok(r) if r.status == 404 => Check {
            name: "package".into(),
            status: Status::Fail,
            message: format!(
                "{} does not exist on the registry (or is private and this request had no credential): a first publish cannot use trusted publishing",
                m.name
            ),
            fix: Some("publish the first version with a token (npm publish locally, or NODE_AUTH_TOKEN with --trusted-publishing never), then configure the trusted publisher in the package's settings".into()),
        },
        Ok(r) => check(
            "package",
            Status::Warn,
            format!("GET {url} answered {} {}", r.status, registry::reason(r.status)),
        ),
        Err(e) => check("package", Status::Warn, format!("could not read the packument: {e}")),
    }
}
