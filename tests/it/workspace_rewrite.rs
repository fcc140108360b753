//! Differential tests of the manifest a workspace's package manager
//! publishes (`src/workspace/rewrite.rs`): the REAL `pnpm pack` (pnpm 10 and
//! 12), `yarn pack` (yarn 4) and `bun pm pack` (bun 1.4) run on a workspace
//! in a temp dir, and `trustpub pack` on the same member must put the very
//! same `package/package.json` bytes in its tarball, while every other
//! entry (headers and data) stays what the real `npm pack` 11.19.1 writes.
//!
//! The tools come from `tests/tools/package.json` (installed by `npm ci`;
//! pnpm 12 and bun are native binaries from their platform packages, so
//! these tests need Linux x64). None
//! of them needs the network here: the workspaces have no registry
//! dependencies to install (pnpm reads a member's version through
//! `node_modules/<name>`, which the test links as `pnpm install` would;
//! yarn installs the workspace offline; bun needs no install).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, tar, Output};

/// The tools' directory (installed from the lockfile if needed).
fn tools() -> PathBuf {
    support::verdaccio::ensure_tools().join("node_modules")
}

fn tool(rel: &str) -> PathBuf {
    let p = tools().join(rel);
    assert!(
        p.exists(),
        "{} is missing: `npm ci --prefix tests/tools` installs it (the workspace rewrite tests run the real tool)",
        p.display()
    );
    p
}

/// pnpm 12.25.1: its Linux x64 binary package (an optional dependency of
/// tests/tools: the `pnpm` package itself lists platform packages the
/// registry does not have, which makes its lockfile fail `npm ci`).
const PNPM_12: &str = "@pnpm/exe.linux-x64/pnpm";

/// A port nothing listens on (the discard port, closed here).
const DEAD_REGISTRY: &str = "http://127.0.0.1:9/";

struct Ws {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    scratch: PathBuf,
}

impl Ws {
    fn new() -> Ws {
        let tmp = tempfile::Builder::new()
            .prefix("trustpub-ws-rewrite-")
            .tempdir()
            .expect("temp dir");
        let root = tmp.path().join("ws");
        let home = tmp.path().join("home");
        let scratch = tmp.path().join("scratch");
        for d in [&root, &home, &scratch] {
            fs::create_dir_all(d).unwrap();
        }
        Ws {
            _tmp: tmp,
            root,
            home,
            scratch,
        }
    }

    fn write(&self, rel: &str, content: &str) {
        let p = self.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        support::set_mode(&p, 0o644).unwrap();
    }

    /// `node_modules/<name>` of `member` linked to `target`, as pnpm links
    /// a workspace dependency.
    fn link(&self, member: &str, name: &str, target: &str) {
        let link = self.root.join(member).join("node_modules").join(name);
        fs::create_dir_all(link.parent().unwrap()).unwrap();
        support::make_symlink(&self.root.join(target), &link).unwrap();
    }

    fn cmd(&self, program: &Path, dir: &Path) -> Command {
        let mut c = if program.extension().is_some_and(|e| e == "js" || e == "cjs") {
            let mut c = Command::new("node");
            c.arg(program);
            c
        } else {
            Command::new(program)
        };
        support::apply_env(&mut c, &self.home);
        // Never the internet: every registry is a closed local port, and
        // pnpm must not fetch (or pin in a lockfile) the version
        // `packageManager` names.
        for (k, v) in [
            ("npm_config_registry", DEAD_REGISTRY),
            ("pnpm_config_registry", DEAD_REGISTRY),
            ("YARN_NPM_REGISTRY_SERVER", DEAD_REGISTRY),
            ("BUN_CONFIG_REGISTRY", DEAD_REGISTRY),
            ("npm_config_manage_package_manager_versions", "false"),
            ("pnpm_config_manage_package_manager_versions", "false"),
            ("pnpm_config_pm_on_fail", "ignore"),
            ("COREPACK_ENABLE_STRICT", "0"),
        ] {
            c.env(k, v);
        }
        c.current_dir(dir);
        c
    }

