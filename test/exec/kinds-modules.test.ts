/**
 * Kinds modules that are wrong (`--kinds FILE` or SPARSEGRAPH_KINDS): each says which module, which
 * entry and what is wrong, exits 1, and shows no JavaScript internals; `--json` prints the same message.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliPath, tempDir } from './helpers.js';

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

function cli(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', SPARSEGRAPH_KINDS: '', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const timedOut = Boolean(error && (error as { killed?: boolean }).killed);
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr, timedOut });
    });
  });
}

const GOOD = '{ kind: "k", version: 1, description: "d", params: { type: "object", properties: { a: { type: "number" } } }, inputs: {}, outputs: { out: { type: "Metrics", doc: "o" } }, run: async () => ({}) }';

/** Module file name to its text, and the message `validate --kinds FILE` must end in. */
const modules: readonly [string, string | undefined, string][] = [
  ['missing.mjs', undefined, 'cannot load node kinds from missing.mjs: no such file'],
  ['folder.mjs', undefined, 'cannot load node kinds from folder.mjs: is a directory, not a JavaScript module'],
  ['fifo.mjs', undefined, 'cannot load node kinds from fifo.mjs: is not a regular file'],
  ['kinds.yaml', 'kinds: []\n', 'cannot load node kinds from kinds.yaml: is not a JavaScript module (.js, .mjs or .cjs); a kinds module is JavaScript (compile TypeScript first)'],
  ['syntax.mjs', 'export const kinds = [;\n', "cannot load node kinds from syntax.mjs: JavaScript syntax error: Unexpected token ';' (`node --check syntax.mjs` shows where)"],
  ['throws.mjs', 'throw new Error("no GPU here");\n', 'cannot load node kinds from throws.mjs: the module threw while loading: no GPU here'],
  ['throws-type.mjs', 'undefined.x;\n', "cannot load node kinds from throws-type.mjs: the module threw while loading: Cannot read properties of undefined (reading 'x')"],
  ['throws-object.mjs', 'throw { code: 7 };\n', 'cannot load node kinds from throws-object.mjs: the module threw while loading: a thrown object {"code":7}'],
  ['throws-number.mjs', 'throw 42;\n', 'cannot load node kinds from throws-number.mjs: the module threw while loading: a thrown 42'],
  ['unsettled.mjs', 'await new Promise(() => {});\nexport const kinds = [];\n', 'cannot load node kinds from unsettled.mjs: its top-level await never settles (it waits on nothing that can happen)'],
  ['none.mjs', 'export const other = [];\n', "kinds module none.mjs does not export 'kinds' (a list of node definitions)"],
  ['number.mjs', 'export const kinds = 5;\n', "kinds module number.mjs: its 'kinds' export must be a list of node definitions, got number 5"],
  ['map.mjs', `export const kinds = { k: ${GOOD} };\n`, "kinds module map.mjs: its 'kinds' export must be a list of node definitions, got an object"],
  ['getter.mjs', 'export const kinds = [{ get kind() { throw new Error("lazy"); } }];\n', 'kinds module getter.mjs: entry 0: reading it threw: lazy'],
  [
    'proxy.mjs',
    'export const kinds = new Proxy([], { get(t, p) { if (p === "length" || p === Symbol.iterator) throw new Error("trap"); return Reflect.get(t, p); } });\n',
    "kinds module proxy.mjs: reading its 'kinds' list threw: trap",
  ],
  ['null.mjs', `export const kinds = [${GOOD}, null];\n`, 'kinds module null.mjs: entry 1: a node definition is an object (kind, version, description, params, inputs, outputs, run), got null'],
  ['no-kind.mjs', `export const kinds = [{ ...${GOOD}, kind: undefined }];\n`, "kinds module no-kind.mjs: entry 0: 'kind' must be a non-empty string (the name pipelines use), got nothing"],
  [
    'no-version.mjs',
    `export const kinds = [{ ...${GOOD}, version: "1" }];\n`,
    "kinds module no-version.mjs: entry 0 (kind 'k'): 'version' must be a whole number (bumped when the kind's results change), got the string \"1\"",
  ],
  [
    'no-params.mjs',
    `export const kinds = [{ ...${GOOD}, params: undefined }];\n`,
    "kinds module no-params.mjs: entry 0 (kind 'k'): 'params' must be the JSON schema of its parameters, an object schema ({ type: 'object', properties: ... }), got nothing",
  ],
  [
    'bad-schema.mjs',
    `export const kinds = [{ ...${GOOD}, params: { type: "object", properties: { a: { minimum: "zero" } } } }];\n`,
    "kinds module bad-schema.mjs: entry 0 (kind 'k'): 'params' is not a valid JSON schema: schema is invalid: data/properties/a/minimum must be number",
  ],
  ['run.mjs', `export const kinds = [{ ...${GOOD}, run: "train" }];\n`, "kinds module run.mjs: entry 0 (kind 'k'): 'run' must be a function, got the string \"train\""],
  [
    'port.mjs',
    `export const kinds = [{ ...${GOOD}, inputs: { x: { type: "Tensor", doc: "" } } }];\n`,
    "kinds module port.mjs: entry 0 (kind 'k'): input port 'x': 'type' must be a port type or a list of them (Checkpoint, Mask, Curve, Landscape, Metrics, Figure), got the string \"Tensor\"",
  ],
  ['outputs.mjs', `export const kinds = [{ ...${GOOD}, outputs: [] }];\n`, "kinds module outputs.mjs: entry 0 (kind 'k'): 'outputs' must be a map of port names to port specs, got a list"],
  [
    'dataset.mjs',
    `export const kinds = [{ ...${GOOD}, datasetParam: "data" }];\n`,
    "kinds module dataset.mjs: entry 0 (kind 'k'): 'datasetParam' must name one of its params (a), got the string \"data\"",
  ],
  ['builtin.mjs', `export const kinds = [{ ...${GOOD}, kind: "init" }];\n`, "kinds module builtin.mjs: entry 0 (kind 'init'): kind 'init' is already defined (a built-in kind)"],
  ['twice.mjs', `export const kinds = [${GOOD}, ${GOOD}];\n`, "kinds module twice.mjs: entry 1 (kind 'k'): kind 'k' is already defined (by kinds module twice.mjs, entry 0)"],
];

