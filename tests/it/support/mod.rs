//! Shared helpers for the integration tests: locating npm, isolated child
//! environments, copying fixtures, running processes with a timeout, and small
//! file-system helpers for run-time fixture setup.

#![allow(dead_code)]

pub mod fake_registry;
pub mod http;
pub mod oidc_fakes;
pub mod recording_registry;
pub mod sandbox;
pub mod sigstore_fakes;
pub mod tar;
pub mod trust_api;
pub mod verdaccio;
pub mod workspace_gen;

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The npm version whose behaviour trustpub reproduces.
pub const NPM_VERSION: &str = "11.19.1";

/// How long any single child process may run.
pub const TIMEOUT: Duration = Duration::from_secs(180);

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures_root() -> PathBuf {
    manifest_dir().join("fixtures").join("pack")
}

pub fn trustpub_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_trustpub"))
}

/// The npm program to run: `$TRUSTPUB_TEST_NPM`, else the pinned copy from
/// `tests/tools` (installed from its lockfile with whatever npm is on PATH
/// on first use, see [`verdaccio::ensure_tools`]).
pub fn npm_program() -> OsString {
    if let Some(p) = std::env::var_os("TRUSTPUB_TEST_NPM") {
        return p;
    }
    verdaccio::ensure_tools()
        // Not `.bin/npm`: the npm10 alias installs bins named npm too, and
        // which one owns that link depends on install order.
        .join("node_modules/npm/bin/npm-cli.js")
        .into_os_string()
}

/// The npm program's package directory (`…/node_modules/npm`): the program
/// [`npm_program`] names (looked up on PATH if it is a bare name), resolved
/// through symlinks, then the nearest directory above it whose
/// `package.json` names `npm`. Panics if there is none.
pub fn npm_root() -> PathBuf {
    find_npm_root().unwrap_or_else(|e| panic!("{e}"))
}

/// [`npm_root`], with the reason as an error instead of a panic.
pub fn find_npm_root() -> Result<PathBuf, String> {
    let program = PathBuf::from(npm_program());
    let program = if program.components().count() == 1 {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|d| d.join(&program))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("{} is not on PATH", program.display()))?
    } else {
        program
    };
    let real =
        fs::canonicalize(&program).map_err(|e| format!("resolve {}: {e}", program.display()))?;
    real.ancestors()
        .find(|d| {
            fs::read_to_string(d.join("package.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|j| j["name"] == "npm")
        })
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("no npm package above {}", real.display()))
}

/// Checks once that npm is installed and is the right version.
/// Panics with an explanation otherwise: these tests are never skipped.
pub fn require_npm() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let res = CHECK.get_or_init(|| {
        let home = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(npm_program());
        cmd.arg("--version");
        apply_env(&mut cmd, home.path());
        let out = cmd.output().map_err(|e| {
            format!(
                "could not run {:?} ({e}). The pack differential tests need Node.js and npm {NPM_VERSION} \
                 on PATH. Run `npm ci --prefix tests/tools` (pinned copy), or `npm install -g npm@{NPM_VERSION}`, \
                 or set TRUSTPUB_TEST_NPM=/path/to/npm",
                npm_program()
            )
        })?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() {
            return Err(format!(
                "`npm --version` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if version != NPM_VERSION {
            return Err(format!(
                "the pack differential tests compare against npm {NPM_VERSION}, but {:?} is npm {version:?}. \
                 Run `npm ci --prefix tests/tools` (pinned copy), or `npm install -g npm@{NPM_VERSION}`, \
                 or point TRUSTPUB_TEST_NPM at it.",
                npm_program()
            ));
        }
        Ok(())
    });
    if let Err(e) = res {
        panic!("npm is not usable for the differential tests: {e}");
    }
}

/// Replaces the child's environment with a minimal, fixed one, so that the
/// user's npm config (`npm_config_*`, `NPM_CONFIG_*`), CI detection variables
/// (`CI`, `GITHUB_ACTIONS`, ...) and locale do not change the outcome.
pub fn apply_env(cmd: &mut Command, home: &Path) {
    cmd.env_clear();
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    cmd.env("PATH", path);
    cmd.env("HOME", home);
    cmd.env("LANG", "C.UTF-8");
    // Needed on Windows for processes to start at all.
    for keep in ["SYSTEMROOT", "SystemRoot", "COMSPEC", "PATHEXT", "WINDIR"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    if let Some(v) = std::env::var_os("RUST_BACKTRACE") {
        cmd.env("RUST_BACKTRACE", v);
    }
}

#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub command: String,
}

impl Output {
    pub fn describe(&self) -> String {
        format!(
            "$ {}\nexit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` with stdout/stderr captured through files (no pipe deadlocks),
/// killing it after [`TIMEOUT`].
pub fn run(mut cmd: Command, scratch: &Path, label: &str) -> Output {
    let command = format!("{cmd:?}");
    let out_path = scratch.join(format!("{label}.stdout"));
    let err_path = scratch.join(format!("{label}.stderr"));
    let out_file = fs::File::create(&out_path).expect("create stdout capture file");
    let err_file = fs::File::create(&err_path).expect("create stderr capture file");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out_file))
        .stderr(Stdio::from(err_file));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {command}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for child") {
            break st;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command} did not finish within {TIMEOUT:?}\nstdout so far:\n{}\nstderr so far:\n{}",
                String::from_utf8_lossy(&fs::read(&out_path).unwrap_or_default()),
                String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(15));
    };
    Output {
        status,
        stdout: String::from_utf8_lossy(&fs::read(&out_path).unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()).into_owned(),
        command,
    }
}

