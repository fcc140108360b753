//! A faithful Rust port of the parts of minimatch 10.2.5 that npm uses:
//! ignore-walk (and so npm-packlist and `npm pack`) and the workspace
//! patterns of `@npmcli/map-workspaces`.
//!
//! ignore-walk compiles every line of an ignore file as
//! `new Minimatch(line.trim(), {matchBase: true, dot: true, flipNegate: true, nocase: true})`
//! and then only reads `rule.negate`, `rule.globParts` and calls
//! `rule.match(path, partial)`. [`Rule`] mirrors exactly that object on a posix
//! platform with the default `optimizationLevel` of 1.
//!
//! The port follows the JavaScript closely, including its quirks:
//!
//! * Brace expansion is brace-expansion 5.0.9 (the copy npm 11.19.1 ships),
//!   including its escape handling (`\\`, `\{`, `\}`, `\,`, `\.` lose their
//!   backslash whenever the pattern contains a `{...}` pair).
//! * Each path segment is parsed into minimatch's extglob AST, simplified and
//!   turned into the very same JavaScript regular-expression *source* that
//!   minimatch builds. That source is then parsed and run by a small
//!   JavaScript-regex engine (`jsregex.rs`), which supports exactly the
//!   syntax minimatch can emit, with both the non-unicode and the unicode
//!   (`u`, used when a POSIX class such as `[[:alpha:]]` occurs) semantics,
//!   each with or without `i` (`nocase`): UTF-16 code units and
//!   `toUpperCase` canonicalisation in the former, code points and simple
//!   case folding in the latter, plus the negative lookaheads that the
//!   `regex` crate lacks.
//! * The "fast tests" minimatch installs for `*`, `*.ext`, `???`, `*.*` and
//!   `.*` override the regular expression, exactly as in JavaScript.
//! * Where `new Minimatch()` would throw (a pattern over 65536 UTF-16 units,
//!   or a segment whose generated regular expression is invalid JavaScript,
//!   such as `[[:alpha:]]-x` or `@(a|*())`), [`Rule::try_new`] returns the
//!   error and [`Rule::new`] returns a rule that matches nothing.
//!
//! [`Options`] choose between ignore-walk's options and minimatch's
//! defaults (npm's workspace patterns). pnpm's simpler name matcher, where
//! `*` crosses `/`, is [`pnpm_matches`] (`pnpm.rs`).
//!
//! Not from minimatch, for speed: [`Rule::lacks_required_part`], a cheap
//! necessary condition (a literal segment, or a segment's literal affixes,
//! that no part of the path has) that lets callers skip a rule without
//! running the matcher; matching itself is unchanged.
//!
//! The files, in the order a pattern goes through them: `brace.rs` (brace
//! expansion), `segment.rs` (one path part: literal, `**`, fast test or
//! regular expression), `ast.rs` (the extglob AST), `regexp.rs` (the
//! regular-expression source made from it), `jsregex.rs` (running it),
//! `matching.rs` (a split path against the compiled parts, `**` included);
//! this file holds [`Rule`], [`Candidate`] and the required-part check.

mod ast;
mod brace;
mod jsregex;
mod matching;
mod pnpm;
mod regexp;
mod segment;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fmt;

use crate::js::js_len;

use self::brace::brace_expand;
use self::matching::match_one;
use self::segment::{compile_segment, has_affixes, Segment};

pub use self::pnpm::pnpm_matches;

/// A JavaScript string: a sequence of UTF-16 code units.
type JsStr = Vec<u16>;

/// minimatch's `MAX_PATTERN_LENGTH` (in UTF-16 code units).
const MAX_PATTERN_LENGTH: usize = 1024 * 64;
/// minimatch's default `maxGlobstarRecursion`.
const MAX_GLOBSTAR_RECURSION: usize = 200;
/// brace-expansion's `EXPANSION_MAX`.
const EXPANSION_MAX: usize = 100_000;
/// brace-expansion's `EXPANSION_MAX_LENGTH`.
const EXPANSION_MAX_LENGTH: usize = 4_000_000;
/// How deeply extglobs may nest before the pattern is rejected, standing in
/// for V8's stack limit ("Maximum call stack size exceeded"), which node 20
/// reaches somewhere between 859 (`@(`) and 1528 (`+(`) levels.
const MAX_EXTGLOB_NESTING: usize = 500;
/// The same for nested braces. node 20 copes with 3583 levels, but the Rust
/// recursion must fit a 2 MiB test-thread stack in debug builds too.
const MAX_BRACE_NESTING: usize = 250;
/// The same for groups in the generated regular expressions.
const MAX_REGEX_NESTING: usize = 4 * MAX_EXTGLOB_NESTING;

