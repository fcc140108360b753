//! Tampered copies of a v0.3 DSSE bundle, for negative verification tests.
//! Each [`Tamper`] changes one thing and names the error sigstore-js'
//! `Verifier` reports for it ([`Tamper::expected_code`]).

use serde_json::Value;

use super::crypto::{b64, b64_decode};

/// One modification of a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// The DSSE payload (the statement) changes: its first subject digest
    /// gets a different last hex digit. → `TLOG_BODY_ERROR` (DSSE payload
    /// hash mismatch: the tlog body still names the old payload's hash).
    Payload,
    /// One bit of the DSSE signature flips. → `TLOG_BODY_ERROR` (tlog entry
    /// signature mismatch: the tlog body still holds the original).
    Signature,
    /// The tlog entry's global `logIndex` + 1. → `TLOG_INCLUSION_PROMISE_ERROR`
    /// (the SET covers the index).
    LogIndex,
    /// One bit of the leaf certificate's signature flips. →
    /// `CERTIFICATE_ERROR` (no chain to the trusted CA).
    Certificate,
    /// One bit of the first inclusion-proof hash flips (or, for a proof
    /// without hashes, of the checkpoint's root). → `TLOG_INCLUSION_PROOF_ERROR`.
    InclusionProof,
    /// One bit of the signed entry timestamp flips. →
    /// `TLOG_INCLUSION_PROMISE_ERROR`.
    Set,
    /// One bit of the checkpoint signature flips. →
    /// `TLOG_INCLUSION_PROOF_ERROR` (invalid checkpoint signature).
    Checkpoint,
    /// `integratedTime` + 1. → `TLOG_INCLUSION_PROMISE_ERROR`.
    IntegratedTime,
    /// The canonicalized tlog body changes (its payload hash). →
    /// `TLOG_INCLUSION_PROMISE_ERROR` (the SET covers the body).
    Body,
    /// The inclusion promise (SET) is removed. → `TIMESTAMP_ERROR` (no
    /// verified timestamp left).
    DropInclusionPromise,
    /// The inclusion proof is removed. → `ValidationError` (v0.3 bundles
    /// must carry one).
    DropInclusionProof,
}

impl Tamper {
    pub const ALL: [Tamper; 11] = [
        Tamper::Payload,
        Tamper::Signature,
        Tamper::LogIndex,
        Tamper::Certificate,
        Tamper::InclusionProof,
        Tamper::Set,
        Tamper::Checkpoint,
        Tamper::IntegratedTime,
        Tamper::Body,
        Tamper::DropInclusionPromise,
        Tamper::DropInclusionProof,
    ];

    /// The error family (sigstore-js error code, or the error class for
    /// bundle-shape errors) the verifier reports for this tampering.
    pub fn expected_code(self) -> &'static str {
        match self {
            Tamper::Payload | Tamper::Signature => "TLOG_BODY_ERROR",
            Tamper::LogIndex | Tamper::Set | Tamper::IntegratedTime | Tamper::Body => {
                "TLOG_INCLUSION_PROMISE_ERROR"
            }
            Tamper::Certificate => "CERTIFICATE_ERROR",
            Tamper::InclusionProof | Tamper::Checkpoint => "TLOG_INCLUSION_PROOF_ERROR",
            Tamper::DropInclusionPromise => "TIMESTAMP_ERROR",
            Tamper::DropInclusionProof => "ValidationError",
        }
    }

    /// The verifier's message for this tampering (a substring of it).
    pub fn expected_message(self) -> &'static str {
        match self {
            Tamper::Payload => "DSSE payload hash mismatch",
            Tamper::Signature => "tlog entry signature mismatch",
            Tamper::LogIndex | Tamper::Set | Tamper::IntegratedTime | Tamper::Body => {
                "inclusion promise could not be verified"
            }
            Tamper::Certificate => "Failed to verify certificate chain",
            Tamper::InclusionProof => "",
            Tamper::Checkpoint => "invalid checkpoint signature",
            Tamper::DropInclusionPromise => "expected 1 timestamps, got 0",
            Tamper::DropInclusionProof => "invalid bundle",
        }
    }
}

fn flip_b64(v: &mut Value, byte_from_end: usize) {
    let s = v.as_str().expect("a base64 string");
    let mut bytes = b64_decode(s).expect("base64");
    let i = bytes.len() - 1 - byte_from_end.min(bytes.len() - 1);
    bytes[i] ^= 0x01;
    *v = Value::String(b64(&bytes));
}

