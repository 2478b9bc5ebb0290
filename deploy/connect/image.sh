#!/usr/bin/env bash
# Builds the Kafka Connect + Debezium image TAG on the Java base image: the jars are the
# ones the CDC tests resolve from Maven Central (pipelines/devenv/connect.py, cached).
#   deploy/connect/image.sh PYTHON TAG
set -euo pipefail
python=$1
tag=$2
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "connect image $tag: present"
  exit 0
fi
context=.build/connect
rm -rf "$context" && mkdir -p "$context"
read -r libs plugins < <("$python" -c 'from pipelines.devenv import connect as c; print(c.connect_classpath(), c.debezium_plugins())')
cp -r "$libs" "$context/libs"
cp -r "$plugins" "$context/plugins"
cp deploy/connect/entrypoint.sh "$context/"
cp deploy/connect/log4j2.properties "$context/"
started=$(date +%s)
docker build --quiet --network host -t "$tag" -f deploy/connect/Dockerfile "$context" \
  >.build/connect-image.log 2>&1 || { tail -30 .build/connect-image.log; exit 1; }
size=$(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec)
echo "connect image $tag: built in $(( $(date +%s) - started )) s, $size"
