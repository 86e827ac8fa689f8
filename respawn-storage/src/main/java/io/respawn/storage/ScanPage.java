package io.respawn.storage;

import java.util.List;

/**
 * One page of a SCAN iteration.
 *
 * @param keys keys in this page
 * @param nextCursor cursor to pass to the next call; 0 when the iteration is complete
 */
public record ScanPage(List<byte[]> keys, long nextCursor) {}
