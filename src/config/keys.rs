//! What npm knows about each config key: its type (from
//! `@npmcli/config/lib/definitions/definitions.js`), how a raw value becomes
//! a typed one (`parse-field.js`, then nopt's `clean`/type-defs), how an
//! environment variable names a key (`loadEnv` in `index.js`), and which
//! keys npm would warn about as unknown (`checkUnknown`).
//!
//! Values are held as `serde_json::Value` because that is what npm holds:
//! the `ini` package can already produce booleans, numbers and arrays, and
//! `publishConfig` values arrive as JSON.

use std::path::{Component, Path, PathBuf};

use serde_json::Value as Json;

use super::expand::{env_replace, Expanded};
use crate::env::Env;
use crate::js::js_trim;

/// `Number(s)` / unary `+s` in JavaScript; `None` where it gives `NaN`.
pub fn js_to_number(s: &str) -> Option<f64> {
    let t = js_trim(s);
    if t.is_empty() {
        return Some(0.0);
    }
    let (sign, body) = match t.as_bytes()[0] {
        b'+' => (1.0, &t[1..]),
        b'-' => (-1.0, &t[1..]),
        _ => (1.0, t),
    };
    if body == "Infinity" {
        return Some(sign * f64::INFINITY);
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            // No sign is allowed before a radix prefix.
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            return Some(digits.chars().fold(0.0, |acc, c| {
                acc * f64::from(radix) + f64::from(c.to_digit(radix).unwrap_or(0))
            }));
        }
    }
    // StrDecimalLiteral: digits [. digits] [e[+-]digits], or . digits ...
    let b = body.as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits == 0 {
            return None;
        }
        i += exp_digits;
    }
    if i != b.len() {
        return None;
    }
    body.parse::<f64>().ok().map(|f| sign * f)
}

/// A JSON number that prints as JavaScript would (`5`, not `5.0`);
/// `None` for infinities, which JSON cannot hold.
pub fn number_json(f: f64) -> Option<Json> {
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        Some(Json::from(f as i64))
    } else {
        serde_json::Number::from_f64(f).map(Json::Number)
    }
}

/// The type of a config key, as far as trustpub reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `url`: `registry`.
    Url,
    /// `String`: `tag`, `scope`.
    Str,
    /// `[null, String]`: `otp`, `_auth`.
    NullableStr,
    /// `Boolean`.
    Bool,
    /// `[null, Boolean]`: `workspaces`.
    NullableBool,
    /// `Number`: the `fetch-*` keys.
    Number,
    /// `path`: `userconfig`, `globalconfig`, `prefix`, `provenance-file`.
    Path,
    /// A fixed list of strings, optionally with `null`.
    Enum {
        values: &'static [&'static str],
        nullable: bool,
    },
    /// A key npm defines whose value trustpub never reads. Treated like a
    /// string for parsing, never validated.
    Other,
    /// A key npm has no definition for (`//host/:_authToken`,
    /// `@scope:registry`, anything misspelt).
    Unknown,
}

/// The type npm gives `key`.
pub fn key_type(key: &str) -> KeyType {
    match key {
        "registry" => KeyType::Url,
        "tag" | "scope" => KeyType::Str,
        "otp" | "_auth" | "script-shell" => KeyType::NullableStr,
        "provenance" | "dry-run" | "force" | "ignore-scripts" | "global" | "foreground-scripts"
        | "strict-ssl" => KeyType::Bool,
        "workspaces" => KeyType::NullableBool,
        "fetch-retries"
        | "fetch-retry-factor"
        | "fetch-retry-mintimeout"
        | "fetch-retry-maxtimeout"
        | "fetch-timeout" => KeyType::Number,
        "userconfig" | "globalconfig" | "prefix" | "provenance-file" | "cafile" => KeyType::Path,
        "access" => KeyType::Enum {
            values: &["restricted", "public", "private"],
            nullable: true,
        },
        "auth-type" => KeyType::Enum {
            values: &["legacy", "web"],
            nullable: false,
        },
        "location" => KeyType::Enum {
            values: &["user", "global", "project"],
            nullable: false,
        },
        k if DEFINED_KEYS.contains(&k) => KeyType::Other,
        _ => KeyType::Unknown,
    }
}

/// Where relative paths and `~/` resolve.
pub struct PathBase<'a> {
    pub cwd: &'a Path,
    pub home: Option<&'a Path>,
}

