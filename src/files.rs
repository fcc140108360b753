//! Which files go into the tarball: a port of npm-packlist 10.0.4 on top of
//! ignore-walk 8.0.0, as bundled with npm 11.19.1.
//!
//! The rules, in the order they are applied to every directory (the last
//! matching rule wins, a rule starting with `!` includes):
//!
//! 1. **Default rules** (`.npmignore`, `.gitignore`, `**/.git`, `**/.svn`,
//!    `**/.hg`, `**/CVS` and their contents, `/.lock-wscript`,
//!    `/.wafpickle-*`, `/build/config.gypi`, `npm-debug.log`, `**/.npmrc`,
//!    `.*.swp`, `.DS_Store`, `._*`, `*.orig`, `/archived-packages/**`).
//!    For a workspace package, the package root's default rules go on with
//!    the lines of the workspace root's ignore files, one per directory from
//!    the root down to the package's parent, read from the package
//!    directory ([`workspace_root_ignore_files`]).
//! 2. **`files`** in the root package.json: `*` then one include per entry
//!    (`./` trimmed, a trailing `/*` widened to `/**`, a directory also
//!    includes `dir/**`, an entry that is a regular file becomes a strict
//!    include instead). With `files`, the root's `.npmignore`/`.gitignore`
//!    are discarded.
//! 3. **`.npmignore`** of the directory; when present the directory's
//!    `.gitignore` is discarded.
//! 4. **`.gitignore`** of the directory (at the root, with a
//!    `gitignore-fallback` warning). Nested ignore files apply even under `files`.
//! 5. **Strict rules**, which always win: `package.json`, `readme*`,
//!    `copying*`, `license*`, `licence*` at the root are forced in;
//!    `/.git`, `/node_modules`, `.npmrc`, the root lock files are forced out;
//!    `main`, `browser` and each `bin` target are forced in.
//! 6. A parent directory's rules are applied first, to `dir/entry`.
//! 7. Only regular files and directories count (symlinks are dropped), names
//!    containing `*` are dropped, empty directories contribute nothing.
//! 8. `bundleDependencies` are walked from their `node_modules` location with
//!    only `package.json` and strict rules (their own ignore files and the
//!    default rules are ignored), and so are their `dependencies` and
//!    `optionalDependencies`, transitively. A dependency reached through
//!    several bundled dependents is walked each time but each path is
//!    written once (npm-packlist's result is a set). When
//!    `node_modules/.package-lock.json` is fresh, the dependencies'
//!    `dependencies`/`bin` come from its entries and their `files`, `main`
//!    and `browser` are not used ([`HiddenLock`]), as Arborist's tree has it.
//! 9. Matching is minimatch's with `matchBase`, `dot`, `nocase`; see [`crate::glob`].
//! 10. The list is sorted by extension, basename, then path, with ICU
//!     collation ([`crate::collate`]).
//!
//! # Speed
//!
//! The rules are applied exactly as above, but cheaply: every level's
//! `basename/entry` path is a slice of one string, and each rule knows the
//! literal path parts that any match needs ([`Rule::lacks_required_part`]),
//! so most rules are ruled out for most entries by a bit test. A directory's
//! subdirectories form a queue that a helper thread joins while a core is
//! free (at most one less than the cores, three at most); results are put
//! together in entry order, so the list is the sequential walk's. The sort
//! compares precomputed sort keys ([`crate::collate::sort_for_pack`]).
//! date-fns (5,326 files, 200 directories): ~86 M instructions, 8-12 ms on
//! two cores.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::collate;
use crate::glob::{Candidate, Rule};
use crate::js::js_trim;
use crate::manifest::Manifest;

const DEFAULT_RULES: &[&str] = &[
    ".npmignore",
    ".gitignore",
    "**/.git",
    "**/.svn",
    "**/.hg",
    "**/CVS",
    "**/.git/**",
    "**/.svn/**",
    "**/.hg/**",
    "**/CVS/**",
    "/.lock-wscript",
    "/.wafpickle-*",
    "/build/config.gypi",
    "npm-debug.log",
    "**/.npmrc",
    ".*.swp",
    ".DS_Store",
    "**/.DS_Store/**",
    "._*",
    "**/._*/**",
    "*.orig",
    "/archived-packages/**",
];

const STRICT_DEFAULTS: &[&str] = &["/.git"];

const PACKAGE_STRICT: &[&str] = &[
    "!/package.json",
    "!/readme{,.*[^~$]}",
    "!/copying{,.*[^~$]}",
    "!/license{,.*[^~$]}",
    "!/licence{,.*[^~$]}",
    "/.git",
    "/node_modules",
    ".npmrc",
    "/package-lock.json",
    "/yarn.lock",
    "/pnpm-lock.yaml",
    "/bun.lockb",
];

/// Errors while walking the package.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("cannot read directory {path}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}")]
    ReadIgnoreFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot inspect {path}")]
    Stat {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("file name is not valid UTF-8: {path}")]
    NonUtf8Name { path: PathBuf },
    #[error("package.json \"files\" entry {entry:?} points outside the package directory")]
    FilesEscape { entry: String },
    #[error(
        "bundled dependency {} is a link to {}, which holds the package itself or is a system directory",
        link.display(),
        target.display()
    )]
    BundledLinkUnsafe { link: PathBuf, target: PathBuf },
}

impl FilesError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            FilesError::NonUtf8Name { .. } => {
                Some("rename the file: npm cannot pack names that are not UTF-8".into())
            }
            FilesError::FilesEscape { .. } => {
                Some("list only paths inside the package in \"files\" (no leading \"..\")".into())
            }
            FilesError::BundledLinkUnsafe { .. } => Some(
                "point the link at the dependency's own directory (npm install makes such links), \
                 or remove it from bundleDependencies"
                    .into(),
            ),
            FilesError::ReadIgnoreFile { source, .. } if crate::limits::is_refusal(source) => {
                Some(format!(
                    "an ignore file must be a regular file of at most {}: replace or remove it",
                    crate::limits::human(crate::limits::NPMRC_MAX)
                ))
            }
            FilesError::ReadDir { .. }
            | FilesError::ReadIgnoreFile { .. }
            | FilesError::Stat { .. } => Some("check the permissions of that path".into()),
        }
    }

    /// 2 for a package.json mistake, 1 for a file-system failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            FilesError::FilesEscape { .. } | FilesError::BundledLinkUnsafe { .. } => 2,
            _ => 1,
        }
    }
}

