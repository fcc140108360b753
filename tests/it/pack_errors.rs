//! Bad input to `trustpub pack`: each case names the file or field and the
//! fix, exits 2 (configuration) or 1 (failure), and leaves nothing behind.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

struct Case {
    _tmp: tempfile::TempDir,
    pkg: std::path::PathBuf,
    out: std::path::PathBuf,
}

fn case(files: &[(&str, &str)]) -> Case {
    let tmp = tempfile::tempdir().expect("temp dir");
    let pkg = tmp.path().join("pkg");
    let out = tmp.path().join("out");
    fs::create_dir_all(&pkg).unwrap();
    fs::create_dir_all(&out).unwrap();
    for (path, body) in files {
        let p = pkg.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    }
    Case {
        _tmp: tmp,
        pkg,
        out,
    }
}

fn trustpub(c: &Case, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trustpub"));
    cmd.arg("pack")
        .arg(&c.pkg)
        .arg("--pack-destination")
        .arg(&c.out);
    cmd.args(extra);
    cmd.output().expect("run trustpub")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Nothing in the destination, not even a temporary file.
fn assert_nothing_written(c: &Case) {
    let left: Vec<_> = fs::read_dir(&c.out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
    let partial: Vec<_> = fs::read_dir(&c.pkg)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tgz") || n.contains("partial"))
        .collect();
    assert!(partial.is_empty(), "files left in the package: {partial:?}");
}

fn assert_fails(c: &Case, code: i32, must_say: &[&str]) -> String {
    let o = trustpub(c, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "exit code; stderr:\n{err}");
    for s in must_say {
        assert!(err.contains(s), "stderr should contain {s:?}:\n{err}");
    }
    assert!(err.contains("hint:"), "every error carries a hint:\n{err}");
    assert!(o.stdout.is_empty(), "nothing on stdout for a failure");
    assert_nothing_written(c);
    err
}

#[test]
fn missing_package_json() {
    let c = case(&[("index.js", "x")]);
    assert_fails(&c, 2, &["no package.json in", "pkg"]);
}

#[test]
fn malformed_package_json_names_line_and_column() {
    let c = case(&[(
        "package.json",
        "{\n  \"name\": \"x\",\n  \"version\": \"1.0.0\",\n}\n",
    )]);
    assert_fails(&c, 2, &["package.json:4:1", "not valid JSON"]);
}

#[test]
fn package_json_that_is_not_an_object() {
    let c = case(&[("package.json", "[1, 2]")]);
    assert_fails(&c, 2, &["must hold a JSON object", "found an array"]);
}

#[test]
fn missing_name_and_version() {
    let c = case(&[("package.json", r#"{"version":"1.0.0"}"#)]);
    assert_fails(
        &c,
        2,
        &["field \"name\" is missing", "add a \"name\" field"],
    );
    let c = case(&[("package.json", r#"{"name":"ok"}"#)]);
    assert_fails(&c, 2, &["field \"version\" is missing"]);
    let c = case(&[("package.json", r#"{"name":7,"version":"1.0.0"}"#)]);
    assert_fails(&c, 2, &["field \"name\" must be a string, found a number"]);
}

#[test]
fn invalid_names_follow_npm_rules() {
    for (name, reason) in [
        ("Bad Name", "URL-friendly"),
        (".hidden", "cannot start with a period"),
        ("_under", "cannot start with an underscore"),
        ("node_modules", "not a valid package name"),
        (" padded", "leading or trailing spaces"),
    ] {
        let c = case(&[(
            "package.json",
            &format!(r#"{{"name":{name:?},"version":"1.0.0"}}"#),
        )]);
        assert_fails(&c, 2, &["invalid package name", reason]);
    }
}

#[test]
fn invalid_versions_are_refused() {
    for v in ["1.0", "one", "1.0.0.0", "latest"] {
        let c = case(&[(
            "package.json",
            &format!(r#"{{"name":"ok","version":{v:?}}}"#),
        )]);
        assert_fails(&c, 2, &["invalid version", v, "semantic version"]);
    }
}

#[test]
fn files_entry_outside_the_package() {
    let c = case(&[
        (
            "package.json",
            r#"{"name":"ok","version":"1.0.0","files":["../secret.txt"]}"#,
        ),
        ("index.js", "x"),
    ]);
    assert_fails(&c, 2, &["\"../secret.txt\"", "outside the package"]);
    let c = case(&[(
        "package.json",
        r#"{"name":"ok","version":"1.0.0","files":"lib"}"#,
    )]);
    assert_fails(&c, 2, &["\"files\" must be an array of strings"]);
}

#[test]
fn unreadable_file_is_named() {
    let c = case(&[
        ("package.json", r#"{"name":"ok","version":"1.0.0"}"#),
        ("secret.js", "x"),
    ]);
    let secret = c.pkg.join("secret.js");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    // root reads any file, so run trustpub as an unprivileged user then.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let o = if is_root {
        for dir in [c._tmp.path(), &c.pkg, &c.out] {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
        }
        fs::set_permissions(
            c.pkg.join("package.json"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let setpriv = Path::new("/usr/bin/setpriv");
        assert!(
            setpriv.exists(),
            "this test runs as root and needs setpriv (util-linux) to drop privileges; install util-linux"
        );
        Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_trustpub"))
            .arg("pack")
            .arg(&c.pkg)
            .arg("--pack-destination")
            .arg(&c.out)
            .output()
            .expect("run trustpub as nobody")
    } else {
        trustpub(&c, &[])
    };
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot read") && err.contains("secret.js"),
        "{err}"
    );
    assert!(err.contains("Permission denied"), "{err}");
    assert_nothing_written(&c);
}

#[test]
fn failing_prepack_stops_with_its_exit_code() {
    let c = case(&[(
        "package.json",
        r#"{"name":"ok","version":"1.0.0","scripts":{"prepack":"echo preparing; exit 3"}}"#,
    )]);
    let err = assert_fails(
        &c,
        3,
        &[
            "prepack script of ok@1.0.0 failed with exit code 3",
            "--ignore-scripts",
        ],
    );
    assert!(err.contains("> ok@1.0.0 prepack"), "banner: {err}");
    // --ignore-scripts skips it.
    let o = trustpub(&c, &["--ignore-scripts"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn failing_postpack_removes_the_tarball() {
    let c = case(&[(
        "package.json",
        r#"{"name":"ok","version":"1.0.0","scripts":{"postpack":"test -f \"$INIT_OUT/ok-1.0.0.tgz\" && exit 4"}}"#,
    )]);
    let o = Command::new(env!("CARGO_BIN_EXE_trustpub"))
        .arg("pack")
        .arg(&c.pkg)
        .arg("--pack-destination")
        .arg(&c.out)
        .env("INIT_OUT", &c.out)
        .output()
        .unwrap();
    // Exit 4 proves the tarball existed while postpack ran (as with npm).
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_nothing_written(&c);
}

#[test]
fn dry_run_writes_nothing() {
    let c = case(&[
        ("package.json", r#"{"name":"ok","version":"1.0.0"}"#),
        ("a.js", "x"),
    ]);
    let o = trustpub(&c, &["--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "ok-1.0.0.tgz\n");
    assert!(stderr(&o).contains("total files: 2"), "{}", stderr(&o));
    assert_nothing_written(&c);
}

#[test]
fn missing_destination_is_a_configuration_error() {
    let c = case(&[("package.json", r#"{"name":"ok","version":"1.0.0"}"#)]);
    let o = Command::new(env!("CARGO_BIN_EXE_trustpub"))
        .arg("pack")
        .arg(&c.pkg)
        .arg("--pack-destination")
        .arg(c.out.join("nope"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_trustpub"))
        .args(["pack", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
