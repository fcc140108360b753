//! A tiny HTTP/1.1 registry on 127.0.0.1 that records every request.
//!
//! It answers `PUT` with `201 {"ok":true}` and everything else (packument
//! `GET`s, the update check, …) with `404`. It listens on a port chosen by
//! the OS, serves at most [`MAX_CONNECTIONS`] connections for at most
//! [`LIFETIME`], and stops when dropped ([`super::http::Server`]).

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
    server: Server,
}

impl RecordingRegistry {
    pub fn start() -> RecordingRegistry {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let server = {
            let requests = Arc::clone(&requests);
            Server::start(MAX_CONNECTIONS, LIFETIME, move |stream, stop| {
                let _ = serve_connection(stream, stop, MAX_REQUESTS_PER_CONNECTION, |req, w| {
                    let (status, body): (u16, &[u8]) = if req.method == "PUT" {
                        (201, b"{\"ok\":true}")
                    } else {
                        (404, b"{\"error\":\"Not found\"}")
                    };
                    requests.lock().unwrap().push(req);
                    write_response(w, status, &[], body, true)?;
                    Ok(Next::KeepAlive)
                });
            })
        };
        RecordingRegistry { requests, server }
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
