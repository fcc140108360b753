#!/usr/bin/env bash
# Re-run the deflate comparison behind src/gzip.rs on date-fns@4.1.0's tar.
#
#   bench/deflate.sh                      # all modes
#   bench/deflate.sh shipped              # only trustpub's writer as shipped
#   CHUNKS_KIB=1024,4096 bench/deflate.sh parallel
#
# Modes: single (1 thread, whole input, every implementation and level),
# tune (zlib-rs + deflateTune), parallel (single-member schemes on all
# cores), shipped (src/gzip.rs's ParallelGzip), scan (its block scanner
# alone; not in the default set). The crate in bench/deflate
# builds twice, once per flate2 backend (zlib-rs, zlib-ng; zlib-ng needs
# cmake). Writes bench/results/deflate.md. See bench/README.md.
set -euo pipefail

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(single tune parallel shipped)
for m in "${modes[@]}"; do
    case "$m" in single | tune | parallel | shipped | scan) ;; *) die "unknown mode $m" ;; esac
done

setup_work
command -v cargo >/dev/null 2>&1 || die "cargo is required"
fetch_package

# The reference: npm's own .tgz of the package, and the tar inside it.
D="$WORK/deflate"
mkdir -p "$D"
if [ ! -s "$D/input.tar" ] || [ ! -s "$D/npm.tgz" ]; then
    log "packing $PKG_SPEC with npm $(npm --version) (the size reference)"
    rm -rf "$D/npm-out" && mkdir -p "$D/npm-out"
    (cd "$PKG_DIR" && npm_isolated pack --ignore-scripts --pack-destination "$D/npm-out" >/dev/null)
    mv "$D"/npm-out/*.tgz "$D/npm.tgz"
    gzip -dc "$D/npm.tgz" >"$D/input.tar"
fi

export CARGO_TARGET_DIR="$WORK/target"
MANIFEST="$BENCH_DIR/deflate/Cargo.toml"
BIN="$CARGO_TARGET_DIR/release/deflate-bench"
report="$WORK/deflate-report.md"
: >"$report"

# run FEATURE MODE: build with one flate2 backend and run one mode.
run() {
    local feature=$1 mode=$2
    log "deflate-bench: $mode ($feature build)"
    cargo build --release --quiet --manifest-path "$MANIFEST" --features "$feature"
    {
        echo "### $mode, flate2 backend: $([ "$feature" = rs ] && echo zlib-rs || echo zlib-ng)"
        echo
        "$BIN" "$D/input.tar" "$D/npm.tgz" "$mode" 2>"$WORK/deflate-notes.txt"
        echo
        sed 's/^/Note: /; s/$/  /' "$WORK/deflate-notes.txt"
        echo
    } | tee -a "$report"
}

has_mode() {
    local m
    for m in "${modes[@]}"; do [ "$m" = "$1" ] && return 0; done
    return 1
}

has_mode single && run rs single
has_mode tune && run rs tune
has_mode parallel && run rs parallel
has_mode shipped && run rs shipped
has_mode scan && run rs scan
if has_mode single || has_mode parallel; then
    if apt_need cmake cmake; then
        has_mode single && run ng single
        has_mode parallel && ZLIB_LEVELS=${ZLIB_LEVELS:-7,9} run ng parallel
    else
        warn_loud "cmake unavailable: zlib-ng rows skipped"
    fi
fi

{
    echo "# deflate comparison: $PKG_SPEC"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Input: npm's tar, $(stat -c %s "$D/input.tar") bytes; reference: npm $(npm --version)'s .tgz, $(stat -c %s "$D/npm.tgz") bytes."
    echo "Times are the best of up to 6 runs. \"vs npm\" compares whole .tgz sizes (deflate + 18 bytes of gzip framing)."
    echo
    cat "$report"
} >"$RESULTS/deflate.md"
log "wrote bench/results/deflate.md"
