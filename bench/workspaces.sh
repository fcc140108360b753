#!/usr/bin/env bash
# Time `trustpub publish --workspaces` against `npm publish --workspaces` and
# `pnpm -r publish` on a generated workspace of 100 packages, each tool
# publishing the whole workspace to its own fresh local Verdaccio.
#
#   bench/workspaces.sh                    # everything from scratch into bench/.work/
#   RUNS=5 bench/workspaces.sh             # more timed runs
#   TOOLS="npm trustpub" bench/workspaces.sh   # only some of the tools
#   WAIT_LOAD=1.5 bench/workspaces.sh      # wait (up to WAIT_MAX s) for a quiet machine
#
# The workspace (bench/workspaces.js): @bench/p001 … @bench/p100, a few files
# each, in 7 dependency levels (publishing in dependency order takes 7 waves),
# fan-in on a few core members. Two flavours of the same tree: plain semver
# ranges between members (`npm` tree) and `workspace:^` with a
# pnpm-workspace.yaml (`pnpm` tree).
#
# A version can be published only once, so every run publishes new ones:
# hyperfine's --prepare step (untimed) sets every member of the tool's copy
# to 1.0.<n>. At the end of each tool's runs the script fetches all 100
# packuments and fails unless the registry holds every version that tool
# published (and the last tarball of each matches its integrity).
#
# Prints a markdown table (median wall time, ratio to npm, peak RSS,
# PASS/FAIL against the issue's target: trustpub at most 0.05x npm's wall
# time) and writes it to bench/results/workspaces.md. See bench/README.md.
set -euo pipefail

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS=${RUNS:-3}
COUNT=${COUNT:-100}
TOOLS=${TOOLS:-npm pnpm pnpm10 trustpub trustpub-pnpm}
PNPM_VERSION=${PNPM_VERSION:-12.21.0}
# pnpm 10: the registry's newest 10.x unless set.
PNPM10_VERSION=${PNPM10_VERSION:-}
WAIT_LOAD=${WAIT_LOAD:-}
WAIT_MAX=${WAIT_MAX:-600}
TARGET_RATIO=0.05
WS="$WORK/workspaces"
GEN="$BENCH_DIR/workspaces.js"

setup_work
apt_need hyperfine hyperfine
apt_need /usr/bin/time time
command -v node >/dev/null 2>&1 || die "node is required"
[ "$RUNS" -ge 1 ] 2>/dev/null || die "RUNS must be a number >= 1"
load_start=$(uptime)
read -r -a tools <<<"$TOOLS"
declare -A want
for t in "${tools[@]}"; do
    case "$t" in npm | pnpm | pnpm10 | trustpub | trustpub-pnpm) want[$t]=1 ;; *) die "unknown tool '$t' in TOOLS (npm pnpm pnpm10 trustpub trustpub-pnpm)" ;; esac
done

# Keep pnpm and npm away from the user's config, store and update checks
# (the userconfig with the registry token is set per tool below).
export npm_config_cache="$NPM_CACHE" npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export XDG_CONFIG_HOME="$WS/xdg/config" XDG_DATA_HOME="$WS/xdg/data"
export XDG_CACHE_HOME="$WS/xdg/cache" XDG_STATE_HOME="$WS/xdg/state"

# --- tools ---------------------------------------------------------------------

ensure_test_tools
# pnpm 10 publishes through the `npm` on PATH: make it the pinned one.
mkdir -p "$WORK/bin-npm"
ln -sfn "$NPM" "$WORK/bin-npm/npm"
export PATH="$WORK/bin-npm:$PATH"
# pnpm 12 where bench/pack.sh installs it, pnpm 10 beside it.
PNPM_TOOLS="$WORK/tools"
PNPM10_TOOLS="$WORK/tools-pnpm10"
install_pnpm() {
    local prefix=$1 version=$2
    if [ "$(installed_version "$prefix" pnpm)" != "$version" ]; then
        log "installing pnpm@$version into ${prefix#"$ROOT"/}"
        mkdir -p "$prefix"
        npm_isolated install --prefix "$prefix" "pnpm@$version" >&2
    fi
    "$prefix/node_modules/.bin/pnpm" --version >/dev/null 2>&1 || die "pnpm@$version does not run here"
}
if [ -n "${want[pnpm]:-}" ]; then
    pnpm_v=$(resolve_version pnpm "$PNPM_VERSION")
    install_pnpm "$PNPM_TOOLS" "$pnpm_v"
