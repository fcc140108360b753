//! The only place that reads the process environment.
//!
//! Every stage takes an [`Env`]: the binary builds one with
//! [`Env::from_process`], tests build one with [`Env::from_pairs`], and nothing
//! ever mutates the real environment. The map keeps the order in which the
//! variables came, because npm's `loadEnv` (`@npmcli/config/lib/index.js`)
//! walks `process.env` in that order and the last of two variables naming
//! the same setting (`npm_config_tag` and `NPM_CONFIG_TAG`) wins.
//!
//! On Windows variable names are case-insensitive (`Path` is `PATH`,
//! `ComSpec` is `COMSPEC`), as they are for the system and for node's
//! `process.env` there; [`Env::get`] follows that.

use std::path::PathBuf;

/// An ordered, immutable map of environment variables.
///
/// An empty value counts as set (`get` returns `Some("")`); callers decide
/// what empty means, as npm does (`loadEnv` skips empty `npm_config_*`, while
/// `${VAR}` expansion substitutes the empty string).
#[derive(Clone, Default)]
pub struct Env {
    vars: Vec<(String, String)>,
    /// The home directory from the OS user database, for when `HOME` is
    /// unset (node's `os.homedir()`); only captured by `from_process`.
    os_home: Option<PathBuf>,
}

impl Env {
    /// The current process environment. Variables whose name or value is not
    /// UTF-8 are converted lossily, as node does when it builds `process.env`.
    pub fn from_process() -> Env {
        // The one read of the process environment (clippy.toml).
        #[allow(clippy::disallowed_methods)]
        let mut env = Env::from_pairs(std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        }));
        // `home_dir` is node's `os.homedir()`: `$HOME` or the user
        // database on Unix; `%USERPROFILE%` or the profile directory on
        // Windows (since Rust 1.85, as libuv's `uv_os_homedir`).
        #[allow(deprecated, clippy::disallowed_methods)]
        let home = std::env::home_dir();
        env.os_home = home;
        env
    }

    /// An environment made of exactly these pairs (for tests). A repeated
    /// name keeps its first position and its last value.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Env
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut vars: Vec<(String, String)> = Vec::new();
        for (k, v) in pairs {
            let (k, v) = (k.into(), v.into());
            match vars.iter_mut().find(|(name, _)| *name == k) {
                Some(slot) => slot.1 = v,
                None => vars.push((k, v)),
            }
        }
        Env {
            vars,
            os_home: None,
        }
    }

    /// The value of `name` (case-sensitive, as on Unix).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| same_name(k, name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name` when it is set and not empty.
    pub fn get_non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// All variables, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The user's home directory as npm finds it: `HOME` when it is set and
    /// not empty, else the OS user database (`os.homedir()`), which only an
    /// environment made by [`Env::from_process`] knows.
    pub fn home_dir(&self) -> Option<PathBuf> {
        self.get_non_empty("HOME")
            .map(PathBuf::from)
            .or_else(|| self.os_home.clone())
    }

    /// A copy with `name` set to `value` (tests and child processes).
    pub fn with(&self, name: &str, value: &str) -> Env {
        let mut env = self.clone();
        match env.vars.iter_mut().find(|(k, _)| same_name(k, name)) {
            Some(slot) => slot.1 = value.to_string(),
            None => env.vars.push((name.to_string(), value.to_string())),
        }
        env
    }
}

/// Whether two variable names are the same variable on this platform.
fn same_name(a: &str, b: &str) -> bool {
    names_match(a, b, cfg!(windows))
}

/// Variable-name equality, case-insensitive on Windows.
pub fn names_match(a: &str, b: &str, windows: bool) -> bool {
    if windows {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

impl std::fmt::Debug for Env {
    /// Names only: values can be tokens (`NODE_AUTH_TOKEN`, `NPM_TOKEN`, ...).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field(
                "names",
                &self.vars.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_empty_values_and_repeats() {
        let env = Env::from_pairs([("B", "1"), ("A", ""), ("B", "2")]);
        assert_eq!(env.get("B"), Some("2"));
        assert_eq!(env.get("A"), Some(""));
        assert_eq!(env.get_non_empty("A"), None);
        assert_eq!(env.get("b").is_some(), cfg!(windows));
        let names: Vec<&str> = env.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["B", "A"]);
    }

    #[test]
    fn names_are_case_insensitive_on_windows_only() {
        assert!(names_match("Path", "PATH", true));
        assert!(names_match("ComSpec", "COMSPEC", true));
        assert!(!names_match("Path", "PATH", false));
        assert!(names_match("PATH", "PATH", false));
        assert!(!names_match("PATH", "PATHEXT", true));
    }

    #[test]
    fn home_and_debug() {
        let env = Env::from_pairs([("HOME", "/home/u"), ("NODE_AUTH_TOKEN", "npm_secret")]);
        assert_eq!(env.home_dir(), Some(PathBuf::from("/home/u")));
        assert_eq!(Env::from_pairs([("HOME", "")]).home_dir(), None);
        let dbg = format!("{env:?}");
        assert!(
            dbg.contains("NODE_AUTH_TOKEN") && !dbg.contains("npm_secret"),
            "{dbg}"
        );
        assert_eq!(env.with("X", "1").get("X"), Some("1"));
    }
}
