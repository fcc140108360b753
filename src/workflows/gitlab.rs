//! GitLab CI: `.gitlab-ci.yml` with its local `include:` files, YAML merge
//! keys, `extends:` (recursively), `default:` and the old top-level
//! defaults (`image`, `before_script`, …), and `inherit: default`.
//!
//! Checks for each job that publishes the package (severity in brackets):
//!
//! * `gitlab-id-token` [error]: `id_tokens: NPM_ID_TOKEN: aud:
//!   npm:<registry host>` is missing, has another audience, or the token
//!   with the npm audience has another name (npm reads `NPM_ID_TOKEN` only,
//!   unless job variables map `NPM_ID_TOKEN: $OTHER`).
//! * `gitlab-sigstore` [info]: no `SIGSTORE_ID_TOKEN`, so npm publishes
//!   without provenance; [error] when the command asks for `--provenance`;
//!   [warning] when its `aud` is not `sigstore`.
//! * `npm-too-old` / `node-too-old` / `node-version-unknown`: see `node.rs`,
//!   from the job's `image:`.
//! * `self-hosted-runner` [warning]: `tags:` that are not GitLab.com's
//!   hosted runners (`saas-…`).
//! * `gitlab-self-managed` [warning]: the `origin` remote is a GitLab other
//!   than gitlab.com.
//! * `token-fallback` [warning]: the script writes `_authToken` to an .npmrc.
//! * `environment` [info], `publisher-no-oidc` [error] as for GitHub.

use std::path::{Path, PathBuf};

use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

use super::node::{self, NodeSource};
use super::repo::{normalize, Repo};
use super::shell::{self, Event, PublishCmd};
use super::yaml::{deep_merge, entries, get, get_str, scalar, strings};
use super::{label, Finding, Found, Provider, PublishJob, Publisher, PublisherValues};

const CI_FILE: &str = ".gitlab-ci.yml";
const MAX_INCLUDE_DEPTH: usize = 3;
const MAX_EXTENDS_DEPTH: usize = 11;
/// The most YAML nodes `extends:` merging may produce in one run.
const MAX_EXTENDS_WORK: u64 = 1_000_000;

/// Top-level keys that are not jobs.
#[rustfmt::skip]
const RESERVED: &[&str] = &[
    "default", "include", "stages", "variables", "workflow", "image", "services", "cache",
    "before_script", "after_script", "types", "spec",
];

/// Keys a job takes from `default:` when it does not set them.
#[rustfmt::skip]
const DEFAULT_KEYS: &[&str] = &[
    "after_script", "artifacts", "before_script", "cache", "hooks", "id_tokens", "image",
    "interruptible", "retry", "services", "tags", "timeout",
];

/// Old top-level keywords that work like `default:`.
#[rustfmt::skip]
const GLOBAL_DEFAULTS: &[&str] = &[
    "image", "services", "cache", "before_script", "after_script",
];

pub(super) fn analyze(repo: &Repo, found: &mut Found, problems: &mut Vec<Finding>) {
    let main = Path::new(CI_FILE);
    let Some(doc) = repo.load_ci_mapping(main, problems) else {
        return;
    };
    // Which file defines each top-level key (for messages).
    let mut origin: Vec<(String, PathBuf)> = Vec::new();
    let doc = with_includes(repo, main, doc, &mut origin, problems, 0);

    let work = std::cell::Cell::new(0u64);
    for (name, job) in entries(&doc) {
        if RESERVED.contains(&name) || name.starts_with('.') || job.as_hash().is_none() {
            continue;
        }
        let job = resolve(&doc, job, 0, &work);
        if work.get() > MAX_EXTENDS_WORK {
            problems.push(
                Finding::error(
                    "yaml-too-large",
                    format!(
                        "{CI_FILE} is not fully checked: its `extends:` expand to more than {MAX_EXTENDS_WORK} YAML nodes, more than trustpub reads"
                    ),
                )
                .with_fix("extend fewer jobs from each job (GitLab merges every job named in `extends:`)"),
            );
            return;
        }
        let file = origin
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| main.to_path_buf());
        let mut script = get(&job, "before_script").map(strings).unwrap_or_default();
        script.extend(get(&job, "script").map(strings).unwrap_or_default());
        let events = shell::scan(repo, &script.join("\n"), Some(PathBuf::new()));
        let mut site = None;
        for (i, e) in events.iter().enumerate() {
            if let Event::Opaque { command } = e {
                found.opaque.push((label(&file, name), command.clone()));
            }
            if let Event::Publish(p) = e {
                if repo.is_this_package(&p.target) {
                    if site.is_none() {
                        site = Some((i, p.clone()));
                    }
                } else {
                    found
                        .other_packages
                        .push((label(&file, name), p.command.clone()));
                }
            }
        }
        if let Some((at, cmd)) = site {
            found.jobs.push(publish_job(
                repo,
                &doc,
                &file,
                name,
                &job,
                &events[..at],
                cmd,
            ));
        }
    }
}

