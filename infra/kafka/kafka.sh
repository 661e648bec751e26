#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) from the official jars on
# Maven Central, for local development and CI on machines without Docker.
#
#   infra/kafka/kafka.sh fetch | start | stop | status | logs [-f] | prepare | secure | help
#
# See infra/kafka/README.md for details and the environment variables.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

# The default version lives in pom.xml (<kafka.version>), the single place to bump it.
DEFAULT_VERSION="$(sed -n 's#.*<kafka.version>\(.*\)</kafka.version>.*#\1#p' "$SCRIPT_DIR/pom.xml" | head -n 1)"
KAFKA_VERSION="${PFM_KAFKA_VERSION:-$DEFAULT_VERSION}"
KAFKA_PORT="${PFM_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${PFM_KAFKA_CONTROLLER_PORT:-9093}"
CACHE_DIR="${PFM_CACHE_DIR:-$HOME/.cache/pfm}"
STATE_DIR="${PFM_STATE_DIR:-$REPO_ROOT/.stack}"
HEAP_OPTS="${PFM_KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
START_TIMEOUT="${PFM_KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${PFM_KAFKA_STOP_TIMEOUT:-30}"
# SASL (default on): SCRAM-SHA-512 for every principal, ACLs from acls.txt, super user
# admin only. 0 = the old open PLAINTEXT listener (no authentication, no ACLs).
SASL="${PFM_KAFKA_SASL:-1}"
[[ "$SASL" == 0 || "$SASL" == 1 ]] || { printf 'kafka: ERROR: PFM_KAFKA_SASL=%s: expected 1 or 0\n' "$SASL" >&2; exit 2; }
# TLS (default on, with SASL only): the client listener is SASL_SSL, with a certificate from
# a local CA that kafka.sh makes at the first start (tls/ below); clients trust that CA
# (KAFKA_SSL_CA_FILE). 0 = SASL_PLAINTEXT (passwords and data in clear on loopback).
TLS="${PFM_KAFKA_TLS:-1}"
[[ "$TLS" == 0 || "$TLS" == 1 ]] || { printf 'kafka: ERROR: PFM_KAFKA_TLS=%s: expected 1 or 0\n' "$TLS" >&2; exit 2; }
[[ "$SASL" == 1 ]] || TLS=0
# The principals kafka.sh creates (and gives a password at first start): admin is the
# super user (the broker's own connections, ops); the rest get what acls.txt grants.
PRINCIPALS=(admin ingest engine gateway insights replay simulator registry test)

