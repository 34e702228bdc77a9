/**
 * The JSON Schema of pipeline files, built from the node kinds' definitions so that the schema editors
 * use (schemas/pipeline.schema.json) and the checks the analyzer runs come from one source.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { KindRegistry } from '../registry.js';

export const FORMAT_VERSION = 1;

/** Values written as `${params.x}` or `${item.y}` may stand where any typed value is expected. */
const Interpolated = Type.String({
  pattern: '\\$\\{[^}]+\\}',
  description: 'A reference (${params.NAME}, ${item.AXIS}, ${level}) or arithmetic on them (${1 - 0.8 ** level}).',
});

const Reference = Type.String({
  pattern: '^[A-Za-z0-9_][A-Za-z0-9_./-]*$',
  description: 'Another node\'s output: `node` (its only output of the right type) or `node.port`.',
  // Read by schema-check.ts to say what was expected in words.
  expected: "a reference ('node' or 'node.port')",
});

const Import = Type.Union([
  Type.String({ description: 'Path of a pipeline file to import, relative to this file.' }),
  Type.Object(
    {
      file: Type.String({ description: 'Path of the pipeline file to import, relative to this file.' }),
      as: Type.Optional(
        Type.String({
          pattern: '^[A-Za-z0-9_][A-Za-z0-9_-]*$',
          description: 'Prefix of the imported node ids (`as/node`); without it they join this file\'s namespace.',
        }),
      ),
      params: Type.Optional(
        Type.Record(Type.String(), Type.Unknown(), { description: 'Overrides of the imported file\'s params.' }),
      ),
    },
    { additionalProperties: false },
  ),
]);

function nodeSchema(withSchema: TSchema, kindSchema: TSchema): TSchema {
  return Type.Object(
    {
      kind: kindSchema,
      description: Type.Optional(Type.String({ description: 'A note for people; it never changes a key.' })),
      inputs: Type.Optional(
        Type.Record(
          Type.String(),
          Type.Union([Reference, Type.Array(Reference), Type.Record(Type.String(), Reference)]),
          { description: 'Input ports, each bound to another node\'s output.' },
        ),
      ),
      with: Type.Optional(withSchema),
      foreach: Type.Optional(
        Type.Union([Type.Array(Type.Unknown()), Interpolated], {
          description: 'Run one instance per list item; ${item} (or ${item.KEY} for maps) refers to it.',
        }),
      ),
      matrix: Type.Optional(
        Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.Union([Type.Array(Type.Unknown()), Interpolated]), {
          additionalProperties: false,
          description: 'Run one instance per combination of the named lists; ${item.NAME} refers to a value.',
        }),
      ),
      salt: Type.Optional(
        Type.Union([Type.String(), Type.Number()], { description: 'Change it to force a new key (a re-run) for this node.' }),
      ),
    },
    { additionalProperties: false },
  );
}

/** Each parameter may also be given as a reference to a param or sweep item. */
function withInterpolation(params: TSchema): TSchema {
  const properties = (params as { properties?: Record<string, TSchema> }).properties ?? {};
  const required = new Set((params as { required?: string[] }).required ?? []);
  const relaxed: Record<string, TSchema> = {};
  for (const [name, schema] of Object.entries(properties)) {
    const either = Type.Union([schema, Interpolated], { description: schema.description });
    // A parameter with a default may be left out even though the kind's own schema lists it as required.
    relaxed[name] = required.has(name) && schema.default === undefined ? either : Type.Optional(either);
  }
  return Type.Object(relaxed, { additionalProperties: false });
}

const NODE_ID = '^[A-Za-z0-9_][A-Za-z0-9_-]*$';

/**
 * A repeat group: its nodes once per level 1..N, each level fed by the one before (`prev.NODE`), level 1
 * by `first`. Instances read `GROUP/NODE[level=k]`.
 */
