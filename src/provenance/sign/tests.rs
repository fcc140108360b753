//! Tests of the signing client. Pure ones first; then the whole flow against
//! a scripted Fulcio/Rekor on 127.0.0.1; then the same flow compared byte for
//! byte with sigstore-js (`tests/tools/sigstore-js-sign.js`; without Node.js
//! or sigstore-js that test fails and says what to install, it never skips).
//!
//! `fixtures/rekor-dsse-97913980.json` is a public-good Rekor v1 entry of
//! kind `dsse` (global log index 97913980, 2024-05-29), laid out as Rekor's
//! `POST /api/v1/log/entries` answers (`{"<uuid>": {...}}`, keys in Rekor's
//! order). Its values come from a real v0.3 bundle (GitHub's attestation API
//! documentation, gh CLI 2.50.0); hex fields were turned back from base64.
//! Only the UUID's 16-hex tree-id prefix is made up (nothing reads it). The
//! tests below check it is genuine: the SET and the checkpoint verify with
//! public-good Rekor's key, and the inclusion proof leads to the root hash.
//! `fixtures/envelope-97913980.json` is that bundle's DSSE envelope, whose
//! signature verifies with the certificate inside the Rekor body.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::*;
use crate::http::{Backoff, RetryOn};
use crate::registry::RetryPolicy;

const REKOR_FIXTURE: &str = include_str!("fixtures/rekor-dsse-97913980.json");
const ENVELOPE_FIXTURE: &str = include_str!("fixtures/envelope-97913980.json");
/// What sigstore-js 4.1.1 makes of `REKOR_FIXTURE` (`tlogEntries[0]` of the
/// bundle `tests/tools/sigstore-js-sign.js` printed for it).
const TLOG_FIXTURE: &str = include_str!("fixtures/tlog-entry-97913980.json");
/// Public-good Rekor's key (the `tlogs` entry for https://rekor.sigstore.dev
/// in `@sigstore/tuf/seeds.json`'s trusted root).
const REKOR_PUBLIC_GOOD_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==";
const INTOTO: &str = "application/vnd.in-toto+json";

fn jwt(claims: Value) -> Secret<String> {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    Secret::new(format!(
        "{header}.{payload}.c2lnbmF0dXJlLW5vdC1jaGVja2VkLWhlcmU"
    ))
}

fn github_claims() -> Value {
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "sigstore",
        "sub": "repo:octo-org/octo-pkg:ref:refs/heads/main",
        "repository": "octo-org/octo-pkg",
        "job_workflow_ref": "octo-org/octo-pkg/.github/workflows/release.yml@refs/heads/main",
        "runner_environment": "github-hosted",
        "exp": 4102444800u64,
    })
}

fn fixed_key() -> SigningKey {
    SigningKey::from_slice(&[0x11; 32]).unwrap()
}

fn rekor_entry_fixture() -> Value {
    let v: Value = serde_json::from_str(REKOR_FIXTURE).unwrap();
    v.as_object().unwrap().values().next().unwrap().clone()
}

/// The leaf certificate PEM inside the fixture's Rekor body (the verifier).
fn fixture_leaf_pem() -> String {
    let entry = rekor_entry_fixture();
    let body: Value =
        serde_json::from_slice(&STANDARD.decode(entry["body"].as_str().unwrap()).unwrap()).unwrap();
    let verifier = body["spec"]["signatures"][0]["verifier"].as_str().unwrap();
    String::from_utf8(STANDARD.decode(verifier).unwrap()).unwrap()
}

fn spki_key(cert_der: &[u8]) -> VerifyingKey {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(cert_der).unwrap();
    let spki = cert.tbs_certificate.subject_public_key_info;
    VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()).unwrap()
}

// ---------------------------------------------------------------------------
// Pure

#[test]
fn pae_matches_the_dsse_spec() {
    // The DSSE specification's own example.
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(
        pae(INTOTO, b"{}"),
        b"DSSEv1 28 application/vnd.in-toto+json 2 {}"
    );
    // Lengths are in bytes, not characters.
    assert_eq!(pae("t", "é".as_bytes()), "DSSEv1 1 t 2 é".as_bytes());
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
}

