use super::*;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const F: bool = false;
const P: bool = true;

/// (pattern, path, partial, expected `matches`), with minimatch's
/// `{matchBase, dot, flipNegate, nocase}` options.
const TABLE: &[(&str, &str, bool, bool)] = &[
    // npm's default ignores and common package rules
    ("**/.git", ".git", F, true),
    ("**/.git", "/.git", F, true),
    ("**/.git", "a/.git", F, true),
    ("**/.git", "a/b/.git", F, true),
    ("**/.git", ".GIT", F, true),
    ("**/.git", ".git/", F, true),
    ("**/.git", ".git/config", F, false),
    ("**/.git", "x.git", F, false),
    ("**/.git", "a/.git", P, true),
    ("**/.git", "a", P, true),
    ("**/.git/**", ".git/x", F, true),
    ("**/.git/**", ".git/", F, true),
    ("**/.git/**", "a/.git/b/c", F, true),
    ("**/.git/**", ".git", F, false),
    ("**/.git/**", "a/.git", F, false),
    ("**/.git/**", ".git", P, true),
    ("/.wafpickle-*", "/.wafpickle-1", F, true),
    ("/.wafpickle-*", "/.WAFPICKLE-7", F, true),
    ("/.wafpickle-*", ".wafpickle-1", F, false),
    ("/.wafpickle-*", "/a/.wafpickle-1", F, false),
    ("/.wafpickle-*", "/.wafpickle-", F, true),
    (".*.swp", ".foo.swp", F, true),
    (".*.swp", "a/.foo.swp", F, true),
    (".*.swp", "/.x.swp", F, true),
    (".*.swp", ".X.SWP", F, true),
    (".*.swp", "..swp", F, true),
    (".*.swp", "foo.swp", F, false),
    (".*.swp", ".swp", F, false),
    ("._*", "._foo", F, true),
    ("._*", "a/._foo", F, true),
    ("._*", "._", F, true),
    ("._*", "_foo", F, false),
    ("**/._*/**", "._x/y", F, true),
    ("**/._*/**", "a/._x/y", F, true),
    ("**/._*/**", "._x", F, false),
    ("**/._*/**", "._x", P, true),
    ("*.orig", "a.orig", F, true),
    ("*.orig", "x/y.ORIG", F, true),
    ("*.orig", ".orig", F, true),
    ("*.orig", "a.orig.js", F, false),
    ("/archived-packages/**", "/archived-packages/x", F, true),
    ("/archived-packages/**", "/archived-packages/", F, true),
    ("/archived-packages/**", "/archived-packages", F, false),
    ("/archived-packages/**", "/archived-packages", P, true),
    ("/archived-packages/**", "archived-packages/x", F, false),
    ("!/readme{,.*[^~$]}", "/readme", F, true),
    ("!/readme{,.*[^~$]}", "/README", F, true),
    ("!/readme{,.*[^~$]}", "/readme.md", F, true),
    ("!/readme{,.*[^~$]}", "/Readme.Markdown", F, true),
    ("!/readme{,.*[^~$]}", "/readme.m", F, true),
    ("!/readme{,.*[^~$]}", "/readme.md~", F, false),
    ("!/readme{,.*[^~$]}", "/readme.$", F, false),
    ("!/readme{,.*[^~$]}", "/readme.", F, false),
    ("!/readme{,.*[^~$]}", "readme.md", F, false),
    ("!/readme{,.*[^~$]}", "/a/readme.md", F, false),
    ("!/readme{,.*[^~$]}", "/readmes", F, false),
    ("!/license{,.*[^~$]}", "/LICENSE", F, true),
    ("!/license{,.*[^~$]}", "/license.txt", F, true),
    ("!/license{,.*[^~$]}", "/LICENSE-MIT", F, false),
    ("!/license{,.*[^~$]}", "/license.txt~", F, false),
    ("/node_modules", "/node_modules", F, true),
    ("/node_modules", "/NODE_MODULES", F, true),
    ("/node_modules", "/node_modules/", F, true),
    ("/node_modules", "node_modules", F, false),
    ("/node_modules", "/a/node_modules", F, false),
    ("!lib/**", "lib/a.js", F, true),
    ("!lib/**", "lib/a/b", F, true),
    ("!lib/**", "lib", F, false),
    ("!lib/**", "lib", P, true),
    ("!lib/**", "/lib/a.js", F, false),
    ("!/lib", "/lib", F, true),
    ("!/lib", "/lib/", F, true),
    ("!/lib", "lib", F, false),
    ("*", "a", F, true),
    ("*", "a/b", F, true),
    ("*", ".x", F, true),
    ("*", "", F, false),
    ("*", "/", F, false),
    ("*", "/", P, true),
    ("*", ".", F, false),
    ("*", "a/..", F, false),
    ("!dist/*.js", "dist/a.js", F, true),
    ("!dist/*.js", "dist/A.JS", F, true),
    ("!dist/*.js", "dist/.js", F, true),
    ("!dist/*.js", "dist/a/b.js", F, false),
    ("!dist/*.js", "dist", F, false),
    ("!dist/*.js", "dist", P, true),
    ("!**/*.d.ts", "a.d.ts", F, true),
    ("!**/*.d.ts", "x/y/a.d.ts", F, true),
    ("!**/*.d.ts", "/a.d.ts", F, true),
    ("!**/*.d.ts", "a.ts", F, false),
    // comments and the empty pattern
    ("#foo", "#foo", F, false),
    ("#", "", F, false),
    ("", "", F, true),
    ("", "a", F, false),
    ("", "", P, true),
    ("\\#foo", "#foo", F, true),
    ("!", "", F, true),
    ("!", "/", F, true),
    ("!", "a/", F, false),
    // braces
    ("a{b,c}d", "abd", F, true),
    ("a{b,c}d", "ACD", F, true),
    ("a{b,c}d", "ad", F, false),
    ("{1..3}.txt", "2.txt", F, true),
    ("{1..3}.txt", "4.txt", F, false),
    ("{a,{b,c}}x", "cx", F, true),
    ("a{,b}", "a", F, true),
    ("a{,b}", "ab", F, true),
    ("x{a..c}", "xb", F, true),
    ("x{a..e..2}", "xc", F, true),
    ("x{a..e..2}", "xb", F, false),
    ("a{-2..02}", "a00", F, true),
    ("a{b}c", "a{b}c", F, true),
    ("a{b}c", "abc", F, false),
    ("{a,b/c}", "x/a", F, true),
    ("{a,b/c}", "b/c", F, true),
    ("{a,b/c}", "x/b/c", F, false),
    ("{a,b}\\\\*", "a*", F, true),
    ("{a,b}\\\\*", "ab", F, false),
    ("a\\{b,c}", "a{b,c}", F, true),
    ("${a,b}", "${a,b}", F, true),
    // ?, *, character classes
    ("?", "a", F, true),
    ("?", "ab", F, false),
    ("?", ".", F, false),
    ("??", "ab", F, true),
    ("??", "..", F, false),
    ("?", "\u{1F600}", F, false),
    ("??", "\u{1F600}", F, true),
    ("a?c", "abc", F, true),
    ("a?c", "x/abc", F, true),
    ("a?c", "a/c", F, false),
    ("[abc]", "b", F, true),
    ("[abc]", "B", F, true),
    ("[abc]", "d", F, false),
    ("[!a]x", "bx", F, true),
    ("[!a]x", "ax", F, false),
    ("[!a]x", "Ax", F, false),
    ("[^a]x", "bx", F, true),
    ("[a-c]", "b", F, true),
    ("[a-c]", "D", F, false),
    ("[z-a]", "z", F, false),
    ("[a-]", "-", F, true),
    ("[a-]", "b", F, false),
    ("[\\]]", "]", F, true),
    ("[]a]", "]", F, true),
    ("[", "[", F, true),
    ("[]", "[]", F, true),
    ("[!a]", "\u{1F600}", F, false),
    ("[[:alpha:]]", "a", F, true),
    ("[[:alpha:]]", "\u{e9}", F, true),
    ("[[:alpha:]]", "1", F, false),
    ("[[:alpha:]]", "\u{1F600}", F, false),
    ("[[:digit:]]x", "1X", F, true),
    ("[[:upper:]]", "a", F, true),
    ("[[:xdigit:]]", "F", F, true),
    ("[[:xdigit:]]", "g", F, false),
    ("[[:space:]]x", " x", F, true),
    ("[\\^a]", "b", F, true),
    ("[\\^a]", "a", F, false),
    // extglobs
    ("@(a|b)", "a", F, true),
    ("@(a|b)", "c", F, false),
    ("@(a|b)", "ab", F, false),
    ("x!(a)", "xb", F, true),
    ("x!(a)", "xa", F, false),
    ("x!(a)", "x", F, true),
    ("x!(a|)", "xa", F, true),
    ("+(a)", "aaa", F, true),
    ("+(a)", "b", F, false),
    ("*(a)b", "b", F, true),
    ("*(a)b", "aab", F, true),
    ("?(a)b", "ab", F, true),
    ("?(a)b", "aab", F, false),
    ("@(!(!(a)))b", "abb", F, true),
    ("@(!(!(a)))b", "ab", F, false),
    ("x@(a|@(b|c))", "xc", F, true),
    ("a!(b)c", "axc", F, true),
    ("a!(b)c", "abc", F, false),
    ("@(a", "@(a", F, true),
    ("*()", "*()", F, true),
    // escapes
    ("\\*", "*", F, true),
    ("\\*", "a", F, false),
    ("a\\", "a\\", F, true),
    ("\\[a]", "[a]", F, true),
    // globstar
    ("**", "a/b/c", F, true),
    ("**", ".", F, false),
    ("**", "", F, true),
    ("a/**/b", "a/b", F, true),
    ("a/**/b", "a/x/y/b", F, true),
    ("a/**/b", "a/./b", F, false),
    ("a/**/b", "a/x/../b", F, false),
    ("a/**", "a", F, false),
    ("a/**", "a/", F, true),
    ("a/**", "a/x", F, true),
    ("a/**", "a", P, true),
    ("a/**/b/**/c", "a/b/c", F, true),
    ("a/**/b/**/c", "a/x/b/y/z/c", F, true),
    ("a/**/b/**/c", "a/x/c", F, false),
    ("**/a/**/b", "x/a/y/b", F, true),
    // slashes
    ("a//b", "a/b", F, true),
    ("a/b", "a//b", F, true),
    ("a/b/", "a/b/", F, true),
    ("a/b/", "a/b", F, false),
    ("a/b/", "a/b", P, true),
    ("a/*", "a/b/", F, true),
    ("a/*/", "a/b", F, false),
    ("a/b/c", "a", P, true),
    ("a/b/c", "a/b", P, true),
    ("a/b/c", "x", P, false),
    ("a/b/c", "a/x", P, false),
    ("a/b", "/", P, true),
    ("*.js", "dir", P, false),
    // matchBase, dots, case
    ("b", "a/b", F, true),
    ("b", "a/b/", F, true),
    ("a/*", "a/.", F, false),
    ("a/*", "a/.x", F, true),
    (".*", ".", F, false),
    (".*", "..", F, false),
    (".*", ".a", F, true),
    ("*.*", "a.b", F, true),
    ("*.*", ".", F, false),
    ("a/..", "", F, true),
    ("a/..", "x", F, false),
    ("x/../y", "a/y", F, true),
    ("*.TXT", "a.txt", F, true),
    ("a/b", "A/B", F, true),
    ("\u{e9}", "\u{c9}", F, true),
    ("stra\u{df}e", "STRASSE", F, false),
    ("!!a", "a", F, true),
];

