//! The typed settings a publish reads (tag, access, registry, scripts,
//! retries), each from the view npm reads it from.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value as Json;
use url::Url;

use super::coerce::{
    coerce_bool, coerce_enum, coerce_nullable_str, coerce_number, coerce_str, describe_type,
    is_registry_url, is_uri_component_safe, script_shell_of,
};
use super::error::ConfigError;
use super::keys::KeyType;
use super::value::{ConfigValue, Origin};
use super::{Config, DEFAULT_REGISTRY};
use crate::js::{js_trim, to_js_string, truthy};
use crate::secret::Secret;

/// `access`: who may install the package. `null` (no value) lets the
/// registry decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// `restricted`, or its alias `private`.
    Restricted,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// npm's retry settings (`fetch-retries`, `fetch-retry-factor`,
/// `fetch-retry-mintimeout`, `fetch-retry-maxtimeout`) and `fetch-timeout`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    pub factor: f64,
    pub min_timeout: Duration,
    pub max_timeout: Duration,
    /// The timeout of one attempt, headers and body (`fetch-timeout`;
    /// `0` is npm-registry-fetch's 30 s). `None` only in tests.
    pub timeout: Option<Duration>,
}

impl RetryPolicy {
    /// The wait before retry `n` (0-based), as `@gar/promise-retry` computes
    /// it: `min(round(minTimeout * factor^n), maxTimeout)`.
    pub fn delay(&self, n: u32) -> Duration {
        let ms = (self.min_timeout.as_millis() as f64 * self.factor.powi(n as i32)).round();
        let max = self.max_timeout.as_millis() as f64;
        Duration::from_millis(ms.min(max).max(0.0) as u64)
    }
}

/// The registry chosen for a package, as npm has it (not normalised: it is
/// printed and used the way it was written, except on the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub url: String,
    /// Which key chose it: `registry` or `@scope:registry`.
    pub key: String,
    pub origin: Origin,
}

/// The most a repository file (project npmrc, `publishConfig`) may set the
/// retry settings to: 10 retries, a factor of 10, 60 s and 120 s between
/// attempts, 10 minutes per request. npm takes any value; a value chosen
/// outside the repository still is.
pub const REPOSITORY_RETRY_CAPS: [(&str, f64); 5] = [
    ("fetch-retries", 10.0),
    ("fetch-retry-factor", 10.0),
    ("fetch-retry-mintimeout", 60_000.0),
    ("fetch-retry-maxtimeout", 120_000.0),
    ("fetch-timeout", 600_000.0),
];

impl Registry {
    /// The URL of a package document: the registry without its trailing
    /// slash, `/`, then the escaped name (npm-registry-fetch).
    pub fn package_url(&self, escaped_name: &str) -> String {
        let reg = js_trim(&self.url);
        let reg = reg.strip_suffix('/').unwrap_or(reg);
        let name = js_trim(escaped_name);
        format!("{reg}/{}", name.strip_prefix('/').unwrap_or(name))
    }

    pub fn parsed(&self) -> Option<Url> {
        Url::parse(js_trim(&self.url)).ok()
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::secret::redact_url(&self.url))
    }
}

impl Config {
    fn str_of(v: Option<&ConfigValue>) -> Option<String> {
        v.and_then(|v| coerce_str(&v.value))
    }

    /// The config `tag` (npm's `config.get('tag')`): what npm checks and
    /// prints in "Publishing to … with tag …". Not `publishConfig.tag`.
    pub fn tag(&self) -> String {
        Self::str_of(self.get_config("tag")).unwrap_or_else(|| "latest".to_string())
    }

    /// npm's two checks of the config tag (publish.js step 2 and
    /// npm-package-arg's `fromRegistry`): it must not be a valid semver
    /// range (`v1`, `1.x` and `^1.0.0` are), and unless npm-package-arg
    /// reads it as a version or range, `encodeURIComponent` must leave it
    /// unchanged. npm-package-arg's other spec types (`file:`, `git+…`,
    /// `npm:` aliases) are not recognised: such tags are refused.
    pub fn check_tag(&self, package_name: &str) -> Result<(), ConfigError> {
        let tag = self.tag();
        let origin = self
            .get_config("tag")
            .map(|v| v.origin.clone())
            .unwrap_or(Origin::Default);
        if crate::semver::valid_range(&tag, false).is_some() {
            return Err(ConfigError::TagIsSemverRange {
                tag: js_trim(&tag).to_string(),
                origin,
            });
        }
        let spec = js_trim(&tag);
        let is_version_or_range = crate::semver::valid(spec, true).is_some()
            || crate::semver::valid_range(spec, true).is_some();
        if !is_version_or_range && !is_uri_component_safe(spec) {
            return Err(ConfigError::InvalidTagName {
                tag: spec.to_string(),
                package: package_name.to_string(),
                origin,
            });
        }
        Ok(())
    }

