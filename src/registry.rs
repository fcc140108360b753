//! HTTP to the registry: the packument GET, the publish PUT, retries, and
//! turning error responses into messages a maintainer can act on. It knows
//! nothing about CI.
//!
//! Retries follow npm (make-fetch-happen + promise-retry): on 408, 420, 429,
//! 5xx and connection errors, with delays `min(min_timeout * factor^n,
//! max_timeout)` (npm's defaults: 10 s then 60 s, three attempts), except
//! that a `Retry-After` header is honoured (capped at `max_timeout`). Other
//! 4xx answers are final.
//!
//! Redirects are followed by hand: a credential is only ever sent to the
//! origin it belongs to. A redirect of the PUT to another origin is refused.
//!
//! Every request of the program goes through [`Client`], whose agents are
//! built in one place from npm's network settings
//! ([`crate::config::NetworkSettings`]: roots, client certificate, proxy).
//! Limits: one attempt may take `fetch-timeout`, headers and body together
//! (a body timeout is not retried, as in npm); the registry's requests of a
//! run together get no more than npm's worst case for a publish
//! ([`Client::registry_budget`]); answers are read up to [`MAX_BODY`]
//! decoded bytes ([`MAX_ERROR_BODY`] for errors and redirects) and refused
//! past that. A TLS failure is reported in words and not retried; a header
//! with a line break or a URL scheme other than http(s) is a local error.

// A registry error carries everything a maintainer needs to read (status,
// URL, the registry's message, the OTP URLs); it is built once per failed
// run, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::io::Read;
use std::time::Duration;

use crate::config::NetworkSettings;
use crate::secret::Secret;

pub use crate::config::RetryPolicy;

/// The wait before retry `n`: npm's backoff, or the registry's `Retry-After`
/// when it sends one (capped at the policy's longest wait).
pub fn retry_delay(policy: &RetryPolicy, n: u32, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(ra) => ra.min(policy.max_timeout.max(policy.min_timeout)),
        None => policy.delay(n),
    }
}

/// An `authorization` header value and the origin it may be sent to.
#[derive(Clone)]
pub struct Auth {
    pub header: Secret<String>,
    /// `scheme://host:port` of the registry the credential belongs to.
    pub origin: String,
    /// How it authenticates, for the `npm-auth-type` header and messages.
    pub kind: AuthKind,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("header", &"****")
            .field("origin", &self.origin)
            .field("kind", &self.kind)
            .finish()
    }
}

/// Where a credential came from, for the final line and `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// A token from `.npmrc`, `NODE_AUTH_TOKEN` or the environment.
    Token,
    /// `_auth` or username and password.
    Basic,
    /// A short-lived token from the trusted-publishing exchange.
    TrustedPublishing,
}

/// A response, fully read.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL that answered (after same-origin redirects).
    pub url: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `body.error` (or `body.message`) when the body is JSON, else the text.
    pub fn registry_message(&self) -> Option<String> {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&self.body) {
            for key in ["error", "message", "detail"] {
                if let Some(s) = v.get(key).and_then(|m| m.as_str()) {
                    return Some(s.to_string());
                }
            }
            // Some registries nest it: `{"body": {"message": …}}`.
            return v
                .pointer("/body/message")
                .and_then(|m| m.as_str())
                .map(str::to_string);
        }
        let text = String::from_utf8_lossy(&self.body).trim().to_string();
        (!text.is_empty() && text.len() < 2000).then_some(text)
    }
}

