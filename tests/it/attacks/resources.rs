//! Bounded resources (issue 9, items 10 and 14): hostile inputs against a
//! hard memory limit. Each run of the binary happens under `prlimit --as`
//! of 256 MiB ([`MEMORY`]), so an unbounded allocation kills the run and
//! fails the test; no time is measured. A FIFO that would hang a reader
//! fails the test through the sandbox's bounded wait.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::support::sandbox::{Run, Sandbox};

/// The memory the runs may use (address space, which is more than RSS).
const MEMORY: u64 = 256 << 20;

/// A registry nothing listens on (a run that gets that far fails there).
const NOWHERE: &str = "http://127.0.0.1:9/";

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// The run ended with `code` (not a crash, not a kill) and its error says
/// `what`.
fn refused(run: &Run, code: i32, what: &str) {
    run.expect_code(code);
    assert!(
        run.stderr().contains(what) || run.stdout().contains(what),
        "the output does not say {what:?}:\n{}",
        run.describe
    );
}

fn package(sb: &Sandbox, dir: &str) -> PathBuf {
    sb.package(
        dir,
        &json!({ "name": "trustpub-res", "version": "1.0.0" }),
        &[("index.js", "module.exports = 1\n")],
    )
}

// ---------------------------------------------------------------------------
// doctor: YAML alias expansion

/// "Billion laughs" through yaml-rust2's aliases: nine levels of nine
/// aliases, 9^9 copies of a scalar from a file of a few hundred bytes. The
/// planted NODE_AUTH_TOKEN must not show up either (a crash dump would
/// hold it).
#[test]
fn doctor_refuses_a_yaml_alias_bomb_within_256_mib() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "pkg");
    let mut yaml = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let (prev, next) = (w[0], w[1]);
        yaml.push_str(&format!(
            "{next}: &{next} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
    }
    yaml.push_str("publish:\n  script: [\"npx trustpub publish\"]\n");
    assert!(yaml.len() < 400, "{}", yaml.len());
    fs::write(pkg.join(".gitlab-ci.yml"), &yaml).unwrap();
    let run = sb
        .trustpub_limited(MEMORY, ["doctor"])
        .arg(&pkg)
        .args(["--registry", NOWHERE])
        .env("NODE_AUTH_TOKEN", &sb.token)
        .run();
    refused(
        &run,
        1,
        "with its aliases expanded, it makes more than 32 MiB",
    );
    assert!(run.stdout().contains(".gitlab-ci.yml"), "{}", run.describe);
}

/// Nesting thousands of levels deep is refused too (the tree would be
/// freed and walked recursively). yaml-rust2 stops flow nesting (`[[[`) at
/// 255 levels itself, but not block sequences (`- - - -`).
#[test]
fn doctor_refuses_deeply_nested_yaml() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "pkg");
    let depth = 200_000;
    let yaml = format!("x:\n{}a\n", "- ".repeat(depth));
    fs::write(pkg.join(".gitlab-ci.yml"), &yaml).unwrap();
    let run = sb
        .trustpub_limited(MEMORY, ["doctor"])
        .arg(&pkg)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 1, "levels deep");
}

/// GitLab `extends:` where each level extends the previous one eight
/// times over, eleven levels deep: under a kilobyte, 8^11 merges. Refused
/// once a bounded amount of merging is done.
#[test]
fn doctor_refuses_an_extends_bomb_within_256_mib() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "pkg");
    let mut yaml = String::from(".j0:\n  script: [echo]\n");
    for level in 1..12 {
        let parents = vec![format!(".j{}", level - 1); 8].join(", ");
        yaml.push_str(&format!(
            ".j{level}:\n  extends: [{parents}]\n  script: [echo]\n"
        ));
    }
    yaml.push_str("publish:\n  extends: [.j11]\n  script: [npx trustpub publish]\n");
    assert!(yaml.len() < 1000, "{}", yaml.len());
    fs::write(pkg.join(".gitlab-ci.yml"), &yaml).unwrap();
    let run = sb
        .trustpub_limited(MEMORY, ["doctor"])
        .arg(&pkg)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 1, "its `extends:` expand to more than");
}

/// The same 1 MB file included twenty times: reading stops at 16 MiB of CI
/// files, with one finding.
#[test]
fn doctor_stops_reading_includes_past_16_mib() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "pkg");
    let mut big = String::new();
    for i in 0..5000 {
        big.push_str(&format!(".k{i}:\n  script: [echo {}]\n", "x".repeat(200)));
    }
    assert!(big.len() > 1 << 20);
    fs::write(pkg.join("big.yml"), &big).unwrap();
    let includes = vec!["- big.yml"; 20].join("\n");
    fs::write(
        pkg.join(".gitlab-ci.yml"),
        format!("include:\n{includes}\npublish:\n  script: [npx trustpub publish]\n"),
    )
    .unwrap();
    let run = sb
        .trustpub_limited(MEMORY, ["doctor"])
        .arg(&pkg)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 1, "hold more than 16 MiB, more than trustpub reads");
    assert_eq!(
        run.stdout().matches("hold more than 16 MiB").count(),
        1,
        "{}",
        run.describe
    );
}

