//! Issue #9 items 2, 3 and 13: no secret and no injected workflow command
//! or terminal sequence in any output.
//!
//! Hostile parties on loopback — a registry that echoes the `Authorization`
//! header (or the request body) into its error, GitHub's token service
//! echoing the request token, an exchange endpoint and id-token claims full
//! of `::error::`, `::add-mask::`, `::stop-commands::`, `\r` and escape
//! sequences — and hostile command-line and package.json values. Every run
//! goes through the sandbox, whose [`assert_clean_output`] greps standard
//! output, standard error, the step summary and every registered file for
//! each planted secret, and fails on any output line (split as the GitHub
//! runner splits it) that starts with `::` unless trustpub wrote that
//! command itself. The tests add what the sandbox cannot know: that the
//! hostile text did reach the output (so the check had something to
//! catch), scrubbed and neutralised.
//!
//! [`assert_clean_output`]: crate::support::sandbox::assert_clean_output

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::support::http::{serve_connection, write_response, Next, Request, Server};
use crate::support::oidc_fakes::{Fault, OidcIssuer};
use crate::support::sandbox::{runner_lines, Run, Sandbox, Tp};

/// What a hostile server answers: status, headers, body.
type Answer = (u16, Vec<(String, String)>, String);
type Script = dyn Fn(&Request) -> Answer + Send + Sync;

/// A hostile HTTP server on 127.0.0.1 that answers every request with
/// `script(request)`; it records the requests, serves at most 64
/// connections for at most two minutes, and stops when dropped.
struct Hostile {
    server: Server,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Hostile {
    fn start(script: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Hostile {
        let script: Arc<Script> = Arc::new(script);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let server = Server::start(64, Duration::from_secs(120), move |stream, stop| {
            let _ = serve_connection(stream, stop, 16, |req, w| {
                seen.lock().unwrap().push(req.clone());
                let (status, headers, body) = script(&req);
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                write_response(w, status, &headers, body.as_bytes(), true)?;
                Ok(Next::KeepAlive)
            });
        });
        Hostile { server, requests }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    fn port(&self) -> u16 {
        self.server.port()
    }

    fn methods(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.method, r.url))
            .collect()
    }
}

fn json_answer(status: u16, body: serde_json::Value) -> Answer {
    (status, Vec::new(), body.to_string())
}

/// Text a hostile party puts in everything it controls: workflow commands
/// after a newline and a carriage return, the runner's v1 syntax, a stop
/// command, terminal escapes (clear screen, set title, a CSI as C1) and a
/// right-to-left override.
const PAYLOAD: &str = "evil\n::error title=trustpub pwned::INJECTED-A\r::add-mask::published\r\n  ::stop-commands::INJECTED-B\n##[warning]INJECTED-C \u{1b}[2J\u{1b}]0;INJECTED-D\u{7}\u{9b}31m\u{202e}desrever";

/// What must be true of a run that printed [`PAYLOAD`] (besides the sandbox's
/// checks): some of it reached standard error (neutralised), and none of the
/// injected commands is a runner line of its own.
fn payload_neutralised(run: &Run) {
    let err = run.stderr();
    assert!(
        err.contains("INJECTED-A"),
        "the hostile text never reached the output, so nothing was tested:\n{}",
        run.describe
    );
    for line in runner_lines(err)
        .into_iter()
        .chain(runner_lines(run.stdout()))
    {
        // trustpub's own annotations quote the hostile text (escaped) as
        // their data; the command itself must be trustpub's.
        if let Some(rest) = line.strip_prefix("::") {
            let (cmd, data) = rest.split_once("::").unwrap_or((rest, ""));
            let injected = cmd.contains("pwned")
                || cmd.starts_with("stop-commands")
                || (cmd == "add-mask" && (data.contains("INJECTED") || data == "published"));
            assert!(!injected, "injected command {line:?}:\n{}", run.describe);
        }
        assert!(!line.contains("##["), "{line:?}:\n{}", run.describe);
    }
    // (Raw ESC outside trustpub's GitLab section markers is the sandbox's
    // check.)
    assert!(!err.contains('\u{9b}') && !err.contains('\u{202e}'));
    // Shown, not sent (some messages quote values Rust-style: `\u{1b}`).
    assert!(
        err.contains("\\x1b[2J") || err.contains("\\u{1b}[2J"),
        "escapes are shown, not sent:\n{}",
        run.describe
    );
    assert!(
        err.contains("\\r"),
        "carriage returns are shown:\n{}",
        run.describe
    );
}

/// `package.json` for a small package.
fn package(sb: &Sandbox, name: &str) -> std::path::PathBuf {
    sb.package(
        "pkg",
        &json!({"name": name, "version": "1.0.0", "license": "MIT"}),
        &[("index.js", "module.exports = 1\n")],
    )
}

/// GitHub Actions' variables, with a step summary in the sandbox.
fn on_github<'a>(tp: Tp<'a>, sb: &Sandbox) -> Tp<'a> {
    tp.env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_STEP_SUMMARY", sb.root.join("step-summary.md"))
}

