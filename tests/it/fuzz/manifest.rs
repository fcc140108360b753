//! package.json reading (`Manifest::parse`), npm's manifest normalisation
//! and the registry document (`document::normalize_manifest`, `build`),
//! and semver.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use trustpub::document::{self, DocumentOptions, TarballSource};
use trustpub::manifest::Manifest;
use trustpub::semver;

use super::{config, nasty_line, nasty_string};
use crate::fuzz::tarball::{tgz, TarEntry};

/// The fields npm's normalisation looks at, and a few it passes through.
const FIELDS: &[&str] = &[
    "name",
    "version",
    "description",
    "main",
    "bin",
    "directories",
    "man",
    "scripts",
    "repository",
    "bugs",
    "homepage",
    "author",
    "contributors",
    "maintainers",
    "files",
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
    "bundleDependencies",
    "bundledDependencies",
    "engines",
    "license",
    "licenses",
    "readme",
    "readmeFilename",
    "publishConfig",
    "keywords",
    "types",
    "typings",
    "exports",
    "gitHead",
    "gypfile",
    "private",
    "workspaces",
    "tag",
    "dist",
    "_id",
    "funding",
    "__proto__",
];

pub fn json_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        Just(Value::from(9_007_199_254_740_993u64)),
        Just(Value::from(-0.0)),
        Just(Value::from(1e300)),
    ]
}

pub fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => json_number(),
        3 => nasty_string(6).prop_map(Value::String),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(FIELDS).prop_map(str::to_string),
        proptest::sample::select(&["bin", "man", "url", "type", "name", "email", "web"][..])
            .prop_map(str::to_string),
        nasty_line(3),
    ]
}

/// Any JSON value, nested up to 6 levels and about 64 nodes.
pub fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn version() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..20, 0u64..20, 0u64..20).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        "[v= ]{0,2}[0-9]{1,17}\\.[0-9]{1,3}\\.[0-9]{1,20}(-[0-9A-Za-z.-]{0,12})?(\\+[0-9A-Za-z.-]{0,8})?",
        nasty_line(4),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "(@[a-z0-9._-]{1,8}/)?[a-z0-9._-]{1,16}",
        "[A-Za-z0-9@/._~!*'()-]{0,20}",
        nasty_line(4),
    ]
}

/// Values shaped like what each field usually holds, with hostile parts.
fn field_value(field: &'static str) -> BoxedStrategy<Value> {
    let s = || nasty_line(4);
    match field {
        "repository" | "bugs" | "homepage" => prop_oneof![
            (
                proptest::sample::select(
                    &[
                        "github:",
                        "gitlab:",
                        "bitbucket:",
                        "gist:",
                        "git+https://github.com/",
                        "git+ssh://git@github.com/",
                        "git@github.com:",
                        "https://gitlab.com/",
                        "",
                    ][..]
                ),
                s(),
                s()
            )
                .prop_map(|(p, a, b)| Value::String(format!("{p}{a}/{b}"))),
            (s(), s(), s())
                .prop_map(|(t, u, d)| serde_json::json!({"type": t, "url": u, "directory": d})),
            json_value(),
        ]
        .boxed(),
        "author" | "contributors" | "maintainers" => {
            let person = prop_oneof![
                (s(), s(), s()).prop_map(|(n, e, u)| Value::String(format!("{n} <{e}> ({u})"))),
                (s(), s(), s())
                    .prop_map(|(n, e, u)| serde_json::json!({"name": n, "email": e, "url": u})),
                json_leaf(),
            ];
            prop_oneof![
                person.clone(),
                proptest::collection::vec(person, 0..4).prop_map(Value::Array),
            ]
            .boxed()
        }
        "bin" | "man" | "files" | "directories" | "scripts" | "bundleDependencies"
        | "dependencies" => prop_oneof![
            s().prop_map(Value::String),
            proptest::collection::vec(s().prop_map(Value::String), 0..4).prop_map(Value::Array),
            proptest::collection::vec((key(), s().prop_map(Value::String)), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            json_value(),
        ]
        .boxed(),
        _ => json_value().boxed(),
    }
}

/// A package.json object: usually a name and version, then hostile fields.
pub fn package_json() -> impl Strategy<Value = Map<String, Value>> {
    let fields =
        proptest::collection::vec(proptest::sample::select(FIELDS), 0..10).prop_flat_map(|names| {
            names
                .into_iter()
                .map(|n| field_value(n).prop_map(move |v| (n.to_string(), v)))
                .collect::<Vec<_>>()
        });
    (
        proptest::option::weighted(0.9, name()),
        proptest::option::weighted(0.9, version()),
        fields,
    )
        .prop_map(|(name, version, fields)| {
            let mut m = Map::new();
            if let Some(n) = name {
                m.insert("name".into(), Value::String(n));
            }
            if let Some(v) = version {
                m.insert("version".into(), Value::String(v));
            }
            for (k, v) in fields {
                m.insert(k, v);
            }
            m
        })
}

/// Text edits that JSON parsers trip on: deep nesting, lone surrogate
/// escapes, huge numbers, a BOM, NULs, truncation.
fn text_edit() -> impl Strategy<Value = (usize, String)> {
    (
        any::<usize>(),
        prop_oneof![
            (1usize..400).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
            (1usize..400).prop_map(|n| "{\"a\":".repeat(n) + "1" + &"}".repeat(n)),
            (1usize..400).prop_map(|n| "[".repeat(n)),
            Just("\"\\ud800\"".to_string()),
            Just("\"\\udc00\\ud800\"".to_string()),
            Just("1e400".to_string()),
            Just("-1e-400".to_string()),
            Just("123456789012345678901234567890".to_string()),
            Just("\u{feff}".to_string()),
            Just("\0".to_string()),
            Just("\"\u{2028}\"".to_string()),
            Just(",".to_string()),
            Just("}".to_string()),
            nasty_string(3),
        ],
    )
}

fn apply_edits(text: &str, edits: &[(usize, String)]) -> String {
    let mut t = text.to_string();
    for (at, s) in edits {
        let mut i = at % (t.len() + 1);
        while !t.is_char_boundary(i) {
            i -= 1;
        }
        t.insert_str(i, s);
    }
    t
}

fn opts() -> DocumentOptions<'static> {
    DocumentOptions {
        registry: "https://registry.npmjs.org/",
        tag: "latest",
        access: None,
        provenance_bundle: None,
    }
}

