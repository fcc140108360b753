//! A small, forgiving ustar/PAX decoder used to explain tarball differences.
//!
//! It never panics on bad input: a malformed archive decodes as far as it can
//! and the problem is reported in `Archive::error`.

use std::fmt::Write as _;

pub const BLOCK: usize = 512;

/// (field name, offset, width) of every ustar header field.
pub const FIELDS: &[(&str, usize, usize)] = &[
    ("name", 0, 100),
    ("mode", 100, 8),
    ("uid", 108, 8),
    ("gid", 116, 8),
    ("size", 124, 12),
    ("mtime", 136, 12),
    ("chksum", 148, 8),
    ("typeflag", 156, 1),
    ("linkname", 157, 100),
    ("magic", 257, 6),
    ("version", 263, 2),
    ("uname", 265, 32),
    ("gname", 297, 32),
    ("devmajor", 329, 8),
    ("devminor", 337, 8),
    ("prefix", 345, 155),
    ("pad", 500, 12),
];

#[derive(Debug, Clone)]
pub struct Entry {
    pub index: usize,
    /// Offset of the PAX extended header, if the entry has one.
    pub pax_offset: Option<usize>,
    pub pax_header: Option<Vec<u8>>,
    pub pax_body: Option<Vec<u8>>,
    pub pax_records: Vec<(String, String)>,
    /// Offset of the entry's own header block.
    pub offset: usize,
    pub header: Vec<u8>,
    pub typeflag: u8,
    pub name: String,
    pub prefix: String,
    pub linkname: String,
    pub mode: Option<u32>,
    pub size: u64,
    pub data: Vec<u8>,
    /// Offset just past the entry's data padding.
    pub end: usize,
}

impl Entry {
    /// The path a reader would use: PAX `path`, else `prefix/name`.
    pub fn path(&self) -> String {
        if let Some((_, v)) = self.pax_records.iter().find(|(k, _)| k == "path") {
            return v.clone();
        }
        if self.prefix.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.prefix, self.name)
        }
    }

    pub fn linkpath(&self) -> String {
        if let Some((_, v)) = self.pax_records.iter().find(|(k, _)| k == "linkpath") {
            return v.clone();
        }
        self.linkname.clone()
    }

    pub fn type_name(&self) -> String {
        match self.typeflag {
            b'0' | 0 => "File".into(),
            b'1' => "Link".into(),
            b'2' => "SymbolicLink".into(),
            b'5' => "Directory".into(),
            b'x' => "ExtendedHeader".into(),
            b'g' => "GlobalExtendedHeader".into(),
            other => format!("type{:?}", other as char),
        }
    }

    pub fn uses_ustar_prefix(&self) -> bool {
        !self.prefix.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Archive {
    pub entries: Vec<Entry>,
    /// Offset of the first all-zero block (end-of-archive marker).
    pub eof_offset: Option<usize>,
    pub total_len: usize,
    /// Bytes after the entries that are not NUL.
    pub nonzero_trailer: bool,
    pub error: Option<String>,
}

fn cstr(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn octal(bytes: &[u8]) -> Option<u64> {
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        // base-256; npm never writes it for our sizes
        let mut v: u64 = (bytes[0] & 0x7f) as u64;
        for &b in &bytes[1..] {
            v = v.checked_mul(256)?.checked_add(b as u64)?;
        }
        return Some(v);
    }
    let s: String = bytes
        .iter()
        .map(|&b| b as char)
        .filter(|c| *c != '\0' && *c != ' ')
        .collect();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(&s, 8).ok()
}

fn padded(size: u64) -> usize {
    (size as usize).div_ceil(BLOCK) * BLOCK
}

fn parse_pax(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| format!("PAX record without a space: {:?}", show(rest)))?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad PAX record length {:?}", show(&rest[..sp])))?;
        if len > rest.len() || len <= sp + 1 {
            return Err(format!("PAX record length {len} out of range"));
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        let eq = rec.iter().position(|&b| b == b'=').unwrap_or(rec.len());
        out.push((
            String::from_utf8_lossy(&rec[..eq]).into_owned(),
            String::from_utf8_lossy(rec.get(eq + 1..).unwrap_or(b"")).into_owned(),
        ));
        rest = &rest[len..];
    }
    Ok(out)
}

