//! Identity drift (issue #14 item 4): the repository this job runs in,
//! against the one that published the package's latest version.
//!
//! A trusted publisher on npmjs.com names a repository (GitHub: owner and
//! repository; GitLab: namespace and project). When that repository is
//! renamed, transferred to another owner, or deleted and created again, the
//! names or the numeric ids in the id token change and the trusted
//! publisher stops matching, with nothing but a 404 from the exchange. The
//! registry keeps a record of where the latest version came from: its
//! provenance, served at `dist.attestations.url`
//! (`<registry>/-/npm/v1/attestations/<name>@<version>`), whose SLSA
//! statement names the source repository and its ids exactly as npm wrote
//! them (`libnpmpublish/lib/provenance.js`, ported in
//! `provenance/statement.rs`):
//!
//! * GitHub, npm 9.8.1 and later (SLSA v1, build type
//!   `https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1`):
//!   `buildDefinition.externalParameters.workflow.repository`
//!   (`https://github.com/OWNER/REPO`) and
//!   `buildDefinition.internalParameters.github.repository_id` /
//!   `repository_owner_id`.
//! * GitHub, npm 9.5–9.8 (libnpmpublish 7.1.0–7.4.0: SLSA v0.2, build type
//!   `https://github.com/npm/cli/gha@v1` or `https://github.com/npm/cli/gha/v2`):
//!   `invocation.configSource.uri` (`git+https://github.com/OWNER/REPO@REF`)
//!   and `invocation.environment.GITHUB_REPOSITORY_ID` /
//!   `GITHUB_REPOSITORY_OWNER_ID` (fixtures in `fixtures/provenance-npm9/`).
//!   The id token's `repository`, `repository_id`, `repository_owner`,
//!   `repository_owner_id`, on the host of `GITHUB_SERVER_URL` (GitHub
//!   Enterprise) or of the token's issuer.
//! * GitLab (SLSA v0.2, build type `https://github.com/npm/cli/gitlab/v0alpha1`):
//!   `invocation.parameters.CI_PROJECT_PATH`, `CI_PROJECT_ID`,
//!   `CI_PROJECT_NAMESPACE_ID` (and `CI_PROJECT_URL` for the host); the id
//!   token's `project_path`, `project_id`, `namespace_id`.
//!
//! A statement of any other shape names no repository here: a notice, never
//! a guess.
//!
//! `_npmUser.trustedPublisher` names no repository (`{id, oidcConfigId}`),
//! so the provenance is the only source.
//!
//! The bundle is read only from the registry's own origin, without a
//! credential, in one attempt of at most [`LIMIT`] that does not count in
//! the publish's registry time ([`crate::http::Client::fetch_within`]);
//! what cannot be read is a notice, never a failed publish. The statement is not verified here (the registry
//! verified it when the version was published, and `npm audit signatures`
//! verifies it for consumers): it only decides which warning to show.

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::ci::Provider;
use crate::env::Env;
use crate::oidc::Claims;
use crate::registry::{Client, LatestProvenance, Request};

/// The largest attestations document read (npm's are a few tens of kB: two
/// bundles, each with a certificate and a log entry).
pub const MAX_ATTESTATIONS: usize = 1024 * 1024;

/// The most time the attestations GET may take (or `fetch-timeout`, if
/// shorter): the publish does not need it.
pub const LIMIT: Duration = Duration::from_secs(15);

/// npm's GitHub build type since npm 9.8.1 (SLSA v1).
const GITHUB_BUILD_TYPE: &str =
    "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1";
/// npm 9.5–9.8's GitHub build types (SLSA v0.2; libnpmpublish 7.1.0, then
/// 7.2.0–7.4.0).
const NPM9_GITHUB_BUILD_TYPES: [&str; 2] = [
    "https://github.com/npm/cli/gha@v1",
    "https://github.com/npm/cli/gha/v2",
];
/// npm's GitLab build type (SLSA v0.2).
const GITLAB_BUILD_TYPE: &str = "https://github.com/npm/cli/gitlab/v0alpha1";

/// A repository as a CI run, or a version's provenance, names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub provider: Provider,
    /// `github.com`, `gitlab.com`.
    pub host: String,
    /// `owner/repo`; GitLab: `group/subgroup/project`.
    pub path: String,
    /// The repository's (project's) numeric id.
    pub id: Option<String>,
    /// The owner's (namespace's) numeric id.
    pub owner_id: Option<String>,
}

