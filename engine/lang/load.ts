/**
 * Reads a pipeline file and everything it imports into node declarations: each with its file, its
 * params scope, and the kind defaults in force. Nothing is swept or connected yet.
 */
import { dirname, relative, resolve } from 'node:path';
import type { KindRegistry } from '../registry.js';
import { formatDiagnostic, type Diagnostic, type SourceFiles } from './diagnostics.js';
import { interpolate, type InterpolationProblem } from './interpolate.js';
import { isGroupEntry, structure } from './schema.js';
import { checkAgainst, didYouMean } from './schema-check.js';
import { Type } from '@sinclair/typebox';
import { SourceFile, type YamlPath } from './source.js';
import { RESERVED_KEY, reservedKeyAt, reservedKeyMessage, unkeyableAt } from '../keyable.js';
import { formatCount, MAX_INSTANCES, MAX_PARAM_CHAIN } from './limits.js';
import { parseYamlDocument } from './parse-yaml.js';

/** Where a value was written, so a later problem with it points there. */
export interface Origin {
  readonly file: SourceFile;
  readonly path: YamlPath;
}

/** A `--set NAME=VALUE` override of the root file's params. */
export interface ParamOverride {
  readonly path: readonly string[];
  readonly value: unknown;
  /** The argument as typed, for messages. */
  readonly text: string;
}

export interface RawNode {
  kind: string;
  description?: string;
  inputs?: Record<string, string | string[] | Record<string, string>>;
  with?: Record<string, unknown>;
  foreach?: unknown;
  matrix?: Record<string, unknown>;
  salt?: string | number;
}

interface RawGroup {
  description?: string;
  repeat: unknown;
  first?: Record<string, string>;
  nodes: Record<string, RawNode>;
}

interface RawImport {
  file: string;
  as?: string;
  params?: Record<string, unknown>;
}

interface RawFile {
  sparsegraph: number;
  name: string;
  imports?: (string | RawImport)[];
  params?: Record<string, unknown>;
  defaults?: Record<string, Record<string, unknown>>;
  nodes: Record<string, RawNode | RawGroup>;
}

/**
 * A `repeat:` group: its nodes are declared once per level 1..count, a level's nodes read the same
 * level's nodes by their local ids and the previous level's as `prev.NODE`; at level 1, `prev.NODE` means
 * the reference `first` gives for NODE.
 */
export interface RepeatGroup {
  /** Full id: the import prefixes and the group's key, joined by '/'. */
  readonly id: string;
  readonly localId: string;
  /** Prefix of the unit it was declared in: `first` references resolve there. */
  readonly prefix: string;
  readonly file: SourceFile;
  /** Where the group is written: `['nodes', GROUP]`. */
  readonly path: YamlPath;
  /** Number of levels; undefined when the count is wrong (reported): its nodes are then checked, not expanded. */
  readonly count: number | undefined;
  /** `NODE` or `NODE.PORT` to the reference `prev.NODE` (`prev.NODE.PORT`) stands for at level 1. */
  readonly first: Readonly<Record<string, string>>;
  /** Local ids of the group's nodes. */
  readonly members: readonly string[];
}

/** How deep imports may chain, and how many units imports may load in all (a pipeline uses a few). */
export const MAX_IMPORT_DEPTH = 64;
export const MAX_IMPORTS = 1_000;

/** The axis a repeat group adds to its nodes' instances: `GROUP/NODE[level=k]`. */
export const LEVEL_AXIS = 'level';

export interface NodeDecl {
  /**
   * Unique id of the declaration: the import prefixes and the local id joined by '/'; for one level of a
   * node in a repeat group, `GROUP/NODE[level=k]`.
   */
  readonly id: string;
  /** The node as people name it in references and on the command line: `id` without a level. */
  readonly nodeId: string;
  readonly localId: string;
  /** Where the node is written: `['nodes', NODE]`, or `['nodes', GROUP, 'nodes', NODE]`. */
  readonly path: YamlPath;
  /** Prefix of the unit it was declared in ('' for the root file), used to resolve its references. */
  readonly prefix: string;
  readonly file: SourceFile;
  readonly raw: RawNode;
  /** The declaring file's params after imports' and --set overrides. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Params whose value was written in another file (an importer's `params:`), and where. */
  readonly paramOrigins: ReadonlyMap<string, Origin>;
  /** For a node of a repeat group: the group, and which level this declaration is. */
  readonly repeat?: { readonly group: RepeatGroup; readonly level: number };
}

