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

/** A kinds module that cannot be used; the message says which and why. */
export class KindsModuleError extends Error {
  override readonly name = 'KindsModuleError';
}

export async function loadRegistry(modules: readonly string[]): Promise<KindRegistry> {
  const extra: AnyNodeDefinition[] = [];
  for (const m of modules) {
    const url = m.startsWith('file:') ? m : pathToFileURL(resolve(m)).href;
    let loaded: { kinds?: AnyNodeDefinition[] };
    try {
      loaded = (await import(url)) as { kinds?: AnyNodeDefinition[] };
    } catch (e) {
      throw new KindsModuleError(`cannot load node kinds from ${m}: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!Array.isArray(loaded.kinds)) throw new KindsModuleError(`kinds module ${m} does not export a 'kinds' list`);
    extra.push(...loaded.kinds);
  }
  try {
    return new KindRegistry([...builtinKinds, ...extra]);
  } catch (e) {
    throw new KindsModuleError((e as Error).message);
  }
}
