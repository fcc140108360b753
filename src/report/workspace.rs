//! The report of `publish --workspaces`: the readiness table (when not
//! every package is ready), the result table, the `--json` array of
//! per-package records, the step-summary table and `$GITHUB_OUTPUT`.

use serde::Serialize;

use crate::batch::{BatchReport, Row, State};
use crate::publish::Outcome;
use crate::ui::{Level, Printer};

use super::Attached;

/// One package in `publish --workspaces --json` (the document is an array
/// of these, in publish order).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordJson<'a> {
    pub name: &'a str,
    pub version: Option<&'a str>,
    /// Relative to the workspace root.
    pub directory: &'a str,
    /// `published`, `staged` (`--stage`: staged, not on the registry
    /// until approved), `dry-run`, `already-published`, `skipped-private`,
    /// `not-ready`, `held` (ready, but nothing was uploaded because another
    /// package is not ready), `failed`, `not-uploaded` (ready, but no upload
    /// started after another one failed).
    pub outcome: &'static str,
    /// Why a package is not ready (`new-package`, `no-trusted-publisher`, …).
    pub reason: Option<&'static str>,
    /// `--stage`: the registry's id for the staged version (`npm stage
    /// approve <id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_id: Option<&'a str>,
    /// On the registry after this run.
    pub on_registry: bool,
    /// `trusted-publishing`, `token`, `basic`, `client-certificate`, `none`.
    pub auth: Option<&'a str>,
    pub provenance: Attached<'a>,
    pub integrity: Option<&'a str>,
    pub new_package: bool,
    /// The trusted-publisher form to fill in, when the run knows it and
    /// the package needs one (a new package, a missing publisher).
    pub trusted_publisher: Option<serde_json::Value>,
    pub error: Option<ErrorJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct ErrorJson<'a> {
    pub code: &'a str,
    pub summary: &'a str,
    pub detail: String,
}

/// Whether the row's publisher values are worth showing.
fn needs_publisher(r: &Row) -> bool {
    r.new_package
        || matches!(
            r.state,
            State::NotReady(crate::batch::NotReady::NoTrustedPublisher)
        )
}

fn form_json(r: &Row) -> Option<serde_json::Value> {
    let values = r.publisher.as_ref().filter(|_| needs_publisher(r))?;
    let (provider, fields) = values.form();
    let mut m = serde_json::Map::new();
    m.insert("provider".into(), provider.into());
    for (k, v) in fields {
        m.insert(k.into(), v.into());
    }
    Some(serde_json::Value::Object(m))
}

impl<'a> RecordJson<'a> {
    pub fn new(r: &'a Row) -> RecordJson<'a> {
        RecordJson {
            name: &r.name,
            version: r.version.as_deref(),
            directory: &r.dir,
            outcome: r.state.code(),
            reason: match r.state {
                State::NotReady(n) => Some(n.code()),
                _ => None,
            },
            stage_id: r.state.staged().flatten(),
            on_registry: r.state.on_registry(),
            auth: r.auth,
            provenance: Attached::from(r.provenance.as_ref()),
            integrity: r.integrity.as_deref(),
            new_package: r.new_package,
            trusted_publisher: form_json(r),
            error: r.problem.as_ref().map(|p| {
                let mut detail = p.causes.clone();
                detail.extend(p.hint.clone());
                ErrorJson {
                    code: &p.code,
                    summary: &p.message,
                    detail: detail.join("\n"),
                }
            }),
        }
    }
}

fn spec(r: &Row) -> String {
    match &r.version {
        Some(v) => format!("{}@{v}", r.name),
        None => r.name.clone(),
    }
}

/// The result column, in words.
fn result_words(r: &Row) -> String {
    match &r.state {
        State::Published(Outcome::PublishedDespiteError) => {
            "published (found on the registry after an unclear answer)".into()
        }
        State::Published(Outcome::Staged { stage_id }) => match stage_id {
            Some(id) => format!("staged (id {id})"),
            None => "staged (no id in the answer)".into(),
        },
        State::Published(_) if r.problem.is_some() => {
            "published (then a publish script failed)".into()
        }
        State::Published(_) => "published".into(),
        State::DryRun => "ready (dry run: not uploaded)".into(),
        State::AlreadyPublished => "already published".into(),
        State::Private => "skipped: private".into(),
        State::NotReady(n) => format!("NOT READY: {}", n.as_str()),
        State::Held => "ready (not uploaded: another package is not ready)".into(),
        State::Failed => "UPLOAD FAILED".into(),
        State::NotUploaded => "not uploaded (stopped after a failed upload)".into(),
    }
}

fn provenance_words(r: &Row) -> String {
    match &r.provenance {
        Some(p) => match p.log_index {
            Some(i) => format!("{} (Rekor {i})", p.source),
            None => p.source.to_string(),
        },
        None => "-".into(),
    }
}

/// Columns padded to their widest cell.
fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = vec![line(header.to_vec())];
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    out
}

