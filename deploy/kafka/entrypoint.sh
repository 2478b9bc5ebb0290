#!/bin/sh
# Apache Kafka (KRaft) configured the way the apache/kafka image is, so one compose file
# serves both: every KAFKA_<NAME> variable becomes the property <name> (lower case, "_" to
# ".", "__" to "_", "___" to "-"). The log dir is formatted on first start only, so a
# restarted container keeps its topics, offsets and transactions.
set -euf  # -f: the class path "libs/*" is for java to expand, not the shell
home=/opt/kafka
conf=$home/config/server.properties
: > "$conf"
env | grep '^KAFKA_' | while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_VERSION) continue ;;
  esac
  key=$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed 's/___/-/g; s/__/@/g; s/_/./g; s/@/_/g')
  printf '%s=%s\n' "$key" "$value" >> "$conf"
done
log_dirs=$(sed -n 's/^log\.dirs=//p' "$conf")
java="java ${KAFKA_HEAP_OPTS:--Xmx1g -Xms1g} -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError"
java="$java -Djava.awt.headless=true -Dlog4j2.configurationFile=$home/config/log4j2.properties"
java="$java ${KAFKA_OPTS:-} -cp $home/libs/*"
first_dir=${log_dirs%%,*}
if [ ! -f "${first_dir:-/var/lib/kafka/data}/meta.properties" ]; then
  cluster_id=${CLUSTER_ID:-$($java kafka.tools.StorageTool random-uuid)}
  $java kafka.tools.StorageTool format --cluster-id="$cluster_id" -c "$conf" >/dev/null
  echo "kafka: formatted ${first_dir} for cluster $cluster_id"
fi
exec $java kafka.Kafka "$conf"
