//! `trustpub doctor` at a workspace root and with `--workspaces` /
//! `--workspace` (issue #13 item 8): every selected package is checked as
//! a single package would be, in publish order; private packages are
//! skipped with one line; a package the registry does not know gets the
//! bootstrap steps; the report is snapshotted (human and `--json`).

use std::fs;
use std::path::Path;

use crate::support::fake_registry::FakeRegistry;
use crate::support::sandbox::{Run, Sandbox};

/// One job per package (the CI-file reading does not yet take
/// `trustpub publish --workspaces` as publishing every member).
pub(crate) const RELEASE_YML: &str = "on:
  push:
    tags: ['*']
permissions:
  contents: read
  id-token: write
jobs:
  core:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: packages/core
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-node@v5
        with:
          node-version: 24
      - run: npx trustpub publish
  lib:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: packages/lib
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-node@v5
        with:
          node-version: 24
      - run: npx trustpub publish
";

pub(crate) fn lay(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
}

/// A pnpm workspace: `core` (on the registry, a new version), `lib`
/// (depends on core; not on the registry), `docs` (private), `app`
/// (depends on lib; no version, which pnpm does not publish), listed in
/// an order that is not the publish order.
fn workspace(sb: &Sandbox) -> std::path::PathBuf {
    let root = sb.root.join("mono");
    let repo = r#""repository": "github:acme/mono""#;
    lay(
        &root,
        &[
            (
                "package.json",
                r#"{"name":"mono","private":true,"packageManager":"pnpm@10.12.1+sha512.00"}"#,
            ),
            (
                "pnpm-workspace.yaml",
                "packages:\n  - packages/*\ncatalog:\n  left-pad: ^1.3.0\n",
            ),
            (".github/workflows/release.yml", RELEASE_YML),
            (
                "packages/app/package.json",
                r#"{"name":"@acme/app","dependencies":{"@acme/lib":"workspace:^"}}"#,
            ),
            (
                "packages/core/package.json",
                &format!(
                    r#"{{"name":"@acme/core","version":"1.1.0",{repo},"dependencies":{{"left-pad":"catalog:"}}}}"#
                ),
            ),
            (
                "packages/docs/package.json",
                r#"{"name":"@acme/docs","version":"0.0.0","private":true}"#,
            ),
            (
                "packages/lib/package.json",
                &format!(
                    r#"{{"name":"@acme/lib","version":"0.1.0",{repo},"peerDependencies":{{"@acme/core":"workspace:*"}}}}"#
                ),
            ),
        ],
    );
    fs::create_dir_all(root.join(".git")).unwrap();
    root
}

fn render(sb: &Sandbox, run: &Run) -> String {
    let text = format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        run.code().map_or("none".to_string(), |c| c.to_string()),
        run.stdout(),
        run.stderr()
    );
    let text = text.replace(&sb.root.display().to_string(), "[ROOT]");
    regex::Regex::new(r"127\.0\.0\.1:\d+")
        .unwrap()
        .replace_all(&text, "127.0.0.1:[PORT]")
        .into_owned()
}

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

#[test]
fn doctor_at_a_workspace_root_reports_every_package() {
    let sb = Sandbox::new();
    let registry = FakeRegistry::start();
    registry.seed("@acme/core", "1.0.0", "sha512-x", Some("latest"));
    let root = workspace(&sb);

    // At the root, without flags: every member, in publish order.
    let run = sb
        .trustpub(["doctor", "--registry", &registry.url()])
        .cwd(&root)
        .run();
    assert_eq!(run.code(), Some(1), "{}", run.describe);
    let human = render(&sb, &run);
    snap!("doctor_workspace_root", human.clone());
    // The order puts core before lib; docs and app are skipped.
    let core = human.find("── @acme/core").expect("core is reported");
    let lib = human.find("── @acme/lib").expect("lib is reported");
    assert!(core < lib, "{human}");
    assert!(human.contains("skip  @acme/docs (packages/docs): private"));
    assert!(human.contains("new package: @acme/lib is not on"));

    // --json: one document per package.
    let run = sb
        .trustpub(["doctor", "--json", "--registry", &registry.url()])
        .cwd(&root)
        .run();
    assert_eq!(run.code(), Some(1), "{}", run.describe);
    let doc = run.json();
    let names: Vec<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["package"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["@acme/core", "@acme/lib"]);
    assert_eq!(doc["packages"][1]["newPackage"], true);
    assert_eq!(doc["packages"][0]["newPackage"], false);
    // pnpm -r publish skips a package without a version, and so does this.
    let skipped: Vec<&str> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["@acme/app", "@acme/docs"]);
    assert_eq!(doc["failed"], serde_json::json!([]));
    assert_eq!(doc["workspace"]["manager"], "pnpm");
    snap!("doctor_workspace_root_json", render(&sb, &run));
}

