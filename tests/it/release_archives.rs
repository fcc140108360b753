//! `.ci/release-archives`, the script release.yml's `package` job runs: the
//! archive of each target holds one directory with that target's binary,
//! the man page and completions the linux-x64 binary generates, the README
//! and both licences, with fixed modes, owner and times; SHA256SUMS lists
//! every archive in `sha256sum` format; two runs make identical bytes.
//!
//! The script runs in a copy of the repository's files it reads, on five
//! stand-in binaries with distinct contents (so a binary put in the wrong
//! archive is caught); the linux-x64 stand-in answers `--version`, `man`
//! and `completions <shell>` with text naming what was asked (the real
//! subcommands have their own tests). Needs bash, GNU tar, gzip, zip,
//! unzip and sha256sum, as the release runner has.
//!
//! Also release.yml itself: its build matrix, the npm job and the script
//! name the same targets, and each job has only the permissions it needs
//! (actionlint and zizmor run on it in `readme_examples`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::support::{manifest_dir, run, Output};

const VERSION: &str = "0.1.0";
const EPOCH: u64 = 1_700_000_000;

/// npm platform, Rust target, binary name: common.md's table.
const TARGETS: [(&str, &str, &str); 5] = [
    ("linux-x64", "x86_64-unknown-linux-musl", "trustpub"),
    ("linux-arm64", "aarch64-unknown-linux-musl", "trustpub"),
    ("darwin-x64", "x86_64-apple-darwin", "trustpub"),
    ("darwin-arm64", "aarch64-apple-darwin", "trustpub"),
    ("win32-x64", "x86_64-pc-windows-msvc", "trustpub.exe"),
];

/// What the stand-in linux-x64 binary prints for `completions <shell>`.
fn completion(shell: &str) -> String {
    format!("# completion script for {shell}\n")
}

const MAN: &str = ".TH TRUSTPUB 1\n";

struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    bins: PathBuf,
}

/// A repository copy with the script, README and licences, and the
/// `bin-<platform>/` directories download-artifact makes.
fn repo(linux_version: &str) -> Repo {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    std::fs::create_dir_all(root.join(".ci")).unwrap();
    let script = root.join(".ci/release-archives");
    std::fs::copy(manifest_dir().join(".ci/release-archives"), &script).unwrap();
    for (f, text) in [
        ("README.md", "# readme\n"),
        ("LICENSE-MIT", "mit\n"),
        ("LICENSE-APACHE", "apache\n"),
    ] {
        std::fs::write(root.join(f), text).unwrap();
    }
    let bins = tmp.path().join("bin");
    for (npm, _, exe) in TARGETS {
        let dir = bins.join(format!("bin-{npm}"));
        std::fs::create_dir_all(&dir).unwrap();
        let body = if npm == "linux-x64" {
            format!(
                "#!/bin/sh\ncase $1 in\n  --version) echo 'trustpub {linux_version}' ;;\n  man) printf '{}' ;;\n  completions) echo \"# completion script for $2\" ;;\n  *) exit 2 ;;\nesac\n",
                MAN.replace('\n', "\\n")
            )
        } else {
            format!("binary for {npm}\n")
        };
        // Written without the executable bit, as download-artifact leaves it.
        std::fs::write(dir.join(exe), body).unwrap();
    }
    Repo {
        _tmp: tmp,
        root,
        bins,
    }
}

fn archives(repo: &Repo, out: &Path) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(repo.root.join(".ci/release-archives"))
        .arg(VERSION)
        .arg(&repo.bins)
        .arg(out)
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string());
    let scratch = tempfile::tempdir().unwrap();
    run(cmd, scratch.path(), "release-archives")
}

/// One tar entry: (name, mode, uid, gid, mtime, type flag, contents).
type Entry = (String, u32, u64, u64, u64, u8, Vec<u8>);

fn octal(field: &[u8]) -> u64 {
    let s = std::str::from_utf8(field).unwrap();
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        0
    } else {
        u64::from_str_radix(s, 8).unwrap_or_else(|e| panic!("octal field {s:?}: {e}"))
    }
}

