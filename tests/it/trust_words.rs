//! The words and the terminal of `trustpub trust` (issue #14 item 2), on
//! the fake of the registry's trust API ([`crate::support::trust_api`]).
//!
//! * **Snapshots** (as in `snapshots.rs`: exit code, standard output and
//!   standard error, redacted by [`Redact`]): human and `--json` output of
//!   `trust list`, `trust diff` and `trust sync` for a create, a replace
//!   with its change lines, a revoke (`--provider none`), an unchanged
//!   package; the packages that cannot be configured (no job publishes it,
//!   several jobs disagree, an environment set by an expression, a clone
//!   whose `origin` is not package.json's repository, a repository that
//!   differs from the registry's only in case, not on the registry); the
//!   runs that do not end well (left after a two-factor stop, failed on a
//!   403 while the others go on, partly done after a 503 between a
//!   replace's DELETE and its POST, a 429 asking to wait over 60 s); and
//!   the usage errors. Every run's exit code is asserted.
//! * **The terminal**: `script -qec` (util-linux) gives trustpub a real
//!   pty on its standard input ([`Pty`]); the test answers the go-ahead,
//!   types a new code when the fake's codes run out, and watches the
//!   registry's web login (the `authUrl` shown, `doneUrl` polled, its
//!   token sent as `npm-otp`; the login sent with the poll only to the
//!   registry's own origin).
//! * **The review fixes**: a registry chosen by a repository file gets no
//!   request (unless the user's own npmrc holds a token for it); a member
//!   that is a git repository of its own gets its own values;
//!   `Retry-After: 0` still waits the pace; a list of over 100
//!   configurations, or an id with a line break, is not acted on.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::snapshots::{render, Redact, Shots};
use crate::support::sandbox::{assert_no_leak, Run, Sandbox};
use crate::support::trust_api::{config_id, trust_path, Fault, Options, TrustApi};
use crate::support::{self};

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

const OTP: &str = "402913";
const OTP2: &str = "558120";
/// The code the fake's web login hands out.
const WEB_OTP: &str = "731904";

/// The flags of the configuration most scenarios want.
const WANTED: [&str; 8] = [
    "--provider",
    "github",
    "--repository",
    "acme/mono",
    "--file",
    "release.yml",
    "--environment",
    "npm",
];

/// A stored configuration for the fake: GitHub `repo`, release.yml,
/// `env`, publish.
fn github(id: &str, repo: &str, env: Option<&str>) -> Value {
    let mut claims = json!({ "repository": repo, "workflow_ref": { "file": "release.yml" } });
    if let Some(e) = env {
        claims["environment"] = json!(e);
    }
    json!({ "id": id, "type": "github", "claims": claims, "permissions": ["createPackage"] })
}

/// A workspace of `@acme/<short>` members under `mono/`, the fake holding
/// `registry` (the members not in it are not on the registry), the
/// planted token for the fake in the user npmrc.
struct World {
    sb: Sandbox,
    api: TrustApi,
    root: PathBuf,
}

impl World {
    fn new(
        opts: impl FnOnce(&str) -> Options,
        members: &[&str],
        registry: &[(&str, Vec<Value>)],
    ) -> World {
        let sb = Sandbox::new();
        for s in [OTP, OTP2, WEB_OTP] {
            sb.add_secret(s);
        }
        let api = TrustApi::start(opts(&sb.token));
        for (short, configs) in registry {
            api.package(&format!("@acme/{short}"), configs);
        }
        sb.login(&api.url());
        let root = sb.root.join("mono");
        sb.write(
            &root.join("package.json"),
            &json!({ "name": "mono", "private": true, "workspaces": ["packages/*"] }).to_string(),
        );
        for m in members {
            sb.write(
                &root.join(format!("packages/{m}/package.json")),
                &json!({ "name": format!("@acme/{m}"), "version": "1.0.0" }).to_string(),
            );
        }
        World { sb, api, root }
    }

    /// `trustpub trust <sub> <root> <args> --registry <fake>`.
    fn trust(&self, sub: &str, args: &[&str]) -> Run {
        self.sb
            .trustpub(["trust", sub])
            .arg(&self.root)
            .args(args)
            .arg("--registry")
            .arg(self.api.url())
            .run()
    }

    /// `trust sync … --yes --otp <OTP> --pace 0`.
    fn sync(&self, args: &[&str]) -> Run {
        let mut a = args.to_vec();
        a.extend(["--yes", "--otp", OTP, "--pace", "0"]);
        self.trust("sync", &a)
    }

    /// The run, its exit code asserted, redacted.
    fn shot(&self, run: &Run, code: i32) -> String {
        run.expect_code(code);
        render(&Redact::new(&self.sb), run, None)
    }

    /// The git `origin` of the workspace.
    fn origin(&self, url: &str) {
        git_origin(&self.sb, &self.root, url);
    }

    fn workflow(&self, file: &str, text: &str) {
        self.sb
            .write(&self.root.join(".github/workflows").join(file), text);
    }

    fn mutations(&self) -> usize {
        self.api.mutations().len()
    }
}

/// `dir/.git` with `url` as its `origin`.
fn git_origin(sb: &Sandbox, dir: &Path, url: &str) {
    sb.write(
        &dir.join(".git/config"),
        &format!("[core]\n\tbare = false\n[remote \"origin\"]\n\turl = {url}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"),
    );
    sb.write(&dir.join(".git/HEAD"), "ref: refs/heads/main\n");
}

/// A job publishing `packages/<dir>` from `environment` (a YAML value or
/// nothing).
fn job(name: &str, dir: &str, environment: Option<&str>) -> String {
    let env = environment.map_or(String::new(), |e| format!("    environment: {e}\n"));
    format!(
        "  {name}:
    runs-on: ubuntu-latest
{env}    defaults:
      run:
        working-directory: packages/{dir}
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-node@v5
        with:
          node-version: 24
      - run: npm publish
"
    )
}

fn workflow(on: &str, jobs: &[String]) -> String {
    format!(
        "on:\n{on}permissions:\n  contents: read\n  id-token: write\njobs:\n{}",
        jobs.concat()
    )
}

