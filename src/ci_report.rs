//! What trustpub tells the CI itself, besides its log lines.
//!
//! * GitHub Actions: every secret trustpub obtains (the id token, the
//!   exchanged publish token, a fallback token) is masked with
//!   `::add-mask::` the moment it is obtained, before anything else is
//!   printed; failures also become `::error::` annotations and warnings
//!   `::warning::` annotations; a short result table is appended to the file
//!   named by `$GITHUB_STEP_SUMMARY`. Workflow commands go to standard error
//!   (the runner reads both streams), so `--json` output stays clean; like
//!   every line, they are written to the printer's [`Sink`].
//! * GitLab CI: long diagnostics go in a collapsible log section
//!   (`section_start`/`section_end`).
//!
//! Outside those, everything here does nothing.
//!
//! This is the only code that writes workflow commands. Everything else it
//! writes (annotation titles and messages, section headers, summary cells)
//! is scrubbed of secrets and neutralised first, like the printer's text
//! ([`crate::ui::clean`]), and then escaped as the runner expects.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::ci::{self, Provider};
use crate::env::Env;
use crate::secret::Secret;
use crate::ui::{Sink, StdSink, Stream};

/// The CI's side channels, written to the printer's [`Sink`].
#[derive(Debug)]
pub struct CiReport {
    provider: Option<Provider>,
    summary_path: Option<PathBuf>,
    /// `$GITHUB_OUTPUT`: the step's outputs.
    output_path: Option<PathBuf>,
    rows: Mutex<Vec<(String, String)>>,
    sink: Arc<dyn Sink>,
}

impl Default for CiReport {
    fn default() -> CiReport {
        CiReport {
            provider: None,
            summary_path: None,
            output_path: None,
            rows: Mutex::new(Vec::new()),
            sink: Arc::new(StdSink),
        }
    }
}

impl CiReport {
    /// No CI: every call does nothing.
    pub fn none() -> CiReport {
        CiReport::default()
    }

    /// The side channels of the CI detected in `env`, on the process's
    /// standard error.
    pub fn from_env(env: &Env) -> CiReport {
        CiReport::from_env_to(env, Arc::new(StdSink))
    }

    /// The side channels of the CI detected in `env`, written to `sink`.
    pub fn from_env_to(env: &Env, sink: Arc<dyn Sink>) -> CiReport {
        let provider = ci::detect(env);
        let github_file = |name: &str| match provider {
            Some(Provider::GitHubActions) => {
                env.get(name).filter(|p| !p.is_empty()).map(PathBuf::from)
            }
            _ => None,
        };
        CiReport {
            provider,
            summary_path: github_file("GITHUB_STEP_SUMMARY"),
            output_path: github_file("GITHUB_OUTPUT"),
            rows: Mutex::new(Vec::new()),
            sink,
        }
    }

    pub fn provider(&self) -> Option<Provider> {
        self.provider
    }

    /// `::add-mask::` for the secret (GitHub only).
    pub fn mask(&self, secret: &Secret<String>) {
        self.mask_value(secret.expose());
    }

    /// `::add-mask::` for a secret value trustpub did not wrap itself (an
    /// environment variable), GitHub only. See [`mask_lines`].
    pub fn mask_value(&self, value: &str) {
        if self.provider != Some(Provider::GitHubActions) {
            return;
        }
        let lines = mask_lines(value);
        if !lines.is_empty() {
            self.sink.line(Stream::Err, &lines.join("\n"));
        }
    }

    /// An `::error::` annotation (GitHub only).
    pub fn error(&self, title: &str, message: &str) {
        self.annotation("error", title, message);
    }

    /// A `::warning::` annotation (GitHub only).
    pub fn warning(&self, title: &str, message: &str) {
        self.annotation("warning", title, message);
    }

    fn annotation(&self, kind: &str, title: &str, message: &str) {
        if self.provider != Some(Provider::GitHubActions) {
            return;
        }
        self.sink.line(
            Stream::Err,
            &format!(
                "::{kind} title={}::{}",
                escape_property(&safe(title)),
                escape_data(&safe(message))
            ),
        );
    }

