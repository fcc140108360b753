//! GitHub Actions: `.github/workflows/*.yml|yaml`.
//!
//! Checks for each job that publishes the package (severity in brackets):
//!
//! * `github-id-token` [error]: the job's effective `permissions` must
//!   include `id-token: write`. A job's `permissions` replace the
//!   workflow's; `write-all` grants it, `read-all` and maps without the key
//!   do not, and with no `permissions` anywhere the default token has no
//!   id-token. In a reusable workflow every calling job up the chain must
//!   grant it too (the callee can only narrow what the caller grants).
//! * `reusable-workflow` [warning]: the job is in a workflow started by
//!   `workflow_call`; npm matches the calling workflow's file name, which is
//!   what the publisher values carry. No local caller: the file is unknown.
//! * `npm-too-old` / `node-too-old` [error or warning], `node-version-unknown`
//!   [warning or info; unknown when no readable step sets up Node but an
//!   action from another repository runs before the publish]: see `node.rs`.
//!   Local composite actions (`./dir`, `$/dir`) are followed three levels deep.
//! * `publish-target-unknown` [unknown], semantic-release's `npm-too-old`
//!   [error]: see `target_findings` in `workflows.rs`.
//! * `token-fallback` [warning]: `NODE_AUTH_TOKEN`/`NPM_TOKEN` from a secret
//!   (workflow, job or step `env`, or an action's `token` input), or a step
//!   writing `_authToken` to an .npmrc.
//! * `self-hosted-runner` [error]: `runs-on` with `self-hosted`, default
//!   self-hosted labels or a known third-party runner; [warning] for a label
//!   doctor does not know or a runner group.
//! * `pull-request-trigger` [warning]: the starting workflow runs on
//!   `pull_request`/`pull_request_target` and no `if:` mentions the event or ref.
//! * `environment` [info]: the job's environment, to enter on npmjs.com.
//! * `registry-mismatch` [warning]: setup-node `registry-url` is another registry.
//! * `publisher-no-oidc` [error]: `yarn publish` (Yarn 1) or `bun publish`.
//!
//! A step `uses: trustpub/trustpub@<ref>` (trustpub's own Action) is a
//! `trustpub publish` when its `command` input is `publish` (the default)
//! and it is no dry run; its `working-directory` and `args` say what it
//! publishes, and its `trusted-publishing` input shows in the command.
//!
//! Also reported (in `problems`): invalid YAML, and local jobs that call a
//! remote reusable workflow whose name suggests publishing.

use std::path::{Path, PathBuf};

use yaml_rust2::Yaml;

use super::node::{self, NodeSource, NodeSpec};
use super::repo::{normalize, Repo};
use super::shell::{self, Event, PublishCmd, Target};
use super::yaml::{entries, get, get_str, has_key, scalar};
use super::{
    file_name, label, Finding, Found, JobRef, Provider, PublishJob, Publisher, PublisherValues,
};

const WORKFLOWS: &str = ".github/workflows";
const MAX_CALL_DEPTH: usize = 10;

struct Workflow {
    path: PathBuf,
    doc: Yaml,
}

impl Workflow {
    fn jobs(&self) -> Vec<(&str, &Yaml)> {
        get(&self.doc, "jobs").map(entries).unwrap_or_default()
    }

    fn job(&self, id: &str) -> Option<&Yaml> {
        get(&self.doc, "jobs").and_then(|j| get(j, id))
    }

    /// The events in `on:` (a name, a list, or a map).
    fn triggers(&self) -> Vec<String> {
        match get(&self.doc, "on") {
            Some(Yaml::Array(a)) => a.iter().filter_map(scalar).collect(),
            Some(h @ Yaml::Hash(_)) => entries(h).into_iter().map(|(k, _)| k.to_string()).collect(),
            Some(other) => scalar(other).into_iter().collect(),
            None => Vec::new(),
        }
    }
}

/// A local job that calls a local reusable workflow.
struct Call {
    caller: usize,
    job: String,
    callee: PathBuf,
}

/// One way a publishing job gets started: the calling jobs, outermost
/// first, or `unknown_caller` when nothing here calls the reusable workflow.
struct Entry {
    callers: Vec<(usize, String)>,
    unknown_caller: bool,
}

/// A publish command in a job, with what surrounds it.
struct Site {
    seq: usize,
    cmd: PublishCmd,
    /// Token variables in the publishing step's `env` or `with`.
    step_tokens: Vec<String>,
}

/// What the steps of a job do, in order (`seq` counts steps, including the
/// steps of local composite actions).
#[derive(Default)]
struct JobScan {
    sites: Vec<Site>,
    others: Vec<PublishCmd>,
    setup_node: Vec<(usize, Yaml)>,
    upgrades: Vec<(usize, String, String)>,
    token_writes: Vec<(usize, String)>,
    pnpm_version: Option<String>,
    registry_urls: Vec<String>,
    /// Actions from other repositories (`owner/repo@ref`) that doctor cannot
    /// read and that may set up Node (composite actions).
    remote_actions: Vec<(usize, String)>,
    /// Scripts and programs doctor cannot follow that look like releases.
    opaque: Vec<(usize, String)>,
}

