//! Rule tables for `Config` over real files in a temporary directory. Each
//! expectation is npm 11.19.1's behaviour (checked with the differential
//! suite in `tests/it/config_diff.rs` where npm can be asked).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Map, Value as Json};

use super::*;
use crate::env::Env;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    project: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        let home = root.join("home");
        let project = root.join("proj");
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&project).unwrap();
        fs::write(
            project.join("package.json"),
            r#"{"name":"@sc/pkg","version":"1.0.0"}"#,
        )
        .unwrap();
        Fixture {
            _dir: dir,
            root,
            home,
            project,
        }
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }

    fn env(&self, pairs: &[(&str, &str)]) -> Env {
        let mut all = vec![("HOME".to_string(), self.home.to_string_lossy().into_owned())];
        all.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Env::from_pairs(all)
    }

    fn load(&self, env: &[(&str, &str)], cli: &CliConfig) -> Result<Config, ConfigError> {
        Config::load(&self.env(env), cli, &self.project)
    }

    fn ok(&self, env: &[(&str, &str)], cli: &CliConfig) -> Config {
        self.load(env, cli)
            .unwrap_or_else(|e| panic!("load failed: {e}"))
    }
}

fn cli_tag(tag: &str) -> CliConfig {
    CliConfig {
        tag: Some(tag.into()),
        ..Default::default()
    }
}

fn manifest(v: serde_json::Value) -> Map<String, Json> {
    v.as_object().unwrap().clone()
}

fn describe(l: &CredentialLookup) -> String {
    match l {
        CredentialLookup::Found(c) => {
            let auth = match &c.authorization {
                Some(Authorization::Bearer(t)) => format!("Bearer {}", t.expose()),
                Some(Authorization::Basic(b)) => format!("Basic {}", b.expose()),
                None => "-".into(),
            };
            let src = match &c.source {
                CredentialSource::Config { key, origin } => {
                    format!("{key} @ {}", origin.npm_where())
                }
                CredentialSource::NodeAuthToken => "NODE_AUTH_TOKEN".into(),
            };
            format!("{auth} from {src}")
        }
        CredentialLookup::Unusable(d) => format!("unusable: {d}"),
        CredentialLookup::Missing => "missing".into(),
    }
}

#[test]
fn precedence_cli_env_project_user_global_default() {
    // Each row: which layers set `tag` → the winner.
    let rows: &[(&[&str], &str)] = &[
        (&[], "latest"),
        (&["global"], "from-global"),
        (&["global", "user"], "from-user"),
        (&["global", "user", "project"], "from-project"),
        (&["global", "user", "project", "env"], "from-env"),
        (&["global", "user", "project", "env", "cli"], "from-cli"),
        (&["global", "cli"], "from-cli"),
        (&["user", "env"], "from-env"),
        (&["global", "project"], "from-project"),
    ];
    for (layers, want) in rows {
        let f = Fixture::new();
        let global = f.write("global/etc/npmrc", "");
        let mut env: Vec<(&str, &str)> = Vec::new();
        let mut cli = CliConfig {
            globalconfig: Some(global.clone()),
            ..Default::default()
        };
        for l in *layers {
            match *l {
                "global" => {
                    fs::write(&global, "tag=from-global\n").unwrap();
                }
                "user" => {
                    f.write("home/.npmrc", "tag=from-user\n");
                }
                "project" => {
                    f.write("proj/.npmrc", "tag=from-project\n");
                }
                "env" => env.push(("npm_config_tag", "from-env")),
                "cli" => cli.tag = Some("from-cli".into()),
                _ => unreachable!(),
            }
        }
        let c = f.ok(&env, &cli);
        assert_eq!(c.tag(), *want, "layers {layers:?}");
        let origin = c.get_config("tag").unwrap().origin().npm_where();
        let want_where = match *want {
            "latest" => "default",
            other => other.trim_start_matches("from-"),
        };
        assert_eq!(origin, want_where, "layers {layers:?}");
    }
}

#[test]
fn env_keys_are_case_insensitive_and_skip_empty_values() {
    let f = Fixture::new();
    let c = f.ok(
        &[
            ("NPM_CONFIG_FETCH_RETRIES", "5"),
            ("npm_config_tag", ""),
            ("Npm_Config_Access", "public"),
            ("npm_config_//r.example/:_authToken", "tok"),
        ],
        &CliConfig::default(),
    );
    assert_eq!(c.retry().retries, 5);
    assert_eq!(c.tag(), "latest");
    assert_eq!(c.access(), Some(Access::Public));
    assert_eq!(
        c.get("fetch-retries").unwrap().origin(),
        &Origin::Env {
            var: "NPM_CONFIG_FETCH_RETRIES".into()
        }
    );
    assert_eq!(
        describe(&c.lookup_credential("https://r.example/x", None)),
        "Bearer tok from //r.example/:_authToken @ env"
    );
}

