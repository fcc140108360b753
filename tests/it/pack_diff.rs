//! Differential tests: `trustpub pack` against the real `npm pack` (11.19.1).
//!
//! For every directory under `fixtures/pack/` there is one `#[test]` below.
//! Each test:
//!
//! 1. copies the fixture into fresh temp dirs, one per run (scripts may modify
//!    the package), renaming `__gitignore` files to `.gitignore`, and applies
//!    the fixture's run-time setup (modes, links, `.git`, odd names, ...);
//! 2. runs `npm pack <dir> --json --pack-destination <out>` with an isolated
//!    config and environment, and `trustpub pack <dir> --json
//!    --pack-destination <out>` on an identical copy;
//! 3. checks that npm's result still exercises the fixture's rule (the
//!    `include`/`exclude`/`modes`/... expectations below);
//! 4. requires byte-identical uncompressed tar streams, a single gzip member
//!    in ours, the same JSON record (with `size`/`shasum`/`integrity` checked
//!    against our own .tgz instead), the same stdout text, the same lifecycle
//!    banners and the same side effects of scripts;
//! 5. runs both again with `--dry-run` (no `--json`) and compares stdout, the
//!    `npm notice` block (minus the gzip-dependent lines) and side effects.
//!
//! Set `TRUSTPUB_PACK_DIFF_OURS=npm` to run npm on both sides (a self-test
//! of the harness); `TRUSTPUB_TEST_NPM` selects the npm executable.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;
use sha1::Digest as _;

use crate::support::{self, tar, Output, Setup};

/// How npm's tar header for a path must look (checked on npm's archive).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hdr {
    /// The path fits in the 100-byte name field: no prefix, no PAX.
    Name,
    /// Split into ustar prefix + name, no PAX.
    Prefix,
    /// Preceded by a PAX extended header.
    Pax,
}

/// One fixture: its run-time setup, extra CLI args, and expectations about
/// npm's output that prove the fixture still exercises its rule.
#[derive(Clone, Copy)]
struct Fixture {
    /// Run-time setup, applied to every copy of the package.
    setup: Option<fn(&Setup)>,
    /// Extra arguments for both `npm pack` and `trustpub pack`.
    args: &'static [&'static str],
    /// Paths (relative to `package/`) that npm must pack.
    include: &'static [&'static str],
    /// Paths npm must not pack.
    exclude: &'static [&'static str],
    /// If set, npm's complete file list (any order).
    exact: Option<&'static [&'static str]>,
    /// `(path, mode)` in npm's JSON listing.
    modes: &'static [(&'static str, u32)],
    /// `(path, size)` in npm's JSON listing.
    sizes: &'static [(&'static str, u64)],
    /// `(path prefix, header kind)`: the single entry whose path starts with
    /// the prefix must have this header layout in npm's tar.
    headers: &'static [(&'static str, Hdr)],
    /// `(path, link target prefix)`: hard-link (type 1) entries in npm's tar;
    /// the target is given without `package/`.
    links: &'static [(&'static str, &'static str)],
    /// Entries that must be regular files (type 0) in npm's tar.
    regular: &'static [&'static str],
    /// npm's `bundled` array, exactly.
    bundled: Option<&'static [&'static str]>,
    /// npm's `filename`.
    filename: Option<&'static str>,
    /// Substrings of npm's stderr (`--json` run).
    npm_stderr: &'static [&'static str],
    /// Substrings that must not be in npm's stderr.
    npm_stderr_not: &'static [&'static str],
    /// Paths relative to the package dir that must exist after npm ran.
    present_after: &'static [&'static str],
    /// Paths relative to the package dir that must not exist after npm ran.
    absent_after: &'static [&'static str],
    /// A file, relative to the package's parent dir, written by a script.
    /// It is compared between npm and ours after normalising paths and
    /// integrity strings, and must equal `marker_expect` if given.
    marker: Option<&'static str>,
    marker_expect: Option<&'static str>,
    /// Run both tools from inside the package directory with no DIR argument
    /// and no `--pack-destination` (the defaults: cwd and cwd).
    from_cwd: bool,
    /// The fixture is a whole tree (a workspace root and its packages); this
    /// subdirectory is the package packed. npm is run from inside it with no
    /// DIR (as `cd <package> && npm pack`, the way npm finds the workspace
    /// root), trustpub is given it as DIR from outside.
    package: Option<&'static str>,
}

const D: Fixture = Fixture {
    setup: None,
    args: &[],
    include: &[],
    exclude: &[],
    exact: None,
    modes: &[],
    sizes: &[],
    headers: &[],
    links: &[],
    regular: &[],
    bundled: None,
    filename: None,
    npm_stderr: &[],
    npm_stderr_not: &[],
    present_after: &[],
    absent_after: &[],
    marker: None,
    marker_expect: None,
    from_cwd: false,
    package: None,
};

const FALLBACK_WARNING: &str = "No .npmignore file found, using .gitignore for file exclusion.";

// ---------------------------------------------------------------------------
// Run-time setups: things git cannot store (or stores unreliably).

fn setup_ignore_syntax(s: &Setup) {
    // CRLF line endings, comments, blank and whitespace-only lines, leading
    // and trailing whitespace, an escaped '#'.
    s.write(
        ".npmignore",
        "# comment\r\n\r\n   \r\n  spaced.txt  \r\nsecret.txt\r\n#notacomment.txt\r\n\\#hash.txt\r\n\ttab.txt\t\r\n   # indented comment\r\n",
    );
}

fn setup_bin_mode_quirk(s: &Setup) {
    s.chmod("lib/other.js", 0o755).chmod("lib/ro.js", 0o600);
}

fn setup_tar_modes(s: &Setup) {
    for m in [
        0o755, 0o600, 0o777, 0o640, 0o700, 0o444, 0o664, 0o400, 0o711, 0o4755, 0o2755, 0o1755,
    ] {
        s.chmod(&format!("m{m:04o}.js"), m);
    }
    s.chmod("git-exec.sh", 0o755);
}

fn setup_sort_order(s: &Setup) {
    // Names that differ only in case cannot be checked out on
    // case-insensitive file systems, so they are made here.
    s.write("mixed/foo.js", "x\n")
        .write("mixed/Foo.js", "x\n")
        .write("mixed/FOO.js", "x\n")
        .write("Dir/x.js", "x\n")
        .write("dir/x.js", "x\n")
        .write("mixed/a.JS", "x\n")
        .write("mixed/a.js", "x\n");
}

fn setup_runtime_git_dir(s: &Setup) {
    s.write(".git/HEAD", "ref: refs/heads/main\n")
        .write(".git/config", "[core]\n")
        .write(".git/objects/ab/cdef", "x\n")
        .write("sub/.git", "gitdir: ../.git/modules/sub\n")
        .write("lib/.git/HEAD", "ref\n");
}

fn setup_runtime_symlinks(s: &Setup) {
    s.symlink("index.js", "link-file.js")
        .symlink("lib", "link-dir")
        .symlink("nowhere", "dangling.js")
        .symlink("../index.js", "lib/up.js")
        .symlink("/", "abs-link");
}

fn setup_runtime_symlinks_files(s: &Setup) {
    s.symlink("index.js", "file-link.js")
        .symlink("real", "dir-link")
        .symlink("index.js", "main-link.js")
        .symlink("index.js", "bin-link.js")
        .symlink("../real/r.js", "lib/r-link.js");
}

const LONG_ORIG: &str = "dd/dddddddddddddddddddddddddddddddddddddddd/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee/ffffffffffffffffffffffffffffffffffffffff/a-orig.js";

fn setup_runtime_hardlink(s: &Setup) {
    s.hardlink("lib/a.js", "lib/b.js")
        // the original is excluded, so the packed copy is a regular file
        .hardlink("excluded.txt", "kept.txt")
        // a link to a file outside the package: a regular file too
        .write("../outside.txt", "outside\n")
        .hardlink("../outside.txt", "c.js")
        // a link whose target path is long: PAX with a linkpath record
        .hardlink(LONG_ORIG, "b-link.js");
}

fn setup_runtime_odd_names(s: &Setup) {
    s.write("a*b.js", "x\n")
        .write("dir*x/c.js", "x\n")
        .write("q?.js", "x\n")
        .write("c:d.js", "x\n")
        .write("p|ipe.js", "x\n")
        .write("<lt>.js", "x\n")
        .write("back\\slash.js", "x\n")
        .write("new\nline.js", "x\n")
        .write("\"quote\".js", "x\n");
}

