/**
 * The plan: for each node instance, whether its result is cached or it will run, and why, in terms a
 * researcher recognises ("parameter lr changed 0.1 -> 0.2", "input mask changed").
 */
import type { LastRun, ResultStore } from '../cache/store.js';
import type { NodeKey } from '../base/brand.js';
import { canonicalJson } from '../base/canonical-json.js';
import type { KeyComponents } from './keys.js';
import type { KeyedInstance, ValidGraph } from './lang/analyze.js';
import { upstreamIds } from './lang/expand.js';

export interface PlanEntry {
  readonly id: string;
  readonly kind: string;
  readonly key: NodeKey;
  readonly status: 'cached' | 'run';
  readonly reason: string;
  readonly components: KeyComponents;
}

export interface Selection {
  /** Node ids (or instance ids) to re-run although cached. */
  readonly force?: readonly string[];
  /** Node ids (or instance ids) to re-run with everything downstream of them. */
  readonly forceDownstream?: readonly string[];
  /** Restrict the plan to these nodes and what they need. */
  readonly only?: readonly string[];
}

/** `x[k=1,j=a]` as instance ids are printed, axes sorted: `x[j=a,k=1]`. */
function normalInstanceId(name: string): string {
  const match = /^(.*)\[(.*)\]$/.exec(name);
  if (!match) return name;
  const axes = match[2]!.split(',').map((pair) => pair.trim()).sort((a, b) => a.split('=')[0]!.localeCompare(b.split('=')[0]!));
  return `${match[1]}[${axes.join(',')}]`;
}

/**
 * `x[k=1,j=a]` as its node id and coordinates (values as printed), or undefined for a plain name.
 */
function parseInstanceId(name: string): { nodeId: string; coords: [string, string][] } | undefined {
  const match = /^(.*)\[(.*)\]$/.exec(name);
  if (!match) return undefined;
  const pairs = match[2]!.split(',').map((pair) => pair.trim().split('='));
  if (pairs.some((p) => p.length !== 2)) return undefined;
  return { nodeId: match[1]!, coords: pairs.map(([k, v]) => [k!.trim(), v!.trim()]) };
}

/**
 * Instances matching a node id (all its sweep instances), an instance id (axes in any order), or a node
 * id with some of its coordinates (`imp/train[level=3]`: that level for every seed).
 */
export function matchInstances(graph: ValidGraph, names: readonly string[]): { matched: Set<string>; unknown: string[] } {
  const matched = new Set<string>();
  const unknown: string[] = [];
  for (const name of names) {
    const wanted = normalInstanceId(name);
    const partial = parseInstanceId(name);
    const hits = graph.instances.filter(
      (i) =>
        i.id === wanted ||
        i.nodeId === name ||
        (partial !== undefined && i.nodeId === partial.nodeId && partial.coords.every(([k, v]) => Object.hasOwn(i.coords, k) && String(i.coords[k]) === v)),
    );
    if (hits.length === 0) unknown.push(name);
    for (const h of hits) matched.add(h.id);
  }
  return { matched, unknown };
}

export function planGraph(graph: ValidGraph, store: Pick<ResultStore, 'has' | 'lastRun'>, selection: Selection = {}): PlanEntry[] {
  const forced = matchInstances(graph, selection.force ?? []).matched;
  const downstreamRoots = matchInstances(graph, selection.forceDownstream ?? []).matched;
  // Instances come in dependency order, so one forward pass spreads "forced" downstream.
  for (const instance of graph.instances) {
    if (downstreamRoots.has(instance.id) || upstreamIds(instance).some((u) => downstreamRoots.has(u))) {
      downstreamRoots.add(instance.id);
      forced.add(instance.id);
    }
  }
  let wanted: Set<string> | undefined;
  if (selection.only && selection.only.length > 0) {
    wanted = matchInstances(graph, selection.only).matched;
    for (const instance of [...graph.instances].reverse()) {
      if (wanted.has(instance.id)) for (const u of upstreamIds(instance)) wanted.add(u);
    }
  }
  const entries: PlanEntry[] = [];
  for (const instance of graph.instances) {
    if (wanted && !wanted.has(instance.id)) continue;
    const cached = store.has(instance.key);
    const isForced = forced.has(instance.id);
    const status = cached && !isForced ? 'cached' : 'run';
    const reason = isForced
      ? 'forced'
      : cached
        ? 'cached'
        : whyChanged(instance.components, store.lastRun(graph.name, instance.id));
    entries.push({ id: instance.id, kind: instance.kind.kind, key: instance.key, status, reason, components: instance.components });
  }
  return entries;
}

/** What a key's components record about the last run of a node id (for `setLastRun`). */
export function lastRunOf(instance: KeyedInstance): LastRun {
  const c = instance.components;
  return {
    key: instance.key,
    kind: c.kind,
    version: c.version,
    params: c.params,
    inputs: c.inputs,
    ...(c.data === undefined ? {} : { data: c.data }),
    ...(c.file === undefined ? {} : { file: c.file }),
    ...(c.salt === undefined ? {} : { salt: String(c.salt) }),
  };
}

export function whyChanged(now: KeyComponents, last: LastRun | undefined): string {
  if (!last) return 'never run';
  const reasons: string[] = [];
  if (last.kind !== now.kind) reasons.push(`kind changed ${last.kind} -> ${now.kind}`);
  else if (last.version !== now.version) reasons.push(`kind '${now.kind}' version changed ${last.version} -> ${now.version}`);
  for (const reason of diffParams(last.params, now.params, '')) reasons.push(reason);
  const ports = new Set([...Object.keys(last.inputs), ...Object.keys(now.inputs)]);
  for (const port of [...ports].sort()) {
    const before = Object.hasOwn(last.inputs, port) ? last.inputs[port] : undefined;
    const after = Object.hasOwn(now.inputs, port) ? now.inputs[port] : undefined;
    if (before === undefined) reasons.push(`input ${port} connected`);
    else if (after === undefined) reasons.push(`input ${port} disconnected`);
    else if (canonicalJson(before) !== canonicalJson(after)) reasons.push(`input ${port} changed`);
  }
  if ((last.data ?? '') !== (now.data ?? '')) reasons.push('dataset changed');
  if ((last.file ?? '') !== (now.file ?? '')) reasons.push('file content changed');
  if ((last.salt ?? '') !== (now.salt === undefined ? '' : String(now.salt))) reasons.push('salt changed');
  return reasons.length > 0 ? reasons.join('; ') : 'result no longer in the cache';
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value);
}

function diffParams(before: unknown, after: unknown, path: string): string[] {
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isMap(before) && isMap(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => {
      const sub = path ? `${path}.${k}` : k;
      if (!Object.hasOwn(before, k)) return [`parameter ${sub} added (${show(after[k])})`];
      if (!Object.hasOwn(after, k)) return [`parameter ${sub} removed (was ${show(before[k])})`];
      return diffParams(before[k], after[k], sub);
    });
  }
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return [];
  return [`parameter ${path} changed ${show(before)} -> ${show(after)}`];
}