/// A workflow whose 300 steps each use the same 1.5 MB local composite
/// action: the files doctor reads stop at 16 MiB in all, instead of the
/// action being read, parsed and scanned 300 times.
#[test]
fn doctor_reads_a_repeated_local_action_within_the_budget() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "pkg");
    fs::create_dir_all(pkg.join(".github/workflows")).unwrap();
    fs::create_dir_all(pkg.join("act")).unwrap();
    let steps = "      - uses: ./act\n".repeat(300);
    fs::write(
        pkg.join(".github/workflows/release.yml"),
        format!("on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n{steps}      - run: npx trustpub publish\n"),
    )
    .unwrap();
    let mut action = String::from("runs:\n  using: composite\n  steps:\n");
    for i in 0..12_000 {
        action.push_str(&format!(
            "    - run: echo {i} {}\n      shell: bash\n",
            "x".repeat(100)
        ));
    }
    fs::write(pkg.join("act/action.yml"), &action).unwrap();
    let run = sb
        .trustpub_limited(MEMORY, ["doctor"])
        .arg(&pkg)
        .args(["--registry", NOWHERE])
        .run();
    // Whatever doctor concludes about this job, it concludes it.
    assert!(matches!(run.code(), Some(0 | 1)), "{}", run.describe);
    assert!(run.stdout().contains("release.yml"), "{}", run.describe);
}

// ---------------------------------------------------------------------------
// publish FILE.tgz: gzip bombs

/// One ustar header block.
fn header(path: &str, size: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..path.len()].copy_from_slice(path.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// A `.tgz` whose `package/big` is `mib` MiB of zeros, made of repeated
/// gzip members (each 1 MiB of zeros) so that it is cheap to build.
fn gzip_bomb(mib: u64) -> Vec<u8> {
    let pj = br#"{"name":"trustpub-bomb","version":"1.0.0"}"#;
    let mut head = header("package/package.json", pj.len() as u64).to_vec();
    head.extend_from_slice(pj);
    head.resize(1024, 0);
    head.extend_from_slice(&header("package/big", mib << 20));
    let mut out = gzip(&head);
    let zeros = gzip(&vec![0u8; 1 << 20]);
    for _ in 0..mib {
        out.extend_from_slice(&zeros);
    }
    out.extend_from_slice(&gzip(&[0u8; 1024]));
    out
}

/// A 4 GiB gzip bomb (about 4 MB on disk) given to `publish`: refused with
/// the reason, within 256 MiB, before anything is sent.
#[test]
fn publish_refuses_a_gzip_bomb_within_256_mib() {
    let sb = Sandbox::new();
    let bomb = sb.root.join("bomb.tgz");
    fs::write(&bomb, gzip_bomb(4096)).unwrap();
    let run = sb
        .trustpub_limited(MEMORY, ["publish"])
        .arg(&bomb)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 2, "inflates to more than");
}

/// An archive of many small entries past the entry limit is refused.
#[test]
fn publish_refuses_a_tgz_with_too_many_entries() {
    let sb = Sandbox::new();
    let mut tar = Vec::new();
    let pj = br#"{"name":"trustpub-many","version":"1.0.0"}"#;
    tar.extend_from_slice(&header("package/package.json", pj.len() as u64));
    tar.extend_from_slice(pj);
    tar.resize(1024, 0);
    for i in 0..250_000 {
        tar.extend_from_slice(&header(&format!("package/f{i}"), 0));
    }
    tar.extend_from_slice(&[0u8; 1024]);
    let tgz = sb.root.join("many.tgz");
    fs::write(&tgz, gzip(&tar)).unwrap();
    let run = sb
        .trustpub_limited(MEMORY, ["publish"])
        .arg(&tgz)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 2, "entries");
}

// ---------------------------------------------------------------------------
// Files that are not regular files, and files too large

/// `package.json` that is `/dev/zero` (a symlink to it) or a FIFO:
/// refused as such, exit 2, at once.
#[test]
fn package_json_that_is_a_device_or_a_fifo_is_refused() {
    let sb = Sandbox::new();
    let dev = sb.root.join("dev");
    fs::create_dir_all(&dev).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dev.join("package.json")).unwrap();
    let run = sb
        .trustpub_limited(MEMORY, ["publish"])
        .arg(&dev)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 2, "it is a character device, not a regular file");

    let fifo = sb.root.join("fifo");
    fs::create_dir_all(&fifo).unwrap();
    mkfifo(&fifo.join("package.json"));
    let run = sb
        .trustpub_limited(MEMORY, ["pack", "--dry-run"])
        .arg(&fifo)
        .run();
    refused(&run, 2, "it is a named pipe (FIFO), not a regular file");
}

