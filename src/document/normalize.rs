//! The manifest normalisation npm applies before publishing:
//! `@npmcli/package-json` 7.0.5 (`NM/@npmcli/package-json/lib/normalize.js`
//! and `normalize-data.js`).
//!
//! For a directory, `lib/commands/publish.js` runs `PackageJson.fix()` (the
//! "fix" steps) and then `.prepare()` on the same object; for a tarball,
//! pacote runs `.prepare()` alone. Each pass runs its asynchronous steps
//! first and its synchronous steps second, in the order of the code (not of
//! the step list). Key order matters: assigning an existing key keeps its
//! place, a new key goes to the end, and `delete` + assign moves it to the
//! end — the map below mirrors that (`insert` keeps, `shift_remove` deletes).

use serde_json::{Map, Value};

use super::hosted::{self, from_url};
use super::source::{glob_star_star, PackageSource};
use super::DocumentError;
use crate::js::{
    is_js_space, js_keys, js_len, js_trim, path_basename, path_dirname, path_extname, path_join,
    to_js_string, truthy, truthy_opt,
};
use crate::semver;

/// The value npm writes when a package has no README.
pub const NO_README: &str = "ERROR: No README data found!";

/// The steps a pass runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// `PackageJson.fixSteps`.
    Fix,
    /// `PackageJson.prepareSteps`.
    Prepare,
}

/// npm's prepare-step normalisation (what goes in `versions[v]` before
/// libnpmpublish adds `_id`, `dist` and its own fields).
pub(crate) fn normalize(
    raw: &Map<String, Value>,
    src: &dyn PackageSource,
) -> Result<Map<String, Value>, DocumentError> {
    let mut data = raw.clone();
    if src.runs_pkg_fix() {
        async_steps(&mut data, src, Pass::Fix)?;
        sync_steps(&mut data, Pass::Fix)?;
    }
    async_steps(&mut data, src, Pass::Prepare)?;
    sync_steps(&mut data, Pass::Prepare)?;
    Ok(data)
}

fn remove(data: &mut Map<String, Value>, key: &str) {
    data.shift_remove(key);
}

fn field_error(field: &str, problem: &str) -> DocumentError {
    DocumentError::Field {
        field: field.to_string(),
        problem: problem.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Async steps (normalize.js `asyncSteps`).

fn async_steps(
    data: &mut Map<String, Value>,
    src: &dyn PackageSource,
    pass: Pass,
) -> Result<(), DocumentError> {
    if pass == Pass::Prepare {
        gypfile(data, src);
        serverjs(data, src);
        authors(data, src);
        readme(data, src)?;
        mans(data, src)?;
    }
    // binDir (prepare) or bin normalisation (fix's binRefs, prepare's fallback)
    let bin_dir = data
        .get("directories")
        .and_then(|d| d.as_object())
        .and_then(|d| d.get("bin"))
        .filter(|b| truthy(b))
        .cloned();
    match bin_dir {
        Some(dir) if pass == Pass::Prepare && !truthy_opt(data.get("bin")) => {
            let Value::String(dir) = dir else {
                return Err(field_error("directories.bin", "must be a string"));
            };
            let bin_path = secure_and_unixify(&dir);
            let mut bins = Map::new();
            for file in glob_star_star(src, &bin_path) {
                if file.is_empty() || file.starts_with('.') {
                    continue;
                }
                let name = path_basename(&file).to_string();
                bins.insert(
                    name,
                    Value::String(format!("{bin_path}/{}", secure_and_unixify(&file))),
                );
            }
            data.insert("bin".into(), Value::Object(bins));
        }
        _ => normalize_bin(data)?,
    }
    if pass == Pass::Prepare {
        if !truthy_opt(data.get("gitHead")) {
            if let Some(head) = src.git_head() {
                data.insert("gitHead".into(), Value::String(head));
            }
        }
        fill_types(data, src)?;
    }
    Ok(())
}

/// The object `scripts` refers to in `asyncSteps` (`data.scripts || {}`).
/// Non-object truthy values cannot take new properties, so the steps that
/// would add a script leave them alone.
fn scripts_has(data: &Map<String, Value>, key: &str) -> bool {
    match data.get("scripts") {
        Some(Value::Object(s)) => truthy_opt(s.get(key)),
        _ => false,
    }
}

fn set_script(data: &mut Map<String, Value>, key: &str, value: &str) {
    match data.get_mut("scripts") {
        Some(Value::Object(s)) => {
            s.insert(key.into(), Value::String(value.into()));
        }
        Some(v) if truthy(v) => {
            // `scripts.install = …` on a primitive or array: not serialised.
        }
        _ => {
            let mut s = Map::new();
            s.insert(key.into(), Value::String(value.into()));
            data.insert("scripts".into(), Value::Object(s));
        }
    }
}

/// `gypfile`: a `*.gyp` in the root means `node-gyp rebuild` at install.
fn gypfile(data: &mut Map<String, Value>, src: &dyn PackageSource) {
    if scripts_has(data, "install")
        || scripts_has(data, "preinstall")
        || data.get("gypfile") == Some(&Value::Bool(false))
    {
        return;
    }
    let found = src.root_entries().iter().any(|e| {
        let e = e.trim_end_matches('/');
        !e.starts_with('.') && e.ends_with(".gyp")
    });
    if found {
        set_script(data, "install", "node-gyp rebuild");
        data.insert("gypfile".into(), Value::Bool(true));
    }
}

/// `serverjs`: a `server.js` means `scripts.start = "node server.js"`.
fn serverjs(data: &mut Map<String, Value>, src: &dyn PackageSource) {
    if !scripts_has(data, "start") && src.exists("server.js") {
        set_script(data, "start", "node server.js");
    }
}

/// `authors`: an `AUTHORS` file fills `contributors` when it is absent.
fn authors(data: &mut Map<String, Value>, src: &dyn PackageSource) {
    if truthy_opt(data.get("contributors")) {
        return;
    }
    let Some(bytes) = src.read("AUTHORS") else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    // authorData.split(/\r?\n/g)
    let pieces: Vec<&str> = text.split('\n').collect();
    let last = pieces.len() - 1;
    let authors: Vec<Value> = pieces
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i < last {
                l.strip_suffix('\r').unwrap_or(l)
            } else {
                l
            }
        })
        .map(|l| {
            // line.replace(/^\s*#.*$/, '').trim(): `.` stops at \r, U+2028/9
            let t = l.trim_start_matches(is_js_space);
            if t.starts_with('#') && !t.contains(['\r', '\u{2028}', '\u{2029}']) {
                ""
            } else {
                js_trim(l)
            }
        })
        .filter(|l| !l.is_empty())
        .map(|l| Value::String(l.to_string()))
        .collect();
    data.insert("contributors".into(), Value::Array(authors));
}