#[test]
fn doctor_with_workspace_filters_and_outside_a_workspace() {
    let sb = Sandbox::new();
    let registry = FakeRegistry::start();
    registry.seed("@acme/core", "1.0.0", "sha512-x", Some("latest"));
    let root = workspace(&sb);
    let mut shots = String::new();

    // One package by name, from inside another member.
    let run = sb
        .trustpub(["doctor", "-w", "@acme/core", "--registry", &registry.url()])
        .cwd(&root.join("packages/lib"))
        .run();
    assert_eq!(run.code(), Some(0), "{}", run.describe);
    shots.push_str("===== -w @acme/core, from packages/lib =====\n");
    shots.push_str(&render(&sb, &run));

    // A filter that names nothing: a usage error.
    let run = sb
        .trustpub(["doctor", "-w", "nope", "--registry", &registry.url()])
        .cwd(&root)
        .run();
    assert_eq!(run.code(), Some(2), "{}", run.describe);
    shots.push_str("\n===== -w nope =====\n");
    shots.push_str(&render(&sb, &run));

    // --workspaces outside any workspace.
    let lone = sb.root.join("lone");
    lay(
        &lone,
        &[("package.json", r#"{"name":"lone","version":"1.0.0"}"#)],
    );
    let run = sb
        .trustpub(["doctor", "--workspaces", "--registry", &registry.url()])
        .cwd(&lone)
        .run();
    assert_eq!(run.code(), Some(2), "{}", run.describe);
    shots.push_str("\n===== --workspaces outside a workspace =====\n");
    shots.push_str(&render(&sb, &run));
    snap!("doctor_workspace_filters", shots);
}

#[test]
fn doctor_names_a_dependency_cycle_and_a_member_it_cannot_check() {
    let sb = Sandbox::new();
    let registry = FakeRegistry::start();
    let root = sb.root.join("cyc");
    lay(
        &root,
        &[
            (
                "package.json",
                r#"{"name":"cyc","private":true,"workspaces":["p/*"]}"#,
            ),
            (
                "p/a/package.json",
                r#"{"name":"a","version":"1.0.0","dependencies":{"b":"^1.0.0"}}"#,
            ),
            (
                "p/b/package.json",
                r#"{"name":"b","version":"1.0.0","optionalDependencies":{"a":"^1.0.0"}}"#,
            ),
            // npm refuses to publish a package without a version.
            ("p/c/package.json", r#"{"name":"c"}"#),
        ],
    );
    registry.seed("a", "0.1.0", "sha512-x", Some("latest"));
    registry.seed("b", "0.1.0", "sha512-x", Some("latest"));
    let run = sb
        .trustpub(["doctor", "--json", "--registry", &registry.url()])
        .cwd(&root)
        .run();
    assert_eq!(run.code(), Some(1), "{}", run.describe);
    let doc = run.json();
    assert_eq!(doc["cycles"], serde_json::json!([["a", "b"]]));
    assert_eq!(doc["order"], serde_json::Value::Null);
    assert_eq!(doc["failed"][0]["name"], "c");
    assert!(
        doc["failed"][0]["error"]
            .as_str()
            .unwrap()
            .ends_with("p/c/package.json: field \"version\" is missing"),
        "{doc}"
    );
    let run = sb
        .trustpub(["doctor", "--registry", &registry.url()])
        .cwd(&root)
        .run();
    let text = render(&sb, &run);
    assert!(
        text.contains("FAIL  publish order: the workspace packages have a dependency cycle, so no package can go first: a → b → a"),
        "{text}"
    );
    assert!(text.contains("not ready: "), "{text}");
}