/// The selected files.
#[derive(Debug, Default)]
pub struct Selection {
    /// Paths relative to the package, `/`-separated, in tar entry order.
    pub files: Vec<String>,
    /// Warnings npm prints (`gitignore-fallback`).
    pub warnings: Vec<(String, String)>,
}

/// Selects the files of the package in `dir`, as `npm pack` would.
pub fn select(dir: &Path, manifest: &Manifest) -> Result<Selection, FilesError> {
    for entry in manifest.files().unwrap_or_default() {
        let trimmed = entry.trim_start_matches('!');
        if escapes(trimmed) {
            return Err(FilesError::FilesEscape {
                entry: entry.to_string(),
            });
        }
    }
    let mut out = Output::default();
    let mut seen = HashSet::new();
    let root = PackageNode {
        path: dir.to_path_buf(),
        manifest: PackageInfo::from_manifest(manifest),
        is_project_root: true,
        is_link: false,
        defaults: defaults_with(&workspace_root_ignore_files(dir)?),
    };
    let lock = if manifest.bundle_dependencies.is_empty() {
        None
    } else {
        HiddenLock::load(dir)
    };
    walk_package(
        &root,
        &root.path,
        lock.as_ref(),
        Source::ALL,
        &mut seen,
        &mut out,
    )?;
    // npm-packlist's result is a Set: a bundled dependency reached through
    // several bundled dependents is walked each time but written once.
    let mut unique = HashSet::with_capacity(out.files.len());
    let mut files: Vec<String> = out
        .files
        .into_iter()
        .filter(|f| unique.insert(f.clone()))
        .map(|f| {
            if f.starts_with('@') {
                format!("./{f}")
            } else {
                f
            }
        })
        .collect();
    collate::sort_for_pack(&mut files);
    let files = files
        .into_iter()
        .map(|f| match f.strip_prefix("./") {
            Some(rest) => rest.to_string(),
            None => f,
        })
        .collect();
    Ok(Selection {
        files,
        warnings: out.warnings,
    })
}

/// True when a relative `files` entry climbs above the package directory.
fn escapes(entry: &str) -> bool {
    let mut depth: i32 = 0;
    for seg in entry.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// Where a rule set comes from, in ignore-walk's `ignoreFiles` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Default,
    PackageJson,
    Npmignore,
    Gitignore,
    Strict,
}

impl Source {
    /// ignore-walk's full `ignoreFiles` list, package.json read as an ignore
    /// file too (npm-packlist's root and bundled links, and its fallback).
    const ALL: &'static [Source] = &[
        Source::Default,
        Source::PackageJson,
        Source::Npmignore,
        Source::Gitignore,
        Source::Strict,
    ];

    fn file_name(self) -> Option<&'static str> {
        match self {
            Source::PackageJson => Some("package.json"),
            Source::Npmignore => Some(".npmignore"),
            Source::Gitignore => Some(".gitignore"),
            Source::Default | Source::Strict => None,
        }
    }
}

/// What npm-packlist reads from a package node's package.json.
#[derive(Debug, Clone, Default)]
struct PackageInfo {
    files: Option<Vec<String>>,
    main: Option<String>,
    browser: Option<String>,
    bin: Vec<String>,
    bundle: Vec<String>,
    dependencies: Vec<String>,
    optional: Vec<String>,
    peer: Vec<String>,
    dev: Vec<String>,
    workspaces: bool,
}

impl PackageInfo {
    fn from_manifest(m: &Manifest) -> PackageInfo {
        PackageInfo {
            files: m
                .files()
                .map(|f| f.into_iter().map(str::to_string).collect()),
            main: m.js_string_field("main"),
            browser: m.js_string_field("browser"),
            bin: m.bin.iter().map(|(_, v)| v.clone()).collect(),
            bundle: m.bundle_dependencies.clone(),
            dependencies: m.dependency_names("dependencies"),
            optional: m.dependency_names("optionalDependencies"),
            peer: m.dependency_names("peerDependencies"),
            dev: m.dependency_names("devDependencies"),
            workspaces: m.has_workspaces(),
        }
    }

    /// A dependency's package.json, read leniently as Arborist does: a
    /// missing or broken file is an empty package.
    fn read_lenient(dir: &Path) -> PackageInfo {
        let Ok(bytes) =
            crate::limits::read_file(&dir.join("package.json"), crate::limits::MANIFEST_MAX)
        else {
            return PackageInfo::default();
        };
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        let Ok(serde_json::Value::Object(raw)) = serde_json::from_slice(bytes) else {
            return PackageInfo::default();
        };
        PackageInfo::from_raw(raw)
    }

    fn from_raw(raw: serde_json::Map<String, serde_json::Value>) -> PackageInfo {
        let mut info = PackageInfo::from_manifest(&Manifest::lenient(raw));
        // optionalDedupe: a name in both lists is only optional.
        info.dependencies.retain(|d| !info.optional.contains(d));
        info
    }
}

/// A package whose files are being gathered: the root or a bundled dependency.
struct PackageNode {
    /// Where the walk starts (for a linked dependency, the link's location).
    path: PathBuf,
    manifest: PackageInfo,
    is_project_root: bool,
    is_link: bool,
    /// The default rules of its root directory (with a workspace root's
    /// ignore files for a workspace package, see [`workspace_root_ignore_files`]).
    defaults: RuleSet,
}

#[derive(Default)]
struct Output {
    files: Vec<String>,
    warnings: Vec<(String, String)>,
}

/// One directory being walked: ignore-walk's `Walker` with npm-packlist's
/// `PackWalker` overrides.
struct Walker<'p> {
    path: PathBuf,
    /// This directory's path from the first walker of the chain (the
    /// package root), with a trailing `/`; empty for that walker. Each
    /// level's entry in ignore-walk (`basename/entry`, recursively) is a
    /// suffix of `rel + entry`.
    rel: String,
    ignore_files: Vec<Source>,
    rules: Vec<(Source, RuleSet)>,
    parent: Option<&'p Walker<'p>>,
    exact: bool,
    is_package: bool,
    required_files: Vec<String>,
    /// Whether the package declares workspaces (changes subdirectory rules).
    workspaces: bool,
    /// The package root's path, to make result paths relative.
    root: &'p Path,
}

