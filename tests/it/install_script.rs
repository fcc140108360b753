//! `install.sh`, `scripts/pin-release` and the GitHub Action's scripts
//! (`action/setup.sh`, `action/run.sh`), run for real against a loopback
//! fake of the release download.
//!
//! The release is built here: one archive per target in the layout the
//! release workflow makes (`trustpub-<V>-<target>/trustpub`), the one for
//! this machine holding the real debug `trustpub` binary, and a
//! `SHA256SUMS`. A copy of `install.sh` is pinned to those sums by the real
//! `scripts/pin-release` (python3), then run with `sh` and `dash` (and
//! `bash` for the action, as `shell: bash` does on the runners).
//!
//! `run.sh` is run with a fake `trustpub` (a shell script that records its
//! arguments and prints a report the test chose) to check that inputs map
//! to flags and nothing more, and that outputs are written as the runner
//! reads them.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::support::http::{self, Next, Server};
use crate::support::sandbox::planted_token;
use crate::support::{manifest_dir, run, set_mode, trustpub_bin, Output};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

/// The release target install.sh detects on this machine.
fn host_target() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "x86_64-unknown-linux-musl",
        ("linux", "aarch64") => "aarch64-unknown-linux-musl",
        ("macos", "x86_64") => "x86_64-apple-darwin",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        (os, arch) => panic!(
            "the install.sh tests need a machine install.sh has a build for; this is {os}/{arch}"
        ),
    }
}

fn archive_name(target: &str) -> String {
    let ext = if target.contains("windows") {
        "zip"
    } else {
        "tar.gz"
    };
    format!("trustpub-{VERSION}-{target}.{ext}")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn checked(out: Output) -> Output {
    assert!(out.status.success(), "{}", out.describe());
    out
}

/// The release archives (name → bytes) and their SHA256SUMS, built once.
struct Release {
    dir: PathBuf,
    archives: BTreeMap<String, Vec<u8>>,
}

impl Release {
    fn sums_path(&self) -> PathBuf {
        self.dir.join("SHA256SUMS")
    }
    fn host_archive(&self) -> String {
        archive_name(host_target())
    }
}

fn release() -> &'static Release {
    static R: OnceLock<Release> = OnceLock::new();
    R.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("install-script-release-{}", std::process::id()));
        prune_old_releases(dir.parent().unwrap());
        let _ = fs::remove_dir_all(&dir);
        let stage = dir.join("stage");
        fs::create_dir_all(&stage).unwrap();
        let mut archives = BTreeMap::new();
        let mut sums = String::new();
        for target in TARGETS {
            let stem = format!("trustpub-{VERSION}-{target}");
            let top = stage.join(&stem);
            fs::create_dir_all(&top).unwrap();
            fs::write(top.join("README.md"), "trustpub\n").unwrap();
            let name = archive_name(target);
            if target.contains("windows") {
                // Only pinned and served here, never run: a real zip all the same.
                fs::write(top.join("trustpub.exe"), b"MZ not really\n").unwrap();
                let script = "import sys, zipfile\n\
                    with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
                    \x20   for p in sys.argv[3:]: z.write(sys.argv[2] + '/' + p, p)\n";
                let mut cmd = Command::new("python3");
                cmd.args(["-c", script])
                    .arg(dir.join(&name))
                    .arg(&stage)
                    .arg(format!("{stem}/trustpub.exe"))
                    .arg(format!("{stem}/README.md"));
                checked(run(cmd, &dir, "zip"));
            } else {
                if target == host_target() {
                    fs::copy(trustpub_bin(), top.join("trustpub")).unwrap();
                } else {
                    fs::write(
                        top.join("trustpub"),
                        "#!/bin/sh\necho wrong target\nexit 9\n",
                    )
                    .unwrap();
                }
                set_mode(&top.join("trustpub"), 0o755).unwrap();
                let mut cmd = Command::new("tar");
                cmd.arg("-czf")
                    .arg(dir.join(&name))
                    .arg("-C")
                    .arg(&stage)
                    .arg(&stem);
                checked(run(cmd, &dir, "tar"));
            }
            let bytes = fs::read(dir.join(&name)).unwrap();
            sums.push_str(&format!("{}  {name}\n", sha256_hex(&bytes)));
            archives.insert(name, bytes);
        }
        // The staged binary copy is large; the archives are what is served.
        let _ = fs::remove_dir_all(&stage);
        // Another file in the release, as SHA256SUMS may list: ignored.
        sums.push_str(&format!("{}  SHA256SUMS.sig\n", "ab".repeat(32)));
        fs::write(dir.join("SHA256SUMS"), sums).unwrap();
        Release { dir, archives }
    })
}

/// Removes the release directories earlier test runs left (the static
/// above is never dropped): those not touched for an hour.
fn prune_old_releases(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600));
        if old
            && e.file_name()
                .to_string_lossy()
                .starts_with("install-script-release-")
        {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

fn pin_release(args: &[&std::ffi::OsStr], scratch: &Path) -> Output {
    let mut cmd = Command::new("python3");
    cmd.arg(manifest_dir().join("scripts/pin-release"))
        .args(args);
    run(cmd, scratch, "pin-release")
}

/// The repository's install.sh with its pinned block emptied (as before
/// the first release), whatever the checkout pins.
fn unpinned_install_sh() -> String {
    let text = fs::read_to_string(manifest_dir().join("install.sh")).unwrap();
    let begin = "# BEGIN PINNED RELEASE (written by scripts/pin-release; do not edit by hand)\n";
    let end = "# END PINNED RELEASE\n";
    let (head, rest) = text
        .split_once(begin)
        .expect("install.sh has no pinned block");
    let (_, tail) = rest
        .split_once(end)
        .expect("install.sh has no end of the pinned block");
    format!("{head}{begin}pinned_version=''\npinned_sums='\n'\n{end}{tail}")
}

/// A copy of install.sh pinned to [`release`] by the real pin-release.
fn pinned_install_sh(dir: &Path) -> PathBuf {
    let path = dir.join("install.sh");
    fs::write(&path, unpinned_install_sh()).unwrap();
    let r = release();
    let out = checked(pin_release(
        &[
            "--version".as_ref(),
            VERSION.as_ref(),
            "--sums".as_ref(),
            r.sums_path().as_os_str(),
            "--install-sh".as_ref(),
            path.as_os_str(),
        ],
        dir,
    ));
    assert!(out.stdout.contains("pins trustpub"), "{}", out.describe());
    path
}

// ---------------------------------------------------------------------------
// The fake release download

#[derive(Clone)]
enum Serve {
    /// Every archive as built.
    Release,
    /// This archive's bytes replaced.
    Tampered(String, Vec<u8>),
    /// 404 for everything.
    NotFound,
    /// The full content-length, half the body, then the connection closes.
    Truncated,
    /// The full content-length, half the body, then nothing until the
    /// server stops (at most [`http::MAX_STALL`]).
    Stalled,
}

struct Download {
    server: Server,
    /// `METHOD /path` and the user agent of each request.
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl Download {
    fn start(mode: Serve) -> Download {
        let files = release().archives.clone();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let server = Server::start(
            32,
            Duration::from_secs(170),
            move |stream, stop: &AtomicBool| {
                let _ = http::serve_connection(stream, stop, 8, |req, w| {
                    let path = http::path_of(&req.url).to_string();
                    let agent = req.header("user-agent").unwrap_or_default().to_string();
                    seen.lock()
                        .unwrap()
                        .push((format!("{} {path}", req.method), agent));
                    let name = path.trim_start_matches('/');
                    let body = match &mode {
                        Serve::NotFound => None,
                        Serve::Tampered(n, b) if n == name => Some(b.clone()),
                        _ => files.get(name).cloned(),
                    };
                    let Some(body) = body else {
                        http::write_response(
                            w,
                            404,
                            &[("content-type", "text/plain")],
                            b"no\n",
                            true,
                        )?;
                        return Ok(Next::KeepAlive);
                    };
                    if let Serve::Truncated | Serve::Stalled = mode {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/gzip\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        w.write_all(head.as_bytes())?;
                        w.write_all(&body[..body.len() / 2])?;
                        w.flush()?;
                        if let Serve::Stalled = mode {
                            http::stall(http::MAX_STALL, stop);
                        }
                        return Ok(Next::Close);
                    }
                    http::write_response(
                        w,
                        200,
                        &[("content-type", "application/octet-stream")],
                        &body,
                        true,
                    )?;
                    Ok(Next::KeepAlive)
                });
            },
        );
        Download { server, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(r, _)| r.clone())
            .collect()
    }

    fn user_agents(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, a)| a.clone())
            .collect()
    }
}

