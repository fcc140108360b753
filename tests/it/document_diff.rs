//! Differential tests: the registry document `trustpub::document::build`
//! makes against the body the real `npm publish` (11.19.1) sends.
//!
//! Each case under `fixtures/publish/<case>/` is copied to a temp dir and
//! published with npm to a [`RecordingRegistry`] on 127.0.0.1 (isolated
//! config, cache, HOME and environment; a planted token in a temp
//! `--userconfig`). The recorded `PUT` body is then compared with ours,
//! built from the same package and the same tarball bytes (taken from npm's
//! `_attachments`, so the digests match):
//!
//! * as JSON, field by field and in key order, after removing
//!   `_nodeVersion`/`_npmVersion` (and `_resolved`/`_integrity`/`_from` for a
//!   `.tgz` argument), which trustpub deliberately does not send;
//! * as bytes: `document::to_wire` against npm's body after the same removals.
//!
//! Each case also checks that npm's document still shows the behaviour the
//! case is about (`expect`), so a case cannot silently stop testing it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::{Map, Value};
use sha1::Digest as _;

use trustpub::document::{self, DirSource, DocumentOptions, PackageSource, TarballSource};

use crate::support::recording_registry::{RecordingRegistry, Request};
use crate::support::{self, Output};

/// The token planted in npm's user config. It must reach the registry in the
/// PUT's `authorization` header and appear in no assertion message.
const TOKEN: &str = "npm_TrustpubPlantedTokenDoNotPrint0123456789";

#[derive(Clone, Copy, PartialEq)]
enum Git {
    None,
    /// `git init` + commit: HEAD → loose ref.
    Loose,
    /// As `Loose`, then `git pack-refs --all`: HEAD → packed-refs.
    Packed,
}

#[derive(Clone, Copy)]
struct Case {
    /// Extra `npm publish` arguments.
    args: &'static [&'static str],
    /// The tag and access npm's config resolves to for this case (the
    /// publish pipeline's job; the document takes them as options).
    tag: &'static str,
    access: Option<&'static str>,
    /// A path appended to the registry URL (no trailing slash).
    registry_path: Option<&'static str>,
    /// Publish a `.tgz` made by `npm pack` instead of the directory.
    tarball: bool,
    git: Git,
    /// `(JSON pointer, JSON value)` that must hold in npm's document. The
    /// pointer is into the version document, or into the root if it starts
    /// with `^`.
    expect: &'static [(&'static str, &'static str)],
    /// Pointers that must be absent from npm's version document.
    absent: &'static [&'static str],
}

const D: Case = Case {
    args: &[],
    tag: "latest",
    access: None,
    registry_path: None,
    tarball: false,
    git: Git::None,
    expect: &[],
    absent: &[],
};

macro_rules! cases {
    ($($name:ident => $dir:literal $case:expr;)*) => {
        $(
            #[test]
            fn $name() {
                run_case($dir, &$case);
            }
        )*
    };
}

