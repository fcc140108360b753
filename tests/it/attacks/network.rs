//! Hostile and corporate networks: a loopback HTTPS registry signed by a
//! throwaway CA, one that requires a client certificate, a recording
//! CONNECT proxy, a registry that trickles bytes, gzip bombs and endless
//! bodies, and settings trustpub cannot honour. Where the behaviour is
//! npm's, the real npm runs on the same case as the oracle.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::sandbox::{Run, Sandbox};

/// How long any test server or proxy lives at most.
const LIFETIME: Duration = Duration::from_secs(170);

// ---------------------------------------------------------------------------
// Throwaway PKI

pub(crate) struct Pki {
    dir: PathBuf,
    /// The CA that signed the server's certificate.
    pub(crate) ca: PathBuf,
    /// An unrelated CA.
    pub(crate) other_ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    pub(crate) server: Arc<rustls::ServerConfig>,
    /// The same server, requiring a client certificate signed by the CA.
    server_mtls: Arc<rustls::ServerConfig>,
    /// A server whose certificate (from the CA) names another host.
    pub(crate) server_wrong_name: Arc<rustls::ServerConfig>,
    /// A server whose certificate (from the CA) expired in 2001.
    pub(crate) server_expired: Arc<rustls::ServerConfig>,
}

pub(crate) fn pki(root: &Path) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = root.join("pki");
    std::fs::create_dir_all(&dir).unwrap();
    let ca_of = |cn: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.distinguished_name.push(DnType::CommonName, cn);
        CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
    };
    let ca = ca_of("trustpub test CA");
    let other = ca_of("some other CA");
    let leaf_of = |names: Vec<String>, expired: bool| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names).unwrap();
        if expired {
            p.not_before = rcgen::date_time_ymd(2000, 1, 1);
            p.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        (p.signed_by(&key, &ca).unwrap(), key)
    };
    let leaf = |names: Vec<String>| leaf_of(names, false);
    let plain_server = |(cert, key): (rcgen::Certificate, KeyPair)| {
        let chain = vec![CertificateDer::from(cert.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap(),
        )
    };
    let server_wrong_name = plain_server(leaf(vec!["other.example".into()]));
    let server_expired = plain_server(leaf_of(vec!["localhost".into(), "127.0.0.1".into()], true));
    let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_cert, client_key) = leaf(vec!["client.example".into()]);
    let w = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let chain = vec![CertificateDer::from(server_cert.der().to_vec())];
    let key = || PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key())
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.der().to_vec())).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .unwrap();
    let server_mtls = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key())
        .unwrap();
    Pki {
        ca: w("ca.pem", ca.pem()),
        other_ca: w("other-ca.pem", other.pem()),
        client_cert: w("client.pem", client_cert.pem()),
        client_key: w("client-key.pem", client_key.serialize_pem()),
        server: Arc::new(server),
        server_mtls: Arc::new(server_mtls),
        server_wrong_name,
        server_expired,
        dir,
    }
}

// ---------------------------------------------------------------------------
// Loopback servers

/// What a server does with a request.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    /// A registry: the packument of 1.0.0 on GET, 200 on PUT.
    Registry,
    /// Writes the PUT answer's head one byte every 400 ms.
    TrickleHead,
    /// Writes every answer's head one byte every 400 ms (GET too).
    TrickleAll,
    /// Sends the PUT answer's head, then its body one byte every 400 ms.
    TrickleBody,
    /// Answers the PUT with a gzip bomb (`Content-Encoding: gzip`).
    Bomb,
    /// Answers the PUT with a body that never ends.
    Endless,
}

