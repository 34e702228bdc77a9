/**
 * What loading a pipeline yields, before anything is swept or connected: node declarations (each with
 * its file, its params scope and the repeat group it belongs to), the kind defaults in force, and where
 * each value was written.
 */
import type { RawNode } from './read-document.js';
import type { SourceFile, YamlPath } from './source.js';

/** Where a value was written, so a later problem with it points there. */
export interface Origin {
  readonly file: SourceFile;
  readonly path: YamlPath;
}

/**
 * A `repeat:` group: its nodes are declared once per level 1..count, a level's nodes read the same
 * level's nodes by their local ids and the previous level's as `prev.NODE`; at level 1, `prev.NODE` means
 * the reference `first` gives for NODE.
 */
export interface RepeatGroup {
  /** Full id: the import prefixes and the group's key, joined by '/'. */
  readonly id: string;
  readonly localId: string;
  /** Prefix of the unit it was declared in: `first` references resolve there. */
  readonly prefix: string;
  readonly file: SourceFile;
  /** Where the group is written: `['nodes', GROUP]`. */
  readonly path: YamlPath;
  /** Number of levels; undefined when the count is wrong (reported): its nodes are then checked, not expanded. */
  readonly count: number | undefined;
  /** `NODE` or `NODE.PORT` to the reference `prev.NODE` (`prev.NODE.PORT`) stands for at level 1. */
  readonly first: Readonly<Record<string, string>>;
  /** Local ids of the group's nodes. */
  readonly members: readonly string[];
}

/** The axis a repeat group adds to its nodes' instances: `GROUP/NODE[level=k]`. */
export const LEVEL_AXIS = 'level';

export interface NodeDecl {
  /**
   * Unique id of the declaration: the import prefixes and the local id joined by '/'; for one level of a
   * node in a repeat group, `GROUP/NODE[level=k]`.
   */
  readonly id: string;
  /** The node as people name it in references and on the command line: `id` without a level. */
  readonly nodeId: string;
  readonly localId: string;
  /** Where the node is written: `['nodes', NODE]`, or `['nodes', GROUP, 'nodes', NODE]`. */
  readonly path: YamlPath;
  /** Prefix of the unit it was declared in ('' for the root file), used to resolve its references. */
  readonly prefix: string;
  readonly file: SourceFile;
  readonly raw: RawNode;
  /** The declaring file's params after imports' and --set overrides. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Params whose value was written in another file (an importer's `params:`), and where. */
  readonly paramOrigins: ReadonlyMap<string, Origin>;
  /** For a node of a repeat group: the group, and which level this declaration is. */
  readonly repeat?: { readonly group: RepeatGroup; readonly level: number };
}

/** Per kind, each defaulted parameter's value and where it was written. */
export type KindDefaults = Map<string, Map<string, { value: unknown; origin: Origin }>>;
