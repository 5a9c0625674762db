#!/usr/bin/env bash
# Quick start, command 1 of 2: run Fleetkeeper in dev mode on this machine.
#
# Builds the distribution if it is missing or older than the sources, unpacks it under
# deploy/target/dist, and runs `fleetkeeper dev`: a controller and an agent in one JVM on
# loopback, data under ./.fleetkeeper, and a demo service. Arguments are passed on
# (e.g. --data DIR, --port 7700). Needs a JDK 17+ (java on PATH or JAVA_HOME).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)

java_bin=${JAVA_HOME:+$JAVA_HOME/bin/}java
if ! command -v "$java_bin" >/dev/null 2>&1; then
  echo "dev.sh: no java found. Install a JDK 17 or newer (Debian/Ubuntu: sudo apt-get install openjdk-17-jdk-headless) or set JAVA_HOME." >&2
  exit 1
fi

tarball=$(ls deploy/target/fleetkeeper-*.tar.gz 2>/dev/null | head -1 || true)
if [ -z "$tarball" ] || [ -n "$(find pom.xml proto agent controller cli deploy/pom.xml deploy/src deploy/agent-jar \
    -newer "$tarball" -type f -not -path '*/target/*' 2>/dev/null | head -1)" ]; then
  echo "Building Fleetkeeper (first run takes a few minutes: Maven fetches its dependencies) ..."
  ./mvnw -q -B -DskipTests package
  tarball=$(ls deploy/target/fleetkeeper-*.tar.gz | head -1)
fi

dist=deploy/target/dist
if [ ! -d "$dist" ] || [ "$tarball" -nt "$dist" ]; then
  rm -rf "$dist"
  mkdir -p "$dist"
  tar -xzf "$tarball" -C "$dist" --strip-components=1
fi
ln -sfn dist/bin/fleetkeeper deploy/target/fleetkeeper

FLEETKEEPER_JAVA_OPTS="${FLEETKEEPER_JAVA_OPTS:-} -Dfleetkeeper.launcher=deploy/target/fleetkeeper" \
  exec "$root/$dist/bin/fleetkeeper" dev "$@"
