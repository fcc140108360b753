//! Writes a workspace (monorepo) fixture from a small description, for the
//! workspace tests of issue #13: the root `package.json`, the package
//! manager's marker files (`pnpm-workspace.yaml` with its packages and
//! catalogs, `package.json` `workspaces`, `.yarnrc.yml`, a lockfile), and one
//! directory per member with its `package.json` and a few files.
//!
//! ```ignore
//! let spec = Spec::new(Pm::Pnpm)
//!     .catalog("react", "^18.3.1")
//!     .named_catalog("legacy", "react", "^17.0.2")
//!     .package(Pkg::new("@acme/core", "1.2.0"))
//!     .package(Pkg::new("@acme/ui", "2.0.0").dep("@acme/core", "workspace:^").dep("react", "catalog:"))
//!     .package(Pkg::new("@acme/site", "0.0.0").private());
//! let (tmp, ws) = spec.write_temp();
//! let ui_dir = ws.dir("@acme/ui");
//! ```
//!
//! Everything is written in a fixed order with fixed contents: writing the
//! same description twice gives byte-identical trees.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// The package manager whose workspace layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pm {
    Npm,
    Pnpm,
    Yarn,
    Bun,
}

/// Which dependency field of package.json a dependency goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    Prod,
    Dev,
    Optional,
    Peer,
}

impl DepKind {
    pub fn field(self) -> &'static str {
        match self {
            DepKind::Prod => "dependencies",
            DepKind::Dev => "devDependencies",
            DepKind::Optional => "optionalDependencies",
            DepKind::Peer => "peerDependencies",
        }
    }
}

/// One member of the workspace.
#[derive(Debug, Clone)]
pub struct Pkg {
    /// `None`: no `name` field (a broken member).
    pub name: Option<String>,
    /// `None`: no `version` field.
    pub version: Option<String>,
    pub private: bool,
    /// Directory relative to the root; default `packages/<name without scope>`.
    pub dir: Option<String>,
    /// In the order given, grouped by field when written.
    pub deps: Vec<(DepKind, String, String)>,
    /// More top-level package.json fields (`publishConfig`, `files`, `bin`...),
    /// written after the generated ones (and replacing one of the same name).
    pub fields: Map<String, Value>,
    /// Files besides package.json (relative path, contents). Default: an
    /// `index.js` naming the package, unless `no_default_files` was called.
    pub files: Vec<(String, String)>,
    default_files: bool,
}

impl Pkg {
    pub fn new(name: &str, version: &str) -> Pkg {
        Pkg {
            name: Some(name.to_string()),
            version: Some(version.to_string()),
            private: false,
            dir: None,
            deps: Vec::new(),
            fields: Map::new(),
            files: Vec::new(),
            default_files: true,
        }
    }

    /// A member without a `name` field, in directory `dir`.
    pub fn unnamed(dir: &str, version: &str) -> Pkg {
        Pkg {
            name: None,
            dir: Some(dir.to_string()),
            ..Pkg::new("", version)
        }
    }

    pub fn private(mut self) -> Pkg {
        self.private = true;
        self
    }

    pub fn no_version(mut self) -> Pkg {
        self.version = None;
        self
    }

    pub fn in_dir(mut self, dir: &str) -> Pkg {
        self.dir = Some(dir.to_string());
        self
    }

    /// A `dependencies` entry (`range` as written: `^1.0.0`, `workspace:*`,
    /// `workspace:^`, `workspace:~`, `workspace:^1.2.0`, `catalog:`,
    /// `catalog:legacy`, `npm:other@^1`...).
    pub fn dep(self, name: &str, range: &str) -> Pkg {
        self.dep_of(DepKind::Prod, name, range)
    }

    pub fn dev(self, name: &str, range: &str) -> Pkg {
        self.dep_of(DepKind::Dev, name, range)
    }

    pub fn optional(self, name: &str, range: &str) -> Pkg {
        self.dep_of(DepKind::Optional, name, range)
    }

    pub fn peer(self, name: &str, range: &str) -> Pkg {
        self.dep_of(DepKind::Peer, name, range)
    }

    pub fn dep_of(mut self, kind: DepKind, name: &str, range: &str) -> Pkg {
        self.deps.push((kind, name.to_string(), range.to_string()));
        self
    }

