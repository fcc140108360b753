//! `trustpub trust list|diff|sync`: read every selected package's
//! configuration, plan, and apply.
//!
//! 1. **Read** (nothing changes yet): for each selected package, its
//!    registry (`publishConfig` and `@scope:registry` as `publish` picks
//!    it), its credential (a token for that registry; trust configuration
//!    needs a maintainer's login with two-factor authentication), what it
//!    should have ([`super::wanted::want`]), and what the registry holds
//!    (`GET …/trust`; a 404 is a package not on the registry yet).
//! 2. **Plan** per package ([`Plan`]): create, replace (revoke, then
//!    create: the registry holds one configuration), revoke (`--provider
//!    none`, or configurations beyond the one wanted), unchanged, or cannot
//!    (undecided, not on the registry, unreadable) with what to do.
//! 3. **Apply** (`sync` without `--dry-run`, after `--yes` or a "y" at the
//!    terminal): one request at a time, `--pace` seconds apart (npm's
//!    documentation advises 2 against rate limits); a 429 waits for the
//!    registry's `Retry-After` (at most [`MAX_RATE_WAIT`], [`MAX_RATE_RETRIES`]
//!    times) and sends again. A two-factor challenge (the code expired, or
//!    the registry's five-minute window closed) asks for a new code at a
//!    terminal; elsewhere it ends the run: what is done is done, the rest is
//!    reported as left, and the same command with a new `--otp` does the
//!    rest, because every run reads the registry again first. A package
//!    whose request fails is reported and the others go on, except after a
//!    failure that would fail them all (the credential refused, the
//!    registry unreachable or failing).
//!
//! Only the selected packages are read or changed: the names come from
//! their package.json files and nothing else.

// A registry error carries what a maintainer needs to read; one per failure.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::api::{self, Answer, Endpoint};
use super::wanted::{self, Want};
use super::{Existing, Publisher, Wanted};
use crate::cli::TrustWantedArgs;
use crate::config::{Authorization, CredentialLookup};
use crate::config::{CliConfig, Config, DEFAULT_REGISTRY};
use crate::env::Env;
use crate::registry::{Auth, AuthKind, Client, RegistryError};
use crate::secret::Secret;
use crate::ui::Printer;
use crate::workspace::discover::{self, Selection};
use crate::workspace::{Manager, Member};

/// The longest wait a 429's `Retry-After` may impose.
pub const MAX_RATE_WAIT: Duration = Duration::from_secs(60);
/// How often a change is sent again after a 429.
pub const MAX_RATE_RETRIES: u32 = 5;
/// npm's documentation: the two-factor window the website offers.
pub const TWO_FACTOR_WINDOW: Duration = Duration::from_secs(300);

/// What the command was asked.
pub struct TrustOptions {
    pub dir: PathBuf,
    pub selection: Option<Selection>,
    /// `--workspaces`/`--workspace` given (a workspace is then required).
    pub explicit_workspace: bool,
    pub cli: CliConfig,
    pub wanted: TrustWantedArgs,
}

/// The terminal, when there is one: asked for a new one-time password and
/// for the go-ahead. Tests give their own.
pub trait Console {
    /// Whether a person can answer.
    fn interactive(&self) -> bool;
    /// A line typed in answer to `prompt` (printed first), or `None`.
    fn ask(&self, printer: &Printer, prompt: &str) -> Option<String>;
    fn sleep(&self, d: Duration);
}

/// The process's own terminal.
pub struct Terminal;

impl Console for Terminal {
    fn interactive(&self) -> bool {
        use std::io::IsTerminal;
        std::io::stdin().is_terminal()
    }

    fn ask(&self, printer: &Printer, prompt: &str) -> Option<String> {
        use std::io::BufRead;
        printer.raw_stderr(prompt);
        let mut line = String::new();
        // One line, at most 1 KiB: a code or a "y".
        let mut input = std::io::stdin().lock().take(1024);
        input.read_line(&mut line).ok()?;
        let line = line.trim().to_string();
        (!line.is_empty()).then_some(line)
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

use std::io::Read as _;

/// What the registry holds for a package.
#[derive(Debug, Clone)]
pub enum Current {
    Configs(Vec<Existing>),
    /// A 404: not published yet (or not visible to this account).
    NotOnRegistry,
    /// The list could not be read.
    Unreadable {
        error: String,
        hint: Option<String>,
    },
    /// Not read: the package cannot be planned anyway.
    NotRead,
}

/// What to do for a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Create(Wanted),
    /// Revoke these, then create.
    Replace {
        revoke: Vec<String>,
        wanted: Wanted,
        changes: Vec<String>,
    },
    /// Revoke these (`--provider none`, or extra configurations).
    Revoke(Vec<String>),
    Unchanged,
    /// Nothing is done for it: why, what to do, and whether it is a matter
    /// of local configuration (flags, login, registry: exit 2) rather than
    /// of the registry's state (exit 1).
    Cannot {
        reason: String,
        fix: String,
        config: bool,
    },
}

impl Plan {
    pub fn word(&self) -> &'static str {
        match self {
            Plan::Create(_) => "create",
            Plan::Replace { .. } => "replace",
            Plan::Revoke(_) => "revoke",
            Plan::Unchanged => "unchanged",
            Plan::Cannot { .. } => "cannot",
        }
    }

    pub fn changes(&self) -> bool {
        matches!(
            self,
            Plan::Create(_) | Plan::Replace { .. } | Plan::Revoke(_)
        )
    }

