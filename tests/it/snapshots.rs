//! Snapshots of the words users read (issue #12 item 4): every diagnosis,
//! error, hint, notice block, dry-run output, `--json` error object and
//! `doctor` report that the other modules provoke, as the user sees it, so
//! that a change of wording is a reviewed diff of a file under
//! `tests/it/snapshots/`.
//!
//! The scenarios are those of `pack_errors`, `publish`, `trusted`,
//! `provenance` and `truth`, built from the same support code (the
//! [`Sandbox`], the [`FakeRegistry`], the OIDC and Sigstore fakes and
//! Verdaccio through [`crate::trusted::World`]); those modules assert the behaviour (exit
//! codes, requests, what was stored), this one the text. Beyond those, it
//! provokes the configuration and network errors, unusable inputs and
//! registry answers, and runs `doctor` on every fixture of
//! `fixtures/doctor` that existed before [`crate::snapshots_faults`], which
//! shows the rest (TLS, Sigstore and id-token faults among them;
//! `scripts/snapshot-coverage` lists what no snapshot shows). Each snapshot holds
//! the exit code, standard output, standard error and, in CI scenarios, the
//! step summary, with what changes from run to run or machine to machine
//! replaced by a placeholder (see [`Redact`]): the sandbox directory,
//! ports, planted, exchanged and masked tokens, the run's unique package
//! names (and the sizes of a package.json holding one), times and
//! durations, the fake Rekor's random log index, and the sizes and digests
//! of gzip output.
//!
//! The words are snapshotted as the binary prints them, not from the
//! renderers inside `src/`: the restructuring of issue #12 moves printing
//! into one printer, and these snapshots are what must not change while it
//! does.
//!
//! A changed text fails the test with a diff; `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test --test it snapshots::` and `git diff`)
//! accepts it. In CI (`CI` set) insta writes nothing and fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::support::fake_registry::{FakeRegistry, Reply};
use crate::support::oidc_fakes::{ActionCheck, Fault, OidcIssuer, TrustPolicy};
use crate::support::sandbox::{Run, Sandbox};
use crate::support::sigstore_fakes::Sigstore;
use crate::trusted::World;

// ---------------------------------------------------------------------------
// Redaction and rendering

/// What to replace in a run's output before it is snapshotted: literal
/// strings (secrets, the sandbox path, unique names), then patterns.
pub(crate) struct Redact {
    literals: Vec<(String, String)>,
    /// Patterns of this scenario, applied before [`PATTERNS`].
    pub(crate) patterns: Vec<(&'static str, &'static str)>,
}

impl Redact {
    /// The sandbox's secrets and directory.
    pub(crate) fn new(sb: &Sandbox) -> Redact {
        let mut r = Redact {
            literals: Vec::new(),
            patterns: Vec::new(),
        };
        for s in sb.all_secrets() {
            r = r.secret(&s);
        }
        r.literal(&sb.root.display().to_string(), "[ROOT]")
    }

    /// `text` becomes `with`.
    pub(crate) fn literal(mut self, text: &str, with: &str) -> Redact {
        if !text.is_empty() {
            self.literals.push((text.to_string(), with.to_string()));
        }
        self
    }

    /// A secret becomes `[TOKEN]` (the leak checks already made sure it
    /// appears on `::add-mask::` lines only).
    pub(crate) fn secret(self, s: &str) -> Redact {
        self.literal(s, "[TOKEN]")
    }

    /// A trusted-publishing world: its secrets, the exchange proxy's and
    /// the issuer's addresses, and the package's unique name.
    pub(crate) fn world(w: &World) -> Redact {
        let mut r = Redact::new(&w.sb);
        for s in w.secrets() {
            r = r.secret(&s);
        }
        r.patterns.extend(UNIQUE_NAME_SIZES);
        r.literal(&w.name, "[PKG]")
    }

    fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Longest first, so that a path inside another is not cut in two.
        let mut lits: Vec<&(String, String)> = self.literals.iter().collect();
        lits.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        for (t, with) in lits {
            out = out.replace(t.as_str(), with);
        }
        for (pattern, with) in self.patterns.iter().chain(PATTERNS) {
            out = regex::Regex::new(pattern)
                .unwrap()
                .replace_all(&out, *with)
                .into_owned();
        }
        out
    }
}

/// The sizes of a package.json that holds a unique name
/// ([`crate::support::oidc_fakes::unique_name`]: its length changes with
/// the process id and a counter).
const UNIQUE_NAME_SIZES: &[(&str, &str)] = &[
    (r"\d+B package\.json", "[N]B package.json"),
    (r"unpacked size: [0-9.]+ [kMG]?B", "unpacked size: [SIZE]"),
    (r#""unpackedSize": \d+"#, r#""unpackedSize": [SIZE]"#),
    (
        r#""path": "package\.json",(\s*)"size": \d+"#,
        r#""path": "package.json",${1}"size": [N]"#,
    ),
];

/// Values that change between runs or machines, whatever the scenario.
const PATTERNS: &[(&str, &str)] = &[
    // Whatever trustpub masks is a secret, whether or not the test knows
    // it (the leak checks let it appear on its `::add-mask::` line only).
    (r"(?m)^::add-mask::.*$", "::add-mask::[TOKEN]"),
    // Loopback servers listen on ports chosen at run time.
    (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
    (r"localhost:\d+", "localhost:[PORT]"),
    // GitLab section markers carry the time.
    (r"section_(start|end):\d+:", "section_$1:[TIME]:"),
    // Times: RFC 3339 / ISO 8601, and Unix seconds in claims.
    (
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2}| UTC)?",
        "[TIME]",
    ),
    // How long ago a token expired, or until it expires: minutes pass
    // while the test runs.
    (
        r"\((in |expired )?\d+ (s|min|h|days)( ago)?\)",
        "(${1}[DURATION]${3})",
    ),
    // The fake Rekor's shard offset is random.
    (r"logIndex=\d+", "logIndex=[N]"),
    // What depends on the gzip bytes (the tar bytes are compared with npm's
    // elsewhere; the compressor's output may change with its version).
    // npm's notice shortens an integrity to `sha512-abc[...]xyz==`.
    (
        r"sha512-[A-Za-z0-9+/]+(\[\.\.\.\][A-Za-z0-9+/]+)?=*",
        "sha512-[DIGEST]",
    ),
    (r"package size: [0-9.]+ [kMG]?B", "package size: [SIZE]"),
    (
        r#""size": \d+,(\s*)"unpackedSize""#,
        r#""size": [SIZE],$1"unpackedSize""#,
    ),
    (r"\b[0-9a-f]{40}\b", "[SHA1]"),
    (r"\b[0-9a-f]{128}\b", "[SHA512]"),
];