/// Actions known not to set up Node or publish.
const INERT_ACTIONS: &[&str] = &[
    "actions/checkout",
    "actions/cache",
    "actions/upload-artifact",
    "actions/download-artifact",
    "actions/github-script",
    "actions/create-github-app-token",
    "actions/attest-build-provenance",
    "actions/configure-pages",
    "actions/upload-pages-artifact",
    "actions/deploy-pages",
    "oven-sh/setup-bun",
    "softprops/action-gh-release",
    "step-security/harden-runner",
    "codecov/codecov-action",
];

pub(super) fn analyze(repo: &Repo, found: &mut Found, problems: &mut Vec<Finding>) {
    let dir = Path::new(WORKFLOWS);
    let mut workflows = Vec::new();
    for path in repo.list_dir(dir) {
        let is_yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
        if !is_yaml {
            continue;
        }
        if let Some(doc) = repo.load_ci_mapping(&path, problems) {
            workflows.push(Workflow { path, doc });
        }
    }

    // Reusable-workflow calls, local and remote.
    let mut calls = Vec::new();
    for (wi, w) in workflows.iter().enumerate() {
        for (job, j) in w.jobs() {
            let Some(uses) = get_str(j, "uses") else {
                continue;
            };
            if let Some(local) = uses.strip_prefix("./") {
                if let Some(p) = normalize(Path::new(local)) {
                    calls.push(Call {
                        caller: wi,
                        job: job.to_string(),
                        callee: p,
                    });
                }
            } else if looks_like_publishing(&uses) {
                let l = label(&w.path, job);
                found.remote_candidates.push(l.clone());
                problems.push(Finding::info(
                    "remote-reusable-workflow",
                    format!(
                        "{l} calls {uses}, a workflow in another repository that doctor cannot \
                         read. If it publishes, npm matches {} (this repository's file that \
                         starts the run), and this job must grant `id-token: write`",
                        file_name(&w.path)
                    ),
                ));
            }
        }
    }

    for (wi, w) in workflows.iter().enumerate() {
        for (job_id, job) in w.jobs() {
            if has_key(job, "uses") {
                continue;
            }
            let scan = scan_job(repo, w, job);
            for o in &scan.others {
                found
                    .other_packages
                    .push((label(&w.path, job_id), o.command.clone()));
            }
            for (_, c) in &scan.opaque {
                found.opaque.push((label(&w.path, job_id), c.clone()));
            }
            let Some(first) = scan.sites.first() else {
                continue;
            };
            for entry in entries_of(&workflows, &calls, wi, 0) {
                found.jobs.push(publish_job(
                    repo, &workflows, wi, job_id, job, &scan, first, &entry,
                ));
            }
        }
    }
}

/// Remote reusable workflows worth a note: their path mentions publishing.
fn looks_like_publishing(uses: &str) -> bool {
    let l = uses.to_ascii_lowercase();
    l.contains("/.github/workflows/")
        && ["publish", "release", "npm", "deploy"]
            .iter()
            .any(|w| l.contains(w))
}

/// The ways workflow `wi` gets started.
fn entries_of(workflows: &[Workflow], calls: &[Call], wi: usize, depth: usize) -> Vec<Entry> {
    let triggers = workflows[wi].triggers();
    let called = triggers.iter().any(|t| t == "workflow_call");
    let mut out = Vec::new();
    if !called || triggers.len() > 1 {
        out.push(Entry {
            callers: Vec::new(),
            unknown_caller: false,
        });
    }
    if called {
        let callers: Vec<&Call> = calls
            .iter()
            .filter(|c| c.callee == workflows[wi].path)
            .collect();
        if (callers.is_empty() || depth >= MAX_CALL_DEPTH) && out.is_empty() {
            out.push(Entry {
                callers: Vec::new(),
                unknown_caller: true,
            });
        }
        if depth < MAX_CALL_DEPTH {
            for c in callers {
                for mut e in entries_of(workflows, calls, c.caller, depth + 1) {
                    e.callers.push((c.caller, c.job.clone()));
                    out.push(e);
                }
            }
        }
    }
    out
}

/// `defaults.run.working-directory` of a job or workflow.
fn working_dir(y: &Yaml) -> Option<String> {
    get(y, "defaults")
        .and_then(|d| get(d, "run"))
        .and_then(|r| get_str(r, "working-directory"))
}

/// The directory a `run:` step runs in.
fn step_cwd(w: &Workflow, job: &Yaml, step: &Yaml) -> Option<PathBuf> {
    let wd = get_str(step, "working-directory")
        .or_else(|| working_dir(job))
        .or_else(|| working_dir(&w.doc));
    match wd {
        None => Some(PathBuf::new()),
        Some(d) if d.contains("${{") => None,
        Some(d) => normalize(Path::new(&d)),
    }
}

#[rustfmt::skip]
const TOKEN_VARS: &[&str] = &[
    "NODE_AUTH_TOKEN", "NPM_TOKEN", "NPM_AUTH_TOKEN", "NPM_CONFIG_TOKEN",
    "npm_config__authToken", "YARN_NPM_AUTH_TOKEN",
];

