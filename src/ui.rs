//! The only code that prints: the [`Printer`], over a [`Sink`] it is given
//! ([`StdSink`] in the binary, [`Capture`] in tests). Notices, warnings and
//! errors go to standard error in npm's shape (`trustpub notice …`,
//! `trustpub warn <code> …`, at a [`Level`]); results and `--json`
//! documents (the structs of [`crate::report`]) go to standard output; the
//! CI's side channels ([`crate::ci_report::CiReport`]: masks, annotations,
//! GitLab sections) write to the same sink.
//!
//! Every text goes through [`clean`] (or [`clean_json`] for a `--json`
//! document) on its way to the sink, whatever produced it:
//!
//! 1. [`crate::secret::scrub`] removes every registered secret and the
//!    userinfo of every URL;
//! 2. [`neutralise`] renders control characters visibly (`\x1b`, `\r`,
//!    `\u{202e}`), so a server's body, a token claim or a package.json value
//!    cannot move the cursor, rewrite the line, or start a new line for the
//!    GitHub runner (which splits lines on `\r` as well as `\n`);
//! 3. [`defuse_commands`] makes sure no printed line starts with `::` (after
//!    leading whitespace, as the runner trims it) and that no `##[` appears
//!    anywhere (the runner's older command syntax, matched anywhere in a
//!    line). Only [`crate::ci_report::CiReport`] writes workflow commands.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::ci_report::CiReport;

/// The level of a prefixed message (`trustpub <level> <code> …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warn,
    Error,
}

impl Level {
    /// npm's word for the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Notice => "notice",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// One of the two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Results (with `--json`, only the JSON document).
    Out,
    /// Notices, warnings, errors, script banners and workflow commands.
    Err,
}

/// Where the printer's lines go. The printer hands over text that is
/// already cleaned (or, for [`CiReport`]'s workflow commands, built from
/// cleaned pieces); a sink only writes it, followed by a newline.
pub trait Sink: Send + Sync + fmt::Debug {
    fn line(&self, stream: Stream, text: &str);
}

/// The process's standard output and standard error.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdSink;

impl Sink for StdSink {
    fn line(&self, stream: Stream, text: &str) {
        // One write per line, its newline included: standard error is not
        // buffered, and `writeln!` would write the text and the newline
        // apart (a terminal's echo, or another process, could land between).
        let line = format!("{text}\n");
        // The one place that writes to the standard streams (clippy.toml).
        #[allow(clippy::disallowed_methods)]
        let _ = match stream {
            Stream::Out => std::io::stdout().lock().write_all(line.as_bytes()),
            Stream::Err => std::io::stderr().lock().write_all(line.as_bytes()),
        };
    }
}

/// A sink that keeps what is written, for tests.
#[derive(Debug, Default)]
pub struct Capture {
    out: Mutex<String>,
    err: Mutex<String>,
}

