// Helper of bench/workspaces.sh: generates the benchmark's workspace, bumps
// its versions between runs, and checks afterwards what the registry holds.
//
//   node workspaces.js gen DIR npm|pnpm [COUNT]   write a workspace of COUNT (100) packages
//   node workspaces.js next DIR LIST              give every member the next version
//                                                 (1.0.<lines in LIST>), append it to LIST
//   node workspaces.js verify DIR URL VERSION...  fail unless the registry holds every
//                                                 member at every VERSION (see below)
//
// The workspace is the same for both flavours except for the ranges between
// members: plain semver (`^1.0.0`) for npm, `workspace:^` for pnpm (whose
// publish rewrites it to `^<version>`). Members are `@bench/p001`…, in
// WAVES dependency levels: every member of level L > 0 depends on at least
// one member of level L-1, so publishing in dependency order takes exactly
// WAVES waves. A handful of low-level "core" members are depended on by
// many (fan-in). Everything is derived from a fixed seed: two runs of `gen`
// write byte-identical trees.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')

const SCOPE = '@bench'
// Members per dependency level, largest first (sums to 100; scaled for
// another COUNT).
const LEVELS = [24, 20, 17, 14, 11, 8, 6]

function fail (msg) {
  process.stderr.write(`workspaces.js: ${msg}\n`)
  process.exit(1)
}

// A small deterministic PRNG (mulberry32).
function rng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const memberName = (i) => `${SCOPE}/p${String(i + 1).padStart(3, '0')}`
const memberDir = (i) => `p${String(i + 1).padStart(3, '0')}`

// The layout: for each member its level and its dependencies (indices).
function layout (count) {
  const total = LEVELS.reduce((a, b) => a + b, 0)
  const sizes = LEVELS.map((n) => Math.max(1, Math.round((n * count) / total)))
  // Fix rounding on the first level.
  sizes[0] += count - sizes.reduce((a, b) => a + b, 0)
  if (sizes[0] < 1) fail(`COUNT ${count} is too small for ${LEVELS.length} levels`)
  const rand = rng(0x7e57)
  const level = []
  sizes.forEach((n, l) => { for (let k = 0; k < n; k++) level.push(l) })
  const byLevel = sizes.map(() => [])
  level.forEach((l, i) => byLevel[l].push(i))
  const core = byLevel[0].slice(0, 5)
  const members = level.map((l, i) => ({ index: i, level: l, deps: [], peers: [] }))
  for (const m of members) {
    // Level 0 has no dependencies on members (it is the first wave).
    if (m.level === 0) continue
    const deps = new Set()
    const prev = byLevel[m.level - 1]
    deps.add(prev[Math.floor(rand() * prev.length)])
    // Fan-in: most members use one or two core packages.
    if (rand() < 0.8) deps.add(core[Math.floor(rand() * core.length)])
    if (rand() < 0.4) deps.add(core[Math.floor(rand() * core.length)])
    // A few more from any lower level.
    const extra = Math.floor(rand() * 3)
    for (let k = 0; k < extra; k++) {
      const l = Math.floor(rand() * m.level)
      const pool = byLevel[l]
      deps.add(pool[Math.floor(rand() * pool.length)])
    }
    m.deps = [...deps].sort((a, b) => a - b)
    // One in six also has a peer dependency on a core member it does not
    // already depend on.
    if (rand() < 1 / 6) {
      const p = core[Math.floor(rand() * core.length)]
      if (!deps.has(p)) m.peers.push(p)
    }
  }
  return { sizes, members }
}

// Source text of a given size, deterministic.
function source (rand, name, bytes) {
  const lines = [`'use strict'`, `// ${name}: generated benchmark code`, '']
  let n = 0
  while (lines.join('\n').length < bytes) {
    const k = Math.floor(rand() * 1e6)
    lines.push(`function f${n} (x) {`, `  const y = x * ${k} + ${n}`, `  return y % ${(k % 97) + 3} === 0 ? 'f${n}:' + y : f${n}.name + x`, '}', `exports.f${n} = f${n}`, '')
    n++
  }
  return lines.join('\n') + '\n'
}

