//! End-to-end tests of `trustpub publish` (the binary), issue 3.
//!
//! * **Documents and headers against the real npm**: each fixture under
//!   `fixtures/publish/` is published by npm 11.19.1 and by trustpub to the
//!   same [`RecordingRegistry`]; the two `PUT` bodies are compared field by
//!   field (npm's `_nodeVersion`/`_npmVersion`, and `_resolved`/`_integrity`/
//!   `_from` for a `.tgz`, removed; values that depend on the gzip bytes
//!   replaced, except for a `.tgz`, where both send the same bytes), the
//!   attachments must gunzip to the same tar, the headers must match, and so
//!   must the `--json` records.
//! * **Configuration** as npm resolves it, end to end: project npmrc with
//!   `${VAR}`, `NPM_CONFIG_USERCONFIG`, `npm_config_registry`,
//!   `@scope:registry`, `publishConfig`, the `tag` field, `NODE_AUTH_TOKEN`.
//! * **Checks before any upload**, **safe upload** against a scriptable
//!   [`FakeRegistry`] (retries, `Retry-After`, timeouts after the registry
//!   stored the publish, error statuses, redirects), **lifecycle scripts**,
//!   **`--dry-run`** and **`--json`**.
//! * **A real registry**: Verdaccio, then `npm install` of what trustpub
//!   published.
//!
//! Every run goes through [`Sandbox`], which plants a random token and fails
//! the test if it appears in any output; assertion messages are redacted.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use sha1::Digest as _;

use crate::document_diff::compare;
use crate::support::fake_registry::{FakeRegistry, Reply};
use crate::support::recording_registry::{RecordingRegistry, Request};
use crate::support::sandbox::{Run, Sandbox};
use crate::support::{self, verdaccio};

// ---------------------------------------------------------------------------
// Helpers

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn sri_sha512(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(bytes))
    )
}

pub(crate) fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

/// The user-agent trustpub must send outside CI.
pub(crate) fn user_agent() -> String {
    crate::support::expected_user_agent(None)
}

/// Whether `req` carries exactly the planted token as a bearer token
/// (a boolean, so that no assertion message shows the header).
pub(crate) fn bearer(req: &Request, token: &str) -> bool {
    req.header("authorization") == Some(format!("Bearer {token}").as_str())
}

/// No request carried an `authorization` header with an unexpanded `${`.
fn no_template_sent(reqs: &[Request]) -> bool {
    reqs.iter()
        .all(|r| !r.header("authorization").is_some_and(|a| a.contains("${")))
}

/// A small package made at run time.
fn simple(sb: &Sandbox, dir: &str, name: &str, version: &str) -> PathBuf {
    sb.package(
        dir,
        &json!({ "name": name, "version": version, "description": "made by the publish tests" }),
        &[
            ("index.js", "module.exports = 1\n"),
            ("README.md", "# hi\n"),
        ],
    )
}

/// A fake registry the user npmrc has the planted token for.
fn fake(sb: &Sandbox) -> FakeRegistry {
    let r = FakeRegistry::start();
    sb.login(&r.url());
    r
}

/// `trustpub publish <target> --registry <registry> <extra>`.
fn publish(sb: &Sandbox, registry: &str, target: &Path, extra: &[&str]) -> Run {
    sb.trustpub(["publish"])
        .arg(target)
        .arg("--registry")
        .arg(registry)
        .args(extra)
        .run()
}

/// A check that must stop before any upload: the exit code, the message and
/// the hint, and that no `PUT` reached the registry.
fn refused(run: &Run, reg: &dyn Puts, code: i32, message: &str, hint: &str) -> (String, String) {
    run.expect_code(code);
    assert!(
        reg.new_puts() == 0,
        "a PUT reached the registry: {:?}\n{}",
        reg.describe(),
        run.describe
    );
    let (error, h) = run.error_and_hint();
    assert!(
        error.contains(message),
        "the error does not say {message:?}:\n{}",
        run.describe
    );
    assert!(
        h.contains(hint),
        "the hint does not say {hint:?}:\n{}",
        run.describe
    );
    (error, h)
}

/// For [`refused`] on a registry that already saw `n` PUTs: only PUTs after
/// those count.
fn reg_after(reg: &FakeRegistry, n: usize) -> PutsSince<'_> {
    PutsSince { reg, n }
}

struct PutsSince<'a> {
    reg: &'a FakeRegistry,
    n: usize,
}

/// The PUTs [`refused`] counts.
trait Puts {
    fn new_puts(&self) -> usize;
    fn describe(&self) -> Vec<String>;
}

impl Puts for FakeRegistry {
    fn new_puts(&self) -> usize {
        self.puts().len()
    }
    fn describe(&self) -> Vec<String> {
        self.summary()
    }
}

impl Puts for PutsSince<'_> {
    fn new_puts(&self) -> usize {
        self.reg.puts().len() - self.n
    }
    fn describe(&self) -> Vec<String> {
        self.reg.summary()
    }
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------
// Item 3: the registry document and headers, against the real npm

#[derive(Clone, Copy)]
struct DiffCase {
    fixture: &'static str,
    /// Extra arguments, given to npm and to trustpub alike.
    args: &'static [&'static str],
    /// Publish a `.tgz` made by `npm pack` instead of the directory.
    tarball: bool,
    /// A path appended to the registry URL.
    registry_path: Option<&'static str>,
    /// `(pointer, JSON)` that must hold in both documents (the behaviour the
    /// case is about).
    expect: &'static [(&'static str, &'static str)],
}

const DC: DiffCase = DiffCase {
    fixture: "",
    args: &[],
    tarball: false,
    registry_path: None,
    expect: &[],
};

macro_rules! diff_cases {
    ($($name:ident => $case:expr;)*) => {
        $(
            #[test]
            fn $name() {
                run_diff_case(&$case);
            }
        )*
    };
}