/// A run as the user saw it, redacted: exit code, standard output,
/// standard error, and the step summary when there is one.
pub(crate) fn render(r: &Redact, run: &Run, summary: Option<&Path>) -> String {
    let mut s = format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        run.code()
            .map_or_else(|| "none (signal)".to_string(), |c| c.to_string()),
        ensure_newline(run.stdout()),
        ensure_newline(run.stderr()),
    );
    if let Some(p) = summary {
        let text = fs::read_to_string(p).unwrap_or_default();
        s.push_str("----- step summary -----\n");
        s.push_str(&ensure_newline(&text));
    }
    // Escape characters and carriage returns (GitLab's section markers)
    // shown, not sent to the terminal of whoever reads the snapshot.
    r.apply(&s).replace('\x1b', "<ESC>").replace('\r', "<CR>")
}

fn ensure_newline(s: &str) -> String {
    if s.is_empty() || s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n[no newline at the end]\n")
    }
}

/// Several runs of one scenario in one snapshot, each under a heading.
#[derive(Default)]
pub(crate) struct Shots(pub(crate) String);

impl Shots {
    pub(crate) fn add(&mut self, heading: &str, text: String) {
        if !self.0.is_empty() {
            self.0.push('\n');
        }
        self.0.push_str(&format!("===== {heading} =====\n{text}"));
    }
}

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

// ---------------------------------------------------------------------------
// `trustpub pack`: the cases of `pack_errors`

/// A package in the sandbox made of `files`, and an empty destination.
fn pack_case(sb: &Sandbox, dir: &str, files: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    let pkg = sb.root.join(dir).join("pkg");
    let out = sb.root.join(dir).join("out");
    fs::create_dir_all(&pkg).unwrap();
    fs::create_dir_all(&out).unwrap();
    for (path, body) in files {
        sb.write(&pkg.join(path), body);
    }
    (pkg, out)
}

fn pack(sb: &Sandbox, pkg: &Path, out: &Path, extra: &[&str]) -> Run {
    sb.trustpub(["pack"])
        .arg(pkg)
        .arg("--pack-destination")
        .arg(out)
        .args(extra)
        .run()
}

