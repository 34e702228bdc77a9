/**
 * The node kinds a process knows: the built-in ones plus any from modules named with `--kinds` or
 * SPARSEGRAPH_KINDS (each exporting `kinds`, a list of definitions). Worker threads load the same list.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinKinds } from '../../nodes/index.js';
import type { AnyNodeDefinition } from '../node-def.js';
import { KindRegistry } from '../registry.js';

export function kindModulesFromEnv(): string[] {
  return (process.env['SPARSEGRAPH_KINDS'] ?? '').split(',').filter((s) => s.trim() !== '');
}

export async function loadRegistry(modules: readonly string[]): Promise<KindRegistry> {
  const extra: AnyNodeDefinition[] = [];
  for (const m of modules) {
    const url = m.startsWith('file:') ? m : pathToFileURL(resolve(m)).href;
    const loaded = (await import(url)) as { kinds?: AnyNodeDefinition[] };
    if (!Array.isArray(loaded.kinds)) throw new Error(`kinds module ${m} does not export a 'kinds' list`);
    extra.push(...loaded.kinds);
  }
  return new KindRegistry([...builtinKinds, ...extra]);
}