#[test]
fn a_real_public_good_dsse_signature_verifies_over_our_pae() {
    let env: Value = serde_json::from_str(ENVELOPE_FIXTURE).unwrap();
    let payload = STANDARD.decode(env["payload"].as_str().unwrap()).unwrap();
    let sig = STANDARD
        .decode(env["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    let der = pem_to_der(&fixture_leaf_pem()).unwrap();
    let key = spki_key(&der);
    let sig = Signature::from_der(&sig).unwrap();
    key.verify(&pae(INTOTO, &payload), &sig).unwrap();
    // And not over anything else.
    assert!(key.verify(&pae("text/plain", &payload), &sig).is_err());
}

#[test]
fn our_signatures_verify_with_the_public_key() {
    let key = fixed_key();
    let statement = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
    let der = sign_der(&key, &pae(INTOTO, statement));
    let sig = Signature::from_der(&der).unwrap();
    let public = VerifyingKey::from_public_key_pem(&public_key_pem(&key)).unwrap();
    public.verify(&pae(INTOTO, statement), &sig).unwrap();
    assert!(public.verify(statement, &sig).is_err());
    // A fresh ephemeral key works the same way.
    let eph = ephemeral_key().unwrap();
    let sig = Signature::from_der(&sign_der(&eph, b"x")).unwrap();
    eph.verifying_key().verify(b"x", &sig).unwrap();
}

#[test]
fn the_public_key_is_node_style_spki_pem() {
    let pem = public_key_pem(&fixed_key());
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(pem.ends_with("\n-----END PUBLIC KEY-----\n"));
    assert!(!pem.contains('\r'));
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines.len(), 4, "{pem}");
    assert_eq!(lines[1].len(), 64);
}

#[test]
fn the_challenge_is_the_verified_email_or_the_subject() {
    let subject = |claims: Value| challenge_subject(&jwt(claims));
    assert_eq!(
        subject(json!({"sub": "repo:o/r:ref:refs/heads/main"})).unwrap(),
        "repo:o/r:ref:refs/heads/main"
    );
    assert_eq!(
        subject(json!({"sub": "s", "email": "a@example.com", "email_verified": true})).unwrap(),
        "a@example.com"
    );
    assert_eq!(
        subject(json!({"sub": "s", "email": "a@example.com", "email_verified": false})),
        Err(ChallengeError::EmailNotVerified)
    );
    assert_eq!(
        subject(json!({"sub": "s", "email": "a@example.com"})),
        Err(ChallengeError::EmailNotVerified)
    );
    // JavaScript truthiness: the string "false" is true, an empty email is absent.
    assert_eq!(
        subject(json!({"email": "a@example.com", "email_verified": "false"})).unwrap(),
        "a@example.com"
    );
    assert_eq!(
        subject(json!({"sub": "s", "email": "", "email_verified": false})).unwrap(),
        "s"
    );
    assert_eq!(subject(json!({"iss": "x"})), Err(ChallengeError::NoSubject));
    assert_eq!(subject(json!({"sub": ""})), Err(ChallengeError::NoSubject));
    assert_eq!(
        subject(json!({"sub": 42})),
        Err(ChallengeError::NotAString("sub"))
    );
    assert_eq!(
        challenge_subject(&Secret::new("no-dots".into())),
        Err(ChallengeError::NotAJwt)
    );
    assert_eq!(
        challenge_subject(&Secret::new("a.!!!.c".into())),
        Err(ChallengeError::BadPayload)
    );
    // Standard alphabet with padding, as node's decoder also takes it.
    let padded = format!(
        "h.{}.s",
        STANDARD.encode(br#"{"sub":"repo:o/r:ref:refs/heads/main?"}"#)
    );
    assert_eq!(
        challenge_subject(&Secret::new(padded)).unwrap(),
        "repo:o/r:ref:refs/heads/main?"
    );
}

#[test]
fn the_recorded_rekor_entry_is_genuine() {
    let entry = rekor_entry_fixture();
    let key = VerifyingKey::from_public_key_der(&STANDARD.decode(REKOR_PUBLIC_GOOD_KEY).unwrap())
        .unwrap();
    // The SET: over the canonical JSON of body, integratedTime, logID, logIndex.
    let set_payload = format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        entry["body"].as_str().unwrap(),
        entry["integratedTime"],
        entry["logID"].as_str().unwrap(),
        entry["logIndex"]
    );
    let set = STANDARD
        .decode(
            entry["verification"]["signedEntryTimestamp"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    key.verify(set_payload.as_bytes(), &Signature::from_der(&set).unwrap())
        .unwrap();
    // The checkpoint: a signed note, key hint = logID[0..4].
    let proof = &entry["verification"]["inclusionProof"];
    let checkpoint = proof["checkpoint"].as_str().unwrap();
    let (note, sigs) = checkpoint.split_once("\n\n").unwrap();
    let line = sigs.lines().next().unwrap();
    assert!(line.starts_with("\u{2014} rekor.sigstore.dev "));
    let sig = STANDARD.decode(line.rsplit(' ').next().unwrap()).unwrap();
    assert_eq!(
        hex::encode(&sig[..4]),
        &entry["logID"].as_str().unwrap()[..8]
    );
    key.verify(
        format!("{note}\n").as_bytes(),
        &Signature::from_der(&sig[4..]).unwrap(),
    )
    .unwrap();
    // The inclusion proof (RFC 6962 / RFC 9162 §2.1.3.2).
    let h = |parts: &[&[u8]]| {
        let mut d = Sha256::new();
        for p in parts {
            d.update(p);
        }
        d.finalize().to_vec()
    };
    let body = STANDARD.decode(entry["body"].as_str().unwrap()).unwrap();
    let mut r = h(&[&[0], &body]);
    let (mut fnode, mut snode) = (
        proof["logIndex"].as_u64().unwrap(),
        proof["treeSize"].as_u64().unwrap() - 1,
    );
    for hash in proof["hashes"].as_array().unwrap() {
        let p = hex::decode(hash.as_str().unwrap()).unwrap();
        assert!(snode > 0);
        if fnode % 2 == 1 || fnode == snode {
            r = h(&[&[1], &p, &r]);
            while fnode % 2 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = h(&[&[1], &r, &p]);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    assert_eq!(snode, 0);
    assert_eq!(hex::encode(r), proof["rootHash"].as_str().unwrap());
}

#[test]
fn the_recorded_rekor_answer_converts_as_sigstore_js_converts_it() {
    let answer: Value = serde_json::from_str(REKOR_FIXTURE).unwrap();
    let (uuid, entry) = rekor_entry(&answer).unwrap();
    assert_eq!(uuid.len(), 80);
    let got = tlog_entry(entry).unwrap();
    let want: Value = serde_json::from_str(TLOG_FIXTURE).unwrap();
    assert_eq!(got, want);
    // Same key order, and the values npm prints and the bundle carries.
    assert_eq!(
        serde_json::to_string(&got).unwrap(),
        serde_json::to_string(&want).unwrap()
    );
    let keys: Vec<&str> = got
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "logIndex",
            "logId",
            "kindVersion",
            "integratedTime",
            "inclusionPromise",
            "inclusionProof",
            "canonicalizedBody"
        ]
    );
    assert_eq!(got["logIndex"], "97913980");
    assert_eq!(
        got["logId"]["keyId"],
        "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="
    );
    assert_eq!(
        got["kindVersion"],
        json!({"kind": "dsse", "version": "0.0.1"})
    );
    assert_eq!(got["integratedTime"], "1716998992");
    assert_eq!(got["inclusionProof"]["logIndex"], "93750549");
    assert_eq!(got["inclusionProof"]["treeSize"], "93750551");
    assert_eq!(
        got["inclusionProof"]["rootHash"],
        "KgKiXoOl8rM5d4y6Xlbm2QLftvj/FYvTs6z7dJlNO60="
    );
    assert_eq!(got["canonicalizedBody"], entry["body"]);
    assert_eq!(
        got["inclusionPromise"]["signedEntryTimestamp"],
        entry["verification"]["signedEntryTimestamp"]
    );
}

#[test]
fn conversion_keeps_protobufs_default_value_rules() {
    let body = STANDARD.encode(br#"{"apiVersion":"0.0.1","kind":"dsse","spec":{}}"#);
    // Zero int64s and empty lists disappear, an absent checkpoint is `{}`.
    let entry = json!({
        "body": body, "integratedTime": 0, "logID": "c0d2", "logIndex": 0,
        "verification": {"inclusionProof": {"hashes": [], "logIndex": 0, "rootHash": "", "treeSize": 1}}
    });
    assert_eq!(
        serde_json::to_string(&tlog_entry(&entry).unwrap()).unwrap(),
        format!(
            r#"{{"logId":{{"keyId":"wNI="}},"kindVersion":{{"kind":"dsse","version":"0.0.1"}},"inclusionProof":{{"treeSize":"1","checkpoint":{{}}}},"canonicalizedBody":"{body}"}}"#
        )
    );
    // No verification: neither a promise nor a proof.
    let entry = json!({"body": body, "integratedTime": 5, "logID": "00", "logIndex": 7});
    let got = tlog_entry(&entry).unwrap();
    assert!(got.get("inclusionPromise").is_none() && got.get("inclusionProof").is_none());
    // Malformed fields are errors, not broken bundles.
    let bad = json!({"body": body, "integratedTime": 5, "logID": "zz", "logIndex": 7});
    assert!(tlog_entry(&bad).unwrap_err().contains("logID"));
    let bad = json!({"body": "%%%", "integratedTime": 5, "logID": "00", "logIndex": 7});
    assert!(tlog_entry(&bad).unwrap_err().contains("body"));
    let bad = json!({"body": body, "logID": "00", "logIndex": 7});
    assert!(tlog_entry(&bad).unwrap_err().contains("integratedTime"));
    // Exactly one entry per answer.
    assert!(rekor_entry(&json!({})).is_err());
    assert!(rekor_entry(&json!({"a": {}, "b": {}})).is_err());
    assert!(rekor_entry(&json!([])).is_err());
}

#[test]
fn the_bundle_has_sigstore_js_shape_and_order() {
    let tlog = tlog_entry(&rekor_entry_fixture()).unwrap();
    let bundle = bundle_json(&[1, 2, 3], tlog.clone(), b"{}", INTOTO, &[4, 5]);
    let text = serde_json::to_string(&bundle).unwrap();
    assert_eq!(
        text,
        format!(
            r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{{"certificate":{{"rawBytes":"AQID"}},"tlogEntries":[{}],"timestampVerificationData":{{}}}},"dsseEnvelope":{{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{{"sig":"BAU="}}]}}}}"#,
            serde_json::to_string(&tlog).unwrap()
        )
    );
    let signed = SignedBundle {
        json: bundle,
        log_index: 1,
        log_id: String::new(),
        integrated_time: 0,
    };
    assert_eq!(bundle_string(&signed), text);
    // The checkpoint's em dash: one UTF-16 unit, three bytes.
    assert_eq!(crate::js::js_len(&text) + 2, text.len());
    // Empty parts are left out, as Envelope.toJSON leaves them out.
    assert_eq!(
        serde_json::to_string(&envelope_json(b"", "", b"")).unwrap(),
        r#"{"signatures":[{}]}"#
    );
}

#[test]
fn request_bodies_have_sigstore_js_shape() {
    let token = jwt(github_claims());
    let body = fulcio_request_body(&token, "PEM\n", &[9, 9]);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!(
            r#"{{"credentials":{{"oidcIdentityToken":"{}"}},"publicKeyRequest":{{"publicKey":{{"algorithm":"ECDSA","content":"PEM\n"}},"proofOfPossession":"CQk="}}}}"#,
            token.expose()
        )
    );
    let envelope = serde_json::to_string(&envelope_json(b"{}", INTOTO, &[1])).unwrap();
    assert_eq!(
        rekor_request_body(
            &envelope,
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
        ),
        r#"{"apiVersion":"0.0.1","kind":"dsse","spec":{"proposedContent":{"envelope":"{\"payload\":\"e30=\",\"payloadType\":\"application/vnd.in-toto+json\",\"signatures\":[{\"sig\":\"AQ==\"}]}","verifiers":["LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBPT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="]}}}"#
    );
}

