//! What can go wrong while resolving the configuration: [`ConfigError`]s
//! stop the command (exit code 2), [`ConfigDiagnostic`]s are warnings the
//! report prints. Both name the file and line, the environment variable or
//! the flag a value came from, and neither ever contains a secret value.

use std::fmt;
use std::path::PathBuf;

use super::Origin;
use crate::secret::redact_url;

/// A configuration problem that stops the command.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not fit its key's type. npm warns ("invalid config
    /// … set in …") and falls back to a lower layer; trustpub stops instead,
    /// because publishing with a setting the user did not mean is worse.
    #[error("invalid config {key}{} set in {origin}: must be {expected}", value.as_ref().map(|v| format!("={v:?}")).unwrap_or_default())]
    InvalidValue {
        key: String,
        /// The offending value, or `None` for keys whose values are secrets.
        value: Option<String>,
        origin: Origin,
        expected: String,
    },

    /// npm's `ERR_INVALID_AUTH`: a credential key that is not scoped to a
    /// registry (`_authToken=…` instead of `//registry…/:_authToken=…`).
    #[error("invalid auth configuration found: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    LegacyAuth { problems: Vec<LegacyAuthProblem> },

    /// Two settings npm refuses together (`provenance` and `provenance-file`).
    #[error("--{key} cannot be provided when using --{other} ({key} is set in {origin}, {other} in {other_origin})")]
    Exclusive {
        key: String,
        origin: Origin,
        other: String,
        other_origin: Box<Origin>,
    },

    /// `Tag name must not be a valid SemVer range: <tag>` (publish.js).
    #[error("Tag name must not be a valid SemVer range: {tag} (set in {origin})")]
    TagIsSemverRange { tag: String, origin: Origin },

    /// npm-package-arg's `EINVALIDTAGNAME`.
    #[error("Invalid tag name {tag:?} of package \"{package}@{tag}\": Tags may not have any characters that encodeURIComponent encodes (set in {origin})")]
    InvalidTagName {
        tag: String,
        package: String,
        origin: Origin,
    },

    /// A credential exists for the registry but cannot be used (an
    /// unexpanded `${VAR}`, setup-node's placeholder token, ...).
    #[error("{0}")]
    UnusableCredential(ConfigDiagnostic),

    /// A network setting that cannot be used: an unreadable or invalid
    /// certificate file, an unsupported proxy, a setting trustpub cannot
    /// honour (`local-address`), or one set where it may not be.
    #[error("network setting {key} (set in {place}): {problem}")]
    Network {
        key: String,
        place: String,
        problem: String,
    },
    /// An npmrc that is not a regular file or is too large to be one.
    #[error("cannot use the npmrc {path}: {reason}")]
    RefusedFile { path: PathBuf, reason: String },
}

impl ConfigError {
    /// Every configuration error is a usage error.
    pub fn exit_code(&self) -> i32 {
        2
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigError::InvalidValue { origin, .. } => Some(format!(
                "fix or remove the value in {}",
                origin.place()
            )),
            ConfigError::LegacyAuth { problems } => {
                let first = problems.first()?;
                Some(match &first.action {
                    LegacyAuthAction::Rename { to } => format!(
                        "npm 9 and later only use credentials scoped to a registry: rename `{}` to `{to}` in {} (or run `npm config fix`)",
                        first.key,
                        first.origin.place()
                    ),
                    LegacyAuthAction::Delete => format!(
                        "remove `{}` from {} (or run `npm config fix`)",
                        first.key,
                        first.origin.place()
                    ),
                })
            }
            ConfigError::Exclusive { .. } => Some(
                "use --provenance to have a provenance statement made, or --provenance-file to attach one you made; not both".into(),
            ),
            ConfigError::TagIsSemverRange { .. } => Some(
                "a dist-tag that looks like a version range (v1, 1.x, ^1.0.0) would be confused with one by `npm install`; pick a name such as `next`, `beta` or `v1-latest`".into(),
            ),
            ConfigError::InvalidTagName { .. } => Some(
                "dist-tags may contain only letters, digits and - _ . ! ~ * ' ( )".into(),
            ),
            ConfigError::UnusableCredential(d) => d.hint(),
            ConfigError::Network { key, place, .. } => Some(format!(
                "fix or remove {key} in {place}"
            )),
            ConfigError::RefusedFile { .. } => Some(format!(
                "an npmrc must be a regular file of at most {}: fix or remove it, or name another with --userconfig",
                crate::limits::human(crate::limits::NPMRC_MAX)
            )),
        }
    }
}

