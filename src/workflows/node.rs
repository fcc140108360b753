//! Node and npm versions: which npm a Node version bundles, and whether
//! that npm tries trusted publishing.
//!
//! npm tries trusted publishing from 11.5.1 on, and npm's docs ask for
//! Node 22.14.0 or newer. Node 22 (and older) bundles npm 10; Node 24.0–24.4
//! bundle npm 11.3/11.4; Node 24.5.0 (2025-07-31) was the first to bundle
//! npm 11.5.1. npm 11 itself does not run on Node older than 20.17.

use std::borrow::Borrow;

use super::repo::Repo;
use super::shell::{self, Event, PublishCmd};
use super::{Finding, Publisher, Severity};

/// A Node version as a setup step or image asks for it. A partial version
/// resolves to the newest matching release (`22` → the newest 22.x).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeSpec {
    Version {
        major: u64,
        minor: Option<u64>,
        patch: Option<u64>,
    },
    /// `latest`, `current`, `node`, `*`, `>=22`: the newest release.
    Newest,
    /// `lts/*`, `lts`: the newest LTS line when the job runs.
    Lts,
    /// An expression, a file doctor could not read, a range it cannot resolve.
    Unknown(String),
}

const LTS_NAMES: &[(&str, u64)] = &[
    ("argon", 4),
    ("boron", 6),
    ("carbon", 8),
    ("dubnium", 10),
    ("erbium", 12),
    ("fermium", 14),
    ("gallium", 16),
    ("hydrogen", 18),
    ("iron", 20),
    ("jod", 22),
    ("krypton", 24),
];

/// Parses `node-version:` values, `.nvmrc` contents and image tags.
pub(crate) fn parse_spec(raw: &str) -> NodeSpec {
    let s = raw.trim().trim_matches(['"', '\'']).trim();
    let lower = s.to_ascii_lowercase();
    if s.contains("${{") || s.contains('$') {
        return NodeSpec::Unknown(s.to_string());
    }
    match lower.as_str() {
        "latest" | "current" | "node" | "*" | "x" => return NodeSpec::Newest,
        "lts" | "lts/*" | "lts/-0" => return NodeSpec::Lts,
        _ => {}
    }
    let codename = lower.strip_prefix("lts/").unwrap_or(&lower);
    if let Some((_, major)) = LTS_NAMES.iter().find(|(n, _)| *n == codename) {
        return NodeSpec::Version {
            major: *major,
            minor: None,
            patch: None,
        };
    }
    if lower.starts_with(">=") || lower.starts_with('>') {
        return NodeSpec::Newest;
    }
    if lower.contains("||") || lower.contains(' ') || lower.starts_with('<') {
        return NodeSpec::Unknown(s.to_string());
    }
    // `^22.14.0` resolves to the newest 22.x; `~22.14` to the newest 22.14.x.
    let (body, caret) = match lower.strip_prefix('^') {
        Some(b) => (b, true),
        None => (lower.trim_start_matches(['~', '=']), false),
    };
    let body = body.trim_start_matches('v');
    let mut parts = body.split('.');
    let num = |p: Option<&str>| -> Result<Option<u64>, ()> {
        match p {
            None | Some("x") | Some("X") | Some("*") => Ok(None),
            Some(p) => p.parse::<u64>().map(Some).map_err(|_| ()),
        }
    };
    let (Ok(Some(major)), Ok(minor), Ok(patch)) =
        (num(parts.next()), num(parts.next()), num(parts.next()))
    else {
        return NodeSpec::Unknown(s.to_string());
    };
    if caret {
        return NodeSpec::Version {
            major,
            minor: None,
            patch: None,
        };
    }
    NodeSpec::Version {
        major,
        minor,
        patch: minor.and(patch),
    }
}

/// The Node version of a container image: `node:20-alpine`,
/// `cimg/node:22.14`, `docker.io/library/node:lts`, `node` (latest).
/// `None` when the image is not a Node image.
pub(crate) fn parse_image(image: &str) -> Option<NodeSpec> {
    let image = image.trim();
    let image = image.split('@').next().unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    let (name, tag) = match last.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (last, None),
    };
    if name != "node" {
        return None;
    }
    let Some(tag) = tag else {
        return Some(NodeSpec::Newest);
    };
    // `20-alpine`, `22.14.0-bookworm-slim`, `lts-alpine`, `alpine`.
    let version = tag.split('-').next().unwrap_or(tag);
    if version.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return Some(parse_spec(version));
    }
    Some(match version {
        "lts" => NodeSpec::Lts,
        "latest" | "current" | "alpine" | "slim" | "bookworm" | "bullseye" | "trixie" => {
            NodeSpec::Newest
        }
        other => match parse_spec(other) {
            NodeSpec::Unknown(_) => NodeSpec::Unknown(tag.to_string()),
            s => s,
        },
    })
}

