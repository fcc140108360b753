//! One test per fixture repository under `fixtures/doctor/<case>/`, then
//! rule-table tests for the shell scanner and tests that build small
//! repositories in a temporary directory (a `.git` directory cannot be
//! committed inside this repository's fixtures).

use super::shell::{self, Event, Target};
use super::*;
use pretty_assertions::assert_eq;
use Severity::{Error, Info, Warning};

const HOST: &str = "registry.npmjs.org";

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/doctor")
        .join(case)
}

fn analyze_case(case: &str) -> Analysis {
    let root = fixture(case);
    analyze(&root, &root, HOST)
}

fn codes(findings: &[Finding]) -> Vec<(Severity, &'static str)> {
    findings.iter().map(|f| (f.severity, f.code)).collect()
}

/// The only publishing job, with no problems around it.
fn only_job(a: &Analysis) -> &PublishJob {
    assert_eq!(codes(&a.problems), vec![], "problems: {:#?}", a.problems);
    assert_eq!(a.jobs.len(), 1, "jobs: {:#?}", a.jobs);
    &a.jobs[0]
}

fn finding<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} finding in {findings:#?}"))
}

fn assert_has(text: &str, phrases: &[&str]) {
    for p in phrases {
        assert!(text.contains(p), "{p:?} is not in:\n{text}");
    }
}

fn github(workflow: &str, environment: Option<&str>) -> PublisherValues {
    PublisherValues::GitHub {
        owner: Some("acme".into()),
        repository: Some("widget".into()),
        workflow_file: Some(workflow.into()),
        environment: environment.map(str::to_string),
    }
}

const ID_TOKEN_SNIPPET: &str = "permissions:\n  contents: read\n  id-token: write";

// ---- GitHub Actions -------------------------------------------------------

#[test]
fn github_ok() {
    let a = analyze_case("github-ok");
    let job = only_job(&a);
    assert_eq!(job.provider, Provider::GitHubActions);
    assert_eq!(job.file, Path::new(".github/workflows/release.yml"));
    assert_eq!(job.job, "publish");
    assert_eq!(job.publishes_with, Publisher::Npm);
    assert_eq!(job.command, "npm publish --provenance --access public");
    assert_eq!(job.publisher_values, github("release.yml", None));
    assert_eq!(codes(&job.findings), vec![]);
    assert_eq!(
        a.files_read,
        vec![
            PathBuf::from("package.json"),
            PathBuf::from(".github/workflows/ci.yml"),
            PathBuf::from(".github/workflows/release.yml"),
        ]
    );
    assert!(a.ready());
}

#[test]
fn github_workflow_level_permissions_ok() {
    let a = analyze_case("github-workflow-level-permissions-ok");
    let job = only_job(&a);
    assert_eq!(job.job, "npm");
    assert_eq!(job.publisher_values, github("publish.yaml", None));
    assert_eq!(codes(&job.findings), vec![]);
    assert!(a.ready());
}

#[test]
fn github_missing_permission() {
    let a = analyze_case("github-missing-permission");
    let job = only_job(&a);
    assert_eq!(codes(&job.findings), vec![(Error, "github-id-token")]);
    let f = &job.findings[0];
    assert_has(
        &f.message,
        &[
            ".github/workflows/release.yml, job \"publish\"",
            "neither the job nor the workflow sets `permissions`",
            "id-token: write",
        ],
    );
    assert_has(
        f.fix.as_deref().unwrap(),
        &["job \"publish\"", ID_TOKEN_SNIPPET],
    );
    assert!(!a.ready());
}

#[test]
fn github_permission_overridden_by_job() {
    let a = analyze_case("github-permission-overridden-by-job");
    let job = only_job(&a);
    assert_eq!(codes(&job.findings), vec![(Error, "github-id-token")]);
    assert_has(
        &job.findings[0].message,
        &[
            "job \"publish\" sets `permissions` without `id-token: write`",
            "replace the workflow's (which do grant it)",
        ],
    );
    // The snippet keeps what the job already lists.
    assert_has(job.findings[0].fix.as_deref().unwrap(), &[ID_TOKEN_SNIPPET]);
    assert!(!a.ready());
}

#[test]
fn github_write_all() {
    let a = analyze_case("github-write-all");
    let job = only_job(&a);
    assert_eq!(codes(&job.findings), vec![]);
    assert!(a.ready());
}

#[test]
fn github_reusable_names_the_caller() {
    let a = analyze_case("github-reusable");
    let job = only_job(&a);
    assert_eq!(job.file, Path::new(".github/workflows/publish.yml"));
    assert_eq!(
        job.called_from,
        vec![JobRef {
            file: ".github/workflows/release.yml".into(),
            job: "release".into()
        }]
    );
    // The environment comes from the caller's `with:`, not the input's default.
    assert_eq!(job.publisher_values, github("release.yml", Some("npm")));
    assert_eq!(
        codes(&job.findings),
        vec![(Warning, "reusable-workflow"), (Info, "environment")]
    );
    let f = finding(&job.findings, "reusable-workflow");
    assert_has(
        &f.message,
        &[
            "started by .github/workflows/release.yml, job \"release\"",
            "must name release.yml, not publish.yml",
        ],
    );
    assert_has(
        f.fix.as_deref().unwrap(),
        &["Workflow filename: release.yml"],
    );
    assert!(a.ready());
}

#[test]
fn github_reusable_caller_must_grant_id_token() {
    let a = analyze_case("github-reusable-caller-missing");
    let job = only_job(&a);
    assert_eq!(
        codes(&job.findings),
        vec![
            (Error, "github-id-token"),
            (Warning, "reusable-workflow"),
            (Info, "environment")
        ]
    );
    // No `with:` in the caller: the input's default names the environment.
    assert_eq!(job.publisher_values, github("release.yml", Some("release")));
    // The callee grants id-token; the finding is about the caller.
    let f = &job.findings[0];
    assert_has(
        &f.message,
        &[
            ".github/workflows/release.yml, job \"release\"",
            "calls the reusable workflow that publishes",
            "(contents: read)",
        ],
    );
    assert_has(
        f.fix.as_deref().unwrap(),
        &[
            "job \"release\" in .github/workflows/release.yml",
            ID_TOKEN_SNIPPET,
        ],
    );
    assert!(!a.ready());
}