    /// Any other top-level package.json field.
    pub fn field(mut self, key: &str, value: Value) -> Pkg {
        self.fields.insert(key.to_string(), value);
        self
    }

    pub fn file(mut self, path: &str, contents: &str) -> Pkg {
        self.files.push((path.to_string(), contents.to_string()));
        self
    }

    /// Write no default `index.js` (only the files given with [`Pkg::file`]).
    pub fn no_default_files(mut self) -> Pkg {
        self.default_files = false;
        self
    }

    /// The directory relative to the root.
    pub fn rel_dir(&self) -> String {
        if let Some(d) = &self.dir {
            return d.clone();
        }
        let name = self
            .name
            .as_deref()
            .expect("a member without a name needs a directory (Pkg::unnamed)");
        format!("packages/{}", name.rsplit('/').next().unwrap_or(name))
    }

    /// The package.json text this member gets.
    pub fn manifest(&self) -> String {
        let mut m = Map::new();
        if let Some(n) = &self.name {
            m.insert("name".into(), json!(n));
        }
        if let Some(v) = &self.version {
            m.insert("version".into(), json!(v));
        }
        if self.private {
            m.insert("private".into(), json!(true));
        }
        m.insert("license".into(), json!("MIT"));
        m.insert("main".into(), json!("index.js"));
        for kind in [
            DepKind::Prod,
            DepKind::Optional,
            DepKind::Peer,
            DepKind::Dev,
        ] {
            let group: Map<String, Value> = self
                .deps
                .iter()
                .filter(|(k, _, _)| *k == kind)
                .map(|(_, n, r)| (n.clone(), json!(r)))
                .collect();
            if !group.is_empty() {
                m.insert(kind.field().into(), Value::Object(group));
            }
        }
        for (k, v) in &self.fields {
            m.insert(k.clone(), v.clone());
        }
        pretty(&Value::Object(m))
    }
}

/// The workspace: its manager, members, catalogs and root fields.
#[derive(Debug, Clone)]
pub struct Spec {
    pub pm: Pm,
    /// Workspace patterns; default `["packages/*"]`.
    pub patterns: Vec<String>,
    /// npm/yarn/bun: write `workspaces` as `{"packages": [...]}` instead of
    /// an array.
    pub workspaces_object: bool,
    /// Catalogs by name; the default catalog is `"default"`.
    pub catalogs: BTreeMap<String, BTreeMap<String, String>>,
    /// More root package.json fields (`packageManager`, `version`...).
    pub root_fields: Map<String, Value>,
    /// The root package.json `name` (default `workspace-root`).
    pub root_name: String,
    /// `"private": true` on the root (default; npm refuses workspaces in a
    /// publishable root only when publishing the root).
    pub root_private: bool,
    /// Write the manager's lockfile (default true).
    pub lockfile: bool,
    pub packages: Vec<Pkg>,
}

impl Spec {
    pub fn new(pm: Pm) -> Spec {
        Spec {
            pm,
            patterns: vec!["packages/*".to_string()],
            workspaces_object: false,
            catalogs: BTreeMap::new(),
            root_fields: Map::new(),
            root_name: "workspace-root".to_string(),
            root_private: true,
            lockfile: true,
            packages: Vec::new(),
        }
    }

    /// `count` members `<scope>/p01`… in a chain: each depends on the one
    /// before with `range` (e.g. `workspace:^`, or `^1.0.0` under npm), all
    /// at version 1.0.0.
    pub fn chain(pm: Pm, scope: &str, count: usize, range: &str) -> Spec {
        let mut spec = Spec::new(pm);
        for i in 1..=count {
            let mut p = Pkg::new(&format!("{scope}/p{i:02}"), "1.0.0");
            if i > 1 {
                p = p.dep(&format!("{scope}/p{:02}", i - 1), range);
            }
            spec = spec.package(p);
        }
        spec
    }