type RuleSet = Arc<[Rule]>;

fn compile(lines: &[&str]) -> RuleSet {
    lines.iter().map(|l| Rule::new(l)).collect()
}

/// The default rules, compiled once and shared by every directory.
fn default_rules() -> RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| compile(DEFAULT_RULES)).clone()
}

/// The default rules followed by the lines of `extra` ignore files, as
/// npm-packlist's `injectRules(defaultRules, [...defaults, ...additionalDefaults])`.
fn defaults_with(extra: &[String]) -> RuleSet {
    if extra.is_empty() {
        return default_rules();
    }
    let mut text = DEFAULT_RULES.join("\n");
    text.push('\n');
    text.push_str(&extra.join("\n"));
    text.push('\n');
    parse_ignore_file(&text)
}

/// npm-packlist's `readOutOfTreeIgnoreFiles`, for a package that is a
/// workspace of a root `package.json` above it (the root npm finds from a
/// working directory inside the package: the nearest ancestor whose
/// `workspaces` list the package). In the root and in every directory
/// between it and the package's parent, the first of `.npmignore` and
/// `.gitignore` that exists is read. Their lines join the package's default
/// rules, so they are matched from the package directory: an anchored
/// `/packages/a/tmp/` in the root's file matches nothing inside
/// `packages/a`, and `files` re-includes what they exclude.
///
/// npm does this only when run from inside the workspace (or with
/// `--workspace`); `npm pack <dir>` from elsewhere skips these files.
/// trustpub always applies them: `trustpub pack DIR` packs as
/// `cd DIR && npm pack` does.
fn workspace_root_ignore_files(dir: &Path) -> Result<Vec<String>, FilesError> {
    let Ok(package) = std::fs::canonicalize(dir) else {
        return Ok(Vec::new());
    };
    let found = crate::config::prefix::local_prefix(&package, true);
    if found.workspace.as_deref() != Some(package.as_path()) || found.dir == package {
        return Ok(Vec::new());
    }
    let Some(rel) = package
        .parent()
        .and_then(|parent| parent.strip_prefix(&found.dir).ok())
    else {
        return Ok(Vec::new());
    };
    let mut contents = Vec::new();
    let mut at = found.dir.clone();
    let mut below = rel.components();
    loop {
        for name in [".npmignore", ".gitignore"] {
            let path = at.join(name);
            match crate::limits::read_file(&path, crate::limits::NPMRC_MAX) {
                Ok(data) => {
                    contents.push(String::from_utf8_lossy(&data).into_owned());
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(FilesError::ReadIgnoreFile { path, source }),
            }
        }
        match below.next() {
            Some(part) => at.push(part),
            None => return Ok(contents),
        }
    }
}

/// A subdirectory's strict rules when it has no required files.
fn plain_strict_rules() -> RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| compile(STRICT_DEFAULTS)).clone()
}

/// ignore-walk's `onReadIgnoreFile`: one rule per non-empty, non-comment line.
fn parse_ignore_file(data: &str) -> RuleSet {
    data.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .map(js_trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(Rule::new)
        .collect()
}

impl<'p> Walker<'p> {
    fn rules_for(&self, source: Source) -> Option<&[Rule]> {
        self.rules
            .iter()
            .find(|(s, _)| *s == source)
            .map(|(_, r)| &r[..])
    }

    fn set_rules(&mut self, source: Source, rules: RuleSet) {
        self.rules.retain(|(s, _)| *s != source);
        self.rules.push((source, rules));
    }

    fn drop_rules(&mut self, source: Source) {
        self.rules.retain(|(s, _)| *s != source);
    }

    /// ignore-walk's `filterEntry` for `entry` of this directory.
    fn filter_entry(&self, entry: &str, partial: bool) -> bool {
        let mut full = String::with_capacity(self.rel.len() + entry.len() + 2);
        full.push('/');
        full.push_str(&self.rel);
        full.push_str(entry);
        full.push('/');
        self.filter_in(&full, partial, None)
    }

    /// `filterEntry` at this level of the chain: `full` is `/`, the entry's
    /// path from the chain's first walker, `/`; this level's entry is what
    /// follows `rel`. `entry_basename` is the entry as the innermost walker
    /// named it (ignore-walk passes it up to the parents).
    fn filter_in(&self, full: &str, partial: bool, entry_basename: Option<&str>) -> bool {
        let mine = &full[self.rel.len()..];
        let mut included = true;
        if let Some(parent) = self.parent {
            let innermost = entry_basename.unwrap_or(&mine[1..mine.len() - 1]);
            included = parent.filter_in(full, partial, Some(innermost));
            if !included && !self.exact {
                return false;
            }
        }
        let subject = Subject::new(mine, partial, entry_basename);
        let candidates = subject.candidates();
        for source in &self.ignore_files {
            let Some(rules) = self.rules_for(*source) else {
                continue;
            };
            for rule in rules {
                if rule.negate() == included {
                    continue;
                }
                if candidates.matched_by(rule) {
                    included = rule.negate();
                }
            }
        }
        included
    }
}

/// The strings ignore-walk matches a rule against: `/entry/` and `/base/`,
/// sliced into the forms.
struct Subject<'a> {
    /// `/entry/`
    full: &'a str,
    /// `/base/`, for relative rules on directories.
    base: Option<String>,
    partial: bool,
}

impl<'a> Subject<'a> {
    fn new(full: &'a str, partial: bool, entry_basename: Option<&str>) -> Subject<'a> {
        Subject {
            full,
            base: match (partial, entry_basename) {
                (true, Some(b)) => Some(format!("/{b}/")),
                _ => None,
            },
            partial,
        }
    }

    fn candidates(&self) -> Candidates<'_> {
        let f = self.full;
        let n = f.len();
        Candidates {
            entry: Candidate::new(&f[1..n - 1]),
            rooted: Candidate::new(&f[..n - 1]),
            dir: self
                .partial
                .then(|| (Candidate::new(f), Candidate::new(&f[1..]))),
            base: self.base.as_deref().map(|b| {
                let n = b.len();
                (
                    Candidate::new(&b[1..n - 1]),
                    Candidate::new(b),
                    Candidate::new(&b[1..]),
                    Candidate::new(&b[..n - 1]),
                )
            }),
        }
    }
}

