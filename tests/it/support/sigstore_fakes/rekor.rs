//! [`FakeRekor`]: a Rekor v1 transparency log on 127.0.0.1, for `dsse`
//! 0.0.1 entries (the only kind npm 11.19.1 writes).
//!
//! `POST /api/v1/log/entries` as real Rekor answers it (sigstore/rekor
//! `pkg/types/dsse/v0.0.1/entry.go`, `pkg/api/entries.go`):
//!
//! * The body is `{"apiVersion":"0.0.1","kind":"dsse","spec":{"proposedContent":
//!   {"envelope":"<envelope JSON string>","verifiers":["<base64 PEM>"]}}}`.
//!   Each verifier is a base64 PEM certificate (or public key); **every**
//!   envelope signature must verify (ECDSA-SHA256 over DSSE's PAE) with one
//!   of them, else 400 `error processing entry: could not verify envelope: …`.
//! * The stored (canonical) body replaces the proposed content:
//!   `{"apiVersion":"0.0.1","kind":"dsse","spec":{"envelopeHash":{"algorithm":"sha256",
//!   "value":<hex sha256 of the exact envelope string>},"payloadHash":{…sha256 of the
//!   decoded payload},"signatures":[{"signature":<sig as in the envelope>,
//!   "verifier":<base64 of the verifier re-encoded as canonical PEM>}]}}`,
//!   as JCS canonical JSON (sorted keys, compact), signatures sorted.
//! * The leaf (`SHA256(0x00 ‖ body)`) is appended to the active shard's
//!   RFC 6962 tree, which is pre-filled with dummy leaves, and (by default)
//!   a few more dummy leaves follow it, as other clients' entries would: the
//!   inclusion proof has both inner and border hashes.
//! * The answer is **201** `{"<uuid>": {"body", "integratedTime", "logID",
//!   "logIndex", "verification": {"inclusionProof": {"checkpoint", "hashes",
//!   "logIndex", "rootHash", "treeSize"}, "signedEntryTimestamp"}}}` with
//!   `uuid` = 16 hex digits of the tree ID + the hex leaf hash, `logIndex`
//!   the **global** index (shard offset + index in the shard; the proof's
//!   `logIndex` is the shard index), `logID` = hex `sha256(SPKI DER)` of the
//!   log key, the SET = the log key's signature over the canonical JSON of
//!   `{"body","integratedTime","logID","logIndex"}`, and a signed checkpoint
//!   (`"<name> - <treeID>\n<size>\n<b64 root>\n\n— <name> <b64(logID[0..4] ‖ sig)>\n"`,
//!   `<name>` = `127.0.0.1:<port>`, which matches the trusted root's
//!   `baseUrl` as sigstore-js requires).
//! * A second submission of an entry with the same canonical body → 409
//!   `an equivalent entry already exists in the transparency log with UUID …`
//!   with a `Location` header. Errors are `{"code":<status>,"message":"…"}`.
//!
//! Also served: `GET /api/v1/log` (log info), `GET /api/v1/log/publicKey`,
//! `GET /api/v1/log/entries/<uuid>` (with a proof against the current tree).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use rand::Rng as _;
use serde_json::{json, Value};

use super::super::http::{path_of, Request, Server};
use super::super::oidc_fakes::jwt::now;
use super::ca::cert_spki;
use super::crypto::{
    b64, b64_decode, canonical_json, pae, parse_public_key, pem_decode, pem_encode, sha256_hex,
    verify_der, EcKey,
};
use super::http::{self, Fault, Journal, Record, Reply};
use super::merkle::{self, Hash};

/// How to start a [`FakeRekor`].
#[derive(Debug, Clone)]
pub struct RekorOptions {
    /// Dummy leaves in the active shard before the first entry (default 13).
    pub prefill: usize,
    /// Dummy leaves appended right after each entry, before its proof is
    /// made (default 2).
    pub trailing: usize,
    /// Entries in earlier (inactive) shards: global index = offset + shard
    /// index (default 1 000 000 + a random part).
    pub shard_offset: u64,
    /// The active shard's tree ID (default random).
    pub tree_id: i64,
}

