//! Brace expansion: minimatch's `braceExpand` over brace-expansion 5.0.9
//! (the copy npm 11.19.1 ships) and balanced-match 4.0.4.

use crate::js::{js_len, js_number};

use super::{
    is_line_terminator, RuleError, EXPANSION_MAX, EXPANSION_MAX_LENGTH, MAX_BRACE_NESTING,
};

// Stand-ins for brace-expansion's `'\0SLASH' + Math.random() + '\0'` tokens.
const ESC_SLASH: &str = "\u{0}SLASH\u{FDD0}\u{0}";
const ESC_OPEN: &str = "\u{0}OPEN\u{FDD0}\u{0}";
const ESC_CLOSE: &str = "\u{0}CLOSE\u{FDD0}\u{0}";
const ESC_COMMA: &str = "\u{0}COMMA\u{FDD0}\u{0}";
const ESC_PERIOD: &str = "\u{0}PERIOD\u{FDD0}\u{0}";

/// minimatch's `braceExpand`: only patterns matching `/\{(?:(?!\{).)*\}/`
/// are handed to brace-expansion.
pub(super) fn brace_expand(pattern: &str) -> Result<Vec<String>, RuleError> {
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
