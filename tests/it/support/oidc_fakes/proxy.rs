//! [`ExchangeProxy`]: npmjs.com's OIDC token exchange, in front of the
//! real Verdaccio the publish tests use.
//!
//! What registry.npmjs.org does for
//! `POST /-/npm/v1/oidc/token/exchange/package/<escaped name>` with
//! `Authorization: Bearer <ID token>` and an empty body, and what the fake
//! does the same way:
//!
//! 1. Verifies the ID token: an RS256 JWT whose `iss` is a trusted issuer
//!    (GitHub Actions, GitLab.com, CircleCI; here: the issuers given to
//!    [`ExchangeProxy::start`]), signed by a key the issuer publishes (the
//!    fake fetches `<iss>/.well-known/openid-configuration`, then its
//!    `jwks_uri`, and caches the set; an unknown `kid` refetches once, as
//!    after a key rotation), not expired (`exp`), not used before `nbf` or
//!    issued in the future (`iat`) beyond 60 s of clock skew, and with
//!    `aud` = `npm:<registry hostname>` — `npm:127.0.0.1` here (a string,
//!    or an array containing it). Any failure: **401**
//!    [`messages::UNAUTHORIZED`].
//! 2. The package must exist (the fake asks Verdaccio for the packument),
//!    and its trusted publisher must match the claims exactly
//!    ([`super::policy`]). npmjs answers both failures the same way:
//!    **404** [`messages::PACKAGE_NOT_FOUND`]. The fake keeps the real
//!    reason in [`ExchangeProxy::exchanges`].
//! 3. Success: **201** `{"token": "<token>"}`. The token is short-lived
//!    and good for that one package only, and only for the actions the
//!    trust configuration allows. The fake mints a real Verdaccio token (a
//!    fresh Verdaccio user per exchange) and remembers which package,
//!    claims and actions it stands for ([`ExchangeProxy::grants`]).
//!
//! With an exchanged token, npmjs refuses a publish the configuration does
//! not allow with **403** [`messages::PERMISSION_DENIED`] — on the `PUT`,
//! after a successful exchange; that is what users report
//! (`403 Forbidden - PUT …/<pkg> - OIDC permission denied for this
//! action`). [`ActionCheck::AtExchange`] makes the fake refuse at the
//! exchange instead (by the `npm-command` header: `stage` or publish).
//! A `PUT` of *another* package gets **403** [`messages::publish_forbidden`].
//! OIDC tokens authorize only publish and stage publish: any other write,
//! and `GET /-/whoami`, gets 403 [`messages::PERMISSION_DENIED`] (the fake's
//! choice of status; npmjs's exact answer there is not documented).
//!
//! Also served by the fake, because Verdaccio lacks them:
//! `GET /-/package/<escaped>/visibility` → `{"public": bool}` (npm's
//! automatic-provenance check; [`ExchangeProxy::set_visibility`], default
//! public for an existing package, 404 otherwise), and
//! `POST /-/stage/package/<escaped>` (staged publish: recorded in
//! [`ExchangeProxy::staged`], answered `201 {"stageId": …}`).
//!
//! Everything else is forwarded to Verdaccio unchanged (method, target,
//! headers including `Authorization` and `Host`, body) with
//! `connection: close`, and the answer is streamed back; the client's
//! connection closes after a forwarded answer.
//!
//! Bounded: 127.0.0.1, OS-chosen port, at most [`MAX_CONNECTIONS`]
//! connections during at most [`LIFETIME`]; stops when dropped. Each
//! exchange creates one Verdaccio user, and Verdaccio's htpasswd allows
//! 1000 per test binary.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng as _;
use serde_json::{json, Map, Value};

use super::super::http::{
    self, find_header, path_of, percent_decode, serve_connection, write_response, Next, Request,
    Server,
};
use super::super::verdaccio;
use super::claims::uuid;
use super::issuer::{fetch_jwks, OidcIssuer};
use super::jwt::{self, now};
use super::policy::{Action, TrustPolicy};
use super::seed;
use super::Provider;