/// An extended header waiting for its entry: (offset, header, body, records).
type PendingPax = (usize, Vec<u8>, Vec<u8>, Vec<(String, String)>);

pub fn parse(buf: &[u8]) -> Archive {
    let mut ar = Archive {
        total_len: buf.len(),
        ..Default::default()
    };
    let mut off = 0usize;
    let mut pending: Option<PendingPax> = None;
    loop {
        if off == buf.len() {
            if ar.eof_offset.is_none() {
                ar.error = Some(format!(
                    "archive ends at {off} without the 1024-byte zero trailer"
                ));
            }
            break;
        }
        if off + BLOCK > buf.len() {
            ar.error = Some(format!(
                "truncated block at offset {off} ({} bytes left)",
                buf.len() - off
            ));
            break;
        }
        let block = &buf[off..off + BLOCK];
        if block.iter().all(|&b| b == 0) {
            ar.eof_offset = Some(off);
            ar.nonzero_trailer = buf[off..].iter().any(|&b| b != 0);
            break;
        }
        let Some(size) = octal(&block[124..136]) else {
            ar.error = Some(format!(
                "unparsable size field at offset {off}: {}",
                show(&block[124..136])
            ));
            break;
        };
        let typeflag = block[156];
        let data_start = off + BLOCK;
        let data_end = data_start.saturating_add(size as usize);
        if data_end > buf.len() {
            ar.error = Some(format!(
                "entry at {off} claims {size} data bytes but the archive ends at {}",
                buf.len()
            ));
            break;
        }
        let data = buf[data_start..data_end].to_vec();
        let next = data_start + padded(size);
        if typeflag == b'x' || typeflag == b'g' {
            let records = match parse_pax(&data) {
                Ok(r) => r,
                Err(e) => {
                    ar.error = Some(format!("PAX header at {off}: {e}"));
                    vec![]
                }
            };
            if let Some((poff, ..)) = &pending {
                ar.error
                    .get_or_insert(format!("two extended headers in a row at {poff} and {off}"));
            }
            pending = Some((off, block.to_vec(), data, records));
            off = next.min(buf.len());
            continue;
        }
        let (pax_offset, pax_header, pax_body, pax_records) = match pending.take() {
            Some((o, h, b, r)) => (Some(o), Some(h), Some(b), r),
            None => (None, None, None, vec![]),
        };
        ar.entries.push(Entry {
            index: ar.entries.len(),
            pax_offset,
            pax_header,
            pax_body,
            pax_records,
            offset: off,
            header: block.to_vec(),
            typeflag,
            name: cstr(&block[0..100]),
            prefix: cstr(&block[345..500]),
            linkname: cstr(&block[157..257]),
            mode: octal(&block[100..108]).map(|m| m as u32),
            size,
            data,
            end: next.min(buf.len()),
        });
        off = next.min(buf.len());
    }
    ar
}

/// Bytes shown readably: printable ASCII as-is, the rest escaped, a trailing
/// NUL run abbreviated.
pub fn show(bytes: &[u8]) -> String {
    let trail = bytes.iter().rev().take_while(|&&b| b == 0).count();
    let head = &bytes[..bytes.len() - trail];
    let mut s = String::from("\"");
    for chunk in head.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\0' => s.push_str("\\0"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    let _ = write!(s, "\\x{:02x}", c as u32);
                }
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    s.push('"');
    if trail > 0 {
        let _ = write!(s, "+\\0*{trail}");
    }
    s
}