const BACKSLASH: u16 = b'\\' as u16;
const SLASH: u16 = b'/' as u16;
const OPEN_BRACKET: u16 = b'[' as u16;
const CLOSE_BRACKET: u16 = b']' as u16;
const OPEN_PAREN: u16 = b'(' as u16;
const CLOSE_PAREN: u16 = b')' as u16;
const PIPE: u16 = b'|' as u16;
const BANG: u16 = b'!' as u16;
const CARET: u16 = b'^' as u16;
const STAR: u16 = b'*' as u16;
const PLUS: u16 = b'+' as u16;
const QMARK: u16 = b'?' as u16;
const AT: u16 = b'@' as u16;
const DOT: u16 = b'.' as u16;
const DASH: u16 = b'-' as u16;

/// Why `new Minimatch(pattern)` would throw for a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    message: String,
}

impl RuleError {
    fn new(message: impl Into<String>) -> RuleError {
        RuleError {
            message: message.into(),
        }
    }

    /// The message JavaScript would throw with (approximately, for regular
    /// expression syntax errors).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

/// The minimatch options this port supports. ignore-walk uses
/// [`Options::IGNORE_WALK`]; minimatch's defaults (all off) are
/// [`Options::MINIMATCH_DEFAULT`], which npm's workspace patterns use
/// (`@npmcli/map-workspaces`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `dot`: `*`, `?`, `[...]` and `**` may match a part starting with `.`.
    pub dot: bool,
    /// `nocase`: the `i` flag, case-insensitive fast tests.
    pub nocase: bool,
    /// `matchBase`: a pattern without a `/` matches the path's last part.
    pub match_base: bool,
    /// `flipNegate`: `match` ignores a leading `!` instead of inverting.
    pub flip_negate: bool,
}

impl Options {
    /// `{matchBase: true, dot: true, flipNegate: true, nocase: true}`.
    pub const IGNORE_WALK: Options = Options {
        dot: true,
        nocase: true,
        match_base: true,
        flip_negate: true,
    };
    /// `{}`.
    pub const MINIMATCH_DEFAULT: Options = Options {
        dot: false,
        nocase: false,
        match_base: false,
        flip_negate: false,
    };
}

/// One pattern compiled as minimatch 10.2.5 compiles it on posix: by default
/// one ignore-file line, with ignore-walk's options
/// `{matchBase: true, dot: true, flipNegate: true, nocase: true}`
/// ([`Rule::new`]); other [`Options`] with [`Rule::with_options`].
///
/// The pattern is taken as given: ignore-walk trims each line with
/// JavaScript's `String.prototype.trim` first (`crate::js::js_trim`) and
/// drops lines that are then empty or start with `#`.
#[derive(Debug, Clone)]
pub struct Rule {
    pattern: String,
    options: Options,
    negate: bool,
    comment: bool,
    empty: bool,
    glob_parts: Vec<Vec<String>>,
    set: Vec<Vec<Segment>>,
    /// Path parts every non-partial match needs (see
    /// [`Rule::lacks_required_part`]).
    required: Vec<Required>,
    error: Option<RuleError>,
}

impl Rule {
    /// Compiles `pattern` like `new Minimatch(pattern, opts)`.
    ///
    /// Never fails. Where minimatch would throw (see [`Rule::try_new`]), the
    /// returned rule matches nothing; [`Rule::error`] tells why.
    pub fn new(pattern: &str) -> Rule {
        build_rule(pattern, Options::IGNORE_WALK)
    }

    /// [`Rule::new`] with other minimatch options.
    pub fn with_options(pattern: &str, options: Options) -> Rule {
        build_rule(pattern, options)
    }

