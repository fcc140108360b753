//! The fake of npm's trusted-publisher configuration API
//! ([`crate::support::trust_api`]) against the real `npm trust` (npm
//! 11.19.1), and the helper the differential tests of `trustpub trust` use
//! ([`npm_change`]).
//!
//! * **The real npm is accepted**: `npm trust github|gitlab|circleci`
//!   (environment or not, publish and/or stage permissions, two CircleCI
//!   contexts), `npm trust list --json` and `npm trust revoke --id` succeed
//!   against the fake and leave it in the state the registry would be in.
//! * **The rules bite npm**: without `--otp` a mutation fails with npm's
//!   `EOTP` message; a second create fails (409); an accepted code opens
//!   the skip window, and after it closes the challenge is back.
//! * **The rules themselves** are checked request by request with a plain
//!   HTTP client (token, basic auth, unknown package or id, body shapes,
//!   rate limit, reads with OTP, injected faults, scoped paths).
//!
//! # What npm 11.19.1 sends (recorded from the runs in this module)
//!
//! Every request of `npm trust …` carries
//! `user-agent: npm/11.19.1 node/<v> <platform> <arch> workspaces/false`,
//! `npm-command: trust` (also for `list` and `revoke`),
//! `authorization: Bearer <token>`, `accept: */*`,
//! `accept-encoding: gzip,deflate`, `host`, `connection: keep-alive`; no
//! `npm-session`, no `npm-scope` (the package's scope is not a config).
//! These runs are outside CI (in CI the user-agent ends with
//! `ci/<name>`; npm-registry-fetch has no other CI header). Then:
//!
//! | request | body, `content-type` | `npm-otp` | `npm-auth-type` |
//! |---|---|---|---|
//! | `GET /-/package/<escapedName>/trust` (list) | none | only with `--otp=` | `web` (default), `legacy` with `--otp=` |
//! | `POST /-/package/<escapedName>/trust` (create) | `[{type, claims, permissions}]`, `application/json`, `content-length` | the `--otp=` code | `legacy` with `--otp=`, else `web` |
//! | `DELETE /-/package/<escapedName>/trust/<encodeURIComponent(id)>` (revoke) | none | the `--otp=` code | as for POST |
//!
//! `<escapedName>` is `@scope%2fname` for a scoped package. The `claims`
//! object's keys come in npm's order (github: `repository`,
//! `workflow_ref`, `environment`; gitlab: `project_path`,
//! `ci_config_ref_uri`, `environment`; circleci: org, project, pipeline
//! definition, vcs origin, `context-ids`), `permissions` is
//! `createPackage` before `createStagedPackage`.
//!
//! npm's behaviour around the requests, which trustpub has to match or
//! knowingly differ from:
//! * The OTP only goes as `--otp=<code>`: the `trust` subcommands parse
//!   their flags with their own definitions, so `--otp <code>` makes the
//!   code a second positional argument ("Unknown positional argument").
//! * Without a terminal npm never prompts: a challenge (`401` +
//!   `www-authenticate: OTP`) fails the command with `EOTP`.
//! * npm does not retry a POST; it retries a GET or DELETE answered `408`,
//!   `420`, `429` or `5xx` (`fetch-retries`, 2 by default, with its own
//!   backoff: `retry-after` is not read).
//! * An update is three commands (`list`, `revoke --id`, `<provider>`): the
//!   registry keeps one configuration per package.
//! * npm calls npm-registry-fetch without the package spec, so `npm trust`
//!   always talks to the default `registry`: `@scope:registry` and
//!   `publishConfig.registry` are ignored (pinned, with trustpub's
//!   different choice, in `trust_diff`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::support::http::{self, Request};
use crate::support::sandbox::{Run, Sandbox};
use crate::support::trust_api::{
    config_id, delete_prefix, trust_path, Fault, Options, TrustApi, OTP_CHALLENGE,
};
use crate::support::{self};

// ---------------------------------------------------------------------------
// What a package's configuration should be, and npm's commands for it

/// A CI provider's identity, as `npm trust <provider>` takes it.
#[derive(Debug, Clone)]
pub enum Provider {
    Github {
        repository: String,
        file: String,
        environment: Option<String>,
    },
    Gitlab {
        project: String,
        file: String,
        environment: Option<String>,
    },
    Circleci {
        org_id: String,
        project_id: String,
        pipeline_definition_id: String,
        vcs_origin: String,
        context_ids: Vec<String>,
    },
}

/// A trusted-publisher configuration: who, and what it may do.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub provider: Provider,
    pub publish: bool,
    pub stage: bool,
}

impl Wanted {
    pub fn github(repository: &str, file: &str, environment: Option<&str>) -> Wanted {
        Wanted {
            provider: Provider::Github {
                repository: repository.into(),
                file: file.into(),
                environment: environment.map(Into::into),
            },
            publish: true,
            stage: false,
        }
    }

    pub fn gitlab(project: &str, file: &str, environment: Option<&str>) -> Wanted {
        Wanted {
            provider: Provider::Gitlab {
                project: project.into(),
                file: file.into(),
                environment: environment.map(Into::into),
            },
            publish: true,
            stage: false,
        }
    }

    pub fn circleci(
        org_id: &str,
        project_id: &str,
        pipeline_definition_id: &str,
        vcs_origin: &str,
        context_ids: &[&str],
    ) -> Wanted {
        Wanted {
            provider: Provider::Circleci {
                org_id: org_id.into(),
                project_id: project_id.into(),
                pipeline_definition_id: pipeline_definition_id.into(),
                vcs_origin: vcs_origin.into(),
                context_ids: context_ids.iter().map(|s| s.to_string()).collect(),
            },
            publish: true,
            stage: false,
        }
    }

    /// Sets the permissions (at least one should be true: npm refuses
    /// none).
    pub fn allow(mut self, publish: bool, stage: bool) -> Wanted {
        self.publish = publish;
        self.stage = stage;
        self
    }