    fn run(&self, c: Command, label: &str) -> Output {
        let out = support::run(c, &self.scratch, label);
        assert!(out.status.success(), "{label} failed:\n{}", out.describe());
        out
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

/// The only `.tgz` in `dir`, uncompressed (the directory is emptied).
fn take_tgz(dir: &Path) -> Vec<u8> {
    let tgz: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tgz"))
        .collect();
    assert_eq!(
        tgz.len(),
        1,
        "one tarball expected in {}: {tgz:?}",
        dir.display()
    );
    let bytes = fs::read(&tgz[0]).unwrap();
    fs::remove_file(&tgz[0]).unwrap();
    gunzip(&bytes)
}

fn package_json_of(tar_bytes: &[u8]) -> Vec<u8> {
    let ar = tar::parse(tar_bytes);
    ar.entries
        .iter()
        .find(|e| e.path() == "package/package.json")
        .unwrap_or_else(|| panic!("no package/package.json in\n{}", tar::listing(&ar)))
        .data
        .clone()
}

/// `trustpub pack` of `member` vs the tool's package.json and npm's tarball.
fn compare(ws: &Ws, member: &str, tool_pkg_json: &[u8], label: &str) {
    let dir = ws.root.join(member);
    let out_npm = ws.scratch.join(format!("{label}-npm"));
    let out_ours = ws.scratch.join(format!("{label}-ours"));
    fs::create_dir_all(&out_npm).unwrap();
    fs::create_dir_all(&out_ours).unwrap();

    let mut npm = Command::new("node");
    npm.arg(support::npm_program());
    support::apply_env(&mut npm, &ws.home);
    npm.current_dir(&dir)
        .args(["pack", "--ignore-scripts", "--pack-destination"])
        .arg(&out_npm);
    ws.run(npm, &format!("{label}-npm-pack"));
    let npm_tar = take_tgz(&out_npm);

    let mut ours = Command::new(support::trustpub_bin());
    support::apply_env(&mut ours, &ws.home);
    ours.current_dir(&dir)
        .args(["pack", "--ignore-scripts", "--pack-destination"])
        .arg(&out_ours)
        .arg(".");
    ws.run(ours, &format!("{label}-trustpub-pack"));
    let our_tar = take_tgz(&out_ours);

    let ours_json = package_json_of(&our_tar);
    assert!(
        ours_json == tool_pkg_json,
        "{label}: package.json differs from the real tool's\n--- tool ---\n{}\n--- trustpub ---\n{}",
        String::from_utf8_lossy(tool_pkg_json).escape_debug(),
        String::from_utf8_lossy(&ours_json).escape_debug()
    );

    // Every entry as npm's; package.json's header differs in size and
    // checksum only.
    let a = tar::parse(&npm_tar);
    let b = tar::parse(&our_tar);
    assert!(a.error.is_none() && b.error.is_none(), "{label}: bad tar");
    let names = |ar: &tar::Archive| ar.entries.iter().map(|e| e.path()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "{label}: entries differ from npm's");
    for (x, y) in a.entries.iter().zip(&b.entries) {
        let diffs = tar::header_field_diffs(&x.header, &y.header);
        if x.path() == "package/package.json" {
            let unexpected: Vec<&String> = diffs
                .iter()
                .filter(|d| {
                    !d.trim_start().starts_with("size") && !d.trim_start().starts_with("chksum")
                })
                .collect();
            assert!(
                unexpected.is_empty(),
                "{label}: package.json header: {unexpected:?}"
            );
        } else {
            assert!(diffs.is_empty(), "{label}: {} header: {diffs:?}", x.path());
            assert!(
                x.data == y.data,
                "{label}: {} data differs from npm's",
                x.path()
            );
        }
        assert_eq!(x.pax_records, y.pax_records, "{label}: {} PAX", x.path());
    }
    // The end-of-archive blocks too.
    let tail =
        |ar: &tar::Archive, bytes: &[u8]| bytes[ar.entries.last().map_or(0, |e| e.end)..].to_vec();
    assert!(
        tail(&a, &npm_tar) == tail(&b, &our_tar),
        "{label}: archive end differs from npm's"
    );

    // The record `--dry-run --json` prints: package.json's size is the
    // tool's.
    let mut dry = Command::new(support::trustpub_bin());
    support::apply_env(&mut dry, &ws.home);
    dry.current_dir(&dir)
        .args(["pack", "--ignore-scripts", "--dry-run", "--json", "."]);
    let out = ws.run(dry, &format!("{label}-trustpub-dry"));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("pack --json output");
    let files = v[0]["files"].as_array().expect("files");
    let pj = files
        .iter()
        .find(|f| f["path"] == "package.json")
        .expect("package.json in the record");
    assert_eq!(
        pj["size"].as_u64(),
        Some(tool_pkg_json.len() as u64),
        "{label}: record size"
    );
}

/// Member manifests shared by the pnpm and bun workspaces.
const B_JSON: &str = "{\n\t\"name\": \"@s/b\",\n\t\"version\": \"2.3.4\",\n\t\"files\": [\"index.js\"],\n\t\"n\": 1.0\n}";
const C_JSON: &str = "{\n    \"name\": \"c\",\n    \"version\": \"0.1.0-beta.1+build5\",\n    \"main\": \"index.js\"\n}\n";

/// `a`: CRLF, no final newline, every protocol form with at most one
/// dependency per field whose version pnpm has to read (pnpm 10 orders
/// those by when its reads finish, which is not deterministic for two).
const A_JSON: &str = concat!(
    "{\r\n",
    "  \"name\": \"@s/a\",\r\n",
    "  \"version\": \"1.0.0\",\r\n",
    "  \"main\": \"index.js\",\r\n",
    "  \"bin\": \"cli.js\",\r\n",
    "  \"repository\": \"github:x/y\",\r\n",
    "  \"keywords\": [\"a\", \"b\"],\r\n",
    "  \"scripts\": {\"prepublishOnly\": \"true\", \"test\": \"t\", \"prepare\": \"true\", \"postpublish\": \"x\"},\r\n",
    "  \"pnpm\": {\"overrides\": {}},\r\n",
    "  \"dependencies\": {\"@s/b\": \"workspace:*\", \"left-pad\": \"catalog:\", \"react\": \"catalog:react18\", \"expl\": \"workspace:@s/b@^2.0.0\", \"plain\": \"^1.0.0\"},\r\n",
    "  \"devDependencies\": {\"c\": \"workspace:~\", \"dev-cat\": \"catalog:default\", \"e\": \"workspace:^3.0.0\"},\r\n",
    "  \"peerDependencies\": {\"@s/b\": \"workspace:^\", \"c\": \"workspace:>=0.1.0\"},\r\n",
    "  \"peerDependenciesMeta\": {\"c\": {}, \"@s/b\": {\"optional\": true}},\r\n",
    "  \"optionalDependencies\": {\"c\": \"workspace:*\"},\r\n",
    "  \"publishConfig\": {\"main\": \"dist/index.js\", \"bin\": {\"a\": \"dist/cli.js\"}, \"exports\": {\".\": \"./dist/index.js\"}, \"types\": \"dist/a.d.ts\", \"access\": \"public\", \"registry\": \"http://127.0.0.1:9/\"}\r\n",
    "}"
);

/// `e`: the other forms pnpm resolves by reading a version: `^`, an alias
/// `name@^`, a relative path.
const E_JSON: &str = "{\n  \"name\": \"e\",\n  \"version\": \"3.0.0\",\n  \"dependencies\": {\"c\": \"workspace:^\", \"left-pad\": \"catalog:\"},\n  \"devDependencies\": {\"bee\": \"workspace:@s/b@^\"},\n  \"optionalDependencies\": {\"cee\": \"workspace:../c\"},\n  \"publishConfig\": {\"main\": \"lib.js\"}\n}\n";

fn files(ws: &Ws, member: &str) {
    ws.write(&format!("{member}/index.js"), "module.exports = 1\n");
    ws.write(&format!("{member}/cli.js"), "#!/usr/bin/env node\n");
    ws.write(&format!("{member}/README.md"), "# readme\n");
}

fn pnpm_workspace(version: &str) -> Ws {
    let ws = Ws::new();
    ws.write(
        "package.json",
        &format!(
            "{{\"name\": \"root\", \"private\": true, \"packageManager\": \"pnpm@{version}\"}}\n"
        ),
    );
    ws.write(
        "pnpm-workspace.yaml",
        "packages:\n  - packages/*\ncatalog:\n  left-pad: ^1.3.0\n  dev-cat: ~2.0.0\ncatalogs:\n  react18:\n    react: ^18.2.0\n",
    );
    ws.write("packages/a/package.json", A_JSON);
    ws.write("packages/b/package.json", B_JSON);
    ws.write("packages/c/package.json", C_JSON);
    ws.write("packages/e/package.json", E_JSON);
    for m in ["packages/a", "packages/b", "packages/c", "packages/e"] {
        files(&ws, m);
    }
    // What `pnpm install` links for the workspace dependencies.
    ws.link("packages/a", "@s/b", "packages/b");
    ws.link("packages/a", "c", "packages/c");
    ws.link("packages/a", "expl", "packages/b");
    ws.link("packages/e", "c", "packages/c");
    ws.link("packages/e", "bee", "packages/b");
    ws.link("packages/e", "cee", "packages/c");
    ws
}

fn pnpm_pack(ws: &Ws, pnpm: &Path, member: &str, label: &str) -> Vec<u8> {
    let dir = ws.root.join(member);
    let dest = ws.scratch.join(format!("{label}-tool"));
    fs::create_dir_all(&dest).unwrap();
    let mut c = ws.cmd(pnpm, &dir);
    c.args(["pack", "--pack-destination"]).arg(&dest);
    ws.run(c, &format!("{label}-pnpm-pack"));
    package_json_of(&take_tgz(&dest))
}

fn pnpm_case(version: &str, program: &Path, tag: &str) {
    let ws = pnpm_workspace(version);
    for member in ["packages/a", "packages/e", "packages/b"] {
        let label = format!("{tag}-{}", member.replace('/', "-"));
        let tool_json = pnpm_pack(&ws, program, member, &label);
        compare(&ws, member, &tool_json, &label);
    }
}

#[test]
fn pnpm_12_pack_manifest_is_reproduced() {
    pnpm_case("12.25.1", &tool(PNPM_12), "pnpm12");
}

#[test]
fn pnpm_10_pack_manifest_is_reproduced() {
    pnpm_case("10.34.9", &tool("pnpm10/bin/pnpm.cjs"), "pnpm10");
}

#[test]
fn yarn_4_pack_manifest_is_reproduced() {
    let ws = Ws::new();
    ws.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"packageManager\": \"yarn@4.18.1\", \"workspaces\": [\"packages/*\"]}\n",
    );
    ws.write(
        ".yarnrc.yml",
        "enableTelemetry: false\nenableGlobalCache: false\nnodeLinker: node-modules\n",
    );
    ws.write(
        "packages/a/package.json",
        concat!(
            "{\r\n",
            "  \"name\": \"@s/a\",\r\n",
            "  \"version\": \"1.0.0\",\r\n",
            "  \"main\": \"index.js\",\r\n",
            "  \"bin\": \"cli.js\",\r\n",
            "  \"scripts\": {\"prepublishOnly\": \"true\", \"test\": \"t\"},\r\n",
            "  \"dependencies\": {\"@s/b\": \"workspace:^2.0.0\", \"c2\": \"workspace:packages/c\", \"e\": \"workspace:*\"},\r\n",
            "  \"devDependencies\": {\"@s/b\": \"workspace:~\", \"c\": \"workspace:*\"},\r\n",
            "  \"peerDependencies\": {\"@s/b\": \"workspace:^\", \"c\": \"workspace:>=0.1.0\"},\r\n",
            "  \"optionalDependencies\": {\"c\": \"workspace:^\"},\r\n",
            "  \"publishConfig\": {\"main\": \"dist/index.js\", \"bin\": {\"a\": \"dist/cli.js\"}, \"exports\": {\".\": \"./dist/index.js\"}, \"types\": \"dist/a.d.ts\", \"typings\": \"dist/t.d.ts\", \"module\": \"m.js\", \"browser\": \"b.js\", \"type\": \"module\", \"imports\": {\"#x\": \"./x.js\"}, \"access\": \"public\"}\r\n",
            "}"
        ),
    );
    ws.write("packages/b/package.json", B_JSON);
    ws.write("packages/c/package.json", C_JSON);
    ws.write(
        "packages/e/package.json",
        "{\n\t\"name\": \"e\",\n\t\"version\": \"3.0.0\",\n\t\"dependencies\": {\"c\": \"workspace:packages/c\", \"@s/b\": \"workspace:^\"}\n}\n",
    );
    for m in ["packages/a", "packages/b", "packages/c", "packages/e"] {
        files(&ws, m);
    }
    let yarn = tool("@yarnpkg/cli-dist/bin/yarn.js");
    // yarn pack wants an installed project (no registry dependency here);
    // the install also rewrites the members' package.json as yarn keeps
    // them, which is what a yarn repository has committed.
    let mut c = ws.cmd(&yarn, &ws.root);
    c.env("YARN_ENABLE_OFFLINE_MODE", "1");
    c.arg("install");
    ws.run(c, "yarn-install");
    for member in ["packages/a", "packages/e"] {
        let label = format!("yarn-{}", member.replace('/', "-"));
        let dir = ws.root.join(member);
        let out = ws.scratch.join(format!("{label}-tool"));
        fs::create_dir_all(&out).unwrap();
        let mut c = ws.cmd(&yarn, &dir);
        c.args(["pack", "--out"]).arg(out.join("p.tgz"));
        ws.run(c, &format!("{label}-yarn-pack"));
        let tool_json = package_json_of(&take_tgz(&out));
        compare(&ws, member, &tool_json, &label);
    }
}

#[test]
fn bun_pack_manifest_is_reproduced() {
    let bun = tools().join("bun/bin/bun.exe");
    assert!(
        bun.exists() && fs::metadata(&bun).map(|m| m.len() > 1_000_000).unwrap_or(false),
        "bun's native binary is not installed at {} (the npm package `bun` takes it from @oven/bun-linux-x64*; `npm ci --prefix tests/tools` must run its postinstall)",
        bun.display()
    );
    let ws = Ws::new();
    ws.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"packageManager\": \"bun@1.4.5\", \"workspaces\": {\"packages\": [\"packages/*\"], \"catalog\": {\"left-pad\": \"^1.3.0\", \"dev-cat\": \"~2.0.0\"}, \"catalogs\": {\"react18\": {\"react\": \"^18.2.0\"}}}}\n",
    );
    ws.write("packages/a/package.json", A_JSON);
    ws.write("packages/b/package.json", B_JSON);
    ws.write("packages/c/package.json", C_JSON);
    ws.write("packages/e/package.json", E_JSON);
    // One more layout: 3-space indentation, arrays on one line and not.
    ws.write(
        "packages/f/package.json",
        "{\n   \"name\": \"f\",\n   \"version\": \"0.0.1\",\n   \"files\": [\"index.js\",\n      \"cli.js\"],\n   \"keywords\": [\"x\", {\"y\": [1, 2]}],\n   \"dependencies\": {\"@s/b\": \"workspace:~\", \"c\": \"workspace:0.1.0-beta.1\"},\n   \"peerDependencies\": {\"e\": \"workspace:^\"}\n}\n",
    );
    for m in [
        "packages/a",
        "packages/b",
        "packages/c",
        "packages/e",
        "packages/f",
    ] {
        files(&ws, m);
    }
    for member in ["packages/a", "packages/e", "packages/f"] {
        let label = format!("bun-{}", member.replace('/', "-"));
        let dir = ws.root.join(member);
        let out = ws.scratch.join(format!("{label}-tool"));
        fs::create_dir_all(&out).unwrap();
        let mut c = ws.cmd(&bun, &dir);
        c.args(["pm", "pack", "--destination"]).arg(&out);
        ws.run(c, &format!("{label}-bun-pack"));
        let tool_json = package_json_of(&take_tgz(&out));
        compare(&ws, member, &tool_json, &label);
    }
}

