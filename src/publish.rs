//! `trustpub publish`: the pipeline, stage by stage, as npm 11.19.1's
//! `lib/commands/publish.js` + libnpmpublish run it.
//!
//! config ─▶ manifest ─▶ prepublishOnly ─▶ pack (prepack, prepare, postpack)
//! ─▶ checks ─▶ credential ─▶ packument checks ─▶ document ─▶ PUT (retries,
//! verified after failures) ─▶ publish, postpublish ─▶ report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::ci;
use crate::config::{Access, CliConfig, Config, ConfigDiagnostic, ConfigError, CredentialLookup};
use crate::document::{self, DirSource, DocumentError, DocumentOptions, TarballSource};
use crate::env::Env;
use crate::js::truthy_opt;
use crate::manifest::{Manifest, ManifestError};
use crate::pack::{self, FileRecord, Output, PackError, PackOptions, Packed};
use crate::provenance::sign::{self as sigstore, SignError, SigstoreUrls};
use crate::provenance::statement::{self, StatementError};
use crate::provenance::{self as prov, Blocked, FileError, Want};
use crate::registry::{
    self, Auth, AuthKind, Client, Observer, Packument, PackumentVersion, RegistryError, Request,
    Sent,
};
use crate::scripts::{self, ScriptError};
use crate::secret::Secret;
use crate::semver::Version;
use crate::trust::{self, Attempt, Diagnosis, Mode, ProvenanceDecision};
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
}

/// What trusted publishing did, for the report and `--json`.
#[derive(Debug, Clone, Default)]
pub struct TrustReport {
    pub mode: Mode,
    /// `github-actions`, `gitlab-ci`, `circleci`, or none outside CI.
    pub provider: Option<&'static str>,
    pub used: bool,
    /// Why it was not used, when it was tried.
    pub failure: Option<String>,
    /// npm's automatic-provenance decision.
    pub provenance: Option<ProvenanceDecision>,
}

impl From<ConfigError> for PublishError {
    fn from(e: ConfigError) -> Self {
        PublishError::Config(Box::new(e))
    }
}

/// What can stop a publish.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
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
    #[error(transparent)]
    Registry(Box<RegistryError>),
    #[error("{path} does not exist")]
    TargetMissing { path: PathBuf },
    /// A dry run could not check what the publish would check.
    #[error("dry run: could not check {what}: {reason}")]
    DryRunUnchecked { what: String, reason: String },
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
    #[error("{name}@{version} is already published on {registry}")]
    AlreadyPublished {
        name: String,
        version: String,
        registry: String,
        same_integrity: bool,
    },
    #[error("cannot implicitly apply the \"latest\" tag: {highest} is already published on {registry} and is higher than {version}")]
    LatestDowngrade {
        version: String,
        highest: String,
        registry: String,
    },
    #[error("no credential for {registry}: {looked}")]
    NeedAuth { registry: String, looked: String },
    #[error("the credential for {registry} cannot be used: {diagnostic}")]
    UnusableCredential {
        registry: String,
        diagnostic: Box<ConfigDiagnostic>,
    },
    #[error("refusing to send credentials over plain HTTP to {url}")]
    Insecure { url: String },
    #[error("{}", diagnosis.summary)]
    TrustedPublishing {
        diagnosis: Box<Diagnosis>,
        /// `auto` mode found no token to fall back on.
        no_fallback: bool,
    },
    #[error("provenance cannot be made: {0}")]
    ProvenanceBlocked(Blocked),
    #[error(transparent)]
    ProvenanceFile(FileError),
    #[error(transparent)]
    Statement(StatementError),
    #[error("signing provenance failed: {0}")]
    Sign(Box<SignError>),
    #[error("--trusted-publishing always, but this is not GitHub Actions, GitLab CI or CircleCI ({why})")]
    NotInCi { why: String },
    #[error("{name}@{version} appeared on {registry} with a different integrity while publishing")]
    Conflict {
        name: String,
        version: String,
        registry: String,
    },
}

impl From<RegistryError> for PublishError {
    fn from(e: RegistryError) -> Self {
        PublishError::Registry(Box::new(e))
    }
}

