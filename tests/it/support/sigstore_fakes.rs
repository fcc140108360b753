//! Fakes for Sigstore (npm provenance), faithful enough to test a client
//! against, and an independent verifier to judge what the client made.
//!
//! How npm 11.19.1 makes provenance, and which part each fake plays
//! (details: `/work/shared/spec/provenance-sigstore.md` §2, §7):
//!
//! 1. The CI job gets an OIDC token with `aud: sigstore` (GitHub:
//!    `ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore`; GitLab:
//!    `SIGSTORE_ID_TOKEN`). → [`super::oidc_fakes::OidcIssuer`].
//! 2. It makes an ephemeral P-256 key and asks **Fulcio** for a
//!    certificate: `POST /api/v2/signingCert` with the token, the public
//!    key and a proof of possession (a signature over the token's `sub`).
//!    → [`FakeFulcio`]: checks the token (JWKS over HTTP, audience, expiry,
//!    trusted issuer) and the proof, and issues a Fulcio-shaped leaf
//!    (identity SAN, `1.3.6.1.4.1.57264.1.*` extensions from the claims)
//!    from a test CA with an SCT from a fake CT log embedded.
//! 3. It signs the in-toto statement as DSSE and logs it in **Rekor**:
//!    `POST /api/v1/log/entries` (`dsse` 0.0.1). → [`FakeRekor`]: checks
//!    the DSSE signature with the certificate, stores the canonical body,
//!    and answers with a SET, an RFC 6962 inclusion proof in a pre-filled
//!    tree and a signed checkpoint.
//! 4. The bundle (v0.3) is attached to the publish. A verifier checks it
//!    against Sigstore's trusted root. → [`trusted_root`] describes the
//!    fakes' keys; [`verify_bundle`] runs npm's own sigstore-js
//!    (`@sigstore/verify`) against it.
//!
//! The verifier shares no code with the fakes or with trustpub: it is the
//! code npm runs, loaded from the reference npm's `node_modules`. The
//! self-tests make bundles with sigstore-js itself
//! ([`sigstore_js_sign`]) against the fakes and check that they verify,
//! and that every kind of tampering ([`tamper`]) is caught.
//!
//! Typical use:
//!
//! ```ignore
//! let issuer = OidcIssuer::github();
//! let sigstore = Sigstore::start(&[&issuer]);
//! // run the client with the Fulcio URL sigstore.fulcio.url() and the Rekor
//! // URL sigstore.rekor.url(), and a token minted with aud "sigstore"
//! let statement = verify_bundle(&bundle, &sigstore.trusted_root(),
//!     "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main",
//!     &issuer.url()).unwrap();
//! ```

pub mod ca;
pub mod crypto;
pub mod fulcio;
pub mod http;
pub mod merkle;
pub mod node;
pub mod rekor;
pub mod tamper;
pub mod trust;

mod selftest;

use serde_json::Value;

use super::oidc_fakes::OidcIssuer;

#[allow(unused_imports)]
pub use ca::{CertAuthority, CtLog, FulcioExtension, Identity, IssuerKind, Leaf, San};
#[allow(unused_imports)]
pub use crypto::EcKey;
#[allow(unused_imports)]
pub use fulcio::{FakeFulcio, FulcioOptions, Issued, TrustedIssuer};
#[allow(unused_imports)]
pub use http::{Fault, Record};
#[allow(unused_imports)]
pub use node::{
    sigstore_js_sign, sigstore_js_sign_many, verify_bundle, verify_bundle_detailed, verify_many,
    Rejection, SignJob, SignMode, Verified, VerifyCase,
};
#[allow(unused_imports)]
pub use rekor::{FakeRekor, LogEntry, RekorOptions};
#[allow(unused_imports)]
pub use tamper::{tamper, Tamper};
#[allow(unused_imports)]
pub use trust::trusted_root;

/// A fake Fulcio and a fake Rekor that belong together.
pub struct Sigstore {
    pub fulcio: FakeFulcio,
    pub rekor: FakeRekor,
}

impl Sigstore {
    /// Fulcio trusting `issuers`, and a Rekor, with default options.
    pub fn start(issuers: &[&OidcIssuer]) -> Sigstore {
        Sigstore {
            fulcio: FakeFulcio::start(issuers),
            rekor: FakeRekor::start(),
        }
    }

    pub fn start_with(fulcio: FulcioOptions, rekor: RekorOptions) -> Sigstore {
        Sigstore {
            fulcio: FakeFulcio::start_with(fulcio),
            rekor: FakeRekor::start_with(rekor),
        }
    }

    /// The trusted root for this pair (see [`trusted_root`]).
    pub fn trusted_root(&self) -> Value {
        trusted_root(&self.fulcio, &self.rekor)
    }
}
