//! Publishing without npm: a minimal but complete publish document (what
//! libnpmpublish PUTs: the version's manifest with `dist.shasum`/
//! `dist.integrity`, `dist-tags`, and the tarball base64 in `_attachments`)
//! and a helper that seeds a package into the shared Verdaccio with an
//! ordinary token, as a maintainer's first manual publish would.
//!
//! Trusted publishing can only be configured for a package that exists, so
//! every exchange test seeds its (unique) package first.

use std::io::Write as _;
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest as _, Sha512};

use super::super::http;
use super::super::verdaccio;

/// npm's escaped name: the first `/` becomes `%2f` (`@scope%2fname`).
pub fn escape_name(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

/// A gzipped tarball holding `package/package.json` with this manifest.
pub fn tarball(manifest: &Value) -> Vec<u8> {
    let data = serde_json::to_vec_pretty(manifest).unwrap();
    let mut tar = Vec::new();
    let mut header = [0u8; 512];
    let mut field =
        |off: usize, bytes: &[u8]| header[off..off + bytes.len()].copy_from_slice(bytes);
    field(0, b"package/package.json");
    field(100, b"0000644\0");
    field(108, b"0000000\0");
    field(116, b"0000000\0");
    field(124, format!("{:011o}\0", data.len()).as_bytes());
    field(136, b"12371573000\0"); // 1985-10-26, as npm's tarballs say
    field(156, b"0");
    field(257, b"ustar\0");
    field(263, b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| b as u32).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    tar.extend_from_slice(&header);
    tar.extend_from_slice(&data);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    tar.extend_from_slice(&[0u8; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// The body of `PUT <registry>/<escaped name>` publishing `name@version`
/// under `latest`; the tarball URL points at `registry`.
pub fn publish_document(name: &str, version: &str, registry: &str) -> Value {
    let manifest = json!({
        "name": name,
        "version": version,
        "description": "a package published by the trustpub OIDC fakes",
        "license": "MIT",
    });
    let tgz = tarball(&manifest);
    let base = name.rsplit('/').next().unwrap_or(name);
    let file = format!("{base}-{version}.tgz");
    let shasum = hex::encode(Sha1::digest(&tgz));
    let integrity = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha512::digest(&tgz))
    );
    let mut vdoc = manifest.clone();
    vdoc["_id"] = json!(format!("{name}@{version}"));
    vdoc["dist"] = json!({
        "shasum": shasum,
        "integrity": integrity,
        "tarball": format!("{}/{name}/-/{file}", registry.trim_end_matches('/')),
    });
    json!({
        "_id": name,
        "name": name,
        "description": manifest["description"],
        "dist-tags": { "latest": version },
        "versions": { version: vdoc },
        "access": null,
        "_attachments": {
            file: {
                "content_type": "application/octet-stream",
                "data": base64::engine::general_purpose::STANDARD.encode(&tgz),
                "length": tgz.len(),
            }
        }
    })
}

/// A Verdaccio token of a user made once per process for seeding (a
/// secret: redact it from messages).
pub fn seed_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        verdaccio::shared().add_user(&format!("trustpub-oidc-seeder-{}", std::process::id()))
    })
}

/// `PUT`s `name@version` straight to the shared Verdaccio with
/// [`seed_token`]; panics unless Verdaccio answers 2xx.
pub fn seed_package(name: &str, version: &str) {
    let v = verdaccio::shared();
    let doc = publish_document(name, version, &v.url);
    let url = format!("{}{}", v.url, escape_name(name));
    let auth = format!("Bearer {}", seed_token());
    let resp = http::request(
        "PUT",
        &url,
        &[
            ("content-type", "application/json"),
            ("authorization", &auth),
        ],
        doc.to_string().as_bytes(),
    )
    .unwrap_or_else(|e| panic!("seeding {name}@{version}: {e}"));
    assert!(
        (200..300).contains(&resp.status),
        "seeding {name}@{version}: Verdaccio answered {} {}",
        resp.status,
        resp.text()
    );
}
