//! Lifecycle scripts, run as @npmcli/run-script runs them: through a shell
//! (see [`shell_command`]) in the package directory, `node_modules/.bin` of
//! every ancestor on PATH, and the `npm_package_*` / `npm_lifecycle_*`
//! variables over the [`Env`] it is given.
//!
//! The shell is `script-shell` when the configuration sets it, else `sh` on
//! Unix and `%ComSpec%` (`cmd.exe`) on Windows, as npm chooses it. A
//! `script-shell` from the repository's own `.npmrc` is honoured like any
//! other: it only chooses the program that reads the scripts, and those
//! scripts come from the same repository (its `package.json`), so it gives
//! the repository no power it does not already have. `--ignore-scripts`
//! runs no shell at all.
//!
//! One deliberate difference: the banner and the script's standard output go
//! to our standard error, so that standard output stays machine-readable
//! (the file name, or `--json`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::env::Env;
use crate::manifest::Manifest;
use crate::ui::Printer;

/// A script that could not run or exited non-zero.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("cannot start the {event} script of {id} with {shell}: {command}")]
    Spawn {
        id: String,
        event: String,
        command: String,
        shell: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the {event} script of {id} failed with exit code {code}: {command}")]
    Failed {
        id: String,
        event: String,
        command: String,
        code: i32,
    },
    #[error("the {event} script of {id} was killed by a signal: {command}")]
    Signalled {
        id: String,
        event: String,
        command: String,
    },
}

impl ScriptError {
    /// The script's own exit code, as npm passes it on; 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            ScriptError::Failed { code, .. } => *code,
            _ => 1,
        }
    }

    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ScriptError::Spawn { shell, .. } => format!(
                "check that {shell} is installed and on PATH (the shell comes from script-shell in .npmrc or npm_config_script_shell, else {})",
                if cfg!(windows) { "%ComSpec%" } else { "sh" }
            ),
            ScriptError::Failed { event, .. } | ScriptError::Signalled { event, .. } => format!(
                "fix the \"{event}\" script in package.json, or pass --ignore-scripts to skip lifecycle scripts"
            ),
        })
    }
}

/// How a script is started: the program, its arguments, and whether they
/// go on the Windows command line as they are (node's
/// `windowsVerbatimArguments`) instead of quoted for the C runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellCommand {
    pub program: String,
    pub args: Vec<String>,
    pub verbatim: bool,
}

/// @npmcli/promise-spawn's `spawnWithShell` for a lifecycle script (which
/// has no extra arguments). `script_shell` is the `script-shell` setting
/// (empty counts as unset, as `|| undefined` makes it); without it the shell
/// is `sh`, or on Windows `%ComSpec%` (`comspec`), else `cmd.exe`. A shell
/// whose name is `cmd` or `cmd.exe` (any case, after the last `\`) gets
/// `/d /s /c <script>` verbatim, on every platform as in npm; any other
/// gets `-c <script>`.
pub fn shell_command(
    script: &str,
    script_shell: Option<&str>,
    windows: bool,
    comspec: Option<&str>,
) -> ShellCommand {
    let program = match script_shell.filter(|s| !s.is_empty()) {
        Some(s) => s.to_string(),
        None if windows => comspec
            .filter(|s| !s.is_empty())
            .unwrap_or("cmd.exe")
            .to_string(),
        None => "sh".to_string(),
    };
    if is_cmd(&program) {
        ShellCommand {
            program,
            args: vec!["/d".into(), "/s".into(), "/c".into(), script.into()],
            verbatim: true,
        }
    } else {
        ShellCommand {
            program,
            args: vec!["-c".into(), script.into()],
            verbatim: false,
        }
    }
}

/// promise-spawn's `/(?:^|\\)cmd(?:\.exe)?$/i`.
fn is_cmd(program: &str) -> bool {
    let lower = program.to_ascii_lowercase();
    let base = lower.rsplit('\\').next().unwrap_or(&lower);
    base == "cmd" || base == "cmd.exe"
}