/// The newest version a spec can resolve to, as (major, minor, patch).
fn upper(spec: &NodeSpec) -> Option<(u64, u64, u64)> {
    match spec {
        NodeSpec::Version {
            major,
            minor,
            patch,
        } => Some((*major, minor.unwrap_or(u64::MAX), patch.unwrap_or(u64::MAX))),
        _ => None,
    }
}

/// The npm a Node version bundles, when it is too old for trusted
/// publishing: `Some("npm 10")`; `None` when it is new enough or unknown.
fn bundled_npm_too_old(spec: &NodeSpec) -> Option<&'static str> {
    let v = upper(spec)?;
    if v >= (24, 5, 0) {
        None
    } else if v.0 == 24 {
        Some("npm 11.3 or 11.4")
    } else if v.0 >= 20 {
        Some("npm 10")
    } else if v.0 >= 18 {
        Some("npm 9 or 10")
    } else {
        Some("npm 8 or older")
    }
}

/// Whether a Node version can run npm 11 and meets npm's documented minimum.
enum NodeForNpm11 {
    Fine,
    /// 20.17 ≤ v < 22.14: npm 11 runs, npm's docs ask for 22.14.
    BelowDocs,
    /// < 20.17: npm 11 does not run.
    TooOld,
    Unknown,
}

fn node_for_npm11(spec: &NodeSpec) -> NodeForNpm11 {
    match upper(spec) {
        None => match spec {
            NodeSpec::Newest | NodeSpec::Lts => NodeForNpm11::Fine,
            _ => NodeForNpm11::Unknown,
        },
        Some(v) if v >= (22, 14, 0) => NodeForNpm11::Fine,
        Some(v) if v >= (20, 17, 0) => NodeForNpm11::BelowDocs,
        Some(_) => NodeForNpm11::TooOld,
    }
}

/// Whether an npm version spec (`latest`, `11`, `^11.5.1`, `10.9.2`) gets
/// npm 11.5.1 or newer. `None`: cannot tell.
pub(crate) fn npm_spec_ok(spec: &str) -> Option<bool> {
    let s = spec.trim().trim_matches(['"', '\'']);
    if matches!(s, "" | "latest" | "next" | "*" | "x") || s.starts_with(">=") {
        return Some(true);
    }
    if s.contains('$') {
        return None;
    }
    let caret = s.starts_with('^');
    let body = s.trim_start_matches(['^', '~', '=', 'v']);
    let mut it = body.split('.');
    let major: u64 = it.next()?.parse().ok()?;
    let minor = it.next().and_then(|m| m.parse::<u64>().ok());
    let patch = it.next().and_then(|p| p.parse::<u64>().ok());
    Some(match (major, minor, patch) {
        (m, _, _) if m >= 12 => true,
        (11, _, _) if caret => true,
        (11, None, _) => true,
        (11, Some(mi), _) if mi > 5 => true,
        (11, Some(5), None) => true,
        (11, Some(5), Some(p)) => p >= 1,
        _ => false,
    })
}

/// What decides the Node version of a job.
#[derive(Debug, Clone)]
pub(crate) enum NodeSource {
    /// Versions the job may run (several with a matrix), each with where it
    /// comes from ("actions/setup-node with node-version: 20").
    Known(Vec<(NodeSpec, String)>),
    /// No setup step: the Node preinstalled on the runner.
    RunnerDefault(String),
    /// Something doctor cannot evaluate.
    Unknown(String),
    /// No setup step doctor can read, but an action from another repository
    /// (`uses: owner/repo@ref`, perhaps a composite action that sets up Node)
    /// runs before the publish: the verdict is "cannot tell".
    Remote(String),
}

/// How a publisher depends on the npm CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NpmUse {
    /// Runs npm's publish; needs npm 11.5.1.
    Direct,
    /// A tool that runs `npm publish` underneath.
    Underneath,
    /// pnpm 10 and older run `npm publish`; pnpm 11 publishes itself.
    Pnpm,
    None,
}

