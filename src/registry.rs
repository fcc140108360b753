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

// A registry error carries everything a maintainer needs to read (status,
// URL, the registry's message, the OTP URLs); it is built once per failed
// run, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::io::Read;
use std::time::Duration;

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

/// The registry client.
pub struct Client {
    agent: ureq::Agent,
    pub user_agent: String,
    pub retry: RetryPolicy,
    max_body: u64,
}

impl Client {
    pub fn new(user_agent: String, retry: RetryPolicy) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(retry.timeout)
            .user_agent(user_agent.as_str())
            // Proxies come from trustpub's own environment handling, later.
            .proxy(None)
            .build();
        Client {
            agent: config.into(),
            user_agent,
            retry,
            max_body: 512 * 1024 * 1024,
        }
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
        let transport = |e: ureq::Error| RegistryError::Transport {
            method: req.method.to_string(),
            url: url.to_string(),
            message: e.to_string(),
            attempts: 1,
        };
        let mut builder = ureq::http::Request::builder().method(req.method).uri(url);
        for (k, v) in &req.headers {
            builder = builder.header(*k, v.as_str());
        }
        if let Some(auth) = req.auth {
            // Never to another origin than the credential's.
            if origin(url).as_deref() == Some(auth.origin.as_str()) {
                builder = builder.header("authorization", auth.header.expose().as_str());
            }
        }
        let request = builder
            .body(req.body.map(<[u8]>::to_vec).unwrap_or_default())
            .map_err(|e| RegistryError::Transport {
                method: req.method.to_string(),
                url: url.to_string(),
                message: e.to_string(),
                attempts: 1,
            })?;
        let resp = self.agent.run(request).map_err(transport)?;
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
        let mut body = Vec::new();
        resp.into_body()
            .into_reader()
            .take(self.max_body)
            .read_to_end(&mut body)
            .map_err(|e| RegistryError::Transport {
                method: req.method.to_string(),
                url: url.to_string(),
                message: e.to_string(),
                attempts: 1,
            })?;
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
                Err(_) => {
                    if ambiguous && found(check) {
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