/// The README `readme` picks: glob `{README,README.*}` (case-insensitive,
/// files only) in the package root. glob 13 yields the names in reverse byte
/// order; the first that matches `/\.m?a?r?k?d?o?w?n?$/i` wins, else the
/// last one whose name ends in `README` (case-sensitive), else none.
pub(crate) fn pick_readme(root_entries: &[String]) -> Option<String> {
    let mut names: Vec<&str> = root_entries
        .iter()
        .filter(|e| !e.ends_with('/'))
        .map(String::as_str)
        .filter(|n| {
            let l = n.to_ascii_lowercase();
            l == "readme" || l.starts_with("readme.")
        })
        .collect();
    names.sort();
    names.reverse();
    let mut picked = None;
    for n in names {
        if is_markdown_name(n) {
            return Some(n.to_string());
        }
        if n.ends_with("README") {
            picked = Some(n.to_string());
        }
    }
    picked
}

/// `/\.m?a?r?k?d?o?w?n?$/i`.
fn is_markdown_name(name: &str) -> bool {
    let Some(dot) = name.rfind('.') else {
        return false;
    };
    let mut want = "markdown".chars();
    for c in name[dot + 1..].chars() {
        let c = c.to_ascii_lowercase();
        loop {
            match want.next() {
                Some(w) if w == c => break,
                Some(_) => continue,
                None => return false,
            }
        }
    }
    true
}

fn readme(data: &mut Map<String, Value>, src: &dyn PackageSource) -> Result<(), DocumentError> {
    if truthy_opt(data.get("readme")) {
        return Ok(());
    }
    if let Some(file) = pick_readme(&src.root_entries()) {
        if src
            .size(&file)
            .is_some_and(|n| n > crate::limits::README_MAX)
        {
            return Err(DocumentError::TooLarge {
                file,
                limit: crate::limits::README_MAX,
            });
        }
        let bytes = src
            .read(&file)
            .ok_or_else(|| DocumentError::Unreadable { file: file.clone() })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        data.insert("readme".into(), Value::String(text));
        data.insert("readmeFilename".into(), Value::String(file));
    }
    if !truthy_opt(data.get("readme")) {
        data.insert("readme".into(), Value::String(NO_README.into()));
    }
    Ok(())
}