/// One entry of [`ConfigError::LegacyAuth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyAuthProblem {
    pub key: String,
    pub action: LegacyAuthAction,
    /// `user`, `project` or `global`, as npm names the layer.
    pub layer: &'static str,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyAuthAction {
    Delete,
    Rename { to: String },
}

impl fmt::Display for LegacyAuthProblem {
    /// npm's wording (`lib/errors.js`), plus the file and line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.action {
            LegacyAuthAction::Delete => write!(
                f,
                "`{}` is not allowed in {} config ({})",
                self.key,
                self.layer,
                self.origin.location()
            ),
            LegacyAuthAction::Rename { to } => write!(
                f,
                "`{}` must be renamed to `{to}` in {} config ({})",
                self.key,
                self.layer,
                self.origin.location()
            ),
        }
    }
}

/// setup-node's old placeholder for `NODE_AUTH_TOKEN`.
pub const SETUP_NODE_PLACEHOLDER: &str = "XXXXX-XXXXX-XXXXX-XXXXX";

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Something npm would also warn about, or that will likely fail later.
    Warning,
    /// Worth knowing; nothing is wrong.
    Info,
}

/// A configuration fact the report should show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigDiagnostic {
    /// `${VAR}` in a key or value whose variable is not set, so npm keeps the
    /// literal text. For a credential this is the classic CI failure: npm
    /// sends `Bearer ${NODE_AUTH_TOKEN}`; trustpub refuses to.
    UnsetVariable {
        var: String,
        key: String,
        origin: Origin,
        credential: bool,
    },
    /// A credential whose value is setup-node's placeholder
    /// `XXXXX-XXXXX-XXXXX-XXXXX`, not a token.
    PlaceholderToken { key: String, origin: Origin },
    /// A credential that expanded to the empty string: npm treats it as no
    /// credential at all.
    EmptyCredential {
        key: String,
        origin: Origin,
        /// The variables it referenced (set, but empty).
        vars: Vec<String>,
    },
    /// `NODE_AUTH_TOKEN` itself is unusable.
    NodeAuthToken(NodeAuthTokenProblem),
    /// A credential that is not bound to a host by the user (the raw
    /// `NODE_AUTH_TOKEN`, or a credential line in a repository file) would
    /// go to a registry that a repository file chose. In a pull request
    /// those files are the attacker's: npm would send it; trustpub refuses.
    CredentialHostChosenByRepository {
        /// Where the credential comes from, in words.
        credential: String,
        /// The registry the repository chose (password redacted).
        registry: String,
        chosen_by: Origin,
        /// The registry chosen outside the repository.
        outside: String,
    },
    /// npm's "Unknown `<where>` config" warning.
    UnknownKey {
        name: String,
        key: String,
        origin: Origin,
    },
    /// A key under an ini `[section]`, which npm never reads.
    SectionKeyIgnored {
        section: String,
        key: String,
        path: PathBuf,
        line: usize,
    },
    /// An npmrc that exists but could not be read (npm ignores it silently).
    UnreadableFile { path: PathBuf, error: String },
    /// A workspace's own `.npmrc`, which npm ignores in favour of the
    /// workspace root's.
    WorkspaceNpmrcIgnored { path: PathBuf },
    /// `prefix` in a project `.npmrc` (npm logs this as an error but goes on).
    PrefixInProjectConfig { path: PathBuf },
    /// The global npmrc was not read because npm's prefix is unknown.
    GlobalConfigSkipped { reason: String },
    /// A `publishConfig` value npm accepts but ignores (e.g. the string
    /// `"true"` for `provenance`, which is not `=== true`).
    PublishConfigValueIgnored { key: String, reason: String },
    /// A credential in `publishConfig`: it is used for the upload, but
    /// package.json is public.
    CredentialInPublishConfig { key: String },
    /// A boolean npm reads from its flat options (`provenance`, and
    /// `ignore-scripts` for the pack scripts) set through `${VAR}`: npm
    /// flattens before it validates, so it sees the expanded text, not a
    /// boolean, and acts differently from what the value says. trustpub
    /// follows the value.
    ExpandedBoolean {
        key: String,
        origin: Origin,
        /// What trustpub reads.
        value: bool,
    },
    /// The dist-tag from `publishConfig.tag` or package.json `"tag"` would
    /// fail the checks npm applies only to the configured tag.
    SuspiciousDistTag {
        tag: String,
        origin: Origin,
        reason: String,
    },
}

