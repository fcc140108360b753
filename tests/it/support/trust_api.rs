//! A fake of the npm registry's trusted-publisher configuration API (the
//! endpoints `npm trust` of npm 11.19.1 calls), on 127.0.0.1, that records
//! every request and enforces what the real service enforces, as far as it
//! is documented (`npm-trust.md`, docs.npmjs.com "trusted publishers") or
//! visible in npm's own code (`lib/trust-cmd.js`, `lib/commands/trust/*`):
//!
//! * `GET /-/package/<escapedName>/trust` → `200` with the package's
//!   configurations, `[{id, type, claims, permissions}]` (`[]` when none);
//! * `POST /-/package/<escapedName>/trust` with a JSON array of exactly one
//!   `{type, claims, permissions}` → `201` with the created configuration,
//!   in an array, with a fresh UUID-shaped `id`;
//! * `DELETE /-/package/<escapedName>/trust/<encodeURIComponent(id)>` →
//!   `204` (an unknown id → `404`).
//!
//! With [`Options::base_path`] the paths are under it (`/npm/-/package/…`),
//! as npm joins a registry URL that has a path.
//!
//! `<escapedName>` is npm-package-arg's: `@scope%2fname` for a scoped name
//! (an unescaped `@scope/name` is not a package path here, so it is a 404).
//!
//! What is enforced, in this order (the real order is not documented; this
//! one answers every request the way the documentation says it fails):
//!
//! 1. **A bearer token** ([`TrustApi::token`]): none or another one → `401
//!    {"error":"Unauthorized"}` (no `www-authenticate`, so npm reports the
//!    status and this text); `authorization: Basic …` → `401` "legacy basic
//!    auth is not supported" (the docs: "Legacy basic auth … will not work
//!    for trust commands or endpoints").
//! 2. **The rate limit** ([`Options::rate_limit`]): more than `max`
//!    mutations (POST, DELETE) within `window` → `429` with `retry-after:
//!    <seconds until the oldest counted one leaves the window>`, rounded
//!    up. Every mutation that passed steps 1 and 2 counts, whatever the
//!    later steps answer; a refused one (429) does not. The
//!    docs only say to pause 2 s between calls; the real limits are not
//!    published.
//! 3. **Known packages only** (added by the test with [`TrustApi::package`])
//!    → else `404 {"error":"Not found"}` (the docs: "The package you're
//!    configuring must already exist on the npm registry").
//! 4. **Two-factor authentication** on mutations (and on reads when
//!    [`Options::otp_for_reads`]): `npm-otp` must be one of the test's
//!    codes ([`TrustApi::set_codes`]), or a skip window must be open. An
//!    accepted code opens the window for [`Options::skip_window`] (the real
//!    website offers 5 minutes; `Duration::ZERO` opens none), and
//!    [`TrustApi::close_window`] closes it. Otherwise `401` with
//!    `www-authenticate: OTP` and `{"error":"This operation requires a
//!    one-time password."}`, which npm turns into `EOTP`. A wrong code is
//!    the same challenge. [`Options::codes_expire_after`] makes the codes
//!    and the window run out after a number of mutations (a code's 30
//!    seconds and the window's 5 minutes, without waiting for them).
//! 5. **The body** of a POST: a JSON array of exactly one object with
//!    exactly the keys `type`, `claims`, `permissions`; `type` one of
//!    `github`, `gitlab`, `circleci` with that provider's claims and no
//!    others (see [`validate_config`]); `permissions` a non-empty array of
//!    distinct values from `createPackage`, `createStagedPackage`. Else
//!    `400 {"error": <what is wrong>}`.
//! 6. **One configuration per package**: a POST when one exists → `409`.
//!    The real status is not documented, only that it "will result in an
//!    error" (`npm-trust.md`); 409 is the registry's usual conflict status.
//!
//! The registry's web two-factor login ([`TrustApi::offer_web_login`],
//! [`TrustApi::serve_web_done`]): a challenge's body also names `authUrl`
//! and `doneUrl` (npm's `lib/utils/auth.js` then calls npm-profile's
//! `webAuthOpener`); `GET /done/<n>` answers `202` + `retry-after: 1`
//! a number of times, then `200 {"token": …}`, the code to send as
//! `npm-otp`.
//!
//! Anything else (another path or method) → `404 {"error":"Not found"}`.
//!
//! Tests can also inject faults ([`TrustApi::fail_next`]): the next request
//! with a given method whose path starts with a given prefix is answered
//! with a given status (and headers), before or after the change is applied
//! ([`Fault::applied`]).
//!
//! Ids of created configurations are deterministic (`00000000-0000-4000-
//! 8000-<n>`, n counting from 1 per fake): two fakes in the same state give
//! the same ids to the same sequence of requests, so that their recorded
//! DELETE paths can be compared.
//!
//! Bounded like every fake here: at most [`MAX_CONNECTIONS`] connections
//! during at most [`LIFETIME`]; it stops by itself then, or when dropped.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

