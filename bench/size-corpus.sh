#!/usr/bin/env bash
# Size corpus: for every package of bench/size-corpus.txt, fetch its published
# tarball from the npm registry, unpack it OUTSIDE the repository, pack the
# unpacked package/ directory with npm and with trustpub, and report per
# package npm's .tgz size, trustpub's, the ratio, both wall times, and whether
# the two tarballs hold the same tar (the pack differential: after gunzip the
# bytes must be identical). Output: bench/results/size-corpus.md (and a TSV
# next to the corpus). Nothing third-party is written into the repository.
#
#   bench/size-corpus.sh                    # the whole list
#   bench/size-corpus.sh lodash@4.18.1 ...  # just these specs
#   CORPUS_DIR=/tmp/x TRUSTPUB=target/release/trustpub bench/size-corpus.sh
#   FETCH_ONLY=1 bench/size-corpus.sh       # download and unpack only
#   EXTRA_DIRS="/tmp/src/pkg-a /tmp/src/pkg-b" bench/size-corpus.sh
#     (also pack these already-unpacked package directories, e.g. real
#      source trees checked out from git; they are reported by path)
#
# Exit status: 1 if any package's tar differs from npm's or any .tgz is more
# than 1% larger than npm's (the promise), else 0.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
LIST="$BENCH_DIR/size-corpus.txt"
CORPUS_DIR=${CORPUS_DIR:-${TMPDIR:-/tmp}/trustpub-size-corpus}
TRUSTPUB=${TRUSTPUB:-$ROOT/target/release/trustpub}
REPORT=${REPORT:-$BENCH_DIR/results/size-corpus.md}
TSV="$CORPUS_DIR/results.tsv"
SKIPPED="$CORPUS_DIR/skipped.tsv"

