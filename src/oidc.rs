//! OIDC id tokens for trusted publishing: where they come from, what they
//! claim, and the values a maintainer must enter on npmjs.com.
//!
//! npm 11 (`lib/utils/oidc.js`): `NPM_ID_TOKEN` wins on every provider; on
//! GitHub Actions without it, npm GETs `ACTIONS_ID_TOKEN_REQUEST_URL` with
//! `audience=npm:<registry hostname>` appended to the existing query and
//! `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, and reads `.value`.
//! This module holds the pure parts (audience, URL, claims); the request
//! itself goes through [`crate::registry::Client`].

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::secret::Secret;

mod exchange;
pub use exchange::{
    exchange, exchange_headers, exchange_url, id_token, package_visibility, ExchangeError,
    GitHubTokenRequest, IdToken, IdTokenError, IdTokenSource, MAX_ID_TOKEN,
};

/// What is wrong with an id token's contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("the id token is not a JWT (expected three dot-separated parts)")]
    NotAJwt,
    #[error("the id token's payload is not base64url")]
    NotBase64,
    #[error("the id token's payload is not a JSON object")]
    NotJson,
}

/// `npm:` + the registry's hostname (no port, no path), as npm asks for it.
pub fn audience(registry: &str) -> Option<String> {
    let u = url::Url::parse(registry).ok()?;
    Some(format!("npm:{}", u.host_str()?))
}

/// `ACTIONS_ID_TOKEN_REQUEST_URL` with `audience` appended to its query the
/// way WHATWG `searchParams.append` does it (`:` becomes `%3A`).
pub fn github_request_url(request_url: &str, audience: &str) -> Option<String> {
    let mut u = url::Url::parse(request_url).ok()?;
    u.query_pairs_mut().append_pair("audience", audience);
    Some(u.to_string())
}

/// The decoded claims of an id token. The token itself stays a [`Secret`];
/// claims are not secret (they are what the maintainer must configure).
#[derive(Debug, Clone, PartialEq)]
pub struct Claims(pub Map<String, Value>);

/// Decodes the payload (the second part) of a JWT without verifying it:
/// verification is the registry's job, the claims are for diagnostics.
pub fn decode_claims(token: &Secret<String>) -> Result<Claims, ClaimsError> {
    let parts: Vec<&str> = token.expose().split('.').collect();
    if parts.len() != 3 {
        return Err(ClaimsError::NotAJwt);
    }
    // Node's base64 decoder takes base64url with or without padding.
    let payload = parts[1].trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(payload))
        .map_err(|_| ClaimsError::NotBase64)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(Claims(m)),
        _ => Err(ClaimsError::NotJson),
    }
}