fn setup_runtime_empty_dirs(s: &Setup) {
    s.mkdir("empty")
        .mkdir("a/b/c")
        .mkdir("empty-listed")
        .mkdir("lib/empty")
        .write("onlyignored/.DS_Store", "x\n");
}

/// The hidden lockfile `npm install` leaves in `node_modules`, written
/// after the copy so that it is newer than every directory there.
const HIDDEN_LOCK: &str = r#"{
  "name": "bundle-hidden-lock",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "node_modules/dep": {
      "version": "1.0.0",
      "inBundle": true,
      "dependencies": { "sub": "1.0.0" },
      "bin": { "dep": "cli.js" }
    },
    "node_modules/sub": { "version": "1.0.0", "inBundle": true },
    "../linked": { "version": "1.0.0" },
    "node_modules/linked": { "resolved": "../linked", "link": true }
  }
}
"#;

/// A `file:../linked` dependency, linked from `node_modules` (as npm
/// install makes it): its package.json is read even with a fresh lockfile.
fn setup_hidden_lock_link(s: &Setup) {
    s.write(
        "../linked/package.json",
        r#"{ "name": "linked", "version": "1.0.0", "files": ["index.js"] }"#,
    )
    .write("../linked/index.js", "module.exports = 'linked'\n")
    .write("../linked/extra.js", "module.exports = 'not in files'\n")
    .symlink("../../linked", "node_modules/linked");
}

fn setup_hidden_lock_fresh(s: &Setup) {
    setup_hidden_lock_link(s);
    s.write("node_modules/.package-lock.json", HIDDEN_LOCK);
}

fn setup_hidden_lock_stale(s: &Setup) {
    setup_hidden_lock_link(s);
    s.write("node_modules/.package-lock.json", HIDDEN_LOCK);
    // older than the directories: Arborist rejects it
    let lock = fs::File::options()
        .write(true)
        .open(s.pkg.join("node_modules/.package-lock.json"))
        .unwrap();
    lock.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000))
        .unwrap();
}

/// The hidden lockfile of `bundle-link-inside`: `evil` is a `file:`
/// dependency inside the package, linked from `node_modules`.
const HIDDEN_LOCK_INSIDE: &str = r#"{
  "name": "bundle-link-inside",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "packages/evil": { "version": "1.0.0" },
    "node_modules/evil": { "resolved": "packages/evil", "link": true }
  }
}
"#;

/// `node_modules/evil` -> `../packages/evil`, a directory of the package.
fn setup_link_inside(s: &Setup) {
    s.mkdir("node_modules")
        .symlink("../packages/evil", "node_modules/evil");
}

fn setup_link_inside_fresh(s: &Setup) {
    setup_link_inside(s);
    s.write("node_modules/.package-lock.json", HIDDEN_LOCK_INSIDE);
}

// ---------------------------------------------------------------------------
// The fixture table. One test per fixture directory.

macro_rules! fixtures {
    ($($test:ident : $dir:literal => $fx:expr;)*) => {
        /// Every fixture directory that has a test.
        const FIXTURE_DIRS: &[&str] = &[$($dir),*];
        $(
            #[test]
            fn $test() {
                run_fixture($dir, &$fx);
            }
        )*
    };
}