/// Under npm (which would publish `workspace:*` as it is) such a package is
/// refused with exit 2 before anything is packed or any script runs.
#[test]
fn npm_workspace_refuses_workspace_protocol() {
    let ws = Ws::new();
    ws.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\"]}\n",
    );
    ws.write("package-lock.json", "{}\n");
    ws.write(
        "packages/a/package.json",
        "{\"name\": \"a\", \"version\": \"1.0.0\", \"scripts\": {\"prepack\": \"touch PREPACK_RAN\"}, \"peerDependencies\": {\"b\": \"workspace:^\"}}\n",
    );
    ws.write(
        "packages/b/package.json",
        "{\"name\": \"b\", \"version\": \"1.0.0\"}\n",
    );
    let dir = ws.root.join("packages/a");
    let out_dir = ws.scratch.join("out");
    fs::create_dir_all(&out_dir).unwrap();
    for (label, extra) in [("pack", vec![]), ("dry", vec!["--dry-run", "--json"])] {
        let mut c = Command::new(support::trustpub_bin());
        support::apply_env(&mut c, &ws.home);
        c.current_dir(&dir)
            .args(["pack", "--pack-destination"])
            .arg(&out_dir)
            .args(&extra)
            .arg(".");
        let out = support::run(c, &ws.scratch, label);
        assert_eq!(out.status.code(), Some(2), "{}", out.describe());
        for want in [
            "package.json",
            "peerDependencies",
            "\"b\"",
            "workspace:^",
            "packageManager",
            "pnpm-lock.yaml",
            // The range to write instead: what pnpm would publish.
            "write \"^1.0.0\" in peerDependencies \"b\"",
        ] {
            assert!(
                out.stderr.contains(want),
                "{want:?} missing:\n{}",
                out.describe()
            );
        }
        assert!(
            fs::read_dir(&out_dir).unwrap().next().is_none(),
            "something was written"
        );
        assert!(!dir.join("PREPACK_RAN").exists(), "prepack ran");
    }
    // The same package with a version range packs.
    ws.write(
        "packages/a/package.json",
        "{\"name\": \"a\", \"version\": \"1.0.0\", \"peerDependencies\": {\"b\": \"^1.0.0\"}}\n",
    );
    let mut c = Command::new(support::trustpub_bin());
    support::apply_env(&mut c, &ws.home);
    c.current_dir(&dir).args(["pack", "--dry-run", "."]);
    let out = support::run(c, &ws.scratch, "fixed");
    assert!(out.status.success(), "{}", out.describe());

    // catalog: too.
    ws.write(
        "packages/a/package.json",
        "{\"name\": \"a\", \"version\": \"1.0.0\", \"dependencies\": {\"left-pad\": \"catalog:\"}}\n",
    );
    let mut c = Command::new(support::trustpub_bin());
    support::apply_env(&mut c, &ws.home);
    c.current_dir(&dir).args(["pack", "--dry-run", "."]);
    let out = support::run(c, &ws.scratch, "catalog");
    assert_eq!(out.status.code(), Some(2), "{}", out.describe());
    assert!(out.stderr.contains("catalog:"), "{}", out.describe());
}

