//! A faithful Rust port of the parts of minimatch 10.2.5 that ignore-walk
//! (and so npm-packlist and `npm pack`) uses.
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
//!   JavaScript-regex engine in this file, which supports exactly the syntax
//!   minimatch can emit, with both the non-unicode (`i`) and the unicode
//!   (`iu`, used when a POSIX class such as `[[:alpha:]]` occurs) semantics:
//!   UTF-16 code units and `toUpperCase` canonicalisation in the former,
//!   code points and simple case folding in the latter, plus the negative
//!   lookaheads that the `regex` crate lacks.
//! * The "fast tests" minimatch installs for `*`, `*.ext`, `???`, `*.*` and
//!   `.*` override the regular expression, exactly as in JavaScript.
//! * Where `new Minimatch()` would throw (a pattern over 65536 UTF-16 units,
//!   or a segment whose generated regular expression is invalid JavaScript,
//!   such as `[[:alpha:]]-x` or `@(a|*())`), [`Rule::try_new`] returns the
//!   error and [`Rule::new`] returns a rule that matches nothing.
//!
//! Not from minimatch, for speed: [`Rule::lacks_required_part`], a cheap
//! necessary condition (a literal segment, or a segment's literal affixes,
//! that no part of the path has) that lets callers skip a rule without
//! running the matcher; matching itself is unchanged.

use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, OnceLock};

use crate::js::{is_js_space_unit, js_len, js_number, JS_SPACE_RANGES};

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

/// One ignore-file line compiled as minimatch 10.2.5 compiles it with
/// `{matchBase: true, dot: true, flipNegate: true, nocase: true}` on posix.
///
/// The pattern is taken as given: ignore-walk trims each line with
/// JavaScript's `String.prototype.trim` first (`crate::js::js_trim`) and
/// drops lines that are then empty or start with `#`.
#[derive(Debug, Clone)]
pub struct Rule {
    pattern: String,
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
        build_rule(pattern)
    }

    /// Compiles `pattern` like `new Minimatch(pattern, opts)`, returning the
    /// error minimatch would throw: `pattern is too long` for more than 65536
    /// UTF-16 units, or an invalid generated regular expression (for example
    /// `[[:alpha:]]-x`, whose `\-` is an invalid escape under the `u` flag,
    /// or `@(a|*())`, which yields "Nothing to repeat").
    pub fn try_new(pattern: &str) -> Result<Rule, RuleError> {
        let rule = build_rule(pattern);
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

    /// `Minimatch.prototype.match(path, partial)` with `flipNegate`: true when
    /// the pattern (without its leading `!`s) matches `path`, for negated
    /// rules too.
    ///
    /// Mirrors minimatch exactly: comments match nothing, the empty pattern
    /// matches only `""`, `"/"` matches in partial mode, the path is split on
    /// runs of `/`, a single-part pattern is matched against the last
    /// non-empty path part (`matchBase`), and `**` follows minimatch 10's
    /// globstar algorithm (which never lets `**` cover a `.` or `..` part).
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
        self.set.iter().any(|pattern| {
            let file: &[&str] = if pattern.len() == 1 { &base } else { &c.parts };
            match_one(file, pattern, partial)
        })
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
        let mut parts: smallvec::SmallVec<[&str; 8]> = smallvec::SmallVec::new();
        let b = path.as_bytes();
        let (mut start, mut i) = (0, 0);
        while i < b.len() {
            if b[i] == b'/' {
                parts.push(&path[start..i]);
                while i < b.len() && b[i] == b'/' {
                    i += 1;
                }
                start = i;
            } else {
                i += 1;
            }
        }
        parts.push(&path[start..]);
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

fn build_rule(pattern: &str) -> Rule {
    let mut rule = Rule {
        pattern: pattern.to_string(),
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
            match compile_segment(p) {
                Ok(s) => segs.push(s),
                Err(e) => {
                    rule.error = Some(e);
                    return rule;
                }
            }
        }
        set.push(segs);
    }
    rule.required = required_literals(&set);
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
    let b = p.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' {
            out.push(&p[start..i]);
            while i < b.len() && b[i] == b'/' {
                i += 1;
            }
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&p[start..]);
    out
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

// ---------------------------------------------------------------------------
// Brace expansion (minimatch's braceExpand + brace-expansion 5.0.9 +
// balanced-match 4.0.4)
// ---------------------------------------------------------------------------

// Stand-ins for brace-expansion's `'\0SLASH' + Math.random() + '\0'` tokens.
const ESC_SLASH: &str = "\u{0}SLASH\u{FDD0}\u{0}";
const ESC_OPEN: &str = "\u{0}OPEN\u{FDD0}\u{0}";
const ESC_CLOSE: &str = "\u{0}CLOSE\u{FDD0}\u{0}";
const ESC_COMMA: &str = "\u{0}COMMA\u{FDD0}\u{0}";
const ESC_PERIOD: &str = "\u{0}PERIOD\u{FDD0}\u{0}";

/// minimatch's `braceExpand`: only patterns matching `/\{(?:(?!\{).)*\}/`
/// are handed to brace-expansion.
fn brace_expand(pattern: &str) -> Result<Vec<String>, RuleError> {
    if !has_brace_pair(pattern) {
        return Ok(vec![pattern.to_string()]);
    }
    let s = match pattern.strip_prefix("{}") {
        Some(rest) => format!("\\{{\\}}{rest}"),
        None => pattern.to_string(),
    };
    let escaped = s
        .replace("\\\\", ESC_SLASH)
        .replace("\\{", ESC_OPEN)
        .replace("\\}", ESC_CLOSE)
        .replace("\\,", ESC_COMMA)
        .replace("\\.", ESC_PERIOD);
    Ok(expand_inner(escaped, true, 0)?
        .into_iter()
        .map(|e| {
            e.replace(ESC_SLASH, "\\")
                .replace(ESC_OPEN, "{")
                .replace(ESC_CLOSE, "}")
                .replace(ESC_COMMA, ",")
                .replace(ESC_PERIOD, ".")
        })
        .collect())
}

/// `/\{(?:(?!\{).)*\}/.test(s)`.
fn has_brace_pair(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c != '{' {
            continue;
        }
        for &d in &chars[i + 1..] {
            if d == '}' {
                return true;
            }
            if d == '{' || is_line_terminator(d as u32) {
                break;
            }
        }
    }
    false
}

struct Balanced {
    pre: String,
    body: String,
    post: String,
}

/// balanced-match's `balanced('{', '}', s)`.
fn balanced(s: &str) -> Option<Balanced> {
    let (start, end) = brace_range(s)?;
    Some(Balanced {
        pre: s[..start].to_string(),
        body: s[start + 1..end].to_string(),
        post: s[end + 1..].to_string(),
    })
}

/// balanced-match's `range('{', '}', s)` (byte offsets; both are ASCII).
fn brace_range(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let index_of = |c: u8, from: isize| -> isize {
        let from = from.max(0) as usize;
        if from > b.len() {
            return -1;
        }
        b[from..]
            .iter()
            .position(|&x| x == c)
            .map_or(-1, |p| (p + from) as isize)
    };
    let mut ai = index_of(b'{', 0);
    let mut bi = index_of(b'}', ai + 1);
    let mut i = ai;
    let mut result: Option<(isize, isize)> = None;
    if ai >= 0 && bi > 0 {
        let mut begs: Vec<isize> = Vec::new();
        let mut left = b.len() as isize;
        let mut right: Option<isize> = None;
        while i >= 0 && result.is_none() {
            if i == ai {
                begs.push(i);
                ai = index_of(b'{', i + 1);
            } else if begs.len() == 1 {
                if let Some(r) = begs.pop() {
                    result = Some((r, bi));
                }
            } else {
                if let Some(beg) = begs.pop() {
                    if beg < left {
                        left = beg;
                        right = Some(bi);
                    }
                }
                bi = index_of(b'}', i + 1);
            }
            i = if ai < bi && ai >= 0 { ai } else { bi };
        }
        if !begs.is_empty() {
            if let Some(r) = right {
                result = Some((left, r));
            }
        }
    }
    result.map(|(a, b)| (a as usize, b as usize))
}

/// brace-expansion's `parseCommaParts`.
fn parse_comma_parts(s: &str) -> Vec<String> {
    if s.is_empty() {
        return vec![String::new()];
    }
    let Some(m) = balanced(s) else {
        return s.split(',').map(String::from).collect();
    };
    let mut p: Vec<String> = m.pre.split(',').map(String::from).collect();
    let last = p.len() - 1;
    p[last].push('{');
    p[last].push_str(&m.body);
    p[last].push('}');
    let mut post_parts = parse_comma_parts(&m.post);
    if !m.post.is_empty() {
        let first = post_parts.remove(0);
        p[last].push_str(&first);
        p.extend(post_parts);
    }
    p
}

