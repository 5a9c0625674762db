#!/usr/bin/env bash
# Installs the PM2 the agent's PM2 driver tests run against, if it is not there yet.
#
# A pinned version into a fixed prefix outside the repository, so that every worktree and every
# run shares one install and no test depends on a global `npm install -g`. The tests look for
# $PREFIX/node_modules/.bin/pm2 (override: FLEETKEEPER_TEST_PM2=/path/to/pm2) and fail, naming
# this script, when it is missing. Needs node and npm on PATH and the npm registry reachable.
#
# Environment: FLEETKEEPER_TEST_PM2_PREFIX (default: $HOME/.cache/fleetkeeper-test/pm2).
set -euo pipefail

# 6.x: the line the driver was written and tested against (7.x exists since 2025; moving to it
# is a change of this line plus a test run).
version=6.0.14
prefix=${FLEETKEEPER_TEST_PM2_PREFIX:-$HOME/.cache/fleetkeeper-test/pm2}
bin=$prefix/node_modules/.bin/pm2
stamp=$prefix/.fleetkeeper-pm2-version

if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  echo "pm2.sh: pm2 $version already installed in $prefix"
  exit 0
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "pm2.sh: '$tool' not found; install Node.js 18 or newer with npm (Debian/Ubuntu: apt-get install nodejs npm) and run again." >&2
    exit 1
  fi
done

echo "pm2.sh: installing pm2 $version into $prefix (npm install --prefix)"
mkdir -p "$prefix"
# A package.json of our own keeps npm from walking up to a parent project.
[ -f "$prefix/package.json" ] || echo '{"name":"fleetkeeper-test-pm2","private":true}' >"$prefix/package.json"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "pm2@$version"
# Not `pm2 --version`: any pm2 command spawns a daemon in ~/.pm2, and this script must leave none.
got=$(node -p "require('$prefix/node_modules/pm2/package.json').version" 2>/dev/null || true)
if [ ! -x "$bin" ] || [ "$got" != "$version" ]; then
  echo "pm2.sh: npm finished, but $bin is missing or reports version '$got' (expected $version)" >&2
  exit 1
fi
echo "$version" >"$stamp"
echo "pm2.sh: pm2 $version installed: $bin"
