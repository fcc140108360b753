//! The one HTTP layer: every request trustpub makes (the registry, GitHub's
//! token service, the token exchange, Fulcio, Rekor) goes through
//! [`Client`]. It knows transports, not services:
//!
//! * **One client built from the config.** Its agents are built in one
//!   place from npm's network settings ([`crate::config::NetworkSettings`]:
//!   roots, client certificate, proxy), one per proxy and client-certificate
//!   choice.
//! * **The retry policy as data.** A [`Retry`] says which answers are tried
//!   again ([`RetryOn`]), how long to wait ([`Backoff`], `@gar/promise-retry`'s
//!   arithmetic) and whether `Retry-After` is honoured. [`Retry::registry`]
//!   is make-fetch-happen's rule for the registry, [`Retry::sigstore`]
//!   sigstore-js's for Fulcio and Rekor (`@sigstore/sign`
//!   `external/fetch.js`), [`Retry::github_token_for_sigstore`]
//!   sigstore-js's GitHub token request. [`Client::fetch_retrying`] is the
//!   one retry loop.
//! * **One place that turns transport failures into errors**
//!   ([`HttpError`]): TLS (in words, with the fix, and not retried: an origin
//!   whose handshake failed is not tried again in the run), timeouts, refused
//!   connections and DNS failures, bodies past [`MAX_BODY`] ([`MAX_ERROR_BODY`]
//!   for errors and redirects), a body that stalls past `fetch-timeout` (not
//!   retried, as in npm), and local problems (a header with a line break, a
//!   URL scheme other than http(s), an unusable proxy), which stop before
//!   any connection.
//!
//! Limits: one attempt may take `fetch-timeout`, headers and body together;
//! the registry's requests of a run together get no more than npm's worst
//! case for a publish ([`Client::registry_budget`]). A look-up that the
//! publish can do without (the identity-drift check's attestations GET) is
//! sent with [`Client::fetch_within`]: one attempt with its own short limit,
//! not counted in that budget.
//!
//! Redirects are followed by hand: a credential is only ever sent to the
//! origin it belongs to, and a redirect to another origin is an error.
//!
//! What the answers mean is the business of the callers:
//! [`crate::registry`] (packument GET, publish PUT, npm registry errors),
//! [`crate::oidc`] (id token, token exchange) and
//! [`crate::provenance::sign`] (Fulcio, Rekor).

// A failure carries the final answer (status, headers, body) for the caller
// to read; it is built once per failed request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::io::Read;
use std::time::Duration;

use crate::config::NetworkSettings;
use crate::secret::Secret;

pub use crate::config::RetryPolicy;

// ---------------------------------------------------------------------------
// The retry policy, as data

/// The waits between attempts, as `@gar/promise-retry` computes them for
/// `{retries, factor, minTimeout, maxTimeout}` (no randomisation):
/// `min(round(max(minTimeout, 1) * factor^n), maxTimeout)`, sorted. One wait
/// per retry (none: one attempt). Computed as they are needed: a
/// `fetch-retries` of millions costs no memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    pub retries: u32,
    pub factor: f64,
    pub min: Duration,
    pub max: Option<Duration>,
}

impl Backoff {
    pub fn promise_retry(
        retries: u32,
        factor: f64,
        min: Duration,
        max: Option<Duration>,
    ) -> Backoff {
        Backoff {
            retries,
            factor,
            min,
            max,
        }
    }

    /// The wait before retry `n` (0-based, below `retries`).
    pub fn delay(&self, n: u32) -> Duration {
        // The unsorted waits only ever grow (factor >= 1) or shrink
        // (factor < 1), so sorting them is keeping or reversing the order.
        let n = if self.factor >= 1.0 {
            n
        } else {
            self.retries.saturating_sub(1).saturating_sub(n)
        };
        let min_ms = (self.min.as_millis() as f64).max(1.0);
        let power = i32::try_from(n)
            .map(|n| self.factor.powi(n))
            .unwrap_or_else(|_| self.factor.powf(f64::from(n)));
        let ms = (min_ms * power).round();
        let ms = match self.max {
            Some(max) => ms.min(max.as_millis() as f64),
            None => ms,
        };
        Duration::from_millis(ms.clamp(0.0, u64::MAX as f64) as u64)
    }