/** Per kind, each defaulted parameter's value and where it was written. */
export type KindDefaults = Map<string, Map<string, { value: unknown; origin: Origin }>>;

export interface LoadedPipeline {
  readonly root: SourceFile;
  readonly name: string;
  readonly nodes: NodeDecl[];
  readonly defaults: KindDefaults;
}

export interface LoadResult {
  readonly pipeline?: LoadedPipeline;
  readonly problems: Diagnostic[];
  /** Problems with the command line (exit code 2), not with a file. */
  readonly usage: string[];
}

/** Parses `NAME=VALUE` (VALUE typed as YAML) into an override. */
export function parseOverride(text: string): ParamOverride | string {
  // A value may be megabytes long (a hostile one): messages quote its start.
  const flag = `--set ${text.length > 100 ? `${text.slice(0, 97)}...` : text}`;
  const eq = text.indexOf('=');
  if (eq <= 0) return `${flag}: expected NAME=VALUE`;
  const name = text.slice(0, eq).trim();
  // The bounded parser files are read with: a value is as hostile as a file can be (aliases, nesting).
  const parsed = parseYamlDocument(text.slice(eq + 1));
  const problem = parsed.problems[0];
  if (problem) {
    if (!problem.message.startsWith('YAML syntax')) return `${flag}: ${problem.message}`;
    return `${flag}: the value is not valid YAML (${problem.message}); quote it to pass a string`;
  }
  const value = parsed.data;
  const path = name.split('.');
  if (path.some((p) => p === '')) return `${flag}: '${name}' is not a param path`;
  if (path.includes(RESERVED_KEY) || reservedKeyAt(value)) return `${flag}: ${reservedKeyMessage}`;
  const unkeyable = unkeyableAt(value);
  if (unkeyable) {
    const where = unkeyable.path.length > 0 ? ` at '${unkeyable.path.join('.')}'` : '';
    return `${flag}: the value${where} ${unkeyable.message}`;
  }
  return { path, value: value ?? null, text };
}

export function loadPipeline(
  rootPath: string,
  registry: KindRegistry,
  sources: SourceFiles,
  overrides: readonly ParamOverride[] = [],
): LoadResult {
  const loader = new Loader(registry, sources);
  loader.markRoot(resolve(rootPath));
  const root = loader.unit(rootPath, resolve(rootPath), '', undefined, [], overrides);
  return {
    pipeline: root ? { root: root.file, name: root.name, nodes: loader.nodes, defaults: loader.defaults } : undefined,
    problems: loader.problems,
    usage: loader.usage,
  };
}

class Loader {
  readonly problems: Diagnostic[] = [];
  readonly usage: string[] = [];
  readonly nodes: NodeDecl[] = [];
  readonly defaults: KindDefaults = new Map();
  /** Where each node id (and repeat group id) is declared. */
  private readonly declared = new Map<string, Origin>();
  /** Files loaded into each namespace, to catch one file imported twice into the same one. */
  private readonly loadedInto = new Map<string, Origin | undefined>();
  /** Declarations repeat groups have asked for so far, held to the instance limit. */
  private levels = 0;
  /** Imports loaded so far, each import of a file counted: a file imported twice per level doubles them. */
  private imported = 0;

  constructor(
    private readonly registry: KindRegistry,
    private readonly sources: SourceFiles,
  ) {}

  markRoot(absolute: string): void {
    this.loadedInto.set(JSON.stringify([absolute, '']), undefined);
  }

