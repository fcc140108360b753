//! Keyless Sigstore signing, as npm 11.19.1 does it through the sigstore-js it
//! bundles (`sigstore` 4.1.1, `@sigstore/sign` 4.1.1, `@sigstore/bundle` 4.0.0,
//! `@sigstore/protobuf-specs` 0.5.1): one Fulcio certificate for an ephemeral
//! P-256 key, one DSSE signature, one Rekor v1 `dsse` entry, and the v0.3
//! bundle npm attaches to the publish as `<name>-<version>.sigstore`.
//!
//! The steps, with the sigstore-js code each one mirrors:
//!
//! 1. [`identity_token`] (`identity/ci.js`, `CIContextProvider('sigstore')`):
//!    `SIGSTORE_ID_TOKEN` when it is set (it resolves at once, so it wins the
//!    `Promise.any`), else GitHub's token service with `audience=sigstore`.
//! 2. The proof of possession (`util/oidc.js`, `signer/fulcio/index.js`): the
//!    token's `email` when present (and then `email_verified` must be truthy),
//!    else its `sub`, signed with the ephemeral key (ECDSA P-256, SHA-256, DER).
//! 3. Fulcio (`signer/fulcio/ca.js`, `external/fulcio.js`): `POST
//!    {fulcio}/api/v2/signingCert`; only the first certificate of the chain
//!    (the leaf) is kept, as PEM for Rekor and as DER for the bundle.
//! 4. DSSE (`bundler/dsse.js`, `@sigstore/core/dist/dsse.js`): the signature
//!    is over `PAE(payloadType, payload)`.
//! 5. Rekor (`witness/tlog/entry.js`, `external/rekor.js`): `POST
//!    {rekor}/api/v1/log/entries` with a `dsse` 0.0.1 proposed entry whose
//!    envelope is `JSON.stringify(Envelope.toJSON(envelope))`; a 409 is an
//!    error (npm passes `fetchOnConflict: false`).
//! 6. The bundle (`witness/tlog/index.js: toTransparencyLogEntry`,
//!    `@sigstore/bundle/dist/build.js`, `Bundle.toJSON`): proto3 JSON, int64
//!    as strings, bytes as padded base64, default values left out.
//!
//! Retries are sigstore-js's (`external/fetch.js`): network errors, 408, 429
//! and every 5xx are retried, other answers are final, `Retry-After` is not
//! looked at, and the waits come from npm's own `fetch-retries`,
//! `fetch-retry-factor`, `fetch-retry-mintimeout` and
//! `fetch-retry-maxtimeout` (npm passes its `retry` option to sigstore), that
//! is 10 s then 60 s by default ([`Retry::sigstore`]). The request timeout
//! is npm's `fetch-timeout`. Both come from the [`Client`]'s
//! [`crate::http::RetryPolicy`]. GitHub's token service is asked through
//! [`GitHubTokenRequest`], the request trusted publishing uses too, with
//! `getGHAToken`'s retries ([`Retry::github_token_for_sigstore`]).
//!
//! The tests compare every request body and the final bundle byte for byte
//! with what the sigstore-js npm bundles produces for the same inputs
//! (`tests/tools/sigstore-js-sign.js`).

// Errors carry the service, URL, status and the service's own words.
#![allow(clippy::result_large_err)]

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Map, Value};

use crate::ci::Provider;
use crate::env::Env;
use crate::http::{self, Client, HttpError, Observer, Request, Response, Retry, SendError};
use crate::js::{to_js_string, truthy};
use crate::oidc::GitHubTokenRequest;
use crate::secret::Secret;

/// `BUNDLE_V03_MEDIA_TYPE` of `@sigstore/bundle`: the bundle's `mediaType`,
/// and the attachment's `content_type`.
pub const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Sigstore's public-good Fulcio (`DEFAULT_FULCIO_URL`).
pub const DEFAULT_FULCIO_URL: &str = "https://fulcio.sigstore.dev";

/// Sigstore's public-good Rekor (`DEFAULT_REKOR_URL`).
pub const DEFAULT_REKOR_URL: &str = "https://rekor.sigstore.dev";

/// The audience of the identity token Fulcio accepts.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

/// Where the certificate authority and the transparency log are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigstoreUrls {
    /// Fulcio's base URL (no trailing `/api/...`).
    pub fulcio: String,
    /// Rekor's base URL (no trailing `/api/...`).
    pub rekor: String,
}

impl Default for SigstoreUrls {
    /// Sigstore's public-good instance, which is all npm 11.19.1 ever uses.
    fn default() -> SigstoreUrls {
        SigstoreUrls {
            fulcio: DEFAULT_FULCIO_URL.to_string(),
            rekor: DEFAULT_REKOR_URL.to_string(),
        }
    }
}

