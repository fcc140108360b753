//! `trustpub trust` against the real `npm trust` (npm 11.19.1) on the fake
//! of the registry's trust API ([`crate::support::trust_api`]), issue #14
//! item 2.
//!
//! * **The same requests for the same change**: for a create, an update
//!   (revoke + create) and a revoke, across GitHub, GitLab and CircleCI,
//!   with and without an environment, with the publish and/or the stage
//!   permission, scoped and unscoped, `npm trust …` (the command sequence
//!   a maintainer runs, [`crate::trust_sync::npm_change`]) against one fake
//!   and `trustpub trust sync --yes --otp <code>` against a second fake in
//!   the same state send the same mutating requests (method, path, JSON
//!   body in npm's key order, every header but the client's name and the
//!   transport's) and leave the two fakes in the same state;
//!   `trustpub trust list`'s GET is `npm trust list`'s (with a code and
//!   without) and its `--json` `current` is npm's `list --json`. Without
//!   any WANTED flag the release workflow and the `origin` remote decide,
//!   and the requests are those npm sends when given the same values.
//! * **A workspace in one run**: six packages needing a create, a replace
//!   or nothing, synced at once, everything read before anything changes;
//!   the same per-package requests as npm's; a second sync sends no
//!   mutation; a package on the registry that was not selected (not in the
//!   workspace, or not picked by `-w`) is never read nor changed; a member
//!   the registry does not have is "cannot" (npm: E404). No change without
//!   `--yes` (exit 2), with `--dry-run` or with `diff`.
//! * **Failures and pacing**: a 503 between a replace's DELETE and its
//!   POST stops the run, a 409 fails that package only; a two-factor code
//!   that runs out mid-run stops with what is done and what is left
//!   (exit 1); the next run (with a new `--otp`) sends exactly the rest. A
//!   429 is waited out for its `Retry-After`; `--pace` separates mutations.
//!   Without `--otp`, a challenge stops the run (npm: EOTP), and inside the
//!   skip window both go through with the same requests.
//! * **Secrets**: the sandbox checks every run's output for the token and
//!   the one-time passwords, including a registry answer that echoes both.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::support::sandbox::{Run, Sandbox};
use crate::support::trust_api::{config_id, trust_path, without_ids, Fault, Options, TrustApi};
use crate::support::workspace_gen::{Pkg, Pm, Spec};
use crate::support::{self};
use crate::trust_sync::{
    mutations, normalise, npm_change, npm_changes, npm_trust, render, Change, Norm, Provider,
    Wanted,
};

const OTP: &str = "402913";
const OTP2: &str = "558120";
const ORG: &str = "2f6c4bb5-8a8c-4d0e-9d2c-8f1e6f0a1b11";
const PROJECT: &str = "8b1d0c5e-3f7a-4e2b-a1c9-0d4e5f6a7b22";
const PIPELINE: &str = "c3e4f5a6-b7c8-4d9e-8f0a-1b2c3d4e5f33";
const CONTEXT_A: &str = "d4e5f6a7-b8c9-4dae-9fb0-2c3d4e5f6a44";
const CONTEXT_B: &str = "e5f6a7b8-c9da-4eb1-8c2d-3e4f5a6b7c55";

/// `trustpub trust sync` flags for a wanted configuration (`None`:
/// `--provider none`, a revoke).
fn wanted_flags(w: Option<&Wanted>) -> Vec<String> {
    let Some(w) = w else {
        return vec!["--provider".into(), "none".into()];
    };
    let mut a: Vec<String> = Vec::new();
    let mut flag = |k: &str, v: &str| {
        a.push(format!("--{k}"));
        a.push(v.to_string());
    };
    match &w.provider {
        Provider::Github {
            repository,
            file,
            environment,
        }
        | Provider::Gitlab {
            project: repository,
            file,
            environment,
        } => {
            let provider = if matches!(w.provider, Provider::Github { .. }) {
                "github"
            } else {
                "gitlab"
            };
            flag("provider", provider);
            flag("repository", repository);
            flag("file", file);
            match environment {
                Some(e) => flag("environment", e),
                None => a.push("--no-environment".into()),
            }
        }
        Provider::Circleci {
            org_id,
            project_id,
            pipeline_definition_id,
            vcs_origin,
            context_ids,
        } => {
            flag("provider", "circleci");
            flag("org-id", org_id);
            flag("project-id", project_id);
            flag("pipeline-definition-id", pipeline_definition_id);
            flag("vcs-origin", vcs_origin);
            for c in context_ids {
                flag("context-id", c);
            }
        }
    }
    if w.publish {
        a.push("--allow-publish".into());
    }
    if w.stage {
        a.push("--allow-stage-publish".into());
    }
    a
}

