#!/bin/sh
# Kafka Connect in distributed mode, configured as the debezium/connect image is:
# BOOTSTRAP_SERVERS (required), GROUP_ID, CONFIG_STORAGE_TOPIC, OFFSET_STORAGE_TOPIC,
# STATUS_STORAGE_TOPIC, their *_REPLICATION_FACTOR, REST_HOST_NAME and REST_PORT; JSON
# converters with schemas, Debezium's defaults. Connectors are added over its REST API.
set -euf  # -f: the class path "libs/*" is for java to expand, not the shell
home=/opt/connect
conf=$home/config/worker.properties
cat > "$conf" <<PROPERTIES
bootstrap.servers=${BOOTSTRAP_SERVERS:?set BOOTSTRAP_SERVERS}
group.id=${GROUP_ID:-1}
config.storage.topic=${CONFIG_STORAGE_TOPIC:-connect_configs}
offset.storage.topic=${OFFSET_STORAGE_TOPIC:-connect_offsets}
status.storage.topic=${STATUS_STORAGE_TOPIC:-connect_statuses}
config.storage.replication.factor=${CONFIG_STORAGE_REPLICATION_FACTOR:-1}
offset.storage.replication.factor=${OFFSET_STORAGE_REPLICATION_FACTOR:-1}
status.storage.replication.factor=${STATUS_STORAGE_REPLICATION_FACTOR:-1}
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
listeners=http://${REST_HOST_NAME:-0.0.0.0}:${REST_PORT:-8083}
plugin.path=$home/plugins
PROPERTIES
exec java ${HEAP_OPTS:--Xmx512m} -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
  -Dlog4j2.configurationFile=$home/config/log4j2.properties \
  -cp "$home/libs/*" org.apache.kafka.connect.cli.ConnectDistributed "$conf"
