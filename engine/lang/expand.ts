/**
 * Expands connected declarations into node instances: sweeps (`foreach`, `matrix`) multiply a node,
 * a node fed by a swept node follows its axes (joined on shared axis names, crossed otherwise), and
 * each instance's parameters are resolved and checked against its kind's schema with defaults applied.
 *
 * A repeat group's level is one more axis, `level`, of its nodes' instances. A node of the group reads
 * the same level's nodes and the previous level's (`prev`); the level of what it reads is dropped
 * before joining, and its own level set, so level k's key depends only on levels 1..k. An axis a node of
 * the group sweeps itself is carried to the next level, joined, not crossed.
 */
import type { AnyNodeDefinition } from '../node-def.js';
import type { Coordinates } from '../../base/values.js';
import type { ConnectedDecl } from './connect.js';
import type { Diagnostic } from './diagnostics.js';
import { interpolate, type InterpolationProblem, type Scope } from './interpolate.js';
import { LEVEL_AXIS, type KindDefaults, type NodeDecl, type Origin } from './declarations.js';
import { unkeyableAt, unkeyableNumber } from '../keyable.js';
import { formatCount, MAX_GATHERED, MAX_INSTANCES } from './limits.js';
import { checkAgainst } from './schema-check.js';
import type { YamlPath } from './source.js';

export type Binding =
  | { readonly gather: false; readonly instance: string; readonly port: string }
  | {
      readonly gather: true;
      readonly items: readonly { readonly label: string; readonly instance: string; readonly port: string; readonly coords: Coordinates }[];
    };

export interface Instance {
  /** Readable unique id: the node id, plus sweep coordinates as `[axis=value,...]`. */
  readonly id: string;
  readonly nodeId: string;
  readonly coords: Coordinates;
  readonly kind: AnyNodeDefinition;
  readonly decl: NodeDecl;
  /** Parameters after substitution, with the kind's defaults filled in. */
  readonly params: Record<string, unknown>;
  /** Where each parameter written in `with:` or `defaults:` was written (one a kind defaults is absent). */
  readonly origins: ReadonlyMap<string, Origin>;
  readonly inputs: ReadonlyMap<string, Binding>;
  readonly salt?: string | number;
  /** Which node id introduced each sweep axis of `coords` (for `level`, the repeat group), for messages. */
  readonly sweptBy: ReadonlyMap<string, string>;
}

type Scalar = string | number | boolean;

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Ids of the instances this one consumes (gathered ones included). */
export function upstreamIds(instance: Instance): string[] {
  const ids: string[] = [];
  for (const b of instance.inputs.values()) {
    // One at a time: a spread of a gather's items would pass them all as arguments, and a large one overflows the stack.
    if (b.gather) for (const i of b.items) ids.push(i.instance);
    else ids.push(b.instance);
  }
  return ids;
}

export function instanceId(nodeId: string, coords: Coordinates): string {
  const axes = Object.keys(coords).sort();
  if (axes.length === 0) return nodeId;
  return `${nodeId}[${axes.map((a) => `${a}=${String(coords[a])}`).join(',')}]`;
}