fn untar(tgz: &[u8]) -> Vec<Entry> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(tgz)
        .read_to_end(&mut tar)
        .unwrap();
    let mut entries = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|&b| b != 0) {
        let h = &tar[at..at + 512];
        assert_eq!(&h[257..263], b"ustar\0", "not a ustar header at {at}");
        let cut = |f: &[u8]| {
            let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
            String::from_utf8(f[..end].to_vec()).unwrap()
        };
        let prefix = cut(&h[345..500]);
        let name = cut(&h[0..100]);
        let name = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let size = octal(&h[124..136]) as usize;
        let body = tar[at + 512..at + 512 + size].to_vec();
        entries.push((
            name,
            octal(&h[100..108]) as u32,
            octal(&h[108..116]),
            octal(&h[116..124]),
            octal(&h[136..148]),
            h[156],
            body,
        ));
        at += 512 + size.div_ceil(512) * 512;
    }
    entries
}

fn tool(program: &str, args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): this test needs it, as the release runner has it")
        });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The files every archive must hold besides the binary, with contents.
fn expected_files(repo: &Repo) -> BTreeMap<String, Vec<u8>> {
    let mut want = BTreeMap::new();
    want.insert("trustpub.1".to_string(), MAN.as_bytes().to_vec());
    for (file, shell) in [
        ("completions/trustpub.bash", "bash"),
        ("completions/_trustpub", "zsh"),
        ("completions/trustpub.fish", "fish"),
        ("completions/_trustpub.ps1", "powershell"),
    ] {
        want.insert(file.to_string(), completion(shell).into_bytes());
    }
    for f in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        want.insert(f.to_string(), std::fs::read(repo.root.join(f)).unwrap());
    }
    want
}

#[test]
fn release_archives_hold_each_targets_binary_docs_and_checksums() {
    let repo = repo(VERSION);
    let out = repo.root.join("../dist");
    let first = archives(&repo, &out);
    assert!(first.status.success(), "{}", first.describe());

    // SHA256SUMS: one line per archive, sha256sum's format, right digests.
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let mut listed = Vec::new();
    for line in sums.lines() {
        let (hex, file) = line
            .split_once("  ")
            .unwrap_or_else(|| panic!("not `<hex>  <file>`: {line:?}"));
        let bytes = std::fs::read(out.join(file)).unwrap();
        assert_eq!(hex, hex::encode(Sha256::digest(&bytes)), "digest of {file}");
        listed.push(file.to_string());
    }
    let mut want_names: Vec<String> = TARGETS
        .iter()
        .map(|(_, target, _)| {
            let ext = if target.contains("-windows-") {
                "zip"
            } else {
                "tar.gz"
            };
            format!("trustpub-{VERSION}-{target}.{ext}")
        })
        .collect();
    listed.sort();
    want_names.sort();
    assert_eq!(listed, want_names, "SHA256SUMS lists\n{sums}");
    let mut in_out = crate::support::dir_names(&out);
    in_out.sort();
    let mut want_out = want_names.clone();
    want_out.push("SHA256SUMS".into());
    want_out.sort();
    assert_eq!(in_out, want_out, "files in the output directory");

    let docs = expected_files(&repo);
    for (npm, target, exe) in TARGETS {
        let top = format!("trustpub-{VERSION}-{target}");
        let binary = std::fs::read(repo.bins.join(format!("bin-{npm}")).join(exe)).unwrap();
        let mut want = docs.clone();
        want.insert(exe.to_string(), binary);
        if target.contains("-windows-") {
            let zip = out.join(format!("{top}.zip"));
            let zip_s = zip.to_str().unwrap();
            let names = String::from_utf8(tool("unzip", &["-Z1", zip_s], &out)).unwrap();
            let mut want_names: Vec<String> =
                vec![format!("{top}/"), format!("{top}/completions/")];
            want_names.extend(want.keys().map(|k| format!("{top}/{k}")));
            want_names.sort();
            assert_eq!(names.lines().collect::<Vec<_>>(), want_names, "{top}.zip");
            for (file, body) in &want {
                let got = tool("unzip", &["-p", zip_s, &format!("{top}/{file}")], &out);
                assert_eq!(&got, body, "{top}.zip: {file}");
            }
            let listing = String::from_utf8(tool("unzip", &["-Z", zip_s], &out)).unwrap();
            let modes: Vec<(&str, &str)> = listing
                .lines()
                .filter_map(|l| {
                    let name = l.split_whitespace().last()?;
                    Some((
                        l.split_whitespace().next()?,
                        name.strip_prefix(&format!("{top}/"))?,
                    ))
                })
                .collect();
            assert_eq!(modes.len(), want_names.len(), "{top}.zip:\n{listing}");
            for (mode, rel) in modes {
                let want_mode = if rel.is_empty() || rel.ends_with('/') {
                    "drwxr-xr-x"
                } else if rel == exe {
                    "-rwxr-xr-x"
                } else {
                    "-rw-r--r--"
                };
                assert_eq!(mode, want_mode, "{top}.zip: mode of {rel:?}");
            }
        } else {
            let entries = untar(&std::fs::read(out.join(format!("{top}.tar.gz"))).unwrap());
            let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted, "{top}.tar.gz: entries are not sorted");
            let mut got = BTreeMap::new();
            for (name, mode, uid, gid, mtime, kind, body) in &entries {
                assert_eq!((*uid, *gid, *mtime), (0, 0, EPOCH), "{name}: owner or time");
                let rel = name
                    .strip_prefix(&format!("{top}/"))
                    .unwrap_or_else(|| panic!("{name} is outside {top}/"));
                match kind {
                    b'5' => {
                        assert_eq!(*mode, 0o755, "{name}: directory mode");
                        assert!(rel.is_empty() || rel == "completions/", "{name}");
                    }
                    b'0' => {
                        let want_mode = if rel == exe { 0o755 } else { 0o644 };
                        assert_eq!(*mode, want_mode, "{name}: mode {mode:o}");
                        got.insert(rel.to_string(), body.clone());
                    }
                    other => panic!("{name}: unexpected tar entry type {}", *other as char),
                }
            }
            assert_eq!(got, want, "{top}.tar.gz contents");
        }
    }

    // Reproducible: a second run makes the same bytes.
    let again = repo.root.join("../dist-again");
    let second = archives(&repo, &again);
    assert!(second.status.success(), "{}", second.describe());
    for name in want_out {
        assert_eq!(
            std::fs::read(out.join(&name)).unwrap(),
            std::fs::read(again.join(&name)).unwrap(),
            "{name} differs between two runs"
        );
    }
}

