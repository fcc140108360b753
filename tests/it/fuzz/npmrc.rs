//! `.npmrc` files (npm's `ini` decoding, key types, `${VAR}` expansion,
//! credentials) read through `Config::load`, and `env_replace` alone.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Map, Value};
use trustpub::config::{env_replace, CliConfig, Config, Layer};
use trustpub::env::Env;

use super::{config, nasty_line, nasty_string};

/// Keys npm reads (typed), credential keys, and hostile ones.
const KEYS: &[&str] = &[
    "registry",
    "@sc:registry",
    "@SC:registry",
    "tag",
    "access",
    "otp",
    "provenance",
    "provenance-file",
    "dry-run",
    "fetch-retries",
    "fetch-retry-factor",
    "fetch-retry-mintimeout",
    "fetch-timeout",
    "userconfig",
    "globalconfig",
    "prefix",
    "location",
    "global",
    "auth-type",
    "workspaces",
    "scope",
    "cafile",
    "proxy",
    "_auth",
    "_authToken",
    "//registry.npmjs.org/:_authToken",
    "//registry.npmjs.org/:_auth",
    "//registry.npmjs.org/:username",
    "//registry.npmjs.org/:_password",
    "//registry.npmjs.org/:certfile",
    "//registry.npmjs.org/:keyfile",
    "//127.0.0.1:1/:_authToken",
    "//h/x/:_authToken",
    "key[]",
    "__proto__",
    "[section]",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
         1 => Just("${NODE_AUTH_TOKEN}".to_string()),
         1 => Just("${UNSET_VAR}".to_string()),
         1 => Just("${EMPTY?}".to_string()),
         1 => Just("https://registry.npmjs.org/".to_string()),
         1 => Just("http://127.0.0.1:1/".to_string()),
         1 => Just("ftp://x/".to_string()),
         1 => Just("https://u:p@h/".to_string()),
         1 => Just("\"quoted\\u0000\"".to_string()),
         1 => Just("'123'".to_string()),
         1 => Just("\"\\ud800\"".to_string()),
         1 => Just("1e400".to_string()),
         1 => Just("-1".to_string()),
         1 => Just("~/x".to_string()),
         1 => Just("../../../../x".to_string()),
        4 => nasty_line(5),
    ]
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (
            prop_oneof![proptest::sample::select(KEYS).prop_map(str::to_string), nasty_line(3)],
            proptest::sample::select(&["=", " = ", "=\"", "", "[]="][..]),
            value(),
        )
            .prop_map(|(k, eq, v)| format!("{k}{eq}{v}")),
        1 => nasty_string(5),
        1 => Just("[section]".to_string()),
        1 => Just("; comment".to_string()),
    ]
}

fn npmrc() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(line(), 0..10),
        proptest::sample::select(&["\n", "\r\n", "\r", "\n\n"][..]),
    )
        .prop_map(|(lines, sep)| lines.join(sep))
}

struct Dirs {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    project: PathBuf,
    global: PathBuf,
}

fn dirs(project_npmrc: &str, user_npmrc: &str) -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(tmp.path()).unwrap();
    let (home, project) = (root.join("home"), root.join("proj"));
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(&project).unwrap();
    fs::write(
        project.join("package.json"),
        r#"{"name":"@sc/pkg","version":"1.0.0"}"#,
    )
    .unwrap();
    fs::write(project.join(".npmrc"), project_npmrc).unwrap();
    fs::write(home.join(".npmrc"), user_npmrc).unwrap();
    Dirs {
        global: root.join("global-npmrc"),
        _tmp: tmp,
        home,
        project,
    }
}

fn env_of(home: &Path, extra: &[(String, String)]) -> Env {
    let mut pairs = vec![
        ("HOME".to_string(), home.to_string_lossy().into_owned()),
        (
            "NODE_AUTH_TOKEN".to_string(),
            "npm_PLANTEDtoken0123456789".to_string(),
        ),
        ("EMPTY".to_string(), String::new()),
    ];
    pairs.extend(extra.iter().cloned());
    Env::from_pairs(pairs)
}

/// Everything `publish` and `doctor` ask a loaded configuration.
fn exercise(config: &Config, publish_config: &Map<String, Value>) {
    let registry = config.registry();
    let _ = config.registry_for("@sc/pkg");
    let _ = config.registry_for("");
    let _ = (
        config.tag(),
        config.dist_tag(),
        config.access(),
        config.scope(),
    );
    let _ = config.check_tag("@sc/pkg");
    let retry = config.retry();
    for n in [0, 1, 10, 1000] {
        let _ = retry.delay(n);
    }
    let _ = (config.provenance(), config.provenance_file(), config.otp());
    let _ = config.lookup_credential(&registry.url, Some("@sc/pkg"));
    let _ = config.lookup_credential("https://registry.npmjs.org/-/x", None);
    let _ = config.has_credentials_for_publish(&registry.url);
    for d in config.diagnostics() {
        let _ = format!("{d:?}");
    }
    let _ = config.files().describe();
    if let Ok(next) = config.with_publish_config(publish_config) {
        let _ = next.registry_for("@sc/pkg");
        let _ = next.lookup_credential(&next.registry().url, Some("@sc/pkg"));
        let _ = next.check_tag("@sc/pkg");
    }
}