impl Default for RekorOptions {
    fn default() -> Self {
        let mut rng = rand::thread_rng();
        RekorOptions {
            prefill: 13,
            trailing: 2,
            shard_offset: 1_000_000 + rng.gen_range(0..1_000_000),
            tree_id: rng.gen_range(1_000_000_000_000_000_000..i64::MAX),
        }
    }
}

/// An entry the log holds.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub uuid: String,
    /// The canonical body, parsed.
    pub body: Value,
    /// The canonical body, base64 (the response's `body`).
    pub body_b64: String,
    pub leaf_hash: Hash,
    /// Index in the active shard's tree.
    pub shard_index: u64,
    /// Global index (what the bundle's `logIndex` says).
    pub log_index: u64,
    pub integrated_time: i64,
    /// The envelope string as submitted.
    pub envelope: String,
}

struct State {
    leaves: Vec<Hash>,
    entries: Vec<LogEntry>,
}

struct Inner {
    url: String,
    name: String,
    options: RekorOptions,
    key: EcKey,
    journal: Journal,
    state: Mutex<State>,
}

/// The fake Rekor. See the module docs.
pub struct FakeRekor {
    inner: Arc<Inner>,
    _server: Server,
}

fn dummy_leaf() -> Hash {
    let body: [u8; 32] = rand::thread_rng().gen();
    merkle::leaf_hash(&body)
}

impl FakeRekor {
    pub fn start() -> FakeRekor {
        FakeRekor::start_with(RekorOptions::default())
    }

    pub fn start_with(options: RekorOptions) -> FakeRekor {
        let (server, inner) = http::start(
            |server| {
                let url = server.origin();
                let name = url.trim_start_matches("http://").to_string();
                let leaves = (0..options.prefill).map(|_| dummy_leaf()).collect();
                Inner {
                    url,
                    name,
                    options,
                    key: EcKey::generate(),
                    journal: Journal::default(),
                    state: Mutex::new(State {
                        leaves,
                        entries: Vec::new(),
                    }),
                }
            },
            |inner| &inner.journal,
            answer,
        );
        FakeRekor {
            inner,
            _server: server,
        }
    }

    /// `http://127.0.0.1:<port>` (the `rekorBaseURL`, and the trusted
    /// root's tlog `baseUrl`).
    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    /// The checkpoint signer name, `127.0.0.1:<port>`.
    pub fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// The checkpoint origin line, `<name> - <treeID>`.
    pub fn origin(&self) -> String {
        format!("{} - {}", self.inner.name, self.inner.options.tree_id)
    }

    pub fn options(&self) -> &RekorOptions {
        &self.inner.options
    }

    /// The log key (SET and checkpoint signatures).
    pub fn key(&self) -> &EcKey {
        &self.inner.key
    }

    /// `sha256(SPKI DER)` of the log key.
    pub fn log_id(&self) -> [u8; 32] {
        self.inner.key.key_id()
    }

    pub fn log_id_hex(&self) -> String {
        hex::encode(self.log_id())
    }

    /// Leaves in the active shard.
    pub fn tree_size(&self) -> u64 {
        self.inner.state.lock().unwrap().leaves.len() as u64
    }

    pub fn root_hash(&self) -> Hash {
        merkle::root(&self.inner.state.lock().unwrap().leaves)
    }

    /// The active shard's leaf hashes.
    pub fn leaves(&self) -> Vec<Hash> {
        self.inner.state.lock().unwrap().leaves.clone()
    }

    /// Appends `n` dummy leaves (other clients' entries).
    pub fn append_dummy_leaves(&self, n: usize) {
        let mut st = self.inner.state.lock().unwrap();
        for _ in 0..n {
            st.leaves.push(dummy_leaf());
        }
    }

