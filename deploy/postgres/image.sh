#!/usr/bin/env bash
# Builds the PostgreSQL image TAG on a Debian base holding the postgresql package.
#   deploy/postgres/image.sh BASE_TAG TAG
set -euo pipefail
base=$1
tag=$2
source deploy/image-lib.sh
skip_if_present postgres "$tag"
deploy/base-image.sh "$base" postgresql,ca-certificates
build_image postgres "$tag" --build-arg BASE_IMAGE="$base" deploy/postgres