    /// The requests it makes.
    fn steps(&self) -> Vec<Step> {
        match self {
            Plan::Create(w) => vec![Step::Create(w.clone())],
            Plan::Replace { revoke, wanted, .. } => revoke
                .iter()
                .map(|id| Step::Revoke(id.clone()))
                .chain([Step::Create(wanted.clone())])
                .collect(),
            Plan::Revoke(ids) => ids.iter().map(|id| Step::Revoke(id.clone())).collect(),
            Plan::Unchanged | Plan::Cannot { .. } => Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Revoke(String),
    Create(Wanted),
}

/// How applying a package's plan ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Not applied (a dry run, `diff`, `list`, or nothing to do).
    NotApplied,
    Done,
    /// Some of its requests went through, not all: what holds now.
    Partly {
        done: Vec<String>,
        error: String,
        hint: Option<String>,
    },
    Failed {
        error: String,
        hint: Option<String>,
    },
    /// A change whose answer was lost (a timeout, a dropped connection, a
    /// 5xx): the registry may or may not have made it.
    Unknown {
        done: Vec<String>,
        error: String,
        hint: Option<String>,
    },
    /// Not reached: the run stopped before it.
    Left,
}

/// One package's row.
#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    /// Relative to the workspace root (`.` for a single package).
    pub dir: String,
    pub registry: String,
    pub want: Want,
    pub current: Current,
    pub plan: Plan,
    pub applied: Applied,
}

/// The result of a `trust` command.
#[derive(Debug, Clone)]
pub struct TrustReport {
    pub items: Vec<Item>,
    /// Why the run stopped early (a two-factor challenge nobody answered,
    /// a credential refused), when it did.
    pub stopped: Option<String>,
    pub applied: bool,
}

impl TrustReport {
    /// Every package as wanted, after this run.
    pub fn complete(&self) -> bool {
        self.stopped.is_none()
            && self.items.iter().all(|i| match i.plan {
                Plan::Unchanged => true,
                Plan::Cannot { .. } => false,
                _ => i.applied == Applied::Done,
            })
    }
}

/// Why `trust` could not start.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
}

impl TrustError {
    pub fn exit_code(&self) -> i32 {
        match self {
            TrustError::Workspace(e) => e.exit_code(),
            _ => 2,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            TrustError::Usage { hint, .. } => hint.clone(),
            TrustError::Workspace(e) => Some(e.hint()),
            TrustError::Config(e) => e.hint(),
            TrustError::Manifest(e) => e.hint(),
        }
    }
}

/// A package to look at: its name, directory and where it is shown.
struct Target {
    name: String,
    dir: PathBuf,
    rel: String,
}

/// The selected packages: a workspace's (as `doctor` selects them, private
/// ones and pnpm's nameless ones left out) or the one in `dir`.
fn targets(opts: &TrustOptions, cwd: &Path) -> Result<Vec<Target>, TrustError> {
    let dir = crate::manifest::clean_path(&cwd.join(&opts.dir));
    let ws = crate::doctor::workspace_for(&dir, opts.explicit_workspace).map_err(|e| match e {
        crate::doctor::DoctorError::Workspace(w) => TrustError::Workspace(w),
        other => TrustError::Usage {
            message: other.to_string(),
            hint: other.hint(),
        },
    })?;
    if let Some(ws) = ws {
        let sel = opts.selection.clone().unwrap_or(Selection {
            all: true,
            filters: Vec::new(),
            include_root: false,
        });
        let selected = discover::select(&ws, &dir, &sel)?;
        let public = |m: &&Member| {
            let pnpm_nameless = ws.manager == Manager::Pnpm && m.version.is_none();
            !(m.private || pnpm_nameless) && m.manifest.get("name").is_some_and(Value::is_string)
        };
        return Ok(selected
            .into_iter()
            .filter(public)
            .map(|m| Target {
                name: m.name.clone(),
                dir: m.dir.clone(),
                rel: m.rel.clone(),
            })
            .collect());
    }
    let m = crate::manifest::Manifest::read_dir(&dir)?;
    let Some(name) = m
        .raw
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return Err(TrustError::Usage {
            message: format!("{} has no \"name\"", dir.join("package.json").display()),
            hint: Some("trust configuration is per package: run it in a package directory or a workspace root".into()),
        });
    };
    Ok(vec![Target {
        name: name.to_string(),
        dir,
        rel: ".".into(),
    }])
}

/// One registry's client, shared by its packages.
struct Clients(Vec<(String, Client)>);

impl Clients {
    fn get(
        &mut self,
        registry: &str,
        config: &Config,
        env: &Env,
        printer: &Printer,
    ) -> Result<&Client, crate::config::ConfigError> {
        if let Some(i) = self.0.iter().position(|(r, _)| r == registry) {
            return Ok(&self.0[i].1);
        }
        let client = Client::from_config(crate::ci::user_agent(env), config, env, registry)?
            .without_budget();
        for s in client.secrets() {
            printer.mask(&s);
        }
        for w in client.warnings() {
            printer.warn("network", &w);
        }
        self.0.push((registry.to_string(), client));
        Ok(&self.0.last().expect("just pushed").1)
    }
}

/// What is needed to talk to one package's endpoint.
struct Line {
    registry: String,
    url: String,
    auth: Option<Auth>,
    auth_type: String,
    /// The registry was chosen outside the repository, or the maintainer
    /// logged in to it themselves: the code given on the command line may
    /// go there.
    chosen_outside: bool,
}