/// A signed bundle and the transparency-log facts a report needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedBundle {
    /// The bundle, keys in the order `Bundle.toJSON` produces them.
    pub json: Value,
    /// Rekor's (global) log index: the `logIndex` of
    /// `https://search.sigstore.dev/?logIndex=<n>`.
    pub log_index: u64,
    /// Rekor's log id, lowercase hex as Rekor returned it (the bundle has it
    /// as base64 in `logId.keyId`).
    pub log_id: String,
    /// When Rekor integrated the entry, in seconds since the epoch.
    pub integrated_time: i64,
}

/// `JSON.stringify(bundle)`: compact, keys in the order they were built. This
/// string, not base64, is the attachment's `data`.
pub fn bundle_string(b: &SignedBundle) -> String {
    // serde_json escapes exactly the characters JSON.stringify escapes, with
    // the same short forms and lowercase \u00xx, and a Rust string has no
    // lone surrogates.
    serde_json::to_string(&b.json).expect("a JSON value always serialises")
}

/// Where npm points the maintainer after signing (`Provenance statement
/// published to transparency log: <url>`): `TLOG_BASE_URL` of libnpmpublish
/// with the bundle's first `logIndex`.
pub fn transparency_log_url(b: &SignedBundle) -> String {
    crate::provenance::search_url(b.log_index)
}

/// The service a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// GitHub Actions' OIDC token service (`ACTIONS_ID_TOKEN_REQUEST_URL`).
    GitHubTokenService,
    /// Fulcio, Sigstore's certificate authority.
    Fulcio,
    /// Rekor, Sigstore's transparency log.
    Rekor,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::GitHubTokenService => "GitHub's OIDC token service",
            Service::Fulcio => "Fulcio (Sigstore's certificate authority)",
            Service::Rekor => "Rekor (Sigstore's transparency log)",
        })
    }
}

/// Why signing failed. No variant holds a token, and messages from services
/// have any token text replaced by `****`.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// Neither `SIGSTORE_ID_TOKEN` nor GitHub's token service variables.
    #[error("no OIDC identity token for Sigstore: {} not set", missing.join(" and "))]
    NoIdentityToken {
        /// The CI provider, for the hint.
        provider: Option<Provider>,
        /// The variables whose absence made it fail.
        missing: Vec<&'static str>,
    },
    /// `ACTIONS_ID_TOKEN_REQUEST_URL` is not a URL, or is plain http to
    /// another machine.
    #[error("ACTIONS_ID_TOKEN_REQUEST_URL cannot be used: {reason}")]
    BadTokenRequestUrl { reason: String },
    /// The identity token is not a JWT whose payload sigstore-js can read, or
    /// has no usable subject (`IDENTITY_TOKEN_PARSE_ERROR`).
    #[error("the Sigstore identity token cannot be used: {reason}")]
    InvalidIdentityToken { reason: ChallengeError },
    /// A Fulcio or Rekor URL that is neither https nor loopback.
    #[error("the {service} URL {url} is not https; plain http is only allowed to this machine")]
    InsecureUrl { service: Service, url: String },
    /// A final error status (after retries for the retryable ones).
    #[error("{service}: {method} {url} answered {status}{}{}", reason_suffix(*status), message.as_deref().map(|m| format!(": \"{m}\"")).unwrap_or_default())]
    Status {
        service: Service,
        method: &'static str,
        url: String,
        status: u16,
        /// The service's `message` (or the body text), token-free.
        message: Option<String>,
        attempts: u32,
    },
    /// No answer (connection refused, timeout, TLS …) after retries.
    #[error("{service}: {method} {url} failed after {attempts} attempt(s): {message}")]
    Transport {
        service: Service,
        method: &'static str,
        url: String,
        message: String,
        attempts: u32,
    },
    /// A 2xx answer that is not what the protocol says.
    #[error("{service}: the answer to {method} {url} is not usable: {what}")]
    BadResponse {
        service: Service,
        method: &'static str,
        url: String,
        what: String,
    },
    /// The operating system's random number generator failed.
    #[error("no random numbers for the signing key: {0}")]
    Random(String),
}

fn reason_suffix(status: u16) -> String {
    match http::reason(status) {
        "" => String::new(),
        r => format!(" {r}"),
    }
}