fixtures! {
    defaults_basic: "defaults-basic" => Fixture {
        exact: Some(&[".env", ".eslintrc.json", ".github/workflows/ci.yml", "CHANGELOG.md", "HISTORY.md",
            "NOTICE", "docs/guide.md", "index.js", "lib/util.js", "package.json", "test/index.test.js"]),
        ..D
    };
    default_excludes_files: "default-excludes-files" => Fixture {
        include: &["keep.js", "x.swp", "npm-debug.log.1", "sub/keep.js"],
        exclude: &[".DS_Store", "._foo", "x.orig", ".x.swp", "npm-debug.log", ".wafpickle-1", ".lock-wscript",
            "sub/.DS_Store", "sub/._bar", "sub/y.orig", "sub/.y.swp", "sub/npm-debug.log",
            // rooted default rules are re-applied in every directory
            "sub/.wafpickle-2", "sub/.lock-wscript", "._dir/inside.js"],
        ..D
    };
    default_excludes_dirs: "default-excludes-dirs" => Fixture {
        include: &["build/other.gypi", "lib/ok.js", "lib/cvs.js"],
        exclude: &["archived-packages/old.txt", "sub/archived-packages/old.txt", "build/config.gypi",
            "sub/build/config.gypi", "CVS/Entries", ".svn/entries", ".hg/store", "lib/CVS/Root",
            "lib/.svn/wc.db", "lib/.hg/dirstate"],
        ..D
    };
    npmrc_excluded: "npmrc-excluded" => Fixture {
        include: &["lib/a.js", "lib/x.npmrc"],
        exclude: &[".npmrc", "lib/.npmrc", "lib/deep/.npmrc"],
        ..D
    };
    files_lists_npmrc: "files-lists-npmrc" => Fixture {
        // lib/.npmrc becomes a required file of the lib walker and wins there
        include: &["lib/.npmrc", "lib/a.js", "npm-shrinkwrap.json"],
        exclude: &[".npmrc", "package-lock.json"],
        ..D
    };
    lockfiles: "lockfiles" => Fixture {
        include: &["bun.lock", "npm-shrinkwrap.json", "lib/package-lock.json", "lib/yarn.lock",
            "lib/pnpm-lock.yaml", "lib/bun.lockb"],
        exclude: &["package-lock.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb"],
        ..D
    };
    files_shrinkwrap: "files-shrinkwrap" => Fixture {
        include: &["index.js"],
        exclude: &["npm-shrinkwrap.json"],
        ..D
    };
    files_plain: "files-plain" => Fixture {
        exact: Some(&["index.js", "lib/util.js", "package.json"]),
        ..D
    };
    files_dir: "files-dir" => Fixture {
        include: &["lib/a.js", "lib/sub/deep.js", "lib/.hidden"],
        exclude: &["lib/.DS_Store", "lib/x.orig", "lib/npm-debug.log", "lib/.npmrc", "lib/CVS/Root", "other.js"],
        ..D
    };
    files_globs: "files-globs" => Fixture {
        include: &["dist/a.js", "dist/sub/b.d.ts", "types/x.d.ts", "deep/er/y.d.ts", "top.d.ts"],
        exclude: &["dist/a.js.map", "dist/sub/b.js", "z.ts"],
        ..D
    };
    files_dot_slash: "files-dot-slash" => Fixture {
        include: &["index.js", "lib/a.js", "lib/sub/b.js", "bin/cli.js", "bin/sub/tool.js"],
        exclude: &["other.js"],
        ..D
    };
    files_trailing_star: "files-trailing-star" => Fixture {
        include: &["lib/a.js", "lib/sub/b.js", "lib/.hidden", "docs/a.md"],
        exclude: &["docs/sub/b.md", "other.js"],
        ..D
    };
    files_negation: "files-negation" => Fixture {
        include: &["lib/a.js", "lib/sub/b.js"],
        exclude: &["lib/secret.js", "lib/a.test.js", "lib/sub/b.test.js"],
        ..D
    };
    files_nomatch: "files-nomatch" => Fixture {
        exact: Some(&["lib/a.js", "package.json"]),
        ..D
    };
    files_empty_array: "files-empty-array" => Fixture {
        exact: Some(&["README.md", "package.json"]),
        ..D
    };
    files_nested_npmignore: "files-nested-npmignore" => Fixture {
        include: &["lib/a.js", "lib/nested/b.js"],
        exclude: &["lib/ignored.js", "lib/nested/ignored.js", "lib/.npmignore"],
        ..D
    };
    files_root_npmignore: "files-root-npmignore" => Fixture {
        include: &["lib/a.js", "lib/b.js", "extra.txt"],
        exclude: &["other.txt", ".npmignore", ".gitignore"],
        npm_stderr_not: &[FALLBACK_WARNING],
        ..D
    };
    files_required_in_ignored: "files-required-in-ignored" => Fixture {
        include: &["lib/keep.js", "lib/sub/y.txt"],
        exclude: &["lib/drop.js", "lib/sub/x.js"],
        ..D
    };
    npmignore_beats_gitignore: "npmignore-beats-gitignore" => Fixture {
        include: &["b.txt", "c.txt", "sub/y.txt", "other/w.txt"],
        exclude: &["a.txt", "sub/x.txt", "other/z.txt", ".npmignore", ".gitignore", "sub/.gitignore",
            "other/.gitignore"],
        npm_stderr_not: &[FALLBACK_WARNING],
        ..D
    };
    gitignore_fallback: "gitignore-fallback" => Fixture {
        include: &["index.js", "sub/dist/out.js"],
        exclude: &["secret.txt", "sub/secret.txt", "logs/a.log", "dist/out.js", ".gitignore"],
        npm_stderr: &["npm warn gitignore-fallback", FALLBACK_WARNING],
        ..D
    };
    nested_ignores: "nested-ignores" => Fixture {
        include: &["a/src.js", "b/y.js", "b/c/z.tmp", "b/c/only-here.js", "c/z.tmp"],
        exclude: &["a/gen.js", "b/x.tmp", "b/only-here.js", "a/.gitignore", "b/.npmignore"],
        npm_stderr_not: &[FALLBACK_WARNING],
        ..D
    };
    ignore_negation: "ignore-negation" => Fixture {
        // logs/other.txt leaks in: the negation re-opens the excluded dir
        include: &["keep.log", "sub/keep.log", "logs/important.txt", "logs/other.txt", "docs/api.md", "index.js"],
        exclude: &["a.log", "sub/b.log", "docs/draft.md"],
        ..D
    };
    ignore_syntax: "ignore-syntax" => Fixture {
        setup: Some(setup_ignore_syntax),
        include: &["#notacomment.txt", "keep.txt"],
        exclude: &["spaced.txt", "secret.txt", "#hash.txt", "tab.txt"],
        ..D
    };
    ignore_basename: "ignore-basename" => Fixture {
        include: &["a.js", "sub/seecret.md"],
        exclude: &["b.js", "sub/b.js", "deep/x/b.js", "a.tmp", "sub/c.tmp", "test/fixtures/f.js",
            "fixtures/g.js", "sub/secret.md", "sub/sacret.md", "sub/sxcret.md"],
        ..D
    };
    ignore_rooted: "ignore-rooted" => Fixture {
        include: &["sub/foo/a.js", "sub/top.js", "other/sub/only.js"],
        exclude: &["foo/a.js", "top.js", "sub/only.js"],
        ..D
    };
    ignore_dir_rule: "ignore-dir-rule" => Fixture {
        include: &["cache", "tmp.js", "sub/out/o.js"],
        exclude: &["tmp/a.js", "sub/tmp/b.js", "sub/cache/x.js", "out/o.js"],
        ..D
    };
    ignore_dir_then_negate: "ignore-dir-then-negate" => Fixture {
        // the negations re-open the dirs and their other files leak in
        include: &["lib/keep.js", "lib/drop.js", "test/a.js", "test/fixtures/f.js", "index.js"],
        ..D
    };
    ignore_double_star: "ignore-double-star" => Fixture {
        include: &["lib/a.js", "map.js.map"],
        exclude: &["lib/a.js.map", "lib/x/y/b.js.map", "test/t.js", "lib/test/t.js", "lib/a.spec.js", "a.spec.ts"],
        ..D
    };
    npmignore_star: "npmignore-star" => Fixture {
        exact: Some(&["LICENSE", "README.md", "lib/main.js", "lib/util.js", "package.json"]),
        ..D
    };
    force_readme_license: "force-readme-license" => Fixture {
        include: &["README", "readme.md", "Readme.markdown", "LICENSE", "LICENCE.txt", "COPYING",
            "copying.lesser", "README.md.bak", "index.js"],
        exclude: &["license-MIT", "readme~", "README.md~", "readme.", "CHANGELOG.md", "NOTICE",
            "docs/README.md", "licenses/LICENSE"],
        ..D
    };
    force_readme_npmignore: "force-readme-npmignore" => Fixture {
        exact: Some(&["README.md", "LICENSE", "package.json", "index.js"]),
        ..D
    };
    force_main: "force-main" => Fixture {
        exact: Some(&["lib/x.js", "lib/other.js", "package.json"]),
        ..D
    };
    main_dot_slash: "main-dot-slash" => Fixture {
        exact: Some(&["index.js", "package.json"]),
        ..D
    };
    main_no_ext: "main-no-ext" => Fixture {
        include: &["lib/entry"],
        exclude: &["lib/entry.js"],
        ..D
    };
    main_in_ignored_dir: "main-in-ignored-dir" => Fixture {
        // forcing main re-opens lib/, whose other files then leak in
        include: &["lib/x.js", "lib/y.js", "lib/deep/z.js"],
        ..D
    };
    force_browser: "force-browser" => Fixture {
        include: &["dist/browser.js"],
        exclude: &["dist/other.js"],
        ..D
    };
    browser_object: "browser-object" => Fixture {
        exact: Some(&["index.js", "package.json"]),
        ..D
    };
    bin_string: "bin-string" => Fixture {
        include: &["cli.js", "lib/a.js"],
        exclude: &["other.js"],
        modes: &[("cli.js", 0o755), ("lib/a.js", 0o644)],
        ..D
    };
    bin_object: "bin-object" => Fixture {
        include: &["b.js", "bin/a.js", "tools/c.js"],
        exclude: &["bin/other.js"],
        modes: &[("b.js", 0o755), ("bin/a.js", 0o644), ("tools/c.js", 0o644)],
        ..D
    };
    bin_mode_quirk: "bin-mode-quirk" => Fixture {
        setup: Some(setup_bin_mode_quirk),
        modes: &[("cli.js", 0o755), ("sub/cli.js", 0o755), ("lib/tool.js", 0o644),
            ("pkg/lib/tool.js", 0o755), ("lib/other.js", 0o755), ("lib/ro.js", 0o600)],
        ..D
    };
    directories_bin: "directories-bin" => Fixture {
        include: &["scripts/run.js"],
        modes: &[("scripts/run.js", 0o644)],
        ..D
    };
    files_key_uppercase: "files-key-uppercase" => Fixture {
        include: &["lib/a.js", "other.js"],
        ..D
    };
    files_case_patterns: "files-case-patterns" => Fixture {
        // docs/d.txt depends on the file system's case sensitivity: unchecked
        include: &["lib/a.js", "notes.md"],
        exclude: &["lib/b.ts", "other.js"],
        ..D
    };
    npmignore_case: "npmignore-case" => Fixture {
        exact: Some(&["index.js", "package.json"]),
        ..D
    };
    tar_long_path: "tar-long-path" => Fixture {
        headers: &[("d/aaaa", Hdr::Name), ("d/bbbb", Hdr::Prefix), ("cccc", Hdr::Prefix),
            ("dddd", Hdr::Prefix), ("gggg", Hdr::Prefix)],
        ..D
    };
    tar_pax_long: "tar-pax-long" => Fixture {
        headers: &[("aaaa", Hdr::Pax), ("abcdefghi/", Hdr::Pax), ("x/bbbb", Hdr::Pax), ("package.json", Hdr::Name)],
        ..D
    };
    tar_unicode: "tar-unicode" => Fixture {
        headers: &[("é.js", Hdr::Pax), ("日本語.txt", Hdr::Pax), ("ü/ß.md", Hdr::Pax), ("😀.js", Hdr::Pax),
            ("naïve", Hdr::Pax), ("éééé", Hdr::Pax), ("aaaa", Hdr::Pax), ("u/zzzz", Hdr::Pax)],
        ..D
    };
    tar_sizes: "tar-sizes" => Fixture {
        sizes: &[("empty.txt", 0), ("one.txt", 1), ("b511.txt", 511), ("b512.txt", 512), ("b513.txt", 513),
            ("b1024.txt", 1024), ("sub/.keep", 0), ("bin.dat", 11)],
        ..D
    };
    tar_modes: "tar-modes" => Fixture {
        setup: Some(setup_tar_modes),
        modes: &[("m0755.js", 0o755), ("m0600.js", 0o600), ("m0777.js", 0o755), ("m0640.js", 0o640),
            ("m0700.js", 0o700), ("m0444.js", 0o644), ("m0664.js", 0o644), ("m0400.js", 0o600),
            ("m0711.js", 0o711), ("m4755.js", 0o4755), ("m2755.js", 0o2755), ("m1755.js", 0o1755),
            ("git-exec.sh", 0o755), ("package.json", 0o644)],
        ..D
    };
    at_names: "at-names" => Fixture {
        include: &["@types/index.d.ts", "@foo.js", "lib/@bar.js", "@scope/pkg/x.js"],
        headers: &[("@types/index.d.ts", Hdr::Name), ("@foo.js", Hdr::Name)],
        ..D
    };
    sort_order: "sort-order" => Fixture {
        setup: Some(setup_sort_order),
        include: &["_under.js", "-dash.js", "10.js", "a_b.js", "a-b.js", "a.b.js", "é.js", "Makefile",
            "noext", ".eslintrc", "~tilde.js", "sp ace.js", "mixed/foo.js", "lib/noext"],
        ..D
    };
    nested_package_json: "nested-package-json" => Fixture {
        include: &["sub/a.js", "sub/main.js", "sub/package.json", "index.js"],
        ..D
    };
    scoped_name: "scoped-name" => Fixture {
        filename: Some("scope-name-1.2.3-beta.1.tgz"),
        ..D
    };
    node_modules_not_bundled: "node-modules-not-bundled" => Fixture {
        include: &["lib/node_modules/x.js"],
        exclude: &["node_modules/dep/index.js", "node_modules/dep/package.json"],
        bundled: Some(&[]),
        ..D
    };
    runtime_git_dir: "runtime-git-dir" => Fixture {
        setup: Some(setup_runtime_git_dir),
        exact: Some(&[".gitkeep-not-special", "index.js", "lib/a.js", "package.json", "sub/b.js"]),
        ..D
    };
    runtime_symlinks: "runtime-symlinks" => Fixture {
        setup: Some(setup_runtime_symlinks),
        exact: Some(&["index.js", "lib/a.js", "package.json"]),
        ..D
    };
    runtime_symlinks_files: "runtime-symlinks-files" => Fixture {
        setup: Some(setup_runtime_symlinks_files),
        exact: Some(&["lib/a.js", "package.json"]),
        ..D
    };
    runtime_hardlink: "runtime-hardlink" => Fixture {
        setup: Some(setup_runtime_hardlink),
        include: &["lib/a.js", "lib/b.js", "kept.txt", "c.js", "b-link.js", LONG_ORIG],
        exclude: &["excluded.txt"],
        links: &[("lib/b.js", "lib/a.js"), ("b-link.js", "dd/dddd")],
        regular: &["lib/a.js", "kept.txt", "c.js", LONG_ORIG],
        headers: &[("b-link.js", Hdr::Pax), ("dd/", Hdr::Prefix)],
        sizes: &[("lib/b.js", 0), ("b-link.js", 0)],
        ..D
    };
    runtime_odd_names: "runtime-odd-names" => Fixture {
        setup: Some(setup_runtime_odd_names),
        // node-tar strips "c:" as if it were a drive letter
        include: &["keep.js", "q?.js", "d.js", "p|ipe.js", "<lt>.js", "back\\slash.js", "new\nline.js", "\"quote\".js"],
        exclude: &["a*b.js", "dir*x/c.js", "c:d.js"],
        ..D
    };
    runtime_empty_dirs: "runtime-empty-dirs" => Fixture {
        setup: Some(setup_runtime_empty_dirs),
        exact: Some(&["lib/a.js", "package.json"]),
        ..D
    };
    bundle_deps: "bundle-deps" => Fixture {
        bundled: Some(&["dep", "@s/dep", "opt", "trans"]),
        include: &["node_modules/dep/.npmignore", "node_modules/dep/.DS_Store", "node_modules/dep/secret.txt",
            "node_modules/dep/x.orig", "node_modules/dep/README.md", "node_modules/dep/lib/util.js",
            "node_modules/dep/sub/kept.js", "node_modules/dep/node_modules/nested/index.js",
            "node_modules/trans/index.js", "node_modules/opt/index.js", "node_modules/@s/dep/index.js",
            "node_modules/@s/dep/package.json"],
        exclude: &["node_modules/dep/.npmrc", "node_modules/dep/package-lock.json", "node_modules/dep/sub/ignored.js",
            "node_modules/dep/sub/.npmignore", "node_modules/dep/sub/.DS_Store", "node_modules/@s/dep/extra.js",
            "node_modules/other/index.js", "node_modules/devdep/index.js", "node_modules/peer/index.js",
            "node_modules/not-a-dep/index.js"],
        ..D
    };
    bundled_spelling: "bundled-spelling" => Fixture {
        bundled: Some(&["dep"]),
        include: &["node_modules/dep/index.js", "node_modules/dep/test/t.js", "node_modules/dep/package.json"],
        ..D
    };
    bundle_true: "bundle-true" => Fixture {
        bundled: Some(&["dep"]),
        include: &["node_modules/dep/index.js"],
        exclude: &["node_modules/opt/index.js", "node_modules/devdep/index.js"],
        ..D
    };
    bundle_shared: "bundle-shared" => Fixture {
        // `shared` is reached from left, right, deep and left's nested
        // `inner`; `leaf` from shared and deep; `inner` from left and from
        // its nested sibling `other`: each path is written once. `twice`
        // sits at two paths (not hoisted): both are written.
        exact: Some(&["index.js", "package.json",
            "node_modules/left/index.js", "node_modules/left/package.json",
            "node_modules/right/index.js", "node_modules/right/package.json",
            "node_modules/shared/index.js", "node_modules/shared/lib/util.js", "node_modules/shared/package.json",
            "node_modules/leaf/index.js", "node_modules/leaf/package.json",
            "node_modules/deep/index.js", "node_modules/deep/package.json",
            "node_modules/left/node_modules/twice/index.js", "node_modules/left/node_modules/twice/package.json",
            "node_modules/right/node_modules/twice/index.js", "node_modules/right/node_modules/twice/package.json",
            "node_modules/left/node_modules/inner/index.js", "node_modules/left/node_modules/inner/package.json",
            "node_modules/left/node_modules/other/index.js", "node_modules/left/node_modules/other/package.json"]),
        ..D
    };
    bundle_hidden_lock: "bundle-hidden-lock" => Fixture {
        setup: Some(setup_hidden_lock_fresh),
        // **quirk**: a fresh hidden lockfile is the tree: its entries have no
        // `files`, so the bundled deps are packed whole
        exact: Some(&["index.js", "package.json",
            "node_modules/dep/CHANGELOG.md", "node_modules/dep/cli.js", "node_modules/dep/extra.js",
            "node_modules/dep/index.js", "node_modules/dep/package.json",
            "node_modules/sub/lib/x.js", "node_modules/sub/other.js", "node_modules/sub/package.json",
            "node_modules/linked/index.js", "node_modules/linked/package.json"]),
        ..D
    };
    bundle_hidden_lock_stale: "bundle-hidden-lock" => Fixture {
        setup: Some(setup_hidden_lock_stale),
        // a stale hidden lockfile is ignored: the deps' package.json `files` apply
        exact: Some(&["index.js", "package.json",
            "node_modules/dep/cli.js", "node_modules/dep/index.js", "node_modules/dep/package.json",
            "node_modules/sub/lib/x.js", "node_modules/sub/package.json",
            "node_modules/linked/index.js", "node_modules/linked/package.json"]),
        ..D
    };
    bundle_link_inside: "bundle-link-inside" => Fixture {
        setup: Some(setup_link_inside),
        // a link to a directory of the package is followed: its `files` apply
        exact: Some(&["index.js", "package.json",
            "packages/evil/extra.js", "packages/evil/index.js", "packages/evil/package.json",
            "node_modules/evil/index.js", "node_modules/evil/package.json"]),
        bundled: Some(&["evil"]),
        ..D
    };
    bundle_link_inside_fresh: "bundle-link-inside" => Fixture {
        setup: Some(setup_link_inside_fresh),
        // with a fresh hidden lockfile the link target is still read from
        // its package.json (it is outside node_modules)
        exact: Some(&["index.js", "package.json",
            "packages/evil/extra.js", "packages/evil/index.js", "packages/evil/package.json",
            "node_modules/evil/index.js", "node_modules/evil/package.json"]),
        bundled: Some(&["evil"]),
        ..D
    };
    scripts_prepack: "scripts-prepack" => Fixture {
        exact: Some(&["dist/gen.js", "package.json"]),
        present_after: &["dist/gen.js"],
        ..D
    };
    scripts_prepare: "scripts-prepare" => Fixture {
        include: &["prepared.txt"],
        absent_after: &["prepublish.txt", "install.txt", "prepublish-legacy.txt"],
        ..D
    };
    scripts_postpack: "scripts-postpack" => Fixture {
        include: &["temp.txt"],
        absent_after: &["temp.txt"],
        marker: Some("postpack-marker.txt"),
        marker_expect: Some(
            "postpack|scripts-postpack|2.0.0|<INTEGRITY>|<SIDE>/pkg|file:<SIDE>/pkg|<SIDE>/pkg/package.json\n",
        ),
        ..D
    };
    scripts_order: "scripts-order" => Fixture {
        marker: Some("order.txt"),
        marker_expect: Some("prepack\nprepare\npostpack\n"),
        ..D
    };
    scripts_ignored: "scripts-ignored" => Fixture {
        args: &["--ignore-scripts"],
        exact: Some(&["index.js", "package.json"]),
        absent_after: &["gen-prepack.txt", "gen-prepare.txt", "../postpack-marker.txt"],
        ..D
    };
    cwd_default: "cwd-default" => Fixture {
        from_cwd: true,
        filename: Some("cwd-default-0.1.0.tgz"),
        exact: Some(&["index.js", "lib/l.js", "package.json"]),
        present_after: &["cwd-default-0.1.0.tgz"],
        marker: Some("cwd-marker.txt"),
        marker_expect: Some("<SIDE>/pkg|file:<SIDE>/pkg|<SIDE>/pkg/package.json|<SIDE>/pkg\n"),
        ..D
    };
    ws_root_gitignore: "ws-root-gitignore" => Fixture {
        package: Some("packages/a"),
        // the root's and packages/'s .gitignore apply, read from the package:
        // the anchored `/packages/a/tmp/` matches nothing, `/anchored.txt`
        // matches the package's own anchored.txt
        exact: Some(&["index.js", "keep.env", "package.json", "sub/anchored.txt", "tmp/t.js"]),
        ..D
    };
    ws_root_files: "ws-root-files" => Fixture {
        package: Some("packages/a"),
        // **quirk**: the root's rules are default rules, so `files` re-includes
        // `dist/prod.env` and `dist/index.js.map`
        exact: Some(&["README.md", "dist/index.js", "dist/index.js.map", "dist/prod.env", "lib/l.js",
            "package.json", "top.env"]),
        ..D
    };
    ws_root_npmignore: "ws-root-npmignore" => Fixture {
        package: Some("packages/a"),
        // the root's .npmignore discards its .gitignore; the package's own
        // .gitignore still applies
        exact: Some(&["index.js", "package.json", "prod.env"]),
        ..D
    };
    ws_deep: "ws-deep" => Fixture {
        package: Some("packages/group/libs/x"),
        // one ignore file per directory from the root down to the package's
        // parent (packages/group: .npmignore beats .gitignore)
        exact: Some(&["c.bak", "index.js", "package.json"]),
        ..D
    };
    ws_nested_root: "ws-nested-root" => Fixture {
        package: Some("packages/group/libs/x"),
        // the nearest root listing the package wins: packages/group, whose
        // own ignore files apply; the top root's `*.env` does not
        exact: Some(&["index.js", "package.json", "prod.env"]),
        ..D
    };
    ws_not_member: "ws-not-member" => Fixture {
        package: Some("packages/skip"),
        // `!packages/skip` in `workspaces`: not a workspace, root rules not applied
        exact: Some(&["index.js", "package.json", "prod.env"]),
        ..D
    };
    ws_not_member_outside: "ws-not-member" => Fixture {
        package: Some("tools/t"),
        exact: Some(&["index.js", "package.json", "prod.env"]),
        ..D
    };
    workspaces_root: "workspaces-root" => Fixture {
        // the workspace dir reads its package.json as an ignore file, which
        // discards its .npmignore
        include: &["packages/a/extra.js", "packages/a/index.js", "packages/a/package.json", "other/x.js"],
        ..D
    };
}