    /// `trust <provider> <pkg> <flags> --yes` (without `--otp` and
    /// `--registry`).
    pub fn npm_args(&self, pkg: &str) -> Vec<String> {
        let mut a: Vec<String> = vec!["trust".into()];
        let mut flag = |k: &str, v: &str| {
            a.push(format!("--{k}"));
            a.push(v.to_string());
        };
        match &self.provider {
            Provider::Github {
                repository,
                file,
                environment,
            } => {
                flag("file", file);
                flag("repository", repository);
                if let Some(e) = environment {
                    flag("environment", e);
                }
            }
            Provider::Gitlab {
                project,
                file,
                environment,
            } => {
                flag("file", file);
                flag("project", project);
                if let Some(e) = environment {
                    flag("environment", e);
                }
            }
            Provider::Circleci {
                org_id,
                project_id,
                pipeline_definition_id,
                vcs_origin,
                context_ids,
            } => {
                flag("org-id", org_id);
                flag("project-id", project_id);
                flag("pipeline-definition-id", pipeline_definition_id);
                flag("vcs-origin", vcs_origin);
                for c in context_ids {
                    flag("context-id", c);
                }
            }
        }
        let provider = match &self.provider {
            Provider::Github { .. } => "github",
            Provider::Gitlab { .. } => "gitlab",
            Provider::Circleci { .. } => "circleci",
        };
        a.insert(1, provider.into());
        a.insert(2, pkg.into());
        if self.publish {
            a.push("--allow-publish".into());
        }
        if self.stage {
            a.push("--allow-stage-publish".into());
        }
        a.push("--yes".into());
        a
    }

    /// The configuration as the registry stores it (without `id`), built as
    /// npm's `optionsToBody` builds it.
    pub fn body(&self) -> Value {
        let (ty, claims) = match &self.provider {
            Provider::Github {
                repository,
                file,
                environment,
            } => {
                let mut c = json!({ "repository": repository, "workflow_ref": { "file": file } });
                if let Some(e) = environment {
                    c["environment"] = json!(e);
                }
                ("github", c)
            }
            Provider::Gitlab {
                project,
                file,
                environment,
            } => {
                let mut c =
                    json!({ "project_path": project, "ci_config_ref_uri": { "file": file } });
                if let Some(e) = environment {
                    c["environment"] = json!(e);
                }
                ("gitlab", c)
            }
            Provider::Circleci {
                org_id,
                project_id,
                pipeline_definition_id,
                vcs_origin,
                context_ids,
            } => {
                let mut c = json!({
                    "oidc.circleci.com/org-id": org_id,
                    "oidc.circleci.com/project-id": project_id,
                    "oidc.circleci.com/pipeline-definition-id": pipeline_definition_id,
                    "oidc.circleci.com/vcs-origin": vcs_origin,
                });
                if !context_ids.is_empty() {
                    c["oidc.circleci.com/context-ids"] = json!(context_ids);
                }
                ("circleci", c)
            }
        };
        let mut permissions = Vec::new();
        if self.publish {
            permissions.push("createPackage");
        }
        if self.stage {
            permissions.push("createStagedPackage");
        }
        json!({ "type": ty, "claims": claims, "permissions": permissions })
    }
}

/// A change to one package's configuration.
#[derive(Debug, Clone)]
pub enum Change {
    /// None exists: create it (`npm trust <provider> …`).
    Create(Wanted),
    /// One exists: `npm trust list`, `npm trust revoke --id`, then `npm
    /// trust <provider> …`.
    Update(Wanted),
    /// `npm trust list`, then `npm trust revoke --id` for each listed.
    Revoke,
}

// ---------------------------------------------------------------------------
// Normalised requests

/// Headers that differ by design between two clients or two runs and say
/// nothing about the change: the client's name and version, the
/// connection's, the transport's.
pub const IGNORED_HEADERS: [&str; 6] = [
    "user-agent",
    "host",
    "connection",
    "content-length",
    "accept-encoding",
    "npm-session",
];

/// A request reduced to what two clients making the same change must
/// agree on: method, target, JSON body, and every header but
/// [`IGNORED_HEADERS`] (the token replaced by `<token>`, another
/// credential by `<other credential>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Norm {
    pub method: String,
    pub url: String,
    /// The parsed JSON body (`Null` when empty; a non-JSON body as a string).
    pub body: Value,
    pub headers: BTreeMap<String, String>,
}

pub fn normalise(r: &Request, token: &str) -> Norm {
    let headers = r
        .headers
        .iter()
        .filter(|(k, _)| !IGNORED_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| {
            let v = if k == "authorization" {
                if v.strip_prefix("Bearer ") == Some(token) {
                    "Bearer <token>".to_string()
                } else {
                    "<other credential>".to_string()
                }
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect();
    let body = if r.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&r.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&r.body).into_owned()))
    };
    Norm {
        method: r.method.clone(),
        url: r.url.clone(),
        body,
        headers,
    }
}

/// The mutations (POST, DELETE) of a list of normalised requests.
pub fn mutations(reqs: &[Norm]) -> Vec<Norm> {
    reqs.iter().filter(|n| n.method != "GET").cloned().collect()
}

