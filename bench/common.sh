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

# wait_for_load LIMIT MAX_SECONDS: wait (sleeping 10 s at a time, at most
# MAX_SECONDS) until the 1-minute load average is below LIMIT; warn loudly
# and go on if it never is. Nothing to do when LIMIT is empty.
wait_for_load() {
    local limit=$1 max=$2 waited=0
    [ -n "$limit" ] || return 0
    while awk -v m="$limit" '{ exit !($1 >= m) }' /proc/loadavg; do
        if [ "$waited" -ge "$max" ]; then
            warn_loud "load average still $(cut -d' ' -f1 /proc/loadavg) after ${waited} s (wanted < $limit): timing anyway"
            return 0
        fi
        [ "$waited" = 0 ] && log "waiting for the 1-minute load average to drop below $limit (at most $max s)"
        sleep 10
        waited=$((waited + 10))
    done
}

# build_trustpub: build the release binary; sets TRUSTPUB.
build_trustpub() {
    command -v cargo >/dev/null 2>&1 || die "cargo is required to build trustpub"
    log "building trustpub (release)"
    cargo build --release --locked --quiet --manifest-path "$ROOT/Cargo.toml" --bin trustpub
    TRUSTPUB="${CARGO_TARGET_DIR:-$ROOT/target}/release/trustpub"
    [ -x "$TRUSTPUB" ] || die "trustpub binary not found at $TRUSTPUB"
}

# --- npm registry look-ups and tool installs into bench/.work -------------------

# resolve_version NAME WANTED: print WANTED if the registry has it, else warn
# loudly and print the registry's latest version.
resolve_version() {
    local name=$1 wanted=$2 found
    found=$(npm_isolated view "$name@$wanted" version 2>/dev/null | tail -n 1 || true)
    if [ "$found" = "$wanted" ]; then
        echo "$wanted"
        return
    fi
    found=$(npm_isolated view "$name" version 2>/dev/null | tail -n 1 || true)
    [ -n "$found" ] || die "$name is not on the npm registry"
    warn_loud "$name@$wanted is not on the npm registry; using $name@$found instead"
    echo "$found"
}

# newest_version NAME MAJOR: the registry's newest release of NAME@MAJOR.x.
newest_version() {
    npm_isolated view "$1@^$2" version --json 2>/dev/null | node -e '
        const v = [].concat(JSON.parse(require("fs").readFileSync(0, "utf8") || "[]")).filter((x) => !x.includes("-"))
        const k = (s) => s.split(".").map(Number)
        v.sort((a, b) => { const x = k(a), y = k(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] })
        if (v.length) console.log(v[v.length - 1])'
}

# installed_version PREFIX NAME: the version of NAME installed under PREFIX.
installed_version() {
    node -p "require('$1/node_modules/$2/package.json').version" 2>/dev/null || true
}

# --- tests/tools: the pinned npm and Verdaccio of the test suite ---------------

NPM_EXPECTED=11.19.1
VERDACCIO_EXPECTED=5.33.0
TEST_TOOLS="$ROOT/tests/tools"
NPM="$TEST_TOOLS/node_modules/.bin/npm"

# ensure_test_tools: install tests/tools (under the lock file the test suite
# takes) unless it already holds npm $NPM_EXPECTED and Verdaccio
# $VERDACCIO_EXPECTED; sets npm_v and verdaccio_v.
ensure_test_tools() {
    if [ "$(installed_version "$TEST_TOOLS" npm)" != "$NPM_EXPECTED" ] ||
        [ "$(installed_version "$TEST_TOOLS" verdaccio)" != "$VERDACCIO_EXPECTED" ] || [ ! -x "$NPM" ]; then
        log "installing tests/tools (npm $NPM_EXPECTED, Verdaccio $VERDACCIO_EXPECTED) with npm ci"
        (
            flock 9
            npm_isolated ci --prefix "$TEST_TOOLS" >&2
        ) 9>"$TEST_TOOLS/.install.lock"
    fi
    npm_v=$("$NPM" --version)
    [ "$npm_v" = "$NPM_EXPECTED" ] || die "tests/tools has npm $npm_v, expected $NPM_EXPECTED"
    verdaccio_v=$(installed_version "$TEST_TOOLS" verdaccio)
    [ "$verdaccio_v" = "$VERDACCIO_EXPECTED" ] || die "tests/tools has Verdaccio $verdaccio_v, expected $VERDACCIO_EXPECTED"
}

