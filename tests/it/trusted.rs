//! Trusted publishing end to end: `trustpub publish` and `trustpub doctor`
//! against the fake OIDC issuer and the exchange proxy in front of the real
//! Verdaccio (`support::oidc_fakes`). Every test asserts the exit code, the
//! requests made, the words a maintainer reads, and that no secret (request
//! token, id token, exchanged token, fallback token) appears in any output
//! stream or in the step summary — except on GitHub's `::add-mask::` lines.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::support::oidc_fakes::{
    seed_token, unique_name, unique_scoped_name, ActionCheck, ExchangeProxy, Fault, OidcIssuer,
    Outcome, Route, TrustPolicy,
};
use crate::support::sandbox::{assert_no_leak, Run, Sandbox, Tp};
use crate::support::verdaccio;

/// One test's world: a sandbox, an issuer, the proxy, a package.
pub(crate) struct World {
    pub(crate) sb: Sandbox,
    pub(crate) issuer: OidcIssuer,
    pub(crate) proxy: ExchangeProxy,
    pub(crate) name: String,
    pub(crate) pkg: PathBuf,
    pub(crate) summary: PathBuf,
}

impl World {
    pub(crate) fn new(issuer: OidcIssuer, label: &str, seed: bool) -> World {
        let proxy = ExchangeProxy::start(&[&issuer]);
        let name = unique_name(label);
        if seed {
            proxy.seed(&name, "1.0.0");
        }
        let sb = Sandbox::new();
        sb.add_secret(&issuer.request_token());
        let pkg = sb.package(
            "pkg",
            &json!({
                "name": name,
                "version": "1.0.1",
                "license": "MIT",
                "repository": {"type": "git", "url": "git+https://github.com/acme/widgets.git"},
            }),
            &[("index.js", "module.exports = 1\n")],
        );
        let summary = sb.root.join("step-summary.md");
        World {
            sb,
            issuer,
            proxy,
            name,
            pkg,
            summary,
        }
    }

    /// A GitHub world: `acme/widgets`, `release.yml`, trusted as such.
    pub(crate) fn github(label: &str) -> World {
        let w = World::new(OidcIssuer::github(), label, true);
        w.proxy.trust(
            &w.name,
            TrustPolicy::github("acme", "widgets", "release.yml"),
        );
        w.issuer.set_job(
            w.issuer
                .github_claims("acme", "widgets", "release.yml")
                .visibility("private")
                .build(),
        );
        w
    }

    /// The GitHub job runs in `acme/<repo>`'s workflow `file` (a private
    /// repository, so no provenance decision needs the registry).
    pub(crate) fn run_in(&self, repo: &str, file: &str) {
        self.issuer.set_job(
            self.issuer
                .github_claims("acme", repo, file)
                .visibility("private")
                .build(),
        );
    }

    /// A GitLab world trusting `acme/widgets`' `.gitlab-ci.yml`.
    pub(crate) fn gitlab(label: &str) -> World {
        let w = World::new(OidcIssuer::gitlab(), label, true);
        w.proxy.trust(
            &w.name,
            TrustPolicy::gitlab("acme/widgets", ".gitlab-ci.yml"),
        );
        w
    }

    /// An id token for `acme/widgets`' `.gitlab-ci.yml`, with `aud`.
    pub(crate) fn gitlab_id_token(&self, aud: &str, expired: bool) -> String {
        let mut claims = self
            .issuer
            .gitlab_claims("acme", "widgets", ".gitlab-ci.yml")
            .audience(aud);
        if expired {
            claims = claims.expired();
        }
        let id = self.issuer.mint(&claims.build());
        self.sb.add_secret(&id);
        id
    }

