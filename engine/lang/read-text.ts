/**
 * The text of a pipeline file (or of a file it imports), read the way a file nobody here wrote must be
 * read: only a regular file is opened for reading (a FIFO, a device or a directory is refused without
 * waiting on it), at most {@link MAX_PIPELINE_BYTES} bytes are read, and the bytes must be UTF-8 text
 * with LF or CRLF line breaks. What is wrong comes back as words: a whole-file reason (`error`) or a
 * problem at one offset of the decoded text.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { irregularKind } from '../../base/file-type.js';
import { MAX_PIPELINE_BYTES } from './limits.js';

export type TextRead =
  | { readonly text: string; readonly problem?: { readonly offset: number; readonly message: string } }
  | { readonly error: string };

export function readPipelineText(absolute: string): TextRead {
  // Node refuses such a path with an internal error code; no file system has a name holding NUL.
  if (absolute.includes('\0')) return { error: 'the path holds a NUL byte, which no file name can' };
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    fd = openSync(absolute, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    return { error: openProblem(e as NodeJS.ErrnoException) };
  }
  try {
    // The opened file is checked, not the path: nothing can be swapped in between.
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { error: notRegular(stats) };
    if (stats.size > MAX_PIPELINE_BYTES) return { error: tooLarge(stats.size) };
    const bytes = Buffer.allocUnsafe(Math.min(stats.size, MAX_PIPELINE_BYTES) + 1);
    let length = 0;
    // A file that grows while it is read is still read only up to the limit (one byte more says it grew past).
    for (let n = -1; n !== 0 && length < bytes.length; length += n) n = readSync(fd, bytes, length, bytes.length - length, null);
    if (length > MAX_PIPELINE_BYTES) return { error: tooLarge(length) };
    return decode(bytes.subarray(0, length));
  } catch (e) {
    return { error: openProblem(e as NodeJS.ErrnoException) };
  } finally {
    closeSync(fd);
  }
}

function openProblem(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'ENOTDIR':
      return 'no such file (a folder on its path is a file)';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'too many levels of symbolic links (a symbolic link that points to itself?)';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    case 'ENXIO':
      return 'is not a regular file';
    default:
      return e.code ? `${e.code} (${e.message.split(',')[0]})` : e.message;
  }
}

function notRegular(stats: Stats): string {
  if (stats.isDirectory()) return 'is a directory';
  return `is ${irregularKind(stats)}, not a regular file; a pipeline is read from a regular file`;
}

function tooLarge(bytes: number): string {
  const count = (n: number) => n.toLocaleString('en');
  return `is ${count(bytes)} bytes; a pipeline file may hold at most 16 MiB (${count(MAX_PIPELINE_BYTES)} bytes)`;
}

const MUST_BE_UTF8 = 'pipeline files must be UTF-8 text; save it as UTF-8';

/** The text of the bytes, without a UTF-8 byte-order mark (so that it shifts no column). */
function decode(bytes: Buffer): TextRead {
  const wide = wideEncoding(bytes);
  if (wide) return { error: `is ${wide} text; ${MUST_BE_UTF8}` };
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const body = bytes.subarray(bom);
  const text = body.toString('utf8');
  // The offset of a bad byte in the text is the length of the text decoded before it.
  const at = (byte: number) => body.subarray(0, byte).toString('utf8').length;
  if (!isUtf8(body)) {
    const bad = Math.max(0, firstInvalidUtf8(body));
    const hex = `0x${body[bad]!.toString(16).toUpperCase().padStart(2, '0')}`;
    return { text, problem: { offset: at(bad), message: `invalid UTF-8: byte ${hex} is not part of a UTF-8 character; ${MUST_BE_UTF8}` } };
  }
  const nul = body.indexOf(0);
  if (nul >= 0) return { text, problem: { offset: at(nul), message: `a NUL byte: ${MUST_BE_UTF8}, not binary data` } };
  // Only the first character may be a byte-order mark; another one (a file saved twice with a BOM, or
  // pasted together) is an invisible character that yaml would read as part of a name or a value.
  const bomAgain = text.indexOf('\uFEFF');
  if (bomAgain >= 0) {
    const where = bomAgain === 0 ? 'a second byte-order mark (U+FEFF) after the first' : 'a byte-order mark (U+FEFF) after the start of the file';
    return { text, problem: { offset: bomAgain, message: `${where}: it is invisible, and only the first character of a file may be one; delete it` } };
  }
  const cr = /\r(?!\n)/.exec(text);
  if (cr) {
    return {
      text,
      problem: {
        offset: cr.index,
        message: 'a line ends with a lone carriage return (CR, as classic Mac OS wrote them); pipeline files must break lines with LF or CRLF',
      },
    };
  }
  return { text };
}

/**
 * UTF-16 or UTF-32, from a byte-order mark, or from the NUL bytes that text of mostly ASCII characters
 * has in every other byte (every 4th: UTF-32) when it has no mark.
 */
function wideEncoding(bytes: Buffer): string | undefined {
  const [b0, b1, b2, b3] = bytes;
  if (b0 === 0xff && b1 === 0xfe && b2 === 0 && b3 === 0) return 'UTF-32 LE';
  if (b0 === 0 && b1 === 0 && b2 === 0xfe && b3 === 0xff) return 'UTF-32 BE';
  if (b0 === 0xff && b1 === 0xfe) return 'UTF-16 LE';
  if (b0 === 0xfe && b1 === 0xff) return 'UTF-16 BE';
  if (bytes.indexOf(0) < 0) return undefined;
  const sample = bytes.subarray(0, 4096 - (Math.min(bytes.length, 4096) % 4));
  const zeros = [0, 0, 0, 0];
  for (let i = 0; i < sample.length; i++) if (sample[i] === 0) zeros[i % 4]!++;
  const quarter = sample.length / 4;
  const mostly = (n: number) => n >= quarter * 0.6;
  const few = (n: number) => n <= quarter * 0.1;
  const [z0, z1, z2, z3] = zeros as [number, number, number, number];
  if (few(z0) && mostly(z1) && mostly(z2) && mostly(z3)) return 'UTF-32 LE';
  if (mostly(z0) && mostly(z1) && mostly(z2) && few(z3)) return 'UTF-32 BE';
  if (few(z0) && few(z2) && mostly(z1) && mostly(z3)) return 'UTF-16 LE';
  if (mostly(z0) && mostly(z2) && few(z1) && few(z3)) return 'UTF-16 BE';
  return undefined;
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const continuation = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (continuation === 0) return i;
    let point = lead & (0x3f >> continuation);
    for (let k = 1; k <= continuation; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      point = (point << 6) | (next & 0x3f);
    }
    const shortest = [0, 0x80, 0x800, 0x10000][continuation]!;
    if (point < shortest || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) return i;
    i += continuation + 1;
  }
  return -1;
}
