/**
 * Mutation fuzzing: valid pipelines are damaged in deterministic, seeded ways (lines deleted,
 * duplicated, swapped, re-indented, scalars replaced by other types, truncation, random characters,
 * renamed keys) and analysed. The analyzer must never throw, and must answer either "valid" or at
 * least one diagnostic, each in a file it read and with a range inside that file. A sample of the
 * mutants also goes through the CLI, which must never print a stack trace.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Analysis } from '../../engine/lang/analyze.js';
import { analyzeFile, repoRoot, runCli, scratchDir, validDir } from './helpers.js';
import { rng } from '../fixtures/random.js';


type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const index = (random: Random, length: number): number => Math.floor(random() * length);

const SCALARS = ['[]', '{}', 'null', '~', '-1', '0', '1.5', '1e400', '"text"', 'true', '[1, 2]', '{ a: 1 }', '"${params.nope}"',
  '"${item}"', '"${item.x}"', '"${params}"', '*anchor', '&anchor 3', '!!binary aGk=', "'", '"', '[', '{', '|', '>', '- x', 'a: b'];
const NOISE = [':', '{', '}', '[', ']', ',', '"', "'", '#', '&', '*', '!', '|', '>', '-', '?', '%', '@', '`', '\t', '\n', ' ', 'x', '$', '${', '.'];
const KEYS = ['kind', 'inputs', 'with', 'foreach', 'matrix', 'salt', 'nodes', 'params', 'imports', 'defaults', 'name', 'sparsegraph',
  'file', 'as', 'init', 'mask', 'series', 'sparsity', 'seed'];

/** One random damage to the text. */
function mutate(text: string, random: Random): string {
  const lines = text.split('\n');
  const line = index(random, lines.length);
  switch (index(random, 9)) {
    case 0: // delete a line
      lines.splice(line, 1);
      return lines.join('\n');
    case 1: // duplicate a line
      lines.splice(line, 0, lines[line]!);
      return lines.join('\n');
    case 2: {
      // swap two lines
      const other = index(random, lines.length);
      [lines[line], lines[other]] = [lines[other]!, lines[line]!];
      return lines.join('\n');
    }
    case 3: {
      // change the indentation
      const body = lines[line]!.trimStart();
      const indent = lines[line]!.length - body.length;
      lines[line] = pick(random, [' '.repeat(Math.max(0, indent - 1)), ' '.repeat(indent + 1), ' '.repeat(indent + 2), '', '\t']) + body;
      return lines.join('\n');
    }
    case 4: {
      // replace a scalar value with one of another type
      const candidates = lines.map((l, i) => [l, i] as const).filter(([l]) => /:\s*\S/.test(l) && !l.trimStart().startsWith('#'));
      if (candidates.length === 0) return text;
      const [l, i] = pick(random, candidates);
      const colon = l.indexOf(': ') >= 0 ? l.indexOf(': ') : l.indexOf(':');
      lines[i] = `${l.slice(0, colon)}: ${pick(random, SCALARS)}`;
      return lines.join('\n');
    }
    case 5: // truncate
      return text.slice(0, index(random, text.length));
    case 6: {
      // insert random characters
      const at = index(random, text.length + 1);
      let noise = '';
      for (let n = 1 + index(random, 3); n > 0; n--) noise += pick(random, NOISE);
      return text.slice(0, at) + noise + text.slice(at);
    }
    case 7: {
      // rename a key: a typo or another known key
      const candidates = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*[A-Za-z_][\w-]*:/.test(l));
      if (candidates.length === 0) return text;
      const [l, i] = pick(random, candidates);
      lines[i] = l.replace(/^(\s*)([A-Za-z_][\w-]*):/, (_, space: string, key: string) => {
        const renamed = random() < 0.5 ? pick(random, KEYS) : key.slice(0, -1) + pick(random, ['x', 's', '_', '']);
        return `${space}${renamed}:`;
      });
      return lines.join('\n');
    }
    default: {
      // point a reference or value at a word from elsewhere in the file
      const words = text.match(/[A-Za-z_][\w./-]*/g) ?? [];
      const target = pick(random, words);
      const replacement = pick(random, words);
      const at = text.indexOf(target, index(random, text.length));
      return at < 0 ? text : text.slice(0, at) + replacement + text.slice(at + target.length);
    }
  }
}