pub(crate) struct Server {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Server {
    pub(crate) fn start(tls: Option<Arc<rustls::ServerConfig>>, mode: Mode) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            while !stop2.load(Ordering::SeqCst) && start.elapsed() < LIFETIME {
                match listener.accept() {
                    Ok((s, _)) => {
                        let (log, stop, tls) = (log2.clone(), stop2.clone(), tls.clone());
                        std::thread::spawn(move || serve(s, tls, mode, &log, &stop));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Server { port, log, stop }
    }

    pub(crate) fn url(&self, host: &str, https: bool) -> String {
        format!(
            "{}://{host}:{}/",
            if https { "https" } else { "http" },
            self.port
        )
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The log once its connection threads have finished writing to it (no
    /// change for 300 ms; at most 5 s).
    pub(crate) fn settled_log(&self) -> Vec<String> {
        let end = Instant::now() + Duration::from_secs(5);
        let mut last = self.log();
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(300));
            let now = self.log();
            if now == last {
                break;
            }
            last = now;
        }
        last
    }

    pub(crate) fn requests(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|l| !l.starts_with("conn") && !l.starts_with("handshake"))
            .collect()
    }
}

fn serve(
    s: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    mode: Mode,
    log: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) {
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    log.lock().unwrap().push("conn".into());
    match tls {
        Some(cfg) => {
            let conn = rustls::ServerConnection::new(cfg).unwrap();
            let mut stream = rustls::StreamOwned::new(conn, s);
            while stream.conn.is_handshaking() {
                if stream.conn.complete_io(&mut stream.sock).is_err() {
                    log.lock().unwrap().push("handshake failed".into());
                    return;
                }
            }
            let cert = stream.conn.peer_certificates().is_some();
            handle(&mut stream, cert, mode, log, stop);
        }
        None => {
            let mut s = s;
            handle(&mut s, false, mode, log, stop);
        }
    }
}

fn packument(name: &str) -> String {
    json!({
        "name": name,
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {"name": name, "version": "1.0.0", "dist": {
            "tarball": "https://127.0.0.1/x.tgz",
            "integrity": "sha512-AAAA",
            "shasum": "0000000000000000000000000000000000000000"}}}
    })
    .to_string()
}

fn handle<S: Read + Write>(
    s: &mut S,
    cert: bool,
    mode: Mode,
    log: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) {
    let Some(req) = crate::support::http::read_simple_request(&mut BufReader::new(&mut *s)) else {
        return;
    };
    let (method, path) = (req.method, req.url);
    log.lock()
        .unwrap()
        .push(format!("{method} {path} cert={cert}"));
    let reply = |s: &mut S, status: &str, body: &str| {
        let _ = write!(
            s,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = s.flush();
    };
    if method == "GET" && mode != Mode::TrickleAll {
        if mode == Mode::Registry {
            let name = crate::support::http::percent_decode(path.trim_start_matches('/'));
            return reply(s, "200 OK", &packument(&name));
        }
        return reply(s, "404 Not Found", r#"{"error":"not found"}"#);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let alive = || !stop.load(Ordering::SeqCst) && Instant::now() < deadline;
    match mode {
        Mode::Registry => reply(s, "200 OK", r#"{"ok":true}"#),
        Mode::TrickleHead | Mode::TrickleAll => {
            let head =
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
            for b in head {
                if !alive() || s.write_all(&[*b]).and_then(|_| s.flush()).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(400));
            }
        }
        Mode::TrickleBody => {
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n"
            );
            while alive() && s.write_all(b" ").and_then(|_| s.flush()).is_ok() {
                std::thread::sleep(Duration::from_millis(400));
            }
        }
        Mode::Bomb => {
            let bomb = gzip_bomb();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                bomb.len()
            );
            let _ = s.write_all(bomb);
            let _ = s.flush();
        }
        Mode::Endless => {
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
            );
            let chunk = vec![b' '; 64 * 1024];
            // At most 4 GiB, in case the client never stops reading.
            for _ in 0..65536 {
                if !alive() || s.write_all(&chunk).is_err() {
                    return;
                }
            }
        }
    }
}

/// 1 GiB of spaces as 64 gzip members of 16 MiB each (about 1 MB).
fn gzip_bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..16 {
            e.write_all(&chunk).unwrap();
        }
        e.finish().unwrap().repeat(64)
    })
}

