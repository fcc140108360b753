//! Differential tests: `trustpub::config::Config` against the real npm
//! 11.19.1 configuration code.
//!
//! Each scenario builds a temporary tree (home, project, npmrc files), an
//! environment and command-line flags. A small node script (below, `HARNESS`)
//! loads npm exactly as `npm publish` does — `new Npm({ argv })`, `load()`,
//! the command's `config.validate()` — then repeats publish.js's own steps
//! (the tag checks, the `publishConfig` flatten, `pickRegistry`,
//! `getCredentialsByURI`) and asks npm-registry-fetch's `getAuth` which
//! credential each URL would get. It prints the result with every token
//! replaced by a hash. The same inputs go through `Config::load`,
//! `with_publish_config`, `check_tag`, `registry_for` and
//! `lookup_credential`, and the two summaries must be equal, except for the
//! differences trustpub makes on purpose, which each scenario names and
//! checks explicitly.
//!
//! npm is isolated from the machine: a cleared environment, a temporary
//! HOME, `--globalconfig` pointing into the scenario (or `PREFIX` set by the
//! scenario), and no `npm_config_*` but the scenario's. Without node or npm
//! 11.19.1 the tests fail; they are never skipped.
//!
//! `TRUSTPUB_CONFIG_DIFF_DUMP=1` prints both summaries of every scenario.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Map, Value};
use sha2::Digest as _;

use trustpub::config::{
    Authorization, CliConfig, Config, ConfigDiagnostic, ConfigError, CredentialLookup,
    CredentialSource,
};
use trustpub::env::Env;
use trustpub::secret::Secret;

use crate::support;

/// The node side. Input: a JSON file named by the first argument,
/// `{ npmRoot, cwd, argv, manifest, uris }`.
const HARNESS: &str = r#"'use strict'
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')

const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
// npm parses process.argv; it must see only `node harness.js` there.
process.argv.length = 2
const npmRoot = input.npmRoot
const req = (m) => require(path.join(npmRoot, 'node_modules', m))
const hash = (v) => v === undefined || v === null || v === false ? null
  : crypto.createHash('sha256').update(String(v)).digest('hex').slice(0, 16)

const main = async () => {
  process.chdir(input.cwd)
  const Npm = require(path.join(npmRoot, 'lib', 'npm.js'))
  const npm = new Npm({ argv: ['publish', ...input.argv] })
  const out = {}
  try {
    await npm.load()
  } catch (e) {
    out.error = { phase: 'load', code: e.code || null, message: e.message }
    return out
  }
  try {
    // What BaseCommand's constructor does for `publish`.
    npm.config.validate()
  } catch (e) {
    out.error = { phase: 'validate', code: e.code || null, message: e.message }
    return out
  }
  out.localPrefix = npm.localPrefix
  out.userconfig = npm.config.get('userconfig')
  out.globalconfig = npm.config.get('globalconfig')
  const semver = req('semver')
  const npa = req('npm-package-arg')
  const npmFetch = req('npm-registry-fetch')
  const getAuth = req('npm-registry-fetch/lib/auth.js')
  const { flatten } = req('@npmcli/config/lib/definitions')
  // lib/commands/publish.js, in its order.
  const defaultTag = npm.config.get('tag')
  if (semver.validRange(defaultTag)) {
    out.error = { phase: 'tag', code: null, message: 'Tag name must not be a valid SemVer range: ' + defaultTag.trim() }
    return out
  }
  const opts = { ...npm.flatOptions, progress: false }
  const manifest = input.manifest
  if (manifest.publishConfig) {
    const cliFlags = npm.config.data.get('cli').raw
    const filtered = Object.fromEntries(
      Object.entries(manifest.publishConfig).filter(([key]) => !(key in cliFlags)))
    flatten(filtered, opts)
  }
  out.isDefaultTag = npm.config.isDefault('tag') && !manifest.publishConfig?.tag
  try {
    npa(`${manifest.name}@${defaultTag}`)
  } catch (e) {
    out.error = { phase: 'npa', code: e.code || null, message: e.message }
    return out
  }
  const resolved = npa.resolve(manifest.name, manifest.version)
  const registry = npmFetch.pickRegistry(resolved, opts)
  out.registry = registry
  out.configTag = defaultTag
  out.distTag = manifest.tag || opts.defaultTag
  out.access = opts.access
  out.provenance = opts.provenance === true
  out.dryRun = npm.config.get('dry-run')
  out.retry = opts.retry
  // npm-registry-fetch's `timeout: opts.timeout || 30 * 1000`
  out.timeout = opts.timeout || 30 * 1000
  out.otp = hash(opts.otp)
  out.authType = opts.authType
  const creds = npm.config.getCredentialsByURI(registry)
  out.hasCreds = !!(creds.token || creds.username || (creds.certfile && creds.keyfile))
  // libnpmpublish -> npm-registry-fetch: the PUT, with opts.spec and
  // opts.registry = pickRegistry(spec); other URLs as the OIDC exchange
  // fetches them (a full URL, no spec).
  const putUrl = `${registry.trim().replace(/\/?$/g, '')}/${resolved.escapedName}`
  out.auth = {}
  const describe = (a) => ({
    key: a.regKey ? `${a.regKey}:${a.authKey}` : null,
    bearer: hash(a.token),
    basic: hash(a.auth),
  })
  out.auth[putUrl] = describe(getAuth(putUrl, { ...opts, registry, spec: resolved }))
  for (const uri of input.uris) {
    out.auth[uri] = describe(getAuth(uri, { ...opts }))
  }
  return out
}