    /// Every wait, in order.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + '_ {
        (0..self.retries).map(|n| self.delay(n))
    }

    /// npm's own `retry` option, made of `fetch-retries`,
    /// `fetch-retry-factor`, `fetch-retry-mintimeout` and
    /// `fetch-retry-maxtimeout` (2, 10, 10 s, 60 s by default).
    pub fn npm(p: &RetryPolicy) -> Backoff {
        Backoff::promise_retry(p.retries, p.factor, p.min_timeout, Some(p.max_timeout))
    }

    /// `make-fetch-happen(url, {retry: 2})`: promise-retry's defaults
    /// (factor 2, 1 s, no maximum), as sigstore-js's `getGHAToken` asks for.
    pub fn github_token() -> Backoff {
        Backoff::promise_retry(2, 2.0, Duration::from_secs(1), None)
    }
}

/// Which answers are worth another attempt (connection errors always are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOn {
    /// make-fetch-happen (npm's registry requests): 408, 420, 429 and 5xx.
    MakeFetchHappen,
    /// `retryable` of sigstore-js's `external/fetch.js`: 408, 429 and 5xx.
    Sigstore,
}

impl RetryOn {
    /// Whether an answer with `status` is tried again.
    pub fn retries(self, status: u16) -> bool {
        match self {
            RetryOn::MakeFetchHappen => matches!(status, 408 | 420 | 429) || status >= 500,
            RetryOn::Sigstore => matches!(status, 408 | 429) || status >= 500,
        }
    }
}

/// How a request is retried.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub backoff: Backoff,
    pub on: RetryOn,
    /// `Some(cap)`: a `Retry-After` (in seconds) replaces the backoff's wait,
    /// capped at `cap`. `None`: the header is not looked at.
    pub retry_after_cap: Option<Duration>,
}

impl Retry {
    /// npm's registry requests (make-fetch-happen + promise-retry): 408,
    /// 420, 429, 5xx and connection errors, npm's backoff (10 s then 60 s by
    /// default), and a `Retry-After` honoured up to `fetch-retry-maxtimeout`.
    pub fn registry(p: &RetryPolicy) -> Retry {
        Retry {
            backoff: Backoff::npm(p),
            on: RetryOn::MakeFetchHappen,
            retry_after_cap: Some(p.max_timeout.max(p.min_timeout)),
        }
    }

    /// sigstore-js's Fulcio and Rekor requests: 408, 429, 5xx and
    /// connection errors, `Retry-After` not looked at, with npm's `retry`
    /// option (npm passes it to sigstore).
    pub fn sigstore(p: &RetryPolicy) -> Retry {
        Retry {
            backoff: Backoff::npm(p),
            on: RetryOn::Sigstore,
            retry_after_cap: None,
        }
    }

    /// sigstore-js's GitHub token request (`getGHAToken`:
    /// `make-fetch-happen(url, {retry: 2})`): make-fetch-happen's statuses,
    /// waits of 1 s and 2 s.
    pub fn github_token_for_sigstore() -> Retry {
        Retry {
            backoff: Backoff::github_token(),
            on: RetryOn::MakeFetchHappen,
            retry_after_cap: None,
        }
    }

    /// How many retries after the first attempt.
    pub fn retries(&self) -> u32 {
        self.backoff.retries
    }

    /// The wait before retry `n` (0-based): the backoff's, or the server's
    /// `Retry-After` when this policy honours it.
    pub fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        match (retry_after, self.retry_after_cap) {
            (Some(ra), Some(cap)) => ra.min(cap),
            _ => self.backoff.delay(n),
        }
    }
}

// ---------------------------------------------------------------------------
// Requests and answers

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
}

/// A request that failed below HTTP, or whose answer could not be read
/// within its limits. The messages name the method and URL.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{method} {url} failed: {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
        attempts: u32,
    },
    #[error("the registry redirected {method} {from} to another host ({to}); trustpub does not send credentials to another host")]
    CrossOriginRedirect {
        method: String,
        from: String,
        to: String,
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
}

