//! `trustpub trust`: the trusted-publisher configuration of packages, as
//! code. npm keeps it per package on the registry (npmjs.com's "Trusted
//! publisher" settings, or `npm trust <provider>`); this module reads it,
//! works out what the repository's release workflow needs, and makes the
//! registry hold that, for every package of a workspace at once.
//!
//! * [`Publisher`] and [`Permissions`]: one configuration, in the terms of
//!   npm 11.19.1's `lib/commands/trust/{github,gitlab,circleci}.js`; `api.rs`
//!   holds the registry requests (`GET`/`POST /-/package/<name>/trust`,
//!   `DELETE …/trust/<id>`) and the bodies, byte for byte as npm sends them.
//! * `wanted.rs`: what a package needs, from the jobs `doctor` finds in the CI
//!   files (`crate::workflows`) and the command line's `--provider`,
//!   `--repository`, `--file`, `--environment`, … (which win).
//! * `sync.rs`: the plan (create, replace, revoke, unchanged, cannot) and its
//!   application: everything is read before anything changes, changes are
//!   paced, a two-factor challenge is answered (a new code at a terminal) or
//!   ends the run with what is done and what is left; a re-run reads the
//!   registry again and does only what is left.
//!
//! The registry holds one configuration per package (npm's documentation:
//! "you cannot replace a config without revoking it first"), so a change is
//! a revoke followed by a create, as `npm trust revoke` and `npm trust
//! github` would make it.

pub mod api;
pub mod sync;
pub mod wanted;

use std::fmt;

use serde::Serialize;

/// npm's permission names.
pub const CREATE_PACKAGE: &str = "createPackage";
pub const CREATE_STAGED_PACKAGE: &str = "createStagedPackage";

/// One trusted publisher: the claims the registry matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publisher {
    GitHub {
        /// `owner/repo`, compared exactly (npm matches case).
        repository: String,
        /// The workflow file name (`release.yml`).
        file: String,
        environment: Option<String>,
    },
    GitLab {
        /// `group/project` or `group/subgroup/project`.
        project: String,
        /// The top-level CI file (`.gitlab-ci.yml`).
        file: String,
        environment: Option<String>,
    },
    CircleCi {
        org_id: String,
        project_id: String,
        pipeline_definition_id: String,
        /// `github.com/owner/repo`.
        vcs_origin: String,
        context_ids: Vec<String>,
    },
}

