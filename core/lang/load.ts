/**
 * Reads a pipeline file and everything it imports into node declarations: each with its file, its
 * params scope, and the kind defaults in force. Nothing is swept or connected yet.
 */
import { dirname, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KindRegistry } from '../registry.js';
import { formatDiagnostic, type Diagnostic, type SourceFiles } from './diagnostics.js';
import { interpolate, type InterpolationProblem } from './interpolate.js';
import { pipelineSchema } from './schema.js';
import { checkAgainst, didYouMean } from './schema-check.js';
import { SourceFile, type YamlPath } from './source.js';

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
  nodes: Record<string, RawNode>;
}

export interface NodeDecl {
  /** Full id: the import prefixes and the local id, joined by '/'. */
  readonly id: string;
  readonly localId: string;
  /** Prefix of the unit it was declared in ('' for the root file), used to resolve its references. */
  readonly prefix: string;
  readonly file: SourceFile;
  readonly raw: RawNode;
  /** The declaring file's params after imports' and --set overrides. */
  readonly params: Readonly<Record<string, unknown>>;
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
  const eq = text.indexOf('=');
  if (eq <= 0) return `--set ${text}: expected NAME=VALUE`;
  const name = text.slice(0, eq).trim();
  let value: unknown;
  try {
    value = parseYaml(text.slice(eq + 1));
  } catch {
    value = text.slice(eq + 1);
  }
  const path = name.split('.');
  if (path.some((p) => p === '')) return `--set ${text}: '${name}' is not a param path`;
  return { path, value: value ?? null, text };
}

export function loadPipeline(
  rootPath: string,
  registry: KindRegistry,
  sources: SourceFiles,
  overrides: readonly ParamOverride[] = [],
): LoadResult {
  const loader = new Loader(registry, sources);
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
  private readonly declared = new Map<string, NodeDecl>();
  private readonly structure;

  constructor(
    private readonly registry: KindRegistry,
    private readonly sources: SourceFiles,
  ) {
    this.structure = pipelineSchema(registry, { perKind: false });
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
    this.problems.push(...read.problems);
    if (read.problems.length > 0) return undefined;
    if (file.data === null || typeof file.data !== 'object' || Array.isArray(file.data)) {
      this.problems.push(file.at([], 'a pipeline file must be a map with sparsegraph, name and nodes'));
      return undefined;
    }
    const structural = checkAgainst(this.structure, file.data, []);
    for (const p of structural) this.problems.push(file.at(p.path, p.message, p.which));
    if (structural.length > 0) return undefined;
    const raw = file.data as RawFile;

    const params = this.params(file, raw, importedParams, overrides);
    for (const [i, entry] of (raw.imports ?? []).entries()) {
      this.importUnit(file, params, prefix, i, entry, [...chain, absolute]);
    }
    this.collectDefaults(file, raw, params);
    for (const [localId, node] of Object.entries(raw.nodes)) {
      const id = prefix ? `${prefix}/${localId}` : localId;
      const previous = this.declared.get(id);
      if (previous) {
        const other = formatDiagnostic(previous.file.at(['nodes', previous.localId], '', 'key'), this.sources).split(': error')[0];
        this.problems.push(file.at(['nodes', localId], `duplicate node id '${id}' (also defined at ${other})`, 'key'));
        continue;
      }
      const decl: NodeDecl = { id, localId, prefix, file, raw: node, params };
      this.declared.set(id, decl);
      this.nodes.push(decl);
    }
    return { file, name: raw.name };
  }

  private params(
    file: SourceFile,
    raw: RawFile,
    imported: { values: Record<string, unknown>; origin: Origin } | undefined,
    overrides: readonly ParamOverride[],
  ): Record<string, unknown> {
    const params: Record<string, unknown> = structuredClone(raw.params ?? {});
    for (const [name, value] of Object.entries(imported?.values ?? {})) {
      if (!(name in params)) {
        const { origin } = imported!;
        this.problems.push(
          origin.file.at([...origin.path, name], `imported file ${file.display} has no param '${name}'${didYouMean(name, Object.keys(params))}`, 'key'),
        );
        continue;
      }
      params[name] = value;
    }
    for (const o of overrides) {
      let target: Record<string, unknown> = params;
      for (const [i, segment] of o.path.entries()) {
        const known = Object.keys(target);
        if (!(segment in target)) {
          const where = i === 0 ? `${file.display} has no param` : `param '${o.path.slice(0, i).join('.')}' has no key`;
          this.usage.push(`--set ${o.text}: ${where} '${segment}'${didYouMean(segment, known)}`);
          break;
        }
        if (i === o.path.length - 1) {
          target[segment] = o.value;
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
    // Params may refer to each other (`lr: ${params.base_lr}`): resolved once, in declaration order.
    const problems: InterpolationProblem[] = [];
    const resolved = interpolate(params, { params }, ['params'], problems) as Record<string, unknown>;
    for (const p of problems) this.problems.push(file.at(p.path, p.message));
    return resolved;
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
    const absolute = resolve(dirname(file.absolute), spec.file);
    if (chain.includes(absolute)) {
      const cycle = [...chain.slice(chain.indexOf(absolute)), absolute].map((p) => relative(process.cwd(), p) || p);
      this.problems.push(file.at(at, `import cycle: ${cycle.join(' -> ')}`));
      return;
    }
    const problems: InterpolationProblem[] = [];
    const values = interpolate(spec.params ?? {}, { params }, ['imports', index, 'params'], problems) as Record<string, unknown>;
    for (const p of problems) this.problems.push(file.at(p.path, p.message));
    const display = relative(process.cwd(), absolute) || absolute;
    const before = this.problems.length;
    const childPrefix = spec.as ? (prefix ? `${prefix}/${spec.as}` : spec.as) : prefix;
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
