#!/bin/sh
# Footprint of the shipped agent, measured against a real controller. Builds nothing: it unpacks
# the tarball, starts its controller on a loopback port and its bin/fleetkeeper-agent (the slim
# jar, conf/agent.jvm, the launcher's environment), and next to it an idle JVM started with the
# same flags and environment, so that the figures read "agent X MiB vs an idle JVM Y MiB".
#
#   deploy/src/test/agent-footprint.sh [DEPLOY_TARGET_DIR]      (default: deploy/target)
#
# Environment:
#   WAIT=60          seconds to run before reading RSS/Pss; CPU is averaged over the last half
#   PROCS=0          extra `sleep` processes to start first (e.g. 1000: a busy host to scan)
#   PORT=            controller gRPC port (default: a free one); metrics use PORT+1
#   NMT=0            1: also run both JVMs once more with -XX:NativeMemoryTracking=summary and
#                    print the summaries (NMT costs memory itself, so never in the main figures)
#   AGENT_OPTS=      extra JVM flags for the agent and the idle JVM (FLEETKEEPER_JAVA_OPTS)
#
# Needs: the tarball (./mvnw -pl deploy package), javac (for the 1-line idle class), curl.
# RSS is the figure the 64 MiB budget is about. Pss splits shared file pages (libjvm, the CDS
# archive) between the JVMs mapping them, so it is lower here, where three JVMs run.
# Cleans up everything it starts, also on ^C.
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
target=${1:-$here/../../target}
wait_s=${WAIT:-60}
procs=${PROCS:-0}

fail() {
  printf 'agent-footprint: FAIL: %s\n' "$*" >&2
  exit 1
}

tarball=
for f in "$target"/fleetkeeper-*.tar.gz; do
  [ -f "$f" ] && tarball=$f
done
[ -n "$tarball" ] || fail "no fleetkeeper-*.tar.gz in $target: build it with ./mvnw -pl deploy package"
command -v javac >/dev/null || fail "javac not found: the idle JVM's class is compiled here"

work=$(mktemp -d "${TMPDIR:-/tmp}/fleetkeeper-footprint.XXXXXX")
pids=
cleanup() {
  # Only what this script started, by PID.
  for p in $pids; do
    kill "$p" 2>/dev/null || true
  done
  for p in $pids; do
    while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
  done
  if [ -f "$work/sleepers" ]; then
    xargs kill <"$work/sleepers" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM PIPE

tar -xzf "$tarball" -C "$work"
home=$(ls -d "$work"/fleetkeeper-*/)
home=${home%/}

if [ -z "${PORT:-}" ]; then
  # A port nobody listens on: /proc/net/tcp lists listeners' ports in hex.
  PORT=$(( 20000 + $$ % 20000 ))
  while grep -qi ":$(printf '%04X' "$PORT") 00000000:0000 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null \
      || grep -qi ":$(printf '%04X' $((PORT + 1))) 00000000:0000 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
    PORT=$((PORT + 2))
  done
fi
metrics=$((PORT + 1))

if [ "$procs" -gt 0 ]; then
  i=0
  while [ "$i" -lt "$procs" ]; do
    sleep 100000 &
    echo $! >>"$work/sleepers"
    i=$((i + 1))
  done
  printf 'agent-footprint: started %s sleep processes\n' "$procs"
fi

cat >"$work/controller.yaml" <<EOF
listen: 127.0.0.1:$PORT
dataDir: $work/controller-data
metrics:
  listen: 127.0.0.1:$metrics
EOF
cat >"$work/agent.yaml" <<EOF
controller: 127.0.0.1:$PORT
stateDir: $work/agent-state
EOF
mkdir -p "$work/idle"
cat >"$work/idle/Idle.java" <<'EOF'
public final class Idle {
    public static void main(String[] args) throws InterruptedException {
        Thread.sleep(Long.MAX_VALUE);
    }
}
EOF
javac --release 17 -d "$work/idle" "$work/idle/Idle.java"

"$home/bin/fleetkeeper-controller" --config "$work/controller.yaml" >"$work/controller.log" 2>&1 &
controller=$!
pids="$pids $controller"
i=0
until curl -sf "http://127.0.0.1:$metrics/metrics" >/dev/null 2>&1; do
  kill -0 "$controller" 2>/dev/null || fail "the controller exited: $(tail -n 20 "$work/controller.log")"
  i=$((i + 1))
  [ "$i" -lt 300 ] || fail "the controller did not serve /metrics within 30 s"
  sleep 0.1
done

# The agent and the idle JVM get the same flags file and the same environment: the launcher's.
# bin/fleetkeeper-agent execs java, so $! is the JVM's PID. The idle JVM is started the way
# fk_exec starts the agent (flags file, then FLEETKEEPER_JAVA_OPTS), with the glibc malloc
# settings the launcher gave the agent (read back from the agent's /proc/PID/environ).
start_jvms() {
  extra=$1
  FLEETKEEPER_JAVA_OPTS="${AGENT_OPTS:-} $extra" \
    "$home/bin/fleetkeeper-agent" --config "$work/agent.yaml" >>"$work/agent.log" 2>&1 &
  agent=$!
  pids="$pids $agent"
  i=0
  until case $(readlink "/proc/$agent/exe" 2>/dev/null) in */java) true ;; *) false ;; esac; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || fail "the agent's launcher did not exec java: $(cat "$work/agent.log")"
    sleep 0.05
  done
  malloc_env=$(tr '\0' '\n' <"/proc/$agent/environ" | grep '^MALLOC_' || true)
  # shellcheck disable=SC2086
  env $malloc_env java "@$home/conf/agent.jvm" ${AGENT_OPTS:-} $extra -cp "$work/idle" Idle >>"$work/idle.log" 2>&1 &
  idle=$!
  pids="$pids $idle"
}

