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

/// A sort key that caches the lower-cased parts npm-packlist compares.
pub struct PackKey {
    ext: String,
    base: String,
}

impl PackKey {
    pub fn new(path: &str) -> PackKey {
        PackKey {
            ext: js_lower(extname(path)),
            base: js_lower(basename(path)),
        }
    }
}

/// npm-packlist's comparator, given the keys made by [`PackKey::new`].
pub fn pack_order(a: (&str, &PackKey), b: (&str, &PackKey)) -> Ordering {
    let c = en_default();
    c.compare(&a.1.ext, &b.1.ext)
        .then_with(|| c.compare(&a.1.base, &b.1.base))
        .then_with(|| c.compare(a.0, b.0))
}

/// Sorts paths into tar entry order. The sort is stable, as V8's is, so
/// paths that collate equal keep the order they were found in.
pub fn sort_for_pack(paths: &mut Vec<String>) {
    let mut keyed: Vec<(PackKey, String)> =
        paths.drain(..).map(|p| (PackKey::new(&p), p)).collect();
    keyed.sort_by(|a, b| pack_order((&a.1, &a.0), (&b.1, &b.0)));
    paths.extend(keyed.into_iter().map(|(_, p)| p));
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
