//! Issue #14 item 3: no silent trust downgrade. When versions already on
//! the registry went out through trusted publishing
//! (`_npmUser.trustedPublisher`) or with provenance (`dist.attestations`), a
//! publish that would fall back to a token, or go out without provenance,
//! is refused before anything is uploaded, unless `--allow-trust-downgrade`.

use serde_json::{json, Value};

use crate::snapshots::{fake, publish_cmd, render, simple, Redact, Shots};
use crate::support::fake_registry::Reply;
use crate::support::sandbox::Sandbox;

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

/// A packument whose 1.0.0 went out through trusted publishing and/or with
/// provenance.
fn packument(name: &str, trusted: bool, provenance: bool) -> String {
    packument_at(name, "1.0.0", trusted, provenance)
}

fn packument_at(name: &str, version: &str, trusted: bool, provenance: bool) -> String {
    let mut v = json!({
        "name": name,
        "version": version,
        "_npmUser": {"name": "someone", "email": "someone@example.invalid"},
        "dist": {"integrity": "sha512-AAAA", "shasum": "00", "tarball": "http://127.0.0.1:1/x.tgz"},
    });
    if trusted {
        v["_npmUser"] = json!({
            "name": "GitHub Actions",
            "email": "npm-oidc-no-reply@github.com",
            "trustedPublisher": {"id": "github", "oidcConfigId": "oidc:0000"},
        });
    }
    if provenance {
        v["dist"]["attestations"] = json!({
            "url": "https://registry.npmjs.org/-/npm/v1/attestations/x@1.0.0",
            "provenance": {"predicateType": "https://slsa.dev/provenance/v1"},
        });
    }
    let mut versions = serde_json::Map::new();
    versions.insert(version.to_string(), v);
    json!({"name": name, "dist-tags": {"latest": version}, "versions": versions}).to_string()
}

#[test]
fn a_token_publish_after_trusted_publishing_is_refused_unless_allowed() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let name = "trustpub-downgrade";
    let pkg = simple(&sb, "pkg", name, "1.0.1");
    let token = ["--trusted-publishing", "never"];

    let cases: [(&str, bool, bool, &[&str], i32); 5] = [
        (
            "1.0.0 by trusted publishing; now a token",
            true,
            false,
            &[],
            1,
        ),
        ("1.0.0 with provenance; now none", false, true, &[], 1),
        ("the same, as a dry run", true, true, &["--dry-run"], 1),
        (
            "--allow-trust-downgrade",
            true,
            true,
            &["--allow-trust-downgrade"],
            0,
        ),
        (
            "no trust history: a token is fine",
            false,
            false,
            &["--dry-run"],
            0,
        ),
    ];
    for (heading, trusted, provenance, extra, code) in cases {
        let body = packument(name, trusted, provenance);
        reg.script_gets([Some(Reply::status(200, "").body(&body))]);
        let before = reg.puts().len();
        let run = publish_cmd(&sb, &reg.url(), &pkg, &[&token[..], extra].concat()).run();
        assert_eq!(run.code(), Some(code), "{heading}: {}", run.describe);
        let uploaded = reg.puts().len() - before;
        assert_eq!(
            uploaded,
            usize::from(code == 0 && !extra.contains(&"--dry-run")),
            "{heading}"
        );
        if code != 0 {
            assert!(
                run.stderr().contains("a trust downgrade"),
                "{heading}: {}",
                run.describe
            );
            assert!(
                run.stderr().contains("--allow-trust-downgrade"),
                "{heading}"
            );
        }
        if extra.contains(&"--allow-trust-downgrade") {
            assert!(
                run.stderr()
                    .contains("going ahead (--allow-trust-downgrade)"),
                "{}",
                run.describe
            );
        }
        shots.add(heading, render(&r, &run, None));
    }
    // --json names the refusal.
    reg.script_gets([Some(
        Reply::status(200, "").body(&packument(name, true, false)),
    )]);
    let run = publish_cmd(&sb, &reg.url(), &pkg, &[&token[..], &["--json"]].concat()).run();
    let doc: Value = serde_json::from_str(run.stdout()).expect("json");
    assert_eq!(doc["error"]["code"], "EPUBLISH", "{doc:#}");
    snap!("trust_downgrade", shots.0);
}

