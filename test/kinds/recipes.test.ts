/**
 * Every `sparsegraph ...` command line printed for users (in pipelines/*.yaml comments, README.md and
 * the other Markdown files a user gets, and every command's `--help`) works as written: each one that
 * names a pipeline validates and plans with its `--set` overrides (and planning refuses a schedule that
 * cannot fit, so a shrink that does not fit fails here), analysis-only commands run as written, and the
 * quickstart's documented shrink runs for real. A template (`FILE`, `[--set k=v]`) names no pipeline
 * and is skipped; so is `bench`, which names none.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { cli, tempDir } from '../exec/helpers.js';
import { repoRoot, runCli } from '../lang/helpers.js';

interface Recipe {
  /** Where it is printed: `FILE:LINE`, or `--help of COMMAND`. */
  readonly where: string;
  /** The words after `sparsegraph`, as a shell would split them. */
  readonly argv: readonly string[];
}

/** Shell words of a command line: single and double quotes, and an unquoted `#` starting a comment. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      assert.ok(end > i, `unclosed quote in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) {
      break;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The command lines in a text: what follows `sparsegraph ` up to the line's end (or a closing backtick). */
function commandsIn(text: string, where: (line: number) => string, codeOnly: boolean): Recipe[] {
  const recipes: Recipe[] = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return;
    }
    // In Markdown, commands are in code: a fenced block or a `span`; elsewhere, the whole line.
    const pieces = !codeOnly || fenced ? [line] : [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const piece of pieces) {
      const m = /(?:^|[\s&;(])(?:npx\s+)?sparsegraph\s+([a-z].*)$/.exec(piece);
      if (m && !/^sparsegraph:/.test(piece.trim())) recipes.push({ where: where(i + 1), argv: shellWords(m[1]!) });
    }
  });
  return recipes;
}

