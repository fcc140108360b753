//! The npm registry on top of [`crate::http`]: the packument GET, the
//! publish PUT with npm's retry rules ([`Retry::registry`]: make-fetch-happen
//! and promise-retry; 408, 420, 429, 5xx and connection errors are retried,
//! `Retry-After` is honoured up to `fetch-retry-maxtimeout`), and the
//! registry's error answers turned into messages a maintainer can act on
//! (401, 403, a 404 for a package the credential may not publish, one-time
//! password challenges …). It knows nothing about CI.
//!
//! The transport (agents, limits, redirects, TLS and timeout errors) is
//! [`crate::http`]'s; the names below are re-exported from there for the
//! modules that talk to the registry.

// A registry error carries everything a maintainer needs to read (status,
// URL, the registry's message, the OTP URLs); it is built once per failed
// run, so its size does not matter.
#![allow(clippy::result_large_err)]

use crate::http::{HttpError, Retry, SendError};

pub use crate::http::{
    is_loopback, is_secure, origin, reason, Auth, AuthKind, Client, Observer, Request, Response,
    RetryPolicy, Sent, MAX_BODY, MAX_ERROR_BODY,
};

/// What can go wrong talking to the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No readable answer: transport, TLS, limits, redirects to another
    /// host, a request that cannot be sent as configured.
    #[error(transparent)]
    Http(#[from] HttpError),
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
    #[error("the registry answered {method} {url} with a redirect ({detail}), and the package is not on the registry: nothing was published")]
    Redirected {
        method: String,
        url: String,
        detail: String,
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
        matches!(self, RegistryError::Http(e) if e.is_local())
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
            RegistryError::Http(e) => Some(e.hint()),
            RegistryError::Redirected { .. } => Some(
                "an upload is only published when the registry itself answers it with a success; set the registry to the URL that serves it and publish again".into(),
            ),
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
    /// The dist-tags (`latest` is read, for the version the identity-drift
    /// check compares with); a value that is not a string is no tag.
    #[serde(default, rename = "dist-tags")]
    pub dist_tags: Option<std::collections::HashMap<String, serde_json::Value>>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct PackumentVersion {
    #[serde(default)]
    dist: Option<PackumentDist>,
    #[serde(default)]
    pub deprecated: Option<serde_json::Value>,
    /// Who published it; `trustedPublisher` when it was trusted publishing.
    #[serde(default, rename = "_npmUser")]
    npm_user: Option<serde_json::Value>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct PackumentDist {
    #[serde(default)]
    integrity: Option<serde_json::Value>,
    /// The registry's provenance record (`{url, provenance}`).
    #[serde(default)]
    attestations: Option<serde_json::Value>,
}

impl PackumentVersion {
    pub fn integrity(&self) -> Option<&str> {
        self.dist.as_ref()?.integrity.as_ref()?.as_str()
    }

    /// Staged, then approved by a maintainer (`_npmUser.approver`: pnpm's
    /// strongest trust evidence, "staged publish").
    pub fn approved_from_stage(&self) -> bool {
        self.npm_user
            .as_ref()
            .and_then(|u| u.get("approver"))
            .is_some_and(crate::js::truthy)
    }

    /// Published through trusted publishing (`_npmUser.trustedPublisher`).
    pub fn by_trusted_publisher(&self) -> bool {
        self.npm_user
            .as_ref()
            .and_then(|u| u.get("trustedPublisher"))
            .is_some_and(crate::js::truthy)
    }

    /// Where the registry serves this version's attestations, when it
    /// carries SLSA provenance: `dist.attestations.url` with a
    /// `provenance.predicateType` (the packument's shape on npmjs.com:
    /// `{url, provenance: {predicateType}}`).
    pub fn provenance_url(&self) -> Option<&str> {
        let a = self.dist.as_ref()?.attestations.as_ref()?;
        let kind = a.pointer("/provenance/predicateType")?.as_str()?;
        kind.starts_with("https://slsa.dev/provenance/")
            .then(|| a.get("url")?.as_str())
            .flatten()
            .filter(|u| !u.is_empty())
    }

    /// Carries provenance (`dist.attestations.provenance`, what pnpm's
    /// trust check reads).
    pub fn has_attestations(&self) -> bool {
        self.dist
            .as_ref()
            .and_then(|d| d.attestations.as_ref())
            .and_then(|a| a.get("provenance"))
            .is_some_and(serde_json::Value::is_object)
    }
}

/// How the versions already on the registry were published: the highest
/// version published through trusted publishing, and the highest that
/// carries provenance; and the latest version's provenance, for the
/// identity-drift check (`trust::drift`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TrustHistory {
    pub trusted_publishing: Option<String>,
    pub provenance: Option<String>,
    /// The same, among stable versions only: what a stable version is held
    /// to (pnpm's trust check leaves prereleases out for a stable version).
    pub stable_trusted_publishing: Option<String>,
    pub stable_provenance: Option<String>,
    /// The highest version staged and approved (`_npmUser.approver`), and
    /// the highest stable one.
    pub staged: Option<String>,
    pub stable_staged: Option<String>,
    pub latest: Option<LatestProvenance>,
    /// The packument could not be read (why): the history is not known.
    pub unread: Option<String>,
}

impl TrustHistory {
    /// The history `version` is held to: every earlier trusted or
    /// provenance version for a prerelease, stable ones for a stable one.
    /// (trusted publishing, provenance, approved staged publish).
    pub fn for_version(
        &self,
        version: &str,
    ) -> (Option<&String>, Option<&String>, Option<&String>) {
        let prerelease =
            crate::semver::Version::parse(version, true).is_some_and(|v| !v.prerelease.is_empty());
        if prerelease {
            (
                self.trusted_publishing.as_ref(),
                self.provenance.as_ref(),
                self.staged.as_ref(),
            )
        } else {
            (
                self.stable_trusted_publishing.as_ref(),
                self.stable_provenance.as_ref(),
                self.stable_staged.as_ref(),
            )
        }
    }
}

/// The latest version (the `latest` dist-tag's, else the highest) when it
/// carries provenance, and where the registry serves its attestations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestProvenance {
    pub version: String,
    pub url: String,
}

impl Packument {
    pub fn trust_history(&self) -> TrustHistory {
        let mut h = TrustHistory::default();
        let highest = |cur: &mut Option<String>, v: &str| {
            let newer = match cur.as_deref() {
                None => true,
                Some(c) => match (
                    crate::semver::Version::parse(v, true),
                    crate::semver::Version::parse(c, true),
                ) {
                    (Some(a), Some(b)) => a > b,
                    _ => false,
                },
            };
            if newer {
                *cur = Some(v.to_string());
            }
        };
        for (v, doc) in self.versions.iter().flatten() {
            let stable =
                crate::semver::Version::parse(v, true).is_some_and(|p| p.prerelease.is_empty());
            if doc.approved_from_stage() {
                highest(&mut h.staged, v);
                if stable {
                    highest(&mut h.stable_staged, v);
                }
            }
            if doc.by_trusted_publisher() {
                highest(&mut h.trusted_publishing, v);
                if stable {
                    highest(&mut h.stable_trusted_publishing, v);
                }
            }
            if doc.has_attestations() {
                if stable {
                    highest(&mut h.stable_provenance, v);
                }
                highest(&mut h.provenance, v);
            }
        }
        h.latest = self.latest_version().and_then(|(v, doc)| {
            Some(LatestProvenance {
                version: v.to_string(),
                url: doc.provenance_url()?.to_string(),
            })
        });
        h
    }

    /// The `latest` dist-tag's version when it is in `versions`, else the
    /// highest version (prereleases included, as the registry orders them).
    pub fn latest_version(&self) -> Option<(&str, &PackumentVersion)> {
        let versions = self.versions.as_ref()?;
        let tagged = self
            .dist_tags
            .as_ref()
            .and_then(|t| t.get("latest"))
            .and_then(serde_json::Value::as_str)
            .and_then(|v| versions.get_key_value(v));
        if let Some((v, doc)) = tagged {
            return Some((v.as_str(), doc));
        }
        versions
            .iter()
            .filter_map(|(v, doc)| Some((crate::semver::Version::parse(v, true)?, v, doc)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, v, doc)| (v.as_str(), doc))
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
                                    attestations: doc.pointer("/dist/attestations").cloned(),
                                }),
                                deprecated: doc.get("deprecated").cloned(),
                                npm_user: doc.get("_npmUser").cloned(),
                            },
                        )
                    })
                    .collect()
            });
        let dist_tags = v
            .get("dist-tags")
            .and_then(serde_json::Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        Some(Packument {
            versions,
            dist_tags,
        })
    }
}

