//! A CI file → `workflows::analyze` (doctor). The first byte picks the
//! file: a GitHub workflow, a composite action, `.gitlab-ci.yml`, CircleCI
//! config, or package.json (whose scripts the shell reader follows).
#![no_main]

use std::fs;
use std::path::{Component, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trustpub::workflows;

const FILES: &[&str] = &[
    ".github/workflows/release.yml",
    ".github/actions/publish/action.yml",
    ".gitlab-ci.yml",
    ".circleci/config.yml",
    "package.json",
];

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap().keep())
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, text)) = data.split_first() else {
        return;
    };
    let root = dir();
    let _ = fs::remove_dir_all(root);
    fs::create_dir_all(root).unwrap();
    fs::write(
        root.join("package.json"),
        r#"{"name":"fz","version":"1.0.0"}"#,
    )
    .unwrap();
    let rel = FILES[usize::from(which) % FILES.len()];
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, text).unwrap();
    let a = workflows::analyze(root, root, "registry.npmjs.org");
    let _ = a.ready();
    for p in &a.files_read {
        assert!(p.is_relative() && !p.components().any(|c| c == Component::ParentDir));
    }
});