/// The `std::process::Command` for a [`ShellCommand`].
fn command_for(shell: &ShellCommand) -> Command {
    let mut command = Command::new(&shell.program);
    #[cfg(windows)]
    if shell.verbatim {
        use std::os::windows::process::CommandExt;
        for a in &shell.args {
            command.raw_arg(a);
        }
        return command;
    }
    command.args(&shell.args);
    command
}

/// Runs `event` if the package defines it; `extra` adds variables;
/// `script_shell` is the `script-shell` setting; `env` is the environment
/// the script starts from (and gives `ComSpec` and `PATH`).
pub fn run(
    dir: &Path,
    manifest: &Manifest,
    event: &str,
    extra: &[(&str, String)],
    script_shell: Option<&str>,
    env: &Env,
    printer: &Printer,
) -> Result<(), ScriptError> {
    let Some(cmd) = manifest.script(event) else {
        return Ok(());
    };
    let id = manifest.id();
    let mut banner = format!("\n> {id} {event}\n> {}\n", cmd.trim().replace('\n', "\n> "));
    banner.push('\n');
    printer.raw_stderr(&banner[..banner.len() - 1]);

    let shell = shell_command(cmd, script_shell, cfg!(windows), env.get("ComSpec"));
    let mut command = command_for(&shell);
    command.current_dir(dir);
    // The script's environment is `env` (as node's `process.env`, names and
    // values already text), then the package's variables.
    command.env_clear().envs(env.iter());
    for (k, v) in package_env(manifest) {
        command.env(k, v);
    }
    command
        .env("npm_package_json", dir.join("package.json"))
        .env("npm_lifecycle_event", event)
        .env("npm_lifecycle_script", cmd)
        .env("PATH", search_path(dir, env));
    for (k, v) in extra {
        command.env(k, v);
    }
    // The script's stdout goes to our stderr (see the module doc).
    #[allow(
        clippy::disallowed_methods,
        reason = "the child writes to our stderr itself; nothing is printed here"
    )]
    let stdout: Stdio = match std::io::stderr().as_fd_stdio() {
        Some(s) => s,
        None => Stdio::inherit(),
    };
    command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::inherit());
    // Its own process group, which a signal to trustpub is forwarded to
    // (crate::signals), so that nothing it started outlives trustpub. On
    // Windows it stays in ours: Ctrl+C reaches the whole console.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let spawn_err = |source| ScriptError::Spawn {
        id: id.clone(),
        event: event.to_string(),
        command: cmd.to_string(),
        shell: shell.program.clone(),
        source,
    };
    let mut child = command.spawn().map_err(spawn_err)?;
    let group = crate::signals::group(child.id());
    let status = child.wait().map_err(spawn_err)?;
    drop(group);
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(ScriptError::Failed {
            id,
            event: event.to_string(),
            command: cmd.to_string(),
            code,
        }),
        None => Err(ScriptError::Signalled {
            id,
            event: event.to_string(),
            command: cmd.to_string(),
        }),
    }
}

/// Duplicating our stderr for a child's stdout.
trait AsFdStdio {
    fn as_fd_stdio(&self) -> Option<Stdio>;
}

#[cfg(unix)]
impl AsFdStdio for std::io::Stderr {
    fn as_fd_stdio(&self) -> Option<Stdio> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned().ok().map(Stdio::from)
    }
}

#[cfg(windows)]
impl AsFdStdio for std::io::Stderr {
    fn as_fd_stdio(&self) -> Option<Stdio> {
        use std::os::windows::io::AsHandle;
        self.as_handle().try_clone_to_owned().ok().map(Stdio::from)
    }
}

/// `node_modules/.bin` of the package and every ancestor, then PATH.
fn search_path(dir: &Path, env: &Env) -> std::ffi::OsString {
    let mut parts: Vec<PathBuf> = dir
        .ancestors()
        .map(|p| p.join("node_modules").join(".bin"))
        .collect();
    if let Some(path) = env.get("PATH") {
        parts.extend(std::env::split_paths(path));
    }
    let mut seen = std::collections::HashSet::new();
    parts.retain(|p| seen.insert(p.clone()));
    std::env::join_paths(parts).unwrap_or_default()
}

