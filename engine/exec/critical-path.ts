/**
 * Which ready task starts first: the one with the most estimated work on its longest path to a sink
 * (critical-path list scheduling). With two workers, one long chain (dense training, pruning, retraining,
 * curve fits) and many short leaves (evaluations, figures), starting the chain first lets the leaves
 * fill the other worker; started last, the chain runs alone on one worker while the other stands idle.
 */
import type { NodeKey } from '../../base/brand.js';
import type { PortType } from '../../base/values.js';
import type { KeyedInstance, ValidGraph } from '../lang/analyze.js';
import { upstreamIds } from '../lang/expand.js';
import type { PlanEntry } from '../plan.js';

export interface WeightedNode {
  readonly id: string;
  /** The ids it consumes; ids that are not among the nodes (not planned) are ignored. */
  readonly upstream: readonly string[];
  readonly cost: number;
}

/**
 * Per node, its cost plus the largest such value among the nodes consuming it: the work left on the
 * longest path from its start to a sink. `nodes` must be in dependency order, as a graph's instances are.
 */
export function longestPathToSink(nodes: readonly WeightedNode[]): Map<string, number> {
  const ids = new Set(nodes.map((n) => n.id));
  /** The longest path among the consumers seen so far, per id. */
  const after = new Map<string, number>();
  const path = new Map<string, number>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    const value = node.cost + (after.get(node.id) ?? 0);
    path.set(node.id, value);
    for (const u of node.upstream) {
      if (!ids.has(u)) continue;
      // A consumer listed before its input would leave the input's value short: say so, not schedule badly.
      if (path.has(u)) throw new Error(`${node.id} is listed before its input ${u}: nodes must be in dependency order`);
      after.set(u, Math.max(after.get(u) ?? 0, value));
    }
  }
  return path;
}

/**
 * The queue priority of each planned key (higher starts first). Instances sharing a key share one run,
 * which takes the longest path of any of them. The priorities are ranks (longest path first, then graph
 * order): p-queue puts a task ahead of queued tasks of equal priority unless it goes last, so equal
 * values would start in no stable order.
 */
export function startPriorities(graph: ValidGraph, planned: ReadonlyMap<string, PlanEntry>): Map<NodeKey, number> {
  const instances = graph.instances.filter((i) => planned.has(i.id));
  const path = longestPathToSink(
    instances.map((i) => ({
      id: i.id,
      upstream: upstreamIds(i),
      // A result the plan found cached takes no worker time, but what it leads to still counts.
      cost: planned.get(i.id)!.status === 'cached' ? 0 : estimatedCost(i, graph),
    })),
  );
  const byKey = new Map<NodeKey, { path: number; first: number }>();
  instances.forEach((i, index) => {
    const found = byKey.get(i.key);
    if (found) found.path = Math.max(found.path, path.get(i.id)!);
    else byKey.set(i.key, { path: path.get(i.id)!, first: index });
  });
  const ranked = [...byKey].sort(([, a], [, b]) => b.path - a.path || a.first - b.first);
  return new Map(ranked.map(([key], rank) => [key, ranked.length - rank]));
}

/** The kind's estimate of an instance's work (1 when the kind gives none). */
export function estimatedCost(instance: KeyedInstance, graph: ValidGraph): number {
  const { kind } = instance;
  if (!kind.cost) return 1;
  const cost = kind.cost(instance.params, instance.facts, inputTypes(instance, graph));
  // A kind's bug: a NaN would silently scramble the order of everything upstream of it.
  if (!Number.isFinite(cost) || cost < 0) throw new Error(`kind ${kind.kind} estimates the cost of ${instance.id} as ${cost}: expected a finite number >= 0`);
  return cost;
}

/** The type each connected, non-gathering input port of an instance receives. */
function inputTypes(instance: KeyedInstance, graph: ValidGraph): Record<string, PortType> {
  const types: Record<string, PortType> = {};
  for (const [port, binding] of instance.inputs) {
    if (binding.gather) continue;
    const type = graph.byId.get(binding.instance)?.kind.outputs[binding.port]?.type;
    if (type !== undefined) types[port] = type;
  }
  return types;
}