diff_cases! {
    document_matches_npm_unscoped => DiffCase {
        fixture: "unscoped",
        expect: &[("/access", "null"), ("/dist-tags", r#"{"latest":"1.0.0"}"#)],
        ..DC
    };
    document_matches_npm_scoped_public => DiffCase {
        fixture: "scoped-public",
        args: &["--access", "public"],
        expect: &[("/access", r#""public""#)],
        ..DC
    };
    // With a one-time password: `npm-otp` and `npm-auth-type: legacy`, as npm sends them.
    document_matches_npm_bin_string => DiffCase {
        fixture: "bin-string",
        args: &["--otp", "123456"],
        ..DC
    };
    document_matches_npm_bin_object => DiffCase { fixture: "bin-object", ..DC };
    document_matches_npm_bin_dir_man => DiffCase { fixture: "bin-dir-man", ..DC };
    document_matches_npm_readme_markdown => DiffCase { fixture: "readme-markdown", ..DC };
    document_matches_npm_readme_crlf => DiffCase { fixture: "readme-crlf", ..DC };
    document_matches_npm_readme_none => DiffCase { fixture: "readme-none", ..DC };
    document_matches_npm_manifest_fixes => DiffCase {
        fixture: "manifest-fixes",
        expect: &[("/versions/1.2.3/version", r#""1.2.3""#)],
        ..DC
    };
    document_matches_npm_publish_config => DiffCase {
        fixture: "publish-config",
        expect: &[("/access", r#""public""#), ("/dist-tags", r#"{"next":"1.0.0"}"#)],
        ..DC
    };
    document_matches_npm_tag_field => DiffCase {
        fixture: "tag-field",
        args: &["--tag", "next"],
        expect: &[("/dist-tags", r#"{"beta":"1.0.0"}"#)],
        ..DC
    };
    document_matches_npm_registry_path => DiffCase {
        fixture: "registry-path",
        args: &["--access", "public"],
        registry_path: Some("sub/path"),
        ..DC
    };
    document_matches_npm_tgz_argument => DiffCase {
        fixture: "tarball",
        args: &["--access", "public"],
        tarball: true,
        expect: &[("/versions/3.0.0/version", r#""3.0.0""#)],
        ..DC
    };
}

/// `npm pack <pkg>` into `<root>/packed`; the `.tgz` it made.
fn npm_pack(sb: &Sandbox, pkg: &Path) -> PathBuf {
    let out_dir = sb.root.join("packed");
    fs::create_dir_all(&out_dir).unwrap();
    sb.npm(["pack"])
        .arg(pkg)
        .arg("--pack-destination")
        .arg(&out_dir)
        .run()
        .success();
    let tgz = support::dir_names(&out_dir);
    assert_eq!(tgz.len(), 1, "npm pack made {tgz:?}");
    out_dir.join(&tgz[0])
}

/// The one version document of a publish body.
fn only_version(doc: &Value) -> String {
    let v = doc["versions"].as_object().expect("versions");
    assert_eq!(v.len(), 1, "one version per publish");
    v.keys().next().unwrap().clone()
}

/// Removes what trustpub deliberately does not send from npm's document.
pub(crate) fn strip_npm_only(doc: &mut Value, tarball: bool) {
    let version = only_version(doc);
    let vdoc = doc["versions"][&version].as_object_mut().unwrap();
    let mut keys = vec!["_nodeVersion", "_npmVersion"];
    if tarball {
        keys.extend(["_resolved", "_integrity", "_from"]);
    }
    for k in keys {
        let removed = vdoc.shift_remove(k);
        assert!(
            removed.is_some() || k == "_integrity",
            "npm's document has no {k}: the case no longer shows what it removes"
        );
    }
}

/// The attachment's tarball, after checking that `length`, `dist.integrity`
/// and `dist.shasum` describe exactly those bytes.
pub(crate) fn attachment(doc: &Value, who: &str) -> Vec<u8> {
    let version = only_version(doc);
    let att = doc["_attachments"].as_object().expect("_attachments");
    assert_eq!(att.len(), 1, "{who}: one attachment");
    let (_, a) = att.iter().next().unwrap();
    let bytes = b64(a["data"].as_str().expect("data"));
    let dist = &doc["versions"][&version]["dist"];
    assert_eq!(a["length"], json!(bytes.len()), "{who}: attachment length");
    assert_eq!(
        dist["integrity"],
        json!(sri_sha512(&bytes)),
        "{who}: dist.integrity is not the attachment's"
    );
    assert_eq!(
        dist["shasum"],
        json!(hex::encode(sha1::Sha1::digest(&bytes))),
        "{who}: dist.shasum is not the attachment's"
    );
    bytes
}

/// Replaces the values that depend on the gzip bytes.
pub(crate) fn neutralise_gzip(doc: &mut Value) {
    let version = only_version(doc);
    if let Some(att) = doc["_attachments"].as_object_mut() {
        for a in att.values_mut() {
            a["data"] = json!("<gzip data>");
            a["length"] = json!(0);
        }
    }
    let dist = &mut doc["versions"][&version]["dist"];
    dist["integrity"] = json!("<integrity of the gzip bytes>");
    dist["shasum"] = json!("<shasum of the gzip bytes>");
}

fn run_diff_case(case: &DiffCase) {
    support::require_npm();
    let sb = Sandbox::new();
    let reg = RecordingRegistry::start();
    let registry = match case.registry_path {
        Some(p) => format!("{}{p}", reg.url()),
        None => reg.url(),
    };
    sb.login(&registry);
    let pkg = sb.fixture(case.fixture);
    let target = if case.tarball {
        npm_pack(&sb, &pkg)
    } else {
        pkg.clone()
    };

    let npm = sb
        .npm(["publish"])
        .arg(&target)
        .arg("--registry")
        .arg(&registry)
        .args(case.args)
        .arg("--json")
        .run();
    npm.success();
    let ours = sb
        .trustpub(["publish"])
        .arg(&target)
        .arg("--registry")
        .arg(&registry)
        .args(case.args)
        .arg("--json")
        .run();
    ours.success();

    let puts = reg.puts();
    assert_eq!(puts.len(), 2, "one PUT each from npm and trustpub");
    let (npm_put, our_put) = (&puts[0], &puts[1]);
    assert!(
        npm_put
            .header("user-agent")
            .is_some_and(|u| u.starts_with("npm/")),
        "the first PUT is npm's"
    );

    // Where, and with what headers.
    assert_eq!(our_put.url, npm_put.url, "the PUT's path");
    assert!(bearer(npm_put, &sb.token), "npm sent the planted token");
    assert!(
        bearer(our_put, &sb.token),
        "trustpub sent the planted token"
    );
    assert_eq!(
        our_put.header("user-agent"),
        Some(user_agent().as_str()),
        "user-agent outside CI"
    );
    for h in ["npm-command", "npm-auth-type", "npm-otp", "content-type"] {
        assert_eq!(our_put.header(h), npm_put.header(h), "header {h}");
    }
    assert_eq!(our_put.header("npm-command"), Some("publish"));
    if case.args.contains(&"--otp") {
        assert_eq!(our_put.header("npm-auth-type"), Some("legacy"));
        assert_eq!(our_put.header("npm-otp"), Some("123456"));
    } else {
        assert_eq!(our_put.header("npm-auth-type"), Some("web"));
    }
    assert_eq!(our_put.header("content-type"), Some("application/json"));

    // No local path in what we sent.
    let body = String::from_utf8_lossy(&our_put.body);
    assert!(
        !body.contains(sb.root.to_str().unwrap()),
        "our document contains a local path"
    );

    // The documents.
    let mut npm_doc: Value = serde_json::from_slice(&npm_put.body).expect("npm's body");
    let mut our_doc: Value = serde_json::from_slice(&our_put.body).expect("our body");
    strip_npm_only(&mut npm_doc, case.tarball);
    let npm_tgz = attachment(&npm_doc, "npm");
    let our_tgz = attachment(&our_doc, "trustpub");
    if case.tarball {
        assert!(npm_tgz == our_tgz, "the .tgz must be sent as it is");
    } else {
        assert!(
            gunzip(&npm_tgz) == gunzip(&our_tgz),
            "our attachment does not gunzip to npm's tar bytes"
        );
        neutralise_gzip(&mut npm_doc);
        neutralise_gzip(&mut our_doc);
    }
    for (pointer, want) in case.expect {
        let want: Value = serde_json::from_str(want).unwrap();
        assert_eq!(npm_doc.pointer(pointer), Some(&want), "npm's {pointer}");
    }
    let mut diffs = Vec::new();
    compare(&npm_doc, &our_doc, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{}",
        sb.redact(&format!(
            "{}: our document differs from npm's:\n{}",
            case.fixture,
            diffs.join("\n")
        ))
    );

    // The --json records: npm's keys and values, plus ours.
    let npm_json = npm.json();
    let our_json = ours.json();
    let name = npm_doc["name"].as_str().unwrap();
    let (Some(n), Some(o)) = (npm_json[name].as_object(), our_json[name].as_object()) else {
        panic!(
            "both --json outputs must be keyed by {name}:\n{}\n{}",
            npm.describe, ours.describe
        );
    };
    assert_eq!(our_json.as_object().unwrap().len(), 1, "one key");
    for (k, v) in n {
        let gzip_dependent = ["size", "shasum", "integrity"].contains(&k.as_str());
        if gzip_dependent && !case.tarball {
            continue;
        }
        assert_eq!(o.get(k), Some(v), "--json {k}: npm {v}");
    }
    let version = only_version(&our_doc);
    assert_eq!(o["integrity"], json!(sri_sha512(&our_tgz)));
    assert_eq!(o["size"], json!(our_tgz.len()));
    assert_eq!(o["registry"], json!(registry));
    let tag = our_doc["dist-tags"].as_object().unwrap();
    assert_eq!(tag.len(), 1);
    assert_eq!(o["tag"], json!(tag.keys().next().unwrap()));
    assert_eq!(tag.values().next().unwrap(), &json!(version));
    assert_eq!(o["access"], our_doc["access"]);
    assert_eq!(o["auth"], json!("token"));
    assert_eq!(o["provenance"], json!(false));
}

/// `--otp` sends `npm-otp` and `npm-auth-type: legacy`, as npm does; in CI
/// the user-agent gains ` ci/<provider>` and nothing else changes.
#[test]
fn headers_with_otp_and_in_ci() {
    let sb = Sandbox::new();
    let reg = RecordingRegistry::start();
    sb.login(&reg.url());
    let pkg = simple(&sb, "pkg", "trustpub-it-headers", "1.0.0");

    sb.trustpub(["publish"])
        .arg(&pkg)
        .arg("--registry")
        .arg(reg.url())
        .args(["--otp", "123456"])
        .env("GITHUB_ACTIONS", "true")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .run()
        .success();
    sb.trustpub(["publish"])
        .arg(&pkg)
        .arg("--registry")
        .arg(reg.url())
        .run()
        .success();

    let puts = reg.puts();
    assert_eq!(puts.len(), 2);
    let (ci, local) = (&puts[0], &puts[1]);
    assert_eq!(
        ci.header("user-agent"),
        Some(format!("{} ci/github-actions", user_agent()).as_str())
    );
    assert_eq!(ci.header("npm-auth-type"), Some("legacy"));
    assert_eq!(ci.header("npm-otp"), Some("123456"));
    assert_eq!(ci.header("npm-command"), Some("publish"));
    assert_eq!(ci.header("content-type"), Some("application/json"));
    assert!(
        bearer(ci, &sb.token),
        "the CI run still used the npmrc token"
    );

    assert_eq!(local.header("user-agent"), Some(user_agent().as_str()));
    assert_eq!(local.header("npm-auth-type"), Some("web"));
    assert_eq!(local.header("npm-otp"), None);
    // The same document either way.
    assert!(ci.body == local.body, "CI changed the document");
}

/// Item 1: a `.tgz` made earlier is published as it is, its manifest read
/// from inside it, from another directory, with the source gone.
#[test]
fn tgz_argument_needs_only_the_tarball() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let pkg = sb.fixture("tarball");
    let out_dir = sb.root.join("out");
    fs::create_dir_all(&out_dir).unwrap();
    let pack = sb
        .trustpub(["pack", "--json", "--pack-destination"])
        .arg(&out_dir)
        .arg(&pkg)
        .run();
    pack.success();
    let packed = pack.json();
    let filename = packed[0]["filename"]
        .as_str()
        .expect("filename")
        .to_string();
    fs::remove_dir_all(&pkg).unwrap();
    let elsewhere = sb.root.join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();

    let run = sb
        .trustpub(["publish"])
        .arg(Path::new("../out").join(&filename))
        .args(["--registry", &reg.url(), "--access", "public", "--json"])
        .cwd(&elsewhere)
        .run();
    run.success();
    let rec = &run.json()["@trustpub-test/from-tgz"];
    assert_eq!(rec["version"], json!("3.0.0"), "{}", run.describe);
    assert_eq!(rec["integrity"], packed[0]["integrity"], "the same bytes");

    let puts = reg.puts();
    assert_eq!(puts.len(), 1);
    let body = String::from_utf8_lossy(&puts[0].body);
    assert!(
        !body.contains(sb.root.to_str().unwrap()),
        "a local path leaked"
    );
    assert!(
        !body.contains("elsewhere") && !body.contains("/out/"),
        "a local path leaked"
    );
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["name"], json!("@trustpub-test/from-tgz"));
    assert_eq!(
        doc["versions"]["3.0.0"]["bin"],
        json!({ "from-tgz": "cli.js" })
    );
    let tgz = fs::read(out_dir.join(&filename)).unwrap();
    assert!(
        attachment(&doc, "trustpub") == tgz,
        "the .tgz was not sent as it is"
    );
    assert_eq!(
        reg.versions("@trustpub-test/from-tgz"),
        vec!["3.0.0".to_string()]
    );
}

/// A `.tgz` whose package.json says `v3.0.0`: the registry files it as
/// `3.0.0`, so the safety checks must look for `3.0.0` too. A 502 after the
/// registry stored it is recognised (no second PUT), and publishing it again
/// is "already published" before any upload.
#[test]
fn tgz_with_a_loose_version_is_checked_under_the_registry_version() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let pkg = sb.fixture("tarball");
    let pack = sb
        .trustpub(["pack", "--json", "--pack-destination"])
        .arg(&sb.root)
        .arg(&pkg)
        .run();
    pack.success();
    let tgz = sb.root.join(pack.json()[0]["filename"].as_str().unwrap());

    reg.script_puts([Reply::status(502, "bad gateway").stored()]);
    let run = publish(&sb, &reg.url(), &tgz, &["--access", "public", "--json"]);
    run.success().stderr_has(
        "@trustpub-test/from-tgz@3.0.0 is on the registry with this tarball's integrity",
    );
    let rec = &run.json()["@trustpub-test/from-tgz"];
    assert_eq!(rec["version"], json!("3.0.0"), "{}", run.describe);
    assert_eq!(rec["filename"], json!("trustpub-test-from-tgz-3.0.0.tgz"));
    assert_eq!(reg.puts().len(), 1, "{:?}", reg.summary());
    assert_eq!(reg.versions("@trustpub-test/from-tgz"), vec!["3.0.0"]);

    let again = publish(&sb, &reg.url(), &tgz, &["--access", "public"]);
    refused(
        &again,
        &reg_after(&reg, 1),
        1,
        "@trustpub-test/from-tgz@3.0.0 is already published",
        "identical",
    );
}

// ---------------------------------------------------------------------------
// Item 2: configuration as npm resolves it, end to end

/// A project `.npmrc` with `${MY_TOKEN}`: found from the working directory,
/// expanded from the environment, and named in the last line. The job
/// names the registry too (`npm_config_registry`): a CI secret expanded by
/// a repository file goes only to a registry chosen outside the
/// repository (`attacks::credentials` has the refusal).
#[test]
fn project_npmrc_with_env_expansion() {
    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    let pkg = simple(&sb, "pkg", "trustpub-it-project-npmrc", "1.0.0");
    let nerf = Sandbox::token_line(&reg.url(), "${MY_TOKEN}");
    sb.write(
        &pkg.join(".npmrc"),
        &format!("registry={}\n{nerf}", reg.url()),
    );

    let run = sb
        .trustpub(["publish"])
        .env("MY_TOKEN", &sb.token)
        .env("npm_config_registry", reg.url())
        .cwd(&pkg)
        .run();
    run.success();
    let puts = reg.puts();
    assert_eq!(puts.len(), 1, "{:?}", reg.summary());
    assert!(
        bearer(&puts[0], &sb.token),
        "the expanded token was not sent"
    );
    let last = run.last_stderr_line();
    assert!(
        last.contains(&format!("{}/.npmrc:2 (project config)", pkg.display()))
            && last.contains(&reg.url()),
        "the last line does not name the project npmrc and the registry:\n{}",
        run.describe
    );
}

/// `NPM_CONFIG_USERCONFIG` names the user npmrc (as setup-node exports it),
/// instead of `~/.npmrc`.
#[test]
fn npm_config_userconfig_names_the_user_npmrc() {
    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    let decoy = format!("{}-decoy", support::sandbox::planted_token());
    sb.add_secret(&decoy);
    sb.write(&sb.user_npmrc(), &Sandbox::token_line(&reg.url(), &decoy));
    let custom = sb.root.join("ci/npmrc");
    sb.write(&custom, &Sandbox::token_line(&reg.url(), &sb.token));
    let pkg = simple(&sb, "pkg", "trustpub-it-userconfig", "1.0.0");

    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .env("NPM_CONFIG_USERCONFIG", &custom)
        .run();
    run.success();
    let puts = reg.puts();
    assert_eq!(puts.len(), 1);
    assert!(
        bearer(&puts[0], &sb.token),
        "the NPM_CONFIG_USERCONFIG token was not sent"
    );
    run.stderr_has(&format!("{}:1 (user config)", custom.display()));
}

/// `npm_config_registry` in the environment chooses the registry.
#[test]
fn npm_config_registry_env() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let pkg = simple(&sb, "pkg", "trustpub-it-env-registry", "1.0.0");
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .env("npm_config_registry", reg.url())
        .run();
    run.success();
    assert_eq!(reg.versions("trustpub-it-env-registry"), vec!["1.0.0"]);
    assert!(bearer(&reg.puts()[0], &sb.token));
}

/// `@scope:registry` beats `--registry` for a scoped package, and the other
/// registry hears nothing.
#[test]
fn scope_registry_beats_cli_registry() {
    let sb = Sandbox::new();
    let scoped = FakeRegistry::start();
    let other = FakeRegistry::start();
    sb.write(
        &sb.user_npmrc(),
        &format!(
            "@trustpub-test:registry={}\n{}{}",
            scoped.url(),
            Sandbox::token_line(&scoped.url(), &sb.token),
            Sandbox::token_line(&other.url(), &sb.token),
        ),
    );
    let pkg = sb.fixture("scoped-public");
    let run = publish(&sb, &other.url(), &pkg, &["--access", "public", "--json"]);
    run.success();
    assert_eq!(
        run.json()["@trustpub-test/scoped"]["registry"],
        json!(scoped.url())
    );
    assert_eq!(scoped.versions("@trustpub-test/scoped"), vec!["0.1.0"]);
    assert_eq!(scoped.puts()[0].url, "/@trustpub-test%2fscoped");
    assert!(other.requests().is_empty(), "{:?}", other.summary());
}

/// `publishConfig.tag` and `publishConfig.access` are honoured.
#[test]
fn publish_config_tag_and_access() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let pkg = sb.fixture("publish-config");
    let run = publish(&sb, &reg.url(), &pkg, &["--json"]);
    run.success();
    let rec = &run.json()["@trustpub-test/pubconf"];
    assert_eq!(rec["tag"], json!("next"));
    assert_eq!(rec["access"], json!("public"));
    let doc: Value = serde_json::from_slice(&reg.puts()[0].body).unwrap();
    assert_eq!(doc["access"], json!("public"));
    assert_eq!(doc["dist-tags"], json!({ "next": "1.0.0" }));
    let stored = reg.packument("@trustpub-test/pubconf").unwrap();
    assert_eq!(stored["dist-tags"], json!({ "next": "1.0.0" }));
}

/// A top-level `"tag"` field beats `--tag`.
#[test]
fn top_level_tag_field() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let pkg = sb.fixture("tag-field");
    let run = publish(&sb, &reg.url(), &pkg, &["--tag", "next", "--json"]);
    run.success();
    assert_eq!(run.json()["trustpub-doc-tag-field"]["tag"], json!("beta"));
    let stored = reg.packument("trustpub-doc-tag-field").unwrap();
    assert_eq!(stored["dist-tags"], json!({ "beta": "1.0.0" }));
}

/// `NODE_AUTH_TOKEN` is used when no npmrc credential names the registry
/// (a credential for another registry does not count).
#[test]
fn node_auth_token_when_no_npmrc_credential() {
    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    let other = support::sandbox::planted_token();
    sb.add_secret(&other);
    sb.write(
        &sb.user_npmrc(),
        &Sandbox::token_line("https://registry.example.invalid/", &other),
    );
    let pkg = simple(&sb, "pkg", "trustpub-it-node-auth-token", "1.0.0");
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .env("NODE_AUTH_TOKEN", &sb.token)
        .run();
    run.success();
    let puts = reg.puts();
    assert_eq!(puts.len(), 1);
    assert!(bearer(&puts[0], &sb.token), "NODE_AUTH_TOKEN was not sent");
    assert!(
        run.last_stderr_line()
            .contains("token from environment variable NODE_AUTH_TOKEN"),
        "{}",
        run.describe
    );
}

/// `${NODE_AUTH_TOKEN}` left unexpanded (the variable is unset): reported as
/// exactly that, and never sent.
#[test]
fn unexpanded_node_auth_token_is_reported_and_never_sent() {
    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    sb.write(
        &sb.user_npmrc(),
        &Sandbox::token_line(&reg.url(), "${NODE_AUTH_TOKEN}"),
    );
    let pkg = simple(&sb, "pkg", "trustpub-it-unexpanded", "1.0.0");
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .env_remove("NODE_AUTH_TOKEN")
        .run();
    let (error, hint) = refused(&run, &reg, 2, "`${NODE_AUTH_TOKEN}`", "NODE_AUTH_TOKEN");
    assert!(
        error.contains("not set") && error.contains(&format!("{}:1", sb.user_npmrc().display())),
        "{}",
        run.describe
    );
    assert!(hint.contains("setup-node"), "{}", run.describe);
    assert!(
        no_template_sent(&reg.requests()),
        "a `${{` credential was sent"
    );
}

// ---------------------------------------------------------------------------
// Item 4: checks before any upload

#[test]
fn private_package_is_refused() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let pkg = sb.package(
        "pkg",
        &json!({ "name": "trustpub-it-private", "version": "1.0.0", "private": true }),
        &[],
    );
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    refused(
        &run,
        &reg,
        2,
        "trustpub-it-private is marked \"private\": true",
        "remove \"private\": true",
    );
}

/// A `--tag` that is a semver range is refused before anything runs (npm
/// checks it first, before prepublishOnly).
#[test]
fn semver_range_tags_are_refused() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let marker = sb.root.join("scripts-ran");
    let pkg = sb.package(
        "pkg",
        &json!({
            "name": "trustpub-it-range-tag",
            "version": "1.0.0",
            "scripts": { "prepublishOnly": format!("echo ran >> '{}'", marker.display()) }
        }),
        &[],
    );
    for tag in ["1.x", "v1", "^1.0.0"] {
        let run = publish(&sb, &reg.url(), &pkg, &["--tag", tag]);
        refused(
            &run,
            &reg,
            2,
            &format!("Tag name must not be a valid SemVer range: {tag}"),
            "pick a name such as `next`",
        );
    }
    assert!(!marker.exists(), "prepublishOnly ran before the tag check");
}

#[test]
fn prerelease_needs_a_tag() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let pkg = simple(&sb, "pkg", "trustpub-it-prerelease", "2.0.0-beta.1");
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    refused(
        &run,
        &reg,
        2,
        "2.0.0-beta.1 is a prerelease version",
        "--tag next",
    );
    publish(&sb, &reg.url(), &pkg, &["--tag", "next"]).success();
    assert_eq!(reg.versions("trustpub-it-prerelease"), vec!["2.0.0-beta.1"]);
}

/// A version already on the registry: an error (exit 1) that says whether
/// the published tarball is this one; with `--tolerate-republish`, exit 0
/// and a note saying the same. Both cases.
#[test]
fn already_published_version() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let pkg = simple(&sb, "pkg", "trustpub-it-republish", "1.0.0");
    let first = publish(&sb, &reg.url(), &pkg, &["--json"]);
    first.success();
    let integrity = first.json()["trustpub-it-republish"]["integrity"].clone();
    assert_eq!(
        reg.packument("trustpub-it-republish").unwrap()["versions"]["1.0.0"]["dist"]["integrity"],
        integrity
    );

    // The same tarball again.
    let again = publish(&sb, &reg.url(), &pkg, &[]);
    refused(
        &again,
        &reg_after(&reg, 1),
        1,
        "trustpub-it-republish@1.0.0 is already published",
        "the published tarball is identical to this one",
    );
    let tolerated = publish(&sb, &reg.url(), &pkg, &["--tolerate-republish", "--json"]);
    tolerated
        .success()
        .stderr_has("the published tarball is identical to this one");
    assert_eq!(
        tolerated.json()["trustpub-it-republish"]["outcome"],
        json!("already-published")
    );
    assert_eq!(reg.puts().len(), 1, "{:?}", reg.summary());

    // A different tarball under the same version.
    reg.seed("trustpub-it-other", "1.0.0", "sha512-AAAA", Some("latest"));
    let other = simple(&sb, "other", "trustpub-it-other", "1.0.0");
    let run = publish(&sb, &reg.url(), &other, &[]);
    refused(
        &run,
        &reg_after(&reg, 1),
        1,
        "trustpub-it-other@1.0.0 is already published",
        "a different tarball was published under this version",
    );
    publish(&sb, &reg.url(), &other, &["--tolerate-republish"])
        .success()
        .stderr_has("the published tarball differs from this one");
    assert_eq!(reg.puts().len(), 1, "{:?}", reg.summary());
}

/// The latest-tag downgrade guard: a version below the highest published
/// one needs an explicit tag.
#[test]
fn latest_downgrade_is_refused() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    reg.seed(
        "trustpub-it-downgrade",
        "2.0.0",
        "sha512-AAAA",
        Some("latest"),
    );
    let pkg = simple(&sb, "pkg", "trustpub-it-downgrade", "1.5.0");
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    refused(
        &run,
        &reg,
        2,
        "cannot implicitly apply the \"latest\" tag: 2.0.0 is already published",
        "--tag",
    );
    publish(&sb, &reg.url(), &pkg, &["--tag", "maintenance"]).success();
    let stored = reg.packument("trustpub-it-downgrade").unwrap();
    assert_eq!(
        stored["dist-tags"],
        json!({ "latest": "2.0.0", "maintenance": "1.5.0" })
    );
}

#[test]
fn restricted_access_on_unscoped_name_is_refused() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let pkg = simple(&sb, "pkg", "trustpub-it-restricted", "1.0.0");
    let run = publish(&sb, &reg.url(), &pkg, &["--access", "restricted"]);
    refused(
        &run,
        &reg,
        2,
        "cannot restrict access to the unscoped package trustpub-it-restricted",
        "only scoped packages",
    );
}

