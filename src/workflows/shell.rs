//! Finding publish commands in shell scripts (`run:`, `script:`,
//! `command:`), as far as that can be done without running them.
//!
//! The script is split into simple commands (newlines, `;`, `&&`, `||`,
//! `|`, `&`, parentheses, with quotes, `$(…)`, `${…}` and line
//! continuations kept together). Leading `VAR=value` words and wrappers
//! (`sudo`, `env`, `time`, `exec`, `command`, `nohup`) are dropped, and the
//! command is recognised by the base name of its first word. `cd` changes
//! the directory the following commands run in. Through `npm run <script>`
//! (also pnpm, yarn, bun), `sh <file>.sh` and `bash -c '…'` the scan goes up
//! to three levels deep, reading package.json scripts of the directory the
//! command runs in (npm also runs `pre<script>` and `post<script>`).
//!
//! `--dry-run` publishes are not publishes.

use std::borrow::Borrow;
use std::path::{Path, PathBuf};

use super::repo::{normalize, Repo};
use super::Publisher;

const MAX_DEPTH: usize = 3;

/// Which package(s) a publish command uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The package in this directory (relative to the repository root).
    Dir(PathBuf),
    /// npm `--workspace`, pnpm `--filter`, yarn `workspace <name>`.
    Workspaces {
        cwd: Option<PathBuf>,
        selectors: Vec<String>,
    },
    /// Every workspace package (`--workspaces`, `pnpm -r`, `changeset publish`).
    All,
    /// A tarball, a path with variables, an unknown directory.
    Unknown,
}

/// A publish command found in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublishCmd {
    pub publisher: Publisher,
    pub target: Target,
    /// The command as written (`npm publish --provenance`).
    pub command: String,
    /// The commands that led to it (`npm run release`), outermost first.
    pub via: Vec<String>,
    /// `--provenance` was given.
    pub provenance: bool,
    /// `npx npm@11 publish`: the npm version asked for.
    pub npm_pinned: Option<String>,
}

impl PublishCmd {
    pub fn new(publisher: Publisher, target: Target, command: impl Into<String>) -> PublishCmd {
        PublishCmd {
            publisher,
            target,
            command: command.into(),
            via: Vec::new(),
            provenance: false,
            npm_pinned: None,
        }
    }

    /// `npm publish` or `npm publish (through npm run release)`.
    pub fn describe(&self) -> String {
        if self.via.is_empty() {
            format!("`{}`", self.command)
        } else {
            format!("`{}` (through `{}`)", self.command, self.via.join("` → `"))
        }
    }
}

/// What a script does that the checks care about, in script order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Publish(PublishCmd),
    /// `npm install -g npm@<spec>` (spec `latest` when none is given).
    NpmUpgrade {
        spec: String,
        command: String,
    },
    /// Writes a registry token into an .npmrc (`_authToken=…`).
    WritesToken {
        command: String,
    },
    /// A program doctor cannot read that may publish: `node
    /// scripts/release.js`, `tsx scripts/publish.ts`, release-it with a
    /// JavaScript configuration.
    Opaque {
        command: String,
    },
}

/// Tools with a `publish` subcommand that uploads somewhere else than an
/// npm registry.
const NOT_NPM_PUBLISHERS: &[&str] = &[
    "gh",
    "git",
    "pkg-pr-new",
    "vsce",
    "ovsx",
    "jsr",
    "docker",
    "twine",
    "gem",
    "poetry",
    "dotnet",
    "helm",
    "mvn",
    "gradle",
    "gradlew",
    "wrangler",
    "netlify",
    "vercel",
    "mkdocs",
];

/// `scripts/release.js`, `./publish.ts`: a file a custom release program
/// lives in (its name says release or publish).
fn is_release_program(arg: &str) -> bool {
    let name = base_name(arg).to_ascii_lowercase();
    let code = [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"]
        .iter()
        .any(|e| name.ends_with(e));
    code && (name.contains("release") || name.contains("publish"))
}

/// Scans `script`, run in `cwd` (relative to the root; `None` if unknown).
/// The commands among `events` that write a registry token into an .npmrc.
pub(crate) fn token_writes<E: Borrow<Event>>(events: &[E]) -> Vec<&String> {
    events
        .iter()
        .filter_map(|e| match e.borrow() {
            Event::WritesToken { command } => Some(command),
            _ => None,
        })
        .collect()
}

pub(crate) fn scan(repo: &Repo, script: &str, cwd: Option<PathBuf>) -> Vec<Event> {
    let mut s = Scanner {
        repo,
        events: Vec::new(),
    };
    s.script(script, cwd, &[], 0);
    s.events
}

struct Scanner<'a> {
    repo: &'a Repo,
    events: Vec<Event>,
}

/// Where a command sits: its directory, the commands that led to it, depth.
#[derive(Clone)]
struct Ctx {
    cwd: Option<PathBuf>,
    via: Vec<String>,
    depth: usize,
}

