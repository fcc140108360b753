//! `trustpub publish --workspaces` end to end (issue #13): a workspace of a
//! dozen packages published through the OIDC fakes into the real Verdaccio
//! (`support::oidc_fakes`): every check before the first upload, the
//! readiness table, dependency order, an injected upload failure and the
//! re-run that publishes exactly what is missing, new packages, a
//! dependency cycle, `--changesets`, `$GITHUB_OUTPUT` and the step summary.
//! Every run is checked for leaked secrets.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

use crate::support::oidc_fakes::{unique_name, ExchangeProxy, OidcIssuer, TrustPolicy};
use crate::support::sandbox::{assert_no_leak, Run, Sandbox, Tp};
use crate::support::verdaccio;

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

/// One member: its short name, its workspace dependencies
/// (`(field, short name)`), private or not.
pub(crate) struct Spec {
    pub(crate) short: &'static str,
    pub(crate) deps: &'static [(&'static str, &'static str)],
    pub(crate) private: bool,
}

pub(crate) const fn member(
    short: &'static str,
    deps: &'static [(&'static str, &'static str)],
) -> Spec {
    Spec {
        short,
        deps,
        private: false,
    }
}

/// A workspace in a sandbox, its packages named `<prefix>-<short>`, with
/// the OIDC issuer and the exchange proxy in front of Verdaccio.
pub(crate) struct Ws {
    pub(crate) sb: Sandbox,
    pub(crate) issuer: OidcIssuer,
    pub(crate) proxy: ExchangeProxy,
    pub(crate) prefix: String,
    pub(crate) root: PathBuf,
    pub(crate) summary: PathBuf,
    pub(crate) output: PathBuf,
}

/// How the members refer to each other and to outside packages.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Flavor {
    /// npm: plain ranges (`^1.0.0`).
    Npm,
    /// pnpm: `workspace:^` dependencies, `workspace:*` peers,
    /// `workspace:~` optional dependencies, and two catalogs
    /// (`left-pad: catalog:`, `ms: catalog:legacy`).
    Pnpm,
}

impl Ws {
    pub(crate) fn new(label: &str, specs: &[Spec]) -> Ws {
        Ws::with(label, specs, Flavor::Npm)
    }

    pub(crate) fn with(label: &str, specs: &[Spec], flavor: Flavor) -> Ws {
        let issuer = OidcIssuer::github();
        let proxy = ExchangeProxy::start(&[&issuer]);
        let sb = Sandbox::new();
        sb.add_secret(&issuer.request_token());
        // A unique prefix of fixed length, so that the tables of the
        // snapshots keep their widths from run to run.
        let prefix = {
            use sha2::Digest as _;
            let h = hex::encode(sha2::Sha256::digest(unique_name(label).as_bytes()));
            format!("tp-{label}-{}", &h[..10])
        };
        let root = sb.root.join("repo");
        let w = Ws {
            summary: sb.root.join("step-summary.md"),
            output: sb.root.join("github-output.txt"),
            sb,
            issuer,
            proxy,
            prefix,
            root,
        };
        if flavor == Flavor::Pnpm {
            w.write(
                "package.json",
                &json!({
                    "name": format!("{}-root", w.prefix),
                    "private": true,
                    "packageManager": "pnpm@10.34.9",
                }),
            );
            fs::write(
                w.root.join("pnpm-workspace.yaml"),
                "packages:\n  - packages/*\ncatalog:\n  left-pad: ^1.3.0\ncatalogs:\n  legacy:\n    ms: ^2.1.3\n",
            )
            .unwrap();
        } else {
            w.write(
                "package.json",
                &json!({
                    "name": format!("{}-root", w.prefix),
                    "private": true,
                    "workspaces": ["packages/*"],
                }),
            );
        }
        for s in specs {
            let mut manifest = json!({
                "name": w.name(s.short),
                "version": "1.0.0",
                "license": "MIT",
                "repository": {"type": "git", "url": "git+https://github.com/acme/widgets.git"},
            });
            for (field, dep) in s.deps {
                let range = match (flavor, *field) {
                    (Flavor::Npm, _) => "^1.0.0",
                    (Flavor::Pnpm, "peerDependencies") => "workspace:*",
                    (Flavor::Pnpm, "optionalDependencies") => "workspace:~",
                    (Flavor::Pnpm, _) => "workspace:^",
                };
                manifest[*field][w.name(dep)] = json!(range);
            }
            if flavor == Flavor::Pnpm {
                manifest["dependencies"]["left-pad"] = json!("catalog:");
                if s.short.len() == 1 && s.short < "f" {
                    manifest["dependencies"]["ms"] = json!("catalog:legacy");
                }
            }
            if s.private {
                manifest["private"] = json!(true);
            }
            w.write(&format!("packages/{}/package.json", s.short), &manifest);
            fs::write(
                w.root.join(format!("packages/{}/index.js", s.short)),
                format!("module.exports = {:?}\n", s.short),
            )
            .unwrap();
        }
        w.issuer.set_job(
            w.issuer
                .github_claims("acme", "widgets", "release.yml")
                .visibility("private")
                .build(),
        );
        w
    }

