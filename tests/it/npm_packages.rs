//! The npm packages end to end: `scripts/npm-packages` assembles the
//! `trustpub` launcher package and the platform package for this machine's
//! binary, `trustpub publish` publishes them to the shared Verdaccio, and
//! `npx trustpub@V` runs them from an empty directory with isolated npm
//! settings: with the npm on PATH, the pinned npm 11.19.1 and npm 10.9.9
//! (`tests/tools`), with `--omit=optional`, and with `TRUSTPUB_BINARY`.
//!
//! One set of packages, with a version unique to this run, serves every
//! test ([`published`]); the assembler's own tests assemble their own.

use std::cell::Cell;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::support::sandbox::Sandbox;
use crate::support::{self, verdaccio, Output};

/// This machine's npm platform (`<process.platform>-<process.arch>`).
fn host_platform() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-x64",
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "x86_64") => "darwin-x64",
        ("macos", "aarch64") => "darwin-arm64",
        ("windows", "x86_64") => "win32-x64",
        (os, arch) => panic!(
            "trustpub's npm packages cover linux-x64, linux-arm64, darwin-x64, darwin-arm64 \
             and win32-x64; these tests cannot run on {os}/{arch}"
        ),
    }
}

fn exe_name() -> &'static str {
    if cfg!(windows) {
        "trustpub.exe"
    } else {
        "trustpub"
    }
}

/// A temp directory to run commands in, with their outputs captured there.
struct Scratch {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    captures: PathBuf,
    runs: Cell<usize>,
}

impl Scratch {
    fn new() -> Scratch {
        let tmp = tempfile::Builder::new()
            .prefix("trustpub-npm-packages-")
            .tempdir()
            .expect("temp dir");
        let root = tmp.path().canonicalize().unwrap();
        let captures = root.join("captures");
        fs::create_dir_all(&captures).unwrap();
        Scratch {
            _tmp: tmp,
            root,
            captures,
            runs: Cell::new(0),
        }
    }

    fn run(&self, cmd: Command) -> Output {
        let n = self.runs.get();
        self.runs.set(n + 1);
        let out = support::run(cmd, &self.captures, &format!("run{n}"));
        if std::env::var_os("TRUSTPUB_TEST_SHOW").is_some() {
            eprintln!("{}\n", out.describe());
        }
        out
    }

    /// `node scripts/npm-packages <args>` with a minimal environment.
    fn assemble<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("node");
        cmd.arg(support::manifest_dir().join("scripts/npm-packages"))
            .args(args);
        support::apply_env(&mut cmd, &self.root);
        cmd.current_dir(&self.root);
        self.run(cmd)
    }

    /// A copy of the trustpub binary under test, without debug information
    /// when `strip` (binutils) is there: debug information is four fifths of
    /// a test build, and packing, publishing and installing it would take
    /// five times as long. Whether it is stripped or not, the tests below
    /// run it (`--version`), so a damaged copy fails them.
    fn binary(&self) -> PathBuf {
        let dst = self.root.join(format!("bin-{}", exe_name()));
        fs::copy(support::trustpub_bin(), &dst).expect("copy the trustpub binary");
        if cfg!(unix) {
            let _ = Command::new("strip")
                .arg(&dst)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
        dst
    }

    /// Assembles the packages for the host binary into `<root>/<name>`.
    fn assembled(&self, name: &str, version: &str) -> PathBuf {
        let out = self.root.join(name);
        let bin = self.binary();
        let run = self.assemble([
            "--version".as_ref(),
            version.as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            "--binary".as_ref(),
            format!("{}={}", host_platform(), bin.display()).as_ref() as &OsStr,
        ]);
        assert!(
            run.status.success(),
            "assembling failed:\n{}",
            run.describe()
        );
        out
    }
}

fn expect_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit code {code}:\n{}",
        out.describe()
    );
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// The assembler

