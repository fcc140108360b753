//! hosted-git-info 9 (`NM/hosted-git-info/lib/{index,from-url,parse-url,hosts}.js`):
//! recognising GitHub, GitLab, Bitbucket, Gist and sourcehut repository URLs
//! in any of their spellings, and writing them back in npm's canonical forms.
//!
//! npm uses it for `repository.url` (normalised), the derived `bugs` and
//! `homepage`, and git specs in `dependencies`/`devDependencies`. URLs are
//! parsed with the WHATWG parser (`url` crate), as Node's `new URL()` does.

use url::Url;

use crate::js::{decode_uri_component, encode_uri_component, is_js_space};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Host {
    GitHub,
    Bitbucket,
    GitLab,
    Gist,
    Sourcehut,
}

/// Hosts in hosted-git-info's declaration order.
const HOSTS: [Host; 5] = [
    Host::GitHub,
    Host::Bitbucket,
    Host::GitLab,
    Host::Gist,
    Host::Sourcehut,
];

impl Host {
    fn name(self) -> &'static str {
        match self {
            Host::GitHub => "github",
            Host::Bitbucket => "bitbucket",
            Host::GitLab => "gitlab",
            Host::Gist => "gist",
            Host::Sourcehut => "sourcehut",
        }
    }
    pub(crate) fn domain(self) -> &'static str {
        match self {
            Host::GitHub => "github.com",
            Host::Bitbucket => "bitbucket.org",
            Host::GitLab => "gitlab.com",
            Host::Gist => "gist.github.com",
            Host::Sourcehut => "git.sr.ht",
        }
    }
    fn protocols(self) -> &'static [&'static str] {
        match self {
            Host::GitHub => &["git:", "http:", "git+ssh:", "git+https:", "ssh:", "https:"],
            Host::Bitbucket | Host::GitLab => &["git+ssh:", "git+https:", "ssh:", "https:"],
            Host::Gist => &["git:", "git+ssh:", "git+https:", "ssh:", "https:"],
            Host::Sourcehut => &["git+ssh:", "https:"],
        }
    }
    fn treepath(self) -> Option<&'static str> {
        match self {
            Host::GitHub | Host::GitLab | Host::Sourcehut => Some("tree"),
            Host::Bitbucket => Some("src"),
            Host::Gist => None,
        }
    }
    fn by_shortcut(protocol: &str) -> Option<Host> {
        HOSTS
            .into_iter()
            .find(|h| protocol.strip_suffix(':') == Some(h.name()))
    }
    fn by_domain(hostname: &str) -> Option<Host> {
        HOSTS.into_iter().find(|h| h.domain() == hostname)
    }
}

/// The protocol table of `GitHost`: the representation a protocol implies,
/// and whether credentials in the URL are kept.
fn protocol_info(protocol: &str) -> Option<(Option<&'static str>, bool)> {
    Some(match protocol {
        "git+ssh:" | "ssh:" => (Some("sshurl"), false),
        "git+https:" => (Some("https"), true),
        "git:" | "http:" | "https:" | "git+http:" => (None, true),
        p => {
            let host = Host::by_shortcut(p)?;
            (Some(host.name()), false)
        }
    })
}

/// A recognised repository (hosted-git-info's `GitHost`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GitHost {
    pub host: Host,
    /// `null` in JavaScript is `None`; templates print it as "null".
    pub user: Option<String>,
    pub auth: Option<String>,
    pub project: String,
    pub committish: Option<String>,
    /// `shortcut`, `sshurl`, `https`, `git`, `http`, `git+http`, …
    pub default: String,
}

/// `maybeJoin`: the concatenation if every part is non-empty, else "".
fn maybe_join(parts: &[Option<&str>]) -> String {
    if parts.iter().all(|p| p.is_some_and(|s| !s.is_empty())) {
        parts.iter().map(|p| p.unwrap_or("")).collect()
    } else {
        String::new()
    }
}

fn maybe_encode(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(encode_uri_component)
}

impl GitHost {
    fn user(&self) -> &str {
        self.user.as_deref().unwrap_or("null")
    }
    fn hash(&self) -> String {
        maybe_join(&[Some("#"), self.committish.as_deref()])
    }