/// Files next to package.json that the normalisation reads.
fn side_files() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let names = proptest::sample::select(
        &[
            "README",
            "README.md",
            "readme.markdown",
            "README.txt",
            "AUTHORS",
            "server.js",
            "binding.gyp",
            "index.d.ts",
            "index.js",
            "man/a.1",
            "man/b.3.gz",
            "bin/x",
            "bin/.hidden",
            "lib/a.js",
        ][..],
    );
    proptest::collection::vec(
        (names, nasty_string(8).prop_map(String::into_bytes)).prop_map(|(n, b)| (n.to_string(), b)),
        0..5,
    )
}

/// Normalises and builds the registry document the way `publish FILE.tgz`
/// does, asserting the document's invariants when it succeeds.
fn normalize_and_build(raw: &Map<String, Value>, src: &TarballSource) {
    let Ok(manifest) = document::normalize_manifest(raw, src) else {
        return;
    };
    // The normalisation is a pure function of its inputs.
    assert_eq!(
        document::normalize_manifest(raw, src).ok(),
        Some(manifest.clone())
    );
    let Ok(doc) = document::build_from_normalized(manifest, b"tgz", "sha512-x", "00", &opts())
    else {
        return;
    };
    assert_eq!(doc["_id"], doc["name"]);
    let versions = doc["versions"].as_object().expect("versions is an object");
    assert_eq!(versions.len(), 1);
    let (v, body) = versions.iter().next().unwrap();
    assert_eq!(semver::valid(v, false).as_deref(), Some(v.as_str()));
    assert_eq!(body["version"], Value::String(v.clone()));
    // What goes on the wire is JSON a registry can read back.
    let wire = document::to_wire(&doc);
    let back: Value = serde_json::from_slice(&wire).unwrap_or_else(|e| {
        panic!(
            "to_wire made invalid JSON ({e}): {}",
            String::from_utf8_lossy(&wire)
        )
    });
    assert_eq!(back["name"], doc["name"]);
    assert_eq!(back["versions"].as_object().map(|o| o.len()), Some(1));
}

