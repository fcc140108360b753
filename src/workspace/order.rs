//! The order packages are published in: dependencies before dependents.
//!
//! A member depends on another selected member when its `dependencies`,
//! `optionalDependencies` or `peerDependencies` name it: by key (any range:
//! `workspace:*`, `^1.2.0`, …), or through an alias range that names it
//! (`npm:name@range`, pnpm's `workspace:name@range`), or a
//! `workspace:<path>` range that points at its directory.
//! `devDependencies` do not order publishing (a package's tarball does not
//! need them, and pnpm's `-r publish` ignores them too).

use std::collections::{HashMap, VecDeque};
use std::path::{Component, PathBuf};

use serde_json::Value;

use super::error::{WorkspaceError, LIST_MAX};
use super::Member;

/// The fields whose dependencies order publishing.
pub const ORDERING_FIELDS: [&str; 3] = ["dependencies", "optionalDependencies", "peerDependencies"];

/// Waves of indices into `members`: every member's workspace dependencies
/// are in earlier waves; within a wave the input order is kept. A cycle is
/// [`WorkspaceError::Cycle`], naming the packages of each cycle found.
pub fn order(members: &[&Member]) -> Result<Vec<Vec<usize>>, WorkspaceError> {
    let deps = dependency_graph(members);
    let mut indegree: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); members.len()];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
        }
    }
    let mut placed = vec![false; members.len()];
    let mut waves: Vec<Vec<usize>> = Vec::new();
    let mut ready: Vec<usize> = (0..members.len()).filter(|&i| indegree[i] == 0).collect();
    while !ready.is_empty() {
        ready.sort_unstable();
        let mut next = Vec::new();
        for &i in &ready {
            placed[i] = true;
            for &j in &dependents[i] {
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    next.push(j);
                }
            }
        }
        waves.push(std::mem::replace(&mut ready, next));
    }
    if placed.iter().all(|&p| p) {
        return Ok(waves);
    }
    Err(WorkspaceError::Cycle {
        cycles: cycles(members, &deps, &placed),
    })
}

/// For each member, the indices of the members it depends on (sorted, no
/// duplicates, never itself).
fn dependency_graph(members: &[&Member]) -> Vec<Vec<usize>> {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut by_dir: HashMap<&std::path::Path, usize> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        by_name.entry(m.name.as_str()).or_insert(i);
        by_dir.entry(m.dir.as_path()).or_insert(i);
    }
    members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut ds: Vec<usize> = Vec::new();
            for field in ORDERING_FIELDS {
                let Some(Value::Object(obj)) = m.manifest.get(field) else {
                    continue;
                };
                for (key, range) in obj {
                    let target = match range.as_str().and_then(|r| target_of(r, m)) {
                        Some(Target::Name(n)) => by_name.get(n).copied(),
                        Some(Target::Dir(d)) => by_dir.get(d.as_path()).copied(),
                        None => by_name.get(key.as_str()).copied(),
                    };
                    if let Some(t) = target.filter(|&t| t != i) {
                        ds.push(t);
                    }
                }
            }
            ds.sort_unstable();
            ds.dedup();
            ds
        })
        .collect()
}

enum Target<'a> {
    Name(&'a str),
    Dir(PathBuf),
}

/// What a range points at other than its key: an alias's package name, or
/// a `workspace:` path.
fn target_of<'a>(range: &'a str, m: &Member) -> Option<Target<'a>> {
    let (rest, workspace) = if let Some(r) = range.strip_prefix("npm:") {
        (r, false)
    } else if let Some(r) = range.strip_prefix("workspace:") {
        (r, true)
    } else {
        return None;
    };
    if workspace && (rest.starts_with('.') || rest.starts_with('/')) {
        let mut dir = m.dir.clone();
        for c in std::path::Path::new(rest).components() {
            match c {
                Component::ParentDir => {
                    dir.pop();
                }
                Component::CurDir => {}
                Component::RootDir => dir = PathBuf::from("/"),
                other => dir.push(other.as_os_str()),
            }
        }
        return Some(Target::Dir(dir));
    }
    // `name@range`, the name possibly scoped (`@scope/name@range`).
    let at = rest
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '@')
        .map(|(i, _)| i);
    match at {
        Some(i) => Some(Target::Name(&rest[..i])),
        // `npm:name` alone names a package too; `workspace:*` does not.
        None if !workspace && !rest.is_empty() => Some(Target::Name(rest)),
        None => None,
    }
}

/// The cycles among the members that could not be placed: for each
/// strongly connected component of two or more, in input order of its
/// members, the shortest cycle through each member not already in a
/// reported cycle. Each cycle starts at its earliest member.
fn cycles(members: &[&Member], deps: &[Vec<usize>], placed: &[bool]) -> Vec<Vec<String>> {
    let n = members.len();
    let comp = components(deps, placed);
    let mut covered = vec![false; n];
    let mut out: Vec<Vec<usize>> = Vec::new();
    for start in 0..n {
        if placed[start] || covered[start] || out.len() >= LIST_MAX * 2 {
            continue;
        }
        let Some(c) = comp[start] else { continue };
        // Breadth-first from `start` back to `start`, within its component.
        let mut prev: Vec<Option<usize>> = vec![None; n];
        let mut queue = VecDeque::from([start]);
        let mut seen = vec![false; n];
        seen[start] = true;
        let mut closing = None;
        'bfs: while let Some(v) = queue.pop_front() {
            for &w in &deps[v] {
                if comp[w] != Some(c) {
                    continue;
                }
                if w == start {
                    closing = Some(v);
                    break 'bfs;
                }
                if !seen[w] {
                    seen[w] = true;
                    prev[w] = Some(v);
                    queue.push_back(w);
                }
            }
        }
        let Some(mut v) = closing else { continue };
        // start → … → v → start, read back from v.
        let mut cycle = vec![v];
        while let Some(p) = prev[v] {
            cycle.push(p);
            v = p;
        }
        if *cycle.last().unwrap_or(&start) != start {
            cycle.push(start);
        }
        cycle.reverse();
        for &i in &cycle {
            covered[i] = true;
        }
        let min = cycle.iter().copied().min().unwrap_or(start);
        let pos = cycle.iter().position(|&i| i == min).unwrap_or(0);
        cycle.rotate_left(pos);
        if !out.contains(&cycle) {
            out.push(cycle);
        }
    }
    out.into_iter()
        .map(|c| c.into_iter().map(|i| members[i].name.clone()).collect())
        .collect()
}