    pub(crate) fn write(&self, rel: &str, v: &Value) {
        let p = self.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, serde_json::to_string_pretty(v).unwrap() + "\n").unwrap();
    }

    pub(crate) fn name(&self, short: &str) -> String {
        format!("{}-{short}", self.prefix)
    }

    /// The package exists on the registry (an earlier version) and trusts
    /// `acme/widgets`' `release.yml`.
    pub(crate) fn exists_and_trusts(&self, short: &str) {
        self.proxy.seed(&self.name(short), "0.1.0");
        self.trust(short);
    }

    pub(crate) fn trust(&self, short: &str) {
        self.proxy.trust(
            &self.name(short),
            TrustPolicy::github("acme", "widgets", "release.yml"),
        );
    }

    /// `trustpub publish --workspaces` from the root, on GitHub Actions.
    pub(crate) fn publish(&self) -> Tp<'_> {
        self.on_github(&["publish", "--workspaces"])
    }

    /// `trustpub <args>` from the root, on GitHub Actions, into the proxy.
    fn on_github(&self, args: &[&str]) -> Tp<'_> {
        self.sb
            .trustpub(args)
            .args(["--registry", &self.proxy.url()])
            .cwd(&self.root)
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", self.issuer.request_url())
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                self.issuer.request_token(),
            )
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .env("GITHUB_OUTPUT", &self.output)
            .env(
                "GITHUB_WORKFLOW_REF",
                "acme/widgets/.github/workflows/release.yml@refs/heads/main",
            )
            .env("GITHUB_JOB", "publish")
    }

    fn versions(&self, short: &str) -> Vec<String> {
        verdaccio::shared()
            .packument(&self.name(short))
            .and_then(|p| {
                p["versions"]
                    .as_object()
                    .map(|v| v.keys().cloned().collect())
            })
            .unwrap_or_default()
    }

    /// Short names with `1.0.0` on the registry.
    fn published(&self, shorts: &[&str]) -> Vec<String> {
        shorts
            .iter()
            .filter(|s| self.versions(s).iter().any(|v| v == "1.0.0"))
            .map(|s| s.to_string())
            .collect()
    }

    /// The packages PUT through the proxy so far, in order (short names).
    fn puts(&self) -> Vec<String> {
        self.proxy
            .requests()
            .iter()
            .filter(|r| r.method == "PUT")
            .map(|r| {
                let name = crate::support::http::percent_decode(r.target.trim_start_matches('/'));
                name.strip_prefix(&format!("{}-", self.prefix))
                    .unwrap_or(&name)
                    .to_string()
            })
            .collect()
    }

    pub(crate) fn describe(&self, run: &Run) -> String {
        format!(
            "{}\nproxy:\n{}",
            self.proxy.redact(&run.describe),
            self.proxy.redact(&self.proxy.summary().join("\n"))
        )
    }

    /// No secret in any output stream, the step summary or the outputs.
    fn check_leaks(&self, run: &Run) {
        let mut secrets = self.proxy.secrets();
        secrets.extend(self.issuer.secrets());
        secrets.push(self.sb.token.clone());
        assert_no_leak(run, &secrets);
        for f in [&self.summary, &self.output] {
            let text = fs::read_to_string(f).unwrap_or_default();
            for s in &secrets {
                assert!(!text.contains(s.as_str()), "a secret is in {}", f.display());
            }
        }
    }

    pub(crate) fn expect_code(&self, run: &Run, code: i32) {
        assert_eq!(
            run.code(),
            Some(code),
            "expected exit {code}:\n{}",
            self.describe(run)
        );
    }

    fn record<'a>(&self, doc: &'a Value, short: &str) -> &'a Value {
        doc.as_array()
            .and_then(|a| a.iter().find(|r| r["name"] == json!(self.name(short))))
            .unwrap_or_else(|| panic!("no record for {short} in {doc:#}"))
    }
}

/// The dozen: dependency chains, a peer and an optional dependency, a
/// private package, and one package (`k`) that has no trusted publisher at
/// first.
const DOZEN: &[Spec] = &[
    member("a", &[]),
    member("b", &[("dependencies", "a")]),
    member("c", &[("dependencies", "b"), ("peerDependencies", "a")]),
    member("d", &[("optionalDependencies", "c")]),
    member("e", &[("dependencies", "a")]),
    member("f", &[("dependencies", "e")]),
    member("g", &[("dependencies", "f"), ("dependencies", "b")]),
    member("h", &[]),
    member("i", &[("dependencies", "h"), ("devDependencies", "j")]),
    member("j", &[("dependencies", "i"), ("dependencies", "g")]),
    member("k", &[]),
    Spec {
        short: "tools",
        deps: &[("dependencies", "a")],
        private: true,
    },
];

const PUBLIC: [&str; 11] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"];

