//! Provenance end to end: `trustpub publish` through trusted publishing
//! (the OIDC fakes and the exchange proxy in front of Verdaccio) with the
//! fake Fulcio and Rekor (`support::sigstore_fakes`). Every bundle made here
//! is checked by the independent verifier — `@sigstore/verify` as bundled
//! with the reference npm, fed the fakes' trusted root — and tampered copies
//! must fail it.

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::support::sandbox::Tp;
use crate::support::sigstore_fakes::{
    sigstore_js_sign, tamper, verify_bundle, verify_many, Sigstore, Tamper, VerifyCase,
};
use crate::trusted::{expect_code, expect_no_stderr, expect_stderr, World};

/// The variables GitHub sets that npm's statement reads.
fn github_job_env<'a>(tp: Tp<'a>, sig: &Sigstore) -> Tp<'a> {
    tp.env("GITHUB_REPOSITORY", "acme/widgets")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_SHA", "d782c874402305a00adcd10a58001c708039c0d0")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_REPOSITORY_ID", "25672436")
        .env("GITHUB_REPOSITORY_OWNER_ID", "393869357")
        .env("GITHUB_RUN_ID", "420342961")
        .env("GITHUB_RUN_ATTEMPT", "1")
        .env("RUNNER_ENVIRONMENT", "github-hosted")
        .args(["--fulcio-url", &sig.fulcio.url()])
        .args(["--rekor-url", &sig.rekor.url()])
}

/// A GitHub world whose job runs in the public `acme/widgets`.
fn public_github(label: &str) -> (World, Sigstore) {
    let w = World::github(label);
    w.issuer.set_job(
        w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .build(),
    );
    let sig = Sigstore::start(&[&w.issuer]);
    (w, sig)
}

fn tarball_sha512_hex(w: &World, version: &str) -> String {
    let url = format!("{}{}/-/{}-{version}.tgz", w.proxy.url(), w.name, w.name);
    let r = crate::support::oidc_fakes::http("GET", &url, &[], b"").expect("GET the tarball");
    assert_eq!(r.status, 200, "GET {url}");
    hex::encode(sha2::Sha512::digest(&r.body))
}

fn stored_bundle(w: &World, version: &str) -> Value {
    let url = format!(
        "{}-/npm/v1/attestations/{}@{version}",
        w.proxy.url(),
        w.name
    );
    let r = crate::support::oidc_fakes::http("GET", &url, &[], b"").expect("GET attestations");
    assert_eq!(
        r.status, 200,
        "no attestation stored for {}@{version}",
        w.name
    );
    r.json()["attestations"][0]["bundle"].clone()
}