    /// Opens a collapsible section (GitLab), returning what closes it.
    pub fn section(&self, name: &str, header: &str) -> Section<'_> {
        let open = self.provider == Some(Provider::GitLab);
        if open {
            self.sink.line(
                Stream::Err,
                &format!(
                    "\x1b[0Ksection_start:{}:{}[collapsed=false]\r\x1b[0K{}",
                    unix_now(),
                    section_name(name),
                    safe(header).replace('\n', " ")
                ),
            );
        }
        Section {
            report: self,
            name: name.to_string(),
            open,
        }
    }

    /// Adds a row to the step summary table.
    pub fn row(&self, key: &str, value: &str) {
        if self.summary_path.is_none() {
            return;
        }
        if let Ok(mut rows) = self.rows.lock() {
            match rows.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value.to_string(),
                None => rows.push((key.to_string(), value.to_string())),
            }
        }
    }

    /// Appends a table with `header` and `rows` (under `title`) to
    /// `$GITHUB_STEP_SUMMARY` now (GitHub only).
    pub fn table(&self, title: &str, header: &[&str], rows: &[Vec<String>]) {
        let mut md = format!("### {}\n\n|", cell(&safe(title)));
        for h in header {
            md.push_str(&format!(" {} |", cell(h)));
        }
        md.push_str("\n|");
        md.push_str(&"---|".repeat(header.len()));
        md.push('\n');
        for row in rows {
            md.push('|');
            for c in row {
                md.push_str(&format!(" {} |", cell(&safe(c))));
            }
            md.push('\n');
        }
        md.push('\n');
        self.append("GITHUB_STEP_SUMMARY", self.summary_path.as_ref(), &md);
    }

    /// Sets a step output in `$GITHUB_OUTPUT` (GitHub only). The value is
    /// written on one line (line breaks become spaces), so it cannot start
    /// another output.
    pub fn output(&self, name: &str, value: &str) {
        let value: String = value
            .chars()
            .map(|c| if matches!(c, '\r' | '\n') { ' ' } else { c })
            .collect();
        let line = format!("{name}={value}\n");
        self.append("GITHUB_OUTPUT", self.output_path.as_ref(), &line);
    }

    fn append(&self, what: &str, path: Option<&PathBuf>, text: &str) {
        let Some(path) = path else {
            return;
        };
        let written = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = written {
            self.sink.line(
                Stream::Err,
                &safe(&format!(
                    "trustpub warn ci cannot append to {what} ({}): {e}",
                    path.display()
                )),
            );
        }
    }

    /// Appends the table (under `title`) to `$GITHUB_STEP_SUMMARY`.
    pub fn write_summary(&self, title: &str) {
        let Some(path) = &self.summary_path else {
            return;
        };
        let rows = match self.rows.lock() {
            Ok(r) => r.clone(),
            Err(_) => return,
        };
        if rows.is_empty() {
            return;
        }
        let mut md = format!("### {title}\n\n| | |\n|---|---|\n");
        for (k, v) in rows {
            md.push_str(&format!("| {} | {} |\n", cell(&safe(&k)), cell(&safe(&v))));
        }
        md.push('\n');
        self.append("GITHUB_STEP_SUMMARY", Some(path), &md);
    }
}

/// An open GitLab section; dropping it closes it.
pub struct Section<'a> {
    report: &'a CiReport,
    name: String,
    open: bool,
}

