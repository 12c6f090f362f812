#!/usr/bin/env bash
# setup.sh - install everything the project needs to build, run and test, idempotently.
#
# Debian packages (compiler, libraries, esbuild for the tracker, redis-server, test tools,
# chromium for the browser tests) via apt-get; the MongoDB-wire-compatible test server (see
# ../shared/MONGO.md) and playwright-core (drives chromium) from npm's registry, into .deps/
# at the top of the repository, each pinned and checked against a sha256. Safe to run
# again: it installs only what is missing. Needs root (or sudo) the first time only.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
    gcc make pkg-config clang-format clang libclang-rt-14-dev
    libcivetweb-dev libhiredis-dev libmongoc-dev libbson-dev libjansson-dev libcmocka-dev
    redis-server curl jq valgrind nodejs npm ca-certificates
    yamllint shellcheck python3 python3-yaml unzip podman debootstrap wrk chromium esbuild
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
# playwright-core (tests/browser/ drive Debian's chromium with it; it downloads no browser):
# the registry's tarball, checked against its sha256 before it is unpacked into
# .deps/playwright/node_modules/playwright-core. It has no dependencies.
PLAYWRIGHT_VERSION="1.65.1"
PLAYWRIGHT_SHA256="6f5a60be62a4fddfbe7d10c448d8fbd54547da3358f2f8a04211440471ee863e"
playwright_dir="$root/.deps/playwright"
playwright_stamp="$playwright_dir/playwright-core-$PLAYWRIGHT_VERSION.sha256"
if ! [ -f "$playwright_dir/node_modules/playwright-core/package.json" ] ||
    [ "$(cat "$playwright_stamp" 2>/dev/null)" != "$PLAYWRIGHT_SHA256" ]; then
    echo "setup: installing playwright-core@$PLAYWRIGHT_VERSION into .deps/"
    rm -rf "$playwright_dir"
    mkdir -p "$playwright_dir/node_modules/playwright-core"
    (cd "$playwright_dir" && npm pack --silent --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null)
    tarball="$playwright_dir/playwright-core-$PLAYWRIGHT_VERSION.tgz"
    if ! echo "$PLAYWRIGHT_SHA256  $tarball" | sha256sum --check --status; then
        echo "setup: $tarball does not match its expected sha256" >&2
        exit 1
    fi
    tar -xzf "$tarball" -C "$playwright_dir/node_modules/playwright-core" --strip-components=1
    rm -f "$tarball"
    echo "$PLAYWRIGHT_SHA256" >"$playwright_stamp"
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
