/**
 * Analysis: a pipeline file to a validated, keyed graph of node instances, or every problem found.
 * Nothing here runs a node or loads a tensor backend.
 */
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
    const dataset = instance.kind.dataset?.(instance.params as never);
    if (dataset !== undefined && options.fingerprint) {
      try {
        data = options.fingerprint(dataset);
      } catch (e) {
        const path = instance.decl.raw.with && 'dataset' in instance.decl.raw.with ? ['with', 'dataset'] : [];
        problems.push(instance.decl.file.at(['nodes', instance.decl.localId, ...path], `dataset: ${(e as Error).message}`));
        continue;
      }
    }
    const components: KeyComponents = {
      kind: instance.kind.kind,
      version: instance.kind.version,
      params: instance.params,
      inputs,
      ...(data === undefined ? {} : { data }),
      ...(instance.salt === undefined ? {} : { salt: instance.salt }),
    };
    keyed.set(instance.id, { ...instance, key: nodeKey(components), components });
  }
  if (problems.length > 0) return fail(problems);
  return {
    ok: true,
    sources,
    graph: { name: loaded.pipeline.name, file, instances: [...keyed.values()], byId: keyed },
  };
}
