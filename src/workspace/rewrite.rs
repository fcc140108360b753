//! The `package.json` pnpm, yarn or bun put in the tarball of a workspace
//! member: `workspace:` and `catalog:` ranges resolved, `publishConfig`
//! overrides applied, serialised byte for byte as that tool writes it.
//!
//! What each tool does (read from its sources and checked against the real
//! tools by `tests/it/workspace_rewrite.rs`):
//!
//! * **pnpm** (`exportable-manifest`): drops `packageManager`, `pnpm` and the
//!   publish lifecycle scripts (`scripts` moves to the end); resolves
//!   `workspace:` in `dependencies`, `devDependencies`,
//!   `optionalDependencies` (`*`/`^`/`~`/empty → the member's version with
//!   that prefix, `name@…` and paths → `npm:` aliases, explicit ranges
//!   stripped) and in `peerDependencies` (its own rule), then `catalog:`;
//!   hoists the whitelisted `publishConfig` fields (`publishConfig` goes
//!   when nothing else is left in it). Written as `JSON.stringify(m, null,
//!   2)` with no final newline. pnpm 10 and 11 list the dependencies
//!   whose version they had to read after the others (their answers arrive
//!   in that order; among several such, the order varies from run to run:
//!   trustpub keeps the file's, the most frequent); pnpm 11 and later turn a
//!   string `repository` into `{type, url}`, give every
//!   `peerDependenciesMeta` entry an `optional`, and hoist
//!   `publishConfig.name`; pnpm 12 (Rust) keeps the dependency order, drops
//!   build metadata from the version and keeps keys in file order.
//!   Which pnpm: the major of `packageManager` in the root package.json
//!   (pnpm 12's behaviour when it names none).
//! * **yarn** 2+ (`plugin-pack`, `plugin-typescript` `beforeWorkspacePacking`):
//!   `publishConfig` `type`, `main`, `browser`, `module`, `exports`,
//!   `imports`, `bin`, then `typings`, `types` copied over (publishConfig
//!   stays); `workspace:` ranges of members it matches rewritten (an
//!   optional dependency's into `optionalDependencies`); `catalog:` and
//!   `catalog:<name>` from `.yarnrc.yml` `catalog`/`catalogs` in
//!   `dependencies`, `devDependencies` and `peerDependencies` (yarn leaves
//!   `optionalDependencies` as written); `JSON.stringify(m, null, 2)`, no
//!   final newline. yarn 1 (named by `packageManager`) rewrites nothing and
//!   is refused like npm.
//! * **bun** (`pm pack`): `workspace:` and `catalog:` in the four
//!   dependency fields, nothing else; printed by bun's JSON printer with the
//!   file's indentation, arrays on one line when they were, a final newline
//!   when the file had one.
//! * **npm** publishes `workspace:` and `catalog:` verbatim (uninstallable),
//!   so such a package is refused, with the fix.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Manager, Member, Workspace};
use crate::js;

/// The dependency fields the tools look at.
const DEP_FIELDS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
];

/// pnpm's prepublish scripts, removed from the published `scripts`.
const PNPM_PREPUBLISH_SCRIPTS: [&str; 6] = [
    "prepublishOnly",
    "prepack",
    "prepare",
    "postpack",
    "publish",
    "postpublish",
];

/// pnpm's `publishConfig` fields copied into the manifest (pnpm 11+ adds
/// `name` in front).
const PNPM_PUBLISH_CONFIG: [&str; 18] = [
    "bin",
    "engines",
    "type",
    "imports",
    "main",
    "module",
    "typings",
    "types",
    "exports",
    "browser",
    "esnext",
    "es2015",
    "unpkg",
    "umd:main",
    "os",
    "cpu",
    "libc",
    "typesVersions",
];

/// The package.json a package manager would publish.
#[derive(Debug, Clone)]
pub struct Rewritten {
    /// package.json as the tool writes it into the tarball.
    pub bytes: Vec<u8>,
    /// The same, parsed (for the registry document).
    pub manifest: Map<String, Value>,
    /// Which tool (and version rule) wrote it, for messages.
    pub by: String,
}

/// Where a dependency is: the file, the field, its name and its range.
#[derive(Debug)]
pub struct DepAt {
    pub path: PathBuf,
    pub field: String,
    pub name: String,
    pub spec: String,
}

impl std::fmt::Display for DepAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} \"{}\" is \"{}\"",
            self.path.display(),
            self.field,
            self.name,
            self.spec
        )
    }
}

impl Rewritten {
    /// The line `pack` and `publish` print about it.
    pub fn notice(&self) -> String {
        let name = self
            .manifest
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("the package");
        format!(
            "{name}: package.json as {} packs it (workspace: and catalog: ranges resolved, its publishConfig rules applied)",
            self.by
        )
    }
}

/// A member whose manifest cannot be published as its manager would.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// `workspace:`/`catalog:` in a package of an npm workspace.
    #[error("{at}: npm publishes the {protocol} protocol as it is, and nobody could install the package")]
    NpmProtocol {
        at: Box<DepAt>,
        protocol: &'static str,
        /// The range pnpm would write there, when the workspace tells.
        suggest: Option<String>,
    },
    /// `workspace:`/`catalog:` in a package that no workspace around it
    /// lists: nothing can resolve it, and published as it is nobody could
    /// install the package.
    #[error("{at}, but {} is in no workspace trustpub can find, so nothing can resolve the {protocol} protocol", dir.display())]
    NoWorkspace {
        at: Box<DepAt>,
        protocol: &'static str,
        dir: PathBuf,
    },
    /// A `workspace:` range naming no member.
    #[error("{at}, but no package of the workspace at {} is named \"{target}\"", root.display())]
    NoMember {
        at: Box<DepAt>,
        target: String,
        root: PathBuf,
    },
    /// A member without a version that another one depends on.
    #[error("{at}, but {} has no \"version\"", member.display())]
    NoVersion { at: Box<DepAt>, member: PathBuf },
    /// `catalog:` naming a missing catalog or entry.
    #[error("{at}, but the {catalog} catalog has no \"{}\"", at.name)]
    NoCatalogEntry { at: Box<DepAt>, catalog: String },
    /// A catalog entry pnpm refuses (`workspace:`, `link:`, `file:`).
    #[error(
        "{at}, and the {catalog} catalog gives it \"{entry}\", which pnpm refuses in a catalog"
    )]
    BadCatalogEntry {
        at: Box<DepAt>,
        catalog: String,
        entry: String,
    },
    /// Something trustpub does not reproduce for this manager.
    #[error("{at}: {what}")]
    Unsupported { at: Box<DepAt>, what: String },
    /// A `publishConfig` field whose effect trustpub does not reproduce.
    #[error("{} publishConfig.{field} is {value}: {what}", path.display())]
    PublishConfig {
        path: PathBuf,
        field: &'static str,
        value: String,
        what: &'static str,
    },
    /// The manager's own refusals (missing name or version, bad scope).
    #[error("{}: {problem}", path.display())]
    Manifest { path: PathBuf, problem: String },
    #[error(transparent)]
    Workspace(#[from] super::error::WorkspaceError),
}

