#!/usr/bin/env bash
# Installs supervisord (Debian/Ubuntu package `supervisor`) for the SUPERVISOR driver's tests,
# which start their own `supervisord -n -c TMP/supervisord.conf` and stop it again. The package's
# system-wide supervisord is of no use to them and must not be left running: its maintainer
# script would start it, so a policy-rc.d that refuses every start is in place during the
# install, and a daemon that started anyway (a host with systemd) is stopped afterwards.
set -euo pipefail

if command -v supervisord >/dev/null 2>&1; then
  echo "supervisor.sh: supervisord $(supervisord --version 2>/dev/null || echo '?') already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
  echo "supervisor.sh: supervisord is missing and this user cannot install it (not root, no password-less sudo)." >&2
  echo "  Install it as root: apt-get install supervisor, then stop its system service (systemctl disable --now supervisor)." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "supervisor.sh: supervisord is missing and there is no apt-get here; install supervisor 4.x with this system's package manager." >&2
  exit 1
fi

# policy-rc.d exit 101 = "action forbidden": invoke-rc.d then skips starting the service.
# Keep an existing one (containers ship one) and restore it afterwards.
policy=/usr/sbin/policy-rc.d
backup=""
if [ -e "$policy" ]; then
  backup=$(mktemp)
  $sudo cp -p "$policy" "$backup"
fi
restore_policy() {
  if [ -n "$backup" ]; then $sudo cp -p "$backup" "$policy"; rm -f "$backup"; else $sudo rm -f "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
$sudo chmod 755 "$policy"

echo "supervisor.sh: installing supervisor (apt-get)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends supervisor >/dev/null

# On a host with systemd the unit may still have been started (systemctl bypasses policy-rc.d
# on some releases): stop it and keep it from starting at boot.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now supervisor >/dev/null 2>&1 || true
fi
# Without an init, a daemon could only have been started by the package's init script.
if [ -f /var/run/supervisord.pid ]; then
  pid=$(cat /var/run/supervisord.pid)
  if [ -n "$pid" ] && grep -q supervisord "/proc/$pid/cmdline" 2>/dev/null; then
    echo "supervisor.sh: stopping the system supervisord ($pid) the package started"
    $sudo kill -TERM "$pid" || true
  fi
fi

echo "supervisor.sh: installed supervisord $(supervisord --version)"
