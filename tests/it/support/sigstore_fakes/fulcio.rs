//! [`FakeFulcio`]: a Fulcio v2 certificate authority on 127.0.0.1.
//!
//! `POST /api/v2/signingCert` as real Fulcio answers it (sigstore/fulcio
//! `pkg/server/grpc_server.go`, behind grpc-gateway):
//!
//! 1. The OIDC token (`credentials.oidcIdentityToken`) is authenticated as
//!    Fulcio's issuer pool does: its `iss` must be a configured issuer; the
//!    issuer's keys are fetched over HTTP (discovery document, then JWKS);
//!    the RS256 signature must verify; `aud` must contain the client ID
//!    `sigstore`; `exp` must not have passed; `nbf`, if present, must not
//!    be more than 5 minutes ahead (go-oidc). Any failure → **400**
//!    `There was an error processing the identity token`.
//! 2. `publicKeyRequest.publicKey.content` must parse (PEM or base64 DER;
//!    this fake takes ECDSA P-256 only) → else 400
//!    `The public key supplied in the request could not be parsed`.
//! 3. `publicKeyRequest.proofOfPossession` (base64 DER ECDSA-SHA256) must
//!    verify over the principal's name: the token's `sub` for CI issuers,
//!    its (verified) `email` for e-mail issuers → else 400
//!    `The signature supplied in the request could not be verified`.
//! 4. The leaf is issued (see [`super::ca`]) with an embedded SCT, and the
//!    answer is **201** `{"signedCertificateEmbeddedSct":{"chain":{"certificates":
//!    [leaf PEM, intermediate PEM, root PEM]}}}`.
//!
//! Error bodies are grpc-gateway's: `{"code":3,"message":"…","details":[]}`
//! (the reason Fulcio logs is in [`Record::detail`]). A CSR
//! (`certificateSigningRequest`) is refused with 400 (npm never sends one).
//! Also served: `GET /api/v2/trustBundle`, `GET /api/v2/configuration`.
//!
//! Bounded like the other fakes: 127.0.0.1, OS-chosen port, at most
//! [`http::MAX_CONNECTIONS`] connections during at most [`http::LIFETIME`];
//! stops when dropped.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

use super::super::http::{path_of, Request, Server};
use super::super::oidc_fakes::issuer::fetch_jwks;
use super::super::oidc_fakes::jwt::{self, now};
use super::super::oidc_fakes::{OidcIssuer, Provider};
use super::ca::{
    identity_from_claims, CertAuthority, CtLog, Identity, IssuerKind, Leaf, LEAF_VALIDITY,
};
use super::crypto::{b64_decode, parse_public_key, verify_der, EcKey};
use super::http::{self, Fault, Journal, Record, Reply};

/// Fulcio's client messages (`pkg/server/error.go`).
pub mod messages {
    pub const INVALID_IDENTITY_TOKEN: &str = "There was an error processing the identity token";
    pub const INVALID_PUBLIC_KEY: &str =
        "The public key supplied in the request could not be parsed";
    pub const INVALID_SIGNATURE: &str =
        "The signature supplied in the request could not be verified";
    pub const INVALID_CSR: &str = "The certificate signing request could not be parsed";
}

/// An issuer Fulcio accepts tokens from.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    /// Exactly the tokens' `iss`.
    pub url: String,
    pub kind: IssuerKind,
}

impl TrustedIssuer {
    /// A fake OIDC issuer, of the kind its provider maps to (GitHub →
    /// `github-workflow`, GitLab → `gitlab-pipeline`). Panics for CircleCI,
    /// which npm provenance does not support.
    pub fn from_oidc(issuer: &OidcIssuer) -> TrustedIssuer {
        let kind = match issuer.provider() {
            Provider::GitHub => IssuerKind::GithubWorkflow,
            Provider::GitLab => IssuerKind::GitlabPipeline,
            Provider::CircleCi => panic!("the fake Fulcio has no CircleCI mapping"),
        };
        TrustedIssuer {
            url: issuer.url(),
            kind,
        }
    }
}

