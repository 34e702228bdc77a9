/**
 * A file's `imports:`: each import is checked (an empty path, too deep a chain, too many in all, a
 * cycle, a file imported twice into one namespace), its `params:` resolved in the importer's scope, and
 * the imported file loaded as a unit under its `as:` prefix.
 */
import { dirname, relative, resolve } from 'node:path';
import type { Diagnostic, SourceFiles } from './diagnostics.js';
import type { Origin } from './declarations.js';
import { interpolate, type InterpolationProblem } from './interpolate.js';
import type { ImportedParams } from './params.js';
import type { RawImport } from './read-document.js';
import type { SourceFile, YamlPath } from './source.js';

/** How deep imports may chain, and how many units imports may load in all (a pipeline uses a few). */
export const MAX_IMPORT_DEPTH = 64;
export const MAX_IMPORTS = 1_000;

/** Loads a file as a unit with the given node-id prefix; undefined when it cannot be (reported). */
export type LoadUnit = (
  display: string,
  absolute: string,
  prefix: string,
  importedParams: ImportedParams,
  chain: readonly string[],
) => { file: SourceFile; name: string } | undefined;

/** What one import loads: the file, and the namespace (the prefix) its nodes go into. */
interface ImportTarget {
  readonly spec: RawImport;
  /** Where the import names its file. */
  readonly at: YamlPath;
  readonly absolute: string;
  readonly display: string;
  readonly prefix: string;
}

/** The imports of one load of a pipeline, every file's together. */
export class Imports {
  /** Files loaded into each namespace, to catch one file imported twice into the same one. */
  private readonly loadedInto = new Map<string, Origin | undefined>();
  /** Imports loaded so far, each import of a file counted: a file imported twice per level doubles them. */
  private imported = 0;

  constructor(
    private readonly sources: SourceFiles,
    private readonly problems: Diagnostic[],
    private readonly loadUnit: LoadUnit,
  ) {}

  markRoot(absolute: string): void {
    this.loadedInto.set(JSON.stringify([absolute, '']), undefined);
  }

  /** Loads the import at `imports[index]` of `file`; `chain` is the files importing it, `file` last. */
  load(file: SourceFile, params: Record<string, unknown>, prefix: string, index: number, entry: string | RawImport, chain: readonly string[]): void {
    const target = this.target(file, prefix, index, entry, chain);
    if (!target) return;
    const { spec, at, absolute, display } = target;
    this.loadedInto.set(JSON.stringify([absolute, target.prefix]), { file, path: at });
    const problems: InterpolationProblem[] = [];
    const values = interpolate(spec.params ?? {}, { params }, ['imports', index, 'params'], problems) as Record<string, unknown>;
    for (const p of problems) this.problems.push(file.at(p.path, p.message));
    const before = this.problems.length;
    const loaded = this.loadUnit(display, absolute, target.prefix, { values, origin: { file, path: ['imports', index, 'params'] } }, chain);
    if (!loaded && this.problems.length === before + 1 && this.problems[before]?.range === undefined) {
      // The imported file could not be read: say so where the import is written.
      const reason = this.problems.pop()!.message.replace('cannot read pipeline file: ', '');
      this.problems.push(file.at(at, `cannot read import '${spec.file}': ${reason}`));
    }
  }

  /** The file an import names and its namespace; undefined (reported) when it may not be loaded. */
  private target(file: SourceFile, prefix: string, index: number, entry: string | RawImport, chain: readonly string[]): ImportTarget | undefined {
    const spec: RawImport = typeof entry === 'string' ? { file: entry } : entry;
    const at: YamlPath = typeof entry === 'string' ? ['imports', index] : ['imports', index, 'file'];
    if (spec.file.trim() === '') {
      this.problems.push(file.at(at, 'an import must name a pipeline file; this path is empty'));
      return undefined;
    }
    const absolute = resolve(dirname(file.absolute), spec.file);
    if (chain.length > MAX_IMPORT_DEPTH) {
      this.problems.push(file.at(at, `imports nest deeper than ${MAX_IMPORT_DEPTH} files (a file importing a file importing ...)`));
      return undefined;
    }
    if (++this.imported > MAX_IMPORTS) {
      if (this.imported === MAX_IMPORTS + 1) {
        this.problems.push(file.at(at, `more than ${MAX_IMPORTS.toLocaleString('en')} imports in all, counting each import of an imported file`));
      }
      return undefined;
    }
    if (chain.includes(absolute)) {
      const cycle = [...chain.slice(chain.indexOf(absolute)), absolute].map((p) => relative(process.cwd(), p) || p);
      this.problems.push(file.at(at, `import cycle: ${cycle.join(' -> ')}`));
      return undefined;
    }
    const childPrefix = spec.as ? (prefix ? `${prefix}/${spec.as}` : spec.as) : prefix;
    const display = relative(process.cwd(), absolute) || absolute;
    const namespace = JSON.stringify([absolute, childPrefix]);
    if (this.loadedInto.has(namespace)) {
      const first = this.loadedInto.get(namespace);
      const line = first ? ` (also at line ${this.sources.position(first.file.display, first.file.rangeOf(first.path)[0]).line})` : '';
      this.problems.push(
        file.at(at, `${display} is imported twice into the same namespace${line}; give one import an 'as:' prefix`),
      );
      return undefined;
    }
    return { spec, at, absolute, display, prefix: childPrefix };
  }
}