#[test]
fn github_old_node() {
    let a = analyze_case("github-old-node");
    let job = only_job(&a);
    assert_eq!(codes(&job.findings), vec![(Error, "npm-too-old")]);
    let f = &job.findings[0];
    assert_has(
        &f.message,
        &[
            ".github/workflows/release.yml, job \"publish\"",
            "`npm publish --provenance`",
            "Node 20 (actions/setup-node with node-version: 20)",
            "npm 10",
            "11.5.1",
        ],
    );
    assert_has(
        f.fix.as_deref().unwrap(),
        &[
            "node-version: 24",
            "npm install -g npm@latest",
            "`npx --yes trustpub@",
            "the `trustpub/trustpub` Action",
        ],
    );
    assert!(!a.ready());
}

#[test]
fn github_old_node_upgraded() {
    let a = analyze_case("github-old-node-upgraded");
    let job = only_job(&a);
    // npm is upgraded, so it tries trusted publishing; npm's documentation
    // still asks for Node 22.14, which is worth a warning, not an error.
    assert_eq!(codes(&job.findings), vec![(Warning, "node-too-old")]);
    assert_has(
        &job.findings[0].message,
        &["after `npm install -g npm@latest`", "Node 20", "22.14.0"],
    );
    assert!(a.ready());
}

#[test]
fn github_trustpub_does_not_need_new_node() {
    let a = analyze_case("github-trustpub");
    let job = only_job(&a);
    assert_eq!(job.publishes_with, Publisher::Trustpub);
    assert_eq!(job.command, "npx --yes trustpub@latest publish");
    assert_eq!(codes(&job.findings), vec![]);
    assert!(a.ready());
}

#[test]
fn github_self_hosted() {
    let a = analyze_case("github-self-hosted");
    let job = only_job(&a);
    assert_eq!(codes(&job.findings), vec![(Error, "self-hosted-runner")]);
    assert_has(
        &job.findings[0].message,
        &[
            "job \"publish\"",
            "self-hosted runner",
            "self-hosted, linux, x64",
        ],
    );
    assert_has(
        job.findings[0].fix.as_deref().unwrap(),
        &["runs-on: ubuntu-latest"],
    );
    assert!(!a.ready());
}

#[test]
fn github_environment() {
    let a = analyze_case("github-environment");
    let job = only_job(&a);
    assert_eq!(
        job.publisher_values,
        github("npm-release.yml", Some("Production"))
    );
    assert_eq!(codes(&job.findings), vec![(Info, "environment")]);
    assert_has(
        &job.findings[0].message,
        &[
            "environment \"Production\"",
            "capitals included",
            "leave the field empty",
        ],
    );
    assert!(a.ready());
}

#[test]
fn github_npm_run_release() {
    let a = analyze_case("github-npm-run-release");
    let job = only_job(&a);
    assert_eq!(job.publishes_with, Publisher::Npm);
    assert_eq!(job.command, "npm publish --access public");
    // Node 22 comes with npm 10: found through the script, checked all the same.
    assert_eq!(codes(&job.findings), vec![(Error, "npm-too-old")]);
    assert_has(
        &job.findings[0].message,
        &[
            "`npm publish --access public` (through `npm run release`)",
            "Node 22",
        ],
    );
}

#[test]
fn github_nvmrc_and_composite_action() {
    let a = analyze_case("github-nvmrc");
    let job = only_job(&a);
    assert_eq!(job.command, "npm publish");
    assert_eq!(codes(&job.findings), vec![(Error, "npm-too-old")]);
    assert_has(
        &job.findings[0].message,
        &[
            "Node 20.11.1",
            "node-version-file: .nvmrc, which says v20.11.1",
        ],
    );
    assert!(a
        .files_read
        .contains(&PathBuf::from(".github/actions/publish/action.yml")));
}

#[test]
fn github_matrix_with_one_old_node() {
    let a = analyze_case("github-matrix-node");
    let job = only_job(&a);
    assert_eq!(codes(&job.findings), vec![(Warning, "npm-too-old")]);
    assert_has(
        &job.findings[0].message,
        &["Node 20 in some of its matrix entries"],
    );
}

#[test]
fn github_pull_request_trigger_and_token() {
    let a = analyze_case("github-pr-token");
    let job = only_job(&a);
    assert_eq!(
        codes(&job.findings),
        vec![
            (Warning, "pull-request-trigger"),
            (Warning, "token-fallback")
        ]
    );
    assert_has(
        &job.findings[0].message,
        &["job \"build\" runs on pull_request", "no `if:`"],
    );
    assert_has(
        &job.findings[1].message,
        &[
            "NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}",
            "try trusted publishing first",
        ],
    );
    assert_has(
        job.findings[1].fix.as_deref().unwrap(),
        &["revoke the token"],
    );
    assert!(a.ready());
}

#[test]
fn github_yarn_classic() {
    let a = analyze_case("github-yarn-classic");
    let job = only_job(&a);
    assert_eq!(job.publishes_with, Publisher::Other("yarn publish".into()));
    assert_eq!(codes(&job.findings), vec![(Error, "publisher-no-oidc")]);
    assert_has(
        &job.findings[0].message,
        &["Yarn 1", "no trusted publishing"],
    );
}

#[test]
fn monorepo_keeps_to_the_package() {
    let root = fixture("monorepo");
    let a = analyze(&root, &root.join("packages/a"), HOST);
    let job = only_job(&a);
    assert_eq!(job.job, "a");
    assert_eq!(job.publishes_with, Publisher::Trustpub);

    let b = analyze(&root, &root.join("packages/b"), HOST);
    let job = only_job(&b);
    assert_eq!(job.job, "b");
    assert_eq!(job.publishes_with, Publisher::Pnpm);
    assert_eq!(job.command, "pnpm --filter @acme/b publish");
    // packageManager says pnpm 10, which publishes through npm 10 on Node 22.
    assert_eq!(codes(&job.findings), vec![(Error, "npm-too-old")]);
    assert_has(
        &job.findings[0].message,
        &["pnpm 10.12.1 hands the upload to npm"],
    );
}

// ---- GitLab ---------------------------------------------------------------

#[test]
fn gitlab_ok() {
    let a = analyze_case("gitlab-ok");
    let job = only_job(&a);
    assert_eq!(job.provider, Provider::GitLab);
    assert_eq!(job.label(), ".gitlab-ci.yml, job \"publish\"");
    assert_eq!(
        job.publisher_values,
        PublisherValues::GitLab {
            namespace: Some("acme/tools".into()),
            project: Some("widget".into()),
            ci_file: ".gitlab-ci.yml".into(),
            environment: Some("npm".into()),
        }
    );
    assert_eq!(codes(&job.findings), vec![(Info, "environment")]);
    assert!(a.ready());
}

