//! `trustpub pack`: the tarball npm 11.19.1 would make, written as fast as
//! the machine allows.
//!
//! Order of work, as libnpmpack does it: read the manifest, run `prepack`
//! and `prepare`, select the files, stream them as tar entries into a
//! parallel gzip writer while hashing the compressed bytes, move the
//! finished file into place, then run `postpack`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;
use sha1::{Digest as _, Sha1};
use sha2::Sha512;

use crate::collate;
use crate::files::{self, FilesError};
use crate::gzip::ParallelGzip;
use crate::manifest::{Manifest, ManifestError};
use crate::scripts::{self, ScriptError};
use crate::tar;
use crate::ui::{format_bytes, Printer};

/// What went wrong while packing.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Files(#[from] FilesError),
    #[error(transparent)]
    Script(#[from] ScriptError),
    #[error("cannot read {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} changed size while it was being packed ({expected} bytes, then {actual})")]
    FileChanged {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("cannot write the tarball in {dir}")]
    Write {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("pack destination {dir} is not a directory")]
    Destination {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl PackError {
    pub fn exit_code(&self) -> i32 {
        match self {
            PackError::Manifest(ManifestError::Unreadable { .. }) => 1,
            PackError::Manifest(_) => 2,
            PackError::Files(e) => e.exit_code(),
            PackError::Script(e) => e.exit_code(),
            PackError::Destination { .. } => 2,
            _ => 1,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            PackError::Manifest(e) => e.hint(),
            PackError::Files(e) => e.hint(),
            PackError::Script(e) => e.hint(),
            PackError::ReadFile { .. } => Some(
                "check the file's permissions, or exclude it with \"files\" or .npmignore".into(),
            ),
            PackError::FileChanged { .. } => Some(
                "something is writing to the package while it is packed; run again when it is done"
                    .into(),
            ),
            PackError::Write { .. } => {
                Some("check that the destination is writable and has free space".into())
            }
            PackError::Destination { .. } => Some(
                "create the directory first, or pass an existing one with --pack-destination"
                    .into(),
            ),
        }
    }
}

/// Where the compressed tarball goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Compute everything (sizes, integrity) but keep no bytes: `--dry-run`.
    Discard,
    /// Keep the bytes in memory (publish uploads them).
    Memory,
    /// Write `<name>-<version>.tgz` into this directory.
    Directory(PathBuf),
}

/// How to pack.
#[derive(Debug, Clone)]
pub struct PackOptions {
    pub output: Output,
    pub ignore_scripts: bool,
    /// Compression threads (0 = all cores).
    pub threads: usize,
}

/// The sink behind the hashing writer.
enum Sink {
    Discard,
    Memory(Vec<u8>),
    File(io::BufWriter<File>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Discard => Ok(buf.len()),
            Sink::Memory(v) => {
                v.extend_from_slice(buf);
                Ok(buf.len())
            }
            Sink::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::File(f) => f.flush(),
            _ => Ok(()),
        }
    }
}

/// One tar entry as `npm pack --json` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileRecord {
    pub path: String,
    pub size: u64,
    pub mode: u32,
}

/// The result: npm's pack record plus where the file went.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Packed {
    pub id: String,
    pub name: String,
    pub version: String,
    pub size: u64,
    pub unpacked_size: u64,
    pub shasum: String,
    pub integrity: String,
    pub filename: String,
    pub files: Vec<FileRecord>,
    pub entry_count: usize,
    pub bundled: Vec<String>,
    #[serde(skip)]
    pub written: Option<PathBuf>,
    /// The tarball, for [`Output::Memory`].
    #[serde(skip)]
    pub bytes: Option<Vec<u8>>,
    #[serde(skip)]
    pub warnings: Vec<(String, String)>,
}

