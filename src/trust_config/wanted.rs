//! What configuration a package needs: the jobs that publish it in the
//! repository's CI files (the same reading `doctor` makes,
//! [`crate::workflows::analyze`]), with the command line's values on top.
//!
//! * A job's values fill the configuration: GitHub owner/repository (from
//!   the `origin` remote or package.json `repository`), the workflow file
//!   that starts the run, the job's environment; GitLab's project path,
//!   top-level CI file and environment; CircleCI's VCS origin (its three
//!   UUIDs only CircleCI's settings show: `--org-id`, `--project-id`,
//!   `--pipeline-definition-id`).
//! * The permissions follow what the jobs run: staged publishing
//!   (`npm stage publish`, `trustpub publish --stage`) → stage publish; a
//!   publish → publish; both when jobs do both. `--allow-publish` and
//!   `--allow-stage-publish` set them instead.
//! * `--provider`, `--repository`, `--file`, `--environment` /
//!   `--no-environment` and CircleCI's IDs win over what the files say;
//!   `--file` also chooses among several publishing jobs.
//! * Several jobs publishing one package with different values cannot all
//!   be configured (the registry holds one per package): the package is
//!   left undecided with the jobs named, never guessed.
//!
//! The values are checked as npm checks them (`lib/trust-cmd.js`,
//! `lib/commands/trust/*.js`): a workflow file is a bare `*.yml`/`*.yaml`
//! name, a GitHub repository is `owner/repo`, a GitLab project has a group,
//! CircleCI IDs are UUIDs and its VCS origin has no scheme.

use super::{Permissions, Publisher, Wanted};
use crate::cli::{ProviderArg, TrustWantedArgs};
use crate::workflows::{self, Analysis, PublishJob};

/// What a package should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// This configuration; `from` says where it was read.
    Config { wanted: Wanted, from: String },
    /// `--provider none`: no configuration at all.
    Nothing,
    /// It cannot be said: why, and what to pass to say it.
    Unknown { reason: String, fix: String },
}

/// A publisher with the fields the files could not give left open.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Partial {
    GitHub {
        repository: Option<String>,
        file: Option<String>,
        environment: Option<String>,
    },
    GitLab {
        project: Option<String>,
        file: Option<String>,
        environment: Option<String>,
    },
    CircleCi {
        org_id: Option<String>,
        project_id: Option<String>,
        pipeline_definition_id: Option<String>,
        vcs_origin: Option<String>,
        context_ids: Vec<String>,
    },
}

impl Partial {
    fn provider(&self) -> ProviderArg {
        match self {
            Partial::GitHub { .. } => ProviderArg::Github,
            Partial::GitLab { .. } => ProviderArg::Gitlab,
            Partial::CircleCi { .. } => ProviderArg::Circleci,
        }
    }

    fn file(&self) -> Option<&str> {
        match self {
            Partial::GitHub { file, .. } | Partial::GitLab { file, .. } => file.as_deref(),
            Partial::CircleCi { .. } => None,
        }
    }

    fn empty(p: ProviderArg) -> Option<Partial> {
        Some(match p {
            ProviderArg::Github => Partial::GitHub {
                repository: None,
                file: None,
                environment: None,
            },
            ProviderArg::Gitlab => Partial::GitLab {
                project: None,
                file: None,
                environment: None,
            },
            ProviderArg::Circleci => Partial::CircleCi {
                org_id: None,
                project_id: None,
                pipeline_definition_id: None,
                vcs_origin: None,
                context_ids: Vec::new(),
            },
            ProviderArg::None => return None,
        })
    }

    fn from_job(job: &PublishJob) -> Partial {
        match &job.publisher_values {
            workflows::PublisherValues::GitHub {
                owner,
                repository,
                workflow_file,
                environment,
            } => Partial::GitHub {
                repository: owner
                    .as_ref()
                    .zip(repository.as_ref())
                    .map(|(o, r)| format!("{o}/{r}")),
                file: workflow_file.clone(),
                environment: environment.clone(),
            },
            workflows::PublisherValues::GitLab {
                namespace,
                project,
                ci_file,
                environment,
            } => Partial::GitLab {
                project: namespace
                    .as_ref()
                    .zip(project.as_ref())
                    .map(|(n, p)| format!("{n}/{p}")),
                file: Some(ci_file.clone()),
                environment: environment.clone(),
            },
            workflows::PublisherValues::CircleCi { vcs_origin } => Partial::CircleCi {
                org_id: None,
                project_id: None,
                pipeline_definition_id: None,
                vcs_origin: vcs_origin.clone(),
                context_ids: Vec::new(),
            },
        }
    }