// ---------------------------------------------------------------------------
// The runner.

/// Collects failures so that one run reports every difference it finds.
struct Failures {
    fixture: String,
    list: Vec<String>,
}

impl Failures {
    fn push(&mut self, msg: impl Into<String>) {
        self.list.push(msg.into());
    }
    fn check(&mut self, ok: bool, msg: impl FnOnce() -> String) {
        if !ok {
            self.list.push(msg());
        }
    }
    fn finish(self) {
        if !self.list.is_empty() {
            let mut s = format!(
                "fixture `{}`: {} problem(s)\n",
                self.fixture,
                self.list.len()
            );
            for (i, f) in self.list.iter().enumerate() {
                let _ = writeln!(s, "\n({}) {}", i + 1, f.trim_end());
            }
            panic!("{s}");
        }
    }
}

/// One copy of the package: `<root>/<label>/pkg`, packing into `<root>/<label>/out`.
/// For a [`Fixture::package`] tree, the tree is copied to `pkg` and the
/// package is `pkg/<package>`.
struct Side {
    dir: PathBuf,
    pkg: PathBuf,
    /// Where the tarball is written (the package dir itself for `from_cwd`).
    out: PathBuf,
    out_is_pkg: bool,
    /// npm runs from inside the package ([`Fixture::package`]).
    from_inside: bool,
}

