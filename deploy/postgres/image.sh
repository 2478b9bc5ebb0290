#!/usr/bin/env bash
# Builds the PostgreSQL image TAG on a Debian base holding the postgresql package.
#   deploy/postgres/image.sh BASE_TAG TAG
set -euo pipefail
base=$1
tag=$2
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "postgres image $tag: present"
  exit 0
fi
deploy/base-image.sh "$base" postgresql,ca-certificates
started=$(date +%s)
mkdir -p .build
docker build --quiet --network host --build-arg BASE_IMAGE="$base" -t "$tag" deploy/postgres \
  >.build/postgres-image.log 2>&1 || { tail -30 .build/postgres-image.log; exit 1; }
size=$(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec)
echo "postgres image $tag: built in $(( $(date +%s) - started )) s, $size"
