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
