#!/bin/sh
# Installs the trustpub release binary pinned below, after checking the
# downloaded archive against the SHA-256 written into this file at release
# time (scripts/pin-release). Nothing is installed unless the checksum
# matches. POSIX sh (dash, busybox ash, bash); needs curl or wget,
# sha256sum or shasum (or openssl), and tar (unzip, bsdtar or PowerShell
# for the Windows zip).
#
#   sh install.sh [--to DIR] [--target TRIPLE] [--version V]
#
# TRUSTPUB_DOWNLOAD_URL replaces the release download URL (a mirror; the
# archive names and the checksums stay the same). https:// only, except
# http:// on the loopback address for tests; no `@` (credentials), query or
# fragment.
set -eu

# BEGIN PINNED RELEASE (written by scripts/pin-release; do not edit by hand)
pinned_version=''
pinned_sums='
'
# END PINNED RELEASE

repo_url='https://github.com/trustpub/trustpub'
targets='x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-msvc'

say() { printf 'trustpub install: %s\n' "$*" >&2; }
die() {
    printf 'trustpub install: error: %s\n' "$*" >&2
    exit 1
}

usage() {
    cat <<EOF
Usage: install.sh [--to DIR] [--target TRIPLE] [--version V]

Installs trustpub ${pinned_version:-(no release pinned)} after checking the
release archive against the SHA-256 pinned in this script.

  --to DIR          where to put the trustpub binary
                    (default: \$HOME/.local/bin)
  --target TRIPLE   the build to install (default: this machine's), one of
                    $targets
  --version V       refuse to run unless V is the pinned version
  --archive-dir DIR keep the verified archive in DIR, and use it from there
                    next time if it still matches the pinned checksum
  --print-target    print the detected target and exit
  --print-version   print the pinned version and exit
  -h, --help        this text

TRUSTPUB_DOWNLOAD_URL replaces the release download URL (a mirror); the
checksum is still enforced.
EOF
}

# -- options ---------------------------------------------------------------

to=''
target=''
want_version=''
keep=''
print=''
while [ $# -gt 0 ]; do
    case $1 in
    --to) [ $# -ge 2 ] || die "--to needs a directory"; to=$2; shift 2 ;;
    --to=*) to=${1#--to=}; shift ;;
    --target) [ $# -ge 2 ] || die "--target needs a target triple"; target=$2; shift 2 ;;
    --target=*) target=${1#--target=}; shift ;;
    --version) [ $# -ge 2 ] || die "--version needs a version"; want_version=$2; shift 2 ;;
    --version=*) want_version=${1#--version=}; shift ;;
    --archive-dir) [ $# -ge 2 ] || die "--archive-dir needs a directory"; keep=$2; shift 2 ;;
    --archive-dir=*) keep=${1#--archive-dir=}; shift ;;
    --print-target) print=target; shift ;;
    --print-version) print=version; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
    esac
done

# -- the target ------------------------------------------------------------

detect_target() {
    os=$(uname -s 2>/dev/null || echo unknown)
    arch=$(uname -m 2>/dev/null || echo unknown)
    case $os in
    Linux)
        case $arch in
        x86_64 | amd64) echo x86_64-unknown-linux-musl ;;
        aarch64 | arm64) echo aarch64-unknown-linux-musl ;;
        *) return 1 ;;
        esac
        ;;
    Darwin)
        # A shell under Rosetta reports x86_64 on Apple silicon; prefer the
        # native build there.
        if [ "$arch" = x86_64 ] && [ "$(sysctl -n hw.optional.arm64 2>/dev/null || true)" = 1 ]; then
            arch=arm64
        fi
        case $arch in
        x86_64) echo x86_64-apple-darwin ;;
        arm64 | aarch64) echo aarch64-apple-darwin ;;
        *) return 1 ;;
        esac
        ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
        # Windows on Arm runs the x64 build.
        echo x86_64-pc-windows-msvc
        ;;
    *) return 1 ;;
    esac
}

host_target=$(detect_target) || host_target=''
if [ -z "$target" ]; then
    [ -n "$host_target" ] || die "no trustpub build for this machine ($(uname -sm 2>/dev/null || echo unknown)); builds exist for: $targets"
    target=$host_target
fi
case " $targets " in
*" $target "*) ;;
*) die "unknown target '$target'; builds exist for: $targets" ;;
esac

if [ "$print" = target ]; then
    echo "$target"
    exit 0
fi

# -- the pinned release ----------------------------------------------------

if [ -z "$pinned_version" ]; then
    die "this copy of install.sh pins no release, so it has no checksum to check a download against and installs nothing. The copies on the main branch and on release tags pin nothing; each release's pinned copy is on the commit the release names, which the major-version tag (v0, v1, ...) points to once a release exists, e.g. https://raw.githubusercontent.com/trustpub/trustpub/v0/install.sh"
fi
if [ "$print" = version ]; then
    echo "$pinned_version"
    exit 0
