#!/usr/bin/env bash
# images.sh - build the images of the three programs with podman, from a Debian 12 base image
# made with debootstrap (no registry is reachable here). Idempotent: the base image is made
# once. Usage: deploy/images.sh [TAG]   (default tag: latest)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-latest}
base=localhost/analytics-base:bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

for cmd in podman debootstrap; do
    command -v "$cmd" >/dev/null 2>&1 || { echo "images: $cmd is missing: run deploy/setup.sh" >&2; exit 1; }
done

if ! podman image exists "$base"; then
    echo "images: making $base with debootstrap (minbase, bookworm)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    debootstrap --variant=minbase bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
        { tail -n 20 "$tmp/debootstrap.log" >&2; exit 1; }
    tar -C "$tmp/rootfs" -c . | podman import - "$base" >/dev/null
fi

for target in ingest processor reporting; do
    echo "images: building analytics/$target:$tag"
    # chroot isolation: this machine refuses the OCI runtime's setrlimit.
    podman build --isolation=chroot --quiet --build-arg "BASE=$base" --target "$target" \
        -t "analytics/$target:$tag" -f "$root/deploy/Containerfile" "$root" >/dev/null
done
echo "images: built analytics/{ingest,processor,reporting}:$tag"