    /// `sshurl()`.
    pub fn sshurl(&self) -> String {
        let d = self.host.domain();
        match self.host {
            Host::Gist => format!("git+ssh://git@{d}/{}.git{}", self.project, self.hash()),
            _ => format!(
                "git+ssh://git@{d}/{}/{}.git{}",
                self.user(),
                self.project,
                self.hash()
            ),
        }
    }

    /// `https()`.
    pub fn https(&self) -> String {
        let d = self.host.domain();
        match self.host {
            Host::Gist => format!("git+https://{d}/{}.git{}", self.project, self.hash()),
            Host::Sourcehut => format!(
                "https://{d}/{}/{}{}",
                self.user(),
                self.project,
                self.hash()
            ),
            _ => format!(
                "git+https://{}{d}/{}/{}.git{}",
                maybe_join(&[self.auth.as_deref(), Some("@")]),
                self.user(),
                self.project,
                self.hash()
            ),
        }
    }

    /// `git()`; only GitHub and Gist have a template, the others give `null`.
    fn git(&self) -> Option<String> {
        let d = self.host.domain();
        match self.host {
            Host::GitHub => Some(format!(
                "git://{}{d}/{}/{}.git{}",
                maybe_join(&[self.auth.as_deref(), Some("@")]),
                self.user(),
                self.project,
                self.hash()
            )),
            Host::Gist => Some(format!("git://{d}/{}.git{}", self.project, self.hash())),
            _ => None,
        }
    }

    /// `shortcut()`.
    pub fn shortcut(&self) -> String {
        let t = self.host.name();
        match self.host {
            Host::Gist => format!("{t}:{}{}", self.project, self.hash()),
            _ => format!("{t}:{}/{}{}", self.user(), self.project, self.hash()),
        }
    }

    /// `bugs()`; sourcehut has none.
    pub fn bugs(&self) -> Option<String> {
        let d = self.host.domain();
        match self.host {
            Host::Gist => Some(format!("https://{d}/{}", self.project)),
            Host::Sourcehut => None,
            _ => Some(format!(
                "https://{d}/{}/{}/issues",
                self.user(),
                self.project
            )),
        }
    }

    /// `docs()`.
    pub fn docs(&self) -> String {
        let d = self.host.domain();
        let c = maybe_encode(self.committish.as_deref());
        match self.host {
            Host::Gist => format!(
                "https://{d}/{}{}",
                self.project,
                maybe_join(&[Some("/"), c.as_deref()])
            ),
            _ => format!(
                "https://{d}/{}/{}{}#readme",
                self.user(),
                self.project,
                maybe_join(&[Some("/"), self.host.treepath(), Some("/"), c.as_deref()])
            ),
        }
    }

    /// `toString()`: the default representation if it names a method, else
    /// `sshurl()`. `None` is JavaScript's `null` (a `git:` default on a host
    /// without a git template, which no accepted URL reaches).
    pub fn to_js_string(&self) -> Option<String> {
        match self.default.as_str() {
            "shortcut" => Some(self.shortcut()),
            "sshurl" => Some(self.sshurl()),
            "https" => Some(self.https()),
            "git" => self.git(),
            "docs" => Some(self.docs()),
            "bugs" => self.bugs(),
            _ => Some(self.sshurl()),
        }
    }
}

/// `isGitHubShorthand` (from-url.js): `user/repo` with optional `#committish`.
fn is_github_shorthand(arg: &str) -> bool {
    let first_hash = arg.find('#');
    let first_slash = arg.find('/');
    let second_slash = first_slash.and_then(|i| arg[i + 1..].find('/').map(|j| i + 1 + j));
    let first_colon = arg.find(':');
    let first_space = arg.find(is_js_space);
    let first_at = arg.find('@');
    let only_after_hash = |pos: Option<usize>| match pos {
        None => true,
        Some(p) => first_hash.is_some_and(|h| p > h),
    };
    let has_slash = first_slash.is_some_and(|i| i > 0);
    let does_not_end_with_slash = match first_hash {
        Some(h) => h == 0 || arg.as_bytes()[h - 1] != b'/',
        None => !arg.ends_with('/'),
    };
    only_after_hash(first_space)
        && has_slash
        && does_not_end_with_slash
        && !arg.starts_with('.')
        && only_after_hash(first_at)
        && only_after_hash(first_colon)
        && only_after_hash(second_slash)
}