    /// Compiles `pattern` like `new Minimatch(pattern, opts)`, returning the
    /// error minimatch would throw: `pattern is too long` for more than 65536
    /// UTF-16 units, or an invalid generated regular expression (for example
    /// `[[:alpha:]]-x`, whose `\-` is an invalid escape under the `u` flag,
    /// or `@(a|*())`, which yields "Nothing to repeat").
    pub fn try_new(pattern: &str) -> Result<Rule, RuleError> {
        let rule = build_rule(pattern, Options::IGNORE_WALK);
        match &rule.error {
            Some(e) => Err(e.clone()),
            None => Ok(rule),
        }
    }

    /// The pattern this rule was compiled from.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Why minimatch would have thrown for this pattern, if it would.
    pub fn error(&self) -> Option<&RuleError> {
        self.error.as_ref()
    }

    /// `Minimatch.prototype.negate`: true when the pattern starts with an odd
    /// number of `!` (minimatch's `parseNegate`). Comments and the empty
    /// pattern are never negated.
    pub fn negate(&self) -> bool {
        self.negate
    }

    /// `Minimatch.prototype.comment`: the pattern starts with `#`.
    pub fn comment(&self) -> bool {
        self.comment
    }

    /// `Minimatch.prototype.globParts`: the brace-expanded, slash-split and
    /// level-one-optimised pattern parts (empty for comments and the empty
    /// pattern).
    pub fn glob_parts(&self) -> &[Vec<String>] {
        &self.glob_parts
    }

    /// ignore-walk's `isRelativeRule` predicate:
    /// `rule.globParts.some(part => part.length <= (part.slice(-1)[0] ? 1 : 2))`.
    /// (ignore-walk additionally requires a non-empty `entryBasename`.)
    pub fn is_relative(&self) -> bool {
        self.glob_parts.iter().any(|part| {
            let last_nonempty = part.last().is_some_and(|s| !s.is_empty());
            part.len() <= if last_nonempty { 1 } else { 2 }
        })
    }

    /// `Minimatch.prototype.match(path, partial)`. With `flipNegate` (as
    /// ignore-walk has it): true when the pattern (without its leading `!`s)
    /// matches `path`, for negated rules too; without it a negated rule
    /// matches what the pattern does not.
    ///
    /// Mirrors minimatch exactly: comments match nothing, the empty pattern
    /// matches only `""`, `"/"` matches in partial mode, the path is split on
    /// runs of `/`, with `matchBase` a single-part pattern is matched against
    /// the last non-empty path part, and `**` follows minimatch 10's globstar
    /// algorithm (which never lets `**` cover a `.` or `..` part, nor any
    /// part starting with `.` without `dot`).
    pub fn matches(&self, path: &str, partial: bool) -> bool {
        self.matches_candidate(&Candidate::new(path), partial)
    }

    /// A cheap necessary condition for non-partial matching: true when a
    /// literal segment that every pattern of the rule has (such as `.git` in
    /// `**/.git/**`, or `.npmrc`) equals none of `c`'s path parts. Outside
    /// partial matching every segment of a pattern is tested against one
    /// path part, so then [`Rule::matches_candidate`]`(c2, false)` is false
    /// for every `c2` whose non-empty parts all occur among `c`'s.
    #[inline]
    pub fn lacks_required_part(&self, c: &Candidate<'_>) -> bool {
        if self.required.is_empty() {
            return false;
        }
        let shapes = c.shapes();
        self.required
            .iter()
            .any(|r| !r.may_occur(&shapes) || !c.parts.iter().any(|p| r.allows(p)))
    }

    /// [`Rule::matches`] for a path split once with [`Candidate::new`], for
    /// callers that test one path against many rules.
    pub fn matches_candidate(&self, c: &Candidate<'_>, partial: bool) -> bool {
        if self.error.is_some() || self.comment {
            return false;
        }
        if self.empty {
            return c.path.is_empty();
        }
        if c.path == "/" && partial {
            return true;
        }
        let base = [c.filename];
        let hit = self.set.iter().any(|pattern| {
            let file: &[&str] = if self.options.match_base && pattern.len() == 1 {
                &base
            } else {
                &c.parts
            };
            match_one(file, pattern, partial, self.options.dot)
        });
        hit != (self.negate && !self.options.flip_negate)
    }
}

