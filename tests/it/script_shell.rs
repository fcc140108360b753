//! `script-shell`, differentially against npm 11.19.1: `npm pack` and
//! `trustpub pack` start prepack, prepare and postpack through the same
//! program with the same arguments, whether the setting comes from
//! `npm_config_script_shell` or from the project `.npmrc`, and both use
//! `sh -c` without it; and with `ignore-scripts=true` in the project `.npmrc`
//! neither starts any.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support;

/// A shell that records its arguments (one line per start, `|` after each)
/// in `log`, then runs them with `/bin/sh`.
fn recording_shell(dir: &Path, log: &Path) -> PathBuf {
    let shell = dir.join("recording-shell");
    fs::write(
        &shell,
        format!(
            "#!/bin/sh\nprintf '%s|' \"$@\" >> '{}'\nprintf '\\n' >> '{}'\nexec /bin/sh \"$@\"\n",
            log.display(),
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&shell, fs::Permissions::from_mode(0o755)).unwrap();
    shell
}

fn write_package(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("package.json"),
        r#"{"name":"shell-pkg","version":"1.0.0","scripts":{"prepack":"echo \"built by $npm_lifecycle_event\" > gen.txt","prepare":"test -f gen.txt","postpack":"echo done"}}"#,
    )
    .unwrap();
    fs::write(dir.join("index.js"), "module.exports = 1;\n").unwrap();
}

#[derive(Clone, Copy)]
enum From {
    Nothing,
    Env,
    ProjectNpmrc,
    /// `ignore-scripts=true` next to `script-shell` in the project `.npmrc`.
    IgnoredByNpmrc,
    /// A project `.npmrc` npm cannot use: values of the wrong type.
    BadValues,
    /// A project `.npmrc` that is a directory.
    NpmrcDirectory,
    /// `ignore-scripts=true` next to a value npm cannot use.
    IgnoredNextToABadValue,
}

/// Packs a fresh copy with `program` ("npm" or "trustpub"); returns the
/// shell log and the generated file.
fn pack(scratch: &Path, program: &str, from: From) -> (String, String) {
    let root = scratch.join(program);
    let pkg = root.join("pkg");
    let home = root.join("home");
    fs::create_dir_all(&home).unwrap();
    write_package(&pkg);
    let log = root.join("shell.log");
    let shell = recording_shell(&root, &log);
    let mut cmd = if program == "npm" {
        let mut c = Command::new(support::npm_program());
        c.arg("pack")
            .arg("--cache")
            .arg(root.join("cache"))
            .args(["--no-update-notifier", "--offline"]);
        c
    } else {
        let mut c = Command::new(support::trustpub_bin());
        c.arg("pack");
        c
    };
    cmd.current_dir(&pkg).arg("--pack-destination").arg(&root);
    support::apply_env(&mut cmd, &home);
    match from {
        From::Nothing => {}
        From::Env => {
            cmd.env("npm_config_script_shell", &shell);
        }
        From::ProjectNpmrc => {
            fs::write(
                pkg.join(".npmrc"),
                format!("script-shell={}\n", shell.display()),
            )
            .unwrap();
        }
        From::IgnoredByNpmrc => {
            fs::write(
                pkg.join(".npmrc"),
                format!("script-shell={}\nignore-scripts=true\n", shell.display()),
            )
            .unwrap();
        }
        From::BadValues => {
            fs::write(pkg.join(".npmrc"), "fetch-timeout=abc\naccess=foo\n").unwrap();
        }
        From::NpmrcDirectory => fs::create_dir(pkg.join(".npmrc")).unwrap(),
        From::IgnoredNextToABadValue => fs::write(
            pkg.join(".npmrc"),
            format!(
                "script-shell={}\nignore-scripts=true\nfetch-retries=abc\n",
                shell.display()
            ),
        )
        .unwrap(),
    }
    let out = support::run(cmd, &root, program);
    assert!(out.status.success(), "{}", out.describe());
    assert!(
        root.join("shell-pkg-1.0.0.tgz").is_file(),
        "{}",
        out.describe()
    );
    let log = fs::read_to_string(&log).unwrap_or_default();
    let gen = fs::read_to_string(pkg.join("gen.txt")).unwrap_or_default();
    (log, gen)
}

fn check(from: From) {
    support::require_npm();
    let scratch = tempfile::tempdir().unwrap();
    let (npm_log, npm_gen) = pack(scratch.path(), "npm", from);
    let (our_log, our_gen) = pack(scratch.path(), "trustpub", from);
    assert_eq!(our_log, npm_log, "the shell's arguments differ from npm's");
    assert_eq!(our_gen, npm_gen);
    match from {
        From::IgnoredByNpmrc | From::IgnoredNextToABadValue => {
            assert_eq!(npm_gen, "", "npm ran prepack despite ignore-scripts")
        }
        _ => assert_eq!(npm_gen, "built by prepack\n"),
    }
    match from {
        From::IgnoredByNpmrc | From::IgnoredNextToABadValue => {
            assert_eq!(npm_log, "", "npm started a shell despite ignore-scripts")
        }
        From::Nothing | From::BadValues | From::NpmrcDirectory => {
            assert_eq!(npm_log, "", "npm used script-shell without one set")
        }
        From::Env | From::ProjectNpmrc => assert_eq!(
            npm_log,
            "-c|echo \"built by $npm_lifecycle_event\" > gen.txt|\n-c|test -f gen.txt|\n-c|echo done|\n",
            "npm did not start the scripts through script-shell"
        ),
    }
}

#[test]
fn script_shell_from_env_runs_every_pack_script() {
    check(From::Env);
}

#[test]
fn script_shell_from_the_project_npmrc_runs_every_pack_script() {
    check(From::ProjectNpmrc);
}

#[test]
fn without_script_shell_scripts_run_with_sh() {
    check(From::Nothing);
}

#[test]
fn ignore_scripts_in_the_project_npmrc_runs_no_pack_script() {
    check(From::IgnoredByNpmrc);
}

/// npm packs on (with a warning) when it cannot use the configuration, and
/// so does trustpub: a broken `.npmrc` must not stop `pack`.
#[test]
fn a_project_npmrc_npm_cannot_use_does_not_stop_pack() {
    check(From::BadValues);
    check(From::NpmrcDirectory);
    // npm drops only the bad value: ignore-scripts=true still holds.
    check(From::IgnoredNextToABadValue);
}
