//! `trustpub publish --stage` (issue 14 item 1): what `npm stage publish`
//! (npm 11.19.1) does.
//!
//! * **The request against the real npm**: `npm stage publish` and
//!   `trustpub publish --stage` against the same [`RecordingRegistry`] send
//!   the same `POST /-/stage/package/<name>` (headers, document modulo what
//!   the PUT comparison in `publish` already accepts), and report the
//!   registry's `stageId` (npm's `--json` record key).
//! * **Never retried**: a 503 or 500 to the stage POST is one request and a
//!   failure whose hint says how to find out whether it was stored.
//! * **Trusted publishing** through the OIDC fakes: npm and trustpub make
//!   the same requests (the exchange says `npm-command: stage`); a trusted
//!   publisher that allows only publishing refuses the stage (at the upload
//!   or at the exchange) with the hint, and one that allows only staging
//!   refuses a publish with a hint naming `--stage`.
//! * **The words**: human and `--json` snapshots; `--dry-run` sends nothing.

use std::path::Path;

use serde_json::{json, Value};

use crate::document_diff::compare;
use crate::publish::{attachment, bearer, gunzip, neutralise_gzip, strip_npm_only, user_agent};
use crate::snapshots::{render, Redact, Shots};
use crate::support::oidc_fakes::{ActionCheck, TrustPolicy};
use crate::support::recording_registry::{stage_id, RecordingRegistry};
use crate::support::sandbox::{Run, Sandbox};
use crate::support::{self};
use crate::trusted::{expect_code, expect_stderr, World};

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

fn stage(sb: &Sandbox, registry: &str, target: &Path, extra: &[&str]) -> Run {
    sb.trustpub(["publish", "--stage"])
        .arg(target)
        .arg("--registry")
        .arg(registry)
        .args(extra)
        .run()
}

/// A package the registry does not have cannot be staged (npm 11.19.1's
/// documentation: `npm stage` needs an existing package): refused before
/// any POST, with what to do.
#[test]
fn a_new_package_is_not_staged() {
    let sb = Sandbox::new();
    let reg = RecordingRegistry::start();
    let registry = reg.url();
    sb.login(&registry);
    let pkg = sb.fixture("manifest-fixes");
    let run = stage(&sb, &registry, &pkg, &[]);
    assert_eq!(run.code(), Some(1), "{}", run.describe);
    assert!(
        run.stderr()
            .contains("a staged publish needs an existing package"),
        "{}",
        run.describe
    );
    assert!(reg.stages().is_empty(), "no stage POST");
    snap!("stage_new_package", render(&Redact::new(&sb), &run, None));
}