/// Where a package's configuration lives and the credential for it, or
/// why it cannot be reached.
fn line_for(
    t: &Target,
    base: &Config,
    printer: &Printer,
) -> Result<(Line, Config), (String, String)> {
    let (_, _, config) = crate::publish::read_package(&t.dir, base)
        .map_err(|e| (e.to_string(), e.hint().unwrap_or_default()))?;
    let registry = config
        .registry_for(&t.name)
        .map_err(|e| (e.to_string(), e.hint().unwrap_or_default()))?;
    let escaped = crate::document::escaped_name(&t.name);
    let url = api::trust_url(&registry, &escaped);
    // A registry a repository file chose gets nothing, unless the
    // maintainer logged in to it themselves (outside the repository):
    // then their own credential goes there, never the repository's.
    let moved = config.registry_moved_by_repository(&t.name);
    let own = moved
        .as_ref()
        .and_then(|_| config.user_credential_for(&url));
    // Chosen outside the repository, or logged in to by the maintainer.
    let chosen_outside = moved.is_none() || own.is_some();
    if let (Some((chosen, outside)), None) = (&moved, &own) {
        return Err((
            format!(
                "a file of the repository ({}) moves {} to {}, away from {}",
                chosen.origin.place(),
                t.name,
                crate::secret::redact_url(&chosen.url),
                outside.url
            ),
            "trust configuration goes only to the registry you chose outside the repository, or to one you logged in to yourself: remove that setting (a `@scope:registry` of the repository wins over --registry). Log in to that address only if it is a registry you use: a repository that moves your packages elsewhere may be collecting logins".into(),
        ));
    }
    if !crate::registry::is_secure(&url) {
        return Err((
            format!("the registry {} is not HTTPS", registry.url),
            "a login is only sent over HTTPS (or to this machine): use the https:// URL".into(),
        ));
    }
    let lookup = match own {
        Some(c) => CredentialLookup::Found(c),
        None => config.lookup_credential(&url, Some(&t.name)),
    };
    let auth = match lookup {
        CredentialLookup::Found(c) => match c.authorization {
            Some(Authorization::Bearer(token)) => {
                printer.mask(&token);
                Some(Auth {
                    header: Secret::new(format!("Bearer {}", token.expose())),
                    origin: crate::registry::origin(&url).unwrap_or_default(),
                    kind: AuthKind::Token,
                })
            }
            Some(Authorization::Basic(_)) => {
                return Err((
                    format!("the credential for {} ({}) is a username and password", registry.url, c.source),
                    "the registry's trust configuration accepts no username and password (npm's documentation): log in with `npm login` and use the token it writes".into(),
                ))
            }
            None => None,
        },
        CredentialLookup::Unusable(d) => {
            return Err((d.to_string(), d.hint().unwrap_or_default()));
        }
        CredentialLookup::Missing => {
            return Err((
                format!("no login for {}", registry.url),
                format!("trust configuration needs a maintainer's login with two-factor authentication: `npm login --registry {}` (a granular token that bypasses two-factor authentication is refused by the registry)", registry.url),
            ))
        }
    };
    Ok((
        Line {
            registry: registry.url.clone(),
            url,
            auth,
            auth_type: config.auth_type(),
            chosen_outside,
        },
        config,
    ))
}

/// The one-time passwords the run sends, and whether it may ask for
/// another. A code belongs to the registry it was given for: the one on the
/// command line to the registries chosen outside the repository, one
/// obtained during the run to that registry's origin only.
struct Otp<'a> {
    given: Option<Secret<String>>,
    renewed: Vec<(String, Secret<String>)>,
    console: &'a dyn Console,
    printer: &'a Printer,
}

/// How long the web two-factor login is waited for, at most.
const WEB_LOGIN_WAIT: Duration = Duration::from_secs(300);

