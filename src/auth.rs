//! The *authenticate* stage: which credential a publish uses, and why.
//!
//! Trusted publishing first (the attempt itself — id token, exchange,
//! diagnosis — is [`crate::trust`]); then, when it is off, outside CI or
//! failed, the credential from npm's configuration, as `--trusted-publishing`
//! allows. The decision prints what a maintainer must know (the diagnosis
//! when falling back, a credential trusted publishing made unnecessary) and
//! ends in an [`Authenticated`] or an [`AuthError`]. npm's automatic
//! provenance is decided here too: it depends on how the publish
//! authenticated.

use serde_json::Value;

use crate::ci;
use crate::config::{Config, ConfigDiagnostic, CredentialLookup};
use crate::env::Env;
use crate::publish::{Report, Target};
use crate::registry::{self, Auth, AuthKind};
use crate::secret::Secret;
use crate::trust::{self, Attempt, Diagnosis, ProvenanceDecision, Success};
use crate::ui::{Level, Printer};

/// `--trusted-publishing` / `TRUSTPUB_TRUSTED_PUBLISHING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Try OIDC in CI; fall back to a token, saying why.
    #[default]
    Auto,
    /// OIDC or nothing.
    Always,
    /// Tokens only.
    Never,
}

impl Mode {
    /// The command line's parser (`clap::ValueEnum` in crate::cli), for a
    /// value read elsewhere; surrounding blanks and case do not matter.
    pub fn parse(s: &str) -> Option<Mode> {
        clap::ValueEnum::from_str(s.trim(), true).ok()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Always => "always",
            Mode::Never => "never",
        }
    }
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
    /// Trusted publishing failed because the package is not on the
    /// registry yet (a first publish).
    pub new_package: bool,
    /// The trusted-publisher values the failed attempt's id token names
    /// (what to enter on the registry).
    pub publisher: Option<crate::oidc::PublisherValues>,
}

/// What the stage needs to know about one package.
pub struct AuthRequest<'a> {
    pub env: &'a Env,
    pub config: &'a Config,
    pub target: &'a Target,
    pub name: &'a str,
    /// package.json's `repository`, for the mismatch warning.
    pub repository: Option<&'a Value>,
    pub mode: Mode,
    /// `--offline --dry-run`: no trusted publishing, no credential required.
    pub offline: bool,
    /// `--stage`: the exchange says `npm-command: stage`, as npm's does.
    pub stage: bool,
    pub printer: &'a Printer,
}

/// How a package authenticates.
pub struct Authenticated {
    /// The `Authorization` header, or none (a client certificate, or an
    /// offline dry run).
    pub auth: Option<Auth>,
    /// `trusted-publishing`, `token`, `basic`, `client-certificate` or `none`.
    pub kind: &'static str,
    /// How the publish authenticated, in words, for the final line.
    pub line: String,
    /// The exchange's result, when trusted publishing was used.
    pub trusted: Option<Box<Success>>,
    pub trust: TrustReport,
}

/// Why a package cannot authenticate.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("--trusted-publishing always, but this is not GitHub Actions, GitLab CI or CircleCI ({why})")]
    NotInCi { why: String },
    #[error("{}", diagnosis.summary)]
    TrustedPublishing {
        diagnosis: Box<Diagnosis>,
        /// `auto` mode found no token to fall back on.
        no_fallback: bool,
    },
    #[error("the credential for {registry} cannot be used: {diagnostic}")]
    UnusableCredential {
        registry: String,
        diagnostic: Box<ConfigDiagnostic>,
    },
    #[error("no credential for {registry}: {looked}")]
    NeedAuth { registry: String, looked: String },
}

impl AuthError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AuthError::TrustedPublishing { diagnosis, .. } if !diagnosis.config_error => 1,
            _ => 2,
        }
    }

    pub fn hint(&self) -> Option<String> {
        Some(match self {
            AuthError::NotInCi { .. } => "run this in the CI job that publishes, or use --trusted-publishing auto (or never) to publish with a token".into(),
            AuthError::TrustedPublishing { diagnosis, no_fallback: true } => format!(
                "{}; or, to publish with a token instead, set NODE_AUTH_TOKEN from a secret",
                diagnosis.hint
            ),
            AuthError::TrustedPublishing { diagnosis, .. } => diagnosis.hint.clone(),
            AuthError::UnusableCredential { diagnostic, .. } => return diagnostic.hint(),
            AuthError::NeedAuth { .. } => "in CI, use trusted publishing or set NODE_AUTH_TOKEN from a secret; locally, add //<registry host>/:_authToken=${NPM_TOKEN} to .npmrc".into(),
        })
    }
}

