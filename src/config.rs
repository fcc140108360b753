//! Resolved settings, as npm 11 resolves them (`@npmcli/config`).
//!
//! # Layers and precedence
//!
//! Highest first, as `@npmcli/config/lib/index.js` loads them:
//!
//! 1. **cli**: [`CliConfig`] (flags).
//! 2. **env**: `npm_config_*` variables, prefix in any case; after it `_`
//!    becomes `-` (except a leading `_`) and the key is lower-cased, except
//!    `//…` keys, which are verbatim. Empty values are skipped.
//! 3. **project**: `<localPrefix>/.npmrc`, where the local prefix is the
//!    nearest ancestor of the working directory holding `package.json` or
//!    `node_modules` (or the workspace root above it); see `config/prefix.rs`.
//!    Skipped when it is the same file as the user config.
//! 4. **user**: `--userconfig`, else `userconfig` from env (that is how
//!    `NPM_CONFIG_USERCONFIG`, which setup-node exports, works) or the
//!    project npmrc, else `$HOME/.npmrc`.
//! 5. **global**: `--globalconfig` or `globalconfig` from a higher layer,
//!    else `<prefix>/etc/npmrc` with `prefix` from a higher layer, `$PREFIX`,
//!    or the install directory of the `node` found on `PATH` (npm uses its
//!    own node). With no prefix at all the global npmrc is skipped and a
//!    diagnostic says so.
//! 6. **default**: npm's defaults for the keys trustpub reads.
//!
//! npm's *builtin* npmrc (`<npm install dir>/npmrc`) does not exist for
//! trustpub, which is not installed inside npm.
//!
//! Every key and value from files and env goes through `${VAR}` expansion
//! (`config/expand.rs`) and npm's `parseField` (`config/keys.rs`). Unset variables are
//! recorded, so a credential that is still `${NODE_AUTH_TOKEN}` is reported
//! and never sent.
//!
//! # Two views: config and options
//!
//! npm reads some settings from its *config* (`npm.config.get`: `tag` for the
//! checks and the "Publishing to … with tag …" notice, `dry-run`, `force`,
//! `ignore-scripts` for lifecycle scripts, the `ENEEDAUTH` pre-check) and
//! others from the *flat options* it passes to libnpmpublish and
//! npm-registry-fetch (`registry`, `@scope:registry`, the dist-tag,
//! `access`, `provenance`, `otp`, retries, and every credential used for a
//! request). `publishConfig` from package.json is flattened into the options
//! only, for keys not given on the command line (`lib/commands/publish.js`).
//! [`Config::get`] is the options view, [`Config::get_config`] the config
//! view, and each typed accessor says which one it follows.
//!
//! # Where trustpub is stricter than npm (on purpose)
//!
//! * A value of the wrong type (`access=open`, `fetch-retries=many`, a
//!   registry that is not a URL) is a [`ConfigError`]; npm warns and falls
//!   back to a lower layer.
//! * A credential that is an unexpanded `${VAR}` or setup-node's placeholder
//!   is reported and not sent; npm sends it.
//! * `NODE_AUTH_TOKEN` is used as a bearer token for the registry when no
//!   npmrc or env credential exists for it (npm never reads that variable
//!   itself; only `${NODE_AUTH_TOKEN}` in an npmrc does).
//! * Booleans are read as npm's validation reads them everywhere. npm builds
//!   its flat options before validating, so `provenance=${P}` with `P=true`
//!   reaches libnpmpublish as the string `"true"` and no provenance is made;
//!   trustpub makes it, and reports [`ConfigDiagnostic::ExpandedBoolean`].

mod credentials;
mod error;
mod expand;
mod ini;
mod keys;
mod network;
pub(crate) mod prefix;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value as Json};
use url::Url;

pub use credentials::{
    host_port, nerf_dart, node_base64_decode, Authorization, ClientCert, Credential,
    CredentialLookup, CredentialSource,
};
pub use error::{
    ConfigDiagnostic, ConfigError, LegacyAuthAction, LegacyAuthProblem, NodeAuthTokenProblem,
    Severity, SETUP_NODE_PLACEHOLDER,
};
pub use expand::{env_replace, Expanded};
pub use keys::env_var_key;
pub use network::{NetworkSettings, ProxySetting};

use crate::env::Env;
use crate::js::{js_trim, to_js_string, truthy};
use crate::secret::Secret;
use keys::{
    is_sensitive, js_to_number, key_type, parse_field, unknown_key_name, KeyType, PathBase,
};

/// npm's default registry.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org/";

/// A configuration layer, lowest precedence first (so `Ord` is precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Default,
    Global,
    User,
    Project,
    Env,
    Cli,
}

impl Layer {
    /// npm's name for the layer (`where` in `@npmcli/config`).
    pub fn npm_name(self) -> &'static str {
        match self {
            Layer::Default => "default",
            Layer::Global => "global",
            Layer::User => "user",
            Layer::Project => "project",
            Layer::Env => "env",
            Layer::Cli => "cli",
        }
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// npm's default.
    Default,
    /// A command-line flag, e.g. `--registry`.
    Cli { flag: String },
    /// An environment variable, e.g. `npm_config_registry`.
    Env { var: String },
    /// A line of an npmrc file.
    File {
        layer: Layer,
        path: PathBuf,
        line: usize,
    },
    /// `publishConfig.<key>` in package.json.
    PublishConfig { key: String },
    /// A top-level package.json field (`"tag"`).
    Manifest { field: String },
    /// Set during the run (the token from trusted publishing).
    Session,
}

impl Origin {
    /// Where, in words: `/home/u/.npmrc:3 (user config)`,
    /// `environment variable npm_config_tag`, `--tag on the command line`, ...
    pub fn place(&self) -> String {
        match self {
            Origin::Default => "npm's defaults".to_string(),
            Origin::Cli { flag } => format!("{flag} on the command line"),
            Origin::Env { var } => format!("environment variable {var}"),
            Origin::File { layer, path, line } => {
                format!("{}:{line} ({} config)", path.display(), layer.npm_name())
            }
            Origin::PublishConfig { key } => format!("package.json publishConfig.{key}"),
            Origin::Manifest { field } => format!("package.json \"{field}\""),
            Origin::Session => "the token from trusted publishing".to_string(),
        }
    }

    /// Where, shortly: `path:line` for files, else as [`Origin::place`].
    pub fn location(&self) -> String {
        match self {
            Origin::File { path, line, .. } => format!("{}:{line}", path.display()),
            other => other.place(),
        }
    }

