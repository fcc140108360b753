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

use serde_json::Value;

use crate::auth::{self, AuthRequest};
use crate::ci::{self, Provider};
use crate::config::{CliConfig, Config, ConfigError, CredentialLookup};
use crate::env::Env;
use crate::manifest::Manifest;
use crate::oidc::PublisherValues;
use crate::publish::{self, PackumentError, PrepareError, Target};
use crate::registry::{self, Auth};
use crate::trust::{self, Attempt, Mode, ProvenanceDecision, Stage};
use crate::ui::Printer;
use crate::workflows;
use crate::workspace::discover::{self, Selection};
use crate::workspace::{order, Manager, Member, Workspace, WorkspaceError};

/// What `trustpub doctor` was asked.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    pub dir: PathBuf,
    pub cli: CliConfig,
    /// `--stage`: check a staged publish (the exchange says
    /// `npm-command: stage`, as `publish --stage`'s does).
    pub stage: bool,
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
    /// The registry does not know the package (its packument is a 404).
    pub new_package: bool,
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
) -> Result<DoctorReport, DoctorError> {
    let dir = crate::manifest::clean_path(&cwd.join(&opts.dir));
    // prepare (no pack: nothing is uploaded)
    let base = Config::load(env, &opts.cli, cwd)?;
    let (m, manifest, config) = publish::read_package(&dir, &base)?;
    let target = publish::connect(&config, &m.name, env, printer)?;
    let registry = &target.registry;
    let provider = ci::detect(env);
    let mut report = DoctorReport {
        package: m.name.clone(),
        version: m.version.clone(),
        registry: registry.url.clone(),
        provider,
        checks: Vec::new(),
        values: None,
        provenance: None,
        new_package: false,
    };
    let repository = manifest.get("repository");
    // authenticate: trusted publishing only
    let request = AuthRequest {
        env,
        config: &config,
        target: &target,
        name: &m.name,
        repository,
        mode: Mode::Always,
        offline: false,
        stage: opts.stage,
        printer,
    };

    let (auth, seen) = match provider {
        Some(p) => {
            let private = m.raw.get("private") == Some(&Value::Bool(true));
            in_ci(&mut report, p, private, &request)
        }
        None => {
            from_files(&mut report, &dir, &registry.url);
            (None, Seen::default())
        }
    };

    // preflight: does the package exist, and is this version new?
    let (package_check, new_package, history) =
        packument_check(&target, auth.as_ref(), &m, provider.is_some());
    report.checks.push(package_check);
    let job = provider.map(|_| {
        let decision = report.provenance.as_ref();
        let would_sign = decision.is_some_and(|d| d.would_sign);
        Job {
            staged: opts.stage,
            trusted: auth.is_some(),
            attaches: publish::wants_provenance(&config, would_sign),
            provenance_reason: decision.map(|d| d.reason.clone()),
        }
    });
    if let Some(c) = trust_history_check(&history, &m.name, &m.version, job) {
        report.checks.push(c);
    }
    if let Some(latest) = history.latest.as_ref().filter(|_| !seen.drift_named) {
        let here = match (provider, &seen.claims) {
            (Some(p), Some(c)) => trust::drift::from_claims(c, p, env)
                .map(|id| vec![("this job runs in".to_string(), id)])
                .unwrap_or_default(),
            (Some(_), None) => Vec::new(),
            (None, _) => {
                // The remote and package.json usually agree: one line then.
                let named = workflows::named_repositories(&dir);
                let mut out: Vec<(String, trust::drift::Identity)> = Vec::new();
                for (what, host, path) in named {
                    let id = local_identity(host, path);
                    match out.iter_mut().find(|(_, o)| *o == id) {
                        Some((label, _)) => *label = format!("{label} and {what}"),
                        None => out.push((what.to_string(), id)),
                    }
                }
                out.into_iter()
                    .map(|(label, id)| {
                        let verb = if label.contains(" and ") {
                            "name"
                        } else {
                            "names"
                        };
                        (format!("{label} {verb}"), id)
                    })
                    .collect()
            }
        };
        if !here.is_empty() {
            report.checks.push(identity_check(
                &target,
                &m.name,
                latest,
                &here,
                repository,
                auth.is_some(),
            ));
        }
    }
    report.new_package = new_package;
    // The fallback credentials, for the record.
    report
        .checks
        .push(fallback_check(&config, &target, &m.name));
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

/// What the trusted-publishing attempt in CI showed, for the checks after
/// it: the id token's claims, and whether its diagnosis already named an
/// identity drift.
#[derive(Default)]
struct Seen {
    claims: Option<crate::oidc::Claims>,
    drift_named: bool,
}

/// A repository named outside CI (no ids: those are only in id tokens).
fn local_identity(host: String, path: String) -> trust::drift::Identity {
    trust::drift::Identity {
        provider: if host.contains("gitlab") {
            Provider::GitLab
        } else {
            Provider::GitHubActions
        },
        host: host.to_ascii_lowercase(),
        path,
        id: None,
        owner_id: None,
    }
}

/// The repository that published the latest version (its provenance)
/// against this job's (in CI) or the checkout's (`origin` and package.json
/// `repository`, outside CI). `matched`: this job's exchange worked, so the
/// trusted publisher already accepts its repository (a notice, and only
/// the advice that still applies).
fn identity_check(
    target: &Target,
    name: &str,
    latest: &registry::LatestProvenance,
    here: &[(String, trust::drift::Identity)],
    repository: Option<&Value>,
    matched: bool,
) -> Check {
    use trust::drift;
    let registry = &target.registry.url;
    let (version, published) = match drift::published(&target.client, registry, name, latest) {
        drift::Published::Found { version, identity } => (version, identity),
        other => {
            return check(
                "identity",
                Status::Info,
                other.notice(name).unwrap_or_default(),
            )
        }
    };
    let drifts: Vec<(&str, drift::Drift)> = here
        .iter()
        .filter_map(|(what, id)| Some((what.as_str(), drift::compare(&published, id, &version)?)))
        .collect();
    let Some((_, first)) = drifts.first() else {
        let whose = here
            .iter()
            .map(|(w, _)| w.as_str())
            .collect::<Vec<_>>()
            .join(", and ");
        return check(
            "identity",
            Status::Ok,
            format!(
                "{name}@{version} was published from {}/{} (per its provenance), the repository {whose}",
                published.host, published.path
            ),
        );
    };
    if matched {
        return Check {
            name: "identity".into(),
            status: Status::Info,
            message: first.matched_message(name, "this job runs in"),
            fix: first.matched_advice(name, repository),
        };
    }
    Check {
        name: "identity".into(),
        status: Status::Warn,
        message: drifts
            .iter()
            .map(|(what, d)| d.message_from(name, what))
            .collect::<Vec<_>>()
            .join(" "),
        fix: Some(first.fix(name, registry, repository)),
    }
}

/// In CI: trusted publishing tried as `publish --trusted-publishing always`
/// would (nothing is uploaded); the publish token, if the exchange worked.
fn in_ci(
    report: &mut DoctorReport,
    p: Provider,
    private: bool,
    r: &AuthRequest<'_>,
) -> (Option<Auth>, Seen) {
    let mut auth = None;
    let mut seen = Seen::default();
    report.checks.push(check(
        "ci",
        Status::Ok,
        format!("{} detected", p.display_name()),
    ));
    if private {
        report.checks.push(finding_check(
            "package",
            &workflows::private_finding(r.name),
        ));
    }
    match auth::attempt_trusted(Mode::Always, r) {
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
                    r.name
                ),
            ));
            for w in &success.warnings {
                report
                    .checks
                    .push(check("repository", Status::Warn, w.clone()));
            }
            report.values = success.claims.as_ref().map(|c| c.publisher_values().form());
            seen.claims = success.claims.clone();
            auth = Some(auth::bearer(r.target, &success));
            let decision = auth::decide_provenance(r, Some(&success), auth.as_ref());
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
            let detail = d.detail_lines(&r.target.registry.url, r.name);
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
            seen.claims = d.claims.clone();
            seen.drift_named = d.drift;
        }
        Attempt::NotInCi | Attempt::Disabled => {}
    }
    (auth, seen)
}

