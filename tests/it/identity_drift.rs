//! Issue #14 item 4: identity drift. The latest version's provenance names
//! the repository that published it (read from the registry's attestations
//! endpoint); a job in a renamed, transferred or recreated repository, or
//! in another one, gets a notice when its exchange worked (the trusted
//! publisher already matches it: only the advice that still applies), and a
//! refused exchange names the drift first, with what to change. The fake registry serves a packument whose latest
//! version carries `dist.attestations` and the attestations document, with
//! a statement built by trustpub's port of npm's provenance code.

use base64::Engine as _;
use serde_json::{json, Value};

use trustpub::ci::Provider;
use trustpub::env::Env;
use trustpub::provenance::statement;

use crate::snapshots::{render, Redact, Shots};
use crate::support::fake_registry::{FakeRegistry, Reply};
use crate::support::sandbox::{Run, Sandbox, Tp};

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

const NAME: &str = "drift-widget";
const PUBLISHED: (&str, &str, &str) = ("acme/widgets", "712345678", "91234567");

/// The attestations document npmjs.com serves for `name@version` published
/// from `repo` (ids `repo_id`, `owner_id`): the registry's publish
/// attestation and the SLSA provenance, each a Sigstore bundle whose DSSE
/// payload is the statement.
fn attestations(
    name: &str,
    version: &str,
    (repo, repo_id, owner_id): (&str, &str, &str),
) -> Vec<u8> {
    let env = Env::from_pairs([
        ("CI", "true"),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", repo),
        ("GITHUB_REPOSITORY_ID", repo_id),
        ("GITHUB_REPOSITORY_OWNER_ID", owner_id),
        (
            "GITHUB_WORKFLOW_REF",
            &format!("{repo}/.github/workflows/release.yml@refs/tags/v{version}"),
        ),
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", &format!("refs/tags/v{version}")),
        ("GITHUB_SHA", "3f786850e387550fdab836ed7e6dc881de23001b"),
        ("RUNNER_ENVIRONMENT", "github-hosted"),
        ("GITHUB_RUN_ID", "1"),
        ("GITHUB_RUN_ATTEMPT", "1"),
    ]);
    let st = statement::statement(
        &env,
        Provider::GitHubActions,
        name,
        version,
        &"ab".repeat(64),
    )
    .expect("a GitHub statement");
    let payload = base64::engine::general_purpose::STANDARD.encode(statement::statement_bytes(&st));
    let bundle = |payload: &str, predicate: &str| {
        json!({
            "predicateType": predicate,
            "bundle": {
                "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "verificationMaterial": {"certificate": {"rawBytes": "MIIB"}, "tlogEntries": []},
                "dsseEnvelope": {
                    "payload": payload,
                    "payloadType": "application/vnd.in-toto+json",
                    "signatures": [{"sig": "MEUCIQ==", "keyid": ""}],
                },
            },
        })
    };
    json!({"attestations": [
        bundle("e30=", "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"),
        bundle(&payload, "https://slsa.dev/provenance/v1"),
    ]})
    .to_string()
    .into_bytes()
}

fn attestations_path(version: &str) -> String {
    format!("/-/npm/v1/attestations/{NAME}@{version}")
}

/// An id token (a JWT; its signature is the registry's business, and the
/// fake registry answers the exchange as scripted).
fn id_token(claims: &Value) -> String {
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(&json!({"alg": "RS256", "typ": "JWT", "kid": "test"})),
        b64(claims)
    )
}

fn github_claims((repo, repo_id, owner_id): (&str, &str, &str)) -> Value {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let owner = repo.split('/').next().unwrap();
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "npm:127.0.0.1",
        "sub": format!("repo:{repo}:ref:refs/heads/main"),
        "repository": repo,
        "repository_id": repo_id,
        "repository_owner": owner,
        "repository_owner_id": owner_id,
        "repository_visibility": "public",
        "workflow_ref": format!("{repo}/.github/workflows/release.yml@refs/heads/main"),
        "job_workflow_ref": format!("{repo}/.github/workflows/release.yml@refs/heads/main"),
        "ref": "refs/heads/main",
        "event_name": "push",
        "runner_environment": "github-hosted",
        "exp": exp,
    })
}

