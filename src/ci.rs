//! Which CI we are running in, as npm 11 (ci-info 4) decides it for the
//! user-agent and for trusted publishing: a non-empty `GITHUB_ACTIONS`,
//! `GITLAB_CI` or `CIRCLECI`; `CI=false` turns detection off.

use crate::env::Env;

/// A CI provider trustpub knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GitHubActions,
    GitLab,
    CircleCi,
}

impl Provider {
    /// The name npm puts in its user-agent (`ci/<name>`).
    pub fn user_agent_name(self) -> &'static str {
        match self {
            Provider::GitHubActions => "github-actions",
            Provider::GitLab => "gitlab-ci",
            Provider::CircleCi => "circleci",
        }
    }

    /// How people call it.
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::GitHubActions => "GitHub Actions",
            Provider::GitLab => "GitLab CI",
            Provider::CircleCi => "CircleCI",
        }
    }
}

/// The provider, or `None` outside a known CI (or with `CI=false`).
pub fn detect(env: &Env) -> Option<Provider> {
    if env.get("CI") == Some("false") {
        return None;
    }
    let set = |k: &str| env.get(k).is_some_and(|v| !v.is_empty());
    if set("GITHUB_ACTIONS") {
        Some(Provider::GitHubActions)
    } else if set("GITLAB_CI") {
        Some(Provider::GitLab)
    } else if set("CIRCLECI") {
        Some(Provider::CircleCi)
    } else {
        None
    }
}

/// The operating system as Node names it (`process.platform`).
pub fn node_platform() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        os => os,
    }
}

/// The architecture as Node names it (`process.arch`).
pub fn node_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        "x86" => "ia32",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        arch => arch,
    }
}

/// The user-agent of every request (registry, GitHub's token service, the
/// exchange, Sigstore), in the convention of npm-compatible clients:
/// `trustpub/<version> npm/? node/? <platform> <arch> workspaces/false[
/// ci/<provider>]`. `npm/?` and `node/?` as pnpm and yarn 1 write `npm/?`
/// (trustpub runs neither); `workspaces/false` and ` ci/<name>` as npm 11
/// writes them (one package per publish).
pub fn user_agent(env: &Env) -> String {
    let mut ua = format!(
        "trustpub/{} npm/? node/? {} {} workspaces/false",
        env!("CARGO_PKG_VERSION"),
        node_platform(),
        node_arch()
    );
    if let Some(p) = detect(env) {
        ua.push_str(" ci/");
        ua.push_str(p.user_agent_name());
    }
    ua
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_follows_npm() {
        let e = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        assert_eq!(
            detect(&e(&[("GITHUB_ACTIONS", "true")])),
            Some(Provider::GitHubActions)
        );
        assert_eq!(detect(&e(&[("GITLAB_CI", "true")])), Some(Provider::GitLab));
        assert_eq!(
            detect(&e(&[("CIRCLECI", "true")])),
            Some(Provider::CircleCi)
        );
        assert_eq!(detect(&e(&[("GITHUB_ACTIONS", "")])), None);
        assert_eq!(
            detect(&e(&[("GITHUB_ACTIONS", "true"), ("CI", "false")])),
            None
        );
        assert_eq!(detect(&e(&[])), None);
        assert!(user_agent(&e(&[("GITLAB_CI", "1")])).ends_with(" ci/gitlab-ci"));
        assert!(user_agent(&e(&[])).starts_with("trustpub/"));
        let ua = user_agent(&e(&[("GITHUB_ACTIONS", "true")]));
        let parts: Vec<&str> = ua.split(' ').collect();
        assert_eq!(parts.len(), 7, "{ua}");
        assert_eq!(parts[1..3], ["npm/?", "node/?"]);
        assert_eq!(parts[5..], ["workspaces/false", "ci/github-actions"]);
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(parts[3..5], ["linux", "x64"]);
        }
    }
}
