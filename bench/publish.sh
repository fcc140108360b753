#!/usr/bin/env bash
# Time `trustpub publish` against `npm publish` on one real package
# (date-fns@4.1.0 by default), both publishing to the same local Verdaccio.
#
#   bench/publish.sh                      # everything from scratch into bench/.work/
#   RUNS=15 RSS_RUNS=5 bench/publish.sh   # more timed runs
#   WAIT_LOAD=1.5 bench/publish.sh        # wait (up to WAIT_MAX s) for a quiet machine
#
# A version can be published only once, so every run (warmup, timed, RSS)
# publishes a new one: hyperfine's --prepare step rewrites package.json of
# the tool's own copy of the package to <version>-bench.<tool>.<n>, and both
# tools publish with --tag bench. At the end the script fetches the packument
# and fails unless Verdaccio holds every version both tools published.
#
# Prints a markdown table (median wall time, ratio, peak RSS, PASS/FAIL
# against the issue's targets) and writes it to bench/results/publish.md.
# See bench/README.md.
set -euo pipefail

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS=${RUNS:-10}
WARMUP=${WARMUP:-3}
RSS_RUNS=${RSS_RUNS:-5}
WAIT_LOAD=${WAIT_LOAD:-}
WAIT_MAX=${WAIT_MAX:-600}
PUB="$WORK/publish"

setup_work
apt_need hyperfine hyperfine
apt_need /usr/bin/time time
command -v node >/dev/null 2>&1 || die "node is required"
load_start=$(uptime)

# --- tools: the pinned npm and Verdaccio from tests/tools ---------------------

ensure_test_tools

# --- package and trustpub ------------------------------------------------------

fetch_package

build_trustpub

# --- one copy of the package per tool -----------------------------------------

rm -rf "$PUB"
mkdir -p "$PUB"
case "$PUB" in *' '*) die "paths with spaces are not supported: $PUB" ;; esac
cp "$PKG_DIR/package.json" "$PUB/orig-package.json"
PKG_NAME=$(node -p "require('$PUB/orig-package.json').name")
BASE_VERSION=$(node -p "require('$PUB/orig-package.json').version.split('+')[0]")
for t in npm trustpub dry; do
    cp -a "$PKG_DIR" "$PUB/pkg-$t"
    : >"$PUB/versions-$t.txt"
done

