//! The JavaScript semantics trustpub reproduces, in one place: value
//! truthiness and `String(x)`, white space as `String.prototype.trim` and the
//! regex class `\s` see it, a string's `.length`, the property order of plain
//! objects, `Number.prototype.toString`, `JSON.stringify`, URI components and
//! Node's POSIX `path` functions. npm (and the packages it bundles: ini,
//! node-semver, minimatch, ignore-walk, npm-packlist, sigstore-js) works with
//! these, so trustpub uses them rather than Rust's nearest equivalents, which
//! differ at the edges (`str::trim` trims U+0085 and not U+FEFF, `str::len`
//! counts bytes, `serde_json`'s numbers print `1.0` and `1e21`).

use serde_json::{Map, Number, Value};

/// JavaScript truthiness of a JSON value (`undefined` is modelled as absence).
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Truthiness of an optional value (`None` is `undefined`).
pub(crate) fn truthy_opt(v: Option<&Value>) -> bool {
    v.is_some_and(truthy)
}

/// `String(x)` (and template-literal interpolation) for a JSON value.
pub(crate) fn to_js_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_to_string(n),
        Value::String(s) => s.clone(),
        // Array.prototype.join: null and undefined become empty strings.
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Null => String::new(),
                other => to_js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

/// The code points `String.prototype.trim` and the regex class `\s` treat as
/// white space (WhiteSpace + LineTerminator in ECMA-262), as inclusive
/// ranges, for code that builds character classes. [`is_js_space`] and
/// [`JS_SPACE_CLASS`] spell the same set.
pub(crate) const JS_SPACE_RANGES: [(u32, u32); 10] = [
    (0x09, 0x0D),
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
];

/// JavaScript's `\s` as a class for the `regex` crate, whose own `\s` is
/// Unicode's White_Space (with U+0085, without U+FEFF).
pub(crate) const JS_SPACE_CLASS: &str = r"[\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]";

/// The characters `String.prototype.trim` and the regex class `\s` treat as
/// white space (WhiteSpace + LineTerminator in ECMA-262). Unlike Rust's
/// `char::is_whitespace` this includes U+FEFF (so a byte order mark is
/// trimmed) and excludes U+0085.
pub(crate) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{a}' | '\u{b}' | '\u{c}' | '\u{d}' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// [`is_js_space`] for one UTF-16 code unit, as a regex without the `u` flag
/// tests it: a surrogate is never white space.
pub(crate) fn is_js_space_unit(c: u16) -> bool {
    char::from_u32(u32::from(c)).is_some_and(is_js_space)
}

/// `String.prototype.trim`.
pub(crate) fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}

/// A string's `.length` in JavaScript: its UTF-16 code units, not its bytes.
pub(crate) fn js_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Whether a property key is an array index ("integer-like"): JavaScript
/// objects list those first, in ascending numeric order, before all other
/// string keys in insertion order.
pub(crate) fn is_array_index(key: &str) -> bool {
    if key.is_empty() || key.len() > 10 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if key.len() > 1 && key.starts_with('0') {
        return false;
    }
    key.parse::<u64>().is_ok_and(|n| n < u32::MAX as u64)
}

/// The keys of an object in JavaScript's enumeration order (`for…in`,
/// `Object.keys`, `JSON.stringify`).
pub(crate) fn js_keys(map: &Map<String, Value>) -> Vec<String> {
    let mut index: Vec<(u64, &String)> = map
        .keys()
        .filter(|k| is_array_index(k))
        .map(|k| (k.parse::<u64>().unwrap_or(0), k))
        .collect();
    index.sort();
    index
        .into_iter()
        .map(|(_, k)| k.clone())
        .chain(map.keys().filter(|k| !is_array_index(k)).cloned())
        .collect()
}

/// Rewrites every object in `v` into JavaScript's property order and every
/// number into the form `JSON.parse(JSON.stringify(x))` would give it, so a
/// `Value` compares equal to npm's body parsed back.
pub(crate) fn js_canonical(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.keys().any(|k| is_array_index(k)) {
                let keys = js_keys(map);
                let mut old = std::mem::take(map);
                for k in keys {
                    if let Some(val) = old.shift_remove(&k) {
                        map.insert(k, val);
                    }
                }
            }
            for val in map.values_mut() {
                js_canonical(val);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(js_canonical),
        Value::Number(n) => *n = canonical_number(n),
        _ => {}
    }
}

