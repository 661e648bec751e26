# Shared helpers for ./pfm and infra scripts (sourced, not run).
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export PFM_CACHE_DIR="${PFM_CACHE_DIR:-$HOME/.cache/pfm}"
export PFM_STATE_DIR="${PFM_STATE_DIR:-$ROOT/.stack}"
STATE_DIR="$PFM_STATE_DIR"
mkdir -p "$PFM_CACHE_DIR" "$STATE_DIR"

log() { printf '\033[1m[pfm]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[pfm] error:\033[0m %s\n' "$*" >&2; exit 1; }

# pnpm at the version pinned in package.json ("packageManager"), installed into the
# cache if the machine lacks it, so a fresh machine needs only Node.
ensure_pnpm() {
  local want
  want="$(node -p "require('$ROOT/package.json').packageManager.split('@')[1]")"
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$want" ]; then return 0; fi
  local tools="$PFM_CACHE_DIR/tools/pnpm-$want"
  if [ ! -x "$tools/node_modules/.bin/pnpm" ]; then
    log "installing pnpm $want into $tools"
    mkdir -p "$tools"
    npm install --silent --no-audit --no-fund --prefix "$tools" "pnpm@$want" >/dev/null
  fi
  export PATH="$tools/node_modules/.bin:$PATH"
}

# Debian's Chromium drives the browser tests (playwright-core never downloads a browser).
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium for the browser tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    die "chromium is needed for the browser tests: install Debian's 'chromium' package (or set PFM_CHROMIUM to a Chromium binary)"
  fi
}

# Debian tools the HL7 client tests drive: mllp_send (python3-hl7) sends the fixtures over
# MLLP as an outside sender would, and kcat reads the topics as ops do.
ensure_test_tools() {
  local missing=()
  command -v mllp_send >/dev/null 2>&1 || missing+=(python3-hl7)
  command -v kcat >/dev/null 2>&1 || missing+=(kcat)
  # promtool checks and unit-tests infra/observability/alerts.yml. (kubectl, which renders
  # infra/k8s, comes with these machines; Debian 12's kubernetes-client 1.20 is too old
  # for Kustomize's `patches`, so it is not installed from here: the test says so.)
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  # pdftotext reads the text of the monthly board report PDF (tests/insights.e2e.test.ts).
  command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's ${missing[*]} for the HL7 client, ops and report tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    die "the HL7 client, ops and report tests need Debian's ${missing[*]}: apt-get install -y ${missing[*]}"
  fi
}

ensure_deps() {
  ensure_pnpm
  local stamp="$ROOT/node_modules/.pfm-install-stamp"
  if [ ! -f "$stamp" ] || [ "$ROOT/pnpm-lock.yaml" -nt "$stamp" ]; then
    log "installing dependencies (pnpm install --frozen-lockfile)"
    pnpm install --frozen-lockfile --reporter=silent
    touch "$stamp"
  fi
}

# A container engine for the suites that run on stacks of their own (testcontainers; see
# docs/testing.md): Docker's socket when there is one, else podman's Docker-compatible API
# service started here (stopped by stop_containers) with the images of infra/images built
# or found current. Exports DOCKER_HOST and the testcontainers settings for the tests.
ensure_containers() {
  if [ -n "${DOCKER_HOST:-}" ]; then return 0; fi
  if [ -S /var/run/docker.sock ] && curl -s -m 3 --unix-socket /var/run/docker.sock http://d/_ping >/dev/null 2>&1; then
    PFM_IMAGE_KAFKA="${PFM_IMAGE_KAFKA:-apache/kafka:4.4.0}" PFM_IMAGE_REDIS="${PFM_IMAGE_REDIS:-redis:7}" \
      PFM_IMAGE_REGISTRY="${PFM_IMAGE_REGISTRY:-apicurio/apicurio-registry:3.3.3}"
    export PFM_IMAGE_KAFKA PFM_IMAGE_REDIS PFM_IMAGE_REGISTRY
    return 0
  fi
  # shellcheck source=images/podman.sh
  source "$ROOT/infra/images/podman.sh"
  bash "$ROOT/infra/images/build.sh" || die "the container images could not be built (infra/images/build.sh); the fault and per-suite tests need podman or Docker"
  podman_conf
  local sock="$PFM_PODMAN_DIR/podman.sock"
  if ! curl -s -m 3 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
    podman system service --time=0 "unix://$sock" </dev/null >"$PFM_PODMAN_DIR/service.log" 2>&1 &
    PFM_PODMAN_PID=$!
    local i
    for i in $(seq 1 100); do curl -s -m 1 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && break; sleep 0.1; done
    curl -s -m 3 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 || die "podman's API service did not answer on $sock (see $PFM_PODMAN_DIR/service.log)"
    log "podman API service started on $sock (pid $PFM_PODMAN_PID)"
  fi
  export DOCKER_HOST="unix://$sock" PFM_PODMAN_SOCKET="$sock" TESTCONTAINERS_RYUK_DISABLED=true
  export TESTCONTAINERS_HOST_OVERRIDE="${TESTCONTAINERS_HOST_OVERRIDE:-127.0.0.1}"
}

# A Compose CLI for docker-compose.yml (./pfm compose, tests/compose.ctr.test.ts): `docker
# compose` (v2) when the Docker CLI has it, else the standalone `docker-compose`, installed
# from Debian (1.29) when root with apt and neither is there. Prints the command words.
ensure_compose_cli() {
  if docker compose version >/dev/null 2>&1; then echo "docker compose"; return 0; fi
  if ! command -v docker-compose >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing Debian's docker-compose (no \`docker compose\` here)" >&2
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
    else
      die "no Compose CLI: install Docker Compose v2 (docker compose) or docker-compose (apt-get install docker-compose)"
    fi
  fi
  echo "docker-compose"
}

# 0 when ensure_containers can give the tests an engine: DOCKER_HOST, a Docker socket that
# answers, podman on the machine, or podman installable (root with apt).
containers_possible() {
  [ -n "${DOCKER_HOST:-}" ] && return 0
  [ -S /var/run/docker.sock ] && curl -s -m 3 --unix-socket /var/run/docker.sock http://d/_ping >/dev/null 2>&1 && return 0
  command -v podman >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}

# Removes test containers whose test process is gone (a run killed before its afterAll),
# then stops the podman service ensure_containers started. Containers of live test
# processes (another clone's run) are left alone.
stop_containers() {
  if [ -n "${PFM_PODMAN_SOCKET:-}" ] && command -v podman >/dev/null 2>&1; then
    local id owner
    podman ps -a --filter label=org.pfm.stack --format '{{.ID}} {{index .Labels "org.pfm.owner"}}' 2>/dev/null | while read -r id owner; do
      if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then podman rm -f "$id" >/dev/null 2>&1 || true; fi
    done
  fi
  if [ -n "${PFM_PODMAN_PID:-}" ]; then kill "$PFM_PODMAN_PID" 2>/dev/null || true; wait "$PFM_PODMAN_PID" 2>/dev/null || true; fi
}