impl Claims {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// `aud` as a list (it may be a string or an array).
    pub fn audiences(&self) -> Vec<String> {
        match self.0.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `exp`, seconds since the epoch.
    pub fn expires_at(&self) -> Option<i64> {
        self.0.get("exp").and_then(Value::as_i64)
    }

    /// The values npmjs.com's trusted-publisher form asks for, read off the
    /// claims: GitHub (owner, repository, workflow file, environment) or
    /// GitLab (namespace, project, CI file path, environment).
    pub fn publisher_values(&self) -> PublisherValues {
        if self.str("repository_owner").is_some() || self.str("job_workflow_ref").is_some() {
            let repository = self.str("repository").unwrap_or_default();
            let (owner, repo) = repository
                .split_once('/')
                .unwrap_or((self.str("repository_owner").unwrap_or_default(), repository));
            // npm matches the workflow that started the run (`workflow_ref`);
            // a reusable workflow shows up as a different `job_workflow_ref`.
            let workflow_ref = self
                .str("workflow_ref")
                .or_else(|| self.str("job_workflow_ref"))
                .unwrap_or_default();
            PublisherValues::GitHub {
                owner: owner.to_string(),
                repository: repo.to_string(),
                workflow_file: workflow_file(workflow_ref),
                environment: self.str("environment").map(str::to_string),
                called_workflow: match (self.str("workflow_ref"), self.str("job_workflow_ref")) {
                    (Some(w), Some(j)) if w != j => Some(j.to_string()),
                    _ => None,
                },
            }
        } else if let Some(project_id) = self.str("oidc.circleci.com/project-id") {
            let org_id = self
                .str("oidc.circleci.com/org-id")
                .map(str::to_string)
                .or_else(|| {
                    // `sub` is `org/<org id>/project/<project id>/user/<user id>`.
                    let sub = self.str("sub")?;
                    let mut parts = sub.split('/');
                    (parts.next()? == "org").then(|| parts.next().map(str::to_string))?
                })
                .unwrap_or_default();
            PublisherValues::CircleCi {
                org_id,
                project_id: project_id.to_string(),
                pipeline_definition_id: self
                    .str("oidc.circleci.com/pipeline-definition-id")
                    .map(str::to_string),
                vcs_origin: self.str("oidc.circleci.com/vcs-origin").map(str::to_string),
            }
        } else {
            let project_path = self.str("project_path").unwrap_or_default();
            let (namespace, project) = project_path.rsplit_once('/').unwrap_or(("", project_path));
            PublisherValues::GitLab {
                namespace: namespace.to_string(),
                project: project.to_string(),
                ci_file: self
                    .str("ci_config_ref_uri")
                    .map(gitlab_ci_file)
                    .unwrap_or_default(),
                environment: self.str("environment").map(str::to_string),
            }
        }
    }
}

/// `owner/repo/.github/workflows/release.yml@refs/heads/main` → `release.yml`.
fn workflow_file(workflow_ref: &str) -> String {
    let path = workflow_ref.split('@').next().unwrap_or_default();
    path.rsplit('/').next().unwrap_or_default().to_string()
}

/// `gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main` → `.gitlab-ci.yml`.
fn gitlab_ci_file(uri: &str) -> String {
    let path = uri.split('@').next().unwrap_or_default();
    match path.split_once("//") {
        Some((_, file)) => file.to_string(),
        None => path.rsplit('/').next().unwrap_or_default().to_string(),
    }
}

/// The trusted-publisher settings a run's claims correspond to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublisherValues {
    GitHub {
        owner: String,
        repository: String,
        workflow_file: String,
        environment: Option<String>,
        /// The reusable workflow that ran the job, when it is not the one that started the run.
        called_workflow: Option<String>,
    },
    GitLab {
        namespace: String,
        project: String,
        ci_file: String,
        environment: Option<String>,
    },
    CircleCi {
        org_id: String,
        project_id: String,
        pipeline_definition_id: Option<String>,
        vcs_origin: Option<String>,
    },
}

impl PublisherValues {
    /// Where the form is on npmjs.com, and its fields with the values to
    /// enter, in the form's order. [`crate::workflows::PublisherValues::form`]
    /// fills the same form from the repository's files instead: the two
    /// differ in what each knows, so they stay apart.
    pub fn form(&self) -> (&'static str, Vec<(&'static str, String)>) {
        let env = |e: &Option<String>| match e {
            Some(e) => e.clone(),
            None => "(leave empty: this job runs without an environment)".to_string(),
        };
        let from_token =
            |v: &Option<String>| v.clone().unwrap_or_else(|| "(not in the token)".into());
        match self {
            PublisherValues::GitHub {
                owner,
                repository,
                workflow_file,
                environment,
                ..
            } => PublisherForm::GitHub {
                owner: owner.clone(),
                repository: repository.clone(),
                workflow_file: workflow_file.clone(),
                environment: env(environment),
            },
            PublisherValues::GitLab {
                namespace,
                project,
                ci_file,
                environment,
            } => PublisherForm::GitLab {
                namespace: namespace.clone(),
                project: project.clone(),
                ci_file: ci_file.clone(),
                environment: env(environment),
            },
            PublisherValues::CircleCi {
                org_id,
                project_id,
                pipeline_definition_id,
                vcs_origin,
            } => PublisherForm::CircleCi {
                org_id: org_id.clone(),
                project_id: project_id.clone(),
                pipeline_definition_id: from_token(pipeline_definition_id),
                vcs_origin: from_token(vcs_origin),
            },
        }
        .fields()
    }
}

/// npmjs.com's trusted-publisher form (package settings → Trusted
/// publisher), filled in: each field holds the text to enter, or a note on
/// what to enter. The one place that knows the form's providers, labels and
/// order; the values come from a run's claims ([`PublisherValues::form`]) or
/// from the CI files (`workflows::PublisherValues::form`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublisherForm {
    GitHub {
        owner: String,
        repository: String,
        workflow_file: String,
        environment: String,
    },
    GitLab {
        namespace: String,
        project: String,
        ci_file: String,
        environment: String,
    },
    CircleCi {
        org_id: String,
        project_id: String,
        pipeline_definition_id: String,
        vcs_origin: String,
    },
}