/// Connections the proxy accepts before it stops.
pub const MAX_CONNECTIONS: usize = 512;
/// How long the proxy accepts connections at most.
pub const LIFETIME: Duration = Duration::from_secs(900);
/// Requests served on one keep-alive connection at most.
const MAX_REQUESTS_PER_CONNECTION: usize = 64;
/// Clock skew tolerated for `nbf` and `iat`.
const LEEWAY_SECS: i64 = 60;
/// How long the proxy waits for Verdaccio between bytes.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// The error messages, worded as registry.npmjs.org words them.
pub mod messages {
    /// 401 from the exchange: bad, expired, wrong-audience or
    /// untrusted-issuer token (npm/cli#9203 shows this one).
    pub const UNAUTHORIZED: &str = "OIDC token exchange error - unauthorized";
    /// 404 from the exchange: the package does not exist, has no trusted
    /// publisher, or the publisher does not match the token (npmjs does not
    /// tell these apart: npm/cli#8678, JasperFx/jasperfx#866).
    pub const PACKAGE_NOT_FOUND: &str = "OIDC token exchange error - package not found";
    /// 403 for an action the trust configuration does not allow
    /// (webarkit/jsartoolkitNFT#620).
    pub const PERMISSION_DENIED: &str = "OIDC permission denied for this action";

    /// 403 for a `PUT` of a package the token does not cover (npm's
    /// classic E403 wording).
    pub fn publish_forbidden(name: &str) -> String {
        format!("You do not have permission to publish \"{name}\". Are you logged in as the correct user?")
    }
}

/// Where the proxy enforces the publish/stage permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionCheck {
    /// On the `PUT` / stage `POST` (what npmjs is seen doing). Default.
    AtUpload,
    /// At the exchange, by its `npm-command` header.
    AtExchange,
}

/// How the proxy handled a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Exchange,
    Visibility,
    Stage,
    /// Refused by the proxy because of an exchanged token's scope.
    Refused,
    Forwarded,
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    pub method: String,
    /// Path and query, e.g. `/@scope%2fname`.
    pub target: String,
    /// All headers, names in lower case (they include credentials: redact
    /// with [`ExchangeProxy::redact`]).
    pub headers: Vec<(String, String)>,
    pub body_len: usize,
    /// The status sent back (0 if the upstream failed before answering).
    pub status: u16,
    pub route: Route,
}

impl ProxyRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// Why an exchange ended as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Issued,
    NotPost,
    MissingToken,
    Malformed,
    UntrustedIssuer,
    KeysUnavailable,
    UnknownKid,
    BadSignature,
    Expired,
    NotYetValid,
    WrongAudience,
    PackageNotFound,
    NoTrustConfig,
    ClaimsMismatch,
    ActionNotAllowed,
    UpstreamError,
}

/// One exchange attempt.
#[derive(Debug, Clone)]
pub struct ExchangeRecord {
    /// The package named in the URL (unescaped).
    pub package: String,
    pub status: u16,
    pub outcome: Outcome,
    /// The specific reason (never sent to the client).
    pub detail: String,
    /// The token's claims, once its signature verified.
    pub claims: Option<Map<String, Value>>,
}

/// What an exchanged token stands for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub package: String,
    /// The Verdaccio token handed out (a secret).
    pub token: String,
    pub provider: Provider,
    pub claims: Map<String, Value>,
    pub allow_publish: bool,
    pub allow_stage: bool,
}

/// A staged publish the proxy accepted.
#[derive(Debug, Clone)]
pub struct Staged {
    pub package: String,
    pub stage_id: String,
    pub document: Value,
}

#[derive(Default)]
struct State {
    requests: Vec<ProxyRequest>,
    exchanges: Vec<ExchangeRecord>,
    policies: BTreeMap<String, TrustPolicy>,
    visibility: BTreeMap<String, bool>,
    grants: HashMap<String, Grant>,
    jwks: HashMap<String, Value>,
    staged: Vec<Staged>,
    /// `name@version` → the provenance bundle attached to its publish.
    attestations: BTreeMap<String, Value>,
    secrets: Vec<String>,
    action_check: Option<ActionCheck>,
    /// Packages whose next publishes fail (how many), without reaching
    /// Verdaccio: an injected upload failure.
    failing_puts: BTreeMap<String, u32>,
}