struct Job {
    sb: Sandbox,
    reg: FakeRegistry,
    r: Redact,
    pkg: std::path::PathBuf,
}

impl Job {
    /// 1.0.0 on the registry (the latest), published from `PUBLISHED` with
    /// provenance at `url` (`None`: the registry's own attestations path,
    /// serving the document); this job's package.json names `repository`.
    fn new(repository: &str, url: Option<&str>) -> Job {
        Job::of(
            (NAME, "1.0.0", "1.0.1"),
            attestations(NAME, "1.0.0", PUBLISHED),
            repository,
            url,
        )
    }

    /// [`Job::new`] for `name`: `latest` on the registry, its attestations
    /// document `body`, this job's package at `version`.
    fn of(
        (name, latest, version): (&str, &str, &str),
        body: Vec<u8>,
        repository: &str,
        url: Option<&str>,
    ) -> Job {
        let sb = Sandbox::new();
        let reg = FakeRegistry::start();
        reg.seed(name, latest, "sha512-AAAA", Some("latest"));
        let path = format!("/-/npm/v1/attestations/{name}@{latest}");
        let own = format!("{}{path}", reg.url().trim_end_matches('/'));
        reg.set_attestations(name, latest, url.unwrap_or(&own));
        reg.serve(&path, 200, body);
        // A public package: npm makes provenance, so nothing is a downgrade.
        reg.serve(
            &format!("/-/package/{name}/visibility"),
            200,
            br#"{"public": true}"#.to_vec(),
        );
        let pkg = sb.package(
            "pkg",
            &json!({
                "name": name,
                "version": version,
                "license": "MIT",
                "repository": {"type": "git", "url": format!("git+https://github.com/{repository}.git")},
            }),
            &[("index.js", "module.exports = 1\n")],
        );
        let r = Redact::new(&sb);
        Job { sb, reg, r, pkg }
    }

    /// A GitHub Actions job in `repo` whose exchange the registry answers
    /// with `exchange` (a publish token, or a refusal).
    fn github<'a>(&'a self, tp: Tp<'a>, repo: (&str, &str, &str), exchange: Reply) -> Tp<'a> {
        let token = id_token(&github_claims(repo));
        self.sb.add_secret(&token);
        self.reg.script_posts([exchange]);
        tp.env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("NPM_ID_TOKEN", token)
            // The id-token permission (for signing provenance, which a dry
            // run does not do: this address is never asked).
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/token")
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-0123456789")
            .env("GITHUB_REPOSITORY", repo.0)
            .env(
                "GITHUB_WORKFLOW_REF",
                format!("{}/.github/workflows/release.yml@refs/heads/main", repo.0),
            )
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REPOSITORY_ID", repo.1)
            .env("GITHUB_REPOSITORY_OWNER_ID", repo.2)
    }

    fn publish(&self, repo: (&str, &str, &str), exchange: Reply) -> Run {
        self.publish_with(repo, exchange, &[], &[])
    }

    /// [`Job::publish`] with more arguments and environment.
    fn publish_with(
        &self,
        repo: (&str, &str, &str),
        exchange: Reply,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Run {
        let mut tp = self.github(
            self.sb
                .trustpub(["publish", "--dry-run", "--trusted-publishing", "always"])
                .arg(&self.pkg)
                .args(["--registry", &self.reg.url()])
                .args(args.iter().copied()),
            repo,
            exchange,
        );
        for (k, v) in env {
            tp = tp.env(k, v);
        }
        tp.run()
    }

    fn attestation_gets(&self) -> usize {
        self.reg
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.url.starts_with("/-/npm/v1/attestations/"))
            .count()
    }
}

const PUBLISH_TOKEN: &str = "npm_drift_publish_token_0123456789";

fn granted() -> Reply {
    Reply::status(200, "").body(&json!({ "token": PUBLISH_TOKEN }).to_string())
}

fn refused() -> Reply {
    Reply::status(404, "")
        .body(&json!({"message": "OIDC token exchange error - package not found"}).to_string())
}