main().then((out) => {
  process.stdout.write('\n@@RESULT@@' + JSON.stringify(out) + '\n')
  process.exit(0)
}, (e) => {
  process.stdout.write('\n@@RESULT@@' + JSON.stringify({ error: { phase: 'crash', code: e.code || null, message: String(e && e.stack) } }) + '\n')
  process.exit(0)
})
"#;

/// A difference trustpub makes on purpose, checked instead of equality.
#[derive(Clone, Copy, PartialEq)]
enum Known {
    None,
    /// npm sends the literal `${NODE_AUTH_TOKEN}` (and counts it in its
    /// pre-check); trustpub reports it as an unset variable.
    NpmSendsUnexpandedPlaceholder,
    /// npm never reads `NODE_AUTH_TOKEN`; trustpub uses it for the registry.
    NodeAuthTokenFallback,
    /// npm warns about an invalid value and goes on; trustpub stops.
    InvalidValueIsAnError,
    /// npm's flat options hold `provenance=${P}` as the string "true", so
    /// npm makes no provenance; trustpub does, and says npm would not.
    ExpandedBoolean,
}

struct Scenario {
    name: &'static str,
    /// Files relative to the scenario root; `{ROOT}` is replaced.
    files: &'static [(&'static str, &'static str)],
    /// Environment on top of PATH, HOME and LANG; `{ROOT}` is replaced.
    env: &'static [(&'static str, &'static str)],
    /// Flags as npm takes them (`--key=value` or `--flag`); `{ROOT}` is
    /// replaced. Unless `own_global`, `--globalconfig={ROOT}/global-npmrc`
    /// is added.
    argv: &'static [&'static str],
    own_global: bool,
    /// The working directory, relative to the root.
    cwd: &'static str,
    /// package.json of the package being published (also written to
    /// `{cwd}/package.json` unless a file says otherwise).
    manifest: &'static str,
    /// Extra URLs to ask for credentials (as the OIDC exchange would).
    uris: &'static [&'static str],
    known: Known,
}

const PKG: &str = r#"{"name":"@sc/pkg","version":"1.0.0"}"#;