    /// Entries added through the API, in order.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.inner.state.lock().unwrap().entries.clone()
    }

    /// Every request, with status and reason.
    pub fn records(&self) -> Vec<Record> {
        self.inner.journal.records.lock().unwrap().clone()
    }

    /// The `POST /api/v1/log/entries` requests only.
    pub fn create_requests(&self) -> Vec<Record> {
        self.records()
            .into_iter()
            .filter(|r| {
                r.request.method == "POST" && path_of(&r.request.url) == "/api/v1/log/entries"
            })
            .collect()
    }

    /// Queues answers for the next `POST /api/v1/log/entries` requests.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.inner.journal.faults.lock().unwrap().extend(faults);
    }

    /// A signed checkpoint for the current tree.
    pub fn checkpoint(&self) -> String {
        let st = self.inner.state.lock().unwrap();
        checkpoint(
            &self.inner,
            st.leaves.len() as u64,
            &merkle::root(&st.leaves),
        )
    }
}

/// The envelope JSON exactly as sigstore-js sends it to Rekor
/// (`JSON.stringify(envelopeToJSON(env))` with an empty keyid):
/// `{"payload":"<b64>","payloadType":"…","signatures":[{"sig":"<b64>"}]}`.
pub fn envelope_json(payload: &[u8], payload_type: &str, sig: &[u8]) -> String {
    format!(
        "{{\"payload\":{},\"payloadType\":{},\"signatures\":[{{\"sig\":{}}}]}}",
        serde_json::to_string(&b64(payload)).unwrap(),
        serde_json::to_string(payload_type).unwrap(),
        serde_json::to_string(&b64(sig)).unwrap()
    )
}

/// Signs `payload` as DSSE with `key` and returns the envelope JSON.
pub fn sign_envelope(payload: &[u8], payload_type: &str, key: &EcKey) -> String {
    envelope_json(
        payload,
        payload_type,
        &key.sign(&pae(payload_type, payload)),
    )
}

/// The proposed entry sigstore-js POSTs: `verifier_pem` is the leaf
/// certificate's PEM exactly as Fulcio returned it.
pub fn proposed_dsse_entry(envelope: &str, verifier_pem: &str) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": { "proposedContent": { "envelope": envelope, "verifiers": [b64(verifier_pem.as_bytes())] } }
    })
}

fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, &json!({ "code": status, "message": message }))
}

fn checkpoint(inner: &Inner, size: u64, root: &Hash) -> String {
    let note = format!(
        "{} - {}\n{size}\n{}\n",
        inner.name,
        inner.options.tree_id,
        b64(root)
    );
    let mut sig = inner.key.key_id()[..4].to_vec();
    sig.extend(inner.key.sign(note.as_bytes()));
    format!("{note}\n\u{2014} {} {}\n", inner.name, b64(&sig))
}

/// The response object for `entry`, with a proof against the current tree.
fn entry_response(inner: &Inner, st: &State, entry: &LogEntry) -> Value {
    let log_id = hex::encode(inner.key.key_id());
    let set_payload = json!({
        "body": entry.body_b64,
        "integratedTime": entry.integrated_time,
        "logID": log_id,
        "logIndex": entry.log_index,
    });
    let set = inner.key.sign(canonical_json(&set_payload).as_bytes());
    let size = st.leaves.len() as u64;
    let root = merkle::root(&st.leaves);
    let hashes: Vec<String> = merkle::inclusion_proof(entry.shard_index as usize, &st.leaves)
        .iter()
        .map(hex::encode)
        .collect();
    json!({
        entry.uuid.clone(): {
            "body": entry.body_b64,
            "integratedTime": entry.integrated_time,
            "logID": log_id,
            "logIndex": entry.log_index,
            "verification": {
                "inclusionProof": {
                    "checkpoint": checkpoint(inner, size, &root),
                    "hashes": hashes,
                    "logIndex": entry.shard_index,
                    "rootHash": hex::encode(root),
                    "treeSize": size,
                },
                "signedEntryTimestamp": b64(&set),
            }
        }
    })
}

