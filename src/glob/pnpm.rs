//! pnpm's name matcher (`@pnpm/matcher`, used by `pnpm --filter`): `*`
//! matches any run of characters, `/` included, and nothing else is
//! special. It is not minimatch: `*foo*` matches `@scope/foo` here, and
//! `packages/*` matches `packages/a/b`.

use regex::Regex;

/// `matcher(pattern)(input)`: `'*'` matches everything; otherwise
/// `new RegExp('^' + escapeStringRegexp(pattern).replace(/\\\*/g, '.*') + '$')`,
/// whose `.` does not match a line terminator.
pub fn pnpm_matches(pattern: &str, input: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if !pattern.contains('*') {
        return pattern == input;
    }
    let body: Vec<String> = pattern.split('*').map(regex::escape).collect();
    let src = format!("^{}$", body.join("[^\n\r\u{2028}\u{2029}]*"));
    Regex::new(&src).is_ok_and(|re| re.is_match(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_any_run_slashes_included() {
        let cases = [
            ("*", "anything/at\nall", true),
            ("eslint-*", "eslint-plugin-foo", true),
            ("eslint-*", "eslint", false),
            ("*foo*", "@scope/foo", true),
            ("@scope/*", "@scope/a", true),
            ("@scope/*", "@scope/a/b", true),
            ("@scope/*", "@other/a", false),
            ("packages/*", "packages/a/b", true),
            ("a.b", "axb", false),
            ("a.*", "a.x", true),
            ("a+(b)*", "a+(b)c", true),
            ("a*", "a\nb", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("", "", true),
            ("x", "X", false),
        ];
        for (pattern, input, want) in cases {
            assert_eq!(
                pnpm_matches(pattern, input),
                want,
                "{pattern:?} vs {input:?}"
            );
        }
    }
}