impl Publisher {
    /// npm's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Publisher::GitHub { .. } => "github",
            Publisher::GitLab { .. } => "gitlab",
            Publisher::CircleCi { .. } => "circleci",
        }
    }

    /// The fields as `npm trust list` names them (`bodyToOptions`), in its
    /// order, without `id` and `type`.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match self {
            Publisher::GitHub {
                repository,
                file,
                environment,
            } => {
                out.push(("file", file.clone()));
                out.push(("repository", repository.clone()));
                if let Some(e) = environment {
                    out.push(("environment", e.clone()));
                }
            }
            Publisher::GitLab {
                project,
                file,
                environment,
            } => {
                out.push(("file", file.clone()));
                out.push(("project", project.clone()));
                if let Some(e) = environment {
                    out.push(("environment", e.clone()));
                }
            }
            Publisher::CircleCi {
                org_id,
                project_id,
                pipeline_definition_id,
                vcs_origin,
                context_ids,
            } => {
                out.push(("orgId", org_id.clone()));
                out.push(("projectId", project_id.clone()));
                out.push(("pipelineDefinitionId", pipeline_definition_id.clone()));
                out.push(("vcsOrigin", vcs_origin.clone()));
                if !context_ids.is_empty() {
                    out.push(("contextIds", context_ids.join(", ")));
                }
            }
        }
        out
    }

    /// The repository (GitHub) or project (GitLab).
    pub fn repository(&self) -> Option<&str> {
        match self {
            Publisher::GitHub { repository, .. } => Some(repository),
            Publisher::GitLab { project, .. } => Some(project),
            Publisher::CircleCi { .. } => None,
        }
    }

    /// The same publisher naming `repository` instead.
    pub fn with_repository(&self, repository: &str) -> Publisher {
        let mut p = self.clone();
        match &mut p {
            Publisher::GitHub { repository: r, .. } | Publisher::GitLab { project: r, .. } => {
                *r = repository.to_string()
            }
            Publisher::CircleCi { .. } => {}
        }
        p
    }

    /// Whether the registry would match the same runs: exact equality,
    /// except that CircleCI's UUIDs are compared without case and its
    /// context IDs as a set.
    pub fn same(&self, other: &Publisher) -> bool {
        match (self, other) {
            (
                Publisher::CircleCi {
                    org_id: a1,
                    project_id: a2,
                    pipeline_definition_id: a3,
                    vcs_origin: a4,
                    context_ids: a5,
                },
                Publisher::CircleCi {
                    org_id: b1,
                    project_id: b2,
                    pipeline_definition_id: b3,
                    vcs_origin: b4,
                    context_ids: b5,
                },
            ) => {
                let set = |v: &[String]| {
                    let mut v: Vec<String> = v.iter().map(|s| s.to_ascii_lowercase()).collect();
                    v.sort();
                    v.dedup();
                    v
                };
                a1.eq_ignore_ascii_case(b1)
                    && a2.eq_ignore_ascii_case(b2)
                    && a3.eq_ignore_ascii_case(b3)
                    && a4 == b4
                    && set(a5) == set(b5)
            }
            _ => self == other,
        }
    }

    /// The same publisher but for the case of the repository (GitHub) or
    /// project (GitLab): what a clone URL cannot settle.
    pub fn differs_only_in_repository_case(&self, other: &Publisher) -> bool {
        match (self, other) {
            (
                Publisher::GitHub {
                    repository: a,
                    file: f1,
                    environment: e1,
                },
                Publisher::GitHub {
                    repository: b,
                    file: f2,
                    environment: e2,
                },
            )
            | (
                Publisher::GitLab {
                    project: a,
                    file: f1,
                    environment: e1,
                },
                Publisher::GitLab {
                    project: b,
                    file: f2,
                    environment: e2,
                },
            ) => a != b && a.eq_ignore_ascii_case(b) && f1 == f2 && e1 == e2,
            _ => false,
        }
    }

    /// What differs from `other` (`environment: (none) → npm`), field by
    /// field; empty when they are the same configuration.
    pub fn differences(&self, other: &Publisher) -> Vec<String> {
        if self.same(other) {
            return Vec::new();
        }
        if self.kind() != other.kind() {
            return vec![format!("provider: {} → {}", self.kind(), other.kind())];
        }
        let (mine, theirs) = (self.fields(), other.fields());
        let keys: Vec<&str> =
            mine.iter()
                .chain(&theirs)
                .map(|(k, _)| *k)
                .fold(Vec::new(), |mut v, k| {
                    if !v.contains(&k) {
                        v.push(k);
                    }
                    v
                });
        let get = |f: &[(&str, String)], k: &str| {
            f.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "(none)".into())
        };
        let mut out = Vec::new();
        for k in keys {
            let (a, b) = (get(&mine, k), get(&theirs, k));
            if a == b {
                continue;
            }
            let case = if a.eq_ignore_ascii_case(&b) {
                " (only the case differs; the registry compares exactly)"
            } else {
                ""
            };
            out.push(format!("{k}: {a} → {b}{case}"));
        }
        out
    }
}