fn is_int_literal(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// `/^-?\d+\.\.-?\d+(?:\.\.-?\d+)?$/`.
fn is_numeric_sequence(body: &str) -> bool {
    let n: Vec<&str> = body.split("..").collect();
    (n.len() == 2 || n.len() == 3) && n.iter().all(|p| is_int_literal(p))
}

/// `/^[a-zA-Z]\.\.[a-zA-Z](?:\.\.-?\d+)?$/`.
fn is_alpha_sequence(body: &str) -> bool {
    let n: Vec<&str> = body.split("..").collect();
    let letter = |s: &str| s.len() == 1 && s.as_bytes()[0].is_ascii_alphabetic();
    (n.len() == 2 || n.len() == 3)
        && letter(n[0])
        && letter(n[1])
        && (n.len() == 2 || is_int_literal(n[2]))
}

/// `/^-?0\d/`.
fn is_padded(el: &str) -> bool {
    let b = el.strip_prefix('-').unwrap_or(el).as_bytes();
    b.len() >= 2 && b[0] == b'0' && b[1].is_ascii_digit()
}

/// `/,(?!,).*\}/.test(s)`.
fn has_comma_then_close(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    // whether a `}` follows position i with no line terminator in between
    let mut close_ahead = false;
    for i in (0..chars.len()).rev() {
        if chars[i] == ',' && chars.get(i + 1) != Some(&',') && close_ahead {
            return true;
        }
        if chars[i] == '}' {
            close_ahead = true;
        } else if is_line_terminator(chars[i] as u32) {
            close_ahead = false;
        }
    }
    false
}

/// brace-expansion's `numeric`: `!isNaN(s) ? parseInt(s, 10) : s.charCodeAt(0)`
/// (only ever called on `-?\d+` or a single letter).
fn numeric(s: &str) -> f64 {
    if is_int_literal(s) {
        s.parse::<f64>().unwrap_or(f64::NAN)
    } else {
        s.encode_utf16().next().map_or(f64::NAN, f64::from)
    }
}

/// brace-expansion's `expandSequence`.
fn expand_sequence(body: &str, alpha: bool) -> Vec<String> {
    let n: Vec<&str> = body.split("..").collect();
    let mut out = Vec::new();
    if n.len() < 2 {
        return out;
    }
    let x = numeric(n[0]);
    let y = numeric(n[1]);
    let width = js_len(n[0]).max(js_len(n[1]));
    let mut incr = if n.len() == 3 {
        numeric(n[2]).abs().max(1.0)
    } else {
        1.0
    };
    let reverse = y < x;
    if reverse {
        incr = -incr;
    }
    let pad = n.iter().any(|e| is_padded(e));
    let mut length = 0;
    let mut i = x;
    while (if reverse { i >= y } else { i <= y }) && out.len() < EXPANSION_MAX {
        let c = if alpha {
            let ch = char::from_u32((i as i64 as u32) & 0xFFFF).unwrap_or('\u{FFFD}');
            if ch == '\\' {
                String::new()
            } else {
                ch.to_string()
            }
        } else {
            let mut c = js_number(i);
            if pad {
                let need = width as isize - js_len(&c) as isize;
                if need > 0 {
                    let z = "0".repeat(need as usize);
                    c = if i < 0.0 {
                        format!("-{z}{}", &c[1..])
                    } else {
                        format!("{z}{c}")
                    };
                }
            }
            c
        };
        let l = js_len(&c);
        if length + l > EXPANSION_MAX_LENGTH {
            break;
        }
        out.push(c);
        length += l;
        let next = i + incr;
        if next == i {
            // Precision is exhausted; JavaScript would repeat `i` until
            // `max` is reached.
            while out.len() < EXPANSION_MAX && length + l <= EXPANSION_MAX_LENGTH {
                out.push(out[out.len() - 1].clone());
                length += l;
            }
            break;
        }
        i = next;
    }
    out
}

/// brace-expansion's `combine`.
fn combine(acc: &[String], pre: &str, values: &[String], drop_empties: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut length = 0;
    for a in acc {
        for v in values {
            if out.len() >= EXPANSION_MAX {
                return out;
            }
            let expansion = format!("{a}{pre}{v}");
            if drop_empties && expansion.is_empty() {
                continue;
            }
            let l = js_len(&expansion);
            if length + l > EXPANSION_MAX_LENGTH {
                return out;
            }
            out.push(expansion);
            length += l;
        }
    }
    out
}

/// brace-expansion's `expand_`.
fn expand_inner(mut s: String, mut is_top: bool, depth: usize) -> Result<Vec<String>, RuleError> {
    if depth > MAX_BRACE_NESTING {
        return Err(RuleError::new("Maximum call stack size exceeded"));
    }
    let empty = [String::new()];
    let mut acc = vec![String::new()];
    let mut drop_empties = false;
    let mut first_group = true;
    loop {
        let Some(m) = balanced(&s) else {
            return Ok(combine(&acc, &s, &empty, drop_empties));
        };
        let Balanced { pre, body, post } = m;
        if pre.ends_with('$') {
            let lit = format!("{pre}{{{body}}}");
            acc = combine(&acc, &lit, &empty, drop_empties && post.is_empty());
            first_group = false;
            if post.is_empty() {
                break;
            }
            s = post;
            continue;
        }
        let numeric_seq = is_numeric_sequence(&body);
        let alpha_seq = is_alpha_sequence(&body);
        let is_sequence = numeric_seq || alpha_seq;
        let is_options = body.contains(',');
        if !is_sequence && !is_options {
            if has_comma_then_close(&post) {
                s = format!("{pre}{{{body}{ESC_CLOSE}{post}");
                is_top = true;
                continue;
            }
            let lit = format!("{pre}{{{body}}}{post}");
            return Ok(combine(&acc, &lit, &empty, drop_empties));
        }
        if first_group {
            drop_empties = is_top && !is_sequence;
            first_group = false;
        }
        let values: Vec<String> = if is_sequence {
            expand_sequence(&body, alpha_seq)
        } else {
            let mut n = parse_comma_parts(&body);
            if n.len() == 1 {
                n = expand_inner(n.remove(0), false, depth + 1)?
                    .into_iter()
                    .map(|e| format!("{{{e}}}"))
                    .collect();
                if n.len() == 1 {
                    let lit = format!("{pre}{}", n[0]);
                    acc = combine(&acc, &lit, &empty, drop_empties && post.is_empty());
                    if post.is_empty() {
                        break;
                    }
                    s = post;
                    continue;
                }
            }
            let drops_empties = drop_empties
                && post.is_empty()
                && pre.is_empty()
                && acc.iter().all(String::is_empty);
            let mut values = Vec::new();
            let mut values_length = 0;
            'outer: for part in n {
                for v in expand_inner(part, false, depth + 1)? {
                    if drops_empties && v.is_empty() {
                        continue;
                    }
                    let l = js_len(&v);
                    if values.len() >= EXPANSION_MAX || values_length + l > EXPANSION_MAX_LENGTH {
                        break 'outer;
                    }
                    values.push(v);
                    values_length += l;
                }
            }
            values
        };
        acc = combine(&acc, &pre, &values, drop_empties && post.is_empty());
        if post.is_empty() {
            break;
        }
        s = post;
    }
    Ok(acc)
}

// ---------------------------------------------------------------------------
// Segment compilation (Minimatch.prototype.parse + AST.toMMPattern)
// ---------------------------------------------------------------------------

/// One compiled path part of a pattern (`string | RegExp | GLOBSTAR`).
#[derive(Debug, Clone)]
enum Segment {
    Globstar,
    Literal(JsStr),
    /// An ASCII literal matched without regard to ASCII case.
    CaselessAscii(String),
    Regex {
        fast: Option<FastTest>,
        re: JsRegex,
        /// Literal ASCII text (lower-cased) every match starts and ends with;
        /// a cheap necessary condition checked before the expression.
        affixes: Option<(String, String)>,
    },
}

impl Segment {
    fn test(&self, f: &str) -> bool {
        match self {
            Segment::Globstar => false,
            Segment::Literal(l) => f.encode_utf16().eq(l.iter().copied()),
            Segment::CaselessAscii(l) => f.len() == l.len() && f.eq_ignore_ascii_case(l),
            Segment::Regex {
                affixes: Some((pre, suf)),
                ..
            } if !has_affixes(f, pre, suf) => false,
            Segment::Regex {
                fast: Some(fast), ..
            } => fast.test(f),
            Segment::Regex { re, .. } => re.test(f),
        }
    }
}

/// minimatch's fast `test` replacements, in their `nocase` + `dot` flavours.
#[derive(Debug, Clone)]
enum FastTest {
    /// `^\*+$`
    Star,
    /// `^\*+([^+@!?*[(]*)$`, holding the lower-cased extension.
    StarDotExt(String),
    /// `^\?+([^+@!?*[(]*)?$`, holding the whole pattern's UTF-16 length and
    /// the lower-cased extension.
    Qmarks(usize, String),
    /// `^\*+\.\*+$`
    StarDotStar,
    /// `^\.\*+$`
    DotStar,
}

impl FastTest {
    fn detect(p: &str) -> Option<FastTest> {
        let excluded = |c: char| matches!(c, '+' | '@' | '!' | '?' | '*' | '[' | '(');
        if !p.is_empty() && p.chars().all(|c| c == '*') {
            return Some(FastTest::Star);
        }
        if p.starts_with('*') {
            let rest = p.trim_start_matches('*');
            if !rest.chars().any(excluded) {
                return Some(FastTest::StarDotExt(rest.to_lowercase()));
            }
        }
        if p.starts_with('?') {
            let rest = p.trim_start_matches('?');
            if !rest.chars().any(excluded) {
                return Some(FastTest::Qmarks(js_len(p), rest.to_lowercase()));
            }
        }
        if let Some((a, b)) = p.split_once('.') {
            let stars = |s: &str| !s.is_empty() && s.chars().all(|c| c == '*');
            if stars(a) && stars(b) {
                return Some(FastTest::StarDotStar);
            }
        }
        if let Some(rest) = p.strip_prefix('.') {
            if !rest.is_empty() && rest.chars().all(|c| c == '*') {
                return Some(FastTest::DotStar);
            }
        }
        None
    }

    fn test(&self, f: &str) -> bool {
        let not_dots = f != "." && f != "..";
        match self {
            FastTest::Star => !f.is_empty() && not_dots,
            FastTest::StarDotExt(ext) => ends_with_lowercased(f, ext),
            FastTest::Qmarks(len, ext) => {
                js_len(f) == *len && not_dots && (ext.is_empty() || ends_with_lowercased(f, ext))
            }
            FastTest::StarDotStar => not_dots && f.contains('.'),
            FastTest::DotStar => not_dots && f.starts_with('.'),
        }
    }
}

/// `f.toLowerCase().endsWith(ext)` for an already lower-cased `ext`,
/// without allocating when both are ASCII.
fn ends_with_lowercased(f: &str, ext: &str) -> bool {
    if f.is_ascii() && ext.is_ascii() {
        f.len() >= ext.len()
            && f.as_bytes()[f.len() - ext.len()..].eq_ignore_ascii_case(ext.as_bytes())
    } else {
        f.to_lowercase().ends_with(ext)
    }
}

/// `Minimatch.prototype.parse(pattern)` for one path part.
fn compile_segment(pattern: &str) -> Result<Segment, RuleError> {
    if js_len(pattern) > MAX_PATTERN_LENGTH {
        return Err(RuleError::new("pattern is too long"));
    }
    if pattern == "**" {
        return Ok(Segment::Globstar);
    }
    if pattern.is_empty() {
        return Ok(Segment::Literal(JsStr::new()));
    }
    let fast = FastTest::detect(pattern);
    let units = js(pattern);
    let mut ast = Ast::from_glob(&units).map_err(RuleError::new)?;
    let glob = String::from_utf16_lossy(&ast.glob_string(ROOT));
    let (re, body, has_magic, uflag) = ast.regexp_source(ROOT, None).map_err(RuleError::new)?;
    let any_magic = has_magic
        || ast.nodes[ROOT].has_magic == Some(true)
        || glob.to_uppercase() != glob.to_lowercase();
    if !any_magic {
        return Ok(Segment::Literal(body));
    }
    // Only `nocase` made this a regular expression: `^literal$` with the
    // non-unicode `i` flag. For an ASCII literal that is exactly ASCII
    // case-insensitive equality, because JavaScript's Canonicalize never maps
    // a non-ASCII unit onto an ASCII one. Compare directly (a hot path).
    if !has_magic
        && ast.nodes[ROOT].has_magic != Some(true)
        && !uflag
        && body.iter().all(|&u| u < 0x80)
    {
        return Ok(Segment::CaselessAscii(String::from_utf16_lossy(&body)));
    }
    let mut src = js("^");
    src.extend(re);
    src.extend(js("$"));
    let re = JsRegex::new(&src, uflag).map_err(|e| {
        RuleError::new(format!(
            "Invalid regular expression: /{}/{}: {}",
            String::from_utf16_lossy(&src),
            if uflag { "iu" } else { "i" },
            e
        ))
    })?;
    let affixes = if uflag {
        None
    } else {
        literal_affixes(pattern)
    };
    Ok(Segment::Regex { fast, re, affixes })
}

