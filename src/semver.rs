//! Version strings as node-semver 7 (bundled with npm 11) parses them.
//!
//! Only what trustpub needs: `valid` in strict and loose mode, `clean`, and the
//! ordering used by the publish checks. The grammar is node-semver's `FULL` and
//! `LOOSE` expressions, including its length and safe-integer limits.

use std::cmp::Ordering;
use std::sync::OnceLock;

use regex::Regex;

/// node-semver's `MAX_LENGTH`.
const MAX_LENGTH: usize = 256;
/// `Number.MAX_SAFE_INTEGER`: larger components make node-semver throw.
const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// A parsed version: the three numbers, the prerelease identifiers and the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub prerelease: Vec<Identifier>,
    pub build: Vec<String>,
}

/// One prerelease identifier: numeric ones compare as numbers and sort first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Numeric(u64),
    Alpha(String),
}

fn full_regex(loose: bool) -> &'static Regex {
    static STRICT: OnceLock<Regex> = OnceLock::new();
    static LOOSE: OnceLock<Regex> = OnceLock::new();
    let cell = if loose { &LOOSE } else { &STRICT };
    cell.get_or_init(|| {
        let letterdash = "[a-zA-Z0-9-]";
        let num = "0|[1-9]\\d*";
        let num_loose = "\\d+";
        let nonnum = format!("\\d*[a-zA-Z-]{letterdash}*");
        let build = format!("(?:\\+({letterdash}+(?:\\.{letterdash}+)*))");
        let src = if loose {
            let pre_id = format!("(?:{nonnum}|{num_loose})");
            format!(
                "^[v=\\s]*({num_loose})\\.({num_loose})\\.({num_loose})(?:-?({pre_id}(?:\\.{pre_id})*))?{build}?$"
            )
        } else {
            let pre_id = format!("(?:{nonnum}|{num})");
            format!(
                "^v?({num})\\.({num})\\.({num})(?:-({pre_id}(?:\\.{pre_id})*))?{build}?$"
            )
        };
        // The pattern is a constant built above; it always compiles.
        Regex::new(&src).unwrap_or_else(|e| panic!("semver regex: {e}"))
    })
}

impl Version {
    /// `new SemVer(v, loose)` without throwing: `None` where node-semver throws.
    pub fn parse(v: &str, loose: bool) -> Option<Version> {
        if v.len() > MAX_LENGTH {
            return None;
        }
        let caps = full_regex(loose).captures(v.trim())?;
        let number = |i: usize| -> Option<u64> {
            let n: u64 = caps.get(i)?.as_str().parse().ok()?;
            (n <= MAX_SAFE_INTEGER).then_some(n)
        };
        let prerelease = match caps.get(4) {
            None => Vec::new(),
            Some(m) => m
                .as_str()
                .split('.')
                .map(|id| {
                    if id.bytes().all(|b| b.is_ascii_digit()) {
                        id.parse::<u64>()
                            .ok()
                            .filter(|n| *n <= MAX_SAFE_INTEGER)
                            .map(Identifier::Numeric)
                            .unwrap_or_else(|| Identifier::Alpha(id.to_string()))
                    } else {
                        Identifier::Alpha(id.to_string())
                    }
                })
                .collect(),
        };
        let build = caps
            .get(5)
            .map(|m| m.as_str().split('.').map(str::to_string).collect())
            .unwrap_or_default();
        Some(Version {
            major: number(1)?,
            minor: number(2)?,
            patch: number(3)?,
            prerelease,
            build,
        })
    }

    /// True when the version has a prerelease part (`1.0.0-beta.1`).
    pub fn is_prerelease(&self) -> bool {
        !self.prerelease.is_empty()
    }
}

impl std::fmt::Display for Version {
    /// node-semver's `version` property: no build metadata.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, id) in self.prerelease.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            match id {
                Identifier::Numeric(n) => write!(f, "{n}")?,
                Identifier::Alpha(s) => f.write_str(s)?,
            }
        }
        Ok(())
    }
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => a.cmp(b),
            (Identifier::Numeric(_), Identifier::Alpha(_)) => Ordering::Less,
            (Identifier::Alpha(_), Identifier::Numeric(_)) => Ordering::Greater,
            (Identifier::Alpha(a), Identifier::Alpha(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// node-semver's `compare`: build metadata is ignored.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(
                || match (self.prerelease.is_empty(), other.prerelease.is_empty()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    (false, false) => self.prerelease.cmp(&other.prerelease),
                },
            )
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `semver.valid(v, loose)`: the normalised version string, or `None`.
pub fn valid(v: &str, loose: bool) -> Option<String> {
    Version::parse(v, loose).map(|v| v.to_string())
}

/// `semver.clean(v, loose)`: strips whitespace and a leading `=`/`v`, then `valid`.
pub fn clean(v: &str, loose: bool) -> Option<String> {
    let trimmed = v.trim().trim_start_matches(['=', 'v']);
    valid(trimmed, loose)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_and_loose_validity_match_node_semver() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            // (input, valid strict, valid loose)
            ("1.2.3", Some("1.2.3"), Some("1.2.3")),
            ("v1.2.3", Some("1.2.3"), Some("1.2.3")),
            ("=v1.2.3", None, Some("1.2.3")),
            (" 1.2.3 ", Some("1.2.3"), Some("1.2.3")),
            ("1.2.3-beta.1", Some("1.2.3-beta.1"), Some("1.2.3-beta.1")),
            ("1.2.3beta", None, Some("1.2.3-beta")),
            ("01.2.3", None, Some("1.2.3")),
            ("1.2.3-01", None, Some("1.2.3-1")),
            ("1.2.3+build.5", Some("1.2.3"), Some("1.2.3")),
            ("1.2", None, None),
            ("x", None, None),
            ("", None, None),
            ("1.2.3.4", None, None),
            ("9007199254740992.0.0", None, None),
            // node-semver really does accept this loosely, as "1.2.3--".
            ("1.2.3-", None, Some("1.2.3--")),
        ];
        for (input, strict, loose) in cases {
            assert_eq!(valid(input, false).as_deref(), *strict, "strict {input:?}");
            assert_eq!(valid(input, true).as_deref(), *loose, "loose {input:?}");
        }
        assert_eq!(clean(" =v1.2.3 ", false).as_deref(), Some("1.2.3"));
    }

    #[test]
    fn ordering_follows_semver_precedence() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
            "2.0.0",
        ];
        let parsed: Vec<Version> = order
            .iter()
            .map(|v| Version::parse(v, false).expect(v))
            .collect();
        for pair in parsed.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
        }
    }
}