    /// The `where` npm prints in "Unknown `<where>` config" warnings.
    pub fn npm_where(&self) -> &'static str {
        match self {
            Origin::Default => "default",
            Origin::Cli { .. } => "cli",
            Origin::Env { .. } => "env",
            Origin::File { layer, .. } => layer.npm_name(),
            Origin::PublishConfig { .. } | Origin::Manifest { .. } => "publishConfig",
            Origin::Session => "user",
        }
    }

    /// The layer of a value from npm's own sources (not `publishConfig`).
    pub fn layer(&self) -> Option<Layer> {
        match self {
            Origin::Default => Some(Layer::Default),
            Origin::Cli { .. } => Some(Layer::Cli),
            Origin::Env { .. } => Some(Layer::Env),
            Origin::File { layer, .. } => Some(*layer),
            _ => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.place())
    }
}

/// One setting: its key, parsed value and origin. Values of secret keys
/// (`…:_authToken`, `…:_password`, `otp`, ...) are masked in `Debug` and not
/// returned by [`ConfigValue::value`].
#[derive(Clone, PartialEq)]
pub struct ConfigValue {
    key: String,
    value: Json,
    origin: Origin,
    unset: Vec<String>,
    empty: Vec<String>,
    /// Whether the value holds text substituted from the environment, or
    /// came from it (a command-line or environment value).
    from_env: bool,
}

impl ConfigValue {
    fn new(key: &str, value: Json, origin: Origin, unset: Vec<String>) -> ConfigValue {
        ConfigValue {
            key: key.to_string(),
            value,
            origin,
            unset,
            empty: Vec::new(),
            from_env: false,
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Variables its `${VAR}` references left unexpanded.
    pub fn unset_vars(&self) -> &[String] {
        &self.unset
    }

    pub fn is_sensitive(&self) -> bool {
        is_sensitive(&self.key)
    }

    /// The value, unless it is a secret.
    pub fn value(&self) -> Option<&Json> {
        (!self.is_sensitive()).then_some(&self.value)
    }

    /// The value as a string, unless it is a secret or not a string.
    pub fn as_str(&self) -> Option<&str> {
        self.value().and_then(Json::as_str)
    }

    /// The value even if it is a secret (like [`Secret::expose`]).
    pub fn expose(&self) -> &Json {
        &self.value
    }

    fn json(&self) -> &Json {
        &self.value
    }
}

impl fmt::Debug for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ConfigValue");
        d.field("key", &self.key);
        if self.is_sensitive() {
            d.field("value", &"****");
        } else {
            d.field("value", &self.value);
        }
        d.field("origin", &self.origin)
            .field("unset", &self.unset)
            .finish()
    }
}

/// The flags of the command line that are configuration, already parsed by
/// clap. `false` for the booleans means "not given" (as npm's nopt, a flag
/// given as false would still count as given for `publishConfig`).
#[derive(Clone, Default)]
pub struct CliConfig {
    pub registry: Option<String>,
    pub tag: Option<String>,
    pub access: Option<String>,
    pub otp: Option<Secret<String>>,
    pub userconfig: Option<PathBuf>,
    pub globalconfig: Option<PathBuf>,
    pub provenance: Option<bool>,
    pub provenance_file: Option<PathBuf>,
    pub dry_run: bool,
    pub force: bool,
    pub ignore_scripts: bool,
    /// Any other `--key=value`, as npm accepts any config key on its command
    /// line (including `--//host/:_authToken=…`, so values are masked in
    /// `Debug` for secret keys).
    pub extra: Vec<(String, String)>,
}

impl fmt::Debug for CliConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extra: Vec<(String, String)> = self
            .extra
            .iter()
            .map(|(k, v)| {
                let v = if is_sensitive(k) {
                    "****".to_string()
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect();
        f.debug_struct("CliConfig")
            .field("registry", &self.registry)
            .field("tag", &self.tag)
            .field("access", &self.access)
            .field("otp", &self.otp)
            .field("userconfig", &self.userconfig)
            .field("globalconfig", &self.globalconfig)
            .field("provenance", &self.provenance)
            .field("provenance_file", &self.provenance_file)
            .field("dry_run", &self.dry_run)
            .field("force", &self.force)
            .field("ignore_scripts", &self.ignore_scripts)
            .field("extra", &extra)
            .finish()
    }
}

impl CliConfig {
    /// `(key, value, flag)` in the order nopt would have seen them.
    fn entries(&self) -> Vec<(String, Json, String)> {
        let mut out = Vec::new();
        let mut s = |key: &str, v: Json| {
            out.push((key.to_string(), v, format!("--{key}")));
        };
        if let Some(v) = &self.registry {
            s("registry", Json::String(v.clone()));
        }
        if let Some(v) = &self.tag {
            s("tag", Json::String(v.clone()));
        }
        if let Some(v) = &self.access {
            s("access", Json::String(v.clone()));
        }
        if let Some(v) = &self.otp {
            s("otp", Json::String(v.expose().clone()));
        }
        if let Some(v) = &self.userconfig {
            s("userconfig", Json::String(v.to_string_lossy().into_owned()));
        }
        if let Some(v) = &self.globalconfig {
            s(
                "globalconfig",
                Json::String(v.to_string_lossy().into_owned()),
            );
        }
        if let Some(v) = self.provenance {
            s("provenance", Json::Bool(v));
        }
        if let Some(v) = &self.provenance_file {
            s(
                "provenance-file",
                Json::String(v.to_string_lossy().into_owned()),
            );
        }
        if self.dry_run {
            s("dry-run", Json::Bool(true));
        }
        if self.force {
            s("force", Json::Bool(true));
        }
        if self.ignore_scripts {
            s("ignore-scripts", Json::Bool(true));
        }
        for (k, v) in &self.extra {
            s(k, Json::String(v.clone()));
        }
        if self.provenance == Some(false) {
            if let Some(e) = out.iter_mut().find(|e| e.0 == "provenance") {
                e.2 = "--no-provenance".to_string();
            }
        }
        out
    }
}

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

/// The files npm would read, and the local prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFiles {
    pub local_prefix: PathBuf,
    /// `None` when npm skips the project config (same file as the user
    /// config, or global mode).
    pub project: Option<PathBuf>,
    pub user: PathBuf,
    /// `None` when the global prefix is unknown.
    pub global: Option<PathBuf>,
    /// Those that existed and were read.
    pub read: Vec<PathBuf>,
}

impl ConfigFiles {
    /// "a, b (not found), …": the npmrc files that were looked at, for messages.
    pub fn describe(&self) -> String {
        let mut all: Vec<&PathBuf> = Vec::new();
        all.extend(self.project.iter());
        all.push(&self.user);
        all.extend(self.global.iter());
        let parts: Vec<String> = all
            .iter()
            .map(|p| {
                if self.read.contains(p) {
                    p.display().to_string()
                } else {
                    format!("{} (not found)", p.display())
                }
            })
            .collect();
        parts.join(", ")
    }
}