fn answer(req: &Request, inner: &Inner, stop: &AtomicBool) -> (Reply, String) {
    let path = path_of(&req.url);
    match (req.method.as_str(), path) {
        ("POST", "/api/v1/log/entries") => {
            if let Some(r) = inner.journal.fault_reply(stop, error) {
                return r;
            }
            match create(req, inner) {
                Ok(r) => r,
                Err((status, message)) => (error(status, &message), message),
            }
        }
        ("GET", "/api/v1/log") => {
            let st = inner.state.lock().unwrap();
            let size = st.leaves.len() as u64;
            let root = merkle::root(&st.leaves);
            let info = json!({
                "rootHash": hex::encode(root),
                "signedTreeHead": checkpoint(inner, size, &root),
                "treeID": inner.options.tree_id.to_string(),
                "treeSize": size,
            });
            (Reply::json(200, &info), "log info".into())
        }
        ("GET", "/api/v1/log/publicKey") => (
            Reply::Json(
                200,
                vec![("content-type".into(), "application/x-pem-file".into())],
                inner.key.spki_pem().into_bytes(),
            ),
            "public key".into(),
        ),
        ("GET", p) if p.starts_with("/api/v1/log/entries/") => {
            let uuid = &p["/api/v1/log/entries/".len()..];
            let st = inner.state.lock().unwrap();
            match st
                .entries
                .iter()
                .find(|e| e.uuid == uuid || e.uuid.ends_with(uuid))
            {
                Some(e) => (
                    Reply::json(200, &entry_response(inner, &st, e)),
                    "entry".into(),
                ),
                None => (error(404, "Not Found"), "no such entry".into()),
            }
        }
        (_, "/api/v1/log/entries") => (error(405, "Method Not Allowed"), "method".into()),
        _ => (error(404, "Not Found"), "no such path".into()),
    }
}

fn invalid(detail: impl std::fmt::Display) -> (u16, String) {
    (400, format!("error processing entry: {detail}"))
}

/// A verifier as Rekor's `x509.NewPublicKey` reads it (PEM certificate or
/// public key): `(SPKI DER, canonical PEM)`.
fn read_verifier(b64_pem: &str) -> Result<(Vec<u8>, String), String> {
    let bytes = b64_decode(b64_pem)?;
    let text = String::from_utf8(bytes).map_err(|_| "verifier is not PEM text".to_string())?;
    let (label, der) = pem_decode(&text)?;
    match label.as_str() {
        "CERTIFICATE" => Ok((cert_spki(&der)?, pem_encode("CERTIFICATE", &der))),
        "PUBLIC KEY" => {
            let spki = parse_public_key(&text)?;
            let pem = pem_encode("PUBLIC KEY", &spki);
            Ok((spki, pem))
        }
        other => Err(format!("unsupported PEM block {other}")),
    }
}