#[test]
fn variables_expand_in_keys_and_values() {
    let f = Fixture::new();
    f.write(
        "proj/.npmrc",
        "//${REG_HOST}/:_authToken=${TOKEN}\nregistry=https://${REG_HOST}/\ntag=${UNSET_TAG?}\nscope=\\${LITERAL}\n",
    );
    let c = f.ok(
        &[("REG_HOST", "r.example"), ("TOKEN", "t0k")],
        &CliConfig::default(),
    );
    assert_eq!(c.registry().url, "https://r.example/");
    assert_eq!(c.tag(), "");
    assert_eq!(c.get_config("scope").unwrap().as_str(), Some("${LITERAL}"));
    // The token is the environment's, the registry the repository's: it is
    // not sent there unless the registry is also chosen outside it.
    assert!(
        describe(&c.lookup_credential("https://r.example/@sc%2fpkg", None))
            .contains("a file in the repository"),
    );
    let cli = CliConfig {
        registry: Some("https://r.example/".into()),
        ..CliConfig::default()
    };
    let chosen = f.ok(&[("REG_HOST", "r.example"), ("TOKEN", "t0k")], &cli);
    assert_eq!(
        describe(&chosen.lookup_credential("https://r.example/@sc%2fpkg", None)),
        "Bearer t0k from //r.example/:_authToken @ project"
    );
    // Nothing unset here, so no diagnostics about variables.
    assert!(
        !c.diagnostics()
            .iter()
            .any(|d| matches!(d, ConfigDiagnostic::UnsetVariable { .. })),
        "{:?}",
        c.diagnostics()
    );
}

#[test]
fn unset_variable_in_a_credential_is_reported_with_file_and_line() {
    let f = Fixture::new();
    let npmrc = f.write(
        "home/.npmrc",
        "; written by setup-node\n//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}\n",
    );
    let c = f.ok(&[], &CliConfig::default());
    let d = c
        .diagnostics()
        .iter()
        .find(|d| matches!(d, ConfigDiagnostic::UnsetVariable { .. }))
        .expect("diagnostic");
    assert_eq!(
        d,
        &ConfigDiagnostic::UnsetVariable {
            var: "NODE_AUTH_TOKEN".into(),
            key: "//registry.npmjs.org/:_authToken".into(),
            origin: Origin::File {
                layer: Layer::User,
                path: npmrc.clone(),
                line: 2
            },
            credential: true,
        }
    );
    let text = d.to_string();
    assert!(
        text.starts_with(&format!(
            "`${{NODE_AUTH_TOKEN}}` in {}:2 (user config) is not set",
            npmrc.display()
        )),
        "{text}"
    );
    assert!(d.hint().unwrap().contains("NODE_AUTH_TOKEN"));
    // npm would send `Bearer ${NODE_AUTH_TOKEN}`; we don't.
    let l = c.lookup_credential("https://registry.npmjs.org/@sc%2fpkg", Some("@sc/pkg"));
    assert!(
        matches!(
            l,
            CredentialLookup::Unusable(ConfigDiagnostic::UnsetVariable { .. })
        ),
        "{l:?}"
    );
    assert!(c.credential_for("https://registry.npmjs.org/").is_none());
    assert!(!c.has_credentials_for_publish("https://registry.npmjs.org/"));
}