impl RewriteError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RewriteError::Workspace(e) => e.exit_code(),
            _ => 2,
        }
    }

    pub fn hint(&self) -> Option<String> {
        Some(match self {
            RewriteError::NoWorkspace { at, protocol, .. } => format!(
                "publish it from the workspace it belongs to (a package.json \"workspaces\" or pnpm-workspace.yaml around it that lists this directory), or write a version range in {} \"{}\" instead of the {protocol} protocol",
                at.field, at.name
            ),
            RewriteError::NpmProtocol {
                at,
                protocol,
                suggest,
            } => {
                let range = match suggest {
                    Some(r) => format!("\"{r}\""),
                    None => "a version range".into(),
                };
                format!(
                    "write {range} in {} \"{}\" instead of the {protocol} protocol, \
                     or publish with the package manager that owns the workspace: trustpub follows pnpm, yarn or bun \
                     when the root package.json names it in \"packageManager\" or its lockfile \
                     (pnpm-lock.yaml, yarn.lock, bun.lock) is at the workspace root",
                    at.field, at.name
                )
            }
            RewriteError::NoMember { target, .. } => format!(
                "add the package \"{target}\" to the workspace, or depend on a published version range instead"
            ),
            RewriteError::NoVersion { member, .. } => format!(
                "give {} a \"version\"",
                member.join("package.json").display()
            ),
            RewriteError::NoCatalogEntry { catalog, at } => format!(
                "add \"{}\" to the {catalog} catalog of the workspace, or write its version range",
                at.name
            ),
            RewriteError::BadCatalogEntry { at, .. } => format!(
                "give \"{}\" a version range in the catalog, or write the range in package.json",
                at.name
            ),
            RewriteError::Unsupported { at, .. } => format!(
                "write the version range in {} \"{}\", or publish this package with its package manager",
                at.field, at.name
            ),
            RewriteError::PublishConfig { field, .. } => format!(
                "remove publishConfig.{field}, or publish this package with pnpm itself"
            ),
            RewriteError::Manifest { path, .. } => format!("fix {}", path.display()),
            RewriteError::Workspace(e) => e.hint(),
        })
    }
}

/// The workspace around `dir` and the manifest its manager would publish
/// for the package in `dir` (`None`: publish package.json as it is).
pub fn for_package(dir: &Path) -> Result<Option<Rewritten>, RewriteError> {
    for_package_in(dir, None)
}

/// [`for_package`], in `workspace` when the caller has found it already
/// (a workspace run finds it once, not once per package).
pub fn for_package_in(
    dir: &Path,
    workspace: Option<&Workspace>,
) -> Result<Option<Rewritten>, RewriteError> {
    let path = dir.join("package.json");
    let raw_bytes = match crate::limits::read_file(&path, crate::limits::MANIFEST_MAX) {
        Ok(b) => b,
        // The packer reports a missing or unreadable package.json itself.
        Err(_) => return Ok(None),
    };
    let Ok(Value::Object(raw)) = serde_json::from_slice::<Value>(
        raw_bytes
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(&raw_bytes),
    ) else {
        return Ok(None);
    };
    if let Some(ws) = workspace {
        return publish_manifest(ws, dir, &raw, &raw_bytes);
    }
    let ws = match super::discover::find(dir) {
        Ok(Some(ws)) => ws,
        Ok(None) => return no_workspace(dir, &raw),
        // A workspace trustpub cannot read (a broken member elsewhere, say)
        // stops only a package that needs it: npm packs the others.
        Err(e) if has_protocols(&raw) => return Err(e.into()),
        Err(_) => return Ok(None),
    };
    publish_manifest(&ws, dir, &raw, &raw_bytes)
}

/// A package in no workspace: as it is, unless it has `workspace:` or
/// `catalog:` ranges, which nothing could resolve.
fn no_workspace(dir: &Path, raw: &Map<String, Value>) -> Result<Option<Rewritten>, RewriteError> {
    match first_protocol(raw) {
        None => Ok(None),
        Some(p) => Err(RewriteError::NoWorkspace {
            at: Box::new(DepAt {
                path: dir.join("package.json"),
                field: p.field.to_string(),
                name: p.name.to_string(),
                spec: p.spec.to_string(),
            }),
            protocol: p.protocol,
            dir: dir.to_path_buf(),
        }),
    }
}

/// A dependency written with a protocol only a workspace resolves.
struct Protocol<'a> {
    field: &'static str,
    name: &'a str,
    spec: &'a str,
    /// `workspace:` or `catalog:`.
    protocol: &'static str,
}

/// The first dependency with a `workspace:` or `catalog:` range.
fn first_protocol(raw: &Map<String, Value>) -> Option<Protocol<'_>> {
    DEP_FIELDS.into_iter().find_map(|field| {
        raw.get(field)?.as_object()?.iter().find_map(|(name, v)| {
            let spec = v.as_str()?;
            let protocol = ["workspace:", "catalog:"]
                .into_iter()
                .find(|p| spec.starts_with(p))?;
            Some(Protocol {
                field,
                name,
                spec,
                protocol,
            })
        })
    })
}

fn has_protocols(raw: &Map<String, Value>) -> bool {
    first_protocol(raw).is_some()
}

/// The manifest `ws`'s manager would publish for the member in
/// `member_dir` whose package.json is `raw` (parsed) / `raw_bytes`.
pub fn publish_manifest(
    ws: &Workspace,
    member_dir: &Path,
    raw: &Map<String, Value>,
    raw_bytes: &[u8],
) -> Result<Option<Rewritten>, RewriteError> {
    let cx = Cx {
        ws,
        dir: member_dir,
        path: member_dir.join("package.json"),
    };
    let out = match ws.manager {
        Manager::Npm => {
            cx.refuse_protocols(raw)?;
            return Ok(None);
        }
        Manager::Yarn if yarn_classic(ws) => {
            cx.refuse_protocols(raw)?;
            return Ok(None);
        }
        Manager::Pnpm => {
            let flavour = pnpm_flavour(ws);
            let m = cx.pnpm(raw, flavour)?;
            let bytes = match flavour {
                Pnpm::V12 => {
                    serde_json::to_vec_pretty(&Value::Object(m.clone())).unwrap_or_default()
                }
                _ => js_pretty(&Value::Object(m.clone()), "  "),
            };
            (bytes, m, format!("pnpm {}", flavour.label()))
        }
        Manager::Yarn => {
            let m = cx.yarn(raw)?;
            (js_pretty(&Value::Object(m.clone()), "  "), m, "yarn".into())
        }
        Manager::Bun => {
            let m = cx.bun(raw)?;
            (bun_print(&m, raw_bytes), m, "bun".into())
        }
    };
    let (bytes, _, by) = out;
    if bytes == raw_bytes {
        return Ok(None);
    }
    // The manifest as the registry will see it: the bytes parsed back.
    let manifest = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(RewriteError::Manifest {
                path: cx.path,
                problem: format!("{by} would write a package.json that is not a JSON object"),
            })
        }
    };
    Ok(Some(Rewritten {
        bytes,
        manifest,
        by,
    }))
}

