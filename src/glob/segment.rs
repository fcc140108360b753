//! One path part of a pattern compiled as `Minimatch.prototype.parse`
//! compiles it (a literal, `**`, or a regular expression with minimatch's
//! fast tests), plus the literal affixes used as a cheap pre-check.

use crate::js::js_len;

use super::ast::{Ast, ROOT};
use super::jsregex::JsRegex;
use super::{js, JsStr, Options, RuleError, MAX_PATTERN_LENGTH};

/// One compiled path part of a pattern (`string | RegExp | GLOBSTAR`).
#[derive(Debug, Clone)]
pub(super) enum Segment {
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
    pub(super) fn test(&self, f: &str) -> bool {
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

/// minimatch's fast `test` replacements. `dot` and `nocase` pick the
/// flavour (`starTest`/`starTestDot`, `starDotExtTestNocaseDot`, ...).
#[derive(Debug, Clone)]
pub(super) struct FastTest {
    kind: FastKind,
    dot: bool,
    nocase: bool,
}

#[derive(Debug, Clone)]
enum FastKind {
    /// `^\*+$`
    Star,
    /// `^\*+([^+@!?*[(]*)$`, holding the extension (lower-cased when
    /// `nocase`).
    StarDotExt(String),
    /// `^\?+([^+@!?*[(]*)?$`, holding the whole pattern's UTF-16 length and
    /// the extension (lower-cased when `nocase`).
    Qmarks(usize, String),
    /// `^\*+\.\*+$`
    StarDotStar,
    /// `^\.\*+$`
    DotStar,
}

impl FastTest {
    fn detect(p: &str, options: Options) -> Option<FastTest> {
        let excluded = |c: char| matches!(c, '+' | '@' | '!' | '?' | '*' | '[' | '(');
        let ext = |rest: &str| {
            if options.nocase {
                rest.to_lowercase()
            } else {
                rest.to_string()
            }
        };
        let kind = if !p.is_empty() && p.chars().all(|c| c == '*') {
            FastKind::Star
        } else if p.starts_with('*') && !p.trim_start_matches('*').chars().any(excluded) {
            FastKind::StarDotExt(ext(p.trim_start_matches('*')))
        } else if p.starts_with('?') && !p.trim_start_matches('?').chars().any(excluded) {
            FastKind::Qmarks(js_len(p), ext(p.trim_start_matches('?')))
        } else if p.split_once('.').is_some_and(|(a, b)| {
            let stars = |s: &str| !s.is_empty() && s.chars().all(|c| c == '*');
            stars(a) && stars(b)
        }) {
            FastKind::StarDotStar
        } else if p
            .strip_prefix('.')
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c == '*'))
        {
            FastKind::DotStar
        } else {
            return None;
        };
        Some(FastTest {
            kind,
            dot: options.dot,
            nocase: options.nocase,
        })
    }

    pub(super) fn test(&self, f: &str) -> bool {
        let not_dots = f != "." && f != "..";
        // `f !== '.' && f !== '..'` with `dot`, `!f.startsWith('.')` without.
        let dot_ok = if self.dot {
            not_dots
        } else {
            !f.starts_with('.')
        };
        let ends_with = |ext: &str| {
            if self.nocase {
                ends_with_lowercased(f, ext)
            } else {
                f.ends_with(ext)
            }
        };
        match &self.kind {
            FastKind::Star => !f.is_empty() && dot_ok,
            FastKind::StarDotExt(ext) => (self.dot || !f.starts_with('.')) && ends_with(ext),
            FastKind::Qmarks(len, ext) => {
                js_len(f) == *len && dot_ok && (ext.is_empty() || ends_with(ext))
            }
            FastKind::StarDotStar => dot_ok && f.contains('.'),
            FastKind::DotStar => not_dots && f.starts_with('.'),
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
pub(super) fn compile_segment(pattern: &str, options: Options) -> Result<Segment, RuleError> {
    if js_len(pattern) > MAX_PATTERN_LENGTH {
        return Err(RuleError::new("pattern is too long"));
    }
    if pattern == "**" {
        return Ok(Segment::Globstar);
    }
    if pattern.is_empty() {
        return Ok(Segment::Literal(JsStr::new()));
    }
    let fast = FastTest::detect(pattern, options);
    let units = js(pattern);
    let mut ast = Ast::from_glob(&units, options.dot).map_err(RuleError::new)?;
    let glob = String::from_utf16_lossy(&ast.glob_string(ROOT));
    let (re, body, has_magic, uflag) = ast.regexp_source(ROOT, None).map_err(RuleError::new)?;
    let any_magic = has_magic
        || ast.nodes[ROOT].has_magic == Some(true)
        || (options.nocase && glob.to_uppercase() != glob.to_lowercase());
    if !any_magic {
        return Ok(Segment::Literal(body));
    }
    // Only `nocase` made this a regular expression: `^literal$` with the
    // non-unicode `i` flag. For an ASCII literal that is exactly ASCII
    // case-insensitive equality, because JavaScript's Canonicalize never maps
    // a non-ASCII unit onto an ASCII one. Compare directly (a hot path).
    if options.nocase
        && !has_magic
        && ast.nodes[ROOT].has_magic != Some(true)
        && !uflag
        && body.iter().all(|&u| u < 0x80)
    {
        return Ok(Segment::CaselessAscii(String::from_utf16_lossy(&body)));
    }
    let mut src = js("^");
    src.extend(re);
    src.extend(js("$"));
    let re = JsRegex::new(&src, uflag, options.nocase).map_err(|e| {
        RuleError::new(format!(
            "Invalid regular expression: /{}/{}{}: {}",
            String::from_utf16_lossy(&src),
            if options.nocase { "i" } else { "" },
            if uflag { "u" } else { "" },
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
pub(super) fn has_affixes(f: &str, pre: &str, suf: &str) -> bool {
    let b = f.as_bytes();
    b.len() >= pre.len() + suf.len()
        && b[..pre.len()].eq_ignore_ascii_case(pre.as_bytes())
        && b[b.len() - suf.len()..].eq_ignore_ascii_case(suf.as_bytes())
}
