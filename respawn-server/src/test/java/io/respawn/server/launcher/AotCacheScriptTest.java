package io.respawn.server.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's start-up cache logic (scripts/aot-cache.sh, sourced by bin/respawn) against a
 * stand-in JDK whose {@code java} records each training and writes (or fails to write) the
 * cache: it trains once and then uses the cache; trains again after a build, after one of the
 * project's own jars changed (not a dependency's), and for another JDK; after a failed training
 * it starts without the cache and does not train again until the next build; two launches at
 * once train once; without flock it trains nothing.
 */
class AotCacheScriptTest {
  private static final Path SCRIPT = Path.of("..", "scripts", "aot-cache.sh").toAbsolutePath();

  @TempDir Path tmp;
  private Path root;
  private Path cpFile;
  private Path projectJar;
  private Path dependencyJar;
  private Path jdk;
  private Path calls;
  private Path cache;

  @BeforeEach
  void layOutAProjectAndAJdk() throws IOException {
    root = Files.createDirectories(tmp.resolve("project"));
    Path target = Files.createDirectories(root.resolve("respawn-server/target"));
    cpFile = Files.writeString(target.resolve("respawn.classpath"), "");
    projectJar = Files.writeString(target.resolve("respawn-server.jar"), "");
    dependencyJar = Files.writeString(tmp.resolve("dependency.jar"), "");
    cache = target.resolve("respawn.aot");
    jdk = Files.createDirectories(tmp.resolve("jdk"));
    Files.createDirectories(jdk.resolve("lib"));
    Files.writeString(jdk.resolve("lib/modules"), "");
    Files.createDirectories(jdk.resolve("bin"));
    calls = tmp.resolve("calls");
    Path java = Files.writeString(jdk.resolve("bin/java"), """
        #!/usr/bin/env bash
        echo "$*" >> "$STUB_CALLS"
        sleep "${STUB_SLEEP:-0}"
        [ -z "${STUB_FAIL:-}" ] || exit 1
        for a in "$@"; do case "$a" in -XX:AOTCacheOutput=*) echo cache > "${a#*=}" ;; esac; done
        """);
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    for (Path p : List.of(cpFile, projectJar, dependencyJar, jdk.resolve("lib/modules"))) {
      age(p, -1000);
    }
  }

  @Test
  void trainsOnceThenUsesTheCacheUntilTheBuildOrAProjectJarChanges() throws Exception {
    assertThat(launch(Map.of())).containsExactly("-XX:AOTCache=" + cache, "-Xlog:aot*=off",
        "-Xlog:cds*=off");
    assertThat(launch(Map.of())).hasSize(3);
    assertThat(trainings()).isEqualTo(1);

    changedSinceTheCache(dependencyJar); // not ours: the JVM checks it
    assertThat(launch(Map.of())).hasSize(3);
    assertThat(trainings()).isEqualTo(1);

    changedSinceTheCache(projectJar); // `mvn package` by hand
    assertThat(launch(Map.of())).hasSize(3);
    assertThat(trainings()).isEqualTo(2);

    changedSinceTheCache(cpFile); // a build by the launcher
    assertThat(launch(Map.of())).hasSize(3);
    assertThat(trainings()).isEqualTo(3);

    age(jdk.resolve("lib/modules"), -10); // the JDK updated in place
    assertThat(launch(Map.of())).hasSize(3);
    assertThat(trainings()).isEqualTo(4);
    assertThat(launch(Map.of())).hasSize(3);
    assertThat(trainings()).isEqualTo(4);
  }

  @Test
  void aFailedTrainingStartsWithoutTheCacheAndWaitsForTheNextBuild() throws Exception {
    assertThat(launch(Map.of("STUB_FAIL", "1"))).isEmpty();
    assertThat(launch(Map.of())).isEmpty(); // would succeed now, but is not tried again
    assertThat(trainings()).isEqualTo(1);
    assertThat(Files.exists(cache)).isFalse();

    age(cache.resolveSibling("respawn.aot.failed"), -500);
    age(cpFile, -100); // the next build
    assertThat(launch(Map.of())).hasSize(3);
    assertThat(trainings()).isEqualTo(2);
  }

  @Test
  void twoLaunchesAtOnceTrainOnceAndBothUseTheCache() throws Exception {
    Process a = start(Map.of("STUB_SLEEP", "1"), null);
    Process b = start(Map.of("STUB_SLEEP", "1"), null);
    assertThat(output(a)).hasSize(3);
    assertThat(output(b)).hasSize(3);
    assertThat(trainings()).isEqualTo(1);
  }

  @Test
  void withoutFlockNothingIsTrained() throws Exception {
    Path bin = Files.createDirectories(tmp.resolve("bin-without-flock"));
    for (String tool : List.of("bash", "cat", "stat", "readlink", "timeout", "mv", "rm", "touch",
        "sleep", "env")) {
      Path found = which(tool);
      Files.createSymbolicLink(bin.resolve(tool), found);
    }
    assertThat(output(start(Map.of(), bin.toString()))).isEmpty();
    assertThat(trainings()).isZero();
  }

  // ---- helpers

  private List<String> launch(Map<String, String> env) throws Exception {
    return output(start(env, null));
  }

  private Process start(Map<String, String> env, String path) throws IOException {
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", """
        set -euo pipefail
        source "$SCRIPT"
        aot_cache_opts
        printf '%s\\n' ${aot_opts[@]+"${aot_opts[@]}"}
        """);
    Map<String, String> e = pb.environment();
    e.put("SCRIPT", SCRIPT.toString());
    e.put("root", root.toString());
    e.put("cp_file", cpFile.toString());
    e.put("server_classpath", dependencyJar + ":" + projectJar);
    e.put("common_opts", "-XX:+UseParallelGC");
    e.put("JAVA_HOME", jdk.toString());
    e.put("STUB_CALLS", calls.toString());
    e.putAll(env);
    if (path != null) {
      e.put("PATH", path);
    }
    return pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
  }

  private static List<String> output(Process p) throws Exception {
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    List<String> lines = new ArrayList<>();
    for (String line : out.split("\n")) {
      if (!line.isBlank()) {
        lines.add(line);
      }
    }
    return lines;
  }

  private int trainings() throws IOException {
    return Files.exists(calls) ? Files.readAllLines(calls).size() : 0;
  }

  /** {@code p} was written after the cache was made. */
  private void changedSinceTheCache(Path p) throws IOException {
    age(cache, -500);
    age(p, -100);
  }

  private static void age(Path p, long secondsFromNow) throws IOException {
    Files.setLastModifiedTime(p, FileTime.from(Instant.now().plusSeconds(secondsFromNow)));
  }

  private static Path which(String tool) throws IOException {
    for (String dir : System.getenv("PATH").split(":")) {
      Path p = Path.of(dir, tool);
      if (Files.isExecutable(p)) {
        return p.toRealPath();
      }
    }
    throw new IOException(tool + " not found on PATH");
  }
}