impl Capture {
    /// Everything written to standard output so far.
    pub fn stdout(&self) -> String {
        self.out.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Everything written to standard error so far.
    pub fn stderr(&self) -> String {
        self.err.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Sink for Capture {
    fn line(&self, stream: Stream, text: &str) {
        let buf = match stream {
            Stream::Out => &self.out,
            Stream::Err => &self.err,
        };
        if let Ok(mut b) = buf.lock() {
            b.push_str(text);
            b.push('\n');
        }
    }
}

/// Where human and machine output goes: the one interface every renderer
/// (human lines, the `--json` document, the CI's side channels) writes
/// through, over the [`Sink`] it is given.
#[derive(Clone)]
pub struct Printer {
    /// Whether to use npm's unicode package marker (from the locale, as npm does).
    pub unicode: bool,
    /// `--json`: standard output carries only the JSON document.
    pub json: bool,
    /// The CI's side channels (masks, annotations, step summary, sections),
    /// writing to the same sink.
    pub ci: Arc<CiReport>,
    sink: Arc<dyn Sink>,
}

impl fmt::Debug for Printer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Printer")
            .field("unicode", &self.unicode)
            .field("json", &self.json)
            .field("ci", &self.ci)
            .finish_non_exhaustive()
    }
}

/// npm's default for `unicode`: the locale says UTF-8.
fn locale_is_utf8(lc_all: Option<&str>, lc_ctype: Option<&str>, lang: Option<&str>) -> bool {
    let locale = [lc_all, lc_ctype, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .unwrap_or("");
    let upper = locale.to_ascii_uppercase();
    upper.ends_with("UTF-8") || upper.ends_with("UTF8")
}

impl Printer {
    /// A printer on the process's streams, outside CI, with npm's default
    /// for `unicode` (the locale says UTF-8).
    pub fn from_locale(
        lc_all: Option<&str>,
        lc_ctype: Option<&str>,
        lang: Option<&str>,
        json: bool,
    ) -> Printer {
        Printer {
            unicode: locale_is_utf8(lc_all, lc_ctype, lang),
            json,
            ci: Arc::new(CiReport::none()),
            sink: Arc::new(StdSink),
        }
    }

    /// The printer for `env` over `sink`: the locale decides `unicode`, the
    /// CI detected in `env` gets its side channels (on the same sink).
    pub fn new(env: &crate::env::Env, json: bool, sink: Arc<dyn Sink>) -> Printer {
        Printer {
            unicode: locale_is_utf8(env.get("LC_ALL"), env.get("LC_CTYPE"), env.get("LANG")),
            json,
            ci: Arc::new(CiReport::from_env_to(env, sink.clone())),
            sink,
        }
    }

    /// `text`, cleaned, on `stream` (the only way text reaches the sink).
    fn emit(&self, stream: Stream, text: &str) {
        self.sink.line(stream, &clean(text));
    }

    /// One `notice` line per line of `text` (an empty text prints the bare prefix).
    pub fn notice(&self, text: &str) {
        self.prefixed("trustpub notice", text);
    }

    /// `trustpub <level> <code> <line>` for each line of `text` (an empty
    /// line prints the bare prefix).
    pub fn lines(&self, level: Level, code: &str, text: &str) {
        self.prefixed(&format!("trustpub {} {code}", level.as_str()), text);
    }

    /// A warning with npm's code word (`gitignore-fallback`, …).
    pub fn warn(&self, code: &str, text: &str) {
        self.emit(
            Stream::Err,
            &format!("trustpub {} {code} {text}", Level::Warn.as_str()),
        );
    }

    /// Text for standard error with no prefix (script banners).
    pub fn raw_stderr(&self, text: &str) {
        self.emit(Stream::Err, text);
    }

    /// A result line on standard output (with `--json`, the JSON document).
    pub fn out(&self, text: &str) {
        if self.json {
            self.sink.line(Stream::Out, &clean_json(text));
        } else {
            self.emit(Stream::Out, text);
        }
    }

    /// A `--json` document on standard output, pretty-printed as npm does.
    pub fn json_doc<T: serde::Serialize + ?Sized>(&self, doc: &T) {
        let text = serde_json::to_string_pretty(doc).unwrap_or_default();
        self.sink.line(Stream::Out, &clean_json(&text));
    }

    /// An error with its causes and a hint, as the binary renders them.
    pub fn error(&self, message: &str, causes: &[String], hint: Option<&str>) {
        let mut text = format!("error: {message}");
        for c in causes {
            text.push_str(&format!("\n  caused by: {c}"));
        }
        if let Some(h) = hint {
            text.push_str(&format!("\n  hint: {h}"));
        }
        self.emit(Stream::Err, &text);
    }

    /// `<prefix> <line>` on standard error for each line of `text`; an
    /// empty line prints the bare prefix.
    fn prefixed(&self, prefix: &str, text: &str) {
        let text = clean(text);
        let block: Vec<String> = text
            .split('\n')
            .map(|line| {
                if line.is_empty() {
                    prefix.to_string()
                } else {
                    format!("{prefix} {line}")
                }
            })
            .collect();
        self.sink.line(Stream::Err, &block.join("\n"));
    }

    /// An annotation in the CI (GitHub: `::error::`, `::warning::`).
    pub fn annotate(&self, level: Level, title: &str, message: &str) {
        match level {
            Level::Error => self.ci.error(title, message),
            Level::Warn => self.ci.warning(title, message),
            Level::Notice => {}
        }
    }

    /// Masks a secret in the CI's log (GitHub: `::add-mask::`), before it
    /// can appear anywhere.
    pub fn mask(&self, secret: &crate::secret::Secret<String>) {
        self.ci.mask(secret);
    }

    /// A collapsible section of the CI's log (GitLab), closed when the
    /// returned value is dropped.
    pub fn section(&self, name: &str, header: &str) -> crate::ci_report::Section<'_> {
        self.ci.section(name, header)
    }

    /// Masks a value trustpub did not wrap itself (an environment
    /// variable) in the CI's log.
    pub fn mask_value(&self, value: &str) {
        self.ci.mask_value(value);
    }

    /// A row of the CI's step summary table.
    pub fn row(&self, key: &str, value: &str) {
        self.ci.row(key, value);
    }

    /// The step summary, under `title`, appended where the CI reads it.
    pub fn write_summary(&self, title: &str) {
        self.ci.write_summary(title);
    }
}

/// `text` (cleaned) and a newline on standard error. For what has no
/// [`Printer`] at hand (the panic hook).
pub fn stderr_text(text: &str) {
    StdSink.line(Stream::Err, &clean(text));
}

/// `text` made safe to print: secrets scrubbed, control characters
/// rendered visibly, workflow commands defused (see the module doc).
pub fn clean(text: &str) -> String {
    defuse_commands(&neutralise(&crate::secret::scrub(text)), false)
}

/// [`clean`] for a serialized JSON document: the same scrubbing, and the
/// characters serde leaves raw inside strings (DEL, C1 controls, bidi
/// overrides) and `##[` become JSON `\u` escapes, so the document still
/// parses to the same values (minus the secrets).
pub fn clean_json(doc: &str) -> String {
    let scrubbed = crate::secret::scrub(doc);
    let mut out = String::with_capacity(scrubbed.len());
    for c in scrubbed.chars() {
        if is_unsafe(c) && c != '\n' && c != '\t' {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    defuse_commands(&out, true)
}

/// Characters that must not reach a terminal or a CI log raw: C0 controls
/// (the caller keeps `\n` and `\t`), DEL, C1 controls, the bidirectional
/// overrides, isolates and marks, and the Unicode line and paragraph
/// separators.
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// Control characters of `text` rendered visibly: `\r`, `\x1b`, `\x7f`,
/// `\u{9b}`, `\u{202e}`. Newlines and tabs stay.
pub fn neutralise(text: &str) -> String {
    if !text.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && is_unsafe(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// No line of `text` (split on `\n`; [`neutralise`] has already rendered
/// `\r` visibly) may start with `::` once leading whitespace is trimmed, as
/// the GitHub runner trims it before looking for a workflow command: the
/// first colon of such a line becomes `\x3a` (`\u003a` in JSON). `##[`,
/// which the runner matches anywhere in a line, becomes `#\x23[`
/// (`##\u005b` in JSON).
pub fn defuse_commands(text: &str, json: bool) -> String {
    let (colon, hashes) = if json {
        ("\\u003a", "##\\u005b")
    } else {
        ("\\x3a", "#\\x23[")
    };
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let lead = line.len() - line.trim_start().len();
        if line[lead..].starts_with("::") {
            out.push_str(&line[..lead]);
            out.push_str(colon);
            out.push_str(&line[lead + 1..]);
        } else {
            out.push_str(line);
        }
    }
    if out.contains("##[") {
        out = out.replace("##[", hashes);
    }
    out
}

/// npm's `formatBytes`: `NB`, `x.ykB`, `x.yMB`, `x.yGB` (decimal units).
pub fn format_bytes(bytes: u64, space: bool) -> String {
    let sp = if space { " " } else { "" };
    let b = bytes as f64;
    if bytes < 1000 {
        format!("{bytes}{sp}B")
    } else if bytes < 999_950 {
        format!("{}{sp}kB", to_fixed_1(b / 1000.0))
    } else if bytes < 999_950_000 {
        format!("{}{sp}MB", to_fixed_1(b / 1_000_000.0))
    } else {
        format!("{}{sp}GB", to_fixed_1(b / 1_000_000_000.0))
    }
}

/// JavaScript's `Number.prototype.toFixed(1)`: rounds the exact binary value
/// half away from zero (Rust's `{:.1}` rounds half to even).
fn to_fixed_1(x: f64) -> String {
    // Decide on the exact decimal expansion of the double, as V8 does.
    let exact = format!("{x:.30}");
    let (int, frac) = exact.split_once('.').unwrap_or((&exact, "0"));
    let mut digits: Vec<u8> = int
        .bytes()
        .chain(frac.bytes().take(1))
        .map(|b| b - b'0')
        .collect();
    let rest = &frac[1.min(frac.len())..];
    let round_up = rest.bytes().next().is_some_and(|d| d >= b'5');
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    let (a, b) = s.split_at(s.len() - 1);
    let a = a.trim_start_matches('0');
    format!("{}.{}", if a.is_empty() { "0" } else { a }, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_formatted_as_npm_does() {
        assert_eq!(format_bytes(22, false), "22B");
        assert_eq!(format_bytes(740, true), "740 B");
        assert_eq!(format_bytes(1000, true), "1.0 kB");
        assert_eq!(format_bytes(1050, false), "1.1kB");
        assert_eq!(format_bytes(1250, false), "1.3kB");
        assert_eq!(format_bytes(999_949, true), "999.9 kB");
        assert_eq!(format_bytes(999_950, true), "1.0 MB");
        assert_eq!(format_bytes(26_800_000, true), "26.8 MB");
        assert_eq!(format_bytes(1_000_000_000, true), "1.0 GB");
    }

    #[test]
    fn every_renderer_writes_cleaned_text_to_the_sink() {
        let secret = "printer-test-secret-4f9a1c";
        crate::secret::register(secret);
        let capture = Arc::new(Capture::default());
        let env = crate::env::Env::from_pairs([("GITHUB_ACTIONS", "true"), ("LANG", "C.UTF-8")]);
        let printer = Printer::new(&env, false, capture.clone());
        assert!(printer.unicode);
        printer.notice(&format!("one {secret}\n\ntwo\x1b[2J"));
        printer.lines(Level::Error, "trusted-publishing", "a\n::error::b");
        printer.warn("retry", "x\ny");
        printer.out("result\r::warning::z");
        printer.error("failed", &["cause".into()], Some("do this"));
        printer.annotate(Level::Warn, "title: t", &format!("m {secret}\nn"));
        printer.annotate(Level::Notice, "nothing", "for notices");
        assert_eq!(
            capture.stderr(),
            "trustpub notice one ***\ntrustpub notice\ntrustpub notice two\\x1b[2J\n\
             trustpub error trusted-publishing a\ntrustpub error trusted-publishing \\x3a:error::b\n\
             trustpub warn retry x\ny\n\
             error: failed\n  caused by: cause\n  hint: do this\n\
             ::warning title=title%3A t::m ***%0An\n"
        );
        assert_eq!(capture.stdout(), "result\\r::warning::z\n");
    }

    #[test]
    fn json_documents_go_to_standard_output_cleaned() {
        let capture = Arc::new(Capture::default());
        let env = crate::env::Env::from_pairs([("LANG", "C")]);
        let printer = Printer::new(&env, true, capture.clone());
        assert!(!printer.unicode);
        printer.json_doc(&serde_json::json!({"a": "::x\u{202e}"}));
        assert_eq!(capture.stdout(), "{\n  \"a\": \"::x\\u202e\"\n}\n");
        assert_eq!(capture.stderr(), "");
    }

    #[test]
    fn unicode_follows_the_locale() {
        assert!(Printer::from_locale(None, None, Some("C.UTF-8"), false).unicode);
        assert!(!Printer::from_locale(Some("C"), None, Some("en_US.UTF-8"), false).unicode);
        assert!(!Printer::from_locale(None, None, None, false).unicode);
    }

    #[test]
    fn control_characters_are_rendered_visibly() {
        assert_eq!(
            neutralise("a\x1b[31mred\rover\x07\x7f\u{9b}2J\u{202e}txt\u{2066}\ttab\nnext"),
            "a\\x1b[31mred\\rover\\x07\\x7f\\u{9b}2J\\u{202e}txt\\u{2066}\ttab\nnext"
        );
        assert_eq!(neutralise("plain ünïcode ✓"), "plain ünïcode ✓");
    }

    /// The lines the GitHub runner sees: split on `\r` and `\n`, leading
    /// whitespace trimmed.
    fn runner_lines(text: &str) -> Vec<&str> {
        text.split(['\r', '\n']).map(str::trim_start).collect()
    }

    #[test]
    fn no_cleaned_line_is_a_workflow_command() {
        let attacks = [
            "registry says:\n::error::pwned",
            "x\r::add-mask::visible",
            "  \t ::stop-commands::tok",
            "\u{a0}::warning::nbsp",
            "a ##[error]v1 anywhere",
            "::set-output name=x::y",
            "\r\n\n::error title=trustpub publish failed::forged",
        ];
        for a in attacks {
            let out = clean(a);
            for line in runner_lines(&out) {
                assert!(!line.starts_with("::"), "{a:?} gave {out:?}");
            }
            assert!(!out.contains("##["), "{a:?} gave {out:?}");
            assert!(!out.contains('\r') && !out.contains('\x1b'), "{out:?}");
        }
        assert_eq!(clean("body:\n::error::pwned"), "body:\n\\x3a:error::pwned");
        assert_eq!(clean("a::b"), "a::b");
    }

    #[test]
    fn json_documents_stay_json() {
        let v = serde_json::json!({
            "name": "p",
            "note": "\u{7f}\u{85}\u{202e}##[error]x\n::error::y\u{1b}",
        });
        let doc = serde_json::to_string_pretty(&v).unwrap();
        let out = clean_json(&doc);
        for line in runner_lines(&out) {
            assert!(!line.starts_with("::"), "{out}");
        }
        assert!(!out.contains("##[") && !out.contains('\u{85}') && !out.contains('\u{202e}'));
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
    }
}
