//! Why trusted publishing failed, in words a maintainer can act on: the
//! [`Diagnosis`] of a failed id-token request or exchange, the claims worth
//! showing, the trusted-publisher form to fill in, and warnings for the
//! known traps.

use serde_json::Value;

use crate::ci::{self, Provider};
use crate::env::Env;
use crate::oidc::{self, Claims, ExchangeError, IdTokenError, IdTokenSource, PublisherValues};

use super::utc::{is_real_time, now_secs, utc};
use super::{is_npmjs, Inputs, Stage};

/// Why trusted publishing did not work, and what to do.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub provider: Provider,
    pub stage: Stage,
    /// One line: what failed.
    pub summary: String,
    /// Something in this job's own set-up (exit 2), rather than an answer
    /// from a service (exit 1).
    pub config_error: bool,
    pub status: Option<u16>,
    /// The explanation and the fix, line by line (snippets indented).
    pub explanation: Vec<String>,
    pub claims: Option<Claims>,
    pub values: Option<PublisherValues>,
    pub warnings: Vec<String>,
    /// The one-line fix, for the error's hint.
    pub hint: String,
    /// The registry answered the exchange as one that has no such endpoint
    /// (not npmjs.com, a 404/405/501 that says nothing about OIDC): the
    /// claims and the form would be beside the point.
    pub unsupported_registry: bool,
    /// The exchange's 404 came with a 404 for the package itself: it is
    /// not on the registry yet (a first publish cannot use trusted
    /// publishing).
    pub package_missing: bool,
    /// The job's repository is not the one that published the latest
    /// version (renamed, transferred, recreated, another repository): the
    /// explanation says so first.
    pub drift: bool,
}

impl Diagnosis {
    /// Everything after the summary, line by line, as printed.
    pub fn detail_lines(&self, registry: &str, name: &str) -> Vec<String> {
        let mut out = self.explanation.clone();
        if self.unsupported_registry {
            return out;
        }
        if let Some(c) = &self.claims {
            out.push(String::new());
            out.push("The id token's claims (what the registry matches):".into());
            for line in claim_lines(c, self.provider) {
                out.push(format!("  {line}"));
            }
        }
        if let Some(v) = &self.values {
            out.push(String::new());
            out.extend(form_lines(v, registry, name));
        }
        for w in &self.warnings {
            out.push(String::new());
            out.push(format!("warning: {w}"));
        }
        out
    }
}

/// The settings form and the values for it.
pub fn form_lines(values: &PublisherValues, registry: &str, name: &str) -> Vec<String> {
    let (provider, fields) = values.form();
    render_form(provider, &fields, registry, name)
}