impl Side {
    /// Files in the output directory (only `*.tgz` when that is the package).
    fn out_names(&self) -> Vec<String> {
        let mut names = support::dir_names(&self.out);
        if self.out_is_pkg {
            names.retain(|n| n.ends_with(".tgz"));
        }
        names
    }

    /// Adds the package location: `DIR --pack-destination OUT` from the
    /// side's dir, or nothing from inside the package.
    fn locate(&self, cmd: &mut Command) {
        if self.out_is_pkg {
            cmd.current_dir(&self.pkg);
        } else if self.from_inside {
            cmd.arg("--pack-destination")
                .arg(&self.out)
                .current_dir(&self.pkg);
        } else {
            cmd.arg(&self.pkg)
                .arg("--pack-destination")
                .arg(&self.out)
                .current_dir(&self.dir);
        }
    }

    /// [`Side::locate`] for trustpub: a [`Fixture::package`] is given as DIR.
    fn locate_ours(&self, cmd: &mut Command) {
        if self.out_is_pkg {
            cmd.current_dir(&self.pkg);
        } else {
            cmd.arg(&self.pkg)
                .arg("--pack-destination")
                .arg(&self.out)
                .current_dir(&self.dir);
        }
    }
}

struct Env {
    root: PathBuf,
    home: PathBuf,
    userconfig: PathBuf,
    globalconfig: PathBuf,
    cache: PathBuf,
}

fn prepare_side(env: &Env, label: &'static str, src: &Path, fx: &Fixture) -> Side {
    let dir = env.root.join(label);
    let tree = dir.join("pkg");
    let pkg = match fx.package {
        Some(sub) => tree.join(sub),
        None => tree.clone(),
    };
    let out = if fx.from_cwd {
        pkg.clone()
    } else {
        dir.join("out")
    };
    support::copy_fixture(src, &tree)
        .unwrap_or_else(|e| panic!("copy fixture to {}: {e}", tree.display()));
    assert!(
        pkg.join("package.json").is_file(),
        "fixture package {:?} has no package.json",
        fx.package
    );
    fs::create_dir_all(&out).unwrap();
    if let Some(setup) = fx.setup {
        setup(&Setup { pkg: &tree });
    }
    Side {
        dir,
        pkg,
        out,
        out_is_pkg: fx.from_cwd,
        from_inside: fx.package.is_some(),
    }
}

fn npm_command(env: &Env, side: &Side, mode: &[&str], fx: &Fixture) -> Command {
    let mut cmd = Command::new(support::npm_program());
    cmd.arg("pack");
    side.locate(&mut cmd);
    cmd.args(mode)
        .arg("--userconfig")
        .arg(&env.userconfig)
        .arg("--globalconfig")
        .arg(&env.globalconfig)
        .arg("--cache")
        .arg(&env.cache)
        .arg("--no-update-notifier")
        .arg("--offline")
        .args(fx.args);
    support::apply_env(&mut cmd, &env.home);
    cmd
}

fn ours_command(env: &Env, side: &Side, mode: &[&str], fx: &Fixture) -> Command {
    if std::env::var("TRUSTPUB_PACK_DIFF_OURS").as_deref() == Ok("npm") {
        return npm_command(env, side, mode, fx);
    }
    let mut cmd = Command::new(support::trustpub_bin());
    cmd.arg("pack");
    side.locate_ours(&mut cmd);
    cmd.args(mode).args(fx.args);
    support::apply_env(&mut cmd, &env.home);
    cmd
}

/// Splits stdout into (text before the JSON, the JSON value, the JSON text).
/// Lifecycle scripts print to stdout before npm prints the JSON array.
fn split_json(stdout: &str) -> Option<(String, Value, String)> {
    let mut start = 0;
    for line in stdout.split_inclusive('\n') {
        if line.trim_end() == "[" {
            let text = &stdout[start..];
            if let Ok(v) = serde_json::from_str::<Value>(text) {
                return Some((stdout[..start].to_string(), v, text.to_string()));
            }
        }
        start += line.len();
    }
    None
}