/// A plain HTTP proxy that records what it is asked and tunnels CONNECT to
/// loopback targets only.
struct Proxy {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            while !stop2.load(Ordering::SeqCst) && start.elapsed() < LIFETIME {
                match listener.accept() {
                    Ok((s, _)) => {
                        let log = log2.clone();
                        std::thread::spawn(move || tunnel(s, &log));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Proxy { port, log, stop }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn tunnel(s: TcpStream, log: &Mutex<Vec<String>>) {
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut auth = None;
    let mut forward = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "proxy-authorization" {
                auth = Some(v.trim().to_string());
            } else if k != "connection" && k != "proxy-connection" {
                forward.push(h);
            }
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    log.lock().unwrap().push(format!(
        "{method} {target} auth={}",
        auth.as_deref().unwrap_or("-")
    ));
    let mut s = s;
    // CONNECT host:port, or an absolute-form http://host:port/path.
    let (authority, path) = match target.strip_prefix("http://") {
        Some(rest) => match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        },
        None => (target, ""),
    };
    let loopback = authority.starts_with("127.0.0.1:") || authority.starts_with("localhost:");
    let connect = method == "CONNECT";
    let bad = b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    if !loopback || (!connect && path.is_empty()) {
        let _ = s.write_all(bad);
        return;
    }
    let Ok(mut up) = TcpStream::connect(authority) else {
        let _ = s.write_all(bad);
        return;
    };
    up.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    if connect {
        let _ = s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    } else {
        let head = format!(
            "{method} {path} HTTP/1.1\r\n{}connection: close\r\n\r\n",
            forward.concat()
        );
        let _ = up.write_all(head.as_bytes());
    }
    let (mut up_r, mut up_w) = (up.try_clone().unwrap(), up);
    let mut down_w = s.try_clone().unwrap();
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_r, &mut down_w);
        let _ = down_w.shutdown(std::net::Shutdown::Both);
    });
    // Bytes the reader buffered after the head belong to the tunnel.
    let buffered = r.buffer().to_vec();
    let _ = up_w.write_all(&buffered);
    let mut rest = r.into_inner();
    let _ = std::io::copy(&mut rest, &mut up_w);
    let _ = up_w.shutdown(std::net::Shutdown::Both);
    let _ = t.join();
}

// ---------------------------------------------------------------------------
// Helpers

pub(crate) fn package(sb: &Sandbox, name: &str) -> PathBuf {
    sb.package(
        name,
        &json!({"name": name, "version": "2.0.0"}),
        &[("index.js", "module.exports = 1\n")],
    )
}

/// `//host:port/:_authToken=<token>` for an http or https registry URL.
fn token_line(registry: &str, token: &str) -> String {
    let rest = registry
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(registry);
    format!("//{rest}:_authToken={token}\n")
}

/// `trustpub publish <pkg> --registry <registry>` with the planted token
/// for the registry in the user npmrc, plus `npmrc` lines.
pub(crate) fn publish(sb: &Sandbox, pkg: &Path, registry: &str, npmrc: &str) -> Run {
    sb.write(
        &sb.user_npmrc(),
        &format!("{}{npmrc}", token_line(registry, &sb.token)),
    );
    sb.trustpub(["publish"])
        .arg(pkg)
        .arg("--registry")
        .arg(registry)
        .run()
}

/// `npm view <name>` with the same user npmrc: the oracle for whether npm
/// connects.
fn npm_view(sb: &Sandbox, name: &str, registry: &str) -> Run {
    sb.npm([
        "view",
        name,
        "version",
        "--registry",
        registry,
        "--fetch-retries=0",
        "--prefer-online",
    ])
    .run()
}

// ---------------------------------------------------------------------------
// Trust

#[test]
fn a_throwaway_ca_is_trusted_through_cafile_as_npm_trusts_it() {
    let sb = Sandbox::new();
    let pki = pki(&sb.root);
    let reg = Server::start(Some(pki.server.clone()), Mode::Registry);
    let url = reg.url("127.0.0.1", true);
    let pkg = package(&sb, "tp-net-ca");

    // Without the CA: npm refuses the certificate, and so does trustpub, in
    // words, once (no retry of a TLS failure).
    sb.write(&sb.user_npmrc(), "");
    let npm = npm_view(&sb, "tp-net-ca", &url);
    assert_ne!(
        npm.code(),
        Some(0),
        "npm accepted an unknown CA:\n{}",
        npm.describe
    );
    // (A server of its own, so that npm's connections are not counted.)
    let fresh = Server::start(Some(pki.server.clone()), Mode::Registry);
    let run = publish(&sb, &pkg, &fresh.url("127.0.0.1", true), "");
    run.expect_code(1)
        .stderr_has("unknown certificate authority")
        .stderr_has("cafile")
        .stderr_has("NODE_EXTRA_CA_CERTS");
    // The packument check fails; the PUT is not even tried after that (a
    // certificate problem does not fix itself), nor retried.
    assert_eq!(
        fresh.settled_log(),
        ["conn", "handshake failed"],
        "TLS failures were retried:\n{}",
        run.describe
    );

    // With cafile: npm reads the packument, trustpub publishes.
    let line = format!("cafile={}\n", pki.ca.display());
    sb.write(&sb.user_npmrc(), &line);
    npm_view(&sb, "tp-net-ca", &url).success();
    publish(&sb, &pkg, &url, &line).success();
    assert!(reg
        .requests()
        .iter()
        .any(|l| l.starts_with("PUT /tp-net-ca")));
}

