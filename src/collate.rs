//! The two orders npm uses, with a real ICU collator (ICU4X, locale `en`).
//!
//! * Tar entry order (npm-packlist's `sort`): `extname`, then `basename` (both
//!   lower-cased), then the whole path, each with `localeCompare(x, 'en')`:
//!   ICU's tertiary strength, no numeric ordering.
//! * The notice listing (`npm/lib/utils/tar.js`): `Intl.Collator('en',
//!   {sensitivity: 'case', numeric: true})`, i.e. primary strength with the
//!   case level on and numeric ordering, upper-case-initial names first.
//!
//! Both sorts turn each string into a sort key once and compare keys
//! bytewise: for printable ASCII, keys built from the collator's own ranks
//! (the usual case, a few hundred nanoseconds a path); otherwise ICU4X's
//! sort keys. The tests check both against the collators on random strings.

use std::cmp::Ordering;
use std::sync::OnceLock;

use icu_collator::options::{CaseLevel, CollatorOptions, Strength};
use icu_collator::preferences::CollationNumericOrdering;
use icu_collator::CollatorPreferences;
use icu_collator::{Collator, CollatorBorrowed};
use icu_locale::locale;

use crate::js::{path_basename, path_extname};

fn en_default() -> &'static CollatorBorrowed<'static> {
    static C: OnceLock<CollatorBorrowed<'static>> = OnceLock::new();
    C.get_or_init(|| {
        let prefs = CollatorPreferences::from(&locale!("en"));
        // Baked data for "en" is compiled in; this cannot fail at run time.
        Collator::try_new(prefs, CollatorOptions::default())
            .unwrap_or_else(|e| panic!("ICU collator data for en: {e}"))
    })
}

fn en_case_numeric() -> &'static CollatorBorrowed<'static> {
    static C: OnceLock<CollatorBorrowed<'static>> = OnceLock::new();
    C.get_or_init(|| {
        let mut prefs = CollatorPreferences::from(&locale!("en"));
        prefs.numeric_ordering = Some(CollationNumericOrdering::True);
        let mut options = CollatorOptions::default();
        options.strength = Some(Strength::Primary);
        options.case_level = Some(CaseLevel::On);
        Collator::try_new(prefs, options)
            .unwrap_or_else(|e| panic!("ICU collator data for en: {e}"))
    })
}

/// `a.localeCompare(b, 'en')`.
pub fn locale_compare(a: &str, b: &str) -> Ordering {
    en_default().compare(a, b)
}

/// ICU's order for printable ASCII under `localeCompare(…, 'en')`: the
/// primary rank of each byte (letters share a rank across case; 0 marks a
/// byte the fast path does not handle, such as the ignorable controls).
/// Read off the collator itself, so it cannot disagree with it.
fn ascii_primary_ranks() -> &'static [u8; 128] {
    static RANKS: OnceLock<[u8; 128]> = OnceLock::new();
    RANKS.get_or_init(|| {
        let mut primary_opts = CollatorOptions::default();
        primary_opts.strength = Some(Strength::Primary);
        let primary = Collator::try_new(CollatorPreferences::from(&locale!("en")), primary_opts)
            .unwrap_or_else(|e| panic!("ICU collator data for en: {e}"));
        let mut chars: Vec<u8> = (0x09u8..=0x0d).chain(0x20..=0x7e).collect();
        let one = |b: u8| char::from(b).to_string();
        chars.sort_by(|&x, &y| primary.compare(&one(x), &one(y)));
        let mut ranks = [0u8; 128];
        let mut rank = 0u8;
        for (i, &c) in chars.iter().enumerate() {
            if i == 0 || primary.compare(&one(chars[i - 1]), &one(c)) != Ordering::Equal {
                rank += 1;
            }
            ranks[usize::from(c)] = rank;
        }
        ranks
    })
}