interface Mutant {
  readonly name: string;
  /** The mutated copy of the pipeline, beside the original's imports. */
  readonly file: string;
  readonly text: string;
}

const ORIGINALS = [
  { path: join(repoRoot, 'pipelines/quickstart.yaml'), mutants: 140 },
  { path: join(validDir, 'sweep.yaml'), mutants: 100 },
  { path: join(validDir, 'imports.yaml'), mutants: 100 },
  { path: join(validDir, 'foreach-maps.yaml'), mutants: 60 },
];

/** Writes every mutant into a scratch copy of test/lang/valid (so relative imports still resolve). */
function makeMutants(): Mutant[] {
  const dir = scratchDir('sparsegraph-fuzz-');
  cpSync(validDir, dir, { recursive: true });
  const random = rng(20240601);
  const mutants: Mutant[] = [];
  for (const original of ORIGINALS) {
    const source = readFileSync(original.path, 'utf8');
    const base = original.path.split('/').pop()!.replace(/\.yaml$/, '');
    for (let n = 0; n < original.mutants; n++) {
      let text = source;
      for (let k = 1 + index(random, 3); k > 0; k--) text = mutate(text, random);
      const name = `${base}-${n}`;
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, text);
      mutants.push({ name, file, text });
    }
  }
  return mutants;
}

/** What is wrong with an analysis result, or undefined when it is well-formed. */
function malformed(result: Analysis): string | undefined {
  if (result.ok) return undefined;
  if (result.problems.length === 0) return 'not ok, but no diagnostics';
  for (const d of result.problems) {
    if (!d.file) return `diagnostic without a file: ${d.message}`;
    if (!d.message) return `diagnostic without a message in ${d.file}`;
    const text = result.sources.text(d.file);
    if (text === undefined) return `diagnostic in a file that was not read: ${d.file}`;
    if (!d.range) return `diagnostic without a range: ${d.file}: ${d.message}`;
    const [start, end] = d.range;
    // An error at the very end of the file may point just past its last character.
    if (!(start >= 0 && start <= text.length && end > start && end <= text.length + 1)) {
      return `range [${start}, ${end}) outside ${d.file} (${text.length} characters): ${d.message}`;
    }
  }
  return undefined;
}

const mutants = makeMutants();
const outcomes = mutants.map((m) => {
  try {
    const result = analyzeFile(m.file);
    return { mutant: m, ok: result.ok, problem: malformed(result) };
  } catch (e) {
    return { mutant: m, ok: false, thrown: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
});

const describeFailures = (list: typeof outcomes) =>
  list
    .slice(0, 5)
    .map((o) => `--- ${o.mutant.name}: ${'thrown' in o ? `threw ${o.thrown}` : o.problem}\n${o.mutant.text}`)
    .join('\n');

test('the fuzzer makes 400 distinct mutants, some valid and most not', () => {
  assert.equal(mutants.length, 400);
  assert.ok(new Set(mutants.map((m) => m.text)).size > 350);
  const valid = outcomes.filter((o) => o.ok).length;
  assert.ok(valid > 0 && valid < 200, `${valid} valid mutants`);
});

test('analyze() never throws on a mutant', () => {
  const thrown = outcomes.filter((o) => 'thrown' in o);
  assert.deepEqual(thrown.map((o) => o.mutant.name), [], describeFailures(thrown));
});

test('every mutant analysis is ok or has diagnostics with a file and a range inside it', () => {
  const bad = outcomes.filter((o) => !('thrown' in o) && o.problem !== undefined);
  assert.deepEqual(bad.map((o) => o.mutant.name), [], describeFailures(bad));
});

describe('the CLI on 30 mutants', { concurrency: 2 }, () => {
  // Every 13th mutant that analyses without throwing: the in-process crashes are covered above.
  const sample = outcomes.filter((o) => !('thrown' in o)).filter((_, i) => i % 13 === 0).slice(0, 30);
  test('the sample has 30 mutants', () => assert.equal(sample.length, 30));
  for (const { mutant } of sample) {
    test(mutant.name, async () => {
      const result = await runCli(['validate', mutant.file]);
      assert.ok([0, 1, 2].includes(result.code), `exit code ${result.code}`);
      assert.doesNotMatch(result.stderr, /internal error|^\s+at /m);
      if (result.code === 0) assert.match(result.stdout, /: ok \(\d+ node instances?\)\n$/);
      else assert.match(result.stderr, /: error: /);
    });
  }
});