#[test]
fn a_wrong_host_name_or_an_expired_certificate_is_named_and_not_retried() {
    let sb = Sandbox::new();
    let pki = pki(&sb.root);
    let line = format!("cafile={}\n", pki.ca.display());
    let pkg = package(&sb, "tp-net-badcert");
    for (config, words) in [
        (pki.server_wrong_name.clone(), "is for another host name"),
        (pki.server_expired.clone(), "has expired"),
    ] {
        // npm refuses it too.
        let npm_reg = Server::start(Some(config.clone()), Mode::Registry);
        sb.write(&sb.user_npmrc(), &line);
        let npm = npm_view(&sb, "tp-net-badcert", &npm_reg.url("127.0.0.1", true));
        assert_ne!(npm.code(), Some(0), "npm accepted it:\n{}", npm.describe);
        let reg = Server::start(Some(config), Mode::Registry);
        let run = publish(&sb, &pkg, &reg.url("127.0.0.1", true), &line);
        run.expect_code(1).stderr_has(words).stderr_lacks("retry");
        assert_eq!(
            reg.settled_log(),
            ["conn", "handshake failed"],
            "{}",
            run.describe
        );
    }
}

#[test]
fn node_extra_ca_certs_adds_a_root_unless_cafile_replaces_them() {
    let sb = Sandbox::new();
    let pki = pki(&sb.root);
    let reg = Server::start(Some(pki.server.clone()), Mode::Registry);
    let url = reg.url("localhost", true);
    let pkg = package(&sb, "tp-net-extra");
    let extra = pki.ca.display().to_string();

    // NODE_EXTRA_CA_CERTS alone: trusted by npm and trustpub.
    sb.write(&sb.user_npmrc(), "");
    sb.npm(["view", "tp-net-extra", "version", "--registry", &url])
        .env("NODE_EXTRA_CA_CERTS", &extra)
        .run()
        .success();
    sb.write(&sb.user_npmrc(), &token_line(&url, &sb.token));
    sb.trustpub(["publish"])
        .arg(&pkg)
        .arg("--registry")
        .arg(&url)
        .env("NODE_EXTRA_CA_CERTS", &extra)
        .run()
        .success();

    // With a cafile of another CA, NODE_EXTRA_CA_CERTS no longer applies:
    // Node ignores it when `ca` is given (checked on a name npm has not
    // cached), and so does trustpub.
    let line = format!("cafile={}\n", pki.other_ca.display());
    sb.write(&sb.user_npmrc(), &line);
    let npm = sb
        .npm([
            "view",
            "tp-net-extra-fresh",
            "version",
            "--registry",
            &url,
            "--fetch-retries=0",
        ])
        .env("NODE_EXTRA_CA_CERTS", &extra)
        .run();
    assert_ne!(
        npm.code(),
        Some(0),
        "npm trusted NODE_EXTRA_CA_CERTS next to cafile:\n{}",
        npm.describe
    );
    sb.write(
        &sb.user_npmrc(),
        &format!("{}{line}", token_line(&url, &sb.token)),
    );
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .arg("--registry")
        .arg(&url)
        .arg("--tolerate-republish")
        .env("NODE_EXTRA_CA_CERTS", &extra)
        .run();
    run.expect_code(1)
        .stderr_has("unknown certificate authority");
    // Without NODE_EXTRA_CA_CERTS, the cafile alone does not trust it.
    sb.write(&sb.user_npmrc(), &line);
    let npm = sb
        .npm([
            "view",
            "tp-net-extra-other",
            "version",
            "--registry",
            &url,
            "--fetch-retries=0",
        ])
        .run();
    assert_ne!(npm.code(), Some(0), "{}", npm.describe);
    sb.write(
        &sb.user_npmrc(),
        &format!("{}{line}", token_line(&url, &sb.token)),
    );
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .arg("--registry")
        .arg(&url)
        .arg("--tolerate-republish")
        .run();
    run.expect_code(1)
        .stderr_has("unknown certificate authority");
}

