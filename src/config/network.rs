//! npm 11's network settings, resolved as npm resolves them, for the one
//! place that builds HTTP agents ([`crate::http::Client`]).
//!
//! * **Trust** (`@npmcli/config` definitions, Node's `tls`): `cafile` (a PEM
//!   bundle, split on `-----END CERTIFICATE-----`) wins over `ca` (a PEM
//!   string or an array of them); either *replaces* the default roots
//!   (Mozilla's, as Node bundles them). Without them, the certificates of the
//!   file named by `NODE_EXTRA_CA_CERTS` are added to the default roots; Node
//!   ignores that variable when `ca` is given, and so does trustpub.
//!   `strict-ssl=false` turns verification off (with a warning on every run).
//! * **Proxy** (`@npmcli/agent/lib/proxy.js`, `npm-registry-fetch`): one
//!   proxy, `https-proxy` or else `proxy`, for every URL; without either, the
//!   environment (any case): `https_proxy` for https URLs, `https_proxy`,
//!   `http_proxy` or `proxy` for http URLs. A host listed in `noproxy` or in
//!   `no_proxy` from the environment goes direct (npm checks `noproxy` when
//!   it picks the agent and the agent checks again with the environment's);
//!   entries are domain suffixes, matched label by label from the right
//!   (`example.com` and `.example.com` both match `a.example.com`).
//! * **Client certificate**: `//host/:certfile` + `:keyfile` for the
//!   registry (as npm-registry-fetch's `getAuth` finds them), else the
//!   top-level PEM strings `cert` + `key`. Sent to the registry's origin only.
//!
//! Stricter than npm, on purpose: a `cafile`, `certfile`, `keyfile` or
//! `NODE_EXTRA_CA_CERTS` that cannot be read or holds no certificate is an
//! error (npm ignores a missing `cafile`, and Node a bad extra-CA file); a
//! network setting in package.json `publishConfig` is refused (a repository
//! file must not redirect or weaken the connection); settings trustpub
//! cannot honour (`local-address`, a SOCKS proxy) are errors, never ignored.

use serde_json::Value as Json;
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey};
use url::Url;

use super::{Config, ConfigError, Origin};
use crate::env::Env;
use crate::js::js_trim;
use crate::secret::redact_url;

/// The keys this module reads (and refuses from `publishConfig`).
pub const NETWORK_KEYS: &[&str] = &[
    "ca",
    "cafile",
    "cert",
    "key",
    "strict-ssl",
    "proxy",
    "https-proxy",
    "noproxy",
    "local-address",
    "maxsockets",
];

/// A proxy and where it was set. The URL may hold credentials: print
/// [`ProxySetting::shown`], never the URL.
#[derive(Clone)]
pub struct ProxySetting {
    pub url: String,
    pub place: String,
}

impl ProxySetting {
    /// The URL with any password replaced.
    pub fn shown(&self) -> String {
        redact_url(&self.url)
    }
}

impl std::fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProxySetting({} from {})", self.shown(), self.place)
    }
}

/// A client certificate with its key, and where they were configured.
#[derive(Clone)]
pub struct ClientIdentity {
    pub cert: ClientCert,
    pub place: String,
}

/// The resolved network settings.
#[derive(Clone, Default)]
pub struct NetworkSettings {
    /// `cafile` or `ca`: the only roots trusted, and where they were set.
    pub ca: Option<(Vec<Certificate<'static>>, String)>,
    /// `NODE_EXTRA_CA_CERTS`, added to the default roots (not to `ca`).
    pub extra_ca: Vec<Certificate<'static>>,
    /// `strict-ssl=false`, and where: no certificate verification at all.
    pub insecure: Option<String>,
    /// `https-proxy`, else `proxy`.
    pub proxy: Option<ProxySetting>,
    /// The proxy variables of the environment, lower-cased names.
    env_https_proxy: Option<ProxySetting>,
    env_http_proxy: Option<ProxySetting>,
    env_proxy: Option<ProxySetting>,
    /// `noproxy` and `no_proxy` from the environment.
    pub no_proxy: Vec<String>,
    /// The registry's origin (`scheme://host:port`) and its certificate.
    pub registry_cert: Option<(String, ClientIdentity)>,
}

impl std::fmt::Debug for NetworkSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkSettings")
            .field("ca", &self.ca.as_ref().map(|(c, p)| (c.len(), p)))
            .field("extra_ca", &self.extra_ca.len())
            .field("insecure", &self.insecure)
            .field("proxy", &self.proxy)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

fn network_error(key: &str, origin: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Network {
        key: key.to_string(),
        place: origin.to_string(),
        problem: problem.into(),
    }
}

/// A config string value, `None` for null, false, empty or absent.
fn string_value(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !js_trim(s).is_empty() && s != "false" && s != "null" => {
            Some(js_trim(s).to_string())
        }
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The certificates of a PEM text (npm also accepts `\n` written out).
pub fn parse_certs(pem: &[u8]) -> Result<Vec<Certificate<'static>>, String> {
    let text = String::from_utf8_lossy(pem).replace("\\n", "\n");
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(text.as_bytes()) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(format!("is not valid PEM ({e})")),
        }
    }
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

