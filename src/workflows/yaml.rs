//! Small helpers over `yaml_rust2`'s `Yaml` tree: loading with a finding on
//! failure, YAML 1.1 merge keys (`<<: *anchor`, which GitLab files use and
//! yaml-rust2 leaves alone), deep merges, and typed lookups.

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlLoader};

/// Parses `text`; `Ok(None)` for an empty file. The error is
/// `(line, description)`, the line counted from 1.
pub(crate) fn parse(text: &str) -> Result<Option<Yaml>, (usize, String)> {
    match YamlLoader::load_from_str(text) {
        Ok(docs) => Ok(docs
            .into_iter()
            .next()
            .filter(|d| !d.is_null())
            .map(resolve_merge_keys)),
        Err(e) => Err((e.marker().line(), e.info().to_string())),
    }
}

/// Applies `<<` merge keys everywhere: the merged mappings' keys come first
/// and the mapping's own keys win.
fn resolve_merge_keys(y: Yaml) -> Yaml {
    match y {
        Yaml::Hash(h) => {
            let merge_key = Yaml::String("<<".into());
            let mut out = Hash::new();
            if let Some(m) = h.get(&merge_key) {
                let sources: Vec<&Yaml> = match m {
                    Yaml::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for s in sources {
                    if let Yaml::Hash(sh) = resolve_merge_keys(s.clone()) {
                        for (k, v) in sh {
                            out.insert(k, v);
                        }
                    }
                }
            }
            for (k, v) in h {
                if k == merge_key {
                    continue;
                }
                out.insert(k, resolve_merge_keys(v));
            }
            Yaml::Hash(out)
        }
        Yaml::Array(a) => Yaml::Array(a.into_iter().map(resolve_merge_keys).collect()),
        other => other,
    }
}

/// GitLab's merge for `extends:` and `include:`: mappings merge key by key
/// (recursively), anything else in `over` replaces `base`.
pub(crate) fn deep_merge(base: &Yaml, over: &Yaml) -> Yaml {
    match (base, over) {
        (Yaml::Hash(b), Yaml::Hash(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let merged = match b.get(k) {
                    Some(bv) => deep_merge(bv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Yaml::Hash(out)
        }
        _ => over.clone(),
    }
}

/// `y[key]`, or `None` when `y` is not a mapping, the key is absent, or the
/// value is `null`.
pub(crate) fn get<'a>(y: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    y.as_hash()?
        .get(&Yaml::String(key.to_string()))
        .filter(|v| !v.is_null() && !v.is_badvalue())
}

/// Whether the mapping has the key at all (even with a `null` value).
pub(crate) fn has_key(y: &Yaml, key: &str) -> bool {
    y.as_hash()
        .is_some_and(|h| h.contains_key(&Yaml::String(key.to_string())))
}

/// A scalar as text (`20` → "20", `22.14` → "22.14", `true` → "true").
pub(crate) fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `y[key]` as text.
pub(crate) fn get_str(y: &Yaml, key: &str) -> Option<String> {
    get(y, key).and_then(scalar)
}

/// The entries of a mapping whose keys are strings.
pub(crate) fn entries(y: &Yaml) -> Vec<(&str, &Yaml)> {
    match y.as_hash() {
        Some(h) => h
            .iter()
            .filter_map(|(k, v)| k.as_str().map(|k| (k, v)))
            .collect(),
        None => Vec::new(),
    }
}

/// A scalar or a list of scalars as a list (`[a, [b]]` is flattened, as
/// GitLab does for `script:`).
pub(crate) fn strings(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(a) => a.iter().flat_map(strings).collect(),
        other => scalar(other).into_iter().collect(),
    }
}
