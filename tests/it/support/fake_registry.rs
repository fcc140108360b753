//! A scriptable fake npm registry on 127.0.0.1, for the publish tests.
//!
//! Unlike [`super::recording_registry`], it keeps a real in-memory store:
//! a `PUT` of a publish document adds the version (and its dist-tags and
//! tarball) to the package's packument, a `GET` of the package afterwards
//! shows it with its `dist.integrity`, and a second `PUT` of the same
//! version is refused with 409, as real registries refuse it. Every request
//! is recorded.
//!
//! Faults are scripted per test: [`FakeRegistry::script_puts`] queues one
//! [`Reply`] for each coming `PUT` (a status with headers and body, with or
//! without storing first, a stall past the client's timeout, a redirect);
//! when the queue is empty a `PUT` is stored and answered `201`. A reply
//! can also be a connection reset ([`Reply::reset`]), and packument `GET`s
//! can be scripted too ([`FakeRegistry::script_gets`]).
//!
//! It listens on a port the OS chooses, serves at most [`MAX_CONNECTIONS`]
//! connections for at most [`LIFETIME`], and stops by itself then, or when
//! dropped ([`super::http::Server`]).

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

pub use super::http::Request;
use super::http::{serve_connection, stall, write_response, Next, Server};

/// Connections served before the registry stops accepting.
pub const MAX_CONNECTIONS: usize = 48;
/// How long the registry accepts connections at most.
pub const LIFETIME: Duration = Duration::from_secs(120);
/// Requests served on one keep-alive connection at most.
const MAX_REQUESTS_PER_CONNECTION: usize = 32;
/// The longest scripted stall.
const MAX_STALL: Duration = Duration::from_secs(10);

/// How to answer one scripted `PUT`.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Store the document before answering (a registry that took the
    /// publish but reports an error, or answers too late).
    pub store: bool,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Hang up instead of answering (after storing, if `store`): the
    /// client sees a connection reset and cannot know what happened.
    pub reset: bool,
}

impl Reply {
    /// `status` with a JSON `{"error": …}` body; nothing is stored.
    pub fn status(status: u16, error: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: json!({ "error": error }).to_string(),
            store: false,
            delay: Duration::ZERO,
            reset: false,
        }
    }

    /// No answer at all: the connection is closed (the status is unused).
    pub fn reset() -> Reply {
        Reply {
            reset: true,
            ..Reply::status(0, "")
        }
    }

    /// A `307` to `location`; nothing is stored.
    pub fn redirect(location: &str) -> Reply {
        Reply::status(307, "moved").header("location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Replaces the body (sent as `application/json`).
    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.to_string();
        self
    }

    /// Store the document first, then answer with this reply.
    pub fn stored(mut self) -> Reply {
        self.store = true;
        self
    }

    /// Answer only after `delay` (at most [`MAX_STALL`]).
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay.min(MAX_STALL);
        self
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    /// Packuments by (unescaped) package name.
    packuments: BTreeMap<String, Value>,
    /// Tarballs by request path (`/<name>/-/<file>.tgz`).
    tarballs: BTreeMap<String, Vec<u8>>,
    script: VecDeque<Reply>,
    /// Replies for the coming packument `GET`s (tarball GETs are not
    /// scripted); `None`, or an empty queue, answers from the store.
    get_script: VecDeque<Option<Reply>>,
    /// A file that gets the line `<upload>` whenever a PUT is stored.
    upload_log: Option<PathBuf>,
    /// Replies for the coming `POST`s (the token exchange); an empty
    /// queue answers 405.
    post_script: VecDeque<Reply>,
    /// Other documents served on `GET` by exact path (the attestations
    /// endpoint): status, JSON body, and how long to stall first.
    files: BTreeMap<String, (u16, Vec<u8>, Duration)>,
}

pub struct FakeRegistry {
    state: Arc<Mutex<State>>,
    server: Server,
}

