//! npm's rule for automatic provenance after a successful exchange.

use crate::ci::Provider;
use crate::env::Env;

use super::Success;

/// Whether npm would make provenance automatically, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceDecision {
    pub would_sign: bool,
    pub reason: String,
}

/// npm's rule (`oidc.js`, after a successful exchange): provenance stays as
/// configured when `provenance` is set anywhere; otherwise it is turned on
/// for a public GitHub repository, or a public GitLab project with
/// `SIGSTORE_ID_TOKEN`, when the registry says the package is public.
/// CircleCI never gets it. `visibility` asks the registry.
pub fn provenance_decision(
    configured: Option<bool>,
    trusted: Option<(&Success, Provider)>,
    env: &Env,
    visibility: impl FnOnce() -> Result<bool, String>,
) -> ProvenanceDecision {
    let no = |reason: String| ProvenanceDecision {
        would_sign: false,
        reason,
    };
    if let Some(v) = configured {
        return ProvenanceDecision {
            would_sign: v,
            reason: format!("provenance is set to {v} in the configuration"),
        };
    }
    let Some((success, provider)) = trusted else {
        return no(
            "npm makes provenance automatically only after a trusted-publishing exchange".into(),
        );
    };
    let claims = success.claims.as_ref();
    match provider {
        Provider::CircleCi => return no("npm does not make provenance on CircleCI".into()),
        Provider::GitHubActions => {
            let vis = claims
                .and_then(|c| c.str("repository_visibility"))
                .unwrap_or("unknown");
            if vis != "public" {
                return no(format!(
                    "the repository is {vis} (repository_visibility); npm makes provenance only for public repositories"
                ));
            }
        }
        Provider::GitLab => {
            let vis = claims
                .and_then(|c| c.str("project_visibility"))
                .unwrap_or("unknown");
            if vis != "public" {
                return no(format!(
                    "the project is {vis} (project_visibility); npm makes provenance only for public projects"
                ));
            }
            if env.get("SIGSTORE_ID_TOKEN").is_none_or(str::is_empty) {
                return no("SIGSTORE_ID_TOKEN is not set; add `SIGSTORE_ID_TOKEN: {aud: sigstore}` under the job's id_tokens".into());
            }
        }
    }
    match visibility() {
        Ok(true) => ProvenanceDecision {
            would_sign: true,
            reason: "the repository is public and the registry says the package is public".into(),
        },
        Ok(false) => no("the registry says the package is not public".into()),
        Err(e) => no(format!("the package's visibility could not be read ({e})")),
    }
}

/// [`provenance_decision`] for a publish: the configuration's `provenance`
/// (when set anywhere), the exchange's outcome, and the registry's
/// visibility answer (asked with `auth`, only when the claims qualify).
pub fn decide_provenance(
    config: &crate::config::Config,
    trusted: Option<&Success>,
    env: &Env,
    visibility: &dyn Fn() -> Result<bool, String>,
) -> ProvenanceDecision {
    let configured = (!config.is_default("provenance")).then(|| config.provenance());
    provenance_decision(
        configured,
        trusted.map(|s| (s, s.provider)),
        env,
        visibility,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::{Claims, IdTokenSource};
    use crate::secret::Secret;
    use serde_json::Value;

    #[test]
    fn provenance_follows_npms_rule() {
        let env = Env::default();
        let success = |v: Value| Success {
            token: Secret::new("t".into()),
            provider: Provider::GitHubActions,
            source: IdTokenSource::GitHubRequest,
            claims: Some(Claims(v.as_object().cloned().expect("an object"))),
            warnings: Vec::new(),
        };
        let public = success(serde_json::json!({"repository_visibility": "public"}));
        let private = success(serde_json::json!({"repository_visibility": "private"}));
        let gh = Provider::GitHubActions;
        assert!(provenance_decision(None, Some((&public, gh)), &env, || Ok(true)).would_sign);
        assert!(!provenance_decision(None, Some((&public, gh)), &env, || Ok(false)).would_sign);
        let d = provenance_decision(None, Some((&private, gh)), &env, || panic!("not asked"));
        assert!(!d.would_sign && d.reason.contains("private"), "{d:?}");
        assert!(
            !provenance_decision(Some(false), Some((&public, gh)), &env, || Ok(true)).would_sign
        );
        assert!(provenance_decision(Some(true), None, &env, || Ok(false)).would_sign);
        assert!(!provenance_decision(None, None, &env, || Ok(true)).would_sign);
        let gl = success(serde_json::json!({"project_visibility": "public"}));
        let d = provenance_decision(None, Some((&gl, Provider::GitLab)), &env, || Ok(true));
        assert!(!d.would_sign && d.reason.contains("SIGSTORE_ID_TOKEN"));
        let env = Env::from_pairs([("SIGSTORE_ID_TOKEN", "x")]);
        assert!(
            provenance_decision(None, Some((&gl, Provider::GitLab)), &env, || Ok(true)).would_sign
        );
        assert!(
            !provenance_decision(None, Some((&gl, Provider::CircleCi)), &env, || Ok(true))
                .would_sign
        );
    }
}