/// `NAME from secrets.X` for token variables set from a secret in an `env` map.
fn secret_tokens(env: Option<&Yaml>) -> Vec<String> {
    let Some(env) = env else { return Vec::new() };
    entries(env)
        .into_iter()
        .filter(|(k, _)| TOKEN_VARS.contains(k))
        .filter_map(|(k, v)| {
            let v = scalar(v)?;
            let from_secret = v.contains("secrets.")
                && !v.contains("secrets.GITHUB_TOKEN")
                && !v.contains("github.token");
            from_secret.then(|| format!("{k}: {}", v.trim()))
        })
        .collect()
}

fn scan_job(repo: &Repo, w: &Workflow, job: &Yaml) -> JobScan {
    let mut scan = JobScan::default();
    let mut seq = 0;
    if let Some(Yaml::Array(steps)) = get(job, "steps") {
        for step in steps {
            scan_step(repo, w, job, step, &mut scan, &mut seq, 0);
        }
    }
    scan
}

fn scan_step(
    repo: &Repo,
    w: &Workflow,
    job: &Yaml,
    step: &Yaml,
    scan: &mut JobScan,
    seq: &mut usize,
    depth: usize,
) {
    *seq += 1;
    let here = *seq;
    let cwd = step_cwd(w, job, step);
    let with = get(step, "with");
    let with_str = |k: &str| with.and_then(|w| get_str(w, k));
    let mut step_tokens = secret_tokens(get(step, "env"));
    let publish = |scan: &mut JobScan, cmd: PublishCmd, tokens: &[String]| {
        if repo.is_this_package(&cmd.target) {
            scan.sites.push(Site {
                seq: here,
                cmd,
                step_tokens: tokens.to_vec(),
            });
        } else {
            scan.others.push(cmd);
        }
    };

    if let Some(uses) = get_str(step, "uses") {
        let action = uses.split('@').next().unwrap_or(&uses).to_ascii_lowercase();
        match action.as_str() {
            "actions/setup-node" => {
                scan.setup_node.push((here, step.clone()));
                if let Some(url) = with_str("registry-url") {
                    scan.registry_urls.push(url);
                }
            }
            "pnpm/action-setup" => {
                if let Some(v) = with_str("version") {
                    scan.pnpm_version = Some(v);
                }
            }
            "js-devtools/npm-publish" if with_str("dry-run").as_deref() != Some("true") => {
                if let Some(t) = with_str("token") {
                    if t.contains("secrets.") {
                        step_tokens.push(format!("token: {t}"));
                    }
                }
                let target = match with_str("package") {
                    None => Target::Dir(PathBuf::new()),
                    Some(p) if p.ends_with(".tgz") => Target::Unknown,
                    Some(p) => {
                        let p = p.trim_end_matches("package.json").to_string();
                        normalize(Path::new(&p))
                            .map(Target::Dir)
                            .unwrap_or(Target::Unknown)
                    }
                };
                let cmd = PublishCmd::new(
                    Publisher::Other("JS-DevTools/npm-publish".into()),
                    target,
                    uses.clone(),
                );
                publish(scan, cmd, &step_tokens);
            }
            // trustpub's own Action (this repository's action.yml): a
            // `trustpub publish` in `working-directory` unless `command`
            // says otherwise. Only the official repository is recognised:
            // a fork's action.yml may do anything.
            "trustpub/trustpub" => {
                let command = with_str("command").unwrap_or_else(|| "publish".into());
                let dry_run = with_str("dry-run").is_some_and(|d| d.trim() == "true");
                let args = with_str("args");
                let target = if command.trim() == "publish" {
                    shell::action_publish_target(
                        with_str("working-directory").as_deref(),
                        args.as_deref(),
                        dry_run,
                    )
                } else {
                    None
                };
                if let Some(target) = target {
                    // The Action passes --trusted-publishing only when the
                    // input is set; otherwise trustpub's default (auto, or
                    // the job's TRUSTPUB_TRUSTED_PUBLISHING) applies.
                    let mut written = "trustpub publish".to_string();
                    if let Some(mode) = with_str("trusted-publishing")
                        .map(|m| m.trim().to_string())
                        .filter(|m| !m.is_empty())
                    {
                        written.push_str(" --trusted-publishing ");
                        written.push_str(&mode);
                    }
                    if let Some(a) = args.as_deref().filter(|a| !a.trim().is_empty()) {
                        written.push(' ');
                        written.push_str(&a.split_whitespace().collect::<Vec<_>>().join(" "));
                    }
                    let mut cmd = PublishCmd::new(Publisher::Trustpub, target, written);
                    cmd.via.push(format!("uses: {uses}"));
                    cmd.provenance = with_str("provenance").is_some_and(|p| p.trim() == "true")
                        || args
                            .as_deref()
                            .is_some_and(|a| a.split_whitespace().any(|w| w == "--provenance"));
                    publish(scan, cmd, &step_tokens);
                }
            }
            // v1 names the command `publish`, v2 `publish-script`, and
            // v2's publish sub-action `script`; without one, it runs
            // `changeset publish`.
            "changesets/action" | "changesets/action/publish" => {
                let script = ["publish", "publish-script", "script"]
                    .into_iter()
                    .find_map(|k| with_str(k).map(|s| (k, s)));
                if let Some((key, script)) = script {
                    let cwd = match with_str("cwd") {
                        Some(d) => normalize(Path::new(&d)),
                        None => Some(PathBuf::new()),
                    };
                    let via = format!("{uses} with {key}: {script}");
                    let events = shell::scan(repo, &script, cwd);
                    let mut any = false;
                    for e in events {
                        if let Event::Publish(mut p) = e {
                            p.via.insert(0, via.clone());
                            any = true;
                            publish(scan, p, &step_tokens);
                        }
                    }
                    if !any {
                        let cmd = PublishCmd::new(
                            Publisher::Other("changesets/action".into()),
                            Target::All,
                            via,
                        );
                        publish(scan, cmd, &step_tokens);
                    }
                } else if action == "changesets/action/publish" {
                    let cmd = PublishCmd::new(
                        Publisher::Other("changesets/action".into()),
                        Target::All,
                        uses.clone(),
                    );
                    publish(scan, cmd, &step_tokens);
                }
            }
            "cycjimmy/semantic-release-action"
                if with_str("dry_run").as_deref() != Some("true") =>
            {
                let dir = with_str("working_directory").unwrap_or_default();
                let t = normalize(Path::new(&dir))
                    .map(Target::Dir)
                    .unwrap_or(Target::Unknown);
                let cmd =
                    PublishCmd::new(Publisher::Other("semantic-release".into()), t, uses.clone());
                publish(scan, cmd, &step_tokens);
            }
            // A local composite action (`./dir`, or the self-repository
            // form `$/dir`): its steps run as if written here.
            _ if (uses.starts_with("./") || uses.starts_with("$/")) && depth < 3 => {
                let local = uses.strip_prefix("$/").unwrap_or(&uses);
                let dir = normalize(Path::new(local)).unwrap_or_default();
                let text = repo
                    .read_text(&dir.join("action.yml"))
                    .or_else(|| repo.read_text(&dir.join("action.yaml")));
                let mut followed = false;
                if let Some(Ok(Some(action))) = text.map(|t| super::yaml::parse(&t)) {
                    let runs = get(&action, "runs");
                    if let Some(Yaml::Array(steps)) = runs.and_then(|r| get(r, "steps")) {
                        followed = true;
                        for s in steps {
                            scan_step(repo, w, job, s, scan, seq, depth + 1);
                        }
                    }
                }
                // A JavaScript or Docker action of this repository (or one
                // doctor cannot read): a program that may publish.
                if !followed {
                    scan.opaque.push((here, format!("uses: {uses}")));
                }
            }
            _ if !uses.starts_with("docker://")
                && !uses.starts_with("./")
                && !uses.starts_with("$/")
                && !INERT_ACTIONS.contains(&action.as_str()) =>
            {
                scan.remote_actions.push((here, uses.clone()));
            }
            _ => {}
        }
    }

    if let Some(run) = get_str(step, "run") {
        for e in shell::scan(repo, &run, cwd) {
            match e {
                Event::Publish(p) => publish(scan, p, &step_tokens),
                Event::NpmUpgrade { spec, command } => scan.upgrades.push((here, spec, command)),
                Event::WritesToken { command } => scan.token_writes.push((here, command)),
                Event::Opaque { command } => scan.opaque.push((here, command)),
            }
        }
    }
}

