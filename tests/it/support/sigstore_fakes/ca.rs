//! The fake Fulcio's certificate authority: a P-256 root and (by default)
//! an intermediate, a fake CT log that signs SCTs, and the mapping from OIDC
//! claims to what Fulcio writes into a code-signing certificate.
//!
//! What Fulcio does, and this with it (sigstore/fulcio `pkg/ca`,
//! `pkg/certificate/extensions.go`, `pkg/identity/ciprovider`,
//! `config/identity/config.yaml`):
//!
//! * The leaf carries the client's public key, an **empty subject**, a
//!   random 20-byte serial, `notBefore` = now and `notAfter` = now + 10 min.
//! * Extensions, in the order Go's `x509.CreateCertificate` writes them:
//!   KeyUsage (critical, digitalSignature), ExtKeyUsage (codeSigning),
//!   SubjectKeyIdentifier (SHA-1 of the public key bits), AuthorityKeyIdentifier,
//!   SubjectAltName (critical, because the subject is empty), then Fulcio's
//!   own `1.3.6.1.4.1.57264.1.*` extensions in `Extensions.Render` order,
//!   and last the embedded SCT list (`1.3.6.1.4.1.11129.2.4.2`).
//! * Fulcio extensions: `.1` issuer (raw bytes, deprecated) and `.8` issuer
//!   (DER UTF8String) always; for GitHub Actions also the deprecated raw
//!   `.2`–`.6` (event_name, sha, workflow, repository, ref) and the DER
//!   UTF8String `.9`–`.22` (+ `.23` when the job has an environment), from
//!   the `github-workflow` templates; for GitLab the `.9`–`.22` (+ `.23`)
//!   of the `gitlab-pipeline` templates. Empty values are left out.
//! * SAN: GitHub `https://github.com/<job_workflow_ref>`; GitLab
//!   `https://<ci_config_ref_uri>`; e-mail issuers an rfc822Name.
//! * Embedded SCT, the precertificate flow of RFC 6962: the CT log signs the
//!   TBS of the leaf *without* the SCT extension (plus the hash of the
//!   issuer's SPKI), and the final leaf is the same TBS with the SCT list
//!   appended as the last extension.

use std::time::Duration;

use rand::Rng as _;
use serde_json::{Map, Value};
use sha1::{Digest as _, Sha1};
use x509_cert::der::asn1::{BitString, Ia5String, OctetString, UtcTime, Utf8StringRef};
use x509_cert::der::oid::db::rfc5280::ID_KP_CODE_SIGNING;
use x509_cert::der::oid::db::rfc5912::ECDSA_WITH_SHA_256;
use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
use x509_cert::der::{Decode as _, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

use super::crypto::{pem_encode, sha256, EcKey};

/// `1.3.6.1.4.1.11129.2.4.2`: the embedded SCT list.
pub const OID_SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";
/// Fulcio's extension arc: `1.3.6.1.4.1.57264.1.<n>`.
pub const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1";

/// How long Fulcio's leaves are valid.
pub const LEAF_VALIDITY: Duration = Duration::from_secs(600);

/// What kind of identity an issuer's tokens stand for (Fulcio's issuer
/// `type`): it decides the SAN, the extensions, and which claim the proof
/// of possession signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerKind {
    /// `ci-provider` / `github-workflow` (token.actions.githubusercontent.com).
    GithubWorkflow,
    /// `ci-provider` / `gitlab-pipeline` (gitlab.com and self-managed GitLab).
    GitlabPipeline,
    /// `email` (accounts.google.com, …): SAN = the verified `email`.
    Email,
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    Uri(String),
    Email(String),
}

impl San {
    pub fn as_str(&self) -> &str {
        match self {
            San::Uri(s) | San::Email(s) => s,
        }
    }
}

/// One Fulcio extension: `1.3.6.1.4.1.57264.1.<arc>` and its string value.
/// Arcs 1–6 are written as raw bytes (Fulcio's deprecated encoding), the
/// others as a DER UTF8String.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulcioExtension {
    pub arc: u32,
    pub value: String,
}

impl FulcioExtension {
    pub fn oid(&self) -> String {
        format!("{FULCIO_ARC}.{}", self.arc)
    }

    /// The extnValue bytes as Fulcio writes them.
    pub fn der_value(&self) -> Vec<u8> {
        if self.arc <= 7 {
            self.value.as_bytes().to_vec()
        } else {
            Utf8StringRef::new(&self.value)
                .and_then(|s| s.to_der())
                .expect("UTF8String")
        }
    }
}