fn npm_use(p: &Publisher) -> NpmUse {
    match p {
        Publisher::Npm => NpmUse::Direct,
        Publisher::Pnpm => NpmUse::Pnpm,
        Publisher::Trustpub | Publisher::Yarn => NpmUse::None,
        Publisher::Other(s) => match s.as_str() {
            // semantic-release brings its own npm (`@semantic-release/npm`
            // depends on npm ^11 from version 13 on): not the runner's.
            "changeset publish"
            | "release-it"
            | "nx release"
            | "JS-DevTools/npm-publish"
            | "changesets/action" => NpmUse::Underneath,
            _ => NpmUse::None,
        },
    }
}

/// The fixes to offer, in the provider's syntax.
pub(crate) struct Fixes {
    /// How to run Node 24 (a setup-node step, an image line).
    pub node: String,
    /// How to add `npm install -g npm@latest` before the publish.
    pub upgrade: String,
}

/// [`npm_findings`] for a job that is a script (CircleCI, GitLab): the
/// events `before` the publish give the last `npm install -g npm@…` and
/// whether a line writes a token; pnpm's version comes from `packageManager`.
pub(crate) fn script_npm_findings<E: Borrow<Event>>(
    where_: &str,
    cmd: &PublishCmd,
    node: &NodeSource,
    before: &[E],
    repo: &Repo,
    fixes: &Fixes,
) -> Vec<Finding> {
    let upgrade = before.iter().rev().find_map(|e| match e.borrow() {
        Event::NpmUpgrade { spec, command } => Some((spec.as_str(), command.as_str())),
        _ => None,
    });
    let pnpm_version = repo
        .package_manager()
        .filter(|(n, _)| n == "pnpm")
        .map(|(_, v)| v);
    npm_findings(
        where_,
        cmd,
        node,
        upgrade,
        pnpm_version.as_deref(),
        fixes,
        !shell::token_writes(before).is_empty(),
    )
}

