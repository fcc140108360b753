//! Trusted-publisher configurations and how the registry matches them.
//!
//! npm stores one trusted publisher per package (`npm trust github|gitlab|
//! circleci`, or the package settings page), in this shape
//! (`lib/commands/trust/*.js`, `optionsToBody`):
//!
//! * GitHub: `{repository: "owner/repo", workflow_ref: {file}, environment?}`.
//!   The file is a bare name (`release.yml`, never a path). It is compared
//!   with the file of the token's `workflow_ref`, i.e. the **top-level,
//!   calling** workflow, not `job_workflow_ref` (a reusable workflow's file
//!   does not count). Owner and repository come from `repository_owner` and
//!   `repository`.
//! * GitLab: `{project_path: "group[/sub]/project", ci_config_ref_uri: {file},
//!   environment?}`, compared with `project_path` and with the path between
//!   `//` and `@` in `ci_config_ref_uri`.
//! * CircleCI: `oidc.circleci.com/org-id`, `…/project-id`,
//!   `…/pipeline-definition-id`, `…/vcs-origin` and optional
//!   `…/context-ids`. The organization is read from `sub`
//!   (`org/<org>/project/…`); every configured context id must be in the
//!   token's `oidc.circleci.com/context-ids`.
//!
//! Every comparison is exact and case-sensitive (npm does not validate the
//! values when they are saved, which is a classic source of "package not
//! found"). An environment in the configuration must equal the token's
//! `environment`; without one, any environment (or none) matches.
//!
//! A configuration also says which actions the exchanged token may do:
//! `--allow-publish` and/or `--allow-stage-publish`.

use serde_json::{json, Map, Value};

use super::Provider;

/// What a trusted publisher names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publisher {
    GitHub {
        owner: String,
        repo: String,
        workflow_file: String,
        environment: Option<String>,
    },
    GitLab {
        project_path: String,
        ci_file: String,
        environment: Option<String>,
    },
    CircleCi {
        org_id: String,
        project_id: String,
        pipeline_definition_id: String,
        vcs_origin: String,
        context_ids: Vec<String>,
    },
}

/// One package's trusted publisher and the actions it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    pub publisher: Publisher,
    pub allow_publish: bool,
    pub allow_stage: bool,
}

/// An action an exchanged token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `PUT /<name>` (`npm publish`).
    Publish,
    /// `POST /-/stage/package/<name>` (`npm stage publish`).
    Stage,
}

impl TrustPolicy {
    /// GitHub Actions: `owner/repo`, workflow file basename. Allows
    /// publish and stage.
    pub fn github(owner: &str, repo: &str, workflow_file: &str) -> TrustPolicy {
        TrustPolicy::new(Publisher::GitHub {
            owner: owner.into(),
            repo: repo.into(),
            workflow_file: workflow_file.into(),
            environment: None,
        })
    }

    /// GitLab CI: full project path (`group/project`), pipeline file.
    pub fn gitlab(project_path: &str, ci_file: &str) -> TrustPolicy {
        TrustPolicy::new(Publisher::GitLab {
            project_path: project_path.into(),
            ci_file: ci_file.into(),
            environment: None,
        })
    }

    /// CircleCI: organization, project and pipeline definition UUIDs and
    /// the VCS origin (`github.com/owner/repo`).
    pub fn circleci(
        org_id: &str,
        project_id: &str,
        pipeline_definition_id: &str,
        vcs_origin: &str,
    ) -> TrustPolicy {
        TrustPolicy::new(Publisher::CircleCi {
            org_id: org_id.into(),
            project_id: project_id.into(),
            pipeline_definition_id: pipeline_definition_id.into(),
            vcs_origin: vcs_origin.into(),
            context_ids: Vec::new(),
        })
    }

    fn new(publisher: Publisher) -> TrustPolicy {
        TrustPolicy {
            publisher,
            allow_publish: true,
            allow_stage: true,
        }
    }

    /// Requires this `environment` (GitHub and GitLab only).
    pub fn environment(mut self, env: &str) -> TrustPolicy {
        match &mut self.publisher {
            Publisher::GitHub { environment, .. } | Publisher::GitLab { environment, .. } => {
                *environment = Some(env.to_string())
            }
            Publisher::CircleCi { .. } => panic!("CircleCI trust has no environment"),
        }
        self
    }

    /// Requires these CircleCI contexts.
    pub fn contexts(mut self, ids: &[&str]) -> TrustPolicy {
        match &mut self.publisher {
            Publisher::CircleCi { context_ids, .. } => {
                *context_ids = ids.iter().map(|s| s.to_string()).collect()
            }
            _ => panic!("only CircleCI trust has contexts"),
        }
        self
    }

    /// Which actions exchanged tokens may do.
    pub fn allow(mut self, publish: bool, stage: bool) -> TrustPolicy {
        self.allow_publish = publish;
        self.allow_stage = stage;
        self
    }

    pub fn allows(&self, action: Action) -> bool {
        match action {
            Action::Publish => self.allow_publish,
            Action::Stage => self.allow_stage,
        }
    }

    pub fn provider(&self) -> Provider {
        match self.publisher {
            Publisher::GitHub { .. } => Provider::GitHub,
            Publisher::GitLab { .. } => Provider::GitLab,
            Publisher::CircleCi { .. } => Provider::CircleCi,
        }
    }