    /// `trustpub publish <pkg> --registry <proxy>` in a CI (`ci_var` set)
    /// that hands the id token over in `NPM_ID_TOKEN`.
    pub(crate) fn publish_with_id_token(&self, ci_var: &str, id: &str) -> Tp<'_> {
        self.sb
            .trustpub(["publish"])
            .arg(&self.pkg)
            .args(["--registry", &self.proxy.url()])
            .env(ci_var, "true")
            .env("NPM_ID_TOKEN", id)
    }

    /// `trustpub publish <pkg> --registry <proxy>` with GitHub's variables.
    pub(crate) fn publish_on_github(&self) -> Tp<'_> {
        self.github_env(self.sb.trustpub(["publish"]))
            .arg(&self.pkg)
            .args(["--registry", &self.proxy.url()])
    }

    pub(crate) fn github_env<'a>(&'a self, tp: Tp<'a>) -> Tp<'a> {
        tp.env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", self.issuer.request_url())
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                self.issuer.request_token(),
            )
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .env(
                "GITHUB_WORKFLOW_REF",
                "acme/widgets/.github/workflows/release.yml@refs/heads/main",
            )
            .env("GITHUB_JOB", "publish")
    }

    /// Every secret any party saw or made.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut s = self.proxy.secrets();
        s.extend(self.issuer.secrets());
        s.push(self.sb.token.clone());
        s
    }

    /// Checks the run and the step summary for secrets; returns the summary.
    pub(crate) fn check_leaks(&self, run: &Run) -> String {
        let mut secrets = self.secrets();
        // Whatever trustpub masked is a secret too (the Sigstore identity
        // token, for one): it may appear on its `::add-mask::` line only.
        secrets.extend(
            run.stderr()
                .lines()
                .filter_map(|l| l.strip_prefix("::add-mask::"))
                .map(str::to_string),
        );
        assert_no_leak(run, &secrets);
        let summary = std::fs::read_to_string(&self.summary).unwrap_or_default();
        for s in &secrets {
            assert!(
                !summary.contains(s.as_str()),
                "a secret is in the step summary:\n{}",
                self.proxy.redact(&summary)
            );
        }
        summary
    }

    pub(crate) fn describe(&self, run: &Run) -> String {
        format!(
            "{}\nproxy:\n{}",
            self.proxy.redact(&run.describe),
            self.proxy.redact(&self.proxy.summary().join("\n"))
        )
    }

    pub(crate) fn versions(&self) -> Vec<String> {
        verdaccio::shared()
            .packument(&self.name)
            .and_then(|p| {
                p["versions"]
                    .as_object()
                    .map(|v| v.keys().cloned().collect())
            })
            .unwrap_or_default()
    }

    /// `METHOD route-or-path` for each request the proxy saw, ids removed.
    pub(crate) fn sequence(&self) -> Vec<String> {
        self.proxy
            .requests()
            .iter()
            .map(|r| {
                let what = match r.route {
                    Route::Exchange => "exchange".to_string(),
                    Route::Visibility => "visibility".to_string(),
                    _ if r.target.trim_start_matches('/')
                        == crate::support::oidc_fakes::escape_name(&self.name) =>
                    {
                        "package".to_string()
                    }
                    _ => r.target.clone(),
                };
                format!("{} {what}", r.method)
            })
            .collect()
    }

    /// A Verdaccio token that may publish (the fallback credential).
    pub(crate) fn fallback_token(&self) -> String {
        let t =
            verdaccio::shared().add_user(&unique_name("fallback").replace("trustpub-oidc-", "fb"));
        self.sb.add_secret(&t);
        t
    }
}

pub(crate) fn expect_code(w: &World, run: &Run, code: i32) {
    assert_eq!(
        run.code(),
        Some(code),
        "expected exit {code}:\n{}",
        w.describe(run)
    );
}

pub(crate) fn expect_stderr(w: &World, run: &Run, text: &str) {
    assert!(
        run.stderr().contains(text),
        "standard error lacks {text:?}:\n{}",
        w.describe(run)
    );
}

pub(crate) fn expect_no_stderr(w: &World, run: &Run, text: &str) {
    assert!(
        !run.stderr().contains(text),
        "standard error has {text:?}:\n{}",
        w.describe(run)
    );
}

