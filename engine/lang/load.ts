/**
 * Reads a pipeline file and everything it imports into node declarations: each with its file, its
 * params scope, and the kind defaults in force. Nothing is swept or connected yet.
 *
 * Each file is a unit: its document is read and checked (read-document.ts), its params scoped
 * (params.ts), its imports loaded as units of their own (imports.ts), its defaults collected, and its
 * nodes and repeat groups declared here.
 */
import { resolve } from 'node:path';
import type { KindRegistry } from '../registry.js';
import { LEVEL_AXIS, type KindDefaults, type NodeDecl, type Origin, type RepeatGroup } from './declarations.js';
import { formatDiagnostic, type Diagnostic, type SourceFiles } from './diagnostics.js';
import { Imports } from './imports.js';
import { interpolate, type InterpolationProblem } from './interpolate.js';
import { formatCount, MAX_INSTANCES } from './limits.js';
import { paramScope, type ImportedParams, type ParamOverride } from './params.js';
import { readDocument, type CheckedGroup, type RawFile, type RawNode } from './read-document.js';
import { checkAgainst, didYouMean } from './schema-check.js';
import { Type } from '@sinclair/typebox';
import type { SourceFile, YamlPath } from './source.js';

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

export function loadPipeline(
  rootPath: string,
  registry: KindRegistry,
  sources: SourceFiles,
  overrides: readonly ParamOverride[] = [],
): LoadResult {
  const loader = new Loader(registry, sources);
  loader.imports.markRoot(resolve(rootPath));
  const root = loader.unit(rootPath, resolve(rootPath), '', undefined, [], overrides);
  return {
    pipeline: root ? { root: root.file, name: root.name, nodes: loader.nodes, defaults: loader.defaults } : undefined,
    problems: loader.problems,
    usage: loader.usage,
  };
}

/** The scope a unit's nodes are declared in: its file, its prefix, and its params. */
interface UnitScope {
  readonly file: SourceFile;
  readonly prefix: string;
  readonly params: Record<string, unknown>;
  readonly origins: ReadonlyMap<string, Origin>;
}

class Loader {
  readonly problems: Diagnostic[] = [];
  readonly usage: string[] = [];
  readonly nodes: NodeDecl[] = [];
  readonly defaults: KindDefaults = new Map();
  readonly imports: Imports;
  /** Where each node id (and repeat group id) is declared. */
  private readonly declared = new Map<string, Origin>();
  /** Declarations repeat groups have asked for so far, held to the instance limit. */
  private levels = 0;

  constructor(
    private readonly registry: KindRegistry,
    private readonly sources: SourceFiles,
  ) {
    this.imports = new Imports(sources, this.problems, (display, absolute, prefix, importedParams, chain) =>
      this.unit(display, absolute, prefix, importedParams, chain, []),
    );
  }

  /**
   * Loads one file as a unit with the given node-id prefix. `importedParams` are the importer's
   * overrides (already resolved in the importer's scope), with the place they were written.
   */
  unit(
    display: string,
    absolute: string,
    prefix: string,
    importedParams: ImportedParams | undefined,
    chain: readonly string[],
    overrides: readonly ParamOverride[],
  ): { file: SourceFile; name: string } | undefined {
    const document = readDocument(display, absolute, this.sources, this.problems);
    if (!document) return undefined;
    const { file, raw, broken } = document;
    const { params, origins } = paramScope(file, broken.has('params') ? {} : (raw.params ?? {}), importedParams, overrides, {
      problems: this.problems,
      usage: this.usage,
    });
    if (!broken.has('imports')) {
      for (const [i, entry] of (raw.imports ?? []).entries()) this.imports.load(file, params, prefix, i, entry, [...chain, absolute]);
    }
    if (!broken.has('defaults')) this.collectDefaults(file, raw, params);
    const scope: UnitScope = { file, prefix, params, origins };
    for (const [localId, node] of document.nodes) this.declareNode(scope, localId, node);
    for (const group of document.groups) this.declareGroup(scope, group);
    return { file, name: raw.name };
  }

  private declareNode({ file, prefix, params, origins }: UnitScope, localId: string, node: RawNode): void {
    const id = withPrefix(prefix, localId);
    if (!this.declare(id, file, ['nodes', localId])) return;
    this.nodes.push({ id, nodeId: id, localId, path: ['nodes', localId], prefix, file, raw: node, params, paramOrigins: origins });
  }

  /** Declares a repeat group, and each of its nodes once per level. */
  private declareGroup({ file, prefix, params, origins }: UnitScope, { localId, raw: rawGroup, members }: CheckedGroup): void {
    const id = withPrefix(prefix, localId);
    const path: YamlPath = ['nodes', localId];
    if (!this.declare(id, file, path)) return;
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

function withPrefix(prefix: string, localId: string): string {
  return prefix ? `${prefix}/${localId}` : localId;
}
