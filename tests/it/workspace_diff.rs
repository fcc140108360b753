//! Workspace discovery and selection against the real npm 11.19.1: for
//! each workspace and flag set, the packages `npm pack --dry-run --json`
//! lists (names, in order; no network needed) must be the members
//! `trustpub::workspace::discover::{find, select}` returns, and where npm
//! finds no workspace, trustpub must fail too.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use trustpub::workspace::discover::{find, select, Selection};

use crate::support::sandbox::Sandbox;

/// Writes `files` under `root`.
fn lay(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
}

fn pkg(name: &str) -> String {
    format!(r#"{{"name":"{name}","version":"1.0.0"}}"#)
}

/// npm's answer: the package names it packs, or its error text.
fn npm_names(sb: &Sandbox, cwd: &Path, flags: &[&str]) -> Result<Vec<String>, String> {
    let run = sb
        .npm(["pack", "--dry-run", "--json", "--ignore-scripts"])
        .args(flags)
        .cwd(cwd)
        .run();
    if run.code() != Some(0) {
        return Err(run.stderr().to_string());
    }
    let doc: Value = serde_json::from_str(run.stdout())
        .unwrap_or_else(|e| panic!("npm pack --json printed no JSON ({e}): {}", run.stdout()));
    Ok(doc
        .as_array()
        .unwrap_or_else(|| panic!("npm pack --json: not an array: {doc}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect())
}

/// trustpub's answer for the same flags.
fn our_names(cwd: &Path, flags: &[&str]) -> Result<Vec<String>, String> {
    let mut sel = Selection::default();
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        match *f {
            "--workspaces" => sel.all = true,
            "--include-workspace-root" => sel.include_root = true,
            "-w" => sel.filters.push(it.next().unwrap().to_string()),
            other => panic!("flag {other} is not modelled"),
        }
    }
    let ws = find(cwd)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no workspace".to_string())?;
    select(&ws, cwd, &sel)
        .map(|ms| ms.iter().map(|m| m.name.clone()).collect())
        .map_err(|e| e.to_string())
}

fn compare(sb: &Sandbox, root: &Path, cases: &[(&str, &[&str])]) {
    for (cwd_rel, flags) in cases {
        let cwd: PathBuf = root.join(cwd_rel);
        let npm = npm_names(sb, &cwd, flags);
        let ours = our_names(&cwd, flags);
        match (&npm, &ours) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "in {cwd_rel:?} with {flags:?}"),
            (Err(a), Err(b)) => {
                // Both fail for the same reason, with the same words.
                assert_eq!(
                    a.contains("No workspaces found"),
                    b.starts_with("No workspaces found"),
                    "npm: {a}\nours: {b}"
                );
            }
            _ => panic!("in {cwd_rel:?} with {flags:?}: npm {npm:?}, trustpub {ours:?}"),
        }
    }
}

#[test]
fn members_and_selection_match_npm() {
    let sb = Sandbox::new();
    let root = sb.root.join("ws");
    lay(
        &root,
        &[
            (
                "package.json",
                r#"{"name":"root","version":"1.0.0","workspaces":["packages/z*","packages/*","!packages/b","apps/**","!apps/x/**","tools/@scope/*"]}"#,
            ),
            ("packages/a/package.json", &pkg("pa")),
            ("packages/a/src/lib/index.js", ""),
            ("packages/b/package.json", &pkg("pb")),
            ("packages/c/package.json", &pkg("pc")),
            ("packages/zz/package.json", &pkg("pzz")),
            ("packages/Upper/package.json", &pkg("pupper")),
            ("packages/_under/package.json", &pkg("punder")),
            ("packages/no-manifest/README.md", "no package.json here"),
            ("packages/.hidden/package.json", &pkg("phidden")),
            ("packages/node_modules/nm/package.json", &pkg("nm")),
            ("apps/web/package.json", &pkg("aweb")),
            ("apps/x/package.json", &pkg("ax")),
            ("apps/x/y/package.json", &pkg("axy")),
            ("apps/z/deep/er/package.json", &pkg("azdeeper")),
            ("apps/z/package.json", &pkg("az")),
            ("tools/@scope/t1/package.json", &pkg("@scope/t1")),
        ],
    );
    compare(
        &sb,
        &root,
        &[
            ("", &["--workspaces"]),
            ("", &["--workspaces", "--include-workspace-root"]),
            ("", &["-w", "pc"]),
            ("", &["-w", "@scope/t1", "-w", "pa"]),
            ("", &["-w", "packages/c"]),
            ("", &["-w", "./packages/zz"]),
            ("", &["-w", "apps"]),
            ("", &["-w", "apps/z"]),
            ("", &["-w", "packages", "--include-workspace-root"]),
            ("", &["-w", "pb"]),
            ("", &["-w", "packages/b"]),
            ("", &["-w", "nope", "-w", "apps/x"]),
            ("packages/a", &["--workspaces"]),
            ("packages/a/src/lib", &["--workspaces"]),
            ("packages/a", &["-w", "../c"]),
            ("packages/a", &["-w", "pzz"]),
            ("packages/a", &["-w", "packages/c"]),
            ("apps", &["-w", "web"]),
            ("apps", &["--workspaces"]),
        ],
    );
}

#[test]
fn object_form_nested_patterns_and_readmission_match_npm() {
    let sb = Sandbox::new();
    let root = sb.root.join("ws2");
    lay(
        &root,
        &[
            (
                "package.json",
                r#"{"name":"root2","version":"1.0.0","workspaces":{"packages":["./libs/**/","!libs/b/**","libs/b/keep","/extra","!!libs/dbl"]}}"#,
            ),
            ("libs/a/package.json", &pkg("la")),
            ("libs/a/inner/package.json", &pkg("lainner")),
            ("libs/b/package.json", &pkg("lb")),
            ("libs/b/drop/package.json", &pkg("lbdrop")),
            ("libs/b/keep/package.json", &pkg("lbkeep")),
            ("libs/dbl/package.json", &pkg("ldbl")),
            ("libs/package.json", &pkg("libs")),
            ("extra/package.json", &pkg("extra")),
        ],
    );
    compare(
        &sb,
        &root,
        &[
            ("", &["--workspaces"]),
            ("", &["-w", "libs"]),
            ("", &["-w", "libs/b"]),
            ("libs/a/inner", &["--workspaces"]),
            ("libs/a/inner", &["-w", "../../dbl"]),
        ],
    );
}

#[test]
fn a_workspace_without_members_fails_as_in_npm() {
    let sb = Sandbox::new();
    let root = sb.root.join("ws3");
    lay(
        &root,
        &[
            (
                "package.json",
                r#"{"name":"root3","version":"1.0.0","workspaces":["nothing/*"]}"#,
            ),
            ("nothing/README.md", ""),
        ],
    );
    compare(
        &sb,
        &root,
        &[
            ("", &["--workspaces"]),
            ("", &["--workspaces", "--include-workspace-root"]),
        ],
    );
    // And trustpub really fails there (compare accepts two failures).
    let e = our_names(&root, &["--workspaces"]).unwrap_err();
    assert_eq!(e, "No workspaces found!");
}

/// pnpm's own list of a workspace's projects (`pnpm ls -r --depth -1
/// --json`, pnpm 10 from tests/tools; no install, no network), as
/// directories relative to the root (`.` for the root), in its order.
fn pnpm_projects(sb: &Sandbox, root: &Path) -> Vec<String> {
    let pnpm = crate::support::verdaccio::ensure_tools().join("node_modules/pnpm10/bin/pnpm.cjs");
    assert!(
        pnpm.is_file(),
        "pnpm 10 is not installed at {}",
        pnpm.display()
    );
    let mut cmd = std::process::Command::new("node");
    cmd.arg(&pnpm)
        .args(["ls", "-r", "--depth", "-1", "--json"])
        .arg("--config.manage-package-manager-versions=false");
    crate::support::apply_env(&mut cmd, &sb.home);
    cmd.current_dir(root);
    let scratch = sb.root.join("pnpm-scratch");
    fs::create_dir_all(&scratch).unwrap();
    let out = crate::support::run(cmd, &scratch, "pnpm-ls");
    assert!(out.status.success(), "pnpm ls failed: {}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("pnpm ls printed no JSON ({e}): {}", out.stdout));
    let real_root = fs::canonicalize(root).unwrap();
    doc.as_array()
        .unwrap_or_else(|| panic!("pnpm ls --json: not an array: {doc}"))
        .iter()
        .map(|p| {
            let path = PathBuf::from(p["path"].as_str().unwrap());
            let rel = path.strip_prefix(&real_root).unwrap_or(&path);
            if rel.as_os_str().is_empty() {
                ".".to_string()
            } else {
                rel.to_string_lossy().into_owned()
            }
        })
        .collect()
}

/// trustpub's projects of the same workspace: the root package (pnpm
/// always counts it), then the members.
fn our_projects(root: &Path) -> Vec<String> {
    let ws = find(root).unwrap().expect("a workspace");
    assert_eq!(ws.manager, trustpub::workspace::Manager::Pnpm);
    ws.root_package
        .iter()
        .chain(&ws.members)
        .map(|m| m.rel.clone())
        .collect()
}

#[test]
fn pnpm_projects_match_pnpm() {
    let sb = Sandbox::new();
    let root = sb.root.join("pnpm-ws");
    lay(
        &root,
        &[
            ("package.json", &pkg("pnpm-root")),
            (
                "pnpm-workspace.yaml",
                "packages:\n  - 'packages/**'\n  - '!packages/**/fixtures/**'\n  - ./apps/*/\n  - '!apps/legacy'\n  - 'tools/{a,b}'\n  - 'tools/*-x'\n",
            ),
            ("packages/a/package.json", &pkg("a")),
            ("packages/a/nested/package.json", &pkg("a-nested")),
            ("packages/a/test/t1/package.json", &pkg("t1")),
            ("packages/tests/t2/package.json", &pkg("t2")),
            ("packages/a/fixtures/f/package.json", &pkg("f")),
            ("packages/.hidden/package.json", &pkg("hidden")),
            ("packages/node_modules/n/package.json", &pkg("n")),
            ("packages/bower_components/bc/package.json", &pkg("bc")),
            ("packages/Zed/package.json", &pkg("zed")),
            ("packages/_u/package.json", &pkg("u")),
            ("packages/no-manifest/README.md", ""),
            ("apps/web/package.json", &pkg("web")),
            ("apps/web/sub/package.json", &pkg("web-sub")),
            ("apps/legacy/package.json", &pkg("legacy")),
            ("tools/a/package.json", &pkg("ta")),
            ("tools/b/package.json", &pkg("tb")),
            ("tools/c/package.json", &pkg("tc")),
            ("tools/c-x/package.json", &pkg("tcx")),
            ("other/package.json", &pkg("other")),
        ],
    );
    let theirs = pnpm_projects(&sb, &root);
    assert!(theirs.len() > 5, "pnpm found too few projects: {theirs:?}");
    assert_eq!(our_projects(&root), theirs);

    // No `packages` field: every package in the tree (pnpm's ['.', '**']).
    let all = sb.root.join("pnpm-all");
    lay(
        &all,
        &[
            ("package.json", &pkg("all-root")),
            ("pnpm-workspace.yaml", "catalog:\n  left-pad: ^1.3.0\n"),
            ("x/package.json", &pkg("x")),
            ("deep/er/y/package.json", &pkg("y")),
            ("deep/test/z/package.json", &pkg("z")),
        ],
    );
    assert_eq!(our_projects(&all), pnpm_projects(&sb, &all));
}
