/**
 * What a node kind is: a definition object with a parameter schema, typed ports, a version and `run`.
 *
 * A definition file must stay importable without a tensor backend (analysis imports every kind to
 * validate and plan), so a kind loads the numerical layer inside `run` with a dynamic import.
 */
import type { Static, TObject } from '@sinclair/typebox';
import type { GatheredValue, PortType, PortValue, ProgressEvent } from '../base/values.js';


/** An input port. */
export interface InputPortSpec {
  /** Accepted value type(s). Connecting an output of another type is a validation error. */
  readonly type: PortType | readonly PortType[];
  /** A pipeline may leave the port unconnected. */
  readonly optional?: boolean;
  /**
   * The port collects every instance of the nodes it references (a figure gathering a sweep) instead of
   * following their sweep axes. It receives a list of {@link GatheredValue}.
   */
  readonly gather?: boolean;
  /** One line for people and editors. */
  readonly doc: string;
}

export interface OutputPortSpec {
  readonly type: PortType;
  readonly doc: string;
}


type PortTypes<S extends InputPortSpec> = S['type'] extends readonly PortType[]
  ? S['type'][number]
  : S['type'] extends PortType
    ? S['type']
    : never;

type InputValue<S extends InputPortSpec> = S['gather'] extends true
  ? GatheredValue<PortValue<PortTypes<S>>>[]
  : S['optional'] extends true
    ? PortValue<PortTypes<S>> | undefined
    : PortValue<PortTypes<S>>;

export type InputValues<I extends Record<string, InputPortSpec>> = { [K in keyof I]: InputValue<I[K]> };
export type OutputValues<O extends Record<string, OutputPortSpec>> = { [K in keyof O]: PortValue<O[K]['type']> };

/** What each connected input port of a node receives, by type: known before anything runs. */
export type InputTypes<I extends Record<string, InputPortSpec>> = { readonly [K in keyof I]?: Accepted<I[K]['type']> };

/** A port's accepted types as a union; distributive, so the general InputPortSpec gives every PortType. */
type Accepted<T> = T extends readonly (infer E extends PortType)[] ? E : T;


/** Everything a kind's `run` may use. It never sees the cache, only typed values. */
export interface RunContext<P, I> {
  readonly params: P;
  readonly inputs: I;
  /** Aborted on Ctrl-C or when the run is cancelled; long loops check it every step. */
  readonly signal: AbortSignal;
  readonly progress: (event: ProgressEvent) => void;
  /** In-progress state of a long node; stored by the executor so a killed run resumes. */
  readonly saveProgress: (state: Record<string, unknown>) => Promise<void>;
  readonly loadProgress: () => Promise<Record<string, unknown> | undefined>;
  /** Name of the tensor backend chosen for this process (`--backend`), if the node needs one. */
  readonly backend: string | undefined;
  /**
   * Content fingerprint of the dataset named by the kind's `datasetParam`, computed once by analysis:
   * pass it to `loadDataset` so a worker never hashes the files again.
   */
  readonly datasetFingerprint?: string;
}

/**
 * What analysis knows about a node's data before anything runs, from the data layer's hook (absent
 * when analysis runs without one, or the node reads no dataset).
 */
export interface DataFacts {
  /** Samples in the training split the node reads (after `trainSize`). */
  readonly trainSize?: number;
}

/** A parameter value that cannot work, found before the node runs. */
export interface ParamProblem {
  /** The parameter it is about: analysis reports it where that parameter's value was written. */
  readonly param: string;
  readonly message: string;
}

export interface NodeDefinition<
  P extends TObject = TObject,
  I extends Record<string, InputPortSpec> = Record<string, InputPortSpec>,
  O extends Record<string, OutputPortSpec> = Record<string, OutputPortSpec>,
> {
  /** The name pipelines use in `kind:`. */
  readonly kind: string;
  /** Bumped whenever the meaning of the kind's results changes; part of every key. */
  readonly version: number;
  readonly description: string;
  /** JSON Schema of `with:`, with defaults and a description per field. */
  readonly params: P;
  readonly inputs: I;
  readonly outputs: O;
  /**
   * The node computes with the tensor backend: its worker selects one first, and it takes an
   * accelerator slot (`--gpus`) when the backend has one.
   */
  readonly tensorBackend?: boolean;
  /**
   * The parameter holding a dataset spec the node reads. Analysis resolves its `path` against the
   * pipeline file and fills in its defaults for `run`; the key gets the dataset's content fingerprint
   * and the spec without its path, so moving the data or writing a default never changes the key.
   */
  readonly datasetParam?: keyof Static<P> & string;
  /**
   * The parameter holding the path of a file the node reads (relative to the pipeline file). `run`
   * gets the absolute path; the key gets the file's sha256 instead of the path.
   */
  readonly fileParam?: keyof Static<P> & string;
  /**
   * Problems the parameters have together (a schedule that cannot fit in the run), beyond what the
   * schema says of each alone; analysis calls it for every instance once its data is keyed, and a
   * problem stops the pipeline before anything runs. Must not need a tensor backend.
   */
  check?(params: Static<P>, facts: DataFacts): readonly ParamProblem[];
  /**
   * Roughly how much work a run is, in relative units (about one training step on a 128-sample
   * minibatch; 1 when absent): the executor starts the ready nodes with the longest chain of work after
   * them first. Only an estimate that orders the work, so it never enters a key; must not need a tensor
   * backend. `inputs` holds the type each connected, non-gathering port receives (a Checkpoint or a
   * Curve, for a port that takes either).
   */
  cost?(params: Static<P>, facts: DataFacts, inputs: InputTypes<I>): number;
  /** The seed the node uses, recorded in provenance. */
  seed?(params: Static<P>): number | undefined;
  /** Absent while the kind's science is not built yet: such a node validates and plans but cannot run. */
  // Method syntax on purpose: a concrete kind must stay assignable to AnyNodeDefinition.
  run?(ctx: RunContext<Static<P>, InputValues<I>>): Promise<OutputValues<O>>;
}

/** Any node definition, for registries and the executor. */
export type AnyNodeDefinition = NodeDefinition<TObject, Record<string, InputPortSpec>, Record<string, OutputPortSpec>>;

/** Keeps the literal types of a definition so `run` sees typed params and inputs. */
export function defineNode<
  P extends TObject,
  I extends Record<string, InputPortSpec>,
  O extends Record<string, OutputPortSpec>,
>(definition: NodeDefinition<P, I, O>): NodeDefinition<P, I, O> {
  return definition;
}

export function acceptedTypes(port: InputPortSpec): readonly PortType[] {
  return typeof port.type === 'string' ? [port.type] : port.type;
}

/**
 * The context a kind's `run` receives, from its parameter schema and input ports: what a kind's lazily
 * loaded implementation module types its function with (it cannot name the definition without a cycle).
 */
export type KindContext<P extends TObject, I extends Record<string, InputPortSpec>> = RunContext<Static<P>, InputValues<I>>;
