#!/usr/bin/env bash
# A base image made from Debian packages with no registry: mmdebstrap writes a minimal
# bookworm holding PACKAGES (comma-separated) as a tarball, and `docker import` turns it
# into image TAG. Debian's security and point-release updates are included.
#   deploy/base-image.sh TAG PACKAGES
set -euo pipefail
tag=$1
packages=$2
source deploy/image-lib.sh
skip_if_present base "$tag"
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
report_built base "$tag" "$started"
