//! Sigstore provenance, where npm 11.19.1 makes it.
//!
//! * [`statement`]: the in-toto statement npm's libnpmpublish builds
//!   (GitHub: Statement v1 + SLSA v1; GitLab: Statement v0.1 + SLSA v0.2).
//! * [`sign`]: keyless signing as sigstore-js does it (an ephemeral P-256
//!   key, Fulcio, DSSE, a Rekor v1 `dsse` entry, a v0.3 bundle).
//! * This module: *whether* to make it ([`Want`]), the checks made before
//!   anything reaches the transparency log ([`preflight`]), and
//!   `--provenance-file` ([`check_provenance_file`]).

pub mod sign;
pub mod statement;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use crate::ci::Provider;
use crate::env::Env;
use crate::oidc::Claims;

/// What the configuration and trusted publishing ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// `--no-provenance`, `provenance=false`, or nothing asks for it.
    Off,
    /// Trusted publishing's decision (npm's rule): skipped with one line
    /// when it cannot be made.
    Auto,
    /// `--provenance` (or `provenance=true`, `publishConfig.provenance`):
    /// a failure to make it fails the publish.
    Explicit,
    /// `--provenance-file PATH`: a bundle made elsewhere.
    File(PathBuf),
}

impl Want {
    /// From the configuration (`configured` is `provenance` when set in a
    /// layer other than the defaults, publishConfig included) and
    /// trusted publishing's decision.
    pub fn decide(configured: Option<bool>, file: Option<PathBuf>, auto: bool) -> Want {
        if let Some(f) = file {
            return Want::File(f);
        }
        match configured {
            Some(true) => Want::Explicit,
            Some(false) => Want::Off,
            None if auto => Want::Auto,
            None => Want::Off,
        }
    }
}

/// Why provenance cannot be made here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Blocked {
    pub reason: String,
    pub fix: String,
}

fn blocked(reason: impl Into<String>, fix: impl Into<String>) -> Blocked {
    Blocked {
        reason: reason.into(),
        fix: fix.into(),
    }
}

/// The repository the job runs in, as the registry names it in its
/// comparison with `repository.url` (`https://github.com/o/r`).
pub fn ci_repository_url(env: &Env, provider: Provider) -> Option<String> {
    match provider {
        Provider::GitHubActions => {
            let server = env
                .get("GITHUB_SERVER_URL")
                .filter(|s| !s.is_empty())
                .unwrap_or("https://github.com");
            let repo = env.get("GITHUB_REPOSITORY").filter(|s| !s.is_empty())?;
            Some(format!("{}/{repo}", server.trim_end_matches('/')))
        }
        Provider::GitLab => env
            .get("CI_PROJECT_URL")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        Provider::CircleCi => None,
    }
}

/// package.json's `repository.url` as the registry compares it: `git+`
/// and `.git` removed, shorthands (`github:o/r`, `o/r`) expanded.
pub fn normalized_repository_url(repository: &Value) -> Option<String> {
    let raw = match repository {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("url")?.as_str()?,
        _ => return None,
    };
    // A repository on a host hosted-git-info knows, in any of its forms
    // (shorthand, git+https, git+ssh, git://), is that host's https URL.
    if let Some((domain, slug)) = crate::document::repository_slug(repository) {
        return Some(format!("https://{domain}/{slug}"));
    }
    let s = raw.trim();
    let s = s.strip_prefix("git+").unwrap_or(s);
    let s = s.strip_suffix(".git").unwrap_or(s);
    Some(s.trim_end_matches('/').to_string())
}

/// The repository the id token says the job runs in, as an https URL:
/// GitHub's `repository`, GitLab's `project_path`, CircleCI's VCS origin.
pub fn claims_repository_url(c: &Claims, provider: Provider) -> Option<String> {
    match provider {
        Provider::GitHubActions => c
            .str("repository")
            .map(|r| format!("https://github.com/{r}")),
        Provider::GitLab => c
            .str("project_path")
            .map(|p| format!("https://gitlab.com/{p}")),
        Provider::CircleCi => c
            .str("oidc.circleci.com/vcs-origin")
            .map(|o| format!("https://{o}")),
    }
}