/// Checks that the npm which will publish tries trusted publishing.
/// `upgrade`: the last `npm install -g npm@…` before the publish, with its spec.
/// `pnpm_version`: from `packageManager` or the pnpm setup step.
pub(crate) fn npm_findings(
    where_: &str,
    cmd: &PublishCmd,
    node: &NodeSource,
    upgrade: Option<(&str, &str)>,
    pnpm_version: Option<&str>,
    fixes: &Fixes,
    has_token: bool,
) -> Vec<Finding> {
    // What an npm without trusted publishing does with the upload.
    let upload = if has_token {
        "so it never tries trusted publishing: the upload goes out with the long-lived token \
         the job provides, not through trusted publishing"
    } else {
        "so the upload goes out without credentials and fails (ENEEDAUTH, or a 404 from the \
         registry)"
    };
    let mut use_ = npm_use(&cmd.publisher);
    // pnpm's version decides: 11 publishes itself, 10 and older run npm.
    let mut pnpm_old = None;
    if let (NpmUse::Pnpm, Some(v)) = (use_, pnpm_version) {
        let major = v
            .trim_start_matches(['^', '~', 'v'])
            .split('.')
            .next()
            .and_then(|m| m.parse::<u64>().ok());
        match major {
            Some(m) if m >= 11 => return Vec::new(),
            Some(_) => {
                pnpm_old = Some(v);
                use_ = NpmUse::Underneath;
            }
            None => {}
        }
    }
    if use_ == NpmUse::None {
        return Vec::new();
    }
    let who = match (use_, pnpm_old) {
        (NpmUse::Direct, _) => format!("{where_} publishes with {}", cmd.describe()),
        (_, Some(v)) => format!(
            "{where_} publishes with {}; pnpm {v} hands the upload to npm (pnpm 11 publishes \
             itself)",
            cmd.describe()
        ),
        (NpmUse::Underneath, None) => format!(
            "{where_} publishes with {}, which runs npm's publish underneath",
            cmd.describe()
        ),
        _ => format!(
            "{where_} publishes with {}; pnpm 10 and older hand the upload to npm (pnpm 11 \
             publishes itself)",
            cmd.describe()
        ),
    };
    let trustpub_alt = format!(
        "or publish with trustpub, which does not depend on npm's version: replace the publish \
         command with `npx --yes trustpub@{} publish` (any npm can start it), or on GitHub \
         Actions use the `trustpub/trustpub` Action",
        env!("CARGO_PKG_VERSION")
    );
    let full_fix = format!(
        "run Node 24 (which comes with npm 11.5.1 or newer):\n\n{}\n\nor upgrade npm before \
         publishing:\n\n{}\n\n{trustpub_alt}",
        fixes.node, fixes.upgrade
    );

    // An explicit npm version wins over what Node bundles.
    let explicit = cmd
        .npm_pinned
        .as_deref()
        .map(|s| (s, cmd.command.as_str()))
        .or(upgrade);
    if let Some((spec, command)) = explicit {
        if npm_spec_ok(spec) == Some(false) {
            return vec![Finding::error(
                "npm-too-old",
                format!(
                    "{who}; `{command}` installs npm {spec}, but npm only tries trusted \
                     publishing from 11.5.1 on, {upload}"
                ),
            )
            .with_fix(format!(
                "install npm 11.5.1 or newer instead:\n\n{}\n\n{trustpub_alt}",
                fixes.upgrade
            ))];
        }
        let NodeSource::Known(specs) = node else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (spec, from) in specs {
            match node_for_npm11(spec) {
                NodeForNpm11::TooOld => out.push(
                    Finding::error(
                        "node-too-old",
                        format!(
                            "{who} after `{command}`, but the job runs Node {} ({from}), and \
                             npm 11 does not run on Node older than 20.17",
                            spec_text(spec)
                        ),
                    )
                    .with_fix(format!("run Node 24:\n\n{}\n\n{trustpub_alt}", fixes.node)),
                ),
                NodeForNpm11::BelowDocs => out.push(
                    Finding::warning(
                        "node-too-old",
                        format!(
                            "{who} after `{command}` on Node {} ({from}); npm 11 runs there, but \
                             npm's documentation asks for Node 22.14.0 or newer for trusted \
                             publishing",
                            spec_text(spec)
                        ),
                    )
                    .with_fix(format!("run Node 24:\n\n{}", fixes.node)),
                ),
                _ => {}
            }
        }
        return out;
    }

    // No upgrade: the npm that comes with Node publishes.
    let severity_when_old = if use_ == NpmUse::Pnpm {
        Severity::Warning
    } else {
        Severity::Error
    };
    let pnpm_note = if use_ == NpmUse::Pnpm {
        " (unless pnpm is 11 or newer; set \"packageManager\": \"pnpm@11…\" in package.json to make that visible)"
    } else {
        ""
    };
    match node {
        NodeSource::Known(specs) => {
            let old: Vec<(&NodeSpec, &String, &str)> = specs
                .iter()
                .filter_map(|(s, from)| bundled_npm_too_old(s).map(|npm| (s, from, npm)))
                .collect();
            if !old.is_empty() {
                let (spec, from, npm) = old[0];
                let all = old.len() == specs.len();
                let sev = if all {
                    severity_when_old
                } else {
                    Severity::Warning
                };
                let some = if all {
                    String::new()
                } else {
                    " in some of its matrix entries".to_string()
                };
                return vec![Finding::new(
                    sev,
                    "npm-too-old",
                    format!(
                        "{who} on Node {}{some} ({from}), which comes with {npm}. npm only tries \
                         trusted publishing from 11.5.1 on, {upload}{pnpm_note}",
                        spec_text(spec)
                    ),
                )
                .with_fix(full_fix)];
            }
            let unknown: Vec<&(NodeSpec, String)> = specs
                .iter()
                .filter(|(s, _)| matches!(s, NodeSpec::Unknown(_) | NodeSpec::Lts))
                .collect();
            match unknown.first() {
                Some((NodeSpec::Lts, from)) => vec![Finding::info(
                    "node-version-unknown",
                    format!(
                        "{who} on the newest Node LTS ({from}); that is resolved when the job \
                         runs (Node 24 today, which comes with npm 11.5.1 or newer). Pinning 24 \
                         avoids surprises"
                    ),
                )],
                Some((NodeSpec::Unknown(raw), from)) => vec![Finding::info(
                    "node-version-unknown",
                    format!(
                        "{who}; doctor cannot tell which Node version `{raw}` ({from}) is. \
                         Trusted publishing needs npm 11.5.1 or newer: Node 24.5 or newer, or \
                         an `npm install -g npm@latest` step{pnpm_note}"
                    ),
                )
                .with_fix(full_fix)],
                _ => Vec::new(),
            }
        }
        NodeSource::RunnerDefault(what) => vec![Finding::warning(
            "node-version-unknown",
            format!(
                "{who}, but nothing sets up Node, so it runs {what}. If that Node is older than \
                 24.5 it comes with an npm older than 11.5.1, which never tries trusted \
                 publishing{pnpm_note}"
            ),
        )
        .with_fix(full_fix)],
        NodeSource::Remote(uses) => vec![Finding::unknown(
            "node-version-unknown",
            format!(
                "{who}; no step doctor can read sets up Node, but `{uses}` runs before it: an \
                 action from another repository, which doctor cannot read and which may set up \
                 Node. Doctor cannot tell which npm publishes; trusted publishing needs npm \
                 11.5.1 or newer (Node 24.5 or newer bundles it){pnpm_note}"
            ),
        )
        .with_fix(full_fix)],
        NodeSource::Unknown(what) => vec![Finding::info(
            "node-version-unknown",
            format!(
                "{who}; doctor cannot tell which Node version {what} has. Trusted publishing \
                 needs npm 11.5.1 or newer (Node 24.5 or newer bundles it){pnpm_note}"
            ),
        )
        .with_fix(full_fix)],
    }
}

