#!/usr/bin/env bash
# Toxiproxy (the network-fault proxy the fault tests put between pipelines and their
# services) built from its Go module through the Go module proxy, cached by version.
# Prints the server binary's path on its last line.
#   deploy/toxiproxy/build.sh VERSION CACHE_DIR
set -euo pipefail
version=$1
cache=$2
out="$cache/toxiproxy-$version"
if [ ! -x "$out/bin/toxiproxy-server" ]; then
  echo "toxiproxy $version: building from github.com/Shopify/toxiproxy/v2@v$version..." >&2
  mkdir -p "$out/bin"
  GOBIN="$out/bin" GOFLAGS=-trimpath CGO_ENABLED=0 \
    go install "github.com/Shopify/toxiproxy/v2/cmd/server@v$version"
  mv "$out/bin/server" "$out/bin/toxiproxy-server"
fi
echo "$out/bin/toxiproxy-server"
