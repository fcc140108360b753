//! The files a security-minded user checks before trusting a publishing
//! tool: the two licences Cargo.toml claims, SECURITY.md, the Dependabot
//! configuration. (`cargo deny check` itself runs in the `deny` job of
//! .github/workflows/ci.yml; ci.yml is linted by `readme_examples`.)

use std::process::Command;

use sha2::Digest as _;

use crate::readme_examples::lint_bin;
use crate::support::{manifest_dir, run};

fn read(rel: &str) -> String {
    std::fs::read_to_string(manifest_dir().join(rel))
        .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

#[test]
fn both_licences_cargo_toml_claims_are_there_unaltered() {
    let manifest = read("Cargo.toml");
    assert!(manifest.contains("license = \"MIT OR Apache-2.0\""));
    // Byte for byte https://www.apache.org/licenses/LICENSE-2.0.txt (also
    // Debian's /usr/share/common-licenses/Apache-2.0).
    let apache = read("LICENSE-APACHE");
    assert_eq!(
        hex::encode(sha2::Sha256::digest(apache.as_bytes())),
        "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30",
        "LICENSE-APACHE is not the Apache License 2.0 text as published"
    );
    let mit = read("LICENSE-MIT");
    assert!(mit.starts_with("MIT License\n\nCopyright (c) 2026 The trustpub developers\n"));
    assert!(mit.contains("THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND"));
}

#[test]
fn security_policy_says_where_to_report_and_what_is_supported() {
    let text = read("SECURITY.md");
    for needle in [
        "security@trustpub.dev",
        "https://github.com/trustpub/trustpub",
        "Report a",
        "## Supported versions",
        "latest minor release",
        "## Scope",
        "Credential leaks",
        "Host confusion",
        "Provenance",
    ] {
        assert!(text.contains(needle), "SECURITY.md lacks {needle:?}");
    }
}

#[test]
fn dependabot_config_covers_crates_actions_and_test_tools_and_passes_zizmor() {
    let text = read(".github/dependabot.yml");
    let config = yaml_rust2::YamlLoader::load_from_str(&text).expect("dependabot.yml is YAML");
    let config = &config[0];
    assert_eq!(config["version"].as_i64(), Some(2));
    let updates = config["updates"].as_vec().expect("updates: a list");
    let mut seen = Vec::new();
    for u in updates {
        let eco = u["package-ecosystem"].as_str().expect("package-ecosystem");
        let dir = u["directory"].as_str().expect("directory");
        assert_eq!(u["schedule"]["interval"].as_str(), Some("weekly"), "{eco}");
        assert!(!u["groups"].is_badvalue(), "{eco} updates are not grouped");
        seen.push(format!("{eco} {dir}"));
    }
    seen.sort();
    assert_eq!(seen, ["cargo /", "github-actions /", "npm /tests/tools"]);

    // zizmor audits Dependabot files too (cooldowns, insecure execution).
    let mut cmd = Command::new(lint_bin().join("zizmor"));
    cmd.args(["--offline", ".github/dependabot.yml"])
        .current_dir(manifest_dir());
    let scratch = tempfile::tempdir().unwrap();
    let out = run(cmd, scratch.path(), "zizmor");
    assert!(out.status.success(), "{}", out.describe());
}
