//! More snapshots of the words users read (issue #12 item 4), for the
//! messages `snapshots` does not provoke: TLS and slow or oversized
//! answers, registry statuses, id-token and Sigstore faults, doctor
//! findings without a fixture of their own, documents and file names
//! trustpub cannot use. The helpers (redaction, rendering) are those of
//! [`crate::snapshots`]; `scripts/snapshot-coverage` lists what is still
//! shown by no snapshot.

use std::fs;

use serde_json::json;

use crate::snapshots::{render, world_shot, Redact, Shots};
use crate::support::sandbox::Run;
use crate::trusted::World;

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

// ---------------------------------------------------------------------------
// No id token although the workflow grants `id-token: write`

/// A checkout of `acme/widgets` whose release.yml has job `publish` with
/// `permissions` `perms` (none when empty).
fn checkout(w: &World, dir: &str, perms: &str) -> std::path::PathBuf {
    let root = w.sb.root.join(dir);
    w.sb.write(
        &root.join(".github/workflows/release.yml"),
        &format!(
            "name: release\non: [push, pull_request]\njobs:\n  publish:\n    runs-on: ubuntu-latest\n{perms}    steps:\n      - uses: actions/checkout@v4\n      - run: npx trustpub publish\n"
        ),
    );
    root
}

/// A pull-request event payload: from `head` into acme/widgets.
fn pr_event(w: &World, dir: &str, head: &str) -> std::path::PathBuf {
    let path = w.sb.root.join(dir).join("event.json");
    w.sb.write(
        &path,
        &json!({"pull_request": {
            "head": {"repo": {"full_name": head}},
            "base": {"repo": {"full_name": "acme/widgets"}},
        }})
        .to_string(),
    );
    path
}

const GRANTS: &str = "    permissions:\n      contents: read\n      id-token: write\n";

/// The advice when GitHub gives no id token: "add the permission" only
/// when the workflow lacks it; when it grants it, why this run got none
/// (a fork's pull request, Dependabot, or the known cases). Found on
/// nanoid's release.yml, which grants the permission.
#[test]
fn no_id_token_although_granted() {
    let mut shots = Shots::default();
    let case =
        |label: &str, perms: &str, event: &str, actor: &str, head: Option<&str>| -> (World, Run) {
            let w = World::github(label);
            let root = checkout(&w, "checkout", perms);
            let mut tp = w
                .publish_on_github()
                .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
                .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
                .env("GITHUB_WORKSPACE", &root)
                .env("GITHUB_EVENT_NAME", event)
                .env("GITHUB_ACTOR", actor)
                .args(["--trusted-publishing", "always"]);
            if let Some(h) = head {
                tp = tp.env("GITHUB_EVENT_PATH", pr_event(&w, "checkout", h));
            }
            let run = tp.run();
            (w, run)
        };
    let granted_advice = "Adding the permission again will not help";
    let old_advice = "Add the id-token permission";

    let (w, run) = case(
        "snap-noid-fork",
        GRANTS,
        "pull_request",
        "someone",
        Some("someone/widgets"),
    );
    assert!(
        run.stderr().contains(granted_advice) && !run.stderr().contains(old_advice),
        "{}",
        run.describe
    );
    assert!(
        run.stderr()
            .contains("pull request from the fork someone/widgets"),
        "{}",
        run.describe
    );
    shots.add(
        "granted; a pull request from a fork",
        world_shot(&w, &run, 2, true),
    );

    let (w, run) = case(
        "snap-noid-bot",
        GRANTS,
        "pull_request",
        "dependabot[bot]",
        Some("acme/widgets"),
    );
    assert!(
        run.stderr().contains("started by Dependabot"),
        "{}",
        run.describe
    );
    assert!(!run.stderr().contains(old_advice), "{}", run.describe);
    shots.add("granted; a Dependabot run", world_shot(&w, &run, 2, false));

    let (w, run) = case("snap-noid-push", GRANTS, "push", "octocat", None);
    assert!(
        run.stderr().contains("Why, most likely"),
        "{}",
        run.describe
    );
    assert!(!run.stderr().contains(old_advice), "{}", run.describe);
    shots.add("granted; a push run", world_shot(&w, &run, 2, false));

    // The permission at the workflow level counts as granted too.
    let w = World::github("snap-noid-wf-level");
    let root = checkout(&w, "checkout", "");
    let file = root.join(".github/workflows/release.yml");
    let text = fs::read_to_string(&file).unwrap();
    w.sb.write(
        &file,
        &text.replace("jobs:\n", "permissions:\n  id-token: write\njobs:\n"),
    );
    let run = w
        .publish_on_github()
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .env("GITHUB_WORKSPACE", &root)
        .env("GITHUB_EVENT_NAME", "push")
        .args(["--trusted-publishing", "always"])
        .run();
    assert!(run.stderr().contains(granted_advice), "{}", run.describe);
    crate::trusted::expect_code(&w, &run, 2);

    // The differential half: the same run without the permission (or with
    // `id-token: read`) still gets the advice to add it.
    for (label, perms) in [
        ("snap-noid-none", ""),
        ("snap-noid-read", "    permissions:\n      id-token: read\n"),
    ] {
        let (w, run) = case(label, perms, "push", "octocat", None);
        assert!(
            run.stderr().contains(old_advice),
            "{label}: {}",
            run.describe
        );
        assert!(
            !run.stderr().contains(granted_advice),
            "{label}: {}",
            run.describe
        );
        if perms.is_empty() {
            shots.add(
                "not granted: add the permission",
                world_shot(&w, &run, 2, false),
            );
        } else {
            crate::trusted::expect_code(&w, &run, 2);
        }
    }

    // doctor in the same job says the same.
    let w = World::github("snap-noid-doctor");
    let root = checkout(&w, "checkout", GRANTS);
    let run = w
        .github_env(w.sb.trustpub(["doctor"]))
        .arg(&w.pkg)
        .args(["--registry", &w.proxy.url()])
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .env("GITHUB_WORKSPACE", &root)
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env(
            "GITHUB_EVENT_PATH",
            pr_event(&w, "checkout", "someone/widgets"),
        )
        .run();
    assert!(
        !run.stderr().contains(old_advice) && !run.stdout().contains(old_advice),
        "{}",
        run.describe
    );
    shots.add(
        "doctor, granted; a pull request from a fork",
        world_shot(&w, &run, 1, false),
    );
    snap!("no_id_token_although_granted", shots.0);
}