fn summary(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.root.join("step-summary.md")).unwrap_or_default()
}

/// The `::error` annotation lines of a run.
fn annotations(run: &Run) -> Vec<String> {
    runner_lines(run.stderr())
        .into_iter()
        .filter(|l| l.starts_with("::error ") || l.starts_with("::warning "))
        .map(str::to_string)
        .collect()
}

/// A registry that answers every PUT with 401 and an error that quotes the
/// request's `Authorization` header, and every GET with 404.
fn echoing_registry(extra: &'static str) -> Hostile {
    Hostile::start(move |req| match req.method.as_str() {
        "PUT" => json_answer(
            401,
            json!({
                "error": format!(
                    "bad credentials: Authorization: {}{extra}",
                    req.header("authorization").unwrap_or("(none)")
                )
            }),
        ),
        _ => json_answer(404, json!({"error": "Not found"})),
    })
}

#[test]
fn a_registry_echoing_the_authorization_header_is_scrubbed_everywhere() {
    let reg = echoing_registry(PAYLOAD);
    let sb = Sandbox::new();
    sb.login(&reg.url());
    let pkg = package(&sb, "echo-auth");
    let run = on_github(sb.trustpub(["publish"]), &sb)
        .arg(&pkg)
        .args(["--registry", &reg.url(), "--trusted-publishing", "never"])
        .run();
    run.expect_code(1);
    assert!(
        reg.methods().iter().any(|m| m.starts_with("PUT")),
        "{:?}",
        reg.methods()
    );
    // The echoed header reached the error, with the credential scrubbed
    // (the whole header value is a registered secret).
    run.stderr_has("Authorization: ***");
    payload_neutralised(&run);
    // The annotation and the step summary carry the failure, scrubbed.
    let notes = annotations(&run);
    assert!(
        notes
            .iter()
            .any(|l| l.starts_with("::error title=trustpub publish failed::")),
        "{notes:?}"
    );
    assert!(notes.iter().all(|l| !l.contains(&sb.token)));
    let summary = summary(&sb);
    assert!(summary.contains("failed"), "{summary}");
    assert!(!summary.contains(&sb.token) && !summary.contains('\u{1b}'));
}

#[test]
fn the_echo_is_scrubbed_in_json_mode_and_on_gitlab_too() {
    let reg = echoing_registry(PAYLOAD);
    let sb = Sandbox::new();
    sb.login(&reg.url());
    let pkg = package(&sb, "echo-gitlab");
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .args([
            "--registry",
            &reg.url(),
            "--json",
            "--trusted-publishing",
            "never",
        ])
        .env("GITLAB_CI", "true")
        .env("CI", "true")
        .run();
    run.expect_code(1);
    run.stderr_has("Authorization: ***");
    payload_neutralised(&run);
}

#[test]
fn passwords_in_url_userinfo_are_scrubbed() {
    let reg = echoing_registry("");
    let sb = Sandbox::new();
    let password = format!("pw{}", &sb.token[20..34]);
    sb.add_secret(&password);
    let registry = format!("http://ci-user:{password}@127.0.0.1:{}/", reg.port());
    sb.login(&reg.url());
    let pkg = package(&sb, "userinfo");
    let run = on_github(sb.trustpub(["publish"]), &sb)
        .arg(&pkg)
        .args(["--registry", &registry, "--trusted-publishing", "never"])
        .run();
    assert_ne!(run.code(), Some(0), "{}", run.describe);
    assert!(
        run.stderr().contains("ci-user:***@127.0.0.1"),
        "the registry URL is shown without its password:\n{}",
        run.describe
    );
}

