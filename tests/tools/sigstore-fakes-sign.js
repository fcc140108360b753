#!/usr/bin/env node
// Makes Sigstore bundles with sigstore-js itself (npm's bundled copy), against
// Fulcio and Rekor at the given URLs. trustpub's tests point it at their fake
// Fulcio and Rekor (tests/it/support/sigstore_fakes), to check that the fakes
// behave as the real services do for the client npm runs.
//
//   node sigstore-fakes-sign.js <npm's node_modules dir> <jobs.json>
//
// jobs.json: {"jobs": [{"mode": "attest" | "builder",
//                       "fulcioURL": "http://127.0.0.1:…", "rekorURL": "http://127.0.0.1:…",
//                       "token": "<OIDC JWT with aud sigstore>",
//                       "payload": "<string>", "payloadType": "application/vnd.in-toto+json"}]}
//
// mode "attest" calls sigstore.attest(payload, payloadType, {fulcioURL,
// rekorURL, identityToken}): npm's own call path (libnpmpublish calls
// sigstore.attest), with the URLs and token overridden. mode "builder"
// assembles the same thing by hand from @sigstore/sign: a DSSEBundleBuilder
// with a FulcioSigner and a RekorWitness (entryType dsse), then bundleToJSON.
// Retries are off (the fakes answer at once; errors stay visible).
//
// Prints {"results": [{"ok": true, "bundle": {...}} |
//                      {"ok": false, "code": "...", "message": "...", "description": "..."}]}.
// Exits 2 (with a message on stderr) if the modules cannot be loaded.

'use strict';

const fs = require('fs');
const { harness } = require('./sigstore-modules');

function describe(err) {
  if (!err) return undefined;
  const head = err.code ? `${err.code}: ${err.message}` : `${err.name || 'Error'}: ${err.message}`;
  const cause = err.cause ? ` (cause: ${describe(err.cause)})` : '';
  return head + cause;
}

async function main() {
  const { inputPath, load } = harness('sigstore-fakes-sign.js', 'jobs.json');
  const sigstore = load('sigstore');
  const sign = load('@sigstore/sign');
  const { bundleToJSON } = load('@sigstore/bundle');

  const { jobs } = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
  const results = [];
  for (const job of jobs) {
    const payload = Buffer.from(job.payload, 'utf8');
    const payloadType = job.payloadType || 'application/vnd.in-toto+json';
    try {
      let bundle;
      if (job.mode === 'builder') {
        const builder = new sign.DSSEBundleBuilder({
          signer: new sign.FulcioSigner({
            fulcioBaseURL: job.fulcioURL,
            identityProvider: { getToken: () => Promise.resolve(job.token) },
            retry: 0,
            timeout: 30000,
          }),
          witnesses: [
            new sign.RekorWitness({
              rekorBaseURL: job.rekorURL,
              entryType: 'dsse',
              fetchOnConflict: false,
              retry: 0,
              timeout: 30000,
            }),
          ],
        });
        bundle = bundleToJSON(await builder.create({ data: payload, type: payloadType }));
      } else {
        bundle = await sigstore.attest(payload, payloadType, {
          fulcioURL: job.fulcioURL,
          rekorURL: job.rekorURL,
          identityToken: job.token,
          retry: 0,
          timeout: 30000,
        });
      }
      results.push({ ok: true, bundle });
    } catch (err) {
      results.push({
        ok: false,
        name: err?.name || 'Error',
        code: err?.code || null,
        message: String(err?.message ?? err),
        description: describe(err),
      });
    }
  }
  process.stdout.write(JSON.stringify({ results }));
}

main().catch((e) => {
  process.stderr.write(`sigstore-fakes-sign.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
