#!/usr/bin/env bash
# One-shot setup of docker-compose.yml's SASL broker, run by the kafka-setup service in the
# Kafka image (apache/kafka: its bin/kafka-configs.sh and bin/kafka-acls.sh): logs in as
# the admin over PLAIN (the broker's own JAAS user; over TLS when PFM_KAFKA_SETUP_CA_FILE
# names the CA to trust), gives every principal with a PFM_KAFKA_PASSWORD_<NAME> in the
# environment its SCRAM-SHA-512 credential, then grants the rules of acls.txt (mounted at
# /pfm/acls.txt). Both steps are idempotent: it runs on every `docker compose up`. The
# native stack does the same in infra/kafka/kafka.sh.
set -euo pipefail
BOOTSTRAP="${PFM_KAFKA_SETUP_BOOTSTRAP:-kafka:19092}"
BIN="${KAFKA_BIN:-/opt/kafka/bin}"
ACLS="${PFM_KAFKA_ACLS_FILE:-/pfm/acls.txt}"
: "${PFM_KAFKA_PASSWORD_ADMIN:?set PFM_KAFKA_PASSWORD_ADMIN}"

conf="$(mktemp)"
trap 'rm -f "$conf"' EXIT
chmod 600 "$conf"
# Over TLS when the broker takes it (compose: SASL_SSL, trusting the CA kafka-tls made).
if [ -n "${PFM_KAFKA_SETUP_CA_FILE:-}" ]; then
  [ -s "$PFM_KAFKA_SETUP_CA_FILE" ] || { echo "kafka-setup: no CA certificate at $PFM_KAFKA_SETUP_CA_FILE (kafka-tls makes it)" >&2; exit 1; }
  printf '%s\n' "security.protocol=SASL_SSL" "ssl.truststore.type=PEM" "ssl.truststore.location=$PFM_KAFKA_SETUP_CA_FILE" >"$conf"
else
  printf '%s\n' "security.protocol=SASL_PLAINTEXT" >"$conf"
fi
printf '%s\n' "sasl.mechanism=PLAIN" \
  "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$PFM_KAFKA_PASSWORD_ADMIN\";" >>"$conf"

for var in $(compgen -e | grep '^PFM_KAFKA_PASSWORD_' || true); do
  name="$(printf '%s' "${var#PFM_KAFKA_PASSWORD_}" | tr 'A-Z' 'a-z')"
  pw="${!var}"
  [ -n "$pw" ] || continue
  "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$conf" --alter \
    --entity-type users --entity-name "$name" --add-config "SCRAM-SHA-512=[iterations=8192,password=$pw]" >/dev/null
  echo "kafka-setup: SCRAM-SHA-512 credential for $name"
done

# One kafka-acls call per principal and resource, with all of its operations.
camel() { printf '%s' "$1" | tr 'A-Z' 'a-z' | awk -F_ '{ for (i = 1; i <= NF; i++) printf "%s", toupper(substr($i, 1, 1)) substr($i, 2) }'; }
grep -Ev '^\s*(#|$)' "$ACLS" | awk '{ k = $1 " " $2 " " $3 " " $4; ops[k] = ops[k] " " $5 } END { for (k in ops) print k ops[k] }' |
while read -r principal rtype ptype name ops; do
  case "$rtype" in
    TOPIC) res=(--topic "$name") ;;
    GROUP) res=(--group "$name") ;;
    CLUSTER) res=(--cluster) ;;
    TRANSACTIONAL_ID) res=(--transactional-id "$name") ;;
    *) echo "kafka-setup: unknown resource type $rtype in $ACLS" >&2; exit 1 ;;
  esac
  args=()
  for op in $ops; do args+=(--operation "$(camel "$op")"); done
  "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$conf" --add --force \
    --allow-principal "User:$principal" "${args[@]}" "${res[@]}" --resource-pattern-type "$(printf '%s' "$ptype" | tr 'A-Z' 'a-z')" >/dev/null
  echo "kafka-setup: $principal may$(printf ' %s' $ops) on $rtype $ptype $name"
done
echo "kafka-setup: done"
