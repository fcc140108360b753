//! Loading the layers: the files npm reads, in npm's order, with its
//! order-dependent checks, and the defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::coerce::{coerce_bool, legacy_href, truthy_ini, validate_value};
use super::credentials::nerf_dart;
use super::error::{
    ConfigDiagnostic, ConfigError, LegacyAuthAction, LegacyAuthProblem, NodeAuthTokenProblem,
    SETUP_NODE_PLACEHOLDER,
};
use super::expand;
use super::keys::{self, is_sensitive, key_type, parse_field, unknown_key_name, KeyType, PathBase};
use super::value::{ConfigValue, Layer, Origin, ALL_LAYERS};
use super::{ini, prefix, CliConfig, Config, LayerData, DEFAULT_REGISTRY};
use crate::env::Env;
use crate::js::{to_js_string, truthy};
use crate::secret::Secret;

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
    /// npm's own leniency ([`Config::load_lenient`]): what npm warns about
    /// and skips is collected here instead of stopping the load.
    lenient: Option<Vec<ConfigError>>,
}

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
    pub(super) fn layer(&mut self, l: Layer) -> &mut LayerData {
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
    /// [`Self::read_file`], or in lenient mode a warning for a file that
    /// cannot be used (npm skips it).
    fn load_file(&mut self, path: &Path, layer: Layer) -> Result<(), ConfigError> {
        match self.read_file(path, layer) {
            Err(e @ ConfigError::RefusedFile { .. }) if self.lenient.is_some() => {
                self.lenient.as_mut().expect("lenient").push(e);
                Ok(())
            }
            r => r,
        }
    }

    fn read_file(&mut self, path: &Path, layer: Layer) -> Result<(), ConfigError> {
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

pub(super) fn defaults(home: Option<&Path>, cwd: &Path, env: &Env) -> Vec<(String, Json, Origin)> {
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
        Self::load_with(env, cli, cwd, None).map(|(c, _)| c)
    }

    /// [`Config::load`] as lenient as npm itself: a value of the wrong type
    /// is dropped (its default applies) and a file that cannot be used is
    /// skipped, each returned as a warning, where `load` stops. For `pack`,
    /// which only needs `ignore-scripts` and `script-shell`, and must not
    /// fail (or drop a valid `ignore-scripts=true`) where `npm pack` packs.
    /// What npm itself refuses (unscoped credentials) is still an error.
    pub fn load_lenient(
        env: &Env,
        cli: &CliConfig,
        cwd: &Path,
    ) -> Result<(Config, Vec<ConfigError>), ConfigError> {
        Self::load_with(env, cli, cwd, Some(Vec::new()))
    }

    fn load_with(
        env: &Env,
        cli: &CliConfig,
        cwd: &Path,
        lenient: Option<Vec<ConfigError>>,
    ) -> Result<(Config, Vec<ConfigError>), ConfigError> {
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
            lenient,
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
        let mut warnings = loader.lenient;
        config.check_legacy_auth()?;
        for layer in ALL_LAYERS {
            let mut invalid = Vec::new();
            for (k, v) in &config.layers[layer as usize].values {
                match (validate_value(v), warnings.as_mut()) {
                    (Ok(()), _) => {}
                    (Err(e), Some(w)) => {
                        w.push(e);
                        invalid.push(k.clone());
                    }
                    (Err(e), None) => return Err(e),
                }
            }
            for k in invalid {
                config.layers[layer as usize].values.remove(&k);
            }
        }
        config.apply_scope_quirk();
        config.collect_value_diagnostics();
        Ok((config, warnings.unwrap_or_default()))
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
        // A credential in a file of the user's is never told to move to a
        // registry a file of the repository chose: there the rename names
        // the registry chosen outside the repository.
        let outside = self
            .outside_get("registry")
            .and_then(|v| v.value.as_str())
            .and_then(legacy_href)
            .unwrap_or_else(|| DEFAULT_REGISTRY.to_string());
        let outside = nerf_dart(&outside).unwrap_or_else(|| "//registry.npmjs.org/".to_string());
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
                            to: if self.repository_layers.contains(&layer) {
                                format!("{nerfed}:{key}")
                            } else {
                                format!("{outside}:{key}")
                            },
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

    pub(super) fn node_auth_token_problem(&self) -> Option<NodeAuthTokenProblem> {
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
}
