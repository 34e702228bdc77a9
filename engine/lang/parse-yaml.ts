/**
 * YAML text to a `yaml` document with source ranges, and what the library leaves to its caller when the
 * text may be hostile: a limit on nesting (checked while the text is read, before anything recursive
 * sees it), duplicate keys found in one pass (the library's own check compares every key with every
 * earlier one: quadratic in a map of 100,000 nodes), and aliases that are unresolved, contain
 * themselves, or expand the file past a limit (an alias bomb). Problems come back as ranges of the text.
 */
import {
  Composer,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  Parser,
  visit,
  type Alias,
  CST,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { MAX_ALIAS_VALUES, MAX_ALIASES, MAX_NESTING, MAX_TOKENS, MAX_VALUES } from './limits.js';
import { RESERVED_KEY, reservedKeyMessage, underflowedLiteral } from '../keyable.js';

export interface YamlProblem {
  readonly range: readonly [number, number];
  readonly message: string;
}

export interface ParsedYaml {
  /** Absent when the text could not be composed at all (nested too deep). */
  readonly doc?: Document.Parsed;
  /** Plain data of the document: null when there are problems (or the text is empty). */
  readonly data: unknown;
  readonly problems: YamlProblem[];
}

export function parseYamlDocument(text: string): ParsedYaml {
  const tokens = tokensWithinLimits(text);
  if ('problem' in tokens) return { data: null, problems: [tokens.problem] };
  // uniqueKeys off: duplicates are found below, in one pass. The YAML 1.2 core schema whatever the file
  // says, without the tags (!!set, !!binary, !!timestamp) that would put a Set, a Buffer or a Date in the data.
  const composer = new Composer({ prettyErrors: false, uniqueKeys: false, merge: true, schema: 'core', resolveKnownTags: false });
  let doc: Document.Parsed | undefined;
  const problems: YamlProblem[] = [];
  for (const next of composer.compose(tokens.tokens, true, text.length)) {
    if (!doc) {
      doc = next;
      continue;
    }
    const start = next.range[0];
    problems.push({ range: [start, start + 1], message: 'a pipeline file holds one YAML document; another one starts here' });
    break;
  }
  for (const err of doc!.errors) {
    const start = syntaxErrorStart(err.code, err.message, text, err.pos[0]);
    problems.push({ range: [start, start + 1], message: yamlMessage(err.message) });
  }
  // What yaml only warns about would otherwise pass unseen: an unknown tag's value is read as if untagged.
  for (const warning of doc!.warnings) {
    const start = warning.pos[0];
    const tag = /^Unresolved tag: (\S+)/.exec(warning.message)?.[1]?.replace('tag:yaml.org,2002:', '!!');
    const message = tag
      ? `YAML tag ${tag} is not supported: pipeline files hold maps, lists, strings, numbers, booleans and null`
      : yamlMessage(warning.message);
    problems.push({ range: [start, start + 1], message });
  }
  const version = /^%YAML[ \t]+(\S+)/m.exec(text);
  if (doc!.directives.yaml.explicit && doc!.directives.yaml.version !== '1.2' && version) {
    problems.push({
      range: [version.index, version.index + version[0].length],
      message: `pipeline files are YAML 1.2, not ${version[1]}: drop the %YAML line (YAML 1.1 reads yes, no and 017 otherwise)`,
    });
  }
  for (const p of checkDocument(doc!)) problems.push(p); // a loop: there may be a million
  let data: unknown = null;
  if (problems.length === 0) {
    try {
      // Aliases are counted and bounded above; the library's own count would refuse a file that uses
      // one anchor a thousand times, and say so without a place.
      data = doc!.toJS({ maxAliasCount: -1 });
    } catch (e) {
      problems.push({ range: [0, 1], message: `YAML: ${(e as Error).message.split('\n')[0]}` });
    }
  }
  return { doc: doc!, data, problems };
}

/**
 * The CST tokens of the text, or where it writes too many values or nests maps and lists too deep (the
 * parser keeps a stack of the open ones), found before a token of it is composed.
 */
function tokensWithinLimits(text: string): { tokens: CST.Token[] } | { problem: YamlProblem } {
  const parser = new Parser();
  const tokens: CST.Token[] = [];
  // The stack holds the document, each open collection and a scalar being read.
  const limit = MAX_NESTING + 2;
  let values = 0;
  let lexemes = 0;
  const tooMany = (what: string, limit: number) => {
    const at = parser.offset;
    return { problem: { range: [at, at + 1], message: `YAML size: more than ${limit.toLocaleString('en')} ${what}; a pipeline file may hold at most that many` } as const };
  };
  for (const lexeme of new Lexer().lex(text)) {
    if (++lexemes > MAX_TOKENS) return tooMany('tokens (values, indicators, comments and line breaks)', MAX_TOKENS);
    if (VALUE_LEXEMES.has(CST.tokenType(lexeme)) && ++values > MAX_VALUES) return tooMany('values (counting the commas between them)', MAX_VALUES);
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (parser.stack.length > limit) {
      const at = parser.stack[limit]?.offset ?? parser.offset;
      return { problem: { range: [at, at + 1], message: `YAML nesting: maps and lists nest deeper than ${MAX_NESTING} levels here; a pipeline file may nest at most ${MAX_NESTING}` } };
    }
  }
  for (const token of parser.end()) tokens.push(token);
  return { tokens };
}

// A comma counts: each one makes an entry of a flow collection (an empty one is an error of its own).
const VALUE_LEXEMES = new Set<string | null>(['comma', 'doc-start', 'scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'block-scalar-header', 'alias', 'flow-map-start', 'flow-seq-start']);

/** Values and nesting depth of a node with its aliases expanded. */
interface Extent {
  readonly values: number;
  readonly depth: number;
}

/** Duplicate keys, keys that are not plain values, merges of what is not a map, and aliases, in one pass. */
function checkDocument(doc: Document.Parsed): YamlProblem[] {
  const problems: YamlProblem[] = [];
  const at = (node: Node | Pair, message: string): YamlProblem => {
    const range = isPair(node) ? (node.key as Node | null)?.range : node.range;
    const start = range?.[0] ?? 0;
    return { range: [start, Math.max(start + 1, range?.[1] ?? 0)], message };
  };
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  const extents = new Map<Node, Extent>();
  const extent = (node: unknown): Extent => {
    if (isAlias(node)) {
      const target = targets.get(node);
      return target ? extent(target) : { values: 1, depth: 0 };
    }
    if (!isCollection(node)) return { values: node === null || node === undefined ? 0 : 1, depth: 0 };
    let found = extents.get(node);
    if (found) return found;
    let values = 1;
    let depth = 0;
    for (const item of node.items) {
      for (const part of isPair(item) ? [item.key, item.value] : [item]) {
        const e = extent(part);
        values += e.values;
        depth = Math.max(depth, e.depth);
      }
    }
    extents.set(node, (found = { values, depth: depth + 1 }));
    return found;
  };
  const resolved = (node: unknown): unknown => (isAlias(node) ? targets.get(node) : node);
  const maps: YAMLMap[] = [];
  let aliases = 0;
  let added = 0;
  visit(doc, {
    Node(_, node, path) {
      if (isAlias(node)) {
        if (++aliases > MAX_ALIASES) {
          problems.push(at(node, `YAML aliases: more than ${MAX_ALIASES} aliases in one file`));
          return visit.BREAK;
        }
        const target = anchors.get(node.source);
        if (!target) {
          const start = node.range?.[0] ?? 0;
          problems.push({
            range: [start, start + node.source.length + 1],
            message: `YAML syntax: unresolved alias *${node.source}: no anchor &${node.source} is defined before it`,
          });
          return undefined;
        }
        if (path.includes(target)) {
          problems.push(at(node, `YAML aliases: *${node.source} is inside the value anchored &${node.source}, which would contain itself`));
          return undefined;
        }
        targets.set(node, target);
        const { values, depth } = extent(target);
        added += values;
        if (added > MAX_ALIAS_VALUES) {
          problems.push(at(node, `YAML aliases expand the file past ${MAX_ALIAS_VALUES.toLocaleString('en')} values here (an alias bomb?)`));
          return visit.BREAK;
        }
        if (path.filter(isCollection).length + depth > MAX_NESTING) {
          problems.push(at(node, `YAML nesting: with *${node.source} expanded, maps and lists nest deeper than ${MAX_NESTING} levels here`));
          return visit.BREAK;
        }
        return undefined;
      }
      if (isScalar(node) && typeof node.value === 'number' && typeof node.source === 'string') {
        const message = underflowedLiteral(node.source, node.value);
        if (message) problems.push(at(node, message));
      }
      if (node.anchor) anchors.set(node.anchor, node);
      if (isMap(node)) maps.push(node);
      return undefined;
    },
  });
  // After the pass, when every alias a key or a merge uses is resolved.
  for (const map of maps) checkKeys(map.items, resolved, at, problems);
  return problems;
}

/** The keys of one map: plain values, each once; a merge key (`<<`) brings maps. */
function checkKeys(
  pairs: readonly Pair[],
  resolved: (node: unknown) => unknown,
  at: (node: Node | Pair, message: string) => YamlProblem,
  problems: YamlProblem[],
): void {
  const seen = new Set<string>();
  for (const pair of pairs) {
    const key = resolved(pair.key);
    if (isScalar(key) && typeof key.value === 'symbol') {
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      if (!sources.every((s) => isMap(resolved(s)))) problems.push(at(pair, 'a merge (<<) takes a map, an alias of a map, or a list of them'));
      continue;
    }
    if (key !== null && !isScalar(key)) {
      problems.push(at(pair, 'a key must be a plain value (a name or a number), not a list or a map'));
      continue;
    }
    // The key as a property name of the data: 1 and '1' are the same key there.
    const name = key === null || key.value === null ? '' : String(key.value);
    // Refused where it is written: merged (<<) into another map, it would otherwise be found only there.
    if (name === RESERVED_KEY) problems.push(at(pair, reservedKeyMessage));
    else if (seen.has(name)) problems.push(at(pair, `duplicate key '${name}'`));
    else seen.add(name);
  }
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
function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  const withoutPos = first.replace(/ at line \d+, column \d+:?$/, '');
  return `YAML syntax: ${withoutPos.charAt(0).toLowerCase()}${withoutPos.slice(1)}`;
}