/// [`Subject`]'s strings, split once for all the rules.
struct Candidates<'s> {
    entry: Candidate<'s>,
    rooted: Candidate<'s>,
    dir: Option<(Candidate<'s>, Candidate<'s>)>,
    base: Option<(Candidate<'s>, Candidate<'s>, Candidate<'s>, Candidate<'s>)>,
}

impl Candidates<'_> {
    /// The `match` expression of ignore-walk's `filterEntry`: `/entry`,
    /// `entry`, then for directories `/entry/`, `entry/`, partial matches of
    /// negations, and the basename forms for relative rules.
    fn matched_by(&self, rule: &Rule) -> bool {
        // Every form below has no non-empty part that `entry` lacks, so
        // when only non-partial matches are tried, a missing literal part
        // rules them all out (most rules, for most entries).
        let partial_tried = rule.negate() && self.dir.is_some();
        if !partial_tried && rule.lacks_required_part(&self.entry) {
            return false;
        }
        let m = |c: &Candidate<'_>, partial: bool| rule.matches_candidate(c, partial);
        if m(&self.rooted, false) || m(&self.entry, false) {
            return true;
        }
        let Some((rooted_dir, dir)) = &self.dir else {
            return false;
        };
        if m(rooted_dir, false) || m(dir, false) {
            return true;
        }
        if rule.negate() && (m(&self.rooted, true) || m(&self.entry, true)) {
            return true;
        }
        match &self.base {
            Some((base, rooted_base_dir, base_dir, rooted_base)) if rule.is_relative() => {
                m(rooted_base_dir, false)
                    || m(base_dir, false)
                    || (rule.negate() && (m(rooted_base, true) || m(base, true)))
            }
            _ => false,
        }
    }
}

/// Walks one package (the root or a bundled dependency), then its bundles.
fn walk_package(
    node: &PackageNode,
    project_root: &Path,
    lock: Option<&HiddenLock>,
    ignore_files: &[Source],
    seen: &mut HashSet<PathBuf>,
    out: &mut Output,
) -> Result<(), FilesError> {
    let mut local = Output::default();
    let walker = Walker {
        path: node.path.clone(),
        rel: String::new(),
        ignore_files: ignore_files.to_vec(),
        rules: vec![(Source::Default, node.defaults.clone())],
        parent: None,
        exact: false,
        is_package: true,
        required_files: Vec::new(),
        workspaces: node.manifest.workspaces,
        root: &node.path,
    };
    walk_dir(walker, Some(node), &mut local)?;
    let rel_prefix = node
        .path
        .strip_prefix(project_root)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    for file in local.files {
        let full = if rel_prefix.is_empty() {
            file
        } else {
            format!("{rel_prefix}/{file}")
        };
        out.files.push(full);
    }
    out.warnings.extend(local.warnings);
    gather_bundles(node, project_root, lock, seen, out)
}

/// npm-packlist's `gatherBundles`.
fn gather_bundles(
    node: &PackageNode,
    project_root: &Path,
    lock: Option<&HiddenLock>,
    seen: &mut HashSet<PathBuf>,
    out: &mut Output,
) -> Result<(), FilesError> {
    let key = std::fs::canonicalize(&node.path).unwrap_or_else(|_| node.path.clone());
    if !seen.insert(key) {
        return Ok(());
    }
    let m = &node.manifest;
    let to_bundle: Vec<String> = if node.is_project_root {
        m.bundle.clone()
    } else {
        m.dependencies
            .iter()
            .chain(m.optional.iter())
            .cloned()
            .collect()
    };
    let mut done = HashSet::new();
    for dep in to_bundle {
        // Arborist's edge type: later kinds replace earlier ones.
        let mut kind = None;
        if m.peer.contains(&dep) {
            kind = Some("peer");
        }
        if m.dependencies.contains(&dep) || m.optional.contains(&dep) {
            kind = Some("prod");
        }
        if node.is_project_root && m.dev.contains(&dep) {
            kind = Some("dev");
        }
        if !matches!(kind, Some("prod")) || !done.insert(dep.clone()) {
            continue;
        }
        let Some((location, is_link)) = resolve(&node.path, project_root, &dep) else {
            continue;
        };
        let real = if is_link {
            std::fs::canonicalize(&location).unwrap_or_else(|_| location.clone())
        } else {
            location.clone()
        };
        if is_link && unsafe_link_target(project_root, &real) {
            return Err(FilesError::BundledLinkUnsafe {
                link: location
                    .strip_prefix(project_root)
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|_| location.clone()),
                target: real,
            });
        }
        let manifest = match lock {
            Some(lock) => lock.package(project_root, &location, &real, is_link),
            None => PackageInfo::read_lenient(&real),
        };
        let child = PackageNode {
            path: location,
            manifest,
            is_project_root: false,
            is_link,
            defaults: default_rules(),
        };
        let sources: &[Source] = if child.is_link {
            Source::ALL
        } else {
            &[Source::PackageJson, Source::Strict]
        };
        walk_package(&child, project_root, lock, sources, seen, out)?;
    }
    Ok(())
}

/// A bundled link npm would follow but trustpub refuses: a target that
/// contains the project (the file-system root, a parent directory: npm
/// walks all of it, and fails or packs the whole tree) or a kernel file
/// system (`/proc`, `/sys`, `/dev`: process environments, devices).
/// Targets elsewhere are packed, as npm does (a `file:../dep` dependency
/// lives outside the package).
///
/// And, stricter than npm, when the package lives in a git work tree: a
/// target outside that tree. A committed symlink (`node_modules/x ->
/// /home/runner/.ssh`) would otherwise ship the runner's files; the links
/// `npm install` makes for workspaces and `file:` dependencies stay
/// inside the repository.
fn unsafe_link_target(project_root: &Path, real: &Path) -> bool {
    let project = std::fs::canonicalize(project_root).unwrap_or_else(|_| project_root.into());
    if real.parent().is_none() || (project.starts_with(real) && project != real) {
        return true;
    }
    if let Some(work_tree) = project.ancestors().find(|d| d.join(".git").exists()) {
        if !real.starts_with(work_tree) {
            return true;
        }
    }
    cfg!(unix)
        && ["/proc", "/sys", "/dev"]
            .iter()
            .any(|d| real.starts_with(d))
}

