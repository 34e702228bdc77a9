/**
 * Expands connected declarations into node instances: sweeps (`foreach`, `matrix`) multiply a node,
 * a node fed by a swept node follows its axes (joined on shared axis names, crossed otherwise), and
 * each instance's parameters are resolved and checked against its kind's schema with defaults applied.
 */
import type { AnyNodeDefinition, Coordinates } from '../node-def.js';
import type { ConnectedDecl } from './connect.js';
import type { Diagnostic } from './diagnostics.js';
import { interpolate, type InterpolationProblem } from './interpolate.js';
import type { KindDefaults, NodeDecl, Origin } from './load.js';
import { checkAgainst, nonFinite } from './schema-check.js';
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
  readonly inputs: ReadonlyMap<string, Binding>;
  readonly salt?: string | number;
  /** Which node introduced each sweep axis of `coords`, for messages. */
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
    if (b.gather) ids.push(...b.items.map((i) => i.instance));
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
  const byNode = new Map<string, Instance[]>();
  const instances: Instance[] = [];
  for (const cd of decls) {
    byNode.set(cd.decl.id, []);
    const upstreamBroken = [...cd.inputs.values()].some(({ refs }) => refs.some((r) => byNode.get(r.node)?.length === 0));
    const own = ownSweep(cd.decl, problems);
    if (broken.has(cd.decl.id) || upstreamBroken || own === undefined) {
      // Not expanded (its inputs cannot be bound), but its own parameters are still checked.
      problems.push(...checkParamsAlone(cd, defaults));
      continue;
    }
    const inherited = inheritedCombos(cd, byNode);
    const clash = own.axes.map((axis) => ({ axis, from: inherited.sweptBy.get(axis) })).find((c) => c.from);
    if (clash) {
      const at: YamlPath = cd.decl.raw.matrix ? ['nodes', cd.decl.localId, 'matrix', clash.axis] : ['nodes', cd.decl.localId, 'foreach'];
      const rename = clash.axis === 'item' && cd.decl.raw.foreach !== undefined ? ' (use matrix: { NAME: [...] } to name this axis)' : '';
      problems.push(cd.decl.file.at(at, `sweep axis '${clash.axis}' is already swept by upstream node '${clash.from}'; name it differently${rename}`, 'key'));
      continue;
    }
    const made: Instance[] = [];
    const perInstance: { id: string; problems: Diagnostic[] }[] = [];
    const sweptBy = new Map(inherited.sweptBy);
    for (const axis of own.axes) sweptBy.set(axis, cd.decl.id);
    for (const combo of inherited.combos) {
      for (const point of own.points) {
        const coords = { ...combo.coords, ...point.coords };
        const item = point.item !== undefined ? point.item : Object.keys(coords).length > 0 ? coords : undefined;
        const result = makeInstance(cd, coords, item, combo, sweptBy, byNode, defaults);
        perInstance.push({ id: instanceId(cd.decl.id, coords), problems: result.problems });
        if (result.instance) made.push(result.instance);
      }
    }
    problems.push(...mergeInstanceProblems(perInstance));
    if (made.length < perInstance.length) continue;
    byNode.set(cd.decl.id, made);
    instances.push(...made);
  }
  return { instances, problems };
}

/**
 * A problem every instance of a sweep has is said once; one that only some instances have names them,
 * since it depends on their sweep item.
 */
