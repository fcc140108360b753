//! Self-tests of the OIDC fakes: each checks one thing the real services
//! enforce, and fails if the fake stops enforcing it.

use serde_json::{json, Value};

use super::super::sandbox::Sandbox;
use super::super::verdaccio;
use super::*;

/// POSTs `id_token` to the exchange as npm does (no body, npm's headers).
fn exchange(proxy: &ExchangeProxy, package: &str, id_token: &str) -> HttpResponse {
    exchange_as(proxy, package, id_token, "publish")
}

fn exchange_as(
    proxy: &ExchangeProxy,
    package: &str,
    id_token: &str,
    command: &str,
) -> HttpResponse {
    let auth = format!("Bearer {id_token}");
    http(
        "POST",
        &proxy.exchange_url(package),
        &[
            ("authorization", &auth),
            ("npm-command", command),
            ("npm-auth-type", "web"),
            ("accept", "*/*"),
        ],
        b"",
    )
    .expect("exchange request")
}

/// `PUT <proxy>/<name>` publishing `name@version` with `token`.
fn put(proxy: &ExchangeProxy, name: &str, version: &str, token: &str) -> HttpResponse {
    let doc = publish_document(name, version, &proxy.url());
    let auth = format!("Bearer {token}");
    http(
        "PUT",
        &format!("{}{}", proxy.url(), escape_name(name)),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("npm-command", "publish"),
        ],
        doc.to_string().as_bytes(),
    )
    .expect("PUT request")
}

fn versions(name: &str) -> Vec<String> {
    verdaccio::shared()
        .packument(name)
        .and_then(|p| {
            p["versions"]
                .as_object()
                .map(|v| v.keys().cloned().collect())
        })
        .unwrap_or_default()
}

/// Asserts status and `message`, with a redacted description on failure.
#[track_caller]
fn expect(proxy: &ExchangeProxy, r: &HttpResponse, status: u16, message: &str) {
    assert!(
        r.status == status && r.message().as_deref() == Some(message),
        "expected {status} {message:?}, got {} {}\nexchanges: {:#?}\nrequests: {:#?}",
        r.status,
        proxy.redact(&r.text()),
        proxy
            .exchanges()
            .iter()
            .map(|e| format!("{} {:?} {}", e.status, e.outcome, e.detail))
            .collect::<Vec<_>>(),
        proxy.summary()
    );
}

/// A GitHub issuer, a proxy trusting it, and a seeded package trusted for
/// `acme/widgets` `release.yml`.
fn github_fixture(label: &str) -> (OidcIssuer, ExchangeProxy, String) {
    let issuer = OidcIssuer::github();
    let proxy = ExchangeProxy::start(&[&issuer]);
    let name = unique_name(label);
    proxy.seed(&name, "1.0.0");
    proxy.trust(&name, TrustPolicy::github("acme", "widgets", "release.yml"));
    (issuer, proxy, name)
}

fn good_claims(issuer: &OidcIssuer) -> GithubClaims {
    issuer
        .github_claims("acme", "widgets", "release.yml")
        .audience("npm:127.0.0.1")
}

#[test]
fn jwks_verifies_minted_tokens() {
    let issuer = OidcIssuer::github();
    let conf = http(
        "GET",
        &format!("{}/.well-known/openid-configuration", issuer.url()),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(conf.status, 200);
    assert_eq!(conf.json()["issuer"], json!(issuer.url()));
    let jwks = issuer::fetch_jwks(&issuer.url()).expect("JWKS over HTTP");
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            &key["kty"],
            &key["alg"],
            &key["use"],
            &key["kid"],
            &key["e"]
        ),
        (
            &json!("RSA"),
            &json!("RS256"),
            &json!("sig"),
            &json!(issuer.kid()),
            &json!("AQAB")
        )
    );
    assert_eq!(
        jwt::b64url_decode(key["n"].as_str().unwrap())
            .unwrap()
            .len(),
        256
    );

    let token = issuer.mint(&good_claims(&issuer).build());
    let d = jwt::verify_with_jwks(&token, &jwks).expect("a minted token verifies");
    assert_eq!(d.header.get("typ"), Some(&json!("JWT")));
    assert_eq!(d.claims["iss"], json!(issuer.url()));

    // A changed payload, another key, another issuer's kid: all refused.
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let mut claims = d.claims.clone();
    claims.insert("repository_owner".into(), json!("evil"));
    parts[1] = jwt::b64url(Value::Object(claims).to_string().as_bytes());
    assert!(jwt::verify_with_jwks(&parts.join("."), &jwks).is_err());
    let forged = issuer.mint_with_key(&good_claims(&issuer).build(), JwtKey::other());
    assert!(jwt::verify_with_jwks(&forged, &jwks).is_err());
    let stranger = OidcIssuer::github();
    let theirs = stranger.mint(&good_claims(&issuer).build());
    assert!(jwt::verify_with_jwks(&theirs, &jwks).is_err());
}