struct Inner {
    /// `http://127.0.0.1:<port>/`
    url: String,
    /// Verdaccio, `http://127.0.0.1:<port>/`
    upstream: String,
    issuers: Vec<(String, Provider)>,
    state: Mutex<State>,
    users: AtomicUsize,
}

/// The fake exchange in front of Verdaccio. See the module docs.
pub struct ExchangeProxy {
    inner: Arc<Inner>,
    _server: Server,
}

impl ExchangeProxy {
    /// A proxy in front of [`verdaccio::shared`] that trusts tokens from
    /// these issuers (each with its own provider flavour).
    pub fn start(issuers: &[&OidcIssuer]) -> ExchangeProxy {
        let trusted = issuers.iter().map(|i| (i.url(), i.provider())).collect();
        ExchangeProxy::start_trusting(trusted)
    }

    /// Like [`ExchangeProxy::start`] with explicit `(iss, provider)` pairs
    /// (e.g. an issuer URL that is not running).
    pub fn start_trusting(issuers: Vec<(String, Provider)>) -> ExchangeProxy {
        let upstream = verdaccio::shared().url.clone();
        let (server, inner) = Server::start_with(
            MAX_CONNECTIONS,
            LIFETIME,
            |server| Inner {
                url: server.url(),
                upstream,
                issuers,
                state: Mutex::new(State::default()),
                users: AtomicUsize::new(0),
            },
            |stream, inner, stop| {
                let _ = serve(stream, inner, stop);
            },
        );
        ExchangeProxy {
            inner,
            _server: server,
        }
    }

    /// `http://127.0.0.1:<port>/`: use it as the registry.
    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    /// The Verdaccio behind it.
    pub fn upstream(&self) -> String {
        self.inner.upstream.clone()
    }

    /// The audience tokens must carry: `npm:127.0.0.1`.
    pub fn audience(&self) -> String {
        "npm:127.0.0.1".to_string()
    }

    /// `<url>-/npm/v1/oidc/token/exchange/package/<escaped name>`.
    pub fn exchange_url(&self, package: &str) -> String {
        format!(
            "{}-/npm/v1/oidc/token/exchange/package/{}",
            self.inner.url,
            seed::escape_name(package)
        )
    }

    /// Sets the package's trusted publisher (npm allows one; this replaces
    /// any earlier one).
    pub fn trust(&self, package: &str, policy: TrustPolicy) {
        let mut st = self.inner.state.lock().unwrap();
        st.policies.insert(package.to_string(), policy);
    }

    /// Removes the package's trusted publisher.
    pub fn untrust(&self, package: &str) {
        self.inner.state.lock().unwrap().policies.remove(package);
    }

    /// What `GET /-/package/<name>/visibility` answers.
    pub fn set_visibility(&self, package: &str, public: bool) {
        let mut st = self.inner.state.lock().unwrap();
        st.visibility.insert(package.to_string(), public);
    }

    /// The next `count` publishes (PUTs) of `package` are answered 400
    /// and never reach Verdaccio: an upload that fails after every check
    /// passed.
    pub fn fail_puts(&self, package: &str, count: u32) {
        let mut st = self.inner.state.lock().unwrap();
        st.failing_puts.insert(package.to_string(), count);
    }

    pub fn set_action_check(&self, check: ActionCheck) {
        self.inner.state.lock().unwrap().action_check = Some(check);
    }