impl PublishError {
    pub fn exit_code(&self) -> i32 {
        match self {
            PublishError::Config(e) => e.exit_code(),
            PublishError::Manifest(ManifestError::Unreadable { .. }) => 1,
            PublishError::Manifest(_) => 2,
            PublishError::TargetMissing { .. } => 2,
            PublishError::ReadTarball { source, .. } if crate::limits::is_refusal(source) => 2,
            // A tarball or package that cannot be used as given: bad input.
            PublishError::Document(e) if !matches!(e, DocumentError::Unreadable { .. }) => 2,
            PublishError::Pack(e) => e.exit_code(),
            PublishError::Script(e) => e.exit_code(),
            PublishError::Private { .. }
            | PublishError::PrereleaseNeedsTag { .. }
            | PublishError::RestrictedUnscoped { .. }
            | PublishError::LatestDowngrade { .. }
            | PublishError::NeedAuth { .. }
            | PublishError::UnusableCredential { .. }
            | PublishError::Insecure { .. }
            | PublishError::NotInCi { .. }
            | PublishError::ProvenanceBlocked(_)
            | PublishError::ProvenanceFile(_)
            | PublishError::Statement(_) => 2,
            PublishError::TrustedPublishing { diagnosis, .. } if diagnosis.config_error => 2,
            PublishError::Registry(e) if e.is_local() => 2,
            PublishError::Sign(e) if e.is_usage() => 2,
            _ => 1,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            PublishError::Config(e) => e.hint(),
            PublishError::Manifest(e) => e.hint(),
            PublishError::Pack(e) => e.hint(),
            PublishError::Script(e) => e.hint(),
            PublishError::Document(e) => e.hint(),
            PublishError::Registry(e) => e.hint(),
            PublishError::TargetMissing { .. } => Some("pass a package directory or a .tgz made by npm pack or trustpub pack".into()),
            PublishError::DryRunUnchecked { .. } => Some("a dry run fails when the publish would fail or could not be checked; fix the registry or network, or add --offline to check only the local side".into()),
            PublishError::ReadTarball { .. } => Some("pass a package directory or a .tgz made by npm pack or trustpub pack".into()),
            PublishError::Private { .. } => Some("remove \"private\": true from package.json to publish it".into()),
            PublishError::PrereleaseNeedsTag { .. } => Some("publish prereleases under their own tag, for example --tag next (or \"publishConfig\": {\"tag\": \"next\"})".into()),
            PublishError::RestrictedUnscoped { .. } => Some("only scoped packages (@scope/name) can be restricted; drop --access restricted or scope the name".into()),
            PublishError::AlreadyPublished { same_integrity, .. } => Some(if *same_integrity {
                "the published tarball is identical to this one; bump \"version\" to publish a change, or pass --tolerate-republish to treat this as success".into()
            } else {
                "a different tarball was published under this version; bump \"version\" in package.json (published versions are immutable)".into()
            }),
            PublishError::LatestDowngrade { .. } => Some("publish an older line under its own tag, for example --tag v1-maintenance".into()),
            PublishError::NeedAuth { .. } => Some("in CI, use trusted publishing or set NODE_AUTH_TOKEN from a secret; locally, add //<registry host>/:_authToken=${NPM_TOKEN} to .npmrc".into()),
            PublishError::UnusableCredential { diagnostic, .. } => diagnostic.hint(),
            PublishError::Insecure { .. } => Some("use an https:// registry URL (plain http is only allowed for a registry on this machine)".into()),
            PublishError::TrustedPublishing { diagnosis, no_fallback } => Some(if *no_fallback {
                format!("{}; or, to publish with a token instead, set NODE_AUTH_TOKEN from a secret", diagnosis.hint)
            } else {
                diagnosis.hint.clone()
            }),
            PublishError::ProvenanceBlocked(b) => Some(b.fix.clone()),
            PublishError::ProvenanceFile(_) => Some("make the bundle for this exact tarball (the subject is the package's purl and the tarball's sha512), or drop --provenance-file".into()),
            PublishError::Statement(_) => Some("make provenance on GitHub Actions or GitLab CI, or publish without it (--no-provenance)".into()),
            PublishError::Sign(e) => Some(e.hint()),
            PublishError::NotInCi { .. } => Some("run this in the CI job that publishes, or use --trusted-publishing auto (or never) to publish with a token".into()),
            PublishError::Conflict { .. } => Some("another publish of the same version raced this one; check the registry and bump the version".into()),
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

/// What is being published, after packing.
struct Prepared {
    manifest: Map<String, Value>,
    name: String,
    version: String,
    packed: Packed,
    tarball: Vec<u8>,
    dir: Option<PathBuf>,
    script_manifest: Option<Manifest>,
}

/// Runs the whole publish.
pub fn publish(
    opts: &PublishOptions,
    env: &Env,
    cwd: &Path,
    printer: &Printer,
) -> Result<PublishReport, PublishError> {
    let base = Config::load(env, &opts.cli, cwd)?;
    for d in base.diagnostics() {
        printer.warn("config", &d.to_string());
    }
    let target = crate::manifest::clean_path(&cwd.join(&opts.target));

    // The manifest as npm prepares it, then publishConfig on top of the config.
    // A directory is a package directory; anything else must be a `.tgz`
    // (a regular file: a FIFO or a device is refused as such).
    let is_tarball = match std::fs::metadata(&target) {
        Ok(m) => !m.is_dir(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PublishError::TargetMissing { path: target });
        }
        Err(_) => false,
    };
    let (prepared_early, config, name) = if is_tarball {
        let bytes =
            crate::limits::read_file(&target, crate::limits::TARBALL_MAX).map_err(|source| {
                PublishError::ReadTarball {
                    path: target.clone(),
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
        let name = manifest
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        (Some((bytes, src, manifest)), config, name)
    } else {
        let m = Manifest::read_dir(&target)?;
        let manifest = document::normalize_manifest(&m.raw, &DirSource::new(&target))?;
        (None, base.with_publish_config(&manifest)?, m.name)
    };
    // npm refuses a bad --tag first, before prepublishOnly or any pack script.
    config.check_tag(&name)?;

    let mut prepared = match prepared_early {
        Some((bytes, src, manifest)) => prepare_tarball(bytes, src, manifest)?,
        None => prepare_directory(&target, &config, env, printer)?,
    };
    name_as_npm_does(&mut prepared);
    let tag = config.dist_tag();
    let access = config.access();
    let dry_run = config.dry_run();
    let offline = dry_run && opts.offline;
    if offline {
        printer.notice(
            "offline dry run: no network; trusted publishing, the credential, the registry's version checks and provenance signing are not checked",
        );
    }

    // Checks npm makes before any upload (and some it leaves to the registry).
    if truthy_opt(prepared.manifest.get("private")) {
        return Err(PublishError::Private {
            name: prepared.name.clone(),
        });
    }
    let version = Version::parse(&prepared.version, true);
    if !config.force()
        && config.is_default_tag()
        && version.as_ref().is_some_and(Version::is_prerelease)
    {
        return Err(PublishError::PrereleaseNeedsTag {
            version: prepared.version.clone(),
        });
    }
    if access == Some(Access::Restricted) && !prepared.name.starts_with('@') {
        return Err(PublishError::RestrictedUnscoped {
            name: prepared.name.clone(),
        });
    }
    if !opts.json {
        for line in pack::notice_lines(&prepared.packed, printer.unicode) {
            printer.notice(&line);
        }
    }

    // Where to, and with which credential.
    let registry = config.registry_for(&prepared.name)?;
    let escaped = document::escaped_name(&prepared.name);
    let package_url = registry.package_url(&escaped);
    let parsed = url::Url::parse(&package_url).map_err(|_| PublishError::Insecure {
        url: registry.to_string(),
    })?;
    if parsed.scheme() != "https" && !registry::is_loopback(&parsed) {
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
    let observer = Report(printer);
    let spec = format!("{}@{}", prepared.name, prepared.version);

    // Trusted publishing first (npm runs its OIDC step here, dry run or not).
    let mode = opts.trusted_publishing;
    let mut trust_report = TrustReport {
        mode,
        provider: ci::detect(env).map(ci::Provider::user_agent_name),
        ..TrustReport::default()
    };
    let inputs = trust::Inputs {
        env,
        registry: &registry.url,
        name: &prepared.name,
        escaped: &escaped,
        repository: prepared.manifest.get("repository"),
        auth_type: config.auth_type(),
        client: &client,
        observer: &observer,
        ci: &printer.ci,
        moved_by_repository: config
            .registry_moved_by_repository(&prepared.name)
            .map(|(r, o)| (r.to_string(), r.origin.place(), o.to_string())),
    };
    let mut failed: Option<Box<Diagnosis>> = None;
    let attempted = if offline {
        Attempt::Disabled
    } else {
        trust::attempt(mode, &inputs)
    };
    let trusted = match attempted {
        Attempt::Ok(success) => {
            printer.notice(&format!(
                "trusted publishing: exchanged the {} id token (from {}) for a publish token for {}",
                success.provider.display_name(),
                success.source.describe(),
                prepared.name
            ));
            for w in &success.warnings {
                printer.warn("trusted-publishing", w);
                printer.ci.warning("trustpub: trusted publishing", w);
            }
            trust_report.used = true;
            Some(success)
        }
        Attempt::NotInCi => {
            if mode == Mode::Always {
                return Err(PublishError::NotInCi {
                    why: not_in_ci_reason(env),
                });
            }
            None
        }
        Attempt::Disabled => None,
        Attempt::Failed(diagnosis) => {
            trust_report.failure = Some(diagnosis.summary.clone());
            if mode == Mode::Always {
                print_diagnosis(printer, &diagnosis, &registry.url, &prepared.name, "error");
                return Err(PublishError::TrustedPublishing {
                    diagnosis,
                    no_fallback: false,
                });
            }
            failed = Some(diagnosis);
            None
        }
    };

    let origin = registry::origin(&package_url).unwrap_or_default();
    let lookup = config.lookup_credential(&package_url, Some(&prepared.name));
    let (auth, auth_name, auth_line) = if let Some(success) = &trusted {
        match &lookup {
            CredentialLookup::Found(c) => printer.notice(&format!(
                "{} also holds a credential for {registry}; it was not needed (trusted publishing replaces it) and can be removed",
                c.source
            )),
            CredentialLookup::Unusable(d) => printer.notice(&format!(
                "not needed, since trusted publishing worked: {d}"
            )),
            CredentialLookup::Missing => {}
        }
        (
            Some(Auth {
                header: Secret::new(format!("Bearer {}", success.token.expose())),
                origin,
                kind: AuthKind::TrustedPublishing,
            }),
            "trusted-publishing",
            success.describe(),
        )
    } else {
        let fallback_note = || {
            failed
                .as_ref()
                .map(|_| " (trusted publishing failed; see the warning above)".to_string())
                .unwrap_or_default()
        };
        match lookup {
            CredentialLookup::Found(c) => match c.authorization {
                Some(a) => {
                    let kind = match a.scheme() {
                        "Basic" => AuthKind::Basic,
                        _ => AuthKind::Token,
                    };
                    let header = a.header_value();
                    if let Some((_, raw)) = header.expose().split_once(' ') {
                        printer.ci.mask(&Secret::new(raw.to_string()));
                    }
                    if let Some(d) = &failed {
                        print_diagnosis(printer, d, &registry.url, &prepared.name, "warn");
                        printer.warn(
                            "trusted-publishing",
                            &format!("falling back to the token from {}", c.source),
                        );
                    }
                    let word = if kind == AuthKind::Basic {
                        "basic"
                    } else {
                        "token"
                    };
                    (
                        Some(Auth {
                            header,
                            origin,
                            kind,
                        }),
                        word,
                        format!(
                            "{} from {}{}",
                            if kind == AuthKind::Basic {
                                "a username and password"
                            } else {
                                "a token"
                            },
                            c.source,
                            fallback_note()
                        ),
                    )
                }
                None => (
                    None,
                    "client-certificate",
                    format!("a client certificate from {}{}", c.source, fallback_note()),
                ),
            },
            CredentialLookup::Unusable(diagnostic) => {
                if let Some(d) = &failed {
                    print_diagnosis(printer, d, &registry.url, &prepared.name, "warn");
                }
                return Err(PublishError::UnusableCredential {
                    registry: registry.to_string(),
                    diagnostic: Box::new(diagnostic),
                });
            }
            CredentialLookup::Missing => {
                if let Some(d) = failed.take() {
                    print_diagnosis(printer, &d, &registry.url, &prepared.name, "error");
                    return Err(PublishError::TrustedPublishing {
                        diagnosis: d,
                        no_fallback: true,
                    });
                }
                let looked = format!(
                    "no _authToken, _auth or username/_password for {} in {}, and NODE_AUTH_TOKEN is not set",
                    crate::config::nerf_dart_of(&registry.url).unwrap_or_else(|| registry.to_string()),
                    config.files().describe()
                );
                if offline {
                    (None, "none", format!("nothing (offline dry run: {looked})"))
                } else {
                    return Err(PublishError::NeedAuth {
                        registry: registry.to_string(),
                        looked,
                    });
                }
            }
        }
    };

    let auth_type = config.auth_type();
    // npm's automatic provenance, decided as npm decides it.
    if !offline && (trusted.is_some() || !config.is_default("provenance")) {
        let decision = trust::decide_provenance(
            &config,
            trusted.as_deref(),
            env,
            &client,
            &registry.url,
            &escaped,
            auth.as_ref(),
        );
        printer.notice(&format!(
            "provenance: npm would {}sign provenance for this publish: {}",
            if decision.would_sign { "" } else { "not " },
            decision.reason
        ));
        trust_report.provenance = Some(decision);
    }
    let done = Done {
        registry: registry.to_string(),
        auth: auth_name,
        auth_line,
        trust: trust_report,
    };

    // The registry's view of the package (npm skips this with --force). A
    // dry run that cannot read it fails: the checks could not be made.
    let fetch = || {
        fetch_packument(
            &client,
            &package_url,
            auth.as_ref(),
            &spec,
            printer,
            &auth_type,
        )
    };
    let packument = if offline {
        None
    } else if dry_run && !config.force() {
        read_packument(&client, &package_url, auth.as_ref(), &spec, &auth_type).map_err(
            |reason| PublishError::DryRunUnchecked {
                what: format!("the published versions of {}", prepared.name),
                reason,
            },
        )?
    } else {
        fetch()
    };
    if !config.force() {
        if let Some(existing) = packument.as_ref().and_then(|p| p.versions.as_ref()) {
            if let Some(v) = existing.get(&prepared.version) {
                let same = v.integrity() == Some(prepared.packed.integrity.as_str());
                if opts.tolerate_republish {
                    printer.notice(&format!(
                        "{spec} is already published on {registry}; {}",
                        if same {
                            "the published tarball is identical to this one"
                        } else {
                            "the published tarball differs from this one (its integrity does not match)"
                        }
                    ));
                    return Ok(report(
                        prepared,
                        done,
                        tag,
                        access,
                        Outcome::AlreadyPublished {
                            same_integrity: same,
                        },
                    ));
                }
                return Err(PublishError::AlreadyPublished {
                    name: prepared.name.clone(),
                    version: prepared.version.clone(),
                    registry: registry.to_string(),
                    same_integrity: same,
                });
            }
            if config.is_default_tag() {
                if let (Some(ours), Some(highest)) = (version.as_ref(), highest_stable(existing)) {
                    if highest >= *ours {
                        return Err(PublishError::LatestDowngrade {
                            version: prepared.version.clone(),
                            highest: highest.to_string(),
                            registry: registry.to_string(),
                        });
                    }
                }
            }
        }
    }

    let access_word = access
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| "default".into());
    printer.notice(&format!(
        "Publishing to {registry} with tag {} and {access_word} access{}",
        config.tag(),
        if dry_run { " (dry-run)" } else { "" }
    ));

    // Provenance: decided, checked, then signed (never in a dry run). An
    // offline dry run still checks a --provenance-file (a local check).
    let made = if offline && config.provenance_file().is_none() {
        Made::default()
    } else {
        make_provenance(&ProvenanceInputs {
            config: &config,
            env,
            printer,
            client: &client,
            observer: &observer,
            name: &prepared.name,
            version: &prepared.version,
            integrity: &prepared.packed.integrity,
            repository: prepared.manifest.get("repository"),
            access_public: access == Some(Access::Public),
            trusted: trusted.as_deref(),
            would_sign: done.trust.provenance.as_ref().is_some_and(|d| d.would_sign),
            registry: &registry.url,
            escaped: &escaped,
            auth: auth.as_ref(),
            urls: &opts.sigstore,
            dry_run,
            json: opts.json,
        })?
    };

    // `prepared.manifest` is already normalised (as npm hands the prepared
    // manifest to libnpmpublish); normalising it again would move `_id`.
    let body = document::build_from_normalized(
        prepared.manifest.clone(),
        &prepared.tarball,
        &prepared.packed.integrity,
        &prepared.packed.shasum,
        &DocumentOptions {
            registry: &registry.url,
            tag: &tag,
            access: access.map(Access::as_str),
            provenance_bundle: made.bundle.as_ref(),
        },
    )?;

    let outcome = if dry_run {
        Outcome::DryRun
    } else {
        let wire = document::to_wire(&body);
        let mut headers: Vec<(&'static str, String)> = vec![
            ("content-type", "application/json".into()),
            ("accept", "*/*".into()),
            ("npm-command", "publish".into()),
            ("npm-auth-type", config.auth_type()),
        ];
        if let Some(otp) = config.otp() {
            headers.push(("npm-otp", otp.expose().clone()));
        }
        let req = Request {
            method: "PUT",
            url: package_url.clone(),
            headers,
            body: Some(&wire),
            auth: auth.as_ref(),
            spec: spec.clone(),
        };
        let integrity = prepared.packed.integrity.clone();
        // Whether the registry now has this version: with this tarball
        // (`Some(true)`), another one (`Some(false)`), or not at all.
        let published = || -> Option<bool> {
            fetch()
                .as_ref()
                .and_then(|p| p.versions.as_ref()?.get(&prepared.version))
                .map(|v| v.integrity() == Some(integrity.as_str()))
        };
        let check = || published() == Some(true);
        let sent = match client.send_checked(&req, &observer, Some(&check)) {
            // A 409: the version appeared since the check above (another
            // publish won the race). Identical is success with
            // --tolerate-republish, as it is before the upload.
            Err(e) if e.status() == Some(409) => match published() {
                Some(true) if opts.tolerate_republish => {
                    printer.notice(&format!(
                            "{spec} was published on {registry} by another upload while this one ran (409); the published tarball is identical to this one"
                        ));
                    return Ok(report(
                        prepared,
                        done,
                        tag,
                        access,
                        Outcome::AlreadyPublished {
                            same_integrity: true,
                        },
                    ));
                }
                Some(true) => {
                    return Err(PublishError::AlreadyPublished {
                        name: prepared.name.clone(),
                        version: prepared.version.clone(),
                        registry: registry.to_string(),
                        same_integrity: true,
                    })
                }
                Some(false) => {
                    return Err(PublishError::Conflict {
                        name: prepared.name.clone(),
                        version: prepared.version.clone(),
                        registry: registry.to_string(),
                    })
                }
                None => return Err(e.into()),
            },
            other => other?,
        };
        match sent {
            Sent::Answered(_) => Outcome::Published,
            Sent::FoundAfterFailure => {
                printer.notice(&format!(
                    "the upload did not get a clear success answer (a timeout, a connection error, a 5xx, a redirect, or an error after one of these), but {spec} is on the registry with this tarball's integrity: the publish succeeded"
                ));
                Outcome::PublishedDespiteError
            }
        }
    };

    if let (Some(dir), Some(m)) = (&prepared.dir, &prepared.script_manifest) {
        if !config.ignore_scripts() {
            let shell = config.script_shell();
            scripts::run(dir, m, "publish", &[], shell.as_deref(), env, printer)?;
            scripts::run(dir, m, "postpublish", &[], shell.as_deref(), env, printer)?;
        }
    }
    let mut r = report(prepared, done, tag, access, outcome);
    r.provenance = made.info;
    r.provenance_statement = made.statement;
    Ok(r)
}

/// What [`make_provenance`] needs.
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
    urls: &'a SigstoreUrls,
    dry_run: bool,
    json: bool,
}

/// What [`make_provenance`] made.
#[derive(Default)]
struct Made {
    bundle: Option<Value>,
    info: Option<ProvenanceInfo>,
    statement: Option<Value>,
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// Provenance as npm makes it: `--provenance-file` is checked and attached;
/// `--provenance` (or npm's automatic rule under trusted publishing) is
/// checked before anything reaches the transparency log, then signed.
/// Automatic provenance that cannot be made is skipped with one line;
/// explicit provenance fails with the fix.
fn make_provenance(i: &ProvenanceInputs<'_>) -> Result<Made, PublishError> {
    let c = i.config;
    let configured = if !c.is_default("provenance") {
        Some(c.provenance())
    } else if c.provenance() {
        // publishConfig.provenance: true reaches libnpmpublish as an option.
        Some(true)
    } else {
        None
    };
    let want = Want::decide(configured, c.provenance_file(), i.would_sign);
    if want == Want::Off {
        return Ok(Made::default());
    }
    let sha512_hex = i
        .integrity
        .strip_prefix("sha512-")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(hex::encode)
        .unwrap_or_default();
    let purl = statement::purl(i.name, i.version);
    let explicit = match want {
        Want::Off => return Ok(Made::default()),
        Want::File(path) => {
            let bundle = prov::check_provenance_file(&path, &purl, &sha512_hex)
                .map_err(PublishError::ProvenanceFile)?;
            let text = String::from_utf8(document::to_wire(&bundle)).unwrap_or_default();
            i.printer.notice(&format!(
                "provenance: attaching the bundle from {} (its subject is {purl} with this tarball's sha512)",
                path.display()
            ));
            return Ok(Made {
                info: Some(ProvenanceInfo {
                    source: "file",
                    log_index: bundle
                        .pointer("/verificationMaterial/tlogEntries/0/logIndex")
                        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64())),
                    bundle_sha256: sha256_hex(&text),
                }),
                bundle: Some(bundle),
                statement: None,
            });
        }
        Want::Explicit => true,
        Want::Auto => false,
    };
    let skip_or_fail = |b: Blocked| -> Result<Made, PublishError> {
        if explicit {
            Err(PublishError::ProvenanceBlocked(b))
        } else {
            i.printer
                .notice(&format!("provenance: skipped: {} ({})", b.reason, b.fix));
            Ok(Made::default())
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
        Err(e) if explicit => return Err(PublishError::Statement(e)),
        Err(e) => {
            return skip_or_fail(Blocked {
                reason: e.to_string(),
                fix: "publish from GitHub Actions or GitLab CI to get provenance".into(),
            })
        }
    };
    // The signing identity, whose claims the preflight reads (in a dry run,
    // the trusted-publishing claims stand in: nothing is fetched to sign).
    let mut identity = None;
    if !i.dry_run {
        if let Err(b) = prov::preflight_identity(i.env, provider) {
            return skip_or_fail(b);
        }
        match sigstore::identity_token(
            i.env,
            provider.unwrap_or(ci::Provider::GitHubActions),
            i.client,
            i.observer,
        ) {
            Ok(t) => {
                i.printer.ci.mask(&t);
                identity = Some(t);
            }
            Err(e) if explicit => return Err(PublishError::Sign(Box::new(e))),
            Err(e) => {
                return skip_or_fail(Blocked {
                    reason: e.to_string(),
                    fix: e.hint(),
                })
            }
        }
    }
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
        return Ok(Made {
            statement: Some(st),
            ..Made::default()
        });
    };
    let payload = statement::statement_bytes(&st);
    let signed = sigstore::sign(
        &payload,
        "application/vnd.in-toto+json",
        &identity,
        i.urls,
        i.client,
        i.observer,
    )
    .map_err(|e| PublishError::Sign(Box::new(e)))?;
    let text = sigstore::bundle_string(&signed);
    i.printer.notice(&format!(
        "provenance: signed the statement for {purl} with a certificate from {} and recorded it in {}: {}",
        i.urls.fulcio,
        i.urls.rekor,
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

/// Where the publish went and how it authenticated.
struct Done {
    registry: String,
    auth: &'static str,
    auth_line: String,
    trust: TrustReport,
}

fn report(
    prepared: Prepared,
    done: Done,
    tag: String,
    access: Option<Access>,
    outcome: Outcome,
) -> PublishReport {
    PublishReport {
        packed: prepared.packed,
        registry: done.registry,
        tag,
        access,
        auth: done.auth.to_string(),
        auth_line: done.auth_line,
        trust: done.trust,
        provenance: None,
        provenance_statement: None,
        outcome,
    }
}

/// The diagnosis block, at `level` (`warn` when falling back, `error` when
/// not), in a collapsible section on GitLab, and as an annotation on GitHub.
fn print_diagnosis(printer: &Printer, d: &Diagnosis, registry: &str, name: &str, level: &str) {
    let _section = printer.ci.section(
        "trustpub_trusted_publishing",
        "trustpub: trusted publishing diagnostics",
    );
    printer.lines(level, "trusted-publishing", &d.summary);
    for line in d.detail_lines(registry, name) {
        printer.lines(level, "trusted-publishing", &line);
    }
    let mut annotation = d.summary.clone();
    if d.unsupported_registry {
        for line in &d.explanation {
            annotation.push('\n');
            annotation.push_str(line);
        }
    } else if let Some(v) = &d.values {
        for line in trust::form_lines(v, registry, name) {
            annotation.push('\n');
            annotation.push_str(&line);
        }
    }
    for w in &d.warnings {
        annotation.push_str("\nwarning: ");
        annotation.push_str(w);
    }
    if level == "error" {
        printer
            .ci
            .error("trustpub: trusted publishing failed", &annotation);
    } else {
        printer.ci.warning(
            "trustpub: trusted publishing failed, fell back to a token",
            &annotation,
        );
    }
}

/// Why no CI was detected, in words.
fn not_in_ci_reason(env: &Env) -> String {
    if env.get("CI") == Some("false") {
        "CI=false turns CI detection off".into()
    } else {
        "none of GITHUB_ACTIONS, GITLAB_CI and CIRCLECI is set".into()
    }
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

/// The packument, or `None` when there is none (404) or it cannot be read
/// (npm treats any error as "no versions"; we say so).
fn fetch_packument(
    client: &Client,
    url: &str,
    auth: Option<&Auth>,
    spec: &str,
    printer: &Printer,
    auth_type: &str,
) -> Option<Packument> {
    read_packument(client, url, auth, spec, auth_type).unwrap_or_else(|reason| {
        printer.warn("publish", &format!("{reason}; skipping the version checks"));
        None
    })
}

/// The packument (`None` for a 404), or why it could not be read.
fn read_packument(
    client: &Client,
    url: &str,
    auth: Option<&Auth>,
    spec: &str,
    auth_type: &str,
) -> Result<Option<Packument>, String> {
    match client.send_once(&registry::packument_request(
        url,
        auth,
        spec,
        Some(auth_type),
    )) {
        Ok(r) if r.status == 200 => match Packument::parse(&r.body) {
            Some(p) => Ok(Some(p)),
            None => Err(format!("the packument at {url} is not valid JSON")),
        },
        Ok(r) if r.status == 404 => Ok(None),
        Ok(r) => Err(format!("GET {url} answered {}", r.status)),
        Err(e) => Err(e.to_string()),
    }
}

/// npm names the package by its prepared manifest, not by package.json as
/// written: the `--json` record takes `_id`, `version` and the file name from
/// it (`=v1.2.3` and `v3.0.0` become `1.2.3` and `3.0.0`), and the registry
/// files the version under libnpmpublish's `semver.clean` of it, so the
/// version checks and the packument look-ups after a failed upload must use
/// that too.
fn name_as_npm_does(p: &mut Prepared) {
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
    env: &Env,
    printer: &Printer,
) -> Result<Prepared, PublishError> {
    let first = Manifest::read_dir(dir)?;
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
        },
        env,
        printer,
    )?;
    let m = Manifest::read_dir(dir)?;
    let manifest = document::normalize_manifest(&m.raw, &DirSource::new(dir))?;
    let mut packed = packed;
    let tarball = packed.bytes.take().unwrap_or_default();
    Ok(Prepared {
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
) -> Result<Prepared, PublishError> {
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
    Ok(Prepared {
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
