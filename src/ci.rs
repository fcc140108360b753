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

/// `trustpub/<version> <os> <arch>[ ci/<provider>]`.
pub fn user_agent(env: &Env) -> String {
    let mut ua = format!(
        "trustpub/{} {} {}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
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
    }
}