/// The same POST as npm's, the same document, the stage id reported.
#[test]
fn stage_request_matches_npm() {
    support::require_npm();
    let sb = Sandbox::new();
    let reg = RecordingRegistry::start().with_existing_packages();
    let registry = reg.url();
    sb.login(&registry);
    let pkg = sb.fixture("manifest-fixes");

    let npm = sb
        .npm(["stage", "publish"])
        .arg(&pkg)
        .args(["--registry", &registry, "--json"])
        .run();
    npm.success();
    let ours = stage(&sb, &registry, &pkg, &["--json"]);
    ours.success();

    assert!(reg.puts().is_empty(), "a staged publish sends no PUT");
    let posts = reg.stages();
    assert_eq!(posts.len(), 2, "one stage POST each from npm and trustpub");
    let (theirs, mine) = (&posts[0], &posts[1]);
    assert!(
        theirs
            .header("user-agent")
            .is_some_and(|u| u.starts_with("npm/")),
        "the first POST is npm's"
    );
    assert_eq!(mine.url, theirs.url, "the stage POST's path");
    assert!(mine.url.starts_with("/-/stage/package/"), "{}", mine.url);
    assert!(bearer(theirs, &sb.token), "npm sent the planted token");
    assert!(bearer(mine, &sb.token), "trustpub sent the planted token");
    assert_eq!(mine.header("user-agent"), Some(user_agent().as_str()));
    for h in ["npm-command", "npm-auth-type", "npm-otp", "content-type"] {
        assert_eq!(mine.header(h), theirs.header(h), "header {h}");
    }
    assert_eq!(mine.header("npm-command"), Some("stage"));
    // Every other request of either tool is a read, and every request
    // names the command as npm's does.
    for r in reg.requests() {
        if let Some(c) = r.header("npm-command") {
            assert_eq!(c, "stage", "{} {}", r.method, r.url);
        }
        assert!(
            r.method == "GET" || r.url.starts_with("/-/stage/package/"),
            "unexpected {} {}",
            r.method,
            r.url
        );
    }

    let mut npm_doc: Value = serde_json::from_slice(&theirs.body).expect("npm's body");
    let mut our_doc: Value = serde_json::from_slice(&mine.body).expect("our body");
    strip_npm_only(&mut npm_doc, false);
    let (a, b) = (
        attachment(&npm_doc, "npm"),
        attachment(&our_doc, "trustpub"),
    );
    assert!(gunzip(&a) == gunzip(&b), "the tar bytes differ from npm's");
    neutralise_gzip(&mut npm_doc);
    neutralise_gzip(&mut our_doc);
    let mut diffs = Vec::new();
    compare(&npm_doc, &our_doc, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{}",
        sb.redact(&format!(
            "our stage document differs from npm's:\n{}",
            diffs.join("\n")
        ))
    );

    // The stage id each was given, in the `--json` record under npm's key.
    let name = npm_doc["name"].as_str().unwrap();
    assert_eq!(npm.json()[name]["stageId"], json!(stage_id(1)));
    assert_eq!(ours.json()[name]["stageId"], json!(stage_id(2)));
    assert_eq!(ours.json()[name]["outcome"], json!("staged"));
    // npm's other record keys, with npm's values.
    let (n, o) = (npm.json(), ours.json());
    for (k, v) in n[name].as_object().expect("npm's record") {
        if ["size", "shasum", "integrity", "stageId"].contains(&k.as_str()) {
            continue;
        }
        assert_eq!(o[name].get(k), Some(v), "--json {k}");
    }
    // The human line npm prints, from the same run without --json.
    let human = stage(&sb, &registry, &pkg, &[]);
    human.success();
    let id = stage_id(3);
    let spec = format!(
        "{name}@{}",
        npm_doc["dist-tags"]["latest"].as_str().unwrap()
    );
    assert!(
        human
            .stdout()
            .contains(&format!("+ {spec} (staged with id {id})")),
        "{}",
        human.describe
    );
    assert!(
        human
            .stderr()
            .contains(&format!("npm stage approve {id} --registry {registry}")),
        "{}",
        human.describe
    );
}

/// A stage POST is sent once, whatever the answer; the hint says what to
/// do when it may have been stored, and the snapshot shows it.
#[test]
fn stage_is_never_retried() {
    let sb = Sandbox::new();
    let reg = RecordingRegistry::start().with_existing_packages();
    sb.login(&reg.url());
    let pkg = sb.package(
        "pkg",
        &json!({"name": "stage-retry", "version": "1.0.0"}),
        &[("index.js", "1\n")],
    );
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    for (n, status) in [503u16, 403].into_iter().enumerate() {
        reg.answer_stage_with(status);
        let run = stage(&sb, &reg.url(), &pkg, &[]);
        assert_eq!(run.code(), Some(1), "{}", run.describe);
        assert_eq!(reg.stages().len(), n + 1, "{status}: exactly one POST");
        let unclear = run.stderr().contains("npm stage list stage-retry");
        assert_eq!(unclear, status == 503, "{}", run.describe);
        shots.add(
            &format!("the registry answers {status}"),
            render(&r, &run, None),
        );
    }
    snap!("stage_refused", shots.0);
}

