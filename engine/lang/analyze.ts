/**
 * Analysis: a pipeline file to a validated, keyed graph of node instances, or every problem found.
 * Nothing here runs a node or loads a tensor backend.
 */
import { dirname, resolve, sep } from 'node:path';
import type { NodeKey } from '../../base/brand.js';
import { canonicalJson } from '../../base/canonical-json.js';
import { nodeKey, type GatheredRef, type KeyComponents, type OutputRef } from '../keys.js';
import type { DataFacts } from '../node-def.js';
import type { KindRegistry } from '../registry.js';
import { connect } from './connect.js';
import { SourceFiles, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { expand, mergeInstanceProblems, upstreamIds, type Instance } from './expand.js';
import { loadPipeline } from './load.js';
import { parseOverride, type ParamOverride } from './params.js';

export interface KeyedInstance extends Instance {
  readonly key: NodeKey;
  /** What went into the key, for plans and provenance. */
  readonly components: KeyComponents;
  /**
   * The parameters `run` gets: like `params`, with a dataset spec resolved (paths absolute, defaults
   * filled in) and a file path made absolute.
   */
  readonly runParams: Record<string, unknown>;
  /** What analysis read about the data (the training set's size): for its kind's check and cost; not keyed. */
  readonly facts: DataFacts;
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
  /**
   * Resolves a dataset spec a node reads (relative paths against `baseDir`, defaults filled in) and
   * fingerprints its content; throws when the dataset cannot be read. Without it, specs are hashed as
   * written (analysis tests that must not read data), and kinds' checks get no facts about the data.
   */
  readonly dataset?: (spec: unknown, baseDir: string) => ResolvedDataset;
  /** sha256 of a file a node reads; throws when it cannot be read. */
  readonly fileDigest?: (path: string) => string;
}

export interface ResolvedDataset {
  /** The spec `run` gets. */
  readonly spec: unknown;
  /** The spec as hashed: without where the files are, since `fingerprint` covers what they hold. */
  readonly keyed: unknown;
  readonly fingerprint: string;
  /** What kinds' checks may know about the data (its training-set size). */
  readonly facts?: DataFacts;
}

export function analyze(file: string, options: AnalyzeOptions): Analysis {
  const sources = new SourceFiles();
  const { overrides, usage } = parseOverrides(options.set ?? []);
  const loaded = loadPipeline(file, options.registry, sources, overrides);
  for (const u of loaded.usage) usage.push(u);
  const fail = (problems: readonly Diagnostic[]): Analysis => ({ ok: false, problems: sortDiagnostics(problems), usage, sources });
  if (!loaded.pipeline) return fail(loaded.problems);

  const { connected, problems: connectProblems } = connect(loaded.pipeline.nodes, options.registry);
  const problems = loaded.problems.concat(connectProblems);
  if (!connected) return fail(problems);
  const { instances, problems: expandProblems } = expand(connected.decls, connected.broken, loaded.pipeline.defaults);
  // Appended one at a time: a spread of a hundred thousand problems would not fit in one call's arguments.
  for (const p of expandProblems) problems.push(p);
  if (problems.length > 0 || usage.length > 0) return fail(problems);

  const keyed = keyInstances(instances, options, problems);
  if (problems.length > 0) return fail(problems);
  return {
    ok: true,
    sources,
    graph: { name: loaded.pipeline.name, file, instances: [...keyed.values()], byId: keyed },
  };
}

/** `--set` arguments as overrides, and the usage problems of those that do not parse. */
function parseOverrides(set: readonly string[]): { overrides: ParamOverride[]; usage: string[] } {
  const usage: string[] = [];
  const overrides: ParamOverride[] = [];
  for (const text of set) {
    const parsed = parseOverride(text);
    if (typeof parsed === 'string') usage.push(parsed);
    else overrides.push(parsed);
  }
  return { overrides, usage };
}

/** What an instance reads from outside the pipeline, made ready for its key and its run. */
interface ReadInputs {
  readonly runParams: Record<string, unknown>;
  readonly keyParams: Record<string, unknown>;
  readonly data?: string;
  readonly file?: string;
  readonly facts: DataFacts;
}

/**
 * Keys every instance in dependency order. A problem reading an instance's data or file, or one its
 * kind's check finds in its parameters, is pushed to `problems`, and that instance and everything
 * downstream of it get no key.
 */
function keyInstances(instances: readonly Instance[], options: AnalyzeOptions, problems: Diagnostic[]): Map<string, KeyedInstance> {
  const keyed = new Map<string, KeyedInstance>();
  // Sweeps repeat one dataset across thousands of instances: resolve and fingerprint each spec once.
  const datasets = new Map<string, ResolvedDataset>();
  const prepareDataset = (spec: unknown, baseDir: string): ResolvedDataset => {
    const id = canonicalJson([spec, baseDir]);
    let found = datasets.get(id);
    if (!found) datasets.set(id, (found = options.dataset!(spec, baseDir)));
    return found;
  };
  /** Per node id, each checked instance's problems: a problem every instance of a sweep has is said once. */
  const checked = new Map<string, { id: string; problems: Diagnostic[] }[]>();
  for (const instance of instances) {
    const read = readInputs(instance, options, prepareDataset, problems);
    if (!read) continue;
    const found = checkParams(instance, read.facts);
    const list = checked.get(instance.nodeId);
    if (list) list.push({ id: instance.id, problems: found });
    else checked.set(instance.nodeId, [{ id: instance.id, problems: found }]);
    // An instance downstream of one whose data could not be read has no key; its problem is reported.
    if (found.length > 0 || upstreamIds(instance).some((id) => !keyed.has(id))) continue;
    const components: KeyComponents = {
      kind: instance.kind.kind,
      version: instance.kind.version,
      params: read.keyParams,
      inputs: inputRefs(instance, keyed),
      ...(read.data === undefined ? {} : { data: read.data }),
      ...(read.file === undefined ? {} : { file: read.file }),
      ...(instance.salt === undefined ? {} : { salt: instance.salt }),
    };
    keyed.set(instance.id, { ...instance, key: nodeKey(components), components, runParams: read.runParams, facts: read.facts });
  }
  for (const list of checked.values()) for (const p of mergeInstanceProblems(list)) problems.push(p);
  return keyed;
}

/**
 * What the instance's kind finds wrong with its parameters together, each problem where the value of
 * the parameter it names was written (its `with:` entry, the `defaults:` entry, an importer's `params:`);
 * a parameter left at the kind's default is reported at the node.
 */
function checkParams(instance: Instance, facts: DataFacts): Diagnostic[] {
  const { kind, decl } = instance;
  if (!kind.check) return [];
  const atNode = (message: string) => decl.file.at(decl.raw.with ? [...decl.path, 'with'] : decl.path, message, 'key');
  let found: readonly { param: string; message: string }[];
  try {
    found = kind.check(instance.params, facts);
  } catch (e) {
    // A kind's bug, said at the node rather than ending analysis.
    return [atNode(`the check of kind ${kind.kind} failed: ${e instanceof Error ? e.message : String(e)}`)];
  }
  return found.map(({ param, message }) => {
    const origin = instance.origins.get(param);
    return origin ? origin.file.at(origin.path, message) : atNode(`${message}; ${param} is ${kind.kind}'s default`);
  });
}

/**
 * The dataset and the file an instance reads: the dataset resolved and fingerprinted, the file's path
 * made absolute and digested. Undefined, with the problem pushed, when either cannot be read.
 */
function readInputs(
  instance: Instance,
  options: AnalyzeOptions,
  prepareDataset: (spec: unknown, baseDir: string) => ResolvedDataset,
  problems: Diagnostic[],
): ReadInputs | undefined {
  let data: string | undefined;
  let file: string | undefined;
  let facts: DataFacts = {};
  const runParams: Record<string, unknown> = { ...instance.params };
  const keyParams: Record<string, unknown> = { ...instance.params };
  const baseDir = dirname(instance.decl.file.absolute);
  const at = (param: string) =>
    instance.decl.file.at([...instance.decl.path, ...(instance.decl.raw.with && param in instance.decl.raw.with ? ['with', param] : [])], '');
  const datasetParam = instance.kind.datasetParam;
  if (datasetParam !== undefined && options.dataset && instance.params[datasetParam] !== undefined) {
    try {
      const resolved = prepareDataset(instance.params[datasetParam], baseDir);
      data = resolved.fingerprint;
      facts = resolved.facts ?? {};
      runParams[datasetParam] = resolved.spec;
      keyParams[datasetParam] = resolved.keyed;
    } catch (e) {
      // Paths in the message as the pipeline wrote them: relative to its file.
      problems.push({ ...at(datasetParam), message: `dataset: ${(e as Error).message.replaceAll(`${baseDir}${sep}`, '')}` });
      return undefined;
    }
  }
  const fileParam = instance.kind.fileParam;
  const named = fileParam === undefined ? undefined : instance.params[fileParam];
  if (fileParam !== undefined && typeof named === 'string' && options.fileDigest) {
    const path = resolve(baseDir, named);
    try {
      file = options.fileDigest(path);
      runParams[fileParam] = path;
      keyParams[fileParam] = null;
    } catch (e) {
      const problem = (e as { problem?: unknown }).problem;
      problems.push({ ...at(fileParam), message: `cannot read ${named}: ${typeof problem === 'string' ? problem : (e as Error).message}` });
      return undefined;
    }
  }
  return { runParams, keyParams, facts, ...(data === undefined ? {} : { data }), ...(file === undefined ? {} : { file }) };
}

/** The keys (and, for gathering ports, labels and coordinates) of what an instance consumes. */
function inputRefs(instance: Instance, keyed: ReadonlyMap<string, KeyedInstance>): Record<string, OutputRef | GatheredRef[]> {
  const inputs: Record<string, OutputRef | GatheredRef[]> = {};
  for (const [port, binding] of instance.inputs) {
    // Gathered values keep their label and coordinates: a figure's legend depends on them.
    inputs[port] = binding.gather
      ? binding.items.map((i) => ({ label: i.label, coords: i.coords, key: keyed.get(i.instance)!.key, port: i.port }))
      : { key: keyed.get(binding.instance)!.key, port: binding.port };
  }
  return inputs;
}