#[test]
fn assembler_refuses_bad_input_with_status_2_and_writes_nothing() {
    let s = Scratch::new();
    let bin = s.binary();
    let bin = bin.to_str().unwrap();
    let text = s.root.join("not-a-binary");
    fs::write(&text, "#!/bin/sh\necho hi\n").unwrap();
    support::set_mode(&text, 0o755).unwrap();
    let text = text.to_str().unwrap();
    let not_exec = s.root.join("not-executable");
    fs::copy(bin, &not_exec).unwrap();
    support::set_mode(&not_exec, 0o644).unwrap();
    let not_exec = not_exec.to_str().unwrap();
    let full = s.root.join("full");
    fs::create_dir_all(&full).unwrap();
    fs::write(full.join("keep"), "").unwrap();
    let out = s.root.join("out");
    let out = out.to_str().unwrap();
    let host = host_platform();
    let other_arch = if host.ends_with("-x64") {
        host.replace("-x64", "-arm64")
    } else {
        host.replace("-arm64", "-x64")
    };
    let other_os = if host.starts_with("linux") {
        "darwin-x64"
    } else {
        "linux-x64"
    };

    let good = format!("{host}={bin}");
    // (arguments, what the error must say)
    let case = |args: &[&str], message: &str| -> (Vec<String>, String) {
        (
            args.iter().map(|a| a.to_string()).collect(),
            message.to_string(),
        )
    };
    let with_binary = |spec: &str, message: &str| {
        case(
            &["--version", "0.1.0", "--out", out, "--binary", spec],
            message,
        )
    };
    let mut cases = vec![
        with_binary(
            &format!("linux-x86={bin}"),
            "unknown npm platform \"linux-x86\"; the platforms are linux-x64, linux-arm64, \
             darwin-x64, darwin-arm64, win32-x64",
        ),
        with_binary(
            &format!("{host}=/nonexistent/trustpub"),
            "/nonexistent/trustpub: no such file",
        ),
        with_binary(&format!("{host}={text}"), "not an executable"),
        with_binary(
            &format!("{other_arch}={bin}"),
            "executable for another architecture",
        ),
        with_binary(
            &format!("{other_os}={bin}"),
            &format!("but {other_os} needs"),
        ),
        with_binary(bin, "write it as <npm-platform>=<path>"),
        case(
            &["--version", "v0.1.0", "--out", out, "--binary", &good],
            "is not a semantic version",
        ),
        case(
            &["--version", "0.1", "--out", out, "--binary", &good],
            "is not a semantic version",
        ),
        case(
            &[
                "--version",
                "0.1.0",
                "--out",
                full.to_str().unwrap(),
                "--binary",
                &good,
            ],
            "is not empty",
        ),
        case(
            &[
                "--version",
                "0.1.0",
                "--out",
                out,
                "--binary",
                &good,
                "--binary",
                &good,
            ],
            &format!("--binary {host} given twice"),
        ),
        case(
            &["--version", "0.1.0", "--out", out],
            "at least one --binary",
        ),
        case(&["--out", out, "--binary", &good], "--version is required"),
        case(
            &[
                "--version",
                "0.1.0",
                "--out",
                out,
                "--binary",
                &good,
                "--provenance",
            ],
            "unknown argument \"--provenance\"",
        ),
    ];
    // On Unix a binary must carry an execute bit (Windows has none to check).
    if cfg!(unix) {
        cases.push(with_binary(
            &format!("{host}={not_exec}"),
            "not executable (no execute permission",
        ));
    }
    for (args, message) in &cases {
        let run = s.assemble(args);
        expect_code(&run, 2);
        assert!(
            run.stderr.contains("npm-packages: error: ") && run.stderr.contains(message.as_str()),
            "standard error does not say {message:?}:\n{}",
            run.describe()
        );
        assert!(
            run.stderr.contains("usage: scripts/npm-packages"),
            "no usage after the error:\n{}",
            run.describe()
        );
        assert!(
            !Path::new(out).exists(),
            "a refused run wrote {out}:\n{}",
            run.describe()
        );
        assert_eq!(support::dir_names(&full), ["keep"], "{}", run.describe());
    }
    // The same inputs, corrected, succeed: the refusals above are about the
    // one thing each case gets wrong.
    let run = s.assemble(["--version", "0.1.0", "--out", out, "--binary", &good]);
    expect_code(&run, 0);
    assert_eq!(
        run.stdout,
        format!("{out}/trustpub\n{out}/{host}\n"),
        "{}",
        run.describe()
    );
}

