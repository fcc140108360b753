//! The registry document: the JSON body of the publish `PUT`, identical to
//! what npm 11.19.1 sends, field by field and in key order.
//!
//! The pipeline mirrors npm's:
//!
//! 1. `@npmcli/package-json` normalises the manifest ([`normalize_manifest`]):
//!    `pkg fix` then `prepare` for a directory (`lib/commands/publish.js`
//!    `#getManifest`), `prepare` alone for a tarball (pacote `FileFetcher`).
//!    That adds `readme`/`readmeFilename`, `gitHead`, `_id`, derived `bugs`
//!    and `homepage`, a README-derived `description`, parsed people, cleaned
//!    `bin`/`man`, `types`, `gypfile`, … (see `document/normalize.rs`).
//! 2. libnpmpublish `publish.js` `patchManifest` re-checks the name and runs
//!    `semver.clean` on the version, then `buildMetadata` wraps the manifest
//!    into `{_id, name, description, dist-tags, versions, access,
//!    _attachments}` and gives it `dist` ([`build`]).
//! 3. npm-registry-fetch sends `JSON.stringify(body)` ([`to_wire`]).
//!
//! Two deliberate differences from npm: `_nodeVersion` and `_npmVersion` are
//! not added (trustpub is neither), and a tarball source gets no
//! `_resolved`/`_integrity`/`_from` (npm leaks the local file path there).

mod hosted;
mod normalize;
mod source;

use base64::Engine as _;
use serde_json::{Map, Value};

pub use crate::js::to_wire;
pub use normalize::NO_README;
pub use source::{DirSource, PackageSource, TarballSource};

use crate::js;
use crate::semver;

/// Why the document could not be built. Every variant names the field or
/// file involved; [`DocumentError::hint`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("package.json: invalid package name {name:?}")]
    InvalidName { name: String },
    #[error("package.json: invalid version {version:?}: not a semantic version")]
    InvalidVersion { version: String },
    #[error("package.json: \"{field}\" {problem}")]
    Field { field: String, problem: String },
    #[error("cannot read {file} in the package")]
    Unreadable { file: String },
    #[error("{file} in the package is larger than {}, the most trustpub reads into the publish document", crate::limits::human(*limit))]
    TooLarge { file: String, limit: u64 },
    #[error("the tarball cannot be read: {reason}")]
    Tarball { reason: String },
    #[error("the tarball has no package/package.json")]
    NoPackageJson,
    #[error("the registry URL {registry:?} is not a valid URL: {reason}")]
    Registry { registry: String, reason: String },
}

impl DocumentError {
    /// What the maintainer should do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            DocumentError::InvalidName { .. } => {
                "use lower-case letters, digits, '-', '.' and '_' (not first), optionally scoped as @scope/name".into()
            }
            DocumentError::InvalidVersion { .. } => {
                "use a semantic version such as 1.0.0 or 2.1.0-beta.1".into()
            }
            DocumentError::Field { field, .. } => format!(
                "fix \"{field}\" in package.json (npm itself stops with a TypeError on this value)"
            ),
            DocumentError::Unreadable { file } => {
                format!("check that {file} is a readable file, or remove it")
            }
            DocumentError::TooLarge { file, .. } if file == "package.json" => {
                "make package.json smaller; no real package needs this much".into()
            }
            DocumentError::TooLarge { file, .. } => format!(
                "shorten {file} (npm copies the whole README into the document the registry stores), or set a short \"readme\" in package.json"
            ),
            DocumentError::Tarball { .. } | DocumentError::NoPackageJson => {
                "pass a .tgz made by `npm pack` or `trustpub pack`, or the package directory".into()
            }
            DocumentError::Registry { .. } => {
                "set the registry to a full URL such as https://registry.npmjs.org/".into()
            }
        })
    }
}