    /// Publishes `name@version` straight to Verdaccio with an ordinary
    /// token ([`seed::seed_package`]): the package then exists.
    pub fn seed(&self, name: &str, version: &str) {
        seed::seed_package(name, version);
    }

    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.inner.state.lock().unwrap().requests.clone()
    }

    /// `METHOD target -> status` lines, safe to print.
    pub fn summary(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| format!("{} {} -> {}", r.method, r.target, r.status))
            .collect()
    }

    pub fn exchanges(&self) -> Vec<ExchangeRecord> {
        self.inner.state.lock().unwrap().exchanges.clone()
    }

    /// The most recent exchange (panics if there was none).
    pub fn last_exchange(&self) -> ExchangeRecord {
        self.exchanges().pop().expect("no exchange yet")
    }

    pub fn grants(&self) -> Vec<Grant> {
        self.inner
            .state
            .lock()
            .unwrap()
            .grants
            .values()
            .cloned()
            .collect()
    }

    pub fn staged(&self) -> Vec<Staged> {
        self.inner.state.lock().unwrap().staged.clone()
    }

    /// Every credential the proxy has seen or issued.
    pub fn secrets(&self) -> Vec<String> {
        let mut v = self.inner.state.lock().unwrap().secrets.clone();
        v.push(seed::seed_token().to_string());
        v
    }

    /// `s` with every secret replaced by `<secret>`.
    pub fn redact(&self, s: &str) -> String {
        let mut secrets = self.secrets();
        secrets.sort_by_key(|x| std::cmp::Reverse(x.len()));
        let mut out = s.to_string();
        for t in secrets.iter().filter(|t| t.len() >= 8) {
            out = out.replace(t.as_str(), "<secret>");
        }
        out
    }
}

/// The package named by a path segment (`@scope%2fname` or `name`).
fn package_of(segment: &str) -> String {
    percent_decode(segment)
}

fn bearer(req: &Request) -> Option<String> {
    let v = req.header("authorization")?;
    let (scheme, cred) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| cred.trim().to_string())
        .filter(|c| !c.is_empty())
}

