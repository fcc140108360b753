#!/usr/bin/env node
// The oracle for trustpub's provenance statement (src/provenance/statement.rs).
//
// Runs npm's OWN code, under the current process environment, and prints the
// exact bytes npm would hand to Sigstore as the DSSE payload:
//
//   1. the package name/version go through what `npm publish <dir>` does to
//      package.json (lib/commands/publish.js #getManifest: `pkgJson.fix` then
//      `prepare`, which cleans the version),
//   2. the subject is built as libnpmpublish/lib/publish.js buildMetadata does:
//      `{ name: npa.toPurl(npa.resolve(name, version)), digest: { sha512 } }`,
//   3. libnpmpublish/lib/provenance.js generateProvenance([subject], opts) runs
//      with `sigstore` replaced (in require.cache) by a stub whose `attest`
//      captures its first argument, Buffer.from(JSON.stringify(statement)).
//
// Nothing is signed and nothing touches the network.
//
// Usage:
//   node provenance-statement.js [--npm-dir DIR] <package-name> <version> <sha512-hex>
//   node provenance-statement.js [--npm-dir DIR] --purl <package-name> <version> [<name> <version> ...]
//   node provenance-statement.js [--npm-dir DIR] --regenerate <fixtures/provenance>
//
// --regenerate rewrites <case>/statement.json for every <case>/ that has an
// env.json (variable -> value) and a subject.json ({name, version, sha512}),
// running this script once per case in a child whose environment is exactly
// PATH, HOME (an empty temp dir), LANG=C.UTF-8 and env.json's variables.
//
// The statement goes to stdout with no trailing newline; --purl prints one purl
// per name/version pair, joined with newlines. The npm
// used is --npm-dir, else $TRUSTPUB_TEST_NPM_DIR, else the pinned copy in
// tests/tools/node_modules/npm (`npm ci --prefix tests/tools`), else
// `$(npm root -g)/npm`. Its path and version are printed to stderr.
// Exit codes: 0 ok, 2 usage or setup error, 3 npm threw (message on stderr).

'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const Module = require('node:module')
const { execFileSync } = require('node:child_process')

const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json'

function fail (code, msg) {
  process.stderr.write(`provenance-statement: ${msg}\n`)
  process.exit(code)
}