/// A readable, secret-free rendering of normalised requests (the OTP
/// replaced by `<otp>`), for assertion messages.
pub fn render(reqs: &[Norm]) -> String {
    reqs.iter()
        .map(|n| {
            let headers: Vec<String> = n
                .headers
                .iter()
                .map(|(k, v)| {
                    if k == "npm-otp" {
                        format!("{k}: <otp>")
                    } else {
                        format!("{k}: {v}")
                    }
                })
                .collect();
            format!(
                "{} {}\n  {}\n  body: {}",
                n.method,
                n.url,
                headers.join("\n  "),
                n.body
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------
// Running npm

/// `npm <args> --registry=<fake>` in the sandbox, `--otp=<code>` appended
/// when given (npm's `trust` takes it only in that form).
pub fn npm_trust(sb: &Sandbox, api: &TrustApi, args: &[String], otp: Option<&str>) -> Run {
    let mut cmd = sb.npm(args).arg(format!("--registry={}", api.url()));
    if let Some(code) = otp {
        cmd = cmd.arg(format!("--otp={code}"));
    }
    cmd.run()
}

/// The ids `npm trust list <pkg> --json` prints (one JSON object per
/// configuration, concatenated; nothing when there is none).
pub fn npm_list_ids(sb: &Sandbox, api: &TrustApi, pkg: &str) -> Vec<String> {
    let run = npm_trust(
        sb,
        api,
        &["trust".into(), "list".into(), pkg.into(), "--json".into()],
        None,
    );
    run.success();
    serde_json::Deserializer::from_str(run.stdout())
        .into_iter::<Value>()
        .map(|v| {
            let v = v.unwrap_or_else(|e| panic!("npm trust list --json: {e}\n{}", run.describe));
            v["id"]
                .as_str()
                .unwrap_or_else(|| panic!("a listed configuration without id:\n{}", run.describe))
                .to_string()
        })
        .collect()
}

/// Makes `change` to `pkg` with the real npm, as a maintainer would
/// (mutations with `--otp=<otp>` when given, `list` without), against
/// `api`; panics if a command fails. Returns the requests the change sent,
/// normalised with the sandbox's token.
pub fn npm_change(
    sb: &Sandbox,
    api: &TrustApi,
    pkg: &str,
    change: &Change,
    otp: Option<&str>,
) -> Vec<Norm> {
    let before = api.requests().len();
    let revoke_all = || {
        for id in npm_list_ids(sb, api, pkg) {
            let args = ["trust", "revoke", pkg, "--id", &id].map(String::from);
            npm_trust(sb, api, &args, otp).success();
        }
    };
    match change {
        Change::Create(w) => {
            npm_trust(sb, api, &w.npm_args(pkg), otp).success();
        }
        Change::Update(w) => {
            revoke_all();
            npm_trust(sb, api, &w.npm_args(pkg), otp).success();
        }
        Change::Revoke => revoke_all(),
    }
    api.requests()[before..]
        .iter()
        .map(|r| normalise(r, &sb.token))
        .collect()
}

/// [`npm_change`] for each `(package, change)` in order (npm has no
/// workspace mode for `trust`: one command sequence per package, as the
/// docs' "bulk usage" loop does, without its 2-second pause).
pub fn npm_changes(
    sb: &Sandbox,
    api: &TrustApi,
    plan: &[(&str, Change)],
    otp: Option<&str>,
) -> Vec<Norm> {
    plan.iter()
        .flat_map(|(pkg, change)| npm_change(sb, api, pkg, change, otp))
        .collect()
}

// ---------------------------------------------------------------------------
// Fixtures

const OTP: &str = "402913";
const ORG: &str = "2f6c4bb5-8a8c-4d0e-9d2c-8f1e6f0a1b11";
const PROJECT: &str = "8b1d0c5e-3f7a-4e2b-a1c9-0d4e5f6a7b22";
const PIPELINE: &str = "c3e4f5a6-b7c8-4d9e-8f0a-1b2c3d4e5f33";
const CONTEXT_A: &str = "d4e5f6a7-b8c9-4dae-9fb0-2c3d4e5f6a44";
const CONTEXT_B: &str = "e5f6a7b8-c9da-4eb1-8c2d-3e4f5a6b7c55";

/// A sandbox logged in to a fresh fake that accepts [`OTP`] (no skip
/// window) and knows `packages` (without configurations). The OTP is one
/// of the sandbox's secrets: no run may print it.
fn world(packages: &[&str]) -> (Sandbox, TrustApi) {
    support::require_npm();
    let sb = Sandbox::new();
    sb.add_secret(OTP);
    let api = TrustApi::start(Options::new(&sb.token).codes(&[OTP]));
    for p in packages {
        api.package(p, &[]);
    }
    sb.login(&api.url());
    (sb, api)
}

/// `configs` with each one's `id` removed.
fn strip_ids(configs: &[Value]) -> Vec<Value> {
    configs
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.as_object_mut().unwrap().shift_remove("id");
            c
        })
        .collect()
}

fn header<'a>(n: &'a Norm, name: &str) -> Option<&'a str> {
    n.headers.get(name).map(String::as_str)
}

/// Checks the headers every npm trust request carries, and the ones that
/// depend on the method and on `--otp`.
fn assert_npm_headers(n: &Norm, with_otp: bool) {
    let what = format!("{} {}", n.method, n.url);
    assert_eq!(header(n, "npm-command"), Some("trust"), "{what}");
    assert_eq!(header(n, "authorization"), Some("Bearer <token>"), "{what}");
    assert_eq!(header(n, "accept"), Some("*/*"), "{what}");
    assert_eq!(
        header(n, "npm-auth-type"),
        Some(if with_otp { "legacy" } else { "web" }),
        "{what}"
    );
    assert_eq!(header(n, "npm-otp").is_some(), with_otp, "{what}");
    if n.method == "POST" {
        assert_eq!(
            header(n, "content-type"),
            Some("application/json"),
            "{what}"
        );
    } else {
        assert_eq!(header(n, "content-type"), None, "{what}");
        assert_eq!(n.body, Value::Null, "{what}");
    }
    let mut names: Vec<&str> = n.headers.keys().map(String::as_str).collect();
    names.retain(|h| {
        ![
            "npm-command",
            "authorization",
            "accept",
            "npm-auth-type",
            "npm-otp",
            "content-type",
        ]
        .contains(h)
    });
    assert!(
        names.is_empty(),
        "{what}: more headers than documented: {names:?}"
    );
}

// ---------------------------------------------------------------------------
// The real npm against the fake

