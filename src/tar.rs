//! Tar headers exactly as node-tar 7 writes them for `npm pack`
//! (`portable: true`, fixed mtime, `prefix: 'package/'`).
//!
//! A header is 512 bytes of ustar; numbers are octal written as `W-2`
//! zero-padded digits, a space and a NUL (or `W-1` digits and a NUL). Paths
//! of 100 bytes or more are split between `prefix` (155) and `name` (100);
//! a path that cannot be split, or any non-ASCII field, gets a PAX extended
//! header (`path=`, `mtime=`, `size=` records) before the real header, which
//! still carries the truncated name.

use crate::js::js_len;

/// `1985-10-26T08:15:00.000Z`, pacote's fixed mtime.
pub const MTIME: u64 = 499_162_500;

/// The archive ends with two zero blocks and is not padded further.
pub const END_OF_ARCHIVE: [u8; 1024] = [0; 1024];

/// Entry types npm emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    /// A hard link to a file emitted earlier.
    Link,
}

/// One entry's header data, with the `package/` prefix already applied.
#[derive(Debug)]
pub struct Entry<'a> {
    pub path: &'a str,
    pub linkpath: Option<&'a str>,
    pub mode: u32,
    pub size: u64,
    pub kind: Kind,
}

/// node-tar's `modeFix` for a file in portable mode.
pub fn portable_mode(mode: u32) -> u32 {
    ((mode & 0o7777) | 0o600) & !0o022
}

/// Zero bytes after `size` bytes of data to reach a 512-byte boundary.
pub fn padding(size: u64) -> usize {
    ((512 - (size % 512)) % 512) as usize
}

/// node-tar's `stripAbsolutePath` with Windows rules, applied even on
/// POSIX: a top-level name like `c:d.js` is packed as `d.js`, `\\x` as `x`.
pub fn strip_absolute(path: &str) -> &str {
    let mut p = path;
    loop {
        let b = p.as_bytes();
        let root = if b.first().is_some_and(|&c| c == b'/' || c == b'\\') {
            1
        } else if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            if b.get(2).is_some_and(|&c| c == b'/' || c == b'\\') {
                3
            } else {
                2
            }
        } else {
            0
        };
        if root == 0 {
            return p;
        }
        p = &p[root..];
    }
}

/// JavaScript's `s.slice(0, n)` in UTF-16 units; a surrogate pair cut in
/// half leaves a lone surrogate, which Buffer encodes as U+FFFD.
fn js_slice(s: &str, n: usize) -> String {
    let mut out = String::new();
    let mut units = 0;
    for c in s.chars() {
        let w = c.len_utf16();
        if units + w > n {
            if units < n {
                out.push('\u{fffd}');
            }
            break;
        }
        units += w;
        out.push(c);
    }
    out
}

/// `encString`: writes whole UTF-8 characters that fit in `size` bytes,
/// NUL-padded; true when a PAX header is needed.
fn enc_string(block: &mut [u8], off: usize, size: usize, s: Option<&str>) -> bool {
    let Some(s) = s else { return false };
    let field = &mut block[off..off + size];
    let mut n = 0;
    for c in s.chars() {
        let w = c.len_utf8();
        if n + w > size {
            break;
        }
        c.encode_utf8(&mut field[n..n + w]);
        n += w;
    }
    field[n..].fill(0);
    js_len(s) != s.len() || js_len(s) > size
}

/// `encNumber` for numbers that fit (all npm ever writes).
fn enc_number(block: &mut [u8], off: usize, size: usize, n: Option<u64>) -> bool {
    let Some(n) = n else { return false };
    let max = if size == 12 {
        0o777_7777_7777
    } else {
        0o777_7777
    };
    if n > max {
        // node-tar writes base-256 here; no file npm can pack is this large.
        let field = &mut block[off..off + size];
        field.fill(0);
        field[0] = 0x80;
        let bytes = n.to_be_bytes();
        let take = (size - 1).min(8);
        field[size - take..].copy_from_slice(&bytes[8 - take..]);
        return true;
    }
    let digits = format!("{n:o}");
    let text = if digits.len() == size - 1 {
        digits
    } else {
        format!("{}{} ", "0".repeat(size - digits.len() - 2), digits)
    };
    block[off..off + text.len()].copy_from_slice(text.as_bytes());
    block[off + text.len()] = 0;
    false
}