# Relative overrides are taken from the caller's directory.
[[ "$CACHE_DIR" == /* ]] || CACHE_DIR="$PWD/$CACHE_DIR"
[[ "$STATE_DIR" == /* ]] || STATE_DIR="$PWD/$STATE_DIR"

HOST=127.0.0.1
BOOTSTRAP="$HOST:$KAFKA_PORT"
KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
LIBS_DIR="$KAFKA_HOME/libs"
PROBE_DIR="$KAFKA_HOME/probe"
KSTATE="$STATE_DIR/kafka"
DATA_DIR="$KSTATE/data"
LOG_DIR="$KSTATE/logs"
LOG_FILE="$LOG_DIR/kafka.log"
PID_FILE="$KSTATE/kafka.pid"
CONFIG_FILE="$KSTATE/server.properties"
# Secrets (mode 600, never committed): one "name password" line per principal, and the
# admin's client settings for the probe and the kafka-*.sh tools (--command-config).
SECRETS_DIR="$KSTATE/secrets"
PASSWORDS_FILE="$SECRETS_DIR/passwords"
ADMIN_PROPERTIES="$SECRETS_DIR/admin.properties"
ACLS_FILE="${PFM_KAFKA_ACLS_FILE:-$SCRIPT_DIR/acls.txt}"
# The local CA and the broker's key and certificate (kafka.sh makes them once; keys mode
# 600). ca.crt is what clients trust; broker.pem (key + certificate chain) is the broker's
# PEM keystore.
TLS_DIR="$KSTATE/tls"
CA_KEY="$TLS_DIR/ca.key"
CA_CRT="$TLS_DIR/ca.crt"
BROKER_PEM="$TLS_DIR/broker.pem"
CLIENT_PROTOCOL=PLAINTEXT
[[ "$SASL" == 1 ]] && CLIENT_PROTOCOL=SASL_PLAINTEXT
[[ "$TLS" == 1 ]] && CLIENT_PROTOCOL=SASL_SSL
SECURITY_SRC="$SCRIPT_DIR/KafkaSecurity.java"
SECURITY_DIR="$KAFKA_HOME/security-$(cat "$SECURITY_SRC" "$SCRIPT_DIR/KafkaProbe.java" | sha256sum | cut -c1-16)"

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAVAC="${JAVA_HOME:+$JAVA_HOME/bin/}javac"

say() { printf 'kafka: %s\n' "$*"; }
err() { printf 'kafka: ERROR: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"; }

check_java() {
  need "$JAVA" "Java 17+ is required"
  local v
  v="$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ { print $2 }')"
  [[ -n "$v" ]] || die "could not determine the Java version of '$JAVA'"
  (( ${v%%.*} >= 17 )) || die "Kafka $KAFKA_VERSION needs Java 17+, '$JAVA' is Java $v (set JAVA_HOME)"
}

# Fingerprint of everything that decides the cache contents: a change to the pom or the
# probe source makes the next fetch redo the work.
fingerprint() {
  cat "$SCRIPT_DIR/pom.xml" "$SCRIPT_DIR/KafkaProbe.java" | sha256sum | cut -c1-16
}

cache_complete() {
  [[ -f "$KAFKA_HOME/.complete" ]] \
    && [[ "$(cat "$KAFKA_HOME/.complete")" == "$KAFKA_VERSION $(fingerprint)" ]] \
    && compgen -G "$LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null \
    && [[ -f "$PROBE_DIR/KafkaProbe.class" ]]
}

cmd_fetch() {
  if cache_complete; then
    say "Kafka $KAFKA_VERSION jars already cached in $LIBS_DIR"
    return 0
  fi
  need mvn "Maven is needed to fetch the Kafka jars"
  check_java
  local t0 tmp
  t0="$(now)"
  mkdir -p "$CACHE_DIR"
  tmp="$(mktemp -d "$CACHE_DIR/.kafka-$KAFKA_VERSION.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  say "fetching Apache Kafka $KAFKA_VERSION jars with Maven into $LIBS_DIR ..."
  if ! mvn -B -q -f "$SCRIPT_DIR/pom.xml" dependency:copy-dependencies \
        -Dkafka.version="$KAFKA_VERSION" -Dpfm.kafka.libs="$tmp/libs" >"$tmp/mvn.log" 2>&1; then
    cat "$tmp/mvn.log" >&2
    die "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (is PFM_KAFKA_VERSION a released version?)"
  fi
  [[ -f "$tmp/libs/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing"
  mkdir -p "$tmp/probe"
  if ! "$JAVAC" -nowarn -d "$tmp/probe" -cp "$tmp/libs/*" "$SCRIPT_DIR/KafkaProbe.java" >"$tmp/javac.log" 2>&1; then
    cat "$tmp/javac.log" >&2
    die "could not compile the readiness probe (KafkaProbe.java)"
  fi
  # Replace the cache entry in one step so an interrupted fetch never looks complete.
  rm -rf "$KAFKA_HOME"
  mkdir -p "$KAFKA_HOME"
  mv "$tmp/libs" "$LIBS_DIR"
  mv "$tmp/probe" "$PROBE_DIR"
  printf '%s %s\n' "$KAFKA_VERSION" "$(fingerprint)" >"$KAFKA_HOME/.complete"
  rm -rf "$tmp"
  trap - EXIT
  say "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS_DIR" | cut -f1)) in $(elapsed "$t0")s"
}

# True when something accepts TCP connections on the port (cheap, no JVM).
port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# Ask the broker itself whether it is ready: exit status of the probe. With SASL, as the
# admin (KafkaSecurity); with extra USERS_FILE ACLS_FILE arguments it also puts the SCRAM
# credentials and ACLs in place once the broker answers.
probe() { # probe TIMEOUT_SECONDS [PID [USERS_FILE ACLS_FILE]]
  if [[ "$SASL" == 1 ]]; then
    [[ -f "$ADMIN_PROPERTIES" ]] || { echo "no admin credentials at $ADMIN_PROPERTIES" >&2; return 1; }
    compile_security
    "$JAVA" -Xmx64m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
      -Dpfm.log.level=ERROR -Dpfm.netclient.level=ERROR -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
      -cp "$LIBS_DIR/*:$PROBE_DIR:$SECURITY_DIR" KafkaSecurity "$ADMIN_PROPERTIES" "$1" "${2:-0}" "${@:3}"
    return
  fi
  "$JAVA" -Xmx64m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dpfm.log.level=ERROR -Dpfm.netclient.level=ERROR -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
    -cp "$LIBS_DIR/*:$PROBE_DIR" KafkaProbe "$BOOTSTRAP" "$@"
}

# The SASL probe / setup tool, compiled once per source version into the cache.
compile_security() {
  [[ -f "$SECURITY_DIR/KafkaSecurity.class" ]] && return 0
  local tmp
  tmp="$(mktemp -d "$KAFKA_HOME/.security.XXXXXX")"
  if ! "$JAVAC" -nowarn -d "$tmp" -cp "$LIBS_DIR/*:$PROBE_DIR" "$SECURITY_SRC" >"$tmp/javac.log" 2>&1; then
    cat "$tmp/javac.log" >&2; rm -rf "$tmp"
    die "could not compile the SASL probe (KafkaSecurity.java)"
  fi
  rm -f "$tmp/javac.log"
  mv -T "$tmp" "$SECURITY_DIR" 2>/dev/null || rm -rf "$tmp"   # another start won the race
}

# A password: 32 random bytes, URL-safe base64 (no quotes, spaces or backslashes, so it can
# sit in a JAAS line).
new_password() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

password_of() { awk -v n="$1" '$1 == n { print $2 }' "$PASSWORDS_FILE"; }

# Passwords for every principal, made at the first start (and for a principal added
# later); existing ones are kept. Files are mode 600 in a mode 700 directory.
ensure_secrets() {
  (umask 077; mkdir -p "$SECRETS_DIR"; touch "$PASSWORDS_FILE")
  chmod 700 "$SECRETS_DIR"; chmod 600 "$PASSWORDS_FILE"
  local p
  for p in "${PRINCIPALS[@]}"; do
    grep -q "^$p " "$PASSWORDS_FILE" || printf '%s %s\n' "$p" "$(new_password)" >>"$PASSWORDS_FILE"
  done
  (umask 077; printf '%s\n' \
    "# The admin (super user) principal's client settings: kafka-*.sh --command-config this file." \
    "bootstrap.servers=$BOOTSTRAP" \
    "security.protocol=$CLIENT_PROTOCOL" \
    "sasl.mechanism=SCRAM-SHA-512" \
    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$(password_of admin)\";" \
    >"$ADMIN_PROPERTIES"
   if [[ "$TLS" == 1 ]]; then printf '%s\n' "ssl.truststore.type=PEM" "ssl.truststore.location=$CA_CRT" >>"$ADMIN_PROPERTIES"; fi)
}

# The local CA (10 years) and the broker's certificate for 127.0.0.1 / localhost (825
# days), made at the first start; a broker certificate that the CA did not sign or that
# expires within a day is made again (same CA, so clients keep trusting it).
ensure_tls() {
  [[ "$TLS" == 1 ]] || return 0
  need openssl "it makes the local CA and the broker's TLS certificate (PFM_KAFKA_TLS=0 turns TLS off)"
  (umask 077; mkdir -p "$TLS_DIR")
  chmod 700 "$TLS_DIR"
  if [[ ! -s "$CA_KEY" || ! -s "$CA_CRT" ]]; then
    (umask 077
     openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$CA_KEY" -out "$CA_CRT" \
       -subj "/CN=pfm local Kafka CA $(hostname -s 2>/dev/null || echo host)" -days 3650 \
       -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1) \
      || die "openssl could not make the local CA in $TLS_DIR"
    rm -f "$BROKER_PEM"
    say "made a local CA for the broker's TLS certificate: $CA_CRT"
  fi
  chmod 600 "$CA_KEY"; chmod 644 "$CA_CRT"
  if [[ -s "$BROKER_PEM" ]] && openssl verify -CAfile "$CA_CRT" "$BROKER_PEM" >/dev/null 2>&1 \
      && openssl x509 -in "$BROKER_PEM" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  local tmp
  tmp="$(mktemp -d "$TLS_DIR/.new.XXXXXX")"
  (umask 077
   openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tmp/broker.key" -out "$tmp/broker.csr" \
     -subj "/CN=localhost" >/dev/null 2>&1 \
   && printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$tmp/ext" \
   && openssl x509 -req -in "$tmp/broker.csr" -CA "$CA_CRT" -CAkey "$CA_KEY" -CAcreateserial -days 825 \
        -extfile "$tmp/ext" -out "$tmp/broker.crt" >/dev/null 2>&1 \
   && cat "$tmp/broker.key" "$tmp/broker.crt" "$CA_CRT" >"$tmp/broker.pem") \
    || { rm -rf "$tmp"; die "openssl could not make the broker's TLS certificate in $TLS_DIR"; }
  mv -f "$tmp/broker.pem" "$BROKER_PEM"
  rm -rf "$tmp" "$TLS_DIR/ca.srl"
  chmod 600 "$BROKER_PEM"
  say "made the broker's TLS certificate (127.0.0.1, localhost; signed by $CA_CRT)"
}

# The admin's settings with another security protocol (and no TLS settings without TLS):
# to ask a broker that runs with other settings than ours.
admin_properties_as() { # PROTOCOL
  if [[ "$1" == SASL_SSL ]]; then
    sed -e "s/^security.protocol=.*/security.protocol=$1/" "$ADMIN_PROPERTIES"
  else
    sed -e "s/^security.protocol=.*/security.protocol=$1/" -e '/^ssl\./d' "$ADMIN_PROPERTIES"
  fi
}

# The admin authenticates with PLAIN until its SCRAM credential exists (first start of a
# data dir); the broker's own inter-broker and controller connections always do.
admin_plain_properties() {
  sed -e 's/^sasl.mechanism=.*/sasl.mechanism=PLAIN/' \
      -e 's/scram.ScramLoginModule/plain.PlainLoginModule/' "$ADMIN_PROPERTIES"
}

# PID from the pid file if that process is alive and is our broker.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  printf '%s' "$pid"
}

