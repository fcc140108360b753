//! The repository as the analysis sees it: the root, the package being
//! checked, the files read so far, package.json files (cached), the
//! `origin` remote, and which publish targets mean "this package".

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use serde_json::Value;
use yaml_rust2::Yaml;

use super::shell::Target;
use super::{Finding, Severity};

/// The most bytes of CI files (and the package.json, action and git files
/// they lead to) one `doctor` run reads: GitLab includes and local actions
/// can name the same big file many times.
pub(crate) const MAX_CI_BYTES: u64 = 16 << 20;

/// A git host and the path of the project on it (`github.com`, `owner/repo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Remote {
    pub host: String,
    pub path: String,
}

impl Remote {
    /// `owner/repo` → (`owner`, `repo`); `group/sub/project` → (`group/sub`, `project`).
    pub fn split(&self) -> (String, String) {
        match self.path.rsplit_once('/') {
            Some((ns, p)) => (ns.to_string(), p.to_string()),
            None => (String::new(), self.path.clone()),
        }
    }
}

pub(crate) struct Repo {
    root: PathBuf,
    /// The package directory relative to the root ("" for the root).
    package_rel: PathBuf,
    registry_host: String,
    files_read: RefCell<Vec<PathBuf>>,
    ci_files: RefCell<usize>,
    /// Bytes of CI files read so far (see [`MAX_CI_BYTES`]).
    ci_bytes: RefCell<u64>,
    package_jsons: RefCell<BTreeMap<PathBuf, Option<Rc<Value>>>>,
    package_error: Option<String>,
    remote: Option<Remote>,
    /// A publish was attributed to this package because it uploads a
    /// directory inside it that has no package.json yet (`dist`, made at
    /// build time with its own package.json).
    generated_copy: std::cell::Cell<bool>,
}

impl Repo {
    pub fn open(root: &Path, package_dir: &Path, registry_host: &str) -> Repo {
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let (croot, cpkg) = (canon(root), canon(package_dir));
        let package_rel = cpkg
            .strip_prefix(&croot)
            .map(Path::to_path_buf)
            .or_else(|_| package_dir.strip_prefix(root).map(Path::to_path_buf))
            .unwrap_or_default();
        let mut repo = Repo {
            root: root.to_path_buf(),
            package_rel: normalize(&package_rel).unwrap_or_default(),
            registry_host: registry_host.to_string(),
            files_read: RefCell::new(Vec::new()),
            ci_files: RefCell::new(0),
            ci_bytes: RefCell::new(0),
            package_jsons: RefCell::new(BTreeMap::new()),
            package_error: None,
            remote: None,
            generated_copy: std::cell::Cell::new(false),
        };
        let rel = repo.package_rel.clone();
        if repo.package_json(&rel).is_none() {
            let path = rel.join("package.json");
            repo.package_error = Some(match std::fs::metadata(repo.root.join(&path)) {
                Ok(_) => format!(
                    "{} is not a valid JSON object",
                    crate::workflows::shown(&path)
                ),
                Err(_) => format!("there is no {}", crate::workflows::shown(&path)),
            });
        }
        repo.remote = repo.read_origin();
        repo
    }

    pub fn audience(&self) -> String {
        format!("npm:{}", self.registry_host)
    }

    pub fn registry_host(&self) -> &str {
        &self.registry_host
    }

    pub fn root_display(&self) -> String {
        self.root.display().to_string()
    }

    pub fn files_read(&self) -> Vec<PathBuf> {
        self.files_read.borrow().clone()
    }

    pub fn ci_files_read(&self) -> usize {
        *self.ci_files.borrow()
    }

    fn note(&self, rel: &Path) {
        let mut f = self.files_read.borrow_mut();
        if !f.iter().any(|p| p == rel) {
            f.push(rel.to_path_buf());
        }
    }

