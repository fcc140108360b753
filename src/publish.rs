//! `trustpub publish`: the pipeline, stage by stage, as npm 11.19.1's
//! `lib/commands/publish.js` + libnpmpublish run it.
//!
//! * prepare: config ─▶ manifest ─▶ prepublishOnly ─▶ pack (prepack,
//!   prepare, postpack) ─▶ npm's local refusals ─▶ registry and client
//! * authenticate ([`crate::auth`]): trusted publishing or a token
//! * preflight: packument checks ─▶ provenance checked up to signing
//! * upload: signing ─▶ document ─▶ PUT (retries, verified after failures)
//!   ─▶ publish, postpublish
//! * report
//!
//! Each stage has its own result and error type, and ends before the next
//! begins: a workspace publish can run each for every package first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::auth::{self, AuthError, AuthRequest, Authenticated};
use crate::ci;
use crate::config::{Access, CliConfig, Config, ConfigError, Registry};
use crate::document::{self, DirSource, DocumentError, DocumentOptions, TarballSource};
use crate::env::Env;
use crate::js::truthy_opt;
use crate::manifest::{Manifest, ManifestError};
use crate::pack::{self, FileRecord, Output, PackError, PackOptions, Packed};
use crate::provenance::sign::{self as sigstore, SignError, SigstoreUrls};
use crate::provenance::statement::{self, StatementError};
use crate::provenance::{self as prov, Blocked, FileError, Want};
use crate::registry::{
    self, Auth, Client, Observer, Packument, PackumentVersion, RegistryError, Request, Sent,
};
use crate::scripts::{self, ScriptError};
use crate::secret::Secret;
use crate::semver::Version;
use crate::trust::{self, Mode};
use crate::ui::Printer;
use base64::Engine as _;
use std::collections::HashMap;

/// What `trustpub publish` was asked to do.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// A package directory or a `.tgz` made earlier.
    pub target: PathBuf,
    pub cli: CliConfig,
    pub json: bool,
    /// A version that is already published is not an error (exit 0).
    pub tolerate_republish: bool,
    /// `--trusted-publishing` (or `TRUSTPUB_TRUSTED_PUBLISHING`).
    pub trusted_publishing: Mode,
    /// Where to sign provenance (`--fulcio-url`, `--rekor-url`).
    pub sigstore: SigstoreUrls,
    /// `--offline` (with `--dry-run`): no trusted publishing, no credential
    /// requirement, no packument read, no provenance; said in one line.
    pub offline: bool,
    /// `--allow-trust-downgrade`: publish with a token, or without
    /// provenance, although earlier versions were published through trusted
    /// publishing or with provenance.
    pub allow_trust_downgrade: bool,
    /// The workspace the package belongs to, when the caller found it
    /// already (a workspace run); else it is looked for around the package.
    pub workspace: Option<std::sync::Arc<crate::workspace::Workspace>>,
    /// `--stage`: `npm stage publish`'s request (POST to the stage
    /// endpoint, never retried) instead of the publish PUT.
    pub stage: bool,
}

/// The provenance attached to a publish.
#[derive(Debug, Clone)]
pub struct ProvenanceInfo {
    /// `signed` or `file`.
    pub source: &'static str,
    /// Rekor's log index (signed here).
    pub log_index: Option<u64>,
    /// Lowercase hex SHA-256 of the attached bundle string.
    pub bundle_sha256: String,
}

/// How the publish ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Published,
    /// A timeout or 5xx hid a publish that had in fact been stored.
    PublishedDespiteError,
    DryRun,
    /// `--tolerate-republish`: the version was already there.
    AlreadyPublished {
        same_integrity: bool,
    },
    /// `--stage`: the registry stored the version as staged (not published
    /// until it is approved), under this id when it answered one.
    Staged {
        stage_id: Option<String>,
    },
}

/// Everything the report needs.
#[derive(Debug, Clone)]
pub struct PublishReport {
    pub packed: Packed,
    pub registry: String,
    pub tag: String,
    pub access: Option<Access>,
    /// `trusted-publishing`, `token`, `basic`, `client-certificate` or `none`.
    pub auth: String,
    /// How the publish authenticated, in words, for the final line.
    pub auth_line: String,
    pub trust: TrustReport,
    /// What was attached, if anything.
    pub provenance: Option<ProvenanceInfo>,
    /// `--dry-run`: the statement that would have been signed.
    pub provenance_statement: Option<Value>,
    pub outcome: Outcome,
    /// `--stage` was given.
    pub stage: bool,
}

pub use crate::auth::TrustReport;

/// What can stop a publish: the stage it stopped in, and why.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    #[error(transparent)]
    Upload(#[from] UploadError),
}

impl PublishError {
    pub fn exit_code(&self) -> i32 {
        match self {
            PublishError::Prepare(e) => e.exit_code(),
            PublishError::Auth(e) => e.exit_code(),
            PublishError::Preflight(e) => e.exit_code(),
            PublishError::Upload(e) => e.exit_code(),
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            PublishError::Prepare(e) => e.hint(),
            PublishError::Auth(e) => e.hint(),
            PublishError::Preflight(e) => e.hint(),
            PublishError::Upload(e) => e.hint(),
        }
    }
}

/// What can stop the *prepare* stage (and `doctor`, which runs its first
/// half).
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Boxed: a `ConfigError` is large (on Windows, where paths are
    /// larger, past clippy's `result_large_err` limit).
    #[error(transparent)]
    Config(Box<ConfigError>),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Script(#[from] ScriptError),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("{path} does not exist")]
    TargetMissing { path: PathBuf },
    #[error("cannot read {path}")]
    ReadTarball {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{name} is marked \"private\": true in package.json, so it is never published")]
    Private { name: String },
    #[error("{version} is a prerelease version, and it would become the \"latest\" tag")]
    PrereleaseNeedsTag { version: String },
    #[error("cannot restrict access to the unscoped package {name}")]
    RestrictedUnscoped { name: String },
    #[error("refusing to send credentials over plain HTTP to {url}")]
    Insecure { url: String },
}

impl From<ConfigError> for PrepareError {
    fn from(e: ConfigError) -> Self {
        PrepareError::Config(Box::new(e))
    }
}

impl PrepareError {
    pub fn exit_code(&self) -> i32 {
        match self {
            PrepareError::Config(e) => e.exit_code(),
            PrepareError::Manifest(ManifestError::Unreadable { .. }) => 1,
            PrepareError::ReadTarball { source, .. } if crate::limits::is_refusal(source) => 2,
            PrepareError::ReadTarball { .. } => 1,
            // A tarball or package that cannot be used as given: bad input.
            PrepareError::Document(e) => document_exit_code(e),
            PrepareError::Pack(e) => e.exit_code(),
            PrepareError::Script(e) => e.exit_code(),
            PrepareError::Manifest(_)
            | PrepareError::TargetMissing { .. }
            | PrepareError::Private { .. }
            | PrepareError::PrereleaseNeedsTag { .. }
            | PrepareError::RestrictedUnscoped { .. }
            | PrepareError::Insecure { .. } => 2,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            PrepareError::Config(e) => e.hint(),
            PrepareError::Manifest(e) => e.hint(),
            PrepareError::Pack(e) => e.hint(),
            PrepareError::Script(e) => e.hint(),
            PrepareError::Document(e) => e.hint(),
            PrepareError::TargetMissing { .. } | PrepareError::ReadTarball { .. } => Some("pass a package directory or a .tgz made by npm pack or trustpub pack".into()),
            PrepareError::Private { .. } => Some("remove \"private\": true from package.json to publish it".into()),
            PrepareError::PrereleaseNeedsTag { .. } => Some("publish prereleases under their own tag, for example --tag next (or \"publishConfig\": {\"tag\": \"next\"})".into()),
            PrepareError::RestrictedUnscoped { .. } => Some("only scoped packages (@scope/name) can be restricted; drop --access restricted or scope the name".into()),
            PrepareError::Insecure { .. } => Some("use an https:// registry URL (plain http is only allowed for a registry on this machine)".into()),
        }
    }
}

