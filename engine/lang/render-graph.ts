/** The instance graph as Graphviz DOT, Mermaid text or JSON, for `sparsegraph graph`. */
import type { ValidGraph } from './analyze.js';

function edges(graph: ValidGraph): { from: string; to: string; label: string }[] {
  const list: { from: string; to: string; label: string }[] = [];
  for (const i of graph.instances) {
    for (const [port, b] of i.inputs) {
      if (b.gather) for (const item of b.items) list.push({ from: item.instance, to: i.id, label: `${item.port} -> ${port}` });
      else list.push({ from: b.instance, to: i.id, label: b.port === port ? port : `${b.port} -> ${port}` });
    }
  }
  return list;
}

export function toDot(graph: ValidGraph): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [`digraph ${q(graph.name)} {`, '  rankdir=LR;', '  node [shape=box, fontname="Helvetica"];'];
  for (const i of graph.instances) lines.push(`  ${q(i.id)} [label=${q(`${i.id}\n${i.kind.kind}`)}];`);
  for (const e of edges(graph)) lines.push(`  ${q(e.from)} -> ${q(e.to)} [label=${q(e.label)}];`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function toMermaid(graph: ValidGraph): string {
  // Mermaid ids must be plain words: number the instances and show their ids as labels.
  const ids = new Map(graph.instances.map((i, n) => [i.id, `n${n}`]));
  const esc = (s: string) => s.replace(/"/g, '#quot;');
  const lines = ['flowchart LR'];
  for (const i of graph.instances) lines.push(`  ${ids.get(i.id)}["${esc(i.id)}<br/><i>${i.kind.kind}</i>"]`);
  for (const e of edges(graph)) lines.push(`  ${ids.get(e.from)} -->|${esc(e.label)}| ${ids.get(e.to)}`);
  return `${lines.join('\n')}\n`;
}

export function toJsonGraph(graph: ValidGraph): { nodes: { id: string; node: string; kind: string; key: string; coords: object }[]; edges: { from: string; to: string; label: string }[] } {
  return {
    nodes: graph.instances.map((i) => ({ id: i.id, node: i.nodeId, kind: i.kind.kind, key: i.key, coords: i.coords })),
    edges: edges(graph),
  };
}