function mergeInstanceProblems(perInstance: readonly { id: string; problems: Diagnostic[] }[]): Diagnostic[] {
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
function inheritedCombos(cd: ConnectedDecl, byNode: ReadonlyMap<string, Instance[]>): Inherited {
  const upstream = new Set<string>();
  for (const { spec, refs } of cd.inputs.values()) if (!spec.gather) for (const r of refs) upstream.add(r.node);
  let combos: Combo[] = [{ coords: {}, picks: new Map() }];
  const sweptBy = new Map<string, string>();
  for (const node of upstream) {
    const options = byNode.get(node) ?? [];
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
    const next: Combo[] = [];
    for (const combo of combos) {
      const matching = index.get(JSON.stringify(shared.map((a) => combo.coords[a]))) ?? [];
      for (const option of matching) {
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
  const base: YamlPath = ['nodes', decl.localId];
  if (foreach !== undefined && matrix !== undefined) {
    problems.push(decl.file.at([...base, 'matrix'], 'a node sweeps with foreach or matrix, not both', 'key'));
    return undefined;
  }
  const resolve = (value: unknown, at: YamlPath): unknown => {
    const found: InterpolationProblem[] = [];
    const out = interpolate(value, { params: decl.params }, at, found);
    for (const p of found) problems.push(decl.file.at(p.path, p.message));
    return found.length > 0 ? undefined : out;
  };
  const list = (value: unknown, at: YamlPath, what: string): unknown[] | undefined => {
    if (!Array.isArray(value)) {
      problems.push(decl.file.at(at, `${what} must be a list, got ${describe(value)}`));
      return undefined;
    }
    if (value.length === 0) {
      problems.push(decl.file.at(at, `${what} is an empty list: the node would have no instances`));
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
  };
  if (foreach !== undefined) {
    const at = [...base, 'foreach'];
    const items = list(resolve(foreach, at), at, 'foreach');
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
  if (matrix !== undefined) {
    let points: { coords: Coordinates }[] = [{ coords: {} }];
    for (const [axis, raw] of Object.entries(matrix)) {
      const at = [...base, 'matrix', axis];
      const values = list(resolve(raw, at), at, `matrix axis '${axis}'`);
      if (!values) return undefined;
      if (!values.every(isScalar)) {
        problems.push(decl.file.at(at, `matrix axis '${axis}' must list numbers, strings or booleans`));
        return undefined;
      }
      points = points.flatMap((p) => values.map((v) => ({ coords: { ...p.coords, [axis]: v } })));
    }
    return { axes: Object.keys(matrix), points };
  }
  return { axes: [], points: [{ coords: {} }] };
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The parameters a node instance gets: the kind's defaults from `defaults:`, then its own `with:`. */
function writtenParams(cd: ConnectedDecl, defaults: KindDefaults): { raw: Record<string, unknown>; origins: Map<string, Origin> } {
  const { decl, kind } = cd;
  const origins = new Map<string, Origin>();
  const raw: Record<string, unknown> = {};
  for (const [name, entry] of defaults.get(kind.kind) ?? []) {
    raw[name] = entry.value;
    origins.set(name, entry.origin);
  }
  for (const [name, value] of Object.entries(decl.raw.with ?? {})) {
    raw[name] = value;
    const whole = typeof value === 'string' ? /^\$\{\s*params\.([A-Za-z0-9_-]+)\s*\}$/.exec(value) : null;
    // A value passed in by an importer is reported where the importer wrote it.
    const imported = whole ? decl.paramOrigins.get(whole[1]!) : undefined;
    origins.set(name, imported ?? { file: decl.file, path: ['nodes', decl.localId, 'with', name] });
  }
  return { raw, origins };
}

const mentionsItem = (value: unknown) => JSON.stringify(value ?? null).includes('${item');

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
  const params: Record<string, unknown> = {};
  const skipped = new Set<string>();
  for (const [name, value] of Object.entries(raw)) {
    if (!itemKnown && mentionsItem(value)) {
      skipped.add(name);
      continue;
    }
    const origin = origins.get(name)!;
    const found: InterpolationProblem[] = [];
    params[name] = interpolate(value, { params: decl.params, item }, origin.path, found);
    for (const p of found) problems.push(origin.file.at(p.path, p.message));
    if (found.length > 0) skipped.add(name);
  }
  for (const name of skipped) delete params[name];
  for (const p of checkAgainst(kind.params, params, [], 'parameter')) {
    const name = p.path[0];
    const origin = typeof name === 'string' ? origins.get(name) : undefined;
    if (p.which === 'key' && /^missing required/.test(p.message) && [...skipped].some((n) => p.message.includes(`'${n}'`))) continue;
    if (origin) {
      problems.push(origin.file.at([...origin.path, ...p.path.slice(1)], p.message, p.which));
    } else {
      const withPath: YamlPath = decl.raw.with ? ['nodes', decl.localId, 'with'] : ['nodes', decl.localId];
      problems.push(decl.file.at(withPath, `${p.message} of node '${decl.id}' (${kind.kind})`, 'key'));
    }
  }
  const infinite = nonFinite(params);
  if (infinite) {
    const name = String(infinite.path[0]);
    const origin = origins.get(name) ?? { file: decl.file, path: ['nodes', decl.localId] };
    problems.push(
      origin.file.at([...origin.path, ...infinite.path.slice(1)], `parameter '${infinite.path.join('.')}' must be a finite number, got number ${infinite.value}`),
    );
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
  byNode: ReadonlyMap<string, Instance[]>,
  defaults: KindDefaults,
): { instance?: Instance; problems: Diagnostic[] } {
  const { decl, kind } = cd;
  const { params, problems } = resolveParams(cd, defaults, item, true);
  const saltProblems: InterpolationProblem[] = [];
  const salt = interpolate(decl.raw.salt, { params: decl.params, item }, ['nodes', decl.localId, 'salt'], saltProblems);
  for (const p of saltProblems) problems.push(decl.file.at(p.path, p.message));
  if (!params || problems.length > 0) return { problems };

  const inputs = new Map<string, Binding>();
  for (const [port, { spec, refs }] of cd.inputs) {
    if (spec.gather) {
      const items = refs.flatMap((r) =>
        (byNode.get(r.node) ?? []).map((u) => ({ label: r.label, instance: u.id, port: r.port, coords: u.coords })),
      );
      inputs.set(port, { gather: true, items });
    } else {
      const ref = refs[0]!;
      inputs.set(port, { gather: false, instance: combo.picks.get(ref.node)!.id, port: ref.port });
    }
  }
  return {
    problems,
    instance: {
      id: instanceId(decl.id, coords),
      nodeId: decl.id,
      coords,
      kind,
      decl,
      params,
      inputs,
      sweptBy,
      ...(salt === undefined ? {} : { salt: salt as string | number }),
    },
  };
}
