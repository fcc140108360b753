//! Small helpers over `yaml_rust2`'s `Yaml` tree: loading with a finding on
//! failure, YAML 1.1 merge keys (`<<: *anchor`, which GitLab files use and
//! yaml-rust2 leaves alone), deep merges, and typed lookups.

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlLoader};

/// Parses `text`; `Ok(None)` for an empty file. The error is
/// `(line, description)`, the line counted from 1.
pub(crate) fn parse(text: &str) -> Result<Option<Yaml>, (usize, String)> {
    check_expansion(text)?;
    match YamlLoader::load_from_str(text) {
        Ok(docs) => Ok(docs
            .into_iter()
            .next()
            .filter(|d| !d.is_null())
            .map(resolve_merge_keys)),
        Err(e) => Err((e.marker().line(), e.info().to_string())),
    }
}

/// The most a document may cost once its aliases are expanded: each node
/// counts [`NODE_COST`] plus its scalar's length. The loader copies the
/// anchored node for every alias, so a few hundred bytes of nested aliases
/// ("billion laughs") would otherwise expand to gigabytes.
const MAX_EXPANDED: u64 = 32 << 20;
const NODE_COST: u64 = 64;
/// The deepest nesting of sequences and mappings (the tree is freed and
/// walked recursively).
const MAX_DEPTH: usize = 256;

/// Whether an error from [`parse`] is one of its limits rather than a
/// syntax error.
pub(crate) fn is_limit(what: &str) -> bool {
    what.ends_with("more than trustpub reads")
}

/// Walks the parser's events, without building anything, to measure what
/// loading would build; an error names the line where the limit was passed.
/// A syntax error is left to the loader, which reports it.
fn check_expansion(text: &str) -> Result<(), (usize, String)> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    let mut anchors: std::collections::HashMap<usize, u64> = std::collections::HashMap::new();
    // Open sequences and mappings: (anchor id, cost so far).
    let mut open: Vec<(usize, u64)> = Vec::new();
    let mut total: u64 = 0;
    loop {
        let Ok((event, mark)) = parser.next_token() else {
            return Ok(());
        };
        let done = match event {
            Event::StreamEnd => return Ok(()),
            Event::Scalar(v, _, anchor, _) => Some((anchor, NODE_COST + v.len() as u64)),
            Event::Alias(id) => Some((0, anchors.get(&id).copied().unwrap_or(NODE_COST))),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push((anchor, NODE_COST));
                if open.len() > MAX_DEPTH {
                    return Err((
                        mark.line(),
                        format!(
                            "nested more than {MAX_DEPTH} levels deep, more than trustpub reads"
                        ),
                    ));
                }
                None
            }
            Event::SequenceEnd | Event::MappingEnd => open.pop(),
            _ => None,
        };
        let Some((anchor, cost)) = done else {
            continue;
        };
        if anchor > 0 {
            anchors.insert(anchor, cost);
        }
        let sum = match open.last_mut() {
            Some(parent) => &mut parent.1,
            None => &mut total,
        };
        *sum = sum.saturating_add(cost);
        if *sum > MAX_EXPANDED {
            return Err((
                mark.line(),
                format!(
                    "with its aliases expanded, it makes more than {} of YAML nodes, more than trustpub reads",
                    crate::limits::human(MAX_EXPANDED)
                ),
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_and_merge_keys_still_load() {
        let y = parse(".base: &base\n  image: node:24\njob:\n  <<: *base\n  script: [a, *base]\n")
            .unwrap()
            .unwrap();
        assert_eq!(y["job"]["image"].as_str(), Some("node:24"));
    }

    #[test]
    fn alias_bombs_are_measured_before_loading() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 10].join(", ");
            text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        }
        let (line, what) = parse(&text).unwrap_err();
        assert!(is_limit(&what), "{what}");
        assert!(line >= 6, "{line}");
        // Four levels (10^4 scalars) are fine.
        let small: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
        assert!(parse(&small).is_ok());
        let (_, what) = parse(&format!("x:\n{}a\n", "- ".repeat(300))).unwrap_err();
        assert!(is_limit(&what), "{what}");
        let (_, what) = parse("x: [[[[").unwrap_err();
        assert!(!is_limit(&what), "{what}");
    }
}