/// Outside CI: what the repository's CI files show.
fn from_files(report: &mut DoctorReport, dir: &Path, registry: &str) {
    let root = workflows::find_repo_root(dir);
    let host = url::Url::parse(registry)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "registry.npmjs.org".into());
    let analysis = workflows::analyze(&root, dir, &host);
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

/// The credential `publish` would fall back on, for the record.
fn fallback_check(config: &Config, target: &Target, name: &str) -> Check {
    let registry = &target.registry;
    match config.lookup_credential(&target.package_url, Some(name)) {
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
    }
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

/// The packument check, and whether the registry does not know the
/// package (a 404: a first publish).
/// A registry that cannot be reached fails the check in CI (the publish
/// would fail the same way) and leaves it undecided elsewhere (this machine
/// is not the one that publishes).
fn packument_check(
    target: &Target,
    auth: Option<&Auth>,
    m: &Manifest,
    in_ci: bool,
) -> (Check, bool, crate::registry::TrustHistory) {
    let url = &target.package_url;
    let found = publish::read_packument(&target.client, url, auth, &m.name, None);
    let new_package = matches!(found, Ok(None));
    let history = match &found {
        Ok(Some(p)) => p.trust_history(),
        _ => Default::default(),
    };
    let check = match found {
        Ok(Some(p)) if publish::published_version(&p, &m.version).is_some() => Check {
            name: "package".into(),
            status: Status::Fail,
            message: format!("{}@{} is already published", m.name, m.version),
            fix: Some("bump \"version\" in package.json before publishing".into()),
        },
        // A body that is not a packument still says the package exists.
        Ok(Some(_)) | Err(PackumentError::Invalid) => check(
            "package",
            Status::Ok,
            format!("{} exists on the registry and {} is new", m.name, m.version),
        ),
        Ok(None) => Check {
            name: "package".into(),
            status: Status::Fail,
            message: format!(
                "{} does not exist on the registry (or is private and this request had no credential): a first publish cannot use trusted publishing",
                m.name
            ),
            fix: Some("publish the first version with a token (npm publish locally, or NODE_AUTH_TOKEN with --trusted-publishing never), then configure the trusted publisher in the package's settings".into()),
        },
        Err(PackumentError::Status(status)) => check(
            "package",
            Status::Warn,
            format!("GET {url} answered {status} {}", registry::reason(status)),
        ),
        Err(PackumentError::Failed(e)) if in_ci => Check {
            name: "package".into(),
            status: Status::Fail,
            message: format!("could not read the packument: {e}"),
            fix: Some("the publish would fail the same way: check the registry URL and the runner's network and proxy settings".into()),
        },
        Err(PackumentError::Failed(e)) => Check {
            name: "package".into(),
            status: Status::Unknown,
            message: format!("could not read the packument from this machine: {e}"),
            fix: Some("run 'trustpub doctor' where it can reach the registry (in the publishing job, it would fail the publish)".into()),
        },
    };
    (check, new_package, history)
}

/// What this CI job's publish would be, as `publish` decides it: whether
/// it authenticates through trusted publishing, whether it attaches
/// provenance ([`publish::wants_provenance`] on npm's decision), and why
/// not.
struct Job {
    trusted: bool,
    attaches: bool,
    /// `doctor --stage`: the publish would be staged.
    staged: bool,
    provenance_reason: Option<String>,
}

/// What the published versions promise: a publish with a token, or without
/// provenance, after versions that went out through trusted publishing or
/// with provenance is refused (a trust downgrade). In CI (`job`), the
/// check asks the rule `publish` applies ([`publish::downgrade_rule`]) and
/// fails where the publish would stop.
fn trust_history_check(
    history: &crate::registry::TrustHistory,
    name: &str,
    version: &str,
    job: Option<Job>,
) -> Option<Check> {
    let mut how = Vec::new();
    if let Some(v) = &history.trusted_publishing {
        how.push(format!("through trusted publishing ({v})"));
    }
    if let Some(v) = &history.provenance {
        how.push(format!("with provenance ({v})"));
    }
    if let Some(v) = &history.staged {
        how.push(format!(
            "through a staged publish a maintainer approved ({v})"
        ));
    }
    if how.is_empty() {
        return None;
    }
    let how = how.join(" and ");
    let refused = job.and_then(|j| {
        publish::downgrade_rule(
            history,
            name,
            version,
            j.trusted,
            "without it (trusted publishing failed in this job)",
            j.attaches,
            j.staged,
        )
        .err()
        .map(|e| (e, j))
    });
    let Some((e, j)) = refused else {
        return Some(check(
            "trust history",
            Status::Info,
            format!(
                "earlier versions went out {how}: a publish with a token or without provenance is refused as a trust downgrade"
            ),
        ));
    };
    let cause = if !j.trusted {
        "fix trusted publishing (see above)".to_string()
    } else {
        match &j.provenance_reason {
            Some(r) => format!("make this publish carry provenance (npm would not sign it: {r})"),
            None => "make this publish carry provenance".to_string(),
        }
    };
    Some(Check {
        name: "trust history".into(),
        status: Status::Fail,
        message: format!(
            "`trustpub publish` in this job would stop before uploading: {e}"
        ),
        fix: Some(format!(
            "{cause}; `trustpub publish` goes ahead only with --allow-trust-downgrade, if the downgrade is deliberate"
        )),
    })
}

/// What can stop `doctor` before it reports (a failed check is in the
/// report, not an error): the prepare stage it shares with `publish`.
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// The workspace could not be read, or its selection named nothing.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
}