impl SignError {
    /// A problem of the configuration (a Fulcio, Rekor or token-service URL
    /// that cannot be used), for exit code 2.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            SignError::InsecureUrl { .. } | SignError::BadTokenRequestUrl { .. }
        )
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            SignError::NoIdentityToken { provider, .. } => match provider {
                Some(Provider::GitHubActions) => "give the publishing job `permissions: id-token: write` (at the job or workflow level); GitHub then sets ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN, and provenance asks it for a token with audience `sigstore`".into(),
                Some(Provider::GitLab) => "add an id token with audience `sigstore` to the publishing job:\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n(keep NPM_ID_TOKEN for trusted publishing next to it)".into(),
                Some(Provider::CircleCi) => "npm generates provenance only on GitHub Actions and GitLab CI; publish without --provenance on CircleCI".into(),
                None => "provenance needs a CI OIDC token: run on GitHub Actions (with `permissions: id-token: write`) or GitLab CI (with an `id_tokens` entry `SIGSTORE_ID_TOKEN` with `aud: sigstore`)".into(),
            },
            SignError::BadTokenRequestUrl { .. } => "ACTIONS_ID_TOKEN_REQUEST_URL is set by GitHub Actions; do not set or override it in the workflow".into(),
            SignError::InvalidIdentityToken { reason: ChallengeError::EmailNotVerified } => "Fulcio certifies an email identity only when its issuer verified it; use the CI's own OIDC token (GitHub Actions, or GitLab CI's id_tokens with `aud: sigstore`) rather than a personal one".into(),
            SignError::InvalidIdentityToken { .. } => "SIGSTORE_ID_TOKEN, when set, must hold the OIDC token itself (a JWT with a `sub` claim, issued for audience `sigstore`); on GitLab, declare it under id_tokens with `aud: sigstore` instead of setting it by hand".into(),
            SignError::InsecureUrl { .. } => "use an https:// URL for Sigstore's services".into(),
            SignError::Status { service, status, .. } => status_hint(*service, *status),
            SignError::Transport { service, url, .. } => format!(
                "{service} could not be reached at {url}; check the network, DNS and proxy settings of the runner{}",
                public_good_status(url)
            ),
            SignError::BadResponse { service, url, .. } => format!(
                "check that {url} is {service}; the answer did not have the shape of its v1/v2 API"
            ),
            SignError::Random(_) => "the operating system could not supply random numbers; check the runner".into(),
        }
    }
}

fn public_good_status(url: &str) -> &'static str {
    if url.starts_with(DEFAULT_FULCIO_URL) || url.starts_with(DEFAULT_REKOR_URL) {
        " (Sigstore's service status: https://status.sigstore.dev)"
    } else {
        ""
    }
}

fn status_hint(service: Service, status: u16) -> String {
    match (service, status) {
        (_, 408 | 429) | (_, 500..) => format!(
            "{service} is overloaded or failing; try again later (Sigstore's service status: https://status.sigstore.dev). npm would have failed the same way"
        ),
        (Service::GitHubTokenService, 401 | 403) => "GitHub refused to issue an OIDC token: the job needs `permissions: id-token: write`, and pull requests from forks never get one".into(),
        (Service::GitHubTokenService, _) => "GitHub's token service refused the request; re-run the job, and check that nothing overrides ACTIONS_ID_TOKEN_REQUEST_URL or ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
        (Service::Fulcio, 400 | 401 | 403) => "Fulcio refused the identity token: it must be an OIDC token from GitHub Actions or GitLab CI with audience `sigstore`, still valid (tokens expire after minutes; request it right before publishing). On GitLab the id_tokens entry must be `SIGSTORE_ID_TOKEN: {aud: sigstore}`; a self-managed GitLab's issuer is not trusted by the public-good Fulcio".into(),
        (Service::Fulcio, _) => "Fulcio refused the certificate request; see its message above".into(),
        (Service::Rekor, 409) => "Rekor already holds this exact entry: an earlier attempt that seemed to fail (a timeout) did go through. Publish again; a new attempt signs with a new key and does not conflict (npm fails the same way)".into(),
        (Service::Rekor, 400 | 422) => "Rekor refused the entry: the signature did not verify against the certificate, or the entry is malformed. This is a bug in trustpub; please report it with the message above".into(),
        (Service::Rekor, _) => "Rekor refused the entry; see its message above".into(),
    }
}

// ---------------------------------------------------------------------------
// Requests

/// Replaces every token text in `s` by `****`.
struct Scrubber<'a> {
    secrets: Vec<&'a str>,
}

impl<'a> Scrubber<'a> {
    fn new(token: Option<&'a Secret<String>>) -> Scrubber<'a> {
        let mut secrets = Vec::new();
        if let Some(t) = token {
            let t = t.expose().as_str();
            if !t.is_empty() {
                secrets.push(t);
            }
            // A service that quotes part of a JWT (its payload or signature).
            secrets.extend(t.split('.').filter(|p| p.len() >= 16));
        }
        Scrubber { secrets }
    }

    fn scrub(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.secrets {
            if out.contains(secret) {
                out = out.replace(secret, "****");
            }
        }
        out
    }
}

/// The service's words: JSON `message` (what sigstore-js reads), else
/// `error`, else a short text body.
fn service_message(r: &Response, scrub: &Scrubber<'_>) -> Option<String> {
    let text = match serde_json::from_slice::<Value>(&r.body) {
        Ok(v) => ["message", "error"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string)),
        Err(_) => {
            let t = String::from_utf8_lossy(&r.body).trim().to_string();
            (!t.is_empty() && t.len() <= 500).then_some(t)
        }
    }?;
    let text = scrub.scrub(text.trim());
    (!text.is_empty()).then_some(text)
}

/// A 2xx answer from `service` that is not what the protocol says.
fn bad_response(service: Service, url: &str, what: String) -> SignError {
    SignError::BadResponse {
        service,
        method: "POST",
        url: url.to_string(),
        what,
    }
}

