//! Self-tests of the Sigstore fakes and the verifier harness. Bundles are
//! made by sigstore-js itself (npm's bundled copy) against the fakes, and
//! judged by npm's `@sigstore/verify`; the fakes' refusals are checked with
//! direct requests. Each test fails if the fake stops doing what it checks.

use serde_json::{json, Value};

use super::super::http::{request as http, HttpResponse};
use super::super::oidc_fakes::jwt::JwtKey;
use super::super::oidc_fakes::OidcIssuer;
use super::ca::{extensions_of, San, OID_SCT_LIST};
use super::crypto::{b64, b64_decode, canonical_json, pae, pem_decode, verify_der, EcKey};
use super::fulcio::{challenge_of, messages, signing_request};
use super::merkle;
use super::rekor::{envelope_json, proposed_dsse_entry, sign_envelope};
use super::*;

const OWNER: &str = "acme";
const REPO: &str = "widgets";
const WORKFLOW: &str = "release.yml";
const SAN_GITHUB: &str =
    "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main";
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// A GitHub Actions token for Sigstore (aud `sigstore`).
fn github_token(issuer: &OidcIssuer) -> String {
    issuer.mint(
        &issuer
            .github_claims(OWNER, REPO, WORKFLOW)
            .audience("sigstore")
            .build(),
    )
}

/// A small provenance-like in-toto statement, as the bytes npm would sign.
fn statement(name: &str) -> String {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": format!("pkg:npm/{name}@1.0.0"), "digest": { "sha512": "ab".repeat(64) } }],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": { "buildDefinition": { "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1" } }
    })
    .to_string()
}

