/**
 * A file's params scope: the params it writes, overridden by its importer's `params:` and (for the
 * root file) by `--set NAME=VALUE`, then resolved where they refer to each other.
 */
import type { Diagnostic } from './diagnostics.js';
import type { Origin } from './declarations.js';
import { interpolate, type InterpolationProblem } from './interpolate.js';
import { didYouMean } from './schema-check.js';
import type { SourceFile } from './source.js';
import { RESERVED_KEY, reservedKeyAt, reservedKeyMessage, unkeyableAt } from '../keyable.js';
import { MAX_PARAM_CHAIN } from './limits.js';
import { parseYamlDocument } from './parse-yaml.js';

/** A `--set NAME=VALUE` override of the root file's params. */
export interface ParamOverride {
  readonly path: readonly string[];
  readonly value: unknown;
  /** The argument as typed, for messages. */
  readonly text: string;
}

/** An importer's overrides (already resolved in the importer's scope), with the place they were written. */
export interface ImportedParams {
  readonly values: Record<string, unknown>;
  readonly origin: Origin;
}

/** Where problems go: those with a file, and those with the command line (exit code 2). */
export interface ParamReports {
  readonly problems: Diagnostic[];
  readonly usage: string[];
}

/** Parses `NAME=VALUE` (VALUE typed as YAML) into an override. */
export function parseOverride(text: string): ParamOverride | string {
  // A value may be megabytes long (a hostile one): messages quote its start.
  const flag = `--set ${text.length > 100 ? `${text.slice(0, 97)}...` : text}`;
  const eq = text.indexOf('=');
  if (eq <= 0) return `${flag}: expected NAME=VALUE`;
  const name = text.slice(0, eq).trim();
  // The bounded parser files are read with: a value is as hostile as a file can be (aliases, nesting).
  const parsed = parseYamlDocument(text.slice(eq + 1));
  const problem = parsed.problems[0];
  if (problem) {
    if (!problem.message.startsWith('YAML syntax')) return `${flag}: ${problem.message}`;
    return `${flag}: the value is not valid YAML (${problem.message}); quote it to pass a string`;
  }
  const value = parsed.data;
  const path = name.split('.');
  if (path.some((p) => p === '')) return `${flag}: '${name}' is not a param path`;
  if (path.includes(RESERVED_KEY) || reservedKeyAt(value)) return `${flag}: ${reservedKeyMessage}`;
  const unkeyable = unkeyableAt(value);
  if (unkeyable) {
    const where = unkeyable.path.length > 0 ? ` at '${unkeyable.path.join('.')}'` : '';
    return `${flag}: the value${where} ${unkeyable.message}`;
  }
  return { path, value: value ?? null, text };
}

/** A file's params: as written, then its importer's and the command line's overrides, then resolved. */
export function paramScope(
  file: SourceFile,
  written: Record<string, unknown>,
  imported: ImportedParams | undefined,
  overrides: readonly ParamOverride[],
  reports: ParamReports,
): { params: Record<string, unknown>; origins: Map<string, Origin> } {
  const { problems } = reports;
  const params: Record<string, unknown> = structuredClone(written);
  const unkeyable = unkeyableAt(params, ['params']);
  if (unkeyable) problems.push(file.at(unkeyable.path, `param '${unkeyable.path.slice(1).join('.')}' ${unkeyable.message}`));
  const origins = new Map<string, Origin>();
  /** Overridden params are not resolved again: their references were resolved where they were written. */
  const settled = new Set<string>();
  for (const [name, value] of Object.entries(imported?.values ?? {})) {
    const { origin } = imported!;
    if (!Object.hasOwn(params, name)) {
      problems.push(
        origin.file.at([...origin.path, name], `imported file ${file.display} has no param '${name}'${didYouMean(name, Object.keys(params))}`, 'key'),
      );
      continue;
    }
    const unkeyableImport = unkeyableAt(value, [...origin.path, name]);
    if (unkeyableImport) problems.push(origin.file.at(unkeyableImport.path, `param '${name}' ${unkeyableImport.message}`));
    params[name] = value;
    settled.add(name);
    origins.set(name, { file: origin.file, path: [...origin.path, name] });
  }
  for (const o of overrides) applyOverride(file, params, o, settled, reports.usage);
  return { params: new ParamResolver(file, params, settled, problems).resolveAll(), origins };
}

/** Sets the param (or the key inside a param) a `--set` names; a path that names none is a usage problem. */
function applyOverride(file: SourceFile, params: Record<string, unknown>, o: ParamOverride, settled: Set<string>, usage: string[]): void {
  let target: Record<string, unknown> = params;
  for (const [i, segment] of o.path.entries()) {
    const known = Object.keys(target);
    // Own keys only: whatever Object.prototype holds, `--set constructor=1` names no param.
    if (!Object.hasOwn(target, segment)) {
      const where = i === 0 ? `${file.display} has no param` : `param '${o.path.slice(0, i).join('.')}' has no key`;
      const bare = i === 0 && segment === 'params' && o.path.length > 1 && Object.hasOwn(params, o.path[1]!);
      const hint = bare ? ` (--set names a param without 'params.': --set ${o.text.replace(/^\s*params\./, '')})` : didYouMean(segment, known);
      usage.push(`--set ${o.text}: ${where} '${segment}'${hint}`);
      return;
    }
    if (i === o.path.length - 1) {
      target[segment] = o.value;
      if (i === 0) settled.add(segment);
      return;
    }
    const next = target[segment];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      usage.push(`--set ${o.text}: param '${o.path.slice(0, i + 1).join('.')}' is not a map`);
      return;
    }
    target = next as Record<string, unknown>;
  }
}