/// The nerf-dart (`//host[:port]/path/`) npm files a registry's credentials under.
pub fn nerf_dart_of(url: &str) -> Option<String> {
    credentials::nerf_dart(url)
}

#[derive(Clone, Default)]
struct LayerData {
    values: BTreeMap<String, ConfigValue>,
    /// Original (unexpanded) keys in load order, for warnings and the
    /// command-line filter of `publishConfig`.
    raw_keys: Vec<String>,
}

/// The resolved configuration. See the module documentation.
#[derive(Clone)]
pub struct Config {
    /// Indexed by `Layer as usize`.
    layers: [LayerData; 6],
    /// `publishConfig`, flattened into the options view.
    overlay: BTreeMap<String, ConfigValue>,
    /// Values set during the run (OIDC token), highest in the options view.
    session: BTreeMap<String, ConfigValue>,
    manifest_tag: Option<ConfigValue>,
    publish_config_tag: bool,
    files: ConfigFiles,
    diagnostics: Vec<ConfigDiagnostic>,
    node_auth_token: Option<Secret<String>>,
    /// The npmrc layers whose file the repository controls: the project
    /// npmrc, and a user or global npmrc whose path the project npmrc chose
    /// (`userconfig=`, `globalconfig=`, `prefix=` in it).
    repository_layers: Vec<Layer>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&ConfigValue> = Vec::new();
        for l in self.layers.iter().rev() {
            keys.extend(l.values.values());
        }
        f.debug_struct("Config")
            .field("values", &keys)
            .field("publish_config", &self.overlay.values().collect::<Vec<_>>())
            .field("files", &self.files)
            .finish()
    }
}

/// The directories whose files a pull request can change: the git work
/// tree around the working directory (the nearest ancestor with a `.git`),
/// and the local prefix when it is a package (it has a `package.json`).
/// A user or global npmrc inside one of them (`NPM_CONFIG_USERCONFIG:
/// ${{ github.workspace }}/.npmrc`) is a repository file like the project
/// npmrc.
fn repository_roots(cwd: &Path, local_prefix: &Path) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(git) = cwd.ancestors().find(|d| d.join(".git").exists()) {
        roots.push(git.to_path_buf());
    }
    if local_prefix.join("package.json").is_file() {
        roots.push(local_prefix.to_path_buf());
    }
    roots
        .into_iter()
        .map(|r| std::fs::canonicalize(&r).unwrap_or(r))
        .collect()
}

/// Whether `file` (which may not exist) lies inside one of `roots`.
fn inside_any(file: &Path, roots: &[PathBuf]) -> bool {
    let parent = file.parent().unwrap_or(file);
    let dir = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
    roots.iter().any(|r| dir.starts_with(r))
}

/// Builds layers, keeping npm's order-dependent checks in one place.
struct Loader<'a> {
    env: &'a Env,
    cwd: PathBuf,
    home: Option<PathBuf>,
    config: Config,
}

const ALL_LAYERS: [Layer; 6] = [
    Layer::Cli,
    Layer::Env,
    Layer::Project,
    Layer::User,
    Layer::Global,
    Layer::Default,
];

fn exclusive_with(key: &str) -> Option<&'static str> {
    match key {
        "provenance" => Some("provenance-file"),
        "provenance-file" => Some("provenance"),
        _ => None,
    }
}

fn is_credential_key(key: &str) -> bool {
    let base = key.rsplit(':').next().unwrap_or(key);
    key.starts_with("//") && matches!(base, "_authToken" | "_auth" | "_password" | "username")
}

impl Loader<'_> {
    fn layer(&mut self, l: Layer) -> &mut LayerData {
        &mut self.config.layers[l as usize]
    }

    fn base(&self) -> PathBase<'_> {
        PathBase {
            cwd: &self.cwd,
            home: self.home.as_deref(),
        }
    }

    /// `#loadObject(obj, where, source)`: expands keys, parses values,
    /// applies the `exclusive` rule and records unknown keys.
    fn load_object(
        &mut self,
        layer: Layer,
        entries: Vec<(String, Json, Origin)>,
    ) -> Result<(), ConfigError> {
        'outer: for (raw_key, raw_value, origin) in entries {
            let key_exp = expand::env_replace(&raw_key, self.env);
            let key = key_exp.value;
            let ty = key_type(&key);
            let mut parsed = parse_field(&raw_value, ty, self.env, &self.base());
            if is_sensitive(&key) {
                crate::secret::register_config_value(&key, &parsed.value);
            }
            if layer == Layer::Cli && ty == KeyType::Url {
                if let Json::String(s) = &parsed.value {
                    if let Some(href) = legacy_href(s) {
                        parsed.value = Json::String(href);
                    }
                }
            }
            if layer != Layer::Default {
                if let Some(other) = exclusive_with(&raw_key) {
                    if let Some(other_value) = self.non_default(other) {
                        if layer == Layer::Env
                            && self.config.layers[Layer::Cli as usize]
                                .values
                                .contains_key(other)
                        {
                            continue 'outer;
                        }
                        return Err(ConfigError::Exclusive {
                            key: raw_key.clone(),
                            origin,
                            other: other.to_string(),
                            other_origin: Box::new(other_value.origin.clone()),
                        });
                    }
                }
                if let Some(name) = unknown_key_name(&raw_key) {
                    self.config.diagnostics.push(ConfigDiagnostic::UnknownKey {
                        name,
                        key: raw_key.clone(),
                        origin: origin.clone(),
                    });
                }
            }
            let mut unset = key_exp.unset;
            for u in parsed.unset {
                if !unset.contains(&u) {
                    unset.push(u);
                }
            }
            let value = ConfigValue {
                key: key.clone(),
                value: parsed.value,
                origin,
                unset,
                empty: parsed.empty,
                from_env: parsed.from_env,
            };
            let data = self.layer(layer);
            data.raw_keys.push(raw_key);
            data.values.insert(key, value);
        }
        Ok(())
    }

    /// The value of `key` in any non-default layer loaded so far.
    fn non_default(&self, key: &str) -> Option<&ConfigValue> {
        ALL_LAYERS[..5]
            .iter()
            .find_map(|l| self.config.layers[*l as usize].values.get(key))
    }

    /// `#get(key)` during loading: the highest layer loaded so far.
    fn current(&self, key: &str) -> Option<&ConfigValue> {
        ALL_LAYERS
            .iter()
            .find_map(|l| self.config.layers[*l as usize].values.get(key))
    }

    /// Whether the winning value of `key` so far comes from a file the
    /// repository controls.
    fn chosen_by_repository(&self, key: &str) -> bool {
        self.current(key)
            .and_then(|v| v.origin.layer())
            .is_some_and(|l| self.config.repository_layers.contains(&l))
    }

    fn current_path(&self, key: &str) -> Option<PathBuf> {
        self.current(key)
            .and_then(|v| v.value.as_str())
            .map(PathBuf::from)
    }

    /// `#loadFile(file, type)`: a missing file is nothing; an unreadable one
    /// is a diagnostic (npm logs it at verbose level and goes on).
    fn load_file(&mut self, path: &Path, layer: Layer) -> Result<(), ConfigError> {
        let bytes = match crate::limits::read_config_file(path, crate::limits::NPMRC_MAX) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if crate::limits::is_refusal(&e) => {
                return Err(ConfigError::RefusedFile {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
            }
            Err(e) => {
                self.config
                    .diagnostics
                    .push(ConfigDiagnostic::UnreadableFile {
                        path: path.to_path_buf(),
                        error: e.to_string(),
                    });
                return Ok(());
            }
        };
        self.config.files.read.push(path.to_path_buf());
        let text = String::from_utf8_lossy(&bytes);
        let parsed = ini::parse(&text);
        for s in parsed.sectioned {
            self.config
                .diagnostics
                .push(ConfigDiagnostic::SectionKeyIgnored {
                    section: s.section,
                    key: s.key,
                    path: path.to_path_buf(),
                    line: s.line,
                });
        }
        if layer == Layer::Project
            && parsed
                .entries
                .iter()
                .any(|e| e.key == "prefix" && truthy_ini(&e.value))
        {
            self.config
                .diagnostics
                .push(ConfigDiagnostic::PrefixInProjectConfig {
                    path: path.to_path_buf(),
                });
        }
        let entries = parsed
            .entries
            .into_iter()
            .map(|e| {
                let value = match e.value {
                    ini::IniValue::Scalar(v) => v,
                    ini::IniValue::Array(items) => Json::Array(items),
                };
                (
                    e.key,
                    value,
                    Origin::File {
                        layer,
                        path: path.to_path_buf(),
                        line: e.line,
                    },
                )
            })
            .collect();
        self.load_object(layer, entries)
    }
}