/// GitHub with an environment: create, list, revoke; the state after each,
/// and every header npm sends.
#[test]
fn npm_github_create_list_revoke() {
    let pkg = "@acme/core";
    let (sb, api) = world(&[pkg, "@acme/untouched"]);
    let wanted = Wanted::github("acme/mono", "release.yml", Some("npm"));

    let created = npm_change(&sb, &api, pkg, &Change::Create(wanted.clone()), Some(OTP));
    assert_eq!(created.len(), 1, "{}", render(&created));
    let post = &created[0];
    assert_eq!(post.method, "POST");
    assert_eq!(post.url, "/-/package/@acme%2fcore/trust");
    assert_eq!(post.body, json!([wanted.body()]));
    assert_eq!(header(post, "npm-otp"), Some(OTP));
    assert_npm_headers(post, true);
    let configs = api.configs(pkg).unwrap();
    assert_eq!(configs.len(), 1);
    assert_eq!(configs[0]["id"], config_id(1));
    assert_eq!(strip_ids(&configs), vec![wanted.body()]);

    let before = api.requests().len();
    assert_eq!(npm_list_ids(&sb, &api, pkg), vec![config_id(1)]);
    let list: Vec<Norm> = api.requests()[before..]
        .iter()
        .map(|r| normalise(r, &sb.token))
        .collect();
    assert_eq!(list.len(), 1, "{}", render(&list));
    assert_eq!(list[0].method, "GET");
    assert_eq!(list[0].url, trust_path(pkg));
    assert_npm_headers(&list[0], false);

    let revoked = npm_change(&sb, &api, pkg, &Change::Revoke, Some(OTP));
    let methods: Vec<&str> = revoked.iter().map(|n| n.method.as_str()).collect();
    assert_eq!(methods, ["GET", "DELETE"], "{}", render(&revoked));
    assert_eq!(
        revoked[1].url,
        format!("/-/package/@acme%2fcore/trust/{}", config_id(1))
    );
    assert_npm_headers(&revoked[1], true);
    assert_eq!(api.configs(pkg), Some(vec![]));
    // A fresh list sees the revocation (no cached answer), and the other
    // package was never asked about.
    assert!(npm_list_ids(&sb, &api, pkg).is_empty());
    assert_eq!(api.configs("@acme/untouched"), Some(vec![]));
    assert!(
        api.requests()
            .iter()
            .all(|r| r.url.contains("@acme%2fcore")),
        "{:?}",
        api.summary()
    );
}

/// npm's human output of a create names the stored configuration (the id
/// the fake gave it), and `--json` of `list` has the fields npm derives
/// from the claims.
#[test]
fn npm_list_json_shows_the_fakes_configuration() {
    let pkg = "solo";
    let (sb, api) = world(&[pkg]);
    let wanted = Wanted::gitlab("group/sub/project", ".gitlab-ci.yml", None).allow(true, true);
    let run = npm_trust(&sb, &api, &wanted.npm_args(pkg), Some(OTP));
    run.success();
    assert!(
        run.stdout()
            .contains("Trust configuration created successfully for solo"),
        "{}",
        run.describe
    );
    let list = npm_trust(
        &sb,
        &api,
        &["trust", "list", pkg, "--json"].map(String::from),
        None,
    );
    list.success();
    assert_eq!(
        list.json(),
        json!({
            "id": config_id(1),
            "type": "gitlab",
            "file": ".gitlab-ci.yml",
            "project": "group/sub/project",
            "permissions": ["createPackage", "createStagedPackage"],
        }),
        "{}",
        list.describe
    );
    // Unscoped names are not escaped.
    assert_eq!(api.requests()[0].url, "/-/package/solo/trust");
}

/// GitLab with an environment and only the stage permission.
#[test]
fn npm_gitlab_with_environment_stage_only() {
    let pkg = "@acme/gl";
    let (sb, api) = world(&[pkg]);
    let wanted =
        Wanted::gitlab("acme/mono", ".gitlab-ci.yml", Some("production")).allow(false, true);
    let reqs = npm_change(&sb, &api, pkg, &Change::Create(wanted.clone()), Some(OTP));
    assert_eq!(reqs.len(), 1, "{}", render(&reqs));
    assert_eq!(reqs[0].body, json!([wanted.body()]));
    assert_eq!(
        reqs[0].body[0]["permissions"],
        json!(["createStagedPackage"])
    );
    assert_npm_headers(&reqs[0], true);
    assert_eq!(strip_ids(&api.configs(pkg).unwrap()), vec![wanted.body()]);
}

/// CircleCI with two contexts (`--context-id` twice) and both permissions.
#[test]
fn npm_circleci_two_contexts_both_permissions() {
    let pkg = "@acme/cci";
    let (sb, api) = world(&[pkg]);
    let wanted = Wanted::circleci(
        ORG,
        PROJECT,
        PIPELINE,
        "github.com/acme/mono",
        &[CONTEXT_A, CONTEXT_B],
    )
    .allow(true, true);
    let reqs = npm_change(&sb, &api, pkg, &Change::Create(wanted.clone()), Some(OTP));
    assert_eq!(reqs.len(), 1, "{}", render(&reqs));
    assert_eq!(reqs[0].body, json!([wanted.body()]));
    assert_eq!(
        reqs[0].body[0]["claims"]["oidc.circleci.com/context-ids"],
        json!([CONTEXT_A, CONTEXT_B])
    );
    assert_npm_headers(&reqs[0], true);
    assert_eq!(strip_ids(&api.configs(pkg).unwrap()), vec![wanted.body()]);

    // And without contexts and the stage permission: no context key at all.
    let (sb, api) = world(&[pkg]);
    let wanted =
        Wanted::circleci(ORG, PROJECT, PIPELINE, "bitbucket.org/acme/mono", &[]).allow(true, false);
    let reqs = npm_change(&sb, &api, pkg, &Change::Create(wanted.clone()), Some(OTP));
    assert_eq!(reqs[0].body, json!([wanted.body()]));
    assert!(reqs[0].body[0]["claims"]
        .get("oidc.circleci.com/context-ids")
        .is_none());
}