/** A param being resolved: the length of its longest chain of references so far, and the param it continues with. */
interface Frame {
  name: string;
  length: number;
  via?: string;
}

/**
 * Params may refer to each other (`lr: ${params.base_lr}`), in any order: each is resolved on first
 * use, and a cycle is reported once, at the first param of the cycle.
 */
class ParamResolver {
  private readonly resolved = new Map<string, unknown>();
  /** Per resolved param, the length of its longest chain of references, and the param it continues with. */
  private readonly chains = new Map<string, { length: number; via?: string }>();
  private readonly stack: Frame[] = [];
  private readonly reportedCycles = new Set<string>();
  private chainReported = false;
  /** Lookups through this view resolve a param the first time it is read; own params only. */
  private readonly view: Record<string, unknown>;

  constructor(
    private readonly file: SourceFile,
    private readonly params: Record<string, unknown>,
    private readonly settled: ReadonlySet<string>,
    private readonly problems: Diagnostic[],
  ) {
    this.view = new Proxy(params, { get: (target, prop) => (typeof prop === 'string' && Object.hasOwn(target, prop) ? this.resolveOne(prop) : undefined) });
  }

  resolveAll(): Record<string, unknown> {
    return Object.fromEntries(Object.keys(this.params).map((name) => [name, this.resolveOne(name)]));
  }

  /** A param is resolved inside the resolution of the one reading it: the chain's length bounds the recursion. */
  private resolveOne(name: string): unknown {
    const reader = this.stack[this.stack.length - 1];
    const cont = (length: number) => {
      if (reader && length + 1 > reader.length) Object.assign(reader, { length: length + 1, via: name });
    };
    if (this.resolved.has(name)) {
      cont(this.chains.get(name)!.length);
      return this.resolved.get(name);
    }
    if (this.settled.has(name)) return this.params[name];
    const at = this.stack.findIndex((f) => f.name === name);
    if (at >= 0) {
      this.reportCycle(at, name);
      return undefined;
    }
    if (this.stack.length >= MAX_PARAM_CHAIN) {
      this.reportChainAtLimit(name);
      cont(MAX_PARAM_CHAIN);
      return undefined;
    }
    const frame: Frame = { name, length: 1 };
    this.stack.push(frame);
    const problems: InterpolationProblem[] = [];
    const value = interpolate(this.params[name], { params: this.view }, ['params', name], problems);
    this.stack.pop();
    for (const p of problems) this.problems.push(this.file.at(p.path, p.message));
    this.chains.set(name, { length: frame.length, ...(frame.via === undefined ? {} : { via: frame.via }) });
    cont(frame.length);
    if (frame.length > MAX_PARAM_CHAIN) {
      this.reportLongChain(name, frame.via);
      this.resolved.set(name, undefined);
      return undefined;
    }
    this.resolved.set(name, value);
    return value;
  }

  /** `name` is on the stack from `at` on: the params from there to it refer to each other. */
  private reportCycle(at: number, name: string): void {
    const cycle = [...this.stack.slice(at).map((f) => f.name), name];
    const id = [...cycle.slice(0, -1)].sort().join(',');
    if (!this.reportedCycles.has(id)) {
      this.reportedCycles.add(id);
      this.problems.push(this.file.at(['params', cycle[0]!], `params refer to each other in a cycle: ${cycle.join(' -> ')}`));
    }
  }

  /**
   * `name` is unresolved, and so is every param that reads it; said once, where the chain passes the limit.
   * A chain that closes into a cycle is said to be a cycle: the references are followed on from here.
   */
  private reportChainAtLimit(name: string): void {
    if (this.chainReported) return;
    const back = this.cycleBack(name);
    if (!back) return;
    this.chainReported = true;
    const cycle = [...this.stack.slice(this.stack.findIndex((f) => f.name === back)).map((f) => f.name), name];
    const shown = [...cycle.slice(0, 3), '...', back].join(' -> ');
    this.problems.push(this.file.at(['params', cycle[0]!], `params refer to each other in a cycle of more than ${MAX_PARAM_CHAIN} params: ${shown}`));
  }

  /** A chain longer than the limit, without a cycle, said once at the param that starts it. */
  private reportLongChain(name: string, via: string | undefined): void {
    if (this.chainReported) return;
    this.chainReported = true;
    const chain = [name];
    for (let next = via; next !== undefined && chain.length < 4; next = this.chains.get(next)?.via) chain.push(next);
    this.problems.push(
      this.file.at(['params', name], `params refer to params in a chain longer than ${MAX_PARAM_CHAIN}: ${chain.join(' -> ')} -> ...; write a value directly somewhere along it`),
    );
  }

  /** The params a param's value reads, found by interpolating it with a view that only records names. */
  private reads(name: string): string[] {
    const names: string[] = [];
    const recorder = new Proxy(this.params, { get: (target, prop) => (typeof prop === 'string' && Object.hasOwn(target, prop) ? void names.push(prop) : undefined) });
    interpolate(this.params[name], { params: recorder }, ['params', name], []);
    return names;
  }

  /** The first param on the resolution stack that `from` leads back to by references, if any (an explicit stack: chains are long). */
  private cycleBack(from: string): string | undefined {
    const open = new Set(this.stack.map((f) => f.name));
    const seen = new Set<string>([from]);
    const todo = [from];
    while (todo.length > 0) {
      for (const next of this.reads(todo.pop()!)) {
        if (open.has(next)) return next;
        if (!seen.has(next) && !this.resolved.has(next) && !this.settled.has(next)) {
          seen.add(next);
          todo.push(next);
        }
      }
    }
    return undefined;
  }
}