/// `--dry-run --stage` sends nothing and says it would stage; the human
/// and `--json` results of a staged publish.
#[test]
fn stage_words() {
    let sb = Sandbox::new();
    let reg = RecordingRegistry::start().with_existing_packages();
    sb.login(&reg.url());
    let pkg = sb.package(
        "pkg",
        &json!({"name": "stage-words", "version": "1.0.0"}),
        &[("index.js", "1\n")],
    );
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let dry = stage(&sb, &reg.url(), &pkg, &["--dry-run"]);
    dry.success();
    assert!(reg.stages().is_empty(), "a dry run sends no stage POST");
    assert!(
        dry.stderr().contains("would stage stage-words@1.0.0"),
        "{}",
        dry.describe
    );
    // npm's own dry run prints the same line and sends nothing either.
    support::require_npm();
    let npm_dry = sb
        .npm(["stage", "publish", "--dry-run"])
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .run();
    npm_dry.success();
    assert_eq!(npm_dry.stdout(), dry.stdout(), "{}", npm_dry.describe);
    assert!(reg.stages().is_empty(), "npm's dry run sent a stage POST");
    shots.add("--dry-run", render(&r, &dry, None));
    let human = stage(&sb, &reg.url(), &pkg, &[]);
    human.success();
    shots.add("staged", render(&r, &human, None));
    let json = stage(&sb, &reg.url(), &pkg, &["--json"]);
    json.success();
    assert_eq!(json.json()["stage-words"]["stageId"], json!(stage_id(2)));
    shots.add("staged, --json", render(&r, &json, None));
    assert_eq!(reg.stages().len(), 2);
    snap!("stage_words", shots.0);
}

/// Through the OIDC fakes, a trusted publisher that allows only staged
/// publishes: npm's `npm stage publish` and `trustpub publish --stage` make
/// the same requests (the exchange included, checked at the exchange by
/// `npm-command: stage`), and both versions are staged, not published.
#[test]
fn trusted_stage_matches_npm() {
    let w = World::github("stage-diff");
    w.proxy.set_action_check(ActionCheck::AtExchange);
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "widgets", "release.yml").allow(false, true),
    );
    let npm = w
        .github_env(w.sb.npm(["stage", "publish", "--registry", &w.proxy.url()]))
        .cwd(&w.pkg)
        .run();
    expect_code(&w, &npm, 0);
    let npm_seq = w.sequence();
    let npm_requests = w.proxy.requests();
    let ours = w.publish_on_github().arg("--stage").run();
    expect_code(&w, &ours, 0);
    let our_seq = w.sequence()[npm_seq.len()..].to_vec();
    let our_requests = w.proxy.requests()[npm_requests.len()..].to_vec();
    assert_eq!(our_seq, npm_seq, "{}", w.describe(&ours));
    assert!(npm_seq.iter().any(|s| s == "POST exchange"), "{npm_seq:?}");
    for (o, t) in our_requests.iter().zip(&npm_requests) {
        for h in ["npm-command", "npm-auth-type", "content-type"] {
            assert_eq!(o.header(h), t.header(h), "{} {}: {h}", o.method, o.target);
        }
    }
    let staged = w.proxy.staged();
    assert_eq!(staged.len(), 2, "{}", w.describe(&ours));
    assert_eq!(w.versions(), ["1.0.0"], "staged versions are not published");
    expect_stderr(
        &w,
        &ours,
        &format!("npm stage approve {}", staged[1].stage_id),
    );
    w.check_leaks(&ours);
}

/// `doctor --stage` checks a staged publish: its exchange says
/// `npm-command: stage`, so a trusted publisher that allows only staging
/// (checked at the exchange) is ready for `doctor --stage` and not for a
/// plain `doctor`, as for `publish --stage` and `publish`.
#[test]
fn doctor_checks_a_staged_publish_with_stage() {
    let w = World::github("stage-doctor");
    w.proxy.set_action_check(ActionCheck::AtExchange);
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "widgets", "release.yml").allow(false, true),
    );
    let doctor = |extra: &[&str]| {
        w.github_env(w.sb.trustpub(["doctor"]))
            .arg(&w.pkg)
            .args(["--registry", &w.proxy.url()])
            .args(extra)
            .run()
    };
    let plain = doctor(&[]);
    expect_code(&w, &plain, 1);
    let staged = doctor(&["--stage"]);
    expect_code(&w, &staged, 0);
    let commands: Vec<Option<String>> = w
        .proxy
        .requests()
        .iter()
        .filter(|r| r.route == crate::support::oidc_fakes::Route::Exchange)
        .map(|r| r.header("npm-command").map(str::to_string))
        .collect();
    assert_eq!(
        commands,
        vec![Some("publish".to_string()), Some("stage".to_string())],
        "{}",
        w.describe(&staged)
    );
    assert!(w.proxy.staged().is_empty(), "doctor stages nothing");
    w.check_leaks(&staged);
}