// ---------------------------------------------------------------------------
// Item 5: safe upload

/// A 5xx (not stored) is retried after npm's backoff, and exactly one
/// version ends up stored.
#[test]
fn server_error_then_success_stores_one_version() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    reg.script_puts([Reply::status(503, "try again later")]);
    let pkg = simple(&sb, "pkg", "trustpub-it-503", "1.0.0");
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.success().stderr_has("answered 503; retry 1 in 0.1 s");
    assert_eq!(reg.puts().len(), 2, "{:?}", reg.summary());
    assert_eq!(reg.versions("trustpub-it-503"), vec!["1.0.0"]);
    assert!(
        run.last_stderr_line()
            .contains("published trustpub-it-503@1.0.0"),
        "{}",
        run.describe
    );
}

/// A 5xx from a registry that did store the publish: the packument check
/// finds this tarball's integrity, so it is a success and nothing is sent
/// again.
#[test]
fn server_error_after_storing_is_success() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    reg.script_puts([Reply::status(502, "bad gateway").stored()]);
    let pkg = simple(&sb, "pkg", "trustpub-it-502-stored", "1.0.0");
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.success()
        .stderr_has("is on the registry with this tarball's integrity: the publish succeeded")
        .stderr_lacks("retry 1");
    assert_eq!(reg.puts().len(), 1, "{:?}", reg.summary());
    assert_eq!(reg.versions("trustpub-it-502-stored"), vec!["1.0.0"]);
}

