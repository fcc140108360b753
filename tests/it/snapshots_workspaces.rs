//! Snapshots of the workspace-era words no other snapshot shows (issue #12
//! item 4, the rows `scripts/snapshot-coverage` listed as not reached):
//! the refusals of the `workspace:`/`catalog:` rewrite, the workspace
//! file errors and their hints, `doctor` over a workspace (ready, cannot
//! tell, a cycle, a new package without trusted-publisher values), the
//! readiness table and the new-package block of a publish with a token,
//! and the `--changesets` failures. Built on the workspaces of
//! [`crate::workspaces_publish`] (fixed-length names, so that the tables
//! keep their widths) and the scripted [`FakeRegistry`]; one package per
//! wave, so that no two uploads run at once and the output order is fixed.

use std::fs;

use serde_json::{json, Value};

use crate::doctor_workspaces::{lay, RELEASE_YML};
use crate::snapshots::{render, Redact, Shots};
use crate::support::fake_registry::{FakeRegistry, Reply};
use crate::support::sandbox::{Run, Sandbox, Tp};
use crate::workspaces_publish::{git_in, member, shot, with_token, Flavor, Spec, Ws};

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

fn offline(tp: Tp<'_>) -> Tp<'_> {
    tp.args(["--dry-run", "--offline"])
}

/// A member's package.json, changed by `edit`.
fn edit(w: &Ws, short: &str, f: impl FnOnce(&mut Value)) {
    let rel = format!("packages/{short}/package.json");
    let mut m: Value =
        serde_json::from_str(&fs::read_to_string(w.root.join(&rel)).unwrap()).unwrap();
    f(&mut m);
    w.write(&rel, &m);
}

// ---------------------------------------------------------------------------
// The rewrite of workspace: and catalog: ranges, refused

#[test]
fn rewrite_refusals() {
    let mut shots = Shots::default();

    // npm publishes workspace: as it is.
    let w = Ws::new("rw-npm", &[member("a", &[]), member("b", &[])]);
    let b = w.name("b");
    edit(&w, "a", |m| m["dependencies"][&b] = json!("workspace:^"));
    shots.add(
        "npm: a workspace: range",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    // pnpm: workspace: naming no member.
    let w = Ws::with("rw-nomem", &[member("a", &[])], Flavor::Pnpm);
    let ghost = w.name("ghost");
    edit(&w, "a", |m| {
        m["dependencies"][&ghost] = json!("workspace:^")
    });
    shots.add(
        "pnpm: workspace: naming no package",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    // pnpm: workspace: naming a member without a version (private, so
    // that it is not published itself).
    let w = Ws::with(
        "rw-nover",
        &[
            member("a", &[("dependencies", "b")]),
            Spec {
                short: "b",
                deps: &[],
                private: true,
            },
        ],
        Flavor::Pnpm,
    );
    edit(&w, "b", |m| {
        m.as_object_mut().unwrap().remove("version");
    });
    shots.add(
        "pnpm: workspace: naming a package without a version",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    // pnpm: a catalog that does not exist.
    let w = Ws::with("rw-nocat", &[member("a", &[])], Flavor::Pnpm);
    edit(&w, "a", |m| {
        m["dependencies"]["left-pad"] = json!("catalog:nope")
    });
    shots.add(
        "pnpm: catalog: naming a missing catalog",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    // pnpm: a catalog entry pnpm refuses.
    let w = Ws::with("rw-badcat", &[member("a", &[])], Flavor::Pnpm);
    fs::write(
        w.root.join("pnpm-workspace.yaml"),
        "packages:\n  - packages/*\ncatalog:\n  left-pad: link:../left-pad\n",
    )
    .unwrap();
    shots.add(
        "pnpm: a catalog entry with link:",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    // pnpm: publishConfig.directory.
    let w = Ws::with("rw-pubdir", &[member("a", &[])], Flavor::Pnpm);
    edit(&w, "a", |m| {
        m["publishConfig"] = json!({"directory": "dist"})
    });
    shots.add(
        "pnpm: publishConfig.directory",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    // yarn: a catalog entry with a protocol trustpub does not resolve.
    let w = Ws::new("rw-yarncat", &[member("a", &[])]);
    w.write(
        "package.json",
        &json!({
            "name": w.name("root"),
            "private": true,
            "workspaces": ["packages/*"],
            "packageManager": "yarn@4.9.2",
        }),
    );
    fs::write(
        w.root.join(".yarnrc.yml"),
        "catalog:\n  left-pad: patch:left-pad@1.3.0#./p.patch\n",
    )
    .unwrap();
    edit(&w, "a", |m| {
        m["dependencies"]["left-pad"] = json!("catalog:")
    });
    shots.add(
        "yarn: a catalog entry with another protocol",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );
    // yarn: a .yarnrc.yml that does not parse.
    fs::write(w.root.join(".yarnrc.yml"), "catalog: [\n").unwrap();
    shots.add(
        "yarn: .yarnrc.yml is not YAML",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );
    snap!("workspace_rewrite_refusals", shots.0);
}

// ---------------------------------------------------------------------------
// The workspace files, refused

#[test]
fn workspace_file_errors() {
    let mut shots = Shots::default();

    let w = Ws::new("wf-json", &[member("a", &[])]);
    fs::write(w.root.join("packages/a/package.json"), "{\"name\": \n").unwrap();
    shots.add(
        "a member's package.json is not JSON",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    let w = Ws::with("wf-yaml", &[member("a", &[])], Flavor::Pnpm);
    fs::write(w.root.join("pnpm-workspace.yaml"), "packages: [\n").unwrap();
    shots.add(
        "pnpm-workspace.yaml is not YAML",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    // A member's package.json over the size limit of a manifest (4 MiB).
    let w = Ws::new("wf-huge", &[member("a", &[])]);
    let pad = " ".repeat((4 << 20) + 1);
    fs::write(
        w.root.join("packages/a/package.json"),
        format!("{{\"name\": \"{}\"{pad}}}", w.name("a")),
    )
    .unwrap();
    shots.add(
        "a member's package.json too large to read",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    // Patterns that match no package.json.
    let w = Ws::new("wf-none", &[]);
    shots.add(
        "no members",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    // A .tgz with --workspaces.
    let w = Ws::new("wf-tgz", &[member("a", &[])]);
    fs::write(w.root.join("a-1.0.0.tgz"), b"not used").unwrap();
    shots.add(
        "a .tgz with --workspaces",
        shot(&w, &offline(w.publish()).arg("a-1.0.0.tgz").run(), 2, false),
    );

    // CHANGESETS_OUTPUT that names a directory.
    let dir = w.sb.root.join("events");
    fs::create_dir_all(&dir).unwrap();
    shots.add(
        "CHANGESETS_OUTPUT is a directory",
        shot(
            &w,
            &offline(w.publish())
                .arg("--changesets")
                .env("CHANGESETS_OUTPUT", &dir)
                .run(),
            2,
            false,
        ),
    );
    // A walk deeper than trustpub goes.
    let w = Ws::new("wf-deep", &[member("a", &[])]);
    let mut manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(w.root.join("package.json")).unwrap()).unwrap();
    manifest["workspaces"] = serde_json::json!(["packages/**"]);
    w.write("package.json", &manifest);
    let mut deep = w.root.join("packages");
    for i in 0..70 {
        deep = deep.join(format!("d{i}"));
    }
    fs::create_dir_all(&deep).unwrap();
    shots.add(
        "a walk deeper than trustpub goes",
        shot(&w, &offline(w.publish()).run(), 2, false),
    );

    // A package with workspace: ranges that no workspace lists.
    let lone = w.sb.package(
        "lone",
        &serde_json::json!({"name": "lone", "version": "1.0.0", "dependencies": {"x": "workspace:*"}}),
        &[],
    );
    shots.add(
        "workspace: ranges in no workspace",
        shot(
            &w,
            &w.sb.trustpub(["pack", "--dry-run"]).arg(&lone).run(),
            2,
            false,
        ),
    );
    snap!("workspace_file_errors", shots.0);
}

// ---------------------------------------------------------------------------
// A publish with a token into the scripted registry

#[test]
fn token_publish_outcomes() {
    let mut shots = Shots::default();

    // a@1.0.0 is on the registry with another tarball; b waits for it.
    let w = Ws::new(
        "tk-other",
        &[member("a", &[]), member("b", &[("dependencies", "a")])],
    );
    let reg = FakeRegistry::start();
    reg.seed(&w.name("a"), "1.0.0", "sha512-AAAA", Some("latest"));
    reg.seed(&w.name("b"), "0.1.0", "sha512-AAAA", Some("latest"));
    let run = with_token(&w, &reg).run();
    shots.add(
        "a version published with another tarball",
        shot(&w, &run, 1, false),
    );
    assert!(reg.puts().is_empty(), "{:?}", reg.summary());

    // A new package goes up with the token, then its postpublish script
    // fails; no trusted publisher can be read from this job.
    let w = Ws::new("tk-postp", &[member("a", &[])]);
    edit(&w, "a", |m| m["scripts"] = json!({"postpublish": "exit 3"}));
    let reg = FakeRegistry::start();
    let run = with_token(&w, &reg).run();
    shots.add(
        "a new package published with a token, then its postpublish script fails",
        shot(&w, &run, 1, false),
    );
    assert_eq!(reg.versions(&w.name("a")), ["1.0.0"]);

    // The registry stores the upload but answers 500; the check after it
    // finds the version with this tarball.
    let w = Ws::new("tk-unclr", &[member("a", &[])]);
    let reg = FakeRegistry::start();
    reg.seed(&w.name("a"), "0.1.0", "sha512-AAAA", Some("latest"));
    reg.script_puts([Reply::status(500, "internal error").stored()]);
    let run = with_token(&w, &reg).run();
    shots.add(
        "an unclear answer, then the version found on the registry",
        shot(&w, &run, 0, false),
    );

    // A first publish: trusted publishing is tried with an id token that
    // names no trusted-publisher values (not a JWT), the registry knows no
    // such package, and the token publishes it.
    let w = Ws::new("tk-first", &[member("a", &[])]);
    let reg = FakeRegistry::start();
    reg.script_posts([Reply::status(
        404,
        "OIDC token exchange error - package not found",
    )]);
    let id_token = "opaque-id-token-0123456789";
    w.sb.add_secret(id_token);
    w.sb.login(&reg.url());
    let run =
        w.sb.trustpub(["publish", "--workspaces", "--trusted-publishing", "auto"])
            .args(["--registry", &reg.url()])
            .cwd(&w.root)
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("NPM_ID_TOKEN", id_token)
            .env("GITHUB_OUTPUT", &w.output)
            .run();
    shots.add(
        "a new package published with the token after trusted publishing was tried",
        shot(&w, &run, 0, false),
    );
    assert_eq!(reg.versions(&w.name("a")), ["1.0.0"]);
    snap!("workspace_token_publish", shots.0);
}

// ---------------------------------------------------------------------------
// --changesets: a tag git refuses, an events file that cannot be appended to

#[test]
fn changesets_failures() {
    let mut shots = Shots::default();
    let git = |w: &Ws, args: &[&str]| git_in(&w.root, &w.sb.root, args);
    let changesets = |w: &'_ Ws, reg: &FakeRegistry, events: &std::path::Path| -> Run {
        with_token(w, reg)
            .arg("--changesets")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .env("CHANGESETS_OUTPUT", events)
            .run()
    };

    // "a..b" is a valid npm name, and "..": is refused in a git ref.
    let w = Ws::new("cs-dots", &[member("a..b", &[])]);
    git(&w, &["init", "-q"]);
    git(&w, &["add", "."]);
    git(&w, &["commit", "-q", "-m", "init"]);
    let reg = FakeRegistry::start();
    let events = w.sb.root.join("events.ndjson");
    let run = changesets(&w, &reg, &events);
    shots.add("a tag name git refuses", shot(&w, &run, 1, false));
    assert_eq!(reg.versions(&w.name("a..b")), ["1.0.0"]);
    assert_eq!(git(&w, &["tag", "--list"]), "");

    // The postpublish script puts a directory where the events file was.
    let w = Ws::new("cs-event", &[member("a", &[])]);
    let events = w.sb.root.join("events.ndjson");
    edit(&w, "a", |m| {
        // Relative (scripts run in the package's directory), so that the
        // size of package.json does not change with the sandbox's path.
        m["scripts"] =
            json!({"postpublish": "rm -f ../../../events.ndjson && mkdir ../../../events.ndjson"})
    });
    git(&w, &["init", "-q"]);
    git(&w, &["add", "."]);
    git(&w, &["commit", "-q", "-m", "init"]);
    let reg = FakeRegistry::start();
    let run = changesets(&w, &reg, &events);
    shots.add(
        "CHANGESETS_OUTPUT cannot be appended to",
        shot(&w, &run, 1, false),
    );
    assert!(events.is_dir());
    assert_eq!(
        git(&w, &["tag", "--list"]).trim(),
        format!("{}@1.0.0", w.name("a"))
    );
    snap!("workspace_changesets_failures", shots.0);
}

// ---------------------------------------------------------------------------
// doctor over a workspace

fn doctor_shot(sb: &Sandbox, run: &Run, code: i32) -> String {
    assert_eq!(run.code(), Some(code), "{}", run.describe);
    render(&Redact::new(sb), run, None)
}

/// `core` and `lib` (depends on core), both with a job in
/// [`RELEASE_YML`], and a private `docs`.
fn doctor_ws(sb: &Sandbox, release_yml: &str) -> std::path::PathBuf {
    let root = sb.root.join("mono");
    let repo = r#""repository": "github:acme/mono""#;
    lay(
        &root,
        &[
            (
                "package.json",
                r#"{"name":"mono","private":true,"workspaces":["packages/*"]}"#,
            ),
            (".github/workflows/release.yml", release_yml),
            (
                "packages/core/package.json",
                &format!(r#"{{"name":"@acme/core","version":"1.1.0",{repo}}}"#),
            ),
            (
                "packages/docs/package.json",
                r#"{"name":"@acme/docs","version":"0.0.0","private":true}"#,
            ),
            (
                "packages/lib/package.json",
                &format!(
                    r#"{{"name":"@acme/lib","version":"0.2.0",{repo},"dependencies":{{"@acme/core":"^1.1.0"}}}}"#
                ),
            ),
        ],
    );
    fs::create_dir_all(root.join(".git")).unwrap();
    root
}

#[test]
fn doctor_workspace_verdicts() {
    let mut shots = Shots::default();

    // Every package ready; one skipped.
    let sb = Sandbox::new();
    let registry = FakeRegistry::start();
    registry.seed("@acme/core", "1.0.0", "sha512-x", Some("latest"));
    registry.seed("@acme/lib", "0.1.0", "sha512-x", Some("latest"));
    let root = doctor_ws(&sb, RELEASE_YML);
    let run = sb
        .trustpub(["doctor", "--registry", &registry.url()])
        .cwd(&root)
        .run();
    shots.add(
        "ready: every package, one skipped",
        doctor_shot(&sb, &run, 0),
    );

    // core's job sets up Node with an action doctor cannot read.
    let remote = RELEASE_YML.replacen(
        "      - uses: actions/setup-node@v5\n        with:\n          node-version: 24\n      - run: npx trustpub publish\n",
        "      - uses: acme/ci-actions/setup@v3\n      - run: npm publish\n",
        1,
    );
    assert_ne!(remote, RELEASE_YML);
    let sb = Sandbox::new();
    let root = doctor_ws(&sb, &remote);
    let run = sb
        .trustpub(["doctor", "--registry", &registry.url()])
        .cwd(&root)
        .run();
    shots.add("cannot tell for one package", doctor_shot(&sb, &run, 1));

    // A cycle, and a new package without CI files (so no values).
    let sb = Sandbox::new();
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
            ("p/c/package.json", r#"{"name":"c","version":"1.0.0"}"#),
        ],
    );
    fs::create_dir_all(root.join(".git")).unwrap();
    let registry = FakeRegistry::start();
    registry.seed("a", "0.1.0", "sha512-x", Some("latest"));
    registry.seed("b", "0.1.0", "sha512-x", Some("latest"));
    let run = sb
        .trustpub(["doctor", "--registry", &registry.url()])
        .cwd(&root)
        .run();
    shots.add(
        "a dependency cycle and a new package without CI files",
        doctor_shot(&sb, &run, 1),
    );
    snap!("doctor_workspace_verdicts", shots.0);
}