/// What Fulcio certifies for one token: the SAN, the extensions, and the
/// claim the proof of possession must sign (`principal.Name()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub san: San,
    pub extensions: Vec<FulcioExtension>,
    pub challenge: String,
}

impl Identity {
    /// The issuer extension's value (`.8`).
    pub fn issuer(&self) -> Option<&str> {
        self.extension(8)
    }

    pub fn extension(&self, arc: u32) -> Option<&str> {
        self.extensions
            .iter()
            .find(|e| e.arc == arc)
            .map(|e| e.value.as_str())
    }
}

/// A claim as Go's `fmt.Sprintf("%s", v)` renders it (Fulcio's
/// `mapValuesToString`): strings as they are, anything else in Go's
/// "wrong verb" form, e.g. `%!s(float64=12345)`.
fn claim_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => format!("%!s(float64={})", n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => format!("%!s(bool={b})"),
        Value::Null => "%!s(<nil>)".to_string(),
        other => format!("{other}"),
    }
}

/// Renders a Fulcio extension template against the claims and defaults
/// (claims win): either `"claim_name"` or a template with `{{ .name }}`
/// parts. Like Go's `missingkey=error`, a missing name is an error.
fn render(
    template: &str,
    claims: &Map<String, Value>,
    defaults: &[(&str, &str)],
) -> Result<String, String> {
    let lookup = |name: &str| -> Result<String, String> {
        if let Some(v) = claims.get(name) {
            return Ok(claim_string(v));
        }
        defaults
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| format!("value <{name}> not present in either claims or defaults"))
    };
    if !template.contains("{{") {
        return lookup(template);
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .ok_or_else(|| format!("unterminated template {template:?}"))?;
        let name = rest[start + 2..start + end].trim();
        let name = name
            .strip_prefix('.')
            .ok_or_else(|| format!("unsupported template part {name:?}"))?;
        out.push_str(&lookup(name.trim())?);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The templates of Fulcio's `github-workflow` CI provider, as
/// `(arc, template)`, in `Extensions.Render` order (after the issuer).
const GITHUB_TEMPLATES: &[(u32, &str)] = &[
    (2, "event_name"),
    (3, "sha"),
    (4, "workflow"),
    (5, "repository"),
    (6, "ref"),
    (9, "{{ .url }}/{{ .job_workflow_ref }}"),
    (10, "job_workflow_sha"),
    (11, "runner_environment"),
    (12, "{{ .url }}/{{ .repository }}"),
    (13, "sha"),
    (14, "ref"),
    (15, "repository_id"),
    (16, "{{ .url }}/{{ .repository_owner }}"),
    (17, "repository_owner_id"),
    (18, "{{ .url }}/{{ .workflow_ref }}"),
    (19, "workflow_sha"),
    (20, "event_name"),
    (
        21,
        "{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}",
    ),
    (22, "repository_visibility"),
    (23, "environment"),
];
const GITHUB_DEFAULTS: &[(&str, &str)] = &[("url", "https://github.com"), ("environment", "")];
const GITHUB_SAN: &str = "{{ .url }}/{{ .job_workflow_ref }}";

/// The templates of Fulcio's `gitlab-pipeline` CI provider.
/// (`.14` is `refs/heads/<ref>` for branches, `refs/tags/<ref>` otherwise;
/// handled in code.)
const GITLAB_TEMPLATES: &[(u32, &str)] = &[
    (9, "https://{{ .ci_config_ref_uri }}"),
    (10, "ci_config_sha"),
    (11, "runner_environment"),
    (12, "{{ .url }}/{{ .project_path }}"),
    (13, "sha"),
    (14, "<ref>"),
    (15, "project_id"),
    (16, "{{ .url }}/{{ .namespace_path }}"),
    (17, "namespace_id"),
    (18, "https://{{ .ci_config_ref_uri }}"),
    (19, "ci_config_sha"),
    (20, "pipeline_source"),
    (21, "{{ .url }}/{{ .project_path }}/-/jobs/{{ .job_id }}"),
    (22, "project_visibility"),
    (23, "environment"),
];
const GITLAB_DEFAULTS: &[(&str, &str)] = &[("url", "https://gitlab.com"), ("environment", "")];
const GITLAB_SAN: &str = "https://{{ .ci_config_ref_uri }}";

/// What Fulcio would certify for verified `claims` from an issuer of
/// `kind`. Errors as Fulcio's principal/template code does (missing claims,
/// unverified e-mail).
pub fn identity_from_claims(
    kind: IssuerKind,
    claims: &Map<String, Value>,
) -> Result<Identity, String> {
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or("the token has no iss")?
        .to_string();
    let issuer_exts = |exts: &mut Vec<FulcioExtension>| {
        exts.insert(
            0,
            FulcioExtension {
                arc: 1,
                value: iss.clone(),
            },
        );
    };
    match kind {
        IssuerKind::Email => {
            let email = claims
                .get("email")
                .and_then(Value::as_str)
                .ok_or("token missing email claim")?;
            if claims.get("email_verified") != Some(&Value::Bool(true)) {
                return Err("email_verified claim was false".into());
            }
            let mut exts = vec![FulcioExtension {
                arc: 8,
                value: iss.clone(),
            }];
            issuer_exts(&mut exts);
            Ok(Identity {
                san: San::Email(email.to_string()),
                extensions: exts,
                challenge: email.to_string(),
            })
        }
        IssuerKind::GithubWorkflow | IssuerKind::GitlabPipeline => {
            let (templates, defaults, san_t) = match kind {
                IssuerKind::GithubWorkflow => (GITHUB_TEMPLATES, GITHUB_DEFAULTS, GITHUB_SAN),
                _ => (GITLAB_TEMPLATES, GITLAB_DEFAULTS, GITLAB_SAN),
            };
            let san = render(san_t, claims, defaults)?;
            url::Url::parse(&san).map_err(|e| format!("SAN {san:?} is not a URL: {e}"))?;
            let mut exts = Vec::new();
            for (arc, template) in templates {
                let value = if *template == "<ref>" {
                    let ref_type = render("ref_type", claims, defaults)?;
                    let r = render("ref", claims, defaults)?;
                    if ref_type == "branch" {
                        format!("refs/heads/{r}")
                    } else {
                        format!("refs/tags/{r}")
                    }
                } else {
                    render(template, claims, defaults)?
                };
                if !value.is_empty() {
                    exts.push(FulcioExtension { arc: *arc, value });
                }
            }
            // .8 (issuer, DER) comes right after the deprecated .1–.6.
            let pos = exts.iter().position(|e| e.arc > 7).unwrap_or(exts.len());
            exts.insert(
                pos,
                FulcioExtension {
                    arc: 8,
                    value: iss.clone(),
                },
            );
            issuer_exts(&mut exts);
            let sub = claims
                .get("sub")
                .and_then(Value::as_str)
                .ok_or("token missing sub claim")?;
            Ok(Identity {
                san: San::Uri(san),
                extensions: exts,
                challenge: sub.to_string(),
            })
        }
    }
}

/// A fake certificate transparency log: it only signs SCTs.
pub struct CtLog {
    pub key: EcKey,
}

impl CtLog {
    pub fn new() -> CtLog {
        CtLog {
            key: EcKey::generate(),
        }
    }

    /// `sha256(SPKI DER)`, the SCT's log ID.
    pub fn log_id(&self) -> [u8; 32] {
        self.key.key_id()
    }

    /// A v1 SCT for a precertificate (RFC 6962 §3.2), TLS-encoded:
    /// `version ‖ logID ‖ timestamp ‖ ext_len(0) ‖ hash(sha256=4) ‖
    /// sig(ecdsa=3) ‖ u16 len ‖ DER signature` over
    /// `0 ‖ 0 ‖ timestamp ‖ 0x0001 ‖ sha256(issuer SPKI) ‖ u24 len ‖ TBS ‖ 0x0000`.
    pub fn sign_precert(
        &self,
        timestamp_ms: u64,
        issuer_spki_der: &[u8],
        tbs_der: &[u8],
    ) -> Vec<u8> {
        let mut signed = vec![0u8, 0u8];
        signed.extend_from_slice(&timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&[0, 1]);
        signed.extend_from_slice(&sha256(issuer_spki_der));
        let n = tbs_der.len() as u32;
        signed.extend_from_slice(&n.to_be_bytes()[1..]);
        signed.extend_from_slice(tbs_der);
        signed.extend_from_slice(&[0, 0]);
        let sig = self.key.sign(&signed);
        let mut sct = vec![0u8];
        sct.extend_from_slice(&self.log_id());
        sct.extend_from_slice(&timestamp_ms.to_be_bytes());
        sct.extend_from_slice(&[0, 0, 4, 3]);
        sct.extend_from_slice(&(sig.len() as u16).to_be_bytes());
        sct.extend_from_slice(&sig);
        sct
    }
}

impl Default for CtLog {
    fn default() -> Self {
        CtLog::new()
    }
}

/// One certificate and the key it certifies.
pub struct CaCert {
    pub key: EcKey,
    pub cert: Certificate,
    pub der: Vec<u8>,
}

impl CaCert {
    pub fn pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }
    fn subject(&self) -> Name {
        self.cert.tbs_certificate.subject.clone()
    }
    fn ski(&self) -> Vec<u8> {
        ski(&self.key.point())
    }
}