render_config() {
  mkdir -p "$KSTATE"
  local proto="$CLIENT_PROTOCOL" controller_proto=PLAINTEXT listener
  [[ "$SASL" == 1 ]] && controller_proto=SASL_PLAINTEXT
  listener="$(printf '%s' "$proto" | tr 'A-Z' 'a-z')"
  (umask 077; sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" \
      -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
      -e "s#@DATA_DIR@#$DATA_DIR#g" \
      -e "s#@CLIENT_PROTOCOL@#$proto#g" \
      -e "s#@CONTROLLER_PROTOCOL@#$controller_proto#g" \
      "$SCRIPT_DIR/server.properties.template" >"$CONFIG_FILE")
  chmod 600 "$CONFIG_FILE"
  [[ "$SASL" == 1 ]] || return 0
  local pw jaas client_jaas
  pw="$(password_of admin)"
  jaas="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$pw\" user_admin=\"$pw\";"
  # The test principal may also log in with PLAIN on the client listener, for kcat:
  # librdkafka before 2.6.1 (Debian 12 has 2.0.2) cannot do SCRAM with Kafka 4.x brokers
  # (confluentinc/librdkafka#4895). Same principal, same ACLs, whatever the mechanism.
  client_jaas="${jaas%;} user_test=\"$(password_of test)\";"
  cat >>"$CONFIG_FILE" <<EOF

############################# Security (kafka.sh, PFM_KAFKA_SASL=1) #############################
# Clients: SCRAM-SHA-512, one principal per service (credentials in the metadata log, set
# by kafka.sh from secrets/passwords). PLAIN knows the admin (the broker's own
# inter-broker and controller connections, and kafka.sh's first connection to a data dir
# that has no SCRAM credentials yet) and, on the client listener only, the test principal
# (kcat: librdkafka before 2.6.1 cannot do SCRAM with Kafka 4.x).
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
sasl.mechanism.inter.broker.protocol=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.$listener.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.$listener.plain.sasl.jaas.config=$client_jaas
listener.name.$listener.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=$jaas
# Closed by default: nothing is allowed that acls.txt does not grant.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
EOF
  [[ "$TLS" == 1 ]] || return 0
  cat >>"$CONFIG_FILE" <<EOF

############################# TLS (kafka.sh, PFM_KAFKA_TLS=1) #############################
# The client (and inter-broker) listener is SASL_SSL: the broker's key and certificate
# chain in one PEM file, signed by the local CA that clients trust (KAFKA_SSL_CA_FILE).
# No client certificates (clients log in with SASL). The controller listener stays
# SASL_PLAINTEXT on 127.0.0.1 (the broker's own connection to itself).
ssl.keystore.type=PEM
ssl.keystore.location=$BROKER_PEM
ssl.truststore.type=PEM
ssl.truststore.location=$CA_CRT
ssl.client.auth=none
ssl.endpoint.identification.algorithm=https
EOF
}