/// A document that cannot be built from the package as given is bad input.
fn document_exit_code(e: &DocumentError) -> i32 {
    if matches!(e, DocumentError::Unreadable { .. }) {
        1
    } else {
        2
    }
}

/// What can stop the *preflight* stage.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// A dry run could not check what the publish would check.
    #[error("dry run: could not check {what}: {reason}")]
    DryRunUnchecked { what: String, reason: String },
    #[error(transparent)]
    Published(#[from] Published),
    #[error("cannot implicitly apply the \"latest\" tag: {highest} is already published on {registry} and is higher than {version}")]
    LatestDowngrade {
        version: String,
        highest: String,
        registry: String,
    },
    #[error("{name}@{earlier} was published {how}, but this publish would go out {now}: a trust downgrade")]
    TrustDowngrade {
        name: String,
        earlier: String,
        how: &'static str,
        now: String,
    },
    #[error("{name} is not on {registry} yet, and a staged publish needs an existing package")]
    StageNeedsPackage { name: String, registry: String },
    #[error("provenance cannot be made: {0}")]
    ProvenanceBlocked(Blocked),
    #[error(transparent)]
    ProvenanceFile(FileError),
    #[error(transparent)]
    Statement(StatementError),
    #[error(transparent)]
    Sign(#[from] SignFailed),
}

impl PreflightError {
    pub fn exit_code(&self) -> i32 {
        match self {
            PreflightError::DryRunUnchecked { .. }
            | PreflightError::Published(_)
            | PreflightError::TrustDowngrade { .. }
            | PreflightError::StageNeedsPackage { .. } => 1,
            PreflightError::Sign(e) => e.exit_code(),
            PreflightError::LatestDowngrade { .. }
            | PreflightError::ProvenanceBlocked(_)
            | PreflightError::ProvenanceFile(_)
            | PreflightError::Statement(_) => 2,
        }
    }

    pub fn hint(&self) -> Option<String> {
        Some(match self {
            PreflightError::DryRunUnchecked { .. } => "a dry run fails when the publish would fail or could not be checked; fix the registry or network, or add --offline to check only the local side".into(),
            PreflightError::Published(e) => e.hint(),
            PreflightError::LatestDowngrade { .. } => "publish an older line under its own tag, for example --tag v1-maintenance".into(),
            PreflightError::TrustDowngrade { how, .. } => format!(
                "publish from the CI job that published it {how} (fix what made trusted publishing or provenance fail: see above), or pass --allow-trust-downgrade if this is deliberate: installers that refuse trust downgrades (pnpm's trustPolicy: no-downgrade) will refuse this version"
            ),
            PreflightError::StageNeedsPackage { .. } => "publish its first version with a token (npm's documentation: `npm stage` works on existing packages), then stage the versions after it".into(),
            PreflightError::ProvenanceBlocked(b) => b.fix.clone(),
            PreflightError::ProvenanceFile(_) => "make the bundle for this exact tarball (the subject is the package's purl and the tarball's sha512), or drop --provenance-file".into(),
            PreflightError::Statement(_) => "make provenance on GitHub Actions or GitLab CI, or publish without it (--no-provenance)".into(),
            PreflightError::Sign(e) => e.0.hint(),
        })
    }
}

/// What can stop the *upload* stage.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Sign(#[from] SignFailed),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Registry(Box<RegistryError>),
    /// Another upload of the same version won the race (a 409).
    #[error(transparent)]
    Published(#[from] Published),
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// A 403 to the publish of a trusted-publishing token.
    #[error(transparent)]
    TrustedForbidden(Box<RegistryError>),
    /// `--stage`: the stage request failed (it is never retried).
    #[error("{}{error}", if *ambiguous { "staging may or may not have happened: " } else { "" })]
    Stage {
        name: String,
        registry: String,
        /// No clear answer: the registry may have stored it.
        ambiguous: bool,
        /// Authenticated by trusted publishing.
        trusted: bool,
        error: Box<RegistryError>,
    },
}

impl From<RegistryError> for UploadError {
    fn from(e: RegistryError) -> Self {
        UploadError::Registry(Box::new(e))
    }
}

impl UploadError {
    pub fn exit_code(&self) -> i32 {
        match self {
            UploadError::Sign(e) => e.exit_code(),
            UploadError::Document(e) => document_exit_code(e),
            UploadError::Registry(e) if e.is_local() => 2,
            UploadError::Script(e) => e.exit_code(),
            UploadError::Stage { error, .. } if error.is_local() => 2,
            UploadError::Registry(_)
            | UploadError::Published(_)
            | UploadError::TrustedForbidden(_)
            | UploadError::Stage { .. } => 1,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            UploadError::Sign(e) => Some(e.0.hint()),
            UploadError::Document(e) => e.hint(),
            UploadError::Registry(e) => e.hint(),
            UploadError::Published(e) => Some(e.hint()),
            UploadError::Script(e) => e.hint(),
            UploadError::TrustedForbidden(_) => Some(
                "the trusted publisher may allow only staged publishes: run trustpub publish --stage (then approve with npm stage approve <id>), or allow publishing in the package's trusted-publisher settings on the registry".into(),
            ),
            UploadError::Stage { name, registry, ambiguous: true, .. } => Some(format!(
                "the stage request is never sent twice: the registry may have stored it. Run `npm stage list {name}{}` to see whether this version is staged; only if it is not, run trustpub publish --stage again",
                if trust::is_npmjs(registry) { String::new() } else { format!(" --registry {registry}") }
            )),
            UploadError::Stage { trusted: true, error, .. } if error.status() == Some(403) => Some(
                "the trusted publisher may allow direct publishes but not staged ones: allow staged publishing in the package's trusted-publisher settings on the registry, or publish without --stage".into(),
            ),
            UploadError::Stage { error, .. } => error.hint(),
        }
    }
}

/// Signing provenance failed (getting the identity token in the preflight,
/// or signing in the upload).
#[derive(Debug, thiserror::Error)]
#[error("signing provenance failed: {0}")]
pub struct SignFailed(pub Box<SignError>);

impl SignFailed {
    fn exit_code(&self) -> i32 {
        if self.0.is_usage() {
            2
        } else {
            1
        }
    }
}

/// The version is on the registry already: found by the preflight, or
/// published by another upload while this one ran.
#[derive(Debug, thiserror::Error)]
pub enum Published {
    #[error("{name}@{version} is already published on {registry}")]
    AlreadyPublished {
        name: String,
        version: String,
        registry: String,
        same_integrity: bool,
    },
    #[error("{name}@{version} appeared on {registry} with a different integrity while publishing")]
    Conflict {
        name: String,
        version: String,
        registry: String,
    },
}

impl Published {
    pub fn hint(&self) -> String {
        match self {
            Published::AlreadyPublished { same_integrity: true, .. } => "the published tarball is identical to this one; bump \"version\" to publish a change, or pass --tolerate-republish to treat this as success".into(),
            Published::AlreadyPublished { .. } => "a different tarball was published under this version; bump \"version\" in package.json (published versions are immutable)".into(),
            Published::Conflict { .. } => "another publish of the same version raced this one; check the registry and bump the version".into(),
        }
    }
}

/// Prints registry notices and retries as they happen.
pub(crate) struct Report<'a>(pub(crate) &'a Printer);

