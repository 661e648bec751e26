#!/bin/bash
# Entrypoint of localhost/pfm-kafka: the native stack's server.properties template
# (infra/kafka, copied in at build time) rendered for the container, then KAFKA_* env
# overrides applied the way the apache/kafka image reads them (KAFKA_ADVERTISED_LISTENERS
# -> advertised.listeners, '_' -> '.', '__' -> '_', '___' -> '-'), so the testkit
# configures either image with the same variables. Storage is formatted once, on the
# first start with an empty data directory (a restart from the volume keeps the log);
# with PFM_KAFKA_PREFORMATTED=1 (test stacks) the image's preformatted storage is copied
# in instead (kafka-train.sh).
set -euo pipefail
CONF=/opt/kafka/config/server.properties
DATA="${KAFKA_LOG_DIRS:-/var/lib/kafka/data}"
mkdir -p /opt/kafka/config "$DATA"
sed -e "s#@KAFKA_PORT@#9092#g" -e "s#@CONTROLLER_PORT@#9093#g" -e "s#@DATA_DIR@#$DATA#g" \
  -e "s#@CLIENT_PROTOCOL@#PLAINTEXT#g" -e "s#@CONTROLLER_PROTOCOL@#PLAINTEXT#g" \
  /opt/kafka/server.properties.template > "$CONF"
skip='^KAFKA_(HEAP_OPTS|OPTS|JVM_PERFORMANCE_OPTS|LOG4J_OPTS|GC_LOG_OPTS|JMX_OPTS|DEBUG|HOME|VERSION)$'
# The overrides, key by key, then one pass over the rendered file: bash built-ins only (a
# test stack starts a broker per suite; a process per variable cost ~1.3 s of CPU a start).
declare -A over=()
while IFS='=' read -r name value; do
  [[ "$name" =~ ^KAFKA_ ]] || continue
  [[ "$name" =~ $skip ]] && continue
  key="${name#KAFKA_}"; key="${key,,}"
  key="${key//___/-}"; key="${key//__/@}"; key="${key//_/.}"; key="${key//@/_}"
  over[$key]="$value"
done < <(env)
{
  # The template's line for a key that is overridden is left out; the override is appended.
  while IFS= read -r line || [[ -n "$line" ]]; do
    k="${line%%=*}"
    if [[ "$line" == *=* && -n "$k" && "$line" != \#* && -n "${over[$k]+set}" ]]; then continue; fi
    printf '%s\n' "$line"
  done < "$CONF"
  for key in "${!over[@]}"; do printf '%s=%s\n' "$key" "${over[$key]}"; done
} > "$CONF.tmp"
mv "$CONF.tmp" "$CONF"
if [ ! -f "$DATA/meta.properties" ] && [ "${PFM_KAFKA_PREFORMATTED:-0}" = 1 ] && [ -f /opt/kafka/preformatted/meta.properties ]; then
  # A throwaway test stack: the image's preformatted storage (kafka-train.sh), no storage-tool run.
  cp -a /opt/kafka/preformatted/. "$DATA/"
fi
if [ ! -f "$DATA/meta.properties" ]; then
  cluster_id="${CLUSTER_ID:--}"
  while [[ "$cluster_id" == -* ]]; do cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"; done
  java -Xmx256m -Dpfm.log.level=WARN -Dlog4j2.configurationFile=/opt/kafka/log4j2.properties \
    -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format --config "$CONF" --cluster-id "$cluster_id" --ignore-formatted
fi
# KAFKA_OPTS: more JVM options, as the apache/kafka image takes them. The ahead-of-time
# cache of a training start (kafka-train.sh), when the image has one.
aot=()
[ -f /opt/kafka/kafka.aot ] && aot=(-XX:AOTCache=/opt/kafka/kafka.aot '-Xlog:aot*=off')
# shellcheck disable=SC2086
exec java -server ${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m} ${KAFKA_OPTS:-} "${aot[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
  -Dpfm.log.level=INFO -Dlog4j2.configurationFile=/opt/kafka/log4j2.properties \
  -cp '/opt/kafka/libs/*' kafka.Kafka "$CONF"