impl HttpError {
    /// Whether the problem is local (configuration), for exit code 2.
    pub fn is_local(&self) -> bool {
        matches!(self, HttpError::Local { .. })
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            HttpError::Transport { attempts, .. } => format!(
                "the registry could not be reached after {attempts} attempt(s); check the registry URL, the network and any proxy settings"
            ),
            HttpError::CrossOriginRedirect { .. } => "set the registry to the URL that actually serves it (the redirect target), so that the credential is configured for that host".into(),
            HttpError::TooManyRedirects { .. } => "check the registry URL".into(),
            HttpError::Tls { fix, .. } => fix.clone(),
            HttpError::TooLarge { .. } => "check that the URL points at an npm registry; a registry answer this large is refused rather than cut short".into(),
            HttpError::BodyTimeout { .. } => "the server sends its answer too slowly; check the network and any proxy, or raise fetch-timeout (npm's default is 300000 ms)".into(),
            HttpError::Local { hint, .. } => hint.clone(),
            HttpError::BudgetSpent { .. } => "the registry answers too slowly (or not at all); check the registry URL, the network and any proxy, then run again".into(),
        }
    }

    /// A failure after which the request may still have taken effect: the
    /// status line had arrived when the body stalled or overflowed.
    fn cut_short(&self) -> bool {
        matches!(
            self,
            HttpError::BodyTimeout { .. } | HttpError::TooLarge { .. }
        )
    }
}

/// Why [`Client::fetch_retrying`] gave up.
#[derive(Debug)]
pub enum SendError {
    /// The final answer is not a success: a status not retried, or the last
    /// attempt's. Without a check, a 3xx ends here too.
    Status { response: Response, attempts: u32 },
    /// With a check: the answer was a redirect, or a success from another
    /// URL than the request's, and the check did not find the request done.
    /// `detail` says which.
    Redirected { detail: String },
    /// No readable answer (for [`HttpError::Transport`], after retries).
    Http { error: HttpError, attempts: u32 },
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

