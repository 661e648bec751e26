#!/bin/bash
# Run once while the image is built (RUN in the Containerfile), to make two things that
# shorten every later start of a container from this image:
#  - /opt/kafka/preformatted: KRaft storage formatted for this image's single node
#    (node 1, the controller on 127.0.0.1:9093), copied into an empty data directory at
#    start when PFM_KAFKA_PREFORMATTED=1 (test stacks) instead of running the storage
#    tool, a JVM start of its own. Its cluster id is the same in every such container,
#    so it is for throwaway stacks only: a lasting cluster (compose) formats its own.
#  - /opt/kafka/kafka.aot: the JVM's ahead-of-time cache (JDK 24+; classes loaded and
#    linked, method profiles) from a training start of the broker, which
#    kafka-run.sh hands to every start. Without a JDK that has it, no cache is made.
set -euo pipefail
export KAFKA_LOG_DIRS=/tmp/kafka-train/data
mkdir -p /tmp/kafka-train
CONF=/tmp/kafka-train/server.properties
sed -e "s#@KAFKA_PORT@#9092#g" -e "s#@CONTROLLER_PORT@#9093#g" -e "s#@DATA_DIR@#/opt/kafka/preformatted#g" \
  -e "s#@CLIENT_PROTOCOL@#PLAINTEXT#g" -e "s#@CONTROLLER_PROTOCOL@#PLAINTEXT#g" \
  /opt/kafka/server.properties.template > "$CONF"
printf 'advertised.listeners=PLAINTEXT://127.0.0.1:9092\n' >> "$CONF"
LOG4J=(-Dpfm.log.level=WARN -Dlog4j2.configurationFile=/opt/kafka/log4j2.properties)
java -Xmx256m "${LOG4J[@]}" -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format \
  --config "$CONF" --cluster-id cGZtLXRlc3Qtc3RhY2stMQ --ignore-formatted >/dev/null
if ! java -XX:AOTCacheOutput=/tmp/kafka-train/probe.aot -version >/dev/null 2>&1; then
  echo "kafka-train: this JDK has no ahead-of-time cache (JDK 24+): none made"
  rm -rf /tmp/kafka-train
  exit 0
fi
# The training start runs on a copy, so the preformatted storage stays empty of data.
cp -a /opt/kafka/preformatted /tmp/kafka-train/data
sed -i "s#/opt/kafka/preformatted#/tmp/kafka-train/data#" "$CONF"
java -server -Xms256m -Xmx768m -XX:+UseG1GC -XX:AOTCacheOutput=/opt/kafka/kafka.aot -Djava.awt.headless=true \
  -Dpfm.log.level=INFO -Dlog4j2.configurationFile=/opt/kafka/log4j2.properties \
  -cp '/opt/kafka/libs/*' kafka.Kafka "$CONF" >/tmp/kafka-train/kafka.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q 'Kafka Server started' /tmp/kafka-train/kafka.log && break
  kill -0 "$pid" 2>/dev/null || { tail -n 40 /tmp/kafka-train/kafka.log; exit 1; }
  sleep 0.2
done
grep -q 'Kafka Server started' /tmp/kafka-train/kafka.log || { tail -n 40 /tmp/kafka-train/kafka.log; exit 1; }
# A clean stop: the cache is written as the JVM exits.
kill -TERM "$pid"
wait "$pid" || true
[ -s /opt/kafka/kafka.aot ] || { echo "kafka-train: no cache written"; tail -n 20 /tmp/kafka-train/kafka.log; exit 1; }
rm -rf /tmp/kafka-train
echo "kafka-train: storage preformatted, cache $(du -h /opt/kafka/kafka.aot | cut -f1)"
