//! The provenance statement: the in-toto statement npm 11.19.1 signs with
//! Sigstore when it publishes with `--provenance`.
//!
//! A port of `libnpmpublish/lib/provenance.js` (`generateProvenance`) and of
//! the subject built in `libnpmpublish/lib/publish.js` (`buildMetadata`). The
//! goal is byte equality: [`statement_bytes`] of [`statement`] is exactly the
//! `Buffer.from(JSON.stringify(payload))` that npm passes to
//! `sigstore.attest(…, 'application/vnd.in-toto+json', …)`. The golden
//! fixtures in `fixtures/provenance/` were captured from npm's own code by
//! `tests/tools/provenance-statement.js`, and `tests/it/provenance_statement.rs`
//! re-runs that script to keep them honest.
//!
//! JavaScript semantics reproduced here:
//! * `JSON.stringify` omits keys whose value is `undefined`, so a variable that
//!   is read directly (`env.GITHUB_SHA`) disappears from the JSON when it is
//!   unset, and is kept as `""` when it is set to the empty string (node's
//!   `process.env` keeps empty values).
//! * Template literals turn an unset variable into the text `undefined`
//!   (`"repository":"undefined/o/r"`).
//! * Keys come out in insertion order, the order of the object literals in
//!   `provenance.js` (serde_json's `preserve_order` is on in this crate).
//! * The statement kind follows ci-info, as npm does: `ci.GITHUB_ACTIONS` is
//!   "`CI` is not `"false"` and `GITHUB_ACTIONS` is non-empty", `ci.GITLAB`
//!   likewise with `GITLAB_CI`, and because the GitLab branch runs second it
//!   wins when both are set.

use serde_json::{Map, Value};

use crate::ci::Provider;
use crate::env::Env;

/// `INTOTO_PAYLOAD_TYPE`: the DSSE payload type npm signs the statement under.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

const INTOTO_STATEMENT_V01_TYPE: &str = "https://in-toto.io/Statement/v0.1";
const INTOTO_STATEMENT_V1_TYPE: &str = "https://in-toto.io/Statement/v1";
const SLSA_PREDICATE_V02_TYPE: &str = "https://slsa.dev/provenance/v0.2";
const SLSA_PREDICATE_V1_TYPE: &str = "https://slsa.dev/provenance/v1";
const GITHUB_BUILDER_ID_PREFIX: &str = "https://github.com/actions/runner";
const GITHUB_BUILD_TYPE: &str =
    "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1";
const GITLAB_BUILD_TYPE: &str = "https://github.com/npm/cli/gitlab/v0alpha1";

/// Every variable the GitHub Actions statement reads, in the order
/// `provenance.js` first reads them (ci-info's `CI`/`GITHUB_ACTIONS` aside).
pub const GITHUB_ENV_VARS: &[&str] = &[
    "GITHUB_WORKFLOW_REF",
    "GITHUB_REPOSITORY",
    "GITHUB_SERVER_URL",
    "GITHUB_EVENT_NAME",
    "GITHUB_REPOSITORY_ID",
    "GITHUB_REPOSITORY_OWNER_ID",
    "GITHUB_REF",
    "GITHUB_SHA",
    "RUNNER_ENVIRONMENT",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
];