/// `Retry-After` replaces the backoff (0.1 s, then 1 s here), capped at
/// `fetch-retry-maxtimeout` (1.5 s here). The waits are read from the retry
/// notices, not measured.
#[test]
fn retry_after_is_honoured_and_capped() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    reg.script_puts([
        Reply::status(503, "busy").header("retry-after", "1"),
        Reply::status(429, "slow down").header("retry-after", "3600"),
    ]);
    let pkg = simple(&sb, "pkg", "trustpub-it-retry-after", "1.0.0");
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .env("npm_config_fetch_retry_maxtimeout", "1500")
        .run();
    run.success()
        .stderr_has("answered 503; retry 1 in 1.0 s")
        .stderr_has("answered 429; retry 2 in 1.5 s");
    assert_eq!(reg.puts().len(), 3, "{:?}", reg.summary());
    assert_eq!(reg.versions("trustpub-it-retry-after"), vec!["1.0.0"]);
}

/// The registry stores the PUT but answers after the client gave up: the
/// packument check reports success, and no second PUT is sent.
#[test]
fn stored_put_answered_after_the_timeout_is_success() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    reg.script_puts([Reply::status(201, "")
        .body(r#"{"ok":true}"#)
        .stored()
        .after(Duration::from_secs(3))]);
    let pkg = simple(&sb, "pkg", "trustpub-it-timeout", "1.0.0");
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .env("npm_config_fetch_timeout", "1500")
        .run();
    run.success()
        .stderr_has("the publish succeeded")
        .stderr_lacks("retry 1");
    assert_eq!(reg.puts().len(), 1, "{:?}", reg.summary());
    assert_eq!(reg.versions("trustpub-it-timeout"), vec!["1.0.0"]);
}