function gen (dir, flavour, count) {
  if (!['npm', 'pnpm'].includes(flavour)) fail(`flavour must be npm or pnpm, not ${flavour}`)
  if (!(count >= LEVELS.length)) fail(`COUNT must be at least ${LEVELS.length}`)
  const { sizes, members } = layout(count)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(path.join(dir, 'packages'), { recursive: true })
  const root = { name: 'bench-workspace-root', version: '0.0.0', private: true, workspaces: ['packages/*'] }
  if (flavour === 'pnpm') {
    delete root.workspaces
    fs.writeFileSync(path.join(dir, 'pnpm-workspace.yaml'), "packages:\n  - 'packages/*'\n")
  }
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(root, null, 2) + '\n')
  const rand = rng(0xbe4c)
  const range = flavour === 'pnpm' ? 'workspace:^' : '^1.0.0'
  for (const m of members) {
    const name = memberName(m.index)
    const pkgDir = path.join(dir, 'packages', memberDir(m.index))
    fs.mkdirSync(path.join(pkgDir, 'lib'), { recursive: true })
    const pkg = {
      name,
      version: '1.0.0',
      description: `Benchmark member ${m.index + 1} (dependency level ${m.level})`,
      keywords: ['bench', `level-${m.level}`],
      license: 'MIT',
      main: 'index.js',
      types: 'index.d.ts',
      files: ['index.js', 'index.d.ts', 'lib'],
    }
    if (m.deps.length) {
      pkg.dependencies = {}
      for (const d of m.deps) pkg.dependencies[memberName(d)] = range
    }
    if (m.peers.length) {
      pkg.peerDependencies = {}
      for (const d of m.peers) pkg.peerDependencies[memberName(d)] = range
    }
    fs.writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
    const requires = m.deps.map((d) => `const d${d} = require('${memberName(d)}')`).join('\n')
    fs.writeFileSync(path.join(pkgDir, 'index.js'), `'use strict'\n${requires}\nmodule.exports = { ...require('./lib/a'), ...require('./lib/b') }\n`)
    fs.writeFileSync(path.join(pkgDir, 'index.d.ts'), `export declare function f0(x: number): string\n`)
    fs.writeFileSync(path.join(pkgDir, 'lib', 'a.js'), source(rand, name, 1000 + Math.floor(rand() * 12000)))
    fs.writeFileSync(path.join(pkgDir, 'lib', 'b.js'), source(rand, name, 500 + Math.floor(rand() * 4000)))
    fs.writeFileSync(path.join(pkgDir, 'README.md'), `# ${name}\n\nA generated member of trustpub's workspace benchmark.\n`)
    fs.writeFileSync(path.join(pkgDir, 'LICENSE'), 'MIT License\n\nCopyright (c) bench\n')
  }
  const edges = members.reduce((a, m) => a + m.deps.length + m.peers.length, 0)
  const fanIn = new Map()
  for (const m of members) for (const d of [...m.deps, ...m.peers]) fanIn.set(d, (fanIn.get(d) || 0) + 1)
  const maxFanIn = Math.max(0, ...fanIn.values())
  const summary = { count, waves: sizes.length, perWave: sizes, edges, maxFanIn, names: members.map((m) => memberName(m.index)) }
  fs.writeFileSync(path.join(dir, 'layout.json'), JSON.stringify(summary) + '\n')
  console.log(JSON.stringify({ count, waves: sizes.length, perWave: sizes, edges, maxFanIn }))
}

function members (dir) {
  const base = path.join(dir, 'packages')
  return fs.readdirSync(base).sort().map((d) => path.join(base, d, 'package.json'))
}

function bump (dir, version) {
  for (const file of members(dir)) {
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
    pkg.version = version
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n')
  }
}

// Every member must be in the registry at every version given, and for the
// last version: the tarball must match the packument's integrity and the
// published dependencies on members must be plain `^1.0.x` ranges (no
// `workspace:` left).
async function verify (dir, url, versions) {
  const names = JSON.parse(fs.readFileSync(path.join(dir, 'layout.json'), 'utf8')).names
  const last = versions[versions.length - 1]
  const problems = []
  let tarballBytes = 0
  // A few at a time: the registry is on the same machine.
  const queue = [...names]
  async function worker () {
    for (let name; (name = queue.shift());) {
      const r = await fetch(new URL(name.replace('/', '%2f'), url), { headers: { accept: 'application/json' } })
      if (r.status !== 200) { problems.push(`${name}: GET packument: HTTP ${r.status}`); continue }
      const doc = await r.json()
      const have = Object.keys(doc.versions || {})
      const missing = versions.filter((v) => !have.includes(v))
      if (missing.length) problems.push(`${name}: missing ${missing.join(', ')}`)
      const extra = have.filter((v) => !versions.includes(v))
      if (extra.length) problems.push(`${name}: unexpected versions ${extra.join(', ')}`)
      const man = doc.versions && doc.versions[last]
      if (!man) continue
      for (const field of ['dependencies', 'peerDependencies']) {
        for (const [dep, spec] of Object.entries(man[field] || {})) {
          if (dep.startsWith('@bench/') && !/^\^1\.0\.\d+$/.test(spec)) problems.push(`${name}@${last}: ${field}.${dep} is "${spec}"`)
        }
      }
      const t = await fetch(man.dist.tarball)
      if (t.status !== 200) { problems.push(`${name}@${last}: GET tarball: HTTP ${t.status}`); continue }
      const bytes = Buffer.from(await t.arrayBuffer())
      tarballBytes += bytes.length
      const sri = 'sha512-' + crypto.createHash('sha512').update(bytes).digest('base64')
      if (sri !== man.dist.integrity) problems.push(`${name}@${last}: the tarball does not match the packument's integrity`)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  if (problems.length) {
    fail(`the registry does not hold what was published (${problems.length} problems):\n  ${problems.slice(0, 20).join('\n  ')}`)
  }
  console.log(JSON.stringify({ packages: names.length, versions: versions.length, published: names.length * versions.length, tarballBytes }))
}

// The next version for a tree: 1.0.<n> where n is the number of versions
// LIST already holds (so the first publish is 1.0.0, which `gen` wrote).
function next (dir, list) {
  const n = fs.existsSync(list) ? fs.readFileSync(list, 'utf8').split('\n').filter(Boolean).length : 0
  const version = `1.0.${n}`
  bump(dir, version)
  fs.appendFileSync(list, version + '\n')
}

const [cmd, ...args] = process.argv.slice(2)
if (cmd === 'gen') gen(args[0], args[1], Number(args[2] || 100))
else if (cmd === 'next') next(args[0], args[1])
else if (cmd === 'verify') verify(args[0], args[1], args.slice(2)).catch((e) => fail(String((e && e.stack) || e)))
else fail('usage: workspaces.js gen DIR npm|pnpm [COUNT] | next DIR LIST | verify DIR URL VERSION...')