pub use super::http::Request;
use super::http::{path_of, percent_decode, serve_connection, write_response, Next, Server};

/// Connections served before the fake stops accepting.
pub const MAX_CONNECTIONS: usize = 256;
/// How long the fake accepts connections at most.
pub const LIFETIME: Duration = Duration::from_secs(600);
/// Requests served on one keep-alive connection at most.
const MAX_REQUESTS_PER_CONNECTION: usize = 64;

/// The challenge's body, as npm's error heuristic expects it
/// (`/one-time pass/`).
pub const OTP_CHALLENGE: &str = "This operation requires a one-time password.";

/// The permissions a configuration can grant.
pub const PERMISSIONS: [&str; 2] = ["createPackage", "createStagedPackage"];

/// How the fake behaves; the test chooses.
#[derive(Debug, Clone)]
pub struct Options {
    /// The token a request must carry (`authorization: Bearer <token>`).
    pub token: String,
    /// The one-time passwords accepted now (more with
    /// [`TrustApi::set_codes`]).
    pub codes: Vec<String>,
    /// How long an accepted code lets mutations through without one
    /// (`Duration::ZERO`: no window; the real website: 5 minutes).
    pub skip_window: Duration,
    /// Whether reads (GET) need a one-time password too (default no).
    pub otp_for_reads: bool,
    /// At most `max` mutations within `window` (`None`: no limit).
    pub rate_limit: Option<RateLimit>,
    /// After this many mutations got through two-factor authentication
    /// (by a code or inside the window), the codes expire and the window
    /// closes: the next mutation is challenged, as when a real code times
    /// out and the 5 minutes are over. [`TrustApi::set_codes`] gives the
    /// new codes the same allowance. `None`: codes never expire.
    pub codes_expire_after: Option<usize>,
    /// The registry's path (`/npm` serves `http://127.0.0.1:<port>/npm/`);
    /// a request outside it is a 404. Default: none.
    pub base_path: String,
}

#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub max: usize,
    pub window: Duration,
}

impl Options {
    /// `token`, no code, no skip window, reads without OTP, no rate limit.
    pub fn new(token: &str) -> Options {
        Options {
            token: token.to_string(),
            codes: Vec::new(),
            skip_window: Duration::ZERO,
            otp_for_reads: false,
            rate_limit: None,
            codes_expire_after: None,
            base_path: String::new(),
        }
    }

    pub fn codes(mut self, codes: &[&str]) -> Options {
        self.codes = codes.iter().map(|c| c.to_string()).collect();
        self
    }

    pub fn skip_window(mut self, d: Duration) -> Options {
        self.skip_window = d;
        self
    }

    pub fn otp_for_reads(mut self) -> Options {
        self.otp_for_reads = true;
        self
    }

    /// Serves the API under `path` (`/npm`): [`TrustApi::url`] ends with it.
    pub fn base_path(mut self, path: &str) -> Options {
        self.base_path = path.trim_end_matches('/').to_string();
        self
    }

    pub fn codes_expire_after(mut self, mutations: usize) -> Options {
        self.codes_expire_after = Some(mutations);
        self
    }

    pub fn rate_limit(mut self, max: usize, window: Duration) -> Options {
        self.rate_limit = Some(RateLimit { max, window });
        self
    }
}

