#!/usr/bin/env bash
# The trustpub Action, step 2: run trustpub with the action's inputs, keep
# its --json report, and set the outputs `published` and `report`.
#
# The inputs arrive in environment variables (action.yml never puts
# `${{ inputs.* }}` into a script), and each becomes exactly one argument
# or none: nothing here is evaluated by a shell.
#
#   TRUSTPUB                   the binary (setup.sh's output `path`)
#   INPUT_COMMAND              publish (default), pack or doctor
#   INPUT_WORKING_DIRECTORY    where to run it (default: the workspace)
#   INPUT_TRUSTED_PUBLISHING   auto, always, never or empty (default:
#                              no flag, so trustpub's default applies:
#                              TRUSTPUB_TRUSTED_PUBLISHING, else auto) [publish]
#   INPUT_PROVENANCE           true, false or empty (trustpub decides) [publish]
#   INPUT_DRY_RUN              true or false (default)          [publish, pack]
#   INPUT_ARGS                 more arguments, split at spaces, tabs and
#                              newlines; no quotes, no globbing, no expansion
#
# Exits with trustpub's exit code, after writing the outputs.
set -euo pipefail

fail() {
    printf '::error title=trustpub action::%s\n' "$1"
    exit 1
}
# One line, with anything a runner could read as a workflow command made
# harmless, for quoting an input in a message.
quote() {
    local s=${1//$'\r'/\\r}
    s=${s//$'\n'/\\n}
    s=${s//::/: :}
    s=${s//%/%25}
    printf "'%s'" "$s"
}

tp=${TRUSTPUB:?TRUSTPUB is not set: this script runs as a step of the trustpub action}
if command -v cygpath >/dev/null 2>&1; then
    tp=$(cygpath -u "$tp") # C:\...\trustpub.exe on Windows runners
fi
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
command=${INPUT_COMMAND:-publish}
workdir=${INPUT_WORKING_DIRECTORY:-.}
mode=${INPUT_TRUSTED_PUBLISHING:-}
provenance=${INPUT_PROVENANCE:-}
dry_run=${INPUT_DRY_RUN:-false}

case $command in
publish | pack | doctor) ;;
*) fail "input command: $(quote "$command") is not one of publish, pack, doctor" ;;
esac
case $mode in
auto | always | never | '') ;;
*) fail "input trusted-publishing: $(quote "$mode") is not one of auto, always, never (or empty)" ;;
esac
case $provenance in
true | false | '') ;;
*) fail "input provenance: $(quote "$provenance") is not true, false or empty" ;;
esac
case $dry_run in
true | false) ;;
*) fail "input dry-run: $(quote "$dry_run") is not true or false" ;;
esac
case $workdir in
*$'\n'* | *$'\r'*) fail "input working-directory: $(quote "$workdir") holds a line break" ;;
esac

args=("$command")
if [ "$command" = publish ]; then
    [ -z "$mode" ] || args+=(--trusted-publishing "$mode")
    case $provenance in
    true) args+=(--provenance) ;;
    false) args+=(--no-provenance) ;;
    esac
else
    [ -z "$mode" ] || [ "$mode" = auto ] || fail "input trusted-publishing applies to the publish command only, not $command"
    [ -z "$provenance" ] || fail "input provenance applies to the publish command only, not $command"
fi
if [ "$dry_run" = true ]; then
    [ "$command" != doctor ] || fail "input dry-run applies to publish and pack, not doctor (doctor never uploads)"
    args+=(--dry-run)
fi
args+=(--json)

# Split at whitespace only: globbing off, and a word is never evaluated.
extra=()
if [ -n "${INPUT_ARGS:-}" ]; then
    set -f
    IFS=$' \t\r\n' read -r -d '' -a extra <<<"$INPUT_ARGS" || true
    set +f
fi
for a in ${extra[@]+"${extra[@]}"}; do
    case $a in
    --json | --json=*) fail "input args: the action adds --json itself (the report output)" ;;
    esac
    args+=("$a")
done

[ -d "$workdir" ] || fail "input working-directory: $(quote "$workdir") is not a directory"

tmpdir=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
if command -v cygpath >/dev/null 2>&1; then
    tmpdir=$(cygpath -u "$tmpdir")
fi
report=$(mktemp "$tmpdir/trustpub-report.XXXXXXXX")
trap 'rm -f "$report"' EXIT

printf 'Running: trustpub'
printf ' %q' "${args[@]}"
printf ' (in %q)\n' "$workdir"
set +e
(cd -- "$workdir" && exec "$tp" "${args[@]}") >"$report"
code=$?
set -e

# Where the report says it published, printed as "object" or "array": a
# member of the top-level object whose value is an object with "outcome":
# "published" (a single package), or an element of the top-level array that
# is such an object (--workspaces). Read by a small
# JSON scanner (strings, escapes, nesting) rather than by the layout of the
# pretty-printed text, with awk, which every runner has (jq, python3 and
# node are not everywhere). Anything after the document is ignored.
published_in() {
    LC_ALL=C awk '
    function value(s) {
        if (depth == 2 && kind[2] == "o" && key[2] == "\"outcome\"" && s == "\"published\"")
            found = (kind[1] == "o") ? "object" : "array"
    }
    {
        line = $0
        n = length(line)
        for (i = 1; i <= n; i++) {
            c = substr(line, i, 1)
            if (instr) {
                str = str c
                if (esc) esc = 0
                else if (c == "\\") esc = 1
                else if (c == "\"") {
                    instr = 0
                    if (depth > 0 && kind[depth] == "o" && wantkey[depth]) key[depth] = str
                    else value(str)
                }
                continue
            }
            if (c == "\"") { instr = 1; esc = 0; str = c }
            else if (c == "{" || c == "[") {
                if (depth == 0 && started) exit
                started = 1
                depth++
                kind[depth] = (c == "{") ? "o" : "a"
                wantkey[depth] = (c == "{")
                key[depth] = ""
            } else if (c == "}" || c == "]") {
                depth--
                if (depth <= 0) exit
            } else if (c == ",") {
                if (depth > 0 && kind[depth] == "o") wantkey[depth] = 1
            } else if (c == ":") {
                if (depth > 0) wantkey[depth] = 0
            }
        }
    }
    END { if (found != "") print found }
    ' "$1"
}
published=false
if [ "$command" = publish ]; then
    case $(published_in "$report") in
    object) [ "$code" -ne 0 ] || published=true ;;
    array) published=true ;; # --workspaces: some were uploaded, even if another failed
    esac
fi

# A heredoc-style output with a delimiter the report cannot contain.
delim=
for _ in 1 2 3; do
    d="trustpub_report_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    if ! grep -qF "$d" "$report"; then
        delim=$d
        break
    fi
done
[ -n "$delim" ] || fail "could not pick an output delimiter"
{
    printf 'published=%s\n' "$published"
    printf 'report<<%s\n' "$delim"
    if [ -s "$report" ]; then
        printf '%s\n' "$(cat "$report")"
    fi
    printf '%s\n' "$delim"
} >>"$GITHUB_OUTPUT"

exit "$code"