fn post_json(url: &str, body: &Value) -> HttpResponse {
    http(
        "POST",
        url,
        &[
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
    .expect("request")
}

fn signing_cert(fulcio: &FakeFulcio, body: &Value) -> HttpResponse {
    post_json(&format!("{}/api/v2/signingCert", fulcio.url()), body)
}

/// A certificate request as sigstore-js makes it: PoP over the challenge.
fn good_request(token: &str, key: &EcKey) -> Value {
    let challenge = challenge_of(token).expect("challenge");
    signing_request(token, key, &key.sign(challenge.as_bytes()))
}

#[track_caller]
fn expect_refusal(fulcio: &FakeFulcio, r: &HttpResponse, message: &str, detail: &str) {
    let last = fulcio.signing_requests().pop().expect("a recorded request");
    assert!(
        r.status == 400 && r.message().as_deref() == Some(message) && last.detail.contains(detail),
        "expected 400 {message:?} (reason containing {detail:?}), got {} {} (reason {:?})",
        r.status,
        r.text(),
        last.detail
    );
}

/// Makes one bundle with sigstore-js against `sigstore`.
fn js_bundle(sigstore: &Sigstore, token: &str, payload: &str) -> Value {
    sigstore_js_sign(
        &sigstore.fulcio.url(),
        &sigstore.rekor.url(),
        token,
        payload,
    )
    .unwrap_or_else(|e| {
        panic!(
            "sigstore-js could not sign against the fakes: {e}\nfulcio: {:#?}\nrekor: {:#?}",
            sigstore
                .fulcio
                .records()
                .iter()
                .map(|r| format!("{} {}", r.status, r.detail))
                .collect::<Vec<_>>(),
            sigstore
                .rekor
                .records()
                .iter()
                .map(|r| format!("{} {}", r.status, r.detail))
                .collect::<Vec<_>>()
        )
    })
}

#[test]
fn sigstore_js_bundles_verify_against_the_fakes() {
    let github = OidcIssuer::github();
    let gitlab = OidcIssuer::gitlab();
    let sigstore = Sigstore::start(&[&github, &gitlab]);
    let gh_token = github_token(&github);
    let gl_token = gitlab.mint(
        &gitlab
            .gitlab_claims("group", "proj", ".gitlab-ci.yml")
            .audience("sigstore")
            .build(),
    );
    let payload = statement("@acme/widgets");
    let jobs = [
        SignJob::new(
            &sigstore.fulcio.url(),
            &sigstore.rekor.url(),
            &gh_token,
            &payload,
        ),
        SignJob {
            mode: SignMode::Builder,
            ..SignJob::new(
                &sigstore.fulcio.url(),
                &sigstore.rekor.url(),
                &gh_token,
                &payload,
            )
        },
        SignJob::new(
            &sigstore.fulcio.url(),
            &sigstore.rekor.url(),
            &gl_token,
            &payload,
        ),
    ];
    let bundles: Vec<Value> = sigstore_js_sign_many(&jobs)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("sigstore-js: {e}")))
        .collect();
    let root = sigstore.trusted_root();
    let gl_san = "https://gitlab.com/group/proj//.gitlab-ci.yml@refs/heads/main";
    let results = verify_many(&[
        VerifyCase::new(&bundles[0], &root, SAN_GITHUB, &github.url()),
        VerifyCase::new(&bundles[1], &root, SAN_GITHUB, &github.url()),
        VerifyCase::new(&bundles[2], &root, gl_san, &gitlab.url()),
    ]);
    let verified: Vec<Verified> = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("a sigstore-js bundle did not verify: {e}")))
        .collect();
    let expected: Value = serde_json::from_str(&payload).unwrap();
    for v in &verified {
        assert_eq!(v.statement, expected);
        assert_eq!(v.payload_type, IN_TOTO);
    }

    // The shape npm 11.19.1 produces (spec §2.7).
    for b in &bundles {
        assert_eq!(
            b["mediaType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        let vm = &b["verificationMaterial"];
        assert!(vm["certificate"]["rawBytes"].is_string(), "{b:#}");
        let e = &vm["tlogEntries"][0];
        assert_eq!(
            e["kindVersion"],
            json!({ "kind": "dsse", "version": "0.0.1" })
        );
        let global: u64 = e["logIndex"].as_str().unwrap().parse().unwrap();
        let shard: u64 = e["inclusionProof"]["logIndex"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(global, sigstore.rekor.options().shard_offset + shard);
        assert_ne!(global, shard);
        assert!(
            !e["inclusionProof"]["hashes"].as_array().unwrap().is_empty(),
            "a pre-filled log gives a non-trivial proof"
        );
        assert_eq!(e["logId"]["keyId"], b64(&sigstore.rekor.log_id()));
    }

    // The GitHub certificate's Fulcio extensions, as read by the verifier.
    let gh = &verified[0];
    assert_eq!(gh.san, SAN_GITHUB);
    assert_eq!(gh.issuer, github.url());
    let claims = github.github_claims(OWNER, REPO, WORKFLOW).build();
    let c = |k: &str| claims[k].as_str().unwrap().to_string();
    let want: Vec<(u32, String)> = vec![
        (1, github.url()),
        (2, "push".into()),
        (3, c("sha")),
        (4, "Release".into()),
        (5, "acme/widgets".into()),
        (6, "refs/heads/main".into()),
        (8, github.url()),
        (9, SAN_GITHUB.into()),
        (10, c("job_workflow_sha")),
        (11, "github-hosted".into()),
        (12, "https://github.com/acme/widgets".into()),
        (13, c("sha")),
        (14, "refs/heads/main".into()),
        (15, c("repository_id")),
        (16, "https://github.com/acme".into()),
        (17, c("repository_owner_id")),
        (18, SAN_GITHUB.into()),
        (19, c("workflow_sha")),
        (20, "push".into()),
        (22, "public".into()),
    ];
    for (arc, value) in want {
        assert_eq!(
            gh.fulcio_extension(arc).as_deref(),
            Some(value.as_str()),
            "extension .{arc}"
        );
    }
    let run = gh.fulcio_extension(21).unwrap();
    assert!(
        run.starts_with("https://github.com/acme/widgets/actions/runs/")
            && run.ends_with("/attempts/1"),
        "{run}"
    );
    assert!(gh.oids.contains_key(OID_SCT_LIST));
    let gl = &verified[2];
    assert_eq!(gl.fulcio_extension(9).as_deref(), Some(gl_san));
    assert_eq!(
        gl.fulcio_extension(12).as_deref(),
        Some("https://gitlab.com/group/proj")
    );
    assert_eq!(gl.fulcio_extension(14).as_deref(), Some("refs/heads/main"));
    assert_eq!(gl.fulcio_extension(22).as_deref(), Some("public"));
    assert!(
        !gl.oids.contains_key("1.3.6.1.4.1.57264.1.2"),
        "GitLab has no GitHub-only extensions"
    );

    // What sigstore-js sent, as the fakes recorded it.
    let reqs = sigstore.fulcio.signing_requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|r| r.status == 201));
    assert_eq!(
        reqs[0].json()["publicKeyRequest"]["publicKey"]["algorithm"],
        "ECDSA"
    );
    let entries = sigstore.rekor.entries();
    assert_eq!(entries.len(), 3);
    let env: Value = serde_json::from_str(&entries[0].envelope).unwrap();
    assert_eq!(
        entries[0].envelope,
        canonical_json(&env),
        "sigstore-js sends a compact, sorted envelope"
    );
    assert_eq!(
        entries[0].body["spec"]["signatures"][0]["verifier"],
        b64(sigstore.fulcio.issued()[0].leaf.pem.as_bytes())
    );
}