# Format KRaft storage once: only when the data dir has no meta.properties yet.
format_storage() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  # A cluster id is 16 random bytes in URL-safe base64 without padding (22 chars).
  # One that begins with '-' would be read as an option by the storage tool: draw again.
  cluster_id="-"
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  say "formatting KRaft storage in $DATA_DIR (cluster id $cluster_id)"
  mkdir -p "$DATA_DIR"
  if ! "$JAVA" -Xmx256m -Dpfm.log.level=WARN -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
        -cp "$LIBS_DIR/*" kafka.tools.StorageTool format \
        --config "$CONFIG_FILE" --cluster-id "$cluster_id" --ignore-formatted >>"$LOG_FILE" 2>&1; then
    tail -n 30 "$LOG_FILE" >&2
    die "formatting KRaft storage failed (see $LOG_FILE)"
  fi
}

# Serialise start/stop for one state dir, so two concurrent starts launch one broker.
lock_state() {
  mkdir -p "$KSTATE"
  exec 9>"$KSTATE/.lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w $((START_TIMEOUT + 120)) 9 || die "another kafka.sh is busy with $KSTATE"
  fi
}

cmd_start() {
  local t0 pid
  t0="$(now)"
  lock_state
  cmd_fetch
  check_java
  if [[ "$SASL" == 1 ]]; then ensure_tls; ensure_secrets; fi
  if port_open "$KAFKA_PORT" && probe 5 >/dev/null 2>&1; then
    # A running SASL broker still gets any new principal and ACL (both idempotent).
    if [[ "$SASL" == 1 ]]; then probe 10 0 "$PASSWORDS_FILE" "$ACLS_FILE" >/dev/null || die "could not put the SCRAM credentials and ACLs in place at $BOOTSTRAP"; fi
    say "already up at $BOOTSTRAP (nothing to do)"
    printf 'KAFKA_BOOTSTRAP=%s\n' "$BOOTSTRAP"
    return 0
  fi
  mkdir -p "$KSTATE" "$LOG_DIR"
  # A broker that still runs PLAINTEXT (started before SASL was the default, or with
  # PFM_KAFKA_SASL=0) would never answer a SASL probe, nor one without TLS a TLS probe: say
  # so instead of waiting.
  if [[ "$SASL" == 1 ]] && port_open "$KAFKA_PORT" && SASL=0 probe 5 >/dev/null 2>&1; then
    die "a PLAINTEXT broker (no authentication) answers at $BOOTSTRAP; stop it so it restarts with SASL and TLS (infra/stack.sh down then up, or $0 stop then start), or set PFM_KAFKA_SASL=0"
  fi
  if [[ "$TLS" == 1 ]] && port_open "$KAFKA_PORT"; then
    local plain_props
    plain_props="$(mktemp "$SECRETS_DIR/.notls.XXXXXX")"
    admin_properties_as SASL_PLAINTEXT >"$plain_props"
    # (15 s: a JVM client on a loaded machine can take more than 5 s to get its first answer.)
    if ADMIN_PROPERTIES="$plain_props" probe 15 >/dev/null 2>&1; then
      rm -f "$plain_props"
      die "a broker WITHOUT TLS (SASL_PLAINTEXT) answers at $BOOTSTRAP; stop it so it restarts with TLS (infra/stack.sh down then up, or $0 stop then start), or set PFM_KAFKA_TLS=0"
    fi
    rm -f "$plain_props"
  fi

  if pid="$(running_pid)"; then
    say "broker process $pid is already running; waiting for it to answer"
  else
    if port_open "$KAFKA_PORT"; then
      die "port $KAFKA_PORT is in use but no Kafka broker answers there (set PFM_KAFKA_PORT)"
    fi
    if port_open "$CONTROLLER_PORT"; then
      die "controller port $CONTROLLER_PORT is in use (set PFM_KAFKA_CONTROLLER_PORT)"
    fi
    render_config
    # Keep one previous log around.
    if [[ -f "$LOG_FILE" && $(stat -c %s "$LOG_FILE") -gt 52428800 ]]; then
      mv -f "$LOG_FILE" "$LOG_FILE.1"
    fi
    printf '\n===== kafka.sh start %s (Kafka %s, %s) =====\n' "$(date -Is)" "$KAFKA_VERSION" "$BOOTSTRAP" >>"$LOG_FILE"
    format_storage
    # setsid: the broker gets its own session, so Ctrl-C in the calling shell does not
    # reach it; the inner shell records its own pid, then becomes the JVM via exec.
    # shellcheck disable=SC2086
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
      "$JAVA" -server $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -Djava.awt.headless=true \
      -Dpfm.log.level=INFO -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
      -Dkafka.logs.dir="$LOG_DIR" \
      -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG_FILE" \
      </dev/null >>"$LOG_FILE" 2>&1 9>&- &
    local i
    for i in $(seq 1 50); do
      [[ -s "$PID_FILE" ]] && break
      sleep 0.1
    done
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ -n "$pid" ]] || die "broker did not start (no pid file); see $LOG_FILE"
    say "started broker process $pid (log: $LOG_FILE); waiting up to ${START_TIMEOUT}s for it to answer"
  fi

  local out rc=0
  if [[ "$SASL" == 1 ]]; then
    # As the admin over PLAIN (a new data dir has no SCRAM credentials yet); once the broker
    # answers, this puts every principal's SCRAM credential and the ACLs in place.
    local plain
    plain="$(mktemp "$SECRETS_DIR/.plain.XXXXXX")"
    admin_plain_properties >"$plain"
    out="$(ADMIN_PROPERTIES="$plain" probe "$START_TIMEOUT" "$pid" "$PASSWORDS_FILE" "$ACLS_FILE" 2>&1)" || rc=$?
    rm -f "$plain"
  else
    out="$(probe "$START_TIMEOUT" "$pid" 2>&1)" || rc=$?
  fi
  if (( rc != 0 )); then
    err "$out"
    err "last lines of $LOG_FILE:"
    tail -n 40 "$LOG_FILE" >&2 || true
    if kill -0 "$pid" 2>/dev/null; then
      err "broker process $pid is still running but not ready; stop it with: $0 stop"
    fi
    die "Kafka $KAFKA_VERSION did not become ready at $BOOTSTRAP"
  fi
  say "$out"
  say "Kafka $KAFKA_VERSION ready at $BOOTSTRAP in $(elapsed "$t0")s$([[ "$SASL" == 1 ]] && printf ' (%s, SCRAM-SHA-512, ACLs from %s, passwords in %s%s)' "$CLIENT_PROTOCOL" "$ACLS_FILE" "$PASSWORDS_FILE" "$([[ "$TLS" == 1 ]] && printf ', clients trust %s' "$CA_CRT")")"
  printf 'KAFKA_BOOTSTRAP=%s\n' "$BOOTSTRAP"
}