    /// The command line's values on top.
    fn with_flags(mut self, f: &TrustWantedArgs) -> Partial {
        let env = |e: &mut Option<String>| {
            if f.no_environment {
                *e = None;
            } else if let Some(v) = &f.environment {
                *e = Some(v.clone());
            }
        };
        match &mut self {
            Partial::GitHub {
                repository,
                file,
                environment,
            }
            | Partial::GitLab {
                project: repository,
                file,
                environment,
            } => {
                if let Some(r) = &f.repository {
                    *repository = Some(r.clone());
                }
                if let Some(v) = &f.file {
                    *file = Some(v.clone());
                }
                env(environment);
            }
            Partial::CircleCi {
                org_id,
                project_id,
                pipeline_definition_id,
                vcs_origin,
                context_ids,
            } => {
                let set = |slot: &mut Option<String>, v: &Option<String>| {
                    if let Some(v) = v {
                        *slot = Some(v.clone());
                    }
                };
                set(org_id, &f.org_id);
                set(project_id, &f.project_id);
                set(pipeline_definition_id, &f.pipeline_definition_id);
                set(vcs_origin, &f.vcs_origin);
                if !f.context_id.is_empty() {
                    *context_ids = f.context_id.clone();
                }
            }
        }
        self
    }

    /// The complete publisher, or the first missing value and its flag.
    fn complete(self) -> Result<Publisher, (&'static str, &'static str)> {
        match self {
            Partial::GitHub {
                repository,
                file,
                environment,
            } => Ok(Publisher::GitHub {
                repository: repository
                    .ok_or(("the repository (owner/repo)", "--repository OWNER/REPO"))?,
                file: file.ok_or(("the workflow file", "--file WORKFLOW.yml"))?,
                environment,
            }),
            Partial::GitLab {
                project,
                file,
                environment,
            } => Ok(Publisher::GitLab {
                project: project.ok_or((
                    "the project path (group/project)",
                    "--repository GROUP/PROJECT",
                ))?,
                file: file.ok_or(("the top-level CI file", "--file .gitlab-ci.yml"))?,
                environment,
            }),
            Partial::CircleCi {
                org_id,
                project_id,
                pipeline_definition_id,
                vcs_origin,
                context_ids,
            } => Ok(Publisher::CircleCi {
                org_id: org_id.ok_or((
                    "CircleCI's organization ID (its organization settings show it)",
                    "--org-id UUID",
                ))?,
                project_id: project_id.ok_or((
                    "CircleCI's project ID (its project settings show it)",
                    "--project-id UUID",
                ))?,
                pipeline_definition_id: pipeline_definition_id.ok_or((
                    "CircleCI's pipeline definition ID (project settings, pipelines)",
                    "--pipeline-definition-id UUID",
                ))?,
                vcs_origin: vcs_origin.ok_or((
                    "the VCS origin (github.com/owner/repo)",
                    "--vcs-origin HOST/OWNER/REPO",
                ))?,
                context_ids,
            }),
        }
    }
}

/// Whether a publish command stages (`npm stage publish`, `pnpm stage
/// publish`, `trustpub publish --stage`).
pub fn stages(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.windows(2).any(|w| w == ["stage", "publish"])
        || (words.contains(&"publish") && words.contains(&"--stage"))
}

