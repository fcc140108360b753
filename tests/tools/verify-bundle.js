#!/usr/bin/env node
// Independent verifier for Sigstore bundles, used by trustpub's tests.
//
// It runs the code npm itself runs to verify provenance: npm's bundled
// @sigstore/bundle, @sigstore/protobuf-specs and @sigstore/verify. It never
// fetches anything: the trusted root comes from the input instead of TUF.
//
//   node verify-bundle.js <npm's node_modules dir> <cases.json>
//
// cases.json: {"cases": [{"bundle": {...}, "trustedRoot": {...},
//                         "san": "https://...", "issuer": "https://...",
//                         "sanIsRegex": false}, ...]}
// `san` is matched exactly (it is escaped and anchored) unless `sanIsRegex`
// is true, in which case it is passed through as sigstore-js' own policy does
// (an unanchored JavaScript regular expression). `issuer` is compared exactly
// with the certificate's Fulcio issuer extension. Either may be null to skip
// that policy check.
//
// Prints {"results": [...]} on stdout, one result per case, in order:
//   {"ok": true, "payloadType": "...", "payload": <the DSSE payload parsed as
//    JSON, or a string if it is not JSON>, "san": "...", "issuer": "...",
//    "oids": {"1.3.6.1.4.1.57264.1.8": "<hex of the extension value>", ...}}
//   {"ok": false, "name": "VerificationError", "code": "TLOG_BODY_ERROR",
//    "message": "...", "cause": "<code: message of the cause, if any>"}
// Exits 2 (with a message on stderr) if the modules cannot be loaded.

'use strict';

const fs = require('fs');
const { harness } = require('./sigstore-modules');

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// The error's class: sigstore-js' VerificationError and PolicyError set
// `name`; @sigstore/bundle's ValidationError does not.
function nameOf(err) {
  const ctor = err?.constructor?.name;
  return ctor && ctor !== 'Error' ? ctor : err?.name || 'Error';
}

function describe(err) {
  if (!err) return undefined;
  const head = err.code ? `${err.code}: ${err.message}` : `${nameOf(err)}: ${err.message}`;
  const fields = err.fields ? ` [${err.fields.join(', ')}]` : '';
  const cause = err.cause ? ` (cause: ${describe(err.cause)})` : '';
  return head + fields + cause;
}

function main() {
  const { inputPath, load } = harness('verify-bundle.js', 'cases.json');
  const { bundleFromJSON } = load('@sigstore/bundle');
  const { TrustedRoot } = load('@sigstore/protobuf-specs');
  const { Verifier, toTrustMaterial, toSignedEntity } = load('@sigstore/verify');

  const { cases } = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
  const results = cases.map((c) => {
    try {
      const trustMaterial = toTrustMaterial(TrustedRoot.fromJSON(c.trustedRoot));
      const verifier = new Verifier(trustMaterial, { ctlogThreshold: 1, tlogThreshold: 1 });
      const bundle = bundleFromJSON(c.bundle);
      const policy = {};
      if (c.san != null) {
        policy.subjectAlternativeName = c.sanIsRegex ? c.san : `^${escapeRegExp(c.san)}$`;
      }
      if (c.issuer != null) {
        policy.extensions = { issuer: c.issuer };
      }
      const signer = verifier.verify(toSignedEntity(bundle), policy);
      const env = bundle.content.dsseEnvelope;
      let payload;
      if (env) {
        const text = env.payload.toString('utf8');
        try {
          payload = JSON.parse(text);
        } catch {
          payload = text;
        }
      }
      const oids = {};
      for (const o of signer.identity?.oids || []) {
        oids[o.oid.id.join('.')] = Buffer.from(o.value).toString('hex');
      }
      return {
        ok: true,
        payloadType: env ? env.payloadType : null,
        payload: payload === undefined ? null : payload,
        san: signer.identity?.subjectAlternativeName ?? null,
        issuer: signer.identity?.extensions?.issuer ?? null,
        oids,
      };
    } catch (err) {
      return {
        ok: false,
        name: nameOf(err),
        code: err?.code || null,
        message: String(err?.message ?? err),
        fields: err?.fields || null,
        cause: describe(err?.cause) || null,
        description: describe(err),
      };
    }
  });
  process.stdout.write(JSON.stringify({ results }));
}

main();