const HEADER: [&str; 5] = [
    "package",
    "version",
    "result",
    "authentication",
    "provenance",
];

fn cells(r: &Row) -> Vec<String> {
    vec![
        r.name.clone(),
        r.version.clone().unwrap_or_else(|| "-".into()),
        result_words(r),
        r.auth.unwrap_or("-").to_string(),
        provenance_words(r),
    ]
}

/// The whole report.
pub fn render(printer: &Printer, r: &BatchReport) {
    let rows: Vec<Vec<String>> = r.rows.iter().map(cells).collect();
    if printer.json {
        let doc: Vec<RecordJson<'_>> = r.rows.iter().map(RecordJson::new).collect();
        printer.json_doc(&doc);
    } else {
        for line in table(&HEADER, &rows) {
            printer.out(&line);
        }
    }
    problems(printer, r);
    new_packages(printer, r);
    printer.notice(&summary_line(r));
    printer
        .ci
        .table("trustpub publish --workspaces", &HEADER, &rows);
    if !r.dry_run {
        let published: Vec<serde_json::Value> = r
            .published()
            .map(|row| serde_json::json!({"name": row.name, "version": row.version}))
            .collect();
        printer.ci.output(
            "published",
            if published.is_empty() {
                "false"
            } else {
                "true"
            },
        );
        printer.ci.output(
            "published-packages",
            &serde_json::Value::Array(published).to_string(),
        );
    }
}

/// Each failure once, with its causes and fix.
fn problems(printer: &Printer, r: &BatchReport) {
    for row in &r.rows {
        let Some(p) = &row.problem else { continue };
        let mut text = format!("{}: {}", spec(row), p.message);
        for c in &p.causes {
            text.push_str(&format!("\n  caused by: {c}"));
        }
        if let Some(h) = &p.hint {
            text.push_str(&format!("\n  hint: {h}"));
        }
        printer.lines(Level::Error, "publish", &text);
        printer.annotate(
            Level::Error,
            &format!("trustpub: {}", spec(row)),
            &format!(
                "{}{}",
                p.message,
                p.hint
                    .as_ref()
                    .map(|h| format!("\nhint: {h}"))
                    .unwrap_or_default()
            ),
        );
    }
}

/// The bootstrap steps for every package not on the registry yet.
fn new_packages(printer: &Printer, r: &BatchReport) {
    let new: Vec<&Row> = r.rows.iter().filter(|row| row.new_package).collect();
    if new.is_empty() {
        return;
    }
    let mut text = format!(
        "{} package(s) not on the registry yet; a first publish cannot use trusted publishing (the trusted publisher is set in the package's settings, which exist only after its first version):",
        new.len()
    );
    for row in new {
        text.push_str(&format!("\n\n{} ({})", spec(row), row.dir));
        let ready = !matches!(row.state, State::NotReady(_));
        if ready {
            text.push_str(&format!(
                "\n  this run {} it with {}; afterwards:",
                if r.dry_run {
                    "would publish"
                } else {
                    "publishes"
                },
                row.auth_line.as_deref().unwrap_or("its credential")
            ));
        } else {
            text.push_str(&format!(
                "\n  1. publish its first version with a token: in {}, `npm publish` with your own login, or here `trustpub publish --workspace {} --trusted-publishing never` with NODE_AUTH_TOKEN set from a secret (staged publishing cannot make a first version either: `npm stage` needs the package to exist)",
                row.dir, row.name
            ));
        }
        match row.publisher.as_ref().map(|v| v.form()) {
            Some((provider, fields)) => {
                text.push_str(&format!(
                    "\n  {} on npmjs.com, {} → Settings → Trusted publisher → {provider}, enter:",
                    if ready { "1." } else { "2." },
                    row.name
                ));
                for (k, v) in fields {
                    text.push_str(&format!("\n       {k}: {v}"));
                }
            }
            None => text.push_str(&format!(
                "\n  {} configure its trusted publisher on npmjs.com ({} → Settings → Trusted publisher) with the values `trustpub doctor` shows",
                if ready { "1." } else { "2." },
                row.name
            )),
        }
        text.push_str(&format!(
            "\n  {} re-run this publish: versions already on the registry are skipped",
            if ready { "2." } else { "3." }
        ));
    }
    printer.lines(Level::Warn, "new-package", &text);
}