#[test]
fn github_success_publishes_with_the_exchanged_token() {
    let w = World::github("gh-ok");
    let run = w.publish_on_github().run();
    expect_code(&w, &run, 0);
    assert_eq!(w.versions(), ["1.0.0", "1.0.1"]);

    // The id token request: audience appended, request token as bearer.
    let tr = w.issuer.token_requests();
    assert_eq!(tr.len(), 1, "{}", w.describe(&run));
    assert!(
        tr[0]
            .url
            .ends_with("?api-version=2.0&audience=npm%3A127.0.0.1"),
        "{}",
        tr[0].url
    );
    assert_eq!(tr[0].header("accept"), Some("application/json"));
    // Exchange, packument, PUT — nothing else (the repository is private,
    // so there is no visibility request).
    assert_eq!(
        w.sequence(),
        ["POST exchange", "GET package", "PUT package"],
        "{}",
        w.describe(&run)
    );
    let requests = w.proxy.requests();
    let grant = &w.proxy.grants()[0];
    let put = requests.iter().find(|r| r.method == "PUT").unwrap();
    assert_eq!(
        put.header("authorization"),
        Some(format!("Bearer {}", grant.token).as_str())
    );
    let ex = requests
        .iter()
        .find(|r| r.route == Route::Exchange)
        .unwrap();
    assert_eq!(ex.body_len, 0);
    assert_eq!(ex.header("npm-command"), Some("publish"));

    // What the maintainer reads.
    expect_stderr(
        &w,
        &run,
        "trusted publishing: exchanged the GitHub Actions id token",
    );
    assert!(
        run.last_stderr_line()
            .contains("authenticated with trusted publishing (GitHub Actions OIDC)"),
        "{}",
        w.describe(&run)
    );
    expect_stderr(
        &w,
        &run,
        "npm would not sign provenance for this publish: the repository is private",
    );
    assert!(run.stdout().contains(&format!("+ {}@1.0.1", w.name)));

    // Masks: GitHub's request token (at start, before anything else), then
    // the id token and the exchanged token, before anything else about
    // trusted publishing is printed.
    let id_token = w.proxy.exchanges()[0].clone();
    assert_eq!(id_token.outcome, Outcome::Issued);
    let masks: Vec<&str> = run
        .stderr()
        .lines()
        .filter(|l| l.starts_with("::add-mask::"))
        .collect();
    assert_eq!(masks.len(), 3, "{}", w.describe(&run));
    assert_eq!(
        masks[0],
        format!("::add-mask::{}", w.issuer.request_token())
    );
    assert_eq!(run.stderr().lines().next(), Some(masks[0]));
    assert_eq!(masks[2], format!("::add-mask::{}", grant.token));
    let first_mask = run.stderr().find("::add-mask::").unwrap();
    let first_word = run.stderr().find("trusted publishing").unwrap();
    assert!(first_mask < first_word);

    let summary = w.check_leaks(&run);
    assert!(summary.contains("### trustpub publish"), "{summary}");
    assert!(summary.contains("| result | published |"), "{summary}");
    assert!(
        summary.contains("| authentication | trusted publishing (GitHub Actions OIDC) |"),
        "{summary}"
    );
}

#[test]
fn github_dry_run_exchanges_and_reports_in_json() {
    let w = World::github("gh-dry");
    w.issuer.set_job(
        w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .build(),
    );
    let run = w.publish_on_github().args(["--dry-run", "--json"]).run();
    expect_code(&w, &run, 0);
    assert_eq!(w.versions(), ["1.0.0"], "a dry run uploads nothing");
    // Public repository: npm asks the registry whether the package is public;
    // then the provenance preflight asks again (access is not "public"),
    // which npm skips in a dry run — trustpub's dry run checks it.
    assert_eq!(
        w.sequence(),
        [
            "POST exchange",
            "GET visibility",
            "GET package",
            "GET visibility"
        ],
        "{}",
        w.describe(&run)
    );
    let doc: Value = run.json();
    let rec = &doc[&w.name];
    assert_eq!(rec["auth"], "trusted-publishing");
    assert_eq!(rec["trustedPublishing"]["used"], true);
    assert_eq!(rec["trustedPublishing"]["ci"], "github-actions");
    assert_eq!(rec["provenanceDecision"]["wouldSign"], true, "{doc:#}");
    assert_eq!(rec["outcome"], "dry-run");
    w.check_leaks(&run);
}

#[test]
fn id_token_requests_are_retried_on_5xx() {
    let w = World::github("gh-retry");
    w.issuer
        .push_faults([Fault::Status(500), Fault::Status(503)]);
    let run = w.publish_on_github().run();
    expect_code(&w, &run, 0);
    assert_eq!(w.issuer.token_requests().len(), 3);
    assert_eq!(
        w.sequence(),
        ["POST exchange", "GET package", "PUT package"]
    );
    expect_stderr(&w, &run, "retry 1");
    w.check_leaks(&run);
}

#[test]
fn gitlab_success_with_npm_id_token() {
    let w = World::gitlab("gl-ok");
    let id = w.gitlab_id_token(&w.proxy.audience(), false);
    let run = w
        .publish_with_id_token("GITLAB_CI", &id)
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 0);
    assert_eq!(w.versions(), ["1.0.0", "1.0.1"]);
    assert_eq!(
        w.sequence(),
        ["POST exchange", "GET package", "PUT package"]
    );
    assert!(w.issuer.token_requests().is_empty());
    assert!(
        run.last_stderr_line()
            .contains("trusted publishing (GitLab CI OIDC)"),
        "{}",
        w.describe(&run)
    );
    // No masks outside GitHub.
    expect_no_stderr(&w, &run, "::add-mask::");
    w.check_leaks(&run);
}

