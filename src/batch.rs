//! `trustpub publish --workspaces` / `--workspace <name>`: a whole
//! workspace in one safe run (issue #13).
//!
//! The stages of [`crate::publish`], each for every package before the
//! next begins:
//!
//! 1. *prepare* every package (dependencies first), skipping private ones;
//! 2. *authenticate* every package, one after another (one token exchange
//!    per package, each with a fresh id token where the CI gives one);
//! 3. *preflight* every package (the packument checks, provenance checked
//!    up to signing); a version already on the registry with the same
//!    tarball is skipped, with another tarball it is an error unless
//!    `--tolerate-republish`;
//! 4. if any package is not ready, the readiness table and nothing is
//!    uploaded; else the uploads, in dependency waves (the packages whose
//!    workspace dependencies are all done go together, a few at a time);
//!    after a failed upload no later wave starts, and the report says which
//!    versions are on the registry and which are not;
//! 5. the report: one table, one `--json` array, the step summary,
//!    `$GITHUB_OUTPUT`, and with `--changesets` what `changeset publish`
//!    prints and the git tags it creates.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::{AuthError, Authenticated};
use crate::changesets::{self, Release};
use crate::config::Config;
use crate::env::Env;
use crate::error::Error;
use crate::oidc::PublisherValues;
use crate::publish::{self, Checked, Outcome, Plan, Prepared, PublishError, PublishOptions};
use crate::publish::{PreflightError, ProvenanceInfo, Published};
use crate::trust::Stage;
use crate::ui::{Level, Printer};
use crate::workspace::discover::{self, Selection};
use crate::workspace::{order, Member, WorkspaceError};

/// How many uploads run at once within a wave.
pub const UPLOAD_JOBS: usize = 4;

/// What `trustpub publish --workspaces` was asked to do.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Everything a single publish takes; `target` is the directory the
    /// workspace is looked for from.
    pub publish: PublishOptions,
    pub selection: Selection,
    /// `--changesets`: print `New tag: <name>@<version>` for each
    /// published package and create the git tags `changeset publish`
    /// creates.
    pub changesets: bool,
}

/// Why a package is not ready to upload (the readiness table's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// Not on the registry, and trusted publishing cannot make its first
    /// version.
    NewPackage,
    /// The registry found no trusted publisher matching this run.
    NoTrustedPublisher,
    /// A trusted publisher matched but does not allow this publish.
    PermissionDenied,
    /// The registry did not accept the id token (issuer, audience, expiry).
    IssuerNotAccepted,
    /// The run got no id token.
    NoIdToken,
    /// Trusted publishing failed otherwise.
    TrustedPublishingFailed,
    /// No credential at all, or an unusable one.
    NoCredential,
    /// `--trusted-publishing always` outside CI.
    NotInCi,
    /// This version is on the registry with another tarball.
    VersionConflict,
    /// Earlier versions went out through trusted publishing or with
    /// provenance, and this one would not.
    TrustDowngrade,
    /// It could not be packed or failed a check before any request.
    Prepare,
    /// A registry check or the provenance preflight failed.
    Preflight,
}

impl NotReady {
    pub fn as_str(self) -> &'static str {
        match self {
            NotReady::NewPackage => "new package: a first publish cannot use trusted publishing",
            NotReady::NoTrustedPublisher => "no or mismatched trusted publisher",
            NotReady::PermissionDenied => "permission denied",
            NotReady::IssuerNotAccepted => "issuer not accepted",
            NotReady::NoIdToken => "no id token",
            NotReady::TrustedPublishingFailed => "trusted publishing failed",
            NotReady::NoCredential => "no usable credential",
            NotReady::NotInCi => "not in CI",
            NotReady::VersionConflict => "version published with another tarball",
            NotReady::TrustDowngrade => "trust downgrade",
            NotReady::Prepare => "cannot be packed or published",
            NotReady::Preflight => "registry check failed",
        }
    }

    /// The `--json` word.
    pub fn code(self) -> &'static str {
        match self {
            NotReady::NewPackage => "new-package",
            NotReady::NoTrustedPublisher => "no-trusted-publisher",
            NotReady::PermissionDenied => "permission-denied",
            NotReady::IssuerNotAccepted => "issuer-not-accepted",
            NotReady::NoIdToken => "no-id-token",
            NotReady::TrustedPublishingFailed => "trusted-publishing-failed",
            NotReady::NoCredential => "no-credential",
            NotReady::NotInCi => "not-in-ci",
            NotReady::VersionConflict => "version-conflict",
            NotReady::TrustDowngrade => "trust-downgrade",
            NotReady::Prepare => "prepare-failed",
            NotReady::Preflight => "preflight-failed",
        }
    }
}