/// `trustpub publish <member>` uploads the tarball with pnpm's package.json
/// and a registry document whose manifest is pnpm's (resolved ranges, no
/// `workspace:`/`catalog:`), npm's normalisation on top.
#[test]
fn publish_uploads_the_pnpm_manifest() {
    use crate::support::fake_registry::FakeRegistry;
    use crate::support::sandbox::Sandbox;
    use base64::Engine as _;

    let ws = pnpm_workspace("12.25.1");
    let tool_json = pnpm_pack(&ws, &tool(PNPM_12), "packages/e", "publish-pnpm12");

    let sb = Sandbox::new();
    let reg = FakeRegistry::start();
    sb.login(&reg.url());
    let run = sb
        .trustpub(["publish"])
        .arg(ws.root.join("packages/e"))
        .arg("--registry")
        .arg(reg.url())
        .arg("--ignore-scripts")
        .run();
    run.success();
    let puts = reg.puts();
    assert_eq!(puts.len(), 1, "one upload");
    let doc: serde_json::Value = serde_json::from_slice(&puts[0].body).unwrap();
    let att = doc["_attachments"].as_object().expect("_attachments");
    let (_, a) = att.iter().next().expect("an attachment");
    let tgz = base64::engine::general_purpose::STANDARD
        .decode(a["data"].as_str().unwrap())
        .unwrap();
    assert!(
        package_json_of(&gunzip(&tgz)) == tool_json,
        "the uploaded package.json is not pnpm's"
    );
    let v = &doc["versions"]["3.0.0"];
    assert_eq!(v["dependencies"]["c"], "^0.1.0-beta.1+build5");
    assert_eq!(v["dependencies"]["left-pad"], "^1.3.0");
    assert_eq!(v["devDependencies"]["bee"], "npm:@s/b@^2.3.4");
    assert_eq!(
        v["optionalDependencies"]["cee"],
        "npm:c@0.1.0-beta.1+build5"
    );
    assert_eq!(v["main"], "lib.js");
    assert!(
        v.get("publishConfig").is_none(),
        "pnpm drops an emptied publishConfig"
    );
}