/// `correctProtocol` (parse-url.js): insert `//` after a bare `proto:`.
fn correct_protocol(arg: &str) -> String {
    let first_colon = arg.find(':');
    let proto = match first_colon {
        Some(c) => &arg[..=c],
        None => "",
    };
    if protocol_info(proto).is_some() {
        return arg.to_string();
    }
    if let Some(c) = first_colon {
        if arg[c..].starts_with("://") {
            return arg.to_string();
        }
    }
    if let Some(at) = arg.find('@') {
        return match first_colon {
            Some(c) if at < c => arg.to_string(),
            _ => format!("git+ssh://{arg}"),
        };
    }
    match first_colon {
        Some(c) => format!("{}//{}", &arg[..=c], &arg[c + 1..]),
        None => format!("//{arg}"),
    }
}

/// `lastIndexOfBefore(str, char, '#')`.
fn last_index_before_hash(s: &str, c: char) -> Option<usize> {
    match s.find('#') {
        Some(h) => s[..h].rfind(c),
        None => s.rfind(c),
    }
}

/// `correctUrl` (parse-url.js): turn scp-style `host:path` into a URL.
fn correct_url(giturl: &str) -> String {
    let mut u = giturl.to_string();
    let first_at = last_index_before_hash(&u, '@');
    let last_colon = last_index_before_hash(&u, ':');
    if let Some(c) = last_colon {
        if first_at.is_none_or(|a| c > a) {
            u.replace_range(c..=c, "/");
        }
    }
    if last_index_before_hash(&u, ':').is_none() && !u.contains("//") {
        u = format!("git+ssh://{u}");
    }
    u
}

/// The fields of a WHATWG URL that hosted-git-info reads.
struct Parsed {
    protocol: String,
    hostname: String,
    username: String,
    password: String,
    pathname: String,
    hash: String,
}

fn parse_url(giturl: &str) -> Option<Parsed> {
    let with_protocol = correct_protocol(giturl);
    let url = Url::parse(&with_protocol)
        .or_else(|_| Url::parse(&correct_url(&with_protocol)))
        .ok()?;
    Some(Parsed {
        protocol: format!("{}:", url.scheme()),
        hostname: url.host_str().unwrap_or("").to_string(),
        username: url.username().to_string(),
        password: url.password().unwrap_or("").to_string(),
        pathname: url.path().to_string(),
        hash: match url.fragment() {
            Some(f) if !f.is_empty() => format!("#{f}"),
            _ => String::new(),
        },
    })
}

/// JavaScript's `str.split('/', limit)`.
fn split_limit(s: &str, limit: usize) -> Vec<&str> {
    s.split('/').take(limit).collect()
}

struct Segments {
    user: Option<String>,
    project: String,
    committish: Option<String>,
}

impl Segments {
    /// `user/project` with the project's `.git` cut off; `None` when either
    /// is empty (the hosts' `if (!user || !project) return`).
    fn named(user: &str, project: &str, committish: Option<String>) -> Option<Segments> {
        let project = strip_git(project);
        if user.is_empty() || project.is_empty() {
            return None;
        }
        Some(Segments {
            user: Some(user.into()),
            project: project.into(),
            committish,
        })
    }
}

fn strip_git(s: &str) -> &str {
    s.strip_suffix(".git").unwrap_or(s)
}

