//! Credentials for a URL, found the way npm finds them.
//!
//! * [`nerf_dart`] is `@npmcli/config/lib/nerf-dart.js`.
//! * [`find_auth`] is npm-registry-fetch's `getAuth` (`lib/auth.js`): the
//!   walk up the URL's path (`//host/a/b`, `//host/a/`, `//host/a`, `//host/`,
//!   `//host`) looking for `:_authToken`, `:_auth`, `:username`+`:_password`
//!   or `:certfile`+`:keyfile`, then the fallback to the registry's own
//!   credentials for a URL on the same host.
//! * [`credentials_by_uri`] is `Config.getCredentialsByURI`, the exact-key
//!   lookup `npm publish` uses to decide `ENEEDAUTH`.
//!
//! Where npm would send a value trustpub refuses (an unexpanded
//! `${NODE_AUTH_TOKEN}`, setup-node's placeholder), the lookup stops exactly
//! where npm's would and reports the value as unusable instead.

use base64::Engine as _;
use url::Url;

use super::error::{ConfigDiagnostic, SETUP_NODE_PLACEHOLDER};
use super::value::ALL_LAYERS;
use super::Config;
use super::{ConfigValue, Origin};
use crate::js::{js_trim, to_js_string, truthy};
use crate::secret::Secret;

/// The `authorization` header npm would send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// `Bearer <token>` from `:_authToken`.
    Bearer(Secret<String>),
    /// `Basic <base64>`: `:_auth` as written, or `base64(username:password)`
    /// with `:_password` base64-decoded first.
    Basic(Secret<String>),
}

impl Authorization {
    /// The full header value, e.g. `Bearer npm_…`.
    pub fn header_value(&self) -> Secret<String> {
        match self {
            Authorization::Bearer(t) => Secret::new(format!("Bearer {}", t.expose())),
            Authorization::Basic(b) => Secret::new(format!("Basic {}", b.expose())),
        }
    }

    pub fn scheme(&self) -> &'static str {
        match self {
            Authorization::Bearer(_) => "Bearer",
            Authorization::Basic(_) => "Basic",
        }
    }
}

/// A client certificate for mutual TLS (`:certfile` + `:keyfile`). npm reads
/// both files when it sends the request and ignores missing ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub certfile: String,
    pub keyfile: String,
}

/// Where a credential came from, for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// A config key such as `//registry.npmjs.org/:_authToken`.
    Config { key: String, origin: Origin },
    /// trustpub's fallback to the `NODE_AUTH_TOKEN` environment variable.
    NodeAuthToken,
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Config { key, origin } => write!(f, "`{key}` in {}", origin.place()),
            CredentialSource::NodeAuthToken => f.write_str("environment variable NODE_AUTH_TOKEN"),
        }
    }
}

/// A usable credential for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub authorization: Option<Authorization>,
    pub client_cert: Option<ClientCert>,
    pub source: CredentialSource,
}

/// The outcome of looking a URL up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialLookup {
    Found(Credential),
    /// npm would have sent this value; trustpub will not.
    Unusable(ConfigDiagnostic),
    Missing,
}

impl CredentialLookup {
    pub fn found(self) -> Option<Credential> {
        match self {
            CredentialLookup::Found(c) => Some(c),
            _ => None,
        }
    }
}

/// `nerfDart(url)`: `//host[:port]/dir/` of the URL's directory
/// (`new URL('.', scheme//host+pathname)`), or `None` for an invalid URL.
pub fn nerf_dart(url: &str) -> Option<String> {
    let parsed = Url::parse(url).ok()?;
    let from = format!(
        "{}//{}{}",
        scheme_colon(&parsed),
        host_port(&parsed),
        parsed.path()
    );
    let rel = Url::parse(&from).ok()?.join(".").ok()?;
    Some(format!("//{}{}", host_port(&rel), rel.path()))
}

fn scheme_colon(u: &Url) -> String {
    format!("{}:", u.scheme())
}

/// WHATWG `url.host`: the host and, when not the scheme's default, the port.
pub fn host_port(u: &Url) -> String {
    let host = u.host_str().unwrap_or("");
    match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// node's `Buffer.from(s, 'base64')`: both alphabets, other characters
/// skipped, decoding stops at the first `=`, leftover bits dropped.
pub fn node_base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

type Lookup<'a> = dyn Fn(&str) -> Option<&'a ConfigValue> + 'a;

fn truthy_at<'a>(get: &Lookup<'a>, key: &str) -> Option<&'a ConfigValue> {
    get(key).filter(|v| truthy(v.json()))
}