/// Tries trusted publishing for one package (`publish` and `doctor` alike).
pub fn attempt_trusted(mode: Mode, r: &AuthRequest<'_>) -> Attempt {
    let observer = Report(r.printer);
    let inputs = trust::Inputs {
        env: r.env,
        registry: &r.target.registry.url,
        name: r.name,
        escaped: &r.target.escaped,
        repository: r.repository,
        auth_type: r.config.auth_type(),
        stage: r.stage,
        client: &r.target.client,
        observer: &observer,
        printer: r.printer,
        moved_by_repository: r
            .config
            .registry_moved_by_repository(r.name)
            .map(|(reg, o)| (reg.to_string(), reg.origin.place(), o.to_string())),
    };
    trust::attempt(mode, &inputs)
}

/// The stage: trusted publishing, else the configured credential, then
/// npm's automatic-provenance decision.
pub fn authenticate(r: &AuthRequest<'_>) -> Result<Authenticated, AuthError> {
    let printer = r.printer;
    let mut trust = TrustReport {
        mode: r.mode,
        provider: ci::detect(r.env).map(ci::Provider::user_agent_name),
        ..TrustReport::default()
    };
    // npm runs its OIDC step here, dry run or not.
    let attempted = if r.offline {
        Attempt::Disabled
    } else {
        attempt_trusted(r.mode, r)
    };
    let mut failed: Option<Box<Diagnosis>> = None;
    let trusted = match attempted {
        Attempt::Ok(success) => {
            printer.notice(&format!(
                "trusted publishing: exchanged the {} id token (from {}) for a publish token for {}",
                success.provider.display_name(),
                success.source.describe(),
                r.name
            ));
            for w in &success.warnings {
                printer.warn("trusted-publishing", w);
                printer.annotate(Level::Warn, "trustpub: trusted publishing", w);
            }
            trust.used = true;
            Some(success)
        }
        Attempt::NotInCi if r.mode == Mode::Always => {
            return Err(AuthError::NotInCi {
                why: not_in_ci_reason(r.env),
            });
        }
        Attempt::NotInCi | Attempt::Disabled => None,
        Attempt::Failed(diagnosis) => {
            trust.failure = Some(diagnosis.summary.clone());
            trust.new_package = diagnosis.package_missing;
            trust.publisher = diagnosis.values.clone();
            if r.mode == Mode::Always {
                print_diagnosis(r, &diagnosis, Level::Error);
                return Err(AuthError::TrustedPublishing {
                    diagnosis,
                    no_fallback: false,
                });
            }
            failed = Some(diagnosis);
            None
        }
    };
    let (auth, kind, line) = match &trusted {
        Some(success) => with_trusted(r, success),
        None => with_configured(r, failed)?,
    };
    // npm's automatic provenance, decided as npm decides it.
    if !r.offline && (trusted.is_some() || !r.config.is_default("provenance")) {
        let decision = decide_provenance(r, trusted.as_deref(), auth.as_ref());
        printer.notice(&format!(
            "provenance: npm would {}sign provenance for this publish: {}",
            if decision.would_sign { "" } else { "not " },
            decision.reason
        ));
        trust.provenance = Some(decision);
    }
    Ok(Authenticated {
        auth,
        kind,
        line,
        trusted,
        trust,
    })
}

