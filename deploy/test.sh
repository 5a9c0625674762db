#!/usr/bin/env bash
# Quick start, command 2 of 2: run the whole test suite.
#
# Installs what the tests drive for real if it is missing (Debian/Ubuntu packages: iproute2
# for ss, procps for ps, perl, util-linux for setsid), then builds everything and runs every
# module's tests with the Maven wrapper, then smoke-tests the distribution tarball. Extra
# arguments go to Maven (e.g. -pl agent). .ci/run calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."

java_bin=${JAVA_HOME:+$JAVA_HOME/bin/}java
if ! command -v "$java_bin" >/dev/null 2>&1; then
  echo "test.sh: no java found. Install a JDK 17 or newer (Debian/Ubuntu: sudo apt-get install openjdk-17-jdk-headless) or set JAVA_HOME." >&2
  exit 1
fi

missing=()
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
command -v ps >/dev/null 2>&1 || missing+=(procps)
command -v perl >/dev/null 2>&1 || missing+=(perl)
command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "test.sh: the tests need these Debian packages: ${missing[*]}; install them (as root: apt-get install ${missing[*]}) and run again." >&2
    exit 1
  fi
  echo "Installing test prerequisites: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Managers the tests drive for real (supervisord, PM2, ...): each deploy/src/test/deps/*.sh
# installs one if it is missing and prints what it did; a failure stops the run with its reason.
for dep in deploy/src/test/deps/*.sh; do
  [ -f "$dep" ] || continue
  bash "$dep" || { echo "test.sh: $dep failed: the tests cannot run without what it installs" >&2; exit 1; }
done

status=0
./mvnw -B -ntp verify "$@" || status=$?

if [ $status -eq 0 ] && [ $# -eq 0 ]; then
  bash deploy/src/test/dist-smoke.sh || status=$?
fi

# One closing line for people and CI: every module's Surefire results added up.
python_free_sum() {
  local tests=0 failures=0 errors=0 skipped=0 f line
  for f in */target/surefire-reports/TEST-*.xml deploy/*/target/surefire-reports/TEST-*.xml; do
    [ -f "$f" ] || continue
    line=$(grep -m1 -o '<testsuite [^>]*>' "$f" || true)
    tests=$((tests + $(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$line")))
    failures=$((failures + $(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$line")))
    errors=$((errors + $(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$line")))
    skipped=$((skipped + $(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$line")))
  done
  echo "tests: $((tests - failures - errors - skipped)) passed, $((failures + errors)) failed, $skipped skipped"
}
python_free_sum
exit $status
