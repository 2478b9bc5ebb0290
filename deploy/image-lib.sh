# Sourced by the deploy/*image*.sh scripts (run from the repository's root): an image that is
# already there is kept, and a build stays quiet unless it fails, then says what it took.

# skip_if_present WHAT TAG: end the calling script when image TAG exists.
skip_if_present() {
  if docker image inspect "$2" >/dev/null 2>&1; then
    echo "$1 image $2: present"
    exit 0
  fi
}

# report_built WHAT TAG STARTED: how long since STARTED (epoch seconds), and the image's size.
report_built() {
  local size
  size=$(docker image inspect -f '{{.Size}}' "$2" | numfmt --to=iec)
  echo "$1 image $2: built in $(( $(date +%s) - $3 )) s, $size"
}

# build_image WHAT TAG DOCKER_BUILD_ARGS...: `docker build` on the host's network, its output
# in .build/WHAT-image.log (the last 30 lines shown if it fails), then report_built.
build_image() {
  local what=$1 tag=$2 started
  shift 2
  started=$(date +%s)
  mkdir -p .build
  docker build --quiet --network host -t "$tag" "$@" >".build/$what-image.log" 2>&1 \
    || { tail -30 ".build/$what-image.log"; exit 1; }
  report_built "$what" "$tag" "$started"
}
