//! A JavaScript regular-expression engine for exactly the syntax minimatch
//! emits, with the non-unicode and unicode (`u`) semantics, with or without
//! the `i` flag (minimatch's `nocase`).
//!
//! Why not the `regress` crate (an ECMAScript regex engine): tried in place
//! of this engine (regress 0.12.0, `find_from_ucs2`/`find_from_utf16`), it
//! agreed with minimatch on every case of the differential test with
//! minimatch's default options, but not with ignore-walk's `nocase`:
//! without the `u` flag JavaScript's `i` canonicalises with `toUpperCase`
//! and refuses a non-ASCII unit that would become ASCII, so `/^ſ$/i` does
//! not match `s`, while regress folds case the Unicode way and matches it
//! (4 of the 37,247 cases differ: the pattern `ſ` against `s` and `S`).
//! npm-packlist would then ship or drop a different file, so this engine
//! stays.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;

use crate::js::JS_SPACE_RANGES;

use super::{is_line_terminator, MAX_REGEX_NESTING};

/// A compiled JavaScript `RegExp`, with the `i` flag when `ignore_case`
/// and the `u` flag when `unicode`.
#[derive(Debug, Clone)]
pub(super) struct JsRegex {
    pub(super) unicode: bool,
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
    /// A non-unicode set of code units (canonicalised when case-insensitive).
    Units(CanonSet),
    /// A unicode-mode, case-insensitive one-character class matcher.
    Uni(Regex),
    /// A unicode-mode, case-insensitive literal character (simple case
    /// folding, checked with a lazily compiled `regex` for non-ASCII).
    UniChar(u32),
    /// A unicode-mode, case-sensitive literal character.
    Char(u32),
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
            ReAtom::Char(p) => c == *p,
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

/// The members of a non-unicode character class, canonicalised when
/// `ignore_case`.
#[derive(Debug, Clone)]
struct CanonSet {
    negate: bool,
    ignore_case: bool,
    small: Vec<u16>,
    big: Option<Box<[u64]>>,
}

impl CanonSet {
    pub(super) fn new(ranges: &[(u32, u32)], negate: bool, ignore_case: bool) -> CanonSet {
        let table = canon_table();
        let canon = |u: u32| {
            if ignore_case {
                table[u as usize]
            } else {
                u as u16
            }
        };
        let total: u64 = ranges.iter().map(|&(lo, hi)| u64::from(hi - lo) + 1).sum();
        let members = ranges
            .iter()
            .flat_map(|&(lo, hi)| lo..=hi)
            .filter(|&u| u <= 0xFFFF);
        if total <= 64 {
            let mut small: Vec<u16> = members.map(canon).collect();
            small.sort_unstable();
            small.dedup();
            CanonSet {
                negate,
                ignore_case,
                small,
                big: None,
            }
        } else {
            let mut big = vec![0u64; 1024].into_boxed_slice();
            for u in members {
                let c = canon(u) as usize;
                big[c / 64] |= 1 << (c % 64);
            }
            CanonSet {
                negate,
                ignore_case,
                small: Vec::new(),
                big: Some(big),
            }
        }
    }

    fn matches(&self, unit: u32) -> bool {
        if unit > 0xFFFF {
            return self.negate;
        }
        let c = if self.ignore_case {
            canon_table()[unit as usize]
        } else {
            unit as u16
        };
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
    ignore_case: bool,
    groups: usize,
    depth: usize,
}

type PResult<T> = Result<T, String>;

/// V8's message for an escape the `u` flag forbids.
fn invalid_escape(in_class: bool) -> String {
    if in_class {
        "Invalid class escape"
    } else {
        "Invalid escape"
    }
    .to_string()
}

fn is_syntax_char(c: u32) -> bool {
    c < 128 && b"^$\\.*+?()[]{}|".contains(&(c as u8))
}

fn ch(c: u8) -> Option<u32> {
    Some(u32::from(c))
}

impl JsRegex {
    pub(super) fn new(src: &[u16], unicode: bool, ignore_case: bool) -> PResult<JsRegex> {
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
            ignore_case,
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
    pub(super) fn test(&self, f: &str) -> bool {
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
            return Ok(ReNode::Atom(if self.ignore_case {
                ReAtom::UniChar(c)
            } else {
                ReAtom::Char(c)
            }));
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
                    return Err(invalid_escape(in_class));
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
                    return Err(invalid_escape(in_class));
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
            return Ok(ReNode::Atom(ReAtom::Units(CanonSet::new(
                &ranges,
                negate,
                self.ignore_case,
            ))));
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
        let src = format!(
            "{}^[{}{body}]$",
            if self.ignore_case { "(?i)" } else { "" },
            if negate { "^" } else { "" }
        );
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
