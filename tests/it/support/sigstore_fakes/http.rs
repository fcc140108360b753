//! What the fake Fulcio and Rekor share on top of [`super::super::http`]:
//! scripted faults, request records, and the connection handler that
//! records each request with its answer.

use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::super::http::{serve_connection, stall, write_response, Next, Request, Server};

/// Connections a fake accepts before it stops.
pub const MAX_CONNECTIONS: usize = 512;
/// How long a fake accepts connections at most.
pub const LIFETIME: Duration = Duration::from_secs(900);
/// Requests served on one keep-alive connection at most.
const MAX_REQUESTS_PER_CONNECTION: usize = 64;

/// One scripted answer, taken by the next request to the service's main
/// endpoint (`POST /api/v2/signingCert`, `POST /api/v1/log/entries`)
/// before normal service.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status with the service's JSON error body (`message` "scripted <status>").
    Status(u16),
    /// This status and body (sent as `application/json`).
    Body(u16, String),
    /// Close the connection without answering.
    Hangup,
    /// Wait this long (at most 30 s), then serve normally.
    Stall(Duration),
}

/// What a handler answers.
pub enum Reply {
    Json(u16, Vec<(String, String)>, Vec<u8>),
    Hangup,
}

impl Reply {
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::Json(status, Vec::new(), body.to_string().into_bytes())
    }
}

/// One request as a fake saw it, with its answer.
#[derive(Debug, Clone)]
pub struct Record {
    pub request: Request,
    /// 0 if the fake hung up.
    pub status: u16,
    /// Why the fake refused, in its own words (the HTTP message may be
    /// generic, as real Fulcio's is), or what it did.
    pub detail: String,
}

impl Record {
    /// The request body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.request.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Queued faults and records, shared by a fake's threads.
#[derive(Default)]
pub struct Journal {
    pub faults: Mutex<VecDeque<Fault>>,
    pub records: Mutex<Vec<Record>>,
}

impl Journal {
    /// Takes the next fault, if any, and applies `Stall` here. Returns the
    /// answer a fault dictates.
    pub fn fault_reply(
        &self,
        stop: &AtomicBool,
        error: impl Fn(u16, &str) -> Reply,
    ) -> Option<(Reply, String)> {
        let fault = self.faults.lock().unwrap().pop_front()?;
        match fault {
            Fault::Status(s) => Some((error(s, &format!("scripted {s}")), format!("scripted {s}"))),
            Fault::Body(s, b) => Some((
                Reply::Json(s, Vec::new(), b.into_bytes()),
                format!("scripted {s} body"),
            )),
            Fault::Hangup => Some((Reply::Hangup, "scripted hang-up".into())),
            Fault::Stall(d) => {
                stall(d, stop);
                None
            }
        }
    }
}

/// Starts a fake on a [`Server`] bounded by [`MAX_CONNECTIONS`] and
/// [`LIFETIME`]: `build` makes its state once the server's URL is known;
/// every connection is served by [`serve`], which records each request in
/// the state's `journal` with what `answer` made of it.
pub fn start<S: Send + Sync + 'static>(
    build: impl FnOnce(&Server) -> S,
    journal: fn(&S) -> &Journal,
    answer: fn(&Request, &S, &AtomicBool) -> (Reply, String),
) -> (Server, Arc<S>) {
    Server::start_with(
        MAX_CONNECTIONS,
        LIFETIME,
        build,
        move |stream, state, stop| {
            let _ = serve(stream, stop, journal(state), &|req, stop| {
                answer(req, state, stop)
            });
        },
    )
}

/// Serves one connection: reads requests (keep-alive), asks `answer` for
/// `(reply, detail)`, records both, writes the reply.
fn serve(
    stream: TcpStream,
    stop: &AtomicBool,
    journal: &Journal,
    answer: &dyn Fn(&Request, &AtomicBool) -> (Reply, String),
) -> io::Result<()> {
    serve_connection(stream, stop, MAX_REQUESTS_PER_CONNECTION, |req, w| {
        let (reply, detail) = answer(&req, stop);
        let status = match &reply {
            Reply::Json(s, _, _) => *s,
            Reply::Hangup => 0,
        };
        journal.records.lock().unwrap().push(Record {
            request: req,
            status,
            detail,
        });
        match reply {
            Reply::Json(status, headers, body) => {
                let h: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                write_response(w, status, &h, &body, true)?;
                Ok(Next::KeepAlive)
            }
            Reply::Hangup => Ok(Next::Close),
        }
    })
}
