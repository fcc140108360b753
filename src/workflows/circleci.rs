//! CircleCI: `.circleci/config.yml`, kept simpler than the others: jobs,
//! their `run` steps (and reusable `commands:` one level deep), the Docker
//! image (directly or through `executors:`), and the `node/install` orb step.
//!
//! Checks for each job that publishes the package (severity in brackets):
//!
//! * `circleci-id-token` [error]: no step before the publish puts
//!   `circleci run oidc get --claims '{"aud":"npm:<registry host>"}'` into
//!   `NPM_ID_TOKEN`; or the audience is another one; or `NPM_ID_TOKEN` is
//!   taken from `CIRCLE_OIDC_TOKEN`, whose audience is the organization ID.
//! * `circleci-provenance` [error]: `--provenance`, which npm cannot do on CircleCI.
//! * `circleci-ids` [info]: the IDs npmjs.com asks for that only CircleCI shows.
//! * `npm-too-old` / `node-too-old` / `node-version-unknown`, `token-fallback`,
//!   `publisher-no-oidc`: as for the other providers.

use std::path::{Path, PathBuf};

use yaml_rust2::Yaml;

use super::node::{self, NodeSource};
use super::repo::{normalize, Repo};
use super::shell::{self, Event, PublishCmd};
use super::yaml::{entries, get, get_str, scalar};
use super::{label, Finding, Found, Provider, PublishJob, PublisherValues};

const CONFIG: &str = ".circleci/config.yml";

/// A `run` step: its command and directory.
struct Run {
    command: String,
    cwd: Option<PathBuf>,
}

pub(super) fn analyze(repo: &Repo, found: &mut Found, problems: &mut Vec<Finding>) {
    let file = Path::new(CONFIG);
    let Some(doc) = repo.load_ci_mapping(file, problems) else {
        return;
    };
    let Some(jobs) = get(&doc, "jobs") else {
        return;
    };
    for (name, job) in entries(jobs) {
        let mut runs = Vec::new();
        let mut node_install = None;
        if let Some(Yaml::Array(steps)) = get(job, "steps") {
            for s in steps {
                collect_step(&doc, s, &mut runs, &mut node_install, 0);
            }
        }
        // Every event with the index of its run step.
        let mut events: Vec<(usize, Event)> = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            for e in shell::scan(repo, &r.command, r.cwd.clone()) {
                events.push((i, e));
            }
        }
        let mut site = None;
        for (i, (_, e)) in events.iter().enumerate() {
            if let Event::Opaque { command } = e {
                found.opaque.push((label(file, name), command.clone()));
            }
            if let Event::Publish(p) = e {
                if !repo.is_this_package(&p.target) {
                    found
                        .other_packages
                        .push((label(file, name), p.command.clone()));
                } else if site.is_none() {
                    site = Some((i, p.clone()));
                }
            }
        }
        let Some((at, cmd)) = site else { continue };
        let publish_step = events[at].0;
        let before: Vec<&Event> = events[..at].iter().map(|(_, e)| e).collect();
        let node = node_source(&doc, job, node_install);
        found.jobs.push(publish_job(
            repo,
            file,
            name,
            &runs[..=publish_step],
            &before,
            &node,
            cmd,
        ));
    }
}

