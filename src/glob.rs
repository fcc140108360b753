//! TEMPORARY placeholder until the minimatch port lands (helper is writing it).
use regex::Regex;

pub struct Rule {
    negate: bool,
    relative: bool,
    parts: Vec<Regex>,
    base_only: bool,
}

impl Rule {
    pub fn new(pattern: &str) -> Rule {
        let mut p = pattern;
        let mut negate = false;
        while let Some(rest) = p.strip_prefix('!') {
            negate = !negate;
            p = rest;
        }
        let mut alts = vec![p.to_string()];
        if let (Some(a), Some(b)) = (p.find('{'), p.find('}')) {
            if a < b {
                alts = p[a + 1..b]
                    .split(',')
                    .map(|x| format!("{}{}{}", &p[..a], x, &p[b + 1..]))
                    .collect();
            }
        }
        let first = &alts[0];
        let segs: Vec<&str> = first.split('/').collect();
        let relative = segs.len()
            <= if segs.last().map_or(false, |s| !s.is_empty()) {
                1
            } else {
                2
            };
        let base_only = !first.trim_end_matches('/').contains('/');
        let parts = alts
            .iter()
            .map(|a| {
                let mut re = String::from("(?i)^");
                let a = a.trim_start_matches('/');
                for (i, seg) in a.split('/').enumerate() {
                    if i > 0 {
                        re.push('/');
                    }
                    if seg == "**" {
                        re.push_str(".*");
                        continue;
                    }
                    let mut in_class = false;
                    for c in seg.chars() {
                        match c {
                            '*' if !in_class => re.push_str("[^/]*"),
                            '?' if !in_class => re.push_str("[^/]"),
                            '[' => {
                                in_class = true;
                                re.push('[');
                            }
                            ']' => {
                                in_class = false;
                                re.push(']');
                            }
                            '$' if in_class => re.push_str("\\$"),
                            c if in_class => re.push(c),
                            c => re.push_str(&regex::escape(&c.to_string())),
                        }
                    }
                }
                re.push_str("/?$");
                Regex::new(&re).unwrap_or_else(|_| Regex::new("^\u{0}$").unwrap())
            })
            .collect();
        Rule {
            negate,
            relative,
            parts,
            base_only,
        }
    }
    pub fn negate(&self) -> bool {
        self.negate
    }
    pub fn is_relative(&self) -> bool {
        self.relative
    }
    pub fn matches(&self, path: &str, partial: bool) -> bool {
        let p = path.trim_start_matches('/');
        if self.parts.iter().any(|r| r.is_match(p)) {
            return true;
        }
        if self.base_only {
            let base = p.trim_end_matches('/').rsplit('/').next().unwrap_or(p);
            if self.parts.iter().any(|r| r.is_match(base)) {
                return true;
            }
        }
        let _ = partial;
        false
    }
}
