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
  readonly inputs: ReadonlyMap<string, Binding>;
  readonly salt?: string | number;
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
    if (broken.has(cd.decl.id)) {
      byNode.set(cd.decl.id, []);
      continue;
    }
    const own = ownSweep(cd.decl, problems);
    const inherited = inheritedCombos(cd, byNode);
    if (own === undefined || inherited === undefined) {
      byNode.set(cd.decl.id, []);
      continue;
    }
    const inheritedAxes = new Set(inherited.flatMap((c) => Object.keys(c.coords)));
    const clash = own.axes.find((a) => inheritedAxes.has(a));
    if (clash) {
      const key = cd.decl.raw.matrix ? 'matrix' : 'foreach';
      problems.push(cd.decl.file.at(['nodes', cd.decl.localId, key], `sweep axis '${clash}' is already swept by an upstream node; name it differently`, 'key'));
      byNode.set(cd.decl.id, []);
      continue;
    }
    const made: Instance[] = [];
    for (const combo of inherited) {
      for (const point of own.points) {
        const coords = { ...combo.coords, ...point.coords };
        const item = point.item !== undefined ? point.item : Object.keys(coords).length > 0 ? coords : undefined;
        const instance = makeInstance(cd, coords, item, combo.picks, byNode, defaults, problems);
        if (instance) made.push(instance);
      }
    }
    byNode.set(cd.decl.id, made);
    instances.push(...made);
  }
  return { instances, problems };
}

interface Combo {
  readonly coords: Coordinates;
  /** The instance chosen for each upstream node. */
  readonly picks: ReadonlyMap<string, Instance>;
}

function inheritedCombos(cd: ConnectedDecl, byNode: ReadonlyMap<string, Instance[]>): Combo[] | undefined {
  const upstream = new Set<string>();
  for (const { spec, refs } of cd.inputs.values()) if (!spec.gather) for (const r of refs) upstream.add(r.node);
  let combos: Combo[] = [{ coords: {}, picks: new Map() }];
  for (const node of upstream) {
    const options = byNode.get(node);
    if (!options || options.length === 0) return undefined; // upstream failed; already reported
    const next: Combo[] = [];
    for (const combo of combos) {
      for (const option of options) {
        const compatible = Object.entries(option.coords).every(([a, v]) => !(a in combo.coords) || combo.coords[a] === v);
        if (!compatible) continue;
        next.push({ coords: { ...combo.coords, ...option.coords }, picks: new Map([...combo.picks, [node, option]]) });
      }
    }
    combos = next;
  }
  return combos;
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
    return value;
  };
  if (foreach !== undefined) {
    const at = [...base, 'foreach'];
    const items = list(resolve(foreach, at), at, 'foreach');
    if (!items) return undefined;
    if (items.every(isScalar)) return { axes: ['item'], points: items.map((v) => ({ coords: { item: v }, item: v })) };
    if (items.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isScalar))) {
      const maps = items as Record<string, Scalar>[];
      const axes = [...new Set(maps.flatMap((m) => Object.keys(m)))];
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

function makeInstance(
  cd: ConnectedDecl,
  coords: Coordinates,
  item: unknown,
  picks: ReadonlyMap<string, Instance>,
  byNode: ReadonlyMap<string, Instance[]>,
  defaults: KindDefaults,
  problems: Diagnostic[],
): Instance | undefined {
  const { decl, kind } = cd;
  const id = instanceId(decl.id, coords);
  // A problem names the instance only when it depends on the sweep item; otherwise sweep instances
  // repeat it word for word and it is reported once.
  const itemSuffix = Object.keys(coords).length > 0 ? ` (in ${id})` : '';
  const suffixFor = (value: unknown) => (JSON.stringify(value ?? null).includes('${item') ? itemSuffix : '');
  const origins = new Map<string, Origin>();
  const raw: Record<string, unknown> = {};
  for (const [name, entry] of defaults.get(kind.kind) ?? []) {
    raw[name] = entry.value;
    origins.set(name, entry.origin);
  }
  for (const [name, value] of Object.entries(decl.raw.with ?? {})) {
    raw[name] = value;
    origins.set(name, { file: decl.file, path: ['nodes', decl.localId, 'with', name] });
  }
  const before = problems.length;
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    const origin = origins.get(name)!;
    const found: InterpolationProblem[] = [];
    params[name] = interpolate(value, { params: decl.params, item }, origin.path, found);
    for (const p of found) problems.push(origin.file.at(p.path, p.message + suffixFor(value)));
  }
  const saltProblems: InterpolationProblem[] = [];
  const salt = interpolate(decl.raw.salt, { params: decl.params, item }, ['nodes', decl.localId, 'salt'], saltProblems);
  for (const p of saltProblems) problems.push(decl.file.at(p.path, p.message + suffixFor(decl.raw.salt)));
  if (problems.length > before) return undefined;

  for (const p of checkAgainst(kind.params, params, [], 'parameter')) {
    const name = p.path[0];
    const origin = typeof name === 'string' ? origins.get(name) : undefined;
    const suffix = typeof name === 'string' ? suffixFor(raw[name]) : '';
    if (origin) {
      problems.push(origin.file.at([...origin.path, ...p.path.slice(1)], p.message + suffix, p.which));
    } else {
      const withPath: YamlPath = decl.raw.with ? ['nodes', decl.localId, 'with'] : ['nodes', decl.localId];
      problems.push(decl.file.at(withPath, `${p.message} of node '${decl.id}' (${kind.kind})`, 'key'));
    }
  }
  if (problems.length > before) return undefined;

  const inputs = new Map<string, Binding>();
  for (const [port, { spec, refs }] of cd.inputs) {
    if (spec.gather) {
      const items = refs.flatMap((r) =>
        (byNode.get(r.node) ?? []).map((u) => ({ label: r.label, instance: u.id, port: r.port, coords: u.coords })),
      );
      inputs.set(port, { gather: true, items });
    } else {
      const ref = refs[0]!;
      inputs.set(port, { gather: false, instance: picks.get(ref.node)!.id, port: ref.port });
    }
  }
  return {
    id,
    nodeId: decl.id,
    coords,
    kind,
    decl,
    params,
    inputs,
    ...(salt === undefined ? {} : { salt: salt as string | number }),
  };
}
