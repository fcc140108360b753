//! [`OidcIssuer`]: a fake OIDC identity provider that behaves like GitHub
//! Actions' token service (and, with other claims, GitLab's or CircleCI's).
//!
//! What the real GitHub service does, and the fake with it:
//!
//! * Discovery: `GET <issuer>/.well-known/openid-configuration` names the
//!   `issuer` (exactly the `iss` of its tokens) and the `jwks_uri`
//!   (`<issuer>/.well-known/jwks`), which lists the RSA signing keys as JWKs.
//!   Verifiers such as the npm registry fetch keys that way.
//! * The runner gets `ACTIONS_ID_TOKEN_REQUEST_URL` (a URL with a query,
//!   e.g. `…?api-version=2.0`) and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`. A job
//!   asks for an ID token with `GET <url>&audience=<aud>` and
//!   `Authorization: Bearer <request token>`; the answer is
//!   `{"count":…,"value":"<JWT>"}`. The `audience` becomes `aud`; without
//!   it `aud` is the repository owner's URL (`https://github.com/<owner>`).
//!   Here [`OidcIssuer::request_url`] is `<issuer>/token?api-version=2.0`,
//!   and a missing or wrong bearer token gets a 401 JSON error.
//! * Tokens are RS256 JWTs with header `{alg, typ: JWT, kid}`, signed with
//!   RSASSA-PKCS1-v1_5 SHA-256. The claims describe the job: see
//!   [`super::claims`]. The fake's job is [`OidcIssuer::set_job`]; every
//!   `/token` answer is that claim set with a fresh `jti`, `iat`, `nbf` and
//!   `exp` and the requested `aud`.
//!
//! GitLab and CircleCI hand the job its token in an environment variable
//! instead (npm reads `NPM_ID_TOKEN`); for those, sign claims directly with
//! [`OidcIssuer::mint`]. The discovery and JWKS endpoints are the same.
//!
//! Faults for the token endpoint are scripted with
//! [`OidcIssuer::push_faults`] (each `/token` request takes the next one
//! before normal service) and [`OidcIssuer::deny_all`] (403 for every
//! `/token` request, as when the service refuses the job).
//!
//! Bounded like the other fakes: 127.0.0.1, OS-chosen port, at most
//! [`MAX_CONNECTIONS`] connections during at most [`LIFETIME`]; stops when
//! dropped.

use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng as _;
use serde_json::{json, Map, Value};

use super::super::http::{
    self, path_of, query_param, serve_connection, stall, write_response, Next, Request, Server,
};
use super::claims::{uuid, CircleciClaims, GithubClaims, GitlabClaims};
use super::jwt::{now, JwtKey};
use super::Provider;

/// Connections the issuer accepts before it stops.
pub const MAX_CONNECTIONS: usize = 256;
/// How long the issuer accepts connections at most.
pub const LIFETIME: Duration = Duration::from_secs(900);
/// Requests served on one keep-alive connection at most.
const MAX_REQUESTS_PER_CONNECTION: usize = 64;

/// One scripted answer of the `/token` endpoint.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status with a small JSON error body.
    Status(u16),
    /// This status and body (sent as `application/json`).
    Body(u16, String),
    /// `200 {"count":…}`: a success without `value`.
    MissingValue,
    /// Close the connection without answering.
    Hangup,
    /// Wait this long (at most 30 s), then serve normally.
    Stall(Duration),
}

struct State {
    requests: Vec<Request>,
    faults: VecDeque<Fault>,
    deny: bool,
    job: Map<String, Value>,
    issued: u64,
}

struct Inner {
    url: String,
    kid: String,
    key: &'static JwtKey,
    request_token: String,
    provider: Provider,
    state: Mutex<State>,
}

/// The fake identity provider. See the module docs.
pub struct OidcIssuer {
    inner: Arc<Inner>,
    // Dropped after `inner`'s other users: stops the server.
    _server: Server,
}

impl OidcIssuer {
    /// A GitHub Actions issuer with [`JwtKey::shared`].
    pub fn github() -> OidcIssuer {
        OidcIssuer::start(Provider::GitHub, JwtKey::shared())
    }

    /// A GitLab issuer (tokens via [`OidcIssuer::mint`]).
    pub fn gitlab() -> OidcIssuer {
        OidcIssuer::start(Provider::GitLab, JwtKey::shared())
    }

    /// A CircleCI issuer (tokens via [`OidcIssuer::mint`]).
    pub fn circleci() -> OidcIssuer {
        OidcIssuer::start(Provider::CircleCi, JwtKey::shared())
    }

