//! Claim sets shaped like the ones GitHub Actions, GitLab CI and CircleCI
//! put in their OIDC ID tokens.
//!
//! Each builder has the provider's real claim names, value types (GitHub
//! and GitLab send ids as *strings*, `ref_protected` as `"true"`/`"false"`)
//! and default audience and lifetime. Chain the setters, then
//! [`GithubClaims::build`] (etc.) gives a `serde_json` map that a test may
//! still edit before [`super::OidcIssuer::mint`] signs it.
//!
//! Sources: GitHub's "OpenID Connect reference" (claims table and example
//! token), GitLab's "ID token authentication" page (claims table), and
//! CircleCI's "OpenID Connect tokens" page.

use rand::Rng as _;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::jwt::now;

/// A stable decimal id derived from a name (GitHub/GitLab ids are numbers
/// sent as strings).
pub fn numeric_id(seed: &str) -> String {
    let d = Sha256::digest(seed.as_bytes());
    (u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 900_000_000 + 10_000_000).to_string()
}

/// A stable 40-hex "commit sha" derived from a name.
pub fn fake_sha(seed: &str) -> String {
    hex::encode(&Sha256::digest(seed.as_bytes())[..20])
}

/// A random version-4 UUID (CircleCI ids, `jti`).
pub fn uuid() -> String {
    let mut b: [u8; 16] = rand::thread_rng().gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn ref_type(git_ref: &str) -> &'static str {
    if git_ref.starts_with("refs/tags/") {
        "tag"
    } else {
        "branch"
    }
}

/// GitHub Actions ID-token claims (issuer `https://token.actions.githubusercontent.com`
/// in real life; here the fake issuer's URL).
///
/// Defaults: ref `refs/heads/main`, event `push`, public repository,
/// `github-hosted` runner, no environment, audience `https://github.com/<owner>`
/// (GitHub's default when no audience is requested), `nbf` = `iat` − 600 and
/// `exp` = `iat` + 300 as in GitHub's documented example token. The caller
/// and the job run the same workflow unless [`GithubClaims::reusable_workflow`]
/// says otherwise.
#[derive(Debug, Clone)]
pub struct GithubClaims {
    pub iss: String,
    pub owner: String,
    pub repo: String,
    /// Basename of the top-level (calling) workflow, e.g. `release.yml`.
    pub workflow_file: String,
    pub workflow_name: String,
    pub git_ref: String,
    pub sha: String,
    pub environment: Option<String>,
    pub audience: Option<Value>,
    pub event_name: String,
    pub head_ref: String,
    pub base_ref: String,
    pub actor: String,
    pub visibility: String,
    pub runner_environment: String,
    /// `(owner/repo, file, ref, sha)` of a reusable workflow the job runs.
    pub job_workflow: Option<(String, String, String, String)>,
    pub iat: i64,
    pub nbf_skew: i64,
    pub lifetime: i64,
    /// Extra claims (or replacements), applied last.
    pub extra: Map<String, Value>,
}

impl GithubClaims {
    pub fn new(iss: &str, owner: &str, repo: &str, workflow_file: &str) -> GithubClaims {
        GithubClaims {
            iss: iss.to_string(),
            owner: owner.to_string(),
            repo: repo.to_string(),
            workflow_file: workflow_file.to_string(),
            workflow_name: "Release".to_string(),
            git_ref: "refs/heads/main".to_string(),
            sha: fake_sha(&format!("{owner}/{repo}")),
            environment: None,
            audience: None,
            event_name: "push".to_string(),
            head_ref: String::new(),
            base_ref: String::new(),
            actor: owner.to_string(),
            visibility: "public".to_string(),
            runner_environment: "github-hosted".to_string(),
            job_workflow: None,
            iat: now(),
            nbf_skew: 600,
            lifetime: 300,
            extra: Map::new(),
        }
    }

    /// The `environment:` of the job (also changes `sub`).
    pub fn environment(mut self, env: &str) -> Self {
        self.environment = Some(env.to_string());
        self
    }

    /// `ref`, e.g. `refs/tags/v1.0.0` (sets `ref_type` accordingly).
    pub fn git_ref(mut self, git_ref: &str) -> Self {
        self.git_ref = git_ref.to_string();
        self
    }

    /// `aud` as a string.
    pub fn audience(mut self, aud: &str) -> Self {
        self.audience = Some(json!(aud));
        self
    }