impl FakeRegistry {
    pub fn start() -> FakeRegistry {
        let state = Arc::new(Mutex::new(State::default()));
        let server = {
            let state = Arc::clone(&state);
            Server::start(MAX_CONNECTIONS, LIFETIME, move |stream, stop| {
                let _ = serve_connection(stream, stop, MAX_REQUESTS_PER_CONNECTION, |req, w| {
                    respond(&req, &state, stop, w)
                });
            })
        };
        FakeRegistry { state, server }
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `http://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Queues replies for the next `PUT`s, in order.
    pub fn script_puts(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    /// Queues replies for the next packument `GET`s, in order (`None`:
    /// answer that one from the store).
    pub fn script_gets(&self, replies: impl IntoIterator<Item = Option<Reply>>) {
        self.state.lock().unwrap().get_script.extend(replies);
    }

    /// Queues replies for the next `POST`s (the OIDC token exchange), in
    /// order.
    pub fn script_posts(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().post_script.extend(replies);
    }

    /// Appends `<upload>` to `path` whenever a `PUT` is stored.
    pub fn log_uploads_to(&self, path: PathBuf) {
        self.state.lock().unwrap().upload_log = Some(path);
    }

    /// Makes `name@version` already published, with this integrity, under
    /// `tag` (if any).
    pub fn seed(&self, name: &str, version: &str, integrity: &str, tag: Option<&str>) {
        let mut st = self.state.lock().unwrap();
        let doc = st
            .packuments
            .entry(name.to_string())
            .or_insert_with(|| empty_packument(name));
        doc["versions"][version] = json!({
            "name": name,
            "version": version,
            "dist": {
                "integrity": integrity,
                "shasum": "0000000000000000000000000000000000000000",
                "tarball": format!("http://127.0.0.1:{}/{name}/-/seeded.tgz", self.server.port()),
            },
        });
        if let Some(tag) = tag {
            doc["dist-tags"][tag] = json!(version);
        }
    }

    /// Gives the seeded `name@version` provenance as npmjs.com's packument
    /// shows it: `dist.attestations = {url, provenance: {predicateType}}`.
    pub fn set_attestations(&self, name: &str, version: &str, url: &str) {
        let mut st = self.state.lock().unwrap();
        let doc = st
            .packuments
            .get_mut(name)
            .expect("seed the version before giving it attestations");
        doc["versions"][version]["dist"]["attestations"] = json!({
            "url": url,
            "provenance": {"predicateType": "https://slsa.dev/provenance/v1"},
        });
    }

    /// Serves `body` (JSON) with `status` on `GET path` (the path with its
    /// query, as requested).
    pub fn serve(&self, path: &str, status: u16, body: Vec<u8>) {
        self.serve_after(path, status, body, Duration::ZERO);
    }

    /// [`FakeRegistry::serve`], answering only after `delay` (at most
    /// [`MAX_STALL`]): a stalled endpoint.
    pub fn serve_after(&self, path: &str, status: u16, body: Vec<u8>, delay: Duration) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_string(), (status, body, delay.min(MAX_STALL)));
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The `PUT` requests received so far (stored or not).
    pub fn puts(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "PUT")
            .collect()
    }

    /// The stored packument of `name`.
    pub fn packument(&self, name: &str) -> Option<Value> {
        self.state.lock().unwrap().packuments.get(name).cloned()
    }

    /// The versions stored for `name`.
    pub fn versions(&self, name: &str) -> Vec<String> {
        self.packument(name)
            .and_then(|p| {
                p["versions"]
                    .as_object()
                    .map(|v| v.keys().cloned().collect())
            })
            .unwrap_or_default()
    }

    /// Summary of the requests for assertion messages (method and path only;
    /// never headers, which carry the credential).
    pub fn summary(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.url))
            .collect()
    }
}

fn empty_packument(name: &str) -> Value {
    json!({ "_id": name, "name": name, "dist-tags": {}, "versions": {} })
}

/// The package name in a request path: `/@scope%2fname` → `@scope/name`.
fn package_name(path: &str) -> Option<String> {
    let p = path.strip_prefix('/')?;
    let p = p.split('?').next().unwrap_or(p);
    if p.is_empty() || p.starts_with('-') || p.contains("/-/") {
        return None;
    }
    let name = p
        .replace("%2f", "/")
        .replace("%2F", "/")
        .replace("%40", "@");
    Some(name)
}

/// Adds a publish document to the store. `Err` with a status and message
/// when a registry would refuse it.
fn store(st: &mut State, body: &[u8]) -> Result<(), (u16, String)> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|_| (400, "body is not JSON".to_string()))?;
    let name = doc["name"]
        .as_str()
        .ok_or((400, "no name".to_string()))?
        .to_string();
    let versions = doc["versions"]
        .as_object()
        .filter(|v| v.len() == 1)
        .ok_or((400, "expected exactly one version".to_string()))?;
    let (version, vdoc) = versions.iter().next().unwrap();
    let mut tarballs = Vec::new();
    if let Some(att) = doc["_attachments"].as_object() {
        for (file, a) in att {
            let data = a["data"].as_str().unwrap_or("");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| (400, format!("attachment {file} is not base64")))?;
            tarballs.push((format!("/{name}/-/{file}"), bytes));
        }
    }
    let existing = st
        .packuments
        .entry(name.clone())
        .or_insert_with(|| empty_packument(&name));
    if existing["versions"].get(version).is_some() {
        return Err((
            409,
            format!("cannot modify pre-existing version: {version}"),
        ));
    }
    existing["versions"][version] = vdoc.clone();
    if let Some(tags) = doc["dist-tags"].as_object() {
        for (t, v) in tags {
            existing["dist-tags"][t] = v.clone();
        }
    }
    st.tarballs.extend(tarballs);
    if let Some(log) = &st.upload_log {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| (500, e.to_string()))?;
        let _ = writeln!(f, "<upload>");
    }
    Ok(())
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
    reset: bool,
}

fn scripted_answer(r: Reply) -> Answer {
    Answer {
        status: r.status,
        headers: r.headers,
        body: r.body.into_bytes(),
        delay: r.delay,
        reset: r.reset,
    }
}

fn json_answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
        delay: Duration::ZERO,
        reset: false,
    }
}

fn answer(req: &Request, state: &Mutex<State>) -> Answer {
    let mut st = state.lock().unwrap();
    st.requests.push(req.clone());
    match req.method.as_str() {
        "PUT" => {
            let scripted = st.script.pop_front();
            match scripted {
                Some(r) => {
                    if r.store {
                        let _ = store(&mut st, &req.body);
                    }
                    scripted_answer(r)
                }
                None => match store(&mut st, &req.body) {
                    Ok(()) => json_answer(201, json!({ "ok": "created new package" })),
                    Err((status, message)) => json_answer(status, json!({ "error": message })),
                },
            }
        }
        "GET" => {
            if let Some((status, body, delay)) = st.files.get(req.url.as_str()) {
                return Answer {
                    status: *status,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: body.clone(),
                    delay: *delay,
                    reset: false,
                };
            }
            if let Some(t) = st.tarballs.get(req.url.as_str()) {
                return Answer {
                    status: 200,
                    headers: vec![("content-type".into(), "application/octet-stream".into())],
                    body: t.clone(),
                    delay: Duration::ZERO,
                    reset: false,
                };
            }
            if package_name(&req.url).is_some() {
                if let Some(Some(r)) = st.get_script.pop_front() {
                    return scripted_answer(r);
                }
            }
            match package_name(&req.url).and_then(|n| st.packuments.get(&n)) {
                Some(p) => {
                    let mut p = p.clone();
                    if let Some(o) = p.as_object_mut() {
                        o.shift_remove("_attachments");
                    }
                    json_answer(200, p)
                }
                None => json_answer(404, json!({ "error": "Not found" })),
            }
        }
        "POST" if !st.post_script.is_empty() => {
            scripted_answer(st.post_script.pop_front().unwrap())
        }
        _ => json_answer(405, json!({ "error": "method not allowed" })),
    }
}

/// Answers one request (after a scripted delay).
fn respond(
    req: &Request,
    state: &Mutex<State>,
    stop: &AtomicBool,
    w: &mut impl Write,
) -> std::io::Result<Next> {
    let a = answer(req, state);
    stall(a.delay, stop);
    if a.reset {
        return Ok(Next::Close);
    }
    let headers: Vec<(&str, &str)> = a
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    write_response(w, a.status, &headers, &a.body, true)?;
    Ok(Next::KeepAlive)
}
