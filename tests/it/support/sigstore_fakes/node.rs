//! The independent side: sigstore-js, from the reference npm's own
//! `node_modules`, run with Node. [`verify_bundle`] checks a bundle the way
//! npm's `sigstore.verify` does, but against a given trusted root
//! (`tests/tools/verify-bundle.js`); [`sigstore_js_sign`] makes bundles with
//! sigstore-js itself (`tests/tools/sigstore-fakes-sign.js`), which is how the
//! self-tests check that the fakes answer the way npm's client expects.
//!
//! Nothing here is skipped: if Node, npm or the modules are missing, the
//! caller panics with the reason.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::super::{apply_env, find_npm_root, manifest_dir, npm_program, require_npm, run};

/// The sigstore-js modules the harness loads.
pub const MODULES: &[&str] = &[
    "sigstore",
    "@sigstore/sign",
    "@sigstore/verify",
    "@sigstore/bundle",
    "@sigstore/protobuf-specs",
    "@sigstore/core",
];

/// The `node_modules` directory of the reference npm (the one
/// [`npm_program`] runs), where its bundled sigstore-js lives. Panics with
/// an explanation if npm is not the reference version or the modules are
/// missing.
pub fn npm_node_modules() -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let res = DIR.get_or_init(|| {
        require_npm();
        let prog = npm_program();
        let mut npm_dir = find_npm_root().ok();
        if npm_dir.is_none() {
            // A wrapper script: ask npm where the global modules are.
            let home = tempfile::tempdir().map_err(|e| e.to_string())?;
            let mut cmd = Command::new(&prog);
            cmd.args(["root", "-g"]);
            apply_env(&mut cmd, home.path());
            let out = cmd
                .output()
                .map_err(|e| format!("`{prog:?} root -g`: {e}"))?;
            let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            npm_dir = Some(root.join("npm"));
        }
        let nm = npm_dir.expect("npm dir").join("node_modules");
        let missing: Vec<&str> = MODULES
            .iter()
            .copied()
            .filter(|m| !nm.join(m).join("package.json").is_file())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "npm's node_modules at {} lacks {missing:?}; the Sigstore tests run npm's bundled \
                 sigstore-js (npm {} bundles sigstore 4.1.1). Run `npm ci --prefix tests/tools`.",
                nm.display(),
                super::super::NPM_VERSION
            ));
        }
        Ok(nm)
    });
    match res {
        Ok(p) => p.clone(),
        Err(e) => panic!("sigstore-js is not usable: {e}"),
    }
}

/// The Node program: `$TRUSTPUB_TEST_NODE`, else `node` from PATH.
pub fn node_program() -> std::ffi::OsString {
    std::env::var_os("TRUSTPUB_TEST_NODE").unwrap_or_else(|| "node".into())
}

fn tool(name: &str) -> PathBuf {
    let p = manifest_dir().join("tests/tools").join(name);
    assert!(p.is_file(), "missing {}", p.display());
    p
}

/// Runs `tests/tools/<script> <node_modules> <input.json>` and parses the
/// `results` array it prints.
fn run_script(script: &str, input: &Value) -> Vec<Value> {
    let nm = npm_node_modules();
    let scratch = tempfile::tempdir().expect("temp dir");
    let input_path = scratch.path().join("input.json");
    std::fs::write(&input_path, input.to_string()).expect("write input");
    let mut cmd = Command::new(node_program());
    cmd.arg(tool(script)).arg(&nm).arg(&input_path);
    apply_env(&mut cmd, scratch.path());
    let out = run(cmd, scratch.path(), script);
    if !out.status.success() {
        panic!("{script} failed:\n{}", out.describe());
    }
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{}", out.describe()));
    v["results"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{script} printed no results:\n{}", out.describe()))
}

/// What the verifier established about a bundle it accepted.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The DSSE payload parsed as JSON (the in-toto statement), or a JSON
    /// string if it is not JSON.
    pub statement: Value,
    pub payload_type: String,
    /// The certificate's SAN (URI or e-mail).
    pub san: String,
    /// The certificate's Fulcio issuer extension.
    pub issuer: String,
    /// Every certificate extension: dotted OID → extnValue bytes.
    pub oids: BTreeMap<String, Vec<u8>>,
}

impl Verified {
    /// A Fulcio extension's value as a string: `.1`–`.6` raw, the others
    /// decoded from their DER UTF8String.
    pub fn fulcio_extension(&self, arc: u32) -> Option<String> {
        let v = self.oids.get(&format!("1.3.6.1.4.1.57264.1.{arc}"))?;
        if arc <= 7 {
            return String::from_utf8(v.clone()).ok();
        }
        // UTF8String: tag 0x0c, DER length, bytes
        if v.first() != Some(&0x0c) || v.len() < 2 {
            return None;
        }
        let (len, start) = if v[1] < 0x80 {
            (v[1] as usize, 2)
        } else {
            let n = (v[1] & 0x7f) as usize;
            let mut l = 0usize;
            for b in v.get(2..2 + n)? {
                l = (l << 8) | *b as usize;
            }
            (l, 2 + n)
        };
        String::from_utf8(v.get(start..start + len)?.to_vec()).ok()
    }
}

/// Why the verifier refused a bundle.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// sigstore-js' error class: `VerificationError`, `PolicyError`,
    /// `ValidationError` (bundle shape), …
    pub name: String,
    /// The error code, e.g. `TLOG_BODY_ERROR`, `CERTIFICATE_ERROR`,
    /// `UNTRUSTED_SIGNER_ERROR` (empty for errors without one).
    pub code: String,
    pub message: String,
    /// `CODE: message (cause: …)`.
    pub description: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