#[test]
fn token_endpoint_behaves_like_github() {
    let issuer = OidcIssuer::github();
    issuer.set_job(
        issuer
            .github_claims("Acme", "widgets", "release.yml")
            .environment("prod")
            .build(),
    );
    assert!(issuer.request_url().ends_with("/token?api-version=2.0"));
    let auth = format!("Bearer {}", issuer.request_token());

    let none = http("GET", &issuer.request_url(), &[], b"").unwrap();
    assert_eq!(none.status, 401);
    let wrong = http(
        "GET",
        &issuer.request_url(),
        &[("authorization", "Bearer ghs_not-the-token")],
        b"",
    )
    .unwrap();
    assert_eq!(wrong.status, 401);
    assert!(wrong.message().is_some(), "401 has a JSON message");

    // npm's request: the existing query kept, `audience` appended, `:` as %3A.
    let url = format!("{}&audience=npm%3A127.0.0.1", issuer.request_url());
    let r = http(
        "GET",
        &url,
        &[("authorization", &auth), ("accept", "application/json")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.json()["count"].is_u64());
    let token = r.json()["value"].as_str().unwrap().to_string();
    let c = jwt::verify_with_jwks(&token, &issuer.jwks())
        .unwrap()
        .claims;
    assert_eq!(c["aud"], json!("npm:127.0.0.1"));
    assert_eq!(c["sub"], json!("repo:Acme/widgets:environment:prod"));
    assert_eq!(c["environment"], json!("prod"));
    assert_eq!(
        c["workflow_ref"],
        json!("Acme/widgets/.github/workflows/release.yml@refs/heads/main")
    );
    assert_eq!(c["job_workflow_ref"], c["workflow_ref"]);
    assert_eq!(c["runner_environment"], json!("github-hosted"));
    assert!(c["repository_id"].is_string(), "GitHub ids are strings");
    let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert!(exp > jwt::now() && iat <= jwt::now() + 1 && c["nbf"].as_i64().unwrap() <= iat);

    // No audience requested: GitHub's default, the owner's URL.
    let r = http(
        "GET",
        &issuer.request_url(),
        &[("authorization", &auth)],
        b"",
    )
    .unwrap();
    let token = r.json()["value"].as_str().unwrap().to_string();
    let c = jwt::decode(&token).unwrap().claims;
    assert_eq!(c["aud"], json!("https://github.com/Acme"));
    assert_eq!(issuer.token_requests().len(), 4);
    assert_eq!(
        issuer.token_requests()[2].url,
        "/token?api-version=2.0&audience=npm%3A127.0.0.1"
    );
}

#[test]
fn token_endpoint_faults_and_denial() {
    let issuer = OidcIssuer::github();
    let auth = format!("Bearer {}", issuer.request_token());
    let get = || {
        http(
            "GET",
            &issuer.request_url(),
            &[("authorization", &auth)],
            b"",
        )
    };
    issuer.push_faults([
        Fault::Status(500),
        Fault::Status(503),
        Fault::MissingValue,
        Fault::Hangup,
        Fault::Body(200, "<html>".into()),
    ]);
    assert_eq!(get().unwrap().status, 500);
    assert_eq!(get().unwrap().status, 503);
    let missing = get().unwrap();
    assert_eq!(missing.status, 200);
    assert!(missing.json().get("value").is_none() && missing.json()["count"].is_u64());
    assert!(get().is_err(), "a dropped connection is an error");
    let html = get().unwrap();
    assert_eq!((html.status, html.text().as_str()), (200, "<html>"));
    assert_eq!(
        get().unwrap().status,
        200,
        "normal service after the faults"
    );
    issuer.deny_all(true);
    assert_eq!(get().unwrap().status, 403);
    assert_eq!(get().unwrap().status, 403);
    issuer.deny_all(false);
    assert!(get().unwrap().json()["value"].is_string());
}

#[test]
fn exchange_then_publish_through_proxy() {
    let issuer = OidcIssuer::github();
    let proxy = ExchangeProxy::start(&[&issuer]);
    let name = unique_scoped_name("happy");
    proxy.seed(&name, "1.0.0");
    proxy.trust(&name, TrustPolicy::github("acme", "widgets", "release.yml"));
    issuer.set_job(
        issuer
            .github_claims("acme", "widgets", "release.yml")
            .build(),
    );

    // The ID token the way npm gets it.
    let url = format!("{}&audience=npm%3A127.0.0.1", issuer.request_url());
    let auth = format!("Bearer {}", issuer.request_token());
    let id = http("GET", &url, &[("authorization", &auth)], b"").unwrap();
    let id_token = id.json()["value"].as_str().unwrap().to_string();

    let r = exchange(&proxy, &name, &id_token);
    assert_eq!(r.status, 201, "{}", proxy.redact(&r.text()));
    assert!(proxy
        .exchange_url(&name)
        .contains("/package/@trustpub-oidc%2fhappy-"));
    let token = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(proxy.last_exchange().outcome, Outcome::Issued);
    let grant = proxy
        .grants()
        .into_iter()
        .find(|g| g.token == token)
        .unwrap();
    assert_eq!(grant.package, name);
    assert_eq!(grant.claims["repository"], json!("acme/widgets"));

    // The exchanged token publishes through the proxy to Verdaccio.
    let p = put(&proxy, &name, "1.0.1", &token);
    assert!(
        p.status == 201 || p.status == 200,
        "{} {}",
        p.status,
        proxy.redact(&p.text())
    );
    assert_eq!(versions(&name), ["1.0.0", "1.0.1"]);
    let put_rec = proxy
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put_rec.route, Route::Forwarded);
    assert!(put_rec.body_len > 100);

    // Reads are forwarded too, and visibility is answered.
    let g = http(
        "GET",
        &format!("{}{}", proxy.url(), escape_name(&name)),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(g.status, 200);
    assert!(g.json()["versions"]["1.0.1"].is_object());
    let vis_url = format!("{}-/package/{}/visibility", proxy.url(), escape_name(&name));
    let bearer = format!("Bearer {token}");
    let v = http("GET", &vis_url, &[("authorization", &bearer)], b"").unwrap();
    assert_eq!((v.status, v.json()), (200, json!({ "public": true })));
    proxy.set_visibility(&name, false);
    let v = http("GET", &vis_url, &[("authorization", &bearer)], b"").unwrap();
    assert_eq!(v.json(), json!({ "public": false }));
    let missing = format!(
        "{}-/package/{}/visibility",
        proxy.url(),
        unique_name("nope")
    );
    assert_eq!(http("GET", &missing, &[], b"").unwrap().status, 404);

    // Secrets are known for redaction.
    let text = format!("{id_token} {token}");
    assert!(!proxy.redact(&text).contains(&token) && !proxy.redact(&text).contains(&id_token));
}

#[test]
fn exchange_refuses_bad_tokens() {
    let (issuer, proxy, name) = github_fixture("bad");
    let cases: Vec<(&str, String, Outcome)> = vec![
        (
            "signed by another key",
            issuer.mint_with_key(&good_claims(&issuer).build(), JwtKey::other()),
            Outcome::BadSignature,
        ),
        (
            "expired",
            issuer.mint(&good_claims(&issuer).expired().build()),
            Outcome::Expired,
        ),
        (
            "not yet valid",
            issuer.mint(
                &good_claims(&issuer)
                    .set("nbf", json!(jwt::now() + 3600))
                    .build(),
            ),
            Outcome::NotYetValid,
        ),
        (
            "GitHub's default audience",
            issuer.mint(
                &issuer
                    .github_claims("acme", "widgets", "release.yml")
                    .build(),
            ),
            Outcome::WrongAudience,
        ),
        (
            "audience with the port",
            issuer.mint(&good_claims(&issuer).audience("npm:127.0.0.1:4873").build()),
            Outcome::WrongAudience,
        ),
        (
            "untrusted issuer",
            {
                let other = OidcIssuer::github();
                other.mint(
                    &other
                        .github_claims("acme", "widgets", "release.yml")
                        .audience("npm:127.0.0.1")
                        .build(),
                )
            },
            Outcome::UntrustedIssuer,
        ),
        (
            "trusted iss, another issuer's key and kid",
            OidcIssuer::start(Provider::GitHub, JwtKey::other())
                .mint(&good_claims(&issuer).build()),
            Outcome::UnknownKid,
        ),
        ("not a JWT", "abc.def".to_string(), Outcome::Malformed),
        (
            "alg none",
            {
                let t = issuer.mint(&good_claims(&issuer).build());
                let body = t.split('.').nth(1).unwrap().to_string();
                format!("{}.{body}.", jwt::b64url(br#"{"alg":"none","typ":"JWT"}"#))
            },
            Outcome::Malformed,
        ),
    ];
    for (what, token, outcome) in cases {
        let r = exchange(&proxy, &name, &token);
        expect(&proxy, &r, 401, messages::UNAUTHORIZED);
        assert_eq!(proxy.last_exchange().outcome, outcome, "{what}");
    }
    let no_auth = http("POST", &proxy.exchange_url(&name), &[], b"").unwrap();
    expect(&proxy, &no_auth, 401, messages::UNAUTHORIZED);
    assert_eq!(proxy.last_exchange().outcome, Outcome::MissingToken);

    // An array audience containing ours is fine.
    let ok = issuer.mint(
        &good_claims(&issuer)
            .audiences(&["sigstore", "npm:127.0.0.1"])
            .build(),
    );
    assert_eq!(exchange(&proxy, &name, &ok).status, 201);
    assert!(proxy.grants().len() == 1, "only the good token got a grant");
}

#[test]
fn exchange_matches_claims_exactly() {
    let (issuer, proxy, name) = github_fixture("exact");
    let mismatches = [
        (
            "owner case",
            good_claims(&issuer).set("repository_owner", json!("Acme")),
        ),
        (
            "owner case (whole token)",
            issuer
                .github_claims("Acme", "widgets", "release.yml")
                .audience("npm:127.0.0.1"),
        ),
        (
            "repo case",
            issuer
                .github_claims("acme", "Widgets", "release.yml")
                .audience("npm:127.0.0.1"),
        ),
        (
            "workflow file",
            issuer
                .github_claims("acme", "widgets", "release.yaml")
                .audience("npm:127.0.0.1"),
        ),
    ];
    for (what, claims) in mismatches {
        let r = exchange(&proxy, &name, &issuer.mint(&claims.build()));
        expect(&proxy, &r, 404, messages::PACKAGE_NOT_FOUND);
        assert_eq!(
            proxy.last_exchange().outcome,
            Outcome::ClaimsMismatch,
            "{what}"
        );
    }
    // A policy that names a path instead of the bare file never matches.
    proxy.trust(
        &name,
        TrustPolicy::github("acme", "widgets", ".github/workflows/release.yml"),
    );
    let r = exchange(&proxy, &name, &issuer.mint(&good_claims(&issuer).build()));
    expect(&proxy, &r, 404, messages::PACKAGE_NOT_FOUND);

    // Environment: required when configured, exact when present.
    proxy.trust(
        &name,
        TrustPolicy::github("acme", "widgets", "release.yml").environment("npm"),
    );
    for claims in [
        good_claims(&issuer),
        good_claims(&issuer).environment("NPM"),
    ] {
        let r = exchange(&proxy, &name, &issuer.mint(&claims.build()));
        expect(&proxy, &r, 404, messages::PACKAGE_NOT_FOUND);
    }
    let r = exchange(
        &proxy,
        &name,
        &issuer.mint(&good_claims(&issuer).environment("npm").build()),
    );
    assert_eq!(r.status, 201);
    // No environment configured: a token with one still matches.
    proxy.trust(&name, TrustPolicy::github("acme", "widgets", "release.yml"));
    let r = exchange(
        &proxy,
        &name,
        &issuer.mint(&good_claims(&issuer).environment("prod").build()),
    );
    assert_eq!(r.status, 201);
    // Tags, pull requests and self-hosted runners are not part of the match.
    let r = exchange(
        &proxy,
        &name,
        &issuer.mint(
            &good_claims(&issuer)
                .git_ref("refs/tags/v1.0.1")
                .self_hosted()
                .build(),
        ),
    );
    assert_eq!(r.status, 201);
}

#[test]
fn reusable_workflow_matches_the_caller() {
    let (issuer, proxy, name) = github_fixture("reusable");
    let claims = good_claims(&issuer)
        .reusable_workflow("acme/shared-workflows", "npm-publish.yml", "refs/tags/v2")
        .build();
    assert_eq!(
        claims["job_workflow_ref"],
        json!("acme/shared-workflows/.github/workflows/npm-publish.yml@refs/tags/v2")
    );
    assert_eq!(
        claims["workflow_ref"],
        json!("acme/widgets/.github/workflows/release.yml@refs/heads/main")
    );
    let token = issuer.mint(&claims);
    // The policy names the caller (release.yml): accepted.
    assert_eq!(exchange(&proxy, &name, &token).status, 201);
    // The policy names the called workflow's file: refused.
    proxy.trust(
        &name,
        TrustPolicy::github("acme", "widgets", "npm-publish.yml"),
    );
    let r = exchange(&proxy, &name, &token);
    expect(&proxy, &r, 404, messages::PACKAGE_NOT_FOUND);
    assert_eq!(proxy.last_exchange().outcome, Outcome::ClaimsMismatch);
    // Nor does naming the reusable workflow's repository help.
    proxy.trust(
        &name,
        TrustPolicy::github("acme", "shared-workflows", "npm-publish.yml"),
    );
    expect(
        &proxy,
        &exchange(&proxy, &name, &token),
        404,
        messages::PACKAGE_NOT_FOUND,
    );
}

#[test]
fn unknown_package_and_missing_trust_are_404() {
    let (issuer, proxy, _name) = github_fixture("unknown");
    let token = issuer.mint(&good_claims(&issuer).build());
    let missing = unique_name("never-published");
    proxy.trust(
        &missing,
        TrustPolicy::github("acme", "widgets", "release.yml"),
    );
    let r = exchange(&proxy, &missing, &token);
    expect(&proxy, &r, 404, messages::PACKAGE_NOT_FOUND);
    assert_eq!(proxy.last_exchange().outcome, Outcome::PackageNotFound);

    let untrusted = unique_scoped_name("untrusted");
    proxy.seed(&untrusted, "1.0.0");
    let r = exchange(&proxy, &untrusted, &token);
    expect(&proxy, &r, 404, messages::PACKAGE_NOT_FOUND);
    assert_eq!(proxy.last_exchange().outcome, Outcome::NoTrustConfig);

    // `%2F` is accepted as well as npm's `%2f`.
    proxy.trust(
        &untrusted,
        TrustPolicy::github("acme", "widgets", "release.yml"),
    );
    let upper = proxy.exchange_url(&untrusted).replace("%2f", "%2F");
    let auth = format!("Bearer {token}");
    let r = http("POST", &upper, &[("authorization", &auth)], b"").unwrap();
    assert_eq!(r.status, 201, "{}", proxy.redact(&r.text()));
    assert_eq!(proxy.last_exchange().package, untrusted);
}

#[test]
fn disallowed_action_is_403() {
    let (issuer, proxy, name) = github_fixture("action");
    proxy.trust(
        &name,
        TrustPolicy::github("acme", "widgets", "release.yml").allow(false, true),
    );
    let id_token = issuer.mint(&good_claims(&issuer).build());
    // npmjs: the exchange succeeds, the PUT is refused.
    let r = exchange(&proxy, &name, &id_token);
    assert_eq!(r.status, 201);
    let token = r.json()["token"].as_str().unwrap().to_string();
    let p = put(&proxy, &name, "1.0.1", &token);
    expect(&proxy, &p, 403, messages::PERMISSION_DENIED);
    assert_eq!(versions(&name), ["1.0.0"]);
    // A staged publish is allowed by this configuration.
    let doc = publish_document(&name, "1.0.1", &proxy.url());
    let auth = format!("Bearer {token}");
    let s = http(
        "POST",
        &format!("{}-/stage/package/{}", proxy.url(), escape_name(&name)),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        doc.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(s.status, 201, "{}", s.text());
    assert!(s.json()["stageId"].is_string());
    assert_eq!(proxy.staged().len(), 1);
    // OIDC tokens do nothing else: whoami and dist-tag writes are refused.
    let who = http(
        "GET",
        &format!("{}-/whoami", proxy.url()),
        &[("authorization", &auth)],
        b"",
    )
    .unwrap();
    expect(&proxy, &who, 403, messages::PERMISSION_DENIED);
    let tag = http(
        "PUT",
        &format!(
            "{}-/package/{}/dist-tags/next",
            proxy.url(),
            escape_name(&name)
        ),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        b"\"1.0.0\"",
    )
    .unwrap();
    expect(&proxy, &tag, 403, messages::PERMISSION_DENIED);

    // Checked at the exchange instead, by `npm-command`.
    proxy.set_action_check(ActionCheck::AtExchange);
    let r = exchange_as(&proxy, &name, &id_token, "publish");
    expect(&proxy, &r, 403, messages::PERMISSION_DENIED);
    assert_eq!(proxy.last_exchange().outcome, Outcome::ActionNotAllowed);
    assert_eq!(exchange_as(&proxy, &name, &id_token, "stage").status, 201);
}

#[test]
fn token_covers_one_package_only() {
    let (issuer, proxy, a) = github_fixture("scope-a");
    let b = unique_name("scope-b");
    proxy.seed(&b, "1.0.0");
    proxy.trust(&b, TrustPolicy::github("acme", "widgets", "release.yml"));
    let r = exchange(&proxy, &a, &issuer.mint(&good_claims(&issuer).build()));
    assert_eq!(r.status, 201);
    let token_a = r.json()["token"].as_str().unwrap().to_string();
    let p = put(&proxy, &b, "1.0.1", &token_a);
    expect(&proxy, &p, 403, &messages::publish_forbidden(&b));
    assert_eq!(versions(&b), ["1.0.0"], "B is unchanged");
    assert_eq!(proxy.requests().last().unwrap().route, Route::Refused);
    // The same token still publishes A.
    let p = put(&proxy, &a, "1.0.1", &token_a);
    assert!(
        p.status == 201 || p.status == 200,
        "{}",
        proxy.redact(&p.text())
    );
    // And an ordinary Verdaccio token is not restricted by the proxy.
    let p = put(&proxy, &b, "1.0.2", seed_token());
    assert!(
        p.status == 201 || p.status == 200,
        "{}",
        proxy.redact(&p.text())
    );
    assert_eq!(versions(&b), ["1.0.0", "1.0.2"]);
}

#[test]
fn gitlab_and_circleci_exchanges() {
    let gitlab = OidcIssuer::gitlab();
    let circle = OidcIssuer::circleci();
    let proxy = ExchangeProxy::start(&[&gitlab, &circle]);

    let gl_pkg = unique_name("gitlab");
    proxy.seed(&gl_pkg, "1.0.0");
    proxy.trust(
        &gl_pkg,
        TrustPolicy::gitlab("acme/tools/widgets", ".gitlab-ci.yml"),
    );
    let gl = gitlab
        .gitlab_claims("acme/tools", "widgets", ".gitlab-ci.yml")
        .audience("npm:127.0.0.1");
    let c = gl.build();
    assert_eq!(
        c["ci_config_ref_uri"],
        json!("gitlab.com/acme/tools/widgets//.gitlab-ci.yml@refs/heads/main")
    );
    assert_eq!(c["namespace_path"], json!("acme/tools"));
    assert_eq!(exchange(&proxy, &gl_pkg, &gitlab.mint(&c)).status, 201);
    for bad in [
        gitlab.gitlab_claims("Acme/tools", "widgets", ".gitlab-ci.yml"),
        gitlab.gitlab_claims("acme/tools", "widgets", "ci/.gitlab-ci.yml"),
    ] {
        let r = exchange(
            &proxy,
            &gl_pkg,
            &gitlab.mint(&bad.audience("npm:127.0.0.1").build()),
        );
        expect(&proxy, &r, 404, messages::PACKAGE_NOT_FOUND);
    }
    // A GitHub-shaped token from the GitLab issuer does not match a GitLab policy.
    let wrong_shape = gitlab
        .github_claims("acme", "widgets", "release.yml")
        .audience("npm:127.0.0.1");
    let r = exchange(&proxy, &gl_pkg, &gitlab.mint(&wrong_shape.build()));
    expect(&proxy, &r, 404, messages::PACKAGE_NOT_FOUND);

    let cc_pkg = unique_scoped_name("circleci");
    proxy.seed(&cc_pkg, "1.0.0");
    let (org, project, pipeline, ctx) = (
        claims::uuid(),
        claims::uuid(),
        claims::uuid(),
        claims::uuid(),
    );
    proxy.trust(
        &cc_pkg,
        TrustPolicy::circleci(&org, &project, &pipeline, "github.com/acme/widgets")
            .contexts(&[&ctx]),
    );
    let cc = circle
        .circleci_claims(&org, &project, "github.com/acme/widgets")
        .pipeline_definition(&pipeline)
        .contexts(&[&ctx, &claims::uuid()]);
    // CircleCI's default audience is the org id: refused.
    let r = exchange(&proxy, &cc_pkg, &circle.mint(&cc.build()));
    expect(&proxy, &r, 401, messages::UNAUTHORIZED);
    let cc = cc.audience("npm:127.0.0.1");
    let r = exchange(&proxy, &cc_pkg, &circle.mint(&cc.build()));
    assert_eq!(r.status, 201, "{:?}", proxy.last_exchange().detail);
    let token = r.json()["token"].as_str().unwrap().to_string();
    let p = put(&proxy, &cc_pkg, "1.1.0", &token);
    assert!(
        p.status == 201 || p.status == 200,
        "{}",
        proxy.redact(&p.text())
    );
    let no_ctx = cc.clone().contexts(&[]);
    let r = exchange(&proxy, &cc_pkg, &circle.mint(&no_ctx.build()));
    expect(&proxy, &r, 404, messages::PACKAGE_NOT_FOUND);
    let other_pipeline = cc.pipeline_definition(&claims::uuid());
    let r = exchange(&proxy, &cc_pkg, &circle.mint(&other_pipeline.build()));
    expect(&proxy, &r, 404, messages::PACKAGE_NOT_FOUND);
}

/// The real npm (11.19.1) against both fakes: it fetches the ID token,
/// exchanges it, and publishes with the exchanged token. This is what
/// keeps the fakes honest about the wire format.
#[test]
fn real_npm_publishes_through_the_fakes() {
    let issuer = OidcIssuer::github();
    let proxy = ExchangeProxy::start(&[&issuer]);
    let name = unique_scoped_name("npm");
    proxy.seed(&name, "1.0.0");
    proxy.trust(&name, TrustPolicy::github("acme", "widgets", "release.yml"));
    // A private repository: npm then skips automatic provenance (which
    // would need Sigstore).
    issuer.set_job(
        issuer
            .github_claims("acme", "widgets", "release.yml")
            .visibility("private")
            .build(),
    );
    let sb = Sandbox::new();
    sb.add_secret(&issuer.request_token());
    let pkg = sb.package(
        "pkg",
        &json!({ "name": name, "version": "1.0.1", "license": "MIT" }),
        &[("index.js", "module.exports = 1\n")],
    );
    let run = sb
        .npm([
            "publish",
            "--registry",
            &proxy.url(),
            "--loglevel",
            "verbose",
        ])
        .cwd(&pkg)
        .env("GITHUB_ACTIONS", "true")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", issuer.request_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", issuer.request_token())
        .run();
    let describe = proxy.redact(&run.describe);
    assert_eq!(run.code(), Some(0), "{describe}\n{:#?}", proxy.summary());
    assert!(
        describe.contains("oidc Successfully retrieved and set token"),
        "{describe}"
    );
    assert_eq!(versions(&name), ["1.0.0", "1.0.1"]);

    let tr = issuer.token_requests();
    assert_eq!(tr.len(), 1);
    assert!(
        tr[0]
            .url
            .ends_with("?api-version=2.0&audience=npm%3A127.0.0.1"),
        "{}",
        tr[0].url
    );
    let ex = proxy.requests();
    let exchange_req = ex.iter().find(|r| r.route == Route::Exchange).unwrap();
    assert_eq!(exchange_req.method, "POST");
    assert!(exchange_req
        .target
        .contains("/package/@trustpub-oidc%2fnpm-"));
    assert_eq!(exchange_req.body_len, 0);
    assert_eq!(exchange_req.header("npm-command"), Some("publish"));
    let put_req = ex.iter().find(|r| r.method == "PUT").unwrap();
    let grant = &proxy.grants()[0];
    assert_eq!(
        put_req.header("authorization"),
        Some(format!("Bearer {}", grant.token).as_str())
    );
}