#[test]
fn a_dozen_packages_all_checked_first_then_a_failure_then_a_rerun() {
    // A pnpm workspace: `workspace:` ranges and catalogs, published as pnpm
    // publishes them.
    let w = Ws::with("ws-dozen", DOZEN, Flavor::Pnpm);
    for s in PUBLIC {
        if s == "k" {
            w.proxy.seed(&w.name(s), "0.1.0");
        } else {
            w.exists_and_trusts(s);
        }
    }

    // 1. k has no trusted publisher: the readiness table, nothing uploaded.
    let run = w.publish().args(["--trusted-publishing", "always"]).run();
    w.expect_code(&run, 1);
    assert!(
        w.puts().is_empty(),
        "something was uploaded:\n{}",
        w.describe(&run)
    );
    assert!(w.published(&PUBLIC).is_empty());
    let out = run.stdout();
    assert!(
        out.lines().any(|l| l.starts_with(&w.name("k"))
            && l.contains("NOT READY: no or mismatched trusted publisher")),
        "{}",
        w.describe(&run)
    );
    assert!(
        out.lines().any(|l| l.starts_with(&w.name("a"))
            && l.contains("ready (not uploaded: another package is not ready)")),
        "{}",
        w.describe(&run)
    );
    assert!(run.stderr().contains(&format!(
        "Skipping workspace {}, marked as private",
        w.name("tools")
    )));
    assert!(
        run.stderr()
            .lines()
            .any(|l| l.contains("Workflow filename:") && l.trim_end().ends_with("release.yml")),
        "{}",
        w.describe(&run)
    );
    assert!(
        run.stderr().contains("not ready: nothing was uploaded"),
        "{}",
        w.describe(&run)
    );
    // One exchange per package, each with its own id token.
    let exchanges = w.proxy.exchanges();
    assert_eq!(exchanges.len(), PUBLIC.len(), "{}", w.describe(&run));
    let id_tokens = w
        .issuer
        .requests()
        .iter()
        .filter(|r| r.url.starts_with("/token"))
        .count();
    assert_eq!(id_tokens, PUBLIC.len(), "one id token per exchange");
    w.check_leaks(&run);

    // 2. k trusted; e's upload fails: the waves before it are on the
    // registry, its own wave finishes, nothing after it starts.
    w.trust("k");
    w.proxy.fail_puts(&w.name("e"), 1);
    let _ = fs::remove_file(&w.output);
    let run = w
        .publish()
        .args(["--trusted-publishing", "always", "--json"])
        .run();
    w.expect_code(&run, 1);
    let first_wave = ["a", "h", "k"];
    let second_wave = ["b", "e", "i"];
    let puts = w.puts();
    assert_eq!(puts.len(), 6, "{puts:?}\n{}", w.describe(&run));
    for s in first_wave {
        assert!(puts[..3].contains(&s.to_string()), "{puts:?}");
    }
    for s in second_wave {
        assert!(puts[3..].contains(&s.to_string()), "{puts:?}");
    }
    let mut on_registry = w.published(&PUBLIC);
    on_registry.sort();
    assert_eq!(on_registry, ["a", "b", "h", "i", "k"]);
    let doc = run.json();
    assert_eq!(w.record(&doc, "e")["outcome"], "failed");
    assert_eq!(w.record(&doc, "e")["onRegistry"], false);
    assert_eq!(w.record(&doc, "a")["outcome"], "published");
    assert_eq!(w.record(&doc, "a")["auth"], "trusted-publishing");
    assert_eq!(w.record(&doc, "j")["outcome"], "not-uploaded");
    assert_eq!(w.record(&doc, "tools")["outcome"], "skipped-private");
    assert!(
        run.stderr().contains("On the registry now:")
            && run
                .stderr()
                .contains(&format!("Not on the registry: {}@1.0.0", w.name("e"))),
        "{}",
        w.describe(&run)
    );
    w.check_leaks(&run);

    // 3. The re-run publishes exactly what is missing.
    let _ = fs::remove_file(&w.output);
    let before = w.puts().len();
    let run = w
        .publish()
        .args(["--trusted-publishing", "always", "--json"])
        .run();
    w.expect_code(&run, 0);
    let mut again: Vec<String> = w.puts()[before..].to_vec();
    again.sort();
    assert_eq!(
        again,
        ["c", "d", "e", "f", "g", "j"],
        "{}",
        w.describe(&run)
    );
    let mut all = w.published(&PUBLIC);
    all.sort();
    assert_eq!(all, PUBLIC);
    // What the registry stores is pnpm's manifest: every range resolved.
    let stored = |short: &str| {
        verdaccio::shared()
            .packument(&w.name(short))
            .map(|p| p["versions"]["1.0.0"].clone())
            .unwrap_or_default()
    };
    let c = stored("c");
    assert_eq!(c["dependencies"][w.name("b")], "^1.0.0", "{c:#}");
    assert_eq!(c["peerDependencies"][w.name("a")], "1.0.0", "{c:#}");
    assert_eq!(c["dependencies"]["left-pad"], "^1.3.0", "{c:#}");
    assert_eq!(c["dependencies"]["ms"], "^2.1.3", "{c:#}");
    let d = stored("d");
    assert_eq!(d["optionalDependencies"][w.name("c")], "~1.0.0", "{d:#}");
    for s in PUBLIC {
        let text = stored(s).to_string();
        assert!(
            !text.contains("workspace:") && !text.contains("catalog:"),
            "{s}: {text}"
        );
    }
    let doc = run.json();
    for s in ["a", "b", "h", "i", "k"] {
        assert_eq!(w.record(&doc, s)["outcome"], "already-published", "{s}");
    }
    for s in ["c", "d", "e", "f", "g", "j"] {
        let r = w.record(&doc, s);
        assert_eq!(r["outcome"], "published", "{s}");
        assert!(r["integrity"].as_str().unwrap().starts_with("sha512-"));
    }
    // Dependencies before dependents, in the document's order too.
    let order: Vec<String> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    let pos = |s: &str| order.iter().position(|n| *n == w.name(s)).unwrap();
    for (a, b) in [
        ("a", "b"),
        ("b", "c"),
        ("c", "d"),
        ("e", "f"),
        ("f", "g"),
        ("b", "g"),
        ("g", "j"),
        ("i", "j"),
        ("h", "i"),
    ] {
        assert!(pos(a) < pos(b), "{a} after {b}: {order:?}");
    }
    let output = fs::read_to_string(&w.output).unwrap();
    assert!(output.contains("published=true\n"), "{output}");
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix("published-packages="))
        .expect("published-packages");
    let listed: Value = serde_json::from_str(line).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 6, "{listed}");
    assert!(listed
        .as_array()
        .unwrap()
        .contains(&json!({"name": w.name("j"), "version": "1.0.0"})));
    let summary = fs::read_to_string(&w.summary).unwrap();
    assert!(
        summary.contains("| package | version | result | authentication | provenance |"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("| {} | 1.0.0 | already published |", w.name("a"))),
        "{summary}"
    );
    w.check_leaks(&run);
}