fn truthy_ini(v: &ini::IniValue) -> bool {
    match v {
        ini::IniValue::Scalar(j) => truthy(j),
        ini::IniValue::Array(_) => true,
    }
}

/// nopt's `url` type: `url.parse(value).href` of node's legacy parser when
/// it has a host. Reproduced for the cases registries use: scheme and host
/// lower-cased, an explicit port kept as written, `/` for an empty path.
fn legacy_href(s: &str) -> Option<String> {
    let t = js_trim(s);
    let (scheme, rest) = t.split_once("://")?;
    if scheme.is_empty()
        || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let parsed = Url::parse(t).ok()?;
    let host = parsed.host_str().filter(|h| !h.is_empty())?;
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_part = authority.rsplit('@').next().unwrap_or(authority);
    let port = match host_part.rfind(':') {
        Some(i)
            if !host_part[i..].contains(']')
                && host_part[i + 1..].chars().all(|c| c.is_ascii_digit()) =>
        {
            &host_part[i..]
        }
        _ => "",
    };
    let userinfo = if parsed.username().is_empty() && parsed.password().is_none() {
        String::new()
    } else {
        match parsed.password() {
            Some(p) => format!("{}:{p}@", parsed.username()),
            None => format!("{}@", parsed.username()),
        }
    };
    let mut href = format!(
        "{}://{userinfo}{host}{port}{}",
        scheme.to_ascii_lowercase(),
        parsed.path()
    );
    if let Some(q) = parsed.query() {
        href.push('?');
        href.push_str(q);
    }
    if let Some(frag) = parsed.fragment() {
        href.push('#');
        href.push_str(frag);
    }
    Some(href)
}

/// Whether npm can use `s` as a registry URL: nopt's `url` type accepts it
/// (it has a host) and `new URL(s)` does not throw.
fn is_registry_url(s: &str) -> bool {
    legacy_href(s).is_some()
}

/// `encodeURIComponent(s) === s`.
fn is_uri_component_safe(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c))
}

/// nopt's Boolean validation of a parsed value.
fn coerce_bool(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::Null => Some(false),
        Json::Number(n) => Some(n.as_f64().is_some_and(|f| f != 0.0)),
        Json::String(s) => {
            let s = js_trim(s);
            Some(match js_to_number(s) {
                Some(n) => n != 0.0 && !n.is_nan(),
                None => !(s == "null" || s == "false"),
            })
        }
        Json::Array(_) | Json::Object(_) => None,
    }
}

/// nopt's Number validation of a parsed value.
fn coerce_number(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => js_to_number(s),
        Json::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Json::Null => Some(0.0),
        Json::Array(_) | Json::Object(_) => None,
    }
}

/// nopt's String validation (`String(val)`) of a scalar.
fn coerce_str(v: &Json) -> Option<String> {
    match v {
        Json::Array(_) | Json::Object(_) => None,
        other => Some(to_js_string(other)),
    }
}

/// A `script-shell` value as run-script receives it: a non-empty string.
fn script_shell_of(v: &ConfigValue) -> Option<String> {
    coerce_nullable_str(&v.value)
        .flatten()
        .filter(|s| !s.is_empty())
}

/// `[null, String]`: `null`/`"null"` is no value.
fn coerce_nullable_str(v: &Json) -> Option<Option<String>> {
    match v {
        Json::Null => Some(None),
        Json::String(s) if js_trim(s) == "null" => Some(None),
        other => coerce_str(other).map(Some),
    }
}

/// A fixed list of strings (plus `null`, which `false` also becomes).
fn coerce_enum(v: &Json, values: &[&str], nullable: bool) -> Option<Option<String>> {
    match v {
        Json::Null | Json::Bool(false) if nullable => Some(None),
        Json::String(s) if nullable && js_trim(s) == "null" => Some(None),
        Json::String(s) if values.contains(&js_trim(s)) => Some(Some(js_trim(s).to_string())),
        _ => None,
    }
}

fn describe_type(ty: KeyType) -> String {
    match ty {
        KeyType::Url => "a full url with \"http://\"".to_string(),
        KeyType::Str => "a string".to_string(),
        KeyType::NullableStr => "a string".to_string(),
        KeyType::Bool | KeyType::NullableBool => "a boolean value (true or false)".to_string(),
        KeyType::Number => "a finite, non-negative number".to_string(),
        KeyType::Path => "a valid filesystem path".to_string(),
        KeyType::Enum { values, nullable } => {
            let mut all: Vec<&str> = Vec::new();
            if nullable {
                all.push("null");
            }
            all.extend(values.iter());
            format!("one of: {}", all.join(", "))
        }
        KeyType::Other | KeyType::Unknown => "a value".to_string(),
    }
}