fn parse_key(pem: &[u8]) -> Result<PrivateKey<'static>, String> {
    let text = String::from_utf8_lossy(pem).replace("\\n", "\n");
    for item in ureq::tls::parse_pem(text.as_bytes()) {
        match item {
            Ok(PemItem::PrivateKey(k)) => return Ok(k),
            Ok(_) => {}
            Err(_) => return Err("is not valid PEM".into()),
        }
    }
    Err("holds no PEM private key (-----BEGIN PRIVATE KEY-----)".into())
}

/// Checks that the key (`key_pem`, the text `key` came from) signs and
/// belongs to the certificate, so that the TLS stack never refuses it
/// mid-request.
fn identity(
    chain: Vec<Certificate<'static>>,
    key: PrivateKey<'static>,
    key_pem: &[u8],
) -> Result<ClientCert, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let text = String::from_utf8_lossy(key_pem).replace("\\n", "\n");
    let key_der = PrivateKeyDer::from_pem_slice(text.as_bytes())
        .map_err(|_| "is not a private key trustpub can read".to_string())?;
    let ders = chain
        .iter()
        .map(|c| CertificateDer::from(c.der()).into_owned())
        .collect();
    rustls::sign::CertifiedKey::from_der(ders, key_der, &rustls::crypto::ring::default_provider())
        .map_err(|e| format!("cannot be used with the certificate ({e})"))?;
    Ok(ClientCert::new_with_certs(&chain, key))
}

/// The largest certificate or key file read (a full CA bundle is ~250 KB).
const MAX_PEM_FILE: u64 = 16 * 1024 * 1024;

/// Reads a regular file of at most [`MAX_PEM_FILE`] bytes.
/// A PEM file: a regular file (a FIFO is refused without blocking) of at
/// most [`MAX_PEM_FILE`] bytes.
fn read_file(path: &str, key: &str, place: &str) -> Result<Vec<u8>, ConfigError> {
    crate::limits::read_file(std::path::Path::new(path), MAX_PEM_FILE)
        .map_err(|e| network_error(key, place, format!("cannot read the file {path}: {e}")))
}

/// The settings that decide who can read the traffic (a proxy, the
/// certificate authorities, turning verification off, the local address):
/// a file of the repository must not choose them, or a pull request could
/// send every credential through a proxy it controls and decrypt it.
const CHOSEN_OUTSIDE_ONLY: &[&str] = &[
    "ca",
    "cafile",
    "cert",
    "key",
    "strict-ssl",
    "proxy",
    "https-proxy",
    "local-address",
];