/// `publishConfig` objects with hostile values.
fn publish_config() -> impl Strategy<Value = Map<String, Value>> {
    let inner = proptest::collection::vec(
        (
            prop_oneof![
                proptest::sample::select(KEYS).prop_map(str::to_string),
                nasty_line(2)
            ],
            prop_oneof![
                value().prop_map(Value::String),
                super::manifest::json_leaf(),
            ],
        ),
        0..5,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect()));
    prop_oneof![
        inner.prop_map(|pc| {
            let mut m = Map::new();
            m.insert("publishConfig".into(), pc);
            m
        }),
        super::manifest::json_leaf().prop_map(|v| {
            let mut m = Map::new();
            m.insert("publishConfig".into(), v);
            m
        }),
    ]
}

/// One line of an npmrc that decodes to `value` for an unknown key:
/// `\`, `;` and `#` escaped.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        if matches!(c, '\\' | ';' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Values the encoding above can carry: no line breaks, no outer white
/// space or quotes, not a JSON keyword, no `${` (expanded).
fn plain_value() -> impl Strategy<Value = String> {
    nasty_line(5).prop_filter_map("not representable", |v| {
        let v = v
            .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
            .to_string();
        let quoted = |q: char| v.starts_with(q) && v.ends_with(q);
        let bad = v.is_empty()
            || quoted('"')
            || quoted('\'')
            || v.contains("${")
            || v.contains(['\u{2028}', '\u{2029}', '\u{85}', '\u{b}', '\u{c}'])
            || v.starts_with(['[', '='])
            || matches!(v.as_str(), "true" | "false" | "null" | "undefined");
        (!bad).then_some(v)
    })
}

proptest! {
    #![proptest_config(config(160))]

    /// Hostile project and user npmrc files, `npm_config_*` variables and
    /// `publishConfig`: loading returns (an error is fine), and every
    /// question the publish asks of the result returns.
    #[test]
    fn config_load_survives_hostile_npmrc(
        project in npmrc(),
        user in npmrc(),
        env_vars in proptest::collection::vec(
            (
                proptest::sample::select(&["npm_config_registry", "NPM_CONFIG_TAG", "npm_config_//h/:_authToken", "npm_config_fetch_retries", "npm_config__auth", "npm_config_"][..]),
                value(),
            ),
            0..3,
        ),
        extra in proptest::collection::vec((proptest::sample::select(KEYS).prop_map(str::to_string), value()), 0..2),
        pc in publish_config(),
    ) {
        let d = dirs(&project, &user);
        let env_vars: Vec<(String, String)> =
            env_vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let env = env_of(&d.home, &env_vars);
        let cli = CliConfig {
            globalconfig: Some(d.global.clone()),
            extra,
            ..CliConfig::default()
        };
        if let Ok(config) = Config::load(&env, &cli, &d.project) {
            exercise(&config, &pc);
        }
    }

    /// What an npmrc line says is what `Config` holds: an unknown key set
    /// to an escaped value reads back as that value, whatever the line
    /// endings and the lines around it.
    #[test]
    fn npmrc_values_round_trip(
        values in proptest::collection::vec(plain_value(), 1..6),
        noise in proptest::collection::vec(prop_oneof![Just(String::new()), Just("; c".to_string()), Just("# c".to_string()), Just("  ".to_string())], 0..3),
        sep in proptest::sample::select(&["\n", "\r\n", "\r"][..]),
    ) {
        let mut lines: Vec<String> = noise;
        for (i, v) in values.iter().enumerate() {
            lines.push(format!("fuzz-key-{i} = {}", encode(v)));
        }
        let d = dirs(&lines.join(sep), "");
        let cli = CliConfig { globalconfig: Some(d.global.clone()), ..CliConfig::default() };
        let config = Config::load(&env_of(&d.home, &[]), &cli, &d.project)
            .unwrap_or_else(|e| panic!("load failed: {e}"));
        for (i, v) in values.iter().enumerate() {
            let got = config.get_in(&format!("fuzz-key-{i}"), Layer::Project).and_then(|c| c.value().cloned());
            prop_assert_eq!(got, Some(Value::String(v.clone())), "line {:?}", encode(v));
        }
    }
}

fn var_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Z_]{1,4}",
        nasty_line(2).prop_filter("a name", |s| !s.is_empty()
            && !s.contains(['$', '{', '}', '?']))
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// `${VAR}` expansion: no panic on any text; text without `${` comes
    /// back unchanged; an unset variable is reported only when the text
    /// names it; expansion is one pass (a value holding `${OTHER}` is not
    /// expanded again, so a variable cannot smuggle another one's secret).
    #[test]
    fn env_replace_invariants(
        text in nasty_string(8),
        names in proptest::collection::vec(var_name(), 0..4),
        vals in proptest::collection::vec(nasty_line(3), 4),
    ) {
        let mut input = text.clone();
        for n in &names {
            input.push_str(&format!("${{{n}}}"));
        }
        let env = Env::from_pairs(
            names.iter().zip(&vals).map(|(n, v)| (n.clone(), format!("{v}${{SECRET}}")))
                .chain([("SECRET".to_string(), "\u{1}s3cr3t\u{1}".to_string())]),
        );
        let out = env_replace(&input, &env);
        for u in &out.unset {
            prop_assert!(input.contains(&format!("${{{u}")), "{:?} unset but not named in {:?}", u, input);
        }
        if !input.contains("${") {
            prop_assert_eq!(&out.value, &input);
        }
        // SECRET's value is the only source of U+0001.
        let marked = |t: &String| t.contains('\u{1}');
        if !input.contains("SECRET") && !marked(&input) && !vals.iter().any(marked) {
            prop_assert!(!out.value.contains('\u{1}'), "{:?} expanded twice: {:?}", input, out.value);
        }
        let empty = Env::from_pairs(Vec::<(String, String)>::new());
        let none = env_replace(&text, &empty);
        prop_assert!(none.value.len() <= text.len());
    }
}