/// Characters that may be glob syntax somewhere in a segment. Anything else
/// is a literal; an ASCII literal under the non-unicode `i` flag matches only
/// its ASCII case variants (Canonicalize never maps non-ASCII onto ASCII).
fn is_glob_syntax(c: char) -> bool {
    matches!(
        c,
        '*' | '?' | '[' | ']' | '(' | ')' | '|' | '!' | '+' | '@' | '\\' | '{' | '}'
    )
}

/// The literal ASCII text at the start and the end of a segment's glob, as
/// a necessary condition for a match (lower-cased). `None` when there is none.
fn literal_affixes(glob: &str) -> Option<(String, String)> {
    let literal = |c: &char| c.is_ascii() && !is_glob_syntax(*c);
    let prefix: String = glob.chars().take_while(literal).collect();
    if prefix.len() == glob.len() {
        return None;
    }
    let mut suffix: Vec<char> = glob.chars().rev().take_while(literal).collect();
    suffix.reverse();
    let suffix: String = suffix.into_iter().collect();
    if prefix.is_empty() && suffix.is_empty() {
        return None;
    }
    Some((prefix.to_ascii_lowercase(), suffix.to_ascii_lowercase()))
}

/// Whether `f` starts with `pre` and ends with `suf`, ignoring ASCII case,
/// without the two overlapping (they are separate parts of the expression).
fn has_affixes(f: &str, pre: &str, suf: &str) -> bool {
    let b = f.as_bytes();
    b.len() >= pre.len() + suf.len()
        && b[..pre.len()].eq_ignore_ascii_case(pre.as_bytes())
        && b[b.len() - suf.len()..].eq_ignore_ascii_case(suf.as_bytes())
}

// ---------------------------------------------------------------------------
// The extglob AST (minimatch's ast.js)
// ---------------------------------------------------------------------------

const START_NO_TRAVERSAL: &str = "(?!(?:^|/)\\.\\.?(?:$|/))";
const START_NO_DOT: &str = "(?!\\.)";
const QMARK_RE: &str = "[^/]";
const STAR_RE: &str = "[^/]*?";
const STAR_NO_EMPTY: &str = "[^/]+?";
const RE_SPECIALS: &str = "().*{}+?[]^$\\!";

#[derive(Debug, Clone)]
enum Part {
    S(JsStr),
    N(usize),
}

#[derive(Debug)]
struct AstNode {
    ty: Option<u16>,
    /// Index into `Ast::arrays`; several nodes may share one array, as
    /// `#usurp` makes JavaScript objects share one `#parts` array.
    parts: usize,
    parent: Option<usize>,
    parent_index: usize,
    has_magic: Option<bool>,
    uflag: bool,
    empty_ext: bool,
    to_string: Option<JsStr>,
}

#[derive(Debug)]
struct Ast {
    nodes: Vec<AstNode>,
    arrays: Vec<Vec<Part>>,
    negs: Vec<usize>,
    filled_negs: bool,
    /// `options.dot`
    dot: bool,
}

const ROOT: usize = 0;

fn is_ext_type(c: u16) -> bool {
    matches!(c, BANG | QMARK | PLUS | STAR | AT)
}

fn type_in(c: u16, list: &[u8]) -> bool {
    c < 128 && list.contains(&(c as u8))
}

/// `adoptionMap`
fn adoption_map(parent: u16, child: u16) -> bool {
    let list: &[u8] = match parent {
        BANG => b"@",
        QMARK => b"?@",
        AT => b"@",
        STAR => b"*+?@",
        PLUS => b"+@",
        _ => b"",
    };
    type_in(child, list)
}

/// `adoptionWithSpaceMap`
fn adoption_with_space_map(parent: u16, child: u16) -> bool {
    let list: &[u8] = match parent {
        BANG => b"?",
        AT => b"?",
        PLUS => b"?*",
        _ => b"",
    };
    type_in(child, list)
}

/// `adoptionAnyMap`
fn adoption_any_map(parent: u16, child: u16) -> bool {
    let list: &[u8] = match parent {
        BANG | QMARK | AT => b"?@",
        STAR => b"*+?@",
        PLUS => b"+@?*",
        _ => b"",
    };
    type_in(child, list)
}

/// `usurpMap`
fn usurp_map(parent: u16, child: u16) -> Option<u16> {
    match (parent, child) {
        (BANG, BANG) => Some(AT),
        (QMARK, STAR) | (QMARK, PLUS) => Some(STAR),
        (AT, BANG | QMARK | AT | STAR | PLUS) => Some(child),
        (PLUS, QMARK) | (PLUS, STAR) => Some(STAR),
        _ => None,
    }
}

fn starts_with_at(hay: &[u16], at: usize, needle: &str) -> bool {
    let mut rest = hay.get(at..).unwrap_or_default().iter();
    needle.encode_utf16().all(|n| rest.next() == Some(&n))
}

type Source = (JsStr, JsStr, bool, bool);

impl Ast {
    fn from_glob(pattern: &[u16]) -> Result<Ast, String> {
        let mut ast = Ast {
            nodes: Vec::new(),
            arrays: Vec::new(),
            negs: Vec::new(),
            filled_negs: false,
            dot: true,
        };
        let root = ast.new_node(None, None);
        ast.parse_ast(pattern, root, 0, 0, 0)?;
        Ok(ast)
    }

    fn new_node(&mut self, ty: Option<u16>, parent: Option<usize>) -> usize {
        let parent_index = parent.map_or(0, |p| self.arr(p).len());
        let parts = self.arrays.len();
        self.arrays.push(Vec::new());
        let id = self.nodes.len();
        self.nodes.push(AstNode {
            ty,
            parts,
            parent,
            parent_index,
            has_magic: ty.map(|_| true),
            uflag: false,
            empty_ext: false,
            to_string: None,
        });
        if ty == Some(BANG) && !self.filled_negs {
            self.negs.push(id);
        }
        id
    }

    fn arr(&self, id: usize) -> &Vec<Part> {
        &self.arrays[self.nodes[id].parts]
    }

    fn arr_mut(&mut self, id: usize) -> &mut Vec<Part> {
        let a = self.nodes[id].parts;
        &mut self.arrays[a]
    }

    fn push(&mut self, id: usize, p: Part) {
        if let Part::S(s) = &p {
            if s.is_empty() {
                return;
            }
        }
        self.arr_mut(id).push(p);
    }

    fn glob_string(&mut self, id: usize) -> JsStr {
        if let Some(s) = &self.nodes[id].to_string {
            return s.clone();
        }
        let parts = self.arr(id).clone();
        let mut pieces = Vec::with_capacity(parts.len());
        for p in parts {
            pieces.push(match p {
                Part::S(s) => s,
                Part::N(n) => self.glob_string(n),
            });
        }
        let s = match self.nodes[id].ty {
            None => pieces.concat(),
            Some(t) => {
                let mut s = vec![t, OPEN_PAREN];
                s.extend(pieces.join(&PIPE));
                s.push(CLOSE_PAREN);
                s
            }
        };
        self.nodes[id].to_string = Some(s.clone());
        s
    }

    fn fill_negs(&mut self) -> Result<(), String> {
        if self.filled_negs {
            return Ok(());
        }
        self.glob_string(ROOT);
        self.filled_negs = true;
        while let Some(n) = self.negs.pop() {
            if self.nodes[n].ty != Some(BANG) {
                continue;
            }
            let mut p = n;
            let mut pp = self.nodes[p].parent;
            while let Some(ppi) = pp {
                let mut i = self.nodes[p].parent_index + 1;
                while self.nodes[ppi].ty.is_none() && i < self.arr(ppi).len() {
                    let n_parts = self.arr(n).clone();
                    for part in n_parts {
                        match part {
                            Part::S(_) => return Err("string part in extglob AST??".to_string()),
                            Part::N(pn) => {
                                let src = self.arr(ppi)[i].clone();
                                self.copy_in(pn, src);
                            }
                        }
                    }
                    i += 1;
                }
                p = ppi;
                pp = self.nodes[ppi].parent;
            }
        }
        Ok(())
    }

    fn is_start(&self, id: usize) -> bool {
        if id == ROOT {
            return true;
        }
        let Some(parent) = self.nodes[id].parent else {
            return false;
        };
        if !self.is_start(parent) {
            return false;
        }
        let pi = self.nodes[id].parent_index;
        if pi == 0 {
            return true;
        }
        let pa = self.arr(parent);
        (0..pi).all(|i| matches!(pa.get(i), Some(Part::N(x)) if self.nodes[*x].ty == Some(BANG)))
    }

    fn is_end(&self, id: usize) -> bool {
        if id == ROOT {
            return true;
        }
        let Some(parent) = self.nodes[id].parent else {
            return false;
        };
        if self.nodes[parent].ty == Some(BANG) {
            return true;
        }
        if !self.is_end(parent) {
            return false;
        }
        if self.nodes[id].ty.is_none() {
            return true;
        }
        self.nodes[id].parent_index + 1 == self.arr(parent).len()
    }

    fn copy_in(&mut self, this: usize, part: Part) {
        match part {
            Part::S(s) => self.push(this, Part::S(s)),
            Part::N(n) => {
                let c = self.clone_node(n, this);
                self.push(this, Part::N(c));
            }
        }
    }

    fn clone_node(&mut self, n: usize, parent: usize) -> usize {
        let c = self.new_node(self.nodes[n].ty, Some(parent));
        let parts = self.arr(n).clone();
        for p in parts {
            self.copy_in(c, p);
        }
        c
    }