/// (pattern, negate, is_relative)
const FLAGS: &[(&str, bool, bool)] = &[
    ("!a", true, true),
    ("!!a", false, true),
    ("!!!a", true, true),
    ("#a", false, false),
    ("!#a", true, true),
    ("", false, false),
    ("!", true, true),
    ("a!", false, true),
    ("*", false, true),
    ("/x", false, false),
    ("x/", false, true),
    ("a/b", false, false),
    ("/a/", false, false),
    ("**", false, true),
    ("a/..", false, true),
    ("{a,b/c}", false, true),
    ("!/readme{,.*[^~$]}", true, false),
    ("**/.git", false, false),
    ("!lib/**", true, false),
];

#[test]
fn table() {
    let mut failures = Vec::new();
    for &(pattern, path, partial, want) in TABLE {
        let got = Rule::new(pattern).matches(path, partial);
        if got != want {
            failures.push(format!(
                "{pattern:?} vs {path:?} partial={partial}: got {got}, want {want}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(TABLE.len() >= 150);
}

#[test]
fn flags() {
    for &(pattern, negate, relative) in FLAGS {
        let rule = Rule::new(pattern);
        assert_eq!(rule.negate(), negate, "negate of {pattern:?}");
        assert_eq!(rule.is_relative(), relative, "is_relative of {pattern:?}");
    }
}

#[test]
fn errors_where_minimatch_throws() {
    for pattern in ["[[:alpha:]]-x", "[[:alpha:]]\\!", "@(a|*())"] {
        assert!(
            Rule::try_new(pattern).is_err(),
            "{pattern:?} should not compile"
        );
        assert!(!Rule::new(pattern).matches("a-x", false));
    }
    let long = "a".repeat(MAX_PATTERN_LENGTH + 1);
    assert_eq!(
        Rule::try_new(&long).map(|_| ()),
        Err(RuleError::new("pattern is too long"))
    );
    assert!(Rule::try_new(&"a".repeat(MAX_PATTERN_LENGTH)).is_ok());
}

#[test]
fn deep_nesting_is_bounded() {
    let ext = |n: usize| format!("x{}a{}", "@(".repeat(n), ")".repeat(n));
    let braces = |n: usize| format!("{}a,b{}", "{".repeat(n), "}".repeat(n));
    let rule = Rule::try_new(&ext(MAX_EXTGLOB_NESTING - 1)).expect("node copes with this depth");
    assert!(rule.matches("xa", false));
    assert!(!rule.matches("xb", false));
    assert!(Rule::try_new(&ext(MAX_EXTGLOB_NESTING + 1)).is_err());
    assert!(Rule::try_new(&braces(MAX_BRACE_NESTING - 1)).is_ok());
    assert!(Rule::try_new(&braces(MAX_BRACE_NESTING + 2)).is_err());
    let plus = format!(
        "x{}a{}",
        "+(".repeat(MAX_EXTGLOB_NESTING - 1),
        ")".repeat(MAX_EXTGLOB_NESTING - 1)
    );
    assert!(Rule::new(&plus).matches("xaaa", false));
}

#[test]
fn sequence_numbers_print_as_javascript() {
    // minimatch 10.2.5's `globParts` in Node 20: `parseInt` gives a
    // double and `String` prints its shortest round-trip digits.
    for (pattern, want) in [
        (
            "a{1152921504606846976..1152921504606846976}",
            "a1152921504606847000",
        ),
        ("{9007199254740993..9007199254740993}x", "9007199254740992x"),
    ] {
        assert_eq!(
            Rule::new(pattern).glob_parts(),
            [vec![want.to_string()]],
            "{pattern}"
        );
    }
}

/// A small deterministic generator (xorshift64*).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PATTERN_TOKENS: &[&str] = &[
    "a",
    "b",
    "B",
    "x",
    "js",
    ".js",
    ".",
    "..",
    "*",
    "*",
    "**",
    "?",
    "/",
    "/",
    "//",
    "[a-c]",
    "[!a]",
    "[^b]",
    "[[:alpha:]]",
    "[[:digit:]]",
    "[[:upper:]]",
    "{a,b}",
    "{1..3}",
    "{,.x}",
    "{a,{b,c}}",
    "@(a|b)",
    "!(a)",
    "+(a|x)",
    "*(b)",
    "?(a)",
    "!(a|)",
    "@(x|*(a))",
    "\\*",
    "\\",
    "\\.",
    "-",
    "~",
    "$",
    "_",
    "\u{e9}",
    "\u{c9}",
    "\u{df}",
    "[",
    "]",
    "(",
    ")",
    "|",
    "!",
    "#",
    "{",
    "}",
    ",",
    "[]",
    "[z-a]",
    "[a-]",
    "\u{1F600}",
];

const PATH_SEGMENTS: &[&str] = &[
    "a",
    "b",
    "A",
    "ab",
    "x",
    ".x",
    "..",
    ".",
    "a.js",
    "B.JS",
    "js",
    "1",
    "2",
    "\u{e9}",
    "\u{c9}",
    "ss",
    "*",
    "a-b",
    "~",
    "$",
    "aa",
    "xa",
    "ba",
    "b.x",
    "_",
    "(",
    "#",
    "\u{1F600}",
    "",
];

const HARD_TOKENS: &[&str] = &[
    "!(",
    "@(",
    "*(",
    "+(",
    "?(",
    ")",
    ")",
    "|",
    "[",
    "]",
    "[:alpha:]",
    "[:upper:]",
    "[:graph:]",
    "[:xdigit:]",
    "\\",
    "-",
    "^",
    "!",
    "a",
    "A",
    "b",
    ".",
    "/",
    "{",
    "}",
    ",",
    "..",
    "1",
    "*",
    "?",
    "$",
    "~",
    "\u{17f}",
    "\u{212a}",
    "k",
    "s",
    "\u{130}",
    "\u{df}",
    "\u{3c3}",
    "\u{3c2}",
    "\u{3a3}",
    "\u{1F600}",
    " ",
    "#",
    "**",
    "[[:alpha:]]",
    "[![:upper:]]",
    "[[:graph:]x]",
    "[a[:digit:]]",
    "[[:xdigit:]-]",
    "[[:lower:]]",
    "[[:space:]]",
    "[[:punct:]]",
    "[^[:word:]]",
    "[[:ascii:]]",
    "[[:cntrl:]]",
    "[[:print:]]",
    "[[:blank:]]",
    "[[:alnum:]]",
];

const HARD_SEGMENTS: &[&str] = &[
    "a",
    "A",
    "b",
    "ab",
    "aa",
    "bb",
    "aab",
    "-",
    "^",
    "!",
    ".",
    "..",
    "1",
    "$",
    "~",
    "\u{17f}",
    "s",
    "S",
    "\u{212a}",
    "k",
    "K",
    "\u{130}",
    "i",
    "\u{df}",
    "\u{3c3}",
    "\u{3c2}",
    "\u{3a3}",
    "\u{1F600}",
    " ",
    "#",
    "a-b",
    "a.b",
    "(a)",
    "a|b",
    "[a]",
    "{a}",
    "",
    "x",
];

/// The kinds of generated cases.
#[derive(Clone, Copy)]
enum Mode {
    /// glob tokens, ignore-file style
    Mixed,
    /// extglobs, classes, escapes and case-folding oddities at character level
    Hard,
    /// `**`, `*`, `.`, `..` and empty parts against deep paths
    Globstar,
    /// brace expansion edge cases
    Brace,
}

const GLOBSTAR_PARTS: &[&str] = &["**", "**", "a", "b", "*", ".", "..", "", "?", "*a", ".*"];
const GLOBSTAR_SEGMENTS: &[&str] = &["a", "b", "c", "a", "b", ".", "..", "", ".a", "ba"];
const BRACE_TOKENS: &[&str] = &[
    "{", "{", "}", "}", ",", ",", "..", "a", "b", "1", "3", "-", "$", "\\", "z", "A", "/", "*",
    "{}", "0",
];

fn random_pattern(g: &mut Gen, mode: Mode) -> String {
    let mut p = String::new();
    match mode {
        Mode::Mixed => {
            match g.below(6) {
                0 => p.push('!'),
                1 => p.push('/'),
                _ => {}
            }
            for _ in 0..1 + g.below(5) {
                p.push_str(g.pick(PATTERN_TOKENS));
            }
        }
        Mode::Hard => {
            for _ in 0..1 + g.below(10) {
                p.push_str(g.pick(HARD_TOKENS));
            }
        }
        Mode::Globstar => {
            let parts: Vec<&str> = (0..1 + g.below(6))
                .map(|_| g.pick(GLOBSTAR_PARTS))
                .collect();
            p = parts.join("/");
        }
        Mode::Brace => {
            for _ in 0..1 + g.below(12) {
                p.push_str(g.pick(BRACE_TOKENS));
            }
        }
    }
    p
}

fn random_path(g: &mut Gen, mode: Mode) -> String {
    let parts: Vec<String> = match mode {
        Mode::Mixed | Mode::Brace => {
            let mut parts: Vec<String> = (0..1 + g.below(4))
                .map(|_| g.pick(PATH_SEGMENTS).to_string())
                .collect();
            if g.below(4) == 0 {
                parts.insert(0, String::new());
            }
            if g.below(5) == 0 {
                parts.push(String::new());
            }
            parts
        }
        Mode::Hard => (0..1 + g.below(3))
            .map(|_| (0..1 + g.below(3)).map(|_| g.pick(HARD_SEGMENTS)).collect())
            .collect(),
        Mode::Globstar => (0..1 + g.below(7))
            .map(|_| g.pick(GLOBSTAR_SEGMENTS).to_string())
            .collect(),
    };
    parts.join("/")
}

/// `lacks_required_part` may only rule out what cannot match: for the
/// table, the odd patterns and many generated ones, against curated and
/// generated paths (and their `/…`, `…/` forms, whose non-empty parts
/// are the same), a rule that lacks a part never matches non-partially.
#[test]
fn required_parts_never_rule_out_a_match() {
    let mut patterns: Vec<String> = TABLE.iter().map(|t| t.0.to_string()).collect();
    patterns.extend(ODD_PATTERNS.iter().map(|p| p.to_string()));
    patterns.extend(
        [
            "**/.git/**",
            "/build/config.gypi",
            "**/CVS",
            ".npmrc",
            "/node_modules",
            "{a,b}/c",
            "{a/c,c/b}",
            "A/**/b",
            "**/a/**/b/**",
        ]
        .iter()
        .map(|p| p.to_string()),
    );
    let mut paths: Vec<String> = CURATED_PATHS
        .iter()
        .chain(ODD_PATHS)
        .map(|p| p.to_string())
        .collect();
    let mut g = Gen(0x2545_F491_4F6C_DD1D);
    for mode in [Mode::Mixed, Mode::Hard, Mode::Globstar, Mode::Brace] {
        for _ in 0..300 {
            patterns.push(random_pattern(&mut g, mode));
            paths.push(random_path(&mut g, mode));
        }
    }
    paths.extend(["a/.git/b", "x/CVS", "build/config.gypi", "A/x/B", "a/b/c"].map(String::from));
    let mut ruled_out = 0;
    for pattern in &patterns {
        let rule = Rule::new(pattern);
        for path in &paths {
            if !rule.lacks_required_part(&Candidate::new(path)) {
                continue;
            }
            ruled_out += 1;
            for form in [
                path.clone(),
                format!("/{path}"),
                format!("{path}/"),
                format!("/{path}/"),
            ] {
                assert!(
                    !rule.matches(&form, false),
                    "{pattern:?} matches {form:?} but lacks a required part of {path:?}"
                );
            }
        }
    }
    assert!(
        ruled_out > 10_000,
        "the filter hardly ever applies: {ruled_out}"
    );
}

const CURATED_PATHS: &[&str] = &[
    "",
    "/",
    "a",
    "/a",
    "a/",
    "a/b",
    "/a/b",
    "a/b/",
    "a/b/c",
    "x/a/b",
    ".git",
    "/.git",
    "a/.git/x",
    ".",
    "..",
    "a/./b",
    "a/../b",
    "readme.md",
    "/README.md",
    "/readme.md~",
    "lib",
    "lib/a.js",
    "/lib/x/y.js",
    "dist/a.d.ts",
    "node_modules",
    "/node_modules/x",
    "._x",
    "a/._x/y",
    ".x.swp",
    "a.orig",
    "\u{e9}",
    "\u{1F600}",
    "a{b}c",
    "abd",
    "ax",
    "xb",
    "aab",
    "*",
    "[a]",
    "a\\",
];

/// Line terminators, NUL, astral characters and other oddities.
const ODD_PATTERNS: &[&str] = &[
    "a\rb",
    "{a\r,b}",
    "[\r]",
    "\u{2028}*",
    "{a\u{2028},b}",
    "a\u{0}b",
    "[\u{1F600}-\u{1F601}]",
    "[a-\u{1F600}]x",
    "[\u{1F600}]",
    "[[:alpha:]]\u{1F600}",
    "*\u{1F600}",
    "?\u{1F600}",
    "\u{17f}",
    "[[:alpha:]]\u{17f}",
    "\u{212a}",
    "[[:upper:]]\u{212a}",
    "\u{3a3}",
    "[[:alpha:]]\u{3c3}",
    "\u{130}",
    "*.\u{130}",
    "{1..3..0}",
    "{3..1}",
    "{a..C}",
    "{Z..a}",
    "{-01..3}",
    "{9..11}",
    "{100000000000000000000..100000000000000000001}",
    "{1000000000000000000000..1000000000000000000000}",
    "x{a,b}{1..2}{,c}",
    "{a,b}/{c,d}",
    "a{,}",
    "{,}",
    "{}",
    "{a}",
    "{a,b",
    "a,b}",
    "\\{a,b}",
    "{a\\,b}",
    "{a\\.b..c}",
    "${a,b}{c,d}",
    "{$a,b}",
    "[!]]",
    "[]]",
    "[^]a]",
    "[\\]",
    "[a\\-z]",
    "[--0]",
    "[!-]",
    "[[:foo:]]",
    "[[=a=]]",
    "[[.a.]]",
    "[a-[:alpha:]]",
    "[[:alpha:]-z]",
    "[[:graph:][:alpha:]]",
];

const ODD_PATHS: &[&str] = &[
    "a\rb",
    "\r",
    "\u{2028}x",
    "a\u{0}b",
    "\u{1F600}",
    "\u{1F601}",
    "\u{1F600}x",
    "s",
    "S",
    "k",
    "K",
    "\u{3c3}",
    "\u{3c2}",
    "\u{3a3}",
    "i",
    "I",
    "\u{130}",
    "x.\u{130}",
    "x.i\u{307}",
    "1",
    "10",
    "-",
    "0",
    "]",
    "^",
    "\\",
    "=",
    "z",
    "100000000000000000000",
    "1e+21",
];

fn npm_minimatch_dir() -> PathBuf {
    // npm is a `.cmd` shim on Windows, which is not found as `npm`.
    let out = Command::new(if cfg!(windows) { "npm.cmd" } else { "npm" })
        .args(["root", "-g"])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "DIFFERENTIAL TEST CANNOT RUN: could not start `npm root -g` ({e}). \
                 This test compares the port with the real minimatch that npm ships and \
                 needs node and npm on PATH."
            )
        });
    assert!(
        out.status.success(),
        "DIFFERENTIAL TEST CANNOT RUN: `npm root -g` failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let root = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let dir = PathBuf::from(&root)
        .join("npm")
        .join("node_modules")
        .join("minimatch");
    assert!(
        dir.join("package.json").is_file(),
        "DIFFERENTIAL TEST CANNOT RUN: npm's minimatch not found at {} (from `npm root -g` = {root:?})",
        dir.display()
    );
    dir
}

const NODE_SCRIPT: &str = r#"
const fs = require('fs');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const version = require(input.dir + '/package.json').version;
const { Minimatch } = require(input.dir);
const opts = input.opts;
const out = input.cases.map(([pattern, paths]) => {
  let m;
  try {
m = new Minimatch(pattern, opts);
  } catch (e) {
return { error: String(e && e.message).replace(/[\ud800-\udfff]/g, '\ufffd') };
  }
  const rel = m.globParts.some(part => part.length <= (part.slice(-1)[0] ? 1 : 2));
  return {
negate: m.negate,
globParts: m.globParts,
rel,
matches: paths.map(([f, partial]) => m.match(f, partial)),
  };
});
process.stdout.write(JSON.stringify({ version, out }));
"#;

/// The differential tests' cases: pattern -> [(path, partial)].
fn differential_cases() -> Vec<(String, Vec<(String, bool)>)> {
    // pattern -> [(path, partial)]
    let mut cases: Vec<(String, Vec<(String, bool)>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut add = |pattern: &str, path: &str, partial: bool| {
        let pos = *index.entry(pattern.to_string()).or_insert_with(|| {
            cases.push((pattern.to_string(), Vec::new()));
            cases.len() - 1
        });
        cases[pos].1.push((path.to_string(), partial));
    };
    for &(pattern, path, partial, _) in TABLE {
        add(pattern, path, partial);
        for extra in CURATED_PATHS {
            add(pattern, extra, false);
            add(pattern, extra, true);
        }
    }
    for pattern in ODD_PATTERNS {
        for path in CURATED_PATHS.iter().chain(ODD_PATHS) {
            add(pattern, path, false);
            add(pattern, path, true);
        }
    }
    for &(pattern, _, _) in FLAGS {
        add(pattern, "a", false);
    }
    // (mode, patterns, paths per pattern); each path is tried with and
    // without `partial`
    let plan = [
        (Mode::Mixed, 400, 4),
        (Mode::Hard, 400, 4),
        (Mode::Globstar, 300, 6),
        (Mode::Brace, 200, 3),
    ];
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    for (mode, patterns, paths) in plan {
        for _ in 0..patterns {
            let pattern = random_pattern(&mut g, mode);
            for _ in 0..paths {
                let path = random_path(&mut g, mode);
                add(&pattern, &path, false);
                add(&pattern, &path, true);
            }
        }
    }

    cases
}

/// With ignore-walk's options, as npm-packlist compiles ignore files.
#[test]
fn differential_against_node_minimatch() {
    compare_with_node_minimatch(
        Options::IGNORE_WALK,
        serde_json::json!({ "matchBase": true, "dot": true, "flipNegate": true, "nocase": true }),
    );
}

/// With minimatch's defaults, as npm matches workspace patterns.
#[test]
fn differential_against_node_minimatch_with_default_options() {
    compare_with_node_minimatch(Options::MINIMATCH_DEFAULT, serde_json::json!({}));
}

/// Runs every case of [`differential_cases`] through npm's minimatch with
/// `js_options` and through the port with `options`, and fails on any
/// difference.
// Test output: the counts go to the test log (`--nocapture`), not to users.
#[allow(clippy::disallowed_macros)]
fn compare_with_node_minimatch(options: Options, js_options: serde_json::Value) {
    let dir = npm_minimatch_dir();
    let cases = differential_cases();
    let input = serde_json::json!({
        "dir": dir.to_string_lossy(),
        "opts": js_options,
        "cases": cases.iter().map(|(p, paths)| {
            serde_json::json!([p, paths.iter().map(|(f, partial)| serde_json::json!([f, partial])).collect::<Vec<_>>()])
        }).collect::<Vec<_>>(),
    });
    let mut child = Command::new("node")
        .args(["-e", NODE_SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "DIFFERENTIAL TEST CANNOT RUN: could not start `node` ({e}); node must be on PATH"
            )
        });
    let mut stdin = child.stdin.take().expect("piped stdin");
    let payload = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(payload.as_bytes()));
    let output = child.wait_with_output().expect("node output");
    writer
        .join()
        .expect("writer thread")
        .expect("write to node");
    assert!(
        output.status.success(),
        "DIFFERENTIAL TEST CANNOT RUN: node failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("node printed JSON");
    assert_eq!(
        result["version"], "10.2.5",
        "this port mirrors minimatch 10.2.5, but npm ships a different version"
    );
    let out = result["out"].as_array().expect("out array");
    assert_eq!(out.len(), cases.len());

    let mut failures = Vec::new();
    let mut compared = 0;
    for ((pattern, paths), js) in cases.iter().zip(out) {
        let rule = Rule::with_options(pattern, options);
        if let Some(err) = js.get("error") {
            compared += paths.len();
            if rule.error().is_none() {
                failures.push(format!(
                    "{pattern:?}: minimatch throws {err}, the port does not"
                ));
            }
            continue;
        }
        if let Some(e) = rule.error() {
            failures.push(format!(
                "{pattern:?}: the port fails ({e}), minimatch does not"
            ));
            continue;
        }
        if js["negate"].as_bool() != Some(rule.negate()) {
            failures.push(format!("{pattern:?}: negate differs"));
        }
        if js["rel"].as_bool() != Some(rule.is_relative()) {
            failures.push(format!("{pattern:?}: is_relative differs"));
        }
        let parts = serde_json::to_value(rule.glob_parts()).expect("json");
        if js["globParts"] != parts {
            failures.push(format!(
                "{pattern:?}: globParts {} vs port {parts}",
                js["globParts"]
            ));
        }
        let matches = js["matches"].as_array().expect("matches array");
        for ((path, partial), want) in paths.iter().zip(matches) {
            compared += 1;
            let got = rule.matches(path, *partial);
            if want.as_bool() != Some(got) {
                failures.push(format!(
                    "{pattern:?} vs {path:?} partial={partial}: minimatch {want}, port {got}"
                ));
            }
        }
    }
    let errors = out.iter().filter(|o| o.get("error").is_some()).count();
    let unicode = cases
        .iter()
        .filter(|(p, _)| {
            Rule::with_options(p, options)
                .set
                .iter()
                .flatten()
                .any(|s| matches!(s, Segment::Regex { re, .. } if re.unicode))
        })
        .count();
    eprintln!("differential: {errors} throwing patterns, {unicode} unicode-mode patterns");
    eprintln!(
        "differential: {} patterns, {compared} (pattern, path, partial) cases",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements with minimatch:\n{}",
        failures.len(),
        failures
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