/// What is wrong with `NODE_AUTH_TOKEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeAuthTokenProblem {
    /// setup-node's placeholder `XXXXX-XXXXX-XXXXX-XXXXX`.
    Placeholder,
    /// Set but empty (typically `${{ secrets.NPM_TOKEN }}` of a missing secret).
    Empty,
    /// Contains an unexpanded `${...}` (a template exported verbatim).
    Unexpanded,
}

impl ConfigDiagnostic {
    pub fn severity(&self) -> Severity {
        match self {
            ConfigDiagnostic::UnsetVariable { credential, .. } => {
                if *credential {
                    Severity::Warning
                } else {
                    Severity::Info
                }
            }
            ConfigDiagnostic::SectionKeyIgnored { .. }
            | ConfigDiagnostic::GlobalConfigSkipped { .. } => Severity::Info,
            _ => Severity::Warning,
        }
    }

    /// Whether this comes from package.json's `publishConfig` (made again
    /// for each package, by [`crate::config::Config::with_publish_config`]).
    pub fn from_publish_config(&self) -> bool {
        matches!(
            self,
            ConfigDiagnostic::PublishConfigValueIgnored { .. }
                | ConfigDiagnostic::CredentialInPublishConfig { .. }
                | ConfigDiagnostic::SuspiciousDistTag { .. }
                | ConfigDiagnostic::UnknownKey {
                    origin: Origin::PublishConfig { .. },
                    ..
                }
        )
    }

    /// Whether this is about a credential (token, password, `_auth`).
    pub fn is_credential(&self) -> bool {
        matches!(
            self,
            ConfigDiagnostic::UnsetVariable {
                credential: true,
                ..
            } | ConfigDiagnostic::PlaceholderToken { .. }
                | ConfigDiagnostic::EmptyCredential { .. }
                | ConfigDiagnostic::NodeAuthToken(_)
                | ConfigDiagnostic::CredentialInPublishConfig { .. }
                | ConfigDiagnostic::CredentialHostChosenByRepository { .. }
        )
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigDiagnostic::UnsetVariable {
                var,
                credential: true,
                ..
            } => Some(if var == "NODE_AUTH_TOKEN" {
                "actions/setup-node writes `${NODE_AUTH_TOKEN}` into the npmrc when `registry-url` is set: \
                 pass `env: NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}` to the publish step, or rely on trusted publishing (OIDC)"
                    .to_string()
            } else {
                format!("export {var} in the environment of the publish step, or remove the line")
            }),
            ConfigDiagnostic::PlaceholderToken { .. }
            | ConfigDiagnostic::NodeAuthToken(NodeAuthTokenProblem::Placeholder) => Some(
                "older actions/setup-node versions export this placeholder when no token is given: \
                 set NODE_AUTH_TOKEN to a real token, or rely on trusted publishing (OIDC)"
                    .into(),
            ),
            ConfigDiagnostic::EmptyCredential { .. }
            | ConfigDiagnostic::NodeAuthToken(NodeAuthTokenProblem::Empty) => Some(
                "an empty value usually means the CI secret it comes from does not exist or is not available to this job"
                    .into(),
            ),
            ConfigDiagnostic::NodeAuthToken(NodeAuthTokenProblem::Unexpanded) => Some(
                "NODE_AUTH_TOKEN must hold the token itself, not a `${...}` template".into(),
            ),
            ConfigDiagnostic::CredentialInPublishConfig { .. } => Some(
                "move the credential to an npmrc or the CI's secret store; package.json is published".into(),
            ),
            ConfigDiagnostic::CredentialHostChosenByRepository {
                registry,
                chosen_by,
                ..
            } => {
                let dart = super::nerf_dart_of(registry).unwrap_or_else(|| registry.clone());
                Some(format!(
                    "if {registry} is the right registry, choose it or bind the token to it outside the repository: \
                     pass --registry {registry} (or set npm_config_registry), or add `{dart}:_authToken=${{NODE_AUTH_TOKEN}}` \
                     to the user npmrc (actions/setup-node's `registry-url` writes that line); otherwise remove {} from the repository",
                    chosen_by.place()
                ))
            }
            _ => None,
        }
    }
}

