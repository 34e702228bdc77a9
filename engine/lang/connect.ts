/**
 * Connects declarations: each input reference is resolved to a node and an output port, type-checked
 * against the input port, and the declaration graph is checked for cycles.
 *
 * Inside a repeat group a reference names, in this order: a node of the group (the same level), or
 * `prev.NODE` (the previous level; at level 1 what the group's `first` gives), or a node outside.
 * A reference from outside to a node of a group reads every level of it.
 */
import { acceptedTypes, type AnyNodeDefinition, type InputPortSpec } from '../node-def.js';
import type { KindRegistry } from '../registry.js';
import { DependencyGraph } from './dependency-graph.js';
import type { Diagnostic } from './diagnostics.js';
import type { NodeDecl, RepeatGroup } from './declarations.js';
import { didYouMean } from './schema-check.js';
import type { YamlPath } from './source.js';

/** One reference of an input, resolved. */
export interface ResolvedRef {
  readonly label: string;
  /** A declaration id, or the id of a node of a repeat group read from outside it (all its levels). */
  readonly node: string;
  readonly port: string;
}

export interface ConnectedDecl {
  readonly decl: NodeDecl;
  readonly kind: AnyNodeDefinition;
  /** Per input port: the references bound to it (one, unless the port gathers). */
  readonly inputs: ReadonlyMap<string, { readonly spec: InputPortSpec; readonly refs: readonly ResolvedRef[] }>;
}

export interface Connected {
  /** In dependency order. */
  readonly decls: ConnectedDecl[];
  /** Declarations with a problem of their own: they are not expanded, and neither is what they feed. */
  readonly broken: ReadonlySet<string>;
}

export function connect(decls: readonly NodeDecl[], registry: KindRegistry): { connected?: Connected; problems: Diagnostic[] } {
  const problems: Diagnostic[] = [];
  const byId = new Map(decls.map((d) => [d.id, d]));
  const byNodeId = new Map<string, NodeDecl[]>();
  for (const d of decls) {
    const list = byNodeId.get(d.nodeId);
    if (list) list.push(d);
    else byNodeId.set(d.nodeId, [d]);
  }
  const withKind = withKnownKinds(decls, registry, problems);
  const kinds = new Map(withKind.map((d) => [d.decl.id, d.kind]));
  const scope: Scope = { byId, byNodeId, kinds, visible: new Map() };
  const connecting: Connecting = { scope, graph: new DependencyGraph(), folded: new DependencyGraph(), broken: new Set(), problems };
  const { graph, folded, broken } = connecting;
  const result: ConnectedDecl[] = [];
  for (const { decl, kind } of withKind) {
    graph.addNode(decl.id);
    folded.addNode(foldedId(decl));
    const before = problems.length;
    const inputs = bindInputs(decl, kind, connecting);
    if (problems.length > before || (decl.repeat && decl.repeat.group.count === undefined)) broken.add(decl.id);
    result.push({ decl, kind, inputs });
  }

  const cycles = foldedCycles(decls, folded, byNodeId);
  for (const p of cycles) problems.push(p);
  if (cycles.length > 0) return { problems };
  const order = graph.order();
  if (!order) {
    // Unreachable while the folded graph is acyclic (levels only ever read earlier levels); said plainly if not.
    for (const cycle of graph.cycles()) {
      const d = byId.get(cycle[cycle.length - 1]!)!;
      problems.push(d.file.at(d.path, `dependency cycle: ${[...cycle].reverse().join(' -> ')}`, 'key'));
    }
    return { problems };
  }
  const byDecl = new Map(result.map((c) => [c.decl.id, c]));
  const ordered = order.flatMap((id) => byDecl.get(id) ?? []);
  return { connected: { decls: ordered, broken }, problems };
}

/** What connecting builds as it goes. */
interface Connecting {
  readonly scope: Scope;
  /** Declarations as they expand: one per level of a repeat group's node, in dependency order. */
  readonly graph: DependencyGraph;
  /**
   * The same graph with each repeat group as one node where it meets the rest, and its nodes' edges of
   * one level inside: a cycle here is a cycle of the pipeline; `prev` edges never make one.
   */
  readonly folded: DependencyGraph;
  readonly broken: Set<string>;
  readonly problems: Diagnostic[];
}

/** A declaration's node in the folded graph: its repeat group's, or its own. */
function foldedId(d: NodeDecl): string {
  return d.repeat ? d.repeat.group.id : d.id;
}

