//! One setting and where it came from: layers, origins, values.

use std::fmt;
use std::path::PathBuf;

use serde_json::Value as Json;

use super::keys::is_sensitive;

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
    pub(super) key: String,
    pub(super) value: Json,
    pub(super) origin: Origin,
    pub(super) unset: Vec<String>,
    pub(super) empty: Vec<String>,
    /// Whether the value holds text substituted from the environment, or
    /// came from it (a command-line or environment value).
    pub(super) from_env: bool,
}

impl ConfigValue {
    pub(super) fn new(key: &str, value: Json, origin: Origin, unset: Vec<String>) -> ConfigValue {
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

    /// The value even if it is a secret (like [`crate::secret::Secret::expose`]).
    pub fn expose(&self) -> &Json {
        &self.value
    }

    pub(super) fn json(&self) -> &Json {
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

/// Every layer, highest precedence first.
pub(super) const ALL_LAYERS: [Layer; 6] = [
    Layer::Cli,
    Layer::Env,
    Layer::Project,
    Layer::User,
    Layer::Global,
    Layer::Default,
];