/// The validation npm runs on each layer (nopt's `clean`), as an error.
fn validate_value(v: &ConfigValue) -> Result<(), ConfigError> {
    let ty = key_type(&v.key);
    let ok = match ty {
        KeyType::Url => matches!(&v.value, Json::String(s) if is_registry_url(s)),
        KeyType::Str => coerce_str(&v.value).is_some(),
        KeyType::NullableStr => coerce_nullable_str(&v.value).is_some(),
        KeyType::Bool | KeyType::NullableBool => coerce_bool(&v.value).is_some(),
        KeyType::Number => coerce_number(&v.value).is_some_and(|n| n.is_finite() && n >= 0.0),
        KeyType::Path => !matches!(v.value, Json::Bool(_) | Json::Array(_) | Json::Object(_)),
        KeyType::Enum { values, nullable } => coerce_enum(&v.value, values, nullable).is_some(),
        KeyType::Other | KeyType::Unknown => true,
    };
    if ok {
        return Ok(());
    }
    Err(ConfigError::InvalidValue {
        key: v.key.clone(),
        value: error::shown_value(&v.key, &to_js_string(&v.value)),
        origin: v.origin.clone(),
        expected: describe_type(ty),
    })
}

fn defaults(home: Option<&Path>, cwd: &Path, env: &Env) -> Vec<(String, Json, Origin)> {
    let mut d: Vec<(&str, Json)> = vec![
        ("registry", Json::from(DEFAULT_REGISTRY)),
        ("tag", Json::from("latest")),
        ("access", Json::Null),
        ("auth-type", Json::from("web")),
        ("dry-run", Json::Bool(false)),
        ("force", Json::Bool(false)),
        ("ignore-scripts", Json::Bool(false)),
        ("foreground-scripts", Json::Bool(false)),
        ("global", Json::Bool(false)),
        ("location", Json::from("user")),
        ("workspaces", Json::Null),
        ("provenance", Json::Bool(false)),
        ("provenance-file", Json::Null),
        ("otp", Json::Null),
        ("scope", Json::from("")),
        ("fetch-retries", Json::from(2)),
        ("fetch-retry-factor", Json::from(10)),
        ("fetch-retry-mintimeout", Json::from(10000)),
        ("fetch-retry-maxtimeout", Json::from(60000)),
        ("fetch-timeout", Json::from(300000)),
    ];
    let userconfig = match home {
        Some(h) => h.join(".npmrc"),
        None => keys::resolve_path(cwd, "~/.npmrc"),
    };
    d.push((
        "userconfig",
        Json::from(userconfig.to_string_lossy().into_owned()),
    ));
    if let Some(prefix) = prefix::default_global_prefix(env) {
        let prefix = keys::resolve_path(cwd, &prefix.to_string_lossy());
        d.push(("prefix", Json::from(prefix.to_string_lossy().into_owned())));
    }
    d.into_iter()
        .map(|(k, v)| (k.to_string(), v, Origin::Default))
        .collect()
}

impl Config {
    /// Loads every layer, as `npm publish` started in `cwd` would.
    ///
    /// `cwd` is where npm would have been started, not necessarily the
    /// package being published: npm finds the project npmrc from there
    /// (`npm publish ./pkg` from a repository root reads the root's
    /// `.npmrc`). Relative paths in the configuration resolve against it.
    pub fn load(env: &Env, cli: &CliConfig, cwd: &Path) -> Result<Config, ConfigError> {
        let cwd = std::path::absolute(cwd).unwrap_or_else(|_| cwd.to_path_buf());
        let home = env.home_dir();
        let mut loader = Loader {
            env,
            cwd: cwd.clone(),
            home: home.clone(),
            config: Config {
                layers: Default::default(),
                overlay: BTreeMap::new(),
                session: BTreeMap::new(),
                manifest_tag: None,
                publish_config_tag: false,
                files: ConfigFiles::default(),
                diagnostics: Vec::new(),
                node_auth_token: env
                    .get("NODE_AUTH_TOKEN")
                    .map(|v| Secret::new(v.to_string())),
                repository_layers: Vec::new(),
            },
        };

        let defaults = defaults(home.as_deref(), &cwd, env);
        loader.load_object(Layer::Default, defaults)?;

        let cli_entries = cli
            .entries()
            .into_iter()
            .map(|(k, v, flag)| (k, v, Origin::Cli { flag }))
            .collect();
        loader.load_object(Layer::Cli, cli_entries)?;

        let env_entries = env
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .filter_map(|(var, v)| {
                keys::env_var_key(var).map(|k| {
                    (
                        k,
                        Json::from(v),
                        Origin::Env {
                            var: var.to_string(),
                        },
                    )
                })
            })
            .collect();
        loader.load_object(Layer::Env, env_entries)?;

        // Project config, from the local prefix.
        let global_mode = loader
            .current("global")
            .is_some_and(|v| v.value == Json::Bool(true))
            || loader
                .current("location")
                .is_some_and(|v| v.value.as_str() == Some("global"));
        let cli_prefix = loader.config.layers[Layer::Cli as usize]
            .values
            .get("prefix")
            .and_then(|v| v.value.as_str())
            .map(PathBuf::from);
        let workspaces_off = loader.config.layers[Layer::Cli as usize]
            .values
            .get("workspaces")
            .is_some_and(|v| v.value == Json::Bool(false));
        let lp = match cli_prefix {
            Some(p) => prefix::LocalPrefix {
                dir: p,
                workspace: None,
            },
            None => prefix::local_prefix(&cwd, !workspaces_off && !global_mode),
        };
        if let Some(ws) = &lp.workspace {
            let npmrc = ws.join(".npmrc");
            if npmrc.is_file() {
                loader
                    .config
                    .diagnostics
                    .push(ConfigDiagnostic::WorkspaceNpmrcIgnored { path: npmrc });
            }
        }
        loader.config.files.local_prefix = lp.dir.clone();
        if !global_mode {
            let project_file = lp.dir.join(".npmrc");
            if Some(&project_file) != loader.current_path("userconfig").as_ref() {
                loader.config.files.project = Some(project_file.clone());
                loader.load_file(&project_file, Layer::Project)?;
                loader.config.repository_layers.push(Layer::Project);
            }
        }

        // User config.
        let user_file = loader
            .current_path("userconfig")
            .unwrap_or_else(|| cwd.join(".npmrc"));
        loader.config.files.user = user_file.clone();
        let roots = repository_roots(&cwd, &lp.dir);
        if loader.chosen_by_repository("userconfig") || inside_any(&user_file, &roots) {
            loader.config.repository_layers.push(Layer::User);
        }
        loader.load_file(&user_file, Layer::User)?;

        // Global config.
        let global_file = match loader.current_path("globalconfig") {
            Some(p) => Some(p),
            None => loader
                .current_path("prefix")
                .map(|p| keys::resolve_path(&p, "etc/npmrc")),
        };
        let global_key = if loader.current("globalconfig").is_some() {
            "globalconfig"
        } else {
            "prefix"
        };
        if loader.chosen_by_repository(global_key)
            || global_file.as_ref().is_some_and(|f| inside_any(f, &roots))
        {
            loader.config.repository_layers.push(Layer::Global);
        }
        match &global_file {
            Some(p) => {
                loader.config.files.global = Some(p.clone());
                let p = p.clone();
                loader.load_file(&p, Layer::Global)?;
            }
            None => loader.config.diagnostics.push(ConfigDiagnostic::GlobalConfigSkipped {
                reason: "neither PREFIX nor a `node` on PATH tells where npm is installed (pass --globalconfig to name it)".into(),
            }),
        }

        let mut config = loader.config;
        config.check_legacy_auth()?;
        for layer in ALL_LAYERS {
            for v in config.layers[layer as usize].values.values() {
                validate_value(v)?;
            }
        }
        config.apply_scope_quirk();
        config.collect_value_diagnostics();
        Ok(config)
    }