    /// The files of a directory (relative paths), sorted; empty when absent.
    pub fn list_dir(&self, rel: &Path) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = match std::fs::read_dir(self.root.join(rel)) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| rel.join(e.file_name()))
                .collect(),
            Err(_) => Vec::new(),
        };
        out.sort();
        out
    }

    /// Reads a text file; `None` when it does not exist or is not UTF-8,
    /// or when the files read so far hold [`MAX_CI_BYTES`] already (a step
    /// can name the same big composite action again and again).
    pub fn read_text(&self, rel: &Path) -> Option<String> {
        let left = MAX_CI_BYTES.saturating_sub(*self.ci_bytes.borrow());
        let most = crate::limits::WORKFLOW_FILE_MAX.min(left);
        let text = crate::limits::read_text(&self.root.join(rel), most).ok()?;
        *self.ci_bytes.borrow_mut() += text.len() as u64;
        self.note(rel);
        Some(text)
    }

    /// [`Self::load_ci_file`] for a file that must be a mapping: `None` when
    /// it is absent, empty or not a mapping; an unreadable or invalid file
    /// is added to `problems`.
    pub fn load_ci_mapping(&self, rel: &Path, problems: &mut Vec<Finding>) -> Option<Yaml> {
        match self.load_ci_file(rel) {
            Ok(Some(d)) if d.as_hash().is_some() => Some(d),
            Ok(_) => None,
            Err(f) => {
                problems.push(f);
                None
            }
        }
    }

    /// Reads and parses a CI file. `Ok(None)`: absent or empty. An
    /// unreadable or invalid file is a finding naming the file and the line.
    pub fn load_ci_file(&self, rel: &Path) -> Result<Option<Yaml>, Finding> {
        let path = self.root.join(rel);
        if !path.is_file() {
            return Ok(None);
        }
        *self.ci_files.borrow_mut() += 1;
        // All the CI files of a run together stay within MAX_CI_BYTES.
        let left = MAX_CI_BYTES.saturating_sub(*self.ci_bytes.borrow());
        let over_budget = || {
            Finding::error(
                "yaml-too-large",
                format!(
                    "{} is not checked: the CI files read so far (with their includes) hold more than {}, more than trustpub reads",
                    crate::workflows::shown(rel),
                    crate::limits::human(MAX_CI_BYTES)
                ),
            )
            .with_fix("include fewer or smaller files")
        };
        let by_budget = left < crate::limits::WORKFLOW_FILE_MAX;
        let most = if by_budget {
            left
        } else {
            crate::limits::WORKFLOW_FILE_MAX
        };
        let text = match crate::limits::read_text(&path, most) {
            Ok(t) => t,
            Err(e) if by_budget && e.kind() == std::io::ErrorKind::FileTooLarge => {
                self.note(rel);
                return Err(over_budget());
            }
            Err(e) => {
                self.note(rel);
                return Err(Finding::error(
                    "unreadable-file",
                    format!("cannot read {}: {e}", crate::workflows::shown(rel)),
                ));
            }
        };
        self.note(rel);
        *self.ci_bytes.borrow_mut() += text.len() as u64;
        super::yaml::parse(&text).map_err(|(line, what)| {
            if super::yaml::is_limit(&what) {
                return Finding::error(
                    "yaml-too-large",
                    format!("{} cannot be checked (line {line}: {what})", crate::workflows::shown(rel)),
                )
                .with_fix(format!(
                    "write the repeated parts of {} without nested aliases, or split it into smaller files",
                    crate::workflows::shown(rel)
                ));
            }
            Finding::error(
                "invalid-yaml",
                format!(
                    "{} is not valid YAML (line {line}: {what}); the CI will not run it",
                    crate::workflows::shown(rel)
                ),
            )
            .with_fix(format!(
                "fix the YAML at line {line} of {} (a YAML linter shows the exact spot)",
                crate::workflows::shown(rel)
            ))
        })
    }

    /// package.json of a directory relative to the root, parsed once.
    pub fn package_json(&self, dir: &Path) -> Option<Rc<Value>> {
        if let Some(v) = self.package_jsons.borrow().get(dir) {
            return v.clone();
        }
        let rel = dir.join("package.json");
        let v = self
            .read_text(&rel)
            .and_then(|t| serde_json::from_str::<Value>(t.trim_start_matches('\u{feff}')).ok())
            .filter(Value::is_object)
            .map(Rc::new);
        self.package_jsons
            .borrow_mut()
            .insert(dir.to_path_buf(), v.clone());
        v
    }

    /// `scripts.<name>` of the package.json in `dir`.
    pub fn script(&self, dir: &Path, name: &str) -> Option<String> {
        let pj = self.package_json(dir)?;
        pj.get("scripts")?.get(name)?.as_str().map(str::to_string)
    }

    fn package_field(&self, field: &str) -> Option<String> {
        let pj = self.package_json(&self.package_rel.clone())?;
        pj.get(field)?.as_str().map(str::to_string)
    }

    /// A top-level field of the package's package.json.
    pub fn package_field_value(&self, field: &str) -> Option<Value> {
        self.package_json(&self.package_rel)?.get(field).cloned()
    }

    pub fn package_name(&self) -> Option<String> {
        self.package_field("name")
    }

    /// `"name" (packages/foo)`, for messages.
    pub fn package_description(&self) -> String {
        let dir = if self.package_rel.as_os_str().is_empty() {
            "the repository root".to_string()
        } else {
            crate::workflows::shown(&self.package_rel)
        };
        match self.package_name() {
            Some(n) => format!("{n} ({dir})"),
            None => format!("the package in {dir}"),
        }
    }

    /// `packageManager` of the package, else of the root: (`pnpm`, `10.12.1`).
    pub fn package_manager(&self) -> Option<(String, String)> {
        let from = |dir: &Path| -> Option<(String, String)> {
            let pj = self.package_json(dir)?;
            let pm = pj.get("packageManager")?.as_str()?;
            let (name, version) = pm.split_once('@')?;
            let version = version.split('+').next().unwrap_or(version);
            Some((name.to_string(), version.to_string()))
        };
        from(&self.package_rel.clone()).or_else(|| from(Path::new("")))
    }

    pub fn package_problem(&self) -> Option<Finding> {
        self.package_error.as_ref().map(|e| {
            Finding::warning(
                "package-json",
                format!("{e}, so doctor cannot tell which jobs publish this package"),
            )
        })
    }

    /// Whether a publish command's target is the package being checked.
    /// Unknown targets count (better one job too many than a false "no job").
    pub fn is_this_package(&self, target: &Target) -> bool {
        match target {
            Target::Unknown | Target::All => true,
            Target::Dir(d) => {
                if *d == self.package_rel {
                    return true;
                }
                match self.package_json(d) {
                    // Another directory with its own package.json: the same
                    // package only if it has the same name (a built copy).
                    Some(pj) => {
                        let name = pj.get("name").and_then(Value::as_str);
                        name.is_some() && name.map(str::to_string) == self.package_name()
                    }
                    // No package.json on disk: generated at build time, e.g.
                    // `npm publish dist`; it is this package if it sits inside it.
                    None => {
                        let inside =
                            d.starts_with(&self.package_rel) && !self.is_other_package_dir(d);
                        if inside {
                            self.generated_copy.set(true);
                        }
                        inside
                    }
                }
            }
            Target::Workspaces { cwd, selectors } => selectors
                .iter()
                .any(|s| self.selector_matches(cwd.as_deref(), s)),
        }
    }

    /// Whether `d` lies inside a nested package (not the checked one).
    /// Some publish uploads a directory made at build time inside the
    /// package (see `generated_copy`).
    pub fn publishes_generated_copy(&self) -> bool {
        self.generated_copy.get()
    }

    /// The package directory, relative to the root.
    pub fn package_dir(&self) -> PathBuf {
        self.package_rel.clone()
    }

    /// The package is one of several: it is not at the repository root, or
    /// the root declares workspaces.
    pub fn is_monorepo(&self) -> bool {
        !self.package_rel.as_os_str().is_empty()
            || self
                .package_json(Path::new(""))
                .is_some_and(|pj| pj.get("workspaces").is_some())
            || self.root.join("pnpm-workspace.yaml").is_file()
            || self.root.join("lerna.json").is_file()
    }

    fn is_other_package_dir(&self, d: &Path) -> bool {
        d.ancestors()
            .take_while(|a| *a != self.package_rel)
            .any(|a| a != d && self.root.join(a).join("package.json").is_file())
    }

    /// npm `--workspace` / pnpm `--filter` / yarn `workspace` selectors: a
    /// name, a name glob (`@scope/*`), or a path.
    fn selector_matches(&self, cwd: Option<&Path>, sel: &str) -> bool {
        let sel = sel
            .trim_start_matches('!')
            .trim_start_matches("...")
            .trim_end_matches("...")
            .trim_start_matches('^')
            .trim_start_matches('{')
            .trim_end_matches('}');
        if sel.is_empty() || sel.contains('$') || sel.contains('[') {
            return true;
        }
        if let Some(name) = self.package_name() {
            if wildcard(sel, &name) {
                return true;
            }
        }
        let base = cwd.map(Path::to_path_buf).unwrap_or_default();
        match normalize(&base.join(sel)) {
            Some(p) => wildcard(&p.to_string_lossy(), &self.package_rel.to_string_lossy()),
            None => false,
        }
    }

    fn read_origin(&self) -> Option<Remote> {
        let git = self.root.join(".git");
        let config_rel = if git.is_file() {
            // A worktree or submodule: `gitdir: <path>`.
            let text = self.read_text(Path::new(".git"))?;
            let dir = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
            let dir = if dir.is_absolute() {
                dir
            } else {
                self.root.join(dir)
            };
            let limit = crate::limits::WORKFLOW_FILE_MAX;
            let common = crate::limits::read_text(&dir.join("commondir"), limit)
                .map(|c| dir.join(c.trim()))
                .unwrap_or(dir);
            let text = crate::limits::read_text(&common.join("config"), limit).ok()?;
            return parse_git_config_origin(&text);
        } else {
            PathBuf::from(".git/config")
        };
        let text = self.read_text(&config_rel)?;
        parse_git_config_origin(&text)
    }

    /// The `origin` remote, when it is on `host`.
    pub fn remote_on(&self, host: &str) -> Option<&Remote> {
        self.remote.as_ref().filter(|r| r.host == host)
    }

    pub fn remote(&self) -> Option<&Remote> {
        self.remote.as_ref()
    }

    /// package.json `repository`, parsed: on a host hosted-git-info knows,
    /// as the registry and provenance read it (`crate::document::repository_slug`:
    /// `…/acme/widgets/tree/main/packages/a` is acme/widgets), else as a
    /// git remote.
    pub fn package_repository(&self) -> Option<Remote> {
        let pj = self.package_json(&self.package_rel.clone())?;
        let r = pj.get("repository")?;
        if let Some((host, path)) = crate::document::repository_slug(r) {
            return Some(Remote { host, path });
        }
        let url = match r {
            Value::String(s) => s.as_str(),
            Value::Object(o) => o.get("url")?.as_str()?,
            _ => return None,
        };
        parse_repository(url)
    }

    /// (owner, repository) for GitHub: the `origin` remote on github.com,
    /// else package.json `repository` when it points at GitHub.
    pub fn github_repo(&self) -> (Option<String>, Option<String>) {
        self.repo_on("github.com")
    }

    /// (namespace, project) for GitLab, the same way.
    pub fn gitlab_repo(&self) -> (Option<String>, Option<String>) {
        self.repo_on("gitlab.com")
    }

    /// (owner, repository) on `host`: the `origin` remote there, else
    /// package.json `repository` when it points there.
    fn repo_on(&self, host: &str) -> (Option<String>, Option<String>) {
        let r = self
            .remote_on(host)
            .cloned()
            .or_else(|| self.package_repository().filter(|r| r.host == host));
        match r {
            Some(r) => {
                let (o, p) = r.split();
                (Some(o), Some(p))
            }
            None => (None, None),
        }
    }

    /// package.json `repository` against the `origin` remote: npm rejects
    /// provenance (E422) when `repository.url` is missing or points elsewhere.
    pub fn repository_field_findings(&self) -> Vec<Finding> {
        let pj_path = self.package_rel.join("package.json");
        let Some(remote) = self
            .remote
            .as_ref()
            .filter(|r| r.host == "github.com" || r.host == "gitlab.com")
        else {
            return Vec::new();
        };
        let expected_url = format!("git+https://{}/{}.git", remote.host, remote.path);
        let mut snippet =
            format!("\"repository\": {{\n  \"type\": \"git\",\n  \"url\": \"{expected_url}\"");
        if !self.package_rel.as_os_str().is_empty() {
            snippet.push_str(&format!(
                ",\n  \"directory\": \"{}\"",
                crate::workflows::shown(&self.package_rel)
            ));
        }
        snippet.push_str("\n}");
        match self.package_repository() {
            None if self.package_json(&self.package_rel.clone()).is_some() => vec![Finding::warning(
                "package-repository",
                format!(
                    "{} has no \"repository\" field (or one doctor cannot read). When the \
                     repository is public, npm adds provenance on its own under trusted \
                     publishing, and the registry then rejects the upload (E422) unless \
                     repository.url names https://{}/{}",
                    crate::workflows::shown(&pj_path),
                    remote.host,
                    remote.path
                ),
            )
            .with_fix(format!("add to {}:\n\n{snippet}", crate::workflows::shown(&pj_path)))],
            Some(r) if r.host != remote.host || r.path != remote.path => vec![Finding {
                severity: Severity::Warning,
                code: "package-repository",
                message: format!(
                    "{} says the repository is {}/{}, but the git remote \"origin\" is {}/{}. \
                     Provenance is rejected (E422) when they differ, and npmjs.com compares \
                     owner and repository names exactly, capitals included",
                    crate::workflows::shown(&pj_path),
                    r.host,
                    r.path,
                    remote.host,
                    remote.path
                ),
                fix: Some(format!(
                    "make the \"repository\" field of {} match the repository the CI runs in:\n\n{snippet}",
                    crate::workflows::shown(&pj_path)
                )),
            }],
            _ => Vec::new(),
        }
    }
}