/// Settings that shape the document.
#[derive(Debug, Clone, Copy, Default)]
pub struct DocumentOptions<'a> {
    /// The full registry URL the package goes to, as npm's config holds it
    /// (`https://registry.npmjs.org/`); `dist.tarball` is resolved against it.
    pub registry: &'a str,
    /// The dist-tag from the config (`--tag`, `publishConfig.tag`, …). A
    /// top-level `tag` field in package.json still wins, as in npm.
    pub tag: &'a str,
    /// `public`/`restricted`, or `None` for npm's default `null`.
    pub access: Option<&'a str>,
    /// A Sigstore bundle to attach as `<name>-<version>.sigstore`.
    pub provenance_bundle: Option<&'a Value>,
}

/// npm's prepare-step normalisation of the manifest: what goes in
/// `versions[v]`, before libnpmpublish adds `_id` and `dist`. Objects come
/// out in JavaScript's key order.
pub fn normalize_manifest(
    raw: &Map<String, Value>,
    src: &dyn PackageSource,
) -> Result<Map<String, Value>, DocumentError> {
    let mut v = Value::Object(raw.clone());
    js::js_canonical(&mut v);
    let Value::Object(canonical) = v else {
        unreachable!("an object stays an object")
    };
    let out = normalize::normalize(&canonical, src)?;
    let mut v = Value::Object(out);
    js::js_canonical(&mut v);
    match v {
        Value::Object(o) => Ok(o),
        _ => unreachable!("an object stays an object"),
    }
}

/// The whole `PUT` body (libnpmpublish `publish.js` `buildMetadata`), as a
/// `Value` in npm's key order. `tarball` is the `.tgz` being published;
/// `integrity` (`sha512-…`) and `shasum` (hex SHA-1) are its digests.
pub fn build(
    raw_manifest: &Map<String, Value>,
    src: &dyn PackageSource,
    tarball: &[u8],
    integrity: &str,
    shasum: &str,
    opts: &DocumentOptions,
) -> Result<Value, DocumentError> {
    let manifest = normalize_manifest(raw_manifest, src)?;
    build_from_normalized(manifest, tarball, integrity, shasum, opts)
}

/// [`build`] for a manifest [`normalize_manifest`] already returned (npm
/// itself reads the prepared manifest first, for `publishConfig`, `private`
/// and the prerelease check, then hands that same object to libnpmpublish).
pub fn build_from_normalized(
    mut manifest: Map<String, Value>,
    tarball: &[u8],
    integrity: &str,
    shasum: &str,
    opts: &DocumentOptions,
) -> Result<Value, DocumentError> {
    // patchManifest: `_nodeVersion`/`_npmVersion` would be appended here.
    normalize::fix_name(&mut manifest)?;
    let raw_version = manifest
        .get("version")
        .map(js::to_js_string)
        .unwrap_or_default();
    let version = semver::clean(&raw_version, false).ok_or(DocumentError::InvalidVersion {
        version: raw_version,
    })?;
    manifest.insert("version".into(), Value::String(version.clone()));
    let name = manifest
        .get("name")
        .map(js::to_js_string)
        .unwrap_or_default();

    // buildMetadata
    let mut root = Map::new();
    root.insert("_id".into(), Value::String(name.clone()));
    root.insert("name".into(), Value::String(name.clone()));
    if let Some(d) = manifest.get("description") {
        root.insert("description".into(), d.clone());
    }
    let tag = match manifest.get("tag") {
        Some(t) if js::truthy(t) => js::to_js_string(t),
        _ => opts.tag.to_string(),
    };
    let tarball_name = format!("{name}-{version}.tgz");
    manifest.insert("_id".into(), Value::String(format!("{name}@{version}")));
    let mut dist = spread(manifest.get("dist"));
    dist.insert("integrity".into(), Value::String(integrity.into()));
    dist.insert("shasum".into(), Value::String(shasum.into()));
    dist.insert(
        "tarball".into(),
        Value::String(tarball_url(opts.registry, &name, &version)?),
    );
    manifest.insert("dist".into(), Value::Object(dist));

    let mut dist_tags = Map::new();
    dist_tags.insert(tag, Value::String(version.clone()));
    root.insert("dist-tags".into(), Value::Object(dist_tags));
    let mut versions = Map::new();
    versions.insert(version.clone(), Value::Object(manifest));
    root.insert("versions".into(), Value::Object(versions));
    root.insert(
        "access".into(),
        opts.access.map_or(Value::Null, |a| Value::String(a.into())),
    );

    let mut attachments = Map::new();
    let mut tgz = Map::new();
    tgz.insert(
        "content_type".into(),
        Value::String("application/octet-stream".into()),
    );
    tgz.insert(
        "data".into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(tarball)),
    );
    tgz.insert("length".into(), Value::from(tarball.len()));
    attachments.insert(tarball_name, Value::Object(tgz));
    if let Some(bundle) = opts.provenance_bundle {
        let serialized = String::from_utf8(to_wire(bundle)).unwrap_or_default();
        let mut att = Map::new();
        if let Some(media) = bundle.get("mediaType") {
            att.insert("content_type".into(), media.clone());
        }
        // `serializedBundle.length` counts UTF-16 code units, not bytes: a Rekor
        // checkpoint's signature line starts with an em dash (U+2014).
        let length = js::js_len(&serialized);
        att.insert("data".into(), Value::String(serialized));
        att.insert("length".into(), Value::from(length));
        attachments.insert(format!("{name}-{version}.sigstore"), Value::Object(att));
    }
    root.insert("_attachments".into(), Value::Object(attachments));

    let mut doc = Value::Object(root);
    js::js_canonical(&mut doc);
    Ok(doc)
}