fi
if [ -n "${want[pnpm10]:-}" ]; then
    [ -n "$PNPM10_VERSION" ] || PNPM10_VERSION=$(newest_version pnpm 10)
    [ -n "$PNPM10_VERSION" ] || die "no pnpm 10.x on the npm registry"
    pnpm10_v=$(resolve_version pnpm "$PNPM10_VERSION")
    install_pnpm "$PNPM10_TOOLS" "$pnpm10_v"
fi
if [ -n "${want[trustpub]:-}${want[trustpub-pnpm]:-}" ]; then
    build_trustpub
fi

# --- the workspace, one copy per tool ---------------------------------------------

rm -rf "$WS"
mkdir -p "$WS"
case "$WS" in *' '*) die "paths with spaces are not supported: $WS" ;; esac
log "generating the $COUNT-package workspace (npm and pnpm flavours)"
layout=$(node "$GEN" gen "$WS/tree-npm" npm "$COUNT")
node "$GEN" gen "$WS/tree-pnpm" pnpm "$COUNT" >/dev/null
declare -A flavour=([npm]=npm [pnpm]=pnpm [pnpm10]=pnpm [trustpub]=npm [trustpub-pnpm]=pnpm)
for t in "${tools[@]}"; do
    cp -a "$WS/tree-${flavour[$t]}" "$WS/ws-$t"
done

# cmd_for TOOL: the command (no shell) that publishes the whole workspace,
# run in its root, with the userconfig $RC and the registry $URL.
cmd_for() {
    case "$1" in
    npm) echo "$NPM publish --workspaces --ignore-scripts --userconfig $RC --cache $WS/cache-npm --registry $URL" ;;
    pnpm) echo "$PNPM_TOOLS/node_modules/.bin/pnpm -r publish --no-git-checks --ignore-scripts --registry $URL" ;;
    pnpm10) echo "$PNPM10_TOOLS/node_modules/.bin/pnpm -r publish --no-git-checks --ignore-scripts --registry $URL" ;;
    trustpub | trustpub-pnpm) echo "$TRUSTPUB publish --workspaces --ignore-scripts --userconfig $RC --registry $URL" ;;
    esac
}
declare -A label=(
    [npm]="npm publish --workspaces"
    [pnpm]="pnpm -r publish (pnpm ${pnpm_v:-})"
    [pnpm10]="pnpm -r publish (pnpm ${pnpm10_v:-})"
    [trustpub]="trustpub publish --workspaces"
    [trustpub-pnpm]="trustpub publish --workspaces"
)

# --- each tool: its own Verdaccio, one untimed publish, RUNS timed ones ------------