/// `path.resolve(base, p)`: absolute, with `.`/`..` and repeated or trailing
/// slashes removed, without touching the file system. On Windows `/` in `p`
/// separates components too (as in node's `path.win32`), also after a
/// `\\?\` prefix, where the system would not take it as one.
pub fn resolve_path(base: &Path, p: &str) -> PathBuf {
    let joined = if cfg!(windows) {
        base.join(p.replace('/', "\\"))
    } else {
        base.join(p)
    };
    let mut out = PathBuf::new();
    for comp in joined.components() {
        match comp {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            // Pushed as text: `PathBuf::push` of a root after a verbatim
            // prefix (`\\?\C:`) would drop the separator.
            Component::Prefix(prefix) => out.as_mut_os_string().push(prefix.as_os_str()),
            Component::RootDir => out.as_mut_os_string().push(std::path::MAIN_SEPARATOR_STR),
            Component::Normal(name) => out.push(name),
        }
    }
    out
}

/// `parseField(value, key)` from parse-field.js: trims strings, turns
/// `true`/`false`/`null` into JSON for non-string types, expands `${VAR}`
/// (recording unset variables), resolves paths and converts numbers.
/// Arrays (from `key[]=`) pass through untouched: no key trustpub reads is a
/// list type, and npm leaves them as they are too.
pub fn parse_field(value: &Json, ty: KeyType, env: &Env, base: &PathBase) -> Parsed {
    let done = |value: Json| Parsed {
        value,
        unset: Vec::new(),
        empty: Vec::new(),
        from_env: false,
    };
    let Json::String(raw) = value else {
        return done(value.clone());
    };
    let is_path = ty == KeyType::Path;
    let is_bool = matches!(ty, KeyType::Bool | KeyType::NullableBool);
    let is_string = is_path || matches!(ty, KeyType::Str | KeyType::NullableStr | KeyType::Other);
    let is_number = ty == KeyType::Number;
    let f = js_trim(raw);
    if is_bool && !is_string && f.is_empty() {
        return done(Json::Bool(true));
    }
    if !is_string && !is_number {
        match f {
            "true" => return done(Json::Bool(true)),
            "false" => return done(Json::Bool(false)),
            "null" | "undefined" => return done(Json::Null),
            _ => {}
        }
    }
    let Expanded {
        value: f,
        unset,
        empty,
        from_env,
    } = env_replace(f, env);
    let value = if is_path {
        let p = match (f.strip_prefix("~/"), base.home) {
            (Some(rest), Some(home)) => resolve_path(home, rest),
            _ => resolve_path(base.cwd, &f),
        };
        Json::String(p.to_string_lossy().into_owned())
    } else if let Some(n) = is_number
        .then(|| js_to_number(&f).and_then(number_json))
        .flatten()
    {
        n
    } else {
        Json::String(f)
    };
    Parsed {
        value,
        unset,
        empty,
        from_env,
    }
}

/// A parsed value and what its `${VAR}` expansion found.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub value: Json,
    /// Variables left as literal `${NAME}` because they are unset.
    pub unset: Vec<String>,
    /// Variables that were set to the empty string.
    pub empty: Vec<String>,
    /// Whether a `${VAR}` was substituted from the environment.
    pub from_env: bool,
}

/// The npm config key an environment variable sets, if any
/// (`loadEnv`): the `npm_config_` prefix in any case; then, unless the rest
/// starts with `//`, every `_` but a leading one becomes `-` and the key is
/// lower-cased. (Empty values are skipped by the caller.)
pub fn env_var_key(var: &str) -> Option<String> {
    let prefix = var.get(..11)?;
    if !prefix.eq_ignore_ascii_case("npm_config_") {
        return None;
    }
    let rest = &var[11..];
    if rest.is_empty() {
        return None;
    }
    if rest.starts_with("//") {
        return Some(rest.to_string());
    }
    let mut key = String::with_capacity(rest.len());
    for (i, c) in rest.chars().enumerate() {
        key.push(if c == '_' && i > 0 { '-' } else { c });
    }
    Some(key.to_lowercase())
}