cmd_stop() {
  local pid
  lock_state
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    if port_open "$KAFKA_PORT"; then
      say "not stopping: something answers on $BOOTSTRAP but it was not started from $KSTATE"
    else
      say "not running"
    fi
    return 0
  fi
  local t0 waited=0
  t0="$(now)"
  say "stopping broker process $pid (SIGTERM, up to ${STOP_TIMEOUT}s)"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= STOP_TIMEOUT * 10 )); then
      err "broker $pid still running after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  say "stopped in $(elapsed "$t0")s"
}

cmd_status() {
  # Settings made for another protocol (a broker started before TLS was the default) are
  # not ours: "down", so that `start` looks closer and says what to do.
  if [[ "$SASL" == 1 && -f "$ADMIN_PROPERTIES" ]] && ! grep -qx "security.protocol=$CLIENT_PROTOCOL" "$ADMIN_PROPERTIES"; then
    echo "down"
    say "$ADMIN_PROPERTIES is not for $CLIENT_PROTOCOL (made for a broker with other settings): run $0 start" >&2
    return 1
  fi
  if port_open "$KAFKA_PORT" && cache_complete && probe 5 >/dev/null 2>&1; then
    echo "up"
    say "broker answers at $BOOTSTRAP" >&2
    return 0
  fi
  echo "down"
  if port_open "$KAFKA_PORT" && ! cache_complete; then
    say "port $KAFKA_PORT is open but the Kafka $KAFKA_VERSION jars are not cached, so it was not asked (run: $0 fetch)" >&2
  fi
  local pid
  if pid="$(running_pid)"; then
    say "process $pid is running but the broker does not answer at $BOOTSTRAP (starting?)" >&2
  fi
  return 1
}