/// A path split into its parts the way `Minimatch.match` splits it, with the
/// filename `matchBase` uses.
pub struct Candidate<'a> {
    path: &'a str,
    parts: smallvec::SmallVec<[&'a str; 8]>,
    filename: &'a str,
    /// A summary of the parts for [`Rule::lacks_required_part`], made on
    /// first use.
    shapes: std::cell::Cell<Option<Shapes>>,
}

/// Bit sets over a path's non-empty parts, so that most [`Required`]
/// checks are a bit test: a clear bit proves no part qualifies (a set bit
/// proves nothing; then the parts are compared).
#[derive(Clone, Copy, Default)]
struct Shapes {
    /// By length and lower-cased first byte.
    whole: u64,
    /// By lower-cased first byte.
    first: u64,
    /// By lower-cased last byte.
    last: u64,
}

fn whole_bit(len: usize, first: u8) -> u64 {
    1 << (len
        .wrapping_mul(7)
        .wrapping_add(usize::from(first.to_ascii_lowercase()))
        & 63)
}

fn byte_bit(b: u8) -> u64 {
    1 << (b.to_ascii_lowercase() & 63)
}

impl Shapes {
    fn new(parts: &[&str]) -> Shapes {
        let mut s = Shapes::default();
        for p in parts {
            let b = p.as_bytes();
            if let (Some(&first), Some(&last)) = (b.first(), b.last()) {
                s.whole |= whole_bit(b.len(), first);
                s.first |= byte_bit(first);
                s.last |= byte_bit(last);
            }
        }
        s
    }
}

impl<'a> Candidate<'a> {
    pub fn new(path: &'a str) -> Candidate<'a> {
        // `slash_split` without a heap allocation for ordinary depths.
        let parts: smallvec::SmallVec<[&str; 8]> = slash_parts(path).collect();
        let mut filename = parts[parts.len() - 1];
        if filename.is_empty() {
            for part in parts[..parts.len() - 1].iter().rev() {
                filename = part;
                if !filename.is_empty() {
                    break;
                }
            }
        }
        Candidate {
            path,
            parts,
            filename,
            shapes: std::cell::Cell::new(None),
        }
    }

    #[inline]
    fn shapes(&self) -> Shapes {
        if let Some(s) = self.shapes.get() {
            return s;
        }
        let s = Shapes::new(&self.parts);
        self.shapes.set(Some(s));
        s
    }
}

fn build_rule(pattern: &str, options: Options) -> Rule {
    let mut rule = Rule {
        pattern: pattern.to_string(),
        options,
        negate: false,
        comment: false,
        empty: false,
        glob_parts: Vec::new(),
        set: Vec::new(),
        required: Vec::new(),
        error: None,
    };
    if js_len(pattern) > MAX_PATTERN_LENGTH {
        rule.error = Some(RuleError::new("pattern is too long"));
        return rule;
    }
    if pattern.starts_with('#') {
        rule.comment = true;
        return rule;
    }
    if pattern.is_empty() {
        rule.empty = true;
        return rule;
    }
    let bangs = pattern.bytes().take_while(|&b| b == b'!').count();
    rule.negate = bangs % 2 == 1;
    let pattern = &pattern[bangs..];

    let expanded = match brace_expand(pattern) {
        Ok(e) => e,
        Err(e) => {
            rule.error = Some(e);
            return rule;
        }
    };
    // `[...new Set(expanded)]`
    let mut seen = HashSet::with_capacity(expanded.len());
    let glob_set: Vec<String> = expanded
        .into_iter()
        .filter(|e| seen.insert(e.clone()))
        .collect();
    rule.glob_parts = glob_set
        .iter()
        .map(|s| level_one_optimize(slash_split(s)))
        .collect();
    let mut set = Vec::with_capacity(rule.glob_parts.len());
    for parts in &rule.glob_parts {
        let mut segs = Vec::with_capacity(parts.len());
        for p in parts {
            match compile_segment(p, options) {
                Ok(s) => segs.push(s),
                Err(e) => {
                    rule.error = Some(e);
                    return rule;
                }
            }
        }
        set.push(segs);
    }
    // A negated rule without `flipNegate` matches where the pattern does
    // not: no part is required then.
    if !rule.negate || options.flip_negate {
        rule.required = required_literals(&set);
    }
    rule.set = set;
    rule
}

/// What one path part must look like for a segment to match it: a
/// necessary condition that is cheap to test.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Required {
    kind: RequiredKind,
    /// The [`Shapes`] bits a qualifying part sets (0: no condition).
    whole: u64,
    first: u64,
    last: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RequiredKind {
    /// Exactly this text ([`Segment::Literal`]).
    Exact(String),
    /// This ASCII text in any case ([`Segment::CaselessAscii`]), lower-cased.
    Caseless(String),
    /// These literal ASCII affixes in any case, as [`has_affixes`] checks
    /// them before a [`Segment::Regex`] runs.
    Affixes(String, String),
}

impl Required {
    fn new(kind: RequiredKind) -> Required {
        let (whole, first, last) = match &kind {
            RequiredKind::Exact(l) | RequiredKind::Caseless(l) => match l.bytes().next() {
                Some(b) => (whole_bit(l.len(), b), 0, 0),
                None => (0, 0, 0),
            },
            RequiredKind::Affixes(pre, suf) => (
                0,
                pre.bytes().next().map_or(0, byte_bit),
                suf.bytes().last().map_or(0, byte_bit),
            ),
        };
        Required {
            kind,
            whole,
            first,
            last,
        }
    }