    /// `aud` as an array (allowed by RFC 7519).
    pub fn audiences(mut self, aud: &[&str]) -> Self {
        self.audience = Some(json!(aud));
        self
    }

    pub fn event(mut self, event_name: &str) -> Self {
        self.event_name = event_name.to_string();
        self
    }

    pub fn actor(mut self, actor: &str) -> Self {
        self.actor = actor.to_string();
        self
    }

    /// `public`, `private` or `internal`.
    pub fn visibility(mut self, v: &str) -> Self {
        self.visibility = v.to_string();
        self
    }

    /// `runner_environment: self-hosted`.
    pub fn self_hosted(mut self) -> Self {
        self.runner_environment = "self-hosted".to_string();
        self
    }

    /// The job runs a reusable workflow: `job_workflow_ref` becomes
    /// `<owner_repo>/.github/workflows/<file>@<git_ref>` while
    /// `workflow_ref` keeps naming the calling workflow.
    pub fn reusable_workflow(mut self, owner_repo: &str, file: &str, git_ref: &str) -> Self {
        let sha = fake_sha(&format!("{owner_repo}/{file}@{git_ref}"));
        self.job_workflow = Some((
            owner_repo.to_string(),
            file.to_string(),
            git_ref.to_string(),
            sha,
        ));
        self
    }

    /// A `pull_request` run for PR `number` from `head_ref` into `base_ref`
    /// (`ref` becomes `refs/pull/<n>/merge`, `sub` `repo:…:pull_request`).
    /// For a fork PR also set [`GithubClaims::actor`] to the fork's owner.
    pub fn pull_request(mut self, number: u32, head_ref: &str, base_ref: &str) -> Self {
        self.event_name = "pull_request".to_string();
        self.git_ref = format!("refs/pull/{number}/merge");
        self.head_ref = head_ref.to_string();
        self.base_ref = base_ref.to_string();
        self
    }

    /// Issued `secs_ago` seconds ago.
    pub fn issued_secs_ago(mut self, secs_ago: i64) -> Self {
        self.iat = now() - secs_ago;
        self
    }

    /// Issued long enough ago that `exp` has passed.
    pub fn expired(self) -> Self {
        let life = self.lifetime;
        self.issued_secs_ago(life + 3600)
    }