/// A trusted publisher that allows only publishing refuses `--stage` (at
/// the upload, and at the exchange), and one that allows only staging
/// refuses a publish, each with the fix; the snapshot shows the words.
#[test]
fn trusted_publisher_actions() {
    let mut shots = Shots::default();
    // Publish only, checked at the upload: the exchange works, the POST is 403.
    let w = World::github("stage-pubonly");
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "widgets", "release.yml").allow(true, false),
    );
    let run = w.publish_on_github().arg("--stage").run();
    expect_code(&w, &run, 1);
    expect_stderr(&w, &run, "allow staged publishing");
    assert!(w.proxy.staged().is_empty());
    w.check_leaks(&run);
    shots.add(
        "publish only, refused at the stage POST",
        render(&Redact::world(&w), &run, None),
    );

    // Publish only, checked at the exchange (npm-command: stage).
    let w = World::github("stage-pubonly-x");
    w.proxy.set_action_check(ActionCheck::AtExchange);
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "widgets", "release.yml").allow(true, false),
    );
    let run = w
        .publish_on_github()
        .args(["--stage", "--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 1);
    expect_stderr(&w, &run, "does not allow a staged publish");
    // The packument is read (without a credential) for the identity-drift
    // check after the refusal.
    assert_eq!(w.sequence(), ["POST exchange", "GET package"]);
    w.check_leaks(&run);
    shots.add(
        "publish only, refused at the exchange",
        render(&Redact::world(&w), &run, None),
    );

    // Stage only, checked at the upload: a publish is refused, --stage named.
    let w = World::github("stage-only");
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "widgets", "release.yml").allow(false, true),
    );
    let run = w.publish_on_github().run();
    expect_code(&w, &run, 1);
    expect_stderr(&w, &run, "run trustpub publish --stage");
    assert_eq!(w.versions(), ["1.0.0"]);
    w.check_leaks(&run);
    shots.add(
        "stage only, a publish refused at the PUT",
        render(&Redact::world(&w), &run, None),
    );
    let run = w.publish_on_github().arg("--stage").run();
    expect_code(&w, &run, 0);
    let staged = w.proxy.staged();
    assert_eq!(staged.len(), 1);
    let r = Redact::world(&w).literal(&staged[0].stage_id, "[STAGE-ID]");
    shots.add("stage only, --stage", render(&r, &run, None));
    snap!("stage_trusted_publisher_actions", shots.0);
}

/// `--workspaces --stage`: every package staged in dependency order, none
/// published; the records say `staged`, with the id, not on the registry.
#[test]
fn workspaces_are_staged_in_order() {
    let sb = Sandbox::new();
    let reg = RecordingRegistry::start().with_existing_packages();
    sb.login(&reg.url());
    let root = sb.package(
        "ws",
        &json!({"name": "stage-root", "private": true, "workspaces": ["packages/*"]}),
        &[],
    );
    sb.package(
        "ws/packages/b",
        &json!({"name": "stage-ws-b", "version": "1.0.0", "dependencies": {"stage-ws-z": "^1.0.0"}}),
        &[("index.js", "1\n")],
    );
    sb.package(
        "ws/packages/z",
        &json!({"name": "stage-ws-z", "version": "1.0.0"}),
        &[("index.js", "1\n")],
    );
    let run = sb
        .trustpub(["publish", "--workspaces", "--stage", "--json"])
        .args(["--registry", &reg.url()])
        .cwd(&root)
        .run();
    run.success();
    assert!(reg.puts().is_empty(), "nothing published");
    let order: Vec<String> = reg.stages().iter().map(|r| r.url.clone()).collect();
    assert_eq!(
        order,
        ["/-/stage/package/stage-ws-z", "/-/stage/package/stage-ws-b"],
        "dependencies first"
    );
    let doc = run.json();
    let records = doc.as_array().expect("an array of records");
    assert_eq!(records.len(), 2, "{}", run.describe);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["outcome"], json!("staged"), "{r}");
        assert_eq!(r["stageId"], json!(stage_id(i + 1)), "{r}");
        assert_eq!(r["onRegistry"], json!(false), "{r}");
    }
    assert!(
        run.stderr().contains("staged 2 package(s)") && run.stderr().contains("npm stage approve"),
        "{}",
        run.describe
    );
    // Each approval names the registry: npm stage approve without it asks
    // the default registry, which does not know these ids.
    for i in [1, 2] {
        let approve = format!("npm stage approve {} --registry {}", stage_id(i), reg.url());
        assert!(
            run.stderr().contains(&approve),
            "{approve}: {}",
            run.describe
        );
    }
    // A re-run does not see staged versions (the packument does not list
    // them): it stages them again, as the README says.
    let again = sb
        .trustpub(["publish", "--workspaces", "--stage"])
        .args(["--registry", &reg.url()])
        .cwd(&root)
        .run();
    again.success();
    assert_eq!(reg.stages().len(), 4, "{}", again.describe);
    snap!("stage_workspaces", render(&Redact::new(&sb), &again, None));
}