impl Drop for Section<'_> {
    fn drop(&mut self) {
        if self.open && self.report.provider == Some(Provider::GitLab) {
            self.report.sink.line(
                Stream::Err,
                &format!(
                    "\x1b[0Ksection_end:{}:{}\r\x1b[0K",
                    unix_now(),
                    section_name(&self.name)
                ),
            );
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Text scrubbed of secrets, with its control characters rendered visibly
/// and no `##[` or line-leading `::` (as [`crate::ui::clean`] makes it),
/// before it is escaped for a workflow command or a summary cell.
fn safe(s: &str) -> String {
    crate::ui::clean(s)
}

/// A GitLab section name: the characters GitLab allows (`[A-Za-z0-9_.-]`).
fn section_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The `::add-mask::` lines for a secret value. The runner unescapes command
/// data (`%0D`, `%0A`, `%25`), so the value is escaped with [`escape_data`]
/// and a token containing `\r`, `\n` or `%0A` is masked whole. The runner
/// masks line by line, so each line of a multi-line value is masked too.
/// Blank values and lines are skipped (the runner refuses them with a
/// warning that would name the command).
pub fn mask_lines(value: &str) -> Vec<String> {
    let mut values = vec![value];
    if value.contains(['\r', '\n']) {
        values.extend(value.split(['\r', '\n']));
    }
    let mut lines: Vec<String> = Vec::new();
    for v in values {
        // A piece shorter than the scrubber's floor would mask every copy
        // of a common word in the log (a hostile answer could blank it).
        if v.trim().chars().count() < crate::secret::MIN_SCRUB_LEN {
            continue;
        }
        let line = format!("::add-mask::{}", escape_data(v));
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

/// A markdown table cell: one line, pipes escaped, and outside code spans
/// no HTML, link or image (a registry message in the summary must not
/// render as a link to somewhere else or load an image).
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_code = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            // A code span only where a closing backtick follows: an
            // unmatched one is escaped, so it cannot switch the escaping
            // below off for the rest of the cell.
            '`' if in_code || chars[i + 1..].contains(&'`') => {
                in_code = !in_code;
                out.push(c);
            }
            '`' => out.push_str("\\`"),
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            '[' | ']' | '!' if !in_code => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// actions/toolkit `escapeData`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// actions/toolkit `escapeProperty`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unmatched_backtick_does_not_turn_the_escaping_off() {
        let c = super::cell("`<img src=https://e.example/x.png> [click](https://e.example)");
        assert!(!c.contains("<img"), "{c}");
        assert!(!c.contains("[click]"), "{c}");
        // A real code span stays one.
        assert_eq!(super::cell("`a<b>` <i>"), "`a<b>` &lt;i&gt;");
    }

    use super::*;

    #[test]
    fn workflow_command_escaping_follows_the_toolkit() {
        assert_eq!(escape_data("50% done\nnext\r"), "50%25 done%0Anext%0D");
        assert_eq!(escape_property("a: b, c"), "a%3A b%2C c");
    }

    #[test]
    fn masks_are_escaped_as_the_runner_unescapes_them() {
        // The runner's UnescapeData: %0D, then %0A, then %25.
        let unescape = |s: &str| {
            s.replace("%0D", "\r")
                .replace("%0A", "\n")
                .replace("%25", "%")
        };
        for value in [
            "plain-token",
            "tok%0Aen",
            "a\rb-secret",
            "multi\nline\r\nvalue",
            "100%25",
        ] {
            let lines = mask_lines(value);
            let first = lines[0].strip_prefix("::add-mask::").unwrap();
            assert_eq!(unescape(first), value);
            for l in &lines {
                assert!(!l.contains(['\r', '\n']), "{l:?}");
            }
        }
        assert_eq!(
            mask_lines("abcdef\nghijkl"),
            [
                "::add-mask::abcdef%0Aghijkl",
                "::add-mask::abcdef",
                "::add-mask::ghijkl"
            ]
        );
        assert!(mask_lines("  ").is_empty());
        // Pieces (or whole values) shorter than the scrubber's floor are not
        // masked: `tok\r\ne` from a hostile exchange must not mask every `e`.
        assert_eq!(
            mask_lines("token-value\r\ne"),
            ["::add-mask::token-value%0D%0Ae", "::add-mask::token-value"]
        );
        assert!(mask_lines("ab\ncd").is_empty());
    }

    #[test]
    fn summary_cells_render_no_html_links_or_images() {
        assert_eq!(
            cell("[Renew](https://phish.example) <img src=x> ![i](y)"),
            "\\[Renew\\](https://phish.example) &lt;img src=x&gt; \\!\\[i\\](y)"
        );
        // Code spans are left alone (they render literally anyway).
        assert_eq!(cell("`a[b]<c>`|d"), "`a[b]<c>`\\|d");
    }

    #[test]
    fn commands_and_sections_are_written_to_the_sink() {
        let capture = Arc::new(crate::ui::Capture::default());
        let gh = Env::from_pairs([("GITHUB_ACTIONS", "true")]);
        let r = CiReport::from_env_to(&gh, capture.clone());
        r.mask_value("abcdef\nghijkl");
        r.error("t", "##[x]\ny");
        drop(r.section("s", "header"));
        assert_eq!(
            capture.stderr(),
            "::add-mask::abcdef%0Aghijkl\n::add-mask::abcdef\n::add-mask::ghijkl\n\
             ::error title=t::#\\x23[x]%0Ay\n"
        );
        let capture = Arc::new(crate::ui::Capture::default());
        let gl = Env::from_pairs([("GITLAB_CI", "true")]);
        let r = CiReport::from_env_to(&gl, capture.clone());
        r.mask_value("abcdef");
        r.warning("t", "m");
        drop(r.section("a b", "head\x1b[1m\nline"));
        let err = capture.stderr();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err:?}");
        assert!(lines[0].starts_with("\x1b[0Ksection_start:"), "{err:?}");
        assert!(
            lines[0].ends_with(":a_b[collapsed=false]\r\x1b[0Khead\\x1b[1m line"),
            "{err:?}"
        );
        assert!(lines[1].starts_with("\x1b[0Ksection_end:") && lines[1].ends_with(":a_b\r\x1b[0K"));
        assert_eq!(capture.stdout(), "");
    }

    #[test]
    fn summary_rows_are_appended_as_a_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "before\n").unwrap();
        let env = Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", path.to_str().unwrap()),
        ]);
        let r = CiReport::from_env(&env);
        r.row("package", "a|b@1.0.0");
        r.row("result", "failed");
        r.row("result", "published");
        r.write_summary("trustpub publish");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "before\n### trustpub publish\n\n| | |\n|---|---|\n| package | a\\|b@1.0.0 |\n| result | published |\n\n"
        );
        // Nowhere to write outside GitHub.
        let none = CiReport::from_env(&Env::from_pairs([("GITLAB_CI", "true")]));
        none.row("x", "y");
        none.write_summary("t");
    }
}