/// A JSON number as JavaScript holds it: a double, which `JSON.stringify`
/// prints in its shortest form. Integers up to 2^53 are exact already; any
/// other number becomes what serde_json parses from JavaScript's output.
fn canonical_number(n: &Number) -> Number {
    const SAFE: u64 = 1 << 53;
    if n.as_u64().is_some_and(|u| u <= SAFE) || n.as_i64().is_some_and(|i| i.unsigned_abs() <= SAFE)
    {
        return n.clone();
    }
    let f = n.as_f64().unwrap_or(0.0);
    serde_json::from_str::<Number>(&js_number(f)).unwrap_or_else(|_| n.clone())
}

/// `Number.prototype.toString()` (radix 10) for a JSON number.
pub(crate) fn number_to_string(n: &Number) -> String {
    js_number(n.as_f64().unwrap_or(0.0))
}

/// `Number.prototype.toString()` for a double (ECMA-262 Number::toString).
pub(crate) fn js_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x < 0.0 {
        return format!("-{}", js_number(-x));
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, like V8.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let sign = if n - 1 < 0 { '-' } else { '+' };
        let e = (n - 1).abs();
        if k == 1 {
            format!("{digits}e{sign}{e}")
        } else {
            format!("{}.{}e{sign}{e}", &digits[..1], &digits[1..])
        }
    }
}

/// `JSON.stringify(value)`: no whitespace, objects in JavaScript property
/// order, numbers as JavaScript prints them.
///
/// Strings are escaped as ECMA-262's QuoteJSONString does: `\"`, `\\`, the
/// five short escapes `\b \f \n \r \t`, other C0 controls as `\u00xx` (lower
/// case), everything else (DEL, U+2028, U+2029, non-ASCII) literally. Rust
/// strings cannot hold lone surrogates, so that branch cannot arise.
pub fn to_wire(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.is_finite() {
                out.extend_from_slice(js_number(f).as_bytes());
            } else {
                out.extend_from_slice(b"null");
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            let mut first = true;
            let mut field = |out: &mut Vec<u8>, k: &str, v: &Value| {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_string(out, k);
                out.push(b':');
                write_value(out, v);
            };
            if map.keys().any(|k| is_array_index(k)) {
                for k in js_keys(map) {
                    field(out, &k, &map[&k]);
                }
            } else {
                for (k, v) in map {
                    field(out, k, v);
                }
            }
            out.push(b'}');
        }
    }
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// `encodeURIComponent`.
pub(crate) fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `decodeURIComponent`; `None` where JavaScript throws a `URIError`.
pub(crate) fn decode_uri_component(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

// ---------------------------------------------------------------------------
// Node's `path.posix`.

/// `path.normalize`.
pub(crate) fn path_normalize(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let absolute = p.starts_with('/');
    let trailing = p.ends_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let mut out = parts.join("/");
    if out.is_empty() {
        if absolute {
            return "/".into();
        }
        return if trailing { "./" } else { "." }.into();
    }
    if trailing {
        out.push('/');
    }
    if absolute {
        format!("/{out}")
    } else {
        out
    }
}

/// `path.join`.
pub(crate) fn path_join(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        return ".".into();
    }
    path_normalize(&joined)
}

/// `path.dirname`.
pub(crate) fn path_dirname(p: &str) -> String {
    let b = p.as_bytes();
    if b.is_empty() {
        return ".".into();
    }
    let has_root = b[0] == b'/';
    let mut end = None;
    let mut matched_slash = true;
    for i in (1..b.len()).rev() {
        if b[i] == b'/' {
            if !matched_slash {
                end = Some(i);
                break;
            }
        } else {
            matched_slash = false;
        }
    }
    match end {
        None => if has_root { "/" } else { "." }.into(),
        Some(1) if has_root => "//".into(),
        Some(e) => p[..e].to_string(),
    }
}

/// `path.basename` without a suffix.
pub(crate) fn path_basename(p: &str) -> &str {
    let b = p.as_bytes();
    let mut start = 0;
    let mut end = None;
    for i in (0..b.len()).rev() {
        if b[i] == b'/' {
            if end.is_some() {
                start = i + 1;
                break;
            }
        } else if end.is_none() {
            end = Some(i + 1);
        }
    }
    match end {
        None => "",
        Some(e) => &p[start..e],
    }
}