impl Ctx {
    fn join(&self, p: &str) -> Option<PathBuf> {
        if p.contains('$') || p.contains('~') || p.contains('`') || p.starts_with('/') {
            return None;
        }
        normalize(&self.cwd.as_ref()?.join(p))
    }
}

impl Scanner<'_> {
    fn script(&mut self, script: &str, cwd: Option<PathBuf>, via: &[String], depth: usize) {
        let mut ctx = Ctx {
            cwd,
            via: via.to_vec(),
            depth,
        };
        for words in split_commands(script) {
            let words = strip_prefix_words(&words);
            if words.is_empty() {
                continue;
            }
            if words[0] == "cd" {
                ctx.cwd = match words.get(1) {
                    Some(d) if d != "-" => ctx.join(d),
                    _ => None,
                };
                continue;
            }
            self.command(&words, &ctx, None);
        }
    }

    fn emit_publish(&mut self, mut p: PublishCmd, ctx: &Ctx, over: Option<&Target>) {
        p.via = ctx.via.clone();
        if let Some(t) = over {
            p.target = t.clone();
        }
        self.events.push(Event::Publish(p));
    }

    /// One simple command. `over`: the target implied by an enclosing
    /// `yarn workspace <name>` / `workspaces foreach`.
    fn command(&mut self, words: &[String], ctx: &Ctx, over: Option<&Target>) {
        let full = words.join(" ");
        if words.iter().any(|w| w.contains("_authToken")) && is_token_writer(words) {
            self.events.push(Event::WritesToken {
                command: full.clone(),
            });
            return;
        }
        let prog = base_name(&words[0]);
        let args = &words[1..];
        match prog {
            "npm" => self.npm(args, &full, ctx, over, None),
            "pnpm" => self.pnpm(args, &full, ctx, over),
            "yarn" => self.yarn(args, &full, ctx, over),
            "bun" => self.bun(args, &full, ctx, over),
            "npx" | "pnpx" | "bunx" => self.npx(args, ctx, over),
            "trustpub" | "trustpub.exe" => self.trustpub(args, &full, ctx, over),
            "cargo" => self.cargo(args, &full, ctx, over),
            "changeset" if first_positional(args, &[]) == Some("publish") => {
                self.emit_publish(
                    PublishCmd::new(
                        Publisher::Other("changeset publish".into()),
                        Target::All,
                        full,
                    ),
                    ctx,
                    over,
                );
            }
            "lerna" if first_positional(args, &[]) == Some("publish") => {
                self.emit_publish(
                    PublishCmd::new(Publisher::Other("lerna publish".into()), Target::All, full),
                    ctx,
                    over,
                );
            }
            "release-it" if !args.iter().any(|a| a == "--dry-run" || a == "-d") => {
                self.release_it(args, full, ctx, over)
            }
            "nx" if args.first().map(String::as_str) == Some("release")
                && !args.iter().any(|a| {
                    a == "--dry-run" || a == "-d" || a == "--skip-publish" || a == "--skipPublish"
                })
                && matches!(first_positional(&args[1..], &[]), None | Some("publish")) =>
            {
                self.emit_publish(
                    PublishCmd::new(Publisher::Other("nx release".into()), Target::All, full),
                    ctx,
                    over,
                );
            }
            "node" | "tsx" | "ts-node" | "deno" | "zx" | "esno" | "vite-node"
                if args.iter().any(|a| is_release_program(a)) =>
            {
                self.events.push(Event::Opaque { command: full });
            }
            "semantic-release" if !args.iter().any(|a| a == "--dry-run" || a == "-d") => {
                let t = dir_target(ctx.cwd.clone());
                self.emit_publish(
                    PublishCmd::new(Publisher::Other(prog.into()), t, full),
                    ctx,
                    over,
                );
            }
            "sh" | "bash" | "zsh" | "dash" => {
                if let Some(i) = args
                    .iter()
                    .position(|a| a == "-c" || a == "-ec" || a == "-ce")
                {
                    if let Some(s) = args.get(i + 1) {
                        if ctx.depth < MAX_DEPTH {
                            let via = with(&ctx.via, &full);
                            self.script(s, ctx.cwd.clone(), &via, ctx.depth + 1);
                        }
                    }
                } else if let Some(f) = args.iter().find(|a| !a.starts_with('-')) {
                    self.shell_file(f, &full, ctx);
                }
            }
            _ if words[0].ends_with(".sh") => self.shell_file(&words[0], &full, ctx),
            // `release publish` (@ossjs/release): the commands of the profiles
            // in release.config.json.
            "release" if first_positional(args, &[]) == Some("publish") => {
                self.ossjs_release(&full, ctx, over)
            }
            // An unknown tool's `publish` subcommand (`vsce publish`, `tanstack
            // publish`): it may upload to npm; doctor cannot tell.
            // `changelogen --publish`: publishes, but `--canary` renames the
            // package; doctor cannot tell which.
            "changelogen" if args.iter().any(|a| a == "--publish") => {
                self.events.push(Event::Opaque { command: full })
            }
            _ if !NOT_NPM_PUBLISHERS.contains(&prog)
                && !prog.ends_with(".sh")
                && first_positional(args, &[]) == Some("publish")
                && !args.iter().any(|a| a == "--dry-run") =>
            {
                self.events.push(Event::Opaque { command: full })
            }
            _ => {}
        }
    }

    /// `release publish` of @ossjs/release runs the `use` command of a
    /// profile in release.config.json (which one depends on `--profile`, so
    /// every profile is scanned); without a readable config it is opaque.
    fn ossjs_release(&mut self, full: &str, ctx: &Ctx, over: Option<&Target>) {
        let config = ctx
            .cwd
            .as_ref()
            .and_then(|d| self.repo.read_text(&d.join("release.config.json")))
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        let uses: Vec<String> = config
            .as_ref()
            .and_then(|c| c.get("profiles"))
            .and_then(|p| p.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.get("use").and_then(|u| u.as_str()))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if uses.is_empty() || ctx.depth >= MAX_DEPTH {
            self.events.push(Event::Opaque {
                command: full.to_string(),
            });
            return;
        }
        let via = with(&ctx.via, full);
        for u in uses {
            let inner = Ctx {
                cwd: ctx.cwd.clone(),
                via: via.clone(),
                depth: ctx.depth + 1,
            };
            for words in split_commands(&u) {
                let words = strip_prefix_words(&words);
                if !words.is_empty() {
                    self.command(&words, &inner, over);
                }
            }
        }
    }

    /// `release-it`: publishes to npm unless its configuration says
    /// `"npm": {"publish": false}` (package.json `release-it` or
    /// `.release-it.json`) or the command line says `--no-npm.publish`. A
    /// configuration doctor cannot read (`.release-it.js`, `.ts`, `.yaml`,
    /// `.toml`) makes it opaque.
    fn release_it(&mut self, args: &[String], full: String, ctx: &Ctx, over: Option<&Target>) {
        if args
            .iter()
            .any(|a| a == "--no-npm.publish" || a == "--npm.publish=false" || a == "--no-npm")
        {
            return;
        }
        if let Some(cwd) = ctx.cwd.clone() {
            let from_json = self
                .repo
                .package_json(&cwd)
                .and_then(|pj| pj.get("release-it").cloned())
                .or_else(|| {
                    let text = self.repo.read_text(&cwd.join(".release-it.json"))?;
                    serde_json::from_str::<serde_json::Value>(&text).ok()
                });
            let publish_off = |c: &serde_json::Value| {
                let npm = c.get("npm");
                npm == Some(&serde_json::Value::Bool(false))
                    || npm.and_then(|n| n.get("publish")) == Some(&serde_json::Value::Bool(false))
            };
            match from_json {
                Some(c) if publish_off(&c) => return,
                Some(_) => {}
                None => {
                    let other = [
                        ".release-it.js",
                        ".release-it.cjs",
                        ".release-it.mjs",
                        ".release-it.ts",
                        ".release-it.yaml",
                        ".release-it.yml",
                        ".release-it.toml",
                        ".release-it.json5",
                    ];
                    if other
                        .iter()
                        .any(|f| self.repo.read_text(&cwd.join(f)).is_some())
                    {
                        self.events.push(Event::Opaque { command: full });
                        return;
                    }
                }
            }
        }
        let t = dir_target(ctx.cwd.clone());
        self.emit_publish(
            PublishCmd::new(Publisher::Other("release-it".into()), t, full),
            ctx,
            over,
        );
    }

    /// `./scripts/release.sh`: scan the file, one level more.
    fn shell_file(&mut self, file: &str, full: &str, ctx: &Ctx) {
        if ctx.depth >= MAX_DEPTH {
            return;
        }
        let Some(rel) = ctx.join(file) else { return };
        if let Some(text) = self.repo.read_text(&rel) {
            let via = with(&ctx.via, full);
            self.script(&text, ctx.cwd.clone(), &via, ctx.depth + 1);
        }
    }

    /// `npm run <name>` and friends: the package.json script in the
    /// command's directory (npm also runs `pre<name>` and `post<name>`).
    fn run_script(&mut self, name: &str, full: &str, ctx: &Ctx, pre_post: bool) -> bool {
        let Some(cwd) = ctx.cwd.clone() else {
            return false;
        };
        if ctx.depth >= MAX_DEPTH || self.repo.script(&cwd, name).is_none() {
            return false;
        }
        let via = with(&ctx.via, full);
        let names = if pre_post {
            vec![
                format!("pre{name}"),
                name.to_string(),
                format!("post{name}"),
            ]
        } else {
            vec![name.to_string()]
        };
        for n in names {
            if let Some(body) = self.repo.script(&cwd, &n) {
                self.script(&body, Some(cwd.clone()), &via, ctx.depth + 1);
            }
        }
        true
    }

    fn npm(
        &mut self,
        args: &[String],
        full: &str,
        ctx: &Ctx,
        over: Option<&Target>,
        pinned: Option<String>,
    ) {
        let p = parse_args(args, NPM_VALUE_OPTS);
        let mut ctx = ctx.clone();
        if let Some(prefix) = p.value("--prefix").or_else(|| p.value("-C")) {
            ctx.cwd = ctx.join(prefix);
        }
        let Some(sub) = p.positionals.first().map(String::as_str) else {
            return;
        };
        let is_publish = sub == "publish"
            || (sub == "stage" && p.positionals.get(1).map(String::as_str) == Some("publish"));
        match sub {
            _ if is_publish => {
                if p.flag_on("--dry-run") {
                    return;
                }
                let skip = if sub == "stage" { 2 } else { 1 };
                let target = workspace_target(&p, &["--workspaces", "-ws", "--ws"], &ctx)
                    .unwrap_or_else(|| positional_target(p.positionals.get(skip), &ctx));
                let mut cmd = PublishCmd::new(Publisher::Npm, target, full);
                cmd.provenance =
                    p.flag_on("--provenance") || p.value("--provenance-file").is_some();
                cmd.npm_pinned = pinned;
                self.emit_publish(cmd, &ctx, over);
            }
            "install" | "i" | "in" | "ins" | "inst" | "insta" | "instal" | "isnt" | "isnta"
            | "isntal" | "add" | "update" | "up" | "upgrade" | "udpate" => {
                let global = p.flag_on("-g")
                    || p.flag_on("--global")
                    || p.value("--location") == Some("global");
                if global {
                    self.global_installs(&p.positionals[1..], full);
                }
            }
            "run" | "run-script" | "rum" | "urn" => {
                if let Some(name) = p.positionals.get(1) {
                    self.run_script(name, full, &ctx, true);
                }
            }
            "exec" | "x" => {
                let i = args.iter().position(|a| a == sub).unwrap_or(0);
                self.npx(&args[i + 1..], &ctx, over);
            }
            _ => {}
        }
    }

    fn pnpm(&mut self, args: &[String], full: &str, ctx: &Ctx, over: Option<&Target>) {
        let p = parse_args(args, PNPM_VALUE_OPTS);
        let mut ctx = ctx.clone();
        if let Some(dir) = p.value("-C").or_else(|| p.value("--dir")) {
            ctx.cwd = ctx.join(dir);
        }
        let mut positionals: &[String] = &p.positionals;
        let mut recursive = p.flag_on("-r") || p.flag_on("--recursive");
        if matches!(
            positionals.first().map(String::as_str),
            Some("recursive" | "multi" | "m")
        ) {
            recursive = true;
            positionals = &positionals[1..];
        }
        let Some(sub) = positionals.first().map(String::as_str) else {
            return;
        };
        let mut filters = p.values("--filter");
        filters.extend(p.values("-F"));
        // `pnpm stage publish`: the staged form of `pnpm publish`.
        let (sub, positionals) =
            if sub == "stage" && positionals.get(1).map(String::as_str) == Some("publish") {
                ("publish", &positionals[1..])
            } else {
                (sub, positionals)
            };
        match sub {
            "publish" => {
                if p.flag_on("--dry-run") {
                    return;
                }
                let target = if !filters.is_empty() {
                    Target::Workspaces {
                        cwd: ctx.cwd.clone(),
                        selectors: filters.into_iter().map(str::to_string).collect(),
                    }
                } else if recursive {
                    Target::All
                } else {
                    positional_target(positionals.get(1), &ctx)
                };
                let mut cmd = PublishCmd::new(Publisher::Pnpm, target, full);
                cmd.provenance = p.flag_on("--provenance");
                self.emit_publish(cmd, &ctx, over);
            }
            "run" | "run-script" => {
                if let Some(name) = positionals.get(1) {
                    self.run_script(name, full, &ctx, false);
                }
            }
            "exec" | "dlx" => {
                self.dlx_or_exec(args, sub, &ctx, over);
            }
            "add" | "install" | "i" | "update" | "up" => {
                if p.flag_on("-g") || p.flag_on("--global") {
                    self.global_installs(&positionals[1..], full);
                }
            }
            _ if PNPM_BUILTINS.contains(&sub) => {}
            name => {
                // `pnpm release` runs a script; `pnpm changeset publish` a binary.
                self.script_or_command(name, args, full, &ctx, over);
            }
        }
    }

    fn yarn(&mut self, args: &[String], full: &str, ctx: &Ctx, over: Option<&Target>) {
        let p = parse_args(args, YARN_VALUE_OPTS);
        let mut ctx = ctx.clone();
        if let Some(dir) = p.value("--cwd") {
            ctx.cwd = ctx.join(dir);
        }
        let pos = &p.positionals;
        let Some(sub) = pos.first().map(String::as_str) else {
            return;
        };
        match sub {
            "npm" if pos.get(1).map(String::as_str) == Some("publish") => {
                if p.flag_on("--dry-run") {
                    return;
                }
                let mut cmd = PublishCmd::new(Publisher::Yarn, dir_target(ctx.cwd.clone()), full);
                cmd.provenance = p.flag_on("--provenance");
                self.emit_publish(cmd, &ctx, over);
            }
            "publish" => {
                let t = positional_target(pos.get(1), &ctx);
                self.emit_publish(
                    PublishCmd::new(Publisher::Other("yarn publish".into()), t, full),
                    &ctx,
                    over,
                );
            }
            "workspaces" if pos.get(1).map(String::as_str) == Some("foreach") => {
                let i = args.iter().position(|a| a == "foreach").unwrap_or(0);
                let rest = &args[i + 1..];
                // Skip foreach's own options; the rest is a yarn command.
                let mut j = 0;
                while j < rest.len() && rest[j].starts_with('-') {
                    if YARN_VALUE_OPTS.contains(&rest[j].as_str()) {
                        j += 1;
                    }
                    j += 1;
                }
                if j < rest.len() {
                    let mut inner = vec!["yarn".to_string()];
                    inner.extend(rest[j..].iter().cloned());
                    self.command(&inner, &ctx, Some(&Target::All));
                }
            }
            "workspace" => {
                if let Some(name) = pos.get(1) {
                    let i = args.iter().position(|a| a == name).unwrap_or(0);
                    let mut inner = vec!["yarn".to_string()];
                    inner.extend(args[i + 1..].iter().cloned());
                    let t = Target::Workspaces {
                        cwd: ctx.cwd.clone(),
                        selectors: vec![name.clone()],
                    };
                    self.command(&inner, &ctx, Some(&t));
                }
            }
            "run" => {
                if let Some(name) = pos.get(1) {
                    self.script_or_command(name, args, full, &ctx, over);
                }
            }
            "dlx" | "exec" => {
                self.dlx_or_exec(args, sub, &ctx, over);
            }
            _ if YARN_BUILTINS.contains(&sub) => {}
            name => {
                self.script_or_command(name, args, full, &ctx, over);
            }
        }
    }

    fn bun(&mut self, args: &[String], full: &str, ctx: &Ctx, over: Option<&Target>) {
        let p = parse_args(args, &["--tag", "--access", "--otp", "--registry", "--cwd"]);
        match p.positionals.first().map(String::as_str) {
            Some("publish") if !p.flag_on("--dry-run") => {
                let t = positional_target(p.positionals.get(1), ctx);
                self.emit_publish(
                    PublishCmd::new(Publisher::Other("bun publish".into()), t, full),
                    ctx,
                    over,
                );
            }
            Some("run") => {
                if let Some(name) = p.positionals.get(1) {
                    self.run_script(name, full, ctx, false);
                }
            }
            Some("x") => {
                let i = args.iter().position(|a| a == "x").unwrap_or(0);
                self.npx(&args[i + 1..], ctx, over);
            }
            _ => {}
        }
    }

    /// `npx [options] <package>[@version] [args]`: the package's binary.
    /// `npm install -g <spec>…` and the like: every package spec installed
    /// globally, as an npm upgrade when it names npm.
    fn global_installs(&mut self, positionals: &[String], full: &str) {
        for a in positionals {
            if let Some(spec) = npm_package_spec(a) {
                self.events.push(Event::NpmUpgrade {
                    spec,
                    command: full.to_string(),
                });
            }
        }
    }

    /// `pnpm dlx …` / `yarn dlx …` run a package like npx; `… exec <cmd>`
    /// runs the command.
    fn dlx_or_exec(&mut self, args: &[String], sub: &str, ctx: &Ctx, over: Option<&Target>) {
        let i = args.iter().position(|a| a == sub).unwrap_or(0);
        let rest = &args[i + 1..];
        if sub == "dlx" {
            self.npx(rest, ctx, over);
        } else if !rest.is_empty() {
            self.command(rest, ctx, over);
        }
    }

    /// `pnpm <name>` / `yarn [run] <name>`: the package's script `name` if
    /// it has one, else the binary `name` with the arguments after it.
    fn script_or_command(
        &mut self,
        name: &str,
        args: &[String],
        full: &str,
        ctx: &Ctx,
        over: Option<&Target>,
    ) {
        if !self.run_script(name, full, ctx, false) {
            let i = args.iter().position(|a| a == name).unwrap_or(0);
            self.command(&args[i..], ctx, over);
        }
    }

    fn npx(&mut self, args: &[String], ctx: &Ctx, over: Option<&Target>) {
        let mut i = 0;
        let mut package: Option<String> = None;
        while i < args.len() {
            let a = args[i].as_str();
            if a == "--" {
                i += 1;
                break;
            }
            if !a.starts_with('-') {
                break;
            }
            if a == "-p" || a == "--package" {
                package = args.get(i + 1).cloned();
                i += 2;
                continue;
            }
            if let Some(v) = a.strip_prefix("--package=") {
                package = Some(v.to_string());
            }
            if a == "-c" || a == "--call" {
                if let Some(s) = args.get(i + 1) {
                    if ctx.depth < MAX_DEPTH {
                        self.script(s, ctx.cwd.clone(), &ctx.via, ctx.depth + 1);
                    }
                }
                return;
            }
            i += 1;
        }
        let Some(first) = args.get(i) else { return };
        let (name, version) = split_spec(first);
        let rest = &args[i + 1..];
        let bin = match name {
            "@changesets/cli" => "changeset",
            "@lerna-lite/cli" | "@lerna-lite/publish" => "lerna",
            n => n.rsplit('/').next().unwrap_or(n),
        };
        // `npx -p npm@11 npm publish` and `npx npm@11 publish`.
        let npm_version = if bin == "npm" {
            version.map(str::to_string)
        } else {
            package
                .as_deref()
                .map(split_spec)
                .filter(|(n, _)| *n == "npm")
                .and_then(|(_, v)| v.map(str::to_string))
        };
        let mut words = vec![bin.to_string()];
        words.extend(rest.iter().cloned());
        if bin == "npm" {
            let full = args.join(" ");
            let full = format!("npx {full}");
            self.npm(
                rest,
                &full,
                ctx,
                over,
                Some(npm_version.unwrap_or_else(|| "latest".into())),
            );
        } else {
            let before = self.events.len();
            self.command(&words, ctx, over);
            // Keep the command as written (`npx trustpub publish`).
            let written = format!("npx {}", args.join(" "));
            for e in &mut self.events[before..] {
                if let Event::Publish(p) = e {
                    if p.via == ctx.via {
                        p.command = written.clone();
                    }
                }
            }
        }
    }

    fn trustpub(&mut self, args: &[String], full: &str, ctx: &Ctx, over: Option<&Target>) {
        let p = parse_args(args, TRUSTPUB_VALUE_OPTS);
        if p.positionals.first().map(String::as_str) != Some("publish") || p.flag_on("--dry-run") {
            return;
        }
        // `--workspaces` and `--workspace` as npm spells them (and runs
        // them: from the directory given, else the current one).
        let t = workspace_target(&p, &["--workspaces"], ctx)
            .unwrap_or_else(|| positional_target(p.positionals.get(1), ctx));
        self.emit_publish(PublishCmd::new(Publisher::Trustpub, t, full), ctx, over);
    }

    /// `cargo run --bin trustpub -- publish` (or `cargo run -- publish` in
    /// trustpub's own repository).
    fn cargo(&mut self, args: &[String], full: &str, ctx: &Ctx, over: Option<&Target>) {
        if args.first().map(String::as_str) != Some("run") {
            return;
        }
        let Some(dd) = args.iter().position(|a| a == "--") else {
            return;
        };
        let cargo_args = &args[1..dd];
        let names_trustpub = cargo_args.iter().enumerate().any(|(i, a)| {
            a == "--bin=trustpub"
                || a == "--package=trustpub"
                || (matches!(a.as_str(), "--bin" | "-p" | "--package")
                    && cargo_args.get(i + 1).map(String::as_str) == Some("trustpub"))
        });
        let own_repo = || {
            self.repo
                .read_text(Path::new("Cargo.toml"))
                .is_some_and(|t| t.contains("name = \"trustpub\""))
        };
        if names_trustpub || own_repo() {
            self.trustpub(&args[dd + 1..], full, ctx, over);
        }
    }
}