#[test]
fn circleci_success_with_npm_id_token() {
    let issuer = OidcIssuer::circleci();
    let w = World::new(issuer, "cc-ok", true);
    let org = "0e1f2a3b-0000-4000-8000-000000000001";
    let project = "0e1f2a3b-0000-4000-8000-000000000002";
    let claims = w
        .issuer
        .circleci_claims(org, project, "github.com/acme/widgets")
        .audience(&w.proxy.audience())
        .build();
    let pipeline = claims["oidc.circleci.com/pipeline-definition-id"]
        .as_str()
        .map(str::to_string);
    w.proxy.trust(
        &w.name,
        TrustPolicy::circleci(
            org,
            project,
            pipeline.as_deref().unwrap_or_default(),
            "github.com/acme/widgets",
        ),
    );
    let id = w.issuer.mint(&claims);
    w.sb.add_secret(&id);
    let run =
        w.sb.trustpub(["publish"])
            .arg(&w.pkg)
            .args(["--registry", &w.proxy.url()])
            .env("CIRCLECI", "true")
            .env("NPM_ID_TOKEN", &id)
            .run();
    expect_code(&w, &run, 0);
    assert_eq!(w.versions(), ["1.0.0", "1.0.1"]);
    expect_stderr(&w, &run, "npm does not make provenance on CircleCI");
    assert_eq!(
        w.sequence(),
        ["POST exchange", "GET package", "PUT package"]
    );
    w.check_leaks(&run);
}

#[test]
fn missing_id_token_permission_names_the_snippet() {
    let w = World::github("gh-perm");
    let run = w
        .publish_on_github()
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 2);
    assert!(w.proxy.requests().is_empty(), "{}", w.describe(&run));
    assert!(w.issuer.token_requests().is_empty());
    expect_stderr(
        &w,
        &run,
        "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN not set",
    );
    expect_stderr(
        &w,
        &run,
        "to job \"publish\" in .github/workflows/release.yml:",
    );
    expect_stderr(&w, &run, "trusted-publishing       id-token: write");
    expect_stderr(&w, &run, "::error title=trustpub publish failed::");
    let (_, hint) = run.error_and_hint();
    assert!(hint.contains("id-token: write"), "{hint}");
    let summary = w.check_leaks(&run);
    assert!(
        summary.contains("| result | failed: trusted publishing is not possible"),
        "{summary}"
    );
}

#[test]
fn wrong_workflow_file_gets_the_values_to_enter() {
    let w = World::github("gh-wf");
    w.run_in("widgets", "ci.yml");
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 1);
    assert_eq!(w.proxy.last_exchange().outcome, Outcome::ClaimsMismatch);
    assert_eq!(
        w.sequence(),
        ["POST exchange", "GET package"],
        "nothing but the does-it-exist check after a refused exchange in always mode"
    );
    assert_eq!(w.versions(), ["1.0.0"]);
    expect_stderr(
        &w,
        &run,
        "404 Not Found: \"OIDC token exchange error - package not found\"",
    );
    expect_stderr(&w, &run, "workflow_ref:");
    expect_stderr(
        &w,
        &run,
        "acme/widgets/.github/workflows/ci.yml@refs/heads/main",
    );
    expect_stderr(&w, &run, "enter exactly (case-sensitive):");
    expect_stderr(&w, &run, "Workflow filename:    ci.yml");
    expect_stderr(&w, &run, "Organization or user: acme");
    expect_stderr(&w, &run, "Environment name:     (leave empty");
    w.check_leaks(&run);
}

#[test]
fn owner_case_mismatch_is_refused_and_explained() {
    let w = World::github("gh-case");
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("Acme", "widgets", "release.yml"),
    );
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 1);
    assert_eq!(w.proxy.last_exchange().outcome, Outcome::ClaimsMismatch);
    expect_stderr(&w, &run, "including upper and lower case");
    assert_eq!(w.sequence(), ["POST exchange", "GET package"]);
    expect_stderr(&w, &run, "Organization or user: acme");
    w.check_leaks(&run);
}

#[test]
fn expired_id_token_is_named() {
    let w = World::gitlab("gl-exp");
    let id = w.gitlab_id_token(&w.proxy.audience(), true);
    let run = w
        .publish_with_id_token("GITLAB_CI", &id)
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 1);
    assert_eq!(w.proxy.last_exchange().outcome, Outcome::Expired);
    assert_eq!(w.sequence(), ["POST exchange"]);
    expect_stderr(&w, &run, "401 Unauthorized");
    expect_stderr(&w, &run, "The id token expired at");
    // GitLab: the diagnostics are in a collapsible section.
    expect_stderr(&w, &run, "section_start:");
    expect_stderr(&w, &run, "section_end:");
    w.check_leaks(&run);
}