/// The first of [`preflight`]'s checks, which decides whether a signing
/// identity can be asked for at all: a CI that has one (GitHub Actions with
/// the id-token permission, GitLab CI with `SIGSTORE_ID_TOKEN`).
pub fn preflight_identity(env: &Env, provider: Option<Provider>) -> Result<Provider, Blocked> {
    let provider = match provider {
        Some(p @ (Provider::GitHubActions | Provider::GitLab)) => p,
        Some(Provider::CircleCi) => {
            return Err(blocked(
                "npm makes provenance only on GitHub Actions and GitLab CI, not on CircleCI",
                "publish without provenance here (--no-provenance), or from GitHub Actions or GitLab CI",
            ))
        }
        None => {
            return Err(blocked(
                "provenance needs a CI identity (GitHub Actions or GitLab CI); this is neither",
                "make provenance in the CI job that publishes, or drop --provenance",
            ))
        }
    };
    if provider == Provider::GitHubActions
        && env
            .get("ACTIONS_ID_TOKEN_REQUEST_URL")
            .is_none_or(str::is_empty)
    {
        return Err(blocked(
            "provenance generation in GitHub Actions requires \"write\" access to the \"id-token\" permission",
            "add `permissions: {contents: read, id-token: write}` to the publishing job",
        ));
    }
    if provider == Provider::GitLab && env.get("SIGSTORE_ID_TOKEN").is_none_or(str::is_empty) {
        return Err(blocked(
            "provenance generation in GitLab CI requires SIGSTORE_ID_TOKEN (an id token with audience \"sigstore\")",
            "add `SIGSTORE_ID_TOKEN: {aud: sigstore}` under the job's `id_tokens`",
        ));
    }
    Ok(provider)
}

/// The checks made before anything reaches the transparency log: a
/// supported CI with its signing identity, a `repository.url` naming this
/// repository, a GitHub-hosted runner, a public source repository (from the
/// signing token's claims), and — as npm checks it — a package that is
/// public or published with `--access public`.
pub fn preflight(
    env: &Env,
    provider: Option<Provider>,
    repository: Option<&Value>,
    identity_claims: Option<&Claims>,
    access_public: bool,
    package_public: impl FnOnce() -> Result<bool, String>,
) -> Result<(), Blocked> {
    let provider = preflight_identity(env, provider)?;
    // The job's repository: from the CI's variables, else from the claims.
    let expected = ci_repository_url(env, provider)
        .or_else(|| claims_repository_url(identity_claims?, provider));
    match (repository.and_then(normalized_repository_url), &expected) {
        (None, Some(want)) => {
            return Err(blocked(
                format!("package.json has no \"repository\"; the registry requires it to match {want} for provenance"),
                format!("add \"repository\": {{\"type\": \"git\", \"url\": \"git+{want}.git\"}} to package.json"),
            ))
        }
        (Some(have), Some(want)) if have != *want => {
            let case = if have.eq_ignore_ascii_case(want) {
                " (they differ only in upper/lower case, and the registry compares case-sensitively)"
            } else {
                ""
            };
            return Err(blocked(
                format!("package.json's \"repository.url\" is {have}, but the registry requires it to match {want}{case}"),
                format!("set \"repository\": {{\"type\": \"git\", \"url\": \"git+{want}.git\"}} in package.json"),
            ));
        }
        _ => {}
    }
    if let Some(c) = identity_claims {
        if let Some(runner) = c.str("runner_environment") {
            let hosted = match provider {
                Provider::GitLab => "gitlab-hosted",
                _ => "github-hosted",
            };
            if runner != hosted {
                return Err(blocked(
                    format!("this job runs on a {runner} runner; the registry accepts provenance only from {hosted} runners"),
                    format!("run the publishing job on a {hosted} runner, or publish without provenance (--no-provenance)"),
                ));
            }
        }
        let vis_key = match provider {
            Provider::GitLab => "project_visibility",
            _ => "repository_visibility",
        };
        if let Some(vis) = c.str(vis_key) {
            if vis != "public" {
                return Err(blocked(
                    format!("the source repository is {vis} ({vis_key}); the registry accepts provenance only from public repositories"),
                    "publish without provenance (--no-provenance), or make the repository public",
                ));
            }
        }
    }
    if !access_public {
        match package_public() {
            Ok(true) => {}
            Ok(false) => {
                return Err(blocked(
                    "can't generate provenance for a new or private package; the package must be published with public access",
                    "pass --access public (or \"publishConfig\": {\"access\": \"public\"})",
                ))
            }
            Err(e) => {
                return Err(blocked(
                    format!("cannot tell whether the package is public: {e}"),
                    "pass --access public, or re-run",
                ))
            }
        }
    }
    Ok(())
}