// ---------------------------------------------------------------------------
// Snapshots

/// Create, replace, revoke, unchanged: list, diff, dry run, sync, list.
#[test]
fn trust_words_changes() {
    let w = World::new(
        |t| Options::new(t).codes(&[OTP]),
        &["create", "replace", "same", "gone"],
        &[
            ("create", vec![]),
            (
                "replace",
                vec![github(
                    "11111111-1111-4111-8111-111111111111",
                    "acme/mono",
                    None,
                )],
            ),
            (
                "same",
                vec![github(
                    "22222222-2222-4222-8222-222222222222",
                    "acme/mono",
                    Some("npm"),
                )],
            ),
            (
                "gone",
                vec![github(
                    "33333333-3333-4333-8333-333333333333",
                    "acme/old",
                    Some("npm"),
                )],
            ),
        ],
    );
    let three = [
        "-w",
        "@acme/create",
        "-w",
        "@acme/replace",
        "-w",
        "@acme/same",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = three.to_vec();
        v.extend(WANTED);
        v.extend(extra);
        v
    };
    let mut s = Shots::default();
    s.add("list", w.shot(&w.trust("list", &["--workspaces"]), 0));
    s.add(
        "list --json",
        w.shot(&w.trust("list", &["--workspaces", "--json"]), 0),
    );
    s.add("diff", w.shot(&w.trust("diff", &with(&[])), 1));
    s.add(
        "diff --json",
        w.shot(&w.trust("diff", &with(&["--json"])), 1),
    );
    s.add(
        "sync --dry-run",
        w.shot(&w.trust("sync", &with(&["--dry-run"])), 0),
    );
    let revoke = ["-w", "@acme/gone", "--provider", "none"];
    s.add("diff --provider none", w.shot(&w.trust("diff", &revoke), 1));
    assert_eq!(w.mutations(), 0, "list, diff and a dry run change nothing");
    s.add("sync --yes", w.shot(&w.sync(&with(&[])), 0));
    let mut r = revoke.to_vec();
    r.push("--json");
    s.add("sync --yes --provider none --json", w.shot(&w.sync(&r), 0));
    s.add(
        "list afterwards",
        w.shot(&w.trust("list", &["--workspaces"]), 0),
    );
    s.add(
        "sync again: unchanged",
        w.shot(&w.sync(&with(&["--json"])), 0),
    );
    assert_eq!(w.api.configs("@acme/gone").unwrap(), Vec::<Value>::new());
    assert_eq!(w.mutations(), 4, "{:?}", w.api.summary());
    snap!("trust_words_changes", s.0);
}

/// What the CI files cannot settle, and a package not on the registry.
#[test]
fn trust_words_cannot() {
    let members = ["ok", "nojob", "split", "expr", "fork", "case", "absent"];
    let registry: Vec<(&str, Vec<Value>)> = members
        .iter()
        .filter(|m| **m != "absent")
        .map(|m| {
            let c = if *m == "case" {
                vec![github(
                    "44444444-4444-4444-8444-444444444444",
                    "Acme/Mono",
                    None,
                )]
            } else {
                vec![]
            };
            (*m, c)
        })
        .collect();
    let w = World::new(|t| Options::new(t).codes(&[OTP]), &members, &registry);
    w.origin("https://github.com/acme/mono.git");
    w.sb.write(
        &w.root.join("packages/fork/package.json"),
        &json!({
            "name": "@acme/fork", "version": "1.0.0",
            "repository": { "type": "git", "url": "git+https://github.com/upstream/mono.git" }
        })
        .to_string(),
    );
    w.workflow(
        "release.yml",
        &workflow(
            "  push:\n    tags: ['*']\n  workflow_dispatch:\n    inputs:\n      env:\n        type: string\n",
            &[
                job("ok", "ok", Some("npm")),
                job("split", "split", Some("npm")),
                job("expr", "expr", Some("${{ inputs.env }}")),
                job("fork", "fork", Some("npm")),
                job("case", "case", None),
                job("absent", "absent", Some("npm")),
            ],
        ),
    );
    w.workflow(
        "nightly.yml",
        &workflow(
            "  schedule:\n    - cron: '0 3 * * *'\n",
            &[job("split", "split", None)],
        ),
    );
    let mut s = Shots::default();
    s.add("diff", w.shot(&w.trust("diff", &["--workspaces"]), 2));
    s.add(
        "diff --json",
        w.shot(&w.trust("diff", &["--workspaces", "--json"]), 2),
    );
    s.add(
        "sync --dry-run",
        w.shot(&w.trust("sync", &["--workspaces", "--dry-run"]), 2),
    );
    s.add(
        "sync --yes: only what can be",
        w.shot(&w.sync(&["--workspaces"]), 2),
    );
    assert_eq!(
        w.api
            .summary()
            .iter()
            .filter(|l| l.starts_with("POST"))
            .count(),
        1,
        "only @acme/ok is created: {:?}",
        w.api.summary()
    );
    assert_eq!(w.api.configs("@acme/ok").unwrap().len(), 1);
    // Not on the registry alone is the registry's state, not a
    // configuration error: exit 1.
    s.add(
        "diff: not on the registry",
        w.shot(&w.trust("diff", &["-w", "@acme/absent"]), 1),
    );
    s.add(
        "diff --json: not on the registry",
        w.shot(&w.trust("diff", &["-w", "@acme/absent", "--json"]), 1),
    );
    // The command line settles what the files could not.
    s.add(
        "diff: the case settled by --repository",
        w.shot(
            &w.trust(
                "diff",
                &[
                    "-w",
                    "@acme/case",
                    "--repository",
                    "acme/mono",
                    "--no-environment",
                ],
            ),
            1,
        ),
    );
    // Replaced for another reason (an environment), the repository keeps
    // the registry's spelling, and the change says so.
    s.add(
        "diff: a replace keeps the registry's spelling",
        w.shot(
            &w.trust("diff", &["-w", "@acme/case", "--environment", "npm"]),
            1,
        ),
    );
    snap!("trust_words_cannot", s.0);
}