/// Each bad `package.json` and `files` entry, one after the other.
#[test]
fn pack_manifest_errors() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let mut cases: Vec<(String, Vec<(&str, String)>)> = vec![
        ("no package.json".into(), vec![("index.js", "x".into())]),
        (
            "malformed JSON".into(),
            vec![(
                "package.json",
                "{\n  \"name\": \"x\",\n  \"version\": \"1.0.0\",\n}\n".into(),
            )],
        ),
        (
            "not an object".into(),
            vec![("package.json", "[1, 2]".into())],
        ),
        (
            "no name".into(),
            vec![("package.json", r#"{"version":"1.0.0"}"#.into())],
        ),
        (
            "no version".into(),
            vec![("package.json", r#"{"name":"ok"}"#.into())],
        ),
        (
            "name is a number".into(),
            vec![("package.json", r#"{"name":7,"version":"1.0.0"}"#.into())],
        ),
        (
            "files outside the package".into(),
            vec![
                (
                    "package.json",
                    r#"{"name":"ok","version":"1.0.0","files":["../secret.txt"]}"#.into(),
                ),
                ("index.js", "x".into()),
            ],
        ),
        (
            "files not an array".into(),
            vec![(
                "package.json",
                r#"{"name":"ok","version":"1.0.0","files":"lib"}"#.into(),
            )],
        ),
    ];
    for name in ["Bad Name", ".hidden", "_under", "node_modules", " padded"] {
        cases.push((
            format!("name {name:?}"),
            vec![(
                "package.json",
                format!(r#"{{"name":{name:?},"version":"1.0.0"}}"#),
            )],
        ));
    }
    for v in ["1.0", "one", "1.0.0.0", "latest"] {
        cases.push((
            format!("version {v:?}"),
            vec![(
                "package.json",
                format!(r#"{{"name":"ok","version":{v:?}}}"#),
            )],
        ));
    }
    for (i, (heading, files)) in cases.iter().enumerate() {
        let files: Vec<(&str, &str)> = files.iter().map(|(p, b)| (*p, b.as_str())).collect();
        let (pkg, out) = pack_case(&sb, &format!("case{i}"), &files);
        let run = pack(&sb, &pkg, &out, &[]);
        assert_eq!(run.code(), Some(2), "{heading}:\n{}", run.describe);
        shots.add(heading, render(&r, &run, None));
    }
    snap!("pack_manifest_errors", shots.0);
}

/// A file trustpub cannot read is named with the system's reason. As root,
/// the run drops to `nobody` (as `pack_errors` does) so that the mode bites.
#[test]
fn pack_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let (pkg, out) = pack_case(
        &sb,
        "case",
        &[
            ("package.json", r#"{"name":"ok","version":"1.0.0"}"#),
            ("secret.js", "x"),
        ],
    );
    fs::set_permissions(pkg.join("secret.js"), fs::Permissions::from_mode(0o000)).unwrap();
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let run = if is_root {
        for dir in [&sb.root, &sb.root.join("case"), &pkg, &out, &sb.home] {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
        }
        let setpriv = Path::new("/usr/bin/setpriv");
        assert!(
            setpriv.exists(),
            "this test runs as root and needs setpriv (util-linux) to drop privileges; install util-linux"
        );
        let mut cmd = Command::new(setpriv);
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(crate::support::trustpub_bin())
            .arg("pack")
            .arg(&pkg)
            .arg("--pack-destination")
            .arg(&out);
        crate::support::apply_env(&mut cmd, &sb.home);
        cmd.env("npm_config_globalconfig", &sb.globalconfig)
            .current_dir(&sb.root);
        let out = crate::support::run(cmd, &sb.root, "unreadable");
        Run {
            describe: out.describe(),
            out,
        }
    } else {
        pack(&sb, &pkg, &out, &[])
    };
    assert_eq!(run.code(), Some(1), "{}", run.describe);
    snap!("pack_unreadable_file", render(&r, &run, None));
}

/// A failing prepack (its banner, its output, the error), a failing
/// postpack, a destination that does not exist, an unknown flag.
#[test]
fn pack_script_and_usage_errors() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();

    let (pkg, out) = pack_case(
        &sb,
        "prepack",
        &[(
            "package.json",
            r#"{"name":"ok","version":"1.0.0","scripts":{"prepack":"echo preparing; exit 3"}}"#,
        )],
    );
    let run = pack(&sb, &pkg, &out, &[]);
    run.expect_code(3);
    shots.add("prepack exits 3", render(&r, &run, None));

    let (pkg, out) = pack_case(
        &sb,
        "postpack",
        &[(
            "package.json",
            r#"{"name":"ok","version":"1.0.0","scripts":{"postpack":"exit 4"}}"#,
        )],
    );
    let run = pack(&sb, &pkg, &out, &[]);
    run.expect_code(4);
    shots.add("postpack exits 4", render(&r, &run, None));

    let (pkg, out) = pack_case(
        &sb,
        "dest",
        &[("package.json", r#"{"name":"ok","version":"1.0.0"}"#)],
    );
    let run = pack(&sb, &pkg, &out.join("nope"), &[]);
    run.expect_code(2);
    shots.add("missing destination", render(&r, &run, None));

    let run = sb.trustpub(["pack", "--no-such-flag"]).run();
    run.expect_code(2);
    shots.add("unknown flag", render(&r, &run, None));

    snap!("pack_script_and_usage_errors", shots.0);
}

/// `pack --dry-run`: npm's notice block on standard error, the file name
/// on standard output; and `--json` for the same package.
#[test]
fn pack_dry_run() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let (pkg, out) = pack_case(
        &sb,
        "dry",
        &[
            (
                "package.json",
                r#"{"name":"ok","version":"1.0.0","bin":{"ok":"a.js"}}"#,
            ),
            ("a.js", "#!/usr/bin/env node\nconsole.log(1)\n"),
            ("README.md", "# ok\n"),
            ("lib/b.js", "module.exports = 2\n"),
        ],
    );
    let run = pack(&sb, &pkg, &out, &["--dry-run"]);
    run.success();
    shots.add("--dry-run", render(&r, &run, None));
    let run = pack(&sb, &pkg, &out, &["--dry-run", "--json"]);
    run.success();
    shots.add("--dry-run --json", render(&r, &run, None));
    snap!("pack_dry_run", shots.0);
}

// ---------------------------------------------------------------------------
// `trustpub publish` against the fake registry: the cases of `publish`

/// A small package made at run time (as in `publish`).
pub(crate) fn simple(sb: &Sandbox, dir: &str, name: &str, version: &str) -> PathBuf {
    sb.package(
        dir,
        &json!({ "name": name, "version": version, "description": "made by the snapshot tests" }),
        &[
            ("index.js", "module.exports = 1\n"),
            ("README.md", "# hi\n"),
        ],
    )
}

/// A fake registry the user npmrc has the planted token for.
pub(crate) fn fake(sb: &Sandbox) -> FakeRegistry {
    let r = FakeRegistry::start();
    sb.login(&r.url());
    r
}

fn publish(sb: &Sandbox, registry: &str, target: &Path, extra: &[&str]) -> Run {
    sb.trustpub(["publish"])
        .arg(target)
        .arg("--registry")
        .arg(registry)
        .args(extra)
        .run()
}

/// The checks before any upload: private, a semver-range tag, a
/// prerelease without a tag, a latest downgrade, restricted access on an
/// unscoped name, an unexpanded `${NODE_AUTH_TOKEN}`, a failing
/// prepublishOnly.
#[test]
fn publish_refusals() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let mut refused = |heading: &str, run: Run, code: i32| {
        run.expect_code(code);
        shots.add(heading, render(&r, &run, None));
    };

    let pkg = sb.package(
        "private",
        &json!({ "name": "trustpub-snap-private", "version": "1.0.0", "private": true }),
        &[],
    );
    refused("private", publish(&sb, &reg.url(), &pkg, &[]), 2);

    let pkg = simple(&sb, "tag", "trustpub-snap-tag", "1.0.0");
    refused(
        "--tag 1.x",
        publish(&sb, &reg.url(), &pkg, &["--tag", "1.x"]),
        2,
    );

    let pkg = simple(&sb, "pre", "trustpub-snap-prerelease", "2.0.0-beta.1");
    refused("prerelease", publish(&sb, &reg.url(), &pkg, &[]), 2);

    reg.seed(
        "trustpub-snap-downgrade",
        "2.0.0",
        "sha512-AAAA",
        Some("latest"),
    );
    let pkg = simple(&sb, "down", "trustpub-snap-downgrade", "1.5.0");
    refused("latest downgrade", publish(&sb, &reg.url(), &pkg, &[]), 2);

    let pkg = simple(&sb, "restricted", "trustpub-snap-restricted", "1.0.0");
    refused(
        "--access restricted, unscoped",
        publish(&sb, &reg.url(), &pkg, &["--access", "restricted"]),
        2,
    );

    let pkg = sb.package(
        "scripts",
        &json!({
            "name": "trustpub-snap-scripts",
            "version": "1.0.0",
            "scripts": { "prepublishOnly": "echo checking; exit 7" }
        }),
        &[("index.js", "")],
    );
    refused(
        "prepublishOnly exits 7",
        publish(&sb, &reg.url(), &pkg, &[]),
        7,
    );

    // Last: it replaces the user npmrc.
    sb.write(
        &sb.user_npmrc(),
        &Sandbox::token_line(&reg.url(), "${NODE_AUTH_TOKEN}"),
    );
    let pkg = simple(&sb, "unexpanded", "trustpub-snap-unexpanded", "1.0.0");
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .env_remove("NODE_AUTH_TOKEN")
        .run();
    refused("unexpanded ${NODE_AUTH_TOKEN}", run, 2);

    assert!(reg.puts().is_empty(), "{:?}", reg.summary());
    snap!("publish_refusals", shots.0);
}

/// A version already on the registry (E-version-exists before the upload):
/// the same tarball and a different one, refused and with
/// `--tolerate-republish`.
#[test]
fn publish_already_published() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let pkg = simple(&sb, "pkg", "trustpub-snap-republish", "1.0.0");
    publish(&sb, &reg.url(), &pkg, &[]).success();
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.expect_code(1);
    shots.add("the same tarball", render(&r, &run, None));
    let run = publish(&sb, &reg.url(), &pkg, &["--tolerate-republish"]);
    run.success();
    shots.add("the same tarball, tolerated", render(&r, &run, None));

    reg.seed(
        "trustpub-snap-other",
        "1.0.0",
        "sha512-AAAA",
        Some("latest"),
    );
    let other = simple(&sb, "other", "trustpub-snap-other", "1.0.0");
    let run = publish(&sb, &reg.url(), &other, &[]);
    run.expect_code(1);
    shots.add("a different tarball", render(&r, &run, None));
    let run = publish(&sb, &reg.url(), &other, &["--tolerate-republish"]);
    run.success();
    shots.add("a different tarball, tolerated", render(&r, &run, None));
    assert_eq!(reg.puts().len(), 1, "{:?}", reg.summary());
    snap!("publish_already_published", shots.0);
}

/// The registry refuses the upload: each 4xx the registry answers, a 409
/// conflict, a cross-origin redirect.
#[test]
fn publish_registry_errors() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let pkg = simple(&sb, "pkg", "trustpub-snap-4xx", "1.0.0");
    for status in [400, 401, 402, 403, 404, 409, 413, 422] {
        let reg = fake(&sb);
        reg.script_puts([Reply::status(status, &format!("registry says {status}"))]);
        let run = publish(&sb, &reg.url(), &pkg, &[]);
        run.expect_code(1);
        shots.add(&format!("{status}"), render(&r, &run, None));
    }
    let reg = fake(&sb);
    let elsewhere = FakeRegistry::start();
    reg.script_puts([Reply::redirect(&format!(
        "{}trustpub-snap-4xx",
        elsewhere.url()
    ))]);
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.expect_code(1);
    shots.add("redirect to another origin", render(&r, &run, None));
    snap!("publish_registry_errors", shots.0);
}

/// 401 with `www-authenticate: OTP`: an authenticator code, or the web
/// flow when the body has `authUrl`/`doneUrl`.
#[test]
fn publish_one_time_password() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let pkg = simple(&sb, "pkg", "trustpub-snap-otp", "1.0.0");
    let reg = fake(&sb);
    reg.script_puts([Reply::status(
        401,
        "You must provide a one-time pass. Upgrade your client to npm@latest in order to use 2FA.",
    )
    .header("www-authenticate", "OTP")]);
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.expect_code(1);
    shots.add("authenticator", render(&r, &run, None));

    let reg = fake(&sb);
    reg.script_puts([Reply::status(401, "")
        .header("www-authenticate", "OTP")
        .body(
            &json!({
                "authUrl": "https://www.example.invalid/auth/cli/0f1e2d",
                "doneUrl": "https://registry.example.invalid/-/v1/done?id=0f1e2d"
            })
            .to_string(),
        )]);
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.expect_code(1);
    shots.add("web flow", render(&r, &run, None));
    snap!("publish_one_time_password", shots.0);
}

/// The notices of a successful publish: a retried 503, a 502 after the
/// registry stored it, and the last line for an npmrc token and for
/// `NODE_AUTH_TOKEN`.
#[test]
fn publish_success_notices() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();

    let reg = fake(&sb);
    let pkg = simple(&sb, "plain", "trustpub-snap-plain", "1.2.3");
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.success();
    shots.add("npmrc token", render(&r, &run, None));

    reg.script_puts([Reply::status(503, "try again later")]);
    let pkg = simple(&sb, "retry", "trustpub-snap-503", "1.0.0");
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.success();
    shots.add("503, then stored", render(&r, &run, None));

    reg.script_puts([Reply::status(502, "bad gateway").stored()]);
    let pkg = simple(&sb, "stored", "trustpub-snap-502", "1.0.0");
    let run = publish(&sb, &reg.url(), &pkg, &[]);
    run.success();
    shots.add("502 after storing it", render(&r, &run, None));

    let reg = FakeRegistry::start();
    sb.write(&sb.user_npmrc(), "");
    let pkg = simple(&sb, "env", "trustpub-snap-env", "1.0.0");
    let run = sb
        .trustpub(["publish"])
        .arg(&pkg)
        .args(["--registry", &reg.url()])
        .env("NODE_AUTH_TOKEN", &sb.token)
        .run();
    run.success();
    shots.add("NODE_AUTH_TOKEN", render(&r, &run, None));
    snap!("publish_success_notices", shots.0);
}

/// Dry runs: with the registry's checks, as `--json`, offline, and failing
/// when the registry cannot be reached or there is no credential.
#[test]
fn publish_dry_runs() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let reg = fake(&sb);
    let pkg = simple(&sb, "pkg", "trustpub-snap-dry", "1.0.0");
    let run = publish(&sb, &reg.url(), &pkg, &["--dry-run"]);
    run.success();
    shots.add("--dry-run", render(&r, &run, None));
    let run = publish(&sb, &reg.url(), &pkg, &["--dry-run", "--json"]);
    run.success();
    shots.add("--dry-run --json", render(&r, &run, None));
    let run = publish(&sb, &reg.url(), &pkg, &["--dry-run", "--offline"]);
    run.success();
    shots.add("--dry-run --offline", render(&r, &run, None));

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/", l.local_addr().unwrap().port())
    };
    sb.login(&closed);
    let run = publish(&sb, &closed, &pkg, &["--dry-run"]);
    run.expect_code(1);
    shots.add("--dry-run, registry unreachable", render(&r, &run, None));

    sb.write(&sb.user_npmrc(), "");
    let run = publish(&sb, &reg.url(), &pkg, &["--dry-run"]);
    run.expect_code(2);
    shots.add("--dry-run, no credential", render(&r, &run, None));
    assert!(reg.puts().is_empty(), "{:?}", reg.summary());
    snap!("publish_dry_runs", shots.0);
}

