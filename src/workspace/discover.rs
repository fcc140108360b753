//! The workspace around a directory, its package manager, members and
//! catalogs, and `--workspaces`/`--workspace` selection.
//!
//! * npm, yarn and bun: `package.json` `workspaces` (an array, or an object
//!   with a `packages` array), found as npm's `loadLocalPrefix` finds the
//!   workspace root (`crate::config::prefix`), members listed as
//!   `@npmcli/map-workspaces` lists them: the directories the patterns
//!   match (negations, `node_modules` excluded) that hold a package.json,
//!   in pattern order, then in `localeCompare(…, 'en')` order of their
//!   paths; a directory without package.json is skipped, an invalid one is
//!   an error.
//! * pnpm: the nearest `pnpm-workspace.yaml`, its `packages` patterns
//!   (only the root when absent), as `@pnpm/fs.find-packages` globs them:
//!   `<pattern>/package.json`, negations anywhere in the list, nothing
//!   under `node_modules` or `bower_components` (pnpm's workspace reader
//!   passes that ignore list, not find-packages' default, which also
//!   drops `test` and `tests`: checked against pnpm 10); members
//!   in path order. The root is always a project of its own
//!   ([`Workspace::root_package`]). Patterns are matched with minimatch
//!   (pnpm uses fast-glob/tinyglobby, which agree on the patterns
//!   workspaces use: `*`, `**`, braces, negation). Only `package.json`
//!   manifests are read (not pnpm's `package.yaml`/`package.json5`).
//!
//! [`select`] is npm's `lib/utils/get-workspaces.js`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};
use yaml_rust2::Yaml;

use super::error::{clip, WorkspaceError};
use super::{Manager, Member, Workspace};
use crate::config::prefix;
use crate::glob::{Options, Rule};
use crate::workflows::yaml;

/// The most directories one workspace's patterns may make trustpub visit.
const WALK_MAX: usize = 200_000;
/// The deepest directory visited below the root.
const DEPTH_MAX: usize = 64;
/// `pnpm-workspace.yaml` (the size limit of the CI files `doctor` reads).
const PNPM_WORKSPACE_MAX: u64 = crate::limits::WORKFLOW_FILE_MAX;

/// Which members to take (`--workspaces`, `--workspace`,
/// `--include-workspace-root`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--workspaces`: every member (when no filter is given).
    pub all: bool,
    /// `--workspace <name or path>`, in order.
    pub filters: Vec<String>,
    /// `--include-workspace-root`: the root package too, first.
    pub include_root: bool,
}

/// Where the member patterns come from.
enum Source {
    /// `package.json` `workspaces`.
    PackageJson(Vec<String>),
    /// `pnpm-workspace.yaml`.
    Pnpm(Yaml),
}

/// The workspace whose root is `start` or an ancestor of it (see the
/// module docs); `None` when `start` is in no workspace.
pub fn find(start: &Path) -> Result<Option<Workspace>, WorkspaceError> {
    // The path as given first (a member that is a symbolic link to a
    // directory elsewhere belongs to the workspace it is linked into), then
    // the real one.
    let start = &std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
    let logical = crate::manifest::clean_path(start);
    if let Some(ws) = find_from(&logical)? {
        return Ok(Some(ws));
    }
    match fs::canonicalize(start) {
        Ok(real) if real != logical => find_from(&real),
        _ => Ok(None),
    }
}

/// The most workspace patterns trustpub reads (each directory is matched
/// against every pattern: the walk's time grows with both).
const PATTERNS_MAX: usize = 1_000;