fn bump_int_string(v: &mut Value) {
    let n: u64 = v
        .as_str()
        .expect("an int64 string")
        .parse()
        .expect("integer");
    *v = Value::String((n + 1).to_string());
}

fn entry(b: &mut Value) -> &mut Value {
    &mut b["verificationMaterial"]["tlogEntries"][0]
}

/// A copy of `bundle` (v0.3, DSSE, one tlog entry) with `t` applied.
pub fn tamper(bundle: &Value, t: Tamper) -> Value {
    let mut b = bundle.clone();
    match t {
        Tamper::Payload => {
            let env = &mut b["dsseEnvelope"];
            let raw = b64_decode(env["payload"].as_str().expect("payload")).expect("base64");
            let mut stmt: Value = serde_json::from_slice(&raw).expect("JSON payload");
            let digests = stmt["subject"][0]["digest"]
                .as_object_mut()
                .expect("subject[0].digest");
            let (_, d) = digests.iter_mut().next().expect("a digest");
            let mut s = d.as_str().expect("hex").to_string();
            let last = s.pop().expect("non-empty digest");
            s.push(if last == '0' { '1' } else { '0' });
            *d = Value::String(s);
            env["payload"] = Value::String(b64(stmt.to_string().as_bytes()));
        }
        Tamper::Signature => flip_b64(&mut b["dsseEnvelope"]["signatures"][0]["sig"], 0),
        Tamper::LogIndex => {
            let e = entry(&mut b);
            bump_int_string(&mut e["logIndex"]);
        }
        Tamper::Certificate => {
            // The last byte of the DER is the last byte of the signature's s.
            flip_b64(&mut b["verificationMaterial"]["certificate"]["rawBytes"], 0)
        }
        Tamper::InclusionProof => {
            let e = entry(&mut b);
            let proof = &mut e["inclusionProof"];
            if proof["hashes"].as_array().is_some_and(|h| !h.is_empty()) {
                flip_b64(&mut proof["hashes"][0], 0);
            } else {
                let cp = proof["checkpoint"]["envelope"]
                    .as_str()
                    .expect("checkpoint")
                    .to_string();
                let mut lines: Vec<String> = cp.split('\n').map(str::to_string).collect();
                let mut root = Value::String(lines[2].clone());
                flip_b64(&mut root, 0);
                lines[2] = root.as_str().unwrap().to_string();
                proof["checkpoint"]["envelope"] = Value::String(lines.join("\n"));
            }
        }
        Tamper::Set => {
            let e = entry(&mut b);
            flip_b64(&mut e["inclusionPromise"]["signedEntryTimestamp"], 0);
        }
        Tamper::Checkpoint => {
            let e = entry(&mut b);
            let cp = e["inclusionProof"]["checkpoint"]["envelope"]
                .as_str()
                .expect("checkpoint")
                .to_string();
            let (note, sigs) = cp.split_at(cp.find("\n\n").expect("separator") + 2);
            // "— <name> <b64>\n": flip a bit of the signature (not the key hint)
            let mut parts: Vec<String> = sigs
                .trim_end_matches('\n')
                .split(' ')
                .map(str::to_string)
                .collect();
            let mut sig = Value::String(parts.pop().expect("signature"));
            flip_b64(&mut sig, 0);
            parts.push(sig.as_str().unwrap().to_string());
            e["inclusionProof"]["checkpoint"]["envelope"] =
                Value::String(format!("{note}{}\n", parts.join(" ")));
        }
        Tamper::IntegratedTime => {
            let e = entry(&mut b);
            bump_int_string(&mut e["integratedTime"]);
        }
        Tamper::Body => {
            let e = entry(&mut b);
            let raw = b64_decode(e["canonicalizedBody"].as_str().expect("body")).expect("base64");
            let mut body: Value = serde_json::from_slice(&raw).expect("JSON body");
            let v = body["spec"]["payloadHash"]["value"]
                .as_str()
                .expect("payloadHash")
                .to_string();
            let flipped: String = v.chars().rev().collect();
            body["spec"]["payloadHash"]["value"] = Value::String(flipped);
            e["canonicalizedBody"] =
                Value::String(b64(super::crypto::canonical_json(&body).as_bytes()));
        }
        Tamper::DropInclusionPromise => {
            let e = entry(&mut b);
            e.as_object_mut().unwrap().remove("inclusionPromise");
        }
        Tamper::DropInclusionProof => {
            let e = entry(&mut b);
            e.as_object_mut().unwrap().remove("inclusionProof");
        }
    }
    assert_ne!(&b, bundle, "{t:?} changed nothing");
    b
}
