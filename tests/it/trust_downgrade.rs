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
/// publish goes on as npm's does, with a warning that the downgrade check
/// could not be made (a dry run fails: the checks could not be made); a
/// history of prereleases only does not hold a stable version (pnpm's trust
/// check leaves prereleases out for a stable version); an empty
/// `attestations` object is no provenance.
#[test]
fn an_unreadable_history_is_said_and_prereleases_do_not_bind_a_stable_version() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let name = "trustpub-downgrade-edges";
    let token = ["--trusted-publishing", "never"];

    let pkg = simple(&sb, "pkg", name, "1.0.1");
    reg.script_gets([Some(Reply::status(500, "{\"error\":\"down\"}"))]);
    let before = reg.puts().len();
    let run = publish_cmd(&sb, &reg.url(), &pkg, &token).run();
    assert_eq!(run.code(), Some(0), "{}", run.describe);
    snap!(
        "trust_downgrade_history_unread",
        render(&Redact::new(&sb), &run, None)
    );
    assert!(
        run.stderr().contains("trust-downgrade")
            && run.stderr().contains("could not be read")
            && run.stderr().contains("cannot be checked"),
        "{}",
        run.describe
    );
    assert_eq!(reg.puts().len(), before + 1, "uploaded, as npm does");
    reg.script_gets([Some(Reply::status(500, "{\"error\":\"down\"}"))]);
    let run = publish_cmd(
        &sb,
        &reg.url(),
        &pkg,
        &[&token[..], &["--dry-run"]].concat(),
    )
    .run();
    assert_eq!(
        run.code(),
        Some(1),
        "a dry run cannot check: {}",
        run.describe
    );

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

/// pnpm's strongest trust evidence is a version staged and approved
/// (`_npmUser.approver`): after one, a publish that is not staged is a
/// downgrade; `--stage` is not (checked on a dry run: it sends nothing).
#[test]
fn after_an_approved_staged_version_only_a_staged_publish_keeps_trust() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let name = "trustpub-downgrade-staged";
    let mut doc: Value = serde_json::from_str(&packument(name, false, false)).unwrap();
    doc["versions"]["1.0.0"]["_npmUser"]["approver"] =
        json!({"name": "maintainer", "email": "m@example.invalid"});
    let body = doc.to_string();
    let pkg = simple(&sb, "pkg", name, "1.0.1");
    let token = ["--trusted-publishing", "never", "--dry-run"];
    reg.script_gets([Some(Reply::status(200, "").body(&body))]);
    let run = publish_cmd(&sb, &reg.url(), &pkg, &token).run();
    assert_eq!(run.code(), Some(1), "{}", run.describe);
    assert!(
        run.stderr()
            .contains("through a staged publish a maintainer approved")
            && run.stderr().contains("a trust downgrade"),
        "{}",
        run.describe
    );
    reg.script_gets([Some(Reply::status(200, "").body(&body))]);
    let run = publish_cmd(&sb, &reg.url(), &pkg, &[&token[..], &["--stage"]].concat()).run();
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

/// A GitHub Actions id token for `acme/widget`, whose repository has this
/// `repository_visibility` (a JWT: the fake registry answers the exchange
/// as scripted, whatever the signature).
fn github_id_token(visibility: &str) -> String {
    use base64::Engine as _;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "npm:127.0.0.1",
        "sub": "repo:acme/widget:ref:refs/heads/main",
        "repository": "acme/widget",
        "repository_id": "712345678",
        "repository_owner": "acme",
        "repository_owner_id": "91234567",
        "repository_visibility": visibility,
        "workflow_ref": "acme/widget/.github/workflows/release.yml@refs/heads/main",
        "job_workflow_ref": "acme/widget/.github/workflows/release.yml@refs/heads/main",
        "ref": "refs/heads/main",
        "event_name": "push",
        "runner_environment": "github-hosted",
        "exp": exp,
    });
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(&json!({"alg": "RS256", "typ": "JWT", "kid": "test"})),
        b64(&claims)
    )
}

/// A GitHub Actions job in `acme/widget` with this id token, whose
/// exchange the registry grants.
fn github_job<'a>(
    reg: &crate::support::fake_registry::FakeRegistry,
    token: &str,
    tp: crate::support::sandbox::Tp<'a>,
) -> crate::support::sandbox::Tp<'a> {
    reg.script_posts([Reply::status(200, "")
        .body(&json!({ "token": "npm_downgrade_publish_token_0123456789" }).to_string())]);
    tp.env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("NPM_ID_TOKEN", token)
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/token")
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-0123456789")
        .env("GITHUB_REPOSITORY", "acme/widget")
        .env(
            "GITHUB_WORKFLOW_REF",
            "acme/widget/.github/workflows/release.yml@refs/heads/main",
        )
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY_ID", "712345678")
        .env("GITHUB_REPOSITORY_OWNER_ID", "91234567")
}