/// The fake for the failure scenarios: @acme/a and @acme/b to create,
/// @acme/c to replace.
fn failing(opts: impl FnOnce(&str) -> Options) -> World {
    World::new(
        opts,
        &["a", "b", "c"],
        &[
            ("a", vec![]),
            ("b", vec![]),
            (
                "c",
                vec![github(
                    "55555555-5555-4555-8555-555555555555",
                    "acme/mono",
                    None,
                )],
            ),
        ],
    )
}

/// Each failure, human and `--json` (two worlds in the same state).
#[test]
fn trust_words_failures() {
    let mut s = Shots::default();
    for json in [false, true] {
        let extra: &[&str] = if json { &["--json"] } else { &[] };
        let tag = if json { " --json" } else { "" };
        let args = |w: &[&'static str]| {
            let mut v = vec!["--workspaces"];
            v.extend(WANTED);
            v.extend(w);
            v.extend(extra);
            v
        };

        // The code runs out after one change; no terminal: the run stops.
        let w = failing(|t| Options::new(t).codes(&[OTP]).codes_expire_after(1));
        s.add(
            &format!("two-factor stop: left{tag}"),
            w.shot(&w.sync(&args(&[])), 1),
        );
        assert_eq!(w.api.configs("@acme/a").unwrap().len(), 1);
        assert_eq!(w.api.configs("@acme/b").unwrap().len(), 0);

        // 403 on @acme/a's POST: @acme/b and @acme/c go on.
        let w = failing(|t| Options::new(t).codes(&[OTP]));
        w.api
            .fail_next(Fault::new("POST", &trust_path("@acme/a"), 403).message("Forbidden"));
        s.add(
            &format!("403 on one package, the others go on{tag}"),
            w.shot(&w.sync(&args(&[])), 1),
        );
        assert_eq!(w.api.configs("@acme/a").unwrap().len(), 0);
        assert_eq!(w.api.configs("@acme/b").unwrap().len(), 1);
        assert_eq!(
            w.api.configs("@acme/c").unwrap()[0]["claims"]["environment"],
            "npm"
        );

        // 503 on @acme/c's POST after its DELETE: NO trusted publisher now.
        let w = failing(|t| Options::new(t).codes(&[OTP]));
        w.api.fail_next(
            Fault::new("POST", &trust_path("@acme/c"), 503).message("Service Unavailable"),
        );
        s.add(
            &format!("503 after the DELETE: outcome unknown{tag}"),
            w.shot(&w.sync(&args(&[])), 1),
        );
        assert_eq!(w.api.configs("@acme/c").unwrap(), Vec::<Value>::new());

        // 409 on @acme/c's POST after its DELETE: partly, NO trusted
        // publisher now.
        let w = failing(|t| Options::new(t).codes(&[OTP]));
        w.api
            .fail_next(Fault::new("POST", &trust_path("@acme/c"), 409).message("Conflict"));
        s.add(
            &format!("409 after the DELETE: partly{tag}"),
            w.shot(&w.sync(&args(&[])), 1),
        );
        assert_eq!(w.api.configs("@acme/c").unwrap(), Vec::<Value>::new());

        // A 429 asking for 120 s: not waited, the run stops.
        let w = failing(|t| Options::new(t).codes(&[OTP]));
        w.api.fail_next(
            Fault::new("POST", &trust_path("@acme/a"), 429).header("retry-after", "120"),
        );
        s.add(
            &format!("429 asking to wait 120 s{tag}"),
            w.shot(&w.sync(&args(&[])), 1),
        );
        assert_eq!(
            w.mutations(),
            1,
            "nothing after the 429: {:?}",
            w.api.summary()
        );
    }
    snap!("trust_words_failures", s.0);
}

/// The usage and configuration errors: exit 2, no request.
#[test]
fn trust_words_usage() {
    let w = failing(|t| Options::new(t).codes(&[OTP]));
    let mut s = Shots::default();
    let mut wanted = vec!["--workspaces"];
    wanted.extend(WANTED);
    s.add(
        "sync without --yes and without a terminal",
        w.shot(&w.trust("sync", &wanted), 2),
    );
    let mut bad_file = vec!["--workspaces"];
    bad_file.extend(&WANTED[..4]);
    bad_file.extend(["--file", ".github/workflows/release.yml"]);
    s.add("a path as --file", w.shot(&w.trust("diff", &bad_file), 2));
    s.add(
        "--provider github --repository a/b/c",
        w.shot(
            &w.trust(
                "diff",
                &[
                    "--provider",
                    "github",
                    "--repository",
                    "a/b/c",
                    "--file",
                    "release.yml",
                ],
            ),
            2,
        ),
    );
    s.add(
        "--provider none with other flags",
        w.shot(
            &w.trust(
                "sync",
                &["--provider", "none", "--environment", "npm", "--yes"],
            ),
            2,
        ),
    );
    let mut pace = wanted.clone();
    pace.extend(["--yes", "--pace", "601"]);
    s.add("--pace 601", w.shot(&w.trust("sync", &pace), 2));
    s.add(
        "--include-workspace-root without --workspaces",
        w.shot(&w.trust("list", &["--include-workspace-root"]), 2),
    );
    s.add(
        "--json: a usage error",
        w.shot(
            &w.trust("sync", &["--provider", "none", "--file", "x.yml", "--json"]),
            2,
        ),
    );
    assert!(w.api.requests().is_empty(), "{:?}", w.api.summary());
    // No login for the registry: undecided, exit 2, nothing sent.
    w.sb.write(&w.sb.user_npmrc(), "");
    s.add("no login", w.shot(&w.trust("diff", &wanted), 2));
    let mut j = wanted.clone();
    j.push("--json");
    s.add("no login --json", w.shot(&w.trust("diff", &j), 2));
    assert!(w.api.requests().is_empty(), "{:?}", w.api.summary());
    snap!("trust_words_usage", s.0);
}

// ---------------------------------------------------------------------------
// The review fixes

