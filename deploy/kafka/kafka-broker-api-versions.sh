#!/bin/sh
# The health check the compose file runs in either Kafka image (apache/kafka ships it too).
exec java -Xmx128m -cp "/opt/kafka/libs/*" org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
