//! The run's additions over the layers: `publishConfig` from package.json
//! (options view) and the session token of trusted publishing.

use serde_json::{Map, Value as Json};
use url::Url;

use super::coerce::{describe_type, is_registry_url, is_uri_component_safe};
use super::credentials::host_port;
use super::error::{self, ConfigDiagnostic, ConfigError};
use super::keys::{self, is_sensitive, js_to_number, key_type, unknown_key_name, KeyType};
use super::value::{ConfigValue, Layer, Origin};
use super::Config;
use crate::js::{js_trim, to_js_string, truthy};
use crate::secret::Secret;

impl Config {
    /// A copy with `publishConfig` from the raw package.json flattened into
    /// the options (keys given on the command line are skipped), and the
    /// top-level `"tag"` recorded. Values are not parsed as npmrc values are
    /// (npm calls `flatten` on them directly), so `"provenance": "true"` is
    /// not `true`; such values are reported.
    pub fn with_publish_config(&self, manifest: &Map<String, Json>) -> Result<Config, ConfigError> {
        let mut next = self.clone();
        next.overlay.clear();
        next.manifest_tag = None;
        next.diagnostics.retain(|d| !d.from_publish_config());
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