/** The declarations whose kind is registered, each with its kind; the others are reported. */
function withKnownKinds(decls: readonly NodeDecl[], registry: KindRegistry, problems: Diagnostic[]): { decl: NodeDecl; kind: AnyNodeDefinition }[] {
  const withKind: { decl: NodeDecl; kind: AnyNodeDefinition }[] = [];
  for (const decl of decls) {
    const kind = registry.get(decl.raw.kind);
    if (!kind) {
      problems.push(
        decl.file.at(
          [...decl.path, 'kind'],
          `unknown node kind '${decl.raw.kind}'${didYouMean(decl.raw.kind, registry.names())}; known kinds: ${registry.names().join(', ')}`,
        ),
      );
      continue;
    }
    withKind.push({ decl, kind });
  }
  return withKind;
}

/** Binds each input a declaration writes to its kind's port, and reports the required ones it leaves out. */
function bindInputs(decl: NodeDecl, kind: AnyNodeDefinition, connecting: Connecting): Map<string, { spec: InputPortSpec; refs: ResolvedRef[] }> {
  const { problems } = connecting;
  const inputs = new Map<string, { spec: InputPortSpec; refs: ResolvedRef[] }>();
  const written = decl.raw.inputs ?? {};
  for (const [port, binding] of Object.entries(written)) {
    // Own ports only: an input named `constructor` is unknown, not Object's.
    const spec = Object.hasOwn(kind.inputs, port) ? kind.inputs[port] : undefined;
    const at: YamlPath = [...decl.path, 'inputs', port];
    if (!spec) {
      const known = Object.keys(kind.inputs);
      problems.push(
        decl.file.at(at, `kind '${kind.kind}' has no input '${port}'${didYouMean(port, known)}; inputs: ${known.join(', ') || 'none'}`, 'key'),
      );
      continue;
    }
    const entries: [string, string, YamlPath][] =
      typeof binding === 'string'
        ? [['0', binding, at]]
        : Array.isArray(binding)
          ? binding.map((r, i) => [String(i), r, [...at, i]])
          : Object.entries(binding).map(([label, r]) => [label, r, [...at, label]]);
    if (!spec.gather && typeof binding !== 'string') {
      problems.push(decl.file.at(at, `input '${port}' takes one reference, not a list or map`));
      continue;
    }
    if (entries.length === 0) {
      problems.push(decl.file.at(at, `input '${port}' has no references`));
      continue;
    }
    inputs.set(port, { spec, refs: resolveRefs(entries, decl, spec, port, connecting) });
  }
  for (const [port, spec] of Object.entries(kind.inputs)) {
    if (!spec.optional && !Object.hasOwn(written, port)) {
      problems.push(decl.file.at(decl.path, `node '${decl.nodeId}' (${kind.kind}) is missing required input '${port}'`, 'key'));
    }
  }
  return inputs;
}

/** Resolves the references bound to one input port (label, text, where written), adding the edges they make. */
function resolveRefs(entries: readonly [string, string, YamlPath][], decl: NodeDecl, spec: InputPortSpec, port: string, connecting: Connecting): ResolvedRef[] {
  const { scope, graph, folded, broken, problems } = connecting;
  const refs: ResolvedRef[] = [];
  for (const [label, text, refAt] of entries) {
    const ref = resolveInput(text, decl, spec, port, scope, (message, where) => {
      if (message === undefined) broken.add(decl.id);
      else problems.push(where ? where.file.at(where.path, message) : decl.file.at(refAt, message));
    });
    if (!ref) continue;
    refs.push({ label, node: ref.node, port: ref.port });
    for (const source of ref.decls) {
      graph.addEdge(source.id, decl.id);
      const sameGroup = source.repeat !== undefined && source.repeat.group === decl.repeat?.group;
      if (!sameGroup) folded.addEdge(foldedId(source), foldedId(decl));
      else if (!ref.previous) folded.addEdge(source.nodeId, decl.nodeId);
    }
  }
  return refs;
}