# The secrets, TLS material and SASL tool of a broker that runs elsewhere (a container of
# a test stack, @pfm/testkit): the same passwords file, admin settings, CA and broker
# certificate as a native start makes, in this state dir, for PFM_KAFKA_PORT.
cmd_prepare() {
  [[ "$SASL" == 1 ]] || die "prepare is for a broker with SASL (PFM_KAFKA_SASL=1)"
  lock_state
  cmd_fetch >/dev/null
  ensure_secrets
  ensure_tls
  compile_security
  printf 'PASSWORDS_FILE=%s\n' "$PASSWORDS_FILE"
  [[ "$TLS" == 1 ]] && printf 'BROKER_PEM=%s\nCA_CRT=%s\n' "$BROKER_PEM" "$CA_CRT"
  return 0
}

# Once a prepared broker answers at $BOOTSTRAP: every principal's SCRAM credential and
# the ACLs of acls.txt, as the admin over PLAIN, exactly as a native start does.
cmd_secure() {
  [[ "$SASL" == 1 ]] || die "secure is for a broker with SASL (PFM_KAFKA_SASL=1)"
  [[ -f "$ADMIN_PROPERTIES" ]] || die "no admin settings at $ADMIN_PROPERTIES: run $0 prepare first"
  local plain out rc=0
  plain="$(mktemp "$SECRETS_DIR/.plain.XXXXXX")"
  admin_plain_properties >"$plain"
  out="$(ADMIN_PROPERTIES="$plain" probe "$START_TIMEOUT" 0 "$PASSWORDS_FILE" "$ACLS_FILE" 2>&1)" || rc=$?
  rm -f "$plain"
  (( rc == 0 )) || die "could not put the SCRAM credentials and ACLs in place at $BOOTSTRAP: $out"
  say "$out"
}