#[test]
fn gitlab_missing_id_tokens() {
    let a = analyze_case("gitlab-missing-id-tokens");
    let job = only_job(&a);
    assert_eq!(job.job, "publish-npm");
    assert_eq!(
        codes(&job.findings),
        vec![(Error, "gitlab-id-token"), (Info, "gitlab-sigstore")]
    );
    let f = &job.findings[0];
    assert_has(
        &f.message,
        &[
            ".gitlab-ci.yml, job \"publish-npm\"",
            "no `id_tokens: NPM_ID_TOKEN`",
        ],
    );
    assert_has(
        f.fix.as_deref().unwrap(),
        &["publish-npm:\n  id_tokens:\n    NPM_ID_TOKEN:\n      aud: \"npm:registry.npmjs.org\"\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore"],
    );
    assert_has(&job.findings[1].message, &["without provenance"]);
    assert!(!a.ready());
}

#[test]
fn gitlab_wrong_aud() {
    let a = analyze_case("gitlab-wrong-aud");
    let job = only_job(&a);
    assert_eq!(codes(&job.findings), vec![(Error, "gitlab-id-token")]);
    assert_has(
        &job.findings[0].message,
        &["aud \"https://gitlab.com\"", "\"npm:registry.npmjs.org\""],
    );
    assert!(!a.ready());
}

#[test]
fn gitlab_wrong_aud_for_another_registry() {
    // The audience follows the registry: the same file is right for npmjs.org only.
    let root = fixture("gitlab-ok");
    let a = analyze(&root, &root, "npm.example.com");
    let job = only_job(&a);
    assert_eq!(
        codes(&job.findings),
        vec![(Error, "gitlab-id-token"), (Info, "environment")]
    );
    assert_has(&job.findings[0].message, &["\"npm:npm.example.com\""]);
}

#[test]
fn gitlab_default_id_tokens_extends_and_include() {
    let a = analyze_case("gitlab-default-id-tokens");
    let job = only_job(&a);
    assert_eq!(job.job, "publish");
    assert_eq!(job.command, "npm publish");
    assert_eq!(codes(&job.findings), vec![]);
    assert!(a.files_read.contains(&PathBuf::from("ci/templates.yml")));
    assert!(a.ready());
}

#[test]
fn gitlab_old_node_and_provenance_without_sigstore() {
    let a = analyze_case("gitlab-old-node");
    let job = only_job(&a);
    assert_eq!(
        codes(&job.findings),
        vec![(Error, "gitlab-sigstore"), (Error, "npm-too-old")]
    );
    assert_has(
        &job.findings[1].message,
        &["Node 20 (image: node:20-bookworm)"],
    );
    assert_has(job.findings[1].fix.as_deref().unwrap(), &["image: node:24"]);
}

// ---- CircleCI -------------------------------------------------------------

#[test]
fn circleci_ok() {
    let a = analyze_case("circleci-ok");
    let job = only_job(&a);
    assert_eq!(job.provider, Provider::CircleCi);
    assert_eq!(job.label(), ".circleci/config.yml, job \"publish\"");
    assert_eq!(
        job.publisher_values,
        PublisherValues::CircleCi { vcs_origin: None }
    );
    assert_eq!(codes(&job.findings), vec![(Info, "circleci-ids")]);
    assert!(a.ready());
}

#[test]
fn circleci_missing() {
    let a = analyze_case("circleci-missing");
    let job = only_job(&a);
    // Node 22.14 with npm upgraded: fine; the token is what is missing.
    assert_eq!(
        codes(&job.findings),
        vec![(Error, "circleci-id-token"), (Info, "circleci-ids")]
    );
    let f = &job.findings[0];
    assert_has(&f.message, &["job \"publish\"", "NPM_ID_TOKEN"]);
    assert_has(
        f.fix.as_deref().unwrap(),
        &[
            "circleci run oidc get --claims '{\"aud\":\"npm:registry.npmjs.org\"}'",
            "$BASH_ENV",
        ],
    );
    assert!(!a.ready());
}

// ---- Whole-repository problems --------------------------------------------

#[test]
fn no_publish_job() {
    let a = analyze_case("no-publish-job");
    assert_eq!(a.jobs, vec![]);
    assert_eq!(codes(&a.problems), vec![(Error, "no-publish-job")]);
    assert_has(&a.problems[0].message, &["no CI job publishes widget"]);
    assert_has(
        a.problems[0].fix.as_deref().unwrap(),
        &[
            "id-token: write",
            "npx --yes trustpub@",
            " publish --trusted-publishing always",
            "actions/checkout@de0fac2e",
        ],
    );
    assert!(!a.ready());
}

#[test]
fn invalid_yaml() {
    let a = analyze_case("invalid-yaml");
    assert_eq!(
        codes(&a.problems),
        vec![(Error, "invalid-yaml"), (Error, "no-publish-job")]
    );
    assert_has(
        &a.problems[0].message,
        &[".github/workflows/release.yml is not valid YAML (line 9"],
    );
    assert!(!a.ready());
}

// ---- Repositories built on the fly ----------------------------------------

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const RELEASE_OK: &str = "on: {push: {tags: ['v*']}}\npermissions: {id-token: write}\n\
jobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npx trustpub publish\n";

#[test]
fn repo_root_and_git_remote() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        ".git/config",
        "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:Acme/Widget.git\n",
    );
    write(
        root,
        "pkg/package.json",
        r#"{"name":"widget","repository":"github:acme/widget"}"#,
    );
    write(
        root,
        ".github/workflows/release.yml",
        &RELEASE_OK.replace("publish\n", "publish pkg\n"),
    );
    let found = find_repo_root(&root.join("pkg"));
    assert_eq!(found, std::fs::canonicalize(root).unwrap());
    assert_eq!(find_repo_root(Path::new("/")), PathBuf::from("/"));

    let a = analyze(&found, &root.join("pkg"), HOST);
    // The remote decides the owner (npm compares it exactly, capitals included).
    assert_eq!(
        a.jobs[0].publisher_values,
        PublisherValues::GitHub {
            owner: Some("Acme".into()),
            repository: Some("Widget".into()),
            workflow_file: Some("release.yml".into()),
            environment: None,
        }
    );
    assert_eq!(codes(&a.problems), vec![(Warning, "package-repository")]);
    assert_has(
        &a.problems[0].message,
        &[
            "pkg/package.json",
            "github.com/acme/widget",
            "github.com/Acme/Widget",
            "E422",
        ],
    );
    assert_has(
        a.problems[0].fix.as_deref().unwrap(),
        &[
            "git+https://github.com/Acme/Widget.git",
            "\"directory\": \"pkg\"",
        ],
    );
    assert!(a.ready());
}

