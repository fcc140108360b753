//! The two requests of trusted publishing, as npm 11.19.1's
//! `lib/utils/oidc.js` makes them: the id token from GitHub's token service,
//! and its exchange at the registry for a publish token that covers one
//! package. Failures come back as values that say what happened; what to do
//! about them is [`crate::trust`]'s business.
//!
//! [`GitHubTokenRequest`] is the one GET of GitHub's token service, used
//! here (audience `npm:<registry host>`, npm's retries) and by
//! [`crate::provenance::sign`] (audience `sigstore`, sigstore-js's).

// Errors carry the status, the URL and the registry's words, for the report.
#![allow(clippy::result_large_err)]

use crate::ci::Provider;
use crate::env::Env;
use crate::http::{self, Auth, AuthKind, Client, Observer, Request, Response};
use crate::registry::RegistryError;
use crate::secret::Secret;

use super::audience;

/// Where an id token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenSource {
    /// The `NPM_ID_TOKEN` variable (any provider; it wins over GitHub's request).
    NpmIdToken,
    /// GitHub's token service (`ACTIONS_ID_TOKEN_REQUEST_URL`).
    GitHubRequest,
}

impl IdTokenSource {
    pub fn describe(self) -> &'static str {
        match self {
            IdTokenSource::NpmIdToken => "NPM_ID_TOKEN",
            IdTokenSource::GitHubRequest => "GitHub's OIDC token service",
        }
    }
}

/// An id token and where it came from.
#[derive(Debug, Clone)]
pub struct IdToken {
    pub token: Secret<String>,
    pub source: IdTokenSource,
}

/// Why there is no id token.
#[derive(Debug)]
pub enum IdTokenError {
    /// GitHub Actions without `ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN`: the
    /// job lacks `permissions: id-token: write`. `missing` names the unset ones.
    NoGitHubPermission { missing: Vec<&'static str> },
    /// GitLab or CircleCI without `NPM_ID_TOKEN`.
    NoNpmIdToken { provider: Provider },
    /// `ACTIONS_ID_TOKEN_REQUEST_URL` is not a URL, or is plain http to
    /// another machine.
    BadRequestUrl { reason: String },
    /// The token service answered with an error (after retries) or could
    /// not be reached.
    Request(Box<RegistryError>),
    /// The token service answered 2xx without a `value`.
    MissingValue { status: u16 },
    /// The id token cannot be sent: larger than [`MAX_ID_TOKEN`] or with a
    /// line break or another control character.
    Unusable {
        source: IdTokenSource,
        problem: String,
    },
}

/// The largest id token trustpub sends (real ones are 1-2 KB).
pub const MAX_ID_TOKEN: usize = 64 * 1024;

/// Checks an id token before it goes into a header.
fn check_id_token(token: &str, source: IdTokenSource) -> Result<(), IdTokenError> {
    let problem = if token.len() > MAX_ID_TOKEN {
        format!(
            "it is {} bytes long, more than the {MAX_ID_TOKEN} bytes trustpub accepts for an id token",
            token.len()
        )
    } else if token.chars().any(char::is_control) {
        "it contains a line break or another control character".to_string()
    } else {
        return Ok(());
    };
    Err(IdTokenError::Unusable { source, problem })
}

impl std::fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdTokenError::NoGitHubPermission { missing } => write!(
                f,
                "GitHub Actions gave this job no OIDC token ({} not set): the job lacks the id-token: write permission",
                missing.join(" and ")
            ),
            IdTokenError::NoNpmIdToken { provider } => write!(
                f,
                "{} gave this job no id token for npm: NPM_ID_TOKEN is not set",
                provider.display_name()
            ),
            IdTokenError::BadRequestUrl { reason } => {
                write!(f, "ACTIONS_ID_TOKEN_REQUEST_URL cannot be used: {reason}")
            }
            IdTokenError::Request(e) => write!(f, "the id token request failed: {e}"),
            IdTokenError::MissingValue { status } => write!(
                f,
                "GitHub's token service answered {status} without a token (no \"value\" in its answer)"
            ),
            IdTokenError::Unusable { source, problem } => {
                write!(f, "the id token from {} cannot be used: {problem}", source.describe())
            }
        }
    }
}

