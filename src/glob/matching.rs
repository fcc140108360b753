//! Matching a split path against a compiled pattern:
//! `Minimatch.prototype.matchOne`, `#matchGlobstar` and `#matchOne`.

use super::segment::Segment;
use super::MAX_GLOBSTAR_RECURSION;

/// `Minimatch.prototype.matchOne`; `dot` is `options.dot`.
pub(super) fn match_one(file: &[&str], pattern: &[Segment], partial: bool, dot: bool) -> bool {
    if pattern.iter().any(|p| matches!(p, Segment::Globstar)) {
        // Outside partial matching every other segment consumes one path
        // part, so a plain literal one (`.git` in `**/.git/**`) must equal
        // some part: a cheap test that rejects most paths.
        if !partial
            && pattern.iter().any(|seg| {
                matches!(seg, Segment::CaselessAscii(_)) && !file.iter().any(|f| seg.test(f))
            })
        {
            return false;
        }
        return match_globstar(file, pattern, partial, dot, 0, 0);
    }
    // Outcomes `#matchOne` reaches anyway, decided before testing any part:
    // a shorter path only matches partially, a longer one only with a single
    // trailing empty part. Then the last part first: it rejects most paths.
    let (fl, pl) = (file.len(), pattern.len());
    if fl < pl && !partial {
        return false;
    }
    if fl > pl && !(fl == pl + 1 && file[pl].is_empty()) {
        return false;
    }
    if fl >= pl && pl > 0 && !pattern[pl - 1].test(file[pl - 1]) {
        return false;
    }
    match_parts(file, pattern, partial, 0, 0)
}

/// `#matchOne`
fn match_parts(
    file: &[&str],
    pattern: &[Segment],
    partial: bool,
    file_index: usize,
    pattern_index: usize,
) -> bool {
    let (fl, pl) = (file.len(), pattern.len());
    let (mut fi, mut pi) = (file_index, pattern_index);
    while fi < fl && pi < pl {
        let p = &pattern[pi];
        if matches!(p, Segment::Globstar) || !p.test(file[fi]) {
            return false;
        }
        fi += 1;
        pi += 1;
    }
    if fi == fl && pi == pl {
        true
    } else if fi == fl {
        partial
    } else if pi == pl {
        fi + 1 == fl && file[fi].is_empty()
    } else {
        // JavaScript throws 'wtf?' here; it cannot be reached.
        false
    }
}

/// `#matchGlobstar`
fn match_globstar(
    file: &[&str],
    pattern: &[Segment],
    partial: bool,
    dot: bool,
    mut file_index: usize,
    pattern_index: usize,
) -> bool {
    let is_gs = |p: &Segment| matches!(p, Segment::Globstar);
    let Some(firstgs) = pattern[pattern_index..]
        .iter()
        .position(is_gs)
        .map(|p| p + pattern_index)
    else {
        return match_parts(file, pattern, partial, file_index, pattern_index);
    };
    let lastgs = pattern.iter().rposition(is_gs).unwrap_or(firstgs);
    let head = &pattern[pattern_index..firstgs];
    let (body, tail): (&[Segment], &[Segment]) = if partial {
        (&pattern[firstgs + 1..], &[])
    } else if firstgs < lastgs {
        (&pattern[firstgs + 1..lastgs], &pattern[lastgs + 1..])
    } else {
        (&[], &pattern[lastgs + 1..])
    };

    if !head.is_empty() {
        let from = file_index.min(file.len());
        let to = (file_index + head.len()).min(file.len());
        if !match_parts(&file[from..to], head, partial, 0, 0) {
            return false;
        }
        file_index += head.len();
    }

    let mut file_tail_match = 0;
    if !tail.is_empty() {
        if tail.len() + file_index > file.len() {
            return false;
        }
        let tail_start = file.len() - tail.len();
        if match_parts(file, tail, partial, tail_start, 0) {
            file_tail_match = tail.len();
        } else {
            if file.last() != Some(&"") || file_index + tail.len() == file.len() {
                return false;
            }
            if !match_parts(file, tail, partial, tail_start - 1, 0) {
                return false;
            }
            file_tail_match = tail.len() + 1;
        }
    }

    if body.is_empty() {
        let mut saw_some = file_tail_match != 0;
        let end = file.len().saturating_sub(file_tail_match);
        for f in file.iter().take(end).skip(file_index) {
            saw_some = true;
            if hidden_from_globstar(f, dot) {
                return false;
            }
        }
        return partial || saw_some;
    }

    // [start, end) of each globstar-delimited body section, and the last
    // file index at which it may start
    let mut segments: smallvec::SmallVec<[(usize, usize, isize); 4]> =
        smallvec::smallvec![(0, 0, 0)];
    let mut sums: smallvec::SmallVec<[usize; 4]> = smallvec::smallvec![0];
    let mut non_gs = 0;
    for (k, b) in body.iter().enumerate() {
        if is_gs(b) {
            sums.push(non_gs);
            segments.push((k + 1, k + 1, 0));
        } else if let Some(last) = segments.last_mut() {
            last.1 = k + 1;
            non_gs += 1;
        }
    }
    let file_length = file.len() as isize - file_tail_match as isize;
    let count = segments.len();
    for (j, seg) in segments.iter_mut().enumerate() {
        // minimatch indexes the sums from the far end (`nonGsPartsSums[i--]`)
        seg.2 = file_length - (sums[count - 1 - j] + (seg.1 - seg.0)) as isize;
    }
    match_body_sections(
        file,
        body,
        &segments,
        file_index,
        0,
        partial,
        dot,
        0,
        file_tail_match != 0,
    ) == Tri::True
}

/// A part `**` never covers: `f === '.' || f === '..' ||
/// (!this.options.dot && f.startsWith('.'))`.
fn hidden_from_globstar(f: &str, dot: bool) -> bool {
    f == "." || f == ".." || (!dot && f.starts_with('.'))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    True,
    False,
    /// "not matching, cannot keep trying"
    Null,
}

/// `#matchGlobStarBodySections`
#[allow(clippy::too_many_arguments)]
fn match_body_sections(
    file: &[&str],
    body: &[Segment],
    segments: &[(usize, usize, isize)],
    mut file_index: usize,
    body_index: usize,
    partial: bool,
    dot: bool,
    depth: usize,
    mut saw_tail: bool,
) -> Tri {
    let Some(&(start, end, after)) = segments.get(body_index) else {
        for f in file.iter().skip(file_index) {
            saw_tail = true;
            if hidden_from_globstar(f, dot) {
                return Tri::False;
            }
        }
        return if saw_tail { Tri::True } else { Tri::False };
    };
    let section = &body[start..end];
    while file_index as isize <= after {
        let to = (file_index + section.len()).min(file.len());
        let m = match_parts(&file[..to], section, partial, file_index, 0);
        if m && depth < MAX_GLOBSTAR_RECURSION {
            let sub = match_body_sections(
                file,
                body,
                segments,
                file_index + section.len(),
                body_index + 1,
                partial,
                dot,
                depth + 1,
                saw_tail,
            );
            if sub != Tri::False {
                return sub;
            }
        }
        if let Some(f) = file.get(file_index) {
            if hidden_from_globstar(f, dot) {
                return Tri::False;
            }
        }
        file_index += 1;
    }
    if partial {
        Tri::True
    } else {
        Tri::Null
    }
}