#[test]
fn strict_ssl_false_connects_with_a_loud_warning_like_npm() {
    let sb = Sandbox::new();
    let pki = pki(&sb.root);
    let reg = Server::start(Some(pki.server.clone()), Mode::Registry);
    let url = reg.url("127.0.0.1", true);
    let pkg = package(&sb, "tp-net-insecure");
    sb.write(&sb.user_npmrc(), "strict-ssl=false\n");
    npm_view(&sb, "tp-net-insecure", &url).success();
    let run = publish(&sb, &pkg, &url, "strict-ssl=false\n");
    run.success()
        .stderr_has("strict-ssl=false")
        .stderr_has("NOT verified");
}

#[test]
fn certfile_and_keyfile_are_sent_as_a_client_certificate() {
    let sb = Sandbox::new();
    let pki = pki(&sb.root);
    let reg = Server::start(Some(pki.server_mtls.clone()), Mode::Registry);
    let url = reg.url("127.0.0.1", true);
    let pkg = package(&sb, "tp-net-mtls");
    let ca = format!("cafile={}\n", pki.ca.display());
    let nerf = format!("//127.0.0.1:{}/", reg.port);
    let certs = format!(
        "{ca}{nerf}:certfile={}\n{nerf}:keyfile={}\n",
        pki.client_cert.display(),
        pki.client_key.display()
    );

    // npm sends it.
    sb.write(&sb.user_npmrc(), &certs);
    npm_view(&sb, "tp-net-mtls", &url).success();
    assert!(reg
        .requests()
        .iter()
        .any(|l| l == "GET /tp-net-mtls cert=true"));

    // Without it, the server refuses the handshake and trustpub says why.
    let run = publish(&sb, &pkg, &url, &ca);
    run.expect_code(1).stderr_has("client certificate");

    // With it, the publish goes through, and it was really sent.
    let run = publish(&sb, &pkg, &url, &certs);
    run.success();
    assert!(
        reg.requests()
            .iter()
            .any(|l| l == "PUT /tp-net-mtls cert=true"),
        "{:?}\n{}",
        reg.log(),
        run.describe
    );
    let _ = &pki.dir;
}

// ---------------------------------------------------------------------------
// Proxy

#[test]
fn https_proxy_and_no_proxy_are_honoured_as_npm_honours_them() {
    let sb = Sandbox::new();
    let pki = pki(&sb.root);
    let reg = Server::start(Some(pki.server.clone()), Mode::Registry);
    let proxy = Proxy::start();
    let url = reg.url("127.0.0.1", true);
    let pkg = package(&sb, "tp-net-proxy");
    let ca = format!("cafile={}\n", pki.ca.display());
    let password = "proxy-Secret-7f3a";
    sb.add_secret(password);
    let proxy_url = format!("http://builder:{password}@127.0.0.1:{}", proxy.port);
    let target = format!("CONNECT 127.0.0.1:{}", reg.port);

    // HTTPS_PROXY from the environment: both tunnel through it, with the
    // proxy's credentials.
    sb.write(&sb.user_npmrc(), &ca);
    sb.npm(["view", "tp-net-proxy", "version", "--registry", &url])
        .env("HTTPS_PROXY", &proxy_url)
        .run()
        .success();
    let npm_log = proxy.log();
    assert!(
        npm_log.iter().any(|l| l.starts_with(&target)),
        "{npm_log:?}"
    );
    sb.write(
        &sb.user_npmrc(),
        &format!("{}{ca}", token_line(&url, &sb.token)),
    );
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .arg("--registry")
        .arg(&url)
        .env("HTTPS_PROXY", &proxy_url)
        .run();
    run.success();
    let tp_log: Vec<String> = proxy.log()[npm_log.len()..].to_vec();
    assert!(
        tp_log
            .iter()
            .any(|l| l.starts_with(&target) && l.contains("Basic ")),
        "trustpub did not use the proxy: {tp_log:?}\n{}",
        run.describe
    );

    // no_proxy naming the host: neither uses the proxy.
    let seen = proxy.log().len();
    sb.write(&sb.user_npmrc(), &ca);
    sb.npm(["view", "tp-net-proxy", "version", "--registry", &url])
        .env("HTTPS_PROXY", &proxy_url)
        .env("NO_PROXY", "127.0.0.1")
        .run()
        .success();
    assert_eq!(
        proxy.log().len(),
        seen,
        "npm used the proxy despite NO_PROXY"
    );
    sb.write(
        &sb.user_npmrc(),
        &format!("{}{ca}", token_line(&url, &sb.token)),
    );
    sb.trustpub(["publish"])
        .arg(&pkg)
        .arg("--registry")
        .arg(&url)
        .arg("--tolerate-republish")
        .env("HTTPS_PROXY", &proxy_url)
        .env("no_proxy", "127.0.0.1")
        .run();
    assert_eq!(
        proxy.log().len(),
        seen,
        "trustpub used the proxy despite no_proxy"
    );

    // `proxy` in the npmrc (https-proxy unset) is used for https too.
    let line = format!("{ca}proxy={proxy_url}\n");
    let run = publish(&sb, &pkg, &url, &line);
    assert!(
        proxy.log().len() > seen,
        "trustpub ignored proxy= in the npmrc:\n{}",
        run.describe
    );
}