/// `url` of `[remote "origin"]`.
fn parse_git_config_origin(text: &str) -> Option<Remote> {
    let mut in_origin = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_origin = l.replace(' ', "") == "[remote\"origin\"]";
            continue;
        }
        if in_origin {
            if let Some((k, v)) = l.split_once('=') {
                if k.trim() == "url" {
                    return parse_repository(v.trim());
                }
            }
        }
    }
    None
}

/// A git URL, an scp-like address, or an npm repository shorthand.
pub(crate) fn parse_repository(url: &str) -> Option<Remote> {
    let url = url.trim();
    let strip_git = |p: &str| {
        p.trim_end_matches('/')
            .trim_end_matches(".git")
            .trim_matches('/')
            .to_string()
    };
    for (prefix, host) in [
        ("github:", "github.com"),
        ("gitlab:", "gitlab.com"),
        ("bitbucket:", "bitbucket.org"),
    ] {
        if let Some(rest) = url.strip_prefix(prefix) {
            return Some(Remote {
                host: host.into(),
                path: strip_git(rest),
            });
        }
    }
    if let Some((scheme, rest)) = url.split_once("://") {
        let _ = scheme;
        let rest = rest.split(['?', '#']).next().unwrap_or(rest);
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit('@').next()?.split(':').next()?;
        return Some(Remote {
            host: host.to_lowercase(),
            path: strip_git(path),
        });
    }
    // scp-like: git@github.com:owner/repo.git
    if let Some((left, path)) = url.split_once(':') {
        if left.contains('@') || left.contains('.') {
            let host = left.rsplit('@').next()?;
            return Some(Remote {
                host: host.to_lowercase(),
                path: strip_git(path),
            });
        }
    }
    // npm's GitHub shorthand: owner/repo
    let parts: Vec<&str> = url.split('/').collect();
    if parts.len() == 2 && parts.iter().all(|p| !p.is_empty() && !p.contains(' ')) {
        return Some(Remote {
            host: "github.com".into(),
            path: strip_git(url),
        });
    }
    None
}

