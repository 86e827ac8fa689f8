# Sourced by bin/respawn: the start-up cache, the JVM's ahead-of-time cache (JDK 25,
# -XX:AOTCache) for the store's own commands, made after each build (and for each JDK) by a
# training run of about 10 s (`respawn aot-train`: a scratch single-node server driven with
# common commands, then a member's takeover rehearsal). A JVM started with it finds the classes
# parsed and linked and the hot methods' profiles recorded: a server answers its first PING in
# ~0.6 s instead of ~1.2 s and its start-up young collections copy less. Optional: a training
# that fails is not tried again until the next build (the JVM starts without the cache, as it
# also does, silently, when the cache does not fit its class path or options).
# docs/operations.md, "The start-up cache".
#
# Uses: root (the project), cp_file (touched by every build), server_classpath, common_opts,
# JAVA_HOME. aot_cache_opts sets the array aot_opts to the JVM options that use the cache (empty
# when there is none), training it first when it is missing or stale. Tested by
# respawn-server's AotCacheScriptTest.
aot_cache="$root/respawn-server/target/respawn.aot"
aot_failed="$aot_cache.failed"
# The JDK it is made for: its resolved path and its class library's date (an in-place update).
aot_jdk="$(readlink -f "$JAVA_HOME"):$(stat -c %Y "$JAVA_HOME/lib/modules" 2>/dev/null || echo 0)"
# Whether $1 (the cache, or the mark of a failed training) is newer than the build and than each
# of the project's own jars (a `mvn package` may have rebuilt one since), and for this JDK.
aot_current() {
  local made="$1" jar jars
  [ -f "$made" ] && [ "$made" -nt "$cp_file" ] \
    && [ "$(cat "$made.jdk" 2>/dev/null)" = "$aot_jdk" ] || return 1
  IFS=: read -ra jars <<< "$server_classpath"
  for jar in "${jars[@]}"; do
    if [[ "$jar" == "$root"/* ]] && [ "$jar" -nt "$made" ]; then return 1; fi
  done
  return 0
}
train_aot() {
  local log="$root/respawn-server/target/aot-train.log" tmp="$aot_cache.$$"
  local scratch="$root/respawn-server/target/aot-train.$$"
  echo "respawn: making the start-up cache (after a build, about 10 s)..." >&2
  # Without the caller's JAVA_TOOL_OPTIONS: a GC log or an agent meant for the store is not the
  # training's.
  if JAVA_TOOL_OPTIONS= timeout 300 "$JAVA_HOME/bin/java" $common_opts \
      -XX:AOTCacheOutput="$tmp" -cp "$server_classpath" \
      io.respawn.server.cli.RespawnCommand aot-train --dir "$scratch" > "$log" 2>&1 \
      && [ -s "$tmp" ] && echo "$aot_jdk" > "$aot_cache.jdk" && mv -f "$tmp" "$aot_cache"; then
    rm -f "$aot_failed" "$aot_failed.jdk"
  else
    rm -rf "$tmp" "$tmp.config" "$scratch"
    echo "$aot_jdk" > "$aot_failed.jdk" && touch "$aot_failed" || true
    echo "respawn: the start-up cache could not be made (respawn-server/target/aot-train.log); running without it until the next build" >&2
  fi
  return 0
}
# Sets aot_opts. One training at a time (members launched together): the others wait for it,
# then use it. Without flock, or where the build tree cannot be written, nothing is trained.
aot_cache_opts() {
  aot_opts=()
  if ! aot_current "$aot_cache" && ! aot_current "$aot_failed" \
      && command -v flock > /dev/null && { exec 9> "$aot_cache.lock"; } 2> /dev/null; then
    if flock -w 600 9; then
      aot_current "$aot_cache" || aot_current "$aot_failed" || train_aot
    fi
    exec 9>&-
  fi
  if aot_current "$aot_cache"; then
    aot_opts=("-XX:AOTCache=$aot_cache" "-Xlog:aot*=off" "-Xlog:cds*=off")
  fi
  return 0
}