const fn scenario(name: &'static str) -> Scenario {
    Scenario {
        name,
        files: &[],
        env: &[],
        argv: &[],
        own_global: false,
        cwd: "proj",
        manifest: PKG,
        uris: &[],
        known: Known::None,
    }
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        ..scenario("defaults")
    },
    Scenario {
        files: &[(
            "home/.npmrc",
            "registry=https://Reg.Example.COM\n//reg.example.com/:_authToken=tok-user\n",
        )],
        uris: &["https://reg.example.com/-/npm/v1/oidc/token/exchange/package/@sc%2fpkg"],
        ..scenario("home npmrc: registry kept as written, token by nerf dart")
    },
    Scenario {
        files: &[
            ("global-npmrc", "tag=g\naccess=restricted\nfetch-retries=1\nregistry=https://global.example/\n"),
            ("home/.npmrc", "tag=u\naccess=restricted\nfetch-retry-factor=3\n"),
            ("proj/.npmrc", "tag=p\naccess=public\n"),
        ],
        env: &[("npm_config_tag", "e"), ("NPM_CONFIG_FETCH_RETRIES", "4")],
        argv: &["--tag=c"],
        ..scenario("precedence: cli > env > project > user > global")
    },
    Scenario {
        files: &[
            ("global-npmrc", "tag=g\nregistry=https://global.example/\nfetch-retry-mintimeout=5\n"),
            ("home/.npmrc", "tag=u\nfetch-retry-mintimeout=6\n"),
            ("proj/.npmrc", "tag=p\n"),
        ],
        ..scenario("precedence: project > user > global > default")
    },
    Scenario {
        files: &[(
            "runner/.npmrc",
            "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}\n@sc:registry=https://registry.npmjs.org/\n",
        )],
        env: &[
            ("NPM_CONFIG_USERCONFIG", "{ROOT}/runner/.npmrc"),
            ("NODE_AUTH_TOKEN", "npm_from_secret"),
        ],
        ..scenario("setup-node npmrc via NPM_CONFIG_USERCONFIG with NODE_AUTH_TOKEN set")
    },
    Scenario {
        files: &[(
            "runner/.npmrc",
            "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}\n@sc:registry=https://registry.npmjs.org/\n",
        )],
        env: &[("NPM_CONFIG_USERCONFIG", "{ROOT}/runner/.npmrc")],
        known: Known::NpmSendsUnexpandedPlaceholder,
        ..scenario("setup-node npmrc without NODE_AUTH_TOKEN: npm sends the literal")
    },
    Scenario {
        env: &[("NODE_AUTH_TOKEN", "npm_only_env")],
        known: Known::NodeAuthTokenFallback,
        ..scenario("NODE_AUTH_TOKEN alone")
    },
    Scenario {
        manifest: r#"{"name":"@sc/pkg","version":"1.0.0","publishConfig":{"registry":"https://pub.example/","tag":"next","access":"public","fetch-retries":5,"provenance":"true"}}"#,
        argv: &["--access=restricted"],
        files: &[("home/.npmrc", "//pub.example/:_authToken=tok-pub\n")],
        ..scenario("publishConfig overlays options, not CLI keys")
    },
    Scenario {
        manifest: r#"{"name":"@sc/pkg","version":"1.0.0","tag":"canary","publishConfig":{"tag":"next"}}"#,
        argv: &["--tag=beta"],
        ..scenario("top-level tag overrides --tag and publishConfig.tag")
    },
    Scenario {
        manifest: r#"{"name":"@sc/pkg","version":"1.0.0","publishConfig":{"registry":"https://pub.example/"}}"#,
        files: &[(
            "proj/.npmrc",
            "@sc:registry=https://npm.pkg.github.com/owner\n//npm.pkg.github.com/:_authToken=tok-gh\n",
        )],
        argv: &["--registry=https://cli.example"],
        ..scenario("@scope:registry beats --registry and publishConfig.registry")
    },
    Scenario {
        files: &[(
            "home/.npmrc",
            "//corp.example/api/npm/npm-local:_authToken=tok-noslash\n//localhost:4873/:_authToken=tok-port\n//other.example/deep/path/:_authToken=tok-deep\n",
        )],
        env: &[("npm_config_registry", "https://corp.example/api/npm/npm-local/")],
        uris: &[
            "https://corp.example/-/npm/v1/oidc/token/exchange/package/@sc%2fpkg",
            "http://localhost:4873/@sc%2fpkg",
            "http://localhost/@sc%2fpkg",
            "https://other.example/deep/path/x/y",
            "https://other.example/deep/x",
        ],
        ..scenario("nerf-dart walk: no-slash keys, ports, same-host fallback")
    },
    Scenario {
        files: &[(
            "home/.npmrc",
            "//registry.npmjs.org/:_auth=dXNlcjpwYXNz\n//u.example/:username=user\n//u.example/:_password=cGFzcw==\n",
        )],
        uris: &["https://u.example/x"],
        ..scenario("_auth and username + _password")
    },
    Scenario {
        files: &[
            ("home/.npmrc", "_authToken=npm_legacy\n"),
            ("proj/.npmrc", "username=me\n"),
        ],
        ..scenario("legacy bare _authToken is ERR_INVALID_AUTH")
    },
    Scenario {
        argv: &["--tag=v1"],
        ..scenario("tag v1 is a semver range")
    },
    Scenario {
        env: &[("npm_config_tag", "1.x")],
        ..scenario("tag 1.x from env is a semver range")
    },
    Scenario {
        argv: &["--tag=a b"],
        ..scenario("tag with a space is not URI-safe")
    },
    Scenario {
        argv: &["--tag=1.2.3beta"],
        ..scenario("a loose version is accepted as a tag")
    },
    Scenario {
        files: &[
            ("mono/package.json", r#"{"private":true,"workspaces":["packages/*"]}"#),
            ("mono/.npmrc", "registry=https://root.example/\n//root.example/:_authToken=tok-root\n"),
            ("mono/packages/a/.npmrc", "registry=https://ws.example/\n"),
        ],
        cwd: "mono/packages/a",
        ..scenario("workspace root npmrc is the project config")
    },
    Scenario {
        files: &[
            ("proj/.npmrc", "userconfig={ROOT}/elsewhere/npmrc\ntag=${UNSET_TAG?}nightly\n//r.example/:_authToken=\\${LITERAL}\n"),
            ("elsewhere/npmrc", "registry=https://r.example/\n"),
        ],
        ..scenario("project npmrc moves the user config; ${VAR?} and \\${")
    },
    Scenario {
        files: &[("pfx/etc/npmrc", "registry=https://from-prefix.example/\n")],
        env: &[("PREFIX", "{ROOT}/pfx")],
        own_global: true,
        ..scenario("global npmrc from $PREFIX")
    },
    Scenario {
        files: &[(
            "home/.npmrc",
            "registry=https://Reg.Example.COM\n@sc:registry=https://Scoped.Example/x\n",
        )],
        env: &[("npm_config_scope", "sc")],
        manifest: r#"{"name":"unscoped","version":"1.0.0"}"#,
        ..scenario("the scope option picks the scope registry for an unscoped package")
    },
    Scenario {
        files: &[("home/.npmrc", "registry=https://Reg.Example.COM\n")],
        env: &[("npm_config_scope", "sc")],
        ..scenario("scope without @ re-normalises the registry")
    },
    Scenario {
        argv: &["--provenance", "--provenance-file=p.json"],
        ..scenario("provenance and provenance-file are exclusive")
    },
    Scenario {
        files: &[("proj/.npmrc", "provenance=${P}\ndry-run=${D}\nfetch-retries=${R}\naccess=${A}\n")],
        env: &[("P", "true"), ("D", "false"), ("R", "5"), ("A", "private")],
        known: Known::ExpandedBoolean,
        ..scenario("booleans, numbers and enums through ${VAR}")
    },
    Scenario {
        argv: &["--provenance-file=p.json"],
        env: &[("npm_config_provenance", "true")],
        ..scenario("env provenance is dropped when --provenance-file is given")
    },
    Scenario {
        files: &[("home/.npmrc", "//registry.npmjs.org/:_auth=!!!\ndry-run=\n")],
        ..scenario("an _auth that decodes to nothing is no login; empty boolean is true")
    },
    Scenario {
        argv: &["--registry=HTTPS://CLI.Example:443"],
        manifest: r#"{"name":"unscoped","version":"1.0.0"}"#,
        ..scenario("--registry is normalised by nopt")
    },
    Scenario {
        files: &[("proj/.npmrc", "access=open\n")],
        known: Known::InvalidValueIsAnError,
        ..scenario("invalid access value")
    },
    Scenario {
        argv: &["--otp=123456", "--dry-run"],
        env: &[("NPM_CONFIG_//registry.npmjs.org/:_authToken", "tok-env-verbatim")],
        ..scenario("otp, dry-run and a verbatim // env key")
    },
    Scenario {
        files: &[(
            "home/.npmrc",
            "; comment\n  tag = beta ; inline comment\n//registry.npmjs.org/:_authToken=\"tok;quoted\"\nfetch-timeout='0'\n[section]\nregistry=https://hidden.example/\n",
        )],
        ..scenario("ini: quotes, inline comments, sections")
    },
];