/// An update is list + revoke + create; the fake ends with only the new
/// configuration, under a new id.
#[test]
fn npm_update_replaces_the_configuration() {
    let pkg = "@acme/core";
    let (sb, api) = world(&[]);
    let old = Wanted::github("acme/old-name", "publish.yaml", None);
    api.package(pkg, &[json!({ "id": "seeded-1", "type": "github", "claims": old.body()["claims"], "permissions": ["createPackage"] })]);
    let new = Wanted::github("acme/mono", "release.yml", Some("npm")).allow(true, true);
    let reqs = npm_change(&sb, &api, pkg, &Change::Update(new.clone()), Some(OTP));
    let shape: Vec<(&str, &str)> = reqs
        .iter()
        .map(|n| (n.method.as_str(), n.url.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("GET", "/-/package/@acme%2fcore/trust"),
            ("DELETE", "/-/package/@acme%2fcore/trust/seeded-1"),
            ("POST", "/-/package/@acme%2fcore/trust"),
        ],
        "{}",
        render(&reqs)
    );
    assert_npm_headers(&reqs[0], false);
    assert_npm_headers(&reqs[1], true);
    assert_npm_headers(&reqs[2], true);
    assert_eq!(mutations(&reqs).len(), 2);
    let configs = api.configs(pkg).unwrap();
    assert_eq!(strip_ids(&configs), vec![new.body()]);
    assert_eq!(configs[0]["id"], config_id(1));
}

/// Without `--otp` every mutation fails with npm's EOTP message and changes
/// nothing; reads need no code.
#[test]
fn npm_without_otp_fails_with_eotp() {
    let pkg = "@acme/core";
    let (sb, api) = world(&[pkg]);
    let wanted = Wanted::github("acme/mono", "release.yml", None);
    let run = npm_trust(&sb, &api, &wanted.npm_args(pkg), None);
    run.expect_code(1)
        .stderr_has("code EOTP")
        .stderr_has("This operation requires a one-time password from your authenticator.")
        .stderr_has("You can provide a one-time password by passing --otp=<code>");
    assert_eq!(api.configs(pkg), Some(vec![]));
    let e = api.exchanges();
    assert_eq!(e.len(), 1, "one POST, not retried: {:?}", api.summary());
    assert_eq!((e[0].request.method.as_str(), e[0].status), ("POST", 401));
    assert_npm_headers(&normalise(&e[0].request, &sb.token), false);

    // A wrong code is the same challenge.
    let run = npm_trust(&sb, &api, &wanted.npm_args(pkg), Some("000000"));
    run.expect_code(1).stderr_has("code EOTP");
    assert_eq!(api.configs(pkg), Some(vec![]));

    // Revoke too; list does not need a code.
    npm_change(&sb, &api, pkg, &Change::Create(wanted), Some(OTP));
    let id = npm_list_ids(&sb, &api, pkg)
        .pop()
        .expect("one configuration");
    let run = npm_trust(
        &sb,
        &api,
        &["trust", "revoke", pkg, "--id", &id].map(String::from),
        None,
    );
    run.expect_code(1).stderr_has("code EOTP");
    assert_eq!(api.configs(pkg).unwrap().len(), 1);
}

/// A second create while one exists fails (409) and keeps the first.
#[test]
fn npm_second_create_conflicts() {
    let pkg = "@acme/core";
    let (sb, api) = world(&[pkg]);
    let first = Wanted::github("acme/mono", "release.yml", None);
    npm_change(&sb, &api, pkg, &Change::Create(first.clone()), Some(OTP));
    let second = Wanted::gitlab("acme/mono", ".gitlab-ci.yml", None);
    let run = npm_trust(&sb, &api, &second.npm_args(pkg), Some(OTP));
    run.expect_code(1)
        .stderr_has("409 Conflict - POST")
        .stderr_has("already exists");
    assert_eq!(strip_ids(&api.configs(pkg).unwrap()), vec![first.body()]);
}

/// A package the registry does not have: npm's 404.
#[test]
fn npm_unknown_package_is_404() {
    let (sb, api) = world(&["@acme/core"]);
    let wanted = Wanted::github("acme/mono", "release.yml", None);
    let run = npm_trust(&sb, &api, &wanted.npm_args("@acme/typo"), Some(OTP));
    run.expect_code(1).stderr_has("code E404");
    assert_eq!(api.configs("@acme/typo"), None);
    let run = npm_trust(
        &sb,
        &api,
        &["trust", "list", "@acme/typo"].map(String::from),
        None,
    );
    run.expect_code(1).stderr_has("code E404");
}

/// An accepted code opens the skip window: the next mutation needs no
/// code; once the window is closed the challenge is back.
#[test]
fn npm_inside_and_after_the_skip_window() {
    support::require_npm();
    let sb = Sandbox::new();
    sb.add_secret(OTP);
    let api = TrustApi::start(
        Options::new(&sb.token)
            .codes(&[OTP])
            .skip_window(std::time::Duration::from_secs(300)),
    );
    for p in ["a", "b", "c"] {
        api.package(p, &[]);
    }
    sb.login(&api.url());
    let wanted = Wanted::github("acme/mono", "release.yml", None);
    assert!(!api.window_open());
    npm_change(&sb, &api, "a", &Change::Create(wanted.clone()), Some(OTP));
    assert!(api.window_open(), "an accepted code opens the window");
    // No code, inside the window: the docs' bulk loop.
    let plan = [("b", Change::Create(wanted.clone())), ("a", Change::Revoke)];
    let reqs = npm_changes(&sb, &api, &plan, None);
    let shape: Vec<(&str, &str)> = reqs
        .iter()
        .map(|n| (n.method.as_str(), n.url.as_str()))
        .collect();
    let delete_a = format!("/-/package/a/trust/{}", config_id(1));
    assert_eq!(
        shape,
        [
            ("POST", "/-/package/b/trust"),
            ("GET", "/-/package/a/trust"),
            ("DELETE", delete_a.as_str()),
        ],
        "{}",
        render(&reqs)
    );
    assert_eq!(api.configs("b").unwrap().len(), 1);
    assert_eq!(api.configs("a"), Some(vec![]));
    api.close_window();
    let run = npm_trust(&sb, &api, &wanted.npm_args("c"), None);
    run.expect_code(1).stderr_has("code EOTP");
    assert_eq!(api.configs("c"), Some(vec![]));
    // A code that expired (the test replaced the codes) is refused too.
    api.set_codes(&["771199"]);
    sb.add_secret("771199");
    let run = npm_trust(&sb, &api, &wanted.npm_args("c"), Some(OTP));
    run.expect_code(1).stderr_has("code EOTP");
    npm_change(&sb, &api, "c", &Change::Create(wanted), Some("771199"));
    assert_eq!(api.configs("c").unwrap().len(), 1);
}

