//! `package.json`: read once, validated, and normalised the way npm's
//! `@npmcli/package-json` `normalize()` does it for packing (steps `_id`,
//! `bundleDependencies`, `scripts`, `bin`, `binDir`).
//!
//! npm itself packs almost anything; trustpub refuses a name or version that
//! the registry would refuse anyway, so the mistake shows up before any work.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::js::{to_js_string, truthy};
use crate::semver;

/// npm pack's tarball file name for `name` at `version`:
/// `@scope/name` → `scope-name-<version>.tgz`. The one place that forms it
/// (the file written, the pack record's `filename`, the publish record's).
///
/// libnpmpack: `.replace(/^@/, '').replace(/[/\\]/g, '-')`; npm's pack
/// record (`lib/utils/tar.js`) replaces only the first `@` and `/`, which is
/// the same for every name [`Manifest::parse`] accepts. The backslash matters
/// on Windows, where it would name a directory.
pub fn tarball_file_name(name: &str, version: &str) -> String {
    let name = name.strip_prefix('@').unwrap_or(name);
    format!("{}-{version}.tgz", name.replace(['/', '\\'], "-"))
}

/// What can be wrong with `package.json`. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("no package.json in {dir}")]
    Missing { dir: PathBuf },
    #[error("directory not found: {dir}")]
    NoDirectory { dir: PathBuf },
    #[error("cannot read {path}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not a regular file, or past [`crate::limits::MANIFEST_MAX`].
    #[error("cannot use {path}: {reason}")]
    Refused { path: PathBuf, reason: String },
    #[error("{path}:{line}:{column}: package.json is not valid JSON: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: package.json must hold a JSON object, found {found}")]
    NotAnObject { path: PathBuf, found: &'static str },
    #[error("{path}: field \"{field}\" is missing")]
    MissingField { path: PathBuf, field: &'static str },
    #[error("{path}: field \"{field}\" must be {expected}, found {found}")]
    WrongType {
        path: PathBuf,
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("{path}: invalid package name {name:?}: {}", reasons.join("; "))]
    InvalidName {
        path: PathBuf,
        name: String,
        reasons: Vec<String>,
    },
    #[error("{path}: invalid version {version:?}: not a semantic version")]
    InvalidVersion { path: PathBuf, version: String },
}

impl ManifestError {
    /// What the maintainer should do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ManifestError::Missing { .. } => {
                "run trustpub in the package's directory, or pass that directory as an argument".into()
            }
            ManifestError::NoDirectory { .. } => {
                "check the path: it must name the package's directory (the one holding package.json)".into()
            }
            ManifestError::Unreadable { .. } => "check the file's permissions".into(),
            ManifestError::Refused { .. } => format!(
                "package.json must be a regular file of at most {}",
                crate::limits::human(crate::limits::MANIFEST_MAX)
            ),
            ManifestError::Syntax { .. } => {
                "fix the JSON at that line and column (a trailing comma or a missing quote is the usual cause)".into()
            }
            ManifestError::NotAnObject { .. } => {
                "package.json must look like {\"name\": \"…\", \"version\": \"…\"}".into()
            }
            ManifestError::MissingField { field, .. } => match *field {
                "name" => "add a \"name\" field, for example \"name\": \"my-package\"".into(),
                _ => "add a \"version\" field, for example \"version\": \"1.0.0\"".into(),
            },
            ManifestError::WrongType { field, expected, .. } => {
                format!("make \"{field}\" {expected}")
            }
            ManifestError::InvalidName { .. } => {
                "use lower-case letters, digits, '-', '.' and '_' (not first), at most 214 characters, optionally scoped as @scope/name".into()
            }
            ManifestError::InvalidVersion { .. } => {
                "use a semantic version such as 1.0.0 or 2.1.0-beta.1".into()
            }
        })
    }
}