/// The keys of the GitLab statement's `predicate.invocation.parameters`, in
/// npm's order; each is the variable of the same name.
pub const GITLAB_PARAMETER_VARS: &[&str] = &[
    "CI",
    "CI_API_GRAPHQL_URL",
    "CI_API_V4_URL",
    "CI_BUILD_BEFORE_SHA",
    "CI_BUILD_ID",
    "CI_BUILD_NAME",
    "CI_BUILD_REF",
    "CI_BUILD_REF_NAME",
    "CI_BUILD_REF_SLUG",
    "CI_BUILD_STAGE",
    "CI_COMMIT_BEFORE_SHA",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_REF_PROTECTED",
    "CI_COMMIT_REF_SLUG",
    "CI_COMMIT_SHA",
    "CI_COMMIT_SHORT_SHA",
    "CI_COMMIT_TIMESTAMP",
    "CI_COMMIT_TITLE",
    "CI_CONFIG_PATH",
    "CI_DEFAULT_BRANCH",
    "CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX",
    "CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX",
    "CI_DEPENDENCY_PROXY_SERVER",
    "CI_DEPENDENCY_PROXY_USER",
    "CI_JOB_ID",
    "CI_JOB_NAME",
    "CI_JOB_NAME_SLUG",
    "CI_JOB_STAGE",
    "CI_JOB_STARTED_AT",
    "CI_JOB_URL",
    "CI_NODE_TOTAL",
    "CI_PAGES_DOMAIN",
    "CI_PAGES_URL",
    "CI_PIPELINE_CREATED_AT",
    "CI_PIPELINE_ID",
    "CI_PIPELINE_IID",
    "CI_PIPELINE_SOURCE",
    "CI_PIPELINE_URL",
    "CI_PROJECT_CLASSIFICATION_LABEL",
    "CI_PROJECT_DESCRIPTION",
    "CI_PROJECT_ID",
    "CI_PROJECT_NAME",
    "CI_PROJECT_NAMESPACE",
    "CI_PROJECT_NAMESPACE_ID",
    "CI_PROJECT_PATH",
    "CI_PROJECT_PATH_SLUG",
    "CI_PROJECT_REPOSITORY_LANGUAGES",
    "CI_PROJECT_ROOT_NAMESPACE",
    "CI_PROJECT_TITLE",
    "CI_PROJECT_URL",
    "CI_PROJECT_VISIBILITY",
    "CI_REGISTRY",
    "CI_REGISTRY_IMAGE",
    "CI_REGISTRY_USER",
    "CI_RUNNER_DESCRIPTION",
    "CI_RUNNER_ID",
    "CI_RUNNER_TAGS",
    "CI_SERVER_HOST",
    "CI_SERVER_NAME",
    "CI_SERVER_PORT",
    "CI_SERVER_PROTOCOL",
    "CI_SERVER_REVISION",
    "CI_SERVER_SHELL_SSH_HOST",
    "CI_SERVER_SHELL_SSH_PORT",
    "CI_SERVER_URL",
    "CI_SERVER_VERSION",
    "CI_SERVER_VERSION_MAJOR",
    "CI_SERVER_VERSION_MINOR",
    "CI_SERVER_VERSION_PATCH",
    "CI_TEMPLATE_REGISTRY_HOST",
    "GITLAB_CI",
    "GITLAB_FEATURES",
    "GITLAB_USER_ID",
    "GITLAB_USER_LOGIN",
    "RUNNER_GENERATE_ARTIFACTS_METADATA",
];

/// The one variable the GitLab statement reads that is not a parameter
/// (`predicate.invocation.environment.architecture`).
pub const GITLAB_EXTRA_VARS: &[&str] = &["CI_RUNNER_EXECUTABLE_ARCH"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// npm only builds statements on GitHub Actions and GitLab CI; elsewhere
    /// (CircleCI included) `ensureProvenanceGeneration` refuses with this text.
    #[error("Automatic provenance generation not supported for provider: {provider}")]
    UnsupportedProvider { provider: &'static str },
}

/// The statement's subject name: `npa.toPurl(npa.resolve(name, version))`.
///
/// npm encodes only a leading `@` (`%40`); the scope's `/` and every other
/// character stay as they are (a valid package name has nothing else that
/// would need encoding), and libnpmpublish never adds a `?repository_url=`
/// qualifier. The version is the one libnpmpublish receives, which
/// `npm publish <dir>` has already cleaned with `semver.clean(v, loose)`
/// (`@npmcli/package-json`'s `fixVersionField`/`normalizeData`): surrounding
/// whitespace and leading `v`/`=` go, **build metadata is dropped**
/// (`1.0.0+b.5` → `1.0.0`) and loose prerelease numbers are normalised
/// (`1.0.0-beta.01` → `1.0.0-beta.1`). The same cleaning is applied here, so
/// `version` may be the raw `package.json` value or the already-clean one. A
/// version npm could not clean never gets this far; it is used as given.
pub fn purl(name: &str, version: &str) -> String {
    let version = crate::semver::clean(version, true).unwrap_or_else(|| version.to_string());
    let name = match name.strip_prefix('@') {
        Some(rest) => format!("%40{rest}"),
        None => name.to_string(),
    };
    format!("pkg:npm/{name}@{version}")
}

/// Which of npm's two statements to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    GitHub,
    GitLab,
}

