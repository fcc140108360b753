//! Where the package's files come from while the document is built: a
//! directory on disk, or the entries of a `.tgz` made earlier.
//!
//! npm reads a handful of files while it prepares the manifest (README,
//! AUTHORS, `*.gyp`, `server.js`, `<main>.d.ts`, `directories.bin`/`man`
//! listings, `.git/HEAD`). For a tarball it extracts the archive into a temp
//! dir first (pacote `FileFetcher.manifest`); [`TarballSource`] answers the
//! same questions from memory instead.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use super::DocumentError;
use crate::js::{path_join, path_normalize};

/// Where the package's files come from: a directory, or the entries of a
/// `.tgz` made earlier. Paths are relative to the package root and use `/`.
pub trait PackageSource {
    /// The names in a directory of the package (`""` is the root), sorted by
    /// bytes as Node's `fs.readdir` returns them; directories end with `/`.
    fn list(&self, dir: &str) -> Vec<String>;
    /// The names in the package root (see [`PackageSource::list`]).
    fn root_entries(&self) -> Vec<String> {
        self.list("")
    }
    /// The bytes of a regular file, if there is one at `rel` (at most
    /// [`crate::limits::README_MAX`] of them: a larger file reads as none).
    fn read(&self, rel: &str) -> Option<Vec<u8>>;
    /// The size of the regular file at `rel`, if there is one.
    fn size(&self, rel: &str) -> Option<u64> {
        self.read(rel).map(|b| b.len() as u64)
    }
    /// Whether anything (file or directory) exists at `rel`: `fs.access`.
    /// `rel` may contain `..`; it is resolved lexically, as `path.join` does.
    fn exists(&self, rel: &str) -> bool;
    /// The commit npm records as `gitHead`, if any.
    fn git_head(&self) -> Option<String>;
    /// Whether npm runs `pkg fix` before `prepare` on this source: it does for
    /// a directory (`lib/commands/publish.js` `#getManifest`), not for a
    /// tarball (pacote reads it with `PackageJson.prepare` alone).
    fn runs_pkg_fix(&self) -> bool {
        true
    }
}

/// A package directory on disk.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    /// `dir` is made absolute and normalised lexically, as `path.resolve`
    /// does, so the search for `.git` walks the same parents npm walks.
    pub fn new(dir: &Path) -> DirSource {
        let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut root = PathBuf::new();
        for c in abs.components() {
            match c {
                Component::ParentDir => {
                    root.pop();
                }
                Component::CurDir => {}
                other => root.push(other),
            }
        }
        DirSource { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn resolve(&self, rel: &str) -> PathBuf {
        // path.join(pkg.path, rel), lexically.
        let root = self.root.to_string_lossy();
        PathBuf::from(path_join(&[&root, rel]))
    }
}

impl PackageSource for DirSource {
    fn list(&self, dir: &str) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.resolve(dir)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                // glob's `mark` stats the entry, so a link to a directory counts.
                if std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir()) {
                    format!("{name}/")
                } else {
                    name
                }
            })
            .collect();
        names.sort_by(|a, b| a.trim_end_matches('/').cmp(b.trim_end_matches('/')));
        names
    }

    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        crate::limits::read_file(&self.resolve(rel), crate::limits::README_MAX).ok()
    }

    fn size(&self, rel: &str) -> Option<u64> {
        std::fs::metadata(self.resolve(rel))
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|m| m.len())
    }

    fn exists(&self, rel: &str) -> bool {
        std::fs::metadata(self.resolve(rel)).is_ok()
    }

    /// `@npmcli/git` `find` (nearest ancestor with a `.git`, file or dir),
    /// then the `gitHead` step of `@npmcli/package-json` `normalize.js`:
    /// `.git/HEAD`, a `ref:` followed to its loose file or `packed-refs`.
    fn git_head(&self) -> Option<String> {
        let mut dir = Some(self.root.as_path());
        let git_root = loop {
            let d = dir?;
            if std::fs::metadata(d.join(".git")).is_ok() {
                break d;
            }
            dir = d.parent();
        };
        let git = git_root.join(".git");
        let head = read_utf8(&git.join("HEAD"))?;
        if head.is_empty() {
            return None;
        }
        let Some(rest) = head.strip_prefix("ref: ") else {
            return Some(crate::js::js_trim(&head).to_string()).filter(|s| !s.is_empty());
        };
        let head_ref = crate::js::js_trim(rest);
        let loose = read_utf8(&git.join(head_ref)).map(|data| {
            let data = data.strip_prefix("ref: ").unwrap_or(&data);
            crate::js::js_trim(data).to_string()
        });
        if let Some(sha) = loose.filter(|s| !s.is_empty()) {
            return Some(sha);
        }
        let packed = read_utf8(&git.join("packed-refs"))?;
        packed
            .split('\n')
            .find_map(|line| packed_ref(line, head_ref))
    }
}

