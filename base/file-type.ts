/**
 * What a path is when it is not a regular file, in words, for the messages that refuse it: reading a
 * FIFO waits for a writer forever, reading a device never ends, and renaming over either replaces it.
 */
import { statSync, type Stats } from 'node:fs';

/** 'a directory', 'a named pipe (FIFO)', ...; undefined for a regular file. */
export function irregularKind(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

/** What `file` is when it exists and is not a regular file (a link is followed), else undefined. */
export function irregularPath(file: string): string | undefined {
  const stats = statSync(file, { throwIfNoEntry: false });
  return stats === undefined ? undefined : irregularKind(stats);
}