/// 409: an error that shows the registry's message; not retried.
#[test]
fn conflict_shows_the_registry_message() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    reg.script_puts([Reply::status(
        409,
        "Document update conflict: another publish of trustpub-it-409 is in progress",
    )]);
    let pkg = simple(&sb, "pkg", "trustpub-it-409", "1.0.0");
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.expect_code(1);
    let (error, hint) = run.error_and_hint();
    assert!(
        error.contains("409 Conflict")
            && error.contains("another publish of trustpub-it-409 is in progress"),
        "{}",
        run.describe
    );
    assert!(
        hint.contains("another publish of this version"),
        "{}",
        run.describe
    );
    assert_eq!(reg.puts().len(), 1);
    assert!(reg.versions("trustpub-it-409").is_empty());
}

/// 401 with `www-authenticate: OTP`: the one-time-password message; with
/// `authUrl`/`doneUrl` in the body, the web flow's.
#[test]
fn one_time_password_challenges() {
    let sb = Sandbox::new();
    let pkg = simple(&sb, "pkg", "trustpub-it-otp", "1.0.0");

    let reg = fake(&sb);
    reg.script_puts([Reply::status(
        401,
        "You must provide a one-time pass. Upgrade your client to npm@latest in order to use 2FA.",
    )
    .header("www-authenticate", "OTP")]);
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.expect_code(1);
    let (_, hint) = run.error_and_hint();
    assert!(
        hint.contains(
            "requires a one-time password from your authenticator: run again with --otp=<code>"
        ),
        "{}",
        run.describe
    );
    assert_eq!(reg.puts().len(), 1);

    let reg = fake(&sb);
    let auth_url = "https://www.example.invalid/auth/cli/0f1e2d";
    reg.script_puts([Reply::status(401, "")
        .header("www-authenticate", "OTP")
        .body(
            &json!({ "authUrl": auth_url, "doneUrl": "https://registry.example.invalid/-/v1/done?id=0f1e2d" })
                .to_string(),
        )]);
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.expect_code(1);
    let (_, hint) = run.error_and_hint();
    assert!(
        hint.contains(&format!("open {auth_url} in a browser")),
        "{}",
        run.describe
    );
    assert_eq!(reg.puts().len(), 1);
}