fn create(req: &Request, inner: &Inner) -> Result<(Reply, String), (u16, String)> {
    let body: Value = serde_json::from_slice(&req.body).map_err(|e| {
        (
            400,
            format!("parsing body body from \"\" failed, because {e}"),
        )
    })?;
    let kind = body["kind"].as_str().unwrap_or("");
    if kind != "dsse" {
        return Err(invalid(format!(
            "this fake Rekor only takes dsse entries, not {kind:?}"
        )));
    }
    if body["apiVersion"].as_str() != Some("0.0.1") {
        return Err(invalid(format!(
            "{} is not a supported version of dsse",
            body["apiVersion"]
        )));
    }
    let spec = &body["spec"];
    if spec.get("envelopeHash").is_some()
        || spec.get("payloadHash").is_some()
        || spec.get("signatures").is_some()
    {
        return Err(invalid(
            "either proposedContent or envelopeHash, payloadHash, and signatures must be present but not both",
        ));
    }
    let proposed = &spec["proposedContent"];
    let envelope = proposed["envelope"]
        .as_str()
        .ok_or_else(|| invalid("proposedContent.envelope in body is required"))?;
    let verifiers = proposed["verifiers"]
        .as_array()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid("proposedContent.verifiers in body should have at least 1 items"))?;

    let env: Value = serde_json::from_str(envelope).map_err(invalid)?;
    let payload_type = env["payloadType"].as_str().unwrap_or("");
    let payload = b64_decode(env["payload"].as_str().unwrap_or(""))
        .map_err(|e| invalid(format!("could not verify envelope: {e}")))?;
    let sigs: Vec<String> = env["signatures"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["sig"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    if sigs.is_empty() {
        return Err(invalid("could not verify envelope: no signatures found"));
    }
    let pae_bytes = pae(payload_type, &payload);
    // sig → canonical verifier PEM, for every signature some verifier verifies
    let mut by_sig: Vec<(String, String)> = Vec::new();
    for v in verifiers {
        let (spki, pem) = read_verifier(v.as_str().unwrap_or(""))
            .map_err(|e| invalid(format!("could not parse public key as x509: {e}")))?;
        let mut accepted = 0;
        for s in &sigs {
            let Ok(raw) = b64_decode(s) else { continue };
            if verify_der(&spki, &pae_bytes, &raw).is_ok() {
                accepted += 1;
                if !by_sig.iter().any(|(x, _)| x == s) {
                    by_sig.push((s.clone(), pem.clone()));
                }
            }
        }
        if accepted == 0 {
            return Err(invalid(
                "could not verify envelope: accepted signatures do not match threshold, Found: 0, Expected 1",
            ));
        }
    }
    if sigs.iter().any(|s| !by_sig.iter().any(|(x, _)| x == s)) {
        return Err(invalid("all signatures must have a key that verifies it"));
    }
    by_sig.sort();
    let signatures: Vec<Value> = by_sig
        .iter()
        .map(|(s, pem)| json!({ "signature": s, "verifier": b64(pem.as_bytes()) }))
        .collect();
    let canonical = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": { "algorithm": "sha256", "value": sha256_hex(envelope.as_bytes()) },
            "payloadHash": { "algorithm": "sha256", "value": sha256_hex(&payload) },
            "signatures": signatures,
        }
    });
    let body_bytes = canonical_json(&canonical).into_bytes();
    let leaf = merkle::leaf_hash(&body_bytes);
    let uuid = format!("{:016x}{}", inner.options.tree_id as u64, hex::encode(leaf));

    let mut st = inner.state.lock().unwrap();
    if let Some(existing) = st.entries.iter().find(|e| e.leaf_hash == leaf) {
        let location = format!("/api/v1/log/entries/{}", existing.uuid);
        let message = format!(
            "an equivalent entry already exists in the transparency log with UUID {}",
            existing.uuid
        );
        return Ok((
            Reply::Json(
                409,
                vec![("location".into(), location)],
                json!({ "code": 409, "message": message })
                    .to_string()
                    .into_bytes(),
            ),
            message,
        ));
    }
    let shard_index = st.leaves.len() as u64;
    st.leaves.push(leaf);
    for _ in 0..inner.options.trailing {
        st.leaves.push(dummy_leaf());
    }
    let entry = LogEntry {
        uuid: uuid.clone(),
        body: canonical,
        body_b64: b64(&body_bytes),
        leaf_hash: leaf,
        shard_index,
        log_index: inner.options.shard_offset + shard_index,
        integrated_time: now(),
        envelope: envelope.to_string(),
    };
    let response = entry_response(inner, &st, &entry);
    let detail = format!(
        "logged {uuid} at {} (shard index {shard_index}, tree size {})",
        entry.log_index,
        st.leaves.len()
    );
    st.entries.push(entry);
    Ok((
        Reply::Json(
            201,
            vec![
                ("etag".into(), uuid.clone()),
                ("location".into(), format!("/api/v1/log/entries/{uuid}")),
            ],
            response.to_string().into_bytes(),
        ),
        detail,
    ))
}