/// A project `.npmrc` (npm reads the one of the working directory's
/// project) moving the registry: no request goes there, not even the
/// list; with the user's own token for that host, it is used.
#[test]
fn a_registry_chosen_by_the_repository_gets_nothing() {
    let w = failing(|t| Options::new(t).codes(&[OTP]));
    let other = TrustApi::start(Options::new("x").codes(&[OTP]));
    other.package("@acme/a", &[]);
    w.sb.write(
        &w.root.join(".npmrc"),
        &format!(
            "registry={}\n{}",
            other.url(),
            Sandbox::token_line(&other.url(), "x")
        ),
    );
    let mut a = vec!["-w", "@acme/a"];
    a.extend(WANTED);
    a.extend(["--yes", "--otp", OTP, "--pace", "0"]);
    let run =
        w.sb.trustpub(["trust", "sync", "."])
            .args(&a)
            .cwd(&w.root)
            .run();
    run.expect_code(2);
    assert!(
        run.stdout().contains("moves @acme/a to"),
        "{}",
        run.stdout()
    );
    assert!(other.requests().is_empty(), "{:?}", other.summary());
    assert!(w.api.requests().is_empty(), "{:?}", w.api.summary());

    // The maintainer's own token for that host: their choice.
    let mine = TrustApi::start(Options::new(&w.sb.token).codes(&[OTP]));
    mine.package("@acme/a", &[]);
    w.sb.write(
        &w.root.join(".npmrc"),
        &format!("registry={}\n", mine.url()),
    );
    w.sb.write(
        &w.sb.user_npmrc(),
        &Sandbox::token_line(&mine.url(), &w.sb.token),
    );
    let run =
        w.sb.trustpub(["trust", "sync", "."])
            .args(&a)
            .cwd(&w.root)
            .run();
    run.expect_code(0);
    assert_eq!(
        mine.configs("@acme/a").unwrap().len(),
        1,
        "{:?}",
        mine.summary()
    );
}

/// A member with a `.git` of its own (another origin, its own workflow)
/// is configured from its own repository.
#[test]
fn a_member_that_is_its_own_repository_gets_its_own_values() {
    let w = failing(|t| Options::new(t).codes(&[OTP]));
    w.origin("https://github.com/acme/mono.git");
    w.workflow(
        "release.yml",
        &workflow(
            "  push:\n    tags: ['*']\n",
            &[job("a", "a", Some("npm")), job("b", "b", Some("npm"))],
        ),
    );
    let b = w.root.join("packages/b");
    git_origin(&w.sb, &b, "https://github.com/acme/bee.git");
    let own = workflow(
        "  push:\n    tags: ['*']\n",
        &[job("b", "b", None).replace(
            "        working-directory: packages/b\n",
            "        working-directory: .\n",
        )],
    );
    w.sb.write(&b.join(".github/workflows/publish-b.yml"), &own);
    let run = w.trust("diff", &["-w", "@acme/a", "-w", "@acme/b", "--json"]);
    run.expect_code(1);
    let doc = run.json();
    let row = |n: &str| {
        doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .unwrap_or_else(|| panic!("{n} in {doc:#}"))
            .clone()
    };
    assert_eq!(
        row("@acme/a")["wanted"],
        json!({"type": "github", "file": "release.yml", "repository": "acme/mono", "environment": "npm", "permissions": ["createPackage"]})
    );
    assert_eq!(
        row("@acme/b")["wanted"],
        json!({"type": "github", "file": "publish-b.yml", "repository": "acme/bee", "permissions": ["createPackage"]})
    );
}

/// `Retry-After: 0` is waited for at least the pace.
#[test]
fn retry_after_zero_waits_at_least_the_pace() {
    let w = failing(|t| Options::new(t).codes(&[OTP]));
    w.api
        .fail_next(Fault::new("POST", &trust_path("@acme/a"), 429).header("retry-after", "0"));
    let mut a = vec!["-w", "@acme/a"];
    a.extend(WANTED);
    a.extend(["--yes", "--otp", OTP, "--pace", "2"]);
    w.trust("sync", &a).expect_code(0);
    let posts: Vec<_> = w
        .api
        .exchanges()
        .into_iter()
        .filter(|e| e.request.method == "POST")
        .collect();
    assert_eq!(
        posts.iter().map(|e| e.status).collect::<Vec<_>>(),
        [429, 201]
    );
    assert!(
        posts[1].at - posts[0].at >= Duration::from_secs(2),
        "sent again after {:?}, before the pace of 2 s",
        posts[1].at - posts[0].at
    );
}

/// A list of 101 configurations, or an id holding a line break: the
/// package is not acted on, nothing changes.
#[test]
fn an_unreadable_list_changes_nothing() {
    let many: Vec<Value> = (1..=101)
        .map(|n| github(&config_id(1000 + n), "acme/mono", None))
        .collect();
    let w = World::new(
        |t| Options::new(t).codes(&[OTP]),
        &["many", "nl"],
        &[
            ("many", many),
            ("nl", vec![github("bad\nid", "acme/old", None)]),
        ],
    );
    let mut a = vec!["--workspaces", "--json"];
    a.extend(WANTED);
    let run = w.sync(&a);
    run.expect_code(1);
    let doc = run.json();
    for p in doc["packages"].as_array().unwrap() {
        assert_eq!(p["action"], "cannot", "{doc:#}");
        assert_eq!(p["current"], Value::Null, "{doc:#}");
    }
    let text = doc.to_string();
    assert!(text.contains("101 configurations"), "{text}");
    assert!(text.contains("no usable id"), "{text}");
    assert_eq!(w.mutations(), 0, "{:?}", w.api.summary());
    assert_eq!(w.api.configs("@acme/many").unwrap().len(), 101);
}

// ---------------------------------------------------------------------------
// The terminal

/// trustpub under `script -qec` (util-linux): a pty on its standard input,
/// output and error (merged, as a terminal shows them). The test reads
/// what it printed and types answers.
struct Pty {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Vec<u8>>,
    seen: String,
}

