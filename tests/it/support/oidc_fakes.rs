//! Fakes for npm trusted publishing (OIDC), faithful enough to test a
//! client against: an identity provider and the registry's token exchange.
//!
//! How trusted publishing works, and which part each fake plays:
//!
//! 1. The CI job gets an **ID token**: a JWT signed by its CI provider.
//!    GitHub Actions serves it on request (`ACTIONS_ID_TOKEN_REQUEST_URL` +
//!    `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `&audience=npm:<registry host>`);
//!    GitLab and CircleCI jobs put it in `NPM_ID_TOKEN` themselves.
//!    → [`OidcIssuer`] (with claim builders in [`claims`]).
//! 2. The client POSTs it to the registry's
//!    `/-/npm/v1/oidc/token/exchange/package/<escaped name>`. The registry
//!    verifies the JWT against the issuer's published keys, checks the
//!    audience, and matches the claims against the package's trusted
//!    publisher; on success it returns a short-lived token for that package.
//!    → [`ExchangeProxy`] (with [`TrustPolicy`]), in front of the real
//!    Verdaccio from [`super::verdaccio`], which stores what is published.
//! 3. The client publishes with that token. → forwarded by the proxy to
//!    Verdaccio, after checking the token's package and allowed actions.
//!
//! Typical use:
//!
//! ```ignore
//! let issuer = OidcIssuer::github();
//! let proxy = ExchangeProxy::start(&[&issuer]);
//! let name = unique_name("happy");
//! proxy.seed(&name, "1.0.0");
//! proxy.trust(&name, TrustPolicy::github("acme", "widgets", "release.yml"));
//! issuer.set_job(issuer.github_claims("acme", "widgets", "release.yml").build());
//! // run the client with ACTIONS_ID_TOKEN_REQUEST_URL = issuer.request_url(),
//! // ACTIONS_ID_TOKEN_REQUEST_TOKEN = issuer.request_token(), registry = proxy.url()
//! ```
//!
//! The Verdaccio instance is shared by the whole test binary: give every
//! package a fresh name ([`unique_name`], [`unique_scoped_name`]).

pub mod claims;
pub mod issuer;
pub mod jwt;
pub mod policy;
pub mod proxy;
pub mod seed;

mod selftest;

use std::sync::atomic::{AtomicUsize, Ordering};

use rand::Rng as _;

// Re-exported for the tests that use the fakes; not all are used yet.
#[allow(unused_imports)]
pub use super::http::{request as http, HttpResponse};
#[allow(unused_imports)]
pub use claims::{CircleciClaims, GithubClaims, GitlabClaims};
#[allow(unused_imports)]
pub use issuer::{Fault, OidcIssuer};
#[allow(unused_imports)]
pub use jwt::JwtKey;
#[allow(unused_imports)]
pub use policy::{Action, Publisher, TrustPolicy};
#[allow(unused_imports)]
pub use proxy::{
    messages, ActionCheck, ExchangeProxy, ExchangeRecord, Grant, Outcome, ProxyRequest, Route,
};
#[allow(unused_imports)]
pub use seed::{escape_name, publish_document, seed_package, seed_token};

/// The CI provider an issuer stands for (the registry treats each
/// provider's claims differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GitHub,
    GitLab,
    CircleCi,
}

fn unique_suffix(label: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let r: [u8; 3] = rand::thread_rng().gen();
    format!("{label}-{}-{n}-{}", std::process::id(), hex::encode(r))
}

/// A package name nobody else in this test binary uses:
/// `trustpub-oidc-<label>-<pid>-<n>-<random>`.
pub fn unique_name(label: &str) -> String {
    format!("trustpub-oidc-{}", unique_suffix(label))
}

/// Like [`unique_name`], scoped: `@trustpub-oidc/<label>-<pid>-<n>-<random>`.
pub fn unique_scoped_name(label: &str) -> String {
    format!("@trustpub-oidc/{}", unique_suffix(label))
}
