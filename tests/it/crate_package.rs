//! What `cargo publish` would upload, and where `cargo binstall` would look.
//!
//! The crate must hold what builds trustpub and nothing else (the repository
//! has hundreds of fixture files, some with names Windows cannot hold), and
//! the `[package.metadata.binstall]` templates must expand to the release
//! assets the release workflow uploads:
//! `https://github.com/trustpub/trustpub/releases/download/v<V>/trustpub-<V>-<target>.tar.gz`
//! (`.zip` for Windows), holding `trustpub-<V>-<target>/trustpub[.exe]`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{manifest_dir, run};

/// The release targets (see the release workflow).
const TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

fn cargo(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(args).current_dir(manifest_dir());
    let out = run(cmd, dir.path(), "cargo");
    assert!(out.status.success(), "{}", out.describe());
    out.stdout
}

/// Every file under `dir`, relative to the manifest directory, with `/`.
fn walk(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            walk(&path, out);
        } else {
            let rel = path.strip_prefix(manifest_dir()).unwrap();
            let rel: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.insert(rel.join("/"));
        }
    }
}

#[test]
fn the_published_crate_holds_the_sources_and_no_fixture_test_or_bench() {
    let listing = cargo(&["package", "--list", "--locked", "--allow-dirty"]);
    let files: BTreeSet<String> = listing.lines().map(str::to_string).collect();

    for f in &files {
        for banned in [
            "fixtures/",
            "tests/",
            "bench/",
            "fuzz/",
            ".github/",
            ".ci/",
            "target/",
        ] {
            assert!(
                !f.starts_with(banned),
                "the crate would ship {f} (under {banned}):\n{listing}"
            );
        }
    }
    let mut src = BTreeSet::new();
    walk(&manifest_dir().join("src"), &mut src);
    assert!(src.len() > 20, "src/ holds only {src:?}");
    for f in &src {
        assert!(files.contains(f), "the crate lacks {f}:\n{listing}");
    }
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ] {
        assert!(files.contains(f), "the crate lacks {f}:\n{listing}");
    }
    // Nothing else: the sources, the files above, and what cargo adds.
    let extra: Vec<_> = files
        .iter()
        .filter(|f| {
            !src.contains(*f)
                && ![
                    "Cargo.toml",
                    "Cargo.toml.orig",
                    "Cargo.lock",
                    "README.md",
                    "LICENSE-MIT",
                    "LICENSE-APACHE",
                    ".cargo_vcs_info.json",
                ]
                .contains(&f.as_str())
        })
        .collect();
    assert!(extra.is_empty(), "unexpected files in the crate: {extra:?}");
}

/// binstall's template syntax: `{ name }` (spaces optional). An unknown
/// variable fails the test, as binstall would fail to install.
fn expand(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .unwrap_or_else(|| panic!("unclosed {{ in {template}"))
            + open;
        let key = rest[open + 1..close].trim();
        let value = vars
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("unknown template variable {key:?} in {template}"))
            .1;
        out.push_str(value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn binstall_metadata_points_at_the_release_assets_of_every_target() {
    let meta: Value = serde_json::from_str(&cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--locked",
    ]))
    .unwrap();
    let pkg = &meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "trustpub")
        .expect("package trustpub")
        .clone();
    let version = pkg["version"].as_str().unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let repo = pkg["repository"].as_str().unwrap();
    assert_eq!(repo, "https://github.com/trustpub/trustpub");
    let bs = &pkg["metadata"]["binstall"];
    assert!(bs.is_object(), "no [package.metadata.binstall]: {pkg:#}");
    // Only our own builds (or a compile from source), never a third party's.
    assert_eq!(
        bs["disabled-strategies"],
        serde_json::json!(["quick-install"])
    );

    for target in TARGETS {
        let windows = target.contains("windows");
        let ov = &bs["overrides"][target];
        let pick = |key: &str| {
            ov[key]
                .as_str()
                .or_else(|| bs[key].as_str())
                .unwrap_or_else(|| panic!("no {key} for {target}"))
                .to_string()
        };
        let vars = [
            ("repo", repo),
            ("name", "trustpub"),
            ("version", version),
            ("target", target),
            ("bin", "trustpub"),
            ("binary-ext", if windows { ".exe" } else { "" }),
        ];
        let (ext, fmt) = if windows {
            (".zip", "zip")
        } else {
            (".tar.gz", "tgz")
        };
        assert_eq!(
            expand(&pick("pkg-url"), &vars),
            format!(
                "https://github.com/trustpub/trustpub/releases/download/v{version}/trustpub-{version}-{target}{ext}"
            ),
            "pkg-url for {target}"
        );
        assert_eq!(pick("pkg-fmt"), fmt, "pkg-fmt for {target}");
        assert_eq!(
            expand(&pick("bin-dir"), &vars),
            format!(
                "trustpub-{version}-{target}/trustpub{}",
                if windows { ".exe" } else { "" }
            ),
            "bin-dir for {target}"
        );
    }
}
