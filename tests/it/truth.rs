//! What trustpub tells a newcomer must be true (issue #10 items 5–8): paths
//! and errors as typed, `--help` in the README's words, dry runs that fail
//! when the publish would, `--json` errors as npm prints them, and the
//! user-agent of npm-compatible clients.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::fake_registry::{FakeRegistry, Reply};
use crate::support::sandbox::Sandbox;
use crate::support::{manifest_dir, trustpub_bin};

/// `pack`, `publish` and `doctor` on a directory that does not exist say so,
/// instead of "no package.json in" it.
#[test]
fn a_missing_directory_is_called_missing() {
    let sb = Sandbox::new();
    let gone = sb.root.join("no-such-dir");
    for (cmd, says) in [
        (
            &["pack"][..],
            format!("directory not found: {}", gone.display()),
        ),
        (
            &["publish", "--dry-run", "--offline"][..],
            format!("{} does not exist", gone.display()),
        ),
        (
            &["doctor"][..],
            format!("directory not found: {}", gone.display()),
        ),
    ] {
        let run = sb.trustpub(cmd).arg(&gone).run();
        run.expect_code(2);
        assert!(run.stderr().contains(&says), "{}", run.describe);
        assert!(
            !run.stderr().contains("no package.json"),
            "{}",
            run.describe
        );
    }
}

/// The default directory `.` and a trailing `/` or `/.` are not printed:
/// `no package.json in /x`, never `/x/.` or `/x/`.
#[test]
fn paths_print_without_dot_or_trailing_slash() {
    let sb = Sandbox::new();
    let empty = sb.root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let want = format!("no package.json in {}\n", empty.display());
    let forms = [
        (vec![], true),
        (vec![format!("{}/", empty.display())], false),
        (vec![format!("{}/.", empty.display())], false),
        (vec!["./".to_string()], true),
    ];
    for sub in [
        &["pack"][..],
        &["publish", "--dry-run", "--offline"][..],
        &["doctor"][..],
    ] {
        for (extra, in_dir) in &forms {
            let mut tp = sb.trustpub(sub).args(extra);
            if *in_dir {
                tp = tp.cwd(&empty);
            }
            let run = tp.run();
            run.expect_code(2);
            assert!(run.stderr().contains(&want), "{}", run.describe);
        }
    }
}