fn sha16(s: &str) -> String {
    let digest = sha2::Sha256::digest(s.as_bytes());
    hex::encode(digest)[..16].to_string()
}

/// Numbers as f64 so `2` and `2.0` compare equal.
fn canon(v: Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Value::Array(a) => Value::Array(a.into_iter().map(canon).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, canon(v))).collect()),
        other => other,
    }
}

struct Prepared {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    env: Vec<(String, String)>,
    argv: Vec<String>,
    cwd: PathBuf,
    manifest: Value,
}

fn prepare(s: &Scenario) -> Prepared {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = fs::canonicalize(tmp.path()).unwrap();
    let r = |t: &str| t.replace("{ROOT}", &root.to_string_lossy());
    fs::create_dir_all(root.join("home")).unwrap();
    let cwd = root.join(s.cwd);
    fs::create_dir_all(&cwd).unwrap();
    fs::write(cwd.join("package.json"), s.manifest).unwrap();
    fs::write(root.join("global-npmrc"), "").unwrap();
    for (rel, text) in s.files {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, r(text)).unwrap();
    }
    let mut env = vec![
        (
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_default(),
        ),
        (
            "HOME".to_string(),
            root.join("home").to_string_lossy().into_owned(),
        ),
        ("LANG".to_string(), "C.UTF-8".to_string()),
    ];
    env.extend(s.env.iter().map(|(k, v)| (k.to_string(), r(v))));
    let mut argv: Vec<String> = s.argv.iter().map(|a| r(a)).collect();
    if !s.own_global {
        argv.push(format!(
            "--globalconfig={}",
            root.join("global-npmrc").display()
        ));
    }
    Prepared {
        _tmp: tmp,
        root,
        env,
        argv,
        cwd,
        manifest: serde_json::from_str(s.manifest).unwrap(),
    }
}