/// Merges local `include:` files under the main file (the main file wins).
fn with_includes(
    repo: &Repo,
    file: &Path,
    doc: Yaml,
    origin: &mut Vec<(String, PathBuf)>,
    problems: &mut Vec<Finding>,
    depth: usize,
) -> Yaml {
    let items: Vec<Yaml> = match get(&doc, "include") {
        Some(Yaml::Array(a)) => a.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    };
    let mut base = Yaml::Hash(Hash::new());
    for item in items {
        let local = match &item {
            Yaml::String(s) if !s.contains("://") => Some(s.clone()),
            Yaml::Hash(_) => get_str(&item, "local"),
            _ => None,
        };
        let Some(local) = local.filter(|l| !l.contains('*') && !l.contains('$')) else {
            let what = scalar(&item).unwrap_or_else(|| {
                entries(&item)
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {}", scalar(v).unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            problems.push(Finding::info(
                "gitlab-include-not-read",
                format!(
                    "{} includes `{what}`, which doctor does not read; jobs defined there are \
                     not checked",
                    crate::workflows::shown(file)
                ),
            ));
            continue;
        };
        let Some(rel) = normalize(Path::new(local.trim_start_matches('/'))) else {
            continue;
        };
        if depth >= MAX_INCLUDE_DEPTH {
            continue;
        }
        match repo.load_ci_file(&rel) {
            Ok(Some(inc)) if inc.as_hash().is_some() => {
                let inc = with_includes(repo, &rel, inc, origin, problems, depth + 1);
                for (k, _) in entries(&inc) {
                    origin.push((k.to_string(), rel.clone()));
                }
                base = deep_merge(&base, &inc);
            }
            Ok(Some(_)) => {}
            Ok(None) => problems.push(Finding::warning(
                "gitlab-include-missing",
                format!(
                    "{} includes {}, which does not exist; GitLab will reject the pipeline",
                    crate::workflows::shown(file),
                    crate::workflows::shown(&rel)
                ),
            )),
            Err(f) if f.code == "yaml-too-large" => {
                // Past the limit on CI bytes: the rest is not read either.
                problems.push(f);
                break;
            }
            Err(f) => problems.push(f),
        }
    }
    let mut own = doc;
    if let Yaml::Hash(h) = &mut own {
        h.remove(&Yaml::String("include".into()));
        for (k, _) in h.iter() {
            if let Some(k) = k.as_str() {
                origin.push((k.to_string(), file.to_path_buf()));
            }
        }
    }
    deep_merge(&base, &own)
}

/// A job with `extends:` merged in and the defaults it inherits. `work`
/// counts the nodes merged so far; past [`MAX_EXTENDS_WORK`] nothing more
/// is merged (jobs that each extend many others would take exponential
/// time and memory), and the caller reports it.
fn resolve(doc: &Yaml, job: &Yaml, depth: usize, work: &std::cell::Cell<u64>) -> Yaml {
    if work.get() > MAX_EXTENDS_WORK {
        return Yaml::Null;
    }
    let mut merged = job.clone();
    if let Some(ext) = get(job, "extends") {
        if depth < MAX_EXTENDS_DEPTH {
            let mut base = Yaml::Hash(Hash::new());
            for name in strings(ext) {
                if let Some(parent) = get(doc, &name) {
                    let parent = resolve(doc, parent, depth + 1, work);
                    if work.get() > MAX_EXTENDS_WORK {
                        return Yaml::Null;
                    }
                    base = deep_merge(&base, &parent);
                }
            }
            merged = deep_merge(&base, job);
            work.set(work.get().saturating_add(nodes(&merged)));
        }
    }
    if depth > 0 {
        return merged;
    }
    let inherit = get(&merged, "inherit")
        .and_then(|i| get(i, "default"))
        .cloned();
    let inherits = |key: &str| match &inherit {
        Some(Yaml::Boolean(false)) => false,
        Some(Yaml::Array(a)) => a.iter().any(|k| k.as_str() == Some(key)),
        _ => true,
    };
    if let Yaml::Hash(h) = &mut merged {
        for key in DEFAULT_KEYS {
            if h.contains_key(&Yaml::String((*key).into())) || !inherits(key) {
                continue;
            }
            let from_default = get(doc, "default").and_then(|d| get(d, key));
            let from_global = GLOBAL_DEFAULTS
                .contains(key)
                .then(|| get(doc, key))
                .flatten();
            if let Some(v) = from_default.or(from_global) {
                h.insert(Yaml::String((*key).into()), v.clone());
            }
        }
    }
    merged
}