/// 401, 403 and 404 are explained (404: the registry hides authorisation
/// failures behind it); no 4xx but 408/420/429 is ever retried.
#[test]
fn client_errors_are_explained_and_never_retried() {
    let sb = Sandbox::new();
    let pkg = simple(&sb, "pkg", "trustpub-it-4xx", "1.0.0");
    let cases: &[(u16, &str, &str)] = &[
        (400, "400 Bad Request", "see the registry's message"),
        (401, "401 Unauthorized", "did not accept the credential"),
        (402, "402 Payment Required", "--access public"),
        (403, "403 Forbidden", "may not publish this package"),
        (
            404,
            "404 Not Found",
            "the registry answers 404 instead of 403 when the credential may not publish trustpub-it-4xx@1.0.0",
        ),
        (413, "413 Payload Too Large", "see the registry's message"),
        (422, "422 Unprocessable Entity", "refused the document"),
    ];
    for (status, error_has, hint_has) in cases {
        let reg = fake(&sb);
        reg.script_puts([Reply::status(*status, &format!("registry says {status}"))]);
        let run = publish(&sb, &reg.url(), &pkg, &[]);
        run.expect_code(1).stderr_lacks("retry");
        let (error, hint) = run.error_and_hint();
        assert!(
            error.contains(error_has) && error.contains(&format!("registry says {status}")),
            "{status}: {}",
            run.describe
        );
        assert!(hint.contains(hint_has), "{status}: {}", run.describe);
        assert_eq!(reg.puts().len(), 1, "{status}: {:?}", reg.summary());
        assert!(reg.versions("trustpub-it-4xx").is_empty());
    }
}