    /// An issuer of `provider`'s flavour signing with `key`. Its `kid` is
    /// random, so two issuers never accept each other's tokens.
    pub fn start(provider: Provider, key: &'static JwtKey) -> OidcIssuer {
        let mut rng = rand::thread_rng();
        let kid = hex::encode(rng.gen::<[u8; 16]>()).to_ascii_uppercase();
        let request_token = format!(
            "ghs_FakeIdTokenRequest{}",
            hex::encode(rng.gen::<[u8; 20]>())
        );
        // The URL is known only once the port is: the state is built right
        // after the server starts.
        let (server, inner) = Server::start_with(
            MAX_CONNECTIONS,
            LIFETIME,
            |server| {
                let url = server.origin();
                let job = GithubClaims::new(&url, "trustpub-it", "demo", "release.yml").build();
                Inner {
                    url,
                    kid,
                    key,
                    request_token,
                    provider,
                    state: Mutex::new(State {
                        requests: Vec::new(),
                        faults: VecDeque::new(),
                        deny: false,
                        job,
                        issued: 0,
                    }),
                }
            },
            |stream, inner, stop| {
                let _ = serve(stream, inner, stop);
            },
        );
        OidcIssuer {
            inner,
            _server: server,
        }
    }

    /// `http://127.0.0.1:<port>`: the `iss` of every token, without a
    /// trailing slash (like `https://token.actions.githubusercontent.com`).
    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    /// The value for `ACTIONS_ID_TOKEN_REQUEST_URL`.
    pub fn request_url(&self) -> String {
        format!("{}/token?api-version=2.0", self.inner.url)
    }

    /// The value for `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (a secret).
    pub fn request_token(&self) -> String {
        self.inner.request_token.clone()
    }

    pub fn kid(&self) -> String {
        self.inner.kid.clone()
    }

    pub fn provider(&self) -> Provider {
        self.inner.provider
    }

    /// The JWKS document the issuer serves.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.inner.key.public_jwk(&self.inner.kid)] })
    }

    /// Every request received, in order (headers include the bearer token:
    /// redact [`OidcIssuer::secrets`] before printing).
    pub fn requests(&self) -> Vec<Request> {
        self.inner.state.lock().unwrap().requests.clone()
    }

    /// The requests to the token endpoint only.
    pub fn token_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| path_of(&r.url) == "/token")
            .collect()
    }

    /// The secrets this issuer knows (the request token).
    pub fn secrets(&self) -> Vec<String> {
        vec![self.inner.request_token.clone()]
    }

    /// Signs `claims` as they are, with this issuer's key and `kid`.
    pub fn mint(&self, claims: &Map<String, Value>) -> String {
        self.inner.key.sign(&self.inner.kid, claims)
    }

    /// Signs `claims` with another key but this issuer's `kid` (a forgery:
    /// the signature does not verify against the issuer's JWKS).
    pub fn mint_with_key(&self, claims: &Map<String, Value>, key: &JwtKey) -> String {
        key.sign(&self.inner.kid, claims)
    }

    /// GitHub claims with `iss` = this issuer.
    pub fn github_claims(&self, owner: &str, repo: &str, workflow_file: &str) -> GithubClaims {
        GithubClaims::new(&self.inner.url, owner, repo, workflow_file)
    }

    /// GitLab claims with `iss` = this issuer.
    pub fn gitlab_claims(&self, namespace: &str, project: &str, ci_file: &str) -> GitlabClaims {
        GitlabClaims::new(&self.inner.url, namespace, project, ci_file)
    }

    /// CircleCI claims with `iss` = this issuer.
    pub fn circleci_claims(
        &self,
        org_id: &str,
        project_id: &str,
        vcs_origin: &str,
    ) -> CircleciClaims {
        CircleciClaims::new(&self.inner.url, org_id, project_id, vcs_origin)
    }

    /// The claims `/token` answers with (before `aud` and the times are
    /// filled in). Default: `github_claims("trustpub-it", "demo", "release.yml")`.
    pub fn set_job(&self, claims: Map<String, Value>) {
        self.inner.state.lock().unwrap().job = claims;
    }

    pub fn job(&self) -> Map<String, Value> {
        self.inner.state.lock().unwrap().job.clone()
    }

    /// Queues answers for the next `/token` requests, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.inner.state.lock().unwrap().faults.extend(faults);
    }

    /// Answer every `/token` request with 403 (after any queued faults).
    pub fn deny_all(&self, deny: bool) {
        self.inner.state.lock().unwrap().deny = deny;
    }
}

enum Answer {
    Reply(u16, Vec<u8>),
    Hangup,
}

fn error(status: u16, message: &str) -> Answer {
    Answer::Reply(
        status,
        json!({ "message": message }).to_string().into_bytes(),
    )
}

