#!/usr/bin/env bash
# Apicurio Registry (upstream server distribution from Maven Central) run natively on the
# JVM, exposing the Confluent-compatible API that @kafkajs/confluent-schema-registry talks
# to. No Docker. Storage is durable by default: Apicurio's KafkaSQL storage journals every
# change in the topic pfm-registry-journal on our local broker (infra/kafka/kafka.sh), so
# schema ids survive restarts like the events that carry them. Kafka must be up first.
#
#   infra/schema-registry/registry.sh build [--force] | start | stop | status | logs [-f|N] | url | help
#
# See infra/schema-registry/README.md for details and the environment variables.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

# The default version lives in pom.xml (<registry.version>), the single place to bump it.
DEFAULT_VERSION="$(sed -n 's#.*<registry.version>\(.*\)</registry.version>.*#\1#p' "$SCRIPT_DIR/pom.xml" | head -n 1)"
VERSION="${PFM_REGISTRY_VERSION:-$DEFAULT_VERSION}"
PORT="${PFM_REGISTRY_PORT:-8081}"
# Quarkus management interface (/health, /metrics); always on in this build of the app.
MGMT_PORT="${PFM_REGISTRY_MGMT_PORT:-$((PORT + 1000))}"
CACHE_ROOT="${PFM_CACHE_DIR:-$HOME/.cache/pfm}"
STATE_ROOT="${PFM_STATE_DIR:-$REPO_ROOT/.stack}"
HEAP_OPTS="${PFM_REGISTRY_HEAP_OPTS:--Xms64m -Xmx512m}"
START_TIMEOUT="${PFM_REGISTRY_START_TIMEOUT:-90}"
STOP_TIMEOUT="${PFM_REGISTRY_STOP_TIMEOUT:-20}"
# Default compatibility rule for every subject (Confluent's own default is BACKWARD).
# Set to NONE to accept any change.
COMPATIBILITY="${PFM_REGISTRY_COMPATIBILITY:-BACKWARD}"
EXTRA_JAVA_OPTS="${PFM_REGISTRY_JAVA_OPTS:-}"
# Storage: "kafkasql" (default, durable: every change is journalled in a Kafka topic on
# our broker and replayed on start, so schema ids survive restarts) or "mem" (in-memory
# H2, everything is lost on stop; no Kafka needed).
STORAGE="${PFM_REGISTRY_STORAGE:-kafkasql}"
KAFKA_BOOTSTRAP="${PFM_REGISTRY_KAFKA_BOOTSTRAP:-127.0.0.1:${PFM_KAFKA_PORT:-9092}}"
TOPIC_PREFIX="${PFM_REGISTRY_TOPIC_PREFIX:-pfm-registry}"
JOURNAL_TOPIC="$TOPIC_PREFIX-journal"
SNAPSHOTS_TOPIC="$TOPIC_PREFIX-snapshots"
EVENTS_TOPIC="$TOPIC_PREFIX-events"
KAFKA_WAIT="${PFM_REGISTRY_KAFKA_WAIT:-0}"
POLL_MS="${PFM_REGISTRY_KAFKA_POLL_MS:-500}"
# KafkaSQL storage authenticates to the broker (SASL/SCRAM-SHA-512) as the "registry"
# principal when the broker runs with SASL (PFM_KAFKA_SASL, default 1): its password comes
# from PFM_REGISTRY_KAFKA_PASSWORD, else from the broker's secrets that infra/kafka/kafka.sh
# made ($PFM_STATE_DIR/kafka/secrets/passwords).
KAFKA_SASL="${PFM_KAFKA_SASL:-1}"
KAFKA_USER="${PFM_REGISTRY_KAFKA_USERNAME:-registry}"
KAFKA_PASSWORDS_FILE="${PFM_KAFKA_PASSWORDS_FILE:-$STATE_ROOT/kafka/secrets/passwords}"
# With TLS on the broker (PFM_KAFKA_TLS, default 1, with SASL only) it connects over
# SASL_SSL and trusts the CA of KAFKA_SSL_CA_FILE (default: the local CA kafka.sh made).
KAFKA_TLS="${PFM_KAFKA_TLS:-1}"
[[ "$KAFKA_SASL" == 1 ]] || KAFKA_TLS=0
KAFKA_CA_FILE="${KAFKA_SSL_CA_FILE:-$STATE_ROOT/kafka/tls/ca.crt}"
# Authentication on the HTTP API (default on): HTTP basic auth against users embedded in
# the app's config (Quarkus elytron-security-properties-file, hashed passwords), and
# Apicurio's role-based authorization with the roles taken from those users. 0 = the old
# open API (anyone on the machine may read and register schemas).
AUTH="${PFM_REGISTRY_AUTH:-1}"
[[ "$AUTH" == 0 || "$AUTH" == 1 ]] || { printf 'schema-registry: ERROR: PFM_REGISTRY_AUTH=%s: expected 1 or 0\n' "$AUTH" >&2; exit 2; }
# The principals and their Apicurio roles: sr-developer may register schemas (ingest, which
# registers the live flow-event schema; replay, which registers its sandboxes' subjects;
# test, the tests' and local tools' principal), sr-readonly may only read and look up ids
# (the services that write flow events with the schema ingest registered), sr-admin may
# change the global rules (operators; registry.sh's own readiness check).
PRINCIPALS=(admin:sr-admin ingest:sr-developer replay:sr-developer test:sr-developer engine:sr-readonly gateway:sr-readonly insights:sr-readonly)