/// The number of nodes in a YAML tree.
fn nodes(y: &Yaml) -> u64 {
    match y {
        Yaml::Hash(h) => 1 + h.iter().map(|(k, v)| nodes(k) + nodes(v)).sum::<u64>(),
        Yaml::Array(a) => 1 + a.iter().map(nodes).sum::<u64>(),
        _ => 1,
    }
}

/// `aud:` as a list (a string or a list of strings).
fn audiences(token: &Yaml) -> Vec<String> {
    get(token, "aud").map(strings).unwrap_or_default()
}

fn publish_job(
    repo: &Repo,
    doc: &Yaml,
    file: &Path,
    name: &str,
    job: &Yaml,
    before: &[Event],
    cmd: PublishCmd,
) -> PublishJob {
    let where_ = label(file, name);
    let mut findings = Vec::new();
    let expected = repo.audience();
    let snippet = format!(
        "{name}:\n  id_tokens:\n    NPM_ID_TOKEN:\n      aud: \"{expected}\"\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore"
    );
    let id_tokens = get(job, "id_tokens");
    let token = |n: &str| id_tokens.and_then(|t| get(t, n));

    // NPM_ID_TOKEN.
    match token("NPM_ID_TOKEN") {
        Some(t) if audiences(t).contains(&expected) => {}
        Some(t) => {
            let auds = audiences(t);
            let got = if auds.is_empty() {
                "no `aud`".to_string()
            } else {
                format!("aud \"{}\"", auds.join("\", \""))
            };
            findings.push(
                Finding::error(
                    "gitlab-id-token",
                    format!(
                        "{where_}: the id token NPM_ID_TOKEN has {got}, but the registry only \
                         accepts tokens for the audience \"{expected}\""
                    ),
                )
                .with_fix(format!(
                    "set the audience in {}:\n\n{snippet}",
                    crate::workflows::shown(file)
                )),
            );
        }
        None => {
            let other: Vec<&str> = id_tokens
                .map(entries)
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, t)| audiences(t).contains(&expected))
                .map(|(k, _)| k)
                .collect();
            let mapped = get(job, "variables")
                .and_then(|v| get_str(v, "NPM_ID_TOKEN"))
                .or_else(|| get(doc, "variables").and_then(|v| get_str(v, "NPM_ID_TOKEN")))
                .map(|v| {
                    v.trim_start_matches('$')
                        .trim_matches(['{', '}'])
                        .to_string()
                });
            let mapped_ok = mapped.as_deref().is_some_and(|m| other.contains(&m));
            if !mapped_ok {
                let message = match other.first() {
                    Some(o) => format!(
                        "{where_} has an id token for \"{expected}\" named {o}, but npm reads the \
                         token from NPM_ID_TOKEN only"
                    ),
                    None => format!(
                        "{where_} has no `id_tokens: NPM_ID_TOKEN` entry, so the job gets no OIDC \
                         token for the registry and trusted publishing cannot happen. \
                         `id_tokens` is a job keyword (or one under `default:`), not a global one"
                    ),
                };
                findings.push(Finding::error("gitlab-id-token", message).with_fix(format!(
                    "add to the job in {}:\n\n{snippet}",
                    crate::workflows::shown(file)
                )));
            }
        }
    }

    // SIGSTORE_ID_TOKEN, for provenance.
    let makes_provenance = matches!(
        cmd.publisher,
        Publisher::Npm | Publisher::Trustpub | Publisher::Pnpm
    );
    match token("SIGSTORE_ID_TOKEN") {
        Some(t) if !audiences(t).iter().any(|a| a == "sigstore") => findings.push(
            Finding::warning(
                "gitlab-sigstore",
                format!(
                    "{where_}: SIGSTORE_ID_TOKEN has aud \"{}\", but Sigstore only accepts \
                     \"sigstore\", so provenance cannot be signed",
                    audiences(t).join("\", \"")
                ),
            )
            .with_fix(format!(
                "set the audience in {}:\n\n{snippet}",
                crate::workflows::shown(file)
            )),
        ),
        Some(_) => {}
        None if cmd.provenance => findings.push(
            Finding::error(
                "gitlab-sigstore",
                format!(
                    "{where_} publishes with {}, but has no SIGSTORE_ID_TOKEN; on GitLab npm \
                     cannot sign provenance without it and the publish fails",
                    cmd.describe()
                ),
            )
            .with_fix(format!(
                "add to the job in {}:\n\n{snippet}",
                crate::workflows::shown(file)
            )),
        ),
        None if makes_provenance => findings.push(
            Finding::info(
                "gitlab-sigstore",
                format!(
                    "{where_} has no SIGSTORE_ID_TOKEN, so the package is published without \
                     provenance (on GitLab, provenance needs that second id token)"
                ),
            )
            .with_fix(format!("to publish with provenance, add:\n\n{snippet}")),
        ),
        None => {}
    }

    // Node and npm, from the image.
    let image = get(job, "image").and_then(|i| match i {
        Yaml::Hash(_) => get_str(i, "name"),
        other => scalar(other),
    });
    let node = match &image {
        Some(img) => match node::parse_image(img) {
            Some(spec) => NodeSource::Known(vec![(spec, format!("image: {img}"))]),
            None => NodeSource::Unknown(format!("the image {img}")),
        },
        None => NodeSource::Unknown("the runner's default image".into()),
    };
    let fixes = node::Fixes {
        node: format!("{name}:\n  image: node:24"),
        upgrade: format!("{name}:\n  before_script:\n    - npm install -g npm@latest"),
    };
    findings.extend(node::script_npm_findings(
        &where_, &cmd, &node, before, repo, &fixes,
    ));
    findings.extend(super::publisher_findings(&where_, &cmd));
    findings.extend(super::target_findings(repo, &where_, &cmd));

    // Runners and the GitLab instance.
    let tags = get(job, "tags").map(strings).unwrap_or_default();
    if !tags.is_empty() && !tags.iter().all(|t| t.starts_with("saas-")) {
        findings.push(Finding::warning(
            "self-hosted-runner",
            format!(
                "{where_} asks for runners tagged {}. npm accepts OIDC tokens from GitLab.com's \
                 hosted runners; on a self-managed runner trusted publishing is not supported",
                tags.join(", ")
            ),
        ));
    }
    if let Some(r) = repo.remote() {
        if r.host != "gitlab.com" && r.host.contains("gitlab") {
            findings.push(Finding::warning(
                "gitlab-self-managed",
                format!(
                    "the git remote \"origin\" is on {}, a self-managed GitLab. npm accepts OIDC \
                     tokens only from gitlab.com, so {where_} cannot use trusted publishing",
                    r.host
                ),
            ));
        }
    }

    let writes = shell::token_writes(before);
    findings.extend(super::token_findings(&where_, &cmd, &[], &writes));

    let environment = get(job, "environment").and_then(|e| match e {
        Yaml::Hash(_) => get_str(e, "name"),
        other => scalar(other),
    });
    if let Some(env) = &environment {
        findings.push(Finding::info(
            "environment",
            format!(
                "{where_} deploys to the GitLab environment \"{env}\". On npmjs.com you can \
                 enter {env} as the environment (exactly) so that only it may publish, or leave \
                 the field empty"
            ),
        ));
    }

    let (namespace, project) = repo.gitlab_repo();
    PublishJob {
        provider: Provider::GitLab,
        file: file.to_path_buf(),
        job: name.to_string(),
        called_from: Vec::new(),
        publishes_with: cmd.publisher.clone(),
        command: cmd.command.clone(),
        publisher_values: PublisherValues::GitLab {
            namespace,
            project,
            ci_file: CI_FILE.to_string(),
            environment: environment.clone().filter(|e| !e.contains('$')),
        },
        environment_expression: environment.filter(|e| e.contains('$')),
        findings,
    }
}