/// The longest a prompt is waited for (a bound against a hang, not a
/// measure).
const PTY_BOUND: Duration = Duration::from_secs(120);

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Pty {
    fn start(sb: &Sandbox, args: &[String]) -> Pty {
        let script = Path::new("/usr/bin/script");
        assert!(
            script.is_file(),
            "the terminal tests need util-linux `script` at {}",
            script.display()
        );
        let line = std::iter::once(support::trustpub_bin().display().to_string())
            .chain(args.iter().cloned())
            .map(|a| quote(&a))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = Command::new(script);
        cmd.args(["-qec", &line, "/dev/null"]);
        support::apply_env(&mut cmd, &sb.home);
        cmd.env("npm_config_globalconfig", &sb.globalconfig)
            .env("SHELL", "/bin/sh")
            .current_dir(&sb.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start script");
        let mut out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Pty {
            stdin: child.stdin.take(),
            child,
            rx,
            seen: String::new(),
        }
    }

    /// Reads until the output holds `text` (panics after [`PTY_BOUND`]).
    fn expect(&mut self, text: &str) {
        let start = Instant::now();
        while !self.seen.contains(text) {
            let left = PTY_BOUND.saturating_sub(start.elapsed());
            match self.rx.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(b) => self.seen.push_str(&String::from_utf8_lossy(&b)),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("no {text:?} at the terminal; it showed:\n{}", self.seen);
                }
            }
        }
    }

    fn type_line(&mut self, line: &str) {
        let w = self.stdin.as_mut().expect("stdin open");
        w.write_all(format!("{line}\n").as_bytes()).unwrap();
        w.flush().unwrap();
    }

    /// Waits for the end (bounded); the exit code and everything shown.
    fn finish(mut self) -> (i32, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > PTY_BOUND {
                let _ = self.child.kill();
                panic!("trustpub did not end at the terminal:\n{}", self.seen);
            }
            while let Ok(b) = self.rx.try_recv() {
                self.seen.push_str(&String::from_utf8_lossy(&b));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(self.stdin.take());
        while let Ok(b) = self.rx.recv_timeout(Duration::from_secs(5)) {
            self.seen.push_str(&String::from_utf8_lossy(&b));
        }
        (status.code().unwrap_or(-1), self.seen.replace('\r', ""))
    }
}

/// The arguments of `trust sync <root> … --registry <fake> --pace 0`.
fn pty_args(w: &World, args: &[&str]) -> Vec<String> {
    let mut v = vec![
        "trust".to_string(),
        "sync".into(),
        w.root.display().to_string(),
    ];
    v.extend(args.iter().map(|s| s.to_string()));
    v.extend([
        "--registry".into(),
        w.api.url(),
        "--pace".into(),
        "0".into(),
    ]);
    v
}

/// The output holds no secret but the codes the test typed (the terminal
/// echoes what is typed), each as many times as it was typed.
fn assert_only_typed(w: &World, shown: &str, typed: &[&str]) {
    assert!(!shown.contains(&w.sb.token), "the token was shown");
    for s in [OTP, OTP2, WEB_OTP] {
        let n = typed.iter().filter(|t| **t == s).count();
        assert_eq!(
            shown.matches(s).count(),
            n,
            "{s} shown:\n{}",
            w.sb.redact(shown)
        );
    }
}

/// A terminal session as the user saw it, redacted like a snapshot.
fn pty_shot(w: &World, code: i32, shown: &str) -> String {
    // What the test typed, echoed by the terminal.
    let text =
        w.sb.redact(&shown.replace(OTP2, "[CODE TYPED]"))
            .replace(&w.sb.root.display().to_string(), "[ROOT]");
    let text = regex::Regex::new(r"127\.0\.0\.1:\d+")
        .unwrap()
        .replace_all(&text, "127.0.0.1:[PORT]")
        .into_owned();
    format!("exit code: {code}\n----- terminal -----\n{text}")
}

/// Without --yes at a terminal: the plan is shown, "y" applies it.
#[test]
fn the_go_ahead_at_a_terminal() {
    let w = failing(|t| Options::new(t).codes(&[OTP]));
    let mut a = vec!["-w", "@acme/a", "-w", "@acme/c", "--otp", OTP];
    a.extend(WANTED);
    let mut p = Pty::start(&w.sb, &pty_args(&w, &a));
    p.expect("Make these 3 change(s)? (y/N)");
    assert!(w.api.mutations().is_empty(), "nothing before the answer");
    assert!(
        p.seen
            .contains("@acme/c (packages/c): replace (not applied)"),
        "{}",
        p.seen
    );
    p.type_line("y");
    let (code, shown) = p.finish();
    assert_eq!(code, 0, "{}", w.sb.redact(&shown));
    assert!(
        shown.contains("trust sync: 1 created, 1 replaced"),
        "{shown}"
    );
    assert_eq!(w.api.configs("@acme/a").unwrap().len(), 1);
    assert_eq!(w.mutations(), 3);
    assert_only_typed(&w, &shown, &[]);
    snap!("trust_words_terminal_go_ahead", pty_shot(&w, code, &shown));
}

/// "n", or an empty line: nothing changes, exit 2 "cancelled".
#[test]
fn no_go_ahead_changes_nothing() {
    let mut s = Shots::default();
    for answer in ["n", ""] {
        let w = failing(|t| Options::new(t).codes(&[OTP]));
        let mut a = vec!["--workspaces", "--otp", OTP];
        a.extend(WANTED);
        let mut p = Pty::start(&w.sb, &pty_args(&w, &a));
        p.expect("(y/N)");
        p.type_line(answer);
        let (code, shown) = p.finish();
        assert_eq!(code, 2, "{answer:?}: {}", w.sb.redact(&shown));
        assert!(shown.contains("cancelled: nothing was changed"), "{shown}");
        assert!(w.api.mutations().is_empty(), "{:?}", w.api.summary());
        s.add(&format!("answer {answer:?}"), pty_shot(&w, code, &shown));
    }
    snap!("trust_words_terminal_no", s.0);
}