/// The command line's values, checked as npm checks them; `Err` is the
/// usage error (exit 2), found before anything is read.
pub fn check_flags(f: &TrustWantedArgs) -> Result<(), String> {
    let circle = f.org_id.is_some()
        || f.project_id.is_some()
        || f.pipeline_definition_id.is_some()
        || f.vcs_origin.is_some()
        || !f.context_id.is_empty();
    if f.provider == Some(ProviderArg::None) {
        let any = f.repository.is_some()
            || f.file.is_some()
            || f.environment.is_some()
            || f.no_environment
            || f.allow_publish
            || f.allow_stage_publish
            || circle;
        if any {
            return Err(
                "--provider none revokes the configuration; it takes no other configuration option"
                    .into(),
            );
        }
        return Ok(());
    }
    if circle && matches!(f.provider, Some(ProviderArg::Github | ProviderArg::Gitlab)) {
        return Err("--org-id, --project-id, --pipeline-definition-id, --vcs-origin and --context-id are CircleCI's; drop them or use --provider circleci".into());
    }
    if f.provider == Some(ProviderArg::Circleci)
        && (f.repository.is_some() || f.file.is_some() || f.environment.is_some())
    {
        return Err("CircleCI's configuration has no repository, file or environment: use --vcs-origin, --org-id, --project-id and --pipeline-definition-id".into());
    }
    if let Some(file) = &f.file {
        check_file(file).map_err(|e| format!("--file {file}: {e}"))?;
    }
    if let Some(r) = &f.repository {
        if f.provider != Some(ProviderArg::Gitlab) && r.split('/').count() < 2 {
            return Err(format!(
                "--repository {r}: must be owner/repository (GitHub) or group/project (GitLab)"
            ));
        }
    }
    for (flag, v) in [
        ("--org-id", &f.org_id),
        ("--project-id", &f.project_id),
        ("--pipeline-definition-id", &f.pipeline_definition_id),
    ] {
        if let Some(v) = v {
            if !is_uuid(v) {
                return Err(format!("{flag} {v}: must be a valid UUID"));
            }
        }
    }
    for v in &f.context_id {
        if !is_uuid(v) {
            return Err(format!("--context-id {v}: must be a valid UUID"));
        }
    }
    if let Some(v) = &f.vcs_origin {
        check_vcs_origin(v).map_err(|e| format!("--vcs-origin {v}: {e}"))?;
    }
    Ok(())
}

/// npm's file checks (GitHub's and GitLab's `validateFile`, and the
/// `.yml`/`.yaml` ending `flagsToOptions` asks of both).
fn check_file(file: &str) -> Result<(), &'static str> {
    if file.contains('/') || file.contains('\\') {
        return Err(
            "must be just a file name, not a path (release.yml, not .github/workflows/release.yml)",
        );
    }
    if !file.ends_with(".yml") && !file.ends_with(".yaml") {
        return Err("must end in .yml or .yaml");
    }
    Ok(())
}

fn check_vcs_origin(v: &str) -> Result<(), &'static str> {
    if v.contains("://") {
        return Err(
            "must not include a scheme (github.com/owner/repo, not https://github.com/owner/repo)",
        );
    }
    if v.split('/').count() < 3 {
        return Err("must be provider/owner/repo (github.com/owner/repo)");
    }
    Ok(())
}

/// npm's `validateUUID`.
pub fn is_uuid(v: &str) -> bool {
    let groups: Vec<&str> = v.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// npm's checks on a complete publisher (one the files gave, or the flags).
fn check(p: &Publisher) -> Result<(), String> {
    match p {
        Publisher::GitHub {
            repository, file, ..
        } => {
            if repository.split('/').count() != 2 {
                return Err(format!(
                    "the repository {repository} is not owner/repository"
                ));
            }
            check_file(file).map_err(|e| format!("the workflow file {file} {e}"))
        }
        Publisher::GitLab { project, file, .. } => {
            if project.split('/').count() < 2 {
                return Err(format!("the project {project} is not group/project"));
            }
            check_file(file).map_err(|e| format!("the CI file {file} {e}"))
        }
        Publisher::CircleCi {
            org_id,
            project_id,
            pipeline_definition_id,
            vcs_origin,
            context_ids,
        } => {
            for id in [org_id, project_id, pipeline_definition_id]
                .into_iter()
                .chain(context_ids)
            {
                if !is_uuid(id) {
                    return Err(format!("{id} is not a UUID"));
                }
            }
            check_vcs_origin(vcs_origin).map_err(|e| format!("the VCS origin {vcs_origin} {e}"))
        }
    }
}

/// The repository of the package, for the configuration the command line
/// names without `--repository` (as `npm trust` takes it from package.json).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// `owner/repo` on github.com.
    pub github: Option<String>,
    /// `group/project` on gitlab.com.
    pub gitlab: Option<String>,
}