case "$CORPUS_DIR" in
"$ROOT" | "$ROOT"/*) echo "CORPUS_DIR must be outside the repository" >&2; exit 2 ;;
esac

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

mkdir -p "$CORPUS_DIR/dl" "$CORPUS_DIR/pkgs" "$CORPUS_DIR/out" "$CORPUS_DIR/npm-cache"
NPMRC="$CORPUS_DIR/npmrc"
: >"$NPMRC"
npm_isolated() {
    npm --userconfig "$NPMRC" --cache "$CORPUS_DIR/npm-cache" --no-audit --no-fund \
        --no-update-notifier --loglevel=error "$@"
}

if [ -z "${SKIP_BUILD:-}${FETCH_ONLY:-}" ] && [ "$TRUSTPUB" = "$ROOT/target/release/trustpub" ]; then
    log "building trustpub (release)"
    (cd "$ROOT" && cargo build --release --locked --quiet)
fi
[ -x "$TRUSTPUB" ] || { echo "no trustpub binary at $TRUSTPUB" >&2; exit 2; }

if [ $# -gt 0 ]; then
    specs=("$@")
else
    mapfile -t specs < <(grep -v '^[[:space:]]*\(#\|$\)' "$LIST")
fi

now_ms() { date +%s%3N; }

# fetch SPEC -> prints the unpacked package directory
fetch() {
    local spec=$1 slug dir tgz
    slug=$(printf '%s' "$spec" | tr '/@' '__')
    dir="$CORPUS_DIR/pkgs/$slug"
    if [ ! -f "$dir/.done" ]; then
        rm -rf "$dir" && mkdir -p "$dir"
        tgz=$(cd "$CORPUS_DIR/dl" && npm_isolated pack "$spec" --json | node -e \
            'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].filename))')
        tar -xzf "$CORPUS_DIR/dl/$tgz" -C "$dir"
        : >"$dir/.done"
    fi
    # The tarball's single top directory (package/ for most, not all).
    find "$dir" -mindepth 1 -maxdepth 1 -type d | head -1
}

# measure LABEL DIR
measure() {
    local label=$1 pkg=$2 slug out t0 t1 t2 npm_tgz tp_tgz same ratio tar_bytes
    slug=$(printf '%s' "$label" | tr '/@' '__')
    out="$CORPUS_DIR/out/$slug"
    rm -rf "$out" && mkdir -p "$out/npm" "$out/tp"
    t0=$(now_ms)
    if ! (cd "$pkg" && npm_isolated pack --ignore-scripts --pack-destination "$out/npm" >/dev/null 2>"$out/npm.err"); then
        # e.g. devEngines that the local Node does not satisfy: no reference size.
        printf '%s\t%s\n' "$label" "$(grep -m1 -o 'EBAD[A-Z]*\|code [A-Z]*' "$out/npm.err" || echo 'npm pack failed')" >>"$SKIPPED"
        echo "SKIP $label: npm pack failed (see $out/npm.err)" >&2
        return 0
    fi
    t1=$(now_ms)
    (cd "$pkg" && "$TRUSTPUB" pack --ignore-scripts --pack-destination "$out/tp" >/dev/null 2>&1)
    t2=$(now_ms)
    npm_tgz=$(ls "$out"/npm/*.tgz)
    tp_tgz=$(ls "$out"/tp/*.tgz)
    if cmp -s <(gzip -dc "$npm_tgz") <(gzip -dc "$tp_tgz"); then same=yes; else same=NO; fi
    tar_bytes=$(gzip -dc "$npm_tgz" | wc -c)
    local n t
    n=$(stat -c %s "$npm_tgz")
    t=$(stat -c %s "$tp_tgz")
    ratio=$(awk -v a="$t" -v b="$n" 'BEGIN { printf "%+.2f", (a / b - 1) * 100 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$tar_bytes" "$n" "$t" "$ratio" \
        "$((t1 - t0))" "$((t2 - t1))" "$same" | tee -a "$TSV"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$SKIPPED"
printf 'package\ttar_bytes\tnpm_tgz\ttrustpub_tgz\tvs_npm_pct\tnpm_ms\ttrustpub_ms\ttar_identical\n' >"$TSV"
if [ -n "${FETCH_ONLY:-}" ]; then
    for spec in "${specs[@]}"; do log "fetch $spec"; fetch "$spec" >/dev/null; done
    exit 0
fi
for spec in "${specs[@]}"; do
    log "$spec"
    pkg=$(fetch "$spec")
    measure "$spec" "$pkg"
done
for d in ${EXTRA_DIRS:-}; do
    log "$d"
    measure "$d" "$d"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# Report.
mkdir -p "$(dirname "$REPORT")"
node - "$TSV" "$REPORT" "$LOAD_START" "$LOAD_END" "$(nproc)" "$SKIPPED" <<'EOF'
const fs = require("fs");
const [tsv, report, loadStart, loadEnd, cores, skippedFile] = process.argv.slice(2);
const skipped = fs.readFileSync(skippedFile, "utf8").trim().split("\n").filter(Boolean);
const rows = fs.readFileSync(tsv, "utf8").trim().split("\n").slice(1).map((l) => {
  const [pkg, tar, npm, tp, pct, npmMs, tpMs, same] = l.split("\t");
  return { pkg, tar: +tar, npm: +npm, tp: +tp, pct: +pct, npmMs: +npmMs, tpMs: +tpMs, same };
});
const pcts = rows.map((r) => r.pct).sort((a, b) => a - b);
const median = pcts.length % 2 ? pcts[(pcts.length - 1) / 2]
  : (pcts[pcts.length / 2 - 1] + pcts[pcts.length / 2]) / 2;
const within = rows.filter((r) => r.tp <= r.npm * 1.01).length;
const same = rows.filter((r) => r.same === "yes").length;
const sum = (k) => rows.reduce((s, r) => s + r[k], 0);
const f = (n) => n.toLocaleString("en-US");
const pct = (n) => (n >= 0 ? "+" : "") + n.toFixed(2) + "%";
let md = `# Size corpus: trustpub vs npm 11 .tgz sizes\n\n`;
md += `${new Date().toISOString().slice(0, 16)}Z, ${cores} cores, load average ${loadStart} (start) / ${loadEnd} (end).\n`;
md += `Generated by \`bench/size-corpus.sh\` from \`bench/size-corpus.txt\`: each package's published tarball,\n`;
md += `unpacked, packed again by npm (${require("child_process").execSync("npm --version").toString().trim()}) and by trustpub in the unpacked directory.\n`;
md += `Sizes are exact; the wall times are single runs of the whole command on a shared machine (indicative only).\n\n`;
md += `## Summary\n\n`;
md += `- packages: ${rows.length}; tar identical to npm's: ${same}/${rows.length}\n`;
md += `- .tgz vs npm: min ${pct(pcts[0])}, median ${pct(median)}, max ${pct(pcts[pcts.length - 1])}\n`;
md += `- within +1% of npm: ${within}/${rows.length}\n`;
md += `- total: tar ${f(sum("tar"))} bytes, npm .tgz ${f(sum("npm"))}, trustpub .tgz ${f(sum("tp"))} (${pct((sum("tp") / sum("npm") - 1) * 100)})\n`;
if (skipped.length) md += `- skipped (npm itself refused to pack, so no reference): ${skipped.map((l) => l.replace("\t", " (") + ")").join(", ")}\n`;
md += `- wall time, sum over the corpus: npm ${(sum("npmMs") / 1000).toFixed(1)} s, trustpub ${(sum("tpMs") / 1000).toFixed(1)} s\n\n`;
md += `## Per package\n\n| package | tar bytes | npm .tgz | trustpub .tgz | vs npm | npm ms | trustpub ms | tar identical |\n|---|---|---|---|---|---|---|---|\n`;
for (const r of rows) {
  md += `| ${r.pkg} | ${f(r.tar)} | ${f(r.npm)} | ${f(r.tp)} | ${pct(r.pct)} | ${r.npmMs} | ${r.tpMs} | ${r.same} |\n`;
}
fs.writeFileSync(report, md);
const bad = rows.filter((r) => r.same !== "yes" || r.tp > r.npm * 1.01);
for (const r of bad) console.error(`FAIL ${r.pkg}: ${pct(r.pct)}, tar identical: ${r.same}`);
console.error(`wrote ${report}: ${within}/${rows.length} within +1%, median ${pct(median)}, max ${pct(pcts[pcts.length - 1])}`);
process.exit(bad.length ? 1 : 0);
EOF