fn gunzip_all(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decompresses exactly one gzip member and returns it with the bytes left over.
fn gunzip_one(bytes: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let mut dec = flate2::bufread::GzDecoder::new(bytes);
    let mut out = Vec::new();
    dec.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok((out, dec.into_inner().len()))
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(sha1::Sha1::digest(bytes))
}

fn sha512_sri(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(bytes))
    )
}

fn side_normalize(text: &str, side: &Side) -> String {
    let integrity = regex::Regex::new(r"sha512-[A-Za-z0-9+/]{86}==").unwrap();
    let s = support::replace_all(text, &[(&side.dir.to_string_lossy(), "<SIDE>")]);
    integrity.replace_all(&s, "<INTEGRITY>").into_owned()
}

/// Recursive listing of a side's directory (excluding `out/`): path, kind,
/// and for regular files the content (or its size for large files).
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            if rel == "out" || rel == "captures" {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(&p) else {
                continue;
            };
            let desc = if meta.file_type().is_symlink() {
                format!("symlink -> {:?}", fs::read_link(&p).unwrap_or_default())
            } else if meta.is_dir() {
                walk(base, &p, out);
                "dir".to_string()
            } else if rel.ends_with(".tgz") {
                "file, a tarball".to_string()
            } else {
                format!("file, {} bytes", meta.len())
            };
            out.insert(rel, desc);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn compare_trees(f: &mut Failures, what: &str, npm: &Side, ours: &Side, fx: &Fixture) {
    let marker = fx.marker;
    let strip = |t: BTreeMap<String, String>| -> BTreeMap<String, String> {
        t.into_iter()
            .map(|(k, v)| {
                // marker files hold paths whose length differs: compare them separately
                if Some(k.as_str()) == marker {
                    (k, "marker file".to_string())
                } else {
                    (k, v)
                }
            })
            .collect()
    };
    let a = strip(tree(&npm.dir));
    let b = strip(tree(&ours.dir));
    if a != b {
        let mut s = format!("{what}: the package directory and its parent differ after the run (scripts or leftovers)\n");
        for (k, v) in &a {
            match b.get(k) {
                None => {
                    let _ = writeln!(s, "  only after npm : {k:?} ({v})");
                }
                Some(w) if w != v => {
                    let _ = writeln!(s, "  differs        : {k:?} npm {v}, ours {w}");
                }
                _ => {}
            }
        }
        for (k, v) in &b {
            if !a.contains_key(k) {
                let _ = writeln!(s, "  only after ours: {k:?} ({v})");
            }
        }
        f.push(s);
    }
    if let Some(m) = marker {
        let read = |side: &Side| {
            fs::read_to_string(side.dir.join(m))
                .ok()
                .map(|t| side_normalize(&t, side))
        };
        let (ma, mb) = (read(npm), read(ours));
        if ma.is_none() {
            f.push(format!(
                "{what}: npm did not write the marker {m:?}: the fixture no longer works"
            ));
        } else if ma != mb {
            f.push(format!(
                "{what}: marker {m:?} differs (paths and integrity normalised)\n{}",
                support::line_diff(
                    ma.as_deref().unwrap_or(""),
                    mb.as_deref().unwrap_or("<missing>")
                )
            ));
        }
        if let (Some(exp), Some(got)) = (fx.marker_expect, &ma) {
            f.check(exp == got, || {
                format!("{what}: npm's marker {m:?} is {got:?}, expected {exp:?}: the fixture no longer works")
            });
        }
    }
}

/// Every line of `needle` appears in `haystack`, in the same order (other
/// lines may come between). Err names the first line not found.
fn contains_in_order(haystack: &str, needle: &str) -> Result<(), String> {
    let mut lines = haystack.lines();
    for want in needle.lines() {
        if !lines.any(|l| l == want) {
            return Err(want.to_string());
        }
    }
    Ok(())
}

fn banner_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("> ")).collect()
}

/// The `notice` block from `📦`/`package:` to `total files:`, prefixes removed.
fn notice_block(stderr: &str) -> Option<Vec<String>> {
    let lines: Vec<String> = stderr
        .lines()
        .filter_map(|l| {
            let (word, rest) = l.split_once(' ').unwrap_or((l, ""));
            if word.is_empty() || word.contains(char::is_whitespace) {
                return None;
            }
            if rest.trim_end() == "notice" {
                Some(String::new())
            } else {
                rest.strip_prefix("notice ")
                    .map(|r| r.trim_end().to_string())
            }
        })
        .collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("📦") || l.starts_with("package:"))?;
    let end = start
        + lines[start..]
            .iter()
            .position(|l| l.starts_with("total files:"))?;
    Some(lines[start..=end].to_vec())
}

const GZIP_DEPENDENT: &[&str] = &["package size:", "shasum:", "integrity:"];

fn check_npm_expectations(
    f: &mut Failures,
    fx: &Fixture,
    rec: &Value,
    ar: &tar::Archive,
    npm_out: &Output,
    side: &Side,
) {
    let files: Vec<&Value> = rec["files"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let find = |p: &str| files.iter().find(|v| v["path"] == p);
    let listed: Vec<String> = files
        .iter()
        .map(|v| v["path"].as_str().unwrap_or("?").to_string())
        .collect();
    let stale = "the fixture no longer exercises its rule";
    for p in fx.include {
        f.check(find(p).is_some(), || {
            format!("npm did not pack {p:?} ({stale}); npm packed {listed:?}")
        });
    }
    for p in fx.exclude {
        f.check(find(p).is_none(), || format!("npm packed {p:?} ({stale})"));
    }
    if let Some(exact) = fx.exact {
        let mut want: Vec<&str> = exact.to_vec();
        want.sort();
        let mut got: Vec<&str> = listed.iter().map(|s| s.as_str()).collect();
        got.sort();
        f.check(want == got, || {
            format!("npm packed {got:?}, the fixture expects exactly {want:?} ({stale})")
        });
    }
    for (p, mode) in fx.modes {
        let got = find(p).and_then(|v| v["mode"].as_u64());
        f.check(got == Some(*mode as u64), || {
            format!(
                "npm's mode for {p:?} is {:?}, expected {mode:o} ({stale})",
                got.map(|m| format!("{m:o}"))
            )
        });
    }
    for (p, size) in fx.sizes {
        let got = find(p).and_then(|v| v["size"].as_u64());
        f.check(got == Some(*size), || {
            format!("npm's size for {p:?} is {got:?}, expected {size} ({stale})")
        });
    }
    for (prefix, kind) in fx.headers {
        let full = format!("package/{prefix}");
        let hits: Vec<&tar::Entry> = ar
            .entries
            .iter()
            .filter(|e| e.path().starts_with(&full))
            .collect();
        if hits.len() != 1 {
            f.push(format!(
                "{} tar entries start with {full:?}, expected exactly one ({stale})",
                hits.len()
            ));
            continue;
        }
        let e = hits[0];
        let got = if e.pax_header.is_some() {
            Hdr::Pax
        } else if e.uses_ustar_prefix() {
            Hdr::Prefix
        } else {
            Hdr::Name
        };
        f.check(got == *kind, || {
            format!(
                "npm's header for {full:?} is {got:?}, expected {kind:?} ({stale}): {}",
                tar::describe(e)
            )
        });
    }
    let entry = |p: &str| {
        ar.entries
            .iter()
            .find(|e| e.path() == format!("package/{p}"))
    };
    for (p, target) in fx.links {
        match entry(p) {
            Some(e)
                if e.typeflag == b'1' && e.linkpath().starts_with(&format!("package/{target}")) => {
            }
            Some(e) => f.push(format!(
                "npm's entry for {p:?} is not a hard link to {target:?} ({stale}): {}",
                tar::describe(e)
            )),
            None => f.push(format!("npm's tar has no entry {p:?} ({stale})")),
        }
    }
    for p in fx.regular {
        match entry(p) {
            Some(e) if e.typeflag == b'0' => {}
            Some(e) => f.push(format!(
                "npm's entry for {p:?} is not a regular file ({stale}): {}",
                tar::describe(e)
            )),
            None => f.push(format!("npm's tar has no entry {p:?} ({stale})")),
        }
    }
    if let Some(b) = fx.bundled {
        let got: Vec<&str> = rec["bundled"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        f.check(got == b, || {
            format!("npm's bundled is {got:?}, expected {b:?} ({stale})")
        });
    }
    if let Some(name) = fx.filename {
        f.check(rec["filename"] == name, || {
            format!("npm's filename is {}, expected {name:?}", rec["filename"])
        });
    }
    for s in fx.npm_stderr {
        f.check(npm_out.stderr.contains(s), || {
            format!("npm's stderr lacks {s:?} ({stale}):\n{}", npm_out.stderr)
        });
    }
    for s in fx.npm_stderr_not {
        f.check(!npm_out.stderr.contains(s), || {
            format!("npm's stderr contains {s:?} ({stale}):\n{}", npm_out.stderr)
        });
    }
    for p in fx.present_after {
        f.check(side.pkg.join(p).exists(), || {
            format!("{p:?} does not exist after npm ran ({stale})")
        });
    }
    for p in fx.absent_after {
        f.check(fs::symlink_metadata(side.pkg.join(p)).is_err(), || {
            format!("{p:?} exists after npm ran ({stale})")
        });
    }
}

fn files_table(v: &Value) -> String {
    let mut s = String::new();
    for f in v.as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "      {:>6} {:>7} {}",
            f["mode"]
                .as_u64()
                .map(|m| format!("{m:o}"))
                .unwrap_or_else(|| f["mode"].to_string()),
            f["size"].to_string(),
            f["path"]
        );
    }
    s
}

