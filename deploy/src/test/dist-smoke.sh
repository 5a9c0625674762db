#!/bin/sh
# Smoke test of the distribution: unpacks the tarball into a temp dir and runs what an operator
# runs first. Cheap (a few JVM starts) and real (the built artifacts, the shipped scripts).
#
#   deploy/src/test/dist-smoke.sh [DEPLOY_TARGET_DIR]     (default: deploy/target)
#
# Needs: the tarball (./mvnw -pl deploy package) and, if built, the slim agent jar
# (deploy/agent-jar/target). Exits non-zero with a message on the first failure.
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
target=${1:-$here/../../target}
agent_jar_dir=$here/../../agent-jar/target

fail() {
  printf 'dist-smoke: FAIL: %s\n' "$*" >&2
  exit 1
}

ok() {
  printf 'dist-smoke: ok: %s\n' "$*"
}

tarball=
for f in "$target"/fleetkeeper-*.tar.gz; do
  [ -f "$f" ] && tarball=$f
done
[ -n "$tarball" ] || fail "no fleetkeeper-*.tar.gz in $target: build it with ./mvnw -pl deploy package"

work=$(mktemp -d "${TMPDIR:-/tmp}/fleetkeeper-smoke.XXXXXX")
started=
cleanup() {
  # Only what this script started, by PID; the agent stops its own service on SIGTERM.
  for p in $started; do
    kill "$p" 2>/dev/null || true
  done
  for p in $started; do
    i=0
    while kill -0 "$p" 2>/dev/null && [ "$i" -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM
tar -xzf "$tarball" -C "$work"
home=$(ls -d "$work"/fleetkeeper-*)
ok "unpacked $(basename "$tarball")"

for f in bin/fleetkeeper bin/fleetkeeper-agent bin/fleetkeeper-controller install.sh; do
  [ -x "$home/$f" ] || fail "$f is not executable in the tarball"
done
for f in conf/agent.yaml.example conf/controller.yaml.example conf/logback.xml conf/agent.jvm \
    systemd/fleetkeeper-agent.service systemd/fleetkeeper-controller.service; do
  [ -f "$home/$f" ] || fail "$f is missing from the tarball"
done
for jar in fleetkeeper-cli fleetkeeper-agent fleetkeeper-controller fleetkeeper-proto grpc-netty-shaded picocli rocksdbjni; do
  ls "$home"/lib/"$jar"-*.jar >/dev/null 2>&1 || fail "lib/ has no $jar jar"
done
# lib/* is the controller's and CLI's classpath: one SLF4J binding (Logback), not also the agent's.
if ls "$home"/lib/slf4j-simple-*.jar >/dev/null 2>&1; then
  fail "lib/ has slf4j-simple next to Logback: the slim agent jar's dependencies leaked into lib/"
fi
ok "layout: bin/ conf/ systemd/ lib/ ($(ls "$home"/lib/*.jar | wc -l | tr -d ' ') jars) lib/agent/"

# bin/fleetkeeper-agent runs the slim jar alone: no controller, RocksDB, CLI, Logback or Jackson.
agent_jar=$home/lib/agent/fleetkeeper-agent.jar
[ -f "$agent_jar" ] || fail "lib/agent/fleetkeeper-agent.jar (the slim agent jar) is missing from the tarball"
grep -q 'lib/agent/fleetkeeper-agent.jar' "$home/bin/fleetkeeper-agent" \
  || fail "bin/fleetkeeper-agent does not run lib/agent/fleetkeeper-agent.jar"
entries=$(unzip -Z1 "$agent_jar" 2>/dev/null || jar tf "$agent_jar")
for forbidden in org/rocksdb/ dev/fleetkeeper/controller/ dev/fleetkeeper/cli/ ch/qos/logback/ com/fasterxml/jackson/; do
  if printf '%s\n' "$entries" | grep -q "^$forbidden"; then
    fail "lib/agent/fleetkeeper-agent.jar contains $forbidden"
  fi
done
printf '%s\n' "$entries" | grep -q '^simplelogger.properties$' || fail "lib/agent/fleetkeeper-agent.jar has no simplelogger.properties"
ok "lib/agent/fleetkeeper-agent.jar: the slim jar, no controller/RocksDB/CLI/Logback/Jackson"

out=$("$home/bin/fleetkeeper" --version) || fail "bin/fleetkeeper --version exited $?"
case $out in
  "fleetkeeper "*) ok "bin/fleetkeeper --version: $(printf '%s' "$out" | head -n 1)" ;;
  *) fail "bin/fleetkeeper --version printed: $out" ;;