#[test]
fn node_auth_token_rules() {
    let reg = "https://registry.npmjs.org/";
    let put = "https://registry.npmjs.org/@sc%2fpkg";
    // (npmrc, NODE_AUTH_TOKEN, lookup, has_credentials)
    let rows: &[(&str, Option<&str>, &str, bool)] = &[
        ("", None, "missing", false),
        ("", Some("npm_real"), "Bearer npm_real from NODE_AUTH_TOKEN", true),
        (
            "",
            Some("XXXXX-XXXXX-XXXXX-XXXXX"),
            "unusable: NODE_AUTH_TOKEN is setup-node's placeholder XXXXX-XXXXX-XXXXX-XXXXX, not a token",
            false,
        ),
        ("", Some(""), "unusable: NODE_AUTH_TOKEN is set but empty", false),
        (
            "",
            Some("${NODE_AUTH_TOKEN}"),
            "unusable: NODE_AUTH_TOKEN contains an unexpanded `${...}` placeholder, not a token",
            false,
        ),
        // setup-node's npmrc with a real token: the npmrc credential, via ${}.
        (
            "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}",
            Some("npm_real"),
            "Bearer npm_real from //registry.npmjs.org/:_authToken @ user",
            true,
        ),
        // ...with the placeholder: reported as such, not sent.
        (
            "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}",
            Some("XXXXX-XXXXX-XXXXX-XXXXX"),
            "unusable: `//registry.npmjs.org/:_authToken` in USER:1 (user config) is setup-node's placeholder XXXXX-XXXXX-XXXXX-XXXXX, not a token",
            false,
        ),
        // ...with an empty token: npm sees no credential; neither do we.
        (
            "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}",
            Some(""),
            "unusable: NODE_AUTH_TOKEN is set but empty",
            false,
        ),
        // An npmrc credential wins over NODE_AUTH_TOKEN.
        (
            "//registry.npmjs.org/:_authToken=from-npmrc",
            Some("npm_real"),
            "Bearer from-npmrc from //registry.npmjs.org/:_authToken @ user",
            true,
        ),
    ];
    for (npmrc, nat, want, has) in rows {
        let f = Fixture::new();
        let user = f.write("home/.npmrc", npmrc);
        let mut env = Vec::new();
        if let Some(v) = nat {
            env.push(("NODE_AUTH_TOKEN", *v));
        }
        let c = f.ok(&env, &CliConfig::default());
        let got = describe(&c.lookup_credential(put, Some("@sc/pkg")))
            .replace(&user.display().to_string(), "USER");
        assert_eq!(got, *want, "npmrc {npmrc:?}, NODE_AUTH_TOKEN {nat:?}");
        assert_eq!(
            c.has_credentials_for_publish(reg),
            *has,
            "npmrc {npmrc:?}, NODE_AUTH_TOKEN {nat:?}"
        );
    }
    // The diagnostics say the same at load time.
    let f = Fixture::new();
    f.write(
        "home/.npmrc",
        "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}",
    );
    let c = f.ok(&[("NODE_AUTH_TOKEN", "")], &CliConfig::default());
    assert!(c.diagnostics().contains(&ConfigDiagnostic::NodeAuthToken(
        NodeAuthTokenProblem::Empty
    )));
    assert!(c.diagnostics().iter().any(|d| matches!(d,
        ConfigDiagnostic::EmptyCredential { vars, .. } if vars == &["NODE_AUTH_TOKEN".to_string()])));
    // NODE_AUTH_TOKEN is never sent to another host.
    let c = f.ok(&[("NODE_AUTH_TOKEN", "npm_real")], &CliConfig::default());
    assert_eq!(
        describe(&c.lookup_credential("https://evil.example/x", None)),
        "missing"
    );
}

#[test]
fn publish_config_overlays_the_options_but_not_the_cli() {
    let f = Fixture::new();
    let cli = CliConfig {
        access: Some("restricted".into()),
        ..Default::default()
    };
    let c = f.ok(&[], &cli);
    let m = manifest(json!({
        "name": "@sc/pkg",
        "publishConfig": {
            "access": "public",
            "tag": "next",
            "registry": "https://pub.example/",
            "fetch-retries": 7,
            "provenance": true,
            "directory": "dist"
        }
    }));
    let p = c.with_publish_config(&m).unwrap();
    assert_eq!(
        p.access(),
        Some(Access::Restricted),
        "--access beats publishConfig.access"
    );
    assert_eq!(p.dist_tag(), "next");
    assert_eq!(p.tag(), "latest", "the config tag ignores publishConfig");
    assert!(
        !p.is_default_tag(),
        "publishConfig.tag makes the tag non-default"
    );
    assert_eq!(p.registry().url, "https://pub.example/");
    assert_eq!(
        p.registry().origin,
        Origin::PublishConfig {
            key: "registry".into()
        }
    );
    assert_eq!(p.retry().retries, 7);
    assert!(p.provenance());
    assert!(p.diagnostics().iter().any(|d| matches!(d,
        ConfigDiagnostic::UnknownKey { name, .. } if name == "directory")));
    // The original is untouched.
    assert_eq!(c.dist_tag(), "latest");
    assert_eq!(c.registry().url, DEFAULT_REGISTRY);
    // The config view does not see publishConfig.
    assert_eq!(
        p.get_config("registry").unwrap().as_str(),
        Some(DEFAULT_REGISTRY)
    );
}

#[test]
fn publish_config_values_are_not_npmrc_values() {
    let f = Fixture::new();
    let c = f.ok(&[], &CliConfig::default());
    let p = c
        .with_publish_config(&manifest(
            json!({"publishConfig": {"provenance": "true", "dry-run": true}}),
        ))
        .unwrap();
    assert!(!p.provenance(), "npm tests provenance === true");
    assert!(!p.dry_run(), "npm reads dry-run from its config");
    assert_eq!(
        p.diagnostics()
            .iter()
            .filter(|d| matches!(d, ConfigDiagnostic::PublishConfigValueIgnored { .. }))
            .count(),
        2
    );
    let err = c
        .with_publish_config(&manifest(json!({"publishConfig": {"access": "open"}})))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid config access=\"open\" set in package.json publishConfig.access: must be one of: null, restricted, public, private"
    );
    assert_eq!(err.exit_code(), 2);
    let p = c
        .with_publish_config(&manifest(
            json!({"publishConfig": {"access": "private", "ignore-scripts": 1}}),
        ))
        .unwrap();
    assert_eq!(p.access(), Some(Access::Restricted));
    assert!(p.pack_ignore_scripts() && !p.ignore_scripts());
}