impl From<ConfigError> for DoctorError {
    fn from(e: ConfigError) -> Self {
        DoctorError::Prepare(e.into())
    }
}

impl DoctorError {
    /// As `publish` exits for the same error.
    pub fn exit_code(&self) -> i32 {
        match self {
            DoctorError::Prepare(e) => e.exit_code(),
            DoctorError::Workspace(e) => e.exit_code(),
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            DoctorError::Prepare(e) => e.hint(),
            DoctorError::Workspace(e) => Some(e.hint()),
        }
    }
}

/// How `doctor` treats one package of a workspace.
#[derive(Debug)]
pub enum PackageOutcome {
    /// The single-package checks ran.
    Checked(Box<DoctorReport>),
    /// Not published, not checked: `"private": true`, or (in a pnpm
    /// workspace) no `name` or `version`, which `pnpm -r publish` skips.
    Skipped { reason: &'static str },
    /// The checks could not run (an invalid package.json, no version).
    Failed { error: String, hint: Option<String> },
}

/// One selected package of a workspace.
#[derive(Debug)]
pub struct PackageDoctor {
    pub name: String,
    pub version: Option<String>,
    /// Its directory relative to the workspace root (`.` for the root).
    pub dir: String,
    pub outcome: PackageOutcome,
}

/// The publish order as waves of names, or the cycles that prevent one.
pub type Order = Result<Vec<Vec<String>>, Vec<Vec<String>>>;

/// `doctor` at a workspace root or with `--workspaces`/`--workspace`.
#[derive(Debug)]
pub struct WorkspaceReport {
    pub root: PathBuf,
    pub manager: Manager,
    pub manager_reason: String,
    /// The publish order of the packages that are not private, as waves
    /// of names; the cycles instead when there are some.
    pub order: Order,
    /// In publish order (skipped ones first, in selection order; all in
    /// selection order when there is a cycle).
    pub packages: Vec<PackageDoctor>,
}

impl WorkspaceReport {
    fn checked(&self) -> impl Iterator<Item = (&PackageDoctor, &DoctorReport)> {
        self.packages.iter().filter_map(|p| match &p.outcome {
            PackageOutcome::Checked(r) => Some((p, r.as_ref())),
            _ => None,
        })
    }

