//! minimatch patterns (`glob::Rule`) and ignore files (`files::select`
//! over `.npmignore`/`.gitignore` and the `files` list).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use proptest::prelude::*;
use trustpub::files;
use trustpub::glob::{Candidate, Rule};
use trustpub::manifest::Manifest;

use super::{config, nasty_line};

const GLOB_PIECES: &[&str] = &[
    "*",
    "**",
    "?",
    "/",
    "//",
    ".",
    "..",
    "!",
    "#",
    "\\",
    "\\*",
    "[",
    "]",
    "[a-z]",
    "[!a]",
    "[^a]",
    "[]]",
    "[[:alpha:]]",
    "[[:upper:]]",
    "[[:digit:]x]",
    "[[:bogus:]]",
    "[z-a]",
    "[\\]",
    "{",
    "}",
    "{a,b}",
    "{,x}",
    "{1..9}",
    "{a..e}",
    "{01..3}",
    "{9..1..3}",
    "{x,{y,z}}",
    "+(",
    "*(",
    "?(",
    "@(",
    "!(",
    ")",
    "|",
    "+(a|b)",
    "!(a)",
    "@(a|*())",
    "*.js",
    ".*",
    "a",
    "b",
    "A",
    "z",
    "x.y",
    "node_modules",
    "package.json",
    "README",
    "é",
    "İ",
    "ß",
    "\u{1f600}",
    "\u{2028}",
    " ",
    "$",
    "^",
];

fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::collection::vec(proptest::sample::select(GLOB_PIECES), 0..10).prop_map(|v| v.concat()),
        1 => nasty_line(6),
        // Deep nesting and long patterns. Unclosed `[` and brace products
        // cost quadratic and exponential (capped at 100,000 expansions)
        // time in minimatch and here alike, so they stay short: the bounds
        // keep this property's run time, not the parser, in check.
        1 => (1usize..600, proptest::sample::select(&["{a,", "+(", "@(a|", "{", "!("][..]))
            .prop_map(|(n, open)| open.repeat(n)),
        1 => (1usize..120, proptest::sample::select(&["[", "[\\]", "[!"][..]))
            .prop_map(|(n, open)| open.repeat(n)),
        1 => (1usize..10).prop_map(|n| "{a,b}".repeat(n)),
        1 => (1usize..40).prop_map(|n| "**/".repeat(n) + "a"),
        1 => (1usize..30).prop_map(|n| "+(a|aa)".repeat(n) + "b"),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(
            proptest::sample::select(&["a", "b", "A", "x.y", ".git", "..", ".", "", "node_modules", "é", "aa", "ab", "a.js", "README.md"][..]),
            0..8,
        )
        .prop_map(|v| v.join("/")),
        1 => nasty_line(4),
        1 => (1usize..200).prop_map(|n| "a/".repeat(n)),
        1 => (1usize..80).prop_map(|n| "a".repeat(n)),
    ]
}

proptest! {
    #![proptest_config(config(1024))]

    /// Compiling never panics, `new` and `try_new` agree, and matching
    /// returns (every match mode, on every path). Where the cheap
    /// pre-check says a rule cannot match, the matcher agrees.
    #[test]
    fn glob_compile_and_match(p in pattern(), paths in proptest::collection::vec(path(), 1..4)) {
        let rule = Rule::new(&p);
        prop_assert_eq!(Rule::try_new(&p).is_ok(), rule.error().is_none());
        let _ = (rule.negate(), rule.comment(), rule.glob_parts(), rule.is_relative());
        for path in &paths {
            let c = Candidate::new(path);
            let full = rule.matches_candidate(&c, false);
            let _ = rule.matches_candidate(&c, true);
            prop_assert_eq!(full, rule.matches(path, false));
            if rule.lacks_required_part(&c) {
                prop_assert!(!full, "{:?} matches {:?} although a required part is missing", p, path);
            }
        }
    }

    /// Matching ignores ASCII case (npm compiles with `nocase`).
    #[test]
    fn glob_ignores_ascii_case(
        p in proptest::collection::vec(proptest::sample::select(&["*", "**", "?", "/", "a", "B", "x.y", "{a,b}", "[a-c]", "+(a|b)", "!(a)", ".*", "*.JS"][..]), 1..6).prop_map(|v| v.concat()),
        path in path(),
    ) {
        let rule = Rule::new(&p);
        let upper = path.to_ascii_uppercase();
        let lower = path.to_ascii_lowercase();
        prop_assert_eq!(rule.matches(&upper, false), rule.matches(&lower, false), "{:?} on {:?}", p, path);
    }
}

/// A package directory with these files, an `.npmignore` and a `files` list.
fn package(
    dir: &Path,
    names: &[String],
    npmignore: &str,
    gitignore: &str,
    files_list: Option<&[String]>,
) -> Manifest {
    let mut pkg = serde_json::json!({"name": "fz", "version": "1.0.0"});
    if let Some(list) = files_list {
        pkg["files"] = serde_json::json!(list);
    }
    let text = serde_json::to_string(&pkg).unwrap();
    fs::write(dir.join("package.json"), &text).unwrap();
    fs::write(dir.join(".npmignore"), npmignore).unwrap();
    fs::write(dir.join(".gitignore"), gitignore).unwrap();
    for n in names {
        let p = dir.join(n);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        if !p.is_dir() {
            let _ = fs::write(&p, "x");
        }
    }
    Manifest::parse(text.as_bytes(), &dir.join("package.json")).unwrap()
}

fn ignore_file() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(
            prop_oneof![pattern(), Just("# c".to_string()), Just(String::new())],
            0..6,
        ),
        proptest::sample::select(&["\n", "\r\n", "\r"][..]),
    )
        .prop_map(|(lines, sep)| lines.join(sep))
}

proptest! {
    #![proptest_config(config(64))]

    /// Hostile ignore files and `files` lists: the selection returns, only
    /// lists files that exist, always has package.json, never `.npmrc`,
    /// and lists each file once.
    #[test]
    fn ignore_files_select(
        names in proptest::collection::vec(
            proptest::sample::select(&["a.js", "lib/b.js", "lib/.npmrc", ".npmrc", "README.md", "x/y/z.txt", "node_modules/m/i.js", "A.JS", "é.js", "sub/.npmignore", "[x].js", "{a}.js"][..]).prop_map(str::to_string),
            0..8,
        ),
        npmignore in ignore_file(),
        gitignore in ignore_file(),
        files_list in proptest::option::of(proptest::collection::vec(pattern(), 0..4)),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let m = package(dir, &names, &npmignore, &gitignore, files_list.as_deref());
        if let Ok(sel) = files::select(dir, &m) {
            let unique: BTreeSet<&String> = sel.files.iter().collect();
            prop_assert_eq!(unique.len(), sel.files.len(), "{:?}", sel.files);
            prop_assert!(sel.files.iter().any(|f| f == "package.json"), "{:?}", sel.files);
            for f in &sel.files {
                prop_assert!(dir.join(f).is_file(), "{:?} selected but not a file", f);
                prop_assert!(!f.ends_with(".npmrc"), "{:?} selected", f);
            }
        }
    }
}