/// What is wrong with a `--provenance-file` bundle (npm's messages).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read the provenance file {path}: {error}")]
    Unreadable { path: PathBuf, error: String },
    #[error("invalid provenance provided in {path}: {error}")]
    Invalid { path: PathBuf, error: String },
    #[error("no dsseEnvelope with payload found in the sigstore bundle {path}")]
    NoPayload { path: PathBuf },
    #[error("failed to parse the payload from the dsseEnvelope of {path}: {error}")]
    BadPayload { path: PathBuf, error: String },
    #[error("no subject found in the sigstore bundle payload of {path}")]
    NoSubject { path: PathBuf },
    #[error("found more than one subject in the sigstore bundle payload of {path}")]
    ManySubjects { path: PathBuf },
    #[error("provenance subject {found} in {path} does not match the package: {purl}")]
    WrongName {
        path: PathBuf,
        found: String,
        purl: String,
    },
    #[error("provenance subject digest in {path} does not match the package's tarball")]
    WrongDigest { path: PathBuf },
}

/// Reads a bundle made elsewhere and checks, as npm does, that its one
/// subject names this package and this tarball's sha512.
pub fn check_provenance_file(
    path: &Path,
    purl: &str,
    sha512_hex: &str,
) -> Result<Value, FileError> {
    let p = || path.to_path_buf();
    let text = crate::limits::read_text(path, crate::limits::PROVENANCE_FILE_MAX).map_err(|e| {
        FileError::Unreadable {
            path: p(),
            error: e.to_string(),
        }
    })?;
    let bundle: Value = serde_json::from_str(&text).map_err(|e| FileError::Invalid {
        path: p(),
        error: e.to_string(),
    })?;
    let payload = bundle
        .pointer("/dsseEnvelope/payload")
        .and_then(Value::as_str)
        .ok_or_else(|| FileError::NoPayload { path: p() })?;
    let statement: Value = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|error| FileError::BadPayload { path: p(), error })?;
    let subjects = statement
        .get("subject")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let subject = match subjects.as_slice() {
        [] => return Err(FileError::NoSubject { path: p() }),
        [one] => one,
        _ => return Err(FileError::ManySubjects { path: p() }),
    };
    let name = subject
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name != purl {
        return Err(FileError::WrongName {
            path: p(),
            found: name.to_string(),
            purl: purl.to_string(),
        });
    }
    if subject.pointer("/digest/sha512").and_then(Value::as_str) != Some(sha512_hex) {
        return Err(FileError::WrongDigest { path: p() });
    }
    Ok(bundle)
}