/// The per-host `extract(url)`.
fn extract(host: Host, p: &Parsed) -> Option<Segments> {
    let hash = p.hash.get(1..).unwrap_or("").to_string();
    match host {
        Host::GitHub => {
            let parts = split_limit(&p.pathname, 5);
            let user = parts.get(1).copied().unwrap_or("");
            let project = parts.get(2).copied().unwrap_or("");
            let kind = parts.get(3).copied().unwrap_or("");
            if !kind.is_empty() && kind != "tree" {
                return None;
            }
            // `decodeURIComponent(undefined)` is the string "undefined".
            let committish = if kind.is_empty() {
                Some(hash)
            } else {
                Some(parts.get(4).copied().unwrap_or("undefined").to_string())
            };
            Segments::named(user, project, committish)
        }
        Host::Bitbucket | Host::Sourcehut => {
            let parts = split_limit(&p.pathname, 4);
            let user = parts.get(1).copied().unwrap_or("");
            let project = parts.get(2).copied().unwrap_or("");
            let aux = parts.get(3).copied();
            let blocked = if host == Host::Bitbucket {
                "get"
            } else {
                "archive"
            };
            if aux == Some(blocked) {
                return None;
            }
            Segments::named(user, project, Some(hash))
        }
        Host::GitLab => {
            let path = p.pathname.get(1..).unwrap_or("");
            if path.contains("/-/") || path.contains("/archive.tar.gz") {
                return None;
            }
            let mut segments: Vec<&str> = path.split('/').collect();
            let project = segments.pop().unwrap_or("");
            Segments::named(&segments.join("/"), project, Some(hash))
        }
        Host::Gist => {
            let parts = split_limit(&p.pathname, 4);
            let mut user = parts.get(1).map(|s| s.to_string());
            let project = parts.get(2).copied().unwrap_or("");
            if parts.get(3) == Some(&"raw") {
                return None;
            }
            let project = if project.is_empty() {
                let u = user.take().filter(|u| !u.is_empty())?;
                user = None;
                u
            } else {
                project.to_string()
            };
            Some(Segments {
                user,
                project: strip_git(&project).to_string(),
                committish: Some(hash),
            })
        }
    }
}