/// Packs the package in `dir`.
pub fn pack(dir: &Path, opts: &PackOptions, printer: &Printer) -> Result<Packed, PackError> {
    // npm resolves the directory: scripts see absolute paths.
    let dir_buf = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let dir = dir_buf.as_path();
    let manifest = Manifest::read_dir(dir)?;
    for w in &manifest.name_warnings {
        printer.warn("package-json", &format!("{}: {w}", manifest.name));
    }
    if let Output::Directory(dest) = &opts.output {
        match std::fs::metadata(dest) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(PackError::Destination {
                    dir: dest.clone(),
                    source: io::Error::other("not a directory"),
                })
            }
            Err(source) => {
                return Err(PackError::Destination {
                    dir: dest.clone(),
                    source,
                })
            }
        }
    }
    if !opts.ignore_scripts {
        scripts::run(dir, &manifest, "prepack", &[], printer)?;
        let resolved = dir.to_string_lossy().into_owned();
        scripts::run(
            dir,
            &manifest,
            "prepare",
            &[("npm_package_resolved", resolved)],
            printer,
        )?;
    }
    // The file list comes from package.json as the scripts left it; the
    // record's name and version and the bin modes from the one read first.
    let selection_manifest = if opts.ignore_scripts || !has_pack_scripts(&manifest) {
        manifest.clone()
    } else {
        Manifest::read_dir(dir)?
    };
    let selection = files::select(dir, &selection_manifest)?;
    for (code, text) in &selection.warnings {
        printer.warn(code, text);
    }

    let filename = manifest.tarball_name();
    let dest_dir = match &opts.output {
        Output::Directory(d) => d.clone(),
        _ => dir.to_path_buf(),
    };
    let write_err = |source| PackError::Write {
        dir: dest_dir.clone(),
        source,
    };
    let (tmp, sink) = match &opts.output {
        Output::Discard => (None, Sink::Discard),
        Output::Memory => (None, Sink::Memory(Vec::new())),
        Output::Directory(dest) => {
            let tmp = tempfile::Builder::new()
                .prefix(".trustpub-")
                .suffix(".tgz.partial")
                // Created 0666 less the umask, like npm's writeFile.
                .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                .tempfile_in(dest)
                .map_err(write_err)?;
            let file = tmp.reopen().map_err(write_err)?;
            (
                Some(tmp),
                Sink::File(io::BufWriter::with_capacity(256 * 1024, file)),
            )
        }
    };
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let hashed = HashingWriter::new(sink);
    let mut gz = ParallelGzip::new(hashed, threads);
    let entries = write_tar(dir, &manifest, &selection.files, &mut gz)?;
    let hashed = gz.finish().map_err(write_err)?;
    let (mut sink, size, sha1, sha512) = hashed.into_parts();
    sink.flush().map_err(write_err)?;
    let bytes = match sink {
        Sink::Memory(v) => Some(v),
        _ => None,
    };

    let integrity = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha512)
    );
    let shasum = hex::encode(sha1);
    let written = match tmp {
        None => None,
        Some(tmp) => {
            let target = dest_dir.join(&filename);
            tmp.persist(&target).map_err(|e| write_err(e.error))?;
            Some(target)
        }
    };

    let mut packed = record(
        &manifest.name,
        &manifest.version,
        entries,
        size,
        shasum,
        integrity,
    );
    packed.written = written;
    packed.bytes = bytes;
    packed.warnings = selection.warnings;

    if !opts.ignore_scripts {
        let env = [
            ("npm_package_from", format!("file:{}", dir.display())),
            ("npm_package_resolved", dir.to_string_lossy().into_owned()),
            ("npm_package_integrity", packed.integrity.clone()),
        ];
        if let Err(e) = scripts::run(dir, &manifest, "postpack", &env, printer) {
            // A failed run leaves nothing behind.
            if let Some(path) = &packed.written {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
    }
    Ok(packed)
}

/// npm's pack record (`lib/utils/tar.js` `getContents`) from the tar
/// entries in archive order and the digests of the compressed bytes.
pub fn record(
    name: &str,
    version: &str,
    entries: Vec<FileRecord>,
    size: u64,
    shasum: String,
    integrity: String,
) -> Packed {
    let unpacked_size = entries.iter().map(|e| e.size).sum();
    let mut bundled: Vec<String> = Vec::new();
    for e in &entries {
        if let Some(rest) = e.path.strip_prefix("node_modules/") {
            let mut parts = rest.splitn(3, '/');
            let first = parts.next().unwrap_or("");
            let name = if first.starts_with('@') {
                match parts.next() {
                    Some(second) => format!("{first}/{second}"),
                    None => continue,
                }
            } else {
                first.to_string()
            };
            if !name.is_empty() && !bundled.contains(&name) {
                bundled.push(name);
            }
        }
    }
    let entry_count = entries.len();
    let (mut uppers, mut others): (Vec<FileRecord>, Vec<FileRecord>) = entries
        .into_iter()
        .partition(|f| collate::starts_upper(&f.path));
    uppers.sort_by(|a, b| collate::listing_compare(&a.path, &b.path));
    others.sort_by(|a, b| collate::listing_compare(&a.path, &b.path));
    uppers.extend(others);
    Packed {
        id: format!("{name}@{version}"),
        name: name.to_string(),
        version: version.to_string(),
        size,
        unpacked_size,
        shasum,
        integrity,
        filename: format!(
            "{}-{version}.tgz",
            name.replacen('@', "", 1).replacen('/', "-", 1)
        ),
        files: uppers,
        entry_count,
        bundled,
        written: None,
        bytes: None,
        warnings: Vec::new(),
    }
}

/// sha1 hex and sha512 SRI of a finished tarball.
pub fn digests(bytes: &[u8]) -> (String, String) {
    let sha1 = Sha1::digest(bytes);
    let sha512 = Sha512::digest(bytes);
    (
        hex::encode(sha1),
        format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(sha512)
        ),
    )
}

fn has_pack_scripts(m: &Manifest) -> bool {
    m.script("prepack").is_some() || m.script("prepare").is_some()
}

/// pacote's bin filter: the path with its first component removed equals a
/// `bin` target (so only top-level bin files get `+x`, an npm quirk).
fn is_package_bin(manifest: &Manifest, path: &str) -> bool {
    let p = match path.find('/') {
        Some(i) => &path[i + 1..],
        None => path,
    };
    manifest.bin.iter().any(|(_, target)| target == p)
}

