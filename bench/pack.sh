#!/usr/bin/env bash
# Time `trustpub pack` against `npm pack`, `pnpm pack` and `bun pm pack` on
# one real package (date-fns@4.1.0 by default), side by side in one run.
#
#   bench/pack.sh            # everything from scratch into bench/.work/
#   RUNS=20 bench/pack.sh    # more timed runs
#
# Prints a markdown table (median wall time, ratios, tarball size vs npm's,
# peak RSS) and writes it to bench/results/pack.md. See bench/README.md.
set -euo pipefail

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PNPM_VERSION=${PNPM_VERSION:-12.21.0}
BUN_VERSION=${BUN_VERSION:-1.4.5}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-3}
RSS_RUNS=${RSS_RUNS:-5}
TOOLS="$WORK/tools"
OUT="$WORK/out"

# Keep pnpm and npm away from the user's config, store and update checks.
export npm_config_userconfig="$NPMRC" npm_config_cache="$NPM_CACHE"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export XDG_CONFIG_HOME="$WORK/xdg/config" XDG_DATA_HOME="$WORK/xdg/data"
export XDG_CACHE_HOME="$WORK/xdg/cache" XDG_STATE_HOME="$WORK/xdg/state"

setup_work
apt_need hyperfine hyperfine
apt_need /usr/bin/time time
command -v node >/dev/null 2>&1 || die "node is required"

# --- tools -------------------------------------------------------------------

pnpm_v=$(resolve_version pnpm "$PNPM_VERSION")
bun_v=$(resolve_version bun "$BUN_VERSION")
if [ "$(installed_version "$TOOLS" pnpm)" != "$pnpm_v" ] || [ "$(installed_version "$TOOLS" bun)" != "$bun_v" ]; then
    log "installing pnpm@$pnpm_v and bun@$bun_v into bench/.work/tools"
    mkdir -p "$TOOLS"
    if ! npm_isolated install --prefix "$TOOLS" "pnpm@$pnpm_v" "bun@$bun_v" >&2; then
        warn_loud "installing bun@$bun_v failed; installing pnpm alone (no bun row)"
        npm_isolated install --prefix "$TOOLS" "pnpm@$pnpm_v" >&2
    fi
fi
PNPM="$TOOLS/node_modules/.bin/pnpm"
BUN="$TOOLS/node_modules/.bin/bun"
"$PNPM" --version >/dev/null 2>&1 || die "pnpm@$pnpm_v does not run here"
have_bun=1
if ! "$BUN" --version >/dev/null 2>&1; then
    warn_loud "bun@$bun_v installed but its binary does not run on this machine: no bun row"
    have_bun=0
fi
npm_v=$(npm --version)
[ "$npm_v" = "$NPM_EXPECTED" ] ||
    warn_loud "npm is $npm_v, the issue's reference is npm $NPM_EXPECTED"

# --- package and trustpub ------------------------------------------------------

fetch_package

build_trustpub

# --- commands ------------------------------------------------------------------

rm -rf "$OUT"
names=(trustpub npm pnpm)
[ "$have_bun" = 1 ] && names+=(bun)
declare -A cmd
cmd[trustpub]="$TRUSTPUB pack --pack-destination $OUT/trustpub"
cmd[npm]="npm pack --pack-destination $OUT/npm --ignore-scripts --userconfig $NPMRC --cache $NPM_CACHE"
cmd[pnpm]="$PNPM pack --pack-destination $OUT/pnpm"
cmd[bun]="$BUN pm pack --destination $OUT/bun --ignore-scripts"
for n in "${names[@]}"; do
    mkdir -p "$OUT/$n"
    case "$OUT/$n" in *' '*) die "paths with spaces are not supported: $OUT" ;; esac
done

# Every tool must work before anything is timed.
for n in "${names[@]}"; do
    (cd "$PKG_DIR" && ${cmd[$n]} >/dev/null 2>"$OUT/$n.err") ||
        { cat "$OUT/$n.err" >&2; die "$n failed in $PKG_DIR"; }
done

# MAX_LOAD=1 waits (up to LOAD_WAIT seconds) for a quieter machine: the
# 1-minute load average below MAX_LOAD before anything is timed.
wait_for_load "${MAX_LOAD:-}" "${LOAD_WAIT:-600}"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "timing with hyperfine: $WARMUP warmups, $RUNS runs each"
hf_args=()
for n in "${names[@]}"; do
    hf_args+=(-n "$n" "${cmd[$n]}")
