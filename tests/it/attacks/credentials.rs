//! Item 1 of the hardening issue: a credential goes only to the host it
//! was given for, never to one that a repository file chose.
//!
//! The world: the maintainer's registry `A` (chosen outside the repository:
//! the command line, the environment or the user npmrc) and an attacker's
//! registry `B`, both loopback fakes that record every request. A pull
//! request changes files in the repository (package.json `publishConfig`,
//! the project `.npmrc`) to move the publish to `B`. The CI secret
//! (`NODE_AUTH_TOKEN`, or a variable a project npmrc line expands) must
//! never reach `B`; the run is refused with exit 2 and the fix. npm 11
//! sends nothing in the raw `NODE_AUTH_TOKEN` case (it never reads the
//! variable itself), which one test checks against the real npm.

use std::path::PathBuf;

use serde_json::json;

use crate::support::fake_registry::FakeRegistry;
use crate::support::http::Request;
use crate::support::oidc_fakes::{unique_name, OidcIssuer};
use crate::support::sandbox::{planted_token, Run, Sandbox};

/// Whether any request to `reg` carried an `authorization` header, or the
/// secret anywhere (headers or body).
fn touched(reg: &FakeRegistry, secret: &str) -> Vec<String> {
    reg.requests()
        .iter()
        .filter(|r: &&Request| {
            r.header("authorization").is_some()
                || r.headers.iter().any(|(_, v)| v.contains(secret))
                || String::from_utf8_lossy(&r.body).contains(secret)
        })
        .map(|r| format!("{} {}", r.method, r.url))
        .collect()
}

fn package(sb: &Sandbox, name: &str, publish_config: Option<serde_json::Value>) -> PathBuf {
    let mut manifest = json!({"name": name, "version": "1.0.0", "license": "MIT"});
    if let Some(pc) = publish_config {
        manifest["publishConfig"] = pc;
    }
    sb.package("pkg", &manifest, &[("index.js", "module.exports = 1\n")])
}

/// `trustpub publish` from inside the package (its `.npmrc` is the project
/// npmrc), with `NODE_AUTH_TOKEN` set to the planted token.
fn publish(sb: &Sandbox, pkg: &std::path::Path, extra: &[&str]) -> Run {
    sb.trustpub(["publish", "."])
        .args(extra)
        .env("NODE_AUTH_TOKEN", &sb.token)
        .cwd(pkg)
        .run()
}

fn assert_refused(run: &Run, chosen_by: &str, b: &FakeRegistry) {
    run.expect_code(2);
    let err = run.stderr();
    assert!(
        err.contains("is not sent to") && err.contains(chosen_by),
        "the refusal must name what chose the registry ({chosen_by}):\n{}",
        run.describe
    );
    let dart = format!("//127.0.0.1:{}/:_authToken=${{NODE_AUTH_TOKEN}}", b.port());
    assert!(
        err.contains(&dart) && err.contains("--registry"),
        "the hint must say how to bind the token ({dart}):\n{}",
        run.describe
    );
}

/// `publishConfig.registry` in package.json moves the publish to `B`; the
/// maintainer chose `A` in the user npmrc. (`--registry` on the command
/// line would beat `publishConfig`, as in npm.)
#[test]
fn publish_config_registry_does_not_get_node_auth_token() {
    let sb = Sandbox::new();
    let (a, b) = (FakeRegistry::start(), FakeRegistry::start());
    let pkg = package(
        &sb,
        "trustpub-attack-pc",
        Some(json!({"registry": b.url()})),
    );
    sb.write(&sb.user_npmrc(), &format!("registry={}\n", a.url()));
    let run = publish(&sb, &pkg, &[]);
    assert_refused(&run, "publishConfig.registry", &b);
    assert_eq!(
        touched(&b, &sb.token),
        Vec::<String>::new(),
        "{}",
        run.describe
    );
    assert!(b.puts().is_empty() && a.puts().is_empty());
}

/// The same with npm's default registry as the maintainer's choice (no
/// `--registry` at all): `B` gets nothing either.
#[test]
fn publish_config_registry_beats_no_default() {
    let sb = Sandbox::new();
    let b = FakeRegistry::start();
    let pkg = package(
        &sb,
        "trustpub-attack-pc-default",
        Some(json!({"registry": b.url()})),
    );
    let run = publish(&sb, &pkg, &[]);
    assert_refused(&run, "publishConfig.registry", &b);
    assert!(
        run.stderr().contains("https://registry.npmjs.org/"),
        "{}",
        run.describe
    );
    assert_eq!(touched(&b, &sb.token), Vec::<String>::new());
}