fn with(via: &[String], full: &str) -> Vec<String> {
    let mut v = via.to_vec();
    v.push(full.to_string());
    v
}

fn dir_target(cwd: Option<PathBuf>) -> Target {
    cwd.map(Target::Dir).unwrap_or(Target::Unknown)
}

/// What the `trustpub/trustpub` Action publishes with `command: publish`:
/// the package in `working-directory` (relative to the workspace; default
/// the workspace), or the folder or tarball its `args` name (the action
/// splits `args` at whitespace, nothing else). `None` when `dry-run` is
/// true or `args` asks for a dry run.
pub(crate) fn action_publish_target(
    working_directory: Option<&str>,
    args: Option<&str>,
    dry_run: bool,
) -> Option<Target> {
    let words: Vec<String> = args
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let p = parse_args(&words, TRUSTPUB_VALUE_OPTS);
    if dry_run || p.flag_on("--dry-run") {
        return None;
    }
    let ctx = Ctx {
        cwd: Some(PathBuf::new()),
        via: Vec::new(),
        depth: 0,
    };
    let cwd = match working_directory.map(str::trim) {
        None | Some("") => Some(PathBuf::new()),
        Some(d) => ctx.join(d),
    };
    let ctx = Ctx { cwd, ..ctx };
    Some(positional_target(p.positionals.first(), &ctx))
}