/// A scratch place for one install: `to` (the destination), `tmp` (TMPDIR,
/// which must be empty again afterwards) and `home`.
struct Place {
    _dir: tempfile::TempDir,
    root: PathBuf,
    to: PathBuf,
    tmp: PathBuf,
    home: PathBuf,
}

impl Place {
    fn new() -> Place {
        let dir = tempfile::Builder::new()
            .prefix("trustpub-install-")
            .tempdir()
            .unwrap();
        let root = dir.path().canonicalize().unwrap();
        let p = Place {
            to: root.join("bin"),
            tmp: root.join("tmp"),
            home: root.join("home"),
            root,
            _dir: dir,
        };
        fs::create_dir_all(&p.tmp).unwrap();
        fs::create_dir_all(&p.home).unwrap();
        p
    }

    /// Runs `shell install_sh --to <to> args…` with TRUSTPUB_DOWNLOAD_URL
    /// set to `base` (when given) in a minimal environment.
    fn install(&self, shell: &str, install_sh: &Path, base: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new(shell);
        cmd.arg(install_sh)
            .arg("--to")
            .arg(&self.to)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("TMPDIR", &self.tmp)
            .current_dir(&self.root);
        if let Some(b) = base {
            cmd.env("TRUSTPUB_DOWNLOAD_URL", b);
        }
        run(cmd, &self.root, "install")
    }

    fn installed(&self) -> PathBuf {
        self.to.join("trustpub")
    }

    /// Nothing left behind in TMPDIR, and nothing but `keep` in `to`.
    fn assert_clean(&self, keep: &[&str], out: &Output) {
        assert_eq!(
            crate::support::dir_names(&self.tmp),
            Vec::<String>::new(),
            "temporary files left behind:\n{}",
            out.describe()
        );
        let mut left = if self.to.exists() {
            crate::support::dir_names(&self.to)
        } else {
            Vec::new()
        };
        left.sort();
        assert_eq!(left, keep, "in the destination:\n{}", out.describe());
    }
}

fn dash() -> &'static str {
    let ok = Command::new("dash")
        .args(["-c", "exit 0"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test runs install.sh under dash (the /bin/sh of Debian and Ubuntu); install it: apt-get install dash"
    );
    "dash"
}