fn run_npm(p: &Prepared, s: &Scenario, npm_root: &Path) -> (Value, String) {
    let script = p.root.join("harness.js");
    fs::write(&script, HARNESS).unwrap();
    let input = json!({
        "npmRoot": npm_root,
        "cwd": p.cwd,
        "argv": p.argv,
        "manifest": p.manifest,
        "uris": s.uris,
    });
    let input_path = p.root.join("input.json");
    fs::write(&input_path, input.to_string()).unwrap();
    let mut cmd = Command::new("node");
    cmd.arg(&script).arg(&input_path);
    cmd.env_clear();
    for (k, v) in &p.env {
        cmd.env(k, v);
    }
    let out = support::run(cmd, &p.root, "npm-config");
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("@@RESULT@@"))
        .unwrap_or_else(|| {
            panic!(
                "[{}] the npm harness printed no result\n{}",
                s.name,
                out.describe()
            )
        });
    let v: Value = serde_json::from_str(line).unwrap();
    if v["error"]["phase"] == "crash" {
        panic!(
            "[{}] the npm harness crashed: {}",
            s.name, v["error"]["message"]
        );
    }
    (v, out.stderr)
}

/// Splits npm-style flags into our `CliConfig`.
fn cli_config(argv: &[String]) -> CliConfig {
    let mut cli = CliConfig::default();
    for arg in argv {
        let arg = arg.strip_prefix("--").expect("flags only");
        let (key, value) = match arg.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (arg, None),
        };
        let path = || value.clone().map(PathBuf::from);
        match key {
            "registry" => cli.registry = value.clone(),
            "tag" => cli.tag = value.clone(),
            "access" => cli.access = value.clone(),
            "otp" => cli.otp = value.clone().map(Secret::new),
            "userconfig" => cli.userconfig = path(),
            "globalconfig" => cli.globalconfig = path(),
            "provenance" => cli.provenance = Some(true),
            "no-provenance" => cli.provenance = Some(false),
            "provenance-file" => cli.provenance_file = path(),
            "dry-run" => cli.dry_run = true,
            "force" => cli.force = true,
            "ignore-scripts" => cli.ignore_scripts = true,
            other => cli
                .extra
                .push((other.to_string(), value.unwrap_or_else(|| "true".into()))),
        }
    }
    cli
}