export function expand(
  decls: readonly ConnectedDecl[],
  broken: ReadonlySet<string>,
  defaults: KindDefaults,
): { instances: Instance[]; problems: Diagnostic[] } {
  const problems: Diagnostic[] = [];
  /** Instances per declaration id, and per node id of a repeat group's node (all its levels so far). */
  const byNode = new Map<string, Instance[]>();
  /** Node ids of a repeat group's nodes with a level that did not expand: what reads all levels cannot. */
  const failed = new Set<string>();
  /** Per node id, every instance's problems (all levels together), merged once at the end. */
  const perNode = new Map<string, { id: string; problems: Diagnostic[] }[]>();
  const instances: Instance[] = [];
  /** Gathered results held by the instances so far, against MAX_GATHERED. */
  let gatheredSoFar = 0;
  for (const cd of decls) {
    const { decl } = cd;
    byNode.set(decl.id, []);
    if (decl.id !== decl.nodeId && !byNode.has(decl.nodeId)) byNode.set(decl.nodeId, []);
    const fail = () => {
      if (decl.id !== decl.nodeId) failed.add(decl.nodeId);
    };
    const upstreamBroken = [...cd.inputs.values()].some(({ refs }) => refs.some((r) => byNode.get(r.node)?.length === 0 || failed.has(r.node)));
    const own = ownSweep(decl, problems);
    if (broken.has(decl.id) || upstreamBroken || own === undefined) {
      // Not expanded (its inputs cannot be bound), but its own parameters are still checked.
      for (const p of checkParamsAlone(cd, defaults)) problems.push(p);
      fail();
      continue;
    }
    const plan = planInstances(cd, own, byNode, instances.length, gatheredSoFar);
    if ('problem' in plan) {
      problems.push(plan.problem);
      fail();
      continue;
    }
    const { made, perInstance } = makeInstances(cd, plan, defaults);
    const list = perNode.get(decl.nodeId);
    if (list) for (const p of perInstance) list.push(p);
    else perNode.set(decl.nodeId, perInstance);
    if (made.length < perInstance.length) {
      fail();
      continue;
    }
    byNode.set(decl.id, made);
    gatheredSoFar += made.length * plan.perInstanceItems;
    const levels = decl.id !== decl.nodeId ? byNode.get(decl.nodeId)! : undefined;
    for (const instance of made) {
      levels?.push(instance);
      instances.push(instance);
    }
  }
  for (const list of perNode.values()) for (const p of mergeInstanceProblems(list)) problems.push(p);
  return { instances, problems };
}

/**
 * How a node's instances are made: each combination of its inputs' instances meets the points of the
 * node's own sweep that agree with it.
 */
interface InstancePlan {
  readonly combos: readonly Combo[];
  readonly pointsOf: (combo: Combo) => Sweep['points'];
  /** Which node id introduced each axis of the instances' coordinates (for `level`, the repeat group). */
  readonly sweptBy: ReadonlyMap<string, string>;
  readonly gathered: ReadonlyMap<string, GatheredItems>;
  /** Gathered results each instance holds. */
  readonly perInstanceItems: number;
}

/**
 * Joins a node's own sweep with its inputs' instances, counted before any instance is made; the first
 * problem found (too many instances or gathered results, an axis it may not sweep) when it cannot expand.
 */
function planInstances(
  cd: ConnectedDecl,
  own: Sweep,
  byNode: ReadonlyMap<string, Instance[]>,
  before: number,
  gatheredSoFar: number,
): InstancePlan | { problem: Diagnostic } {
  const { decl } = cd;
  const inherited = inheritedCombos(cd, byNode, MAX_INSTANCES - before);
  if ('tooMany' in inherited) return { problem: tooMany(decl, inherited.tooMany, before) };
  const wrongAxis = axisProblem(decl, own, inherited);
  if (wrongAxis) return { problem: wrongAxis };
  const pointsOf = joinOwnPoints(own, inherited);
  let count = 0;
  for (const combo of inherited.combos) count += pointsOf(combo).length;
  if (before + count > MAX_INSTANCES) return { problem: tooMany(decl, count, before) };
  // Each instance's key holds every gathered key: a sweep gathering a sweep is bounded too.
  const gathered = gatheredItems(cd, byNode);
  const perInstanceItems = [...gathered.values()].reduce((n, items) => n + items.length, 0);
  if (gatheredSoFar + count * perInstanceItems > MAX_GATHERED) {
    return {
      problem: decl.file.at(
        decl.path,
        `node '${decl.nodeId}' would gather ${formatCount(perInstanceItems)} results into each of its ${formatCount(count)} instances, more than the ${formatCount(MAX_GATHERED)} gathered results a pipeline may have`,
        'key',
      ),
    };
  }
  const sweptBy = new Map(inherited.sweptBy);
  for (const axis of own.axes) sweptBy.set(axis, decl.nodeId);
  const group = decl.repeat?.group;
  if (group) sweptBy.set(LEVEL_AXIS, group.id);
  return { combos: inherited.combos, pointsOf, sweptBy, gathered, perInstanceItems };
}