#[test]
fn every_tamper_is_caught_by_the_verifier() {
    let github = OidcIssuer::github();
    let sigstore = Sigstore::start(&[&github]);
    let bundle = js_bundle(&sigstore, &github_token(&github), &statement("tamper-me"));
    let root = sigstore.trusted_root();
    let mut cases = vec![VerifyCase::new(&bundle, &root, SAN_GITHUB, &github.url())];
    for t in Tamper::ALL {
        cases.push(VerifyCase::new(
            &tamper(&bundle, t),
            &root,
            SAN_GITHUB,
            &github.url(),
        ));
    }
    let results = verify_many(&cases);
    assert!(
        results[0].is_ok(),
        "the untampered bundle: {:?}",
        results[0]
    );
    let mut report = Vec::new();
    for (t, r) in Tamper::ALL.iter().zip(&results[1..]) {
        match r {
            Ok(_) => report.push(format!("{t:?}: accepted")),
            Err(e) => {
                let family = if e.code.is_empty() { &e.name } else { &e.code };
                if family != t.expected_code() || !e.description.contains(t.expected_message()) {
                    report.push(format!(
                        "{t:?}: expected {} {:?}, got {e}",
                        t.expected_code(),
                        t.expected_message()
                    ));
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "tampering not caught as expected:\n{}",
        report.join("\n")
    );
}

#[test]
fn wrong_identity_or_trusted_root_fails_verification() {
    let github = OidcIssuer::github();
    let sigstore = Sigstore::start(&[&github]);
    let bundle = js_bundle(&sigstore, &github_token(&github), &statement("identity"));
    let root = sigstore.trusted_root();
    let other = Sigstore::start(&[&github]);
    let other_root = other.trusted_root();
    // Mixed roots: each of CA, CT log and Rekor is checked on its own.
    let mix = |from_other: &str| {
        let mut r = root.clone();
        r[from_other] = other_root[from_other].clone();
        r
    };
    let prefix = &SAN_GITHUB[..SAN_GITHUB.len() - 5];
    let cases = [
        (
            VerifyCase::new(&bundle, &root, SAN_GITHUB, &github.url()),
            "ok",
        ),
        (
            VerifyCase::new(
                &bundle,
                &root,
                "https://github.com/acme/other/.github/workflows/release.yml@refs/heads/main",
                &github.url(),
            ),
            "UNTRUSTED_SIGNER_ERROR",
        ),
        (
            VerifyCase::new(&bundle, &root, prefix, &github.url()),
            "UNTRUSTED_SIGNER_ERROR",
        ),
        (
            VerifyCase::new(
                &bundle,
                &root,
                SAN_GITHUB,
                "https://token.actions.githubusercontent.com",
            ),
            "UNTRUSTED_SIGNER_ERROR",
        ),
        (
            VerifyCase::new(&bundle, &other_root, SAN_GITHUB, &github.url()),
            "CERTIFICATE_ERROR",
        ),
        (
            VerifyCase::new(
                &bundle,
                &mix("certificateAuthorities"),
                SAN_GITHUB,
                &github.url(),
            ),
            "CERTIFICATE_ERROR",
        ),
        (
            VerifyCase::new(&bundle, &mix("ctlogs"), SAN_GITHUB, &github.url()),
            "CERTIFICATE_ERROR",
        ),
        (
            VerifyCase::new(&bundle, &mix("tlogs"), SAN_GITHUB, &github.url()),
            "TLOG_INCLUSION_PROMISE_ERROR",
        ),
    ];
    let results = verify_many(&cases.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>());
    let mut report = Vec::new();
    for (i, ((_, want), got)) in cases.iter().zip(&results).enumerate() {
        let got_code = match got {
            Ok(_) => "ok".to_string(),
            Err(e) => e.code.clone(),
        };
        if got_code != *want {
            report.push(format!("case {i}: expected {want}, got {got:?}"));
        }
    }
    if let Err(e) = &results[6] {
        assert!(e.message.contains("SCT verification failed"), "{e}");
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn fulcio_issues_for_a_valid_request() {
    let github = OidcIssuer::github();
    let fulcio = FakeFulcio::start(&[&github]);
    let key = EcKey::generate();
    let token = github_token(&github);
    let r = signing_cert(&fulcio, &good_request(&token, &key));
    assert_eq!(r.status, 201, "{}", r.text());
    let chain = r.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .cloned()
        .expect("chain");
    assert_eq!(chain.len(), 3, "leaf, intermediate, root");
    let (label, leaf) = pem_decode(chain[0].as_str().unwrap()).unwrap();
    assert_eq!(label, "CERTIFICATE");
    assert_eq!(
        super::ca::cert_spki(&leaf).unwrap(),
        key.spki_der(),
        "the client's key"
    );
    // issued by the intermediate, which the root issued
    {
        use x509_cert::der::{Decode as _, Encode as _};
        let ca = fulcio.ca();
        let inter = ca.intermediate.as_ref().expect("an intermediate");
        let signed_by = |der: &[u8], issuer: &super::ca::CaCert| {
            let c = x509_cert::Certificate::from_der(der).unwrap();
            assert_eq!(
                c.tbs_certificate.issuer,
                issuer.cert.tbs_certificate.subject
            );
            verify_der(
                &issuer.key.spki_der(),
                &c.tbs_certificate.to_der().unwrap(),
                c.signature.raw_bytes(),
            )
        };
        signed_by(&leaf, inter).expect("leaf signed by the intermediate");
        signed_by(&inter.der, &ca.root).expect("intermediate signed by the root");
        let pem = |v: &Value| pem_decode(v.as_str().unwrap()).unwrap().1;
        assert_eq!(pem(&chain[1]), inter.der);
        assert_eq!(pem(&chain[2]), ca.root.der);
    }
    let exts = extensions_of(&leaf).unwrap();
    let ids: Vec<&str> = exts.iter().map(|(o, _, _)| o.as_str()).collect();
    assert_eq!(
        &ids[..5],
        [
            "2.5.29.15",
            "2.5.29.37",
            "2.5.29.14",
            "2.5.29.35",
            "2.5.29.17"
        ],
        "KeyUsage, EKU, SKI, AKI, SAN first"
    );
    assert_eq!(ids.last(), Some(&OID_SCT_LIST), "the SCT list is last");
    assert!(exts[0].1 && exts[4].1, "KeyUsage and SAN are critical");
    let issued = fulcio.issued();
    assert_eq!(issued[0].identity.san, San::Uri(SAN_GITHUB.into()));
    assert_eq!(issued[0].identity.challenge, challenge_of(&token).unwrap());
    assert!(issued[0].leaf.not_after - issued[0].leaf.not_before == 600);
    // trust bundle
    let tb = http(
        "GET",
        &format!("{}/api/v2/trustBundle", fulcio.url()),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(
        tb.json()["chains"][0]["certificates"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn fulcio_refuses_bad_tokens_and_bad_proofs() {
    let github = OidcIssuer::github();
    let stranger = OidcIssuer::github();
    let fulcio = FakeFulcio::start(&[&github]);
    let key = EcKey::generate();
    let claims = || {
        github
            .github_claims(OWNER, REPO, WORKFLOW)
            .audience("sigstore")
    };

    // proof of possession over something else than the subject
    let token = github_token(&github);
    let r = signing_cert(
        &fulcio,
        &signing_request(&token, &key, &key.sign(b"not the subject")),
    );
    expect_refusal(
        &fulcio,
        &r,
        messages::INVALID_SIGNATURE,
        "proof of possession",
    );
    // proof by another key
    let other = EcKey::generate();
    let sub = challenge_of(&token).unwrap();
    let r = signing_cert(
        &fulcio,
        &signing_request(&token, &key, &other.sign(sub.as_bytes())),
    );
    expect_refusal(
        &fulcio,
        &r,
        messages::INVALID_SIGNATURE,
        "proof of possession",
    );
    // expired
    let r = signing_cert(
        &fulcio,
        &good_request(&github.mint(&claims().expired().build()), &key),
    );
    expect_refusal(&fulcio, &r, messages::INVALID_IDENTITY_TOKEN, "expired");
    // wrong audience (the trusted-publishing token's, for instance)
    let npm_aud = github.mint(
        &github
            .github_claims(OWNER, REPO, WORKFLOW)
            .audience("npm:registry.npmjs.org")
            .build(),
    );
    let r = signing_cert(&fulcio, &good_request(&npm_aud, &key));
    expect_refusal(&fulcio, &r, messages::INVALID_IDENTITY_TOKEN, "audience");
    // an issuer Fulcio does not trust (valid, reachable, signed)
    let r = signing_cert(&fulcio, &good_request(&github_token(&stranger), &key));
    expect_refusal(
        &fulcio,
        &r,
        messages::INVALID_IDENTITY_TOKEN,
        "not a configured issuer",
    );
    // forged: the trusted issuer's iss and kid, another key
    let forged = github.mint_with_key(&claims().build(), JwtKey::other());
    let r = signing_cert(&fulcio, &good_request(&forged, &key));
    expect_refusal(&fulcio, &r, messages::INVALID_IDENTITY_TOKEN, "signature");
    // no token
    let r = signing_cert(
        &fulcio,
        &good_request(&token, &key).tap(|b| b["credentials"] = json!({})),
    );
    expect_refusal(
        &fulcio,
        &r,
        messages::INVALID_IDENTITY_TOKEN,
        "no OIDC identity token",
    );
    // garbage public key
    let mut body = good_request(&token, &key);
    body["publicKeyRequest"]["publicKey"]["content"] =
        json!("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    let r = signing_cert(&fulcio, &body);
    expect_refusal(&fulcio, &r, messages::INVALID_PUBLIC_KEY, "");
    assert!(fulcio.issued().is_empty(), "nothing was issued");

    // sigstore-js reports Fulcio's message
    let rekor = FakeRekor::start();
    let err = sigstore_js_sign(&fulcio.url(), &rekor.url(), &npm_aud, &statement("x")).unwrap_err();
    assert!(
        err.contains("CA_CREATE_SIGNING_CERTIFICATE_ERROR")
            && err.contains("(400) There was an error processing the identity token"),
        "{err}"
    );
    assert!(rekor.entries().is_empty());
}

trait Tap: Sized {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}
impl Tap for Value {}

#[test]
fn fulcio_email_issuers_sign_the_verified_email() {
    let issuer = OidcIssuer::github();
    let fulcio = FakeFulcio::start_with(FulcioOptions {
        issuers: vec![TrustedIssuer {
            url: issuer.url(),
            kind: IssuerKind::Email,
        }],
        ..FulcioOptions::default()
    });
    let key = EcKey::generate();
    let mut claims = issuer
        .github_claims(OWNER, REPO, WORKFLOW)
        .audience("sigstore")
        .build();
    claims.insert("email".into(), json!("dev@example.com"));
    claims.insert("email_verified".into(), json!(true));
    let token = issuer.mint(&claims);
    // PoP over sub is refused: an e-mail principal's name is the e-mail
    let sub = claims["sub"].as_str().unwrap();
    let r = signing_cert(
        &fulcio,
        &signing_request(&token, &key, &key.sign(sub.as_bytes())),
    );
    expect_refusal(&fulcio, &r, messages::INVALID_SIGNATURE, "dev@example.com");
    let r = signing_cert(&fulcio, &good_request(&token, &key));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        fulcio.issued()[0].identity.san,
        San::Email("dev@example.com".into())
    );
    claims.insert("email_verified".into(), json!(false));
    let unverified = issuer.mint(&claims);
    let r = signing_cert(
        &fulcio,
        &signing_request(&unverified, &key, &key.sign(b"dev@example.com")),
    );
    expect_refusal(
        &fulcio,
        &r,
        messages::INVALID_IDENTITY_TOKEN,
        "email_verified",
    );
}

/// A certificate from `fulcio` for `key`, through the API.
fn certificate(fulcio: &FakeFulcio, issuer: &OidcIssuer, key: &EcKey) -> String {
    let r = signing_cert(fulcio, &good_request(&github_token(issuer), key));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
        .as_str()
        .unwrap()
        .to_string()
}

fn create_entry(rekor: &FakeRekor, entry: &Value) -> HttpResponse {
    post_json(&format!("{}/api/v1/log/entries", rekor.url()), entry)
}

#[test]
fn rekor_logs_a_valid_entry_with_set_proof_and_checkpoint() {
    let github = OidcIssuer::github();
    let fulcio = FakeFulcio::start(&[&github]);
    let rekor = FakeRekor::start_with(RekorOptions {
        prefill: 21,
        trailing: 3,
        ..RekorOptions::default()
    });
    let key = EcKey::generate();
    let cert = certificate(&fulcio, &github, &key);
    let payload = statement("rekor");
    let envelope = sign_envelope(payload.as_bytes(), IN_TOTO, &key);
    let r = create_entry(&rekor, &proposed_dsse_entry(&envelope, &cert));
    assert_eq!(r.status, 201, "{}", r.text());
    let resp = r.json();
    let (uuid, e) = resp.as_object().unwrap().iter().next().unwrap();
    assert_eq!(uuid.len(), 80);
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/log/entries/{uuid}").as_str())
    );

    // the canonical body
    let body_bytes = b64_decode(e["body"].as_str().unwrap()).unwrap();
    let body: Value = serde_json::from_slice(&body_bytes).unwrap();
    assert_eq!(
        String::from_utf8(body_bytes.clone()).unwrap(),
        canonical_json(&body)
    );
    assert_eq!(
        body,
        json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": { "algorithm": "sha256", "value": super::crypto::sha256_hex(envelope.as_bytes()) },
                "payloadHash": { "algorithm": "sha256", "value": super::crypto::sha256_hex(payload.as_bytes()) },
                "signatures": [{
                    "signature": serde_json::from_str::<Value>(&envelope).unwrap()["signatures"][0]["sig"],
                    "verifier": b64(cert.as_bytes()),
                }],
            }
        })
    );
    assert_eq!(&uuid[16..], hex::encode(merkle::leaf_hash(&body_bytes)));

    // indices, SET
    let proof = &e["verification"]["inclusionProof"];
    assert_eq!(proof["logIndex"], 21);
    assert_eq!(proof["treeSize"], 25);
    assert_eq!(e["logIndex"], rekor.options().shard_offset + 21);
    assert_eq!(e["logID"], rekor.log_id_hex());
    let set_payload = canonical_json(&json!({
        "body": e["body"], "integratedTime": e["integratedTime"], "logID": e["logID"], "logIndex": e["logIndex"],
    }));
    let spki = rekor.key().spki_der();
    let set = b64_decode(e["verification"]["signedEntryTimestamp"].as_str().unwrap()).unwrap();
    verify_der(&spki, set_payload.as_bytes(), &set).expect("SET");

    // proof and checkpoint
    let hashes: Vec<merkle::Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            hex::decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    let root: merkle::Hash = hex::decode(proof["rootHash"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    assert!(merkle::verify_inclusion(
        21,
        25,
        &merkle::leaf_hash(&body_bytes),
        &hashes,
        &root
    ));
    let cp = proof["checkpoint"].as_str().unwrap();
    let (note, sig_line) = cp.split_at(cp.find("\n\n").unwrap() + 1);
    assert_eq!(note, format!("{}\n25\n{}\n", rekor.origin(), b64(&root)));
    let sig_line = sig_line.strip_prefix('\n').unwrap();
    let parts: Vec<&str> = sig_line.trim_end_matches('\n').split(' ').collect();
    assert_eq!(parts[..2], ["\u{2014}", rekor.name().as_str()]);
    let sig = b64_decode(parts[2]).unwrap();
    assert_eq!(sig[..4], rekor.log_id()[..4], "key hint");
    verify_der(&spki, note.as_bytes(), &sig[4..]).expect("checkpoint signature");

    // log info and the entry by UUID
    let info = http("GET", &format!("{}/api/v1/log", rekor.url()), &[], b"")
        .unwrap()
        .json();
    assert_eq!(info["treeSize"], 25);
    let again = http(
        "GET",
        &format!("{}/api/v1/log/entries/{uuid}", rekor.url()),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(again.json()[uuid]["body"], e["body"]);

    // the same entry again → 409, nothing appended
    let r = create_entry(&rekor, &proposed_dsse_entry(&envelope, &cert));
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        r.message().unwrap(),
        format!("an equivalent entry already exists in the transparency log with UUID {uuid}")
    );
    assert!(r.header("location").is_some_and(|l| l.ends_with(uuid)));
    assert_eq!(rekor.tree_size(), 25);
}

#[test]
fn rekor_refuses_envelopes_the_verifiers_do_not_sign() {
    let github = OidcIssuer::github();
    let fulcio = FakeFulcio::start(&[&github]);
    let rekor = FakeRekor::start();
    let key = EcKey::generate();
    let cert = certificate(&fulcio, &github, &key);
    let payload = statement("bad-sig");
    let size = rekor.tree_size();

    // signature over the payload itself, not over the PAE
    let not_pae = envelope_json(payload.as_bytes(), IN_TOTO, &key.sign(payload.as_bytes()));
    // a valid PAE signature by another key
    let other = EcKey::generate();
    let other_key = envelope_json(
        payload.as_bytes(),
        IN_TOTO,
        &other.sign(&pae(IN_TOTO, payload.as_bytes())),
    );
    // signed for another payload type
    let wrong_type = envelope_json(
        payload.as_bytes(),
        IN_TOTO,
        &key.sign(&pae("text/plain", payload.as_bytes())),
    );
    // a flipped bit
    let good = sign_envelope(payload.as_bytes(), IN_TOTO, &key);
    let mut env: Value = serde_json::from_str(&good).unwrap();
    let mut sig = b64_decode(env["signatures"][0]["sig"].as_str().unwrap()).unwrap();
    let n = sig.len();
    sig[n - 1] ^= 1;
    env["signatures"][0]["sig"] = json!(b64(&sig));
    let flipped = canonical_json(&env);
    for (what, envelope) in [
        ("not PAE", not_pae),
        ("other key", other_key),
        ("wrong type", wrong_type),
        ("flipped", flipped),
    ] {
        let r = create_entry(&rekor, &proposed_dsse_entry(&envelope, &cert));
        assert!(
            r.status == 400
                && r.message().is_some_and(
                    |m| m.starts_with("error processing entry: could not verify envelope")
                ),
            "{what}: {} {}",
            r.status,
            r.text()
        );
    }
    // no verifiers, or a verifier that is not a key
    let mut e = proposed_dsse_entry(&good, &cert);
    e["spec"]["proposedContent"]["verifiers"] = json!([]);
    assert_eq!(create_entry(&rekor, &e).status, 400);
    e["spec"]["proposedContent"]["verifiers"] = json!([b64(b"not a PEM")]);
    assert_eq!(create_entry(&rekor, &e).status, 400);
    assert_eq!(rekor.tree_size(), size, "nothing was appended");
    assert!(rekor.entries().is_empty());
    // and the good one goes in
    assert_eq!(
        create_entry(&rekor, &proposed_dsse_entry(&good, &cert)).status,
        201
    );
}

#[test]
fn merkle_proofs_verify_for_every_leaf_of_small_trees() {
    // RFC 6962 test vectors (certificate-transparency / trillian): the
    // 8 leaves and the roots of the trees over the first n of them.
    let leaves: Vec<Vec<u8>> = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| hex::decode(h).unwrap())
    .collect();
    let hashes: Vec<merkle::Hash> = leaves.iter().map(|l| merkle::leaf_hash(l)).collect();
    assert_eq!(
        hex::encode(merkle::root(&hashes[..1])),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
    assert_eq!(
        hex::encode(merkle::root(&hashes)),
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
    assert_eq!(
        hex::encode(merkle::root(&[])),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let pool: Vec<merkle::Hash> = (0u32..70)
        .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
        .collect();
    for size in 1..=pool.len() {
        let tree = &pool[..size];
        let root = merkle::root(tree);
        for m in 0..size {
            let proof = merkle::inclusion_proof(m, tree);
            assert!(
                merkle::verify_inclusion(m as u64, size as u64, &tree[m], &proof, &root),
                "leaf {m} of {size}"
            );
            if let Some(first) = proof.first() {
                let mut bad = proof.clone();
                bad[0] = merkle::node_hash(first, first);
                assert!(!merkle::verify_inclusion(
                    m as u64,
                    size as u64,
                    &tree[m],
                    &bad,
                    &root
                ));
            }
            if size > 1 {
                let other = (m + 1) % size;
                assert!(
                    !merkle::verify_inclusion(other as u64, size as u64, &tree[m], &proof, &root)
                        || tree[m] == tree[other]
                );
            }
        }
    }
}

#[test]
fn sigstore_js_accepts_proofs_for_several_log_sizes() {
    let github = OidcIssuer::github();
    let fulcio = FakeFulcio::start(&[&github]);
    let token = github_token(&github);
    let shapes = [(0, 0), (1, 0), (2, 1), (6, 0), (7, 3), (100, 5), (255, 1)];
    let rekors: Vec<FakeRekor> = shapes
        .iter()
        .map(|&(prefill, trailing)| {
            FakeRekor::start_with(RekorOptions {
                prefill,
                trailing,
                ..RekorOptions::default()
            })
        })
        .collect();
    let payload = statement("sizes");
    let jobs: Vec<SignJob> = rekors
        .iter()
        .map(|r| SignJob::new(&fulcio.url(), &r.url(), &token, &payload))
        .collect();
    let bundles: Vec<Value> = sigstore_js_sign_many(&jobs)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("sigstore-js: {e}")))
        .collect();
    let mut cases = Vec::new();
    for (b, r) in bundles.iter().zip(&rekors) {
        let root = trusted_root(&fulcio, r);
        cases.push(VerifyCase::new(b, &root, SAN_GITHUB, &github.url()));
        cases.push(VerifyCase::new(
            &tamper(b, Tamper::InclusionProof),
            &root,
            SAN_GITHUB,
            &github.url(),
        ));
    }
    let results = verify_many(&cases);
    for (i, &(prefill, trailing)) in shapes.iter().enumerate() {
        let e = &bundles[i]["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
        // proto3 JSON leaves out a zero logIndex
        assert_eq!(e["logIndex"].as_str().unwrap_or("0"), prefill.to_string());
        assert_eq!(e["treeSize"], (prefill + 1 + trailing).to_string());
        assert!(
            results[2 * i].is_ok(),
            "prefill {prefill}, trailing {trailing}: {:?}",
            results[2 * i]
        );
        let bad = results[2 * i + 1]
            .as_ref()
            .expect_err("tampered proof accepted");
        assert_eq!(
            bad.code, "TLOG_INCLUSION_PROOF_ERROR",
            "prefill {prefill}: {bad}"
        );
    }
}

#[test]
fn faults_are_served_in_order() {
    let github = OidcIssuer::github();
    let sigstore = Sigstore::start(&[&github]);
    sigstore.fulcio.push_faults([Fault::Status(503)]);
    sigstore.rekor.push_faults([Fault::Status(500)]);
    let key = EcKey::generate();
    let body = good_request(&github_token(&github), &key);
    let r = signing_cert(&sigstore.fulcio, &body);
    assert_eq!(
        (r.status, r.message().as_deref()),
        (503, Some("scripted 503"))
    );
    let r = signing_cert(&sigstore.fulcio, &body);
    assert_eq!(r.status, 201);
    let cert = r.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
        .as_str()
        .unwrap()
        .to_string();
    let entry = proposed_dsse_entry(&sign_envelope(b"{}", IN_TOTO, &key), &cert);
    assert_eq!(create_entry(&sigstore.rekor, &entry).status, 500);
    assert_eq!(create_entry(&sigstore.rekor, &entry).status, 201);
}

#[test]
fn a_certificate_without_an_sct_fails_verification() {
    // sigstore-js does not check the SCT when signing; the verifier does
    // (ctlogThreshold 1), so a Fulcio that forgot the SCT is caught.
    let github = OidcIssuer::github();
    let sigstore = Sigstore::start_with(
        FulcioOptions {
            issuers: vec![TrustedIssuer::from_oidc(&github)],
            embed_sct: false,
            ..FulcioOptions::default()
        },
        RekorOptions::default(),
    );
    let bundle = js_bundle(&sigstore, &github_token(&github), &statement("no-sct"));
    let err = verify_bundle_detailed(&bundle, &sigstore.trusted_root(), SAN_GITHUB, &github.url())
        .expect_err("a bundle without an SCT verified");
    assert_eq!(err.code, "CERTIFICATE_ERROR", "{err}");
    assert!(err.message.contains("expected 1 SCTs, got 0"), "{err}");
}