/// The first bytes of an executable for `platform`, as the assembler reads
/// them (ELF, Mach-O or PE header with the CPU), padded to 512 bytes.
fn header(platform: &str) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    match platform {
        "linux-x64" | "linux-arm64" => {
            h[..6].copy_from_slice(b"\x7fELF\x02\x01");
            let machine: u16 = if platform == "linux-x64" { 0x3e } else { 0xb7 };
            h[18..20].copy_from_slice(&machine.to_le_bytes());
        }
        "darwin-x64" | "darwin-arm64" => {
            h[..4].copy_from_slice(&0xfeed_facf_u32.to_le_bytes());
            let cpu: u32 = if platform == "darwin-x64" {
                0x0100_0007
            } else {
                0x0100_000c
            };
            h[4..8].copy_from_slice(&cpu.to_le_bytes());
        }
        "darwin-universal" => {
            h[..4].copy_from_slice(&0xcafe_babe_u32.to_be_bytes());
            h[4..8].copy_from_slice(&2u32.to_be_bytes());
            h[8..12].copy_from_slice(&0x0100_0007_u32.to_be_bytes());
            h[28..32].copy_from_slice(&0x0100_000c_u32.to_be_bytes());
        }
        "win32-x64" => {
            h[..2].copy_from_slice(b"MZ");
            h[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
            h[0x80..0x84].copy_from_slice(b"PE\0\0");
            h[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
        }
        p => panic!("no header for {p}"),
    }
    h
}

#[test]
fn assembler_checks_each_platform_s_executable_format() {
    let s = Scratch::new();
    let all = [
        "linux-x64",
        "linux-arm64",
        "darwin-x64",
        "darwin-arm64",
        "win32-x64",
    ];
    let file = |name: &str, mode: u32| {
        let path = s.root.join(name);
        fs::write(&path, header(name)).unwrap();
        support::set_mode(&path, mode).unwrap();
        path.to_str().unwrap().to_string()
    };
    // A Windows binary needs no execute bit (artifacts from a Windows runner
    // have none).
    let files: Vec<String> = all
        .iter()
        .map(|p| file(p, if *p == "win32-x64" { 0o644 } else { 0o755 }))
        .collect();
    let universal = file("darwin-universal", 0o755);

    // Each header is refused for every other platform.
    for (i, p) in all.iter().enumerate() {
        for (j, q) in all.iter().enumerate() {
            // (The Windows file has no execute bit: refused for that first.)
            if i == j || *p == "win32-x64" {
                continue;
            }
            let out = s.root.join("refused");
            let run = s.assemble([
                "--version".as_ref(),
                "0.1.0".as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
                "--binary".as_ref(),
                format!("{q}={}", files[i]).as_ref() as &OsStr,
            ]);
            expect_code(&run, 2);
            assert!(
                run.stderr.contains(&format!("but {q} needs")),
                "{p}'s header given as {q}:\n{}",
                run.describe()
            );
        }
    }

    // All five (darwin-x64 from a universal binary), in any order.
    let out = s.root.join("all");
    let mut args = vec![
        "--version".to_string(),
        "2.0.0".to_string(),
        format!("--out={}", out.display()),
    ];
    for (i, p) in all.iter().enumerate().rev() {
        let f = if *p == "darwin-x64" {
            &universal
        } else {
            &files[i]
        };
        args.push("--binary".to_string());
        args.push(format!("{p}={f}"));
    }
    let run = s.assemble(&args);
    expect_code(&run, 0);
    let launcher = read_json(&out.join("trustpub/package.json"));
    let deps: Vec<(String, String)> = launcher["optionalDependencies"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let want: Vec<(String, String)> = all
        .iter()
        .map(|p| (format!("@trustpub/{p}"), "2.0.0".to_string()))
        .collect();
    assert_eq!(deps, want, "exact pins, in a fixed order");
    for (i, p) in all.iter().enumerate() {
        let (os, cpu) = p.split_once('-').unwrap();
        let m = read_json(&out.join(p).join("package.json"));
        assert_eq!((&m["os"], &m["cpu"]), (&json!([os]), &json!([cpu])), "{p}");
        let exe = if *p == "win32-x64" {
            "trustpub.exe"
        } else {
            "trustpub"
        };
        let bin = out.join(p).join("bin").join(exe);
        let src = if *p == "darwin-x64" {
            &universal
        } else {
            &files[i]
        };
        assert_eq!(fs::read(&bin).unwrap(), fs::read(src).unwrap(), "{p}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&bin).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o755, "{p}: the binary's mode");
        }
    }
}

/// The files each package must hold, with their modes: `(path, mode)`.
fn expected_files(platform_files: &[(&str, u32)]) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> = platform_files
        .iter()
        .map(|(p, m)| (p.to_string(), *m))
        .collect();
    v.extend(
        ["README.md", "package.json"]
            .iter()
            .map(|p| (p.to_string(), 0o644)),
    );
    // The licence texts go in when the repository has them.
    for l in ["LICENSE-MIT", "LICENSE-APACHE"] {
        if support::manifest_dir().join(l).is_file() {
            v.push((l.to_string(), 0o644));
        }
    }
    v.sort();
    v
}

#[test]
fn assembled_packages_pack_exactly_their_files_with_their_modes() {
    let s = Scratch::new();
    let version = "1.2.3-rc.1";
    let out = s.assembled("packages", version);
    let host = host_platform();
    let sb = Sandbox::new();

    // The launcher package.
    let launcher = read_json(&out.join("trustpub/package.json"));
    assert_eq!(
        launcher,
        json!({
            "name": "trustpub",
            "version": version,
            "license": "MIT OR Apache-2.0",
            "repository": { "type": "git", "url": "git+https://github.com/trustpub/trustpub.git" },
            "homepage": "https://github.com/trustpub/trustpub#readme",
            "description": launcher["description"],
            "keywords": launcher["keywords"],
            "bin": { "trustpub": "bin/trustpub.js" },
            "engines": { "node": ">=18" },
            "optionalDependencies": { format!("@trustpub/{host}"): version },
        }),
        "the launcher's package.json"
    );
    assert!(launcher["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    assert_eq!(
        fs::read(out.join("trustpub/bin/trustpub.js")).unwrap(),
        fs::read(support::manifest_dir().join("npm/launcher/trustpub.js")).unwrap(),
        "the launcher is npm/launcher/trustpub.js"
    );

    // The platform package.
    let platform = read_json(&out.join(host).join("package.json"));
    let (os, cpu) = host.split_once('-').unwrap();
    assert_eq!(
        platform,
        json!({
            "name": format!("@trustpub/{host}"),
            "version": version,
            "license": "MIT OR Apache-2.0",
            "repository": { "type": "git", "url": "git+https://github.com/trustpub/trustpub.git" },
            "homepage": "https://github.com/trustpub/trustpub#readme",
            "description": platform["description"],
            "os": [os],
            "cpu": [cpu],
            "preferUnplugged": true,
            "publishConfig": { "access": "public" },
        }),
        "the platform package's package.json (no bin, no scripts)"
    );
    assert_eq!(
        fs::read(out.join(host).join("bin").join(exe_name())).unwrap(),
        fs::read(s.root.join(format!("bin-{}", exe_name()))).unwrap(),
        "the platform package holds the binary it was given"
    );

    let exe = format!("bin/{}", exe_name());
    for (dir, files) in [
        ("trustpub", expected_files(&[("bin/trustpub.js", 0o755)])),
        (host, expected_files(&[(exe.as_str(), 0o755)])),
    ] {
        let run = sb
            .trustpub(["pack", "--dry-run", "--json"])
            .arg(out.join(dir))
            .run();
        run.success();
        let record = run.json();
        let mut got: Vec<(String, u32)> = record[0]["files"]
            .as_array()
            .unwrap_or_else(|| panic!("no files in the record:\n{}", run.describe))
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().to_string(),
                    f["mode"].as_u64().unwrap() as u32,
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, files, "{dir}: files and modes\n{}", run.describe);
        let name = if dir == "trustpub" {
            "trustpub".to_string()
        } else {
            format!("@trustpub/{dir}")
        };
        assert_eq!(record[0]["id"], json!(format!("{name}@{version}")));
    }
}

// ---------------------------------------------------------------------------
// Published to Verdaccio, run with npx

/// The packages, published once with trustpub to the shared Verdaccio.
struct Published {
    registry: String,
    version: String,
}

fn published() -> &'static Published {
    static P: OnceLock<Published> = OnceLock::new();
    P.get_or_init(|| {
        let v = verdaccio::shared();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let version = format!("0.0.0-e2e.{}.{nanos}", std::process::id());
        let s = Scratch::new();
        let out = s.assembled("packages", &version);

        let sb = Sandbox::new();
        let suffix = &sb.token[sb.token.len() - 8..];
        let token = v.add_user(&format!("tp-npm-packages-{suffix}"));
        sb.add_secret(&token);
        sb.write(&sb.user_npmrc(), &Sandbox::token_line(&v.url, &token));
        // The platform package first, so the launcher's optional dependency
        // resolves from the moment the launcher exists. A prerelease needs
        // a tag other than latest.
        for (dir, name) in [
            (host_platform(), format!("@trustpub/{}", host_platform())),
            ("trustpub", "trustpub".to_string()),
        ] {
            let run = sb
                .trustpub(["publish"])
                .arg(out.join(dir))
                .args(["--registry", &v.url, "--tag", "e2e", "--json"])
                .run();
            run.success();
            assert_eq!(
                run.json()[&name]["version"],
                json!(version),
                "{}",
                run.describe
            );
            let stored = v
                .packument(&name)
                .unwrap_or_else(|| panic!("Verdaccio does not have {name}"));
            assert!(
                stored["versions"][&version].is_object(),
                "Verdaccio has no {name}@{version}: {stored}"
            );
        }
        Published {
            registry: v.url.clone(),
            version,
        }
    })
}

