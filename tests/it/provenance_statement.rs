//! The provenance statement (`trustpub::provenance::statement`) against the
//! statement npm 11.19.1 itself builds.
//!
//! The oracle is `tests/tools/provenance-statement.js`: it runs the pinned
//! npm's own `libnpmpublish/lib/provenance.js` (`generateProvenance`, with
//! `sigstore` stubbed in `require.cache`) and the subject code of
//! `publish.js`, and prints the exact payload npm would sign.
//!
//! * `fixtures_match_trustpub`: for every `fixtures/provenance/<case>/`,
//!   trustpub's statement bytes equal the committed `statement.json`, byte for
//!   byte. Needs no node.
//! * `fixtures_are_what_npm_produces`: re-runs the oracle for every case, in a
//!   child whose environment is only PATH/HOME/LANG plus the case's `env.json`,
//!   and requires that npm still produces the committed bytes and that they
//!   equal trustpub's. So the fixtures cannot go stale.
//! * `purls_match_npm`, `random_environments_match_npm`,
//!   `no_statement_where_npm_has_none`: more differential cases, generated
//!   here rather than committed.
//!
//! Without node or the pinned npm these tests fail (never skip) and say why.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pretty_assertions::assert_eq;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use trustpub::ci::{self, Provider};
use trustpub::env::Env;
use trustpub::provenance::statement::{
    purl, statement, statement_bytes, StatementError, GITHUB_ENV_VARS, GITLAB_EXTRA_VARS,
    GITLAB_PARAMETER_VARS,
};

use crate::support;

/// The cases the fixture set must contain (more may be added).
const REQUIRED_CASES: &[&str] = &[
    "github-full",
    "github-sparse",
    "github-reusable",
    "github-scoped-prerelease",
    "gitlab-full",
    "gitlab-sparse",
];

fn fixtures_dir() -> PathBuf {
    support::manifest_dir().join("fixtures/provenance")
}

fn script() -> PathBuf {
    support::manifest_dir().join("tests/tools/provenance-statement.js")
}

struct Case {
    name: String,
    env: Vec<(String, String)>,
    pkg: String,
    version: String,
    sha512: String,
    expected: Vec<u8>,
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn cases() -> Vec<Case> {
    let root = fixtures_dir();
    let mut names: Vec<String> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("read {}: {e}", root.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("env.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for required in REQUIRED_CASES {
        assert!(
            names.iter().any(|n| n == required),
            "fixtures/provenance/{required} is missing (have: {names:?})"
        );
    }
    names
        .into_iter()
        .map(|name| {
            let dir = root.join(&name);
            let env = match read_json(&dir.join("env.json")) {
                Value::Object(m) => m
                    .into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => (k, s),
                        other => panic!("{name}/env.json: {k} is not a string: {other}"),
                    })
                    .collect(),
                other => panic!("{name}/env.json is not an object: {other}"),
            };
            let subject = read_json(&dir.join("subject.json"));
            let field = |k: &str| {
                subject[k]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}/subject.json: no string {k:?}"))
                    .to_string()
            };
            let expected = fs::read(dir.join("statement.json"))
                .unwrap_or_else(|e| panic!("{name}/statement.json: {e}"));
            Case {
                pkg: field("name"),
                version: field("version"),
                sha512: field("sha512"),
                name,
                env,
                expected,
            }
        })
        .collect()
}

/// trustpub's statement bytes for this environment, with the provider
/// trustpub detects in it.
fn ours(
    env: &[(String, String)],
    pkg: &str,
    version: &str,
    sha512: &str,
) -> Result<Vec<u8>, String> {
    let env = Env::from_pairs(env.iter().cloned());
    let provider = ci::detect(&env).ok_or("trustpub detects no CI provider")?;
    statement(&env, provider, pkg, version, sha512)
        .map(|v| statement_bytes(&v))
        .map_err(|e| e.to_string())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Pretty-printed, for readable diffs (key order kept).
fn pretty(bytes: &[u8]) -> String {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap(),
        Err(_) => text(bytes),
    }
}

#[test]
fn fixtures_match_trustpub() {
    let cases = cases();
    for case in &cases {
        let ours = ours(&case.env, &case.pkg, &case.version, &case.sha512)
            .unwrap_or_else(|e| panic!("[{}] {e}", case.name));
        if ours != case.expected {
            assert_eq!(
                pretty(&ours),
                pretty(&case.expected),
                "[{}] trustpub's statement (left) differs from the committed npm statement (right)",
                case.name
            );
            assert_eq!(
                text(&ours),
                text(&case.expected),
                "[{}] same JSON, different bytes",
                case.name
            );
        }
        // The subject is the package npm signed for.
        let v: Value = serde_json::from_slice(&case.expected).unwrap();
        assert_eq!(
            v["subject"][0]["name"],
            purl(&case.pkg, &case.version),
            "[{}]",
            case.name
        );
        assert_eq!(
            v["subject"][0]["digest"]["sha512"], case.sha512,
            "[{}]",
            case.name
        );
    }
}

