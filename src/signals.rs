//! What happens on SIGINT, SIGTERM and SIGHUP: nothing partial is left
//! behind and no lifecycle script outlives trustpub.
//!
//! [`install`] starts a thread that waits for those signals. On the first
//! one it forwards the signal to the process group of every running
//! lifecycle script (each runs in its own group, so this reaches what the
//! script started too), waits a little for them to go (then kills them),
//! removes every `.trustpub-<pid>-*.tgz.partial` being written, and dies
//! of the same signal, so the exit status is the one a signal death gives
//! (130 for SIGINT, 143 for SIGTERM in a shell).
//!
//! A partial file's name holds its writer's PID; [`sweep_stale`] removes
//! those whose writer is gone (a run killed with SIGKILL), never another
//! live run's.
//!
//! On Windows there are no signals to forward: Ctrl+C (and Ctrl+Break,
//! closing the console) reaches every process attached to the console,
//! lifecycle scripts included (they are not put in a group of their own
//! there), and each ends by itself, as under npm. [`install`] registers a
//! console handler that removes the partial files, then lets the default
//! handler end the process (exit status `STATUS_CONTROL_C_EXIT`).
//! [`sweep_stale`] asks the system whether a PID is still running.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
#[cfg(unix)]
use std::time::Instant;

static INSTALL: Once = Once::new();
static DYING: AtomicBool = AtomicBool::new(false);
static PARTIALS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// How long scripts get to exit after the forwarded signal.
#[cfg(unix)]
const GRACE: Duration = Duration::from_secs(3);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers the console handler (once). Without it, the default action
/// applies.
#[cfg(windows)]
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: `on_console_event` has the signature the system calls and
        // lives as long as the process.
        unsafe {
            windows_sys::Win32::System::Console::SetConsoleCtrlHandler(Some(on_console_event), 1)
        };
    });
}

/// Runs on a thread of its own the system starts for the event: removes
/// the partial files, then returns FALSE so that the next handler (the
/// default one) ends the process.
#[cfg(windows)]
unsafe extern "system" fn on_console_event(_event: u32) -> windows_sys::core::BOOL {
    for p in lock(&PARTIALS).iter() {
        // Partial files are opened with FILE_SHARE_DELETE (std's default),
        // so this works while they are still open.
        let _ = std::fs::remove_file(p);
    }
    0
}

/// Neither Unix nor Windows: the default actions apply.
#[cfg(not(any(unix, windows)))]
pub fn install() {}

/// Starts the signal thread (once). Without it, the default actions apply.
#[cfg(unix)]
pub fn install() {
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    die_of(sig);
                }
            });
    });
}