    /// The configuration as `npm trust` sends it to the registry.
    pub fn to_npm_trust_config(&self) -> Value {
        match &self.publisher {
            Publisher::GitHub {
                owner,
                repo,
                workflow_file,
                environment,
            } => {
                let mut claims = json!({
                    "repository": format!("{owner}/{repo}"),
                    "workflow_ref": { "file": workflow_file },
                });
                if let Some(e) = environment {
                    claims["environment"] = json!(e);
                }
                json!({ "type": "github", "claims": claims })
            }
            Publisher::GitLab {
                project_path,
                ci_file,
                environment,
            } => {
                let mut claims = json!({
                    "project_path": project_path,
                    "ci_config_ref_uri": { "file": ci_file },
                });
                if let Some(e) = environment {
                    claims["environment"] = json!(e);
                }
                json!({ "type": "gitlab", "claims": claims })
            }
            Publisher::CircleCi {
                org_id,
                project_id,
                pipeline_definition_id,
                vcs_origin,
                context_ids,
            } => {
                let mut claims = json!({
                    "oidc.circleci.com/org-id": org_id,
                    "oidc.circleci.com/project-id": project_id,
                    "oidc.circleci.com/pipeline-definition-id": pipeline_definition_id,
                    "oidc.circleci.com/vcs-origin": vcs_origin,
                });
                if !context_ids.is_empty() {
                    claims["oidc.circleci.com/context-ids"] = json!(context_ids);
                }
                json!({ "type": "circleci", "claims": claims })
            }
        }
    }

    /// Whether a verified token from a `provider` issuer matches; `Err`
    /// says which value differs (for test messages, never sent to clients).
    pub fn check(&self, provider: Provider, claims: &Map<String, Value>) -> Result<(), String> {
        if provider != self.provider() {
            return Err(format!(
                "the token comes from a {provider:?} issuer, the trusted publisher is {:?}",
                self.provider()
            ));
        }
        let s = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
        let same = |what: &str, want: &str, got: &str| -> Result<(), String> {
            if want == got {
                Ok(())
            } else {
                Err(format!("{what}: trusted {want:?}, token has {got:?}"))
            }
        };
        let env_matches = |want: &Option<String>| -> Result<(), String> {
            match want {
                Some(w) => match claims.get("environment").and_then(Value::as_str) {
                    Some(got) => same("environment", w, got),
                    None => Err(format!("environment: trusted {w:?}, token has none")),
                },
                None => Ok(()),
            }
        };
        match &self.publisher {
            Publisher::GitHub {
                owner,
                repo,
                workflow_file,
                environment,
            } => {
                same("repository_owner", owner, s("repository_owner"))?;
                let repo_name = s("repository").split_once('/').map_or("", |(_, r)| r);
                same("repository name", repo, repo_name)?;
                same(
                    "workflow file",
                    workflow_file,
                    &github_workflow_file(s("workflow_ref")),
                )?;
                env_matches(environment)
            }
            Publisher::GitLab {
                project_path,
                ci_file,
                environment,
            } => {
                same("project_path", project_path, s("project_path"))?;
                same("CI file", ci_file, &gitlab_ci_file(s("ci_config_ref_uri")))?;
                env_matches(environment)
            }
            Publisher::CircleCi {
                org_id,
                project_id,
                pipeline_definition_id,
                vcs_origin,
                context_ids,
            } => {
                same("org id", org_id, &circleci_org(claims))?;
                same("project id", project_id, s("oidc.circleci.com/project-id"))?;
                same(
                    "pipeline definition id",
                    pipeline_definition_id,
                    s("oidc.circleci.com/pipeline-definition-id"),
                )?;
                same("vcs origin", vcs_origin, s("oidc.circleci.com/vcs-origin"))?;
                let have: Vec<&str> = claims
                    .get("oidc.circleci.com/context-ids")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                match context_ids.iter().find(|c| !have.contains(&c.as_str())) {
                    Some(missing) => Err(format!(
                        "context {missing:?} is not in the token's {have:?}"
                    )),
                    None => Ok(()),
                }
            }
        }
    }
}

/// `owner/repo/.github/workflows/release.yml@refs/heads/main` → `release.yml`.
pub fn github_workflow_file(workflow_ref: &str) -> String {
    let path = workflow_ref
        .split_once('@')
        .map_or(workflow_ref, |(p, _)| p);
    path.rsplit('/').next().unwrap_or("").to_string()
}

/// `gitlab.com/group/project//ci/release.yml@refs/heads/main` → `ci/release.yml`.
pub fn gitlab_ci_file(ci_config_ref_uri: &str) -> String {
    let after = ci_config_ref_uri
        .split_once("//")
        .map_or("", |(_, rest)| rest);
    after.split_once('@').map_or(after, |(p, _)| p).to_string()
}

/// The CircleCI organization id: `oidc.circleci.com/org-id` if present,
/// else the `<org>` of `sub` = `org/<org>/project/…`.
pub fn circleci_org(claims: &Map<String, Value>) -> String {
    if let Some(o) = claims
        .get("oidc.circleci.com/org-id")
        .and_then(Value::as_str)
    {
        return o.to_string();
    }
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    sub.strip_prefix("org/")
        .and_then(|r| r.split('/').next())
        .unwrap_or("")
        .to_string()
}