/// A `.npmignore` that is a FIFO or `/dev/zero` (a symlink to it) is
/// refused as such, at once and within 256 MiB.
#[test]
fn ignore_file_that_is_a_device_or_a_fifo_is_refused() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "fifo");
    mkfifo(&pkg.join(".npmignore"));
    let run = sb
        .trustpub_limited(MEMORY, ["pack", "--dry-run"])
        .arg(&pkg)
        .run();
    refused(&run, 1, "it is a named pipe (FIFO), not a regular file");

    let pkg = package(&sb, "zero");
    std::os::unix::fs::symlink("/dev/zero", pkg.join(".npmignore")).unwrap();
    let run = sb
        .trustpub_limited(MEMORY, ["pack", "--dry-run"])
        .arg(&pkg)
        .run();
    refused(&run, 1, "it is a character device, not a regular file");
    assert!(
        run.stderr()
            .contains("an ignore file must be a regular file"),
        "{}",
        run.describe
    );
}

/// `--userconfig /dev/zero` and a FIFO as `--userconfig`: exit 2 naming
/// the file, at once.
#[test]
fn userconfig_that_is_a_device_or_a_fifo_is_refused() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "pkg");
    let run = sb
        .trustpub_limited(
            MEMORY,
            ["publish", "--dry-run", "--userconfig", "/dev/zero"],
        )
        .arg(&pkg)
        .args(["--registry", NOWHERE])
        .run();
    refused(
        &run,
        2,
        "cannot use the npmrc /dev/zero: it is a character device",
    );

    let fifo = sb.root.join("npmrc-fifo");
    mkfifo(&fifo);
    let run = sb
        .trustpub_limited(MEMORY, ["doctor", "--userconfig"])
        .arg(&fifo)
        .arg(&pkg)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 2, "it is a named pipe (FIFO), not a regular file");
}

/// `--provenance-file /dev/zero`: exit 2 naming the file.
#[test]
fn provenance_file_that_is_a_device_is_refused() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "pkg");
    let run = sb
        .trustpub_limited(
            MEMORY,
            [
                "publish",
                "--dry-run",
                "--offline",
                "--provenance-file",
                "/dev/zero",
            ],
        )
        .arg(&pkg)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 2, "it is a character device, not a regular file");
}

/// A 300 MB README (sparse: it costs no disk) is refused before it is read:
/// npm copies the whole README into the document (`readme`), which made
/// 1.5 GB of memory.
#[test]
fn huge_readme_is_refused_within_256_mib() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "pkg");
    let f = fs::File::create(pkg.join("README.md")).unwrap();
    f.set_len(300 << 20).unwrap();
    drop(f);
    let run = sb
        .trustpub_limited(MEMORY, ["publish", "--dry-run"])
        .arg(&pkg)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 2, "README.md in the package is larger than 16 MiB");
}

// ---------------------------------------------------------------------------
// Item 14: wording

/// `publish missing.tgz` says that the file does not exist.
#[test]
fn publish_of_a_missing_tgz_says_it_does_not_exist() {
    let sb = Sandbox::new();
    let run = sb
        .trustpub(["publish", "missing.tgz", "--registry", NOWHERE])
        .run();
    refused(&run, 2, "missing.tgz does not exist");
    assert!(!run.stderr().contains("package.json"), "{}", run.describe);
}

/// A FIFO or a device given as the `.tgz` is refused as such (no hang).
#[test]
fn publish_of_a_fifo_or_a_device_says_what_it_is() {
    let sb = Sandbox::new();
    let fifo = sb.root.join("pkg.tgz");
    mkfifo(&fifo);
    let run = sb
        .trustpub(["publish"])
        .arg(&fifo)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 2, "it is a named pipe (FIFO), not a regular file");
    let run = sb
        .trustpub(["publish", "/dev/null", "--registry", NOWHERE])
        .run();
    refused(&run, 2, "it is a character device, not a regular file");
}

/// A `.tgz` whose package.json is not valid JSON exits 2, as a directory's
/// does, with the same kind of message.
#[test]
fn bad_package_json_in_a_tgz_exits_2() {
    let sb = Sandbox::new();
    let pj = b"{\"name\": \"x\", \"version\": \"1.0.0\",}";
    let mut tar = header("package/package.json", pj.len() as u64).to_vec();
    tar.extend_from_slice(pj);
    tar.resize(2048, 0);
    let tgz = sb.root.join("bad.tgz");
    fs::write(&tgz, gzip(&tar)).unwrap();
    let run = sb
        .trustpub(["publish"])
        .arg(&tgz)
        .args(["--registry", NOWHERE])
        .run();
    refused(&run, 2, "package.json is not valid JSON");
}