    fn failed(&self) -> usize {
        self.packages
            .iter()
            .filter(|p| matches!(p.outcome, PackageOutcome::Failed { .. }))
            .count()
    }

    /// Every package that would be published is ready, and an order exists.
    pub fn ready(&self) -> bool {
        self.verdict() == "ready"
    }

    /// `ready`, `not ready` or `unknown`, over all packages.
    pub fn verdict(&self) -> &'static str {
        if self.order.is_err()
            || self.failed() > 0
            || self.checked().any(|(_, r)| r.verdict() == "not ready")
        {
            "not ready"
        } else if self.checked().any(|(_, r)| r.verdict() == "unknown") {
            "unknown"
        } else {
            "ready"
        }
    }

    /// The human report.
    pub fn lines(&self) -> Vec<String> {
        let total = self.packages.len();
        let mut out = vec![format!(
            "trustpub doctor: workspace at {} ({}: {}), {total} package{} selected",
            self.root.display(),
            self.manager.as_str(),
            self.manager_reason,
            if total == 1 { "" } else { "s" }
        )];
        match &self.order {
            Ok(waves) if !waves.is_empty() => out.push(format!(
                "  publish order: {}",
                waves
                    .iter()
                    .map(|w| w.join(", "))
                    .collect::<Vec<_>>()
                    .join(", then ")
            )),
            Ok(_) => {}
            Err(cycles) => {
                let e = WorkspaceError::Cycle {
                    cycles: cycles.clone(),
                };
                out.push(format!("  FAIL  publish order: {e}"));
                out.push(format!("          {}", e.hint()));
            }
        }
        for p in &self.packages {
            match &p.outcome {
                PackageOutcome::Skipped { reason } => {
                    out.push(format!("  skip  {} ({}): {reason}", p.name, p.dir))
                }
                PackageOutcome::Failed { error, hint } => {
                    out.push(format!("  FAIL  {} ({}): {error}", p.name, p.dir));
                    if let Some(h) = hint {
                        out.push(format!("          {h}"));
                    }
                }
                PackageOutcome::Checked(_) => {}
            }
        }
        for (p, r) in self.checked() {
            out.push(String::new());
            out.push(format!("── {} ({}) ──", p.name, p.dir));
            out.extend(r.lines());
            if r.new_package {
                out.extend(bootstrap_lines(self.manager, p, r));
            }
        }
        out.push(String::new());
        out.push(self.summary());
        out
    }

