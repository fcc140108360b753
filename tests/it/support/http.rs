//! The loopback HTTP/1.1 plumbing every fake shares: a bounded [`Server`]
//! on 127.0.0.1, the keep-alive request loop ([`serve_connection`]),
//! request parsing ([`read_request`]), response writing
//! ([`write_response`]), URL helpers, and a small client ([`request`]) that
//! returns errors instead of panicking (the fakes call it from their own
//! threads, and the self-tests use it to see exactly what comes back).
//!
//! Bounded everywhere: a server accepts at most `max_connections` during
//! at most `lifetime` and stops by itself then, or when dropped; a
//! connection serves at most `max_requests`; a request line or body that
//! does not arrive within 60 s ends the connection; bodies are capped.
//! std::net only.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Largest request body a server accepts (a publish carries the tarball in
/// base64).
const MAX_BODY: usize = 64 << 20;
/// How long a server waits for one line or body of a request.
const REQUEST_DEADLINE: Duration = Duration::from_secs(60);
/// The read timeout on served connections: short, so a worker notices
/// `stop` while a client idles.
const POLL: Duration = Duration::from_millis(200);
/// The longest [`stall`] (scripted delays of the fakes).
pub const MAX_STALL: Duration = Duration::from_secs(30);
/// How long a connection waits for the state of [`Server::start_with`].
const STATE_WAIT: Duration = Duration::from_secs(5);
/// How long the client waits for a connection, and between bytes.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest response body the client reads.
const MAX_RESPONSE: usize = 64 << 20;

/// One request as a server received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target, e.g. `/@scope%2fname`.
    pub url: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// The value of the first header `name` (lower case) in headers as
/// [`read_request`] and [`read_head`] store them.
pub fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------
// Server

/// Serves one accepted connection until it closes or `stop` is set.
type Handler = Arc<dyn Fn(TcpStream, &AtomicBool) + Send + Sync>;