/** A sweep axis the node may not have: its repeat group's level, or one an input already sweeps. */
function axisProblem(decl: NodeDecl, own: Sweep, inherited: Inherited): Diagnostic | undefined {
  const sweepAt = (axis: string): YamlPath => (decl.raw.matrix ? [...decl.path, 'matrix', axis] : [...decl.path, 'foreach']);
  const group = decl.repeat?.group;
  if (group && own.axes.includes(LEVEL_AXIS)) {
    return decl.file.at(sweepAt(LEVEL_AXIS), `sweep axis '${LEVEL_AXIS}' is the level of repeat group '${group.localId}'; name it differently`, 'key');
  }
  const levelFrom = group ? inherited.sweptBy.get(LEVEL_AXIS) : undefined;
  if (levelFrom !== undefined) {
    return decl.file.at(decl.path, `node '${decl.nodeId}' of repeat group '${group!.localId}' reads '${levelFrom}', whose instances have a '${LEVEL_AXIS}' axis of their own: a node follows one repeat group's levels`, 'key');
  }
  // An axis this node swept at an earlier level comes back through `prev`: it is joined, not a clash.
  const clash = own.axes.map((axis) => ({ axis, from: inherited.sweptBy.get(axis) })).find((c) => c.from && c.from !== decl.nodeId);
  if (clash) {
    const rename = clash.axis === 'item' && decl.raw.foreach !== undefined ? ' (use matrix: { NAME: [...] } to name this axis)' : '';
    return decl.file.at(sweepAt(clash.axis), `sweep axis '${clash.axis}' is already swept by upstream node '${clash.from}'; name it differently${rename}`, 'key');
  }
  return undefined;
}

/**
 * The node's own points, by their values on the axes it shares with its inputs (an axis it swept at
 * an earlier level): each combination meets only the points it agrees with, counted before any is made.
 */
function joinOwnPoints(own: Sweep, inherited: Inherited): (combo: Combo) => Sweep['points'] {
  const joined = own.axes.filter((axis) => inherited.sweptBy.has(axis));
  const pointsBy = new Map<string, Sweep['points']>();
  for (const point of own.points) {
    const id = JSON.stringify(joined.map((a) => point.coords[a]));
    const list = pointsBy.get(id);
    if (list) list.push(point);
    else pointsBy.set(id, [point]);
  }
  return (combo: Combo) => pointsBy.get(JSON.stringify(joined.map((a) => combo.coords[a]))) ?? [];
}

/** The instances a plan gives, and each one's problems (one without an instance where it has any). */
function makeInstances(
  cd: ConnectedDecl,
  plan: InstancePlan,
  defaults: KindDefaults,
): { made: Instance[]; perInstance: { id: string; problems: Diagnostic[] }[] } {
  const { decl } = cd;
  const made: Instance[] = [];
  const perInstance: { id: string; problems: Diagnostic[] }[] = [];
  for (const combo of plan.combos) {
    for (const point of plan.pointsOf(combo)) {
      const coords = { ...combo.coords, ...point.coords, ...(decl.repeat ? { [LEVEL_AXIS]: decl.repeat.level } : {}) };
      const item = point.item !== undefined ? point.item : Object.keys(coords).length > 0 ? coords : undefined;
      const result = makeInstance(cd, coords, item, combo, plan.sweptBy, plan.gathered, defaults);
      perInstance.push({ id: instanceId(decl.nodeId, coords), problems: result.problems });
      if (result.instance) made.push(result.instance);
    }
  }
  return { made, perInstance };
}

type GatheredItems = Extract<Binding, { gather: true }>['items'];

/** Per gathering port, every instance of what it reads: the same list for each instance of the node. */
function gatheredItems(cd: ConnectedDecl, byNode: ReadonlyMap<string, Instance[]>): Map<string, GatheredItems> {
  const gathered = new Map<string, GatheredItems>();
  for (const [port, { spec, refs }] of cd.inputs) {
    if (!spec.gather) continue;
    const items: GatheredItems[number][] = [];
    for (const r of refs) for (const u of byNode.get(r.node) ?? []) items.push({ label: r.label, instance: u.id, port: r.port, coords: u.coords });
    gathered.set(port, items);
  }
  return gathered;
}