/// What can go wrong talking to the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{method} {url} failed: {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
        attempts: u32,
    },
    #[error("{status} {reason} - {method} {url}{}", registry_message.as_deref().map(|m| format!(" - {m}")).unwrap_or_default())]
    Status {
        status: u16,
        reason: String,
        method: String,
        url: String,
        registry_message: Option<String>,
        /// `name@version` the request was about.
        spec: String,
        www_authenticate: Option<String>,
        /// For one-time-password challenges with a web flow.
        auth_url: Option<String>,
        done_url: Option<String>,
        /// Whether the request carried a credential.
        authenticated: bool,
    },
    #[error("the registry redirected {method} {from} to another host ({to}); trustpub does not send credentials to another host")]
    CrossOriginRedirect {
        method: String,
        from: String,
        to: String,
    },
    #[error("the registry answered {method} {url} with a redirect ({detail}), and the package is not on the registry: nothing was published")]
    Redirected {
        method: String,
        url: String,
        detail: String,
    },
    #[error("too many redirects for {method} {url}")]
    TooManyRedirects { method: String, url: String },
    /// The TLS handshake failed: never retried, the next attempt would fail
    /// the same way.
    #[error("{method} {url} failed: no secure connection to {host}: {problem}")]
    Tls {
        method: String,
        url: String,
        host: String,
        problem: String,
        fix: String,
    },
    /// The answer is larger than trustpub reads (decoded size).
    #[error("{method} {url} failed: the answer is larger than {limit} bytes, so trustpub stopped reading it")]
    TooLarge {
        method: String,
        url: String,
        limit: u64,
    },
    /// The answer's body did not arrive within `fetch-timeout`. Like npm
    /// (minipass-fetch's body timeout), not retried.
    #[error("{method} {url} failed: the answer did not arrive within fetch-timeout ({ms} ms)")]
    BodyTimeout {
        method: String,
        url: String,
        ms: u128,
    },
    /// The registry has had npm's worst-case time for a publish.
    #[error("{method} {url} was not sent: the registry has already had {} s, npm's worst case for a publish (its packument GET and its upload, every attempt running to fetch-timeout)", budget.as_secs())]
    BudgetSpent {
        method: String,
        url: String,
        budget: Duration,
    },
    /// A request that cannot be sent as configured (a token with a line
    /// break, a URL scheme other than http/https, an unusable proxy): a
    /// local problem, exit code 2, never retried.
    #[error("{message}")]
    Local { message: String, hint: String },
    #[error("the registry's answer to {method} {url} is not valid JSON")]
    BadJson {
        method: String,
        url: String,
        #[source]
        source: serde_json::Error,
    },
}

impl RegistryError {
    /// True for a one-time-password challenge (npm's EOTP).
    pub fn is_otp(&self) -> bool {
        match self {
            RegistryError::Status {
                status: 401,
                www_authenticate,
                registry_message,
                ..
            } => {
                www_authenticate
                    .as_deref()
                    .is_some_and(|h| h.to_ascii_lowercase().contains("otp"))
                    || registry_message
                        .as_deref()
                        .is_some_and(|m| m.to_ascii_lowercase().contains("one-time pass"))
            }
            _ => false,
        }
    }

    /// Whether the problem is local (configuration), for exit code 2.
    pub fn is_local(&self) -> bool {
        matches!(self, RegistryError::Local { .. })
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            RegistryError::Transport { attempts, .. } => Some(format!(
                "the registry could not be reached after {attempts} attempt(s); check the registry URL, the network and any proxy settings"
            )),
            RegistryError::CrossOriginRedirect { .. } => Some(
                "set the registry to the URL that actually serves it (the redirect target), so that the credential is configured for that host".into(),
            ),
            RegistryError::TooManyRedirects { .. } => Some("check the registry URL".into()),
            RegistryError::Tls { fix, .. } => Some(fix.clone()),
            RegistryError::TooLarge { .. } => Some("check that the URL points at an npm registry; a registry answer this large is refused rather than cut short".into()),
            RegistryError::BodyTimeout { .. } => Some("the server sends its answer too slowly; check the network and any proxy, or raise fetch-timeout (npm's default is 300000 ms)".into()),
            RegistryError::Local { hint, .. } => Some(hint.clone()),
            RegistryError::BudgetSpent { .. } => Some("the registry answers too slowly (or not at all); check the registry URL, the network and any proxy, then run again".into()),
            RegistryError::Redirected { .. } => Some(
                "an upload is only published when the registry itself answers it with a success; set the registry to the URL that serves it and publish again".into(),
            ),
            RegistryError::BadJson { .. } => Some("check that the registry URL points at an npm registry".into()),
            RegistryError::Status { .. } if self.is_otp() => {
                let RegistryError::Status { auth_url, done_url, .. } = self else {
                    return None;
                };
                Some(match (auth_url, done_url) {
                    (Some(a), Some(_)) => format!(
                        "this operation requires a one-time password: open {a} in a browser to authenticate, then run again with --otp=<code>; in CI, use trusted publishing or a granular access token that bypasses two-factor authentication"
                    ),
                    _ => "this operation requires a one-time password from your authenticator: run again with --otp=<code>; in CI, use trusted publishing or a granular access token that bypasses two-factor authentication".into(),
                })
            }
            RegistryError::Status { status, spec, authenticated, .. } => Some(match status {
                401 => "the registry did not accept the credential: it is missing, expired or revoked. Check the token for this registry in .npmrc or NODE_AUTH_TOKEN".into(),
                402 => "a new scoped package is private by default and needs a paid plan: publish it as public with --access public or \"publishConfig\": {\"access\": \"public\"}".into(),
                403 => "the credential is valid but may not publish this package: check that the token has publish rights for it (read-only tokens and tokens limited to other packages or scopes are refused), and that you are a maintainer".into(),
                404 => format!(
                    "the registry answers 404 instead of 403 when the credential may not publish {spec}: check that the token can publish to this scope or package{}",
                    if *authenticated { "" } else { " (this request carried no credential)" }
                ),
                409 => "another publish of this version happened at the same time, or the version exists: check the versions on the registry".into(),
                422 => "the registry refused the document (often provenance: a self-hosted runner or a private repository); see its message above".into(),
                429 => "the registry is rate-limiting this client: wait and try again".into(),
                s if *s >= 500 => "the registry had an internal error; try again later".into(),
                _ => "see the registry's message above".into(),
            }),
        }
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        420 => "Enhance Your Calm",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Whether npm retries a response with this status.
pub fn is_retryable(status: u16) -> bool {
    matches!(status, 408 | 420 | 429) || status >= 500
}

/// The origin (`scheme://host:port`) of a URL, ports made explicit.
pub fn origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?;
    let port = u.port_or_known_default()?;
    Some(format!("{}://{}:{}", u.scheme(), host, port))
}