/// npm retries a DELETE answered 429 or 503 (not a POST): what a client
/// that behaves like npm may do, and why the fake must count retries.
#[test]
fn npm_retries_delete_not_post() {
    let pkg = "@acme/core";
    let (sb, api) = world(&[pkg]);
    let wanted = Wanted::github("acme/mono", "release.yml", None);
    api.fail_next(Fault::new("POST", &trust_path(pkg), 503));
    let run = npm_trust(&sb, &api, &wanted.npm_args(pkg), Some(OTP));
    run.expect_code(1).stderr_has("503");
    assert_eq!(api.mutations().len(), 1, "{:?}", api.summary());
    assert_eq!(api.configs(pkg), Some(vec![]));

    npm_change(&sb, &api, pkg, &Change::Create(wanted), Some(OTP));
    api.fail_next(Fault::new("DELETE", &delete_prefix(pkg), 503));
    let before = api.exchanges().len();
    let args: Vec<String> = [
        "trust",
        "revoke",
        pkg,
        "--id",
        &config_id(1),
        "--fetch-retry-mintimeout=10",
        "--fetch-retry-maxtimeout=20",
    ]
    .map(String::from)
    .to_vec();
    npm_trust(&sb, &api, &args, Some(OTP)).success();
    let statuses: Vec<u16> = api.exchanges()[before..].iter().map(|e| e.status).collect();
    assert_eq!(statuses, [503, 204], "{:?}", api.summary());
    assert_eq!(api.configs(pkg), Some(vec![]));
}

// ---------------------------------------------------------------------------
// The fake's rules, request by request

const TOKEN: &str = "npm_FakeTrustApiToken0123456789";

fn call(
    api: &TrustApi,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> http::HttpResponse {
    let url = format!("{}{}", api.url(), path.trim_start_matches('/'));
    http::request(method, &url, headers, body.as_bytes())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

const BEARER: (&str, &str) = ("authorization", "Bearer npm_FakeTrustApiToken0123456789");

fn post(api: &TrustApi, pkg: &str, body: &Value, otp: Option<&str>) -> http::HttpResponse {
    let mut h = vec![BEARER, ("content-type", "application/json")];
    if let Some(o) = otp {
        h.push(("npm-otp", o));
    }
    call(api, "POST", &trust_path(pkg), &h, &body.to_string())
}

fn fake(packages: &[&str]) -> TrustApi {
    let api = TrustApi::start(Options::new(TOKEN).codes(&[OTP]));
    for p in packages {
        api.package(p, &[]);
    }
    api
}

fn github_body() -> Value {
    json!({
        "type": "github",
        "claims": { "repository": "o/r", "workflow_ref": { "file": "release.yml" } },
        "permissions": ["createPackage"],
    })
}

#[test]
fn fake_requires_the_bearer_token() {
    let api = fake(&["p"]);
    let path = trust_path("p");
    let r = call(&api, "GET", &path, &[], "");
    assert_eq!(
        (r.status, r.json()),
        (401, json!({"error": "Unauthorized"}))
    );
    let r = call(&api, "GET", &path, &[("authorization", "Bearer nope")], "");
    assert_eq!(r.status, 401);
    let r = call(
        &api,
        "GET",
        &path,
        &[("authorization", "Basic dXNlcjpwYXNz")],
        "",
    );
    assert_eq!(r.status, 401);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("basic auth is not supported")),
        "{}",
        r.text()
    );
    assert!(r.header("www-authenticate").is_none());
    let r = call(&api, "GET", &path, &[BEARER], "");
    assert_eq!((r.status, r.json()), (200, json!([])));
}

#[test]
fn fake_knows_only_its_packages_and_paths() {
    let api = fake(&["@s/p"]);
    for (method, path) in [
        ("GET", "/-/package/@s%2fq/trust"),
        ("GET", "/-/package/@s/p/trust"),
        ("GET", "/-/package/@s%2fp/trusts"),
        ("PUT", "/-/package/@s%2fp/trust"),
        ("DELETE", "/-/package/@s%2fp/trust"),
        ("DELETE", "/-/package/@s%2fp/trust/no-such-id"),
        ("GET", "/@s%2fp"),
    ] {
        let r = call(&api, method, path, &[BEARER, ("npm-otp", OTP)], "");
        assert_eq!(
            (r.status, r.json()),
            (404, json!({"error": "Not found"})),
            "{method} {path}"
        );
    }
    // Upper-case escapes decode too.
    let r = call(&api, "GET", "/-/package/@s%2Fp/trust", &[BEARER], "");
    assert_eq!(r.status, 200);
}

#[test]
fn fake_challenges_mutations_without_a_valid_code() {
    let api = fake(&["p"]);
    for otp in [None, Some("999999")] {
        let r = post(&api, "p", &json!([github_body()]), otp);
        assert_eq!(r.status, 401);
        assert_eq!(r.header("www-authenticate"), Some("OTP"));
        assert_eq!(r.json(), json!({ "error": OTP_CHALLENGE }));
    }
    assert_eq!(api.configs("p"), Some(vec![]));
    assert!(!api.window_open(), "no skip window configured");
    let r = post(&api, "p", &json!([github_body()]), Some(OTP));
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert_eq!(created[0]["id"], config_id(1));
    assert_eq!(strip_ids(created.as_array().unwrap()), vec![github_body()]);
    let id = config_id(1);
    let del = format!("{}/{id}", trust_path("p"));
    let r = call(&api, "DELETE", &del, &[BEARER], "");
    assert_eq!(r.status, 401);
    let r = call(&api, "DELETE", &del, &[BEARER, ("npm-otp", OTP)], "");
    assert_eq!((r.status, r.body.len()), (204, 0));
    assert_eq!(api.configs("p"), Some(vec![]));
}