/** The instance limit, said at the node whose sweep (or join) passes it. */
function tooMany(decl: NodeDecl, count: number, before: number): Diagnostic {
  const others = before > 0 ? ` (with the ${formatCount(before)} before it)` : '';
  return decl.file.at(
    decl.path,
    `node '${decl.nodeId}' would expand to ${formatCount(count)} instances${others}, more than the ${formatCount(MAX_INSTANCES)} a pipeline may have; sweep fewer values`,
    'key',
  );
}

/**
 * A problem every instance of a sweep has is said once; one that only some instances have names them,
 * since it depends on their sweep item.
 */
export function mergeInstanceProblems(perInstance: readonly { id: string; problems: Diagnostic[] }[]): Diagnostic[] {
  const seen = new Map<string, { problem: Diagnostic; ids: string[] }>();
  for (const { id, problems } of perInstance) {
    for (const problem of problems) {
      const key = JSON.stringify([problem.file, problem.range, problem.message]);
      const entry = seen.get(key);
      if (entry) entry.ids.push(id);
      else seen.set(key, { problem, ids: [id] });
    }
  }
  const merged: Diagnostic[] = [];
  for (const { problem, ids } of seen.values()) {
    if (ids.length === perInstance.length) merged.push(problem);
    else for (const id of ids) merged.push({ ...problem, message: `${problem.message} (in ${id})` });
  }
  return merged;
}

interface Combo {
  readonly coords: Coordinates;
  /** The instance chosen for each upstream node. */
  readonly picks: ReadonlyMap<string, Instance>;
}

interface Inherited {
  readonly combos: Combo[];
  /** Which upstream node introduced each inherited axis, for messages. */
  readonly sweptBy: ReadonlyMap<string, string>;
}

/**
 * The natural join of the upstream nodes' instances on their shared axes (a cross product where they
 * share none). Each upstream node's instances are indexed by their values on the shared axes, so a
 * sweep of thousands of instances joins in linear time.
 */
function inheritedCombos(cd: ConnectedDecl, byNode: ReadonlyMap<string, Instance[]>, limit: number): Inherited | { tooMany: number } {
  const upstream = new Set<string>();
  for (const { spec, refs } of cd.inputs.values()) if (!spec.gather) for (const r of refs) upstream.add(r.node);
  let combos: Combo[] = [{ coords: {}, picks: new Map() }];
  const sweptBy = new Map<string, string>();
  const group = cd.decl.repeat?.group;
  for (const node of upstream) {
    let options = byNode.get(node) ?? [];
    // The same group's nodes (this level, or the previous one through `prev`): their level is not joined on.
    if (group && options[0]?.decl.repeat?.group === group) {
      options = options.map((o) => {
        const { [LEVEL_AXIS]: _, ...coords } = o.coords;
        return { ...o, coords };
      });
    }
    const axes = Object.keys(options[0]?.coords ?? {});
    const shared = axes.filter((a) => sweptBy.has(a));
    const index = new Map<string, Instance[]>();
    for (const option of options) {
      const id = JSON.stringify(shared.map((a) => option.coords[a]));
      const list = index.get(id);
      if (list) list.push(option);
      else index.set(id, [option]);
    }
    for (const axis of axes) if (!sweptBy.has(axis)) sweptBy.set(axis, options[0]!.sweptBy.get(axis) ?? node);
    const matchingOf = (combo: Combo) => index.get(JSON.stringify(shared.map((a) => combo.coords[a]))) ?? [];
    // Counted before it is built: the cross product of two large sweeps is refused, not allocated.
    let count = 0;
    for (const combo of combos) count += matchingOf(combo).length;
    if (count > limit) return { tooMany: count };
    const next: Combo[] = [];
    for (const combo of combos) {
      for (const option of matchingOf(combo)) {
        next.push({ coords: { ...combo.coords, ...option.coords }, picks: new Map([...combo.picks, [node, option]]) });
      }
    }
    combos = next;
  }
  return { combos, sweptBy };
}