/// What happened to one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Uploaded (or found on the registry after an unclear answer); with
    /// `--stage`, `Published(Outcome::Staged { .. })`: staged, which is not
    /// on the registry until approved.
    Published(Outcome),
    /// `--dry-run`: everything but the upload was done.
    DryRun,
    /// This version was already on the registry with the same tarball.
    AlreadyPublished,
    /// `"private": true`: skipped.
    Private,
    /// Not ready; nothing of the workspace was uploaded.
    NotReady(NotReady),
    /// Ready, but nothing was uploaded because another package was not.
    Held,
    /// Its upload failed.
    Failed,
    /// Ready, but no upload was started after another one failed.
    NotUploaded,
}

impl State {
    /// Whether this version is on the registry after the run.
    pub fn on_registry(&self) -> bool {
        match self {
            State::Published(o) => !matches!(o, Outcome::Staged { .. }),
            State::AlreadyPublished => true,
            _ => false,
        }
    }

    /// `--stage`: staged, with the registry's id when it gave one.
    pub fn staged(&self) -> Option<Option<&str>> {
        match self {
            State::Published(Outcome::Staged { stage_id }) => Some(stage_id.as_deref()),
            _ => None,
        }
    }

    /// The table's and `--json`'s word.
    pub fn code(&self) -> &'static str {
        match self {
            // Found on the registry after an unclear answer: published
            // (the human table says how).
            State::Published(Outcome::Staged { .. }) => "staged",
            State::Published(_) => "published",
            State::DryRun => "dry-run",
            State::AlreadyPublished => "already-published",
            State::Private => "skipped-private",
            State::NotReady(_) => "not-ready",
            State::Held => "held",
            State::Failed => "failed",
            State::NotUploaded => "not-uploaded",
        }
    }
}

/// A failure, rendered once for the report.
#[derive(Debug, Clone)]
pub struct Problem {
    /// npm's error code (`E404`, …) or trustpub's.
    pub code: String,
    pub message: String,
    pub causes: Vec<String>,
    pub hint: Option<String>,
    pub exit_code: i32,
}

impl Problem {
    fn from_error(e: &Error) -> Problem {
        Problem {
            code: e.npm_code(),
            message: e.to_string(),
            causes: e.causes(),
            hint: e.hint(),
            exit_code: e.exit_code(),
        }
    }
}

/// One package's line of the report.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub version: Option<String>,
    /// The package's directory relative to the workspace root.
    pub dir: String,
    pub state: State,
    /// `trusted-publishing`, `token`, … once authenticated.
    pub auth: Option<&'static str>,
    pub auth_line: Option<String>,
    pub provenance: Option<ProvenanceInfo>,
    /// `sha512-…` of the tarball.
    pub integrity: Option<String>,
    /// The package is not on the registry yet.
    pub new_package: bool,
    /// The trusted-publisher values this run's id token names (for a new
    /// package or a missing publisher: what to enter).
    pub publisher: Option<PublisherValues>,
    pub problem: Option<Problem>,
    /// The registry the package goes to, once prepared (for the approve
    /// command of a staged version).
    pub registry: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct BatchReport {
    pub root: PathBuf,
    pub manager: &'static str,
    pub dry_run: bool,
    /// `--stage`: uploads are staged (the summary says how to approve).
    pub stage: bool,
    /// In publish order (dependencies first), private packages last.
    pub rows: Vec<Row>,
    /// `--changesets`: the git tags created.
    pub tags: Vec<String>,
    /// `--changesets`: tags that could not be created, with why.
    pub tag_failures: Vec<String>,
}

