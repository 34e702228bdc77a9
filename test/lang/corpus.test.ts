/**
 * The corpus of broken pipelines: every `test/lang/corpus/NAME.yaml` is run through
 * `sparsegraph validate` and must print exactly `NAME.expected` on stderr (nothing on stdout) and exit
 * with 1, or 2 for command-line problems. Files under corpus/lib/ are only imported by the cases.
 *
 * `<known kinds>` in an expected file stands for the list of built-in kinds, so that adding a kind does
 * not rewrite the corpus.
 *
 * A case marked `todo` documents an analyzer defect: its `.expected` holds what the analyzer SHOULD
 * print, so it fails (without failing the suite) until the analyzer is fixed.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { corpusDir, registry, runCli } from './helpers.js';

interface CaseOptions {
  /** Extra command-line arguments. */
  readonly args?: readonly string[];
  /** Expected exit code (default 1). */
  readonly exit?: number;
  /** The case has an `.expected` but deliberately no `.yaml`: the file to validate does not exist. */
  readonly absent?: boolean;
  /** Why the analyzer does not yet print the expected output. */
  readonly todo?: string;
}

const options: Readonly<Record<string, CaseOptions>> = {
  'set-unknown-param': { args: ['--set', 'sparsty=0.5'], exit: 2 },
  'set-unknown-nested-key': { args: ['--set', 'training.epoch=3'], exit: 2 },
  'set-not-a-map': { args: ['--set', 'sparsity.x=1'], exit: 2 },
  'set-missing-equals': { args: ['--set', 'sparsity'], exit: 2 },
  'no-such-file': { absent: true },
};

/** The expected stderr of a case, with the placeholder filled in. */
function expectedOutput(name: string): string {
  return readFileSync(join(corpusDir, `${name}.expected`), 'utf8').replaceAll('<known kinds>', registry.names().join(', '));
}

const expectedFiles = readdirSync(corpusDir)
  .filter((f) => f.endsWith('.expected'))
  .sort();
const cases = expectedFiles.map((f) => f.slice(0, -'.expected'.length));

test('the corpus has at least 35 cases, each with a pipeline and an expected output', () => {
  assert.ok(cases.length >= 35, `only ${cases.length} cases`);
  const yamls = readdirSync(corpusDir).filter((f) => f.endsWith('.yaml'));
  for (const name of cases) {
    assert.equal(existsSync(join(corpusDir, `${name}.yaml`)), !options[name]?.absent, `${name}.yaml`);
  }
  for (const yaml of yamls) assert.ok(cases.includes(yaml.slice(0, -'.yaml'.length)), `${yaml} has no .expected`);
  for (const name of Object.keys(options)) assert.ok(cases.includes(name), `options for unknown case ${name}`);
});

test('at least two corpus cases report three or more independent problems at once', () => {
  const many = cases.filter((name) => {
    if (options[name]?.todo) return false;
    const text = readFileSync(join(corpusDir, `${name}.expected`), 'utf8');
    return text.split('\n').filter((l) => l.includes(': error: ')).length >= 3;
  });
  assert.ok(many.length >= 2, `only ${many.join(', ')}`);
});

test('validate --json prints the same diagnostics as one JSON document on stdout', async () => {
  const expected = expectedOutput('many-problems-graph')
    .split('\n')
    .filter((l) => l.includes(': error: '))
    .map((l) => {
      const [, file, line, column, message] = /^(.*?):(\d+):(\d+): error: (.*)$/.exec(l)!;
      return { file, line: Number(line), column: Number(column), message };
    });
  const result = await runCli(['validate', 'test/lang/corpus/many-problems-graph.yaml', '--json']);
  assert.equal(result.code, 1);
  assert.equal(expected.length, 4);
  assert.deepEqual(JSON.parse(result.stdout), { ok: false, diagnostics: expected, usage: [] });
});

test('validate accepts the valid pipelines and counts their instances', async () => {
  const counts: Record<string, number> = {
    'pipelines/quickstart.yaml': 16,
    // 3 seeds: init, dense, its evaluation; 3 levels of prune, rewind, train, evaluate; the figure.
    'pipelines/imp.yaml': 3 * 3 + 3 * 3 * 4 + 1,
    // 1 seed x 4 k: init, trunk, two branches, the line; the figure.
    'pipelines/instability.yaml': 1 + 4 * 4 + 1,
    // 3 seeds: init; x 4 sparsities: prune, scratch init, its evaluation; x 3 methods: train, evaluate; the figure.
    'pipelines/rigl-vs-static.yaml': 3 + 3 * 4 * 3 + 3 * 4 * 3 * 2 + 1,
    'test/lang/valid/sweep.yaml': 15,
    'test/lang/valid/imports.yaml': 11,
    'test/lang/valid/foreach-maps.yaml': 11,
  };
  for (const [file, count] of Object.entries(counts)) {
    const result = await runCli(['validate', file]);
    assert.deepEqual(result, { code: 0, stdout: `${file}: ok (${count} node instances)\n`, stderr: '' });
  }
});

describe('sparsegraph validate on the corpus', { concurrency: 2 }, () => {
  for (const name of cases) {
    const opts = options[name] ?? {};
    test(name, opts.todo ? { todo: opts.todo } : {}, async () => {
      const expected = expectedOutput(name);
      const result = await runCli(['validate', `test/lang/corpus/${name}.yaml`, ...(opts.args ?? [])]);
      assert.equal(result.stderr, expected);
      assert.equal(result.stdout, '');
      assert.equal(result.code, opts.exit ?? 1);
    });
  }
});
