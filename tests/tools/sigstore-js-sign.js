#!/usr/bin/env node
// The reference for trustpub's Sigstore signing client (src/provenance/sign.rs):
// runs the sigstore-js that npm 11.19.1 bundles, the way libnpmpublish calls it
// (`sigstore.attest(payload, payloadType, npmOpts)`, identity from
// `CIContextProvider('sigstore')` via SIGSTORE_ID_TOKEN), against a scripted
// Fulcio and Rekor on 127.0.0.1, and prints what it sent and what it built.
//
// Only the ephemeral key is replaced: `EphemeralSigner.prototype.sign` returns
// signatures the caller computed (RFC 6979, deterministic) for the exact bytes
// sigstore-js asks to sign, and fails when asked to sign anything else. So the
// challenge (JWT subject) and the DSSE PAE are checked too.
//
// stdin (JSON):
//   jwt             the identity token (SIGSTORE_ID_TOKEN)
//   payload         base64 of the bytes to attest
//   payloadType     the DSSE payload type
//   publicKeyPem    the SPKI PEM sigstore-js should present
//   signatures      { "<base64 of data>": "<base64 DER signature>" }
//   fulcio, rekor   lists of scripted answers, one per request, in order:
//                   { status, body (a string), contentType? }
//   retry, timeout  npm's options (defaults: retries 0)
// stdout (JSON):
//   requests        [{ service, method, path, headers, body }]
//   bundle          JSON.stringify(bundle), as libnpmpublish attaches it
//   error           the error message when attest failed
//   nodePublicKeyPem  node's own SPKI PEM export of publicKeyPem
//
// sigstore-js is loaded from SIGSTORE_JS_NODE_MODULES, else from the pinned npm
// in tests/tools/node_modules, else from the global npm.

'use strict'

const crypto = require('crypto')
const fs = require('fs')
const http = require('http')
const path = require('path')
const { execSync } = require('child_process')

function nodeModules () {
  const candidates = []
  if (process.env.SIGSTORE_JS_NODE_MODULES) {
    candidates.push(process.env.SIGSTORE_JS_NODE_MODULES)
  }
  candidates.push(path.join(__dirname, 'node_modules', 'npm', 'node_modules'))
  try {
    const root = execSync('npm root -g', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
    candidates.push(path.join(root, 'npm', 'node_modules'))
  } catch {
    // no global npm
  }
  for (const c of candidates) {
    if (fs.existsSync(path.join(c, 'sigstore', 'package.json'))) {
      return c
    }
  }
  throw new Error('sigstore-js not found (tried ' + candidates.join(', ') + ')')
}

async function main () {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'))
  const base = nodeModules()
  const { EphemeralSigner } = require(path.join(base, '@sigstore', 'sign', 'dist', 'signer', 'fulcio', 'ephemeral.js'))
  const sigstore = require(path.join(base, 'sigstore'))

  EphemeralSigner.prototype.sign = async function (data) {
    const key = Buffer.from(data).toString('base64')
    const sig = input.signatures[key]
    if (sig === undefined) {
      throw new Error('the harness has no signature for ' + JSON.stringify(Buffer.from(data).toString('latin1')))
    }
    return {
      signature: Buffer.from(sig, 'base64'),
      key: { $case: 'publicKey', publicKey: input.publicKeyPem },
    }
  }

  const requests = []
  const queues = { fulcio: [...(input.fulcio || [])], rekor: [...(input.rekor || [])] }
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const service = req.url === '/api/v2/signingCert' ? 'fulcio'
        : req.url === '/api/v1/log/entries' ? 'rekor' : 'unknown'
      requests.push({
        service,
        method: req.method,
        path: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      })
      const answer = (queues[service] || []).shift() || { status: 500, body: '{"message":"harness: no scripted answer"}' }
      res.writeHead(answer.status, { 'content-type': answer.contentType || 'application/json' })
      res.end(answer.body)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}`

  // As in a CI job: only SIGSTORE_ID_TOKEN identifies us.
  delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL
  delete process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  process.env.SIGSTORE_ID_TOKEN = input.jwt

  const out = { requests }
  try {
    const bundle = await sigstore.attest(Buffer.from(input.payload, 'base64'), input.payloadType, {
      fulcioURL: url,
      rekorURL: url,
      retry: input.retry || { retries: 0 },
      timeout: input.timeout || 5000,
    })
    out.bundle = JSON.stringify(bundle)
  } catch (e) {
    out.error = String(e && e.message) + (e && e.cause ? ': ' + String(e.cause.message || e.cause) : '')
  }
  out.nodePublicKeyPem = crypto.createPublicKey(input.publicKeyPem).export({ format: 'pem', type: 'spki' }).toString()
  server.close()
  process.stdout.write(JSON.stringify(out))
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack) + '\n')
  process.exit(1)
})