impl fmt::Display for ConfigDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigDiagnostic::UnsetVariable {
                var,
                key,
                origin,
                credential,
            } => {
                write!(f, "`${{{var}}}` in {} is not set", origin.place())?;
                if key.contains(&format!("${{{var}}}")) {
                    write!(f, ": the key `{key}` keeps the literal text and matches no registry")
                } else if *credential {
                    write!(
                        f,
                        ": `{key}` holds the literal text `${{{var}}}`, which is not sent as a credential"
                    )
                } else {
                    write!(f, " (`{key}` keeps the literal text)")
                }
            }
            ConfigDiagnostic::PlaceholderToken { key, origin } => write!(
                f,
                "`{key}` in {} is setup-node's placeholder {SETUP_NODE_PLACEHOLDER}, not a token",
                origin.place()
            ),
            ConfigDiagnostic::EmptyCredential { key, origin, vars } => {
                write!(f, "`{key}` in {} is empty", origin.place())?;
                if !vars.is_empty() {
                    let names: Vec<String> = vars.iter().map(|v| format!("{v} is set but empty")).collect();
                    write!(f, " ({})", names.join(", "))?;
                }
                f.write_str(", so npm treats it as no credential")
            }
            ConfigDiagnostic::NodeAuthToken(p) => match p {
                NodeAuthTokenProblem::Placeholder => write!(
                    f,
                    "NODE_AUTH_TOKEN is setup-node's placeholder {SETUP_NODE_PLACEHOLDER}, not a token"
                ),
                NodeAuthTokenProblem::Empty => f.write_str("NODE_AUTH_TOKEN is set but empty"),
                NodeAuthTokenProblem::Unexpanded => {
                    f.write_str("NODE_AUTH_TOKEN contains an unexpanded `${...}` placeholder, not a token")
                }
            },
            ConfigDiagnostic::UnknownKey { name, key, origin } => {
                let where_ = origin.npm_where();
                let dashes = if where_ == "cli" { "--" } else { "" };
                let hint = if where_ == "cli" {
                    ""
                } else {
                    " See `npm help npmrc` for supported config options."
                };
                if name == key {
                    write!(f, "Unknown {where_} config \"{dashes}{name}\". This will stop working in the next major version of npm.{hint}")
                } else {
                    write!(f, "Unknown {where_} config \"{name}\" ({key}). This will stop working in the next major version of npm.{hint}")
                }?;
                write!(f, " ({})", origin.place())
            }
            ConfigDiagnostic::SectionKeyIgnored {
                section,
                key,
                path,
                line,
            } => write!(
                f,
                "`{key}` in {}:{line} is inside the section [{section}], which npm does not read",
                path.display()
            ),
            ConfigDiagnostic::UnreadableFile { path, error } => {
                write!(f, "could not read {} ({error}); npm ignores it too", path.display())
            }
            ConfigDiagnostic::WorkspaceNpmrcIgnored { path } => {
                write!(f, "ignoring workspace config at {}", path.display())
            }
            ConfigDiagnostic::PrefixInProjectConfig { path } => {
                write!(f, "prefix cannot be changed from project config: {}.", path.display())
            }
            ConfigDiagnostic::GlobalConfigSkipped { reason } => {
                write!(f, "the global npmrc was not read: {reason}")
            }
            ConfigDiagnostic::PublishConfigValueIgnored { key, reason } => {
                write!(f, "package.json publishConfig.{key} is ignored: {reason}")
            }
            ConfigDiagnostic::CredentialHostChosenByRepository {
                credential,
                registry,
                chosen_by,
                outside,
            } => write!(
                f,
                "{credential} is not sent to {registry}: that registry was chosen by {}, a file in the repository (in a pull request, an attacker's), while the registry chosen outside the repository is {outside}",
                chosen_by.place()
            ),
            ConfigDiagnostic::CredentialInPublishConfig { key } => write!(
                f,
                "package.json publishConfig sets the credential `{key}`; npm uses it for the upload, but package.json is public"
            ),
            ConfigDiagnostic::SuspiciousDistTag {
                tag,
                origin,
                reason,
            } => write!(f, "the dist-tag {tag:?} from {} {reason}", origin.place()),
            ConfigDiagnostic::ExpandedBoolean { key, origin, value } => {
                let npm = match (key.as_str(), value) {
                    ("provenance", true) => "npm 11 sees the string \"true\" and makes no provenance statement",
                    ("ignore-scripts", false) => {
                        "npm 11 sees a non-empty string and skips the prepack, prepare and postpack scripts"
                    }
                    _ => "npm 11 sees a string, not a boolean",
                };
                write!(
                    f,
                    "`{key}` in {} is set through `${{...}}`: trustpub reads {value}, while {npm}",
                    origin.place()
                )
            }
        }
    }
}

/// `redact_url` for values that may be URLs (registries) in messages.
pub(super) fn shown_value(key: &str, value: &str) -> Option<String> {
    if super::keys::is_sensitive(key) {
        None
    } else {
        Some(redact_url(value))
    }
}
