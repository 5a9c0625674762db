# Sourced by bin/fleetkeeper, bin/fleetkeeper-agent and bin/fleetkeeper-controller (POSIX sh).
# Expects FLEETKEEPER_HOME and FK_NAME to be set; finds a Java 17+ and starts a main class with
# the JVM flags of conf/<name>.jvm, the one place they are kept.
#
# Environment:
#   JAVA_HOME              Java to use; else `java` on PATH.
#   FLEETKEEPER_JAVA_OPTS  extra JVM flags, after those of conf/<name>.jvm (so they win).

fk_die() {
  printf '%s: %s\n' "$FK_NAME" "$*" >&2
  exit 1
}

# Sets JAVA to a java executable of version 17 or newer, or exits saying what to install.
fk_find_java() {
  if [ -n "${JAVA_HOME:-}" ]; then
    JAVA=$JAVA_HOME/bin/java
    [ -x "$JAVA" ] || fk_die "JAVA_HOME is '$JAVA_HOME' but $JAVA is not executable: point JAVA_HOME at a Java 17+ runtime, or unset it to use 'java' from PATH."
  elif JAVA=$(command -v java 2>/dev/null) && [ -n "$JAVA" ]; then
    :
  else
    fk_die "no Java found: install a Java 17+ runtime (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
  fi
  # `java -version` writes e.g.: openjdk version "17.0.15" 2025-04-15   (old style: "1.8.0_392")
  fk_version=$("$JAVA" -version 2>&1 | sed -n 's/^[^"]* version "\([^"]*\)".*/\1/p' | head -n 1)
  fk_major=${fk_version%%[.+-]*}
  if [ "$fk_major" = 1 ]; then
    fk_major=$(printf '%s' "$fk_version" | cut -d. -f2)
  fi
  case $fk_major in
    '' | *[!0-9]*) fk_die "cannot tell which Java $JAVA is (it printed no version); Fleetkeeper needs Java 17 or newer." ;;
  esac
  if [ "$fk_major" -lt 17 ]; then
    fk_die "$JAVA is Java $fk_version; Fleetkeeper needs Java 17 or newer. Install one (apt-get install openjdk-17-jre-headless) and set JAVA_HOME to it."
  fi
}

# fk_exec JVMFILE CLASSPATH MAINCLASS [ARGS...]: replaces this shell with the JVM. With
# FK_LOGBACK set, logging is configured from that file rather than from a jar's logback.xml.
fk_exec() {
  fk_jvm=$FLEETKEEPER_HOME/conf/$1
  fk_cp=$2
  fk_main=$3
  shift 3
  [ -r "$fk_jvm" ] || fk_die "missing $fk_jvm (JVM flags): the installation in $FLEETKEEPER_HOME is incomplete; reinstall it."
  fk_find_java
  # FLEETKEEPER_JAVA_OPTS is split on spaces on purpose: it holds several flags.
  # shellcheck disable=SC2086
  if [ -n "${FK_LOGBACK:-}" ]; then
    set -- "-Dlogback.configurationFile=$FK_LOGBACK" -cp "$fk_cp" "$fk_main" "$@"
  else
    set -- -cp "$fk_cp" "$fk_main" "$@"
  fi
  exec "$JAVA" "@$fk_jvm" "-Dfleetkeeper.home=$FLEETKEEPER_HOME" ${FLEETKEEPER_JAVA_OPTS:-} "$@"
}