/// The codes run out mid-run: trustpub asks, the test types a new one,
/// the run finishes.
#[test]
fn a_new_code_typed_mid_run() {
    let w = failing(|t| Options::new(t).codes(&[OTP]).codes_expire_after(1));
    let mut a = vec!["--workspaces", "--otp", OTP, "--yes"];
    a.extend(WANTED);
    let mut p = Pty::start(&w.sb, &pty_args(&w, &a));
    p.expect("enter one from your authenticator");
    assert_eq!(w.api.configs("@acme/a").unwrap().len(), 1);
    assert_eq!(w.api.configs("@acme/b").unwrap().len(), 0);
    w.api.expire_codes_after(None);
    w.api.set_codes(&[OTP2]);
    p.type_line(OTP2);
    let (code, shown) = p.finish();
    assert_eq!(code, 0, "{}", w.sb.redact(&shown));
    assert!(
        shown.contains("trust sync: 2 created, 1 replaced"),
        "{shown}"
    );
    let otps: Vec<Option<String>> = w
        .api
        .mutations()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.header("npm-otp").map(str::to_string))
        .collect();
    assert_eq!(otps.first().cloned().flatten().as_deref(), Some(OTP));
    assert_eq!(otps.last().cloned().flatten().as_deref(), Some(OTP2));
    assert_only_typed(&w, &shown, &[OTP2]);
    snap!("trust_words_terminal_new_code", pty_shot(&w, code, &shown));
}

/// The registry's web login, its `doneUrl` on the registry's origin (the
/// login goes with the poll) or on another port (it does not).
#[test]
fn the_web_login_at_a_terminal() {
    let mut s = Shots::default();
    for same_origin in [true, false] {
        let w = failing(|t| Options::new(t).codes(&[WEB_OTP]));
        let other = TrustApi::start(Options::new("unused"));
        let done = if same_origin { &w.api } else { &other };
        w.api.offer_web_login(&done.url());
        done.serve_web_done(2, WEB_OTP);
        let mut a = vec!["-w", "@acme/a", "--yes"];
        a.extend(WANTED);
        let mut p = Pty::start(&w.sb, &pty_args(&w, &a));
        p.expect("Authenticate your account at:");
        let (code, shown) = p.finish();
        assert_eq!(code, 0, "{}", w.sb.redact(&shown));
        let auth_url = format!("http://127.0.0.1:{}/auth/1", w.api.port());
        assert!(shown.contains(&auth_url), "{shown}");
        let polls: Vec<_> = done
            .requests()
            .into_iter()
            .filter(|r| r.url.starts_with("/done/"))
            .collect();
        assert_eq!(
            polls.len(),
            3,
            "two 202s, then the token: {:?}",
            done.summary()
        );
        for r in &polls {
            assert_eq!(
                r.header("authorization").is_some(),
                same_origin,
                "the login goes with the poll only to the registry's origin"
            );
        }
        let post = w
            .api
            .mutations()
            .into_iter()
            .rfind(|r| r.method == "POST")
            .expect("a POST");
        assert_eq!(post.header("npm-otp"), Some(WEB_OTP));
        assert_eq!(post.header("npm-auth-type"), Some("legacy"));
        assert_eq!(w.api.configs("@acme/a").unwrap().len(), 1);
        assert_only_typed(&w, &shown, &[]);
        let what = if same_origin {
            "doneUrl on the registry's origin"
        } else {
            "doneUrl on another port"
        };
        s.add(what, pty_shot(&w, code, &shown));
    }
    snap!("trust_words_terminal_web_login", s.0);
}

/// A web login whose code the registry refuses: one new code per
/// challenge, as npm's otplease: the run stops instead of logging in again
/// and again (a registry that challenges every request would loop).
#[test]
fn a_refused_web_login_code_is_not_tried_again() {
    let w = failing(|t| Options::new(t).codes(&[WEB_OTP]));
    w.api.offer_web_login(&w.api.url());
    w.api.serve_web_done(0, "not-the-code");
    let mut a = vec!["-w", "@acme/a", "--yes"];
    a.extend(WANTED);
    let mut p = Pty::start(&w.sb, &pty_args(&w, &a));
    p.expect("Authenticate your account at:");
    let (code, shown) = p.finish();
    assert_eq!(code, 1, "{}", w.sb.redact(&shown));
    assert_eq!(
        shown.matches("Authenticate your account at:").count(),
        1,
        "one web login: {shown}"
    );
    let posts = w
        .api
        .mutations()
        .into_iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(
        posts,
        2,
        "the first POST, then one with the new code: {:?}",
        w.api.summary()
    );
    assert!(w.api.configs("@acme/a").unwrap().is_empty());
}

/// A web login that does not give a code: the run stops (what the login
/// check answered shown), nothing is created.
#[test]
fn a_web_login_without_a_code_stops() {
    let mut s = Shots::default();
    let closed = format!("http://127.0.0.1:{}/", crate::snapshots::closed_port());
    for (what, done_base, token) in [
        (
            "doneUrl not HTTPS",
            Some("http://registry.example.test/".to_string()),
            None,
        ),
        ("doneUrl unreachable", Some(closed), None),
        ("doneUrl answers 404", None, None),
        ("a 200 without a token", None, Some("")),
    ] {
        let w = failing(|t| Options::new(t).codes(&[WEB_OTP]));
        let other = TrustApi::start(Options::new("unused"));
        w.api
            .offer_web_login(&done_base.unwrap_or_else(|| other.url()));
        if let Some(t) = token {
            other.serve_web_done(0, t);
        }
        let mut a = vec!["-w", "@acme/a", "--yes"];
        a.extend(WANTED);
        let p = Pty::start(&w.sb, &pty_args(&w, &a));
        let (code, shown) = p.finish();
        assert_eq!(code, 1, "{what}: {}", w.sb.redact(&shown));
        assert_eq!(w.mutations(), 1, "{what}: one POST, challenged");
        assert_eq!(w.api.configs("@acme/a").unwrap().len(), 0);
        assert_only_typed(&w, &shown, &[]);
        s.add(what, pty_shot(&w, code, &shown));
    }
    snap!("trust_words_terminal_web_login_fails", s.0);
}