/// Why the exchange gave no publish token.
#[derive(Debug)]
pub enum ExchangeError {
    /// The registry said no (4xx, or 5xx after retries).
    Refused {
        status: u16,
        /// `message` (or `body.message`, `error`) from the answer.
        message: Option<String>,
        url: String,
    },
    /// No answer (connection refused, timeout …) after retries.
    Transport { url: String, message: String },
    /// A 2xx answer without a `token`.
    NoToken { status: u16, url: String },
    /// The registry URL cannot carry the exchange.
    BadRegistry { registry: String },
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Refused {
                status,
                message,
                url,
            } => {
                write!(f, "POST {url} answered {status} {}", http::reason(*status))?;
                if let Some(m) = message {
                    write!(f, ": \"{m}\"")?;
                }
                Ok(())
            }
            ExchangeError::Transport { url, message } => write!(f, "POST {url} failed: {message}"),
            ExchangeError::NoToken { status, url } => write!(
                f,
                "POST {url} answered {status} without a token in its answer"
            ),
            ExchangeError::BadRegistry { registry } => {
                write!(f, "{registry} is not a registry URL the exchange can use")
            }
        }
    }
}

/// The id token for `registry`: `NPM_ID_TOKEN` on any provider, else (on
/// GitHub Actions) a GET of the token service with the registry's audience,
/// retried on 5xx and connection errors.
pub fn id_token(
    env: &Env,
    provider: Provider,
    registry: &str,
    client: &Client,
    observer: &dyn Observer,
) -> Result<IdToken, IdTokenError> {
    if let Some(t) = env.get("NPM_ID_TOKEN").filter(|t| !t.is_empty()) {
        check_id_token(t, IdTokenSource::NpmIdToken)?;
        return Ok(IdToken {
            token: Secret::new(t.to_string()),
            source: IdTokenSource::NpmIdToken,
        });
    }
    if provider != Provider::GitHubActions {
        return Err(IdTokenError::NoNpmIdToken { provider });
    }
    let url = env
        .get("ACTIONS_ID_TOKEN_REQUEST_URL")
        .filter(|v| !v.is_empty());
    let request_token = env
        .get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .filter(|v| !v.is_empty());
    let (Some(url), Some(request_token)) = (url, request_token) else {
        let mut missing = Vec::new();
        if url.is_none() {
            missing.push("ACTIONS_ID_TOKEN_REQUEST_URL");
        }
        if request_token.is_none() {
            missing.push("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
        }
        return Err(IdTokenError::NoGitHubPermission { missing });
    };
    let aud = audience(registry).ok_or_else(|| IdTokenError::BadRequestUrl {
        reason: format!("the registry {registry} has no hostname for the audience"),
    })?;
    let service = GitHubTokenRequest::new(url, request_token, &aud)
        .map_err(|reason| IdTokenError::BadRequestUrl { reason })?;
    let resp = client
        .send(&service.request("the id token"), observer)
        .map_err(|e| IdTokenError::Request(Box::new(e)))?;
    let value = GitHubTokenRequest::value(&resp).ok_or(IdTokenError::MissingValue {
        status: resp.status,
    })?;
    check_id_token(value.expose(), IdTokenSource::GitHubRequest)?;
    Ok(IdToken {
        token: value,
        source: IdTokenSource::GitHubRequest,
    })
}

/// The GET of GitHub Actions' OIDC token service, as npm
/// (`lib/utils/oidc.js`) and sigstore-js (`identity/ci.js: getGHAToken`)
/// both make it: `ACTIONS_ID_TOKEN_REQUEST_URL` with `audience=<aud>`
/// appended, `Accept: application/json`, `Authorization: Bearer
/// <ACTIONS_ID_TOKEN_REQUEST_TOKEN>`; the token is the answer's `value`.
/// How it is retried is the caller's: npm's registry rules for npm's
/// request, `{retry: 2}` for sigstore-js's.
pub struct GitHubTokenRequest {
    /// The request URL with the audience.
    pub url: String,
    auth: Auth,
}

impl GitHubTokenRequest {
    /// The request for `audience`; `Err` says why the URL cannot be used
    /// (not a URL, or plain http to another machine, which would expose the
    /// request token).
    pub fn new(
        request_url: &str,
        request_token: &str,
        audience: &str,
    ) -> Result<GitHubTokenRequest, String> {
        let url = super::github_request_url(request_url, audience)
            .ok_or_else(|| "it is not a URL".to_string())?;
        if !http::is_secure(&url) {
            return Err("it is plain http to another machine; the request token is only sent over https (or to this machine)".into());
        }
        let auth = Auth {
            header: Secret::new(format!("Bearer {request_token}")),
            origin: http::origin(&url).unwrap_or_default(),
            kind: AuthKind::Token,
        };
        Ok(GitHubTokenRequest { url, auth })
    }

    /// The GET; `spec` names what is asked for, in error messages.
    pub fn request(&self, spec: &str) -> Request<'_> {
        Request {
            method: "GET",
            url: self.url.clone(),
            headers: vec![("accept", "application/json".into())],
            body: None,
            auth: Some(&self.auth),
            spec: spec.to_string(),
        }
    }

    /// The token in a successful answer: a `value` that is a non-empty string.
    pub fn value(resp: &Response) -> Option<Secret<String>> {
        serde_json::from_slice::<serde_json::Value>(&resp.body)
            .ok()?
            .get("value")?
            .as_str()
            .filter(|v| !v.is_empty())
            .map(|v| Secret::new(v.to_string()))
    }
}

