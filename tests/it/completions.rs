//! `trustpub completions <shell>` and `trustpub man`: generated from the clap
//! definitions, so every subcommand and flag the parser knows must be in
//! them. The list of subcommands is read from `trustpub --help` (not written
//! here), so a new subcommand is checked without touching this file.
//!
//! The bash script is loaded into a real bash and its completion function is
//! called as bash would call it; the man page is rendered with groff (or
//! mandoc) and must render without warnings.

use std::process::Command;

use crate::support::run;
use crate::support::sandbox::Sandbox;

/// The subcommands `trustpub --help` lists (without `help`).
fn subcommands(sb: &Sandbox) -> Vec<String> {
    let r = sb.trustpub(["--help"]).run();
    r.expect_code(0);
    let mut names = Vec::new();
    let mut in_commands = false;
    for line in r.stdout().lines() {
        if line == "Commands:" {
            in_commands = true;
            continue;
        }
        if in_commands {
            if line.trim().is_empty() {
                break;
            }
            // Each entry is "  <name>  <about>".
            if let Some(name) = line
                .strip_prefix("  ")
                .and_then(|l| l.split_whitespace().next())
            {
                if name != "help" {
                    names.push(name.to_string());
                }
            }
        }
    }
    // The parse above must have found the commands we know of.
    for known in ["pack", "publish", "doctor", "completions", "man"] {
        assert!(
            names.iter().any(|n| n == known),
            "`trustpub --help` lists no `{known}` (parsed {names:?}):\n{}",
            r.describe
        );
    }
    names
}

fn completions(sb: &Sandbox, shell: &str) -> String {
    let r = sb.trustpub(["completions", shell]).run();
    r.expect_code(0);
    assert!(
        r.stderr().is_empty(),
        "completions {shell} wrote to stderr:\n{}",
        r.describe
    );
    assert!(
        r.stdout().contains("trustpub"),
        "completions {shell} does not name the program:\n{}",
        r.describe
    );
    r.stdout().to_string()
}

