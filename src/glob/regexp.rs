//! Regular-expression generation: the JavaScript regex *source* minimatch
//! builds from the AST (`AST.toRegExpSource`, `#parseGlob`), bracket
//! classes (`brace-expressions.js`) and `unescape`.

use crate::js::is_js_space_unit;

use super::ast::{
    starts_with_at, type_in, Ast, Part, Source, QMARK_RE, RE_SPECIALS, ROOT, START_NO_DOT,
    START_NO_TRAVERSAL, STAR_NO_EMPTY, STAR_RE,
};
use super::{
    is_line_terminator, js, JsStr, AT, BACKSLASH, BANG, CARET, CLOSE_BRACKET, CLOSE_PAREN, DASH,
    DOT, OPEN_BRACKET, OPEN_PAREN, PIPE, PLUS, QMARK, SLASH, STAR,
};

impl Ast {
    /// `AST.prototype.toRegExpSource(allowDot)`: `[re, body, hasMagic, uflag]`.
    pub(super) fn regexp_source(
        &mut self,
        id: usize,
        allow_dot: Option<bool>,
    ) -> Result<Source, String> {
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