    /// The dist-tag the version is published under: package.json `"tag"`,
    /// else `publishConfig.tag`, else the config tag (libnpmpublish's
    /// `manifest.tag || opts.defaultTag`).
    pub fn dist_tag(&self) -> String {
        if let Some(t) = self.manifest_tag.as_ref().and_then(|v| v.value.as_str()) {
            return t.to_string();
        }
        Self::str_of(self.get("tag")).unwrap_or_else(|| "latest".to_string())
    }

    /// npm's `isDefaultTag`: the config tag is the default and
    /// `publishConfig.tag` is not set (even when `--tag` filtered it out).
    /// Prerelease versions and versions below the latest need a tag then.
    pub fn is_default_tag(&self) -> bool {
        self.is_default("tag") && !self.publish_config_tag
    }

    /// `access` from the options view; `private` is `restricted`.
    pub fn access(&self) -> Option<Access> {
        let v = self.get("access")?;
        match coerce_enum(&v.value, &["restricted", "public", "private"], true)? {
            Some(s) if s == "public" => Some(Access::Public),
            Some(_) => Some(Access::Restricted),
            None => None,
        }
    }

    /// The registry from the options view (`opts.registry`).
    pub fn registry(&self) -> Registry {
        Self::registry_of(self.get("registry"))
    }

    pub(super) fn registry_of(v: Option<&ConfigValue>) -> Registry {
        match v {
            Some(v) => Registry {
                url: to_js_string(&v.value),
                key: "registry".into(),
                origin: v.origin.clone(),
            },
            None => Registry {
                url: DEFAULT_REGISTRY.into(),
                key: "registry".into(),
                origin: Origin::Default,
            },
        }
    }

    /// The `scope` option with its `@` (`flatten` adds it).
    pub fn scope(&self) -> Option<String> {
        Self::scope_of(self.get("scope"))
    }

    fn scope_of(v: Option<&ConfigValue>) -> Option<String> {
        let s = Self::str_of(v)?;
        if s.is_empty() {
            None
        } else if s.starts_with('@') {
            Some(s)
        } else {
            Some(format!("@{s}"))
        }
    }

    /// npm-registry-fetch's `pickRegistry(spec, opts)`: `@scope:registry`
    /// for the package's scope, else for the `scope` option, else
    /// `registry`. A scope registry beats `--registry` and
    /// `publishConfig.registry`.
    pub fn registry_for(&self, package_name: &str) -> Result<Registry, ConfigError> {
        self.pick_registry(package_name, &|k| self.get(k))
    }

    /// [`Config::registry_for`] over the values chosen outside the
    /// repository only: the command line, the environment, a user or
    /// global npmrc the repository did not choose, and npm's defaults
    /// (never the project npmrc or `publishConfig`). A credential that is
    /// not bound to a host by the user goes only to this registry's origin.
    pub fn outside_registry_for(&self, package_name: &str) -> Registry {
        self.pick_registry(package_name, &|k| self.outside_get(k))
            .unwrap_or_else(|_| Self::registry_of(None))
    }

    /// Whether `origin` is a file or field of the repository being
    /// published (attacker-controlled in a pull request): the project
    /// npmrc (and npmrc files it chose), `publishConfig`, package.json.
    pub fn chosen_in_repository(&self, origin: &Origin) -> bool {
        match origin {
            Origin::PublishConfig { .. } | Origin::Manifest { .. } => true,
            Origin::File { layer, .. } => self.repository_layers.contains(layer),
            Origin::Default | Origin::Cli { .. } | Origin::Env { .. } | Origin::Session => false,
        }
    }

    /// When files in the repository moved the publish of `package_name` to
    /// another origin than the one chosen outside it: the registry they
    /// chose, and the one chosen outside.
    pub fn registry_moved_by_repository(&self, package_name: &str) -> Option<(Registry, Registry)> {
        let effective = self.registry_for(package_name).ok()?;
        let outside = self.outside_registry_for(package_name);
        let moved = self.chosen_in_repository(&effective.origin)
            && crate::registry::origin(js_trim(&effective.url))
                != crate::registry::origin(js_trim(&outside.url));
        moved.then_some((effective, outside))
    }

