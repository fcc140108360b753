//! The registry's trust-configuration API, as npm 11.19.1 calls it
//! (`lib/trust-cmd.js`, `lib/commands/trust/*.js`, through
//! npm-registry-fetch):
//!
//! * `GET /-/package/<escapedName>/trust`: the configurations (`npm trust list`);
//! * `POST /-/package/<escapedName>/trust` with `[{type, claims, permissions}]`
//!   (`npm trust github|gitlab|circleci`);
//! * `DELETE /-/package/<escapedName>/trust/<encodeURIComponent(id)>`
//!   (`npm trust revoke`).
//!
//! The bodies are npm's `optionsToBody` (key order included: npm sends
//! `JSON.stringify([config])`), the headers npm-registry-fetch's
//! (`npm-command: trust`, `npm-auth-type`, `npm-otp` when a code is given).
//! Reading a configuration is npm's `bodyToOptions`, plus what npm drops
//! (claims it does not show, permission names it does not know), so a
//! comparison never calls a configuration the same when it is not.

// A registry error carries what a maintainer needs to read; one per failure.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::{Existing, Permissions, Publisher, Wanted};
use crate::js::encode_uri_component;
use crate::registry::{self, Auth, Client, Observer, RegistryError, Request, Response};
use crate::secret::Secret;

/// One package's trust endpoint, with the credential for its registry.
pub struct Endpoint<'a> {
    pub client: &'a Client,
    pub auth: Option<&'a Auth>,
    /// `<registry>/-/package/<escapedName>/trust`.
    pub url: String,
    /// The package name, for messages.
    pub name: String,
    /// `npm-auth-type` (`legacy` once a code is given, as npm's otp flag sets it).
    pub auth_type: String,
}

/// How a change request ended.
pub enum Answer {
    Done,
    /// 429: not applied; try again after this long (the registry's
    /// `Retry-After`, when it sent one).
    RateLimited(Option<Duration>),
}

impl Endpoint<'_> {
    fn headers(&self, otp: Option<&Secret<String>>, body: bool) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        if body {
            h.push(("content-type", "application/json".to_string()));
        }
        h.push(("accept", "*/*".to_string()));
        h.push(("npm-command", "trust".to_string()));
        let auth_type = if otp.is_some() {
            "legacy".to_string()
        } else {
            self.auth_type.clone()
        };
        h.push(("npm-auth-type", auth_type));
        if let Some(code) = otp {
            h.push(("npm-otp", code.expose().clone()));
        }
        h
    }

    /// `npm trust list`: the configurations the registry holds.
    pub fn list(
        &self,
        otp: Option<&Secret<String>>,
        obs: &dyn Observer,
    ) -> Result<Result<Vec<Existing>, String>, RegistryError> {
        let req = Request {
            method: "GET",
            url: self.url.clone(),
            headers: self.headers(otp, false),
            body: None,
            auth: self.auth,
            spec: self.name.clone(),
        };
        let r = self.client.send(&req, obs)?;
        Ok(parse_list(&r.body))
    }

    /// `npm trust <provider>`: one configuration created. Sent once (a POST
    /// whose answer is lost is found by the next run's list).
    pub fn create(
        &self,
        w: &Wanted,
        otp: Option<&Secret<String>>,
    ) -> Result<Answer, RegistryError> {
        let body = create_body(w);
        let req = Request {
            method: "POST",
            url: self.url.clone(),
            headers: self.headers(otp, true),
            body: Some(&body),
            auth: self.auth,
            spec: self.name.clone(),
        };
        self.once(&req)
    }

    /// `npm trust revoke --id <id>`.
    pub fn revoke(&self, id: &str, otp: Option<&Secret<String>>) -> Result<Answer, RegistryError> {
        let req = Request {
            method: "DELETE",
            url: format!("{}/{}", self.url, encode_uri_component(id)),
            headers: self.headers(otp, false),
            body: None,
            auth: self.auth,
            spec: self.name.clone(),
        };
        self.once(&req)
    }

    fn once(&self, req: &Request<'_>) -> Result<Answer, RegistryError> {
        let r: Response = self.client.send_once(req)?;
        match r.status {
            200..=299 => Ok(Answer::Done),
            429 => Ok(Answer::RateLimited(
                r.header("retry-after")
                    .and_then(crate::http::parse_retry_after),
            )),
            _ => Err(registry::answer_error(req, &r)),
        }
    }
}