impl Otp<'_> {
    /// The code for `line`'s registry.
    fn code_for(&self, line: &Line) -> Option<&Secret<String>> {
        let origin = crate::registry::origin(&line.url).unwrap_or_default();
        self.renewed
            .iter()
            .find(|(o, _)| *o == origin)
            .map(|(_, c)| c)
            .or(if line.chosen_outside {
                self.given.as_ref()
            } else {
                None
            })
    }

    /// After the challenge `e`: a new code (npm's `otplease`: the
    /// registry's web login when it offers one, else a code typed at the
    /// terminal), or `false` when there is no terminal or nobody answers.
    fn renew(&mut self, e: &RegistryError, ep: &Endpoint<'_>) -> bool {
        if !self.console.interactive() {
            return false;
        }
        let code = match web_urls(e) {
            Some((auth_url, done_url)) => self.web_login(&auth_url, &done_url, ep),
            None => self.console.ask(
                self.printer,
                "The registry asks for a one-time password: enter one from your authenticator (empty to stop):",
            ),
        };
        let Some(code) = code else {
            return false;
        };
        let code = Secret::new(code);
        self.printer.mask(&code);
        let origin = crate::registry::origin(&ep.url).unwrap_or_default();
        self.renewed.retain(|(o, _)| *o != origin);
        self.renewed.push((origin, code));
        true
    }

    /// npm-profile's `webAuthOpener`: show where to log in, then poll the
    /// registry's `doneUrl` until it answers 200 with a token (202: not
    /// yet), for at most [`WEB_LOGIN_WAIT`]. The login goes with the poll
    /// only when `doneUrl` is on the registry's own origin.
    fn web_login(&self, auth_url: &str, done_url: &str, ep: &Endpoint<'_>) -> Option<String> {
        if !crate::registry::is_secure(done_url) {
            self.printer.warn(
                "trust",
                &format!("the registry's login check {done_url} is not HTTPS: not used"),
            );
            return None;
        }
        let usable = url::Url::parse(auth_url)
            .is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
            && !auth_url.chars().any(char::is_control);
        if !usable {
            self.printer.warn(
                "trust",
                "the registry's web login address is not an http(s) URL on one line: not shown, not used",
            );
            return None;
        }
        self.printer
            .raw_stderr(&format!("Authenticate your account at:\n{auth_url}\nWaiting for the registry to confirm the login (at most 5 minutes)..."));
        let same_origin = crate::registry::origin(done_url) == crate::registry::origin(&ep.url);
        let started = std::time::Instant::now();
        loop {
            let Some(left) = WEB_LOGIN_WAIT
                .checked_sub(started.elapsed())
                .filter(|l| !l.is_zero())
            else {
                self.printer
                    .warn("trust", "no web login within 5 minutes: stopping");
                return None;
            };
            let req = crate::registry::Request {
                method: "GET",
                url: done_url.to_string(),
                headers: vec![("accept", "*/*".into()), ("npm-command", "trust".into())],
                body: None,
                auth: if same_origin { ep.auth } else { None },
                spec: ep.name.clone(),
            };
            let r = match ep.client.fetch_within(&req, left) {
                Ok(r) => r,
                Err(e) => {
                    self.printer
                        .warn("trust", &format!("the web login check failed: {e}"));
                    return None;
                }
            };
            match r.status {
                200 => {
                    let token = serde_json::from_slice::<Value>(&r.body)
                        .ok()
                        .and_then(|v| v.get("token").and_then(Value::as_str).map(str::to_string))
                        .filter(|t| !t.is_empty());
                    if token.is_none() {
                        self.printer
                            .warn("trust", "the registry's web login answered without a token");
                    }
                    return token;
                }
                202 => {
                    let wait = r
                        .header("retry-after")
                        .and_then(crate::http::parse_retry_after)
                        .unwrap_or(Duration::from_secs(2))
                        .clamp(Duration::from_secs(1), Duration::from_secs(10))
                        .min(left);
                    self.console.sleep(wait);
                }
                s => {
                    self.printer.warn(
                        "trust",
                        &format!("the registry's web login check answered {s}"),
                    );
                    return None;
                }
            }
        }
    }
}

/// The web login a two-factor challenge offers: (`authUrl`, `doneUrl`).
fn web_urls(e: &RegistryError) -> Option<(String, String)> {
    match e {
        RegistryError::Status {
            auth_url: Some(a),
            done_url: Some(d),
            ..
        } => Some((a.clone(), d.clone())),
        _ => None,
    }
}

/// What the run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    List,
    Diff,
    DryRun,
    Apply { yes: bool },
}