/// One line of `packed-refs` against `/^([0-9a-f]{40}) (.+)$/`, whose `.`
/// stops at `\r`, U+2028 and U+2029.
fn packed_ref(line: &str, head_ref: &str) -> Option<String> {
    let (sha, name) = (line.get(..40)?, line.get(40..)?);
    let name = name.strip_prefix(' ')?;
    if !sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        || name.is_empty()
        || name.contains(['\r', '\u{2028}', '\u{2029}'])
        || crate::js::js_trim(name) != head_ref
    {
        return None;
    }
    Some(sha.to_string())
}

/// `fs.readFile(p, 'utf8')`: invalid sequences become U+FFFD.
fn read_utf8(p: &Path) -> Option<String> {
    let bytes = crate::limits::read_file(p, crate::limits::README_MAX).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// A package read from a `.tgz`: the files as `tar` would extract them with
/// `strip: 1` (pacote). Only the contents npm reads while it prepares the
/// manifest are kept in memory (`package.json`, `AUTHORS`, the README
/// candidates at the root); the rest is listed, not kept. There is no
/// `gitHead`.
#[derive(Debug, Clone, Default)]
pub struct TarballSource {
    /// Every regular file: its size and, for the few npm reads, its bytes.
    files: BTreeMap<String, (u64, Option<Vec<u8>>)>,
    dirs: BTreeSet<String>,
    /// Every entry as `tar t` lists it (npm's `getContents`): the full path,
    /// the size and the mode, in archive order. Links are included.
    pub entries: Vec<(String, u64, u32)>,
}

/// node-tar's `maxDecompressionRatio`: pacote (npm) aborts an archive that
/// inflates to more than 1000 times the compressed bytes read.
pub const MAX_RATIO: u64 = 1000;
/// The most a `.tgz` may inflate to, whatever its ratio.
pub const MAX_UNPACKED: u64 = 2 << 30;
/// The most entries a `.tgz` may hold.
pub const MAX_ENTRIES: usize = 200_000;
/// The most bytes of entry paths a `.tgz` may hold in all.
pub const MAX_PATH_BYTES: usize = 32 << 20;
/// node-tar's `maxMetaEntrySize`: a longer PAX header or GNU long name is
/// ignored (its data skipped), as node-tar ignores it.
pub const MAX_META: u64 = 1 << 20;
/// The most bytes of kept contents (package.json, AUTHORS, READMEs).
pub const MAX_KEPT: u64 = 64 << 20;

/// Whether npm may read this root file while it prepares the manifest.
fn read_by_npm(rel: &str) -> bool {
    if rel.contains('/') {
        return false;
    }
    let l = rel.to_ascii_lowercase();
    rel == "package.json" || rel == "AUTHORS" || l == "readme" || l.starts_with("readme.")
}

/// The decompressed stream, counted against the limits.
struct Inflating<R> {
    inner: R,
    read: u64,
    max: u64,
    /// Past `max` because of the ratio (else the absolute limit).
    by_ratio: bool,
}

impl<R: Read> Read for Inflating<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.max {
            return Err(std::io::Error::other(if self.by_ratio {
                format!(
                    "it inflates to more than {MAX_RATIO} times its size (npm's tar refuses such archives too: max decompression ratio exceeded)"
                )
            } else {
                format!(
                    "it inflates to more than {}, the most trustpub unpacks",
                    crate::limits::human(MAX_UNPACKED)
                )
            }));
        }
        Ok(n)
    }
}

