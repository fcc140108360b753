//! Where npm looks for the project and global npmrc files.
//!
//! * [`local_prefix`] is `loadLocalPrefix` (`@npmcli/config/lib/index.js`):
//!   walk up from the working directory to the first directory holding a
//!   `package.json` file or a `node_modules` directory; then keep walking,
//!   and if an ancestor's `package.json` lists that directory among its
//!   `workspaces`, the ancestor (the workspace root) is the local prefix
//!   and the workspace's own `.npmrc` is ignored.
//! * [`default_global_prefix`] is `loadGlobalPrefix`: `$PREFIX`, else the
//!   directory above the `bin/` holding node (plus `$DESTDIR`), or on
//!   Windows the directory holding `node.exe` itself. npm knows its own
//!   node (`process.execPath`); trustpub looks for `node` on `PATH` and
//!   skips the global npmrc when there is none. (Node's Windows installer
//!   also writes `prefix=${APPDATA}\npm` into npm's *builtin* npmrc, which
//!   trustpub does not read; `npm_config_prefix` or `PREFIX` names it.)
//!
//! Workspace patterns are matched with minimatch's default options
//! (`crate::glob`, the port npm-packlist's rules use too): case-sensitive,
//! no dot-files. The file system is not globbed, only the one candidate
//! directory is tested.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::env::Env;
use crate::glob::{Options, Rule};

/// The result of the local-prefix search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPrefix {
    pub dir: PathBuf,
    /// The workspace whose `.npmrc` npm ignores because `dir` is its root.
    pub workspace: Option<PathBuf>,
}

fn is_file(p: &Path) -> bool {
    fs::metadata(p).map(|m| m.is_file()).unwrap_or(false)
}

fn is_dir(p: &Path) -> bool {
    fs::metadata(p).map(|m| m.is_dir()).unwrap_or(false)
}

/// `loadLocalPrefix` for an absolute `cwd`. `workspaces_enabled` is false for
/// `--workspaces=false` on the command line or global mode.
pub fn local_prefix(cwd: &Path, workspaces_enabled: bool) -> LocalPrefix {
    let mut found: Option<(PathBuf, bool)> = None;
    for p in cwd.ancestors() {
        let has_package_json = is_file(&p.join("package.json"));
        match &found {
            None => {
                if has_package_json || is_dir(&p.join("node_modules")) {
                    found = Some((p.to_path_buf(), has_package_json));
                    if !workspaces_enabled {
                        break;
                    }
                }
            }
            Some((prefix, prefix_has_pkg)) => {
                if !has_package_json {
                    continue;
                }
                let Some(patterns) = read_workspaces(&p.join("package.json")) else {
                    continue;
                };
                if *prefix_has_pkg && is_workspace_of(p, prefix, &patterns) {
                    return LocalPrefix {
                        dir: p.to_path_buf(),
                        workspace: Some(prefix.clone()),
                    };
                }
            }
        }
    }
    LocalPrefix {
        dir: found.map(|(p, _)| p).unwrap_or_else(|| cwd.to_path_buf()),
        workspace: None,
    }
}

/// The `workspaces` patterns of a package.json: an array, or `{ packages }`.
fn read_workspaces(path: &Path) -> Option<Vec<String>> {
    let text = crate::limits::read_file(path, crate::limits::MANIFEST_MAX).ok()?;
    let json: Json = serde_json::from_slice(&text).ok()?;
    let ws = json.get("workspaces")?;
    let list = ws.get("packages").filter(|p| p.is_array()).unwrap_or(ws);
    Some(
        list.as_array()?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
    )
}

/// The workspace patterns as `@npmcli/map-workspaces` splits them
/// (`appendNegatedPatterns`): positive patterns in order and negations,
/// each with a leading `/` or `./` and trailing `/`s stripped. An odd
/// number of leading `!` negates; a later positive pattern re-admits what
/// an earlier negation dropped (the negation is removed), and a positive
/// pattern a remaining negation matches is dropped.
pub(crate) fn split_patterns(patterns: &[String]) -> (Vec<String>, Vec<String>) {
    let mut positive: Vec<String> = Vec::new();
    let mut negated: Vec<String> = Vec::new();
    for raw in patterns {
        let bangs = raw.len() - raw.trim_start_matches('!').len();
        // `pattern.replace(/^\.?\/+/, '')`: strip a leading `/` or `./`.
        let rest = &raw[bangs..];
        let rest = rest
            .strip_prefix('.')
            .filter(|r| r.starts_with('/'))
            .unwrap_or(rest);
        let pattern = rest
            .trim_start_matches('/')
            .trim_end_matches('/')
            .to_string();
        if bangs % 2 == 1 {
            negated.push(pattern);
        } else {
            negated.retain(|n| !glob_match(n, &pattern));
            positive.push(pattern);
        }
    }
    positive.retain(|p| !negated.iter().any(|n| glob_match(n, p)));
    (positive, negated)
}