impl BatchReport {
    /// 0 when every selected package is on the registry (or would be, in
    /// a dry run) or skipped; 2 when everything that stopped the run is a
    /// configuration error; 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        let codes: Vec<i32> = self
            .rows
            .iter()
            .filter_map(|r| match (&r.state, &r.problem) {
                (State::NotReady(_) | State::Failed, Some(p)) => Some(p.exit_code),
                (State::NotReady(_) | State::Failed, None) => Some(1),
                // Published, then its publish or postpublish script failed.
                (_, Some(p)) => Some(p.exit_code),
                _ => None,
            })
            .collect();
        if codes.is_empty() && self.tag_failures.is_empty() {
            0
        } else if !codes.is_empty() && codes.iter().all(|&c| c == 2) {
            2
        } else {
            1
        }
    }

    /// The rows published by this run.
    pub fn published(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| matches!(r.state, State::Published(_)) && r.state.on_registry())
    }
}

/// A package on its way through the stages.
struct Slot<'w> {
    member: &'w Member,
    /// Index of its dependency wave.
    wave: usize,
    prepared: Option<Prepared>,
    authenticated: Option<Authenticated>,
    plan: Option<Plan>,
    /// When it was authenticated (see [`RECHECK_AFTER`]): its exchanged
    /// token, and the Sigstore id token its preflight fetched, are younger.
    authenticated_at: Option<Instant>,
    row: Row,
}

impl Slot<'_> {
    fn stop(&mut self, why: NotReady, e: Error) {
        self.row.state = State::NotReady(why);
        self.row.problem = Some(Problem::from_error(&e));
    }

    fn ready(&self) -> bool {
        self.plan.is_some()
    }
}

/// A usage error for the workspace options.
fn usage(message: String, hint: &str) -> Error {
    Error::Usage {
        message,
        hint: Some(hint.to_string()),
    }
}

/// Runs the whole workspace publish.
pub fn publish_workspaces(
    opts: &BatchOptions,
    env: &Env,
    cwd: &Path,
    printer: &Printer,
) -> Result<BatchReport, Error> {
    let start = crate::manifest::clean_path(&cwd.join(&opts.publish.target));
    if !start.is_dir() {
        return Err(usage(
            format!(
                "--workspaces and --workspace need a directory inside the workspace, not {}",
                start.display()
            ),
            "run from the workspace (or name a directory inside it); a .tgz is published on its own, without --workspaces",
        ));
    }
    // Shared with every package's prepare stage (the manifest rewriting).
    let ws = std::sync::Arc::new(
        discover::find(&start)?.ok_or(WorkspaceError::NotAWorkspace { dir: start.clone() })?,
    );
    let selected = discover::select(&ws, &start, &opts.selection)?;
    printer.notice(&format!(
        "workspace {} ({}, {}): {} package(s) selected",
        ws.root.display(),
        ws.manager.as_str(),
        ws.manager_reason,
        selected.len()
    ));
    let mut private_rows = Vec::new();
    let mut publishable: Vec<&Member> = Vec::new();
    for m in selected {
        if m.private {
            printer.warn(
                "publish",
                &format!("Skipping workspace {}, marked as private", m.name),
            );
            private_rows.push(blank_row(m, State::Private));
        } else {
            publishable.push(m);
        }
    }
    // pnpm lets two packages share a name; a registry holds one.
    for (i, m) in publishable.iter().enumerate() {
        let twins: Vec<PathBuf> = publishable[i..]
            .iter()
            .filter(|o| o.name == m.name)
            .map(|o| o.dir.clone())
            .collect();
        if twins.len() > 1 && !publishable[..i].iter().any(|o| o.name == m.name) {
            return Err(WorkspaceError::Duplicate {
                name: m.name.clone(),
                dirs: twins,
            }
            .into());
        }
    }
    let waves = order::order(&publishable)?;
    let mut slots: Vec<Slot<'_>> = Vec::new();
    for (w, wave) in waves.iter().enumerate() {
        for &i in wave {
            let m = publishable[i];
            slots.push(Slot {
                member: m,
                wave: w,
                prepared: None,
                authenticated: None,
                plan: None,
                authenticated_at: None,
                row: blank_row(m, State::Held),
            });
        }
    }
    let base = publish::load_config(&opts.publish, env, cwd, printer).map_err(publish_error)?;
    let in_ws = BatchOptions {
        publish: PublishOptions {
            workspace: Some(ws.clone()),
            ..opts.publish.clone()
        },
        ..opts.clone()
    };
    prepare_all(&mut slots, &base, &in_ws, env, cwd, printer);
    authenticate_all(&mut slots, opts, env, printer);
    preflight_all(&mut slots, opts, env, printer);
    let dry_run = base.dry_run();
    let all_ready = slots
        .iter()
        .all(|s| s.ready() || s.row.state == State::AlreadyPublished);
    if all_ready {
        upload_all(&mut slots, opts, env, printer);
    } else {
        printer.lines(
            Level::Error,
            "publish",
            "not every package is ready: nothing was uploaded (the readiness table follows)",
        );
    }
    let mut report = BatchReport {
        root: ws.root.clone(),
        manager: ws.manager.as_str(),
        dry_run,
        stage: opts.publish.stage,
        rows: slots.into_iter().map(|s| s.row).collect(),
        tags: Vec::new(),
        tag_failures: Vec::new(),
    };
    report.rows.extend(private_rows);
    if opts.changesets && !dry_run {
        let releases: Vec<Release> = report
            .published()
            .filter_map(|r| {
                Some(Release {
                    name: r.name.clone(),
                    version: r.version.clone()?,
                })
            })
            .collect();
        let tagged = changesets::tag(&releases, true, &ws.root, env, printer);
        report.tags = tagged.created;
        report.tag_failures = tagged.failures;
    }
    Ok(report)
}