/// The keys `@npmcli/config` defines (definitions.js of npm 11.19.1).
pub const DEFINED_KEYS: &[&str] = &[
    "_auth",
    "access",
    "all",
    "allow-same-version",
    "allow-directory",
    "allow-file",
    "allow-git",
    "allow-remote",
    "allow-scripts",
    "also",
    "audit",
    "audit-level",
    "auth-type",
    "before",
    "bin-links",
    "browser",
    "bypass-2fa",
    "ca",
    "cache",
    "cache-max",
    "cache-min",
    "cafile",
    "call",
    "cert",
    "cidr",
    "color",
    "commit-hooks",
    "cpu",
    "dangerously-allow-all-scripts",
    "depth",
    "description",
    "dev",
    "diff",
    "diff-ignore-all-space",
    "diff-name-only",
    "diff-no-prefix",
    "diff-dst-prefix",
    "diff-src-prefix",
    "diff-text",
    "diff-unified",
    "dry-run",
    "editor",
    "engine-strict",
    "expect-result-count",
    "expect-results",
    "expires",
    "fetch-retries",
    "fetch-retry-factor",
    "fetch-retry-maxtimeout",
    "fetch-retry-mintimeout",
    "fetch-timeout",
    "force",
    "foreground-scripts",
    "format-package-lock",
    "fund",
    "git",
    "git-tag-version",
    "global",
    "globalconfig",
    "global-style",
    "heading",
    "https-proxy",
    "if-present",
    "ignore-scripts",
    "include",
    "include-staged",
    "include-workspace-root",
    "include-attestations",
    "init-author-email",
    "init-author-name",
    "init-author-url",
    "init-license",
    "init-module",
    "init-type",
    "init-version",
    "init-private",
    "init.author.email",
    "init.author.name",
    "init.author.url",
    "init.license",
    "init.module",
    "init.version",
    "install-links",
    "install-strategy",
    "json",
    "key",
    "legacy-bundling",
    "legacy-peer-deps",
    "libc",
    "link",
    "local-address",
    "location",
    "lockfile-version",
    "loglevel",
    "logs-dir",
    "logs-max",
    "long",
    "name",
    "maxsockets",
    "message",
    "min-release-age",
    "min-release-age-exclude",
    "node-gyp",
    "node-options",
    "noproxy",
    "offline",
    "omit",
    "omit-lockfile-registry-resolved",
    "only",
    "orgs",
    "optional",
    "os",
    "otp",
    "package",
    "package-lock",
    "package-lock-only",
    "pack-destination",
    "packages",
    "parseable",
    "allow-scripts-pending",
    "allow-scripts-pin",
    "prefer-dedupe",
    "prefer-offline",
    "prefer-online",
    "prefix",
    "preid",
    "production",
    "progress",
    "provenance",
    "provenance-file",
    "proxy",
    "read-only",
    "rebuild-bundle",
    "registry",
    "replace-registry-host",
    "save",
    "save-bundle",
    "save-dev",
    "save-exact",
    "save-optional",
    "save-peer",
    "save-prefix",
    "save-prod",
    "sbom-format",
    "sbom-type",
    "scope",
    "scopes",
    "packages-all",
    "packages-and-scopes-permission",
    "orgs-permission",
    "password",
    "token-description",
    "script-shell",
    "searchexclude",
    "searchlimit",
    "searchopts",
    "searchstaleness",
    "shell",
    "shrinkwrap",
    "sign-git-commit",
    "sign-git-tag",
    "strict-peer-deps",
    "strict-allow-scripts",
    "strict-ssl",
    "tag",
    "tag-version-prefix",
    "timing",
    "umask",
    "unicode",
    "update-notifier",
    "usage",
    "user-agent",
    "userconfig",
    "version",
    "versions",
    "viewer",
    "which",
    "workspace",
    "workspaces",
    "workspaces-update",
    "yes",
];

/// Defined keys without a `flatten`: `publishConfig` entries naming them
/// change nothing (publish.js flattens `publishConfig` into the options).
const UNFLATTENED_KEYS: &[&str] = &[
    "expect-result-count",
    "expect-results",
    "init-author-email",
    "init-author-name",
    "init-author-url",
    "init-license",
    "init-module",
    "init-type",
    "init-version",
    "init.author.email",
    "init.author.name",
    "init.author.url",
    "init.license",
    "init.module",
    "init.version",
    "link",
    "logs-dir",
    "logs-max",
    "long",
    "node-options",
    "prefix",
    "timing",
    "update-notifier",
    "usage",
    "userconfig",
    "version",
    "versions",
    "viewer",
    "which",
    "yes",
];

/// Keys that may follow a nerf dart (`//host/:<key>`) without a warning
/// (`nerfDarts` in definitions/index.js).
const NERF_DART_KEYS: &[&str] = &[
    "_auth",
    "_authToken",
    "_password",
    "certfile",
    "email",
    "keyfile",
    "username",
];

/// Keys npm itself exports as `npm_config_*` for scripts (`internalEnv`).
const INTERNAL_ENV_KEYS: &[&str] = &["npm-version", "global-prefix", "local-prefix"];

