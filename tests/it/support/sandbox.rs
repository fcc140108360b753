//! An isolated place to run `trustpub publish` (and the real npm) in: a temp
//! directory with its own HOME, user npmrc, global npmrc and npm cache, a
//! fixed minimal environment, and a freshly generated secret token.
//!
//! Set `TRUSTPUB_TEST_SHOW=1` to see every run's command and output
//! (redacted) on standard error.
//!
//! Every run through [`Sandbox::trustpub`] (and [`Sandbox::npm`]) is checked
//! by [`assert_clean_output`]: no planted secret on standard output, standard
//! error, in the `$GITHUB_STEP_SUMMARY` file the run was given or in any file
//! registered with [`Sandbox::watch_file`] / [`Tp::check_file`]; and no
//! output line, split as the GitHub runner splits it, is a workflow command
//! trustpub did not write itself. Every message these helpers build has the
//! secrets replaced by `<planted token>`.

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
    /// Files every run is checked for secrets (besides its step summary).
    watched: std::sync::Mutex<Vec<PathBuf>>,
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
            watched: std::sync::Mutex::new(Vec::new()),
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

    /// A file every later run must leave free of secrets (checked after each
    /// run, if it exists).
    pub fn watch_file(&self, path: &Path) {
        self.watched.lock().unwrap().push(path.to_path_buf());
    }

    pub fn all_secrets(&self) -> Vec<String> {
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
        self.trustpub_in(cmd)
    }

    /// The sandbox's environment and working directory for a trustpub run.
    fn trustpub_in(&self, mut cmd: Command) -> Tp<'_> {
        super::apply_env(&mut cmd, &self.home);
        cmd.env("npm_config_globalconfig", &self.globalconfig)
            .env("npm_config_fetch_retry_mintimeout", "100")
            .env("npm_config_fetch_retry_maxtimeout", "1000")
            .current_dir(&self.root);
        Tp {
            sb: self,
            cmd,
            files: Vec::new(),
            trustpub: true,
        }
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
        self.trustpub_in(cmd)
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
        // `--name=value`, one argument each: `npm trust` parses its flags
        // with its own definitions, which lack these, and would take a
        // separate value for a positional argument.
        let eq = |name: &str, value: &Path| {
            let mut a = std::ffi::OsString::from(format!("--{name}="));
            a.push(value);
            a
        };
        cmd.args(args)
            .arg(eq("userconfig", &self.user_npmrc()))
            .arg(eq("globalconfig", &self.globalconfig))
            .arg(eq("cache", &self.cache))
            .arg("--no-update-notifier")
            .arg("--no-audit")
            .arg("--no-fund");
        super::apply_env(&mut cmd, &self.home);
        cmd.current_dir(&self.root);
        Tp {
            sb: self,
            cmd,
            files: Vec::new(),
            trustpub: false,
        }
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
    /// Files this run writes that must hold no secret: the step summary
    /// (from `env`) and those given to [`Tp::check_file`].
    files: Vec<PathBuf>,
    /// trustpub (its own GitLab section markers are the only escape
    /// sequences allowed), not npm.
    trustpub: bool,
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
        if k == "GITHUB_STEP_SUMMARY" && !v.as_ref().is_empty() {
            self.files.push(PathBuf::from(v.as_ref()));
        }
        self.cmd.env(k, v);
        self
    }

    /// A file this run writes that must not contain a secret.
    pub fn check_file(mut self, path: &Path) -> Self {
        self.files.push(path.to_path_buf());
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

    /// Runs it; panics if a secret shows up in its output or a file it
    /// wrote, or if it printed a workflow command trustpub does not write.
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
        let mut files = self.files;
        files.extend(self.sb.watched.lock().unwrap().iter().cloned());
        assert_clean_output(
            &run.out,
            &self.sb.all_secrets(),
            &files,
            self.trustpub,
            &run.describe,
        );
        run
    }
}

/// Panics if a secret appears in the run's standard output or standard
/// error (except as the value of an `::add-mask::` line, which is how a
/// secret is masked: the runner swallows that line), or if a line is a
/// workflow command trustpub does not write. See [`assert_clean_output`].
pub fn assert_no_leak(run: &Run, secrets: &[String]) {
    assert_clean_output(&run.out, secrets, &[], true, &run.describe);
}

/// The lines of `text` as the GitHub runner reads them: split on `\n`, `\r`
/// and `\r\n` (.NET's `ReadLine`), each with its leading whitespace trimmed
/// (`TryParseV2` trims before looking for `::`).
pub fn runner_lines(text: &str) -> Vec<&str> {
    text.split(['\r', '\n']).map(str::trim_start).collect()
}

/// The runner's `UnescapeData` (`%0D`, `%0A`, then `%25`).
fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

/// Whether `value` has the shape of a credential: at least 16 printable
/// ASCII characters without spaces. trustpub masks tokens it obtains during
/// the run (the exchanged token, the Sigstore identity token) that a test
/// cannot know beforehand; a masked value is a secret from then on (see
/// [`assert_clean_output`]).
fn is_token_shaped(value: &str) -> bool {
    value.len() >= 16 && value.bytes().all(|b| b.is_ascii_graphic())
}