    /// `AST.#parseAST`
    fn parse_ast(
        &mut self,
        s: &[u16],
        ast: usize,
        pos: usize,
        ext_depth: usize,
        nesting: usize,
    ) -> Result<usize, String> {
        if nesting > MAX_EXTGLOB_NESTING {
            return Err("Maximum call stack size exceeded".to_string());
        }
        const MAX_DEPTH: usize = 2;
        let mut escaping = false;
        let mut in_brace = false;
        let mut brace_start = 0usize;
        let mut brace_neg = false;
        if self.nodes[ast].ty.is_none() {
            let mut i = pos;
            let mut acc = JsStr::new();
            while i < s.len() {
                let c = s[i];
                i += 1;
                if escaping || c == BACKSLASH {
                    escaping = !escaping;
                    acc.push(c);
                    continue;
                }
                if in_brace {
                    if i == brace_start + 1 {
                        if c == CARET || c == BANG {
                            brace_neg = true;
                        }
                    } else if c == CLOSE_BRACKET && !(i == brace_start + 2 && brace_neg) {
                        in_brace = false;
                    }
                    acc.push(c);
                    continue;
                } else if c == OPEN_BRACKET {
                    in_brace = true;
                    brace_start = i;
                    brace_neg = false;
                    acc.push(c);
                    continue;
                }
                if is_ext_type(c) && s.get(i) == Some(&OPEN_PAREN) && ext_depth <= MAX_DEPTH {
                    self.push(ast, Part::S(std::mem::take(&mut acc)));
                    let ext = self.new_node(Some(c), Some(ast));
                    i = self.parse_ast(s, ext, i, ext_depth + 1, nesting + 1)?;
                    self.push(ast, Part::N(ext));
                    continue;
                }
                acc.push(c);
            }
            self.push(ast, Part::S(acc));
            return Ok(i);
        }

        // some kind of extglob, pos is at the (
        let ty = self.nodes[ast].ty.unwrap_or(AT);
        let mut i = pos + 1;
        let mut part = self.new_node(None, Some(ast));
        let mut parts: Vec<usize> = Vec::new();
        let mut acc = JsStr::new();
        while i < s.len() {
            let c = s[i];
            i += 1;
            if escaping || c == BACKSLASH {
                escaping = !escaping;
                acc.push(c);
                continue;
            }
            if in_brace {
                if i == brace_start + 1 {
                    if c == CARET || c == BANG {
                        brace_neg = true;
                    }
                } else if c == CLOSE_BRACKET && !(i == brace_start + 2 && brace_neg) {
                    in_brace = false;
                }
                acc.push(c);
                continue;
            } else if c == OPEN_BRACKET {
                in_brace = true;
                brace_start = i;
                brace_neg = false;
                acc.push(c);
                continue;
            }
            let can_adopt = is_ext_type(c) && adoption_any_map(ty, c);
            if is_ext_type(c)
                && s.get(i) == Some(&OPEN_PAREN)
                && (ext_depth <= MAX_DEPTH || can_adopt)
            {
                let depth_add = if can_adopt { 0 } else { 1 };
                self.push(part, Part::S(std::mem::take(&mut acc)));
                let ext = self.new_node(Some(c), Some(part));
                self.push(part, Part::N(ext));
                i = self.parse_ast(s, ext, i, ext_depth + depth_add, nesting + 1)?;
                continue;
            }
            if c == PIPE {
                self.push(part, Part::S(std::mem::take(&mut acc)));
                parts.push(part);
                part = self.new_node(None, Some(ast));
                continue;
            }
            if c == CLOSE_PAREN {
                if acc.is_empty() && self.arr(ast).is_empty() {
                    self.nodes[ast].empty_ext = true;
                }
                self.push(part, Part::S(std::mem::take(&mut acc)));
                for p in parts {
                    self.push(ast, Part::N(p));
                }
                self.push(ast, Part::N(part));
                return Ok(i);
            }
            acc.push(c);
        }
        // unfinished extglob: not an extglob after all
        self.nodes[ast].ty = None;
        self.nodes[ast].has_magic = None;
        let arr = self.arrays.len();
        self.arrays.push(vec![Part::S(s[pos - 1..].to_vec())]);
        self.nodes[ast].parts = arr;
        Ok(i)
    }

    fn can_adopt(&self, this: usize, child: usize, map: fn(u16, u16) -> bool) -> bool {
        let Some(t) = self.nodes[this].ty else {
            return false;
        };
        if self.nodes[child].ty.is_some() || self.arr(child).len() != 1 {
            return false;
        }
        let Part::N(gc) = self.arr(child)[0] else {
            return false;
        };
        match self.nodes[gc].ty {
            Some(gt) => map(t, gt),
            None => false,
        }
    }

    fn adopt(&mut self, this: usize, child: usize, index: usize) {
        let Part::N(gc) = self.arr(child)[0] else {
            return;
        };
        let gparts = self.arr(gc).clone();
        self.arr_mut(this)
            .splice(index..index + 1, gparts.iter().cloned());
        for p in &gparts {
            if let Part::N(n) = p {
                self.nodes[*n].parent = Some(this);
            }
        }
        self.nodes[this].to_string = None;
    }

    fn adopt_with_space(&mut self, this: usize, child: usize, index: usize) {
        let Part::N(gc) = self.arr(child)[0] else {
            return;
        };
        let blank = self.new_node(None, Some(gc));
        self.arr_mut(blank).push(Part::S(JsStr::new()));
        self.push(gc, Part::N(blank));
        self.adopt(this, child, index);
    }

    fn can_usurp(&self, this: usize, child: usize) -> bool {
        let Some(t) = self.nodes[this].ty else {
            return false;
        };
        if self.nodes[child].ty.is_some() || self.arr(child).len() != 1 || self.arr(this).len() != 1
        {
            return false;
        }
        let Part::N(gc) = self.arr(child)[0] else {
            return false;
        };
        match self.nodes[gc].ty {
            Some(gt) => usurp_map(t, gt).is_some(),
            None => false,
        }
    }

    fn usurp(&mut self, this: usize, child: usize) {
        let Part::N(gc) = self.arr(child)[0] else {
            return;
        };
        let (Some(t), Some(gt)) = (self.nodes[this].ty, self.nodes[gc].ty) else {
            return;
        };
        let Some(nt) = usurp_map(t, gt) else {
            return;
        };
        // share the array, as `this.#parts = gc.#parts` does
        self.nodes[this].parts = self.nodes[gc].parts;
        for p in self.arr(this).clone() {
            if let Part::N(n) = p {
                self.nodes[n].parent = Some(this);
            }
        }
        self.nodes[this].ty = Some(nt);
        self.nodes[this].to_string = None;
        self.nodes[this].empty_ext = false;
    }

    fn flatten(&mut self, id: usize) {
        if self.nodes[id].ty.is_none() {
            for p in self.arr(id).clone() {
                if let Part::N(n) = p {
                    self.flatten(n);
                }
            }
        } else {
            let mut iterations = 0;
            loop {
                let mut done = true;
                let mut i = 0;
                while i < self.arr(id).len() {
                    if let Part::N(c) = self.arr(id)[i] {
                        self.flatten(c);
                        if self.can_adopt(id, c, adoption_map) {
                            done = false;
                            self.adopt(id, c, i);
                        } else if self.can_adopt(id, c, adoption_with_space_map) {
                            done = false;
                            self.adopt_with_space(id, c, i);
                        } else if self.can_usurp(id, c) {
                            done = false;
                            self.usurp(id, c);
                        }
                    }
                    i += 1;
                }
                iterations += 1;
                if done || iterations >= 10 {
                    break;
                }
            }
        }
        self.nodes[id].to_string = None;
    }

    /// `AST.prototype.toRegExpSource(allowDot)`: `[re, body, hasMagic, uflag]`.
    fn regexp_source(&mut self, id: usize, allow_dot: Option<bool>) -> Result<Source, String> {
        let dot = allow_dot.unwrap_or(self.dot);
        if id == ROOT {
            self.flatten(ROOT);
            self.fill_negs()?;
        }
        let Some(ty) = self.nodes[id].ty else {
            let no_empty = self.is_start(id)
                && self.is_end(id)
                && !self.arr(id).iter().any(|p| matches!(p, Part::N(_)));
            let mut src = JsStr::new();
            for p in self.arr(id).clone() {
                let (re, _, hm, uf) = match p {
                    Part::S(s) => parse_glob(&s, self.nodes[id].has_magic, no_empty),
                    Part::N(n) => self.regexp_source(n, allow_dot)?,
                };
                let node = &mut self.nodes[id];
                node.has_magic = Some(node.has_magic == Some(true) || hm);
                node.uflag = node.uflag || uf;
                src.extend(re);
            }
            let mut start = "";
            if self.is_start(id) {
                if let Some(Part::S(first)) = self.arr(id).first() {
                    let dot_trav_allowed =
                        self.arr(id).len() == 1 && (*first == js(".") || *first == js(".."));
                    if !dot_trav_allowed {
                        let aps = |c: Option<&u16>| matches!(c, Some(&OPEN_BRACKET) | Some(&DOT));
                        let need_no_trav = (dot && aps(src.first()))
                            || (src.starts_with(&js("\\.")) && aps(src.get(2)))
                            || (src.starts_with(&js("\\.\\.")) && aps(src.get(4)));
                        let need_no_dot = !dot && !allow_dot.unwrap_or(false) && aps(src.first());
                        start = if need_no_trav {
                            START_NO_TRAVERSAL
                        } else if need_no_dot {
                            START_NO_DOT
                        } else {
                            ""
                        };
                    }
                }
            }
            let parent_is_bang = self.nodes[id]
                .parent
                .is_some_and(|p| self.nodes[p].ty == Some(BANG));
            let end = if self.is_end(id) && self.filled_negs && parent_is_bang {
                "(?:$|\\/)"
            } else {
                ""
            };
            let mut fin = js(start);
            fin.extend(&src);
            fin.extend(js(end));
            let hm = self.nodes[id].has_magic == Some(true);
            self.nodes[id].has_magic = Some(hm);
            return Ok((fin, unescape(&src), hm, self.nodes[id].uflag));
        };

        let repeated = ty == STAR || ty == PLUS;
        let start = if ty == BANG { "(?:(?!(?:" } else { "(?:" };
        let mut body = self.parts_to_regexp(id, dot)?;
        if self.is_start(id) && self.is_end(id) && body.is_empty() && ty != BANG {
            // invalid extglob: the whole path portion, yet it matches nothing
            let s = self.glob_string(id);
            let arr = self.arrays.len();
            self.arrays.push(vec![Part::S(s.clone())]);
            self.nodes[id].parts = arr;
            self.nodes[id].ty = None;
            self.nodes[id].has_magic = None;
            let again = self.glob_string(id);
            return Ok((s, unescape(&again), false, false));
        }
        let mut body_dot_allowed = if !repeated || allow_dot == Some(true) || dot {
            JsStr::new()
        } else {
            self.parts_to_regexp(id, true)?
        };
        if body_dot_allowed == body {
            body_dot_allowed.clear();
        }
        if !body_dot_allowed.is_empty() {
            let mut b = js("(?:");
            b.extend(&body);
            b.extend(js(")(?:"));
            b.extend(&body_dot_allowed);
            b.extend(js(")*?"));
            body = b;
        }
        let fin = if ty == BANG && self.nodes[id].empty_ext {
            let mut f = if self.is_start(id) && !dot {
                js(START_NO_DOT)
            } else {
                JsStr::new()
            };
            f.extend(js(STAR_NO_EMPTY));
            f
        } else {
            let close = if ty == BANG {
                let mut c = js("))");
                if self.is_start(id) && !dot && !allow_dot.unwrap_or(false) {
                    c.extend(js(START_NO_DOT));
                }
                c.extend(js(STAR_RE));
                c.extend(js(")"));
                c
            } else if ty == AT {
                js(")")
            } else if ty == QMARK {
                js(")?")
            } else if ty == PLUS && !body_dot_allowed.is_empty() {
                js(")")
            } else if ty == STAR && !body_dot_allowed.is_empty() {
                js(")?")
            } else {
                vec![CLOSE_PAREN, ty]
            };
            let mut f = js(start);
            f.extend(&body);
            f.extend(close);
            f
        };
        let hm = self.nodes[id].has_magic == Some(true);
        self.nodes[id].has_magic = Some(hm);
        Ok((fin, unescape(&body), hm, self.nodes[id].uflag))
    }