HOST=127.0.0.1
API_PATH=/apis/ccompat/v7
URL="http://$HOST:$PORT$API_PATH"
HOME_DIR="$CACHE_ROOT/schema-registry-$VERSION"
APP_DIR="$HOME_DIR/quarkus-app"
RUN_JAR="$APP_DIR/quarkus-run.jar"
RSTATE="$STATE_ROOT/schema-registry"
LOG_DIR="$RSTATE/logs"
LOG_FILE="$LOG_DIR/registry.log"
BUILD_LOG="$LOG_DIR/build.log"
PID_FILE="$RSTATE/registry.pid"
LOCK_FILE="$RSTATE/.lock"
# Kafka client settings with the registry's password (mode 600), read by Quarkus as an
# extra config source so the password is never on the command line.
KAFKA_CLIENT_CONFIG="$RSTATE/kafka-client.properties"
TMP_DIR="$RSTATE/tmp"
# Secrets (mode 600 in a mode 700 dir, never committed): one "name password" line per
# principal; the users and roles as Quarkus config (MD5 digests of the passwords, as the
# embedded realm stores them); the admin's login for curl (-K, so never on a command line).
SECRETS_DIR="$RSTATE/secrets"
PASSWORDS_FILE="${PFM_REGISTRY_PASSWORDS_FILE:-$SECRETS_DIR/passwords}"
USERS_CONFIG="$SECRETS_DIR/users.properties"
CURL_ADMIN="$SECRETS_DIR/curl-admin.conf"

say() { printf 'schema-registry: %s\n' "$*"; }
err() { printf 'schema-registry: ERROR: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"; }

# Apicurio 3.x jars target Java 21; 2.x ran on 17.
min_java() { case "$VERSION" in 2.*) echo 17 ;; *) echo 21 ;; esac; }

java_major() {
  local v
  v="$("$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ { print $2 }')" || true
  printf '%s' "${v%%.*}"
}

