//! Verdaccio 5.33.0, the real registry the publish tests publish to.
//!
//! One instance serves the whole test binary: started on first use by
//! `tests/tools/verdaccio-harness.js` on 127.0.0.1 with an OS-chosen port and
//! temporary storage. It stops by itself (and deletes its storage) when this
//! process exits, because the harness watches its standard input, which only
//! this process holds.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::manifest_dir;

pub struct Verdaccio {
    /// `http://127.0.0.1:<port>/`
    pub url: String,
    _stdin: Mutex<ChildStdin>,
}

/// `tests/tools/node_modules`, installed from the lockfile if missing.
/// Panics with the reason if that is impossible: these tests never skip.
pub fn ensure_tools() -> PathBuf {
    static DONE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let tools = manifest_dir().join("tests/tools");
        // Everything the lockfile pins that the tests run (an older checkout
        // may lack a tool added since: then `npm ci` installs it).
        let installed = || {
            [
                "node_modules/verdaccio/package.json",
                "node_modules/npm/bin/npm-cli.js",
                "node_modules/npm10/bin/npx-cli.js",
                "node_modules/pnpm10/bin/pnpm.cjs",
                "node_modules/@yarnpkg/cli-dist/bin/yarn.js",
                "node_modules/bun/package.json",
            ]
            .iter()
            .all(|m| tools.join(m).exists())
        };
        if installed() {
            return Ok(tools);
        }
        // Serialise with other test binaries installing at the same time.
        let lock_path = tools.join(".install.lock");
        let lock = std::fs::File::create(&lock_path).map_err(|e| e.to_string())?;
        lock.lock().map_err(|e| e.to_string())?;
        if !installed() {
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--userconfig", "/dev/null", "--prefix"])
                .arg(&tools)
                .output()
                .map_err(|e| {
                    format!("cannot run npm to install the test tools (Node.js and npm are required): {e}")
                })?;
            if !out.status.success() {
                return Err(format!(
                    "`npm ci --prefix tests/tools` failed; the publish tests need Verdaccio from the npm registry:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        Ok(tools)
    })
    .clone()
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The shared instance.
pub fn shared() -> &'static Verdaccio {
    static V: OnceLock<Verdaccio> = OnceLock::new();
    V.get_or_init(start)
}

fn start() -> Verdaccio {
    let tools = ensure_tools();
    let mut child = Command::new("node")
        .arg(tools.join("verdaccio-harness.js"))
        .current_dir(&tools)
        .env("TRUSTPUB_VERDACCIO_MAX_SECONDS", "1800")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start Verdaccio with node: {e}"));
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if let Some(url) = v.get("url").and_then(|u| u.as_str()) {
                    let _ = tx.send(url.to_string());
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(url) => break url,
            Err(_) if Instant::now() > deadline => panic!("Verdaccio did not start within 60 s"),
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("Verdaccio exited at start-up ({status}); see its output above");
                }
            }
        }
    };
    // The child is not waited for: it ends when our stdin handle closes.
    std::mem::forget(child);
    Verdaccio {
        url,
        _stdin: Mutex::new(stdin),
    }
}

impl Verdaccio {
    /// Creates a user and returns its token (a planted secret for the tests).
    pub fn add_user(&self, name: &str) -> String {
        // One at a time: Verdaccio's htpasswd plugin answers two creations
        // at the same moment with 403 "bad username/password" (its file
        // lock), which made tests that start together fail now and then.
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let password = format!("pw-{name}-{}", std::process::id());
        let body = serde_json::json!({ "name": name, "password": password }).to_string();
        let resp = http(
            "PUT",
            &format!("{}-/user/org.couchdb.user:{name}", self.url),
            &[("content-type", "application/json")],
            body.as_bytes(),
        );
        assert!(
            resp.0 == 201 || resp.0 == 200,
            "creating user {name}: {} {}",
            resp.0,
            resp.1
        );
        let v: serde_json::Value = serde_json::from_str(&resp.1).expect("JSON from Verdaccio");
        v["token"].as_str().expect("a token").to_string()
    }

    /// The stored packument of a package (`None` on 404).
    pub fn packument(&self, name: &str) -> Option<serde_json::Value> {
        let escaped = name.replace('/', "%2f");
        let (status, body) = http(
            "GET",
            &format!("{}{escaped}", self.url),
            &[("accept", "application/json")],
            b"",
        );
        match status {
            200 => Some(serde_json::from_str(&body).expect("packument JSON")),
            404 => None,
            s => panic!("GET packument {name}: {s} {body}"),
        }
    }
}

/// A minimal HTTP/1.1 client for the tests (no keep-alive): `(status,
/// body)`; panics if the request fails ([`super::http::request`]).
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let r = super::http::request(method, url, headers, body)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    (r.status, r.text())
}