    /// The last line: the verdict over all packages.
    fn summary(&self) -> String {
        let checked: Vec<(&PackageDoctor, &DoctorReport)> = self.checked().collect();
        let not_published = self
            .packages
            .iter()
            .filter(|p| matches!(p.outcome, PackageOutcome::Skipped { .. }))
            .count();
        let skipped = match not_published {
            0 => String::new(),
            1 => "; 1 package skipped (not published)".to_string(),
            n => format!("; {n} packages skipped (not published)"),
        };
        let named = |pick: &dyn Fn(&DoctorReport) -> bool| -> Vec<String> {
            checked
                .iter()
                .filter(|(_, r)| pick(r))
                .map(|(p, r)| {
                    if r.new_package {
                        format!("{} (new package)", p.name)
                    } else {
                        p.name.clone()
                    }
                })
                .collect()
        };
        match self.verdict() {
            "ready" if checked.is_empty() => {
                format!("nothing to publish{skipped}")
            }
            "ready" if checked.len() == 1 => format!("ready: the 1 package to publish{skipped}"),
            "ready" => format!(
                "ready: all {} packages to publish{skipped}",
                checked.len()
            ),
            "unknown" => format!(
                "cannot tell for {}{skipped}: run `trustpub doctor --workspaces` in the publishing job to check them",
                named(&|r| r.verdict() == "unknown").join(", ")
            ),
            _ => {
                let mut problems = named(&|r| r.verdict() == "not ready");
                problems.extend(
                    self.packages
                        .iter()
                        .filter(|p| matches!(p.outcome, PackageOutcome::Failed { .. }))
                        .map(|p| p.name.clone()),
                );
                if self.order.is_err() {
                    problems.push("the publish order (a dependency cycle)".into());
                }
                format!("not ready: {}{skipped}", problems.join(", "))
            }
        }
    }
}

/// What to do for a package the registry does not know: trusted
/// publishing cannot make a package, so the first version goes up with a
/// token, and the trusted publisher is entered once the package exists
/// (npm's `stage publish` and `trust` need the package to exist too). The
/// first publish goes through the workspace's package manager, which
/// rewrites `workspace:` and `catalog:` ranges (npm would publish them
/// as they are).
pub fn bootstrap_lines(manager: Manager, p: &PackageDoctor, r: &DoctorReport) -> Vec<String> {
    let access = if p.name.starts_with('@') {
        " --access public"
    } else {
        ""
    };
    let command = match manager {
        Manager::Npm => "npm publish",
        Manager::Pnpm => "pnpm publish",
        Manager::Yarn => "yarn npm publish",
        Manager::Bun => "bun publish",
    };
    vec![
        format!(
            "new package: {} is not on {} yet, and a first publish cannot use trusted publishing:",
            p.name, r.registry
        ),
        format!(
            "  1. publish its first version with a token: `{command}{access}` in {}, logged in to the registry (or with a granular access token)",
            p.dir
        ),
        if r.values.is_some() {
            format!("  2. then configure its trusted publisher: `trustpub trust sync -w {}` from the workspace root (it reads the values from the release workflow), or the values shown for it in the package's settings on the registry", p.name)
        } else {
            format!("  2. then configure its trusted publisher: `trustpub trust sync -w {}` from the workspace root (it reads the values from the release workflow), or in the package's settings; `trustpub doctor` in the publishing job shows the exact values", p.name)
        },
    ]
}