/// `{...value}`: an object's own keys, a string's characters or an array's
/// elements by index; nothing for other values.
fn spread(v: Option<&Value>) -> Map<String, Value> {
    match v {
        Some(Value::Object(o)) => o.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v.clone()))
            .collect(),
        Some(Value::String(s)) => s
            .chars()
            .enumerate()
            .map(|(i, c)| (i.to_string(), Value::String(c.to_string())))
            .collect(),
        _ => Map::new(),
    }
}

/// npm-package-arg's `escapedName`: the first `/` as `%2f` (`@scope%2fname`),
/// the form used in the `PUT` URL path.
pub fn escaped_name(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

/// `dist.tarball` as libnpmpublish forms it: `<name>/-/<name>-<version>.tgz`
/// resolved against the registry URL (WHATWG URL rules, so a registry with a
/// path but no trailing `/` loses its last segment), the scope not escaped,
/// and `https://` downgraded to `http://`.
pub fn tarball_url(registry: &str, name: &str, version: &str) -> Result<String, DocumentError> {
    let err = |reason: String| DocumentError::Registry {
        registry: registry.to_string(),
        reason,
    };
    let base = url::Url::parse(registry).map_err(|e| err(e.to_string()))?;
    let joined = base
        .join(&format!("{name}/-/{name}-{version}.tgz"))
        .map_err(|e| err(e.to_string()))?;
    let href = joined.as_str();
    Ok(match href.strip_prefix("https://") {
        Some(rest) => format!("http://{rest}"),
        None => href.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A source with a fixed set of files and no git.
    struct Mem(Vec<(&'static str, &'static str)>);

    impl PackageSource for Mem {
        fn list(&self, dir: &str) -> Vec<String> {
            let prefix = if dir.is_empty() {
                String::new()
            } else {
                format!("{}/", dir.trim_end_matches('/'))
            };
            let mut out: Vec<String> = Vec::new();
            for (p, _) in &self.0 {
                if let Some(rest) = p.strip_prefix(&prefix) {
                    let entry = match rest.split_once('/') {
                        Some((d, _)) => format!("{d}/"),
                        None => rest.to_string(),
                    };
                    if !out.contains(&entry) {
                        out.push(entry);
                    }
                }
            }
            out.sort();
            out
        }
        fn read(&self, rel: &str) -> Option<Vec<u8>> {
            self.0
                .iter()
                .find(|(p, _)| *p == rel)
                .map(|(_, c)| c.as_bytes().to_vec())
        }
        fn exists(&self, rel: &str) -> bool {
            let rel = js::path_normalize(rel);
            self.0
                .iter()
                .any(|(p, _)| *p == rel || p.starts_with(&format!("{rel}/")))
        }
        fn git_head(&self) -> Option<String> {
            None
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn tarball_urls_resolve_like_new_url() {
        let table = [
            (
                "https://registry.npmjs.org/",
                "x",
                "1.0.0",
                "http://registry.npmjs.org/x/-/x-1.0.0.tgz",
            ),
            (
                "https://registry.npmjs.org",
                "x",
                "1.0.0",
                "http://registry.npmjs.org/x/-/x-1.0.0.tgz",
            ),
            (
                "https://registry.npmjs.org/",
                "@s/x",
                "1.0.0",
                "http://registry.npmjs.org/@s/x/-/@s/x-1.0.0.tgz",
            ),
            (
                "http://127.0.0.1:4873/",
                "@s/x",
                "2.0.0-rc.1",
                "http://127.0.0.1:4873/@s/x/-/@s/x-2.0.0-rc.1.tgz",
            ),
            (
                "https://npm.pkg.github.com:443/",
                "x",
                "1.0.0",
                "http://npm.pkg.github.com/x/-/x-1.0.0.tgz",
            ),
            (
                "https://host:8443/",
                "x",
                "1.0.0",
                "http://host:8443/x/-/x-1.0.0.tgz",
            ),
            (
                "https://host/api/npm/repo/",
                "x",
                "1.0.0",
                "http://host/api/npm/repo/x/-/x-1.0.0.tgz",
            ),
            (
                "https://host/api/npm/repo",
                "x",
                "1.0.0",
                "http://host/api/npm/x/-/x-1.0.0.tgz",
            ),
            (
                "https://host/a/../b/",
                "x",
                "1.0.0",
                "http://host/b/x/-/x-1.0.0.tgz",
            ),
            (
                "https://HOST.example/",
                "x",
                "1.0.0",
                "http://host.example/x/-/x-1.0.0.tgz",
            ),
            (
                "http://u:p@host/",
                "x",
                "1.0.0",
                "http://u:p@host/x/-/x-1.0.0.tgz",
            ),
            (
                "https://host/?q=1",
                "x",
                "1.0.0",
                "http://host/x/-/x-1.0.0.tgz",
            ),
        ];
        for (reg, name, version, want) in table {
            assert_eq!(
                tarball_url(reg, name, version).unwrap(),
                want,
                "{reg} {name}"
            );
        }
        assert!(tarball_url("not a url", "x", "1.0.0").is_err());
        assert_eq!(escaped_name("@scope/name"), "@scope%2fname");
        assert_eq!(escaped_name("plain"), "plain");
    }

    #[test]
    fn document_shape_and_key_order() {
        let raw = obj(json!({
            "name": "@s/demo",
            "version": "v1.2.3",
            "_private": 1,
            "repository": "u/r",
            "author": "A <a@b.io>",
            "bin": "./cli.js",
            "bundledDependencies": ["z"],
            "scripts": {"build": "node_modules/.bin/tsc", "bad": 1},
            "dist": {"extra": true},
            "tag": "beta"
        }));
        let src = Mem(vec![
            ("README.md", "# Demo\n\nA demo package.\n"),
            ("cli.js", ""),
        ]);
        let opts = DocumentOptions {
            registry: "https://registry.example/",
            tag: "latest",
            access: Some("public"),
            provenance_bundle: None,
        };
        let doc = build(&raw, &src, b"tgz", "sha512-x", "abc", &opts).unwrap();
        assert_eq!(
            keys(&doc),
            [
                "_id",
                "name",
                "description",
                "dist-tags",
                "versions",
                "access",
                "_attachments"
            ]
        );
        assert_eq!(doc["dist-tags"], json!({"beta": "1.2.3"}));
        assert_eq!(doc["description"], "A demo package.");
        let v = &doc["versions"]["1.2.3"];
        assert_eq!(
            keys(v),
            [
                "name",
                "version",
                "repository",
                "author",
                "bin",
                "scripts",
                "dist",
                "tag",
                "readme",
                "readmeFilename",
                "_id",
                "bundleDependencies",
                "description",
                "bugs",
                "dependencies",
                "homepage"
            ]
        );
        assert_eq!(
            v["repository"],
            json!({"type": "git", "url": "git+https://github.com/u/r.git"})
        );
        assert_eq!(v["author"], json!({"name": "A", "email": "a@b.io"}));
        assert_eq!(v["bin"], json!({"demo": "cli.js"}));
        assert_eq!(v["scripts"], json!({"build": "tsc"}));
        assert_eq!(v["dependencies"], json!({"z": "*"}));
        assert_eq!(
            v["dist"],
            json!({"extra": true, "integrity": "sha512-x", "shasum": "abc", "tarball": "http://registry.example/@s/demo/-/@s/demo-1.2.3.tgz"})
        );
        assert_eq!(v["_id"], "@s/demo@1.2.3");
        assert_eq!(
            doc["_attachments"],
            json!({"@s/demo-1.2.3.tgz": {"content_type": "application/octet-stream", "data": "dGd6", "length": 3}})
        );
        assert_eq!(doc["access"], "public");
        let wire = String::from_utf8(to_wire(&doc)).unwrap();
        assert!(wire.starts_with("{\"_id\":\"@s/demo\",\"name\":\"@s/demo\",\"description\":\"A demo package.\",\"dist-tags\":{\"beta\":\"1.2.3\"}"));
    }

    #[test]
    fn no_readme_and_null_access() {
        let raw = obj(json!({"name": "x", "version": "1.0.0", "1": "one"}));
        let doc = build(
            &raw,
            &Mem(vec![]),
            b"",
            "sha512-",
            "",
            &DocumentOptions {
                registry: "http://r/",
                tag: "latest",
                ..Default::default()
            },
        )
        .unwrap();
        let v = &doc["versions"]["1.0.0"];
        assert_eq!(v["readme"], NO_README);
        assert!(doc.get("description").is_none());
        assert_eq!(doc["access"], Value::Null);
        assert_eq!(keys(v), ["1", "name", "version", "readme", "_id", "dist"]);
    }

    #[test]
    fn files_in_the_package_add_fields() {
        let raw = obj(
            json!({"name": "x", "version": "1.0.0", "main": "lib/index.js", "directories": {"bin": "./bin", "man": "man"}}),
        );
        let src = Mem(vec![
            ("binding.gyp", ""),
            ("server.js", ""),
            ("AUTHORS", "# comment\nAnn <ann@x.io>\n\nBob (http://bob)\n"),
            ("lib/index.d.ts", ""),
            ("bin/a.js", ""),
            ("bin/sub/b.js", ""),
            ("man/x.1", ""),
            ("man/y.txt", ""),
            ("readme.markdown", "Hello"),
        ]);
        let m = normalize_manifest(&raw, &src).unwrap();
        assert_eq!(
            Value::Object(m.clone()),
            json!({
                "name": "x", "version": "1.0.0", "main": "lib/index.js",
                "directories": {"bin": "./bin", "man": "man"},
                "scripts": {"install": "node-gyp rebuild", "start": "node server.js"},
                "gypfile": true,
                "contributors": [{"name": "Ann", "email": "ann@x.io"}, {"name": "Bob", "url": "http://bob"}],
                "readme": "Hello", "readmeFilename": "readme.markdown",
                "man": ["man/x.1"],
                "bin": {"sub": "bin/sub", "a.js": "bin/a.js", "b.js": "bin/sub/b.js"},
                "types": "./lib/index.d.ts",
                "_id": "x@1.0.0",
                "description": "Hello"
            })
        );
        let k: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            k,
            [
                "name",
                "version",
                "main",
                "directories",
                "scripts",
                "gypfile",
                "contributors",
                "readme",
                "readmeFilename",
                "man",
                "bin",
                "types",
                "_id",
                "description"
            ]
        );
    }

    #[test]
    fn provenance_bundle_is_attached() {
        let raw = obj(json!({"name": "x", "version": "1.0.0"}));
        let bundle = json!({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "é": 1});
        let doc = build(
            &raw,
            &Mem(vec![]),
            b"",
            "i",
            "s",
            &DocumentOptions {
                registry: "http://r/",
                tag: "latest",
                access: None,
                provenance_bundle: Some(&bundle),
            },
        )
        .unwrap();
        let att = &doc["_attachments"]["x-1.0.0.sigstore"];
        assert_eq!(
            att["content_type"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(
            att["data"],
            "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"é\":1}"
        );
        assert_eq!(att["length"], 67);
    }

    #[test]
    fn bad_values_are_errors_with_hints() {
        let src = Mem(vec![]);
        for (raw, field) in [
            (json!({"name": "x", "version": "1.0.0", "main": 5}), "main"),
            (
                json!({"name": "x", "version": "1.0.0", "contributors": [null]}),
                "author/contributors/maintainers",
            ),
            (
                json!({"name": "x", "version": "1.0.0", "readme": 5}),
                "readme",
            ),
        ] {
            match normalize_manifest(&obj(raw), &src) {
                Err(e @ DocumentError::Field { .. }) => {
                    assert!(e.to_string().contains(field), "{e}");
                    assert!(e.hint().is_some());
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            normalize_manifest(&obj(json!({"name": "Bad Name", "version": "1.0.0"})), &src),
            Err(DocumentError::InvalidName { .. })
        ));
        assert!(matches!(
            normalize_manifest(&obj(json!({"name": "x", "version": "one"})), &src),
            Err(DocumentError::InvalidVersion { .. })
        ));
    }
}

/// The repository a package.json `repository` field names (a string, or an
/// object with `url`), read as hosted-git-info reads it: its host's domain
/// and its `user/project` path. `None` for anything that is not on a host
/// hosted-git-info knows (GitHub, GitLab, Bitbucket, Gist, Sourcehut).
pub fn repository_slug(repository: &Value) -> Option<(String, String)> {
    let url = match repository {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("url")?.as_str()?,
        _ => return None,
    };
    let h = hosted::from_url(url)?;
    let user = h.user.clone().filter(|u| !u.is_empty())?;
    Some((h.host.domain().to_string(), format!("{user}/{}", h.project)))
}

#[cfg(test)]
mod repository_slug_tests {
    use super::*;

    #[test]
    fn repository_fields_name_their_repository() {
        let slug = |v: Value| repository_slug(&v);
        assert_eq!(
            slug(Value::String("github:Octo/widgets".into())),
            Some(("github.com".into(), "Octo/widgets".into()))
        );
        assert_eq!(
            slug(
                serde_json::json!({"type": "git", "url": "git+https://github.com/octo/widgets.git"})
            ),
            Some(("github.com".into(), "octo/widgets".into()))
        );
        assert_eq!(
            slug(Value::String(
                "https://gitlab.com/group/sub/proj.git".into()
            ))
            .map(|s| s.0),
            Some("gitlab.com".into())
        );
        assert_eq!(
            slug(Value::String("https://example.com/x.git".into())),
            None
        );
        assert_eq!(slug(Value::Null), None);
    }
}