/// `trustpub trust …`.
pub fn run(
    opts: &TrustOptions,
    mode: Mode,
    pace: Duration,
    env: &Env,
    cwd: &Path,
    printer: &Printer,
    console: &dyn Console,
) -> Result<TrustReport, TrustError> {
    if mode != Mode::List {
        wanted::check_flags(&opts.wanted).map_err(|message| TrustError::Usage {
            message,
            hint: Some("see `trustpub trust sync --help`".into()),
        })?;
    }
    if mode == (Mode::Apply { yes: false }) && !console.interactive() {
        return Err(TrustError::Usage {
            message: "`trust sync` asks before it changes anything, and there is no terminal to ask".into(),
            hint: Some("review the changes with `trustpub trust diff`, then run `trustpub trust sync --yes`".into()),
        });
    }
    let targets = targets(opts, cwd)?;
    if targets.is_empty() {
        return Err(TrustError::Usage {
            message: "no package to configure: every selected package is private".into(),
            hint: Some("select public packages with --workspace <name>".into()),
        });
    }
    let base = Config::load(env, &opts.cli, cwd)?;
    let mut otp = Otp {
        given: base.otp(),
        renewed: Vec::new(),
        console,
        printer,
    };
    if let Some(c) = &otp.given {
        printer.mask(c);
    }
    let mut clients = Clients(Vec::new());
    let observer = crate::publish::Report(printer);
    let mut warned: Vec<String> = Vec::new();

    // 1. Read.
    let mut items = Vec::new();
    let mut lines: Vec<Option<Line>> = Vec::new();
    let mut stopped = None;
    for t in &targets {
        let (line, config) = match line_for(t, &base, printer) {
            Ok(l) => l,
            Err((error, hint)) => {
                // The registry it would go to, when that much is known.
                let registry = crate::publish::read_package(&t.dir, &base)
                    .ok()
                    .and_then(|(_, _, c)| c.registry_for(&t.name).ok())
                    .map(|r| crate::secret::redact_url(&r.url))
                    .unwrap_or_default();
                items.push(Item {
                    name: t.name.clone(),
                    dir: t.rel.clone(),
                    registry,
                    want: Want::Nothing,
                    current: Current::Unreadable {
                        error: error.clone(),
                        hint: Some(hint.clone()),
                    },
                    plan: Plan::Cannot {
                        reason: error,
                        fix: hint,
                        config: true,
                    },
                    applied: Applied::NotApplied,
                });
                lines.push(None);
                continue;
            }
        };
        if !line.registry.starts_with(DEFAULT_REGISTRY) && !warned.contains(&line.registry) {
            printer.warn(
                "trust",
                &format!(
                    "{} is not {DEFAULT_REGISTRY}: it may not offer trust configuration (npm trust warns the same)",
                    line.registry
                ),
            );
            warned.push(line.registry.clone());
        }
        let want = if mode == Mode::List {
            Want::Nothing
        } else {
            // The repository around this package (a member may be a
            // repository of its own: a submodule).
            let root = crate::workflows::find_repo_root(&t.dir);
            let host = url::Url::parse(&line.registry)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "registry.npmjs.org".into());
            let analysis = crate::workflows::analyze(&root, &t.dir, &host);
            let origin = wanted::Origin::from_named(&crate::workflows::named_repositories(&t.dir));
            wanted::want(&t.name, &opts.wanted, &analysis, &origin)
        };
        let current = if stopped.is_some() {
            Current::NotRead
        } else {
            let client = clients.get(&line.registry, &config, env, printer)?;
            let ep = endpoint(client, &line, &t.name);
            let mut renewed = false;
            loop {
                match ep.list(otp.code_for(&line), &observer) {
                    Ok(Ok(list)) => break Current::Configs(list),
                    Ok(Err(e)) => {
                        break Current::Unreadable {
                            error: format!("{}: {e}", line.url),
                            hint: Some("nothing is changed for this package: check that the registry URL is the registry's own (not a mirror or proxy that rewrites answers), and look at the package's trusted publisher on the registry's website".into()),
                        }
                    }
                    Err(e) if e.status() == Some(404) => break Current::NotOnRegistry,
                    Err(e) if e.is_otp() => {
                        // One new code per challenge, as npm's otplease:
                        // a second challenge means the registry refused it.
                        if !renewed && otp.renew(&e, &ep) {
                            renewed = true;
                            continue;
                        }
                        stopped = Some(otp_stop(
                            &e,
                            renewed || otp.code_for(&line).is_some(),
                            console.interactive(),
                            matches!(mode, Mode::Apply { .. }),
                        ));
                        break Current::NotRead;
                    }
                    Err(e) => {
                        if stops_everything(&e) {
                            stopped = Some(format!("{e}"));
                        }
                        break Current::Unreadable {
                            error: e.to_string(),
                            hint: trust_hint(&e),
                        };
                    }
                }
            }
        };
        let plan = plan(&t.name, &want, &current, opts.wanted.repository.is_some());
        items.push(Item {
            name: t.name.clone(),
            dir: t.rel.clone(),
            registry: line.registry.clone(),
            want,
            current,
            plan,
            applied: Applied::NotApplied,
        });
        lines.push(Some(line));
    }
    let mut report = TrustReport {
        items,
        stopped,
        applied: false,
    };
    let Mode::Apply { yes } = mode else {
        return Ok(report);
    };
    if report.stopped.is_some() {
        return Ok(report);
    }

    // 2. The go-ahead.
    let changes: usize = report.items.iter().map(|i| i.plan.steps().len()).sum();
    if changes == 0 {
        return Ok(report);
    }
    if !yes {
        crate::report::trust_plan(printer, &report);
        let answer = console.ask(printer, &format!("Make these {changes} change(s)? (y/N)"));
        if !answer.is_some_and(|a| matches!(a.to_ascii_lowercase().as_str(), "y" | "yes")) {
            return Err(TrustError::Usage {
                message: "cancelled: nothing was changed".into(),
                hint: None,
            });
        }
    }
    if outlasts_two_factor_window(pace, changes) {
        printer.notice(&format!(
            "trust: {changes} changes, {} s apart, take about {} min, longer than the registry's 5-minute two-factor window; when it closes you are asked for a new code (at a terminal), or the run stops and the same command with a new --otp does the rest",
            pace.as_secs_f64(),
            estimated_time(pace, changes).as_secs().div_ceil(60)
        ));
    }

    // 3. Apply.
    report.applied = true;
    let mut first = true;
    for (item, line) in report.items.iter_mut().zip(&lines) {
        let Some(line) = line else { continue };
        let steps = item.plan.steps();
        if steps.is_empty() {
            continue;
        }
        if report.stopped.is_some() {
            item.applied = Applied::Left;
            continue;
        }
        let client = clients.get(&line.registry, &base, env, printer)?;
        let ep = endpoint(client, line, &item.name);
        let mut done: Vec<String> = Vec::new();
        let mut outcome = Applied::Done;
        for step in steps {
            if !first {
                console.sleep(pace);
            }
            first = false;
            match send_step(&ep, line, &step, &mut otp, console, pace) {
                Ok(()) => {
                    let what = match &step {
                        Step::Revoke(id) => format!("revoked configuration {id}"),
                        Step::Create(w) => format!("created {w}"),
                    };
                    printer.notice(&format!("trust {}: {what}", item.name));
                    done.push(what);
                }
                Err(Failure::Stop(why)) => {
                    report.stopped = Some(why.clone());
                    outcome = if done.is_empty() {
                        Applied::Left
                    } else {
                        Applied::Partly {
                            done: done.clone(),
                            error: why,
                            hint: Some(left_hint(&item.plan)),
                        }
                    };
                    break;
                }
                Err(Failure::Unknown { error, hint }) => {
                    report.stopped = Some(error.clone());
                    let hint = if matches!(item.plan, Plan::Replace { .. }) && !done.is_empty() {
                        "its old configuration is revoked; whether the new one was created is not known. If `trustpub trust list` shows none, the package has NO trusted publisher now: the same command again reads the registry first and creates it".to_string()
                    } else {
                        hint
                    };
                    outcome = Applied::Unknown {
                        done: done.clone(),
                        error,
                        hint: Some(hint),
                    };
                    break;
                }
                Err(Failure::Package { error, hint, stop }) => {
                    if stop {
                        report.stopped = Some(error.clone());
                    }
                    outcome = if done.is_empty() {
                        Applied::Failed { error, hint }
                    } else {
                        Applied::Partly {
                            done: done.clone(),
                            error,
                            hint: Some(left_hint(&item.plan)),
                        }
                    };
                    break;
                }
            }
        }
        item.applied = outcome;
    }
    Ok(report)
}