/// Whether a URL's host is this machine (`127.0.0.0/8`, `::1`, `localhost`).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether a credential may travel to this URL: https, or plain http to
/// this machine.
pub fn is_secure(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|u| u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u)))
}

/// The packument GET npm makes (the abbreviated document preferred); with
/// `auth_type`, also npm-registry-fetch's `npm-auth-type` and `npm-command`.
pub fn packument_request<'a>(
    url: &str,
    auth: Option<&'a Auth>,
    spec: &str,
    auth_type: Option<&str>,
) -> Request<'a> {
    let mut headers = vec![(
        "accept",
        "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*".to_string(),
    )];
    if let Some(t) = auth_type {
        headers.push(("npm-auth-type", t.to_string()));
        headers.push(("npm-command", "publish".to_string()));
    }
    Request {
        method: "GET",
        url: url.to_string(),
        headers,
        body: None,
        auth,
        spec: spec.to_string(),
    }
}

/// The parts of a packument the checks read. Everything else is skipped
/// while parsing: the packument of a long-lived package is megabytes of
/// JSON (parsing date-fns' into a `serde_json::Value` takes 25-60 ms, this 4 ms).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Packument {
    #[serde(default)]
    pub versions: Option<std::collections::HashMap<String, PackumentVersion>>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct PackumentVersion {
    #[serde(default)]
    dist: Option<PackumentDist>,
    #[serde(default)]
    pub deprecated: Option<serde_json::Value>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct PackumentDist {
    #[serde(default)]
    integrity: Option<serde_json::Value>,
}

impl PackumentVersion {
    pub fn integrity(&self) -> Option<&str> {
        self.dist.as_ref()?.integrity.as_ref()?.as_str()
    }
}

impl Packument {
    /// Parses the shape above; a packument of another shape (a `versions`
    /// that is not an object, a `dist` that is a string …) is read
    /// leniently, as npm reads it: what is not an object is no version.
    pub fn parse(body: &[u8]) -> Option<Packument> {
        if let Ok(p) = serde_json::from_slice::<Packument>(body) {
            return Some(p);
        }
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let versions = v
            .get("versions")
            .and_then(serde_json::Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(_, doc)| doc.is_object())
                    .map(|(k, doc)| {
                        (
                            k.clone(),
                            PackumentVersion {
                                dist: Some(PackumentDist {
                                    integrity: doc.pointer("/dist/integrity").cloned(),
                                }),
                                deprecated: doc.get("deprecated").cloned(),
                            },
                        )
                    })
                    .collect()
            });
        Some(Packument { versions })
    }
}

/// A request to send.
pub struct Request<'a> {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<&'a [u8]>,
    pub auth: Option<&'a Auth>,
    /// `name@version`, for error messages.
    pub spec: String,
}

/// Notices and retry messages the client reports as it goes.
pub trait Observer {
    /// An `npm-notice` header from the registry.
    fn notice(&self, text: &str);
    /// A retry is about to happen.
    fn retrying(&self, what: &str, attempt: u32, wait: Duration);
}

/// How a checked send ended.
#[derive(Debug)]
pub enum Sent {
    /// The registry answered with a success status.
    Answered(Response),
    /// A failed attempt had in fact taken effect (the check found it).
    FoundAfterFailure,
}