/// ci-info's `exports[vendor.constant]`: `CI !== 'false'` and `!!env[name]`.
fn ci_info_flag(env: &Env, var: &str) -> bool {
    env.get("CI") != Some("false") && env.get(var).is_some_and(|v| !v.is_empty())
}

fn kind(env: &Env, provider: Provider) -> Result<Kind, StatementError> {
    if provider == Provider::CircleCi {
        return Err(StatementError::UnsupportedProvider {
            provider: provider.display_name(),
        });
    }
    // `if (ci.GITHUB_ACTIONS) {…} if (ci.GITLAB) {…}`: GitLab is assigned last.
    Ok(if ci_info_flag(env, "GITLAB_CI") {
        Kind::GitLab
    } else if ci_info_flag(env, "GITHUB_ACTIONS") {
        Kind::GitHub
    } else {
        // npm would not get here (no payload: `Buffer.from(undefined)` throws);
        // trust the caller's detection.
        match provider {
            Provider::GitLab => Kind::GitLab,
            _ => Kind::GitHub,
        }
    })
}

/// The in-toto statement npm 11.19.1 builds for this package in this CI.
///
/// `sha512_hex` is the lowercase hex SHA-512 of the exact `.tgz` bytes that
/// are uploaded (`integrity.sha512[0].hexDigest()`). `provider` is the
/// detected CI ([`crate::ci::detect`]); CircleCI is an error, as in npm. When
/// both `GITHUB_ACTIONS` and `GITLAB_CI` are set, npm builds the GitLab
/// statement, and so does this.
pub fn statement(
    env: &Env,
    provider: Provider,
    name: &str,
    version: &str,
    sha512_hex: &str,
) -> Result<Value, StatementError> {
    let subject = Value::Array(vec![obj(vec![
        ("name", Some(Value::String(purl(name, version)))),
        ("digest", Some(obj(vec![("sha512", Some(s(sha512_hex)))]))),
    ])]);
    Ok(match kind(env, provider)? {
        Kind::GitHub => github(env, subject),
        Kind::GitLab => gitlab(env, subject),
    })
}