cmd_logs() {
  [[ -f "$LOG_FILE" ]] || die "no log yet at $LOG_FILE"
  if [[ "${1:-}" == "-f" ]]; then
    exec tail -n 100 -F "$LOG_FILE"
  fi
  tail -n "${1:-200}" "$LOG_FILE"
}

usage() {
  cat <<EOF
usage: $(basename "$0") fetch | start | stop | status | logs [-f|N] | prepare | secure

  fetch    copy the Kafka $KAFKA_VERSION jars from Maven into $LIBS_DIR (skipped when cached)
  start    fetch if needed, format storage once, start the broker, wait until it answers
  stop     stop the broker started by this script (SIGTERM, SIGKILL after ${STOP_TIMEOUT}s)
  status   print "up" and exit 0 if the broker answers at $BOOTSTRAP, else "down", exit 1
  logs     print the last lines of $LOG_FILE (-f to follow, N for N lines)
  prepare  passwords, admin settings, CA and broker certificate for a broker run elsewhere
           (a test container) on PFM_KAFKA_PORT, in PFM_STATE_DIR
  secure   put the SCRAM credentials and ACLs in place on that broker once it answers

environment: PFM_KAFKA_VERSION PFM_KAFKA_PORT PFM_KAFKA_CONTROLLER_PORT PFM_CACHE_DIR
             PFM_KAFKA_SASL (1|0) PFM_KAFKA_TLS (1|0) PFM_KAFKA_ACLS_FILE PFM_STATE_DIR PFM_KAFKA_HEAP_OPTS PFM_KAFKA_START_TIMEOUT PFM_KAFKA_STOP_TIMEOUT JAVA_HOME
EOF
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  prepare) cmd_prepare ;;
  secure) cmd_secure ;;
  help | -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
