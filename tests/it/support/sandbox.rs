//! An isolated place to run `trustpub publish` (and the real npm) in: a temp
//! directory with its own HOME, user npmrc, global npmrc and npm cache, a
//! fixed minimal environment, and a freshly generated secret token.
//!
//! Set `TRUSTPUB_TEST_SHOW=1` to see every run's command and output
//! (redacted) on standard error.
//!
//! Every run through [`Sandbox::trustpub`] checks that the token appears on
//! neither standard output nor standard error, and every message these
//! helpers build has the token replaced by `<planted token>`.

use std::ffi::OsStr;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::Output;

/// A distinctive random token: never a real credential, easy to grep for.
pub fn planted_token() -> String {
    let mut bytes = [0u8; 18];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    format!("npm_TrustpubPlanted{}", hex::encode(bytes))
}

pub struct Sandbox {
    _tmp: tempfile::TempDir,
    /// The temp directory (canonical).
    pub root: PathBuf,
    pub home: PathBuf,
    pub globalconfig: PathBuf,
    pub cache: PathBuf,
    scratch: PathBuf,
    /// The secret: every assertion message is redacted of it.
    pub token: String,
    /// More secrets that must not be printed (decoys, Verdaccio tokens).
    secrets: std::sync::Mutex<Vec<String>>,
    runs: AtomicUsize,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let tmp = tempfile::Builder::new()
            .prefix("trustpub-publish-")
            .tempdir()
            .expect("temp dir");
        let root = tmp.path().canonicalize().unwrap();
        let sb = Sandbox {
            home: root.join("home"),
            globalconfig: root.join("global-npmrc"),
            cache: root.join("npm-cache"),
            scratch: root.join("captures"),
            root,
            _tmp: tmp,
            token: planted_token(),
            secrets: std::sync::Mutex::new(Vec::new()),
            runs: AtomicUsize::new(0),
        };
        fs::create_dir_all(&sb.home).unwrap();
        fs::create_dir_all(&sb.scratch).unwrap();
        fs::write(&sb.globalconfig, "").unwrap();
        sb
    }

    /// Another secret that must never be printed.
    pub fn add_secret(&self, s: &str) {
        self.secrets.lock().unwrap().push(s.to_string());
    }

    fn all_secrets(&self) -> Vec<String> {
        let mut v = vec![self.token.clone()];
        v.extend(self.secrets.lock().unwrap().iter().cloned());
        v
    }

    /// `s` with every secret replaced.
    pub fn redact(&self, s: &str) -> String {
        let mut out = s.to_string();
        for t in self.all_secrets() {
            out = out.replace(&t, "<planted token>");
        }
        out
    }

    /// `~/.npmrc` of the sandbox (the default user config).
    pub fn user_npmrc(&self) -> PathBuf {
        self.home.join(".npmrc")
    }

    pub fn write(&self, path: &Path, text: &str) {
        if let Some(p) = path.parent() {
            fs::create_dir_all(p).unwrap();
        }
        fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// `//host:port/:_authToken=<token>` for a registry URL (its nerf dart).
    pub fn token_line(registry: &str, token: &str) -> String {
        let u = url::Url::parse(registry)
            .and_then(|u| u.join("."))
            .expect("registry URL");
        format!(
            "{}:_authToken={token}\n",
            u.as_str().trim_start_matches("http:")
        )
    }

    /// Writes the user npmrc with the planted token for `registry`.
    pub fn login(&self, registry: &str) {
        self.write(&self.user_npmrc(), &Self::token_line(registry, &self.token));
    }

    /// Copies `fixtures/publish/<name>` to `<root>/<name>`.
    pub fn fixture(&self, name: &str) -> PathBuf {
        let src = super::manifest_dir().join("fixtures/publish").join(name);
        assert!(src.join("package.json").is_file(), "no fixture {name}");
        let dst = self.root.join(name);
        super::copy_fixture(&src, &dst).expect("copy fixture");
        dst
    }

    /// A package made here: `package.json` from `manifest`, and `files`.
    pub fn package(&self, dir: &str, manifest: &Value, files: &[(&str, &str)]) -> PathBuf {
        let pkg = self.root.join(dir);
        fs::create_dir_all(&pkg).unwrap();
        let setup = super::Setup { pkg: &pkg };
        setup.write(
            "package.json",
            serde_json::to_string_pretty(manifest).unwrap(),
        );
        for (rel, text) in files {
            setup.write(rel, text);
        }
        pkg
    }

    /// `trustpub <args>` in the sandbox: cwd is the sandbox root, the
    /// environment is [`super::apply_env`]'s plus an empty global npmrc and
    /// short retry waits (`fetch-retry-mintimeout` 100 ms,
    /// `fetch-retry-maxtimeout` 1 s).
    pub fn trustpub<I, S>(&self, args: I) -> Tp<'_>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(super::trustpub_bin());
        cmd.args(args);
        super::apply_env(&mut cmd, &self.home);
        cmd.env("npm_config_globalconfig", &self.globalconfig)
            .env("npm_config_fetch_retry_mintimeout", "100")
            .env("npm_config_fetch_retry_maxtimeout", "1000")
            .current_dir(&self.root);
        Tp { sb: self, cmd }
    }

    /// [`Sandbox::trustpub`] under a hard address-space limit (`prlimit
    /// --as=<max_bytes>`): an allocation past it fails, so a run that needs
    /// more memory dies instead of passing.
    pub fn trustpub_limited<I, S>(&self, max_bytes: u64, args: I) -> Tp<'_>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let prlimit = Path::new("/usr/bin/prlimit");
        assert!(
            prlimit.is_file(),
            "the memory-limit tests need prlimit (util-linux) at {}",
            prlimit.display()
        );
        let mut cmd = Command::new(prlimit);
        cmd.arg(format!("--as={max_bytes}"))
            .arg("--")
            .arg(super::trustpub_bin())
            .args(args);
        super::apply_env(&mut cmd, &self.home);
        cmd.env("npm_config_globalconfig", &self.globalconfig)
            .env("npm_config_fetch_retry_mintimeout", "100")
            .env("npm_config_fetch_retry_maxtimeout", "1000")
            .current_dir(&self.root);
        Tp { sb: self, cmd }
    }

    /// The real npm, isolated as in `document_diff.rs`: the sandbox's user
    /// npmrc, global npmrc and cache, no update check, audit or fund.
    pub fn npm<I, S>(&self, args: I) -> Tp<'_>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        super::require_npm();
        let mut cmd = Command::new(super::npm_program());
        cmd.args(args)
            .arg("--userconfig")
            .arg(self.user_npmrc())
            .arg("--globalconfig")
            .arg(&self.globalconfig)
            .arg("--cache")
            .arg(&self.cache)
            .arg("--no-update-notifier")
            .arg("--no-audit")
            .arg("--no-fund");
        super::apply_env(&mut cmd, &self.home);
        cmd.current_dir(&self.root);
        Tp { sb: self, cmd }
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