#[test]
fn oidc_publish_signs_provenance_that_verifies() {
    let (w, sig) = public_github("prov-gh");
    let run = github_job_env(w.publish_on_github(), &sig)
        .arg("--json")
        .run();
    expect_code(&w, &run, 0);
    assert_eq!(w.versions(), ["1.0.0", "1.0.1"]);

    // One certificate, one log entry; the identity token had audience
    // `sigstore` (the second token request; the first was for npm).
    assert_eq!(sig.fulcio.issued().len(), 1, "{}", w.describe(&run));
    let entries = sig.rekor.entries();
    assert_eq!(entries.len(), 1);
    let tr = w.issuer.token_requests();
    assert_eq!(tr.len(), 2);
    assert!(tr[1].url.ends_with("&audience=sigstore"), "{}", tr[1].url);
    // One user-agent on every request: GitHub's token service, the
    // exchange and the registry, Fulcio and Rekor.
    let ua = crate::support::expected_user_agent(Some("github-actions"));
    let mut seen: Vec<(String, Option<String>)> = Vec::new();
    for r in w.issuer.token_requests() {
        seen.push((
            format!("issuer {}", r.url),
            r.header("user-agent").map(str::to_string),
        ));
    }
    for r in w.proxy.requests() {
        seen.push((
            format!("registry {} {}", r.method, r.target),
            r.header("user-agent").map(str::to_string),
        ));
    }
    for r in sig.fulcio.signing_requests() {
        seen.push((
            "fulcio".into(),
            r.request.header("user-agent").map(str::to_string),
        ));
    }
    for r in sig.rekor.create_requests() {
        seen.push((
            "rekor".into(),
            r.request.header("user-agent").map(str::to_string),
        ));
    }
    assert!(seen.len() >= 7, "{seen:?}");
    for (what, got) in &seen {
        assert_eq!(got.as_deref(), Some(ua.as_str()), "{what}");
    }
    // As npm: visibility for the automatic decision, the packument, then
    // visibility again for the preflight (access is not "public").
    assert_eq!(
        w.sequence(),
        [
            "POST exchange",
            "GET visibility",
            "GET package",
            "GET visibility",
            "PUT package"
        ]
    );

    // What the maintainer reads, and --json.
    let index = entries[0].log_index;
    expect_stderr(
        &w,
        &run,
        &format!("https://search.sigstore.dev/?logIndex={index}"),
    );
    let rec = &run.json()[&w.name];
    assert_eq!(rec["provenance"]["source"], "signed");
    assert_eq!(rec["provenance"]["logIndex"], json!(index));

    // The stored attestation verifies independently, names this package
    // and this tarball, and is the statement npm would have built.
    let bundle = stored_bundle(&w, "1.0.1");
    let attached = serde_json::to_string(&bundle).unwrap();
    assert_eq!(
        rec["provenance"]["bundleSha256"],
        json!(hex::encode(sha2::Sha256::digest(attached.as_bytes())))
    );
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let san = "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main";
    let root = sig.trusted_root();
    let statement = verify_bundle(&bundle, &root, san, &w.issuer.url())
        .unwrap_or_else(|e| panic!("the bundle does not verify: {e}"));
    assert_eq!(
        statement["subject"][0]["name"],
        json!(format!("pkg:npm/{}@1.0.1", w.name))
    );
    assert_eq!(
        statement["subject"][0]["digest"]["sha512"],
        json!(tarball_sha512_hex(&w, "1.0.1"))
    );
    assert_eq!(statement["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(
        statement["predicate"]["buildDefinition"]["externalParameters"]["workflow"]["path"],
        ".github/workflows/release.yml"
    );

    // Tampered copies fail the verifier, each for its own reason.
    let tampers = [
        Tamper::Payload,
        Tamper::Signature,
        Tamper::LogIndex,
        Tamper::Certificate,
    ];
    let cases: Vec<VerifyCase> = tampers
        .iter()
        .map(|t| VerifyCase {
            bundle: tamper(&bundle, *t),
            trusted_root: root.clone(),
            san: Some(san.to_string()),
            issuer: Some(w.issuer.url()),
        })
        .collect();
    for (t, result) in tampers.iter().zip(verify_many(&cases)) {
        match result {
            Ok(_) => panic!("a bundle with a tampered {t:?} verified"),
            Err(rej) => assert_eq!(rej.code, t.expected_code(), "{t:?}: {rej:?}"),
        }
    }
    w.check_leaks(&run);
}

#[test]
fn gitlab_publish_signs_provenance_with_sigstore_id_token() {
    let w = World::gitlab("prov-gl");
    let sig = Sigstore::start(&[&w.issuer]);
    let id = w.gitlab_id_token(&w.proxy.audience(), false);
    let claims = w
        .issuer
        .gitlab_claims("acme", "widgets", ".gitlab-ci.yml")
        .audience("sigstore")
        .build();
    let sigstore_token = w.issuer.mint(&claims);
    w.sb.add_secret(&sigstore_token);
    let run = w
        .publish_with_id_token("GITLAB_CI", &id)
        .env("SIGSTORE_ID_TOKEN", &sigstore_token)
        .env("CI_PROJECT_URL", "https://gitlab.com/acme/widgets")
        .env("CI_PROJECT_PATH", "acme/widgets")
        .env("CI_SERVER_URL", "https://gitlab.com")
        .env("CI_JOB_ID", "7")
        .env("CI_COMMIT_SHA", "d782c874402305a00adcd10a58001c708039c0d0")
        .env("CI_CONFIG_PATH", ".gitlab-ci.yml")
        .args(["--fulcio-url", &sig.fulcio.url()])
        .args(["--rekor-url", &sig.rekor.url()])
        .run();
    expect_code(&w, &run, 0);
    // package.json names github.com/acme/widgets: for GitLab that is
    // another repository, so automatic provenance is skipped with one line.
    expect_stderr(&w, &run, "provenance: skipped: package.json's \"repository.url\" is https://github.com/acme/widgets, but the registry requires it to match https://gitlab.com/acme/widgets");
    assert!(sig.fulcio.signing_requests().is_empty());

    // With the right repository it is signed and verifies.
    let manifest = w.pkg.join("package.json");
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["repository"] = json!({"type": "git", "url": "git+https://gitlab.com/acme/widgets.git"});
    m["version"] = json!("1.0.2");
    std::fs::write(&manifest, m.to_string()).unwrap();
    let id = w.gitlab_id_token(&w.proxy.audience(), false);
    let run = w
        .publish_with_id_token("GITLAB_CI", &id)
        .env("SIGSTORE_ID_TOKEN", &sigstore_token)
        .env("CI_PROJECT_URL", "https://gitlab.com/acme/widgets")
        .env("CI_PROJECT_PATH", "acme/widgets")
        .args(["--fulcio-url", &sig.fulcio.url()])
        .args(["--rekor-url", &sig.rekor.url()])
        .run();
    expect_code(&w, &run, 0);
    let bundle = stored_bundle(&w, "1.0.2");
    let san = format!("https://{}", claims["ci_config_ref_uri"].as_str().unwrap());
    let statement = verify_bundle(&bundle, &sig.trusted_root(), &san, &w.issuer.url())
        .unwrap_or_else(|e| panic!("the bundle does not verify: {e}"));
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v0.1");
    assert_eq!(
        statement["predicateType"],
        "https://slsa.dev/provenance/v0.2"
    );
    assert_eq!(
        statement["subject"][0]["digest"]["sha512"],
        json!(tarball_sha512_hex(&w, "1.0.2"))
    );
    w.check_leaks(&run);
}

#[test]
fn explicit_provenance_fails_before_anything_reaches_the_log() {
    let (w, sig) = public_github("prov-selfhosted");
    w.issuer.set_job(
        w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .self_hosted()
            .build(),
    );
    let run = github_job_env(w.publish_on_github(), &sig)
        .arg("--provenance")
        .run();
    expect_code(&w, &run, 2);
    let (error, hint) = run.error_and_hint();
    assert!(error.contains("self-hosted runner"), "{error}");
    assert!(hint.contains("github-hosted runner"), "{hint}");
    assert!(sig.fulcio.signing_requests().is_empty());
    assert!(sig.rekor.entries().is_empty());
    assert!(w.sequence().iter().all(|r| !r.starts_with("PUT")));
    w.check_leaks(&run);

    // On a GitHub-hosted runner, --provenance signs even when the publish
    // itself authenticates with a token (no trusted publishing).
    w.issuer.set_job(
        w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .build(),
    );
    let token = w.fallback_token();
    let exchanges = w.proxy.exchanges().len();
    let run = github_job_env(w.publish_on_github(), &sig)
        .args([
            "--provenance",
            "--trusted-publishing",
            "never",
            "--access",
            "public",
        ])
        .env("NODE_AUTH_TOKEN", &token)
        .run();
    expect_code(&w, &run, 0);
    assert_eq!(
        w.proxy.exchanges().len(),
        exchanges,
        "no exchange with --trusted-publishing never"
    );
    assert_eq!(sig.rekor.entries().len(), 1);
    let san = "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main";
    verify_bundle(
        &stored_bundle(&w, "1.0.1"),
        &sig.trusted_root(),
        san,
        &w.issuer.url(),
    )
    .unwrap_or_else(|e| panic!("the bundle does not verify: {e}"));
    w.check_leaks(&run);
}

#[test]
fn automatic_provenance_that_cannot_be_made_is_skipped_in_one_line() {
    let (w, sig) = public_github("prov-skip");
    let run = github_job_env(w.publish_on_github(), &sig)
        .env("GITHUB_REPOSITORY", "acme/gadgets")
        .run();
    expect_code(&w, &run, 0);
    let skipped: Vec<&str> = run
        .stderr()
        .lines()
        .filter(|l| l.contains("provenance: skipped"))
        .collect();
    assert_eq!(skipped.len(), 1, "{}", w.describe(&run));
    assert!(
        skipped[0].contains("https://github.com/acme/gadgets"),
        "{}",
        skipped[0]
    );
    assert!(sig.fulcio.signing_requests().is_empty());
    assert_eq!(w.versions(), ["1.0.0", "1.0.1"]);
    w.check_leaks(&run);
}

#[test]
fn no_provenance_turns_it_off() {
    for how in ["flag", "env", "npmrc"] {
        let (w, sig) = public_github(&format!("prov-off-{how}"));
        let mut tp = github_job_env(w.publish_on_github(), &sig);
        tp = match how {
            "flag" => tp.arg("--no-provenance"),
            "env" => tp.env("NPM_CONFIG_PROVENANCE", "false"),
            _ => {
                w.sb.write(&w.sb.user_npmrc(), "provenance=false\n");
                tp
            }
        };
        let run = tp.run();
        expect_code(&w, &run, 0);
        assert!(sig.fulcio.signing_requests().is_empty(), "{how}");
        expect_no_stderr(&w, &run, "search.sigstore.dev");
        w.check_leaks(&run);
    }
}

#[test]
fn dry_run_prints_the_statement_and_signs_nothing() {
    let (w, sig) = public_github("prov-dry");
    let run = github_job_env(w.publish_on_github(), &sig)
        .args(["--dry-run", "--json"])
        .run();
    expect_code(&w, &run, 0);
    let rec = &run.json()[&w.name];
    let st = &rec["provenanceStatement"];
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        st["subject"][0]["name"],
        json!(format!("pkg:npm/{}@1.0.1", w.name))
    );
    assert_eq!(rec["provenance"], json!(false));
    assert!(sig.fulcio.records().is_empty());
    assert!(sig.rekor.records().is_empty());
    // Only the npm token was asked for.
    assert_eq!(w.issuer.token_requests().len(), 1);
    w.check_leaks(&run);
}