pub fn describe(e: &Entry) -> String {
    let mut s = format!(
        "[{}] @{} {} mode={} size={} path={}",
        e.index,
        e.pax_offset.unwrap_or(e.offset),
        e.type_name(),
        e.mode
            .map(|m| format!("{m:04o}"))
            .unwrap_or_else(|| "?".into()),
        e.size,
        show(e.path().as_bytes()),
    );
    if e.uses_ustar_prefix() {
        let _ = write!(
            s,
            " ustar(prefix={} name={})",
            show(e.prefix.as_bytes()),
            show(e.name.as_bytes())
        );
    }
    if let Some(pax_header) = &e.pax_header {
        let recs: Vec<String> = e
            .pax_records
            .iter()
            .map(|(k, v)| format!("{k}={}", show(v.as_bytes())))
            .collect();
        let _ = write!(
            s,
            " PAX{{{}}} header-name={}",
            recs.join(", "),
            show(&pax_header[0..100])
        );
        if !e.uses_ustar_prefix() {
            let _ = write!(s, " ustar-name={}", show(&e.header[0..100]));
        }
    }
    if e.typeflag == b'1' || e.typeflag == b'2' {
        let _ = write!(s, " -> {}", show(e.linkpath().as_bytes()));
    }
    s
}

pub fn listing(ar: &Archive) -> String {
    let mut s = String::new();
    for e in ar.entries.iter().take(300) {
        let _ = writeln!(s, "    {}", describe(e));
    }
    if ar.entries.len() > 300 {
        let _ = writeln!(s, "    ... {} more entries", ar.entries.len() - 300);
    }
    let _ = writeln!(
        s,
        "    end-of-archive at {:?}, total {} bytes{}",
        ar.eof_offset,
        ar.total_len,
        if ar.nonzero_trailer {
            ", NON-ZERO bytes after it"
        } else {
            ""
        }
    );
    if let Some(e) = &ar.error {
        let _ = writeln!(s, "    DECODE ERROR: {e}");
    }
    s
}

/// Field-by-field differences between two 512-byte header blocks.
pub fn header_field_diffs(a: &[u8], b: &[u8]) -> Vec<String> {
    FIELDS
        .iter()
        .filter(|(_, o, w)| a[*o..o + w] != b[*o..o + w])
        .map(|(n, o, w)| {
            format!(
                "{n:>8} @+{o}: npm {}  ours {}",
                show(&a[*o..o + w]),
                show(&b[*o..o + w])
            )
        })
        .collect()
}

/// Where a byte offset falls inside an archive, for humans.
pub fn locate(ar: &Archive, off: usize) -> String {
    for e in &ar.entries {
        let start = e.pax_offset.unwrap_or(e.offset);
        if off < start || off >= e.end {
            continue;
        }
        let what = if let Some(p) = e.pax_offset.filter(|p| off < p + BLOCK) {
            format!("PAX header field {}", field_at(off - p))
        } else if e.pax_offset.is_some() && off < e.offset {
            "PAX body".to_string()
        } else if off < e.offset + BLOCK {
            format!("header field {}", field_at(off - e.offset))
        } else if off < e.offset + BLOCK + e.size as usize {
            format!("file data byte {}", off - e.offset - BLOCK)
        } else {
            "data padding".to_string()
        };
        return format!("entry [{}] {}: {what}", e.index, show(e.path().as_bytes()));
    }
    match ar.eof_offset {
        Some(eof) if off >= eof => format!("end-of-archive trailer (+{})", off - eof),
        _ => "outside any decoded entry".into(),
    }
}

fn field_at(rel: usize) -> String {
    FIELDS
        .iter()
        .find(|(_, o, w)| rel >= *o && rel < o + w)
        .map(|(n, o, _)| format!("{n} (+{})", rel - o))
        .unwrap_or_else(|| format!("?{rel}"))
}