/** A usage template rather than a command to run: placeholders (`FILE`, `NODE|KEY`) or optional parts (`[--set k=v]`). */
const isTemplate = (argv: readonly string[]) => argv.some((w) => /^\[-|^[A-Z]{2,}(\b|$)|^<|\|/.test(w));

function markdownFiles(): string[] {
  const files = ['README.md', 'BENCHMARKS.md'].filter((f) => existsSync(join(repoRoot, f)));
  for (const dir of ['cli', 'engine', 'nodes', 'science', 'docs']) {
    const walk = (d: string): void => {
      for (const entry of readdirSync(join(repoRoot, d), { withFileTypes: true })) {
        const path = join(d, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.md')) files.push(path);
      }
    };
    if (existsSync(join(repoRoot, dir))) walk(dir);
  }
  return files;
}

/** Every command's `--help`, and its subcommands' (`cache export`). */
async function helpTexts(): Promise<{ where: string; text: string }[]> {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0, top.stderr);
  const out = [{ where: '--help', text: top.stdout }];
  const commandsOf = (help: string) => {
    const section = help.split(/^Commands:$/m)[1] ?? '';
    return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  };
  for (const command of commandsOf(top.stdout)) {
    const r = await runCli([command, '--help']);
    assert.equal(r.code, 0, `${command} --help: ${r.stderr}`);
    out.push({ where: `${command} --help`, text: r.stdout });
    for (const sub of commandsOf(r.stdout)) {
      const s = await runCli([command, sub, '--help']);
      assert.equal(s.code, 0, `${command} ${sub} --help: ${s.stderr}`);
      out.push({ where: `${command} ${sub} --help`, text: s.stdout });
    }
  }
  return out;
}

async function allRecipes(): Promise<Recipe[]> {
  const recipes: Recipe[] = [];
  for (const name of readdirSync(join(repoRoot, 'pipelines')).filter((f) => f.endsWith('.yaml')).sort()) {
    const file = `pipelines/${name}`;
    const comments = readFileSync(join(repoRoot, file), 'utf8')
      .split('\n')
      .map((l) => (/^\s*#/.test(l) ? l.replace(/^\s*#/, '') : ''))
      .join('\n');
    recipes.push(...commandsIn(comments, (n) => `${file}:${n}`, false));
  }
  for (const file of markdownFiles()) recipes.push(...commandsIn(readFileSync(join(repoRoot, file), 'utf8'), (n) => `${file}:${n}`, true));
  for (const { where, text } of await helpTexts()) {
    // `Usage: sparsegraph run [options] <file>` is the synopsis, a template.
    recipes.push(...commandsIn(text.replace(/^Usage: .*$/gm, ''), () => where, false));
  }
  return recipes;
}

/** The pipeline a recipe names: the first argument ending in .yaml or .yml, relative to the repository. */
const pipelineOf = (argv: readonly string[]) => argv.find((w) => /\.ya?ml$/.test(w));

/** The `--set` values of a recipe, as `--set` pairs again. */
function setsOf(argv: readonly string[]): string[] {
  const sets: string[] = [];
  argv.forEach((w, i) => {
    if (w === '--set') sets.push('--set', argv[i + 1]!);
    else if (w.startsWith('--set=')) sets.push(w);
  });
  return sets;
}

const recipes = await allRecipes();
const runnable = recipes.filter((r) => !isTemplate(r.argv) && pipelineOf(r.argv) !== undefined);

/** The quickstart's documented shrink, the one a new user tries first. */
const QUICKSTART_SHRINK = recipes.find((r) => r.where.startsWith('pipelines/quickstart.yaml:') && r.argv[0] === 'run' && r.argv.includes('--set'));

test('the recipes are found: the pipelines\' comments, the README and the docs', () => {
  const where = (prefix: string) => runnable.filter((r) => r.where.startsWith(prefix)).length;
  for (const name of ['quickstart', 'paper', 'imp', 'instability', 'rigl-vs-static', 'single-sparsity']) assert.ok(where(`pipelines/${name}.yaml:`) >= 1, name);
  assert.ok(where('README.md:') >= 4, `README: ${where('README.md:')}`);
  assert.ok(QUICKSTART_SHRINK, 'the quickstart comment shows how to shrink it');
  // Templates are recognised as such, not run: the README's command table.
  assert.ok(recipes.some((r) => r.where.startsWith('README.md:') && isTemplate(r.argv) && r.argv.includes('FILE')));
  assert.equal(isTemplate(['validate', 'FILE', '[--set', 'k=v]']), true);
  assert.equal(isTemplate(['export', 'PIPELINE.yaml', '--out', 'DIR']), true);
  assert.equal(isTemplate(['run', 'pipelines/paper.yaml', '--set', 'seeds=[0]', '--set', 'sparsities=[0.9,0.98]']), false);
  // Quotes as a shell reads them; a trailing comment is not part of the command.
  assert.deepEqual(shellWords(`run p.yaml --set dataset='{name: mnist, trainSize: 2000}' --set "a=b c"   # one sparsity`), [
    'run',
    'p.yaml',
    '--set',
    'dataset={name: mnist, trainSize: 2000}',
    '--set',
    'a=b c',
  ]);
});

test('every recipe that names a pipeline validates and plans as written', async () => {
  const cache = tempDir('sg-recipes-');
  const failures: string[] = [];
  for (const recipe of runnable) {
    const file = pipelineOf(recipe.argv)!;
    const shown = `${recipe.where}: sparsegraph ${recipe.argv.join(' ')}`;
    if (!existsSync(join(repoRoot, file))) {
      failures.push(`${shown}: ${file} does not exist`);
      continue;
    }
    const sets = setsOf(recipe.argv);
    for (const argv of [['validate', file, ...sets], ['plan', file, ...sets, '--cache', cache, '--json']]) {
      const r = await runCli(argv);
      if (r.code !== 0) failures.push(`${shown}: ${argv[0]} exits ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    }
    // Commands that only analyse run as written.
    if (recipe.argv[0] === 'graph' || recipe.argv[0] === 'validate') {
      const r = await runCli(recipe.argv);
      if (r.code !== 0) failures.push(`${shown}: exits ${r.code}: ${r.stderr.trim()}`);
    }
  }
  assert.deepEqual(failures, []);
  // Planning wrote no results into the cache, and nothing beside the pipelines.
  assert.equal(existsSync(join(repoRoot, 'pipelines', 'results')), false);
});

test('the quickstart\'s documented shrink runs as written, start to report', async () => {
  const argv = QUICKSTART_SHRINK!.argv;
  const dir = tempDir('sg-recipes-run-');
  // As written, but on a copy, so the report lands in a scratch directory and not in the repository.
  copyFileSync(join(repoRoot, 'pipelines', 'quickstart.yaml'), join(dir, 'quickstart.yaml'));
  const file = join(dir, 'quickstart.yaml');
  const args = argv.map((w) => (w === 'pipelines/quickstart.yaml' ? file : w));
  assert.notDeepEqual(args, argv, 'the recipe names pipelines/quickstart.yaml');
  const r = await cli([...args, '--json'], { env: { SPARSEGRAPH_KINDS: '' } });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { executed: string[]; cached: string[]; failed: unknown[] };
  assert.deepEqual(report.failed, []);
  assert.equal(report.executed.length + report.cached.length, 16);
  assert.ok(existsSync(join(dir, 'results', 'quickstart', 'report.md')), relative(dir, join(dir, 'results')));
});