esac

out=$("$home/bin/fleetkeeper-agent" --help 2>&1) || fail "bin/fleetkeeper-agent --help exited $?: $out"
case $out in
  *Usage:*fleetkeeper-agent*) ok "bin/fleetkeeper-agent --help" ;;
  *) fail "bin/fleetkeeper-agent --help printed: $out" ;;
esac

# A config error: exit 2 and the file:line: key message, through the launcher and the slim jar.
printf 'hostId: a\nscan:\n  intervall: 2s\n' >"$work/bad-agent.yaml"
set +e
err=$("$home/bin/fleetkeeper-agent" --config "$work/bad-agent.yaml" 2>&1)
status=$?
set -e
[ "$status" = 2 ] || fail "bin/fleetkeeper-agent with a bad config exited $status, expected 2: $err"
case $err in
  *"bad-agent.yaml:3: unknown key 'scan.intervall'"*) ok "bin/fleetkeeper-agent names a bad config's line and key" ;;
  *) fail "bin/fleetkeeper-agent with a bad config printed: $err" ;;
esac

out=$("$home/bin/fleetkeeper-controller" --help 2>&1) || fail "bin/fleetkeeper-controller --help exited $?: $out"
ok "bin/fleetkeeper-controller --help"

# Through a symlink, as install.sh links it into /usr/local/bin.
mkdir "$work/path"
ln -s "$home/bin/fleetkeeper" "$work/path/fleetkeeper"
"$work/path/fleetkeeper" --version >/dev/null || fail "bin/fleetkeeper through a symlink failed"
ok "bin/fleetkeeper runs through a symlink"

# An unreachable controller: exit 2 and exactly one line on stderr, naming the address.
port=1
set +e
"$home/bin/fleetkeeper" --controller "127.0.0.1:$port" hosts >"$work/out" 2>"$work/err"
status=$?
set -e
[ "$status" = 2 ] || fail "hosts against a closed port exited $status, expected 2; stderr: $(cat "$work/err")"
[ "$(wc -l <"$work/err" | tr -d ' ')" = 1 ] || fail "hosts against a closed port printed more than one stderr line: $(cat "$work/err")"
grep -q "127.0.0.1:$port" "$work/err" || fail "the error does not name the address: $(cat "$work/err")"
ok "unreachable controller: exit 2, one line"

# A Java that is too old: the scripts must say so instead of failing obscurely.
mkdir -p "$work/oldjava/bin"
cat >"$work/oldjava/bin/java" <<'JAVA'
#!/bin/sh
echo 'java version "1.8.0_392"' >&2
JAVA
chmod +x "$work/oldjava/bin/java"
set +e
err=$(JAVA_HOME=$work/oldjava "$home/bin/fleetkeeper" --version 2>&1)
status=$?
set -e
[ "$status" != 0 ] || fail "a Java 8 JAVA_HOME was accepted"
case $err in
  *"needs Java 17 or newer"*) ok "Java 8 refused: $err" ;;
  *) fail "a Java 8 JAVA_HOME gave: $err" ;;
esac

# The shipped controller and the shipped slim agent (bin/fleetkeeper-agent: conf/agent.jvm, the
# minimized jar) running together: the agent streams, runs a service with the built-in driver and
# answers an action. A class the jar's minimization dropped would surface here, in the agent log.
free_port() {
  p=$(( 30000 + $$ % 20000 ))
  while grep -qi ":$(printf '%04X' "$p") 00000000:0000 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null \
      || grep -qi ":$(printf '%04X' $((p + 1))) 00000000:0000 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
    p=$((p + 2))
  done
  echo "$p"
}
grpc=$(free_port)
cat >"$work/controller.yaml" <<EOF
listen: 127.0.0.1:$grpc
dataDir: $work/controller-data
metrics:
  listen: 127.0.0.1:$((grpc + 1))