#[test]
fn missing_repository_field() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        ".git/config",
        "[remote \"origin\"]\n  url = https://github.com/acme/widget\n",
    );
    write(root, "package.json", r#"{"name":"widget"}"#);
    write(root, ".github/workflows/release.yml", RELEASE_OK);
    let a = analyze(root, root, HOST);
    assert_eq!(codes(&a.problems), vec![(Warning, "package-repository")]);
    assert_has(&a.problems[0].message, &["no \"repository\" field", "E422"]);
}

#[test]
fn gitlab_self_managed_remote() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        ".git/config",
        "[remote \"origin\"]\n  url = git@gitlab.example.com:team/widget.git\n",
    );
    write(
        root,
        "package.json",
        r#"{"name":"widget","repository":"git@gitlab.example.com:team/widget.git"}"#,
    );
    write(
        root,
        ".gitlab-ci.yml",
        "publish:\n  image: node:24\n  tags: [linux-docker]\n  id_tokens:\n    NPM_ID_TOKEN: {aud: 'npm:registry.npmjs.org'}\n    SIGSTORE_ID_TOKEN: {aud: sigstore}\n  script: [npm publish]\n",
    );
    let a = analyze(root, root, HOST);
    assert_eq!(
        codes(&a.jobs[0].findings),
        vec![
            (Warning, "self-hosted-runner"),
            (Warning, "gitlab-self-managed")
        ]
    );
    assert_has(
        &a.jobs[0].findings[1].message,
        &["gitlab.example.com", "only from gitlab.com"],
    );
}

#[test]
fn no_ci_files_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "package.json", r#"{"name":"widget"}"#);
    let a = analyze(tmp.path(), tmp.path(), HOST);
    assert_eq!(codes(&a.problems), vec![(Error, "no-publish-job")]);
    assert_has(
        &a.problems[0].message,
        &["no CI file found", ".github/workflows"],
    );
}

#[test]
fn remote_reusable_workflow_is_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "package.json", r#"{"name":"widget"}"#);
    write(
        root,
        ".github/workflows/release.yml",
        "on: push\njobs:\n  release:\n    uses: acme/shared/.github/workflows/npm-publish.yml@v1\n",
    );
    let a = analyze(root, root, HOST);
    assert_eq!(
        codes(&a.problems),
        vec![
            (Info, "remote-reusable-workflow"),
            (Severity::Unknown, "no-publish-job")
        ]
    );
    assert_eq!(a.verdict(), Verdict::Unknown);
    assert_has(
        &a.problems[0].message,
        &[
            "job \"release\"",
            "acme/shared/.github/workflows/npm-publish.yml@v1",
            "npm matches release.yml",
        ],
    );
    assert!(!a.ready());
}

#[test]
fn reusable_workflow_without_a_local_caller() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "package.json", r#"{"name":"widget"}"#);
    write(
        root,
        ".github/workflows/publish.yml",
        "on: workflow_call\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npx trustpub publish\n",
    );
    let a = analyze(root, root, HOST);
    let job = only_job(&a);
    assert_eq!(codes(&job.findings), vec![(Warning, "reusable-workflow")]);
    assert!(matches!(
        job.publisher_values,
        PublisherValues::GitHub {
            workflow_file: None,
            ..
        }
    ));
}

// ---- The shell scanner, one line per rule ----------------------------------

/// (publisher, command as written, target) of every publish in `script`,
/// run at the root of a repository whose package.json has `scripts`.
fn publishes(script: &str) -> Vec<(String, String, Target)> {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "package.json",
        r#"{"name":"root","scripts":{
            "release":"npm run build && npm publish",
            "prerelease":"echo pre",
            "ci:publish":"changeset publish",
            "deep":"npm run deeper","deeper":"npm run deepest","deepest":"npm run bottom","bottom":"npm publish"}}"#,
    );
    write(
        root,
        "scripts/release.sh",
        "#!/bin/sh\nset -e\ncd packages/x\nnpm publish --tag next\n",
    );
    write(root, "packages/x/package.json", r#"{"name":"x"}"#);
    let repo = repo::Repo::open(root, root, HOST);
    shell::scan(&repo, script, Some(PathBuf::new()))
        .into_iter()
        .filter_map(|e| match e {
            Event::Publish(p) => Some((p.publisher.to_string(), p.command, p.target)),
            _ => None,
        })
        .collect()
}

fn dir(p: &str) -> Target {
    Target::Dir(PathBuf::from(p))
}

fn one(publisher: &str, command: &str, target: Target) -> Vec<(String, String, Target)> {
    vec![(publisher.to_string(), command.to_string(), target)]
}

#[test]
fn shell_publish_commands() {
    assert_eq!(
        publishes("npm publish"),
        one("npm publish", "npm publish", dir(""))
    );
    assert_eq!(
        publishes("npm ci && npm test && npm publish --provenance || echo failed"),
        one("npm publish", "npm publish --provenance", dir(""))
    );
    assert_eq!(
        publishes("cd packages/x\nnpm publish"),
        one("npm publish", "npm publish", dir("packages/x"))
    );
    assert_eq!(
        publishes("npm publish ./dist --tag beta"),
        one("npm publish", "npm publish ./dist --tag beta", dir("dist"))
    );
    assert_eq!(
        publishes("npm publish widget-1.0.0.tgz"),
        one(
            "npm publish",
            "npm publish widget-1.0.0.tgz",
            Target::Unknown
        )
    );
    assert_eq!(
        publishes("npm publish --workspaces"),
        one("npm publish", "npm publish --workspaces", Target::All)
    );
    assert_eq!(
        publishes("npm publish -w packages/x"),
        one(
            "npm publish",
            "npm publish -w packages/x",
            Target::Workspaces {
                cwd: Some(PathBuf::new()),
                selectors: vec!["packages/x".into()]
            }
        )
    );
    // trustpub's workspace flags select as npm's do.
    assert_eq!(
        publishes("npx trustpub publish --workspaces --changesets")[0].2,
        Target::All
    );
    assert_eq!(
        publishes("trustpub publish --workspace @acme/a -w packages/b --tag next")[0].2,
        Target::Workspaces {
            cwd: Some(PathBuf::new()),
            selectors: vec!["packages/b".into(), "@acme/a".into()]
        }
    );
    assert_eq!(
        publishes("trustpub publish packages/c")[0].2,
        dir("packages/c")
    );
    assert_eq!(
        publishes("NODE_ENV=production sudo -E npm publish"),
        one("npm publish", "npm publish", dir(""))
    );
    assert_eq!(
        publishes("npm stage publish"),
        one("npm publish", "npm stage publish", dir(""))
    );
    assert_eq!(
        publishes("pnpm -r publish --no-git-checks")[0].2,
        Target::All
    );
    assert_eq!(publishes("pnpm publish")[0].0, "pnpm publish");
    assert_eq!(
        publishes("yarn npm publish --access public")[0].0,
        "yarn npm publish"
    );
    assert_eq!(
        publishes("yarn workspaces foreach --all npm publish")[0],
        (
            "yarn npm publish".to_string(),
            "yarn npm publish".to_string(),
            Target::All
        )
    );
    assert_eq!(publishes("bun publish")[0].0, "bun publish");
    assert_eq!(
        publishes("npx -y trustpub@1 publish packages/x"),
        one(
            "trustpub publish",
            "npx -y trustpub@1 publish packages/x",
            dir("packages/x")
        )
    );
    assert_eq!(
        publishes("./target/release/trustpub publish"),
        one(
            "trustpub publish",
            "./target/release/trustpub publish",
            dir("")
        )
    );
    assert_eq!(
        publishes("cargo run --release --bin trustpub -- publish")[0].0,
        "trustpub publish"
    );
    assert_eq!(publishes("npx changeset publish")[0].2, Target::All);
    assert_eq!(
        publishes("pnpm changeset publish")[0].0,
        "changeset publish"
    );
    assert_eq!(publishes("npx semantic-release")[0].0, "semantic-release");
    assert_eq!(publishes("bash -c 'npm publish'")[0].0, "npm publish");
    assert_eq!(
        publishes("if [ -n \"$TAG\" ]; then npm publish; fi")[0].0,
        "npm publish"
    );
    assert_eq!(
        publishes("npm publish \\\n  --access public")[0].1,
        "npm publish --access public"
    );
}