/// What `--workspaces` (`all`, as spelled by that tool) or `-w`/`--workspace`
/// select, if given.
fn workspace_target(p: &Args, all: &[&str], ctx: &Ctx) -> Option<Target> {
    if all.iter().any(|f| p.flag_on(f)) {
        return Some(Target::All);
    }
    let mut selectors = p.values("-w");
    selectors.extend(p.values("--workspace"));
    (!selectors.is_empty()).then(|| Target::Workspaces {
        cwd: ctx.cwd.clone(),
        selectors: selectors.into_iter().map(str::to_string).collect(),
    })
}

/// `trustpub publish` options that take a value.
const TRUSTPUB_VALUE_OPTS: &[&str] = &[
    "--workspace",
    "-w",
    "--registry",
    "--tag",
    "--access",
    "--otp",
    "--userconfig",
    "--provenance-file",
    "--fulcio-url",
    "--rekor-url",
    "--trusted-publishing",
];

/// `npm publish <folder|tarball>`.
fn positional_target(arg: Option<&String>, ctx: &Ctx) -> Target {
    match arg {
        None => dir_target(ctx.cwd.clone()),
        Some(a)
            if a.ends_with(".tgz")
                || a.ends_with(".tar.gz")
                || a.ends_with(".tar")
                || a.contains("://") =>
        {
            Target::Unknown
        }
        Some(a) => dir_target(ctx.join(a)),
    }
}