impl NetworkSettings {
    /// Resolves the settings of `config` (its config view: `publishConfig`
    /// may not set them) and `env`, with the client certificate of
    /// `registry` when one is configured.
    pub fn resolve(
        config: &Config,
        env: &Env,
        registry: Option<&str>,
    ) -> Result<NetworkSettings, ConfigError> {
        for key in NETWORK_KEYS {
            if let Some(v) = config.get(key) {
                if let Origin::PublishConfig { .. } = v.origin() {
                    return Err(network_error(
                        key,
                        &v.origin().place(),
                        "trustpub does not take network settings from package.json (a file of the repository must not choose the proxy or the certificates); set it in an npmrc file, the environment or on the command line",
                    ));
                }
                if CHOSEN_OUTSIDE_ONLY.contains(key) && config.chosen_in_repository(v.origin()) {
                    return Err(network_error(
                        key,
                        &v.origin().place(),
                        "a file of the repository must not choose the proxy or the certificates (a pull request could route every credential through a proxy it controls); set it in the user or global npmrc, the environment or on the command line",
                    ));
                }
            }
        }
        let get = |key: &str| {
            config
                .get_config(key)
                .map(|v| (v.expose().clone(), v.origin().place()))
        };
        let mut net = NetworkSettings::default();

        if let Some((v, place)) = get("local-address") {
            if string_value(&v).is_some() {
                return Err(network_error(
                    "local-address",
                    &place,
                    "trustpub cannot choose the local address of its connections; remove the setting",
                ));
            }
        }

        // Trust: cafile wins over ca (definitions are flattened in order).
        if let Some((v, place)) = get("ca") {
            let pems: Vec<String> = match &v {
                Json::Array(items) => items.iter().filter_map(string_value).collect(),
                other => string_value(other).into_iter().collect(),
            };
            if !pems.is_empty() {
                let mut certs = Vec::new();
                for pem in pems {
                    certs.extend(
                        parse_certs(pem.as_bytes())
                            .map_err(|p| network_error("ca", &place, format!("the value {p}")))?,
                    );
                }
                net.ca = Some((certs, format!("ca in {place}")));
            }
        }
        if let Some((v, place)) = get("cafile") {
            if let Some(path) = string_value(&v) {
                let raw = read_file(&path, "cafile", &place)?;
                let certs = parse_certs(&raw)
                    .map_err(|p| network_error("cafile", &place, format!("the file {path} {p}")))?;
                net.ca = Some((certs, format!("cafile {path} (set in {place})")));
            }
        }
        if let Some(path) = env.get_non_empty("NODE_EXTRA_CA_CERTS") {
            let place = "environment variable NODE_EXTRA_CA_CERTS";
            let raw = read_file(path, "NODE_EXTRA_CA_CERTS", place)?;
            net.extra_ca = parse_certs(&raw).map_err(|p| {
                network_error("NODE_EXTRA_CA_CERTS", place, format!("the file {path} {p}"))
            })?;
        }
        if let Some((Json::Bool(false), place)) = get("strict-ssl") {
            net.insecure = Some(place);
        }

        // Proxy: opts.httpsProxy || opts.proxy.
        for key in ["https-proxy", "proxy"] {
            if net.proxy.is_some() {
                break;
            }
            if let Some((v, place)) = get(key) {
                if let Some(url) = string_value(&v) {
                    let p = ProxySetting {
                        url,
                        place: format!("{key} in {place}"),
                    };
                    check_proxy(&p).map_err(|e| network_error(key, &place, e))?;
                    net.proxy = Some(p);
                }
            }
        }
        let mut env_no_proxy = None;
        for (name, value) in env.iter() {
            let setting = (!value.is_empty()).then(|| ProxySetting {
                url: value.to_string(),
                place: format!("environment variable {name}"),
            });
            match name.to_ascii_lowercase().as_str() {
                "https_proxy" => net.env_https_proxy = setting,
                "http_proxy" => net.env_http_proxy = setting,
                "proxy" => net.env_proxy = setting,
                "no_proxy" => env_no_proxy = Some(value.to_string()),
                _ => {}
            }
        }
        // `noproxy` decides in `getAgent`, and the agent then asks again
        // without it, so that `no_proxy` from the environment applies too:
        // a host listed in either goes direct.
        let configured = match get("noproxy") {
            Some((Json::Array(items), _)) => Some(
                items
                    .iter()
                    .filter_map(string_value)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Some((v, _)) => string_value(&v),
            None => None,
        };
        net.no_proxy = [configured, env_no_proxy]
            .into_iter()
            .flatten()
            .flat_map(|list| {
                list.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect();

        // The registry's client certificate.
        if let Some(registry) = registry {
            let origin = crate::registry::origin(js_trim(registry));
            let found = config.credential_for(registry).and_then(|c| c.client_cert);
            let ident = if let Some(c) = found {
                let place = format!("//…:certfile {} and :keyfile {}", c.certfile, c.keyfile);
                let chain =
                    parse_certs(&read_file(&c.certfile, "certfile", &place)?).map_err(|p| {
                        network_error("certfile", &place, format!("the file {} {p}", c.certfile))
                    })?;
                let key_pem = read_file(&c.keyfile, "keyfile", &place)?;
                let key = parse_key(&key_pem).map_err(|p| {
                    network_error("keyfile", &place, format!("the file {} {p}", c.keyfile))
                })?;
                let cert = identity(chain, key, &key_pem)
                    .map_err(|p| network_error("keyfile", &place, format!("the key {p}")))?;
                Some(ClientIdentity { cert, place })
            } else {
                match (get("cert"), get("key")) {
                    (Some((c, cplace)), Some((k, _))) => {
                        match (string_value(&c), string_value(&k)) {
                            (Some(c), Some(k)) => {
                                let chain = parse_certs(c.as_bytes()).map_err(|p| {
                                    network_error("cert", &cplace, format!("the value {p}"))
                                })?;
                                let key = parse_key(k.as_bytes()).map_err(|p| {
                                    network_error("key", &cplace, format!("the value {p}"))
                                })?;
                                let cert = identity(chain, key, k.as_bytes()).map_err(|p| {
                                    network_error("key", &cplace, format!("the key {p}"))
                                })?;
                                Some(ClientIdentity {
                                    cert,
                                    place: format!("cert and key in {cplace}"),
                                })
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                }
            };
            if let (Some(origin), Some(ident)) = (origin, ident) {
                net.registry_cert = Some((origin, ident));
            }
        }
        Ok(net)
    }

    /// The proxy npm would use for `url` (`getProxy` of `@npmcli/agent`),
    /// or an error naming the setting when it is not one trustpub supports.
    pub fn proxy_for(&self, url: &Url) -> Result<Option<&ProxySetting>, String> {
        let proxy = match &self.proxy {
            Some(p) => Some(p),
            None if url.scheme() == "https" => self.env_https_proxy.as_ref(),
            None => self
                .env_https_proxy
                .as_ref()
                .or(self.env_http_proxy.as_ref())
                .or(self.env_proxy.as_ref()),
        };
        let Some(proxy) = proxy else {
            return Ok(None);
        };
        if is_no_proxy(url, &self.no_proxy) {
            return Ok(None);
        }
        check_proxy(proxy).map_err(|e| format!("the proxy of {} {e}", proxy.place))?;
        Ok(Some(proxy))
    }

    /// The password of every proxy URL (or its user name when it has no
    /// password: `http://TOKEN@proxy/`), raw and `%`-decoded, for scrubbing
    /// and masking.
    pub fn secrets(&self) -> Vec<crate::secret::Secret<String>> {
        [
            &self.proxy,
            &self.env_https_proxy,
            &self.env_http_proxy,
            &self.env_proxy,
        ]
        .into_iter()
        .flatten()
        .filter_map(|p| Url::parse(&p.url).ok())
        .flat_map(|u| {
            let secret = match u.password() {
                Some(p) => p.to_string(),
                None => u.username().to_string(),
            };
            Some(secret)
                .into_iter()
                .filter(|s| !s.is_empty())
                .flat_map(move |s| {
                    let d = percent_decode(&s);
                    if d == s {
                        vec![s]
                    } else {
                        vec![s, d]
                    }
                })
                .collect::<Vec<_>>()
        })
        .map(crate::secret::Secret::new)
        .collect()
    }

    /// Warnings to print on every run that uses these settings.
    pub fn warnings(&self) -> Vec<String> {
        self.insecure
            .iter()
            .map(|place| {
                format!(
                    "strict-ssl=false (set in {place}): TLS certificates are NOT verified, so anyone on the network path can read and change this publish, credentials included; trust the certificate authority with cafile or NODE_EXTRA_CA_CERTS instead"
                )
            })
            .collect()
    }
}

/// `%XX` decoded (lossy), as a proxy's credentials are sent.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `isNoProxy` of `@npmcli/agent`: an entry matches when its dot-separated
/// labels equal the host's last labels.
pub fn is_no_proxy(url: &Url, entries: &[String]) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host: Vec<&str> = host.split('.').rev().collect();
    entries.iter().any(|no| {
        let labels: Vec<&str> = no.split('.').filter(|s| !s.is_empty()).rev().collect();
        !labels.is_empty()
            && labels
                .iter()
                .enumerate()
                .all(|(i, l)| host.get(i) == Some(l))
    })
}

/// A proxy URL trustpub can use: `http://` or `https://`.
fn check_proxy(p: &ProxySetting) -> Result<(), String> {
    let u = Url::parse(&p.url).map_err(|_| format!("is not a URL ({})", redact_url(&p.url)))?;
    match u.scheme() {
        "http" | "https" if u.host_str().is_some() => Ok(()),
        s if s.starts_with("socks") => Err(format!(
            "is a SOCKS proxy ({}), which trustpub does not support; use an HTTP proxy",
            redact_url(&p.url)
        )),
        _ => Err(format!(
            "has an unsupported scheme ({}); use an http:// or https:// proxy URL",
            redact_url(&p.url)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_labels_from_the_right_as_npm_does() {
        let u = |s: &str| Url::parse(s).unwrap();
        let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_no_proxy(
            &u("https://a.example.com/"),
            &e(&["example.com"])
        ));
        assert!(is_no_proxy(
            &u("https://a.example.com/"),
            &e(&[".example.com"])
        ));
        assert!(is_no_proxy(
            &u("https://example.com/"),
            &e(&[".example.com"])
        ));
        assert!(!is_no_proxy(
            &u("https://badexample.com/"),
            &e(&["example.com"])
        ));
        assert!(!is_no_proxy(
            &u("https://example.com/"),
            &e(&["a.example.com"])
        ));
        assert!(!is_no_proxy(&u("https://example.com/"), &e(&["*"])));
        assert!(!is_no_proxy(&u("https://example.com/"), &e(&["."])));
        assert!(is_no_proxy(
            &u("http://127.0.0.1:4873/"),
            &e(&["127.0.0.1"])
        ));
        assert!(!is_no_proxy(
            &u("http://127.0.0.1:4873/"),
            &e(&["127.0.0.1:4873"])
        ));
    }

    #[test]
    fn proxy_credentials_are_secrets_raw_and_decoded() {
        let net = NetworkSettings {
            env_https_proxy: Some(ProxySetting {
                url: "http://bob:p%40ss@proxy.example:3128".into(),
                place: "HTTPS_PROXY".into(),
            }),
            ..Default::default()
        };
        let s: Vec<String> = net.secrets().iter().map(|s| s.expose().clone()).collect();
        assert_eq!(s, ["p%40ss", "p@ss"]);
        let net = NetworkSettings {
            proxy: Some(ProxySetting {
                url: "http://tok3n@proxy.example:3128".into(),
                place: "proxy".into(),
            }),
            ..Default::default()
        };
        let s: Vec<String> = net.secrets().iter().map(|s| s.expose().clone()).collect();
        assert_eq!(s, ["tok3n"]);
        assert_eq!(percent_decode("a%4"), "a%4");
    }

    #[test]
    fn proxy_selection_follows_npm_agent() {
        let p = |u: &str, place: &str| {
            Some(ProxySetting {
                url: u.into(),
                place: place.into(),
            })
        };
        let mut net = NetworkSettings {
            env_http_proxy: p("http://h:1", "HTTP_PROXY"),
            ..Default::default()
        };
        let https = Url::parse("https://r.example/").unwrap();
        let http = Url::parse("http://r.example/").unwrap();
        assert!(net.proxy_for(&https).unwrap().is_none());
        assert_eq!(net.proxy_for(&http).unwrap().unwrap().url, "http://h:1");
        net.env_https_proxy = p("http://s:1", "HTTPS_PROXY");
        assert_eq!(net.proxy_for(&http).unwrap().unwrap().url, "http://s:1");
        net.proxy = p("http://c:1", "proxy");
        assert_eq!(net.proxy_for(&https).unwrap().unwrap().url, "http://c:1");
        net.no_proxy = vec!["r.example".into()];
        assert!(net.proxy_for(&https).unwrap().is_none());
        net.no_proxy.clear();
        net.proxy = p("socks5://u:secret@c:1", "proxy");
        let e = net.proxy_for(&https).unwrap_err();
        assert!(e.contains("SOCKS") && !e.contains("secret"), "{e}");
    }
}
