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
//!
//! # Where each idea lives
//!
//! * `config/value.rs`: one setting ([`ConfigValue`]), its [`Layer`] and [`Origin`].
//! * `config/cli.rs`: the command line's flags ([`CliConfig`]).
//! * `config/load.rs`: [`Config::load`], the files read ([`ConfigFiles`]),
//!   the defaults and npm's load-time checks; `config/prefix.rs` finds the
//!   files, `config/ini.rs` parses them, `config/expand.rs` expands `${VAR}`.
//! * `config/keys.rs` and `config/coerce.rs`: what npm knows about each key,
//!   and nopt's type checks of a value.
//! * `config/settings.rs`: the typed accessors (tag, access, registry,
//!   scripts, retries).
//! * `config/credentials.rs`: credential lookup for a URL.
//! * `config/overlay.rs`: `publishConfig` and the session token over the layers.
//! * `config/network.rs`: proxies, certificates and timeouts for the client.
//! * `config/error.rs`: errors and diagnostics.

mod cli;
mod coerce;
mod credentials;
mod error;
mod expand;
mod ini;
mod keys;
mod load;
mod network;
mod overlay;
pub(crate) mod prefix;
mod settings;
mod value;

use std::collections::BTreeMap;
use std::fmt;

pub use cli::CliConfig;
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
pub use load::ConfigFiles;
pub use network::{NetworkSettings, ProxySetting};
pub use settings::{Access, Registry, RetryPolicy};
pub use value::{ConfigValue, Layer, Origin};

use crate::secret::Secret;
use value::ALL_LAYERS;

/// npm's default registry.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org/";

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

impl Config {
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
}

#[cfg(test)]
mod tests;