/// What `name` (in `analysis`'s directory) should have.
pub fn want(name: &str, f: &TrustWantedArgs, analysis: &Analysis, origin: &Origin) -> Want {
    if f.provider == Some(ProviderArg::None) {
        return Want::Nothing;
    }
    let mut candidates: Vec<(Partial, bool, String)> = analysis
        .jobs
        .iter()
        .map(|j| (Partial::from_job(j), stages(&j.command), j.label()))
        .filter(|(p, _, _)| f.provider.is_none_or(|want| p.provider() == want))
        .filter(|(p, _, _)| f.file.is_none() || p.file().is_none() || p.file() == f.file.as_deref())
        .collect();
    if candidates.is_empty() {
        if let Some(mut p) = f.provider.and_then(Partial::empty) {
            match &mut p {
                Partial::GitHub { repository, .. } => repository.clone_from(&origin.github),
                Partial::GitLab { project, .. } => project.clone_from(&origin.gitlab),
                Partial::CircleCi { vcs_origin, .. } => {
                    *vcs_origin = origin.github.as_ref().map(|r| format!("github.com/{r}"))
                }
            }
            candidates.push((
                p,
                f.allow_stage_publish && !f.allow_publish,
                "the command line".into(),
            ));
        }
    }
    if candidates.is_empty() {
        let unknown = analysis
            .findings()
            .find(|x| x.severity == workflows::Severity::Unknown);
        let why = if let (true, Some(u)) = (analysis.jobs.is_empty(), unknown) {
            u.message.clone()
        } else if analysis.jobs.is_empty() {
            format!("no job in the CI files publishes {name}")
        } else {
            format!(
                "no job in the CI files publishes {name} with {}",
                match (&f.provider, &f.file) {
                    (Some(p), _) if f.file.is_none() => format!("provider {}", provider_word(*p)),
                    (_, Some(file)) => format!("the file {file}"),
                    _ => "these values".into(),
                }
            )
        };
        return Want::Unknown {
            reason: why,
            fix: "say which configuration it needs: --provider github --repository OWNER/REPO --file WORKFLOW.yml [--environment NAME]".into(),
        };
    }
    // Complete each, and merge the ones that are the same publisher.
    let mut found: Vec<(Publisher, Permissions, Vec<String>)> = Vec::new();
    for (partial, stage, label) in candidates {
        let publisher = match partial.with_flags(f).complete() {
            Ok(p) => p,
            Err((what, flag)) => {
                return Want::Unknown {
                    reason: format!("{what} for {name} is not known ({label})"),
                    fix: format!("give it: {flag}"),
                }
            }
        };
        let perm = Permissions {
            publish: !stage,
            stage,
        };
        match found.iter_mut().find(|(p, _, _)| *p == publisher) {
            Some((_, have, labels)) => {
                have.publish |= perm.publish;
                have.stage |= perm.stage;
                labels.push(label);
            }
            None => found.push((publisher, perm, vec![label])),
        }
    }
    if found.len() > 1 {
        let each: Vec<String> = found
            .iter()
            .map(|(p, _, labels)| format!("{} ({p})", labels.join(", ")))
            .collect();
        return Want::Unknown {
            reason: format!(
                "{} jobs publish {name} with different trusted publishers, and the registry holds one per package: {}",
                found.len(),
                each.join("; ")
            ),
            fix: "choose one: --file <its workflow file> (and --environment NAME or --no-environment)".into(),
        };
    }
    let Some((publisher, mut permissions, labels)) = found.pop() else {
        unreachable!("candidates is not empty");
    };
    if let Err(e) = check(&publisher) {
        return Want::Unknown {
            reason: format!("{e} ({})", labels.join(", ")),
            fix: "give the right value on the command line (--repository, --file)".into(),
        };
    }
    if f.allow_publish || f.allow_stage_publish {
        permissions = Permissions {
            publish: f.allow_publish,
            stage: f.allow_stage_publish,
        };
    }
    Want::Config {
        wanted: Wanted {
            publisher,
            permissions,
        },
        from: labels.join(", "),
    }
}