fn publish_error(e: impl Into<PublishError>) -> Error {
    Error::Publish(e.into())
}

fn blank_row(m: &Member, state: State) -> Row {
    Row {
        name: m.name.clone(),
        version: m.version.clone(),
        dir: m.rel.clone(),
        state,
        auth: None,
        auth_line: None,
        provenance: None,
        integrity: None,
        new_package: false,
        publisher: None,
        problem: None,
        registry: None,
    }
}

/// *prepare* for every package: its options are the run's, its target
/// its directory.
fn prepare_all(
    slots: &mut [Slot<'_>],
    base: &Config,
    opts: &BatchOptions,
    env: &Env,
    cwd: &Path,
    printer: &Printer,
) {
    for slot in slots.iter_mut() {
        let one = PublishOptions {
            target: slot.member.dir.clone(),
            ..opts.publish.clone()
        };
        match publish::prepare_package(base, &one, env, cwd, printer) {
            Ok(p) => {
                slot.row.version = Some(p.package.version.clone());
                slot.row.integrity = Some(p.package.packed.integrity.clone());
                slot.row.registry = Some(p.target.registry.url.clone());
                slot.prepared = Some(p);
            }
            Err(e) => slot.stop(NotReady::Prepare, publish_error(e)),
        }
    }
}

/// *authenticate* for every prepared package, one after another.
fn authenticate_all(slots: &mut [Slot<'_>], opts: &BatchOptions, env: &Env, printer: &Printer) {
    for slot in slots.iter_mut() {
        let Some(p) = &slot.prepared else { continue };
        match publish::authenticate(&opts.publish, p, env, printer) {
            Ok(a) => {
                slot.row.auth = Some(a.kind);
                slot.row.auth_line = Some(a.line.clone());
                slot.row.new_package = a.trust.new_package;
                slot.row.publisher = a.trust.publisher.clone();
                slot.authenticated = Some(a);
                slot.authenticated_at = Some(Instant::now());
            }
            Err(e) => {
                let why = classify(&e);
                if let AuthError::TrustedPublishing { diagnosis, .. } = &e {
                    slot.row.new_package = diagnosis.package_missing;
                    slot.row.publisher = diagnosis.values.clone();
                }
                slot.stop(why, publish_error(e));
            }
        }
    }
}

/// The readiness table's reason for an authentication failure.
fn classify(e: &AuthError) -> NotReady {
    match e {
        AuthError::TrustedPublishing { diagnosis, .. } => {
            if diagnosis.package_missing {
                NotReady::NewPackage
            } else if diagnosis.stage == Stage::IdToken {
                NotReady::NoIdToken
            } else {
                match diagnosis.status {
                    Some(403) => NotReady::PermissionDenied,
                    Some(401) => NotReady::IssuerNotAccepted,
                    Some(404) => NotReady::NoTrustedPublisher,
                    _ => NotReady::TrustedPublishingFailed,
                }
            }
        }
        AuthError::NotInCi { .. } => NotReady::NotInCi,
        AuthError::UnusableCredential { .. } | AuthError::NeedAuth { .. } => NotReady::NoCredential,
    }
}

/// The options of the preflight: same-integrity versions are always
/// skipped here (that is what makes a re-run after a partial failure
/// publish exactly what is missing); another tarball is sorted out by the
/// caller.
fn lenient(opts: &BatchOptions) -> PublishOptions {
    PublishOptions {
        tolerate_republish: true,
        ..opts.publish.clone()
    }
}

/// *preflight* for every authenticated package. A version already on the
/// registry with this tarball is skipped; with another tarball it stops
/// the run unless `--tolerate-republish`.
fn preflight_all(slots: &mut [Slot<'_>], opts: &BatchOptions, env: &Env, printer: &Printer) {
    let lenient = lenient(opts);
    for slot in slots.iter_mut() {
        let (Some(p), Some(a)) = (&slot.prepared, &slot.authenticated) else {
            continue;
        };
        // The preflight's own lines ("Publishing to …") do not name the
        // package: in a workspace run, say which one they are about.
        printer.notice(&format!("{}: the registry's checks", p.spec()));
        match checked(publish::preflight(&lenient, env, p, a, printer), p, opts) {
            Ok(Some(plan)) => slot.plan = Some(plan),
            Ok(None) => slot.row.state = State::AlreadyPublished,
            Err((why, problem)) => {
                slot.row.state = State::NotReady(why);
                slot.row.problem = Some(problem);
            }
        }
    }
    // Nothing ready goes up while another package is not ready.
}

/// A preflight's result as a workspace run takes it: the plan, `None` for
/// a version already there (the same tarball, or any with
/// `--tolerate-republish`), or why the package cannot go.
fn checked(
    result: Result<Checked, PreflightError>,
    p: &Prepared,
    opts: &BatchOptions,
) -> Result<Option<Plan>, (NotReady, Problem)> {
    match result {
        Ok(Checked::Go(plan)) => Ok(Some(plan)),
        Ok(Checked::Already { same_integrity })
            if same_integrity || opts.publish.tolerate_republish =>
        {
            Ok(None)
        }
        Ok(Checked::Already { .. }) => Err((
            NotReady::VersionConflict,
            Problem::from_error(&publish_error(PreflightError::from(
                Published::AlreadyPublished {
                    name: p.package.name.clone(),
                    version: p.package.version.clone(),
                    registry: p.target.registry.to_string(),
                    same_integrity: false,
                },
            ))),
        )),
        Err(e) => {
            let why = match e {
                PreflightError::TrustDowngrade { .. } => NotReady::TrustDowngrade,
                PreflightError::StageNeedsPackage { .. } => NotReady::NewPackage,
                _ => NotReady::Preflight,
            };
            Err((why, Problem::from_error(&publish_error(e))))
        }
    }
}

/// How long a package's exchange and preflight stay fresh before its
/// upload: id tokens and exchanged tokens are short-lived (GitHub's id
/// tokens expire minutes after they are issued, and Fulcio refuses an
/// expired one), so a package authenticated longer ago is authenticated
/// and checked again, one package at a time, right before its upload. Set
/// by `TRUSTPUB_RECHECK_AFTER` (seconds).
pub const RECHECK_AFTER: Duration = Duration::from_secs(240);

fn recheck_after(env: &Env) -> Duration {
    env.get("TRUSTPUB_RECHECK_AFTER")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(RECHECK_AFTER, Duration::from_secs)
}

/// *upload*, wave by wave, up to [`UPLOAD_JOBS`] at a time; after a
/// failure no later wave starts.
fn upload_all(slots: &mut [Slot<'_>], opts: &BatchOptions, env: &Env, printer: &Printer) {
    let waves = slots.iter().map(|s| s.wave).max().map_or(0, |w| w + 1);
    let ctx = UploadCtx {
        opts,
        lenient: lenient(opts),
        env,
        printer,
        recheck: recheck_after(env),
        rechecks: Mutex::new(()),
    };
    let mut failed = false;
    for wave in 0..waves {
        let todo: VecDeque<&mut Slot<'_>> = slots
            .iter_mut()
            .filter(|s| s.wave == wave && s.plan.is_some())
            .collect();
        if failed {
            for s in todo {
                s.row.state = State::NotUploaded;
            }
            continue;
        }
        let jobs = UPLOAD_JOBS.min(todo.len()).max(1);
        let queue = Mutex::new(todo);
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some(slot) = next else { break };
                    // A panic is one package's failure, not the report's.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        upload_one(slot, &ctx)
                    }));
                });
            }
        });
        // Slots whose worker panicked still say `Held`: the upload may or
        // may not have reached the registry.
        for s in slots.iter_mut().filter(|s| s.wave == wave) {
            if s.row.state == State::Held {
                s.row.state = State::Failed;
                s.row.problem = Some(Problem {
                    code: "EPUBLISH".into(),
                    message: "trustpub stopped unexpectedly while uploading this package; whether it reached the registry is unknown".into(),
                    causes: Vec::new(),
                    hint: Some("check the registry for this version, then run again: versions already there are skipped".into()),
                    exit_code: 1,
                });
            }
        }
        failed = slots
            .iter()
            .any(|s| s.wave == wave && s.row.state == State::Failed);
    }
}