interface Sweep {
  readonly axes: string[];
  readonly points: { coords: Coordinates; item?: unknown }[];
}

function ownSweep(decl: NodeDecl, problems: Diagnostic[]): Sweep | undefined {
  const { foreach, matrix } = decl.raw;
  if (foreach !== undefined && matrix !== undefined) {
    problems.push(decl.file.at([...decl.path, 'matrix'], 'a node sweeps with foreach or matrix, not both', 'key'));
    return undefined;
  }
  if (foreach !== undefined) return foreachSweep(decl, foreach, problems);
  if (matrix !== undefined) return matrixSweep(decl, matrix, problems);
  return { axes: [], points: [{ coords: {} }] };
}

/** `foreach:` a list of scalars (the axis `item`), or of maps of scalars (an axis per key). */
function foreachSweep(decl: NodeDecl, foreach: unknown, problems: Diagnostic[]): Sweep | undefined {
  const at = [...decl.path, 'foreach'];
  const items = sweepList(decl, resolveSweep(decl, foreach, at, problems), at, 'foreach', problems);
  if (!items) return undefined;
  if (items.every(isScalar)) return { axes: ['item'], points: items.map((v) => ({ coords: { item: v }, item: v })) };
  if (items.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isScalar))) {
    const maps = items as Record<string, Scalar>[];
    const axes = Object.keys(maps[0]!).sort();
    // Every instance of a node has the same axes: that is what downstream nodes join on.
    const odd = maps.findIndex((m) => Object.keys(m).sort().join() !== axes.join());
    if (odd >= 0) {
      problems.push(decl.file.at([...at, odd], `foreach maps must all have the same keys (${axes.join(', ')})`));
      return undefined;
    }
    return { axes, points: maps.map((m) => ({ coords: m })) };
  }
  problems.push(decl.file.at(at, 'foreach items must all be scalars, or all maps of scalars'));
  return undefined;
}

/** `matrix:` an axis per key, each listing scalars: the product of the axes. */
function matrixSweep(decl: NodeDecl, matrix: Record<string, unknown>, problems: Diagnostic[]): Sweep | undefined {
  const axes: [string, Scalar[]][] = [];
  for (const [axis, raw] of Object.entries(matrix)) {
    const at = [...decl.path, 'matrix', axis];
    const values = sweepList(decl, resolveSweep(decl, raw, at, problems), at, `matrix axis '${axis}'`, problems);
    if (!values) return undefined;
    if (!values.every(isScalar)) {
      problems.push(decl.file.at(at, `matrix axis '${axis}' must list numbers, strings or booleans`));
      return undefined;
    }
    axes.push([axis, values]);
  }
  // The product's size first: a matrix of a million combinations is refused before any is made.
  const size = axes.reduce((n, [, values]) => n * values.length, 1);
  if (size > MAX_INSTANCES) {
    const factors = axes.map(([axis, values]) => `${values.length} ${axis}`).join(' × ');
    problems.push(
      decl.file.at([...decl.path, 'matrix'], `matrix of node '${decl.nodeId}' has ${formatCount(size)} combinations (${factors}), more than the ${formatCount(MAX_INSTANCES)} instances a pipeline may have`, 'key'),
    );
    return undefined;
  }
  let points: { coords: Coordinates }[] = [{ coords: {} }];
  for (const [axis, values] of axes) points = points.flatMap((p) => values.map((v) => ({ coords: { ...p.coords, [axis]: v } })));
  return { axes: axes.map(([axis]) => axis), points };
}

/** A sweep's written values with params substituted; undefined (reported) when substitution fails. */
function resolveSweep(decl: NodeDecl, value: unknown, at: YamlPath, problems: Diagnostic[]): unknown {
  const found: InterpolationProblem[] = [];
  const out = interpolate(value, scopeOf(decl), at, found);
  for (const p of found) problems.push(decl.file.at(p.path, p.message));
  return found.length > 0 ? undefined : out;
}