/// Passes retries on, named after the service and without token text;
/// `npm-notice` headers are the registry's, not looked at here.
struct ServiceObserver<'a> {
    inner: &'a dyn Observer,
    service: Service,
    scrub: &'a Scrubber<'a>,
}

impl Observer for ServiceObserver<'_> {
    fn notice(&self, _text: &str) {}
    fn retrying(&self, what: &str, attempt: u32, wait: Duration) {
        let what = format!("{}: {}", self.service, self.scrub.scrub(what));
        self.inner.retrying(&what, attempt, wait);
    }
}

/// Sends `req` to `service` with `retry`'s rules (through the one retry
/// loop, [`Client::fetch_retrying`]); a 2xx answer comes back, anything
/// else is an error whose words have the token text replaced.
fn send(
    client: &Client,
    observer: &dyn Observer,
    service: Service,
    req: &Request<'_>,
    retry: &Retry,
    scrub: &Scrubber<'_>,
) -> Result<Response, SignError> {
    let observer = ServiceObserver {
        inner: observer,
        service,
        scrub,
    };
    client
        .fetch_retrying(req, retry, &observer)
        .map_err(|e| match e {
            SendError::Status { response, attempts } => SignError::Status {
                service,
                method: req.method,
                url: req.url.clone(),
                status: response.status,
                message: service_message(&response, scrub),
                attempts,
            },
            SendError::Http { error, attempts } => SignError::Transport {
                service,
                method: req.method,
                url: req.url.clone(),
                message: scrub.scrub(&match error {
                    HttpError::Transport { message, .. } => message,
                    // A redirect to another host, or too many: not retried.
                    e => e.to_string(),
                }),
                attempts,
            },
            // Only a checked send ends this way.
            SendError::Redirected { detail } => SignError::Transport {
                service,
                method: req.method,
                url: req.url.clone(),
                message: scrub.scrub(&detail),
                attempts: 1,
            },
        })
}

/// POSTs a JSON body to Fulcio or Rekor with sigstore-js's retries and
/// returns the JSON answer (`accept`: also send `accept: application/json`,
/// as sigstore-js does for Rekor).
#[allow(clippy::too_many_arguments)]
fn post_json(
    client: &Client,
    observer: &dyn Observer,
    identity_token: &Secret<String>,
    service: Service,
    url: &str,
    body: &[u8],
    accept: bool,
    spec: &str,
) -> Result<Value, SignError> {
    let mut headers = vec![("content-type", "application/json".to_string())];
    if accept {
        headers.push(("accept", "application/json".to_string()));
    }
    let req = Request {
        method: "POST",
        url: url.to_string(),
        headers,
        body: Some(body),
        auth: None,
        spec: spec.to_string(),
    };
    let scrub = Scrubber::new(Some(identity_token));
    let resp = send(
        client,
        observer,
        service,
        &req,
        &Retry::sigstore(&client.retry),
        &scrub,
    )?;
    serde_json::from_slice(&resp.body)
        .map_err(|e| bad_response(service, url, format!("not JSON ({e})")))
}

// ---------------------------------------------------------------------------
// The identity token

/// The OIDC token Fulcio will certify (audience `sigstore`), found the way
/// sigstore-js's `CIContextProvider('sigstore')` finds it:
///
/// * `SIGSTORE_ID_TOKEN`, when set and not empty, on any provider (GitLab's
///   `id_tokens` convention, shared with cosign). sigstore-js races it
///   against the GitHub request with `Promise.any`; the variable resolves at
///   once, so it always wins.
/// * Else, when `ACTIONS_ID_TOKEN_REQUEST_URL` and
///   `ACTIONS_ID_TOKEN_REQUEST_TOKEN` are both set: `GET` that URL with
///   `audience=sigstore` appended, `Accept: application/json`,
///   `Authorization: Bearer <request token>`, and take `.value`; retried as
///   make-fetch-happen retries a GET with `retry: 2` (408, 420, 429, 5xx and
///   connection errors; waits of 1 s and 2 s).
///
/// `provider` only shapes the error's hint: sigstore-js does not look at it.
pub fn identity_token(
    env: &Env,
    provider: Provider,
    client: &Client,
    observer: &dyn Observer,
) -> Result<Secret<String>, SignError> {
    if let Some(t) = env.get_non_empty("SIGSTORE_ID_TOKEN") {
        return Ok(Secret::new(t.to_string()));
    }
    let url = env.get_non_empty("ACTIONS_ID_TOKEN_REQUEST_URL");
    let request_token = env.get_non_empty("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    let (Some(url), Some(request_token)) = (url, request_token) else {
        let missing = match provider {
            Provider::GitHubActions => {
                let mut m = Vec::new();
                if url.is_none() {
                    m.push("ACTIONS_ID_TOKEN_REQUEST_URL");
                }
                if request_token.is_none() {
                    m.push("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
                }
                m
            }
            _ => vec!["SIGSTORE_ID_TOKEN"],
        };
        return Err(SignError::NoIdentityToken {
            provider: Some(provider),
            missing,
        });
    };
    let service = GitHubTokenRequest::new(url, request_token, SIGSTORE_AUDIENCE)
        .map_err(|reason| SignError::BadTokenRequestUrl { reason })?;
    let request_secret = Secret::new(request_token.to_string());
    let resp = send(
        client,
        observer,
        Service::GitHubTokenService,
        &service.request("the Sigstore identity token"),
        &Retry::github_token_for_sigstore(),
        &Scrubber::new(Some(&request_secret)),
    )?;
    GitHubTokenRequest::value(&resp).ok_or_else(|| SignError::BadResponse {
        service: Service::GitHubTokenService,
        method: "GET",
        url: service.url.clone(),
        what: format!("status {} without a token in `value`", resp.status),
    })
}

/// What is wrong with an identity token's claims, without the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeError {
    /// No second dot-separated part.
    NotAJwt,
    /// The payload is not base64(url) of a JSON object.
    BadPayload,
    /// `email` is present but `email_verified` is not truthy.
    EmailNotVerified,
    /// Neither `email` nor `sub`.
    NoSubject,
    /// `email` or `sub` is truthy but not a string.
    NotAString(&'static str),
}

impl fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChallengeError::NotAJwt => f.write_str("it is not a JWT (no payload part)"),
            ChallengeError::BadPayload => f.write_str("its payload is not base64url-encoded JSON"),
            ChallengeError::EmailNotVerified => f.write_str(
                "its `email` claim is not verified by the issuer (`email_verified` is false)",
            ),
            ChallengeError::NoSubject => f.write_str("it has neither an `email` nor a `sub` claim"),
            ChallengeError::NotAString(k) => write!(f, "its `{k}` claim is not a string"),
        }
    }
}