EOF
svc="smoke-$$"
cat >"$work/agent.yaml" <<EOF
controller: 127.0.0.1:$grpc
stateDir: $work/agent-state
services:
  - name: $svc
    driver: builtin
    command: /bin/sleep
    args: ["3600"]
EOF
"$home/bin/fleetkeeper-controller" --config "$work/controller.yaml" >"$work/controller.log" 2>&1 &
started="$started $!"
FLEETKEEPER_CONTROLLER=127.0.0.1:$grpc
export FLEETKEEPER_CONTROLLER
"$home/bin/fleetkeeper-agent" --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
started="$started $!"
deadline=$(( $(date +%s) + 60 ))
until "$home/bin/fleetkeeper" services --json 2>/dev/null | grep -q '"MANAGER_STATE_RUNNING"'; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the agent's service did not show RUNNING within 60 s; agent log: $(tail -n 30 "$work/agent.log"); controller log: $(tail -n 10 "$work/controller.log")"
  sleep 0.5
done
"$home/bin/fleetkeeper" hosts | awk 'NR > 1 && $3 == "yes" { found = 1 } END { exit !found }' || fail "fleetkeeper hosts does not show the agent online: $("$home/bin/fleetkeeper" hosts 2>&1)"
out=$("$home/bin/fleetkeeper" doctor "$(hostname)" "$svc" 2>&1) || fail "fleetkeeper doctor exited with an error: $out; agent log: $(tail -n 30 "$work/agent.log")"
if grep -q 'ClassNotFound\|NoClassDefFound\|ServiceConfigurationError\|ERROR' "$work/agent.log"; then
  fail "the slim agent logged an error: $(grep -m 5 'ClassNotFound\|NoClassDefFound\|ServiceConfigurationError\|ERROR' "$work/agent.log")"
fi
unset FLEETKEEPER_CONTROLLER
ok "shipped controller + slim agent: host online, service $svc RUNNING (builtin), doctor answered"

# install.sh, staged (no root needed), twice: the second run must succeed and keep the config.
"$home/install.sh" --destdir "$work/root" >/dev/null || fail "install.sh --destdir failed"
echo "# edited" >>"$work/root/etc/fleetkeeper/agent.yaml"
"$home/install.sh" --destdir "$work/root" >/dev/null || fail "install.sh --destdir failed the second time"
grep -q "# edited" "$work/root/etc/fleetkeeper/agent.yaml" || fail "install.sh overwrote /etc/fleetkeeper/agent.yaml"
[ -x "$work/root/opt/fleetkeeper/bin/fleetkeeper" ] || fail "install.sh did not install bin/fleetkeeper"
[ -f "$work/root/etc/systemd/system/fleetkeeper-agent.service" ] || fail "install.sh did not install the agent unit"
[ -h "$work/root/usr/local/bin/fleetkeeper" ] || fail "install.sh did not link /usr/local/bin/fleetkeeper"
"$work/root/opt/fleetkeeper/bin/fleetkeeper" --version >/dev/null || fail "the installed bin/fleetkeeper does not run"
ok "install.sh --destdir: installs, runs again, keeps edited config"

# The slim agent jar, when it was built.
slim=
for f in "$agent_jar_dir"/fleetkeeper-agent-[0-9]*.jar; do
  [ -f "$f" ] && slim=$f
done
if [ -n "$slim" ]; then
  java -jar "$slim" --help 2>&1 | grep -q "fleetkeeper-agent" || fail "java -jar $(basename "$slim") --help did not print the agent's usage"
  entries=$(unzip -Z1 "$slim" 2>/dev/null || jar tf "$slim")
  for forbidden in org/rocksdb/ dev/fleetkeeper/controller/ dev/fleetkeeper/cli/; do
    if printf '%s\n' "$entries" | grep -q "^$forbidden"; then
      fail "$(basename "$slim") contains $forbidden"
    fi
  done
  printf '%s\n' "$entries" | grep -q '^META-INF/services/io.grpc.ManagedChannelProvider$' \
    || fail "$(basename "$slim") lost gRPC's META-INF/services (ServicesResourceTransformer)"
  ok "slim agent jar $(basename "$slim"): runs, no controller/RocksDB/CLI, gRPC services kept"
else
  ok "slim agent jar not built; skipped (./mvnw -pl deploy/agent-jar package)"
fi

printf 'dist-smoke: all passed\n'