/** The values a sweep lists: a non-empty list of distinct values a key can hold, or undefined (reported). */
function sweepList(decl: NodeDecl, value: unknown, at: YamlPath, what: string, problems: Diagnostic[]): unknown[] | undefined {
  if (!Array.isArray(value)) {
    problems.push(decl.file.at(at, `${what} must be a list, got ${describe(value)}`));
    return undefined;
  }
  if (value.length === 0) {
    problems.push(decl.file.at(at, `${what} is an empty list: the node would have no instances`));
    return undefined;
  }
  const wrong = unkeyableAt(value, at);
  if (wrong) {
    problems.push(decl.file.at(wrong.path, `${what} value ${wrong.message}`));
    return undefined;
  }
  const seen = new Set<string>();
  for (const v of value) {
    const id = JSON.stringify(v);
    if (seen.has(id)) {
      problems.push(decl.file.at(at, `${what} lists ${id} twice: two instances would be one`));
      return undefined;
    }
    seen.add(id);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Per declaration, what `writtenParams` found: the same for each of its instances. */
const written = new WeakMap<ConnectedDecl, { raw: Record<string, unknown>; origins: Map<string, Origin> }>();

/** The parameters a node instance gets: the kind's defaults from `defaults:`, then its own `with:`. */
function writtenParams(cd: ConnectedDecl, defaults: KindDefaults): { raw: Record<string, unknown>; origins: Map<string, Origin> } {
  const known = written.get(cd);
  if (known) return known;
  const found = collectWritten(cd, defaults);
  written.set(cd, found);
  return found;
}

function collectWritten(cd: ConnectedDecl, defaults: KindDefaults): { raw: Record<string, unknown>; origins: Map<string, Origin> } {
  const { decl, kind } = cd;
  const origins = new Map<string, Origin>();
  // A Map, made a plain object once: assigning a user's key to an object could reach its prototype.
  const raw = new Map<string, unknown>();
  for (const [name, entry] of defaults.get(kind.kind) ?? []) {
    raw.set(name, entry.value);
    origins.set(name, entry.origin);
  }
  for (const [name, value] of Object.entries(decl.raw.with ?? {})) {
    raw.set(name, value);
    const whole = typeof value === 'string' ? /^\$\{\s*params\.([A-Za-z0-9_-]+)\s*\}$/.exec(value) : null;
    // A value passed in by an importer is reported where the importer wrote it.
    const imported = whole ? decl.paramOrigins.get(whole[1]!) : undefined;
    origins.set(name, imported ?? { file: decl.file, path: [...decl.path, 'with', name] });
  }
  return { raw: Object.fromEntries(raw), origins };
}

/** Whether a value refers to the sweep item anywhere, alone (`${item.s}`) or in arithmetic (`${2 * item.s}`). */
const mentionsItem = (value: unknown) => /\$\{[^}]*(?<![.\w-])item\b/.test(JSON.stringify(value ?? null));

/** What `${...}` in a declaration's values can refer to, besides the sweep item. */
function scopeOf(decl: NodeDecl, item?: unknown): Scope {
  return { params: decl.params, ...(item === undefined ? {} : { item }), ...(decl.repeat ? { level: decl.repeat.level } : {}) };
}

/**
 * Resolves and checks one instance's parameters. With `item` unknown (the node cannot be expanded),
 * values that depend on the sweep item are left out, and so are the problems they could cause.
 */
function resolveParams(
  cd: ConnectedDecl,
  defaults: KindDefaults,
  item: unknown,
  itemKnown: boolean,
): { params?: Record<string, unknown>; problems: Diagnostic[] } {
  const { decl, kind } = cd;
  const { raw, origins } = writtenParams(cd, defaults);
  const problems: Diagnostic[] = [];
  const resolved = new Map<string, unknown>();
  const skipped = new Set<string>();
  for (const [name, value] of Object.entries(raw)) {
    if (!itemKnown && mentionsItem(value)) {
      skipped.add(name);
      continue;
    }
    const origin = origins.get(name)!;
    const found: InterpolationProblem[] = [];
    const v = interpolate(value, scopeOf(decl, item), origin.path, found);
    for (const p of found) problems.push(origin.file.at(p.path, p.message));
    if (found.length > 0) skipped.add(name);
    else resolved.set(name, v);
  }
  const params: Record<string, unknown> = Object.fromEntries(resolved);
  // A number no key can hold is said once, in those words, not also as a wrong type.
  const unkeyable = unkeyableAt(params);
  const unkeyableParam = unkeyable?.path[0];
  for (const p of checkAgainst(kind.params, params, [], 'parameter')) {
    const name = p.path[0];
    if (p.which === 'value' && name !== undefined && name === unkeyableParam) continue;
    const origin = typeof name === 'string' ? origins.get(name) : undefined;
    if (p.which === 'key' && /^missing required/.test(p.message) && [...skipped].some((n) => p.message.includes(`'${n}'`))) continue;
    if (origin) {
      problems.push(origin.file.at([...origin.path, ...p.path.slice(1)], p.message, p.which));
    } else {
      const withPath: YamlPath = decl.raw.with ? [...decl.path, 'with'] : decl.path;
      problems.push(decl.file.at(withPath, `${p.message} of node '${decl.nodeId}' (${kind.kind})`, 'key'));
    }
  }
  if (unkeyable) {
    const name = String(unkeyable.path[0]);
    const origin = origins.get(name) ?? { file: decl.file, path: decl.path };
    problems.push(origin.file.at([...origin.path, ...unkeyable.path.slice(1)], `parameter '${unkeyable.path.join('.')}' ${unkeyable.message}`));
  }
  return problems.length > 0 || skipped.size > 0 ? { problems } : { params, problems };
}

/** The checks a node gets when it cannot be expanded (a reference or an upstream node is broken). */
function checkParamsAlone(cd: ConnectedDecl, defaults: KindDefaults): Diagnostic[] {
  return resolveParams(cd, defaults, undefined, false).problems;
}

function makeInstance(
  cd: ConnectedDecl,
  coords: Coordinates,
  item: unknown,
  combo: Combo,
  sweptBy: ReadonlyMap<string, string>,
  gathered: ReadonlyMap<string, GatheredItems>,
  defaults: KindDefaults,
): { instance?: Instance; problems: Diagnostic[] } {
  const { decl, kind } = cd;
  const { params, problems } = resolveParams(cd, defaults, item, true);
  const { origins } = writtenParams(cd, defaults);
  const saltProblems: InterpolationProblem[] = [];
  const salt = interpolate(decl.raw.salt, scopeOf(decl, item), [...decl.path, 'salt'], saltProblems);
  for (const p of saltProblems) problems.push(decl.file.at(p.path, p.message));
  const saltWrong =
    typeof salt === 'number'
      ? unkeyableNumber(salt)
      : salt === undefined || typeof salt === 'string' || saltProblems.length > 0
        ? undefined
        : `must be a string or a number, got ${salt === null ? 'null' : Array.isArray(salt) ? 'a list' : typeof salt === 'object' ? 'a map' : typeof salt}`;
  if (saltWrong) problems.push(decl.file.at([...decl.path, 'salt'], `salt ${saltWrong}`));
  if (!params || problems.length > 0) return { problems };

  const inputs = new Map<string, Binding>();
  for (const [port, { spec, refs }] of cd.inputs) {
    if (spec.gather) {
      inputs.set(port, { gather: true, items: gathered.get(port)! });
    } else {
      const ref = refs[0]!;
      inputs.set(port, { gather: false, instance: combo.picks.get(ref.node)!.id, port: ref.port });
    }
  }
  return {
    problems,
    instance: {
      id: instanceId(decl.nodeId, coords),
      nodeId: decl.nodeId,
      coords,
      kind,
      decl,
      params,
      origins,
      inputs,
      sweptBy,
      ...(salt === undefined ? {} : { salt: salt as string | number }),
    },
  };
}
