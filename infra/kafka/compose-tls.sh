#!/usr/bin/env bash
# One-shot TLS setup of docker-compose.yml's broker, run by the kafka-tls service in the
# Kafka image before the broker starts (the native stack does the same with openssl in
# infra/kafka/kafka.sh). Only the JRE's keytool is needed, so the apache/kafka image and
# the local localhost/pfm-kafka build both run it.
#
#   CA_DIR      the local CA's key and certificate (ca.p12): mounted into this step alone
#   BROKER_DIR  the broker's keystore (broker.p12: key + chain) and the CA it trusts for its
#               own inter-broker connections (ca.crt): mounted into the broker alone
#   PUBLIC_DIR  the CA certificate alone (ca.crt): what every client mounts and trusts
#               (KAFKA_SSL_CA_FILE), never a key
#
# The CA (EC P-256, 10 years) is made once and kept; the broker's certificate (825 days,
# names kafka, localhost and 127.0.0.1: the compose network's name and the published
# 127.0.0.1:9092) is made again on every run, signed by the same CA, so clients keep
# trusting it and it never runs out while the stack is brought up now and then. Both
# keystores are PKCS12 under PFM_KAFKA_TLS_PASSWORD (keytool reads it from the environment,
# never from its command line).
set -euo pipefail
: "${PFM_KAFKA_TLS_PASSWORD:?set PFM_KAFKA_TLS_PASSWORD}"
CA_DIR="${PFM_KAFKA_TLS_CA_DIR:-/pfm/ca}"
BROKER_DIR="${PFM_KAFKA_TLS_BROKER_DIR:-/pfm/broker}"
PUBLIC_DIR="${PFM_KAFKA_TLS_PUBLIC_DIR:-/pfm/public}"
NAMES="${PFM_KAFKA_TLS_NAMES:-dns:kafka,dns:localhost,ip:127.0.0.1}"
# The broker's user in its image (apache/kafka: appuser, 1000); empty: leave the owner.
OWNER="${PFM_KAFKA_TLS_OWNER-1000}"
KEYTOOL="${KEYTOOL:-keytool}"
# A short-lived JVM per call: C1 only and the serial GC start it in about half the time.
KEYTOOL_JVM=(-J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC)
pw=(-storepass:env PFM_KAFKA_TLS_PASSWORD)
# keytool, quiet unless it fails (then its own words, which never hold the password).
kt() { local out; out="$("$KEYTOOL" "${KEYTOOL_JVM[@]}" "$@" 2>&1)" || { printf 'kafka-tls: keytool %s failed: %s\n' "$1" "$out" >&2; exit 1; }; }

umask 077
mkdir -p "$CA_DIR" "$BROKER_DIR" "$PUBLIC_DIR"
chmod 700 "$CA_DIR"
chmod 755 "$PUBLIC_DIR"

if [[ ! -s "$CA_DIR/ca.p12" ]]; then
  kt -genkeypair -alias ca -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA \
    -dname "CN=pfm compose Kafka CA" -validity 3650 -ext bc:c=ca:true -ext ku:c=keyCertSign,cRLSign \
    -keystore "$CA_DIR/ca.p12" -storetype PKCS12 "${pw[@]}"
  rm -f "$CA_DIR/ca.crt"
  echo "kafka-tls: made a local CA"
fi
[[ -s "$CA_DIR/ca.crt" ]] || kt -exportcert -rfc -alias ca -keystore "$CA_DIR/ca.p12" -storetype PKCS12 "${pw[@]}" -file "$CA_DIR/ca.crt"

tmp="$(mktemp -d "$BROKER_DIR/.new.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
kt -genkeypair -alias broker -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA -dname "CN=kafka" -validity 825 \
  -keystore "$tmp/broker.p12" -storetype PKCS12 "${pw[@]}"
kt -certreq -alias broker -keystore "$tmp/broker.p12" -storetype PKCS12 "${pw[@]}" -file "$tmp/broker.csr"
kt -gencert -alias ca -keystore "$CA_DIR/ca.p12" -storetype PKCS12 "${pw[@]}" -infile "$tmp/broker.csr" -outfile "$tmp/broker.crt" -rfc \
  -sigalg SHA256withECDSA -validity 825 -ext "san=$NAMES" -ext ku:c=digitalSignature,keyEncipherment -ext eku=serverAuth,clientAuth -ext bc:c=ca:false
# The signed certificate and the CA's, as the broker's chain (the CA is this step's own:
# -noprompt installs the chain without asking whether to trust its root).
cat "$tmp/broker.crt" "$CA_DIR/ca.crt" >"$tmp/chain.pem"
kt -importcert -noprompt -alias broker -file "$tmp/chain.pem" -keystore "$tmp/broker.p12" -storetype PKCS12 "${pw[@]}"

install -m 600 "$tmp/broker.p12" "$BROKER_DIR/broker.p12"
install -m 644 "$CA_DIR/ca.crt" "$BROKER_DIR/ca.crt"
install -m 644 "$CA_DIR/ca.crt" "$PUBLIC_DIR/ca.crt"
if [[ -n "$OWNER" && "$(id -u)" == 0 ]]; then chown "$OWNER" "$BROKER_DIR" "$BROKER_DIR/broker.p12" "$BROKER_DIR/ca.crt"; fi
chmod 700 "$BROKER_DIR"
echo "kafka-tls: broker certificate for $NAMES, signed by the local CA; clients trust $PUBLIC_DIR/ca.crt"