fn installs_and_runs(shell: &str) {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let dl = Download::start(Serve::Release);
    let out = place.install(shell, &sh, Some(&dl.server.origin()), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", out.describe());
    assert_eq!(
        dl.requests(),
        vec![format!("GET /{}", release().host_archive())]
    );
    assert!(
        dl.user_agents()[0].starts_with("curl/"),
        "{:?}",
        dl.user_agents()
    );
    let installed = place.installed();
    assert!(
        out.stderr.contains(&format!(
            "installed trustpub {VERSION} at {}",
            installed.display()
        )),
        "{}",
        out.describe()
    );
    let mut cmd = Command::new(&installed);
    cmd.arg("--version");
    let v = checked(run(cmd, &place.root, "version"));
    assert_eq!(v.stdout.trim(), format!("trustpub {VERSION}"));
    place.assert_clean(&["trustpub"], &out);
}

#[test]
fn install_sh_installs_the_pinned_binary_and_it_runs() {
    installs_and_runs("sh");
}

#[test]
fn install_sh_works_under_dash() {
    installs_and_runs(dash());
}

/// Without curl, install.sh downloads with wget: a PATH holding only the
/// tools install.sh names, wget instead of curl.
#[test]
fn install_sh_downloads_with_wget_when_there_is_no_curl() {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let bin = place.root.join("tools");
    fs::create_dir_all(&bin).unwrap();
    for tool in [
        "wget",
        "uname",
        "awk",
        "mktemp",
        "rm",
        "mkdir",
        "cp",
        "chmod",
        "mv",
        "tar",
        "gzip",
        "sha256sum",
        "grep",
        "cat",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
        assert!(
            found.status.success() && path.starts_with('/'),
            "this test needs {tool} on PATH (apt-get install {tool})"
        );
        crate::support::make_symlink(Path::new(&path), &bin.join(tool)).unwrap();
    }
    let dl = Download::start(Serve::Release);
    let dash_path = Command::new("sh")
        .args(["-c", &format!("command -v {}", dash())])
        .output()
        .unwrap();
    let dash_path = String::from_utf8_lossy(&dash_path.stdout)
        .trim()
        .to_string();
    let mut cmd = Command::new(&dash_path);
    cmd.arg(&sh)
        .arg("--to")
        .arg(&place.to)
        .env_clear()
        .env("PATH", &bin)
        .env("HOME", &place.home)
        .env("TMPDIR", &place.tmp)
        .env("TRUSTPUB_DOWNLOAD_URL", dl.server.origin())
        .current_dir(&place.root);
    let out = run(cmd, &place.root, "install-wget");
    assert_eq!(out.status.code(), Some(0), "{}", out.describe());
    assert_eq!(
        dl.requests(),
        vec![format!("GET /{}", release().host_archive())]
    );
    let agents = dl.user_agents();
    assert!(agents[0].starts_with("Wget/"), "not wget: {agents:?}");
    let mut cmd = Command::new(place.installed());
    cmd.arg("--version");
    let v = checked(run(cmd, &place.root, "version"));
    assert_eq!(v.stdout.trim(), format!("trustpub {VERSION}"));
    place.assert_clean(&["trustpub"], &out);
}

/// A wrong archive: the message names the file and both sums, and the
/// binary already there is left as it was.
#[test]
fn install_sh_refuses_an_archive_with_the_wrong_checksum() {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let name = release().host_archive();
    let mut evil = release().archives[&name].clone();
    evil.extend_from_slice(b"appended");
    let dl = Download::start(Serve::Tampered(name.clone(), evil.clone()));
    fs::create_dir_all(&place.to).unwrap();
    fs::write(place.installed(), "#!/bin/sh\necho old\n").unwrap();
    let out = place.install(dash(), &sh, Some(&dl.server.origin()), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    let expected = sha256_hex(&release().archives[&name]);
    let actual = sha256_hex(&evil);
    assert!(
        out.stderr.contains(&format!(
            "checksum mismatch for {name}: expected sha256 {expected} (pinned in this install.sh), got {actual}; nothing was installed"
        )),
        "{}",
        out.describe()
    );
    assert_eq!(
        fs::read_to_string(place.installed()).unwrap(),
        "#!/bin/sh\necho old\n"
    );
    place.assert_clean(&["trustpub"], &out);
}

#[test]
fn install_sh_says_which_url_was_not_found() {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let dl = Download::start(Serve::NotFound);
    let base = format!("{}/mirror", dl.server.origin());
    let out = place.install("sh", &sh, Some(&base), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    let url = format!("{base}/{}", release().host_archive());
    assert!(
        out.stderr
            .contains(&format!("error: could not download {url}")),
        "{}",
        out.describe()
    );
    assert!(out.stderr.contains("404"), "{}", out.describe());
    assert!(!place.installed().exists());
    place.assert_clean(&[], &out);
}

/// The connection drops halfway through the archive: nothing installed,
/// nothing left over, the old binary intact.
#[test]
fn install_sh_installs_nothing_from_an_interrupted_download() {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let dl = Download::start(Serve::Truncated);
    fs::create_dir_all(&place.to).unwrap();
    fs::write(place.installed(), "old").unwrap();
    let out = place.install(dash(), &sh, Some(&dl.server.origin()), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("could not download") || out.stderr.contains("checksum mismatch"),
        "{}",
        out.describe()
    );
    assert!(!dl.requests().is_empty(), "the fake was never asked");
    assert_eq!(fs::read_to_string(place.installed()).unwrap(), "old");
    place.assert_clean(&["trustpub"], &out);
}

/// SIGTERM to the install (as a CI runner cancelling the job sends to the
/// process group) in the middle of the download: the temporary directory
/// goes, nothing is installed, the old binary stays.
#[cfg(unix)]
#[test]
fn install_sh_cleans_up_when_terminated() {
    use std::os::unix::process::CommandExt as _;
    use std::process::Stdio;
    use std::time::Instant;

    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let dl = Download::start(Serve::Stalled);
    fs::create_dir_all(&place.to).unwrap();
    fs::write(place.installed(), "old").unwrap();
    let mut cmd = Command::new(dash());
    cmd.arg(&sh)
        .arg("--to")
        .arg(&place.to)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &place.home)
        .env("TMPDIR", &place.tmp)
        .env("TRUSTPUB_DOWNLOAD_URL", dl.server.origin())
        .current_dir(&place.root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(place.root.join("stderr")).unwrap())
        .process_group(0);
    let mut child = cmd.spawn().unwrap();
    // Wait (bounded) until part of the archive is on disk.
    let partial = |tmp: &Path| {
        fs::read_dir(tmp)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .any(|d| {
                fs::read_dir(d.path())
                    .ok()
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|f| f.metadata().is_ok_and(|m| m.len() > 0))
            })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !partial(&place.tmp) {
        if let Some(st) = child.try_wait().unwrap() {
            panic!(
                "install.sh ended ({st}) before the download stalled:\n{}",
                fs::read_to_string(place.root.join("stderr")).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no partial download appeared within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pgid = child.id() as i32;
    assert_eq!(unsafe { libc::kill(-pgid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = child.wait();
            panic!("install.sh did not end within 60 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = fs::read_to_string(place.root.join("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(143), "{status}\n{stderr}");
    assert_eq!(
        crate::support::dir_names(&place.tmp),
        Vec::<String>::new(),
        "temporary files left behind:\n{stderr}"
    );
    assert_eq!(crate::support::dir_names(&place.to), vec!["trustpub"]);
    assert_eq!(fs::read_to_string(place.installed()).unwrap(), "old");
}

/// The development copy pins nothing and says so, before any download.
#[test]
fn install_sh_without_a_pinned_release_refuses_plainly() {
    let place = Place::new();
    let sh = place.root.join("install.sh");
    fs::write(&sh, unpinned_install_sh()).unwrap();
    let dl = Download::start(Serve::Release);
    let out = place.install("sh", &sh, Some(&dl.server.origin()), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr
            .contains("this copy of install.sh pins no release"),
        "{}",
        out.describe()
    );
    assert_eq!(dl.requests(), Vec::<String>::new());
    place.assert_clean(&[], &out);
}

/// The checkout's install.sh pins nothing (before the first release), or
/// one version with a well-formed SHA-256 for each of its five archives, as
/// pin-release writes it. (Not necessarily Cargo.toml's version: the pin of
/// the last release stays while the next one is made.)
#[test]
fn the_repository_install_sh_pins_nothing_or_one_whole_release() {
    let text = fs::read_to_string(manifest_dir().join("install.sh")).unwrap();
    let pinned = check_pinned_block(&text);
    // The same check passes a copy pinned by pin-release, and names its version.
    let dir = tempfile::tempdir().unwrap();
    let copy = fs::read_to_string(pinned_install_sh(dir.path())).unwrap();
    assert_eq!(check_pinned_block(&copy), Some(VERSION.to_string()));
    assert!(check_pinned_block(&unpinned_install_sh()).is_none());
    if let Some(v) = pinned {
        assert!(text.contains(&format!("pinned_version='{v}'")));
    }
}

/// Checks install.sh's pinned block; returns the pinned version (`None`:
/// nothing pinned).
fn check_pinned_block(text: &str) -> Option<String> {
    let begin = "# BEGIN PINNED RELEASE (written by scripts/pin-release; do not edit by hand)\n";
    assert_eq!(
        text.matches(begin).count(),
        1,
        "install.sh needs one pinned block"
    );
    let block = text
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once("# END PINNED RELEASE\n"))
        .map(|(b, _)| b)
        .expect("install.sh has no end of the pinned block");
    if block == "pinned_version=''\npinned_sums='\n'\n" {
        return None; // Before the first release: nothing pinned, which it says when run.
    }
    let mut lines = block.lines();
    let version = lines
        .next()
        .and_then(|l| l.strip_prefix("pinned_version='"))
        .and_then(|l| l.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no pinned_version line in:\n{block}"));
    assert_eq!(lines.next(), Some("pinned_sums='"), "{block}");
    let sums: Vec<&str> = lines.by_ref().take(TARGETS.len()).collect();
    assert_eq!(lines.next(), Some("'"), "{block}");
    assert_eq!(lines.next(), None, "{block}");
    for (line, target) in sums.iter().zip(TARGETS) {
        let ext = if target.contains("windows") {
            "zip"
        } else {
            "tar.gz"
        };
        let (hex, name) = line.split_once("  ").unwrap_or_else(|| panic!("{line}"));
        assert_eq!(name, format!("trustpub-{version}-{target}.{ext}"));
        assert!(
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "not a SHA-256: {line}"
        );
    }
    Some(version.to_string())
}

#[test]
fn install_sh_installs_only_the_pinned_version_and_only_over_https() {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let dl = Download::start(Serve::Release);
    let out = place.install(
        "sh",
        &sh,
        Some(&dl.server.origin()),
        &["--version", "9.9.9"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains(&format!(
            "this install.sh pins trustpub {VERSION} and installs nothing else"
        )),
        "{}",
        out.describe()
    );
    let out = place.install("sh", &sh, Some("http://example.invalid"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr
            .contains("TRUSTPUB_DOWNLOAD_URL must be an https:// URL"),
        "{}",
        out.describe()
    );
    assert_eq!(dl.requests(), Vec::<String>::new());
    // `--version` naming the pinned one (with or without the v) is fine.
    let out = place.install(
        "sh",
        &sh,
        Some(&dl.server.origin()),
        &["--version", &format!("v{VERSION}")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", out.describe());
    place.assert_clean(&["trustpub"], &out);
}

/// `--archive-dir`: the verified archive is kept, used again without a
/// download while it matches, and fetched again once it does not.
#[test]
fn install_sh_reuses_a_kept_archive_only_while_it_matches() {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let dl = Download::start(Serve::Release);
    let keep = place.root.join("cache");
    let keep_s = keep.to_str().unwrap();
    let name = release().host_archive();
    let origin = dl.server.origin();
    let first = place.install("sh", &sh, Some(&origin), &["--archive-dir", keep_s]);
    assert_eq!(first.status.code(), Some(0), "{}", first.describe());
    assert_eq!(
        fs::read(keep.join(&name)).unwrap(),
        release().archives[&name]
    );
    assert_eq!(dl.requests().len(), 1);

    fs::remove_file(place.installed()).unwrap();
    let second = place.install("sh", &sh, Some(&origin), &["--archive-dir", keep_s]);
    assert_eq!(second.status.code(), Some(0), "{}", second.describe());
    assert_eq!(
        dl.requests().len(),
        1,
        "downloaded again:\n{}",
        second.describe()
    );
    assert!(second.stderr.contains("as pinned"), "{}", second.describe());
    assert!(place.installed().exists());

    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(keep.join(&name))
        .unwrap();
    f.write_all(b"x").unwrap();
    drop(f);
    let third = place.install("sh", &sh, Some(&origin), &["--archive-dir", keep_s]);
    assert_eq!(third.status.code(), Some(0), "{}", third.describe());
    assert!(
        third
            .stderr
            .contains("does not match the pinned checksum; downloading it again"),
        "{}",
        third.describe()
    );
    assert_eq!(dl.requests().len(), 2);
    assert_eq!(
        fs::read(keep.join(&name)).unwrap(),
        release().archives[&name]
    );
    place.assert_clean(&["trustpub"], &third);
}

/// A directory of symlinks to these tools (and nothing else), for a PATH
/// that lacks the others.
fn tool_dir(root: &Path, tools: &[&str]) -> PathBuf {
    let bin = root.join("tools");
    fs::create_dir_all(&bin).unwrap();
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
        assert!(
            found.status.success() && path.starts_with('/'),
            "this test needs {tool} on PATH (apt-get install {tool})"
        );
        crate::support::make_symlink(Path::new(&path), &bin.join(tool)).unwrap();
    }
    bin
}

/// A mirror URL cannot smuggle a host past the loopback-only rule for
/// http:// with a user name (`http://localhost:@host`), nor hold
/// credentials at all; the refusal prints no password, and nothing is
/// downloaded.
#[test]
fn install_sh_refuses_download_urls_with_credentials_or_plain_http_off_loopback() {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let dl = Download::start(Serve::Release);
    let origin = dl.server.origin();
    let hostport = origin.trim_start_matches("http://").to_string();
    let token = planted_token();
    let cases = [
        format!("http://localhost:@{hostport}"),
        format!("http://127.0.0.1:{token}@{hostport}"),
        format!("http://localhost:{token}@{hostport}/"),
        format!("https://user:{token}@example.invalid/mirror"),
        format!("http://127.0.0.1.nip.io/{token}"),
        "http://10.0.0.1:9/".to_string(),
        "http://localhost.example/".to_string(),
        "ftp://127.0.0.1/".to_string(),
        format!("{origin}/?x=1"),
    ];
    for url in &cases {
        let out = place.install("sh", &sh, Some(url), &[]);
        assert_eq!(out.status.code(), Some(1), "{url}\n{}", out.describe());
        assert!(
            out.stderr
                .contains("TRUSTPUB_DOWNLOAD_URL must be an https:// URL"),
            "{url}\n{}",
            out.describe()
        );
        assert!(
            !out.stderr.contains(&token) && !out.stdout.contains(&token),
            "the password in the URL was printed: {}",
            out.describe()
        );
        assert!(!place.installed().exists(), "{url}");
    }
    assert_eq!(dl.requests(), Vec::<String>::new());
    // The loopback forms that are allowed still work.
    let port = hostport.rsplit(':').next().unwrap();
    for url in [
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}/"),
    ] {
        let out = place.install("sh", &sh, Some(&url), &[]);
        assert_eq!(out.status.code(), Some(0), "{url}\n{}", out.describe());
        place.assert_clean(&["trustpub"], &out);
    }
}

/// Without a tool to check a checksum with, install.sh stops before it
/// reads, deletes or downloads anything: a kept archive that matches stays.
#[test]
fn install_sh_checks_for_its_tools_before_touching_anything() {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let dl = Download::start(Serve::Release);
    let keep = place.root.join("cache");
    fs::create_dir_all(&keep).unwrap();
    let name = release().host_archive();
    fs::write(keep.join(&name), &release().archives[&name]).unwrap();
    let common = [
        dash(),
        "uname",
        "awk",
        "mktemp",
        "rm",
        "mkdir",
        "cp",
        "chmod",
        "mv",
        "gzip",
        "grep",
        "cat",
    ];
    let cases: &[(&[&str], &str)] = &[
        (
            &["curl", "tar"],
            "found none of sha256sum, shasum and openssl to check the download with",
        ),
        (
            &["sha256sum", "tar"],
            "found neither curl nor wget to download with",
        ),
        (&["curl", "sha256sum"], "found no tar to open"),
    ];
    for (i, (extra, message)) in cases.iter().enumerate() {
        let root = place.root.join(format!("case{i}"));
        let tools: Vec<&str> = common.iter().chain(extra.iter()).copied().collect();
        let bin = tool_dir(&root, &tools);
        let mut cmd = Command::new(bin.join("dash"));
        cmd.arg(&sh)
            .arg("--to")
            .arg(&place.to)
            .arg("--archive-dir")
            .arg(&keep)
            .env_clear()
            .env("PATH", &bin)
            .env("HOME", &place.home)
            .env("TMPDIR", &place.tmp)
            .env("TRUSTPUB_DOWNLOAD_URL", dl.server.origin())
            .current_dir(&place.root);
        let out = run(cmd, &root, "install");
        assert_eq!(out.status.code(), Some(1), "{}", out.describe());
        assert!(out.stderr.contains(message), "{}", out.describe());
        assert!(!out.stderr.contains("downloading"), "{}", out.describe());
        assert_eq!(
            fs::read(keep.join(&name)).unwrap(),
            release().archives[&name],
            "the kept archive was touched"
        );
        place.assert_clean(&[], &out);
    }
    assert_eq!(dl.requests(), Vec::<String>::new());
}

/// `--to DIR` where `DIR/trustpub` is a directory: refused before the
/// download, and the directory is left as it was (a rename would have
/// moved the binary into it).
#[test]
fn install_sh_refuses_a_destination_that_is_a_directory() {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let dl = Download::start(Serve::Release);
    fs::create_dir_all(place.installed().join("inside")).unwrap();
    let out = place.install("sh", &sh, Some(&dl.server.origin()), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains(&format!(
            "{} is a directory, not a trustpub binary to replace",
            place.installed().display()
        )),
        "{}",
        out.describe()
    );
    assert_eq!(dl.requests(), Vec::<String>::new());
    assert_eq!(
        crate::support::dir_names(&place.installed()),
        vec!["inside".to_string()]
    );
    place.assert_clean(&["trustpub"], &out);
}

/// The staged copy next to the destination has a name nobody can guess:
/// a symlink planted at the name the shell's process id would give is not
/// followed (it used to be `.trustpub.install.$$`; `exec` keeps `$$`).
#[test]
fn install_sh_does_not_follow_a_planted_symlink_at_the_staging_name() {
    let place = Place::new();
    let sh = pinned_install_sh(&place.root);
    let dl = Download::start(Serve::Release);
    fs::create_dir_all(&place.to).unwrap();
    let victim = place.root.join("victim");
    fs::write(&victim, "precious\n").unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(
            "ln -s \"$VICTIM\" \"$TO/.trustpub.install.$$\" && exec sh \"$INSTALL_SH\" --to \"$TO\"",
        )
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &place.home)
        .env("TMPDIR", &place.tmp)
        .env("VICTIM", &victim)
        .env("TO", &place.to)
        .env("INSTALL_SH", &sh)
        .env("TRUSTPUB_DOWNLOAD_URL", dl.server.origin())
        .current_dir(&place.root);
    let out = run(cmd, &place.root, "install-planted");
    assert_eq!(out.status.code(), Some(0), "{}", out.describe());
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(
        fs::read(place.installed()).unwrap(),
        fs::read(trustpub_bin()).unwrap()
    );
    let mut left = crate::support::dir_names(&place.to);
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&"trustpub".to_string()), "{left:?}");
}

// ---------------------------------------------------------------------------
// scripts/pin-release

#[test]
fn pin_release_rewrites_only_the_pinned_block() {
    let dir = tempfile::tempdir().unwrap();
    let before = unpinned_install_sh();
    let path = pinned_install_sh(dir.path());
    let after = fs::read_to_string(&path).unwrap();
    let outside = |t: &str| {
        let (head, rest) = t.split_once("# BEGIN PINNED RELEASE").unwrap();
        let (_, tail) = rest.split_once("# END PINNED RELEASE").unwrap();
        (head.to_string(), tail.to_string())
    };
    assert_eq!(outside(&before), outside(&after));
    for target in TARGETS {
        let name = archive_name(target);
        let line = format!("{}  {name}", sha256_hex(&release().archives[&name]));
        assert!(after.contains(&line), "no `{line}` in:\n{after}");
    }
    assert!(!after.contains("SHA256SUMS.sig"));
    // Pinning again gives the same file.
    let out = pin_release(
        &[
            "--version".as_ref(),
            VERSION.as_ref(),
            "--sums".as_ref(),
            release().sums_path().as_os_str(),
            "--install-sh".as_ref(),
            path.as_os_str(),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", out.describe());
    assert_eq!(fs::read_to_string(&path).unwrap(), after);
}

#[test]
fn pin_release_refuses_sums_that_lack_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("install.sh");
    fs::write(&path, unpinned_install_sh()).unwrap();
    let full = fs::read_to_string(release().sums_path()).unwrap();
    let missing = archive_name("aarch64-apple-darwin");
    let sums = dir.path().join("SHA256SUMS");
    let partial: String = full
        .lines()
        .filter(|l| !l.ends_with(&missing))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&sums, &partial).unwrap();
    let args = [
        "--version".as_ref(),
        VERSION.as_ref(),
        "--sums".as_ref(),
        sums.as_os_str(),
        "--install-sh".as_ref(),
        path.as_os_str(),
    ];
    let out = pin_release(&args, dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr
            .contains(&format!("has no checksum for {missing}")),
        "{}",
        out.describe()
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), unpinned_install_sh());
    // A malformed line for an archive is refused too.
    fs::write(&sums, format!("{partial}abc123  {missing}\n")).unwrap();
    let out = pin_release(&args, dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("not a sha256sum line"),
        "{}",
        out.describe()
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), unpinned_install_sh());
}

// ---------------------------------------------------------------------------
// The Action: action/run.sh with a fake trustpub

const FAKE_TRUSTPUB: &str = r#"#!/bin/sh
: > "$FAKE_ARGV"
for a in "$@"; do printf '%s\000' "$a" >> "$FAKE_ARGV"; done
printf '%s' "$PWD" > "$FAKE_PWD"
echo "fake trustpub: human output" >&2
cat "$FAKE_REPORT"
exit "$FAKE_EXIT"
"#;

struct ActionRun {
    out: Output,
    /// The fake's arguments; `None` when it did not run.
    argv: Option<Vec<String>>,
    pwd: Option<PathBuf>,
    outputs: BTreeMap<String, String>,
}

/// Parses `$GITHUB_OUTPUT` as the runner does: `name=value` lines and
/// `name<<DELIM` … `DELIM` blocks. Panics on anything else.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            loop {
                let l = lines
                    .next()
                    .unwrap_or_else(|| panic!("unterminated {name}<<{delim} in:\n{text}"));
                if l == delim {
                    break;
                }
                value.push(l);
            }
            assert!(
                out.insert(name.to_string(), value.join("\n")).is_none(),
                "{name} twice"
            );
        } else {
            let (name, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not an output line: {line:?} in:\n{text}"));
            assert!(
                out.insert(name.to_string(), value.to_string()).is_none(),
                "{name} twice"
            );
        }
    }
    out
}

struct ActionBench {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl ActionBench {
    fn new() -> ActionBench {
        let dir = tempfile::Builder::new()
            .prefix("trustpub-action-")
            .tempdir()
            .unwrap();
        let root = dir.path().canonicalize().unwrap();
        fs::write(root.join("fake-trustpub"), FAKE_TRUSTPUB).unwrap();
        set_mode(&root.join("fake-trustpub"), 0o755).unwrap();
        fs::create_dir_all(root.join("workspace")).unwrap();
        fs::create_dir_all(root.join("runner-temp")).unwrap();
        ActionBench { _dir: dir, root }
    }

    /// Runs action/run.sh with these inputs (env name → value); the fake
    /// prints `report` and exits with `exit`.
    fn run(&self, inputs: &[(&str, &str)], report: &str, exit: i32) -> ActionRun {
        for f in ["argv", "pwd", "output"] {
            let _ = fs::remove_file(self.root.join(f));
        }
        fs::write(self.root.join("output"), "").unwrap();
        fs::write(self.root.join("report"), report).unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(manifest_dir().join("action/run.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("TRUSTPUB", self.root.join("fake-trustpub"))
            .env("GITHUB_OUTPUT", self.root.join("output"))
            .env("RUNNER_TEMP", self.root.join("runner-temp"))
            .env("FAKE_ARGV", self.root.join("argv"))
            .env("FAKE_PWD", self.root.join("pwd"))
            .env("FAKE_REPORT", self.root.join("report"))
            .env("FAKE_EXIT", exit.to_string())
            .current_dir(self.root.join("workspace"));
        for (k, v) in inputs {
            cmd.env(k, v);
        }
        let out = run(cmd, &self.root, "run-sh");
        let argv = fs::read(self.root.join("argv")).ok().map(|b| {
            let s = String::from_utf8(b).unwrap();
            let mut v: Vec<String> = s.split('\0').map(str::to_string).collect();
            assert_eq!(
                v.pop().as_deref(),
                Some(""),
                "argv not NUL-terminated: {s:?}"
            );
            v
        });
        let pwd = fs::read_to_string(self.root.join("pwd"))
            .ok()
            .map(PathBuf::from);
        let outputs = parse_outputs(&fs::read_to_string(self.root.join("output")).unwrap());
        assert_eq!(
            crate::support::dir_names(&self.root.join("runner-temp")),
            Vec::<String>::new(),
            "run.sh left files in RUNNER_TEMP"
        );
        ActionRun {
            out,
            argv,
            pwd,
            outputs,
        }
    }
}

/// Input variables for run.sh (name → value).
type Inputs<'a> = &'a [(&'a str, &'a str)];

fn words(s: &[&str]) -> Vec<String> {
    s.iter().map(|w| w.to_string()).collect()
}

const PUBLISHED: &str =
    "{\n  \"pkg\": {\n    \"name\": \"pkg\",\n    \"version\": \"1.0.0\",\n    \"outcome\": \"published\"\n  }\n}\n";

#[test]
fn action_inputs_map_to_trustpub_flags() {
    let bench = ActionBench::new();
    let cases: &[(Inputs, &[&str])] = &[
        (&[], &["publish", "--json"]),
        // An empty input passes no flag: the job's
        // TRUSTPUB_TRUSTED_PUBLISHING, or `args`, decide.
        (
            &[
                ("INPUT_TRUSTED_PUBLISHING", ""),
                ("INPUT_ARGS", "--trusted-publishing always"),
            ],
            &["publish", "--json", "--trusted-publishing", "always"],
        ),
        (
            &[("INPUT_TRUSTED_PUBLISHING", "auto")],
            &["publish", "--trusted-publishing", "auto", "--json"],
        ),
        (
            &[
                ("INPUT_COMMAND", "publish"),
                ("INPUT_TRUSTED_PUBLISHING", "always"),
                ("INPUT_PROVENANCE", "true"),
            ],
            &[
                "publish",
                "--trusted-publishing",
                "always",
                "--provenance",
                "--json",
            ],
        ),
        (
            &[
                ("INPUT_TRUSTED_PUBLISHING", "never"),
                ("INPUT_PROVENANCE", "false"),
                ("INPUT_DRY_RUN", "true"),
                (
                    "INPUT_ARGS",
                    " --tag next \t--access  public\n--otp 123456\n",
                ),
            ],
            &[
                "publish",
                "--trusted-publishing",
                "never",
                "--no-provenance",
                "--dry-run",
                "--json",
                "--tag",
                "next",
                "--access",
                "public",
                "--otp",
                "123456",
            ],
        ),
        (
            &[("INPUT_COMMAND", "pack"), ("INPUT_DRY_RUN", "true")],
            &["pack", "--dry-run", "--json"],
        ),
        (
            &[("INPUT_ARGS", "--tag next\r\n--access public\r\n")],
            &["publish", "--json", "--tag", "next", "--access", "public"],
        ),
        (
            &[
                ("INPUT_COMMAND", "doctor"),
                ("INPUT_ARGS", "--registry https://r.example/"),
            ],
            &["doctor", "--json", "--registry", "https://r.example/"],
        ),
        (
            &[
                ("INPUT_COMMAND", "pack"),
                ("INPUT_DRY_RUN", "false"),
                ("INPUT_PROVENANCE", ""),
                ("INPUT_TRUSTED_PUBLISHING", "auto"),
            ],
            &["pack", "--json"],
        ),
    ];
    for (inputs, expected) in cases {
        let r = bench.run(inputs, PUBLISHED, 0);
        assert_eq!(
            r.out.status.code(),
            Some(0),
            "{inputs:?}\n{}",
            r.out.describe()
        );
        assert_eq!(
            r.argv,
            Some(words(expected)),
            "{inputs:?}\n{}",
            r.out.describe()
        );
        assert_eq!(
            r.pwd.as_deref(),
            Some(bench.root.join("workspace").as_path())
        );
        assert!(r.out.stderr.contains("fake trustpub: human output"));
    }
}

#[test]
fn action_refuses_inputs_it_does_not_know_without_running_trustpub() {
    let bench = ActionBench::new();
    let cases: &[(Inputs, &str)] = &[
        (
            &[("INPUT_COMMAND", "publish; touch pwned")],
            "input command: 'publish; touch pwned' is not one of publish, pack, doctor",
        ),
        (
            &[("INPUT_COMMAND", "publish\n::warning::x")],
            "input command: 'publish\\n: :warning: :x' is not one of",
        ),
        (
            &[("INPUT_TRUSTED_PUBLISHING", "sometimes")],
            "input trusted-publishing: 'sometimes' is not one of auto, always, never",
        ),
        (
            &[("INPUT_PROVENANCE", "yes")],
            "input provenance: 'yes' is not true, false or empty",
        ),
        (
            &[("INPUT_DRY_RUN", "1")],
            "input dry-run: '1' is not true or false",
        ),
        (
            &[("INPUT_COMMAND", "doctor"), ("INPUT_DRY_RUN", "true")],
            "input dry-run applies to publish and pack, not doctor",
        ),
        (
            &[
                ("INPUT_COMMAND", "pack"),
                ("INPUT_TRUSTED_PUBLISHING", "always"),
            ],
            "input trusted-publishing applies to the publish command only, not pack",
        ),
        (
            &[("INPUT_COMMAND", "doctor"), ("INPUT_PROVENANCE", "true")],
            "input provenance applies to the publish command only, not doctor",
        ),
        (
            &[("INPUT_ARGS", "--tag next --json")],
            "input args: the action adds --json itself",
        ),
        (
            &[("INPUT_WORKING_DIRECTORY", "pkg\n::error::x")],
            "input working-directory: 'pkg\\n: :error: :x' holds a line break",
        ),
        (
            &[("INPUT_WORKING_DIRECTORY", "no-such-dir")],
            "input working-directory: 'no-such-dir' is not a directory",
        ),
    ];
    for (inputs, message) in cases {
        let r = bench.run(inputs, PUBLISHED, 0);
        assert_eq!(
            r.out.status.code(),
            Some(1),
            "{inputs:?}\n{}",
            r.out.describe()
        );
        assert_eq!(r.argv, None, "trustpub ran for {inputs:?}");
        let want = format!("::error title=trustpub action::{message}");
        assert!(
            r.out.stdout.lines().any(|l| l.starts_with(&want)),
            "{inputs:?}: no `{want}`\n{}",
            r.out.describe()
        );
        // One workflow command, the action's own: the input's text cannot
        // start another.
        assert_eq!(
            r.out.stdout.lines().filter(|l| l.contains("::")).count(),
            1,
            "{}",
            r.out.describe()
        );
        assert!(r.outputs.is_empty(), "outputs written: {:?}", r.outputs);
        assert!(!bench.root.join("workspace/pwned").exists());
    }
}

/// Inputs holding shell syntax and workflow commands: each word reaches
/// trustpub as it was written, nothing runs, no workflow command or extra
/// output appears, and no secret in the environment is printed.
#[test]
fn action_inputs_cannot_inject_commands_or_outputs() {
    let bench = ActionBench::new();
    let weird = "we ird $(touch pwned-dir) `touch pwned-tick`";
    fs::create_dir_all(bench.root.join("workspace").join(weird)).unwrap();
    fs::write(bench.root.join("workspace/existing-file"), "").unwrap();
    let token = planted_token();
    let hostile = "$(touch pwned) `touch pwned2` ; touch pwned3 && x || y | z > redirected * ~ $HOME ${PATH} \\n\n::set-output name=published::true\npublished=true\nreport<<EOF\n::error::boom %0A";
    let r = bench.run(
        &[
            ("INPUT_ARGS", hostile),
            ("INPUT_WORKING_DIRECTORY", weird),
            ("NODE_AUTH_TOKEN", &token),
        ],
        "{\n  \"pkg\": {\n    \"outcome\": \"dry-run\"\n  }\n}\n",
        0,
    );
    assert_eq!(r.out.status.code(), Some(0), "{}", r.out.describe());
    let mut expected = words(&["publish", "--json"]);
    expected.extend(hostile.split_whitespace().map(str::to_string));
    assert_eq!(r.argv, Some(expected));
    assert_eq!(
        r.pwd.as_deref(),
        Some(bench.root.join("workspace").join(weird).as_path())
    );
    let mut names = crate::support::dir_names(&bench.root.join("workspace"));
    names.sort();
    assert_eq!(names, vec!["existing-file".to_string(), weird.to_string()]);
    assert_eq!(
        crate::support::dir_names(&bench.root.join("workspace").join(weird)),
        Vec::<String>::new()
    );
    assert_eq!(
        r.outputs.keys().collect::<Vec<_>>(),
        vec!["published", "report"]
    );
    assert_eq!(r.outputs["published"], "false");
    for line in r.out.stdout.lines().chain(r.out.stderr.lines()) {
        assert!(
            !line.trim_start().starts_with("::"),
            "a workflow command: {line}"
        );
    }
    for text in [&r.out.stdout, &r.out.stderr] {
        assert!(!text.contains(&token), "the planted token was printed");
    }
}

#[test]
fn action_outputs_say_whether_it_published_and_carry_the_report() {
    let bench = ActionBench::new();
    let nested = "{\n  \"pkg\": {\n    \"provenanceStatement\": {\n      \"outcome\": \"published\",\n      \"x\": \"\\n    \\\"outcome\\\": \\\"published\\\"\"\n    },\n    \"outcome\": \"dry-run\"\n  }\n}\n";
    let error =
        "{\n  \"error\": {\n    \"code\": \"E403\",\n    \"summary\": \"forbidden\"\n  }\n}\n";
    let tricky = "{\n  \"pkg\": {\n    \"readme\": \"EOF\\ntrustpub_report_00\",\n    \"outcome\": \"published\"\n  }\n}\ntrustpub_report_\nEOF\n";
    let cases: &[(Inputs, &str, i32, &str)] = &[
        (&[], PUBLISHED, 0, "true"),
        (
            &[("INPUT_DRY_RUN", "true")],
            "{\n  \"pkg\": {\n    \"outcome\": \"dry-run\"\n  }\n}\n",
            0,
            "false",
        ),
        (
            &[],
            "{\n  \"pkg\": {\n    \"outcome\": \"already-published\"\n  }\n}\n",
            0,
            "false",
        ),
        (&[], nested, 0, "false"),
        (&[], error, 1, "false"),
        (&[], PUBLISHED, 1, "false"),
        (&[("INPUT_COMMAND", "pack")], PUBLISHED, 0, "false"),
        (&[], tricky, 0, "true"),
        // Not tied to the layout: compact, other indentation, other order.
        (
            &[],
            "{\"pkg\":{\"name\":\"pkg\",\"outcome\":\"published\"}}",
            0,
            "true",
        ),
        (
            &[],
            "{\n\t\"pkg\" : {\n\t\t\"outcome\" :\n \"published\" , \"files\": [ {\"outcome\": \"x\"} ]\n\t}\n}\n",
            0,
            "true",
        ),
        (
            &[],
            "{\"pkg\":{\"x\":\"\\\"outcome\\\": \\\"published\\\"\",\"outcome\":\"dry-run\"}}",
            0,
            "false",
        ),
        // --workspaces: an array of records; some published is published,
        // whatever the exit code (another package may have failed).
        (&[], "[{\"outcome\":\"published\"}]", 0, "true"),
        (
            &[],
            "[\n  {\"name\": \"a\", \"outcome\": \"already-published\"},\n  {\"name\": \"b\", \"outcome\": \"published\"},\n  {\"name\": \"c\", \"outcome\": \"failed\"}\n]\n",
            1,
            "true",
        ),
        (
            &[],
            "[{\"name\": \"a\", \"outcome\": \"not-ready\", \"error\": {\"summary\": \"\\\"outcome\\\": \\\"published\\\"\"}}]",
            1,
            "false",
        ),
        (&[], "{\"outcome\":\"published\"}", 0, "false"),
        (&[], "", 2, "false"),
    ];
    for (inputs, report, code, published) in cases {
        let r = bench.run(inputs, report, *code);
        assert_eq!(r.out.status.code(), Some(*code), "{}", r.out.describe());
        assert_eq!(
            r.outputs.get("published").map(String::as_str),
            Some(*published),
            "{report}"
        );
        assert_eq!(
            r.outputs.get("report").map(String::as_str),
            Some(report.trim_end_matches('\n')),
        );
    }
}

/// run.sh with the real trustpub publishing to the fake registry (a token
/// in the user npmrc, outside CI): `published` is read from trustpub's own
/// `--json` report. And with no `trusted-publishing` input, a job-level
/// `TRUSTPUB_TRUSTED_PUBLISHING=always` is what trustpub obeys (it used to
/// be overridden by the input's default `auto`, and the token was used).
#[test]
fn action_reads_a_real_publish_report_and_leaves_the_mode_to_the_job() {
    use crate::support::fake_registry::FakeRegistry;
    use crate::support::sandbox::Sandbox;

    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    sb.login(&reg.url());
    let ws = sb.root.join("workspace");
    let runner_temp = sb.root.join("runner-temp");
    fs::create_dir_all(&runner_temp).unwrap();
    let run_action = |name: &str, version: &str, env: &[(&str, &str)]| {
        let pkg = ws.join(name);
        fs::create_dir_all(&pkg).unwrap();
        fs::write(
            pkg.join("package.json"),
            format!(r#"{{"name":"{name}","version":"{version}"}}"#),
        )
        .unwrap();
        fs::write(pkg.join("index.js"), "module.exports = 1\n").unwrap();
        let output = sb.root.join(format!("output-{name}"));
        fs::write(&output, "").unwrap();
        let mut cmd = Command::new("bash");
        crate::support::apply_env(&mut cmd, &sb.home);
        cmd.arg(manifest_dir().join("action/run.sh"))
            .env("npm_config_globalconfig", &sb.globalconfig)
            .env("RUNNER_TEMP", &runner_temp)
            .env("GITHUB_OUTPUT", &output)
            .env("TRUSTPUB", trustpub_bin())
            .env("INPUT_WORKING_DIRECTORY", name)
            .env(
                "INPUT_ARGS",
                format!("--registry {} --tolerate-republish", reg.url()),
            )
            .current_dir(&ws);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = run(cmd, &sb.root, &format!("action-{name}"));
        assert!(
            !out.stdout.contains(&sb.token) && !out.stderr.contains(&sb.token),
            "the token was printed"
        );
        let outputs = parse_outputs(&fs::read_to_string(&output).unwrap());
        (out, outputs)
    };

    let (out, outputs) = run_action("trustpub-it-action-real", "1.0.0", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", sb.redact(&out.describe()));
    let report: serde_json::Value = serde_json::from_str(&outputs["report"]).unwrap();
    assert_eq!(report["trustpub-it-action-real"]["outcome"], "published");
    assert_eq!(outputs["published"], "true");
    assert_eq!(reg.puts().len(), 1, "{:?}", reg.summary());

    // The same version again: already there, not published by this run.
    let (out, outputs) = run_action("trustpub-it-action-real", "1.0.0", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", sb.redact(&out.describe()));
    let report: serde_json::Value = serde_json::from_str(&outputs["report"]).unwrap();
    assert_eq!(
        report["trustpub-it-action-real"]["outcome"],
        "already-published"
    );
    assert_eq!(outputs["published"], "false");

    // The job says always; outside CI that cannot work, so nothing is
    // uploaded with the token.
    let (out, outputs) = run_action(
        "trustpub-it-action-always",
        "1.0.0",
        &[("TRUSTPUB_TRUSTED_PUBLISHING", "always")],
    );
    assert_ne!(out.status.code(), Some(0), "{}", sb.redact(&out.describe()));
    assert_eq!(outputs["published"], "false");
    assert_eq!(
        reg.puts().len(),
        1,
        "published with the token despite TRUSTPUB_TRUSTED_PUBLISHING=always: {:?}",
        reg.summary()
    );
    assert!(
        !out.stdout.contains("--trusted-publishing"),
        "{}",
        sb.redact(&out.describe())
    );
}

// ---------------------------------------------------------------------------
// The Action end to end: setup.sh installs from the fake download into a
// tool cache, run.sh runs the real binary.

/// An action checkout: `action/` from this repository and a pinned install.sh.
fn action_checkout(dir: &Path, pinned: bool) -> PathBuf {
    let root = dir.join("action-root");
    fs::create_dir_all(root.join("action")).unwrap();
    for f in ["setup.sh", "run.sh"] {
        fs::copy(
            manifest_dir().join("action").join(f),
            root.join("action").join(f),
        )
        .unwrap();
        set_mode(&root.join("action").join(f), 0o755).unwrap();
    }
    fs::copy(manifest_dir().join("action.yml"), root.join("action.yml")).unwrap();
    if pinned {
        pinned_install_sh(&root);
    } else {
        fs::write(root.join("install.sh"), unpinned_install_sh()).unwrap();
    }
    root
}

fn setup(
    place: &Place,
    action_root: &Path,
    origin: &str,
) -> (Output, BTreeMap<String, String>, String) {
    let output = place.root.join("github-output");
    let path_file = place.root.join("github-path");
    fs::create_dir_all(place.root.join("runner-temp")).unwrap();
    fs::write(&output, "").unwrap();
    fs::write(&path_file, "").unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(action_root.join("action/setup.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &place.home)
        .env("TMPDIR", &place.tmp)
        .env("GITHUB_ACTION_PATH", action_root)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_PATH", &path_file)
        .env("RUNNER_TOOL_CACHE", place.root.join("toolcache"))
        .env("RUNNER_TEMP", place.root.join("runner-temp"))
        .env("TRUSTPUB_DOWNLOAD_URL", origin)
        .current_dir(&place.root);
    let out = run(cmd, &place.root, "setup");
    let outputs = parse_outputs(&fs::read_to_string(&output).unwrap());
    (out, outputs, fs::read_to_string(&path_file).unwrap())
}

/// setup.sh keeps the verified archive in the tool cache and nothing else:
/// the binary that runs, and that PATH names for later steps, is unpacked
/// into a new directory under RUNNER_TEMP each time (a self-hosted runner's
/// persistent tool cache could have its binary swapped after the check).
#[test]
fn action_installs_into_the_tool_cache_and_runs_trustpub() {
    let place = Place::new();
    let action_root = action_checkout(&place.root, true);
    let dl = Download::start(Serve::Release);
    let origin = dl.server.origin();
    let cache = place
        .root
        .join("toolcache/trustpub")
        .join(VERSION)
        .join(host_target());
    let runner_temp = place.root.join("runner-temp");
    let archive = release().host_archive();

    let (out, outputs, path) = setup(&place, &action_root, &origin);
    assert_eq!(out.status.code(), Some(0), "{}", out.describe());
    let bin = PathBuf::from(outputs.get("path").expect("no path output"));
    assert!(
        bin.starts_with(&runner_temp) && bin.ends_with("bin/trustpub"),
        "the binary is not under RUNNER_TEMP: {}",
        bin.display()
    );
    assert_eq!(fs::read(&bin).unwrap(), fs::read(trustpub_bin()).unwrap());
    assert_eq!(outputs.get("version").map(String::as_str), Some(VERSION));
    assert_eq!(
        path,
        format!("{}\n", bin.parent().unwrap().display()),
        "PATH for the next steps"
    );
    assert_eq!(
        crate::support::dir_names(&cache),
        vec![archive.clone()],
        "the tool cache holds more than the archive"
    );
    assert_eq!(
        fs::read(cache.join(&archive)).unwrap(),
        release().archives[&archive]
    );
    assert_eq!(dl.requests().len(), 1);
    // The next steps have the directory on PATH (GITHUB_PATH): the log
    // does not say it is missing (the release rehearsal found that note).
    let log = &out.stderr;
    assert!(log.contains("installed trustpub"), "{}", out.describe());
    assert!(!log.contains("not on PATH"), "{}", out.describe());

    // Again (a self-hosted runner's cache): no download, the archive is
    // checked again, and the binary is unpacked into a new directory.
    let (out, outputs2, _) = setup(&place, &action_root, &origin);
    assert_eq!(out.status.code(), Some(0), "{}", out.describe());
    assert_eq!(
        dl.requests().len(),
        1,
        "downloaded again:\n{}",
        out.describe()
    );
    assert!(out.stderr.contains("as pinned"), "{}", out.describe());
    let bin2 = PathBuf::from(&outputs2["path"]);
    assert_ne!(bin2, bin, "the same directory twice");
    assert!(bin2.starts_with(&runner_temp));
    assert_eq!(fs::read(&bin2).unwrap(), fs::read(trustpub_bin()).unwrap());
    assert_eq!(crate::support::dir_names(&cache), vec![archive.clone()]);

    // run.sh with the installed binary: a dry-run pack of a small package.
    let pkg = place.root.join("workspace/pkg");
    fs::create_dir_all(&pkg).unwrap();
    fs::write(
        pkg.join("package.json"),
        r#"{"name":"action-e2e","version":"1.2.3"}"#,
    )
    .unwrap();
    fs::write(pkg.join("index.js"), "module.exports = 1\n").unwrap();
    let output = place.root.join("run-output");
    fs::write(&output, "").unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(action_root.join("action/run.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &place.home)
        .env("RUNNER_TEMP", &place.tmp)
        .env("GITHUB_OUTPUT", &output)
        .env("TRUSTPUB", outputs.get("path").unwrap())
        .env("INPUT_COMMAND", "pack")
        .env("INPUT_DRY_RUN", "true")
        .env("INPUT_WORKING_DIRECTORY", "pkg")
        .current_dir(place.root.join("workspace"));
    let out = run(cmd, &place.root, "run");
    assert_eq!(out.status.code(), Some(0), "{}", out.describe());
    let outputs = parse_outputs(&fs::read_to_string(&output).unwrap());
    assert_eq!(outputs["published"], "false");
    let report: serde_json::Value = serde_json::from_str(&outputs["report"]).unwrap();
    assert_eq!(report[0]["name"], "action-e2e");
    assert_eq!(report[0]["version"], "1.2.3");
    assert_eq!(
        crate::support::dir_names(&pkg),
        vec!["index.js".to_string(), "package.json".to_string()],
        "a dry run wrote a file"
    );
    place.assert_clean(&[], &out);
}

#[test]
fn action_without_a_pinned_release_fails_plainly() {
    let place = Place::new();
    let action_root = action_checkout(&place.root, false);
    let dl = Download::start(Serve::Release);
    let (out, outputs, path) = setup(&place, &action_root, &dl.server.origin());
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr
            .contains("this copy of install.sh pins no release"),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.contains(
            "::error title=trustpub action::this copy of the action pins no trustpub release"
        ),
        "{}",
        out.describe()
    );
    assert!(outputs.is_empty() && path.is_empty());
    assert_eq!(dl.requests(), Vec::<String>::new());
}

/// action.yml passes zizmor, and actionlint checks a workflow's `with:`
/// against it (an unknown input is an error, so the check is real).
#[test]
fn action_yml_passes_the_linters() {
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(
        manifest_dir().join("action.yml"),
        tmp.path().join("action.yml"),
    )
    .unwrap();
    // actionlint reads local actions only inside a repository.
    fs::create_dir_all(tmp.path().join(".git")).unwrap();
    let wf = ".github/workflows/use.yml";
    fs::create_dir_all(tmp.path().join(".github/workflows")).unwrap();
    let workflow = |with: &str| {
        format!(
            "name: use\non: push\npermissions: {{}}\njobs:\n  publish:\n    runs-on: ubuntu-24.04\n    permissions:\n      contents: read\n      id-token: write\n    steps:\n      - uses: actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2\n        with:\n          persist-credentials: false\n      - id: tp\n        uses: ./ # zizmor: ignore[self-repository] (a copy of action.yml, not this repository)\n        with:\n{with}      - run: echo \"$PUBLISHED\"\n        env:\n          PUBLISHED: ${{{{ steps.tp.outputs.published }}}}\n"
        )
    };
    fs::write(
        tmp.path().join(wf),
        workflow("          working-directory: pkg\n          trusted-publishing: always\n          provenance: \"true\"\n          dry-run: \"false\"\n          args: --tag next\n"),
    )
    .unwrap();
    let problems = crate::readme_examples::lint(tmp.path(), wf);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    let problems = crate::readme_examples::lint(tmp.path(), "action.yml");
    let zizmor: Vec<_> = problems
        .iter()
        .filter(|p| p.starts_with("zizmor"))
        .collect();
    assert!(zizmor.is_empty(), "{zizmor:?}");

    fs::write(
        tmp.path().join(wf),
        workflow("          trusted_publishing: always\n"),
    )
    .unwrap();
    let problems = crate::readme_examples::lint(tmp.path(), wf);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("actionlint") && p.contains("trusted_publishing")),
        "actionlint did not see the unknown input: {problems:?}"
    );
}