type Credential = (Option<Auth>, &'static str, String);

/// npm's automatic-provenance decision for one package (`publish` and
/// `doctor` alike).
pub fn decide_provenance(
    r: &AuthRequest<'_>,
    trusted: Option<&Success>,
    auth: Option<&Auth>,
) -> ProvenanceDecision {
    let visibility = || {
        crate::oidc::package_visibility(
            &r.target.client,
            &r.target.registry.url,
            &r.target.escaped,
            auth,
            &r.config.auth_type(),
            if r.stage { "stage" } else { "publish" },
        )
    };
    trust::decide_provenance(r.config, trusted, r.env, &visibility)
}

/// The `Authorization` an exchanged publish token makes.
pub fn bearer(target: &Target, success: &Success) -> Auth {
    Auth {
        header: Secret::new(format!("Bearer {}", success.token.expose())),
        origin: registry::origin(&target.package_url).unwrap_or_default(),
        kind: AuthKind::TrustedPublishing,
    }
}

/// The exchanged token; a configured credential is said to be unneeded.
fn with_trusted(r: &AuthRequest<'_>, success: &Success) -> Credential {
    let t = r.target;
    match r.config.lookup_credential(&t.package_url, Some(r.name)) {
        CredentialLookup::Found(c) => r.printer.notice(&format!(
            "{} also holds a credential for {}; it was not needed (trusted publishing replaces it) and can be removed",
            c.source, t.registry
        )),
        CredentialLookup::Unusable(d) => r
            .printer
            .notice(&format!("not needed, since trusted publishing worked: {d}")),
        CredentialLookup::Missing => {}
    }
    (
        Some(bearer(t, success)),
        "trusted-publishing",
        success.describe(),
    )
}

/// The configured credential, after a trusted-publishing failure (`failed`)
/// or without trying it.
fn with_configured(
    r: &AuthRequest<'_>,
    mut failed: Option<Box<Diagnosis>>,
) -> Result<Credential, AuthError> {
    let (printer, t) = (r.printer, r.target);
    let fallback_note = |failed: &Option<Box<Diagnosis>>| {
        failed
            .as_ref()
            .map(|_| " (trusted publishing failed; see the warning above)".to_string())
            .unwrap_or_default()
    };
    match r.config.lookup_credential(&t.package_url, Some(r.name)) {
        CredentialLookup::Found(c) => Ok(match c.authorization {
            Some(a) => {
                let kind = match a.scheme() {
                    "Basic" => AuthKind::Basic,
                    _ => AuthKind::Token,
                };
                let header = a.header_value();
                if let Some((_, raw)) = header.expose().split_once(' ') {
                    printer.mask(&Secret::new(raw.to_string()));
                }
                if let Some(d) = &failed {
                    print_diagnosis(r, d, Level::Warn);
                    printer.warn(
                        "trusted-publishing",
                        &format!("falling back to the token from {}", c.source),
                    );
                }
                let (word, what) = if kind == AuthKind::Basic {
                    ("basic", "a username and password")
                } else {
                    ("token", "a token")
                };
                let origin = registry::origin(&t.package_url).unwrap_or_default();
                (
                    Some(Auth {
                        header,
                        origin,
                        kind,
                    }),
                    word,
                    format!("{what} from {}{}", c.source, fallback_note(&failed)),
                )
            }
            None => (
                None,
                "client-certificate",
                format!(
                    "a client certificate from {}{}",
                    c.source,
                    fallback_note(&failed)
                ),
            ),
        }),
        CredentialLookup::Unusable(diagnostic) => {
            if let Some(d) = &failed {
                print_diagnosis(r, d, Level::Warn);
            }
            Err(AuthError::UnusableCredential {
                registry: t.registry.to_string(),
                diagnostic: Box::new(diagnostic),
            })
        }
        CredentialLookup::Missing => {
            if let Some(d) = failed.take() {
                print_diagnosis(r, &d, Level::Error);
                return Err(AuthError::TrustedPublishing {
                    diagnosis: d,
                    no_fallback: true,
                });
            }
            let looked = format!(
                "no _authToken, _auth or username/_password for {} in {}, and NODE_AUTH_TOKEN is not set",
                crate::config::nerf_dart_of(&t.registry.url)
                    .unwrap_or_else(|| t.registry.to_string()),
                r.config.files().describe()
            );
            if r.offline {
                Ok((None, "none", format!("nothing (offline dry run: {looked})")))
            } else {
                Err(AuthError::NeedAuth {
                    registry: t.registry.to_string(),
                    looked,
                })
            }
        }
    }
}

/// The diagnosis block, at `level` (`warn` when falling back, `error` when
/// not), in a collapsible section on GitLab, and as an annotation on GitHub.
fn print_diagnosis(r: &AuthRequest<'_>, d: &Diagnosis, level: Level) {
    let (printer, registry, name) = (r.printer, r.target.registry.url.as_str(), r.name);
    let _section = printer.section(
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
    let title = if level == Level::Error {
        "trustpub: trusted publishing failed"
    } else {
        "trustpub: trusted publishing failed, fell back to a token"
    };
    printer.annotate(level, title, &annotation);
}

/// Why no CI was detected, in words.
fn not_in_ci_reason(env: &Env) -> String {
    if env.get("CI") == Some("false") {
        "CI=false turns CI detection off".into()
    } else {
        "none of GITHUB_ACTIONS, GITLAB_CI and CIRCLECI is set".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!(Mode::parse("Always"), Some(Mode::Always));
        assert_eq!(Mode::parse("never"), Some(Mode::Never));
        assert_eq!(Mode::parse(" auto "), Some(Mode::Auto));
        assert_eq!(Mode::parse("sometimes"), None);
    }
}