/// Our answers, in the harness's shape.
fn run_ours(p: &Prepared, s: &Scenario) -> Result<Value, ConfigError> {
    let env = Env::from_pairs(p.env.clone());
    let cli = cli_config(&p.argv);
    let manifest: Map<String, Value> = p.manifest.as_object().unwrap().clone();
    let name = manifest["name"].as_str().unwrap().to_string();
    let config = Config::load(&env, &cli, &p.cwd)?;
    let config = config.with_publish_config(&manifest)?;
    config.check_tag(&name)?;
    let registry = config.registry_for(&name)?;
    let put = registry.package_url(&escaped(&name));
    let describe = |l: CredentialLookup| match l {
        CredentialLookup::Found(c) => {
            let key = match &c.source {
                CredentialSource::Config { key, .. } => Value::from(key.clone()),
                CredentialSource::NodeAuthToken => Value::from("NODE_AUTH_TOKEN"),
            };
            let (bearer, basic) = match &c.authorization {
                Some(Authorization::Bearer(t)) => (Value::from(sha16(t.expose())), Value::Null),
                Some(Authorization::Basic(b)) => (Value::Null, Value::from(sha16(b.expose()))),
                None => (Value::Null, Value::Null),
            };
            json!({ "key": key, "bearer": bearer, "basic": basic })
        }
        CredentialLookup::Unusable(d) => json!({ "unusable": d.to_string() }),
        CredentialLookup::Missing => json!({ "key": null, "bearer": null, "basic": null }),
    };
    let mut auth = Map::new();
    auth.insert(
        put.clone(),
        describe(config.lookup_credential(&put, Some(&name))),
    );
    for uri in s.uris {
        auth.insert(
            uri.to_string(),
            describe(config.lookup_credential(uri, None)),
        );
    }
    let retry = config.retry();
    let files = config.files();
    Ok(json!({
        "localPrefix": files.local_prefix,
        "userconfig": files.user,
        "globalconfig": files.global,
        "isDefaultTag": config.is_default_tag(),
        "registry": registry.url,
        "configTag": config.tag(),
        "distTag": config.dist_tag(),
        "access": config.access().map(|a| a.as_str()),
        "provenance": config.provenance(),
        "dryRun": config.dry_run(),
        "retry": {
            "retries": retry.retries,
            "factor": retry.factor,
            "minTimeout": retry.min_timeout.as_millis() as u64,
            "maxTimeout": retry.max_timeout.as_millis() as u64,
        },
        "timeout": retry.timeout.map_or(0, |t| t.as_millis() as u64),
        "otp": config.otp().map(|o| sha16(o.expose())),
        "authType": config.auth_type(),
        "hasCreds": config.has_credentials_for_publish(&registry.url),
        "auth": auth,
    }))
}

/// npm-package-arg's `escapedName`.
fn escaped(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

fn our_error_phase(e: &ConfigError) -> &'static str {
    match e {
        ConfigError::Exclusive { .. } => "load",
        ConfigError::LegacyAuth { .. } | ConfigError::InvalidValue { .. } => "validate",
        ConfigError::TagIsSemverRange { .. } => "tag",
        ConfigError::InvalidTagName { .. } => "npa",
        ConfigError::UnusableCredential(_) => "credential",
        ConfigError::Network { .. } => "network",
        ConfigError::RefusedFile { .. } => "load",
    }
}