    fn parts_to_regexp(&mut self, id: usize, dot: bool) -> Result<JsStr, String> {
        let mut res = Vec::new();
        for p in self.arr(id).clone() {
            let Part::N(n) = p else {
                return Err("string type in extglob ast??".to_string());
            };
            let (re, _, _, uf) = self.regexp_source(n, Some(dot))?;
            self.nodes[id].uflag = self.nodes[id].uflag || uf;
            res.push(re);
        }
        let start_and_end = self.is_start(id) && self.is_end(id);
        let kept: Vec<JsStr> = res
            .into_iter()
            .filter(|p| !start_and_end || !p.is_empty())
            .collect();
        Ok(kept.join(&PIPE))
    }
}

/// `regExpEscape` for one code unit.
fn regexp_escape_push(out: &mut JsStr, c: u16) {
    if type_in(c, b"-[]{}()*+?.,\\^$|#") || is_js_space_unit(c) {
        out.push(BACKSLASH);
    }
    out.push(c);
}

/// `AST.#parseGlob`: `[re, hasMagic, uflag]` (the unused body is skipped).
fn parse_glob(glob: &[u16], has_magic: Option<bool>, no_empty: bool) -> Source {
    let mut escaping = false;
    let mut re = JsStr::new();
    let mut uflag = false;
    let mut in_star = false;
    let mut has_magic = has_magic == Some(true);
    let all_stars = !glob.is_empty() && glob.iter().all(|&c| c == STAR);
    let mut i = 0;
    while i < glob.len() {
        let c = glob[i];
        if escaping {
            escaping = false;
            if type_in(c, RE_SPECIALS.as_bytes()) {
                re.push(BACKSLASH);
            }
            re.push(c);
            i += 1;
            continue;
        }
        if c == STAR {
            if !in_star {
                in_star = true;
                re.extend(js(if no_empty && all_stars {
                    STAR_NO_EMPTY
                } else {
                    STAR_RE
                }));
                has_magic = true;
            }
            i += 1;
            continue;
        }
        in_star = false;
        if c == BACKSLASH {
            if i == glob.len() - 1 {
                re.extend(js("\\\\"));
            } else {
                escaping = true;
            }
            i += 1;
            continue;
        }
        if c == OPEN_BRACKET {
            let (src, need_uflag, consumed, magic) = parse_class(glob, i);
            if consumed > 0 {
                re.extend(src);
                uflag = uflag || need_uflag;
                i += consumed;
                has_magic = has_magic || magic;
                continue;
            }
        }
        if c == QMARK {
            re.extend(js(QMARK_RE));
            has_magic = true;
            i += 1;
            continue;
        }
        regexp_escape_push(&mut re, c);
        i += 1;
    }
    (re, JsStr::new(), has_magic, uflag)
}

/// brace-expressions.js `posixClasses`: name, translation, needs `u`, negated.
const POSIX_CLASSES: [(&str, &str, bool, bool); 14] = [
    ("[:alnum:]", "\\p{L}\\p{Nl}\\p{Nd}", true, false),
    ("[:alpha:]", "\\p{L}\\p{Nl}", true, false),
    ("[:ascii:]", "\\x00-\\x7f", false, false),
    ("[:blank:]", "\\p{Zs}\\t", true, false),
    ("[:cntrl:]", "\\p{Cc}", true, false),
    ("[:digit:]", "\\p{Nd}", true, false),
    ("[:graph:]", "\\p{Z}\\p{C}", true, true),
    ("[:lower:]", "\\p{Ll}", true, false),
    ("[:print:]", "\\p{C}", true, false),
    ("[:punct:]", "\\p{P}", true, false),
    ("[:space:]", "\\p{Z}\\t\\r\\n\\v\\f", true, false),
    ("[:upper:]", "\\p{Lu}", true, false),
    ("[:word:]", "\\p{L}\\p{Nl}\\p{Nd}\\p{Pc}", true, false),
    ("[:xdigit:]", "A-Fa-f0-9", false, false),
];

fn brace_escape_push(out: &mut JsStr, c: u16) {
    if type_in(c, b"[]\\-") {
        out.push(BACKSLASH);
    }
    out.push(c);
}

/// brace-expressions.js `parseClass`: `[src, uflag, consumed, hasMagic]`.
fn parse_class(glob: &[u16], pos: usize) -> (JsStr, bool, usize, bool) {
    let mut ranges: Vec<JsStr> = Vec::new();
    let mut negs: Vec<JsStr> = Vec::new();
    let mut i = pos + 1;
    let mut saw_start = false;
    let mut uflag = false;
    let mut escaping = false;
    let mut negate = false;
    let mut end_pos = pos;
    let mut range_start: Option<u16> = None;
    'outer: while i < glob.len() {
        let c = glob[i];
        if (c == BANG || c == CARET) && i == pos + 1 {
            negate = true;
            i += 1;
            continue;
        }
        if c == CLOSE_BRACKET && saw_start && !escaping {
            end_pos = i + 1;
            break;
        }
        saw_start = true;
        if c == BACKSLASH && !escaping {
            escaping = true;
            i += 1;
            continue;
        }
        if c == OPEN_BRACKET && !escaping {
            for (cls, unip, u, neg) in POSIX_CLASSES {
                if starts_with_at(glob, i, cls) {
                    if range_start.is_some() {
                        return (js("$."), false, glob.len() - pos, true);
                    }
                    i += cls.len();
                    if neg {
                        negs.push(js(unip));
                    } else {
                        ranges.push(js(unip));
                    }
                    uflag = uflag || u;
                    continue 'outer;
                }
            }
        }
        escaping = false;
        if let Some(rs) = range_start {
            if c > rs {
                let mut r = JsStr::new();
                brace_escape_push(&mut r, rs);
                r.push(DASH);
                brace_escape_push(&mut r, c);
                ranges.push(r);
            } else if c == rs {
                let mut r = JsStr::new();
                brace_escape_push(&mut r, c);
                ranges.push(r);
            }
            range_start = None;
            i += 1;
            continue;
        }
        if starts_with_at(glob, i + 1, "-]") {
            let mut r = JsStr::new();
            brace_escape_push(&mut r, c);
            brace_escape_push(&mut r, DASH);
            ranges.push(r);
            i += 2;
            continue;
        }
        if starts_with_at(glob, i + 1, "-") {
            range_start = Some(c);
            i += 2;
            continue;
        }
        let mut r = JsStr::new();
        brace_escape_push(&mut r, c);
        ranges.push(r);
        i += 1;
    }
    if end_pos < i {
        return (JsStr::new(), false, 0, false);
    }
    if ranges.is_empty() && negs.is_empty() {
        return (js("$."), false, glob.len() - pos, true);
    }
    // /^\\?.$/
    let single = |r: &JsStr| match r.as_slice() {
        [c] => !is_line_terminator(u32::from(*c)),
        [BACKSLASH, c] => !is_line_terminator(u32::from(*c)),
        _ => false,
    };
    if negs.is_empty() && ranges.len() == 1 && single(&ranges[0]) && !negate {
        let r = &ranges[0];
        let c = r[r.len() - 1];
        let mut out = JsStr::new();
        regexp_escape_push(&mut out, c);
        return (out, false, end_pos - pos, false);
    }
    let mut sranges = vec![OPEN_BRACKET];
    if negate {
        sranges.push(CARET);
    }
    sranges.extend(ranges.concat());
    sranges.push(CLOSE_BRACKET);
    let mut snegs = vec![OPEN_BRACKET];
    if !negate {
        snegs.push(CARET);
    }
    snegs.extend(negs.concat());
    snegs.push(CLOSE_BRACKET);
    let comb = if !ranges.is_empty() && !negs.is_empty() {
        let mut c = vec![OPEN_PAREN];
        c.extend(sranges);
        c.push(PIPE);
        c.extend(snegs);
        c.push(CLOSE_PAREN);
        c
    } else if !ranges.is_empty() {
        sranges
    } else {
        snegs
    };
    (comb, uflag, end_pos - pos, true)
}

/// minimatch's `unescape` with default options:
/// `s.replace(/((?!\\).|^)\[([^/\\])\]/g, '$1$2').replace(/\\([^/])/g, '$1')`.
fn unescape(s: &[u16]) -> JsStr {
    let n = s.len();
    let mut a = JsStr::with_capacity(n);
    let mut p = 0;
    let plain = |c: u16| c != SLASH && c != BACKSLASH;
    while p < n {
        if s[p] != BACKSLASH
            && !is_line_terminator(u32::from(s[p]))
            && p + 3 < n
            && s[p + 1] == OPEN_BRACKET
            && plain(s[p + 2])
            && s[p + 3] == CLOSE_BRACKET
        {
            a.push(s[p]);
            a.push(s[p + 2]);
            p += 4;
            continue;
        }
        if p == 0 && n >= 3 && s[0] == OPEN_BRACKET && plain(s[1]) && s[2] == CLOSE_BRACKET {
            a.push(s[1]);
            p = 3;
            continue;
        }
        a.push(s[p]);
        p += 1;
    }
    let mut b = JsStr::with_capacity(a.len());
    let mut p = 0;
    while p < a.len() {
        if a[p] == BACKSLASH && p + 1 < a.len() && a[p + 1] != SLASH {
            b.push(a[p + 1]);
            p += 2;
        } else {
            b.push(a[p]);
            p += 1;
        }
    }
    b
}

// ---------------------------------------------------------------------------
// Matching (Minimatch.prototype.matchOne, #matchGlobstar, #matchOne)
// ---------------------------------------------------------------------------

fn match_one(file: &[&str], pattern: &[Segment], partial: bool) -> bool {
    if pattern.iter().any(|p| matches!(p, Segment::Globstar)) {
        // Outside partial matching every other segment consumes one path
        // part, so a plain literal one (`.git` in `**/.git/**`) must equal
        // some part: a cheap test that rejects most paths.
        if !partial
            && pattern.iter().any(|seg| {
                matches!(seg, Segment::CaselessAscii(_)) && !file.iter().any(|f| seg.test(f))
            })
        {
            return false;
        }
        return match_globstar(file, pattern, partial, 0, 0);
    }
    // Outcomes `#matchOne` reaches anyway, decided before testing any part:
    // a shorter path only matches partially, a longer one only with a single
    // trailing empty part. Then the last part first: it rejects most paths.
    let (fl, pl) = (file.len(), pattern.len());
    if fl < pl && !partial {
        return false;
    }
    if fl > pl && !(fl == pl + 1 && file[pl].is_empty()) {
        return false;
    }
    if fl >= pl && pl > 0 && !pattern[pl - 1].test(file[pl - 1]) {
        return false;
    }
    match_parts(file, pattern, partial, 0, 0)
}