/// A command about to run in a sandbox.
pub struct Tp<'a> {
    sb: &'a Sandbox,
    cmd: Command,
}

impl Tp<'_> {
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(mut self, a: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(a);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn env_remove(mut self, k: &str) -> Self {
        self.cmd.env_remove(k);
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Runs it; panics if a secret shows up in its output.
    pub fn run(self) -> Run {
        let n = self.sb.runs.fetch_add(1, Ordering::SeqCst);
        let out = super::run(self.cmd, &self.sb.scratch, &format!("run{n}"));
        let run = Run {
            describe: self.sb.redact(&out.describe()),
            out,
        };
        if std::env::var_os("TRUSTPUB_TEST_SHOW").is_some() {
            eprintln!("{}\n", run.describe);
        }
        assert_no_leak(&run, &self.sb.all_secrets());
        run
    }
}

/// Panics if a secret appears in the run's standard output or standard
/// error — except on a GitHub `::add-mask::<secret>` line, which is how a
/// secret is masked (the runner swallows that line).
pub fn assert_no_leak(run: &Run, secrets: &[String]) {
    let unmasked = |text: &str| -> String {
        text.lines()
            .filter(|l| {
                !l.strip_prefix("::add-mask::")
                    .is_some_and(|v| secrets.iter().any(|s| s == v))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (out, err) = (unmasked(run.stdout()), unmasked(run.stderr()));
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !out.contains(secret.as_str()) && !err.contains(secret.as_str()),
            "a planted secret appeared in the output:\n{}",
            run.describe
        );
    }
}

/// A finished run, with its output already checked for secrets.
pub struct Run {
    pub out: Output,
    /// `Output::describe` with the secrets redacted: safe for messages.
    pub describe: String,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    pub fn stdout(&self) -> &str {
        &self.out.stdout
    }

    pub fn stderr(&self) -> &str {
        &self.out.stderr
    }

    /// Asserts the exit code.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "expected exit code {code}:\n{}",
            self.describe
        );
        self
    }

    pub fn success(&self) -> &Self {
        self.expect_code(0)
    }

    /// Asserts that standard error contains `text`.
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr().contains(text),
            "standard error lacks {text:?}:\n{}",
            self.describe
        );
        self
    }

    pub fn stderr_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.stderr().contains(text),
            "standard error has {text:?}:\n{}",
            self.describe
        );
        self
    }

    /// The `error: …` line and its `hint: …` line.
    pub fn error_and_hint(&self) -> (String, String) {
        let line = |prefix: &str| {
            self.stderr()
                .lines()
                .find_map(|l| l.trim_start().strip_prefix(prefix).map(str::to_string))
                .unwrap_or_else(|| panic!("no `{prefix}` line:\n{}", self.describe))
        };
        (line("error: "), line("hint: "))
    }

    /// Standard output as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout())
            .unwrap_or_else(|e| panic!("standard output is not JSON ({e}):\n{}", self.describe))
    }

    /// The last non-empty line of standard error.
    pub fn last_stderr_line(&self) -> &str {
        self.stderr()
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
    }
}
