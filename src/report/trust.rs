//! The report of `trustpub trust list|diff|sync`: one block per package
//! (what the registry holds, what is wanted and from where, the change, its
//! result), a summary line, and the `--json` document.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::trust_config::sync::{Applied, Current, Item, Mode, Plan, TrustReport};
use crate::trust_config::wanted::Want;
use crate::trust_config::{Existing, Publisher, Wanted};
use crate::ui::Printer;

/// A configuration as `npm trust list --json` prints it (npm's
/// `bodyToOptions` values, then `permissions`).
fn config_json(
    id: Option<&str>,
    kind: &str,
    publisher: Option<&Publisher>,
    permissions: Option<Vec<&str>>,
) -> Value {
    let mut m = Map::new();
    if let Some(id) = id {
        m.insert("id".into(), Value::from(id));
    }
    m.insert("type".into(), Value::from(kind));
    if let Some(p) = publisher {
        for (k, v) in p.fields() {
            m.insert(k.into(), Value::from(v));
        }
        // npm prints the contexts as the array the registry holds (the
        // human line joins them); same place in the object.
        if let Publisher::CircleCi { context_ids, .. } = p {
            if !context_ids.is_empty() {
                m.insert("contextIds".into(), Value::from(context_ids.clone()));
            }
        }
    }
    if let Some(p) = permissions {
        m.insert("permissions".into(), Value::from(p));
    }
    Value::Object(m)
}

fn existing_json(e: &Existing) -> Value {
    let permissions = e.permissions.map(|p| {
        let mut v = p.names();
        v.extend(e.other_permissions.iter().map(String::as_str));
        v
    });
    config_json(Some(&e.id), &e.kind, e.publisher.as_ref(), permissions)
}

fn wanted_json(w: &Wanted) -> Value {
    config_json(
        None,
        w.publisher.kind(),
        Some(&w.publisher),
        Some(w.permissions.names()),
    )
}

/// One package in the `--json` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustItemJson<'a> {
    pub name: &'a str,
    pub directory: &'a str,
    pub registry: &'a str,
    /// The configurations the registry holds; `null` when not read (not on
    /// the registry, unreadable).
    pub current: Option<Vec<Value>>,
    /// The configuration wanted, in `current`'s shape; `null` for `list`,
    /// `--provider none` and a package that cannot be configured.
    pub wanted: Option<Value>,
    /// Where `wanted` was read (the CI job, or the command line).
    pub from: Option<&'a str>,
    /// `create`, `replace`, `revoke`, `unchanged`, `cannot` (`list`: `null`).
    pub action: Option<&'static str>,
    /// A replace's changes, field by field.
    pub changes: Vec<String>,
    /// `done`, `partly`, `unknown`, `failed`, `left`, or `not-applied` (a
    /// dry run, `diff`, nothing to do); `list`: `null`.
    pub result: Option<&'static str>,
    /// `partly` and `unknown`: the requests that went through.
    pub done: Vec<String>,
    pub error: Option<String>,
    pub hint: Option<String>,
}

/// The `--json` document of every `trust` subcommand.
#[derive(Debug, Serialize)]
pub struct TrustDoc<'a> {
    pub packages: Vec<TrustItemJson<'a>>,
    /// Why the run stopped before the end, when it did.
    pub stopped: Option<&'a str>,
}

fn current_lines(c: &Current) -> Option<Vec<Value>> {
    match c {
        Current::Configs(v) => Some(v.iter().map(existing_json).collect()),
        _ => None,
    }
}

fn item_json(i: &Item, mode: Mode) -> TrustItemJson<'_> {
    let list = mode == Mode::List;
    let (error, hint) = match (&i.plan, &i.applied, &i.current) {
        (
            _,
            Applied::Failed { error, hint }
            | Applied::Partly { error, hint, .. }
            | Applied::Unknown { error, hint, .. },
            _,
        ) => (Some(error.clone()), hint.clone()),
        (_, _, Current::Unreadable { error, hint }) => (Some(error.clone()), hint.clone()),
        (Plan::Cannot { reason, fix, .. }, _, _) if !list => {
            (Some(reason.clone()), Some(fix.clone()))
        }
        (_, _, Current::NotOnRegistry) => {
            (Some(format!("{} is not on the registry", i.name)), None)
        }
        _ => (None, None),
    };
    let (wanted, from) = match &i.want {
        Want::Config { wanted, from } if !list => (
            Some(wanted_json(planned(i).unwrap_or(wanted))),
            Some(from.as_str()),
        ),
        _ => (None, None),
    };
    TrustItemJson {
        name: &i.name,
        directory: &i.dir,
        registry: &i.registry,
        current: current_lines(&i.current),
        wanted,
        from,
        action: (!list).then(|| i.plan.word()),
        changes: match &i.plan {
            Plan::Replace { changes, .. } if !list => changes.clone(),
            _ => Vec::new(),
        },
        result: (!list).then(|| applied_word(&i.applied)),
        done: match &i.applied {
            Applied::Partly { done, .. } | Applied::Unknown { done, .. } => done.clone(),
            _ => Vec::new(),
        },
        error,
        hint,
    }
}