    /// Sets (or replaces) any claim; applied after the built-in ones.
    pub fn set(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    pub fn build(&self) -> Map<String, Value> {
        let repository = format!("{}/{}", self.owner, self.repo);
        let workflow_ref = format!(
            "{repository}/.github/workflows/{}@{}",
            self.workflow_file, self.git_ref
        );
        let (job_workflow_ref, job_workflow_sha) = match &self.job_workflow {
            Some((r, f, g, sha)) => (format!("{r}/.github/workflows/{f}@{g}"), sha.clone()),
            None => (workflow_ref.clone(), self.sha.clone()),
        };
        let sub = match (&self.environment, self.event_name.as_str()) {
            (Some(env), _) => format!("repo:{repository}:environment:{env}"),
            (None, "pull_request") => format!("repo:{repository}:pull_request"),
            (None, _) => format!("repo:{repository}:ref:{}", self.git_ref),
        };
        let run_id = numeric_id(&format!("run {repository} {}", self.iat));
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("jti", json!(uuid()));
        put("sub", json!(sub));
        put(
            "aud",
            self.audience
                .clone()
                .unwrap_or_else(|| json!(format!("https://github.com/{}", self.owner))),
        );
        put("ref", json!(self.git_ref));
        put("sha", json!(self.sha));
        put("repository", json!(repository));
        put("repository_owner", json!(self.owner));
        put("repository_owner_id", json!(numeric_id(&self.owner)));
        put("run_id", json!(run_id));
        put("run_number", json!("42"));
        put("run_attempt", json!("1"));
        put("repository_visibility", json!(self.visibility));
        put("repository_id", json!(numeric_id(&repository)));
        put("actor_id", json!(numeric_id(&self.actor)));
        put("actor", json!(self.actor));
        put("workflow", json!(self.workflow_name));
        put("head_ref", json!(self.head_ref));
        put("base_ref", json!(self.base_ref));
        put("event_name", json!(self.event_name));
        put("ref_protected", json!("false"));
        put("ref_type", json!(ref_type(&self.git_ref)));
        put("workflow_ref", json!(workflow_ref));
        put("workflow_sha", json!(self.sha));
        put("job_workflow_ref", json!(job_workflow_ref));
        put("job_workflow_sha", json!(job_workflow_sha));
        put("runner_environment", json!(self.runner_environment));
        if let Some(env) = &self.environment {
            put("environment", json!(env));
        }
        put("iss", json!(self.iss));
        put("nbf", json!(self.iat - self.nbf_skew));
        put("exp", json!(self.iat + self.lifetime));
        put("iat", json!(self.iat));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        m
    }
}

/// GitLab CI ID-token claims (`id_tokens:` in `.gitlab-ci.yml`).
///
/// Defaults: branch `main` (GitLab's `ref` is the bare name, `ref_path` the
/// full ref), protected, `push` pipeline, public project, `gitlab-hosted`
/// runner, host `gitlab.com` in `ci_config_ref_uri`, no environment,
/// audience `https://gitlab.com` (there is no real default: `aud` is
/// whatever the job's `id_tokens` entry says; set it with
/// [`GitlabClaims::audience`]), `nbf` = `iat` − 5, `exp` = `iat` + 3600.
#[derive(Debug, Clone)]
pub struct GitlabClaims {
    pub iss: String,
    pub host: String,
    /// `group` or `group/subgroup`.
    pub namespace: String,
    pub project: String,
    /// Path of the pipeline file in the project, e.g. `.gitlab-ci.yml`.
    pub ci_file: String,
    /// Branch or tag name (not a full ref).
    pub git_ref: String,
    pub ref_type: String,
    pub environment: Option<String>,
    pub audience: Option<Value>,
    pub user_login: String,
    pub pipeline_source: String,
    pub visibility: String,
    pub runner_environment: String,
    pub iat: i64,
    pub lifetime: i64,
    pub extra: Map<String, Value>,
}

impl GitlabClaims {
    pub fn new(iss: &str, namespace: &str, project: &str, ci_file: &str) -> GitlabClaims {
        GitlabClaims {
            iss: iss.to_string(),
            host: "gitlab.com".to_string(),
            namespace: namespace.to_string(),
            project: project.to_string(),
            ci_file: ci_file.to_string(),
            git_ref: "main".to_string(),
            ref_type: "branch".to_string(),
            environment: None,
            audience: None,
            user_login: "release-bot".to_string(),
            pipeline_source: "push".to_string(),
            visibility: "public".to_string(),
            runner_environment: "gitlab-hosted".to_string(),
            iat: now(),
            lifetime: 3600,
            extra: Map::new(),
        }
    }

    pub fn environment(mut self, env: &str) -> Self {
        self.environment = Some(env.to_string());
        self
    }

    pub fn audience(mut self, aud: &str) -> Self {
        self.audience = Some(json!(aud));
        self
    }

    /// A tag pipeline for `tag`.
    pub fn tag(mut self, tag: &str) -> Self {
        self.git_ref = tag.to_string();
        self.ref_type = "tag".to_string();
        self
    }

    pub fn visibility(mut self, v: &str) -> Self {
        self.visibility = v.to_string();
        self
    }

    pub fn self_hosted(mut self) -> Self {
        self.runner_environment = "self-hosted".to_string();
        self
    }

    pub fn expired(mut self) -> Self {
        self.iat = now() - self.lifetime - 3600;
        self
    }