#[test]
fn a_token_only_userinfo_in_the_token_request_url_is_scrubbed() {
    // GitHub's token service is reached through a URL whose userinfo is a
    // bare token; the service answers 500, so the failure names the URL.
    let service = Hostile::start(|_| json_answer(500, json!({"message": "down"})));
    let sb = Sandbox::new();
    let userinfo = format!("tok{}", &sb.token[19..40]);
    sb.add_secret(&userinfo);
    let request_token = format!("req{}", &sb.token[19..]);
    sb.add_secret(&request_token);
    let pkg = package(&sb, "userinfo-oidc");
    let run = on_github(sb.trustpub(["publish"]), &sb)
        .arg(&pkg)
        .args([
            "--registry",
            "http://127.0.0.1:9/",
            "--trusted-publishing",
            "always",
        ])
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!(
                "http://{userinfo}@127.0.0.1:{}/token?api-version=2.0",
                service.port()
            ),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &request_token)
        .env("npm_config_fetch_retries", "0")
        .run();
    assert_ne!(run.code(), Some(0), "{}", run.describe);
    assert!(
        !service.methods().is_empty(),
        "the token service was not asked"
    );
    // The request token is masked before anything else is printed.
    let first = run.stderr().lines().next().unwrap_or("");
    assert_eq!(
        first,
        format!("::add-mask::{request_token}"),
        "{}",
        run.describe
    );
    assert!(
        run.stderr().contains("://***@127.0.0.1"),
        "the URL is shown without its userinfo:\n{}",
        run.describe
    );
}

#[test]
fn the_token_service_echoing_the_request_token_is_scrubbed() {
    let issuer = OidcIssuer::github();
    let sb = Sandbox::new();
    let request_token = issuer.request_token();
    sb.add_secret(&request_token);
    let body = json!({
        "message": format!("token {request_token} is not valid for this job{PAYLOAD}")
    })
    .to_string();
    issuer.push_faults((0..8).map(|_| Fault::Body(401, body.clone())));
    let pkg = package(&sb, "echo-request-token");
    let run = on_github(sb.trustpub(["publish"]), &sb)
        .arg(&pkg)
        .args([
            "--registry",
            "http://127.0.0.1:9/",
            "--trusted-publishing",
            "always",
        ])
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", issuer.request_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &request_token)
        .run();
    run.expect_code(1);
    assert!(!issuer.token_requests().is_empty());
    run.stderr_has("token *** is not valid");
    payload_neutralised(&run);
    let notes = annotations(&run);
    assert!(
        notes.iter().any(|l| l.contains("token *** is not valid")),
        "{notes:?}"
    );
    let summary = summary(&sb);
    assert!(summary.contains("failed"), "{summary}");
}

#[test]
fn hostile_id_token_claims_and_exchange_messages_cannot_inject() {
    // The exchange endpoint refuses with a hostile message; the id token's
    // claims are hostile too. trustpub falls back to the npmrc token and
    // the (hostile) registry takes the PUT.
    let reg = Hostile::start(|req| {
        if req.url.contains("/oidc/token/exchange/") {
            json_answer(
                403,
                json!({"message": format!("no trusted publisher{PAYLOAD}")}),
            )
        } else if req.method == "PUT" {
            json_answer(201, json!({"ok": true}))
        } else {
            json_answer(404, json!({"error": "Not found"}))
        }
    });
    let issuer = OidcIssuer::github();
    issuer.set_job(
        issuer
            .github_claims("acme", "widgets", "release.yml")
            .visibility("private")
            .environment(&format!("prod{PAYLOAD}"))
            .git_ref("refs/heads/main\r::error::INJECTED-REF\u{1b}[1A")
            .set(
                "repository",
                json!("acme/widgets\n::add-mask::INJECTED-REPO"),
            )
            .build(),
    );
    let sb = Sandbox::new();
    sb.add_secret(&issuer.request_token());
    sb.login(&reg.url());
    let pkg = package(&sb, "hostile-claims");
    let run = on_github(sb.trustpub(["publish"]), &sb)
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", issuer.request_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", issuer.request_token())
        .run();
    for t in issuer.secrets() {
        assert!(!run.stderr().contains(&t) || run.stderr().contains(&format!("::add-mask::{t}")));
    }
    assert!(
        reg.methods()
            .iter()
            .any(|m| m.contains("/oidc/token/exchange/")),
        "{:?}",
        reg.methods()
    );
    payload_neutralised(&run);
}