/// A `@scope:registry=` line in the project `.npmrc` moves a scoped
/// package to `B`, although the environment chose `A`.
#[test]
fn project_scope_registry_does_not_get_node_auth_token() {
    let sb = Sandbox::new();
    let (a, b) = (FakeRegistry::start(), FakeRegistry::start());
    let pkg = package(&sb, "@acme/trustpub-attack-scope", None);
    sb.write(
        &pkg.join(".npmrc"),
        &format!("@acme:registry={}\n", b.url()),
    );
    let run = sb
        .trustpub(["publish", "."])
        .env("NODE_AUTH_TOKEN", &sb.token)
        .env("npm_config_registry", a.url())
        .cwd(&pkg)
        .run();
    assert_refused(&run, ".npmrc:1 (project config)", &b);
    assert_eq!(touched(&b, &sb.token), Vec::<String>::new());
}

/// The project `.npmrc` points `userconfig` at a file of its own: that
/// "user" npmrc is a repository file too.
#[test]
fn userconfig_chosen_by_the_project_npmrc_is_a_repository_file() {
    let sb = Sandbox::new();
    let b = FakeRegistry::start();
    let pkg = package(&sb, "trustpub-attack-userconfig", None);
    sb.write(&pkg.join(".npmrc"), "userconfig=./evil.npmrc\n");
    sb.write(&pkg.join("evil.npmrc"), &format!("registry={}\n", b.url()));
    let run = publish(&sb, &pkg, &[]);
    assert_refused(&run, "evil.npmrc:1 (user config)", &b);
    assert_eq!(touched(&b, &sb.token), Vec::<String>::new());
}

/// A project `.npmrc` binds a CI variable to the host it also chose:
/// `//B/:_authToken=${DEPLOY_TOKEN}` with `registry=B`. The value is the
/// maintainer's secret; the binding is the attacker's.
#[test]
fn project_npmrc_cannot_bind_a_ci_secret_to_its_own_host() {
    let sb = Sandbox::new();
    let b = FakeRegistry::start();
    let pkg = package(&sb, "trustpub-attack-bind", None);
    let secret = planted_token();
    sb.add_secret(&secret);
    sb.write(
        &pkg.join(".npmrc"),
        &format!(
            "registry={}\n{}",
            b.url(),
            Sandbox::token_line(&b.url(), "${DEPLOY_TOKEN}")
        ),
    );
    let run = sb
        .trustpub(["publish", "."])
        .env("DEPLOY_TOKEN", &secret)
        .env_remove("NODE_AUTH_TOKEN")
        .cwd(&pkg)
        .run();
    run.expect_code(2);
    assert!(
        run.stderr().contains("is not sent to") && run.stderr().contains("(project config)"),
        "{}",
        run.describe
    );
    assert_eq!(
        touched(&b, &secret),
        Vec::<String>::new(),
        "{}",
        run.describe
    );
}

/// What stays allowed: the maintainer's own choices. `--registry B` on the
/// command line sends `NODE_AUTH_TOKEN` to `B`; a credential line in the
/// user npmrc bound to `B` is used when `publishConfig` picks `B` (the
/// GitHub Packages set-up: setup-node writes the user npmrc); and a project
/// npmrc line for the registry chosen outside the repository is used.
#[test]
fn choices_made_outside_the_repository_still_work() {
    let sb = Sandbox::new();
    let b = FakeRegistry::start();
    let pkg = package(&sb, "trustpub-attack-ok-cli", None);
    publish(&sb, &pkg, &["--registry", &b.url()]).success();
    assert_eq!(b.puts().len(), 1);
    assert_eq!(
        b.puts()[0].header("authorization"),
        Some(format!("Bearer {}", sb.token).as_str())
    );

    let sb = Sandbox::new();
    let b = FakeRegistry::start();
    let pkg = package(
        &sb,
        "trustpub-attack-ok-user",
        Some(json!({"registry": b.url()})),
    );
    sb.write(
        &sb.user_npmrc(),
        &Sandbox::token_line(&b.url(), "${NODE_AUTH_TOKEN}"),
    );
    publish(&sb, &pkg, &[]).success();
    assert_eq!(b.puts().len(), 1);

    let sb = Sandbox::new();
    let a = FakeRegistry::start();
    let pkg = package(&sb, "trustpub-attack-ok-project", None);
    sb.write(
        &pkg.join(".npmrc"),
        &Sandbox::token_line(&a.url(), "${NODE_AUTH_TOKEN}"),
    );
    publish(&sb, &pkg, &["--registry", &a.url()]).success();
    assert_eq!(a.puts().len(), 1);
}

/// The oracle for the raw `NODE_AUTH_TOKEN` case: npm 11 in the same set-up
/// (publishConfig moving the publish to `B`, no npmrc line) sends no
/// credential to `B` either.
#[test]
fn npm_sends_nothing_to_the_repository_chosen_registry() {
    let sb = Sandbox::new();
    let b = FakeRegistry::start();
    let pkg = package(
        &sb,
        "trustpub-attack-npm-oracle",
        Some(json!({"registry": b.url()})),
    );
    let run = sb
        .npm(["publish", "."])
        .env("NODE_AUTH_TOKEN", &sb.token)
        .cwd(&pkg)
        .run();
    assert_ne!(run.code(), Some(0), "{}", run.describe);
    assert_eq!(
        touched(&b, &sb.token),
        Vec::<String>::new(),
        "{}",
        run.describe
    );
}