/// What one change takes besides the pace, as npm's documentation counts
/// it: "about 80 packages" in the 5-minute window "with a 2-second sleep"
/// between `npm trust` calls, so about 3.75 s a package, 1.75 s of it the
/// request.
const REQUEST_ESTIMATE: Duration = Duration::from_millis(1750);

/// How long `changes` requests, `pace` apart, take: the waits are between
/// two requests (one change never waits), each request
/// [`REQUEST_ESTIMATE`].
fn estimated_time(pace: Duration, changes: usize) -> Duration {
    let n = u32::try_from(changes).unwrap_or(u32::MAX);
    pace.saturating_mul(n.saturating_sub(1))
        .saturating_add(REQUEST_ESTIMATE.saturating_mul(n))
}

/// Whether they take longer than the registry's two-factor window.
fn outlasts_two_factor_window(pace: Duration, changes: usize) -> bool {
    estimated_time(pace, changes) > TWO_FACTOR_WINDOW
}

fn endpoint<'a>(client: &'a Client, line: &'a Line, name: &str) -> Endpoint<'a> {
    Endpoint {
        client,
        auth: line.auth.as_ref(),
        url: line.url.clone(),
        name: name.to_string(),
        auth_type: line.auth_type.clone(),
    }
}

/// The words of a stop at a two-factor challenge: why, and what to do
/// (the registry's web login, when it offers one).
fn otp_stop(e: &RegistryError, had_code: bool, interactive: bool, applying: bool) -> String {
    let why = if had_code {
        "the registry asks for a new one-time password (the code expired, or its two-factor window closed)"
    } else {
        "the registry asks for a one-time password, and none was given"
    };
    let what = if web_urls(e).is_some() && interactive {
        "the registry's web login gave no code (see the warning above): run the same command again, or with --otp <code from your authenticator app>"
    } else if web_urls(e).is_some() {
        "the registry offers its web login, which needs a terminal: run the same command at a terminal (it shows where to log in and waits), or again with --otp <code from your authenticator app>"
    } else {
        "run the same command again with --otp <code from your authenticator>"
    };
    // Only a sync has something left to do.
    let rest = if applying {
        "; it does only what is left"
    } else {
        ""
    };
    format!("{why}: {what}{rest}")
}

/// What to do about a trust request the registry refused (the publish
/// hints of [`RegistryError::hint`] do not fit: they speak of publish
/// rights and of tokens that bypass two-factor authentication, which the
/// trust API refuses).
fn trust_hint(e: &RegistryError) -> Option<String> {
    Some(match e.status() {
        Some(401) => "the registry did not accept the login: log in again with `npm login` (trust configuration needs a maintainer's own login; a granular token that bypasses two-factor authentication is refused)".into(),
        Some(403) => "this login may not change the package's trusted publisher: it must be a maintainer's, with two-factor authentication enabled on the account (npm's documentation)".into(),
        Some(409) => "the registry holds a configuration this run did not see (a change made at the same time?): run the same command again".into(),
        Some(400 | 422) => "the registry refused the configuration; see its message above".into(),
        _ => return e.hint(),
    })
}

/// What a package left half-changed needs.
fn left_hint(plan: &Plan) -> String {
    match plan {
        Plan::Replace { .. } => "its old configuration is revoked and the new one is not created yet, so it has NO trusted publisher now: run the same command again (with a new --otp) to create it".into(),
        _ => "run the same command again (with a new --otp): it reads the registry again and does only what is left".into(),
    }
}

/// A failure no other package's request would escape: the login refused,
/// the registry unreachable or failing.
fn stops_everything(e: &RegistryError) -> bool {
    match e.status() {
        Some(401) => true,
        Some(s) => s >= 500,
        None => true,
    }
}

enum Failure {
    /// The run stops here (a two-factor challenge nobody can answer).
    Stop(String),
    /// This package's request failed; `stop`: the others would fail too.
    Package {
        error: String,
        hint: Option<String>,
        stop: bool,
    },
    /// The answer was lost: whether the registry made the change is not
    /// known. The run stops (the registry is failing or unreachable).
    Unknown { error: String, hint: String },
}