/// `https://search.sigstore.dev/?logIndex=N`.
pub fn search_url(log_index: u64) -> String {
    format!("https://search.sigstore.dev/?logIndex={log_index}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Claims {
        match v {
            Value::Object(m) => Claims(m),
            _ => unreachable!(),
        }
    }

    fn gh_env() -> Env {
        Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/widgets"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://token.example/x"),
        ])
    }

    #[test]
    fn want_follows_the_configuration_then_trusted_publishing() {
        assert_eq!(Want::decide(None, None, false), Want::Off);
        assert_eq!(Want::decide(None, None, true), Want::Auto);
        assert_eq!(Want::decide(Some(false), None, true), Want::Off);
        assert_eq!(Want::decide(Some(true), None, false), Want::Explicit);
        assert_eq!(
            Want::decide(None, Some("b.json".into()), true),
            Want::File("b.json".into())
        );
    }

    #[test]
    fn repository_urls_are_normalised_as_the_registry_compares_them() {
        let n = |v: Value| normalized_repository_url(&v);
        let want = Some("https://github.com/acme/widgets".to_string());
        assert_eq!(
            n(json!({"url": "git+https://github.com/acme/widgets.git"})),
            want
        );
        assert_eq!(n(json!("github:acme/widgets")), want);
        assert_eq!(n(json!("acme/widgets")), want);
        assert_eq!(n(json!("https://github.com/acme/widgets")), want);
        assert_eq!(n(json!("git+ssh://git@github.com/acme/widgets.git")), want);
        assert_eq!(n(json!({"type": "git"})), None);
    }

    #[test]
    fn preflight_names_each_obstacle() {
        let repo = json!({"url": "git+https://github.com/acme/widgets.git"});
        let ok_claims = claims(
            json!({"runner_environment": "github-hosted", "repository_visibility": "public"}),
        );
        let public = || Ok(true);
        let gh = Some(Provider::GitHubActions);
        assert_eq!(
            preflight(&gh_env(), gh, Some(&repo), Some(&ok_claims), false, public),
            Ok(())
        );
        // Not in CI, CircleCI.
        assert!(preflight(&gh_env(), None, Some(&repo), None, true, public).is_err());
        let e = preflight(
            &gh_env(),
            Some(Provider::CircleCi),
            Some(&repo),
            None,
            true,
            public,
        )
        .unwrap_err();
        assert!(e.reason.contains("CircleCI"), "{e:?}");
        // No id-token permission.
        let env = Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/widgets"),
        ]);
        let e = preflight(&env, gh, Some(&repo), None, true, public).unwrap_err();
        assert!(e.fix.contains("id-token: write"), "{e:?}");
        // GitLab without SIGSTORE_ID_TOKEN.
        let env = Env::from_pairs([
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_URL", "https://gitlab.com/a/b"),
        ]);
        let e = preflight(&env, Some(Provider::GitLab), None, None, true, public).unwrap_err();
        assert!(e.fix.contains("SIGSTORE_ID_TOKEN"), "{e:?}");
        // Repository: missing, another one, another case.
        let e = preflight(&gh_env(), gh, None, None, true, public).unwrap_err();
        assert!(e.reason.contains("no \"repository\""), "{e:?}");
        let other = json!("github:acme/gadgets");
        let e = preflight(&gh_env(), gh, Some(&other), None, true, public).unwrap_err();
        assert!(
            e.reason.contains("https://github.com/acme/gadgets"),
            "{e:?}"
        );
        let case = json!("github:Acme/widgets");
        let e = preflight(&gh_env(), gh, Some(&case), None, true, public).unwrap_err();
        assert!(e.reason.contains("upper/lower case"), "{e:?}");
        // Runner and visibility from the signing identity's claims.
        let self_hosted = claims(json!({"runner_environment": "self-hosted"}));
        let e =
            preflight(&gh_env(), gh, Some(&repo), Some(&self_hosted), true, public).unwrap_err();
        assert!(e.reason.contains("self-hosted"), "{e:?}");
        let private = claims(json!({"repository_visibility": "private"}));
        let e = preflight(&gh_env(), gh, Some(&repo), Some(&private), true, public).unwrap_err();
        assert!(e.reason.contains("private"), "{e:?}");
        // A new or private package needs --access public (npm's check).
        let e = preflight(&gh_env(), gh, Some(&repo), None, false, || Ok(false)).unwrap_err();
        assert!(e.fix.contains("--access public"), "{e:?}");
        assert_eq!(
            preflight(&gh_env(), gh, Some(&repo), None, true, || panic!(
                "not asked"
            )),
            Ok(())
        );
    }

    fn bundle_with(statement: Value) -> String {
        let payload = base64::engine::general_purpose::STANDARD.encode(statement.to_string());
        json!({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
               "dsseEnvelope": {"payload": payload, "payloadType": "application/vnd.in-toto+json", "signatures": []}})
        .to_string()
    }

    #[test]
    fn provenance_files_must_name_this_package_and_tarball() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.sigstore.json");
        let purl = "pkg:npm/%40acme/w@1.0.0";
        let digest = "ab".repeat(64);
        let subject = |name: &str, d: &str| json!({"name": name, "digest": {"sha512": d}});
        let write = |s: Value| std::fs::write(&path, bundle_with(json!({"subject": s}))).unwrap();

        write(json!([subject(purl, &digest)]));
        assert!(check_provenance_file(&path, purl, &digest).is_ok());
        write(json!([subject("pkg:npm/other@1.0.0", &digest)]));
        assert!(matches!(
            check_provenance_file(&path, purl, &digest),
            Err(FileError::WrongName { .. })
        ));
        write(json!([subject(purl, "00")]));
        assert!(matches!(
            check_provenance_file(&path, purl, &digest),
            Err(FileError::WrongDigest { .. })
        ));
        write(json!([]));
        assert!(matches!(
            check_provenance_file(&path, purl, &digest),
            Err(FileError::NoSubject { .. })
        ));
        write(json!([subject(purl, &digest), subject(purl, &digest)]));
        assert!(matches!(
            check_provenance_file(&path, purl, &digest),
            Err(FileError::ManySubjects { .. })
        ));
        std::fs::write(&path, "{}").unwrap();
        assert!(matches!(
            check_provenance_file(&path, purl, &digest),
            Err(FileError::NoPayload { .. })
        ));
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(
            check_provenance_file(&path, purl, &digest),
            Err(FileError::Invalid { .. })
        ));
        assert!(matches!(
            check_provenance_file(&dir.path().join("missing"), purl, &digest),
            Err(FileError::Unreadable { .. })
        ));
    }
}
