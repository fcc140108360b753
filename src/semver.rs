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
        // JavaScript's `\s` and `\d`, not Rust's Unicode classes. The
        // pattern is a constant built above; it always compiles.
        let src = src
            .replace("\\s", crate::js::JS_SPACE_CLASS)
            .replace("\\d", "[0-9]");
        Regex::new(&src).unwrap_or_else(|e| panic!("semver regex: {e}"))
    })
}

impl Version {
    /// `new SemVer(v, loose)` without throwing: `None` where node-semver throws.
    pub fn parse(v: &str, loose: bool) -> Option<Version> {
        if v.len() > MAX_LENGTH {
            return None;
        }
        let caps = full_regex(loose).captures(crate::js::js_trim(v))?;
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
    let trimmed = crate::js::js_trim(v).trim_start_matches(['=', 'v']);
    valid(trimmed, loose)
}

/// `semver.validRange(range, loose)`: the normalised range string, `"*"`
/// for "any version", or `None` where node-semver's `Range` constructor
/// throws. A faithful port of node-semver 7's `classes/range.js` pipeline
/// (hyphen ranges, comparator/tilde/caret trimming, carets, tildes,
/// x-ranges, stars, `>=0.0.0`), using its bounded "safe" regular
/// expressions (`internal/re.js`). npm refuses a `--tag` that this accepts
/// in strict mode (`lib/commands/publish.js`), and npm-package-arg treats a
/// spec it accepts in loose mode as a range rather than a tag.
pub fn valid_range(range: &str, loose: bool) -> Option<String> {
    range::valid_range(range, loose)
}

mod range {
    use super::{Version, MAX_SAFE_INTEGER};
    use crate::js::{is_js_space, js_trim, JS_SPACE_CLASS};
    use regex::{Captures, Regex};
    use std::sync::OnceLock;

    /// `s.split(/\s+/)`.
    fn split_ws(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if is_js_space(c) {
                out.push(&s[start..i]);
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if !is_js_space(d) {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                start = end;
            }
        }
        out.push(&s[start..]);
        out
    }

    /// node-semver's `makeSafeRegex`, then JS `\s`/`\d` spelled for Rust.
    fn js_regex(src: &str) -> Regex {
        let mut safe = src.to_string();
        for (token, max) in [(r"\s", 1), (r"\d", 256), ("[a-zA-Z0-9-]", 250)] {
            safe = safe
                .replace(&format!("{token}*"), &format!("{token}{{0,{max}}}"))
                .replace(&format!("{token}+"), &format!("{token}{{1,{max}}}"));
        }
        let rust = safe.replace(r"\s", JS_SPACE_CLASS).replace(r"\d", "[0-9]");
        regex::RegexBuilder::new(&rust)
            .size_limit(64 << 20)
            .build()
            .unwrap_or_else(|e| panic!("semver range regex {src}: {e}"))
    }

    struct Res {
        build: Regex,
        build_strip: Regex,
        hyphen: Regex,
        comparator_trim: Regex,
        tilde_trim: Regex,
        caret_trim: Regex,
        caret: Regex,
        tilde: Regex,
        xrange: Regex,
        star: Regex,
        gte0: Regex,
        comparator: Regex,
        comparator_loose: Regex,
    }

