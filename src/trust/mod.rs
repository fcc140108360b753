//! Trusted publishing as a whole: decide whether to try it, get the id
//! token, exchange it, and — when any of that fails — say exactly why and
//! what to change, in words a maintainer can act on without reading docs.
//!
//! npm 11.19.1 (`lib/utils/oidc.js`) does the same requests but logs every
//! failure at verbose level and falls through to `ENEEDAUTH` or a masked 404.
//! Here a failure becomes a [`Diagnosis`]: what failed (the registry's own
//! words included), what the id token claims, the exact values to enter in
//! the package's trusted-publisher settings, and warnings for the known
//! traps (reusable workflows, self-hosted runners, fork pull requests,
//! enterprise issuers, a package that does not exist yet, a `repository`
//! field naming another repository, a 403 that is about allowed actions).
//!
//! What a publish does with the outcome — use the exchanged token, fall
//! back to a configured one, or fail — is decided in [`crate::auth`].
//!
//! This file holds the attempt itself ([`attempt`]); the words of a
//! failure are in `diagnosis.rs`, npm's rule for automatic provenance after
//! a successful exchange ([`provenance_decision`]) in `provenance_rule.rs`,
//! and the UTC dates shown for the token's claims in `utc.rs`.

mod diagnosis;
pub mod drift;
mod provenance_rule;
mod utc;

use serde_json::Value;

use crate::ci::{self, Provider};
use crate::env::Env;
use crate::oidc::{self, decode_claims, Claims, IdTokenSource};
use crate::registry::{Client, Observer};
use crate::secret::Secret;
use crate::ui::Printer;

pub use self::diagnosis::{claim_lines, form_lines, render_form, Diagnosis};
use self::diagnosis::{
    exchange_diagnosis, id_token_diagnosis, local_problems, repository_mismatch,
};
pub use self::provenance_rule::{decide_provenance, provenance_decision, ProvenanceDecision};
pub use self::utc::utc;
/// The mode is the credential decision's, which `crate::auth` owns.
pub use crate::auth::Mode;

/// What an attempt needs.
pub struct Inputs<'a> {
    pub env: &'a Env,
    /// The registry URL the package goes to.
    pub registry: &'a str,
    pub name: &'a str,
    /// `npa(name).escapedName`.
    pub escaped: &'a str,
    /// package.json's `repository`, for the mismatch warning.
    pub repository: Option<&'a Value>,
    /// The `npm-auth-type` header value.
    pub auth_type: String,
    /// A staged publish (`npm-command: stage` on the exchange).
    pub stage: bool,
    pub client: &'a Client,
    pub observer: &'a dyn Observer,
    /// Where the tokens are masked before they can appear anywhere.
    pub printer: &'a Printer,
    /// When a repository file moved the publish to another registry than
    /// the one chosen outside the repository: (the registry it chose, where
    /// it was chosen, the registry chosen outside). No id token is asked
    /// for then: it would go to a host the repository picked.
    pub moved_by_repository: Option<(String, String, String)>,
}

/// How an attempt ended.
pub enum Attempt {
    /// Not GitHub Actions, GitLab CI or CircleCI (or `CI=false`).
    NotInCi,
    /// `--trusted-publishing never`.
    Disabled,
    Ok(Box<Success>),
    Failed(Box<Diagnosis>),
}

/// A publish token from the exchange.
pub struct Success {
    pub token: Secret<String>,
    pub provider: Provider,
    pub source: IdTokenSource,
    pub claims: Option<Claims>,
    /// Still worth saying (a `repository` field naming another repository).
    pub warnings: Vec<String>,
}

impl Success {
    /// For the final line: `trusted publishing (GitHub Actions OIDC)`.
    pub fn describe(&self) -> String {
        format!("trusted publishing ({} OIDC)", self.provider.display_name())
    }
}

/// Which step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    IdToken,
    Exchange,
}

pub fn is_npmjs(registry: &str) -> bool {
    url::Url::parse(registry)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.eq_ignore_ascii_case("registry.npmjs.org"))
        })
        .unwrap_or(false)
}

/// Tries trusted publishing: detection, id token, exchange. Every secret it
/// obtains is masked on GitHub the moment it exists.
pub fn attempt(mode: Mode, i: &Inputs<'_>) -> Attempt {
    if mode == Mode::Never {
        return Attempt::Disabled;
    }
    let Some(provider) = ci::detect(i.env) else {
        return Attempt::NotInCi;
    };
    if let Some((registry, place, outside)) = &i.moved_by_repository {
        return Attempt::Failed(Box::new(Diagnosis {
            provider,
            stage: Stage::IdToken,
            summary: format!(
                "trusted publishing was not tried: the registry {registry} was chosen by {place}, a file in the repository"
            ),
            config_error: true,
            status: None,
            explanation: vec![
                format!(
                    "An id token and the publish token it is exchanged for go only to the registry chosen outside the repository ({outside}): a pull request can change {place}."
                ),
                format!(
                    "If {registry} is right, choose it outside the repository: pass --registry {registry}, or set npm_config_registry in the job."
                ),
            ],
            claims: None,
            values: None,
            warnings: Vec::new(),
            hint: format!("pass --registry {registry} if that registry is right, or remove the setting from {place}"),
            unsupported_registry: true,
            package_missing: false,
            drift: false,
        }));
    }
    let id = match oidc::id_token(i.env, provider, i.registry, i.client, i.observer) {
        Ok(id) => id,
        Err(e) => return Attempt::Failed(Box::new(id_token_diagnosis(provider, &e, i))),
    };
    i.printer.mask(&id.token);
    let claims = decode_claims(&id.token);
    let mut suspects = Vec::new();
    match &claims {
        Ok(c) => suspects.extend(local_problems(c, i)),
        Err(e) => suspects.push(format!(
            "The id token from {} cannot be read: {e}.",
            id.source.describe()
        )),
    }
    let claims = claims.ok();
    match oidc::exchange(
        i.client,
        i.registry,
        i.escaped,
        &id.token,
        &i.auth_type,
        if i.stage { "stage" } else { "publish" },
        i.observer,
    ) {
        Ok(token) => {
            i.printer.mask(&token);
            let warnings = claims
                .as_ref()
                .and_then(|c| repository_mismatch(c, provider, i.repository))
                .into_iter()
                .collect();
            Attempt::Ok(Box::new(Success {
                token,
                provider,
                source: id.source,
                claims,
                warnings,
            }))
        }
        Err(e) => Attempt::Failed(Box::new(exchange_diagnosis(
            provider, id.source, &e, claims, suspects, i,
        ))),
    }
}
