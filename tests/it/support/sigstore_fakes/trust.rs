//! The `trusted_root.json` for a fake Fulcio + Rekor pair
//! (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`, the shape
//! of Sigstore's public-good root from TUF): the CA chain, the CT log key,
//! the Rekor key, their log IDs and base URLs.

use serde_json::{json, Value};

use super::crypto::b64;
use super::fulcio::FakeFulcio;
use super::rekor::FakeRekor;

pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// When the fakes' keys and CA start being valid in the trusted root.
pub const VALID_FROM: &str = "2020-01-01T00:00:00Z";

/// The trusted root a verifier needs for bundles made with `fulcio` and
/// `rekor`: `certificateAuthorities` (the chain from the issuing CA to the
/// root, as public-good lists it), `tlogs` (Rekor: `baseUrl` = its URL, key,
/// `logId`), `ctlogs` (the fake CT log), no timestamp authorities.
pub fn trusted_root(fulcio: &FakeFulcio, rekor: &FakeRekor) -> Value {
    let chain: Vec<Value> = fulcio
        .chain_der()
        .iter()
        .map(|d| json!({ "rawBytes": b64(d) }))
        .collect();
    let label = &fulcio.options().label;
    json!({
        "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
        "tlogs": [{
            "baseUrl": rekor.url(),
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(&rekor.key().spki_der()),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": { "start": VALID_FROM },
            },
            "logId": { "keyId": b64(&rekor.log_id()) },
        }],
        "certificateAuthorities": [{
            "subject": { "organization": "trustpub-test.invalid", "commonName": format!("{label}-root") },
            "uri": fulcio.url(),
            "certChain": { "certificates": chain },
            "validFor": { "start": VALID_FROM },
        }],
        "ctlogs": [{
            "baseUrl": format!("{}/ct", fulcio.url()),
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(&fulcio.ct_log().key.spki_der()),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": { "start": VALID_FROM },
            },
            "logId": { "keyId": b64(&fulcio.ct_log().log_id()) },
        }],
        "timestampAuthorities": [],
    })
}
