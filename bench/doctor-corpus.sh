#!/usr/bin/env bash
# Re-runs `trustpub doctor` (outside CI) on the corpus listed in
# bench/doctor-corpus.md, for the snapshots present on this machine, and
# compares doctor's verdict with the one written down by hand.
#
#   bench/doctor-corpus.sh [TRUSTPUB_BINARY]
#
# Snapshots: $MIRRORS/<owner>+<name>/repo (bare git directories, as the
# `fetch` tool leaves them; default /work/.mirror). Each is exported (its CI
# files, package.json files, release configs and scripts only) to
# $CORPUS/<owner>+<name> (default /tmp/corpus), outside this repository, with
# an empty `git init` so doctor finds the repository root. No third-party
# file is committed here. A snapshot at another commit than the one listed is
# reported and skipped. The registry is a closed loopback port, so the only
# network check (does the package exist) is skipped with a warning.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../target/debug/trustpub}
mirrors=${MIRRORS:-/work/.mirror}
corpus=${CORPUS:-/tmp/corpus}
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
mkdir -p "$corpus"

correct=0 unknown=0 wrong=0 skipped=0
# Table rows: | repo | commit | package dir | expected | doctor | why |
while IFS='|' read -r _ repo commit dir expected _rest; do
  repo=$(echo "$repo" | tr -d ' `'); commit=$(echo "$commit" | tr -d ' `')
  dir=$(echo "$dir" | tr -d ' `'); expected=$(echo "$expected" | sed 's/^ *//; s/ *$//')
  case "$repo" in */*) ;; *) continue ;; esac
  git_dir="$mirrors/${repo/\//+}/repo"
  if [ ! -d "$git_dir" ] || [ "$(git --git-dir="$git_dir" rev-parse HEAD)" != "$commit" ]; then
    echo "skip   $repo (snapshot $commit not present)"; skipped=$((skipped + 1)); continue
  fi
  out="$corpus/${repo/\//+}"
  if [ ! -d "$out/.git" ]; then
    rm -rf "$out"; mkdir -p "$out"
    git --git-dir="$git_dir" ls-tree -r --name-only HEAD \
      | grep -E '^(\.github/|\.circleci/|\.gitlab-ci\.yml$|\.gitlab/|scripts/|pnpm-workspace\.yaml$|lerna\.json$|nx\.json$)|(^|/)(package\.json|\.release-it\.[a-z0-9]+|\.releaserc[a-z.]*|release\.config\.[a-z]+|\.nvmrc|\.node-version|action\.ya?ml|release\.config\.json)$' \
      | grep -v -E '(^|/)(node_modules|fixtures?|__fixtures__|test|tests|__tests__)/' \
      | while IFS= read -r f; do
          mkdir -p "$out/$(dirname "$f")"
          git --git-dir="$git_dir" cat-file blob "HEAD:$f" > "$out/$f" 2>/dev/null || rm -f "$out/$f"
        done
    git -C "$out" init -q
  fi
  got=$(cd "$out" && env -u CI -u GITHUB_ACTIONS -u GITLAB_CI -u CIRCLECI HOME="$home" \
        "$bin" doctor "${dir:-.}" --registry http://127.0.0.1:9 2>/dev/null | tail -1 || true)
  case "$got" in
    ready*) verdict=ready ;;
    "not ready"*) verdict="not ready" ;;
    "cannot tell"*) verdict=unknown ;;
    *) verdict="error: $got" ;;
  esac
  if [ "$verdict" = unknown ]; then unknown=$((unknown + 1)); mark=unknown
  elif [ "$verdict" = "$expected" ]; then correct=$((correct + 1)); mark=correct
  else wrong=$((wrong + 1)); mark=WRONG; fi
  printf '%-8s %-40s %-22s expected %-10s doctor %s\n' "$mark" "$repo" "${dir:-.}" "$expected" "$verdict"
done < "$here/doctor-corpus.md"
echo "correct $correct, unknown $unknown, wrong $wrong, skipped $skipped"
[ "$wrong" -eq 0 ]