/// The effective `permissions` of a job: its own (`true`), else its
/// workflow's (`false`); `None` when neither sets any.
fn declared_permissions<'a>(w: &'a Workflow, job: &'a Yaml) -> Option<(&'a Yaml, bool)> {
    if has_key(job, "permissions") {
        return Some((job_perm(job), true));
    }
    if has_key(&w.doc, "permissions") {
        return Some((job_perm(&w.doc), false));
    }
    None
}

/// Whether job `job` of the workflow file `workflow` (relative to `root`)
/// grants `id-token: write`, by its own `permissions` or its workflow's:
/// `None` when the file or the job cannot be read (a job of a reusable
/// workflow is not in the file that started the run).
pub(super) fn job_grants_id_token(root: &Path, workflow: &str, job: &str) -> Option<bool> {
    let rel = normalize(Path::new(workflow))?;
    let text = crate::limits::read_text(&root.join(rel), crate::limits::WORKFLOW_FILE_MAX).ok()?;
    let doc = super::yaml::parse(&text).ok()??;
    let w = Workflow {
        path: PathBuf::from(workflow),
        doc,
    };
    let job = w.job(job)?;
    Some(declared_permissions(&w, job).is_some_and(|(p, _)| grants_id_token(p)))
}

fn job_perm(y: &Yaml) -> &Yaml {
    static EMPTY: Yaml = Yaml::Null;
    get(y, "permissions").unwrap_or(&EMPTY)
}

fn grants_id_token(perms: &Yaml) -> bool {
    match perms {
        Yaml::String(s) => s == "write-all",
        Yaml::Hash(_) => get_str(perms, "id-token").as_deref() == Some("write"),
        _ => false,
    }
}

/// `permissions:` with id-token added to what is there.
fn permissions_snippet(existing: Option<&Yaml>) -> String {
    let mut lines = vec!["permissions:".to_string()];
    let mut listed = Vec::new();
    if let Some(h @ Yaml::Hash(_)) = existing {
        for (k, v) in entries(h) {
            if k != "id-token" {
                listed.push(format!("  {k}: {}", scalar(v).unwrap_or_default()));
            }
        }
    }
    if listed.is_empty() {
        listed.push("  contents: read".into());
    }
    lines.extend(listed);
    lines.push("  id-token: write".into());
    lines.join("\n")
}