impl Identity {
    /// The owner (namespace) part of the path.
    pub fn owner(&self) -> &str {
        self.path.rsplit_once('/').map_or("", |(o, _)| o)
    }

    /// The repository (project) name.
    pub fn name(&self) -> &str {
        self.path.rsplit_once('/').map_or(&self.path, |(_, n)| n)
    }

    /// `github.com/acme/widgets (repository id 123)`; GitLab's is a
    /// project id.
    fn shown(&self) -> String {
        let what = match self.provider {
            Provider::GitLab => "project id",
            _ => "repository id",
        };
        match &self.id {
            Some(id) => format!("{}/{} ({what} {id})", self.host, self.path),
            None => format!("{}/{}", self.host, self.path),
        }
    }

    /// The `repository` value package.json should hold.
    fn repository_url(&self) -> String {
        format!("git+https://{}/{}.git", self.host, self.path)
    }
}

/// An id claim or statement field as text (GitHub's are strings, a
/// hand-made token may carry numbers: `712345678`, never `712345678.0`).
fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Some(u.to_string()),
            (_, Some(i), _) => Some(i.to_string()),
            // Exactly an integer (2^53 and below): written as one.
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => {
                Some(format!("{}", f as i64))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `https://github.com/acme/widgets` → (`github.com`, `acme/widgets`).
fn host_and_path(url: &str) -> Option<(String, String)> {
    let u = url::Url::parse(url.trim().trim_start_matches("git+")).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    let path = u
        .path()
        .trim_matches('/')
        .trim_end_matches(".git")
        .to_string();
    (path.contains('/')).then_some((host, path))
}

/// The source repository a provenance statement names, for the shapes
/// npm writes (see the module's documentation); why not, for any other.
pub fn from_statement(statement: &Value) -> Result<Identity, String> {
    let kind = statement
        .get("predicateType")
        .and_then(Value::as_str)
        .ok_or("the statement has no predicateType")?;
    let p = statement
        .get("predicate")
        .ok_or("the statement has no predicate")?;
    let build_type = p
        .get("buildType")
        .or_else(|| p.pointer("/buildDefinition/buildType"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let unknown = || {
        Err(format!(
            "its statement ({kind}, build type \"{build_type}\") is not one npm writes for GitHub Actions or GitLab CI"
        ))
    };
    let incomplete = || Err("its statement does not name the source repository".to_string());
    match (kind, build_type) {
        ("https://slsa.dev/provenance/v1", GITHUB_BUILD_TYPE) => {
            let b = p.get("buildDefinition").ok_or("no buildDefinition")?;
            let Some((host, path)) = b
                .pointer("/externalParameters/workflow/repository")
                .and_then(Value::as_str)
                .and_then(host_and_path)
            else {
                return incomplete();
            };
            let gh = b.pointer("/internalParameters/github");
            Ok(Identity {
                provider: Provider::GitHubActions,
                host,
                path,
                id: id_text(gh.and_then(|g| g.get("repository_id"))),
                owner_id: id_text(gh.and_then(|g| g.get("repository_owner_id"))),
            })
        }
        ("https://slsa.dev/provenance/v0.2", t) if NPM9_GITHUB_BUILD_TYPES.contains(&t) => {
            // `git+${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}@${GITHUB_REF}`.
            let Some((host, path)) = p
                .pointer("/invocation/configSource/uri")
                .and_then(Value::as_str)
                .and_then(|u| u.strip_prefix("git+"))
                .and_then(|u| {
                    let (scheme, rest) = u.split_once("://")?;
                    let repo = rest.split_once('@').map_or(rest, |(r, _)| r);
                    host_and_path(&format!("{scheme}://{repo}"))
                })
            else {
                return incomplete();
            };
            let env = p.pointer("/invocation/environment");
            let var = |k: &str| env.and_then(|e| e.get(k));
            // The URL and the variable npm built it from must agree.
            if let Some(r) = var("GITHUB_REPOSITORY").and_then(Value::as_str) {
                if r != path {
                    return Err(format!(
                        "its statement names two repositories ({path} in configSource, {r} in GITHUB_REPOSITORY)"
                    ));
                }
            }
            Ok(Identity {
                provider: Provider::GitHubActions,
                host,
                path,
                id: id_text(var("GITHUB_REPOSITORY_ID")),
                owner_id: id_text(var("GITHUB_REPOSITORY_OWNER_ID")),
            })
        }
        ("https://slsa.dev/provenance/v0.2", GITLAB_BUILD_TYPE) => {
            let Some(params) = p.pointer("/invocation/parameters") else {
                return incomplete();
            };
            let param = |k: &str| {
                params
                    .get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            let Some((host, url_path)) = param("CI_PROJECT_URL")
                .or_else(|| {
                    p.pointer("/invocation/configSource/uri")?
                        .as_str()
                        .map(|u| u.trim_start_matches("git+"))
                })
                .and_then(host_and_path)
            else {
                return incomplete();
            };
            Ok(Identity {
                provider: Provider::GitLab,
                host,
                path: param("CI_PROJECT_PATH")
                    .map(str::to_string)
                    .unwrap_or(url_path),
                id: id_text(params.get("CI_PROJECT_ID")),
                owner_id: id_text(params.get("CI_PROJECT_NAMESPACE_ID")),
            })
        }
        _ => unknown(),
    }
}

/// The host a GitHub Actions job's repository is on: `GITHUB_SERVER_URL`'s
/// (GitHub Enterprise Server, GHE.com), else the id token issuer's
/// (`https://HOST/_services/token` on GitHub Enterprise Server,
/// `https://token.actions.SUBDOMAIN.ghe.com` on GHE.com), else github.com.
fn github_host(c: &Claims, env: &Env) -> String {
    let host_of = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    if let Some(h) = env
        .get("GITHUB_SERVER_URL")
        .filter(|s| !s.is_empty())
        .and_then(host_of)
    {
        return h;
    }
    let iss = c.str("iss").and_then(|i| url::Url::parse(i).ok());
    if let Some(iss) = iss {
        let host = iss.host_str().unwrap_or("").to_ascii_lowercase();
        if iss.path().starts_with("/_services/token") {
            return host;
        }
        if let Some(sub) = host.strip_prefix("token.actions.") {
            if sub.ends_with(".ghe.com") {
                return sub.to_string();
            }
        }
    }
    "github.com".into()
}

/// The repository the id token names (GitHub Actions and GitLab CI; a
/// CircleCI token names a project id that provenance does not record).
pub fn from_claims(c: &Claims, provider: Provider, env: &Env) -> Option<Identity> {
    match provider {
        Provider::GitHubActions => {
            let path = c.str("repository").filter(|r| r.contains('/'))?;
            Some(Identity {
                provider,
                host: github_host(c, env),
                path: path.to_string(),
                id: id_text(c.0.get("repository_id")),
                owner_id: id_text(c.0.get("repository_owner_id")),
            })
        }
        Provider::GitLab => {
            let path = c.str("project_path").filter(|r| r.contains('/'))?;
            let host = c
                .str("iss")
                .and_then(|i| url::Url::parse(i).ok())
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                .unwrap_or_else(|| "gitlab.com".into());
            Some(Identity {
                provider,
                host,
                path: path.to_string(),
                id: id_text(c.0.get("project_id")),
                owner_id: id_text(c.0.get("namespace_id")),
            })
        }
        Provider::CircleCi => None,
    }
}

/// How this job's repository differs from the one that published the
/// latest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The same repository id under another name; what happened to the
    /// owner part.
    Renamed { owner: Owner },
    /// The same name with another id: deleted and created again.
    Recreated,
    /// Another id and another name (or another host or CI): another
    /// repository publishes it; `fork` when only the owner differs.
    Other { fork: bool },
    /// Another name, and no ids on one side to tell a rename from another
    /// repository.
    Moved,
}

/// The owner part of a renamed repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The same owner (the repository itself was renamed).
    Same,
    /// The same owner id under another name: the owner was renamed.
    Renamed,
    /// Another owner id: transferred to another owner.
    Transferred,
    /// Another owner name and no owner ids to tell a transfer from a
    /// renamed owner.
    Changed,
}

/// A difference worth a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub kind: Kind,
    /// Where the latest version came from.
    pub published: Identity,
    /// Where this job runs.
    pub current: Identity,
    /// That version.
    pub version: String,
}

/// Compares the two; `None` when they are the same repository.
pub fn compare(published: &Identity, current: &Identity, version: &str) -> Option<Drift> {
    // A side without ids was named outside CI (a git remote, package.json):
    // its CI is unknown, and its case is no evidence of a rename.
    let ids = published.id.is_some() && current.id.is_some();
    let same_place =
        published.host == current.host && (published.provider == current.provider || !ids);
    let same_name = same_place
        && (published.path == current.path
            || !ids && published.path.eq_ignore_ascii_case(&current.path));
    let kind = match (&published.id, &current.id) {
        _ if !same_place => Kind::Other { fork: false },
        (Some(a), Some(b)) if a == b && same_name => return None,
        (Some(a), Some(b)) if a == b => {
            let same_name = published.owner().eq_ignore_ascii_case(current.owner());
            let owner = match (&published.owner_id, &current.owner_id) {
                (Some(x), Some(y)) if x != y => Owner::Transferred,
                _ if same_name => Owner::Same,
                (Some(_), Some(_)) => Owner::Renamed,
                _ => Owner::Changed,
            };
            Kind::Renamed { owner }
        }
        (Some(_), Some(_)) if same_name => Kind::Recreated,
        (Some(_), Some(_)) => Kind::Other {
            fork: published.name() == current.name(),
        },
        _ if same_name => return None,
        _ => Kind::Moved,
    };
    Some(Drift {
        kind,
        published: published.clone(),
        current: current.clone(),
        version: version.to_string(),
    })
}

impl Drift {
    /// The trusted-publisher fields naming this job's repository.
    fn publisher_fields(&self) -> String {
        let c = &self.current;
        match c.provider {
            Provider::GitLab => {
                format!("Namespace \"{}\", Project name \"{}\"", c.owner(), c.name())
            }
            _ => format!(
                "Organization or user \"{}\", Repository \"{}\"",
                c.owner(),
                c.name()
            ),
        }
    }

    fn settings_page(name: &str, registry: &str) -> String {
        if super::is_npmjs(registry) {
            format!("on npmjs.com (https://www.npmjs.com/package/{name}/access)")
        } else {
            format!("in the registry's settings for {name}")
        }
    }

    /// What happened, in one paragraph.
    pub fn message(&self, name: &str) -> String {
        self.message_from(name, "this job runs in")
    }

    /// [`Drift::message`] with another subject than the job (`the git
    /// remote "origin" names`).
    pub fn message_from(&self, name: &str, here: &str) -> String {
        let (p, c) = (&self.published, &self.current);
        let head = format!(
            "{name}@{} was published from {}, but {here} {}",
            self.version,
            p.shown(),
            c.shown()
        );
        let case_only = p.path != c.path && p.path.eq_ignore_ascii_case(&c.path);
        match &self.kind {
            Kind::Renamed { owner: Owner::Same } if case_only => format!(
                "{head}: the same repository, renamed in upper/lower case only. npm matches the trusted publisher's names exactly."
            ),
            Kind::Renamed { owner: Owner::Same } => format!(
                "{head}: the same repository, renamed. A trusted publisher that names the old repository no longer matches."
            ),
            Kind::Renamed { .. } => format!(
                "{head}: {}. A trusted publisher that names the old owner no longer matches.",
                self.what()
            ),
            Kind::Recreated => format!(
                "{head}: a repository with the same name but another id, so it was deleted and created again (or the name now belongs to someone else)."
            ),
            Kind::Other { fork: true } => format!(
                "{head}: another repository with the same name under another owner (a fork?)."
            ),
            Kind::Other { fork: false } => format!("{head}: another repository."),
            Kind::Moved => format!(
                "{head}: renamed, transferred, or another repository ({}).",
                if p.id.is_none() {
                    "the provenance names no repository id to tell which"
                } else {
                    "only the publishing job's id token carries the repository id that tells which"
                }
            ),
        }
    }

    /// What happened, in a few words (no subject).
    fn what(&self) -> String {
        let (p, c) = (&self.published, &self.current);
        let case_only = p.path != c.path && p.path.eq_ignore_ascii_case(&c.path);
        match &self.kind {
            Kind::Renamed { owner: Owner::Same } if case_only => {
                "the same repository, renamed in upper/lower case only".into()
            }
            Kind::Renamed { owner: Owner::Same } => "the same repository, renamed".into(),
            Kind::Renamed {
                owner: Owner::Renamed,
            } => format!(
                "the same repository; its owner was renamed from {} to {} (the same owner id)",
                p.owner(),
                c.owner()
            ),
            Kind::Renamed {
                owner: Owner::Transferred,
            } => "the same repository, transferred to another owner".into(),
            Kind::Renamed {
                owner: Owner::Changed,
            } => "the same repository under another owner (transferred, or the owner renamed: no owner ids to tell which)".into(),
            Kind::Recreated => "a repository with the same name but another id, so it was deleted and created again (or the name now belongs to someone else)".into(),
            Kind::Other { fork: true } => {
                "another repository with the same name under another owner (a fork?)".into()
            }
            Kind::Other { fork: false } => "another repository".into(),
            Kind::Moved => "renamed, transferred, or another repository (no repository ids to tell which)".into(),
        }
    }

    /// After a successful exchange: the trusted publisher already matches
    /// this job, so the difference is a record, not a fault. What happened.
    /// `here`: `this version comes from` (publish), `this job runs in`
    /// (doctor).
    pub fn matched_message(&self, name: &str, here: &str) -> String {
        format!(
            "{name}@{} was published from {}; {here} {}: {}. The registry's trusted publisher already accepts this repository (the token exchange worked).",
            self.version,
            self.published.shown(),
            self.current.shown(),
            self.what()
        )
    }

    /// After a successful exchange: only the advice that still applies
    /// (package.json `repository` naming another repository; a caution
    /// about who owns a recreated or other repository).
    pub fn matched_advice(&self, name: &str, repository: Option<&Value>) -> Option<String> {
        let mut advice = Vec::new();
        let c = &self.current;
        match self.kind {
            Kind::Recreated => advice.push(format!(
                "if you did not delete and recreate {}/{} yourself, find out who owns it now: its workflows can publish {name}",
                c.host, c.path
            )),
            Kind::Other { .. } | Kind::Moved => advice.push(format!(
                "make sure {name} is meant to come from {}/{} and that you control it: its workflows can publish {name}",
                c.host, c.path
            )),
            Kind::Renamed { .. } => {}
        }
        if let Some(a) = self.repository_advice(repository) {
            advice.push(a);
        }
        (!advice.is_empty()).then(|| advice.join("; "))
    }

    /// package.json `repository` naming another repository than this job's.
    fn repository_advice(&self, repository: Option<&Value>) -> Option<String> {
        let old = crate::provenance::normalized_repository_url(repository?)?;
        let names_current = old.eq_ignore_ascii_case(&format!(
            "https://{}/{}",
            self.current.host, self.current.path
        ));
        (!names_current).then(|| {
            format!(
                "set package.json \"repository\" to {{\"type\": \"git\", \"url\": \"{}\"}} (it names {})",
                self.current.repository_url(),
                old.trim_start_matches("https://")
            )
        })
    }

    /// What to change when the trusted publisher does not (or may not)
    /// match: after a refused exchange, and for `doctor` outside CI.
    pub fn fix(&self, name: &str, registry: &str, repository: Option<&Value>) -> String {
        let page = Self::settings_page(name, registry);
        let fields = self.publisher_fields();
        let mut fix = match &self.kind {
            Kind::Renamed { .. } | Kind::Moved => format!(
                "update the trusted publisher {page}: {fields}"
            ),
            Kind::Recreated => format!(
                "if you recreated {}/{} yourself, make sure the trusted publisher {page} still names it ({fields}; remove it and add it again if the exchange refuses this job); if you did not, find out who owns it now before publishing from it",
                self.current.host, self.current.path
            ),
            Kind::Other { .. } => format!(
                "publish from {}/{}, or, if {name} has moved to this repository, change the trusted publisher {page} to {fields}",
                self.published.host, self.published.path
            ),
        };
        if !matches!(self.kind, Kind::Other { .. } | Kind::Recreated) {
            if let Some(a) = self.repository_advice(repository) {
                fix.push_str(&format!("; and {a}"));
            }
        }
        fix
    }
}

/// What the latest version's provenance says about where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    Found {
        version: String,
        identity: Identity,
    },
    /// The attestations are served from another origin than the
    /// registry's: not fetched.
    Elsewhere {
        version: String,
        url: String,
    },
    /// The attestations could not be read or named no repository.
    Unreadable {
        version: String,
        url: String,
        reason: String,
    },
}