#[test]
fn new_packages_are_named_with_the_bootstrap_steps_and_nothing_goes_up() {
    let w = Ws::new(
        "ws-new",
        &[
            member("old", &[]),
            member("fresh", &[("dependencies", "old")]),
        ],
    );
    w.exists_and_trusts("old");
    let run = w.publish().args(["--trusted-publishing", "always"]).run();
    w.expect_code(&run, 1);
    assert!(w.puts().is_empty());
    let fresh = w.name("fresh");
    assert!(
        run.stdout().lines().any(|l| l.starts_with(&fresh)
            && l.contains("NOT READY: new package: a first publish cannot use trusted publishing")),
        "{}",
        w.describe(&run)
    );
    let err = run.stderr();
    for text in [
        "1 package(s) not on the registry yet",
        &format!("`trustpub publish --workspace {fresh} --trusted-publishing never`"),
        "`npm stage` needs the package to exist",
        "Organization or user: acme",
        "Repository: widgets",
        "Workflow filename: release.yml",
        "re-run this publish",
    ] {
        assert!(
            err.contains(text),
            "stderr lacks {text:?}:\n{}",
            w.describe(&run)
        );
    }
    w.check_leaks(&run);
}

#[test]
fn a_version_already_published_with_another_tarball_stops_the_run_unless_tolerated() {
    let w = Ws::new(
        "ws-conflict",
        &[member("a", &[]), member("b", &[("dependencies", "a")])],
    );
    w.exists_and_trusts("b");
    // a@1.0.0 is on the registry already, but not this tarball.
    w.proxy.seed(&w.name("a"), "1.0.0");
    w.trust("a");
    let run = w.publish().args(["--trusted-publishing", "always"]).run();
    w.expect_code(&run, 1);
    assert!(w.puts().is_empty());
    assert!(
        run.stdout()
            .lines()
            .any(|l| l.starts_with(&w.name("a"))
                && l.contains("version published with another tarball")),
        "{}",
        w.describe(&run)
    );
    let run = w
        .publish()
        .args(["--trusted-publishing", "always", "--tolerate-republish"])
        .run();
    w.expect_code(&run, 0);
    assert_eq!(w.puts(), ["b"]);
    w.check_leaks(&run);
}

#[test]
fn a_dependency_cycle_is_named_before_any_request() {
    let w = Ws::new(
        "ws-cycle",
        &[
            member("a", &[("dependencies", "b")]),
            member("b", &[("peerDependencies", "a")]),
            member("c", &[]),
        ],
    );
    let run = w.publish().run();
    assert!(matches!(run.code(), Some(1 | 2)), "{}", w.describe(&run));
    let err = run.stderr();
    assert!(
        err.contains(&w.name("a")) && err.contains(&w.name("b")),
        "{}",
        w.describe(&run)
    );
    assert!(err.to_lowercase().contains("cycle"), "{}", w.describe(&run));
    assert!(
        !err.contains(&w.name("c")),
        "the cycle names a package outside it:\n{err}"
    );
    assert!(w.proxy.requests().is_empty(), "{}", w.describe(&run));
    w.check_leaks(&run);
}

#[test]
fn changesets_mode_prints_new_tags_and_creates_them() {
    let w = Ws::new(
        "ws-changesets",
        &[member("a", &[]), member("b", &[("dependencies", "a")])],
    );
    w.exists_and_trusts("a");
    w.exists_and_trusts("b");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&w.root)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", &w.sb.root)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .output()
            .expect("git is needed for the --changesets test");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "init"]);
    // a@1.0.0 was published earlier (the same tarball): no tag for it.
    let run = w
        .publish()
        .args([
            "--trusted-publishing",
            "always",
            "--workspace",
            &w.name("a"),
        ])
        .run();
    w.expect_code(&run, 0);
    let events = w.sb.root.join("changesets-output.ndjson");
    let run = w
        .publish()
        .args(["--trusted-publishing", "always", "--changesets"])
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .env("CHANGESETS_OUTPUT", &events)
        .run();
    w.expect_code(&run, 0);
    let b_tag = format!("{}@1.0.0", w.name("b"));
    let new_tags: Vec<&str> = run
        .stdout()
        .lines()
        .filter(|l| l.starts_with("New tag:"))
        .collect();
    assert_eq!(
        new_tags,
        [format!("New tag: {b_tag}")],
        "{}",
        w.describe(&run)
    );
    // The line changesets/action v1 parses.
    let re = regex::Regex::new(r"New tag:\s+(@[^/]+/[^@]+|[^/]+)@([^\s]+)").unwrap();
    let caps = re.captures(new_tags[0]).unwrap();
    assert_eq!((&caps[1], &caps[2]), (w.name("b").as_str(), "1.0.0"));
    assert_eq!(git(&["tag", "--list"]).trim(), b_tag);
    assert_eq!(
        git(&["cat-file", "-t", &b_tag]).trim(),
        "tag",
        "not an annotated tag"
    );
    let lines: Vec<Value> = fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [json!({"type": "git-tag", "tag": b_tag, "packageName": w.name("b")})]
    );
    w.check_leaks(&run);
    // Nothing left to publish: no line, no tag, and the events file still
    // exists (changesets/action warns when it does not).
    let fresh = w.sb.root.join("changesets-output-2.ndjson");
    let run = w
        .publish()
        .args(["--trusted-publishing", "always", "--changesets"])
        .env("CHANGESETS_OUTPUT", &fresh)
        .run();
    w.expect_code(&run, 0);
    assert!(!run.stdout().contains("New tag:"), "{}", w.describe(&run));
    assert_eq!(fs::read_to_string(&fresh).unwrap(), "");
    assert_eq!(git(&["tag", "--list"]).trim(), b_tag);
}