/// `hasAuth(regKey, opts)`: which kind of credential is stored at `reg_key`.
fn has_auth(get: &Lookup, reg_key: &str) -> Option<&'static str> {
    if truthy_at(get, &format!("{reg_key}:_authToken")).is_some() {
        return Some("_authToken");
    }
    if truthy_at(get, &format!("{reg_key}:_auth")).is_some() {
        return Some("_auth");
    }
    if truthy_at(get, &format!("{reg_key}:username")).is_some()
        && truthy_at(get, &format!("{reg_key}:_password")).is_some()
    {
        return Some("username");
    }
    if truthy_at(get, &format!("{reg_key}:certfile")).is_some()
        && truthy_at(get, &format!("{reg_key}:keyfile")).is_some()
    {
        return Some("certfile");
    }
    None
}

/// `regFromURI`: walk `//host/path…` up one segment or one trailing slash at
/// a time (regex `([^/]+|\/)$`) until a key holds a credential.
pub fn reg_from_uri(get: &Lookup, uri: &str) -> Option<(String, &'static str)> {
    let parsed = Url::parse(uri).ok()?;
    let mut reg_key = format!("//{}{}", host_port(&parsed), parsed.path());
    while reg_key.len() > 2 {
        if let Some(kind) = has_auth(get, &reg_key) {
            return Some((reg_key, kind));
        }
        if reg_key.ends_with('/') {
            reg_key.pop();
        } else {
            let cut = reg_key.rfind('/').map_or(0, |i| i + 1);
            reg_key.truncate(cut);
        }
    }
    None
}

fn same_host(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => host_port(&a) == host_port(&b),
        _ => false,
    }
}

/// Refuses values npm would use but that are not credentials.
fn check_usable(v: &ConfigValue) -> Result<(), ConfigDiagnostic> {
    if let Some(var) = v.unset_vars().first() {
        return Err(ConfigDiagnostic::UnsetVariable {
            var: var.clone(),
            key: v.key().to_string(),
            origin: v.origin().clone(),
            credential: true,
        });
    }
    if to_js_string(v.json()).trim() == SETUP_NODE_PLACEHOLDER {
        return Err(ConfigDiagnostic::PlaceholderToken {
            key: v.key().to_string(),
            origin: v.origin().clone(),
        });
    }
    Ok(())
}

/// npm-registry-fetch's `getAuth(uri, opts)`, over the options view `get`.
/// `registry` is `getRegistry(opts)`: the package scope's registry when the
/// request is for a package, else `opts.registry`.
pub fn find_auth(get: &Lookup, uri: &str, registry: Option<&str>) -> CredentialLookup {
    let Some((reg_key, kind)) = reg_from_uri(get, uri) else {
        // No auth for this URI, but maybe for the registry on the same host.
        if let Some(registry) = registry {
            if uri != registry && same_host(uri, registry) {
                return find_auth(get, registry, Some(registry));
            }
        }
        return CredentialLookup::Missing;
    };
    let at = |name: &str| truthy_at(get, &format!("{reg_key}:{name}"));
    let client_cert = match (at("certfile"), at("keyfile")) {
        (Some(c), Some(k)) => Some(ClientCert {
            certfile: to_js_string(c.json()),
            keyfile: to_js_string(k.json()),
        }),
        _ => None,
    };
    let primary = at(kind);
    let source = CredentialSource::Config {
        key: format!("{reg_key}:{kind}"),
        origin: primary
            .map(|v| v.origin().clone())
            .unwrap_or(Origin::Default),
    };
    // Same precedence as the Auth constructor: token, then _auth, then
    // username + password (whatever hasAuth stopped on).
    let authorization = if let Some(token) = at("_authToken") {
        if let Err(d) = check_usable(token) {
            return CredentialLookup::Unusable(d);
        }
        Some(Authorization::Bearer(Secret::new(to_js_string(
            token.json(),
        ))))
    } else if let Some(auth) = at("_auth") {
        if let Err(d) = check_usable(auth) {
            return CredentialLookup::Unusable(d);
        }
        Some(Authorization::Basic(Secret::new(to_js_string(auth.json()))))
    } else if let (Some(user), Some(pass)) = (at("username"), at("_password")) {
        for v in [user, pass] {
            if let Err(d) = check_usable(v) {
                return CredentialLookup::Unusable(d);
            }
        }
        let password =
            String::from_utf8_lossy(&node_base64_decode(&to_js_string(pass.json()))).into_owned();
        let pair = format!("{}:{password}", to_js_string(user.json()));
        crate::secret::register(&pair);
        Some(Authorization::Basic(Secret::new(base64_encode(
            pair.as_bytes(),
        ))))
    } else {
        None
    };
    CredentialLookup::Found(Credential {
        authorization,
        client_cert,
        source,
    })
}