impl TarballSource {
    /// Gunzips and parses a tarball as pacote extracts it
    /// (`NM/pacote/lib/fetcher.js` `#tarxOptions`): entry paths lose their
    /// first component (`strip: 1`), only regular files are kept (links are
    /// filtered out, directories exist as the parents of files), and PAX
    /// `path` records and GNU long names are understood. It streams, within
    /// limits: [`MAX_RATIO`], [`MAX_UNPACKED`], [`MAX_ENTRIES`],
    /// [`MAX_PATH_BYTES`], [`MAX_KEPT`] and, per kept file,
    /// [`crate::limits::README_MAX`].
    pub fn new(tgz: &[u8]) -> Result<TarballSource, DocumentError> {
        let by_ratio = (tgz.len() as u64).saturating_mul(MAX_RATIO) < MAX_UNPACKED;
        let mut tar = Inflating {
            inner: flate2::read::MultiGzDecoder::new(tgz),
            read: 0,
            max: (tgz.len() as u64)
                .saturating_mul(MAX_RATIO)
                .min(MAX_UNPACKED),
            by_ratio,
        };
        let mut src = TarballSource::default();
        let mut long_name: Option<String> = None;
        let mut pax_path: Option<String> = None;
        let (mut path_bytes, mut kept) = (0usize, 0u64);
        let bad = |reason: String| DocumentError::Tarball { reason };
        let io_err = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => bad("truncated entry".into()),
            std::io::ErrorKind::Other => bad(e.to_string()),
            _ => bad(format!("not a gzip stream: {e}")),
        };
        let mut h = [0u8; 512];
        loop {
            // The end: two zero blocks, or (as node-tar allows) none at all.
            if !read_block(&mut tar, &mut h).map_err(io_err)? || h.iter().all(|b| *b == 0) {
                break;
            }
            let size = parse_octal(&h[124..136]).ok_or_else(|| bad("bad size field".into()))?;
            let padded = size.div_ceil(512).saturating_mul(512);
            let kind = h[156];
            if matches!(kind, b'x' | b'g' | b'L') {
                if size > MAX_META {
                    skip(&mut tar, padded).map_err(io_err)?;
                    continue;
                }
                let data = read_data(&mut tar, size, padded).map_err(io_err)?;
                match kind {
                    b'x' => pax_path = parse_pax(&data, "path"),
                    b'L' => {
                        let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
                        long_name = Some(String::from_utf8_lossy(&data[..end]).into_owned());
                    }
                    _ => {}
                }
                continue;
            }
            let name = cstr(&h[0..100]);
            let prefix = if &h[257..262] == b"ustar" {
                cstr(&h[345..500])
            } else {
                String::new()
            };
            let header_path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = pax_path
                .take()
                .or_else(|| long_name.take())
                .unwrap_or(header_path);
            let mode = parse_octal(&h[100..108]).unwrap_or(0) as u32;
            path_bytes += path.len();
            if src.entries.len() >= MAX_ENTRIES || path_bytes > MAX_PATH_BYTES {
                return Err(bad(format!(
                    "it holds more than {MAX_ENTRIES} entries or {} of paths, the most trustpub reads",
                    crate::limits::human(MAX_PATH_BYTES as u64)
                )));
            }
            src.entries.push((path.clone(), size, mode));
            // pacote's extraction filter keeps only `*File` entries: links are
            // dropped and directories exist only as parents of files.
            let file = matches!(kind, b'0' | 0 | b'7');
            match strip_first(&path) {
                Some(rel) if file => {
                    src.add_parents(&rel);
                    let most = if rel == "package.json" {
                        crate::limits::MANIFEST_MAX
                    } else {
                        crate::limits::README_MAX
                    };
                    let keep = read_by_npm(&rel) && size <= most;
                    let data = if keep {
                        kept += size;
                        if kept > MAX_KEPT {
                            return Err(bad(format!(
                                "its package.json, AUTHORS and README files hold more than {}, the most trustpub reads",
                                crate::limits::human(MAX_KEPT)
                            )));
                        }
                        Some(read_data(&mut tar, size, padded).map_err(io_err)?)
                    } else {
                        skip(&mut tar, padded).map_err(io_err)?;
                        None
                    };
                    src.files.insert(rel, (size, data));
                }
                _ => skip(&mut tar, padded).map_err(io_err)?,
            }
        }
        // What follows the end blocks is read too (within the limits), so
        // that a damaged gzip stream is an error, as when it was read whole.
        std::io::copy(&mut tar, &mut std::io::sink()).map_err(io_err)?;
        Ok(src)
    }

    fn add_parents(&mut self, rel: &str) {
        let mut cur = rel;
        while let Some(i) = cur.rfind('/') {
            cur = &cur[..i];
            self.dirs.insert(cur.to_string());
        }
    }

    /// The archive's `package.json`, as written.
    pub fn package_json_bytes(&self) -> Result<&[u8], DocumentError> {
        let Some((size, bytes)) = self.files.get("package.json") else {
            return Err(DocumentError::NoPackageJson);
        };
        match bytes {
            Some(b) if *size <= crate::limits::MANIFEST_MAX => Ok(b),
            _ => Err(DocumentError::TooLarge {
                file: "package.json".into(),
                limit: crate::limits::MANIFEST_MAX,
            }),
        }
    }

    /// The archive's `package.json`, parsed (key order kept).
    pub fn package_json(&self) -> Result<Map<String, Value>, DocumentError> {
        let bytes = self.package_json_bytes()?;
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(DocumentError::Tarball {
                reason: "package.json does not hold a JSON object".into(),
            }),
            Err(e) => Err(DocumentError::Tarball {
                reason: format!("package.json is not valid JSON: {e}"),
            }),
        }
    }

    fn normalise(rel: &str) -> Option<String> {
        let n = path_normalize(rel);
        // `..` and `../x` climb out; `..-x` is an ordinary name.
        if n == ".." || n.starts_with("../") || n.starts_with('/') {
            return None;
        }
        Some(n.trim_end_matches('/').to_string())
    }
}

