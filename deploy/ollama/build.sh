#!/usr/bin/env bash
# Ollama's server built from its own Go module through the Go module proxy: no registry,
# no release download. The binary is cached by version and compiler flags, so it is built
# once per machine (~7 min cold on 2 cores). Prints the binary's path on its last line.
#   deploy/ollama/build.sh VERSION CACHE_DIR
set -euo pipefail
version=$1
cache=$2
# AVX2/FMA/F16C: without them ggml builds for plain SSE2 (~19 instead of ~70 tokens/s).
flags="-O3 -mavx -mavx2 -mfma -mf16c -mbmi2"
key=$(printf '%s %s' "$version" "$flags" | sha256sum | cut -c1-12)
out="$cache/ollama-$version-$key"
if [ -x "$out/bin/ollama" ]; then
  echo "ollama $version: cached" >&2
  echo "$out/bin/ollama"
  exit 0
fi
# The module zip leaves out four vendored headers; Debian and PyPI carry them.
headers="$cache/ollama-headers"
if [ ! -f "$headers/.complete" ]; then
  rm -rf "$headers" && mkdir -p "$headers/debs"
  (cd "$headers/debs" && apt-get download -qq nlohmann-json3-dev libstb-dev)
  for deb in "$headers"/debs/*.deb; do dpkg-deb -x "$deb" "$headers/root"; done
  python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$headers/sdist" miniaudio
  mkdir -p "$headers/root/usr/include/miniaudio"
  tar -xzf "$headers"/sdist/miniaudio-*.tar.gz -C "$headers/sdist"
  find "$headers/sdist" -name miniaudio.h -path '*miniaudio*' | head -1 \
    | xargs -I{} cp {} "$headers/root/usr/include/miniaudio/miniaudio.h"
  touch "$headers/.complete"
fi
include="$headers/root/usr/include"
echo "ollama $version: building from github.com/ollama/ollama@v$version (first time ~7 min)..." >&2
started=$(date +%s)
mkdir -p "$out"
GOBIN="$out/bin" GOFLAGS=-trimpath CGO_ENABLED=1 CGO_CFLAGS="$flags" CGO_CXXFLAGS="$flags" \
  CPLUS_INCLUDE_PATH="$include" C_INCLUDE_PATH="$include" \
  go install -ldflags "-s -w -X github.com/ollama/ollama/version.Version=$version" \
  "github.com/ollama/ollama@v$version"
echo "ollama $version: built in $(( $(date +%s) - started )) s" >&2
echo "$out/bin/ollama"