done
(cd "$PKG_DIR" && hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
    --export-json "$WORK/pack-hyperfine.json" "${hf_args[@]}" >&2)

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
log "peak RSS: /usr/bin/time, median of $RSS_RUNS runs each"
declare -A rss
for n in "${names[@]}"; do
    for _ in $(seq "$RSS_RUNS"); do
        (cd "$PKG_DIR" && /usr/bin/time -f '%M' -o "$WORK/rss.txt" ${cmd[$n]} >/dev/null 2>&1)
        cat "$WORK/rss.txt"
    done | median >"$WORK/rss-$n.txt"
    rss[$n]=$(cat "$WORK/rss-$n.txt")
done

# --- results -------------------------------------------------------------------

declare -A med size
while read -r n m; do med[$n]=$m; done < <(node -e '
    const r = require(process.argv[1]).results;
    for (const x of r) {
        const t = [...x.times].sort((a, b) => a - b);
        const m = t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
        console.log(x.command, m);
    }' "$WORK/pack-hyperfine.json")
for n in "${names[@]}"; do
    f=$(ls "$OUT/$n"/*.tgz 2>/dev/null | head -n 1) || true
    [ -n "$f" ] || die "$n wrote no .tgz into $OUT/$n"
    size[$n]=$(stat -c %s "$f")
done

# trustpub's tarball must hold exactly npm's tar, in one gzip member.
tar_same=no
if cmp -s <(gzip -dc "$OUT/trustpub"/*.tgz) <(gzip -dc "$OUT/npm"/*.tgz); then tar_same=yes; fi
header=$(head -c 10 "$OUT/trustpub"/*.tgz | od -An -tx1 | tr -d ' \n')

for n in "${names[@]}"; do
    printf '%s\t%s\t%s\t%s\n' "$n" "${med[$n]}" "${size[$n]}" "${rss[$n]}"
done >"$WORK/pack-rows.tsv"
table=$(node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("\t"));
    const med = {}, size = {}, rss = {};
    for (const [n, m, s, r] of rows) { med[n] = +m; size[n] = +s; rss[n] = +r; }
    const f = (x, d) => x.toFixed(d);
    const pct = (x) => (x >= 0 ? "+" : "") + f(x, 2) + "%";
    const out = ["| tool | median wall (s) | vs trustpub | vs pnpm | .tgz bytes | size vs npm | peak RSS (MiB) |",
                 "|---|---|---|---|---|---|---|"];
    for (const [n] of rows) {
        out.push(`| ${n} | ${f(med[n], 3)} | ${f(med[n] / med.trustpub, 2)}x | ${f(med[n] / med.pnpm, 2)}x | ` +
                 `${size[n]} | ${pct((size[n] / size.npm - 1) * 100)} | ${f(rss[n] / 1024, 1)} |`);
    }
    const ok = (c) => (c ? "PASS" : "FAIL");
    out.push("", `Targets for trustpub: wall <= pnpm/2 = ${f(med.pnpm / 2, 3)} s: ${ok(med.trustpub <= med.pnpm / 2)} ` +
             `(${f(med.trustpub, 3)} s); size <= npm +1%: ${ok(size.trustpub <= size.npm * 1.01)}; ` +
             `peak RSS < 32 MiB: ${ok(rss.trustpub < 32 * 1024)}.`);
    console.log(out.join("\n"));
' "$WORK/pack-rows.tsv")

rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo "+changes" || true)
nfiles=$(find "$PKG_DIR" -type f | wc -l)
unpacked=$(du -sb "$PKG_DIR" | cut -f1)
{
    echo "# pack benchmark: $PKG_SPEC"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average before timing: $load_before, after: $load_after."
    echo "Package: $nfiles files, $unpacked bytes unpacked. hyperfine: $WARMUP warmups, $RUNS runs, median; peak RSS: median of $RSS_RUNS runs of /usr/bin/time (largest single process)."
    echo "Versions: trustpub $rev$dirty, npm $npm_v (node $(node --version)), pnpm $("$PNPM" --version)$([ "$have_bun" = 1 ] && echo ", bun $("$BUN" --version)")."
    echo
    for w in "${WARNINGS[@]}"; do echo "**WARNING: $w**"; echo; done
    echo "$table"
    echo
    echo "trustpub's tar equals npm's tar (gunzipped): $tar_same. trustpub gzip header: \`$header\`."
    echo
    echo "Commands (run in the package directory):"
    echo
    for n in "${names[@]}"; do echo "- $n: \`${cmd[$n]//$ROOT\//}\`"; done
} >"$RESULTS/pack.md"

echo
cat "$RESULTS/pack.md"
for w in "${WARNINGS[@]}"; do warn_loud "$w"; done
[ "$tar_same" = yes ] || die "trustpub's tar differs from npm's"