/// `<registry>/-/package/<escapedName>/trust`, as npm-registry-fetch joins a
/// relative URI to the registry (its path kept).
pub fn trust_url(registry: &crate::config::Registry, escaped: &str) -> String {
    registry.package_url(&format!("-/package/{escaped}/trust"))
}

/// npm's `optionsToBody` plus `permissions`, in an array of one, as
/// `JSON.stringify` writes it.
pub fn create_body(w: &Wanted) -> Vec<u8> {
    let claims = match &w.publisher {
        Publisher::GitHub {
            repository,
            file,
            environment,
        } => {
            let mut c = Map::new();
            c.insert("repository".into(), json!(repository));
            c.insert("workflow_ref".into(), json!({ "file": file }));
            if let Some(e) = environment.as_ref().filter(|e| !e.is_empty()) {
                c.insert("environment".into(), json!(e));
            }
            c
        }
        Publisher::GitLab {
            project,
            file,
            environment,
        } => {
            let mut c = Map::new();
            c.insert("project_path".into(), json!(project));
            c.insert("ci_config_ref_uri".into(), json!({ "file": file }));
            if let Some(e) = environment.as_ref().filter(|e| !e.is_empty()) {
                c.insert("environment".into(), json!(e));
            }
            c
        }
        Publisher::CircleCi {
            org_id,
            project_id,
            pipeline_definition_id,
            vcs_origin,
            context_ids,
        } => {
            let mut c = Map::new();
            c.insert("oidc.circleci.com/org-id".into(), json!(org_id));
            c.insert("oidc.circleci.com/project-id".into(), json!(project_id));
            c.insert(
                "oidc.circleci.com/pipeline-definition-id".into(),
                json!(pipeline_definition_id),
            );
            c.insert("oidc.circleci.com/vcs-origin".into(), json!(vcs_origin));
            if !context_ids.is_empty() {
                c.insert("oidc.circleci.com/context-ids".into(), json!(context_ids));
            }
            c
        }
    };
    let config = json!({
        "type": w.publisher.kind(),
        "claims": Value::Object(claims),
        "permissions": w.permissions.names(),
    });
    serde_json::to_vec(&Value::Array(vec![config])).unwrap_or_default()
}

/// The registry's answer to the list (an array, or one object as npm also
/// accepts), or what is wrong with it.
pub fn parse_list(body: &[u8]) -> Result<Vec<Existing>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the registry's answer is not JSON ({e})"))?;
    let items = match v {
        Value::Array(a) => a,
        Value::Object(o) => vec![Value::Object(o)],
        Value::Null => Vec::new(),
        _ => return Err("the registry's answer is not a list of configurations".into()),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| existing(item).ok_or_else(|| format!("configuration {} has no id", i + 1)))
        .collect()
}

