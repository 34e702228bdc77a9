/** Looks node kinds up by name; built from an explicit list so a duplicate kind is caught at start. */
import type { AnyNodeDefinition } from './node-def.js';

export class KindRegistry {
  private readonly byName = new Map<string, AnyNodeDefinition>();

  constructor(kinds: readonly AnyNodeDefinition[]) {
    for (const kind of kinds) {
      if (this.byName.has(kind.kind)) throw new Error(`node kind '${kind.kind}' is registered twice`);
      this.byName.set(kind.kind, kind);
    }
  }

  get(name: string): AnyNodeDefinition | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): AnyNodeDefinition[] {
    return [...this.byName.values()];
  }
}