impl fmt::Display for Publisher {
    /// `github acme/widgets, release.yml, environment npm`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Publisher::GitHub {
                repository,
                file,
                environment,
            }
            | Publisher::GitLab {
                project: repository,
                file,
                environment,
            } => {
                write!(f, "{} {repository}, {file}", self.kind())?;
                match environment {
                    Some(e) => write!(f, ", environment {e}"),
                    None => f.write_str(", no environment"),
                }
            }
            Publisher::CircleCi {
                org_id,
                project_id,
                pipeline_definition_id,
                vcs_origin,
                context_ids,
            } => {
                write!(
                    f,
                    "circleci {vcs_origin}, org {org_id}, project {project_id}, pipeline definition {pipeline_definition_id}"
                )?;
                if !context_ids.is_empty() {
                    write!(f, ", contexts {}", context_ids.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// What a configuration allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Permissions {
    /// `createPackage`: `npm publish`.
    pub publish: bool,
    /// `createStagedPackage`: `npm stage publish`.
    pub stage: bool,
}

impl Permissions {
    /// npm's list, in npm's order.
    pub fn names(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.publish {
            v.push(CREATE_PACKAGE);
        }
        if self.stage {
            v.push(CREATE_STAGED_PACKAGE);
        }
        v
    }

    /// From the registry's list; names npm does not know are returned apart.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> (Permissions, Vec<String>) {
        let mut p = Permissions::default();
        let mut other = Vec::new();
        for n in names {
            match n {
                CREATE_PACKAGE => p.publish = true,
                CREATE_STAGED_PACKAGE => p.stage = true,
                o => other.push(o.to_string()),
            }
        }
        (p, other)
    }

    pub fn is_empty(self) -> bool {
        !self.publish && !self.stage
    }
}

impl fmt::Display for Permissions {
    /// npm's labels: `publish`, `stage publish`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v: Vec<&str> = [(self.publish, "publish"), (self.stage, "stage publish")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, l)| *l)
            .collect();
        if v.is_empty() {
            f.write_str("nothing")
        } else {
            f.write_str(&v.join(", "))
        }
    }
}

/// A configuration to create: the publisher and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub publisher: Publisher,
    pub permissions: Permissions,
}

impl fmt::Display for Wanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; may {}", self.publisher, self.permissions)
    }
}

/// A configuration the registry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: String,
    /// The registry's `type`.
    pub kind: String,
    /// `None` for a type or claims npm 11.19.1 does not know.
    pub publisher: Option<Publisher>,
    /// `None` when the registry's answer has no `permissions` (then they
    /// are not a reason to replace the configuration).
    pub permissions: Option<Permissions>,
    /// Permission names npm does not know, kept as the registry wrote them.
    pub other_permissions: Vec<String>,
    /// Claims the registry holds that npm does not show. They are shown,
    /// and not a reason to replace (the registry may add claims of its
    /// own); a replace made for another reason drops them.
    pub other_claims: Vec<String>,
}

impl Existing {
    /// Whether this is `w`: the same publisher, and the same permissions
    /// (when the registry says them).
    pub fn matches(&self, w: &Wanted) -> bool {
        self.publisher
            .as_ref()
            .is_some_and(|p| p.same(&w.publisher))
            && self.permissions.is_none_or(|p| p == w.permissions)
            && self.other_permissions.is_empty()
    }

    /// What would change to make it `w`.
    pub fn differences(&self, w: &Wanted) -> Vec<String> {
        let mut out = match &self.publisher {
            Some(p) => p.differences(&w.publisher),
            None => vec![format!(
                "provider: {} (not one npm knows) → {}",
                self.kind,
                w.publisher.kind()
            )],
        };
        let permissions_differ = self.permissions.is_some_and(|p| p != w.permissions);
        if permissions_differ || !self.other_permissions.is_empty() {
            let mut now = self
                .permissions
                .map_or_else(|| "(not said)".to_string(), |p| p.to_string());
            if !self.other_permissions.is_empty() {
                now = format!("{now} + {}", self.other_permissions.join(", "));
            }
            out.push(format!("permissions: {now} → {}", w.permissions));
        }
        if !out.is_empty() && !self.other_claims.is_empty() {
            out.push(format!(
                "claims npm does not show, dropped: {}",
                self.other_claims.join(", ")
            ));
        }
        out
    }
}