/// Patterns trustpub can walk: not too many, none outside the root.
fn check_patterns(path: &Path, field: &str, patterns: &[String]) -> Result<(), WorkspaceError> {
    let field_error = |problem: String| WorkspaceError::Field {
        path: path.to_path_buf(),
        field: field.into(),
        problem,
    };
    if patterns.len() > PATTERNS_MAX {
        return Err(field_error(format!(
            "has {} patterns, more than the {PATTERNS_MAX} trustpub reads",
            patterns.len()
        )));
    }
    for p in patterns {
        let bare = p.trim_start_matches('!');
        let bare = bare.strip_prefix("./").unwrap_or(bare);
        if bare == ".." || bare.starts_with("../") {
            return Err(field_error(format!(
                "names directories outside the workspace root ({p:?}), which trustpub does not read: move those packages inside the root, or publish them on their own"
            )));
        }
    }
    Ok(())
}

fn find_from(start: &Path) -> Result<Option<Workspace>, WorkspaceError> {
    let npm_root = npm_root(start)?;
    let pnpm_root = start
        .ancestors()
        .find(|d| is_file(&d.join("pnpm-workspace.yaml")))
        .map(Path::to_path_buf);
    // The one nearer to `start` wins; in one directory, the manager does.
    let (root, use_yaml) = match (npm_root, pnpm_root) {
        (None, None) => return Ok(None),
        (Some(n), None) => (n, false),
        (None, Some(p)) => (p, true),
        (Some(n), Some(p)) if n != p => {
            if p.starts_with(&n) {
                (p, true)
            } else {
                (n, false)
            }
        }
        (Some(n), Some(_)) => (n, true),
    };
    let pkg_path = root.join("package.json");
    let root_json = read_json(&pkg_path)?;
    let (manager, manager_reason) = detect_manager(&root, root_json.as_ref());
    // Both files in one directory: pnpm reads the YAML, the others
    // package.json.
    let use_yaml = use_yaml
        && !(manager != Manager::Pnpm
            && root_json
                .as_ref()
                .is_some_and(|j| j.contains_key("workspaces")));
    let source = if use_yaml {
        let path = root.join("pnpm-workspace.yaml");
        Source::Pnpm(read_yaml(&path)?)
    } else {
        let json = root_json.as_ref().ok_or_else(|| WorkspaceError::Read {
            path: pkg_path.clone(),
            reason: "it does not exist".into(),
        })?;
        let patterns = workspace_patterns(&pkg_path, json)?.unwrap_or_default();
        check_patterns(&pkg_path, "workspaces", &patterns)?;
        Source::PackageJson(patterns)
    };

    let root_package = root_json
        .as_ref()
        .map(|json| member(&root, &root, json.clone()));
    let (members, catalogs) = match &source {
        Source::PackageJson(patterns) => {
            let members = npm_members(&root, patterns)?;
            let catalogs = bun_catalogs(&pkg_path, root_json.as_ref())?;
            (members, catalogs)
        }
        Source::Pnpm(doc) => {
            let path = root.join("pnpm-workspace.yaml");
            let members = pnpm_members(&root, &path, doc)?;
            let catalogs = pnpm_catalogs(&path, doc)?;
            (members, catalogs)
        }
    };
    Ok(Some(Workspace {
        root,
        manager,
        manager_reason,
        root_package,
        members,
        catalogs,
    }))
}

/// npm's workspace root for `start`: the local prefix, when its
/// package.json has `workspaces`.
fn npm_root(start: &Path) -> Result<Option<PathBuf>, WorkspaceError> {
    let lp = prefix::local_prefix(start, true);
    let path = lp.dir.join("package.json");
    let Some(json) = read_json(&path)? else {
        return Ok(None);
    };
    if !json.contains_key("workspaces") {
        return Ok(None);
    }
    Ok(Some(lp.dir))
}

fn is_file(p: &Path) -> bool {
    fs::metadata(p).map(|m| m.is_file()).unwrap_or(false)
}

fn is_dir(p: &Path) -> bool {
    fs::metadata(p).map(|m| m.is_dir()).unwrap_or(false)
}