/// The settings form's fields and values, with where to find the form.
pub fn render_form(
    provider: &str,
    fields: &[(&'static str, String)],
    registry: &str,
    name: &str,
) -> Vec<String> {
    let place = if is_npmjs(registry) {
        format!(
            "On npmjs.com, open https://www.npmjs.com/package/{name}/access, find \"Trusted Publisher\", choose {provider} and enter exactly (case-sensitive):"
        )
    } else {
        format!(
            "In the registry's trusted-publisher settings for {name}, choose {provider} and enter exactly (case-sensitive):"
        )
    };
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = vec![place];
    for (k, v) in fields.iter() {
        out.push(format!("  {:<width$} {v}", format!("{k}:")));
    }
    out
}

/// The snippet that grants the id token on each provider.
pub(super) fn permission_snippet(provider: Provider, registry: &str, env: &Env) -> Vec<String> {
    let aud = oidc::audience(registry).unwrap_or_else(|| "npm:registry.npmjs.org".into());
    match provider {
        Provider::GitHubActions => vec![
            "    permissions:".into(),
            "      contents: read".into(),
            "      id-token: write".into(),
        ],
        Provider::GitLab => {
            let job = env
                .get("CI_JOB_NAME")
                .filter(|j| !j.is_empty())
                .unwrap_or("publish");
            vec![
                format!("    {job}:"),
                "      id_tokens:".into(),
                "        NPM_ID_TOKEN:".into(),
                format!("          aud: \"{aud}\""),
                "        SIGSTORE_ID_TOKEN:   # for provenance".into(),
                "          aud: sigstore".into(),
            ]
        }
        Provider::CircleCi => vec![
            "    - run:".into(),
            "        name: Get an id token for npm".into(),
            format!(
                "        command: echo \"export NPM_ID_TOKEN=$(circleci run oidc get --claims '{{\\\"aud\\\":\\\"{aud}\\\"}}')\" >> \"$BASH_ENV\""
            ),
        ],
    }
}

/// `owner/repo/.github/workflows/release.yml@refs/heads/main` →
/// `.github/workflows/release.yml`.
pub(super) fn workflow_path(workflow_ref: &str) -> String {
    let path = workflow_ref.split('@').next().unwrap_or_default();
    let mut parts = path.splitn(3, '/');
    let (_, _, rest) = (parts.next(), parts.next(), parts.next());
    rest.unwrap_or(path).to_string()
}

pub(super) fn id_token_diagnosis(
    provider: Provider,
    e: &IdTokenError,
    i: &Inputs<'_>,
) -> Diagnosis {
    let mut explanation = Vec::new();
    let mut warnings = Vec::new();
    // The workflow already grants the permission: the run, not the file,
    // is why there is no token (#12: the advice to add it was wrong there).
    let granted = match e {
        IdTokenError::NoGitHubPermission { .. } => granted_id_token(i.env),
        _ => None,
    };
    let (config_error, hint) = match e {
        IdTokenError::NoGitHubPermission { .. } if granted.is_some() => {
            explanation.push(
                "Adding the permission again will not help: GitHub withholds id tokens from some runs whatever the workflow says.".into(),
            );
            explanation.push(withheld_reason(i.env));
            (
                true,
                "publish from a run that gets an id token: a push, tag or release run of the repository itself (not a pull request from a fork, not a Dependabot run)".into(),
            )
        }
        IdTokenError::NoGitHubPermission { .. } => {
            let place = match (i.env.get("GITHUB_WORKFLOW_REF"), i.env.get("GITHUB_JOB")) {
                (Some(w), Some(j)) if !w.is_empty() && !j.is_empty() => {
                    format!("to job \"{j}\" in {}", workflow_path(w))
                }
                (Some(w), _) if !w.is_empty() => {
                    format!("to the publishing job in {}", workflow_path(w))
                }
                _ => "to the publishing job (or to the whole workflow)".into(),
            };
            explanation.push(format!("Add the id-token permission {place}:"));
            explanation.extend(permission_snippet(provider, i.registry, i.env));
            explanation.push(
                "A job in a reusable workflow gets it only when the calling job grants it too."
                    .into(),
            );
            if let Some(fork) = fork_pull_request(i.env) {
                warnings.push(fork);
            }
            (
                true,
                "grant the publishing job `permissions: id-token: write` (and `contents: read`)"
                    .into(),
            )
        }
        IdTokenError::NoNpmIdToken { provider } => {
            match provider {
                Provider::GitLab => explanation.push(format!(
                    "GitLab makes id tokens only for jobs that ask for them with `id_tokens` (a job keyword; `default:` works too). Add to the publishing job in {}:",
                    i.env.get("CI_CONFIG_PATH").filter(|p| !p.is_empty()).unwrap_or(".gitlab-ci.yml")
                )),
                _ => explanation.push(
                    "CircleCI makes the token with `circleci run oidc get`; put it in NPM_ID_TOKEN before the publish step:".into(),
                ),
            }
            explanation.extend(permission_snippet(*provider, i.registry, i.env));
            (
                true,
                format!(
                    "set NPM_ID_TOKEN to an id token with audience \"{}\"",
                    oidc::audience(i.registry).unwrap_or_default()
                ),
            )
        }
        IdTokenError::BadRequestUrl { .. } => (
            true,
            "run the publish in a GitHub-hosted job with `permissions: id-token: write`".into(),
        ),
        IdTokenError::Unusable { source, .. } => (
            true,
            format!(
                "fix {}: an id token is a single line of at most {} bytes",
                source.describe(),
                crate::oidc::MAX_ID_TOKEN
            ),
        ),
        IdTokenError::Request(r) if r.is_local() => (true, r.hint().unwrap_or_default()),
        IdTokenError::Request(_) | IdTokenError::MissingValue { .. } => {
            explanation.push(
                "GitHub's OIDC token service did not give a token (after retries). This is usually an outage of the service; re-run the job.".into(),
            );
            (
                false,
                "re-run the job; if it keeps failing, check https://www.githubstatus.com".into(),
            )
        }
    };
    Diagnosis {
        provider,
        stage: Stage::IdToken,
        summary: match &granted {
            Some((job, file)) => format!(
                "trusted publishing is not possible: GitHub Actions gave this run no OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL not set), although job \"{job}\" in {file} grants `id-token: write`"
            ),
            None => format!("trusted publishing is not possible: {e}"),
        },
        config_error,
        status: match e {
            IdTokenError::Request(r) => r.status(),
            _ => None,
        },
        explanation,
        claims: None,
        values: None,
        warnings,
        hint,
        unsupported_registry: false,
        package_missing: false,
        drift: false,
    }
}

/// Problems visible in the claims before the registry sees them.
pub(super) fn local_problems(c: &Claims, i: &Inputs<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(want) = oidc::audience(i.registry) {
        let auds = c.audiences();
        if !auds.contains(&want) {
            let got = if auds.is_empty() {
                "no audience".to_string()
            } else {
                format!("audience \"{}\"", auds.join("\", \""))
            };
            out.push(format!(
                "The id token has {got}, but this registry accepts only \"{want}\" (npm: plus the registry's hostname). {}",
                match ci::detect(i.env) {
                    Some(Provider::GitLab) => format!("Set `aud: \"{want}\"` under `id_tokens: NPM_ID_TOKEN:` in the job."),
                    Some(Provider::CircleCi) => format!("Request it with `circleci run oidc get --claims '{{\"aud\":\"{want}\"}}'`."),
                    _ => "NPM_ID_TOKEN is set and overrides GitHub's token request; unset it, or mint it for this audience.".into(),
                }
            ));
        }
    }
    if let Some(exp) = c.expires_at() {
        let now = now_secs();
        if exp <= now {
            out.push(format!(
                "The id token expired at {} ({} ago). Id tokens live minutes: fetch it in the same job, right before publishing.",
                utc(exp),
                ago(now.saturating_sub(exp))
            ));
        }
    }
    out
}

pub(super) fn exchange_diagnosis(
    provider: Provider,
    source: IdTokenSource,
    e: &ExchangeError,
    claims: Option<Claims>,
    suspects: Vec<String>,
    i: &Inputs<'_>,
) -> Diagnosis {
    let (status, message) = match e {
        ExchangeError::Refused {
            status, message, ..
        } => (Some(*status), message.clone()),
        _ => (None, None),
    };
    let mut explanation = Vec::new();
    explanation.push(format!("The id token came from {}.", source.describe()));
    let mut warnings = Vec::new();
    let mut hint = "enter the values above in the package's trusted-publisher settings".to_string();
    let mut config_error = false;
    let mut missing = false;
    let mut packument = None;
    match status {
        Some(401) => {
            explanation.push(
                "401: the registry did not accept the id token itself (its signature, issuer, audience or expiry).".into(),
            );
            hint = "fix the id token (audience, expiry, issuer) as described above".into();
        }
        Some(403) => {
            if i.stage {
                explanation.push(
                    "403: the registry found a trusted publisher that matches this job, but it does not allow a staged publish. Either the trusted publisher allows only direct publishes — edit its allowed actions on the registry — or the package's publishing-access setting forbids publishing this way.".into(),
                );
                hint = "allow staged publishing in the package's trusted-publisher settings, or publish directly (without --stage)".into();
            } else {
                explanation.push(
                    "403: the registry found a trusted publisher that matches this job, but it does not allow this publish. Either the trusted publisher allows only staged publishes (`npm stage publish`, here `trustpub publish --stage`) — edit its allowed actions on the registry — or the package's publishing-access setting forbids publishing this way.".into(),
                );
                hint = "if the trusted publisher allows only staged publishes, run trustpub publish --stage (then approve with npm stage approve <id>); else allow publishing in the package's trusted-publisher settings, or check its publishing access".into();
            }
            if let Anonymous::Found(p) = read_anonymously(i) {
                packument = Some(p);
            }
        }
        Some(404) => {
            explanation.push(
                "404: the registry found no trusted publisher for this package that matches the claims below (or the package does not exist). Every value must match exactly, including upper and lower case.".into(),
            );
            match read_anonymously(i) {
                Anonymous::Missing(w) => {
                    missing = true;
                    warnings.push(w);
                    hint =
                        "publish the first version with a token, then configure the trusted publisher"
                            .into();
                }
                Anonymous::Found(p) => packument = Some(p),
                Anonymous::Unread => {}
            }
        }
        Some(s) if s >= 500 => {
            explanation.push(format!(
                "{s}: the registry failed; this is not about your configuration. Re-run the job."
            ));
            hint = "re-run the job".into();
        }
        _ => {}
    }
    if let ExchangeError::BadRegistry { .. } = e {
        config_error = true;
    }
    let mut drift = false;
    if let (Some(p), Some(c)) = (&packument, &claims) {
        if let Some((lines, fix)) = drift_lines(p, c, provider, i) {
            explanation.extend(lines);
            if let Some(fix) = fix {
                hint = fix;
                drift = true;
            }
        }
    }
    if !suspects.is_empty() {
        explanation.push(String::new());
        explanation.push("Likely cause, visible in the token before the registry saw it:".into());
        for s in &suspects {
            explanation.push(format!("  {s}"));
        }
        if status == Some(401) || status.is_none() {
            hint = "fix the id token as described above".into();
        }
    }
    let speaks_oidc = message.as_deref().is_some_and(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("oidc") || m.contains("trust") || m.contains("token")
    });
    let unsupported_registry =
        !is_npmjs(i.registry) && matches!(status, Some(404 | 405 | 501)) && !speaks_oidc;
    if unsupported_registry {
        explanation = vec![format!(
            "{} answered the token exchange with {} without mentioning OIDC: it probably does not offer npm's trusted publishing (registry.npmjs.org does; GitHub Packages, for one, does not). Publish with a token there, and pass --trusted-publishing never to skip the attempt.",
            i.registry,
            status.unwrap_or_default()
        )];
        hint = "this registry does not seem to support trusted publishing: publish with a token (--trusted-publishing never)".into();
        warnings.clear();
    }
    let values = claims.as_ref().map(Claims::publisher_values);
    if let (Some(c), false) = (&claims, unsupported_registry) {
        warnings.extend(claim_warnings(c, provider, i));
        if let Some(w) = repository_mismatch(c, provider, i.repository) {
            warnings.push(w);
        }
    }
    Diagnosis {
        provider,
        stage: Stage::Exchange,
        summary: format!(
            "trusted publishing failed: the registry refused to exchange the {} id token for a publish token: {e}",
            provider.display_name()
        ),
        config_error,
        status,
        explanation,
        claims,
        values,
        warnings,
        hint,
        unsupported_registry,
        package_missing: missing && !unsupported_registry,
        drift: drift && !unsupported_registry,
    }
}

/// Warnings the claims alone justify.
pub(super) fn claim_warnings(c: &Claims, provider: Provider, i: &Inputs<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let PublisherValues::GitHub {
        called_workflow: Some(callee),
        workflow_file,
        ..
    } = c.publisher_values()
    {
        let callee_file = callee
            .split('@')
            .next()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        out.push(format!(
            "this job runs in a reusable workflow ({callee}) called from {}. npm matches the workflow that started the run: enter \"{workflow_file}\" as the workflow filename, not \"{callee_file}\".",
            c.str("workflow_ref").map(workflow_path).unwrap_or_default()
        ));
    }
    if c.str("runner_environment") == Some("self-hosted") {
        out.push(format!(
            "this job runs on a self-hosted runner (runner_environment: self-hosted). npm accepts trusted publishing only from {}-hosted runners: run the publish job on a hosted runner, or publish with a token (--trusted-publishing never).",
            if provider == Provider::GitLab { "GitLab" } else { "GitHub" }
        ));
    }
    if let Some(iss) = c.str("iss") {
        if let Some(w) = issuer_warning(iss, provider) {
            out.push(w);
        }
    }
    if provider == Provider::GitHubActions {
        if let Some(fork) = fork_pull_request(i.env) {
            out.push(fork);
        }
        if let Some(sub) = c.str("sub").filter(|s| immutable_subject(s)) {
            out.push(format!(
                "this id token uses GitHub's immutable subject format (sub: {sub}), the default for repositories created or renamed on or after 2026-07-15. npm's exchange has been reported to refuse such tokens with \"package not found\" although the trusted publisher matches (npm/cli#9969, open): if every value above is right, that is the likely cause; publish with a token until npm accepts the format."
            ));
        }
    }
    out
}

/// `repo:OWNER@OWNER-ID/REPO@REPO-ID:…`: GitHub's immutable `sub` (the
/// names each followed by their numeric id).
fn immutable_subject(sub: &str) -> bool {
    let Some(rest) = sub.strip_prefix("repo:") else {
        return false;
    };
    let path = rest.split(':').next().unwrap_or_default();
    let with_id = |part: &str| {
        part.rsplit_once('@').is_some_and(|(name, id)| {
            !name.is_empty() && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
        })
    };
    match path.split_once('/') {
        Some((owner, repo)) => with_id(owner) && with_id(repo),
        None => false,
    }
}

/// An issuer npm does not accept, when it is recognisably one.
pub(super) fn issuer_warning(iss: &str, provider: Provider) -> Option<String> {
    let u = url::Url::parse(iss).ok()?;
    if u.scheme() != "https" {
        return None;
    }
    let host = u.host_str()?;
    match provider {
        Provider::GitHubActions => {
            let enterprise_slug = host == "token.actions.githubusercontent.com"
                && !u.path().trim_matches('/').is_empty();
            let ghes = host != "token.actions.githubusercontent.com";
            (enterprise_slug || ghes).then(|| format!(
                "the id token's issuer is {iss}, not https://token.actions.githubusercontent.com. {} npm accepts only GitHub.com's issuer; publish with a token (--trusted-publishing never) from here.",
                if enterprise_slug {
                    "Your enterprise issues tokens under its own issuer URL (include_enterprise_slug)."
                } else {
                    "This looks like GitHub Enterprise Server."
                }
            ))
        }
        Provider::GitLab => (host != "gitlab.com").then(|| format!(
            "the id token's issuer is {iss}, a self-managed GitLab. npm accepts only gitlab.com's issuer; publish with a token (--trusted-publishing never) from here."
        )),
        Provider::CircleCi => None,
    }
}

/// The job and workflow file of this GitHub run when that file grants the
/// job `id-token: write` (read from the checkout in GITHUB_WORKSPACE).
/// `None` when it does not, or when that cannot be told (no checkout, a job
/// of a reusable workflow, which is not in the file that started the run).
fn granted_id_token(env: &Env) -> Option<(String, String)> {
    let root = env.get("GITHUB_WORKSPACE").filter(|w| !w.is_empty())?;
    let file = workflow_path(env.get("GITHUB_WORKFLOW_REF").filter(|w| !w.is_empty())?);
    let job = env.get("GITHUB_JOB").filter(|j| !j.is_empty())?;
    crate::workflows::github_job_grants_id_token(std::path::Path::new(root), &file, job)
        .filter(|granted| *granted)
        .map(|_| (job.to_string(), file))
}

/// Why GitHub may have given no id token to a run whose workflow grants
/// the permission: what the event and the actor show, else the known
/// cases.
fn withheld_reason(env: &Env) -> String {
    let event = env.get("GITHUB_EVENT_NAME").unwrap_or_default();
    let actor = env
        .get("GITHUB_TRIGGERING_ACTOR")
        .filter(|a| !a.is_empty())
        .or_else(|| env.get("GITHUB_ACTOR"))
        .unwrap_or_default();
    if let Some(fork) = fork_pull_request(env) {
        return format!("Why: {fork}");
    }
    if actor == "dependabot[bot]" {
        return format!(
            "Why: this run was started by Dependabot ({event}). GitHub treats Dependabot runs like runs for forks: a read-only GITHUB_TOKEN, no secrets and no id token. Publish from a push, tag or release run instead."
        );
    }
    format!(
        "Why, most likely: GitHub gives no id token to runs for pull requests from forks (pull_request), to runs started by Dependabot, or to a job of a reusable workflow whose calling job does not grant `id-token: write` too. This run is a {event} run{}.",
        if actor.is_empty() {
            String::new()
        } else {
            format!(" started by {actor}")
        }
    )
}

/// A pull request from a fork, read from the event payload.
pub(super) fn fork_pull_request(env: &Env) -> Option<String> {
    let event = env.get("GITHUB_EVENT_NAME")?;
    if !event.starts_with("pull_request") {
        return None;
    }
    let path = env.get("GITHUB_EVENT_PATH").filter(|p| !p.is_empty())?;
    let bytes =
        crate::limits::read_file(std::path::Path::new(path), crate::limits::EVENT_PAYLOAD_MAX)
            .ok()?;
    let payload: Value = serde_json::from_slice(&bytes).ok()?;
    let head = payload
        .pointer("/pull_request/head/repo/full_name")?
        .as_str()?;
    let base = payload
        .pointer("/pull_request/base/repo/full_name")?
        .as_str()?;
    (head != base).then(|| format!(
        "this run is for a pull request from the fork {head} ({event}). Runs for fork pull requests never get id tokens for {base}; publish from a push, tag or release workflow in {base}."
    ))
}

/// The packument as anyone reads it, after a refused exchange.
pub(super) enum Anonymous {
    /// A 404: the package does not exist yet (the words to say so).
    Missing(String),
    Found(Box<crate::registry::Packument>),
    Unread,
}

/// Reads the packument without a credential: a 404 from the exchange may
/// mean the package does not exist yet, and the packument tells where the
/// latest version came from (identity drift).
pub(super) fn read_anonymously(i: &Inputs<'_>) -> Anonymous {
    let url = format!("{}/{}", i.registry.trim_end_matches('/'), i.escaped);
    match i
        .client
        .send_once(&crate::registry::packument_request(&url, None, i.name, None))
    {
        Ok(r) if r.status == 404 => Anonymous::Missing(format!(
            "{} does not exist on {} (GET {url} answered 404). A first publish cannot use trusted publishing: the trusted publisher is set in the package's settings, which exist only after the first version is published. Publish the first version with a token (locally with `npm publish`, or here with NODE_AUTH_TOKEN and --trusted-publishing never), then configure the trusted publisher and remove the token.",
            i.name, i.registry
        )),
        Ok(r) if r.status == 200 => match crate::registry::Packument::parse(&r.body) {
            Some(p) => Anonymous::Found(Box::new(p)),
            None => Anonymous::Unread,
        },
        _ => Anonymous::Unread,
    }
}

/// After a refused exchange: the job's repository against the one that
/// published the latest version, as the first thing to check (the
/// explanation lines and the hint), or a notice line when the latest
/// version's provenance could not be read.
fn drift_lines(
    packument: &crate::registry::Packument,
    claims: &Claims,
    provider: Provider,
    i: &Inputs<'_>,
) -> Option<(Vec<String>, Option<String>)> {
    use super::drift;
    let latest = packument.trust_history().latest?;
    let current = drift::from_claims(claims, provider, i.env)?;
    match drift::published(i.client, i.registry, i.name, &latest) {
        drift::Published::Found { version, identity } => {
            let d = drift::compare(&identity, &current, &version)?;
            let fix = d.fix(i.name, i.registry, i.repository);
            Some((
                vec![
                    String::new(),
                    "First check, the likely cause: the repository changed.".into(),
                    format!("  {}", d.message(i.name)),
                    format!("  To fix: {fix}."),
                ],
                Some(fix),
            ))
        }
        other => Some((
            vec![String::new(), format!("Note: {}.", other.notice(i.name)?)],
            None,
        )),
    }
}

/// package.json's `repository` naming another repository than the claims'.
pub(super) fn repository_mismatch(
    c: &Claims,
    provider: Provider,
    repository: Option<&Value>,
) -> Option<String> {
    // Compared as the registry compares them for provenance.
    let want = crate::provenance::claims_repository_url(c, provider)?;
    let have = crate::provenance::normalized_repository_url(repository?)?;
    if have == want {
        return None;
    }
    let case_only = have.eq_ignore_ascii_case(&want);
    let shown = |u: &str| u.trim_start_matches("https://").to_string();
    Some(format!(
        "package.json's \"repository\" names {}, but this job runs in {}{}. Provenance (and npm's checks of it) compare the two: set \"repository\" to {{\"type\": \"git\", \"url\": \"git+{want}.git\"}}.",
        shown(&have),
        shown(&want),
        if case_only { " (they differ only in upper/lower case)" } else { "" }
    ))
}

/// The claims worth showing, in a fixed order, one `key: value` per line.
pub fn claim_lines(c: &Claims, provider: Provider) -> Vec<String> {
    let keys: &[&str] = match provider {
        Provider::GitHubActions => &[
            "iss",
            "aud",
            "sub",
            "repository",
            "repository_owner",
            "repository_visibility",
            "workflow_ref",
            "job_workflow_ref",
            "environment",
            "ref",
            "event_name",
            "runner_environment",
            "exp",
        ],
        Provider::GitLab => &[
            "iss",
            "aud",
            "sub",
            "project_path",
            "namespace_path",
            "project_visibility",
            "ci_config_ref_uri",
            "environment",
            "ref",
            "pipeline_source",
            "runner_environment",
            "exp",
        ],
        Provider::CircleCi => &[
            "iss",
            "aud",
            "sub",
            "oidc.circleci.com/org-id",
            "oidc.circleci.com/project-id",
            "oidc.circleci.com/pipeline-definition-id",
            "oidc.circleci.com/vcs-origin",
            "oidc.circleci.com/context-ids",
            "exp",
        ],
    };
    let width = keys.iter().map(|k| k.len()).max().unwrap_or(0) + 1;
    keys.iter()
        .filter_map(|k| {
            let v = c.0.get(*k)?;
            let shown = match (*k, v) {
                ("exp", Value::Number(n)) => {
                    let exp = n.as_i64()?;
                    let now = now_secs();
                    if !is_real_time(exp) {
                        utc(exp)
                    } else if exp <= now {
                        format!("{} (expired {} ago)", utc(exp), ago(now - exp))
                    } else {
                        format!("{} (in {})", utc(exp), ago(exp - now))
                    }
                }
                (_, Value::String(s)) => s.clone(),
                (_, other) => other.to_string(),
            };
            Some(format!("{:<width$} {shown}", format!("{k}:")))
        })
        .collect()
}

/// `45 s`, `12 min`, `3 h`, `2 days`.
pub(super) fn ago(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn immutable_subjects_are_recognised() {
        use super::immutable_subject;
        assert!(immutable_subject(
            "repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main"
        ));
        assert!(immutable_subject("repo:a@1/b@2:environment:npm"));
        assert!(!immutable_subject(
            "repo:octo-org/octo-repo:ref:refs/heads/main"
        ));
        assert!(!immutable_subject(
            "repo:octo-org@x/octo-repo@456789:ref:refs/heads/main"
        ));
        assert!(!immutable_subject(
            "project_path:g/p:ref_type:branch:ref:main"
        ));
    }

    use super::*;

    #[test]
    fn absurd_expiries_are_shown_sanely() {
        for exp in [i64::MIN, i64::MIN + 1, -1_000_000_000_000_000, i64::MAX] {
            let c = Claims(
                serde_json::json!({ "exp": exp })
                    .as_object()
                    .unwrap()
                    .clone(),
            );
            let lines = claim_lines(&c, Provider::GitHubActions);
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].contains("not a real date"), "{lines:?}");
        }
    }

    #[test]
    fn workflow_paths_drop_owner_repo_and_ref() {
        assert_eq!(
            workflow_path("o/r/.github/workflows/release.yml@refs/heads/main"),
            ".github/workflows/release.yml"
        );
    }

    #[test]
    fn issuers_npm_rejects_are_named() {
        assert!(issuer_warning(
            "https://token.actions.githubusercontent.com",
            Provider::GitHubActions
        )
        .is_none());
        assert!(issuer_warning(
            "https://token.actions.githubusercontent.com/acme",
            Provider::GitHubActions
        )
        .unwrap()
        .contains("include_enterprise_slug"));
        assert!(issuer_warning(
            "https://ghe.example.com/_services/token",
            Provider::GitHubActions
        )
        .unwrap()
        .contains("Enterprise Server"));
        assert!(issuer_warning("https://gitlab.com", Provider::GitLab).is_none());
        assert!(
            issuer_warning("https://gitlab.example.com", Provider::GitLab)
                .unwrap()
                .contains("self-managed")
        );
        // A loopback test issuer is not judged.
        assert!(issuer_warning("http://127.0.0.1:1234", Provider::GitHubActions).is_none());
    }

    fn claims(v: Value) -> Claims {
        match v {
            Value::Object(m) => Claims(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn repository_mismatches_are_reported_with_case() {
        let c =
            claims(serde_json::json!({"repository": "Octo/widgets", "repository_owner": "Octo"}));
        let same = serde_json::json!("github:Octo/widgets");
        assert_eq!(
            repository_mismatch(&c, Provider::GitHubActions, Some(&same)),
            None
        );
        let case = serde_json::json!({"url": "git+https://github.com/octo/widgets.git"});
        let w = repository_mismatch(&c, Provider::GitHubActions, Some(&case)).unwrap();
        assert!(w.contains("differ only in upper/lower case"), "{w}");
        let other = serde_json::json!("github:someone/else");
        let w = repository_mismatch(&c, Provider::GitHubActions, Some(&other)).unwrap();
        assert!(
            w.contains("github.com/someone/else") && w.contains("github.com/Octo/widgets"),
            "{w}"
        );
        assert_eq!(repository_mismatch(&c, Provider::GitHubActions, None), None);
    }

    #[test]
    fn fork_pull_requests_are_recognised_from_the_event_payload() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        let payload = |head: &str| {
            serde_json::json!({"pull_request": {
                "head": {"repo": {"full_name": head}},
                "base": {"repo": {"full_name": "acme/widgets"}},
            }})
            .to_string()
        };
        let env = |name: &str| {
            Env::from_pairs([
                ("GITHUB_EVENT_NAME", name),
                ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
            ])
        };
        std::fs::write(&event, payload("someone/widgets")).unwrap();
        let w = fork_pull_request(&env("pull_request")).unwrap();
        assert!(w.contains("from the fork someone/widgets"), "{w}");
        assert!(fork_pull_request(&env("push")).is_none());
        std::fs::write(&event, payload("acme/widgets")).unwrap();
        assert!(fork_pull_request(&env("pull_request")).is_none());
    }
}