ticks() { # utime + stime of PID, in clock ticks (fields 14 and 15 after the ')' of comm)
  sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
kib() { # FIELD FILE: the kB value of a /proc "Field:   123 kB" line
  awk -v f="$1:" '$1 == f { print $2 }' "$2"
}
mib() {
  awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}
ingested() { # messages the controller has taken in, all types
  curl -sf "http://127.0.0.1:$metrics/metrics" \
    | awk '/^fleetkeeper_controller_ingest_messages_total/ { n += $NF } END { printf "%d", n }'
}

start_jvms ""
half=$((wait_s / 2))
sleep "$((wait_s - half))"
for p in $agent $idle; do
  kill -0 "$p" 2>/dev/null || fail "a JVM exited early: agent log: $(tail -n 20 "$work/agent.log"); idle log: $(cat "$work/idle.log")"
done
a0=$(ticks "$agent"); i0=$(ticks "$idle"); m0=$(ingested); t0=$(date +%s.%N)
sleep "$half"
a1=$(ticks "$agent"); i1=$(ticks "$idle"); m1=$(ingested); t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)

report() { # NAME PID T0 T1
  cpu=$(awk -v a="$3" -v b="$4" -v hz="$hz" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.2f", (b - a) / hz / (e - s) * 100 }')
  printf '%-10s RSS %6s MiB (anon %5s, file %5s)  Pss %6s MiB  CPU %5s %% of one core\n' "$1" \
    "$(mib "$(kib VmRSS "/proc/$2/status")")" "$(mib "$(kib RssAnon "/proc/$2/status")")" \
    "$(mib "$(kib RssFile "/proc/$2/status")")" "$(mib "$(kib Pss "/proc/$2/smaps_rollup")")" "$cpu"
}

echo "agent-footprint: $(basename "$tarball"), $("$home/bin/fleetkeeper-agent" --version 2>&1 | head -n 1), java $(java -version 2>&1 | sed -n 's/.*version "\(.*\)".*/\1/p')"
echo "agent-footprint: after ${wait_s} s; CPU over the last ${half} s; flags: conf/agent.jvm ${AGENT_OPTS:-}; env: $(echo $malloc_env)"
report agent "$agent" "$a0" "$a1"
report "idle JVM" "$idle" "$i0" "$i1"
awk -v a="$m0" -v b="$m1" -v s="$t0" -v e="$t1" \
  'BEGIN { printf "controller ingested %.1f messages/s from the agent\n", (b - a) / (e - s) }'
threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$agent/status")
printf 'agent threads: %s; agent log: %s lines, %s WARN/ERROR\n' "$threads" "$(wc -l <"$work/agent.log" | tr -d ' ')" \
  "$(grep -c 'WARN\|ERROR' "$work/agent.log" || true)"
[ "$m1" -gt "$m0" ] || fail "the controller took in nothing from the agent: $(tail -n 20 "$work/agent.log")"

nmt() { # committed KiB of each NMT category, the biggest first. In JDK 17's summary "Metaspace"
  # is the non-class metadata and "Class" mostly the compressed class space.
  jcmd "$1" VM.native_memory summary | awk '
    function committed(line) { sub(/.*committed=/, "", line); sub(/KB.*/, "", line); return line + 0 }
    /^Total:/ { print committed($0) "\tTotal" }
    /^-/ { name = $0; sub(/^- */, "", name); sub(/ *\(reserved.*/, "", name); if (committed($0) > 0) c[name] = committed($0) }
    /\(classes #/ { classes = $0; sub(/.*#/, "", classes); sub(/\).*/, "", classes) }
    END { for (k in c) print c[k] "\t" (k == "Class" ? "Class (" classes " classes)" : k) }' \
    | sort -t "$(printf '\t')" -k1,1nr | awk -F '\t' '{ printf "  %-24s %7d KiB\n", $2, $1 }'
}

if [ "${NMT:-0}" = 1 ]; then
  kill "$agent" "$idle"
  while kill -0 "$agent" 2>/dev/null || kill -0 "$idle" 2>/dev/null; do sleep 0.1; done
  start_jvms "-XX:NativeMemoryTracking=summary"
  sleep "$wait_s"
  echo "--- NMT, agent (RSS $(mib "$(kib VmRSS "/proc/$agent/status")") MiB with NMT on)"
  nmt "$agent"
  echo "--- NMT, idle JVM (RSS $(mib "$(kib VmRSS "/proc/$idle/status")") MiB with NMT on)"
  nmt "$idle"
fi
