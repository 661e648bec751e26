#!/usr/bin/env bash
# docker-compose.yml on whatever this machine has (./pfm compose ARGS...):
#   - the CLI: `docker compose` (Compose v2) when there is one, else the standalone
#     `docker-compose` (Debian's 1.29: installed with apt when root and nothing else is
#     there), else an error saying what to install;
#   - the engine: Docker's socket or DOCKER_HOST as they are (public images, the product's
#     image built by compose); otherwise podman's Docker-compatible service with the local
#     images of infra/images/build.sh --service (ensure_containers, infra/lib.sh);
#   - the passwords: made once into .stack/compose/compose.env (mode 600) and handed to
#     the CLI with --env-file; a senders file of nobody (.stack/compose/senders.json, `[]`)
#     unless config/senders.json exists or PFM_COMPOSE_SENDERS_FILE names one;
#   - podman without systemd (these machines) never runs health checks by itself, so
#     `depends_on: service_healthy` would wait for ever: while the stack runs, a background
#     loop runs them (`podman healthcheck run`), stopped by `down`.
# Project name: PFM_COMPOSE_PROJECT (default pfm). Examples: ./pfm compose up -d;
# ./pfm compose ps; ./pfm compose logs ingest; ./pfm compose down -v; ./pfm compose env
# (prints the env file's path).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/lib.sh"
DIR="$STATE_DIR/compose"
ENV_FILE="${PFM_COMPOSE_ENV_FILE:-$DIR/compose.env}"
PROJECT="${PFM_COMPOSE_PROJECT:-pfm}"
mkdir -p "$DIR"

# The passwords docker-compose.yml needs, made once (32 random URL-safe characters each).
make_env() {
  [ -s "$ENV_FILE" ] && return 0
  local v
  umask 077
  {
    echo "# Made by infra/compose.sh for docker-compose.yml; dev-only secrets of this machine."
    for v in PFM_REDIS_PASSWORD PFM_REDIS_ADMIN_PASSWORD PFM_KAFKA_TLS_PASSWORD \
      PFM_KAFKA_PASSWORD_ADMIN PFM_KAFKA_PASSWORD_INGEST PFM_KAFKA_PASSWORD_ENGINE PFM_KAFKA_PASSWORD_GATEWAY PFM_KAFKA_PASSWORD_REGISTRY \
      PFM_REGISTRY_PASSWORD_ADMIN PFM_REGISTRY_PASSWORD_INGEST PFM_REGISTRY_PASSWORD_ENGINE PFM_REGISTRY_PASSWORD_GATEWAY PFM_JWT_SECRET; do
      printf '%s=%s\n' "$v" "$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')"
    done
  } > "$ENV_FILE"
  log "made the compose stack's passwords: $ENV_FILE"
}

# 0 when the engine at hand is Docker (DOCKER_HOST, or Docker's socket), not podman.
docker_engine() {
  local sock=""
  if [ -n "${DOCKER_HOST:-}" ]; then
    [[ "$DOCKER_HOST" == unix://* ]] || return 0
    sock="${DOCKER_HOST#unix://}"
  elif [ -S /var/run/docker.sock ]; then sock=/var/run/docker.sock
  else return 1
  fi
  ! curl -s -m 3 --unix-socket "$sock" http://d/version 2>/dev/null | grep -q '"Podman Engine"'
}

# podman: run the health checks of the project's running containers every 3 s while any runs.
health_loop() {
  local pidfile="$DIR/health-$PROJECT.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  (
    trap 'rm -f "$pidfile"' EXIT
    idle=0
    while [ "$idle" -lt 20 ]; do
      ids="$(podman ps -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null || true)"
      if [ -z "$ids" ]; then idle=$((idle + 1)); else idle=0; fi
      for id in $ids; do podman healthcheck run "$id" >/dev/null 2>&1 || true; done
      sleep 3
    done
  ) </dev/null >/dev/null 2>&1 &
  echo $! > "$pidfile"
}
stop_health_loop() {
  local pidfile="$DIR/health-$PROJECT.pid"
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

if [ "${1:-}" = env ]; then make_env; echo "$ENV_FILE"; exit 0; fi
make_env
# Also in the environment: the services' pass-through variables (PFM_JWT_SECRET) read it.
set -a; source "$ENV_FILE"; set +a
cli="$(ensure_compose_cli)" || exit 1
read -r -a CLI <<<"$cli"
if ! docker_engine; then
  ensure_containers
  # The local images (the product's rebuilt when its sources changed), for the commands that start containers.
  # (pnpm and the workspace's packages first: the product's image installs them offline from this machine's pnpm store.)
  case "${1:-}" in up|create|run|start|restart) ensure_deps; bash "$ROOT/infra/images/build.sh" --service ;; esac
  export PFM_IMAGE_SERVICE="${PFM_IMAGE_SERVICE:-localhost/pfm-service:latest}" PFM_IMAGE_NODE="${PFM_IMAGE_NODE:-localhost/pfm-node:20}"
  export PFM_IMAGE_KAFKA="${PFM_IMAGE_KAFKA:-localhost/pfm-kafka:4.4.0}" PFM_IMAGE_REGISTRY="${PFM_IMAGE_REGISTRY:-localhost/pfm-registry:3.3.3}" PFM_IMAGE_REDIS="${PFM_IMAGE_REDIS:-localhost/pfm-redis:7}"
  PODMAN=1
else
  PODMAN=0
fi
if [ -z "${PFM_COMPOSE_SENDERS_FILE:-}" ] && [ ! -f "$ROOT/config/senders.json" ]; then
  [ -f "$DIR/senders.json" ] || { umask 077; echo '[]' > "$DIR/senders.json"; chmod 644 "$DIR/senders.json"; }
  export PFM_COMPOSE_SENDERS_FILE="$DIR/senders.json"
fi
[ "$PODMAN" = 1 ] && [ "${1:-}" = up ] && health_loop
[ "$PODMAN" = 1 ] && [ "${1:-}" = down ] && stop_health_loop
cd "$ROOT"
exec "${CLI[@]}" -p "$PROJECT" --env-file "$ENV_FILE" -f "$ROOT/docker-compose.yml" "$@"
