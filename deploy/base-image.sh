#!/usr/bin/env bash
# A base image made from Debian packages with no registry: mmdebstrap writes a minimal
# bookworm holding PACKAGES (comma-separated) as a tarball, and `docker import` turns it
# into image TAG. Debian's security and point-release updates are included.
#   deploy/base-image.sh TAG PACKAGES
set -euo pipefail
tag=$1
packages=$2
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag: present"
  exit 0
fi
echo "base image $tag: mmdebstrap bookworm with $packages..."
started=$(date +%s)
mmdebstrap --quiet --variant=minbase --include="$packages" \
  --aptopt='Acquire::Retries "3"' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm - \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main" \
  | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec)
echo "base image $tag: built in $(( $(date +%s) - started )) s, $size"