/// A string claim; numbers are shown as the registry wrote them.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One configuration: npm's `bodyToOptions`, and what npm would not show.
fn existing(item: &Value) -> Option<Existing> {
    let id = text(item.get("id"))?;
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let empty = Map::new();
    let claims = item
        .get("claims")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let file_of = |k: &str| text(claims.get(k).and_then(|v| v.get("file")));
    let (publisher, known): (Option<Publisher>, &[&str]) = match kind.as_str() {
        "github" => (
            match (text(claims.get("repository")), file_of("workflow_ref")) {
                (Some(repository), Some(file)) => Some(Publisher::GitHub {
                    repository,
                    file,
                    environment: text(claims.get("environment")),
                }),
                _ => None,
            },
            &["repository", "workflow_ref", "environment"],
        ),
        "gitlab" => (
            match (
                text(claims.get("project_path")),
                file_of("ci_config_ref_uri"),
            ) {
                (Some(project), Some(file)) => Some(Publisher::GitLab {
                    project,
                    file,
                    environment: text(claims.get("environment")),
                }),
                _ => None,
            },
            &["project_path", "ci_config_ref_uri", "environment"],
        ),
        "circleci" => {
            let c = |k: &str| text(claims.get(&format!("oidc.circleci.com/{k}")));
            let contexts: Vec<String> = claims
                .get("oidc.circleci.com/context-ids")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| text(Some(v))).collect())
                .unwrap_or_default();
            (
                match (
                    c("org-id"),
                    c("project-id"),
                    c("pipeline-definition-id"),
                    c("vcs-origin"),
                ) {
                    (
                        Some(org_id),
                        Some(project_id),
                        Some(pipeline_definition_id),
                        Some(vcs_origin),
                    ) => Some(Publisher::CircleCi {
                        org_id,
                        project_id,
                        pipeline_definition_id,
                        vcs_origin,
                        context_ids: contexts,
                    }),
                    _ => None,
                },
                &[
                    "oidc.circleci.com/org-id",
                    "oidc.circleci.com/project-id",
                    "oidc.circleci.com/pipeline-definition-id",
                    "oidc.circleci.com/vcs-origin",
                    "oidc.circleci.com/context-ids",
                ],
            )
        }
        _ => (None, &[]),
    };
    let mut other_claims: Vec<String> = claims
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    // `workflow_ref`/`ci_config_ref_uri` hold more than the file?
    for k in ["workflow_ref", "ci_config_ref_uri"] {
        if let Some(o) = claims.get(k).and_then(Value::as_object) {
            other_claims.extend(
                o.keys()
                    .filter(|f| *f != "file")
                    .map(|f| format!("{k}.{f}")),
            );
        }
    }
    let (permissions, other_permissions) = match item.get("permissions").and_then(Value::as_array) {
        Some(a) => {
            let (p, o) = Permissions::from_names(a.iter().filter_map(Value::as_str));
            (Some(p), o)
        }
        None => (None, Vec::new()),
    };
    Some(Existing {
        id,
        kind,
        publisher,
        permissions,
        other_permissions,
        other_claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_body_is_npms_byte_for_byte() {
        // npm 11.19.1: `npm trust github pkg --file release.yml --repository
        // acme/w --env npm --allow-publish --allow-stage-publish` sends this.
        let w = Wanted {
            publisher: Publisher::GitHub {
                repository: "acme/w".into(),
                file: "release.yml".into(),
                environment: Some("npm".into()),
            },
            permissions: Permissions {
                publish: true,
                stage: true,
            },
        };
        assert_eq!(
            String::from_utf8(create_body(&w)).unwrap(),
            r#"[{"type":"github","claims":{"repository":"acme/w","workflow_ref":{"file":"release.yml"},"environment":"npm"},"permissions":["createPackage","createStagedPackage"]}]"#
        );
        let c = Wanted {
            publisher: Publisher::CircleCi {
                org_id: "o".into(),
                project_id: "p".into(),
                pipeline_definition_id: "d".into(),
                vcs_origin: "github.com/a/b".into(),
                context_ids: vec![],
            },
            permissions: Permissions {
                publish: false,
                stage: true,
            },
        };
        assert_eq!(
            String::from_utf8(create_body(&c)).unwrap(),
            r#"[{"type":"circleci","claims":{"oidc.circleci.com/org-id":"o","oidc.circleci.com/project-id":"p","oidc.circleci.com/pipeline-definition-id":"d","oidc.circleci.com/vcs-origin":"github.com/a/b"},"permissions":["createStagedPackage"]}]"#
        );
    }

    #[test]
    fn a_list_keeps_what_npm_would_not_show() {
        let list = parse_list(
            br#"[{"id":"a1","type":"github","claims":{"repository":"acme/w","workflow_ref":{"file":"release.yml","ref":"refs/heads/main"},"actor":"x"},"permissions":["createPackage","other"]},
                 {"id":"b2","type":"buildkite","claims":{"organization_slug":"acme"}},
                 {"id":"c3","type":"gitlab","claims":{"project_path":"g/p","ci_config_ref_uri":{"file":".gitlab-ci.yml"},"environment":"prod"},"permissions":[]}]"#,
        )
        .unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].other_claims, vec!["actor", "workflow_ref.ref"]);
        assert_eq!(list[0].other_permissions, vec!["other"]);
        assert_eq!(list[1].publisher, None);
        assert_eq!(list[1].permissions, None, "no permissions field: not known");
        assert_eq!(
            list[2].publisher,
            Some(Publisher::GitLab {
                project: "g/p".into(),
                file: ".gitlab-ci.yml".into(),
                environment: Some("prod".into())
            })
        );
        assert_eq!(parse_list(b"").unwrap(), vec![]);
        assert_eq!(parse_list(b"[]").unwrap(), vec![]);
        assert!(parse_list(b"[{\"type\":\"github\"}]").is_err(), "no id");
        assert!(parse_list(b"<html>").is_err());
    }
}
