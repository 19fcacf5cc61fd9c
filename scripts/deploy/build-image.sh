#!/usr/bin/env bash
# Builds the node's container image from scripts/deploy/Containerfile.
#
# Usage: scripts/deploy/build-image.sh [TAG]          (default tag: causerie:latest)
# Environment:
#   CAUSERIE_BINARY  the binary to put in the image (default: target/release/causerie, built with
#                    `cargo build --release` when missing)
#   RUNTIME_IMAGE    the base image (default in the Containerfile: debian:bookworm-slim)
#   CONTAINER_TOOL   podman (default) or docker
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tag="${1:-causerie:latest}"
tool="${CONTAINER_TOOL:-podman}"
binary="${CAUSERIE_BINARY:-$root/target/release/causerie}"
if [ ! -x "$binary" ]; then
    if [ -n "${CAUSERIE_BINARY:-}" ]; then
        echo "build-image: CAUSERIE_BINARY=$binary is not an executable file" >&2
        exit 2
    fi
    (cd "$root" && cargo build --release --bin causerie)
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/causerie"
cp "$root/scripts/deploy/Containerfile" "$root/scripts/deploy/container.toml" "$context/"
mkdir "$context/data"

args=(build --file "$context/Containerfile" --tag "$tag")
if [ -n "${RUNTIME_IMAGE:-}" ]; then
    args+=(--build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE")
fi
"$tool" "${args[@]}" "$context"
echo "build-image: built $tag"