/// The largest decoded body read from a successful answer: packuments of
/// long-lived packages are tens of MB; this keeps peak memory well under
/// 256 MiB.
pub const MAX_BODY: u64 = 64 * 1024 * 1024;

/// The largest decoded body read from an error or redirect answer.
pub const MAX_ERROR_BODY: u64 = 1024 * 1024;

/// The agent of one proxy and client-certificate choice.
#[derive(Clone, PartialEq, Eq)]
struct AgentKey {
    proxy: Option<String>,
    cert: bool,
}

/// The HTTP client of every request trustpub makes (the registry, GitHub's
/// token service, the exchange, Fulcio, Rekor): the only place agents are
/// built, from the resolved [`NetworkSettings`].
pub struct Client {
    agents: std::sync::Mutex<Vec<(AgentKey, ureq::Agent)>>,
    net: NetworkSettings,
    /// The registry's origin, and the time its requests have taken so far.
    registry: Option<(String, std::sync::Mutex<Duration>)>,
    /// Origins whose TLS handshake failed in this run, with the problem and
    /// the fix: not tried again (a certificate does not fix itself).
    tls_failed: std::sync::Mutex<Vec<(String, String, String)>>,
    pub user_agent: String,
    pub retry: RetryPolicy,
    max_body: u64,
}

impl Client {
    /// A client with npm's defaults: no proxy, the default roots.
    pub fn new(user_agent: String, retry: RetryPolicy) -> Client {
        Client::with_network(user_agent, retry, NetworkSettings::default())
    }

    pub fn with_network(user_agent: String, retry: RetryPolicy, net: NetworkSettings) -> Client {
        Client {
            agents: std::sync::Mutex::new(Vec::new()),
            net,
            registry: None,
            tls_failed: std::sync::Mutex::new(Vec::new()),
            user_agent,
            retry,
            max_body: MAX_BODY,
        }
    }

    /// A client with the network settings and retry policy of `config`
    /// (and the client certificate of `registry`, if one is configured).
    pub fn from_config(
        user_agent: String,
        config: &crate::config::Config,
        env: &crate::env::Env,
        registry: &str,
    ) -> Result<Client, crate::config::ConfigError> {
        let net = NetworkSettings::resolve(config, env, Some(registry))?;
        let mut client = Client::with_network(user_agent, config.retry(), net);
        client.registry = origin(crate::js::js_trim(registry))
            .map(|o| (o, std::sync::Mutex::new(Duration::ZERO)));
        Ok(client)
    }

    /// The most time the registry's requests may take in one run: what npm
    /// spends at worst on a publish's two registry requests (the packument
    /// GET and the PUT), every attempt running to `fetch-timeout`. The
    /// waits between attempts are not counted, and are npm's.
    pub fn registry_budget(&self) -> Duration {
        let t = self.retry.timeout.unwrap_or(Duration::from_secs(30));
        t.saturating_mul(2 * (self.retry.retries.saturating_add(1)))
    }

    /// The secrets of the network settings (proxy passwords and user
    /// names), for the output scrubber.
    pub fn secrets(&self) -> Vec<Secret<String>> {
        self.net.secrets()
    }

    /// Warnings to print on every run (`strict-ssl=false`).
    pub fn warnings(&self) -> Vec<String> {
        self.net.warnings()
    }

    /// Whether requests to `url` carry a client certificate.
    pub fn sends_client_cert(&self, url: &str) -> bool {
        self.net
            .registry_cert
            .as_ref()
            .is_some_and(|(o, _)| origin(url).as_deref() == Some(o.as_str()))
    }

