/**
 * Connects declarations: each input reference is resolved to a node and an output port, type-checked
 * against the input port, and the declaration graph is checked for cycles.
 */
import { alg, Graph } from '@dagrejs/graphlib';
import { acceptedTypes, type AnyNodeDefinition, type InputPortSpec } from '../node-def.js';
import type { KindRegistry } from '../registry.js';
import type { Diagnostic } from './diagnostics.js';
import type { NodeDecl } from './load.js';
import { didYouMean } from './schema-check.js';
import type { YamlPath } from './source.js';

/** One reference of an input, resolved. */
export interface ResolvedRef {
  readonly label: string;
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
  const withKind: { decl: NodeDecl; kind: AnyNodeDefinition }[] = [];
  for (const decl of decls) {
    const kind = registry.get(decl.raw.kind);
    if (!kind) {
      problems.push(
        decl.file.at(
          ['nodes', decl.localId, 'kind'],
          `unknown node kind '${decl.raw.kind}'${didYouMean(decl.raw.kind, registry.names())}; known kinds: ${registry.names().join(', ')}`,
        ),
      );
      continue;
    }
    withKind.push({ decl, kind });
  }
  const kinds = new Map(withKind.map((d) => [d.decl.id, d.kind]));

  const graph = new Graph();
  const result: ConnectedDecl[] = [];
  const broken = new Set<string>();
  for (const { decl, kind } of withKind) {
    graph.setNode(decl.id);
    const before = problems.length;
    const inputs = new Map<string, { spec: InputPortSpec; refs: ResolvedRef[] }>();
    const written = decl.raw.inputs ?? {};
    for (const [port, binding] of Object.entries(written)) {
      const spec = kind.inputs[port];
      const at: YamlPath = ['nodes', decl.localId, 'inputs', port];
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
      const refs: ResolvedRef[] = [];
      for (const [label, text, refAt] of entries) {
        const ref = resolveRef(text, decl, spec, port, byId, kinds, (message) => {
          if (message === undefined) broken.add(decl.id);
          else problems.push(decl.file.at(refAt, message));
        });
        if (ref) {
          refs.push({ label, ...ref });
          graph.setEdge(ref.node, decl.id);
        }
      }
      inputs.set(port, { spec, refs });
    }
    for (const [port, spec] of Object.entries(kind.inputs)) {
      if (!spec.optional && !(port in written)) {
        problems.push(decl.file.at(['nodes', decl.localId], `node '${decl.id}' (${kind.kind}) is missing required input '${port}'`, 'key'));
      }
    }
    if (problems.length > before) broken.add(decl.id);
    result.push({ decl, kind, inputs });
  }

  for (const cycle of alg.findCycles(graph)) {
    // graphlib lists a cycle's nodes in reverse dependency order; name them along the edges.
    const ordered = [...cycle].reverse();
    const first = byId.get(ordered[0]!)!;
    problems.push(
      first.file.at(['nodes', first.localId], `dependency cycle: ${[...ordered, ordered[0]].join(' -> ')}`, 'key'),
    );
  }
  if (!alg.isAcyclic(graph)) return { problems };
  const byDecl = new Map(result.map((c) => [c.decl.id, c]));
  const order = alg.topsort(graph).filter((id) => byDecl.has(id));
  return { connected: { decls: order.map((id) => byDecl.get(id)!), broken }, problems };
}

function resolveRef(
  text: string,
  decl: NodeDecl,
  spec: InputPortSpec,
  port: string,
  byId: ReadonlyMap<string, NodeDecl>,
  kinds: ReadonlyMap<string, AnyNodeDefinition>,
  /** Called with a message for a problem of this reference, or undefined when it is reported elsewhere. */
  report: (message: string | undefined) => void,
): { node: string; port: string } | undefined {
  const dot = text.indexOf('.');
  const local = dot < 0 ? text : text.slice(0, dot);
  const wantedPort = dot < 0 ? undefined : text.slice(dot + 1);
  const node = decl.prefix ? `${decl.prefix}/${local}` : local;
  const target = byId.get(node);
  if (!target) {
    const visible = [...byId.keys()]
      .filter((id) => !decl.prefix || id.startsWith(`${decl.prefix}/`))
      .map((id) => (decl.prefix ? id.slice(decl.prefix.length + 1) : id));
    const imported = visible.filter((id) => id.endsWith(`/${local}`));
    const hint = imported.length > 0 ? ` (did you mean '${imported[0]}'? imported nodes are named PREFIX/NODE)` : didYouMean(local, visible);
    report(`unknown node '${local}'${hint}`);
    return undefined;
  }
  const kind = kinds.get(node);
  if (!kind) {
    // Its unknown kind is reported already; this node cannot be connected, silently.
    report(undefined);
    return undefined;
  }
  const accepted = acceptedTypes(spec);
  const want = accepted.join(' or ');
  const outputs = Object.entries(kind.outputs);
  if (wantedPort !== undefined) {
    const out = kind.outputs[wantedPort];
    if (!out) {
      const names = outputs.map(([n]) => n);
      report(`node '${local}' (${kind.kind}) has no output '${wantedPort}'${didYouMean(wantedPort, names)}; outputs: ${names.join(', ')}`);
      return undefined;
    }
    if (!accepted.includes(out.type)) {
      report(`input '${port}' of '${decl.localId}' expects ${want}, but '${text}' is a ${out.type}`);
      return undefined;
    }
    return { node, port: wantedPort };
  }
  const matching = outputs.filter(([, o]) => accepted.includes(o.type));
  if (matching.length === 1) return { node, port: matching[0]![0] };
  if (matching.length === 0) {
    report(`input '${port}' of '${decl.localId}' expects ${want}, but node '${local}' (${kind.kind}) has no such output; outputs: ${outputs.map(([n, o]) => `${n} (${o.type})`).join(', ')}`);
  } else {
    report(`'${local}' is ambiguous for input '${port}': it has ${matching.length} ${want} outputs (${matching.map(([n]) => n).join(', ')}); write '${local}.PORT'`);
  }
  return undefined;
}