/// `--json` failures: npm's error object on standard output (ENEEDAUTH,
/// E404, EPUBLISHCONFLICT, a registry message with a token and control
/// characters in it, EJSONPARSE, EUSAGE).
#[test]
fn json_error_objects() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let reg = FakeRegistry::start();
    let pkg = simple(&sb, "pkg", "trustpub-snap-json", "1.0.0");
    let json_publish = |sb: &Sandbox| {
        sb.trustpub(["publish", "--json", "--registry", &reg.url()])
            .arg(&pkg)
            .run()
    };

    let run = json_publish(&sb);
    run.expect_code(2);
    shots.add("ENEEDAUTH", render(&r, &run, None));

    sb.login(&reg.url());
    reg.script_puts([Reply::status(404, "Not found")]);
    let run = json_publish(&sb);
    run.expect_code(1);
    shots.add("E404", render(&r, &run, None));

    reg.script_puts([Reply::status(
        400,
        &format!("bad token {}\n::error::injected\u{1b}[31m", sb.token),
    )]);
    let run = json_publish(&sb);
    run.expect_code(1);
    shots.add("E400, scrubbed", render(&r, &run, None));

    publish(&sb, &reg.url(), &pkg, &[]).success();
    let run = json_publish(&sb);
    run.expect_code(1);
    shots.add("EPUBLISHCONFLICT", render(&r, &run, None));

    let bad = sb.root.join("bad");
    sb.write(&bad.join("package.json"), "{\"name\": ");
    let run = sb.trustpub(["pack", "--json"]).arg(&bad).run();
    run.expect_code(2);
    shots.add("EJSONPARSE", render(&r, &run, None));

    let run = sb
        .trustpub(["publish", "--json", "--offline"])
        .arg(&pkg)
        .run();
    run.expect_code(2);
    shots.add("EUSAGE", render(&r, &run, None));
    snap!("json_error_objects", shots.0);
}

/// A directory that does not exist, for each command.
#[test]
fn missing_directory() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let gone = sb.root.join("no-such-dir");
    for cmd in [
        &["pack"][..],
        &["publish", "--dry-run", "--offline"][..],
        &["doctor"][..],
    ] {
        let run = sb.trustpub(cmd).arg(&gone).run();
        run.expect_code(2);
        shots.add(&cmd.join(" "), render(&r, &run, None));
    }
    snap!("missing_directory", shots.0);
}

// ---------------------------------------------------------------------------
// Trusted publishing: the diagnoses of `trusted`, with the step summary

/// A run in a trusted-publishing world, its leaks checked, rendered with
/// the step summary when the run had one.
pub(crate) fn world_shot(w: &World, run: &Run, code: i32, summary: bool) -> String {
    crate::trusted::expect_code(w, run, code);
    w.check_leaks(run);
    let summary = summary.then_some(w.summary.as_path());
    render(&Redact::world(w), run, summary)
}

#[test]
fn trusted_missing_id_token_permission() {
    let w = World::github("snap-perm");
    let run = w
        .publish_on_github()
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .args(["--trusted-publishing", "always"])
        .run();
    snap!(
        "trusted_missing_id_token_permission",
        world_shot(&w, &run, 2, true)
    );
}