#[test]
fn release_archives_refuse_a_binary_of_another_version() {
    let repo = repo("0.0.9");
    let out = repo.root.join("../dist");
    let run = archives(&repo, &out);
    assert!(!run.status.success(), "{}", run.describe());
    assert!(
        run.stderr
            .contains("printed 'trustpub 0.0.9', not 'trustpub 0.1.0'"),
        "{}",
        run.describe()
    );
    assert!(!out.join("SHA256SUMS").exists());
}

#[test]
fn release_archives_refuse_a_missing_binary() {
    let repo = repo(VERSION);
    std::fs::remove_file(repo.bins.join("bin-darwin-arm64/trustpub")).unwrap();
    let out = repo.root.join("../dist");
    let run = archives(&repo, &out);
    assert!(!run.status.success(), "{}", run.describe());
    assert!(
        run.stderr.contains("no darwin-arm64 binary at"),
        "{}",
        run.describe()
    );
    assert!(!out.join("SHA256SUMS").exists());
}

fn load_release_yml() -> yaml_rust2::Yaml {
    let text = std::fs::read_to_string(manifest_dir().join(".github/workflows/release.yml"))
        .expect("read .github/workflows/release.yml");
    yaml_rust2::YamlLoader::load_from_str(&text)
        .expect("release.yml is YAML")
        .remove(0)
}

/// The three places that name the targets agree with common.md's table:
/// release.yml's build matrix, the npm job's `--binary` list and
/// `.ci/release-archives`.
#[test]
fn release_workflow_builds_the_targets_the_archives_and_npm_packages_expect() {
    let wf = load_release_yml();
    let jobs = &wf["jobs"];
    let mut matrix: Vec<(String, String)> = jobs["build"]["strategy"]["matrix"]["include"]
        .as_vec()
        .expect("build.strategy.matrix.include")
        .iter()
        .map(|row| {
            (
                row["npm"].as_str().expect("npm").to_string(),
                row["target"].as_str().expect("target").to_string(),
            )
        })
        .collect();
    matrix.sort();
    let mut want: Vec<(String, String)> = TARGETS
        .iter()
        .map(|(npm, target, _)| (npm.to_string(), target.to_string()))
        .collect();
    want.sort();
    assert_eq!(matrix, want, "release.yml build matrix");

    let script = std::fs::read_to_string(manifest_dir().join(".ci/release-archives")).unwrap();
    let mut table: Vec<(String, String)> = script
        .lines()
        .filter_map(|l| {
            let (npm, target) = l.trim().split_once(':')?;
            TARGETS
                .iter()
                .any(|(n, _, _)| *n == npm)
                .then(|| (npm.to_string(), target.to_string()))
        })
        .collect();
    table.sort();
    assert_eq!(table, want, ".ci/release-archives targets table");

    let npm_steps = format!("{:?}", jobs["npm"]["steps"]);
    for (npm, _, exe) in TARGETS {
        let arg = format!("--binary {npm}=bin/bin-{npm}/{exe}");
        assert!(npm_steps.contains(&arg), "the npm job does not pass {arg}");
    }
}