# First Java that is new enough: PFM_REGISTRY_JAVA, $JAVA_HOME, java on PATH, then the
# JDKs under /usr/lib/jvm (newest first). The default Java 17 on these machines is too old
# for Apicurio 3.x, the Temurin JDK next to it is not.
find_java() {
  local want c m
  want="$(min_java)"
  if [[ -n "${PFM_REGISTRY_JAVA:-}" ]]; then
    [[ -x "$PFM_REGISTRY_JAVA" ]] || die "PFM_REGISTRY_JAVA=$PFM_REGISTRY_JAVA is not executable"
    m="$(java_major "$PFM_REGISTRY_JAVA")"
    [[ -n "$m" ]] && (( m >= want )) || die "PFM_REGISTRY_JAVA is Java ${m:-?}; Apicurio $VERSION needs Java $want+"
    printf '%s' "$PFM_REGISTRY_JAVA"; return 0
  fi
  local candidates=()
  [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  if [[ -d /usr/lib/jvm ]]; then
    while IFS= read -r c; do candidates+=("$c"); done \
      < <(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV)
  fi
  for c in "${candidates[@]}"; do
    m="$(java_major "$c")"
    if [[ -n "$m" ]] && (( m >= want )); then printf '%s' "$c"; return 0; fi
  done
  die "Apicurio Registry $VERSION needs Java $want+; none found (tried: ${candidates[*]:-nothing}). Set PFM_REGISTRY_JAVA or JAVA_HOME."
}

# Storage-specific -D properties, into the array "storage".
storage_props() {
  case "$STORAGE" in
    kafkasql)
      storage=(
        -Dapicurio.storage.kind=kafkasql
        -Dapicurio.kafkasql.bootstrap.servers="$KAFKA_BOOTSTRAP"
        # Journal: every write, replayed from offset 0 into the in-memory H2 on start.
        # Apicurio creates it if missing with 1 partition, cleanup.policy=delete,
        # retention.ms=-1, retention.bytes=-1, and refuses to start if an existing topic
        # could lose data. Replication factor: Apicurio uses min(3, live brokers) = 1 on
        # our single node, and min.insync.replicas = max(rf - 1, 1) = 1. Do NOT set
        # apicurio.kafkasql.topic.replication.factor: 3.3.3 passes it on to the broker as
        # a topic config too, and the broker rejects it ("Unknown topic config name").
        -Dapicurio.kafkasql.topic="$JOURNAL_TOPIC"
        -Dapicurio.kafkasql.topic.auto-create=true
        -Dapicurio.kafkasql.topic.partitions=1
        # The two other topics the KafkaSQL storage creates at start (same settings):
        # snapshots (stays empty unless a snapshot is requested through the admin API)
        # and registry change events (upstream default name "registry-events").
        -Dapicurio.kafkasql.snapshots.topic="$SNAPSHOTS_TOPIC"
        -Dapicurio.events.kafka.topic="$EVENTS_TOPIC"
        # Start-up runs two short consumers (topic verification, snapshot lookup) that
        # each wait out one or two empty polls: 5 s upstream = ~15 s of idle start time.
        -Dapicurio.kafkasql.consumer.poll.timeout="$POLL_MS"
        # Its consumer groups (a new one each start) under the prefix its ACLs allow.
        -Dapicurio.kafkasql.consumer.group-prefix="$TOPIC_PREFIX-"
      )
      if [[ "$KAFKA_SASL" == 1 ]]; then
        write_kafka_client_config
        config_locations+=("$KAFKA_CLIENT_CONFIG")
      fi
      ;;
    mem)
      storage=(-Dapicurio.storage.kind=sql)
      ;;
    *) die "PFM_REGISTRY_STORAGE=$STORAGE: expected kafkasql or mem" ;;
  esac
}

# SASL settings for the KafkaSQL storage's producer, consumer and admin client.
write_kafka_client_config() {
  local pw="${PFM_REGISTRY_KAFKA_PASSWORD:-}"
  if [[ -z "$pw" && -f "$KAFKA_PASSWORDS_FILE" ]]; then
    pw="$(awk -v n="$KAFKA_USER" '$1 == n { print $2 }' "$KAFKA_PASSWORDS_FILE")"
  fi
  [[ -n "$pw" ]] || die "Kafka runs with SASL (PFM_KAFKA_SASL=1) but there is no password for the '$KAFKA_USER' principal: set PFM_REGISTRY_KAFKA_PASSWORD, or start the broker with infra/kafka/kafka.sh first (it makes $KAFKA_PASSWORDS_FILE)"
  mkdir -p "$RSTATE"
  local jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$KAFKA_USER\" password=\"$pw\";"
  local client protocol=SASL_PLAINTEXT
  if [[ "$KAFKA_TLS" == 1 ]]; then
    protocol=SASL_SSL
    [[ -s "$KAFKA_CA_FILE" ]] || die "Kafka runs with TLS (PFM_KAFKA_TLS=1) but there is no CA certificate at $KAFKA_CA_FILE: set KAFKA_SSL_CA_FILE, or start the broker with infra/kafka/kafka.sh first (it makes the local CA)"
  fi
  (umask 077
   : >"$KAFKA_CLIENT_CONFIG"
   for client in producer consumer admin; do
     printf '%s\n' \
       "apicurio.kafkasql.$client.security.protocol=$protocol" \
       "apicurio.kafkasql.$client.sasl.mechanism=SCRAM-SHA-512" \
       "apicurio.kafkasql.$client.sasl.jaas.config=$jaas" >>"$KAFKA_CLIENT_CONFIG"
     if [[ "$KAFKA_TLS" == 1 ]]; then
       printf '%s\n' "apicurio.kafkasql.$client.ssl.truststore.type=PEM" \
         "apicurio.kafkasql.$client.ssl.truststore.location=$KAFKA_CA_FILE" >>"$KAFKA_CLIENT_CONFIG"
     fi
   done)
  chmod 600 "$KAFKA_CLIENT_CONFIG"
}