/// pnpm's behaviour generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pnpm {
    V10,
    V11,
    V12,
}

impl Pnpm {
    fn label(self) -> &'static str {
        match self {
            Pnpm::V10 => "10",
            Pnpm::V11 => "11",
            Pnpm::V12 => "12",
        }
    }
}

/// `packageManager` (or `devEngines.packageManager.version`) of the root.
fn pinned_version(ws: &Workspace, tool: &str) -> Option<u64> {
    let root = ws.root_package.as_ref()?;
    let pm = root.manifest.get("packageManager").and_then(Value::as_str);
    let version = match pm.and_then(|s| s.strip_prefix(tool)?.strip_prefix('@')) {
        Some(v) => v.to_string(),
        None => {
            let dev = root.manifest.get("devEngines")?.get("packageManager")?;
            let one = match dev {
                Value::Array(a) => a
                    .iter()
                    .find(|c| c.get("name").and_then(Value::as_str) == Some(tool))?,
                v => v,
            };
            if one.get("name").and_then(Value::as_str) != Some(tool) {
                return None;
            }
            one.get("version")?.as_str()?.to_string()
        }
    };
    let digits: String = version
        .trim_start_matches(['^', '~', '=', 'v', '>'])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn pnpm_flavour(ws: &Workspace) -> Pnpm {
    match pinned_version(ws, "pnpm") {
        Some(m) if m <= 10 => Pnpm::V10,
        Some(11) => Pnpm::V11,
        _ => Pnpm::V12,
    }
}

fn yarn_classic(ws: &Workspace) -> bool {
    pinned_version(ws, "yarn").is_some_and(|m| m < 2)
}

/// What the rewriting of one member needs.
struct Cx<'a> {
    ws: &'a Workspace,
    dir: &'a Path,
    path: PathBuf,
}

/// One dependency being rewritten, for messages.
struct Dep<'a> {
    field: &'a str,
    name: &'a str,
    spec: &'a str,
}