impl Observer for Report<'_> {
    fn notice(&self, text: &str) {
        self.0.notice(text);
    }

    fn retrying(&self, what: &str, attempt: u32, wait: Duration) {
        self.0.warn(
            "retry",
            &format!("{what}; retry {attempt} in {:.1} s", wait.as_secs_f64()),
        );
    }
}

/// Where a package goes: its registry, its URL there, and the client.
pub struct Target {
    pub registry: Registry,
    /// `npa(name).escapedName`.
    pub escaped: String,
    pub package_url: String,
    pub client: Client,
}

/// The registry for `name` (refused when a credential would go over plain
/// HTTP) and the client for it, its secrets masked and its warnings said.
pub fn connect(
    config: &Config,
    name: &str,
    env: &Env,
    printer: &Printer,
) -> Result<Target, PrepareError> {
    let registry = config.registry_for(name)?;
    let escaped = document::escaped_name(name);
    let package_url = registry.package_url(&escaped);
    if !registry::is_secure(&package_url) {
        return Err(PrepareError::Insecure {
            url: registry.to_string(),
        });
    }
    let client = Client::from_config(ci::user_agent(env), config, env, &registry.url)?;
    for s in client.secrets() {
        printer.mask(&s);
    }
    for w in client.warnings() {
        printer.warn("network", &w);
    }
    Ok(Target {
        registry,
        escaped,
        package_url,
        client,
    })
}

/// A package directory's manifest, as npm prepares it, and the
/// configuration with its publishConfig on top (`publish` and `doctor`).
pub fn read_package(
    dir: &Path,
    base: &Config,
) -> Result<(Manifest, Map<String, Value>, Config), PrepareError> {
    let m = Manifest::read_dir(dir)?;
    let manifest = document::normalize_manifest(&m.raw, &DirSource::new(dir))?;
    let config = base.with_publish_config(&manifest)?;
    Ok((m, manifest, config))
}

/// What is being published, after packing.
pub(crate) struct Package {
    manifest: Map<String, Value>,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) packed: Packed,
    tarball: Vec<u8>,
    dir: Option<PathBuf>,
    script_manifest: Option<Manifest>,
}

/// The *prepare* stage's result: a package packed and checked, its
/// configuration, and where it goes.
pub(crate) struct Prepared {
    pub(crate) package: Package,
    config: Config,
    pub(crate) tag: String,
    access: Option<Access>,
    pub(crate) dry_run: bool,
    /// `--offline` with `--dry-run`.
    offline: bool,
    /// npm's command: `publish`, or `stage` (`--stage`).
    command: &'static str,
    pub(crate) target: Target,
}

impl Prepared {
    /// `name@version`, as the registry files it.
    pub(crate) fn spec(&self) -> String {
        format!("{}@{}", self.package.name, self.package.version)
    }
}

/// The *preflight* stage's result.
pub(crate) enum Checked {
    /// The upload may go ahead, with this provenance.
    Go(Plan),
    /// `--tolerate-republish`: the version is already there.
    Already { same_integrity: bool },
}

/// Runs the whole publish: prepare, authenticate, preflight, upload, report.
/// Each stage ends before the next begins, so a workspace publish can run
/// each one for every package before the first upload.
pub fn publish(
    opts: &PublishOptions,
    env: &Env,
    cwd: &Path,
    printer: &Printer,
) -> Result<PublishReport, PublishError> {
    let prepared = prepare(opts, env, cwd, printer)?;
    let authenticated = authenticate(opts, &prepared, env, printer)?;
    let checked = preflight(opts, env, &prepared, &authenticated, printer)?;
    let (made, outcome) = match checked {
        Checked::Already { same_integrity } => (
            Made::default(),
            Outcome::AlreadyPublished { same_integrity },
        ),
        Checked::Go(plan) => {
            let made = sign_provenance(plan, &prepared, opts, printer)?;
            let outcome = upload(opts, &prepared, &authenticated, &made, env, printer)?;
            (made, outcome)
        }
    };
    Ok(PublishReport {
        stage: opts.stage,
        ..report(prepared, authenticated, made, outcome)
    })
}

/// *authenticate* ([`auth::authenticate`]) for a prepared package.
pub(crate) fn authenticate(
    opts: &PublishOptions,
    prepared: &Prepared,
    env: &Env,
    printer: &Printer,
) -> Result<Authenticated, AuthError> {
    auth::authenticate(&AuthRequest {
        env,
        config: &prepared.config,
        target: &prepared.target,
        name: &prepared.package.name,
        repository: prepared.package.manifest.get("repository"),
        mode: opts.trusted_publishing,
        offline: prepared.offline,
        stage: opts.stage,
        printer,
    })
}

/// *prepare*: the configuration, the manifest, prepublishOnly and the pack,
/// the checks npm makes before any request, and the registry's client.
pub(crate) fn prepare(
    opts: &PublishOptions,
    env: &Env,
    cwd: &Path,
    printer: &Printer,
) -> Result<Prepared, PrepareError> {
    let base = load_config(opts, env, cwd, printer)?;
    prepare_package(&base, opts, env, cwd, printer)
}

/// npm's configuration for this run, its diagnostics said once.
pub(crate) fn load_config(
    opts: &PublishOptions,
    env: &Env,
    cwd: &Path,
    printer: &Printer,
) -> Result<Config, PrepareError> {
    let base = Config::load(env, &opts.cli, cwd)?;
    for d in base.diagnostics() {
        printer.warn("config", &d.to_string());
    }
    if base.dry_run() && opts.offline {
        printer.notice(
            "offline dry run: no network; trusted publishing, the credential, the registry's version checks and provenance signing are not checked",
        );
    }
    Ok(base)
}

/// *prepare* for the package at `opts.target`, with the run's configuration.
pub(crate) fn prepare_package(
    base: &Config,
    opts: &PublishOptions,
    env: &Env,
    cwd: &Path,
    printer: &Printer,
) -> Result<Prepared, PrepareError> {
    let target = crate::manifest::clean_path(&cwd.join(&opts.target));
    let (package, config) = pack_target(&target, base, opts.workspace.as_deref(), env, printer)?;
    // The run's own configuration was said by `load_config`; what this
    // package's publishConfig adds is said here.
    for d in config
        .diagnostics()
        .iter()
        .filter(|d| d.from_publish_config())
    {
        printer.warn("config", &d.to_string());
    }
    let (tag, access, dry_run) = (config.dist_tag(), config.access(), config.dry_run());
    let offline = dry_run && opts.offline;
    check_publishable(&package, &config)?;
    if !opts.json {
        for line in pack::notice_lines(&package.packed, printer.unicode) {
            printer.notice(&line);
        }
    }
    let target = connect(&config, &package.name, env, printer)?;
    Ok(Prepared {
        package,
        config,
        tag,
        access,
        dry_run,
        offline,
        command: if opts.stage { "stage" } else { "publish" },
        target,
    })
}