    /// The same client without the publish's time budget (`trust`, whose
    /// runs make many requests: each is bounded by `fetch-timeout`).
    pub fn without_budget(mut self) -> Client {
        self.registry = None;
        self
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
    pub fn fetch(&self, req: &Request<'_>) -> Result<Response, HttpError> {
        self.fetch_until(req, None)
    }

    /// [`Client::fetch`] for a request the run can do without: all of it
    /// (redirects included) within `limit` (or `fetch-timeout`, if
    /// shorter), and its time not counted in the registry's budget
    /// ([`Client::registry_budget`]), so that a stalled answer neither
    /// holds the run for long nor leaves the publish's own requests less
    /// time.
    pub fn fetch_within(&self, req: &Request<'_>, limit: Duration) -> Result<Response, HttpError> {
        let limit = self.retry.timeout.map_or(limit, |t| t.min(limit));
        self.fetch_until(req, Some(std::time::Instant::now() + limit))
    }

    fn fetch_until(
        &self,
        req: &Request<'_>,
        deadline: Option<std::time::Instant>,
    ) -> Result<Response, HttpError> {
        let mut url = req.url.clone();
        for _ in 0..6 {
            let resp = self.attempt(req, &url, deadline)?;
            if matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
                let Some(location) = resp.header("location") else {
                    return Ok(resp);
                };
                let next = url::Url::parse(&url)
                    .and_then(|base| base.join(location))
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| location.to_string());
                if origin(&next) != origin(&url) {
                    return Err(HttpError::CrossOriginRedirect {
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
        Err(HttpError::TooManyRedirects {
            method: req.method.to_string(),
            url: req.url.clone(),
        })
    }

    fn attempt(
        &self,
        req: &Request<'_>,
        url: &str,
        deadline: Option<std::time::Instant>,
    ) -> Result<Response, HttpError> {
        let shown = crate::secret::redact_url(url);
        let local = |message: String, hint: &str| HttpError::Local {
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
        // Requests to the registry share npm's worst-case time; one with
        // its own deadline is not counted.
        let spent = self
            .registry
            .as_ref()
            .filter(|(o, _)| deadline.is_none() && origin(url).as_deref() == Some(o.as_str()))
            .map(|(_, spent)| spent);
        let started = std::time::Instant::now();
        let limit = deadline.map(|d| d.saturating_duration_since(started));
        let request = match (limit, spent) {
            (Some(left), _) => {
                if left.is_zero() {
                    return Err(HttpError::Transport {
                        method: req.method.to_string(),
                        url: url.to_string(),
                        message: "no answer within the time this request is given".into(),
                        attempts: 1,
                    });
                }
                agent
                    .configure_request(request)
                    .timeout_global(Some(left))
                    .build()
            }
            (None, Some(spent)) => {
                let budget = self.registry_budget();
                let left = budget.saturating_sub(*spent.lock().unwrap_or_else(|e| e.into_inner()));
                if left.is_zero() {
                    return Err(HttpError::BudgetSpent {
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
            (None, None) => request,
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
            return Err(tls_error(req, url, &parsed, problem, fix));
        }
        let result = self.exchange_once(req, url, &parsed, &agent, request, limit);
        if let Some(spent) = spent {
            *spent.lock().unwrap_or_else(|e| e.into_inner()) += started.elapsed();
        }
        if let Err(HttpError::Tls { problem, fix, .. }) = &result {
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
        own_limit: Option<Duration>,
    ) -> Result<Response, HttpError> {
        let via = self
            .net
            .proxy_for(parsed)
            .ok()
            .flatten()
            .map(|p| format!(" (through the proxy {} from {})", p.shown(), p.place))
            .unwrap_or_default();
        let fetch_timeout_ms = self.retry.timeout.map(|t| t.as_millis()).unwrap_or(0);
        let limit_words = match own_limit {
            // The request's own limit (`fetch_within`), rounded up.
            Some(t) => format!("{} s", t.as_millis().div_ceil(1000)),
            None => format!("fetch-timeout ({fetch_timeout_ms} ms)"),
        };
        let transport = |message: String| HttpError::Transport {
            method: req.method.to_string(),
            url: url.to_string(),
            message: format!("{message}{via}"),
            attempts: 1,
        };
        let fail = |e: ureq::Error| match tls_problem(&e, parsed.host_str().unwrap_or("")) {
            Some((problem, fix)) => tls_error(req, url, parsed, problem, fix),
            None => match e {
                ureq::Error::Timeout(_) => transport(format!("no answer within {limit_words}")),
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
            if timed_out && own_limit.is_some() {
                return Err(transport(format!(
                    "the answer did not arrive within {limit_words}"
                )));
            }
            if timed_out {
                return Err(HttpError::BodyTimeout {
                    method: req.method.to_string(),
                    url: url.to_string(),
                    ms: fetch_timeout_ms,
                });
            }
            return Err(fail(ureq::Error::Io(e)));
        }
        if body.len() as u64 > limit {
            return Err(HttpError::TooLarge {
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

    /// Sends with `retry`'s rules; a success (2xx) comes back, a final
    /// other answer or no readable answer is a [`SendError`].
    pub fn fetch_retrying(
        &self,
        req: &Request<'_>,
        retry: &Retry,
        obs: &dyn Observer,
    ) -> Result<Response, SendError> {
        match self.fetch_checked(req, retry, obs, None)? {
            Sent::Answered(r) => Ok(r),
            Sent::FoundAfterFailure => unreachable!("without a check nothing is found"),
        }
    }

    /// The one retry loop. A success (2xx) comes back; a final other
    /// answer, or no readable answer, is a [`SendError`]. `npm-notice`
    /// headers go to `obs`, and so does every retry (`what` names the
    /// method, the URL and what went wrong).
    ///
    /// `check` is for a request that must not be repeated blindly: after a
    /// timeout, a connection error or a retryable answer, it looks at the
    /// server before the next attempt (and after the last one). When it
    /// says the request already took effect, the send is done
    /// ([`Sent::FoundAfterFailure`]).
    ///
    /// Such an attempt leaves the outcome unknown, so once one happened a
    /// later final 4xx (a 403 or 409 to a retry of an upload that was in
    /// fact stored) is checked once more before it becomes the error. With
    /// a check, only a 2xx from the request's own URL is a success: a 3xx
    /// (with or without `Location`), or a 2xx from another URL after a
    /// redirect, is checked once and is otherwise an error.
    pub fn fetch_checked(
        &self,
        req: &Request<'_>,
        retry: &Retry,
        obs: &dyn Observer,
        check: Option<&dyn Fn() -> bool>,
    ) -> Result<Sent, SendError> {
        let mut attempt = 0;
        // An earlier attempt may have taken effect without saying so.
        let mut ambiguous = false;
        let found = |c: Option<&dyn Fn() -> bool>| c.is_some_and(|c| c());
        loop {
            let (last, retry_after) = match self.fetch(req) {
                Ok(r) => {
                    if let Some(n) = r.header("npm-notice") {
                        obs.notice(n);
                    }
                    let own_url = check.is_none() || r.url == req.url;
                    if ((200..300).contains(&r.status) && own_url)
                        || (r.status < 300 && check.is_none())
                    {
                        return Ok(Sent::Answered(r));
                    }
                    if r.status < 400 {
                        if found(check) {
                            return Ok(Sent::FoundAfterFailure);
                        }
                        return Err(match check {
                            Some(_) => SendError::Redirected {
                                detail: redirect_detail(&r),
                            },
                            None => SendError::Status {
                                response: r,
                                attempts: attempt + 1,
                            },
                        });
                    }
                    if !retry.on.retries(r.status) {
                        if ambiguous && found(check) {
                            return Ok(Sent::FoundAfterFailure);
                        }
                        return Err(SendError::Status {
                            response: r,
                            attempts: attempt + 1,
                        });
                    }
                    let retry_after = r.header("retry-after").and_then(parse_retry_after);
                    (Ok(r), retry_after)
                }
                Err(e @ HttpError::Transport { .. }) => (Err(e), None),
                Err(error) => {
                    if (ambiguous || error.cut_short()) && found(check) {
                        return Ok(Sent::FoundAfterFailure);
                    }
                    return Err(SendError::Http {
                        error,
                        attempts: attempt + 1,
                    });
                }
            };
            ambiguous = true;
            if found(check) {
                return Ok(Sent::FoundAfterFailure);
            }
            if attempt >= retry.retries() {
                let attempts = attempt + 1;
                return Err(match last {
                    Ok(response) => SendError::Status { response, attempts },
                    Err(HttpError::Transport {
                        method,
                        url,
                        message,
                        ..
                    }) => SendError::Http {
                        error: HttpError::Transport {
                            method,
                            url,
                            message,
                            attempts,
                        },
                        attempts,
                    },
                    Err(error) => SendError::Http { error, attempts },
                });
            }
            let wait = retry.delay(attempt, retry_after);
            let what = match &last {
                Ok(r) => format!("{} {} answered {}", req.method, req.url, r.status),
                Err(e) => e.to_string(),
            };
            obs.retrying(&what, attempt + 1, wait);
            std::thread::sleep(wait);
            attempt += 1;
        }
    }
}

/// Where a redirect (or a success from a redirect target) went, in words.
fn redirect_detail(r: &Response) -> String {
    if r.status < 300 {
        format!("it was followed to {}, which answered {}", r.url, r.status)
    } else {
        match r.header("location") {
            Some(l) => format!("{} to {l}", r.status),
            None => format!("{} without a Location", r.status),
        }
    }
}

/// A CR, LF or NUL, which would split or end an HTTP header.
fn has_line_break(v: &str) -> bool {
    v.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// The TLS failure of `req` to `url` (the first, or one remembered for its
/// origin, so later requests fail the same way without another handshake).
fn tls_error(
    req: &Request<'_>,
    url: &str,
    parsed: &url::Url,
    problem: String,
    fix: String,
) -> HttpError {
    HttpError::Tls {
        method: req.method.to_string(),
        url: url.to_string(),
        host: parsed.host_str().unwrap_or("").to_string(),
        problem,
        fix,
    }
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
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
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
        let registry = Retry::registry(&p);
        assert_eq!(registry.delay(0, None), Duration::from_secs(10));
        assert_eq!(registry.delay(1, None), Duration::from_secs(60));
        assert_eq!(
            registry.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            registry.delay(0, Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
        // sigstore-js does not look at Retry-After.
        assert_eq!(
            Retry::sigstore(&p).delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn retryable_statuses_match_make_fetch_happen() {
        for s in [408, 420, 429, 500, 502, 503, 504] {
            assert!(RetryOn::MakeFetchHappen.retries(s), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422] {
            assert!(!RetryOn::MakeFetchHappen.retries(s), "{s}");
        }
    }

    /// The policies as the two libraries set them up.
    #[test]
    fn the_policies_are_npms_and_sigstore_jss() {
        let npm_defaults = RetryPolicy {
            retries: 2,
            factor: 10.0,
            min_timeout: Duration::from_secs(10),
            max_timeout: Duration::from_secs(60),
            timeout: Some(Duration::from_secs(300)),
        };
        let secs = |r: &Retry| r.backoff.delays().map(|d| d.as_secs()).collect::<Vec<_>>();
        let registry = Retry::registry(&npm_defaults);
        assert_eq!(
            (secs(&registry), registry.on),
            (vec![10, 60], RetryOn::MakeFetchHappen)
        );
        let sigstore = Retry::sigstore(&npm_defaults);
        assert_eq!(
            (secs(&sigstore), sigstore.on),
            (vec![10, 60], RetryOn::Sigstore)
        );
        assert_eq!(sigstore.retry_after_cap, None);
        let github = Retry::github_token_for_sigstore();
        assert_eq!(
            (secs(&github), github.on),
            (vec![1, 2], RetryOn::MakeFetchHappen)
        );
        assert_eq!(github.retries(), 2);
    }

    /// The waits are computed one at a time: a `fetch-retries` of four
    /// billion is a policy like any other (the registry's budget ends it).
    #[test]
    fn waits_are_computed_lazily_and_sorted() {
        let b = Backoff::promise_retry(
            u32::MAX,
            10.0,
            Duration::from_secs(10),
            Some(Duration::from_secs(60)),
        );
        assert_eq!(b.delay(0), Duration::from_secs(10));
        assert_eq!(b.delay(u32::MAX - 1), Duration::from_secs(60));
        // Factors below 1: the smallest wait first, as after promise-retry's sort.
        let b = Backoff::promise_retry(3, 0.5, Duration::from_millis(400), None);
        let ms: Vec<u128> = b.delays().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [100, 200, 400]);
    }

    #[test]
    fn the_registry_budget_is_npms_worst_case_for_two_requests() {
        let p = RetryPolicy {
            retries: 2,
            factor: 1.0,
            min_timeout: Duration::ZERO,
            max_timeout: Duration::ZERO,
            timeout: Some(Duration::from_secs(300)),
        };
        let client = Client::new("t".into(), p);
        // 2 requests × 3 attempts × 300 s.
        assert_eq!(client.registry_budget(), Duration::from_secs(1800));
    }

    /// A server on 127.0.0.1 that accepts connections and never answers;
    /// it stops by itself after 10 s, or when the flag is set.
    fn stalling_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicBool>) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for _ in 0..1000 {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok((c, _)) = listener.accept() {
                    held.push(c);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        (url, stop)
    }

    #[test]
    fn a_request_with_its_own_limit_is_not_counted_in_the_registry_budget() {
        let (url, stop) = stalling_server();
        let p = RetryPolicy {
            retries: 0,
            factor: 1.0,
            min_timeout: Duration::ZERO,
            max_timeout: Duration::ZERO,
            timeout: Some(Duration::from_millis(300)),
        };
        let mut client = Client::new("t".into(), p);
        client.registry = origin(&url).map(|o| (o, std::sync::Mutex::new(Duration::ZERO)));
        let spent = |c: &Client| *c.registry.as_ref().unwrap().1.lock().unwrap();
        let req = Request {
            method: "GET",
            url: format!("{url}-/npm/v1/attestations/x@1.0.0"),
            headers: Vec::new(),
            body: None,
            auth: None,
            spec: "x@1.0.0".into(),
        };
        let e = client
            .fetch_within(&req, Duration::from_millis(200))
            .unwrap_err();
        assert!(e.to_string().contains("no answer within 1 s"), "{e}");
        assert_eq!(spent(&client), Duration::ZERO);
        // A request without its own limit is counted.
        let e = client.fetch(&req).unwrap_err();
        assert!(e.to_string().contains("fetch-timeout (300 ms)"), "{e}");
        assert!(spent(&client) > Duration::ZERO);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
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