/// The `github-id-token` finding for one level of the call chain. `top`:
/// the job that starts the run (no permissions there means none at all).
/// `calls`: for a calling job, the reusable workflow it calls.
fn id_token_finding(
    w: &Workflow,
    job_id: &str,
    job: &Yaml,
    top: bool,
    calls: &str,
) -> Option<Finding> {
    let where_ = label(&w.path, job_id);
    let role = if calls.is_empty() {
        String::new()
    } else {
        format!(" (it calls the reusable workflow that publishes, {calls})")
    };
    let (message, existing) = match declared_permissions(w, job) {
        Some((p, _)) if grants_id_token(p) => return None,
        None if !top => return None,
        None => (
            format!(
                "{where_}{role}: neither the job nor the workflow sets `permissions`, and \
                 GitHub's default token permissions do not include `id-token: write`. Without \
                 it the job cannot get an OIDC token, npm falls back to other credentials, and \
                 the publish fails with ENEEDAUTH or a 404"
            ),
            None,
        ),
        Some((p, true)) => {
            let wf_grants = has_key(&w.doc, "permissions") && grants_id_token(job_perm(&w.doc));
            let why = if wf_grants {
                "a job's `permissions` replace the workflow's (which do grant it), so"
            } else {
                "so"
            };
            (
                format!(
                    "{where_}{role} sets `permissions` without `id-token: write`; {why} the job \
                     cannot get an OIDC token for trusted publishing"
                ),
                Some(p),
            )
        }
        Some((p, false)) => (
            format!(
                "{where_}{role}: the workflow's `permissions` ({}) do not include \
                 `id-token: write` and the job does not set its own, so it cannot get an OIDC \
                 token for trusted publishing",
                describe_perms(p)
            ),
            Some(p),
        ),
    };
    let snippet = permissions_snippet(existing);
    Some(Finding::error("github-id-token", message).with_fix(format!(
        "add to the job \"{job_id}\" in {} (a job's `permissions` replace the \
             workflow's, so list everything the job needs):\n\n{snippet}",
        crate::workflows::shown(&w.path)
    )))
}