/// Item 1 of issue #14's follow-up: `doctor` in the publishing job says
/// what `publish` would do there. The exchange works, 0.9.0 on the registry
/// carries provenance, and this job's publish would go out without it (a
/// private repository: npm's rule makes none; or `provenance=false` in the
/// project's .npmrc, where the commands run): `publish --dry-run` refuses, and `doctor` fails the
/// trust-history check with the same words. A public repository (npm makes
/// provenance): both go ahead.
#[test]
fn doctor_in_ci_fails_where_publish_refuses_a_downgrade() {
    use crate::support::fake_registry::FakeRegistry;
    const NAME: &str = "widget";
    const TOKEN: &str = "npm_downgrade_publish_token_0123456789";
    let mut shots = Shots::default();
    let cases: [(&str, &str, Option<&str>, bool); 3] = [
        (
            "a private repository: npm makes no provenance",
            "private",
            None,
            true,
        ),
        (
            "provenance=false in the project's .npmrc",
            "public",
            Some("provenance=false\n"),
            true,
        ),
        (
            "a public repository: npm makes provenance",
            "public",
            None,
            false,
        ),
    ];
    for (heading, visibility, npmrc, refused) in cases {
        let sb = Sandbox::new();
        sb.add_secret(TOKEN);
        let reg = FakeRegistry::start();
        let r = Redact::new(&sb);
        reg.seed(NAME, "0.9.0", "sha512-AAAA", Some("latest"));
        let own = format!(
            "{}/-/npm/v1/attestations/{NAME}@0.9.0",
            reg.url().trim_end_matches('/')
        );
        reg.set_attestations(NAME, "0.9.0", &own);
        reg.serve(
            &format!("/-/package/{NAME}/visibility"),
            200,
            br#"{"public": true}"#.to_vec(),
        );
        let pkg = sb.package(
            "pkg",
            &json!({
                "name": NAME,
                "version": "1.0.0",
                "license": "MIT",
                "repository": {"type": "git", "url": "git+https://github.com/acme/widget.git"},
            }),
            &[("index.js", "module.exports = 1\n")],
        );
        if let Some(text) = npmrc {
            std::fs::write(sb.root.join(".npmrc"), text).unwrap();
        }
        let token = github_id_token(visibility);
        sb.add_secret(&token);
        let doctor = github_job(
            &reg,
            &token,
            sb.trustpub(["doctor"])
                .arg(&pkg)
                .args(["--registry", &reg.url()]),
        )
        .run();
        let publish = github_job(
            &reg,
            &token,
            sb.trustpub(["publish", "--dry-run", "--trusted-publishing", "always"])
                .arg(&pkg)
                .args(["--registry", &reg.url()]),
        )
        .run();
        assert!(
            doctor.stdout().contains("ok    exchange:"),
            "{heading}: the exchange works\n{}",
            doctor.describe
        );
        let words = "widget@0.9.0 was published with provenance, but this publish would go out without provenance: a trust downgrade";
        if refused {
            assert_eq!(publish.code(), Some(1), "{heading}: {}", publish.describe);
            assert!(
                publish.stderr().contains(words),
                "{heading}: {}",
                publish.describe
            );
            assert_eq!(doctor.code(), Some(1), "{heading}: {}", doctor.describe);
            assert!(
                doctor.stdout().contains("FAIL  trust history:"),
                "{heading}: {}",
                doctor.describe
            );
            assert!(
                doctor.stdout().contains(words),
                "{heading}: {}",
                doctor.describe
            );
            assert!(
                doctor.stdout().contains("--allow-trust-downgrade"),
                "{heading}: {}",
                doctor.describe
            );
        } else {
            assert_eq!(publish.code(), Some(0), "{heading}: {}", publish.describe);
            assert!(!publish.stderr().contains("trust downgrade"), "{heading}");
            assert!(
                doctor.stdout().contains("info  trust history:"),
                "{heading}: {}",
                doctor.describe
            );
            assert!(
                !doctor.stdout().contains("FAIL"),
                "{heading}: {}",
                doctor.describe
            );
        }
        shots.add(&format!("{heading}: doctor"), render(&r, &doctor, None));
    }
    snap!("trust_downgrade_doctor_in_ci", shots.0);
}