storage_desc() {
  if [[ "$STORAGE" == kafkasql ]]; then printf 'kafkasql topic %s on %s%s' "$JOURNAL_TOPIC" "$KAFKA_BOOTSTRAP" "$([[ "$KAFKA_SASL" == 1 ]] && printf ' as %s (%s, SCRAM-SHA-512)' "$KAFKA_USER" "$([[ "$KAFKA_TLS" == 1 ]] && echo SASL_SSL || echo SASL_PLAINTEXT)")"
  else printf 'in-memory'; fi
}

# 0 when something accepts TCP connections on any host:port of the bootstrap list.
kafka_reachable() {
  local hp hps
  IFS=',' read -r -a hps <<<"$KAFKA_BOOTSTRAP"
  for hp in "${hps[@]}"; do
    (exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}") 2>/dev/null && return 0
  done
  return 1
}

# KafkaSQL storage keeps its data in Kafka: refuse to start without a broker (the app
# would otherwise retry for minutes and then die). PFM_REGISTRY_KAFKA_WAIT=N waits N s.
require_kafka() {
  [[ "$STORAGE" == kafkasql ]] || return 0
  local deadline=$((SECONDS + KAFKA_WAIT))
  until kafka_reachable; do
    if (( SECONDS >= deadline )); then
      die "Kafka is not reachable at $KAFKA_BOOTSTRAP; the registry keeps its schemas in the Kafka topic '$JOURNAL_TOPIC' (PFM_REGISTRY_STORAGE=kafkasql), so start the broker first: infra/kafka/kafka.sh start (or infra/stack.sh up, which starts both in order). PFM_REGISTRY_STORAGE=mem runs without Kafka, but then every schema and id is lost on stop."
    fi
    sleep 0.5
  done
}

new_password() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
password_of() { awk -v n="$1" '$1 == n { print $2 }' "$PASSWORDS_FILE"; }

# Passwords for every principal, made at the first start (and for a principal added
# later); existing ones are kept. Then the users config and the admin's curl login.
ensure_secrets() {
  [[ "$AUTH" == 1 ]] || return 0
  (umask 077; mkdir -p "$SECRETS_DIR"; touch "$PASSWORDS_FILE")
  chmod 700 "$SECRETS_DIR"; chmod 600 "$PASSWORDS_FILE"
  local pr name role pw
  for pr in "${PRINCIPALS[@]}"; do
    name="${pr%%:*}"
    grep -q "^$name " "$PASSWORDS_FILE" || printf '%s %s\n' "$name" "$(new_password)" >>"$PASSWORDS_FILE"
  done
  (umask 077
   {
     echo "# Made by registry.sh from $PASSWORDS_FILE: the registry's users and their roles."
     echo "quarkus.security.users.embedded.plain-text=false"
     echo "quarkus.security.users.embedded.algorithm=digest-md5"
     for pr in "${PRINCIPALS[@]}"; do
       name="${pr%%:*}"; role="${pr#*:}"; pw="$(password_of "$name")"
       # The embedded realm's digest: hex MD5 of "user:realm:password" (realm "Quarkus").
       printf 'quarkus.security.users.embedded.users.%s=%s\n' "$name" "$(printf '%s:Quarkus:%s' "$name" "$pw" | md5sum | cut -d' ' -f1)"
       printf 'quarkus.security.users.embedded.roles.%s=%s\n' "$name" "$role"
     done
   } >"$USERS_CONFIG"
   printf 'user = "admin:%s"\n' "$(password_of admin)" >"$CURL_ADMIN")
  chmod 600 "$USERS_CONFIG" "$CURL_ADMIN"
}

# HTTP status of an API request: as the admin with AUTH=1 (anonymous = "anon" as $1).
api_code() { # [anon] path
  local login=()
  if [[ "$1" == anon ]]; then shift; elif [[ "$AUTH" == 1 && -f "$CURL_ADMIN" ]]; then login=(-K "$CURL_ADMIN"); fi
  curl -s -o /dev/null -m 2 -w '%{http_code}' "${login[@]}" "$URL$1" 2>/dev/null || true
}