/// yarn's catalogs (`.yarnrc.yml` `catalog`/`catalogs`, yarn 4.10+): the
/// install resolves them against the local Verdaccio, where the test first
/// publishes the one registry dependency.
#[test]
fn yarn_4_catalogs_are_reproduced() {
    use crate::support::sandbox::Sandbox;
    let v = support::verdaccio::shared();
    let sb = Sandbox::new();
    let suffix = sb.token[sb.token.len() - 8..].to_lowercase();
    let token = v.add_user(&format!("tp-rewrite-{suffix}"));
    sb.add_secret(&token);
    sb.write(&sb.user_npmrc(), &Sandbox::token_line(&v.url, &token));
    let dep = format!("trustpub-rewrite-cat-{suffix}");
    for version in ["1.3.0", "1.4.0"] {
        let pkg = sb.package(
            &format!("dep-{version}"),
            &serde_json::json!({ "name": dep, "version": version }),
            &[("index.js", "module.exports = 1\n")],
        );
        let run = sb
            .trustpub(["publish"])
            .arg(&pkg)
            .arg("--registry")
            .arg(&v.url)
            .run();
        run.success();
    }

    let ws = Ws::new();
    ws.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"packageManager\": \"yarn@4.18.1\", \"workspaces\": [\"packages/*\"]}\n",
    );
    ws.write(
        ".yarnrc.yml",
        &format!(
            "enableTelemetry: false\nenableGlobalCache: false\nnodeLinker: node-modules\nnpmMinimalAgeGate: 0\nunsafeHttpWhitelist:\n  - 127.0.0.1\ncatalog:\n  {dep}: ^1.3.0\ncatalogs:\n  named:\n    {dep}: npm:~1.4.0\n"
        ),
    );
    ws.write(
        "packages/a/package.json",
        &format!(
            "{{\n  \"name\": \"a\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {{\"{dep}\": \"catalog:\"}},\n  \"devDependencies\": {{\"{dep}\": \"catalog:named\"}},\n  \"peerDependencies\": {{\"{dep}\": \"catalog:\"}}\n}}\n"
        ),
    );
    ws.write(
        "packages/b/package.json",
        &format!(
            "{{\n  \"name\": \"b\",\n  \"version\": \"1.0.0\",\n  \"optionalDependencies\": {{\"{dep}\": \"catalog:named\"}}\n}}\n"
        ),
    );
    files(&ws, "packages/a");
    files(&ws, "packages/b");
    let yarn = tool("@yarnpkg/cli-dist/bin/yarn.js");
    let mut c = ws.cmd(&yarn, &ws.root);
    c.env("YARN_NPM_REGISTRY_SERVER", &v.url);
    c.arg("install");
    ws.run(c, "yarn-cat-install");
    for member in ["packages/a", "packages/b"] {
        let label = format!("yarn-cat-{}", member.replace('/', "-"));
        let dir = ws.root.join(member);
        let out = ws.scratch.join(format!("{label}-tool"));
        fs::create_dir_all(&out).unwrap();
        let mut c = ws.cmd(&yarn, &dir);
        c.env("YARN_NPM_REGISTRY_SERVER", &v.url);
        c.args(["pack", "--out"]).arg(out.join("p.tgz"));
        ws.run(c, &format!("{label}-yarn-pack"));
        let tool_json = package_json_of(&take_tgz(&out));
        // What yarn does, so the comparison means something: catalogs
        // resolved in the three fields it rewrites, `npm:` dropped, and
        // optionalDependencies left as written.
        let text = String::from_utf8_lossy(&tool_json).into_owned();
        if member == "packages/a" {
            assert!(
                text.contains("\"^1.3.0\"")
                    && text.contains("\"~1.4.0\"")
                    && !text.contains("catalog:"),
                "{text}"
            );
        } else {
            assert!(text.contains("\"catalog:named\""), "{text}");
        }
        compare(&ws, member, &tool_json, &label);
    }
}