/// What every upload needs.
struct UploadCtx<'a> {
    opts: &'a BatchOptions,
    /// The upload's options: an identical version that appeared meanwhile
    /// (a 409 after a race) is already published, not a failure.
    lenient: PublishOptions,
    env: &'a Env,
    printer: &'a Printer,
    recheck: Duration,
    /// Rechecks (a token exchange each) happen one at a time.
    rechecks: Mutex<()>,
}

/// Authenticates (trusted publishing only: a configured token does not
/// expire here) and runs the preflight again for a package whose checks
/// are stale, one package at a time. `false`: the package cannot go.
fn recheck_one(slot: &mut Slot<'_>, ctx: &UploadCtx<'_>) -> bool {
    let _one_at_a_time = ctx.rechecks.lock();
    let Some(p) = &slot.prepared else {
        return false;
    };
    let trusted = slot
        .authenticated
        .as_ref()
        .is_some_and(|a| a.trusted.is_some());
    if trusted {
        match publish::authenticate(&ctx.opts.publish, p, ctx.env, ctx.printer) {
            Ok(a) => {
                slot.authenticated = Some(a);
                slot.authenticated_at = Some(Instant::now());
            }
            Err(e) => {
                slot.row.state = State::Failed;
                slot.row.problem = Some(Problem::from_error(&publish_error(e)));
                return false;
            }
        }
    }
    let Some(a) = &slot.authenticated else {
        return false;
    };
    match checked(
        publish::preflight(&ctx.lenient, ctx.env, p, a, ctx.printer),
        p,
        ctx.opts,
    ) {
        Ok(Some(plan)) => {
            slot.plan = Some(plan);
            true
        }
        Ok(None) => {
            slot.row.state = State::AlreadyPublished;
            false
        }
        Err((_, problem)) => {
            slot.row.state = State::Failed;
            slot.row.problem = Some(problem);
            false
        }
    }
}

