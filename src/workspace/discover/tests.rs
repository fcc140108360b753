use super::*;

/// A workspace laid out from `(relative path, contents)` pairs in a fresh
/// directory; the directory (canonical) is returned with its guard.
fn layout(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(t.path()).unwrap();
    for (path, text) in files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    (t, root)
}

fn pkg(name: &str) -> String {
    format!(r#"{{"name":"{name}","version":"1.0.0"}}"#)
}

fn names(ms: &[&Member]) -> Vec<String> {
    ms.iter().map(|m| m.name.clone()).collect()
}

fn all(ws: &Workspace) -> Vec<String> {
    ws.members.iter().map(|m| m.name.clone()).collect()
}

#[test]
fn npm_members_in_pattern_order_and_from_inside_a_member() {
    let (_t, root) = layout(&[
        (
            "package.json",
            r#"{"name":"root","workspaces":["packages/z*","packages/*","!packages/skip"]}"#,
        ),
        ("packages/a/package.json", &pkg("a")),
        ("packages/zed/package.json", &pkg("zed")),
        ("packages/skip/package.json", &pkg("skip")),
        ("packages/B/package.json", &pkg("B")),
        ("packages/empty/README.md", "no package.json"),
        ("packages/@s/x/package.json", "{}"),
        ("packages/node_modules/q/package.json", &pkg("q")),
        ("packages/a/src/lib/x.js", ""),
    ]);
    let ws = find(&root).unwrap().unwrap();
    assert_eq!(ws.root, root);
    assert_eq!(ws.manager, Manager::Npm);
    assert_eq!(all(&ws), ["zed", "a", "B"]);
    assert_eq!(ws.root_package.as_ref().unwrap().rel, ".");
    assert_eq!(ws.members[1].rel, "packages/a");
    // From deep inside a member the root is found as npm finds it.
    let inner = find(&root.join("packages/a/src/lib")).unwrap().unwrap();
    assert_eq!(inner.root, root);
    // Outside any workspace: none.
    let (_u, lone) = layout(&[("package.json", &pkg("lone"))]);
    assert!(find(&lone).unwrap().is_none());
}

#[test]
fn a_nameless_member_is_named_after_its_folder() {
    let (_t, root) = layout(&[
        (
            "package.json",
            r#"{"workspaces":{"packages":["packages/**"]}}"#,
        ),
        ("packages/@s/x/package.json", "{}"),
        ("packages/plain/package.json", r#"{"name":""}"#),
    ]);
    let ws = find(&root).unwrap().unwrap();
    assert_eq!(all(&ws), ["@s/x", "plain"]);
}

#[test]
fn duplicate_names_and_bad_files_are_configuration_errors() {
    let (_t, root) = layout(&[
        ("package.json", r#"{"workspaces":["a","b"]}"#),
        ("a/package.json", &pkg("same")),
        ("b/package.json", &pkg("same")),
    ]);
    let e = find(&root).unwrap_err();
    assert!(matches!(e, WorkspaceError::Duplicate { .. }), "{e}");
    assert_eq!(e.exit_code(), 2);

    let (_t, root) = layout(&[
        ("package.json", r#"{"workspaces":["a"]}"#),
        ("a/package.json", "{ not json"),
    ]);
    let e = find(&root).unwrap_err();
    assert!(
        e.to_string().contains("a/package.json is not valid JSON"),
        "{e}"
    );

    let (_t, root) = layout(&[("package.json", r#"{"workspaces":"packages/*"}"#)]);
    let e = find(&root).unwrap_err();
    assert!(
        e.to_string()
            .contains("field \"workspaces\" must be an array"),
        "{e}"
    );
    assert!(e.hint().contains("package.json"), "{}", e.hint());

    let (_t, root) = layout(&[("pnpm-workspace.yaml", "packages: [\n")]);
    let e = find(&root).unwrap_err();
    assert!(matches!(e, WorkspaceError::Yaml { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("pnpm-workspace.yaml is not valid YAML"),
        "{e}"
    );

    let (_t, root) = layout(&[("pnpm-workspace.yaml", "packages: apps/*\n")]);
    let e = find(&root).unwrap_err();
    assert!(
        e.to_string().contains("field \"packages\" must be a list"),
        "{e}"
    );
}

#[test]
fn pnpm_members_catalogs_and_ignored_directories() {
    let (_t, root) = layout(&[
        ("package.json", &pkg("root")),
        (
            "pnpm-workspace.yaml",
            "packages:\n  - 'packages/**'\n  - apps/*\n  - '!packages/internal/**'\n\
             catalog:\n  react: ^18.2.0\ncatalogs:\n  legacy:\n    react: ^16.0.0\n",
        ),
        ("packages/a/package.json", &pkg("a")),
        ("packages/a/nested/package.json", &pkg("nested")),
        ("packages/a/test/fixture/package.json", &pkg("fixture")),
        ("packages/internal/x/package.json", &pkg("internal")),
        ("packages/.hidden/package.json", &pkg("hidden")),
        ("apps/web/package.json", &pkg("web")),
        ("apps/web/sub/package.json", &pkg("sub")),
    ]);
    let ws = find(&root.join("apps/web")).unwrap().unwrap();
    assert_eq!(ws.root, root);
    assert_eq!(ws.manager, Manager::Pnpm);
    assert_eq!(
        ws.manager_reason,
        "pnpm-workspace.yaml in the workspace root"
    );
    assert_eq!(all(&ws), ["web", "a", "nested", "fixture"]);
    assert_eq!(ws.root_package.as_ref().unwrap().name, "root");
    assert_eq!(ws.catalogs["default"]["react"], "^18.2.0");
    assert_eq!(ws.catalogs["legacy"]["react"], "^16.0.0");

    // No packages field: the root only (pnpm 10's `packages ?? ['.']`).
    let (_t, root) = layout(&[
        ("pnpm-workspace.yaml", "catalog:\n  x: 1.0.0\n"),
        ("package.json", &pkg("root")),
        ("one/package.json", &pkg("one")),
        ("deep/two/package.json", &pkg("two")),
    ]);
    let ws = find(&root).unwrap().unwrap();
    assert!(all(&ws).is_empty());
    assert_eq!(ws.root_package.unwrap().name, "root");

    let (_t, root) = layout(&[(
        "pnpm-workspace.yaml",
        "catalog:\n  x: 1.0.0\ncatalogs:\n  default:\n    x: 2.0.0\n",
    )]);
    let e = find(&root).unwrap_err();
    assert!(e.to_string().contains("catalogs.default"), "{e}");
}

#[test]
fn manager_detection_and_its_reason() {
    type Files<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Files, Manager, &str); 7] = [
        (
            &[(
                "package.json",
                r#"{"workspaces":[],"packageManager":"pnpm@10.12.1+sha512.abc"}"#,
            )],
            Manager::Pnpm,
            "packageManager \"pnpm@10.12.1\" in package.json",
        ),
        (
            &[(
                "package.json",
                r#"{"workspaces":[],"devEngines":{"packageManager":[{"name":"bun"}]}}"#,
            )],
            Manager::Bun,
            "devEngines.packageManager \"bun\" in package.json",
        ),
        (
            &[("package.json", r#"{"workspaces":[]}"#), ("yarn.lock", "")],
            Manager::Yarn,
            "yarn.lock in the workspace root",
        ),
        (
            &[
                ("package.json", r#"{"workspaces":[]}"#),
                (".yarnrc.yml", ""),
            ],
            Manager::Yarn,
            ".yarnrc.yml in the workspace root",
        ),
        (
            &[("package.json", r#"{"workspaces":[]}"#), ("bun.lockb", "")],
            Manager::Bun,
            "bun.lockb in the workspace root",
        ),
        (
            &[
                (
                    "package.json",
                    r#"{"workspaces":[],"packageManager":"yarn@4.1.0"}"#,
                ),
                ("bun.lock", ""),
            ],
            Manager::Yarn,
            "packageManager \"yarn@4.1.0\" in package.json",
        ),
        (
            &[("package.json", r#"{"workspaces":[]}"#)],
            Manager::Npm,
            "no packageManager field, pnpm, yarn or bun file in the workspace root",
        ),
    ];
    for (files, want, reason) in cases {
        let (_t, root) = layout(files);
        let ws = find(&root).unwrap().unwrap();
        assert_eq!((ws.manager, ws.manager_reason.as_str()), (want, reason));
    }
}

#[test]
fn bun_catalogs_in_workspaces_or_at_the_top() {
    let (_t, root) = layout(&[(
        "package.json",
        r#"{"workspaces":{"packages":["p/*"],"catalog":{"a":"^1"},"catalogs":{"t":{"b":"~2"}}},"catalogs":{"u":{"c":"3"}}}"#,
    )]);
    let ws = find(&root).unwrap().unwrap();
    assert_eq!(ws.catalogs["default"]["a"], "^1");
    assert_eq!(ws.catalogs["t"]["b"], "~2");
    assert_eq!(ws.catalogs["u"]["c"], "3");
    let (_t, root) = layout(&[(
        "package.json",
        r#"{"workspaces":{"packages":[],"catalog":{"a":1}}}"#,
    )]);
    let e = find(&root).unwrap_err();
    assert!(
        e.to_string()
            .contains("\"workspaces.catalog.a\" must be a version range"),
        "{e}"
    );
}

#[test]
fn selection_by_name_path_directory_and_root() {
    let (_t, root) = layout(&[
        (
            "package.json",
            r#"{"name":"root","workspaces":["packages/*","apps/*"]}"#,
        ),
        ("packages/a/package.json", &pkg("@s/a")),
        ("packages/a/src/x.js", ""),
        ("packages/b/package.json", &pkg("b")),
        ("apps/web/package.json", &pkg("web")),
    ]);
    let ws = find(&root).unwrap().unwrap();
    let sel = |filters: &[&str], include_root: bool, cwd: &Path| {
        select(
            &ws,
            cwd,
            &Selection {
                all: filters.is_empty(),
                filters: filters.iter().map(|s| s.to_string()).collect(),
                include_root,
            },
        )
        .map(|v| names(&v))
    };
    assert_eq!(sel(&[], false, &root).unwrap(), ["@s/a", "b", "web"]);
    assert_eq!(sel(&[], true, &root).unwrap(), ["root", "@s/a", "b", "web"]);
    assert_eq!(
        sel(&["web", "@s/a"], false, &root).unwrap(),
        ["web", "@s/a"]
    );
    assert_eq!(sel(&["packages"], false, &root).unwrap(), ["@s/a", "b"]);
    assert_eq!(sel(&["./packages/b"], false, &root).unwrap(), ["b"]);
    // Paths are relative to the current directory inside the root.
    let inside = root.join("packages/a");
    assert_eq!(sel(&["../b"], false, &inside).unwrap(), ["b"]);
    assert_eq!(sel(&["b"], true, &inside).unwrap(), ["root", "b"]);
    // No filter inside a member: that member (npm's implicit filter).
    assert_eq!(sel(&[], false, &inside.join("src")).unwrap(), ["@s/a"]);
    assert_eq!(sel(&[], true, &inside).unwrap(), ["root", "@s/a"]);
    let e = sel(&["nope", "x/y"], false, &root).unwrap_err();
    assert_eq!(
        e.to_string(),
        "No workspaces found: --workspace=nope --workspace=x/y"
    );
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn pnpm_keeps_two_packages_of_one_name() {
    let (_t, root) = layout(&[
        ("pnpm-workspace.yaml", "packages: ['fixtures/*']\n"),
        ("fixtures/one/package.json", r#"{"name":"mylib"}"#),
        ("fixtures/two/package.json", r#"{"name":"mylib"}"#),
    ]);
    let ws = find(&root).unwrap().unwrap();
    assert_eq!(all(&ws), ["mylib", "mylib"]);
    let got = select(&ws, &root, &Selection::default()).unwrap();
    assert_eq!(got.len(), 2);
}

#[test]
fn pnpm_selection_also_matches_names_with_a_star() {
    let (_t, root) = layout(&[
        ("pnpm-workspace.yaml", "packages: ['packages/*']\n"),
        ("packages/a/package.json", &pkg("@s/a")),
        ("packages/b/package.json", &pkg("@s/b")),
        ("packages/c/package.json", &pkg("c")),
    ]);
    let ws = find(&root).unwrap().unwrap();
    let got = select(
        &ws,
        &root,
        &Selection {
            all: false,
            filters: vec!["@s/*".into()],
            include_root: false,
        },
    )
    .unwrap();
    assert_eq!(names(&got), ["@s/a", "@s/b"]);
}