#[test]
fn an_otp_auth_url_cannot_inject() {
    let reg = Hostile::start(|req| match req.method.as_str() {
        "PUT" => (
            401,
            vec![("www-authenticate".into(), "OTP".into())],
            json!({
                "authUrl": format!("https://127.0.0.1:9/auth{PAYLOAD}"),
                "doneUrl": "https://127.0.0.1:9/done",
            })
            .to_string(),
        ),
        _ => json_answer(404, json!({"error": "Not found"})),
    });
    let sb = Sandbox::new();
    sb.login(&reg.url());
    let pkg = package(&sb, "otp-url");
    let run = on_github(sb.trustpub(["publish"]), &sb)
        .arg(&pkg)
        .args(["--registry", &reg.url(), "--trusted-publishing", "never"])
        .run();
    assert_ne!(run.code(), Some(0), "{}", run.describe);
    payload_neutralised(&run);
}

#[test]
fn tag_and_package_json_values_cannot_inject() {
    let sb = Sandbox::new();
    let tag = format!("beta{PAYLOAD}");
    let pkg = package(&sb, "hostile-tag");
    let run = on_github(sb.trustpub(["publish"]), &sb)
        .arg(&pkg)
        .args(["--dry-run", "--tag", &tag, "--trusted-publishing", "never"])
        .args(["--registry", "http://127.0.0.1:9/"])
        .run();
    assert_ne!(run.code(), Some(0), "{}", run.describe);
    payload_neutralised(&run);

    let sb = Sandbox::new();
    let pkg = sb.package(
        "pkg",
        &json!({"name": "hostile-version", "version": format!("1.0.0{PAYLOAD}")}),
        &[("index.js", "1\n")],
    );
    let run = on_github(sb.trustpub(["publish"]), &sb)
        .arg(&pkg)
        .args(["--dry-run", "--trusted-publishing", "never"])
        .args(["--registry", "http://127.0.0.1:9/"])
        .run();
    assert_ne!(run.code(), Some(0), "{}", run.describe);
    payload_neutralised(&run);
}