/// `splitPrefix` with a 155-byte prefix: (name, prefix, needs PAX).
fn split_prefix(p: &str) -> (String, String, bool) {
    const PATH_SIZE: usize = 100;
    const PREFIX_SIZE: usize = 155;
    if p.len() < PATH_SIZE {
        return (p.to_string(), String::new(), false);
    }
    let (mut prefix, mut name) = match p.rfind('/') {
        Some(0) => ("/".to_string(), p[1..].to_string()),
        Some(i) => (p[..i].to_string(), p[i + 1..].to_string()),
        None => (".".to_string(), p.to_string()),
    };
    loop {
        if name.len() <= PATH_SIZE && prefix.len() <= PREFIX_SIZE {
            return (name, prefix, false);
        }
        if name.len() > PATH_SIZE && prefix.len() <= PREFIX_SIZE {
            return (js_slice(&name, PATH_SIZE - 1), prefix, true);
        }
        // Move the last component of the prefix into the name.
        match prefix.rfind('/') {
            Some(i) => {
                name = format!("{}/{}", &prefix[i + 1..], name);
                prefix = prefix[..i].to_string();
            }
            None => {
                name = format!("{prefix}/{name}");
                prefix = ".".to_string();
            }
        }
        if prefix == "." {
            break;
        }
    }
    (js_slice(p, PATH_SIZE - 1), String::new(), true)
}

struct HeaderFields<'a> {
    path: &'a str,
    mode: u32,
    size: u64,
    typeflag: u8,
    linkpath: Option<&'a str>,
    /// PAX headers write empty uname/gname; file headers leave them unset.
    names: Option<&'a str>,
}

/// `Header.encode()`: the 512-byte block and whether PAX is needed.
fn encode_header(h: &HeaderFields<'_>) -> ([u8; 512], bool) {
    let mut b = [0u8; 512];
    let (name, prefix, split_pax) = split_prefix(h.path);
    let mut pax = split_pax;
    pax |= enc_string(&mut b, 0, 100, Some(&name));
    pax |= enc_number(&mut b, 100, 8, Some(u64::from(h.mode)));
    pax |= enc_number(&mut b, 124, 12, Some(h.size));
    pax |= enc_number(&mut b, 136, 12, Some(MTIME));
    b[156] = h.typeflag;
    pax |= enc_string(&mut b, 157, 100, h.linkpath);
    b[257..265].copy_from_slice(b"ustar\x0000");
    pax |= enc_string(&mut b, 265, 32, h.names);
    pax |= enc_string(&mut b, 297, 32, h.names);
    pax |= enc_number(&mut b, 329, 8, Some(0));
    pax |= enc_number(&mut b, 337, 8, Some(0));
    pax |= enc_string(&mut b, 345, 155, Some(&prefix));
    if b[475] != 0 {
        pax |= enc_string(&mut b, 345, 155, Some(&prefix));
    } else {
        pax |= enc_string(&mut b, 345, 130, Some(&prefix));
    }
    let mut sum: u64 = 8 * 0x20;
    sum += b[..148].iter().map(|&x| u64::from(x)).sum::<u64>();
    sum += b[156..].iter().map(|&x| u64::from(x)).sum::<u64>();
    enc_number(&mut b, 148, 8, Some(sum));
    (b, pax)
}

/// One PAX record: `"<len> key=value\n"`, where len counts its own digits.
fn pax_record(out: &mut String, key: &str, value: &str) {
    let body_len = 1 + key.len() + 1 + value.len() + 1;
    let mut digits = body_len.to_string().len();
    if body_len + digits >= 10usize.pow(digits as u32) {
        digits += 1;
    }
    out.push_str(&format!("{} {key}={value}\n", body_len + digits));
}

