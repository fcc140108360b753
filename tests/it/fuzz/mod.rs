//! Property tests over the parsers that read untrusted input (issue #9,
//! item 12): package.json and npm's manifest normalisation, semver, ignore
//! files and globs, `.npmrc`, id tokens, `.tgz` archives and CI workflow
//! files. Generators make structured but hostile inputs (deep nesting, huge
//! numbers, odd unicode, NUL, CR, U+2028, lone surrogate escapes, YAML
//! aliases, long lines); every property asserts that the parser returns (an
//! error is fine, a panic is not) and, where there is one, an invariant.
//!
//! Each property runs a fixed number of cases from a fixed seed, so the
//! whole module stays within about a minute on two cores and a failure
//! reproduces anywhere; `PROPTEST_CASES=<n>` overrides every count and
//! `PROPTEST_RNG_SEED=<n>` the seed (for longer or different local runs). Failures are not persisted to files: a
//! failing input is shrunk and printed, and a fix adds it as a unit test
//! next to the code. The `fuzz/` crate at the repository root has coverage
//! guided `cargo fuzz` targets for the same parsers.

mod glob;
mod jwt;
mod manifest;
mod npmrc;
mod tarball;
mod workflows;

use proptest::prelude::*;
use proptest::test_runner::Config;

/// The seed of every run unless `PROPTEST_RNG_SEED` names another: the
/// same inputs on every machine, so a CI failure reproduces anywhere.
/// Explore with other seeds locally (`PROPTEST_RNG_SEED=<n>`) and with the
/// `fuzz/` targets; add what they find as unit tests.
const SEED: u64 = 0x7275_7374_7075_6231;

/// `cases` cases, or `PROPTEST_CASES` when set.
pub fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    let rng_seed = match std::env::var("PROPTEST_RNG_SEED") {
        Ok(_) => Config::default().rng_seed,
        Err(_) => proptest::test_runner::RngSeed::Fixed(SEED),
    };
    Config {
        cases,
        failure_persistence: None,
        // Shrinking a slow case can take longer than the run; bound it.
        max_shrink_iters: 2048,
        rng_seed,
        ..Config::default()
    }
}

/// Fragments that parsers of text formats tend to trip on.
const NASTY: &[&str] = &[
    "",
    "\0",
    "\r",
    "\n",
    "\r\n",
    "\t",
    " ",
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\u{a0}",
    "\u{feff}",
    "\u{202e}",
    "\u{1b}[31m",
    "\u{1b}]8;;x\u{7}",
    "\\ud800",
    "\\udfff",
    "\\ud83d\\ude00",
    "\\u0000",
    "\\",
    "\\\\",
    "\"",
    "'",
    "`",
    "$",
    "${",
    "${X}",
    "${X?}",
    "\\${X}",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ",",
    ":",
    "::",
    "::error::x",
    ";",
    "#",
    "=",
    "!",
    "?",
    "*",
    "**",
    "/",
    "//",
    ".",
    "..",
    "../",
    "@",
    "%",
    "%0A",
    "&",
    "|",
    "<<",
    ">",
    "-",
    "--",
    "~",
    "+",
    "^",
    "0",
    "-0",
    "1e400",
    "-1e400",
    "99999999999999999999999999",
    "9007199254740993",
    "0x1F",
    "NaN",
    "Infinity",
    "true",
    "null",
    "__proto__",
    "constructor",
    "é",
    "e\u{301}",
    "ß",
    "İ",
    "ǅ",
    "K",
    "\u{10ffff}",
    "\u{1f600}",
    "𝔘",
    "\u{fffd}",
    "a",
    "A",
    "z",
    "1",
    "1.2.3",
    "v1.2.3-beta.1+build",
    "^1.x || >=2 <3",
    "npm",
    "publish",
    "@scope/name",
    "registry.npmjs.org",
    "https://user:pass@h/",
];

/// A string of hostile fragments and arbitrary characters, up to `max`
/// pieces long.
pub fn nasty_string(max: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(NASTY).prop_map(str::to_string),
        2 => any::<char>().prop_map(String::from),
        1 => "[a-z0-9._-]{1,12}",
        // A long line.
        1 => (1usize..3000, proptest::sample::select(&["a", " ", "\\", "x/"][..]))
            .prop_map(|(n, s)| s.repeat(n)),
    ];
    proptest::collection::vec(piece, 0..max).prop_map(|v| v.concat())
}

/// Like [`nasty_string`] without line breaks (for one-line values).
pub fn nasty_line(max: usize) -> impl Strategy<Value = String> {
    nasty_string(max).prop_map(|s| s.replace(['\r', '\n', '\u{2028}', '\u{2029}', '\u{85}'], ""))
}