/// Arborist's hidden lockfile, `node_modules/.package-lock.json`. When it
/// is valid (Shrinkwrap's `assertNoNewer`: no directory under
/// `node_modules` is newer than it, plus 10 ms, every package directory
/// has an entry and every entry a directory), Arborist builds the
/// dependencies' nodes from its entries instead of their package.json
/// files. An entry keeps only some package.json fields (dependencies, bin,
/// ... but no `files`, `main` or `browser`), so a bundled dependency is then
/// packed whole, whatever its own `files` says.
struct HiddenLock {
    packages: serde_json::Map<String, serde_json::Value>,
}

impl HiddenLock {
    fn load(root: &Path) -> Option<HiddenLock> {
        let file = root.join("node_modules").join(".package-lock.json");
        // Past the limit the lockfile is not used (as if stale): the
        // dependencies' own package.json files are read instead.
        let bytes = crate::limits::read_file(&file, crate::limits::LOCKFILE_MAX).ok()?;
        let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let serde_json::Value::Object(packages) = json.get("packages")?.clone() else {
            return None;
        };
        let lock_time = mtime_ms(&file)? + 10;
        let mut seen = HashSet::new();
        let check = LockCheck {
            root,
            packages: &packages,
            lock_time,
        };
        check.assert_no_newer(root, &mut seen).ok()?;
        // Linked-strategy stores and workspaces outside node_modules.
        let link_targets: HashSet<String> = packages
            .values()
            .filter(|e| e.get("link").and_then(|l| l.as_bool()) == Some(true))
            .filter_map(|e| e.get("resolved")?.as_str().map(|r| r.replace('\\', "/")))
            .collect();
        let mut extra = std::collections::BTreeSet::new();
        for loc in packages.keys() {
            if let Some(i) = loc.find("/.store/") {
                let rest = &loc[i + "/.store/".len()..];
                if let Some(j) = rest.find("/node_modules/").filter(|&j| j > 0) {
                    let store = &loc[..i + "/.store/".len() + j];
                    seen.insert(store.to_string());
                    extra.insert(format!("{store}/node_modules"));
                    continue;
                }
            }
            let top = loc.find("/node_modules/").map_or(&loc[..], |i| &loc[..i]);
            let in_nm = top == "node_modules"
                || top.starts_with("node_modules/")
                || top.ends_with("/node_modules")
                || top.contains("/node_modules/");
            if !top.is_empty() && !in_nm && !link_targets.contains(top) {
                extra.insert(top.to_string());
            }
        }
        for rel in extra {
            check.assert_no_newer(&root.join(rel), &mut seen).ok()?;
        }
        if packages.keys().any(|loc| !seen.contains(loc)) {
            return None;
        }
        Some(HiddenLock { packages })
    }

    /// The node Arborist builds for the dependency at `location`. A link's
    /// target outside any `node_modules` (a workspace, a `file:` directory)
    /// is read from its package.json (`#resolveLinks`), any other from its
    /// entry.
    fn package(&self, root: &Path, location: &Path, real: &Path, is_link: bool) -> PackageInfo {
        let Some(mut key) = rel_key(root, location) else {
            return PackageInfo::default();
        };
        if is_link {
            match self
                .packages
                .get(&key)
                .and_then(|e| e.get("resolved"))
                .and_then(|r| r.as_str())
            {
                Some(target) => key = target.replace('\\', "/"),
                None => return PackageInfo::default(),
            }
            if !key.split('/').any(|part| part == "node_modules") {
                return PackageInfo::read_lenient(real);
            }
        }
        match self.packages.get(&key) {
            Some(serde_json::Value::Object(entry)) => {
                let mut raw = serde_json::Map::new();
                for field in [
                    "dependencies",
                    "optionalDependencies",
                    "peerDependencies",
                    "bundleDependencies",
                    "bin",
                    "workspaces",
                ] {
                    if let Some(v) = entry.get(field) {
                        raw.insert(field.to_string(), v.clone());
                    }
                }
                PackageInfo::from_raw(raw)
            }
            _ => PackageInfo::default(),
        }
    }
}

/// `path` relative to `root`, `/`-separated, with `..` for a path outside
/// it (`relpath`); both are absolute.
fn rel_key(root: &Path, path: &Path) -> Option<String> {
    let root: Vec<_> = root.components().collect();
    let path: Vec<_> = path.components().collect();
    let common = root.iter().zip(&path).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = vec!["..".to_string(); root.len() - common];
    parts.extend(
        path[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Some(parts.join("/"))
}

/// A file's modification time in whole milliseconds, as `+stat.mtime`.
fn mtime_ms(path: &Path) -> Option<i128> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(match modified.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i128,
        Err(e) => -(e.duration().as_millis() as i128),
    })
}

struct LockCheck<'a> {
    root: &'a Path,
    packages: &'a serde_json::Map<String, serde_json::Value>,
    lock_time: i128,
}

impl LockCheck<'_> {
    /// Shrinkwrap's `assertNoNewer` from `dir`; `Err` when the lockfile is stale.
    fn assert_no_newer(&self, dir: &Path, seen: &mut HashSet<String>) -> Result<(), ()> {
        let base = dir
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_root = dir == self.root;
        let is_nm = !is_root && base == "node_modules";
        let is_scope = !is_root && base.starts_with('@');
        let parent = if is_root || is_nm || is_scope {
            dir.to_path_buf()
        } else {
            dir.join("node_modules")
        };
        let rel = rel_key(self.root, dir).ok_or(())?;
        seen.insert(rel.clone());
        let entries: Vec<(String, std::fs::FileType)> = if is_root {
            match std::fs::symlink_metadata(dir.join("node_modules")) {
                Ok(_) => vec![(
                    "node_modules".to_string(),
                    std::fs::metadata(self.root).map_err(|_| ())?.file_type(),
                )],
                Err(_) => Vec::new(),
            }
        } else {
            let dir_time = mtime_ms(dir).ok_or(())?;
            if dir_time > self.lock_time {
                return Err(());
            }
            if !is_scope && !is_nm && !self.packages.contains_key(&rel) {
                return Err(());
            }
            match std::fs::read_dir(&parent) {
                Ok(rd) => rd
                    .flatten()
                    .filter_map(|e| {
                        let ft = e.file_type().ok()?;
                        Some((e.file_name().to_string_lossy().into_owned(), ft))
                    })
                    .collect(),
                Err(_) => Vec::new(),
            }
        };
        for (name, ft) in entries {
            let child = parent.join(&name);
            if ft.is_dir() && !name.starts_with('.') {
                self.assert_no_newer(&child, seen)?;
            } else if ft.is_symlink() {
                if let Some(key) = rel_key(self.root, &child) {
                    seen.insert(key);
                }
                let Ok(link) = std::fs::read_link(&child) else {
                    continue;
                };
                let target = normalize_path(&parent.join(link));
                if std::fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
                    match rel_key(self.root, &target) {
                        Some(key) if seen.contains(&key) => {}
                        Some(_) => self.assert_no_newer(&target, seen)?,
                        None => return Err(()),
                    }
                }
            }
        }
        Ok(())
    }
}

