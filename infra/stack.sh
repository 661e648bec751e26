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

mark_started() { grep -qx "$1" "$STARTED" || echo "$1" >> "$STARTED"; }

# The stack's own Redis: 127.0.0.1:PFM_REDIS_PORT (6380 by default, so a Redis of the
# machine's on 6379 is left alone), closed by default: the `default` user is off, clients
# log in as `pfm` with the password in $STATE_DIR/redis/secrets/passwords (mode 600), made
# at the first `up`. No persistence (live state is rebuilt from Kafka).
REDIS_PORT="${PFM_REDIS_PORT:-6380}"
REDIS_DIR="$STATE_DIR/redis"
REDIS_SECRETS="$REDIS_DIR/secrets"
REDIS_PASSWORDS="$REDIS_SECRETS/passwords"
REDIS_ACL="$REDIS_SECRETS/users.acl"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"

# A password as kafka.sh makes them: 32 random bytes, URL-safe base64 (safe in a URL's userinfo).
new_password() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
# A URL with its password masked, for anything printed: redis://pfm:***@127.0.0.1:6380.
mask_url() { sed -E 's#^([a-z0-9+.-]+://[^:/@]*:)[^@/]*@#\1***@#' <<<"$1"; }
redis_password() { awk '$1 == "pfm" { print $2 }' "$REDIS_PASSWORDS" 2>/dev/null; }

# One RESP command on a connection (fd 3), its first reply line in $reply.
resp() {
  local a
  reply=''
  printf '*%d\r\n' "$#" >&3
  for a in "$@"; do printf '$%d\r\n%s\r\n' "${#a}" "$a" >&3; done
  read -r -t 2 reply <&3; reply="${reply%$'\r'}"
}
# Whether anything answers the Redis protocol on 127.0.0.1:port (PONG, or NOAUTH when closed).
redis_answers() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1" && resp PING && [[ "$reply" == +PONG* || "$reply" == -NOAUTH* ]]) 2>/dev/null
}
# Whether the stack's Redis on 127.0.0.1:port takes the `pfm` login and answers PING.
redis_auth_ping() {
  local pw; pw="$(redis_password)"; [ -n "$pw" ] || return 1
  (exec 3<>"/dev/tcp/127.0.0.1/$1" && resp AUTH pfm "$pw" && [[ "$reply" == +OK* ]] && resp PING && [[ "$reply" == +PONG* ]]) 2>/dev/null
}
# The pid of the Redis this stack started, if it still runs.
redis_pid() {
  local pid
  pid="$(cat "$REDIS_PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

# The `pfm` password (kept once made) and the ACL file made from it (its SHA-256 only).
ensure_redis_secrets() {
  (umask 077; mkdir -p "$REDIS_SECRETS"; touch "$REDIS_PASSWORDS")
  chmod 700 "$REDIS_SECRETS"; chmod 600 "$REDIS_PASSWORDS"
  grep -q '^pfm ' "$REDIS_PASSWORDS" || printf 'pfm %s\n' "$(new_password)" >>"$REDIS_PASSWORDS"
  # The tests and tools connect as `pfm` too: they make their own ACL users and key
  # prefixes (packages/flow-store/src/acl.int.test.ts), so `pfm` has every key and command
  # here; the services' least-privilege rules are docker-compose's and Kubernetes'.
  (umask 077; printf '%s\n' "user default off resetpass nocommands resetkeys resetchannels" \
     "user pfm on #$(printf '%s' "$(redis_password)" | sha256sum | cut -d' ' -f1) ~* &* +@all" >"$REDIS_ACL")
  chmod 600 "$REDIS_ACL"
}

redis_url_of_stack() { echo "redis://pfm:$(redis_password)@127.0.0.1:$REDIS_PORT"; }
# A REDIS_URL set by the user (not this stack's own, from a sourced stack.env) wins.
user_redis_url() { [ -n "${REDIS_URL:-}" ] && [ "$REDIS_URL" != "$(redis_url_of_stack)" ]; }

redis_up() {
  if user_redis_url; then echo "$REDIS_URL"; return; fi
  mkdir -p "$REDIS_DIR"
  ensure_redis_secrets
  local url; url="$(redis_url_of_stack)"
  if redis_auth_ping "$REDIS_PORT"; then echo "$url"; return; fi
  if redis_answers "$REDIS_PORT" || bash -c "exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT" 2>/dev/null; then
    die "port $REDIS_PORT is in use by something that does not take this stack's Redis login (set PFM_REDIS_PORT)"
  fi
  command -v redis-server >/dev/null 2>&1 || {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing Debian's redis-server"; apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else die "no redis-server to start: install redis-server, or set REDIS_URL to a Redis of your own"; fi
  }
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --aclfile "$REDIS_ACL" --dir "$REDIS_DIR" --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_DIR/redis.log" >/dev/null
  for _ in $(seq 1 50); do redis_auth_ping "$REDIS_PORT" && break; sleep 0.1; done
  redis_auth_ping "$REDIS_PORT" || die "redis-server did not answer on port $REDIS_PORT (see $REDIS_DIR/redis.log)"
  mark_started redis
  log "redis-server started on 127.0.0.1:$REDIS_PORT (default user off, login pfm)"
  echo "$url"
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
  log "stack up in $((SECONDS - t0))s: kafka 127.0.0.1:$KAFKA_PORT ($kafka_desc), registry :$REGISTRY_PORT ($([ "${PFM_REGISTRY_AUTH:-1}" = 1 ] && echo HTTP basic auth, role-based || echo no authentication)), $(mask_url "$redis_url")"
}

# down [PART...]: stops what `up` started (all of it, or only the parts named: kafka,
# registry, redis), never what was already running when `up` came.
down() {
  local parts=("$@") p
  (( ${#parts[@]} )) || mapfile -t parts < "$STARTED"
  want() { local x; for x in "${parts[@]}"; do [[ "$x" == "$1" ]] && return 0; done; return 1; }
  if want registry && grep -qx registry "$STARTED"; then bash "$ROOT/infra/schema-registry/registry.sh" stop >&2 || true; fi
  if want kafka && grep -qx kafka "$STARTED"; then bash "$ROOT/infra/kafka/kafka.sh" stop >&2 || true; fi
  local pid
  if want redis && grep -qx redis "$STARTED" && pid="$(redis_pid)"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "redis-server (pid $pid) has not stopped yet"; fi
  fi
  for p in "${parts[@]}"; do sed -i "/^$p\$/d" "$STARTED"; done
  log "stack down (stopped only what 'up' started${1:+: $*})"
}

status() {
  local rc=0
  if bash "$ROOT/infra/kafka/kafka.sh" status >/dev/null 2>&1; then echo "kafka: up"; else echo "kafka: down"; rc=1; fi
  if bash "$ROOT/infra/schema-registry/registry.sh" status >/dev/null 2>&1; then echo "registry: up"; else echo "registry: down"; rc=1; fi
  if user_redis_url; then echo "redis: REDIS_URL is set ($(mask_url "$REDIS_URL")), not the stack's"
  elif redis_auth_ping "$REDIS_PORT"; then echo "redis: up (127.0.0.1:$REDIS_PORT, login pfm, default user off)"
  else echo "redis: down"; rc=1; fi
  return $rc
}

case "${1:-status}" in
  up) up ;;
  down) shift; down "$@" ;;
  status) status ;;
  *) die "usage: stack.sh up|down|status" ;;
esac