/// `#matchOne`
fn match_parts(
    file: &[&str],
    pattern: &[Segment],
    partial: bool,
    file_index: usize,
    pattern_index: usize,
) -> bool {
    let (fl, pl) = (file.len(), pattern.len());
    let (mut fi, mut pi) = (file_index, pattern_index);
    while fi < fl && pi < pl {
        let p = &pattern[pi];
        if matches!(p, Segment::Globstar) || !p.test(file[fi]) {
            return false;
        }
        fi += 1;
        pi += 1;
    }
    if fi == fl && pi == pl {
        true
    } else if fi == fl {
        partial
    } else if pi == pl {
        fi + 1 == fl && file[fi].is_empty()
    } else {
        // JavaScript throws 'wtf?' here; it cannot be reached.
        false
    }
}

/// `#matchGlobstar`
fn match_globstar(
    file: &[&str],
    pattern: &[Segment],
    partial: bool,
    mut file_index: usize,
    pattern_index: usize,
) -> bool {
    let is_gs = |p: &Segment| matches!(p, Segment::Globstar);
    let Some(firstgs) = pattern[pattern_index..]
        .iter()
        .position(is_gs)
        .map(|p| p + pattern_index)
    else {
        return match_parts(file, pattern, partial, file_index, pattern_index);
    };
    let lastgs = pattern.iter().rposition(is_gs).unwrap_or(firstgs);
    let head = &pattern[pattern_index..firstgs];
    let (body, tail): (&[Segment], &[Segment]) = if partial {
        (&pattern[firstgs + 1..], &[])
    } else if firstgs < lastgs {
        (&pattern[firstgs + 1..lastgs], &pattern[lastgs + 1..])
    } else {
        (&[], &pattern[lastgs + 1..])
    };

    if !head.is_empty() {
        let from = file_index.min(file.len());
        let to = (file_index + head.len()).min(file.len());
        if !match_parts(&file[from..to], head, partial, 0, 0) {
            return false;
        }
        file_index += head.len();
    }

    let mut file_tail_match = 0;
    if !tail.is_empty() {
        if tail.len() + file_index > file.len() {
            return false;
        }
        let tail_start = file.len() - tail.len();
        if match_parts(file, tail, partial, tail_start, 0) {
            file_tail_match = tail.len();
        } else {
            if file.last() != Some(&"") || file_index + tail.len() == file.len() {
                return false;
            }
            if !match_parts(file, tail, partial, tail_start - 1, 0) {
                return false;
            }
            file_tail_match = tail.len() + 1;
        }
    }

    if body.is_empty() {
        let mut saw_some = file_tail_match != 0;
        let end = file.len().saturating_sub(file_tail_match);
        for f in file.iter().take(end).skip(file_index) {
            saw_some = true;
            if *f == "." || *f == ".." {
                return false;
            }
        }
        return partial || saw_some;
    }

    // [start, end) of each globstar-delimited body section, and the last
    // file index at which it may start
    let mut segments: smallvec::SmallVec<[(usize, usize, isize); 4]> =
        smallvec::smallvec![(0, 0, 0)];
    let mut sums: smallvec::SmallVec<[usize; 4]> = smallvec::smallvec![0];
    let mut non_gs = 0;
    for (k, b) in body.iter().enumerate() {
        if is_gs(b) {
            sums.push(non_gs);
            segments.push((k + 1, k + 1, 0));
        } else if let Some(last) = segments.last_mut() {
            last.1 = k + 1;
            non_gs += 1;
        }
    }
    let file_length = file.len() as isize - file_tail_match as isize;
    let count = segments.len();
    for (j, seg) in segments.iter_mut().enumerate() {
        // minimatch indexes the sums from the far end (`nonGsPartsSums[i--]`)
        seg.2 = file_length - (sums[count - 1 - j] + (seg.1 - seg.0)) as isize;
    }
    match_body_sections(
        file,
        body,
        &segments,
        file_index,
        0,
        partial,
        0,
        file_tail_match != 0,
    ) == Tri::True
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    True,
    False,
    /// "not matching, cannot keep trying"
    Null,
}

/// `#matchGlobStarBodySections`
#[allow(clippy::too_many_arguments)]
fn match_body_sections(
    file: &[&str],
    body: &[Segment],
    segments: &[(usize, usize, isize)],
    mut file_index: usize,
    body_index: usize,
    partial: bool,
    depth: usize,
    mut saw_tail: bool,
) -> Tri {
    let Some(&(start, end, after)) = segments.get(body_index) else {
        for f in file.iter().skip(file_index) {
            saw_tail = true;
            if *f == "." || *f == ".." {
                return Tri::False;
            }
        }
        return if saw_tail { Tri::True } else { Tri::False };
    };
    let section = &body[start..end];
    while file_index as isize <= after {
        let to = (file_index + section.len()).min(file.len());
        let m = match_parts(&file[..to], section, partial, file_index, 0);
        if m && depth < MAX_GLOBSTAR_RECURSION {
            let sub = match_body_sections(
                file,
                body,
                segments,
                file_index + section.len(),
                body_index + 1,
                partial,
                depth + 1,
                saw_tail,
            );
            if sub != Tri::False {
                return sub;
            }
        }
        if let Some(f) = file.get(file_index) {
            if *f == "." || *f == ".." {
                return Tri::False;
            }
        }
        file_index += 1;
    }
    if partial {
        Tri::True
    } else {
        Tri::Null
    }
}

// ---------------------------------------------------------------------------
// A JavaScript regular-expression engine for what minimatch emits
// ---------------------------------------------------------------------------

/// A compiled JavaScript `RegExp` with the `i` flag (and `u` when
/// `unicode`).
#[derive(Debug, Clone)]
struct JsRegex {
    unicode: bool,
    node: ReNode,
}

#[derive(Debug, Clone)]
enum ReNode {
    Seq(Vec<ReNode>),
    Alt(Vec<ReNode>),
    Atom(ReAtom),
    Start,
    End,
    WordBoundary(bool),
    Look {
        negate: bool,
        inner: Box<ReNode>,
    },
    Repeat {
        inner: Box<ReNode>,
        min: u32,
        max: Option<u32>,
    },
}

#[derive(Debug, Clone)]
enum ReAtom {
    /// `.`
    Dot,
    /// A non-unicode, case-insensitive set of code units.
    Units(CanonSet),
    /// A unicode-mode, case-insensitive one-character class matcher.
    Uni(Regex),
    /// A unicode-mode, case-insensitive literal character (simple case
    /// folding, checked with a lazily compiled `regex` for non-ASCII).
    UniChar(u32),
    Nothing,
    Anything,
}

impl ReAtom {
    fn matches(&self, c: u32) -> bool {
        match self {
            ReAtom::Dot => !is_line_terminator(c),
            ReAtom::Units(set) => set.matches(c),
            ReAtom::Uni(re) => char::from_u32(c).is_some_and(|ch| {
                let mut buf = [0u8; 4];
                re.is_match(ch.encode_utf8(&mut buf))
            }),
            ReAtom::UniChar(p) => {
                if c == *p {
                    return true;
                }
                if c < 128 && *p < 128 {
                    return (c as u8).eq_ignore_ascii_case(&(*p as u8));
                }
                match (char::from_u32(c), char::from_u32(*p)) {
                    (Some(ch), Some(_)) => {
                        cached_regex(&format!("(?i)^\\x{{{p:X}}}$")).is_ok_and(|re| {
                            let mut buf = [0u8; 4];
                            re.is_match(ch.encode_utf8(&mut buf))
                        })
                    }
                    _ => false,
                }
            }
            ReAtom::Nothing => false,
            ReAtom::Anything => true,
        }
    }
}

/// Compiles `src` with the `regex` crate, sharing the result between rules
/// (compiling unicode classes such as `\p{L}` case-insensitively is slow).
fn cached_regex(src: &str) -> Result<Regex, regex::Error> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(re) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(src) {
        return Ok(re.clone());
    }
    let re = Regex::new(src)?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(src.to_string(), re.clone());
    Ok(re)
}

/// ECMAScript `Canonicalize` for a non-unicode, case-insensitive pattern.
fn canonicalize(u: u32) -> u16 {
    let Some(ch) = char::from_u32(u) else {
        return u as u16;
    };
    let mut up = ch.to_uppercase();
    let (Some(first), None) = (up.next(), up.next()) else {
        return u as u16;
    };
    let cu = first as u32;
    if cu > 0xFFFF || (u >= 128 && cu < 128) {
        return u as u16;
    }
    cu as u16
}

fn canon_table() -> &'static [u16] {
    static TABLE: OnceLock<Vec<u16>> = OnceLock::new();
    TABLE.get_or_init(|| (0..=0xFFFFu32).map(canonicalize).collect())
}

/// The canonicalised members of a non-unicode character class.
#[derive(Debug, Clone)]
struct CanonSet {
    negate: bool,
    small: Vec<u16>,
    big: Option<Box<[u64]>>,
}

impl CanonSet {
    fn new(ranges: &[(u32, u32)], negate: bool) -> CanonSet {
        let table = canon_table();
        let total: u64 = ranges.iter().map(|&(lo, hi)| u64::from(hi - lo) + 1).sum();
        let members = ranges
            .iter()
            .flat_map(|&(lo, hi)| lo..=hi)
            .filter(|&u| u <= 0xFFFF);
        if total <= 64 {
            let mut small: Vec<u16> = members.map(|u| table[u as usize]).collect();
            small.sort_unstable();
            small.dedup();
            CanonSet {
                negate,
                small,
                big: None,
            }
        } else {
            let mut big = vec![0u64; 1024].into_boxed_slice();
            for u in members {
                let c = table[u as usize] as usize;
                big[c / 64] |= 1 << (c % 64);
            }
            CanonSet {
                negate,
                small: Vec::new(),
                big: Some(big),
            }
        }
    }

    fn matches(&self, unit: u32) -> bool {
        if unit > 0xFFFF {
            return self.negate;
        }
        let c = canon_table()[unit as usize];
        let found = match &self.big {
            Some(big) => big[c as usize / 64] & (1 << (c % 64)) != 0,
            None => self.small.binary_search(&c).is_ok(),
        };
        found != self.negate
    }
}

#[derive(Debug, Clone)]
enum ClassItem {
    Char(u32),
    Range(u32, u32),
    Digit(bool),
    Space(bool),
    Word(bool),
    Prop(bool, String),
}

const DIGIT_RANGES: [(u32, u32); 1] = [(0x30, 0x39)];
const WORD_RANGES: [(u32, u32); 4] = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];