#[test]
fn workspace_flags_outside_a_workspace_are_a_usage_error() {
    let sb = Sandbox::new();
    let pkg = sb.package(
        "lonely",
        &json!({"name": "lonely", "version": "1.0.0"}),
        &[],
    );
    let run = sb
        .trustpub(["publish", "--workspaces", "--dry-run", "--offline"])
        .cwd(&pkg)
        .run();
    run.expect_code(2);
    assert!(
        run.stderr().contains("is not in a workspace"),
        "{}",
        run.describe
    );
    let run = sb
        .trustpub([
            "publish",
            "--include-workspace-root",
            "--dry-run",
            "--offline",
        ])
        .cwd(&pkg)
        .run();
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("--include-workspace-root needs --workspaces"),
        "{}",
        run.describe
    );
}

#[test]
fn stale_exchanges_are_redone_one_by_one_before_the_upload() {
    let w = Ws::new(
        "ws-stale",
        &[member("a", &[]), member("b", &[("dependencies", "a")])],
    );
    w.exists_and_trusts("a");
    w.exists_and_trusts("b");
    // Every check counts as stale: each package is exchanged (and checked)
    // again right before its upload, with a fresh id token.
    let run = w
        .publish()
        .args(["--trusted-publishing", "always"])
        .env("TRUSTPUB_RECHECK_AFTER", "0")
        .run();
    w.expect_code(&run, 0);
    let exchanged: Vec<String> = w
        .proxy
        .exchanges()
        .iter()
        .map(|e| e.package.clone())
        .collect();
    assert_eq!(
        exchanged,
        [w.name("a"), w.name("b"), w.name("a"), w.name("b")],
        "{}",
        w.describe(&run)
    );
    let id_tokens = |w: &Ws| {
        w.issuer
            .requests()
            .iter()
            .filter(|r| r.url.starts_with("/token"))
            .count()
    };
    assert_eq!(id_tokens(&w), 4, "{}", w.describe(&run));
    assert_eq!(w.puts(), ["a", "b"]);
    // Without the override the checks are fresh: one exchange each.
    let w2 = Ws::new("ws-fresh", &[member("a", &[])]);
    w2.exists_and_trusts("a");
    let run2 = w2.publish().args(["--trusted-publishing", "always"]).run();
    w2.expect_code(&run2, 0);
    assert_eq!(w2.proxy.exchanges().len(), 1, "{}", w2.describe(&run2));
    w.check_leaks(&run);
    w2.check_leaks(&run2);
}

#[test]
fn every_package_of_a_public_repository_gets_provenance_that_verifies() {
    use crate::support::sigstore_fakes::{verify_bundle, Sigstore};
    let w = Ws::new(
        "ws-prov",
        &[
            member("a", &[]),
            member("b", &[("dependencies", "a")]),
            member("c", &[("dependencies", "a")]),
        ],
    );
    for s in ["a", "b", "c"] {
        w.exists_and_trusts(s);
    }
    // A public repository: npm signs provenance automatically.
    w.issuer.set_job(
        w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .build(),
    );
    let sig = Sigstore::start(&[&w.issuer]);
    let run = w
        .publish()
        .args(["--trusted-publishing", "always", "--json"])
        .args(["--fulcio-url", &sig.fulcio.url()])
        .args(["--rekor-url", &sig.rekor.url()])
        .env("GITHUB_REPOSITORY", "acme/widgets")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_SHA", "d782c874402305a00adcd10a58001c708039c0d0")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_REPOSITORY_ID", "25672436")
        .env("GITHUB_REPOSITORY_OWNER_ID", "393869357")
        .env("GITHUB_RUN_ID", "420342961")
        .env("GITHUB_RUN_ATTEMPT", "1")
        .env("RUNNER_ENVIRONMENT", "github-hosted")
        .run();
    w.expect_code(&run, 0);
    assert_eq!(sig.rekor.entries().len(), 3, "{}", w.describe(&run));
    let doc = run.json();
    let san = "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main";
    for s in ["a", "b", "c"] {
        let rec = w.record(&doc, s);
        assert_eq!(rec["provenance"]["source"], "signed", "{s}");
        let url = format!("{}-/npm/v1/attestations/{}@1.0.0", w.proxy.url(), w.name(s));
        let r = crate::support::oidc_fakes::http("GET", &url, &[], b"").expect("attestations");
        assert_eq!(r.status, 200, "no attestation for {s}");
        let bundle = r.json()["attestations"][0]["bundle"].clone();
        let statement = verify_bundle(&bundle, &sig.trusted_root(), san, &w.issuer.url())
            .unwrap_or_else(|e| panic!("{s}: the bundle does not verify: {e}"));
        assert_eq!(
            statement["subject"][0]["name"],
            json!(format!("pkg:npm/{}@1.0.0", w.name(s)))
        );
    }
    w.check_leaks(&run);
}

