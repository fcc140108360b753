//! Shell completions and the manual page, generated from the clap
//! definitions in [`crate::cli`] (so they cannot drift from the parser).

use clap::CommandFactory;
use clap_mangen::Man;

use crate::cli::Cli;

/// The completion script for `shell`, for the program name `trustpub`.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "trustpub", &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// `trustpub.1`: one page for the whole program. clap_mangen's own page
/// refers to a page per subcommand (`trustpub-pack(1)`), which nobody
/// installs; this one keeps clap_mangen's title, name, synopsis,
/// description and options, then gives each subcommand a subsection with
/// its synopsis, description and options.
pub fn man_page() -> String {
    let mut cmd = Cli::command();
    cmd.build();
    let top = Man::new(cmd.clone());
    let mut page = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = top.render_name_section(&mut page);
    let _ = top.render_synopsis_section(&mut page);
    let _ = top.render_description_section(&mut page);
    let _ = top.render_options_section(&mut page);
    page.extend_from_slice(b".SH COMMANDS\n");
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let man = Man::new(sub.clone());
        page.extend_from_slice(format!(".SS \"trustpub {}\"\n", sub.get_name()).as_bytes());
        let mut part = Vec::new();
        let _ = man.render_synopsis_section(&mut part);
        let _ = man.render_description_section(&mut part);
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            let _ = man.render_options_section(&mut part);
        }
        // Inside a subsection, clap_mangen's section headings become
        // paragraphs ("Options:" in bold).
        for line in String::from_utf8_lossy(&part).lines() {
            match line.strip_prefix(".SH ") {
                Some("SYNOPSIS" | "DESCRIPTION") => page.extend_from_slice(b".PP\n"),
                Some(heading) => page.extend_from_slice(
                    format!(".PP\n\\fB{}:\\fR\n", title_case(heading)).as_bytes(),
                ),
                None => {
                    page.extend_from_slice(line.as_bytes());
                    page.push(b'\n');
                }
            }
        }
    }
    let _ = top.render_version_section(&mut page);

    // Every clap_mangen render call starts with the same two-line
    // definition of the apostrophe string (`\*(Aq`); the page needs it once,
    // before the title. The title is written here: clap_mangen leaves an
    // empty date argument unquoted, which shifts the footer's fields.
    const AQ: [&str; 2] = [r".ie \n(.g .ds Aq \(aq", r".el .ds Aq '"];
    let version = cmd.get_version().unwrap_or_default();
    let mut out = format!(
        "{}\n{}\n.TH TRUSTPUB 1 \"\" \"trustpub {version}\" \"User Commands\"\n",
        AQ[0], AQ[1]
    );
    for line in String::from_utf8_lossy(&page).lines() {
        if !AQ.contains(&line) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `OPTIONS` → `Options` (clap_mangen upper-cases its headings).
fn title_case(heading: &str) -> String {
    let lower = heading.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