# 0 when the Confluent-compatible API answers on our port (to the admin, with AUTH=1).
api_up() {
  [[ "$(api_code /subjects)" == 200 ]]
}

# A registry started with the other authentication setting answers, but not as we expect:
# say so instead of treating the port as taken by something else or waiting.
check_auth_setting() {
  local anon
  anon="$(api_code anon /subjects)"
  if [[ "$AUTH" == 1 && "$anon" == 200 ]]; then
    die "a registry WITHOUT authentication answers at $URL (started before authentication was the default, or with PFM_REGISTRY_AUTH=0): stop it so it restarts with authentication (infra/stack.sh down then up, or $0 stop then start), or set PFM_REGISTRY_AUTH=0"
  fi
  if [[ "$AUTH" == 0 && "$anon" == 401 ]]; then
    die "the registry at $URL requires authentication but PFM_REGISTRY_AUTH=0: stop it ($0 stop) or unset PFM_REGISTRY_AUTH"
  fi
  if [[ "$AUTH" == 1 && "$anon" == 401 ]] && ! api_up; then
    die "the registry at $URL refuses the admin login of $PASSWORDS_FILE (started from another state dir?): stop it ($0 stop from where it was started)"
  fi
}

# 0 when the API answers AND Quarkus reports ready (storage included: with kafkasql the
# journal has been replayed up to the bootstrap marker this instance wrote).
ready() {
  api_up || return 1
  local code
  code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$HOST:$MGMT_PORT/health/ready" 2>/dev/null)" || true
  [[ "$code" == 200 ]]
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Pid from the pid file if that process is still the registry this script started.
our_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *quarkus-run.jar* ]] || return 1
  printf '%s' "$pid"
}

with_lock() {
  mkdir -p "$RSTATE"
  exec 9>"$LOCK_FILE"
  flock -w 600 9 || die "timed out waiting for another registry.sh to finish ($LOCK_FILE)"
}

log_tail() {
  local f="${1:-$LOG_FILE}"
  if [[ -f "$f" ]]; then
    err "last lines of $f:"
    tail -n "${2:-40}" "$f" | sed 's/^/    /' >&2
  fi
}

cmd_build() {
  local arg="${1:-}"
  if [[ "$arg" == --force ]]; then
    our_pid >/dev/null && die "the registry is running from $APP_DIR; stop it before 'build --force'"
    rm -rf "$APP_DIR" "$HOME_DIR/maven"
  elif [[ -f "$RUN_JAR" ]]; then
    [[ "$arg" == --quiet ]] || say "Apicurio Registry $VERSION already built: $APP_DIR"
    return 0
  fi
  need mvn "Maven fetches the registry distribution"
  need curl "used to probe the HTTP API"
  mkdir -p "$LOG_DIR" "$HOME_DIR"
  local t0 partial="$HOME_DIR/quarkus-app.partial"
  t0="$(now)"
  say "fetching Apicurio Registry $VERSION (quarkus-app) into $HOME_DIR ..."
  rm -rf "$partial" "$HOME_DIR/maven"
  if ! mvn -B -q -ntp -f "$SCRIPT_DIR/pom.xml" package \
      -Dregistry.version="$VERSION" -DbuildDir="$HOME_DIR" -DunpackDir="$partial" \
      >"$BUILD_LOG" 2>&1; then
    log_tail "$BUILD_LOG" 60
    die "build of Apicurio Registry $VERSION failed (full log: $BUILD_LOG)"
  fi
  [[ -f "$partial/quarkus-run.jar" ]] || die "build finished but $partial/quarkus-run.jar is missing"
  rm -rf "$APP_DIR"
  mv "$partial" "$APP_DIR"   # atomic: a half-unpacked tree never looks runnable
  say "built in $(elapsed "$t0")s: $RUN_JAR"
}