/// The registry's requests: [`crate::http::Client`]'s transport with npm's
/// retry rules and the registry's error answers turned into
/// [`RegistryError`]s.
impl Client {
    /// One attempt (same-origin redirects followed); the answer, whatever
    /// its status.
    pub fn send_once(&self, req: &Request<'_>) -> Result<Response, RegistryError> {
        Ok(self.fetch(req)?)
    }

    /// Sends with npm's retry rules; a final non-2xx answer becomes an error.
    pub fn send(&self, req: &Request<'_>, obs: &dyn Observer) -> Result<Response, RegistryError> {
        self.fetch_retrying(req, &Retry::registry(&self.retry), obs)
            .map_err(|e| registry_error(req, e))
    }

    /// One attempt and no retry, whatever the answer (a request that must
    /// never be sent twice: the stage POST, which make-fetch-happen does
    /// not retry either); a non-2xx answer becomes an error.
    pub fn send_once_only(
        &self,
        req: &Request<'_>,
        obs: &dyn Observer,
    ) -> Result<Response, RegistryError> {
        let mut once = Retry::registry(&self.retry);
        once.backoff.retries = 0;
        self.fetch_retrying(req, &once, obs)
            .map_err(|e| registry_error(req, e))
    }

    /// [`Client::send`] for a request that must not be repeated blindly
    /// (the publish PUT): `check` looks at the registry after an attempt
    /// whose outcome is unknown; see [`Client::fetch_checked`].
    pub fn send_checked(
        &self,
        req: &Request<'_>,
        obs: &dyn Observer,
        check: Option<&dyn Fn() -> bool>,
    ) -> Result<Sent, RegistryError> {
        self.fetch_checked(req, &Retry::registry(&self.retry), obs, check)
            .map_err(|e| registry_error(req, e))
    }
}

