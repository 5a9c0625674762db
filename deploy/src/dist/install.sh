#!/bin/sh
# Installs this unpacked Fleetkeeper distribution. POSIX sh; run as root. Safe to run again:
# an upgrade replaces the programs, never the configuration in /etc/fleetkeeper, and starts
# nothing unless asked.
#
#   sudo ./install.sh                      install; print what to do next
#   sudo ./install.sh --start-agent        ... and enable + start the agent
#   sudo ./install.sh --start-controller   ... and enable + start the controller
#
# See --help for every option.
set -eu

PREFIX=/opt/fleetkeeper
CONF_DIR=/etc/fleetkeeper
UNIT_DIR=/etc/systemd/system
BIN_LINK=/usr/local/bin/fleetkeeper
CONTROLLER_USER=fleetkeeper
CONTROLLER_DATA=/var/lib/fleetkeeper
AGENT_STATE=/var/lib/fleetkeeper-agent
DESTDIR=
START_AGENT=no
START_CONTROLLER=no
SYSTEMD=auto

die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

say() {
  printf '%s\n' "$*"
}

usage() {
  cat <<USAGE
Usage: install.sh [OPTIONS]

Installs Fleetkeeper from this directory into $PREFIX, creates the controller's user
'$CONTROLLER_USER' and the directories $CONTROLLER_DATA and $AGENT_STATE, copies example
configuration to $CONF_DIR (only where none exists), links $BIN_LINK, and installs the
systemd units. Starts nothing unless asked.

Options:
  --prefix DIR         install the programs here (default: $PREFIX)
  --start-agent        enable and start fleetkeeper-agent.service
  --start-controller   enable and start fleetkeeper-controller.service
  --no-systemd         do not install or touch systemd units
  --destdir DIR        stage every file under DIR, as for packaging: no users, no
                       ownership, no systemctl (for tests and package builds)
  -h, --help           show this help
USAGE
}

while [ $# -gt 0 ]; do
  case $1 in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#*=}; shift ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; DESTDIR=$2; shift 2 ;;
    --destdir=*) DESTDIR=${1#*=}; shift ;;
    --start-agent) START_AGENT=yes; shift ;;
    --start-controller) START_CONTROLLER=yes; shift ;;
    --no-systemd) SYSTEMD=no; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done