fi
if [ -n "$want_version" ] && [ "${want_version#v}" != "$pinned_version" ]; then
    die "this install.sh pins trustpub $pinned_version and installs nothing else; for ${want_version#v} use the install.sh that pins it (the commit the release of ${want_version#v} names for the Action: $repo_url/releases/tag/v${want_version#v})"
fi

version=$pinned_version
case $target in
*windows*) ext=zip exe=trustpub.exe ;;
*) ext=tar.gz exe=trustpub ;;
esac
stem="trustpub-$version-$target"
archive="$stem.$ext"
expected=$(printf '%s\n' "$pinned_sums" | awk -v f="$archive" '$2 == f { print $1 }')
case $expected in
[0-9a-f]*) [ ${#expected} -eq 64 ] || die "the checksum pinned for $archive is malformed" ;;
*) die "this install.sh pins no checksum for $archive" ;;
esac

base=${TRUSTPUB_DOWNLOAD_URL:-$repo_url/releases/download/v$version}
base=${base%/}
# A mirror URL: https://, or http:// on the loopback address (tests); no
# user name or password (a URL holding `@` is refused, and not printed), no
# query or fragment.
url_refused() {
    die "TRUSTPUB_DOWNLOAD_URL must be an https:// URL (http:// only on the loopback address: 127.0.0.0/8, localhost, [::1]) without credentials, query or fragment; $1"
}
case $base in
https://*) scheme=https ;;
http://*) scheme=http ;;
*://*) url_refused "this one's scheme is ${base%%://*}" ;;
*) url_refused "this one has no scheme" ;;
esac
rest=${base#*://}
authority=${rest%%/*}
case $base in
*@*) url_refused "this one holds an @ (a user name or password, which is not printed)" ;;
esac
case $authority in
'') url_refused "this one has no host" ;;
esac
case $base in
*[!]A-Za-z0-9._~:/%+=,[-]*) url_refused "this one holds a character other than letters, digits and -._~:/%+=,[]" ;;
esac
case $authority in
*[!]A-Za-z0-9.:[-]*) url_refused "this one's host is not a host name" ;;
esac
if [ "$scheme" = http ]; then
    host=$authority
    port=''
    case $authority in
    \[*) host=${authority%%]*}]; port=${authority#"$host"} ;;
    *:*) host=${authority%%:*}; port=${authority#"$host"} ;;
    esac
    case $port in
    '' | :[0-9]*) case ${port#:} in *[!0-9]*) url_refused "this one's port is not a number" ;; esac ;;
    *) url_refused "this one's port is not a number" ;;
    esac
    case $host in
    localhost | '[::1]') ;;
    127.*.*.*)
        case ${host#127.} in
        *.*.*.* | *[!0-9.]* | .* | *.. | *..* | *.) url_refused "http:// is for the loopback address only, and $host is not one" ;;
        esac
        ;;
    *) url_refused "http:// is for the loopback address only, and $host is not one" ;;
    esac
fi
url="$base/$archive"

[ -n "$to" ] || {
    [ -n "${HOME:-}" ] || die "HOME is not set; say where to install with --to DIR"
    to=$HOME/.local/bin
}

# -- tools -----------------------------------------------------------------
# All checked before anything is read, written or downloaded.

have() { command -v "$1" >/dev/null 2>&1; }

have sha256sum || have shasum || have openssl ||
    die "found none of sha256sum, shasum and openssl to check the download with; nothing was installed"
have curl || have wget ||
    die "found neither curl nor wget to download with; nothing was installed"
case $ext in
tar.gz) have tar || die "found no tar to open $archive with; nothing was installed" ;;
zip)
    have unzip || have bsdtar || have powershell.exe ||
        die "found none of unzip, bsdtar and PowerShell to open $archive with; nothing was installed"
    ;;
esac

# The destination: a directory (or none yet) that holds no directory named
# like the binary (the rename would move the binary into it).
[ ! -e "$to" ] || [ -d "$to" ] || die "--to $to is not a directory; nothing was installed"
if [ -d "$to/$exe" ]; then
    die "$to/$exe is a directory, not a trustpub binary to replace; move it away or choose another --to; nothing was installed"
fi

sha256_of() {
    if have sha256sum; then
        sha256sum "$1" | awk '{ print $1 }'
    elif have shasum; then
        shasum -a 256 "$1" | awk '{ print $1 }'
    elif have openssl; then
        openssl dgst -sha256 -r "$1" | awk '{ print $1 }'
    else
        die "found none of sha256sum, shasum and openssl to check the download with"
    fi
}

download() { # url file
    case $1 in
    https://*) proto='=https' ;;
    *) proto='=http,https' ;;
    esac
    if have curl; then
        curl --proto "$proto" --proto-redir '=https' --fail --silent --show-error --location \
            --connect-timeout 20 --max-time 300 --retry 3 --retry-delay 2 \
            --output "$2" "$1" || return 1
    elif have wget; then
        if wget --version 2>/dev/null | grep -q 'GNU Wget'; then
            # --https-only binds recursive links only: GNU wget has no
            # option that keeps a redirect on https (nor has BusyBox wget).
            # The pinned checksum is what a redirect cannot get past.
            https_only=''
            [ "$proto" != '=https' ] || https_only=--https-only
            wget -nv -T 60 -t 3 ${https_only:+"$https_only"} -O "$2" "$1" || return 1
        else
            # BusyBox wget: no retries, no scheme restriction, and -T is
            # not in every build; bound it with timeout(1) when there.
            if have timeout; then
                timeout 300 wget -q -O "$2" "$1" || return 1
            else
                wget -q -O "$2" "$1" || return 1
            fi
        fi
    else
        die "found neither curl nor wget to download with"
    fi
}

extract() { # archive dir
    case $1 in
    *.tar.gz) tar -xzf "$1" -C "$2" ;;
    *.zip)
        if have unzip; then
            unzip -q "$1" -d "$2"
        elif have bsdtar; then
            bsdtar -xf "$1" -C "$2"
        elif have powershell.exe; then
            powershell.exe -NoProfile -NonInteractive -Command \
                "Expand-Archive -LiteralPath \$env:TP_ZIP -DestinationPath \$env:TP_DIR" \
                </dev/null
        else
            die "found none of unzip, bsdtar and PowerShell to open $1"
        fi
        ;;
    esac
}

# -- download, check, install ---------------------------------------------

tmp=''
staged=''
cleanup() {
    [ -z "$staged" ] || rm -f "$staged"
    [ -z "$tmp" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM
tmp=$(mktemp -d 2>/dev/null || mktemp -d -t trustpub) || die "cannot make a temporary directory"

fetched=''
if [ -n "$keep" ] && [ -f "$keep/$archive" ]; then
    # Check the copy that will be unpacked, not the cached file itself.
    cp "$keep/$archive" "$tmp/$archive" || die "cannot read $keep/$archive"
    if [ "$(sha256_of "$tmp/$archive")" = "$expected" ]; then
        fetched=cache
        say "using $keep/$archive (sha256 $expected, as pinned)"
    else
        # Left in place until a download that matches replaces it.
        say "$keep/$archive does not match the pinned checksum; downloading it again"
        rm -f "$tmp/$archive"
    fi
fi
if [ -z "$fetched" ]; then
    say "downloading $url"
    download "$url" "$tmp/$archive" || die "could not download $url (see the message above); nothing was installed"
    actual=$(sha256_of "$tmp/$archive")
    if [ "$actual" != "$expected" ]; then
        die "checksum mismatch for $archive: expected sha256 $expected (pinned in this install.sh), got $actual; nothing was installed"
    fi
    say "verified $archive (sha256 $expected)"
    if [ -n "$keep" ]; then
        # Best effort: a cache that cannot be written only costs a download.
        if mkdir -p "$keep" 2>/dev/null && cp "$tmp/$archive" "$keep/.$archive.$$" 2>/dev/null; then
            mv -f "$keep/.$archive.$$" "$keep/$archive" || rm -f "$keep/.$archive.$$"
        else
            say "note: cannot keep the archive in $keep"
        fi
    fi
fi

mkdir "$tmp/x"
# For PowerShell, which wants Windows paths.
if have cygpath; then
    TP_ZIP=$(cygpath -w "$tmp/$archive") TP_DIR=$(cygpath -w "$tmp/x")
else
    TP_ZIP=$tmp/$archive TP_DIR=$tmp/x
fi
export TP_ZIP TP_DIR
extract "$tmp/$archive" "$tmp/x" || die "could not unpack $archive; nothing was installed"
bin="$tmp/x/$stem/$exe"
[ -f "$bin" ] || die "$archive holds no $stem/$exe; nothing was installed"

# Run where it was unpacked, under its own name (Windows runs only a
# name ending in .exe; the staged copy below has none).
chmod 755 "$bin"
if [ "$target" = "$host_target" ]; then
    got=$("$bin" --version 2>&1 </dev/null) || die "the downloaded trustpub does not run here: $got; nothing was installed"
else
    got="trustpub $version (for $target, not run here)"
fi

mkdir -p "$to" || die "cannot create $to"
# Copy next to the destination, then rename over it: the rename is atomic,
# so the destination is the old binary or the new one, never a part. The
# staged file is new (mktemp: a name nobody could plant a symlink at).
staged=$(mktemp "$to/.trustpub.XXXXXXXX") || die "cannot write into $to; nothing was installed"
cp "$bin" "$staged" || die "cannot write into $to; nothing was installed"
chmod 755 "$staged"
[ ! -d "$to/$exe" ] || die "$to/$exe is a directory, not a trustpub binary to replace; nothing was installed"
mv -f "$staged" "$to/$exe" || die "cannot move the binary into $to/$exe; nothing was installed"
staged=''
say "installed $got at $to/$exe"
case ":${PATH:-}:" in
*":$to:"*) ;;
*) say "note: $to is not on PATH" ;;
esac