impl PublisherForm {
    /// The provider's name on the form, and its fields with the values, in
    /// the form's order.
    pub fn fields(self) -> (&'static str, Vec<(&'static str, String)>) {
        match self {
            PublisherForm::GitHub {
                owner,
                repository,
                workflow_file,
                environment,
            } => (
                "GitHub Actions",
                vec![
                    ("Organization or user", owner),
                    ("Repository", repository),
                    ("Workflow filename", workflow_file),
                    ("Environment name", environment),
                ],
            ),
            PublisherForm::GitLab {
                namespace,
                project,
                ci_file,
                environment,
            } => (
                "GitLab CI/CD",
                vec![
                    ("Namespace", namespace),
                    ("Project name", project),
                    ("Top-level CI file path", ci_file),
                    ("Environment name", environment),
                ],
            ),
            PublisherForm::CircleCi {
                org_id,
                project_id,
                pipeline_definition_id,
                vcs_origin,
            } => (
                "CircleCI",
                vec![
                    ("Organization ID", org_id),
                    ("Project ID", project_id),
                    ("Pipeline definition ID", pipeline_definition_id),
                    ("VCS origin", vcs_origin),
                ],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &Value) -> Secret<String> {
        let enc =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        Secret::new(format!(
            "{}.{}.sig",
            enc(&serde_json::json!({"alg":"RS256"})),
            enc(claims)
        ))
    }

    #[test]
    fn audience_is_the_hostname_only() {
        assert_eq!(
            audience("https://registry.npmjs.org/").as_deref(),
            Some("npm:registry.npmjs.org")
        );
        assert_eq!(
            audience("http://127.0.0.1:4873/some/path").as_deref(),
            Some("npm:127.0.0.1")
        );
        assert_eq!(audience("not a url"), None);
    }

    #[test]
    fn audience_is_appended_to_the_existing_query() {
        assert_eq!(
            github_request_url(
                "https://token.actions.example/x?api-version=2.0",
                "npm:registry.npmjs.org"
            )
            .as_deref(),
            Some(
                "https://token.actions.example/x?api-version=2.0&audience=npm%3Aregistry.npmjs.org"
            )
        );
    }

    #[test]
    fn github_claims_give_the_publisher_form_values() {
        let t = jwt(&serde_json::json!({
            "aud": "npm:registry.npmjs.org",
            "repository": "Octo-Org/widgets",
            "repository_owner": "Octo-Org",
            "workflow_ref": "Octo-Org/widgets/.github/workflows/release.yml@refs/tags/v1.0.0",
            "job_workflow_ref": "Octo-Org/shared/.github/workflows/publish.yml@refs/heads/main",
            "environment": "npm",
            "exp": 1_900_000_000
        }));
        let c = decode_claims(&t).unwrap();
        assert_eq!(c.audiences(), ["npm:registry.npmjs.org"]);
        assert_eq!(c.expires_at(), Some(1_900_000_000));
        assert_eq!(
            c.publisher_values(),
            PublisherValues::GitHub {
                owner: "Octo-Org".into(),
                repository: "widgets".into(),
                workflow_file: "release.yml".into(),
                environment: Some("npm".into()),
                called_workflow: Some(
                    "Octo-Org/shared/.github/workflows/publish.yml@refs/heads/main".into()
                ),
            }
        );
    }

    #[test]
    fn gitlab_claims_give_the_publisher_form_values() {
        let t = jwt(&serde_json::json!({
            "aud": ["npm:registry.npmjs.org"],
            "project_path": "group/sub/project",
            "namespace_path": "group/sub",
            "ci_config_ref_uri": "gitlab.com/group/sub/project//ci/release.yml@refs/heads/main"
        }));
        assert_eq!(
            decode_claims(&t).unwrap().publisher_values(),
            PublisherValues::GitLab {
                namespace: "group/sub".into(),
                project: "project".into(),
                ci_file: "ci/release.yml".into(),
                environment: None,
            }
        );
    }

    #[test]
    fn malformed_tokens_are_named_not_printed() {
        assert_eq!(
            decode_claims(&Secret::new("abc".into())),
            Err(ClaimsError::NotAJwt)
        );
        assert_eq!(
            decode_claims(&Secret::new("a.!!!.c".into())),
            Err(ClaimsError::NotBase64)
        );
        let not_json = format!(
            "a.{}.c",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("[1]")
        );
        assert_eq!(
            decode_claims(&Secret::new(not_json)),
            Err(ClaimsError::NotJson)
        );
    }
}