/// The run as the snapshot shows it: the tarball listing and the dry run's
/// statement (the same in every case, and shown by the provenance
/// snapshots) are left out.
fn shot(job: &Job, run: &Run) -> String {
    let text = render(&job.r, run, None);
    let mut out = Vec::new();
    let mut in_statement = false;
    for line in text.lines() {
        if line.contains("provenance: the statement that would be signed") {
            in_statement = true;
            out.push("[the statement that would be signed]");
            continue;
        }
        if in_statement {
            in_statement = line != "trustpub notice }";
            continue;
        }
        let listing = [
            "B index.js",
            "B package.json",
            "Tarball ",
            "name: ",
            "version: ",
            "filename: ",
            "size: ",
            "shasum: ",
            "integrity: ",
            "total files: ",
            "📦",
        ];
        if line.starts_with("trustpub notice ") && listing.iter().any(|l| line.contains(l)) {
            continue;
        }
        out.push(line);
    }
    out.join("\n") + "\n"
}

fn has(run: &Run, what: &str) -> bool {
    run.stderr().contains(what)
}

#[test]
fn a_job_in_another_repository_than_the_latest_versions_is_warned() {
    let mut shots = Shots::default();

    // The same repository: no warning, one read of the attestations.
    let job = Job::new("acme/widgets", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    let run = job.publish(PUBLISHED, granted());
    run.expect_code(0);
    assert!(!has(&run, "identity-drift"), "{}", run.describe);
    assert_eq!(job.attestation_gets(), 1, "{:?}", job.reg.summary());
    assert!(
        job.reg
            .requests()
            .iter()
            .filter(|r| r.url.starts_with("/-/npm/v1/attestations/"))
            .all(|r| r.header("authorization").is_none()),
        "the attestations are read without a credential"
    );
    shots.add("the same repository", shot(&job, &run));

    // Renamed: the same id under another name; package.json still names
    // the old repository.
    let job = Job::new("acme/widgets", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    let run = job.publish(("acme/gizmos", "712345678", "91234567"), granted());
    // The stale package.json also stops provenance, and so the publish
    // (a trust downgrade). The exchange worked: a notice, whose only advice
    // is package.json (the trusted publisher already matches).
    run.expect_code(1);
    assert!(
        has(&run, "trustpub notice identity-drift") && !has(&run, "warn identity-drift"),
        "{}",
        run.describe
    );
    assert!(
        has(&run, "the same repository, renamed") && has(&run, "already accepts this repository"),
        "{}",
        run.describe
    );
    assert!(
        !has(&run, "Organization or user")
            && !has(&run, "no longer matches")
            && has(&run, "git+https://github.com/acme/gizmos.git"),
        "{}",
        run.describe
    );
    assert!(
        !run.stderr().contains("repository drift"),
        "no warning annotation: {}",
        run.describe
    );
    shots.add(
        "renamed, and package.json still names the old repository",
        shot(&job, &run),
    );

    // Transferred to another owner, package.json up to date.
    let job = Job::new("new-owner/widgets", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    let run = job.publish(("new-owner/widgets", "712345678", "5550001"), granted());
    run.expect_code(0);
    assert!(
        has(&run, "transferred to another owner"),
        "{}",
        run.describe
    );
    assert!(
        !has(&run, "package.json \"repository\""),
        "{}",
        run.describe
    );
    shots.add("transferred", shot(&job, &run));

    // Recreated: the same name, another id: who owns it now.
    let job = Job::new("acme/widgets", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    let run = job.publish(("acme/widgets", "999000111", "91234567"), granted());
    run.expect_code(0);
    assert!(
        has(&run, "deleted and created again") && has(&run, "find out who owns it now"),
        "{}",
        run.describe
    );
    shots.add("recreated", shot(&job, &run));

    // A fork publishes it.
    let job = Job::new("someone/widgets", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    let run = job.publish(("someone/widgets", "999000222", "5550002"), granted());
    run.expect_code(0);
    assert!(
        has(&run, "(a fork?)") && has(&run, "that you control it"),
        "{}",
        run.describe
    );
    shots.add("another repository (a fork)", shot(&job, &run));

    snap!("identity_drift_publish", shots.0);
}

#[test]
fn provenance_that_cannot_be_read_is_a_notice_and_another_host_is_not_asked() {
    let mut shots = Shots::default();

    // The registry answers the attestations with an error: a notice, and
    // the publish goes on.
    let job = Job::new("acme/gizmos", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    job.reg.serve(
        &attestations_path("1.0.0"),
        500,
        br#"{"error": "internal"}"#.to_vec(),
    );
    let run = job.publish(("acme/gizmos", "712345678", "91234567"), granted());
    run.expect_code(0);
    assert!(!has(&run, "identity-drift"), "{}", run.describe);
    assert!(
        has(&run, "could not read the provenance of"),
        "{}",
        run.describe
    );
    assert_eq!(job.attestation_gets(), 1);
    shots.add("the attestations answer 500", shot(&job, &run));

    // A document that is not an attestations list.
    let job = Job::new("acme/gizmos", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    job.reg
        .serve(&attestations_path("1.0.0"), 200, b"<html>".to_vec());
    let run = job.publish(("acme/gizmos", "712345678", "91234567"), granted());
    run.expect_code(0);
    assert!(has(&run, "the answer is not JSON"), "{}", run.describe);
    shots.add("the attestations are not JSON", shot(&job, &run));

    // A statement of a shape npm does not write (another builder's SLSA
    // v0.2): no drift claimed, a notice.
    let job = Job::new("someone/else", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    let st = json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "pkg:npm/drift-widget@1.0.0", "digest": {"sha512": "ab"}}],
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {
            "buildType": "https://example.com/another-builder/v1",
            "invocation": {"configSource": {"uri": "git+https://github.com/acme/widgets@refs/heads/main"}},
        },
    });
    let payload = base64::engine::general_purpose::STANDARD.encode(st.to_string());
    job.reg.serve(
        &attestations_path("1.0.0"),
        200,
        json!({"attestations": [{"predicateType": "https://slsa.dev/provenance/v0.2", "bundle": {"dsseEnvelope": {"payload": payload, "payloadType": "application/vnd.in-toto+json", "signatures": []}}}]})
            .to_string()
            .into_bytes(),
    );
    let run = job.publish(("someone/else", "999", "5555"), granted());
    run.expect_code(0);
    assert!(
        !has(&run, "identity-drift") && has(&run, "is not one npm writes"),
        "{}",
        run.describe
    );
    shots.add("a statement of another build type", shot(&job, &run));

    // The packument points to another host: nothing is fetched from it
    // (it would answer nothing: the address is reserved).
    let job = Job::new(
        "acme/gizmos",
        Some("https://attestations.example.invalid/-/npm/v1/attestations/drift-widget@1.0.0"),
    );
    job.sb.add_secret(PUBLISH_TOKEN);
    let run = job.publish(("acme/gizmos", "712345678", "91234567"), granted());
    run.expect_code(0);
    assert_eq!(job.attestation_gets(), 0, "{:?}", job.reg.summary());
    assert!(
        has(&run, "is served from https://attestations.example.invalid/"),
        "{}",
        run.describe
    );
    shots.add("the attestations are on another host", shot(&job, &run));

    snap!("identity_drift_unread", shots.0);
}

#[test]
fn a_refused_exchange_names_the_drift_first() {
    let job = Job::new("acme/widgets", None);
    let run = job.publish(("acme/gizmos", "712345678", "91234567"), refused());
    run.expect_code(1);
    let err = run.stderr();
    let drift = err
        .find("the same repository, renamed")
        .unwrap_or_else(|| panic!("no drift in the diagnosis: {}", run.describe));
    let claims = err
        .find("The id token's claims")
        .unwrap_or_else(|| panic!("no claims: {}", run.describe));
    assert!(drift < claims, "the drift comes first: {}", run.describe);
    assert!(
        has(&run, "Organization or user \"acme\", Repository \"gizmos\""),
        "{}",
        run.describe
    );
    let mut shots = Shots::default();
    shots.add("renamed", shot(&job, &run));

    // The other kinds, refused: what to change on the trusted publisher
    // (only the drift lines: the rest is the same diagnosis).
    for (what, repo, repository, words) in [
        (
            "the owner renamed",
            ("acme-corp/widgets", "712345678", "91234567"),
            "acme-corp/widgets",
            "its owner was renamed from acme to acme-corp",
        ),
        (
            "transferred",
            ("new-owner/widgets", "712345678", "5550001"),
            "new-owner/widgets",
            "transferred to another owner",
        ),
        (
            "recreated",
            ("acme/widgets", "999000111", "91234567"),
            "acme/widgets",
            "if you recreated github.com/acme/widgets yourself",
        ),
        (
            "a fork",
            ("someone/widgets", "999000222", "5550002"),
            "someone/widgets",
            "has moved to this repository, change the trusted publisher",
        ),
    ] {
        let job = Job::new(repository, None);
        let run = job.publish(repo, refused());
        run.expect_code(1);
        assert!(
            has(
                &run,
                "First check, the likely cause: the repository changed."
            ) && has(&run, words),
            "{what}: {}",
            run.describe
        );
        let text = shot(&job, &run);
        let start = text.find("First check").expect("the drift lines");
        let lines: String = text[start..]
            .lines()
            .take(3)
            .map(|l| format!("{l}\n"))
            .collect();
        shots.add(what, lines);
    }
    snap!("identity_drift_refused", shots.0);
}

#[test]
fn doctor_compares_the_job_or_the_checkout_with_the_latest_versions_repository() {
    let mut shots = Shots::default();
    fn doctor(job: &Job) -> Tp<'_> {
        job.sb
            .trustpub(["doctor"])
            .arg(&job.pkg)
            .args(["--registry", &job.reg.url()])
    }

    // In CI, the same repository: an ok line.
    let job = Job::new("acme/widgets", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    let run = job.github(doctor(&job), PUBLISHED, granted()).run();
    assert!(
        run.stdout().contains("the repository this job runs in"),
        "{}",
        run.describe
    );
    shots.add("in CI, the same repository", shot(&job, &run));

    // In CI, a renamed repository whose exchange still works: the
    // trusted publisher already matches, nothing to update there.
    let job = Job::new("acme/gizmos", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    let run = job
        .github(
            doctor(&job),
            ("acme/gizmos", "712345678", "91234567"),
            granted(),
        )
        .run();
    assert!(
        run.stdout().contains("the same repository, renamed")
            && run.stdout().contains("already accepts this repository")
            && !run.stdout().contains("update the trusted publisher"),
        "{}",
        run.describe
    );
    shots.add("in CI, renamed", shot(&job, &run));

    // In CI, refused: the diagnosis names the drift, once.
    let job = Job::new("acme/gizmos", None);
    let run = job
        .github(
            doctor(&job),
            ("acme/gizmos", "712345678", "91234567"),
            refused(),
        )
        .run();
    assert_eq!(
        run.stdout().matches("the same repository, renamed").count(),
        1,
        "{}",
        run.describe
    );
    shots.add("in CI, refused", shot(&job, &run));

    // Outside CI: the checkout's origin remote and package.json name the
    // new repository; no ids, so a rename cannot be told from a move.
    let job = Job::new("acme/gizmos", None);
    std::fs::create_dir_all(job.pkg.join(".git")).unwrap();
    std::fs::write(
        job.pkg.join(".git/config"),
        "[remote \"origin\"]\n\turl = https://github.com/acme/gizmos.git\n",
    )
    .unwrap();
    let run = doctor(&job).run();
    assert!(
        run.stdout().contains("the git remote \"origin\" and package.json's \"repository\" name github.com/acme/gizmos")
            && run.stdout().contains("renamed, transferred, or another repository"),
        "{}",
        run.describe
    );
    assert!(
        run.stdout().contains("update the trusted publisher"),
        "{}",
        run.describe
    );
    shots.add(
        "outside CI, the checkout names another repository",
        shot(&job, &run),
    );

    // Outside CI, package.json names a directory of the repository (a
    // `/tree/<ref>/<dir>` URL): that is the repository itself.
    let job = Job::new("acme/widgets", None);
    let pj = job.pkg.join("package.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&pj).unwrap()).unwrap();
    v["repository"] = json!("https://github.com/acme/widgets/tree/main/packages/a");
    std::fs::write(&pj, v.to_string()).unwrap();
    let run = doctor(&job).run();
    assert!(
        run.stdout()
            .contains("was published from github.com/acme/widgets (per its provenance), the repository package.json's \"repository\" names"),
        "{}",
        run.describe
    );
    // (The rest of the report is about the missing CI files.)
    let identity: String = shot(&job, &run)
        .lines()
        .filter(|l| l.contains("identity:"))
        .map(|l| format!("{l}\n"))
        .collect();
    shots.add(
        "outside CI, package.json names a directory of the same repository (the identity line)",
        identity,
    );

    snap!("identity_drift_doctor", shots.0);
}

#[test]
fn a_workspace_run_warns_per_package() {
    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    let root = sb.root.join("repo");
    let write = |rel: &str, v: &Value| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    };
    write(
        "package.json",
        &json!({"name": "drift-root", "private": true, "workspaces": ["packages/*"]}),
    );
    for short in ["a", "b"] {
        let name = format!("drift-ws-{short}");
        write(
            &format!("packages/{short}/package.json"),
            &json!({
                "name": name,
                "version": "1.0.1",
                "license": "MIT",
                "repository": {"type": "git", "url": "git+https://github.com/acme/gizmos.git"},
            }),
        );
        std::fs::write(root.join(format!("packages/{short}/index.js")), "1\n").unwrap();
        reg.seed(&name, "1.0.0", "sha512-AAAA", Some("latest"));
        reg.serve(
            &format!("/-/package/{name}/visibility"),
            200,
            br#"{"public": true}"#.to_vec(),
        );
    }
    // Only a's 1.0.0 carries provenance (from acme/widgets, since renamed).
    let path = "/-/npm/v1/attestations/drift-ws-a@1.0.0";
    reg.set_attestations(
        "drift-ws-a",
        "1.0.0",
        &format!("{}{path}", reg.url().trim_end_matches('/')),
    );
    reg.serve(path, 200, attestations("drift-ws-a", "1.0.0", PUBLISHED));
    let repo = ("acme/gizmos", "712345678", "91234567");
    let token = id_token(&github_claims(repo));
    sb.add_secret(&token);
    sb.add_secret(PUBLISH_TOKEN);
    reg.script_posts([granted(), granted()]);
    let run = sb
        .trustpub([
            "publish",
            "--workspaces",
            "--dry-run",
            "--trusted-publishing",
            "always",
        ])
        .args(["--registry", &reg.url()])
        .cwd(&root)
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("NPM_ID_TOKEN", &token)
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/token")
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-0123456789")
        .env("GITHUB_REPOSITORY", repo.0)
        .env(
            "GITHUB_WORKFLOW_REF",
            "acme/gizmos/.github/workflows/release.yml@refs/heads/main",
        )
        .env("GITHUB_SERVER_URL", "https://github.com")
        .run();
    run.expect_code(0);
    let err = run.stderr();
    // The notice comes in a's checks, and only there.
    let a = err
        .find("drift-ws-a@1.0.1: the registry's checks")
        .expect("a's checks");
    let b = err
        .find("drift-ws-b@1.0.1: the registry's checks")
        .expect("b's checks");
    let warning = err
        .find("trustpub notice identity-drift drift-ws-a@1.0.0 was published from github.com/acme/widgets")
        .unwrap_or_else(|| panic!("no notice for a: {}", run.describe));
    assert!(a < warning && (b < a || warning < b), "{}", run.describe);
    assert_eq!(
        err.matches("trustpub notice identity-drift").count(),
        1,
        "{}",
        run.describe
    );
    assert!(!err.contains("warn identity-drift"), "{}", run.describe);
    assert!(
        !err.contains("drift-ws-b@1.0.0 was published"),
        "{}",
        run.describe
    );
    let r = Redact::new(&sb);
    let text: String = render(&r, &run, None)
        .lines()
        .filter(|l| l.contains("identity-drift") || l.contains("the registry's checks"))
        .map(|l| format!("{l}\n"))
        .collect();
    snap!("identity_drift_workspace", text);
}

/// npm 9.5–9.8 wrote SLSA v0.2 statements for GitHub (libnpmpublish
/// 7.1.0–7.4.0): the repository in `configSource.uri` with `@<ref>`, the ids
/// in `invocation.environment`. A version published that way, read back:
/// the same repository (no drift), and a refused exchange keeps its own
/// hint.
#[test]
fn npm9s_provenance_names_the_same_repository() {
    for fixture in ["libnpmpublish-7.1.0", "libnpmpublish-7.4.0"] {
        let statement = std::fs::read(
            crate::support::manifest_dir()
                .join("fixtures/provenance-npm9")
                .join(fixture)
                .join("github/statement.json"),
        )
        .unwrap_or_else(|e| panic!("the fixture {fixture} cannot be read: {e}"));
        let payload = base64::engine::general_purpose::STANDARD.encode(&statement);
        let body = json!({"attestations": [
            {"predicateType": "https://slsa.dev/provenance/v0.2",
             "bundle": {"dsseEnvelope": {"payload": payload, "payloadType": "application/vnd.in-toto+json", "signatures": []}}},
        ]})
        .to_string()
        .into_bytes();
        let octo = ("octo-org/octo-lib", "712345678", "91234567");
        let job = Job::of(("octo-lib", "1.4.2", "1.4.3"), body.clone(), octo.0, None);
        job.sb.add_secret(PUBLISH_TOKEN);
        let run = job.publish(octo, granted());
        run.expect_code(0);
        assert_eq!(job.attestation_gets(), 1, "{:?}", job.reg.summary());
        assert!(
            !has(&run, "identity-drift") && !has(&run, "provenance of octo-lib"),
            "{fixture}: {}",
            run.describe
        );
        // Refused: the 404's own hint, no drift named.
        let job = Job::of(("octo-lib", "1.4.2", "1.4.3"), body, octo.0, None);
        let run = job.publish(octo, refused());
        run.expect_code(1);
        assert!(
            !has(&run, "the repository changed") && !has(&run, "GitLab"),
            "{fixture}: {}",
            run.describe
        );
        assert_eq!(job.attestation_gets(), 1, "{:?}", job.reg.summary());
    }
}

/// A stalled attestations endpoint: the drift check gives up on its own
/// (here at fetch-timeout, shorter than its 15 s), says so, and the publish
/// goes on (its registry time is not spent on it).
#[test]
fn a_stalled_attestations_endpoint_is_a_notice_and_the_publish_goes_on() {
    let job = Job::new("acme/gizmos", None);
    job.sb.add_secret(PUBLISH_TOKEN);
    job.reg.serve_after(
        &attestations_path("1.0.0"),
        200,
        attestations(NAME, "1.0.0", PUBLISHED),
        std::time::Duration::from_secs(8),
    );
    let run = job.publish_with(
        ("acme/gizmos", "712345678", "91234567"),
        granted(),
        &[],
        &[
            ("npm_config_fetch_timeout", "3000"),
            ("npm_config_fetch_retries", "0"),
        ],
    );
    run.expect_code(0);
    assert_eq!(
        job.attestation_gets(),
        1,
        "one attempt: {:?}",
        job.reg.summary()
    );
    assert!(
        has(&run, "could not read the provenance of drift-widget@1.0.0")
            && has(&run, "(no answer within 3 s)")
            && !has(&run, "identity-drift"),
        "{}",
        run.describe
    );
    assert!(
        has(&run, "Publishing to") && !has(&run, "was not sent"),
        "{}",
        run.describe
    );
    snap!("identity_drift_stalled", shot(&job, &run));
}

/// A prerelease line published with `--tag next` from another repository
/// than `latest`'s: a notice on each publish, not a warning.
#[test]
fn a_prerelease_line_from_another_repository_is_a_notice() {
    let job = Job::of(
        (NAME, "1.0.0", "2.0.0-beta.1"),
        attestations(NAME, "1.0.0", PUBLISHED),
        "acme/widgets-next",
        None,
    );
    job.sb.add_secret(PUBLISH_TOKEN);
    let run = job.publish_with(
        ("acme/widgets-next", "800000001", "91234567"),
        granted(),
        &["--tag", "next"],
        &[],
    );
    run.expect_code(0);
    assert!(
        has(&run, "trustpub notice identity-drift drift-widget@1.0.0 was published from github.com/acme/widgets")
            && !has(&run, "warn identity-drift")
            && !has(&run, "::warning"),
        "{}",
        run.describe
    );
    snap!("identity_drift_prerelease", shot(&job, &run));
}