#[test]
fn fulcio_answers_give_the_leaf() {
    let embedded =
        json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": ["LEAF", "CA"]}}});
    assert_eq!(leaf_certificate_pem(&embedded).unwrap(), "LEAF");
    let detached = json!({"signedCertificateDetachedSct": {"chain": {"certificates": ["L2"]}, "signedCertificateTimestamp": "eyJ9"}});
    assert_eq!(leaf_certificate_pem(&detached).unwrap(), "L2");
    assert!(leaf_certificate_pem(&json!({})).is_err());
    assert!(leaf_certificate_pem(
        &json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": []}}})
    )
    .is_err());
    // pem.toDER: header and footer lines dropped, CRLF tolerated.
    assert_eq!(
        pem_to_der("-----BEGIN CERTIFICATE-----\r\nAQID\r\nBA==\r\n-----END CERTIFICATE-----\r\n")
            .unwrap(),
        vec![1, 2, 3, 4]
    );
    assert!(pem_to_der("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n").is_none());
}

#[test]
fn backoff_is_promise_retrys() {
    let ms = |b: Backoff| b.delays().map(|d| d.as_millis()).collect::<Vec<_>>();
    // npm's defaults, as npm hands them to sigstore.
    assert_eq!(
        ms(Backoff::promise_retry(
            2,
            10.0,
            Duration::from_secs(10),
            Some(Duration::from_secs(60))
        )),
        [10_000, 60_000]
    );
    assert_eq!(ms(Backoff::github_token()), [1_000, 2_000]);
    assert_eq!(
        ms(Backoff::promise_retry(0, 10.0, Duration::ZERO, None)),
        Vec::<u128>::new()
    );
    // minTimeout 0 counts as 1 ms; factors below 1 come out sorted.
    assert_eq!(
        ms(Backoff::promise_retry(3, 0.5, Duration::ZERO, None)),
        [0, 1, 1]
    );
    for s in [408, 429, 500, 502, 503, 504, 599] {
        assert!(RetryOn::Sigstore.retries(s), "{s}");
    }
    for s in [400, 401, 403, 404, 409, 420, 422] {
        assert!(!RetryOn::Sigstore.retries(s), "{s}");
    }
    assert!(RetryOn::MakeFetchHappen.retries(420));
}