/** A problem for each cycle of the folded graph, named along its edges. */
function foldedCycles(decls: readonly NodeDecl[], folded: DependencyGraph, byNodeId: ReadonlyMap<string, readonly NodeDecl[]>): Diagnostic[] {
  const groups = new Map(decls.filter((d) => d.repeat).map((d) => [d.repeat!.group.id, d.repeat!.group]));
  const problems: Diagnostic[] = [];
  for (const cycle of folded.cycles()) {
    // Cycles come in reverse dependency order; name them along the edges.
    const ordered = [...cycle].reverse();
    const first = ordered[0]!;
    const group = groups.get(first);
    const at = group ? group.file.at(group.path, '', 'key') : byNodeId.get(first)![0]!.file.at(byNodeId.get(first)![0]!.path, '', 'key');
    const through = ordered.map((n) => groups.get(n)).find((g) => g !== undefined);
    const hint = through ? `; what repeat group '${through.localId}' feeds cannot feed the group (a node between two levels belongs inside the group)` : '';
    problems.push({ ...at, message: `dependency cycle: ${[...ordered, ordered[0]].join(' -> ')}${hint}` });
  }
  return problems;
}

interface Scope {
  readonly byId: ReadonlyMap<string, NodeDecl>;
  /** Every declaration of a node id: one, or one per level of a repeat group's node. */
  readonly byNodeId: ReadonlyMap<string, readonly NodeDecl[]>;
  readonly kinds: ReadonlyMap<string, AnyNodeDefinition>;
  /** Per import prefix, the node ids as that unit names them, for suggestions. */
  readonly visible: Map<string, Visible>;
}

interface Visible {
  readonly ids: string[];
  /** The first imported id (`PREFIX/NODE`) for each NODE. */
  readonly byLastName: Map<string, string>;
}

/** Node ids as a unit with `prefix` names them: computed once per prefix, not once per unknown reference. */
function visibleIds(scope: Scope, prefix: string): Visible {
  let found = scope.visible.get(prefix);
  if (!found) {
    const ids = [...scope.byNodeId.keys()].filter((id) => !prefix || id.startsWith(`${prefix}/`)).map((id) => (prefix ? id.slice(prefix.length + 1) : id));
    const byLastName = new Map<string, string>();
    for (const id of ids) {
      const slash = id.lastIndexOf('/');
      if (slash >= 0 && !byLastName.has(id.slice(slash + 1))) byLastName.set(id.slice(slash + 1), id);
    }
    found = { ids, byLastName };
    scope.visible.set(prefix, found);
  }
  return found;
}

/** Called with a message for a problem of this reference (where it was written, unless `where` says), or undefined when it is reported elsewhere. */
type Report = (message: string | undefined, where?: { file: NodeDecl['file']; path: YamlPath }) => void;

interface Resolved {
  readonly node: string;
  readonly port: string;
  /** The declarations it reads, for the dependency graph. */
  readonly decls: readonly NodeDecl[];
  /** Read through `prev`: the previous level of the same group. */
  readonly previous: boolean;
}

const levelDeclId = (group: RepeatGroup, member: string, level: number) => `${group.id}/${member}[level=${level}]`;