/// What bash's programmable completion offers for `words` (the cursor on
/// the last word), with the script from `trustpub completions bash` loaded.
fn bash_complete(
    script_path: &std::path::Path,
    words: &[&str],
    scratch: &std::path::Path,
) -> Vec<String> {
    let words_arr = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let cword = words.len() - 1;
    let cur = words[cword];
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let snippet = format!(
        "set -u\nsource '{}'\nCOMP_WORDS=({words_arr})\nCOMP_CWORD={cword}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _trustpub trustpub '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script_path.display(),
        words.join(" "),
    );
    let mut cmd = Command::new("bash");
    cmd.args(["--norc", "--noprofile", "-c", &snippet]);
    let out = run(cmd, scratch, "bash-complete");
    assert!(
        out.status.success(),
        "bash could not run the completion function:\n{}",
        out.describe()
    );
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn bash_completion_knows_every_subcommand_and_completes_them_in_bash() {
    let sb = Sandbox::new();
    let script = completions(&sb, "bash");
    for sub in subcommands(&sb) {
        assert!(
            script.contains(&format!("trustpub__{sub}")) || script.contains(&format!(" {sub} ")),
            "the bash script does not mention `{sub}`"
        );
    }
    assert!(script.contains("--trusted-publishing"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trustpub.bash");
    std::fs::write(&path, &script).unwrap();

    // bash accepts it.
    let mut cmd = Command::new("bash");
    cmd.arg("-n").arg(&path);
    let out = run(cmd, dir.path(), "bash-n");
    assert!(
        out.status.success(),
        "bash -n rejects the script:\n{}",
        out.describe()
    );

    // And it completes: a subcommand from its prefix, a flag's values, a
    // positional's values.
    assert_eq!(
        bash_complete(&path, &["trustpub", "pu"], dir.path()),
        ["publish"]
    );
    assert_eq!(
        bash_complete(
            &path,
            &["trustpub", "publish", "--trusted-publishing", ""],
            dir.path()
        ),
        ["auto", "always", "never"]
    );
    let shells = bash_complete(&path, &["trustpub", "completions", ""], dir.path());
    for s in ["bash", "elvish", "fish", "powershell", "zsh"] {
        assert!(shells.iter().any(|c| c == s), "{s} not offered: {shells:?}");
    }
    let flags = bash_complete(&path, &["trustpub", "publish", "--prov"], dir.path());
    assert_eq!(flags, ["--provenance", "--provenance-file"]);
}

#[test]
fn zsh_fish_powershell_and_elvish_scripts_name_every_subcommand() {
    let sb = Sandbox::new();
    let subs = subcommands(&sb);
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let script = completions(&sb, shell);
        for sub in &subs {
            assert!(
                script.contains(sub.as_str()),
                "the {shell} script does not name `{sub}`"
            );
        }
        assert!(
            script.contains("trusted-publishing"),
            "the {shell} script does not name --trusted-publishing"
        );
    }
    // zsh's script is a completion function file (#compdef first).
    assert!(completions(&sb, "zsh").starts_with("#compdef trustpub"));
    // fish: one `complete -c trustpub` line per completion.
    assert!(completions(&sb, "fish").contains("complete -c trustpub"));
}

/// The output passes through the printer's scrubbing (secrets, control
/// characters, workflow commands); it must come out byte for byte as
/// generated, for every shell and for the man page.
#[test]
fn printing_leaves_the_generated_scripts_and_page_intact() {
    let sb = Sandbox::new();
    for (shell, value) in [
        ("bash", clap_complete::Shell::Bash),
        ("zsh", clap_complete::Shell::Zsh),
        ("fish", clap_complete::Shell::Fish),
        ("powershell", clap_complete::Shell::PowerShell),
        ("elvish", clap_complete::Shell::Elvish),
    ] {
        let r = sb.trustpub(["completions", shell]).run();
        r.expect_code(0);
        assert!(
            r.stdout() == trustpub::generate::completions(value),
            "{shell}: printed script differs from the generated one:\n{}",
            crate::support::line_diff(&trustpub::generate::completions(value), r.stdout())
        );
    }
    let r = sb.trustpub(["man"]).run();
    r.expect_code(0);
    assert!(
        r.stdout() == trustpub::generate::man_page(),
        "{}",
        crate::support::line_diff(&trustpub::generate::man_page(), r.stdout())
    );
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let sb = Sandbox::new();
    let r = sb.trustpub(["completions", "tcsh"]).run();
    r.expect_code(2);
    assert!(r.stdout().is_empty(), "{}", r.describe);
    assert!(
        r.stderr().contains("invalid value 'tcsh'"),
        "{}",
        r.describe
    );
    assert!(r.stderr().contains("powershell"), "{}", r.describe);
}

#[test]
fn man_page_has_the_title_every_subcommand_and_their_options() {
    let sb = Sandbox::new();
    let r = sb.trustpub(["man"]).run();
    r.expect_code(0);
    let page = r.stdout();
    let title = page
        .lines()
        .find(|l| l.starts_with(".TH "))
        .unwrap_or_else(|| panic!("no .TH line:\n{page}"));
    assert_eq!(
        title,
        format!(
            ".TH TRUSTPUB 1 \"\" \"trustpub {}\" \"User Commands\"",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(page.matches(".TH ").count(), 1, "one title line:\n{page}");
    for sub in subcommands(&sb) {
        assert!(
            page.contains(&format!(".SS \"trustpub {sub}\"")),
            "no subsection for `trustpub {sub}`:\n{page}"
        );
    }
    // Subcommand options (roff escapes the dashes), with their possible
    // values and environment variables.
    for needle in [
        r"\fB\-\-trusted\-publishing\fR",
        r"\fB\-\-provenance\-file\fR",
        r"\fB\-\-pack\-destination\fR",
        "TRUSTPUB_TRUSTED_PUBLISHING",
        "powershell",
    ] {
        assert!(
            page.contains(needle),
            "the man page lacks {needle}:\n{page}"
        );
    }
    // No reference to per-subcommand pages nobody installs.
    assert!(!page.contains("trustpub\\-pack(1)") && !page.contains("trustpub-pack(1)"));
}

#[test]
fn man_page_renders_without_warnings() {
    let sb = Sandbox::new();
    let r = sb.trustpub(["man"]).run();
    r.expect_code(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trustpub.1");
    std::fs::write(&path, r.stdout()).unwrap();

    let has = |p: &str| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut cmd = if has("groff") {
        // -ww: every warning; -man: the man macros.
        let mut c = Command::new("groff");
        c.args(["-ww", "-man", "-Tutf8"]).arg(&path);
        c
    } else if has("mandoc") {
        let mut c = Command::new("mandoc");
        c.args(["-T", "utf8", "-W", "warning"]).arg(&path);
        c
    } else {
        panic!(
            "neither groff nor mandoc is installed: cannot render the man page \
             (apt-get install groff-base, or mandoc)"
        );
    };
    cmd.env("LC_ALL", "C.UTF-8");
    let out = run(cmd, dir.path(), "render");
    assert!(out.status.success(), "{}", out.describe());
    assert!(
        out.stderr.trim().is_empty(),
        "rendering warned:\n{}",
        out.describe()
    );
    // The rendered text (overstrike bold removed).
    let text = strip_overstrike(&out.stdout);
    assert!(text.contains("TRUSTPUB(1)"), "{text}");
    assert!(text.contains("NAME"), "{text}");
    assert!(text.contains("trustpub publish"), "{text}");
    assert!(text.contains("--trusted-publishing"), "{text}");
    assert!(
        text.contains(&format!("trustpub {}", env!("CARGO_PKG_VERSION"))),
        "the footer names the version:\n{text}"
    );
}

/// groff's terminal output makes bold with `c\bc` and underline with `_\bc`.
fn strip_overstrike(s: &str) -> String {
    let mut out: Vec<char> = Vec::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if chars.peek() == Some(&'\u{8}') {
            chars.next();
            continue;
        }
        // SGR escapes, if the renderer used them instead.
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out.into_iter()
        .collect::<String>()
        .replace(['\u{2010}', '\u{2212}'], "-")
}