/// An empty directory and npm settings of its own (cache, user and global
/// config, HOME), pointed at the Verdaccio of [`published`].
struct Consumer {
    s: Scratch,
    dir: PathBuf,
    registry: String,
}

impl Consumer {
    fn new() -> Consumer {
        let p = published();
        let s = Scratch::new();
        let dir = s.root.join("empty");
        for d in ["empty", "home", "cache"] {
            fs::create_dir_all(s.root.join(d)).unwrap();
        }
        fs::write(s.root.join("user-npmrc"), "").unwrap();
        fs::write(s.root.join("global-npmrc"), "").unwrap();
        Consumer {
            s,
            dir,
            registry: p.registry.clone(),
        }
    }

    /// `cmd` with a minimal environment: the npm settings above, nothing of
    /// this machine's npm configuration.
    fn env(&self, cmd: &mut Command) {
        let r = &self.s.root;
        support::apply_env(cmd, &r.join("home"));
        cmd.env("npm_config_registry", &self.registry)
            .env("npm_config_cache", r.join("cache"))
            .env("npm_config_userconfig", r.join("user-npmrc"))
            .env("npm_config_globalconfig", r.join("global-npmrc"))
            .env("npm_config_update_notifier", "false")
            .env("npm_config_audit", "false")
            .env("npm_config_fund", "false")
            .current_dir(&self.dir);
    }