    fn res(loose: bool) -> &'static Res {
        static STRICT: OnceLock<Res> = OnceLock::new();
        static LOOSE: OnceLock<Res> = OnceLock::new();
        let cell = if loose { &LOOSE } else { &STRICT };
        cell.get_or_init(|| {
            let num = r"0|[1-9]\d*";
            let num_loose = r"\d+";
            let nonnum = r"\d*[a-zA-Z-][a-zA-Z0-9-]*";
            let main = format!(r"({num})\.({num})\.({num})");
            let main_loose = format!(r"({num_loose})\.({num_loose})\.({num_loose})");
            let pre_id = format!("(?:{nonnum}|{num})");
            let pre_id_loose = format!("(?:{nonnum}|{num_loose})");
            let pre = format!(r"(?:-({pre_id}(?:\.{pre_id})*))");
            let pre_loose = format!(r"(?:-?({pre_id_loose}(?:\.{pre_id_loose})*))");
            let build = r"(?:\+([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*))".to_string();
            let full_plain = format!("v?{main}{pre}?{build}?");
            let loose_plain = format!(r"[v=\s]*{main_loose}{pre_loose}?{build}?");
            let gtlt = "((?:<|>)?=?)";
            let xid = format!(r"{num}|x|X|\*");
            let xid_loose = format!(r"{num_loose}|x|X|\*");
            let xplain = format!(
                r"[v=\s]*({xid})(?:\.({xid})(?:\.({xid})(?:{pre})?{build}?)?)?"
            );
            let xplain_loose = format!(
                r"[v=\s]*({xid_loose})(?:\.({xid_loose})(?:\.({xid_loose})(?:{pre_loose})?{build}?)?)?"
            );
            let xp = if loose { &xplain_loose } else { &xplain };
            // The build-metadata stripper is the one regex built from the
            // unbounded source (`BUILDSTRIPRE`), so it skips `makeSafeRegex`.
            let build_strip = Regex::new(&build.replace(r"\s", JS_SPACE_CLASS))
                .unwrap_or_else(|e| panic!("semver build regex: {e}"));
            Res {
                build: js_regex(&build),
                build_strip,
                hyphen: js_regex(&format!(r"^\s*({xp})\s+-\s+({xp})\s*$")),
                comparator_trim: js_regex(&format!(r"(\s*){gtlt}\s*({loose_plain}|{xplain})")),
                tilde_trim: js_regex(r"(\s*)(?:~>?)\s+"),
                caret_trim: js_regex(r"(\s*)(?:\^)\s+"),
                caret: js_regex(&format!(r"^(?:\^){xp}$")),
                tilde: js_regex(&format!(r"^(?:~>?){xp}$")),
                xrange: js_regex(&format!(r"^{gtlt}\s*{xp}$")),
                star: js_regex(r"(<|>)?=?\s*\*"),
                gte0: js_regex(r"^\s*>=\s*0\.0\.0\s*$"),
                comparator: js_regex(&format!(r"^{gtlt}\s*({full_plain})$|^$")),
                comparator_loose: js_regex(&format!(r"^{gtlt}\s*({loose_plain})$|^$")),
            }
        })
    }