/// Whether a `publishConfig` key reaches npm's options (definitions/index.js
/// `flatten`): a defined key with a flatten function, `@scope:registry`
/// (case-insensitively), or a `//` nerf-dart key.
pub fn publish_config_flattens(key: &str) -> bool {
    if DEFINED_KEYS.contains(&key) {
        return !UNFLATTENED_KEYS.contains(&key);
    }
    is_scope_registry_key(key) || key.starts_with("//")
}

/// `/@.*:registry$/i`.
pub fn is_scope_registry_key(key: &str) -> bool {
    key.contains('@')
        && key.len() >= 9
        && key.is_char_boundary(key.len() - 9)
        && key[key.len() - 9..].eq_ignore_ascii_case(":registry")
        && key[..key.len() - 9].contains('@')
}

/// npm's `checkUnknown`: the key it would name in an "Unknown … config"
/// warning, or `None` when it knows the key.
pub fn unknown_key_name(key: &str) -> Option<String> {
    if DEFINED_KEYS.contains(&key) || INTERNAL_ENV_KEYS.contains(&key) {
        return None;
    }
    if !key.contains(':') {
        return Some(key.to_string());
    }
    let base = key.rsplit(':').next().unwrap_or(key);
    if DEFINED_KEYS.contains(&base) || NERF_DART_KEYS.contains(&base) {
        None
    } else {
        Some(base.to_string())
    }
}

