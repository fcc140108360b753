#!/usr/bin/env node
// The `trustpub` command of the npm package `trustpub`: it runs the native
// binary from the platform package `@trustpub/<platform>-<arch>` (an optional
// dependency, so npm installs only the one that matches this machine) with
// the same arguments, standard streams and exit status. No install scripts,
// no dependencies; Node 18 or later.
//
// TRUSTPUB_BINARY=/path/to/trustpub runs that binary instead.
'use strict'

const { spawnSync } = require('child_process')
const os = require('os')
const path = require('path')

const pkg = require('../package.json')
const platform = `${process.platform}-${process.arch}`
const exe = process.platform === 'win32' ? 'trustpub.exe' : 'trustpub'
const args = process.argv.slice(2)

function fail (lines) {
  process.stderr.write(lines.map((l) => `trustpub: ${l}`).join('\n') + '\n')
  process.exit(1)
}

function omitsOptional () {
  const env = process.env
  const omit = String(env.npm_config_omit || env.NPM_CONFIG_OMIT || '')
  const optional = String(env.npm_config_optional || env.NPM_CONFIG_OPTIONAL || '')
  if (omit.split(/[\s,]+/).includes('optional')) return `npm_config_omit=${omit}`
  if (optional === 'false') return 'npm_config_optional=false'
  return null
}

// The directory npx installed this launcher in (`<cache>/_npx/<key>`), if
// it was npx.
function npxInstall () {
  const parts = __dirname.split(path.sep)
  const i = parts.lastIndexOf('_npx')
  return i > 0 && i + 1 < parts.length ? parts.slice(0, i + 2).join(path.sep) : null
}

function binaryPath () {
  const supported = Object.keys(pkg.optionalDependencies || {})
    .map((name) => name.replace(/^@trustpub\//, ''))
  const name = `@trustpub/${platform}`
  if (!supported.includes(platform)) {
    fail([
      `there is no prebuilt trustpub binary for this platform (${platform}).`,
      `Prebuilt binaries exist for: ${supported.join(', ')}.`,
      'Instead, build it with Rust: `cargo install --locked trustpub`, or from source',
      '(https://github.com/trustpub/trustpub), and run that binary, or point',
      'TRUSTPUB_BINARY at it to use it through this command.'
    ])
  }
  try {
    return path.join(path.dirname(require.resolve(`${name}/package.json`)), 'bin', exe)
  } catch (_) {}
  const omitted = omitsOptional()
  const want = pkg.optionalDependencies[name]
  const lines = [
    `the package ${name}, which holds the trustpub binary for this platform, is not installed.`
  ]
  if (omitted) {
    lines.push(
      `Optional dependencies are being left out (${omitted}), and that package is one.`,
      'Install without --omit=optional / --no-optional (for example',
      `\`npm install --include=optional\`, or \`npx --yes --include=optional trustpub@${pkg.version}\`).`
    )
  } else {
    lines.push(
      'It is an optional dependency, so npm leaves it out when:',
      '  - optional dependencies are omitted (--omit=optional, --no-optional,',
      '    npm_config_omit=optional or npm_config_optional=false): install without them;',
      '  - the package-lock.json was made on another platform (an npm bug with optional',
      '    dependencies): delete node_modules and package-lock.json and install again,',
      `    or run \`npm install --include=optional\` (it needs ${name}@${want}).`
    )
  }
  const npx = npxInstall()
  if (npx) {
    lines.push(
      `npx reuses what it installed before, as it is: delete ${npx}`,
      'before running npx again.'
    )
  }
  lines.push('Or set TRUSTPUB_BINARY to the path of a trustpub binary.')
  fail(lines)
}

const override = process.env.TRUSTPUB_BINARY
const binary = override || binaryPath()
const result = spawnSync(binary, args, { stdio: 'inherit', windowsHide: true })

if (result.error) {
  const what = override ? `TRUSTPUB_BINARY (${binary})` : binary
  const why = result.error.code === 'ENOENT'
    ? 'no such file'
    : result.error.code === 'EACCES' ? 'not executable' : result.error.message
  fail([`cannot run ${what}: ${why}.`])
}
if (result.signal) {
  // Die of the same signal, so the caller sees what the binary saw.
  process.kill(process.pid, result.signal)
  process.exit(128 + (os.constants.signals[result.signal] || 0))
}
process.exit(result.status === null ? 1 : result.status)