/// `git <args>` in `dir` with a throwaway identity; panics on failure.
pub(crate) fn git_in(dir: &std::path::Path, home: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("git is needed for the --changesets tests");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn changesets_mode_outside_a_workspace_tags_v_version_and_a_failed_tag_fails_the_run() {
    let w = Ws::new("cs-single", &[]);
    // The repository is one package, not a workspace.
    let name = w.name("solo");
    w.write(
        "package.json",
        &json!({
            "name": name,
            "version": "1.0.0",
            "license": "MIT",
            "repository": {"type": "git", "url": "git+https://github.com/acme/widgets.git"},
        }),
    );
    w.exists_and_trusts("solo");
    let home = w.sb.root.join("git-home");
    fs::create_dir_all(&home).unwrap();
    git_in(&w.root, &home, &["init", "-q"]);
    git_in(&w.root, &home, &["add", "."]);
    git_in(&w.root, &home, &["commit", "-q", "-m", "init"]);
    let single = |extra: &[(&str, &str)]| {
        let mut tp = w
            .on_github(&["publish", "--changesets", "--trusted-publishing", "always"])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", &home);
        for (k, v) in extra {
            tp = tp.env(k, v);
        }
        tp.run()
    };
    // No git identity: published, but the tag fails, and says so.
    let run = single(&[]);
    w.expect_code(&run, 1);
    let mut shots = crate::snapshots::Shots::default();
    shots.add("no git identity", shot(&w, &run, 1, false));
    assert_eq!(w.puts(), ["solo"]);
    assert!(!run.stdout().contains("New tag:"), "{}", w.describe(&run));
    assert!(
        run.stderr()
            .contains("was published, but the git tag v1.0.0 could not be created"),
        "{}",
        w.describe(&run)
    );
    assert_eq!(git_in(&w.root, &home, &["tag", "--list"]).trim(), "");
    w.check_leaks(&run);

    // With an identity (as changesets/action sets one), the next version
    // gets `v<version>`.
    let mut manifest: Value =
        serde_json::from_str(&fs::read_to_string(w.root.join("package.json")).unwrap()).unwrap();
    manifest["version"] = json!("1.0.1");
    w.write("package.json", &manifest);
    let run = single(&[
        ("GIT_AUTHOR_NAME", "t"),
        ("GIT_AUTHOR_EMAIL", "t@example.invalid"),
        ("GIT_COMMITTER_NAME", "t"),
        ("GIT_COMMITTER_EMAIL", "t@example.invalid"),
    ]);
    w.expect_code(&run, 0);
    let tags: Vec<&str> = run
        .stdout()
        .lines()
        .filter(|l| l.starts_with("New tag:"))
        .collect();
    assert_eq!(tags, ["New tag: v1.0.1"], "{}", w.describe(&run));
    assert_eq!(git_in(&w.root, &home, &["tag", "--list"]).trim(), "v1.0.1");
    w.check_leaks(&run);
    shots.add("tagged", shot(&w, &run, 0, false));
    // The tag exists already (made by hand before a re-run of a publish
    // that failed later): left alone, and said.
    git_in(&w.root, &home, &["tag", "v1.0.2", "-m", "by hand"]);
    manifest["version"] = json!("1.0.2");
    w.write("package.json", &manifest);
    let run = single(&[]);
    shots.add("the tag exists", shot(&w, &run, 0, false));
    snap!("changesets_messages", shots.0);
}

// ---------------------------------------------------------------------------
// The words of a workspace run, snapshotted (issue #12 item 4): the
// readiness table, the new-package steps, the failure summary, the
// --json records, the step summary, the workspace errors. Chains only (one
// package per wave), so that no two uploads run at once and the output
// order is fixed.

pub(crate) fn shot(w: &Ws, run: &Run, code: i32, summary: bool) -> String {
    use crate::snapshots::{render, Redact};
    w.expect_code(run, code);
    w.check_leaks(run);
    let mut r = Redact::new(&w.sb).literal(&w.prefix, "[WS]");
    for s in w.proxy.secrets().iter().chain(w.issuer.secrets().iter()) {
        r = r.secret(s);
    }
    let summary = summary.then_some(w.summary.as_path());
    render(&r, run, summary)
}

#[test]
fn workspace_messages() {
    use crate::snapshots::Shots;
    let mut shots = Shots::default();

    // Not ready: one without a trusted publisher, one new; a private one.
    let w = Ws::new(
        "snap-ready",
        &[
            member("core", &[]),
            member("cli", &[("dependencies", "core")]),
            member("plugin", &[("peerDependencies", "cli")]),
            Spec {
                short: "docs",
                deps: &[],
                private: true,
            },
        ],
    );
    w.exists_and_trusts("core");
    w.proxy.seed(&w.name("cli"), "0.1.0");
    let run = w.publish().args(["--trusted-publishing", "always"]).run();
    shots.add(
        "not ready: no trusted publisher, a new package",
        shot(&w, &run, 1, true),
    );
    let run = w
        .publish()
        .args(["--trusted-publishing", "always", "--json"])
        .run();
    shots.add("the same, --json", shot(&w, &run, 1, false));

    // An upload fails in the middle of a chain; then the re-run.
    let w = Ws::new(
        "snap-fail",
        &[
            member("a", &[]),
            member("b", &[("dependencies", "a")]),
            member("c", &[("dependencies", "b")]),
        ],
    );
    for s in ["a", "b", "c"] {
        w.exists_and_trusts(s);
    }
    w.proxy.fail_puts(&w.name("b"), 1);
    let run = w.publish().args(["--trusted-publishing", "always"]).run();
    shots.add("an upload fails", shot(&w, &run, 1, true));
    let _ = fs::remove_file(&w.summary);
    let run = w.publish().args(["--trusted-publishing", "always"]).run();
    shots.add("the re-run", shot(&w, &run, 0, true));
    let run = w
        .publish()
        .args(["--trusted-publishing", "always", "--dry-run"])
        .run();
    shots.add(
        "a dry run when everything is published",
        shot(&w, &run, 0, false),
    );

    // Workspace errors.
    let w = Ws::new(
        "snap-errors",
        &[
            member("a", &[("dependencies", "b")]),
            member("b", &[("optionalDependencies", "a")]),
        ],
    );
    fn offline(tp: Tp<'_>) -> Tp<'_> {
        tp.args(["--dry-run", "--offline"])
    }
    shots.add("a cycle", shot(&w, &offline(w.publish()).run(), 1, false));
    shots.add(
        "--workspace names nothing",
        shot(
            &w,
            &offline(w.publish()).args(["--workspace", "nope"]).run(),
            2,
            false,
        ),
    );
    fs::create_dir_all(w.root.join("packages/dup")).unwrap();
    fs::write(
        w.root.join("packages/dup/package.json"),
        format!(
            "{{\"name\": \"{}\", \"version\": \"1.0.0\"}}\n",
            w.name("a")
        ),
    )
    .unwrap();
    shots.add(
        "two packages with one name",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );
    let lonely = w.sb.package(
        "lonely",
        &json!({"name": "lonely", "version": "1.0.0"}),
        &[],
    );
    shots.add(
        "not in a workspace",
        shot(
            &w,
            &offline(w.sb.trustpub(["publish", "--workspaces"]).cwd(&lonely)).run(),
            2,
            false,
        ),
    );
    // pnpm allows two packages of one name; a registry holds one.
    let w = Ws::with(
        "snap-twins",
        &[member("a", &[]), member("b", &[])],
        Flavor::Pnpm,
    );
    let mut twin: Value =
        serde_json::from_str(&fs::read_to_string(w.root.join("packages/b/package.json")).unwrap())
            .unwrap();
    twin["name"] = json!(w.name("a"));
    w.write("packages/b/package.json", &twin);
    shots.add(
        "pnpm: two public packages with one name",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );
    snap!("workspace_messages", shots.0);
}

// ---------------------------------------------------------------------------
// What happens between the checks and the upload, with a token, against
// the scripted fake registry.

/// `trustpub publish --workspaces --trusted-publishing never` into `reg`,
/// with the sandbox's token for it.
pub(crate) fn with_token<'a>(
    w: &'a Ws,
    reg: &crate::support::fake_registry::FakeRegistry,
) -> Tp<'a> {
    w.sb.login(&reg.url());
    w.sb.trustpub(["publish", "--workspaces", "--trusted-publishing", "never"])
        .args(["--registry", &reg.url()])
        .cwd(&w.root)
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_OUTPUT", &w.output)
}

