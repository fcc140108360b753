//! A tiny HTTP/1.1 registry on 127.0.0.1 that records every request.
//!
//! It answers `PUT` with `201 {"ok":true}` and everything else (packument
//! `GET`s, the update check, …) with `404`. It listens on a port chosen by
//! the OS, serves at most [`MAX_CONNECTIONS`] connections for at most
//! [`LIFETIME`], and stops when dropped. std::net only.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Connections served before the registry stops accepting.
pub const MAX_CONNECTIONS: usize = 64;
/// How long the registry accepts connections at most.
pub const LIFETIME: Duration = Duration::from_secs(300);
/// Requests served on one keep-alive connection at most.
const MAX_REQUESTS_PER_CONNECTION: usize = 64;
/// Largest request body accepted (the PUT carries the tarball in base64).
const MAX_BODY: usize = 64 << 20;

/// One request as received.
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
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct RecordingRegistry {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl RecordingRegistry {
    pub fn start() -> RecordingRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || accept_loop(listener, requests, stop))
        };
        RecordingRegistry {
            addr,
            requests,
            stop,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port())
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

impl Drop for RecordingRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, requests: Arc<Mutex<Vec<Request>>>, stop: Arc<AtomicBool>) {
    let started = Instant::now();
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut served = 0;
    while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME && served < MAX_CONNECTIONS {
        match listener.accept() {
            Ok((stream, _)) => {
                served += 1;
                let requests = Arc::clone(&requests);
                let stop = Arc::clone(&stop);
                workers.push(std::thread::spawn(move || {
                    let _ = serve(stream, &requests, &stop);
                }));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        let _ = w.join();
    }
}

/// Serves requests on one connection until it closes, times out or the
/// registry stops.
fn serve(stream: TcpStream, requests: &Mutex<Vec<Request>>, stop: &AtomicBool) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    // Short read timeouts so a worker notices `stop` while a client idles.
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        let Some(req) = read_request(&mut reader, stop)? else {
            break;
        };
        let (status, body): (&str, &[u8]) = if req.method == "PUT" {
            ("201 Created", b"{\"ok\":true}")
        } else {
            ("404 Not Found", b"{\"error\":\"Not found\"}")
        };
        requests.lock().unwrap().push(req);
        write!(
            writer,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: keep-alive\r\n\r\n",
            body.len()
        )?;
        writer.write_all(body)?;
        writer.flush()?;
    }
    let _ = writer.shutdown(Shutdown::Both);
    Ok(())
}

/// Reads until a complete line, retrying on read timeouts until `stop`.
/// `Ok(None)` at end of stream before any byte.
fn read_line(reader: &mut BufReader<TcpStream>, stop: &AtomicBool) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
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
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
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
    let deadline = Instant::now() + Duration::from_secs(60);
    while got < n {
        match reader.read(&mut out[got..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(k) => got += k,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Reads one request (headers and body) from a connection; `Ok(None)` when
/// the client closed it or the registry is stopping. Shared with
/// [`super::fake_registry`].
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
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        if headers.len() > 200 {
            return Err(io::Error::other("too many headers"));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
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