/// Name under which fixtures store `.gitignore` files, so that they do not
/// act on this repository. Renamed to `.gitignore` when a fixture is copied.
pub const STORED_GITIGNORE: &str = "__gitignore";

/// Copies a fixture tree. Symlinks are recreated, not followed. Regular files
/// get mode 0644, or 0755 if any execute bit is set in the checkout; dirs get
/// 0755 — so results do not depend on the umask of the checkout.
pub fn copy_fixture(src: &Path, dst: &Path) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    set_mode(dst, 0o755)?;
    let mut entries: Vec<_> = fs::read_dir(src)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let from = entry.path();
        let name = entry.file_name();
        let to_name = if name == STORED_GITIGNORE {
            OsString::from(".gitignore")
        } else {
            name
        };
        let to = dst.join(to_name);
        let meta = fs::symlink_metadata(&from)?;
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = fs::read_link(&from)?;
            make_symlink(&target, &to)?;
        } else if ft.is_dir() {
            copy_fixture(&from, &to)?;
        } else {
            fs::copy(&from, &to)?;
            set_mode(&to, if is_executable(&meta) { 0o755 } else { 0o644 })?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}
#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}
#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
pub fn make_symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}
#[cfg(windows)]
pub fn make_symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}

/// Run-time setup helpers. All paths are relative to the package directory;
/// they panic on failure because a broken setup is a broken test.
pub struct Setup<'a> {
    pub pkg: &'a Path,
}

impl Setup<'_> {
    fn p(&self, rel: &str) -> PathBuf {
        self.pkg.join(rel)
    }
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let p = self.p(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        set_mode(&p, 0o644).unwrap();
        self
    }
    pub fn mkdir(&self, rel: &str) -> &Self {
        fs::create_dir_all(self.p(rel)).unwrap();
        self
    }
    pub fn chmod(&self, rel: &str, mode: u32) -> &Self {
        set_mode(&self.p(rel), mode).unwrap_or_else(|e| panic!("chmod {rel}: {e}"));
        self
    }
    /// `link` becomes a symlink whose target is the literal `target`.
    pub fn symlink(&self, target: &str, link: &str) -> &Self {
        make_symlink(Path::new(target), &self.p(link))
            .unwrap_or_else(|e| panic!("symlink {link} -> {target}: {e}"));
        self
    }
    /// `link` becomes a hard link to `existing` (both relative to the package).
    pub fn hardlink(&self, existing: &str, link: &str) -> &Self {
        fs::hard_link(self.p(existing), self.p(link))
            .unwrap_or_else(|e| panic!("hard link {link} -> {existing}: {e}"));
        self
    }
}

/// Replaces every occurrence of `from` with `to`.
pub fn replace_all(s: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = s.to_string();
    for (from, to) in pairs {
        if !from.is_empty() {
            out = out.replace(from, to);
        }
    }
    out
}

/// Lists the names in a directory (empty if it does not exist).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A plain (uncoloured) line diff: `-` lines only in `a` (npm), `+` lines
/// only in `b` (ours), two-space lines common to both.
pub fn line_diff(a: &str, b: &str) -> String {
    let la: Vec<&str> = a.lines().collect();
    let lb: Vec<&str> = b.lines().collect();
    if la.len() * lb.len() > 4_000_000 {
        return format!("--- npm\n{a}\n--- ours\n{b}\n");
    }
    // longest common subsequence table, from the end
    let mut t = vec![vec![0u32; lb.len() + 1]; la.len() + 1];
    for i in (0..la.len()).rev() {
        for j in (0..lb.len()).rev() {
            t[i][j] = if la[i] == lb[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let mut out = String::from("  (- npm, + ours)\n");
    let (mut i, mut j) = (0, 0);
    while i < la.len() || j < lb.len() {
        if i < la.len() && j < lb.len() && la[i] == lb[j] {
            out.push_str(&format!("    {:?}\n", la[i]));
            i += 1;
            j += 1;
        } else if j < lb.len() && (i == la.len() || t[i][j + 1] >= t[i + 1][j]) {
            out.push_str(&format!("  + {:?}\n", lb[j]));
            j += 1;
        } else {
            out.push_str(&format!("  - {:?}\n", la[i]));
            i += 1;
        }
    }
    if la == lb && a.ends_with('\n') != b.ends_with('\n') {
        out.push_str(&format!(
            "  trailing newline: npm {}, ours {}\n",
            a.ends_with('\n'),
            b.ends_with('\n')
        ));
    }
    out
}

/// The user-agent trustpub must send (npm-compatible clients' convention:
/// `<tool>/<version> npm/? node/? <platform> <arch> workspaces/false`, plus
/// ` ci/<name>` in CI), with Node's names for the platform and architecture.
pub fn expected_user_agent(ci: Option<&str>) -> String {
    let platform = match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        os => os,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        "x86" => "ia32",
        a => a,
    };
    let mut ua = format!(
        "trustpub/{} npm/? node/? {platform} {arch} workspaces/false",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(c) = ci {
        ua.push_str(" ci/");
        ua.push_str(c);
    }
    ua
}