impl Cx<'_> {
    fn at(&self, d: &Dep) -> Box<DepAt> {
        Box::new(DepAt {
            path: self.path.clone(),
            field: d.field.into(),
            name: d.name.into(),
            spec: d.spec.into(),
        })
    }

    fn members(&self) -> impl Iterator<Item = &Member> {
        self.ws.root_package.iter().chain(self.ws.members.iter())
    }

    fn by_name(&self, d: &Dep, target: &str) -> Result<&Member, RewriteError> {
        self.members()
            .find(|m| m.name == target && m.manifest.contains_key("name"))
            .ok_or_else(|| RewriteError::NoMember {
                at: self.at(d),
                target: target.into(),
                root: self.ws.root.clone(),
            })
    }

    fn by_dir(&self, d: &Dep, dir: &Path) -> Result<&Member, RewriteError> {
        let want = canonical(dir);
        self.members()
            .find(|m| canonical(&m.dir) == want)
            .ok_or_else(|| RewriteError::NoMember {
                at: self.at(d),
                target: dir.display().to_string(),
                root: self.ws.root.clone(),
            })
    }

    fn version_of<'m>(&self, d: &Dep, m: &'m Member) -> Result<&'m str, RewriteError> {
        m.manifest
            .get("version")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| RewriteError::NoVersion {
                at: self.at(d),
                member: m.dir.clone(),
            })
    }

    fn refuse_protocols(&self, raw: &Map<String, Value>) -> Result<(), RewriteError> {
        let Some(Protocol {
            field,
            name,
            spec,
            protocol,
        }) = first_protocol(raw)
        else {
            return Ok(());
        };
        let d = Dep { field, name, spec };
        // What pnpm would publish there, as the fix to write.
        let suggest = if protocol == "catalog:" {
            self.catalog(&d, spec).ok().flatten()
        } else if field == "peerDependencies" {
            self.workspace_peer(&d, spec).ok().map(|r| r.0)
        } else {
            self.workspace_regular(&d, spec).ok().map(|r| r.0)
        };
        Err(RewriteError::NpmProtocol {
            at: self.at(&d),
            protocol,
            suggest,
        })
    }

    /// pnpm's `resolveFromCatalog`.
    fn catalog(&self, d: &Dep, spec: &str) -> Result<Option<String>, RewriteError> {
        let Some(rest) = spec.strip_prefix("catalog:") else {
            return Ok(None);
        };
        let name = js::js_trim(rest);
        let name = if name.is_empty() { "default" } else { name };
        let entry = self
            .ws
            .catalogs
            .get(name)
            .and_then(|c| c.get(d.name))
            .ok_or_else(|| RewriteError::NoCatalogEntry {
                at: self.at(d),
                catalog: if name == "default" {
                    "default".into()
                } else {
                    format!("\"{name}\"")
                },
            })?;
        if ["workspace:", "link:", "file:"]
            .iter()
            .any(|p| entry.starts_with(p))
        {
            return Err(RewriteError::BadCatalogEntry {
                at: self.at(d),
                catalog: name.into(),
                entry: entry.clone(),
            });
        }
        Ok(Some(entry.clone()))
    }

    /// pnpm's (and bun's) `replaceWorkspaceProtocol`; the flag says whether
    /// pnpm had to read a package.json for it.
    fn workspace_regular(&self, d: &Dep, spec: &str) -> Result<(String, bool), RewriteError> {
        let Some(rest) = spec.strip_prefix("workspace:") else {
            return Ok((spec.to_string(), false));
        };
        // ^workspace:(?:(.+)@)?([\^~*])?$
        let (alias, suffix) = match rest.chars().last() {
            Some(c @ ('^' | '~' | '*')) => (&rest[..rest.len() - 1], Some(c)),
            _ => (rest, None),
        };
        let short = if alias.is_empty() {
            Some(None)
        } else {
            alias.strip_suffix('@').filter(|n| !n.is_empty()).map(Some)
        };
        if let Some(target) = short {
            let m = self.by_name(d, target.unwrap_or(d.name))?;
            let v = self.version_of(d, m)?;
            let token = match suffix {
                Some('^') => "^",
                Some('~') => "~",
                _ => "",
            };
            return Ok((
                if m.name != d.name {
                    format!("npm:{}@{token}{v}", m.name)
                } else {
                    format!("{token}{v}")
                },
                true,
            ));
        }
        if rest.starts_with("./") || rest.starts_with("../") {
            let m = self.by_dir(d, &self.dir.join(rest))?;
            let v = self.version_of(d, m)?;
            return Ok((
                if m.name == d.name {
                    v.to_string()
                } else {
                    format!("npm:{}@{v}", m.name)
                },
                true,
            ));
        }
        Ok((
            if rest.contains('@') {
                format!("npm:{rest}")
            } else {
                rest.to_string()
            },
            false,
        ))
    }

    /// pnpm's `replaceWorkspaceProtocolPeerDependency`.
    fn workspace_peer(&self, d: &Dep, spec: &str) -> Result<(String, bool), RewriteError> {
        let Some(at) = spec.find("workspace:") else {
            return Ok((spec.to_string(), false));
        };
        let after = &spec[at + "workspace:".len()..];
        // ([\^~*]|>=|>|<=|<)?
        let op = ["^", "~", "*", ">=", ">", "<=", "<"]
            .into_iter()
            .find(|o| after.starts_with(o))
            .unwrap_or("");
        let rest = &after[op.len()..];
        if peer_version_len(rest) > 0 {
            return Ok((spec.replacen("workspace:", "", 1), false));
        }
        // An alias (`workspace:name@^`) or a path (`workspace:../dir`) in a
        // peer dependency: pnpm 10 writes an invalid range for these and
        // pnpm 12 something else again; neither is worth reproducing.
        if !rest.is_empty() {
            return Err(RewriteError::Unsupported {
                at: self.at(d),
                what: "a peer dependency written as an alias or a path, which pnpm versions publish differently (pnpm 10 as an invalid range)".into(),
            });
        }
        let m = self.by_name(d, d.name)?;
        let v = self.version_of(d, m)?;
        let token = if op == "*" { "" } else { op };
        let mut out = String::with_capacity(spec.len() + v.len());
        out.push_str(&spec[..at]);
        out.push_str(token);
        out.push_str(v);
        out.push_str(rest);
        Ok((out, true))
    }

    fn pnpm(
        &self,
        raw: &Map<String, Value>,
        flavour: Pnpm,
    ) -> Result<Map<String, Value>, RewriteError> {
        // What pnpm does with these is more than a manifest: another
        // directory packed, or the package published under another name.
        if let Some(pc) = raw.get("publishConfig").and_then(Value::as_object) {
            if let Some(d) = pc.get("directory").filter(|v| js::truthy(v)) {
                return Err(RewriteError::PublishConfig {
                    path: self.path.clone(),
                    field: "directory",
                    value: js::to_js_string(d),
                    what: "pnpm packs that directory instead, which trustpub does not do",
                });
            }
            if let Some(n) = pc.get("name").filter(|n| Some(*n) != raw.get("name")) {
                if flavour != Pnpm::V10 {
                    return Err(RewriteError::PublishConfig {
                        path: self.path.clone(),
                        field: "name",
                        value: js::to_js_string(n),
                        what:
                            "pnpm publishes the package under that name, which trustpub does not do",
                    });
                }
            }
        }
        let mut m: Map<String, Value> = raw
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "scripts" | "packageManager" | "pnpm"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(scripts) = raw.get("scripts").and_then(Value::as_object) {
            let kept: Map<String, Value> = scripts
                .iter()
                .filter(|(k, _)| !PNPM_PREPUBLISH_SCRIPTS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            m.insert("scripts".into(), Value::Object(kept));
        }
        for field in DEP_FIELDS {
            let Some(deps) = raw.get(field).and_then(Value::as_object) else {
                continue;
            };
            let peer = field == "peerDependencies";
            let mut quick = Map::new();
            let mut read = Map::new();
            for (name, spec) in deps {
                let Some(s) = spec.as_str() else {
                    quick.insert(name.clone(), spec.clone());
                    continue;
                };
                let d = Dep {
                    field,
                    name,
                    spec: s,
                };
                let (after, did_read) = if peer {
                    self.workspace_peer(&d, s)?
                } else {
                    self.workspace_regular(&d, s)?
                };
                let after = self.catalog(&d, &after)?.unwrap_or(after);
                let after = jsr(name, &after);
                if did_read && flavour != Pnpm::V12 {
                    read.insert(name.clone(), Value::String(after));
                } else {
                    quick.insert(name.clone(), Value::String(after));
                }
            }
            // pnpm 10 and 11 fill the object as the answers come: those
            // that read a member's package.json come last, in an order that
            // varies between their runs when there are several (trustpub
            // keeps the file's, the order they most often arrive in).
            for (k, v) in read {
                quick.shift_remove(&k);
                quick.insert(k, v);
            }
            m.insert(field.into(), Value::Object(quick));
        }
        // overridePublishConfig
        if let Some(pc) = m.get("publishConfig").and_then(Value::as_object).cloned() {
            let mut remaining = Map::new();
            for (k, v) in pc {
                let hoist = PNPM_PUBLISH_CONFIG.contains(&k.as_str())
                    || (k == "name" && flavour != Pnpm::V10);
                if hoist {
                    m.insert(k, v);
                } else {
                    remaining.insert(k, v);
                }
            }
            if remaining.is_empty() {
                m.shift_remove("publishConfig");
            } else {
                m.insert("publishConfig".into(), Value::Object(remaining));
            }
        }
        // transform: required fields, bin, (11+) peerDependenciesMeta, repository
        for field in ["name", "version"] {
            if !js::truthy_opt(m.get(field)) {
                return Err(RewriteError::Manifest {
                    path: self.path.clone(),
                    problem: format!("pnpm refuses to pack it: Missing required field \"{field}\""),
                });
            }
        }
        if flavour != Pnpm::V10 {
            if let Some(Value::String(bin)) = m.get("bin").cloned() {
                let name = m.get("name").and_then(Value::as_str).unwrap_or("");
                let cmd = if let Some(scoped) = name.strip_prefix('@') {
                    match scoped.find('/') {
                        Some(i) => scoped[i + 1..].to_string(),
                        None => {
                            return Err(RewriteError::Manifest {
                                path: self.path.clone(),
                                problem: format!(
                                    "pnpm refuses to pack it: the name \"{name}\" is not a valid scoped package name"
                                ),
                            })
                        }
                    }
                } else {
                    name.to_string()
                };
                let mut o = Map::new();
                o.insert(cmd, Value::String(bin));
                m.insert("bin".into(), Value::Object(o));
            }
            if let Some(Value::Object(meta)) = m.get("peerDependenciesMeta").cloned() {
                let mut out = Map::new();
                for (k, e) in meta {
                    let Value::Object(mut e) = e else {
                        out.insert(k, e);
                        continue;
                    };
                    let optional = if flavour == Pnpm::V12 {
                        Value::Bool(e.get("optional").and_then(Value::as_bool).unwrap_or(false))
                    } else {
                        // `{...rest, optional: optional ?? false}`
                        let o = e.shift_remove("optional");
                        match o {
                            Some(Value::Null) | None => Value::Bool(false),
                            Some(v) => v,
                        }
                    };
                    e.insert("optional".into(), optional);
                    out.insert(k, Value::Object(e));
                }
                m.insert("peerDependenciesMeta".into(), Value::Object(out));
            }
            if let Some(Value::String(url)) = m.get("repository").cloned() {
                let mut o = Map::new();
                o.insert("type".into(), Value::String("git".into()));
                o.insert("url".into(), Value::String(url));
                m.insert("repository".into(), Value::Object(o));
            }
        }
        if flavour == Pnpm::V12 {
            if let Some(Value::String(v)) = m.get("version").cloned() {
                if let Some((base, _)) = v.split_once('+') {
                    m.insert("version".into(), Value::String(base.to_string()));
                }
            }
        }
        Ok(m)
    }

    fn yarn(&self, raw: &Map<String, Value>) -> Result<Map<String, Value>, RewriteError> {
        let mut m = raw.clone();
        // plugin-catalog: `catalog:` (the `catalog` setting) and
        // `catalog:<name>` (`catalogs.<name>`) of .yarnrc.yml, in the three
        // fields yarn calls all dependencies (not optionalDependencies).
        let mut rc: Option<yaml_rust2::Yaml> = None;
        for field in ["dependencies", "devDependencies", "peerDependencies"] {
            let Some(Value::Object(deps)) = m.get_mut(field) else {
                continue;
            };
            for (name, spec) in deps.iter_mut() {
                let Some(s) = spec.as_str().filter(|s| s.starts_with("catalog:")) else {
                    continue;
                };
                let s = s.to_string();
                let d = Dep {
                    field,
                    name,
                    spec: &s,
                };
                if rc.is_none() {
                    rc = Some(self.yarnrc()?);
                }
                let doc = rc.as_ref().expect("read above");
                *spec = Value::String(self.yarn_catalog(&d, doc)?);
            }
        }
        let pc = raw.get("publishConfig").cloned();
        let copy = |m: &mut Map<String, Value>, keys: &[&str]| {
            if let Some(Value::Object(pc)) = &pc {
                for k in keys {
                    if let Some(v) = pc.get(*k).filter(|v| js::truthy(v)) {
                        m.insert((*k).to_string(), v.clone());
                    }
                }
            }
        };
        copy(
            &mut m,
            &[
                "type", "main", "browser", "module", "exports", "imports", "bin",
            ],
        );
        // Manifest.load: optionalDependencies join dependencies, flagged.
        let mut optional: Vec<String> = Vec::new();
        if let Some(meta) = raw.get("dependenciesMeta").and_then(Value::as_object) {
            for (k, v) in meta {
                if v.get("optional").and_then(Value::as_bool) == Some(true) {
                    optional.push(k.clone());
                }
            }
        }
        let mut scopes: Vec<(&str, Vec<(String, String)>)> = Vec::new();
        let mut deps: Vec<(String, String)> = Vec::new();
        let push = |list: &mut Vec<(String, String)>, name: &str, spec: &Value| {
            let s = js::to_js_string(spec);
            match list.iter_mut().find(|(n, _)| n == name) {
                Some(e) => e.1 = s,
                None => list.push((name.to_string(), s)),
            }
        };
        if let Some(o) = raw.get("dependencies").and_then(Value::as_object) {
            for (k, v) in o {
                push(&mut deps, k, v);
            }
        }
        if let Some(o) = raw.get("optionalDependencies").and_then(Value::as_object) {
            for (k, v) in o {
                push(&mut deps, k, v);
                optional.push(k.clone());
            }
        }
        scopes.push(("dependencies", deps));
        for field in ["devDependencies", "peerDependencies"] {
            let mut list = Vec::new();
            if let Some(o) = raw.get(field).and_then(Value::as_object) {
                for (k, v) in o {
                    push(&mut list, k, v);
                }
            }
            scopes.push((field, list));
        }
        for (scope, list) in scopes {
            for (name, range) in list {
                let Some(selector) = range.strip_prefix("workspace:") else {
                    continue;
                };
                let d = Dep {
                    field: scope,
                    name: &name,
                    spec: &range,
                };
                let Some(ws) = self.yarn_match(&name, selector) else {
                    if !self.members().any(|m| m.name == name) {
                        return Err(RewriteError::NoMember {
                            at: self.at(&Dep {
                                field: scope,
                                name: &name,
                                spec: &range,
                            }),
                            target: name.clone(),
                            root: self.ws.root.clone(),
                        });
                    }
                    continue;
                };
                let version = ws
                    .manifest
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or("0.0.0");
                let anchored = ws.name == name && selector == yarn_rel(&ws.rel);
                let _ = &d;
                let write = if anchored || selector == "*" {
                    version.to_string()
                } else if selector == "~" || selector == "^" {
                    format!("{selector}{version}")
                } else {
                    selector.to_string()
                };
                let target = if scope == "dependencies" && optional.contains(&name) {
                    "optionalDependencies"
                } else {
                    scope
                };
                let obj = m
                    .entry(target.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(o) = obj {
                    o.insert(name.clone(), Value::String(write));
                }
            }
        }
        copy(&mut m, &["typings", "types"]);
        Ok(m)
    }

    /// The root's .yarnrc.yml (empty when there is none).
    fn yarnrc(&self) -> Result<yaml_rust2::Yaml, RewriteError> {
        use crate::workflows::yaml;
        let path = self.ws.root.join(".yarnrc.yml");
        let text = match crate::limits::read_text(&path, crate::limits::WORKFLOW_FILE_MAX) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(RewriteError::Manifest {
                    path,
                    problem: format!("cannot read it: {e}"),
                })
            }
        };
        match yaml::parse(&text) {
            Ok(Some(doc)) => Ok(doc),
            Ok(None) => Ok(yaml_rust2::Yaml::Hash(Default::default())),
            Err((line, reason)) => Err(RewriteError::Manifest {
                path,
                problem: format!("not valid YAML (line {line}): {reason}"),
            }),
        }
    }

    /// plugin-catalog's resolution, then the range as yarn writes it back
    /// (`npm:`, the default protocol, dropped).
    fn yarn_catalog(&self, d: &Dep, doc: &yaml_rust2::Yaml) -> Result<String, RewriteError> {
        use crate::workflows::yaml;
        let name = &d.spec["catalog:".len()..];
        let catalog = if name.is_empty() {
            yaml::get(doc, "catalog")
        } else {
            yaml::get(doc, "catalogs").and_then(|c| yaml::get(c, name))
        };
        let label = if name.is_empty() {
            "default".to_string()
        } else {
            format!("\"{name}\"")
        };
        let entry = catalog
            .and_then(|c| yaml::get(c, d.name))
            .and_then(yaml::scalar)
            .ok_or_else(|| RewriteError::NoCatalogEntry {
                at: self.at(d),
                catalog: format!("{label} (.yarnrc.yml)"),
            })?;
        if let Some(rest) = entry.strip_prefix("npm:") {
            return Ok(rest.to_string());
        }
        if entry.contains(':') {
            return Err(RewriteError::Unsupported {
                at: self.at(d),
                what: format!(
                    "the catalog gives it \"{entry}\", a protocol trustpub does not resolve as yarn does"
                ),
            });
        }
        Ok(entry)
    }

    /// yarn's `Project.tryWorkspaceByDescriptor` for `name@workspace:<selector>`.
    fn yarn_match(&self, name: &str, selector: &str) -> Option<&Member> {
        let special = matches!(selector, "^" | "~" | "*");
        if !special && crate::semver::valid_range(selector, false).is_none() {
            let want = canonical(&self.ws.root.join(selector));
            return self.members().find(|m| canonical(&m.dir) == want);
        }
        let ws = self.members().find(|m| m.name == name)?;
        let version = ws
            .manifest
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("0.0.0");
        let accepts =
            special || normalize_rel(selector) == yarn_rel(&ws.rel) || satisfies(version, selector);
        accepts.then_some(ws)
    }

    fn bun(&self, raw: &Map<String, Value>) -> Result<Map<String, Value>, RewriteError> {
        let mut m = raw.clone();
        for field in DEP_FIELDS {
            let Some(Value::Object(deps)) = m.get_mut(field) else {
                continue;
            };
            for (name, spec) in deps.iter_mut() {
                let Some(s) = spec.as_str().map(str::to_string) else {
                    continue;
                };
                let d = Dep {
                    field,
                    name,
                    spec: &s,
                };
                let out = if let Some(rest) = s.strip_prefix("workspace:") {
                    let (out, read) = self.workspace_regular(&d, &s)?;
                    // bun resolves every `workspace:` dependency to a member
                    // (by name, else by directory) and fails without one.
                    if !read
                        && !rest.contains('@')
                        && !self.members().any(|m| m.name == *name)
                        && !self.ws.root.join(rest).join("package.json").is_file()
                    {
                        self.by_name(&d, name)?;
                    }
                    out
                } else if s.starts_with("catalog:") {
                    match self.catalog(&d, &s)? {
                        Some(v) => v,
                        None => continue,
                    }
                } else {
                    continue;
                };
                *spec = Value::String(out);
            }
        }
        Ok(m)
    }
}

