/**
 * One YAML file as read from disk: its parsed document (for source ranges) and plain data (for logic).
 * Every place in the file is named by a path of keys and indices; a path becomes a byte range only when
 * a diagnostic needs one.
 */
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { Diagnostic, SourceFiles } from './diagnostics.js';

export type YamlPath = readonly (string | number)[];

export class SourceFile {
  private constructor(
    /** The path as the user named it, used in messages. */
    readonly display: string,
    /** Absolute path, for resolving imports and detecting cycles. */
    readonly absolute: string,
    private readonly doc: Document.Parsed,
    /** Plain data of the document (null for an empty file). */
    readonly data: unknown,
  ) {}

  /**
   * Reads and parses a file. Syntax errors come back as diagnostics; a file that cannot be read gives
   * `undefined` and the caller reports it where the file was named.
   */
  static read(
    display: string,
    absolute: string,
    sources: SourceFiles,
  ): { file: SourceFile; problems: Diagnostic[] } | { error: string } {
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { error: code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(e) };
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
    sources.add(display, text, lines);
    const problems: Diagnostic[] = doc.errors.map((err) => {
      const start = syntaxErrorStart(err.code, err.message, text, err.pos[0]);
      return { file: display, range: [start, start + 1] as const, message: yamlMessage(err.code, err.message, text, start) };
    });
    if (problems.length === 0) problems.push(...unresolvedAliases(doc, display));
    const data = problems.length === 0 ? doc.toJS({ maxAliasCount: 1000 }) : null;
    return { file: new SourceFile(display, absolute, doc, data), problems };
  }

  /**
   * The byte range of the key or value at `path`. Where the path does not exist (a missing key), the
   * range of the deepest existing key is returned, so "missing key" points at its parent.
   */
  rangeOf(path: YamlPath, which: 'key' | 'value' = 'value'): readonly [number, number] {
    let node: unknown = this.doc.contents;
    let best: readonly [number, number] = [0, 1];
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
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

/** An alias whose anchor is not defined before it (yaml would throw while converting). */
function unresolvedAliases(doc: Document.Parsed, file: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return;
      const start = alias.range?.[0] ?? 0;
      found.push({
        file,
        range: [start, start + alias.source.length + 1],
        message: `YAML syntax: unresolved alias *${alias.source}: no anchor &${alias.source} is defined before it`,
      });
    },
  });
  return found;
}

/**
 * Where a syntax error should point. yaml reports some errors where it noticed them (the start of the
 * next line, the end of the file); a person wants the token that caused them.
 */
function syntaxErrorStart(code: string, message: string, text: string, offset: number): number {
  const before = text.slice(0, offset);
  if (code === 'MISSING_CHAR' && /quote/.test(message)) {
    const quote = message.includes("'") && !message.includes('"') ? "'" : '"';
    const opening = before.lastIndexOf(quote);
    if (opening >= 0) return opening;
  }
  if (/^Flow (map|sequence)/.test(message)) {
    const bracket = message.startsWith('Flow map') ? '{' : '[';
    const opening = before.lastIndexOf(bracket);
    if (opening >= 0) return opening;
  }
  if (code === 'BAD_INDENT' && (offset === 0 || text[offset - 1] === '\n')) {
    // Point at the misindented token, not at the start of its line.
    const indent = /^[ \t]*/.exec(text.slice(offset))?.[0].length ?? 0;
    return offset + indent;
  }
  return offset;
}

/** yaml's messages carry a code frame of their own; we keep the first sentence and say it our way. */
function yamlMessage(code: string, message: string, text: string, offset: number): string {
  if (code === 'DUPLICATE_KEY') {
    const rest = text.slice(offset);
    const match = /^"((?:[^"\\]|\\.)*)"|^'((?:[^']|'')*)'|^[^\s:]+/.exec(rest);
    const key = match ? (match[1] ?? match[2]?.replace(/''/g, "'") ?? match[0]) : undefined;
    return key ? `duplicate key '${key}'` : 'duplicate key';
  }
  const first = message.split('\n')[0] ?? message;
  const withoutPos = first.replace(/ at line \d+, column \d+:?$/, '');
  return `YAML syntax: ${withoutPos.charAt(0).toLowerCase()}${withoutPos.slice(1)}`;
}