#[test]
fn shell_non_publishes() {
    for script in [
        "npm publish --dry-run",
        "trustpub publish --dry-run",
        "echo npm publish",
        "echo 'run npm publish'",
        "# npm publish",
        "npm pack",
        "npm run missing-script",
        "cargo run -- publish",
        "npx semantic-release --dry-run",
    ] {
        assert_eq!(publishes(script), vec![], "{script}");
    }
}

#[test]
fn shell_scripts_and_files() {
    // npm run: the package.json script, one level and more.
    assert_eq!(
        publishes("npm run release"),
        one("npm publish", "npm publish", dir(""))
    );
    assert_eq!(publishes("pnpm ci:publish")[0].0, "changeset publish");
    assert_eq!(publishes("yarn release")[0].0, "npm publish");
    assert_eq!(
        publishes("npm run deep"),
        vec![],
        "deeper than three levels"
    );
    // A shell file, with its own cd.
    assert_eq!(
        publishes("./scripts/release.sh"),
        one("npm publish", "npm publish --tag next", dir("packages/x"))
    );
    assert_eq!(publishes("bash scripts/release.sh")[0].2, dir("packages/x"));
}

#[test]
fn shell_npm_upgrades_and_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo::Repo::open(tmp.path(), tmp.path(), HOST);
    let events = shell::scan(
        &repo,
        "sudo npm install -g npm@11.5.1\nnpm i --global npm\npnpm add -g npm@latest\n\
         echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\nnpm install npm@10\n\
         npx npm@11 publish",
        Some(PathBuf::new()),
    );
    let summary: Vec<String> = events
        .iter()
        .map(|e| match e {
            Event::NpmUpgrade { spec, .. } => format!("upgrade {spec}"),
            Event::WritesToken { .. } => "token".to_string(),
            Event::Publish(p) => format!("publish {:?}", p.npm_pinned),
            Event::Opaque { command } => format!("opaque {command}"),
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            "upgrade 11.5.1",
            "upgrade latest",
            "upgrade latest",
            "token",
            "publish Some(\"11\")"
        ]
    );
}

#[test]
fn shell_splitting() {
    assert_eq!(
        shell::split_commands("a 'b c' \"d \\\"e\\\"\" $(f g) ${{ h.i }} > out 2>&1; j | k"),
        vec![
            vec![
                "a",
                "b c",
                "d \"e\"",
                "$(f g)",
                "${{ h.i }}",
                ">",
                "out",
                "2>&1"
            ],
            vec!["j"],
            vec!["k"],
        ]
    );
}

#[test]
fn circleci_wrong_audiences() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "package.json", r#"{"name":"widget"}"#);
    let config = |oidc: &str| {
        format!(
            "version: 2.1\njobs:\n  publish:\n    docker:\n      - image: cimg/node:24.11\n    steps:\n      \
             - run: {oidc}\n      - run: npm publish --provenance\n"
        )
    };
    write(
        root,
        ".circleci/config.yml",
        &config(
            r#"echo "export NPM_ID_TOKEN=$(circleci run oidc get --claims '{\"aud\":\"npm:registry.npmjs.com\"}')" >> "$BASH_ENV""#,
        ),
    );
    let a = analyze(root, root, HOST);
    assert_eq!(
        codes(&a.jobs[0].findings),
        vec![
            (Error, "circleci-id-token"),
            (Error, "circleci-provenance"),
            (Info, "circleci-ids")
        ]
    );
    assert_has(
        &a.jobs[0].findings[0].message,
        &[
            "\"npm:registry.npmjs.com\"",
            "only accepts \"npm:registry.npmjs.org\"",
        ],
    );

    write(
        root,
        ".circleci/config.yml",
        &config(r#"echo "export NPM_ID_TOKEN=$CIRCLE_OIDC_TOKEN_V2" >> "$BASH_ENV""#),
    );
    let a = analyze(root, root, HOST);
    assert_has(
        &a.jobs[0].findings[0].message,
        &["from CIRCLE_OIDC_TOKEN", "organization ID"],
    );
}

#[test]
fn publish_targets_decide_the_package() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "pkg/package.json", r#"{"name":"widget"}"#);
    write(root, "other/package.json", r#"{"name":"other"}"#);
    let workflow = |run: &str| {
        format!(
            "on: push\npermissions: {{id-token: write}}\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    \
             steps:\n      - run: {run}\n"
        )
    };
    let jobs_for = |run: &str| {
        write(root, ".github/workflows/release.yml", &workflow(run));
        analyze(root, &root.join("pkg"), HOST).jobs.len()
    };
    // A built copy inside the package (no package.json yet) is the package.
    assert_eq!(jobs_for("npx trustpub publish pkg/dist"), 1);
    assert_eq!(jobs_for("cd pkg && npx trustpub publish"), 1);
    // The root (no package.json) and another package are not.
    assert_eq!(jobs_for("npx trustpub publish"), 0);
    assert_eq!(jobs_for("npx trustpub publish other"), 0);
    // A tarball or a path with variables could be anything: counted.
    assert_eq!(jobs_for("npx trustpub publish $DIR"), 1);
    write(
        root,
        ".github/workflows/release.yml",
        &workflow("npx trustpub publish other"),
    );
    let a = analyze(root, &root.join("pkg"), HOST);
    assert_eq!(codes(&a.problems), vec![(Error, "no-publish-job")]);
    assert_has(
        &a.problems[0].message,
        &[
            "no CI job publishes widget (pkg)",
            "another directory or another package: .github/workflows/release.yml, job \"publish\" (`npx trustpub publish other`)",
        ],
    );
}