/// yarn's relative cwd of a member (`.` for the root).
fn yarn_rel(rel: &str) -> &str {
    if rel.is_empty() {
        "."
    } else {
        rel
    }
}

fn normalize_rel(p: &str) -> String {
    let n = js::path_normalize(p);
    n.trim_end_matches('/').to_string()
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| crate::manifest::clean_path(p))
}

/// Length of `((\d+|[xX*])(\.(\d+|[xX*])){0,2})?` at the start of `s`.
fn peer_version_len(s: &str) -> usize {
    let b = s.as_bytes();
    let part = |i: usize| -> usize {
        if i < b.len() && matches!(b[i], b'x' | b'X' | b'*') {
            return 1;
        }
        b[i.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let first = part(0);
    if first == 0 {
        return 0;
    }
    let mut end = first;
    for _ in 0..2 {
        if b.get(end) == Some(&b'.') {
            let n = part(end + 1);
            if n == 0 {
                break;
            }
            end += 1 + n;
        } else {
            break;
        }
    }
    end
}

/// pnpm's `replaceJsrProtocol`: `jsr:@scope/name@range` (or `jsr:range`
/// under a scoped alias) as the `npm:@jsr/scope__name` alias.
fn jsr(alias: &str, spec: &str) -> String {
    let Some(rest) = spec.strip_prefix("jsr:") else {
        return spec.to_string();
    };
    let (name, selector) = if let Some(scoped) = rest.strip_prefix('@') {
        match scoped.find('@') {
            Some(i) => (format!("@{}", &scoped[..i]), Some(&scoped[i + 1..])),
            None => (rest.to_string(), None),
        }
    } else {
        (alias.to_string(), Some(rest))
    };
    let Some((scope, bare)) = name.strip_prefix('@').and_then(|n| n.split_once('/')) else {
        return spec.to_string();
    };
    let npm = format!("@jsr/{scope}__{bare}");
    match selector {
        Some(s) if !s.is_empty() => format!("npm:{npm}@{s}"),
        _ => format!("npm:{npm}"),
    }
}

/// node-semver's `satisfies(version, range)` (no options), from the
/// normalised range `validRange` gives.
pub(crate) fn satisfies(version: &str, range: &str) -> bool {
    use crate::semver::Version;
    let Some(v) = Version::parse(version, false) else {
        return false;
    };
    let Some(norm) = crate::semver::valid_range(range, false) else {
        return false;
    };
    norm.split("||").any(|set| {
        let comps: Vec<(&str, Option<Version>)> = set
            .split_whitespace()
            .map(|c| {
                let op_len = c
                    .find(|ch: char| !matches!(ch, '<' | '>' | '='))
                    .unwrap_or(c.len());
                let (op, ver) = c.split_at(op_len);
                (op, Version::parse(ver, false))
            })
            .collect();
        if comps.is_empty() || (comps.len() == 1 && set.trim() == "*") {
            return !v.is_prerelease();
        }
        let all = comps.iter().all(|(op, cv)| {
            let Some(cv) = cv else { return op.is_empty() };
            let ord = v.cmp(cv);
            match *op {
                "" | "=" => ord.is_eq(),
                ">" => ord.is_gt(),
                ">=" => ord.is_ge(),
                "<" => ord.is_lt(),
                "<=" => ord.is_le(),
                _ => false,
            }
        });
        if !all {
            return false;
        }
        if !v.is_prerelease() {
            return true;
        }
        comps.iter().any(|(_, cv)| {
            cv.as_ref().is_some_and(|cv| {
                cv.is_prerelease()
                    && cv.major == v.major
                    && cv.minor == v.minor
                    && cv.patch == v.patch
            })
        })
    })
}

/// `JSON.stringify(value, null, indent)`.
pub(crate) fn js_pretty(value: &Value, indent: &str) -> Vec<u8> {
    let mut out = Vec::new();
    js_pretty_into(&mut out, value, indent, 0);
    out
}

fn js_pretty_into(out: &mut Vec<u8>, v: &Value, indent: &str, depth: usize) {
    let pad = |out: &mut Vec<u8>, d: usize| {
        out.push(b'\n');
        for _ in 0..d {
            out.extend_from_slice(indent.as_bytes());
        }
    };
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                pad(out, depth + 1);
                js_pretty_into(out, item, indent, depth + 1);
            }
            pad(out, depth);
            out.push(b']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push(b'{');
            for (i, k) in js::js_keys(map).iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                pad(out, depth + 1);
                out.extend_from_slice(&js::to_wire(&Value::String(k.clone())));
                out.extend_from_slice(b": ");
                js_pretty_into(out, &map[k], indent, depth + 1);
            }
            pad(out, depth);
            out.push(b'}');
        }
        other => out.extend_from_slice(&js::to_wire(other)),
    }
}