/// What the oracle printed: `Ok(stdout bytes)` on exit 0, `Err(description)`
/// when npm threw (exit 3). Any other outcome fails the test.
fn npm(env: &[(String, String)], args: &[&str], label: &str) -> Result<Vec<u8>, String> {
    support::require_npm();
    let scratch = tempfile::tempdir().expect("temp dir");
    let home = scratch.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new("node");
    cmd.arg(script())
        .arg("--npm-dir")
        .arg(support::npm_root())
        .args(args)
        .current_dir(&home);
    support::apply_env(&mut cmd, &home);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let label = label.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
    let out = support::run(cmd, scratch.path(), &label);
    match out.status.code() {
        Some(0) => Ok(fs::read(scratch.path().join(format!("{label}.stdout"))).unwrap()),
        Some(3) => Err(out.stderr),
        _ => panic!(
            "the npm oracle (tests/tools/provenance-statement.js, needs node and npm {}) failed:\n{}",
            support::NPM_VERSION,
            out.describe()
        ),
    }
}

#[test]
fn fixtures_are_what_npm_produces() {
    for case in cases() {
        let live = npm(
            &case.env,
            &[&case.pkg, &case.version, &case.sha512],
            &case.name,
        )
        .unwrap_or_else(|e| panic!("[{}] npm threw: {e}", case.name));
        assert_eq!(
            text(&live),
            text(&case.expected),
            "[{}] npm now builds (left) something other than the committed statement.json (right); \
             regenerate with `node tests/tools/provenance-statement.js --regenerate fixtures/provenance` \
             and review the change",
            case.name
        );
        assert_eq!(live, case.expected, "[{}] bytes", case.name);
        let ours = ours(&case.env, &case.pkg, &case.version, &case.sha512)
            .unwrap_or_else(|e| panic!("[{}] {e}", case.name));
        assert_eq!(
            text(&ours),
            text(&live),
            "[{}] trustpub (left) vs npm live (right)",
            case.name
        );
    }
}

#[test]
fn purls_match_npm() {
    let pairs: &[(&str, &str)] = &[
        ("pkg", "1.2.3"),
        ("@scope/pkg", "1.2.3"),
        ("@scope/pkg", "1.0.0-beta.1"),
        ("pkg", "1.0.0+b.5"),
        ("@scope/pkg", "2.0.0-rc.1+build.5.sha-abc"),
        ("pkg", "v1.0.0"),
        ("pkg", "=1.0.0"),
        ("pkg", " 1.0.0 "),
        ("pkg", "1.0.0-beta.01"),
        ("pkg", "01.02.03"),
        ("pkg", "1.0.0-0"),
        ("pkg", "1.0.0-alpha-1.x-y"),
        ("pkg", "1.0.0beta"),
        ("pkg", "0.0.0-20250101-abcdef"),
        ("@Scope/Pkg.JS", "1.0.0"),
        ("@s/a-b_c.d~e", "9007199254740991.0.0"),
        ("a-b_c.d~e", "1.0.0"),
        ("pkg", "1.0.0-A.b.C"),
    ];
    let args: Vec<&str> = pairs.iter().flat_map(|(n, v)| [*n, *v]).collect();
    let live = npm(&[], &[&["--purl"], args.as_slice()].concat(), "purls")
        .unwrap_or_else(|e| panic!("npm threw: {e}"));
    let live = text(&live);
    let live: Vec<&str> = live.split('\n').collect();
    assert_eq!(live.len(), pairs.len(), "{live:?}");
    for ((name, version), npm_purl) in pairs.iter().zip(live) {
        assert_eq!(purl(name, version), npm_purl, "purl({name:?}, {version:?})");
    }
}

/// Values that exercise the JS semantics: empty strings (set, but falsy for
/// ci-info), `@` and `/` in odd places, the literal `undefined`, JSON escapes
/// and non-ASCII text.
const VALUES: &[&str] = &[
    "",
    "true",
    "1",
    "o/r",
    "octo-org/octo-lib",
    "undefined",
    "undefined/",
    "@",
    "a@b@c",
    "https://github.com",
    "refs/heads/main",
    "refs/tags/v1.0.0",
    "self-hosted",
    "3f786850e387550fdab836ed7e6dc881de23001b",
    "line\nbreak\ttab \"quote\" back\\slash </script> \u{1}\u{1f}\u{7f}",
    "ünïcödé 🚀 \u{2028}\u{2029} done",
];