/// The manifest as npm prepares it, then publishConfig on top of the
/// config, then the package packed. A directory is a package directory;
/// anything else must be a `.tgz` (a regular file: a FIFO or a device is
/// refused as such).
fn pack_target(
    target: &Path,
    base: &Config,
    workspace: Option<&crate::workspace::Workspace>,
    env: &Env,
    printer: &Printer,
) -> Result<(Package, Config), PrepareError> {
    let is_tarball = match std::fs::metadata(target) {
        Ok(m) => !m.is_dir(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PrepareError::TargetMissing {
                path: target.to_path_buf(),
            });
        }
        Err(_) => false,
    };
    let mut package = if is_tarball {
        let bytes =
            crate::limits::read_file(target, crate::limits::TARBALL_MAX).map_err(|source| {
                PrepareError::ReadTarball {
                    path: target.to_path_buf(),
                    source,
                }
            })?;
        let src = TarballSource::new(&bytes)?;
        // Its package.json is checked as a directory's is (same errors, exit 2).
        Manifest::parse(
            src.package_json_bytes()?,
            Path::new("package.json (in the tarball)"),
        )?;
        let raw = src.package_json()?;
        let manifest = document::normalize_manifest(&raw, &src)?;
        let config = base.with_publish_config(&manifest)?;
        let name = manifest.get("name").and_then(Value::as_str);
        // npm refuses a bad --tag first, before prepublishOnly or any pack script.
        config.check_tag(name.unwrap_or_default())?;
        (prepare_tarball(bytes, src, manifest)?, config)
    } else {
        let (m, _, config) = read_package(target, base)?;
        config.check_tag(&m.name)?;
        (
            prepare_directory(target, &config, workspace, env, printer)?,
            config,
        )
    };
    name_as_npm_does(&mut package.0);
    Ok(package)
}

/// The checks npm makes before any upload (and some it leaves to the registry).
fn check_publishable(p: &Package, config: &Config) -> Result<(), PrepareError> {
    if truthy_opt(p.manifest.get("private")) {
        return Err(PrepareError::Private {
            name: p.name.clone(),
        });
    }
    let version = Version::parse(&p.version, true);
    if !config.force() && config.is_default_tag() && version.is_some_and(|v| v.is_prerelease()) {
        return Err(PrepareError::PrereleaseNeedsTag {
            version: p.version.clone(),
        });
    }
    if config.access() == Some(Access::Restricted) && !p.name.starts_with('@') {
        return Err(PrepareError::RestrictedUnscoped {
            name: p.name.clone(),
        });
    }
    Ok(())
}

/// *preflight*: the registry's version checks, then provenance checked up
/// to (not including) signing.
pub(crate) fn preflight(
    opts: &PublishOptions,
    env: &Env,
    p: &Prepared,
    a: &Authenticated,
    printer: &Printer,
) -> Result<Checked, PreflightError> {
    let mut history = registry::TrustHistory::default();
    if let Some(same_integrity) = version_checks(opts, p, a, printer, &mut history)? {
        return Ok(Checked::Already { same_integrity });
    }
    identity_drift(env, p, a, &history, printer);
    let access_word = p
        .access
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| "default".into());
    printer.notice(&format!(
        "{} to {} with tag {} and {access_word} access{}",
        if opts.stage { "Staging" } else { "Publishing" },
        p.target.registry,
        p.config.tag(),
        if p.dry_run { " (dry-run)" } else { "" }
    ));
    // An offline dry run still checks a --provenance-file (a local check).
    if p.offline && p.config.provenance_file().is_none() {
        return Ok(Checked::Go(Plan::Made(Made::default())));
    }
    let observer = Report(printer);
    let plan = plan_provenance(&ProvenanceInputs {
        command: p.command,
        config: &p.config,
        env,
        printer,
        client: &p.target.client,
        observer: &observer,
        name: &p.package.name,
        version: &p.package.version,
        integrity: &p.package.packed.integrity,
        repository: p.package.manifest.get("repository"),
        access_public: p.access == Some(Access::Public),
        trusted: a.trusted.as_deref(),
        would_sign: a.trust.provenance.as_ref().is_some_and(|d| d.would_sign),
        registry: &p.target.registry.url,
        escaped: &p.target.escaped,
        auth: a.auth.as_ref(),
        dry_run: p.dry_run,
        json: opts.json,
    })?;
    // The history could not be read: said, not guessed (npm goes on
    // without the packument too; a dry run has failed already).
    if let Some(reason) = &history.unread {
        if a.trusted.is_none() || !plan.attaches() {
            let now = if a.trusted.is_none() {
                format!("with {}", a.line)
            } else {
                "without provenance".into()
            };
            printer.warn(
                "trust-downgrade",
                &format!(
                    "{}'s earlier versions could not be read ({reason}), so whether this publish, {now}, is a trust downgrade cannot be checked",
                    p.package.name
                ),
            );
        }
    }
    match trust_downgrade(&history, p, a, &plan) {
        Err(e) if opts.allow_trust_downgrade => printer.warn(
            "trust-downgrade",
            &format!("{e}; going ahead (--allow-trust-downgrade)"),
        ),
        other => other?,
    }
    Ok(Checked::Go(plan))
}

/// Identity drift: when trusted publishing worked and the latest version
/// carries provenance, a notice if this job's repository is not the one
/// that published it (renamed, transferred, recreated, another
/// repository). The exchange worked, so the trusted publisher already
/// matches this job: the notice says what changed and only the advice that
/// still applies (package.json `repository`; who owns a recreated or other
/// repository). A notice too when the provenance could not be read. Never
/// stops the publish.
fn identity_drift(
    env: &Env,
    p: &Prepared,
    a: &Authenticated,
    history: &registry::TrustHistory,
    printer: &Printer,
) {
    let (Some(success), Some(latest)) = (&a.trusted, &history.latest) else {
        return;
    };
    let Some(current) = success
        .claims
        .as_ref()
        .and_then(|c| trust::drift::from_claims(c, success.provider, env))
    else {
        return;
    };
    let name = &p.package.name;
    let registry = &p.target.registry.url;
    match trust::drift::published(&p.target.client, registry, name, latest) {
        trust::drift::Published::Found { version, identity } => {
            if let Some(d) = trust::drift::compare(&identity, &current, &version) {
                let mut text = d.matched_message(name, "this version comes from");
                if let Some(advice) = d.matched_advice(name, p.package.manifest.get("repository")) {
                    text.push_str(&format!("\nto do: {advice}"));
                }
                printer.lines(crate::ui::Level::Notice, "identity-drift", &text);
            }
        }
        other => {
            if let Some(n) = other.notice(name) {
                printer.notice(&n);
            }
        }
    }
}

/// The rule of [`trust_downgrade`] from what it reads: `trusted`, this
/// publish authenticates through trusted publishing (else it goes out
/// `now_without_trusted`, "with a token"…); `attaches`, it attaches
/// provenance. `doctor` asks it with the same inputs it decides in the job.
pub(crate) fn downgrade_rule(
    history: &registry::TrustHistory,
    name: &str,
    version: &str,
    trusted: bool,
    now_without_trusted: &str,
    attaches: bool,
    staged: bool,
) -> Result<(), PreflightError> {
    let downgrade = |earlier: &String, how: &'static str, now: String| {
        Err(PreflightError::TrustDowngrade {
            name: name.to_string(),
            earlier: earlier.clone(),
            how,
            now,
        })
    };
    let (earlier_trusted, earlier_provenance, earlier_staged) = history.for_version(version);
    // pnpm's strongest evidence: a version staged and approved by a
    // maintainer; a publish that is not staged after it is a downgrade.
    if let (Some(v), false) = (earlier_staged, staged) {
        return downgrade(
            v,
            "through a staged publish a maintainer approved",
            "without staging (publish --stage)".into(),
        );
    }
    if let (Some(v), false) = (earlier_trusted, trusted) {
        return downgrade(v, "through trusted publishing", now_without_trusted.into());
    }
    if let (Some(v), false) = (earlier_provenance, attaches) {
        return downgrade(v, "with provenance", "without provenance".into());
    }
    Ok(())
}