/// One request, with the 429 waits and the two-factor challenge.
fn send_step(
    ep: &Endpoint<'_>,
    line: &Line,
    step: &Step,
    otp: &mut Otp<'_>,
    console: &dyn Console,
    pace: Duration,
) -> Result<(), Failure> {
    let mut tries = 0u32;
    let mut renewed = false;
    loop {
        let answer = match step {
            Step::Revoke(id) => ep.revoke(id, otp.code_for(line)),
            Step::Create(w) => ep.create(w, otp.code_for(line)),
        };
        match answer {
            Ok(Answer::Done) => return Ok(()),
            Ok(Answer::RateLimited(after)) => {
                tries += 1;
                let later = "run the same command again later: it does only what is left";
                if tries > MAX_RATE_RETRIES {
                    return Err(Failure::Package {
                        error: format!(
                            "the registry answered 429 (rate limited) to {tries} tries of this change"
                        ),
                        hint: Some(later.into()),
                        stop: true,
                    });
                }
                if let Some(a) = after.filter(|a| *a > MAX_RATE_WAIT) {
                    return Err(Failure::Package {
                        error: format!(
                            "the registry answered 429 (rate limited) and asks to wait {} s",
                            a.as_secs()
                        ),
                        hint: Some(later.into()),
                        stop: true,
                    });
                }
                // At least the pace (and a second): `Retry-After: 0` is no
                // reason to hammer a registry that is rate-limiting.
                let wait = after
                    .unwrap_or(Duration::from_secs(2u64.saturating_pow(tries)))
                    .max(pace)
                    .max(Duration::from_secs(1))
                    .min(MAX_RATE_WAIT);
                otp.printer.notice(&format!(
                    "trust: the registry is rate-limiting; waiting {} s",
                    wait.as_secs()
                ));
                console.sleep(wait);
            }
            Err(e) if e.is_otp() => {
                // One new code per challenge, as npm's otplease: a second
                // challenge means the registry refused the new one.
                let had_code = renewed || otp.code_for(line).is_some();
                if renewed || !otp.renew(&e, ep) {
                    return Err(Failure::Stop(otp_stop(
                        &e,
                        had_code,
                        console.interactive(),
                        true,
                    )));
                }
                renewed = true;
            }
            Err(e) if e.status().is_none_or(|s| s >= 500) => {
                let what = match step {
                    Step::Revoke(id) => format!("the revoke of configuration {id}"),
                    Step::Create(_) => "the create".to_string(),
                };
                return Err(Failure::Unknown {
                    error: format!("{e}: whether the registry made {what} is not known"),
                    hint: "`trustpub trust list` shows what the registry holds; the same command again reads it first and does only what is left".into(),
                });
            }
            Err(e) => {
                return Err(Failure::Package {
                    error: e.to_string(),
                    hint: trust_hint(&e),
                    stop: stops_everything(&e),
                })
            }
        }
    }
}