/// Whether `doctor` runs over a workspace: with `--workspaces` or
/// `--workspace`, or when `dir` is a workspace root with members whose own
/// package.json has no `"version"` or is private (a root that is a
/// package in its own right is checked as one).
pub fn workspace_for(dir: &Path, explicit: bool) -> Result<Option<Workspace>, DoctorError> {
    if explicit {
        return match discover::find(dir)? {
            Some(ws) => Ok(Some(ws)),
            None => Err(WorkspaceError::NotAWorkspace {
                dir: dir.to_path_buf(),
            }
            .into()),
        };
    }
    let marks = dir.join("pnpm-workspace.yaml").is_file()
        || crate::limits::read_file(&dir.join("package.json"), crate::limits::MANIFEST_MAX)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|j| j.get("workspaces").is_some());
    if !marks {
        return Ok(None);
    }
    let Some(ws) = discover::find(dir)? else {
        return Ok(None);
    };
    let here = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let root_is_package = ws
        .root_package
        .as_ref()
        .is_some_and(|r| r.version.is_some() && !r.private);
    if ws.root != here || ws.members.is_empty() || root_is_package {
        return Ok(None);
    }
    Ok(Some(ws))
}

/// Runs the single-package checks for each selected package of `ws`.
pub fn doctor_workspace(
    ws: &Workspace,
    sel: &Selection,
    opts: &DoctorOptions,
    env: &Env,
    cwd: &Path,
    printer: &Printer,
) -> Result<WorkspaceReport, DoctorError> {
    let dir = crate::manifest::clean_path(&cwd.join(&opts.dir));
    let selected = discover::select(ws, &dir, sel)?;
    let skip = |m: &Member| -> Option<&'static str> {
        if m.private {
            Some("private, not published")
        } else if ws.manager == Manager::Pnpm
            && (m.version.is_none() || !m.manifest.get("name").is_some_and(Value::is_string))
        {
            Some("no name or version, which `pnpm -r publish` skips")
        } else {
            None
        }
    };
    let public: Vec<&Member> = selected
        .iter()
        .copied()
        .filter(|m| skip(m).is_none())
        .collect();
    let (order, sequence): (Order, Vec<&Member>) = match order::order(&public) {
        Ok(waves) => (
            Ok(waves
                .iter()
                .map(|w| w.iter().map(|&i| public[i].name.clone()).collect())
                .collect()),
            waves.iter().flatten().map(|&i| public[i]).collect(),
        ),
        Err(WorkspaceError::Cycle { cycles }) => (Err(cycles), public.clone()),
        Err(e) => return Err(e.into()),
    };
    let mut packages: Vec<PackageDoctor> = selected
        .iter()
        .filter_map(|m| {
            Some(PackageDoctor {
                name: m.name.clone(),
                version: m.version.clone(),
                dir: m.rel.clone(),
                outcome: PackageOutcome::Skipped { reason: skip(m)? },
            })
        })
        .collect();
    for m in sequence {
        let one = DoctorOptions {
            dir: m.dir.clone(),
            cli: opts.cli.clone(),
            stage: opts.stage,
        };
        let outcome = match doctor(&one, env, cwd, printer) {
            Ok(r) => PackageOutcome::Checked(Box::new(r)),
            Err(e) => PackageOutcome::Failed {
                error: e.to_string(),
                hint: e.hint(),
            },
        };
        packages.push(PackageDoctor {
            name: m.name.clone(),
            version: m.version.clone(),
            dir: m.rel.clone(),
            outcome,
        });
    }
    Ok(WorkspaceReport {
        root: ws.root.clone(),
        manager: ws.manager,
        manager_reason: ws.manager_reason.clone(),
        order,
        packages,
    })
}