#[test]
fn trusted_wrong_workflow_file() {
    let w = World::github("snap-wf");
    w.run_in("widgets", "ci.yml");
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    snap!("trusted_wrong_workflow_file", world_shot(&w, &run, 1, true));
}

#[test]
fn trusted_owner_case_mismatch() {
    let w = World::github("snap-case");
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("Acme", "widgets", "release.yml"),
    );
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    snap!("trusted_owner_case_mismatch", world_shot(&w, &run, 1, true));
}

#[test]
fn trusted_expired_id_token() {
    let w = World::gitlab("snap-exp");
    let id = w.gitlab_id_token(&w.proxy.audience(), true);
    let run = w
        .publish_with_id_token("GITLAB_CI", &id)
        .args(["--trusted-publishing", "always"])
        .run();
    snap!("trusted_expired_id_token", world_shot(&w, &run, 1, false));
}

#[test]
fn trusted_wrong_audience() {
    let w = World::gitlab("snap-aud");
    let id = w.gitlab_id_token("npm:registry.npmjs.org", false);
    let run = w
        .publish_with_id_token("GITLAB_CI", &id)
        .args(["--trusted-publishing", "always"])
        .run();
    snap!("trusted_wrong_audience", world_shot(&w, &run, 1, false));
}

#[test]
fn trusted_gitlab_without_npm_id_token() {
    let w = World::gitlab("snap-none");
    let run = w
        .publish_with_id_token("GITLAB_CI", "")
        .env_remove("NPM_ID_TOKEN")
        .env("CI_JOB_NAME", "release")
        .args(["--trusted-publishing", "always"])
        .run();
    snap!(
        "trusted_gitlab_without_npm_id_token",
        world_shot(&w, &run, 2, false)
    );
}

/// `auto` mode: the warning and the fallback to `NODE_AUTH_TOKEN`, and the
/// error when there is no token to fall back to.
#[test]
fn trusted_fallback_warning() {
    let w = World::github("snap-fallback");
    w.run_in("widgets", "ci.yml");
    let token = w.fallback_token();
    let run = w.publish_on_github().env("NODE_AUTH_TOKEN", &token).run();
    let mut shots = Shots::default();
    shots.add("with NODE_AUTH_TOKEN", world_shot(&w, &run, 0, true));
    let _ = fs::remove_file(&w.summary);
    let run = w.publish_on_github().run();
    shots.add("without a token", world_shot(&w, &run, 1, true));
    snap!("trusted_fallback_warning", shots.0);
}

#[test]
fn trusted_403_allowed_actions() {
    let w = World::github("snap-403");
    w.proxy.set_action_check(ActionCheck::AtExchange);
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "widgets", "release.yml").allow(false, true),
    );
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    snap!("trusted_403_allowed_actions", world_shot(&w, &run, 1, true));
}

#[test]
fn trusted_package_not_on_the_registry() {
    let w = World::new(OidcIssuer::github(), "snap-new", false);
    w.run_in("widgets", "release.yml");
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    snap!(
        "trusted_package_not_on_the_registry",
        world_shot(&w, &run, 1, true)
    );
}

#[test]
fn trusted_reusable_workflow() {
    let w = World::github("snap-reuse");
    let claims = w
        .issuer
        .github_claims("acme", "widgets", "release.yml")
        .visibility("private")
        .reusable_workflow("acme/shared", "publish.yml", "refs/heads/main")
        .self_hosted()
        .build();
    w.issuer.set_job(claims);
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "widgets", "publish.yml"),
    );
    let run = w
        .publish_on_github()
        .args(["--trusted-publishing", "always"])
        .run();
    snap!("trusted_reusable_workflow", world_shot(&w, &run, 1, true));
}

/// Usage errors: `always` outside CI, and with `CI=false`.
#[test]
fn trusted_always_outside_ci() {
    let w = World::github("snap-no-ci");
    let mut shots = Shots::default();
    let run =
        w.sb.trustpub(["publish"])
            .arg(&w.pkg)
            .args([
                "--registry",
                &w.proxy.url(),
                "--trusted-publishing",
                "always",
            ])
            .run();
    shots.add("outside CI", world_shot(&w, &run, 2, false));
    let run = w
        .publish_on_github()
        .env("CI", "false")
        .args(["--trusted-publishing", "always"])
        .run();
    shots.add("CI=false", world_shot(&w, &run, 2, false));
    snap!("trusted_always_outside_ci", shots.0);
}

/// A dry run in a repository other than package.json's, and a registry
/// without npm's token exchange.
#[test]
fn trusted_notes() {
    let w = World::github("snap-repo");
    w.run_in("gadgets", "release.yml");
    w.proxy.trust(
        &w.name,
        TrustPolicy::github("acme", "gadgets", "release.yml"),
    );
    let mut shots = Shots::default();
    let run = w.publish_on_github().arg("--dry-run").run();
    shots.add(
        "repository field names another repository",
        world_shot(&w, &run, 0, true),
    );

    let w = World::github("snap-no-exchange");
    let registry = FakeRegistry::start();
    w.sb.login(&registry.url());
    let run = w
        .github_env(w.sb.trustpub(["publish"]))
        .arg(&w.pkg)
        .args(["--registry", &registry.url()])
        .run();
    shots.add(
        "registry without the exchange",
        world_shot(&w, &run, 0, true),
    );
    snap!("trusted_notes", shots.0);
}

/// Successful trusted publishes: GitHub (with retried id-token requests),
/// a GitHub dry run in a public repository as `--json`, GitLab.
#[test]
fn trusted_successes() {
    let mut shots = Shots::default();
    let w = World::github("snap-gh-ok");
    w.issuer
        .push_faults([Fault::Status(500), Fault::Status(503)]);
    let run = w.publish_on_github().run();
    shots.add(
        "GitHub, the id token after two 5xx",
        world_shot(&w, &run, 0, true),
    );

    let w = World::github("snap-gh-dry");
    w.issuer.set_job(
        w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .build(),
    );
    let run = w.publish_on_github().args(["--dry-run", "--json"]).run();
    shots.add(
        "GitHub, public repository, --dry-run --json",
        world_shot(&w, &run, 0, true),
    );

    let w = World::gitlab("snap-gl-ok");
    let id = w.gitlab_id_token(&w.proxy.audience(), false);
    let run = w
        .publish_with_id_token("GITLAB_CI", &id)
        .args(["--trusted-publishing", "always"])
        .run();
    shots.add("GitLab", world_shot(&w, &run, 0, false));
    snap!("trusted_successes", shots.0);
}