#[test]
fn wrong_audience_names_the_right_one() {
    let w = World::gitlab("gl-aud");
    let id = w.gitlab_id_token("npm:registry.npmjs.org", false);
    let run = w
        .publish_with_id_token("GITLAB_CI", &id)
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 1);
    assert_eq!(w.proxy.last_exchange().outcome, Outcome::WrongAudience);
    assert_eq!(w.sequence(), ["POST exchange"]);
    expect_stderr(&w, &run, "The id token has audience \"npm:registry.npmjs.org\", but this registry accepts only \"npm:127.0.0.1\"");
    expect_stderr(
        &w,
        &run,
        "Set `aud: \"npm:127.0.0.1\"` under `id_tokens: NPM_ID_TOKEN:`",
    );
    w.check_leaks(&run);
}

#[test]
fn gitlab_without_npm_id_token_prints_the_id_tokens_snippet() {
    let w = World::gitlab("gl-none");
    let run = w
        .publish_with_id_token("GITLAB_CI", "")
        .env_remove("NPM_ID_TOKEN")
        .env("CI_JOB_NAME", "release")
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 2);
    assert!(w.proxy.requests().is_empty());
    expect_stderr(&w, &run, "NPM_ID_TOKEN is not set");
    expect_stderr(&w, &run, "trusted-publishing     release:");
    expect_stderr(&w, &run, "aud: \"npm:127.0.0.1\"");
    w.check_leaks(&run);
}

#[test]
fn auto_falls_back_to_a_token_and_says_why() {
    let w = World::github("gh-fallback");
    w.run_in("widgets", "ci.yml");
    let token = w.fallback_token();
    let run = w.publish_on_github().env("NODE_AUTH_TOKEN", &token).run();
    expect_code(&w, &run, 0);
    assert_eq!(w.versions(), ["1.0.0", "1.0.1"]);
    // The refused exchange, the does-it-exist check behind the 404, then
    // the publish with the token.
    assert_eq!(
        w.sequence(),
        ["POST exchange", "GET package", "GET package", "PUT package"]
    );
    let put = w
        .proxy
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(
        put.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    expect_stderr(
        &w,
        &run,
        "trustpub warn trusted-publishing trusted publishing failed: the registry refused",
    );
    expect_stderr(
        &w,
        &run,
        "falling back to the token from environment variable NODE_AUTH_TOKEN",
    );
    expect_stderr(&w, &run, "::warning title=trustpub");
    assert!(
        run.last_stderr_line().contains("authenticated with a token from environment variable NODE_AUTH_TOKEN (trusted publishing failed"),
        "{}",
        w.describe(&run)
    );
    // The fallback token is masked too.
    expect_stderr(&w, &run, &format!("::add-mask::{token}"));
    let summary = w.check_leaks(&run);
    assert!(
        summary.contains("| trusted publishing | failed:"),
        "{summary}"
    );
}

#[test]
fn auto_without_a_fallback_fails_with_the_oidc_reason() {
    let w = World::github("gh-nofb");
    w.run_in("widgets", "ci.yml");
    let run = w.publish_on_github().run();
    expect_code(&w, &run, 1);
    let (error, hint) = run.error_and_hint();
    assert!(
        error.starts_with("trusted publishing failed: the registry refused"),
        "{error}"
    );
    assert!(hint.contains("NODE_AUTH_TOKEN"), "{hint}");
    expect_no_stderr(&w, &run, "This command requires you to be logged in");
    w.check_leaks(&run);
}

#[test]
fn placeholder_fallback_is_refused_after_a_failed_exchange() {
    let w = World::github("gh-placeholder");
    w.run_in("widgets", "ci.yml");
    // What actions/setup-node writes with `registry-url`.
    let npmrc = w.sb.root.join("setup-node.npmrc");
    w.sb.write(
        &npmrc,
        &format!(
            "{}always-auth=false\n",
            Sandbox::token_line(&w.proxy.url(), "${NODE_AUTH_TOKEN}")
        ),
    );
    let run = w
        .publish_on_github()
        .env("NPM_CONFIG_USERCONFIG", &npmrc)
        .env("NODE_AUTH_TOKEN", "XXXXX-XXXXX-XXXXX-XXXXX")
        .run();
    expect_code(&w, &run, 2);
    expect_stderr(&w, &run, "trusted publishing failed");
    expect_stderr(&w, &run, "XXXXX-XXXXX-XXXXX-XXXXX");
    assert!(w.proxy.requests().iter().all(|r| r.method != "PUT"));
    w.check_leaks(&run);
}

#[test]
fn always_outside_ci_is_a_usage_error() {
    let w = World::github("no-ci");
    let run =
        w.sb.trustpub(["publish"])
            .arg(&w.pkg)
            .args([
                "--registry",
                &w.proxy.url(),
                "--trusted-publishing",
                "always",
            ])
            .run();
    expect_code(&w, &run, 2);
    let (error, _) = run.error_and_hint();
    assert!(
        error.contains(
            "--trusted-publishing always, but this is not GitHub Actions, GitLab CI or CircleCI"
        ),
        "{error}"
    );
    assert!(w.proxy.requests().is_empty());
    // CI=false turns detection off even on GitHub.
    let run = w
        .publish_on_github()
        .env("CI", "false")
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 2);
    expect_stderr(&w, &run, "CI=false turns CI detection off");
    assert!(w.issuer.token_requests().is_empty());
}