/// `npm`, `npm@11`, `npm@latest` → the version spec; anything else → None.
fn npm_package_spec(arg: &str) -> Option<String> {
    if arg == "npm" {
        return Some("latest".into());
    }
    arg.strip_prefix("npm@").map(str::to_string)
}

/// `trustpub@1.2.0` → (`trustpub`, Some(`1.2.0`)); `@scope/x@2` → (`@scope/x`, Some(`2`)).
fn split_spec(spec: &str) -> (&str, Option<&str>) {
    let search_from = usize::from(spec.starts_with('@'));
    match spec[search_from..].find('@') {
        Some(i) => (&spec[..i + search_from], Some(&spec[i + search_from + 1..])),
        None => (spec, None),
    }
}

fn base_name(word: &str) -> &str {
    word.rsplit(['/', '\\']).next().unwrap_or(word)
}

/// npm options that take a value.
#[rustfmt::skip]
const NPM_VALUE_OPTS: &[&str] = &[
    "-w", "--workspace", "--prefix", "--registry", "--tag", "--access", "--otp", "--userconfig",
    "--loglevel", "--provenance-file", "--cache", "--globalconfig", "--auth-type", "--location",
    "-C",
];

/// pnpm options that take a value.
#[rustfmt::skip]
const PNPM_VALUE_OPTS: &[&str] = &[
    "--filter", "-F", "-C", "--dir", "--tag", "--access", "--otp", "--registry",
    "--publish-branch", "--workspace-concurrency", "--reporter", "--loglevel",
];