    fn agent_for(&self, url: &url::Url) -> Result<ureq::Agent, String> {
        let proxy = self.net.proxy_for(url)?;
        let key = AgentKey {
            proxy: proxy.map(|p| p.url.clone()),
            cert: self.sends_client_cert(url.as_str()),
        };
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, a)) = agents.iter().find(|(k, _)| *k == key) {
            return Ok(a.clone());
        }
        use ureq::tls::{Certificate, RootCerts, TlsConfig};
        let roots = match (&self.net.ca, self.net.extra_ca.is_empty()) {
            (Some((ca, _)), _) => RootCerts::new_with_certs(ca),
            (None, true) => RootCerts::WebPki,
            (None, false) => webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|d| Certificate::from_der(d.as_ref()).to_owned())
                .chain(self.net.extra_ca.iter().cloned())
                .into(),
        };
        let cert = key
            .cert
            .then(|| self.net.registry_cert.as_ref().map(|(_, c)| c.cert.clone()))
            .flatten();
        let tls = TlsConfig::builder()
            .root_certs(roots)
            .client_cert(cert)
            .disable_verification(self.net.insecure.is_some())
            .build();
        let proxy = match proxy {
            Some(p) => Some(ureq::Proxy::new(&p.url).map_err(|e| {
                format!(
                    "the proxy {} (from {}) cannot be used: {e}",
                    p.shown(),
                    p.place
                )
            })?),
            None => None,
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(self.retry.timeout)
            .user_agent(self.user_agent.as_str())
            .tls_config(tls)
            .proxy(proxy)
            .build();
        let agent: ureq::Agent = config.into();
        agents.push((key, agent.clone()));
        Ok(agent)
    }

    /// One attempt, following same-origin redirects (at most 5).
    pub fn send_once(&self, req: &Request<'_>) -> Result<Response, RegistryError> {
        let mut url = req.url.clone();
        for _ in 0..6 {
            let resp = self.attempt(req, &url)?;
            if matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
                let Some(location) = resp.header("location") else {
                    return Ok(resp);
                };
                let next = url::Url::parse(&url)
                    .and_then(|base| base.join(location))
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| location.to_string());
                if origin(&next) != origin(&url) {
                    return Err(RegistryError::CrossOriginRedirect {
                        method: req.method.to_string(),
                        from: url,
                        to: next,
                    });
                }
                url = next;
                continue;
            }
            return Ok(resp);
        }
        Err(RegistryError::TooManyRedirects {
            method: req.method.to_string(),
            url: req.url.clone(),
        })
    }

    fn attempt(&self, req: &Request<'_>, url: &str) -> Result<Response, RegistryError> {
        let shown = crate::secret::redact_url(url);
        let local = |message: String, hint: &str| RegistryError::Local {
            message,
            hint: hint.to_string(),
        };
        let parsed = url::Url::parse(url)
            .map_err(|_| local(format!("{shown} is not a valid URL"), "check the URL"))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(local(
                format!(
                    "{} {shown}: the {}:// scheme is not supported",
                    req.method,
                    parsed.scheme()
                ),
                "use an https:// URL (plain http:// is only allowed for a server on this machine)",
            ));
        }
        let agent = self.agent_for(&parsed).map_err(|m| {
            local(
                format!("{} {shown}: {m}", req.method),
                "use an http:// or https:// proxy URL, or remove the proxy setting",
            )
        })?;
        let mut builder = ureq::http::Request::builder().method(req.method).uri(url);
        for (k, v) in &req.headers {
            if has_line_break(v) {
                return Err(local(
                    format!(
                        "the {k} header of {} {shown} contains a line break (CR or LF)",
                        req.method
                    ),
                    "remove the line break from the value",
                ));
            }
            builder = builder.header(*k, v.as_str());
        }
        if let Some(auth) = req.auth {
            // Never to another origin than the credential's.
            if origin(url).as_deref() == Some(auth.origin.as_str()) {
                if has_line_break(auth.header.expose()) {
                    return Err(local(
                        format!(
                            "the credential for {} contains a line break (CR or LF) or a NUL, so it cannot be sent",
                            auth.origin
                        ),
                        "fix the token where it is set (a secret pasted with a trailing newline is the usual cause); trustpub never sends a header that could split the request",
                    ));
                }
                builder = builder.header("authorization", auth.header.expose().as_str());
            }
        }
        let request = builder
            .body(req.body.map(<[u8]>::to_vec).unwrap_or_default())
            .map_err(|e| local(format!("{} {shown}: {e}", req.method), "check the URL"))?;
        // Requests to the registry share npm's worst-case time.
        let spent = self
            .registry
            .as_ref()
            .filter(|(o, _)| origin(url).as_deref() == Some(o.as_str()))
            .map(|(_, spent)| spent);
        let started = std::time::Instant::now();
        let request = match spent {
            Some(spent) => {
                let budget = self.registry_budget();
                let left = budget.saturating_sub(*spent.lock().unwrap_or_else(|e| e.into_inner()));
                if left.is_zero() {
                    return Err(RegistryError::BudgetSpent {
                        method: req.method.to_string(),
                        url: url.to_string(),
                        budget,
                    });
                }
                let timeout = self.retry.timeout.map_or(left, |t| t.min(left));
                agent
                    .configure_request(request)
                    .timeout_global(Some(timeout))
                    .build()
            }
            None => request,
        };
        let this_origin = origin(url).unwrap_or_default();
        let known = self
            .tls_failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(o, _, _)| *o == this_origin)
            .map(|(_, p, f)| (p.clone(), f.clone()));
        if let Some((problem, fix)) = known {
            return Err(RegistryError::Tls {
                method: req.method.to_string(),
                url: url.to_string(),
                host: parsed.host_str().unwrap_or("").to_string(),
                problem,
                fix,
            });
        }
        let via = self
            .net
            .proxy_for(&parsed)
            .ok()
            .flatten()
            .map(|p| format!(" (through the proxy {} from {})", p.shown(), p.place))
            .unwrap_or_default();
        let result = self.exchange_once(req, url, &parsed, &agent, request, &via);
        if let Some(spent) = spent {
            *spent.lock().unwrap_or_else(|e| e.into_inner()) += started.elapsed();
        }
        if let Err(RegistryError::Tls { problem, fix, .. }) = &result {
            self.tls_failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((this_origin, problem.clone(), fix.clone()));
        }
        result
    }

    /// Runs one HTTP exchange and reads the answer within its limits.
    fn exchange_once(
        &self,
        req: &Request<'_>,
        url: &str,
        parsed: &url::Url,
        agent: &ureq::Agent,
        request: ureq::http::Request<Vec<u8>>,
        via: &str,
    ) -> Result<Response, RegistryError> {
        let transport = |message: String| RegistryError::Transport {
            method: req.method.to_string(),
            url: url.to_string(),
            message: format!("{message}{via}"),
            attempts: 1,
        };
        let fail = |e: ureq::Error| match tls_problem(&e, parsed.host_str().unwrap_or("")) {
            Some((problem, fix)) => RegistryError::Tls {
                method: req.method.to_string(),
                url: url.to_string(),
                host: parsed.host_str().unwrap_or("").to_string(),
                problem,
                fix,
            },
            None => match e {
                ureq::Error::Timeout(_) => transport(format!(
                    "no answer within fetch-timeout ({} ms)",
                    self.retry.timeout.map(|t| t.as_millis()).unwrap_or(0)
                )),
                e => transport(crate::secret::redact_url(&e.to_string())),
            },
        };
        let resp = agent.run(request).map_err(fail)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let limit = if status < 300 {
            self.max_body
        } else {
            MAX_ERROR_BODY
        };
        let mut body = Vec::new();
        let read = resp
            .into_body()
            .into_reader()
            .take(limit + 1)
            .read_to_end(&mut body);
        if let Err(e) = read {
            let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                || e.get_ref()
                    .and_then(|i| i.downcast_ref::<ureq::Error>())
                    .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)));
            if timed_out {
                return Err(RegistryError::BodyTimeout {
                    method: req.method.to_string(),
                    url: url.to_string(),
                    ms: self.retry.timeout.map(|t| t.as_millis()).unwrap_or(0),
                });
            }
            return Err(fail(ureq::Error::Io(e)));
        }
        if body.len() as u64 > limit {
            return Err(RegistryError::TooLarge {
                method: req.method.to_string(),
                url: url.to_string(),
                limit,
            });
        }
        Ok(Response {
            status,
            headers,
            body,
            url: url.to_string(),
        })
    }

    /// Sends with npm's retry rules; a final non-2xx answer becomes an error.
    pub fn send(&self, req: &Request<'_>, obs: &dyn Observer) -> Result<Response, RegistryError> {
        match self.send_checked(req, obs, None)? {
            Sent::Answered(r) => Ok(r),
            // Without a check there is no other outcome.
            Sent::FoundAfterFailure => Err(RegistryError::TooManyRedirects {
                method: req.method.to_string(),
                url: req.url.clone(),
            }),
        }
    }

    /// [`Client::send`] for a request that must not be repeated blindly:
    /// after a timeout, a connection error or a 5xx, `check` looks at the
    /// registry before the next attempt (and after the last one). When it
    /// says the request already took effect, the send is done.
    ///
    /// Such an attempt leaves the outcome unknown, so once one happened a
    /// later final 4xx (a 403 or 409 to a retry of an upload that was in
    /// fact stored) is checked once more before it becomes the error. With
    /// a check, only a 2xx from the request's own URL is a success: a 3xx
    /// (with or without `Location`), or a 2xx from another URL after a
    /// redirect, is checked once and is otherwise an error.
    pub fn send_checked(
        &self,
        req: &Request<'_>,
        obs: &dyn Observer,
        check: Option<&dyn Fn() -> bool>,
    ) -> Result<Sent, RegistryError> {
        let mut attempt = 0;
        // An earlier attempt may have taken effect without saying so.
        let mut ambiguous = false;
        let found = |c: Option<&dyn Fn() -> bool>| c.is_some_and(|c| c());
        loop {
            let result = self.send_once(req);
            let retry_after = match &result {
                Ok(r) => {
                    if let Some(n) = r.header("npm-notice") {
                        obs.notice(n);
                    }
                    let own_url = check.is_none() || r.url == req.url;
                    if (200..300).contains(&r.status) && own_url {
                        return result.map(Sent::Answered);
                    }
                    if r.status < 300 && check.is_none() {
                        return result.map(Sent::Answered);
                    }
                    if r.status < 400 {
                        if found(check) {
                            return Ok(Sent::FoundAfterFailure);
                        }
                        return Err(match check {
                            Some(_) => RegistryError::Redirected {
                                method: req.method.to_string(),
                                url: req.url.clone(),
                                detail: if r.status < 300 {
                                    format!(
                                        "it was followed to {}, which answered {}",
                                        r.url, r.status
                                    )
                                } else {
                                    match r.header("location") {
                                        Some(l) => format!("{} to {l}", r.status),
                                        None => format!("{} without a Location", r.status),
                                    }
                                },
                            },
                            None => self.status_error(req, r),
                        });
                    }
                    if !is_retryable(r.status) {
                        if ambiguous && found(check) {
                            return Ok(Sent::FoundAfterFailure);
                        }
                        return Err(self.status_error(req, r));
                    }
                    r.header("retry-after").and_then(parse_retry_after)
                }
                Err(RegistryError::Transport { .. }) => None,
                Err(e) => {
                    // A body that stalled or overflowed came after the
                    // status line: the request may have taken effect.
                    let cut_short = matches!(
                        e,
                        RegistryError::BodyTimeout { .. } | RegistryError::TooLarge { .. }
                    );
                    if (ambiguous || cut_short) && found(check) {
                        return Ok(Sent::FoundAfterFailure);
                    }
                    return result.map(Sent::Answered);
                }
            };
            ambiguous = true;
            if found(check) {
                return Ok(Sent::FoundAfterFailure);
            }
            if attempt >= self.retry.retries {
                return match result {
                    Ok(r) => Err(self.status_error(req, &r)),
                    Err(RegistryError::Transport {
                        method,
                        url,
                        message,
                        ..
                    }) => Err(RegistryError::Transport {
                        method,
                        url,
                        message,
                        attempts: attempt + 1,
                    }),
                    Err(e) => Err(e),
                };
            }
            let wait = retry_delay(&self.retry, attempt, retry_after);
            let what = match &result {
                Ok(r) => format!("{} {} answered {}", req.method, req.url, r.status),
                Err(e) => e.to_string(),
            };
            obs.retrying(&what, attempt + 1, wait);
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn status_error(&self, req: &Request<'_>, r: &Response) -> RegistryError {
        let json: Option<serde_json::Value> = serde_json::from_slice(&r.body).ok();
        let field = |k: &str| {
            json.as_ref()
                .and_then(|v| v.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        RegistryError::Status {
            status: r.status,
            reason: reason(r.status).to_string(),
            method: req.method.to_string(),
            url: req.url.clone(),
            registry_message: r.registry_message(),
            spec: req.spec.clone(),
            www_authenticate: r.header("www-authenticate").map(str::to_string),
            auth_url: field("authUrl"),
            done_url: field("doneUrl"),
            authenticated: req.auth.is_some(),
        }
    }
}

/// A CR, LF or NUL, which would split or end an HTTP header.
fn has_line_break(v: &str) -> bool {
    v.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// The certificate problem of a failed TLS handshake, in words, and the fix.
fn tls_problem(e: &ureq::Error, host: &str) -> Option<(String, String)> {
    use rustls::{AlertDescription as A, CertificateError as C, Error as R};
    let err: &R = match e {
        ureq::Error::Rustls(r) => r,
        ureq::Error::Io(io) => io.get_ref()?.downcast_ref::<R>()?,
        _ => return None,
    };
    let trust = "if this network intercepts TLS with its own certificate authority (a corporate proxy), trust it as npm does: cafile=/path/to/ca.pem in an npmrc file, or NODE_EXTRA_CA_CERTS=/path/to/ca.pem; strict-ssl=false turns all verification off and is the last resort";
    let (problem, fix) = match err {
        R::InvalidCertificate(c) => match c {
            C::UnknownIssuer => (
                format!("the certificate of {host} is signed by an unknown certificate authority (not one trustpub trusts)"),
                trust.to_string(),
            ),
            C::Expired | C::ExpiredContext { .. } => (
                format!("the certificate of {host} has expired"),
                format!("check the system clock; if it is right, the server's certificate must be renewed by its operator; {trust}"),
            ),
            C::NotValidYet | C::NotValidYetContext { .. } => (
                format!("the certificate of {host} is not valid yet"),
                "check the system clock".to_string(),
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => (
                format!("the certificate presented by {host} is for another host name"),
                format!("check the host name in the URL; {trust}"),
            ),
            C::Revoked => (
                format!("the certificate of {host} has been revoked"),
                "the server's certificate must be replaced by its operator".to_string(),
            ),
            other => (
                format!("the certificate of {host} was refused ({other:?})"),
                trust.to_string(),
            ),
        },
        R::AlertReceived(A::CertificateRequired) => (
            format!("{host} requires a client certificate, and none was sent (TLS alert CertificateRequired)"),
            "set //host/:certfile and //host/:keyfile for the registry in an npmrc file (as for npm)".to_string(),
        ),
        R::AlertReceived(a) => (
            format!("{host} refused the TLS handshake, or the client certificate ({a:?})"),
            match a {
                A::CertificateRequired | A::BadCertificate | A::UnknownCA | A::AccessDenied
                | A::HandshakeFailure | A::CertificateUnknown => {
                    "the server may require a client certificate: set //host/:certfile and //host/:keyfile for the registry in an npmrc file, and check that the server trusts it".to_string()
                }
                _ => trust.to_string(),
            },
        ),
        other => (
            format!("TLS with {host} failed ({other})"),
            trust.to_string(),
        ),
    };
    Some((problem, fix))
}

/// `Retry-After` in seconds (the HTTP-date form is treated as absent).
fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy {
            retries: 2,
            factor: 10.0,
            min_timeout: Duration::from_secs(10),
            max_timeout: Duration::from_secs(60),
            timeout: None,
        };
        assert_eq!(retry_delay(&p, 0, None), Duration::from_secs(10));
        assert_eq!(retry_delay(&p, 1, None), Duration::from_secs(60));
        assert_eq!(
            retry_delay(&p, 0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            retry_delay(&p, 0, Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn retryable_statuses_match_make_fetch_happen() {
        for s in [408, 420, 429, 500, 502, 503, 504] {
            assert!(is_retryable(s), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422] {
            assert!(!is_retryable(s), "{s}");
        }
    }

    fn quick_policy() -> RetryPolicy {
        RetryPolicy {
            retries: 2,
            factor: 1.0,
            min_timeout: Duration::ZERO,
            max_timeout: Duration::ZERO,
            timeout: Some(Duration::from_secs(5)),
        }
    }

    #[test]
    fn local_problems_stop_before_any_connection() {
        let client = Client::new("t".into(), quick_policy());
        let auth = Auth {
            header: Secret::new("Bearer npm_secret\r\nX-Injected: 1".into()),
            origin: "https://registry.example:443".into(),
            kind: AuthKind::Token,
        };
        let mut req = packument_request("https://registry.example/x", Some(&auth), "x", None);
        let e = client.send_once(&req).unwrap_err();
        assert!(e.is_local(), "{e:?}");
        assert!(
            e.to_string().contains("line break") && !e.to_string().contains("npm_secret"),
            "{e}"
        );
        req.auth = None;
        req.headers.push(("npm-otp", "1\n2".into()));
        assert!(client.send_once(&req).unwrap_err().is_local());
        for url in ["ftp://127.0.0.1:21/x", "file:///etc/passwd", "gopher://h/x"] {
            let e = client
                .send_once(&packument_request(url, None, "x", None))
                .unwrap_err();
            assert!(e.is_local() && e.to_string().contains("scheme"), "{e}");
        }
    }

    #[test]
    fn the_registry_budget_is_npms_worst_case_for_two_requests() {
        let mut p = quick_policy();
        p.timeout = Some(Duration::from_secs(300));
        let client = Client::new("t".into(), p);
        // 2 requests × 3 attempts × 300 s.
        assert_eq!(client.registry_budget(), Duration::from_secs(1800));
    }

    #[test]
    fn origins_make_ports_explicit() {
        assert_eq!(
            origin("https://registry.npmjs.org/x").as_deref(),
            Some("https://registry.npmjs.org:443")
        );
        assert_eq!(
            origin("http://127.0.0.1:4873/").as_deref(),
            Some("http://127.0.0.1:4873")
        );
        assert_ne!(
            origin("http://127.0.0.1:4873/"),
            origin("http://127.0.0.1:4874/")
        );
    }
}