// ---------------------------------------------------------------------------
// Item 9: nothing partial left behind, no script outliving trustpub

/// Polls `done` every 20 ms for at most `secs` seconds.
fn wait_for(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    done()
}

/// The `.partial` files in `dir`.
fn partials(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect()
}

/// `trustpub pack <pkg> --pack-destination <dest>`, started in the
/// background with the sandbox's environment.
fn spawn_pack(sb: &Sandbox, pkg: &Path, dest: &Path) -> std::process::Child {
    let mut cmd = std::process::Command::new(crate::support::trustpub_bin());
    cmd.arg("pack").arg(pkg).arg("--pack-destination").arg(dest);
    crate::support::apply_env(&mut cmd, &sb.home);
    cmd.current_dir(&sb.root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd.spawn().expect("start trustpub pack")
}

/// Sends `sig` to the child and returns how it ended (bounded wait).
fn signal_and_wait(child: &mut std::process::Child, sig: i32) -> std::process::ExitStatus {
    // SAFETY: kill(2) on our own child's PID.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
    let mut status = None;
    let ended = wait_for(30, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    if !ended {
        let _ = child.kill();
        let _ = child.wait();
        panic!("trustpub did not end within 30 s of signal {sig}");
    }
    status.unwrap()
}

/// Whether a process is gone (or a zombie nobody reaped yet).
fn process_gone(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// SIGTERM and SIGINT while the tarball is being written: the partial
/// file is removed and trustpub dies of the signal (a shell shows 143 or
/// 130). A 1 GiB sparse file keeps the writing going long enough to be
/// interrupted; the signal is sent as soon as the partial file exists.
#[test]
fn a_signal_during_pack_leaves_no_partial_file() {
    use std::os::unix::process::ExitStatusExt;
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let sb = Sandbox::new();
        let pkg = package(&sb, "pkg");
        let f = fs::File::create(pkg.join("big.bin")).unwrap();
        f.set_len(1 << 30).unwrap();
        drop(f);
        let dest = sb.root.join("out");
        fs::create_dir_all(&dest).unwrap();
        let mut child = spawn_pack(&sb, &pkg, &dest);
        if !wait_for(60, || !partials(&dest).is_empty()) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no partial file appeared in {} within 60 s", dest.display());
        }
        let status = signal_and_wait(&mut child, sig);
        assert_eq!(status.signal(), Some(sig), "{status:?}");
        assert!(partials(&dest).is_empty(), "{:?}", partials(&dest));
    }
}

/// A signal while a lifecycle script runs reaches the script and what it
/// started in the background: nothing outlives trustpub.
#[test]
fn a_signal_during_a_lifecycle_script_ends_its_children() {
    use std::os::unix::process::ExitStatusExt;
    let sb = Sandbox::new();
    let pkg = sb.package(
        "pkg",
        &json!({
            "name": "trustpub-res-scripts",
            "version": "1.0.0",
            "scripts": { "prepack": "sleep 300 & echo $! > child.pid; touch started; wait" }
        }),
        &[("index.js", "module.exports = 1\n")],
    );
    let dest = sb.root.join("out");
    fs::create_dir_all(&dest).unwrap();
    let mut child = spawn_pack(&sb, &pkg, &dest);
    if !wait_for(60, || pkg.join("started").exists()) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the prepack script did not start within 60 s");
    }
    let pid: i32 = fs::read_to_string(pkg.join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let status = signal_and_wait(&mut child, libc::SIGTERM);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let gone = wait_for(10, || process_gone(pid));
    if !gone {
        // SAFETY: the test's own `sleep`; it must not stay behind either.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(
        gone,
        "the script's background child {pid} outlived trustpub"
    );
}

/// Partial files left by a run that was killed outright (SIGKILL) are swept
/// by the next run when their writer's PID is gone; a live writer's stay.
#[test]
fn stale_partial_files_of_dead_writers_are_swept() {
    let sb = Sandbox::new();
    let pkg = package(&sb, "pkg");
    let dest = sb.root.join("out");
    fs::create_dir_all(&dest).unwrap();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let stale = format!(".trustpub-{dead}-Ab12Cd.tgz.partial");
    let live = format!(".trustpub-{}-Ab12Cd.tgz.partial", std::process::id());
    fs::write(dest.join(&stale), b"partial").unwrap();
    fs::write(dest.join(&live), b"partial").unwrap();
    sb.trustpub(["pack"])
        .arg(&pkg)
        .arg("--pack-destination")
        .arg(&dest)
        .run()
        .success();
    assert_eq!(partials(&dest), vec![live]);
    assert!(dest.join("trustpub-res-1.0.0.tgz").is_file());
}