// ---------------------------------------------------------------------------
// TLS, slow and oversized answers (the servers of `attacks::network`)

/// No secure connection (an unknown CA, a certificate for another host, an
/// expired one), a body that stalls after the headers, an answer larger
/// than trustpub reads, and a registry that trickles every answer until
/// npm's worst-case time is spent.
#[test]
fn network_faults() {
    use crate::attacks::network::{package, pki, publish, Mode, Server};
    let sb = crate::support::sandbox::Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let pki = pki(&sb.root);
    let pkg = package(&sb, "tp-snap-net");
    let cafile = format!("cafile={}\n", pki.ca.display());

    let reg = Server::start(Some(pki.server.clone()), Mode::Registry);
    let run = publish(&sb, &pkg, &reg.url("127.0.0.1", true), "");
    run.expect_code(1);
    shots.add(
        "a certificate from a CA nobody trusts",
        render(&r, &run, None),
    );

    for (heading, config) in [
        (
            "a certificate for another host",
            pki.server_wrong_name.clone(),
        ),
        ("an expired certificate", pki.server_expired.clone()),
    ] {
        let reg = Server::start(Some(config), Mode::Registry);
        let run = publish(&sb, &pkg, &reg.url("127.0.0.1", true), &cafile);
        run.expect_code(1);
        shots.add(heading, render(&r, &run, None));
    }

    let reg = Server::start(None, Mode::TrickleBody);
    let run = publish(
        &sb,
        &pkg,
        &reg.url("127.0.0.1", false),
        "fetch-timeout=1500\n",
    );
    run.expect_code(1);
    shots.add("the body stalls after the headers", render(&r, &run, None));

    let reg = Server::start(None, Mode::Endless);
    let run = publish(&sb, &pkg, &reg.url("127.0.0.1", false), "fetch-retries=0\n");
    run.expect_code(1);
    shots.add("an answer without end", render(&r, &run, None));

    let reg = Server::start(None, Mode::TrickleAll);
    let run = publish(
        &sb,
        &pkg,
        &reg.url("127.0.0.1", false),
        "fetch-timeout=1000\nfetch-retries=0\n",
    );
    run.expect_code(1);
    shots.add(
        "every answer trickles: npm's worst-case time spent",
        render(&r, &run, None),
    );
    snap!("network_faults", shots.0);
}

// ---------------------------------------------------------------------------
// Registry answers: statuses with their own hints, a redirected upload,
// another tarball appearing under the version while publishing

#[test]
fn registry_statuses() {
    use crate::snapshots::{fake, publish_cmd, simple};
    use crate::support::fake_registry::Reply;
    let sb = crate::support::sandbox::Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let name = "trustpub-snap-statuses";
    let pkg = simple(&sb, "pkg", name, "1.0.0");
    fn no_retry(tp: crate::support::sandbox::Tp<'_>) -> crate::support::sandbox::Tp<'_> {
        tp.env("npm_config_fetch_retries", "0")
    }

    for (heading, reply) in [
        ("429: rate-limited", Reply::status(429, "too many requests")),
        (
            "503: the registry failed",
            Reply::status(503, "service unavailable"),
        ),
        (
            "304 to the upload: not published",
            Reply::status(304, "").body(""),
        ),
    ] {
        let reg = fake(&sb);
        reg.script_puts([reply]);
        let run = no_retry(publish_cmd(&sb, &reg.url(), &pkg, &[])).run();
        run.expect_code(1);
        assert!(reg.versions(name).is_empty(), "{}", run.describe);
        shots.add(heading, render(&r, &run, None));
    }

    // The upload is refused with 409; the check afterwards finds the
    // version published with another tarball (another publish won a race).
    let reg = fake(&sb);
    reg.script_puts([Reply::status(409, "conflict")]);
    let other = json!({
        "name": name,
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {"name": name, "version": "1.0.0", "dist": {
            "integrity": "sha512-c29tZXRoaW5nIGVsc2U=",
            "shasum": "0000000000000000000000000000000000000000",
            "tarball": "http://127.0.0.1/x.tgz"}}}
    })
    .to_string();
    reg.script_gets([None, Some(Reply::status(200, "").body(&other))]);
    let run = no_retry(publish_cmd(&sb, &reg.url(), &pkg, &[])).run();
    run.expect_code(1);
    shots.add(
        "409, and another tarball under the version",
        render(&r, &run, None),
    );
    snap!("registry_statuses", shots.0);
}