    pub fn patterns(mut self, patterns: &[&str]) -> Spec {
        self.patterns = patterns.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn workspaces_object(mut self) -> Spec {
        self.workspaces_object = true;
        self
    }

    /// An entry of the default catalog (`catalog:` / `catalog:default`).
    pub fn catalog(self, dep: &str, range: &str) -> Spec {
        self.named_catalog("default", dep, range)
    }

    /// An entry of the catalog `name` (`catalog:<name>`).
    pub fn named_catalog(mut self, name: &str, dep: &str, range: &str) -> Spec {
        self.catalogs
            .entry(name.to_string())
            .or_default()
            .insert(dep.to_string(), range.to_string());
        self
    }

    pub fn root_field(mut self, key: &str, value: Value) -> Spec {
        self.root_fields.insert(key.to_string(), value);
        self
    }

    pub fn root_name(mut self, name: &str) -> Spec {
        self.root_name = name.to_string();
        self
    }

    pub fn root_publishable(mut self) -> Spec {
        self.root_private = false;
        self
    }

    pub fn no_lockfile(mut self) -> Spec {
        self.lockfile = false;
        self
    }

    pub fn package(mut self, pkg: Pkg) -> Spec {
        self.packages.push(pkg);
        self
    }

    /// Writes the workspace into a new temporary directory.
    pub fn write_temp(&self) -> (tempfile::TempDir, Written) {
        let tmp = tempfile::Builder::new()
            .prefix("trustpub-ws-")
            .tempdir()
            .expect("create a temporary directory for the workspace");
        let written = self.write(tmp.path());
        (tmp, written)
    }

    /// Writes the workspace into `root` (created if missing; files already
    /// there are overwritten, others left alone). Panics on an impossible
    /// description (catalogs under npm, two members in one directory) or an
    /// I/O error.
    pub fn write(&self, root: &Path) -> Written {
        let catalog_default = self.catalogs.get("default");
        let named: BTreeMap<&String, &BTreeMap<String, String>> = self
            .catalogs
            .iter()
            .filter(|(n, _)| n.as_str() != "default")
            .collect();
        if self.pm == Pm::Npm && !self.catalogs.is_empty() {
            panic!("workspace_gen: npm has no catalogs; use Pm::Pnpm, Pm::Yarn or Pm::Bun");
        }

        // The root package.json.
        let mut rootm = Map::new();
        rootm.insert("name".into(), json!(self.root_name));
        if self.root_private {
            rootm.insert("private".into(), json!(true));
        }
        if self.pm != Pm::Pnpm {
            let patterns = json!(self.patterns);
            let ws = if self.pm == Pm::Bun && !self.catalogs.is_empty() {
                // Bun reads catalogs from the `workspaces` object.
                let mut o = Map::new();
                o.insert("packages".into(), patterns);
                if let Some(c) = catalog_default {
                    o.insert("catalog".into(), json!(c));
                }
                if !named.is_empty() {
                    o.insert("catalogs".into(), json!(named));
                }
                Value::Object(o)
            } else if self.workspaces_object {
                json!({ "packages": patterns })
            } else {
                patterns
            };
            rootm.insert("workspaces".into(), ws);
        }
        for (k, v) in &self.root_fields {
            rootm.insert(k.clone(), v.clone());
        }
        write_file(root, "package.json", &pretty(&Value::Object(rootm)));

        // The manager's own files.
        match self.pm {
            Pm::Npm => {}
            Pm::Pnpm => {
                let mut y = String::from("packages:\n");
                for p in &self.patterns {
                    y.push_str(&format!("  - {}\n", yaml_str(p)));
                }
                if let Some(c) = catalog_default {
                    y.push_str("catalog:\n");
                    push_yaml_map(&mut y, c, "  ");
                }
                if !named.is_empty() {
                    y.push_str("catalogs:\n");
                    for (name, c) in &named {
                        y.push_str(&format!("  {}:\n", yaml_str(name)));
                        push_yaml_map(&mut y, c, "    ");
                    }
                }
                write_file(root, "pnpm-workspace.yaml", &y);
            }
            Pm::Yarn => {
                // Yarn 4 reads catalogs (4.10+) and its settings here.
                let mut y = String::from("nodeLinker: node-modules\nenableTelemetry: false\n");
                if let Some(c) = catalog_default {
                    y.push_str("catalog:\n");
                    push_yaml_map(&mut y, c, "  ");
                }
                if !named.is_empty() {
                    y.push_str("catalogs:\n");
                    for (name, c) in &named {
                        y.push_str(&format!("  {}:\n", yaml_str(name)));
                        push_yaml_map(&mut y, c, "    ");
                    }
                }
                write_file(root, ".yarnrc.yml", &y);
            }
            Pm::Bun => {}
        }
        if self.lockfile {
            let (file, text) = match self.pm {
                Pm::Npm => (
                    "package-lock.json",
                    pretty(&json!({
                        "name": self.root_name,
                        "lockfileVersion": 3,
                        "requires": true,
                        "packages": {}
                    })),
                ),
                Pm::Pnpm => ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n".to_string()),
                Pm::Yarn => (
                    "yarn.lock",
                    "# This file is generated by running \"yarn install\" inside your project.\n\
                     # Manual changes might be lost - proceed with caution!\n\n\
                     __metadata:\n  version: 8\n  cacheKey: 10c0\n"
                        .to_string(),
                ),
                Pm::Bun => (
                    "bun.lock",
                    "{\n  \"lockfileVersion\": 1,\n  \"workspaces\": {}\n}\n".to_string(),
                ),
            };
            write_file(root, file, &text);
        }

        // The members.
        let mut members = Vec::new();
        let mut seen = BTreeMap::new();
        for p in &self.packages {
            let rel = p.rel_dir();
            if let Some(other) = seen.insert(rel.clone(), p.name.clone()) {
                panic!(
                    "workspace_gen: {:?} and {:?} both in directory {rel}; give one Pkg::in_dir",
                    other, p.name
                );
            }
            let dir = root.join(&rel);
            write_file(&dir, "package.json", &p.manifest());
            if p.default_files {
                let name = p.name.as_deref().unwrap_or(&rel);
                write_file(
                    &dir,
                    "index.js",
                    &format!("module.exports = {};\n", json!(name)),
                );
            }
            for (path, contents) in &p.files {
                write_file(&dir, path, contents);
            }
            members.push((p.name.clone().unwrap_or_else(|| rel.clone()), dir));
        }
        Written {
            root: root.to_path_buf(),
            members,
        }
    }
}

/// What [`Spec::write`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub root: PathBuf,
    /// (name, absolute directory) in the order of the description; a member
    /// without a name is listed under its relative directory.
    pub members: Vec<(String, PathBuf)>,
}