function groupSchema(node: TSchema, count: TSchema): TSchema {
  return Type.Object(
    {
      description: Type.Optional(Type.String({ description: 'A note for people; it never changes a key.' })),
      repeat: count,
      first: Type.Optional(
        Type.Record(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_-]*(\\.[A-Za-z0-9_-]+)?$' }), Reference, {
          additionalProperties: false,
          description: 'What `prev.NODE` (or `prev.NODE.PORT`) means at level 1: a reference to a node outside the group.',
        }),
      ),
      nodes: Type.Record(Type.String({ pattern: NODE_ID }), node, {
        additionalProperties: false,
        description: "The nodes of one level; inside the group a node names the same level's nodes by their ids, the previous level's as `prev.NODE`, and its level as ${level}.",
      }),
    },
    { additionalProperties: false },
  );
}

const RepeatCount = Type.Union([Type.Integer({ minimum: 1 }), Interpolated], {
  description: 'How many levels (a positive integer, or ${params.NAME}): raising it adds levels and leaves the earlier ones cached.',
});

function fileSchema(node: TSchema, defaults: TSchema): TSchema {
  return Type.Object(
    {
      sparsegraph: Type.Literal(FORMAT_VERSION, { description: 'Version of the pipeline format.' }),
      name: Type.String({ minLength: 1, description: 'Name of the experiment; scopes the run history in the cache.' }),
      description: Type.Optional(Type.String()),
      imports: Type.Optional(Type.Array(Import, { description: 'Pipeline files whose params, defaults and nodes this one uses.' })),
      params: Type.Optional(
        Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }), Type.Unknown(), {
          additionalProperties: false,
          description: 'Values nodes refer to as ${params.NAME}; override with --set NAME=VALUE.',
        }),
      ),
      defaults: Type.Optional({
        ...defaults,
        description: 'Parameters applied to every node of a kind unless the node sets them.',
      } as TSchema),
      nodes: Type.Record(Type.String({ pattern: NODE_ID }), node, {
        additionalProperties: false,
        description: 'The experiment graph: node id to node, or to a repeat group of nodes.',
      }),
    },
    { additionalProperties: false },
  );
}

/** The whole file, each node's `with:` checked against its kind: what editors use. */
export function pipelineSchema(registry: KindRegistry): TSchema {
  const kinds = registry.all();
  const nodes = kinds.map((k) => nodeSchema(withInterpolation(k.params), Type.Literal(k.kind, { description: k.description })));
  // Written once under `definitions` and referred to from the file's nodes and from repeat groups.
  const node = Type.Unsafe<unknown>({ $ref: '#/definitions/node' });
  const nodeOrGroup = Type.Union([node, groupSchema(node, RepeatCount)]);
  const defaults = Type.Object(
    Object.fromEntries(kinds.map((k) => [k.kind, Type.Optional(Type.Partial(withInterpolation(k.params)))])),
    { additionalProperties: false },
  );
  return { ...fileSchema(nodeOrGroup, defaults), definitions: { node: Type.Union(nodes) } };
}

/**
 * What the analyzer checks before anything else, in two parts so that a problem in one node (or at the
 * top of the file) does not hide the others: the file with its nodes left open, then each node. `with:`
 * and `defaults:` are checked against the kinds after params and sweep items are substituted.
 */
export const structure = {
  file: fileSchema(Type.Unknown(), Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()))),
  node: nodeSchema(Type.Record(Type.String(), Type.Unknown()), Type.String({ description: 'The node kind.' })),
  /** The count is checked once params are substituted, to say "a positive integer" in words. */
  group: groupSchema(Type.Unknown(), Type.Unknown()),
};

/** A `nodes:` entry that is a repeat group rather than a node: a map with `repeat` or `nodes` and no `kind`. */
export function isGroupEntry(entry: unknown): boolean {
  return entry !== null && typeof entry === 'object' && !Array.isArray(entry) && !('kind' in entry) && ('repeat' in entry || 'nodes' in entry);
}

/** The file written to schemas/pipeline.schema.json. */
export function editorSchemaDocument(registry: KindRegistry): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://sparsegraph.dev/schemas/pipeline.schema.json',
    title: 'sparsegraph pipeline',
    ...pipelineSchema(registry),
  };
}

export function editorSchemaText(registry: KindRegistry): string {
  return `${JSON.stringify(editorSchemaDocument(registry), null, 2)}\n`;
}