  /**
   * Loads one file as a unit with the given node-id prefix. `importedParams` are the importer's
   * overrides (already resolved in the importer's scope), with the place they were written.
   */
  unit(
    display: string,
    absolute: string,
    prefix: string,
    importedParams: { values: Record<string, unknown>; origin: Origin } | undefined,
    chain: readonly string[],
    overrides: readonly ParamOverride[],
  ): { file: SourceFile; name: string } | undefined {
    const read = SourceFile.read(display, absolute, this.sources);
    if ('error' in read) {
      this.problems.push({ file: display, message: `cannot read pipeline file: ${read.error}` });
      return undefined;
    }
    const { file } = read;
    for (const p of read.problems) this.problems.push(p); // a loop: a file may have a million
    if (read.problems.length > 0) return undefined;
    if (file.data === null || typeof file.data !== 'object' || Array.isArray(file.data)) {
      this.problems.push(file.at([], 'a pipeline file must be a map with sparsegraph, name and nodes'));
      return undefined;
    }
    // Refused before anything reads the file's names, so no later step meets one.
    const reserved = reservedKeyAt(file.data);
    if (reserved) {
      this.problems.push(file.at(reserved, reservedKeyMessage, 'key'));
      return undefined;
    }
    // The file's own keys first, then each node: a problem in one place does not hide the others.
    const structural = checkAgainst(structure.file, file.data, []);
    for (const p of structural) this.problems.push(file.at(p.path, p.message, p.which));
    const broken = new Set(structural.map((p) => String(p.path[0] ?? '')));
    const raw = file.data as RawFile;
    if (broken.has('nodes') || (broken.has('') && !('nodes' in raw))) return undefined;
    const nodes: [string, RawNode][] = [];
    const groups: { localId: string; raw: RawGroup; members: [string, RawNode][] }[] = [];
    for (const [localId, entry] of Object.entries(raw.nodes ?? {})) {
      if (isGroupEntry(entry)) {
        const group = this.checkGroup(file, localId, entry as RawGroup);
        if (group) groups.push(group);
        continue;
      }
      const problems = checkAgainst(structure.node, entry, ['nodes', localId]);
      for (const p of problems) this.problems.push(file.at(p.path, p.message, p.which));
      if (problems.length === 0) nodes.push([localId, entry as RawNode]);
    }

    const { params, origins } = this.params(file, broken.has('params') ? {} : (raw.params ?? {}), importedParams, overrides);
    if (!broken.has('imports')) {
      for (const [i, entry] of (raw.imports ?? []).entries()) this.importUnit(file, params, prefix, i, entry, [...chain, absolute]);
    }
    if (!broken.has('defaults')) this.collectDefaults(file, raw, params);
    const withPrefix = (localId: string) => (prefix ? `${prefix}/${localId}` : localId);
    for (const [localId, node] of nodes) {
      const id = withPrefix(localId);
      if (!this.declare(id, file, ['nodes', localId])) continue;
      this.nodes.push({ id, nodeId: id, localId, path: ['nodes', localId], prefix, file, raw: node, params, paramOrigins: origins });
    }
    for (const { localId, raw: rawGroup, members } of groups) {
      const id = withPrefix(localId);
      const path: YamlPath = ['nodes', localId];
      if (!this.declare(id, file, path)) continue;
      const group: RepeatGroup = {
        id,
        localId,
        prefix,
        file,
        path,
        count: this.repeatCount(file, path, rawGroup.repeat, params, members.length),
        first: rawGroup.first ?? {},
        members: members.map(([m]) => m),
      };
      const declared = members.filter(([m]) => this.declare(`${id}/${m}`, file, [...path, 'nodes', m]));
      // A group whose count is wrong is declared once, so that its nodes are checked and what reads them
      // is not told they do not exist.
      for (let level = 1; level <= (group.count ?? 1); level++) {
        for (const [m, node] of declared) {
          this.nodes.push({
            id: `${id}/${m}[${LEVEL_AXIS}=${level}]`,
            nodeId: `${id}/${m}`,
            localId: m,
            path: [...path, 'nodes', m],
            prefix,
            file,
            raw: node,
            params,
            paramOrigins: origins,
            repeat: { group, level },
          });
        }
      }
    }
    return { file, name: raw.name };
  }