/// Without a terminal, a challenge offering the web login stops the run
/// with words about it; nothing is polled.
#[test]
fn the_web_login_without_a_terminal_stops() {
    let w = failing(|t| Options::new(t).codes(&[WEB_OTP]));
    w.api.offer_web_login(&w.api.url());
    w.api.serve_web_done(0, WEB_OTP);
    let mut a = vec!["-w", "@acme/a", "--yes", "--pace", "0"];
    a.extend(WANTED);
    let run = w.trust("sync", &a);
    run.expect_code(1);
    assert!(
        run.stdout()
            .contains("the registry offers its web login, which needs a terminal"),
        "{}",
        run.stdout()
    );
    assert!(
        !w.api.requests().iter().any(|r| r.url.starts_with("/done/")),
        "{:?}",
        w.api.summary()
    );
    assert_no_leak(&run, &w.sb.all_secrets());
    snap!("trust_words_web_login_no_terminal", w.shot(&run, 1));
}

// ---------------------------------------------------------------------------
// More words: odd registry answers, stops, refusals

/// What the registry holds that npm would not show, and answers trustpub
/// does not act on.
#[test]
fn trust_words_registry_answers() {
    let ctx = "d4e5f6a7-b8c9-4dae-9fb0-2c3d4e5f6a44";
    let w = World::new(
        |t| Options::new(t).codes(&[OTP]),
        &["odd", "kite", "circle", "many", "nl", "html", "text"],
        &[
            (
                "odd",
                vec![json!({
                    "id": "66666666-6666-4666-8666-666666666666",
                    "type": "github",
                    "claims": {
                        "repository": "acme/mono",
                        "workflow_ref": { "file": "release.yml", "ref": "refs/heads/main" },
                        "actor": "someone"
                    }
                })],
            ),
            (
                "kite",
                vec![json!({
                    "id": "77777777-7777-4777-8777-777777777777",
                    "type": "buildkite",
                    "claims": { "organization_slug": "acme" },
                    "permissions": ["createPackage"]
                })],
            ),
            (
                "circle",
                vec![json!({
                    "id": "88888888-8888-4888-8888-888888888888",
                    "type": "circleci",
                    "claims": {
                        "oidc.circleci.com/org-id": "2f6c4bb5-8a8c-4d0e-9d2c-8f1e6f0a1b11",
                        "oidc.circleci.com/project-id": "8b1d0c5e-3f7a-4e2b-a1c9-0d4e5f6a7b22",
                        "oidc.circleci.com/pipeline-definition-id": "c3e4f5a6-b7c8-4d9e-8f0a-1b2c3d4e5f33",
                        "oidc.circleci.com/vcs-origin": "github.com/acme/mono",
                        "oidc.circleci.com/context-ids": [ctx]
                    },
                    "permissions": ["createPackage", "createStagedPackage"]
                })],
            ),
            (
                "many",
                (1..=101)
                    .map(|n| github(&config_id(1000 + n), "acme/mono", None))
                    .collect(),
            ),
            ("nl", vec![github("bad\nid", "acme/old", None)]),
            ("html", vec![]),
            ("text", vec![]),
        ],
    );
    // Answers of another shape (to the first list and to the diff).
    for _ in 0..2 {
        w.api.fail_next(
            Fault::new("GET", &trust_path("@acme/html"), 200).body(b"<html>maintenance</html>"),
        );
        w.api
            .fail_next(Fault::new("GET", &trust_path("@acme/text"), 200).body(b"\"ok\""));
    }
    let mut s = Shots::default();
    s.add("list", w.shot(&w.trust("list", &["--workspaces"]), 1));
    s.add(
        "list --json (odd and kite)",
        w.shot(
            &w.trust("list", &["-w", "@acme/odd", "-w", "@acme/kite", "--json"]),
            0,
        ),
    );
    let mut d = vec!["--workspaces"];
    d.extend(WANTED);
    s.add("diff", w.shot(&w.trust("diff", &d), 1));
    assert_eq!(w.mutations(), 0);
    snap!("trust_words_registry_answers", s.0);
}

/// Runs that stop, or a package the registry refuses.
#[test]
fn trust_words_stops() {
    let mut s = Shots::default();
    let mut wanted = vec!["--workspaces"];
    wanted.extend(WANTED);

    // Reads need a code, none given, no terminal.
    let w = failing(|t| Options::new(t).codes(&[OTP]).otp_for_reads());
    s.add(
        "list: reads need a code",
        w.shot(&w.trust("list", &["--workspaces"]), 1),
    );
    s.add(
        "diff: reads need a code",
        w.shot(&w.trust("diff", &wanted), 1),
    );

    // The login refused.
    let w = failing(|t| Options::new(t).codes(&[OTP]));
    w.sb.write(
        &w.sb.user_npmrc(),
        &Sandbox::token_line(&w.api.url(), "npm_NotTheRightOne"),
    );
    s.add("the login refused", w.shot(&w.sync(&wanted), 1));
    assert_eq!(w.api.requests().len(), 1, "{:?}", w.api.summary());

    // 409 and 400 on a POST: that package fails, the others go on.
    let w = failing(|t| Options::new(t).codes(&[OTP]));
    w.api.fail_next(
        Fault::new("POST", &trust_path("@acme/a"), 409).message("A configuration exists"),
    );
    w.api.fail_next(
        Fault::new("POST", &trust_path("@acme/b"), 400).message("claims.repository: invalid"),
    );
    s.add("409 and 400", w.shot(&w.sync(&wanted), 1));

    // 429 every time: given up after the fifth wait.
    let w = failing(|t| Options::new(t).codes(&[OTP]));
    for _ in 0..6 {
        w.api
            .fail_next(Fault::new("POST", &trust_path("@acme/a"), 429).header("retry-after", "1"));
    }
    s.add(
        "429 six times",
        w.shot(
            &w.sync(&[
                "-w",
                "@acme/a",
                "--provider",
                "github",
                "--repository",
                "acme/mono",
                "--file",
                "release.yml",
            ]),
            1,
        ),
    );
    assert_eq!(w.mutations(), 6, "{:?}", w.api.summary());

    // A revoke of two configurations, the second refused by a 500.
    let w = World::new(
        |t| Options::new(t).codes(&[OTP]),
        &["two"],
        &[(
            "two",
            vec![
                github("99999999-9999-4999-8999-999999999991", "acme/mono", None),
                github("99999999-9999-4999-8999-999999999992", "acme/old", None),
            ],
        )],
    );
    w.api.fail_next(Fault::new(
        "DELETE",
        &format!(
            "{}/99999999-9999-4999-8999-999999999992",
            trust_path("@acme/two")
        ),
        500,
    ));
    s.add(
        "a revoke partly done",
        w.shot(&w.sync(&["--workspaces", "--provider", "none"]), 1),
    );

    // A pace over the two-factor window, but one change: no wait, so no
    // notice about the window.
    let w = failing(|t| Options::new(t).codes(&[OTP]));
    let mut a = vec!["-w", "@acme/a"];
    a.extend(WANTED);
    a.extend(["--yes", "--otp", OTP, "--pace", "301"]);
    s.add("--pace 301, one change", w.shot(&w.trust("sync", &a), 0));
    snap!("trust_words_stops", s.0);
}