/// `localeCompare(a, b, 'en')` for strings of printable ASCII: primary
/// ranks first, then case (lower before upper) at the tertiary level. `None`
/// when a byte is outside that set and the full collator must decide.
fn ascii_compare(a: &str, b: &str) -> Option<Ordering> {
    let ranks = ascii_primary_ranks();
    let rank = |c: u8| -> Option<u8> {
        let r = *ranks.get(usize::from(c))?;
        (r != 0).then_some(r)
    };
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let mut tertiary = Ordering::Equal;
    for (&p, &q) in x.iter().zip(y) {
        let (rp, rq) = (rank(p)?, rank(q)?);
        if rp != rq {
            // Still check the rest is in range before trusting the answer.
            if x.iter().chain(y).all(|&c| rank(c).is_some()) {
                return Some(rp.cmp(&rq));
            }
            return None;
        }
        if tertiary == Ordering::Equal && p != q {
            tertiary = p.is_ascii_uppercase().cmp(&q.is_ascii_uppercase());
        }
    }
    let (rest_x, rest_y) = (&x[x.len().min(y.len())..], &y[x.len().min(y.len())..]);
    if !rest_x.iter().chain(rest_y).all(|&c| rank(c).is_some()) {
        return None;
    }
    Some(x.len().cmp(&y.len()).then(tertiary))
}

/// `a.localeCompare(b, 'en')`, with a fast path for printable ASCII.
pub fn compare_en(a: &str, b: &str) -> Ordering {
    ascii_compare(a, b).unwrap_or_else(|| en_default().compare(a, b))
}

/// Sorts paths into tar entry order: npm-packlist's comparator (`extname`,
/// then `basename`, both lower-cased, then the whole path, each with
/// `localeCompare(x, 'en')`). The sort is stable, as V8's is, so paths that
/// collate equal keep the order they were found in.
///
/// Each string is turned into a sort key once, so the sort compares bytes
/// instead of running the collation algorithm O(n log n) times: when every
/// path is printable ASCII (the usual case), keys made from the ranks of
/// `ascii_compare`; otherwise ICU's sort keys (bytewise comparison of
/// keys is the collator's comparison).
pub fn sort_for_pack(paths: &mut Vec<String>) {
    let ascii = paths.iter().all(|p| is_fast_ascii(p));
    let collator = en_default();
    let mut keys = KeyBuffer::default();
    let mut keyed: Vec<([Span; 3], String)> = paths
        .drain(..)
        .map(|p| {
            let spans = if ascii {
                // Ranks ignore case, so the lower-cased forms need no copy.
                [
                    keys.push_ascii(path_extname(&p), true),
                    keys.push_ascii(path_basename(&p), true),
                    keys.push_ascii(&p, false),
                ]
            } else {
                [
                    keys.push(collator, &js_lower(path_extname(&p))),
                    keys.push(collator, &js_lower(path_basename(&p))),
                    keys.push(collator, &p),
                ]
            };
            (spans, p)
        })
        .collect();
    keyed.sort_by(|a, b| {
        let k = |x: &[Span; 3], i: usize| keys.get(x[i]);
        k(&a.0, 0)
            .cmp(k(&b.0, 0))
            .then_with(|| k(&a.0, 1).cmp(k(&b.0, 1)))
            .then_with(|| k(&a.0, 2).cmp(k(&b.0, 2)))
    });
    paths.extend(keyed.into_iter().map(|(_, p)| p));
}

/// Whether every byte of `s` is in [`ascii_compare`]'s set.
fn is_fast_ascii(s: &str) -> bool {
    let ranks = ascii_primary_ranks();
    s.bytes()
        .all(|c| ranks.get(usize::from(c)).is_some_and(|&r| r != 0))
}

/// Stable sort of `items` by [`listing_compare`] of `path(item)`, through
/// sort keys as in [`sort_for_pack`]: for printable ASCII, keys that spell
/// out the listing collator's rules (see `KeyBuffer::push_ascii_listing`),
/// else ICU's.
pub fn sort_for_listing<T>(items: &mut Vec<T>, path: impl Fn(&T) -> &str) {
    let ascii = items.iter().all(|item| is_fast_listing_ascii(path(item)));
    let collator = en_case_numeric();
    let mut keys = KeyBuffer::default();
    let mut keyed: Vec<(Span, T)> = items
        .drain(..)
        .map(|item| {
            let span = if ascii {
                keys.push_ascii_listing(path(&item))
            } else {
                keys.push(collator, path(&item))
            };
            (span, item)
        })
        .collect();
    keyed.sort_by(|a, b| keys.get(a.0).cmp(keys.get(b.0)));
    items.extend(keyed.into_iter().map(|(_, item)| item));
}