/// An injected fault: the next request with `method` whose path starts with
/// `path` gets `status` with `headers` and `{"error": error}`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub error: String,
    /// Apply the request (as if it had succeeded) before answering with the
    /// fault: a registry that did the change but failed to say so.
    pub applied: bool,
    /// The answer's body as it is, instead of `{"error": error}`.
    pub body: Option<Vec<u8>>,
}

impl Fault {
    pub fn new(method: &str, path: &str, status: u16) -> Fault {
        Fault {
            method: method.to_string(),
            path: path.to_string(),
            status,
            headers: Vec::new(),
            error: format!("injected {status}"),
            applied: false,
            body: None,
        }
    }

    /// The answer's body, byte for byte (a body that is not JSON, or JSON
    /// of another shape).
    pub fn body(mut self, body: &[u8]) -> Fault {
        self.body = Some(body.to_vec());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Fault {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The `error` text of the answer (e.g. one that echoes a secret).
    pub fn message(mut self, error: &str) -> Fault {
        self.error = error.to_string();
        self
    }

    pub fn applied(mut self) -> Fault {
        self.applied = true;
        self
    }
}

/// One request as the fake received it, with its answer's status and when
/// it arrived (since the fake started).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Request,
    pub status: u16,
    pub at: Duration,
}

struct State {
    opts: Options,
    started: Instant,
    exchanges: Vec<Exchange>,
    /// Configurations by (unescaped) package name.
    packages: BTreeMap<String, Vec<Value>>,
    window_until: Option<Instant>,
    /// When the mutations that count for the rate limit arrived.
    mutations: VecDeque<Instant>,
    /// Mutations let through by two-factor authentication since the codes
    /// were set.
    second_factor_passes: usize,
    faults: Vec<Fault>,
    next_id: u64,
    /// The registry's web two-factor login offered in challenges:
    /// (`authUrl`, `doneUrl`).
    web_offer: Option<(String, String)>,
    /// How this fake answers `GET /done/<n>`: 202s left, then the token.
    web_done: Option<(usize, String)>,
}

pub struct TrustApi {
    state: Arc<Mutex<State>>,
    server: Server,
}

/// The URL path of a package's configurations (`escaped` is
/// npm-package-arg's `escapedName`).
pub fn trust_path(name: &str) -> String {
    format!("/-/package/{}/trust", escaped_name(name))
}

/// npm-package-arg's `escapedName`: `@scope/name` → `@scope%2fname`.
pub fn escaped_name(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

/// The id the fake gives the `n`-th configuration it creates (from 1).
pub fn config_id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

impl TrustApi {
    pub fn start(opts: Options) -> TrustApi {
        let state = Arc::new(Mutex::new(State {
            opts,
            started: Instant::now(),
            exchanges: Vec::new(),
            packages: BTreeMap::new(),
            window_until: None,
            mutations: VecDeque::new(),
            second_factor_passes: 0,
            faults: Vec::new(),
            next_id: 1,
            web_offer: None,
            web_done: None,
        }));
        let server = {
            let state = Arc::clone(&state);
            Server::start(MAX_CONNECTIONS, LIFETIME, move |stream, stop| {
                let _ = serve_connection(stream, stop, MAX_REQUESTS_PER_CONNECTION, |req, w| {
                    let (status, headers, body) = answer(req, &state);
                    let headers: Vec<(&str, &str)> = headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    write_response(w, status, &headers, &body, true)?;
                    Ok(Next::KeepAlive)
                });
            })
        };
        TrustApi { state, server }
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `http://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        let base = self.state.lock().unwrap().opts.base_path.clone();
        format!("{}{}/", self.server.origin(), base)
    }

    /// The token requests must carry.
    pub fn token(&self) -> String {
        self.state.lock().unwrap().opts.token.clone()
    }

    /// Makes `name` an existing package with these configurations (each
    /// `{type, claims, permissions}`, with an `id` or given the next one).
    pub fn package(&self, name: &str, configs: &[Value]) {
        let mut st = self.state.lock().unwrap();
        let mut stored = Vec::new();
        for c in configs {
            let mut c = c.clone();
            if c.get("id").is_none() {
                let id = st.fresh_id();
                let mut m = Map::new();
                m.insert("id".into(), json!(id));
                m.extend(c.as_object().cloned().unwrap_or_default());
                c = Value::Object(m);
            }
            stored.push(c);
        }
        st.packages.insert(name.to_string(), stored);
    }

    /// The one-time passwords accepted from now on (the old ones expire;
    /// [`Options::codes_expire_after`] counts afresh).
    pub fn set_codes(&self, codes: &[&str]) {
        let mut st = self.state.lock().unwrap();
        st.opts.codes = codes.iter().map(|c| c.to_string()).collect();
        st.second_factor_passes = 0;
    }

    /// Changes [`Options::codes_expire_after`] from now on (the count of
    /// passes so far is kept).
    pub fn expire_codes_after(&self, mutations: Option<usize>) {
        self.state.lock().unwrap().opts.codes_expire_after = mutations;
    }

    /// Closes the two-factor skip window: the next mutation needs a code.
    pub fn close_window(&self) {
        self.state.lock().unwrap().window_until = None;
    }

    /// Whether the two-factor skip window is open now.
    pub fn window_open(&self) -> bool {
        self.state
            .lock()
            .unwrap()
            .window_until
            .is_some_and(|t| Instant::now() < t)
    }

    /// From now on a two-factor challenge offers the registry's web login
    /// as npm's registry does (npm-profile's `webAuthOpener`): the `401`
    /// body also holds `authUrl` (`<this fake>/auth/1`) and `doneUrl`
    /// (`<done_base>done/1`, on this fake or another).
    pub fn offer_web_login(&self, done_base: &str) {
        let auth = format!("{}/auth/1", self.server.origin());
        self.state.lock().unwrap().web_offer = Some((auth, format!("{done_base}done/1")));
    }

    /// Serves `GET /done/<n>` (npm-profile's `webAuthCheckLogin`): `202`
    /// with `retry-after: 1` `pending` times, then `200 {"token": token}`
    /// (and `200` with it from then on). No credential is required: what
    /// the poll carried is in [`TrustApi::exchanges`].
    pub fn serve_web_done(&self, pending: usize, token: &str) {
        self.state.lock().unwrap().web_done = Some((pending, token.to_string()));
    }

    /// Answers the next matching request with `fault` (faults are matched
    /// in the order they were added; each is used once).
    pub fn fail_next(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push(fault);
    }

    /// Every request so far, with its status and arrival time.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.lock().unwrap().exchanges.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.exchanges().into_iter().map(|e| e.request).collect()
    }

    /// The POST and DELETE requests so far (answered or refused).
    pub fn mutations(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" || r.method == "DELETE")
            .collect()
    }

    /// The configurations of `name` now (`None`: no such package).
    pub fn configs(&self, name: &str) -> Option<Vec<Value>> {
        self.state.lock().unwrap().packages.get(name).cloned()
    }

    /// Every package's configurations now.
    pub fn all_configs(&self) -> BTreeMap<String, Vec<Value>> {
        self.state.lock().unwrap().packages.clone()
    }

    /// `METHOD path → status` per request, for assertion messages (never
    /// headers: they carry the token and the codes).
    pub fn summary(&self) -> Vec<String> {
        self.exchanges()
            .iter()
            .map(|e| format!("{} {} → {}", e.request.method, e.request.url, e.status))
            .collect()
    }
}

impl State {
    fn fresh_id(&mut self) -> String {
        let id = config_id(self.next_id);
        self.next_id += 1;
        id
    }
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

fn error(status: u16, message: &str) -> Answer {
    (
        status,
        Vec::new(),
        json!({ "error": message }).to_string().into_bytes(),
    )
}

/// What a request is about: the package and, for a DELETE, the id.
enum Target {
    Configs(String),
    One(String, String),
}

/// `/-/package/<escapedName>/trust[/<id>]` → the target, names decoded.
fn target(path: &str) -> Option<Target> {
    let rest = path.strip_prefix("/-/package/")?;
    let (escaped, tail) = rest.split_once('/')?;
    let name = percent_decode(escaped);
    if name.is_empty() || (name.starts_with('@') && !name.contains('/')) {
        return None;
    }
    if tail == "trust" {
        return Some(Target::Configs(name));
    }
    let id = tail.strip_prefix("trust/")?;
    (!id.is_empty() && !id.contains('/')).then(|| Target::One(name, percent_decode(id)))
}

fn answer(req: Request, state: &Mutex<State>) -> Answer {
    let mut st = state.lock().unwrap();
    let now = Instant::now();
    let at = now.duration_since(st.started);
    let a = decide(&req, &mut st, now);
    st.exchanges.push(Exchange {
        request: req,
        status: a.0,
        at,
    });
    a
}

fn decide(req: &Request, st: &mut State, now: Instant) -> Answer {
    let path = path_of(&req.url).to_string();
    let fault = st
        .faults
        .iter()
        .position(|f| f.method == req.method && path.starts_with(&f.path))
        .map(|i| st.faults.remove(i));
    if let Some(f) = fault {
        if f.applied {
            let _ = apply(req, &path, st, now);
        }
        let (status, _, body) = error(f.status, &f.error);
        return (status, f.headers, f.body.unwrap_or(body));
    }
    apply(req, &path, st, now)
}

/// Checks and carries out one request.
fn apply(req: &Request, path: &str, st: &mut State, now: Instant) -> Answer {
    if req.method == "GET" && path.starts_with("/done/") {
        return match &mut st.web_done {
            Some((pending, _)) if *pending > 0 => {
                *pending -= 1;
                (
                    202,
                    vec![("retry-after".into(), "1".into())],
                    b"{}".to_vec(),
                )
            }
            Some((_, token)) => (
                200,
                Vec::new(),
                json!({ "token": token }).to_string().into_bytes(),
            ),
            None => error(404, "Not found"),
        };
    }
    let mutation = match req.method.as_str() {
        "GET" => false,
        "POST" | "DELETE" => true,
        _ => return error(404, "Not found"),
    };
    let Some(target) = path
        .strip_prefix(st.opts.base_path.as_str())
        .and_then(target)
    else {
        return error(404, "Not found");
    };
    // 1. the token
    match req.header("authorization") {
        Some(a) if a.len() > 6 && a[..6].eq_ignore_ascii_case("basic ") => {
            return error(
                401,
                "Legacy basic auth is not supported for trusted publishing; use a token",
            )
        }
        Some(a) if a.strip_prefix("Bearer ") == Some(st.opts.token.as_str()) => {}
        _ => return error(401, "Unauthorized"),
    }
    // 2. the rate limit
    if mutation {
        if let Some(limit) = st.opts.rate_limit {
            while st
                .mutations
                .front()
                .is_some_and(|t| now.duration_since(*t) >= limit.window)
            {
                st.mutations.pop_front();
            }
            if st.mutations.len() >= limit.max {
                let left = st.mutations.front().map_or(limit.window, |oldest| {
                    limit.window.saturating_sub(now.duration_since(*oldest))
                });
                let secs = left.as_millis().div_ceil(1000).max(1);
                let (status, _, body) = error(429, "Too many requests; slow down");
                return (status, vec![("retry-after".into(), secs.to_string())], body);
            }
            st.mutations.push_back(now);
        }
    }
    // 3. the package
    let (name, id) = match &target {
        Target::Configs(n) => (n.clone(), None),
        Target::One(n, id) => (n.clone(), Some(id.clone())),
    };
    if !st.packages.contains_key(&name) {
        return error(404, "Not found");
    }
    // 4. two-factor authentication
    if mutation || st.opts.otp_for_reads {
        let code_ok = req
            .header("npm-otp")
            .is_some_and(|c| st.opts.codes.iter().any(|k| k == c));
        let window_ok = st.window_until.is_some_and(|t| now < t);
        if code_ok {
            if !st.opts.skip_window.is_zero() {
                st.window_until = Some(now + st.opts.skip_window);
            }
        } else if !window_ok {
            if let Some((auth_url, done_url)) = &st.web_offer {
                let body =
                    json!({ "error": OTP_CHALLENGE, "authUrl": auth_url, "doneUrl": done_url });
                return (
                    401,
                    vec![("www-authenticate".into(), "OTP".into())],
                    body.to_string().into_bytes(),
                );
            }
            let (status, _, body) = error(401, OTP_CHALLENGE);
            return (
                status,
                vec![("www-authenticate".into(), "OTP".into())],
                body,
            );
        }
        if mutation {
            st.second_factor_passes += 1;
            if st.opts.codes_expire_after == Some(st.second_factor_passes) {
                st.opts.codes.clear();
                st.window_until = None;
            }
        }
    }
    match (req.method.as_str(), id) {
        ("GET", None) => {
            let configs = Value::Array(st.packages[&name].clone());
            (200, Vec::new(), configs.to_string().into_bytes())
        }
        ("POST", None) => {
            // 5. the body
            let config = match parse_post(&req.body) {
                Ok(c) => c,
                Err(e) => return error(400, &e),
            };
            // 6. one configuration per package
            if !st.packages[&name].is_empty() {
                return error(
                    409,
                    "A trusted publisher configuration already exists for this package; revoke it first",
                );
            }
            let id = st.fresh_id();
            let mut created = Map::new();
            created.insert("id".into(), json!(id));
            created.extend(config);
            let created = Value::Object(created);
            st.packages
                .get_mut(&name)
                .expect("checked above")
                .push(created.clone());
            (201, Vec::new(), json!([created]).to_string().into_bytes())
        }
        ("DELETE", Some(id)) => {
            let configs = st.packages.get_mut(&name).expect("checked above");
            match configs.iter().position(|c| c["id"] == id.as_str()) {
                Some(i) => {
                    configs.remove(i);
                    (204, Vec::new(), Vec::new())
                }
                None => error(404, "Not found"),
            }
        }
        _ => error(404, "Not found"),
    }
}

/// The body of a POST: exactly one valid configuration.
fn parse_post(body: &[u8]) -> Result<Map<String, Value>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON".to_string())?;
    let items = v
        .as_array()
        .ok_or("the body must be an array of one trusted publisher configuration")?;
    if items.len() != 1 {
        return Err(format!(
            "the body must hold exactly one configuration, not {}",
            items.len()
        ));
    }
    let config = items[0]
        .as_object()
        .ok_or("a configuration must be an object")?;
    validate_config(config)?;
    Ok(config.clone())
}

/// A configuration as the API accepts it: `type`, `claims` of that type,
/// `permissions`.
///
/// * `github`: `repository` "owner/repo", `workflow_ref` `{file}` (a bare
///   `*.yml`/`*.yaml` name), optional `environment`;
/// * `gitlab`: `project_path` "group/project" (or deeper), `ci_config_ref_uri`
///   `{file}` (bare, `*.yml`/`*.yaml`), optional `environment`;
/// * `circleci`: `oidc.circleci.com/org-id`, `…/project-id`,
///   `…/pipeline-definition-id` (UUIDs), `…/vcs-origin` ("host/owner/repo",
///   no scheme), optional `…/context-ids` (a non-empty array of UUIDs).
///
/// No other keys anywhere. These are the rules npm checks before sending
/// (the registry's own are not published; it cannot accept less).
pub fn validate_config(config: &Map<String, Value>) -> Result<(), String> {
    only_keys(
        config,
        &["type", "claims", "permissions"],
        "the configuration",
    )?;
    let ty = config
        .get("type")
        .and_then(Value::as_str)
        .ok_or("`type` is missing (github, gitlab or circleci)")?;
    let claims = config
        .get("claims")
        .and_then(Value::as_object)
        .ok_or("`claims` must be an object")?;
    match ty {
        "github" => {
            only_keys(
                claims,
                &["repository", "workflow_ref", "environment"],
                "github claims",
            )?;
            let repo = string(claims, "repository")?;
            let parts: Vec<&str> = repo.split('/').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty() || p.contains(' ')) {
                return Err(format!("`repository` must be owner/repo, not {repo:?}"));
            }
            workflow_file(claims, "workflow_ref")?;
            environment(claims)?;
        }
        "gitlab" => {
            only_keys(
                claims,
                &["project_path", "ci_config_ref_uri", "environment"],
                "gitlab claims",
            )?;
            let project = string(claims, "project_path")?;
            let parts: Vec<&str> = project.split('/').collect();
            if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
                return Err(format!(
                    "`project_path` must be group/project, not {project:?}"
                ));
            }
            workflow_file(claims, "ci_config_ref_uri")?;
            environment(claims)?;
        }
        "circleci" => {
            const P: &str = "oidc.circleci.com/";
            let keys = [
                "org-id",
                "project-id",
                "pipeline-definition-id",
                "vcs-origin",
                "context-ids",
            ]
            .map(|k| format!("{P}{k}"));
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            only_keys(claims, &keys, "circleci claims")?;
            for k in &keys[..3] {
                let v = string(claims, k)?;
                if !is_uuid(v) {
                    return Err(format!("`{k}` must be a UUID, not {v:?}"));
                }
            }
            let origin = string(claims, keys[3])?;
            if origin.contains("://") || origin.split('/').filter(|p| !p.is_empty()).count() < 3 {
                return Err(format!(
                    "`{}` must be provider/owner/repo without a scheme, not {origin:?}",
                    keys[3]
                ));
            }
            if let Some(ids) = claims.get(keys[4]) {
                let ids = ids
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| format!("`{}` must be a non-empty array", keys[4]))?;
                for id in ids {
                    if !id.as_str().is_some_and(is_uuid) {
                        return Err(format!("`{}` must hold UUIDs, not {id}", keys[4]));
                    }
                }
            }
        }
        other => {
            return Err(format!(
                "unknown `type` {other:?} (github, gitlab or circleci)"
            ))
        }
    }
    let perms = config
        .get("permissions")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
        .ok_or("`permissions` must be a non-empty array")?;
    let mut seen = Vec::new();
    for p in perms {
        let p = p
            .as_str()
            .filter(|p| PERMISSIONS.contains(p))
            .ok_or_else(|| {
                format!("unknown permission {p} (createPackage, createStagedPackage)")
            })?;
        if seen.contains(&p) {
            return Err(format!("permission {p} given twice"));
        }
        seen.push(p);
    }
    Ok(())
}

fn only_keys(m: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("{what}: unknown key `{k}`")),
        None => Ok(()),
    }
}

fn string<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("`{key}` must be a non-empty string"))
}

fn workflow_file(claims: &Map<String, Value>, key: &str) -> Result<(), String> {
    let r = claims
        .get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| format!("`{key}` must be an object with `file`"))?;
    only_keys(r, &["file"], key)?;
    let file = string(r, "file").map_err(|e| format!("`{key}`: {e}"))?;
    if file.contains('/') || file.contains('\\') {
        return Err(format!(
            "`{key}.file` must be a file name, not a path: {file:?}"
        ));
    }
    if !(file.ends_with(".yml") || file.ends_with(".yaml")) {
        return Err(format!("`{key}.file` must end in .yml or .yaml: {file:?}"));
    }
    Ok(())
}

fn environment(claims: &Map<String, Value>) -> Result<(), String> {
    match claims.get("environment") {
        None => Ok(()),
        Some(_) => string(claims, "environment").map(|_| ()),
    }
}

/// npm's `UUID_REGEX` (`lib/utils/validate-uuid.js`): 8-4-4-4-12 hex digits.
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Used by the tests to plan a fault's path (the prefix of a package's
/// DELETEs is `trust_path(name) + "/"`).
pub fn delete_prefix(name: &str) -> String {
    format!("{}/", trust_path(name))
}

/// The configurations of the packages, without their ids: what tests
/// compare between two fakes (ids may legitimately differ when seeded).
pub fn without_ids(configs: &BTreeMap<String, Vec<Value>>) -> BTreeMap<String, Vec<Value>> {
    configs
        .iter()
        .map(|(k, v)| {
            let v = v
                .iter()
                .map(|c| {
                    let mut c = c.clone();
                    if let Some(o) = c.as_object_mut() {
                        o.shift_remove("id");
                    }
                    c
                })
                .collect();
            (k.clone(), v)
        })
        .collect()
}