    fn pick_registry<'c>(
        &'c self,
        package_name: &str,
        get: &dyn Fn(&str) -> Option<&'c ConfigValue>,
    ) -> Result<Registry, ConfigError> {
        let pkg_scope = package_name.starts_with('@').then(|| {
            package_name
                .split('/')
                .next()
                .unwrap_or(package_name)
                .to_string()
        });
        for scope in [pkg_scope, Self::scope_of(get("scope"))]
            .into_iter()
            .flatten()
        {
            let key = format!("{scope}:registry");
            if let Some(v) = get(&key).filter(|v| truthy(&v.value)) {
                let url = js_trim(&to_js_string(&v.value)).to_string();
                if !is_registry_url(&url) {
                    return Err(ConfigError::InvalidValue {
                        key,
                        value: Some(crate::secret::redact_url(&url)),
                        origin: v.origin.clone(),
                        expected: describe_type(KeyType::Url),
                    });
                }
                return Ok(Registry {
                    url,
                    key,
                    origin: v.origin.clone(),
                });
            }
        }
        Ok(Self::registry_of(get("registry")))
    }

    /// `provenance` from the options view, as libnpmpublish tests it
    /// (`=== true`: a `publishConfig` string `"true"` does not count).
    pub fn provenance(&self) -> bool {
        match self.get("provenance") {
            Some(v) if matches!(v.origin, Origin::PublishConfig { .. }) => {
                v.value == Json::Bool(true)
            }
            Some(v) => coerce_bool(&v.value) == Some(true),
            None => false,
        }
    }

    /// `provenance-file` from the options view.
    pub fn provenance_file(&self) -> Option<PathBuf> {
        let v = self.get("provenance-file")?;
        match &v.value {
            Json::String(s) if !s.is_empty() => Some(PathBuf::from(s)),
            _ => None,
        }
    }

    /// The one-time password from the options view.
    pub fn otp(&self) -> Option<Secret<String>> {
        let v = self.get("otp")?;
        coerce_nullable_str(&v.value)
            .flatten()
            .filter(|s| !s.is_empty())
            .map(Secret::new)
    }

    /// The `npm-auth-type` header: `legacy` when an OTP is given (the `otp`
    /// flatten sets it), else the `auth-type` option (`web`).
    pub fn auth_type(&self) -> String {
        if self.otp().is_some() {
            return "legacy".into();
        }
        Self::str_of(self.get("auth-type")).unwrap_or_else(|| "web".into())
    }

    fn config_bool(&self, key: &str) -> bool {
        self.get_config(key)
            .and_then(|v| coerce_bool(&v.value))
            .unwrap_or(false)
    }

    /// `dry-run` (config view: npm reads it with `config.get`).
    pub fn dry_run(&self) -> bool {
        self.config_bool("dry-run")
    }

    /// `force` (config view).
    pub fn force(&self) -> bool {
        self.config_bool("force")
    }

    /// `ignore-scripts` for `prepublishOnly`, `publish` and `postpublish`
    /// (config view).
    pub fn ignore_scripts(&self) -> bool {
        self.config_bool("ignore-scripts")
    }

    /// `ignore-scripts` for `prepack`, `prepare` and `postpack` during
    /// publish: libnpmpack reads the options, so `publishConfig` counts here
    /// (JavaScript truthiness) but not for the other scripts.
    pub fn pack_ignore_scripts(&self) -> bool {
        match self.get("ignore-scripts") {
            Some(v) if matches!(v.origin, Origin::PublishConfig { .. }) => truthy(&v.value),
            Some(v) => coerce_bool(&v.value) == Some(true),
            None => false,
        }
    }

    /// `script-shell` for `prepublishOnly`, `publish` and `postpublish`
    /// (config view; empty or `null` is unset, as npm's `|| undefined`).
    pub fn script_shell(&self) -> Option<String> {
        self.get_config("script-shell").and_then(script_shell_of)
    }

    /// `script-shell` for `prepack`, `prepare` and `postpack` during
    /// publish: libnpmpack reads the options (`scriptShell`), so
    /// `publishConfig` counts here.
    pub fn pack_script_shell(&self) -> Option<String> {
        self.get("script-shell").and_then(script_shell_of)
    }

    /// Retries and timeouts from the options view.
    /// The retry settings as npm reads them (`fetch-retries`,
    /// `fetch-retry-factor`, `fetch-retry-mintimeout`,
    /// `fetch-retry-maxtimeout`, `fetch-timeout`).
    pub fn retry(&self) -> RetryPolicy {
        // A value a repository file chose is capped (`REPOSITORY_RETRY_CAPS`):
        // a pull request must not make a run wait for days.
        let num = |key: &str, default: f64| {
            self.get(key)
                .and_then(|v| {
                    let n = coerce_number(&v.value)?;
                    let cap = REPOSITORY_RETRY_CAPS
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, c)| *c)
                        .filter(|_| self.chosen_in_repository(v.origin()))
                        .unwrap_or(f64::INFINITY);
                    Some(n.min(cap))
                })
                .filter(|n| n.is_finite() && *n >= 0.0)
                .unwrap_or(default)
        };
        let timeout = num("fetch-timeout", 300_000.0);
        RetryPolicy {
            retries: num("fetch-retries", 2.0).ceil() as u32,
            factor: num("fetch-retry-factor", 10.0),
            min_timeout: Duration::from_millis(num("fetch-retry-mintimeout", 10_000.0) as u64),
            max_timeout: Duration::from_millis(num("fetch-retry-maxtimeout", 60_000.0) as u64),
            // npm-registry-fetch: `timeout: opts.timeout || 30 * 1000`.
            timeout: Some(Duration::from_millis(if timeout > 0.0 {
                timeout as u64
            } else {
                30_000
            })),
        }
    }
}