case $PREFIX in
  /*) ;;
  *) die "--prefix must be an absolute path, got '$PREFIX'" ;;
esac
case $PREFIX in
  / | /usr | /etc | /var | /opt) die "--prefix '$PREFIX' would replace a system directory; pick a directory of its own, e.g. /opt/fleetkeeper" ;;
esac

SRC=$(cd "$(dirname "$0")" && pwd -P)
for f in bin/fleetkeeper bin/fleetkeeper-agent bin/fleetkeeper-controller conf/agent.jvm systemd/fleetkeeper-agent.service; do
  [ -f "$SRC/$f" ] || die "$SRC/$f is missing: run install.sh from an unpacked fleetkeeper-VERSION.tar.gz"
done
ls "$SRC"/lib/fleetkeeper-cli-*.jar >/dev/null 2>&1 || die "$SRC/lib has no fleetkeeper jars: run install.sh from an unpacked fleetkeeper-VERSION.tar.gz"

if [ -n "$DESTDIR" ]; then
  mkdir -p "$DESTDIR" || die "cannot create --destdir '$DESTDIR'"
  DESTDIR=$(cd "$DESTDIR" && pwd -P)
  SYSTEMCTL=no
  [ "$START_AGENT$START_CONTROLLER" = nono ] || die "--start-agent/--start-controller cannot be used with --destdir"
else
  [ "$(id -u)" = 0 ] || die "must run as root (it writes $PREFIX, $CONF_DIR and $UNIT_DIR, and creates a user): sudo $0"
  if [ "$SYSTEMD" != no ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    SYSTEMCTL=yes
  else
    SYSTEMCTL=no
  fi
  if [ "$START_AGENT$START_CONTROLLER" != nono ] && [ "$SYSTEMCTL" = no ]; then
    die "--start-agent/--start-controller need systemd, which is not running here (or --no-systemd was given); start bin/fleetkeeper-agent or bin/fleetkeeper-controller by other means"
  fi
fi

# 1. Programs: staged next to the target, then swapped in, so that an upgrade leaves no stale
#    jar in lib/ (the classpath is lib/*) and a failed copy leaves the old installation intact.
target=$DESTDIR$PREFIX
parent=$(dirname "$target")
mkdir -p "$parent" || die "cannot create $parent"
staging=$target.new.$$
old=$target.old.$$
trap 'rm -rf "$staging"' EXIT
rm -rf "$staging"
mkdir -p "$staging"
cp -R "$SRC/bin" "$SRC/lib" "$SRC/conf" "$SRC/systemd" "$staging/" || die "cannot copy into $staging"
cp "$SRC/install.sh" "$staging/"
[ -f "$SRC/README.md" ] && cp "$SRC/README.md" "$staging/"
chmod 0755 "$staging/bin/fleetkeeper" "$staging/bin/fleetkeeper-agent" "$staging/bin/fleetkeeper-controller" "$staging/install.sh"
if [ -e "$target" ] || [ -h "$target" ]; then
  mv "$target" "$old" || die "cannot move the old $target aside"
fi
mv "$staging" "$target" || { [ -e "$old" ] && mv "$old" "$target"; die "cannot move $staging to $target"; }
rm -rf "$old"
trap - EXIT
say "installed programs in $target"

# 2. Configuration: examples always refreshed, real files created once and never overwritten.
conf=$DESTDIR$CONF_DIR
mkdir -p "$conf"
for name in agent controller; do
  if [ -e "$conf/$name.yaml" ]; then
    say "kept $conf/$name.yaml (compare with $PREFIX/conf/$name.yaml.example after upgrades)"
  else
    cp "$SRC/conf/$name.yaml.example" "$conf/$name.yaml"
    chmod 0644 "$conf/$name.yaml"
    say "created $conf/$name.yaml from the example: review it (controller address, labels)"
  fi
done

# 3. The controller's user and the state directories.
if [ -z "$DESTDIR" ]; then
  if ! getent group "$CONTROLLER_USER" >/dev/null 2>&1; then
    groupadd --system "$CONTROLLER_USER" || die "cannot create group $CONTROLLER_USER"
  fi
  if ! getent passwd "$CONTROLLER_USER" >/dev/null 2>&1; then
    nologin=$(command -v nologin 2>/dev/null || echo /usr/sbin/nologin)
    useradd --system --gid "$CONTROLLER_USER" --home-dir "$CONTROLLER_DATA" --no-create-home \
      --shell "$nologin" --comment "Fleetkeeper controller" "$CONTROLLER_USER" \
      || die "cannot create user $CONTROLLER_USER"
    say "created system user $CONTROLLER_USER"
  fi
fi
mkdir -p "$DESTDIR$CONTROLLER_DATA" "$DESTDIR$AGENT_STATE"
chmod 0750 "$DESTDIR$CONTROLLER_DATA"
chmod 0700 "$DESTDIR$AGENT_STATE"
if [ -z "$DESTDIR" ]; then
  chown "$CONTROLLER_USER:$CONTROLLER_USER" "$CONTROLLER_DATA"
  chown root:root "$AGENT_STATE"
fi

# 4. The command on PATH.
mkdir -p "$(dirname "$DESTDIR$BIN_LINK")"
ln -sfn "$PREFIX/bin/fleetkeeper" "$DESTDIR$BIN_LINK"
say "linked $BIN_LINK -> $PREFIX/bin/fleetkeeper"

# 5. systemd units, pointing at this prefix.
if [ "$SYSTEMD" != no ]; then
  units=$DESTDIR$UNIT_DIR
  mkdir -p "$units"
  for unit in fleetkeeper-agent.service fleetkeeper-controller.service; do
    sed "s#/opt/fleetkeeper#$PREFIX#g" "$SRC/systemd/$unit" >"$units/$unit.tmp"
    chmod 0644 "$units/$unit.tmp"
    mv "$units/$unit.tmp" "$units/$unit"
  done
  say "installed units in $units"
  if [ "$SYSTEMCTL" = yes ]; then
    systemctl daemon-reload
    # An upgrade of running services takes effect on restart; say so rather than restart them.
    for unit in fleetkeeper-agent fleetkeeper-controller; do
      if systemctl is-active --quiet "$unit"; then
        say "$unit is running the previous version: systemctl restart $unit"
      fi
    done
  fi
fi

# 6. Start only what was asked for.
if [ "$START_CONTROLLER" = yes ]; then
  systemctl enable --now fleetkeeper-controller.service || die "fleetkeeper-controller did not start: journalctl -u fleetkeeper-controller"
  say "started fleetkeeper-controller"
fi
if [ "$START_AGENT" = yes ]; then
  systemctl enable --now fleetkeeper-agent.service || die "fleetkeeper-agent did not start: journalctl -u fleetkeeper-agent"
  say "started fleetkeeper-agent"
fi
if [ "$START_AGENT$START_CONTROLLER" = nono ] && [ -z "$DESTDIR" ]; then
  say ""
  say "Nothing was started. Next:"
  say "  controller host:  systemctl enable --now fleetkeeper-controller"
  say "  every host:       set 'controller:' in $CONF_DIR/agent.yaml, then systemctl enable --now fleetkeeper-agent"
  say "  check:            fleetkeeper hosts --controller CONTROLLER_HOST:7700"
fi