fn check(s: &Scenario, npm_root: &Path) -> Result<(), String> {
    let p = prepare(s);
    let (npm, npm_stderr) = run_npm(&p, s, npm_root);
    let ours = run_ours(&p, s);
    let secrets = [
        "npm_from_secret",
        "npm_only_env",
        "tok-user",
        "npm_legacy",
        "123456",
    ];

    if let Some(err) = npm.get("error") {
        let phase = err["phase"].as_str().unwrap_or("");
        let message = err["message"].as_str().unwrap_or("");
        let Err(e) = &ours else {
            return Err(format!(
                "npm failed ({phase}: {message}) but trustpub did not"
            ));
        };
        let text = e.to_string();
        if std::env::var_os("TRUSTPUB_CONFIG_DIFF_DUMP").is_some() {
            eprintln!("[{}]\nnpm:  {phase}: {message}\nours: {text}\n", s.name);
        }
        for s in secrets {
            if text.contains(s) || format!("{e:?}").contains(s) {
                return Err(format!("a secret leaked into the error: {text}"));
            }
        }
        if our_error_phase(e) != phase {
            return Err(format!(
                "npm failed in {phase} ({message}); trustpub with {text}"
            ));
        }
        // The substance of npm's message is in ours: each clause of
        // ERR_INVALID_AUTH, or the message itself up to its first newline.
        let first_line = message.lines().next().unwrap_or("");
        let clauses: Vec<&str> = match phase {
            "validate" => first_line
                .trim_start_matches("Invalid auth configuration found: ")
                .split(", ")
                .collect(),
            "npa" => vec![first_line.split(": Tags").next().unwrap_or(first_line)],
            _ => vec![first_line],
        };
        for clause in clauses {
            if !text.contains(clause) {
                return Err(format!("npm says {clause:?}; trustpub says {text:?}"));
            }
        }
        return Ok(());
    }

    let ours = match (ours, s.known) {
        (Err(e), Known::InvalidValueIsAnError) => {
            if std::env::var_os("TRUSTPUB_CONFIG_DIFF_DUMP").is_some() {
                eprintln!("[{}]\nnpm:  {npm}\n{npm_stderr}\nours: {e}\n", s.name);
            }
            if !matches!(e, ConfigError::InvalidValue { .. }) {
                return Err(format!("expected an invalid-value error, got {e}"));
            }
            if !npm_stderr.contains("invalid config") {
                return Err(format!(
                    "npm did not warn about the invalid value:\n{npm_stderr}"
                ));
            }
            return Ok(());
        }
        (Err(e), _) => return Err(format!("trustpub failed ({e}) but npm did not:\n{npm:#}")),
        (Ok(v), _) => v,
    };
    let mut want = canon(npm.clone());
    let got = canon(ours);
    if std::env::var_os("TRUSTPUB_CONFIG_DIFF_DUMP").is_some() {
        eprintln!("[{}]\nnpm:  {want}\nours: {got}\n", s.name);
    }
    match s.known {
        Known::None | Known::InvalidValueIsAnError => {}
        Known::ExpandedBoolean => {
            if want["provenance"] != false || got["provenance"] != true {
                return Err(format!(
                    "expected npm without provenance and trustpub with it: npm {}, trustpub {}",
                    want["provenance"], got["provenance"]
                ));
            }
            want["provenance"] = Value::Bool(true);
        }
        Known::NpmSendsUnexpandedPlaceholder => {
            // npm counts the literal in its pre-check and sends it.
            if want["hasCreds"] != true {
                return Err("npm no longer counts an unexpanded placeholder".into());
            }
            let literal = sha16("${NODE_AUTH_TOKEN}");
            for (url, a) in want["auth"].as_object_mut().unwrap() {
                if a["bearer"].as_str() != Some(literal.as_str()) {
                    return Err(format!(
                        "npm did not send the literal placeholder to {url}: {a}"
                    ));
                }
                let ours = &got["auth"][url.as_str()]["unusable"];
                if !ours
                    .as_str()
                    .is_some_and(|t| t.contains("`${NODE_AUTH_TOKEN}`") && t.contains("is not set"))
                {
                    return Err(format!(
                        "trustpub did not report the placeholder for {url}: {ours}"
                    ));
                }
                *a = got["auth"][url.as_str()].clone();
            }
            want["hasCreds"] = Value::Bool(false);
        }
        Known::NodeAuthTokenFallback => {
            if want["hasCreds"] != false {
                return Err("npm now reads NODE_AUTH_TOKEN".into());
            }
            for (url, a) in want["auth"].as_object_mut().unwrap() {
                let ours = &got["auth"][url.as_str()];
                if ours["key"] != "NODE_AUTH_TOKEN"
                    || ours["bearer"].as_str() != Some(sha16("npm_only_env").as_str())
                {
                    return Err(format!(
                        "trustpub did not use NODE_AUTH_TOKEN for {url}: {ours}"
                    ));
                }
                *a = ours.clone();
            }
            want["hasCreds"] = Value::Bool(true);
        }
    }
    if want != got {
        let a = serde_json::to_string_pretty(&want).unwrap();
        let b = serde_json::to_string_pretty(&got).unwrap();
        return Err(format!(
            "npm and trustpub differ:\n{}",
            support::line_diff(&a, &b)
        ));
    }
    Ok(())
}