/// A package.json as an object; `None` when there is none.
fn read_json(path: &Path) -> Result<Option<Map<String, Value>>, WorkspaceError> {
    let bytes = match crate::limits::read_file(path, crate::limits::MANIFEST_MAX) {
        Ok(b) => b,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None)
        }
        Err(e) => {
            return Err(WorkspaceError::Read {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
    };
    // A byte order mark is allowed, as npm's JSON parsing strips it.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Err(WorkspaceError::Json {
            path: path.to_path_buf(),
            reason: "it is not an object".into(),
        }),
        Err(e) => Err(WorkspaceError::Json {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

fn read_yaml(path: &Path) -> Result<Yaml, WorkspaceError> {
    let text =
        crate::limits::read_text(path, PNPM_WORKSPACE_MAX).map_err(|e| WorkspaceError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    match yaml::parse(&text) {
        Ok(Some(doc)) => Ok(doc),
        // An empty file: no packages field (pnpm then has the root only).
        Ok(None) => Ok(Yaml::Hash(Default::default())),
        Err((line, reason)) => Err(WorkspaceError::Yaml {
            path: path.to_path_buf(),
            line,
            reason,
        }),
    }
}

/// `workspaces`: an array of strings, or an object whose `packages` is one
/// (`None` when absent).
fn workspace_patterns(
    path: &Path,
    json: &Map<String, Value>,
) -> Result<Option<Vec<String>>, WorkspaceError> {
    let Some(ws) = json.get("workspaces") else {
        return Ok(None);
    };
    let (list, field) =
        match ws {
            Value::Array(a) => (a, "workspaces"),
            Value::Object(o) => match o.get("packages") {
                Some(Value::Array(a)) => (a, "workspaces.packages"),
                // npm: "workspaces config expects an Array"; yarn 1 and bun
                // accept an object without packages (nohoist, catalogs only).
                None => return Ok(Some(Vec::new())),
                Some(_) => {
                    return Err(WorkspaceError::Field {
                        path: path.to_path_buf(),
                        field: "workspaces.packages".into(),
                        problem: "must be an array of directory patterns".into(),
                    })
                }
            },
            _ => return Err(WorkspaceError::Field {
                path: path.to_path_buf(),
                field: "workspaces".into(),
                problem:
                    "must be an array of directory patterns, or an object with a \"packages\" array"
                        .into(),
            }),
        };
    list.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| WorkspaceError::Field {
                    path: path.to_path_buf(),
                    field: field.into(),
                    problem: "must hold only strings (directory patterns)".into(),
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The package manager, and why.
fn detect_manager(root: &Path, json: Option<&Map<String, Value>>) -> (Manager, String) {
    let by_name = |name: &str| match name {
        "npm" => Some(Manager::Npm),
        "pnpm" => Some(Manager::Pnpm),
        "yarn" => Some(Manager::Yarn),
        "bun" => Some(Manager::Bun),
        _ => None,
    };
    if let Some(json) = json {
        if let Some(pm) = json.get("packageManager").and_then(Value::as_str) {
            // "pnpm@10.12.1+sha512.…": the name before the version.
            let name = pm.split('@').next().unwrap_or("");
            if let Some(m) = by_name(name) {
                let shown = clip(pm.split('+').next().unwrap_or(pm));
                return (m, format!("packageManager \"{shown}\" in package.json"));
            }
        }
        let dev = json.get("devEngines").and_then(|d| d.get("packageManager"));
        let candidates: Vec<&Value> = match dev {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v) => vec![v],
            None => Vec::new(),
        };
        for c in candidates {
            if let Some(m) = c.get("name").and_then(Value::as_str).and_then(by_name) {
                return (
                    m,
                    format!(
                        "devEngines.packageManager \"{}\" in package.json",
                        m.as_str()
                    ),
                );
            }
        }
    }
    let files = [
        ("pnpm-workspace.yaml", Manager::Pnpm),
        ("pnpm-lock.yaml", Manager::Pnpm),
        ("yarn.lock", Manager::Yarn),
        (".yarnrc.yml", Manager::Yarn),
        ("bun.lock", Manager::Bun),
        ("bun.lockb", Manager::Bun),
    ];
    for (file, m) in files {
        if root.join(file).exists() {
            return (m, format!("{file} in the workspace root"));
        }
    }
    (
        Manager::Npm,
        "no packageManager field, pnpm, yarn or bun file in the workspace root".into(),
    )
}

/// A member from its directory and package.json.
fn member(root: &Path, dir: &Path, manifest: Map<String, Value>) -> Member {
    let rel = rel_of(root, dir);
    let name = manifest
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| name_from_folder(dir));
    Member {
        name,
        version: manifest
            .get("version")
            .and_then(Value::as_str)
            .map(str::to_string),
        dir: dir.to_path_buf(),
        rel,
        private: manifest.get("private").is_some_and(crate::js::truthy),
        manifest,
    }
}

/// `@npmcli/name-from-folder`: the directory's name, with its `@scope/`
/// when the parent directory is one.
fn name_from_folder(dir: &Path) -> String {
    let base = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = dir
        .parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if parent.starts_with('@') {
        format!("{parent}/{base}")
    } else {
        base
    }
}

/// `dir` relative to `root`, `/`-separated; `"."` for the root.
fn rel_of(root: &Path, dir: &Path) -> String {
    let rel: Vec<String> = dir
        .strip_prefix(root)
        .map(|r| {
            r.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    if rel.is_empty() {
        ".".into()
    } else {
        rel.join("/")
    }
}

/// Every directory below `root` (not `root` itself) that `descend` lets
/// the walk reach, as `/`-separated relative paths. Directories named
/// `node_modules` are never entered; a symbolic link to a directory is
/// listed but not entered (as glob's `**` does not follow links).
fn walk(
    root: &Path,
    limit_path: &Path,
    descend: impl Fn(&str) -> bool,
) -> Result<Vec<String>, WorkspaceError> {
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(root.to_path_buf(), String::new(), 0)];
    let mut visited = 0usize;
    while let Some((dir, rel, depth)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            if name == "node_modules" {
                continue;
            }
            let path = entry.path();
            let Ok(ft) = entry.file_type() else {
                continue;
            };
            let link = ft.is_symlink();
            if !(ft.is_dir() || (link && is_dir(&path))) {
                continue;
            }
            let child = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            if !descend(&child) {
                continue;
            }
            visited += 1;
            if visited > WALK_MAX {
                return Err(WorkspaceError::TooLarge {
                    path: limit_path.to_path_buf(),
                    limit: WALK_MAX,
                });
            }
            if !link {
                if depth + 1 >= DEPTH_MAX {
                    // Deeper directories would be skipped without a word.
                    return Err(WorkspaceError::TooDeep {
                        path: limit_path.to_path_buf(),
                        dir: root.join(&child),
                        limit: DEPTH_MAX,
                    });
                }
                stack.push((path, child.clone(), depth + 1));
            }
            out.push(child);
        }
    }
    Ok(out)
}

fn rule(pattern: &str) -> Rule {
    Rule::with_options(pattern, Options::MINIMATCH_DEFAULT)
}

/// npm's members (map-workspaces), the root excluded.
fn npm_members(root: &Path, patterns: &[String]) -> Result<Vec<Member>, WorkspaceError> {
    let (positive, _) = prefix::split_patterns(patterns);
    if positive.is_empty() {
        return Ok(Vec::new());
    }
    // glob(`${pattern}/`): a directory is entered while some pattern can
    // still match below it.
    let globs: Vec<Rule> = positive.iter().map(|p| rule(&format!("{p}/"))).collect();
    let pkg_path = root.join("package.json");
    let dirs = walk(root, &pkg_path, |rel| {
        globs.iter().any(|g| g.matches(rel, true))
    })?;
    let mut matches: Vec<String> = dirs
        .into_iter()
        .filter(|rel| prefix::is_workspace_of(root, &root.join(rel), patterns))
        .collect();
    matches.sort_by(|a, b| crate::collate::compare_en(a, b));
    // "preserve the order of results according to the given list of
    // workspace patterns"
    let mut ordered: Vec<&String> = Vec::new();
    for p in &positive {
        let r = rule(p);
        ordered.extend(matches.iter().filter(|m| r.matches(m, true)));
    }
    let mut seen: Vec<(String, Vec<Member>)> = Vec::new();
    for rel in ordered {
        let dir = root.join(rel);
        let Some(json) = read_json(&dir.join("package.json"))? else {
            continue;
        };
        let m = member(root, &dir, json);
        match seen.iter_mut().find(|(n, _)| *n == m.name) {
            Some((_, list)) => {
                if !list.iter().any(|x| x.dir == m.dir) {
                    list.push(m);
                }
            }
            None => seen.push((m.name.clone(), vec![m])),
        }
    }
    unique(seen)
}

fn unique(seen: Vec<(String, Vec<Member>)>) -> Result<Vec<Member>, WorkspaceError> {
    let mut out = Vec::with_capacity(seen.len());
    for (name, mut list) in seen {
        if list.len() > 1 {
            return Err(WorkspaceError::Duplicate {
                name,
                dirs: list.into_iter().map(|m| m.dir).collect(),
            });
        }
        out.extend(list.pop());
    }
    Ok(out)
}

/// pnpm's members (find-packages), the root excluded.
fn pnpm_members(root: &Path, path: &Path, doc: &Yaml) -> Result<Vec<Member>, WorkspaceError> {
    let patterns: Vec<String> = match yaml::get(doc, "packages") {
        // pnpm 10: `workspaceManifest?.packages ?? ['.']`.
        None | Some(Yaml::Null) => vec![".".into()],
        Some(Yaml::Array(items)) => items
            .iter()
            .map(|y| {
                yaml::scalar(y).ok_or_else(|| WorkspaceError::Field {
                    path: path.to_path_buf(),
                    field: "packages".into(),
                    problem: "must hold only strings (directory patterns)".into(),
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(WorkspaceError::Field {
                path: path.to_path_buf(),
                field: "packages".into(),
                problem: "must be a list of directory patterns".into(),
            })
        }
    };
    check_patterns(path, "packages", &patterns)?;
    // `pattern.replace(/\/?$/, '/package.json')`, a leading `./` dropped.
    let manifest_glob = |p: &str| {
        let p = p.strip_prefix("./").unwrap_or(p).trim_end_matches('/');
        if p == "." || p.is_empty() {
            "package.json".to_string()
        } else {
            format!("{p}/package.json")
        }
    };
    let mut positive = Vec::new();
    let mut negative = Vec::new();
    for p in &patterns {
        match p.strip_prefix('!') {
            Some(n) => negative.push(rule(&manifest_glob(n))),
            None => positive.push(rule(&manifest_glob(p))),
        }
    }
    const IGNORED: [&str; 2] = ["node_modules", "bower_components"];
    let dirs = walk(root, path, |rel| {
        if rel.split('/').any(|s| IGNORED.contains(&s)) {
            return false;
        }
        positive.iter().any(|g| g.matches(rel, true))
    })?;
    let mut found: Vec<String> = dirs
        .into_iter()
        .filter(|rel| {
            let file = format!("{rel}/package.json");
            positive.iter().any(|g| g.matches(&file, false))
                && !negative.iter().any(|g| g.matches(&file, false))
        })
        .collect();
    // lexCompare of the absolute directories.
    found.sort_by_cached_key(|rel| root.join(rel).to_string_lossy().into_owned());
    // pnpm allows two projects of one name (vite's test fixtures have
    // some): all are kept; publishing two of one name is for the caller
    // to refuse.
    let mut out = Vec::new();
    for rel in found {
        let dir = root.join(&rel);
        if let Some(json) = read_json(&dir.join("package.json"))? {
            out.push(member(root, &dir, json));
        }
    }
    Ok(out)
}

/// A `{ name: range }` mapping as a catalog.
fn catalog_from_yaml(
    path: &Path,
    field: &str,
    y: &Yaml,
) -> Result<BTreeMap<String, String>, WorkspaceError> {
    let Yaml::Hash(_) = y else {
        return Err(WorkspaceError::Field {
            path: path.to_path_buf(),
            field: field.into(),
            problem: "must map package names to version ranges".into(),
        });
    };
    yaml::entries(y)
        .into_iter()
        .map(|(k, v)| {
            yaml::scalar(v)
                .map(|r| (k.to_string(), r))
                .ok_or_else(|| WorkspaceError::Field {
                    path: path.to_path_buf(),
                    field: format!("{field}.{}", clip(k)),
                    problem: "must be a version range".into(),
                })
        })
        .collect()
}

fn pnpm_catalogs(
    path: &Path,
    doc: &Yaml,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, WorkspaceError> {
    let mut out = BTreeMap::new();
    if let Some(c) = yaml::get(doc, "catalog").filter(|c| !c.is_null()) {
        out.insert(
            "default".to_string(),
            catalog_from_yaml(path, "catalog", c)?,
        );
    }
    if let Some(cs) = yaml::get(doc, "catalogs").filter(|c| !c.is_null()) {
        let Yaml::Hash(_) = cs else {
            return Err(WorkspaceError::Field {
                path: path.to_path_buf(),
                field: "catalogs".into(),
                problem: "must map catalog names to catalogs".into(),
            });
        };
        for (name, c) in yaml::entries(cs) {
            let field = format!("catalogs.{}", clip(name));
            if name == "default" && out.contains_key("default") {
                // pnpm: "The 'default' catalog was defined multiple times."
                return Err(WorkspaceError::Field {
                    path: path.to_path_buf(),
                    field,
                    problem: "defines the default catalog a second time (\"catalog\" already does)"
                        .into(),
                });
            }
            out.insert(name.to_string(), catalog_from_yaml(path, &field, c)?);
        }
    }
    Ok(out)
}

fn catalog_from_json(
    path: &Path,
    field: &str,
    v: &Value,
) -> Result<BTreeMap<String, String>, WorkspaceError> {
    let bad = |field: String, problem: &str| WorkspaceError::Field {
        path: path.to_path_buf(),
        field,
        problem: problem.into(),
    };
    let Value::Object(o) = v else {
        return Err(bad(
            field.into(),
            "must map package names to version ranges",
        ));
    };
    o.iter()
        .map(|(k, r)| {
            r.as_str()
                .map(|r| (k.clone(), r.to_string()))
                .ok_or_else(|| bad(format!("{field}.{}", clip(k)), "must be a version range"))
        })
        .collect()
}

/// bun's catalogs: `workspaces.catalog`/`workspaces.catalogs`, or the
/// top-level `catalog`/`catalogs`.
fn bun_catalogs(
    path: &Path,
    json: Option<&Map<String, Value>>,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, WorkspaceError> {
    let mut out = BTreeMap::new();
    let Some(json) = json else {
        return Ok(out);
    };
    let ws = json.get("workspaces").and_then(Value::as_object);
    let places: [(Option<&Map<String, Value>>, &str); 2] = [(Some(json), ""), (ws, "workspaces.")];
    for (obj, prefix) in places {
        let Some(obj) = obj else { continue };
        if let Some(c) = obj.get("catalog") {
            let field = format!("{prefix}catalog");
            out.insert("default".to_string(), catalog_from_json(path, &field, c)?);
        }
        if let Some(cs) = obj.get("catalogs") {
            let field = format!("{prefix}catalogs");
            let Value::Object(cs) = cs else {
                return Err(WorkspaceError::Field {
                    path: path.to_path_buf(),
                    field,
                    problem: "must map catalog names to catalogs".into(),
                });
            };
            for (name, c) in cs {
                let field = format!("{field}.{}", clip(name));
                out.insert(name.clone(), catalog_from_json(path, &field, c)?);
            }
        }
    }
    Ok(out)
}

/// The member npm's `loadLocalPrefix` stops at from `cwd`: the nearest
/// directory at or above `cwd`, below the root, with a package.json or a
/// `node_modules` directory, when it is a member's.
fn member_around<'w>(ws: &'w Workspace, cwd: &Path) -> Option<&'w Member> {
    let dir = cwd
        .ancestors()
        .take_while(|d| *d != ws.root && d.starts_with(&ws.root))
        .find(|d| is_file(&d.join("package.json")) || is_dir(&d.join("node_modules")))?;
    ws.members.iter().find(|m| m.dir == dir)
}

/// `path.resolve(base, p)` on posix, lexically.
fn resolve(base: &Path, p: &str) -> PathBuf {
    let joined = if Path::new(p).is_absolute() {
        PathBuf::from(p)
    } else {
        base.join(p)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path.relative(from, to)` on posix for absolute, normalised paths.
fn relative(from: &Path, to: &Path) -> String {
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); f.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// The members `sel` names, as npm's `getWorkspaces` picks them: with no
/// filter every member; else each member whose name is a filter, whose
/// directory a filter resolves to (from `cwd` when it is inside the root,
/// else from the root), or which lies directly in a directory a
/// filter names (its children, as `<dir>/*`); the root first with `include_root`. Private members are
/// returned too. Without a filter, from inside a member (below its
/// package.json) only that member is taken, as npm does (its config loader
/// sets `workspace` to that directory); not in a pnpm workspace, where
/// `pnpm -r` takes every package wherever it runs. When the workspace is
/// pnpm's, a filter with `*` also matches names as `pnpm --filter` does
/// (`@scope/*`).
pub fn select<'w>(
    ws: &'w Workspace,
    cwd: &Path,
    sel: &Selection,
) -> Result<Vec<&'w Member>, WorkspaceError> {
    let cwd = fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let mut out: Vec<&Member> = Vec::new();
    let add = |m: &'w Member, out: &mut Vec<&'w Member>| {
        // npm's Map keyed by name: a second set keeps the first place (npm
        // names are unique; pnpm's need not be, so the directory decides).
        if !out.iter().any(|o| o.name == m.name && o.dir == m.dir) {
            out.push(m);
        }
    };
    if sel.include_root {
        if let Some(r) = &ws.root_package {
            add(r, &mut out);
        }
    }
    // npm inside a member: the member is the one filter (its config sets
    // `workspace` to the directory where it found the package.json).
    let implicit: Vec<String> = match member_around(ws, &cwd) {
        Some(m) if sel.filters.is_empty() && ws.manager != Manager::Pnpm => {
            vec![m.dir.to_string_lossy().into_owned()]
        }
        _ => Vec::new(),
    };
    let filters = if implicit.is_empty() {
        &sel.filters
    } else {
        &implicit
    };
    if filters.is_empty() {
        for m in &ws.members {
            add(m, &mut out);
        }
    }
    // `relative(localPrefix, cwd).startsWith('..')`: cwd outside the root.
    let relative_from: &Path = if relative(&ws.root, &cwd).starts_with("..") {
        &ws.root
    } else {
        &cwd
    };
    for filter in filters {
        let globified = filter.replace('\\', "/");
        let relative_filter = relative(&ws.root, &resolve(&cwd, filter)).replace('\\', "/");
        let by_dir = [
            rule(&format!("{relative_filter}/*")),
            rule(&format!("{globified}/*")),
        ];
        let resolved = resolve(relative_from, filter);
        for m in &ws.members {
            let mut relative_path = relative(relative_from, &m.dir);
            if filter.starts_with("./") {
                relative_path = format!("./{relative_path}");
            }
            let hit = *filter == m.name
                || resolved == m.dir
                || by_dir.iter().any(|r| r.matches(&relative_path, false))
                || (ws.manager == Manager::Pnpm
                    && filter.contains('*')
                    && crate::glob::pnpm_matches(filter, &m.name));
            if hit {
                add(m, &mut out);
            }
        }
    }
    if out.is_empty() {
        return Err(WorkspaceError::NoneFound {
            root: ws.root.clone(),
            filters: sel.filters.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