/// Tokens instead: `never` (a dry run), and the placeholder setup-node
/// writes, refused after a failed exchange.
#[test]
fn trusted_token_modes() {
    let mut shots = Shots::default();
    let w = World::github("snap-never");
    let token = w.fallback_token();
    let run = w
        .publish_on_github()
        .env("NODE_AUTH_TOKEN", &token)
        .args(["--dry-run", "--trusted-publishing", "never"])
        .run();
    shots.add("--trusted-publishing never", world_shot(&w, &run, 0, true));

    let w = World::github("snap-placeholder");
    w.run_in("widgets", "ci.yml");
    let npmrc = w.sb.root.join("setup-node.npmrc");
    w.sb.write(
        &npmrc,
        &format!(
            "{}always-auth=false\n",
            Sandbox::token_line(&w.proxy.url(), "${NODE_AUTH_TOKEN}")
        ),
    );
    let run = w
        .publish_on_github()
        .env("NPM_CONFIG_USERCONFIG", &npmrc)
        .env("NODE_AUTH_TOKEN", "XXXXX-XXXXX-XXXXX-XXXXX")
        .run();
    shots.add(
        "placeholder token after a refused exchange",
        world_shot(&w, &run, 2, true),
    );
    snap!("trusted_token_modes", shots.0);
}

/// A GitHub publish with the variables npm's statement reads, signing
/// with the fake Fulcio and Rekor.
pub(crate) fn provenance_job<'a>(w: &'a World, sig: &Sigstore) -> crate::support::sandbox::Tp<'a> {
    w.publish_on_github()
        .env("GITHUB_REPOSITORY", "acme/widgets")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_SHA", "d782c874402305a00adcd10a58001c708039c0d0")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_RUN_ID", "420342961")
        .env("GITHUB_RUN_ATTEMPT", "1")
        .env("RUNNER_ENVIRONMENT", "github-hosted")
        .args(["--fulcio-url", &sig.fulcio.url()])
        .args(["--rekor-url", &sig.rekor.url()])
}

/// Provenance: signed, skipped in one line, and `--provenance` refused on
/// a self-hosted runner before anything reaches the log (the scenarios of
/// `provenance`).
#[test]
fn provenance_notices() {
    let mut shots = Shots::default();
    let public_github = |label: &str| {
        let w = World::github(label);
        w.issuer.set_job(
            w.issuer
                .github_claims("acme", "widgets", "release.yml")
                .build(),
        );
        let sig = Sigstore::start(&[&w.issuer]);
        (w, sig)
    };

    let (w, sig) = public_github("snap-prov-ok");
    let run = provenance_job(&w, &sig).run();
    assert_eq!(sig.rekor.entries().len(), 1);
    shots.add("signed", world_shot(&w, &run, 0, true));

    let (w, sig) = public_github("snap-prov-skip");
    let run = provenance_job(&w, &sig)
        .env("GITHUB_REPOSITORY", "acme/gadgets")
        .run();
    assert!(sig.fulcio.signing_requests().is_empty());
    shots.add("skipped", world_shot(&w, &run, 0, true));

    let (w, sig) = public_github("snap-prov-self-hosted");
    w.issuer.set_job(
        w.issuer
            .github_claims("acme", "widgets", "release.yml")
            .self_hosted()
            .build(),
    );
    let run = provenance_job(&w, &sig).arg("--provenance").run();
    assert!(sig.rekor.entries().is_empty());
    shots.add(
        "--provenance on a self-hosted runner",
        world_shot(&w, &run, 2, true),
    );
    snap!("provenance_notices", shots.0);
}

// ---------------------------------------------------------------------------
// `trustpub doctor`

/// In CI against the exchange proxy: ready, and a refused exchange (human
/// and `--json`).
#[test]
fn doctor_in_ci() {
    let mut shots = Shots::default();
    let w = World::github("snap-doc-ok");
    let run = w
        .github_env(w.sb.trustpub(["doctor"]))
        .arg(&w.pkg)
        .args(["--registry", &w.proxy.url()])
        .run();
    shots.add("ready", world_shot(&w, &run, 0, true));

    let w = World::github("snap-doc-bad");
    w.run_in("widgets", "ci.yml");
    let run = w
        .github_env(w.sb.trustpub(["doctor"]))
        .arg(&w.pkg)
        .args(["--registry", &w.proxy.url()])
        .run();
    shots.add("refused exchange", world_shot(&w, &run, 1, true));
    let _ = fs::remove_file(&w.summary);
    let run = w
        .github_env(w.sb.trustpub(["doctor"]))
        .arg(&w.pkg)
        .args(["--registry", &w.proxy.url(), "--json"])
        .run();
    shots.add("refused exchange, --json", world_shot(&w, &run, 1, true));
    snap!("doctor_in_ci", shots.0);
}

/// Outside CI, reading the CI files of `fixtures/doctor/<case>` (as the
/// repository root, with the package on a fake registry).
/// `case` may name a package inside the fixture (`monorepo/packages/a`).
pub(crate) fn doctor_fixture(case: &str, code: i32) -> String {
    let sb = Sandbox::new();
    let registry = FakeRegistry::start();
    let (case, package) = case.split_once('/').unwrap_or((case, ""));
    let src = crate::support::manifest_dir()
        .join("fixtures/doctor")
        .join(case);
    let repo = sb.root.join(case);
    crate::support::copy_fixture(&src, &repo).unwrap();
    fs::create_dir_all(repo.join(".git")).unwrap();
    let repo = repo.join(package);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(repo.join("package.json")).unwrap()).unwrap();
    if let Some(name) = manifest["name"].as_str() {
        registry.seed(name, "0.0.1", "sha512-x", Some("latest"));
    }
    let run = sb
        .trustpub(["doctor"])
        .arg(&repo)
        .args(["--registry", &registry.url()])
        .run();
    assert_eq!(run.code(), Some(code), "{case}:\n{}", run.describe);
    render(&Redact::new(&sb), &run, None)
}

macro_rules! doctor_fixtures {
    ($($name:ident => ($case:literal, $code:literal);)*) => {
        $(
            #[test]
            fn $name() {
                snap!(stringify!($name), doctor_fixture($case, $code));
            }
        )*
    };
}