impl fmt::Display for Existing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.publisher {
            Some(p) => match self.permissions {
                Some(perm) => write!(f, "{p}; may {perm}")?,
                None => write!(f, "{p}; permissions not said by the registry")?,
            },
            None => write!(f, "{} (a provider npm 11.19.1 does not know)", self.kind)?,
        }
        if !self.other_permissions.is_empty() {
            write!(f, " + {}", self.other_permissions.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gh(repo: &str, env: Option<&str>) -> Publisher {
        Publisher::GitHub {
            repository: repo.into(),
            file: "release.yml".into(),
            environment: env.map(str::to_string),
        }
    }

    #[test]
    fn differences_name_each_field_and_a_case_only_change() {
        assert!(gh("acme/w", None)
            .differences(&gh("acme/w", None))
            .is_empty());
        assert_eq!(
            gh("acme/w", None).differences(&gh("Acme/w", Some("npm"))),
            vec![
                "repository: acme/w → Acme/w (only the case differs; the registry compares exactly)",
                "environment: (none) → npm"
            ]
        );
        let gl = Publisher::GitLab {
            project: "g/p".into(),
            file: ".gitlab-ci.yml".into(),
            environment: None,
        };
        assert_eq!(
            gh("a/b", None).differences(&gl),
            vec!["provider: github → gitlab"]
        );
    }

    #[test]
    fn circleci_uuids_compare_without_case_and_contexts_as_a_set() {
        let c = |ids: &[&str], org: &str| Publisher::CircleCi {
            org_id: org.into(),
            project_id: "p".into(),
            pipeline_definition_id: "d".into(),
            vcs_origin: "github.com/a/b".into(),
            context_ids: ids.iter().map(|s| s.to_string()).collect(),
        };
        assert!(c(&["B", "a"], "ABC").same(&c(&["A", "b"], "abc")));
        assert!(c(&["B", "a"], "ABC")
            .differences(&c(&["A", "b"], "abc"))
            .is_empty());
        assert!(!c(&["a"], "abc").same(&c(&["a", "b"], "abc")));
        assert!(gh("Acme/W", None).differs_only_in_repository_case(&gh("acme/w", None)));
        assert!(!gh("Acme/W", None).differs_only_in_repository_case(&gh("acme/w", Some("x"))));
        assert!(!gh("acme/w", None).differs_only_in_repository_case(&gh("acme/w", None)));
    }

    #[test]
    fn permissions_round_trip_npm_names_and_keep_unknown_ones() {
        let (p, other) = Permissions::from_names(["createStagedPackage", "deletePackage"]);
        assert_eq!(
            p,
            Permissions {
                publish: false,
                stage: true
            }
        );
        assert_eq!(other, vec!["deletePackage"]);
        let both = Permissions {
            publish: true,
            stage: true,
        };
        assert_eq!(both.names(), vec![CREATE_PACKAGE, CREATE_STAGED_PACKAGE]);
        assert_eq!(both.to_string(), "publish, stage publish");
    }

    #[test]
    fn an_existing_config_matches_on_what_npm_configures() {
        let w = Wanted {
            publisher: gh("acme/w", Some("npm")),
            permissions: Permissions {
                publish: true,
                stage: false,
            },
        };
        let mut e = Existing {
            id: "1".into(),
            kind: "github".into(),
            publisher: Some(w.publisher.clone()),
            permissions: Some(w.permissions),
            other_permissions: vec![],
            other_claims: vec![],
        };
        assert!(e.matches(&w) && e.differences(&w).is_empty());
        e.other_claims.push("ref".into());
        assert!(
            e.matches(&w),
            "claims the registry adds are no reason to replace"
        );
        assert!(e.differences(&w).is_empty());
        e.permissions = Some(Permissions {
            publish: true,
            stage: true,
        });
        assert!(!e.matches(&w));
        assert_eq!(
            e.differences(&w),
            vec![
                "permissions: publish, stage publish → publish",
                "claims npm does not show, dropped: ref"
            ]
        );
        e.permissions = None;
        assert!(
            e.matches(&w),
            "permissions the registry does not say are no reason either"
        );
    }
}