/// Lexical `path.resolve`: `.` and `..` components folded.
fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Arborist's `node.resolve(name)`: `node_modules/<name>` here, then in each
/// package directory above, up to the project root.
fn resolve(from: &Path, project_root: &Path, name: &str) -> Option<(PathBuf, bool)> {
    let mut at = from.to_path_buf();
    loop {
        let candidate = at.join("node_modules").join(name);
        if let Ok(meta) = std::fs::symlink_metadata(&candidate) {
            if meta.is_dir() {
                return Some((candidate, false));
            }
            if meta.file_type().is_symlink() && candidate.is_dir() {
                return Some((candidate, true));
            }
        }
        if at == project_root {
            return None;
        }
        at = package_parent(&at)?;
        if !at.starts_with(project_root) {
            return None;
        }
    }
}

/// The package that holds `dir` in its `node_modules`.
fn package_parent(dir: &Path) -> Option<PathBuf> {
    let mut p = dir.parent()?;
    if p.file_name()?.to_string_lossy().starts_with('@') {
        p = p.parent()?;
    }
    if p.file_name()? == "node_modules" {
        p.parent().map(Path::to_path_buf)
    } else {
        None
    }
}

/// ignore-walk's `start` → `onReaddir` → `addIgnoreFiles` → `filterEntries`.
fn walk_dir(
    mut w: Walker<'_>,
    package: Option<&PackageNode>,
    out: &mut Output,
) -> Result<(), FilesError> {
    let mut entries: Vec<(String, std::fs::FileType)> = Vec::new();
    let read = std::fs::read_dir(&w.path).map_err(|source| FilesError::ReadDir {
        path: w.path.clone(),
        source,
    })?;
    for entry in read {
        let entry = entry.map_err(|source| FilesError::ReadDir {
            path: w.path.clone(),
            source,
        })?;
        let ft = entry.file_type().map_err(|source| FilesError::Stat {
            path: entry.path(),
            source,
        })?;
        match entry.file_name().into_string() {
            Ok(name) => entries.push((name, ft)),
            Err(name) => {
                // Node would read a mangled name and fail to stat it; we name
                // the file instead, but only if a rule would have kept it.
                let lossy = name.to_string_lossy().into_owned();
                if (ft.is_file() || ft.is_dir()) && w.filter_entry(&lossy, ft.is_dir()) {
                    return Err(FilesError::NonUtf8Name { path: entry.path() });
                }
            }
        }
    }
    // libuv's scandir sorts names with strcmp.
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    if entries.is_empty() {
        return Ok(());
    }

    // Read the ignore files present here, in the walker's source order.
    for source in w.ignore_files.clone() {
        let Some(file) = source.file_name() else {
            continue;
        };
        if !entries.iter().any(|(n, _)| n == file) {
            continue;
        }
        if source == Source::PackageJson && w.is_package {
            if let Some(node) = package {
                process_package(&mut w, &node.manifest)?;
            }
            continue;
        }
        let path = w.path.join(file);
        let data = crate::limits::read_file(&path, crate::limits::NPMRC_MAX).map_err(|source| {
            FilesError::ReadIgnoreFile {
                path: path.clone(),
                source,
            }
        })?;
        let rules = parse_ignore_file(&String::from_utf8_lossy(&data));
        w.set_rules(source, rules);
    }

    // PackWalker.filterEntries: the precedence between the ignore files.
    if w.rules_for(Source::PackageJson).is_some() {
        w.drop_rules(Source::Npmignore);
        w.drop_rules(Source::Gitignore);
    } else if w.rules_for(Source::Npmignore).is_some() {
        w.drop_rules(Source::Gitignore);
    } else if w.rules_for(Source::Gitignore).is_some() && w.parent.is_none() {
        out.warnings.push((
            "gitignore-fallback".into(),
            "No .npmignore file found, using .gitignore for file exclusion. Consider creating a .npmignore file to explicitly control published files.".into(),
        ));
    }

    // The subdirectories to walk, then the files to keep. The decisions have
    // no side effects, so they can be made in any order; the results are
    // put together in entry order below, as the sequential walk has them.
    let mut dirs: Vec<(usize, &str, bool)> = Vec::new();
    for (i, (entry, ft)) in entries.iter().enumerate() {
        if ft.is_dir() && !entry.contains('*') && w.filter_entry(entry, true) {
            let exact = w.filter_entry(entry, false) || w.filter_entry(&format!("{entry}/"), false);
            dirs.push((i, entry, exact));
        }
    }
    let walked = walk_subdirectories(&w, &dirs, || {
        let mut kept = vec![false; entries.len()];
        for (i, (entry, ft)) in entries.iter().enumerate() {
            // Symlinks, sockets, devices: npm-packlist keeps only files and
            // directories.
            kept[i] = ft.is_file() && !entry.contains('*') && w.filter_entry(entry, false);
        }
        kept
    });
    let (kept, mut subtrees) = walked;
    let mut next_dir = 0;
    for (i, (entry, _)) in entries.iter().enumerate() {
        if kept[i] {
            out.files.push(format!("{}{entry}", w.rel));
        } else if dirs.get(next_dir).is_some_and(|d| d.0 == i) {
            let result = subtrees[next_dir].take().unwrap_or_else(|| {
                Err(FilesError::ReadDir {
                    path: w.path.join(entry),
                    source: std::io::Error::other("subdirectory was not walked"),
                })
            });
            next_dir += 1;
            let sub = result?;
            out.files.extend(sub.files);
            out.warnings.extend(sub.warnings);
        }
    }
    Ok(())
}