/// The subject Fulcio wants signed as proof of possession, as
/// `extractJWTSubject` (`@sigstore/sign/dist/util/oidc.js`) picks it: the
/// `email` claim when it is truthy (then `email_verified` must be truthy, in
/// JavaScript's sense: `"false"` counts as true), else a truthy `sub`.
pub fn challenge_subject(token: &Secret<String>) -> Result<String, ChallengeError> {
    // jwt.split('.', 3)[1]
    let payload = token
        .expose()
        .split('.')
        .nth(1)
        .ok_or(ChallengeError::NotAJwt)?;
    let bytes = node_base64_decode(payload).ok_or(ChallengeError::BadPayload)?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|_| ChallengeError::BadPayload)?;
    let Value::Object(claims) = claims else {
        return Err(ChallengeError::BadPayload);
    };
    let claim = |k: &str| claims.get(k).filter(|v| truthy(v));
    if let Some(email) = claim("email") {
        if claim("email_verified").is_none() {
            return Err(ChallengeError::EmailNotVerified);
        }
        return email
            .as_str()
            .map(str::to_string)
            .ok_or(ChallengeError::NotAString("email"));
    }
    match claim("sub") {
        Some(sub) => sub
            .as_str()
            .map(str::to_string)
            .ok_or(ChallengeError::NotAString("sub")),
        None => Err(ChallengeError::NoSubject),
    }
}

// ---------------------------------------------------------------------------
// Pure pieces: keys, DSSE, request bodies, the bundle

/// A fresh P-256 key from the OS generator (`generateKeyPairSync('ec',
/// {namedCurve: 'P-256'})`), kept in memory only.
fn ephemeral_key() -> Result<SigningKey, SignError> {
    for _ in 0..16 {
        let mut bytes = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| SignError::Random(e.to_string()))?;
        // Fails only for zero or a value above the group order (p < 2^-32).
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            return Ok(key);
        }
    }
    Err(SignError::Random(
        "no valid P-256 scalar in 16 draws".into(),
    ))
}

/// `crypto.sign('sha256', data, key)`: ECDSA P-256 over SHA-256, DER.
pub fn sign_der(key: &SigningKey, data: &[u8]) -> Vec<u8> {
    let sig: Signature = key.sign(data);
    sig.to_der().as_bytes().to_vec()
}

/// The public key as node exports it: SPKI PEM, 64-column base64, LF line
/// ends, a final newline.
pub fn public_key_pem(key: &SigningKey) -> String {
    key.verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("a P-256 public key always encodes")
}

/// DSSE's pre-authentication encoding (`preAuthEncoding`):
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in bytes.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// `Envelope.toJSON` of the one-signature envelope: `payload`, `payloadType`,
/// `signatures: [{sig}]`, each left out when empty (so `keyid: ""` never
/// appears).
pub fn envelope_json(payload: &[u8], payload_type: &str, signature: &[u8]) -> Value {
    let mut env = Map::new();
    if !payload.is_empty() {
        env.insert("payload".into(), STANDARD.encode(payload).into());
    }
    if !payload_type.is_empty() {
        env.insert("payloadType".into(), payload_type.into());
    }
    let mut sig = Map::new();
    if !signature.is_empty() {
        sig.insert("sig".into(), STANDARD.encode(signature).into());
    }
    env.insert("signatures".into(), Value::Array(vec![Value::Object(sig)]));
    Value::Object(env)
}