#[test]
fn gitlab_id_token_under_another_name() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "package.json", r#"{"name":"widget"}"#);
    let ci = |variables: &str| {
        format!(
            "publish:\n  image: node:24\n  id_tokens:\n    NPM_TOKEN_FOR_OIDC:\n      aud: npm:registry.npmjs.org\n    \
             SIGSTORE_ID_TOKEN:\n      aud: [sigstore]\n{variables}  script:\n    - npm publish\n"
        )
    };
    write(root, ".gitlab-ci.yml", &ci(""));
    let a = analyze(root, root, HOST);
    assert_eq!(codes(&a.jobs[0].findings), vec![(Error, "gitlab-id-token")]);
    assert_has(
        &a.jobs[0].findings[0].message,
        &[
            "named NPM_TOKEN_FOR_OIDC",
            "reads the token from NPM_ID_TOKEN only",
        ],
    );
    // Mapped through a job variable: fine.
    write(
        root,
        ".gitlab-ci.yml",
        &ci("  variables:\n    NPM_ID_TOKEN: $NPM_TOKEN_FOR_OIDC\n"),
    );
    let a = analyze(root, root, HOST);
    assert_eq!(codes(&a.jobs[0].findings), vec![]);
}

#[test]
fn github_publishing_actions() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "package.json",
        r#"{"name":"widget","packageManager":"pnpm@11.0.0","scripts":{"release":"changeset publish"}}"#,
    );
    write(
        root,
        ".github/workflows/release.yml",
        "on: {push: {branches: [main]}}\npermissions: {id-token: write, contents: write}\njobs:\n  \
         version:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-node@v4\n        \
         with: {node-version: 24}\n      - uses: changesets/action@v1\n        with:\n          \
         publish: pnpm release\n        env:\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n  \
         js:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: JS-DevTools/npm-publish@v4\n        \
         with:\n          token: ${{ secrets.NPM_TOKEN }}\n          dry-run: false\n",
    );
    let a = analyze(root, root, HOST);
    assert_eq!(a.jobs.len(), 2, "{:#?}", a.jobs);
    let cs = &a.jobs[0];
    assert_eq!(
        cs.publishes_with,
        Publisher::Other("changeset publish".into())
    );
    assert_eq!(codes(&cs.findings), vec![(Warning, "token-fallback")]);
    assert_has(
        &cs.findings[0].message,
        &["NPM_TOKEN: ${{ secrets.NPM_TOKEN }}"],
    );
    let js = &a.jobs[1];
    assert_eq!(
        js.publishes_with,
        Publisher::Other("JS-DevTools/npm-publish".into())
    );
    // No setup-node: the runner's Node decides which npm publishes.
    assert_eq!(
        codes(&js.findings),
        vec![
            (Warning, "node-version-unknown"),
            (Warning, "token-fallback")
        ]
    );
    assert_has(
        &js.findings[0].message,
        &[
            "which runs npm's publish underneath",
            "nothing sets up Node",
        ],
    );
}

#[test]
fn changesets_action_v2_inputs_name_the_publish_command() {
    for (uses, key) in [
        ("changesets/action@v2", "publish-script"),
        ("changesets/action/publish@v2", "script"),
        ("changesets/action@v1", "publish"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(root, "package.json", r#"{"name":"widget"}"#);
        write(
            root,
            ".github/workflows/release.yml",
            &format!(
                "on: {{push: {{branches: [main]}}}}\npermissions: {{id-token: write, contents: write}}\njobs:\n  \
                 release:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: {uses}\n        with:\n          \
                 {key}: npx --yes trustpub@0.1.0 publish --workspaces --changesets\n"
            ),
        );
        let a = analyze(root, root, HOST);
        assert_eq!(a.jobs.len(), 1, "{uses}: {:#?}", a.jobs);
        assert_eq!(a.jobs[0].publishes_with, Publisher::Trustpub, "{uses}");
    }
}

#[test]
fn yarn_token_shadows_trusted_publishing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "package.json", r#"{"name":"widget"}"#);
    write(
        root,
        ".github/workflows/release.yml",
        "on: release\npermissions: {id-token: write}\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    \
         steps:\n      - run: yarn npm publish\n        env:\n          YARN_NPM_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    );
    let a = analyze(root, root, HOST);
    let job = only_job(&a);
    assert_eq!(job.publishes_with, Publisher::Yarn);
    assert_eq!(codes(&job.findings), vec![(Warning, "token-fallback")]);
    assert_has(
        &job.findings[0].message,
        &["Yarn uses a configured token before it tries trusted publishing"],
    );
}

// ---- Mistakes found on real repositories (issue #10) ------------------------

fn analyze_package(case: &str, package: &str) -> Analysis {
    let root = fixture(case);
    analyze(&root, &root.join(package), HOST)
}

fn with_severity(findings: &[Finding], severity: Severity) -> Vec<&'static str> {
    findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.code)
        .collect()
}

#[test]
fn private_package_is_not_ready() {
    let a = analyze_case("github-private");
    assert_eq!(codes(&a.problems), vec![(Error, "package-private")]);
    assert_has(&a.problems[0].message, &["\"private\": true", "EPRIVATE"]);
    assert_eq!(a.verdict(), Verdict::NotReady);
}

#[test]
fn script_that_may_skip_the_package_is_unknown() {
    let a = analyze_package("monorepo-script-skip", "packages/a");
    assert_eq!(a.jobs.len(), 1, "jobs: {:#?}", a.jobs);
    let f = finding(&a.jobs[0].findings, "publish-target-unknown");
    assert_eq!(f.severity, Severity::Unknown);
    assert_has(&f.message, &["packages/$package", "@acme/a"]);
    assert_eq!(a.verdict(), Verdict::Unknown);
    assert!(!a.ready());
}

#[test]
fn node_set_up_in_nested_and_self_repository_composite_actions() {
    let a = analyze_case("github-composite-node");
    let job = only_job(&a);
    assert_eq!(codes(&job.findings), vec![]);
    assert!(a
        .files_read
        .contains(&PathBuf::from(".github/actions/node/action.yml")));
    assert_eq!(a.verdict(), Verdict::Ready);
}