    /// `validate()`'s check for unscoped credentials (`ERR_INVALID_AUTH`),
    /// over the global, user and project files in that order.
    fn check_legacy_auth(&self) -> Result<(), ConfigError> {
        let registry = self
            .get_config("registry")
            .and_then(|v| v.value.as_str())
            .and_then(legacy_href)
            .unwrap_or_else(|| DEFAULT_REGISTRY.to_string());
        let nerfed = nerf_dart(&registry).unwrap_or_else(|| "//registry.npmjs.org/".to_string());
        let mut problems = Vec::new();
        for layer in [Layer::Global, Layer::User, Layer::Project] {
            let data = &self.layers[layer as usize].values;
            let truthy_at = |k: &str| data.get(k).filter(|v| truthy(&v.value));
            for key in ["_authtoken", "-authtoken"] {
                if let Some(v) = truthy_at(key) {
                    problems.push(LegacyAuthProblem {
                        key: key.to_string(),
                        action: LegacyAuthAction::Delete,
                        layer: layer.npm_name(),
                        origin: v.origin.clone(),
                    });
                }
            }
            for key in ["_auth", "_authToken", "username", "_password"] {
                let Some(v) = truthy_at(key) else {
                    continue;
                };
                let orphan = (key == "username" && truthy_at("_password").is_none())
                    || (key == "_password" && truthy_at("username").is_none());
                problems.push(LegacyAuthProblem {
                    key: key.to_string(),
                    action: if orphan {
                        LegacyAuthAction::Delete
                    } else {
                        LegacyAuthAction::Rename {
                            to: format!("{nerfed}:{key}"),
                        }
                    },
                    layer: layer.npm_name(),
                    origin: v.origin.clone(),
                });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::LegacyAuth { problems })
        }
    }

    /// npm.js rewrites a `scope` without `@` with `config.set`, which makes
    /// npm recompute its flat options from validated data: every `registry`
    /// is then in nopt's normalised form (lower-case host, trailing `/`).
    fn apply_scope_quirk(&mut self) {
        let quirk = self
            .get_config("scope")
            .and_then(|v| v.value.as_str())
            .is_some_and(|s| !s.is_empty() && !s.starts_with('@'));
        if !quirk {
            return;
        }
        for layer in &mut self.layers {
            if let Some(v) = layer.values.get_mut("registry") {
                if let Some(href) = v.value.as_str().and_then(legacy_href) {
                    v.value = Json::String(href);
                }
            }
        }
    }

    /// Diagnostics about the values that win: unset variables, placeholder
    /// and empty credentials, and `NODE_AUTH_TOKEN` itself.
    fn collect_value_diagnostics(&mut self) {
        let mut keys: Vec<&String> = self.layers.iter().flat_map(|l| l.values.keys()).collect();
        keys.sort();
        keys.dedup();
        let mut found = Vec::new();
        for key in keys {
            let Some(v) = self.get_config(key) else {
                continue;
            };
            let credential = is_credential_key(&v.key);
            for var in &v.unset {
                found.push(ConfigDiagnostic::UnsetVariable {
                    var: var.clone(),
                    key: v.key.clone(),
                    origin: v.origin.clone(),
                    credential,
                });
            }
            if credential && v.unset.is_empty() {
                if to_js_string(&v.value).trim() == SETUP_NODE_PLACEHOLDER {
                    found.push(ConfigDiagnostic::PlaceholderToken {
                        key: v.key.clone(),
                        origin: v.origin.clone(),
                    });
                } else if v.value.as_str() == Some("") {
                    found.push(ConfigDiagnostic::EmptyCredential {
                        key: v.key.clone(),
                        origin: v.origin.clone(),
                        vars: v.empty.clone(),
                    });
                }
            }
        }
        // npm flattens before it validates: a boolean that went through
        // `${VAR}` reaches libnpmpublish/libnpmpack as a string.
        for key in ["provenance", "ignore-scripts"] {
            let Some(v) = self.get_config(key) else {
                continue;
            };
            let (Json::String(raw), Some(ours)) = (&v.value, coerce_bool(&v.value)) else {
                continue;
            };
            let npm = key != "provenance" && !raw.is_empty();
            if ours != npm {
                found.push(ConfigDiagnostic::ExpandedBoolean {
                    key: key.to_string(),
                    origin: v.origin.clone(),
                    value: ours,
                });
            }
        }
        if let Some(problem) = self.node_auth_token_problem() {
            found.push(ConfigDiagnostic::NodeAuthToken(problem));
        }
        self.diagnostics.extend(found);
    }

    fn node_auth_token_problem(&self) -> Option<NodeAuthTokenProblem> {
        let t = self.node_auth_token.as_ref()?.expose();
        if t.trim().is_empty() {
            Some(NodeAuthTokenProblem::Empty)
        } else if t.trim() == SETUP_NODE_PLACEHOLDER {
            Some(NodeAuthTokenProblem::Placeholder)
        } else if t.contains("${") {
            Some(NodeAuthTokenProblem::Unexpanded)
        } else {
            None
        }
    }