fn applied_word(a: &Applied) -> &'static str {
    match a {
        Applied::NotApplied => "not-applied",
        Applied::Done => "done",
        Applied::Partly { .. } => "partly",
        Applied::Failed { .. } => "failed",
        Applied::Unknown { .. } => "unknown",
        Applied::Left => "left",
    }
}

/// The configuration the plan creates (a replace may keep the registry's
/// spelling of the repository), when it creates one.
fn planned(i: &Item) -> Option<&Wanted> {
    match &i.plan {
        Plan::Create(w) | Plan::Replace { wanted: w, .. } => Some(w),
        _ => None,
    }
}

/// `name` or `name (dir)`.
fn label(i: &Item) -> String {
    if i.dir == "." || i.dir.is_empty() {
        i.name.clone()
    } else {
        format!("{} ({})", i.name, i.dir)
    }
}

/// The lines of one package: its heading and what it holds, wants, changes.
fn item_lines(i: &Item, mode: Mode) -> Vec<String> {
    let mut out = Vec::new();
    if mode == Mode::List {
        match &i.current {
            Current::Configs(v) if v.is_empty() => {
                out.push(format!("{}: no trusted publisher", label(i)))
            }
            Current::Configs(v) => {
                out.push(format!("{}:", label(i)));
                for e in v {
                    out.push(format!("    {e} (id {})", e.id));
                    if !e.other_claims.is_empty() {
                        out.push(format!(
                            "    also holds claims npm does not show: {}",
                            e.other_claims.join(", ")
                        ));
                    }
                }
            }
            Current::NotOnRegistry => out.push(format!("{}: not on the registry", label(i))),
            Current::Unreadable { error, hint } => {
                out.push(format!("{}: cannot read: {error}", label(i)));
                if let Some(h) = hint {
                    out.push(format!("    {h}"));
                }
            }
            Current::NotRead => out.push(format!(
                "{}: not read (the run stopped before it)",
                label(i)
            )),
        }
        return out;
    }
    let word = match (&i.plan, &i.applied) {
        (Plan::Unchanged, _) => "unchanged".to_string(),
        (Plan::Cannot { .. }, _) => "cannot".to_string(),
        (p, Applied::NotApplied) => format!("{} (not applied)", p.word()),
        (Plan::Create(_), Applied::Done) => "created".into(),
        (Plan::Replace { .. }, Applied::Done) => "replaced".into(),
        (Plan::Revoke(_), Applied::Done) => "revoked".into(),
        (p, Applied::Partly { .. }) => format!("{}: only partly done", p.word()),
        (p, Applied::Failed { .. }) => format!("{}: FAILED", p.word()),
        (p, Applied::Left) => format!("{}: left (not reached)", p.word()),
        (p, Applied::Unknown { .. }) => format!("{}: outcome unknown", p.word()),
    };
    let now = match &i.current {
        Current::Configs(v) if v.is_empty() => Some("no trusted publisher".to_string()),
        Current::Configs(v) => Some(
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    };
    if matches!(i.plan, Plan::Unchanged) {
        out.push(format!(
            "{}: unchanged ({})",
            label(i),
            now.unwrap_or_default()
        ));
        return out;
    }
    out.push(format!("{}: {word}", label(i)));
    if let Some(now) = now {
        let applied = !matches!(i.applied, Applied::NotApplied | Applied::Left);
        out.push(format!(
            "    {}    {now}",
            if applied { "was:" } else { "now:" }
        ));
    }
    if let Want::Config { wanted, from } = &i.want {
        if !matches!(i.plan, Plan::Cannot { .. }) || matches!(i.current, Current::NotOnRegistry) {
            let wanted = planned(i).unwrap_or(wanted);
            out.push(format!("    wanted: {wanted}"));
            out.push(format!("    from:   {from}"));
        }
    }
    if let Want::Nothing = i.want {
        if matches!(i.plan, Plan::Revoke(_)) {
            out.push("    wanted: no trusted publisher (--provider none)".into());
        }
    }
    if let Plan::Replace { changes, .. } = &i.plan {
        for c in changes {
            out.push(format!("    change: {c}"));
        }
    }
    if let Plan::Cannot { reason, fix, .. } = &i.plan {
        out.push(format!("    why:    {reason}"));
        out.push(format!("    do:     {fix}"));
    }
    match &i.applied {
        Applied::Failed { error, hint } => {
            out.push(format!("    error:  {error}"));
            if let Some(h) = hint {
                out.push(format!("    do:     {h}"));
            }
        }
        Applied::Partly { done, error, hint } | Applied::Unknown { done, error, hint } => {
            for d in done {
                out.push(format!("    done:   {d}"));
            }
            out.push(format!("    error:  {error}"));
            if let Some(h) = hint {
                out.push(format!("    do:     {h}"));
            }
        }
        _ => {}
    }
    out
}

/// The counts line.
fn summary(r: &TrustReport, mode: Mode) -> String {
    let count = |f: &dyn Fn(&Item) -> bool| r.items.iter().filter(|i| f(i)).count();
    let name = match mode {
        Mode::List => "trust list",
        Mode::Diff => "trust diff",
        Mode::DryRun => "trust sync --dry-run",
        Mode::Apply { .. } => "trust sync",
    };
    if mode == Mode::List {
        let with = count(&|i| matches!(&i.current, Current::Configs(v) if !v.is_empty()));
        return format!(
            "{name}: {} package(s), {with} with a trusted publisher",
            r.items.len()
        );
    }
    let mut parts = Vec::new();
    let applied = r.applied;
    for (word, done_word, f) in [
        (
            "to create",
            "created",
            &(|i: &Item| matches!(i.plan, Plan::Create(_))) as &dyn Fn(&Item) -> bool,
        ),
        ("to replace", "replaced", &|i: &Item| {
            matches!(i.plan, Plan::Replace { .. })
        }),
        ("to revoke", "revoked", &|i: &Item| {
            matches!(i.plan, Plan::Revoke(_))
        }),
    ] {
        let n = count(&|i| f(i) && (!applied || i.applied == Applied::Done));
        if n > 0 {
            parts.push(format!("{n} {}", if applied { done_word } else { word }));
        }
    }
    let unchanged = count(&|i| matches!(i.plan, Plan::Unchanged));
    if unchanged > 0 {
        parts.push(format!("{unchanged} unchanged"));
    }
    if applied {
        let failed = count(&|i| matches!(i.applied, Applied::Failed { .. }));
        if failed > 0 {
            parts.push(format!("{failed} failed"));
        }
        // Half a replace is not a failure that left things as they were:
        // the package may have no trusted publisher now.
        let partly = count(&|i| matches!(i.applied, Applied::Partly { .. }));
        if partly > 0 {
            parts.push(format!("{partly} only partly done"));
        }
        let unknown = count(&|i| matches!(i.applied, Applied::Unknown { .. }));
        if unknown > 0 {
            parts.push(format!("{unknown} with an unknown outcome"));
        }
        let left = count(&|i| i.applied == Applied::Left);
        if left > 0 {
            parts.push(format!("{left} left"));
        }
    }
    let unread = |i: &Item| {
        matches!(i.current, Current::Unreadable { .. } | Current::NotRead)
            && matches!(i.plan, Plan::Cannot { config: false, .. })
    };
    let not_read = count(&unread);
    if not_read > 0 {
        parts.push(format!("{not_read} not read"));
    }
    let cannot = count(&|i| matches!(i.plan, Plan::Cannot { .. }) && !unread(i));
    if cannot > 0 {
        parts.push(format!("{cannot} cannot be configured"));
    }
    format!("{name}: {}", parts.join(", "))
}

/// The plan, on standard error, before asking for the go-ahead.
pub fn trust_plan(printer: &Printer, r: &TrustReport) {
    for i in r.items.iter().filter(|i| i.plan.changes()) {
        for l in item_lines(i, Mode::DryRun) {
            printer.raw_stderr(&l);
        }
    }
}

/// The result of a `trust` subcommand.
pub fn trust_result(printer: &Printer, r: &TrustReport, mode: Mode) {
    if printer.json {
        printer.json_doc(&TrustDoc {
            packages: r.items.iter().map(|i| item_json(i, mode)).collect(),
            stopped: r.stopped.as_deref(),
        });
        return;
    }
    for i in &r.items {
        for l in item_lines(i, mode) {
            printer.out(&l);
        }
    }
    printer.out("");
    printer.out(&summary(r, mode));
    if let Some(why) = &r.stopped {
        printer.out(&format!("stopped: {why}"));
    }
}