#[test]
fn the_proxy_setting_and_noproxy_precedence_follow_npm() {
    let sb = Sandbox::new();
    let reg = Server::start(None, Mode::Registry);
    let proxy = Proxy::start();
    let url = reg.url("127.0.0.1", false);
    let pkg = package(&sb, "tp-net-proxy-http");
    let line = format!("proxy=http://127.0.0.1:{}/\n", proxy.port);
    let through = |from: usize| {
        proxy.log()[from..]
            .iter()
            .any(|l| l.contains(&format!("127.0.0.1:{}", reg.port)))
    };

    // `proxy=` for an http registry: npm sends absolute-form requests to the
    // proxy, trustpub tunnels with CONNECT; both go through it.
    sb.write(&sb.user_npmrc(), &line);
    let seen = proxy.log().len();
    npm_view(&sb, "tp-net-proxy-http", &url).success();
    assert!(through(seen), "npm bypassed the proxy: {:?}", proxy.log());
    let seen = proxy.log().len();
    publish(&sb, &pkg, &url, &line).success();
    assert!(
        through(seen),
        "trustpub bypassed the proxy: {:?}",
        proxy.log()
    );

    // `noproxy` in the npmrc does not replace NO_PROXY: npm's agent checks
    // the environment's list again, so a NO_PROXY naming the registry still
    // sends it direct.
    let lines = format!("{line}noproxy=example.org\n");
    sb.write(&sb.user_npmrc(), &lines);
    let seen = proxy.log().len();
    sb.npm(["view", "tp-net-proxy-http-2", "version", "--registry", &url])
        .env("NO_PROXY", "127.0.0.1")
        .run()
        .success();
    assert_eq!(
        proxy.log().len(),
        seen,
        "npm ignored NO_PROXY next to noproxy"
    );
    sb.write(
        &sb.user_npmrc(),
        &format!("{}{lines}", token_line(&url, &sb.token)),
    );
    let seen = proxy.log().len();
    sb.trustpub(["publish"])
        .arg(&pkg)
        .arg("--registry")
        .arg(&url)
        .arg("--tolerate-republish")
        .env("NO_PROXY", "127.0.0.1")
        .run()
        .success();
    assert_eq!(
        proxy.log().len(),
        seen,
        "trustpub ignored NO_PROXY next to noproxy"
    );

    // noproxy naming the registry: neither uses the proxy.
    let lines = format!("{line}noproxy=127.0.0.1\n");
    sb.write(&sb.user_npmrc(), &lines);
    let seen = proxy.log().len();
    sb.npm(["view", "tp-net-proxy-http-3", "version", "--registry", &url])
        .run()
        .success();
    assert_eq!(
        proxy.log().len(),
        seen,
        "npm used the proxy despite noproxy"
    );
    publish(&sb, &pkg, &url, &lines);
    assert_eq!(
        proxy.log().len(),
        seen,
        "trustpub used the proxy despite noproxy"
    );
}

// ---------------------------------------------------------------------------
// Settings trustpub refuses