/// run-script's `packageEnvs`: name, version, config, engines, bin.
fn package_env(m: &Manifest) -> Vec<(String, String)> {
    let mut out = Vec::new();
    out.push(("npm_package_name".to_string(), m.name.clone()));
    out.push(("npm_package_version".to_string(), m.version.clone()));
    for key in ["config", "engines"] {
        if let Some(v) = m.raw.get(key) {
            flatten(&format!("npm_package_{key}"), v, &mut out);
        }
    }
    for (name, target) in &m.bin {
        out.push((format!("npm_package_bin_{name}"), target.clone()));
    }
    out
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Null | Value::Bool(false) => out.push((prefix.to_string(), String::new())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{prefix}_{i}"), item, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                flatten(&format!("{prefix}_{k}"), item, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(program: &str, args: &[&str], verbatim: bool) -> ShellCommand {
        ShellCommand {
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            verbatim,
        }
    }

    #[test]
    fn the_shell_is_chosen_as_npm_chooses_it() {
        let script = r#"node build.js && echo "done" > out.txt"#;
        // Unix: sh, or script-shell.
        assert_eq!(
            shell_command(script, None, false, Some("C:\\x\\cmd.exe")),
            sc("sh", &["-c", script], false)
        );
        assert_eq!(
            shell_command(script, Some(""), false, None),
            sc("sh", &["-c", script], false)
        );
        assert_eq!(
            shell_command(script, Some("/bin/bash"), false, None),
            sc("/bin/bash", &["-c", script], false)
        );
        // Windows: %ComSpec%, else cmd.exe, with /d /s /c and the script
        // verbatim (no quoting, no escaping: lifecycle scripts have no
        // extra arguments to escape).
        assert_eq!(
            shell_command(script, None, true, Some("C:\\WINDOWS\\system32\\cmd.exe")),
            sc(
                "C:\\WINDOWS\\system32\\cmd.exe",
                &["/d", "/s", "/c", script],
                true
            )
        );
        assert_eq!(
            shell_command(script, None, true, None),
            sc("cmd.exe", &["/d", "/s", "/c", script], true)
        );
        assert_eq!(
            shell_command(script, None, true, Some("")),
            sc("cmd.exe", &["/d", "/s", "/c", script], true)
        );
        // script-shell wins on Windows too; Git Bash gets -c.
        assert_eq!(
            shell_command(
                script,
                Some("C:\\Program Files\\Git\\bin\\bash.exe"),
                true,
                Some("cmd.exe")
            ),
            sc(
                "C:\\Program Files\\Git\\bin\\bash.exe",
                &["-c", script],
                false
            )
        );
        // promise-spawn's cmd test is by name, whatever the platform.
        for name in ["cmd", "CMD.EXE", "C:\\Windows\\System32\\Cmd.Exe"] {
            assert_eq!(
                shell_command("x", Some(name), false, None),
                sc(name, &["/d", "/s", "/c", "x"], true),
                "{name}"
            );
        }
        for name in ["/usr/bin/cmd", "cmd.exe.bak", "xcmd", "pwsh.exe"] {
            assert_eq!(
                shell_command("x", Some(name), true, None),
                sc(name, &["-c", "x"], false),
                "{name}"
            );
        }
    }

    #[test]
    fn package_env_flattens_like_run_script() {
        let m = Manifest::parse(
            br#"{"name":"a","version":"1.0.0","config":{"port":8080,"x":{"y":[true,null]}},"engines":{"node":">=18"},"bin":"cli.js"}"#,
            Path::new("package.json"),
        )
        .unwrap();
        let env = package_env(&m);
        let get = |k: &str| env.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        assert_eq!(get("npm_package_config_port"), Some("8080"));
        assert_eq!(get("npm_package_config_x_y_0"), Some("true"));
        assert_eq!(get("npm_package_config_x_y_1"), Some(""));
        assert_eq!(get("npm_package_engines_node"), Some(">=18"));
        assert_eq!(get("npm_package_bin_a"), Some("cli.js"));
    }
}