/// `Config.getCredentialsByURI(uri)` reduced to what `npm publish` asks of
/// it: `!!(creds.token || creds.username || creds.certfile && creds.keyfile)`
/// at the registry's exact nerf dart, over the config view `get`.
/// `Err` carries the value npm would have counted but trustpub will not use.
pub fn credentials_by_uri(get: &Lookup, uri: &str) -> Result<bool, ConfigDiagnostic> {
    let Some(nerfed) = nerf_dart(uri) else {
        return Ok(false);
    };
    let at = |name: &str| truthy_at(get, &format!("{nerfed}:{name}"));
    let has_cert = at("certfile").is_some() && at("keyfile").is_some();
    if let Some(token) = at("_authToken") {
        check_usable(token)?;
        return Ok(true);
    }
    if let (Some(user), Some(pass)) = (at("username"), at("_password")) {
        check_usable(user)?;
        check_usable(pass)?;
        return Ok(true);
    }
    if let Some(auth) = at("_auth") {
        check_usable(auth)?;
        // creds.username is the part of the decoded `_auth` before the first
        // `:`; an `_auth` that decodes to nothing gives no username.
        let decoded =
            String::from_utf8_lossy(&node_base64_decode(&to_js_string(auth.json()))).into_owned();
        let username = decoded.split(':').next().unwrap_or("");
        return Ok(!username.is_empty() || has_cert);
    }
    Ok(has_cert)
}