fn random_env(rng: &mut StdRng, gitlab: bool) -> Vec<(String, String)> {
    let value = |rng: &mut StdRng| VALUES.choose(rng).unwrap().to_string();
    let mut env: Vec<(String, String)> = Vec::new();
    let flag = if gitlab {
        "GITLAB_CI"
    } else {
        "GITHUB_ACTIONS"
    };
    env.push((
        flag.into(),
        ["true", "1", "yes"].choose(rng).unwrap().to_string(),
    ));
    let vars: Vec<&str> = if gitlab {
        GITLAB_PARAMETER_VARS
            .iter()
            .chain(GITLAB_EXTRA_VARS)
            .copied()
            .filter(|v| *v != "GITLAB_CI")
            .collect()
    } else {
        GITHUB_ENV_VARS.iter().copied().chain(["CI"]).collect()
    };
    let density: f64 = rng.gen_range(0.0..1.0);
    for var in vars {
        if rng.gen_bool(density) {
            let v = value(rng);
            // CI=false turns ci-info off (no statement at all); covered by
            // `no_statement_where_npm_has_none`.
            env.push((var.to_string(), v));
        }
    }
    if !gitlab && rng.gen_bool(0.7) {
        // A GITHUB_WORKFLOW_REF built from GITHUB_REPOSITORY, as on GitHub, or
        // something that does not match it.
        let repo = env
            .iter()
            .find(|(k, _)| k == "GITHUB_REPOSITORY")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "undefined".into());
        let wref = match rng.gen_range(0..5) {
            0 => format!("{repo}/.github/workflows/release.yml@refs/heads/main"),
            1 => format!("{repo}/{repo}/.github/workflows/x.yml@refs/tags/v1@2"),
            2 => format!("{repo}/.github/workflows/no-at.yml"),
            3 => format!("other/{repo}/w.yml@r"),
            _ => value(rng),
        };
        env.retain(|(k, _)| k != "GITHUB_WORKFLOW_REF");
        env.push(("GITHUB_WORKFLOW_REF".into(), wref));
    }
    env.shuffle(rng);
    env
}

#[test]
fn random_environments_match_npm() {
    let subjects: &[(&str, &str)] = &[
        ("pkg", "1.0.0"),
        ("@scope/pkg", "2.0.0-beta.3"),
        ("@s/p", "v1.0.0+build.1"),
    ];
    for seed in 0..24u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let gitlab = seed % 2 == 1;
        let env = random_env(&mut rng, gitlab);
        let (pkg, version) = subjects[seed as usize % subjects.len()];
        let sha = format!("{:0128x}", seed);
        let live = npm(&env, &[pkg, version, &sha], &format!("random-{seed}"))
            .unwrap_or_else(|e| panic!("[seed {seed}] npm threw: {e}\nenv: {env:?}"));
        let ours = ours(&env, pkg, version, &sha).unwrap_or_else(|e| panic!("[seed {seed}] {e}"));
        assert_eq!(
            text(&ours),
            text(&live),
            "[seed {seed}] trustpub (left) vs npm (right)\nenv: {env:?}"
        );
        assert_eq!(ours, live, "[seed {seed}] bytes");
    }
}

/// Where npm builds no statement (outside GitHub Actions and GitLab, or with
/// `CI=false`), `generateProvenance` throws, and trustpub has no statement
/// either: it detects no provider, or refuses CircleCI.
#[test]
fn no_statement_where_npm_has_none() {
    let envs: &[&[(&str, &str)]] = &[
        &[("CIRCLECI", "true"), ("CI", "true")],
        &[("GITHUB_ACTIONS", "true"), ("CI", "false")],
        &[("GITLAB_CI", "true"), ("CI", "false")],
        &[("GITHUB_ACTIONS", ""), ("GITLAB_CI", "")],
        &[],
    ];
    for (i, pairs) in envs.iter().enumerate() {
        let env: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let live = npm(&env, &["pkg", "1.0.0", "00"], &format!("none-{i}"));
        assert!(
            live.is_err(),
            "{pairs:?}: npm built a statement: {}",
            text(&live.unwrap())
        );
        let e = Env::from_pairs(pairs.iter().copied());
        match ci::detect(&e) {
            None => {}
            Some(Provider::CircleCi) => assert_eq!(
                statement(&e, Provider::CircleCi, "pkg", "1.0.0", "00"),
                Err(StatementError::UnsupportedProvider {
                    provider: "CircleCI"
                })
            ),
            Some(p) => panic!("{pairs:?}: trustpub detects {p:?} where npm builds nothing"),
        }
    }
}