#[test]
fn remote_action_before_publish_makes_node_unknown() {
    let a = analyze_case("github-remote-action");
    let job = only_job(&a);
    assert_eq!(
        with_severity(&job.findings, Severity::Unknown),
        vec!["node-version-unknown"]
    );
    assert_has(
        &job.findings[0].message,
        &["acme/ci-actions/setup@v3", "cannot read"],
    );
    assert!(!job.findings[0].message.contains("nothing sets up Node"));
    assert_eq!(a.verdict(), Verdict::Unknown);
}

#[test]
fn semantic_release_brings_its_own_npm() {
    let a = analyze_case("github-semantic-release");
    let job = only_job(&a);
    assert_eq!(
        job.publishes_with,
        Publisher::Other("semantic-release".into())
    );
    assert_eq!(codes(&job.findings), vec![]);
    assert_eq!(a.verdict(), Verdict::Ready);
}

#[test]
fn release_it_without_npm_publish_is_not_a_publisher() {
    let a = analyze_case("github-release-it-no-npm");
    let job = only_job(&a);
    assert_eq!(job.file, Path::new(".github/workflows/publish.yml"));
    assert_eq!(job.publisher_values, github("publish.yml", None));
    assert_eq!(a.verdict(), Verdict::Ready);
}

#[test]
fn custom_release_program_is_unknown_not_no_job() {
    let a = analyze_case("github-release-script");
    assert_eq!(a.jobs, vec![]);
    let f = finding(&a.problems, "no-publish-job");
    assert_eq!(f.severity, Severity::Unknown);
    assert_has(&f.message, &["node scripts/release.js", "cannot tell"]);
    assert_eq!(a.verdict(), Verdict::Unknown);
}

#[test]
fn nx_release_publish_is_a_publisher() {
    let a = analyze_case("github-nx-release");
    let job = only_job(&a);
    assert_eq!(job.publishes_with, Publisher::Other("nx release".into()));
    assert_eq!(codes(&job.findings), vec![]);
    assert_eq!(a.verdict(), Verdict::Ready);
}

#[test]
fn pnpm_stage_publish_in_a_script_is_a_publisher() {
    let a = analyze_case("github-pnpm-stage");
    let job = only_job(&a);
    assert_eq!(job.publishes_with, Publisher::Pnpm);
    assert_eq!(job.command, "pnpm stage publish --no-git-checks");
    assert_eq!(a.verdict(), Verdict::Ready);
}

#[test]
fn old_npm_with_a_token_does_not_say_without_credentials() {
    let a = analyze_case("github-old-node-token");
    let job = only_job(&a);
    let f = finding(&job.findings, "npm-too-old");
    assert_eq!(f.severity, Error);
    assert!(!f.message.contains("without credentials"), "{}", f.message);
    assert_has(
        &f.message,
        &["long-lived token", "not through trusted publishing"],
    );
    assert_eq!(a.verdict(), Verdict::NotReady);
}

#[test]
fn release_programs_recognised_by_the_shell_scanner() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("package.json"),
        r#"{"name":"x","release-it":{"npm":{"publish":false}}}"#,
    )
    .unwrap();
    let repo = repo::Repo::open(tmp.path(), tmp.path(), HOST);
    let summary = |script: &str| -> Vec<String> {
        shell::scan(&repo, script, Some(PathBuf::new()))
            .iter()
            .map(|e| match e {
                Event::Publish(p) => format!("publish {}", p.publisher),
                Event::Opaque { command } => format!("opaque {command}"),
                Event::NpmUpgrade { .. } => "upgrade".into(),
                Event::WritesToken { .. } => "token".into(),
            })
            .collect()
    };
    assert_eq!(
        summary("npx tsx scripts/publish.ts"),
        vec!["opaque tsx scripts/publish.ts"]
    );
    assert_eq!(
        summary("node build.js && node test.mjs"),
        Vec::<String>::new()
    );
    assert_eq!(summary("release-it --ci"), Vec::<String>::new());
    assert_eq!(summary("nx release --skip-publish"), Vec::<String>::new());
    assert_eq!(summary("nx release version"), Vec::<String>::new());
    assert_eq!(summary("npx nx release"), vec!["publish nx release"]);
    assert_eq!(
        summary("pnpm stage publish --dry-run"),
        Vec::<String>::new()
    );
    assert_eq!(summary("tanstack publish"), vec!["opaque tanstack publish"]);
    assert_eq!(summary("npx vsce publish"), Vec::<String>::new());
    assert_eq!(
        summary("yarn dlx pkg-pr-new publish './packages/*'"),
        Vec::<String>::new()
    );
    assert_eq!(
        summary("pnpm changelogen --canary nightly --publish"),
        vec!["opaque changelogen --canary nightly --publish"]
    );
    assert_eq!(summary("gh release create v1"), Vec::<String>::new());
    // @ossjs/release without its config: opaque; with it: its profiles' commands.
    assert_eq!(summary("release publish"), vec!["opaque release publish"]);
    std::fs::write(
        tmp.path().join("release.config.json"),
        r#"{"profiles":[{"name":"latest","use":"NPM_CONFIG_PROVENANCE=true pnpm publish --no-git-checks"}]}"#,
    )
    .unwrap();
    let repo = repo::Repo::open(tmp.path(), tmp.path(), HOST);
    let events = shell::scan(&repo, "release publish", Some(PathBuf::new()));
    let Some(Event::Publish(p)) = events.first() else {
        panic!("no publish in {events:#?}");
    };
    assert_eq!(p.publisher, Publisher::Pnpm);
    assert_eq!(p.via, vec!["release publish".to_string()]);
}

#[test]
fn private_source_published_from_a_built_directory_is_not_refused() {
    let a = analyze_case("github-private-dist");
    let job = only_job(&a);
    assert_eq!(job.command, "npm publish");
    assert_eq!(a.verdict(), Verdict::Ready);
}

#[test]
fn local_javascript_action_is_unknown_not_no_job() {
    let a = analyze_case("github-local-js-action");
    assert_eq!(a.jobs, vec![]);
    let f = finding(&a.problems, "no-publish-job");
    assert_eq!(f.severity, Severity::Unknown);
    assert_has(&f.message, &["uses: ./", "cannot tell"]);
    assert_eq!(a.verdict(), Verdict::Unknown);
}

#[test]
fn semantic_release_before_25_brings_npm_10() {
    let a = analyze_case("github-semantic-release-old");
    let job = only_job(&a);
    assert_eq!(codes(&job.findings), vec![(Error, "npm-too-old")]);
    assert_has(
        &job.findings[0].message,
        &["semantic-release@^24.2.0", "npm 10"],
    );
    assert_eq!(a.verdict(), Verdict::NotReady);
}