/// No silent trust downgrade: when earlier versions went out through
/// trusted publishing, or with provenance, this one must too
/// ([`downgrade_rule`], which `doctor` asks too).
fn trust_downgrade(
    history: &registry::TrustHistory,
    p: &Prepared,
    a: &Authenticated,
    plan: &Plan,
) -> Result<(), PreflightError> {
    let attaches = plan.attaches();
    downgrade_rule(
        history,
        &p.package.name,
        &p.package.version,
        a.trusted.is_some(),
        &format!("with {}", a.line),
        attaches,
        p.command == "stage",
    )
}

/// The registry's view of the package: is this version new, and would the
/// default tag move backwards (npm skips the checks with --force). A dry
/// run that cannot read the packument fails: the checks could not be made.
/// `Some(same_integrity)`: already published, tolerated.
fn version_checks(
    opts: &PublishOptions,
    p: &Prepared,
    a: &Authenticated,
    printer: &Printer,
    history: &mut registry::TrustHistory,
) -> Result<Option<bool>, PreflightError> {
    let (config, registry) = (&p.config, &p.target.registry);
    let packument = if p.offline {
        None
    } else if p.dry_run && !config.force() {
        read_packument_as(
            &p.target.client,
            &p.target.package_url,
            a.auth.as_ref(),
            &p.spec(),
            Some(&config.auth_type()),
            p.command,
        )
        .map_err(|e| PreflightError::DryRunUnchecked {
            what: format!("the published versions of {}", p.package.name),
            reason: e.describe(&p.target.package_url),
        })?
    } else {
        fetch_packument_noting(p, a, printer).unwrap_or_else(|reason| {
            history.unread = Some(reason);
            None
        })
    };
    if let Some(k) = &packument {
        *history = k.trust_history();
    }
    // npm 11.19.1's documentation: `npm stage` needs an existing package.
    if p.command == "stage" && !p.offline && packument.is_none() && history.unread.is_none() {
        return Err(PreflightError::StageNeedsPackage {
            name: p.package.name.clone(),
            registry: registry.to_string(),
        });
    }
    if config.force() {
        return Ok(None);
    }
    let Some(existing) = packument.as_ref().and_then(|p| p.versions.as_ref()) else {
        return Ok(None);
    };
    let (name, version) = (&p.package.name, &p.package.version);
    if let Some(v) = existing.get(version) {
        let same = v.integrity() == Some(p.package.packed.integrity.as_str());
        if opts.tolerate_republish {
            printer.notice(&format!(
                "{} is already published on {registry}; {}",
                p.spec(),
                if same {
                    "the published tarball is identical to this one"
                } else {
                    "the published tarball differs from this one (its integrity does not match)"
                }
            ));
            return Ok(Some(same));
        }
        return Err(Published::AlreadyPublished {
            name: name.clone(),
            version: version.clone(),
            registry: registry.to_string(),
            same_integrity: same,
        }
        .into());
    }
    if config.is_default_tag() {
        if let (Some(ours), Some(highest)) =
            (Version::parse(version, true), highest_stable(existing))
        {
            if highest >= ours {
                return Err(PreflightError::LatestDowngrade {
                    version: version.clone(),
                    highest: highest.to_string(),
                    registry: registry.to_string(),
                });
            }
        }
    }
    Ok(None)
}

/// *upload*: the document, the PUT (never in a dry run), then the publish
/// and postpublish scripts.
pub(crate) fn upload(
    opts: &PublishOptions,
    p: &Prepared,
    a: &Authenticated,
    made: &Made,
    env: &Env,
    printer: &Printer,
) -> Result<Outcome, UploadError> {
    let outcome = send(opts, p, a, made, printer)?;
    if !matches!(outcome, Outcome::AlreadyPublished { .. }) {
        publish_scripts(p, env, printer)?;
    }
    Ok(outcome)
}

/// The document and the PUT (none in a dry run): the part of the upload
/// after which the version is on the registry.
pub(crate) fn send(
    opts: &PublishOptions,
    p: &Prepared,
    a: &Authenticated,
    made: &Made,
    printer: &Printer,
) -> Result<Outcome, UploadError> {
    let package = &p.package;
    // `package.manifest` is already normalised (as npm hands the prepared
    // manifest to libnpmpublish); normalising it again would move `_id`.
    let body = document::build_from_normalized(
        package.manifest.clone(),
        &package.tarball,
        &package.packed.integrity,
        &package.packed.shasum,
        &DocumentOptions {
            registry: &p.target.registry.url,
            tag: &p.tag,
            access: p.access.map(Access::as_str),
            provenance_bundle: made.bundle.as_ref(),
        },
    )?;
    Ok(if p.dry_run {
        Outcome::DryRun
    } else if opts.stage {
        stage(p, a, &document::to_wire(&body), printer)?
    } else {
        put(opts, p, a, &document::to_wire(&body), printer)?
    })
}

/// npm's `publish` and `postpublish` scripts, after the upload.
pub(crate) fn publish_scripts(
    p: &Prepared,
    env: &Env,
    printer: &Printer,
) -> Result<(), UploadError> {
    if let (Some(dir), Some(m)) = (&p.package.dir, &p.package.script_manifest) {
        if !p.config.ignore_scripts() {
            let shell = p.config.script_shell();
            scripts::run(dir, m, "publish", &[], shell.as_deref(), env, printer)?;
            scripts::run(dir, m, "postpublish", &[], shell.as_deref(), env, printer)?;
        }
    }
    Ok(())
}

/// `npm stage publish`'s request (libnpmpublish with `opts.stage`): the
/// same document POSTed to `/-/stage/package/<escaped name>` with
/// `npm-command: stage`, and the `stageId` read from the answer. Sent
/// once: make-fetch-happen never retries a POST, and a POST that may have
/// been stored must not be sent twice (a second one could stage a second
/// copy). An answer that is not a success, or none, is the error; the hint
/// says when the outcome is unknown.
fn stage(
    p: &Prepared,
    a: &Authenticated,
    wire: &[u8],
    printer: &Printer,
) -> Result<Outcome, UploadError> {
    let mut headers: Vec<(&'static str, String)> = vec![
        ("content-type", "application/json".into()),
        ("accept", "*/*".into()),
        ("npm-command", "stage".into()),
        ("npm-auth-type", p.config.auth_type()),
    ];
    if let Some(otp) = p.config.otp() {
        headers.push(("npm-otp", otp.expose().clone()));
    }
    let req = Request {
        method: "POST",
        url: stage_url(&p.target),
        headers,
        body: Some(wire),
        auth: a.auth.as_ref(),
        spec: p.spec(),
    };
    match p.target.client.send_once_only(&req, &Report(printer)) {
        Ok(resp) => {
            let stage_id = serde_json::from_slice::<Value>(&resp.body)
                .ok()
                .and_then(|v| v.get("stageId").and_then(Value::as_str).map(str::to_string));
            Ok(Outcome::Staged { stage_id })
        }
        Err(e) => Err(UploadError::Stage {
            ambiguous: stage_unclear(&e),
            trusted: a.trusted.is_some(),
            name: p.package.name.clone(),
            registry: p.target.registry.to_string(),
            error: Box::new(e),
        }),
    }
}

/// Where `npm stage publish` sends a package: `<registry>/-/stage/package/<escaped>`.
pub(crate) fn stage_url(t: &Target) -> String {
    t.registry
        .package_url(&format!("-/stage/package/{}", t.escaped))
}

