//! A tiny HTTP/1.1 registry on 127.0.0.1 that records every request.
//!
//! It answers `PUT` with `201 {"ok":true}`, a staged publish (`POST
//! /-/stage/package/<name>`) with `201 {"stageId": "<n-th id>"}` (or the
//! status set by [`RecordingRegistry::answer_stage_with`]), and everything
//! else (packument
//! `GET`s, the update check, …) with `404`. It listens on a port chosen by
//! the OS, serves at most [`MAX_CONNECTIONS`] connections for at most
//! [`LIFETIME`], and stops when dropped ([`super::http::Server`]).

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use super::http::Request;
use super::http::{serve_connection, write_response, Next, Server};

/// Connections served before the registry stops accepting.
pub const MAX_CONNECTIONS: usize = 64;
/// How long the registry accepts connections at most.
pub const LIFETIME: Duration = Duration::from_secs(300);
/// Requests served on one keep-alive connection at most.
const MAX_REQUESTS_PER_CONNECTION: usize = 64;

pub struct RecordingRegistry {
    requests: Arc<Mutex<Vec<Request>>>,
    stage_status: Arc<AtomicU16>,
    /// Packument GETs answer a packument with version 0.0.1 (every package
    /// exists), instead of 404.
    existing: Arc<std::sync::atomic::AtomicBool>,
    /// Per-request answers: (n-th POST, status).
    nth_stage: Arc<Mutex<Vec<(usize, u16)>>>,
    server: Server,
}

/// The stage id the registry gives the `n`-th staged publish (from 1).
pub fn stage_id(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

impl RecordingRegistry {
    pub fn start() -> RecordingRegistry {
        let requests: Arc<Mutex<Vec<Request>>> = Arc::new(Mutex::new(Vec::new()));
        let stage_status = Arc::new(AtomicU16::new(201));
        let existing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let nth_stage: Arc<Mutex<Vec<(usize, u16)>>> = Arc::new(Mutex::new(Vec::new()));
        let server = {
            let requests = Arc::clone(&requests);
            let stage_status = Arc::clone(&stage_status);
            let existing = Arc::clone(&existing);
            let nth_stage = Arc::clone(&nth_stage);
            Server::start(MAX_CONNECTIONS, LIFETIME, move |stream, stop| {
                let _ = serve_connection(stream, stop, MAX_REQUESTS_PER_CONNECTION, |req, w| {
                    let mut all = requests.lock().unwrap();
                    let (status, body): (u16, Vec<u8>) = if req.method == "PUT" {
                        (201, b"{\"ok\":true}".to_vec())
                    } else if req.method == "POST" && req.url.contains("/-/stage/package/") {
                        let n = all.iter().filter(|r| r.method == "POST").count() + 1;
                        let nth = nth_stage
                            .lock()
                            .unwrap()
                            .iter()
                            .find(|(k, _)| *k == n)
                            .map(|(_, s)| *s);
                        match nth.unwrap_or_else(|| stage_status.load(Ordering::SeqCst)) {
                            201 => (
                                201,
                                format!("{{\"stageId\":\"{}\"}}", stage_id(n)).into_bytes(),
                            ),
                            s => (s, b"{\"error\":\"stage refused\"}".to_vec()),
                        }
                    } else if req.method == "GET"
                        && !req.url.starts_with("/-/")
                        && existing.load(Ordering::SeqCst)
                    {
                        let name = req
                            .url
                            .trim_start_matches('/')
                            .split('?')
                            .next()
                            .unwrap_or_default()
                            .replace("%2f", "/")
                            .replace("%2F", "/");
                        let doc = serde_json::json!({
                            "name": name,
                            "dist-tags": {"latest": "0.0.1"},
                            "versions": {"0.0.1": {"name": name, "version": "0.0.1",
                                "dist": {"integrity": "sha512-AAAA", "shasum": "00", "tarball": "http://127.0.0.1:1/x.tgz"}}}
                        });
                        (200, doc.to_string().into_bytes())
                    } else {
                        (404, b"{\"error\":\"Not found\"}".to_vec())
                    };
                    all.push(req);
                    drop(all);
                    write_response(w, status, &[], &body, true)?;
                    Ok(Next::KeepAlive)
                });
            })
        };
        RecordingRegistry {
            requests,
            stage_status,
            existing,
            nth_stage,
            server,
        }
    }

    /// From now on every package exists (its packument has version 0.0.1):
    /// what staging needs.
    pub fn with_existing_packages(self) -> RecordingRegistry {
        self.existing.store(true, Ordering::SeqCst);
        self
    }

    /// Staged publishes are answered with `status` (and no stage id) from
    /// now on.
    pub fn answer_stage_with(&self, status: u16) {
        self.stage_status.store(status, Ordering::SeqCst);
    }

    /// The `n`-th `POST` (from 1, as [`stage_id`] counts), when it is a
    /// staged publish, is answered with `status` (and no stage id); the
    /// others as before.
    pub fn answer_nth_stage_with(&self, n: usize, status: u16) {
        self.nth_stage.lock().unwrap().push((n, status));
    }

    /// The staged publishes (`POST /-/stage/package/…`) received so far.
    pub fn stages(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.url.contains("/-/stage/package/"))
            .collect()
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `http://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The PUT requests received so far.
    pub fn puts(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "PUT")
            .collect()
    }
}