/// `GitHost.fromUrl(giturl)`; `None` for anything not on a known host.
pub(crate) fn from_url(giturl: &str) -> Option<GitHost> {
    if giturl.is_empty() {
        return None;
    }
    let corrected = if is_github_shorthand(giturl) {
        format!("github:{giturl}")
    } else {
        giturl.to_string()
    };
    let parsed = parse_url(&corrected)?;
    let shortcut = Host::by_shortcut(&parsed.protocol);
    let hostname = parsed
        .hostname
        .strip_prefix("www.")
        .unwrap_or(&parsed.hostname);
    let host = shortcut.or_else(|| Host::by_domain(hostname))?;
    let info = protocol_info(&parsed.protocol);
    let auth = match info {
        Some((_, true)) if !parsed.username.is_empty() || !parsed.password.is_empty() => {
            Some(if parsed.password.is_empty() {
                parsed.username.clone()
            } else {
                format!("{}:{}", parsed.username, parsed.password)
            })
        }
        _ => None,
    };
    if shortcut.is_some() {
        let mut pathname = parsed
            .pathname
            .strip_prefix('/')
            .unwrap_or(&parsed.pathname);
        if let Some(at) = pathname.find('@') {
            pathname = &pathname[at + 1..];
        }
        let (user, project) = match pathname.rfind('/') {
            Some(i) => {
                let user = decode_uri_component(&pathname[..i])?;
                let project = decode_uri_component(&pathname[i + 1..])?;
                (Some(user).filter(|u| !u.is_empty()), project)
            }
            None => (None, decode_uri_component(pathname)?),
        };
        let project = project
            .strip_suffix(".git")
            .map(str::to_string)
            .unwrap_or(project);
        let committish = if parsed.hash.is_empty() {
            None
        } else {
            Some(decode_uri_component(&parsed.hash[1..])?)
        };
        return Some(GitHost {
            host,
            user,
            auth,
            project,
            committish,
            default: "shortcut".into(),
        });
    }
    if !host.protocols().contains(&parsed.protocol.as_str()) {
        return None;
    }
    let seg = extract(host, &parsed)?;
    let user = match seg.user {
        Some(u) if !u.is_empty() => Some(decode_uri_component(&u)?),
        other => other,
    };
    let project = decode_uri_component(&seg.project)?;
    let committish = match seg.committish {
        Some(c) => Some(decode_uri_component(&c)?),
        None => None,
    };
    let default = match info.and_then(|(name, _)| name) {
        Some(name) => name.to_string(),
        None => parsed.protocol[..parsed.protocol.len() - 1].to_string(),
    };
    Some(GitHost {
        host,
        user,
        auth,
        project,
        committish,
        default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, repository.url after npm's normalisation, bugs(), docs(),
    /// toString()); `None` means "not a hosted URL". Generated by running
    /// hosted-git-info 9.0.3 as bundled with npm 11.19.1 on each input.
    #[allow(clippy::type_complexity)]
    const TABLE: &[(&str, Option<&str>, Option<&str>, Option<&str>, Option<&str>)] = &[
        (
            "github:u/r",
            Some("git+https://github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("github:u/r"),
        ),
        (
            "u/r",
            Some("git+https://github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("github:u/r"),
        ),
        (
            "u/r#v1.0",
            Some("git+https://github.com/u/r.git#v1.0"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r/tree/v1.0#readme"),
            Some("github:u/r#v1.0"),
        ),
        (
            "git@github.com:u/r.git",
            Some("git+ssh://git@github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+ssh://git@github.com/u/r.git"),
        ),
        (
            "https://github.com/u/r",
            Some("git+https://github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+https://github.com/u/r.git"),
        ),
        (
            "https://www.github.com/u/r.git",
            Some("git+https://github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+https://github.com/u/r.git"),
        ),
        (
            "git+https://github.com/u/r.git",
            Some("git+https://github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+https://github.com/u/r.git"),
        ),
        (
            "git://github.com/u/r.git",
            Some("git://github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git://github.com/u/r.git"),
        ),
        (
            "http://github.com/u/r",
            Some("git+ssh://git@github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+ssh://git@github.com/u/r.git"),
        ),
        (
            "https://tok:x@github.com/u/r.git",
            Some("git+https://tok:x@github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+https://tok:x@github.com/u/r.git"),
        ),
        (
            "https://github.com/u/r/tree/dev",
            Some("git+https://github.com/u/r.git#dev"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r/tree/dev#readme"),
            Some("git+https://github.com/u/r.git#dev"),
        ),
        (
            "gitlab:grp/sub/proj",
            Some("git+https://gitlab.com/grp/sub/proj.git"),
            Some("https://gitlab.com/grp/sub/proj/issues"),
            Some("https://gitlab.com/grp/sub/proj#readme"),
            Some("gitlab:grp/sub/proj"),
        ),
        (
            "https://gitlab.com/grp/sub/proj.git",
            Some("git+https://gitlab.com/grp/sub/proj.git"),
            Some("https://gitlab.com/grp/sub/proj/issues"),
            Some("https://gitlab.com/grp/sub/proj#readme"),
            Some("git+https://gitlab.com/grp/sub/proj.git"),
        ),
        (
            "git@gitlab.com:grp/proj.git",
            Some("git+ssh://git@gitlab.com/grp/proj.git"),
            Some("https://gitlab.com/grp/proj/issues"),
            Some("https://gitlab.com/grp/proj#readme"),
            Some("git+ssh://git@gitlab.com/grp/proj.git"),
        ),
        (
            "bitbucket:u/r",
            Some("git+https://bitbucket.org/u/r.git"),
            Some("https://bitbucket.org/u/r/issues"),
            Some("https://bitbucket.org/u/r#readme"),
            Some("bitbucket:u/r"),
        ),
        (
            "https://bitbucket.org/u/r.git",
            Some("git+https://bitbucket.org/u/r.git"),
            Some("https://bitbucket.org/u/r/issues"),
            Some("https://bitbucket.org/u/r#readme"),
            Some("git+https://bitbucket.org/u/r.git"),
        ),
        (
            "gist:abc123",
            Some("git+https://gist.github.com/abc123.git"),
            Some("https://gist.github.com/abc123"),
            Some("https://gist.github.com/abc123"),
            Some("gist:abc123"),
        ),
        (
            "https://gist.github.com/u/abc123",
            Some("git+https://gist.github.com/abc123.git"),
            Some("https://gist.github.com/abc123"),
            Some("https://gist.github.com/abc123"),
            Some("git+https://gist.github.com/abc123.git"),
        ),
        (
            "sourcehut:~u/r",
            Some("https://git.sr.ht/~u/r"),
            None,
            Some("https://git.sr.ht/~u/r#readme"),
            Some("sourcehut:~u/r"),
        ),
        (
            "github:r",
            Some("git+https://github.com/null/r.git"),
            Some("https://github.com/null/r/issues"),
            Some("https://github.com/null/r#readme"),
            Some("github:null/r"),
        ),
        ("https://example.com/u/r.git", None, None, None, None),
        ("git@example.com:u/r.git", None, None, None, None),
        ("./local/path", None, None, None, None),
        ("@scope/pkg", None, None, None, None),
        ("u/r/extra", None, None, None, None),
        ("https://github.com/u", None, None, None, None),
        (
            "https://github.com/u/r/archive/x.tgz",
            None,
            None,
            None,
            None,
        ),
        (
            "https://GitLab.com/g/p",
            Some("git+https://gitlab.com/g/p.git"),
            Some("https://gitlab.com/g/p/issues"),
            Some("https://gitlab.com/g/p#readme"),
            Some("git+https://gitlab.com/g/p.git"),
        ),
        ("git+ssh://git@GitHub.com/u/r.git", None, None, None, None),
        ("u/r%zz", None, None, None, None),
        (
            "https://github.com/u/r/tree",
            Some("git+https://github.com/u/r.git#undefined"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r/tree/undefined#readme"),
            Some("git+https://github.com/u/r.git#undefined"),
        ),
        (
            "git+ssh://git@github.com:u/r.git#main",
            Some("git+ssh://git@github.com/u/r.git#main"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r/tree/main#readme"),
            Some("git+ssh://git@github.com/u/r.git#main"),
        ),
        (
            "ssh://git@github.com/u/r",
            Some("git+ssh://git@github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+ssh://git@github.com/u/r.git"),
        ),
        (
            "github:u/r.git#a b",
            Some("git+https://github.com/u/r.git#a b"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r/tree/a%20b#readme"),
            Some("github:u/r#a b"),
        ),
        (
            "git://gist.github.com/abc.git",
            Some("git://gist.github.com/abc.git"),
            Some("https://gist.github.com/abc"),
            Some("https://gist.github.com/abc"),
            Some("git://gist.github.com/abc.git"),
        ),
        (
            "gist:u/abc#c1",
            Some("git+https://gist.github.com/abc.git#c1"),
            Some("https://gist.github.com/abc"),
            Some("https://gist.github.com/abc/c1"),
            Some("gist:abc#c1"),
        ),
        (
            "https://github.com/u/r#",
            Some("git+https://github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+https://github.com/u/r.git"),
        ),
        (
            "user@github.com:u/r",
            Some("git+ssh://git@github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+ssh://git@github.com/u/r.git"),
        ),
        (
            "git+https://user@github.com/u/r.git",
            Some("git+https://user@github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+https://user@github.com/u/r.git"),
        ),
        (
            "https://user:@github.com/u/r",
            Some("git+https://user@github.com/u/r.git"),
            Some("https://github.com/u/r/issues"),
            Some("https://github.com/u/r#readme"),
            Some("git+https://user@github.com/u/r.git"),
        ),
        (
            "bitbucket:u/r#x/y",
            Some("git+https://bitbucket.org/u/r.git#x/y"),
            Some("https://bitbucket.org/u/r/issues"),
            Some("https://bitbucket.org/u/r/src/x%2Fy#readme"),
            Some("bitbucket:u/r#x/y"),
        ),
    ];

    #[test]
    fn repository_urls_normalise_as_npm_does() {
        for (input, url, bugs, home, string) in TABLE {
            let h = from_url(input);
            let got_url = h.as_ref().and_then(|h| {
                if h.default == "shortcut" {
                    Some(h.https())
                } else {
                    h.to_js_string()
                }
            });
            assert_eq!(got_url.as_deref(), *url, "url of {input:?}: {h:?}");
            assert_eq!(
                h.as_ref().and_then(GitHost::bugs).as_deref(),
                *bugs,
                "bugs of {input:?}"
            );
            assert_eq!(
                h.as_ref().map(GitHost::docs).as_deref(),
                *home,
                "homepage of {input:?}"
            );
            assert_eq!(
                h.as_ref().and_then(GitHost::to_js_string).as_deref(),
                *string,
                "toString of {input:?}"
            );
        }
    }

    #[test]
    fn dependency_specs_normalise_with_to_string() {
        let table = [
            ("u/r", Some("github:u/r")),
            ("github:u/r#semver:^1.0", Some("github:u/r#semver:^1.0")),
            (
                "git@github.com:u/r",
                Some("git+ssh://git@github.com/u/r.git"),
            ),
            (
                "https://github.com/u/r.git",
                Some("git+https://github.com/u/r.git"),
            ),
            ("^1.2.3", None),
            ("npm:foo@1", None),
            ("file:../x", None),
            ("latest", None),
            ("1.0.0 - 2.0.0", None),
        ];
        for (spec, want) in table {
            assert_eq!(
                from_url(spec).and_then(|h| h.to_js_string()).as_deref(),
                want,
                "{spec}"
            );
        }
    }
}