fn run_fixture(name: &str, fx: &Fixture) {
    support::require_npm();
    let src = support::fixtures_root().join(name);
    assert!(
        src.join("package.json").is_file(),
        "fixture {name:?} has no package.json at {}",
        src.display()
    );
    let tmp = tempfile::Builder::new()
        .prefix("trustpub-pack-diff-")
        .tempdir()
        .expect("create temp dir");
    let root = tmp.path().canonicalize().unwrap();
    let env = Env {
        home: root.join("home"),
        userconfig: root.join("empty-userconfig"),
        globalconfig: root.join("empty-globalconfig"),
        cache: root.join("npm-cache"),
        root: root.clone(),
    };
    fs::create_dir_all(&env.home).unwrap();
    fs::write(&env.userconfig, "").unwrap();
    fs::write(&env.globalconfig, "").unwrap();
    let scratch = root.join("captures");
    fs::create_dir_all(&scratch).unwrap();

    let mut f = Failures {
        fixture: name.to_string(),
        list: vec![],
    };

    // ---- 1. --json runs ----------------------------------------------------
    let npm_side = prepare_side(&env, "npm", &src, fx);
    let our_side = prepare_side(&env, "our", &src, fx);
    let npm_out = support::run(
        npm_command(&env, &npm_side, &["--json"], fx),
        &scratch,
        "npm-json",
    );
    if !npm_out.status.success() {
        panic!(
            "fixture {name:?}: npm itself failed, so the fixture or the harness is broken\n{}",
            npm_out.describe()
        );
    }
    let (npm_pre, npm_json, npm_json_text) = split_json(&npm_out.stdout).unwrap_or_else(|| {
        panic!(
            "fixture {name:?}: no JSON array in npm's stdout\n{}",
            npm_out.describe()
        )
    });
    let npm_rec = npm_json
        .get(0)
        .cloned()
        .unwrap_or_else(|| panic!("fixture {name:?}: npm printed an empty array"));
    let npm_filename = npm_rec["filename"]
        .as_str()
        .expect("npm JSON filename")
        .to_string();
    let npm_tgz_names = npm_side.out_names();
    assert_eq!(
        npm_tgz_names,
        vec![npm_filename.clone()],
        "npm's --pack-destination holds unexpected files"
    );
    let npm_tgz = fs::read(npm_side.out.join(&npm_filename)).unwrap();
    let npm_tar = gunzip_all(&npm_tgz).expect("gunzip npm's tarball");
    let npm_ar = tar::parse(&npm_tar);
    assert!(
        npm_ar.error.is_none(),
        "cannot decode npm's tarball: {:?}",
        npm_ar.error
    );
    // sanity of the harness' own hashing against npm's numbers
    assert_eq!(
        npm_rec["shasum"],
        sha1_hex(&npm_tgz).as_str(),
        "harness sha1 disagrees with npm"
    );
    assert_eq!(
        npm_rec["integrity"],
        sha512_sri(&npm_tgz).as_str(),
        "harness sha512 disagrees with npm"
    );

    check_npm_expectations(&mut f, fx, &npm_rec, &npm_ar, &npm_out, &npm_side);

    let our_out = support::run(
        ours_command(&env, &our_side, &["--json"], fx),
        &scratch,
        "our-json",
    );
    // Repository file names reach this output: no workflow command, no
    // terminal escape (the sandbox's check, on a raw run).
    crate::support::sandbox::assert_clean_output(&our_out, &[], &[], true, &our_out.describe());
    if !our_out.status.success() {
        f.push(format!(
            "trustpub pack --json failed\n{}",
            our_out.describe()
        ));
        f.finish();
        return;
    }

    // tarball file
    let our_tgz_names = our_side.out_names();
    let mut our_tgz = None;
    if our_tgz_names != vec![npm_filename.clone()] {
        f.push(format!(
            "--pack-destination contents: npm wrote {npm_tgz_names:?}, trustpub wrote {our_tgz_names:?}"
        ));
    }
    if let Some(n) = our_tgz_names.iter().find(|n| n.ends_with(".tgz")) {
        our_tgz = Some(fs::read(our_side.out.join(n)).unwrap());
    }

    if let Some(our_tgz) = &our_tgz {
        match gunzip_one(our_tgz) {
            Err(e) => f.push(format!("our .tgz is not valid gzip: {e}")),
            Ok((our_tar, left)) => {
                f.check(left == 0, || {
                    format!("our .tgz has {left} bytes after the first gzip member")
                });
                if our_tar != npm_tar {
                    f.push(tar::explain_difference(&npm_tar, &our_tar));
                }
            }
        }
    }

    // JSON
    match split_json(&our_out.stdout) {
        None => f.push(format!(
            "no JSON array in trustpub's stdout:\n{}",
            our_out.stdout
        )),
        Some((our_pre, our_json, our_json_text)) => {
            // trustpub sends script output to stderr (README: "Script output
            // goes to standard error"), so stdout is only the JSON.
            f.check(our_pre.is_empty(), || {
                format!("trustpub printed text before the JSON on stdout:\n{our_pre}")
            });
            let npm_pre_n = side_normalize(&npm_pre, &npm_side);
            let our_err_n = side_normalize(&our_out.stderr, &our_side);
            if let Err(missing) = contains_in_order(&our_err_n, &npm_pre_n) {
                f.push(format!(
                    "npm's script output on stdout is missing from trustpub's stderr (from {missing:?}):\n--- npm stdout ---\n{npm_pre_n}\n--- our stderr ---\n{our_err_n}"
                ));
            }
            compare_json(
                &mut f,
                &npm_rec,
                &npm_json,
                &npm_json_text,
                &our_json,
                &our_json_text,
                our_tgz.as_deref(),
            );
        }
    }

    // lifecycle banners (stderr with --json)
    let (ba, bb) = (banner_lines(&npm_out.stderr), banner_lines(&our_out.stderr));
    f.check(ba == bb, || {
        format!("lifecycle banners on stderr differ:\n  npm : {ba:?}\n  ours: {bb:?}")
    });
    let (wa, wb) = (
        npm_out.stderr.contains(FALLBACK_WARNING),
        our_out.stderr.contains(FALLBACK_WARNING),
    );
    f.check(wa == wb, || {
        format!(
            "gitignore-fallback warning: npm {wa}, ours {wb}\n--- our stderr ---\n{}",
            our_out.stderr
        )
    });
    compare_trees(&mut f, "--json run", &npm_side, &our_side, fx);

    // ---- 2. --dry-run runs (text output) ------------------------------------
    let npm_dry = prepare_side(&env, "npm-dry", &src, fx);
    let our_dry = prepare_side(&env, "our-dry", &src, fx);
    let npm_d = support::run(
        npm_command(&env, &npm_dry, &["--dry-run"], fx),
        &scratch,
        "npm-dry",
    );
    if !npm_d.status.success() {
        panic!(
            "fixture {name:?}: npm --dry-run failed\n{}",
            npm_d.describe()
        );
    }
    assert!(npm_dry.out_names().is_empty(), "npm --dry-run wrote a file");
    let our_d = support::run(
        ours_command(&env, &our_dry, &["--dry-run"], fx),
        &scratch,
        "our-dry",
    );
    if !our_d.status.success() {
        f.push(format!(
            "trustpub pack --dry-run failed\n{}",
            our_d.describe()
        ));
        f.finish();
        return;
    }
    f.check(our_dry.out_names().is_empty(), || {
        format!("trustpub pack --dry-run wrote {:?}", our_dry.out_names())
    });
    let (sa, sb) = (
        side_normalize(&npm_d.stdout, &npm_dry),
        side_normalize(&our_d.stdout, &our_dry),
    );
    // npm's stdout is banners and script output, then the file name; ours is
    // the file name alone, with the rest on stderr.
    let (npm_scripts, npm_name) = match sa.trim_end_matches('\n').rsplit_once('\n') {
        Some((head, last)) => (format!("{head}\n"), format!("{last}\n")),
        None => (String::new(), sa.clone()),
    };
    if npm_name != sb {
        f.push(format!(
            "--dry-run stdout differs (npm's last line is the file name):\n{}",
            support::line_diff(&npm_name, &sb)
        ));
    }
    let our_err_d = side_normalize(&our_d.stderr, &our_dry);
    if let Err(missing) = contains_in_order(&our_err_d, &npm_scripts) {
        f.push(format!(
            "--dry-run: npm's banners and script output (stdout) are missing from trustpub's stderr (from {missing:?}):\n--- npm stdout ---\n{npm_scripts}\n--- our stderr ---\n{our_err_d}"
        ));
    }
    let na = notice_block(&npm_d.stderr).unwrap_or_else(|| {
        panic!(
            "fixture {name:?}: no notice block in npm's stderr\n{}",
            npm_d.stderr
        )
    });
    match notice_block(&our_d.stderr) {
        None => f.push(format!("--dry-run: no `notice` block (from the 📦 line to `total files:`) in trustpub's stderr:\n{}", our_d.stderr)),
        Some(nb) => {
            let keep = |v: &[String]| -> Vec<String> {
                v.iter().filter(|l| !GZIP_DEPENDENT.iter().any(|p| l.starts_with(p))).cloned().collect()
            };
            let (ka, kb) = (keep(&na).join("\n"), keep(&nb).join("\n"));
            if ka != kb {
                f.push(format!(
                    "--dry-run notice block differs (package size/shasum/integrity lines excluded):\n{}",
                    support::line_diff(&ka, &kb)
                ));
            }
            check_gzip_lines(&mut f, &nb);
        }
    }
    let (wa, wb) = (
        npm_d.stderr.contains(FALLBACK_WARNING),
        our_d.stderr.contains(FALLBACK_WARNING),
    );
    f.check(wa == wb, || {
        format!("--dry-run gitignore-fallback warning: npm {wa}, ours {wb}")
    });
    compare_trees(&mut f, "--dry-run", &npm_dry, &our_dry, fx);

    f.finish();
}