/// A leaf as issued.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub der: Vec<u8>,
    pub pem: String,
    /// The SCT embedded in it, TLS-encoded (None if SCTs are off).
    pub sct: Option<Vec<u8>>,
    pub not_before: u64,
    pub not_after: u64,
}

/// The fake Fulcio's CA: a root and an optional intermediate that issues
/// the leaves (Fulcio's public-good chain is root → intermediate → leaf).
pub struct CertAuthority {
    pub root: CaCert,
    pub intermediate: Option<CaCert>,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn ski(point: &[u8]) -> Vec<u8> {
    Sha1::digest(point).to_vec()
}

fn ext<T: Encode + AssociatedOid>(critical: bool, v: &T) -> Extension {
    Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(v.to_der().expect("encode extension")).expect("octets"),
    }
}

fn raw_ext(oid: &str, value: Vec<u8>) -> Extension {
    Extension {
        extn_id: ObjectIdentifier::new(oid).expect("OID"),
        critical: false,
        extn_value: OctetString::new(value).expect("octets"),
    }
}

fn random_serial() -> SerialNumber {
    let mut b: [u8; 20] = rand::thread_rng().gen();
    b[0] = (b[0] & 0x7f) | 0x01;
    SerialNumber::new(&b).expect("serial")
}

fn validity(from: u64, to: u64) -> Validity {
    let t = |s: u64| {
        Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(s)).expect("UTCTime"))
    };
    Validity {
        not_before: t(from),
        not_after: t(to),
    }
}