/// Whether a failed stage request may have been stored all the same: no
/// answer (a timeout, a cut connection), a 5xx, or a redirect.
fn stage_unclear(e: &RegistryError) -> bool {
    match e {
        RegistryError::Http(h) => !h.is_local(),
        RegistryError::Status { status, .. } => {
            *status >= 500 || *status == 408 || (300..400).contains(status)
        }
        RegistryError::Redirected { .. } => true,
    }
}

/// The PUT, with npm's retries; after a failure, the registry is asked
/// whether the version arrived anyway.
fn put(
    opts: &PublishOptions,
    p: &Prepared,
    a: &Authenticated,
    wire: &[u8],
    printer: &Printer,
) -> Result<Outcome, UploadError> {
    let (spec, registry) = (p.spec(), &p.target.registry);
    let mut headers: Vec<(&'static str, String)> = vec![
        ("content-type", "application/json".into()),
        ("accept", "*/*".into()),
        ("npm-command", "publish".into()),
        ("npm-auth-type", p.config.auth_type()),
    ];
    if let Some(otp) = p.config.otp() {
        headers.push(("npm-otp", otp.expose().clone()));
    }
    let req = Request {
        method: "PUT",
        url: p.target.package_url.clone(),
        headers,
        body: Some(wire),
        auth: a.auth.as_ref(),
        spec: spec.clone(),
    };
    // Whether the registry now has this version: with this tarball
    // (`Some(true)`), another one (`Some(false)`), or not at all.
    let published = || -> Option<bool> {
        fetch_packument(p, a, printer)
            .as_ref()
            .and_then(|k| published_version(k, &p.package.version))
            .map(|v| v.integrity() == Some(p.package.packed.integrity.as_str()))
    };
    let check = || published() == Some(true);
    let sent = match p
        .target
        .client
        .send_checked(&req, &Report(printer), Some(&check))
    {
        // A 409: the version appeared since the check above (another
        // publish won the race). Identical is success with
        // --tolerate-republish, as it is before the upload.
        Err(e) if e.status() == Some(409) => {
            let (name, version) = (p.package.name.clone(), p.package.version.clone());
            return match published() {
                Some(true) if opts.tolerate_republish => {
                    printer.notice(&format!(
                        "{spec} was published on {registry} by another upload while this one ran (409); the published tarball is identical to this one"
                    ));
                    Ok(Outcome::AlreadyPublished {
                        same_integrity: true,
                    })
                }
                Some(true) => Err(Published::AlreadyPublished {
                    name,
                    version,
                    registry: registry.to_string(),
                    same_integrity: true,
                }
                .into()),
                Some(false) => Err(Published::Conflict {
                    name,
                    version,
                    registry: registry.to_string(),
                }
                .into()),
                None => Err(e.into()),
            };
        }
        Err(e) if e.status() == Some(403) && a.trusted.is_some() => {
            return Err(UploadError::TrustedForbidden(Box::new(e)));
        }
        other => other?,
    };
    Ok(match sent {
        Sent::Answered(_) => Outcome::Published,
        Sent::FoundAfterFailure => {
            printer.notice(&format!(
                "the upload did not get a clear success answer (a timeout, a connection error, a 5xx, a redirect, or an error after one of these), but {spec} is on the registry with this tarball's integrity: the publish succeeded"
            ));
            Outcome::PublishedDespiteError
        }
    })
}

/// *report*: what the publish did. A version found already published
/// attached no provenance.
pub(crate) fn report(p: Prepared, a: Authenticated, made: Made, outcome: Outcome) -> PublishReport {
    let made = match outcome {
        Outcome::AlreadyPublished { .. } => Made::default(),
        _ => made,
    };
    PublishReport {
        packed: p.package.packed,
        registry: p.target.registry.to_string(),
        tag: p.tag,
        access: p.access,
        auth: a.kind.to_string(),
        auth_line: a.line,
        trust: a.trust,
        provenance: made.info,
        provenance_statement: made.statement,
        outcome,
        stage: false,
    }
}

/// What [`plan_provenance`] needs.
struct ProvenanceInputs<'a> {
    config: &'a Config,
    env: &'a Env,
    printer: &'a Printer,
    client: &'a Client,
    observer: &'a dyn Observer,
    name: &'a str,
    version: &'a str,
    /// `sha512-<base64>` of the tarball.
    integrity: &'a str,
    repository: Option<&'a Value>,
    access_public: bool,
    trusted: Option<&'a trust::Success>,
    /// Trusted publishing's decision: npm would sign.
    would_sign: bool,
    registry: &'a str,
    escaped: &'a str,
    auth: Option<&'a Auth>,
    /// `npm-command`: `publish`, or `stage` for `--stage`.
    command: &'static str,
    dry_run: bool,
    json: bool,
}

/// What the provenance attached to a publish is.
#[derive(Default)]
pub(crate) struct Made {
    bundle: Option<Value>,
    pub(crate) info: Option<ProvenanceInfo>,
    statement: Option<Value>,
}

/// Provenance after the preflight: made (or none, or a dry run's
/// statement), or checked and ready to be signed in the upload stage.
pub(crate) enum Plan {
    Made(Made),
    Sign {
        statement: Value,
        identity: Secret<String>,
        purl: String,
    },
}