fn complement(ranges: &[(u32, u32)], max: u32) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut next = 0;
    for &(lo, hi) in ranges {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = hi + 1;
    }
    if next <= max {
        out.push((next, max));
    }
    out
}

fn rust_char(out: &mut String, c: u32) {
    out.push_str(&format!("\\x{{{c:X}}}"));
}

fn rust_ranges(out: &mut String, ranges: &[(u32, u32)]) {
    for &(lo, hi) in ranges {
        for (a, b) in [(lo, hi.min(0xD7FF)), (lo.max(0xE000), hi)] {
            if a <= b {
                rust_char(out, a);
                if b > a {
                    out.push('-');
                    rust_char(out, b);
                }
            }
        }
    }
}

struct ReParser {
    s: Vec<u32>,
    i: usize,
    unicode: bool,
    groups: usize,
    depth: usize,
}

type PResult<T> = Result<T, String>;

fn is_syntax_char(c: u32) -> bool {
    c < 128 && b"^$\\.*+?()[]{}|".contains(&(c as u8))
}

fn ch(c: u8) -> Option<u32> {
    Some(u32::from(c))
}

impl JsRegex {
    fn new(src: &[u16], unicode: bool) -> PResult<JsRegex> {
        let s: Vec<u32> = if unicode {
            char::decode_utf16(src.iter().copied())
                .map(|r| match r {
                    Ok(c) => c as u32,
                    Err(e) => u32::from(e.unpaired_surrogate()),
                })
                .collect()
        } else {
            src.iter().map(|&u| u32::from(u)).collect()
        };
        let groups = count_groups(&s);
        let mut p = ReParser {
            s,
            i: 0,
            unicode,
            groups,
            depth: 0,
        };
        let node = p.disjunction()?;
        if p.i < p.s.len() {
            return Err("Unmatched ')'".to_string());
        }
        Ok(JsRegex { unicode, node })
    }

    /// `RegExp.prototype.test(f)`.
    fn test(&self, f: &str) -> bool {
        let input: Vec<u32> = if self.unicode {
            f.chars().map(|c| c as u32).collect()
        } else {
            f.encode_utf16().map(u32::from).collect()
        };
        let starts = vec![true; input.len() + 1];
        run(&self.node, &starts, &input).contains(&true)
    }
}

fn count_groups(s: &[u32]) -> usize {
    let mut n = 0;
    let mut i = 0;
    let mut in_class = false;
    while i < s.len() {
        let c = s[i];
        if c == u32::from(b'\\') {
            i += 2;
            continue;
        }
        if in_class {
            if c == u32::from(b']') {
                in_class = false;
            }
        } else if c == u32::from(b'[') {
            in_class = true;
        } else if c == u32::from(b'(') && s.get(i + 1).copied() != ch(b'?') {
            n += 1;
        }
        i += 1;
    }
    n
}

impl ReParser {
    fn peek(&self) -> Option<u32> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u32> {
        self.s.get(self.i + k).copied()
    }

    fn disjunction(&mut self) -> PResult<ReNode> {
        self.depth += 1;
        if self.depth > MAX_REGEX_NESTING {
            return Err("Maximum call stack size exceeded".to_string());
        }
        let mut alts = vec![self.alternative()?];
        while self.peek() == ch(b'|') {
            self.i += 1;
            alts.push(self.alternative()?);
        }
        self.depth -= 1;
        Ok(if alts.len() == 1 {
            alts.remove(0)
        } else {
            ReNode::Alt(alts)
        })
    }

    fn alternative(&mut self) -> PResult<ReNode> {
        let mut terms = Vec::new();
        while let Some(c) = self.peek() {
            if c == u32::from(b'|') || c == u32::from(b')') {
                break;
            }
            terms.push(self.term()?);
        }
        Ok(ReNode::Seq(terms))
    }

    fn term(&mut self) -> PResult<ReNode> {
        let c = self.peek().unwrap_or(0);
        if c == u32::from(b'^') {
            self.i += 1;
            return self.no_quantifier(ReNode::Start);
        }
        if c == u32::from(b'$') {
            self.i += 1;
            return self.no_quantifier(ReNode::End);
        }
        if c == u32::from(b'\\') && (self.peek_at(1) == ch(b'b') || self.peek_at(1) == ch(b'B')) {
            let negate = self.peek_at(1) == ch(b'B');
            self.i += 2;
            return self.no_quantifier(ReNode::WordBoundary(negate));
        }
        if c == u32::from(b'(')
            && self.peek_at(1) == ch(b'?')
            && (self.peek_at(2) == ch(b'=') || self.peek_at(2) == ch(b'!'))
        {
            let negate = self.peek_at(2) == ch(b'!');
            self.i += 3;
            let inner = self.disjunction()?;
            self.expect_close()?;
            let node = ReNode::Look {
                negate,
                inner: Box::new(inner),
            };
            return if self.unicode {
                self.no_quantifier(node)
            } else {
                self.quantified(node)
            };
        }
        let atom = self.atom()?;
        self.quantified(atom)
    }

    fn expect_close(&mut self) -> PResult<()> {
        if self.peek() == ch(b')') {
            self.i += 1;
            Ok(())
        } else {
            Err("Unterminated group".to_string())
        }
    }

    /// `{n}`, `{n,}` or `{n,m}` at the current position: (min, max, length).
    fn braced_quantifier(&self) -> Option<(u32, Option<u32>, usize)> {
        let mut k = 1;
        let digits = |k: &mut usize| -> Option<u32> {
            let start = *k;
            let mut v: u32 = 0;
            while let Some(d) = self.peek_at(*k).filter(|d| (0x30..=0x39).contains(d)) {
                v = v.saturating_mul(10).saturating_add(d - 0x30);
                *k += 1;
            }
            (*k > start).then_some(v)
        };
        if self.peek() != ch(b'{') {
            return None;
        }
        let min = digits(&mut k)?;
        let max = if self.peek_at(k) == ch(b',') {
            k += 1;
            digits(&mut k)
        } else {
            Some(min)
        };
        (self.peek_at(k) == ch(b'}')).then_some((min, max, k + 1))
    }

    fn at_quantifier(&self) -> bool {
        matches!(self.peek(), Some(c) if c == u32::from(b'*') || c == u32::from(b'+') || c == u32::from(b'?'))
            || self.braced_quantifier().is_some()
    }

    fn no_quantifier(&mut self, node: ReNode) -> PResult<ReNode> {
        if self.at_quantifier() {
            Err("Nothing to repeat".to_string())
        } else {
            Ok(node)
        }
    }

    fn quantified(&mut self, node: ReNode) -> PResult<ReNode> {
        let (min, max) = match self.peek() {
            Some(42) => {
                self.i += 1;
                (0, None)
            }
            Some(43) => {
                self.i += 1;
                (1, None)
            }
            Some(63) => {
                self.i += 1;
                (0, Some(1))
            }
            Some(123) => match self.braced_quantifier() {
                Some((min, max, len)) => {
                    if max.is_some_and(|m| m < min) {
                        return Err("numbers out of order in {} quantifier".to_string());
                    }
                    self.i += len;
                    (min, max)
                }
                None if self.unicode => return Err("Incomplete quantifier".to_string()),
                None => return Ok(node),
            },
            _ => return Ok(node),
        };
        if self.peek() == ch(b'?') {
            self.i += 1;
        }
        Ok(ReNode::Repeat {
            inner: Box::new(node),
            min,
            max,
        })
    }

    fn atom(&mut self) -> PResult<ReNode> {
        let c = self.peek().unwrap_or(0);
        self.i += 1;
        match c {
            46 => Ok(ReNode::Atom(ReAtom::Dot)),
            40 => {
                if self.peek() == ch(b'?') {
                    if self.peek_at(1) == ch(b':') {
                        self.i += 2;
                    } else {
                        return Err("Invalid group".to_string());
                    }
                }
                let inner = self.disjunction()?;
                self.expect_close()?;
                Ok(inner)
            }
            41 => Err("Unmatched ')'".to_string()),
            91 => self.class(),
            92 => self.atom_escape(),
            42 | 43 | 63 => Err("Nothing to repeat".to_string()),
            123 => {
                self.i -= 1;
                let braced = self.braced_quantifier().is_some();
                self.i += 1;
                if braced {
                    Err("Nothing to repeat".to_string())
                } else if self.unicode {
                    Err("Lone quantifier brackets".to_string())
                } else {
                    self.literal(c)
                }
            }
            125 | 93 if self.unicode => Err("Lone quantifier brackets".to_string()),
            _ => self.literal(c),
        }
    }

    fn literal(&self, c: u32) -> PResult<ReNode> {
        if self.unicode {
            return Ok(ReNode::Atom(ReAtom::UniChar(c)));
        }
        self.class_node(vec![ClassItem::Char(c)], false)
    }

    fn hex(&self, at: usize, n: usize) -> Option<u32> {
        let mut v = 0;
        for k in 0..n {
            let d = char::from_u32(self.peek_at(at + k)?)?.to_digit(16)?;
            v = v * 16 + d;
        }
        Some(v)
    }

