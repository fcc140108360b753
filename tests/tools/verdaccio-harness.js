// Starts Verdaccio (the real registry trustpub's publish tests publish to)
// on 127.0.0.1 with a port chosen by the OS and a temporary storage folder.
//
// Prints one JSON line, {"url": "http://127.0.0.1:<port>/"}, when it is ready.
// Stops by itself, and deletes its storage, when its standard input closes
// (the test process that started it has exited), on SIGTERM/SIGINT, or after
// TRUSTPUB_VERDACCIO_MAX_SECONDS (default 1800) at the latest.
'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { runServer } = require('verdaccio')

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trustpub-verdaccio-'))
const rule = { access: '$all', publish: '$authenticated', unpublish: '$authenticated' }
const config = {
  self_path: dir,
  storage: path.join(dir, 'storage'),
  auth: { htpasswd: { file: path.join(dir, 'htpasswd'), max_users: 1000, algorithm: 'bcrypt', rounds: 4 } },
  uplinks: {},
  packages: { '@*/*': rule, '**': rule },
  max_body_size: '200mb',
  web: { enable: false },
  log: { type: 'stderr', format: 'pretty', level: process.env.TRUSTPUB_VERDACCIO_LOG || 'warn' },
}

let server = null
let stopped = false
function stop (code) {
  if (stopped) return
  stopped = true
  try { if (server) server.close() } catch (_) {}
  try { fs.rmSync(dir, { recursive: true, force: true }) } catch (_) {}
  // Verdaccio's logger (pino, on a worker thread) throws "_flushSync failed"
  // from its exit hook once standard error is gone (the test process has
  // exited): a clean stop leaves without running exit hooks.
  if (code === 0) process.kill(process.pid, 'SIGKILL')
  process.exit(code)
}

const maxSeconds = Number(process.env.TRUSTPUB_VERDACCIO_MAX_SECONDS || 1800)
setTimeout(() => {
  process.stderr.write(`verdaccio-harness: stopping after ${maxSeconds} s\n`)
  stop(0)
}, maxSeconds * 1000)
process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))
process.stdin.on('end', () => stop(0))
process.stdin.on('close', () => stop(0))
process.stdin.resume()

runServer(config).then((app) => {
  server = app.listen(0, '127.0.0.1', () => {
    const { port } = server.address()
    process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}/` }) + '\n')
  })
}).catch((err) => {
  process.stderr.write(`verdaccio-harness: cannot start Verdaccio: ${err && err.stack}\n`)
  stop(1)
})