/// A package's manifest: the raw JSON (key order kept) plus the normalised
/// values the packer needs.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The object exactly as written in package.json.
    pub raw: Map<String, Value>,
    pub name: String,
    /// The version as written (npm pack keeps `v1.2.3` as is).
    pub version: String,
    /// Warnings for names that only old packages may use (capital letters…).
    pub name_warnings: Vec<String>,
    /// `bin` after npm-normalize-package-bin, in key order.
    pub bin: Vec<(String, String)>,
    /// `bundleDependencies` after normalisation (`true` → every dependency).
    pub bundle_dependencies: Vec<String>,
    /// `scripts` with only string values kept.
    pub scripts: Vec<(String, String)>,
}

/// The path without `.` components or a trailing `/` (`/x/.` → `/x`), for
/// printing and for scripts; `..` stays (symlinks are not resolved).
pub fn clean_path(p: &Path) -> PathBuf {
    p.components().collect()
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Manifest {
    /// Reads `<dir>/package.json`.
    pub fn read_dir(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join("package.json");
        let bytes = match crate::limits::read_file(&path, crate::limits::MANIFEST_MAX) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = clean_path(dir);
                return Err(if dir.is_dir() {
                    ManifestError::Missing { dir }
                } else {
                    ManifestError::NoDirectory { dir }
                });
            }
            Err(e) if crate::limits::is_refusal(&e) => {
                return Err(ManifestError::Refused {
                    path,
                    reason: e.to_string(),
                })
            }
            Err(source) => return Err(ManifestError::Unreadable { path, source }),
        };
        let mut m = Manifest::parse(&bytes, &path)?;
        m.expand_bin_directory(dir);
        Ok(m)
    }

    /// Parses and validates package.json bytes; `path` is only used in messages.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Manifest, ManifestError> {
        // npm strips a UTF-8 byte order mark before parsing.
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ManifestError::Syntax {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        let raw = match value {
            Value::Object(map) => map,
            other => {
                return Err(ManifestError::NotAnObject {
                    path: path.to_path_buf(),
                    found: type_name(&other),
                })
            }
        };
        let string_field = |field: &'static str| -> Result<String, ManifestError> {
            match raw.get(field) {
                None | Some(Value::Null) => Err(ManifestError::MissingField {
                    path: path.to_path_buf(),
                    field,
                }),
                Some(Value::String(s)) if s.is_empty() => Err(ManifestError::MissingField {
                    path: path.to_path_buf(),
                    field,
                }),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(ManifestError::WrongType {
                    path: path.to_path_buf(),
                    field: field.to_string(),
                    expected: "a string",
                    found: type_name(other),
                }),
            }
        };
        let name = string_field("name")?;
        let version = string_field("version")?;
        let check = validate_name(&name);
        if !check.errors.is_empty() {
            return Err(ManifestError::InvalidName {
                path: path.to_path_buf(),
                name,
                reasons: check.errors,
            });
        }
        if semver::valid(&version, true).is_none() {
            return Err(ManifestError::InvalidVersion {
                path: path.to_path_buf(),
                version,
            });
        }
        if let Some(files) = raw.get("files") {
            let ok = match files {
                Value::Array(items) => items.iter().all(Value::is_string),
                _ => false,
            };
            if !ok {
                return Err(ManifestError::WrongType {
                    path: path.to_path_buf(),
                    field: "files".into(),
                    expected: "an array of strings",
                    found: match files {
                        Value::Array(_) => "an array with a non-string entry",
                        other => type_name(other),
                    },
                });
            }
        }
        let bin = normalize_bin(&name, raw.get("bin"));
        let bundle_dependencies = normalize_bundle(&raw);
        let scripts = match raw.get("scripts") {
            Some(Value::Object(s)) => s
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect(),
            _ => Vec::new(),
        };
        Ok(Manifest {
            raw,
            name,
            version,
            name_warnings: check.warnings,
            bin,
            bundle_dependencies,
            scripts,
        })
    }

    /// A dependency's manifest read without validation, as Arborist reads
    /// packages under `node_modules`.
    pub fn lenient(raw: Map<String, Value>) -> Manifest {
        let field = |f: &str| raw.get(f).and_then(Value::as_str).unwrap_or("").to_string();
        let name = field("name");
        let version = field("version");
        let bin = normalize_bin(&name, raw.get("bin"));
        let bundle_dependencies = normalize_bundle(&raw);
        Manifest {
            name,
            version,
            name_warnings: Vec::new(),
            bin,
            bundle_dependencies,
            scripts: Vec::new(),
            raw,
        }
    }

    /// `<name>@<version>`, npm's `_id`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// npm pack's file name: `@scope/name` → `scope-name-<version>.tgz`.
    pub fn tarball_name(&self) -> String {
        tarball_file_name(&self.name, &self.version)
    }

    /// A string-valued top-level field.
    pub fn str_field(&self, field: &str) -> Option<&str> {
        self.raw.get(field).and_then(Value::as_str)
    }

    /// The `files` entries, when the field is present.
    pub fn files(&self) -> Option<Vec<&str>> {
        self.raw
            .get("files")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
    }

    /// `main` and `browser` as npm-packlist uses them: `${value}` interpolated
    /// into a rule, so a non-string becomes its JavaScript string form.
    pub fn js_string_field(&self, field: &str) -> Option<String> {
        self.raw.get(field).filter(|v| truthy(v)).map(to_js_string)
    }

    /// Names of a dependency map (`dependencies`, `optionalDependencies`, …) in order.
    pub fn dependency_names(&self, field: &str) -> Vec<String> {
        match self.raw.get(field) {
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The script for a lifecycle event, if any.
    pub fn script(&self, event: &str) -> Option<&str> {
        self.scripts
            .iter()
            .find(|(k, _)| k == event)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the manifest declares workspaces (Arborist then gives every
    /// subdirectory npm-packlist's full rule list).
    pub fn has_workspaces(&self) -> bool {
        matches!(
            self.raw.get("workspaces"),
            Some(Value::Array(_) | Value::Object(_))
        )
    }

    /// The `binDir` step: `directories.bin` without `bin` lists that directory.
    fn expand_bin_directory(&mut self, dir: &Path) {
        if self.raw.get("bin").is_some_and(|b| !b.is_null()) {
            return;
        }
        let Some(bin_dir) = self
            .raw
            .get("directories")
            .and_then(|d| d.get("bin"))
            .and_then(Value::as_str)
        else {
            return;
        };
        let bin_path = secure_and_unixify(bin_dir);
        let mut found = Vec::new();
        collect_visible_files(&dir.join(&bin_path), "", &mut found);
        found.sort();
        let mut bins: Vec<(String, String)> = Vec::new();
        for rel in found {
            let base = rel.rsplit('/').next().unwrap_or(&rel).to_string();
            let target = format!("{bin_path}/{rel}");
            match bins.iter_mut().find(|(k, _)| *k == base) {
                Some(slot) => slot.1 = target,
                None => bins.push((base, target)),
            }
        }
        self.bin = bins;
    }
}

/// Files below `dir` whose path has no dot-segment (tinyglobby's `**`).
fn collect_visible_files(dir: &Path, rel: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let path = entry.path();
        if path.is_dir() {
            collect_visible_files(&path, &child, out);
        } else if path.is_file() {
            out.push(child);
        }
    }
}

/// `path.join('/', p).slice(1)` after turning `\` into `/`: a relative,
/// normalised path that cannot climb out of the package.
pub fn secure_and_unixify(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = parts.join("/");
    if (p.ends_with('/') || p.ends_with('\\')) && !out.is_empty() {
        out.push('/');
    }
    out
}

/// npm-normalize-package-bin.
fn normalize_bin(name: &str, bin: Option<&Value>) -> Vec<(String, String)> {
    let pairs: Vec<(String, Value)> = match bin {
        Some(Value::String(s)) if !s.is_empty() => {
            if name.is_empty() {
                return Vec::new();
            }
            vec![(name.to_string(), Value::String(s.clone()))]
        }
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(|k| {
                let base = k.rsplit('/').next().unwrap_or(k).to_string();
                (base, Value::String(k.to_string()))
            })
            .collect(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => return Vec::new(),
    };
    let mut clean: Vec<(String, String)> = Vec::new();
    for (key, target) in pairs {
        let key_path = key.replace(['\\', ':'], "/");
        let base = secure_and_unixify(key_path.rsplit('/').next().unwrap_or(""));
        let Value::String(target) = target else {
            continue;
        };
        if base.is_empty() {
            continue;
        }
        let target = secure_and_unixify(&target.replace('\\', "/"));
        if target.is_empty() {
            continue;
        }
        match clean.iter_mut().find(|(k, _)| *k == base) {
            Some(slot) => slot.1 = target,
            None => clean.push((base, target)),
        }
    }
    clean
}

/// The `bundledDependencies`/`bundleDependencies` steps.
fn normalize_bundle(raw: &Map<String, Value>) -> Vec<String> {
    let bd = raw
        .get("bundleDependencies")
        .or_else(|| raw.get("bundledDependencies"));
    match bd {
        Some(Value::Bool(true)) => match raw.get("dependencies") {
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        },
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The outcome of validate-npm-package-name.
#[derive(Debug, Default)]
pub struct NameCheck {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Node's built-in modules as validate-npm-package-name lists them.
const BUILTINS: &[&str] = &[
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// JavaScript's `encodeURIComponent(s) === s`: only unreserved characters.
fn is_uri_component(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c))
}

/// validate-npm-package-name 6 (as bundled with npm 11).
pub fn validate_name(name: &str) -> NameCheck {
    let mut c = NameCheck::default();
    if name.is_empty() {
        c.errors
            .push("name length must be greater than zero".into());
    }
    if name.starts_with('.') {
        c.errors.push("name cannot start with a period".into());
    }
    if name.starts_with('-') {
        c.errors.push("name cannot start with a hyphen".into());
    }
    if name.starts_with('_') {
        c.errors.push("name cannot start with an underscore".into());
    }
    if name.trim() != name {
        c.errors
            .push("name cannot contain leading or trailing spaces".into());
    }
    for excluded in ["node_modules", "favicon.ico"] {
        if name.to_lowercase() == excluded {
            c.errors
                .push(format!("{excluded} is not a valid package name"));
        }
    }
    if BUILTINS.contains(&name.to_lowercase().as_str()) {
        c.warnings.push(format!("{name} is a core module name"));
    }
    if name.chars().count() > 214 {
        c.warnings
            .push("name can no longer contain more than 214 characters".into());
    }
    if name.to_lowercase() != name {
        c.warnings
            .push("name can no longer contain capital letters".into());
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(['~', '\'', '!', '(', ')', '*']) {
        c.warnings
            .push("name can no longer contain special characters (\"~'!()*\")".into());
    }
    if !is_uri_component(name) {
        let scoped = name
            .strip_prefix('@')
            .and_then(|rest| rest.split_once('/'))
            .filter(|(user, pkg)| !user.is_empty() && !pkg.is_empty() && !pkg.contains('/'));
        match scoped {
            Some((user, pkg)) => {
                if pkg.starts_with('.') {
                    c.errors.push("name cannot start with a period".into());
                }
                if !(is_uri_component(user) && is_uri_component(pkg)) {
                    c.errors
                        .push("name can only contain URL-friendly characters".into());
                }
            }
            None => c
                .errors
                .push("name can only contain URL-friendly characters".into()),
        }
    }
    c
}

/// serde_json appends " at line L column C"; the error carries those separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(json.as_bytes(), Path::new("/p/package.json"))
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse("{\n  \"name\": \"x\",\n  \"version\": \"1.0.0\",\n}\n").unwrap_err();
        match err {
            ManifestError::Syntax { line, column, .. } => assert_eq!((line, column), (4, 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_follow_validate_npm_package_name() {
        let table: &[(&str, bool, bool)] = &[
            // (name, valid for old packages, valid for new packages)
            ("ok", true, true),
            ("@scope/ok", true, true),
            ("Caps", true, false),
            ("http", true, false),
            ("with space", false, false),
            (".dot", false, false),
            ("_under", false, false),
            ("-dash", false, false),
            ("node_modules", false, false),
            ("@scope/.dot", false, false),
            ("@/x", false, false),
            ("a/b", false, false),
            ("crazy!", true, false),
            ("ünicode", false, false),
        ];
        for (name, old, new) in table {
            let c = validate_name(name);
            assert_eq!(c.errors.is_empty(), *old, "{name}: {c:?}");
            assert_eq!(
                c.errors.is_empty() && c.warnings.is_empty(),
                *new,
                "{name}: {c:?}"
            );
        }
    }

    #[test]
    fn bin_normalisation_matches_npm() {
        let m = parse(r#"{"name":"@s/tool","version":"1.0.0","bin":"./cli.js"}"#).unwrap();
        assert_eq!(
            m.bin,
            vec![("@s/tool".replace("@s/", ""), "cli.js".to_string())]
                .into_iter()
                .map(|(_, v)| ("tool".to_string(), v))
                .collect::<Vec<_>>()
        );
        let m = parse(r#"{"name":"t","version":"1.0.0","bin":{"a":"../../x/y.js","b":"","c":5,"d/e":"z.js"}}"#).unwrap();
        assert_eq!(
            m.bin,
            vec![("a".into(), "x/y.js".into()), ("e".into(), "z.js".into())]
        );
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(matches!(
            parse("[]"),
            Err(ManifestError::NotAnObject { .. })
        ));
        assert!(matches!(
            parse(r#"{"version":"1.0.0"}"#),
            Err(ManifestError::MissingField { field: "name", .. })
        ));
        assert!(matches!(
            parse(r#"{"name":"x"}"#),
            Err(ManifestError::MissingField {
                field: "version",
                ..
            })
        ));
        assert!(matches!(
            parse(r#"{"name":"x","version":"one"}"#),
            Err(ManifestError::InvalidVersion { .. })
        ));
        assert!(matches!(
            parse(r#"{"name":"x","version":"1.0.0","files":"lib"}"#),
            Err(ManifestError::WrongType { .. })
        ));
        assert_eq!(
            parse(r#"{"name":"@a/b","version":"v1.0.0"}"#)
                .unwrap()
                .tarball_name(),
            "a-b-v1.0.0.tgz"
        );
        // A backslash would make the file name a path on Windows; the name
        // check refuses it before a file name is made.
        for name in [r"a\..\b", r"..\x", r"@s/a\b"] {
            let json = serde_json::json!({"name": name, "version": "1.0.0"}).to_string();
            assert!(
                matches!(parse(&json), Err(ManifestError::InvalidName { .. })),
                "{name}"
            );
        }
    }

    #[test]
    fn main_and_browser_interpolate_as_javascript_does() {
        // `${main}` in Node 20 for each truthy value; falsy ones give no rule.
        let table = [
            ("0", None),
            ("\"\"", None),
            ("false", None),
            ("null", None),
            ("1.0", Some("1")),
            ("1e21", Some("1e+21")),
            ("true", Some("true")),
            ("{}", Some("[object Object]")),
            (
                r#"[1, null, ["a", "b"], {}, 2.5]"#,
                Some("1,,a,b,[object Object],2.5"),
            ),
        ];
        for (main, want) in table {
            let m = parse(&format!(
                r#"{{"name": "a", "version": "1.0.0", "main": {main}}}"#
            ))
            .unwrap();
            assert_eq!(m.js_string_field("main").as_deref(), want, "{main}");
        }
        let m = parse(r#"{"name": "a", "version": "1.0.0"}"#).unwrap();
        assert_eq!(m.js_string_field("browser"), None);
    }
}