#[test]
fn a_failing_postpublish_script_leaves_the_version_counted_as_published() {
    use crate::support::fake_registry::FakeRegistry;
    let w = Ws::new(
        "ws-postpub",
        &[member("a", &[]), member("b", &[("dependencies", "a")])],
    );
    let mut a: Value =
        serde_json::from_str(&fs::read_to_string(w.root.join("packages/a/package.json")).unwrap())
            .unwrap();
    a["scripts"] = json!({"postpublish": "exit 3"});
    w.write("packages/a/package.json", &a);
    let reg = FakeRegistry::start();
    let run = with_token(&w, &reg).arg("--json").run();
    // A workspace run exits 0, 1 or 2 (the script's own code is in its
    // record's error).
    w.expect_code(&run, 1);
    // a went up (its script failed afterwards); b went up after it.
    assert_eq!(reg.versions(&w.name("a")), ["1.0.0"]);
    assert_eq!(
        reg.versions(&w.name("b")),
        ["1.0.0"],
        "{}",
        w.describe(&run)
    );
    let doc = run.json();
    let rec = w.record(&doc, "a");
    assert_eq!(rec["outcome"], "published", "{rec:#}");
    assert_eq!(rec["onRegistry"], true);
    assert_eq!(rec["error"]["code"], "ELIFECYCLE", "{rec:#}");
    let output = fs::read_to_string(&w.output).unwrap();
    assert!(output.contains(&w.name("a")), "{output}");
    w.check_leaks(&run);
}

#[test]
fn an_identical_version_that_won_a_race_is_already_published() {
    use crate::support::fake_registry::{FakeRegistry, Reply};
    let w = Ws::new(
        "ws-race",
        &[member("a", &[]), member("b", &[("dependencies", "a")])],
    );
    let reg = FakeRegistry::start();
    // The registry stores a's upload, then answers 409, as when another
    // run published the same tarball a moment earlier.
    reg.script_puts([Reply::status(409, "cannot modify pre-existing version").stored()]);
    let run = with_token(&w, &reg).arg("--json").run();
    w.expect_code(&run, 0);
    let doc = run.json();
    assert_eq!(
        w.record(&doc, "a")["outcome"],
        "already-published",
        "{doc:#}"
    );
    assert_eq!(w.record(&doc, "b")["outcome"], "published", "{doc:#}");
    w.check_leaks(&run);
}

