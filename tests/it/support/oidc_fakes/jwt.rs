//! RS256 JSON Web Tokens: signing keys, their public JWKs, signing, decoding
//! and verification (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3).
//!
//! Generating an RSA-2048 key takes a noticeable moment, so the keys are
//! made once per test process: [`JwtKey::shared`] is the key every
//! [`super::OidcIssuer`] signs with by default, and [`JwtKey::other`] is a
//! second, unrelated key for "signed by somebody else" tests. Issuers that
//! share a key still have distinct `kid`s, so a token from one issuer does
//! not verify against another issuer's JWKS.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Map, Value};
use sha2::Sha256;

/// An RSA-2048 signing key.
pub struct JwtKey {
    public: RsaPublicKey,
    signing: SigningKey<Sha256>,
}

impl JwtKey {
    /// Generates a fresh key (slow-ish: prefer [`JwtKey::shared`]).
    pub fn generate() -> JwtKey {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("generate RSA key");
        JwtKey {
            public: private.to_public_key(),
            signing: SigningKey::<Sha256>::new(private),
        }
    }

    /// The process-wide default key.
    pub fn shared() -> &'static JwtKey {
        static KEY: OnceLock<JwtKey> = OnceLock::new();
        KEY.get_or_init(JwtKey::generate)
    }

    /// A second process-wide key, unrelated to [`JwtKey::shared`].
    pub fn other() -> &'static JwtKey {
        static KEY: OnceLock<JwtKey> = OnceLock::new();
        KEY.get_or_init(JwtKey::generate)
    }

    /// The public key as a JWK (`kty` RSA, `n`, `e`, `kid`, `alg` RS256,
    /// `use` sig), as a JWKS lists it.
    pub fn public_jwk(&self, kid: &str) -> Value {
        json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": b64url(&self.public.n().to_bytes_be()),
            "e": b64url(&self.public.e().to_bytes_be()),
        })
    }

    /// A compact JWS: header `{"alg":"RS256","typ":"JWT","kid":kid}`, the
    /// claims as given, signed with this key.
    pub fn sign(&self, kid: &str, claims: &Map<String, Value>) -> String {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
        self.sign_with_header(&header, claims)
    }

    /// Like [`JwtKey::sign`] with an arbitrary header (e.g. a wrong `alg`).
    pub fn sign_with_header(&self, header: &Value, claims: &Map<String, Value>) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(Value::Object(claims.clone()).to_string().as_bytes())
        );
        let signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", b64url(&signature.to_bytes()))
    }
}

/// Unpadded base64url (RFC 7515 §2).
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url (padding is tolerated).
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| format!("not base64url: {e}"))
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A JWT split into its parts; nothing verified yet.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// `<header>.<payload>`, the bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

/// Splits and decodes a compact JWS without verifying it.
pub fn decode(token: &str) -> Result<Decoded, String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!("a JWT has 3 parts, this has {}", parts.len()));
    }
    let object = |part: &str, what: &str| -> Result<Map<String, Value>, String> {
        let bytes = b64url_decode(part).map_err(|e| format!("{what}: {e}"))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(format!("{what} is not a JSON object")),
        }
    };
    Ok(Decoded {
        header: object(parts[0], "header")?,
        claims: object(parts[1], "payload")?,
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature: b64url_decode(parts[2]).map_err(|e| format!("signature: {e}"))?,
    })
}

/// Verifies an RS256 signature against an RSA JWK (`n`, `e`).
pub fn verify_rs256(jwk: &Value, signing_input: &[u8], signature: &[u8]) -> Result<(), String> {
    if jwk["kty"] != "RSA" {
        return Err(format!("JWK kty is {}, not RSA", jwk["kty"]));
    }
    let part = |name: &str| -> Result<BigUint, String> {
        let s = jwk[name]
            .as_str()
            .ok_or_else(|| format!("JWK has no {name}"))?;
        Ok(BigUint::from_bytes_be(&b64url_decode(s)?))
    };
    let public =
        RsaPublicKey::new(part("n")?, part("e")?).map_err(|e| format!("bad RSA JWK: {e}"))?;
    let signature =
        Signature::try_from(signature).map_err(|e| format!("malformed signature: {e}"))?;
    VerifyingKey::<Sha256>::new(public)
        .verify(signing_input, &signature)
        .map_err(|_| "signature does not verify".to_string())
}

/// Verifies `token` against a JWKS document (`{"keys":[…]}`): the header
/// must say RS256 and name a `kid` the set has. Returns the decoded token.
pub fn verify_with_jwks(token: &str, jwks: &Value) -> Result<Decoded, String> {
    let d = decode(token)?;
    if d.header.get("alg") != Some(&json!("RS256")) {
        return Err(format!("alg is {:?}, not RS256", d.header.get("alg")));
    }
    let kid = d
        .header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or("the header has no kid")?;
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid))
        .ok_or_else(|| format!("kid {kid:?} is not in the JWKS"))?;
    verify_rs256(jwk, d.signing_input.as_bytes(), &d.signature)?;
    Ok(d)
}
