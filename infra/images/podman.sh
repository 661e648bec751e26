# Podman on these machines (sourced by build.sh and ./pfm): a private containers.conf
# (the machines lack CAP_SYS_RESOURCE, so podman's default rlimits fail in the runtime,
# and crun refuses the hybrid cgroups: runc works). Exports CONTAINERS_CONF; touches no
# system file. See docs/testing.md.
PFM_CACHE_DIR="${PFM_CACHE_DIR:-$HOME/.cache/pfm}"
PFM_PODMAN_DIR="${PFM_PODMAN_DIR:-$PFM_CACHE_DIR/podman}"

# podman, runc and debootstrap from Debian when root and missing (as ./pfm installs its
# other tools); a clear message otherwise.
ensure_podman_packages() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing+=(runc)
  command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    printf '[pfm] installing Debian'"'"'s %s for the container tests\n' "${missing[*]}" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    printf '[pfm] error: the container images need %s: apt-get install -y %s (or a Docker engine with DOCKER_HOST)\n' "${missing[*]}" "${missing[*]}" >&2
    return 1
  fi
}

# Writes $PFM_PODMAN_DIR/containers.conf (only when its content changes) and exports
# CONTAINERS_CONF. nofile is the host's hard limit (capped at 65536): no process here
# may raise it.
podman_conf() {
  local hard nofile conf="$PFM_PODMAN_DIR/containers.conf" want
  hard="$(ulimit -Hn)"
  if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then nofile=65536; else nofile="$hard"; fi
  want="$(printf '%s\n' \
    '# Written by infra/images/podman.sh: rlimits the runtime may set here, and runc.' \
    '[containers]' \
    "default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=32768:32768\"]" \
    '[engine]' \
    'runtime = "runc"')"
  mkdir -p "$PFM_PODMAN_DIR"
  if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then printf '%s\n' "$want" > "$conf"; fi
  export CONTAINERS_CONF="$conf"
}
