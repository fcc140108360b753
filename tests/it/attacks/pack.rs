//! Issue #10 item 2, end to end: a secret file that the workspace root's
//! `.gitignore` keeps out of npm's tarball must not reach the registry in
//! trustpub's. The package is a workspace of a root `package.json`; its
//! `prod.env` holds a planted secret and nothing in the package itself
//! excludes it. `trustpub publish` (given the directory, and from inside
//! it) uploads to a loopback fake registry; the uploaded tarball is opened
//! and must hold the package's code but not `prod.env`. The same package
//! outside any workspace keeps `prod.env` (so the test can tell).

use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::fake_registry::FakeRegistry;
use crate::support::sandbox::Sandbox;
use crate::support::tar;

const SECRET: &str = "WS_SECRET_3f9c1e7a5b2d4c6e8a0b";

/// The paths inside the one tarball of the `i`th PUT.
fn uploaded_paths(reg: &FakeRegistry, i: usize) -> Vec<String> {
    let puts = reg.puts();
    let put = puts.get(i).unwrap_or_else(|| panic!("no PUT #{i}"));
    let doc: Value = serde_json::from_slice(&put.body).expect("publish body is JSON");
    let att = doc["_attachments"].as_object().expect("_attachments");
    assert_eq!(att.len(), 1, "one attachment");
    let data = att.values().next().unwrap()["data"]
        .as_str()
        .expect("attachment data");
    let tgz = base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64");
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(&tgz[..])
        .read_to_end(&mut raw)
        .expect("gunzip");
    let ar = tar::parse(&raw);
    assert!(ar.error.is_none(), "bad tar: {:?}", ar.error);
    ar.entries.iter().map(|e| e.path()).collect()
}

fn workspace_package(sb: &Sandbox, root: &str, name: &str) -> std::path::PathBuf {
    sb.package(
        root,
        &json!({ "name": "ws-root", "version": "1.0.0", "private": true, "workspaces": ["packages/*"] }),
        &[(".gitignore", "*.env\n")],
    );
    package_at(
        sb,
        &format!("{root}/packages/a"),
        name,
        &format!("TOKEN={SECRET}\n"),
    )
}

fn package_at(sb: &Sandbox, dir: &str, name: &str, env: &str) -> std::path::PathBuf {
    sb.package(
        dir,
        &json!({ "name": name, "version": "1.0.0", "license": "MIT" }),
        &[("index.js", "module.exports = 1\n"), ("prod.env", env)],
    )
}

fn publish(sb: &Sandbox, reg: &FakeRegistry, target: &str, cwd: &Path) {
    sb.trustpub(["publish", target, "--registry"])
        .arg(reg.url())
        .cwd(cwd)
        .run()
        .success();
}

#[test]
fn workspace_root_gitignore_keeps_a_secret_out_of_the_upload() {
    let sb = Sandbox::new();
    sb.add_secret(SECRET);
    let reg = FakeRegistry::start();
    sb.login(&reg.url());

    // Given the directory, from the sandbox root.
    let a = workspace_package(&sb, "ws1", "trustpub-it-ws-secret-1");
    publish(&sb, &reg, &a.to_string_lossy(), &sb.root);
    // From inside the package.
    let b = workspace_package(&sb, "ws2", "trustpub-it-ws-secret-2");
    publish(&sb, &reg, ".", &b);
    // Not a workspace: prod.env is an ordinary file and is packed.
    let c = package_at(
        &sb,
        "alone/packages/a",
        "trustpub-it-ws-secret-3",
        "PUBLIC=1\n",
    );
    publish(&sb, &reg, &c.to_string_lossy(), &sb.root);

    for i in 0..2 {
        let paths = uploaded_paths(&reg, i);
        assert!(
            paths.iter().any(|p| p == "package/index.js"),
            "upload #{i} lacks the package's code: {paths:?}"
        );
        assert!(
            !paths.iter().any(|p| p.ends_with(".env")),
            "upload #{i} carries prod.env, which the workspace root's .gitignore excludes: {paths:?}"
        );
    }
    let alone = uploaded_paths(&reg, 2);
    assert!(
        alone.iter().any(|p| p == "package/prod.env"),
        "outside a workspace prod.env is packed (npm does): {alone:?}"
    );
}

// ---------------------------------------------------------------------------
// Bundled dependencies that are symlinks (issue #9). npm 11.19.1 follows a
// bundled link wherever it points: a `file:../dep` sibling is packed (as
// npm does, and as the control case checks), a link to `/` makes npm walk
// the whole machine (it dies on a vanishing /proc entry), a link to a parent
// directory packs that whole directory. trustpub refuses a target that
// holds the package (`/`, a parent) or a kernel file system (`/proc`),
// before reading a file, and nothing is uploaded.

