//! `doctor`'s CI readers (`workflows::analyze`): GitHub workflows and
//! composite actions, `.gitlab-ci.yml` with `include`/`extends`/anchors,
//! CircleCI config, the shell-script reader behind every `run:`/`script:`,
//! and package.json scripts. Seeds are the fixture repositories under
//! `fixtures/doctor/`, mutated with hostile YAML and shell fragments.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use trustpub::workflows;

use super::{config, nasty_line, nasty_string};

/// Every text file of the doctor fixtures, by path relative to its case.
fn seeds() -> &'static [(PathBuf, String)] {
    static SEEDS: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = crate::support::manifest_dir()
            .join("fixtures")
            .join("doctor");
        let mut out = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(&dir).unwrap().map(Result::unwrap) {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(text) = fs::read_to_string(&p) {
                    let rel = p.strip_prefix(&root).unwrap();
                    // Drop the case directory.
                    let rel: PathBuf = rel.components().skip(1).collect();
                    if !rel.as_os_str().is_empty() {
                        out.push((rel, text));
                    }
                }
            }
        }
        out.sort();
        assert!(
            out.len() > 20,
            "doctor fixtures not found under {}",
            root.display()
        );
        out
    })
}

const SHELL: &[&str] = &[
    "npm publish",
    "npm publish --provenance --access public",
    "npx trustpub publish",
    "npx -y trustpub@latest publish ./pkg",
    "yarn npm publish",
    "pnpm publish --no-git-checks",
    "npm run release",
    "npm run",
    "npm install -g npm@latest",
    "npm i -g npm@^11.5",
    "cd packages/a",
    "cd ..",
    "cd ../../..",
    "cd /",
    "cd $HOME",
    "pushd x",
    "popd",
    "echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc",
    "sh -c '",
    "bash -c \"",
    "$(",
    "`",
    ")",
    "&&",
    "||",
    ";",
    "|",
    "&",
    "\n",
    "\\\n",
    "<<EOF\nnpm publish\nEOF\n",
    "<<'X'\n",
    "#",
    "'",
    "\"",
    "\\",
    "{",
    "}",
    "(",
    "if true; then",
    "fi",
    "for x in a b; do",
    "done",
    "2>&1",
    ">",
    "--registry",
    "https://registry.npmjs.org/",
    "${{ secrets.NPM_TOKEN }}",
    "${{ matrix.node }}",
    "env",
    "FOO=bar",
    "--",
    "-w",
    "--workspace=a",
    " ",
];

fn shell() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::sample::select(SHELL).prop_map(str::to_string),
            1 => nasty_line(2),
        ],
        0..12,
    )
    .prop_map(|v| v.join(" "))
}

/// YAML fragments: anchors and aliases (bounded: a handful per file),
/// merge keys, flow collections, tags, block scalars, odd indentation.
fn yaml_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x: &a {run: npm publish}\n".to_string()),
        Just("y: *a\n".to_string()),
        Just("<<: *a\n".to_string()),
        Just("<<: [*a, *a]\n".to_string()),
        Just("z: *missing\n".to_string()),
        Just("  - *a\n".to_string()),
        Just("- &b [1, 2]\n".to_string()),
        Just("!!binary aGk=\n".to_string()),
        Just("? [a, b]\n: c\n".to_string()),
        Just("key: |\n  npm publish\n  cd ..\n".to_string()),
        Just("key: >-\n  folded\n".to_string()),
        Just("---\n".to_string()),
        Just("...\n".to_string()),
        Just("%YAML 1.1\n".to_string()),
        Just("\t".to_string()),
        Just("      ".to_string()),
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("{".to_string()),
        Just("[".to_string()),
        Just("\"\\ud800\"".to_string()),
        Just("\"\\u0000\"".to_string()),
        Just("1e400".to_string()),
        Just("0x7fffffffffffffffff".to_string()),
        Just("jobs:\n".to_string()),
        Just("steps:\n".to_string()),
        Just("permissions: write-all\n".to_string()),
        Just("id-token: write\n".to_string()),
        Just("node-version: ''\n".to_string()),
        Just("node-version-file: ../../../../etc/hostname\n".to_string()),
        Just("uses: ./.github/workflows/../../../x.yml\n".to_string()),
        Just("uses: ./\n".to_string()),
        Just("extends: [.a, .a]\n".to_string()),
        Just("include: ci/../../x.yml\n".to_string()),
        Just("include:\n  - local: /ci/templates.yml\n".to_string()),
        (1usize..200).prop_map(|n| "[".repeat(n) + &"]".repeat(n) + "\n"),
        (1usize..120).prop_map(|n| (0..n).map(|i| format!("{}- a\n", " ".repeat(i))).collect()),
        shell().prop_map(|s| format!("run: {s}\n")),
        shell().prop_map(|s| format!("- run: |\n    {}\n", s.replace('\n', "\n    "))),
        shell().prop_map(|s| format!("script:\n  - {}\n", s.replace('\n', " "))),
        nasty_string(4),
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    /// Insert at the start of line `n` (mod the line count).
    AtLine(usize, String),
    /// Insert at byte `n` (moved back to a character boundary).
    AtByte(usize, String),
    /// Delete `len` bytes from byte `n`.
    Delete(usize, usize),
    /// Replace the value after the `k`-th `: ` with a scalar.
    Value(usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), yaml_fragment()).prop_map(|(n, s)| Edit::AtLine(n, s)),
        1 => (any::<usize>(), yaml_fragment()).prop_map(|(n, s)| Edit::AtByte(n, s)),
        1 => (any::<usize>(), 1usize..40).prop_map(|(n, l)| Edit::Delete(n, l)),
        2 => (any::<usize>(), prop_oneof![shell(), nasty_line(3)]).prop_map(|(n, s)| Edit::Value(n, s)),
    ]
}

