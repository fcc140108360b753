//! `--changesets`: what `changeset publish` (@changesets/cli 2.x) does
//! after its uploads, so `publish: trustpub publish --workspaces
//! --changesets` works in `changesets/action`:
//!
//! * for each package this run published, the annotated git tag (`git
//!   tag <tag> -m <tag>`, in the workspace root): `<name>@<version>` in a
//!   workspace, `v<version>` for a single-package repository; a tag that
//!   already exists is left alone and said;
//! * then, for each tag that exists, a line `New tag: <tag>` on standard
//!   output (changesets/action v1 finds the published packages by these
//!   lines) and, when `CHANGESETS_OUTPUT` names a file (how
//!   changesets/action v2 asks), one JSON event per line appended to it:
//!   `{"type":"git-tag","tag":…,"packageName":…}` (the file is created at
//!   the start of the run, [`prepare_output`], so it exists whatever happens). A tag that cannot be created gets neither
//!   (the action would try to push it) and fails the run after the
//!   uploads.
//!
//! Versions that were already on the registry get no line and no tag, as
//! in `changeset publish`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::env::Env;
use crate::ui::Printer;

/// One tag to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub name: String,
    pub version: String,
}

/// The tag `changeset publish` makes for a release.
pub fn tag_name(r: &Release, monorepo: bool) -> String {
    if monorepo {
        format!("{}@{}", r.name, r.version)
    } else {
        format!("v{}", r.version)
    }
}

/// What happened to the tags.
#[derive(Debug, Default, Clone)]
pub struct Tagged {
    pub created: Vec<String>,
    /// Tags that could not be created, with why.
    pub failures: Vec<String>,
}

/// Prints the lines, writes the events and creates the tags for
/// `releases`, in `root`.
pub fn tag(
    releases: &[Release],
    monorepo: bool,
    root: &Path,
    env: &Env,
    printer: &Printer,
) -> Tagged {
    let mut out = Tagged::default();
    let output = env.get_non_empty("CHANGESETS_OUTPUT").map(str::to_string);
    for r in releases {
        let tag = tag_name(r, monorepo);
        match git_tag(&tag, root, env) {
            Ok(true) => out.created.push(tag.clone()),
            Ok(false) => printer.warn(
                "changesets",
                &format!("the git tag {tag} already exists; left as it is"),
            ),
            Err(e) => {
                // No line and no event for a tag that does not exist: the
                // action would try to push it. The identity advice only
                // where `git tag` itself failed: a refused name or a
                // missing git is not about the identity.
                let why = match e {
                    TagError::Refused(e) => e,
                    TagError::Git(e) => format!(
                        "{e} (a git identity is needed for an annotated tag: changesets/action sets one; elsewhere run `git config user.name …` and `git config user.email …` first)"
                    ),
                };
                out.failures.push(format!(
                    "{}@{} was published, but the git tag {tag} could not be created: {why}",
                    r.name, r.version
                ));
                continue;
            }
        }
        printer.out(&format!("New tag: {tag}"));
        if let Some(path) = &output {
            let event = serde_json::json!({
                "type": "git-tag",
                "tag": tag,
                "packageName": r.name,
            });
            if let Err(e) = append_line(Path::new(path), &event.to_string()) {
                out.failures
                    .push(format!("cannot append to CHANGESETS_OUTPUT ({path}): {e}"));
            }
        }
    }
    for f in &out.failures {
        printer.lines(crate::ui::Level::Error, "changesets", f);
    }
    out
}

/// Creates `$CHANGESETS_OUTPUT` (empty) when it is set: changesets/action
/// warns when the file is missing after the script, so it exists whatever
/// the run does next (a dry run, nothing to publish, an early failure).
pub fn prepare_output(env: &Env) -> Result<(), String> {
    match env.get_non_empty("CHANGESETS_OUTPUT") {
        Some(path) => append_text(Path::new(path), "")
            .map_err(|e| format!("cannot write CHANGESETS_OUTPUT ({path}): {e}")),
        None => Ok(()),
    }
}

fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    append_text(path, &format!("{line}\n"))
}

fn append_text(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// Why a tag was not created.
enum TagError {
    /// Before `git tag`: git cannot run, or the name is not a tag name.
    Refused(String),
    /// `git tag` failed (most often: no identity for an annotated tag).
    Git(String),
}

/// `git tag <tag> -m <tag>` in `root`; `Ok(false)` when the tag exists.
fn git_tag(tag: &str, root: &Path, env: &Env) -> Result<bool, TagError> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .env_clear()
            .envs(env.iter())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| TagError::Refused(format!("cannot run git: {e}")))
    };
    // A name git cannot take (or would read as an option) is refused
    // before any git command sees it.
    let refname = format!("refs/tags/{tag}");
    if tag.starts_with('-') || !git(&["check-ref-format", &refname])?.status.success() {
        return Err(TagError::Refused(format!(
            "{tag:?} is not a name git accepts for a tag"
        )));
    }
    // Exactly this tag (`git tag --list` would take it as a pattern).
    if git(&["rev-parse", "--verify", "--quiet", &refname])?
        .status
        .success()
    {
        return Ok(false);
    }
    let made = git(&["tag", "-m", tag, tag])?;
    if made.status.success() {
        Ok(true)
    } else {
        Err(TagError::Git(first_line(&made.stderr)))
    }
}

/// git's first line of complaint, bounded.
fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().next().unwrap_or("git failed").trim();
    line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_as_changesets_names_them() {
        let r = Release {
            name: "@scope/a".into(),
            version: "1.2.3".into(),
        };
        assert_eq!(tag_name(&r, true), "@scope/a@1.2.3");
        assert_eq!(tag_name(&r, false), "v1.2.3");
    }
}