impl Written {
    /// The directory of the member `name`; panics if there is none.
    pub fn dir(&self, name: &str) -> &Path {
        self.members
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_path())
            .unwrap_or_else(|| panic!("workspace_gen: no member named {name}"))
    }

    /// Sets the `version` of every member whose package.json has one (for
    /// publishing the workspace again).
    pub fn set_versions(&self, version: &str) {
        for (_, dir) in &self.members {
            let path = dir.join("package.json");
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let mut m: Map<String, Value> = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
            if m.contains_key("version") {
                m.insert("version".into(), json!(version));
                write_file(dir, "package.json", &pretty(&Value::Object(m)));
            }
        }
    }
}

/// package.json as npm writes it: two spaces, a final newline.
fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("serialise JSON");
    s.push('\n');
    s
}

/// A single-quoted YAML scalar (`'` doubled), so `@scope/x`, `^1`, `*` and
/// `!negation` stay strings.
fn yaml_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn push_yaml_map(out: &mut String, map: &BTreeMap<String, String>, indent: &str) {
    for (k, v) in map {
        out.push_str(&format!("{indent}{}: {}\n", yaml_str(k), yaml_str(v)));
    }
}

fn write_file(dir: &Path, rel: &str, contents: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_json(path: &Path) -> Value {
        serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
    }

    fn listing(root: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                    out.push((rel, fs::read_to_string(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    fn pnpm_spec() -> Spec {
        Spec::new(Pm::Pnpm)
            .patterns(&["packages/*", "!packages/skip"])
            .catalog("react", "^18.3.1")
            .catalog("@types/node", "^22.0.0")
            .named_catalog("legacy", "react", "^17.0.2")
            .package(Pkg::new("@acme/core", "1.2.0"))
            .package(
                Pkg::new("@acme/ui", "2.0.0")
                    .dep("@acme/core", "workspace:^")
                    .dep("react", "catalog:")
                    .peer("@acme/core", "workspace:*")
                    .dev("@types/node", "catalog:default")
                    .optional("old-react", "catalog:legacy")
                    .field("publishConfig", json!({ "access": "public" }))
                    .file("lib/a.js", "exports.a = 1\n"),
            )
            .package(Pkg::new("site", "0.0.0").private().in_dir("apps/site"))
    }

    #[test]
    fn pnpm_workspace_yaml_holds_packages_and_catalogs() {
        let (_tmp, ws) = pnpm_spec().write_temp();
        let yaml = fs::read_to_string(ws.root.join("pnpm-workspace.yaml")).unwrap();
        assert_eq!(
            yaml,
            "packages:\n  - 'packages/*'\n  - '!packages/skip'\n\
             catalog:\n  '@types/node': '^22.0.0'\n  'react': '^18.3.1'\n\
             catalogs:\n  'legacy':\n    'react': '^17.0.2'\n"
        );
        // It is YAML a parser reads back as written.
        let docs = yaml_rust2::YamlLoader::load_from_str(&yaml).unwrap();
        assert_eq!(docs[0]["catalog"]["@types/node"].as_str(), Some("^22.0.0"));
        assert_eq!(
            docs[0]["catalogs"]["legacy"]["react"].as_str(),
            Some("^17.0.2")
        );
        assert_eq!(docs[0]["packages"][1].as_str(), Some("!packages/skip"));
        assert!(ws.root.join("pnpm-lock.yaml").is_file());
        let root = read_json(&ws.root.join("package.json"));
        assert!(root.get("workspaces").is_none(), "{root}");
        assert_eq!(root["private"], json!(true));
    }

    #[test]
    fn members_get_their_fields_and_files() {
        let (_tmp, ws) = pnpm_spec().write_temp();
        assert_eq!(ws.dir("@acme/ui"), ws.root.join("packages/ui"));
        assert_eq!(ws.dir("site"), ws.root.join("apps/site"));
        let ui = read_json(&ws.dir("@acme/ui").join("package.json"));
        assert_eq!(ui["dependencies"]["@acme/core"], "workspace:^");
        assert_eq!(ui["dependencies"]["react"], "catalog:");
        assert_eq!(ui["peerDependencies"]["@acme/core"], "workspace:*");
        assert_eq!(ui["devDependencies"]["@types/node"], "catalog:default");
        assert_eq!(ui["optionalDependencies"]["old-react"], "catalog:legacy");
        assert_eq!(ui["publishConfig"]["access"], "public");
        assert_eq!(
            fs::read_to_string(ws.dir("@acme/ui").join("lib/a.js")).unwrap(),
            "exports.a = 1\n"
        );
        assert!(ws.dir("@acme/ui").join("index.js").is_file());
        let site = read_json(&ws.dir("site").join("package.json"));
        assert_eq!(site["private"], json!(true));
        let core = read_json(&ws.dir("@acme/core").join("package.json"));
        assert!(core.get("private").is_none() && core.get("dependencies").is_none());
    }

    #[test]
    fn npm_yarn_and_bun_markers() {
        let (_t1, npm) = Spec::chain(Pm::Npm, "@c", 3, "^1.0.0").write_temp();
        let root = read_json(&npm.root.join("package.json"));
        assert_eq!(root["workspaces"], json!(["packages/*"]));
        assert!(npm.root.join("package-lock.json").is_file());
        assert!(!npm.root.join("pnpm-workspace.yaml").exists());
        assert_eq!(npm.members.len(), 3);
        let p3 = read_json(&npm.dir("@c/p03").join("package.json"));
        assert_eq!(p3["dependencies"], json!({ "@c/p02": "^1.0.0" }));

        let (_t2, yarn) = Spec::new(Pm::Yarn)
            .workspaces_object()
            .root_field("packageManager", json!("yarn@4.9.2"))
            .package(Pkg::new("a", "1.0.0"))
            .write_temp();
        let root = read_json(&yarn.root.join("package.json"));
        assert_eq!(root["workspaces"], json!({ "packages": ["packages/*"] }));
        assert_eq!(root["packageManager"], "yarn@4.9.2");
        assert!(yarn.root.join("yarn.lock").is_file());
        assert!(yarn.root.join(".yarnrc.yml").is_file());

        let (_t3, bun) = Spec::new(Pm::Bun)
            .catalog("zod", "^3.23.0")
            .named_catalog("next", "zod", "^4.0.0")
            .no_lockfile()
            .package(Pkg::new("b", "1.0.0").dep("zod", "catalog:next"))
            .write_temp();
        let root = read_json(&bun.root.join("package.json"));
        assert_eq!(
            root["workspaces"],
            json!({ "packages": ["packages/*"], "catalog": { "zod": "^3.23.0" }, "catalogs": { "next": { "zod": "^4.0.0" } } })
        );
        assert!(!bun.root.join("bun.lock").exists());
    }

    #[test]
    fn deterministic_and_versions_can_be_bumped() {
        let (_a, wa) = pnpm_spec().write_temp();
        let (_b, wb) = pnpm_spec().write_temp();
        assert_eq!(listing(&wa.root), listing(&wb.root));
        wa.set_versions("3.0.0");
        let ui = read_json(&wa.dir("@acme/ui").join("package.json"));
        assert_eq!(ui["version"], "3.0.0");
        // Only the version changed.
        let before = read_json(&wb.dir("@acme/ui").join("package.json"));
        let mut after = ui.clone();
        after["version"] = before["version"].clone();
        assert_eq!(after, before);
    }

    #[test]
    fn unnamed_and_versionless_members() {
        let (_t, ws) = Spec::new(Pm::Npm)
            .package(Pkg::unnamed("packages/broken", "1.0.0"))
            .package(Pkg::new("nover", "1.0.0").no_version())
            .write_temp();
        let broken = read_json(&ws.dir("packages/broken").join("package.json"));
        assert!(broken.get("name").is_none());
        let nover = read_json(&ws.dir("nover").join("package.json"));
        assert!(nover.get("version").is_none());
        ws.set_versions("2.0.0");
        let nover = read_json(&ws.dir("nover").join("package.json"));
        assert!(
            nover.get("version").is_none(),
            "set_versions added a version"
        );
    }

    /// trustpub's own discovery reads what the generator writes as meant:
    /// the manager from the marker files, the members, and the catalogs
    /// (pnpm's from pnpm-workspace.yaml, bun's from `workspaces`).
    #[test]
    fn trustpub_discovery_reads_the_generated_workspaces() {
        use trustpub::workspace::{discover, Manager};
        let names = |ws: &trustpub::workspace::Workspace| -> Vec<String> {
            let mut v: Vec<String> = ws.members.iter().map(|m| m.name.clone()).collect();
            v.sort();
            v
        };
        let cases = [
            // npm is what is left when nothing names another manager.
            (Pm::Npm, Manager::Npm, "no packageManager field"),
            (Pm::Pnpm, Manager::Pnpm, "pnpm-workspace.yaml"),
            (Pm::Yarn, Manager::Yarn, "yarn.lock"),
            (Pm::Bun, Manager::Bun, "bun.lock"),
        ];
        for (pm, manager, marker) in cases {
            let mut spec = Spec::chain(pm, "@d", 3, "^1.0.0")
                .package(Pkg::new("@d/private", "1.0.0").private().in_dir("apps/x"))
                .patterns(&["packages/*", "apps/*"]);
            if pm != Pm::Npm {
                spec = spec
                    .catalog("react", "^18.3.1")
                    .named_catalog("legacy", "react", "^17.0.2");
            }
            let (_tmp, written) = spec.write_temp();
            let ws = discover::find(&written.dir("@d/p02").join("."))
                .unwrap_or_else(|e| panic!("{pm:?}: {e:?}"))
                .unwrap_or_else(|| panic!("{pm:?}: no workspace found"));
            assert_eq!(ws.manager, manager, "{pm:?}: {}", ws.manager_reason);
            assert!(
                ws.manager_reason.contains(marker),
                "{pm:?}: {}",
                ws.manager_reason
            );
            assert_eq!(
                names(&ws),
                ["@d/p01", "@d/p02", "@d/p03", "@d/private"],
                "{pm:?}"
            );
            assert!(ws.members.iter().any(|m| m.private && m.rel == "apps/x"));
            if matches!(pm, Pm::Pnpm | Pm::Bun) {
                assert_eq!(ws.catalogs["default"]["react"], "^18.3.1", "{pm:?}");
                assert_eq!(ws.catalogs["legacy"]["react"], "^17.0.2", "{pm:?}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "npm has no catalogs")]
    fn catalogs_under_npm_panic() {
        Spec::new(Pm::Npm).catalog("a", "^1").write_temp();
    }
}
