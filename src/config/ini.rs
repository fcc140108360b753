//! npmrc parsing as npm's `ini` package (6.0.0, `decode`) does it.
//!
//! The rules, in the order `ini` applies them to each line (lines are split
//! on runs of `\r`/`\n`, so blank lines vanish):
//!
//! 1. Empty lines, white-space-only lines and lines whose first non-blank
//!    character is `;` or `#` are skipped.
//! 2. `[name]` (optionally followed by white space) starts a section. Every
//!    later key belongs to that section; npm reads sections as object-valued
//!    keys, which no setting uses, so [`IniFile::sectioned`] lists them for
//!    a diagnostic instead.
//! 3. Otherwise the key is everything before the first `=`, the value
//!    everything after it (`=` may appear in the value). A line without `=`
//!    sets the key to `true`. A line starting with `=` is skipped.
//! 4. Keys and values are trimmed. A value wrapped in `"…"` is JSON-decoded
//!    (kept as written when that fails); one wrapped in `'…'` loses the
//!    quotes and the rest is JSON-decoded when possible (so `'123'` is a
//!    number). Otherwise an unescaped `;` or `#` starts a comment, and
//!    `\;`, `\#` and `\\` are unescaped.
//! 5. The values `true`, `false` and `null` become JSON booleans/null.
//! 6. `key[]=v` appends to an array (as does a plain `key=` once the key
//!    holds an array); otherwise a repeated key keeps its first position and
//!    its last value. `__proto__` keys are ignored.
//!
//! Not modelled: a dotted section name (`[a.b]`) that replaces a top-level
//! key `a`, and a section named like a setting shadowing it; npm would then
//! hold an object for that setting, which no real npmrc relies on.

use serde_json::Value as Json;

use crate::js::{is_js_space, js_len, js_trim, to_js_string};

/// One top-level `key=value` of an npmrc file.
#[derive(Debug, Clone, PartialEq)]
pub struct IniEntry {
    pub key: String,
    pub value: IniValue,
    /// 1-based physical line of the last assignment.
    pub line: usize,
}

/// A decoded value: one JSON scalar (usually a string), or a `key[]` array.
#[derive(Debug, Clone, PartialEq)]
pub enum IniValue {
    Scalar(Json),
    Array(Vec<Json>),
}

/// A key that npm files under a `[section]` and therefore never reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionedKey {
    pub section: String,
    pub key: String,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IniFile {
    pub entries: Vec<IniEntry>,
    pub sectioned: Vec<SectionedKey>,
}

/// Splits `text` on runs of CR/LF, yielding each line with its 1-based
/// physical line number (`\r\n`, `\n` and a lone `\r` each end a line).
fn lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut line_no = 1;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' || bytes[i] == b'\n' {
            out.push((line_no, &text[start..i]));
            while i < bytes.len() && (bytes[i] == b'\r' || bytes[i] == b'\n') {
                if bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n') {
                    line_no += 1;
                }
                i += 1;
            }
            start = i;
        } else {
            i += 1;
        }
    }
    out.push((line_no, &text[start..]));
    out
}

/// `isQuoted` from ini.js.
fn is_quoted(v: &str) -> bool {
    (v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\''))
}

/// `unsafe` from ini.js: trims, decodes quoted values, strips comments.
pub fn unsafe_value(raw: &str) -> Json {
    let val = js_trim(raw);
    if is_quoted(val) {
        let inner = if val.starts_with('\'') {
            if val.len() >= 2 {
                &val[1..val.len() - 1]
            } else {
                ""
            }
        } else {
            val
        };
        return serde_json::from_str::<Json>(inner)
            .unwrap_or_else(|_| Json::String(inner.to_string()));
    }
    let mut esc = false;
    let mut out = String::new();
    for c in val.chars() {
        if esc {
            if matches!(c, '\\' | ';' | '#') {
                out.push(c);
            } else {
                out.push('\\');
                out.push(c);
            }
            esc = false;
        } else if c == ';' || c == '#' {
            break;
        } else if c == '\\' {
            esc = true;
        } else {
            out.push(c);
        }
    }
    if esc {
        out.push('\\');
    }
    Json::String(js_trim(&out).to_string())
}