    fn npx(&self, which: Npx, args: &[&str], env: &[(&str, &OsStr)]) -> Output {
        let mut cmd = which.command();
        cmd.args(args);
        self.env(&mut cmd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.s.run(cmd)
    }

    fn npm(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(support::npm_program());
        cmd.args(args);
        self.env(&mut cmd);
        self.s.run(cmd)
    }

    /// The version of `name` npx installed in its cache (`_npx/<hash>/`),
    /// `None` if it installed none.
    fn npx_installed(&self, name: &str) -> Option<String> {
        let npx = self.s.root.join("cache/_npx");
        support::dir_names(&npx).iter().find_map(|h| {
            let pj = npx
                .join(h)
                .join("node_modules")
                .join(name)
                .join("package.json");
            pj.is_file()
                .then(|| read_json(&pj)["version"].as_str().unwrap().to_string())
        })
    }
}

#[derive(Clone, Copy, Debug)]
enum Npx {
    /// The `npx` on PATH.
    OnPath,
    /// `tests/tools/node_modules/npm` (11.19.1).
    Npm11,
    /// `tests/tools/node_modules/npm10` (10.9.9).
    Npm10,
}

impl Npx {
    fn command(self) -> Command {
        let pinned = |pkg: &str| {
            let mut c = Command::new("node");
            c.arg(
                verdaccio::ensure_tools()
                    .join("node_modules")
                    .join(pkg)
                    .join("bin/npx-cli.js"),
            );
            c
        };
        match self {
            Npx::OnPath => Command::new(if cfg!(windows) { "npx.cmd" } else { "npx" }),
            Npx::Npm11 => pinned("npm"),
            Npx::Npm10 => pinned("npm10"),
        }
    }
}

/// `npx --yes trustpub@V --version` in an empty directory prints the
/// binary's version, from the platform package npx installed at V; and
/// arguments and exit status pass through (`pack /nonexistent` exits 2 with
/// the binary's own message).
fn npx_runs_the_published_binary(which: Npx, npm_version: Option<&str>) {
    let p = published();
    let c = Consumer::new();
    let v = c.npx(which, &["--version"], &[]);
    expect_code(&v, 0);
    if let Some(want) = npm_version {
        assert_eq!(v.stdout.trim(), want, "{which:?}: the npm version");
    }
    let npm = v.stdout.trim().to_string();

    let spec = format!("trustpub@{}", p.version);
    let run = c.npx(which, &["--yes", &spec, "--version"], &[]);
    expect_code(&run, 0);
    assert_eq!(
        run.stdout,
        format!("trustpub {}\n", env!("CARGO_PKG_VERSION")),
        "npx of npm {npm}:\n{}",
        run.describe()
    );
    let platform = format!("@trustpub/{}", host_platform());
    assert_eq!(
        c.npx_installed("trustpub"),
        Some(p.version.clone()),
        "npx of npm {npm} did not install trustpub@{}",
        p.version
    );
    assert_eq!(
        c.npx_installed(&platform),
        Some(p.version.clone()),
        "npx of npm {npm} did not install {platform}@{}",
        p.version
    );
    assert_eq!(support::dir_names(&c.dir), Vec::<String>::new());

    let run = c.npx(which, &["--yes", &spec, "pack", "/nonexistent"], &[]);
    expect_code(&run, 2);
    assert!(
        run.stderr
            .contains("error: directory not found: /nonexistent"),
        "npx of npm {npm}: the binary's message is missing:\n{}",
        run.describe()
    );
}

#[test]
fn npx_on_path_runs_the_published_binary() {
    npx_runs_the_published_binary(Npx::OnPath, None);
}

#[test]
fn npx_of_npm_11_runs_the_published_binary() {
    npx_runs_the_published_binary(Npx::Npm11, Some(support::NPM_VERSION));
}

#[test]
fn npx_of_npm_10_runs_the_published_binary() {
    npx_runs_the_published_binary(Npx::Npm10, Some("10.9.9"));
}

#[test]
fn npx_omitting_optional_dependencies_says_why_and_exits_1() {
    let p = published();
    let spec = format!("trustpub@{}", p.version);
    let platform = format!("@trustpub/{}", host_platform());
    for which in [Npx::Npm11, Npx::Npm10] {
        let c = Consumer::new();
        let run = c.npx(
            which,
            &["--yes", "--omit=optional", &spec, "--version"],
            &[],
        );
        expect_code(&run, 1);
        assert_eq!(run.stdout, "", "{which:?}:\n{}", run.describe());
        for needle in [
            &format!(
                "trustpub: the package {platform}, which holds the trustpub binary for this platform, is not installed."
            ),
            "Optional dependencies are being left out (npm_config_omit=optional)",
            "`npm install --include=optional`",
            &format!("`npx --yes --include=optional {spec}`"),
            "Or set TRUSTPUB_BINARY to the path of a trustpub binary.",
        ] {
            assert!(
                run.stderr.contains(needle),
                "{which:?}: the message lacks {needle:?}:\n{}",
                run.describe()
            );
        }
        assert_eq!(c.npx_installed("trustpub"), Some(p.version.clone()));
        assert_eq!(c.npx_installed(&platform), None, "{which:?} installed it");

        // npx would reuse its install without the platform package: the
        // message names the directory to delete, in npx's cache.
        let stale = run
            .stderr
            .lines()
            .find_map(|l| {
                l.strip_prefix("trustpub: npx reuses what it installed before, as it is: delete ")
            })
            .unwrap_or_else(|| {
                panic!("{which:?}: no npx directory to delete:\n{}", run.describe())
            });
        let stale = PathBuf::from(stale);
        assert_eq!(
            stale.parent(),
            Some(c.s.root.join("cache/_npx").as_path()),
            "{which:?}: not an npx install:\n{}",
            run.describe()
        );
        // Without deleting it, the suggested command still fails.
        let args = [
            "--yes",
            "--omit=optional",
            "--include=optional",
            &spec,
            "--version",
        ];
        expect_code(&c.npx(which, &args, &[]), 1);

        // What the message suggests works.
        fs::remove_dir_all(&stale).unwrap();
        let run = c.npx(
            which,
            &[
                "--yes",
                "--omit=optional",
                "--include=optional",
                &spec,
                "--version",
            ],
            &[],
        );
        expect_code(&run, 0);
        assert_eq!(
            run.stdout,
            format!("trustpub {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn installed_without_optional_dependencies_the_launcher_names_both_causes() {
    let p = published();
    let c = Consumer::new();
    let spec = format!("trustpub@{}", p.version);
    let platform = format!("@trustpub/{}", host_platform());
    let run = c.npm(&["install", "--omit=optional", &spec]);
    expect_code(&run, 0);
    assert!(c.dir.join("node_modules/trustpub/package.json").is_file());
    assert!(
        !c.dir.join("node_modules").join(&platform).exists(),
        "npm installed {platform} despite --omit=optional"
    );

    // Run later, as a CI step would: no npm in between, so no npm_config_*
    // says what happened; the message names both usual causes.
    let bin = c.dir.join("node_modules/.bin/trustpub");
    let launch = |env: &[(&str, &Path)]| {
        let mut cmd = Command::new(&bin);
        cmd.arg("--version");
        support::apply_env(&mut cmd, &c.s.root.join("home"));
        cmd.current_dir(&c.dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        c.s.run(cmd)
    };
    let run = launch(&[]);
    expect_code(&run, 1);
    assert_eq!(run.stdout, "");
    for needle in [
        format!("trustpub: the package {platform}, which holds the trustpub binary for this platform, is not installed."),
        "optional dependencies are omitted (--omit=optional, --no-optional,".to_string(),
        "npm_config_omit=optional or npm_config_optional=false".to_string(),
        "the package-lock.json was made on another platform".to_string(),
        "delete node_modules and package-lock.json and install again".to_string(),
        format!("`npm install --include=optional` (it needs {platform}@{})", p.version),
        "Or set TRUSTPUB_BINARY to the path of a trustpub binary.".to_string(),
    ] {
        assert!(
            run.stderr.contains(&needle),
            "the message lacks {needle:?}:\n{}",
            run.describe()
        );
    }

    // TRUSTPUB_BINARY is the way out without reinstalling.
    let run = launch(&[("TRUSTPUB_BINARY", &support::trustpub_bin())]);
    expect_code(&run, 0);
    assert_eq!(
        run.stdout,
        format!("trustpub {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// A stand-in for the binary: prints each argument as `[arg]` and exits 7.
#[cfg(unix)]
fn fake_binary(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("fake-trustpub");
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    support::set_mode(&path, 0o755).unwrap();
    path
}

#[cfg(unix)]
#[test]
fn trustpub_binary_replaces_the_platform_binary_with_arguments_and_status_intact() {
    let p = published();
    let spec = format!("trustpub@{}", p.version);
    let c = Consumer::new();
    let fake = fake_binary(
        &c.s.root,
        "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\nexit 7",
    );
    let args = [
        "a b",
        "",
        "--version",
        "ü",
        "$HOME",
        "*",
        "it's",
        "\"q\"",
        "--registry=x",
    ];
    for which in [Npx::OnPath, Npx::Npm10] {
        let mut all = vec!["--yes", spec.as_str()];
        all.extend(args);
        let run = c.npx(which, &all, &[("TRUSTPUB_BINARY", fake.as_os_str())]);
        expect_code(&run, 7);
        let want: String = args.iter().map(|a| format!("[{a}]\n")).collect();
        assert_eq!(run.stdout, want, "{which:?}:\n{}", run.describe());
    }

    // One that cannot run is reported as such.
    let missing = c.s.root.join("no-such-binary");
    let run = c.npx(
        Npx::OnPath,
        &["--yes", &spec, "--version"],
        &[("TRUSTPUB_BINARY", missing.as_os_str())],
    );
    expect_code(&run, 1);
    assert!(
        run.stderr.contains(&format!(
            "trustpub: cannot run TRUSTPUB_BINARY ({}): no such file.",
            missing.display()
        )),
        "{}",
        run.describe()
    );
}

/// The launcher alone (`node <assembled>/trustpub/bin/trustpub.js`).
fn launcher(s: &Scratch, out: &Path, args: &[&str], env: &[(&str, &OsStr)]) -> Output {
    let mut cmd = Command::new("node");
    cmd.arg(out.join("trustpub/bin/trustpub.js")).args(args);
    support::apply_env(&mut cmd, &s.root);
    cmd.current_dir(&s.root);
    for (k, v) in env {
        cmd.env(k, v);
    }
    s.run(cmd)
}

#[cfg(unix)]
#[test]
fn the_launcher_dies_of_the_signal_that_killed_the_binary() {
    use std::os::unix::process::ExitStatusExt as _;
    let s = Scratch::new();
    let out = s.assembled("packages", "0.1.0");
    for (signal, name) in [(15, "TERM"), (2, "INT"), (9, "KILL")] {
        let fake = fake_binary(&s.root, &format!("kill -{name} $$\nexit 3"));
        let run = launcher(&s, &out, &[], &[("TRUSTPUB_BINARY", fake.as_os_str())]);
        assert_eq!(
            run.status.signal(),
            Some(signal),
            "SIG{name}:\n{}",
            run.describe()
        );
    }
    // Node ignores SIGPIPE, so the launcher cannot die of it: it exits
    // with the status a shell gives that death, 128 + 13.
    let fake = fake_binary(&s.root, "kill -PIPE $$\nexit 3");
    let run = launcher(&s, &out, &[], &[("TRUSTPUB_BINARY", fake.as_os_str())]);
    assert_eq!(run.status.code(), Some(141), "SIGPIPE:\n{}", run.describe());
}

#[test]
fn the_launcher_on_an_unsupported_platform_lists_the_supported_ones() {
    let s = Scratch::new();
    let out = s.assembled("packages", "0.1.0");
    let other = if host_platform() == "win32-x64" {
        ["linux-x64", "darwin-arm64"]
    } else {
        ["win32-x64", "darwin-arm64"]
    };
    // The launcher knows the platforms from its own optionalDependencies:
    // make them two that are not this one.
    let pj = out.join("trustpub/package.json");
    let mut manifest = read_json(&pj);
    manifest["optionalDependencies"] = json!({
        format!("@trustpub/{}", other[0]): "0.1.0",
        format!("@trustpub/{}", other[1]): "0.1.0",
    });
    fs::write(&pj, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let run = launcher(&s, &out, &["--version"], &[]);
    expect_code(&run, 1);
    assert_eq!(run.stdout, "");
    for needle in [
        format!(
            "trustpub: there is no prebuilt trustpub binary for this platform ({}).",
            host_platform()
        ),
        format!("Prebuilt binaries exist for: {}, {}.", other[0], other[1]),
        "`cargo install --locked trustpub`".to_string(),
        "TRUSTPUB_BINARY".to_string(),
    ] {
        assert!(
            run.stderr.contains(&needle),
            "the message lacks {needle:?}:\n{}",
            run.describe()
        );
    }

    // TRUSTPUB_BINARY works there too.
    let run = launcher(
        &s,
        &out,
        &["--version"],
        &[("TRUSTPUB_BINARY", support::trustpub_bin().as_os_str())],
    );
    expect_code(&run, 0);
    assert_eq!(
        run.stdout,
        format!("trustpub {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_launcher_names_the_npm_setting_that_left_the_binary_out() {
    let s = Scratch::new();
    // Assembled, not installed: the platform package cannot be found.
    let out = s.assembled("packages", "0.1.0");
    let platform = format!("@trustpub/{}", host_platform());
    let first = format!(
        "trustpub: the package {platform}, which holds the trustpub binary for this platform, is not installed.\n"
    );
    for (env, says) in [
        (
            Some(("npm_config_optional", "false")),
            Some("npm_config_optional=false"),
        ),
        (
            Some(("NPM_CONFIG_OMIT", "dev optional")),
            Some("npm_config_omit=dev optional"),
        ),
        (Some(("npm_config_omit", "dev")), None),
        (Some(("npm_config_optional", "true")), None),
        (None, None),
    ] {
        let env: Vec<(&str, &OsStr)> = env.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        let run = launcher(&s, &out, &["--version"], &env);
        expect_code(&run, 1);
        assert!(run.stderr.starts_with(&first), "{}", run.describe());
        match says {
            Some(setting) => assert!(
                run.stderr.contains(&format!(
                    "trustpub: Optional dependencies are being left out ({setting}), and that package is one."
                )) && !run.stderr.contains("package-lock.json"),
                "{}",
                run.describe()
            ),
            None => assert!(
                !run.stderr.contains("are being left out")
                    && run.stderr.contains("the package-lock.json was made on another platform"),
                "{}",
                run.describe()
            ),
        }
        // Not installed by npx: no npx directory to delete.
        assert!(!run.stderr.contains("npx reuses"), "{}", run.describe());
    }
}

/// SIGTERM sent to the launcher reaches the binary (a stand-in that notes
/// the TERM it gets), and the launcher then dies of it as the binary did.
#[cfg(unix)]
#[test]
fn the_launcher_passes_sigterm_to_the_binary() {
    use std::os::unix::process::ExitStatusExt as _;
    let s = Scratch::new();
    let out = s.assembled("packages", "0.1.0");
    let ready = s.root.join("ready");
    let mark = s.root.join("mark");
    // Waits (at most 120 s) for TERM; notes it, then dies of it.
    let fake = fake_binary(
        &s.root,
        "trap 'kill \"$sleeper\" 2>/dev/null; echo got-term > \"$MARK\"; trap - TERM; kill -TERM $$' TERM\n\
         sleep 120 &\nsleeper=$!\necho ready > \"$READY\"\nwait \"$sleeper\"\necho not-signalled > \"$MARK\"",
    );
    let mut cmd = Command::new("node");
    cmd.arg(out.join("trustpub/bin/trustpub.js"));
    support::apply_env(&mut cmd, &s.root);
    cmd.current_dir(&s.root)
        .env("TRUSTPUB_BINARY", &fake)
        .env("READY", &ready)
        .env("MARK", &mark)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("start node");
    // The stand-in is running once it has written `ready` (bounded wait).
    let mut waited = 0;
    while !ready.exists() {
        if waited >= 600 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the stand-in binary did not start within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(
        fs::read_to_string(&mark).ok().as_deref(),
        Some("got-term\n"),
        "the binary did not get the TERM sent to the launcher (launcher: {status:?})"
    );
    assert_eq!(status.signal(), Some(15), "{status:?}");
}

/// `TRUSTPUB_BINARY=trustpub` where PATH finds this launcher first (npx
/// and npm run put node_modules/.bin first): refused plainly instead of
/// starting itself again and again. The `trustpub` on PATH here is a shell
/// script that execs the launcher and stops the chain at five deep, so a
/// launcher without the guard fails this test instead of running forever.
/// A launcher started by the binary (a lifecycle script) still runs.
#[cfg(unix)]
#[test]
fn trustpub_binary_naming_the_launcher_itself_is_refused() {
    let s = Scratch::new();
    let out = s.assembled("packages", "0.1.0");
    let js = out.join("trustpub/bin/trustpub.js");
    let dot_bin = s.root.join("node_modules-bin");
    fs::create_dir_all(&dot_bin).unwrap();
    let shim = dot_bin.join("trustpub");
    fs::write(
        &shim,
        format!(
            "#!/bin/sh\nn=$(( ${{TEST_DEPTH:-0}} + 1 ))\nif [ \"$n\" -gt 5 ]; then echo 'recursed 5 deep' >&2; exit 99; fi\nTEST_DEPTH=$n exec node '{}' \"$@\"\n",
            js.display()
        ),
    )
    .unwrap();
    support::set_mode(&shim, 0o755).unwrap();
    let path = format!(
        "{}:{}",
        dot_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = launcher(
        &s,
        &out,
        &["--version"],
        &[
            ("PATH", path.as_ref()),
            ("TRUSTPUB_BINARY", "trustpub".as_ref()),
        ],
    );
    expect_code(&run, 1);
    assert!(
        run.stderr.contains(
            "trustpub: TRUSTPUB_BINARY (trustpub) runs this launcher again, not a trustpub binary"
        ) && run
            .stderr
            .contains("Set TRUSTPUB_BINARY to the full path of a trustpub binary."),
        "{}",
        run.describe()
    );
    assert!(!run.stderr.contains("recursed"), "{}", run.describe());

    // The binary running the launcher again (through a shell, as a
    // lifecycle script would) is not recursion: it runs.
    let fake = fake_binary(
        &s.root,
        &format!(
            "if [ -n \"$INNER\" ]; then echo \"inner [$1]\"; exit 0; fi\nINNER=1 node '{}' nested\necho \"outer done $?\"",
            js.display()
        ),
    );
    let run = launcher(&s, &out, &[], &[("TRUSTPUB_BINARY", fake.as_os_str())]);
    expect_code(&run, 0);
    assert_eq!(
        run.stdout,
        "inner [nested]\nouter done 0\n",
        "{}",
        run.describe()
    );
}

/// Windows on Arm runs the x64 build: the launcher on win32-arm64 (Node's
/// platform and arch overridden by a preloaded module) runs
/// `@trustpub/win32-x64` when it is installed, and says how to install it
/// when it is not.
#[cfg(unix)]
#[test]
fn the_launcher_on_windows_on_arm_runs_the_x64_build() {
    let s = Scratch::new();
    let out = s.assembled("packages", "0.1.0");
    let pj = out.join("trustpub/package.json");
    let mut manifest = read_json(&pj);
    manifest["optionalDependencies"] = json!({
        "@trustpub/linux-x64": "0.1.0",
        "@trustpub/win32-x64": "0.1.0",
    });
    fs::write(&pj, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let preload = s.root.join("win-arm64.js");
    fs::write(
        &preload,
        "Object.defineProperty(process, 'platform', { value: 'win32' })\nObject.defineProperty(process, 'arch', { value: 'arm64' })\n",
    )
    .unwrap();
    let run_it = || {
        let mut cmd = Command::new("node");
        cmd.arg("--require")
            .arg(&preload)
            .arg(out.join("trustpub/bin/trustpub.js"))
            .arg("--version");
        support::apply_env(&mut cmd, &s.root);
        cmd.current_dir(&s.root);
        s.run(cmd)
    };

    // Not installed: the message says the x64 build is what runs there.
    let run = run_it();
    expect_code(&run, 1);
    for needle in [
        "trustpub: there is no prebuilt trustpub binary for this platform (win32-arm64).",
        "trustpub: Windows on Arm runs the win32-x64 one (emulated)",
        "`npm install --cpu=x64 trustpub@0.1.0`",
        "TRUSTPUB_BINARY",
    ] {
        assert!(
            run.stderr.contains(needle),
            "no {needle:?}:\n{}",
            run.describe()
        );
    }

    // Installed next to the launcher (node_modules/@trustpub/win32-x64):
    // its bin/trustpub.exe (a stand-in here) runs.
    let x64 = out.join("node_modules/@trustpub/win32-x64");
    fs::create_dir_all(x64.join("bin")).unwrap();
    fs::write(
        x64.join("package.json"),
        r#"{"name":"@trustpub/win32-x64","version":"0.1.0"}"#,
    )
    .unwrap();
    let exe = x64.join("bin/trustpub.exe");
    fs::write(&exe, "#!/bin/sh\necho \"x64 build [$1]\"\nexit 5\n").unwrap();
    support::set_mode(&exe, 0o755).unwrap();
    let run = run_it();
    expect_code(&run, 5);
    assert_eq!(run.stdout, "x64 build [--version]\n", "{}", run.describe());
}