fn json_body(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn serve(stream: TcpStream, inner: &Inner, stop: &AtomicBool) -> io::Result<()> {
    serve_connection(stream, stop, MAX_REQUESTS_PER_CONNECTION, |req, writer| {
        if let Some(t) = bearer(&req) {
            let mut st = inner.state.lock().unwrap();
            if !st.secrets.contains(&t) {
                st.secrets.push(t);
            }
        }
        let path = path_of(&req.url).to_string();
        let local = if let Some(seg) = path.strip_prefix("/-/npm/v1/oidc/token/exchange/package/") {
            Some((Route::Exchange, exchange(inner, &req, &package_of(seg))))
        } else if let Some(seg) = path
            .strip_prefix("/-/package/")
            .and_then(|p| p.strip_suffix("/visibility"))
        {
            Some((Route::Visibility, visibility(inner, &req, &package_of(seg))))
        } else if let Some(seg) = path.strip_prefix("/-/stage/package/") {
            Some((Route::Stage, stage(inner, &req, &package_of(seg))))
        } else if let Some(spec) = path.strip_prefix("/-/npm/v1/attestations/") {
            Some((Route::Forwarded, attestations(inner, &package_of(spec))))
        } else {
            scope_refusal(inner, &req, &path)
                .or_else(|| injected_put_failure(inner, &req, &path))
                .map(|r| (Route::Refused, r))
        };
        let record = |status: u16, route: Route| ProxyRequest {
            method: req.method.clone(),
            target: req.url.clone(),
            headers: req.headers.clone(),
            body_len: req.body.len(),
            status,
            route,
        };
        match local {
            Some((route, (status, body))) => {
                inner
                    .state
                    .lock()
                    .unwrap()
                    .requests
                    .push(record(status, route));
                write_response(writer, status, &[], &body, true)?;
                Ok(Next::KeepAlive)
            }
            None => {
                // The registry keeps a publish's provenance itself; Verdaccio
                // accepts exactly one attachment, the tarball.
                let (upstream_req, attestation) = split_attestation(req.clone());
                let status = forward(&upstream_req, writer, &inner.upstream).unwrap_or(0);
                if let Some((spec, bundle)) = attestation.filter(|_| (200..300).contains(&status)) {
                    inner
                        .state
                        .lock()
                        .unwrap()
                        .attestations
                        .insert(spec, bundle);
                }
                inner
                    .state
                    .lock()
                    .unwrap()
                    .requests
                    .push(record(status, Route::Forwarded));
                Ok(Next::Close)
            }
        }
    })
}

/// Takes the `.sigstore` attachment out of a publish document: the request
/// without it, and (`name@version`, the bundle) to keep once the publish
/// succeeds — as the registry keeps provenance and serves it from
/// `/-/npm/v1/attestations/`.
fn split_attestation(mut req: Request) -> (Request, Option<(String, Value)>) {
    if req.method != "PUT" {
        return (req, None);
    }
    let Ok(mut doc) = serde_json::from_slice::<Value>(&req.body) else {
        return (req, None);
    };
    let name = doc
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(atts) = doc.get_mut("_attachments").and_then(Value::as_object_mut) else {
        return (req, None);
    };
    let Some(key) = atts.keys().find(|k| k.ends_with(".sigstore")).cloned() else {
        return (req, None);
    };
    let att = atts.remove(&key).unwrap_or_default();
    let version = key
        .trim_end_matches(".sigstore")
        .strip_prefix(&format!("{name}-"))
        .unwrap_or_default()
        .to_string();
    let bundle = att
        .get("data")
        .and_then(Value::as_str)
        .and_then(|d| serde_json::from_str::<Value>(d).ok());
    req.body = serde_json::to_vec(&doc).unwrap_or_default();
    (req, bundle.map(|b| (format!("{name}@{version}"), b)))
}

/// `GET /-/npm/v1/attestations/<name>@<version>`, as the registry serves
/// provenance: `{"attestations": [{"predicateType", "bundle"}]}`.
fn attestations(inner: &Inner, spec: &str) -> (u16, Vec<u8>) {
    match inner.state.lock().unwrap().attestations.get(spec) {
        Some(bundle) => (
            200,
            json_body(serde_json::json!({"attestations": [{
                "predicateType": "https://slsa.dev/provenance/v1",
                "bundle": bundle,
            }]})),
        ),
        None => (404, json_body(serde_json::json!({"error": "not found"}))),
    }
}

/// The exchange endpoint; `(status, body)`.
fn exchange(inner: &Inner, req: &Request, package: &str) -> (u16, Vec<u8>) {
    let (status, outcome, detail, claims, body) = exchange_inner(inner, req, package);
    inner.state.lock().unwrap().exchanges.push(ExchangeRecord {
        package: package.to_string(),
        status,
        outcome,
        detail,
        claims,
    });
    (status, body)
}

type ExchangeResult = (u16, Outcome, String, Option<Map<String, Value>>, Vec<u8>);

fn exchange_inner(inner: &Inner, req: &Request, package: &str) -> ExchangeResult {
    let fail =
        |status: u16, outcome: Outcome, detail: String, claims: Option<Map<String, Value>>| {
            let message = match status {
                401 => messages::UNAUTHORIZED,
                403 => messages::PERMISSION_DENIED,
                404 => messages::PACKAGE_NOT_FOUND,
                _ => "OIDC token exchange error",
            };
            let body = json_body(json!({ "message": message }));
            (status, outcome, detail, claims, body)
        };
    let unauthorized = |outcome: Outcome, detail: String| fail(401, outcome, detail, None);

    if req.method != "POST" {
        return fail(
            405,
            Outcome::NotPost,
            format!("{} is not POST", req.method),
            None,
        );
    }
    let Some(token) = bearer(req) else {
        return unauthorized(Outcome::MissingToken, "no bearer token".into());
    };
    let decoded = match jwt::decode(&token) {
        Ok(d) => d,
        Err(e) => return unauthorized(Outcome::Malformed, e),
    };
    if decoded.header.get("alg") != Some(&json!("RS256")) {
        return unauthorized(
            Outcome::Malformed,
            format!("alg {:?}", decoded.header.get("alg")),
        );
    }
    let iss = decoded
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(provider) = inner
        .issuers
        .iter()
        .find(|(u, _)| *u == iss)
        .map(|(_, p)| *p)
    else {
        return unauthorized(
            Outcome::UntrustedIssuer,
            format!("iss {iss:?} is not trusted"),
        );
    };
    let kid = decoded
        .header
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let jwks = match keys_for(inner, &iss, &kid) {
        Ok(j) => j,
        Err(e) => return unauthorized(Outcome::KeysUnavailable, e),
    };
    let Some(jwk) = jwks["keys"]
        .as_array()
        .and_then(|ks| ks.iter().find(|k| k["kid"] == kid.as_str()))
    else {
        return unauthorized(
            Outcome::UnknownKid,
            format!("kid {kid:?} is not in {iss}'s JWKS"),
        );
    };
    if let Err(e) = jwt::verify_rs256(jwk, decoded.signing_input.as_bytes(), &decoded.signature) {
        return unauthorized(Outcome::BadSignature, e);
    }
    let claims = decoded.claims;
    let t = now();
    let num = |k: &str| claims.get(k).and_then(Value::as_i64);
    match num("exp") {
        Some(exp) if exp > t => {}
        Some(exp) => {
            return unauthorized(Outcome::Expired, format!("exp {exp} is {} s ago", t - exp))
        }
        None => return unauthorized(Outcome::Malformed, "no numeric exp".into()),
    }
    if let Some(nbf) = num("nbf").filter(|&n| n > t + LEEWAY_SECS) {
        return unauthorized(Outcome::NotYetValid, format!("nbf {nbf} is in the future"));
    }
    match num("iat") {
        Some(iat) if iat > t + LEEWAY_SECS => {
            return unauthorized(Outcome::NotYetValid, format!("iat {iat} is in the future"))
        }
        Some(_) => {}
        None => return unauthorized(Outcome::Malformed, "no numeric iat".into()),
    }
    let want_aud = "npm:127.0.0.1";
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == want_aud,
        Some(Value::Array(a)) => a.iter().any(|x| x == want_aud),
        _ => false,
    };
    if !aud_ok {
        return unauthorized(
            Outcome::WrongAudience,
            format!("aud {:?}, expected {want_aud:?}", claims.get("aud")),
        );
    }
    match package_exists(inner, package) {
        Ok(true) => {}
        Ok(false) => {
            return fail(
                404,
                Outcome::PackageNotFound,
                format!("{package} is not in the registry"),
                Some(claims),
            )
        }
        Err(e) => return fail(502, Outcome::UpstreamError, e, Some(claims)),
    }
    let (policy, check) = {
        let st = inner.state.lock().unwrap();
        (
            st.policies.get(package).cloned(),
            st.action_check.unwrap_or(ActionCheck::AtUpload),
        )
    };
    let Some(policy) = policy else {
        return fail(
            404,
            Outcome::NoTrustConfig,
            format!("{package} has no trusted publisher"),
            Some(claims),
        );
    };
    if let Err(why) = policy.check(provider, &claims) {
        return fail(404, Outcome::ClaimsMismatch, why, Some(claims));
    }
    if check == ActionCheck::AtExchange {
        let action = match req.header("npm-command") {
            Some("stage") => Action::Stage,
            _ => Action::Publish,
        };
        if !policy.allows(action) {
            return fail(
                403,
                Outcome::ActionNotAllowed,
                format!("{action:?} is not allowed for {package}"),
                Some(claims),
            );
        }
    }
    let token = match mint_verdaccio_token(inner) {
        Ok(t) => t,
        Err(e) => return fail(502, Outcome::UpstreamError, e, Some(claims)),
    };
    let mut st = inner.state.lock().unwrap();
    st.secrets.push(token.clone());
    st.grants.insert(
        token.clone(),
        Grant {
            package: package.to_string(),
            token: token.clone(),
            provider,
            claims: claims.clone(),
            allow_publish: policy.allow_publish,
            allow_stage: policy.allow_stage,
        },
    );
    (
        201,
        Outcome::Issued,
        String::new(),
        Some(claims),
        json_body(json!({ "token": token })),
    )
}

