//! Publishing safety (issue 9, items 7 and 8): an upload whose outcome is
//! unknown is never reported as a failure when the tarball is in fact on
//! the registry, and an upload that was not stored is never reported as
//! published. Against the scriptable [`FakeRegistry`] on loopback.

use std::path::PathBuf;

use serde_json::json;

use crate::support::fake_registry::{FakeRegistry, Reply};
use crate::support::sandbox::{Run, Sandbox};

fn package(sb: &Sandbox, name: &str) -> PathBuf {
    sb.package(
        name,
        &json!({ "name": name, "version": "1.0.0", "description": "publishing attacks" }),
        &[("index.js", "module.exports = 1\n")],
    )
}

fn registry(sb: &Sandbox) -> FakeRegistry {
    let r = FakeRegistry::start();
    sb.login(&r.url());
    r
}

fn publish(sb: &Sandbox, reg: &FakeRegistry, name: &str, extra: &[&str]) -> Run {
    let pkg = package(sb, name);
    sb.trustpub(["publish"])
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .args(extra)
        .run()
}

/// The PUT is stored but the connection resets before the answer; the
/// check of the packument gets a 503; the retried PUT is refused (403, or
/// 409 as a real registry answers a version it already has). The tarball
/// is published: one more check finds it, and the run says so (exit 0).
#[test]
fn stored_upload_then_reset_then_refused_retry_is_success() {
    for (status, message) in [
        (403, "You do not have permission to publish"),
        (409, "cannot modify pre-existing version: 1.0.0"),
    ] {
        let sb = Sandbox::new();
        let reg = registry(&sb);
        let name = format!("trustpub-at-reset-{status}");
        reg.script_puts([Reply::reset().stored(), Reply::status(status, message)]);
        // The version check before the upload, then the check after the reset.
        reg.script_gets([None, Some(Reply::status(503, "busy"))]);
        let run = publish(&sb, &reg, &name, &[]);
        run.success()
            .stderr_has("is on the registry with this tarball's integrity: the publish succeeded")
            .stderr_lacks("did not accept the credential");
        assert_eq!(reg.puts().len(), 2, "{status}: {:?}", reg.summary());
        assert_eq!(reg.versions(&name), vec!["1.0.0"]);
        assert!(
            run.last_stderr_line()
                .contains(&format!("published {name}@1.0.0")),
            "{status}: {}",
            run.describe
        );
    }
}

/// The same refusal without an earlier ambiguous attempt is still an
/// error: a plain 403 is not checked into a success.
#[test]
fn refused_upload_without_ambiguity_is_still_an_error() {
    let sb = Sandbox::new();
    let reg = registry(&sb);
    reg.script_puts([Reply::status(403, "You do not have permission to publish")]);
    let run = publish(&sb, &reg, "trustpub-at-plain-403", &[]);
    run.expect_code(1).stderr_has("403 Forbidden");
    assert!(reg.versions("trustpub-at-plain-403").is_empty());
}

/// `--tolerate-republish` that loses a race: the version was absent at the
/// check before the upload, and another upload of the identical tarball
/// got in first (409). Identical is success; without the flag it is the
/// "already published" error, not a bare 409.
#[test]
fn tolerate_republish_that_loses_a_race_is_success_when_identical() {
    let sb = Sandbox::new();
    let reg = registry(&sb);
    // The registry stores this very document (as the winner would have)
    // and answers 409.
    reg.script_puts([Reply::status(409, "Document update conflict").stored()]);
    let run = publish(&sb, &reg, "trustpub-at-race", &["--tolerate-republish"]);
    run.success()
        .stderr_has("was published on")
        .stderr_has("identical to this one");
    assert_eq!(reg.puts().len(), 1, "{:?}", reg.summary());

    let sb = Sandbox::new();
    let reg = registry(&sb);
    reg.script_puts([Reply::status(409, "Document update conflict").stored()]);
    let run = publish(&sb, &reg, "trustpub-at-race", &[]);
    run.expect_code(1);
    let (error, hint) = run.error_and_hint();
    assert!(error.contains("is already published"), "{}", run.describe);
    assert!(hint.contains("--tolerate-republish"), "{}", run.describe);
}

/// A race lost to a different tarball is a conflict even with
/// `--tolerate-republish`.
#[test]
fn tolerate_republish_that_loses_a_race_to_another_tarball_fails() {
    let sb = Sandbox::new();
    let reg = registry(&sb);
    reg.script_puts([Reply::status(409, "Document update conflict")]);
    // The winner: same version, another tarball (seeded after the check
    // before the upload: the first GET answers 404).
    reg.script_gets([Some(Reply::status(404, "Not found"))]);
    reg.seed(
        "trustpub-at-race-2",
        "1.0.0",
        "sha512-b3RoZXI=",
        Some("latest"),
    );
    let run = publish(&sb, &reg, "trustpub-at-race-2", &["--tolerate-republish"]);
    run.expect_code(1)
        .stderr_has("appeared on")
        .stderr_has("with a different integrity");
}

/// A 3xx answer to the PUT, with or without `Location`, is not "published":
/// without `Location` nothing follows; with a same-origin `Location` the
/// redirected upload is answered 200 by something that does not store it.
#[test]
fn redirect_answers_to_the_upload_are_not_success() {
    let sb = Sandbox::new();
    let reg = registry(&sb);
    reg.script_puts([Reply::status(302, "found")]);
    let run = publish(&sb, &reg, "trustpub-at-302", &[]);
    run.expect_code(1)
        .stderr_has("with a redirect (302 without a Location)")
        .stderr_has("nothing was published")
        .stderr_lacks("published trustpub-at-302");
    assert!(reg.versions("trustpub-at-302").is_empty());

    let sb = Sandbox::new();
    let reg = registry(&sb);
    let elsewhere = format!("{}-/sink", reg.url());
    reg.script_puts([
        Reply::redirect(&elsewhere),
        Reply::status(200, "").body(r#"{"ok":true}"#),
    ]);
    let run = publish(&sb, &reg, "trustpub-at-307", &[]);
    run.expect_code(1)
        .stderr_has("with a redirect (it was followed to")
        .stderr_has("nothing was published");
    assert!(reg.versions("trustpub-at-307").is_empty());
}