/// Longest digit run the ASCII listing key handles (ICU splits numbers
/// longer than 254 digits; those take the ICU path).
const MAX_DIGITS: usize = 200;

/// [`is_fast_ascii`], and no run of more than [`MAX_DIGITS`] digits.
fn is_fast_listing_ascii(s: &str) -> bool {
    is_fast_ascii(s)
        && s.as_bytes()
            .split(|c| !c.is_ascii_digit())
            .all(|run| run.len() <= MAX_DIGITS)
}

/// Where one sort key sits in a [`KeyBuffer`].
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

/// Many sort keys in one allocation.
#[derive(Default)]
struct KeyBuffer {
    bytes: Vec<u8>,
}

impl KeyBuffer {
    fn push(&mut self, collator: &CollatorBorrowed<'_>, s: &str) -> Span {
        let start = self.bytes.len();
        // Writing into a Vec cannot fail.
        let _ = collator.write_sort_key_to(s, &mut self.bytes);
        Span {
            start: start as u32,
            len: (self.bytes.len() - start) as u32,
        }
    }

    /// The key of [`ascii_compare`]'s order for a string that passed
    /// [`is_fast_ascii`]: the primary ranks, a 0 (so a prefix sorts
    /// first), then one case byte per character (1 for anything but an
    /// upper-case letter, 2 for one), so that among strings with the same
    /// ranks the first case difference decides, lower case first.
    /// With `lower`, the key of `s` lower-cased.
    fn push_ascii(&mut self, s: &str, lower: bool) -> Span {
        let ranks = ascii_primary_ranks();
        let start = self.bytes.len();
        self.bytes
            .extend(s.bytes().map(|c| ranks[usize::from(c & 0x7f)]));
        self.bytes.push(0);
        self.bytes.extend(
            s.bytes()
                .map(|c| 1 + u8::from(!lower && c.is_ascii_uppercase())),
        );
        Span {
            start: start as u32,
            len: (self.bytes.len() - start) as u32,
        }
    }

    /// The listing collator's key (primary strength, case level, numeric
    /// ordering) for a string that passed [`is_fast_listing_ascii`]:
    ///
    /// * primary: each non-digit's rank; each digit run as one number in the
    ///   digits' place among the ranks (the rank of `0`), then its count of
    ///   significant digits and the digits (leading zeros do not count, as in
    ///   ICU: `a01` and `a1` collate equal);
    /// * a 0, so that a prefix sorts first;
    /// * case level: one byte per non-digit, 1 unless it is an upper-case
    ///   letter (2), so lower case sorts first. Numbers are uncased and at
    ///   this level both strings have the same numbers in the same places.
    fn push_ascii_listing(&mut self, s: &str) -> Span {
        let ranks = ascii_primary_ranks();
        let start = self.bytes.len();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                let run_start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let run = &b[run_start..i];
                // All zeros: the number zero, one digit.
                let significant = run
                    .iter()
                    .position(|&c| c != b'0')
                    .map_or(&run[run.len() - 1..], |p| &run[p..]);
                self.bytes.push(ranks[usize::from(b'0')]);
                self.bytes.push(significant.len().min(MAX_DIGITS) as u8);
                self.bytes.extend(significant.iter().map(|&c| c - b'0' + 1));
            } else {
                self.bytes.push(ranks[usize::from(b[i] & 0x7f)]);
                i += 1;
            }
        }
        self.bytes.push(0);
        self.bytes.extend(
            b.iter()
                .filter(|c| !c.is_ascii_digit())
                .map(|&c| 1 + u8::from(c.is_ascii_uppercase())),
        );
        Span {
            start: start as u32,
            len: (self.bytes.len() - start) as u32,
        }
    }

    fn get(&self, span: Span) -> &[u8] {
        &self.bytes[span.start as usize..(span.start + span.len) as usize]
    }
}