/// The plan for one package. `case_settled`: the repository was given on
/// the command line, so its case is the maintainer's word (a clone URL's
/// is not: GitHub does not normalise them).
pub fn plan(name: &str, want: &Want, current: &Current, case_settled: bool) -> Plan {
    let configs = match current {
        Current::Configs(c) => c,
        Current::NotOnRegistry => {
            return Plan::Cannot {
                reason: format!("{name} is not on the registry yet (or this login cannot see it)"),
                fix: "a configuration needs the package to exist: publish its first version with a token (a first publish cannot use trusted publishing, and `npm stage` needs an existing package too), then run this again".into(),
                config: false,
            }
        }
        Current::Unreadable { error, hint } => {
            return Plan::Cannot {
                reason: error.clone(),
                fix: hint.clone().unwrap_or_else(|| "run again".into()),
                config: false,
            }
        }
        Current::NotRead => {
            return Plan::Cannot {
                reason: "not read: the run stopped before it".into(),
                fix: "run the same command again".into(),
                config: false,
            }
        }
    };
    match want {
        Want::Unknown { reason, fix } => Plan::Cannot {
            reason: reason.clone(),
            fix: fix.clone(),
            config: true,
        },
        Want::Nothing if configs.is_empty() => Plan::Unchanged,
        Want::Nothing => Plan::Revoke(configs.iter().map(|c| c.id.clone()).collect()),
        Want::Config { wanted, .. } => {
            if let Some(keep) = configs.iter().position(|c| c.matches(wanted)) {
                let extra: Vec<String> = configs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != keep)
                    .map(|(_, c)| c.id.clone())
                    .collect();
                return if extra.is_empty() {
                    Plan::Unchanged
                } else {
                    Plan::Revoke(extra)
                };
            }
            let case_only = configs.iter().find_map(|c| {
                c.publisher
                    .as_ref()
                    .filter(|p| p.differs_only_in_repository_case(&wanted.publisher))
            });
            if let (Some(there), false) = (case_only, case_settled) {
                return Plan::Cannot {
                    reason: format!(
                        "the registry names {there}; the checkout gives {}: only the case of the repository differs, and a clone URL does not tell the spelling the id token carries (the registry compares exactly)",
                        wanted.publisher
                    ),
                    fix: "give the exact spelling: --repository OWNER/REPO (`trustpub doctor` in the publishing job prints the id token's)".into(),
                    config: true,
                };
            }
            match configs.first() {
                None => Plan::Create(wanted.clone()),
                Some(first) => {
                    // Replaced for another reason, the repository keeps the
                    // registry's spelling when only its case differs from
                    // the checkout's (the clone URL cannot settle it).
                    let mut wanted = wanted.clone();
                    let mut kept = None;
                    if !case_settled {
                        if let Some(theirs) =
                            first.publisher.as_ref().and_then(Publisher::repository)
                        {
                            let mine = wanted.publisher.repository().unwrap_or_default();
                            if first.kind == wanted.publisher.kind()
                                && theirs != mine
                                && theirs.eq_ignore_ascii_case(mine)
                            {
                                kept = Some(format!("repository: kept as the registry spells it ({theirs}; the checkout says {mine}: --repository changes it)"));
                                wanted.publisher = wanted.publisher.with_repository(theirs);
                            }
                        }
                    }
                    let mut changes = first.differences(&wanted);
                    changes.extend(kept);
                    Plan::Replace {
                        revoke: configs.iter().map(|c| c.id.clone()).collect(),
                        wanted,
                        changes,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust_config::{Permissions, Publisher};

    fn w(env: Option<&str>) -> Wanted {
        Wanted {
            publisher: Publisher::GitHub {
                repository: "acme/w".into(),
                file: "release.yml".into(),
                environment: env.map(str::to_string),
            },
            permissions: Permissions {
                publish: true,
                stage: false,
            },
        }
    }

    fn have(id: &str, env: Option<&str>) -> Existing {
        Existing {
            id: id.into(),
            kind: "github".into(),
            publisher: Some(w(env).publisher),
            permissions: Some(w(env).permissions),
            other_permissions: vec![],
            other_claims: vec![],
        }
    }

    fn want(env: Option<&str>) -> Want {
        Want::Config {
            wanted: w(env),
            from: "x".into(),
        }
    }

    #[test]
    fn the_plan_creates_replaces_revokes_or_leaves_alone() {
        let c = |v: Vec<Existing>| Current::Configs(v);
        let p = |w: &Want, cur: &Current| plan("p", w, cur, false);
        assert_eq!(p(&want(None), &c(vec![])), Plan::Create(w(None)));
        assert_eq!(p(&want(None), &c(vec![have("1", None)])), Plan::Unchanged);
        assert_eq!(
            p(&want(Some("npm")), &c(vec![have("1", None)])),
            Plan::Replace {
                revoke: vec!["1".into()],
                wanted: w(Some("npm")),
                changes: vec!["environment: (none) → npm".into()]
            }
        );
        assert_eq!(
            p(&want(None), &c(vec![have("1", Some("x")), have("2", None)])),
            Plan::Revoke(vec!["1".into()]),
            "the one wanted is kept, the other revoked"
        );
        assert_eq!(
            p(&Want::Nothing, &c(vec![have("1", None)])),
            Plan::Revoke(vec!["1".into()])
        );
        assert_eq!(p(&Want::Nothing, &c(vec![])), Plan::Unchanged);
        assert!(
            matches!(p(&want(None), &Current::NotOnRegistry), Plan::Cannot { reason, config: false, .. } if reason.contains("not on the registry"))
        );
        let unknown = Want::Unknown {
            reason: "r".into(),
            fix: "f".into(),
        };
        assert_eq!(
            p(&unknown, &c(vec![have("1", None)])),
            Plan::Cannot {
                reason: "r".into(),
                fix: "f".into(),
                config: true
            },
            "an undecided package is never changed"
        );
    }

    #[test]
    fn a_replace_keeps_the_registrys_spelling_of_the_repository() {
        let mut there = have("1", None);
        there.publisher = Some(Publisher::GitHub {
            repository: "Acme/W".into(),
            file: "release.yml".into(),
            environment: None,
        });
        let cur = Current::Configs(vec![there]);
        let Plan::Replace {
            wanted, changes, ..
        } = plan("p", &want(Some("npm")), &cur, false)
        else {
            panic!("a replace")
        };
        assert_eq!(wanted.publisher.repository(), Some("Acme/W"));
        assert_eq!(changes[0], "environment: (none) → npm");
        assert!(
            changes[1].contains("kept as the registry spells it"),
            "{changes:?}"
        );
        let Plan::Replace { wanted, .. } = plan("p", &want(Some("npm")), &cur, true) else {
            panic!("a replace")
        };
        assert_eq!(
            wanted.publisher.repository(),
            Some("acme/w"),
            "--repository decides"
        );
    }

    #[test]
    fn a_repository_differing_only_in_case_is_settled_by_the_command_line_only() {
        let mut there = have("1", None);
        there.publisher = Some(Publisher::GitHub {
            repository: "Acme/W".into(),
            file: "release.yml".into(),
            environment: None,
        });
        let cur = Current::Configs(vec![there]);
        assert!(matches!(
            plan("p", &want(None), &cur, false),
            Plan::Cannot { config: true, ref reason, .. } if reason.contains("only the case")
        ));
        assert!(matches!(
            plan("p", &want(None), &cur, true),
            Plan::Replace { .. }
        ));
    }

    #[test]
    fn the_window_notice_counts_as_npms_documentation_does() {
        let s = Duration::from_secs;
        assert!(
            !outlasts_two_factor_window(s(301), 1),
            "one change never waits"
        );
        assert!(outlasts_two_factor_window(s(301), 2));
        assert!(
            !outlasts_two_factor_window(s(2), 80),
            "npm's documentation: about 80 packages at 2 s"
        );
        assert!(outlasts_two_factor_window(s(2), 81));
        assert!(!outlasts_two_factor_window(s(0), 171));
        assert!(outlasts_two_factor_window(s(0), 172), "the requests alone");
    }

    #[test]
    fn a_replace_is_a_revoke_then_a_create() {
        let p = plan(
            "p",
            &want(Some("npm")),
            &Current::Configs(vec![have("a/b", None)]),
            false,
        );
        let steps = p.steps();
        assert!(matches!(&steps[0], Step::Revoke(id) if id == "a/b"));
        assert!(matches!(&steps[1], Step::Create(x) if *x == w(Some("npm"))));
        assert_eq!(steps.len(), 2);
    }
}