# bump.js TOOL: give $PUB/pkg-TOOL the next version <base>-bench.TOOL.<n> and
# append it to $PUB/versions-TOOL.txt. Runs as hyperfine's --prepare step, so
# it is not timed. Nothing is written inside the package directory except
# package.json (a counter file there would be published).
cat >"$PUB/bump.js" <<'EOF'
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const [pub, tool, base] = process.argv.slice(2)
const list = path.join(pub, `versions-${tool}.txt`)
const n = fs.readFileSync(list, 'utf8').split('\n').filter(Boolean).length + 1
const version = tool === 'dry' ? `${base}-bench.dry` : `${base}-bench.${tool}.${n}`
const pkg = JSON.parse(fs.readFileSync(path.join(pub, 'orig-package.json'), 'utf8'))
pkg.version = version
fs.writeFileSync(path.join(pub, `pkg-${tool}`, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
if (tool !== 'dry') fs.appendFileSync(list, version + '\n')
EOF
bump() { node "$PUB/bump.js" "$PUB" "$1" "$BASE_VERSION"; }
bump dry

# --- Verdaccio -----------------------------------------------------------------

start_verdaccio "$PUB/verdaccio.log"
# A user, and its token in a private userconfig (used by both tools).
USERCONFIG="$PUB/npmrc"
verdaccio_userconfig "$USERCONFIG" "bench$$"
NPM_CACHE_PUB="$PUB/npm-cache"
mkdir -p "$NPM_CACHE_PUB"

# --- commands ------------------------------------------------------------------

names=(npm trustpub trustpub-dry-run)
declare -A cmd prep
cmd[npm]="$NPM publish $PUB/pkg-npm --ignore-scripts --tag bench --userconfig $USERCONFIG --cache $NPM_CACHE_PUB --registry $URL"
cmd[trustpub]="$TRUSTPUB publish $PUB/pkg-trustpub --ignore-scripts --tag bench --userconfig $USERCONFIG --registry $URL"
cmd[trustpub-dry-run]="$TRUSTPUB publish $PUB/pkg-dry --dry-run --ignore-scripts --tag bench --userconfig $USERCONFIG --registry $URL"
prep[npm]="node $PUB/bump.js $PUB npm $BASE_VERSION"
prep[trustpub]="node $PUB/bump.js $PUB trustpub $BASE_VERSION"
prep[trustpub-dry-run]="node $PUB/bump.js $PUB dry $BASE_VERSION"

# Every command must work before anything is timed.
for n in "${names[@]}"; do
    ${prep[$n]}
    (cd "$PUB" && ${cmd[$n]} >"$PUB/$n.out" 2>"$PUB/$n.err") ||
        { tail -n 30 "$PUB/$n.err" >&2; die "$n failed (full output: $PUB/$n.err)"; }
done

# Optionally wait for a quiet machine (the build above raised the load too).
wait_for_load "$WAIT_LOAD" "$WAIT_MAX"

load_before=$(uptime)
log "load before timing: $load_before"
# Every version stays in the registry, so Verdaccio's stored document grows
# with each publish (date-fns's package.json alone is ~200 KB) and each
# publish costs the registry a little more. To give both tools the same
# registry on average, the runs go in two blocks in ABBA order: block 1 npm
# then trustpub (with warmups), block 2 trustpub then npm. The dry run (no
# upload) is timed once per block, after the tools.
RUNS1=$(((RUNS + 1) / 2))
RUNS2=$((RUNS - RUNS1))
[ "$RUNS2" -ge 2 ] || die "RUNS must be at least 4 (two blocks of at least 2 runs)"
# hyperfine_block JSON NAME...: one hyperfine run over the named commands.
hyperfine_block() {
    local json=$1 warmup=$2 runs=$3 n
    shift 3
    local args=()
    for n in "$@"; do args+=(--prepare "${prep[$n]}"); done
    for n in "$@"; do args+=(-n "$n" "${cmd[$n]}"); done
    (cd "$PUB" && hyperfine -N --style basic --warmup "$warmup" --runs "$runs" \
        --export-json "$json" "${args[@]}" >&2)
}
log "timing, block 1: npm then trustpub, $WARMUP warmups, $RUNS1 runs each (every run publishes a new version)"
hyperfine_block "$PUB/hyperfine-1.json" "$WARMUP" "$RUNS1" npm trustpub trustpub-dry-run
log "timing, block 2: trustpub then npm, $RUNS2 runs each"
hyperfine_block "$PUB/hyperfine-2.json" 0 "$RUNS2" trustpub npm trustpub-dry-run

log "peak RSS: /usr/bin/time -v, median of $RSS_RUNS runs each, interleaved"
declare -A rss
for n in "${names[@]}"; do : >"$PUB/rss-$n.list"; done
for _ in $(seq "$RSS_RUNS"); do
    for n in "${names[@]}"; do
        ${prep[$n]}
        (cd "$PUB" && /usr/bin/time -v -o "$PUB/time.txt" ${cmd[$n]} >/dev/null 2>"$PUB/$n.err") ||
            { tail -n 30 "$PUB/$n.err" >&2; die "$n failed during the RSS runs"; }
        sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$PUB/time.txt" >>"$PUB/rss-$n.list"
    done
done
for n in "${names[@]}"; do
    rss[$n]=$(median <"$PUB/rss-$n.list") || die "no peak RSS for $n"
done
load_after=$(uptime)

# --- did anything get published? -----------------------------------------------

expected=$((1 + WARMUP + RUNS + RSS_RUNS))
log "checking that Verdaccio holds every version both tools published"
verify=$(node -e '
    const fs = require("node:fs")
    const crypto = require("node:crypto")
    const [url, name, pub, expected] = process.argv.slice(1)
    const fail = (m) => { console.error(m); process.exit(1) }
    ;(async () => {
      const r = await fetch(new URL(encodeURIComponent(name).replace(/^%40/, "@"), url), { headers: { accept: "application/json" } })
      if (r.status !== 200) fail(`GET packument: HTTP ${r.status}`)
      const text = await r.text()
      const doc = JSON.parse(text)
      const out = { packumentBytes: Buffer.byteLength(text) }
      for (const tool of ["npm", "trustpub"]) {
        const want = fs.readFileSync(`${pub}/versions-${tool}.txt`, "utf8").split("\n").filter(Boolean)
        if (want.length !== +expected) fail(`${tool}: ${want.length} versions prepared, expected ${expected}`)
        const missing = want.filter((v) => !doc.versions || !doc.versions[v])
        if (missing.length) fail(`${tool}: the registry lacks ${missing.length} of ${want.length} versions: ${missing.slice(0, 5).join(", ")}`)
        // The last one: download it and check its integrity against the packument.
        const last = want[want.length - 1]
        const dist = doc.versions[last].dist
        const t = await fetch(dist.tarball)
        if (t.status !== 200) fail(`${tool}: GET ${dist.tarball}: HTTP ${t.status}`)
        const bytes = Buffer.from(await t.arrayBuffer())
        const sri = "sha512-" + crypto.createHash("sha512").update(bytes).digest("base64")
        if (dist.integrity !== sri) fail(`${tool}: ${last}: tarball integrity ${sri} differs from the packument (${dist.integrity})`)
        fs.writeFileSync(`${pub}/last-${tool}.tgz`, bytes)
        out[tool] = { versions: want.length, last, size: bytes.length }
      }
      const dry = Object.keys(doc.versions).filter((v) => v.includes("-bench.dry"))
      if (dry.length) fail(`the dry run published ${dry.join(", ")}`)
      console.log(JSON.stringify(out))
    })().catch((e) => fail(String(e && e.stack || e)))
' "$URL" "$PKG_NAME" "$PUB" "$expected") || die "verification failed: the registry does not hold what the benchmark published"

# Both last tarballs hold the package's files.
nfiles=$(find "$PKG_DIR" -type f | wc -l)
for t in npm trustpub; do
    entries=$(tar -tzf "$PUB/last-$t.tgz" | grep -vc '/$')
    [ "$entries" = "$nfiles" ] || die "$t's published tarball has $entries files, the package has $nfiles"
done

stop_verdaccio

# --- results -------------------------------------------------------------------

for n in "${names[@]}"; do printf '%s\t%s\n' "$n" "${rss[$n]}"; done >"$PUB/rss.tsv"
table=$(node -e '
    const fs = require("node:fs")
    const [hf1, hf2, rssFile, verifyJson] = process.argv.slice(1)
    const median = (xs) => {
      const t = [...xs].sort((a, b) => a - b)
      return t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2
    }
    const times = {}, block = [{}, {}]
    ;[hf1, hf2].forEach((file, i) => {
      for (const x of JSON.parse(fs.readFileSync(file, "utf8")).results) {
        times[x.command] = (times[x.command] || []).concat(x.times)
        block[i][x.command] = median(x.times)
      }
    })
    const med = {}, spread = {}
    for (const [n, t] of Object.entries(times)) {
      med[n] = median(t)
      spread[n] = [Math.min(...t), Math.max(...t)]
    }
    const rss = {}
    for (const l of fs.readFileSync(rssFile, "utf8").trim().split("\n")) { const [n, r] = l.split("\t"); rss[n] = +r }
    const v = JSON.parse(verifyJson)
    const f = (x, d) => x.toFixed(d)
    const label = { npm: "npm publish", trustpub: "trustpub publish", "trustpub-dry-run": "trustpub publish --dry-run (no upload)" }
    const out = ["| tool | median wall (s) | min-max (s) | vs npm | peak RSS (MiB) |", "|---|---|---|---|---|"]
    for (const n of ["npm", "trustpub", "trustpub-dry-run"]) {
      out.push(`| ${label[n]} | ${f(med[n], 3)} | ${f(spread[n][0], 3)}-${f(spread[n][1], 3)} | ${f(med[n] / med.npm, 3)}x | ${f(rss[n] / 1024, 1)} |`)
    }
    const ok = (c) => (c ? "PASS" : "FAIL")
    const limit = med.npm * 0.1
    out.push("", `Targets for trustpub: wall <= 0.1x npm = ${f(limit, 3)} s: ${ok(med.trustpub <= limit)} ` +
             `(${f(med.trustpub, 3)} s = ${f(med.trustpub / med.npm, 3)}x npm, ${f(med.trustpub / limit, 2)}x the limit); ` +
             `peak RSS < 64 MiB: ${ok(rss.trustpub < 64 * 1024)} (${f(rss.trustpub / 1024, 1)} MiB).`)
    out.push("", "Medians per block (block 1: npm then trustpub; block 2: trustpub then npm; the registry grows between them): " +
             ["npm", "trustpub", "trustpub-dry-run"].map((n) => `${n} ${f(block[0][n], 3)} / ${f(block[1][n], 3)} s`).join(", ") + ".")
    out.push("", `Verified on the registry afterwards: all ${v.npm.versions} versions published by npm and all ` +
             `${v.trustpub.versions} published by trustpub are in the packument (${f(v.packumentBytes / 1048576, 1)} MiB at the end); ` +
             `the last tarball of each matches its integrity and holds every file (npm ${v.npm.size} bytes, trustpub ${v.trustpub.size} bytes).`)
    console.log(out.join("\n"))
' "$PUB/hyperfine-1.json" "$PUB/hyperfine-2.json" "$PUB/rss.tsv" "$verify")

rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo "+changes" || true)
unpacked=$(du -sb "$PKG_DIR" | cut -f1)
rel() { local s=$1; s=${s//$ROOT\//}; s=${s//$TOKEN/<token>}; echo "$s"; }
{
    echo "# publish benchmark: $PKG_SPEC"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')). One Verdaccio $verdaccio_v on 127.0.0.1 (same machine) for both tools."
    echo
    echo "- uptime at start of the script: \`$(echo "$load_start" | sed 's/^ *//')\`"
    echo "- uptime before timing: \`$(echo "$load_before" | sed 's/^ *//')\`"
    echo "- uptime after the last run: \`$(echo "$load_after" | sed 's/^ *//')\`"
    echo
    echo "Package: $nfiles files, $unpacked bytes unpacked. Every run publishes a new version ($BASE_VERSION-bench.<tool>.<n>, tag \`bench\`), prepared outside the timing."
    echo "hyperfine: $WARMUP warmups, then $RUNS runs per tool in two blocks in ABBA order (npm, trustpub | trustpub, npm; $RUNS1 + $RUNS2 runs), median of all $RUNS; peak RSS: median of $RSS_RUNS interleaved runs of \`/usr/bin/time -v\` (largest single process)."
    echo "Versions: trustpub $rev$dirty, npm $npm_v (node $(node --version)), Verdaccio $verdaccio_v."
    echo
    for w in "${WARNINGS[@]}"; do echo "**WARNING: $w**"; echo; done
    echo "$table"
    echo
    echo "Commands (run in \`bench/.work/publish\`; \`--prepare\` sets the next version first):"
    echo
    for n in "${names[@]}"; do echo "- $n: \`$(rel "${cmd[$n]}")\`"; done
} >"$RESULTS/publish.md"

echo
cat "$RESULTS/publish.md"
for w in "${WARNINGS[@]}"; do warn_loud "$w"; done
