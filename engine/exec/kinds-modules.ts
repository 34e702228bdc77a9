/**
 * The node kinds a process knows: the ones its composer hands in (the CLI hands the built-in list of
 * `nodes/`) plus any from modules named with `--kinds` or SPARSEGRAPH_KINDS (each exporting `kinds`, a
 * list of definitions). Worker threads load the same list through the same composer.
 *
 * A kinds module is code somebody else wrote: each of its definitions is checked when it loads, so that
 * a wrong one is reported as which module, which entry and what is wrong, not met later as a JavaScript
 * error deep in analysis.
 */
import { statSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { schemaError } from '../lang/schema-check.js';
import type { AnyNodeDefinition } from '../node-def.js';
import { KindRegistry } from '../registry.js';
import { PORT_TYPES } from '../../base/values.js';
import { thrownMessage } from '../../base/thrown.js';

export function kindModulesFromEnv(): string[] {
  return (process.env['SPARSEGRAPH_KINDS'] ?? '').split(',').filter((s) => s.trim() !== '');
}

/** A kinds module that cannot be used; the message says which and why. */
export class KindsModuleError extends Error {
  override readonly name = 'KindsModuleError';
}

/** A registry of `builtin` (trusted, listed in code) and the checked definitions of each kinds module. */
export async function loadRegistry(builtin: readonly AnyNodeDefinition[], modules: readonly string[]): Promise<KindRegistry> {
  const extra: AnyNodeDefinition[] = [];
  /** Where each kind name comes from, for a name defined twice. */
  const origins = new Map<string, string>(builtin.map((k) => [k.kind, 'a built-in kind']));
  for (const module of modules) {
    const m = shown(module);
    const definitions = await definitionsOf(module, m);
    for (const [i, definition] of definitions.entries()) {
      const previous = origins.get(definition.kind);
      if (previous) throw new KindsModuleError(`kinds module ${m}: ${entryName(i, definition)}: kind '${definition.kind}' is already defined (${previous})`);
      origins.set(definition.kind, `by kinds module ${m}, entry ${i}`);
      extra.push(definition);
    }
  }
  return new KindRegistry([...builtin, ...extra]);
}

/** Kinds modules whose import has begun and not settled. */
const importing = new Set<string>();

/**
 * The failure to report when the process is about to exit while a kinds module is still being imported:
 * its top-level await waits on something that can never happen (Node then exits with code 13 and no
 * word). Undefined when no import is pending.
 */
export function unsettledKindsImport(): KindsModuleError | undefined {
  const [m] = importing;
  if (m === undefined) return undefined;
  return new KindsModuleError(`cannot load node kinds from ${m}: its top-level await never settles (it waits on nothing that can happen)`);
}

/** The checked definitions a module exports as `kinds`. */
async function definitionsOf(module: string, m: string): Promise<AnyNodeDefinition[]> {
  const path = module.startsWith('file:') ? fileURLToPath(module) : resolve(module);
  const fail = (why: string) => new KindsModuleError(`cannot load node kinds from ${m}: ${why}`);
  try {
    // Checked before import: importing a FIFO or a device would wait on it.
    const stats = statSync(path);
    if (stats.isDirectory()) throw fail('is a directory, not a JavaScript module');
    if (!stats.isFile()) throw fail('is not a regular file');
  } catch (e) {
    if (e instanceof KindsModuleError) throw e;
    throw fail((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorText(e));
  }
  if (!['.js', '.mjs', '.cjs'].includes(extname(path))) {
    throw fail(`is not a JavaScript module (.js, .mjs or .cjs); a kinds module is JavaScript (compile TypeScript first)`);
  }
  let loaded: Record<string, unknown>;
  try {
    importing.add(m);
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof SyntaxError) throw fail(`JavaScript syntax error: ${errorText(e)} (\`node --check ${m}\` shows where)`);
    throw fail(`the module threw while loading: ${errorText(e)}`);
  } finally {
    importing.delete(m);
  }
  let kinds: unknown;
  try {
    kinds = loaded['kinds'];
  } catch (e) {
    throw new KindsModuleError(`kinds module ${m}: reading its 'kinds' export threw: ${errorText(e)}`);
  }
  if (kinds === undefined) throw new KindsModuleError(`kinds module ${m} does not export 'kinds' (a list of node definitions)`);
  if (!Array.isArray(kinds)) throw new KindsModuleError(`kinds module ${m}: its 'kinds' export must be a list of node definitions, got ${describe(kinds)}`);
  const entries: unknown[] = [];
  try {
    for (const entry of Array.from(kinds as unknown[])) entries.push(entry);
  } catch (e) {
    throw new KindsModuleError(`kinds module ${m}: reading its 'kinds' list threw: ${errorText(e)}`);
  }
  for (const [i, entry] of entries.entries()) {
    let problem: string | undefined;
    try {
      problem = definitionProblem(entry);
    } catch (e) {
      // A getter or a proxy that throws: the definition cannot be read.
      problem = `reading it threw: ${errorText(e)}`;
    }
    if (problem) throw new KindsModuleError(`kinds module ${m}: ${entryName(i, entry)}: ${problem}`);
  }
  return entries as AnyNodeDefinition[];
}

/** A module as messages name it: relative to the working directory when it is below it (workers get absolute paths). */
function shown(module: string): string {
  if (module.startsWith('file:')) return module;
  const rel = relative(process.cwd(), resolve(module));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : module;
}

function entryName(index: number, entry: unknown): string {
  let name: unknown;
  try {
    name = (entry as { kind?: unknown } | null)?.kind;
  } catch {
    name = undefined;
  }
  return typeof name === 'string' && name !== '' ? `entry ${index} (kind '${name}')` : `entry ${index}`;
}

/** What is wrong with one definition, or undefined: the fields analysis and the executor rely on. */
function definitionProblem(entry: unknown): string | undefined {
  if (!isRecord(entry)) return `a node definition is an object (kind, version, description, params, inputs, outputs, run), got ${describe(entry)}`;
  const { kind, version, description, params, inputs, outputs, run, seed, tensorBackend } = entry;
  if (typeof kind !== 'string' || kind.trim() === '') return `'kind' must be a non-empty string (the name pipelines use), got ${describe(kind)}`;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    return `'version' must be a whole number (bumped when the kind's results change), got ${describe(version)}`;
  }
  if (description !== undefined && typeof description !== 'string') return `'description' must be a string, got ${describe(description)}`;
  if (!isRecord(params) || params['type'] !== 'object') {
    return `'params' must be the JSON schema of its parameters, an object schema ({ type: 'object', properties: ... }), got ${describe(params)}`;
  }
  const invalid = schemaError(params);
  if (invalid) return `'params' is not a valid JSON schema: ${invalid}`;
  for (const [field, ports] of [['inputs', inputs], ['outputs', outputs]] as const) {
    if (!isRecord(ports)) return `'${field}' must be a map of port names to port specs, got ${describe(ports)}`;
    for (const [port, spec] of Object.entries(ports)) {
      const problem = portProblem(spec, field === 'inputs');
      if (problem) return `${field === 'inputs' ? 'input' : 'output'} port '${port}': ${problem}`;
    }
  }
  if (run !== undefined && typeof run !== 'function') return `'run' must be a function, got ${describe(run)}`;
  if (seed !== undefined && typeof seed !== 'function') return `'seed' must be a function, got ${describe(seed)}`;
  if (tensorBackend !== undefined && typeof tensorBackend !== 'boolean') return `'tensorBackend' must be true or false, got ${describe(tensorBackend)}`;
  const properties = isRecord(params['properties']) ? params['properties'] : {};
  for (const field of ['datasetParam', 'fileParam'] as const) {
    const named = entry[field];
    if (named !== undefined && (typeof named !== 'string' || !Object.hasOwn(properties, named))) {
      return `'${field}' must name one of its params (${Object.keys(properties).join(', ') || 'it has none'}), got ${describe(named)}`;
    }
  }
  return undefined;
}

function portProblem(spec: unknown, input: boolean): string | undefined {
  if (!isRecord(spec)) return `a port is an object ({ type, doc }), got ${describe(spec)}`;
  const known = PORT_TYPES.join(', ');
  const types = input && Array.isArray(spec['type']) ? (spec['type'] as unknown[]) : [spec['type']];
  if (types.length === 0 || !types.every((t) => typeof t === 'string' && (PORT_TYPES as readonly string[]).includes(t))) {
    return `'type' must be ${input ? 'a port type or a list of them' : 'a port type'} (${known}), got ${describe(spec['type'])}`;
  }
  if (spec['doc'] !== undefined && typeof spec['doc'] !== 'string') return `'doc' must be a string, got ${describe(spec['doc'])}`;
  for (const flag of input ? ['optional', 'gather'] : []) {
    if (spec[flag] !== undefined && typeof spec[flag] !== 'boolean') return `'${flag}' must be true or false, got ${describe(spec[flag])}`;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A value as a message names it: its type, and the value itself when it is short. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `${typeof value === 'string' ? 'the string' : typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

/** The first line of what was thrown, without the stack. */
function errorText(e: unknown): string {
  const text = thrownMessage(e);
  return text.split('\n')[0] ?? text;
}