#[test]
fn unsupported_or_misplaced_network_settings_stop_with_exit_2() {
    let sb = Sandbox::new();
    let reg = Server::start(None, Mode::Registry);
    let url = reg.url("127.0.0.1", false);
    let pkg = package(&sb, "tp-net-refused");
    let run = publish(&sb, &pkg, &url, "local-address=127.0.0.1\n");
    run.expect_code(2)
        .stderr_has("local-address")
        .stderr_has(".npmrc");
    let secret = "socks-Pass-91";
    sb.add_secret(secret);
    let run = publish(
        &sb,
        &pkg,
        &url,
        &format!("https-proxy=socks5://u:{secret}@127.0.0.1:1080\n"),
    );
    run.expect_code(2).stderr_has("SOCKS");
    let run = publish(
        &sb,
        &pkg,
        &url,
        &format!("cafile={}\n", sb.root.join("missing.pem").display()),
    );
    run.expect_code(2)
        .stderr_has("cafile")
        .stderr_has("missing.pem");
    let evil = sb.package(
        "tp-net-pc",
        &json!({"name": "tp-net-pc", "version": "2.0.0",
                "publishConfig": {"https-proxy": "http://127.0.0.1:9/"}}),
        &[("index.js", "")],
    );
    let run = publish(&sb, &evil, &url, "");
    run.expect_code(2)
        .stderr_has("https-proxy")
        .stderr_has("publishConfig");
    assert!(reg.requests().iter().all(|l| !l.starts_with("PUT")));
}

#[test]
fn a_line_break_in_a_token_or_an_ftp_registry_is_a_local_error() {
    let sb = Sandbox::new();
    let reg = Server::start(None, Mode::Registry);
    let url = reg.url("127.0.0.1", false);
    let pkg = package(&sb, "tp-net-crlf");
    sb.write(&sb.user_npmrc(), "");
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .arg("--registry")
        .arg(&url)
        .env("NODE_AUTH_TOKEN", "npm_abc\r\nX-Injected: yes")
        .run();
    run.expect_code(2).stderr_has("line break");
    assert!(reg.requests().iter().all(|l| !l.starts_with("PUT")));

    let run = publish(&sb, &pkg, &format!("ftp://127.0.0.1:{}/", reg.port), "");
    run.expect_code(2);
    assert!(
        !run.stderr().contains("attempt"),
        "an ftp:// registry was retried:\n{}",
        run.describe
    );
}

// ---------------------------------------------------------------------------
// Bounded answers and time

#[test]
fn a_gzip_bomb_or_an_endless_answer_is_refused_not_buffered() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "tp-net-bomb");
    for mode in [Mode::Bomb, Mode::Endless] {
        let reg = Server::start(None, mode);
        let url = reg.url("127.0.0.1", false);
        sb.write(&sb.user_npmrc(), &token_line(&url, &sb.token));
        let (out, peak_kib) = run_measured(&sb, &pkg, &url);
        assert_eq!(out.status.code(), Some(1), "{}", sb.redact(&out.describe()));
        assert!(
            out.stderr.contains("larger than 67108864 bytes"),
            "{}",
            sb.redact(&out.describe())
        );
        assert!(
            peak_kib < 256 * 1024,
            "peak memory {peak_kib} KiB:\n{}",
            sb.redact(&out.describe())
        );
    }
}

/// `trustpub publish` in the sandbox's environment, with the peak resident
/// memory seen in `/proc/<pid>/status` (`VmHWM`) while it ran.
fn run_measured(sb: &Sandbox, pkg: &Path, registry: &str) -> (crate::support::Output, u64) {
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(crate::support::trustpub_bin());
    cmd.arg("publish").arg(pkg).arg("--registry").arg(registry);
    crate::support::apply_env(&mut cmd, &sb.home);
    cmd.env("npm_config_globalconfig", &sb.globalconfig)
        .env("npm_config_fetch_retry_mintimeout", "100")
        .env("npm_config_fetch_retry_maxtimeout", "1000")
        .current_dir(&sb.root);
    let dir = tempfile::tempdir_in(&sb.root).unwrap();
    let (o, e) = (dir.path().join("out"), dir.path().join("err"));
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap());
    let command = format!("{cmd:?}");
    let mut child = cmd.spawn().expect("start trustpub");
    let status_file = format!("/proc/{}/status", child.id());
    assert!(
        Path::new(&status_file).exists(),
        "this test reads peak memory from /proc/<pid>/status, which this system lacks"
    );
    let start = Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak = peak.max(hwm.unwrap_or(0));
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > crate::support::TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command} did not finish within {:?}",
                crate::support::TIMEOUT
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = crate::support::Output {
        status,
        stdout: std::fs::read_to_string(&o).unwrap_or_default(),
        stderr: std::fs::read_to_string(&e).unwrap_or_default(),
        command,
    };
    crate::support::sandbox::assert_no_leak(
        &crate::support::sandbox::Run {
            describe: sb.redact(&out.describe()),
            out: crate::support::Output {
                status: out.status,
                stdout: out.stdout.clone(),
                stderr: out.stderr.clone(),
                command: out.command.clone(),
            },
        },
        std::slice::from_ref(&sb.token),
    );
    (out, peak)
}