function resolveInput(text: string, decl: NodeDecl, spec: InputPortSpec, port: string, scope: Scope, report: Report): Resolved | undefined {
  const prefixed = (local: string) => (decl.prefix ? `${decl.prefix}/${local}` : local);
  if (text.startsWith('prev.') && (decl.repeat || !scope.byNodeId.has(prefixed('prev')))) {
    const group = decl.repeat?.group;
    if (!group) {
      report(`'${text}' is used outside a repeat group: prev.NODE names the previous level of a node inside a 'repeat:' group`);
      return undefined;
    }
    const rest = text.slice('prev.'.length);
    const dot = rest.indexOf('.');
    const member = dot < 0 ? rest : rest.slice(0, dot);
    if (!group.members.includes(member)) {
      report(`unknown node '${member}' in '${text}'${didYouMean(member, group.members)}: repeat group '${group.localId}' has ${group.members.join(', ')}`);
      return undefined;
    }
    const level = decl.repeat!.level;
    if (level > 1) {
      const target = scope.byId.get(levelDeclId(group, member, level - 1));
      if (!target) {
        // Not declared: its own problem is reported.
        report(undefined);
        return undefined;
      }
      const picked = pickPort(text, `prev.${member}`, dot < 0 ? undefined : rest.slice(dot + 1), target, decl, spec, port, scope, report);
      return picked === undefined ? undefined : { node: target.id, port: picked, decls: [target], previous: true };
    }
    const key = Object.hasOwn(group.first, rest) ? rest : Object.hasOwn(group.first, member) ? member : undefined;
    if (key === undefined) {
      report(`'${text}' has nothing to read at level 1: give repeat group '${group.localId}' first: { ${member}: NODE }, the node that feeds its first level`);
      return undefined;
    }
    // `first` names a node outside the group, where the group is written; its problems are reported there.
    const where = { file: group.file, path: [...group.path, 'first', key] };
    const { repeat: _, ...outside } = { ...decl, prefix: group.prefix };
    const found = resolveInput(group.first[key]!, outside, spec, port, scope, (message) => report(message === undefined ? undefined : `${message} (first: ${key}, what ${text} reads at level 1)`, where));
    return found && { ...found, previous: false };
  }
  const dot = text.indexOf('.');
  const local = dot < 0 ? text : text.slice(0, dot);
  const wantedPort = dot < 0 ? undefined : text.slice(dot + 1);
  let node: string;
  let targets: readonly NodeDecl[];
  const group = decl.repeat?.group;
  if (group && group.members.includes(local)) {
    const target = scope.byId.get(levelDeclId(group, local, decl.repeat!.level));
    if (!target) {
      report(undefined);
      return undefined;
    }
    node = target.id;
    targets = [target];
  } else {
    const nodeId = prefixed(local);
    const found = scope.byNodeId.get(nodeId);
    if (!found) {
      const visible = visibleIds(scope, decl.prefix);
      const imported = local.includes('/') ? visible.ids.find((id) => id.endsWith(`/${local}`)) : visible.byLastName.get(local);
      const hint = imported !== undefined ? ` (did you mean '${imported}'? imported nodes are named PREFIX/NODE)` : didYouMean(local, group ? visible.ids.concat(group.members) : visible.ids);
      report(`unknown node '${local}'${hint}`);
      return undefined;
    }
    if (group && found[0]!.repeat?.group === group) {
      const member = found[0]!.localId;
      report(`inside repeat group '${group.localId}', its node '${member}' is read as '${member}' (this level) or 'prev.${member}' (the previous level), not by its full id`);
      return undefined;
    }
    targets = found;
    // One declaration is read as itself; a node of a repeat group, as all its levels.
    node = found.length === 1 && !found[0]!.repeat ? found[0]!.id : nodeId;
  }
  const picked = pickPort(text, local, wantedPort, targets[0]!, decl, spec, port, scope, report);
  return picked === undefined ? undefined : { node, port: picked, decls: targets, previous: false };
}

/** The output port of `target` a reference reads: the one named, or its only output of an accepted type. */
function pickPort(
  text: string,
  local: string,
  wantedPort: string | undefined,
  target: NodeDecl,
  decl: NodeDecl,
  spec: InputPortSpec,
  port: string,
  scope: Scope,
  report: Report,
): string | undefined {
  const kind = scope.kinds.get(target.id);
  if (!kind) {
    // Its unknown kind is reported already; this node cannot be connected, silently.
    report(undefined);
    return undefined;
  }
  const accepted = acceptedTypes(spec);
  const want = accepted.join(' or ');
  const outputs = Object.entries(kind.outputs);
  if (wantedPort !== undefined) {
    const out = Object.hasOwn(kind.outputs, wantedPort) ? kind.outputs[wantedPort] : undefined;
    if (!out) {
      const names = outputs.map(([n]) => n);
      report(`node '${local}' (${kind.kind}) has no output '${wantedPort}'${didYouMean(wantedPort, names)}; outputs: ${names.join(', ')}`);
      return undefined;
    }
    if (!accepted.includes(out.type)) {
      report(`input '${port}' of '${decl.localId}' expects ${want}, but '${text}' is a ${out.type}`);
      return undefined;
    }
    return wantedPort;
  }
  const matching = outputs.filter(([, o]) => accepted.includes(o.type));
  if (matching.length === 1) return matching[0]![0];
  if (matching.length === 0) {
    report(`input '${port}' of '${decl.localId}' expects ${want}, but node '${local}' (${kind.kind}) has no such output; outputs: ${outputs.map(([n, o]) => `${n} (${o.type})`).join(', ')}`);
  } else {
    report(`'${local}' is ambiguous for input '${port}': it has ${matching.length} ${want} outputs (${matching.map(([n]) => n).join(', ')}); write '${local}.PORT'`);
  }
  return undefined;
}