#[test]
fn never_uses_tokens_only() {
    let w = World::github("gh-never");
    let token = w.fallback_token();
    for how in ["flag", "env"] {
        let mut tp = w
            .publish_on_github()
            .env("NODE_AUTH_TOKEN", &token)
            .arg("--dry-run");
        tp = match how {
            "flag" => tp.args(["--trusted-publishing", "never"]),
            _ => tp.env("TRUSTPUB_TRUSTED_PUBLISHING", "never"),
        };
        let run = tp.run();
        expect_code(&w, &run, 0);
        assert!(
            run.last_stderr_line()
                .contains("authenticating with a token from environment variable NODE_AUTH_TOKEN"),
            "{}",
            w.describe(&run)
        );
        w.check_leaks(&run);
    }
    assert!(w.issuer.token_requests().is_empty());
    assert!(w.proxy.exchanges().is_empty());
    assert_eq!(w.sequence(), ["GET package", "GET package"]);
}

#[test]
fn reusable_workflow_names_the_caller() {
    let w = World::github("gh-reuse");
    // The job runs in acme/shared's publish.yml, called from release.yml.
    let claims = w
        .issuer
        .github_claims("acme", "widgets", "release.yml")
        .visibility("private")
        .reusable_workflow("acme/shared", "publish.yml", "refs/heads/main")
        .self_hosted()
        .build();
    w.issuer.set_job(claims.clone());
    // Trust configured with the callee: refused.
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "widgets", "publish.yml"),
    );
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 1);
    expect_stderr(&w, &run, "this job runs in a reusable workflow (acme/shared/.github/workflows/publish.yml@refs/heads/main) called from .github/workflows/release.yml");
    expect_stderr(
        &w,
        &run,
        "enter \"release.yml\" as the workflow filename, not \"publish.yml\"",
    );
    expect_stderr(&w, &run, "Workflow filename:    release.yml");
    expect_stderr(&w, &run, "self-hosted runner");
    w.check_leaks(&run);
    // Trust configured with the caller: accepted by the registry.
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "widgets", "release.yml"),
    );
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 0);
    w.check_leaks(&run);
}

#[test]
fn a_package_not_yet_on_the_registry_cannot_use_oidc() {
    let w = World::new(OidcIssuer::github(), "gh-new", false);
    w.run_in("widgets", "release.yml");
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 1);
    assert_eq!(w.proxy.last_exchange().outcome, Outcome::PackageNotFound);
    assert_eq!(w.sequence(), ["POST exchange", "GET package"]);
    expect_stderr(&w, &run, &format!("{} does not exist on", w.name));
    expect_stderr(&w, &run, "A first publish cannot use trusted publishing");
    let (_, hint) = run.error_and_hint();
    assert!(
        hint.contains("publish the first version with a token"),
        "{hint}"
    );
    w.check_leaks(&run);
}

#[test]
fn a_403_explains_allowed_actions() {
    let w = World::github("gh-403");
    w.proxy.set_action_check(ActionCheck::AtExchange);
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "widgets", "release.yml").allow(false, true),
    );
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 1);
    expect_stderr(
        &w,
        &run,
        "403 Forbidden: \"OIDC permission denied for this action\"",
    );
    expect_stderr(&w, &run, "allows only staged publishes");
    // The packument is read (without a credential) for the identity-drift
    // check: where the latest version came from.
    assert_eq!(w.sequence(), ["POST exchange", "GET package"]);
    w.check_leaks(&run);
}

