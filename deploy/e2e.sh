#!/usr/bin/env bash
# `make e2e`: a Docker engine if none runs (stopped again at the end, also on failure),
# the images built with no registry, then deploy/e2e.py against the compose stack.
#   deploy/e2e.sh MAKE PYTHON
set -euo pipefail
make=$1
python=$2
compose=(docker-compose -p streamwise-e2e -f docker-compose.yml -f deploy/compose.e2e.yml)
started_engine=0
if ! docker info >/dev/null 2>&1; then
  deploy/dockerd.sh start
  started_engine=1
fi
finish() {
  status=$?
  if [ "$status" != 0 ] && [ -f .build/compose.e2e.yml ]; then
    docker-compose -p streamwise-e2e -f .build/compose.e2e.yml logs --no-color --tail 60 \
      >.build/e2e-logs.txt 2>&1 || true
    echo "e2e: the containers' last log lines are in .build/e2e-logs.txt"
  fi
  "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  if [ "$started_engine" = 1 ]; then deploy/dockerd.sh stop; fi
  exit $status
}
trap finish EXIT
begun=$(date +%s)
"$make" --no-print-directory images
echo "e2e: images ready in $(( $(date +%s) - begun )) s"
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
"$python" deploy/e2e.py
echo "e2e: $(( $(date +%s) - begun )) s in all"