/// `--workspaces --stage` failing part-way (issue #14 follow-up, item 2):
/// stage-ws-z and stage-ws-b are staged, stage-ws-a's stage POST answers
/// 502, stage-ws-c (which depends on a) is not sent. The summary keeps the
/// approve commands (with `--registry`: not registry.npmjs.org), says to
/// check `npm stage list` for a before re-running (a re-run stages z and b
/// again: staged versions are not in the packument), and never says
/// "Re-run to publish what is missing" nor that a is "not on the registry".
#[test]
fn a_failed_stage_in_a_workspace_keeps_the_approve_commands() {
    let sb = Sandbox::new();
    let reg = RecordingRegistry::start().with_existing_packages();
    sb.login(&reg.url());
    let root = sb.package(
        "ws",
        &json!({"name": "stage-root", "private": true, "workspaces": ["packages/*"]}),
        &[],
    );
    sb.package(
        "ws/packages/a",
        &json!({"name": "stage-ws-a", "version": "1.1.0", "dependencies": {"stage-ws-b": "^1.0.0"}}),
        &[("index.js", "1\n")],
    );
    sb.package(
        "ws/packages/b",
        &json!({"name": "stage-ws-b", "version": "1.0.0", "dependencies": {"stage-ws-z": "^1.0.0"}}),
        &[("index.js", "1\n")],
    );
    sb.package(
        "ws/packages/z",
        &json!({"name": "stage-ws-z", "version": "1.0.0"}),
        &[("index.js", "1\n")],
    );
    sb.package(
        "ws/packages/c",
        &json!({"name": "stage-ws-c", "version": "2.0.0", "dependencies": {"stage-ws-a": "^1.1.0"}}),
        &[("index.js", "1\n")],
    );
    reg.answer_nth_stage_with(3, 502);
    let run = sb
        .trustpub(["publish", "--workspaces", "--stage"])
        .args(["--registry", &reg.url()])
        .cwd(&root)
        .run();
    assert_eq!(run.code(), Some(1), "{}", run.describe);
    let order: Vec<String> = reg.stages().iter().map(|r| r.url.clone()).collect();
    assert_eq!(
        order,
        [
            "/-/stage/package/stage-ws-z",
            "/-/stage/package/stage-ws-b",
            "/-/stage/package/stage-ws-a"
        ],
        "z and b staged, a failed, c not sent (and a's POST is not retried)"
    );
    let summary = run
        .stderr()
        .lines()
        .find(|l| l.contains("a stage request failed"))
        .unwrap_or_else(|| panic!("no summary line: {}", run.describe))
        .to_string();
    for (spec, n) in [("stage-ws-z@1.0.0", 1), ("stage-ws-b@1.0.0", 2)] {
        let approve = format!(
            "{spec}: `npm stage approve {} --registry {}`",
            stage_id(n),
            reg.url()
        );
        assert!(summary.contains(&approve), "{approve}: {summary}");
    }
    let list = format!("`npm stage list stage-ws-a --registry {}`", reg.url());
    assert!(summary.contains(&list), "{list}: {summary}");
    assert!(summary.contains("Failed: stage-ws-a@1.1.0"), "{summary}");
    assert!(summary.contains("Not sent: stage-ws-c@2.0.0"), "{summary}");
    assert!(
        !summary.contains("Re-run to publish what is missing")
            && !summary.contains("Not on the registry"),
        "{summary}"
    );
    let r = Redact::new(&sb)
        .literal(&stage_id(1), "[STAGE-ID-1]")
        .literal(&stage_id(2), "[STAGE-ID-2]");
    snap!("stage_workspaces_failed", render(&r, &run, None));
}
