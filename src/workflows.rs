//! Static analysis of a repository's CI files for `trustpub doctor`: which
//! jobs publish the package, and whether npm's trusted publishing (OIDC) can
//! work in them. Pure: it reads files under the repository root and returns
//! findings; it prints nothing and touches no network.
//!
//! What is read, relative to the repository root:
//!
//! * `.github/workflows/*.yml` and `*.yaml` (and the `action.yml` of local
//!   composite actions they use);
//! * `.gitlab-ci.yml` with its local `include:` files;
//! * `.circleci/config.yml`;
//! * `package.json` of the package (and of the directories the CI scripts
//!   run in), `.nvmrc`/`.node-version` when a workflow points at them, and
//!   `.git/config` for the `origin` remote.
//!
//! A job *publishes* when a step runs a publish command (`npm publish`,
//! `pnpm publish`, `yarn npm publish`, `trustpub publish`, `changeset
//! publish`, …, directly, through `npx`, or one to three levels down through
//! `npm run <script>`), or uses a known publishing action. Jobs that publish
//! a different package of a monorepo are left out. A program doctor cannot
//! read that may publish (`node scripts/release.js`, a JavaScript action of
//! the repository, an unknown tool's `publish` subcommand) makes the verdict
//! "cannot tell" ([`Verdict::Unknown`]) rather than "no job publishes"; so
//! does, in a monorepo, a publish whose target it cannot work out. Each publishing job gets
//! the values to enter on npmjs.com and its findings; the checks per
//! provider are listed at the top of `github.rs`, `gitlab.rs` and
//! `circleci.rs`.
//!
//! Paths in the result are relative to the repository root, as maintainers
//! know them (`.github/workflows/release.yml`).

mod circleci;
mod github;
mod gitlab;
mod node;
mod repo;
mod shell;
pub(crate) mod yaml;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::ci::Provider;

use crate::oidc::PublisherForm;
use repo::Repo;
use shell::PublishCmd;

/// How bad a finding is. `Error` means trusted publishing will not work as
/// configured; `Warning` means it may not, or works in a way the maintainer
/// probably did not intend; `Info` is something worth knowing. `Unknown`
/// means doctor cannot tell from the files whether it works (a program it
/// cannot read decides): the verdict is then "cannot tell", never "ready".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
    Unknown,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the analysis found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// A stable identifier of the check (`github-id-token`, `node-too-old`,
    /// …), for `--json` output and tests; the wording of `message` may change.
    pub code: &'static str,
    /// Plain words, naming the file and the job.
    pub message: String,
    /// What to do: a YAML snippet or an instruction.
    pub fix: Option<String>,
}

impl Finding {
    fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            code,
            message: message.into(),
            fix: None,
        }
    }

    fn error(code: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Error, code, message)
    }

    fn warning(code: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Warning, code, message)
    }

    fn info(code: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Info, code, message)
    }

    fn unknown(code: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Unknown, code, message)
    }

    fn with_fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }
}

/// What runs the upload in a publishing job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publisher {
    /// `npm publish` (also `npx npm@… publish`, `npm stage publish`).
    Npm,
    /// `trustpub publish`, `npx trustpub publish`, `cargo run --bin trustpub -- publish`.
    Trustpub,
    /// `pnpm publish`.
    Pnpm,
    /// `yarn npm publish` (Yarn 2 and newer).
    Yarn,
    /// Anything else, by the name users know: `changeset publish`,
    /// `semantic-release`, `JS-DevTools/npm-publish`, `yarn publish` (Yarn 1),
    /// `bun publish`, …
    Other(String),
}

impl fmt::Display for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Publisher::Npm => f.write_str("npm publish"),
            Publisher::Trustpub => f.write_str("trustpub publish"),
            Publisher::Pnpm => f.write_str("pnpm publish"),
            Publisher::Yarn => f.write_str("yarn npm publish"),
            Publisher::Other(s) => f.write_str(s),
        }
    }
}