function modulesDir(): string {
  const dir = tempDir('sg-kinds-modules-');
  writeFileSync(join(dir, 'pipeline.yaml'), 'sparsegraph: 1\nname: p\nnodes: {}\n');
  mkdirSync(join(dir, 'folder.mjs'));
  execFileSync('mkfifo', [join(dir, 'fifo.mjs')]);
  for (const [name, text] of modules) if (text !== undefined) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'good.mjs'), `export const kinds = [${GOOD}];\n`);
  return dir;
}

function assertClean(outcome: Outcome, code: number): void {
  assert.equal(outcome.timedOut, false, 'timed out');
  assert.doesNotMatch(outcome.stderr, /\n\s+at /, 'stack trace');
  assert.doesNotMatch(outcome.stderr, /internal error/);
  assert.equal(outcome.code, code, outcome.stderr);
}

test('each malformed kinds module says which module, which entry and what is wrong', async () => {
  const dir = modulesDir();
  for (const [name, , message] of modules) {
    const plain = await cli(['validate', 'pipeline.yaml', '--kinds', name], dir);
    assertClean(plain, 1);
    assert.equal(plain.stderr, `sparsegraph: error: ${message}\n`, name);
    const json = await cli(['validate', 'pipeline.yaml', '--kinds', name, '--json'], dir);
    assertClean(json, 1);
    assert.deepEqual(JSON.parse(json.stdout), { ok: false, error: message }, name);
  }
});

test('a module named in SPARSEGRAPH_KINDS is checked the same way, and a well-formed one loads', async () => {
  const dir = modulesDir();
  const bad = await cli(['validate', 'pipeline.yaml'], dir, { SPARSEGRAPH_KINDS: join(dir, 'twice.mjs') });
  assertClean(bad, 1);
  assert.equal(bad.stderr, "sparsegraph: error: kinds module twice.mjs: entry 1 (kind 'k'): kind 'k' is already defined (by kinds module twice.mjs, entry 0)\n");
  writeFileSync(join(dir, 'uses.yaml'), 'sparsegraph: 1\nname: u\nnodes:\n  a: { kind: k, with: { a: 2 } }\n');
  const good = await cli(['validate', 'uses.yaml', '--kinds', 'good.mjs'], dir);
  assertClean(good, 0);
  assert.equal(good.stdout, 'uses.yaml: ok (1 node instance)\n');
});

test('a kind whose run throws a plain object fails with that object shown, inline and in a worker', async () => {
  const dir = modulesDir();
  writeFileSync(join(dir, 'throwing.mjs'), `export const kinds = [{ ...${GOOD}, run: async () => { throw { reason: 'no data', step: 3 }; } }];\n`);
  writeFileSync(join(dir, 'uses.yaml'), 'sparsegraph: 1\nname: u\nnodes:\n  a: { kind: k, with: { a: 2 } }\n');
  for (const jobs of ['0', '1']) {
    const ran = await cli(['run', 'uses.yaml', '--kinds', 'throwing.mjs', '--jobs', jobs, '--json', '--cache', join(dir, `cache-${jobs}`)], dir);
    assertClean(ran, 1);
    const report = JSON.parse(ran.stdout) as { ok: boolean; failed: { id: string; error: string }[] };
    assert.equal(report.ok, false);
    assert.deepEqual(report.failed, [{ id: 'a', error: 'a thrown object {"reason":"no data","step":3}' }], `--jobs ${jobs}`);
  }
});