/// Signs and uploads one package (the upload stage of a single publish),
/// after checking again what went stale. A publish or postpublish script
/// that fails after the upload leaves the version on the registry: the
/// row says so, with the script's error.
fn upload_one(slot: &mut Slot<'_>, ctx: &UploadCtx<'_>) {
    let stale = slot
        .authenticated_at
        .is_some_and(|t| t.elapsed() >= ctx.recheck);
    if stale {
        slot.plan = None;
        if !recheck_one(slot, ctx) {
            return;
        }
    }
    let (Some(p), Some(a), Some(plan)) = (
        slot.prepared.as_ref(),
        slot.authenticated.as_ref(),
        slot.plan.take(),
    ) else {
        return;
    };
    let sent = publish::sign_provenance(plan, p, &ctx.lenient, ctx.printer).and_then(|made| {
        publish::send(&ctx.lenient, p, a, &made, ctx.printer).map(|outcome| (made, outcome))
    });
    match sent {
        Ok((made, outcome)) => {
            slot.row.state = match outcome {
                Outcome::DryRun => State::DryRun,
                Outcome::AlreadyPublished { .. } => State::AlreadyPublished,
                o => State::Published(o),
            };
            if slot.row.state == State::AlreadyPublished {
                return;
            }
            slot.row.provenance = made.info;
            if let Err(e) = publish::publish_scripts(p, ctx.env, ctx.printer) {
                slot.row.problem = Some(Problem::from_error(&publish_error(e)));
            }
        }
        Err(e) => {
            slot.row.state = State::Failed;
            slot.row.problem = Some(Problem::from_error(&publish_error(e)));
        }
    }
}