/// A job's name, its permissions (sorted) and its environment.
type JobRights = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
);

/// Least privilege, job by job: nothing at the top level; only the jobs
/// that sign or publish get an OIDC token; only the release and the Action
/// pin can write to the repository; the publishing jobs run in their
/// environments, and no job but crates.io's handles a secret.
#[test]
fn release_workflow_permissions_are_least_privilege() {
    let wf = load_release_yml();
    let top = wf["permissions"].as_hash().expect("top-level permissions");
    assert!(top.is_empty(), "top-level permissions must be {{}}");
    let want: &[JobRights] = &[
        ("version", &[("contents", "read")], None),
        ("build", &[("contents", "read")], None),
        ("package", &[("contents", "read")], None),
        (
            "attest",
            &[("attestations", "write"), ("id-token", "write")],
            None,
        ),
        ("pin-action", &[("contents", "write")], None),
        ("github-release", &[("contents", "write")], None),
        (
            "npm",
            &[("contents", "read"), ("id-token", "write")],
            Some("npm"),
        ),
        ("crate-package", &[("contents", "read")], None),
        (
            "crates",
            &[("contents", "read"), ("id-token", "write")],
            Some("crates-io"),
        ),
    ];
    let jobs = wf["jobs"].as_hash().expect("jobs");
    let names: Vec<&str> = jobs.keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(
        names,
        want.iter().map(|w| w.0).collect::<Vec<_>>(),
        "the jobs of release.yml"
    );
    for (job, perms, env) in want {
        let j = &wf["jobs"][*job];
        let mut got: Vec<(String, String)> = j["permissions"]
            .as_hash()
            .unwrap_or_else(|| panic!("job {job} sets no permissions"))
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().into(), v.as_str().unwrap().into()))
            .collect();
        got.sort();
        let want: Vec<(String, String)> = perms
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want, "permissions of job {job}");
        assert_eq!(j["environment"].as_str(), *env, "environment of job {job}");
        let text = format!("{j:?}");
        assert!(!text.contains("secrets."), "job {job} uses a secret");
        // The crates.io token minted by crates-io-auth-action.
        assert_eq!(
            text.contains("outputs.token"),
            *job == "crates",
            "job {job}: only the crates job may handle the minted token"
        );
    }
}

/// The orderings a reviewer found wrong once: the build job uploads the
/// binary before any step that installs npm packages (whose install scripts
/// could rewrite it), and those installs skip scripts; nothing is compiled in
/// the job that holds the crates.io token; the version tag is made by the
/// workflow (the trigger is `release/v…`) and never force-pushed; the
/// GitHub release never replaces an asset.
#[test]
fn release_workflow_orders_its_steps_safely() {
    let wf = load_release_yml();
    let triggers = format!("{:?}", wf["on"]["push"]["tags"]);
    assert!(
        triggers.contains("release/v[0-9]+.[0-9]+.[0-9]+*") && !triggers.contains("\"v"),
        "release.yml must start from release/v… tags only: {triggers}"
    );
    let steps = |job: &str| -> Vec<String> {
        wf["jobs"][job]["steps"]
            .as_vec()
            .unwrap_or_else(|| panic!("job {job} has steps"))
            .iter()
            .map(|s| format!("{s:?}"))
            .collect()
    };
    let build = steps("build");
    let upload = build
        .iter()
        .position(|s| s.contains("actions/upload-artifact"))
        .expect("the build job uploads the binary");
    for (i, s) in build.iter().enumerate() {
        if s.contains("npm ci") || s.contains("npm install") || s.contains("setup-node") {
            assert!(i > upload, "build step {i} runs before the upload: {s}");
        }
        if s.contains("npm ci") {
            assert!(s.contains("--ignore-scripts"), "npm ci with scripts: {s}");
        }
    }
    let crates = steps("crates").join("\n");
    assert!(crates.contains("cargo publish --locked --no-verify"));
    assert!(!crates.contains("cargo build") && !crates.contains("cargo package"));
    assert!(steps("crate-package")
        .join("\n")
        .contains("cargo package --locked"));
    let pin = steps("pin-action").join("\n");
    assert!(pin.contains("$sha:refs/tags/$tag") && !pin.contains("+$sha:refs/tags/$tag"));
    let release = steps("github-release").join("\n");
    assert!(
        !release.contains("--clobber"),
        "the release must not replace assets"
    );
}