fn describe_perms(p: &Yaml) -> String {
    match p {
        Yaml::String(s) => s.clone(),
        Yaml::Hash(h) if h.is_empty() => "{}".into(),
        Yaml::Hash(_) => entries(p)
            .into_iter()
            .map(|(k, v)| format!("{k}: {}", scalar(v).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "empty".into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn publish_job(
    repo: &Repo,
    workflows: &[Workflow],
    wi: usize,
    job_id: &str,
    job: &Yaml,
    scan: &JobScan,
    site: &Site,
    entry: &Entry,
) -> PublishJob {
    let w = &workflows[wi];
    let where_ = label(&w.path, job_id);
    let mut findings = Vec::new();
    let top_wi = entry.callers.first().map(|(i, _)| *i).unwrap_or(wi);
    let top_file = &workflows[top_wi].path;

    // Permissions, from the workflow that starts the run down to this job.
    for (i, (ci, cjob)) in entry.callers.iter().enumerate() {
        let cw = &workflows[*ci];
        if let Some(cj) = cw.job(cjob) {
            let next = entry
                .callers
                .get(i + 1)
                .map(|(ni, _)| crate::workflows::shown(&workflows[*ni].path))
                .unwrap_or_else(|| crate::workflows::shown(&w.path));
            findings.extend(id_token_finding(cw, cjob, cj, i == 0, &next));
        }
    }
    // Without a caller in view, only the job's own `permissions` can be judged.
    let top = entry.callers.is_empty() && !entry.unknown_caller;
    findings.extend(id_token_finding(w, job_id, job, top, ""));

    // Reusable workflows: which file npm matches.
    if let Some((ci, cjob)) = entry.callers.first() {
        let caller = &workflows[*ci];
        findings.push(
            Finding::warning(
                "reusable-workflow",
                format!(
                    "{where_} is in a reusable workflow, started by {}. npm checks the workflow \
                     file that starts the run, so the trusted publisher on npmjs.com must name \
                     {}, not {}",
                    label(&caller.path, cjob),
                    file_name(&caller.path),
                    file_name(&w.path)
                ),
            )
            .with_fix(format!(
                "on npmjs.com, package settings → Trusted publisher → Workflow filename: {} \
                 (the file name only, no directory)",
                file_name(&caller.path)
            )),
        );
    } else if entry.unknown_caller {
        findings.push(Finding::warning(
            "reusable-workflow",
            format!(
                "{where_} is in a reusable workflow (on: workflow_call) that no workflow in this \
                 repository calls. npm checks the file that starts the run: enter the calling \
                 workflow's file name on npmjs.com, and that job must grant `id-token: write`. \
                 When the caller is in another repository, npm sees that repository too"
            ),
        ));
    }

    findings.extend(runner_findings(&where_, get(job, "runs-on")));
    findings.extend(trigger_findings(workflows, top_wi, &where_, job, entry));

    // Environment.
    let environment = environment_of(
        w,
        job,
        entry
            .callers
            .last()
            .and_then(|(ci, cj)| workflows[*ci].job(cj)),
    );
    if let Some(env) = &environment {
        if env.contains("${{") {
            findings.push(Finding::info(
                "environment",
                format!(
                    "{where_} runs in the GitHub environment `{env}`, set by an expression. If \
                     you enter an environment on npmjs.com, it must be the value this takes when \
                     publishing, exactly"
                ),
            ));
        } else {
            findings.push(Finding::info(
                "environment",
                format!(
                    "{where_} runs in the GitHub environment \"{env}\". On npmjs.com you can \
                     enter {env} as the environment (exactly, capitals included) so that only \
                     this environment may publish, or leave the field empty"
                ),
            ));
        }
    }

    // npm and Node.
    let upgrade = scan
        .upgrades
        .iter()
        .rfind(|(s, _, _)| *s <= site.seq)
        .map(|(_, spec, cmd)| (spec.as_str(), cmd.as_str()));
    let node = node_source(repo, job, scan, site.seq);
    let pnpm_version = scan.pnpm_version.clone().or_else(|| {
        repo.package_manager()
            .filter(|(n, _)| n == "pnpm")
            .map(|(_, v)| v)
    });
    let fixes = node::Fixes {
        node: "- uses: actions/setup-node@48b55a011bda9f5d6aeb4c2d9c7362e8dae4041e # v6.4.0\n  with:\n    node-version: 24".into(),
        upgrade: "- run: npm install -g npm@latest".into(),
    };
    // Long-lived tokens.
    let mut tokens = secret_tokens(get(&w.doc, "env"));
    tokens.extend(secret_tokens(get(job, "env")));
    tokens.extend(site.step_tokens.iter().cloned());
    let writes: Vec<&String> = scan
        .token_writes
        .iter()
        .filter(|(s, _)| *s <= site.seq)
        .map(|(_, c)| c)
        .collect();
    findings.extend(node::npm_findings(
        &where_,
        &site.cmd,
        &node,
        upgrade,
        pnpm_version.as_deref(),
        &fixes,
        !tokens.is_empty() || !writes.is_empty(),
    ));
    findings.extend(super::publisher_findings(&where_, &site.cmd));
    findings.extend(super::target_findings(repo, &where_, &site.cmd));

    findings.extend(super::token_findings(&where_, &site.cmd, &tokens, &writes));

    for url in &scan.registry_urls {
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        if let Some(host) = host {
            if host != repo.registry_host() {
                findings.push(Finding::warning(
                    "registry-mismatch",
                    format!(
                        "{where_} sets up Node with `registry-url: {url}`, so npm publishes to \
                         {host}, not {}; trusted publishing is set up per registry",
                        repo.registry_host()
                    ),
                ));
            }
        }
    }

    let (owner, repository) = repo.github_repo();
    PublishJob {
        provider: Provider::GitHubActions,
        file: w.path.clone(),
        job: job_id.to_string(),
        called_from: entry
            .callers
            .iter()
            .map(|(ci, j)| JobRef {
                file: workflows[*ci].path.clone(),
                job: j.clone(),
            })
            .collect(),
        publishes_with: site.cmd.publisher.clone(),
        command: site.cmd.command.clone(),
        publisher_values: PublisherValues::GitHub {
            owner,
            repository,
            workflow_file: if entry.unknown_caller {
                None
            } else {
                Some(file_name(top_file))
            },
            environment: environment.clone().filter(|e| !e.contains("${{")),
        },
        environment_expression: environment.filter(|e| e.contains("${{")),
        findings,
    }
}

/// The job's `environment` (a name or `{name: …}`), with `${{ inputs.x }}`
/// resolved from the calling job's `with:` or else the input's default.
fn environment_of(w: &Workflow, job: &Yaml, caller: Option<&Yaml>) -> Option<String> {
    let env = get(job, "environment")?;
    let name = match env {
        Yaml::Hash(_) => get_str(env, "name")?,
        other => scalar(other)?,
    };
    let input = name
        .trim()
        .strip_prefix("${{")
        .and_then(|s| s.strip_suffix("}}"))
        .map(str::trim)
        .and_then(|s| s.strip_prefix("inputs."));
    let Some(input) = input else {
        return Some(name);
    };
    let passed = caller
        .and_then(|c| get(c, "with"))
        .and_then(|w| get_str(w, input));
    let default = get(&w.doc, "on")
        .and_then(|o| get(o, "workflow_call"))
        .and_then(|c| get(c, "inputs"))
        .and_then(|i| get(i, input))
        .and_then(|i| get_str(i, "default"));
    Some(
        passed
            .or(default)
            .filter(|v| !v.contains("${{"))
            .unwrap_or(name),
    )
}

/// Where the job's Node comes from, at the publish step.
fn node_source(repo: &Repo, job: &Yaml, scan: &JobScan, publish_seq: usize) -> NodeSource {
    if let Some((_, step)) = scan.setup_node.iter().rfind(|(s, _)| *s < publish_seq) {
        let with = get(step, "with");
        if let Some(v) = with.and_then(|w| get(w, "node-version")) {
            let raw = scalar(v).unwrap_or_default();
            return NodeSource::Known(matrix_values(job, &raw).unwrap_or_else(|| {
                vec![(
                    node::parse_spec(&raw),
                    format!("actions/setup-node with node-version: {raw}"),
                )]
            }));
        }
        if let Some(file) = with.and_then(|w| get_str(w, "node-version-file")) {
            let from = format!("actions/setup-node with node-version-file: {file}");
            return match version_from_file(repo, &file) {
                Some(v) => NodeSource::Known(vec![(
                    node::parse_spec(&v),
                    format!("{from}, which says {v}"),
                )]),
                None => NodeSource::Known(vec![(NodeSpec::Unknown(file.clone()), from)]),
            };
        }
    }
    if let Some(c) = get(job, "container") {
        let image = match c {
            Yaml::Hash(_) => get_str(c, "image"),
            other => scalar(other),
        };
        if let Some(image) = image {
            return match node::parse_image(&image) {
                Some(spec) => NodeSource::Known(vec![(spec, format!("container image {image}"))]),
                None => NodeSource::Unknown(format!("the container image {image}")),
            };
        }
    }
    // An action from another repository may be a composite action that
    // sets up Node; doctor cannot read it.
    if let Some((_, uses)) = scan.remote_actions.iter().rfind(|(s, _)| *s < publish_seq) {
        return NodeSource::Remote(uses.clone());
    }
    NodeSource::RunnerDefault("the Node preinstalled on the runner".into())
}

/// `${{ matrix.node }}` with `strategy.matrix.node: [20, 22]` → both values.
fn matrix_values(job: &Yaml, raw: &str) -> Option<Vec<(NodeSpec, String)>> {
    let key = raw
        .trim()
        .strip_prefix("${{")?
        .strip_suffix("}}")?
        .trim()
        .strip_prefix("matrix.")?;
    let values = get(job, "strategy")
        .and_then(|s| get(s, "matrix"))
        .and_then(|m| get(m, key))?;
    let list: Vec<String> = match values {
        Yaml::Array(a) => a.iter().filter_map(scalar).collect(),
        _ => return None,
    };
    if list.is_empty() {
        return None;
    }
    Some(
        list.into_iter()
            .map(|v| {
                let from = format!("actions/setup-node with node-version from matrix.{key}: {v}");
                (node::parse_spec(&v), from)
            })
            .collect(),
    )
}

/// `.nvmrc`, `.node-version`, `.tool-versions` or package.json (`volta.node`,
/// then `engines.node`), as setup-node reads them.
pub(super) fn version_from_file(repo: &Repo, file: &str) -> Option<String> {
    let rel = normalize(Path::new(file))?;
    if rel.file_name().is_some_and(|n| n == "package.json") {
        let dir = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let pj = repo.package_json(&dir)?;
        let v = pj
            .get("volta")
            .and_then(|v| v.get("node"))
            .or_else(|| pj.get("engines").and_then(|e| e.get("node")))?;
        return v.as_str().map(str::to_string);
    }
    let text = repo.read_text(&rel)?;
    if rel.file_name().is_some_and(|n| n == ".tool-versions") {
        return text.lines().find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some("nodejs")).then(|| it.next().map(str::to_string))?
        });
    }
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

#[rustfmt::skip]
const THIRD_PARTY_RUNNERS: &[&str] = &[
    "blacksmith", "namespace-", "nscloud", "buildjet", "depot-", "warp-", "ubicloud", "runs-on",
    "cirun", "actuated",
];

/// `runs-on`: npm accepts OIDC tokens from GitHub-hosted runners only.
fn runner_findings(where_: &str, runs_on: Option<&Yaml>) -> Vec<Finding> {
    let Some(r) = runs_on else { return Vec::new() };
    let fix = "run the publishing job on a GitHub-hosted runner (build elsewhere if you need \
               to and pass the files on with actions/upload-artifact):\n\nruns-on: ubuntu-latest";
    let labels: Vec<String> = match r {
        Yaml::Hash(_) => {
            if let Some(g) = get_str(r, "group") {
                return vec![Finding::warning(
                    "self-hosted-runner",
                    format!(
                        "{where_} runs in the runner group \"{g}\". That works if the group holds \
                         GitHub-hosted larger runners; npm rejects OIDC tokens from self-hosted \
                         runners"
                    ),
                )
                .with_fix(fix)];
            }
            get(r, "labels")
                .map(super::yaml::strings)
                .unwrap_or_default()
        }
        other => super::yaml::strings(other),
    };
    if labels.iter().any(|l| l.contains("${{")) {
        return Vec::new();
    }
    let lower: Vec<String> = labels.iter().map(|l| l.to_ascii_lowercase()).collect();
    let hosted = |l: &str| {
        ["ubuntu-", "windows-", "macos-"]
            .iter()
            .any(|p| l.starts_with(p))
    };
    if lower.iter().any(|l| l == "self-hosted") {
        return vec![Finding::error(
            "self-hosted-runner",
            format!(
                "{where_} runs on a self-hosted runner (runs-on: {}). npm rejects OIDC tokens \
                 from self-hosted runners, so trusted publishing cannot work there",
                labels.join(", ")
            ),
        )
        .with_fix(fix)];
    }
    if let Some(l) = lower
        .iter()
        .find(|l| THIRD_PARTY_RUNNERS.iter().any(|p| l.starts_with(p)))
    {
        return vec![Finding::error(
            "self-hosted-runner",
            format!(
                "{where_} runs on a third-party runner ({l}). npm accepts OIDC tokens only from \
                 GitHub-hosted runners, so trusted publishing cannot work there"
            ),
        )
        .with_fix(fix)];
    }
    if lower.iter().all(|l| hosted(l)) {
        return Vec::new();
    }
    vec![Finding::warning(
        "self-hosted-runner",
        format!(
            "{where_} runs on `{}`, a runner label doctor does not know. That is fine for a \
             GitHub-hosted larger runner; npm rejects OIDC tokens from self-hosted runners",
            labels.join(", ")
        ),
    )
    .with_fix(fix)]
}

/// The starting workflow runs on pull requests and nothing limits the job.
fn trigger_findings(
    workflows: &[Workflow],
    top_wi: usize,
    where_: &str,
    job: &Yaml,
    entry: &Entry,
) -> Vec<Finding> {
    if entry.unknown_caller {
        return Vec::new();
    }
    let top = &workflows[top_wi];
    let pr: Vec<String> = top
        .triggers()
        .into_iter()
        .filter(|t| t == "pull_request" || t == "pull_request_target")
        .collect();
    if pr.is_empty() {
        return Vec::new();
    }
    let guards = |y: Option<&Yaml>| {
        y.and_then(|j| get_str(j, "if")).is_some_and(|c| {
            c.contains("event_name")
                || c.contains("github.ref")
                || c.contains("github.event.release")
        })
    };
    let top_job = entry
        .callers
        .first()
        .and_then(|(ci, cj)| workflows[*ci].job(cj));
    if guards(Some(job)) || guards(top_job) {
        return Vec::new();
    }
    let target_note = if pr.iter().any(|t| t == "pull_request_target") {
        " With pull_request_target the job also runs with this repository's permissions on \
         pull requests from forks, which is dangerous for a publishing job."
    } else {
        ""
    };
    let started_by = if entry.callers.is_empty() {
        String::new()
    } else {
        format!(" (through {})", crate::workflows::shown(&top.path))
    };
    vec![Finding::warning(
        "pull-request-trigger",
        format!(
            "{where_} runs on {}{started_by} and has no `if:` that keeps publishing to pushes \
             or releases. Pull requests from forks get no OIDC token, and publishing from pull \
             requests is rarely intended.{target_note}",
            pr.join(" and ")
        ),
    )
    .with_fix(
        "publish only from tags or releases, e.g. limit the job:\n\n\
         if: github.event_name == 'push' && startsWith(github.ref, 'refs/tags/')",
    )]
}

#[cfg(test)]
mod tests {
    use super::super::Severity;
    use super::*;

    fn y(s: &str) -> Yaml {
        super::super::yaml::parse(s).unwrap().unwrap()
    }

    #[test]
    fn runners() {
        let sev = |s: &str| {
            runner_findings("j", Some(&y(&format!("r: {s}"))["r"]))
                .first()
                .map(|f| f.severity)
        };
        assert_eq!(sev("ubuntu-latest"), None);
        assert_eq!(sev("[ubuntu-24.04-arm]"), None);
        assert_eq!(sev("self-hosted"), Some(Severity::Error));
        assert_eq!(sev("[self-hosted, linux, x64]"), Some(Severity::Error));
        assert_eq!(sev("blacksmith-4vcpu-ubuntu-2404"), Some(Severity::Error));
        assert_eq!(sev("my-big-runner"), Some(Severity::Warning));
        assert_eq!(sev("{group: large}"), Some(Severity::Warning));
        assert_eq!(sev("${{ matrix.os }}"), None);
    }

    #[test]
    fn permission_values() {
        assert!(grants_id_token(&y("write-all")));
        assert!(!grants_id_token(&y("read-all")));
        assert!(grants_id_token(&y("{id-token: write}")));
        assert!(!grants_id_token(&y("{id-token: read, contents: write}")));
        assert_eq!(
            permissions_snippet(Some(&y("{contents: write, id-token: read}"))),
            "permissions:\n  contents: write\n  id-token: write"
        );
        assert_eq!(
            permissions_snippet(None),
            "permissions:\n  contents: read\n  id-token: write"
        );
    }

    #[test]
    fn a_job_granting_id_token_is_read_from_its_workflow_file() {
        let dir = tempfile::tempdir().unwrap();
        let wf = dir.path().join(".github/workflows");
        std::fs::create_dir_all(&wf).unwrap();
        std::fs::write(
            wf.join("job.yml"),
            "on: push\njobs:\n  a:\n    permissions: {id-token: write}\n  b:\n    permissions: {contents: read}\n  c:\n    runs-on: x\n",
        )
        .unwrap();
        std::fs::write(
            wf.join("top.yml"),
            "on: push\npermissions: write-all\njobs:\n  a:\n    runs-on: x\n",
        )
        .unwrap();
        let grants = |file: &str, job: &str| job_grants_id_token(dir.path(), file, job);
        assert_eq!(grants(".github/workflows/job.yml", "a"), Some(true));
        assert_eq!(grants(".github/workflows/job.yml", "b"), Some(false));
        assert_eq!(grants(".github/workflows/job.yml", "c"), Some(false));
        assert_eq!(grants(".github/workflows/top.yml", "a"), Some(true));
        // Not in the file (a reusable workflow's job), no file, outside the root.
        assert_eq!(grants(".github/workflows/job.yml", "callee"), None);
        assert_eq!(grants(".github/workflows/none.yml", "a"), None);
        assert_eq!(grants("../job.yml", "a"), None);
    }
}