#[test]
fn a_recheck_that_finds_another_tarball_stops_the_package_and_its_dependents() {
    use crate::support::fake_registry::{FakeRegistry, Reply};
    let w = Ws::new(
        "ws-recheck",
        &[member("a", &[]), member("b", &[("dependencies", "a")])],
    );
    let reg = FakeRegistry::start();
    // The preflight reads of a and b find nothing; the recheck of a (every
    // check counts as stale) finds 1.0.0 with another tarball.
    let other = json!({
        "name": w.name("a"),
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {"name": w.name("a"), "version": "1.0.0",
            "dist": {"integrity": "sha512-AAAA", "shasum": "00", "tarball": "http://127.0.0.1:1/x.tgz"}}},
    });
    reg.script_gets([
        None,
        None,
        Some(Reply::status(200, "").body(&other.to_string())),
    ]);
    let run = with_token(&w, &reg)
        .arg("--json")
        .env("TRUSTPUB_RECHECK_AFTER", "0")
        .run();
    w.expect_code(&run, 1);
    assert!(reg.puts().is_empty(), "{:?}", reg.summary());
    let doc = run.json();
    assert_eq!(w.record(&doc, "a")["outcome"], "failed", "{doc:#}");
    assert_eq!(w.record(&doc, "a")["error"]["code"], "EPUBLISHCONFLICT");
    assert_eq!(w.record(&doc, "b")["outcome"], "not-uploaded", "{doc:#}");
    w.check_leaks(&run);
}

// ---------------------------------------------------------------------------
// Found by the second adversarial review: inputs that used to pass silently.

fn write_json(path: &std::path::Path, v: &Value) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, serde_json::to_string_pretty(v).unwrap() + "\n").unwrap();
}

/// `<sandbox>/ws`: a pnpm 12 workspace (`packages/*`) holding `b@version`.
fn pnpm_workspace_with_b(sb: &Sandbox, version: &str) -> PathBuf {
    let root = sb.root.join("ws");
    write_json(
        &root.join("package.json"),
        &json!({"name": "root", "private": true, "packageManager": "pnpm@12.25.1"}),
    );
    fs::write(
        root.join("pnpm-workspace.yaml"),
        "packages:\n  - packages/*\n",
    )
    .unwrap();
    write_json(
        &root.join("packages/b/package.json"),
        &json!({"name": "b", "version": version}),
    );
    root
}

#[test]
fn a_symlinked_member_is_rewritten_and_a_package_in_no_workspace_is_refused() {
    let sb = Sandbox::new();
    let root = pnpm_workspace_with_b(&sb, "1.2.0");
    // packages/o is a link to a directory outside the tree.
    let outside = sb.root.join("outside/o");
    write_json(
        &outside.join("package.json"),
        &json!({"name": "o", "version": "1.0.0", "dependencies": {"b": "workspace:^"}}),
    );
    crate::support::make_symlink(&outside, &root.join("packages/o")).unwrap();
    let run = sb
        .trustpub(["pack", "--dry-run", "--json", "packages/o"])
        .cwd(&root)
        .run();
    run.success();
    let dest = sb.root.join("packed");
    fs::create_dir_all(&dest).unwrap();
    let run = sb
        .trustpub(["pack", "--pack-destination"])
        .arg(&dest)
        .arg("packages/o")
        .cwd(&root)
        .run();
    run.success();
    let tgz = fs::read(dest.join("o-1.0.0.tgz")).unwrap();
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&tgz[..]), &mut tar).unwrap();
    let ar = crate::support::tar::parse(&tar);
    let pj = ar
        .entries
        .iter()
        .find(|e| e.path() == "package/package.json")
        .expect("package.json in the tarball");
    let text = String::from_utf8_lossy(&pj.data);
    assert!(text.contains("\"b\": \"^1.2.0\""), "{text}");

    // The same package.json outside any workspace: nothing can resolve it.
    let run = sb.trustpub(["pack", "--dry-run"]).cwd(&outside).run();
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("is in no workspace trustpub can find"),
        "{}",
        run.describe
    );
}

#[test]
fn workspace_patterns_trustpub_cannot_walk_are_refused_not_skipped() {
    let sb = Sandbox::new();
    let cases: [(&str, Value, &str); 3] = [
        (
            "outside",
            json!({"name": "r", "private": true, "workspaces": ["packages/*", "../ext/*"]}),
            "names directories outside the workspace root",
        ),
        (
            "many",
            json!({"name": "r", "private": true,
                "workspaces": (0..1001).map(|i| format!("p{i}")).collect::<Vec<_>>()}),
            "more than the 1000 trustpub reads",
        ),
        (
            "deep",
            json!({"name": "r", "private": true, "workspaces": ["packages/**"]}),
            "deeper than trustpub walks",
        ),
    ];
    for (dir, manifest, words) in cases {
        let root = sb.root.join(dir);
        write_json(&root.join("package.json"), &manifest);
        write_json(
            &root.join("packages/a/package.json"),
            &json!({"name": "a", "version": "1.0.0"}),
        );
        if dir == "deep" {
            let mut p = root.join("packages");
            for i in 0..70 {
                p = p.join(format!("d{i}"));
            }
            write_json(
                &p.join("package.json"),
                &json!({"name": "deepest", "version": "1.0.0"}),
            );
        }
        let run = sb
            .trustpub(["publish", "--workspaces", "--dry-run", "--offline"])
            .cwd(&root)
            .run();
        run.expect_code(2);
        assert!(run.stderr().contains(words), "{dir}: {}", run.describe);
    }
}

#[test]
fn a_peer_dependency_as_an_alias_or_a_path_is_refused_in_pnpm() {
    let sb = Sandbox::new();
    let root = pnpm_workspace_with_b(&sb, "1.2.3");
    for spec in ["workspace:b@^", "workspace:../b"] {
        write_json(
            &root.join("packages/e/package.json"),
            &json!({"name": "e", "version": "1.0.0", "peerDependencies": {"b": spec}}),
        );
        let run = sb
            .trustpub(["pack", "--dry-run", "packages/e"])
            .cwd(&root)
            .run();
        run.expect_code(2);
        assert!(
            run.stderr()
                .contains("a peer dependency written as an alias or a path"),
            "{spec}: {}",
            run.describe
        );
    }
}