doctor_fixtures! {
    doctor_github_ok => ("github-ok", 0);
    doctor_github_missing_permission => ("github-missing-permission", 1);
    doctor_github_release_script => ("github-release-script", 1);
    doctor_github_private => ("github-private", 1);
    doctor_github_old_node => ("github-old-node", 1);
    doctor_github_reusable => ("github-reusable", 0);
    doctor_gitlab_wrong_aud => ("gitlab-wrong-aud", 1);
    doctor_circleci_ok => ("circleci-ok", 1);
    doctor_circleci_missing => ("circleci-missing", 1);
    doctor_github_composite_node => ("github-composite-node", 0);
    doctor_github_environment => ("github-environment", 0);
    doctor_github_local_js_action => ("github-local-js-action", 1);
    doctor_github_matrix_node => ("github-matrix-node", 0);
    doctor_github_npm_run_release => ("github-npm-run-release", 1);
    doctor_github_nvmrc => ("github-nvmrc", 1);
    doctor_github_nx_release => ("github-nx-release", 0);
    doctor_github_old_node_token => ("github-old-node-token", 1);
    doctor_github_old_node_upgraded => ("github-old-node-upgraded", 0);
    doctor_github_permission_overridden_by_job => ("github-permission-overridden-by-job", 1);
    doctor_github_pnpm_stage => ("github-pnpm-stage", 0);
    doctor_github_pr_token => ("github-pr-token", 0);
    doctor_github_private_dist => ("github-private-dist", 0);
    doctor_github_release_it_no_npm => ("github-release-it-no-npm", 0);
    doctor_github_remote_action => ("github-remote-action", 1);
    doctor_github_reusable_caller_missing => ("github-reusable-caller-missing", 1);
    doctor_github_self_hosted => ("github-self-hosted", 1);
    doctor_github_semantic_release_old => ("github-semantic-release-old", 1);
    doctor_github_semantic_release => ("github-semantic-release", 0);
    doctor_github_trustpub => ("github-trustpub", 0);
    doctor_github_workflow_level_permissions_ok => ("github-workflow-level-permissions-ok", 0);
    doctor_github_write_all => ("github-write-all", 0);
    doctor_github_yarn_classic => ("github-yarn-classic", 1);
    doctor_gitlab_default_id_tokens => ("gitlab-default-id-tokens", 1);
    doctor_gitlab_missing_id_tokens => ("gitlab-missing-id-tokens", 1);
    doctor_gitlab_ok => ("gitlab-ok", 1);
    doctor_gitlab_old_node => ("gitlab-old-node", 1);
    doctor_invalid_yaml => ("invalid-yaml", 1);
    doctor_monorepo_script_skip => ("monorepo-script-skip/packages/a", 1);
    doctor_monorepo_root => ("monorepo", 1);
    doctor_monorepo_a => ("monorepo/packages/a", 0);
    doctor_monorepo_b => ("monorepo/packages/b", 1);
    doctor_no_publish_job => ("no-publish-job", 1);
}

// ---------------------------------------------------------------------------
// Configuration and network errors (the list in the #12 coverage work)

/// A port nothing listens on (bound, then released).
pub(crate) fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Configuration that stops `publish` before anything is sent (exit code
/// 2): a value of the wrong type, a network setting from a file of the
/// repository, an npmrc that is not a file, credentials not scoped to a
/// registry, settings npm refuses together, a tag npm refuses, a setting
/// trustpub cannot honour, a certificate file that cannot be read.
#[test]
fn config_errors() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let mut refused = |heading: &str, run: Run| {
        run.expect_code(2);
        shots.add(heading, render(&r, &run, None));
    };
    let url = reg.url();
    let pkg = simple(&sb, "pkg", "trustpub-snap-config", "1.0.0");

    let run = publish_cmd(&sb, &url, &pkg, &[]).env("npm_config_fetch_timeout", "abc");
    refused("fetch-timeout=abc in the environment", run.run());

    let bad = simple(&sb, "bad-access", "trustpub-snap-config-access", "1.0.0");
    sb.write(&bad.join(".npmrc"), "access=everyone\n");
    refused(
        "access=everyone in the project npmrc",
        publish_cmd(&sb, &url, &bad, &[]).cwd(&bad).run(),
    );

    let proxied = simple(&sb, "proxied", "trustpub-snap-config-proxy", "1.0.0");
    sb.write(&proxied.join(".npmrc"), "https-proxy=http://127.0.0.1:9/\n");
    refused(
        "https-proxy in the project npmrc",
        publish_cmd(&sb, &url, &proxied, &[]).cwd(&proxied).run(),
    );

    let pc = sb.package(
        "publish-config-proxy",
        &json!({
            "name": "trustpub-snap-config-pc",
            "version": "1.0.0",
            "publishConfig": { "proxy": "http://127.0.0.1:9/" }
        }),
        &[("index.js", "")],
    );
    refused(
        "proxy in publishConfig",
        publish_cmd(&sb, &url, &pc, &[]).run(),
    );

    refused(
        "--provenance with --provenance-file",
        publish_cmd(
            &sb,
            &url,
            &pkg,
            &["--provenance", "--provenance-file", "bundle.json"],
        )
        .run(),
    );
    refused(
        "--tag \"a b\"",
        publish_cmd(&sb, &url, &pkg, &["--tag", "a b"]).run(),
    );

    // The user npmrc, replaced case by case: each keeps the credential.
    let login = Sandbox::token_line(&url, &sb.token);
    let user_npmrc = |extra: &str| sb.write(&sb.user_npmrc(), &format!("{login}{extra}"));
    user_npmrc("local-address=127.0.0.1\n");
    refused(
        "local-address in the user npmrc",
        publish_cmd(&sb, &url, &pkg, &[]).run(),
    );
    user_npmrc("cafile=/nonexistent/trustpub-snap-ca.pem\n");
    refused(
        "cafile that does not exist",
        publish_cmd(&sb, &url, &pkg, &[]).run(),
    );
    user_npmrc("provenance=true\n");
    refused(
        "provenance=true in the user npmrc with --provenance-file",
        publish_cmd(&sb, &url, &pkg, &["--provenance-file", "bundle.json"]).run(),
    );
    user_npmrc("_authToken=legacy-unscoped-token-value\n");
    sb.add_secret("legacy-unscoped-token-value");
    refused(
        "_authToken not scoped to a registry",
        publish_cmd(&sb, &url, &pkg, &[]).run(),
    );

    let dir = sb.root.join("npmrc-dir");
    fs::create_dir_all(&dir).unwrap();
    refused(
        "NPM_CONFIG_USERCONFIG names a directory",
        publish_cmd(&sb, &url, &pkg, &[])
            .env("NPM_CONFIG_USERCONFIG", &dir)
            .run(),
    );

    assert!(reg.puts().is_empty(), "{:?}", reg.summary());
    snap!("config_errors", shots.0);
}

/// The registry cannot be reached: nothing listens, no answer within
/// fetch-timeout (to the packument GET: a warning; to the upload: an
/// error).
#[test]
fn network_errors() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let pkg = simple(&sb, "pkg", "trustpub-snap-network", "1.0.0");

    let closed = format!("http://127.0.0.1:{}/", closed_port());
    sb.login(&closed);
    let run = publish_cmd(&sb, &closed, &pkg, &[])
        .env("npm_config_fetch_retries", "0")
        .run();
    run.expect_code(1);
    shots.add("connection refused", render(&r, &run, None));

    let slow = fake(&sb);
    slow.script_gets([Some(
        Reply::status(404, "").after(std::time::Duration::from_secs(3)),
    )]);
    let run = publish_cmd(&sb, &slow.url(), &pkg, &[])
        .env("npm_config_fetch_timeout", "1000")
        .env("npm_config_fetch_retries", "0")
        .run();
    run.success();
    shots.add(
        "no answer to the packument GET within fetch-timeout",
        render(&r, &run, None),
    );

    let slow = fake(&sb);
    slow.script_puts([Reply::status(500, "").after(std::time::Duration::from_secs(3))]);
    let run = publish_cmd(&sb, &slow.url(), &pkg, &[])
        .env("npm_config_fetch_timeout", "1000")
        .env("npm_config_fetch_retries", "0")
        .run();
    run.expect_code(1);
    shots.add(
        "no answer to the upload within fetch-timeout",
        render(&r, &run, None),
    );
    assert!(slow.versions("trustpub-snap-network").is_empty());
    snap!("network_errors", shots.0);
}