/// The values to enter on npmjs.com (package settings → Trusted publisher)
/// for a job. `None` means "not known offline".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublisherValues {
    GitHub {
        /// Organization or user, from the `origin` remote or package.json `repository`.
        owner: Option<String>,
        repository: Option<String>,
        /// The workflow file name without its directory (`release.yml`): the
        /// file that starts the run, which for a reusable workflow is the caller.
        workflow_file: Option<String>,
        /// The job's `environment:`; `None` means leave the field empty.
        environment: Option<String>,
    },
    GitLab {
        /// Group or user (with subgroups: `group/subgroup`).
        namespace: Option<String>,
        project: Option<String>,
        /// The top-level CI file, `.gitlab-ci.yml` unless the project
        /// settings name another one.
        ci_file: String,
        environment: Option<String>,
    },
    CircleCi {
        /// `github.com/owner/repo`, from the `origin` remote. npmjs.com also
        /// asks for the organization, project and pipeline definition IDs,
        /// which only CircleCI's project settings show.
        vcs_origin: Option<String>,
    },
}

impl PublisherValues {
    /// npmjs.com's trusted-publisher form for these values, as
    /// [`crate::oidc::PublisherValues::form`] gives it for a run's claims;
    /// what cannot be known offline says where to find it.
    pub fn form(&self) -> (&'static str, Vec<(&'static str, String)>) {
        let known = |v: &Option<String>, what: &str| {
            v.clone()
                .unwrap_or_else(|| format!("(unknown offline: {what})"))
        };
        let env = |e: &Option<String>| {
            e.clone()
                .unwrap_or_else(|| "(leave empty: the job has no environment)".into())
        };
        match self {
            PublisherValues::GitHub {
                owner,
                repository,
                workflow_file,
                environment,
            } => PublisherForm::GitHub {
                owner: known(owner, "the GitHub owner of the repository"),
                repository: known(repository, "the repository's name"),
                workflow_file: known(workflow_file, "the workflow's file name"),
                environment: env(environment),
            },
            PublisherValues::GitLab {
                namespace,
                project,
                ci_file,
                environment,
            } => PublisherForm::GitLab {
                namespace: known(namespace, "the project's group or user"),
                project: known(project, "the project's name"),
                ci_file: ci_file.clone(),
                environment: env(environment),
            },
            PublisherValues::CircleCi { vcs_origin } => PublisherForm::CircleCi {
                org_id: "(shown in CircleCI's organization settings)".into(),
                project_id: "(shown in CircleCI's project settings)".into(),
                pipeline_definition_id: "(shown in CircleCI's project settings, under pipelines)"
                    .into(),
                vcs_origin: known(vcs_origin, "host/owner/repo of the repository"),
            },
        }
        .fields()
    }
}

/// A job that is reached through reusable-workflow calls (`jobs.<id>.uses`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    pub file: PathBuf,
    pub job: String,
}

/// A CI job that publishes the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishJob {
    pub provider: Provider,
    /// The file that holds the job.
    pub file: PathBuf,
    /// The job's id (its key under `jobs:`).
    pub job: String,
    /// GitHub reusable workflows: the calling jobs, the one that starts the
    /// run first. Empty when the job runs directly. A workflow called from
    /// two places yields two `PublishJob`s.
    pub called_from: Vec<JobRef>,
    pub publishes_with: Publisher,
    /// The publish command as written (`npm publish --provenance`), or the action.
    pub command: String,
    pub publisher_values: PublisherValues,
    /// The job's environment when an expression or a variable names it
    /// (`${{ inputs.env }}`, `$DEPLOY_ENV`): the files do not say its value,
    /// and `publisher_values` leave it out.
    pub environment_expression: Option<String>,
    pub findings: Vec<Finding>,
}

impl PublishJob {
    /// `.github/workflows/release.yml, job "publish"`.
    pub fn label(&self) -> String {
        label(&self.file, &self.job)
    }
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// Every file read, in order (CI files, package.json files, .git/config…).
    pub files_read: Vec<PathBuf>,
    /// The jobs that publish the package in the analysed directory.
    pub jobs: Vec<PublishJob>,
    /// Findings not tied to one publishing job: unreadable or invalid files,
    /// no publishing job, package.json `repository` problems.
    pub problems: Vec<Finding>,
}

impl Analysis {
    /// At least one publishing job and no `Error` or `Unknown` anywhere.
    pub fn ready(&self) -> bool {
        self.verdict() == Verdict::Ready
    }

    /// Ready, not ready (an `Error`, or no publishing job), or cannot tell
    /// (an `Unknown` and no `Error`).
    pub fn verdict(&self) -> Verdict {
        if self.findings().any(|f| f.severity == Severity::Error) {
            Verdict::NotReady
        } else if self.findings().any(|f| f.severity == Severity::Unknown) {
            Verdict::Unknown
        } else if self.jobs.is_empty() {
            Verdict::NotReady
        } else {
            Verdict::Ready
        }
    }