/// yarn options that take a value.
#[rustfmt::skip]
const YARN_VALUE_OPTS: &[&str] = &[
    "--cwd", "--tag", "--access", "--otp", "--registry", "--include", "--exclude", "--from",
    "-j", "--jobs", "--since",
];

#[rustfmt::skip]
const PNPM_BUILTINS: &[&str] = &[
    "install", "i", "add", "update", "up", "remove", "rm", "link", "ln", "unlink", "import",
    "rebuild", "rb", "prune", "fetch", "audit", "outdated", "list", "ls", "why", "store", "env",
    "setup", "init", "pack", "config", "c", "cache", "version", "licenses", "patch",
    "patch-commit", "deploy", "approve-builds", "self-update", "server", "doctor", "root",
    "bin", "create", "ci", "install-test", "it",
];

#[rustfmt::skip]
const YARN_BUILTINS: &[&str] = &[
    "install", "add", "remove", "up", "upgrade", "dedupe", "cache", "config", "constraints",
    "info", "init", "link", "unlink", "pack", "patch", "patch-commit", "plugin", "rebuild",
    "set", "version", "why", "workspaces", "npm", "bin", "node", "explain", "stage", "global",
    "list", "outdated", "audit", "login", "logout", "owner", "tag", "team",
    "generate-lock-entry",
];

