#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) from the official jars on
# Maven Central, for local development and CI on machines without Docker.
#
#   infra/kafka/kafka.sh fetch | start | stop | status | logs [-f] | help
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

# Ask the broker itself whether it is ready: exit status of the probe.
probe() { # probe TIMEOUT_SECONDS [PID]
  "$JAVA" -Xmx64m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dpfm.log.level=ERROR -Dpfm.netclient.level=ERROR -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
    -cp "$LIBS_DIR/*:$PROBE_DIR" KafkaProbe "$BOOTSTRAP" "$@"
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
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" \
      -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
      -e "s#@DATA_DIR@#$DATA_DIR#g" \
      "$SCRIPT_DIR/server.properties.template" >"$CONFIG_FILE"
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
  if port_open "$KAFKA_PORT" && probe 5 >/dev/null 2>&1; then
    say "already up at $BOOTSTRAP (nothing to do)"
    printf 'KAFKA_BOOTSTRAP=%s\n' "$BOOTSTRAP"
    return 0
  fi
  mkdir -p "$KSTATE" "$LOG_DIR"

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
  out="$(probe "$START_TIMEOUT" "$pid" 2>&1)" || rc=$?
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
  say "Kafka $KAFKA_VERSION ready at $BOOTSTRAP in $(elapsed "$t0")s"
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

cmd_logs() {
  [[ -f "$LOG_FILE" ]] || die "no log yet at $LOG_FILE"
  if [[ "${1:-}" == "-f" ]]; then
    exec tail -n 100 -F "$LOG_FILE"
  fi
  tail -n "${1:-200}" "$LOG_FILE"
}

usage() {
  cat <<EOF
usage: $(basename "$0") fetch | start | stop | status | logs [-f|N]

  fetch    copy the Kafka $KAFKA_VERSION jars from Maven into $LIBS_DIR (skipped when cached)
  start    fetch if needed, format storage once, start the broker, wait until it answers
  stop     stop the broker started by this script (SIGTERM, SIGKILL after ${STOP_TIMEOUT}s)
  status   print "up" and exit 0 if the broker answers at $BOOTSTRAP, else "down", exit 1
  logs     print the last lines of $LOG_FILE (-f to follow, N for N lines)

environment: PFM_KAFKA_VERSION PFM_KAFKA_PORT PFM_KAFKA_CONTROLLER_PORT PFM_CACHE_DIR
             PFM_STATE_DIR PFM_KAFKA_HEAP_OPTS PFM_KAFKA_START_TIMEOUT PFM_KAFKA_STOP_TIMEOUT JAVA_HOME
EOF
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  help | -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