#[test]
fn a_provenance_file_is_checked_then_attached() {
    let (w, sig) = public_github("prov-file");
    // The tarball trustpub will upload, and a bundle for it signed by
    // sigstore-js (as a build job elsewhere would make it).
    let tgz_dir = w.sb.root.join("tgz");
    std::fs::create_dir_all(&tgz_dir).unwrap();
    let run =
        w.sb.trustpub(["pack"])
            .arg(&w.pkg)
            .arg("--pack-destination")
            .arg(&tgz_dir)
            .run();
    expect_code(&w, &run, 0);
    let tgz = std::fs::read(tgz_dir.join(format!("{}-1.0.1.tgz", w.name))).unwrap();
    let digest = hex::encode(sha2::Sha512::digest(&tgz));
    let statement = |name: &str| {
        json!({"_type": "https://in-toto.io/Statement/v1",
               "subject": [{"name": name, "digest": {"sha512": digest}}],
               "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}})
        .to_string()
    };
    let token = w.issuer.mint(
        &w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .audience("sigstore")
            .build(),
    );
    w.sb.add_secret(&token);
    let sign = |name: &str| {
        sigstore_js_sign(
            &sig.fulcio.url(),
            &sig.rekor.url(),
            &token,
            &statement(name),
        )
        .expect("sigstore-js signs")
    };
    let wrong = w.sb.root.join("wrong.sigstore.json");
    std::fs::write(&wrong, sign("pkg:npm/another@1.0.1").to_string()).unwrap();
    let right = w.sb.root.join("right.sigstore.json");
    let good = sign(&format!("pkg:npm/{}@1.0.1", w.name));
    std::fs::write(&right, good.to_string()).unwrap();
    let token_for_fallback = w.fallback_token();

    let run =
        w.sb.trustpub(["publish"])
            .arg(&w.pkg)
            .args(["--registry", &w.proxy.url(), "--provenance-file"])
            .arg(&wrong)
            .env("NODE_AUTH_TOKEN", &token_for_fallback)
            .run();
    expect_code(&w, &run, 2);
    expect_stderr(&w, &run, "does not match the package: pkg:npm/");
    assert_eq!(w.versions(), ["1.0.0"]);

    let run =
        w.sb.trustpub(["publish"])
            .arg(&w.pkg)
            .args(["--registry", &w.proxy.url(), "--provenance-file"])
            .arg(&right)
            .env("NODE_AUTH_TOKEN", &token_for_fallback)
            .run();
    expect_code(&w, &run, 0);
    assert_eq!(stored_bundle(&w, "1.0.1"), good);
    let b64 = good["dsseEnvelope"]["payload"].as_str().unwrap();
    assert!(base64::engine::general_purpose::STANDARD
        .decode(b64)
        .is_ok());
    w.check_leaks(&run);
}