impl Plan {
    /// Whether the publish goes out with provenance (signed, attached, or a
    /// dry run's statement).
    fn attaches(&self) -> bool {
        match self {
            Plan::Sign { .. } => true,
            Plan::Made(m) => m.bundle.is_some() || m.statement.is_some(),
        }
    }
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// What npm would do about provenance, from the configuration and
/// trusted publishing's decision.
fn wanted_provenance(c: &Config, would_sign: bool) -> Want {
    let configured = if !c.is_default("provenance") {
        Some(c.provenance())
    } else if c.provenance() {
        // publishConfig.provenance: true reaches libnpmpublish as an option.
        Some(true)
    } else {
        None
    };
    Want::decide(configured, c.provenance_file(), would_sign)
}

/// Whether this publish would set out to attach provenance (the first
/// step of [`plan_provenance`]: [`wanted_provenance`] is not `Off`).
/// `false`: it goes out without, which [`trust_downgrade`] refuses after
/// versions with provenance; `doctor` asks it for its trust-history check.
pub(crate) fn wants_provenance(c: &Config, would_sign: bool) -> bool {
    !matches!(wanted_provenance(c, would_sign), Want::Off)
}

/// Provenance as npm makes it: `--provenance-file` is checked and attached;
/// `--provenance` (or npm's automatic rule under trusted publishing) is
/// checked before anything reaches the transparency log, and signed later
/// ([`sign_provenance`]). Automatic provenance that cannot be made is
/// skipped with one line; explicit provenance fails with the fix.
fn plan_provenance(i: &ProvenanceInputs<'_>) -> Result<Plan, PreflightError> {
    let sha512_hex = i
        .integrity
        .strip_prefix("sha512-")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(hex::encode)
        .unwrap_or_default();
    let purl = statement::purl(i.name, i.version);
    let explicit = match wanted_provenance(i.config, i.would_sign) {
        Want::Off => return Ok(Plan::Made(Made::default())),
        Want::File(path) => return attach_file(i, &path, &purl, &sha512_hex).map(Plan::Made),
        Want::Explicit => true,
        Want::Auto => false,
    };
    let skip_or_fail = |b: Blocked| -> Result<Plan, PreflightError> {
        if explicit {
            Err(PreflightError::ProvenanceBlocked(b))
        } else {
            i.printer
                .notice(&format!("provenance: skipped: {} ({})", b.reason, b.fix));
            Ok(Plan::Made(Made::default()))
        }
    };
    let provider = ci::detect(i.env);
    // The statement first: it is what a dry run shows.
    let built = match provider {
        Some(p) => statement::statement(i.env, p, i.name, i.version, &sha512_hex),
        None => Err(StatementError::UnsupportedProvider { provider: "null" }),
    };
    let st = match built {
        Ok(st) => st,
        Err(e) if explicit => return Err(PreflightError::Statement(e)),
        Err(e) => {
            return skip_or_fail(Blocked {
                reason: e.to_string(),
                fix: "publish from GitHub Actions or GitLab CI to get provenance".into(),
            })
        }
    };
    // The signing identity, whose claims the preflight reads (in a dry run,
    // the trusted-publishing claims stand in: nothing is fetched to sign).
    let identity = match signing_identity(i, provider, explicit)? {
        Ok(identity) => identity,
        Err(b) => return skip_or_fail(b),
    };
    let identity_claims = identity
        .as_ref()
        .and_then(|t| crate::oidc::decode_claims(t).ok())
        .or_else(|| i.trusted.and_then(|s| s.claims.clone()));
    if let Err(b) = prov::preflight(
        i.env,
        provider,
        i.repository,
        identity_claims.as_ref(),
        i.access_public,
        || {
            crate::oidc::package_visibility(
                i.client,
                i.registry,
                i.escaped,
                i.auth,
                &i.config.auth_type(),
                i.command,
            )
        },
    ) {
        return skip_or_fail(b);
    }
    // No identity: a dry run, which shows the statement and signs nothing.
    let Some(identity) = identity else {
        if !i.json {
            i.printer.notice(
                "provenance: the statement that would be signed (dry run: nothing is signed):",
            );
            let pretty = serde_json::to_string_pretty(&st).unwrap_or_default();
            for line in pretty.lines() {
                i.printer.notice(line);
            }
        }
        return Ok(Plan::Made(Made {
            statement: Some(st),
            ..Made::default()
        }));
    };
    Ok(Plan::Sign {
        statement: st,
        identity,
        purl,
    })
}

/// `--provenance-file`: the bundle checked against this tarball, attached.
fn attach_file(
    i: &ProvenanceInputs<'_>,
    path: &Path,
    purl: &str,
    sha512_hex: &str,
) -> Result<Made, PreflightError> {
    let bundle = prov::check_provenance_file(path, purl, sha512_hex)
        .map_err(PreflightError::ProvenanceFile)?;
    let text = String::from_utf8(document::to_wire(&bundle)).unwrap_or_default();
    i.printer.notice(&format!(
        "provenance: attaching the bundle from {} (its subject is {purl} with this tarball's sha512)",
        path.display()
    ));
    Ok(Made {
        info: Some(ProvenanceInfo {
            source: "file",
            log_index: bundle
                .pointer("/verificationMaterial/tlogEntries/0/logIndex")
                .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64())),
            bundle_sha256: sha256_hex(&text),
        }),
        bundle: Some(bundle),
        statement: None,
    })
}

/// The id token provenance is signed with (none in a dry run), or why it
/// cannot be had (`Ok(Err(_))`: skipped unless provenance was asked for).
fn signing_identity(
    i: &ProvenanceInputs<'_>,
    provider: Option<ci::Provider>,
    explicit: bool,
) -> Result<Result<Option<Secret<String>>, Blocked>, PreflightError> {
    if i.dry_run {
        return Ok(Ok(None));
    }
    if let Err(b) = prov::preflight_identity(i.env, provider) {
        return Ok(Err(b));
    }
    match sigstore::identity_token(
        i.env,
        provider.unwrap_or(ci::Provider::GitHubActions),
        i.client,
        i.observer,
    ) {
        Ok(t) => {
            i.printer.mask(&t);
            Ok(Ok(Some(t)))
        }
        Err(e) if explicit => Err(SignFailed(Box::new(e)).into()),
        Err(e) => Ok(Err(Blocked {
            reason: e.to_string(),
            fix: e.hint(),
        })),
    }
}

/// Signs a planned statement: Fulcio's certificate, the DSSE envelope,
/// Rekor's entry, the bundle (the upload stage's first step).
pub(crate) fn sign_provenance(
    plan: Plan,
    p: &Prepared,
    opts: &PublishOptions,
    printer: &Printer,
) -> Result<Made, UploadError> {
    let (statement, identity, purl) = match plan {
        Plan::Made(made) => return Ok(made),
        Plan::Sign {
            statement,
            identity,
            purl,
        } => (statement, identity, purl),
    };
    let urls = &opts.sigstore;
    let payload = statement::statement_bytes(&statement);
    let signed = sigstore::sign(
        &payload,
        "application/vnd.in-toto+json",
        &identity,
        urls,
        &p.target.client,
        &Report(printer),
    )
    .map_err(|e| SignFailed(Box::new(e)))?;
    let text = sigstore::bundle_string(&signed);
    printer.notice(&format!(
        "provenance: signed the statement for {purl} with a certificate from {} and recorded it in {}: {}",
        urls.fulcio,
        urls.rekor,
        sigstore::transparency_log_url(&signed)
    ));
    Ok(Made {
        info: Some(ProvenanceInfo {
            source: "signed",
            log_index: Some(signed.log_index),
            bundle_sha256: sha256_hex(&text),
        }),
        bundle: Some(signed.json),
        statement: None,
    })
}

/// The highest published version that is neither a prerelease nor deprecated.
fn highest_stable(versions: &HashMap<String, PackumentVersion>) -> Option<Version> {
    versions
        .iter()
        .filter(|(_, doc)| !truthy_opt(doc.deprecated.as_ref()))
        .filter_map(|(v, _)| Version::parse(v, true))
        .filter(|v| !v.is_prerelease())
        .max()
}

/// Why a packument could not be read.
#[derive(Debug)]
pub enum PackumentError {
    /// The registry answered 200 with a body that is not a packument.
    Invalid,
    /// Neither 200 nor 404.
    Status(u16),
    /// No answer (a transport failure, retries exhausted).
    Failed(String),
}

impl PackumentError {
    /// In words, for publish's warning and a dry run's error.
    pub fn describe(&self, url: &str) -> String {
        match self {
            PackumentError::Invalid => format!("the packument at {url} is not valid JSON"),
            PackumentError::Status(s) => format!("GET {url} answered {s}"),
            PackumentError::Failed(e) => e.clone(),
        }
    }
}

/// The one packument read (publish's version checks, the upload's re-check
/// and `doctor`): the packument, `None` for a 404, or why it could not be
/// read. `auth_type` is the `npm-auth-type` header, when one is sent.
pub fn read_packument(
    client: &Client,
    url: &str,
    auth: Option<&Auth>,
    spec: &str,
    auth_type: Option<&str>,
) -> Result<Option<Packument>, PackumentError> {
    read_packument_as(client, url, auth, spec, auth_type, "publish")
}

/// [`read_packument`] for npm's `command` (`publish`, or `stage` for a
/// staged publish: npm-registry-fetch's `npm-command` header names it).
fn read_packument_as(
    client: &Client,
    url: &str,
    auth: Option<&Auth>,
    spec: &str,
    auth_type: Option<&str>,
    command: &str,
) -> Result<Option<Packument>, PackumentError> {
    let mut req = registry::packument_request(url, auth, spec, auth_type);
    for (name, value) in req.headers.iter_mut() {
        if *name == "npm-command" {
            *value = command.to_string();
        }
    }
    match client.send_once(&req) {
        Ok(r) if r.status == 200 => Packument::parse(&r.body)
            .map(Some)
            .ok_or(PackumentError::Invalid),
        Ok(r) if r.status == 404 => Ok(None),
        Ok(r) => Err(PackumentError::Status(r.status)),
        Err(e) => Err(PackumentError::Failed(e.to_string())),
    }
}