/// Our `package size`, `shasum` and `integrity` notice lines must have npm's shape.
fn check_gzip_lines(f: &mut Failures, block: &[String]) {
    let re_size = regex::Regex::new(r"^package size: \d+(\.\d)? (B|kB|MB|GB)$").unwrap();
    let re_sha = regex::Regex::new(r"^shasum: [0-9a-f]{40}$").unwrap();
    let re_int =
        regex::Regex::new(r"^integrity: sha512-[A-Za-z0-9+/]{13}\[\.\.\.\][A-Za-z0-9+/]{13}==$")
            .unwrap();
    for (what, re) in [
        ("package size", &re_size),
        ("shasum", &re_sha),
        ("integrity", &re_int),
    ] {
        f.check(block.iter().any(|l| re.is_match(l)), || {
            format!(
                "--dry-run notice block has no well-formed `{what}:` line:\n{}",
                block.join("\n")
            )
        });
    }
}

fn compare_json(
    f: &mut Failures,
    npm_rec: &Value,
    npm_json: &Value,
    npm_text: &str,
    our_json: &Value,
    our_text: &str,
    our_tgz: Option<&[u8]>,
) {
    let Some(arr) = our_json.as_array() else {
        f.push(format!("our --json output is not an array: {our_json}"));
        return;
    };
    if arr.len() != npm_json.as_array().map_or(0, |a| a.len()) {
        f.push(format!(
            "our --json array has {} records, npm's has 1",
            arr.len()
        ));
    }
    let Some(our_rec) = arr.first() else { return };
    let failures_before = f.list.len();
    let ka: Vec<&String> = npm_rec
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let kb: Vec<&String> = our_rec
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    f.check(ka == kb, || {
        format!("JSON record keys differ (order matters):\n  npm : {ka:?}\n  ours: {kb:?}")
    });
    for key in [
        "id",
        "name",
        "version",
        "unpackedSize",
        "filename",
        "entryCount",
        "bundled",
    ] {
        f.check(npm_rec[key] == our_rec[key], || {
            format!(
                "JSON `{key}` differs: npm {}, ours {}",
                npm_rec[key], our_rec[key]
            )
        });
    }
    if npm_rec["files"] != our_rec["files"] {
        f.push(format!(
            "JSON `files` differs:\n    npm:\n{}    ours:\n{}",
            files_table(&npm_rec["files"]),
            files_table(&our_rec["files"])
        ));
    }
    if let Some(tgz) = our_tgz {
        let size = tgz.len() as u64;
        f.check(our_rec["size"] == size, || {
            format!(
                "our JSON size {} is not our .tgz length {size}",
                our_rec["size"]
            )
        });
        let sha = sha1_hex(tgz);
        f.check(our_rec["shasum"] == sha.as_str(), || {
            format!(
                "our JSON shasum {} is not sha1 of our .tgz ({sha})",
                our_rec["shasum"]
            )
        });
        let sri = sha512_sri(tgz);
        f.check(our_rec["integrity"] == sri.as_str(), || {
            format!(
                "our JSON integrity {} is not sha512 of our .tgz ({sri})",
                our_rec["integrity"]
            )
        });
        let npm_size = npm_rec["size"].as_u64().unwrap_or(0);
        f.check(size * 100 <= npm_size * 101 + 6400, || {
            format!("our .tgz is {size} bytes, more than 101% of npm's {npm_size} + 64")
        });
    }
    if f.list.len() != failures_before {
        // the text would only repeat the differences reported above
        return;
    }
    // The exact text, with the gzip-dependent values swapped for ours.
    let mut expected = npm_text.to_string();
    for key in ["shasum", "integrity"] {
        if let (Some(a), Some(b)) = (npm_rec[key].as_str(), our_rec[key].as_str()) {
            expected = expected.replacen(
                &format!("\"{key}\": \"{a}\""),
                &format!("\"{key}\": \"{b}\""),
                1,
            );
        }
    }
    if let (Some(a), Some(b)) = (npm_rec["size"].as_u64(), our_rec["size"].as_u64()) {
        expected = expected.replacen(
            &format!("\n    \"size\": {a},\n"),
            &format!("\n    \"size\": {b},\n"),
            1,
        );
    }
    if expected != our_text {
        f.push(format!(
            "--json stdout text differs from npm's (gzip-dependent values substituted):\n{}",
            support::line_diff(&expected, our_text)
        ));
    }
}

// ---------------------------------------------------------------------------
// Checks on the fixture collection itself.

#[test]
fn every_fixture_dir_has_a_test() {
    let mut dirs = support::dir_names(&support::fixtures_root());
    dirs.retain(|d| support::fixtures_root().join(d).is_dir());
    let mut listed: Vec<String> = FIXTURE_DIRS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    // a workspace tree may have one test per package packed
    listed.dedup();
    assert_eq!(
        dirs, listed,
        "fixtures/pack/ directories and the table in tests/it/pack_diff.rs differ"
    );
    assert!(
        dirs.len() >= 35,
        "expected at least 35 fixtures, found {}",
        dirs.len()
    );
}

#[test]
fn readme_documents_every_fixture() {
    let readme = fs::read_to_string(support::fixtures_root().join("README.md"))
        .expect("fixtures/pack/README.md");
    for d in FIXTURE_DIRS {
        assert!(
            readme.contains(&format!("| `{d}` |")),
            "fixtures/pack/README.md has no table row for `{d}`"
        );
    }
}

#[test]
fn fixtures_contain_no_real_gitignore() {
    // A real .gitignore in a fixture would hide fixture files from git.
    fn walk(dir: &Path, bad: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if e.file_name() == ".gitignore" {
                bad.push(p.clone());
            }
            if fs::symlink_metadata(&p)
                .map(|m| m.is_dir())
                .unwrap_or(false)
            {
                walk(&p, bad);
            }
        }
    }
    let mut bad = vec![];
    walk(&support::fixtures_root(), &mut bad);
    assert!(
        bad.is_empty(),
        "store fixture .gitignore files as `{}` (renamed when copied): {bad:?}",
        support::STORED_GITIGNORE
    );
}