/// One verification for [`verify_many`].
#[derive(Debug, Clone)]
pub struct VerifyCase {
    pub bundle: Value,
    pub trusted_root: Value,
    /// Exact SAN required (None: no SAN policy).
    pub san: Option<String>,
    /// Exact Fulcio issuer required (None: no issuer policy).
    pub issuer: Option<String>,
}

impl VerifyCase {
    pub fn new(bundle: &Value, trusted_root: &Value, san: &str, issuer: &str) -> VerifyCase {
        VerifyCase {
            bundle: bundle.clone(),
            trusted_root: trusted_root.clone(),
            san: Some(san.to_string()),
            issuer: Some(issuer.to_string()),
        }
    }
}

fn parse_result(r: &Value) -> Result<Verified, Rejection> {
    if r["ok"] == true {
        let oids = r["oids"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            hex::decode(v.as_str().unwrap_or("")).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Verified {
            statement: r["payload"].clone(),
            payload_type: r["payloadType"].as_str().unwrap_or("").to_string(),
            san: r["san"].as_str().unwrap_or("").to_string(),
            issuer: r["issuer"].as_str().unwrap_or("").to_string(),
            oids,
        })
    } else {
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        Err(Rejection {
            name: s("name"),
            code: s("code"),
            message: s("message"),
            description: s("description"),
        })
    }
}

/// Verifies several bundles in one Node process (see [`verify_bundle`]).
pub fn verify_many(cases: &[VerifyCase]) -> Vec<Result<Verified, Rejection>> {
    let input = json!({
        "cases": cases.iter().map(|c| json!({
            "bundle": c.bundle,
            "trustedRoot": c.trusted_root,
            "san": c.san,
            "issuer": c.issuer,
        })).collect::<Vec<_>>()
    });
    let results = run_script("verify-bundle.js", &input);
    assert_eq!(results.len(), cases.len(), "verify-bundle.js result count");
    results.iter().map(parse_result).collect()
}

/// Verifies `bundle` with npm's `@sigstore/verify` (`Verifier` with
/// ctlogThreshold 1 and tlogThreshold 1, i.e. SCT, SET, checkpoint, Merkle
/// proof, tlog body and DSSE signature) against `trusted_root`, requiring
/// the certificate's SAN to be exactly `expected_san` and its Fulcio
/// issuer extension exactly `expected_issuer`. Returns the decoded payload
/// (the in-toto statement) or the verifier's error as `CODE: message`.
pub fn verify_bundle(
    bundle: &Value,
    trusted_root: &Value,
    expected_san: &str,
    expected_issuer: &str,
) -> Result<Value, String> {
    verify_bundle_detailed(bundle, trusted_root, expected_san, expected_issuer)
        .map(|v| v.statement)
        .map_err(|r| r.description)
}

/// [`verify_bundle`] with everything the verifier reports.
pub fn verify_bundle_detailed(
    bundle: &Value,
    trusted_root: &Value,
    expected_san: &str,
    expected_issuer: &str,
) -> Result<Verified, Rejection> {
    verify_many(&[VerifyCase::new(
        bundle,
        trusted_root,
        expected_san,
        expected_issuer,
    )])
    .pop()
    .expect("one result")
}

/// How [`sigstore_js_sign`] drives sigstore-js.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMode {
    /// `sigstore.attest(payload, type, {fulcioURL, rekorURL, identityToken})`:
    /// npm's own call path.
    Attest,
    /// `DSSEBundleBuilder` + `FulcioSigner` + `RekorWitness` by hand.
    Builder,
}

/// One signing job for [`sigstore_js_sign_many`].
#[derive(Debug, Clone)]
pub struct SignJob {
    pub mode: SignMode,
    pub fulcio_url: String,
    pub rekor_url: String,
    /// An OIDC token with aud `sigstore`.
    pub token: String,
    pub payload: String,
    pub payload_type: String,
}

impl SignJob {
    pub fn new(fulcio_url: &str, rekor_url: &str, token: &str, payload: &str) -> SignJob {
        SignJob {
            mode: SignMode::Attest,
            fulcio_url: fulcio_url.to_string(),
            rekor_url: rekor_url.to_string(),
            token: token.to_string(),
            payload: payload.to_string(),
            payload_type: "application/vnd.in-toto+json".to_string(),
        }
    }
}

/// Runs several signing jobs in one Node process. Each result is the
/// bundle JSON (v0.3) or sigstore-js' error as `CODE: message (cause: …)`.
pub fn sigstore_js_sign_many(jobs: &[SignJob]) -> Vec<Result<Value, String>> {
    let input = json!({
        "jobs": jobs.iter().map(|j| json!({
            "mode": match j.mode { SignMode::Attest => "attest", SignMode::Builder => "builder" },
            "fulcioURL": j.fulcio_url,
            "rekorURL": j.rekor_url,
            "token": j.token,
            "payload": j.payload,
            "payloadType": j.payload_type,
        })).collect::<Vec<_>>()
    });
    let results = run_script("sigstore-fakes-sign.js", &input);
    assert_eq!(
        results.len(),
        jobs.len(),
        "sigstore-fakes-sign.js result count"
    );
    results
        .iter()
        .map(|r| {
            if r["ok"] == true {
                Ok(r["bundle"].clone())
            } else {
                Err(r["description"].as_str().unwrap_or("").to_string())
            }
        })
        .collect()
}

/// Makes one bundle with sigstore-js (npm's `sigstore.attest` path) for
/// `payload` (an in-toto statement), using `token` against the fakes.
pub fn sigstore_js_sign(
    fulcio_url: &str,
    rekor_url: &str,
    token: &str,
    payload: &str,
) -> Result<Value, String> {
    sigstore_js_sign_many(&[SignJob::new(fulcio_url, rekor_url, token, payload)])
        .pop()
        .expect("one result")
}
