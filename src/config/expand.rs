//! `${VAR}` expansion in npmrc keys and values, as
//! `@npmcli/config/lib/env-replace.js` does it, plus a record of the
//! variables that were not set.
//!
//! npm's rule (regex `/(?<!\\)(\\*)\$\{([^${}?]+)(\?)?\}/g`):
//!
//! * `${NAME}` becomes the value of `NAME`, even an empty one. When `NAME` is
//!   **unset the literal `${NAME}` is kept**, and npm then uses that text as a
//!   value (it sends `authorization: Bearer ${NODE_AUTH_TOKEN}`).
//! * `${NAME?}` becomes the empty string when `NAME` is unset.
//! * A run of `n` backslashes before `${`: with `n` even, half of them stay
//!   and the variable is expanded; with `n` odd, `(n-1)/2` stay and the
//!   `${...}` is kept literally.
//!
//! The names that stayed literal are returned in [`Expanded::unset`], so a
//! caller can refuse to use such a value as a credential.

use crate::env::Env;

/// The result of expanding one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub value: String,
    /// Variables referenced as `${NAME}` (no `?`) that were not set, in order,
    /// without repeats. Their literal `${NAME}` is still in `value`.
    pub unset: Vec<String>,
    /// Variables that were set to the empty string, in order, without repeats.
    pub empty: Vec<String>,
    /// Whether any variable was set and substituted: the value holds text
    /// from the environment, not only from the file.
    pub from_env: bool,
}

/// Expands `${VAR}` references in `input` exactly as npm's env-replace.js.
pub fn env_replace(input: &str, env: &Env) -> Expanded {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut unset: Vec<String> = Vec::new();
    let mut empty: Vec<String> = Vec::new();
    let mut from_env = false;
    let mut i = 0;
    let mut copied_to = 0;
    while i < bytes.len() {
        // A match may only start where the previous character is not a
        // backslash (the look-behind), so inside a run of backslashes only
        // the first one can start it.
        let starts_here = i == 0 || bytes[i - 1] != b'\\';
        if starts_here && (bytes[i] == b'\\' || bytes[i] == b'$') {
            if let Some(m) = match_at(input, i) {
                out.push_str(&input[copied_to..i]);
                let n = m.escapes;
                if n % 2 == 1 {
                    // Escaped: drop (n+1)/2 backslashes, keep the text.
                    out.push_str(&input[i + n.div_ceil(2)..m.end]);
                } else {
                    out.push_str(&input[i..i + n / 2]);
                    match env.get(m.name) {
                        Some(v) => {
                            from_env = true;
                            out.push_str(v);
                            if v.is_empty() && !empty.iter().any(|e| e == m.name) {
                                empty.push(m.name.to_string());
                            }
                        }
                        None if m.optional => {}
                        None => {
                            out.push_str("${");
                            out.push_str(m.name);
                            out.push('}');
                            if !unset.iter().any(|u| u == m.name) {
                                unset.push(m.name.to_string());
                            }
                        }
                    }
                }
                i = m.end;
                copied_to = m.end;
                continue;
            }
        }
        i += input[i..].chars().next().map_or(1, char::len_utf8);
    }
    out.push_str(&input[copied_to..]);
    Expanded {
        value: out,
        unset,
        empty,
        from_env,
    }
}

struct Match<'a> {
    escapes: usize,
    name: &'a str,
    optional: bool,
    end: usize,
}

/// `(\\*)\$\{([^${}?]+)(\?)?\}` anchored at `start`.
fn match_at(input: &str, start: usize) -> Option<Match<'_>> {
    let bytes = input.as_bytes();
    let mut j = start;
    while j < bytes.len() && bytes[j] == b'\\' {
        j += 1;
    }
    let escapes = j - start;
    if !input[j..].starts_with("${") {
        return None;
    }
    let name_start = j + 2;
    let name_len = input[name_start..]
        .find(['$', '{', '}', '?'])
        .unwrap_or(input.len() - name_start);
    if name_len == 0 {
        return None;
    }
    let name_end = name_start + name_len;
    let rest = &input[name_end..];
    let (optional, end) = if rest.starts_with("?}") {
        (true, name_end + 2)
    } else if rest.starts_with('}') {
        (false, name_end + 1)
    } else {
        return None;
    };
    Some(Match {
        escapes,
        name: &input[name_start..name_end],
        optional,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are what npm 11.19.1's env-replace.js returns with
    /// `{ SET: "v", EMPTY: "" }` as the environment.
    #[test]
    fn expansion_table() {
        let env = Env::from_pairs([("SET", "v"), ("EMPTY", ""), ("A B", "sp")]);
        let cases: &[(&str, &str, &[&str])] = &[
            ("${SET}", "v", &[]),
            ("x${SET}y", "xvy", &[]),
            ("${EMPTY}", "", &[]),
            ("${UNSET}", "${UNSET}", &["UNSET"]),
            ("${UNSET?}", "", &[]),
            ("${SET?}", "v", &[]),
            ("${EMPTY?}", "", &[]),
            ("\\${SET}", "${SET}", &[]),
            ("\\\\${SET}", "\\v", &[]),
            ("\\\\\\${SET}", "\\${SET}", &[]),
            ("\\\\\\\\${SET}", "\\\\v", &[]),
            ("\\${UNSET}", "${UNSET}", &[]),
            ("a\\b${SET}", "a\\bv", &[]),
            ("${SET}${SET}", "vv", &[]),
            ("${UNSET}${UNSET}", "${UNSET}${UNSET}", &["UNSET"]),
            ("${}", "${}", &[]),
            ("${SET", "${SET", &[]),
            ("$SET", "$SET", &[]),
            ("${A${SET}}", "${Av}", &[]),
            ("${A B}", "sp", &[]),
            ("${SET?x}", "${SET?x}", &[]),
            ("${SET??}", "${SET??}", &[]),
            (
                "pre ${NODE_AUTH_TOKEN} post",
                "pre ${NODE_AUTH_TOKEN} post",
                &["NODE_AUTH_TOKEN"],
            ),
            ("é${SET}é", "évé", &[]),
        ];
        for (input, want, unset) in cases {
            let got = env_replace(input, &env);
            assert_eq!(got.value, *want, "value of {input:?}");
            assert_eq!(got.unset, *unset, "unset of {input:?}");
        }
    }
}