/// Lexical normalisation of a relative path; `None` when it leaves the root
/// or is absolute.
pub(crate) fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// A selector against a package name or path: pnpm's `@pnpm/matcher`
/// (`*` matches any run of characters, `/` included), after dropping any
/// leading `./`. Generous on purpose for npm's `--workspace` too, which
/// matches names exactly and paths with minimatch: an unknown target counts.
fn wildcard(pattern: &str, s: &str) -> bool {
    crate::glob::pnpm_matches(pattern.trim_start_matches("./"), s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_forms() {
        let r = |u: &str| parse_repository(u).map(|r| format!("{} {}", r.host, r.path));
        assert_eq!(
            r("git@github.com:Owner/repo.git").as_deref(),
            Some("github.com Owner/repo")
        );
        assert_eq!(
            r("git+https://github.com/owner/repo.git").as_deref(),
            Some("github.com owner/repo")
        );
        assert_eq!(
            r("https://oauth2:tok@gitlab.com/group/sub/proj").as_deref(),
            Some("gitlab.com group/sub/proj")
        );
        assert_eq!(r("github:o/r").as_deref(), Some("github.com o/r"));
        assert_eq!(r("o/r").as_deref(), Some("github.com o/r"));
        assert_eq!(r("not a url"), None);
        assert_eq!(
            Remote {
                host: "gitlab.com".into(),
                path: "g/s/p".into()
            }
            .split(),
            ("g/s".to_string(), "p".to_string())
        );
    }

    #[test]
    fn wildcards_and_normalisation() {
        assert!(wildcard("@scope/*", "@scope/a"));
        assert!(!wildcard("@scope/*", "@other/a"));
        assert!(wildcard("packages/*", "packages/a"));
        assert!(wildcard("./packages/a", "packages/a"));
        assert_eq!(
            normalize(Path::new("a/./b/../c")),
            Some(PathBuf::from("a/c"))
        );
        assert_eq!(normalize(Path::new("../x")), None);
    }
}