// ---------------------------------------------------------------------------
// Sigstore and id-token faults

/// A public acme/widgets on GitHub with Sigstore fakes trusting its issuer.
fn public_github(label: &str) -> (World, crate::support::sigstore_fakes::Sigstore) {
    let w = World::github(label);
    w.issuer.set_job(
        w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .build(),
    );
    let sig = crate::support::sigstore_fakes::Sigstore::start(&[&w.issuer]);
    (w, sig)
}

/// `--provenance` signing that cannot be done: no identity token (GitHub,
/// GitLab), a token-service URL that cannot be used, an identity token that
/// is not a JWT, a Fulcio URL over plain http to another machine, Fulcio
/// unreachable, Fulcio answering something else than its API, Rekor
/// overloaded.
#[test]
fn sigstore_faults() {
    use crate::support::sigstore_fakes::Fault as SigFault;
    let mut shots = Shots::default();
    // Publishing with a token, so that only the signing needs an id token.
    fn with_token<'a>(
        w: &'a World,
        sig: &crate::support::sigstore_fakes::Sigstore,
    ) -> crate::support::sandbox::Tp<'a> {
        with_fulcio(w, sig, &sig.fulcio.url())
    }
    fn with_fulcio<'a>(
        w: &'a World,
        sig: &crate::support::sigstore_fakes::Sigstore,
        fulcio: &str,
    ) -> crate::support::sandbox::Tp<'a> {
        let token = w.fallback_token();
        w.publish_on_github()
            .env("GITHUB_REPOSITORY", "acme/widgets")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REF", "refs/heads/main")
            .env("GITHUB_SHA", "d782c874402305a00adcd10a58001c708039c0d0")
            .env("GITHUB_EVENT_NAME", "push")
            .env("GITHUB_RUN_ID", "420342961")
            .env("GITHUB_RUN_ATTEMPT", "1")
            .env("RUNNER_ENVIRONMENT", "github-hosted")
            .args(["--fulcio-url", fulcio])
            .args(["--rekor-url", &sig.rekor.url()])
            .env("NODE_AUTH_TOKEN", token)
            .args(["--trusted-publishing", "never", "--provenance"])
    }

    let (w, sig) = public_github("snap-sig-badurl");
    let run = with_token(&w, &sig)
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", "http://token.example/x")
        .run();
    shots.add(
        "GitHub: ACTIONS_ID_TOKEN_REQUEST_URL over plain http",
        world_shot(&w, &run, 2, false),
    );

    let (w, sig) = public_github("snap-sig-notjwt");
    w.sb.add_secret("not-a-jwt-but-a-secret");
    let run = with_token(&w, &sig)
        .env("SIGSTORE_ID_TOKEN", "not-a-jwt-but-a-secret")
        .run();
    shots.add(
        "SIGSTORE_ID_TOKEN is not a JWT",
        world_shot(&w, &run, 1, false),
    );

    // An identity token for an email address its issuer did not verify.
    let (w, sig) = public_github("snap-sig-email");
    let b64 = |v: &serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let email_token = format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(&json!({"alg": "RS256", "typ": "JWT"})),
        b64(&json!({
            "iss": "https://accounts.example.com",
            "sub": "1234567890",
            "aud": "sigstore",
            "email": "someone@example.com",
            "email_verified": false
        }))
    );
    w.sb.add_secret(&email_token);
    let run = with_token(&w, &sig)
        .env("SIGSTORE_ID_TOKEN", &email_token)
        .run();
    assert!(sig.fulcio.signing_requests().is_empty());
    shots.add(
        "SIGSTORE_ID_TOKEN for an email address that is not verified",
        world_shot(&w, &run, 1, false),
    );

    let (w, sig) = public_github("snap-sig-insecure");
    let run = with_fulcio(&w, &sig, "http://fulcio.example/").run();
    shots.add("Fulcio over plain http", world_shot(&w, &run, 2, false));

    let (w, sig) = public_github("snap-sig-closed");
    let closed = format!("http://127.0.0.1:{}/", crate::snapshots::closed_port());
    let run = with_fulcio(&w, &sig, &closed)
        .env("npm_config_fetch_retries", "0")
        .run();
    shots.add("Fulcio unreachable", world_shot(&w, &run, 1, false));

    let (w, sig) = public_github("snap-sig-shape");
    sig.fulcio
        .push_faults([SigFault::Body(200, r#"{"hello":"world"}"#.into())]);
    let run = with_token(&w, &sig).run();
    shots.add(
        "Fulcio answers 200 without a certificate",
        world_shot(&w, &run, 1, false),
    );

    let (w, sig) = public_github("snap-sig-rekor");
    sig.rekor.push_faults((0..4).map(|_| SigFault::Status(503)));
    let run = with_token(&w, &sig)
        .env("npm_config_fetch_retries", "0")
        .run();
    shots.add("Rekor overloaded", world_shot(&w, &run, 1, false));
    snap!("sigstore_faults", shots.0);
}

/// An NPM_ID_TOKEN trustpub cannot read (not a JWT, a payload that is not
/// base64url, a payload that is not a JSON object), and `--provenance`
/// where it cannot be made (GitLab without SIGSTORE_ID_TOKEN, CircleCI).
#[test]
fn id_token_faults() {
    use base64::Engine;
    let mut shots = Shots::default();
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    for (label, heading, token) in [
        (
            "snap-idt-jwt",
            "not a JWT",
            "only-one-part-of-a-token".to_string(),
        ),
        (
            "snap-idt-b64",
            "a payload that is not base64url",
            "aGVhZGVy.!!!not~base64!!!.c2ln".to_string(),
        ),
        (
            "snap-idt-json",
            "a payload that is not a JSON object",
            format!("aGVhZGVy.{}.c2ln", b64("[1, 2]")),
        ),
    ] {
        let w = World::gitlab(label);
        w.sb.add_secret(&token);
        let run = w.publish_with_id_token("GITLAB_CI", &token).run();
        shots.add(
            &format!("NPM_ID_TOKEN: {heading}"),
            world_shot(&w, &run, 1, false),
        );
    }

    let w = World::gitlab("snap-idt-gl-prov");
    let id = w.gitlab_id_token(&format!("npm:{}", "127.0.0.1"), false);
    let run = w
        .publish_with_id_token("GITLAB_CI", &id)
        .env("CI_PROJECT_URL", "https://gitlab.com/acme/widgets")
        .env("CI_PROJECT_PATH", "acme/widgets")
        .env("CI_SERVER_URL", "https://gitlab.com")
        .arg("--provenance")
        .run();
    // npm's rule stops it before any signing (exit 2).
    shots.add(
        "GitLab: --provenance without SIGSTORE_ID_TOKEN",
        world_shot(&w, &run, 2, false),
    );

    let w = World::new(
        crate::support::oidc_fakes::OidcIssuer::github(),
        "snap-idt-circle",
        true,
    );
    let token = w.fallback_token();
    let run =
        w.sb.trustpub(["publish"])
            .arg(&w.pkg)
            .args(["--registry", &w.proxy.url()])
            .env("CIRCLECI", "true")
            .env("CI", "true")
            .env("NODE_AUTH_TOKEN", token)
            .args(["--trusted-publishing", "never", "--provenance"])
            .run();
    shots.add("CircleCI: --provenance", world_shot(&w, &run, 2, false));
    snap!("id_token_faults", shots.0);
}

// ---------------------------------------------------------------------------
// `trustpub doctor` on the fixtures of findings no other fixture shows

/// [`crate::snapshots::doctor_fixture`] with a git remote "origin" (a
/// fixture cannot hold a `.git` directory, so it is written here).
fn doctor_with_origin(case: &str, origin: &str, code: i32) -> String {
    let sb = crate::support::sandbox::Sandbox::new();
    let registry = crate::support::fake_registry::FakeRegistry::start();
    let src = crate::support::manifest_dir()
        .join("fixtures/doctor")
        .join(case);
    let repo = sb.root.join(case);
    crate::support::copy_fixture(&src, &repo).unwrap();
    sb.write(
        &repo.join(".git/config"),
        &format!("[remote \"origin\"]\n\turl = {origin}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"),
    );
    registry.seed("widget", "0.0.1", "sha512-x", Some("latest"));
    let run = sb
        .trustpub(["doctor"])
        .arg(&repo)
        .args(["--registry", &registry.url()])
        .run();
    assert_eq!(run.code(), Some(code), "{case}:\n{}", run.describe);
    render(&Redact::new(&sb), &run, None)
}

macro_rules! doctor_fixtures {
    ($($name:ident => ($case:literal, $code:literal);)*) => {
        $(
            #[test]
            fn $name() {
                snap!(stringify!($name), crate::snapshots::doctor_fixture($case, $code));
            }
        )*
    };
}

doctor_fixtures! {
    doctor_circleci_provenance => ("circleci-provenance", 1);
    doctor_github_remote_reusable => ("github-remote-reusable", 1);
    doctor_github_reusable_uncalled => ("github-reusable-uncalled", 0);
    doctor_github_environment_expression => ("github-environment-expression", 0);
    doctor_github_runners => ("github-runners", 1);
    doctor_github_npm_versions => ("github-npm-versions", 1);
    doctor_github_node_unknown => ("github-node-unknown", 0);
    doctor_gitlab_includes => ("gitlab-includes", 1);
}

#[test]
fn doctor_gitlab_self_managed() {
    snap!(
        "doctor_gitlab_self_managed",
        doctor_with_origin(
            "gitlab-self-managed",
            "git@gitlab.acme.example:acme/widget.git",
            1
        )
    );
}

#[test]
fn doctor_github_no_repository_field() {
    snap!(
        "doctor_github_no_repository_field",
        doctor_with_origin(
            "github-no-repository-field",
            "https://github.com/acme/widget.git",
            0
        )
    );
}

// ---------------------------------------------------------------------------
// Credentials trustpub will not use (the configuration diagnostics)

/// A credential from an unset or empty variable, NODE_AUTH_TOKEN holding a
/// `${…}` template, a token bound to a registry that a file of the repository chose. Nothing is
/// uploaded; the exit code is in the snapshot.
#[test]
fn credential_problems() {
    use crate::snapshots::{fake, publish_cmd, simple};
    use crate::support::sandbox::Sandbox;
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let url = reg.url();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let pkg = simple(&sb, "pkg", "trustpub-snap-cred", "1.0.0");
    // "…: a warning": the publish goes on (to a registry of its own).
    let mut shot = |heading: &str, run: Run| {
        if heading.ends_with(": a warning") {
            run.success();
            assert!(
                run.stderr().contains("warn"),
                "{heading}:\n{}",
                run.describe
            );
        } else {
            assert_ne!(run.code(), Some(0), "{heading}:\n{}", run.describe);
        }
        shots.add(heading, render(&r, &run, None));
    };
    let user_npmrc = |text: &str| sb.write(&sb.user_npmrc(), text);

    user_npmrc(&Sandbox::token_line(&url, "${MY_NPM_TOKEN}"));
    shot(
        "_authToken=${MY_NPM_TOKEN}, the variable unset",
        publish_cmd(&sb, &url, &pkg, &["--trusted-publishing", "never"]).run(),
    );
    shot(
        "_authToken=${MY_NPM_TOKEN}, the variable empty",
        publish_cmd(&sb, &url, &pkg, &["--trusted-publishing", "never"])
            .env("MY_NPM_TOKEN", "")
            .run(),
    );

    user_npmrc(&Sandbox::token_line(&url, "${NODE_AUTH_TOKEN}"));
    shot(
        "NODE_AUTH_TOKEN empty",
        publish_cmd(&sb, &url, &pkg, &["--trusted-publishing", "never"])
            .env("NODE_AUTH_TOKEN", "")
            .run(),
    );
    let warned = fake(&sb);
    sb.write(
        &sb.user_npmrc(),
        &Sandbox::token_line(&warned.url(), "${NODE_AUTH_TOKEN}"),
    );
    shot(
        "NODE_AUTH_TOKEN holds a ${…} template: a warning",
        publish_cmd(&sb, &warned.url(), &pkg, &["--trusted-publishing", "never"])
            .env("NODE_AUTH_TOKEN", "${{ secrets.NPM_TOKEN }}")
            .run(),
    );

    // A credential in package.json's publishConfig (public): said, as npm
    // would still use it.
    let pc = sb.package(
        "pc",
        &serde_json::json!({
            "name": "trustpub-snap-cred-pc",
            "version": "1.0.0",
            "publishConfig": {"//registry.npmjs.org/:_authToken": "${PC_TOKEN}"},
        }),
        &[("index.js", "module.exports = 1\n")],
    );
    user_npmrc("");
    shot(
        "a credential in publishConfig: a warning",
        sb.trustpub(["publish", "--dry-run", "--offline"])
            .arg(&pc)
            .run(),
    );

    // The repository's npmrc picks the registry and binds the token to it.
    let other = fake(&sb);
    let chosen = simple(&sb, "chosen", "trustpub-snap-cred-chosen", "1.0.0");
    sb.write(
        &chosen.join(".npmrc"),
        &format!(
            "registry={}\n{}",
            other.url(),
            Sandbox::token_line(&other.url(), "${NODE_AUTH_TOKEN}")
        ),
    );
    user_npmrc("");
    let token = "npm_repositoryChosenHostSecret5678";
    sb.add_secret(token);
    let run = sb
        .trustpub(["publish"])
        .arg(&chosen)
        .cwd(&chosen)
        .env("NODE_AUTH_TOKEN", token)
        .args(["--trusted-publishing", "never"])
        .run();
    shot("a token for a registry the repository chose", run);

    assert!(
        reg.puts().is_empty() && other.puts().is_empty(),
        "{:?}",
        reg.summary()
    );
    snap!("credential_problems", shots.0);
}

// ---------------------------------------------------------------------------
// Documents and files trustpub cannot use

/// A gzip'd tar of `files` (paths as given, no `package/` added).
fn tgz(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut tar = Vec::new();
    for (path, data) in files {
        trustpub::tar::write_header(
            &mut tar,
            &trustpub::tar::Entry {
                path,
                linkpath: None,
                mode: 0o644,
                size: data.len() as u64,
                kind: trustpub::tar::Kind::File,
            },
        );
        tar.extend_from_slice(data);
        tar.resize(tar.len() + trustpub::tar::padding(data.len() as u64), 0);
    }
    tar.resize(tar.len() + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// A .tgz without package/package.json, one whose package.json has a field
/// npm stops on or an invalid name, a README larger than trustpub reads, a
/// file name that is not UTF-8, a bundled dependency linked to the package
/// itself, an .npmignore and a package.json that are not regular files.
#[test]
fn document_and_file_errors() {
    use crate::snapshots::{fake, publish_cmd};
    use std::os::unix::ffi::OsStrExt;
    let sb = crate::support::sandbox::Sandbox::new();
    let reg = fake(&sb);
    let url = reg.url();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let mut shot = |heading: &str, run: Run, code: i32| {
        run.expect_code(code);
        shots.add(heading, render(&r, &run, None));
    };
    let write_tgz = |name: &str, files: &[(&str, &[u8])]| {
        let p = sb.root.join(name);
        fs::write(&p, tgz(files)).unwrap();
        p
    };

    let t = write_tgz("no-manifest.tgz", &[("package/index.js", b"x\n")]);
    shot(
        "a .tgz without package/package.json",
        publish_cmd(&sb, &url, &t, &[]).run(),
        2,
    );

    let t = write_tgz(
        "bad-field.tgz",
        &[(
            "package/package.json",
            br#"{"name":"trustpub-snap-doc","version":"1.0.0","main":["a.js","b.js"]}"#,
        )],
    );
    shot(
        "a .tgz whose package.json has \"main\" as a list",
        publish_cmd(&sb, &url, &t, &[]).run(),
        2,
    );

    let t = write_tgz(
        "bad-name.tgz",
        &[(
            "package/package.json",
            br#"{"name":"Not A Name","version":"1.0.0"}"#,
        )],
    );
    shot(
        "a .tgz whose package.json has an invalid name",
        publish_cmd(&sb, &url, &t, &[]).run(),
        2,
    );

    let big = sb.package(
        "big-readme",
        &json!({"name": "trustpub-snap-doc-readme", "version": "1.0.0"}),
        &[("index.js", "")],
    );
    fs::File::create(big.join("README.md"))
        .unwrap()
        .set_len(trustpub::limits::README_MAX + 1)
        .unwrap();
    shot(
        "a README larger than trustpub reads",
        publish_cmd(&sb, &url, &big, &["--dry-run"]).run(),
        2,
    );

    let odd = sb.package(
        "odd-name",
        &json!({"name": "trustpub-snap-doc-odd", "version": "1.0.0"}),
        &[("index.js", "")],
    );
    fs::write(odd.join(std::ffi::OsStr::from_bytes(b"caf\xe9.js")), "x").unwrap();
    shot(
        "a file name that is not UTF-8",
        publish_cmd(&sb, &url, &odd, &[]).run(),
        1,
    );

    let bundled = sb.package(
        "bundled",
        &json!({
            "name": "trustpub-snap-doc-bundled",
            "version": "1.0.0",
            "dependencies": {"dep": "1.0.0"},
            "bundleDependencies": ["dep"]
        }),
        &[("index.js", "")],
    );
    fs::create_dir_all(bundled.join("node_modules")).unwrap();
    std::os::unix::fs::symlink("../..", bundled.join("node_modules/dep")).unwrap();
    shot(
        "a bundled dependency linked to a directory holding the package",
        publish_cmd(&sb, &url, &bundled, &[]).run(),
        2,
    );

    let ignore_dir = sb.package(
        "ignore-dir",
        &json!({"name": "trustpub-snap-doc-ignore", "version": "1.0.0"}),
        &[("index.js", "")],
    );
    fs::create_dir_all(ignore_dir.join(".npmignore")).unwrap();
    shot(
        "an .npmignore that is a directory",
        publish_cmd(&sb, &url, &ignore_dir, &[]).run(),
        1,
    );

    // package.json over the limit inside a .tgz (spaces compress to little).
    let mut huge = br#"{"name":"trustpub-snap-doc-huge","version":"1.0.0"}"#.to_vec();
    huge.resize(trustpub::limits::MANIFEST_MAX as usize + 1, b' ');
    let t = write_tgz("huge.tgz", &[("package/package.json", &huge)]);
    shot(
        "a .tgz whose package.json is larger than trustpub reads",
        publish_cmd(&sb, &url, &t, &[]).run(),
        2,
    );

    let manifest_dir = sb.root.join("manifest-dir");
    fs::create_dir_all(manifest_dir.join("package.json")).unwrap();
    shot(
        "a package.json that is a directory",
        publish_cmd(&sb, &url, &manifest_dir, &[]).run(),
        2,
    );

    assert!(reg.puts().is_empty(), "{:?}", reg.summary());
    snap!("document_and_file_errors", shots.0);
}

/// `doctor` outside CI on a ready repository, as the registry and the
/// npmrc change: the package absent, this version already published, a
/// credential to fall back on, a registry that cannot be reached.
#[test]
fn doctor_registry_states() {
    use crate::support::fake_registry::FakeRegistry;
    let sb = crate::support::sandbox::Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let repo = sb.root.join("repo");
    crate::support::copy_fixture(
        &crate::support::manifest_dir().join("fixtures/doctor/github-ok"),
        &repo,
    )
    .unwrap();
    fs::create_dir_all(repo.join(".git")).unwrap();
    let doctor = |registry: &str| {
        sb.trustpub(["doctor"])
            .arg(&repo)
            .args(["--registry", registry])
            .env("npm_config_fetch_retries", "0")
            .run()
    };

    let reg = FakeRegistry::start();
    let run = doctor(&reg.url());
    run.expect_code(1);
    shots.add("the package is not on the registry", render(&r, &run, None));

    let reg = FakeRegistry::start();
    reg.seed("widget", "1.0.0", "sha512-x", Some("latest"));
    let run = doctor(&reg.url());
    run.expect_code(1);
    shots.add("this version is already published", render(&r, &run, None));

    let reg = FakeRegistry::start();
    reg.seed("widget", "0.0.1", "sha512-x", Some("latest"));
    sb.login(&reg.url());
    let run = doctor(&reg.url());
    run.expect_code(0);
    shots.add("a token to fall back on", render(&r, &run, None));

    let closed = format!("http://127.0.0.1:{}/", crate::snapshots::closed_port());
    let run = doctor(&closed);
    // Outside CI this machine is not the one that publishes: cannot tell
    // (in CI the check fails: the publish would).
    run.expect_code(1);
    shots.add("the registry cannot be reached", render(&r, &run, None));
    // In CI the same is a failure: the publish would fail too.
    let run = sb
        .trustpub(["doctor"])
        .arg(&repo)
        .args(["--registry", &closed])
        .env("npm_config_fetch_retries", "0")
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .run();
    run.expect_code(1);
    shots.add(
        "in CI, the registry cannot be reached",
        render(&r, &run, None),
    );
    snap!("doctor_registry_states", shots.0);
}

// ---------------------------------------------------------------------------
// Trusted-publishing diagnoses no `snapshots` scenario reaches

/// A failed trusted-publishing run, its leaks checked; the exit code is in
/// the snapshot.
fn failed_shot(w: &World, run: &Run) -> String {
    assert_ne!(run.code(), Some(0), "{}", w.describe(run));
    w.check_leaks(run);
    let mut r = Redact::world(w);
    // The fake CircleCI claims carry random UUIDs.
    r.patterns.push((
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[UUID]",
    ));
    render(&r, run, None)
}

#[test]
fn trusted_diagnoses() {
    use crate::support::oidc_fakes::{Fault, OidcIssuer};
    let mut shots = Shots::default();
    let always = ["--trusted-publishing", "always"];

    let w = World::github("snap-diag-noref");
    let run = w
        .publish_on_github()
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .env_remove("GITHUB_WORKFLOW_REF")
        .env_remove("GITHUB_JOB")
        .args(always)
        .run();
    shots.add(
        "GitHub: no id token, no workflow named",
        failed_shot(&w, &run),
    );

    let w = World::github("snap-diag-badurl");
    let run = w
        .publish_on_github()
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", "http://token.example/x")
        .args(always)
        .run();
    shots.add(
        "GitHub: ACTIONS_ID_TOKEN_REQUEST_URL over plain http",
        failed_shot(&w, &run),
    );

    let w = World::github("snap-diag-outage");
    w.issuer.push_faults((0..6).map(|_| Fault::Status(503)));
    let run = w.publish_on_github().args(always).run();
    shots.add(
        "GitHub: the token service keeps failing",
        failed_shot(&w, &run),
    );

    let w = World::github("snap-diag-override");
    let id = w.issuer.mint(
        &w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .audience("npm:registry.example.com")
            .build(),
    );
    w.sb.add_secret(&id);
    let run = w.publish_on_github().env("NPM_ID_TOKEN", &id).run();
    shots.add(
        "GitHub: NPM_ID_TOKEN with another audience overrides the token request",
        failed_shot(&w, &run),
    );

    for (label, iss, heading) in [
        (
            "snap-diag-slug",
            "https://token.actions.githubusercontent.com/acme-corp",
            "GitHub: an enterprise's own issuer URL",
        ),
        (
            "snap-diag-ghes",
            "https://ghe.acme.example/_services/token",
            "GitHub Enterprise Server's issuer",
        ),
    ] {
        let w = World::github(label);
        w.issuer.set_job(
            w.issuer
                .github_claims("acme", "widgets", "release.yml")
                .visibility("private")
                .set("iss", serde_json::Value::String(iss.into()))
                .build(),
        );
        let run = w.publish_on_github().run();
        shots.add(heading, failed_shot(&w, &run));
    }

    let w = World::gitlab("snap-diag-gl-iss");
    let id = w.issuer.mint(
        &w.issuer
            .gitlab_claims("acme", "widgets", ".gitlab-ci.yml")
            .audience("npm:127.0.0.1")
            .set(
                "iss",
                serde_json::Value::String("https://gitlab.acme.example".into()),
            )
            .build(),
    );
    w.sb.add_secret(&id);
    let run = w.publish_with_id_token("GITLAB_CI", &id).run();
    shots.add(
        "GitLab: a self-managed GitLab's issuer",
        failed_shot(&w, &run),
    );

    let w = World::gitlab("snap-diag-gl-newline");
    let id = format!("{}\nsecond-line", w.gitlab_id_token("npm:127.0.0.1", false));
    w.sb.add_secret(&id);
    let run = w.publish_with_id_token("GITLAB_CI", &id).run();
    shots.add(
        "GitLab: NPM_ID_TOKEN with a line break",
        failed_shot(&w, &run),
    );

    let w = World::new(OidcIssuer::circleci(), "snap-diag-circle", true);
    let run =
        w.sb.trustpub(["publish"])
            .arg(&w.pkg)
            .args(["--registry", &w.proxy.url()])
            .env("CIRCLECI", "true")
            .env("CI", "true")
            .args(always)
            .run();
    shots.add("CircleCI: no NPM_ID_TOKEN", failed_shot(&w, &run));

    let w = World::new(OidcIssuer::circleci(), "snap-diag-circle-aud", true);
    let id = w.issuer.mint(
        &w.issuer
            .circleci_claims("org-1", "project-1", "github.com/acme/widgets")
            .audience("npm:registry.npmjs.org")
            .build(),
    );
    w.sb.add_secret(&id);
    let run = w.publish_with_id_token("CIRCLECI", &id).run();
    shots.add(
        "CircleCI: NPM_ID_TOKEN with another audience",
        failed_shot(&w, &run),
    );

    // A registry without trusted publishing: the fake registry has no
    // exchange endpoint.
    let w = World::github("snap-diag-noexchange");
    let reg = crate::support::fake_registry::FakeRegistry::start();
    let run = w
        .github_env(w.sb.trustpub(["publish"]))
        .arg(&w.pkg)
        .args(["--registry", &reg.url()])
        .args(always)
        .run();
    assert!(reg.puts().is_empty());
    shots.add(
        "a registry without trusted publishing",
        failed_shot(&w, &run),
    );

    // The repository's npmrc chooses the registry: no id token is asked for.
    let w = World::github("snap-diag-moved");
    w.sb.write(
        &w.pkg.join(".npmrc"),
        &format!("registry={}\n", w.proxy.url()),
    );
    let run = w
        .github_env(w.sb.trustpub(["publish"]))
        .arg(&w.pkg)
        .cwd(&w.pkg)
        .args(always)
        .run();
    assert!(w.issuer.token_requests().is_empty(), "{}", w.describe(&run));
    shots.add(
        "a registry chosen by the repository's npmrc",
        failed_shot(&w, &run),
    );
    snap!("trusted_diagnoses", shots.0);
}

/// The job runs in `Acme/widgets` while package.json names `acme/widgets`
/// (and the trusted publisher does not match); `doctor` in a public
/// repository's job whose package.json has no "repository".
#[test]
fn repository_field_diagnoses() {
    let mut shots = Shots::default();
    let w = World::github("snap-repo-case");
    w.issuer.set_job(
        w.issuer
            .github_claims("Acme", "widgets", "release.yml")
            .visibility("private")
            .build(),
    );
    w.proxy.untrust(&w.name);
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    assert!(
        run.stderr().contains("differ only in upper/lower case"),
        "{}",
        w.describe(&run)
    );
    shots.add(
        "the repository differs from package.json's in case only",
        failed_shot(&w, &run),
    );

    let w = World::github("snap-repo-none");
    w.issuer.set_job(
        w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .build(),
    );
    w.sb.write(
        &w.pkg.join("package.json"),
        &json!({"name": w.name, "version": "1.0.1", "license": "MIT"}).to_string(),
    );
    let run = w
        .github_env(w.sb.trustpub(["doctor"]))
        .arg(&w.pkg)
        .args(["--registry", &w.proxy.url()])
        .env("GITHUB_REPOSITORY", "acme/widgets")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("RUNNER_ENVIRONMENT", "github-hosted")
        .run();
    assert!(
        run.stdout().contains("has no \"repository\" field"),
        "{}",
        w.describe(&run)
    );
    shots.add(
        "doctor in CI, package.json without \"repository\": a warning",
        world_shot(&w, &run, 0, false),
    );
    snap!("repository_field_diagnoses", shots.0);
}

doctor_fixtures! {
    doctor_github_yaml_alias_bomb => ("github-yaml-alias-bomb", 1);
    doctor_gitlab_extends_bomb => ("gitlab-extends-bomb", 1);
}

/// A loopback server that answers every request with `status` and a JSON
/// error body; it stops by itself after 20 s or 20 connections.
fn status_server(status: u16) -> String {
    use std::io::{BufReader, Write};
    use std::time::{Duration, Instant};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut served = 0;
        while served < 20 && start.elapsed() < Duration::from_secs(20) {
            let Ok((mut s, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            served += 1;
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            if crate::support::http::read_simple_request(&mut BufReader::new(&mut s)).is_some() {
                let body = r#"{"error":"internal error"}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        }
    });
    url
}

/// The registry's token exchange fails with 503 (after npm's retries).
#[test]
fn trusted_exchange_server_error() {
    let w = World::github("snap-diag-5xx");
    let url = status_server(503);
    let run = w
        .github_env(w.sb.trustpub(["publish"]))
        .arg(&w.pkg)
        .args(["--registry", &url])
        .args(["--trusted-publishing", "always"])
        .env("npm_config_fetch_retries", "0")
        .run();
    assert!(
        run.stderr()
            .contains("this is not about your configuration"),
        "{}",
        w.describe(&run)
    );
    snap!("trusted_exchange_server_error", failed_shot(&w, &run));
}