fn spec_text(spec: &NodeSpec) -> String {
    match spec {
        NodeSpec::Version {
            major,
            minor,
            patch,
        } => match (minor, patch) {
            (Some(mi), Some(p)) => format!("{major}.{mi}.{p}"),
            (Some(mi), None) => format!("{major}.{mi}"),
            _ => major.to_string(),
        },
        NodeSpec::Newest => "latest".into(),
        NodeSpec::Lts => "LTS".into(),
        NodeSpec::Unknown(s) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u64, minor: Option<u64>, patch: Option<u64>) -> NodeSpec {
        NodeSpec::Version {
            major,
            minor,
            patch,
        }
    }

    #[test]
    fn node_specs() {
        assert_eq!(parse_spec("20"), v(20, None, None));
        assert_eq!(parse_spec("'22.x'"), v(22, None, None));
        assert_eq!(parse_spec("v22.14.0"), v(22, Some(14), Some(0)));
        assert_eq!(parse_spec("^22.14.0"), v(22, None, None));
        assert_eq!(parse_spec("lts/*"), NodeSpec::Lts);
        assert_eq!(parse_spec("lts/iron"), v(20, None, None));
        assert_eq!(parse_spec("latest"), NodeSpec::Newest);
        assert_eq!(parse_spec(">=22"), NodeSpec::Newest);
        assert!(matches!(
            parse_spec("${{ matrix.node }}"),
            NodeSpec::Unknown(_)
        ));
        assert!(matches!(parse_spec("banana"), NodeSpec::Unknown(_)));
    }

    #[test]
    fn images() {
        assert_eq!(parse_image("node:20-alpine"), Some(v(20, None, None)));
        assert_eq!(parse_image("cimg/node:22.14"), Some(v(22, Some(14), None)));
        assert_eq!(
            parse_image("docker.io/library/node:lts-slim"),
            Some(NodeSpec::Lts)
        );
        assert_eq!(parse_image("node"), Some(NodeSpec::Newest));
        assert_eq!(parse_image("node:iron-alpine"), Some(v(20, None, None)));
        assert_eq!(parse_image("ubuntu:24.04"), None);
    }

    #[test]
    fn bundled_npm() {
        assert_eq!(bundled_npm_too_old(&v(22, None, None)), Some("npm 10"));
        assert_eq!(
            bundled_npm_too_old(&v(24, Some(4), None)),
            Some("npm 11.3 or 11.4")
        );
        assert_eq!(bundled_npm_too_old(&v(24, None, None)), None);
        assert_eq!(bundled_npm_too_old(&v(24, Some(5), Some(0))), None);
        assert_eq!(bundled_npm_too_old(&v(25, None, None)), None);
        assert_eq!(bundled_npm_too_old(&NodeSpec::Lts), None);
    }

    #[test]
    fn npm_specs() {
        for ok in [
            "latest", "11", "^11.5.1", "11.5.1", "11.6.0", "12", "^11.0.0",
        ] {
            assert_eq!(npm_spec_ok(ok), Some(true), "{ok}");
        }
        for old in ["10", "11.4.2", "11.5.0", "10.9.2", "~11.4"] {
            assert_eq!(npm_spec_ok(old), Some(false), "{old}");
        }
        assert_eq!(npm_spec_ok("$NPM_VERSION"), None);
    }
}