/// Why `line` (one runner line, trimmed) is not a workflow command that
/// trustpub writes, or `None` if it is one (or no command at all).
///
/// trustpub writes exactly these (`src/ci_report.rs`):
/// * `::add-mask::<value>`, the value escaped as the runner unescapes it and
///   a known secret, a line of one, or a token-shaped value trustpub
///   obtained during the run;
/// * `::error title=trustpub…::<message>` and `::warning title=trustpub…::…`.
fn foreign_command(line: &str, secrets: &[String]) -> Option<String> {
    if line.contains("##[") {
        return Some("contains `##[` (the runner's v1 command syntax, matched anywhere)".into());
    }
    let rest = line.strip_prefix("::")?;
    if let Some(v) = rest.strip_prefix("add-mask::") {
        let value = unescape_data(v);
        let known = secrets
            .iter()
            .any(|s| !s.is_empty() && (*s == value || s.split(['\r', '\n']).any(|l| l == value)));
        return (!(known || is_token_shaped(&value)))
            .then(|| "masks a value that is not a secret".into());
    }
    for kind in ["error", "warning"] {
        if let Some(after) = rest
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix(" title="))
        {
            let Some((title, _data)) = after.split_once("::") else {
                return Some("an annotation without data".into());
            };
            if title.starts_with("trustpub") && !title.contains([',', ':']) {
                return None;
            }
            return Some(format!("an annotation titled {title:?}, not trustpub's"));
        }
    }
    Some("a workflow command trustpub does not write".into())
}

/// The output checks every sandboxed run gets, for any captured [`Output`]:
///
/// * no secret of `secrets` on standard output or standard error, except as
///   the value of an `::add-mask::` line, and none in any of `files` that
///   exists (the step summary, files the run wrote);
/// * no line, split as the GitHub runner splits it, starting with `::`
///   unless it is one of trustpub's own commands (see [`foreign_command`]),
///   and no `##[` anywhere;
/// * for trustpub (`own_markers`), no escape character except in its own
///   GitLab section markers (`ESC[0Ksection_start:…` / `section_end:…`).
///
/// `describe` (already redacted) goes into the panic message.
pub fn assert_clean_output(
    out: &Output,
    secrets: &[String],
    files: &[PathBuf],
    own_markers: bool,
    describe: &str,
) {
    // What trustpub masked is a secret too, from its mask line on.
    let mut owned: Vec<String> = secrets.iter().filter(|s| !s.is_empty()).cloned().collect();
    for text in [&out.stdout, &out.stderr] {
        for line in runner_lines(text) {
            if let Some(v) = line.strip_prefix("::add-mask::") {
                let v = unescape_data(v);
                if is_token_shaped(&v) && !owned.contains(&v) {
                    owned.push(v);
                }
            }
        }
    }
    let secrets: Vec<&String> = owned.iter().collect();
    let markers = regex::Regex::new(
        r"\x1b\[0Ksection_start:\d+:[A-Za-z0-9_.-]+\[collapsed=false\]\r\x1b\[0K|\x1b\[0Ksection_end:\d+:[A-Za-z0-9_.-]+\r\x1b\[0K",
    )
    .unwrap();
    for (stream, text) in [
        ("standard output", &out.stdout),
        ("standard error", &out.stderr),
    ] {
        for line in runner_lines(text) {
            if let Some(why) = foreign_command(line, &owned) {
                panic!(
                    "{stream} has a line the GitHub runner would take as a workflow command ({why}): {:?}\n{describe}",
                    redact_with(line, &owned)
                );
            }
            if line.starts_with("::add-mask::") {
                continue;
            }
            assert!(
                !secrets.iter().any(|s| line.contains(s.as_str())),
                "a planted secret appeared on {stream}:\n{describe}"
            );
        }
        // A secret split across lines is still a leak.
        let unmasked: String = text
            .split('\n')
            .filter(|l| !l.trim_start().starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !secrets.iter().any(|s| unmasked.contains(s.as_str())),
            "a planted secret appeared on {stream}:\n{describe}"
        );
        if own_markers {
            let rest = markers.replace_all(text, "");
            assert!(
                !rest.contains('\x1b'),
                "{stream} has an escape sequence trustpub did not write as a section marker:\n{describe}"
            );
        }
    }
    for f in files {
        let Ok(bytes) = fs::read(f) else { continue };
        let text = String::from_utf8_lossy(&bytes);
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "a planted secret is in {}:\n{}\n{describe}",
                f.display(),
                redact_with(&text, &owned)
            );
        }
    }
}

/// `s` with each secret replaced by `<planted token>`.
fn redact_with(s: &str, secrets: &[String]) -> String {
    let mut out = s.to_string();
    for t in secrets.iter().filter(|t| !t.is_empty()) {
        out = out.replace(t.as_str(), "<planted token>");
    }
    out
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