#[test]
fn repository_field_naming_another_repository_is_flagged() {
    let w = World::github("gh-repo");
    w.run_in("gadgets", "release.yml");
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "gadgets", "release.yml"),
    );
    let run = w.publish_on_github().arg("--dry-run").run();
    expect_code(&w, &run, 0);
    expect_stderr(&w, &run, "package.json's \"repository\" names github.com/acme/widgets, but this job runs in github.com/acme/gadgets");
    w.check_leaks(&run);
}

/// npm and trustpub, same fakes, same package (two versions): the same
/// requests in the same order, with the same headers that matter.
#[test]
fn requests_match_npms() {
    let w = World::github("gh-diff");
    let token_request = |n: usize| w.issuer.token_requests()[n].clone();
    // npm first, publishing 1.0.1.
    let npm = w
        .github_env(w.sb.npm(["publish", "--registry", &w.proxy.url()]))
        .cwd(&w.pkg)
        .run();
    expect_code(&w, &npm, 0);
    let npm_seq = w.sequence();
    let npm_requests = w.proxy.requests();
    let npm_token = token_request(0);
    // Then trustpub, publishing 1.0.2.
    let manifest = w.pkg.join("package.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("1.0.1", "1.0.2");
    std::fs::write(&manifest, text).unwrap();
    let ours = w.publish_on_github().run();
    expect_code(&w, &ours, 0);
    let all = w.sequence();
    let our_seq = all[npm_seq.len()..].to_vec();
    let our_requests = w.proxy.requests()[npm_requests.len()..].to_vec();
    assert_eq!(our_seq, npm_seq, "{}", w.describe(&ours));
    assert_eq!(w.versions(), ["1.0.0", "1.0.1", "1.0.2"]);

    // The id token request.
    let our_token = token_request(1);
    assert_eq!(our_token.url, npm_token.url);
    assert_eq!(our_token.header("accept"), npm_token.header("accept"));
    assert_eq!(
        our_token.header("authorization").is_some(),
        npm_token.header("authorization").is_some()
    );
    // Each registry request: same method, path and the headers npm sets.
    for (ours, theirs) in our_requests.iter().zip(&npm_requests) {
        assert_eq!(ours.method, theirs.method);
        let strip = |t: &str| t.replace("1.0.2", "V").replace("1.0.1", "V");
        assert_eq!(strip(&ours.target), strip(&theirs.target));
        for h in ["npm-command", "npm-auth-type", "content-type"] {
            assert_eq!(
                ours.header(h),
                theirs.header(h),
                "{} {}: {h}",
                ours.method,
                ours.target
            );
        }
        let scheme = |r: &crate::support::oidc_fakes::ProxyRequest| {
            r.header("authorization")
                .and_then(|a| a.split(' ').next())
                .map(str::to_string)
        };
        assert_eq!(
            scheme(ours),
            scheme(theirs),
            "{} {}",
            ours.method,
            ours.target
        );
        assert_eq!(
            ours.body_len == 0,
            theirs.body_len == 0,
            "{} {}",
            ours.method,
            ours.target
        );
    }
    w.check_leaks(&ours);
}

#[test]
fn doctor_in_ci_reports_ready_without_uploading() {
    let w = World::github("doc-ok");
    let run = w
        .github_env(w.sb.trustpub(["doctor"]))
        .arg(&w.pkg)
        .args(["--registry", &w.proxy.url()])
        .run();
    expect_code(&w, &run, 0);
    assert!(
        run.stdout()
            .contains("ok    exchange: the registry issued a publish token"),
        "{}",
        w.describe(&run)
    );
    assert!(
        run.stdout().contains("Workflow filename:    release.yml"),
        "{}",
        w.describe(&run)
    );
    assert!(run
        .stdout()
        .contains("ready: a publish from this job would authenticate with trusted publishing"));
    assert_eq!(w.sequence(), ["POST exchange", "GET package"]);
    assert_eq!(w.versions(), ["1.0.0"]);
    let summary = w.check_leaks(&run);
    assert!(
        summary.contains("| result | ready for trusted publishing |"),
        "{summary}"
    );
}

#[test]
fn doctor_in_ci_reports_a_refused_exchange_as_json() {
    let w = World::github("doc-bad");
    w.run_in("widgets", "ci.yml");
    let run = w
        .github_env(w.sb.trustpub(["doctor"]))
        .arg(&w.pkg)
        .args(["--registry", &w.proxy.url(), "--json"])
        .run();
    expect_code(&w, &run, 1);
    let doc = run.json();
    assert_eq!(doc["ready"], false);
    assert_eq!(doc["ci"], "github-actions");
    assert_eq!(doc["trustedPublisher"]["Workflow filename"], "ci.yml");
    let exchange = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "exchange")
        .unwrap();
    assert_eq!(exchange["status"], "fail");
    assert!(exchange["message"].as_str().unwrap().contains("404"));
    w.check_leaks(&run);
}