/// Whether `dir` is among the workspaces `patterns` of `root`, following
/// `@npmcli/map-workspaces` ([`split_patterns`]): a negation drops a
/// directory it matches as `dir` or `dir/` (glob's `ignore`), and nothing
/// under `node_modules` is a workspace.
pub(crate) fn is_workspace_of(root: &Path, dir: &Path, patterns: &[String]) -> bool {
    let Ok(rel) = dir.strip_prefix(root) else {
        return false;
    };
    let rel: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if rel.is_empty() || rel.iter().any(|s| s == "node_modules") {
        return false;
    }
    let rel = rel.join("/");
    let (positive, negated) = split_patterns(patterns);
    // map-workspaces globs `${pattern}/` (folders only), so `packages/a/**`
    // finds `packages/a/` itself (a globstar matches no segment at all).
    let dir = format!("{rel}/");
    positive.iter().any(|p| glob_match(&format!("{p}/"), &dir))
        && !negated
            .iter()
            .any(|n| glob_match(n, &rel) || glob_match(n, &dir))
}

/// `minimatch(path, pattern)`: `pattern` against a `/`-separated relative
/// path, with minimatch's default options.
pub(crate) fn glob_match(pattern: &str, path: &str) -> bool {
    Rule::with_options(pattern, Options::MINIMATCH_DEFAULT).matches(path, false)
}

/// npm's default global prefix, as described in the module docs. `None`
/// when neither `$PREFIX` is set nor `node` is on `PATH`.
pub fn default_global_prefix(env: &Env) -> Option<PathBuf> {
    if let Some(prefix) = env.get_non_empty("PREFIX") {
        return Some(PathBuf::from(prefix));
    }
    let node = find_on_path(env, "node")?;
    // node's execPath is the resolved path on Unix (/proc/self/exe), the
    // path as started on Windows (GetModuleFileNameW).
    let node = if cfg!(windows) {
        node
    } else {
        fs::canonicalize(&node).unwrap_or(node)
    };
    prefix_of_node(&node, cfg!(windows), env.get_non_empty("DESTDIR"))
}

/// `loadGlobalPrefix` from node's path: `c:\node\node.exe` → `c:\node`;
/// `/usr/local/bin/node` → `/usr/local`, under `$DESTDIR` when it is set
/// (Unix only).
pub fn prefix_of_node(node: &Path, windows: bool, destdir: Option<&str>) -> Option<PathBuf> {
    if windows {
        return node.parent().map(Path::to_path_buf);
    }
    let prefix = node.parent()?.parent()?.to_path_buf();
    match destdir {
        Some(destdir) => {
            let rel = prefix.strip_prefix("/").unwrap_or(&prefix);
            Some(Path::new(destdir).join(rel))
        }
        None => Some(prefix),
    }
}

