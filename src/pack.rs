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
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;
use sha1::{Digest as _, Sha1};
use sha2::Sha512;

use crate::collate;
use crate::env::Env;
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
    /// The configuration `trustpub pack` reads `script-shell` from.
    #[error(transparent)]
    Config(#[from] Box<crate::config::ConfigError>),
    /// The workspace's package manager would not publish this package.json.
    #[error(transparent)]
    /// Boxed: it names a file, a field, a dependency and a member.
    Rewrite(Box<crate::workspace::rewrite::RewriteError>),
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

impl From<crate::workspace::rewrite::RewriteError> for PackError {
    fn from(e: crate::workspace::rewrite::RewriteError) -> Self {
        PackError::Rewrite(Box::new(e))
    }
}

impl PackError {
    pub fn exit_code(&self) -> i32 {
        match self {
            PackError::Manifest(ManifestError::Unreadable { .. }) => 1,
            PackError::Manifest(_) => 2,
            PackError::Files(e) => e.exit_code(),
            PackError::Script(e) => e.exit_code(),
            PackError::Config(e) => e.exit_code(),
            PackError::Rewrite(e) => e.exit_code(),
            PackError::Destination { .. } => 2,
            _ => 1,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            PackError::Manifest(e) => e.hint(),
            PackError::Files(e) => e.hint(),
            PackError::Script(e) => e.hint(),
            PackError::Config(e) => e.hint(),
            PackError::Rewrite(e) => e.hint(),
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
    /// `script-shell`: the shell for prepack, prepare and postpack (`None`:
    /// `sh`, or `%ComSpec%` on Windows).
    pub script_shell: Option<String>,
    /// Compression threads (0 = all cores).
    pub threads: usize,
    /// The bytes of `package/package.json` when they are not the file's:
    /// the manifest the workspace's package manager publishes
    /// ([`crate::workspace::rewrite`]). The entry keeps the file's place,
    /// mode and time; the file list and bin modes stay npm's.
    pub package_json: Option<Vec<u8>>,
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
pub fn pack(
    dir: &Path,
    opts: &PackOptions,
    env: &Env,
    printer: &Printer,
) -> Result<Packed, PackError> {
    // npm resolves the directory: scripts see absolute paths.
    let dir_buf = crate::manifest::clean_path(
        &std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
    );
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
        let shell = opts.script_shell.as_deref();
        scripts::run(dir, &manifest, "prepack", &[], shell, env, printer)?;
        let resolved = dir.to_string_lossy().into_owned();
        scripts::run(
            dir,
            &manifest,
            "prepare",
            &[("npm_package_resolved", resolved)],
            shell,
            env,
            printer,
        )?;
    }
    // The file list comes from package.json as the scripts left it; the
    // record's name and version and the bin modes from the one read first.
    let selection = if opts.ignore_scripts || !has_pack_scripts(&manifest) {
        files::select(dir, &manifest)?
    } else {
        files::select(dir, &Manifest::read_dir(dir)?)?
    };
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
            // Partial files of runs that were killed outright (their PID
            // is gone); never another live run's.
            crate::signals::sweep_stale(dest);
            let mut builder = tempfile::Builder::new();
            let prefix = crate::signals::partial_prefix();
            builder.prefix(&prefix).suffix(".tgz.partial");
            // Created 0666 less the umask, like npm's writeFile.
            #[cfg(unix)]
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
            let tmp = builder.tempfile_in(dest).map_err(write_err)?;
            let file = tmp.reopen().map_err(write_err)?;
            (
                Some(tmp),
                Sink::File(io::BufWriter::with_capacity(256 * 1024, file)),
            )
        }
    };
    // Removed on SIGINT/SIGTERM while it is being written.
    let partial = tmp.as_ref().map(|t| crate::signals::partial(t.path()));
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let hashed = HashingWriter::new(sink);
    let mut gz = ParallelGzip::new(hashed, threads);
    let entries = write_tar(
        dir,
        &manifest,
        &selection.files,
        opts.package_json.as_deref(),
        &mut gz,
    )?;
    drop(selection.files);
    // Sort the listing while the workers compress the last chunks.
    let listing = Listing::new(entries);
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
            drop(partial);
            Some(target)
        }
    };

    let mut packed =
        listing.into_packed(&manifest.name, &manifest.version, size, shasum, integrity);
    packed.written = written;
    packed.bytes = bytes;
    packed.warnings = selection.warnings;

    if !opts.ignore_scripts {
        let extra = [
            ("npm_package_from", format!("file:{}", dir.display())),
            ("npm_package_resolved", dir.to_string_lossy().into_owned()),
            ("npm_package_integrity", packed.integrity.clone()),
        ];
        if let Err(e) = scripts::run(
            dir,
            &manifest,
            "postpack",
            &extra,
            opts.script_shell.as_deref(),
            env,
            printer,
        ) {
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
    Listing::new(entries).into_packed(name, version, size, shasum, integrity)
}

/// The parts of [`Packed`] that depend on the tar entries alone.
struct Listing {
    unpacked_size: u64,
    /// In the notice listing's order.
    files: Vec<FileRecord>,
    entry_count: usize,
    bundled: Vec<String>,
}

impl Listing {
    fn new(entries: Vec<FileRecord>) -> Listing {
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
        collate::sort_for_listing(&mut uppers, |f| &f.path);
        collate::sort_for_listing(&mut others, |f| &f.path);
        uppers.extend(others);
        Listing {
            unpacked_size,
            files: uppers,
            entry_count,
            bundled,
        }
    }

    fn into_packed(
        self,
        name: &str,
        version: &str,
        size: u64,
        shasum: String,
        integrity: String,
    ) -> Packed {
        Packed {
            id: format!("{name}@{version}"),
            name: name.to_string(),
            version: version.to_string(),
            size,
            unpacked_size: self.unpacked_size,
            shasum,
            integrity,
            filename: crate::manifest::tarball_file_name(name, version),
            files: self.files,
            entry_count: self.entry_count,
            bundled: self.bundled,
            written: None,
            bytes: None,
            warnings: Vec::new(),
        }
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

/// Zero bytes for tar padding (less than one block) and headers.
const ZEROS: [u8; 512] = [0; 512];

/// Streams every file as a tar entry into `out`; returns the entries.
///
/// File data is read straight into the compressor's chunk buffer (no
/// intermediate copy); headers and padding are copied in.
fn write_tar<W: Write + Send>(
    dir: &Path,
    manifest: &Manifest,
    files: &[String],
    package_json: Option<&[u8]>,
    out: &mut ParallelGzip<W>,
) -> Result<Vec<FileRecord>, PackError> {
    let mut records = Vec::with_capacity(files.len());
    let mut links: HashMap<(u64, u64), String> = HashMap::new();
    let mut header = Vec::with_capacity(1536);
    let mut path = String::new();
    let mut abs = PathBuf::with_capacity(dir.as_os_str().len() + 256);
    let write_err = |source| PackError::Write {
        dir: dir.to_path_buf(),
        source,
    };
    for rel in files {
        abs.as_mut_os_string().clear();
        abs.push(dir);
        abs.push(rel);
        let read_err = |source| PackError::ReadFile {
            path: abs.clone(),
            source,
        };
        let (meta, opened) = open_entry(&abs).map_err(read_err)?;
        let mut mode = stat_mode(&meta);
        let bin = if rel.starts_with('@') {
            is_package_bin(manifest, &format!("./{rel}"))
        } else {
            is_package_bin(manifest, rel)
        };
        if bin {
            mode |= 0o111;
        }
        let mode = tar::portable_mode(mode);
        let entry_rel = tar::strip_absolute(rel);
        path.clear();
        path.push_str("package/");
        path.push_str(entry_rel);
        header.clear();
        if let Some(key) = hard_link_key(&meta) {
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
        // package.json as the workspace's manager writes it, when given;
        // else the file itself, copied as it is read.
        let rewritten = package_json.filter(|_| rel == "package.json");
        let size = rewritten.map_or(meta.len(), |b| b.len() as u64);
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
        if let Some(bytes) = rewritten {
            out.write_all(bytes).map_err(write_err)?;
            out.write_all(&ZEROS[..tar::padding(size)])
                .map_err(write_err)?;
        } else if size > 0 {
            let mut f = match opened {
                Some(f) => f,
                None => File::open(&abs).map_err(read_err)?,
            };
            let actual = copy_file(&mut f, size, out).map_err(|e| match e {
                Copy::Read(source) => read_err(source),
                Copy::Write(source) => write_err(source),
            })?;
            if actual != size {
                return Err(PackError::FileChanged {
                    path: abs,
                    expected: size,
                    actual,
                });
            }
            out.write_all(&ZEROS[..tar::padding(size)])
                .map_err(write_err)?;
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

/// Which side of a file copy failed.
enum Copy {
    Read(io::Error),
    Write(io::Error),
}

/// Reads up to `size + 1` bytes of `f` straight into the compressor's
/// buffer, committing the first `size`; returns how many bytes the file
/// had up to that limit (`size + 1` means it grew).
///
/// Each read asks for one byte more than is still expected when the chunk
/// has room for it: a read that comes back short at the expected size is the
/// end of the file, and one that fills it means the file grew, so no
/// separate end-of-file read is needed.
fn copy_file<W: Write + Send>(
    f: &mut File,
    size: u64,
    out: &mut ParallelGzip<W>,
) -> Result<u64, Copy> {
    let mut done = 0u64;
    while done < size {
        let left = size - done;
        let space = out.spare().map_err(Copy::Write)?;
        let want = space
            .len()
            .min(usize::try_from(left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = read_retry(f, &mut space[..want]).map_err(Copy::Read)?;
        if n == 0 {
            return Ok(done);
        }
        if n as u64 > left {
            return Ok(size + 1);
        }
        out.commit(n);
        done += n as u64;
        if done == size && n < want {
            return Ok(size);
        }
    }
    // The last read filled the chunk exactly: ask once more.
    let mut probe = [0u8; 1];
    match read_retry(f, &mut probe).map_err(Copy::Read)? {
        0 => Ok(size),
        _ => Ok(size + 1),
    }
}

fn read_retry(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match f.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// `O_NOFOLLOW | O_NONBLOCK` where their values are known (they differ
/// between architectures); elsewhere [`open_entry`] takes the lstat path.
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "riscv64",
        target_arch = "loongarch64"
    )
))]
const NOFOLLOW_NONBLOCK: Option<i32> = Some(0o400_000 | 0o4000);
#[cfg(all(target_os = "linux", any(target_arch = "aarch64", target_arch = "arm")))]
const NOFOLLOW_NONBLOCK: Option<i32> = Some(0o100_000 | 0o4000);
#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "riscv64",
        target_arch = "loongarch64",
        target_arch = "aarch64",
        target_arch = "arm"
    )
)))]
#[cfg_attr(not(unix), allow(dead_code))]
const NOFOLLOW_NONBLOCK: Option<i32> = None;

/// The permission bits node's `fs.lstat` reports: the real mode on Unix.
#[cfg(unix)]
fn stat_mode(meta: &std::fs::Metadata) -> u32 {
    std::os::unix::fs::MetadataExt::mode(meta)
}

/// On Windows node's `fs.lstat` gets its mode from libuv, which has only
/// the read-only attribute to go on (see [`libuv_windows_mode`]).
#[cfg(not(unix))]
fn stat_mode(meta: &std::fs::Metadata) -> u32 {
    libuv_windows_mode(meta.permissions().readonly())
}

/// The permission bits libuv's `fs__stat_handle` (src/win/fs.c) reports on
/// Windows: `0o444` for a file with the read-only attribute, else `0o666`;
/// never an execute bit. After pacote's `+0o111` for package `bin` files and
/// node-tar's portable mode fix (`(mode | 0o600) & ~0o022`), npm on Windows
/// writes `0o644` for every file and `0o755` for bins.
pub fn libuv_windows_mode(readonly: bool) -> u32 {
    if readonly {
        0o444
    } else {
        0o666
    }
}

/// The `dev:ino` key node-tar's link cache uses for a file with more than
/// one link, so that the second name becomes a hard-link entry.
#[cfg(unix)]
fn hard_link_key(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    (meta.nlink() > 1).then(|| (meta.dev(), meta.ino()))
}

/// Stable Rust cannot read a file's link count and index on Windows
/// (`MetadataExt::number_of_links` is unstable), so every name of a
/// hard-linked file is packed as a file of its own there. npm on Windows
/// would write a link entry for the second name; hard links in a package
/// directory on Windows are rare, and the difference is written down in
/// the README.
#[cfg(not(unix))]
fn hard_link_key(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// An entry's `lstat` metadata and, for a regular file, the file opened for
/// reading. One path lookup instead of two: open without following a
/// symbolic link (and without blocking on a FIFO), then `fstat`, which for
/// a regular file is what `lstat` says. Anything else, or a failed open,
/// falls back to `lstat` and opens nothing, as npm does.
fn open_entry(path: &Path) -> io::Result<(std::fs::Metadata, Option<File>)> {
    #[cfg(unix)]
    if let Some(flags) = NOFOLLOW_NONBLOCK {
        use std::os::unix::fs::OpenOptionsExt;
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path);
        if let Ok(f) = opened {
            if let Ok(meta) = f.metadata() {
                if meta.file_type().is_file() {
                    return Ok((meta, Some(f)));
                }
            }
        }
    }
    Ok((std::fs::symlink_metadata(path)?, None))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_modes_become_what_npm_on_windows_writes() {
        // (read-only, package bin) -> the mode in the tar header.
        let cases = [
            (false, false, 0o644),
            (true, false, 0o644),
            (false, true, 0o755),
            (true, true, 0o755),
        ];
        for (readonly, bin, want) in cases {
            let mut mode = libuv_windows_mode(readonly);
            if bin {
                mode |= 0o111;
            }
            assert_eq!(tar::portable_mode(mode), want, "{readonly} {bin}");
        }
    }

    #[cfg(windows)]
    #[test]
    fn windows_stat_mode_follows_the_read_only_attribute() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.js");
        std::fs::write(&file, b"abc").unwrap();
        assert_eq!(stat_mode(&std::fs::metadata(&file).unwrap()), 0o666);
        let mut perms = std::fs::metadata(&file).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&file, perms).unwrap();
        assert_eq!(stat_mode(&std::fs::metadata(&file).unwrap()), 0o444);
        let mut perms = std::fs::metadata(&file).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&file, perms).unwrap();
    }

    #[test]
    fn open_entry_is_lstat_and_never_follows_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.js");
        std::fs::write(&file, b"abc").unwrap();
        let link = dir.path().join("l.js");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&file, &link).unwrap();
        // Needs the right to make symbolic links (an administrator, as on
        // GitHub's Windows runners, or developer mode).
        #[cfg(windows)]
        std::os::windows::fs::symlink_file(&file, &link)
            .expect("cannot make a symbolic link: run as administrator or enable developer mode");

        let (meta, opened) = open_entry(&file).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.len(), 3);
        assert_eq!(opened.is_some(), NOFOLLOW_NONBLOCK.is_some());

        let (meta, opened) = open_entry(&link).unwrap();
        assert!(meta.file_type().is_symlink(), "must be lstat's answer");
        assert!(opened.is_none(), "a symlink must not be opened");

        let (meta, opened) = open_entry(dir.path()).unwrap();
        assert!(meta.is_dir());
        assert!(opened.is_none());
        assert!(open_entry(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn copy_file_notices_growth_and_shrinking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 100]).unwrap();
        // Chunk sizes where the expected end falls inside a chunk, exactly
        // at its end, or one byte before it.
        for chunk in [1, 7, 99, 100, 101, 4096] {
            for (declared, expected) in [(100, 100), (99, 100), (50, 51), (101, 100), (200, 100)] {
                let mut gz = ParallelGzip::with_chunk_size(Vec::new(), 1, chunk);
                let mut f = File::open(&path).unwrap();
                let got = copy_file(&mut f, declared, &mut gz).ok().unwrap();
                assert_eq!(got, expected, "chunk {chunk}, declared {declared}");
            }
        }
    }

    /// Packs `files` of `dir` into a gzip of small chunks and gunzips it.
    fn tar_of(dir: &Path, files: &[&str], chunk: usize) -> Result<Vec<u8>, PackError> {
        let manifest = Manifest::parse(br#"{"name":"x","version":"1.0.0"}"#, Path::new("p"))
            .expect("manifest");
        let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
        let mut gz = ParallelGzip::with_chunk_size(Vec::new(), 2, chunk);
        write_tar(dir, &manifest, &files, None, &mut gz)?;
        let gz = gz.finish().unwrap();
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut tar)
            .unwrap();
        Ok(tar)
    }

    #[test]
    fn file_data_lands_in_the_tar_across_chunk_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [0usize, 1, 511, 512, 513, 4095, 4096, 4097, 10_000];
        let mut names = Vec::new();
        for (i, &n) in sizes.iter().enumerate() {
            let name = format!("f{i}.bin");
            let data: Vec<u8> = (0..n).map(|k| (k * 7 + i) as u8).collect();
            std::fs::write(dir.path().join(&name), data).unwrap();
            names.push(name);
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        // Chunk sizes around the file and block sizes, so that files start,
        // end and fill chunks exactly.
        let reference = tar_of(dir.path(), &names, 1 << 20).unwrap();
        for chunk in [1, 511, 512, 513, 1000, 4096, 4097] {
            assert!(
                tar_of(dir.path(), &names, chunk).unwrap() == reference,
                "chunk size {chunk}"
            );
        }
        // And the data is where tar puts it.
        let mut pos = 0;
        for (i, &n) in sizes.iter().enumerate() {
            pos += 512;
            let data: Vec<u8> = (0..n).map(|k| (k * 7 + i) as u8).collect();
            assert!(reference[pos..pos + n] == data[..], "file {i}");
            pos += n.div_ceil(512) * 512;
        }
        assert_eq!(reference.len(), pos + 1024);
    }
}