/// bun's JSON printer as `bun pm pack` uses it: the source's indentation,
/// objects one key a line, arrays on one line when the source had them on
/// one line, numbers without exponent, a final newline when the source
/// ended with one.
fn bun_print(m: &Map<String, Value>, source: &[u8]) -> Vec<u8> {
    let indent = bun_indent(source);
    let flags = array_single_line_flags(source);
    let mut out = Vec::new();
    let mut next = 0usize;
    bun_value(
        &mut out,
        &Value::Object(m.clone()),
        &indent,
        0,
        &flags,
        &mut next,
    );
    if source.last() == Some(&b'\n') {
        out.push(b'\n');
    }
    out
}

/// The indentation of the first indented line (two spaces when none is).
fn bun_indent(source: &[u8]) -> String {
    for line in source.split(|&b| b == b'\n').skip(1) {
        let ws: Vec<u8> = line
            .iter()
            .copied()
            .take_while(|&b| b == b' ' || b == b'\t')
            .collect();
        if ws.is_empty() {
            continue;
        }
        if ws[0] == b'\t' {
            return "\t".into();
        }
        let spaces = ws.iter().take_while(|&&b| b == b' ').count();
        return " ".repeat(spaces);
    }
    "  ".into()
}

/// For each array of the source, in order of its `[`: whether it stays on
/// one line (no line break between its brackets).
fn array_single_line_flags(source: &[u8]) -> Vec<bool> {
    let mut flags = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut in_str = false;
    let mut esc = false;
    for &b in source {
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' => {
                open.push(flags.len());
                flags.push(true);
            }
            b']' => {
                open.pop();
            }
            b'\n' => {
                for &i in &open {
                    flags[i] = false;
                }
            }
            _ => {}
        }
    }
    flags
}