/// A version in a packument, if published.
pub fn published_version<'p>(p: &'p Packument, version: &str) -> Option<&'p PackumentVersion> {
    p.versions.as_ref()?.get(version)
}

/// The packument, or `None` when there is none (404) or it cannot be read
/// (npm treats any error as "no versions"; we say so).
fn fetch_packument(p: &Prepared, a: &Authenticated, printer: &Printer) -> Option<Packument> {
    fetch_packument_noting(p, a, printer).unwrap_or_else(|_| None)
}

/// [`fetch_packument`], with why it could not be read as the error.
fn fetch_packument_noting(
    p: &Prepared,
    a: &Authenticated,
    printer: &Printer,
) -> Result<Option<Packument>, String> {
    let url = &p.target.package_url;
    read_packument_as(
        &p.target.client,
        url,
        a.auth.as_ref(),
        &p.spec(),
        Some(&p.config.auth_type()),
        p.command,
    )
    .map_err(|e| {
        printer.warn(
            "publish",
            &format!("{}; skipping the version checks", e.describe(url)),
        );
        e.describe(url)
    })
}

/// npm names the package by its prepared manifest, not by package.json as
/// written: the `--json` record takes `_id`, `version` and the file name from
/// it (`=v1.2.3` and `v3.0.0` become `1.2.3` and `3.0.0`), and the registry
/// files the version under libnpmpublish's `semver.clean` of it, so the
/// version checks and the packument look-ups after a failed upload must use
/// that too.
fn name_as_npm_does(p: &mut Package) {
    let version = p
        .manifest
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or(&p.version)
        .to_string();
    p.packed.id = p
        .manifest
        .get("_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}@{version}", p.name));
    p.packed.filename = crate::manifest::tarball_file_name(&p.name, &version);
    p.packed.version = version.clone();
    p.version = crate::semver::clean(&version, false).unwrap_or(version);
}

/// A directory: prepublishOnly, then pack in memory (prepack, prepare,
/// postpack), then the manifest read again, as npm does.
fn prepare_directory(
    dir: &Path,
    config: &Config,
    workspace: Option<&crate::workspace::Workspace>,
    env: &Env,
    printer: &Printer,
) -> Result<Package, PrepareError> {
    let first = Manifest::read_dir(dir)?;
    // The package.json of a pnpm/yarn/bun workspace member as its manager
    // publishes it (workspace::rewrite), the registry's manifest too; an npm
    // workspace's `workspace:` ranges are refused before any script runs.
    let rewritten =
        crate::workspace::rewrite::for_package_in(dir, workspace).map_err(PackError::from)?;
    if let Some(r) = &rewritten {
        printer.notice(&r.notice());
    }
    if !config.ignore_scripts() {
        let shell = config.script_shell();
        scripts::run(
            dir,
            &first,
            "prepublishOnly",
            &[],
            shell.as_deref(),
            env,
            printer,
        )?;
    }
    let packed = pack::pack(
        dir,
        &PackOptions {
            output: Output::Memory,
            ignore_scripts: config.pack_ignore_scripts(),
            script_shell: config.pack_script_shell(),
            threads: 0,
            package_json: rewritten.as_ref().map(|r| r.bytes.clone()),
        },
        env,
        printer,
    )?;
    let m = Manifest::read_dir(dir)?;
    let raw = rewritten.map_or_else(|| m.raw.clone(), |r| r.manifest);
    let manifest = document::normalize_manifest(&raw, &DirSource::new(dir))?;
    let mut packed = packed;
    let tarball = packed.bytes.take().unwrap_or_default();
    Ok(Package {
        manifest,
        name: m.name.clone(),
        version: m.version.clone(),
        packed,
        tarball,
        dir: Some(dir.to_path_buf()),
        script_manifest: Some(m),
    })
}

/// A `.tgz` made earlier: its own package.json; no scripts run.
fn prepare_tarball(
    bytes: Vec<u8>,
    src: TarballSource,
    manifest: Map<String, Value>,
) -> Result<Package, PrepareError> {
    let raw = src.package_json()?;
    let checked = Manifest::parse(
        &serde_json::to_vec(&raw).unwrap_or_default(),
        Path::new("package.json (in the tarball)"),
    )?;
    let (shasum, integrity) = pack::digests(&bytes);
    let entries: Vec<FileRecord> = src
        .entries
        .iter()
        .map(|(path, size, mode)| FileRecord {
            path: path.strip_prefix("package/").unwrap_or(path).to_string(),
            size: *size,
            mode: *mode,
        })
        .collect();
    let packed = pack::record(
        &checked.name,
        &checked.version,
        entries,
        bytes.len() as u64,
        shasum,
        integrity,
    );
    Ok(Package {
        manifest,
        name: checked.name,
        version: checked.version,
        packed,
        tarball: bytes,
        dir: None,
        script_manifest: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> RegistryError {
        RegistryError::Status {
            status,
            reason: String::new(),
            method: "POST".into(),
            url: "https://r/-/stage/package/x".into(),
            registry_message: None,
            spec: "x@1.0.0".into(),
            www_authenticate: None,
            auth_url: None,
            done_url: None,
            authenticated: true,
        }
    }

    #[test]
    fn a_stage_answer_is_unclear_only_when_it_may_have_been_stored() {
        for s in [500, 502, 503, 408, 302, 307] {
            assert!(stage_unclear(&status(s)), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422, 429] {
            assert!(!stage_unclear(&status(s)), "{s}");
        }
        let cut = RegistryError::Http(crate::http::HttpError::Transport {
            method: "POST".into(),
            url: "https://r/".into(),
            message: "timed out".into(),
            attempts: 1,
        });
        assert!(stage_unclear(&cut));
    }

    #[test]
    fn packuments_are_read_for_versions_integrity_and_deprecation() {
        let body = br#"{"name":"x","dist-tags":{"latest":"1.0.0"},"readme":"big",
            "versions":{"1.0.0":{"name":"x","dist":{"integrity":"sha512-a","tarball":"t"}},
                        "2.0.0":{"dist":{"integrity":"sha512-b"},"deprecated":"use 3"},
                        "1.5.0-beta.1":{"dist":{}}},
            "time":{"1.0.0":"2020-01-01T00:00:00Z"}}"#;
        let p = Packument::parse(body).unwrap();
        let v = p.versions.as_ref().unwrap();
        assert_eq!(v["1.0.0"].integrity(), Some("sha512-a"));
        assert_eq!(v["1.5.0-beta.1"].integrity(), None);
        // 2.0.0 is deprecated and 1.5.0-beta.1 a prerelease.
        assert_eq!(
            highest_stable(v).map(|v| v.to_string()).as_deref(),
            Some("1.0.0")
        );
    }

    #[test]
    fn odd_packuments_are_read_leniently() {
        // A version that is not an object, a dist that is a string, an
        // integrity that is a number: no version, no integrity, as npm.
        let p = Packument::parse(
            br#"{"versions":{"1.0.0":"gone","1.1.0":{"dist":"x"},"1.2.0":{"dist":{"integrity":5}}}}"#,
        )
        .unwrap();
        let v = p.versions.as_ref().unwrap();
        assert!(!v.contains_key("1.0.0"));
        assert_eq!(v["1.1.0"].integrity(), None);
        assert_eq!(v["1.2.0"].integrity(), None);
        let p = Packument::parse(br#"{"versions":[1,2]}"#).unwrap();
        assert!(p.versions.is_none());
        assert!(Packument::parse(b"not json").is_none());
    }
}