    /// `problems` and then every job's findings.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.problems
            .iter()
            .chain(self.jobs.iter().flat_map(|j| j.findings.iter()))
    }
}

/// What the CI files say about trusted publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ready,
    NotReady,
    /// Doctor cannot tell from the files (a custom release program, a
    /// remote action, a target with variables).
    Unknown,
}

/// The nearest ancestor of `dir` (or `dir` itself) that contains `.git`;
/// `dir` when there is none.
pub fn find_repo_root(dir: &Path) -> PathBuf {
    let start = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.to_path_buf())
}

/// The repository the checkout around `dir` names, as (host, path): its
/// `origin` remote, else package.json's `repository` (the package in
/// `dir`), each with where it came from.
pub fn named_repositories(dir: &Path) -> Vec<(&'static str, String, String)> {
    let root = find_repo_root(dir);
    let repo = repo::Repo::open(&root, dir, "registry.npmjs.org");
    let mut out = Vec::new();
    if let Some(r) = repo.remote() {
        out.push(("the git remote \"origin\"", r.host.clone(), r.path.clone()));
    }
    if let Some(r) = repo.package_repository() {
        out.push(("package.json's \"repository\"", r.host, r.path));
    }
    out
}

/// Whether job `job` of the GitHub workflow `workflow` (a path relative to
/// `repo_root`, as in `GITHUB_WORKFLOW_REF`) grants `id-token: write`;
/// `None` when that cannot be read from the file.
pub fn github_job_grants_id_token(repo_root: &Path, workflow: &str, job: &str) -> Option<bool> {
    github::job_grants_id_token(repo_root, workflow, job)
}

/// Reads the CI files under `repo_root` and reports the jobs that publish
/// the package in `package_dir`, and what stands in the way of trusted
/// publishing. `registry_host` is the registry's hostname
/// (`registry.npmjs.org`); the OIDC audience is `npm:<registry_host>`.
pub fn analyze(repo_root: &Path, package_dir: &Path, registry_host: &str) -> Analysis {
    let repo = Repo::open(repo_root, package_dir, registry_host);
    let mut problems = Vec::new();
    let mut found = Found::default();

    github::analyze(&repo, &mut found, &mut problems);
    gitlab::analyze(&repo, &mut found, &mut problems);
    circleci::analyze(&repo, &mut found, &mut problems);

    if let Some(f) = repo.package_problem() {
        problems.insert(0, f);
    }
    // A package published from a directory made at build time (`dist`, with
    // its own package.json) may be private at its source.
    if repo.package_field_value("private") == Some(serde_json::Value::Bool(true))
        && !repo.publishes_generated_copy()
    {
        problems.insert(0, private_finding(&repo.package_description()));
    }
    if found.jobs.is_empty() {
        problems.push(no_publish_job(&repo, &found));
    } else if found
        .jobs
        .iter()
        .any(|j| matches!(j.provider, Provider::GitHubActions | Provider::GitLab))
    {
        problems.extend(repo.repository_field_findings());
    }

    Analysis {
        files_read: repo.files_read(),
        jobs: found.jobs,
        problems,
    }
}

/// What the provider passes collect.
#[derive(Default)]
struct Found {
    jobs: Vec<PublishJob>,
    /// Publishing jobs that publish another package (`label`, `command`).
    other_packages: Vec<(String, String)>,
    /// Jobs that call a remote reusable workflow that may publish.
    remote_candidates: Vec<String>,
    /// Jobs that run a program doctor cannot read that may publish
    /// (`label`, `command`): `node scripts/release.js`.
    opaque: Vec<(String, String)>,
}

/// A repository-relative path as users read it (and as GitHub shows it):
/// with `/` between components on every platform.
pub(crate) fn shown(p: &Path) -> String {
    let s = p.display().to_string();
    if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s
    }
}

