//! What can go wrong finding, selecting and ordering a workspace's packages.

use std::path::PathBuf;

/// The most names an error lists (a workspace of thousands of packages
/// must not make a message of thousands of lines).
pub(crate) const LIST_MAX: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// A file that had to be read could not be (permissions, too large,
    /// not a regular file).
    #[error("cannot read {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },

    /// A package.json that is not a JSON object.
    #[error("{} is not valid JSON: {reason}", path.display())]
    Json { path: PathBuf, reason: String },

    /// pnpm-workspace.yaml that does not parse.
    #[error("{} is not valid YAML (line {line}): {reason}", path.display())]
    Yaml {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    /// A field of the right file with the wrong shape.
    #[error("{} field \"{field}\" {problem}", path.display())]
    Field {
        path: PathBuf,
        field: String,
        problem: String,
    },

    /// Two members with one name (npm's EDUPLICATEWORKSPACE).
    #[error(
        "must not have multiple workspaces with the same name: package \"{name}\" is in {}",
        list_paths(dirs)
    )]
    Duplicate { name: String, dirs: Vec<PathBuf> },

    /// The directory walk passed its bound.
    #[error("the workspace patterns of {} reach more than {limit} directories, more than trustpub walks", path.display())]
    TooLarge { path: PathBuf, limit: usize },

    /// The walk reached a directory deeper than it goes.
    #[error("the workspace patterns of {} reach {}, more than {limit} directories deep, deeper than trustpub walks", path.display(), dir.display())]
    TooDeep {
        path: PathBuf,
        dir: PathBuf,
        limit: usize,
    },

    /// `--workspace` filters that matched nothing (or `--workspaces` in a
    /// workspace without members).
    #[error("No workspaces found{}", no_workspaces(filters))]
    NoneFound { root: PathBuf, filters: Vec<String> },

    /// Workspace flags outside any workspace.
    #[error("{} is not in a workspace: no package.json with \"workspaces\" or pnpm-workspace.yaml around it lists it", dir.display())]
    NotAWorkspace { dir: PathBuf },

    /// Packages that depend on each other in a circle.
    #[error("{}", cycles_text(cycles))]
    Cycle { cycles: Vec<Vec<String>> },
}

fn list_paths(dirs: &[PathBuf]) -> String {
    let mut s: Vec<String> = dirs
        .iter()
        .take(LIST_MAX)
        .map(|d| d.display().to_string())
        .collect();
    if dirs.len() > LIST_MAX {
        s.push(format!("and {} more", dirs.len() - LIST_MAX));
    }
    s.join(", ")
}

fn no_workspaces(filters: &[String]) -> String {
    if filters.is_empty() {
        return "!".into();
    }
    let mut s = String::from(":");
    for f in filters.iter().take(LIST_MAX) {
        s.push_str(&format!(" --workspace={}", clip(f)));
    }
    if filters.len() > LIST_MAX {
        s.push_str(&format!(" and {} more", filters.len() - LIST_MAX));
    }
    s
}

fn cycles_text(cycles: &[Vec<String>]) -> String {
    let mut lines: Vec<String> = cycles
        .iter()
        .take(LIST_MAX)
        .map(|c| {
            let mut c: Vec<&str> = c.iter().map(|n| clip(n)).collect();
            if let Some(first) = c.first().copied() {
                c.push(first);
            }
            c.join(" → ")
        })
        .collect();
    if cycles.len() > LIST_MAX {
        lines.push(format!("and {} more cycles", cycles.len() - LIST_MAX));
    }
    let what = if cycles.len() == 1 {
        "a dependency cycle"
    } else {
        "dependency cycles"
    };
    format!(
        "the workspace packages have {what}, so no package can go first: {}",
        lines.join("; ")
    )
}

impl WorkspaceError {
    /// 2 for a configuration or usage problem (a file to fix, a flag that
    /// names nothing); 1 for a dependency cycle: npm and pnpm accept such a
    /// workspace (its files are valid and it installs), it is the publish
    /// order that cannot be made.
    pub fn exit_code(&self) -> i32 {
        match self {
            WorkspaceError::Cycle { .. } => 1,
            _ => 2,
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            WorkspaceError::TooDeep { .. } => {
                "narrow the patterns (a pattern such as \"**\" walks the whole tree), or exclude that directory with a negated pattern".into()
            }
            WorkspaceError::Read { path, .. } => format!(
                "make {} a readable regular file, or remove it",
                path.display()
            ),
            WorkspaceError::Json { path, .. } => {
                format!("fix the JSON of {} (npm refuses it too)", path.display())
            }
            WorkspaceError::Yaml { path, .. } => {
                format!("fix the YAML of {} (pnpm refuses it too)", path.display())
            }
            WorkspaceError::Field { path, field, .. } => {
                format!("fix \"{field}\" in {}", path.display())
            }
            WorkspaceError::Duplicate { name, .. } => format!(
                "give each package its own \"name\", or exclude one of the \"{}\" directories from the workspace patterns",
                clip(name)
            ),
            WorkspaceError::TooLarge { path, .. } => format!(
                "narrow the workspace patterns in {} (a pattern such as \"**\" walks the whole tree)",
                path.display()
            ),
            WorkspaceError::NoneFound { root, filters } if filters.is_empty() => format!(
                "the workspace patterns of {} match no directory with a package.json",
                root.display()
            ),
            WorkspaceError::NoneFound { root, .. } => format!(
                "--workspace takes a package name, a member's directory, or a directory holding members (paths relative to the current directory); the workspace root is {}",
                root.display()
            ),
            WorkspaceError::NotAWorkspace { .. } => {
                "run it from the workspace root or a member's directory, or drop --workspaces/--workspace".into()
            }
            WorkspaceError::Cycle { .. } => {
                "remove one dependency of each cycle (a devDependency does not order publishing), or publish the packages one at a time".into()
            }
        }
    }
}

/// The most characters of a name or filter an error quotes (npm's own
/// limit on a package name is 214).
const CLIP_MAX: usize = 256;

/// `s`, cut to [`CLIP_MAX`] characters.
pub(crate) fn clip(s: &str) -> &str {
    match s.char_indices().nth(CLIP_MAX) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