/// `new URL('/-/npm/v1/oidc/token/exchange/package/' + escapedName, registry)`:
/// the path is absolute, so a path in the registry URL is dropped.
pub fn exchange_url(registry: &str, escaped_name: &str) -> Option<String> {
    let base = url::Url::parse(registry).ok()?;
    let u = base
        .join(&format!(
            "/-/npm/v1/oidc/token/exchange/package/{escaped_name}"
        ))
        .ok()?;
    Some(u.to_string())
}

/// The headers npm-registry-fetch puts on the exchange POST (besides the
/// user-agent and the authorization).
/// `command` is npm's command: `publish`, or `stage` for a staged publish.
pub fn exchange_headers(auth_type: &str, command: &str) -> Vec<(&'static str, String)> {
    vec![
        ("accept", "*/*".into()),
        ("npm-auth-type", auth_type.to_string()),
        ("npm-command", command.into()),
        ("content-length", "0".into()),
    ]
}

/// POSTs the id token (as a bearer token, empty body) to the registry's
/// exchange endpoint for `escaped_name` and returns the publish token.
/// Retried on 5xx and connection errors (npm does not retry the POST; a
/// second exchange only mints a second short-lived token).
pub fn exchange(
    client: &Client,
    registry: &str,
    escaped_name: &str,
    id_token: &Secret<String>,
    auth_type: &str,
    command: &str,
    observer: &dyn Observer,
) -> Result<Secret<String>, ExchangeError> {
    let bad = || ExchangeError::BadRegistry {
        registry: registry.to_string(),
    };
    let url = exchange_url(registry, escaped_name).ok_or_else(bad)?;
    let auth = Auth {
        header: Secret::new(format!("Bearer {}", id_token.expose())),
        origin: http::origin(&url).ok_or_else(bad)?,
        kind: AuthKind::TrustedPublishing,
    };
    let req = Request {
        method: "POST",
        url: url.clone(),
        headers: exchange_headers(auth_type, command),
        body: Some(&[]),
        auth: Some(&auth),
        spec: "the token exchange".into(),
    };
    let resp = match client.send(&req, observer) {
        Ok(r) => r,
        Err(RegistryError::Status {
            status,
            registry_message,
            ..
        }) => {
            return Err(ExchangeError::Refused {
                status,
                message: registry_message,
                url,
            })
        }
        Err(e) => {
            return Err(ExchangeError::Transport {
                url,
                message: e.to_string(),
            })
        }
    };
    let token = serde_json::from_slice::<serde_json::Value>(&resp.body)
        .ok()
        .and_then(|v| v.get("token").and_then(|t| t.as_str()).map(str::to_string))
        .filter(|t| !t.is_empty());
    match token {
        Some(t) => Ok(Secret::new(t)),
        None => Err(ExchangeError::NoToken {
            status: resp.status,
            url,
        }),
    }
}