wait_for_load "$WAIT_LOAD" "$WAIT_MAX"
declare -A cmd load_tool url_of verd_cpu
# proc_cpu_ticks PID: user + system CPU time of a process, in clock ticks.
proc_cpu_ticks() {
    # Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends
    # the command name.
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
for t in "${tools[@]}"; do
    dir="$WS/ws-$t"
    list="$WS/versions-$t.txt"
    start_verdaccio "$WS/verdaccio-$t.log"
    RC="$WS/npmrc-$t"
    verdaccio_userconfig "$RC" "bench-$t-$$"
    # pnpm takes its userconfig from the environment; npm and trustpub get
    # --userconfig too.
    export npm_config_userconfig="$RC"
    cmd[$t]=$(cmd_for "$t")
    url_of[$t]=$URL
    prep="node $GEN next $dir $list"

    if [ "$t" = pnpm10 ]; then
        # pnpm 10 resolves `workspace:` from the installed links (pnpm 12
        # from the workspace itself): install first, as a user would have.
        log "$t: pnpm install (links the members; untimed)"
        (cd "$dir" && ${cmd[$t]%% *} install --offline >"$WS/$t-install.out" 2>&1) ||
            { tail -n 30 "$WS/$t-install.out" >&2; die "pnpm install failed in $dir"; }
    fi
    log "$t: first publish of the ${flavour[$t]} tree (untimed; creates every package)"
    $prep
    (cd "$dir" && ${cmd[$t]} >"$WS/$t.out" 2>"$WS/$t.err") ||
        { tail -n 30 "$WS/$t.err" >&2; die "$t failed (full output: $WS/$t.err)"; }

    load_tool[$t]=$(cut -d' ' -f1-3 /proc/loadavg)
    verd_cpu_before=$(proc_cpu_ticks "$verd_pid")
    log "$t: $RUNS timed runs (each publishes $COUNT new versions; load $(cut -d' ' -f1-3 /proc/loadavg))"
    (cd "$dir" && hyperfine -N --style basic --runs "$RUNS" --prepare "$prep" \
        --export-json "$WS/hyperfine-$t.json" -n "$t" \
        "/usr/bin/time -v -a -o $WS/time-$t.txt ${cmd[$t]}" >&2)
    load_tool[$t]="${load_tool[$t]} / $(cut -d' ' -f1-3 /proc/loadavg)"
    # Verdaccio's own CPU time over the timed runs (nothing else talks to it then).
    verd_cpu[$t]=$(awk -v a="$verd_cpu_before" -v b="$(proc_cpu_ticks "$verd_pid")" -v hz="$(getconf CLK_TCK)" -v n="$RUNS" \
        'BEGIN { printf "%.3f", (b - a) / hz / n }')

    log "$t: checking that Verdaccio holds every version published"
    # shellcheck disable=SC2046 # one argument per version
    node "$GEN" verify "$dir" "$URL" $(cat "$list") >"$WS/verify-$t.json" ||
        die "verification failed: the registry does not hold what $t published"
    stop_verdaccio
done
load_after=$(uptime)

# --- results ---------------------------------------------------------------------

for t in "${tools[@]}"; do
    rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$WS/time-$t.txt" | median) ||
        die "no peak RSS for $t"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rss" "${flavour[$t]}" "${label[$t]}" "${load_tool[$t]}" "${verd_cpu[$t]}"
done >"$WS/rows.tsv"
table=$(node -e '
    const fs = require("node:fs")
    const [ws, rows, target] = process.argv.slice(1)
    const median = (xs) => {
      const t = [...xs].sort((a, b) => a - b)
      return t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2
    }
    const f = (x, d) => x.toFixed(d)
    const r = {}
    for (const l of fs.readFileSync(rows, "utf8").trim().split("\n")) {
      const [tool, rss, tree, label, load, verdCpu] = l.split("\t")
      const h = JSON.parse(fs.readFileSync(`${ws}/hyperfine-${tool}.json`, "utf8")).results[0]
      const times = h.times
      const v = JSON.parse(fs.readFileSync(`${ws}/verify-${tool}.json`, "utf8"))
      r[tool] = { rss: +rss, tree, label, load, med: median(times), min: Math.min(...times), max: Math.max(...times), v,
                  cpu: h.user + h.system, verdCpu: +verdCpu }
    }
    const npm = r.npm && r.npm.med
    const out = ["| tool | tree | median wall (s) | min-max (s) | vs npm | per package (ms) | client CPU (s) | Verdaccio CPU (s) | peak RSS (MiB) | load (1/5/15 min) before / after |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
    for (const [tool, x] of Object.entries(r)) {
      out.push(`| ${x.label} | ${x.tree} | ${f(x.med, 2)} | ${f(x.min, 2)}-${f(x.max, 2)} | ${npm ? f(x.med / npm, 3) + "x" : "-"} | ` +
               `${f((x.med * 1000) / x.v.packages, 1)} | ${f(x.cpu, 2)} | ${f(x.verdCpu, 2)} | ${f(x.rss / 1024, 1)} | ${x.load} |`)
    }
    out.push("")
    for (const tool of ["trustpub", "trustpub-pnpm"]) {
      const x = r[tool]
      if (!x) continue
      if (!npm) { out.push(`Target (${tool}): no npm row to compare with.`); continue }
      const limit = npm * +target
      out.push(`Target for ${tool === "trustpub" ? "trustpub (npm tree)" : "trustpub (pnpm tree)"}: wall <= ${target}x npm = ${f(limit, 2)} s: ` +
               `**${x.med <= limit ? "PASS" : "FAIL"}** (${f(x.med, 2)} s = ${f(x.med / npm, 3)}x npm, ${f(x.med / limit, 2)}x the limit).`)
      out.push("")
    }
    out.push("Verified on each registry afterwards: " + Object.entries(r).map(([tool, x]) =>
      `${tool}: ${x.v.packages} packages x ${x.v.versions} versions = ${x.v.published} versions present`).join("; ") +
      ". For the last version of every package, the tarball matches the integrity in the packument and every dependency on a member is a plain `^1.0.x` range.")
    console.log(out.join("\n"))
' "$WS" "$WS/rows.tsv" "$TARGET_RATIO")

rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo "+changes" || true)
files=$(find "$WS/tree-npm/packages" -type f | wc -l)
bytes=$(du -sb "$WS/tree-npm/packages" | cut -f1)
rel() { local s=$1; s=${s//$ROOT\//}; s=${s//$WS\//}; echo "$s"; }
{
    echo "# workspace publish benchmark: $COUNT packages"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')). Each tool publishes to its own fresh Verdaccio $verdaccio_v on 127.0.0.1 (same machine)."
    echo
    echo "- uptime at start of the script: \`$(echo "$load_start" | sed 's/^ *//')\`"
    echo "- uptime after the last run: \`$(echo "$load_after" | sed 's/^ *//')\`"
    echo
    echo "Workspace (\`bench/workspaces.js\`): $(node -e 'const l = JSON.parse(process.argv[1]); console.log(`${l.count} packages @bench/p001…, ${l.waves} dependency waves (${l.perWave.join(" + ")} packages), ${l.edges} dependency edges between members, largest fan-in ${l.maxFanIn}`)' "$layout"); $files files, $bytes bytes. Trees: \`npm\` (plain \`^1.0.0\` ranges between members, \`package.json\` workspaces) and \`pnpm\` (\`workspace:^\`, \`pnpm-workspace.yaml\`)."
    echo "Each tool: one untimed publish (1.0.0: creates every package), then $RUNS timed runs with hyperfine, each publishing 1.0.<n> of all $COUNT packages (set by \`--prepare\`, untimed); median wall time. Client CPU: user + system time of the command and its children (hyperfine's mean per run); Verdaccio CPU: the registry process's user + system time over the timed runs, per run. Peak RSS: \`/usr/bin/time -v\` around each timed run (largest single process), median."
    echo "Versions: trustpub $rev$dirty, npm $npm_v (node $(node --version))${pnpm_v:+, pnpm $pnpm_v}${pnpm10_v:+, pnpm $pnpm10_v}, Verdaccio $verdaccio_v."
    echo
    for w in "${WARNINGS[@]}"; do
        echo "**WARNING: $w**"
        echo
    done
    echo "$table"
    echo
    echo "Commands (run in the workspace root; \`URL\` is the tool's Verdaccio, \`RC\` a userconfig holding a token for a user the script created there):"
    echo
    for t in "${tools[@]}"; do
        c=${cmd[$t]}
        c=${c//$WS\/npmrc-$t/RC}
        c=${c//${url_of[$t]}/URL}
        echo "- $t: \`$(rel "$c")\`"
    done
} >"$RESULTS/workspaces.md"

echo
cat "$RESULTS/workspaces.md"
for w in "${WARNINGS[@]}"; do warn_loud "$w"; done