/// How to start a [`FakeFulcio`].
#[derive(Debug, Clone)]
pub struct FulcioOptions {
    pub issuers: Vec<TrustedIssuer>,
    /// Issue from an intermediate (root → intermediate → leaf), as
    /// public-good does. Default true; false issues from the root.
    pub intermediate: bool,
    /// Embed an SCT (default true).
    pub embed_sct: bool,
    /// The audience tokens must carry (default `sigstore`).
    pub client_id: String,
    /// Leaf lifetime in seconds (default 600).
    pub validity_secs: u64,
    /// Names the CA's certificates (`CN=<label>-root` …).
    pub label: String,
}

impl Default for FulcioOptions {
    fn default() -> Self {
        FulcioOptions {
            issuers: Vec::new(),
            intermediate: true,
            embed_sct: true,
            client_id: "sigstore".into(),
            validity_secs: LEAF_VALIDITY.as_secs(),
            label: "fake-fulcio".into(),
        }
    }
}

/// A certificate the fake issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub leaf: Leaf,
    pub identity: Identity,
    /// The verified token claims it was issued for.
    pub claims: Map<String, Value>,
    /// The client's public key (SPKI DER).
    pub public_key: Vec<u8>,
}

struct Inner {
    url: String,
    options: FulcioOptions,
    ca: CertAuthority,
    ct: CtLog,
    journal: Journal,
    issued: Mutex<Vec<Issued>>,
}

/// The fake Fulcio. See the module docs.
pub struct FakeFulcio {
    inner: Arc<Inner>,
    // Dropped after `inner`'s other users: stops the server.
    _server: Server,
}

impl FakeFulcio {
    /// A Fulcio that trusts these fake issuers (GitHub / GitLab kinds).
    pub fn start(issuers: &[&OidcIssuer]) -> FakeFulcio {
        FakeFulcio::start_with(FulcioOptions {
            issuers: issuers
                .iter()
                .map(|i| TrustedIssuer::from_oidc(i))
                .collect(),
            ..FulcioOptions::default()
        })
    }

    pub fn start_with(options: FulcioOptions) -> FakeFulcio {
        let (server, inner) = http::start(
            |server| Inner {
                url: server.origin(),
                ca: CertAuthority::new(options.intermediate, &options.label),
                ct: CtLog::new(),
                options,
                journal: Journal::default(),
                issued: Mutex::new(Vec::new()),
            },
            |inner| &inner.journal,
            answer,
        );
        FakeFulcio {
            inner,
            _server: server,
        }
    }

    /// `http://127.0.0.1:<port>` (the `fulcioBaseURL`).
    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    pub fn options(&self) -> &FulcioOptions {
        &self.inner.options
    }

    pub fn ca(&self) -> &CertAuthority {
        &self.inner.ca
    }

    pub fn ct_log(&self) -> &CtLog {
        &self.inner.ct
    }

    /// DER certificates from the issuing CA up to the root.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        self.inner.ca.chain_der()
    }

    /// Every request, with status and reason.
    pub fn records(&self) -> Vec<Record> {
        self.inner.journal.records.lock().unwrap().clone()
    }

    /// The requests to `/api/v2/signingCert` only.
    pub fn signing_requests(&self) -> Vec<Record> {
        self.records()
            .into_iter()
            .filter(|r| path_of(&r.request.url) == "/api/v2/signingCert")
            .collect()
    }

    /// Every certificate issued, in order.
    pub fn issued(&self) -> Vec<Issued> {
        self.inner.issued.lock().unwrap().clone()
    }

    /// Queues answers for the next `POST /api/v2/signingCert` requests.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.inner.journal.faults.lock().unwrap().extend(faults);
    }

    /// Issues a leaf directly, without HTTP and without checking anything
    /// (for tests that need a certificate this CA signed for some key).
    pub fn issue_for(&self, key: &EcKey, identity: &Identity) -> Leaf {
        let ct = self.inner.options.embed_sct.then_some(&self.inner.ct);
        self.inner
            .ca
            .issue_leaf(
                &key.spki_der(),
                identity,
                ct,
                self.inner.options.validity_secs,
            )
            .expect("issue leaf")
    }
}

