//! The command line's part of the configuration: the flags, in the order
//! npm's nopt would have seen them.

use std::fmt;
use std::path::PathBuf;

use serde_json::Value as Json;

use super::keys::is_sensitive;
use crate::secret::Secret;

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
    pub(super) fn entries(&self) -> Vec<(String, Json, String)> {
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