    pub fn set(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    pub fn build(&self) -> Map<String, Value> {
        let project_path = format!("{}/{}", self.namespace, self.project);
        let ref_path = match self.ref_type.as_str() {
            "tag" => format!("refs/tags/{}", self.git_ref),
            _ => format!("refs/heads/{}", self.git_ref),
        };
        let sha = fake_sha(&project_path);
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("namespace_id", json!(numeric_id(&self.namespace)));
        put("namespace_path", json!(self.namespace));
        put("project_id", json!(numeric_id(&project_path)));
        put("project_path", json!(project_path));
        put("user_id", json!(numeric_id(&self.user_login)));
        put("user_login", json!(self.user_login));
        put(
            "user_email",
            json!(format!("{}@example.com", self.user_login)),
        );
        put("user_access_level", json!("maintainer"));
        put(
            "pipeline_id",
            json!(numeric_id(&format!("pipeline {project_path} {}", self.iat))),
        );
        put("pipeline_source", json!(self.pipeline_source));
        put(
            "job_id",
            json!(numeric_id(&format!("job {project_path} {}", self.iat))),
        );
        put("ref", json!(self.git_ref));
        put("ref_type", json!(self.ref_type));
        put("ref_path", json!(ref_path));
        put("ref_protected", json!("true"));
        if let Some(env) = &self.environment {
            put("environment", json!(env));
            put("environment_protected", json!("false"));
            put("deployment_tier", json!("production"));
            put("environment_action", json!("start"));
        }
        put("runner_id", json!(12345));
        put("runner_environment", json!(self.runner_environment));
        put("sha", json!(sha));
        put("project_visibility", json!(self.visibility));
        put(
            "ci_config_ref_uri",
            json!(format!(
                "{}/{project_path}//{}@{ref_path}",
                self.host, self.ci_file
            )),
        );
        put("ci_config_sha", json!(sha));
        put("jti", json!(uuid()));
        put("iss", json!(self.iss));
        put("iat", json!(self.iat));
        put("nbf", json!(self.iat - 5));
        put("exp", json!(self.iat + self.lifetime));
        put(
            "sub",
            json!(format!(
                "project_path:{project_path}:ref_type:{}:ref:{}",
                self.ref_type, self.git_ref
            )),
        );
        put(
            "aud",
            self.audience
                .clone()
                .unwrap_or_else(|| json!("https://gitlab.com")),
        );
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        m
    }
}

/// CircleCI ID-token claims (`$CIRCLE_OIDC_TOKEN`, or
/// `circleci run oidc get --claims '{"aud":"npm:…"}'` for npm).
///
/// The real issuer is `https://oidc.circleci.com/org/<org-id>`; here it is
/// the fake issuer's URL, and the organization id is carried by `sub`
/// (`org/<org>/project/<project>/user/<user>`), which is where a verifier
/// reads it from. Defaults: random UUIDs, VCS origin
/// `github.com/<owner>/<repo>` as given, ref `refs/heads/main`, no
/// contexts, audience = the org id (CircleCI's default), `exp` = `iat` +
/// 3600, no `nbf`.
#[derive(Debug, Clone)]
pub struct CircleciClaims {
    pub iss: String,
    pub org_id: String,
    pub project_id: String,
    pub user_id: String,
    pub pipeline_definition_id: String,
    pub vcs_origin: String,
    pub vcs_ref: String,
    pub context_ids: Vec<String>,
    pub audience: Option<Value>,
    pub iat: i64,
    pub lifetime: i64,
    pub extra: Map<String, Value>,
}

impl CircleciClaims {
    pub fn new(iss: &str, org_id: &str, project_id: &str, vcs_origin: &str) -> CircleciClaims {
        CircleciClaims {
            iss: iss.to_string(),
            org_id: org_id.to_string(),
            project_id: project_id.to_string(),
            user_id: uuid(),
            pipeline_definition_id: uuid(),
            vcs_origin: vcs_origin.to_string(),
            vcs_ref: "refs/heads/main".to_string(),
            context_ids: Vec::new(),
            audience: None,
            iat: now(),
            lifetime: 3600,
            extra: Map::new(),
        }
    }

    pub fn pipeline_definition(mut self, id: &str) -> Self {
        self.pipeline_definition_id = id.to_string();
        self
    }

    pub fn contexts(mut self, ids: &[&str]) -> Self {
        self.context_ids = ids.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn audience(mut self, aud: &str) -> Self {
        self.audience = Some(json!(aud));
        self
    }

    pub fn expired(mut self) -> Self {
        self.iat = now() - self.lifetime - 3600;
        self
    }

    pub fn set(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    pub fn build(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("iss", json!(self.iss));
        put(
            "sub",
            json!(format!(
                "org/{}/project/{}/user/{}",
                self.org_id, self.project_id, self.user_id
            )),
        );
        put(
            "aud",
            self.audience.clone().unwrap_or_else(|| json!(self.org_id)),
        );
        put("iat", json!(self.iat));
        put("exp", json!(self.iat + self.lifetime));
        put("oidc.circleci.com/project-id", json!(self.project_id));
        put("oidc.circleci.com/context-ids", json!(self.context_ids));
        put("oidc.circleci.com/vcs-origin", json!(self.vcs_origin));
        put("oidc.circleci.com/vcs-ref", json!(self.vcs_ref));
        put(
            "oidc.circleci.com/pipeline-definition-id",
            json!(self.pipeline_definition_id),
        );
        put("oidc.circleci.com/pipeline-id", json!(uuid()));
        put("oidc.circleci.com/workflow-id", json!(uuid()));
        put("oidc.circleci.com/job-id", json!(uuid()));
        put("oidc.circleci.com/ssh-rerun", json!(false));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        m
    }
}