/// Reads one 512-byte block; `false` at the end of the stream before it.
fn read_block(r: &mut impl Read, block: &mut [u8; 512]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < 512 {
        match r.read(&mut block[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// An entry's data (`size` bytes, padded to `padded`), kept.
fn read_data(r: &mut impl Read, size: u64, padded: u64) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::with_capacity(size as usize);
    r.take(size).read_to_end(&mut data)?;
    if (data.len() as u64) < size {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    skip(r, padded - size)?;
    Ok(data)
}

/// Skips `n` bytes of the stream.
fn skip(r: &mut impl Read, n: u64) -> std::io::Result<()> {
    if std::io::copy(&mut r.take(n), &mut std::io::sink())? < n {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// Removes the first path component, as `tar.x({strip: 1})` does, after
/// normalising the path; `None` for entries that were only that component.
fn strip_first(path: &str) -> Option<String> {
    let norm = path_normalize(&path.replace('\\', "/"));
    let norm = norm.trim_start_matches('/');
    let (_, rest) = norm.split_once('/')?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest == "." || rest.starts_with("../") || rest == ".." {
        return None;
    }
    Some(rest.to_string())
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn parse_octal(b: &[u8]) -> Option<u64> {
    if b.first().is_some_and(|c| c & 0x80 != 0) {
        // base-256
        let mut v: u64 = (b[0] & 0x7f) as u64;
        for c in &b[1..] {
            v = v.checked_mul(256)?.checked_add(*c as u64)?;
        }
        return Some(v);
    }
    let s: String = b
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as char)
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// A key from a PAX extended header (`<len> <key>=<value>\n` records).
fn parse_pax(data: &[u8], key: &str) -> Option<String> {
    let mut rest = data;
    let mut found = None;
    while !rest.is_empty() {
        let sp = rest.iter().position(|b| *b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
        if len <= sp || len > rest.len() {
            return found;
        }
        let record = &rest[sp + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|b| *b == b'=') {
            if &record[..eq] == key.as_bytes() {
                found = Some(String::from_utf8_lossy(&record[eq + 1..]).into_owned());
            }
        }
        rest = &rest[len..];
    }
    found
}

impl PackageSource for TarballSource {
    fn list(&self, dir: &str) -> Vec<String> {
        let Some(dir) = Self::normalise(dir) else {
            return Vec::new();
        };
        let prefix = if dir.is_empty() || dir == "." {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: Vec<String> = Vec::new();
        for f in self.files.keys() {
            if let Some(name) = f.strip_prefix(&prefix) {
                if !name.contains('/') {
                    out.push(name.to_string());
                }
            }
        }
        for d in &self.dirs {
            if let Some(name) = d.strip_prefix(&prefix) {
                if !name.is_empty() && !name.contains('/') {
                    out.push(format!("{name}/"));
                }
            }
        }
        out.sort_by(|a, b| a.trim_end_matches('/').cmp(b.trim_end_matches('/')));
        out
    }

    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        self.files.get(&Self::normalise(rel)?)?.1.clone()
    }

    fn size(&self, rel: &str) -> Option<u64> {
        Some(self.files.get(&Self::normalise(rel)?)?.0)
    }

    fn exists(&self, rel: &str) -> bool {
        match Self::normalise(rel) {
            Some(n) if n.is_empty() || n == "." => true,
            Some(n) => self.files.contains_key(&n) || self.dirs.contains(&n),
            None => false,
        }
    }

    fn git_head(&self) -> Option<String> {
        None
    }

    fn runs_pkg_fix(&self) -> bool {
        false
    }
}

/// glob's `**` under `dir` (default options: no dot entries, symlinks listed
/// but, for a directory source, also followed). glob 13 walks breadth-first
/// and lists each directory's entries in reverse byte order; the paths are
/// relative to `dir`, and directories are included.
pub(crate) fn glob_star_star(src: &dyn PackageSource, dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut queue: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    queue.push_back(String::new());
    let mut guard = 0usize;
    while let Some(rel) = queue.pop_front() {
        guard += 1;
        if guard > 100_000 {
            break;
        }
        let full = match (dir.is_empty(), rel.is_empty()) {
            (_, true) => dir.to_string(),
            (true, false) => rel.clone(),
            (false, false) => format!("{}/{rel}", dir.trim_end_matches('/')),
        };
        let mut names = src.list(&full);
        names.reverse();
        for name in names {
            let is_dir = name.ends_with('/');
            let name = name.trim_end_matches('/');
            if name.starts_with('.') {
                continue;
            }
            let path = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            out.push(path.clone());
            if is_dir {
                queue.push_back(path);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzipped tar of `(path, type flag, data)` entries.
    fn tgz_typed(entries: &[(&str, u8, &[u8])]) -> Vec<u8> {
        let mut tar = Vec::new();
        for (path, kind, data) in entries {
            let mut h = [0u8; 512];
            let name = &path.as_bytes()[..path.len().min(100)];
            h[..name.len()].copy_from_slice(name);
            h[100..107].copy_from_slice(b"0000644");
            let size = format!("{:011o}", data.len());
            h[124..135].copy_from_slice(size.as_bytes());
            h[156] = *kind;
            h[257..263].copy_from_slice(b"ustar\0");
            h[263..265].copy_from_slice(b"00");
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|b| *b as u32).sum();
            h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
            tar.extend_from_slice(&h);
            tar.extend_from_slice(data);
            tar.resize(tar.len().div_ceil(512) * 512, 0);
        }
        tar.resize(tar.len() + 1024, 0);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap()
    }

    fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let typed: Vec<(&str, u8, &[u8])> = entries.iter().map(|(p, d)| (*p, b'0', *d)).collect();
        tgz_typed(&typed)
    }

    /// A name that merely starts with two dots is an ordinary file (the
    /// property test found `package/..-` listed but not found).
    #[test]
    fn names_starting_with_two_dots_are_ordinary_files() {
        let src = TarballSource::new(&tgz(&[
            ("package/package.json", b"{}"),
            ("package/..-", b"x"),
            ("package/..data/f", b"y"),
        ]))
        .unwrap();
        assert!(src.exists("..-") && src.exists("..data/f"));
        assert!(src.list("").contains(&"..-".to_string()));
        assert!(!src.exists("..") && !src.exists("../package.json"));
    }

    #[test]
    fn tarball_source_reads_pax_paths_and_skips_links_and_dirs() {
        let long = format!("package/{}/README.md", "d".repeat(120));
        let record = format!("path={long}\n");
        // "<len> path=...\n" where len counts itself.
        let mut len = record.len() + 4;
        if format!("{len} {record}").len() != len {
            len += 1;
        }
        let pax = format!("{len} {record}");
        assert_eq!(pax.len(), len);
        let src = TarballSource::new(&tgz_typed(&[
            ("PaxHeader", b'x', pax.as_bytes()),
            ("package/truncated-name", b'0', b"long"),
            ("package/empty-dir/", b'5', b""),
            ("package/link", b'1', b""),
            ("package/sym", b'2', b""),
            ("package/AUTHORS", b'0', b"a"),
        ]))
        .unwrap();
        let dir = "d".repeat(120);
        assert_eq!(
            src.root_entries(),
            vec!["AUTHORS".to_string(), format!("{dir}/")]
        );
        assert!(src.exists(&format!("{dir}/README.md")));
        assert_eq!(src.size(&format!("{dir}/README.md")), Some(4));
        assert_eq!(src.read("AUTHORS").as_deref(), Some(&b"a"[..]));
        assert!(!src.exists("empty-dir"));
        assert!(!src.exists("link"));
    }

    #[test]
    fn tarball_source_strips_the_first_component() {
        let src = TarballSource::new(&tgz(&[
            (
                "package/package.json",
                b"{\"name\":\"x\",\"version\":\"1.0.0\"}",
            ),
            ("package/README.md", b"# x"),
            ("package/bin/cli.js", b""),
            ("package/bin/sub/deep.js", b""),
            ("top-level-only", b""),
        ]))
        .unwrap();
        assert_eq!(
            src.root_entries(),
            vec!["README.md", "bin/", "package.json"]
        );
        assert_eq!(src.list("bin"), vec!["cli.js", "sub/"]);
        assert_eq!(src.read("README.md").as_deref(), Some(&b"# x"[..]));
        assert!(src.exists("bin/sub"));
        assert!(src.exists("./bin/../README.md"));
        assert!(!src.exists("../README.md"));
        assert_eq!(src.package_json().unwrap()["name"], "x");
        assert_eq!(
            glob_star_star(&src, "bin"),
            vec!["sub", "cli.js", "sub/deep.js"]
        );
        assert!(TarballSource::new(b"not gzip").is_err());
    }

    #[test]
    fn packed_refs_lines() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            packed_ref(&format!("{sha} refs/heads/main"), "refs/heads/main").as_deref(),
            Some(sha)
        );
        assert_eq!(
            packed_ref(&format!("{sha} refs/heads/main\r"), "refs/heads/main"),
            None
        );
        assert_eq!(
            packed_ref(&format!("{sha} refs/heads/x"), "refs/heads/main"),
            None
        );
        assert_eq!(
            packed_ref("# pack-refs with: peeled", "refs/heads/main"),
            None
        );
    }

    #[test]
    fn dir_source_finds_git_head_upwards() {
        let t = tempfile::tempdir().unwrap();
        let sha = "89abcdef0123456789abcdef0123456789abcdef";
        std::fs::create_dir_all(t.path().join(".git/refs/heads")).unwrap();
        std::fs::create_dir_all(t.path().join("pkg/sub")).unwrap();
        std::fs::write(t.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        let src = DirSource::new(&t.path().join("pkg/sub/.."));
        assert_eq!(src.root(), t.path().join("pkg"));
        assert_eq!(src.git_head(), None);
        std::fs::write(
            t.path().join(".git/packed-refs"),
            format!("# pack-refs\n{sha} refs/heads/main\n"),
        )
        .unwrap();
        assert_eq!(src.git_head().as_deref(), Some(sha));
        let loose = "0000000000000000000000000000000000000001";
        std::fs::write(t.path().join(".git/refs/heads/main"), format!("{loose}\n")).unwrap();
        assert_eq!(src.git_head().as_deref(), Some(loose));
        std::fs::write(t.path().join(".git/HEAD"), format!("{sha}\n")).unwrap();
        assert_eq!(src.git_head().as_deref(), Some(sha));
    }
}