/// The issuer's JWKS, from the cache, fetched if missing or if it lacks
/// `kid` (once). The lock is not held while fetching.
fn keys_for(inner: &Inner, iss: &str, kid: &str) -> Result<Value, String> {
    let cached = inner.state.lock().unwrap().jwks.get(iss).cloned();
    if let Some(j) = &cached {
        let has_kid = j["keys"]
            .as_array()
            .is_some_and(|ks| ks.iter().any(|k| k["kid"] == kid));
        if has_kid {
            return Ok(j.clone());
        }
    }
    let fresh = fetch_jwks(iss)?;
    inner
        .state
        .lock()
        .unwrap()
        .jwks
        .insert(iss.to_string(), fresh.clone());
    Ok(fresh)
}

fn package_exists(inner: &Inner, package: &str) -> Result<bool, String> {
    let url = format!("{}{}", inner.upstream, seed::escape_name(package));
    let r = http::request("GET", &url, &[("accept", "application/json")], b"")
        .map_err(|e| format!("GET {url}: {e}"))?;
    match r.status {
        200 => Ok(true),
        404 => Ok(false),
        s => Err(format!("GET {url}: {s} {}", r.text())),
    }
}

/// Creates a fresh Verdaccio user and returns its token.
fn mint_verdaccio_token(inner: &Inner) -> Result<String, String> {
    let n = inner.users.fetch_add(1, Ordering::SeqCst);
    let mut rng = rand::thread_rng();
    let name = format!(
        "oidc-{}-{n}-{}",
        std::process::id(),
        hex::encode(rng.gen::<[u8; 4]>())
    );
    let password = hex::encode(rng.gen::<[u8; 16]>());
    let body = json!({ "name": name, "password": password }).to_string();
    let url = format!("{}-/user/org.couchdb.user:{name}", inner.upstream);
    let r = http::request(
        "PUT",
        &url,
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .map_err(|e| format!("PUT {url}: {e}"))?;
    if r.status != 201 && r.status != 200 {
        return Err(format!(
            "creating Verdaccio user {name}: {} {}",
            r.status,
            r.text()
        ));
    }
    r.json()["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("Verdaccio gave no token: {}", r.text()))
}

fn visibility(inner: &Inner, req: &Request, package: &str) -> (u16, Vec<u8>) {
    if req.method != "GET" {
        return (405, json_body(json!({ "message": "Method Not Allowed" })));
    }
    let configured = inner.state.lock().unwrap().visibility.get(package).copied();
    let public = match configured {
        Some(p) => p,
        None => match package_exists(inner, package) {
            Ok(true) => true,
            Ok(false) => return (404, json_body(json!({ "message": "Not Found" }))),
            Err(e) => return (502, json_body(json!({ "message": e }))),
        },
    };
    (200, json_body(json!({ "public": public })))
}

fn grant_of(inner: &Inner, req: &Request) -> Option<Grant> {
    let t = bearer(req)?;
    inner.state.lock().unwrap().grants.get(&t).cloned()
}

fn denied() -> (u16, Vec<u8>) {
    (
        403,
        json_body(json!({ "message": messages::PERMISSION_DENIED })),
    )
}

/// `POST /-/stage/package/<name>`.
fn stage(inner: &Inner, req: &Request, package: &str) -> (u16, Vec<u8>) {
    if req.method != "POST" {
        return (405, json_body(json!({ "message": "Method Not Allowed" })));
    }
    match grant_of(inner, req) {
        Some(g) if g.package != package => {
            return (
                403,
                json_body(json!({ "message": messages::publish_forbidden(package) })),
            )
        }
        Some(g) if !g.allow_stage => return denied(),
        Some(_) => {}
        None => {
            // An ordinary token: ask Verdaccio whose it is.
            let auth = req.header("authorization").unwrap_or("");
            let who = http::request(
                "GET",
                &format!("{}-/whoami", inner.upstream),
                &[("authorization", auth), ("accept", "application/json")],
                b"",
            );
            if !matches!(&who, Ok(r) if r.status == 200 && r.json()["username"].is_string()) {
                return (401, json_body(json!({ "message": "Unauthorized" })));
            }
        }
    }
    let doc: Value = match serde_json::from_slice(&req.body) {
        Ok(d) => d,
        Err(_) => return (400, json_body(json!({ "message": "body is not JSON" }))),
    };
    if doc["name"] != package {
        return (
            400,
            json_body(json!({ "message": "name does not match the URL" })),
        );
    }
    let stage_id = uuid();
    inner.state.lock().unwrap().staged.push(Staged {
        package: package.to_string(),
        stage_id: stage_id.clone(),
        document: doc,
    });
    (201, json_body(json!({ "stageId": stage_id })))
}

/// Refuses what an exchanged token does not cover; `None` lets the
/// request through (ordinary tokens are Verdaccio's business).
fn scope_refusal(inner: &Inner, req: &Request, path: &str) -> Option<(u16, Vec<u8>)> {
    let grant = grant_of(inner, req)?;
    let method = req.method.as_str();
    if path == "/-/whoami" {
        return Some(denied());
    }
    if method == "GET" || method == "HEAD" {
        return None;
    }
    let segment = path.strip_prefix('/').unwrap_or(path);
    let is_package_put = method == "PUT"
        && !segment.is_empty()
        && !segment.starts_with('-')
        && !segment.contains('/');
    if !is_package_put {
        return Some(denied());
    }
    let name = package_of(segment);
    if name != grant.package {
        return Some((
            403,
            json_body(json!({ "message": messages::publish_forbidden(&name) })),
        ));
    }
    if !grant.allow_publish {
        return Some(denied());
    }
    None
}

/// A PUT of a package [`ExchangeProxy::fail_puts`] named, while its count
/// lasts.
fn injected_put_failure(inner: &Inner, req: &Request, path: &str) -> Option<(u16, Vec<u8>)> {
    if req.method != "PUT" {
        return None;
    }
    let name = package_of(path.strip_prefix('/').unwrap_or(path));
    let mut st = inner.state.lock().unwrap();
    let left = st.failing_puts.get_mut(&name)?;
    if *left == 0 {
        return None;
    }
    *left -= 1;
    Some((
        400,
        json_body(json!({ "error": "injected upload failure (test)" })),
    ))
}

/// Sends `req` to the upstream and streams its answer to `client`.
/// Returns the upstream status.
fn forward(req: &Request, client: &mut TcpStream, upstream: &str) -> io::Result<u16> {
    let hostport = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut up = TcpStream::connect(&hostport)?;
    up.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
    up.set_write_timeout(Some(UPSTREAM_TIMEOUT))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.url);
    const HOP: &[&str] = &[
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "content-length",
        "te",
        "upgrade",
        "expect",
    ];
    for (k, v) in &req.headers {
        if !HOP.contains(&k.as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !req.body.is_empty() || req.header("content-length").is_some() {
        head.push_str(&format!("content-length: {}\r\n", req.body.len()));
    }
    head.push_str("connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    up.flush()?;

    let mut reader = BufReader::new(up);
    let (status_line, headers) = match http::read_head(&mut reader) {
        Ok(h) => h,
        Err(e) => {
            let body = json_body(json!({ "message": format!("upstream: {e}") }));
            write_response(client, 502, &[], &body, false)?;
            return Ok(502);
        }
    };
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut out = format!("{status_line}\r\n");
    for (k, v) in &headers {
        if k != "connection" && k != "keep-alive" {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str("connection: close\r\n\r\n");
    client.write_all(out.as_bytes())?;
    // The upstream closes after the body (`connection: close`), whatever
    // its framing; the bytes go through as they are.
    io::copy(&mut reader, client)?;
    client.flush()?;
    Ok(status)
}