/// `.github/workflows/release.yml, job "publish"`.
fn label(file: &Path, job: &str) -> String {
    format!("{}, job \"{}\"", shown(file), job)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The workflow `doctor` suggests when none publishes: the README's
/// example (`tests/it/readme_examples.rs` lints it with actionlint and
/// zizmor).
pub const MINIMAL_WORKFLOW: &str = concat!(
    "\
# .github/workflows/release.yml
name: release

on:
  push:
    tags: [\"v*\"]

permissions: {}

jobs:
  publish:
    runs-on: ubuntu-24.04
    permissions:
      contents: read
      id-token: write # lets the job request an OIDC id token
    steps:
      - uses: actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2
        with:
          persist-credentials: false
      - name: Publish
        run: npx --yes trustpub@",
    env!("CARGO_PKG_VERSION"),
    " publish --trusted-publishing always
"
);

fn no_publish_job(repo: &Repo, found: &Found) -> Finding {
    let what = repo.package_description();
    let mut message = if repo.ci_files_read() == 0 {
        format!(
            "no CI file found (looked for .github/workflows/*.yml, .gitlab-ci.yml and \
             .circleci/config.yml under {}), so no job publishes {what}",
            repo.root_display()
        )
    } else if found.other_packages.is_empty() {
        format!(
            "no CI job publishes {what}: no step runs npm publish, pnpm publish, \
             yarn npm publish or trustpub publish (directly or through a package.json script)"
        )
    } else {
        format!("no CI job publishes {what}")
    };
    if !found.other_packages.is_empty() {
        let list: Vec<String> = found
            .other_packages
            .iter()
            .map(|(l, c)| format!("{l} (`{c}`)"))
            .collect();
        message.push_str(&format!(
            "; these jobs publish from another directory or another package: {}",
            list.join("; ")
        ));
    }
    if !found.opaque.is_empty() {
        let list: Vec<String> = found
            .opaque
            .iter()
            .map(|(l, c)| format!("{l} runs `{c}`"))
            .collect();
        message = format!(
            "doctor cannot tell whether a CI job publishes {what}: {}, a release program doctor \
             cannot read, which may publish it",
            list.join("; ")
        );
        return Finding::unknown("no-publish-job", message).with_fix(
            "run `trustpub doctor` in the publishing job, or publish with a command doctor \
             recognises (`npm publish`, `trustpub publish`, …) in the workflow or a package.json \
             script",
        );
    }
    // A remote reusable workflow may publish: doctor cannot tell.
    let severity = if found.remote_candidates.is_empty() {
        Severity::Error
    } else {
        message.push_str(&format!(
            "; {} calls a reusable workflow in another repository, which doctor cannot read \
             and which may publish",
            found.remote_candidates.join(" and ")
        ));
        Severity::Unknown
    };
    Finding::new(severity, "no-publish-job", message).with_fix(format!(
        "add a workflow that publishes on a tag push, for example:\n\n{MINIMAL_WORKFLOW}"
    ))
}

/// `"private": true`: npm (and trustpub) refuse to publish the package.
pub fn private_finding(what: &str) -> Finding {
    Finding::error(
        "package-private",
        format!(
            "package.json of {what} sets \"private\": true, so npm and trustpub refuse to \
             publish it (EPRIVATE)"
        ),
    )
    .with_fix("remove \"private\": true from package.json if this package is meant to be published")
}

/// The semantic-release npm check, then: in a monorepo, a publish whose target doctor cannot work out (a path
/// with variables, a loop that skips some packages, a tarball) may or may
/// not publish this package: doctor cannot tell.
fn target_findings(repo: &Repo, where_: &str, cmd: &PublishCmd) -> Vec<Finding> {
    let mut out = semantic_release_findings(repo, where_, cmd);
    if cmd.target != shell::Target::Unknown || !repo.is_monorepo() {
        return out;
    }
    out.push(
        Finding::unknown(
            "publish-target-unknown",
            format!(
                "{where_} runs {}, and doctor cannot work out which package that uploads (a path \
             with variables, a tarball or a directory it cannot follow), so it cannot tell \
             whether this job publishes {}",
                cmd.describe(),
                repo.package_description()
            ),
        )
        .with_fix(
            "run `trustpub doctor` in the publishing job, or name the package's directory in the \
         publish command (`npm publish packages/a`, `pnpm --filter a publish`)",
        ),
    );
    out
}

/// semantic-release brings its own npm through `@semantic-release/npm`:
/// npm ^11 from version 13 (semantic-release 25) on, npm 10 before, which
/// never tries trusted publishing. The versions come from `npx
/// semantic-release@<v>` or the package.json dependencies of the package and
/// of the repository root; when neither says, `npx` fetches the newest.
fn semantic_release_findings(repo: &Repo, where_: &str, cmd: &PublishCmd) -> Vec<Finding> {
    if cmd.publisher != Publisher::Other("semantic-release".into()) {
        return Vec::new();
    }
    let major = |v: &str| -> Option<u64> {
        let v = v.trim().trim_start_matches(['^', '~', '=', 'v', '>']);
        v.split('.').next()?.trim().parse().ok()
    };
    let declared = |name: &str| -> Option<(String, u64)> {
        for dir in [repo.package_dir(), PathBuf::new()] {
            let Some(pj) = repo.package_json(&dir) else {
                continue;
            };
            for deps in ["devDependencies", "dependencies"] {
                if let Some(v) = pj
                    .get(deps)
                    .and_then(|d| d.get(name))
                    .and_then(|v| v.as_str())
                {
                    if let Some(m) = major(v) {
                        return Some((format!("{name}@{v}"), m));
                    }
                }
            }
        }
        None
    };
    let pinned = cmd
        .command
        .split_whitespace()
        .find_map(|w| w.strip_prefix("semantic-release@"))
        .and_then(|v| major(v).map(|m| (format!("semantic-release@{v}"), m)));
    let old = match declared("@semantic-release/npm") {
        Some((what, m)) => (m < 13).then_some(what),
        None => match pinned.or_else(|| declared("semantic-release")) {
            Some((what, m)) => (m < 25).then_some(what),
            None => None,
        },
    };
    let Some(what) = old else {
        return Vec::new();
    };
    vec![Finding::error(
        "npm-too-old",
        format!(
            "{where_} publishes with {}; {what} publishes through npm 10 \
             (@semantic-release/npm before 13), which never tries trusted publishing",
            cmd.describe()
        ),
    )
    .with_fix("use semantic-release 25 or newer (@semantic-release/npm 13 or newer, which comes with npm 11)")]
}

/// Publishers that cannot use trusted publishing at all.
fn publisher_findings(where_: &str, cmd: &PublishCmd) -> Vec<Finding> {
    let Publisher::Other(name) = &cmd.publisher else {
        return Vec::new();
    };
    let why = match name.as_str() {
        "yarn publish" => "`yarn publish` is Yarn 1, which has no trusted publishing",
        "bun publish" => "`bun publish` has no trusted publishing",
        _ => return Vec::new(),
    };
    vec![Finding::error(
        "publisher-no-oidc",
        format!(
            "{where_} publishes with {}: {why}, so it can only publish with a long-lived token",
            cmd.describe()
        ),
    )
    .with_fix(format!(
        "publish with a tool that does trusted publishing: trustpub (`npx --yes trustpub@{v} \
         publish`, or on GitHub Actions the `trustpub/trustpub` Action), or \
         `npm publish` with npm 11.5.1 or newer, or `yarn npm publish` with Yarn 4.10.3 or newer",
        v = env!("CARGO_PKG_VERSION")
    ))]
}

/// Long-lived tokens next to trusted publishing: `tokens` are variables set
/// from secrets (`NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}`), `writes` are
/// commands that put a token into an .npmrc.
fn token_findings(
    where_: &str,
    cmd: &PublishCmd,
    tokens: &[String],
    writes: &[&String],
) -> Vec<Finding> {
    if tokens.is_empty() && writes.is_empty() {
        return Vec::new();
    }
    let mut what: Vec<String> = tokens.iter().map(|t| format!("`{t}`")).collect();
    what.extend(writes.iter().map(|w| format!("`{w}`")));
    let what = what.join(", ");
    let message = if cmd.publisher == Publisher::Yarn {
        format!(
            "{where_} also provides a long-lived npm token ({what}). Yarn uses a configured \
             token before it tries trusted publishing, so this job publishes with the token, \
             not through trusted publishing"
        )
    } else {
        format!(
            "{where_} also provides a long-lived npm token ({what}). npm and trustpub try \
             trusted publishing first and use the token only when that fails, so a broken \
             trusted-publisher setup goes unnoticed: the release goes out with the token instead"
        )
    };
    vec![
        Finding::warning("token-fallback", message).with_fix(format!(
            "once a release has gone out through trusted publishing, remove {what} from the CI \
         configuration and revoke the token on npmjs.com; the package's settings page can then \
         refuse tokens for publishing"
        )),
    ]
}
