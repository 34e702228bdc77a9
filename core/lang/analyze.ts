/**
 * Analysis: a pipeline file to a validated, keyed graph of node instances, or every problem found.
 * Nothing here runs a node or loads a tensor backend.
 */
import { dirname, resolve } from 'node:path';
import type { NodeKey } from '../brand.js';
import { nodeKey, type GatheredRef, type KeyComponents, type OutputRef } from '../keys.js';
import type { KindRegistry } from '../registry.js';
import { connect } from './connect.js';
import { SourceFiles, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { expand, type Instance } from './expand.js';
import { loadPipeline, parseOverride, type ParamOverride } from './load.js';

export interface KeyedInstance extends Instance {
  readonly key: NodeKey;
  /** What went into the key, for plans and provenance. */
  readonly components: KeyComponents;
  /** Absolute path of the file the node reads (`readsFile`), whose digest is in the key. */
  readonly filePath?: string;
}

export interface ValidGraph {
  readonly name: string;
  readonly file: string;
  /** In dependency order: every instance comes after the instances it consumes. */
  readonly instances: readonly KeyedInstance[];
  readonly byId: ReadonlyMap<string, KeyedInstance>;
}

export type Analysis =
  | { readonly ok: true; readonly graph: ValidGraph; readonly sources: SourceFiles }
  | { readonly ok: false; readonly problems: readonly Diagnostic[]; readonly usage: readonly string[]; readonly sources: SourceFiles };

export interface AnalyzeOptions {
  readonly registry: KindRegistry;
  /** `--set NAME=VALUE` arguments, as typed. */
  readonly set?: readonly string[];
  /** Fingerprint of a dataset a node reads (its files' digest); throws when the dataset is unusable. */
  readonly fingerprint?: (dataset: unknown) => string;
  /** sha256 of a file a node reads; throws when it cannot be read. */
  readonly fileDigest?: (path: string) => string;
}

export function analyze(file: string, options: AnalyzeOptions): Analysis {
  const sources = new SourceFiles();
  const usage: string[] = [];
  const overrides: ParamOverride[] = [];
  for (const text of options.set ?? []) {
    const parsed = parseOverride(text);
    if (typeof parsed === 'string') usage.push(parsed);
    else overrides.push(parsed);
  }
  const loaded = loadPipeline(file, options.registry, sources, overrides);
  usage.push(...loaded.usage);
  const fail = (problems: readonly Diagnostic[]): Analysis => ({ ok: false, problems: sortDiagnostics(problems), usage, sources });
  if (!loaded.pipeline) return fail(loaded.problems);

  const { connected, problems: connectProblems } = connect(loaded.pipeline.nodes, options.registry);
  const problems = [...loaded.problems, ...connectProblems];
  if (!connected) return fail(problems);
  const { instances, problems: expandProblems } = expand(connected.decls, connected.broken, loaded.pipeline.defaults);
  problems.push(...expandProblems);
  if (problems.length > 0 || usage.length > 0) return fail(problems);

  const keyed = new Map<string, KeyedInstance>();
  for (const instance of instances) {
    const inputs: Record<string, OutputRef | GatheredRef[]> = {};
    for (const [port, binding] of instance.inputs) {
      // Gathered values keep their label and coordinates: a figure's legend depends on them.
      inputs[port] = binding.gather
        ? binding.items.map((i) => ({ label: i.label, coords: i.coords, key: keyed.get(i.instance)!.key, port: i.port }))
        : { key: keyed.get(binding.instance)!.key, port: binding.port };
    }
    let data: string | undefined;
    let file: string | undefined;
    let filePath: string | undefined;
    const at = (param: string) =>
      instance.decl.file.at(['nodes', instance.decl.localId, ...(instance.decl.raw.with && param in instance.decl.raw.with ? ['with', param] : [])], '');
    const dataset = instance.kind.dataset?.(instance.params as never);
    if (dataset !== undefined && options.fingerprint) {
      try {
        data = options.fingerprint(dataset);
      } catch (e) {
        problems.push({ ...at('dataset'), message: `dataset: ${(e as Error).message}` });
        continue;
      }
    }
    const read = instance.kind.readsFile?.(instance.params as never);
    if (read !== undefined && options.fileDigest) {
      const path = resolve(dirname(instance.decl.file.absolute), read);
      try {
        file = options.fileDigest(path);
        filePath = path;
      } catch (e) {
        problems.push({ ...at('path'), message: `cannot read ${read}: ${(e as Error).message}` });
        continue;
      }
    }
    const components: KeyComponents = {
      kind: instance.kind.kind,
      version: instance.kind.version,
      params: instance.params,
      inputs,
      ...(data === undefined ? {} : { data }),
      ...(file === undefined ? {} : { file }),
      ...(instance.salt === undefined ? {} : { salt: instance.salt }),
    };
    keyed.set(instance.id, { ...instance, key: nodeKey(components), components, ...(filePath ? { filePath } : {}) });
  }
  if (problems.length > 0) return fail(problems);
  return {
    ok: true,
    sources,
    graph: { name: loaded.pipeline.name, file, instances: [...keyed.values()], byId: keyed },
  };
}