/// The registry's non-2xx answer `r` to `req` as an error (for callers
/// that look at the answer themselves first, as `trust sync` does for 429).
pub fn answer_error(req: &Request<'_>, r: &Response) -> RegistryError {
    status_error(req, r)
}

/// What a failed send of `req` to the registry means.
fn registry_error(req: &Request<'_>, e: SendError) -> RegistryError {
    match e {
        SendError::Status { response, .. } => status_error(req, &response),
        SendError::Redirected { detail } => RegistryError::Redirected {
            method: req.method.to_string(),
            url: req.url.clone(),
            detail,
        },
        SendError::Http { error, .. } => error.into(),
    }
}

/// The registry's error answer to `req`, with what npm reads from it.
fn status_error(req: &Request<'_>, r: &Response) -> RegistryError {
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
        registry_message: registry_message(r),
        spec: req.spec.clone(),
        www_authenticate: r.header("www-authenticate").map(str::to_string),
        auth_url: field("authUrl"),
        done_url: field("doneUrl"),
        authenticated: req.auth.is_some(),
    }
}

/// `body.error` (or `body.message`) when the body is JSON, else the text.
fn registry_message(r: &Response) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&r.body) {
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
    let text = String::from_utf8_lossy(&r.body).trim().to_string();
    (!text.is_empty() && text.len() < 2000).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::time::Duration;

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
    fn the_latest_versions_provenance_is_found() {
        let att = |v: &str| {
            serde_json::json!({"dist": {"attestations": {
                "url": format!("https://registry.npmjs.org/-/npm/v1/attestations/x@{v}"),
                "provenance": {"predicateType": "https://slsa.dev/provenance/v1"},
            }}})
        };
        let doc = |tags: serde_json::Value| {
            let body = serde_json::json!({
                "dist-tags": tags,
                "versions": {"1.0.0": att("1.0.0"), "2.0.0": {"dist": {}}, "1.5.0": att("1.5.0")},
            });
            Packument::parse(body.to_string().as_bytes()).unwrap()
        };
        // The `latest` tag's version, with its attestations URL.
        let latest = doc(serde_json::json!({"latest": "1.5.0"}))
            .trust_history()
            .latest;
        assert_eq!(
            latest,
            Some(LatestProvenance {
                version: "1.5.0".into(),
                url: "https://registry.npmjs.org/-/npm/v1/attestations/x@1.5.0".into(),
            })
        );
        // No tag: the highest version, which carries no provenance.
        assert_eq!(doc(serde_json::json!({})).trust_history().latest, None);
        // A tag naming a version that is not there: the highest again.
        assert_eq!(
            doc(serde_json::json!({"latest": "9.9.9"}))
                .latest_version()
                .map(|(v, _)| v),
            Some("2.0.0")
        );
        // A dist-tags of another shape is read leniently.
        let odd = br#"{"dist-tags": [], "versions": {"1.0.0": {}}}"#;
        assert_eq!(
            Packument::parse(odd)
                .unwrap()
                .latest_version()
                .map(|(v, _)| v),
            Some("1.0.0")
        );
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
}