/// Configuration and flags trustpub refuses before any request: exit 2.
#[test]
fn trust_words_refusals() {
    let mut s = Shots::default();
    let w = failing(|t| Options::new(t).codes(&[OTP]));
    let diff = |args: &[&str]| w.trust("diff", args);
    for (what, args) in [
        (
            "CircleCI's flags with github",
            vec![
                "--provider",
                "github",
                "--org-id",
                "2f6c4bb5-8a8c-4d0e-9d2c-8f1e6f0a1b11",
            ],
        ),
        (
            "--repository with circleci",
            vec!["--provider", "circleci", "--repository", "acme/mono"],
        ),
        (
            "a gitlab project without a group",
            vec!["--provider", "gitlab", "--repository", "mono"],
        ),
        ("a repository of one part", vec!["--repository", "mono"]),
        (
            "an org id that is no UUID",
            vec!["--provider", "circleci", "--org-id", "nope"],
        ),
        (
            "a VCS origin with a scheme",
            vec![
                "--provider",
                "circleci",
                "--vcs-origin",
                "https://github.com/acme/mono",
            ],
        ),
        (
            "a VCS origin of two parts",
            vec!["--provider", "circleci", "--vcs-origin", "github.com/acme"],
        ),
    ] {
        s.add(what, w.shot(&diff(&args), 2));
    }
    assert!(w.api.requests().is_empty(), "{:?}", w.api.summary());
    // Undecided packages: read (diff shows what is there), not changed.
    for (what, args) in [
        (
            "circleci without its IDs",
            vec![
                "--workspaces",
                "--provider",
                "circleci",
                "--vcs-origin",
                "github.com/acme/mono",
            ],
        ),
        (
            "gitlab without a project",
            vec![
                "--workspaces",
                "--provider",
                "gitlab",
                "--file",
                ".gitlab-ci.yml",
            ],
        ),
    ] {
        s.add(what, w.shot(&diff(&args), 2));
    }
    let (org, project, pipeline) = (
        "2f6c4bb5-8a8c-4d0e-9d2c-8f1e6f0a1b11",
        "8b1d0c5e-3f7a-4e2b-a1c9-0d4e5f6a7b22",
        "c3e4f5a6-b7c8-4d9e-8f0a-1b2c3d4e5f33",
    );
    let circle = ["-w", "@acme/a", "--provider", "circleci"];
    for (what, ids) in [
        ("circleci without a project ID", vec!["--org-id", org]),
        (
            "circleci without a pipeline definition ID",
            vec!["--org-id", org, "--project-id", project],
        ),
        (
            "circleci without a VCS origin (no git remote)",
            vec![
                "--org-id",
                org,
                "--project-id",
                project,
                "--pipeline-definition-id",
                pipeline,
            ],
        ),
    ] {
        let mut args = circle.to_vec();
        args.extend(ids);
        s.add(what, w.shot(&diff(&args), 2));
    }
    assert_eq!(w.mutations(), 0, "{:?}", w.api.summary());
    let reads = w.api.requests().len();

    // A username and password.
    w.sb.write(
        &w.sb.user_npmrc(),
        &format!(
            "{}:_auth=dXNlcjpwYXNz\n",
            Sandbox::token_line(&w.api.url(), "x")
                .split(":_authToken")
                .next()
                .unwrap()
        ),
    );
    s.add(
        "a username and password",
        w.shot(&diff(&["-w", "@acme/a", "--provider", "none"]), 2),
    );

    // Not HTTPS.
    w.sb.write(
        &w.sb.user_npmrc(),
        &Sandbox::token_line("http://registry.example.test/", &w.sb.token),
    );
    s.add(
        "a registry that is not HTTPS",
        w.shot(
            &w.sb
                .trustpub(["trust", "list"])
                .arg(&w.root)
                .args([
                    "-w",
                    "@acme/a",
                    "--registry",
                    "http://registry.example.test/",
                ])
                .run(),
            2,
        ),
    );

    // A registry chosen by the repository.
    w.sb.login(&w.api.url());
    let other = TrustApi::start(Options::new("x"));
    w.sb.write(
        &w.root.join(".npmrc"),
        &format!(
            "registry={}\n{}",
            other.url(),
            Sandbox::token_line(&other.url(), "x")
        ),
    );
    s.add(
        "a registry chosen by the repository",
        w.shot(
            &w.sb
                .trustpub(["trust", "diff", ".", "-w", "@acme/a", "--provider", "none"])
                .cwd(&w.root)
                .run(),
            2,
        ),
    );
    assert!(other.requests().is_empty(), "{:?}", other.summary());
    assert_eq!(w.api.requests().len(), reads, "{:?}", w.api.summary());

    // Nothing to configure: private members only; a package without a name.
    let p = World::new(Options::new, &[], &[]);
    p.sb.write(
        &p.root.join("packages/x/package.json"),
        &json!({ "name": "@acme/x", "version": "1.0.0", "private": true }).to_string(),
    );
    s.add(
        "only private packages",
        p.shot(&p.trust("list", &["--workspaces"]), 2),
    );
    let nameless = p.sb.root.join("nameless");
    p.sb.write(&nameless.join("package.json"), r#"{"version":"1.0.0"}"#);
    s.add(
        "a package without a name",
        p.shot(&p.sb.trustpub(["trust", "list"]).arg(&nameless).run(), 2),
    );
    snap!("trust_words_refusals", s.0);
}
