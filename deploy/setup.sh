#!/usr/bin/env bash
# setup.sh - install everything the project needs to build, run and test, idempotently.
#
# Debian packages (compiler, libraries, redis-server, test tools) via apt-get, and
# the MongoDB-wire-compatible test server (see ../shared/MONGO.md) via npm into
# .deps/ at the top of the repository. Safe to run again: it installs only what
# is missing. Needs root (or sudo) the first time only.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
    gcc make pkg-config clang-format clang libclang-rt-14-dev
    libcivetweb-dev libhiredis-dev libmongoc-dev libbson-dev libjansson-dev libcmocka-dev
    redis-server curl jq valgrind nodejs npm ca-certificates
    yamllint shellcheck python3 python3-yaml unzip podman debootstrap wrk
)

JONGODB_PKG="@jongodb/memory-server-bin-linux-x64-gnu"
JONGODB_VERSION="0.1.6"
JONGODB_SHA256="c53888f078d7f5f38d5386685044cf54dd94aaf831ebc09c76f1d4fbc321b625"
jongodb_dir="$root/.deps/jongodb"
jongodb_bin="$jongodb_dir/node_modules/$JONGODB_PKG/bin/jongodb"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "setup: need root to run: $*" >&2
        exit 1
    fi
}

missing=()
for p in "${packages[@]}"; do
    # nodejs/npm may come from elsewhere on a developer machine: a working command is enough.
    case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

sha_ok() {
    [ -x "$jongodb_bin" ] && echo "$JONGODB_SHA256  $jongodb_bin" | sha256sum --check --status
}
if ! sha_ok; then
    echo "setup: installing $JONGODB_PKG@$JONGODB_VERSION into .deps/"
    rm -rf "$jongodb_dir"
    mkdir -p "$jongodb_dir"
    npm install --prefix "$jongodb_dir" --no-audit --no-fund --loglevel=error \
        "$JONGODB_PKG@$JONGODB_VERSION" >/dev/null
    if ! sha_ok; then
        echo "setup: $jongodb_bin does not match its expected sha256" >&2
        exit 1
    fi
fi
# promtool (checks the /metrics format in tests), unpacked from Debian's prometheus package
# without installing the server.
promtool="$root/.deps/bin/promtool"
if ! [ -x "$promtool" ]; then
    echo "setup: unpacking promtool from Debian's prometheus package into .deps/bin/"
    tmp=$(mktemp -d)
    chmod 755 "$tmp" # apt's download user must be able to write there
    if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        (cd "$tmp" && apt-get download prometheus >/dev/null)
    fi
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
    mkdir -p "$root/.deps/bin"
    cp "$tmp/x/usr/bin/promtool" "$promtool"
    rm -rf "$tmp"
fi
echo "setup: ready"
