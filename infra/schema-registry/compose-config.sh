#!/usr/bin/env bash
# One-shot step of docker-compose.yml, run by the registry-config service in the registry
# image before the registry starts: writes the registry's two Quarkus config files from
# the environment into the registry-config volume (mounted into this step and the
# registry alone), so no password is written into the compose file or the repo:
#
#   users.properties         the registry's own users and roles (plain-text passwords from
#                            PFM_REGISTRY_PASSWORD_*; the native stack keeps MD5 digests
#                            instead, infra/schema-registry/registry.sh): admin sr-admin,
#                            ingest sr-developer (registers schemas), engine and gateway
#                            sr-readonly
#   kafka-client.properties  the KafkaSQL storage's Kafka clients: SASL_SSL as `registry`
#                            (SCRAM-SHA-512, PFM_KAFKA_PASSWORD_REGISTRY), trusting the CA of
#                            the kafka-ca volume
#
# Written again on every `up` (a changed password takes effect). Mode 644 so the
# registry's user (any uid, per image) reads them; nothing else mounts the volume.
set -euo pipefail
DIR="${PFM_REGISTRY_CONFIG_DIR:-/pfm/registry}"
CA="${PFM_KAFKA_CA_FILE:-/pfm/kafka-ca/ca.crt}"
need() { [ -n "${!1:-}" ] || { echo "registry-config: set $1" >&2; exit 1; }; }
for v in PFM_REGISTRY_PASSWORD_ADMIN PFM_REGISTRY_PASSWORD_INGEST PFM_REGISTRY_PASSWORD_ENGINE PFM_REGISTRY_PASSWORD_GATEWAY PFM_KAFKA_PASSWORD_REGISTRY; do need "$v"; done
mkdir -p "$DIR"
umask 022

tmp="$(mktemp "$DIR/.users.XXXXXX")"
{
  echo "quarkus.security.users.embedded.plain-text=true"
  for user in admin ingest engine gateway; do
    var="PFM_REGISTRY_PASSWORD_$(printf '%s' "$user" | tr 'a-z' 'A-Z')"
    case "$user" in admin) role=sr-admin ;; ingest) role=sr-developer ;; *) role=sr-readonly ;; esac
    printf 'quarkus.security.users.embedded.users.%s=%s\n' "$user" "${!var}"
    printf 'quarkus.security.users.embedded.roles.%s=%s\n' "$user" "$role"
  done
} >"$tmp"
chmod 644 "$tmp"; mv -f "$tmp" "$DIR/users.properties"

tmp="$(mktemp "$DIR/.kafka.XXXXXX")"
{
  echo "apicurio.kafkasql.consumer.group-prefix=pfm-registry-"
  for client in producer consumer admin; do
    printf 'apicurio.kafkasql.%s.security.protocol=SASL_SSL\n' "$client"
    printf 'apicurio.kafkasql.%s.ssl.truststore.type=PEM\n' "$client"
    printf 'apicurio.kafkasql.%s.ssl.truststore.location=%s\n' "$client" "$CA"
    printf 'apicurio.kafkasql.%s.sasl.mechanism=SCRAM-SHA-512\n' "$client"
    printf 'apicurio.kafkasql.%s.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="registry" password="%s";\n' "$client" "$PFM_KAFKA_PASSWORD_REGISTRY"
  done
} >"$tmp"
chmod 644 "$tmp"; mv -f "$tmp" "$DIR/kafka-client.properties"
echo "registry-config: users (admin, ingest, engine, gateway) and the KafkaSQL client settings written to $DIR"
