#!/usr/bin/env bash
# Local container images for the test stacks and docker-compose.yml, built from what
# these machines can reach: a Debian base made with debootstrap from the apt mirror,
# the JDK the native registry runs on, and the Kafka and registry jars the native stack
# already fetched from Maven Central (infra/kafka, infra/schema-registry).
#
#   infra/images/build.sh [--service] [--force] | names | help
#
# Idempotent: each image carries the hash of its inputs as the label org.pfm.inputs,
# and is rebuilt only when that hash changes. Image names come from PFM_IMAGE_* (see
# `names`); a name outside localhost/ is a public image (Docker with internet access):
# it is left to the engine to pull, not built.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/podman.sh"

CACHE="${PFM_CACHE_DIR:-$HOME/.cache/pfm}"
KAFKA_VERSION="$(sed -n 's#.*<kafka.version>\(.*\)</kafka.version>.*#\1#p' "$ROOT/infra/kafka/pom.xml" | head -n 1)"
REGISTRY_VERSION="$(sed -n 's#.*<registry.version>\(.*\)</registry.version>.*#\1#p' "$ROOT/infra/schema-registry/pom.xml" | head -n 1)"
SUITE=bookworm
IMAGE_BASE="${PFM_IMAGE_BASE:-localhost/pfm-debian:$SUITE}"
IMAGE_JAVA="${PFM_IMAGE_JAVA:-localhost/pfm-java:latest}"
IMAGE_REDIS="${PFM_IMAGE_REDIS:-localhost/pfm-redis:7}"
IMAGE_KAFKA="${PFM_IMAGE_KAFKA:-localhost/pfm-kafka:$KAFKA_VERSION}"
IMAGE_REGISTRY="${PFM_IMAGE_REGISTRY:-localhost/pfm-registry:$REGISTRY_VERSION}"
IMAGE_NODE="${PFM_IMAGE_NODE:-localhost/pfm-node:20}"
IMAGE_SERVICE="${PFM_IMAGE_SERVICE:-localhost/pfm-service:latest}"
WORK="$CACHE/images"
ENGINE="${PFM_CONTAINER_CLI:-podman}"

say() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
hash() { sha256sum | cut -c1-16; }
local_name() { [[ "$1" == localhost/* ]]; }

label_of() { "$ENGINE" image inspect --format '{{ index .Labels "org.pfm.inputs" }}' "$1" 2>/dev/null || true; }
current() { [ "$FORCE" = 0 ] && [ "$(label_of "$1")" = "$2" ]; }

# The Debian mirror this machine's apt uses (deb822 .sources or one-line .list).
mirror() {
  local m
  m="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { print $2 }' | grep -v -- '-security' | head -n 1)"
  [ -n "$m" ] || m="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" && $3 !~ /security/ { print $2; exit }')"
  [ -n "$m" ] || die "no Debian mirror in /etc/apt/sources.list*; set PFM_DEBIAN_MIRROR"
  printf '%s' "${PFM_DEBIAN_MIRROR:-$m}"
}
security_mirror() {
  local m
  m="$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -o 'http[^ ]*-security[^ ]*' | head -n 1)"
  printf '%s' "${m:-${1%/debian}/debian-security}"
}

build_base() {
  local mir sec h rootfs t0
  mir="$(mirror)"; sec="$(security_mirror "$mir")"
  h="$(printf 'base v1 %s %s %s' "$SUITE" "$mir" "$sec" | hash)"
  if current "$IMAGE_BASE" "$h"; then say "$IMAGE_BASE is current"; return; fi
  t0="$(now)"
  rootfs="$WORK/rootfs-$SUITE"
  rm -rf "$rootfs"; mkdir -p "$WORK"
  say "debootstrap $SUITE from $mir (minbase)"
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$mir" >"$WORK/debootstrap.log" 2>&1 || { tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log: $WORK/debootstrap.log)"; }
  printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' "$mir" "$SUITE" "$mir" "$SUITE" "$sec" "$SUITE" > "$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | "$ENGINE" import -q --change "LABEL org.pfm.inputs=$h" --change 'CMD ["/bin/bash"]' - "$IMAGE_BASE" >/dev/null
  rm -rf "$rootfs"
  say "built $IMAGE_BASE in $(elapsed "$t0")s"
}

# build IMAGE CONTEXT_DIR HASH [build args...]
build_image() {
  local image="$1" ctx="$2" h="$3" t0; shift 3
  t0="$(now)"
  "$ENGINE" build -q --label "org.pfm.inputs=$h" --build-arg "BASE=$IMAGE_BASE" "$@" -t "$image" -f "$ctx/Containerfile" "$ctx" >"$WORK/build-${image//[\/:]/_}.log" 2>&1 \
    || { tail -n 30 "$WORK/build-${image//[\/:]/_}.log" >&2; die "building $image failed"; }
  say "built $image in $(elapsed "$t0")s"
}

# A build context of hard links (same file system, so nothing is copied).
stage() { # stage NAME -> prints the directory
  local d="$WORK/ctx-$1"
  rm -rf "$d"; mkdir -p "$d"
  cp "$HERE/$1"/* "$d/"
  printf '%s' "$d"
}
link_tree() { cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"; }
files_hash() { (cd "$1" && find . -type f -printf '%p %s\n' | LC_ALL=C sort) | hash; }

registry_jdk() {
  local c m
  for c in "${PFM_REGISTRY_JAVA:+$(dirname "$(dirname "$(readlink -f "$PFM_REGISTRY_JAVA")")")}" ${JAVA_HOME:-} $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    [ -x "$c/bin/java" ] || continue
    m="$("$c/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ { print $2 }')"
    if [ -n "$m" ] && [ "${m%%.*}" -ge 21 ] && [ ! -L "$c" ]; then printf '%s' "${c%/}"; return; fi
  done
  die "no JDK 21+ under /usr/lib/jvm or JAVA_HOME to copy into $IMAGE_JAVA (the registry needs Java 21+; see infra/schema-registry)"
}

build_java() {
  local jdk h ctx
  jdk="$(registry_jdk)"
  h="$( { cat "$HERE/java/Containerfile"; label_of "$IMAGE_BASE"; echo "$jdk"; cat "$jdk/release" 2>/dev/null; } | hash)"
  if current "$IMAGE_JAVA" "$h"; then say "$IMAGE_JAVA is current"; return; fi
  ctx="$(stage java)"; link_tree "$jdk" "$ctx/jdk"
  build_image "$IMAGE_JAVA" "$ctx" "$h"
  rm -rf "$ctx"
}

build_redis() {
  local h
  h="$( { cat "$HERE/redis/Containerfile"; label_of "$IMAGE_BASE"; } | hash)"
  if current "$IMAGE_REDIS" "$h"; then say "$IMAGE_REDIS is current"; return; fi
  build_image "$IMAGE_REDIS" "$HERE/redis" "$h"
}

build_kafka() {
  local libs="$CACHE/kafka-$KAFKA_VERSION/libs" h ctx
  [ -f "$libs/kafka_2.13-$KAFKA_VERSION.jar" ] || bash "$ROOT/infra/kafka/kafka.sh" fetch >&2
  h="$( { cat "$HERE/kafka/"* "$ROOT/infra/kafka/server.properties.template" "$ROOT/infra/kafka/log4j2.properties"; label_of "$IMAGE_JAVA"; files_hash "$libs"; } | hash)"
  if current "$IMAGE_KAFKA" "$h"; then say "$IMAGE_KAFKA is current"; return; fi
  ctx="$(stage kafka)"
  cp "$ROOT/infra/kafka/server.properties.template" "$ROOT/infra/kafka/log4j2.properties" "$ctx/"
  link_tree "$libs" "$ctx/libs"
  build_image "$IMAGE_KAFKA" "$ctx" "$h" --build-arg "BASE=$IMAGE_JAVA"
  rm -rf "$ctx"
}

build_registry() {
  local app="$CACHE/schema-registry-$REGISTRY_VERSION/quarkus-app" h ctx
  [ -f "$app/quarkus-run.jar" ] || bash "$ROOT/infra/schema-registry/registry.sh" build >&2
  h="$( { cat "$HERE/registry/"*; label_of "$IMAGE_JAVA"; files_hash "$app"; } | hash)"
  if current "$IMAGE_REGISTRY" "$h"; then say "$IMAGE_REGISTRY is current"; return; fi
  ctx="$(stage registry)"; link_tree "$app" "$ctx/quarkus-app"
  build_image "$IMAGE_REGISTRY" "$ctx" "$h" --build-arg "BASE=$IMAGE_JAVA"
  rm -rf "$ctx"
}

# The product's service image (infra/docker/Dockerfile, non-root) on a Node 20 image made
# from the Debian base and this machine's Node, when the public node image is not reachable.
build_service() {
  local h ctx nodebin pnpmdir store offline=()
  if local_name "$IMAGE_NODE"; then
    nodebin="$(command -v node)"
    # pnpm as ./pfm installs it (infra/lib.sh ensure_pnpm): the package directory.
    pnpmdir="$(dirname "$(dirname "$(readlink -f "$(command -v pnpm)")")")"
    [ -f "$pnpmdir/package.json" ] || die "no pnpm package next to $(command -v pnpm) to copy into $IMAGE_NODE"
    h="$( { cat "$HERE/node/Containerfile"; label_of "$IMAGE_BASE"; "$nodebin" --version; cat "$pnpmdir/package.json"; } | hash)"
    if current "$IMAGE_NODE" "$h"; then say "$IMAGE_NODE is current"; else
      ctx="$(stage node)"
      mkdir -p "$ctx/node/bin" "$ctx/node/lib"
      cp "$nodebin" "$ctx/node/bin/node"
      link_tree "$(dirname "$(dirname "$(readlink -f "$nodebin")")")/lib/node_modules" "$ctx/node/lib/node_modules"
      rm -rf "$ctx/node/lib/node_modules/pnpm"; link_tree "$pnpmdir" "$ctx/node/lib/node_modules/pnpm"
      build_image "$IMAGE_NODE" "$ctx" "$h"
      rm -rf "$ctx"
    fi
    # The packages from this machine's pnpm store (./pfm's install filled it): the build
    # needs no registry (here the npm registry is reached through a TLS proxy whose CA
    # only the host trusts). pnpm writes into the store it installs from (it registers the
    # project), so the build gets a copy of hard links, not the store itself.
    # (`pnpm store path` names the versioned directory, v10; --store-dir takes its parent.)
    store="$(cd "$ROOT" && pnpm store path)"
    [ -d "$store" ] || die "no pnpm store at $store: run pnpm install (./pfm test does) first"
    rm -rf "$WORK/pnpm-store"; mkdir -p "$WORK/pnpm-store"
    link_tree "$store" "$WORK/pnpm-store/$(basename "$store")"
    offline=(--build-arg PNPM_OFFLINE=1 -v "$WORK/pnpm-store:/pnpm-store")
  fi
  h="$( { label_of "$IMAGE_NODE"; cd "$ROOT" && git ls-files -s; git -C "$ROOT" diff HEAD; } | hash)"
  if current "$IMAGE_SERVICE" "$h"; then say "$IMAGE_SERVICE is current"; return; fi
  local t0 old; t0="$(now)"
  old="$("$ENGINE" image inspect --format '{{.Id}}' "$IMAGE_SERVICE" 2>/dev/null || true)"
  "$ENGINE" build -q --label "org.pfm.inputs=$h" --build-arg "NODE_IMAGE=$IMAGE_NODE" "${offline[@]}" -t "$IMAGE_SERVICE" -f "$ROOT/infra/docker/Dockerfile" "$ROOT" >"$WORK/build-service.log" 2>&1 \
    || { tail -n 30 "$WORK/build-service.log" >&2; die "building $IMAGE_SERVICE failed"; }
  rm -rf "$WORK/pnpm-store"
  # The image it replaces (rebuilt on every source change, ~650 MB): removed unless a container still uses it.
  [ -z "$old" ] || [ "$old" = "$("$ENGINE" image inspect --format '{{.Id}}' "$IMAGE_SERVICE")" ] || "$ENGINE" rmi "$old" >/dev/null 2>&1 || true
  say "built $IMAGE_SERVICE in $(elapsed "$t0")s"
}

names() {
  printf 'PFM_IMAGE_BASE=%s\nPFM_IMAGE_JAVA=%s\nPFM_IMAGE_REDIS=%s\nPFM_IMAGE_KAFKA=%s\nPFM_IMAGE_REGISTRY=%s\nPFM_IMAGE_NODE=%s\nPFM_IMAGE_SERVICE=%s\n' \
    "$IMAGE_BASE" "$IMAGE_JAVA" "$IMAGE_REDIS" "$IMAGE_KAFKA" "$IMAGE_REGISTRY" "$IMAGE_NODE" "$IMAGE_SERVICE"
}

FORCE=0; SERVICE=0
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    --service) SERVICE=1 ;;
    names) names; exit 0 ;;
    help|-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; names; exit 0 ;;
    *) die "unknown argument '$a' (build.sh [--service] [--force] | names | help)" ;;
  esac
done

t_all="$(now)"
mkdir -p "$WORK"
if [ "$ENGINE" = podman ]; then ensure_podman_packages; podman_conf; fi
# Serialise builds: two test runs on one machine build once.
exec 8>"$WORK/.lock"; flock -w 1200 8 || die "another build.sh holds $WORK/.lock"
needs_base=0
for img in "$IMAGE_REDIS" "$IMAGE_KAFKA" "$IMAGE_REGISTRY"; do local_name "$img" && needs_base=1; done
[ "$SERVICE" = 1 ] && local_name "$IMAGE_NODE" && needs_base=1
[ "$needs_base" = 1 ] && build_base
local_name "$IMAGE_REDIS" && build_redis
if local_name "$IMAGE_KAFKA" || local_name "$IMAGE_REGISTRY"; then build_java; fi
local_name "$IMAGE_KAFKA" && build_kafka
local_name "$IMAGE_REGISTRY" && build_registry
[ "$SERVICE" = 1 ] && build_service
say "images ready in $(elapsed "$t_all")s"