#[test]
fn top_level_tag_overrides_everything() {
    let f = Fixture::new();
    let c = f.ok(&[], &cli_tag("beta"));
    let p = c
        .with_publish_config(&manifest(
            json!({"tag": "canary", "publishConfig": {"tag": "next"}}),
        ))
        .unwrap();
    assert_eq!(p.dist_tag(), "canary");
    assert_eq!(p.tag(), "beta");
    let p = c
        .with_publish_config(&manifest(json!({"tag": ""})))
        .unwrap();
    assert_eq!(p.dist_tag(), "beta", "an empty tag field is falsy");
    assert!(c.with_publish_config(&manifest(json!({"tag": 5}))).is_err());
    let p = c
        .with_publish_config(&manifest(json!({"tag": "v2"})))
        .unwrap();
    assert!(p
        .diagnostics()
        .iter()
        .any(|d| matches!(d, ConfigDiagnostic::SuspiciousDistTag { .. })));
}

#[test]
fn scope_registry_beats_cli_and_publish_config_registry() {
    let f = Fixture::new();
    f.write("proj/.npmrc", "@sc:registry=https://scoped.example/npm/\n");
    let cli = CliConfig {
        registry: Some("https://cli.example".into()),
        ..Default::default()
    };
    let c = f
        .ok(&[], &cli)
        .with_publish_config(&manifest(
            json!({"publishConfig": {"registry": "https://pub.example/"}}),
        ))
        .unwrap();
    let r = c.registry_for("@sc/pkg").unwrap();
    assert_eq!(r.url, "https://scoped.example/npm/");
    assert_eq!(r.key, "@sc:registry");
    assert_eq!(
        r.package_url("@sc%2fpkg"),
        "https://scoped.example/npm/@sc%2fpkg"
    );
    // --registry is in nopt's normalised form; publishConfig is not here
    // because --registry was given on the command line.
    assert_eq!(
        c.registry_for("unscoped").unwrap().url,
        "https://cli.example/"
    );
    assert_eq!(
        c.registry_for("@other/pkg").unwrap().url,
        "https://cli.example/"
    );
    // The `scope` option picks a scope registry for unscoped names too.
    let c = f.ok(&[("npm_config_scope", "sc")], &CliConfig::default());
    assert_eq!(
        c.registry_for("unscoped").unwrap().url,
        "https://scoped.example/npm/"
    );
}

#[test]
fn registry_is_kept_as_written_except_on_the_command_line() {
    let f = Fixture::new();
    f.write("home/.npmrc", "registry=https://Reg.Example.COM:443/path\n");
    let c = f.ok(&[], &CliConfig::default());
    assert_eq!(c.registry().url, "https://Reg.Example.COM:443/path");
    assert_eq!(
        c.registry().package_url("x"),
        "https://Reg.Example.COM:443/path/x"
    );
    let c = f.ok(
        &[],
        &CliConfig {
            registry: Some("HTTPS://Reg.Example.COM:443".into()),
            ..Default::default()
        },
    );
    assert_eq!(c.registry().url, "https://reg.example.com:443/");
    // A `scope` without `@` makes npm re-flatten validated values.
    let c = f.ok(&[("npm_config_scope", "sc")], &CliConfig::default());
    assert_eq!(c.registry().url, "https://reg.example.com:443/path");
    let f = Fixture::new();
    let npmrc = f.write("proj/.npmrc", "registry=registry.example.com\n");
    let err = f.load(&[], &CliConfig::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid config registry=\"registry.example.com\" set in {}:1 (project config): must be a full url with \"http://\"",
            npmrc.display()
        )
    );
}

#[test]
fn nerf_dart_walk_through_config() {
    let f = Fixture::new();
    f.write(
        "home/.npmrc",
        "//gh.example/owner/:_authToken=with-slash\n//gl.example/api/v4/projects/1/packages/npm:_authToken=no-slash\n//local.example:4873/:_authToken=port\n//corp.example/api/npm/:_authToken=corp\n",
    );
    let c = f.ok(
        &[("npm_config_registry", "https://corp.example/api/npm/")],
        &CliConfig::default(),
    );
    let rows = [
        (
            "https://gh.example/owner/@o%2fp",
            "Bearer with-slash from //gh.example/owner/:_authToken @ user",
        ),
        (
            "https://gl.example/api/v4/projects/1/packages/npm/@o%2fp",
            "Bearer no-slash from //gl.example/api/v4/projects/1/packages/npm:_authToken @ user",
        ),
        (
            "http://local.example:4873/p",
            "Bearer port from //local.example:4873/:_authToken @ user",
        ),
        ("http://local.example/p", "missing"),
        // Same-host fallback to the registry's credential (the OIDC
        // exchange lives outside the registry's path).
        (
            "https://corp.example/-/npm/v1/oidc/token/exchange/package/p",
            "Bearer corp from //corp.example/api/npm/:_authToken @ user",
        ),
        ("https://other.example/x", "missing"),
    ];
    for (url, want) in rows {
        assert_eq!(describe(&c.lookup_credential(url, None)), want, "{url}");
    }
}