#[test]
fn leak_checks_cover_every_harness_secret() {
    // The seeding token belongs to the test harness; make sure the fakes'
    // own secrets list covers it, so the leak checks above are meaningful.
    let w = World::github("secrets");
    assert!(w.secrets().iter().any(|s| s == seed_token()));
    assert!(w.secrets().contains(&w.issuer.request_token()));
    let _ = unique_scoped_name("x");
}

#[test]
fn doctor_outside_ci_reads_the_workflow_files() {
    let sb = Sandbox::new();
    let registry = crate::support::fake_registry::FakeRegistry::start();
    for (case, code, wanted) in [
        (
            "github-missing-permission",
            1,
            &["FAIL", "id-token: write", "not ready"][..],
        ),
        (
            "github-ok",
            0,
            &["ready, as far as the CI files show", "Workflow filename:"][..],
        ),
        // A release program doctor cannot read: "cannot tell", exit 1.
        (
            "github-release-script",
            1,
            &["????", "node scripts/release.js", "cannot tell: 1 thing"][..],
        ),
        ("github-private", 1, &["EPRIVATE", "not ready"][..]),
    ] {
        let src = crate::support::manifest_dir()
            .join("fixtures/doctor")
            .join(case);
        let repo = sb.root.join(case);
        crate::support::copy_fixture(&src, &repo).unwrap();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(repo.join("package.json")).unwrap())
                .unwrap();
        let name = manifest["name"].as_str().unwrap();
        registry.seed(name, "0.0.1", "sha512-x", Some("latest"));
        let run = sb
            .trustpub(["doctor"])
            .arg(&repo)
            .args(["--registry", &registry.url()])
            .run();
        assert_eq!(run.code(), Some(code), "{case}:\n{}", run.describe);
        for w in wanted {
            assert!(
                run.stdout().contains(w),
                "{case}: no {w:?}:\n{}",
                run.describe
            );
        }
        // Nothing but the packument was asked of the registry.
        assert!(registry.requests().iter().all(|r| r.method == "GET"));
    }
}

/// A registry without npm's token exchange (GitHub Packages, say): in
/// `auto` mode the token is used after a short note, not a page of claims.
#[test]
fn a_registry_without_the_exchange_gets_a_short_note() {
    let w = World::github("no-exchange");
    let registry = crate::support::fake_registry::FakeRegistry::start();
    w.sb.login(&registry.url());
    let run = w
        .github_env(w.sb.trustpub(["publish"]))
        .arg(&w.pkg)
        .args(["--registry", &registry.url()])
        .run();
    expect_code(&w, &run, 0);
    expect_stderr(
        &w,
        &run,
        "it probably does not offer npm's trusted publishing",
    );
    expect_stderr(&w, &run, "falling back to the token from");
    expect_no_stderr(&w, &run, "enter exactly");
    expect_no_stderr(&w, &run, "The id token's claims");
    assert_eq!(registry.versions(&w.name), ["1.0.1"]);
    w.check_leaks(&run);
}

/// #14 item 4: an id token with GitHub's immutable subject
/// (`repo:OWNER@ID/REPO@ID:…`) that the exchange refuses gets the known
/// cause named (npm/cli#9969).
#[test]
fn an_immutable_subject_is_named_when_the_exchange_refuses() {
    let w = World::github("gh-immutable");
    let claims = w
        .issuer
        .github_claims("acme", "widgets", "release.yml")
        .visibility("private")
        .set(
            "sub",
            json!("repo:acme@1234567/widgets@7654321:ref:refs/heads/main"),
        )
        .build();
    w.issuer.set_job(claims);
    w.proxy.untrust(&w.name);
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w, &run, 1);
    expect_stderr(&w, &run, "uses GitHub's immutable subject format");
    expect_stderr(&w, &run, "npm/cli#9969");
    // A name-only subject gets no such line.
    let w2 = World::github("gh-mutable");
    w2.proxy.untrust(&w2.name);
    let run2 = w2
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    expect_code(&w2, &run2, 1);
    expect_no_stderr(&w2, &run2, "immutable subject format");
    w.check_leaks(&run);
    w2.check_leaks(&run2);
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(
            "trusted_immutable_subject",
            crate::snapshots::world_shot(&w, &run, 1, false)
        );
    });
}