    /// The effective value of `key` for the publish (npm's flat options):
    /// a token set during the run, then `publishConfig`, then the layers.
    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.session
            .get(key)
            .or_else(|| self.overlay.get(key))
            .or_else(|| self.get_config(key))
    }

    /// npm's `config.get(key)`: the highest layer that sets `key`, without
    /// `publishConfig`.
    pub fn get_config(&self, key: &str) -> Option<&ConfigValue> {
        ALL_LAYERS
            .iter()
            .find_map(|l| self.layers[*l as usize].values.get(key))
    }

    /// The value `layer` itself sets for `key`.
    pub fn get_in(&self, key: &str, layer: Layer) -> Option<&ConfigValue> {
        self.layers[layer as usize].values.get(key)
    }

    /// npm's `config.isDefault(key)`: no layer but the defaults sets it.
    pub fn is_default(&self, key: &str) -> bool {
        ALL_LAYERS[..5]
            .iter()
            .all(|l| !self.layers[*l as usize].values.contains_key(key))
    }

    /// The files read, and the local prefix.
    pub fn files(&self) -> &ConfigFiles {
        &self.files
    }

    /// Warnings and notes gathered while loading (see [`ConfigDiagnostic`]).
    pub fn diagnostics(&self) -> &[ConfigDiagnostic] {
        &self.diagnostics
    }

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

    fn registry_of(v: Option<&ConfigValue>) -> Registry {
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
    pub fn retry(&self) -> RetryPolicy {
        let num = |key: &str, default: f64| {
            self.get(key)
                .and_then(|v| coerce_number(&v.value))
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

    /// The credential npm-registry-fetch would send to `url` (options view),
    /// with `registry` as the registry for its same-host fallback.
    pub fn credential_for(&self, url: &str) -> Option<Credential> {
        self.lookup_credential(url, None).found()
    }

    /// Like [`Config::credential_for`], with the reason when there is none.
    /// With `package`, the fallback registry is the package's (as for the
    /// publish request, where npm-registry-fetch sets `opts.registry` to
    /// `pickRegistry(spec)`); without, it is the `registry` option (as for
    /// the OIDC exchange).
    ///
    /// When npm would find nothing and `NODE_AUTH_TOKEN` is set, that token
    /// is used for URLs on the registry's host (trustpub's addition).
    pub fn lookup_credential(&self, url: &str, package: Option<&str>) -> CredentialLookup {
        let registry = match package {
            Some(name) => self.registry_for(name).ok().map(|r| r.url),
            None => Some(self.registry().url),
        };
        let get = |k: &str| self.get(k);
        let found = match credentials::find_auth(&get, url, registry.as_deref()) {
            CredentialLookup::Missing => self.node_auth_token_for(url, registry.as_deref()),
            other => other,
        };
        match found {
            CredentialLookup::Found(c) => self.check_destination(c, url, package),
            other => other,
        }
    }

    /// A credential goes only to the host it was bound to outside the
    /// repository. One bound by the user (a `//host/:_authToken` line in
    /// the user or global npmrc, the environment or the command line) goes
    /// to that host, as in npm. One that is not (the raw `NODE_AUTH_TOKEN`,
    /// or a line in the project npmrc or `publishConfig`, which a pull
    /// request can change) goes only to the registry chosen outside the
    /// repository ([`Config::outside_registry_for`]).
    fn check_destination(
        &self,
        c: Credential,
        url: &str,
        package: Option<&str>,
    ) -> CredentialLookup {
        // A literal in a repository file is the repository's own value (an
        // attacker who can move the registry can read it too); a value
        // substituted from the environment is the CI's secret.
        let bound_by_user = match &c.source {
            CredentialSource::NodeAuthToken => false,
            CredentialSource::Config { key, origin } => {
                let reg_key = key.rsplit_once(':').map_or(key.as_str(), |(k, _)| k);
                !self.chosen_in_repository(origin)
                    || ![
                        "_authToken",
                        "_auth",
                        "username",
                        "_password",
                        "certfile",
                        "keyfile",
                    ]
                    .iter()
                    .any(|f| {
                        self.get(&format!("{reg_key}:{f}"))
                            .is_some_and(|v| v.from_env)
                    })
            }
        };
        let outside = match package {
            Some(name) => self.outside_registry_for(name),
            None => Self::registry_of(self.outside_get("registry")),
        };
        let dest = crate::registry::origin(js_trim(url));
        if bound_by_user || dest == crate::registry::origin(js_trim(&outside.url)) {
            return CredentialLookup::Found(c);
        }
        let effective = match package {
            Some(name) => self.registry_for(name).ok(),
            None => Some(self.registry()),
        };
        let (registry, chosen_by) = match effective {
            Some(r) if self.chosen_in_repository(&r.origin) => (r.url, r.origin),
            // The URL itself was not chosen through a registry setting.
            _ => (
                url.to_string(),
                match &c.source {
                    CredentialSource::Config { origin, .. } => origin.clone(),
                    CredentialSource::NodeAuthToken => Origin::Default,
                },
            ),
        };
        CredentialLookup::Unusable(ConfigDiagnostic::CredentialHostChosenByRepository {
            credential: c.source.to_string(),
            registry: crate::secret::redact_url(js_trim(&registry)),
            chosen_by,
            outside: crate::secret::redact_url(js_trim(&outside.url)),
        })
    }

    /// The value of `key` chosen outside the repository (see
    /// [`Config::outside_registry_for`]).
    fn outside_get(&self, key: &str) -> Option<&ConfigValue> {
        ALL_LAYERS
            .iter()
            .filter(|l| !self.repository_layers.contains(l))
            .find_map(|l| self.layers[*l as usize].values.get(key))
    }

    fn node_auth_token_for(&self, url: &str, registry: Option<&str>) -> CredentialLookup {
        let (Some(token), Some(registry)) = (&self.node_auth_token, registry) else {
            return CredentialLookup::Missing;
        };
        let same_host = match (Url::parse(js_trim(url)), Url::parse(js_trim(registry))) {
            (Ok(a), Ok(b)) => host_port(&a) == host_port(&b),
            _ => false,
        };
        if !same_host {
            return CredentialLookup::Missing;
        }
        if let Some(problem) = self.node_auth_token_problem() {
            return CredentialLookup::Unusable(ConfigDiagnostic::NodeAuthToken(problem));
        }
        CredentialLookup::Found(Credential {
            authorization: Some(Authorization::Bearer(Secret::new(
                token.expose().trim().to_string(),
            ))),
            client_cert: None,
            source: CredentialSource::NodeAuthToken,
        })
    }

    /// The `ENEEDAUTH` pre-check of `npm publish`: a token, a username (with
    /// password, or from `_auth`), or a certificate and key stored under the
    /// registry's exact nerf dart (config view, no walk). trustpub does not
    /// count unusable values (see [`Config::lookup_credential`] for why) and
    /// does count `NODE_AUTH_TOKEN`.
    pub fn has_credentials_for_publish(&self, registry: &str) -> bool {
        let get = |k: &str| self.session.get(k).or_else(|| self.get_config(k));
        match credentials::credentials_by_uri(&get, registry) {
            Ok(true) => true,
            Ok(false) => matches!(
                self.node_auth_token_for(registry, Some(registry)),
                CredentialLookup::Found(_)
            ),
            Err(_) => false,
        }
    }

    /// A copy with `publishConfig` from the raw package.json flattened into
    /// the options (keys given on the command line are skipped), and the
    /// top-level `"tag"` recorded. Values are not parsed as npmrc values are
    /// (npm calls `flatten` on them directly), so `"provenance": "true"` is
    /// not `true`; such values are reported.
    pub fn with_publish_config(&self, manifest: &Map<String, Json>) -> Result<Config, ConfigError> {
        let mut next = self.clone();
        next.overlay.clear();
        next.manifest_tag = None;
        next.diagnostics.retain(|d| {
            !matches!(
                d,
                ConfigDiagnostic::PublishConfigValueIgnored { .. }
                    | ConfigDiagnostic::CredentialInPublishConfig { .. }
                    | ConfigDiagnostic::SuspiciousDistTag { .. }
            ) && !matches!(
                d,
                ConfigDiagnostic::UnknownKey {
                    origin: Origin::PublishConfig { .. },
                    ..
                }
            )
        });
        let pc = manifest.get("publishConfig").filter(|v| truthy(v));
        next.publish_config_tag = pc.and_then(|pc| pc.get("tag")).is_some_and(truthy);
        match pc {
            None => {}
            Some(Json::Object(map)) => {
                let cli_keys = &self.layers[Layer::Cli as usize].raw_keys;
                for (key, value) in map {
                    if cli_keys.iter().any(|k| k == key) {
                        continue;
                    }
                    let origin = Origin::PublishConfig { key: key.clone() };
                    if let Some(name) = unknown_key_name(key) {
                        next.diagnostics.push(ConfigDiagnostic::UnknownKey {
                            name,
                            key: key.clone(),
                            origin: origin.clone(),
                        });
                    }
                    if !keys::publish_config_flattens(key) {
                        continue;
                    }
                    next.check_publish_config_value(key, value, &origin)?;
                    next.overlay.insert(
                        key.clone(),
                        ConfigValue::new(key, value.clone(), origin, Vec::new()),
                    );
                }
            }
            Some(_) => next
                .diagnostics
                .push(ConfigDiagnostic::PublishConfigValueIgnored {
                    key: String::new(),
                    reason: "publishConfig is not an object".into(),
                }),
        }
        if let Some(tag) = manifest.get("tag").filter(|v| truthy(v)) {
            let origin = Origin::Manifest {
                field: "tag".into(),
            };
            if !tag.is_string() {
                return Err(ConfigError::InvalidValue {
                    key: "tag".into(),
                    value: Some(to_js_string(tag)),
                    origin,
                    expected: "a string".into(),
                });
            }
            next.manifest_tag = Some(ConfigValue::new("tag", tag.clone(), origin, Vec::new()));
        }
        next.check_dist_tag();
        Ok(next)
    }

    fn check_publish_config_value(
        &mut self,
        key: &str,
        value: &Json,
        origin: &Origin,
    ) -> Result<(), ConfigError> {
        let invalid = |expected: String| ConfigError::InvalidValue {
            key: key.to_string(),
            value: error::shown_value(key, &to_js_string(value)),
            origin: origin.clone(),
            expected,
        };
        if key.starts_with("//") && is_sensitive(key) && truthy(value) {
            self.diagnostics
                .push(ConfigDiagnostic::CredentialInPublishConfig {
                    key: key.to_string(),
                });
        }
        let is_url = |v: &Json| matches!(v, Json::String(s) if is_registry_url(s));
        match key {
            "registry" if !is_url(value) => return Err(invalid(describe_type(KeyType::Url))),
            k if keys::is_scope_registry_key(k) && truthy(value) && !is_url(value) => {
                return Err(invalid(describe_type(KeyType::Url)));
            }
            "tag" | "scope" | "provenance-file" if !value.is_string() && !value.is_null() => {
                return Err(invalid("a string".into()));
            }
            "access"
                if !(value.is_null()
                    || value
                        .as_str()
                        .is_some_and(|s| ["restricted", "public", "private"].contains(&s))) =>
            {
                return Err(invalid(describe_type(key_type("access"))));
            }
            "otp" if !(value.is_string() || value.is_number() || value.is_null()) => {
                return Err(invalid("a string".into()));
            }
            "fetch-retries"
            | "fetch-retry-factor"
            | "fetch-retry-mintimeout"
            | "fetch-retry-maxtimeout"
            | "fetch-timeout" => {
                let n = match value {
                    Json::Number(n) => n.as_f64(),
                    Json::String(s) => js_to_number(s),
                    _ => None,
                };
                if !n.is_some_and(|n| n.is_finite() && n >= 0.0) {
                    return Err(invalid(describe_type(KeyType::Number)));
                }
            }
            "provenance" if !value.is_boolean() => {
                self.diagnostics
                    .push(ConfigDiagnostic::PublishConfigValueIgnored {
                        key: key.into(),
                        reason: format!(
                            "npm only makes provenance for the JSON value true, not {}",
                            to_js_string(value)
                        ),
                    });
            }
            "dry-run" | "force" => {
                self.diagnostics
                    .push(ConfigDiagnostic::PublishConfigValueIgnored {
                        key: key.into(),
                        reason:
                            "npm reads it from the command line, environment and npmrc files only"
                                .into(),
                    });
            }
            _ => {}
        }
        Ok(())
    }

    /// npm applies its tag checks only to the config tag; the dist-tag from
    /// `publishConfig.tag` or package.json `"tag"` is reported, not refused.
    fn check_dist_tag(&mut self) {
        let (tag, origin) = match (&self.manifest_tag, self.overlay.get("tag")) {
            (Some(v), _) => (to_js_string(&v.value), v.origin.clone()),
            (None, Some(v)) if v.value.is_string() => (to_js_string(&v.value), v.origin.clone()),
            _ => return,
        };
        let reason = if crate::semver::valid_range(&tag, false).is_some() {
            Some("is a valid semver range, which npm refuses for --tag")
        } else if !is_uri_component_safe(&tag) {
            Some("has characters that encodeURIComponent encodes, which npm refuses for --tag")
        } else {
            None
        };
        if let Some(reason) = reason {
            self.diagnostics.push(ConfigDiagnostic::SuspiciousDistTag {
                tag,
                origin,
                reason: reason.to_string(),
            });
        }
    }

    /// A copy that also holds `token` for `registry`, as npm's OIDC step
    /// does: under `//host/path:_authToken` of the registry URL as written
    /// (not its nerf dart), ahead of every other value.
    pub fn with_session_token(&self, registry: &str, token: Secret<String>) -> Config {
        let mut next = self.clone();
        if let Ok(u) = Url::parse(js_trim(registry)) {
            let key = format!("//{}{}:_authToken", host_port(&u), u.path());
            next.session.insert(
                key.clone(),
                ConfigValue::new(
                    &key,
                    Json::String(token.into_exposed()),
                    Origin::Session,
                    Vec::new(),
                ),
            );
        }
        next
    }
}

#[cfg(test)]
mod tests;