/// The Fulcio v2 `signingCert` body (`toCertificateRequest`).
fn fulcio_request_body(token: &Secret<String>, public_key_pem: &str, proof: &[u8]) -> Vec<u8> {
    let body = json!({
        "credentials": { "oidcIdentityToken": token.expose() },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": public_key_pem },
            "proofOfPossession": STANDARD.encode(proof),
        },
    });
    serde_json::to_vec(&body).expect("a JSON value always serialises")
}

/// The Rekor v1 `dsse` 0.0.1 proposed entry (`toProposedDSSEEntry`): the
/// envelope as a JSON string, and the leaf certificate's PEM text, base64.
pub fn rekor_request_body(envelope_json: &str, certificate_pem: &str) -> String {
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "proposedContent": {
                "envelope": envelope_json,
                "verifiers": [STANDARD.encode(certificate_pem.as_bytes())],
            },
        },
    });
    serde_json::to_string(&body).expect("a JSON value always serialises")
}

/// The leaf certificate of a Fulcio v2 answer: `certificates[0]` of
/// `signedCertificateEmbeddedSct.chain`, or of
/// `signedCertificateDetachedSct.chain` when there is no embedded form.
pub fn leaf_certificate_pem(answer: &Value) -> Result<String, String> {
    let form = answer
        .get("signedCertificateEmbeddedSct")
        .filter(|v| truthy(v))
        .or_else(|| answer.get("signedCertificateDetachedSct"))
        .ok_or("neither signedCertificateEmbeddedSct nor signedCertificateDetachedSct")?;
    let first = form
        .pointer("/chain/certificates/0")
        .ok_or("no chain.certificates[0]")?;
    first
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "chain.certificates[0] is not a PEM string".to_string())
}

/// `pem.toDER` of `@sigstore/core`: the base64 of every line that is not a
/// `-----BEGIN …-----` or `-----END …-----` line, decoded.
pub fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let marker = |line: &str, tag: &str| {
        line.find(tag)
            .is_some_and(|i| line[i + tag.len()..].contains("-----"))
    };
    let b64: String = pem
        .split('\n')
        .filter(|l| !marker(l, "-----BEGIN ") && !marker(l, "-----END "))
        .collect();
    node_base64_decode(&b64).filter(|d| !d.is_empty())
}

/// Base64 as node's `Buffer.from(s, 'base64')` takes it from a
/// well-behaved peer: standard or URL-safe alphabet, padding optional,
/// whitespace ignored. Anything else is refused (node would skip the odd
/// characters and carry on with garbage).
fn node_base64_decode(s: &str) -> Option<Vec<u8>> {
    let cleaned: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, config);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, config);
    standard
        .decode(&cleaned)
        .or_else(|_| url_safe.decode(&cleaned))
        .ok()
}

/// `x.toString()` of a JSON number (or a string, which stays as it is);
/// `None` for anything else.
fn js_to_string(v: &Value) -> Option<String> {
    matches!(v, Value::String(_) | Value::Number(_)).then(|| to_js_string(v))
}

/// Inserts an int64 the way proto3 JSON does: a string, left out when "0".
fn put_int64(m: &mut Map<String, Value>, key: &str, value: String) {
    if value != "0" {
        m.insert(key.into(), Value::String(value));
    }
}

/// Inserts bytes the way proto3 JSON does: padded base64, left out when empty.
fn put_bytes(m: &mut Map<String, Value>, key: &str, bytes: &[u8]) {
    if !bytes.is_empty() {
        m.insert(key.into(), Value::String(STANDARD.encode(bytes)));
    }
}