fn alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA_256,
        parameters: None,
    }
}

fn sign_tbs(tbs: TbsCertificate, key: &EcKey) -> (Certificate, Vec<u8>) {
    let tbs_der = tbs.to_der().expect("encode TBS");
    let sig = key.sign(&tbs_der);
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg(),
        signature: BitString::from_bytes(&sig).expect("bit string"),
    };
    let der = cert.to_der().expect("encode certificate");
    (cert, der)
}

impl CertAuthority {
    /// A new root (and intermediate, if `with_intermediate`), valid from a
    /// day ago for ten years. `label` goes into the common names.
    pub fn new(with_intermediate: bool, label: &str) -> CertAuthority {
        let now = now_secs();
        let from = now - 86_400;
        let to = now + 10 * 365 * 86_400;
        let root_key = EcKey::generate();
        let root_name: Name = format!("CN={label}-root,O=trustpub-test.invalid")
            .parse()
            .expect("root name");
        let root_ski = ski(&root_key.point());
        let ca_usage = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        let root_tbs = TbsCertificate {
            version: Version::V3,
            serial_number: random_serial(),
            signature: alg(),
            issuer: root_name.clone(),
            validity: validity(from, to),
            subject: root_name,
            subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(&root_key.spki_der())
                .expect("SPKI"),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                ext(true, &ca_usage),
                ext(
                    true,
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(1),
                    },
                ),
                ext(
                    false,
                    &SubjectKeyIdentifier(OctetString::new(root_ski).expect("octets")),
                ),
            ]),
        };
        let (cert, der) = sign_tbs(root_tbs, &root_key);
        let root = CaCert {
            key: root_key,
            cert,
            der,
        };
        let intermediate = with_intermediate.then(|| {
            let key = EcKey::generate();
            let name: Name = format!("CN={label}-intermediate,O=trustpub-test.invalid")
                .parse()
                .expect("intermediate name");
            let tbs = TbsCertificate {
                version: Version::V3,
                serial_number: random_serial(),
                signature: alg(),
                issuer: root.subject(),
                validity: validity(from, to),
                subject: name,
                subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(&key.spki_der())
                    .expect("SPKI"),
                issuer_unique_id: None,
                subject_unique_id: None,
                extensions: Some(vec![
                    ext(true, &ca_usage),
                    ext(false, &ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING])),
                    ext(
                        true,
                        &BasicConstraints {
                            ca: true,
                            path_len_constraint: Some(0),
                        },
                    ),
                    ext(
                        false,
                        &SubjectKeyIdentifier(OctetString::new(ski(&key.point())).expect("octets")),
                    ),
                    ext(
                        false,
                        &AuthorityKeyIdentifier {
                            key_identifier: Some(OctetString::new(root.ski()).expect("octets")),
                            authority_cert_issuer: None,
                            authority_cert_serial_number: None,
                        },
                    ),
                ]),
            };
            let (cert, der) = sign_tbs(tbs, &root.key);
            CaCert { key, cert, der }
        });
        CertAuthority { root, intermediate }
    }

    /// The certificate that signs leaves.
    pub fn issuer(&self) -> &CaCert {
        self.intermediate.as_ref().unwrap_or(&self.root)
    }

    /// DER certificates from the issuer up to the root (`[intermediate, root]`
    /// or `[root]`), as a trusted root's `certChain` lists them.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        if let Some(i) = &self.intermediate {
            v.push(i.der.clone());
        }
        v.push(self.root.der.clone());
        v
    }

    /// PEM certificates from the issuer up to the root.
    pub fn chain_pem(&self) -> Vec<String> {
        self.chain_der()
            .iter()
            .map(|d| pem_encode("CERTIFICATE", d))
            .collect()
    }

    /// Issues a Fulcio-style leaf for `spki_der` (see the module docs). With
    /// `ct`, the leaf embeds an SCT from it (precertificate flow).
    pub fn issue_leaf(
        &self,
        spki_der: &[u8],
        identity: &Identity,
        ct: Option<&CtLog>,
        validity_secs: u64,
    ) -> Result<Leaf, String> {
        let spki =
            SubjectPublicKeyInfoOwned::from_der(spki_der).map_err(|e| format!("SPKI: {e}"))?;
        let point = spki.subject_public_key.raw_bytes().to_vec();
        let issuer = self.issuer();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64;
        let now = now_ms / 1000;
        let san = match &identity.san {
            San::Uri(u) => GeneralName::UniformResourceIdentifier(
                Ia5String::new(u).map_err(|e| format!("SAN {u:?}: {e}"))?,
            ),
            San::Email(e) => GeneralName::Rfc822Name(
                Ia5String::new(e).map_err(|err| format!("SAN {e:?}: {err}"))?,
            ),
        };
        let mut exts = vec![
            ext(true, &KeyUsage(KeyUsages::DigitalSignature.into())),
            ext(false, &ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING])),
            ext(
                false,
                &SubjectKeyIdentifier(OctetString::new(ski(&point)).expect("octets")),
            ),
            ext(
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(issuer.ski()).expect("octets")),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
            ),
            ext(true, &SubjectAltName(vec![san])),
        ];
        for e in &identity.extensions {
            exts.push(raw_ext(&e.oid(), e.der_value()));
        }
        let mut tbs = TbsCertificate {
            version: Version::V3,
            serial_number: random_serial(),
            signature: alg(),
            issuer: issuer.subject(),
            validity: validity(now, now + validity_secs),
            subject: Name::default(),
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(exts),
        };
        let mut sct_bytes = None;
        if let Some(ct) = ct {
            let precert_tbs = tbs.to_der().map_err(|e| format!("TBS: {e}"))?;
            let sct = ct.sign_precert(now_ms, &issuer.key.spki_der(), &precert_tbs);
            let mut list = Vec::new();
            list.extend_from_slice(&((sct.len() + 2) as u16).to_be_bytes());
            list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
            list.extend_from_slice(&sct);
            let inner = OctetString::new(list)
                .and_then(|o| o.to_der())
                .expect("SCT list");
            tbs.extensions
                .as_mut()
                .expect("extensions")
                .push(raw_ext(OID_SCT_LIST, inner));
            sct_bytes = Some(sct);
        }
        let (_, der) = sign_tbs(tbs, &issuer.key);
        Ok(Leaf {
            pem: pem_encode("CERTIFICATE", &der),
            der,
            sct: sct_bytes,
            not_before: now,
            not_after: now + validity_secs,
        })
    }
}

/// The extensions of a DER certificate as `(dotted OID, critical, extnValue)`.
pub fn extensions_of(cert_der: &[u8]) -> Result<Vec<(String, bool, Vec<u8>)>, String> {
    let cert = Certificate::from_der(cert_der).map_err(|e| format!("not a certificate: {e}"))?;
    Ok(cert
        .tbs_certificate
        .extensions
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            (
                e.extn_id.to_string(),
                e.critical,
                e.extn_value.as_bytes().to_vec(),
            )
        })
        .collect())
}

/// The SPKI (DER) of a PEM or DER certificate.
pub fn cert_spki(cert_der: &[u8]) -> Result<Vec<u8>, String> {
    let cert = Certificate::from_der(cert_der).map_err(|e| format!("not a certificate: {e}"))?;
    cert.tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| format!("SPKI: {e}"))
}