fn bun_value(
    out: &mut Vec<u8>,
    v: &Value,
    indent: &str,
    depth: usize,
    flags: &[bool],
    next: &mut usize,
) {
    let pad = |out: &mut Vec<u8>, d: usize| {
        out.push(b'\n');
        for _ in 0..d {
            out.extend_from_slice(indent.as_bytes());
        }
    };
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64().filter(|u| *u <= 1 << 53) {
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= 1 << 53) {
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                if f.is_finite() {
                    out.extend_from_slice(format!("{f}").as_bytes());
                } else {
                    out.extend_from_slice(b"null");
                }
            }
        }
        Value::String(s) => bun_string(out, s),
        Value::Array(items) => {
            let single = flags.get(*next).copied().unwrap_or(false);
            *next += 1;
            if items.is_empty() {
                out.extend_from_slice(b"[]");
                return;
            }
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if single {
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    bun_value(out, item, indent, depth, flags, next);
                } else {
                    if i > 0 {
                        out.push(b',');
                    }
                    pad(out, depth + 1);
                    bun_value(out, item, indent, depth + 1, flags, next);
                }
            }
            if !single {
                pad(out, depth);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.extend_from_slice(b"{}");
                return;
            }
            out.push(b'{');
            for (i, (k, val)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                pad(out, depth + 1);
                bun_string(out, k);
                out.extend_from_slice(b": ");
                bun_value(out, val, indent, depth + 1, flags, next);
            }
            pad(out, depth);
            out.push(b'}');
        }
    }
}