/// The bytes npm signs: `Buffer.from(JSON.stringify(statement))`, compact,
/// in key order. serde_json escapes strings as `JSON.stringify` does (`"`,
/// `\`, `\b \f \n \r \t`, other C0 controls as lowercase `\u00xx`; `/`,
/// DEL, non-ASCII and U+2028/U+2029 are written as they are).
pub fn statement_bytes(v: &Value) -> Vec<u8> {
    // Serialising a `Value` to memory cannot fail (all keys are strings).
    serde_json::to_vec(v).unwrap_or_else(|e| unreachable!("serialising a Value: {e}"))
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// An object literal; entries whose value is `None` (JS `undefined`) are left
/// out, as `JSON.stringify` does.
fn obj(entries: Vec<(&str, Option<Value>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in entries {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

/// `env.NAME` as a JSON value: `undefined` (omitted) when unset.
fn var(env: &Env, name: &str) -> Option<Value> {
    env.get(name).map(s)
}

/// `${env.NAME}` inside a template literal.
fn tpl<'a>(env: &'a Env, name: &str) -> &'a str {
    env.get(name).unwrap_or("undefined")
}

/// The `path` and `ref` npm derives from `GITHUB_WORKFLOW_REF`.
///
/// ```js
/// const relativeRef = (env.GITHUB_WORKFLOW_REF || '').replace(env.GITHUB_REPOSITORY + '/', '')
/// const delimiterIndex = relativeRef.indexOf('@')
/// const workflowPath = relativeRef.slice(0, delimiterIndex)
/// const workflowRef = relativeRef.slice(delimiterIndex + 1)
/// ```
/// Only the first occurrence of `"<GITHUB_REPOSITORY>/"` is removed (and with
/// `GITHUB_REPOSITORY` unset the pattern is `"undefined/"`). With no `@`,
/// `delimiterIndex` is -1: the path is the string minus its last character and
/// the ref is the whole string.
fn workflow_path_and_ref(env: &Env) -> (String, String) {
    let workflow_ref = env.get("GITHUB_WORKFLOW_REF").unwrap_or("");
    let pattern = format!("{}/", tpl(env, "GITHUB_REPOSITORY"));
    let relative = workflow_ref.replacen(&pattern, "", 1);
    match relative.find('@') {
        Some(i) => (relative[..i].to_string(), relative[i + 1..].to_string()),
        None => {
            // `slice(0, -1)` drops the last UTF-16 unit. For a character
            // outside the BMP JS would keep a lone surrogate, which a Rust
            // string cannot hold; the whole character is dropped instead.
            let mut path = relative.clone();
            path.pop();
            (path, relative)
        }
    }
}

fn github(env: &Env, subject: Value) -> Value {
    let (path, workflow_ref) = workflow_path_and_ref(env);
    let server = tpl(env, "GITHUB_SERVER_URL");
    let repository = tpl(env, "GITHUB_REPOSITORY");
    obj(vec![
        ("_type", Some(s(INTOTO_STATEMENT_V1_TYPE))),
        ("subject", Some(subject)),
        ("predicateType", Some(s(SLSA_PREDICATE_V1_TYPE))),
        (
            "predicate",
            Some(obj(vec![
                (
                    "buildDefinition",
                    Some(obj(vec![
                        ("buildType", Some(s(GITHUB_BUILD_TYPE))),
                        (
                            "externalParameters",
                            Some(obj(vec![(
                                "workflow",
                                Some(obj(vec![
                                    ("ref", Some(Value::String(workflow_ref))),
                                    (
                                        "repository",
                                        Some(Value::String(format!("{server}/{repository}"))),
                                    ),
                                    ("path", Some(Value::String(path))),
                                ])),
                            )])),
                        ),
                        (
                            "internalParameters",
                            Some(obj(vec![(
                                "github",
                                Some(obj(vec![
                                    ("event_name", var(env, "GITHUB_EVENT_NAME")),
                                    ("repository_id", var(env, "GITHUB_REPOSITORY_ID")),
                                    (
                                        "repository_owner_id",
                                        var(env, "GITHUB_REPOSITORY_OWNER_ID"),
                                    ),
                                ])),
                            )])),
                        ),
                        (
                            "resolvedDependencies",
                            Some(Value::Array(vec![obj(vec![
                                (
                                    "uri",
                                    Some(Value::String(format!(
                                        "git+{server}/{repository}@{}",
                                        tpl(env, "GITHUB_REF")
                                    ))),
                                ),
                                (
                                    "digest",
                                    Some(obj(vec![("gitCommit", var(env, "GITHUB_SHA"))])),
                                ),
                            ])])),
                        ),
                    ])),
                ),
                (
                    "runDetails",
                    Some(obj(vec![
                        (
                            "builder",
                            Some(obj(vec![(
                                "id",
                                Some(Value::String(format!(
                                    "{GITHUB_BUILDER_ID_PREFIX}/{}",
                                    tpl(env, "RUNNER_ENVIRONMENT")
                                ))),
                            )])),
                        ),
                        (
                            "metadata",
                            Some(obj(vec![(
                                "invocationId",
                                Some(Value::String(format!(
                                    "{server}/{repository}/actions/runs/{}/attempts/{}",
                                    tpl(env, "GITHUB_RUN_ID"),
                                    tpl(env, "GITHUB_RUN_ATTEMPT")
                                ))),
                            )])),
                        ),
                    ])),
                ),
            ])),
        ),
    ])
}

fn gitlab(env: &Env, subject: Value) -> Value {
    let project_url = tpl(env, "CI_PROJECT_URL");
    let parameters = obj(GITLAB_PARAMETER_VARS
        .iter()
        .map(|&name| (name, var(env, name)))
        .collect());
    obj(vec![
        ("_type", Some(s(INTOTO_STATEMENT_V01_TYPE))),
        ("subject", Some(subject)),
        ("predicateType", Some(s(SLSA_PREDICATE_V02_TYPE))),
        (
            "predicate",
            Some(obj(vec![
                ("buildType", Some(s(GITLAB_BUILD_TYPE))),
                (
                    "builder",
                    Some(obj(vec![(
                        "id",
                        Some(Value::String(format!(
                            "{project_url}/-/runners/{}",
                            tpl(env, "CI_RUNNER_ID")
                        ))),
                    )])),
                ),
                (
                    "invocation",
                    Some(obj(vec![
                        (
                            "configSource",
                            Some(obj(vec![
                                ("uri", Some(Value::String(format!("git+{project_url}")))),
                                (
                                    "digest",
                                    Some(obj(vec![("sha1", var(env, "CI_COMMIT_SHA"))])),
                                ),
                                ("entryPoint", var(env, "CI_JOB_NAME")),
                            ])),
                        ),
                        ("parameters", Some(parameters)),
                        (
                            "environment",
                            Some(obj(vec![
                                ("name", var(env, "CI_RUNNER_DESCRIPTION")),
                                ("architecture", var(env, "CI_RUNNER_EXECUTABLE_ARCH")),
                                ("server", var(env, "CI_SERVER_URL")),
                                ("project", var(env, "CI_PROJECT_PATH")),
                                ("job", Some(obj(vec![("id", var(env, "CI_JOB_ID"))]))),
                                (
                                    "pipeline",
                                    Some(obj(vec![
                                        ("id", var(env, "CI_PIPELINE_ID")),
                                        ("ref", var(env, "CI_CONFIG_PATH")),
                                    ])),
                                ),
                            ])),
                        ),
                    ])),
                ),
                (
                    "metadata",
                    Some(obj(vec![
                        ("buildInvocationId", Some(s(tpl(env, "CI_JOB_URL")))),
                        (
                            "completeness",
                            Some(obj(vec![
                                ("parameters", Some(Value::Bool(true))),
                                ("environment", Some(Value::Bool(true))),
                                ("materials", Some(Value::Bool(false))),
                            ])),
                        ),
                        ("reproducible", Some(Value::Bool(false))),
                    ])),
                ),
                (
                    "materials",
                    Some(Value::Array(vec![obj(vec![
                        ("uri", Some(Value::String(format!("git+{project_url}")))),
                        (
                            "digest",
                            Some(obj(vec![("sha1", var(env, "CI_COMMIT_SHA"))])),
                        ),
                    ])])),
                ),
            ])),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    fn text(v: &Value) -> String {
        String::from_utf8(statement_bytes(v)).unwrap()
    }

    const SHA: &str = "00ff";

    #[test]
    fn purl_unscoped_and_scoped() {
        assert_eq!(purl("pkg", "1.2.3"), "pkg:npm/pkg@1.2.3");
        // Only the leading `@` is encoded; the scope's `/` stays.
        assert_eq!(purl("@scope/pkg", "1.2.3"), "pkg:npm/%40scope/pkg@1.2.3");
        // Legacy names keep their case and their URL-safe punctuation.
        assert_eq!(purl("@Sc/Pkg.js", "1.0.0"), "pkg:npm/%40Sc/Pkg.js@1.0.0");
        assert_eq!(purl("a-b_c.d~e", "0.0.1"), "pkg:npm/a-b_c.d~e@0.0.1");
    }

    #[test]
    fn purl_prerelease_and_build_metadata() {
        assert_eq!(
            purl("@scope/pkg", "1.0.0-beta.1"),
            "pkg:npm/%40scope/pkg@1.0.0-beta.1"
        );
        assert_eq!(purl("pkg", "2.0.0-rc.1+build.5"), "pkg:npm/pkg@2.0.0-rc.1");
        assert_eq!(purl("pkg", "1.0.0+b.5"), "pkg:npm/pkg@1.0.0");
    }

    #[test]
    fn purl_cleans_like_npm_publish() {
        assert_eq!(purl("pkg", "v1.0.0"), "pkg:npm/pkg@1.0.0");
        assert_eq!(purl("pkg", " =1.0.0 "), "pkg:npm/pkg@1.0.0");
        assert_eq!(purl("pkg", "1.0.0-beta.01"), "pkg:npm/pkg@1.0.0-beta.1");
    }

    #[test]
    fn github_sparse_env_keeps_js_undefined_semantics() {
        let e = env(&[("GITHUB_ACTIONS", "true"), ("GITHUB_REPOSITORY", "o/r")]);
        let v = statement(&e, Provider::GitHubActions, "pkg", "1.0.0", SHA).unwrap();
        let t = text(&v);
        assert!(t.starts_with(r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"pkg:npm/pkg@1.0.0","digest":{"sha512":"00ff"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":"#), "{t}");
        assert!(
            t.contains(r#""workflow":{"ref":"","repository":"undefined/o/r","path":""}"#),
            "{t}"
        );
        assert!(t.contains(r#""internalParameters":{"github":{}}"#), "{t}");
        assert!(
            t.contains(r#"{"uri":"git+undefined/o/r@undefined","digest":{}}"#),
            "{t}"
        );
        assert!(
            t.contains(r#""builder":{"id":"https://github.com/actions/runner/undefined"}"#),
            "{t}"
        );
        assert!(
            t.ends_with(
                r#""invocationId":"undefined/o/r/actions/runs/undefined/attempts/undefined"}}}}"#
            ),
            "{t}"
        );
    }

    #[test]
    fn github_empty_values_are_kept() {
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", ""),
            ("GITHUB_SHA", ""),
        ]);
        let v = statement(&e, Provider::GitHubActions, "pkg", "1.0.0", SHA).unwrap();
        assert_eq!(
            v["predicate"]["buildDefinition"]["internalParameters"]["github"],
            serde_json::json!({"event_name": ""})
        );
        assert_eq!(
            v["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"],
            serde_json::json!({"gitCommit": ""})
        );
    }

    #[test]
    fn github_workflow_ref_parsing() {
        let case = |repo: Option<&str>, wref: &str| {
            let mut pairs = vec![("GITHUB_ACTIONS", "true"), ("GITHUB_WORKFLOW_REF", wref)];
            if let Some(r) = repo {
                pairs.push(("GITHUB_REPOSITORY", r));
            }
            let v = statement(&env(&pairs), Provider::GitHubActions, "p", "1.0.0", SHA).unwrap();
            let w = &v["predicate"]["buildDefinition"]["externalParameters"]["workflow"];
            (
                w["path"].as_str().unwrap().to_string(),
                w["ref"].as_str().unwrap().to_string(),
            )
        };
        let p = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            case(Some("o/r"), "o/r/.github/workflows/rel.yml@refs/heads/main"),
            p(".github/workflows/rel.yml", "refs/heads/main")
        );
        // First `@` splits; the ref keeps any later one.
        assert_eq!(
            case(Some("o/r"), "o/r/.github/workflows/rel.yml@refs/heads/a@b"),
            p(".github/workflows/rel.yml", "refs/heads/a@b")
        );
        // No `@`: indexOf is -1, the path loses its last character.
        assert_eq!(
            case(Some("o/r"), "o/r/.github/workflows/rel.yml"),
            p(".github/workflows/rel.ym", ".github/workflows/rel.yml")
        );
        // Only the first occurrence of "<repo>/" is removed.
        assert_eq!(
            case(Some("o/r"), "x/o/r/o/r/w.yml@r"),
            p("x/o/r/w.yml", "r")
        );
        // GITHUB_REPOSITORY unset: the pattern is "undefined/".
        assert_eq!(case(None, "undefined/w.yml@r"), p("w.yml", "r"));
        assert_eq!(case(None, "o/r/w.yml@r"), p("o/r/w.yml", "r"));
        assert_eq!(case(Some("o/r"), ""), p("", ""));
    }

    #[test]
    fn gitlab_shape_and_order() {
        let e = env(&[
            ("GITLAB_CI", "true"),
            ("CI_JOB_URL", "https://gl/j/1"),
            ("CI_RUNNER_EXECUTABLE_ARCH", "linux/amd64"),
            ("CI", "true"),
        ]);
        let v = statement(&e, Provider::GitLab, "@s/p", "1.0.0-rc.1", SHA).unwrap();
        let t = text(&v);
        assert!(t.starts_with(r#"{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"pkg:npm/%40s/p@1.0.0-rc.1","digest":{"sha512":"00ff"}}],"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"buildType":"https://github.com/npm/cli/gitlab/v0alpha1","builder":{"id":"undefined/-/runners/undefined"},"invocation":{"configSource":{"uri":"git+undefined","digest":{}},"parameters":{"CI":"true","CI_JOB_URL":"https://gl/j/1","GITLAB_CI":"true"},"environment":{"architecture":"linux/amd64","job":{},"pipeline":{}}}"#), "{t}");
        assert!(t.ends_with(r#""metadata":{"buildInvocationId":"https://gl/j/1","completeness":{"parameters":true,"environment":true,"materials":false},"reproducible":false},"materials":[{"uri":"git+undefined","digest":{}}]}}"#), "{t}");
    }

    #[test]
    fn gitlab_build_invocation_id_is_a_template() {
        let e = env(&[("GITLAB_CI", "true")]);
        let v = statement(&e, Provider::GitLab, "p", "1.0.0", SHA).unwrap();
        assert_eq!(v["predicate"]["metadata"]["buildInvocationId"], "undefined");
    }

    #[test]
    fn provider_choice_follows_ci_info() {
        let both = env(&[("GITHUB_ACTIONS", "true"), ("GITLAB_CI", "true")]);
        // `if (ci.GITLAB)` runs after `if (ci.GITHUB_ACTIONS)`: GitLab wins.
        let v = statement(&both, Provider::GitHubActions, "p", "1.0.0", SHA).unwrap();
        assert_eq!(v["_type"], INTOTO_STATEMENT_V01_TYPE);
        // An empty GITLAB_CI is falsy for ci-info.
        let e = env(&[("GITHUB_ACTIONS", "true"), ("GITLAB_CI", "")]);
        let v = statement(&e, Provider::GitHubActions, "p", "1.0.0", SHA).unwrap();
        assert_eq!(v["_type"], INTOTO_STATEMENT_V1_TYPE);
        assert_eq!(
            statement(&both, Provider::CircleCi, "p", "1.0.0", SHA),
            Err(StatementError::UnsupportedProvider {
                provider: "CircleCI"
            })
        );
        assert_eq!(
            StatementError::UnsupportedProvider {
                provider: "CircleCI"
            }
            .to_string(),
            "Automatic provenance generation not supported for provider: CircleCI"
        );
    }

    #[test]
    fn bytes_escape_like_json_stringify() {
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "a\"b\\c/d\n\t\u{1}\u{7f}é\u{2028}🚀"),
        ]);
        let v = statement(&e, Provider::GitHubActions, "p", "1.0.0", SHA).unwrap();
        assert!(
            text(&v).contains("\"event_name\":\"a\\\"b\\\\c/d\\n\\t\\u0001\u{7f}é\u{2028}🚀\""),
            "{}",
            text(&v)
        );
    }
}
