#!/usr/bin/env bash
# The local stack: Redis, Kafka (single-node KRaft from Maven jars) and the schema
# registry. `up` starts only what is missing and records what it started, so `down`
# stops exactly that; both are safe to run twice. Connection settings are written to
# $PFM_STATE_DIR/stack.env for the services and tests to source.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/lib.sh"

KAFKA_PORT="${PFM_KAFKA_PORT:-9092}"
REGISTRY_PORT="${PFM_REGISTRY_PORT:-8081}"
STARTED="$STATE_DIR/started"
touch "$STARTED"

redis_ping() { # host port
  (exec 3<>"/dev/tcp/$1/$2" && printf 'PING\r\n' >&3 && read -r -t 2 line <&3 && [[ "$line" == +PONG* ]]) 2>/dev/null
}
free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
mark_started() { grep -qx "$1" "$STARTED" || echo "$1" >> "$STARTED"; }

redis_up() {
  if [ -n "${REDIS_URL:-}" ]; then echo "$REDIS_URL"; return; fi
  if redis_ping 127.0.0.1 6379; then echo "redis://127.0.0.1:6379"; return; fi
  local pidf="$STATE_DIR/redis/redis.pid" port
  mkdir -p "$STATE_DIR/redis"
  if [ -f "$STATE_DIR/redis/port" ] && redis_ping 127.0.0.1 "$(cat "$STATE_DIR/redis/port")"; then
    echo "redis://127.0.0.1:$(cat "$STATE_DIR/redis/port")"; return
  fi
  command -v redis-server >/dev/null 2>&1 || {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing Debian's redis-server"; apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else die "no Redis reachable and no redis-server to start: set REDIS_URL or install redis-server"; fi
  }
  port="$(free_port)"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir "$STATE_DIR/redis" --pidfile "$pidf" --logfile "$STATE_DIR/redis/redis.log" >/dev/null
  for _ in $(seq 1 50); do redis_ping 127.0.0.1 "$port" && break; sleep 0.1; done
  redis_ping 127.0.0.1 "$port" || die "redis-server did not answer on port $port (see $STATE_DIR/redis/redis.log)"
  echo "$port" > "$STATE_DIR/redis/port"
  mark_started redis
  log "redis-server started on 127.0.0.1:$port"
  echo "redis://127.0.0.1:$port"
}