    /// False when no part summarised by `shapes` can be allowed.
    #[inline]
    fn may_occur(&self, shapes: &Shapes) -> bool {
        shapes.whole & self.whole == self.whole
            && shapes.first & self.first == self.first
            && shapes.last & self.last == self.last
    }

    fn allows(&self, part: &str) -> bool {
        match &self.kind {
            RequiredKind::Exact(l) => part == l,
            RequiredKind::Caseless(l) => part.len() == l.len() && part.eq_ignore_ascii_case(l),
            RequiredKind::Affixes(pre, suf) => has_affixes(part, pre, suf),
        }
    }
}

/// The requirements on path parts that every pattern of `set` has (each of
/// its segments must match some part of the path).
fn required_literals(set: &[Vec<Segment>]) -> Vec<Required> {
    let literals = |pattern: &[Segment]| -> Vec<Required> {
        pattern
            .iter()
            .filter_map(|seg| match seg {
                Segment::CaselessAscii(l) if !l.is_empty() => Some(Required::new(
                    RequiredKind::Caseless(l.to_ascii_lowercase()),
                )),
                Segment::Literal(l) if !l.is_empty() => Some(Required::new(RequiredKind::Exact(
                    String::from_utf16(l).ok()?,
                ))),
                Segment::Regex {
                    affixes: Some((pre, suf)),
                    ..
                } => Some(Required::new(RequiredKind::Affixes(
                    pre.clone(),
                    suf.clone(),
                ))),
                _ => None,
            })
            .collect()
    };
    let Some((first, rest)) = set.split_first() else {
        return Vec::new();
    };
    let mut required = literals(first);
    for pattern in rest {
        let other = literals(pattern);
        required.retain(|l| other.contains(l));
    }
    required.dedup();
    required
}

fn js(s: &str) -> JsStr {
    s.encode_utf16().collect()
}

/// What JavaScript's regex `.` refuses to match.
fn is_line_terminator(c: u32) -> bool {
    matches!(c, 0x0A | 0x0D | 0x2028 | 0x2029)
}

/// `p.split(/\/+/)`.
fn slash_split(p: &str) -> Vec<&str> {
    slash_parts(p).collect()
}

/// The pieces of `p.split(/\/+/)`, one by one.
fn slash_parts(p: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(p);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.find('/') {
            Some(at) => {
                rest = Some(r[at..].trim_start_matches('/'));
                Some(&r[..at])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// minimatch's `levelOneOptimize`: drop repeated `**` and resolve `<p>/..`.
fn level_one_optimize(parts: Vec<&str>) -> Vec<String> {
    let mut set: Vec<String> = Vec::with_capacity(parts.len());
    for part in parts {
        let prev = set.last().map(String::as_str);
        if part == "**" && prev == Some("**") {
            continue;
        }
        if part == ".." {
            if let Some(prev) = prev {
                if !prev.is_empty() && prev != ".." && prev != "." && prev != "**" {
                    set.pop();
                    continue;
                }
            }
        }
        set.push(part.to_string());
    }
    if set.is_empty() {
        set.push(String::new());
    }
    set
}