/// `run` steps in order; `commands:` are expanded one level.
fn collect_step(
    doc: &Yaml,
    step: &Yaml,
    runs: &mut Vec<Run>,
    node_install: &mut Option<String>,
    depth: usize,
) {
    let (name, body) = match step {
        Yaml::String(s) => (s.clone(), None),
        Yaml::Hash(_) => match entries(step).into_iter().next() {
            Some((k, v)) => (k.to_string(), Some(v)),
            None => return,
        },
        _ => return,
    };
    match (name.as_str(), body) {
        ("run", Some(b)) => {
            let (command, wd) = match b {
                Yaml::Hash(_) => (get_str(b, "command"), get_str(b, "working_directory")),
                other => (scalar(other), None),
            };
            if let Some(command) = command {
                let cwd = match wd {
                    None => Some(PathBuf::new()),
                    Some(d) => normalize(Path::new(&d)),
                };
                runs.push(Run { command, cwd });
            }
        }
        ("node/install", b) => {
            *node_install = Some(
                b.and_then(|b| get_str(b, "node-version"))
                    .unwrap_or_else(|| "lts".into()),
            );
        }
        (n, _) if depth == 0 => {
            let steps = get(doc, "commands")
                .and_then(|c| get(c, n))
                .and_then(|c| get(c, "steps"));
            if let Some(Yaml::Array(steps)) = steps {
                for s in steps {
                    collect_step(doc, s, runs, node_install, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The job's Docker image, directly or through its executor.
fn node_source(doc: &Yaml, job: &Yaml, node_install: Option<String>) -> NodeSource {
    if let Some(v) = node_install {
        return NodeSource::Known(vec![(
            node::parse_spec(&v),
            format!("node/install with node-version: {v}"),
        )]);
    }
    let executor = get(job, "executor").and_then(|e| match e {
        Yaml::Hash(_) => get_str(e, "name"),
        other => scalar(other),
    });
    let holder = match &executor {
        Some(name) => get(doc, "executors").and_then(|x| get(x, name)),
        None => Some(job),
    };
    let image = holder
        .and_then(|h| get(h, "docker"))
        .and_then(|d| d.as_vec()?.first().cloned())
        .and_then(|d| get_str(&d, "image"));
    match image {
        Some(img) => match node::parse_image(&img) {
            Some(spec) => NodeSource::Known(vec![(spec, format!("docker image {img}"))]),
            None => NodeSource::Unknown(format!("the image {img}")),
        },
        None => NodeSource::Unknown(match executor {
            Some(e) => format!("the executor {e}"),
            None => "the job's machine image".into(),
        }),
    }
}

/// `"aud":"…"` in a `--claims` JSON, however it is quoted.
fn claimed_audience(text: &str) -> Option<String> {
    let t = text.replace('\\', "");
    let i = t.find("\"aud\"")?;
    let rest = t[i + 5..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

fn publish_job(
    repo: &Repo,
    file: &Path,
    name: &str,
    runs: &[Run],
    before: &[&Event],
    node: &NodeSource,
    cmd: PublishCmd,
) -> PublishJob {
    let where_ = label(file, name);
    let expected = repo.audience();
    let mut findings = Vec::new();
    let snippet = format!(
        "- run:\n    name: Get an OIDC token for npm\n    command: echo \"export \
         NPM_ID_TOKEN=$(circleci run oidc get --claims '{{\"aud\":\"{expected}\"}}')\" >> \"$BASH_ENV\""
    );

    // NPM_ID_TOKEN from `circleci run oidc get`.
    let mut ok = false;
    let mut problem = None;
    for r in runs {
        let c = &r.command;
        if !c.contains("NPM_ID_TOKEN") {
            continue;
        }
        if c.contains("circleci run oidc get") {
            match claimed_audience(c) {
                Some(a) if a == expected => ok = true,
                Some(a) => {
                    problem = Some(format!(
                        "{where_} asks `circleci run oidc get` for a token with the audience \
                         \"{a}\", but the registry only accepts \"{expected}\""
                    ))
                }
                None => {
                    problem = Some(format!(
                        "{where_} runs `circleci run oidc get` without `--claims` naming the \
                         audience \"{expected}\"; the default audience is the organization ID, \
                         which the registry rejects"
                    ))
                }
            }
        } else if c.contains("CIRCLE_OIDC_TOKEN") {
            problem = Some(format!(
                "{where_} sets NPM_ID_TOKEN from CIRCLE_OIDC_TOKEN, whose audience is the \
                 CircleCI organization ID; the registry only accepts tokens for \"{expected}\""
            ));
        }
    }
    if !ok {
        let message = problem.unwrap_or_else(|| {
            format!(
                "{where_} never puts an OIDC token into NPM_ID_TOKEN. On CircleCI, npm does not \
                 fetch a token itself: a step before the publish must run \
                 `circleci run oidc get --claims '{{\"aud\":\"{expected}\"}}'` and export the \
                 result as NPM_ID_TOKEN"
            )
        });
        findings.push(
            Finding::error("circleci-id-token", message).with_fix(format!(
                "add this step before the publish in {}:\n\n{snippet}",
                crate::workflows::shown(file)
            )),
        );
    }

    if cmd.provenance {
        findings.push(
            Finding::error(
                "circleci-provenance",
                format!(
                    "{where_} publishes with {}, but npm cannot make provenance on CircleCI and \
                     stops with an error",
                    cmd.describe()
                ),
            )
            .with_fix("remove --provenance from the publish command"),
        );
    }

    let fixes = node::Fixes {
        node: format!("{name}:\n  docker:\n    - image: cimg/node:24.11"),
        upgrade: "- run: sudo npm install -g npm@latest".into(),
    };
    findings.extend(node::script_npm_findings(
        &where_, &cmd, node, before, repo, &fixes,
    ));
    findings.extend(super::publisher_findings(&where_, &cmd));
    findings.extend(super::target_findings(repo, &where_, &cmd));
    let writes = shell::token_writes(before);
    findings.extend(super::token_findings(&where_, &cmd, &[], &writes));

    findings.push(Finding::info(
        "circleci-ids",
        format!(
            "for {where_}, npmjs.com also asks for the CircleCI organization ID, project ID and \
             pipeline definition ID; they are in CircleCI's organization and project settings"
        ),
    ));

    let vcs_origin = repo.remote().map(|r| format!("{}/{}", r.host, r.path));
    PublishJob {
        provider: Provider::CircleCi,
        file: file.to_path_buf(),
        job: name.to_string(),
        called_from: Vec::new(),
        publishes_with: cmd.publisher.clone(),
        command: cmd.command.clone(),
        publisher_values: PublisherValues::CircleCi { vcs_origin },
        environment_expression: None,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_in_claims() {
        assert_eq!(
            claimed_audience(r#"--claims '{"aud":"npm:registry.npmjs.org"}'"#).as_deref(),
            Some("npm:registry.npmjs.org")
        );
        assert_eq!(
            claimed_audience(r#"--claims "{\"aud\": \"npm:x\"}""#).as_deref(),
            Some("npm:x")
        );
        assert_eq!(claimed_audience("circleci run oidc get"), None);
    }
}
