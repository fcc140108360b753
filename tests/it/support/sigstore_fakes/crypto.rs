//! Small cryptographic and encoding helpers shared by the Sigstore fakes:
//! ECDSA P-256 keys (the only key type the fakes use or accept), base64,
//! SHA-256, PEM, DSSE's pre-authentication encoding and canonical JSON.

use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Standard base64 with padding (what Sigstore's JSON uses for bytes).
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64 (padding optional), or, failing that, the
/// URL-safe alphabet, as Go's DSSE code and Rekor accept both.
pub fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .map_err(|e| format!("illegal base64 data: {e}"))
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

/// An ECDSA P-256 key pair.
pub struct EcKey {
    signing: SigningKey,
}

impl EcKey {
    pub fn generate() -> EcKey {
        EcKey {
            signing: SigningKey::random(&mut rand_core::OsRng),
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        *self.signing.verifying_key()
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        self.verifying_key()
            .to_public_key_der()
            .expect("encode SPKI")
            .as_bytes()
            .to_vec()
    }

    /// The public key as `-----BEGIN PUBLIC KEY-----` PEM (64 columns, LF).
    pub fn spki_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki_der())
    }

    /// The uncompressed SEC1 point (the subjectPublicKey bits of the SPKI).
    pub fn point(&self) -> Vec<u8> {
        self.verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// `sha256(SPKI DER)`: a transparency log's log ID for this key.
    pub fn key_id(&self) -> [u8; 32] {
        sha256(&self.spki_der())
    }

    /// ECDSA-SHA256 over `msg`, DER-encoded (what Node's `crypto.sign('sha256', …)`
    /// and Go's `ecdsa.SignASN1` produce).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let sig: Signature = self.signing.sign(msg);
        sig.to_der().as_bytes().to_vec()
    }
}

/// Verifies a DER ECDSA-SHA256 signature with a P-256 key given as SPKI DER.
pub fn verify_der(spki_der: &[u8], msg: &[u8], sig_der: &[u8]) -> Result<(), String> {
    let key = VerifyingKey::from_public_key_der(spki_der)
        .map_err(|e| format!("not a P-256 public key: {e}"))?;
    let sig = Signature::from_der(sig_der).map_err(|e| format!("malformed signature: {e}"))?;
    key.verify(msg, &sig)
        .map_err(|_| "signature does not verify".to_string())
}

/// Parses a P-256 public key from PEM (`PUBLIC KEY`) or from base64 DER.
pub fn parse_public_key(content: &str) -> Result<Vec<u8>, String> {
    let der = if content.trim_start().starts_with("-----BEGIN") {
        let (label, der) = pem_decode(content)?;
        if label != "PUBLIC KEY" {
            return Err(format!("expected a PUBLIC KEY PEM block, got {label}"));
        }
        der
    } else {
        b64_decode(content.trim())?
    };
    let key = VerifyingKey::from_public_key_der(&der)
        .map_err(|e| format!("not an ECDSA P-256 public key: {e}"))?;
    Ok(key
        .to_public_key_der()
        .expect("encode SPKI")
        .as_bytes()
        .to_vec())
}

/// PEM with 64-column base64 and a trailing newline (Go's `pem.Encode`,
/// sigstore's `MarshalCertificateToPEM`).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b = b64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The label and bytes of the first PEM block in `pem`.
pub fn pem_decode(pem: &str) -> Result<(String, Vec<u8>), String> {
    let start = pem.find("-----BEGIN ").ok_or("no PEM block")?;
    let rest = &pem[start + 11..];
    let label_end = rest.find("-----").ok_or("malformed PEM header")?;
    let label = rest[..label_end].to_string();
    let body = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body.find(&end_marker).ok_or("no PEM end line")?;
    let b: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    Ok((label, b64_decode(&b)?))
}

/// DSSE's pre-authentication encoding:
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// RFC 8785 (JCS) canonical JSON for the values the fakes produce: object
/// keys sorted, no whitespace. (Numbers are written as serde_json writes
/// them, which is JCS for integers; strings use serde_json's escaping,
/// which matches JCS: `"`, `\`, control characters only, lower-case hex.)
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            // JCS sorts by UTF-16 code units; identical to byte order for
            // the ASCII keys used here.
            keys.sort_by(|a, b| {
                a.encode_utf16()
                    .collect::<Vec<_>>()
                    .cmp(&b.encode_utf16().collect::<Vec<_>>())
            });
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                write_canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}