/// How many more helper threads the walk may start: one less than the
/// cores at first (at most 3). A helper gives its slot back when its queue
/// runs dry, so a deeper directory still being walked can take it.
fn helper_slots() -> &'static AtomicUsize {
    static SLOTS: OnceLock<AtomicUsize> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        AtomicUsize::new(cores.saturating_sub(1).min(3))
    })
}

/// A taken helper slot, given back on drop.
struct HelperSlot;

impl HelperSlot {
    fn take() -> Option<HelperSlot> {
        helper_slots()
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .ok()
            .map(|_| HelperSlot)
    }
}

impl Drop for HelperSlot {
    fn drop(&mut self) {
        helper_slots().fetch_add(1, Ordering::AcqRel);
    }
}

type Subtree = Option<Result<Output, FilesError>>;

/// Walks the subdirectories `dirs` of `w` (entry index, name, exact) and
/// runs `files` (this directory's own file decisions). The subdirectories
/// form a queue; whenever at least two are left and a helper slot is free
/// (see [`helper_slots`]), another thread joins in taking from it. Results
/// come back in `dirs` order whoever produced them, so the outcome is the
/// sequential walk's.
fn walk_subdirectories<K: Send>(
    w: &Walker<'_>,
    dirs: &[(usize, &str, bool)],
    files: impl FnOnce() -> K + Send,
) -> (K, Vec<Subtree>) {
    let next = AtomicUsize::new(0);
    let take = || {
        let i = next.fetch_add(1, Ordering::Relaxed);
        dirs.get(i).map(|&(_, entry, exact)| (i, entry, exact))
    };
    let walk_one = |(i, entry, exact): (usize, &str, bool)| {
        let mut sub = Output::default();
        let result = walk_dir(child_walker(w, entry, exact), None, &mut sub);
        (i, result.map(|()| sub))
    };
    let mut done = Vec::with_capacity(dirs.len());
    let kept = if dirs.len() < 2 {
        done.extend(std::iter::from_fn(take).map(walk_one));
        files()
    } else {
        std::thread::scope(|scope| {
            let mut helpers = Vec::new();
            let mut add_helper = || {
                let left = dirs.len().saturating_sub(next.load(Ordering::Relaxed));
                if left < 2 {
                    return;
                }
                let Some(slot) = HelperSlot::take() else {
                    return;
                };
                let helper = std::thread::Builder::new()
                    .name("trustpub-walk".into())
                    .spawn_scoped(scope, move || {
                        let _slot = slot;
                        std::iter::from_fn(take).map(walk_one).collect::<Vec<_>>()
                    });
                // Without a thread, this one does the work.
                if let Ok(h) = helper {
                    helpers.push(h);
                }
            };
            add_helper();
            let kept = files();
            loop {
                add_helper();
                match take() {
                    Some(task) => done.push(walk_one(task)),
                    None => break,
                }
            }
            for h in helpers {
                match h.join() {
                    Ok(theirs) => done.extend(theirs),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            kept
        })
    };
    let mut results: Vec<Subtree> = dirs.iter().map(|_| None).collect();
    for (i, result) in done {
        results[i] = Some(result);
    }
    (kept, results)
}

/// PackWalker's `walkerOpt` + constructor for a plain subdirectory.
fn child_walker<'a>(parent: &'a Walker<'a>, entry: &str, exact: bool) -> Walker<'a> {
    let ignore_files = if parent.workspaces {
        // With workspaces, Arborist's tree makes npm-packlist fall back to its
        // full list, so package.json is read as a plain ignore file here.
        Source::ALL.to_vec()
    } else {
        vec![
            Source::Default,
            Source::Npmignore,
            Source::Gitignore,
            Source::Strict,
        ]
    };
    let required_files: Vec<String> = parent
        .required_files
        .iter()
        .filter_map(|file| {
            // path.relative(file, entry) === '..': the file sits directly in entry.
            let (dir, name) = file.rsplit_once('/')?;
            (normalize(dir) == normalize(entry) && !name.is_empty()).then(|| name.to_string())
        })
        .collect();
    let strict_rules = if required_files.is_empty() {
        plain_strict_rules()
    } else {
        let mut strict: Vec<String> = STRICT_DEFAULTS.iter().map(|s| s.to_string()).collect();
        strict.extend(required_files.iter().map(|f| format!("!{f}")));
        let refs: Vec<&str> = strict.iter().map(String::as_str).collect();
        compile(&refs)
    };
    Walker {
        path: parent.path.join(entry),
        rel: format!("{}{entry}/", parent.rel),
        ignore_files,
        rules: vec![
            (Source::Default, default_rules()),
            (Source::Strict, strict_rules),
        ],
        parent: Some(parent),
        exact,
        is_package: false,
        required_files,
        workspaces: parent.workspaces,
        root: parent.root,
    }
}

/// Lexical normalisation for comparing relative paths.
fn normalize(p: &str) -> String {
    crate::manifest::secure_and_unixify(p)
}

/// npm-packlist's `processPackage`: rules from package.json.
fn process_package(w: &mut Walker<'_>, m: &PackageInfo) -> Result<(), FilesError> {
    let mut strict: Vec<String> = STRICT_DEFAULTS.iter().map(|s| s.to_string()).collect();
    strict.extend(PACKAGE_STRICT.iter().map(|s| s.to_string()));
    if let Some(files) = &m.files {
        let mut ignores: Vec<String> = Vec::new();
        for entry in files {
            let mut file = entry.clone();
            if file.starts_with("./") {
                file.remove(0);
            }
            if file.ends_with("/*") {
                file.push('*');
            }
            let inverse = format!("!{file}");
            let target = w
                .path
                .join(file.trim_start_matches('!').trim_start_matches('/'));
            match std::fs::symlink_metadata(&target) {
                Ok(meta) if meta.is_file() => {
                    strict.insert(0, inverse);
                    let required = file.strip_prefix('/').unwrap_or(&file).to_string();
                    w.required_files.push(required);
                }
                Ok(meta) if meta.is_dir() => {
                    ignores.push(inverse.clone());
                    ignores.push(format!("{inverse}/**"));
                }
                Ok(_) => {}
                Err(_) => ignores.push(inverse),
            }
        }
        let mut lines = vec!["*".to_string()];
        lines.extend(ignores);
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        w.set_rules(Source::PackageJson, compile(&refs));
    }
    if let Some(browser) = &m.browser {
        strict.push(format!("!/{browser}"));
    }
    if let Some(main) = &m.main {
        strict.push(format!("!/{main}"));
    }
    for bin in &m.bin {
        strict.push(format!("!/{bin}"));
    }
    let refs: Vec<&str> = strict.iter().map(String::as_str).collect();
    w.set_rules(Source::Strict, compile(&refs));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_link_targets_holding_the_package_are_unsafe() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let root = base.join("proj/pkg");
        std::fs::create_dir_all(&root).unwrap();
        assert!(unsafe_link_target(&root, Path::new("/")));
        assert!(unsafe_link_target(&root, &base.join("proj")));
        assert!(unsafe_link_target(&root, &base));
        // Kernel file systems exist on Unix only.
        for kernel in ["/proc/self", "/sys", "/dev/fd"] {
            assert_eq!(
                unsafe_link_target(&root, Path::new(kernel)),
                cfg!(unix),
                "{kernel}"
            );
        }
        // npm packs these: the package itself, a directory in it, a sibling
        assert!(!unsafe_link_target(&root, &root));
        assert!(!unsafe_link_target(&root, &root.join("packages/dep")));
        assert!(!unsafe_link_target(&root, &base.join("proj/dep")));
        assert!(!unsafe_link_target(&root, &base.join("proj/pkg2")));
        assert!(!unsafe_link_target(&root, Path::new("/procx")));
        // In a git work tree, a target outside it is refused; inside, not.
        let repo = tempfile::tempdir().unwrap();
        let repo = repo.path().canonicalize().unwrap();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("packages/a")).unwrap();
        let pkg = repo.join("packages/a");
        assert!(!unsafe_link_target(&pkg, &repo.join("packages/b")));
        assert!(!unsafe_link_target(&pkg, &repo.join("vendor/dep")));
        assert!(unsafe_link_target(&pkg, &base.join("proj/dep")));
    }

    #[test]
    fn files_entries_that_climb_out_are_detected() {
        assert!(escapes("../x"));
        assert!(escapes("a/../../x"));
        assert!(!escapes("a/../x"));
        assert!(!escapes("./lib/**"));
    }

    /// The walk may spread subdirectories over threads; whatever the
    /// timing, the selection is the same (here many selections at once,
    /// competing for the helper slots).
    #[test]
    fn parallel_walks_select_the_same_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("package.json"),
            r#"{"name":"x","version":"1.0.0"}"#,
        )
        .unwrap();
        std::fs::write(root.join(".npmignore"), "*.log\nb1/c2\n").unwrap();
        for a in ["a", "b1", "B2", "c", "_d", "e.x"] {
            for b in ["c1", "c2", "C3", "d"] {
                let sub = root.join(a).join(b);
                std::fs::create_dir_all(&sub).unwrap();
                for f in ["x.js", "y.log", "Z.md", "w.d.ts"] {
                    std::fs::write(sub.join(f), f).unwrap();
                }
            }
            std::fs::write(root.join(a).join("index.js"), "1").unwrap();
        }
        std::fs::write(root.join("top.js"), "1").unwrap();
        let manifest = Manifest::read_dir(root).unwrap();
        let reference = select(root, &manifest).unwrap().files;
        assert!(reference.len() > 50, "{reference:?}");
        assert!(!reference
            .iter()
            .any(|f| f.ends_with(".log") || f.starts_with("b1/c2/")));
        std::thread::scope(|s| {
            let runs: Vec<_> = (0..6)
                .map(|_| s.spawn(|| select(root, &manifest).unwrap().files))
                .collect();
            for r in runs {
                assert_eq!(r.join().unwrap(), reference);
            }
        });
    }

    /// One ignore file per level, `.npmignore` first; none for a package
    /// that is not a workspace; an unreadable one is an error naming it.
    #[test]
    fn workspace_root_ignore_files_are_read_per_level() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let write = |p: &str, text: &str| {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write(
            "package.json",
            r#"{"workspaces":{"packages":["packages/*"]}}"#,
        );
        write(".npmignore", "from-npmignore\n");
        write(".gitignore", "from-root-gitignore\n");
        write("packages/.gitignore", "from-packages\n");
        write(
            "packages/x/package.json",
            r#"{"name":"x","version":"1.0.0"}"#,
        );
        write("tools/t/package.json", r#"{"name":"t","version":"1.0.0"}"#);
        let x = root.join("packages/x");
        assert_eq!(
            workspace_root_ignore_files(&x).unwrap(),
            ["from-npmignore\n", "from-packages\n"]
        );
        assert!(workspace_root_ignore_files(&root.join("tools/t"))
            .unwrap()
            .is_empty());
        assert!(workspace_root_ignore_files(&root).unwrap().is_empty());
        std::fs::remove_file(root.join("packages/.gitignore")).unwrap();
        std::fs::create_dir(root.join("packages/.gitignore")).unwrap();
        match workspace_root_ignore_files(&x) {
            Err(FilesError::ReadIgnoreFile { path, .. }) => {
                assert_eq!(path, root.join("packages/.gitignore"))
            }
            other => panic!("expected a read error, got {other:?}"),
        }
    }

    #[test]
    fn ignore_file_lines_are_trimmed_and_comments_dropped() {
        let rules = parse_ignore_file("# c\r\n\r\n  a.js  \r\n\u{feff}b\n!c\n");
        assert_eq!(rules.len(), 3);
        assert!(rules[2].negate());
        // `line.trim()` is JavaScript's: U+3000 goes, U+0085 stays part of
        // the pattern (ignore-walk in npm 11.19.1 gives "\u0085d").
        let rules = parse_ignore_file("\u{3000}c\u{3000}\n\u{85}d\n");
        let patterns: Vec<&str> = rules.iter().map(Rule::pattern).collect();
        assert_eq!(patterns, ["c", "\u{85}d"]);
    }
}