/// One Rekor v1 log entry (the value under its UUID) as the bundle's
/// `TransparencyLogEntry`, exactly as `toTransparencyLogEntry` followed by
/// `TransparencyLogEntry.toJSON` renders it:
///
/// * `logIndex`, `integratedTime`, `inclusionProof.logIndex` and `treeSize`
///   as decimal strings (left out when `"0"`);
/// * `logId.keyId`, `rootHash` and `hashes` from hex to base64;
/// * `kindVersion` from the decoded body's `kind` and `apiVersion`;
/// * `signedEntryTimestamp` and `canonicalizedBody` decoded and re-encoded
///   (for Rekor's padded base64 that is the same text);
/// * `inclusionPromise` only with a `signedEntryTimestamp`, `inclusionProof`
///   only with an `inclusionProof`, `checkpoint: {envelope}` inside it.
///
/// Where sigstore-js would quietly turn malformed hex or base64 into a
/// broken bundle, this is an error naming the field.
pub fn tlog_entry(entry: &Value) -> Result<Value, String> {
    let field = |k: &str| entry.get(k).ok_or_else(|| format!("no `{k}`"));
    let log_id = field("logID")?.as_str().ok_or("`logID` is not a string")?;
    let log_id = hex::decode(log_id).map_err(|_| "`logID` is not hex")?;
    let body_b64 = field("body")?.as_str().ok_or("`body` is not a string")?;
    let body = node_base64_decode(body_b64).ok_or("`body` is not base64")?;
    let body_json: Value =
        serde_json::from_slice(&body).map_err(|_| "`body` does not decode to JSON")?;
    let log_index = js_to_string(field("logIndex")?).ok_or("`logIndex` is not a number")?;
    let integrated_time =
        js_to_string(field("integratedTime")?).ok_or("`integratedTime` is not a number")?;

    let verification = entry.get("verification").filter(|v| truthy(v));
    let set = verification
        .and_then(|v| v.get("signedEntryTimestamp"))
        .filter(|v| truthy(v));
    let proof = verification
        .and_then(|v| v.get("inclusionProof"))
        .filter(|v| truthy(v));

    let mut out = Map::new();
    put_int64(&mut out, "logIndex", log_index);
    let mut log_id_json = Map::new();
    put_bytes(&mut log_id_json, "keyId", &log_id);
    out.insert("logId".into(), Value::Object(log_id_json));
    let mut kind_version = Map::new();
    for (from, to) in [("kind", "kind"), ("apiVersion", "version")] {
        match body_json.get(from) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(v) => {
                kind_version.insert(to.into(), v.clone());
            }
        }
    }
    out.insert("kindVersion".into(), Value::Object(kind_version));
    put_int64(&mut out, "integratedTime", integrated_time);
    if let Some(set) = set {
        let set = set
            .as_str()
            .and_then(node_base64_decode)
            .ok_or("`verification.signedEntryTimestamp` is not base64")?;
        let mut promise = Map::new();
        put_bytes(&mut promise, "signedEntryTimestamp", &set);
        out.insert("inclusionPromise".into(), Value::Object(promise));
    }
    if let Some(p) = proof {
        let pfield = |k: &str| {
            p.get(k)
                .ok_or_else(|| format!("no `verification.inclusionProof.{k}`"))
        };
        let hex_field = |k: &str, v: &Value| {
            v.as_str()
                .and_then(|s| hex::decode(s).ok())
                .ok_or_else(|| format!("`verification.inclusionProof.{k}` is not hex"))
        };
        let mut proof_json = Map::new();
        put_int64(
            &mut proof_json,
            "logIndex",
            js_to_string(pfield("logIndex")?)
                .ok_or("`verification.inclusionProof.logIndex` is not a number")?,
        );
        put_bytes(
            &mut proof_json,
            "rootHash",
            &hex_field("rootHash", pfield("rootHash")?)?,
        );
        put_int64(
            &mut proof_json,
            "treeSize",
            js_to_string(pfield("treeSize")?)
                .ok_or("`verification.inclusionProof.treeSize` is not a number")?,
        );
        let hashes = pfield("hashes")?
            .as_array()
            .ok_or("`verification.inclusionProof.hashes` is not a list")?;
        if !hashes.is_empty() {
            let hashes = hashes
                .iter()
                .map(|h| hex_field("hashes", h).map(|b| Value::String(STANDARD.encode(b))))
                .collect::<Result<Vec<_>, _>>()?;
            proof_json.insert("hashes".into(), Value::Array(hashes));
        }
        let mut checkpoint = Map::new();
        match p.get("checkpoint") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) => {
                checkpoint.insert("envelope".into(), Value::String(s.clone()));
            }
            Some(_) => {
                return Err("`verification.inclusionProof.checkpoint` is not a string".into())
            }
        }
        proof_json.insert("checkpoint".into(), Value::Object(checkpoint));
        out.insert("inclusionProof".into(), Value::Object(proof_json));
    }
    put_bytes(&mut out, "canonicalizedBody", &body);
    Ok(Value::Object(out))
}

/// `entryFromResponse` of `external/rekor.js`: Rekor answers
/// `{"<uuid>": {entry}}`, and anything but exactly one entry is an error.
pub fn rekor_entry(answer: &Value) -> Result<(&str, &Value), String> {
    let obj = answer.as_object().ok_or("not a JSON object")?;
    if obj.len() != 1 {
        return Err(format!(
            "{} entries where one was expected (Received multiple entries in Rekor response)",
            obj.len()
        ));
    }
    let (uuid, entry) = obj.iter().next().expect("one entry");
    Ok((uuid.as_str(), entry))
}

/// The v0.3 bundle, as `toDSSEBundle` builds it, the witnesses complete it
/// (`tlogEntries`, `timestampVerificationData: {rfc3161Timestamps: []}`) and
/// `Bundle.toJSON` renders it.
pub fn bundle_json(
    certificate_der: &[u8],
    tlog_entry: Value,
    payload: &[u8],
    payload_type: &str,
    signature: &[u8],
) -> Value {
    let mut certificate = Map::new();
    put_bytes(&mut certificate, "rawBytes", certificate_der);
    let mut material = Map::new();
    material.insert("certificate".into(), Value::Object(certificate));
    material.insert("tlogEntries".into(), Value::Array(vec![tlog_entry]));
    material.insert(
        "timestampVerificationData".into(),
        Value::Object(Map::new()),
    );
    let mut bundle = Map::new();
    bundle.insert("mediaType".into(), BUNDLE_V03_MEDIA_TYPE.into());
    bundle.insert("verificationMaterial".into(), Value::Object(material));
    bundle.insert(
        "dsseEnvelope".into(),
        envelope_json(payload, payload_type, signature),
    );
    Value::Object(bundle)
}

