//! Workspaces (issue #13): which packages a monorepo holds, the package
//! manager that owns it, the manifest that manager would publish, and the
//! order packages go in.
//!
//! * `discover.rs`: the workspace around a directory (npm's, yarn's and
//!   bun's `package.json` `workspaces`, pnpm's `pnpm-workspace.yaml`), its
//!   package manager, catalogs, and `--workspace`/`--workspaces` selection
//!   as npm resolves them;
//! * `order.rs`: dependencies before dependents, cycles named;
//! * `rewrite.rs`: the `package.json` pnpm, yarn or bun put in the tarball
//!   (`workspace:` and `catalog:` ranges, `publishConfig` overrides).

pub mod discover;
pub mod error;
pub mod order;
pub mod rewrite;

pub use error::WorkspaceError;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

/// The package manager that owns a workspace (it decides how `workspace:`
/// and `catalog:` ranges are published).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Npm,
    Pnpm,
    Yarn,
    Bun,
}

impl Manager {
    pub fn as_str(self) -> &'static str {
        match self {
            Manager::Npm => "npm",
            Manager::Pnpm => "pnpm",
            Manager::Yarn => "yarn",
            Manager::Bun => "bun",
        }
    }
}

/// One package of a workspace.
#[derive(Debug, Clone)]
pub struct Member {
    /// `name` from its package.json (may be missing in a broken member:
    /// then the directory's path relative to the root, as npm names it).
    pub name: String,
    pub version: Option<String>,
    /// Absolute directory.
    pub dir: PathBuf,
    /// The directory relative to the workspace root, `/`-separated
    /// (`"."` for the root itself).
    pub rel: String,
    /// `"private": true`.
    pub private: bool,
    /// The package.json as read (not normalised).
    pub manifest: Map<String, Value>,
}

/// A workspace: its root, manager, members and catalogs.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Absolute directory of the root package.json / pnpm-workspace.yaml.
    pub root: PathBuf,
    pub manager: Manager,
    /// Why this manager (e.g. `packageManager "pnpm@10.12.1" in package.json`).
    pub manager_reason: String,
    /// The root package itself (it is a member only with
    /// `--include-workspace-root`).
    pub root_package: Option<Member>,
    /// The members, in npm's order (map-workspaces: pattern order, then
    /// path order within a pattern), the root excluded.
    pub members: Vec<Member>,
    /// Catalogs by name; the default catalog is named `"default"`
    /// (pnpm's `catalog:` in pnpm-workspace.yaml, bun's in package.json).
    /// Each maps a dependency name to its range.
    pub catalogs: BTreeMap<String, BTreeMap<String, String>>,
}