/// Trusted publishing on GitHub Actions with `publishConfig.registry`
/// pointing at `B`: no id token is asked for (it would be minted for `B`
/// and sent there), the run says why, and with `--trusted-publishing
/// always` it fails with exit 2.
#[test]
fn trusted_publishing_is_not_tried_at_a_repository_chosen_registry() {
    let issuer = OidcIssuer::github();
    let sb = Sandbox::new();
    sb.add_secret(&issuer.request_token());
    let b = FakeRegistry::start();
    let pkg = package(
        &sb,
        &unique_name("attack-oidc"),
        Some(json!({"registry": b.url()})),
    );
    let github = |extra: &[&str]| {
        sb.trustpub(["publish", "."])
            .args(extra)
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", issuer.request_url())
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", issuer.request_token())
            .env_remove("NODE_AUTH_TOKEN")
            .cwd(&pkg)
            .run()
    };
    let run = github(&["--trusted-publishing", "always"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("trusted publishing was not tried")
            && run.stderr().contains("publishConfig.registry"),
        "{}",
        run.describe
    );
    let run = github(&[]);
    assert_ne!(run.code(), Some(0), "{}", run.describe);
    assert!(
        run.stderr().contains("trusted publishing was not tried"),
        "{}",
        run.describe
    );
    assert!(
        issuer.token_requests().is_empty(),
        "an id token was requested for a registry the repository chose"
    );
    assert_eq!(touched(&b, &issuer.request_token()), Vec::<String>::new());
    assert!(b.puts().is_empty());
}

/// Review finding: a project `.npmrc` that picks the proxy and the trust
/// (`https-proxy` with `strict-ssl=false`, or with a `cafile` of its own)
/// could read every credential in the clear. Those settings are refused
/// from repository files (exit 2, naming the key and the file), and the
/// "proxy" sees no connection at all.
#[test]
fn a_project_npmrc_cannot_choose_the_proxy_or_the_trust() {
    for (extra, key) in [
        ("strict-ssl=false\n", "strict-ssl"),
        ("cafile=./ca.pem\n", "cafile"),
        ("", "https-proxy"),
    ] {
        let sb = Sandbox::new();
        let proxy = FakeRegistry::start();
        let pkg = package(&sb, "trustpub-attack-proxy", None);
        sb.write(
            &pkg.join(".npmrc"),
            &format!("https-proxy={}\n{extra}", proxy.url()),
        );
        sb.write(&pkg.join("ca.pem"), "not used\n");
        let run = publish(&sb, &pkg, &["--registry", "https://registry.invalid/"]);
        run.expect_code(2);
        assert!(
            run.stderr().contains(key) && run.stderr().contains("(project config)"),
            "{}",
            run.describe
        );
        assert!(
            proxy.requests().is_empty(),
            "the repository's proxy was used"
        );
    }
    // The same settings chosen outside the repository are the user's own
    // (the network tests cover them working).
    let sb = Sandbox::new();
    let pkg = package(&sb, "trustpub-attack-proxy-ok", None);
    sb.write(&pkg.join(".npmrc"), "strict-ssl=false\n");
    let run = sb
        .trustpub([
            "publish",
            ".",
            "--dry-run",
            "--registry",
            "https://registry.invalid/",
        ])
        .env("npm_config_strict_ssl", "true")
        .env("NODE_AUTH_TOKEN", &sb.token)
        .cwd(&pkg)
        .run();
    assert!(
        !run.stderr().contains("must not choose"),
        "a setting overridden outside the repository is not the repository's:\n{}",
        run.describe
    );
}

/// Review finding: `NPM_CONFIG_USERCONFIG` pointing into the checkout
/// (`${{ github.workspace }}/.npmrc`) makes that file the "user" npmrc; it
/// is still a repository file.
#[test]
fn a_user_npmrc_inside_the_checkout_is_a_repository_file() {
    let sb = Sandbox::new();
    let b = FakeRegistry::start();
    let pkg = package(&sb, "trustpub-attack-ucfg", None);
    std::fs::create_dir_all(pkg.join(".git")).unwrap();
    sb.write(&pkg.join(".npmrc"), &format!("registry={}\n", b.url()));
    let run = sb
        .trustpub(["publish", "."])
        .env("NODE_AUTH_TOKEN", &sb.token)
        .env("NPM_CONFIG_USERCONFIG", pkg.join(".npmrc"))
        .cwd(&pkg)
        .run();
    assert_refused(&run, ".npmrc:1 (user config)", &b);
    assert_eq!(touched(&b, &sb.token), Vec::<String>::new());
}