#[test]
fn errors_never_show_a_token() {
    let token = jwt(github_claims());
    let scrub = Scrubber::new(Some(&token));
    let payload_part = token.expose().split('.').nth(1).unwrap().to_string();
    let said = format!("bad token {} and {payload_part}", token.expose());
    let clean = scrub.scrub(&said);
    assert!(!clean.contains(&payload_part), "{clean}");
    assert_eq!(clean, "bad token **** and ****");
}

// ---------------------------------------------------------------------------
// A scripted Fulcio/Rekor/token service on 127.0.0.1

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    body: String,
}

fn answer(status: u16, body: impl Into<String>) -> Answer {
    Answer {
        status,
        body: body.into(),
    }
}

struct Fake {
    url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl Fake {
    /// Serves each path's answers in order (a 500 once they run out).
    fn start(script: Vec<(&'static str, Vec<Answer>)>) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script = Arc::new(Mutex::new(script));
        {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let _ = handle(stream, &log, &script);
                }
            });
        }
        Fake {
            url: format!("http://{addr}"),
            log,
            stop,
            addr,
        }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    fn urls(&self) -> SigstoreUrls {
        SigstoreUrls {
            fulcio: self.url.clone(),
            rekor: self.url.clone(),
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn handle(
    stream: TcpStream,
    log: &Mutex<Vec<Recorded>>,
    script: &Mutex<Vec<(&'static str, Vec<Answer>)>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let path = target.split('?').next().unwrap_or_default().to_string();
    log.lock().unwrap().push(Recorded {
        method,
        target,
        headers,
        body,
    });
    let next = {
        let mut script = script.lock().unwrap();
        script
            .iter_mut()
            .find(|(p, _)| *p == path)
            .and_then(|(_, q)| (!q.is_empty()).then(|| q.remove(0)))
    }
    .unwrap_or_else(|| answer(500, r#"{"message":"fake: nothing scripted"}"#));
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        next.status,
        http::reason(next.status),
        next.body.len(),
        next.body
    )?;
    out.flush()
}

#[derive(Default)]
struct Notes {
    retries: RefCell<Vec<(String, u32, Duration)>>,
}

impl Observer for Notes {
    fn notice(&self, _text: &str) {}
    fn retrying(&self, what: &str, attempt: u32, wait: Duration) {
        self.retries
            .borrow_mut()
            .push((what.to_string(), attempt, wait));
    }
}

fn client(retries: u32) -> Client {
    Client::new(
        "trustpub-test".into(),
        RetryPolicy {
            retries,
            factor: 1.0,
            min_timeout: Duration::from_millis(1),
            max_timeout: Duration::from_millis(5),
            timeout: Some(Duration::from_secs(20)),
        },
    )
}

fn fulcio_ok(leaf_pem: &str) -> Answer {
    answer(
        201,
        json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": [leaf_pem, "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"]}}})
            .to_string(),
    )
}

fn statement() -> Vec<u8> {
    br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"pkg:npm/%40octo/pkg@1.0.0","digest":{"sha512":"ab"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"note":"caf\u00e9"}}"#.to_vec()
}

#[test]
fn signs_against_a_scripted_fulcio_and_rekor() {
    let leaf = fixture_leaf_pem();
    let fake = Fake::start(vec![
        ("/api/v2/signingCert", vec![fulcio_ok(&leaf)]),
        ("/api/v1/log/entries", vec![answer(201, REKOR_FIXTURE)]),
    ]);
    let token = jwt(github_claims());
    let key = fixed_key();
    let notes = Notes::default();
    let payload = statement();
    let signed = sign_with_key(
        &key,
        &payload,
        INTOTO,
        &token,
        &fake.urls(),
        &client(0),
        &notes,
    )
    .unwrap();
    assert_eq!(signed.log_index, 97913980);
    assert_eq!(
        transparency_log_url(&signed),
        "https://search.sigstore.dev/?logIndex=97913980"
    );
    assert_eq!(signed.integrated_time, 1716998992);
    assert_eq!(
        signed.log_id,
        "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    );

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    // Fulcio: the token, our key, and a proof over the JWT's sub.
    let f = &reqs[0];
    assert_eq!(
        (f.method.as_str(), f.path()),
        ("POST", "/api/v2/signingCert")
    );
    assert_eq!(f.header("content-type"), Some("application/json"));
    assert!(f.header("authorization").is_none());
    let fb: Value = serde_json::from_slice(&f.body).unwrap();
    assert_eq!(
        fb["credentials"]["oidcIdentityToken"],
        token.expose().as_str()
    );
    assert_eq!(fb["publicKeyRequest"]["publicKey"]["algorithm"], "ECDSA");
    let pem = fb["publicKeyRequest"]["publicKey"]["content"]
        .as_str()
        .unwrap();
    let public = VerifyingKey::from_public_key_pem(pem).unwrap();
    assert_eq!(&public, key.verifying_key());
    let pop = STANDARD
        .decode(
            fb["publicKeyRequest"]["proofOfPossession"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    public
        .verify(
            b"repo:octo-org/octo-pkg:ref:refs/heads/main",
            &Signature::from_der(&pop).unwrap(),
        )
        .unwrap();
    // Rekor: the envelope string and the leaf PEM, verbatim.
    let r = &reqs[1];
    assert_eq!(
        (r.method.as_str(), r.path()),
        ("POST", "/api/v1/log/entries")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("accept"), Some("application/json"));
    let rb: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(rb["apiVersion"], "0.0.1");
    assert_eq!(rb["kind"], "dsse");
    let verifier = rb["spec"]["proposedContent"]["verifiers"][0]
        .as_str()
        .unwrap();
    assert_eq!(STANDARD.decode(verifier).unwrap(), leaf.as_bytes());
    let envelope_text = rb["spec"]["proposedContent"]["envelope"].as_str().unwrap();
    let envelope: Value = serde_json::from_str(envelope_text).unwrap();
    assert_eq!(envelope, signed.json["dsseEnvelope"]);
    assert_eq!(
        serde_json::to_string(&signed.json["dsseEnvelope"]).unwrap(),
        envelope_text
    );

    // The bundle: the leaf as DER, the tlog entry, and a signature over the
    // PAE that verifies with the certified key.
    let b = &signed.json;
    assert_eq!(b["mediaType"], BUNDLE_V03_MEDIA_TYPE);
    assert_eq!(
        STANDARD
            .decode(
                b["verificationMaterial"]["certificate"]["rawBytes"]
                    .as_str()
                    .unwrap()
            )
            .unwrap(),
        pem_to_der(&leaf).unwrap()
    );
    assert_eq!(
        b["verificationMaterial"]["tlogEntries"][0],
        serde_json::from_str::<Value>(TLOG_FIXTURE).unwrap()
    );
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"],
        json!({})
    );
    assert_eq!(
        STANDARD
            .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap(),
        payload
    );
    let sig = STANDARD
        .decode(b["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    public
        .verify(&pae(INTOTO, &payload), &Signature::from_der(&sig).unwrap())
        .unwrap();
    assert!(b["dsseEnvelope"]["signatures"][0].get("keyid").is_none());
    assert!(notes.retries.borrow().is_empty());
}

#[test]
fn sign_with_a_fresh_key_and_trailing_slashes() {
    let fake = Fake::start(vec![
        ("/api/v2/signingCert", vec![fulcio_ok(&fixture_leaf_pem())]),
        ("/api/v1/log/entries", vec![answer(201, REKOR_FIXTURE)]),
    ]);
    let urls = SigstoreUrls {
        fulcio: format!("{}/", fake.url),
        rekor: format!("{}/", fake.url),
    };
    let signed = sign(
        b"{}",
        INTOTO,
        &jwt(github_claims()),
        &urls,
        &client(0),
        &Notes::default(),
    )
    .unwrap();
    let paths: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    assert_eq!(paths, ["/api/v2/signingCert", "/api/v1/log/entries"]);
    assert!(bundle_string(&signed).starts_with(r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"MIIGjTCC"#));
}

#[test]
fn retryable_answers_are_retried_with_npms_backoff() {
    let fake = Fake::start(vec![
        (
            "/api/v2/signingCert",
            vec![answer(503, "unavailable"), fulcio_ok(&fixture_leaf_pem())],
        ),
        (
            "/api/v1/log/entries",
            vec![
                answer(429, r#"{"message":"slow down"}"#),
                answer(500, "{}"),
                answer(201, REKOR_FIXTURE),
            ],
        ),
    ]);
    let notes = Notes::default();
    sign_with_key(
        &fixed_key(),
        b"{}",
        INTOTO,
        &jwt(github_claims()),
        &fake.urls(),
        &client(2),
        &notes,
    )
    .unwrap();
    assert_eq!(fake.requests().len(), 5);
    let retries = notes.retries.borrow();
    let attempts: Vec<u32> = retries.iter().map(|r| r.1).collect();
    assert_eq!(attempts, [1, 1, 2]);
    assert!(retries[0].0.contains("Fulcio") && retries[0].0.contains("503"));
    assert!(retries[1].0.contains("Rekor") && retries[1].0.contains("429"));
    // factor 1, min 1 ms, max 5 ms.
    assert!(retries.iter().all(|r| r.2 == Duration::from_millis(1)));
}

#[test]
fn retries_run_out() {
    let fake = Fake::start(vec![(
        "/api/v2/signingCert",
        vec![
            answer(502, "{}"),
            answer(502, "{}"),
            answer(502, r#"{"message":"bad gateway"}"#),
        ],
    )]);
    let err = sign_with_key(
        &fixed_key(),
        b"{}",
        INTOTO,
        &jwt(github_claims()),
        &fake.urls(),
        &client(2),
        &Notes::default(),
    )
    .unwrap_err();
    match &err {
        SignError::Status {
            service: Service::Fulcio,
            status: 502,
            attempts: 3,
            message,
            ..
        } => assert_eq!(message.as_deref(), Some("bad gateway")),
        other => panic!("{other:?}"),
    }
    assert!(err.hint().contains("try again later"));
    assert_eq!(fake.requests().len(), 3);
}

#[test]
fn rekor_conflict_is_an_error_and_not_retried() {
    let fake = Fake::start(vec![
        ("/api/v2/signingCert", vec![fulcio_ok(&fixture_leaf_pem())]),
        (
            "/api/v1/log/entries",
            vec![answer(
                409,
                r#"{"code":409,"message":"An equivalent entry already exists in the transparency log with UUID 108e9186e8c5677a"}"#,
            )],
        ),
    ]);
    let err = sign_with_key(
        &fixed_key(),
        b"{}",
        INTOTO,
        &jwt(github_claims()),
        &fake.urls(),
        &client(2),
        &Notes::default(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        SignError::Status {
            service: Service::Rekor,
            status: 409,
            attempts: 1,
            ..
        }
    ));
    let text = err.to_string();
    assert!(text.contains("409 Conflict"), "{text}");
    assert!(
        text.contains("An equivalent entry already exists"),
        "{text}"
    );
    assert!(err.hint().contains("Publish again"));
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn fulcio_refusals_name_the_service_without_the_token() {
    let token = jwt(github_claims());
    let fake = Fake::start(vec![(
        "/api/v2/signingCert",
        vec![answer(
            401,
            json!({"code": 16, "message": format!("There was an error processing the identity token {}", token.expose())}).to_string(),
        )],
    )]);
    let err = sign_with_key(
        &fixed_key(),
        b"{}",
        INTOTO,
        &token,
        &fake.urls(),
        &client(2),
        &Notes::default(),
    )
    .unwrap_err();
    let shown = format!("{err} {err:?} {}", err.hint());
    assert!(!shown.contains(token.expose().as_str()));
    for part in token.expose().split('.') {
        assert!(!shown.contains(part), "{shown}");
    }
    assert!(shown.contains("Fulcio"), "{shown}");
    assert!(shown.contains("401 Unauthorized"), "{shown}");
    assert!(shown.contains("/api/v2/signingCert"), "{shown}");
    assert!(
        shown.contains("There was an error processing the identity token ****"),
        "{shown}"
    );
    assert!(err.hint().contains("aud: sigstore"));
}

#[test]
fn unusable_answers_and_urls_are_errors() {
    // A Fulcio answer without a chain.
    let fake = Fake::start(vec![("/api/v2/signingCert", vec![answer(201, "{}")])]);
    let err = sign_with_key(
        &fixed_key(),
        b"{}",
        INTOTO,
        &jwt(github_claims()),
        &fake.urls(),
        &client(0),
        &Notes::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SignError::BadResponse {
                service: Service::Fulcio,
                ..
            }
        ),
        "{err}"
    );
    // Two Rekor entries.
    let fake = Fake::start(vec![
        ("/api/v2/signingCert", vec![fulcio_ok(&fixture_leaf_pem())]),
        (
            "/api/v1/log/entries",
            vec![answer(201, r#"{"a":{},"b":{}}"#)],
        ),
    ]);
    let err = sign_with_key(
        &fixed_key(),
        b"{}",
        INTOTO,
        &jwt(github_claims()),
        &fake.urls(),
        &client(0),
        &Notes::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("multiple entries"), "{err}");
    // Plain http to another machine.
    let urls = SigstoreUrls {
        fulcio: "http://fulcio.example".into(),
        rekor: DEFAULT_REKOR_URL.into(),
    };
    let err = sign(
        b"{}",
        INTOTO,
        &jwt(github_claims()),
        &urls,
        &client(0),
        &Notes::default(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        SignError::InsecureUrl {
            service: Service::Fulcio,
            ..
        }
    ));
    // A token without a subject: nothing is sent.
    let fake = Fake::start(vec![]);
    let err = sign(
        b"{}",
        INTOTO,
        &jwt(json!({"iss": "x"})),
        &fake.urls(),
        &client(0),
        &Notes::default(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        SignError::InvalidIdentityToken {
            reason: ChallengeError::NoSubject
        }
    ));
    assert!(fake.requests().is_empty());
    // Nobody listening: a transport error after the retries.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let urls = SigstoreUrls {
        fulcio: format!("http://127.0.0.1:{port}"),
        rekor: format!("http://127.0.0.1:{port}"),
    };
    let notes = Notes::default();
    let err = sign(
        b"{}",
        INTOTO,
        &jwt(github_claims()),
        &urls,
        &client(1),
        &notes,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SignError::Transport {
                service: Service::Fulcio,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(notes.retries.borrow().len(), 1);
}

#[test]
fn the_identity_token_comes_from_sigstore_id_token_first() {
    let env = Env::from_pairs([
        ("GITHUB_ACTIONS", "true"),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "http://127.0.0.1:9/token?api-version=2.0",
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token"),
        ("SIGSTORE_ID_TOKEN", "header.payload.sig"),
    ]);
    let t = identity_token(&env, Provider::GitHubActions, &client(0), &Notes::default()).unwrap();
    assert_eq!(t.expose(), "header.payload.sig");
}

#[test]
fn the_identity_token_comes_from_github_with_audience_sigstore() {
    let token = jwt(github_claims());
    let fake = Fake::start(vec![(
        "/token",
        vec![answer(
            200,
            json!({"count": 1, "value": token.expose()}).to_string(),
        )],
    )]);
    let env = Env::from_pairs([
        ("GITHUB_ACTIONS", "true"),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/token?api-version=2.0", fake.url).as_str(),
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token"),
        ("SIGSTORE_ID_TOKEN", ""),
    ]);
    let got = identity_token(&env, Provider::GitHubActions, &client(0), &Notes::default()).unwrap();
    assert_eq!(got.expose(), token.expose());
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].target, "/token?api-version=2.0&audience=sigstore");
    assert_eq!(
        reqs[0].header("authorization"),
        Some("Bearer request-token")
    );
    assert_eq!(reqs[0].header("accept"), Some("application/json"));

    // A refusal is final (make-fetch-happen retries only 408/420/429/5xx).
    let fake = Fake::start(vec![(
        "/token",
        vec![answer(403, r#"{"message":"request-token is not allowed"}"#)],
    )]);
    let env = env.with(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        &format!("{}/token?api-version=2.0", fake.url),
    );
    let err =
        identity_token(&env, Provider::GitHubActions, &client(0), &Notes::default()).unwrap_err();
    assert!(matches!(
        err,
        SignError::Status {
            service: Service::GitHubTokenService,
            status: 403,
            ..
        }
    ));
    assert!(!format!("{err} {err:?}").contains("request-token"), "{err}");
    assert!(err.hint().contains("id-token: write"));
    // 2xx without a value.
    let fake = Fake::start(vec![("/token", vec![answer(200, "{}")])]);
    let env = env.with(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        &format!("{}/token?api-version=2.0", fake.url),
    );
    let err =
        identity_token(&env, Provider::GitHubActions, &client(0), &Notes::default()).unwrap_err();
    assert!(matches!(
        err,
        SignError::BadResponse {
            service: Service::GitHubTokenService,
            ..
        }
    ));
    // Plain http to another machine.
    let env = env.with(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "http://example.com/token?api-version=2.0",
    );
    let err =
        identity_token(&env, Provider::GitHubActions, &client(0), &Notes::default()).unwrap_err();
    assert!(matches!(err, SignError::BadTokenRequestUrl { .. }));
}

#[test]
fn without_a_token_the_hint_names_the_fix() {
    let err = identity_token(
        &Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://x/"),
        ]),
        Provider::GitHubActions,
        &client(0),
        &Notes::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("ACTIONS_ID_TOKEN_REQUEST_TOKEN not set"),
        "{err}"
    );
    assert!(err.hint().contains("id-token: write"));
    let err = identity_token(
        &Env::from_pairs([("GITLAB_CI", "true"), ("NPM_ID_TOKEN", "a.b.c")]),
        Provider::GitLab,
        &client(0),
        &Notes::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("SIGSTORE_ID_TOKEN not set"),
        "{err}"
    );
    assert!(
        err.hint()
            .contains("SIGSTORE_ID_TOKEN:\n      aud: sigstore"),
        "{}",
        err.hint()
    );
}

// ---------------------------------------------------------------------------
// Differential: the same inputs through npm's sigstore-js

struct Scenario {
    name: &'static str,
    claims: Value,
    payload: Vec<u8>,
    payload_type: &'static str,
    fulcio: Vec<Answer>,
    rekor: Vec<Answer>,
    /// retries for both (factor 1, min 1 ms, max 5 ms)
    retries: u32,
}

struct Outcome {
    requests: Vec<(String, String, String)>,
    bundle: Option<String>,
    error: Option<String>,
}

fn run_rust(s: &Scenario) -> Outcome {
    let fake = Fake::start(vec![
        ("/api/v2/signingCert", s.fulcio.clone()),
        ("/api/v1/log/entries", s.rekor.clone()),
    ]);
    let result = sign_with_key(
        &fixed_key(),
        &s.payload,
        s.payload_type,
        &jwt(s.claims.clone()),
        &fake.urls(),
        &client(s.retries),
        &Notes::default(),
    );
    Outcome {
        requests: fake
            .requests()
            .iter()
            .map(|r| {
                (
                    r.path().to_string(),
                    String::from_utf8(r.body.clone()).unwrap(),
                    r.header("accept").unwrap_or_default().to_string(),
                )
            })
            .collect(),
        bundle: result.as_ref().ok().map(bundle_string),
        error: result.err().map(|e| e.to_string()),
    }
}

/// What sigstore-js sends and builds for `s`, and node's PEM of the key.
/// Panics, saying what to install, when node or sigstore-js is not there.
fn run_sigstore_js(s: &Scenario) -> (Outcome, String) {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/sigstore-js-sign.js");
    let key = fixed_key();
    let token = jwt(s.claims.clone());
    let mut signatures = serde_json::Map::new();
    if let Ok(subject) = challenge_subject(&token) {
        signatures.insert(
            STANDARD.encode(subject.as_bytes()),
            STANDARD.encode(sign_der(&key, subject.as_bytes())).into(),
        );
    }
    let p = pae(s.payload_type, &s.payload);
    signatures.insert(
        STANDARD.encode(&p),
        STANDARD.encode(sign_der(&key, &p)).into(),
    );
    let answers = |list: &[Answer]| {
        list.iter()
            .map(|a| json!({"status": a.status, "body": a.body}))
            .collect::<Vec<_>>()
    };
    let input = json!({
        "jwt": token.expose(),
        "payload": STANDARD.encode(&s.payload),
        "payloadType": s.payload_type,
        "publicKeyPem": public_key_pem(&key),
        "signatures": signatures,
        "fulcio": answers(&s.fulcio),
        "rekor": answers(&s.rekor),
        "retry": {"retries": s.retries, "factor": 1, "minTimeout": 1, "maxTimeout": 5},
        "timeout": 20000,
    });
    let mut child = match std::process::Command::new("node")
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!(
            "the sigstore-js comparison cannot run: cannot start node ({e}); it needs Node.js on PATH and npm {} (tests/tools)",
            "11.19.1"
        ),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        panic!(
            "{}: the sigstore-js harness failed ({}): {stderr}\nThe comparison needs Node.js on PATH and the sigstore-js of npm 11.19.1: run `npm ci --prefix tests/tools`, or point SIGSTORE_JS_NODE_MODULES at an npm's node_modules",
            s.name, out.status
        );
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let requests = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["body"].as_str().unwrap().to_string(),
                r["headers"]["accept"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    (
        Outcome {
            requests,
            bundle: v["bundle"].as_str().map(str::to_string),
            error: v["error"].as_str().map(str::to_string),
        },
        v["nodePublicKeyPem"].as_str().unwrap().to_string(),
    )
}

fn scenarios() -> Vec<Scenario> {
    let leaf = fixture_leaf_pem();
    let body = STANDARD.encode(br#"{"apiVersion":"0.0.1","kind":"dsse","spec":{"envelopeHash":{"algorithm":"sha256","value":"00"}}}"#);
    let edge_rekor = json!({
        "108e9186e8c5677a0000000000000000000000000000000000000000000000000000000000000000": {
            "body": body, "integratedTime": 1700000000, "logID": "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d",
            "logIndex": 0,
            "verification": {"inclusionProof": {"hashes": [], "logIndex": 0, "rootHash": "ab", "treeSize": 1},
                             "signedEntryTimestamp": "MEQCIA=="}
        }
    })
    .to_string();
    let detached = answer(
        201,
        json!({"signedCertificateDetachedSct": {"chain": {"certificates": [leaf.clone()]}, "signedCertificateTimestamp": "AA=="}}).to_string(),
    );
    vec![
        Scenario {
            name: "recorded public-good entry",
            claims: github_claims(),
            payload: statement(),
            payload_type: INTOTO,
            fulcio: vec![fulcio_ok(&leaf)],
            rekor: vec![answer(201, REKOR_FIXTURE)],
            retries: 0,
        },
        Scenario {
            name: "zero indexes, no checkpoint, detached SCT, verified email, odd payload type",
            claims: json!({"sub": "s", "email": "dev@example.com", "email_verified": true}),
            payload: "caf\u{e9} \u{2014} {}".as_bytes().to_vec(),
            payload_type: "application/x-caf\u{e9}+json",
            fulcio: vec![detached],
            rekor: vec![answer(201, edge_rekor)],
            retries: 0,
        },
        Scenario {
            name: "retried 503 and 429, then success",
            claims: github_claims(),
            payload: b"{}".to_vec(),
            payload_type: INTOTO,
            fulcio: vec![answer(503, "{}"), fulcio_ok(&leaf)],
            rekor: vec![answer(429, "{}"), answer(201, REKOR_FIXTURE)],
            retries: 1,
        },
        Scenario {
            name: "rekor 409 is final",
            claims: github_claims(),
            payload: b"{}".to_vec(),
            payload_type: INTOTO,
            fulcio: vec![fulcio_ok(&leaf)],
            rekor: vec![answer(
                409,
                r#"{"code":409,"message":"An equivalent entry already exists"}"#,
            )],
            retries: 2,
        },
        Scenario {
            name: "fulcio 400 and 420 are final",
            claims: github_claims(),
            payload: b"{}".to_vec(),
            payload_type: INTOTO,
            fulcio: vec![answer(420, r#"{"message":"calm"}"#)],
            rekor: vec![],
            retries: 2,
        },
    ]
}

#[test]
fn matches_sigstore_js_byte_for_byte() {
    for s in scenarios() {
        let rust = run_rust(&s);
        let (js, node_pem) = run_sigstore_js(&s);
        assert_eq!(
            node_pem,
            public_key_pem(&fixed_key()),
            "{}: public key PEM",
            s.name
        );
        assert_eq!(
            rust.requests.len(),
            js.requests.len(),
            "{}: request count\nrust: {:?}\njs: {:?}",
            s.name,
            rust.requests.iter().map(|r| &r.0).collect::<Vec<_>>(),
            js.requests.iter().map(|r| &r.0).collect::<Vec<_>>()
        );
        for (i, (r, j)) in rust.requests.iter().zip(&js.requests).enumerate() {
            assert_eq!(r.0, j.0, "{}: request {i} path", s.name);
            assert_eq!(r.1, j.1, "{}: request {i} body", s.name);
            if r.0 == "/api/v1/log/entries" {
                assert_eq!(r.2, j.2, "{}: request {i} accept", s.name);
            }
        }
        assert_eq!(
            rust.error.is_some(),
            js.error.is_some(),
            "{}: rust error {:?}, sigstore-js error {:?}",
            s.name,
            rust.error,
            js.error
        );
        assert_eq!(rust.bundle, js.bundle, "{}: bundle", s.name);
        if s.name == "recorded public-good entry" {
            let b: Value = serde_json::from_str(js.bundle.as_deref().unwrap()).unwrap();
            assert_eq!(
                b["verificationMaterial"]["tlogEntries"][0],
                serde_json::from_str::<Value>(TLOG_FIXTURE).unwrap(),
                "the committed tlog fixture is what sigstore-js makes of the recorded entry"
            );
        }
    }
}

#[test]
fn a_sigstore_url_of_another_scheme_is_a_usage_error() {
    for (fulcio, rekor) in [
        ("ftp://127.0.0.1:21/", "https://rekor.sigstore.dev"),
        ("https://fulcio.sigstore.dev", "file:///etc/passwd"),
        ("http://fulcio.example/", "https://rekor.sigstore.dev"),
    ] {
        let urls = SigstoreUrls {
            fulcio: fulcio.into(),
            rekor: rekor.into(),
        };
        let e = check_urls(&urls).unwrap_err();
        assert!(matches!(e, SignError::InsecureUrl { .. }), "{e:?}");
        assert!(e.is_usage(), "{e:?}");
    }
    let ok = SigstoreUrls {
        fulcio: "https://fulcio.sigstore.dev".into(),
        rekor: "http://127.0.0.1:3000".into(),
    };
    assert!(check_urls(&ok).is_ok());
}
