/**
 * Reads one pipeline file and checks its shape: the file's own keys, each node's, and each repeat
 * group's keys and nodes. What is wrong is reported; what is well formed is handed back to be declared.
 */
import type { Diagnostic, SourceFiles } from './diagnostics.js';
import { isGroupEntry, structure } from './schema.js';
import { checkAgainst, didYouMean } from './schema-check.js';
import { SourceFile, type YamlPath } from './source.js';
import { reservedKeyAt, reservedKeyMessage } from '../keyable.js';

export interface RawNode {
  kind: string;
  description?: string;
  inputs?: Record<string, string | string[] | Record<string, string>>;
  with?: Record<string, unknown>;
  foreach?: unknown;
  matrix?: Record<string, unknown>;
  salt?: string | number;
}

export interface RawGroup {
  description?: string;
  repeat: unknown;
  first?: Record<string, string>;
  nodes: Record<string, RawNode>;
}

export interface RawImport {
  file: string;
  as?: string;
  params?: Record<string, unknown>;
}

export interface RawFile {
  sparsegraph: number;
  name: string;
  imports?: (string | RawImport)[];
  params?: Record<string, unknown>;
  defaults?: Record<string, Record<string, unknown>>;
  nodes: Record<string, RawNode | RawGroup>;
}

/** A repeat group that can be declared: its nodes whose shape is right. */
export interface CheckedGroup {
  readonly localId: string;
  readonly raw: RawGroup;
  readonly members: [string, RawNode][];
}

/** A file whose shape was checked. */
export interface CheckedDocument {
  readonly file: SourceFile;
  readonly raw: RawFile;
  /** The file's own keys with a structural problem ('' for the file as a whole): they are not read further. */
  readonly broken: ReadonlySet<string>;
  /** Nodes outside repeat groups whose shape is right. */
  readonly nodes: [string, RawNode][];
  readonly groups: CheckedGroup[];
}

/** Reads a file and checks its shape; undefined (with the problems reported) when it has no nodes to declare. */
export function readDocument(display: string, absolute: string, sources: SourceFiles, problems: Diagnostic[]): CheckedDocument | undefined {
  const read = SourceFile.read(display, absolute, sources);
  if ('error' in read) {
    problems.push({ file: display, message: `cannot read pipeline file: ${read.error}` });
    return undefined;
  }
  const { file } = read;
  for (const p of read.problems) problems.push(p); // a loop: a file may have a million
  if (read.problems.length > 0) return undefined;
  if (file.data === null || typeof file.data !== 'object' || Array.isArray(file.data)) {
    problems.push(file.at([], 'a pipeline file must be a map with sparsegraph, name and nodes'));
    return undefined;
  }
  // Refused before anything reads the file's names, so no later step meets one.
  const reserved = reservedKeyAt(file.data);
  if (reserved) {
    problems.push(file.at(reserved, reservedKeyMessage, 'key'));
    return undefined;
  }
  // The file's own keys first, then each node: a problem in one place does not hide the others.
  const structural = checkAgainst(structure.file, file.data, []);
  for (const p of structural) problems.push(file.at(p.path, p.message, p.which));
  const broken = new Set(structural.map((p) => String(p.path[0] ?? '')));
  const raw = file.data as RawFile;
  if (broken.has('nodes') || (broken.has('') && !('nodes' in raw))) return undefined;
  const nodes: [string, RawNode][] = [];
  const groups: CheckedGroup[] = [];
  for (const [localId, entry] of Object.entries(raw.nodes ?? {})) {
    if (isGroupEntry(entry)) {
      const group = checkGroup(file, localId, entry as RawGroup, problems);
      if (group) groups.push(group);
      continue;
    }
    const nodeProblems = checkAgainst(structure.node, entry, ['nodes', localId]);
    for (const p of nodeProblems) problems.push(file.at(p.path, p.message, p.which));
    if (nodeProblems.length === 0) nodes.push([localId, entry as RawNode]);
  }
  return { file, raw, broken, nodes, groups };
}

/** Checks a repeat group's own keys and its nodes; undefined when it cannot be declared at all. */
function checkGroup(file: SourceFile, localId: string, group: RawGroup, reported: Diagnostic[]): CheckedGroup | undefined {
  const path: YamlPath = ['nodes', localId];
  const problems = checkAgainst(structure.group, group, path);
  for (const p of problems) reported.push(file.at(p.path, p.message, p.which));
  if (group.nodes === null || typeof group.nodes !== 'object' || Array.isArray(group.nodes)) return undefined;
  const names = Object.keys(group.nodes);
  if (names.length === 0) {
    reported.push(file.at([...path, 'nodes'], `repeat group '${localId}' has no nodes`));
    return undefined;
  }
  const members: [string, RawNode][] = [];
  for (const [m, node] of Object.entries(group.nodes)) {
    const at: YamlPath = [...path, 'nodes', m];
    // An invalid name is reported already.
    if (problems.some((p) => p.path[2] === 'nodes' && p.path[3] === m)) continue;
    if (m === 'prev') {
      reported.push(file.at(at, "a node of a repeat group cannot be named 'prev': prev.NODE names the previous level's NODE", 'key'));
      continue;
    }
    if (isGroupEntry(node)) {
      reported.push(file.at(at, `repeat groups do not nest: '${m}' is a repeat group inside repeat group '${localId}'`, 'key'));
      continue;
    }
    const nodeProblems = checkAgainst(structure.node, node, at);
    for (const p of nodeProblems) reported.push(file.at(p.path, p.message, p.which));
    if (nodeProblems.length === 0) members.push([m, node]);
  }
  const first = group.first;
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    for (const key of Object.keys(first)) {
      const node = key.split('.')[0]!;
      if (!names.includes(node)) {
        reported.push(
          file.at([...path, 'first', key], `first: '${node}' is not a node of repeat group '${localId}'${didYouMean(node, names)}; its nodes: ${names.join(', ')}`, 'key'),
        );
      }
    }
  }
  return { localId, raw: group, members };
}
