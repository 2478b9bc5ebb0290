#!/usr/bin/env bash
# Builds the Kafka image TAG: resolves the jars with Maven (cached in ~/.m2), then builds
# deploy/kafka/Dockerfile on the Java base image.
#   deploy/kafka/image.sh PYTHON TAG
set -euo pipefail
python=$1
tag=$2
source deploy/image-lib.sh
skip_if_present kafka "$tag"
read -r scala kafka log4j < <("$python" -c 'from pipelines.devenv.broker import kafka as k; print(k.SCALA_VERSION, k.KAFKA_VERSION, k.LOG4J_VERSION)')
context=.build/kafka
rm -rf "$context" && mkdir -p "$context"
cp deploy/kafka/entrypoint.sh deploy/kafka/kafka-broker-api-versions.sh deploy/kafka/log4j2.properties "$context"/
sed "s/@SCALA@/$scala/; s/@KAFKA@/$kafka/g; s/@LOG4J@/$log4j/" deploy/kafka/pom.xml.in > "$context/pom.xml"
echo "kafka image $tag: resolving Kafka $kafka jars from Maven Central..."
mvn -q -B -f "$context/pom.xml" dependency:copy-dependencies \
  -DoutputDirectory="$PWD/$context/libs" -DincludeScope=runtime >.build/kafka-jars.log 2>&1 \
  || { tail -30 .build/kafka-jars.log; exit 1; }
rm "$context/pom.xml"
build_image kafka "$tag" -f deploy/kafka/Dockerfile "$context"