/// Every `--option VALUE` of the README's synopses and option tables shows
/// in `--help` as `--option <VALUE>`; an `a|b|c` value lists those values.
#[test]
fn help_value_names_match_the_readme() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    let mut checked = 0;
    for sub in ["pack", "publish", "doctor"] {
        let out = Command::new(trustpub_bin())
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let help = String::from_utf8(out.stdout).unwrap();
        // `-w, --workspace <…>`: the long name is what the README shows.
        let options: BTreeSet<&str> = help
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("--") || l.starts_with('-'))
            .map(|l| match l.split_once(", --") {
                Some((short, _)) if !short.starts_with("--") => &l[short.len() + 2..],
                _ => l,
            })
            .collect();
        // The synopsis block: "trustpub <sub> …" up to the closing fence.
        let start = readme
            .find(&format!("```\ntrustpub {sub} "))
            .unwrap_or_else(|| panic!("README has no synopsis for {sub}"));
        let block = &readme[start + 4..];
        let block = &block[..block.find("```").unwrap()];
        let words: Vec<&str> = block
            .split(|c: char| c.is_whitespace() || c == '[' || c == ']')
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(2) {
            let (flag, value) = (pair[0], pair[1]);
            if !flag.starts_with("--") || value.starts_with("--") || value == "|" {
                continue;
            }
            let line = options
                .iter()
                .find(|l| l.starts_with(&format!("{flag} ")))
                .unwrap_or_else(|| {
                    panic!("{flag} VALUE in README, not in `{sub} --help`:\n{help}")
                });
            if value.contains('|') {
                let section = &help[help.find(*line).unwrap()..];
                let section = &section[..section.find("\n  -").unwrap_or(section.len())];
                for v in value.split('|') {
                    assert!(
                        section.contains(v),
                        "{flag}: README says {value}, help says:\n{section}"
                    );
                }
            } else {
                assert!(
                    line.starts_with(&format!("{flag} <{value}>")),
                    "{flag}: README says {value}, help says {line}"
                );
            }
            checked += 1;
        }
    }
    // The option tables' `--option VALUE` cells (`--trusted-publishing MODE`).
    for cell in readme.split('`') {
        let mut parts = cell.split(' ');
        let (Some(flag), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if !flag.starts_with("--")
            || value.is_empty()
            || !value.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        {
            continue;
        }
        let out = ["pack", "publish", "doctor"].map(|sub| {
            let o = Command::new(trustpub_bin())
                .args([sub, "--help"])
                .output()
                .unwrap();
            String::from_utf8(o.stdout).unwrap()
        });
        let with_flag: Vec<&String> = out
            .iter()
            .filter(|h| h.contains(&format!("{flag} <")))
            .collect();
        if with_flag.is_empty() {
            continue;
        }
        for h in with_flag {
            assert!(
                h.contains(&format!("{flag} <{value}>")),
                "README writes `{flag} {value}`; help:\n{h}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} README options checked");
}

/// A port nothing listens on (connections are refused).
fn refused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn simple(sb: &Sandbox, name: &str) -> std::path::PathBuf {
    sb.package(
        name,
        &serde_json::json!({ "name": name, "version": "1.0.0" }),
        &[("index.js", "module.exports = 1\n")],
    )
}

/// With no credential, a dry run fails as the publish would (npm's dry run
/// only warns); `--offline` skips that check and says so.
#[test]
fn dry_run_without_a_credential_fails_unless_offline() {
    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    let pkg = simple(&sb, "trustpub-truth-noauth");
    let run = sb
        .trustpub(["publish", "--dry-run", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    run.expect_code(2);
    assert!(
        run.stderr().contains("NODE_AUTH_TOKEN is not set"),
        "{}",
        run.describe
    );
    let run = sb
        .trustpub([
            "publish",
            "--dry-run",
            "--offline",
            "--registry",
            &reg.url(),
        ])
        .arg(&pkg)
        .run();
    run.expect_code(0);
    assert!(reg.requests().is_empty(), "{:?}", reg.summary());
}

/// In GitHub Actions without `id-token: write` and without a token, the
/// publish fails; so does the dry run (no green step with a red `::error::`).
#[test]
fn dry_run_fails_when_trusted_publishing_fails_in_ci() {
    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    let pkg = simple(&sb, "trustpub-truth-ci");
    let ci = |extra: &[&str]| {
        sb.trustpub(["publish", "--dry-run", "--registry", &reg.url()])
            .args(extra)
            .arg(&pkg)
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .run()
    };
    let run = ci(&[]);
    assert_ne!(run.code(), Some(0), "{}", run.describe);
    assert!(run.stderr().contains("::error"), "{}", run.describe);
    // --offline makes no trusted-publishing attempt and prints no error.
    let run = ci(&["--offline"]);
    run.expect_code(0);
    assert!(!run.stdout().contains("::error"), "{}", run.describe);
    assert!(!run.stderr().contains("error"), "{}", run.describe);
    assert!(
        !run.stderr().contains("trusted-publishing"),
        "{}",
        run.describe
    );
    assert!(reg.requests().is_empty(), "{:?}", reg.summary());
}

/// A registry that answers the packument read with a 500: the version checks
/// cannot be made, so the dry run fails (the publish only warns, as npm).
#[test]
fn dry_run_fails_when_the_version_checks_cannot_be_made() {
    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    sb.login(&reg.url());
    reg.script_gets([Some(Reply::status(500, "down"))]);
    let pkg = simple(&sb, "trustpub-truth-500");
    let run = sb
        .trustpub(["publish", "--dry-run", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    run.expect_code(1);
    assert!(
        run.stderr().contains(&format!(
            "dry run: could not check the published versions of trustpub-truth-500: GET {}",
            reg.url()
        )),
        "{}",
        run.describe
    );
    // --force skips the version checks in the publish too: nothing to check.
    reg.script_gets([Some(Reply::status(500, "down"))]);
    let run = sb
        .trustpub(["publish", "--dry-run", "--force", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    run.expect_code(0);
}

/// The README's first set-up command works with no network at all: an
/// offline dry run against a registry that refuses connections, no token.
#[test]
fn offline_dry_run_needs_no_network() {
    let sb = Sandbox::new();
    let registry = format!("http://127.0.0.1:{}/", refused_port());
    let pkg = simple(&sb, "trustpub-truth-offline");
    let run = sb
        .trustpub(["publish", "--dry-run", "--offline", "--provenance"])
        .args(["--registry", &registry])
        .arg(&pkg)
        .env("GITHUB_ACTIONS", "true")
        .run();
    run.expect_code(0);
    assert_eq!(
        run.stderr().matches("offline dry run: no network").count(),
        1,
        "{}",
        run.describe
    );
    assert!(!run.stderr().contains("warn"), "{}", run.describe);
    // --offline without --dry-run is a usage error.
    let run = sb
        .trustpub(["publish", "--offline", "--registry", &registry])
        .arg(&pkg)
        .run();
    run.expect_code(2);
}

/// The `{"error": {…}}` document of a failed `--json` run, or a panic.
fn json_error(run: &crate::support::sandbox::Run) -> serde_json::Map<String, serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(run.stdout())
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.describe));
    let top = v.as_object().expect("an object");
    assert_eq!(
        top.keys().collect::<Vec<_>>(),
        ["error"],
        "{}",
        run.describe
    );
    top["error"].as_object().expect("error object").clone()
}

/// `--json` failures print npm's error object on standard output, checked
/// against the real npm 11.19.1 on the same fake registry: the same keys
/// and the same code for ENEEDAUTH, E404 (the upload answered 404) and a
/// version that is already published; exit codes stay trustpub's.
#[test]
fn json_failures_print_npms_error_object() {
    let sb = Sandbox::new();
    // ENEEDAUTH: no credential.
    let reg = FakeRegistry::start();
    let pkg = simple(&sb, "trustpub-truth-json");
    let npm = sb
        .npm(["publish", "--json", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    let ours = sb
        .trustpub(["publish", "--json", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    ours.expect_code(2);
    let (n, o) = (json_error(&npm), json_error(&ours));
    assert_eq!(n["code"], "ENEEDAUTH", "{}", npm.describe);
    assert_eq!(o["code"], n["code"], "{}", ours.describe);
    assert_eq!(
        o.keys().collect::<Vec<_>>(),
        n.keys().collect::<Vec<_>>(),
        "{}",
        ours.describe
    );
    assert!(o["summary"].as_str().unwrap().contains(&reg.url()));
    assert!(o["detail"].as_str().unwrap().contains("NODE_AUTH_TOKEN"));

    // E404: the registry refuses the upload with a 404.
    sb.login(&reg.url());
    reg.script_puts([Reply::status(404, "Not found")]);
    let npm = sb
        .npm(["publish", "--json", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    reg.script_puts([Reply::status(404, "Not found")]);
    let ours = sb
        .trustpub(["publish", "--json", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    ours.expect_code(1);
    let (n, o) = (json_error(&npm), json_error(&ours));
    assert_eq!(n["code"], "E404", "{}", npm.describe);
    assert_eq!(o["code"], "E404", "{}", ours.describe);
    assert_eq!(o.keys().collect::<Vec<_>>(), n.keys().collect::<Vec<_>>());
    assert!(reg.versions("trustpub-truth-json").is_empty());

    // Already published: trustpub's pre-upload check says EPUBLISHCONFLICT
    // (npm's code for it); npm's own refusal here carries no code.
    let ok = sb
        .trustpub(["publish", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    ok.expect_code(0);
    let npm = sb
        .npm(["publish", "--json", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    let ours = sb
        .trustpub(["publish", "--json", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    ours.expect_code(1);
    let (n, o) = (json_error(&npm), json_error(&ours));
    assert_eq!(o["code"], "EPUBLISHCONFLICT", "{}", ours.describe);
    for k in n.keys() {
        assert!(
            o.contains_key(k),
            "npm has {k}, trustpub not: {}",
            ours.describe
        );
    }
}

/// A registry that echoes the token in its error: the JSON error is still
/// valid JSON and holds no secret (the sandbox checks every run's output).
#[test]
fn json_failure_output_is_scrubbed() {
    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    sb.login(&reg.url());
    let pkg = simple(&sb, "trustpub-truth-echo");
    reg.script_puts([Reply::status(
        400,
        &format!("bad token {}\n::error::injected\u{1b}[31m", sb.token),
    )]);
    let run = sb
        .trustpub(["publish", "--json", "--registry", &reg.url()])
        .arg(&pkg)
        .run();
    run.expect_code(1);
    let e = json_error(&run);
    assert_eq!(e["code"], "E400", "{}", run.describe);
    assert!(!run.stdout().contains(&sb.token));
    // Pack failures too: npm's EJSONPARSE for a broken package.json.
    let bad = sb.root.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("package.json"), "{\"name\": ").unwrap();
    let run = sb.trustpub(["pack", "--json"]).arg(&bad).run();
    run.expect_code(2);
    assert_eq!(json_error(&run)["code"], "EJSONPARSE", "{}", run.describe);
}

/// The keys named in `Unknown user config "<key>"` warnings.
fn unknown_keys(stderr: &str) -> BTreeSet<String> {
    stderr
        .split("Unknown user config \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

/// The "Unknown user config" warnings are the real npm 11.19.1's, key for
/// key: `nodedir` is unknown to npm 11.19.1 as published (npm warns), the
/// keys npm exports for scripts (`npm-version`…) are not, nor are defined
/// keys or the nerf-dart credential keys.
#[test]
fn unknown_config_warnings_match_npm() {
    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    let pkg = simple(&sb, "trustpub-truth-config");
    sb.write(
        &sb.user_npmrc(),
        &format!(
            "nodedir=/x\nnpm-version=1\nglobal-prefix=/g\ncolour=red\nfund=false\n//h.example/:always-auth=true\n//h.example/:email=a@b.c\nregistry={}\n",
            reg.url()
        ),
    );
    let npm = sb.npm(["config", "get", "registry"]).run();
    npm.expect_code(0);
    let ours = sb
        .trustpub(["publish", "--dry-run", "--offline"])
        .arg(&pkg)
        .run();
    ours.expect_code(0);
    let want = unknown_keys(npm.stderr());
    assert!(want.contains("colour"), "{}", npm.describe);
    assert_eq!(unknown_keys(ours.stderr()), want, "{}", ours.describe);
}

/// A usage error with `--json` still leaves valid JSON on standard output.
#[test]
fn json_usage_errors_are_json_too() {
    let sb = Sandbox::new();
    let pkg = simple(&sb, "trustpub-truth-usage");
    let run = sb
        .trustpub(["publish", "--json", "--offline"])
        .arg(&pkg)
        .run();
    run.expect_code(2);
    let e = json_error(&run);
    assert_eq!(e["code"], "EUSAGE", "{}", run.describe);
    assert!(
        e["summary"].as_str().unwrap().contains("--dry-run"),
        "{}",
        run.describe
    );
}