/// A redirect of the PUT to another origin (here: another port) is refused,
/// and the credential never reaches the other registry.
#[test]
fn cross_origin_redirect_of_the_put_is_refused() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let elsewhere = FakeRegistry::start();
    let target = format!("{}trustpub-it-redirect", elsewhere.url());
    reg.script_puts([Reply::redirect(&target)]);
    let pkg = simple(&sb, "pkg", "trustpub-it-redirect", "1.0.0");
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.expect_code(1);
    let (error, hint) = run.error_and_hint();
    assert!(
        error.contains("redirected PUT") && error.contains(&target),
        "{}",
        run.describe
    );
    assert!(hint.contains("redirect target"), "{}", run.describe);
    assert_eq!(reg.puts().len(), 1);
    assert!(
        elsewhere
            .requests()
            .iter()
            .all(|r| r.header("authorization").is_none()),
        "the credential reached the other registry"
    );
    assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.summary());
    assert!(reg.versions("trustpub-it-redirect").is_empty());
}

// ---------------------------------------------------------------------------
// Item 6: lifecycle scripts

const EVENTS: &[&str] = &[
    "prepublish",
    "prepublishOnly",
    "prepack",
    "prepare",
    "postpack",
    "publish",
    "postpublish",
];

/// A package whose scripts append their names to `log`.
fn scripted(sb: &Sandbox, dir: &str, log: &Path, prepublish_only_exit: Option<i32>) -> PathBuf {
    let mut scripts = serde_json::Map::new();
    for e in EVENTS {
        let mut cmd = format!("echo {e} >> '{}'", log.display());
        if let (true, Some(code)) = (*e == "prepublishOnly", prepublish_only_exit) {
            cmd.push_str(&format!("; exit {code}"));
        }
        scripts.insert(e.to_string(), json!(cmd));
    }
    sb.package(
        dir,
        &json!({ "name": "trustpub-it-scripts", "version": "1.0.0", "scripts": scripts }),
        &[("index.js", "")],
    )
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// npm's order, checked against the real npm too: prepublishOnly, prepack,
/// prepare, postpack, the upload, then publish and postpublish.
#[test]
fn lifecycle_scripts_run_in_npm_order() {
    let sb = Sandbox::new();
    let ours_reg = FakeRegistry::start();
    let npm_reg = FakeRegistry::start();
    sb.write(
        &sb.user_npmrc(),
        &format!(
            "{}{}",
            Sandbox::token_line(&ours_reg.url(), &sb.token),
            Sandbox::token_line(&npm_reg.url(), &sb.token)
        ),
    );
    let want = [
        "prepublishOnly",
        "prepack",
        "prepare",
        "postpack",
        "<upload>",
        "publish",
        "postpublish",
    ];

    let our_log = sb.root.join("ours.log");
    ours_reg.log_uploads_to(our_log.clone());
    let pkg = scripted(&sb, "ours", &our_log, None);
    publish(&sb, &ours_reg.url(), &pkg, &[]).success();
    assert_eq!(lines(&our_log), want, "trustpub's order");

    let npm_log = sb.root.join("npm.log");
    npm_reg.log_uploads_to(npm_log.clone());
    let pkg = scripted(&sb, "npm", &npm_log, None);
    sb.npm(["publish"])
        .arg(&pkg)
        .args(["--registry", &npm_reg.url()])
        .run()
        .success();
    assert_eq!(lines(&npm_log), want, "npm's order");
}

#[test]
fn ignore_scripts_runs_none() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let log = sb.root.join("scripts.log");
    reg.log_uploads_to(log.clone());
    let pkg = scripted(&sb, "pkg", &log, None);
    publish(&sb, &reg.url(), &pkg, &["--ignore-scripts"]).success();
    assert_eq!(lines(&log), ["<upload>"]);
}

/// A `.tgz` runs no lifecycle script at all (npm runs them for
/// directories only), even though its package.json has them.
#[test]
fn tgz_publish_runs_no_scripts() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let log = sb.root.join("scripts.log");
    reg.log_uploads_to(log.clone());
    let pkg = scripted(&sb, "pkg", &log, None);
    let pack = sb
        .trustpub(["pack", "--json", "--ignore-scripts", "--pack-destination"])
        .arg(&sb.root)
        .arg(&pkg)
        .run();
    pack.success();
    let tgz = sb.root.join(pack.json()[0]["filename"].as_str().unwrap());
    publish(&sb, &reg.url(), &tgz, &[]).success();
    assert_eq!(lines(&log), ["<upload>"]);
}

#[test]
fn failing_prepublish_only_stops_before_the_upload() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let log = sb.root.join("scripts.log");
    reg.log_uploads_to(log.clone());
    let pkg = scripted(&sb, "pkg", &log, Some(7));
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    refused(
        &run,
        &reg,
        7,
        "the prepublishOnly script of trustpub-it-scripts@1.0.0 failed with exit code 7",
        "--ignore-scripts",
    );
    assert_eq!(lines(&log), ["prepublishOnly"]);
}

// ---------------------------------------------------------------------------
// Item 7: --dry-run, --json, the last line

/// `--dry-run` against a port nothing listens on: the version checks cannot
/// be made, so the dry run fails; `--dry-run --offline` knowingly skips the
/// network, says so in one line, and succeeds.
#[test]
fn dry_run_works_offline() {
    let sb = Sandbox::new();
    let registry = format!("http://127.0.0.1:{}/", closed_port());
    sb.login(&registry);
    let pkg = simple(&sb, "pkg", "trustpub-it-offline", "1.0.0");
    let run = publish(&sb, &registry, &pkg, &["--dry-run"]);
    run.expect_code(1)
        .stderr_has("dry run: could not check the published versions of trustpub-it-offline")
        .stderr_has("--offline");
    let run = publish(&sb, &registry, &pkg, &["--dry-run", "--offline"]);
    run.success().stderr_has(
        "offline dry run: no network; trusted publishing, the credential, the registry's version checks and provenance signing are not checked",
    );
    assert!(!run.stderr().contains("skipping"), "{}", run.describe);
    let last = run.last_stderr_line();
    assert!(
        last.contains(&format!(
            "dry run: would publish trustpub-it-offline@1.0.0 to {registry} with tag latest, authenticating with a token from"
        )) && last.ends_with("nothing was uploaded"),
        "{}",
        run.describe
    );
}