enum Line<'a> {
    Section(&'a str),
    Pair(&'a str, Option<&'a str>),
}

/// The line regex `^\[([^\]]*)\]\s*$|^([^=]+)(=(.*))?$`.
fn classify(line: &str) -> Option<Line<'_>> {
    if let Some(rest) = line.strip_prefix('[') {
        if let Some(close) = rest.find(']') {
            if rest[close + 1..].chars().all(is_js_space) {
                return Some(Line::Section(&rest[..close]));
            }
        }
    }
    match line.find('=') {
        Some(0) => None,
        Some(eq) => {
            let value = &line[eq + 1..];
            // `.` does not match U+2028/U+2029, so such a value fails `(.*)$`.
            if value.contains(['\u{2028}', '\u{2029}']) {
                return None;
            }
            Some(Line::Pair(&line[..eq], Some(value)))
        }
        None => Some(Line::Pair(line, None)),
    }
}

/// `ini.decode(text)`, keeping only what npm's config reads.
pub fn parse(text: &str) -> IniFile {
    let mut file = IniFile::default();
    let mut section: Option<String> = None;
    for (line_no, line) in lines(text) {
        let trimmed_start = line.trim_start_matches(is_js_space);
        if trimmed_start.is_empty() || trimmed_start.starts_with([';', '#']) {
            continue;
        }
        let Some(kind) = classify(line) else {
            continue;
        };
        match kind {
            Line::Section(name) => {
                section = Some(to_js_string(&unsafe_value(name)));
            }
            Line::Pair(raw_key, raw_value) => {
                let key_raw = unsafe_value(raw_key);
                let (key, is_array) = match &key_raw {
                    Json::String(k) if js_len(k) > 2 && k.ends_with("[]") => {
                        (k[..k.len() - 2].to_string(), true)
                    }
                    other => (to_js_string(other), false),
                };
                if key == "__proto__" {
                    continue;
                }
                let value = match raw_value {
                    None => Json::Bool(true),
                    Some(v) => match unsafe_value(v) {
                        Json::String(s) if s == "true" => Json::Bool(true),
                        Json::String(s) if s == "false" => Json::Bool(false),
                        Json::String(s) if s == "null" => Json::Null,
                        other => other,
                    },
                };
                if let Some(section) = &section {
                    file.sectioned.push(SectionedKey {
                        section: section.clone(),
                        key,
                        line: line_no,
                    });
                    continue;
                }
                match file.entries.iter_mut().find(|e| e.key == key) {
                    Some(entry) => {
                        entry.line = line_no;
                        match &mut entry.value {
                            IniValue::Array(items) => items.push(value),
                            IniValue::Scalar(old) if is_array => {
                                entry.value = IniValue::Array(vec![old.clone(), value]);
                            }
                            IniValue::Scalar(old) => *old = value,
                        }
                    }
                    None => file.entries.push(IniEntry {
                        key,
                        value: if is_array {
                            IniValue::Array(vec![value])
                        } else {
                            IniValue::Scalar(value)
                        },
                        line: line_no,
                    }),
                }
            }
        }
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn top(text: &str) -> Vec<(String, IniValue, usize)> {
        parse(text)
            .entries
            .into_iter()
            .map(|e| (e.key, e.value, e.line))
            .collect()
    }

    fn s(v: &str) -> IniValue {
        IniValue::Scalar(json!(v))
    }

    /// `(key, value, line)` of each top-level entry.
    type Entries = Vec<(&'static str, IniValue, usize)>;

    /// Each row was checked against npm 11.19.1's bundled `ini.decode`.
    #[test]
    fn ini_table() {
        let cases: Vec<(&str, Entries)> = vec![
            ("a=1", vec![("a", s("1"), 1)]),
            ("  a  =  spaced value  ", vec![("a", s("spaced value"), 1)]),
            ("a=b=c", vec![("a", s("b=c"), 1)]),
            ("a=x ; comment", vec![("a", s("x"), 1)]),
            ("a=x # comment", vec![("a", s("x"), 1)]),
            ("a=x\\;y\\#z", vec![("a", s("x;y#z"), 1)]),
            ("a=C:\\path", vec![("a", s("C:\\path"), 1)]),
            ("a=tok#en", vec![("a", s("tok"), 1)]),
            (
                "a=\"quoted ; not comment\"",
                vec![("a", s("quoted ; not comment"), 1)],
            ),
            ("a=\"esc\\\"aped\"", vec![("a", s("esc\"aped"), 1)]),
            ("a='single'", vec![("a", s("single"), 1)]),
            ("a='123'", vec![("a", IniValue::Scalar(json!(123)), 1)]),
            ("a=\"bad json", vec![("a", s("\"bad json"), 1)]),
            ("a=\"x\" y", vec![("a", s("\"x\" y"), 1)]),
            ("a=true", vec![("a", IniValue::Scalar(json!(true)), 1)]),
            ("a=false", vec![("a", IniValue::Scalar(json!(false)), 1)]),
            ("a=null", vec![("a", IniValue::Scalar(json!(null)), 1)]),
            ("a=\"true\"", vec![("a", IniValue::Scalar(json!(true)), 1)]),
            ("flag", vec![("flag", IniValue::Scalar(json!(true)), 1)]),
            ("a=", vec![("a", s(""), 1)]),
            ("=a", vec![]),
            ("; c\n# c\n   ; c\n\n  \nb=2", vec![("b", s("2"), 6)]),
            (
                "a=1\r\nb=2\rc=3\n\n\nd=4",
                vec![
                    ("a", s("1"), 1),
                    ("b", s("2"), 2),
                    ("c", s("3"), 3),
                    ("d", s("4"), 6),
                ],
            ),
            ("a=1\nb=2\na=3", vec![("a", s("3"), 3), ("b", s("2"), 2)]),
            (
                "x[]=1\nx[]=2",
                vec![("x", IniValue::Array(vec![json!("1"), json!("2")]), 2)],
            ),
            (
                "x=1\nx[]=2",
                vec![("x", IniValue::Array(vec![json!("1"), json!("2")]), 2)],
            ),
            (
                "x[]=1\nx=2",
                vec![("x", IniValue::Array(vec![json!("1"), json!("2")]), 2)],
            ),
            ("[]=1", vec![("[]", s("1"), 1)]),
            ("__proto__=1", vec![]),
            (
                "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}",
                vec![(
                    "//registry.npmjs.org/:_authToken",
                    s("${NODE_AUTH_TOKEN}"),
                    1,
                )],
            ),
            (
                "\u{feff}registry=https://r.example/",
                vec![("registry", s("https://r.example/"), 1)],
            ),
            ("\"quoted key\"=v", vec![("quoted key", s("v"), 1)]),
            (
                "[foo] ; not a section\nk=v",
                vec![
                    ("[foo]", IniValue::Scalar(json!(true)), 1),
                    ("k", s("v"), 2),
                ],
            ),
            ("a=b\u{2028}c", vec![]),
        ];
        for (text, want) in cases {
            let want: Vec<(String, IniValue, usize)> = want
                .into_iter()
                .map(|(k, v, l)| (k.to_string(), v, l))
                .collect();
            assert_eq!(top(text), want, "{text:?}");
        }
    }

    #[test]
    fn sections_hide_keys() {
        let f = parse("a=1\n[section]\nregistry=https://x/\n[ other ]  \nb=2");
        assert_eq!(f.entries.len(), 1);
        assert_eq!(
            f.sectioned,
            vec![
                SectionedKey {
                    section: "section".into(),
                    key: "registry".into(),
                    line: 3
                },
                SectionedKey {
                    section: "other".into(),
                    key: "b".into(),
                    line: 5
                },
            ]
        );
    }
}
