/**
 * One YAML file as read from disk: its parsed document (for source ranges) and plain data (for logic).
 * Every place in the file is named by a path of keys and indices; a path becomes a range of the text
 * only when a diagnostic needs one.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { lineTable, type Diagnostic, type SourceFiles } from './diagnostics.js';
import { parseYamlDocument } from './parse-yaml.js';
import { readPipelineText } from './read-text.js';

export type YamlPath = readonly (string | number)[];

export class SourceFile {
  private constructor(
    /** The path as the user named it, used in messages. */
    readonly display: string,
    /** Absolute path, for resolving imports and detecting cycles. */
    readonly absolute: string,
    /** Absent when the text could not be parsed (it is not UTF-8, or nests too deep). */
    private readonly doc: Document.Parsed | undefined,
    /** Plain data of the document (null for an empty file or one with problems). */
    readonly data: unknown,
  ) {}

  /**
   * Reads and parses a file. Problems with its text (encoding, syntax, limits) come back as
   * diagnostics; a file that cannot be read at all gives `error`, and the caller reports it where the
   * file was named.
   */
  static read(
    display: string,
    absolute: string,
    sources: SourceFiles,
  ): { file: SourceFile; problems: Diagnostic[] } | { error: string } {
    const read = readPipelineText(absolute);
    if ('error' in read) return { error: read.error };
    const { text } = read;
    sources.add(display, text, lineTable(text));
    if (read.problem) {
      const { offset, message } = read.problem;
      return { file: new SourceFile(display, absolute, undefined, null), problems: [{ file: display, range: [offset, offset + 1], message }] };
    }
    const { doc, data, problems: found } = parseYamlDocument(text);
    const problems: Diagnostic[] = found.map((p) => ({ file: display, ...p }));
    return { file: new SourceFile(display, absolute, doc, data), problems };
  }

  /**
   * The range (offsets in the text) of the key or value at `path`. Where the path does not exist (a
   * missing key), the range of the deepest existing key is returned, so "missing key" points at its parent.
   */
  rangeOf(path: YamlPath, which: 'key' | 'value' = 'value'): readonly [number, number] {
    let node: unknown = this.doc?.contents;
    let best: readonly [number, number] = [0, 1];
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = pairsByKey(node).get(String(segment));
        if (!pair) return best;
        const keyRange = rangeOfNode(pair.key as Node);
        if (keyRange) best = keyRange;
        if (last && which === 'key') return best;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        if (node === undefined) return best;
      } else {
        return best;
      }
      const valueRange = rangeOfNode(node as Node | null);
      if (valueRange && last) return valueRange;
    }
    return best;
  }

  /** A diagnostic at the key or value found at `path`. */
  at(path: YamlPath, message: string, which: 'key' | 'value' = 'value'): Diagnostic {
    return { file: this.display, range: this.rangeOf(path, which), message };
  }
}

function rangeOfNode(node: Node | null | undefined): readonly [number, number] | undefined {
  const range = node?.range;
  if (!range) return undefined;
  return [range[0], Math.max(range[1], range[0] + 1)];
}

const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

/** A map's pairs by key, built once per map: a file with 100,000 nodes may have as many diagnostics. */
function pairsByKey(map: YAMLMap): Map<string, Pair> {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) {
      // The first pair with a key is the one a path names (a later one is a duplicate, reported).
      if (isPair(p) && isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p as Pair);
    }
    pairIndex.set(map, index);
  }
  return index;
}