/// `path.extname`.
pub(crate) fn path_extname(p: &str) -> &str {
    let b = p.as_bytes();
    let mut start_dot: Option<usize> = None;
    let mut start_part = 0;
    let mut end: Option<usize> = None;
    let mut matched_slash = true;
    // 0: no non-dot character seen before the dot; 1: dots only; -1: other.
    let mut pre_dot_state = 0;
    for i in (0..b.len()).rev() {
        if b[i] == b'/' {
            if !matched_slash {
                start_part = i + 1;
                break;
            }
            continue;
        }
        if end.is_none() {
            matched_slash = false;
            end = Some(i + 1);
        }
        if b[i] == b'.' {
            if start_dot.is_none() {
                start_dot = Some(i);
            } else if pre_dot_state != 1 {
                pre_dot_state = 1;
            }
        } else if start_dot.is_some() {
            pre_dot_state = -1;
        }
    }
    match (start_dot, end) {
        (Some(dot), Some(end))
            if pre_dot_state != 0
                && !(pre_dot_state == 1 && dot == end - 1 && dot == start_part + 1) =>
        {
            &p[dot..end]
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        // Expected values from `String(n)` in Node 20.
        let table: &[(f64, &str)] = &[
            (1.0, "1"),
            (1.5, "1.5"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123456789012345680000.0, "123456789012345680000"),
            (-0.0, "0"),
            (9007199254740994.0, "9007199254740994"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1, "0.1"),
            (100.0, "100"),
            (1e20, "100000000000000000000"),
            (12345.678, "12345.678"),
            (-2.5, "-2.5"),
        ];
        for (n, want) in table {
            assert_eq!(js_number(*n), *want, "{n}");
        }
    }

    #[test]
    fn node_path_functions() {
        // (input, dirname, basename, extname, join(input)) from Node 20.
        let table = [
            ("a//b", "a/", "b", "", "a/b"),
            ("/", "/", "", "", "/"),
            ("//", "/", "", "", "/"),
            ("/a", "/", "a", "", "/a"),
            ("a/", ".", "a", "", "a/"),
            ("a/b/", "a", "b", "", "a/b/"),
            ("", ".", "", "", "."),
            (".", ".", ".", "", "."),
            ("./lib/", ".", "lib", "", "lib/"),
            ("lib/index.js", "lib", "index.js", ".js", "lib/index.js"),
            ("/abs/x.js", "/abs", "x.js", ".js", "/abs/x.js"),
            ("..", ".", "..", "", ".."),
            ("a/..", "a", "..", "", "."),
            ("//a//b//", "//a/", "b", "", "/a/b/"),
        ];
        for (p, dir, base, ext, join) in table {
            assert_eq!(path_dirname(p), dir, "dirname {p:?}");
            assert_eq!(path_basename(p), base, "basename {p:?}");
            assert_eq!(path_extname(p), ext, "extname {p:?}");
            assert_eq!(path_join(&[p]), join, "join {p:?}");
        }
        let ext = [
            (".a", ""),
            ("a.b", ".b"),
            ("..", ""),
            ("a..", "."),
            ("a.b.", "."),
            (".a.b", ".b"),
            ("x.js/", ".js"),
            ("a/.", ""),
            ("...", "."),
            ("a/b.c/d", ""),
        ];
        for (p, want) in ext {
            assert_eq!(path_extname(p), want, "extname {p:?}");
        }
        assert_eq!(path_join(&[".", &path_join(&["/", ""])]), "./");
        assert_eq!(path_join(&[".", &path_join(&["/", "../x"])]), "x");
    }

    #[test]
    fn wire_format_is_json_stringify() {
        let v =
            json!({"b": 1.0, "10": "x", "a": [null, true, 1e21], "2": "\u{2028}\u{7f}\u{1}\"\\\n"});
        assert_eq!(
            String::from_utf8(to_wire(&v)).unwrap(),
            "{\"2\":\"\u{2028}\u{7f}\\u0001\\\"\\\\\\n\",\"10\":\"x\",\"b\":1,\"a\":[null,true,1e+21]}"
        );
    }

    #[test]
    fn numbers_canonicalise_to_what_json_stringify_prints() {
        let mut v: Value = serde_json::from_str(
            r#"[1.0, 1e21, 0.0000001, -0, 12345678901234567890, 2.50, 9007199254740993]"#,
        )
        .unwrap();
        js_canonical(&mut v);
        let back: Value =
            serde_json::from_str("[1,1e+21,1e-7,0,12345678901234567000,2.5,9007199254740992]")
                .unwrap();
        assert_eq!(v, back);
        assert_eq!(
            String::from_utf8(to_wire(&v)).unwrap(),
            "[1,1e+21,1e-7,0,12345678901234567000,2.5,9007199254740992]"
        );
    }

    #[test]
    fn integer_like_keys() {
        for (k, want) in [
            ("0", true),
            ("10", true),
            ("4294967294", true),
            ("4294967295", false),
            ("01", false),
            ("-1", false),
            ("1.0", false),
            ("", false),
            ("a1", false),
        ] {
            assert_eq!(is_array_index(k), want, "{k}");
        }
    }

    #[test]
    fn trim_and_strings_follow_javascript() {
        assert_eq!(js_trim("\u{feff} x \u{a0}"), "x");
        assert_eq!(js_trim("\u{85}x"), "\u{85}x");
        assert_eq!(to_js_string(&json!([1, null, "a", [2, 3]])), "1,,a,2,3");
        assert_eq!(to_js_string(&json!({"a": 1})), "[object Object]");
        assert_eq!(decode_uri_component("a%2Fb%C3%A9"), Some("a/bé".into()));
        assert_eq!(decode_uri_component("%E0%A4%A"), None);
        assert_eq!(decode_uri_component("%C3"), None);
        assert_eq!(encode_uri_component("a b/é"), "a%20b%2F%C3%A9");
    }

    /// What `String.fromCharCode(c).trim() === ""` holds for in Node 20 (the
    /// same set `/\s/` matches): ECMA-262's WhiteSpace and LineTerminator.
    const NODE_WHITE_SPACE: &[u32] = &[
        0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
        0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
        0xFEFF,
    ];

    #[test]
    fn white_space_is_the_ecmascript_set_in_every_spelling() {
        let class = regex::Regex::new(JS_SPACE_CLASS).unwrap();
        let all: String = (0..=0x10FFFF).filter_map(char::from_u32).collect();
        let by_class: Vec<u32> = class
            .find_iter(&all)
            .flat_map(|m| m.as_str().chars())
            .map(u32::from)
            .collect();
        assert_eq!(by_class, NODE_WHITE_SPACE);
        for c in all.chars() {
            let cp = u32::from(c);
            let want = NODE_WHITE_SPACE.contains(&cp);
            assert_eq!(is_js_space(c), want, "is_js_space U+{cp:04X}");
            assert_eq!(
                JS_SPACE_RANGES.iter().any(|&(lo, hi)| lo <= cp && cp <= hi),
                want,
                "JS_SPACE_RANGES U+{cp:04X}"
            );
            let padded = format!("{c}{c}x{c}y{c}");
            let inner = format!("x{c}y");
            let want_trimmed = if want {
                inner.as_str()
            } else {
                padded.as_str()
            };
            assert_eq!(js_trim(&padded), want_trimmed, "js_trim U+{cp:04X}");
        }
        for u in 0..=u16::MAX {
            let want = NODE_WHITE_SPACE.contains(&u32::from(u));
            assert_eq!(is_js_space_unit(u), want, "is_js_space_unit {u:#06x}");
        }
    }

    #[test]
    fn trim_keeps_what_javascript_keeps() {
        // Unicode White_Space that ECMAScript does not count, and U+180E,
        // which it stopped counting in ES2016.
        for c in ['\u{85}', '\u{180e}', '\u{200b}', '\u{1c}', '\u{1f}'] {
            let s = format!("{c}a{c}");
            assert_eq!(js_trim(&s), s, "U+{:04X}", u32::from(c));
        }
        assert_eq!(js_trim(""), "");
        assert_eq!(js_trim(" \t\u{3000}\u{feff}\r\n"), "");
        assert_eq!(js_trim("\u{2028} a \u{2029}b\u{205f}"), "a \u{2029}b");
    }

    #[test]
    fn length_counts_utf16_units() {
        for (s, want) in [
            ("", 0),
            ("abc", 3),
            ("é", 1),
            ("—", 1),
            ("€", 1),
            ("😀", 2),
            ("a😀b", 4),
        ] {
            assert_eq!(js_len(s), want, "{s:?}");
        }
    }

    #[test]
    fn truthiness() {
        let table = [
            (json!(null), false),
            (json!(false), false),
            (json!(true), true),
            (json!(0), false),
            (json!(0.0), false),
            (json!(-0.0), false),
            (json!(1), true),
            (json!(-1), true),
            (json!(0.5), true),
            (json!(""), false),
            (json!("0"), true),
            (json!("false"), true),
            (json!(" "), true),
            (json!([]), true),
            (json!({}), true),
        ];
        for (v, want) in table {
            assert_eq!(truthy(&v), want, "{v}");
            assert_eq!(truthy_opt(Some(&v)), want, "{v}");
        }
        assert!(!truthy_opt(None));
    }

    #[test]
    fn string_of_numbers_is_number_to_string() {
        // `String(JSON.parse(text))` in Node 20.
        for (text, want) in [
            ("1.0", "1"),
            ("-0", "0"),
            ("1e21", "1e+21"),
            ("1.5e300", "1.5e+300"),
            ("0.0000001", "1e-7"),
            ("1152921504606846976", "1152921504606847000"),
            ("[1.0, [2.50]]", "1,2.5"),
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(to_js_string(&v), want, "{text}");
        }
    }
}
