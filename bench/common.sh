# Shared setup for bench/*.sh (sourced, not run). Everything goes under
# bench/.work/ (gitignored); nothing is installed globally except Debian
# packages (hyperfine, time, cmake) when missing.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
WORK="$BENCH_DIR/.work"
RESULTS="$BENCH_DIR/results"
PKG_SPEC=${PKG_SPEC:-date-fns@4.1.0}
PKG_DIR="$WORK/${PKG_SPEC%@*}/package"

# npm isolated from the user's config and cache.
NPMRC="$WORK/npmrc"
NPM_CACHE="$WORK/npm-cache"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Loud, impossible-to-miss warning; also kept for the results file.
WARNINGS=()
warn_loud() {
    WARNINGS+=("$*")
    printf '\n\033[1;31m!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
    printf '!!! WARNING: %s\n' "$*" >&2
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\033[0m\n\n' >&2
}

die() {
    printf '\033[1;31merror: %s\033[0m\n' "$*" >&2
    exit 1
}

APT_UPDATED=0
# apt_need CMD PACKAGE: install a Debian package when CMD is missing.
apt_need() {
    local cmd=$1 pkg=$2
    if [ -x "$cmd" ] || command -v "$cmd" >/dev/null 2>&1; then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || die "$cmd is missing and apt-get is not available: install $pkg"
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "$cmd is missing; install $pkg (needs root)"
        sudo=(sudo)
    fi
    log "installing $pkg (Debian package)"
    if [ "$APT_UPDATED" = 0 ]; then
        "${sudo[@]}" apt-get update -qq >&2
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$pkg" >&2
}

npm_isolated() {
    npm --userconfig "$NPMRC" --cache "$NPM_CACHE" --no-audit --no-fund --no-update-notifier --loglevel=error "$@"
}

setup_work() {
    mkdir -p "$WORK" "$RESULTS" "$NPM_CACHE"
    : >"$NPMRC"
    command -v npm >/dev/null 2>&1 || die "npm (Node.js) is required"
}

# Fetch the package from the registry and unpack it to $PKG_DIR.
# Also leaves the registry tarball at $WORK/registry.tgz.
fetch_package() {
    if [ -f "$PKG_DIR/package.json" ]; then
        return 0
    fi
    log "fetching $PKG_SPEC from the npm registry"
    local tmp
    tmp=$(mktemp -d "$WORK/fetch.XXXXXX")
    (cd "$tmp" && npm_isolated pack "$PKG_SPEC" >/dev/null)
    local tgz
    tgz=$(ls "$tmp"/*.tgz)
    rm -rf "$(dirname "$PKG_DIR")"
    mkdir -p "$(dirname "$PKG_DIR")"
    tar -xzf "$tgz" -C "$(dirname "$PKG_DIR")"
    mv "$tgz" "$WORK/registry.tgz"
    rm -rf "$tmp"
    [ -f "$PKG_DIR/package.json" ] || die "unexpected tarball layout for $PKG_SPEC"
}

# Print the median of numbers on stdin (one per line).
median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
