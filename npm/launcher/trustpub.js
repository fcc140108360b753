#!/usr/bin/env node
// The `trustpub` command of the npm package `trustpub`: it runs the native
// binary from the platform package `@trustpub/<platform>-<arch>` (an optional
// dependency, so npm installs only the one that matches this machine) with
// the same arguments, standard streams and exit status. No install scripts,
// no dependencies; Node 18 or later.
//
// TRUSTPUB_BINARY=/path/to/trustpub runs that binary instead.
//
// Windows on Arm has no build of its own: it runs the x64 one (emulated),
// from `@trustpub/win32-x64` when that is installed (npm leaves it out on
// arm64 unless told `--cpu=x64`).
//
// Signals: SIGINT, SIGTERM and SIGHUP sent to this launcher are passed on
// to the binary, and when the binary dies of a signal the launcher dies of
// the same one. SIGPIPE is the exception: Node ignores it, so when the
// binary dies of SIGPIPE the launcher exits with status 141 (128 + 13)
// instead. On Windows, Ctrl+C reaches the binary from the console itself;
// the launcher only waits for it.
'use strict'

const { spawn } = require('child_process')
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

function resolveBinary (name) {
  try {
    return path.join(path.dirname(require.resolve(`${name}/package.json`)), 'bin', exe)
  } catch (_) {
    return null
  }
}

function binaryPath () {
  const supported = Object.keys(pkg.optionalDependencies || {})
    .map((name) => name.replace(/^@trustpub\//, ''))
  const name = `@trustpub/${platform}`
  if (!supported.includes(platform)) {
    // Windows on Arm runs the x64 build (emulated).
    const emulated = platform === 'win32-arm64' && supported.includes('win32-x64')
    if (emulated) {
      const x64 = resolveBinary('@trustpub/win32-x64')
      if (x64) return x64
    }
    const lines = [
      `there is no prebuilt trustpub binary for this platform (${platform}).`,
      `Prebuilt binaries exist for: ${supported.join(', ')}.`
    ]
    if (emulated) {
      lines.push(
        'Windows on Arm runs the win32-x64 one (emulated), and this command uses',
        '@trustpub/win32-x64 when it is installed; npm leaves it out on arm64 unless',
        `told otherwise: \`npm install --cpu=x64 trustpub@${pkg.version}\`.`,
        'Or build it with Rust: `cargo install --locked trustpub`, and point',
        'TRUSTPUB_BINARY at it to use it through this command.'
      )
    } else {
      lines.push(
        'Instead, build it with Rust: `cargo install --locked trustpub`, or from source',
        '(https://github.com/trustpub/trustpub), and run that binary, or point',
        'TRUSTPUB_BINARY at it to use it through this command.'
      )
    }
    fail(lines)
  }
  const found = resolveBinary(name)
  if (found) return found
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
// The guard against running this launcher from itself: a bare name in
// TRUSTPUB_BINARY is looked up on PATH, where npx and npm run put
// node_modules/.bin (this very command) first. The child gets this
// launcher's process id; a launcher started directly by a launcher refuses
// (one started by the binary, say from a lifecycle script, runs).
const GUARD = 'TRUSTPUB_LAUNCHER'
if (process.env[GUARD] && process.env[GUARD] === String(process.ppid)) {
  fail([
    override
      ? `TRUSTPUB_BINARY (${override}) runs this launcher again, not a trustpub binary`
      : 'this launcher was started by itself, not a trustpub binary',
    '(npx and npm run put node_modules/.bin, where this command is, first on PATH).',
    'Set TRUSTPUB_BINARY to the full path of a trustpub binary.'
  ])
}
const binary = override || binaryPath()

function cannotRun (error) {
  const what = override ? `TRUSTPUB_BINARY (${binary})` : binary
  const why = error.code === 'ENOENT'
    ? 'no such file'
    : error.code === 'EACCES' ? 'not executable' : error.message
  fail([`cannot run ${what}: ${why}.`])
}

const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP']
const handlers = new Map()
let child
try {
  child = spawn(binary, args, {
    stdio: 'inherit',
    windowsHide: true,
    env: { ...process.env, [GUARD]: String(process.pid) }
  })
} catch (error) {
  cannotRun(error)
}
for (const sig of forwarded) {
  // On Windows the console delivers Ctrl+C to the binary too, and kill()
  // would end it at once: only wait for it there.
  const handler = process.platform === 'win32'
    ? () => {}
    : () => { try { child.kill(sig) } catch (_) {} }
  handlers.set(sig, handler)
  process.on(sig, handler)
}
child.on('error', (error) => {
  for (const [sig, handler] of handlers) process.removeListener(sig, handler)
  cannotRun(error)
})
child.on('exit', (code, signal) => {
  for (const [sig, handler] of handlers) process.removeListener(sig, handler)
  if (signal) {
    // Die of the same signal, so the caller sees what the binary saw
    // (SIGPIPE, which Node ignores, ends in the exit status below).
    process.kill(process.pid, signal)
    process.exit(128 + (os.constants.signals[signal] || 0))
  }
  process.exit(code === null ? 1 : code)
})
