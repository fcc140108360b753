#!/usr/bin/env bash
# The trustpub Action, step 1: install the pinned trustpub release through
# the action's own install.sh (which checks the archive against the SHA-256
# pinned in it), and put it on PATH.
#
# The runner's tool cache keeps the verified archive only, never a binary
# to trust later: every run checks the cached archive against the pinned
# checksum again and unpacks the binary from it into a new directory under
# RUNNER_TEMP (this job's own), which is what runs and what PATH names. On
# a self-hosted runner the tool cache persists between jobs, and whatever
# could change a binary there after the check cannot swap the one that runs.
#
# In: GITHUB_ACTION_PATH, GITHUB_OUTPUT, GITHUB_PATH, RUNNER_TEMP,
# RUNNER_TOOL_CACHE (without it, the archive is not kept). Out: the step
# outputs `path` (the trustpub binary) and `version`.
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

temp=$(unix_path "${RUNNER_TEMP:?RUNNER_TEMP is not set: this script runs as a step of the trustpub action}")
keep=()
if [ -n "${RUNNER_TOOL_CACHE:-}" ]; then
    keep=(--archive-dir "$(unix_path "$RUNNER_TOOL_CACHE")/trustpub/$version/$target")
fi
# A new directory each run (mktemp: not a name anything could prepare).
job_dir=$(mktemp -d "$temp/trustpub.XXXXXXXX") || fail "cannot make a directory in RUNNER_TEMP ($temp)"
dir=$job_dir/bin
# With the directory on PATH, as it is for the next steps (GITHUB_PATH), so
# install.sh does not note that it is missing from PATH.
PATH="$dir:$PATH" sh "$install_sh" --to "$dir" ${keep[@]+"${keep[@]}"} ||
    fail "could not install trustpub $version (see the message above)"

case $target in
*windows*) exe=trustpub.exe ;;
*) exe=trustpub ;;
esac
native_path "$dir" >>"$GITHUB_PATH"
printf 'path=%s\n' "$(native_path "$dir/$exe")" >>"$GITHUB_OUTPUT"
printf 'version=%s\n' "$version" >>"$GITHUB_OUTPUT"