// ---- trustpub's own GitHub Action -----------------------------------------

const ACTION_SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn action_repo(root: &Path) {
    write(
        root,
        ".git/config",
        "[remote \"origin\"]\n  url = https://github.com/acme/widget\n",
    );
    write(
        root,
        "pkg/package.json",
        r#"{"name":"widget","repository":{"type":"git","url":"git+https://github.com/acme/widget.git","directory":"pkg"}}"#,
    );
    write(root, "other/package.json", r#"{"name":"other"}"#);
}

/// A release workflow whose publish step is `uses: <action>` with `with`
/// (lines indented for the step, or empty) and `env`.
fn action_workflow(action: &str, with: &str, env: &str) -> String {
    format!(
        "on: {{push: {{tags: ['v*']}}}}\npermissions: {{}}\njobs:\n  publish:\n    runs-on: ubuntu-24.04\n    \
         permissions:\n      contents: read\n      id-token: write\n    steps:\n      \
         - uses: actions/checkout@v6\n      - uses: {action}@{ACTION_SHA} # v0.1.0\n{with}{env}"
    )
}

#[test]
fn github_trustpub_action_is_a_trustpub_publish() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    action_repo(root);
    write(
        root,
        ".github/workflows/release.yml",
        &action_workflow(
            "trustpub/trustpub",
            "        with:\n          working-directory: pkg\n          trusted-publishing: always\n          provenance: \"true\"\n",
            "",
        ),
    );
    let a = analyze(root, &root.join("pkg"), HOST);
    let job = only_job(&a);
    assert_eq!(job.publishes_with, Publisher::Trustpub);
    assert_eq!(job.command, "trustpub publish --trusted-publishing always");
    assert_eq!(codes(&job.findings), vec![]);
    assert_eq!(
        job.publisher_values,
        PublisherValues::GitHub {
            owner: Some("acme".into()),
            repository: Some("widget".into()),
            workflow_file: Some("release.yml".into()),
            environment: None,
        }
    );
    assert!(a.ready());

    // A token from a secret next to it is still reported.
    write(
        root,
        ".github/workflows/release.yml",
        &action_workflow(
            "trustpub/trustpub",
            "        with:\n          working-directory: pkg\n",
            "        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
        ),
    );
    let a = analyze(root, &root.join("pkg"), HOST);
    let job = only_job(&a);
    assert_eq!(job.command, "trustpub publish");
    assert_eq!(codes(&job.findings), vec![(Warning, "token-fallback")]);
}

#[test]
fn github_trustpub_action_inputs_decide_whether_and_what_it_publishes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    action_repo(root);
    let jobs_for = |action: &str, with: &[(&str, &str)]| {
        let mut lines = String::new();
        if !with.is_empty() {
            lines.push_str("        with:\n");
            for (k, v) in with {
                lines.push_str(&format!("          {k}: {v}\n"));
            }
        }
        write(
            root,
            ".github/workflows/release.yml",
            &action_workflow(action, &lines, ""),
        );
        let a = analyze(root, &root.join("pkg"), HOST);
        a.jobs.iter().map(|j| j.command.clone()).collect::<Vec<_>>()
    };
    let tp = "trustpub/trustpub";
    let auto = vec!["trustpub publish".to_string()];
    let none: Vec<String> = Vec::new();
    // The workspace root is not the package; pkg is, however written.
    assert_eq!(jobs_for(tp, &[]), none);
    assert_eq!(jobs_for(tp, &[("working-directory", "pkg")]), auto);
    assert_eq!(jobs_for(tp, &[("working-directory", "./pkg/")]), auto);
    assert_eq!(
        jobs_for("TrustPub/TrustPub", &[("working-directory", "pkg")]),
        auto
    );
    assert_eq!(jobs_for(tp, &[("working-directory", "other")]), none);
    // Only `publish` publishes, and not as a dry run.
    for (k, v) in [
        ("command", "doctor"),
        ("command", "pack"),
        ("dry-run", "\"true\""),
        ("args", "--dry-run"),
    ] {
        assert_eq!(
            jobs_for(tp, &[("working-directory", "pkg"), (k, v)]),
            none,
            "{k}: {v}"
        );
    }
    assert_eq!(
        jobs_for(
            tp,
            &[
                ("working-directory", "pkg"),
                ("command", "publish"),
                ("dry-run", "\"false\"")
            ]
        ),
        auto
    );
    // `args`: option values are not folders; a folder argument is the target.
    assert_eq!(
        jobs_for(tp, &[("working-directory", "pkg"), ("args", "--tag next")]),
        vec!["trustpub publish --tag next".to_string()]
    );
    assert_eq!(
        jobs_for(tp, &[("args", "pkg/dist")]),
        vec!["trustpub publish pkg/dist".to_string()]
    );
    assert_eq!(jobs_for(tp, &[("args", "--tag pkg other")]), none);
    // The input is passed only when set: empty is trustpub's default.
    assert_eq!(
        jobs_for(
            tp,
            &[("working-directory", "pkg"), ("trusted-publishing", "\"\"")]
        ),
        auto
    );
    assert_eq!(
        jobs_for(
            tp,
            &[
                ("working-directory", "pkg"),
                ("trusted-publishing", "never")
            ]
        ),
        vec!["trustpub publish --trusted-publishing never".to_string()]
    );
    // A directory from an expression could be anything: counted.
    assert_eq!(
        jobs_for(tp, &[("working-directory", "${{ matrix.dir }}")]),
        auto
    );
    // Another owner's action is not trustpub's (a fork may do anything).
    assert_eq!(
        jobs_for("someone/trustpub", &[("working-directory", "pkg")]),
        none
    );
}

#[test]
fn trustpub_trusted_publishing_value_is_not_a_folder() {
    assert_eq!(
        publishes("npx trustpub publish --trusted-publishing always"),
        one(
            "trustpub publish",
            "npx trustpub publish --trusted-publishing always",
            dir("")
        )
    );
}

#[test]
fn the_suggested_workflow_publishes_with_this_version() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    action_repo(root);
    write(
        root,
        ".github/workflows/release.yml",
        &MINIMAL_WORKFLOW.replace("trusted-publishing always", "trusted-publishing always pkg"),
    );
    let a = analyze(root, &root.join("pkg"), HOST);
    let job = only_job(&a);
    assert_eq!(job.publishes_with, Publisher::Trustpub);
    assert_eq!(
        job.command,
        format!(
            "npx --yes trustpub@{} publish --trusted-publishing always pkg",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(codes(&job.findings), vec![]);
    assert!(a.ready());
    assert!(!MINIMAL_WORKFLOW.contains("cargo install"));
}