cmd_start() {
  need curl "used to probe the HTTP API"
  # Under the lock: two first starts at once must not both add a principal's password.
  # (A start that waited for another one's finds the registry up below.)
  with_lock
  ensure_secrets
  check_auth_setting
  if api_up; then
    say "already up: SCHEMA_REGISTRY_URL=$URL"
    return 0
  fi
  local t0 pid java
  t0="$(now)"
  pid="$(our_pid)" || pid=""
  if [[ -z "$pid" ]]; then
    rm -f "$PID_FILE"
    check_auth_setting
    port_open "$PORT" && die "port $PORT is in use by something that is not a schema registry (no 200 from $URL/subjects); set PFM_REGISTRY_PORT"
    port_open "$MGMT_PORT" && die "management port $MGMT_PORT is in use; set PFM_REGISTRY_MGMT_PORT"
    local storage=() config_locations=()
    storage_props
    require_kafka
    cmd_build --quiet
    java="$(find_java)"
    mkdir -p "$LOG_DIR" "$TMP_DIR"
    [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
    local props=(
      # HTTP: loopback only; separate management port for /health and /metrics.
      -Dquarkus.http.host="$HOST"
      -Dquarkus.http.port="$PORT"
      -Dquarkus.management.host="$HOST"
      -Dquarkus.management.port="$MGMT_PORT"
      # Storage: see storage_props (kafkasql journal by default, or in-memory).
      "${storage[@]}"
      # The in-memory H2 database: the whole store with STORAGE=mem, and the KafkaSQL
      # storage's working copy (rebuilt from the journal topic on every start) otherwise.
      -Dapicurio.storage.sql.kind=h2
      -Dapicurio.datasource.url="jdbc:h2:mem:pfm_registry"
      -Dapicurio.datasource.jdbc.initial-size=2
      -Dapicurio.datasource.jdbc.min-size=2
      -Dapicurio.datasource.jdbc.max-size=20
      -Dapicurio.storage.snapshot.location="$TMP_DIR"
      -Dapicurio.import.work-dir="$TMP_DIR"
      # Confluent API: ids are content ids (one id per distinct schema, as Confluent does).
      -Dapicurio.ccompat.legacy-id-mode.enabled=false
      # No OIDC server: with PFM_REGISTRY_AUTH=1 (below) HTTP basic auth against the
      # embedded users; no telemetry export.
      -Dquarkus.oidc.tenant-enabled=false
      -Dapicurio.authn.basic-client-credentials.enabled=false
      -Dquarkus.otel.sdk.disabled=true
      -Dquarkus.banner.enabled=false
      "-Dquarkus.log.console.format=%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n"
      -Djava.io.tmpdir="$TMP_DIR"
    )
    if [[ "$AUTH" == 1 ]]; then
      # HTTP basic auth (Apicurio turns authentication on when quarkus.http.auth.basic is
      # true; Quarkus warns that it is build-time fixed, Apicurio reads it at run time) with
      # the users and roles of $USERS_CONFIG; role-based authorization, roles from the
      # identity ("token"): sr-readonly reads, sr-developer also writes, sr-admin all.
      props+=(
        -Dquarkus.http.auth.basic=true
        -Dapicurio.auth.role-based-authorization=true
        -Dapicurio.auth.role-source=token
      )
      config_locations+=("$USERS_CONFIG")
    else
      props+=(-Dapicurio.auth.role-based-authorization=false)
    fi
    if (( ${#config_locations[@]} > 0 )); then
      props+=(-Dquarkus.config.locations="$(IFS=,; echo "${config_locations[*]}")")
    fi
    if [[ -n "$COMPATIBILITY" && "$COMPATIBILITY" != NONE ]]; then
      props+=(-Dapicurio.rules.global.compatibility="$COMPATIBILITY")
    fi
    # shellcheck disable=SC2086  # HEAP_OPTS / EXTRA_JAVA_OPTS are word lists on purpose
    (cd "$RSTATE" && exec setsid "$java" $HEAP_OPTS -XX:+UseSerialGC "${props[@]}" $EXTRA_JAVA_OPTS \
        -jar "$RUN_JAR" </dev/null >>"$LOG_FILE" 2>&1 9>&-) &
    pid=$!
    echo "$pid" > "$PID_FILE"
    say "starting Apicurio Registry $VERSION (pid $pid, storage $(storage_desc), $("$java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.home/ { print $2 }'), log $LOG_FILE)"
  else
    say "registry process $pid already running, waiting for it to answer"
  fi

  local deadline=$((SECONDS + START_TIMEOUT))
  until ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      log_tail "$LOG_FILE" 60
      die "registry process $pid exited before the API answered"
    fi
    if (( SECONDS >= deadline )); then
      log_tail "$LOG_FILE" 60
      die "no answer from $URL/subjects after ${START_TIMEOUT}s (process $pid left running; '$0 stop' ends it)"
    fi
    sleep 0.25
  done
  say "up in $(elapsed "$t0")s: SCHEMA_REGISTRY_URL=$URL"
}

cmd_stop() {
  with_lock
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PID_FILE"
    if api_up; then
      say "not started by this script, leaving it alone (something else answers on $URL)"
    else
      say "not running"
    fi
    return 0
  fi
  local t0
  t0="$(now)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS >= deadline )); then
      err "pid $pid still running after ${STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  say "stopped (pid $pid) in $(elapsed "$t0")s"
}

cmd_status() {
  if [[ "$AUTH" == 1 && "$(api_code anon /subjects)" == 200 ]]; then
    echo "up WITHOUT authentication $URL (PFM_REGISTRY_AUTH=1 expects it on: stop and start it)"
    return 1
  fi
  if api_up; then
    local pid
    pid="$(our_pid)" || pid="not started by registry.sh"
    echo "up $URL (pid $pid)"
    return 0
  fi
  if pid="$(our_pid)"; then
    echo "down (process $pid running but the API does not answer yet)"
  else
    echo "down"
  fi
  return 1
}

cmd_logs() {
  [[ -f "$LOG_FILE" ]] || die "no log yet at $LOG_FILE"
  case "${1:-}" in
    -f) exec tail -n 50 -F "$LOG_FILE" ;;
    '') tail -n 100 "$LOG_FILE" ;;
    *) tail -n "$1" "$LOG_FILE" ;;
  esac
}

usage() {
  cat <<EOF
usage: $0 build [--force] | start | stop | status | logs [-f|N] | url | prepare | help

  build    fetch + unpack Apicurio Registry $VERSION into $HOME_DIR (skipped when present)
  start    build if needed, start on $HOST:$PORT, wait until $URL answers and the
           storage is ready (storage: $(storage_desc); Kafka must be up)
  stop     stop the process this script started (SIGTERM, SIGKILL after ${STOP_TIMEOUT}s)
  status   exit 0 and print "up ..." when the API answers, else exit 1
  logs     last 100 log lines (N lines, or -f to follow)
  url      print the SCHEMA_REGISTRY_URL for this port
  prepare  the logins (passwords, users and roles) for a registry run elsewhere (a test container)

env: PFM_REGISTRY_VERSION PFM_REGISTRY_PORT PFM_REGISTRY_MGMT_PORT PFM_CACHE_DIR PFM_STATE_DIR
     PFM_REGISTRY_HEAP_OPTS PFM_REGISTRY_START_TIMEOUT PFM_REGISTRY_STOP_TIMEOUT
     PFM_REGISTRY_COMPATIBILITY PFM_REGISTRY_JAVA PFM_REGISTRY_JAVA_OPTS
     PFM_REGISTRY_STORAGE (kafkasql|mem) PFM_KAFKA_PORT PFM_REGISTRY_KAFKA_BOOTSTRAP
     PFM_REGISTRY_TOPIC_PREFIX PFM_REGISTRY_KAFKA_WAIT PFM_REGISTRY_KAFKA_POLL_MS
     PFM_KAFKA_SASL (1|0) PFM_REGISTRY_KAFKA_USERNAME PFM_REGISTRY_KAFKA_PASSWORD PFM_KAFKA_PASSWORDS_FILE
     PFM_KAFKA_TLS (1|0) KAFKA_SSL_CA_FILE PFM_REGISTRY_AUTH (1|0) PFM_REGISTRY_PASSWORDS_FILE
EOF
}

case "${1:-help}" in
  build) shift; with_lock; cmd_build "${1:-}" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "${1:-}" ;;
  url) echo "$URL" ;;
  # The logins (passwords and the users/roles config) for a registry run elsewhere (a test
  # container, @pfm/testkit), in PFM_STATE_DIR: the same principals and roles as a native start.
  prepare) [[ "$AUTH" == 1 ]] || die "prepare is for a registry with logins (PFM_REGISTRY_AUTH=1)"
    ensure_secrets; printf 'PASSWORDS_FILE=%s\nUSERS_CONFIG=%s\n' "$PASSWORDS_FILE" "$USERS_CONFIG" ;;
  help|-h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
