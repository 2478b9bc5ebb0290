#!/usr/bin/env bash
# Builds the Kafka Connect + Debezium image TAG on the Java base image: the jars are the
# ones the CDC tests resolve from Maven Central (pipelines/devenv/connect.py, cached).
#   deploy/connect/image.sh PYTHON TAG
set -euo pipefail
python=$1
tag=$2
source deploy/image-lib.sh
skip_if_present connect "$tag"
context=.build/connect
rm -rf "$context" && mkdir -p "$context"
read -r libs plugins < <("$python" -c 'from pipelines.devenv import connect as c; print(c.connect_classpath(), c.debezium_plugins())')
cp -r "$libs" "$context/libs"
cp -r "$plugins" "$context/plugins"
cp deploy/connect/entrypoint.sh "$context/"
cp deploy/connect/log4j2.properties "$context/"
build_image connect "$tag" -f deploy/connect/Dockerfile "$context"