fn provider_word(p: ProviderArg) -> &'static str {
    match p {
        ProviderArg::Github => "github",
        ProviderArg::Gitlab => "gitlab",
        ProviderArg::Circleci => "circleci",
        ProviderArg::None => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::Provider;
    use crate::workflows::{Publisher as Tool, PublisherValues};
    use std::path::PathBuf;

    fn job(file: &str, env: Option<&str>, command: &str) -> PublishJob {
        PublishJob {
            provider: Provider::GitHubActions,
            file: PathBuf::from(format!(".github/workflows/{file}")),
            job: "publish".into(),
            called_from: vec![],
            publishes_with: Tool::Trustpub,
            command: command.into(),
            publisher_values: PublisherValues::GitHub {
                owner: Some("acme".into()),
                repository: Some("widgets".into()),
                workflow_file: Some(file.into()),
                environment: env.map(str::to_string),
            },
            findings: vec![],
        }
    }

    fn analysis(jobs: Vec<PublishJob>) -> Analysis {
        Analysis {
            files_read: vec![],
            jobs,
            problems: vec![],
        }
    }

    fn config(w: Want) -> Wanted {
        match w {
            Want::Config { wanted, .. } => wanted,
            other => panic!("not a configuration: {other:?}"),
        }
    }

    #[test]
    fn the_publishing_job_gives_the_configuration_and_its_permission() {
        let a = analysis(vec![job("release.yml", Some("npm"), "trustpub publish -w")]);
        let w = config(want(
            "p",
            &TrustWantedArgs::default(),
            &a,
            &Origin::default(),
        ));
        assert_eq!(
            w.publisher,
            Publisher::GitHub {
                repository: "acme/widgets".into(),
                file: "release.yml".into(),
                environment: Some("npm".into())
            }
        );
        assert_eq!(
            w.permissions,
            Permissions {
                publish: true,
                stage: false
            }
        );
        let a = analysis(vec![job(
            "release.yml",
            None,
            "npx trustpub publish --stage",
        )]);
        assert_eq!(
            config(want(
                "p",
                &TrustWantedArgs::default(),
                &a,
                &Origin::default()
            ))
            .permissions,
            Permissions {
                publish: false,
                stage: true
            }
        );
    }

    #[test]
    fn two_jobs_with_one_publisher_merge_and_two_publishers_are_undecided_until_chosen() {
        let same = analysis(vec![
            job("release.yml", None, "npm publish"),
            job("release.yml", None, "npm stage publish"),
        ]);
        assert_eq!(
            config(want(
                "p",
                &TrustWantedArgs::default(),
                &same,
                &Origin::default()
            ))
            .permissions,
            Permissions {
                publish: true,
                stage: true
            }
        );
        let two = analysis(vec![
            job("release.yml", None, "npm publish"),
            job("nightly.yml", Some("nightly"), "npm publish"),
        ]);
        match want("p", &TrustWantedArgs::default(), &two, &Origin::default()) {
            Want::Unknown { reason, fix } => {
                assert!(
                    reason.contains("2 jobs publish p") && reason.contains("nightly.yml"),
                    "{reason}"
                );
                assert!(fix.contains("--file"), "{fix}");
            }
            other => panic!("{other:?}"),
        }
        let chosen = TrustWantedArgs {
            file: Some("nightly.yml".into()),
            ..TrustWantedArgs::default()
        };
        let w = config(want("p", &chosen, &two, &Origin::default()));
        assert!(
            matches!(w.publisher, Publisher::GitHub { ref environment, .. } if environment.as_deref() == Some("nightly"))
        );
    }

    #[test]
    fn flags_win_and_fill_what_the_files_cannot_say() {
        let mut j = job("release.yml", Some("npm"), "npm publish");
        j.publisher_values = PublisherValues::GitHub {
            owner: None,
            repository: None,
            workflow_file: Some("release.yml".into()),
            environment: Some("npm".into()),
        };
        let a = analysis(vec![j]);
        match want("p", &TrustWantedArgs::default(), &a, &Origin::default()) {
            Want::Unknown { reason, fix } => {
                assert!(
                    reason.contains("the repository (owner/repo) for p is not known"),
                    "{reason}"
                );
                assert_eq!(fix, "give it: --repository OWNER/REPO");
            }
            other => panic!("{other:?}"),
        }
        let f = TrustWantedArgs {
            repository: Some("acme/w".into()),
            no_environment: true,
            allow_publish: true,
            allow_stage_publish: true,
            ..TrustWantedArgs::default()
        };
        let w = config(want("p", &f, &a, &Origin::default()));
        assert_eq!(
            w.publisher,
            Publisher::GitHub {
                repository: "acme/w".into(),
                file: "release.yml".into(),
                environment: None
            }
        );
        assert_eq!(
            w.permissions,
            Permissions {
                publish: true,
                stage: true
            }
        );
    }

    #[test]
    fn without_a_job_the_flags_alone_say_it_or_the_package_is_undecided() {
        let none = analysis(vec![]);
        assert!(matches!(
            want("p", &TrustWantedArgs::default(), &none, &Origin::default()),
            Want::Unknown { .. }
        ));
        let f = TrustWantedArgs {
            provider: Some(ProviderArg::Gitlab),
            repository: Some("g/sub/p".into()),
            file: Some(".gitlab-ci.yml".into()),
            allow_stage_publish: true,
            ..TrustWantedArgs::default()
        };
        let w = config(want("p", &f, &none, &Origin::default()));
        assert_eq!(w.publisher.kind(), "gitlab");
        let from_origin = TrustWantedArgs {
            provider: Some(ProviderArg::Github),
            file: Some("release.yml".into()),
            ..TrustWantedArgs::default()
        };
        let origin = Origin {
            github: Some("acme/widgets".into()),
            gitlab: None,
        };
        assert!(
            matches!(
                config(want("p", &from_origin, &none, &origin)).publisher,
                Publisher::GitHub { repository, .. } if repository == "acme/widgets"
            ),
            "the repository comes from the origin remote, as npm trust takes it from package.json"
        );
        assert_eq!(
            w.permissions,
            Permissions {
                publish: false,
                stage: true
            }
        );
        let revoke = TrustWantedArgs {
            provider: Some(ProviderArg::None),
            ..TrustWantedArgs::default()
        };
        assert_eq!(want("p", &revoke, &none, &Origin::default()), Want::Nothing);
    }

    #[test]
    fn flags_are_checked_as_npm_checks_them() {
        let bad = |f: TrustWantedArgs| check_flags(&f).unwrap_err();
        assert!(bad(TrustWantedArgs {
            file: Some(".github/workflows/r.yml".into()),
            ..Default::default()
        })
        .contains("not a path"));
        assert!(bad(TrustWantedArgs {
            file: Some("release.json".into()),
            ..Default::default()
        })
        .contains(".yml or .yaml"));
        assert!(bad(TrustWantedArgs {
            org_id: Some("x".into()),
            ..Default::default()
        })
        .contains("UUID"));
        assert!(bad(TrustWantedArgs {
            vcs_origin: Some("https://github.com/a/b".into()),
            ..Default::default()
        })
        .contains("scheme"));
        assert!(bad(TrustWantedArgs {
            provider: Some(ProviderArg::None),
            file: Some("r.yml".into()),
            ..Default::default()
        })
        .contains("none"));
        assert!(check_flags(&TrustWantedArgs {
            org_id: Some("0A1b2c3d-0000-4000-8000-000000000001".into()),
            ..Default::default()
        })
        .is_ok());
        assert!(
            is_uuid("01234567-89ab-cdef-0123-456789abcdef")
                && !is_uuid("01234567-89ab-cdef-0123-456789abcde")
        );
    }

    #[test]
    fn staging_is_read_from_the_command() {
        for c in [
            "npm stage publish",
            "pnpm stage publish --no-git-checks",
            "trustpub publish --stage -w a",
        ] {
            assert!(stages(c), "{c}");
        }
        for c in [
            "npm publish",
            "trustpub publish",
            "changeset publish",
            "npm run stage",
        ] {
            assert!(!stages(c), "{c}");
        }
    }
}