/// The registry's `/-/package/<name>/visibility` (libnpmaccess
/// `getVisibility`): `Some(true)` when it answers `{"public": true}`.
pub fn package_visibility(
    client: &Client,
    registry: &str,
    escaped_name: &str,
    auth: Option<&Auth>,
    auth_type: &str,
    command: &str,
) -> Result<bool, String> {
    let url = format!(
        "{}/-/package/{escaped_name}/visibility",
        registry.trim_end_matches('/')
    );
    let req = Request {
        method: "GET",
        url: url.clone(),
        headers: vec![
            ("accept", "application/json".into()),
            ("npm-auth-type", auth_type.to_string()),
            // npm-registry-fetch names the command: `stage` for `npm stage publish`.
            ("npm-command", command.to_string()),
        ],
        body: None,
        auth,
        spec: "the package's visibility".into(),
    };
    match client.send_once(&req) {
        Ok(r) if r.status == 200 => serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v.get("public").and_then(|p| p.as_bool()))
            .ok_or_else(|| format!("GET {url} answered without a \"public\" field")),
        Ok(r) => Err(format!(
            "GET {url} answered {} {}",
            r.status,
            http::reason(r.status)
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_exchange_url_drops_the_registry_path() {
        assert_eq!(
            exchange_url("https://registry.npmjs.org/", "@scope%2fname").as_deref(),
            Some("https://registry.npmjs.org/-/npm/v1/oidc/token/exchange/package/@scope%2fname")
        );
        assert_eq!(
            exchange_url("http://127.0.0.1:4873/some/path/", "pkg").as_deref(),
            Some("http://127.0.0.1:4873/-/npm/v1/oidc/token/exchange/package/pkg")
        );
    }

    /// A client that does not retry, for tests that never reach a server.
    fn quick_client() -> Client {
        Client::new(
            "t".into(),
            crate::config::RetryPolicy {
                retries: 0,
                factor: 1.0,
                min_timeout: Duration::ZERO,
                max_timeout: Duration::ZERO,
                timeout: Some(Duration::from_secs(5)),
            },
        )
    }

    struct Nop;
    impl Observer for Nop {
        fn notice(&self, _: &str) {}
        fn retrying(&self, _: &str, _: u32, _: Duration) {}
    }

    #[test]
    fn an_oversized_or_multi_line_id_token_is_refused_before_any_request() {
        let client = quick_client();
        let big = format!("a.{}.c", "b".repeat(MAX_ID_TOKEN));
        for (token, words) in [
            (big.as_str(), "more than the 65536 bytes"),
            ("a.b\r\nX-Injected: 1.c", "line break"),
        ] {
            let env = Env::from_pairs([("NPM_ID_TOKEN", token)]);
            match id_token(
                &env,
                Provider::GitLab,
                "https://registry.npmjs.org/",
                &client,
                &Nop,
            ) {
                Err(e @ IdTokenError::Unusable { .. }) => {
                    let text = e.to_string();
                    assert!(
                        text.contains(words) && text.contains("NPM_ID_TOKEN"),
                        "{text}"
                    );
                    assert!(!text.contains("X-Injected"), "{text}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn npm_id_token_wins_and_missing_variables_are_named() {
        let client = quick_client();
        let env = Env::from_pairs([("NPM_ID_TOKEN", "a.b.c")]);
        let t = id_token(
            &env,
            Provider::GitLab,
            "https://registry.npmjs.org/",
            &client,
            &Nop,
        )
        .unwrap();
        assert_eq!(t.source, IdTokenSource::NpmIdToken);
        let env = Env::from_pairs([("ACTIONS_ID_TOKEN_REQUEST_URL", "https://x/")]);
        match id_token(
            &env,
            Provider::GitHubActions,
            "https://registry.npmjs.org/",
            &client,
            &Nop,
        ) {
            Err(IdTokenError::NoGitHubPermission { missing }) => {
                assert_eq!(missing, ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
            }
            other => panic!("{other:?}"),
        }
        match id_token(
            &Env::default(),
            Provider::CircleCi,
            "https://r/",
            &client,
            &Nop,
        ) {
            Err(IdTokenError::NoNpmIdToken { provider }) => {
                assert_eq!(provider, Provider::CircleCi)
            }
            other => panic!("{other:?}"),
        }
        let env = Env::from_pairs([
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://example.com/token"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "secret"),
        ]);
        assert!(matches!(
            id_token(&env, Provider::GitHubActions, "https://r/", &client, &Nop),
            Err(IdTokenError::BadRequestUrl { .. })
        ));
    }
}