impl Config {
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
        let found = match find_auth(&get, url, registry.as_deref()) {
            CredentialLookup::Missing => self.node_auth_token_for(url, registry.as_deref()),
            other => other,
        };
        match found {
            CredentialLookup::Found(c) => self.check_destination(c, url, package),
            other => other,
        }
    }

    /// The credential bound to `url`'s host outside the repository (a
    /// `//host/:_authToken` line in the user or global npmrc, the
    /// environment or the command line), whatever the repository's files
    /// say: the maintainer's own login for a registry, which may go to it
    /// even when a repository file chose that registry.
    pub fn user_credential_for(&self, url: &str) -> Option<Credential> {
        let get = |k: &str| self.outside_get(k);
        match find_auth(&get, url, None) {
            CredentialLookup::Found(c) if matches!(c.source, CredentialSource::Config { .. }) => {
                Some(c)
            }
            _ => None,
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
    pub(super) fn outside_get(&self, key: &str) -> Option<&ConfigValue> {
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
        match credentials_by_uri(&get, registry) {
            Ok(true) => true,
            Ok(false) => matches!(
                self.node_auth_token_for(registry, Some(registry)),
                CredentialLookup::Found(_)
            ),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;
    use std::collections::BTreeMap;

    fn store(pairs: &[(&str, &str)]) -> BTreeMap<String, ConfigValue> {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    ConfigValue::new(
                        k,
                        Json::String(v.to_string()),
                        Origin::Cli {
                            flag: format!("--{k}"),
                        },
                        Vec::new(),
                    ),
                )
            })
            .collect()
    }

    fn auth_kind(l: &CredentialLookup) -> String {
        match l {
            CredentialLookup::Found(c) => {
                let key = match &c.source {
                    CredentialSource::Config { key, .. } => key.clone(),
                    CredentialSource::NodeAuthToken => "NODE_AUTH_TOKEN".into(),
                };
                let auth = match &c.authorization {
                    Some(a) => a.header_value().expose().clone(),
                    None => "-".into(),
                };
                format!(
                    "{key} {auth}{}",
                    if c.client_cert.is_some() {
                        " +cert"
                    } else {
                        ""
                    }
                )
            }
            CredentialLookup::Unusable(d) => format!("unusable: {d}"),
            CredentialLookup::Missing => "missing".into(),
        }
    }

    #[test]
    fn nerf_darts() {
        let cases = [
            ("https://registry.npmjs.org", "//registry.npmjs.org/"),
            ("https://registry.npmjs.org/", "//registry.npmjs.org/"),
            ("https://npm.pkg.github.com/owner", "//npm.pkg.github.com/"),
            (
                "https://npm.pkg.github.com/owner/",
                "//npm.pkg.github.com/owner/",
            ),
            ("http://localhost:4873/", "//localhost:4873/"),
            ("https://host:443/a/b/c?x=1#y", "//host/a/b/"),
            (
                "https://user:pw@Host.Example/api/npm/",
                "//host.example/api/npm/",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(nerf_dart(url).as_deref(), Some(want), "{url}");
        }
        assert_eq!(nerf_dart("not a url"), None);
    }

    /// The walk of npm-registry-fetch's `regFromURI` and `getAuth`.
    #[test]
    fn walk_table() {
        let s = |pairs: &[(&str, &str)], uri: &str, registry: &str| {
            let m = store(pairs);
            let get = |k: &str| m.get(k);
            auth_kind(&find_auth(&get, uri, Some(registry)))
        };
        let reg = "https://registry.npmjs.org/";
        // Plain token at the registry root.
        assert_eq!(
            s(
                &[("//registry.npmjs.org/:_authToken", "t1")],
                "https://registry.npmjs.org/@s%2fp",
                reg
            ),
            "//registry.npmjs.org/:_authToken Bearer t1"
        );
        // Both spellings of a path key match: trailing slash and none.
        let gh = "https://npm.pkg.github.com/owner/";
        assert_eq!(
            s(
                &[("//npm.pkg.github.com/owner/:_authToken", "a")],
                "https://npm.pkg.github.com/owner/@o%2fp",
                gh
            ),
            "//npm.pkg.github.com/owner/:_authToken Bearer a"
        );
        assert_eq!(
            s(
                &[("//npm.pkg.github.com/owner:_authToken", "b")],
                "https://npm.pkg.github.com/owner/@o%2fp",
                gh
            ),
            "//npm.pkg.github.com/owner:_authToken Bearer b"
        );
        // The deepest key wins; a host-only key is the last step.
        assert_eq!(
            s(
                &[
                    ("//h.example/a/b/:_authToken", "deep"),
                    ("//h.example/:_authToken", "root")
                ],
                "https://h.example/a/b/pkg",
                "https://h.example/a/b/"
            ),
            "//h.example/a/b/:_authToken Bearer deep"
        );
        assert_eq!(
            s(
                &[("//h.example:_authToken", "bare")],
                "https://h.example/a/b/pkg",
                "https://h.example/"
            ),
            "//h.example:_authToken Bearer bare"
        );
        // Ports are part of the key; default ports are not.
        assert_eq!(
            s(
                &[("//localhost:4873/:_authToken", "p")],
                "http://localhost:4873/pkg",
                "http://localhost:4873/"
            ),
            "//localhost:4873/:_authToken Bearer p"
        );
        assert_eq!(
            s(
                &[("//localhost/:_authToken", "p")],
                "http://localhost:4873/pkg",
                "http://localhost:4873/"
            ),
            "missing"
        );
        assert_eq!(
            s(
                &[("//h.example/:_authToken", "p")],
                "https://h.example:443/pkg",
                "https://h.example/"
            ),
            "//h.example/:_authToken Bearer p"
        );
        // Same-host fallback: the OIDC exchange URL is outside the registry
        // path but on its host, so the registry's credential is used.
        assert_eq!(
            s(
                &[("//h.example/api/npm/:_authToken", "reg")],
                "https://h.example/-/npm/v1/oidc/token/exchange/package/p",
                "https://h.example/api/npm/"
            ),
            "//h.example/api/npm/:_authToken Bearer reg"
        );
        // ...but never across hosts.
        assert_eq!(
            s(
                &[("//h.example/:_authToken", "reg")],
                "https://other.example/x",
                "https://h.example/"
            ),
            "missing"
        );
        // An empty token is no token: the walk goes on.
        assert_eq!(
            s(
                &[
                    ("//h.example/a/:_authToken", ""),
                    ("//h.example/:_authToken", "root")
                ],
                "https://h.example/a/pkg",
                "https://h.example/a/"
            ),
            "//h.example/:_authToken Bearer root"
        );
    }

    #[test]
    fn basic_auth_and_certs() {
        let m = store(&[
            ("//h.example/:_auth", "dXNlcjpwYXNz"),
            ("//u.example/:username", "user"),
            ("//u.example/:_password", "cGFzcw=="),
            ("//c.example/:certfile", "/c.pem"),
            ("//c.example/:keyfile", "/k.pem"),
            ("//t.example/:_authToken", "tok"),
            ("//t.example/:_auth", "ignored"),
            ("//t.example/:certfile", "/c.pem"),
            ("//t.example/:keyfile", "/k.pem"),
            ("//half.example/:username", "user"),
        ]);
        let get = |k: &str| m.get(k);
        let look = |u: &str| auth_kind(&find_auth(&get, u, None));
        assert_eq!(
            look("https://h.example/p"),
            "//h.example/:_auth Basic dXNlcjpwYXNz"
        );
        // username + base64 password: Basic base64("user:pass").
        assert_eq!(
            look("https://u.example/p"),
            "//u.example/:username Basic dXNlcjpwYXNz"
        );
        assert_eq!(look("https://c.example/p"), "//c.example/:certfile - +cert");
        assert_eq!(
            look("https://t.example/p"),
            "//t.example/:_authToken Bearer tok +cert"
        );
        assert_eq!(look("https://half.example/p"), "missing");

        assert_eq!(credentials_by_uri(&get, "https://h.example/"), Ok(true));
        assert_eq!(credentials_by_uri(&get, "https://u.example"), Ok(true));
        assert_eq!(credentials_by_uri(&get, "https://c.example/"), Ok(true));
        assert_eq!(credentials_by_uri(&get, "https://half.example/"), Ok(false));
        // The pre-check does not walk: a key below the registry's directory
        // is not seen.
        let m2 = store(&[("//h.example/:_authToken", "t")]);
        let get2 = |k: &str| m2.get(k);
        assert_eq!(
            credentials_by_uri(&get2, "https://h.example/sub/"),
            Ok(false)
        );
        assert_eq!(credentials_by_uri(&get2, "https://h.example/sub"), Ok(true));
        // An `_auth` that decodes to nothing has no username.
        let m3 = store(&[("//h.example/:_auth", "!!!")]);
        let get3 = |k: &str| m3.get(k);
        assert_eq!(credentials_by_uri(&get3, "https://h.example/"), Ok(false));
    }

    #[test]
    fn unusable_values_stop_the_walk() {
        let mut m = store(&[("//h.example/:_authToken", "root")]);
        m.insert(
            "//h.example/a/:_authToken".into(),
            ConfigValue::new(
                "//h.example/a/:_authToken",
                Json::String("${NODE_AUTH_TOKEN}".into()),
                Origin::Env {
                    var: "npm_config_//h.example/a/:_authToken".into(),
                },
                vec!["NODE_AUTH_TOKEN".into()],
            ),
        );
        m.insert(
            "//p.example/:_authToken".into(),
            ConfigValue::new(
                "//p.example/:_authToken",
                Json::String(SETUP_NODE_PLACEHOLDER.into()),
                Origin::Default,
                vec![],
            ),
        );
        let get = |k: &str| m.get(k);
        let l = find_auth(&get, "https://h.example/a/pkg", None);
        assert!(
            matches!(&l, CredentialLookup::Unusable(ConfigDiagnostic::UnsetVariable { var, .. }) if var == "NODE_AUTH_TOKEN"),
            "{l:?}"
        );
        let l = find_auth(&get, "https://p.example/pkg", None);
        assert!(
            matches!(
                l,
                CredentialLookup::Unusable(ConfigDiagnostic::PlaceholderToken { .. })
            ),
            "{l:?}"
        );
        assert!(credentials_by_uri(&get, "https://p.example/").is_err());
    }

    #[test]
    fn node_base64_is_lenient() {
        let cases: &[(&str, &[u8])] = &[
            ("YWJj", b"abc"),
            ("YWJ", b"ab"),
            ("Y", b""),
            ("YW=Jj", b"a"),
            ("YW Jj", b"abc"),
            ("YW!Jj", b"abc"),
            ("YW_-", b"ao\xfe"),
            ("YW+/", b"ao\xbf"),
            ("====YWJj", b""),
        ];
        for (input, want) in cases {
            assert_eq!(node_base64_decode(input), *want, "{input:?}");
        }
    }
}
