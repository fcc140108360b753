//! The `.tgz` reader behind `publish FILE.tgz` (`TarballSource`): gzip
//! framing, ustar/GNU/PAX headers with hostile fields, then the package it
//! yields.

use std::io::Write as _;

use proptest::prelude::*;
use trustpub::document::{PackageSource, TarballSource};

use super::{config, nasty_string};

/// One archive member: a 512-byte header and its data (padded on output).
#[derive(Debug, Clone)]
pub struct TarEntry {
    pub header: Vec<u8>,
    pub data: Vec<u8>,
}

impl TarEntry {
    /// A ustar header for `path` of type `kind`; the size field says
    /// `data.len()`.
    pub fn new(path: &str, kind: u8, data: &[u8]) -> TarEntry {
        let mut h = vec![0u8; 512];
        let p = path.as_bytes();
        h[..p.len().min(100)].copy_from_slice(&p[..p.len().min(100)]);
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let mut e = TarEntry {
            header: h,
            data: data.to_vec(),
        };
        e.checksum();
        e
    }

    pub fn file(path: &str, data: &[u8]) -> TarEntry {
        TarEntry::new(path, b'0', data)
    }

    fn checksum(&mut self) {
        self.header[148..156].copy_from_slice(b"        ");
        let sum: u32 = self.header.iter().map(|b| u32::from(*b)).sum();
        self.header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    }
}

/// The tar stream: entries, padding, two zero blocks.
pub fn tar(entries: &[TarEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&e.header);
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

pub fn tgz(entries: &[TarEntry]) -> Vec<u8> {
    gzip(&tar(entries))
}

/// A PAX record `<len> key=value\n` with a correct length.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        "package/[a-zA-Z0-9._/-]{0,30}",
        Just("package/package.json".to_string()),
        Just("package/../../etc/passwd".to_string()),
        Just("/package/x".to_string()),
        Just("package\\..\\x".to_string()),
        Just("./package/./a/../b".to_string()),
        Just("package".to_string()),
        Just("package/.".to_string()),
        Just("c:/package/x".to_string()),
        nasty_string(4).prop_map(|s| format!("package/{s}")),
        nasty_string(4),
        (1usize..300).prop_map(|n| format!("package/{}", "a/".repeat(n))),
    ]
}

/// A size field: right, wrong, huge, base-256, non-octal.
fn size_field() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        6 => Just(None),
        1 => Just(Some(b"77777777777\0".to_vec())),
        1 => Just(Some(vec![0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
        1 => Just(Some(vec![0xff; 12])),
        1 => Just(Some(b"   12 \0\0\0\0\0\0".to_vec())),
        1 => Just(Some(b"9z\0\0\0\0\0\0\0\0\0\0".to_vec())),
        1 => (0u64..5000).prop_map(|n| Some(format!("{n:011o}\0").into_bytes())),
    ]
}

fn entry() -> impl Strategy<Value = TarEntry> {
    let kind = proptest::sample::select(
        &[
            b'0', 0, b'7', b'1', b'2', b'5', b'x', b'g', b'L', b'K', b'S',
        ][..],
    );
    let data = prop_oneof![
        nasty_string(6).prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..600),
        // PAX bodies, well-formed and not.
        (
            proptest::sample::select(&["path", "size", "linkpath", "mtime"][..]),
            path()
        )
            .prop_map(|(k, v)| pax_record(k, &v).into_bytes()),
        nasty_string(4).prop_map(|s| format!("99999999999999999999 path={s}\n").into_bytes()),
        Just(b"5 a\n".to_vec()),
        Just(b"3 path=x\n".to_vec()),
    ];
    (
        path(),
        kind,
        data,
        size_field(),
        proptest::collection::vec((0usize..512, any::<u8>()), 0..3),
        any::<bool>(),
    )
        .prop_map(|(p, kind, data, size, flips, fix_sum)| {
            let mut e = TarEntry::new(&p, kind, &data);
            if let Some(s) = size {
                e.header[124..136].copy_from_slice(&s);
            }
            for (at, b) in flips {
                e.header[at] = b;
            }
            if fix_sum {
                e.checksum();
            }
            e
        })
}