fn boundary(t: &str, mut i: usize) -> usize {
    i = i.min(t.len());
    while !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut t = text.to_string();
    for e in edits {
        match e {
            Edit::AtLine(n, s) => {
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(t.match_indices('\n').map(|(i, _)| i + 1))
                    .collect();
                let at = starts[n % starts.len()];
                t.insert_str(at, s);
            }
            Edit::AtByte(n, s) => {
                let at = boundary(&t, n % (t.len() + 1));
                t.insert_str(at, s);
            }
            Edit::Delete(n, len) => {
                let a = boundary(&t, n % (t.len() + 1));
                let b = boundary(&t, a + len);
                t.replace_range(a..b, "");
            }
            Edit::Value(k, s) => {
                let colons: Vec<usize> = t.match_indices(": ").map(|(i, _)| i + 2).collect();
                if !colons.is_empty() {
                    let a = colons[k % colons.len()];
                    let b = t[a..].find('\n').map_or(t.len(), |e| a + e);
                    t.replace_range(a..b, s);
                }
            }
        }
    }
    t
}

/// One hostile repository: a fixture case's files (picked by their seed
/// index, several cases may mix), each mutated.
fn repository() -> impl Strategy<Value = Vec<(PathBuf, String)>> {
    proptest::collection::vec(
        (
            any::<prop::sample::Index>(),
            proptest::collection::vec(edit(), 0..4),
        ),
        1..6,
    )
    .prop_map(|files| {
        let seeds = seeds();
        files
            .into_iter()
            .map(|(i, edits)| {
                let (rel, text) = &seeds[i.index(seeds.len())];
                (rel.clone(), apply(text, &edits))
            })
            .collect()
    })
}

fn write_repo(root: &Path, files: &[(PathBuf, String)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
    }
}

fn check(root: &Path, package_dir: &Path) {
    let a = workflows::analyze(root, package_dir, "registry.npmjs.org");
    let _ = a.ready();
    for f in a.findings() {
        let _ = format!("{f:?}");
    }
    for j in &a.jobs {
        let _ = j.label();
    }
    for p in &a.files_read {
        assert!(
            p.is_relative() && !p.components().any(|c| c == Component::ParentDir),
            "doctor read {} outside the repository",
            p.display()
        );
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Mutated fixture repositories: the analysis returns, and it reads no
    /// file outside the repository.
    #[test]
    fn doctor_survives_hostile_ci_files(files in repository()) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write_repo(root, &files);
        if !root.join("package.json").exists() {
            fs::write(root.join("package.json"), r#"{"name":"fz","version":"1.0.0"}"#).unwrap();
        }
        check(root, root);
        // The package in a subdirectory (a monorepo) takes other paths.
        fs::create_dir_all(root.join("packages/a")).unwrap();
        fs::write(root.join("packages/a/package.json"), r#"{"name":"a","version":"1.0.0","scripts":{"release":"npm publish"}}"#).unwrap();
        check(root, &root.join("packages/a"));
    }

    /// The shell reader, through a workflow `run:` step, a GitLab `script:`
    /// and package.json scripts that call each other.
    #[test]
    fn doctor_survives_hostile_shell(
        run in shell(),
        script in shell(),
        scripts in proptest::collection::vec((proptest::sample::select(&["release", "prepublishOnly", "publish", "x", "pub"][..]), shell()), 0..4),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let indented = run.replace('\n', "\n          ");
        let gh = format!(
            "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    permissions:\n      id-token: write\n    steps:\n      - run: |\n          {indented}\n"
        );
        let gl = format!("p:\n  script:\n    - {}\n", serde_json::to_string(&script).unwrap());
        let scripts: serde_json::Map<String, serde_json::Value> =
            scripts.into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
        let pkg = serde_json::json!({"name": "fz", "version": "1.0.0", "scripts": scripts});
        write_repo(root, &[
            (".github/workflows/r.yml".into(), gh),
            (".gitlab-ci.yml".into(), gl),
            ("package.json".into(), pkg.to_string()),
        ]);
        check(root, root);
    }
}