#[test]
fn basic_auth_forms() {
    let f = Fixture::new();
    f.write(
        "home/.npmrc",
        "//a.example/:_auth=dXNlcjpwYXNz\n//u.example/:username=user\n//u.example/:_password=cGFzcw==\n",
    );
    let c = f.ok(&[], &CliConfig::default());
    assert_eq!(
        describe(&c.lookup_credential("https://a.example/p", None)),
        "Basic dXNlcjpwYXNz from //a.example/:_auth @ user"
    );
    assert_eq!(
        describe(&c.lookup_credential("https://u.example/p", None)),
        "Basic dXNlcjpwYXNz from //u.example/:username @ user"
    );
    assert!(c.has_credentials_for_publish("https://a.example/"));
    assert!(c.has_credentials_for_publish("https://u.example/"));
}

#[test]
fn access_values() {
    let rows: &[(&str, Result<Option<Access>, &str>)] = &[
        ("public", Ok(Some(Access::Public))),
        ("restricted", Ok(Some(Access::Restricted))),
        ("private", Ok(Some(Access::Restricted))),
        ("null", Ok(None)),
        ("false", Ok(None)),
        ("", Err("invalid config access=\"\"")),
        ("Public", Err("invalid config access=\"Public\"")),
        ("open", Err("invalid config access=\"open\"")),
    ];
    for (value, want) in rows {
        let f = Fixture::new();
        let npmrc = f.write("proj/.npmrc", &format!("\n\naccess={value}\n"));
        match (f.load(&[], &CliConfig::default()), want) {
            (Ok(c), Ok(want)) => assert_eq!(c.access(), *want, "{value}"),
            (Err(e), Err(prefix)) => {
                let text = e.to_string();
                assert!(text.starts_with(prefix), "{text}");
                assert!(
                    text.contains(&format!("{}:3 (project config)", npmrc.display())),
                    "{text}"
                );
                assert!(
                    text.ends_with("must be one of: null, restricted, public, private"),
                    "{text}"
                );
                assert_eq!(e.exit_code(), 2);
                assert!(e.hint().unwrap().contains(&npmrc.display().to_string()));
            }
            (got, want) => panic!("access={value}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn semver_range_tags_are_refused() {
    let f = Fixture::new();
    let rows: &[(&str, Option<&str>)] = &[
        ("latest", None),
        ("next", None),
        ("beta", None),
        ("v1-latest", None),
        ("1.2.3beta", None), // a loose version: npm-package-arg takes it
        ("v1", Some("Tag name must not be a valid SemVer range: v1")),
        (
            "1.x",
            Some("Tag name must not be a valid SemVer range: 1.x"),
        ),
        (
            "^1.0.0",
            Some("Tag name must not be a valid SemVer range: ^1.0.0"),
        ),
        ("*", Some("Tag name must not be a valid SemVer range: *")),
        ("", Some("Tag name must not be a valid SemVer range: ")),
        (
            "a b",
            Some("Invalid tag name \"a b\" of package \"@sc/pkg@a b\""),
        ),
        ("feat/x", Some("Invalid tag name \"feat/x\"")),
    ];
    for (tag, want) in rows {
        let c = f.ok(&[], &cli_tag(tag));
        match (c.check_tag("@sc/pkg"), want) {
            (Ok(()), None) => {}
            (Err(e), Some(prefix)) => {
                assert!(e.to_string().starts_with(prefix), "{tag}: {e}");
                assert!(e.hint().is_some());
            }
            (got, want) => panic!("tag {tag:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn a_users_bare_token_is_never_told_to_move_to_the_repositorys_registry() {
    let f = Fixture::new();
    f.write("home/.npmrc", "_authToken=npm_secret_value\n");
    f.write("proj/.npmrc", "registry=https://collector.example/\n");
    let err = f.load(&[], &CliConfig::default()).unwrap_err();
    let hint = err.hint().unwrap();
    assert!(hint.contains("//registry.npmjs.org/:_authToken"), "{hint}");
    assert!(
        !err.to_string().contains("collector") && !hint.contains("collector"),
        "{err}"
    );
    // A bare token in the project file itself is npm's case: named with the
    // registry in effect.
    let f = Fixture::new();
    f.write("proj/.npmrc", "registry=https://r.example/\n_authToken=x\n");
    let err = f.load(&[], &CliConfig::default()).unwrap_err();
    assert!(err.to_string().contains("//r.example/:_authToken"), "{err}");
}

#[test]
fn legacy_bare_auth_is_err_invalid_auth() {
    let f = Fixture::new();
    let user = f.write(
        "home/.npmrc",
        "registry=https://r.example/npm/\n_authToken=npm_secret_value\n",
    );
    let project = f.write("proj/.npmrc", "username=me\n");
    let err = f.load(&[], &CliConfig::default()).unwrap_err();
    let text = err.to_string();
    assert_eq!(
        text,
        format!(
            "invalid auth configuration found: `_authToken` must be renamed to `//r.example/npm/:_authToken` in user config ({}:2), `username` is not allowed in project config ({}:1)",
            user.display(),
            project.display()
        )
    );
    assert!(!text.contains("npm_secret_value") && !format!("{err:?}").contains("npm_secret_value"));
    assert!(err.hint().unwrap().contains("//r.example/npm/:_authToken"));
    assert_eq!(err.exit_code(), 2);
    // Env is not checked by npm (it is simply ignored there).
    let f = Fixture::new();
    let c = f.ok(&[("npm_config__authToken", "x")], &CliConfig::default());
    assert!(c.diagnostics().iter().any(|d| matches!(d,
        ConfigDiagnostic::UnknownKey { name, .. } if name == "_authtoken")));
}

#[test]
fn userconfig_and_globalconfig_locations() {
    let f = Fixture::new();
    f.write("home/.npmrc", "tag=home\n");
    let alt = f.write("alt/npmrc", "tag=alt\n");
    let env_rc = f.write("envrc/npmrc", "tag=env-userconfig\n");
    // $HOME/.npmrc by default.
    assert_eq!(f.ok(&[], &CliConfig::default()).tag(), "home");
    // NPM_CONFIG_USERCONFIG (what setup-node exports).
    let c = f.ok(
        &[("NPM_CONFIG_USERCONFIG", env_rc.to_str().unwrap())],
        &CliConfig::default(),
    );
    assert_eq!(c.tag(), "env-userconfig");
    assert_eq!(c.files().user, env_rc);
    // --userconfig wins.
    let cli = CliConfig {
        userconfig: Some(alt.clone()),
        ..Default::default()
    };
    assert_eq!(
        f.ok(&[("NPM_CONFIG_USERCONFIG", env_rc.to_str().unwrap())], &cli)
            .tag(),
        "alt"
    );
    // The project npmrc can move the user config.
    // ini reads `\\` as `\` (Windows paths, `\\?\C:\...` from canonicalize).
    let escaped = alt.display().to_string().replace('\\', "\\\\");
    f.write("proj/.npmrc", &format!("userconfig={escaped}\n"));
    assert_eq!(f.ok(&[], &CliConfig::default()).files().user, alt);
    fs::remove_file(f.project.join(".npmrc")).unwrap();

    // Global: prefix/etc/npmrc, from $PREFIX or npm_config_prefix, or
    // --globalconfig.
    let g = f.write("pfx/etc/npmrc", "tag=global\n");
    fs::remove_file(f.home.join(".npmrc")).unwrap();
    let prefix = f.root.join("pfx");
    let c = f.ok(
        &[("PREFIX", prefix.to_str().unwrap())],
        &CliConfig::default(),
    );
    assert_eq!(
        (c.tag(), c.files().global.clone()),
        ("global".to_string(), Some(g.clone()))
    );
    let c = f.ok(
        &[("npm_config_prefix", prefix.to_str().unwrap())],
        &CliConfig::default(),
    );
    assert_eq!(c.tag(), "global");
    let other = f.write("other-global", "tag=other\n");
    let c = f.ok(
        &[("PREFIX", prefix.to_str().unwrap())],
        &CliConfig {
            globalconfig: Some(other.clone()),
            ..Default::default()
        },
    );
    assert_eq!(c.tag(), "other");
    // No prefix known: skipped, and said so.
    let c = f.ok(&[], &CliConfig::default());
    assert_eq!(c.files().global, None);
    assert!(c
        .diagnostics()
        .iter()
        .any(|d| matches!(d, ConfigDiagnostic::GlobalConfigSkipped { .. })));
}

#[test]
fn project_config_is_skipped_when_it_is_the_user_config() {
    let f = Fixture::new();
    let rc = f.write("proj/.npmrc", "tag=once\n");
    let c = f.ok(
        &[("npm_config_userconfig", rc.to_str().unwrap())],
        &CliConfig::default(),
    );
    assert_eq!(c.files().project, None);
    assert_eq!(c.get_config("tag").unwrap().origin().npm_where(), "user");
}

#[test]
fn workspace_root_npmrc_is_the_project_config() {
    let f = Fixture::new();
    f.write(
        "mono/package.json",
        r#"{"private":true,"workspaces":["packages/*"]}"#,
    );
    f.write("mono/.npmrc", "tag=root\n");
    f.write(
        "mono/packages/a/package.json",
        r#"{"name":"a","version":"1.0.0"}"#,
    );
    let ws_rc = f.write("mono/packages/a/.npmrc", "tag=workspace\n");
    let c = Config::load(
        &f.env(&[]),
        &CliConfig::default(),
        &f.root.join("mono/packages/a"),
    )
    .unwrap();
    assert_eq!(c.tag(), "root");
    assert_eq!(c.files().local_prefix, f.root.join("mono"));
    assert!(c
        .diagnostics()
        .contains(&ConfigDiagnostic::WorkspaceNpmrcIgnored { path: ws_rc }));
}

#[test]
fn provenance_and_provenance_file_are_exclusive() {
    let f = Fixture::new();
    let cli = CliConfig {
        provenance: Some(true),
        provenance_file: Some("p.json".into()),
        ..Default::default()
    };
    let err = f.load(&[], &cli).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("--provenance-file cannot be provided when using --provenance"),
        "{err}"
    );
    // From env, a sibling given on the command line wins silently.
    let cli = CliConfig {
        provenance_file: Some("p.json".into()),
        ..Default::default()
    };
    let c = f.ok(&[("npm_config_provenance", "true")], &cli);
    assert!(!c.provenance());
    assert_eq!(c.provenance_file(), Some(f.project.join("p.json")));
    // From a file, presence alone conflicts (npm tests isDefault, not value).
    f.write("home/.npmrc", "provenance=false\n");
    assert!(f.load(&[], &cli).is_err());
}

#[test]
fn booleans_parse_like_nopt() {
    // (value, as written, as ${P} with P=value): an empty value written
    // out is `true` (parseField), an empty expansion is `+"" == 0` (nopt).
    let rows: &[(&str, bool, bool)] = &[
        ("true", true, true),
        ("false", false, false),
        ("", true, false),
        ("1", true, true),
        ("0", false, false),
        ("yes", true, true),
        ("null", false, false),
    ];
    for (v, literal, expanded) in rows {
        let f = Fixture::new();
        f.write("proj/.npmrc", &format!("dry-run={v}\nprovenance=${{P}}\n"));
        let c = f.ok(&[("P", v)], &CliConfig::default());
        assert_eq!(c.dry_run(), *literal, "dry-run={v}");
        assert_eq!(c.provenance(), *expanded, "provenance=${{P}} with P={v}");
        // npm would see a string and make no provenance statement.
        let flagged = c.diagnostics().iter().any(
            |d| matches!(d, ConfigDiagnostic::ExpandedBoolean { key, .. } if key == "provenance"),
        );
        assert_eq!(flagged, *expanded, "P={v}");
    }
}

#[test]
fn retry_policy() {
    let f = Fixture::new();
    let c = f.ok(&[], &CliConfig::default());
    let r = c.retry();
    assert_eq!(r.retries, 2);
    assert_eq!(
        (r.delay(0), r.delay(1)),
        (Duration::from_secs(10), Duration::from_secs(60))
    );
    assert_eq!(r.timeout, Some(Duration::from_secs(300)));
    f.write(
        "proj/.npmrc",
        "fetch-retries=1\nfetch-retry-factor=2\nfetch-retry-mintimeout=100\nfetch-retry-maxtimeout=150\nfetch-timeout=0\n",
    );
    let r = f.ok(&[], &CliConfig::default()).retry();
    assert_eq!(r.retries, 1);
    assert_eq!(
        (r.delay(0), r.delay(1)),
        (Duration::from_millis(100), Duration::from_millis(150))
    );
    // npm-registry-fetch: `timeout: opts.timeout || 30 * 1000`.
    assert_eq!(r.timeout, Some(Duration::from_secs(30)));
    f.write("proj/.npmrc", "fetch-retries=many\n");
    assert!(f.load(&[], &CliConfig::default()).is_err());
}

#[test]
fn retry_settings_a_repository_chose_are_capped_and_the_users_are_not() {
    let f = Fixture::new();
    let huge = "fetch-retries=1000000\nfetch-retry-factor=1000\nfetch-retry-mintimeout=86400000\nfetch-retry-maxtimeout=86400000\nfetch-timeout=86400000\n";
    f.write("proj/.npmrc", huge);
    let r = f.ok(&[], &CliConfig::default()).retry();
    assert_eq!(r.retries, 10);
    assert_eq!(r.factor, 10.0);
    assert_eq!(r.min_timeout, Duration::from_secs(60));
    assert_eq!(r.max_timeout, Duration::from_secs(120));
    assert_eq!(r.timeout, Some(Duration::from_secs(600)));
    // The same values from the user's own npmrc are npm's to honour.
    fs::remove_file(f.project.join(".npmrc")).unwrap();
    f.write("home/.npmrc", huge);
    let r = f.ok(&[], &CliConfig::default()).retry();
    assert_eq!(r.retries, 1_000_000);
    assert_eq!(r.timeout, Some(Duration::from_secs(86_400)));
}

#[test]
fn otp_sets_legacy_auth_type() {
    let f = Fixture::new();
    let c = f.ok(&[], &CliConfig::default());
    assert_eq!(
        (c.otp().is_some(), c.auth_type()),
        (false, "web".to_string())
    );
    let c = f.ok(
        &[],
        &CliConfig {
            otp: Some(Secret::new("123456".into())),
            ..Default::default()
        },
    );
    assert_eq!(c.otp().unwrap().expose(), "123456");
    assert_eq!(c.auth_type(), "legacy");
    assert!(!format!("{c:?}").contains("123456"));
}

#[test]
fn sections_and_unknown_keys_are_reported() {
    let f = Fixture::new();
    let rc = f.write(
        "home/.npmrc",
        "nodedir=/x\n//r.example/:always-auth=true\n[tools]\nregistry=https://x.example/\n",
    );
    let c = f.ok(&[], &CliConfig::default());
    let texts: Vec<String> = c.diagnostics().iter().map(ToString::to_string).collect();
    let rcs = rc.display();
    assert!(texts.contains(&format!(
        "Unknown user config \"nodedir\". This will stop working in the next major version of npm. See `npm help npmrc` for supported config options. ({rcs}:1 (user config))"
    )), "{texts:#?}");
    assert!(texts.contains(&format!(
        "Unknown user config \"always-auth\" (//r.example/:always-auth). This will stop working in the next major version of npm. See `npm help npmrc` for supported config options. ({rcs}:2 (user config))"
    )), "{texts:#?}");
    assert!(
        texts.contains(&format!(
            "`registry` in {rcs}:4 is inside the section [tools], which npm does not read"
        )),
        "{texts:#?}"
    );
    assert_eq!(c.registry().url, DEFAULT_REGISTRY);
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let f = Fixture::new();
    f.write(
        "home/.npmrc",
        "//registry.npmjs.org/:_authToken=npm_SECRET1\n//u.example/:username=u\n//u.example/:_password=U0VDUkVUMg==\n",
    );
    let cli = CliConfig {
        otp: Some(Secret::new("SECRET3".into())),
        extra: vec![("//x.example/:_authToken".into(), "SECRET4".into())],
        ..Default::default()
    };
    let c = f.ok(&[("NODE_AUTH_TOKEN", "SECRET5")], &cli);
    let cred = c.credential_for("https://registry.npmjs.org/").unwrap();
    let dumps = [
        format!("{c:?}"),
        format!("{cli:?}"),
        format!("{cred:?}"),
        format!("{:?}", c.get("//registry.npmjs.org/:_authToken")),
        format!("{:?}", c.lookup_credential("https://u.example/", None)),
        format!("{:?}", c.diagnostics()),
    ];
    for d in &dumps {
        for s in [
            "SECRET1",
            "SECRET2",
            "U0VDUkVUMg",
            "SECRET3",
            "SECRET4",
            "SECRET5",
        ] {
            assert!(!d.contains(s), "{s} leaked into {d}");
        }
    }
    assert!(c
        .get("//registry.npmjs.org/:_authToken")
        .unwrap()
        .value()
        .is_none());
    assert_eq!(
        cred.authorization.unwrap().header_value().expose(),
        "Bearer npm_SECRET1"
    );
}

#[test]
fn session_token_wins_for_requests_and_the_precheck() {
    let f = Fixture::new();
    f.write(
        "proj/.npmrc",
        "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}\n",
    );
    let c = f.ok(&[], &CliConfig::default());
    assert!(!c.has_credentials_for_publish("https://registry.npmjs.org/"));
    let c = c.with_session_token("https://registry.npmjs.org/", Secret::new("oidc".into()));
    assert!(c.has_credentials_for_publish("https://registry.npmjs.org/"));
    let cred = c
        .credential_for("https://registry.npmjs.org/@sc%2fpkg")
        .unwrap();
    assert_eq!(
        cred.authorization.unwrap().header_value().expose(),
        "Bearer oidc"
    );
    assert_eq!(
        cred.source,
        CredentialSource::Config {
            key: "//registry.npmjs.org/:_authToken".into(),
            origin: Origin::Session
        }
    );
}

#[test]
fn relative_paths_resolve_against_cwd_and_home() {
    let f = Fixture::new();
    let c = f.ok(
        &[("npm_config_userconfig", "~/custom/npmrc")],
        &CliConfig::default(),
    );
    assert_eq!(c.files().user, f.home.join("custom/npmrc"));
    let c = f.ok(&[("npm_config_userconfig", "../rc")], &CliConfig::default());
    assert_eq!(c.files().user, f.root.join("rc"));
    let _: &Path = &f.project;
}