#[test]
fn a_trickling_registry_is_cut_off_at_fetch_timeout() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "tp-net-trickle");
    // Headers trickling: each attempt ends at fetch-timeout, retried as npm
    // retries a request timeout.
    let reg = Server::start(None, Mode::TrickleHead);
    let url = reg.url("127.0.0.1", false);
    let run = publish(&sb, &pkg, &url, "fetch-timeout=1500\nfetch-retries=1\n");
    run.expect_code(1).stderr_has("fetch-timeout (1500 ms)");
    let puts = reg
        .requests()
        .iter()
        .filter(|l| l.starts_with("PUT"))
        .count();
    assert!(
        puts <= 2,
        "more attempts than fetch-retries allows: {:?}",
        reg.log()
    );
    // Everything trickling: the registry gets no more time than npm's worst
    // case for its packument GET and PUT (2 × 3 attempts × fetch-timeout),
    // although trustpub also checks the packument after each failed upload.
    let reg = Server::start(None, Mode::TrickleAll);
    let url = reg.url("127.0.0.1", false);
    let run = publish(&sb, &pkg, &url, "fetch-timeout=1000\nfetch-retries=2\n");
    run.expect_code(1).stderr_has("npm's worst case");
    let sent = reg.requests().len();
    assert!(
        sent <= 6,
        "{sent} requests: {:?}\n{}",
        reg.log(),
        run.describe
    );
    // Body trickling: the deadline covers the body too, and (as in npm) a
    // body timeout is not retried.
    let reg = Server::start(None, Mode::TrickleBody);
    let url = reg.url("127.0.0.1", false);
    let run = publish(&sb, &pkg, &url, "fetch-timeout=1500\n");
    run.expect_code(1)
        .stderr_has("did not arrive within fetch-timeout (1500 ms)");
    let puts = reg
        .requests()
        .iter()
        .filter(|l| l.starts_with("PUT"))
        .count();
    assert_eq!(puts, 1, "{:?}", reg.log());
}

// ---------------------------------------------------------------------------
// Tokens that cannot be sent

#[test]
fn an_id_token_with_a_line_break_or_over_64_kib_stops_before_any_request() {
    use crate::trusted::World;
    let w = World::gitlab("net-bad-id");
    let good = w.gitlab_id_token(&w.proxy.audience(), false);
    let injected = format!("{good}\r\nX-Injected: yes");
    let huge = format!("{good}{}", "A".repeat(70 * 1024));
    w.sb.add_secret(&injected);
    w.sb.add_secret(&huge);
    for (id, words) in [
        (injected.as_str(), "line break"),
        (huge.as_str(), "more than the 65536 bytes"),
    ] {
        let run = w.publish_with_id_token("GITLAB_CI", id).run();
        run.expect_code(2)
            .stderr_has(words)
            .stderr_has("NPM_ID_TOKEN");
        assert!(
            w.proxy.exchanges().is_empty(),
            "the id token was sent:\n{}",
            w.describe(&run)
        );
        assert!(!run.stderr().contains("retry"), "{}", w.describe(&run));
        w.check_leaks(&run);
    }
}

/// Review finding: a FIFO given as a certificate file blocked forever. It
/// is refused as such, at once (exit 2).
#[test]
fn a_fifo_as_a_certificate_file_is_refused_without_blocking() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "tp-net-fifo");
    let fifo = sb.root.join("ca-fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(status.success());
    let run = sb
        .trustpub([
            "publish",
            "--dry-run",
            "--registry",
            "https://registry.invalid/",
        ])
        .arg(&pkg)
        .env("NODE_EXTRA_CA_CERTS", &fifo)
        .run();
    run.expect_code(2)
        .stderr_has("NODE_EXTRA_CA_CERTS")
        .stderr_has("FIFO");
    let run = publish(
        &sb,
        &pkg,
        "https://registry.invalid/",
        &format!("cafile={}\n", fifo.display()),
    );
    run.expect_code(2).stderr_has("cafile").stderr_has("FIFO");
}