impl Published {
    /// The notice for what could not be compared, if anything.
    pub fn notice(&self, name: &str) -> Option<String> {
        match self {
            Published::Found { .. } => None,
            Published::Elsewhere { version, url } => Some(format!(
                "the provenance of {name}@{version} is served from {url}, not from the registry: not read, so this job's repository was not compared with the one that published it"
            )),
            Published::Unreadable {
                version,
                url,
                reason,
            } => Some(format!(
                "could not read the provenance of {name}@{version} from {url} ({reason}), so this job's repository was not compared with the one that published it"
            )),
        }
    }
}

/// Reads the latest version's provenance (one GET of its attestations,
/// without a credential, only on the registry's origin) and the repository
/// its statement names.
pub fn published(
    client: &Client,
    registry: &str,
    name: &str,
    latest: &LatestProvenance,
) -> Published {
    let version = latest.version.clone();
    let url = match url::Url::parse(registry).and_then(|base| base.join(&latest.url)) {
        Ok(mut u) => {
            // Never a credential from the packument's URL (nor printed).
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => {
            return Published::Unreadable {
                version,
                url: latest.url.clone(),
                reason: "not a URL".into(),
            }
        }
    };
    let same_origin = crate::http::origin(&url).is_some()
        && crate::http::origin(&url) == crate::http::origin(registry);
    if !same_origin {
        return Published::Elsewhere { version, url };
    }
    let unreadable = |reason: String| Published::Unreadable {
        version: version.clone(),
        url: url.clone(),
        reason,
    };
    let req = Request {
        method: "GET",
        url: url.clone(),
        headers: vec![("accept", "application/json".to_string())],
        body: None,
        auth: None,
        spec: format!("{name}@{version}"),
    };
    let body = match client.fetch_within(&req, LIMIT) {
        Ok(r) if r.status == 200 => r.body,
        Ok(r) => {
            return unreadable(format!(
                "{} {}",
                r.status,
                crate::registry::reason(r.status)
            ))
        }
        // The URL is in the notice already.
        Err(crate::http::HttpError::Transport { message, .. }) => return unreadable(message),
        Err(e) => return unreadable(e.to_string()),
    };
    match identity_from_attestations(&body, name, &version) {
        Ok(identity) => Published::Found { version, identity },
        Err(reason) => unreadable(reason),
    }
}

/// The source repository of the SLSA provenance in an attestations
/// document (`{"attestations": [{"predicateType", "bundle": {"dsseEnvelope":
/// {"payload", "payloadType"}}}]}`), for `name@version`.
pub fn identity_from_attestations(
    body: &[u8],
    name: &str,
    version: &str,
) -> Result<Identity, String> {
    if body.len() > MAX_ATTESTATIONS {
        return Err(format!(
            "the answer is larger than {} kB",
            MAX_ATTESTATIONS / 1024
        ));
    }
    let doc: Value = serde_json::from_slice(body).map_err(|_| "the answer is not JSON")?;
    let list = doc
        .get("attestations")
        .and_then(Value::as_array)
        .ok_or("the answer has no \"attestations\" list")?;
    let provenance = list
        .iter()
        .find(|a| {
            a.get("predicateType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("https://slsa.dev/provenance/"))
        })
        .ok_or("no SLSA provenance among the attestations")?;
    let envelope = provenance
        .pointer("/bundle/dsseEnvelope")
        .ok_or("the provenance bundle has no DSSE envelope")?;
    if envelope.get("payloadType").and_then(Value::as_str)
        != Some(crate::provenance::statement::PAYLOAD_TYPE)
    {
        return Err("the DSSE envelope does not hold an in-toto statement".into());
    }
    let payload = envelope
        .get("payload")
        .and_then(Value::as_str)
        .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok())
        .ok_or("the DSSE payload is not base64")?;
    let statement: Value =
        serde_json::from_slice(&payload).map_err(|_| "the statement is not JSON")?;
    let purl = crate::provenance::statement::purl(name, version);
    let names_it = statement
        .get("subject")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|x| x.get("name").and_then(Value::as_str) == Some(purl.as_str()))
        });
    if !names_it {
        return Err(format!("the statement's subject is not {purl}"));
    }
    from_statement(&statement)
}

#[cfg(test)]
mod tests;