/// Streams every file as a tar entry into `out`; returns the entries.
fn write_tar<W: Write>(
    dir: &Path,
    manifest: &Manifest,
    files: &[String],
    out: &mut W,
) -> Result<Vec<FileRecord>, PackError> {
    let mut records = Vec::with_capacity(files.len());
    let mut links: HashMap<(u64, u64), String> = HashMap::new();
    let mut header = Vec::with_capacity(1536);
    let mut data = Vec::new();
    let write_err = |source| PackError::Write {
        dir: dir.to_path_buf(),
        source,
    };
    for rel in files {
        let abs = dir.join(rel);
        let read_err = |source| PackError::ReadFile {
            path: abs.clone(),
            source,
        };
        let meta = std::fs::symlink_metadata(&abs).map_err(read_err)?;
        let filter_path = if rel.starts_with('@') {
            format!("./{rel}")
        } else {
            rel.clone()
        };
        let mut mode = meta.mode();
        if is_package_bin(manifest, &filter_path) {
            mode |= 0o111;
        }
        let mode = tar::portable_mode(mode);
        let entry_rel = tar::strip_absolute(rel);
        let path = format!("package/{entry_rel}");
        header.clear();
        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = links.get(&key) {
                let target = format!("package/{first}");
                tar::write_header(
                    &mut header,
                    &tar::Entry {
                        path: &path,
                        linkpath: Some(&target),
                        mode,
                        size: 0,
                        kind: tar::Kind::Link,
                    },
                );
                out.write_all(&header).map_err(write_err)?;
                records.push(FileRecord {
                    path: entry_rel.to_string(),
                    size: 0,
                    mode,
                });
                continue;
            }
            // node-tar makes the link target from the unstripped path.
            links.insert(key, rel.clone());
        }
        let size = meta.len();
        tar::write_header(
            &mut header,
            &tar::Entry {
                path: &path,
                linkpath: None,
                mode,
                size,
                kind: tar::Kind::File,
            },
        );
        out.write_all(&header).map_err(write_err)?;
        if size > 0 {
            data.clear();
            let mut f = File::open(&abs).map_err(read_err)?;
            Read::by_ref(&mut f)
                .take(size + 1)
                .read_to_end(&mut data)
                .map_err(read_err)?;
            if data.len() as u64 != size {
                return Err(PackError::FileChanged {
                    path: abs,
                    expected: size,
                    actual: data.len() as u64,
                });
            }
            data.resize(data.len() + tar::padding(size), 0);
            out.write_all(&data).map_err(write_err)?;
        }
        records.push(FileRecord {
            path: entry_rel.to_string(),
            size,
            mode,
        });
    }
    out.write_all(&tar::END_OF_ARCHIVE).map_err(write_err)?;
    Ok(records)
}

/// Counts and hashes (sha1 + sha512) everything written through it.
struct HashingWriter<W> {
    inner: W,
    size: u64,
    sha1: Sha1,
    sha512: Sha512,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            size: 0,
            sha1: Sha1::new(),
            sha512: Sha512::new(),
        }
    }

    fn into_parts(self) -> (W, u64, [u8; 20], [u8; 64]) {
        (
            self.inner,
            self.size,
            self.sha1.finalize().into(),
            self.sha512.finalize().into(),
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha1.update(&buf[..n]);
        self.sha512.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// npm's notice block for a packed tarball (`lib/utils/tar.js` `logTar`).
pub fn notice_lines(p: &Packed, unicode: bool) -> Vec<String> {
    let mut lines = vec![String::new()];
    lines.push(if unicode {
        format!("📦  {}@{}", p.name, p.version)
    } else {
        format!("package: {}@{}", p.name, p.version)
    });
    lines.push("Tarball Contents".into());
    for f in &p.files {
        if !f.path.starts_with("node_modules/") {
            lines.push(format!("{} {}", format_bytes(f.size, false), f.path));
        }
    }
    if !p.bundled.is_empty() {
        lines.push("Bundled Dependencies".into());
        lines.extend(p.bundled.iter().cloned());
    }
    lines.push("Tarball Details".into());
    lines.push(format!("name: {}", p.name));
    lines.push(format!("version: {}", p.version));
    lines.push(format!("filename: {}", p.filename));
    lines.push(format!("package size: {}", format_bytes(p.size, true)));
    lines.push(format!(
        "unpacked size: {}",
        format_bytes(p.unpacked_size, true)
    ));
    lines.push(format!("shasum: {}", p.shasum));
    let short = if p.integrity.len() > 80 {
        format!("{}[...]{}", &p.integrity[..20], &p.integrity[80..])
    } else {
        p.integrity.clone()
    };
    lines.push(format!("integrity: {short}"));
    if !p.bundled.is_empty() {
        lines.push(format!("bundled deps: {}", p.bundled.len()));
        // npm computes entryCount - files.length, which is always 0.
        lines.push(format!("bundled files: {}", p.entry_count - p.files.len()));
        lines.push(format!("own files: {}", p.files.len()));
    }
    lines.push(format!("total files: {}", p.entry_count));
    lines.push(String::new());
    lines
}
