package io.respawn.storage.backup;

import java.util.List;

/**
 * One BatchPull reply: the current versions (tombstones included) found in the next large chunk
 * of the logs, and where to continue. {@code next.isDone()} means everything has been sent.
 *
 * @param bytesRead log bytes read for this chunk
 */
public record BatchPullChunk(List<BackupEntry> entries, BatchPullCursor next, long bytesRead) {}