#[test]
fn fake_reads_with_otp_when_configured() {
    let api = TrustApi::start(Options::new(TOKEN).codes(&[OTP]).otp_for_reads());
    api.package("p", &[]);
    let r = call(&api, "GET", &trust_path("p"), &[BEARER], "");
    assert_eq!((r.status, r.header("www-authenticate")), (401, Some("OTP")));
    let r = call(
        &api,
        "GET",
        &trust_path("p"),
        &[BEARER, ("npm-otp", OTP)],
        "",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn fake_skip_window_opens_with_an_accepted_code() {
    let api = TrustApi::start(
        Options::new(TOKEN)
            .codes(&[OTP])
            .skip_window(std::time::Duration::from_secs(300)),
    );
    api.package("p", &[]);
    api.package("q", &[]);
    let r = post(&api, "p", &json!([github_body()]), None);
    assert_eq!(r.status, 401, "a rejected request opens nothing");
    let r = post(&api, "p", &json!([github_body()]), Some(OTP));
    assert_eq!(r.status, 201);
    let r = post(&api, "q", &json!([github_body()]), None);
    assert_eq!(r.status, 201, "inside the window");
    api.close_window();
    let r = post(&api, "q", &json!([github_body()]), None);
    assert_eq!(r.status, 401);
}

#[test]
fn fake_refuses_malformed_configurations() {
    let api = fake(&["p"]);
    let gh = github_body();
    // `gh` with the field at `ptr` set (added if missing).
    let with = |ptr: &str, v: Value| {
        let mut b = gh.clone();
        let (parent, key) = ptr.rsplit_once('/').unwrap();
        b.pointer_mut(parent).unwrap()[key] = v;
        b
    };
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "not JSON"),
        (gh.to_string(), "array of one"),
        (json!([]).to_string(), "exactly one"),
        (json!([gh, gh]).to_string(), "exactly one"),
        (json!(["x"]).to_string(), "must be an object"),
        (json!([with("/type", json!("bitbucket"))]).to_string(), "unknown `type`"),
        (json!([with("/permissions", json!([]))]).to_string(), "non-empty"),
        (
            json!([with("/permissions", json!(["publish"]))]).to_string(),
            "unknown permission",
        ),
        (
            json!([with("/permissions", json!(["createPackage", "createPackage"]))]).to_string(),
            "twice",
        ),
        (
            json!([with("/claims/repository", json!("just-a-name"))]).to_string(),
            "owner/repo",
        ),
        (
            json!([with("/claims/workflow_ref/file", json!(".github/workflows/release.yml"))])
                .to_string(),
            "not a path",
        ),
        (
            json!([with("/claims/workflow_ref/file", json!("release.json"))]).to_string(),
            ".yml or .yaml",
        ),
        (
            json!([with("/claims/environment", json!(""))]).to_string(),
            "environment",
        ),
        (
            json!([with("/claims/extra", json!("x"))]).to_string(),
            "unknown key `extra`",
        ),
        (
            json!([{ "id": "x", "type": "github", "claims": gh["claims"], "permissions": ["createPackage"] }])
                .to_string(),
            "unknown key `id`",
        ),
        (
            json!([{ "type": "gitlab", "claims": { "project_path": "solo", "ci_config_ref_uri": { "file": ".gitlab-ci.yml" } }, "permissions": ["createPackage"] }])
                .to_string(),
            "group/project",
        ),
        (
            json!([{ "type": "gitlab", "claims": { "project_path": "g/p", "workflow_ref": { "file": ".gitlab-ci.yml" } }, "permissions": ["createPackage"] }])
                .to_string(),
            "unknown key `workflow_ref`",
        ),
        (
            json!([{ "type": "circleci", "claims": {
                "oidc.circleci.com/org-id": "not-a-uuid",
                "oidc.circleci.com/project-id": PROJECT,
                "oidc.circleci.com/pipeline-definition-id": PIPELINE,
                "oidc.circleci.com/vcs-origin": "github.com/o/r",
            }, "permissions": ["createPackage"] }])
            .to_string(),
            "must be a UUID",
        ),
        (
            json!([{ "type": "circleci", "claims": {
                "oidc.circleci.com/org-id": ORG,
                "oidc.circleci.com/project-id": PROJECT,
                "oidc.circleci.com/pipeline-definition-id": PIPELINE,
                "oidc.circleci.com/vcs-origin": "https://github.com/o/r",
            }, "permissions": ["createPackage"] }])
            .to_string(),
            "without a scheme",
        ),
        (
            json!([{ "type": "circleci", "claims": {
                "oidc.circleci.com/org-id": ORG,
                "oidc.circleci.com/project-id": PROJECT,
                "oidc.circleci.com/pipeline-definition-id": PIPELINE,
                "oidc.circleci.com/vcs-origin": "github.com/o/r",
                "oidc.circleci.com/context-ids": [CONTEXT_A, "nope"],
            }, "permissions": ["createPackage"] }])
            .to_string(),
            "must hold UUIDs",
        ),
    ];
    for (body, why) in &cases {
        let r = call(
            &api,
            "POST",
            &trust_path("p"),
            &[
                BEARER,
                ("npm-otp", OTP),
                ("content-type", "application/json"),
            ],
            body,
        );
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let error = r.json()["error"].as_str().unwrap_or("").to_string();
        assert!(error.contains(why), "{body}: {error:?} lacks {why:?}");
    }
    assert_eq!(api.configs("p"), Some(vec![]), "nothing stored");
    // The well-formed ones of each type pass, one per package.
    let ok = [
        gh.clone(),
        json!({ "type": "gitlab", "claims": { "project_path": "g/s/p", "ci_config_ref_uri": { "file": ".gitlab-ci.yml" }, "environment": "prod" }, "permissions": ["createStagedPackage"] }),
        json!({ "type": "circleci", "claims": {
            "oidc.circleci.com/org-id": ORG,
            "oidc.circleci.com/project-id": PROJECT,
            "oidc.circleci.com/pipeline-definition-id": PIPELINE,
            "oidc.circleci.com/vcs-origin": "github.com/o/r",
            "oidc.circleci.com/context-ids": [CONTEXT_A],
        }, "permissions": ["createPackage", "createStagedPackage"] }),
    ];
    for (i, b) in ok.iter().enumerate() {
        let name = format!("ok{i}");
        api.package(&name, &[]);
        let r = post(&api, &name, &json!([b]), Some(OTP));
        assert_eq!(r.status, 201, "{b}: {}", r.text());
        assert_eq!(strip_ids(&api.configs(&name).unwrap()), vec![b.clone()]);
    }
}