cases! {
    unscoped => "unscoped" Case {
        expect: &[
            ("^/description", r#""A plain unscoped package""#),
            ("^/access", "null"),
            ("^/dist-tags", r#"{"latest":"1.0.0"}"#),
            ("/readmeFilename", r#""README.md""#),
        ],
        absent: &["/gitHead"],
        ..D
    };
    scoped_public => "scoped-public" Case {
        args: &["--access", "public"],
        access: Some("public"),
        expect: &[
            ("^/access", r#""public""#),
            ("^/description", r#""[![ci](https://example.com/badge.svg)](https://example.com)""#),
        ],
        ..D
    };
    bin_string => "bin-string" Case {
        expect: &[
            ("/bin", r#"{"trustpub-doc-bin-string":"bin/cli.js"}"#),
            ("/man", r#"["man/tool.1"]"#),
            ("/readmeFilename", r#""README""#),
        ],
        ..D
    };
    bin_object => "bin-object" Case {
        expect: &[
            ("/bin", r#"{"tool":"bin/tool.js","other":"bin/other.js","climb":"bin/climb.js"}"#),
            ("/description", r#""Object bins.""#),
        ],
        ..D
    };
    bin_dir_man => "bin-dir-man" Case {
        expect: &[
            ("/bin/alpha.js", r#""scripts/alpha.js""#),
            ("/bin/nested", r#""scripts/nested""#),
            ("/man", r#"["docs/man/tool.1","docs/man/sub/conf.5"]"#),
            ("/readme", r#""ERROR: No README data found!""#),
        ],
        absent: &["/readmeFilename"],
        ..D
    };
    derived_files => "derived-files" Case {
        expect: &[
            ("/gypfile", "true"),
            ("/scripts", r#"{"install":"node-gyp rebuild","start":"node server.js"}"#),
            ("/types", r#""./lib/main.d.ts""#),
            ("/contributors/1/url", r#""https://bob.example""#),
        ],
        ..D
    };
    readme_none => "readme-none" Case {
        expect: &[("/readme", r#""ERROR: No README data found!""#)],
        absent: &["/readmeFilename"],
        ..D
    };
    readme_markdown => "readme-markdown" Case {
        expect: &[
            ("/readmeFilename", r#""readme.markdown""#),
            ("^/description", r#""Fast thing for doing stuff.""#),
        ],
        ..D
    };
    readme_crlf => "readme-crlf" Case {
        expect: &[
            ("/readmeFilename", r#""README.md""#),
            ("^/description", "\"First line\\r second line \u{2014} with \u{e9}\""),
        ],
        ..D
    };
    repo_shorthand => "repo-shorthand" Case {
        expect: &[
            ("/repository", r#"{"type":"git","url":"git+https://github.com/trustpub/demo.git"}"#),
            ("/bugs", r#"{"url":"https://github.com/trustpub/demo/issues"}"#),
            ("/homepage", r#""https://github.com/trustpub/demo#readme""#),
            ("/author", r#"{"name":"Ann Author","email":"ann@example.com","url":"https://ann.example"}"#),
            ("/contributors/1", r#"{"name":"Cy","url":"https://cy.example"}"#),
            ("/maintainers/0", r#"{"name":"Dee","url":"https://dee.example"}"#),
        ],
        ..D
    };
    repo_variants => "repo-variants" Case {
        expect: &[
            ("/repository/url", r#""git+ssh://git@gitlab.com/grp/sub/proj.git""#),
            ("/bugs", r#"{"email":"issues@example.com"}"#),
            ("/homepage", r#""http://example.com/home""#),
        ],
        ..D
    };
    manifest_fixes => "manifest-fixes" Case {
        expect: &[
            ("/version", r#""1.2.3""#),
            ("/_id", r#""trustpub-doc-manifest-fixes@1.2.3""#),
            ("/scripts", r#"{"build":"tsc -p .","test":"jest"}"#),
            ("/dependencies/dep-missing", r#""*""#),
            ("/dependencies/gh", r#""github:trustpub/gh-dep""#),
            ("/devDependencies", r#"{"x":"1","y":"^2"}"#),
            ("/keywords", r#"["one","two,three"]"#),
            ("/repository/url", r#""git+https://github.com/trustpub/multi.git""#),
            ("^/description", r#""Description from the README replaces an empty one.""#),
        ],
        absent: &["/_private", "/modules", "/bundledDependencies", "/dependencies/bad"],
        ..D
    };
    publish_config => "publish-config" Case {
        tag: "next",
        access: Some("public"),
        expect: &[
            ("^/dist-tags", r#"{"next":"1.0.0"}"#),
            ("^/access", r#""public""#),
        ],
        ..D
    };
    tag_field => "tag-field" Case {
        args: &["--tag", "next"],
        tag: "next",
        expect: &[("^/dist-tags", r#"{"beta":"1.0.0"}"#), ("/tag", r#""beta""#)],
        ..D
    };
    tarball => "tarball" Case {
        tarball: true,
        args: &["--access", "public"],
        access: Some("public"),
        expect: &[
            ("/version", r#""3.0.0""#),
            ("/bin", r#"{"from-tgz":"cli.js"}"#),
            ("/readmeFilename", r#""README.md""#),
            ("/repository/url", r#""git+ssh://git@github.com/trustpub/tgz.git""#),
        ],
        absent: &["/bundleDependencies", "/gitHead"],
        ..D
    };
    git_head => "git-head" Case {
        git: Git::Loose,
        ..D
    };
    git_packed => "git-packed" Case {
        git: Git::Packed,
        ..D
    };
    registry_path => "registry-path" Case {
        registry_path: Some("sub/path"),
        args: &["--access", "public"],
        access: Some("public"),
        ..D
    };
    integer_keys => "integer-keys" Case {
        expect: &[("/42", r#""answer""#), ("/bin/9", r#""nine.js""#)],
        ..D
    };
    escapes => "escapes" Case {
        expect: &[("/config/big", "1e21"), ("/config/one", "1")],
        ..D
    };
}

/// Every fixture directory has a test above, and the README lists it.
#[test]
fn every_publish_fixture_has_a_case() {
    let source = include_str!("document_diff.rs");
    let readme =
        fs::read_to_string(fixtures().join("README.md")).expect("fixtures/publish/README.md");
    for name in support::dir_names(&fixtures()) {
        if name == "README.md" {
            continue;
        }
        assert!(
            source.contains(&format!("=> \"{name}\" Case")),
            "fixtures/publish/{name} has no case in document_diff.rs"
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "fixtures/publish/{name} is not described in fixtures/publish/README.md"
        );
    }
}

fn fixtures() -> PathBuf {
    support::manifest_dir().join("fixtures").join("publish")
}

/// Replaces the planted token in anything that may end up in a message.
fn redact(s: &str) -> String {
    s.replace(TOKEN, "<planted token>")
}

struct Env {
    root: PathBuf,
    home: PathBuf,
    userconfig: PathBuf,
    globalconfig: PathBuf,
    cache: PathBuf,
}

fn npm(env: &Env, args: &[&str]) -> Command {
    let mut cmd = Command::new(support::npm_program());
    cmd.args(args)
        .arg("--userconfig")
        .arg(&env.userconfig)
        .arg("--globalconfig")
        .arg(&env.globalconfig)
        .arg("--cache")
        .arg(&env.cache)
        .arg("--no-update-notifier")
        .arg("--no-audit")
        .arg("--no-fund");
    support::apply_env(&mut cmd, &env.home);
    cmd.current_dir(&env.root);
    cmd
}

fn must_succeed(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{}",
        redact(&format!("{what} failed:\n{}", out.describe()))
    );
}

fn git(dir: &Path, home: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap_or_else(|e| panic!("git is needed for the gitHead cases: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git_rev(dir: &Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()
        .expect("git rev-parse");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn run_case(name: &str, case: &Case) {
    support::require_npm();
    let src = fixtures().join(name);
    assert!(
        src.join("package.json").is_file(),
        "no fixture at {}",
        src.display()
    );

    let tmp = tempfile::Builder::new()
        .prefix("trustpub-document-diff-")
        .tempdir()
        .expect("temp dir");
    let root = tmp.path().canonicalize().unwrap();
    let env = Env {
        home: root.join("home"),
        userconfig: root.join("npmrc"),
        globalconfig: root.join("global-npmrc"),
        cache: root.join("cache"),
        root: root.clone(),
    };
    fs::create_dir_all(&env.home).unwrap();
    fs::write(&env.globalconfig, "").unwrap();
    let scratch = root.join("captures");
    fs::create_dir_all(&scratch).unwrap();

    let pkg = root.join("pkg");
    support::copy_fixture(&src, &pkg).expect("copy fixture");
    if case.git != Git::None {
        git(&pkg, &env.home, &["init", "-q"]);
        git(&pkg, &env.home, &["add", "-A"]);
        git(
            &pkg,
            &env.home,
            &["commit", "-q", "-m", "init", "--no-gpg-sign"],
        );
        if case.git == Git::Packed {
            git(&pkg, &env.home, &["pack-refs", "--all"]);
            let heads = support::dir_names(&pkg.join(".git/refs/heads"));
            assert!(heads.is_empty(), "pack-refs left loose refs: {heads:?}");
        }
    }

    let registry = RecordingRegistry::start();
    let registry_url = match case.registry_path {
        Some(p) => format!("{}{p}", registry.url()),
        None => registry.url(),
    };
    // npm looks the token up by the registry's "nerf dart": `//host:port/`
    // plus the URL's directory (`new URL('.', registry)`), so a registry
    // path without a trailing slash loses its last segment here too.
    let nerf = url::Url::parse(&registry_url)
        .and_then(|u| u.join("."))
        .expect("registry URL");
    let nerf = nerf.as_str().trim_start_matches("http:");
    fs::write(&env.userconfig, format!("{nerf}:_authToken={TOKEN}\n")).unwrap();

    // What npm publishes: the directory, or a .tgz npm packed from it.
    let target = if case.tarball {
        let out_dir = root.join("packed");
        fs::create_dir_all(&out_dir).unwrap();
        let mut cmd = npm(&env, &["pack"]);
        cmd.arg(&pkg).arg("--pack-destination").arg(&out_dir);
        must_succeed(&support::run(cmd, &scratch, "npm-pack"), "npm pack");
        let tgz: Vec<String> = support::dir_names(&out_dir);
        assert_eq!(tgz.len(), 1, "npm pack made {tgz:?}");
        out_dir.join(&tgz[0])
    } else {
        pkg.clone()
    };

    let mut cmd = npm(&env, &["publish"]);
    cmd.arg(&target)
        .arg("--registry")
        .arg(&registry_url)
        .args(case.args);
    let out = support::run(cmd, &scratch, "npm-publish");
    must_succeed(&out, "npm publish");
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "npm printed the planted token"
    );

    let puts = registry.puts();
    assert_eq!(
        puts.len(),
        1,
        "expected one PUT, the registry saw: {:?}",
        registry
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.url))
            .collect::<Vec<_>>()
    );
    let put: &Request = &puts[0];
    assert!(
        put.header("authorization") == Some(format!("Bearer {TOKEN}").as_str()),
        "the PUT did not carry the planted token as a bearer token"
    );
    drop(registry);

    let npm_doc: Value = serde_json::from_slice(&put.body).expect("npm's body is JSON");
    let name = npm_doc["name"].as_str().expect("name").to_string();
    let version = npm_doc["dist-tags"]
        .as_object()
        .and_then(|t| t.values().next())
        .and_then(Value::as_str)
        .expect("a dist-tag")
        .to_string();

    // The PUT goes to <registry path>/<escaped name>.
    let path = format!(
        "/{}",
        case.registry_path
            .map(|p| format!("{p}/"))
            .unwrap_or_default()
    );
    assert_eq!(put.url, format!("{path}{}", document::escaped_name(&name)));

    // The same tarball bytes npm sent.
    let tarball_name = format!("{name}-{version}.tgz");
    let tgz = base64::engine::general_purpose::STANDARD
        .decode(
            npm_doc["_attachments"][&tarball_name]["data"]
                .as_str()
                .expect("tarball attachment"),
        )
        .expect("base64 tarball");
    let integrity = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(&tgz))
    );
    let shasum = hex::encode(sha1::Sha1::digest(&tgz));

    // Ours.
    let (raw, source): (Map<String, Value>, Box<dyn PackageSource>) = if case.tarball {
        let src = TarballSource::new(&tgz).expect("read npm's tarball");
        (
            src.package_json().expect("package.json in the tarball"),
            Box::new(src),
        )
    } else {
        let m = trustpub::manifest::Manifest::read_dir(&pkg).expect("read package.json");
        (m.raw, Box::new(DirSource::new(&pkg)))
    };
    let opts = DocumentOptions {
        registry: &registry_url,
        tag: case.tag,
        access: case.access,
        provenance_bundle: None,
    };
    let ours = document::build(&raw, source.as_ref(), &tgz, &integrity, &shasum, &opts)
        .unwrap_or_else(|e| panic!("document::build failed: {e} (hint: {:?})", e.hint()));

    // npm's, minus what trustpub does not send.
    let mut removed = vec!["_nodeVersion", "_npmVersion"];
    if case.tarball {
        removed.extend(["_resolved", "_integrity", "_from"]);
    }
    let mut npm_wire = put.body.clone();
    let mut npm_stripped = npm_doc.clone();
    let vdoc = npm_stripped["versions"][&version]
        .as_object_mut()
        .expect("versions[v]");
    for key in &removed {
        let Some(v) = vdoc.shift_remove(*key) else {
            if *key == "_integrity" {
                continue; // undefined when pacote had no integrity to report
            }
            panic!("npm's version document has no {key}: the case no longer shows what it removes");
        };
        let needle = [
            b",".as_slice(),
            &document::to_wire(&Value::String((*key).into())),
            b":",
            &document::to_wire(&v),
        ]
        .concat();
        npm_wire = remove_once(&npm_wire, &needle)
            .unwrap_or_else(|| panic!("{key} not found exactly once in npm's body"));
    }

    // The case still shows its behaviour.
    let npm_version_doc = &npm_stripped["versions"][&version];
    for (pointer, want) in case.expect {
        let (doc, p) = match pointer.strip_prefix('^') {
            Some(p) => (&npm_stripped, p),
            None => (npm_version_doc, *pointer),
        };
        let want: Value = serde_json::from_str(want).expect("expectation is JSON");
        assert_eq!(
            doc.pointer(p),
            Some(&want),
            "npm's document no longer has {pointer} = {want}: the case {name} needs updating"
        );
    }
    for pointer in case.absent {
        assert!(
            npm_version_doc.pointer(pointer).is_none(),
            "npm's document now has {pointer}: the case {name} needs updating"
        );
    }
    if case.git != Git::None {
        assert_eq!(
            npm_version_doc["gitHead"],
            Value::String(git_rev(&pkg)),
            "npm's gitHead"
        );
    }

    // Field by field, in key order.
    let mut diffs = Vec::new();
    compare(&npm_stripped, &ours, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{}",
        redact(&format!(
            "case {name}: our document differs from npm's ({} differences):\n{}",
            diffs.len(),
            diffs.join("\n")
        ))
    );

    // Byte for byte on the wire.
    let ours_wire = document::to_wire(&ours);
    if ours_wire != npm_wire {
        let at = ours_wire
            .iter()
            .zip(&npm_wire)
            .position(|(a, b)| a != b)
            .unwrap_or(ours_wire.len().min(npm_wire.len()));
        let ctx = |b: &[u8]| {
            let s = at.saturating_sub(60);
            let e = (at + 60).min(b.len());
            String::from_utf8_lossy(&b[s..e]).into_owned()
        };
        panic!(
            "{}",
            redact(&format!(
                "case {name}: to_wire differs from npm's body at byte {at} (npm {} bytes, ours {}):\n  npm:  {:?}\n  ours: {:?}",
                npm_wire.len(),
                ours_wire.len(),
                ctx(&npm_wire),
                ctx(&ours_wire)
            ))
        );
    }
}

/// `haystack` without the single occurrence of `needle`; `None` if it is
/// not there exactly once.
fn remove_once(haystack: &[u8], needle: &[u8]) -> Option<Vec<u8>> {
    let hits: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    if hits.len() != 1 {
        return None;
    }
    let i = hits[0];
    Some([&haystack[..i], &haystack[i + needle.len()..]].concat())
}

/// Short, printable form of a value for a difference report.
fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 160 {
        format!(
            "{}… ({} chars)",
            s.chars().take(160).collect::<String>(),
            s.len()
        )
    } else {
        s
    }
}

/// Records every difference between npm's value and ours, including the
/// order of object keys.
pub(crate) fn compare(npm: &Value, ours: &Value, path: &str, out: &mut Vec<String>) {
    match (npm, ours) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            for k in &ka {
                if !b.contains_key(*k) {
                    out.push(format!("{path}/{k}: only npm has it: {}", show(&a[*k])));
                }
            }
            for k in &kb {
                if !a.contains_key(*k) {
                    out.push(format!("{path}/{k}: only ours has it: {}", show(&b[*k])));
                }
            }
            let common_a: Vec<&&String> = ka.iter().filter(|k| b.contains_key(**k)).collect();
            let common_b: Vec<&&String> = kb.iter().filter(|k| a.contains_key(**k)).collect();
            if common_a != common_b {
                out.push(format!(
                    "{path}: key order differs\n    npm:  {common_a:?}\n    ours: {common_b:?}"
                ));
            }
            for k in ka {
                if let Some(bv) = b.get(k) {
                    compare(&a[k], bv, &format!("{path}/{k}"), out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!(
                    "{path}: npm has {} items, ours {}: npm {} ours {}",
                    a.len(),
                    b.len(),
                    show(npm),
                    show(ours)
                ));
                return;
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(x, y, &format!("{path}/{i}"), out);
            }
        }
        _ => {
            if npm != ours {
                out.push(format!("{path}: npm {} ours {}", show(npm), show(ours)));
            }
        }
    }
}