const LINK_SECRET: &str = "LINK_SECRET_8d2f6a1c9e3b5d7f0a4c";

/// `proj/pkg` bundling `evil`, with `node_modules/evil` -> `target`; the
/// parent `proj` holds a secret file.
fn linked_bundle(sb: &Sandbox, dir: &str, target: &str) -> std::path::PathBuf {
    let pkg = sb.package(
        &format!("{dir}/pkg"),
        &json!({
            "name": "trustpub-it-bundled-link",
            "version": "1.0.0",
            "dependencies": { "evil": "1.0.0" },
            "bundleDependencies": ["evil"],
        }),
        &[("index.js", "module.exports = 1\n")],
    );
    let outside = sb.package(
        &format!("{dir}/evil-src"),
        &json!({ "name": "evil", "version": "1.0.0" }),
        &[
            ("index.js", "module.exports = 2\n"),
            ("secret.txt", &format!("{LINK_SECRET}\n")),
        ],
    );
    std::fs::write(
        outside.parent().unwrap().join("secret.txt"),
        format!("{LINK_SECRET}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(pkg.join("node_modules")).unwrap();
    std::os::unix::fs::symlink(target, pkg.join("node_modules/evil")).unwrap();
    pkg
}

#[test]
fn bundled_link_to_root_parent_or_proc_is_refused_and_nothing_uploaded() {
    let sb = Sandbox::new();
    sb.add_secret(LINK_SECRET);
    let reg = FakeRegistry::start();
    sb.login(&reg.url());

    for (i, target) in ["/", "../..", "/proc/self"].into_iter().enumerate() {
        let pkg = linked_bundle(&sb, &format!("case{i}"), target);
        // bounded: walking `/` used to exhaust memory
        let run = sb
            .trustpub_limited(1 << 30, ["publish", &*pkg.to_string_lossy(), "--registry"])
            .arg(reg.url())
            .run();
        run.expect_code(2)
            .stderr_has("bundled dependency node_modules/evil is a link to");
        let mut dry = sb
            .trustpub_limited(1 << 30, ["pack", "--dry-run", "--json"])
            .arg(&pkg)
            .run();
        dry.expect_code(2);
        assert!(
            !dry.stdout().contains("secret.txt") && !dry.stdout().contains("environ"),
            "link to {target}: outside files listed: {}",
            dry.stdout()
        );
        dry = sb.trustpub(["pack"]).arg(&pkg).cwd(&pkg).run();
        dry.expect_code(2);
        assert!(
            !pkg.join("trustpub-it-bundled-link-1.0.0.tgz").exists(),
            "link to {target}: a tarball was written"
        );
    }
    assert!(reg.puts().is_empty(), "a refused package was uploaded");

    // Control: a `file:` sibling outside the package is packed, as npm does.
    let pkg = linked_bundle(&sb, "ok", "../../evil-src");
    sb.trustpub(["publish", &*pkg.to_string_lossy(), "--registry"])
        .arg(reg.url())
        .run()
        .success();
    let paths = uploaded_paths(&reg, 0);
    assert!(
        paths
            .iter()
            .any(|p| p == "package/node_modules/evil/index.js"),
        "the linked sibling is bundled: {paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p == "package/secret.txt"),
        "the parent's file is not: {paths:?}"
    );
}

/// In a git work tree, a committed bundled link that leaves the tree
/// (`node_modules/evil -> <a directory of the runner>`) is refused before
/// anything is read; the same link inside the tree is packed.
#[test]
fn in_a_git_work_tree_a_bundled_link_may_not_leave_it() {
    let sb = Sandbox::new();
    sb.add_secret(LINK_SECRET);
    let reg = FakeRegistry::start();
    sb.login(&reg.url());
    // `case/pkg` is the repository; `case/evil-src` is outside it.
    let pkg = linked_bundle(&sb, "case", "../../evil-src");
    std::fs::create_dir_all(pkg.join(".git")).unwrap();
    let run = sb
        .trustpub(["publish", &*pkg.to_string_lossy(), "--registry"])
        .arg(reg.url())
        .run();
    run.expect_code(2)
        .stderr_has("bundled dependency node_modules/evil is a link to");
    assert!(reg.puts().is_empty(), "a refused package was uploaded");

    // The whole `inside` directory is the repository: the link stays in it.
    let pkg = linked_bundle(&sb, "inside", "../../evil-src");
    std::fs::create_dir_all(pkg.parent().unwrap().join(".git")).unwrap();
    sb.trustpub(["publish", &*pkg.to_string_lossy(), "--registry"])
        .arg(reg.url())
        .run()
        .success();
    assert!(uploaded_paths(&reg, 0)
        .iter()
        .any(|p| p == "package/node_modules/evil/index.js"));
}