#[cfg(unix)]
fn die_of(sig: i32) -> ! {
    DYING.store(true, Ordering::SeqCst);
    let groups = lock(&GROUPS).clone();
    for g in &groups {
        // SAFETY: kill(2) with a negative PID signals that process group.
        unsafe { libc::kill(-g, sig) };
    }
    let until = Instant::now() + GRACE;
    while groups.iter().any(|g| group_alive(*g)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    for g in &groups {
        // SAFETY: as above.
        unsafe { libc::kill(-g, libc::SIGKILL) };
    }
    for p in lock(&PARTIALS).iter() {
        let _ = std::fs::remove_file(p);
    }
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    std::process::exit(128 + sig)
}

/// Whether a process group still has a member that is not a zombie.
#[cfg(unix)]
fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    if unsafe { libc::kill(-pgid, 0) } != 0 {
        return false;
    }
    // Zombies count for kill(2); look at /proc where there is one.
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return true;
    };
    rd.flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp …`; comm may contain spaces.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            return false;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        f.len() > 3 && f[0] != "Z" && f[2] == pgid.to_string()
    })
}

/// Called before the process exits on its own: once a signal is being
/// handled, the signal thread decides how the process ends, so this waits
/// for it instead of returning.
pub fn before_exit() {
    while DYING.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Registers a partial file for removal on a signal, until dropped.
pub struct Partial(PathBuf);

pub fn partial(path: &Path) -> Partial {
    lock(&PARTIALS).push(path.to_path_buf());
    Partial(path.to_path_buf())
}

impl Drop for Partial {
    fn drop(&mut self) {
        lock(&PARTIALS).retain(|p| *p != self.0);
    }
}

/// Registers a child's process group, to be signalled with us, until dropped.
pub struct Group(i32);

pub fn group(pgid: u32) -> Group {
    let pgid = pgid as i32;
    lock(&GROUPS).push(pgid);
    Group(pgid)
}

impl Drop for Group {
    fn drop(&mut self) {
        lock(&GROUPS).retain(|g| *g != self.0);
    }
}

/// The prefix of this run's partial files: `.trustpub-<pid>-`.
pub fn partial_prefix() -> String {
    format!(".trustpub-{}-", std::process::id())
}

/// Removes `.trustpub-<pid>-*.tgz.partial` files in `dir` whose writer is
/// provably gone: no process with that PID exists. Files of live processes
/// (even if the PID was reused), of other users, and anything that is not
/// a regular file are left alone.
#[cfg(windows)]
pub fn sweep_stale(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Some(pid) = stale_pid(&e.file_name()) else {
            continue;
        };
        if pid == std::process::id() || process_exists(pid) {
            continue;
        }
        let path = e.path();
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The PID in a `.trustpub-<pid>-*.tgz.partial` name.
#[cfg(windows)]
fn stale_pid(name: &std::ffi::OsStr) -> Option<u32> {
    name.to_str()?
        .strip_prefix(".trustpub-")?
        .strip_suffix(".tgz.partial")?
        .split_once('-')
        .and_then(|(pid, _)| pid.parse::<u32>().ok())
        .filter(|pid| *pid > 0)
}

/// Whether a process with this PID runs: it can be opened, or it exists
/// but may not be opened (access denied). Only "no such process"
/// (ERROR_INVALID_PARAMETER) or an exit code other than STILL_ACTIVE says
/// it is gone.
#[cfg(windows)]
fn process_exists(pid: u32) -> bool {
    use windows_sys::Win32::Foundation::{
        CloseHandle, GetLastError, ERROR_INVALID_PARAMETER, STILL_ACTIVE,
    };
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    // SAFETY: plain calls with valid arguments; the handle is closed.
    unsafe {
        let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if h.is_null() {
            return GetLastError() != ERROR_INVALID_PARAMETER;
        }
        let mut code = 0u32;
        let ok = GetExitCodeProcess(h, &mut code);
        CloseHandle(h);
        ok == 0 || code == STILL_ACTIVE as u32
    }
}

#[cfg(not(any(unix, windows)))]
pub fn sweep_stale(_dir: &Path) {}

/// Removes `.trustpub-<pid>-*.tgz.partial` files in `dir` whose writer is
/// provably gone: no process with that PID exists. Files of live processes
/// (even if the PID was reused), of other users, and anything that is not
/// a regular file are left alone.
#[cfg(unix)]
pub fn sweep_stale(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    // SAFETY: getuid(2) cannot fail.
    let uid = unsafe { libc::getuid() };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(".trustpub-"))
            .and_then(|n| n.strip_suffix(".tgz.partial"))
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if pid <= 0 || pid as u32 == std::process::id() || process_exists(pid) {
            continue;
        }
        let path = e.path();
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.uid() == uid) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(unix)]
fn process_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(all(test, windows))]
mod windows_tests {
    use super::*;

    #[test]
    fn only_partials_of_dead_writers_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("cmd.exe")
            .args(["/d", "/c", "exit"])
            .spawn()
            .unwrap();
        let dead = child.id();
        // Waits for a key on its stdin, a pipe kept open until it is killed.
        let mut alive = std::process::Command::new("cmd.exe")
            .args(["/d", "/c", "pause"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        child.wait().unwrap();
        let names = [
            format!(".trustpub-{dead}-AbC123.tgz.partial"),
            format!(".trustpub-{}-AbC123.tgz.partial", std::process::id()),
            format!(".trustpub-{}-AbC123.tgz.partial", alive.id()),
            // Without a PID: cannot be proven stale.
            ".trustpub-AbC123.tgz.partial".to_string(),
            format!("other-{dead}.tgz.partial"),
        ];
        let left = sweep_files(dir.path(), &names);
        let _ = alive.kill();
        let _ = alive.wait();
        assert_only_first_swept(left, &names);
    }
}

/// Writes `names` into `dir`, sweeps it, and returns what is left, sorted.
#[cfg(test)]
fn sweep_files(dir: &std::path::Path, names: &[String]) -> Vec<String> {
    for n in names {
        std::fs::write(dir.join(n), b"x").unwrap();
    }
    sweep_stale(dir);
    let mut left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    left
}

/// Only the first name (the dead writer's partial file) was removed.
#[cfg(test)]
fn assert_only_first_swept(left: Vec<String>, names: &[String]) {
    let mut want: Vec<String> = names[1..].to_vec();
    want.sort();
    assert_eq!(left, want);
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_partials_of_dead_writers_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let names = [
            format!(".trustpub-{dead}-AbC123.tgz.partial"),
            format!(".trustpub-{}-AbC123.tgz.partial", std::process::id()),
            // PID 1 is alive.
            ".trustpub-1-AbC123.tgz.partial".to_string(),
            // Without a PID: cannot be proven stale.
            ".trustpub-AbC123.tgz.partial".to_string(),
            format!("other-{dead}.tgz.partial"),
        ];
        let left = sweep_files(dir.path(), &names);
        assert_only_first_swept(left, &names);
    }
}