    /// `\x..`, `\u....`, `\u{...}` after the letter at `self.i - 1`;
    /// consumes the digits.
    fn hex_escape(&mut self, letter: u32) -> Option<u32> {
        if letter == u32::from(b'x') {
            let v = self.hex(0, 2)?;
            self.i += 2;
            return Some(v);
        }
        if self.unicode && self.peek() == ch(b'{') {
            let mut k = 1;
            let mut v: u32 = 0;
            while let Some(d) = self
                .peek_at(k)
                .and_then(char::from_u32)
                .and_then(|c| c.to_digit(16))
            {
                v = v.saturating_mul(16).saturating_add(d);
                k += 1;
            }
            if k > 1 && self.peek_at(k) == ch(b'}') && v <= 0x10FFFF {
                self.i += k + 1;
                return Some(v);
            }
            return None;
        }
        let v = self.hex(0, 4)?;
        self.i += 4;
        if self.unicode
            && (0xD800..0xDC00).contains(&v)
            && self.peek() == ch(b'\\')
            && self.peek_at(1) == ch(b'u')
        {
            if let Some(lo) = self.hex(2, 4).filter(|lo| (0xDC00..0xE000).contains(lo)) {
                self.i += 6;
                return Some(0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00));
            }
        }
        Some(v)
    }

    fn property(&mut self, negate: bool) -> PResult<ClassItem> {
        if self.peek() != ch(b'{') {
            return Err("Invalid property name".to_string());
        }
        let mut k = 1;
        let mut name = String::new();
        while let Some(c) = self.peek_at(k) {
            if c == u32::from(b'}') {
                break;
            }
            match char::from_u32(c) {
                Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '=' => name.push(c),
                _ => return Err("Invalid property name".to_string()),
            }
            k += 1;
        }
        if self.peek_at(k) != ch(b'}') || name.is_empty() {
            return Err("Invalid property name".to_string());
        }
        self.i += k + 1;
        Ok(ClassItem::Prop(negate, name))
    }

    /// The escapes shared by atoms and classes, after the backslash (`\b` is
    /// a backspace only in classes; outside them `term` handles it).
    fn escape(&mut self, in_class: bool) -> PResult<ClassItem> {
        let Some(e) = self.peek() else {
            return Err("\\ at end of pattern".to_string());
        };
        self.i += 1;
        let item = match char::from_u32(e).unwrap_or('\u{FFFD}') {
            'd' => ClassItem::Digit(false),
            'D' => ClassItem::Digit(true),
            's' => ClassItem::Space(false),
            'S' => ClassItem::Space(true),
            'w' => ClassItem::Word(false),
            'W' => ClassItem::Word(true),
            'f' => ClassItem::Char(0x0C),
            'n' => ClassItem::Char(0x0A),
            'r' => ClassItem::Char(0x0D),
            't' => ClassItem::Char(0x09),
            'v' => ClassItem::Char(0x0B),
            'b' if in_class => ClassItem::Char(0x08),
            '-' if in_class => ClassItem::Char(u32::from(b'-')),
            'c' => match self.peek().and_then(char::from_u32) {
                Some(l)
                    if l.is_ascii_alphabetic()
                        || (in_class && !self.unicode && (l.is_ascii_digit() || l == '_')) =>
                {
                    self.i += 1;
                    ClassItem::Char(l as u32 % 32)
                }
                _ if self.unicode => return Err("Invalid unicode escape".to_string()),
                _ => {
                    self.i -= 1;
                    ClassItem::Char(u32::from(b'\\'))
                }
            },
            '0' if !self.peek().is_some_and(|d| (0x30..=0x39).contains(&d)) => ClassItem::Char(0),
            '0'..='9' => {
                if self.unicode {
                    return Err(if in_class {
                        "Invalid class escape"
                    } else {
                        "Invalid escape"
                    }
                    .to_string());
                }
                self.i -= 1;
                let mut digits = 0;
                let mut value = 0;
                while let Some(d) = self.peek_at(digits).filter(|d| (0x30..=0x39).contains(d)) {
                    value = value * 10 + (d - 0x30) as usize;
                    digits += 1;
                }
                if !in_class && value >= 1 && value <= self.groups {
                    return Err("backreferences are not supported".to_string());
                }
                if e >= u32::from(b'8') {
                    self.i += 1;
                    ClassItem::Char(e)
                } else {
                    let mut v = 0;
                    let mut k = 0;
                    while let Some(d) = self.peek_at(k).filter(|d| (0x30..=0x37).contains(d)) {
                        let nv = v * 8 + (d - 0x30);
                        if nv > 0o377 {
                            break;
                        }
                        v = nv;
                        k += 1;
                    }
                    self.i += k;
                    ClassItem::Char(v)
                }
            }
            'x' | 'u' => match self.hex_escape(e) {
                Some(v) => ClassItem::Char(v),
                None if self.unicode => return Err("Invalid Unicode escape".to_string()),
                None => ClassItem::Char(e),
            },
            'p' | 'P' if self.unicode => self.property(e == u32::from(b'P'))?,
            'k' if self.unicode => return Err("Invalid named reference".to_string()),
            _ => {
                if self.unicode && !is_syntax_char(e) && e != u32::from(b'/') {
                    return Err(if in_class {
                        "Invalid class escape"
                    } else {
                        "Invalid escape"
                    }
                    .to_string());
                }
                ClassItem::Char(e)
            }
        };
        Ok(item)
    }

    fn atom_escape(&mut self) -> PResult<ReNode> {
        match self.escape(false)? {
            ClassItem::Char(c) => self.literal(c),
            item => self.class_node(vec![item], false),
        }
    }

    fn class_atom(&mut self) -> PResult<ClassItem> {
        let c = self.peek().unwrap_or(0);
        self.i += 1;
        if c != u32::from(b'\\') {
            return Ok(ClassItem::Char(c));
        }
        self.escape(true)
    }

    fn class(&mut self) -> PResult<ReNode> {
        let negate = self.peek() == ch(b'^');
        if negate {
            self.i += 1;
        }
        let mut items = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("Unterminated character class".to_string());
            };
            if c == u32::from(b']') {
                self.i += 1;
                break;
            }
            let a = self.class_atom()?;
            if self.peek() == ch(b'-') && self.peek_at(1).is_some() && self.peek_at(1) != ch(b']') {
                self.i += 1;
                let b = self.class_atom()?;
                match (a, b) {
                    (ClassItem::Char(x), ClassItem::Char(y)) => {
                        if x > y {
                            return Err("Range out of order in character class".to_string());
                        }
                        items.push(ClassItem::Range(x, y));
                    }
                    (a, b) => {
                        if self.unicode {
                            return Err("Invalid character class".to_string());
                        }
                        items.push(a);
                        items.push(ClassItem::Char(u32::from(b'-')));
                        items.push(b);
                    }
                }
            } else {
                items.push(a);
            }
        }
        self.class_node(items, negate)
    }

    fn class_node(&self, items: Vec<ClassItem>, negate: bool) -> PResult<ReNode> {
        if !self.unicode {
            let mut ranges: Vec<(u32, u32)> = Vec::new();
            for item in items {
                match item {
                    ClassItem::Char(c) => ranges.push((c, c)),
                    ClassItem::Range(a, b) => ranges.push((a, b)),
                    ClassItem::Digit(n) => push_set(&mut ranges, &DIGIT_RANGES, n, 0xFFFF),
                    ClassItem::Space(n) => push_set(&mut ranges, &JS_SPACE_RANGES, n, 0xFFFF),
                    ClassItem::Word(n) => push_set(&mut ranges, &WORD_RANGES, n, 0xFFFF),
                    ClassItem::Prop(..) => return Err("Invalid escape".to_string()),
                }
            }
            return Ok(ReNode::Atom(ReAtom::Units(CanonSet::new(&ranges, negate))));
        }
        let mut body = String::new();
        for item in items {
            match item {
                ClassItem::Char(c) => rust_ranges(&mut body, &[(c, c)]),
                ClassItem::Range(a, b) => rust_ranges(&mut body, &[(a, b)]),
                ClassItem::Digit(n) => rust_set(&mut body, &DIGIT_RANGES, n),
                ClassItem::Space(n) => rust_set(&mut body, &JS_SPACE_RANGES, n),
                ClassItem::Word(n) => rust_set(&mut body, &WORD_RANGES, n),
                ClassItem::Prop(n, name) => {
                    body.push_str(if n { "\\P{" } else { "\\p{" });
                    body.push_str(&name);
                    body.push('}');
                }
            }
        }
        if body.is_empty() {
            return Ok(ReNode::Atom(if negate {
                ReAtom::Anything
            } else {
                ReAtom::Nothing
            }));
        }
        let src = format!("(?i)^[{}{body}]$", if negate { "^" } else { "" });
        cached_regex(&src)
            .map(|re| ReNode::Atom(ReAtom::Uni(re)))
            .map_err(|_| "Invalid property name".to_string())
    }
}

fn push_set(ranges: &mut Vec<(u32, u32)>, set: &[(u32, u32)], negate: bool, max: u32) {
    if negate {
        ranges.extend(complement(set, max));
    } else {
        ranges.extend_from_slice(set);
    }
}

fn rust_set(out: &mut String, set: &[(u32, u32)], negate: bool) {
    if negate {
        rust_ranges(out, &complement(set, 0x10FFFF));
    } else {
        rust_ranges(out, set);
    }
}

fn none(n: usize) -> Vec<bool> {
    vec![false; n + 1]
}

/// The set of end positions reachable by `node` from any of `starts`.
fn run(node: &ReNode, starts: &[bool], input: &[u32]) -> Vec<bool> {
    let n = input.len();
    match node {
        ReNode::Seq(items) => {
            let mut cur = starts.to_vec();
            for item in items {
                if !cur.contains(&true) {
                    break;
                }
                cur = run(item, &cur, input);
            }
            cur
        }
        ReNode::Alt(alts) => {
            let mut out = none(n);
            for alt in alts {
                for (o, r) in out.iter_mut().zip(run(alt, starts, input)) {
                    *o |= r;
                }
            }
            out
        }
        ReNode::Atom(atom) => {
            let mut out = none(n);
            for p in 0..n {
                if starts[p] && atom.matches(input[p]) {
                    out[p + 1] = true;
                }
            }
            out
        }
        ReNode::Start => {
            let mut out = none(n);
            out[0] = starts[0];
            out
        }
        ReNode::End => {
            let mut out = none(n);
            out[n] = starts[n];
            out
        }
        ReNode::WordBoundary(negate) => {
            let word = |p: usize| {
                p < n && input[p] < 128 && {
                    let c = input[p] as u8;
                    c.is_ascii_alphanumeric() || c == b'_'
                }
            };
            let mut out = none(n);
            for p in 0..=n {
                let before = p > 0 && word(p - 1);
                if starts[p] && ((before != word(p)) != *negate) {
                    out[p] = true;
                }
            }
            out
        }
        ReNode::Look { negate, inner } => {
            let mut out = none(n);
            for p in 0..=n {
                if starts[p] {
                    let mut single = none(n);
                    single[p] = true;
                    if run(inner, &single, input).contains(&true) != *negate {
                        out[p] = true;
                    }
                }
            }
            out
        }
        ReNode::Repeat { inner, min, max } => {
            let mut cur = starts.to_vec();
            for _ in 0..*min {
                if !cur.contains(&true) {
                    return cur;
                }
                cur = run(inner, &cur, input);
            }
            let mut result = cur.clone();
            let mut frontier = cur;
            let mut count = *min;
            while max.is_none_or(|m| count < m) {
                let next = run(inner, &frontier, input);
                let mut any = false;
                let mut fresh = none(n);
                for p in 0..=n {
                    if next[p] && !result[p] {
                        result[p] = true;
                        fresh[p] = true;
                        any = true;
                    }
                }
                if !any {
                    break;
                }
                frontier = fresh;
                count += 1;
            }
            result
        }
    }
}

#[cfg(test)]
mod tests {
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
        let rule =
            Rule::try_new(&ext(MAX_EXTGLOB_NESTING - 1)).expect("node copes with this depth");
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
        paths
            .extend(["a/.git/b", "x/CVS", "build/config.gypi", "A/x/B", "a/b/c"].map(String::from));
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
const opts = { matchBase: true, dot: true, flipNegate: true, nocase: true };
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

    #[test]
    fn differential_against_node_minimatch() {
        let dir = npm_minimatch_dir();

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

        let input = serde_json::json!({
            "dir": dir.to_string_lossy(),
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
            .unwrap_or_else(|e| panic!("DIFFERENTIAL TEST CANNOT RUN: could not start `node` ({e}); node must be on PATH"));
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
            let rule = Rule::new(pattern);
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
                Rule::new(p)
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
}