/// Keys whose values are secrets: never printed, not even in `Debug`.
pub fn is_sensitive(key: &str) -> bool {
    let base = key.rsplit(':').next().unwrap_or(key);
    matches!(
        base,
        "_authToken" | "_authtoken" | "-authtoken" | "_auth" | "_password" | "password" | "otp"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn env_var_names_map_like_load_env() {
        let cases = [
            ("npm_config_registry", Some("registry")),
            ("NPM_CONFIG_REGISTRY", Some("registry")),
            ("Npm_Config_Dry_Run", Some("dry-run")),
            (
                "npm_config_fetch_retry_mintimeout",
                Some("fetch-retry-mintimeout"),
            ),
            ("npm_config__authToken", Some("_authtoken")),
            ("npm_config___x", Some("_-x")),
            (
                "npm_config_//registry.npmjs.org/:_authToken",
                Some("//registry.npmjs.org/:_authToken"),
            ),
            (
                "NPM_CONFIG_//Host.Example/:_AUTH",
                Some("//Host.Example/:_AUTH"),
            ),
            ("npm_config_@MyScope:registry", Some("@myscope:registry")),
            ("NPM_CONFIG_USERCONFIG", Some("userconfig")),
            ("npm_config_", None),
            ("npm_configregistry", None),
            ("NODE_AUTH_TOKEN", None),
            ("xnpm_config_registry", None),
        ];
        for (var, want) in cases {
            assert_eq!(env_var_key(var).as_deref(), want, "{var}");
        }
    }

    #[test]
    fn parse_field_follows_npm() {
        let env = Env::from_pairs([("X", "1"), ("T", "true")]);
        // What path.resolve gives for these POSIX-looking paths here.
        let native = |p: &str| json!(p.replace('/', std::path::MAIN_SEPARATOR_STR));
        let base = PathBase {
            cwd: Path::new("/work/pkg"),
            home: Some(Path::new("/home/u")),
        };
        let cases: Vec<(&str, Json, Json, &[&str])> = vec![
            ("tag", json!("  next "), json!("next"), &[]),
            ("tag", json!("true"), json!("true"), &[]),
            ("provenance", json!("true"), json!(true), &[]),
            ("provenance", json!(""), json!(true), &[]),
            ("provenance", json!("${T}"), json!("true"), &[]),
            ("access", json!("null"), json!(null), &[]),
            ("//h/:_authToken", json!("false"), json!(false), &[]),
            (
                "//h/:_authToken",
                json!("${NOPE}"),
                json!("${NOPE}"),
                &["NOPE"],
            ),
            ("fetch-retries", json!(" 5 "), json!(5), &[]),
            ("fetch-retries", json!("${X}"), json!(1), &[]),
            ("fetch-retries", json!("many"), json!("many"), &[]),
            ("fetch-retries", json!(""), json!(0), &[]),
            (
                "userconfig",
                json!("~/.npmrc"),
                native("/home/u/.npmrc"),
                &[],
            ),
            (
                "userconfig",
                json!("../x//y/./z/"),
                native("/work/x/y/z"),
                &[],
            ),
            ("globalconfig", json!("/abs"), native("/abs"), &[]),
            ("registry", json!(123), json!(123), &[]),
            ("registry", json!(["a"]), json!(["a"]), &[]),
        ];
        for (key, input, want, unset) in cases {
            let got = parse_field(&input, key_type(key), &env, &base);
            assert_eq!(got.value, want, "{key}={input}");
            assert_eq!(got.unset, unset, "{key}={input}");
        }
    }

    #[test]
    fn js_numbers() {
        let cases = [
            ("5", Some(5.0)),
            (" 1e3 ", Some(1000.0)),
            ("0x10", Some(16.0)),
            ("-0x10", None),
            (".5", Some(0.5)),
            ("5.", Some(5.0)),
            ("-2", Some(-2.0)),
            ("", Some(0.0)),
            ("Infinity", Some(f64::INFINITY)),
            ("inf", None),
            ("NaN", None),
            ("1_000", None),
            ("12px", None),
        ];
        for (s, want) in cases {
            assert_eq!(js_to_number(s), want, "{s:?}");
        }
    }

    #[test]
    fn unknown_and_flattened_keys() {
        assert_eq!(unknown_key_name("registry"), None);
        // Not in npm 11.19.1's internalEnv (the published tarball): npm warns.
        assert_eq!(unknown_key_name("nodedir").as_deref(), Some("nodedir"));
        assert_eq!(unknown_key_name("colour").as_deref(), Some("colour"));
        assert_eq!(unknown_key_name("//h/:_authToken"), None);
        assert_eq!(unknown_key_name("@s:registry"), None);
        assert_eq!(
            unknown_key_name("//h/:always-auth").as_deref(),
            Some("always-auth")
        );
        assert!(publish_config_flattens("access"));
        assert!(publish_config_flattens("@S:Registry"));
        assert!(publish_config_flattens("//h/:_authToken"));
        assert!(!publish_config_flattens("userconfig"));
        assert!(!publish_config_flattens("directory"));
        assert!(
            is_sensitive("//h/:_authToken") && is_sensitive("otp") && !is_sensitive("registry")
        );
    }

    /// The key lists are npm 11.19.1's own: read from the pinned npm's
    /// (tests/tools, installed from the registry by its lockfile, not a
    /// system npm that may be patched)
    /// `@npmcli/config` (its definitions, `nerfDarts`, and the `internalEnv`
    /// list in lib/index.js) and compared with trustpub's, in both directions.
    #[test]
    fn key_lists_match_the_pinned_npm_config_definitions() {
        let lib = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/tools/node_modules/npm/node_modules/@npmcli/config/lib");
        assert!(
            lib.join("definitions/index.js").is_file(),
            "{} is missing: run `npm ci` in tests/tools (the pinned npm 11.19.1)",
            lib.display()
        );
        let script = r#"
            const lib = process.argv[1];
            const d = require(lib + '/definitions/index.js');
            const src = require('fs').readFileSync(lib + '/index.js', 'utf8');
            const m = src.match(/const internalEnv = \[([^\]]*)\]/);
            if (!m) throw new Error('internalEnv not found in ' + lib + '/index.js');
            const internal = [...m[1].matchAll(/'([^']*)'/g)].map(x => x[1]);
            const defined = Object.keys(d.definitions);
            const unflattened = defined.filter(k => !d.definitions[k].flatten);
            console.log(JSON.stringify({ defined, unflattened, nerf: d.nerfDarts, internal }));
        "#;
        let out = std::process::Command::new("node")
            .arg("-e")
            .arg(script)
            .arg(&lib)
            .output()
            .expect("node must be on PATH to read npm's config definitions");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Json = serde_json::from_slice(&out.stdout).expect("JSON from node");
        let list = |k: &str| -> std::collections::BTreeSet<String> {
            v[k].as_array()
                .expect("array")
                .iter()
                .map(|x| x.as_str().expect("string").to_string())
                .collect()
        };
        let ours = |l: &[&str]| -> std::collections::BTreeSet<String> {
            l.iter().map(|s| s.to_string()).collect()
        };
        assert_eq!(ours(DEFINED_KEYS), list("defined"), "DEFINED_KEYS");
        assert_eq!(
            ours(UNFLATTENED_KEYS),
            list("unflattened"),
            "UNFLATTENED_KEYS"
        );
        assert_eq!(ours(NERF_DART_KEYS), list("nerf"), "NERF_DART_KEYS");
        assert_eq!(
            ours(INTERNAL_ENV_KEYS),
            list("internal"),
            "INTERNAL_ENV_KEYS"
        );
        for k in list("internal").iter().chain(&list("defined")) {
            assert_eq!(unknown_key_name(k), None, "npm does not warn about {k}");
        }
    }
}