/// The request body sigstore-js sends: the token, the key as SPKI PEM, and
/// `proof` as the proof of possession (base64 of the DER signature).
pub fn signing_request(token: &str, key: &EcKey, proof: &[u8]) -> Value {
    json!({
        "credentials": { "oidcIdentityToken": token },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": key.spki_pem() },
            "proofOfPossession": super::crypto::b64(proof),
        }
    })
}

/// The challenge sigstore-js signs for a token (`util/oidc.js`): the
/// `email` if present (it must be verified), else `sub`.
pub fn challenge_of(token: &str) -> Result<String, String> {
    let d = jwt::decode(token)?;
    if let Some(email) = d.claims.get("email").and_then(Value::as_str) {
        if d.claims.get("email_verified") != Some(&Value::Bool(true)) {
            return Err("JWT email not verified by issuer".into());
        }
        return Ok(email.to_string());
    }
    d.claims
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| "JWT subject not found".into())
}

/// grpc-gateway's error body; `code` is the gRPC code for the status.
fn error(status: u16, message: &str) -> Reply {
    let code = match status {
        400 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 6,
        429 => 8,
        501 => 12,
        503 => 14,
        504 => 4,
        _ => 13,
    };
    Reply::json(
        status,
        &json!({ "code": code, "message": message, "details": [] }),
    )
}

fn answer(req: &Request, inner: &Inner, stop: &AtomicBool) -> (Reply, String) {
    let path = path_of(&req.url);
    match (req.method.as_str(), path) {
        ("POST", "/api/v2/signingCert") => {
            if let Some(r) = inner.journal.fault_reply(stop, error) {
                return r;
            }
            match signing_cert(req, inner) {
                Ok((reply, detail)) => (reply, detail),
                Err((status, message, detail)) => (error(status, &message), detail),
            }
        }
        ("GET", "/api/v2/trustBundle") => {
            let chain: Vec<String> = inner.ca.chain_pem();
            (
                Reply::json(200, &json!({ "chains": [{ "certificates": chain }] })),
                "trust bundle".into(),
            )
        }
        ("GET", "/api/v2/configuration") => {
            let issuers: Vec<Value> = inner
                .options
                .issuers
                .iter()
                .map(|i| {
                    json!({
                        "issuerUrl": i.url,
                        "audience": inner.options.client_id,
                        "challengeClaim": if i.kind == IssuerKind::Email { "email" } else { "sub" },
                    })
                })
                .collect();
            (
                Reply::json(200, &json!({ "issuers": issuers })),
                "configuration".into(),
            )
        }
        (_, "/api/v2/signingCert") => (error(405, "Method Not Allowed"), "method".into()),
        _ => (error(404, "Not Found"), "no such path".into()),
    }
}

/// `(status, client message, reason)`.
type Refusal = (u16, String, String);

fn refuse(status: u16, message: &str, detail: impl Into<String>) -> Refusal {
    (status, message.to_string(), detail.into())
}

fn token_error(detail: impl Into<String>) -> Refusal {
    refuse(400, messages::INVALID_IDENTITY_TOKEN, detail)
}