#[test]
fn fake_allows_one_configuration_per_package() {
    let api = fake(&[]);
    api.package("p", &[github_body()]);
    assert_eq!(api.configs("p").unwrap()[0]["id"], config_id(1));
    let r = post(&api, "p", &json!([github_body()]), Some(OTP));
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(api.configs("p").unwrap().len(), 1);
}

#[test]
fn fake_rate_limits_mutations() {
    let api = TrustApi::start(
        Options::new(TOKEN)
            .codes(&[OTP])
            .rate_limit(2, std::time::Duration::from_secs(3600)),
    );
    for p in ["a", "b", "c"] {
        api.package(p, &[]);
    }
    // Reads do not count; refused mutations (a challenge) do.
    for _ in 0..3 {
        assert_eq!(
            call(&api, "GET", &trust_path("a"), &[BEARER], "").status,
            200
        );
    }
    assert_eq!(post(&api, "a", &json!([github_body()]), None).status, 401);
    assert_eq!(
        post(&api, "a", &json!([github_body()]), Some(OTP)).status,
        201
    );
    let r = post(&api, "b", &json!([github_body()]), Some(OTP));
    assert_eq!(r.status, 429, "{}", r.text());
    let secs: u64 = r
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .expect("a retry-after in seconds");
    assert!(
        (3590..=3600).contains(&secs),
        "retry-after {secs} is the time until the oldest leaves the hour"
    );
    assert_eq!(api.configs("b"), Some(vec![]));
    // The refused one does not count: still refused, same horizon.
    let r = post(&api, "c", &json!([github_body()]), Some(OTP));
    assert_eq!(r.status, 429);
}

#[test]
fn fake_injects_faults_before_or_after_applying() {
    let api = fake(&["p"]);
    api.fail_next(Fault::new("POST", &trust_path("p"), 503));
    api.fail_next(
        Fault::new("POST", &trust_path("p"), 502)
            .applied()
            .header("x-fault", "yes"),
    );
    let r = post(&api, "p", &json!([github_body()]), Some(OTP));
    assert_eq!(r.status, 503);
    assert_eq!(api.configs("p"), Some(vec![]), "not applied");
    let r = post(&api, "p", &json!([github_body()]), Some(OTP));
    assert_eq!((r.status, r.header("x-fault")), (502, Some("yes")));
    assert_eq!(api.configs("p").unwrap().len(), 1, "applied, then failed");
    // Faults are used once; the next POST meets the real rules (409).
    let r = post(&api, "p", &json!([github_body()]), Some(OTP));
    assert_eq!(r.status, 409);
    // A DELETE fault matches by prefix (the id is unknown beforehand).
    api.fail_next(Fault::new("DELETE", &delete_prefix("p"), 500));
    let del = format!("{}/{}", trust_path("p"), config_id(1));
    let h = [BEARER, ("npm-otp", OTP)];
    assert_eq!(call(&api, "DELETE", &del, &h, "").status, 500);
    assert_eq!(call(&api, "DELETE", &del, &h, "").status, 204);
    let statuses: Vec<u16> = api.exchanges().iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [503, 502, 409, 500, 204],
        "every request is recorded"
    );
}

#[test]
fn fake_codes_expire_after_the_allowance() {
    let api = TrustApi::start(
        Options::new(TOKEN)
            .codes(&[OTP])
            .skip_window(std::time::Duration::from_secs(300))
            .codes_expire_after(2),
    );
    for p in ["a", "b", "c"] {
        api.package(p, &[]);
    }
    assert_eq!(
        post(&api, "a", &json!([github_body()]), Some(OTP)).status,
        201
    );
    assert_eq!(post(&api, "b", &json!([github_body()]), None).status, 201);
    assert!(!api.window_open(), "the allowance closed the window");
    for otp in [Some(OTP), None] {
        let r = post(&api, "c", &json!([github_body()]), otp);
        assert_eq!((r.status, r.header("www-authenticate")), (401, Some("OTP")));
    }
    // Reads are not counted and still pass.
    assert_eq!(
        call(&api, "GET", &trust_path("c"), &[BEARER], "").status,
        200
    );
    api.set_codes(&["123123"]);
    assert_eq!(
        post(&api, "c", &json!([github_body()]), Some("123123")).status,
        201
    );
    assert_eq!(api.configs("c").unwrap().len(), 1);
}

#[test]
fn fake_serves_under_its_base_path_only() {
    let api = TrustApi::start(Options::new(TOKEN).base_path("/npm/"));
    api.package("p", &[]);
    assert!(api.url().ends_with("/npm/"), "{}", api.url());
    let r = http::request(
        "GET",
        &format!("{}-/package/p/trust", api.url()),
        &[BEARER],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let outside = format!("http://127.0.0.1:{}{}", api.port(), trust_path("p"));
    let r = http::request("GET", &outside, &[BEARER], b"").unwrap();
    assert_eq!(r.status, 404, "outside the base path");
}
