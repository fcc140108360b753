//! Limits on what trustpub reads from files it is given: every input has a
//! size limit and a clear error past it, and only regular files are read
//! (a FIFO would block forever, `/dev/zero` never ends). npm has no such
//! limits; these are far above what real packages use.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
#[cfg(unix)]
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// `package.json` (in a directory or in a `.tgz`).
pub const MANIFEST_MAX: u64 = 4 << 20;
/// An `.npmrc` (user, global, project, builtin, `--userconfig`).
pub const NPMRC_MAX: u64 = 4 << 20;
/// A Sigstore bundle given with `--provenance-file`.
pub const PROVENANCE_FILE_MAX: u64 = 4 << 20;
/// The README npm copies into the publish document (`readme`), and any
/// other file read into the document (AUTHORS).
pub const README_MAX: u64 = 16 << 20;
/// A CI workflow file `doctor` reads.
pub const WORKFLOW_FILE_MAX: u64 = 4 << 20;
/// The GitHub event payload (`GITHUB_EVENT_PATH`): GitHub caps webhook
/// payloads at 25 MB.
pub const EVENT_PAYLOAD_MAX: u64 = 32 << 20;
/// A `.tgz` given to `publish` (it is held in memory for the upload).
pub const TARBALL_MAX: u64 = 512 << 20;
/// `node_modules/.package-lock.json`, read when a package bundles
/// dependencies (a large install's is a few MiB).
pub const LOCKFILE_MAX: u64 = 64 << 20;

/// "4 MiB", "512 MiB", "1 GiB".
pub fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

/// What a file that is not a regular file is, in words; `None` for a
/// regular file.
pub fn odd_kind(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else {
        odd_unix_kind(t)
    }
}

#[cfg(unix)]
fn odd_unix_kind(t: std::fs::FileType) -> Option<&'static str> {
    if t.is_fifo() {
        Some("a named pipe (FIFO)")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    }
}

/// Windows has no FIFOs or device files in the file system (named pipes
/// live under `\\.\pipe\`, which is not a directory a package is in).
#[cfg(not(unix))]
fn odd_unix_kind(_: std::fs::FileType) -> Option<&'static str> {
    Some("not a regular file")
}

fn not_regular(kind: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {kind}, not a regular file"),
    )
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "it is larger than {}, the most trustpub reads for this file",
            human(limit)
        ),
    )
}

/// Whether an error is one of [`read_file`]'s own refusals (not a regular
/// file, too large), as opposed to the system's.
pub fn is_refusal(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::FileTooLarge
    ) && e.get_ref().is_some()
}

/// Opens a regular file for reading (following symlinks): anything else is
/// refused before it is opened, and it is opened non-blocking and checked
/// again, so a FIFO swapped in meanwhile cannot block either.
pub fn open_regular(path: &Path) -> io::Result<File> {
    if let Some(kind) = odd_kind(&std::fs::metadata(path)?) {
        return Err(not_regular(kind));
    }
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    options.custom_flags(libc::O_NONBLOCK);
    let f = options.open(path)?;
    if let Some(kind) = odd_kind(&f.metadata()?) {
        return Err(not_regular(kind));
    }
    Ok(f)
}

/// Whether `path` is the null device (`/dev/null` or a link to it), which
/// reads as empty: `--userconfig /dev/null` is the usual way to tell npm
/// "no user config", and it can neither block nor be large.
#[cfg(unix)]
fn is_null_device(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(path), std::fs::metadata("/dev/null")) {
        (Ok(m), Ok(null)) => m.file_type().is_char_device() && m.rdev() == null.rdev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn is_null_device(_: &Path) -> bool {
    false
}

/// [`read_file`] for a configuration file (an npmrc), where the null
/// device also reads as empty, as in npm.
pub fn read_config_file(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    if is_null_device(path) {
        return Ok(Vec::new());
    }
    read_file(path, limit)
}

/// Reads a whole regular file of at most `limit` bytes.
pub fn read_file(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let f = open_regular(path)?;
    let len = f.metadata()?.len();
    if len > limit {
        return Err(too_large(limit));
    }
    let mut buf = Vec::with_capacity(len as usize);
    f.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(buf)
}

/// [`read_file`] as UTF-8 (`InvalidData` otherwise, as `fs::read_to_string`).
pub fn read_text(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_file(path, limit)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_null_device_reads_as_an_empty_config_file_only() {
        assert_eq!(read_config_file(Path::new("/dev/null"), 10).unwrap(), b"");
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("null");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert_eq!(read_config_file(&link, 10).unwrap(), b"");
        let e = read_file(Path::new("/dev/null"), 10).unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_directories_and_fifos_are_refused_without_blocking() {
        let e = read_file(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
        assert!(is_refusal(&e));
        let dir = tempfile::tempdir().unwrap();
        let e = read_file(dir.path(), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_file(&fifo, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("a named pipe (FIFO)"), "{e}");
    }

    #[test]
    fn files_past_the_limit_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![b'a'; 2048]).unwrap();
        assert_eq!(read_file(&p, 2048).unwrap().len(), 2048);
        let e = read_file(&p, 2047).unwrap_err();
        assert!(e.to_string().contains("larger than 2 KiB"), "{e}");
        assert!(is_refusal(&e));
        let e = read_file(&dir.path().join("absent"), 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(!is_refusal(&e));
        assert_eq!(human(4 << 20), "4 MiB");
        assert_eq!(human(1 << 30), "1 GiB");
    }
}