/// Authenticates a token as Fulcio's issuer pool does; returns the verified
/// claims and the issuer's kind.
fn authenticate(token: &str, inner: &Inner) -> Result<(Map<String, Value>, IssuerKind), Refusal> {
    if token.is_empty() {
        return Err(token_error("no OIDC identity token in the request"));
    }
    let unverified =
        jwt::decode(token).map_err(|e| token_error(format!("malformed token: {e}")))?;
    let iss = unverified
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| token_error("the token has no iss"))?
        .to_string();
    let issuer = inner
        .options
        .issuers
        .iter()
        .find(|i| i.url == iss)
        .ok_or_else(|| {
            token_error(format!(
                "failed to get issuer: {iss} is not a configured issuer"
            ))
        })?;
    let jwks =
        fetch_jwks(&iss).map_err(|e| token_error(format!("fetching the issuer's keys: {e}")))?;
    let verified = jwt::verify_with_jwks(token, &jwks)
        .map_err(|e| token_error(format!("oidc: failed to verify signature: {e}")))?;
    let claims = verified.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.url.as_str()) {
        return Err(token_error("oidc: id token issued by a different provider"));
    }
    let client_id = inner.options.client_id.as_str();
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err(token_error(format!(
            "oidc: expected audience {client_id:?} got {}",
            claims.get("aud").cloned().unwrap_or(Value::Null)
        )));
    }
    let t = now();
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > t => {}
        Some(exp) => {
            return Err(token_error(format!(
                "oidc: token is expired (Token Expiry: {exp}, now {t})"
            )))
        }
        None => return Err(token_error("oidc: token has no exp (treated as expired)")),
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64) {
        if t + 300 < nbf {
            return Err(token_error(format!(
                "oidc: current time {t} before the nbf (not before) time: {nbf}"
            )));
        }
    }
    Ok((claims, issuer.kind))
}

fn signing_cert(req: &Request, inner: &Inner) -> Result<(Reply, String), Refusal> {
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| refuse(400, "request body is not JSON", format!("bad JSON: {e}")))?;
    let token = body["credentials"]["oidcIdentityToken"]
        .as_str()
        .unwrap_or("");
    let (claims, kind) = authenticate(token, inner)?;
    // The principal's name, which the proof of possession signs. E-mail
    // principals are checked while authenticating.
    let challenge = match kind {
        IssuerKind::Email => {
            let email = claims.get("email").and_then(Value::as_str);
            match (email, claims.get("email_verified")) {
                (Some(e), Some(Value::Bool(true))) => e.to_string(),
                (None, _) => return Err(token_error("token missing email claim")),
                _ => return Err(token_error("email_verified claim was false")),
            }
        }
        _ => claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    };

    if body.get("certificateSigningRequest").is_some() {
        return Err(refuse(
            400,
            messages::INVALID_CSR,
            "this fake does not take CSRs",
        ));
    }
    let pkr = &body["publicKeyRequest"];
    let content = pkr["publicKey"]["content"].as_str().unwrap_or("");
    let spki =
        parse_public_key(content).map_err(|e| refuse(400, messages::INVALID_PUBLIC_KEY, e))?;
    let proof = pkr["proofOfPossession"]
        .as_str()
        .ok_or_else(|| refuse(400, messages::INVALID_SIGNATURE, "no proofOfPossession"))
        .and_then(|p| b64_decode(p).map_err(|e| refuse(400, messages::INVALID_SIGNATURE, e)))?;
    verify_der(&spki, challenge.as_bytes(), &proof).map_err(|e| {
        refuse(
            400,
            messages::INVALID_SIGNATURE,
            format!("proof of possession over {challenge:?}: {e}"),
        )
    })?;

    // Fulcio renders the CI templates while building the certificate; a
    // missing claim is a validation error, answered 400 with its text.
    let identity = identity_from_claims(kind, &claims).map_err(|e| (400, e.clone(), e))?;
    let ct = inner.options.embed_sct.then_some(&inner.ct);
    let leaf = inner
        .ca
        .issue_leaf(&spki, &identity, ct, inner.options.validity_secs)
        .map_err(|e| (400, e.clone(), e))?;
    let mut chain = vec![leaf.pem.clone()];
    chain.extend(inner.ca.chain_pem());
    let detail = format!("issued for {}", identity.san.as_str());
    inner.issued.lock().unwrap().push(Issued {
        leaf,
        identity,
        claims,
        public_key: spki,
    });
    Ok((
        Reply::json(
            201,
            &json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": chain } } }),
        ),
        detail,
    ))
}