    fn group<'a>(c: &Captures<'a>, i: usize) -> Option<&'a str> {
        c.get(i).map(|m| m.as_str())
    }

    /// `isX`: absent, empty, `x`, `X` or `*`.
    fn is_x(id: Option<&str>) -> bool {
        match id {
            None => true,
            Some(s) => s.is_empty() || s.eq_ignore_ascii_case("x") || s == "*",
        }
    }

    /// JavaScript's `+n + 1` for a numeric identifier. Past
    /// `MAX_SAFE_INTEGER` JavaScript loses precision, but any such result
    /// makes the comparator invalid in both implementations, so only the
    /// fact that it is too large has to survive.
    fn inc(n: Option<&str>) -> String {
        let n = n.unwrap_or("");
        match n.parse::<u64>() {
            Ok(v) if v < MAX_SAFE_INTEGER => (v + 1).to_string(),
            _ => "99999999999999999999".to_string(),
        }
    }

    fn s(o: Option<&str>) -> &str {
        o.unwrap_or("")
    }

    /// `String.prototype.replace(re, fn)` for a non-global regex.
    fn replace_first(re: &Regex, input: &str, f: impl FnOnce(&Captures) -> String) -> String {
        match re.captures(input) {
            None => input.to_string(),
            Some(c) => {
                let m = c.get(0).map(|m| m.range()).unwrap_or(0..0);
                format!("{}{}{}", &input[..m.start], f(&c), &input[m.end..])
            }
        }
    }

    fn replace_caret(comp: &str, loose: bool) -> String {
        let re = &res(loose).caret;
        replace_first(re, comp, |c| {
            let (maj, min, pat, pr) = (group(c, 1), group(c, 2), group(c, 3), group(c, 4));
            let (ms, mi, pa) = (s(maj), s(min), s(pat));
            if is_x(maj) {
                String::new()
            } else if is_x(min) {
                format!(">={ms}.0.0 <{}.0.0-0", inc(maj))
            } else if is_x(pat) {
                if ms == "0" {
                    format!(">={ms}.{mi}.0 <{ms}.{}.0-0", inc(min))
                } else {
                    format!(">={ms}.{mi}.0 <{}.0.0-0", inc(maj))
                }
            } else if let Some(pr) = pr.filter(|p| !p.is_empty()) {
                if ms == "0" {
                    if mi == "0" {
                        format!(">={ms}.{mi}.{pa}-{pr} <{ms}.{mi}.{}-0", inc(pat))
                    } else {
                        format!(">={ms}.{mi}.{pa}-{pr} <{ms}.{}.0-0", inc(min))
                    }
                } else {
                    format!(">={ms}.{mi}.{pa}-{pr} <{}.0.0-0", inc(maj))
                }
            } else if ms == "0" {
                if mi == "0" {
                    format!(">={ms}.{mi}.{pa} <{ms}.{mi}.{}-0", inc(pat))
                } else {
                    format!(">={ms}.{mi}.{pa} <{ms}.{}.0-0", inc(min))
                }
            } else {
                format!(">={ms}.{mi}.{pa} <{}.0.0-0", inc(maj))
            }
        })
    }

    fn replace_tilde(comp: &str, loose: bool) -> String {
        let re = &res(loose).tilde;
        replace_first(re, comp, |c| {
            let (maj, min, pat, pr) = (group(c, 1), group(c, 2), group(c, 3), group(c, 4));
            let (ms, mi, pa) = (s(maj), s(min), s(pat));
            if is_x(maj) {
                String::new()
            } else if is_x(min) {
                format!(">={ms}.0.0 <{}.0.0-0", inc(maj))
            } else if is_x(pat) {
                format!(">={ms}.{mi}.0 <{ms}.{}.0-0", inc(min))
            } else if let Some(pr) = pr.filter(|p| !p.is_empty()) {
                format!(">={ms}.{mi}.{pa}-{pr} <{ms}.{}.0-0", inc(min))
            } else {
                format!(">={ms}.{mi}.{pa} <{ms}.{}.0-0", inc(min))
            }
        })
    }

    fn replace_xrange(comp: &str, loose: bool) -> String {
        let comp = js_trim(comp);
        let re = &res(loose).xrange;
        replace_first(re, comp, |c| {
            let whole = s(group(c, 0)).to_string();
            let mut gtlt = s(group(c, 1)).to_string();
            let (maj, min, pat) = (group(c, 2), group(c, 3), group(c, 4));
            if (is_x(maj) && !is_x(min))
                || (is_x(min) && pat.is_some_and(|p| !p.is_empty()) && !is_x(pat))
            {
                return comp.to_string();
            }
            let xmaj = is_x(maj);
            let xmin = xmaj || is_x(min);
            let xpat = xmin || is_x(pat);
            let any_x = xpat;
            if gtlt == "=" && any_x {
                gtlt.clear();
            }
            let mut pr = "";
            if xmaj {
                if gtlt == ">" || gtlt == "<" {
                    "<0.0.0-0".to_string()
                } else {
                    "*".to_string()
                }
            } else if !gtlt.is_empty() && any_x {
                let mut mj = s(maj).to_string();
                let mut mn = if xmin {
                    "0".to_string()
                } else {
                    s(min).to_string()
                };
                let mut pt = "0".to_string();
                if gtlt == ">" {
                    gtlt = ">=".to_string();
                    if xmin {
                        mj = inc(maj);
                        mn = "0".to_string();
                        pt = "0".to_string();
                    } else {
                        mn = inc(min);
                        pt = "0".to_string();
                    }
                } else if gtlt == "<=" {
                    gtlt = "<".to_string();
                    if xmin {
                        mj = inc(maj);
                    } else {
                        mn = inc(min);
                    }
                }
                if gtlt == "<" {
                    pr = "-0";
                }
                format!("{gtlt}{mj}.{mn}.{pt}{pr}")
            } else if xmin {
                format!(">={}.0.0{pr} <{}.0.0-0", s(maj), inc(maj))
            } else if xpat {
                format!(">={}.{}.0{pr} <{}.{}.0-0", s(maj), s(min), s(maj), inc(min))
            } else {
                whole
            }
        })
    }

    fn parse_comparator(comp: &str, loose: bool) -> String {
        let r = res(loose);
        let comp = replace_first(&r.build, comp, |_| String::new());
        let comp = split_ws(js_trim(&comp))
            .into_iter()
            .map(|c| replace_caret(c, loose))
            .collect::<Vec<_>>()
            .join(" ");
        let comp = split_ws(js_trim(&comp))
            .into_iter()
            .map(|c| replace_tilde(c, loose))
            .collect::<Vec<_>>()
            .join(" ");
        let comp = split_ws(&comp)
            .into_iter()
            .map(|c| replace_xrange(c, loose))
            .collect::<Vec<_>>()
            .join(" ");
        replace_first(&r.star, js_trim(&comp), |_| String::new())
    }

    fn hyphen_replace(c: &Captures) -> String {
        let from_raw = s(group(c, 1));
        let (fmaj, fmin, fpat) = (group(c, 2), group(c, 3), group(c, 4));
        let to_raw = s(group(c, 7));
        let (tmaj, tmin, tpat, tpr) = (group(c, 8), group(c, 9), group(c, 10), group(c, 11));
        let from = if is_x(fmaj) {
            String::new()
        } else if is_x(fmin) {
            format!(">={}.0.0", s(fmaj))
        } else if is_x(fpat) {
            format!(">={}.{}.0", s(fmaj), s(fmin))
        } else {
            // With or without a prerelease, node-semver keeps `from` as written.
            format!(">={from_raw}")
        };
        let to = if is_x(tmaj) {
            String::new()
        } else if is_x(tmin) {
            format!("<{}.0.0-0", inc(tmaj))
        } else if is_x(tpat) {
            format!("<{}.{}.0-0", s(tmaj), inc(tmin))
        } else if let Some(pr) = tpr.filter(|p| !p.is_empty()) {
            format!("<={}.{}.{}-{pr}", s(tmaj), s(tmin), s(tpat))
        } else {
            format!("<={to_raw}")
        };
        js_trim(&format!("{from} {to}")).to_string()
    }

    /// A parsed comparator: its `value` (`""` is "any").
    fn comparator(comp: &str, loose: bool) -> Option<String> {
        let comp = split_ws(js_trim(comp)).join(" ");
        let r = res(loose);
        let re = if loose {
            &r.comparator_loose
        } else {
            &r.comparator
        };
        let c = re.captures(&comp)?;
        let mut op = s(group(&c, 1)).to_string();
        if op == "=" {
            op.clear();
        }
        match group(&c, 2).filter(|v| !v.is_empty()) {
            None => Some(String::new()),
            Some(v) => {
                let version = Version::parse(v, loose)?;
                Some(format!("{op}{version}"))
            }
        }
    }

    const NULL_SET: &str = "<0.0.0-0";

    fn parse_range(range: &str, loose: bool) -> Option<Vec<String>> {
        let r = res(loose);
        let range = r.build_strip.replace_all(range, "").into_owned();
        let range = replace_first(&r.hyphen, &range, hyphen_replace);
        let range = r
            .comparator_trim
            .replace_all(&range, |c: &Captures| {
                format!("{}{}{}", s(group(c, 1)), s(group(c, 2)), s(group(c, 3)))
            })
            .into_owned();
        let range = r
            .tilde_trim
            .replace_all(&range, |c: &Captures| format!("{}~", s(group(c, 1))))
            .into_owned();
        let range = r
            .caret_trim
            .replace_all(&range, |c: &Captures| format!("{}^", s(group(c, 1))))
            .into_owned();
        let joined = range
            .split(' ')
            .map(|comp| parse_comparator(comp, loose))
            .collect::<Vec<_>>()
            .join(" ");
        let mut list: Vec<String> = split_ws(&joined)
            .into_iter()
            .map(|comp| replace_first(&r.gte0, js_trim(comp), |_| String::new()))
            .collect();
        if loose {
            list.retain(|comp| r.comparator_loose.is_match(comp));
        }
        // Every comparator is constructed (and may throw) before any is used.
        let parsed = list
            .iter()
            .map(|comp| comparator(comp, loose))
            .collect::<Option<Vec<String>>>()?;
        let mut values: Vec<String> = Vec::new();
        for value in parsed {
            if value == NULL_SET {
                return Some(vec![value]);
            }
            if !values.contains(&value) {
                values.push(value);
            }
        }
        if values.len() > 1 {
            values.retain(|v| !v.is_empty());
        }
        Some(values)
    }

    pub fn valid_range(range: &str, loose: bool) -> Option<String> {
        let raw = split_ws(js_trim(range)).join(" ");
        let mut set: Vec<Vec<String>> = Vec::new();
        for part in raw.split("||") {
            let comps = parse_range(js_trim(part), loose)?;
            if !comps.is_empty() {
                set.push(comps);
            }
        }
        if set.is_empty() {
            return None;
        }
        if set.len() > 1 {
            let first = set[0].clone();
            set.retain(|c| c[0] != NULL_SET);
            if set.is_empty() {
                set = vec![first];
            } else if set.len() > 1 {
                if let Some(any) = set.iter().find(|c| c.len() == 1 && c[0].is_empty()) {
                    set = vec![any.clone()];
                }
            }
        }
        let formatted = set
            .iter()
            .map(|comps| {
                comps
                    .iter()
                    .map(|c| js_trim(c).to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("||");
        Some(if formatted.is_empty() {
            "*".to_string()
        } else {
            formatted
        })
    }
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
            // JavaScript's trim and `\s`, as node-semver has them (checked
            // with Node 20): U+FEFF and U+3000 are space, U+0085 is not;
            // `\d` is ASCII only.
            ("\u{feff}1.2.3", Some("1.2.3"), Some("1.2.3")),
            ("\u{a0}1.2.3\u{3000}", Some("1.2.3"), Some("1.2.3")),
            ("\u{85}1.2.3", None, None),
            ("=v1.2.3\u{feff}", None, Some("1.2.3")),
            ("\u{661}.2.3", None, None),
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
        assert_eq!(clean("=v1.2.3\u{feff}", false).as_deref(), Some("1.2.3"));
        assert_eq!(clean("\u{85}1.2.3", false), None);
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

    /// Expected values are node-semver 7's own answers (npm 11.19.1's copy),
    /// `semver.validRange(r)` and `semver.validRange(r, true)`.
    #[test]
    fn valid_range_matches_node_semver() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("latest", None, None),
            ("next", None, None),
            ("beta", None, None),
            ("v1", Some(">=1.0.0 <2.0.0-0"), Some(">=1.0.0 <2.0.0-0")),
            ("1.x", Some(">=1.0.0 <2.0.0-0"), Some(">=1.0.0 <2.0.0-0")),
            ("^1.0.0", Some(">=1.0.0 <2.0.0-0"), Some(">=1.0.0 <2.0.0-0")),
            ("", Some("*"), Some("*")),
            ("x", Some("*"), Some("*")),
            ("X", Some("*"), Some("*")),
            ("*", Some("*"), Some("*")),
            ("1.2.3beta", None, Some("1.2.3-beta")),
            ("a b", None, None),
            (">=1", Some(">=1.0.0"), Some(">=1.0.0")),
            ("1 - 2", Some(">=1.0.0 <3.0.0-0"), Some(">=1.0.0 <3.0.0-0")),
            ("~1", Some(">=1.0.0 <2.0.0-0"), Some(">=1.0.0 <2.0.0-0")),
            ("=v1.2.3", Some("1.2.3"), Some("1.2.3")),
            ("||", Some("*"), Some("*")),
            ("1.2.3 || foo", None, Some("1.2.3")),
            ("foo || 1.2.3", None, Some("1.2.3")),
            ("1.2.3-", None, Some("1.2.3--")),
            ("v", None, None),
            ("01", None, Some(">=1.0.0 <2.0.0-0")),
            ("1.2.3.4", None, None),
            ("^99999999999999999999", None, None),
            ("9007199254740991.x", None, None),
            (
                ">9007199254740990.x",
                Some(">=9007199254740991.0.0"),
                Some(">=9007199254740991.0.0"),
            ),
            ("1.2.3+build", Some("1.2.3"), Some("1.2.3")),
            ("<1.0.0 >=2", Some("<1.0.0 >=2.0.0"), Some("<1.0.0 >=2.0.0")),
            ("latest1", None, None),
            ("next-1.0", None, None),
            ("1", Some(">=1.0.0 <2.0.0-0"), Some(">=1.0.0 <2.0.0-0")),
            ("rc", None, None),
            ("~1.2", Some(">=1.2.0 <1.3.0-0"), Some(">=1.2.0 <1.3.0-0")),
            ("~1.2.3", Some(">=1.2.3 <1.3.0-0"), Some(">=1.2.3 <1.3.0-0")),
            (
                "~1.2.3-beta.2",
                Some(">=1.2.3-beta.2 <1.3.0-0"),
                Some(">=1.2.3-beta.2 <1.3.0-0"),
            ),
            ("~0.0.1", Some(">=0.0.1 <0.1.0-0"), Some(">=0.0.1 <0.1.0-0")),
            ("~>1.2", Some(">=1.2.0 <1.3.0-0"), Some(">=1.2.0 <1.3.0-0")),
            ("^0.0.1", Some(">=0.0.1 <0.0.2-0"), Some(">=0.0.1 <0.0.2-0")),
            ("^0.1.2", Some(">=0.1.2 <0.2.0-0"), Some(">=0.1.2 <0.2.0-0")),
            ("^0.0", Some("<0.1.0-0"), Some("<0.1.0-0")),
            ("^0.x", Some("<1.0.0-0"), Some("<1.0.0-0")),
            (
                "^1.2.3-rc.1",
                Some(">=1.2.3-rc.1 <2.0.0-0"),
                Some(">=1.2.3-rc.1 <2.0.0-0"),
            ),
            (
                "^0.0.3-beta",
                Some(">=0.0.3-beta <0.0.4-0"),
                Some(">=0.0.3-beta <0.0.4-0"),
            ),
            (
                "^0.2.3-beta",
                Some(">=0.2.3-beta <0.3.0-0"),
                Some(">=0.2.3-beta <0.3.0-0"),
            ),
            (">1", Some(">=2.0.0"), Some(">=2.0.0")),
            (">1.2", Some(">=1.3.0"), Some(">=1.3.0")),
            ("<=1.2", Some("<1.3.0-0"), Some("<1.3.0-0")),
            ("<=1", Some("<2.0.0-0"), Some("<2.0.0-0")),
            ("<1.x", Some("<1.0.0-0"), Some("<1.0.0-0")),
            ("=1.x", Some(">=1.0.0 <2.0.0-0"), Some(">=1.0.0 <2.0.0-0")),
            (">*", Some("<0.0.0-0"), Some("<0.0.0-0")),
            ("<*", Some("<0.0.0-0"), Some("<0.0.0-0")),
            (">=*", Some("*"), Some("*")),
            (
                "1.2 - 3.4",
                Some(">=1.2.0 <3.5.0-0"),
                Some(">=1.2.0 <3.5.0-0"),
            ),
            (
                "1.2.3 - 3.4.5-rc.1",
                Some(">=1.2.3 <=3.4.5-rc.1"),
                Some(">=1.2.3 <=3.4.5-rc.1"),
            ),
            (
                "v1.2.3 - v2",
                Some(">=1.2.3 <3.0.0-0"),
                Some(">=1.2.3 <3.0.0-0"),
            ),
            ("* - 2", Some("<3.0.0-0"), Some("<3.0.0-0")),
            ("1 - *", Some(">=1.0.0"), Some(">=1.0.0")),
            (">= 1.2.3", Some(">=1.2.3"), Some(">=1.2.3")),
            (
                "> 1.2.3 < 2.0.0",
                Some(">1.2.3 <2.0.0"),
                Some(">1.2.3 <2.0.0"),
            ),
            ("~ 1.2", Some(">=1.2.0 <1.3.0-0"), Some(">=1.2.0 <1.3.0-0")),
            ("^ 1.2", Some(">=1.2.0 <2.0.0-0"), Some(">=1.2.0 <2.0.0-0")),
            ("1.2.3 1.2.3", Some("1.2.3"), Some("1.2.3")),
            ("<0.0.0-0 || 1.2.3", Some("1.2.3"), Some("1.2.3")),
            (
                "<0.0.0 || <0.0.0",
                Some("<0.0.0||<0.0.0"),
                Some("<0.0.0||<0.0.0"),
            ),
            (">=0.0.0", Some("*"), Some("*")),
            ("x || 1.2.3", Some("*"), Some("*")),
            ("1.2.3 || *", Some("*"), Some("*")),
            ("2.x.x", Some(">=2.0.0 <3.0.0-0"), Some(">=2.0.0 <3.0.0-0")),
            ("1.x.3", None, None),
            ("x.1", None, None),
            (
                "1.2.x-beta",
                Some(">=1.2.0 <1.3.0-0"),
                Some(">=1.2.0 <1.3.0-0"),
            ),
            ("1.2.3-01", None, Some("1.2.3-1")),
            ("1.2.3-0a", Some("1.2.3-0a"), Some("1.2.3-0a")),
            ("  1.2.3  ", Some("1.2.3"), Some("1.2.3")),
            ("1.2.3\u{a0}", Some("1.2.3"), Some("1.2.3")),
            ("\u{feff}1.2.3", Some("1.2.3"), Some("1.2.3")),
            ("1.2.3 - ", None, Some("1.2.3")),
            ("- 1.2.3", None, Some("1.2.3")),
            ("1.2.3 -1.2.4", None, Some("1.2.3")),
            ("~v1.2", Some(">=1.2.0 <1.3.0-0"), Some(">=1.2.0 <1.3.0-0")),
            ("^v1.2", Some(">=1.2.0 <2.0.0-0"), Some(">=1.2.0 <2.0.0-0")),
            ("~=1.2", Some(">=1.2.0 <1.3.0-0"), Some(">=1.2.0 <1.3.0-0")),
            ("==1.2.3", None, Some("1.2.3")),
            ("=1.2.3", Some("1.2.3"), Some("1.2.3")),
            ("v1.2.3", Some("1.2.3"), Some("1.2.3")),
            ("1.2.3-alpha+001", Some("1.2.3-alpha"), Some("1.2.3-alpha")),
            (
                ">1.2.3-beta.1+meta",
                Some(">1.2.3-beta.1"),
                Some(">1.2.3-beta.1"),
            ),
            ("1.2.3+a+b", Some("1.2.3"), Some("1.2.3")),
            ("dev", None, None),
            ("canary", None, None),
            ("next-2", None, None),
            ("preview", None, None),
            ("v1-beta", None, None),
            ("1.0.0-rc", Some("1.0.0-rc"), Some("1.0.0-rc")),
            ("latest-1", None, None),
            ("2024.01.01", None, Some("2024.1.1")),
            ("1.01.1", None, Some("1.1.1")),
            ("^01.2.3", None, Some(">=1.2.3 <2.0.0-0")),
            ("1.2.3-beta.01", None, Some("1.2.3-beta.1")),
            (
                ">=1.2.3 <1.2.3",
                Some(">=1.2.3 <1.2.3"),
                Some(">=1.2.3 <1.2.3"),
            ),
            (
                "1.2.3 || ^2",
                Some("1.2.3||>=2.0.0 <3.0.0-0"),
                Some("1.2.3||>=2.0.0 <3.0.0-0"),
            ),
            ("<=x", Some("*"), Some("*")),
            ("<x", Some("<0.0.0-0"), Some("<0.0.0-0")),
            ("=x", Some("*"), Some("*")),
            ("!1.2.3", None, None),
            ("1.2.3 ! 1.2.4", None, Some("1.2.3 1.2.4")),
            (
                "1.2.3\t||\t2",
                Some("1.2.3||>=2.0.0 <3.0.0-0"),
                Some("1.2.3||>=2.0.0 <3.0.0-0"),
            ),
            (
                "1.2.3||2",
                Some("1.2.3||>=2.0.0 <3.0.0-0"),
                Some("1.2.3||>=2.0.0 <3.0.0-0"),
            ),
            (
                ">=1.2.3 || <1.0.0 || 2.x",
                Some(">=1.2.3||<1.0.0||>=2.0.0 <3.0.0-0"),
                Some(">=1.2.3||<1.0.0||>=2.0.0 <3.0.0-0"),
            ),
            (
                "3.x || 1.x || 3.x",
                Some(">=3.0.0 <4.0.0-0||>=1.0.0 <2.0.0-0||>=3.0.0 <4.0.0-0"),
                Some(">=3.0.0 <4.0.0-0||>=1.0.0 <2.0.0-0||>=3.0.0 <4.0.0-0"),
            ),
        ];
        let mut failures = Vec::new();
        for (input, strict, loose) in cases {
            let got = (valid_range(input, false), valid_range(input, true));
            if got.0.as_deref() != *strict || got.1.as_deref() != *loose {
                failures.push(format!(
                    "{input:?}: got {got:?}, want ({strict:?}, {loose:?})"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