fn find_on_path(env: &Env, program: &str) -> Option<PathBuf> {
    let path = env.get_non_empty("PATH")?;
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| {
            // Windows finds `node` as `node.exe` (PATHEXT).
            let exe = cfg!(windows).then(|| dir.join(format!("{program}.exe")));
            exe.into_iter().chain([dir.join(program)])
        })
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    is_file(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("packages/*", "packages/a", true),
            ("packages/*", "packages/a/b", false),
            ("packages/**", "packages/a/b", true),
            ("packages/**", "packages/.hidden", false),
            ("packages/.*", "packages/.hidden", true),
            ("**", "a/b/c", true),
            ("packages/{a,b}", "packages/b", true),
            ("packages/{a,b}", "packages/c", false),
            ("packages/p{1..3}", "packages/p2", true),
            ("packages/[ab]x", "packages/bx", true),
            ("packages/[!ab]x", "packages/bx", false),
            ("pkg?", "pkg1", true),
            ("apps/web", "apps/web", true),
            ("apps/web", "apps/webx", false),
            // Beyond what the former hand-written subset knew.
            ("packages/@(a|b)", "packages/b", true),
            ("packages/{a..c}", "packages/b", true),
            ("packages/[[:digit:]]", "packages/7", true),
            ("Packages/*", "packages/a", false),
        ];
        for (pat, path, want) in cases {
            assert_eq!(glob_match(pat, path), want, "{pat} vs {path}");
        }
    }

    #[test]
    fn workspace_membership() {
        let root = Path::new("/r");
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_workspace_of(
            root,
            Path::new("/r/packages/a"),
            &p(&["packages/*"])
        ));
        assert!(is_workspace_of(
            root,
            Path::new("/r/packages/a"),
            &p(&["./packages/*/"])
        ));
        assert!(!is_workspace_of(
            root,
            Path::new("/r/packages/a"),
            &p(&["packages/*", "!packages/a"])
        ));
        assert!(is_workspace_of(
            root,
            Path::new("/r/packages/a"),
            &p(&["packages/*", "!packages/a", "packages/a"])
        ));
        assert!(!is_workspace_of(
            root,
            Path::new("/r/node_modules/a"),
            &p(&["**"])
        ));
        assert!(!is_workspace_of(root, Path::new("/r"), &p(&["**"])));
        // map-workspaces globs `packages/a/**/`, which finds packages/a
        // itself (found by review: minimatch alone says no).
        assert!(is_workspace_of(
            root,
            Path::new("/r/packages/a"),
            &p(&["packages/a/**"])
        ));
        assert!(is_workspace_of(
            root,
            Path::new("/r/packages/a/b"),
            &p(&["packages/**"])
        ));
        assert!(!is_workspace_of(
            root,
            Path::new("/r/packages/a"),
            &p(&["packages/b/**"])
        ));
    }

    #[test]
    fn local_prefix_search() {
        let t = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(t.path()).unwrap();
        let ws = root.join("packages/a");
        let deep = ws.join("src/lib");
        fs::create_dir_all(&deep).unwrap();
        fs::write(
            root.join("package.json"),
            r#"{"workspaces":["packages/*"]}"#,
        )
        .unwrap();
        fs::write(ws.join("package.json"), "{}").unwrap();
        // From inside a workspace, the workspace root is the prefix.
        let lp = local_prefix(&deep, true);
        assert_eq!(lp.dir, root);
        assert_eq!(lp.workspace.as_deref(), Some(ws.as_path()));
        // With workspaces disabled, the nearest package.json is.
        assert_eq!(local_prefix(&deep, false).dir, ws);
        // A directory with only node_modules counts too.
        let other = root.join("other/x");
        fs::create_dir_all(other.join("node_modules")).unwrap();
        assert_eq!(local_prefix(&other, true).dir, other);
        // No marker anywhere below a package-less root: the cwd itself.
        let bare = tempfile::tempdir().unwrap();
        let bare = fs::canonicalize(bare.path()).unwrap();
        let lp = local_prefix(&bare, true);
        assert!(
            lp.dir == bare
                || lp.dir.join("package.json").is_file()
                || lp.dir.join("node_modules").is_dir()
        );
    }

    #[test]
    fn global_prefix_from_env() {
        assert_eq!(
            default_global_prefix(&Env::from_pairs([("PREFIX", "/opt/npm")])),
            Some(PathBuf::from("/opt/npm"))
        );
        assert_eq!(
            default_global_prefix(&Env::from_pairs([("PATH", "")])),
            None
        );
    }

    #[test]
    fn global_prefix_from_node_on_each_platform() {
        let unix = |p: &str, d| prefix_of_node(Path::new(p), false, d);
        assert_eq!(unix("/usr/local/bin/node", None), Some("/usr/local".into()));
        assert_eq!(
            unix("/usr/local/bin/node", Some("/stage")),
            Some("/stage/usr/local".into())
        );
        assert_eq!(unix("node", None), None);
        // Windows: the directory of node.exe; DESTDIR is not used there.
        // (Built with `\\` only on Windows, where it separates components.)
        let sep = std::path::MAIN_SEPARATOR;
        let exe = format!("C:{sep}node{sep}node.exe");
        assert_eq!(
            prefix_of_node(Path::new(&exe), true, Some("/stage")),
            Some(PathBuf::from(format!("C:{sep}node")))
        );
    }

    #[test]
    fn node_on_path_gives_the_global_prefix() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        let name = if cfg!(windows) { "node.exe" } else { "node" };
        fs::write(bin.join(name), b"").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(bin.join(name), fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = std::env::join_paths([&bin]).unwrap();
        let env = Env::from_pairs([("PATH", path.to_str().unwrap())]);
        let want = if cfg!(windows) {
            bin.clone()
        } else {
            fs::canonicalize(t.path()).unwrap()
        };
        assert_eq!(default_global_prefix(&env), Some(want));
    }
}
