#!/bin/sh
# Run once while the image is built (RUN in the Containerfile): a training start of the
# registry with the image's default settings, which writes the JVM's ahead-of-time cache
# (JDK 24+: classes loaded and linked, method profiles) as it stops; the entrypoint hands
# it to every start. Without a JDK that has it, no cache is made.
set -eu
if ! java -XX:AOTCacheOutput=/tmp/probe.aot -version >/dev/null 2>&1; then
  echo "registry-train: this JDK has no ahead-of-time cache (JDK 24+): none made"
  exit 0
fi
log=/tmp/registry-train.log
# shellcheck disable=SC2086
java $JAVA_OPTS -XX:AOTCacheOutput=/opt/registry/app.aot -jar /opt/registry/quarkus-run.jar >"$log" 2>&1 &
pid=$!
i=0
until grep -q 'started in' "$log"; do
  kill -0 "$pid" 2>/dev/null || { tail -n 40 "$log"; exit 1; }
  i=$((i + 1)); [ "$i" -lt 900 ] || { tail -n 40 "$log"; exit 1; }
  sleep 0.2
done
# A clean stop: the cache is written as the JVM exits.
kill -TERM "$pid"
wait "$pid" || true
[ -s /opt/registry/app.aot ] || { echo "registry-train: no cache written"; tail -n 20 "$log"; exit 1; }
chmod 644 /opt/registry/app.aot
rm -rf "$log" /tmp/registry/* /tmp/probe.aot
echo "registry-train: cache $(du -h /opt/registry/app.aot | cut -f1)"
