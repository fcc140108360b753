//! The two orders npm uses, with a real ICU collator (ICU4X, locale `en`).
//!
//! * Tar entry order (npm-packlist's `sort`): `extname`, then `basename` (both
//!   lower-cased), then the whole path, each with `localeCompare(x, 'en')`:
//!   ICU's tertiary strength, no numeric ordering.
//! * The notice listing (`npm/lib/utils/tar.js`): `Intl.Collator('en',
//!   {sensitivity: 'case', numeric: true})`, i.e. primary strength with the
//!   case level on and numeric ordering, upper-case-initial names first.

use std::cmp::Ordering;
use std::sync::OnceLock;

use icu_collator::options::{CaseLevel, CollatorOptions, Strength};
use icu_collator::preferences::CollationNumericOrdering;
use icu_collator::CollatorPreferences;
use icu_collator::{Collator, CollatorBorrowed};
use icu_locale::locale;

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

/// Node's `path.posix.extname`.
pub fn extname(path: &str) -> &str {
    let base = basename(path);
    if base == ".." {
        return "";
    }
    match base.rfind('.') {
        Some(i) if i > 0 => &base[i..],
        _ => "",
    }
}

/// Node's `path.posix.basename` for a path without trailing slashes.
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
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
pub fn sort_for_pack(paths: &mut Vec<String>) {
    let mut keyed: Vec<(String, String, String)> = paths
        .drain(..)
        .map(|p| (js_lower(extname(&p)), js_lower(basename(&p)), p))
        .collect();
    keyed.sort_by(|a, b| {
        compare_en(&a.0, &b.0)
            .then_with(|| compare_en(&a.1, &b.1))
            .then_with(|| compare_en(&a.2, &b.2))
    });
    paths.extend(keyed.into_iter().map(|(_, _, p)| p));
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
            assert_eq!(extname(p), e, "{p}");
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