/// JavaScript's `String.prototype.toLowerCase` (full Unicode lower-casing).
pub fn js_lower(s: &str) -> String {
    s.to_lowercase()
}

/// `ch === ch.toUpperCase()` on the first UTF-16 unit of a path.
pub fn starts_upper(path: &str) -> bool {
    match path.chars().next() {
        None => true,
        // A supplementary-plane character's first UTF-16 unit is a lone
        // surrogate, which toUpperCase leaves alone.
        Some(c) if (c as u32) > 0xFFFF => true,
        Some(c) => {
            let mut up = c.to_uppercase();
            up.next() == Some(c) && up.next().is_none()
        }
    }
}

/// The notice listing's comparator.
pub fn listing_compare(a: &str, b: &str) -> Ordering {
    en_case_numeric().compare(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pack sort's keys use Node's `path.extname`/`path.basename`
    /// (`crate::js`, which has its own table); these are the names the
    /// sort's former copy was tested on.
    #[test]
    fn extname_matches_node() {
        let table = [
            (".npmrc", ""),
            ("a.", "."),
            ("..", ""),
            ("..a", ".a"),
            (".a.b", ".b"),
            ("a.b.c", ".c"),
            ("a", ""),
            ("dir.x/file", ""),
            ("x/.y", ""),
            ("a..b", ".b"),
        ];
        for (p, e) in table {
            assert_eq!(path_extname(p), e, "{p}");
        }
        for (p, b) in [
            ("a", "a"),
            ("lib/x.js", "x.js"),
            ("a/b/.c", ".c"),
            ("x/..", ".."),
        ] {
            assert_eq!(path_basename(p), b, "{p}");
        }
    }

    #[test]
    fn icu_orders_punctuation_digits_letters_and_case() {
        let mut v: Vec<&str> = vec!["b", "B", "a10", "a2", "_x", "-x", ".x", "1", "é", "e", "f"];
        v.sort_by(|a, b| locale_compare(a, b));
        assert_eq!(
            v,
            ["_x", "-x", ".x", "1", "a10", "a2", "b", "B", "e", "é", "f"]
        );
    }

    #[test]
    fn ascii_fast_path_orders_like_icu() {
        // Every pair from a set rich in the cases that matter, then random
        // strings: the fast path must agree with the collator or step aside.
        let words = [
            "",
            "a",
            "A",
            "b",
            "B",
            "_",
            "-",
            ".",
            "a.js",
            "a-b",
            "a_b",
            "a10",
            "a2",
            "é",
            "e",
            "E",
            "ß",
            "ss",
            "z",
            "Z",
            "@types",
            "./@x",
            "lib/index.js",
            "lib/Index.js",
            "ǅ",
            "ǆ",
            "Ǆ",
            "a\u{0301}",
            "á",
            "x y",
            "x\ty",
            "日本",
            "😀",
            "package.json",
            "README.md",
            "readme.md",
        ];
        for a in words {
            for b in words {
                assert_eq!(compare_en(a, b), locale_compare(a, b), "{a:?} vs {b:?}");
            }
        }
        let alphabet: Vec<u8> = (0x20u8..=0x7e).chain([b'\t', b'\n', 0x01, 0x7f]).collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..20_000u64 {
            let mut random = |len: u64| -> String {
                (0..len)
                    .map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize]))
                    .collect()
            };
            let a = random(1 + i % 6);
            let other = random(1 + i % 4);
            // Often a near-copy, so that ties and case differences are exercised.
            let b = match i % 3 {
                0 => a.to_ascii_uppercase(),
                1 => format!("{}{}", &a[..a.len().min(2)], other),
                _ => other,
            };
            assert_eq!(compare_en(&a, &b), locale_compare(&a, &b), "{a:?} vs {b:?}");
        }
    }

    /// Random relative paths over an alphabet rich in what collation
    /// treats specially: case, digits (numeric ordering), punctuation,
    /// accents, combining marks, ligatures, final sigma, astral characters.
    fn random_paths(n: usize, seed: u64, ascii: bool) -> Vec<String> {
        let rich: Vec<char> =
            "aAbBzZ0123456789009._-@~$ !#%&()+,;=[]^`{}'\téÉßǅǄǆΣσς日😀ﬁ½²\u{301}\u{1}"
                .chars()
                .collect();
        let alphabet: Vec<char> = if ascii {
            rich.into_iter()
                .filter(|c| c.is_ascii_graphic() || *c == ' ' || *c == '\t')
                .collect()
        } else {
            rich
        };
        let mut seed = seed;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut paths: Vec<String> = Vec::new();
        while paths.len() < n {
            let p = match next() % 4 {
                // Variants of an earlier path: ties, case and digit runs.
                0 if !paths.is_empty() => {
                    let q = paths[(next() % paths.len() as u64) as usize].clone();
                    match next() % 3 {
                        0 => q.to_uppercase(),
                        1 => q.replace('0', "00"),
                        _ => q.clone(),
                    }
                }
                _ => {
                    let segments = 1 + next() % 3;
                    (0..segments)
                        .map(|_| {
                            let len = 1 + next() % 7;
                            (0..len)
                                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                                .filter(|&c| c != '/')
                                .collect::<String>()
                        })
                        .collect::<Vec<_>>()
                        .join("/")
                }
            };
            paths.push(p);
        }
        paths
    }

    #[test]
    fn sort_keys_order_like_the_comparators() {
        for seed in [1u64, 2, 3, 4, 5, 6] {
            let paths = random_paths(3000, 0x9e37_79b9_7f4a_7c15 ^ seed, seed % 2 == 0);
            assert_eq!(paths.iter().all(|p| is_fast_ascii(p)), seed % 2 == 0);
            let mut by_keys = paths.clone();
            sort_for_pack(&mut by_keys);
            let mut by_compare = paths.clone();
            by_compare.sort_by(|a, b| {
                let lower = |p: &str, f: fn(&str) -> &str| js_lower(f(p));
                locale_compare(&lower(a, path_extname), &lower(b, path_extname))
                    .then_with(|| {
                        locale_compare(&lower(a, path_basename), &lower(b, path_basename))
                    })
                    .then_with(|| locale_compare(a, b))
            });
            assert_eq!(by_keys, by_compare, "tar order, seed {seed}");

            let mut by_keys: Vec<(usize, String)> = paths.iter().cloned().enumerate().collect();
            sort_for_listing(&mut by_keys, |(_, p)| p);
            let mut by_compare: Vec<(usize, String)> = paths.iter().cloned().enumerate().collect();
            by_compare.sort_by(|a, b| listing_compare(&a.1, &b.1));
            assert_eq!(by_keys, by_compare, "listing order, seed {seed}");
        }
    }

    #[test]
    fn listing_order_is_numeric_and_case_aware() {
        let mut v = vec!["a10", "a2", "B", "b"];
        v.sort_by(|a, b| listing_compare(a, b));
        assert_eq!(v, ["a2", "a10", "b", "B"]);
    }

    #[test]
    fn spec_observed_pack_order() {
        let mut v: Vec<String> = [
            ".github/w.yml",
            "@types/index.d.ts",
            "x.swp",
            "README.md",
            "CHANGELOG.md",
            "docs/a.md",
            "sub/package.json",
            "package.json",
            "sub/x.js",
            "top.js",
            "lib/index.js",
            "bin/cli.js",
            "LICENSE",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sort_for_pack(&mut v);
        assert_eq!(
            v,
            [
                "LICENSE",
                "bin/cli.js",
                "lib/index.js",
                "top.js",
                "sub/x.js",
                "package.json",
                "sub/package.json",
                "docs/a.md",
                "CHANGELOG.md",
                "README.md",
                "x.swp",
                "@types/index.d.ts",
                ".github/w.yml",
            ]
        );
    }
}