/// A listener on 127.0.0.1 with an OS-chosen port that hands connections
/// to a handler, one thread each. It accepts at most `max_connections`
/// during at most `lifetime`, then stops by itself; it also stops (and
/// joins its threads) when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts serving; `handler` gets each connection (blocking) and the
    /// server's stop flag.
    pub fn start(
        max_connections: usize,
        lifetime: Duration,
        handler: impl Fn(TcpStream, &AtomicBool) + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Handler = Arc::new(handler);
        let acceptor = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                accept_loop(listener, max_connections, lifetime, handler, stop)
            })
        };
        Server {
            addr,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// Like [`Server::start`], for a handler whose state can only be built
    /// once the port is known (it names the server's own URL): `build`
    /// makes it right after the server starts, and `handler` gets it with
    /// each connection. A connection accepted before that waits for it (at
    /// most 5 s, then it is dropped). Returns the server and the state.
    pub fn start_with<T: Send + Sync + 'static>(
        max_connections: usize,
        lifetime: Duration,
        build: impl FnOnce(&Server) -> T,
        handler: impl Fn(TcpStream, &T, &AtomicBool) + Send + Sync + 'static,
    ) -> (Server, Arc<T>) {
        let slot: Arc<Mutex<Option<Arc<T>>>> = Arc::new(Mutex::new(None));
        let server = {
            let slot = Arc::clone(&slot);
            Server::start(max_connections, lifetime, move |stream, stop| {
                if let Some(state) = wait_for(&slot) {
                    handler(stream, &state, stop);
                }
            })
        };
        let state = Arc::new(build(&server));
        *slot.lock().unwrap() = Some(Arc::clone(&state));
        (server, state)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// `http://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("{}/", self.origin())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

/// Waits (briefly) until the state of [`Server::start_with`] is in its slot.
fn wait_for<T>(slot: &Mutex<Option<Arc<T>>>) -> Option<Arc<T>> {
    let until = Instant::now() + STATE_WAIT;
    loop {
        if let Some(i) = slot.lock().unwrap().as_ref() {
            return Some(Arc::clone(i));
        }
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn accept_loop(
    listener: TcpListener,
    max_connections: usize,
    lifetime: Duration,
    handler: Handler,
    stop: Arc<AtomicBool>,
) {
    let started = Instant::now();
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut served = 0;
    while !stop.load(Ordering::SeqCst) && started.elapsed() < lifetime && served < max_connections {
        match listener.accept() {
            Ok((stream, _)) => {
                served += 1;
                let handler = Arc::clone(&handler);
                let stop = Arc::clone(&stop);
                workers.push(std::thread::spawn(move || {
                    if stream.set_nonblocking(false).is_ok() {
                        handler(stream, &stop)
                    }
                }));
                workers.retain(|w| !w.is_finished());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        let _ = w.join();
    }
}

/// What a connection does after a request was answered.
pub enum Next {
    KeepAlive,
    Close,
}

/// Serves requests on one keep-alive connection: reads at most
/// `max_requests` of them (with a short read timeout, so that a stopping
/// server does not wait for an idle client) and hands each to `answer`
/// with the connection to write to. Hangs up when the client closes, when
/// `answer` says [`Next::Close`] or after `max_requests`; an I/O error
/// ends the connection at once.
pub fn serve_connection(
    stream: TcpStream,
    stop: &AtomicBool,
    max_requests: usize,
    mut answer: impl FnMut(Request, &mut TcpStream) -> io::Result<Next>,
) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    for _ in 0..max_requests {
        let Some(req) = read_request(&mut reader, stop)? else {
            break;
        };
        if let Next::Close = answer(req, &mut writer)? {
            break;
        }
    }
    hang_up(&writer);
    Ok(())
}

/// Closes both directions of a connection, ignoring errors.
pub fn hang_up(s: &TcpStream) {
    let _ = s.shutdown(Shutdown::Both);
}

/// Sleeps `d` (at most [`MAX_STALL`]), in small steps so that a stopping
/// server does not wait.
pub fn stall(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d.min(MAX_STALL);
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// Reading requests

/// Adds a `name: value` header line (name in lower case, both trimmed; a
/// line without a colon is ignored). `too_many` is the error past 200.
fn add_header(headers: &mut Vec<(String, String)>, line: &str, too_many: &str) -> io::Result<()> {
    if let Some((k, v)) = line.split_once(':') {
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    if headers.len() > 200 {
        return Err(io::Error::other(too_many));
    }
    Ok(())
}

/// A read that ran into the connection's (short) read timeout.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// After a read timeout: stop waiting for the client when the server stops
/// or the request is overdue.
fn give_up(stop: &AtomicBool, deadline: Instant) -> bool {
    stop.load(Ordering::SeqCst) || Instant::now() > deadline
}

/// Reads until a complete line, retrying on read timeouts until `stop`.
/// `Ok(None)` at end of stream before any byte.
fn read_line(reader: &mut BufReader<TcpStream>, stop: &AtomicBool) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let deadline = Instant::now() + REQUEST_DEADLINE;
    loop {
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => {
                return Ok(if buf.is_empty() {
                    None
                } else {
                    Some(lossy(buf))
                })
            }
            Ok(_) if buf.ends_with(b"\n") => return Ok(Some(lossy(buf))),
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {
                if give_up(stop, deadline) {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

fn lossy(buf: Vec<u8>) -> String {
    String::from_utf8_lossy(&buf)
        .trim_end_matches(['\r', '\n'])
        .to_string()
}

fn read_exact(
    reader: &mut BufReader<TcpStream>,
    n: usize,
    stop: &AtomicBool,
) -> io::Result<Vec<u8>> {
    let mut out = vec![0u8; n];
    let mut got = 0;
    let deadline = Instant::now() + REQUEST_DEADLINE;
    while got < n {
        match reader.read(&mut out[got..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(k) => got += k,
            Err(e) if is_timeout(&e) => {
                if give_up(stop, deadline) {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Reads one request (headers and body, plain or chunked) from a
/// connection; `Ok(None)` when the client closed it or the server is
/// stopping.
pub fn read_request(
    reader: &mut BufReader<TcpStream>,
    stop: &AtomicBool,
) -> io::Result<Option<Request>> {
    let Some(line) = read_line(reader, stop)? else {
        return Ok(None);
    };
    let mut parts = line.splitn(3, ' ');
    let method = parts.next().unwrap_or("").to_string();
    let url = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let Some(h) = read_line(reader, stop)? else {
            return Ok(None);
        };
        if h.is_empty() {
            break;
        }
        add_header(&mut headers, &h, "too many headers")?;
    }
    let get = |name: &str| find_header(&headers, name);
    let body = if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            let size_line = read_line(reader, stop)?.unwrap_or_default();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| io::Error::other("bad chunk size"))?;
            if size == 0 {
                // trailers until an empty line
                while read_line(reader, stop)?.is_some_and(|l| !l.is_empty()) {}
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(io::Error::other("body too large"));
            }
            body.extend(read_exact(reader, size, stop)?);
            read_line(reader, stop)?;
        }
        body
    } else {
        let len: usize = get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if len > MAX_BODY {
            return Err(io::Error::other("body too large"));
        }
        read_exact(reader, len, stop)?
    };
    Ok(Some(Request {
        method,
        url,
        headers,
        body,
    }))
}

// ---------------------------------------------------------------------------
// Writing responses

/// The standard reason phrase for the statuses the fakes use.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Writes a complete response with `content-length`. `content-type`
/// defaults to `application/json`.
pub fn write_response(
    w: &mut impl Write,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    keep_alive: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\nconnection: {}\r\n",
        reason(status),
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        head.push_str("content-type: application/json\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

// ---------------------------------------------------------------------------
// URLs

/// Decodes `%XX` escapes (any case); other bytes are kept. Invalid escapes
/// stay as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path of a request target, without the query.
pub fn path_of(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or(target)
}

/// The value of the first query parameter `name` of a request target,
/// decoded as `application/x-www-form-urlencoded`.
pub fn query_param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

// ---------------------------------------------------------------------------
// Client

/// A response as the client received it.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The `message` field of a JSON error body.
    pub fn message(&self) -> Option<String> {
        self.json()["message"].as_str().map(str::to_string)
    }
}

/// One HTTP/1.1 request (`connection: close`) to an `http://` URL.
/// `content-length` is always sent (0 for an empty body, as npm sends for
/// the exchange POST). Errors for network failures and for a connection
/// closed before a complete status line.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<HttpResponse> {
    let u = url::Url::parse(url).map_err(|e| io::Error::other(format!("bad URL {url}: {e}")))?;
    if u.scheme() != "http" {
        return Err(io::Error::other(format!("only http:// URLs: {url}")));
    }
    let host = u.host_str().unwrap_or("127.0.0.1");
    let port = u.port_or_known_default().unwrap_or(80);
    let hostport = format!("{host}:{port}");
    let addr = hostport
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other(format!("cannot resolve {hostport}")))?;
    let mut s = TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT)?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    s.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let target = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nhost: {hostport}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    s.flush()?;
    read_response(BufReader::new(s), method == "HEAD")
}

/// One request from any stream (a TLS one too), for servers that answer
/// one request per connection, with a `content-length` body of at most
/// [`MAX_BODY`]; `None` when the client sent nothing or the head is
/// malformed.
pub fn read_simple_request(r: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        add_header(&mut headers, h.trim_end(), "too many headers").ok()?;
    }
    let len: usize = find_header(&headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len.min(MAX_BODY)];
    let _ = r.read_exact(&mut body);
    let mut parts = line.split_whitespace();
    Some(Request {
        method: parts.next().unwrap_or("").to_string(),
        url: parts.next().unwrap_or("").to_string(),
        headers,
        body,
    })
}

/// Reads a response head; `(status line, headers)`.
pub fn read_head(r: &mut impl BufRead) -> io::Result<(String, Vec<(String, String)>)> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a response",
        ));
    }
    let status_line = line.trim_end().to_string();
    if !status_line.starts_with("HTTP/1.") {
        return Err(io::Error::other(format!(
            "not an HTTP response: {status_line:?}"
        )));
    }
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside the response head",
            ));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        add_header(&mut headers, l, "too many response headers")?;
    }
    Ok((status_line, headers))
}

fn read_response(mut r: impl BufRead, head_only: bool) -> io::Result<HttpResponse> {
    let (status_line, headers) = read_head(&mut r)?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let get = |n: &str| find_header(&headers, n);
    let body = if head_only || status == 204 || status == 304 {
        Vec::new()
    } else if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        read_chunked(&mut r)?
    } else if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if n > MAX_RESPONSE {
            return Err(io::Error::other("response too large"));
        }
        let mut b = vec![0; n];
        r.read_exact(&mut b)?;
        b
    } else {
        let mut b = Vec::new();
        r.take(MAX_RESPONSE as u64).read_to_end(&mut b)?;
        b
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn read_chunked(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // trailers, up to the empty line (or the end of the stream)
            loop {
                line.clear();
                if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    break;
                }
            }
            return Ok(out);
        }
        if out.len() + size > MAX_RESPONSE {
            return Err(io::Error::other("response too large"));
        }
        let start = out.len();
        out.resize(start + size, 0);
        r.read_exact(&mut out[start..])?;
        line.clear();
        r.read_line(&mut line)?;
    }
}