# --- Verdaccio -------------------------------------------------------------------

# Our own copies of the coproc's pid and pipe: bash unsets VERD and VERD_PID
# as soon as it notices the coprocess has exited.
verd_pid=
verd_in=
# stop_verdaccio: stop the Verdaccio start_verdaccio started (if any).
stop_verdaccio() {
    [ -n "$verd_pid" ] || return 0
    # Closing its standard input stops the harness (and deletes its storage);
    # SIGTERM to the process we started is the fallback.
    if [ -n "$verd_in" ] && kill -0 "$verd_pid" 2>/dev/null; then eval "exec $verd_in>&-" 2>/dev/null || true; fi
    verd_in=
    for _ in $(seq 50); do
        kill -0 "$verd_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$verd_pid" 2>/dev/null; then kill "$verd_pid" 2>/dev/null || true; fi
    wait "$verd_pid" 2>/dev/null || true
    verd_pid=
}

# start_verdaccio LOG: start Verdaccio $VERDACCIO_EXPECTED from tests/tools on
# 127.0.0.1 (a port chosen by the OS, a fresh temporary storage that the
# harness deletes when it stops) as a bash coprocess whose standard input
# this script holds open; its log goes to LOG. Sets URL. Installs an EXIT
# trap that stops it, so it also stops on failure or Ctrl-C.
start_verdaccio() {
    local log_file=$1 line=
    [ -z "$verd_pid" ] || die "start_verdaccio: one is already running"
    trap stop_verdaccio EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    log "starting Verdaccio $VERDACCIO_EXPECTED"
    coproc VERD {
        cd "$TEST_TOOLS" && TRUSTPUB_VERDACCIO_MAX_SECONDS=${VERDACCIO_MAX_SECONDS:-1800} exec node verdaccio-harness.js 2>"$log_file"
    }
    verd_pid=$VERD_PID
    verd_in=${VERD[1]}
    # The harness ends itself with SIGKILL after a clean stop: out of the job
    # table, bash prints no "Killed" notice for it (stop_verdaccio polls).
    disown "$verd_pid" 2>/dev/null || true
    read -r -t 60 line <&"${VERD[0]}" || true
    URL=$(node -e 'try { const u = JSON.parse(process.argv[1]).url; if (u) console.log(u) } catch (_) {}' "$line")
    [ -n "$URL" ] || { cat "$log_file" >&2; die "Verdaccio did not start (got: '$line')"; }
    case "$URL" in http://127.0.0.1:*/) ;; *) die "unexpected Verdaccio URL $URL" ;; esac
    log "Verdaccio at $URL"
}

# verdaccio_userconfig FILE NAME: create the user NAME on the Verdaccio at
# $URL (PUT /-/user/org.couchdb.user:NAME) and write its token into the
# private userconfig FILE (mode 600) with npm's quiet settings. Sets TOKEN
# (for scrubbing it from anything the script writes; never print it).
verdaccio_userconfig() {
    local file=$1 name=$2
    TOKEN=$(node -e '
        const [url, name] = process.argv.slice(1)
        fetch(new URL(`-/user/org.couchdb.user:${name}`, url), {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password: "bench-password", email: "bench@example.invalid", type: "user", roles: [], date: new Date().toISOString() }),
        }).then(async (r) => {
          const j = await r.json().catch(() => ({}))
          if (!r.ok || !j.token) { console.error(`PUT user: HTTP ${r.status}`); process.exit(1) }
          console.log(j.token)
        }, (e) => { console.error(String(e)); process.exit(1) })
    ' "$URL" "$name") || die "cannot create a user on Verdaccio"
    (
        umask 077
        printf '%s:_authToken=%s\nupdate-notifier=false\nfund=false\naudit=false\n' "${URL#http:}" "$TOKEN" >"$file"
    )
}