/// How the archive bytes are spoiled after building it.
#[derive(Debug, Clone)]
enum Spoil {
    None,
    Truncate(usize),
    Flip(usize, u8),
    TrailingGarbage(Vec<u8>),
    SecondMember,
    NotGzip,
}

fn spoil() -> impl Strategy<Value = Spoil> {
    prop_oneof![
        4 => Just(Spoil::None),
        1 => any::<usize>().prop_map(Spoil::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Spoil::Flip(a, b)),
        1 => proptest::collection::vec(any::<u8>(), 1..64).prop_map(Spoil::TrailingGarbage),
        1 => Just(Spoil::SecondMember),
        1 => Just(Spoil::NotGzip),
    ]
}

/// The root files npm reads while it prepares the manifest, which the
/// reader keeps (the fuzzed archives are far below its size limits).
fn kept_by_the_reader(rel: &str) -> bool {
    let l = rel.to_ascii_lowercase();
    !rel.contains('/')
        && (rel == "package.json" || rel == "AUTHORS" || l == "readme" || l.starts_with("readme."))
}

/// Every kept file a source lists can be read, every listed path exists,
/// and no listed name climbs out of the package (`..`, `.`, an empty name,
/// a `/` inside a name).
fn check_listing(src: &TarballSource) {
    let mut queue = vec![String::new()];
    let mut seen = 0;
    while let Some(dir) = queue.pop() {
        for name in src.list(&dir) {
            seen += 1;
            assert!(seen < 10_000, "listing does not end");
            let (base, is_dir) = match name.strip_suffix('/') {
                Some(b) => (b, true),
                None => (name.as_str(), false),
            };
            assert!(
                !base.is_empty() && base != "." && base != ".." && !base.contains('/'),
                "listed name {name:?} in {dir:?}"
            );
            let rel = if dir.is_empty() {
                base.to_string()
            } else {
                format!("{dir}/{base}")
            };
            assert!(src.exists(&rel), "{rel:?} is listed but does not exist");
            if is_dir {
                queue.push(rel);
            } else if kept_by_the_reader(&rel) {
                // Only what npm reads while preparing the manifest is kept
                // in memory; the rest is listed, not held.
                assert!(
                    src.read(&rel).is_some(),
                    "{rel:?} is listed but cannot be read"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(config(768))]

    /// Any bytes, gzipped or not: an error, never a panic.
    #[test]
    fn tarball_source_survives_any_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        gz in any::<bool>(),
    ) {
        let input = if gz { gzip(&bytes) } else { bytes };
        if let Ok(src) = TarballSource::new(&input) {
            check_listing(&src);
            let _ = src.package_json();
        }
    }

    /// Archives with hostile headers, PAX records and long names, spoiled
    /// in transit: the reader returns, and what it returns is consistent.
    #[test]
    fn tarball_source_hostile_archives(
        entries in proptest::collection::vec(entry(), 0..6),
        spoil in spoil(),
    ) {
        let mut all = entries;
        all.push(TarEntry::file("package/package.json", br#"{"name":"x","version":"1.0.0"}"#));
        let raw = tar(&all);
        let bytes = match spoil {
            Spoil::None => gzip(&raw),
            Spoil::Truncate(n) => {
                let g = gzip(&raw);
                g[..n % (g.len() + 1)].to_vec()
            }
            Spoil::Flip(at, b) => {
                let mut g = gzip(&raw);
                let i = at % g.len();
                g[i] ^= b;
                g
            }
            Spoil::TrailingGarbage(tail) => {
                let mut g = gzip(&raw);
                g.extend_from_slice(&tail);
                g
            }
            Spoil::SecondMember => {
                let mut g = gzip(&raw[..raw.len() / 2]);
                g.extend_from_slice(&gzip(&raw[raw.len() / 2..]));
                g
            }
            Spoil::NotGzip => raw,
        };
        if let Ok(src) = TarballSource::new(&bytes) {
            check_listing(&src);
            if let Ok(pkg) = src.package_json() {
                let _ = trustpub::document::normalize_manifest(&pkg, &src);
            }
        }
    }
}
