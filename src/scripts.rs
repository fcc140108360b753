//! Lifecycle scripts, run as @npmcli/run-script runs them: `sh -c <script>`
//! in the package directory, `node_modules/.bin` of every ancestor on PATH,
//! and the `npm_package_*` / `npm_lifecycle_*` variables.
//!
//! One deliberate difference: the banner and the script's standard output go
//! to our standard error, so that standard output stays machine-readable
//! (the file name, or `--json`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::manifest::Manifest;
use crate::ui::Printer;

/// A script that could not run or exited non-zero.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("cannot start the {event} script of {id}: {command}")]
    Spawn {
        id: String,
        event: String,
        command: String,
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
            ScriptError::Spawn { .. } => "check that sh is installed and on PATH".into(),
            ScriptError::Failed { event, .. } | ScriptError::Signalled { event, .. } => format!(
                "fix the \"{event}\" script in package.json, or pass --ignore-scripts to skip lifecycle scripts"
            ),
        })
    }
}

/// Runs `event` if the package defines it; `extra` adds variables.
pub fn run(
    dir: &Path,
    manifest: &Manifest,
    event: &str,
    extra: &[(&str, String)],
    printer: &Printer,
) -> Result<(), ScriptError> {
    let Some(cmd) = manifest.script(event) else {
        return Ok(());
    };
    let id = manifest.id();
    let mut banner = format!("\n> {id} {event}\n> {}\n", cmd.trim().replace('\n', "\n> "));
    banner.push('\n');
    printer.raw_stderr(&banner[..banner.len() - 1]);

    let mut command = Command::new("sh");
    command.arg("-c").arg(cmd).current_dir(dir);
    for (k, v) in package_env(manifest) {
        command.env(k, v);
    }
    command
        .env("npm_package_json", dir.join("package.json"))
        .env("npm_lifecycle_event", event)
        .env("npm_lifecycle_script", cmd)
        .env("PATH", search_path(dir));
    for (k, v) in extra {
        command.env(k, v);
    }
    // The script's stdout goes to our stderr (see the module doc).
    let stdout: Stdio = match std::io::stderr().as_fd_stdio() {
        Some(s) => s,
        None => Stdio::inherit(),
    };
    command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::inherit());
    // Its own process group, which a signal to trustpub is forwarded to
    // (crate::signals), so that nothing it started outlives trustpub.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let spawn_err = |source| ScriptError::Spawn {
        id: id.clone(),
        event: event.to_string(),
        command: cmd.to_string(),
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

impl AsFdStdio for std::io::Stderr {
    fn as_fd_stdio(&self) -> Option<Stdio> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned().ok().map(Stdio::from)
    }
}

/// `node_modules/.bin` of the package and every ancestor, then PATH.
fn search_path(dir: &Path) -> std::ffi::OsString {
    let mut parts: Vec<PathBuf> = dir
        .ancestors()
        .map(|p| p.join("node_modules").join(".bin"))
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        parts.extend(std::env::split_paths(&path));
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