fn serve(stream: TcpStream, inner: &Inner, stop: &AtomicBool) -> io::Result<()> {
    serve_connection(stream, stop, MAX_REQUESTS_PER_CONNECTION, |req, w| {
        inner.state.lock().unwrap().requests.push(req.clone());
        match answer(&req, inner, stop) {
            Answer::Reply(status, body) => {
                write_response(w, status, &[], &body, true)?;
                Ok(Next::KeepAlive)
            }
            Answer::Hangup => Ok(Next::Close),
        }
    })
}

fn answer(req: &Request, inner: &Inner, stop: &AtomicBool) -> Answer {
    let path = path_of(&req.url);
    match (req.method.as_str(), path) {
        ("GET", "/.well-known/openid-configuration") => {
            let doc = json!({
                "issuer": inner.url,
                "jwks_uri": format!("{}/.well-known/jwks", inner.url),
                "subject_types_supported": ["public", "pairwise"],
                "response_types_supported": ["id_token"],
                "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref",
                    "repository", "repository_id", "repository_owner", "repository_owner_id",
                    "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow",
                    "workflow_ref", "workflow_sha", "head_ref", "base_ref", "event_name",
                    "ref_type", "environment", "job_workflow_ref", "job_workflow_sha",
                    "repository_visibility", "runner_environment"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid"],
            });
            Answer::Reply(200, doc.to_string().into_bytes())
        }
        ("GET", "/.well-known/jwks") => {
            let jwks = json!({ "keys": [inner.key.public_jwk(&inner.kid)] });
            Answer::Reply(200, jwks.to_string().into_bytes())
        }
        (_, "/token") => token(req, inner, stop),
        _ => error(404, "Not Found"),
    }
}

/// The `ACTIONS_ID_TOKEN_REQUEST_URL` endpoint.
fn token(req: &Request, inner: &Inner, stop: &AtomicBool) -> Answer {
    let (fault, deny) = {
        let mut st = inner.state.lock().unwrap();
        (st.faults.pop_front(), st.deny)
    };
    match fault {
        Some(Fault::Status(s)) => return error(s, &format!("scripted {s}")),
        Some(Fault::Body(s, body)) => return Answer::Reply(s, body.into_bytes()),
        Some(Fault::MissingValue) => {
            let count = inner.state.lock().unwrap().issued;
            return Answer::Reply(200, json!({ "count": count }).to_string().into_bytes());
        }
        Some(Fault::Hangup) => return Answer::Hangup,
        Some(Fault::Stall(d)) => stall(d, stop),
        None => {}
    }
    if deny {
        return error(403, "Resource not accessible by integration");
    }
    if req.method != "GET" {
        return error(405, "Method Not Allowed");
    }
    let authorized = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, cred)| {
            scheme.eq_ignore_ascii_case("bearer") && cred.trim() == inner.request_token
        });
    if !authorized {
        return error(401, "Unauthorized: a valid bearer token is required");
    }
    let mut st = inner.state.lock().unwrap();
    let mut claims = st.job.clone();
    let aud = match query_param(&req.url, "audience") {
        Some(a) => a,
        None => {
            let owner = claims
                .get("repository_owner")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            format!("https://github.com/{owner}")
        }
    };
    let iat = now();
    claims.insert("aud".into(), json!(aud));
    claims.insert("jti".into(), json!(uuid()));
    claims.insert("iat".into(), json!(iat));
    claims.insert("nbf".into(), json!(iat - 600));
    claims.insert("exp".into(), json!(iat + 300));
    st.issued += 1;
    let count = st.issued;
    drop(st);
    let value = inner.key.sign(&inner.kid, &claims);
    Answer::Reply(
        200,
        json!({ "count": count, "value": value })
            .to_string()
            .into_bytes(),
    )
}

/// Fetches the issuer's discovery document and JWKS over HTTP, as a
/// verifier does. Used by the proxy and the self-tests.
pub fn fetch_jwks(issuer: &str) -> Result<Value, String> {
    let conf_url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let conf = http::request("GET", &conf_url, &[("accept", "application/json")], b"")
        .map_err(|e| format!("GET {conf_url}: {e}"))?;
    if conf.status != 200 {
        return Err(format!("GET {conf_url}: {}", conf.status));
    }
    let conf = conf.json();
    if conf["issuer"] != issuer {
        return Err(format!(
            "discovery names issuer {}, expected {issuer}",
            conf["issuer"]
        ));
    }
    let jwks_uri = conf["jwks_uri"]
        .as_str()
        .ok_or("discovery document has no jwks_uri")?;
    let jwks = http::request("GET", jwks_uri, &[("accept", "application/json")], b"")
        .map_err(|e| format!("GET {jwks_uri}: {e}"))?;
    if jwks.status != 200 || !jwks.json()["keys"].is_array() {
        return Err(format!("GET {jwks_uri}: {} {}", jwks.status, jwks.text()));
    }
    Ok(jwks.json())
}