/// [`publish`], not yet run.
pub(crate) fn publish_cmd<'a>(
    sb: &'a Sandbox,
    registry: &str,
    target: &Path,
    extra: &[&str],
) -> crate::support::sandbox::Tp<'a> {
    sb.trustpub(["publish"])
        .arg(target)
        .arg("--registry")
        .arg(registry)
        .args(extra)
}

/// More refusals of `publish`: credentials over plain HTTP to another
/// machine, `--provenance-file` that cannot be used, a `.tgz` that is not a
/// package, a script shell that cannot start, a script killed by a signal.
#[test]
fn publish_input_errors() {
    let sb = Sandbox::new();
    let reg = fake(&sb);
    let url = reg.url();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let mut shot = |heading: &str, run: Run, code: i32| {
        run.expect_code(code);
        shots.add(heading, render(&r, &run, None));
    };
    let pkg = simple(&sb, "pkg", "trustpub-snap-input", "1.0.0");

    let bundles = sb.root.join("bundles");
    fs::create_dir_all(&bundles).unwrap();
    let cases: &[(&str, Option<&str>)] = &[
        ("a provenance file that does not exist", None),
        ("a provenance file that is not JSON", Some("not json")),
        (
            "a provenance bundle without a dsseEnvelope",
            Some(r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#),
        ),
        (
            "a provenance payload that is not JSON",
            Some(
                r#"{"dsseEnvelope":{"payload":"bm90IGpzb24=","payloadType":"application/vnd.in-toto+json","signatures":[]}}"#,
            ),
        ),
        (
            "a provenance payload without a subject",
            Some(
                r#"{"dsseEnvelope":{"payload":"eyJzdWJqZWN0IjpbXX0=","payloadType":"application/vnd.in-toto+json","signatures":[]}}"#,
            ),
        ),
        (
            "a provenance subject naming another package",
            Some(
                r#"{"dsseEnvelope":{"payload":"eyJzdWJqZWN0IjogW3sibmFtZSI6ICJwa2c6bnBtL290aGVyQDEuMC4wIiwgImRpZ2VzdCI6IHsic2hhNTEyIjogIjAwIn19XX0=","payloadType":"application/vnd.in-toto+json","signatures":[]}}"#,
            ),
        ),
        (
            "two provenance subjects",
            Some(
                r#"{"dsseEnvelope":{"payload":"eyJzdWJqZWN0IjogW3sibmFtZSI6ICJwa2c6bnBtL2FAMSIsICJkaWdlc3QiOiB7InNoYTUxMiI6ICIwMCJ9fSwgeyJuYW1lIjogInBrZzpucG0vYkAxIiwgImRpZ2VzdCI6IHsic2hhNTEyIjogIjAwIn19XX0=","payloadType":"application/vnd.in-toto+json","signatures":[]}}"#,
            ),
        ),
        (
            "a provenance subject with another digest",
            Some(
                r#"{"dsseEnvelope":{"payload":"eyJzdWJqZWN0IjogW3sibmFtZSI6ICJwa2c6bnBtL3RydXN0cHViLXNuYXAtaW5wdXRAMS4wLjAiLCAiZGlnZXN0IjogeyJzaGE1MTIiOiAiMDAifX1dfQ==","payloadType":"application/vnd.in-toto+json","signatures":[]}}"#,
            ),
        ),
    ];
    for (i, (heading, body)) in cases.iter().enumerate() {
        let file = bundles.join(format!("bundle{i}.json"));
        if let Some(b) = body {
            sb.write(&file, b);
        }
        let run = publish_cmd(&sb, &url, &pkg, &["--provenance-file"])
            .arg(&file)
            .run();
        shot(heading, run, 2);
    }

    let corrupt = sb.root.join("corrupt.tgz");
    sb.write(&corrupt, "this is not gzip");
    let run = publish_cmd(&sb, &url, &corrupt, &[]).run();
    shot("a .tgz that is not gzip", run, 2);

    let scripted = sb.package(
        "scripted",
        &json!({
            "name": "trustpub-snap-shell",
            "version": "1.0.0",
            "scripts": { "prepublishOnly": "echo checking" }
        }),
        &[("index.js", "")],
    );
    let run = publish_cmd(&sb, &url, &scripted, &[])
        .env(
            "npm_config_script_shell",
            "/nonexistent/trustpub-snap-shell",
        )
        .run();
    shot("a script shell that does not exist", run, 1);

    let killed = sb.package(
        "killed",
        &json!({
            "name": "trustpub-snap-killed",
            "version": "1.0.0",
            "scripts": { "prepublishOnly": "kill -9 $$" }
        }),
        &[("index.js", "")],
    );
    let run = publish_cmd(&sb, &url, &killed, &[]).run();
    shot("a script killed by a signal", run, 1);

    let insecure = "http://registry.invalid/";
    sb.write(&sb.user_npmrc(), &Sandbox::token_line(insecure, &sb.token));
    let run = publish_cmd(&sb, insecure, &pkg, &[]).run();
    shot("credentials over plain HTTP to another machine", run, 2);

    assert!(reg.puts().is_empty(), "{:?}", reg.summary());
    snap!("publish_input_errors", shots.0);
}

/// Registry answers trustpub cannot use: a packument that is not JSON,
/// an upload redirected without end (same origin), a connection closed
/// without an answer.
#[test]
fn publish_registry_answers() {
    let sb = Sandbox::new();
    let r = Redact::new(&sb);
    let mut shots = Shots::default();
    let pkg = simple(&sb, "pkg", "trustpub-snap-answers", "1.0.0");

    let reg = fake(&sb);
    reg.script_gets([Some(Reply::status(200, "").body("not json"))]);
    let run = publish_cmd(&sb, &reg.url(), &pkg, &[])
        .env("npm_config_fetch_retries", "0")
        .run();
    run.success();
    shots.add(
        "a packument that is not JSON: a warning",
        render(&r, &run, None),
    );

    let reg = fake(&sb);
    let again = format!("{}trustpub-snap-answers", reg.url());
    reg.script_puts((0..8).map(|_| Reply::redirect(&again)));
    let run = publish_cmd(&sb, &reg.url(), &pkg, &[])
        .env("npm_config_fetch_retries", "0")
        .run();
    run.expect_code(1);
    shots.add("redirects without end", render(&r, &run, None));
    assert!(reg.versions("trustpub-snap-answers").is_empty());

    let reg = fake(&sb);
    reg.script_puts([Reply::reset()]);
    let run = publish_cmd(&sb, &reg.url(), &pkg, &[])
        .env("npm_config_fetch_retries", "0")
        .run();
    run.expect_code(1);
    shots.add(
        "the connection closed without an answer",
        render(&r, &run, None),
    );
    assert!(reg.versions("trustpub-snap-answers").is_empty());
    snap!("publish_registry_answers", shots.0);
}