/// A packument that cannot be read leaves the history unknown: a token
/// publish is refused (it might be a downgrade) unless allowed; a history
/// of prereleases only does not hold a stable version (pnpm's trust check
/// leaves prereleases out for a stable version); an empty `attestations`
/// object is no provenance.
#[test]
fn an_unreadable_history_is_no_pass_and_prereleases_do_not_bind_a_stable_version() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let name = "trustpub-downgrade-edges";
    let token = ["--trusted-publishing", "never"];

    let pkg = simple(&sb, "pkg", name, "1.0.1");
    reg.script_gets([Some(Reply::status(500, "{\"error\":\"down\"}"))]);
    let before = reg.puts().len();
    let run = publish_cmd(&sb, &reg.url(), &pkg, &token).run();
    assert_eq!(run.code(), Some(1), "{}", run.describe);
    assert!(
        run.stderr().contains("could not be read")
            && run.stderr().contains("--allow-trust-downgrade"),
        "{}",
        run.describe
    );
    assert_eq!(reg.puts().len(), before, "nothing uploaded");
    reg.script_gets([Some(Reply::status(500, "{\"error\":\"down\"}"))]);
    let run = publish_cmd(
        &sb,
        &reg.url(),
        &pkg,
        &[&token[..], &["--allow-trust-downgrade"]].concat(),
    )
    .run();
    assert_eq!(run.code(), Some(0), "{}", run.describe);
    assert_eq!(reg.puts().len(), before + 1, "allowed: uploaded");

    // 2.0.0-beta.1 went out through trusted publishing; 1.0.2 is stable.
    let pre = packument_at(name, "2.0.0-beta.1", true, true);
    reg.script_gets([Some(Reply::status(200, "").body(&pre))]);
    let stable = simple(&sb, "stable", name, "1.0.2");
    let run = publish_cmd(
        &sb,
        &reg.url(),
        &stable,
        &[&token[..], &["--dry-run"]].concat(),
    )
    .run();
    assert_eq!(
        run.code(),
        Some(0),
        "a stable version is not held to prereleases: {}",
        run.describe
    );
    // A prerelease is.
    reg.script_gets([Some(Reply::status(200, "").body(&pre))]);
    let beta = simple(&sb, "beta", name, "2.0.0-beta.2");
    let run = publish_cmd(
        &sb,
        &reg.url(),
        &beta,
        &[&token[..], &["--dry-run", "--tag", "next"]].concat(),
    )
    .run();
    assert_eq!(run.code(), Some(1), "{}", run.describe);
    assert!(
        run.stderr().contains("a trust downgrade"),
        "{}",
        run.describe
    );

    // `"attestations": {}` is no provenance.
    let mut empty: Value = serde_json::from_str(&packument(name, false, false)).unwrap();
    empty["versions"]["1.0.0"]["dist"]["attestations"] = json!({});
    reg.script_gets([Some(Reply::status(200, "").body(&empty.to_string()))]);
    let run = publish_cmd(
        &sb,
        &reg.url(),
        &pkg,
        &[&token[..], &["--dry-run"]].concat(),
    )
    .run();
    assert_eq!(run.code(), Some(0), "{}", run.describe);
}

#[test]
fn doctor_reports_the_trust_history() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let r = Redact::new(&sb);
    let repo = sb.root.join("repo");
    crate::support::copy_fixture(
        &crate::support::manifest_dir().join("fixtures/doctor/github-ok"),
        &repo,
    )
    .unwrap();
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    reg.script_gets([Some(
        Reply::status(200, "").body(&packument_at("widget", "0.9.0", true, true)),
    )]);
    let run = sb
        .trustpub(["doctor"])
        .arg(&repo)
        .args(["--registry", &reg.url()])
        .run();
    assert!(
        run.stdout().contains(
            "trust history: earlier versions went out through trusted publishing (0.9.0) and with provenance (0.9.0)"
        ),
        "{}",
        run.describe
    );
    let mut shots = Shots::default();
    shots.add("outside CI", render(&r, &run, None));
    // In CI, with trusted publishing failing in this job: the publish would
    // be refused, so the check fails.
    reg.script_gets([Some(
        Reply::status(200, "").body(&packument_at("widget", "0.9.0", true, false)),
    )]);
    let run = sb
        .trustpub(["doctor"])
        .arg(&repo)
        .args(["--registry", &reg.url()])
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .run();
    assert_eq!(run.code(), Some(1), "{}", run.describe);
    assert!(
        run.stdout().contains("FAIL  trust history:"),
        "{}",
        run.describe
    );
    shots.add("in CI, trusted publishing failing", render(&r, &run, None));
    snap!("trust_downgrade_doctor", shots.0);
}