#[test]
fn pack_json_stays_json_and_file_names_cannot_inject() {
    let sb = Sandbox::new();
    let hostile = [
        "##[add-mask]INJECTED.js",
        "\u{202e}sj.INJECTED.js",
        "x\u{9b}31mINJECTED.js",
    ];
    let files: Vec<(&str, &str)> = hostile.iter().map(|f| (*f, "1\n")).collect();
    let pkg = sb.package(
        "pkg",
        &json!({"name": "hostile-files", "version": "1.0.0", "description": format!("d{PAYLOAD}")}),
        &files,
    );
    let run = on_github(sb.trustpub(["pack"]), &sb)
        .arg(&pkg)
        .args(["--dry-run", "--json"])
        .run();
    run.success();
    let doc = run.json();
    let paths: Vec<&str> = doc[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    for h in hostile {
        assert!(paths.contains(&h), "{h:?} not in {paths:?}");
    }
    assert!(!run.stdout().contains("##[") && !run.stdout().contains('\u{202e}'));
    // And as text: the notice lines list the files, neutralised.
    let run = on_github(sb.trustpub(["pack"]), &sb)
        .arg(&pkg)
        .arg("--dry-run")
        .run();
    run.success();
    assert!(
        run.stderr().contains("#\\x23[add-mask]INJECTED.js"),
        "{}",
        run.describe
    );
    assert!(
        run.stderr().contains("\\u{202e}sj.INJECTED.js"),
        "{}",
        run.describe
    );
}

#[test]
fn a_fulcio_url_password_and_an_echoed_identity_token_are_scrubbed() {
    // Fulcio is reached through a URL with a password, and answers with an
    // error that quotes the request body (which carries the Sigstore
    // identity token) and the hostile text.
    let fulcio = Hostile::start(|req| {
        json_answer(
            400,
            json!({"message": format!("cannot verify {}{PAYLOAD}", String::from_utf8_lossy(&req.body))}),
        )
    });
    let issuer = OidcIssuer::github();
    issuer.set_job(
        issuer
            .github_claims("acme", "widgets", "release.yml")
            .visibility("public")
            .build(),
    );
    let reg = echoing_registry("");
    let sb = Sandbox::new();
    sb.add_secret(&issuer.request_token());
    let password = format!("pw{}", &sb.token[20..34]);
    sb.add_secret(&password);
    sb.login(&reg.url());
    let pkg = sb.package(
        "pkg",
        &json!({
            "name": "fulcio-echo", "version": "1.0.0", "license": "MIT",
            "repository": {"type": "git", "url": "git+https://github.com/acme/widgets.git"},
        }),
        &[("index.js", "1\n")],
    );
    let fulcio_url = format!("http://sig:{password}@127.0.0.1:{}/", fulcio.port());
    let run = on_github(sb.trustpub(["publish"]), &sb)
        .arg(&pkg)
        .args(["--registry", &reg.url(), "--trusted-publishing", "never"])
        .args([
            "--provenance",
            "--access",
            "public",
            "--fulcio-url",
            &fulcio_url,
        ])
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", issuer.request_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", issuer.request_token())
        .env(
            "GITHUB_WORKFLOW_REF",
            "acme/widgets/.github/workflows/release.yml@refs/heads/main",
        )
        .run();
    let minted = issuer.secrets();
    assert!(
        fulcio.methods().iter().any(|m| m.starts_with("POST")),
        "Fulcio was not asked: {:?}\n{}",
        fulcio.methods(),
        run.describe
    );
    run.expect_code(1);
    // Every token the issuer minted is a secret: it may only be masked.
    for t in &minted {
        for line in run.stderr().lines() {
            assert!(
                !line.contains(t.as_str()) || line == format!("::add-mask::{t}"),
                "an id token leaked:\n{}",
                sb.redact(&run.describe)
            );
        }
        assert!(!summary(&sb).contains(t.as_str()));
    }
    assert!(
        run.stderr().contains("sig:***@127.0.0.1"),
        "the Fulcio URL is shown without its password:\n{}",
        run.describe
    );
    payload_neutralised(&run);
}

#[test]
fn on_gitlab_hostile_claims_stay_inside_trustpubs_own_section() {
    // GitLab hands the job its id token; its claims and the exchange's
    // refusal are hostile. The diagnosis goes in a collapsible section,
    // whose markers are the only escape sequences trustpub may write.
    let reg = Hostile::start(|req| {
        if req.url.contains("/oidc/token/exchange/") {
            json_answer(403, json!({"message": format!("refused{PAYLOAD}")}))
        } else if req.method == "PUT" {
            json_answer(201, json!({"ok": true}))
        } else {
            json_answer(404, json!({"error": "Not found"}))
        }
    });
    let issuer = OidcIssuer::gitlab();
    let sb = Sandbox::new();
    let id_token = issuer.mint(
        &issuer
            .gitlab_claims("acme", "widgets", ".gitlab-ci.yml")
            .audience("npm:127.0.0.1")
            .environment(&format!("prod{PAYLOAD}"))
            .set("project_path", json!(format!("acme/widgets{PAYLOAD}")))
            .build(),
    );
    sb.add_secret(&id_token);
    sb.login(&reg.url());
    let pkg = package(&sb, "gitlab-claims");
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .env("GITLAB_CI", "true")
        .env("CI", "true")
        .env("NPM_ID_TOKEN", &id_token)
        .run();
    run.success();
    assert!(
        run.stderr().contains("section_start:") && run.stderr().contains("section_end:"),
        "no GitLab section:\n{}",
        run.describe
    );
    payload_neutralised(&run);
}