/// Appends the entry's header blocks (a PAX header first when needed).
pub fn write_header(out: &mut Vec<u8>, e: &Entry<'_>) {
    let typeflag = match e.kind {
        Kind::File => b'0',
        Kind::Link => b'1',
    };
    let (block, needs_pax) = encode_header(&HeaderFields {
        path: e.path,
        mode: e.mode,
        size: e.size,
        typeflag,
        linkpath: e.linkpath,
        names: None,
    });
    if needs_pax {
        let mut body = String::new();
        pax_record(&mut body, "path", e.path);
        if let Some(link) = e.linkpath {
            pax_record(&mut body, "linkpath", link);
        }
        pax_record(&mut body, "mtime", &MTIME.to_string());
        pax_record(&mut body, "size", &e.size.to_string());
        let base = e.path.rsplit('/').next().unwrap_or(e.path);
        let pax_path = js_slice(&format!("PaxHeader/{base}"), 99);
        let (pax_block, _) = encode_header(&HeaderFields {
            path: &pax_path,
            mode: 0o644,
            size: body.len() as u64,
            typeflag: b'x',
            linkpath: Some(""),
            names: Some(""),
        });
        out.extend_from_slice(&pax_block);
        out.extend_from_slice(body.as_bytes());
        out.resize(out.len() + padding(body.len() as u64), 0);
    }
    out.extend_from_slice(&block);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(path: &str, mode: u32, size: u64) -> Vec<u8> {
        let mut v = Vec::new();
        write_header(
            &mut v,
            &Entry {
                path,
                linkpath: None,
                mode,
                size,
                kind: Kind::File,
            },
        );
        v
    }

    #[test]
    fn numbers_are_written_as_node_tar_does() {
        let h = header("package/a.js", 0o644, 4);
        assert_eq!(&h[100..108], b"000644 \0");
        assert_eq!(&h[108..124], &[0u8; 16]);
        assert_eq!(&h[124..136], b"0000000004 \0");
        assert_eq!(&h[136..148], b"3560116604 \0");
        assert_eq!(&h[329..337], b"000000 \0");
        assert_eq!(&h[337..345], b"000000 \0");
        assert_eq!(&h[257..265], b"ustar\x0000");
    }

    #[test]
    fn drive_letters_and_backslash_roots_are_stripped() {
        assert_eq!(strip_absolute("c:d.js"), "d.js");
        assert_eq!(strip_absolute("c:\\d.js"), "d.js");
        assert_eq!(strip_absolute("\\x.js"), "x.js");
        assert_eq!(strip_absolute("c:d:e.js"), "e.js");
        assert_eq!(strip_absolute("lib/c:d.js"), "lib/c:d.js");
        assert_eq!(strip_absolute("1:x.js"), "1:x.js");
    }

    #[test]
    fn mode_normalisation() {
        assert_eq!(portable_mode(0o100664), 0o644);
        assert_eq!(portable_mode(0o777), 0o755);
        assert_eq!(portable_mode(0o600), 0o600);
        assert_eq!(portable_mode(0o400), 0o600);
    }

    #[test]
    fn long_paths_split_at_a_slash() {
        let dir = "d".repeat(60);
        let file = "f".repeat(60);
        let (name, prefix, pax) = split_prefix(&format!("package/{dir}/{file}"));
        assert_eq!(
            (name.as_str(), prefix.as_str(), pax),
            (file.as_str(), &*format!("package/{dir}"), false)
        );
        let (_, _, pax) = split_prefix(&format!("package/{}", "x".repeat(120)));
        assert!(pax);
    }

    #[test]
    fn pax_records_count_their_own_length() {
        let mut s = String::new();
        pax_record(&mut s, "path", "package/é.js");
        pax_record(&mut s, "mtime", "499162500");
        pax_record(&mut s, "size", "2");
        assert_eq!(s, "22 path=package/é.js\n19 mtime=499162500\n9 size=2\n");
        let mut s = String::new();
        // 1 + 4 + 1 + 91 + 1 = 98 bytes, plus 2 digits = 100: three digits needed.
        pax_record(&mut s, "path", &"a".repeat(91));
        assert!(s.starts_with("101 path="), "{s}");
    }

    #[test]
    fn non_ascii_paths_get_a_pax_header() {
        let h = header("package/é.js", 0o644, 2);
        assert_eq!(h.len(), 512 * 3);
        assert_eq!(h[156], b'x');
        assert_eq!(&h[0..17], b"PaxHeader/\xc3\xa9.js\0\0");
        assert_eq!(h[1024 + 156], b'0');
    }
}
