#!/usr/bin/env bash
# The trustpub Action, step 1: install the pinned trustpub release through
# the action's own install.sh (which checks the archive against the SHA-256
# pinned in it) into the runner's tool cache, and put it on PATH.
#
# The tool cache keeps the verified archive, not a binary to trust later:
# every run checks the cached archive against the pinned checksum again and
# unpacks the binary from it afresh.
#
# In: GITHUB_ACTION_PATH, GITHUB_OUTPUT, GITHUB_PATH, RUNNER_TOOL_CACHE (or
# RUNNER_TEMP). Out: the step output `path` (the trustpub binary).
set -euo pipefail

fail() {
    printf '::error title=trustpub action::%s\n' "$1"
    exit 1
}

# Runner paths on Windows are C:\...; Git Bash's tools want /c/...
unix_path() {
    if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else printf '%s\n' "$1"; fi
}
native_path() {
    if command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else printf '%s\n' "$1"; fi
}

action_root=$(unix_path "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set: this script runs as a step of the trustpub action}")
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
: "${GITHUB_PATH:?GITHUB_PATH is not set}"
install_sh=$action_root/install.sh

target=$(sh "$install_sh" --print-target) || fail "no trustpub build for this runner (see the message above)"
version=$(sh "$install_sh" --print-version) || fail "this copy of the action pins no trustpub release: use the commit a release names (the major-version tag, e.g. trustpub/trustpub@v0, points to it), not a release tag or a branch"

cache=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:?neither RUNNER_TOOL_CACHE nor RUNNER_TEMP is set}}
dir=$(unix_path "$cache")/trustpub/$version/$target
# With the directory on PATH, as it is for the next steps (GITHUB_PATH), so
# install.sh does not note that it is missing from PATH.
PATH="$dir/bin:$PATH" sh "$install_sh" --to "$dir/bin" --archive-dir "$dir" ||
    fail "could not install trustpub $version (see the message above)"

case $target in
*windows*) exe=trustpub.exe ;;
*) exe=trustpub ;;
esac
native_path "$dir/bin" >>"$GITHUB_PATH"
printf 'path=%s\n' "$(native_path "$dir/bin/$exe")" >>"$GITHUB_OUTPUT"
printf 'version=%s\n' "$version" >>"$GITHUB_OUTPUT"