fn bun_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.extend_from_slice(format!("\\u{:04X}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn member(root: &Path, rel: &str, manifest: Value) -> Member {
        let Value::Object(manifest) = manifest else {
            panic!("object")
        };
        Member {
            name: manifest["name"].as_str().unwrap().into(),
            version: manifest
                .get("version")
                .and_then(Value::as_str)
                .map(str::to_string),
            dir: root.join(rel),
            rel: rel.into(),
            private: false,
            manifest,
        }
    }

    fn ws(manager: Manager, root_manifest: Value) -> Workspace {
        let root = PathBuf::from("/nonexistent-trustpub-ws");
        let mut catalogs = BTreeMap::new();
        catalogs.insert(
            "default".to_string(),
            BTreeMap::from([("lp".to_string(), "^1.3.0".to_string())]),
        );
        Workspace {
            root_package: Some(member(&root, ".", root_manifest)),
            members: vec![
                member(
                    &root,
                    "packages/b",
                    json!({"name": "b", "version": "2.0.0"}),
                ),
                member(
                    &root,
                    "packages/c",
                    json!({"name": "c", "version": "3.1.0"}),
                ),
            ],
            root,
            manager,
            manager_reason: "test".into(),
            catalogs,
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("object"),
        }
    }

    fn rewrite(w: &Workspace, pkg: Value) -> Result<Option<Rewritten>, RewriteError> {
        let bytes = serde_json::to_vec_pretty(&pkg).unwrap();
        let dir = w.root.join("packages/a");
        publish_manifest(w, &dir, &obj(pkg), &bytes)
    }

    #[test]
    fn npm_refuses_workspace_and_catalog_ranges_naming_field_and_fix() {
        let w = ws(Manager::Npm, json!({"name": "root"}));
        let e = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "optionalDependencies": {"b": "workspace:*"}}),
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("optionalDependencies \"b\" is \"workspace:*\""),
            "{text}"
        );
        assert!(text.contains("package.json"), "{text}");
        let hint = e.hint().unwrap();
        assert!(
            hint.contains("packageManager") && hint.contains("pnpm-lock.yaml"),
            "{hint}"
        );
        assert!(
            hint.contains("write \"2.0.0\" in optionalDependencies \"b\""),
            "{hint}"
        );
        assert_eq!(e.exit_code(), 2);
        // Plain ranges: nothing to do.
        let ok = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "dependencies": {"b": "^2"}}),
        );
        assert!(ok.unwrap().is_none());
    }

    #[test]
    fn yarn_1_is_refused_like_npm() {
        let w = ws(
            Manager::Yarn,
            json!({"name": "root", "packageManager": "yarn@1.22.22"}),
        );
        let e = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "dependencies": {"lp": "catalog:"}}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("catalog:"), "{e}");
    }

    #[test]
    fn pnpm_version_comes_from_package_manager() {
        let pick = |pm: &str| {
            pnpm_flavour(&ws(
                Manager::Pnpm,
                json!({"name": "r", "packageManager": pm}),
            ))
        };
        assert_eq!(pick("pnpm@10.34.9+sha512.abc"), Pnpm::V10);
        assert_eq!(pick("pnpm@9.0.0"), Pnpm::V10);
        assert_eq!(pick("pnpm@11.1.0"), Pnpm::V11);
        assert_eq!(pick("pnpm@12.25.1"), Pnpm::V12);
        assert_eq!(pick("yarn@4.0.0"), Pnpm::V12);
        let dev = ws(
            Manager::Pnpm,
            json!({"name": "r", "devEngines": {"packageManager": {"name": "pnpm", "version": "^10.2.0"}}}),
        );
        assert_eq!(pnpm_flavour(&dev), Pnpm::V10);
    }

    /// pnpm 10 lists the dependencies it read a version for after the
    /// others (in their order): two of them in one field.
    #[test]
    fn pnpm_10_puts_read_versions_last() {
        let w = ws(
            Manager::Pnpm,
            json!({"name": "r", "packageManager": "pnpm@10.34.9"}),
        );
        let r = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "dependencies": {"b": "workspace:*", "c": "workspace:~", "lp": "catalog:", "x": "workspace:c@^3.0.0"}}),
        )
        .unwrap()
        .unwrap();
        let deps = r.manifest["dependencies"].as_object().unwrap();
        let keys: Vec<&String> = deps.keys().collect();
        assert_eq!(keys, ["lp", "x", "b", "c"]);
        assert_eq!(deps["x"], "npm:c@^3.0.0");
        assert_eq!(deps["c"], "~3.1.0");
        // pnpm 12 keeps the order.
        let w = ws(Manager::Pnpm, json!({"name": "r"}));
        let r = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "dependencies": {"b": "workspace:*", "c": "workspace:~", "lp": "catalog:"}}),
        )
        .unwrap()
        .unwrap();
        let keys: Vec<&String> = r.manifest["dependencies"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys, ["b", "c", "lp"]);
    }

    #[test]
    fn missing_member_and_catalog_entry_are_errors() {
        let w = ws(Manager::Pnpm, json!({"name": "r"}));
        let e = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "dependencies": {"zz": "workspace:^"}}),
        )
        .unwrap_err();
        assert!(matches!(e, RewriteError::NoMember { .. }), "{e}");
        let e = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "dependencies": {"zz": "catalog:"}}),
        )
        .unwrap_err();
        assert!(matches!(e, RewriteError::NoCatalogEntry { .. }), "{e}");
        assert!(e.to_string().contains("default catalog"), "{e}");
    }

    #[test]
    fn peer_rule_and_jsr() {
        let w = ws(Manager::Pnpm, json!({"name": "r"}));
        let r = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "peerDependencies": {"b": "workspace:>=", "c": "workspace:^3.0.0 || ^4", "d": "jsr:@std/path@^1.0.0"}}),
        )
        .unwrap()
        .unwrap();
        let p = r.manifest["peerDependencies"].as_object().unwrap();
        assert_eq!(p["b"], ">=2.0.0");
        assert_eq!(p["c"], "^3.0.0 || ^4");
        assert_eq!(p["d"], "npm:@jsr/std__path@^1.0.0");
        assert_eq!(peer_version_len("1.x.3-beta"), 5);
        assert_eq!(peer_version_len("x"), 1);
        assert_eq!(peer_version_len(""), 0);
    }

    #[test]
    fn pnpm_publish_config_directory_and_name_are_refused() {
        let w = ws(Manager::Pnpm, json!({"name": "r"}));
        let e = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "publishConfig": {"directory": "dist"}}),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("publishConfig.directory is dist"),
            "{e}"
        );
        let e = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "publishConfig": {"name": "other"}}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("publishConfig.name is other"), "{e}");
        // pnpm 10 does not hoist the name: it stays in publishConfig (and
        // this package.json is already as pnpm writes it).
        let w = ws(
            Manager::Pnpm,
            json!({"name": "r", "packageManager": "pnpm@10.0.0"}),
        );
        let r = rewrite(
            &w,
            json!({"name": "a", "version": "1.0.0", "publishConfig": {"name": "other"}}),
        );
        assert!(r.unwrap().is_none());
    }

    #[test]
    fn satisfies_follows_node_semver() {
        assert!(satisfies("2.3.4", "^2.0.0"));
        assert!(!satisfies("3.0.0", "^2.0.0"));
        assert!(!satisfies("0.1.0-beta.1", ">=0.1.0"));
        assert!(satisfies("0.1.0-beta.2", ">=0.1.0-beta.1"));
        assert!(satisfies("1.0.0", "*"));
        assert!(!satisfies("1.0.0-rc.1", "*"));
        assert!(satisfies("1.5.0", "1.x || >=3"));
    }

    #[test]
    fn bun_printer_keeps_layout() {
        let src = b"{\n   \"a\": [1, 2],\n   \"b\": [\n  \"x\"],\n   \"n\": 1.0,\n   \"s\": \"\\u0001\\u2028\"\n}";
        let m = obj(serde_json::from_slice(src).unwrap());
        let out = String::from_utf8(bun_print(&m, src)).unwrap();
        assert_eq!(
            out,
            "{\n   \"a\": [1, 2],\n   \"b\": [\n      \"x\"\n   ],\n   \"n\": 1,\n   \"s\": \"\\u0001\\u2028\"\n}"
        );
        assert_eq!(bun_indent(b"{\n\t\"a\": 1\n}"), "\t");
        assert_eq!(bun_indent(b"{\"a\": 1}"), "  ");
    }

    #[test]
    fn js_pretty_is_json_stringify() {
        let v = json!({"b": [], "1": {}, "a": [1.5, "\u{7f}"], "0": null});
        assert_eq!(
            String::from_utf8(js_pretty(&v, "  ")).unwrap(),
            "{\n  \"0\": null,\n  \"1\": {},\n  \"b\": [],\n  \"a\": [\n    1.5,\n    \"\u{7f}\"\n  ]\n}"
        );
    }
}