/// `mans`: expand `directories.man` (`**/*.[0-9]`), then normalise `man`.
fn mans(data: &mut Map<String, Value>, src: &dyn PackageSource) -> Result<(), DocumentError> {
    let man_dir = data
        .get("directories")
        .and_then(Value::as_object)
        .and_then(|d| d.get("man"))
        .filter(|m| truthy(m))
        .cloned();
    if let Some(dir) = man_dir {
        if !truthy_opt(data.get("man")) {
            let Value::String(dir) = dir else {
                return Err(field_error("directories.man", "must be a string"));
            };
            let man_dir = secure_and_unixify(&dir);
            let files: Vec<Value> = glob_star_star(src, &man_dir)
                .into_iter()
                .filter(|f| is_man_page(path_basename(f)))
                .map(|f| Value::String(path_join(&[&man_dir, &f])))
                .collect();
            data.insert("man".into(), Value::Array(files));
        }
    }
    // normalizePackageMan
    if truthy_opt(data.get("man")) {
        let items = match &data["man"] {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let mans: Vec<Value> = items
            .iter()
            .filter_map(Value::as_str)
            .map(|m| Value::String(secure_and_unixify(m)))
            .collect();
        if !mans.is_empty() {
            data.insert("man".into(), Value::Array(mans));
            return Ok(());
        }
    }
    remove(data, "man");
    Ok(())
}

/// minimatch `*.[0-9]` on a base name (no leading dot).
fn is_man_page(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && !name.starts_with('.')
        && b[b.len() - 2] == b'.'
        && b[b.len() - 1].is_ascii_digit()
}

/// `secureAndUnixifyPath`: a relative path that cannot climb out, with `\`
/// and `:` turned into `/`; "" if nothing is left.
pub(crate) fn secure_and_unixify(r: &str) -> String {
    let unix = |s: &str| s.replace(['\\', ':'], "/");
    let secured = unix(&path_join(&[".", &path_join(&["/", &unix(r)])]));
    if secured.starts_with("./") {
        String::new()
    } else {
        secured
    }
}

/// `normalizePackageBin` (was npm-normalize-package-bin).
fn normalize_bin(data: &mut Map<String, Value>) -> Result<(), DocumentError> {
    if !truthy_opt(data.get("bin")) {
        remove(data, "bin");
        return Ok(());
    }
    let name = data.get("name").cloned();
    match data.get("bin").cloned() {
        Some(Value::String(s)) if name.as_ref().is_some_and(truthy) => {
            let mut m = Map::new();
            m.insert(
                to_js_string(name.as_ref().unwrap_or(&Value::Null)),
                Value::String(s),
            );
            data.insert("bin".into(), Value::Object(m));
        }
        Some(Value::Array(items)) => {
            let mut m = Map::new();
            for k in items {
                let Value::String(k) = k else {
                    return Err(field_error("bin", "must list paths as strings"));
                };
                m.insert(path_basename(&k).to_string(), Value::String(k));
            }
            data.insert("bin".into(), Value::Object(m));
        }
        _ => {}
    }
    let Some(Value::Object(bin)) = data.get_mut("bin") else {
        // A truthy non-object that could not be converted (a number, or a
        // string without a name) falls through to `delete pkg.bin`.
        remove(data, "bin");
        return Ok(());
    };
    for key in js_keys(bin) {
        let Some(target) = bin.get(&key) else {
            continue; // deleted earlier in this loop
        };
        let Value::String(target) = target else {
            bin.shift_remove(&key);
            continue;
        };
        let base = path_basename(&secure_and_unixify(&key)).to_string();
        if base.is_empty() {
            bin.shift_remove(&key);
            continue;
        }
        let clean = secure_and_unixify(target);
        if clean.is_empty() {
            bin.shift_remove(&key);
            continue;
        }
        if base != key {
            bin.shift_remove(&key);
        }
        bin.insert(base, Value::String(clean));
    }
    if bin.is_empty() {
        remove(data, "bin");
    }
    Ok(())
}

/// `fillTypes`: `types` from `<main without extension>.d.ts` if it exists.
fn fill_types(data: &mut Map<String, Value>, src: &dyn PackageSource) -> Result<(), DocumentError> {
    let index = match data.get("main") {
        Some(v) if truthy(v) => match v {
            Value::String(s) => s.clone(),
            _ => return Err(field_error("main", "must be a string")),
        },
        _ => "index.js".to_string(),
    };
    let ext = path_extname(&index);
    let base = path_basename(&index);
    let base = if !ext.is_empty() && base.len() > ext.len() && base.ends_with(ext) {
        &base[..base.len() - ext.len()]
    } else {
        base
    };
    let extless = path_join(&[&path_dirname(&index), base]);
    let dts = format!("./{extless}.d.ts");
    if data.contains_key("types") || data.contains_key("typings") {
        return Ok(());
    }
    if src.exists(&dts) {
        data.insert("types".into(), Value::String(dts));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Sync steps (normalize.js `syncSteps`).

fn sync_steps(data: &mut Map<String, Value>, pass: Pass) -> Result<(), DocumentError> {
    // `${data.name ?? ''}@${data.version ?? ''}`, taken before cleaning.
    let part = |k: &str| match data.get(k) {
        None | Some(Value::Null) => String::new(),
        Some(v) => to_js_string(v),
    };
    let pkg_id = format!("{}@{}", part("name"), part("version"));
    // name and version (fixName / fixVersionField / normalizeData)
    fix_name(data)?;
    fix_version(data)?;
    if pass == Pass::Prepare {
        // _attributes
        let underscored: Vec<String> = data
            .keys()
            .filter(|k| k.starts_with('_'))
            .cloned()
            .collect();
        for k in underscored {
            remove(data, &k);
        }
        // _id
        if truthy_opt(data.get("name")) && truthy_opt(data.get("version")) {
            data.insert("_id".into(), Value::String(pkg_id));
        }
        // bundledDependencies
        if !data.contains_key("bundleDependencies") {
            if let Some(bd) = data.get("bundledDependencies").cloned() {
                data.insert("bundleDependencies".into(), bd);
            }
        }
        remove(data, "bundledDependencies");
    }
    bundle_dependencies(data, pass == Pass::Prepare);
    scripts(data);
    fix_repository(data);
    fix_dependencies(data);
    if pass == Pass::Prepare {
        normalize_data(data)?;
    }
    Ok(())
}

/// The name check shared by `fixName` and `normalizeData` (non-strict).
pub(crate) fn fix_name(data: &mut Map<String, Value>) -> Result<(), DocumentError> {
    if !truthy_opt(data.get("name")) {
        data.insert("name".into(), Value::String(String::new()));
        return Ok(());
    }
    let Some(Value::String(name)) = data.get("name") else {
        return Err(field_error("name", "must be a string"));
    };
    let trimmed = js_trim(name).to_string();
    let lower = trimmed.to_lowercase();
    let invalid = trimmed.starts_with('.')
        || !(is_valid_scoped_name(&trimmed) || is_correctly_encoded_name(&trimmed))
        || lower == "node_modules"
        || lower == "favicon.ico";
    if invalid {
        return Err(DocumentError::InvalidName { name: trimmed });
    }
    data.insert("name".into(), Value::String(trimmed));
    Ok(())
}

fn is_uri_component(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b))
}

fn is_correctly_encoded_name(s: &str) -> bool {
    !s.contains(|c: char| matches!(c, '/' | '@' | '+' | '%' | ':') || is_js_space(c))
        && is_uri_component(s)
}

fn is_valid_scoped_name(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('@') else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    parts.len() == 2
        && !parts[0].is_empty()
        && !parts[1].is_empty()
        && is_uri_component(parts[0])
        && is_uri_component(parts[1])
}

/// `fixVersionField` / `normalizeData`: loose semver, cleaned.
fn fix_version(data: &mut Map<String, Value>) -> Result<(), DocumentError> {
    if !truthy_opt(data.get("version")) {
        data.insert("version".into(), Value::String(String::new()));
        return Ok(());
    }
    let v = to_js_string(&data["version"]);
    if semver::valid(&v, true).is_none() {
        return Err(DocumentError::InvalidVersion { version: v });
    }
    if let Some(clean) = semver::clean(&v, true) {
        data.insert("version".into(), Value::String(clean));
    }
    Ok(())
}

/// The `bundleDependencies` step (`delete_false`: `bundleDependenciesDeleteFalse`).
fn bundle_dependencies(data: &mut Map<String, Value>, delete_false: bool) {
    match data.get("bundleDependencies").cloned() {
        Some(Value::Bool(false)) if !delete_false => {
            data.insert("bundleDependencies".into(), Value::Array(Vec::new()));
        }
        Some(Value::Bool(true)) => {
            let names = match data.get("dependencies") {
                Some(Value::Object(d)) => js_keys(d).into_iter().map(Value::String).collect(),
                Some(Value::String(s)) if !s.is_empty() => (0..js_len(s))
                    .map(|i| Value::String(i.to_string()))
                    .collect(),
                Some(Value::Array(a)) => {
                    (0..a.len()).map(|i| Value::String(i.to_string())).collect()
                }
                _ => Vec::new(),
            };
            data.insert("bundleDependencies".into(), Value::Array(names));
        }
        Some(Value::Object(o)) => {
            let names = js_keys(&o).into_iter().map(Value::String).collect();
            data.insert("bundleDependencies".into(), Value::Array(names));
        }
        Some(Value::Array(_)) => {}
        Some(_) => remove(data, "bundleDependencies"),
        None => {}
    }
}

/// `scripts` / `scriptpath`: drop non-string scripts, strip a leading
/// `node_modules/.bin/`.
fn scripts(data: &mut Map<String, Value>) {
    match data.get_mut("scripts") {
        None => {}
        Some(Value::Null) => {} // typeof null === 'object': nothing to iterate
        Some(Value::Object(s)) => {
            for k in js_keys(s) {
                match s.get(&k) {
                    Some(Value::String(cmd)) => {
                        if let Some(stripped) = strip_bin_prefix(cmd) {
                            s.insert(k, Value::String(stripped));
                        }
                    }
                    _ => {
                        s.shift_remove(&k);
                    }
                }
            }
        }
        Some(Value::Array(items)) => {
            for item in items.iter_mut() {
                match item {
                    Value::String(cmd) => {
                        if let Some(stripped) = strip_bin_prefix(cmd) {
                            *cmd = stripped;
                        }
                    }
                    // `delete arr[i]` leaves a hole, which serialises as null.
                    other => *other = Value::Null,
                }
            }
        }
        Some(_) => remove(data, "scripts"),
    }
}

/// `/^(\.[/\\])?node_modules[/\\].bin[\\/]/` (note the unescaped `.`).
fn strip_bin_prefix(cmd: &str) -> Option<String> {
    let b = cmd.as_bytes();
    let sep = |c: u8| c == b'/' || c == b'\\';
    let mut i = 0;
    if b.len() >= 2 && b[0] == b'.' && sep(b[1]) {
        i = 2;
    }
    let rest = &cmd[i..];
    let rb = rest.as_bytes();
    if rest.starts_with("node_modules") && rb.len() >= 17 && sep(rb[12]) {
        // `.` matches any character except line terminators.
        let dot_len = rest[13..].chars().next()?;
        if matches!(dot_len, '\n' | '\r' | '\u{2028}' | '\u{2029}') {
            return None;
        }
        let after = &rest[13 + dot_len.len_utf8()..];
        if after.starts_with("bin") && after.len() > 3 && sep(after.as_bytes()[3]) {
            return Some(after[4..].to_string());
        }
    }
    None
}

/// `fixRepositoryField`: `repositories[0]` promotion, string → object, and
/// hosted URLs rewritten.
///
/// `data.repository = data.repositories[0]` makes both names refer to the
/// same JavaScript object, so rewriting `repository.url` rewrites
/// `repositories[0].url` too; the copy below keeps that aliasing visible.
fn fix_repository(data: &mut Map<String, Value>) {
    let mut promoted = false;
    if truthy_opt(data.get("repositories")) {
        let first = match &data["repositories"] {
            Value::Array(a) => a.first().cloned(),
            Value::Object(o) => o.get("0").cloned(),
            Value::String(s) => s.chars().next().map(|c| Value::String(c.to_string())),
            _ => None,
        };
        match first {
            Some(v) => {
                promoted = v.is_object();
                data.insert("repository".into(), v);
            }
            None => remove(data, "repository"),
        }
    }
    if !truthy_opt(data.get("repository")) {
        return;
    }
    if let Some(Value::String(url)) = data.get("repository") {
        let mut m = Map::new();
        m.insert("type".into(), Value::String("git".into()));
        m.insert("url".into(), Value::String(url.clone()));
        data.insert("repository".into(), Value::Object(m));
    }
    let Some(Value::Object(repo)) = data.get_mut("repository") else {
        return;
    };
    let Some(Value::String(url)) = repo.get("url") else {
        return;
    };
    let Some(h) = from_url(url) else {
        return;
    };
    let r = if h.default == "shortcut" {
        Some(h.https())
    } else {
        h.to_js_string()
    };
    let r = r.map(Value::String).unwrap_or(Value::Null);
    if r.as_str() == Some(url.as_str()) {
        return;
    }
    repo.insert("url".into(), r);
    if promoted {
        let shared = Value::Object(repo.clone());
        match data.get_mut("repositories") {
            Some(Value::Array(a)) => a[0] = shared,
            Some(Value::Object(o)) => {
                o.insert("0".into(), shared);
            }
            _ => {}
        }
    }
}

/// `fixDependencies`: strings and arrays become objects; non-string specs
/// are dropped; hosted git specs are rewritten.
fn fix_dependencies(data: &mut Map<String, Value>) {
    for kind in ["dependencies", "devDependencies", "optionalDependencies"] {
        if !truthy_opt(data.get(kind)) {
            continue;
        }
        let mut value = data[kind].clone();
        if let Value::String(s) = &value {
            let parts: Vec<Value> = split_js_space_comma(js_trim(s))
                .into_iter()
                .map(Value::String)
                .collect();
            value = Value::Array(parts);
        }
        if let Value::Array(items) = &value {
            let mut o = Map::new();
            for d in items {
                if let Value::String(d) = d {
                    let (name, spec) = split_dependency(js_trim(d));
                    o.insert(name, Value::String(spec));
                }
            }
            value = Value::Object(o);
        }
        data.insert(kind.into(), value);
    }
    for kind in ["dependencies", "devDependencies"] {
        let Some(v) = data.get_mut(kind) else {
            continue;
        };
        let Value::Object(deps) = v else {
            // Falsy, or a truthy non-object (number, boolean).
            remove(data, kind);
            continue;
        };
        for name in js_keys(deps) {
            let Some(Value::String(spec)) = deps.get(&name) else {
                deps.shift_remove(&name);
                continue;
            };
            if let Some(hosted) = from_url(spec).and_then(|h| h.to_js_string()) {
                if hosted != *spec {
                    deps.insert(name, Value::String(hosted));
                }
            }
        }
    }
}

/// `s.split(/[\n\r\s\t ,]+/)`: runs of white space and commas separate.
fn split_js_space_comma(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_sep = false;
    for c in s.chars() {
        if c == ',' || is_js_space(c) {
            if !in_sep {
                out.push(std::mem::take(&mut cur));
                in_sep = true;
            }
        } else {
            in_sep = false;
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// `d.trim().split(/(:?[@\s><=])/)`, then `dn = dep.shift()` and
/// `dv = dep.join('').replace(/^@/, '').trim()`.
fn split_dependency(d: &str) -> (String, String) {
    let is_sep = |c: char| matches!(c, '@' | '>' | '<' | '=') || is_js_space(c);
    // The first match: an optional ':' followed by a separator character.
    let mut name_end = None;
    let chars: Vec<(usize, char)> = d.char_indices().collect();
    for (i, &(pos, c)) in chars.iter().enumerate() {
        if c == ':' && chars.get(i + 1).is_some_and(|(_, n)| is_sep(*n)) {
            name_end = Some(pos);
            break;
        }
        if is_sep(c) {
            name_end = Some(pos);
            break;
        }
    }
    match name_end {
        None => (d.to_string(), String::new()),
        Some(end) => {
            // Joining the pieces and the captured separators gives back the rest.
            let rest = &d[end..];
            let rest = rest.strip_prefix('@').unwrap_or(rest);
            (d[..end].to_string(), js_trim(rest).to_string())
        }
    }
}

// ---------------------------------------------------------------------------
// normalize-data.js

/// The description npm takes from a README: the first paragraph that is not
/// a heading, its lines joined with spaces (`extractDescription`).
pub(crate) fn extract_description(readme: &str) -> String {
    let lines: Vec<&str> = js_trim(readme).split('\n').collect();
    let mut start = 0;
    while start < lines.len() {
        let t = js_trim(lines[start]);
        if t.is_empty() || t.starts_with('#') {
            start += 1;
        } else {
            break;
        }
    }
    let mut end = start + 1;
    while end < lines.len() && !js_trim(lines[end]).is_empty() {
        end += 1;
    }
    let end = end.min(lines.len());
    let start = start.min(end);
    js_trim(&lines[start..end].join(" ")).to_string()
}

fn is_email(s: &str) -> bool {
    match (s.find('@'), s.rfind('.')) {
        (Some(at), Some(dot)) => at < dot,
        _ => false,
    }
}

/// `URL.canParse(String(x))`.
fn can_parse(v: &Value) -> bool {
    url::Url::parse(&to_js_string(v)).is_ok()
}

/// `stringifyPerson`: a person string (or object) as `{name, email, url}`.
pub(crate) fn parse_person(person: &Value) -> Result<Value, DocumentError> {
    let text = match person {
        Value::String(s) => s.clone(),
        Value::Null => {
            return Err(field_error(
                "author/contributors/maintainers",
                "has a null entry",
            ))
        }
        Value::Object(o) => {
            let pick = |a: &str, b: &str| {
                o.get(a)
                    .filter(|v| truthy(v))
                    .or_else(|| o.get(b).filter(|v| truthy(v)))
                    .map(to_js_string)
            };
            let name = o
                .get("name")
                .filter(|v| truthy(v))
                .map(to_js_string)
                .unwrap_or_default();
            let url = pick("url", "web")
                .map(|u| format!(" ({u})"))
                .unwrap_or_default();
            let email = pick("email", "mail")
                .map(|e| format!(" <{e}>"))
                .unwrap_or_default();
            format!("{name}{email}{url}")
        }
        _ => String::new(),
    };
    let mut parsed = Map::new();
    // /^([^(<]+)/
    let name_end = text.find(['(', '<']).unwrap_or(text.len());
    let name = js_trim(&text[..name_end]);
    if !name.is_empty() {
        parsed.insert("name".into(), Value::String(name.into()));
    }
    // /<([^<>]+)>/
    if let Some(email) = first_delimited(&text, '<', '>', &['<', '>']) {
        parsed.insert("email".into(), Value::String(email));
    }
    // /\(([^()]+)\)/
    if let Some(url) = first_delimited(&text, '(', ')', &['(', ')']) {
        parsed.insert("url".into(), Value::String(url));
    }
    Ok(Value::Object(parsed))
}

/// The first `open` + one or more characters not in `forbidden` + `close`.
fn first_delimited(s: &str, open: char, close: char, forbidden: &[char]) -> Option<String> {
    for (i, c) in s.char_indices() {
        if c != open {
            continue;
        }
        let rest = &s[i + c.len_utf8()..];
        let inner_end = rest
            .find(|c: char| forbidden.contains(&c))
            .unwrap_or(rest.len());
        if inner_end > 0 && rest[inner_end..].starts_with(close) {
            return Some(rest[..inner_end].to_string());
        }
    }
    None
}

fn normalize_data(data: &mut Map<String, Value>) -> Result<(), DocumentError> {
    // fixDescriptionField
    if let Some(d) = data.get("description") {
        if truthy(d) && !d.is_string() {
            remove(data, "description");
        }
    }
    let readme = data.get("readme").cloned();
    if readme.as_ref().is_some_and(truthy)
        && !truthy_opt(data.get("description"))
        && readme.as_ref().and_then(Value::as_str) != Some(NO_README)
    {
        let Some(Value::String(text)) = readme else {
            return Err(field_error("readme", "must be a string"));
        };
        data.insert(
            "description".into(),
            Value::String(extract_description(&text)),
        );
    }
    // fixModulesField
    if truthy_opt(data.get("modules")) {
        remove(data, "modules");
    }
    // fixFilesField
    match data.get_mut("files") {
        Some(Value::Array(files)) => {
            files.retain(|f| matches!(f, Value::String(s) if !s.is_empty()));
        }
        Some(v) if truthy(v) => remove(data, "files"),
        _ => {}
    }
    // fixManField
    if let Some(Value::String(m)) = data.get("man") {
        if !m.is_empty() {
            let arr = Value::Array(vec![Value::String(m.clone())]);
            data.insert("man".into(), arr);
        }
    }
    fix_bugs(data);
    // fixKeywordsField
    if let Some(Value::String(k)) = data.get("keywords") {
        let parts = split_comma_space(k);
        data.insert("keywords".into(), Value::Array(parts));
    }
    match data.get_mut("keywords") {
        Some(Value::Array(kw)) => kw.retain(|k| matches!(k, Value::String(s) if !s.is_empty())),
        Some(v) if truthy(v) => remove(data, "keywords"),
        _ => {}
    }
    // fixBundleDependenciesField
    match data.get("bundleDependencies").cloned() {
        Some(bd) if truthy(&bd) && !bd.is_array() => remove(data, "bundleDependencies"),
        Some(Value::Array(items)) => {
            let mut kept = Vec::new();
            for item in items {
                let Value::String(name) = &item else { continue };
                if name.is_empty() {
                    continue;
                }
                if !truthy_opt(data.get("dependencies")) {
                    data.insert("dependencies".into(), Value::Object(Map::new()));
                }
                if let Some(Value::Object(deps)) = data.get_mut("dependencies") {
                    if !deps.contains_key(name) {
                        deps.insert(name.clone(), Value::String("*".into()));
                    }
                }
                kept.push(item);
            }
            data.insert("bundleDependencies".into(), Value::Array(kept));
        }
        _ => {}
    }
    // fixHomepageField
    if !truthy_opt(data.get("homepage")) {
        if let Some(url) = repository_url(data) {
            if let Some(h) = from_url(&url) {
                data.insert("homepage".into(), Value::String(h.docs()));
            }
        }
    }
    if let Some(h) = data.get("homepage").cloned() {
        if truthy(&h) {
            match h {
                Value::String(s) => {
                    if url::Url::parse(&s).is_err() {
                        data.insert("homepage".into(), Value::String(format!("http://{s}")));
                    }
                }
                _ => remove(data, "homepage"),
            }
        }
    }
    // fixReadmeField
    if !truthy_opt(data.get("readme")) {
        data.insert("readme".into(), Value::String(NO_README.into()));
    }
    // fixPeople
    if let Some(a) = data.get("author").cloned() {
        if truthy(&a) {
            data.insert("author".into(), parse_person(&a)?);
        }
    }
    for set in ["maintainers", "contributors"] {
        if let Some(Value::Array(people)) = data.get(set).cloned() {
            let parsed = people
                .iter()
                .map(parse_person)
                .collect::<Result<Vec<_>, _>>()?;
            data.insert(set.into(), Value::Array(parsed));
        }
    }
    Ok(())
}

/// `data.repository?.url` when it is a string (fromUrl ignores the rest).
fn repository_url(data: &Map<String, Value>) -> Option<String> {
    data.get("repository")
        .and_then(Value::as_object)
        .and_then(|r| r.get("url"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `keywords.split(/,\s+/)`.
fn split_comma_space(s: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' && chars.peek().is_some_and(|n| is_js_space(*n)) {
            while chars.peek().is_some_and(|n| is_js_space(*n)) {
                chars.next();
            }
            out.push(Value::String(std::mem::take(&mut cur)));
        } else {
            cur.push(c);
        }
    }
    out.push(Value::String(cur));
    out
}

/// `fixBugsField`.
fn fix_bugs(data: &mut Map<String, Value>) {
    let bugs = data.get("bugs").cloned();
    if !bugs.as_ref().is_some_and(truthy) {
        if let Some(url) = repository_url(data) {
            if let Some(b) = from_url(&url).as_ref().and_then(hosted::GitHost::bugs) {
                let mut m = Map::new();
                m.insert("url".into(), Value::String(b));
                data.insert("bugs".into(), Value::Object(m));
            }
        }
        return;
    }
    let Some(bugs) = bugs else { return };
    let new = match bugs {
        Value::String(s) => {
            let mut m = Map::new();
            if is_email(&s) {
                m.insert("email".into(), Value::String(s));
            } else if url::Url::parse(&s).is_ok() {
                m.insert("url".into(), Value::String(s));
            } else {
                remove(data, "bugs");
                return;
            }
            m
        }
        other => {
            // `for (k in bugs)`: web/name move to url; then rebuilt as {url, email}.
            let mut old = match &other {
                Value::Object(o) => o.clone(),
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v.clone()))
                    .collect(),
                _ => Map::new(),
            };
            for k in js_keys(&old) {
                if k == "web" || k == "name" {
                    if let Some(v) = old.get(&k).cloned() {
                        old.insert("url".into(), v);
                        old.shift_remove(&k);
                    }
                }
            }
            let mut m = Map::new();
            if let Some(u) = old.get("url").filter(|u| truthy(u)) {
                if can_parse(u) {
                    m.insert("url".into(), u.clone());
                }
            }
            if let Some(Value::String(e)) = old.get("email").filter(|e| truthy(e)) {
                if is_email(e) {
                    m.insert("email".into(), Value::String(e.clone()));
                }
            }
            m
        }
    };
    if truthy_opt(new.get("email")) || truthy_opt(new.get("url")) {
        data.insert("bugs".into(), Value::Object(new));
    } else {
        remove(data, "bugs");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn people_strings_become_objects() {
        let table = [
            (
                json!("A B <a@b.c> (https://x.y)"),
                json!({"name": "A B", "email": "a@b.c", "url": "https://x.y"}),
            ),
            (json!("A B"), json!({"name": "A B"})),
            (json!("<a@b.c>"), json!({"email": "a@b.c"})),
            (
                json!("  Name  (http://u) <e@x.io> "),
                json!({"name": "Name", "email": "e@x.io", "url": "http://u"}),
            ),
            (json!("N <>"), json!({"name": "N"})),
            (json!("N (a(b)c)"), json!({"name": "N", "url": "b"})),
            (
                json!({"name": "N", "mail": "m@x.io", "web": "http://w", "extra": 1}),
                json!({"name": "N", "email": "m@x.io", "url": "http://w"}),
            ),
            (json!({"email": "e@x.io"}), json!({"email": "e@x.io"})),
            (json!(5), json!({})),
        ];
        for (input, want) in table {
            assert_eq!(parse_person(&input).unwrap(), want, "{input}");
        }
        assert!(parse_person(&Value::Null).is_err());
    }

    #[test]
    fn readme_pick_prefers_markdown_then_readme() {
        let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let table: &[(&[&str], Option<&str>)] = &[
            (&["README.md", "index.js"], Some("README.md")),
            (&["README", "README.md"], Some("README.md")),
            (&["README.md", "readme.markdown"], Some("readme.markdown")),
            (&["README.markdown", "README.md"], Some("README.md")),
            (&["README"], Some("README")),
            (&["readme"], None),
            (&["README.txt"], None),
            (&["Readme.txt", "README"], Some("README")),
            (&["README.md/", "README"], Some("README")),
            (&["README.", "README.rst"], Some("README.")),
            (&["readme.MD", "README.mdown"], Some("readme.MD")),
            (&["README.adoc"], None),
            (&["READMEX.md"], None),
            (&[], None),
        ];
        for (entries, want) in table {
            assert_eq!(pick_readme(&e(entries)).as_deref(), *want, "{entries:?}");
        }
    }

    #[test]
    fn description_comes_from_the_first_paragraph() {
        let table = [
            (
                "# Title\n\nFirst line\nsecond line\n\nMore.",
                "First line second line",
            ),
            ("Plain", "Plain"),
            ("# Only\n## Headings\n", ""),
            ("\n\n   \n# T\n  indented para  \n", "indented para"),
            ("# T\r\n\r\nLine one\r\nLine two\r\n", "Line one\r Line two"),
            ("#NoSpace\ntext", "text"),
        ];
        for (readme, want) in table {
            assert_eq!(extract_description(readme), want, "{readme:?}");
        }
    }

    #[test]
    fn bin_paths_are_cleaned() {
        let table = [
            (
                json!({"name": "@s/tool", "bin": "./cli.js"}),
                Some(json!({"tool": "cli.js"})),
            ),
            (
                json!({"name": "t", "bin": ["./a/b.js", "c.js"]}),
                Some(json!({"b.js": "a/b.js", "c.js": "c.js"})),
            ),
            (
                json!({"name": "t", "bin": {"x/y": "../../z.js", "w": "C:\\w.js", "n": 5, "e": ""}}),
                Some(json!({"w": "C/w.js", "y": "z.js"})),
            ),
            (
                json!({"name": "t", "bin": {"b": "x", "1": "y", "z/a": "q"}}),
                Some(json!({"1": "y", "b": "x", "a": "q"})),
            ),
            (
                json!({"name": "t", "bin": {"x/a": "1", "a": "2"}}),
                Some(json!({"a": "1"})),
            ),
            (json!({"name": "t", "bin": {"": "x.js", ".": "./"}}), None),
            (json!({"name": "t", "bin": ""}), None),
            (json!({"bin": "x"}), None),
            (json!({"name": "t", "bin": 5}), None),
        ];
        for (input, want) in table {
            let mut m = input.as_object().unwrap().clone();
            normalize_bin(&mut m).unwrap();
            let mut got = m.get("bin").cloned();
            if let Some(g) = got.as_mut() {
                crate::js::js_canonical(g);
            }
            assert_eq!(got, want, "{input}");
            if let (Some(g), Some(w)) = (&got, &want) {
                let gk: Vec<_> = g.as_object().unwrap().keys().collect();
                let wk: Vec<_> = w.as_object().unwrap().keys().collect();
                assert_eq!(gk, wk, "key order for {input}");
            }
        }
        assert_eq!(secure_and_unixify("./"), "");
        assert_eq!(secure_and_unixify("a/"), "a/");
        assert_eq!(secure_and_unixify("../../x"), "x");
        assert_eq!(secure_and_unixify("/abs/x"), "abs/x");
    }

    #[test]
    fn scripts_and_dependencies() {
        assert_eq!(
            strip_bin_prefix("node_modules/.bin/tsc -p ."),
            Some("tsc -p .".into())
        );
        assert_eq!(
            strip_bin_prefix("./node_modules\\.bin\\x"),
            Some("x".into())
        );
        assert_eq!(strip_bin_prefix("node_modules/xbin/y"), Some("y".into()));
        assert_eq!(strip_bin_prefix("node_modules/.bin"), None);
        assert_eq!(strip_bin_prefix("echo node_modules/.bin/x"), None);

        let table = [
            ("foo@1.2.3", ("foo", "1.2.3")),
            ("foo >=1.0", ("foo", ">=1.0")),
            ("foo", ("foo", "")),
            ("@s/x@1", ("", "s/x@1")),
            ("foo:@1", ("foo", ":@1")),
            ("foo=1", ("foo", "=1")),
        ];
        for (d, (n, v)) in table {
            assert_eq!(split_dependency(d), (n.to_string(), v.to_string()), "{d}");
        }
        let mut m = json!({"dependencies": "a@1, b@^2\n c", "devDependencies": ["x@1", 5, "u/r"], "optionalDependencies": "o"})
            .as_object()
            .unwrap()
            .clone();
        fix_dependencies(&mut m);
        assert_eq!(
            Value::Object(m),
            json!({"dependencies": {"a": "1", "b": "^2", "c": ""}, "devDependencies": {"x": "1", "u/r": ""}, "optionalDependencies": {"o": ""}})
        );
        let mut m = json!({"dependencies": {"a": "u/r", "b": 1, "c": "^1"}, "devDependencies": 5})
            .as_object()
            .unwrap()
            .clone();
        fix_dependencies(&mut m);
        assert_eq!(
            Value::Object(m),
            json!({"dependencies": {"a": "github:u/r", "c": "^1"}})
        );
        assert_eq!(
            split_comma_space("a, b,c,  d"),
            vec![json!("a"), json!("b,c"), json!("d")]
        );
    }

    #[test]
    fn bundle_dependencies_variants() {
        let run = |v: Value, delete_false: bool| {
            let mut m = v.as_object().unwrap().clone();
            bundle_dependencies(&mut m, delete_false);
            Value::Object(m)
        };
        assert_eq!(
            run(json!({"bundleDependencies": false}), false),
            json!({"bundleDependencies": []})
        );
        assert_eq!(run(json!({"bundleDependencies": false}), true), json!({}));
        assert_eq!(
            run(
                json!({"dependencies": {"b": "1", "2": "x"}, "bundleDependencies": true}),
                true
            ),
            json!({"dependencies": {"b": "1", "2": "x"}, "bundleDependencies": ["2", "b"]})
        );
        assert_eq!(
            run(json!({"bundleDependencies": {"x": 1}}), true),
            json!({"bundleDependencies": ["x"]})
        );
        assert_eq!(run(json!({"bundleDependencies": "x"}), true), json!({}));
    }
}