/// One line: what is on the registry now and what is not.
fn summary_line(r: &BatchReport) -> String {
    let count = |f: &dyn Fn(&State) -> bool| r.rows.iter().filter(|row| f(&row.state)).count();
    let names = |f: &dyn Fn(&State) -> bool| {
        r.rows
            .iter()
            .filter(|row| f(&row.state))
            .map(spec)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let staged = count(&|s| s.staged().is_some());
    let published = count(&|s| matches!(s, State::Published(_))) - staged;
    let already = count(&|s| *s == State::AlreadyPublished);
    let private = count(&|s| *s == State::Private);
    let not_ready = count(&|s| matches!(s, State::NotReady(_)));
    let failed = count(&|s| *s == State::Failed);
    let missing = |s: &State| matches!(s, State::Failed | State::NotUploaded);
    if not_ready > 0 {
        return format!(
            "{not_ready} package(s) not ready: nothing was uploaded ({} ready, {already} already published, {private} private skipped)",
            count(&|s| *s == State::Held)
        );
    }
    if r.dry_run {
        return format!(
            "dry run: {} package(s) would be published, {already} already published, {private} private skipped; nothing was uploaded",
            count(&|s| *s == State::DryRun)
        );
    }
    if failed > 0 && r.stage {
        return failed_stage_line(r);
    }
    if failed > 0 {
        return format!(
            "an upload failed. On the registry now: {}. Not on the registry: {}. Re-run to publish what is missing (versions already there are skipped).",
            {
                let on = names(&|s| s.on_registry());
                if on.is_empty() { "nothing".to_string() } else { on }
            },
            names(&missing)
        );
    }
    if staged > 0 {
        return format!(
            "staged {staged} package(s), not on the registry until approved (dependencies first: {}), {already} already published, {private} private skipped",
            approvals(r).join("; ")
        );
    }
    format!(
        "published {published} package(s), {already} already published, {private} private skipped"
    )
}

/// The registry a row went (or was going) to.
fn registry_of(row: &Row) -> &str {
    row.registry
        .as_deref()
        .unwrap_or("https://registry.npmjs.org/")
}

/// Each staged row with its approve command, each with its registry:
/// `npm stage approve` without --registry asks the default one.
fn approvals(r: &BatchReport) -> Vec<String> {
    r.rows
        .iter()
        .filter_map(|row| {
            let id = row.state.staged()?;
            let how = crate::report::approve_command(registry_of(row), id);
            Some(match id {
                Some(_) => format!("{}: `{how}`", spec(row)),
                None => format!("{}: {how}", spec(row)),
            })
        })
        .collect()
}

/// A `--stage` run in which a stage request failed: what was staged (with
/// the approve commands), what failed and what was not sent. A re-run does
/// not see staged versions (the packument does not list them) and would
/// stage them again, and a failed stage request may have been stored: so
/// `npm stage list` first, not "re-run".
fn failed_stage_line(r: &BatchReport) -> String {
    let names = |state: State| {
        r.rows
            .iter()
            .filter(|row| row.state == state)
            .map(spec)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let staged = approvals(r);
    let mut text = format!(
        "a stage request failed. Staged, not on the registry until approved: {}.",
        match staged.len() {
            0 => "nothing".to_string(),
            1 => staged.join(""),
            _ => format!("{} (approve dependencies first)", staged.join("; ")),
        }
    );
    text.push_str(&format!(
        " Failed: {} (see the error above).",
        names(State::Failed)
    ));
    let not_sent = names(State::NotUploaded);
    if !not_sent.is_empty() {
        text.push_str(&format!(" Not sent: {not_sent}."));
    }
    let lists: Vec<String> = r
        .rows
        .iter()
        .filter(|row| row.state == State::Failed)
        .map(|row| {
            let registry = registry_of(row);
            format!(
                "`npm stage list {}{}`",
                row.name,
                if crate::trust::is_npmjs(registry) {
                    String::new()
                } else {
                    format!(" --registry {registry}")
                }
            )
        })
        .collect();
    text.push_str(&format!(
        " Before re-running, check {} (the failed request may have been stored) and approve or reject what is staged: a re-run stages again every version not on the registry, staged ones included.",
        lists.join(", ")
    ));
    text
}