/// `echo "…_authToken=…" >> .npmrc`, `npm config set …_authToken …`,
/// `printf`, `cat`, `tee`: commands that write a token somewhere.
fn is_token_writer(words: &[String]) -> bool {
    let prog = base_name(&words[0]);
    match prog {
        "echo" | "printf" | "cat" | "tee" => true,
        "npm" | "pnpm" | "yarn" => words.iter().any(|w| w == "config" || w == "set"),
        _ => false,
    }
}

/// Options and positionals of a command line. `value_opts` take the next
/// word as their value unless written `--opt=value`.
struct Args {
    positionals: Vec<String>,
    opts: Vec<(String, Option<String>)>,
}

impl Args {
    fn values(&self, name: &str) -> Vec<&str> {
        self.opts
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.values(name).into_iter().next_back()
    }

    /// A boolean flag that is on (`--x`, `--x=true`; not `--x=false`).
    fn flag_on(&self, name: &str) -> bool {
        self.opts
            .iter()
            .any(|(k, v)| k == name && v.as_deref().is_none_or(|v| v != "false"))
    }
}

fn parse_args(args: &[String], value_opts: &[&str]) -> Args {
    let mut out = Args {
        positionals: Vec::new(),
        opts: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            out.positionals.extend(args[i + 1..].iter().cloned());
            break;
        }
        if a.starts_with('-') && a.len() > 1 {
            if let Some((k, v)) = a.split_once('=') {
                out.opts.push((k.to_string(), Some(v.to_string())));
            } else if value_opts.contains(&a.as_str()) {
                out.opts.push((a.clone(), args.get(i + 1).cloned()));
                i += 1;
            } else {
                out.opts.push((a.clone(), None));
            }
        } else {
            out.positionals.push(a.clone());
        }
        i += 1;
    }
    out
}