up() {
  local t0=$SECONDS redis_url
  redis_url="$(redis_up)"
  if ! bash "$ROOT/infra/kafka/kafka.sh" status >/dev/null 2>&1; then
    bash "$ROOT/infra/kafka/kafka.sh" start >&2; mark_started kafka
  fi
  if ! bash "$ROOT/infra/schema-registry/registry.sh" status >/dev/null 2>&1; then
    bash "$ROOT/infra/schema-registry/registry.sh" start >&2; mark_started registry
  fi
  # Mode 600: with SASL it holds the test principal's password.
  (umask 077; cat > "$STATE_DIR/stack.env" <<ENV
export KAFKA_BROKERS="\${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
export SCHEMA_REGISTRY_URL="\${SCHEMA_REGISTRY_URL:-http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7}"
export REDIS_URL="\${REDIS_URL:-$redis_url}"
ENV
  )
  chmod 600 "$STATE_DIR/stack.env"
  if [ "${PFM_KAFKA_SASL:-1}" = 1 ]; then
    local pwfile="$STATE_DIR/kafka/secrets/passwords" test_pw
    test_pw="$(awk '$1 == "test" { print $2 }' "$pwfile" 2>/dev/null)"
    [ -n "$test_pw" ] || die "Kafka runs with SASL but $pwfile has no password for the test principal"
    # Tests, the demo and the ops CLIs connect as the test principal; the services' own
    # principals and passwords are in PFM_KAFKA_PASSWORDS_FILE (one "name password" a line).
    cat >> "$STATE_DIR/stack.env" <<ENV
export KAFKA_SASL_MECHANISM="\${KAFKA_SASL_MECHANISM:-scram-sha-512}"
export KAFKA_SASL_USERNAME="\${KAFKA_SASL_USERNAME:-test}"
export KAFKA_SASL_PASSWORD="\${KAFKA_SASL_PASSWORD:-$test_pw}"
export PFM_KAFKA_PASSWORDS_FILE="\${PFM_KAFKA_PASSWORDS_FILE:-$pwfile}"
ENV
    if [ "${PFM_KAFKA_TLS:-1}" = 1 ]; then
      # TLS to the broker (SASL_SSL), trusting the local CA kafka.sh made (not a secret).
      cat >> "$STATE_DIR/stack.env" <<ENV
export KAFKA_SSL_CA_FILE="\${KAFKA_SSL_CA_FILE:-$STATE_DIR/kafka/tls/ca.crt}"
ENV
    fi
  fi
  if [ "${PFM_REGISTRY_AUTH:-1}" = 1 ]; then
    local reg_pwfile="${PFM_REGISTRY_PASSWORDS_FILE:-$STATE_DIR/schema-registry/secrets/passwords}" reg_pw
    reg_pw="$(awk '$1 == "test" { print $2 }' "$reg_pwfile" 2>/dev/null)"
    [ -n "$reg_pw" ] || die "the registry requires authentication but $reg_pwfile has no password for the test principal"
    # The registry's login for tests and tools (role sr-developer: may register schemas);
    # the services' own principals and passwords are in PFM_REGISTRY_PASSWORDS_FILE.
    cat >> "$STATE_DIR/stack.env" <<ENV
export SCHEMA_REGISTRY_USERNAME="\${SCHEMA_REGISTRY_USERNAME:-test}"
export SCHEMA_REGISTRY_PASSWORD="\${SCHEMA_REGISTRY_PASSWORD:-$reg_pw}"
export PFM_REGISTRY_PASSWORDS_FILE="\${PFM_REGISTRY_PASSWORDS_FILE:-$reg_pwfile}"
ENV
  fi
  local kafka_desc="PLAINTEXT, no authentication"
  if [ "${PFM_KAFKA_SASL:-1}" = 1 ]; then
    kafka_desc="SASL_PLAINTEXT, SCRAM-SHA-512"
    [ "${PFM_KAFKA_TLS:-1}" = 1 ] && kafka_desc="SASL_SSL, SCRAM-SHA-512"
  fi
  log "stack up in $((SECONDS - t0))s: kafka 127.0.0.1:$KAFKA_PORT ($kafka_desc), registry :$REGISTRY_PORT ($([ "${PFM_REGISTRY_AUTH:-1}" = 1 ] && echo HTTP basic auth, role-based || echo no authentication)), $redis_url"
}

down() {
  if grep -qx registry "$STARTED"; then bash "$ROOT/infra/schema-registry/registry.sh" stop >&2 || true; fi
  if grep -qx kafka "$STARTED"; then bash "$ROOT/infra/kafka/kafka.sh" stop >&2 || true; fi
  if grep -qx redis "$STARTED" && [ -f "$STATE_DIR/redis/redis.pid" ]; then
    kill "$(cat "$STATE_DIR/redis/redis.pid")" 2>/dev/null || true; rm -f "$STATE_DIR/redis/port"
  fi
  : > "$STARTED"
  log "stack down (stopped only what 'up' started)"
}

status() {
  local rc=0
  if bash "$ROOT/infra/kafka/kafka.sh" status >/dev/null 2>&1; then echo "kafka: up"; else echo "kafka: down"; rc=1; fi
  if bash "$ROOT/infra/schema-registry/registry.sh" status >/dev/null 2>&1; then echo "registry: up"; else echo "registry: down"; rc=1; fi
  if [ -n "${REDIS_URL:-}" ] || redis_ping 127.0.0.1 6379 || { [ -f "$STATE_DIR/redis/port" ] && redis_ping 127.0.0.1 "$(cat "$STATE_DIR/redis/port")"; }; then echo "redis: up"; else echo "redis: down"; rc=1; fi
  return $rc
}

case "${1:-status}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: stack.sh up|down|status" ;;
esac
