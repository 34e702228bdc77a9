/**
 * A directed graph of declaration ids: its cycles and a dependency order.
 *
 * Written here rather than taken from graphlib, whose graphs keep node names as keys of plain objects
 * (a node named `constructor` or `toString` is "already there" before it is added) and whose
 * searches recurse once per node (a chain of ten thousand nodes overflows the call stack). Nodes and
 * edges live in Maps, and both searches keep their own stack; the orders they give are graphlib's,
 * so diagnostics and instance order are what they were.
 */
export class DependencyGraph {
  private readonly successors = new Map<string, Set<string>>();
  private readonly predecessors = new Map<string, Set<string>>();

  addNode(id: string): void {
    if (this.successors.has(id)) return;
    this.successors.set(id, new Set());
    this.predecessors.set(id, new Set());
  }

  /** An edge from `from` (what is read) to `to` (what reads it); adds either node if missing. */
  addEdge(from: string, to: string): void {
    this.addNode(from);
    this.addNode(to);
    this.successors.get(from)!.add(to);
    this.predecessors.get(to)!.add(from);
  }

  /**
   * The strongly connected components that are cycles (two or more nodes, or a node reading itself),
   * each listed as Tarjan's algorithm pops it: in reverse dependency order.
   */
  cycles(): string[][] {
    const found: string[][] = [];
    const seen = new Map<string, { index: number; lowlink: number; onStack: boolean }>();
    const stack: string[] = [];
    let next = 0;
    for (const root of this.successors.keys()) {
      if (seen.has(root)) continue;
      // Each frame is a node and the successors still to visit; a finished child lowers its parent's lowlink.
      const frames: { node: string; rest: Iterator<string> }[] = [];
      const enter = (node: string) => {
        seen.set(node, { index: next, lowlink: next, onStack: true });
        next++;
        stack.push(node);
        frames.push({ node, rest: this.successors.get(node)!.values() });
      };
      enter(root);
      while (frames.length > 0) {
        const frame = frames[frames.length - 1]!;
        const entry = seen.get(frame.node)!;
        const step = frame.rest.next();
        if (!step.done) {
          const w = step.value;
          const other = seen.get(w);
          if (!other) enter(w);
          else if (other.onStack) entry.lowlink = Math.min(entry.lowlink, other.index);
          continue;
        }
        frames.pop();
        const parent = frames[frames.length - 1];
        if (parent) {
          const up = seen.get(parent.node)!;
          up.lowlink = Math.min(up.lowlink, entry.lowlink);
        }
        if (entry.lowlink !== entry.index) continue;
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          seen.get(w)!.onStack = false;
          component.push(w);
        } while (w !== frame.node);
        if (component.length > 1 || this.successors.get(frame.node)!.has(frame.node)) found.push(component);
      }
    }
    return found;
  }

  /**
   * Every node after the nodes it reads (graphlib's topsort: from each sink, what it reads first), or
   * undefined when there is a cycle.
   */
  order(): string[] | undefined {
    const order: string[] = [];
    const done = new Set<string>();
    const active = new Set<string>();
    for (const [sink, out] of this.successors) {
      if (out.size > 0 || done.has(sink)) continue;
      const frames: { node: string; rest: Iterator<string> }[] = [{ node: sink, rest: this.predecessors.get(sink)!.values() }];
      done.add(sink);
      active.add(sink);
      while (frames.length > 0) {
        const frame = frames[frames.length - 1]!;
        const step = frame.rest.next();
        if (step.done) {
          frames.pop();
          active.delete(frame.node);
          order.push(frame.node);
          continue;
        }
        const w = step.value;
        if (active.has(w)) return undefined;
        if (done.has(w)) continue;
        done.add(w);
        active.add(w);
        frames.push({ node: w, rest: this.predecessors.get(w)!.values() });
      }
    }
    return order.length === this.successors.size ? order : undefined;
  }
}