function findNpmDir (explicit) {
  const candidates = []
  if (explicit) {
    candidates.push(explicit)
  } else {
    if (process.env.TRUSTPUB_TEST_NPM_DIR) {
      candidates.push(process.env.TRUSTPUB_TEST_NPM_DIR)
    }
    candidates.push(path.join(__dirname, 'node_modules', 'npm'))
    try {
      const root = execFileSync('npm', ['root', '-g'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim()
      if (root) {
        candidates.push(path.join(root, 'npm'))
      }
    } catch {
      // no npm on PATH
    }
  }
  for (const candidate of candidates) {
    const dir = path.resolve(candidate)
    if (fs.existsSync(path.join(dir, 'node_modules', 'libnpmpublish', 'lib', 'provenance.js'))) {
      return dir
    }
  }
  fail(2, `no npm with libnpmpublish found (looked in: ${candidates.join(', ') || 'nothing'}); ` +
    'run `npm ci --prefix tests/tools` or pass --npm-dir')
}

async function main () {
  const args = process.argv.slice(2)
  let npmDirArg
  let purlOnly = false
  let regenerate
  const positional = []
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--npm-dir') {
      npmDirArg = args[++i]
    } else if (args[i] === '--regenerate') {
      regenerate = args[++i]
    } else if (args[i] === '--purl') {
      purlOnly = true
    } else {
      positional.push(args[i])
    }
  }
  if (regenerate) {
    return regenerateAll(regenerate, findNpmDir(npmDirArg))
  }
  const usageOk = purlOnly
    ? positional.length >= 2 && positional.length % 2 === 0
    : positional.length === 3
  if (!usageOk) {
    fail(2, 'usage: provenance-statement.js [--npm-dir DIR] <name> <version> <sha512-hex>\n' +
      '       provenance-statement.js [--npm-dir DIR] --purl <name> <version> [<name> <version> ...]\n' +
      '       provenance-statement.js [--npm-dir DIR] --regenerate <fixtures/provenance>')
  }
  const [name, version, sha512] = positional

  const npmDir = findNpmDir(npmDirArg)
  const npmVersion = require(path.join(npmDir, 'package.json')).version
  process.stderr.write(`provenance-statement: npm ${npmVersion} at ${npmDir}\n`)
  const nm = path.join(npmDir, 'node_modules')
  const provenancePath = path.join(nm, 'libnpmpublish', 'lib', 'provenance.js')

  // 1. package.json as `npm publish <dir>` reads it.
  const PackageJson = require(path.join(nm, '@npmcli', 'package-json'))
  // 2. publish.js: `spec = npa.resolve(manifest.name, manifest.version)`;
  //    buildMetadata: `name: npa.toPurl(spec)`. npa must be the copy that
  //    libnpmpublish itself requires.
  const fromLibpub = (m) => require(require.resolve(m, { paths: [path.dirname(provenancePath)] }))
  const npa = fromLibpub('npm-package-arg')
  const purlOf = async (pkgName, pkgVersion) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provenance-statement-'))
    let manifest
    try {
      fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ name: pkgName, version: pkgVersion }))
      const pkg = await PackageJson.fix(tmp, { changes: [] })
      manifest = (await pkg.prepare()).content
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
    const spec = npa.resolve(manifest.name, manifest.version)
    return npa.toPurl(spec)
  }
  if (purlOnly) {
    const out = []
    for (let i = 0; i < positional.length; i += 2) {
      try {
        out.push(await purlOf(positional[i], positional[i + 1]))
      } catch (err) {
        fail(3, `npm threw for ${JSON.stringify(positional.slice(i, i + 2))}: ${err && err.message}`)
      }
    }
    process.stdout.write(out.join('\n'))
    return
  }
  let purl
  try {
    purl = await purlOf(name, version)
  } catch (err) {
    fail(3, `npm threw: ${err && err.stack ? err.stack : err}`)
  }
  const subject = { name: purl, digest: { sha512 } }

  // 3. generateProvenance with sigstore stubbed.
  const sigstoreId = require.resolve('sigstore', { paths: [path.dirname(provenancePath)] })
  let captured
  const stub = new Module(sigstoreId)
  stub.filename = sigstoreId
  stub.loaded = true
  stub.exports = {
    attest: async (payload, payloadType) => {
      if (payloadType !== INTOTO_PAYLOAD_TYPE) {
        fail(2, `unexpected payload type ${payloadType}`)
      }
      captured = payload
      return { verificationMaterial: { tlogEntries: [] } }
    },
    verify: async () => {
      throw new Error('verify is not stubbed')
    },
  }
  // sigstore 1.x (npm 9's libnpmpublish 7.x) is used as `require('sigstore').sigstore`.
  stub.exports.sigstore = stub.exports
  require.cache[sigstoreId] = stub

  const { generateProvenance } = require(provenancePath)
  try {
    // npm passes its own version (libnpmpublish 7.1.x puts it in builder.id).
    await generateProvenance([subject], { npmVersion })
  } catch (err) {
    fail(3, `npm threw: ${err && err.stack ? err.stack : err}`)
  }
  if (!Buffer.isBuffer(captured)) {
    fail(2, 'sigstore.attest was not called with a Buffer')
  }
  process.stdout.write(captured)
}

function regenerateAll (root, npmDir) {
  const cases = fs.readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(root, d.name, 'env.json')))
    .map((d) => d.name)
    .sort()
  if (!cases.length) {
    fail(2, `no <case>/env.json under ${root}`)
  }
  for (const name of cases) {
    const dir = path.join(root, name)
    const vars = JSON.parse(fs.readFileSync(path.join(dir, 'env.json'), 'utf8'))
    const subject = JSON.parse(fs.readFileSync(path.join(dir, 'subject.json'), 'utf8'))
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'provenance-statement-home-'))
    try {
      const env = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', ...vars }
      const out = execFileSync(process.execPath, [
        __filename, '--npm-dir', npmDir, subject.name, subject.version, subject.sha512,
      ], { env, cwd: home, stdio: ['ignore', 'pipe', 'inherit'] })
      fs.writeFileSync(path.join(dir, 'statement.json'), out)
      process.stderr.write(`provenance-statement: wrote ${path.join(dir, 'statement.json')}\n`)
    } finally {
      fs.rmSync(home, { recursive: true, force: true })
    }
  }
}

main().catch((err) => fail(2, err && err.stack ? err.stack : String(err)))