/// A readable explanation of why two tar streams differ.
pub fn explain_difference(npm: &[u8], ours: &[u8]) -> String {
    let a = parse(npm);
    let b = parse(ours);
    let mut s = String::new();
    let first = npm
        .iter()
        .zip(ours.iter())
        .position(|(x, y)| x != y)
        .unwrap_or(npm.len().min(ours.len()));
    let _ = writeln!(
        s,
        "uncompressed tar streams differ: npm {} bytes, ours {} bytes; first difference at byte {first}",
        npm.len(),
        ours.len()
    );
    let _ = writeln!(s, "  npm : {}", locate(&a, first));
    let _ = writeln!(s, "  ours: {}", locate(&b, first));

    let paths_a: Vec<String> = a.entries.iter().map(|e| e.path()).collect();
    let paths_b: Vec<String> = b.entries.iter().map(|e| e.path()).collect();
    // Pair entries by index when both archives hold the same paths in the
    // same order, else by path (after saying what is missing or reordered).
    let pairs: Vec<(Option<&Entry>, Option<&Entry>)> = if paths_a == paths_b {
        a.entries
            .iter()
            .zip(b.entries.iter())
            .map(|(x, y)| (Some(x), Some(y)))
            .collect()
    } else {
        let only_a: Vec<&String> = paths_a.iter().filter(|p| !paths_b.contains(p)).collect();
        let only_b: Vec<&String> = paths_b.iter().filter(|p| !paths_a.contains(p)).collect();
        if !only_a.is_empty() {
            let _ = writeln!(s, "  entries only in npm's archive : {only_a:?}");
        }
        if !only_b.is_empty() {
            let _ = writeln!(s, "  entries only in our archive  : {only_b:?}");
        }
        let common_a: Vec<&String> = paths_a.iter().filter(|p| paths_b.contains(p)).collect();
        let common_b: Vec<&String> = paths_b.iter().filter(|p| paths_a.contains(p)).collect();
        if common_a != common_b {
            let _ = writeln!(s, "  order of the common entries differs:\n    npm : {common_a:?}\n    ours: {common_b:?}");
        }
        a.entries
            .iter()
            .filter_map(|x| {
                b.entries
                    .iter()
                    .find(|y| y.path() == x.path())
                    .map(|y| (Some(x), Some(y)))
            })
            .collect()
    };
    let mut shown = 0;
    for (ea, eb) in pairs {
        let mut lines = vec![];
        if let (Some(x), Some(y)) = (ea, eb) {
            if let (Some(hx), Some(hy)) = (&x.pax_header, &y.pax_header) {
                for d in header_field_diffs(hx, hy) {
                    lines.push(format!("PAX header {d}"));
                }
            }
            if x.pax_header.is_some() != y.pax_header.is_some() {
                lines.push(format!(
                    "PAX header: npm {}  ours {}",
                    if x.pax_header.is_some() {
                        "present"
                    } else {
                        "absent"
                    },
                    if y.pax_header.is_some() {
                        "present"
                    } else {
                        "absent"
                    }
                ));
            }
            if x.pax_body != y.pax_body {
                lines.push(format!(
                    "PAX body: npm {}  ours {}",
                    show(x.pax_body.as_deref().unwrap_or(b"")),
                    show(y.pax_body.as_deref().unwrap_or(b""))
                ));
            }
            for d in header_field_diffs(&x.header, &y.header) {
                lines.push(format!("header {d}"));
            }
            if x.data != y.data {
                let p = x.data.iter().zip(&y.data).position(|(p, q)| p != q);
                lines.push(format!(
                    "file data differs (npm {} bytes, ours {} bytes, first difference at {:?})",
                    x.data.len(),
                    y.data.len(),
                    p
                ));
            }
            if !lines.is_empty() {
                let _ = writeln!(s, "  entry {} differs:", show(x.path().as_bytes()));
                let _ = writeln!(s, "    npm : {}", describe(x));
                let _ = writeln!(s, "    ours: {}", describe(y));
            }
        }
        for l in &lines {
            let _ = writeln!(s, "      {l}");
        }
        if !lines.is_empty() {
            shown += 1;
            if shown >= 12 {
                let _ = writeln!(s, "  (further entry differences not shown)");
                break;
            }
        }
    }
    if a.eof_offset.map(|o| a.total_len - o) != b.eof_offset.map(|o| b.total_len - o) {
        let _ = writeln!(
            s,
            "  trailer differs: npm {:?} zero bytes at the end, ours {:?}",
            a.eof_offset.map(|o| a.total_len - o),
            b.eof_offset.map(|o| b.total_len - o)
        );
    }
    let _ = writeln!(s, "  npm archive:\n{}", listing(&a));
    let _ = writeln!(s, "  our archive:\n{}", listing(&b));
    s
}
