#!/usr/bin/env bash
# Sourced by bin/respawn, bin/test and scripts: exports JAVA_HOME pointing at a JDK >= 25 and puts
# its bin first on PATH. JAVA_HOME wins when it already is such a JDK; otherwise the newest JDK
# >= 25 under /usr/lib/jvm is taken. With none, prints one line naming what to install and fails.
respawn_jdk_min=25

respawn_jdk_major() { # prints the feature version of the JDK at $1, or nothing
  local release="$1/release" v
  [ -x "$1/bin/javac" ] && [ -f "$release" ] || return 0
  v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")"
  echo "${v:-}"
}

respawn_find_jdk() {
  local best="" best_v=0 d v
  if [ -n "${JAVA_HOME:-}" ]; then
    v="$(respawn_jdk_major "$JAVA_HOME")"
    if [ -n "$v" ] && [ "$v" -ge "$respawn_jdk_min" ]; then best="$JAVA_HOME"; best_v="$v"; fi
  fi
  if [ -z "$best" ]; then
    for d in /usr/lib/jvm/*; do
      [ -d "$d" ] || continue
      v="$(respawn_jdk_major "$d")"
      [ -n "$v" ] || continue
      if [ "$v" -ge "$respawn_jdk_min" ] && [ "$v" -gt "$best_v" ]; then best="$d"; best_v="$v"; fi
    done
  fi
  if [ -z "$best" ]; then
    echo "respawn: needs a JDK >= $respawn_jdk_min (set JAVA_HOME, or install one under /usr/lib/jvm, e.g. Temurin 25: apt-get install temurin-25-jdk)" >&2
    return 1
  fi
  export JAVA_HOME="$best"
  export PATH="$JAVA_HOME/bin:$PATH"
  # Maven's own bundled Guava touches sun.misc.Unsafe, which JDK 24+ warns about on every build.
  case " ${MAVEN_OPTS:-} " in
    *sun-misc-unsafe-memory-access*) ;;
    *) export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" ;;
  esac
}

respawn_find_jdk