// ---------------------------------------------------------------------------
// Signing

fn endpoint(base: &str, path: &str) -> String {
    // sigstore-js concatenates (`${baseURL}/api/...`); a trailing slash on a
    // configured URL is forgiven here.
    format!("{}{path}", base.trim_end_matches('/'))
}

/// Signs `payload` (the statement bytes) as a DSSE envelope of type
/// `payload_type`, with a certificate from Fulcio for `identity_token` and an
/// entry in Rekor, and returns the v0.3 bundle. Works against any Fulcio and
/// Rekor base URL that is https, or http to this machine.
pub fn sign(
    payload: &[u8],
    payload_type: &str,
    identity_token: &Secret<String>,
    urls: &SigstoreUrls,
    client: &Client,
    observer: &dyn Observer,
) -> Result<SignedBundle, SignError> {
    check_urls(urls)?;
    // sigstore-js makes the key when it builds the signer, before anything else.
    let key = ephemeral_key()?;
    sign_with_key(
        &key,
        payload,
        payload_type,
        identity_token,
        urls,
        client,
        observer,
    )
}

fn check_urls(urls: &SigstoreUrls) -> Result<(), SignError> {
    for (service, url) in [
        (Service::Fulcio, &urls.fulcio),
        (Service::Rekor, &urls.rekor),
    ] {
        if !http::is_secure(url) {
            return Err(SignError::InsecureUrl {
                service,
                url: crate::secret::redact_url(url),
            });
        }
    }
    Ok(())
}

/// [`sign`] with a given key (the tests use a fixed one, so that the
/// signatures are reproducible: p256 signs deterministically, RFC 6979).
fn sign_with_key(
    key: &SigningKey,
    payload: &[u8],
    payload_type: &str,
    identity_token: &Secret<String>,
    urls: &SigstoreUrls,
    client: &Client,
    observer: &dyn Observer,
) -> Result<SignedBundle, SignError> {
    check_urls(urls)?;
    let subject = challenge_subject(identity_token)
        .map_err(|reason| SignError::InvalidIdentityToken { reason })?;
    let proof = sign_der(key, subject.as_bytes());
    let public_pem = public_key_pem(key);

    // Fulcio.
    let fulcio_url = endpoint(&urls.fulcio, "/api/v2/signingCert");
    let fulcio_body = fulcio_request_body(identity_token, &public_pem, &proof);
    let post = |service, url: &str, body: &[u8], accept: bool, spec: &str| {
        post_json(
            client,
            observer,
            identity_token,
            service,
            url,
            body,
            accept,
            spec,
        )
    };
    let bad_fulcio = |what: String| bad_response(Service::Fulcio, &fulcio_url, what);
    let answer = post(
        Service::Fulcio,
        &fulcio_url,
        &fulcio_body,
        false,
        "the signing certificate",
    )?;
    let leaf_pem = leaf_certificate_pem(&answer).map_err(bad_fulcio)?;
    let leaf_der = pem_to_der(&leaf_pem)
        .ok_or_else(|| bad_fulcio("the leaf certificate is not PEM".into()))?;

    // DSSE.
    let signature = sign_der(key, &pae(payload_type, payload));
    let envelope = envelope_json(payload, payload_type, &signature);
    let envelope_text = serde_json::to_string(&envelope).expect("a JSON value always serialises");

    // Rekor.
    let rekor_url = endpoint(&urls.rekor, "/api/v1/log/entries");
    let rekor_body = rekor_request_body(&envelope_text, &leaf_pem);
    let bad_rekor = |what: String| bad_response(Service::Rekor, &rekor_url, what);
    let answer = post(
        Service::Rekor,
        &rekor_url,
        rekor_body.as_bytes(),
        true,
        "the transparency log entry",
    )?;
    let (_uuid, entry) = rekor_entry(&answer).map_err(bad_rekor)?;
    let tlog = tlog_entry(entry).map_err(bad_rekor)?;
    let log_index = match entry.get("logIndex") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad_rekor("`logIndex` is not a non-negative integer".into()))?;
    let integrated_time = match entry.get("integratedTime") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad_rekor("`integratedTime` is not an integer".into()))?;
    let log_id = entry
        .get("logID")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();

    Ok(SignedBundle {
        json: bundle_json(&leaf_der, tlog, payload, payload_type, &signature),
        log_index,
        log_id,
        integrated_time,
    })
}

#[cfg(test)]
mod tests;