/// Tarjan's strongly connected components over the unplaced members;
/// `Some(id)` only for members in a component of two or more.
fn components(deps: &[Vec<usize>], placed: &[bool]) -> Vec<Option<usize>> {
    let n = deps.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut comp: Vec<Option<usize>> = vec![None; n];
    let mut next_index = 0usize;
    let mut next_comp = 0usize;
    for root in 0..n {
        if placed[root] || index[root] != usize::MAX {
            continue;
        }
        // Iterative DFS: (node, next edge to look at).
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut e)) = call.last_mut() {
            if let Some(&w) = deps[v].get(*e) {
                *e += 1;
                if placed[w] {
                    continue;
                }
                if index[w] == usize::MAX {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                if members.len() > 1 {
                    for w in members {
                        comp[w] = Some(next_comp);
                    }
                    next_comp += 1;
                }
            }
        }
    }
    comp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(name: &str, manifest: Value) -> Member {
        Member {
            name: name.into(),
            version: Some("1.0.0".into()),
            dir: PathBuf::from(format!("/r/packages/{name}")),
            rel: format!("packages/{name}"),
            private: false,
            manifest: manifest.as_object().cloned().unwrap_or_default(),
        }
    }

    fn run(ms: &[Member]) -> Result<Vec<Vec<String>>, WorkspaceError> {
        let refs: Vec<&Member> = ms.iter().collect();
        order(&refs).map(|waves| {
            waves
                .into_iter()
                .map(|w| w.into_iter().map(|i| ms[i].name.clone()).collect())
                .collect()
        })
    }

    #[test]
    fn dependencies_go_first_and_waves_keep_input_order() {
        let ms = [
            m(
                "app",
                json!({"dependencies": {"lib": "workspace:*", "left-pad": "^1"}}),
            ),
            m("cli", json!({"optionalDependencies": {"core": "^1.0.0"}})),
            m("lib", json!({"peerDependencies": {"core": "workspace:^"}})),
            m("core", json!({"devDependencies": {"app": "workspace:*"}})),
            m("solo", json!({})),
        ];
        assert_eq!(
            run(&ms).unwrap(),
            vec![vec!["core", "solo"], vec!["cli", "lib"], vec!["app"]]
        );
    }

    #[test]
    fn aliases_and_workspace_paths_count() {
        let ms = [
            m("a", json!({"dependencies": {"x": "npm:@s/b@^1"}})),
            m("@s/b", json!({"dependencies": {"y": "workspace:c@*"}})),
            m("c", json!({"dependencies": {"z": "workspace:../d"}})),
            m("d", json!({"dependencies": {"d": "workspace:*"}})),
        ];
        assert_eq!(
            run(&ms).unwrap(),
            vec![vec!["d"], vec!["c"], vec!["@s/b"], vec!["a"]]
        );
        // An alias to a package outside the workspace does not count, even
        // when its key is a member's name.
        let ms = [
            m("a", json!({"dependencies": {"b": "npm:other@^1"}})),
            m("b", json!({"dependencies": {}})),
        ];
        assert_eq!(run(&ms).unwrap(), vec![vec!["a", "b"]]);
    }

    #[test]
    fn every_cycle_is_named_and_a_devdependency_cycle_is_none() {
        let ms = [
            m("a", json!({"dependencies": {"b": "*"}})),
            m("b", json!({"dependencies": {"a": "*"}})),
            m("c", json!({"dependencies": {"d": "*"}})),
            m("d", json!({"peerDependencies": {"e": "*"}})),
            m("e", json!({"optionalDependencies": {"c": "*"}})),
            m("f", json!({"dependencies": {"a": "*"}})),
            m("g", json!({})),
        ];
        let err = run(&ms).unwrap_err();
        let WorkspaceError::Cycle { cycles } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(
            cycles,
            &vec![vec!["a", "b"], vec!["c", "d", "e"]]
                .into_iter()
                .map(|c| c.into_iter().map(String::from).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            err.to_string(),
            "the workspace packages have dependency cycles, so no package can go first: \
             a → b → a; c → d → e → c"
        );
        assert_eq!(err.exit_code(), 1);
        let ms = [
            m("a", json!({"devDependencies": {"b": "*"}})),
            m("b", json!({"dependencies": {"a": "*"}})),
        ];
        assert_eq!(run(&ms).unwrap(), vec![vec!["a"], vec!["b"]]);
    }

    #[test]
    fn two_cycles_sharing_a_member_are_both_named() {
        let ms = [
            m("a", json!({"dependencies": {"b": "*", "c": "*"}})),
            m("b", json!({"dependencies": {"a": "*"}})),
            m("c", json!({"dependencies": {"a": "*"}})),
        ];
        let WorkspaceError::Cycle { cycles } = run(&ms).unwrap_err() else {
            panic!()
        };
        assert_eq!(cycles, vec![vec!["a", "b"], vec!["a", "c"]]);
    }
}