fn first_positional<'a>(args: &'a [String], value_opts: &[&str]) -> Option<&'a str> {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if !a.starts_with('-') {
            return Some(a);
        }
        if value_opts.contains(&a.as_str()) {
            i += 1;
        }
        i += 1;
    }
    None
}

/// Drops shell keywords, `VAR=value` assignments and wrapper commands at
/// the start of a simple command, and redirections anywhere.
fn strip_prefix_words(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut skip_next = false;
    for w in words {
        if skip_next {
            skip_next = false;
            continue;
        }
        let digits = w.trim_start_matches(|c: char| c.is_ascii_digit());
        if digits.starts_with('>') || digits.starts_with('<') {
            let rest = digits
                .trim_start_matches(['<', '>'])
                .trim_start_matches('&');
            skip_next = rest.is_empty();
            continue;
        }
        out.push(w.clone());
    }
    let mut i = 0;
    while let Some(w) = out.get(i) {
        let w = w.as_str();
        if matches!(
            w,
            "if" | "then"
                | "else"
                | "elif"
                | "do"
                | "while"
                | "until"
                | "!"
                | "{"
                | "time"
                | "exec"
                | "command"
                | "nohup"
                | "builtin"
        ) {
            i += 1;
        } else if matches!(
            w,
            "fi" | "done" | "}" | "esac" | "for" | "case" | "function"
        ) {
            return Vec::new();
        } else if w == "sudo" || w == "env" {
            i += 1;
            while let Some(x) = out.get(i) {
                if x.starts_with('-') || is_assignment(x) {
                    i += 1;
                } else {
                    break;
                }
            }
        } else if is_assignment(w) {
            i += 1;
        } else {
            break;
        }
    }
    out.split_off(i.min(out.len()))
}

fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().enumerate().all(|(i, c)| {
                    c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                })
        }
        None => false,
    }
}

/// Splits a script into simple commands, each a list of words with quotes
/// removed.
pub(crate) fn split_commands(script: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = script.chars().collect();
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let end_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                if chars.get(i + 1) == Some(&'\n') {
                    i += 2;
                    continue;
                }
                if let Some(&n) = chars.get(i + 1) {
                    word.push(n);
                    in_word = true;
                }
                i += 2;
                continue;
            }
            '\'' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`'))
                    {
                        i += 1;
                    }
                    if let Some(&ch) = chars.get(i) {
                        word.push(ch);
                    }
                    i += 1;
                }
            }
            '`' => {
                in_word = true;
                word.push(c);
                i += 1;
                while i < chars.len() && chars[i] != '`' {
                    word.push(chars[i]);
                    i += 1;
                }
                word.push('`');
            }
            '$' if matches!(chars.get(i + 1), Some('(' | '{')) => {
                in_word = true;
                let (open, close) = if chars[i + 1] == '(' {
                    ('(', ')')
                } else {
                    ('{', '}')
                };
                word.push('$');
                word.push(open);
                i += 2;
                let mut depth = 1;
                while i < chars.len() && depth > 0 {
                    if chars[i] == open {
                        depth += 1;
                    } else if chars[i] == close {
                        depth -= 1;
                    }
                    word.push(chars[i]);
                    i += 1;
                }
                continue;
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            ' ' | '\t' | '\r' => end_word(&mut word, &mut in_word, &mut words),
            '&' if word.ends_with(['>', '<']) => {
                word.push('&');
            }
            '\n' | ';' | '&' | '|' | '(' | ')' => {
                end_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    cmds.push(std::mem::take(&mut words));
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
        i += 1;
    }
    end_word(&mut word, &mut in_word, &mut words);
    if !words.is_empty() {
        cmds.push(words);
    }
    cmds
}