/// The stored form of a configuration given to [`TrustApi::package`].
fn seeded(id: &str, w: &Wanted) -> Value {
    let mut v = json!({ "id": id });
    for (k, x) in w.body().as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

/// One sandbox, two fakes in the same state (`packages` with their
/// configurations), the token for both in the user npmrc, the codes as
/// secrets.
struct Twins {
    sb: Sandbox,
    npm: TrustApi,
    ours: TrustApi,
}

impl Twins {
    fn new(opts: impl Fn(&str) -> Options, packages: &[(&str, Vec<Value>)]) -> Twins {
        support::require_npm();
        let sb = Sandbox::new();
        for s in [OTP, OTP2] {
            sb.add_secret(s);
        }
        let npm = TrustApi::start(opts(&sb.token));
        let ours = TrustApi::start(opts(&sb.token));
        for (name, configs) in packages {
            npm.package(name, configs);
            ours.package(name, configs);
        }
        let npmrc = format!(
            "{}{}",
            Sandbox::token_line(&npm.url(), &sb.token),
            Sandbox::token_line(&ours.url(), &sb.token)
        );
        sb.write(&sb.user_npmrc(), &npmrc);
        Twins { sb, npm, ours }
    }

    /// A package directory for `name` (version 1.0.0) in the sandbox.
    fn package_dir(&self, name: &str) -> PathBuf {
        let dir = format!("pkgs/{}", name.replace(['@', '/'], "_"));
        self.sb
            .package(&dir, &json!({ "name": name, "version": "1.0.0" }), &[])
    }

    /// `trustpub trust <args> --registry <ours>`.
    fn trustpub(&self, args: &[String]) -> Run {
        self.sb
            .trustpub(["trust"])
            .args(args)
            .arg("--registry")
            .arg(self.ours.url())
            .run()
    }

    /// `trustpub trust sync <dir> <wanted> --yes --otp <otp> --pace 0`.
    fn sync(&self, dir: &std::path::Path, wanted: &[String], otp: &str, extra: &[&str]) -> Run {
        let mut a: Vec<String> = vec!["sync".into(), dir.display().to_string()];
        a.extend(wanted.iter().cloned());
        a.extend(
            ["--yes", "--otp", otp, "--pace", "0"]
                .iter()
                .chain(extra)
                .map(|s| s.to_string()),
        );
        self.trustpub(&a)
    }

    /// Our fake's requests since `from`, normalised.
    fn ours_since(&self, from: usize) -> Vec<Norm> {
        self.ours.requests()[from..]
            .iter()
            .map(|r| normalise(r, &self.sb.token))
            .collect()
    }

    /// The normalised GET of `npm trust list <pkg> --json [--otp=<otp>]`
    /// (against npm's fake).
    fn npm_list_get(&self, pkg: &str, otp: Option<&str>) -> Norm {
        let from = self.npm.requests().len();
        npm_trust(
            &self.sb,
            &self.npm,
            &["trust", "list", pkg, "--json"].map(String::from),
            otp,
        )
        .success();
        let reqs = self.npm.requests();
        assert_eq!(reqs.len(), from + 1, "npm trust list makes one request");
        normalise(&reqs[from], &self.sb.token)
    }
}

/// Asserts two request lists are equal, showing both when not. Bodies
/// are compared as JSON and in their key order (`render` writes the keys
/// in the order they were sent; JSON equality ignores it).
fn assert_same(npm: &[Norm], ours: &[Norm], what: &str) {
    assert!(
        npm == ours && render(npm) == render(ours),
        "{what}: trustpub's requests differ from npm's\n--- npm ---\n{}\n--- trustpub ---\n{}",
        render(npm),
        render(ours)
    );
}

/// The package a request is about (its escaped name, from the path).
fn package_of(n: &Norm) -> String {
    n.url
        .strip_prefix("/-/package/")
        .and_then(|r| r.split('/').next())
        .unwrap_or("")
        .to_string()
}

/// Requests grouped by package, in order within each.
fn by_package(reqs: &[Norm]) -> BTreeMap<String, Vec<Norm>> {
    let mut m: BTreeMap<String, Vec<Norm>> = BTreeMap::new();
    for r in reqs {
        m.entry(package_of(r)).or_default().push(r.clone());
    }
    m
}

/// The `--json` report's row for `name`.
fn row<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["packages"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no row for {name} in {report:#}"))
}

// ---------------------------------------------------------------------------
// One package: every kind of change, npm's requests and ours

struct Case {
    what: &'static str,
    before: Option<Wanted>,
    after: Option<Wanted>,
}

fn cases() -> Vec<Case> {
    let gh_env = Wanted::github("acme/mono", "release.yml", Some("npm"));
    let gh = Wanted::github("acme/mono", "release.yaml", None).allow(true, true);
    let gl_env =
        Wanted::gitlab("acme/sub/mono", ".gitlab-ci.yml", Some("production")).allow(false, true);
    let gl = Wanted::gitlab("acme/mono", ".gitlab-ci.yml", None);
    let cci = Wanted::circleci(
        ORG,
        PROJECT,
        PIPELINE,
        "github.com/acme/mono",
        &[CONTEXT_A, CONTEXT_B],
    );
    let cci_plain =
        Wanted::circleci(ORG, PROJECT, PIPELINE, "bitbucket.org/acme/mono", &[]).allow(true, true);
    vec![
        Case {
            what: "create github, environment, publish",
            before: None,
            after: Some(gh_env.clone()),
        },
        Case {
            what: "create github, no environment, publish and stage",
            before: None,
            after: Some(gh.clone()),
        },
        Case {
            what: "create gitlab, environment, stage only",
            before: None,
            after: Some(gl_env.clone()),
        },
        Case {
            what: "create circleci, two contexts",
            before: None,
            after: Some(cci.clone()),
        },
        Case {
            what: "update github: another repository and an environment",
            before: Some(Wanted::github("acme/old", "release.yml", None)),
            after: Some(gh_env.clone()),
        },
        Case {
            what: "update github: the environment dropped",
            before: Some(gh_env.clone()),
            after: Some(Wanted::github("acme/mono", "release.yml", None)),
        },
        Case {
            what: "update github: the stage permission added",
            before: Some(Wanted::github("acme/mono", "release.yml", Some("npm"))),
            after: Some(gh_env.clone().allow(true, true)),
        },
        Case {
            what: "update gitlab → circleci",
            before: Some(gl.clone()),
            after: Some(cci_plain.clone()),
        },
        Case {
            what: "update circleci → gitlab with an environment",
            before: Some(cci.clone()),
            after: Some(gl_env.clone()),
        },
        Case {
            what: "revoke github",
            before: Some(gh_env),
            after: None,
        },
        Case {
            what: "revoke circleci",
            before: Some(cci),
            after: None,
        },
    ]
}

#[test]
fn one_package_every_change_matches_npm() {
    for case in cases() {
        for pkg in ["@acme/core", "solo"] {
            one_change(&case, pkg);
        }
    }
}

fn one_change(case: &Case, pkg: &str) {
    let what = format!("{} ({pkg})", case.what);
    let configs: Vec<Value> = case
        .before
        .iter()
        .map(|w| seeded("seeded-0001", w))
        .collect();
    let t = Twins::new(
        |token| Options::new(token).codes(&[OTP]),
        &[(pkg, configs), ("@acme/bystander", vec![])],
    );
    let change = match (&case.before, &case.after) {
        (None, Some(w)) => Change::Create(w.clone()),
        (Some(_), Some(w)) => Change::Update(w.clone()),
        (_, None) => Change::Revoke,
    };
    let theirs = npm_change(&t.sb, &t.npm, pkg, &change, Some(OTP));

    let dir = t.package_dir(pkg);
    let run = t.sync(&dir, &wanted_flags(case.after.as_ref()), OTP, &["--json"]);
    run.success();
    let ours = t.ours_since(0);
    assert_same(&mutations(&theirs), &mutations(&ours), &what);
    assert_eq!(
        t.npm.all_configs(),
        t.ours.all_configs(),
        "{what}: the fakes' end states"
    );
    let expected: Vec<Value> = case.after.iter().map(Wanted::body).collect();
    assert_eq!(
        without_ids(&t.ours.all_configs())[pkg],
        expected,
        "{what}: the end state"
    );
    // Our read is npm's `list` with the same code; it comes before any
    // change, and it is the only read.
    let gets: Vec<&Norm> = ours.iter().filter(|n| n.method == "GET").collect();
    assert_eq!(gets.len(), 1, "{what}: one read\n{}", render(&ours));
    assert_eq!(ours[0].method, "GET", "{what}: read first");
    assert_same(&[t.npm_list_get(pkg, Some(OTP))], &[gets[0].clone()], &what);
    // The report.
    let report = run.json();
    let r = row(&report, pkg);
    let action = match change {
        Change::Create(_) => "create",
        Change::Update(_) => "replace",
        Change::Revoke => "revoke",
    };
    assert_eq!(r["action"], action, "{what}: {report:#}");
    assert_eq!(r["result"], "done", "{what}: {report:#}");
    assert!(
        t.ours
            .requests()
            .iter()
            .all(|r| !r.url.contains("bystander")),
        "{what}: a package not asked about was touched: {:?}",
        t.ours.summary()
    );
}

/// `trustpub trust list`'s GET is `npm trust list`'s, with a code and
/// without, and its `--json` `current` is what npm's `list --json` prints
/// (same keys, same order), for each provider, for none, and for a type
/// npm does not know.
#[test]
fn list_matches_npm_list() {
    let cci = Wanted::circleci(ORG, PROJECT, PIPELINE, "github.com/acme/mono", &[CONTEXT_A])
        .allow(true, true);
    let gh = Wanted::github("acme/mono", "release.yml", Some("npm"));
    let gl = Wanted::gitlab("acme/sub/mono", ".gitlab-ci.yml", None).allow(false, true);
    let unknown = json!({
        "id": "bk-1",
        "type": "buildkite",
        "claims": { "organization_slug": "acme" },
        "permissions": ["createPackage"],
    });
    let seeds: Vec<Vec<Value>> = vec![
        vec![seeded("cfg-1", &cci)],
        vec![seeded("cfg-2", &gh)],
        vec![seeded("cfg-3", &gl)],
        vec![],
        vec![unknown],
    ];
    for configs in seeds {
        let pkg = "@acme/core";
        let t = Twins::new(
            |token| Options::new(token).codes(&[OTP]),
            &[(pkg, configs.clone())],
        );
        let dir = t.package_dir(pkg);
        for otp in [None, Some(OTP)] {
            let from = t.ours.requests().len();
            let mut args: Vec<String> =
                vec!["list".into(), dir.display().to_string(), "--json".into()];
            if let Some(o) = otp {
                args.extend(["--otp".into(), o.into()]);
            }
            let run = t.trustpub(&args);
            run.success();
            let ours = t.ours_since(from);
            assert_same(&[t.npm_list_get(pkg, otp)], &ours, "list");
            let report = run.json();
            let current = row(&report, pkg)["current"].clone();
            let npm = npm_trust(
                &t.sb,
                &t.npm,
                &["trust", "list", pkg, "--json"].map(String::from),
                None,
            );
            npm.success();
            let theirs: Vec<Value> = serde_json::Deserializer::from_str(npm.stdout())
                .into_iter::<Value>()
                .map(|v| v.expect("npm's JSON"))
                .collect();
            let theirs = Value::from(theirs);
            assert!(
                current == theirs && serde_json::to_string(&current).ok() == serde_json::to_string(&theirs).ok(),
                "list --json: `current` is not npm's for {configs:?}\nnpm: {theirs}\nours: {current}"
            );
        }
        assert!(t.ours.mutations().is_empty());
    }
}

// ---------------------------------------------------------------------------
// A workspace

const WS: [&str; 6] = [
    "@acme/a", "@acme/b", "@acme/c", "@acme/d", "@acme/e", "@acme/f",
];

fn wanted_ws() -> Wanted {
    Wanted::github("acme/mono", "release.yml", Some("npm"))
}

/// The registry before: a and e have nothing (create), b is as wanted
/// (unchanged), c has another repository, d no environment, f only the
/// stage permission (replace); `@acme/outside` is on the registry and not
/// in the workspace.
fn ws_registry() -> Vec<(&'static str, Vec<Value>)> {
    let w = wanted_ws();
    vec![
        ("@acme/a", vec![]),
        ("@acme/b", vec![seeded("b-1", &w)]),
        (
            "@acme/c",
            vec![seeded(
                "c-1",
                &Wanted::github("acme/old", "release.yml", Some("npm")),
            )],
        ),
        (
            "@acme/d",
            vec![seeded(
                "d-1",
                &Wanted::github("acme/mono", "release.yml", None),
            )],
        ),
        ("@acme/e", vec![]),
        (
            "@acme/f",
            vec![seeded("f-1", &w.clone().allow(false, true))],
        ),
        (
            "@acme/outside",
            vec![seeded("o-1", &Wanted::github("acme/other", "ci.yml", None))],
        ),
    ]
}

/// What npm does for the same result, package by package.
fn ws_plan() -> Vec<(&'static str, Change)> {
    let w = wanted_ws();
    vec![
        ("@acme/a", Change::Create(w.clone())),
        ("@acme/c", Change::Update(w.clone())),
        ("@acme/d", Change::Update(w.clone())),
        ("@acme/e", Change::Create(w.clone())),
        ("@acme/f", Change::Update(w)),
    ]
}

fn workspace(t: &Twins) -> PathBuf {
    let mut spec = Spec::new(Pm::Npm);
    for name in WS {
        spec = spec.package(Pkg::new(name, "1.0.0"));
    }
    spec.write(&t.sb.root.join("mono")).root
}

#[test]
fn workspace_synced_in_one_run_like_npm_then_idempotent() {
    let t = Twins::new(|token| Options::new(token).codes(&[OTP]), &ws_registry());
    let theirs = npm_changes(&t.sb, &t.npm, &ws_plan(), Some(OTP));
    let root = workspace(&t);
    let run = t.sync(
        &root,
        &wanted_flags(Some(&wanted_ws())),
        OTP,
        &["--workspaces", "--json"],
    );
    run.success();
    let ours = t.ours_since(0);
    assert_eq!(
        by_package(&mutations(&theirs)),
        by_package(&mutations(&ours)),
        "per-package mutations differ from npm's\n--- npm ---\n{}\n--- trustpub ---\n{}",
        render(&mutations(&theirs)),
        render(&mutations(&ours))
    );
    assert_eq!(
        without_ids(&t.npm.all_configs()),
        without_ids(&t.ours.all_configs()),
        "the end states"
    );
    // Everything is read before anything changes; one read per package.
    let first_mutation = ours.iter().position(|n| n.method != "GET").unwrap();
    assert!(
        ours[first_mutation..].iter().all(|n| n.method != "GET"),
        "{}",
        render(&ours)
    );
    assert_eq!(first_mutation, WS.len(), "{}", render(&ours));
    let report = run.json();
    for (name, action) in [
        ("@acme/a", "create"),
        ("@acme/b", "unchanged"),
        ("@acme/c", "replace"),
        ("@acme/d", "replace"),
        ("@acme/e", "create"),
        ("@acme/f", "replace"),
    ] {
        assert_eq!(row(&report, name)["action"], action, "{name}: {report:#}");
    }
    assert_eq!(report["stopped"], Value::Null);
    // Never touched: not in the workspace.
    assert!(
        t.ours.requests().iter().all(|r| !r.url.contains("outside")),
        "{:?}",
        t.ours.summary()
    );
    assert_eq!(t.ours.configs("@acme/outside").unwrap()[0]["id"], "o-1");

    // Idempotent: the second run reads and changes nothing.
    let from = t.ours.requests().len();
    let again = t.sync(
        &root,
        &wanted_flags(Some(&wanted_ws())),
        OTP,
        &["--workspaces", "--json"],
    );
    again.success();
    let second = t.ours_since(from);
    assert!(mutations(&second).is_empty(), "{}", render(&second));
    assert_eq!(second.len(), WS.len());
    let report = again.json();
    for name in WS {
        assert_eq!(row(&report, name)["action"], "unchanged", "{report:#}");
    }
}

/// `-w` selects; the other members are neither read nor changed.
#[test]
fn only_the_selected_packages_are_touched() {
    let t = Twins::new(|token| Options::new(token).codes(&[OTP]), &ws_registry());
    let root = workspace(&t);
    let before = t.ours.all_configs();
    t.sync(
        &root,
        &wanted_flags(None),
        OTP,
        &["--workspace", "@acme/c", "--workspace", "@acme/f"],
    )
    .success();
    let touched: Vec<String> = t
        .ours_since(0)
        .iter()
        .map(package_of)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        touched,
        ["@acme%2fc", "@acme%2ff"],
        "{:?}",
        t.ours.summary()
    );
    let after = t.ours.all_configs();
    for (name, configs) in &before {
        if name == "@acme/c" || name == "@acme/f" {
            assert_eq!(after[name], Vec::<Value>::new(), "{name} revoked");
        } else {
            assert_eq!(&after[name], configs, "{name} untouched");
        }
    }
}

/// Without `--yes` and without a terminal nothing changes (exit 2); a dry
/// run (exit 0) and `diff` (exit 1: something differs) read and change
/// nothing; after a sync, `diff` exits 0.
#[test]
fn no_change_without_yes_with_dry_run_or_diff() {
    let t = Twins::new(|token| Options::new(token).codes(&[OTP]), &ws_registry());
    let root = workspace(&t);
    let flags = wanted_flags(Some(&wanted_ws()));
    let mut args: Vec<String> = vec!["sync".into(), root.display().to_string()];
    args.extend(flags.iter().cloned());
    args.extend(["--workspaces", "--otp", OTP, "--pace", "0"].map(String::from));
    t.trustpub(&args)
        .expect_code(2)
        .stderr_has("there is no terminal to ask");
    assert!(
        t.ours.requests().is_empty(),
        "refused before any request: {:?}",
        t.ours.summary()
    );
    t.sync(&root, &flags, OTP, &["--workspaces", "--dry-run"])
        .expect_code(0);
    assert!(t.ours.mutations().is_empty(), "{:?}", t.ours.summary());
    let diff = |code: i32| {
        let mut args: Vec<String> = vec!["diff".into(), root.display().to_string()];
        args.extend(flags.iter().cloned());
        args.push("--workspaces".into());
        t.trustpub(&args).expect_code(code);
    };
    diff(1);
    assert!(t.ours.mutations().is_empty(), "{:?}", t.ours.summary());
    t.sync(&root, &flags, OTP, &["--workspaces"]).success();
    diff(0);
    assert_all_wanted(&t.ours);
}

// ---------------------------------------------------------------------------
// Failures and resumption

/// Each selected package's `result` in a `--json` report.
fn results(report: &Value) -> BTreeMap<String, String> {
    WS.iter()
        .map(|n| {
            let r = row(report, n)["result"].as_str().unwrap_or("?").to_string();
            (n.to_string(), r)
        })
        .collect()
}

fn expect_results(report: &Value, expected: &[(&str, &str)]) {
    let want: BTreeMap<String, String> = expected
        .iter()
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect();
    assert_eq!(results(report), want, "{report:#}");
}

/// Every member of the workspace holds the wanted configuration.
fn assert_all_wanted(api: &TrustApi) {
    let all = without_ids(&api.all_configs());
    for name in WS {
        assert_eq!(all[name], vec![wanted_ws().body()], "{name}");
    }
}

/// How many POSTs and DELETEs the fake accepted (2xx) so far.
fn accepted(api: &TrustApi) -> (usize, usize) {
    let count = |method: &str| {
        api.exchanges()
            .iter()
            .filter(|e| e.request.method == method && (200..300).contains(&e.status))
            .count()
    };
    (count("POST"), count("DELETE"))
}

/// A 503 to c's POST after its DELETE went through (the registry
/// failing): the run stops there (exit 1): a is done, c is partly done
/// (no configuration now, and the hint says so), d, e and f are left; the
/// next run sends exactly what is missing.
#[test]
fn resumes_after_a_503_between_delete_and_post() {
    let t = Twins::new(|token| Options::new(token).codes(&[OTP]), &ws_registry());
    let root = workspace(&t);
    t.ours
        .fail_next(Fault::new("POST", &trust_path("@acme/c"), 503));
    let flags = wanted_flags(Some(&wanted_ws()));
    let run = t.sync(&root, &flags, OTP, &["--workspaces", "--json"]);
    run.expect_code(1);
    assert_eq!(
        t.ours.configs("@acme/c"),
        Some(vec![]),
        "revoked, not created"
    );
    let report = run.json();
    // A 503 to the create: whether the registry made it is not known.
    expect_results(
        &report,
        &[
            ("@acme/a", "done"),
            ("@acme/b", "not-applied"),
            ("@acme/c", "unknown"),
            ("@acme/d", "left"),
            ("@acme/e", "left"),
            ("@acme/f", "left"),
        ],
    );
    assert!(report["stopped"].is_string(), "{report:#}");
    let hint = row(&report, "@acme/c")["hint"].as_str().unwrap_or("");
    assert!(
        hint.contains("NO trusted publisher now") && hint.contains("the same command again"),
        "{report:#}"
    );

    let from = t.ours.requests().len();
    let again = t.sync(&root, &flags, OTP, &["--workspaces", "--json"]);
    again.success();
    let second = by_package(&mutations(&t.ours_since(from)));
    let shape = |pkg: &str| -> Vec<String> {
        second
            .get(pkg)
            .map(|v| v.iter().map(|n| n.method.clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(shape("@acme%2fa"), Vec::<String>::new());
    assert_eq!(shape("@acme%2fc"), ["POST"], "only c's create is left");
    assert_eq!(shape("@acme%2fd"), ["DELETE", "POST"]);
    assert_eq!(shape("@acme%2fe"), ["POST"]);
    assert_eq!(shape("@acme%2ff"), ["DELETE", "POST"]);
    assert_all_wanted(&t.ours);
    assert_eq!(
        accepted(&t.ours),
        (5, 3),
        "each change made once: {:?}",
        t.ours.summary()
    );
}

/// A refusal of one package's POST (a 409 after its DELETE: someone
/// created one in between) fails that package only; the others go on; the
/// next run reads again and finishes it.
#[test]
fn one_package_refused_the_others_go_on() {
    let t = Twins::new(|token| Options::new(token).codes(&[OTP]), &ws_registry());
    let root = workspace(&t);
    t.ours
        .fail_next(Fault::new("POST", &trust_path("@acme/c"), 409));
    let flags = wanted_flags(Some(&wanted_ws()));
    let run = t.sync(&root, &flags, OTP, &["--workspaces", "--json"]);
    run.expect_code(1);
    let report = run.json();
    expect_results(
        &report,
        &[
            ("@acme/a", "done"),
            ("@acme/b", "not-applied"),
            ("@acme/c", "partly"),
            ("@acme/d", "done"),
            ("@acme/e", "done"),
            ("@acme/f", "done"),
        ],
    );
    let from = t.ours.requests().len();
    t.sync(&root, &flags, OTP, &["--workspaces"]).success();
    let second = mutations(&t.ours_since(from));
    assert_eq!(
        second
            .iter()
            .map(|n| (n.method.as_str(), n.url.as_str()))
            .collect::<Vec<_>>(),
        [("POST", trust_path("@acme/c").as_str())],
        "{}",
        render(&second)
    );
    assert_all_wanted(&t.ours);
}

/// The code runs out after four mutations (a's create, c's replace, d's
/// revoke): the run stops at the challenge to d's create (exit 1), never
/// resending with the stale code, with d partly done and e and f left;
/// the old code is refused; the same command with a new code finishes, and
/// sends only what was left.
#[test]
fn a_code_that_runs_out_stops_the_run_and_a_new_one_finishes() {
    let t = Twins::new(
        |token| {
            Options::new(token)
                .codes(&[OTP])
                .skip_window(std::time::Duration::from_secs(300))
                .codes_expire_after(4)
        },
        &ws_registry(),
    );
    let root = workspace(&t);
    let flags = wanted_flags(Some(&wanted_ws()));
    let run = t.sync(&root, &flags, OTP, &["--workspaces", "--json"]);
    run.expect_code(1);
    let report = run.json();
    assert!(report["stopped"].is_string(), "{report:#}");
    expect_results(
        &report,
        &[
            ("@acme/a", "done"),
            ("@acme/b", "not-applied"),
            ("@acme/c", "done"),
            ("@acme/d", "partly"),
            ("@acme/e", "left"),
            ("@acme/f", "left"),
        ],
    );
    let challenges = || {
        t.ours
            .exchanges()
            .iter()
            .filter(|e| e.status == 401)
            .count()
    };
    assert_eq!(
        challenges(),
        1,
        "one challenge, then stop: {:?}",
        t.ours.summary()
    );

    // The expired code is refused again, and nothing changes.
    let before = t.ours.all_configs();
    t.sync(&root, &flags, OTP, &["--workspaces"]).expect_code(1);
    assert_eq!(t.ours.all_configs(), before);
    assert_eq!(challenges(), 2, "{:?}", t.ours.summary());

    t.ours.set_codes(&[OTP2]);
    let from = t.ours.requests().len();
    t.sync(&root, &flags, OTP2, &["--workspaces"]).success();
    let sent = mutations(&t.ours_since(from));
    assert!(
        sent.iter()
            .all(|n| n.headers.get("npm-otp").map(String::as_str) == Some(OTP2)),
        "{}",
        render(&sent)
    );
    assert_eq!(
        sent.iter()
            .map(|n| (n.method.as_str(), package_of(n)))
            .collect::<Vec<_>>(),
        [
            ("POST", "@acme%2fd".to_string()),
            ("POST", "@acme%2fe".to_string()),
            ("DELETE", "@acme%2ff".to_string()),
            ("POST", "@acme%2ff".to_string()),
        ],
        "{}",
        render(&sent)
    );
    assert_all_wanted(&t.ours);
    assert_eq!(accepted(&t.ours), (5, 3), "{:?}", t.ours.summary());
}

/// A 429 is waited out for its `Retry-After` and sent again.
#[test]
fn a_429_is_honoured() {
    let t = Twins::new(
        |token| Options::new(token).codes(&[OTP]),
        &[("@acme/a", vec![])],
    );
    t.ours
        .fail_next(Fault::new("POST", &trust_path("@acme/a"), 429).header("retry-after", "1"));
    let dir = t.package_dir("@acme/a");
    t.sync(&dir, &wanted_flags(Some(&wanted_ws())), OTP, &[])
        .success();
    let posts: Vec<_> = t
        .ours
        .exchanges()
        .into_iter()
        .filter(|e| e.request.method == "POST")
        .collect();
    let statuses: Vec<u16> = posts.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [429, 201], "{:?}", t.ours.summary());
    assert!(
        posts[1].at - posts[0].at >= std::time::Duration::from_secs(1),
        "sent again after {:?}, before the Retry-After of 1 s",
        posts[1].at - posts[0].at
    );
    assert_eq!(t.ours.configs("@acme/a").unwrap()[0]["id"], config_id(1));
}

// ---------------------------------------------------------------------------
// The configuration read from the CI files

/// One job per package (`working-directory`), the GitHub repository from
/// the `origin` remote: a publishes from the `npm` environment, b stages
/// from it, c publishes without an environment.
const RELEASE_YML: &str = "on:
  push:
    tags: ['*']
permissions:
  contents: read
  id-token: write
jobs:
  a:
    runs-on: ubuntu-latest
    environment: npm
    defaults:
      run:
        working-directory: packages/a
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-node@v5
        with:
          node-version: 24
      - run: npx trustpub publish
  b:
    runs-on: ubuntu-latest
    environment:
      name: npm
    defaults:
      run:
        working-directory: packages/b
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-node@v5
        with:
          node-version: 24
      - run: npx trustpub publish --stage
  c:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: packages/c
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-node@v5
        with:
          node-version: 24
      - run: npm publish
";

/// Without any WANTED flag, `sync` configures what the release workflow
/// needs, and sends what npm sends when told the same values by hand.
#[test]
fn the_workflow_decides_and_the_requests_are_npms() {
    let t = Twins::new(
        |token| Options::new(token).codes(&[OTP]),
        &[
            ("@acme/a", vec![]),
            ("@acme/b", vec![]),
            ("@acme/c", vec![]),
        ],
    );
    let mut spec = Spec::new(Pm::Npm);
    for name in ["@acme/a", "@acme/b", "@acme/c"] {
        spec = spec.package(Pkg::new(name, "1.0.0"));
    }
    let root = spec.write(&t.sb.root.join("mono")).root;
    t.sb.write(
        &root.join(".git/config"),
        "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = https://github.com/acme/mono.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
    );
    t.sb.write(&root.join(".git/HEAD"), "ref: refs/heads/main\n");
    t.sb.write(&root.join(".github/workflows/release.yml"), RELEASE_YML);
    let plan = [
        (
            "@acme/a",
            Change::Create(Wanted::github("acme/mono", "release.yml", Some("npm"))),
        ),
        (
            "@acme/b",
            Change::Create(
                Wanted::github("acme/mono", "release.yml", Some("npm")).allow(false, true),
            ),
        ),
        (
            "@acme/c",
            Change::Create(Wanted::github("acme/mono", "release.yml", None)),
        ),
    ];
    let theirs = npm_changes(&t.sb, &t.npm, &plan, Some(OTP));
    let run = t.sync(&root, &[], OTP, &["--workspaces", "--json"]);
    run.success();
    let ours = t.ours_since(0);
    let (a, b) = (
        by_package(&mutations(&theirs)),
        by_package(&mutations(&ours)),
    );
    for (pkg, reqs) in &a {
        assert_same(reqs, b.get(pkg).map(Vec::as_slice).unwrap_or(&[]), pkg);
    }
    assert_eq!(a.len(), b.len(), "{}", render(&ours));
    assert_eq!(t.npm.all_configs(), t.ours.all_configs());
    let report = run.json();
    for name in ["@acme/a", "@acme/b", "@acme/c"] {
        let from = row(&report, name)["from"].as_str().unwrap_or("");
        assert!(from.contains("release.yml"), "{name}: {report:#}");
    }
}

/// A registry answer that echoes the token and the code (a careless proxy
/// or error page) is printed without them, by every subcommand and in
/// `--json`; the sandbox fails the run if either shows anywhere.
#[test]
fn secrets_echoed_by_the_registry_are_never_printed() {
    let t = Twins::new(
        |token| Options::new(token).codes(&[OTP]),
        &[("@acme/a", vec![])],
    );
    let dir = t.package_dir("@acme/a");
    let echo = format!("bad request from Bearer {} with npm-otp {OTP}", t.sb.token);
    let flags = wanted_flags(Some(&wanted_ws()));
    for json in [false, true] {
        t.ours
            .fail_next(Fault::new("POST", &trust_path("@acme/a"), 400).message(&echo));
        let extra: &[&str] = if json { &["--json"] } else { &[] };
        let run = t.sync(&dir, &flags, OTP, extra);
        run.expect_code(1);
        assert!(
            run.stdout().contains("bad request from") || run.stderr().contains("bad request from"),
            "the registry's message is shown (without the secrets):\n{}",
            run.describe
        );
    }
    // (A 403: a 5xx to a read is retried, as npm retries it.)
    t.ours
        .fail_next(Fault::new("GET", &trust_path("@acme/a"), 403).message(&echo));
    let list = t.trustpub(&[
        "list".into(),
        dir.display().to_string(),
        "--otp".into(),
        OTP.into(),
    ]);
    assert_ne!(list.code(), Some(0), "{}", list.describe);
    assert_eq!(t.ours.configs("@acme/a"), Some(vec![]));
}

/// `--pace` seconds between two mutations (npm's docs advise 2 s; the
/// default). Only a lower bound is checked.
#[test]
fn mutations_are_paced() {
    let old = Wanted::github("acme/old", "release.yml", Some("npm"));
    let t = Twins::new(
        |token| Options::new(token).codes(&[OTP]),
        &[("@acme/a", vec![]), ("@acme/c", vec![seeded("c-1", &old)])],
    );
    let mut spec = Spec::new(Pm::Npm);
    for name in ["@acme/a", "@acme/c"] {
        spec = spec.package(Pkg::new(name, "1.0.0"));
    }
    let root = spec.write(&t.sb.root.join("mono")).root;
    let mut args: Vec<String> = vec!["sync".into(), root.display().to_string()];
    args.extend(wanted_flags(Some(&wanted_ws())));
    args.extend(["--workspaces", "--yes", "--otp", OTP, "--pace", "1"].map(String::from));
    t.trustpub(&args).success();
    let times: Vec<std::time::Duration> = t
        .ours
        .exchanges()
        .iter()
        .filter(|e| e.request.method != "GET")
        .map(|e| e.at)
        .collect();
    assert_eq!(times.len(), 3, "{:?}", t.ours.summary());
    for w in times.windows(2) {
        assert!(
            w[1] - w[0] >= std::time::Duration::from_secs(1),
            "two mutations {:?} apart with --pace 1",
            w[1] - w[0]
        );
    }
}

/// Without `--otp`: outside a skip window the first mutation is
/// challenged and the run stops (exit 1, nothing changed), as npm fails
/// with EOTP; inside the window opened by an earlier code, trustpub and
/// npm both go through without one, with the same requests (`npm-auth-type:
/// web`, no `npm-otp`).
#[test]
fn without_otp_outside_and_inside_the_skip_window() {
    let t = Twins::new(
        |token| {
            Options::new(token)
                .codes(&[OTP])
                .skip_window(std::time::Duration::from_secs(300))
        },
        &[("@acme/a", vec![]), ("@acme/e", vec![])],
    );
    let (a, e) = (t.package_dir("@acme/a"), t.package_dir("@acme/e"));
    let w = wanted_ws();
    let flags = wanted_flags(Some(&w));
    let sync_without_otp = |dir: &std::path::Path| {
        let mut args: Vec<String> = vec!["sync".into(), dir.display().to_string()];
        args.extend(flags.iter().cloned());
        args.extend(["--yes", "--pace", "0", "--json"].map(String::from));
        t.trustpub(&args)
    };
    let run = sync_without_otp(&e);
    run.expect_code(1);
    assert!(run.json()["stopped"].is_string(), "{}", run.describe);
    assert_eq!(t.ours.configs("@acme/e"), Some(vec![]));
    let statuses: Vec<u16> = t.ours.exchanges().iter().map(|x| x.status).collect();
    assert_eq!(
        statuses,
        [200, 401],
        "one read, one challenged POST, then stop"
    );
    let npm_refused = npm_trust(&t.sb, &t.npm, &w.npm_args("@acme/e"), None);
    npm_refused.expect_code(1).stderr_has("code EOTP");

    // A code opens the window (a); then e goes through without one.
    let theirs = npm_changes(
        &t.sb,
        &t.npm,
        &[("@acme/a", Change::Create(w.clone()))],
        Some(OTP),
    );
    let theirs_e = npm_changes(
        &t.sb,
        &t.npm,
        &[("@acme/e", Change::Create(w.clone()))],
        None,
    );
    let from = t.ours.requests().len();
    t.sync(&a, &flags, OTP, &[]).success();
    let mid = t.ours.requests().len();
    sync_without_otp(&e).success();
    let ours = mutations(&t.ours_since(from));
    let ours_e = mutations(&t.ours_since(mid));
    assert_same(&mutations(&theirs), &ours[..1], "with the code");
    assert_same(&mutations(&theirs_e), &ours_e, "inside the window, no code");
    assert_eq!(
        ours_e[0].headers.get("npm-auth-type").map(String::as_str),
        Some("web")
    );
    assert_eq!(
        without_ids(&t.npm.all_configs()),
        without_ids(&t.ours.all_configs())
    );
}

/// A member the registry does not have (a 404 on its read, as for npm)
/// cannot be configured: its row says so, the others are synced, exit 1.
#[test]
fn a_package_not_on_the_registry_cannot_be_configured() {
    let t = Twins::new(
        |token| Options::new(token).codes(&[OTP]),
        &[("@acme/a", vec![])],
    );
    let mut spec = Spec::new(Pm::Npm);
    for name in ["@acme/a", "@acme/new"] {
        spec = spec.package(Pkg::new(name, "1.0.0"));
    }
    let root = spec.write(&t.sb.root.join("mono")).root;
    let npm = npm_trust(&t.sb, &t.npm, &wanted_ws().npm_args("@acme/new"), Some(OTP));
    npm.expect_code(1).stderr_has("code E404");
    let run = t.sync(
        &root,
        &wanted_flags(Some(&wanted_ws())),
        OTP,
        &["--workspaces", "--json"],
    );
    run.expect_code(1);
    let report = run.json();
    assert_eq!(row(&report, "@acme/new")["action"], "cannot", "{report:#}");
    assert_eq!(row(&report, "@acme/a")["result"], "done", "{report:#}");
    let sent = mutations(&t.ours_since(0));
    assert!(
        sent.iter().all(|n| package_of(n) == "@acme%2fa"),
        "{}",
        render(&sent)
    );
    assert_eq!(t.ours.configs("@acme/new"), None);
}

/// A registry that keeps answering 429 is given up on after five retries:
/// the run stops (exit 1) and nothing was changed.
#[test]
fn a_registry_that_keeps_rate_limiting_stops_the_run() {
    let t = Twins::new(
        |token| Options::new(token).codes(&[OTP]),
        &[("@acme/a", vec![])],
    );
    for _ in 0..6 {
        t.ours
            .fail_next(Fault::new("POST", &trust_path("@acme/a"), 429).header("retry-after", "0"));
    }
    let dir = t.package_dir("@acme/a");
    let run = t.sync(&dir, &wanted_flags(Some(&wanted_ws())), OTP, &["--json"]);
    run.expect_code(1);
    let stopped = run.json()["stopped"].as_str().unwrap_or("").to_string();
    assert!(stopped.contains("429"), "{}", run.describe);
    let posts = t.ours.mutations().len();
    assert_eq!(
        posts,
        6,
        "the first try and five retries: {:?}",
        t.ours.summary()
    );
    assert_eq!(t.ours.configs("@acme/a"), Some(vec![]));
}

/// A token the registry refuses: npm fails, and trustpub stops without a
/// single mutation (exit 1).
#[test]
fn a_refused_token_changes_nothing() {
    let t = Twins::new(
        |_| Options::new("npm_SomeoneElsesToken0123456789").codes(&[OTP]),
        &[("@acme/a", vec![]), ("@acme/b", vec![])],
    );
    let npm = npm_trust(&t.sb, &t.npm, &wanted_ws().npm_args("@acme/a"), Some(OTP));
    npm.expect_code(1).stderr_has("401");
    let mut spec = Spec::new(Pm::Npm);
    for name in ["@acme/a", "@acme/b"] {
        spec = spec.package(Pkg::new(name, "1.0.0"));
    }
    let root = spec.write(&t.sb.root.join("mono")).root;
    let run = t.sync(
        &root,
        &wanted_flags(Some(&wanted_ws())),
        OTP,
        &["--workspaces"],
    );
    run.expect_code(1);
    assert!(t.ours.mutations().is_empty(), "{:?}", t.ours.summary());
    assert!(
        t.ours.exchanges().iter().all(|e| e.status == 401),
        "{:?}",
        t.ours.summary()
    );
}

/// A known difference, pinned: `npm trust` calls npm-registry-fetch
/// without the package spec, so it always talks to the default `registry`
/// and ignores `@scope:registry` and `publishConfig.registry`; trustpub
/// talks to the registry the package is published to (as `publish` picks
/// it). Both are shown here so that a change on either side is noticed.
#[test]
fn npm_trust_ignores_the_scope_registry_trustpub_follows_it() {
    let t = Twins::new(
        |token| Options::new(token).codes(&[OTP]),
        &[("@acme/a", vec![]), ("plain", vec![])],
    );
    // The default registry is npm's fake; @acme's registry is ours.
    let npmrc = format!(
        "registry={}\n@acme:registry={}\n{}{}",
        t.npm.url(),
        t.ours.url(),
        Sandbox::token_line(&t.npm.url(), &t.sb.token),
        Sandbox::token_line(&t.ours.url(), &t.sb.token)
    );
    t.sb.write(&t.sb.user_npmrc(), &npmrc);
    let scoped = t.package_dir("@acme/a");
    let plain = t.sb.package(
        "pkgs/plain",
        &json!({ "name": "plain", "version": "1.0.0", "publishConfig": { "registry": t.ours.url() } }),
        &[],
    );
    let w = wanted_ws();
    for (name, dir) in [("@acme/a", &scoped), ("plain", &plain)] {
        // npm, run in the package directory, without --registry.
        t.sb.npm(w.npm_args(name))
            .arg(format!("--otp={OTP}"))
            .cwd(dir)
            .run()
            .success();
        let mut args: Vec<String> = vec!["trust".into(), "sync".into(), dir.display().to_string()];
        args.extend(wanted_flags(Some(&w)));
        args.extend(["--yes", "--otp", OTP, "--pace", "0"].map(String::from));
        t.sb.trustpub(&args).run().success();
        assert_eq!(
            without_ids(&t.npm.all_configs())[name],
            vec![w.body()],
            "npm configured {name} on the default registry"
        );
        assert_eq!(
            without_ids(&t.ours.all_configs())[name],
            vec![w.body()],
            "trustpub configured {name} where it is published"
        );
    }
    assert!(
        t.npm.requests().iter().all(|r| r.method == "POST"),
        "{:?}",
        t.npm.summary()
    );
    assert!(
        t.ours.requests().iter().all(|r| r
            .header("user-agent")
            .is_some_and(|u| u.starts_with("trustpub/"))),
        "{:?}",
        t.ours.summary()
    );
}

/// A registry URL with a path (`…/npm/`) and an id full of characters
/// `encodeURIComponent` escapes (and some it keeps): the same paths as
/// npm's for a replace.
#[test]
fn registry_path_and_odd_ids_match_npm() {
    let id = "cfg/1:+ x?&=#é!*'()~";
    let old = Wanted::gitlab("acme/mono", ".gitlab-ci.yml", None);
    let t = Twins::new(
        |token| Options::new(token).codes(&[OTP]).base_path("/npm"),
        &[("@acme/a", vec![seeded(id, &old)])],
    );
    let w = wanted_ws();
    let theirs = npm_change(
        &t.sb,
        &t.npm,
        "@acme/a",
        &Change::Update(w.clone()),
        Some(OTP),
    );
    let dir = t.package_dir("@acme/a");
    t.sync(&dir, &wanted_flags(Some(&w)), OTP, &[]).success();
    let ours = t.ours_since(0);
    assert_same(&mutations(&theirs), &mutations(&ours), "path and id");
    assert_eq!(
        mutations(&ours)[0].url,
        "/npm/-/package/@acme%2fa/trust/cfg%2F1%3A%2B%20x%3F%26%3D%23%C3%A9!*'()~"
    );
    assert_eq!(t.npm.all_configs(), t.ours.all_configs());
    assert_eq!(
        without_ids(&t.ours.all_configs())["@acme/a"],
        vec![w.body()]
    );
}
