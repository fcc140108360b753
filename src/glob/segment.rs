//! One path part of a pattern compiled as `Minimatch.prototype.parse`
//! compiles it (a literal, `**`, or a regular expression with minimatch's
//! fast tests), plus the literal affixes used as a cheap pre-check.

use super::*;

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

/// minimatch's fast `test` replacements, in their `nocase` + `dot` flavours.
#[derive(Debug, Clone)]
pub(super) enum FastTest {
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
    pub(super) fn detect(p: &str) -> Option<FastTest> {
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

    pub(super) fn test(&self, f: &str) -> bool {
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
pub(super) fn ends_with_lowercased(f: &str, ext: &str) -> bool {
    if f.is_ascii() && ext.is_ascii() {
        f.len() >= ext.len()
            && f.as_bytes()[f.len() - ext.len()..].eq_ignore_ascii_case(ext.as_bytes())
    } else {
        f.to_lowercase().ends_with(ext)
    }
}

/// `Minimatch.prototype.parse(pattern)` for one path part.
pub(super) fn compile_segment(pattern: &str) -> Result<Segment, RuleError> {
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
pub(super) fn is_glob_syntax(c: char) -> bool {
    matches!(
        c,
        '*' | '?' | '[' | ']' | '(' | ')' | '|' | '!' | '+' | '@' | '\\' | '{' | '}'
    )
}

/// The literal ASCII text at the start and the end of a segment's glob, as
/// a necessary condition for a match (lower-cased). `None` when there is none.
pub(super) fn literal_affixes(glob: &str) -> Option<(String, String)> {
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