  /** Claims a node id (or a group's), or reports that another node has it. */
  private declare(id: string, file: SourceFile, path: YamlPath): boolean {
    const previous = this.declared.get(id);
    if (previous) {
      const other = formatDiagnostic(previous.file.at(previous.path, '', 'key'), this.sources).split(': error')[0];
      this.problems.push(file.at(path, `duplicate node id '${id}' (also defined at ${other})`, 'key'));
      return false;
    }
    this.declared.set(id, { file, path });
    return true;
  }

  /** Checks a repeat group's own keys and its nodes; undefined when it cannot be declared at all. */
  private checkGroup(
    file: SourceFile,
    localId: string,
    group: RawGroup,
  ): { localId: string; raw: RawGroup; members: [string, RawNode][] } | undefined {
    const path: YamlPath = ['nodes', localId];
    const problems = checkAgainst(structure.group, group, path);
    for (const p of problems) this.problems.push(file.at(p.path, p.message, p.which));
    if (group.nodes === null || typeof group.nodes !== 'object' || Array.isArray(group.nodes)) return undefined;
    const names = Object.keys(group.nodes);
    if (names.length === 0) {
      this.problems.push(file.at([...path, 'nodes'], `repeat group '${localId}' has no nodes`));
      return undefined;
    }
    const members: [string, RawNode][] = [];
    for (const [m, node] of Object.entries(group.nodes)) {
      const at: YamlPath = [...path, 'nodes', m];
      // An invalid name is reported already.
      if (problems.some((p) => p.path[2] === 'nodes' && p.path[3] === m)) continue;
      if (m === 'prev') {
        this.problems.push(file.at(at, "a node of a repeat group cannot be named 'prev': prev.NODE names the previous level's NODE", 'key'));
        continue;
      }
      if (isGroupEntry(node)) {
        this.problems.push(file.at(at, `repeat groups do not nest: '${m}' is a repeat group inside repeat group '${localId}'`, 'key'));
        continue;
      }
      const nodeProblems = checkAgainst(structure.node, node, at);
      for (const p of nodeProblems) this.problems.push(file.at(p.path, p.message, p.which));
      if (nodeProblems.length === 0) members.push([m, node]);
    }
    const first = group.first;
    if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
      for (const key of Object.keys(first)) {
        const node = key.split('.')[0]!;
        if (!names.includes(node)) {
          this.problems.push(
            file.at([...path, 'first', key], `first: '${node}' is not a node of repeat group '${localId}'${didYouMean(node, names)}; its nodes: ${names.join(', ')}`, 'key'),
          );
        }
      }
    }
    return { localId, raw: group, members };
  }

  /** The number of levels, after params are substituted; undefined (and reported) unless a positive integer. */
  private repeatCount(file: SourceFile, path: YamlPath, written: unknown, params: Record<string, unknown>, members: number): number | undefined {
    const at: YamlPath = [...path, 'repeat'];
    const problems: InterpolationProblem[] = [];
    const count = interpolate(written, { params }, at, problems);
    for (const p of problems) this.problems.push(file.at(p.path, p.message));
    if (problems.length > 0) return undefined;
    if (typeof count === 'number' && Number.isInteger(count) && count >= 1) {
      // Checked before a level is declared: `repeat: 1000000000` is refused, not looped over.
      this.levels += count * members;
      if (this.levels <= MAX_INSTANCES) return count;
      this.problems.push(
        file.at(at, `repeat count ${formatCount(count)} gives ${formatCount(count * members)} node declarations, more than the ${formatCount(MAX_INSTANCES)} instances a pipeline may have`),
      );
      return undefined;
    }
    const got = typeof count === 'string' ? `the string ${JSON.stringify(count)}` : typeof count === 'number' ? `number ${count}` : count === null || count === undefined ? 'nothing' : Array.isArray(count) ? 'a list' : typeof count === 'object' ? 'a map' : `${typeof count} ${String(count)}`;
    this.problems.push(file.at(at, `repeat count must be a positive integer, got ${got}`));
    return undefined;
  }

  private params(
    file: SourceFile,
    written: Record<string, unknown>,
    imported: { values: Record<string, unknown>; origin: Origin } | undefined,
    overrides: readonly ParamOverride[],
  ): { params: Record<string, unknown>; origins: Map<string, Origin> } {
    const params: Record<string, unknown> = structuredClone(written);
    const unkeyable = unkeyableAt(params, ['params']);
    if (unkeyable) this.problems.push(file.at(unkeyable.path, `param '${unkeyable.path.slice(1).join('.')}' ${unkeyable.message}`));
    const origins = new Map<string, Origin>();
    /** Overridden params are not resolved again: their references were resolved where they were written. */
    const settled = new Set<string>();
    for (const [name, value] of Object.entries(imported?.values ?? {})) {
      const { origin } = imported!;
      if (!Object.hasOwn(params, name)) {
        this.problems.push(
          origin.file.at([...origin.path, name], `imported file ${file.display} has no param '${name}'${didYouMean(name, Object.keys(params))}`, 'key'),
        );
        continue;
      }
      const unkeyableImport = unkeyableAt(value, [...origin.path, name]);
      if (unkeyableImport) this.problems.push(origin.file.at(unkeyableImport.path, `param '${name}' ${unkeyableImport.message}`));
      params[name] = value;
      settled.add(name);
      origins.set(name, { file: origin.file, path: [...origin.path, name] });
    }
    for (const o of overrides) {
      let target: Record<string, unknown> = params;
      for (const [i, segment] of o.path.entries()) {
        const known = Object.keys(target);
        // Own keys only: whatever Object.prototype holds, `--set constructor=1` names no param.
        if (!Object.hasOwn(target, segment)) {
          const where = i === 0 ? `${file.display} has no param` : `param '${o.path.slice(0, i).join('.')}' has no key`;
          const bare = i === 0 && segment === 'params' && o.path.length > 1 && Object.hasOwn(params, o.path[1]!);
          const hint = bare ? ` (--set names a param without 'params.': --set ${o.text.replace(/^\s*params\./, '')})` : didYouMean(segment, known);
          this.usage.push(`--set ${o.text}: ${where} '${segment}'${hint}`);
          break;
        }
        if (i === o.path.length - 1) {
          target[segment] = o.value;
          if (i === 0) settled.add(segment);
          break;
        }
        const next = target[segment];
        if (next === null || typeof next !== 'object' || Array.isArray(next)) {
          this.usage.push(`--set ${o.text}: param '${o.path.slice(0, i + 1).join('.')}' is not a map`);
          break;
        }
        target = next as Record<string, unknown>;
      }
    }
    return { params: this.resolveParams(file, params, settled), origins };
  }

  /**
   * Params may refer to each other (`lr: ${params.base_lr}`), in any order: each is resolved on first
   * use, and a cycle is reported once, at the first param of the cycle.
   */
  private resolveParams(file: SourceFile, params: Record<string, unknown>, settled: ReadonlySet<string>): Record<string, unknown> {
    const resolved = new Map<string, unknown>();
    /** Per resolved param, the length of its longest chain of references, and the param it continues with. */
    const chains = new Map<string, { length: number; via?: string }>();
    const stack: { name: string; length: number; via?: string }[] = [];
    const reportedCycles = new Set<string>();
    let chainReported = false;
    /** A param is resolved inside the resolution of the one reading it: the chain's length bounds the recursion. */
    const resolveOne = (name: string): unknown => {
      const reader = stack[stack.length - 1];
      const cont = (length: number) => {
        if (reader && length + 1 > reader.length) Object.assign(reader, { length: length + 1, via: name });
      };
      if (resolved.has(name)) {
        cont(chains.get(name)!.length);
        return resolved.get(name);
      }
      if (settled.has(name)) return params[name];
      const at = stack.findIndex((f) => f.name === name);
      if (at >= 0) {
        const cycle = [...stack.slice(at).map((f) => f.name), name];
        const id = [...cycle.slice(0, -1)].sort().join(',');
        if (!reportedCycles.has(id)) {
          reportedCycles.add(id);
          this.problems.push(file.at(['params', cycle[0]!], `params refer to each other in a cycle: ${cycle.join(' -> ')}`));
        }
        return undefined;
      }
      if (stack.length >= MAX_PARAM_CHAIN) {
        // Unresolved, and so is every param that reads it; said once, where the chain passes the limit.
        // A chain that closes into a cycle is said to be a cycle: the references are followed on from here.
        if (!chainReported) {
          const back = cycleBack(name);
          if (back) {
            chainReported = true;
            const cycle = [...stack.slice(stack.findIndex((f) => f.name === back)).map((f) => f.name), name];
            const shown = [...cycle.slice(0, 3), '...', back].join(' -> ');
            this.problems.push(file.at(['params', cycle[0]!], `params refer to each other in a cycle of more than ${MAX_PARAM_CHAIN} params: ${shown}`));
          }
        }
        cont(MAX_PARAM_CHAIN);
        return undefined;
      }
      const frame: { name: string; length: number; via?: string } = { name, length: 1 };
      stack.push(frame);
      const problems: InterpolationProblem[] = [];
      const value = interpolate(params[name], { params: view }, ['params', name], problems);
      stack.pop();
      for (const p of problems) this.problems.push(file.at(p.path, p.message));
      chains.set(name, { length: frame.length, ...(frame.via === undefined ? {} : { via: frame.via }) });
      cont(frame.length);
      if (frame.length > MAX_PARAM_CHAIN) {
        if (!chainReported) {
          chainReported = true;
          const chain = [name];
          for (let via = frame.via; via !== undefined && chain.length < 4; via = chains.get(via)?.via) chain.push(via);
          this.problems.push(
            file.at(['params', name], `params refer to params in a chain longer than ${MAX_PARAM_CHAIN}: ${chain.join(' -> ')} -> ...; write a value directly somewhere along it`),
          );
        }
        resolved.set(name, undefined);
        return undefined;
      }
      resolved.set(name, value);
      return value;
    };
    /** The params a param's value reads, found by interpolating it with a view that only records names. */
    const reads = (name: string): string[] => {
      const names: string[] = [];
      const recorder = new Proxy(params, { get: (target, prop) => (typeof prop === 'string' && Object.hasOwn(target, prop) ? void names.push(prop) : undefined) });
      interpolate(params[name], { params: recorder }, ['params', name], []);
      return names;
    };
    /** The first param on the resolution stack that `from` leads back to by references, if any (an explicit stack: chains are long). */
    const cycleBack = (from: string): string | undefined => {
      const open = new Set(stack.map((f) => f.name));
      const seen = new Set<string>([from]);
      const todo = [from];
      while (todo.length > 0) {
        for (const next of reads(todo.pop()!)) {
          if (open.has(next)) return next;
          if (!seen.has(next) && !resolved.has(next) && !settled.has(next)) {
            seen.add(next);
            todo.push(next);
          }
        }
      }
      return undefined;
    };
    // Lookups through this view resolve a param the first time it is read; own params only.
    const view = new Proxy(params, { get: (target, prop) => (typeof prop === 'string' && Object.hasOwn(target, prop) ? resolveOne(prop) : undefined) });
    return Object.fromEntries(Object.keys(params).map((name) => [name, resolveOne(name)]));
  }

  private importUnit(
    file: SourceFile,
    params: Record<string, unknown>,
    prefix: string,
    index: number,
    entry: string | RawImport,
    chain: readonly string[],
  ): void {
    const spec: RawImport = typeof entry === 'string' ? { file: entry } : entry;
    const at: YamlPath = typeof entry === 'string' ? ['imports', index] : ['imports', index, 'file'];
    if (spec.file.trim() === '') {
      this.problems.push(file.at(at, 'an import must name a pipeline file; this path is empty'));
      return;
    }
    const absolute = resolve(dirname(file.absolute), spec.file);
    if (chain.length > MAX_IMPORT_DEPTH) {
      this.problems.push(file.at(at, `imports nest deeper than ${MAX_IMPORT_DEPTH} files (a file importing a file importing ...)`));
      return;
    }
    if (++this.imported > MAX_IMPORTS) {
      if (this.imported === MAX_IMPORTS + 1) {
        this.problems.push(file.at(at, `more than ${MAX_IMPORTS.toLocaleString('en')} imports in all, counting each import of an imported file`));
      }
      return;
    }
    if (chain.includes(absolute)) {
      const cycle = [...chain.slice(chain.indexOf(absolute)), absolute].map((p) => relative(process.cwd(), p) || p);
      this.problems.push(file.at(at, `import cycle: ${cycle.join(' -> ')}`));
      return;
    }
    const childPrefix = spec.as ? (prefix ? `${prefix}/${spec.as}` : spec.as) : prefix;
    const display = relative(process.cwd(), absolute) || absolute;
    const namespace = JSON.stringify([absolute, childPrefix]);
    if (this.loadedInto.has(namespace)) {
      const first = this.loadedInto.get(namespace);
      const line = first ? ` (also at line ${this.sources.position(first.file.display, first.file.rangeOf(first.path)[0]).line})` : '';
      this.problems.push(
        file.at(at, `${display} is imported twice into the same namespace${line}; give one import an 'as:' prefix`),
      );
      return;
    }
    this.loadedInto.set(namespace, { file, path: at });
    const problems: InterpolationProblem[] = [];
    const values = interpolate(spec.params ?? {}, { params }, ['imports', index, 'params'], problems) as Record<string, unknown>;
    for (const p of problems) this.problems.push(file.at(p.path, p.message));
    const before = this.problems.length;
    const loaded = this.unit(display, absolute, childPrefix, { values, origin: { file, path: ['imports', index, 'params'] } }, chain, []);
    if (!loaded && this.problems.length === before + 1 && this.problems[before]?.range === undefined) {
      // The imported file could not be read: say so where the import is written.
      const reason = this.problems.pop()!.message.replace('cannot read pipeline file: ', '');
      this.problems.push(file.at(at, `cannot read import '${spec.file}': ${reason}`));
    }
  }

  private collectDefaults(file: SourceFile, raw: RawFile, params: Record<string, unknown>): void {
    for (const [kind, values] of Object.entries(raw.defaults ?? {})) {
      if (!this.registry.get(kind)) {
        this.problems.push(file.at(['defaults', kind], `unknown node kind '${kind}'${didYouMean(kind, this.registry.names())}`, 'key'));
        continue;
      }
      let table = this.defaults.get(kind);
      if (!table) this.defaults.set(kind, (table = new Map()));
      // Checked here too, so defaults for a kind no node uses are still checked. Values that depend on a
      // sweep item are checked per node instead.
      const definition = this.registry.get(kind)!;
      const fixed = Object.fromEntries(Object.entries(values).filter(([, v]) => !JSON.stringify(v ?? null).includes('${')));
      for (const p of checkAgainst(Type.Partial(definition.params), structuredClone(fixed), ['defaults', kind], 'parameter')) {
        this.problems.push(file.at(p.path, p.message, p.which));
      }
      // Later files (the importer comes after its imports) override earlier ones.
      for (const [name, value] of Object.entries(values)) {
        const path = ['defaults', kind, name];
        const problems: InterpolationProblem[] = [];
        const resolved = interpolate(value, { params }, path, problems);
        for (const p of problems) this.problems.push(file.at(p.path, p.message));
        table.set(name, { value: resolved, origin: { file, path } });
      }
    }
  }
}
