import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { editorSchemaText } from '../../engine/lang/schema.js';
import { KindRegistry } from '../../engine/registry.js';
import { builtinKinds } from '../../nodes/index.js';

const root = new URL('../../../', import.meta.url);
const registry = new KindRegistry(builtinKinds);
const PIPELINES = ['quickstart.yaml', 'single-sparsity.yaml', 'paper.yaml', 'imp.yaml', 'instability.yaml', 'rigl-vs-static.yaml'];

test('the committed editor schema is the one the node definitions generate (run `npm run schema`)', () => {
  const committed = readFileSync(new URL('schemas/pipeline.schema.json', root), 'utf8');
  assert.equal(committed, editorSchemaText(registry));
});

test('the editor schema accepts the example pipelines and rejects a wrong parameter', () => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(editorSchemaText(registry)) as object);
  const quickstart = parse(readFileSync(new URL('pipelines/quickstart.yaml', root), 'utf8')) as Record<string, any>;
  assert.equal(validate(quickstart), true, JSON.stringify(validate.errors?.slice(0, 3)));
  quickstart['nodes']['pruned']['with']['sparsity'] = 'ninety';
  assert.equal(validate(quickstart), false);
  quickstart['nodes']['pruned']['with']['sparsity'] = 0.9;
  quickstart['nodes']['pruned']['with']['sparsty'] = 0.9;
  assert.equal(validate(quickstart), false);
});

test('every example pipeline carries the yaml-language-server schema comment', () => {
  for (const name of PIPELINES) {
    const text = readFileSync(new URL(`pipelines/${name}`, root), 'utf8');
    assert.match(text.split('\n')[0]!, /^# yaml-language-server: \$schema=\.\.\/schemas\/pipeline\.schema\.json$/, name);
  }
});

test('the editor schema accepts every example pipeline, repeat groups included, and checks the nodes inside a group', () => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(editorSchemaText(registry)) as object);
  for (const name of PIPELINES) {
    const pipeline = parse(readFileSync(new URL(`pipelines/${name}`, root), 'utf8'), { merge: true }) as unknown;
    assert.equal(validate(pipeline), true, `${name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
  }
  const imp = parse(readFileSync(new URL('pipelines/imp.yaml', root), 'utf8')) as Record<string, any>;
  imp['nodes']['imp']['nodes']['prune']['with']['sparsty'] = 0.5;
  assert.equal(validate(imp), false);
  delete imp['nodes']['imp']['nodes']['prune']['with']['sparsty'];
  imp['nodes']['imp']['repeat'] = 0;
  assert.equal(validate(imp), false);
  imp['nodes']['imp']['repeat'] = 4;
  assert.equal(validate(imp), true);
});