proptest! {
    #![proptest_config(config(256))]

    /// Any bytes: an error, never a panic.
    #[test]
    fn manifest_parse_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Manifest::parse(&bytes, Path::new("package.json"));
    }

    /// Structured package.json text with hostile edits: parsing returns,
    /// and what it accepts has a valid name and a loose semver version.
    #[test]
    fn manifest_parse_hostile_json(
        pkg in package_json(),
        edits in proptest::collection::vec(text_edit(), 0..3),
    ) {
        let text = apply_edits(&serde_json::to_string(&pkg).unwrap(), &edits);
        if let Ok(m) = Manifest::parse(text.as_bytes(), Path::new("package.json")) {
            prop_assert!(semver::valid(&m.version, true).is_some(), "version {:?}", m.version);
            prop_assert_eq!(m.raw.get("name").and_then(Value::as_str), Some(m.name.as_str()));
            let _ = (m.id(), m.tarball_name(), m.files(), m.has_workspaces());
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// npm's normalisation and the PUT body, from a package read out of a
    /// `.tgz` as `publish FILE.tgz` reads it.
    #[test]
    fn normalization_and_document_survive_hostile_manifests(
        pkg in package_json(),
        files in side_files(),
    ) {
        let mut entries: Vec<TarEntry> = files
            .iter()
            .map(|(n, b)| TarEntry::file(&format!("package/{n}"), b))
            .collect();
        let json = serde_json::to_vec(&pkg).unwrap();
        entries.push(TarEntry::file("package/package.json", &json));
        let src = TarballSource::new(&tgz(&entries)).expect("a well-formed archive reads");
        let raw = src.package_json().expect("package.json is there");
        prop_assert_eq!(raw.len(), pkg.len());
        normalize_and_build(&raw, &src);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// `valid`/`clean` give a version that is its own normal form in the
    /// same mode (as in node-semver, a loose normal form such as
    /// `1.2.3-0.00000200000200000020020` need not be strictly valid);
    /// `valid_range`'s output is a valid range (when it fits node-semver's
    /// 256-character limit).
    #[test]
    fn semver_normal_forms_are_stable(
        v in prop_oneof![version(), nasty_line(6), "[0-9vV=.<>^~|* xX+-]{0,40}"],
        loose in any::<bool>(),
    ) {
        if let Some(n) = semver::valid(&v, loose) {
            prop_assert_eq!(semver::valid(&n, loose), Some(n.clone()));
            prop_assert!(n.len() <= 256 + 3);
        }
        if let Some(n) = semver::clean(&v, loose) {
            prop_assert_eq!(semver::valid(&n, loose), Some(n.clone()));
        }
        if let Some(r) = semver::valid_range(&v, loose) {
            if r.len() <= 256 {
                prop_assert!(semver::valid_range(&r, loose).is_some(), "{:?} -> {:?}", v, r);
            }
        }
    }

    /// Version ordering is a total order (the publish checks sort with it).
    #[test]
    fn semver_order_is_consistent(a in version(), b in version(), c in version()) {
        let p = |s: &str| semver::Version::parse(s, true);
        if let (Some(a), Some(b), Some(c)) = (p(&a), p(&b), p(&c)) {
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            if a <= b && b <= c {
                prop_assert!(a <= c);
            }
            prop_assert_eq!(a.cmp(&a), std::cmp::Ordering::Equal);
        }
    }
}

/// Found by the `semver` fuzz target: loose parsing reads
/// `220.1.20.0.000…` as patch `2` and prerelease `0.0.000…` (a numeric
/// identifier beyond 2^53 keeps its zeros), a normal form that only loose
/// mode accepts again. node-semver 7 gives the same answers.
#[test]
fn semver_loose_normal_form_is_loose_only() {
    let v = "220.1.20.0.00000200000200000020020002020";
    let n = semver::valid(v, true);
    assert_eq!(
        n.as_deref(),
        Some("220.1.2-0.0.00000200000200000020020002020")
    );
    assert_eq!(semver::valid(n.as_deref().unwrap(), true), n);
    assert_eq!(semver::valid(n.as_deref().unwrap(), false), None);
}
/// Found by the `semver` fuzz target: a loose range's normal form can be
/// one character longer than the input (`0RRR` becomes `0-RRR`), past
/// node-semver's 256-character limit, so it does not parse again; node-semver
/// 7 answers the same (checked with the copy npm 11.19.1 bundles).
#[test]
fn semver_range_normal_form_may_outgrow_the_length_limit() {
    let input = format!(
        "<43.0.0{}{}{}{}s{}{}-0",
        "R".repeat(30),
        "y".repeat(70),
        "R".repeat(13),
        "y".repeat(14),
        "y".repeat(58),
        "R".repeat(62)
    );
    assert_eq!(input.len(), 257);
    let r = semver::valid_range(&input, true).expect("a valid loose range");
    assert_eq!(r.len(), 258);
    assert!(r.starts_with("<43.0.0-RRR"));
    assert_eq!(semver::valid_range(&r, true), None);
    assert_eq!(semver::valid_range(&input, false), None);
}