/// `--dry-run` does everything but the upload (every script runs, as with
/// npm, checked here against the real npm); `--json` prints npm's record
/// keyed by the package name, plus how and where it would publish.
#[test]
fn dry_run_json_uploads_nothing() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let log = sb.root.join("scripts.log");
    let pkg = scripted(&sb, "pkg", &log, None);
    let run = publish(&sb, &reg.url(), &pkg, &["--dry-run", "--json"]);
    run.success();
    assert!(reg.puts().is_empty(), "{:?}", reg.summary());
    assert!(reg.versions("trustpub-it-scripts").is_empty());
    let want = [
        "prepublishOnly",
        "prepack",
        "prepare",
        "postpack",
        "publish",
        "postpublish",
    ];
    assert_eq!(lines(&log), want, "trustpub's scripts in a dry run");
    let npm_log = sb.root.join("npm.log");
    let npm_pkg = scripted(&sb, "npm-pkg", &npm_log, None);
    sb.npm(["publish", "--dry-run", "--registry", &reg.url()])
        .arg(&npm_pkg)
        .run()
        .success();
    assert_eq!(lines(&npm_log), want, "npm's scripts in a dry run");
    assert!(reg.puts().is_empty(), "{:?}", reg.summary());
    let doc = run.json();
    let obj = doc.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["trustpub-it-scripts"]);
    let rec = &doc["trustpub-it-scripts"];
    for key in [
        "id",
        "name",
        "version",
        "size",
        "unpackedSize",
        "shasum",
        "integrity",
        "filename",
        "files",
        "entryCount",
        "bundled",
    ] {
        assert!(
            rec.get(key).is_some(),
            "--json lacks {key}: {}",
            run.describe
        );
    }
    assert_eq!(rec["id"], json!("trustpub-it-scripts@1.0.0"));
    assert_eq!(rec["registry"], json!(reg.url()));
    assert_eq!(rec["tag"], json!("latest"));
    assert_eq!(rec["access"], Value::Null);
    assert_eq!(rec["auth"], json!("token"));
    assert_eq!(rec["provenance"], json!(false));
}

/// The last human line says what was published, where, and with which
/// credential from where; standard output has npm's `+ name@version`.
#[test]
fn last_line_says_what_where_and_how() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let pkg = simple(&sb, "pkg", "trustpub-it-last-line", "1.2.3");
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.success();
    assert_eq!(run.stdout(), "+ trustpub-it-last-line@1.2.3\n");
    let want = format!(
        "trustpub notice published trustpub-it-last-line@1.2.3 to {} with tag latest, authenticated with a token from `//127.0.0.1:{}/:_authToken` in {}:1 (user config)",
        reg.url(),
        reg.port(),
        sb.user_npmrc().display()
    );
    assert_eq!(run.last_stderr_line(), want, "{}", run.describe);
}

// ---------------------------------------------------------------------------
// Item 8: a real registry, and the real npm installing from it

/// Rewrites the `name` in `<pkg>/package.json`.
fn rename(pkg: &Path, name: &str) {
    let path = pkg.join("package.json");
    let mut m: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    m["name"] = json!(name);
    fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

/// Every regular file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The files of a `.tgz`, relative to `package/`.
fn tgz_tree(tgz: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let ar = support::tar::parse(&gunzip(tgz));
    assert!(ar.error.is_none(), "bad tarball: {:?}", ar.error);
    ar.entries
        .iter()
        .filter(|e| e.typeflag == b'0' || e.typeflag == 0)
        .map(|e| {
            let p = e.path();
            (
                p.strip_prefix("package/").unwrap_or(&p).to_string(),
                e.data.clone(),
            )
        })
        .collect()
}

#[test]
fn verdaccio_publish_then_npm_install() {
    support::require_npm();
    let v = verdaccio::shared();
    let sb = Sandbox::new();
    let suffix = &sb.token[sb.token.len() - 8..];
    let token = v.add_user(&format!("tp-publish-{suffix}"));
    sb.add_secret(&token);
    sb.write(&sb.user_npmrc(), &Sandbox::token_line(&v.url, &token));

    // (fixture, new name, extra args, publish the .tgz)
    let cases = [
        (
            "unscoped",
            format!("trustpub-it-v-unscoped-{suffix}"),
            &[][..],
            false,
        ),
        (
            "scoped-public",
            format!("@trustpub-it/scoped-{suffix}"),
            &["--access", "public"][..],
            false,
        ),
        (
            "bin-string",
            format!("trustpub-it-v-bin-{suffix}"),
            &[][..],
            false,
        ),
        (
            "tarball",
            format!("@trustpub-it/tgz-{suffix}"),
            &["--access", "public"][..],
            true,
        ),
    ];
    let mut published = Vec::new();
    for (i, (fixture, name, args, as_tgz)) in cases.iter().enumerate() {
        let pkg = sb.fixture(fixture);
        rename(&pkg, name);
        let dest = sb.root.join(format!("packed-{i}"));
        fs::create_dir_all(&dest).unwrap();
        let pack = sb
            .trustpub(["pack", "--json", "--pack-destination"])
            .arg(&dest)
            .arg(&pkg)
            .run();
        pack.success();
        let tgz_path = dest.join(pack.json()[0]["filename"].as_str().unwrap());
        let tgz = fs::read(&tgz_path).unwrap();
        let target = if *as_tgz { tgz_path.clone() } else { pkg };
        let run = publish(&sb, &v.url, &target, &[&args[..], &["--json"]].concat());
        run.success();
        let integrity = run.json()[name.as_str()]["integrity"]
            .as_str()
            .unwrap_or_else(|| panic!("no integrity: {}", run.describe))
            .to_string();
        assert_eq!(
            integrity,
            sri_sha512(&tgz),
            "{name}: publish and pack differ"
        );
        let version = run.json()[name.as_str()]["version"]
            .as_str()
            .unwrap()
            .to_string();
        let stored = v.packument(name).expect("Verdaccio has it");
        assert_eq!(
            stored["versions"][&version]["dist"]["integrity"],
            json!(integrity),
            "{name}: Verdaccio's integrity"
        );
        published.push((name.clone(), integrity, tgz));
    }

    let consumer = sb.package(
        "consumer",
        &json!({ "name": "consumer", "version": "1.0.0", "private": true }),
        &[],
    );
    sb.npm(["install", "--registry", &v.url])
        .args(published.iter().map(|(n, _, _)| n.as_str()))
        .cwd(&consumer)
        .run()
        .success();
    let lock: Value =
        serde_json::from_str(&fs::read_to_string(consumer.join("package-lock.json")).unwrap())
            .unwrap();
    for (name, integrity, tgz) in &published {
        let entry = &lock["packages"][format!("node_modules/{name}")];
        assert_eq!(
            entry["integrity"],
            json!(integrity),
            "{name}: package-lock integrity"
        );
        let installed = tree(&consumer.join("node_modules").join(name));
        let packed = tgz_tree(tgz);
        assert_eq!(
            installed.keys().collect::<Vec<_>>(),
            packed.keys().collect::<Vec<_>>(),
            "{name}: installed files"
        );
        for (path, bytes) in &packed {
            assert!(
                installed[path] == *bytes,
                "{name}: {path} differs once installed"
            );
        }
    }
}