/// The diagnostics for setup-node's literal placeholder name the file and
/// line, as the scenario above shows npm would send it.
fn check_placeholder_diagnostic() -> Result<(), String> {
    let s = SCENARIOS
        .iter()
        .find(|s| s.known == Known::NpmSendsUnexpandedPlaceholder)
        .unwrap();
    let p = prepare(s);
    let config = Config::load(
        &Env::from_pairs(p.env.clone()),
        &cli_config(&p.argv),
        &p.cwd,
    )
    .map_err(|e| e.to_string())?;
    let want = format!(
        "`${{NODE_AUTH_TOKEN}}` in {}:1 (user config) is not set",
        p.root.join("runner/.npmrc").display()
    );
    if !config.diagnostics().iter().any(|d| {
        matches!(
            d,
            ConfigDiagnostic::UnsetVariable {
                credential: true,
                ..
            }
        ) && d.to_string().starts_with(&want)
    }) {
        return Err(format!(
            "no diagnostic starting with {want:?} in {:#?}",
            config.diagnostics()
        ));
    }
    Ok(())
}

#[test]
fn config_matches_npm() {
    support::require_npm();
    let npm_root = support::npm_root();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = SCENARIOS
            .chunks(SCENARIOS.len().div_ceil(2))
            .map(|chunk| {
                let npm_root = npm_root.clone();
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|s| {
                            check(s, &npm_root)
                                .err()
                                .map(|e| format!("[{}] {e}", s.name))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("scenario thread"))
            .collect()
    });
    let mut failures = failures;
    if let Err(e) = check_placeholder_diagnostic() {
        failures.push(format!("[placeholder diagnostic] {e}"));
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ from npm {}:\n\n{}",
        failures.len(),
        SCENARIOS.len(),
        support::NPM_VERSION,
        failures.join("\n\n")
    );
}

/// `semver.validRange` (strict and loose) from npm's own copy of
/// node-semver, against `trustpub::semver::valid_range`, for the strings a
/// dist-tag could plausibly be.
#[test]
fn valid_range_matches_node_semver() {
    support::require_npm();
    let npm_root = support::npm_root();
    let inputs = [
        "latest",
        "next",
        "beta",
        "rc",
        "canary",
        "v1",
        "v2-beta",
        "1.x",
        "1.X",
        "x",
        "*",
        "",
        "^1.0.0",
        "~1.2",
        ">=1 <2",
        "1 - 2",
        "1.2.3",
        "1.2.3-beta.1",
        "1.2.3beta",
        "01",
        "v",
        "2024.01.01",
        "1.2.3 || 2",
        "latest || 1",
        "=v1",
        "next-1",
        "1.0.0-rc",
        " 1 ",
        "x.x.x",
        "<=1.2",
        ">1",
        "<1.0.0-0",
        "1.2.3.4",
        "^0.0.1",
        "~>1.2.3",
        "1.2.3+build",
        "a b",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let script = format!(
        "const s=require({:?});const i=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'));\
         console.log(JSON.stringify(i.map(r=>[s.validRange(r),s.validRange(r,true)])))",
        npm_root.join("node_modules/semver").to_string_lossy()
    );
    let input = tmp.path().join("in.json");
    fs::write(&input, serde_json::to_string(&inputs[..]).unwrap()).unwrap();
    let mut cmd = Command::new("node");
    cmd.arg("-e").arg(script).arg(&input);
    support::apply_env(&mut cmd, tmp.path());
    let out = support::run(cmd, tmp.path(), "semver");
    assert!(out.status.success(), "{}", out.describe());
    let answers: Vec<(Option<String>, Option<String>)> =
        serde_json::from_str(out.stdout.trim()).unwrap();
    let mut failures = Vec::new();
    for (input, (strict, loose)) in inputs.iter().zip(answers) {
        let ours = (
            trustpub::semver::valid_range(input, false),
            trustpub::semver::valid_range(input, true),
        );
        if ours != (strict.clone(), loose.clone()) {
            failures.push(format!(
                "{input:?}: npm {:?}, trustpub {ours:?}",
                (strict, loose)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
