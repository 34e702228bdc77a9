/**
 * Cases built at run time in each case's scratch directory: files too big or too deep to commit, files
 * that are not files (FIFOs, devices, symlink loops), and encodings an editor would not keep (UTF-16,
 * CR-only lines, invalid UTF-8).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Exit, Family, HostileCase } from './case.js';

/** A case whose pipeline is `pipeline.yaml`, written by `build`. */
function gen(
  name: string,
  family: Family,
  why: string,
  exit: Exit | readonly Exit[],
  build: (dir: string) => void,
  more: Partial<Omit<HostileCase, 'name' | 'family' | 'why' | 'exit' | 'setup'>> = {},
): HostileCase {
  return { name, family, why, exit, setup: build, file: 'pipeline.yaml', ...more };
}

/** A pipeline text with `@@` where the diagnostic must point: the text without it, and LINE:COL in characters. */
export function marked(text: string): { text: string; at: string } {
  const i = text.indexOf('@@');
  if (i < 0) throw new Error('no @@ marker');
  const before = text.slice(0, i);
  const lines = before.split(/\r\n|\r|\n/);
  // A BOM is not a character of the first line: an editor shows none, so it moves no column.
  const last = lines.length === 1 ? lines[0]!.replace(/^\uFEFF/, '') : lines.at(-1)!;
  return { text: text.slice(0, i) + text.slice(i + 2), at: `${lines.length}:${[...last].length + 1}` };
}

const HEAD = (name: string) => `sparsegraph: 1\nname: ${name}\n`;
const INIT = 'nodes:\n  init:\n    kind: init\n';
const write = (dir: string, file: string, text: string | Buffer) => {
  mkdirSync(join(dir, file, '..'), { recursive: true });
  writeFileSync(join(dir, file), text);
};
/** A pipeline that imports `target` (a path as written in the file) and is otherwise fine. */
const importer = (name: string, target: string) => marked(`${HEAD(name)}imports:\n  - @@${JSON.stringify(target)}\n${INIT}`);
const mkfifo = (path: string) => execFileSync('mkfifo', [path]);
/** A file of `bytes` that takes no disk space. */
const sparse = (path: string, bytes: number) => {
  closeSync(openSync(path, 'w'));
  truncateSync(path, bytes);
};
const MiB = 1024 * 1024;

/** `count` lines of `line(i)`, built without one giant intermediate array of strings. */
function lines(count: number, line: (i: number) => string): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(line(i));
  return parts.join('\n');
}

function yamlCases(): HostileCase[] {
  const F: Family = 'yaml';
  return [
    gen('empty-file', F, 'a file of zero bytes', 1, (d) => write(d, 'pipeline.yaml', '')),
    gen('whitespace-file', F, 'a file of blank lines and spaces', 1, (d) => write(d, 'pipeline.yaml', '\n   \n\t\n\n')),
    gen('null-bytes', F, 'NUL bytes in the middle of a pipeline', 1, (d) => write(d, 'pipeline.yaml', `${HEAD('nul')}\0\0\0${INIT}`)),
    gen('flow-seq-nesting-100k', F, 'a value nested 100,000 flow lists deep', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('deep')}params:\n  p: ${'['.repeat(100_000)}1${']'.repeat(100_000)}\n${INIT}`), { timeoutMs: 30_000 }),
    gen('flow-map-nesting-100k', F, 'a value nested 100,000 flow maps deep, never closed', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('deep')}params:\n  p: ${'{a: '.repeat(100_000)}1\n${INIT}`), { timeoutMs: 30_000 }),
    gen('flow-nesting-read-by-node', F, 'a 20,000-deep list that a node reads', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('deep')}params:\n  p: ${'['.repeat(20_000)}1${']'.repeat(20_000)}\n${INIT}    with: { stream: "\${params.p}" }\n`), { timeoutMs: 30_000, says: /YAML nesting: maps and lists nest deeper than 100 levels here; a pipeline file may nest at most 100/, at: '4:105' }),
    gen('block-seq-nesting-50k', F, 'a compact block list nested 50,000 deep (- - - - ...)', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('deep')}params:\n  p:\n    ${'- '.repeat(50_000)}x\n${INIT}`), { timeoutMs: 30_000, says: /YAML nesting: maps and lists nest deeper than 100 levels here; a pipeline file may nest at most 100/, at: '5:203' }),
    gen('block-map-nesting-2k', F, 'block maps nested 2,000 deep, each indented one more space', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('deep')}params:\n${lines(2000, (i) => `${' '.repeat(i + 1)}k${i}:`)} 1\n${INIT}`), { timeoutMs: 30_000, says: /YAML nesting: maps and lists nest deeper than 100 levels here; a pipeline file may nest at most 100/, at: '104:102' }),
    gen('many-aliases', F, '5,000 aliases of one anchor', 0, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('aliases')}params:\n  x: &x 1\n  list: [${Array(5000).fill('*x').join(', ')}]\n${INIT}`)),
    gen('many-aliases-used', F, '5,000 aliases of one anchor, read by a node', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('aliases')}params:\n  x: &x 1\n  list: [${Array(5000).fill('*x').join(', ')}]\n${INIT}    with: { seed: "\${params.list}" }\n`)),
    gen('many-anchors', F, '100,000 distinct anchors, never used', 0, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('anchors')}params:\n  list:\n${lines(100_000, (i) => `    - &a${i} ${i}`)}\n${INIT}`), { timeoutMs: 30_000 }),
    gen('many-merges', F, 'one map merged 5,000 times', 0, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('merges')}params:\n  base: &b { a: 1 }\n  m: { <<: [${Array(5000).fill('*b').join(', ')}] }\n${INIT}`)),
    gen('alias-fanout-quadratic', F, '2,000 lists that each alias the previous list twice', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('fan')}params:\n  l0: &l0 [x]\n${lines(2000, (i) => `  l${i + 1}: &l${i + 1} [*l${i}, *l${i}]`)}\n${INIT}`)),
    gen('long-implicit-key', F, 'a 2,000-character key, longer than YAML allows an implicit key', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('key')}params:\n  ${'k'.repeat(2000)}: 1\n${INIT}`)),
    gen('duplicate-keys-100k', F, 'one param key written 100,000 times', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('dups')}params:\n${lines(100_000, () => '  p: 1')}\n${INIT}`), { timeoutMs: 30_000 }),
    gen('flow-commas-1m', F, 'a flow list of a million commas', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('commas')}params:\n  p: [${','.repeat(1_000_000)}]\n${INIT}`), { timeoutMs: 30_000 }),
    gen('expression-parens-100k', F, 'an expression in 100,000 parentheses', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('parens')}${INIT}    with: { seed: "\${${'('.repeat(100_000)}1${')'.repeat(100_000)}}" }\n`), { timeoutMs: 30_000, says: /parentheses and signs nest deeper than/, at: '6:19' }),
    gen('expression-unary-100k', F, 'an expression of 100,000 minus signs', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('minus')}${INIT}    with: { seed: "\${${'- '.repeat(100_000)}1}" }\n`), { timeoutMs: 30_000, says: /parentheses and signs nest deeper than/, at: '6:19' }),
    gen('expression-power-tower', F, 'a right-associative tower of 100,000 powers', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('tower')}${INIT}    with: { seed: "\${${Array(100_000).fill('1').join(' ** ')}}" }\n`), { timeoutMs: 30_000, says: /parentheses and signs nest deeper than/, at: '6:19' }),
    gen('string-10mib', F, 'a 10 MiB description', 0, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('big')}description: "${'x'.repeat(10 * MiB)}"\n${INIT}`), { timeoutMs: 30_000, commands: ['validate', 'graph'] }),
  ];
}

function scaleCases(): HostileCase[] {
  const F: Family = 'scale';
  const range = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(', ')}]`;
  const long = { timeoutMs: 60_000, commands: ['plan'] as const };
  return [
    gen('sweep-million', F, 'a matrix of 1,000 x 1,000: a million instances', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('million')}${INIT}    matrix: { seed: ${range(1000)}, s: ${range(1000)} }\n    with: { seed: "\${item.seed}" }\n`), { ...long, says: /matrix of node 'init' has 1,000,000 combinations \(1000 seed × 1000 s\), more than the 100,000 instances a pipeline may have/, at: '6:5' }),
    gen('sweep-1e12', F, 'four axes of 1,000: 10^12 instances, which nothing can hold', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('tera')}${INIT}    matrix: { a: ${range(1000)}, b: ${range(1000)}, c: ${range(1000)}, e: ${range(1000)} }\n`), { timeoutMs: 30_000 }),
    gen('sweep-crossed-million', F, '1,000 seeds feeding 1,000 sparsities: a million instances by crossing', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('crossed')}${INIT}    foreach: ${range(1000)}\n    with: { seed: "\${item}" }\n  pruned:\n    kind: prune\n    inputs: { init: init }\n    matrix: { s: [${Array.from({ length: 1000 }, (_, i) => (i + 1) / 1001).join(', ')}] }\n    with: { sparsity: "\${item.s}" }\n`), { ...long, says: /node 'pruned' would expand to 1,000,000 instances \(with the 1,000 before it\), more than the 100,000 a pipeline may have/, at: '8:3' }),
    gen('sweep-from-param-1e12', F, 'a 10^12 sweep built from a param list used on four axes', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('tera')}params:\n  xs: ${range(1000)}\n${INIT}    matrix: { a: "\${params.xs}", b: "\${params.xs}", c: "\${params.xs}", e: "\${params.xs}" }\n`), { timeoutMs: 30_000 }),
    gen('nodes-100k', F, '100,000 explicitly written nodes, which must validate in seconds', 0, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('many')}nodes:\n${lines(100_000, (i) => `  n${i}: { kind: init, with: { seed: ${i} } }`)}\n`), { timeoutMs: 120_000, heapMb: 1024, commands: ['validate'] }),
    gen('nodes-100k-last-duplicate', F, '100,000 nodes whose last id repeats the first', 1, (d) => {
      write(d, 'pipeline.yaml', `${HEAD('many')}nodes:\n${lines(100_000, (i) => `  n${i}: { kind: init }`)}\n  n0: { kind: init }\n`);
    }, { timeoutMs: 120_000, heapMb: 1024, commands: ['validate'], at: '100004:3' }),
    gen('param-chain-100k', F, '100,000 params, each the one before', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('chain')}params:\n  p0: 1\n${lines(99_999, (i) => `  p${i + 1}: "\${params.p${i}}"`)}\n${INIT}    with: { seed: "\${params.p99999}" }\n`), { timeoutMs: 30_000, accepted: { params: [{ id: 'init', name: 'seed', value: 1 }] }, says: /params refer to params in a chain longer than 100: p100 -> p99 -> p98 -> p97 -> \.\.\./, at: '104:9' }),
    gen('param-chain-100k-cycle', F, 'a 100,000-param chain that closes into a cycle', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('chain')}params:\n  p0: "\${params.p99999}"\n${lines(99_999, (i) => `  p${i + 1}: "\${params.p${i}}"`)}\n${INIT}`), { timeoutMs: 30_000, says: /cycle|chain/i }),
    gen('param-map-nesting-20k', F, 'a param map nested 20,000 deep in block style', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('nest')}params:\n  p: ${'{ a: '.repeat(20_000)}1${' }'.repeat(20_000)}\n${INIT}    with: { stream: "\${params.p}" }\n`), { timeoutMs: 30_000, says: /YAML nesting: maps and lists nest deeper than 100 levels here; a pipeline file may nest at most 100/, at: '4:501' }),
    gen('fan-in-10k', F, 'a figure gathering 10,000 series', 0, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('fan')}nodes:\n${lines(10_000, (i) => `  e${i}: { kind: interpolate, inputs: { start: a, end: a } }`)}\n  a: { kind: init }\n  fig:\n    kind: figure\n    inputs:\n      series: [${Array.from({ length: 10_000 }, (_, i) => `e${i}.landscape`).join(', ')}]\n    with: { plot: paths }\n`), { timeoutMs: 30_000 }),
    gen('plan-10k', F, 'planning 10,000 instances', 0, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('tenk')}${INIT}    foreach: ${range(10_000)}\n    with: { seed: "\${item}" }\n`), { timeoutMs: 15_000, commands: ['plan', 'validate'], accepted: { instances: 10_000, distinctKeys: true } }),
    gen('repeat-million', F, 'a repeat group of a million levels', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('levels')}${INIT}  chain:\n    repeat: 1000000\n    first: { step: init }\n    nodes:\n      step:\n        kind: prune\n        inputs: { init: prev.step }\n        with: { sparsity: 0.5 }\n`), { ...long, says: /repeat count 1,000,000 gives 1,000,000 node declarations, more than the 100,000 instances a pipeline may have/, at: '7:13' }),
    gen('repeat-2-53', F, 'a repeat count beyond 2^53', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('levels')}${INIT}  chain:\n    repeat: 9007199254740993\n    first: { step: init }\n    nodes:\n      step:\n        kind: prune\n        inputs: { init: prev.step }\n        with: { sparsity: 0.5 }\n`), { timeoutMs: 30_000 }),
    gen('imports-1000', F, 'one unit imported 1,000 times under different prefixes', 0, (d) => {
      write(d, 'lib/unit.yaml', `${HEAD('unit')}params:\n  seed: 0\n${INIT}    with: { seed: "\${params.seed}" }\n`);
      write(d, 'pipeline.yaml', `${HEAD('many-imports')}imports:\n${lines(1000, (i) => `  - { file: lib/unit.yaml, as: u${i}, params: { seed: ${i} } }`)}\nnodes: {}\n`);
    }, { timeoutMs: 30_000, accepted: { instances: 1000, distinctKeys: true } }),
    gen('import-chain-3000', F, 'a chain of 3,000 files, each importing the next', 1, (d) => {
      for (let i = 0; i < 3000; i++) {
        const next = i < 2999 ? `imports:\n  - { file: c${i + 1}.yaml, as: c${i + 1} }\n` : '';
        write(d, `lib/c${i}.yaml`, `${HEAD(`c${i}`)}${next}${INIT}`);
      }
      write(d, 'pipeline.yaml', `${HEAD('chain')}imports:\n  - { file: lib/c0.yaml, as: c0 }\nnodes: {}\n`);
    }, { timeoutMs: 30_000, says: /imports nest deeper than 64 files/ }),
    gen('node-id-100k-chars', F, 'a node id 100,000 characters long', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('long')}nodes:\n  ${'n'.repeat(100_000)}: { kind: init }\n`), { says: /YAML syntax: the : indicator must be at most 1024 chars after the start of an implicit block mapping key/, at: '4:3' }),
    gen('expression-200k-terms', F, 'a sum of 200,000 terms in one ${}', 0, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('sum')}${INIT}    with: { seed: "\${${Array(200_000).fill('1').join(' + ')}}" }\n`), { timeoutMs: 30_000 }),
    gen('foreach-200k-written', F, 'a foreach list of 200,000 items written in the file', 1, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('long-list')}${INIT}    foreach:\n${lines(200_000, (i) => `      - ${i}`)}\n    with: { seed: "\${item}" }\n`), { ...long, says: /node 'init' would expand to 200,000 instances, more than the 100,000 a pipeline may have/, at: '4:3' }),
    gen('params-100k', F, '100,000 params, none used', 0, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('wide')}params:\n${lines(100_000, (i) => `  p${i}: ${i}`)}\n${INIT}`), { timeoutMs: 30_000, commands: ['validate'] }),
  ];
}

function pathCases(): HostileCase[] {
  const F: Family = 'paths';
  const ok = (name: string) => `${HEAD(name)}${INIT}`;
  const argvCase = (name: string, why: string, exit: Exit | readonly Exit[], build: (dir: string) => void, argv: (dir: string) => string[], more: Partial<HostileCase> = {}): HostileCase =>
    ({ name, family: F, why, exit, setup: build, argv, ...more });
  const importing = (name: string, why: string, target: string, build: (dir: string) => void, more: Partial<HostileCase> = {}): HostileCase => {
    const { text, at } = importer(name, target);
    return gen(name, F, why, 1, (d) => {
      build(d);
      write(d, 'pipeline.yaml', text);
    }, { at, ...more });
  };
  return [
    gen('fifo-pipeline', F, 'a FIFO nobody writes to, named as the pipeline', 1, (d) => mkfifo(join(d, 'pipeline.yaml')), { says: /regular file|FIFO|pipe/i }),
    importing('fifo-import', 'an import of a FIFO nobody writes to', 'lib/fifo.yaml', (d) => {
      mkdirSync(join(d, 'lib'));
      mkfifo(join(d, 'lib/fifo.yaml'));
    }),
    gen('symlink-to-fifo-pipeline', F, 'a .yaml symlink to a FIFO', 1, (d) => {
      mkfifo(join(d, 'fifo'));
      symlinkSync('fifo', join(d, 'pipeline.yaml'));
    }),
    argvCase('dev-zero-pipeline', '/dev/zero as the pipeline: endless zero bytes', 1, () => {}, () => ['validate', '/dev/zero']),
    argvCase('dev-urandom-pipeline', '/dev/urandom as the pipeline', 1, () => {}, () => ['validate', '/dev/urandom']),
    argvCase('proc-mem-pipeline', '/proc/self/mem as the pipeline', 1, () => {}, () => ['plan', '/proc/self/mem']),
    argvCase('directory-pipeline', 'a directory as the pipeline', 1, (d) => mkdirSync(join(d, 'lib')), () => ['validate', 'lib'], { says: /director/i }),
    argvCase('empty-path-pipeline', "the empty path '' as the pipeline", 2, () => {}, () => ['validate', ''], { says: /the pipeline file path is empty; name a pipeline YAML file/ }),
    argvCase('missing-pipeline', 'a pipeline file that does not exist', 1, () => {}, () => ['plan', 'nope.yaml'], { says: /nope\.yaml/ }),
    argvCase('pipeline-under-a-file', 'a pipeline path that goes through a file', 1, (d) => write(d, 'ok.yaml', ok('ok')), () => ['graph', 'ok.yaml/inner.yaml']),
    gen('symlink-loop-pipeline', F, 'a pipeline that is a symlink loop', 1, (d) => {
      symlinkSync('loop-b.yaml', join(d, 'pipeline.yaml'));
      symlinkSync('pipeline.yaml', join(d, 'loop-b.yaml'));
    }),
    importing('symlink-loop-import', 'an import of a symlink loop', 'lib/loop.yaml', (d) => {
      mkdirSync(join(d, 'lib'));
      symlinkSync('loop2.yaml', join(d, 'lib/loop.yaml'));
      symlinkSync('loop.yaml', join(d, 'lib/loop2.yaml'));
    }),
    importing('broken-symlink-import', 'an import of a symlink to nothing', 'lib/gone.yaml', (d) => {
      mkdirSync(join(d, 'lib'));
      symlinkSync('nowhere.yaml', join(d, 'lib/gone.yaml'));
    }),
    importing('symlink-to-dev-zero-import', 'an innocent-looking lib/base.yaml that links to /dev/zero', 'lib/base.yaml', (d) => {
      mkdirSync(join(d, 'lib'));
      symlinkSync('/dev/zero', join(d, 'lib/base.yaml'));
    }),
    gen('huge-pipeline-20mib', F, 'a 20 MiB pipeline (a valid file padded with comments)', 1, (d) => {
      const fd = openSync(join(d, 'pipeline.yaml'), 'w');
      writeSync(fd, ok('huge'));
      const pad = `# ${'x'.repeat(1021)}\n`;
      for (let i = 0; i < 20 * 1024; i++) writeSync(fd, pad);
      closeSync(fd);
    }, { timeoutMs: 30_000, says: /large|size|MiB|bytes/i }),
    importing('huge-import-20mib', 'an import of a 20 MiB file', 'lib/huge.yaml', (d) => {
      mkdirSync(join(d, 'lib'));
      const fd = openSync(join(d, 'lib/huge.yaml'), 'w');
      writeSync(fd, `${HEAD('huge')}nodes:\n  other:\n    kind: init\n`);
      const pad = `# ${'x'.repeat(1021)}\n`;
      for (let i = 0; i < 20 * 1024; i++) writeSync(fd, pad);
      closeSync(fd);
    }, { timeoutMs: 30_000 }),
    gen('sparse-1tib-pipeline', F, 'a 1 TiB sparse file (no disk used) as the pipeline', 1, (d) => sparse(join(d, 'pipeline.yaml'), 1024 * 1024 * MiB), { timeoutMs: 30_000 }),
    importing('sparse-1tib-import', 'an import of a 1 TiB sparse file', 'lib/sparse.yaml', (d) => {
      mkdirSync(join(d, 'lib'));
      sparse(join(d, 'lib/sparse.yaml'), 1024 * 1024 * MiB);
    }, { timeoutMs: 30_000 }),
    argvCase('long-path-pipeline', 'a pipeline path longer than the system allows', 1, () => {}, () => ['validate', `${'a'.repeat(5000)}.yaml`]),
    importing('long-path-import', 'an import path longer than the system allows', `${'a'.repeat(5000)}.yaml`, () => {}),
    argvCase('dash-pipeline', "'-' as the pipeline, as if it read stdin", 1, () => {}, () => ['validate', '-'], { says: /cannot read pipeline file: no such file/ }),
    // Run as an unprivileged user even when the suite runs as root, who would read a mode-000 file anyway.
    gen('chmod-000-pipeline', F, 'a pipeline file with mode 000', 1, (d) => {
      write(d, 'pipeline.yaml', ok('locked'));
      chmodSync(join(d, 'pipeline.yaml'), 0);
    }, { unprivileged: true, says: /cannot read pipeline file: permission denied/ }),
    (() => {
      const { text, at } = marked(`${HEAD('locked-import')}imports: [@@lib/unit.yaml]\n${INIT}`);
      return gen('chmod-000-import', F, 'an import with mode 000', 1, (d) => {
        write(d, 'lib/unit.yaml', `${HEAD('unit')}nodes:\n  other:\n    kind: init\n`);
        chmodSync(join(d, 'lib/unit.yaml'), 0);
        write(d, 'pipeline.yaml', text);
      }, { unprivileged: true, at, says: /cannot read import 'lib\/unit\.yaml': permission denied/ });
    })(),
    gen('valid-json-pipeline', F, 'a pipeline written as JSON (which is YAML)', 0, (d) =>
      write(d, 'pipeline.yaml', JSON.stringify({ sparsegraph: 1, name: 'json', nodes: { init: { kind: 'init', with: { seed: 4 } } } })), { accepted: { params: [{ id: 'init', name: 'seed', value: 4 }] } }),
    gen('valid-absolute-import', F, 'an absolute import of a good file', 0, (d) => {
      write(d, 'lib/unit.yaml', `${HEAD('unit')}nodes:\n  other:\n    kind: init\n`);
      write(d, 'pipeline.yaml', `${HEAD('abs')}imports:\n  - ${JSON.stringify(join(d, 'lib/unit.yaml'))}\n${INIT}`);
    }, { accepted: { instances: 2 } }),
    gen('valid-dotdot-import', F, 'an import that goes up a directory and back down', 0, (d) => {
      write(d, 'shared/unit.yaml', `${HEAD('unit')}nodes:\n  other:\n    kind: init\n`);
      write(d, 'pipeline.yaml', `${HEAD('up')}imports:\n  - { file: exp/../shared/./unit.yaml, as: u }\n${INIT}`);
      mkdirSync(join(d, 'exp'));
    }, { accepted: { instances: 2 } }),
  ];
}

function encodingCases(): HostileCase[] {
  const F: Family = 'encodings';
  const BOM = '\uFEFF';
  const good = `${HEAD('enc')}params:\n  seed: 2\n${INIT}    with: { seed: "\${params.seed}" }\n`;
  /** A pipeline whose node's seed is a string: the diagnostic points at the value, after `prefix` on its line. */
  const bad = (prefix: string) => marked(`${HEAD('enc')}${INIT}    with: { stream: "${prefix}", seed: @@"x" }\n`);
  const utf16be = (text: string) => {
    const le = Buffer.from(text, 'utf16le');
    for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1]!, le[i]!];
    return le;
  };
  const located = (name: string, why: string, m: { text: string; at: string }, encode: (t: string) => string | Buffer = (t) => t) =>
    gen(name, F, why, 1, (d) => write(d, 'pipeline.yaml', encode(m.text)), { at: m.at });
  return [
    gen('valid-bom', F, 'a UTF-8 BOM before a valid file', 0, (d) => write(d, 'pipeline.yaml', BOM + good), { accepted: { params: [{ id: 'init', name: 'seed', value: 2 }] } }),
    located('bom-error-line-1', 'a BOM and an error on line 1: the column must not count the BOM', marked(`${BOM}sparsegraph: @@2\nname: x\n${INIT}`)),
    located('bom-error-later', 'a BOM and an error further down', bad('abc'), (t) => BOM + t),
    gen('double-bom', F, 'two BOMs: refused, or read as the one file it is', 1, (d) => write(d, 'pipeline.yaml', BOM + BOM + good), { accepted: { params: [{ id: 'init', name: 'seed', value: 2 }] }, says: /a second byte-order mark \(U\+FEFF\) after the first/, at: '1:1' }),
    gen('valid-crlf', F, 'CRLF line endings', 0, (d) => write(d, 'pipeline.yaml', good.replaceAll('\n', '\r\n')), { accepted: { params: [{ id: 'init', name: 'seed', value: 2 }] } }),
    located('crlf-error', 'CRLF line endings and an error: lines and columns as an editor shows them', bad('abc'), (t) => t.replaceAll('\n', '\r\n')),
    gen('cr-only', F, 'old Mac CR-only line endings', 1, (d) => write(d, 'pipeline.yaml', good.replaceAll('\n', '\r')), { says: /\bCR\b|carriage return|line ending/i }),
    gen('mixed-cr-lf', F, 'LF lines with one CR-only line break in the middle', 1, (d) => write(d, 'pipeline.yaml', good.replace('params:\n', 'params:\r'))),
    gen('utf16le-bom', F, 'UTF-16LE with a BOM, as Windows Notepad saves', 1, (d) => write(d, 'pipeline.yaml', Buffer.from(BOM + good, 'utf16le')), { says: /UTF-16/i }),
    gen('utf16be-bom', F, 'UTF-16BE with a BOM', 1, (d) => write(d, 'pipeline.yaml', utf16be(BOM + good)), { says: /UTF-16/i }),
    gen('utf16le-no-bom', F, 'UTF-16LE without a BOM', 1, (d) => write(d, 'pipeline.yaml', Buffer.from(good, 'utf16le')), { says: /UTF-16|NUL|null/i }),
    gen('utf16be-no-bom', F, 'UTF-16BE without a BOM', 1, (d) => write(d, 'pipeline.yaml', utf16be(good)), { says: /UTF-16|NUL|null/i }),
    gen('utf32le-bom', F, 'UTF-32LE with a BOM', 1, (d) => {
      const b = Buffer.alloc((BOM + good).length * 4);
      [...(BOM + good)].forEach((ch, i) => b.writeUInt32LE(ch.codePointAt(0)!, i * 4));
      write(d, 'pipeline.yaml', b);
    }),
    gen('invalid-utf8-in-value', F, 'invalid UTF-8 bytes inside a string that reaches a key', 1, (d) =>
      write(d, 'pipeline.yaml', Buffer.concat([Buffer.from(`${HEAD('bytes')}${INIT}    with: { stream: "a`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('" }\n')])), { says: /UTF-8/i }),
    gen('latin1-file', F, 'a Latin-1 file (café as one byte 0xE9)', 1, (d) =>
      write(d, 'pipeline.yaml', Buffer.from(`${HEAD('latin')}${INIT}    with: { stream: "café" }\n`, 'latin1')), { says: /UTF-8/i }),
    located('emoji-before-error', 'emoji (two UTF-16 code units each) before the error on its line', bad('😀😀😀')),
    located('cjk-before-error', 'CJK characters before the error on its line', bad('実験実験')),
    located('emoji-crlf-bom-error', 'a BOM, CRLF and emoji together', bad('🧪x🧪'), (t) => BOM + t.replaceAll('\n', '\r\n')),
    located('tab-before-error', 'a tab inside a flow map before the error', marked(`${HEAD('tab')}${INIT}    with: {\tstream: "a",\tseed: @@"x" }\n`)),
    gen('tab-indentation', F, 'tabs used for indentation', 1, (d) => write(d, 'pipeline.yaml', `${HEAD('tabs')}nodes:\n\tinit:\n\t\tkind: init\n`)),
    located('zero-width-space-node-id', 'a zero-width space hidden in a node id', marked(`${HEAD('zwsp')}nodes:\n  @@in\u200Bit:\n    kind: init\n`)),
    located('long-line-before-error', 'an error after 100,000 characters on its line', bad('x'.repeat(100_000))),
    located('emoji-key-error', 'an emoji in a param name: the column of the key', marked(`${HEAD('key')}params:\n  ok: 1\n  @@🧪x: 1\n${INIT}`)),
    gen('valid-emoji-description', F, 'emoji and CJK in a description and a stream name', 0, (d) =>
      write(d, 'pipeline.yaml', `${HEAD('emoji')}description: "🧪 実験"\n${INIT}    with: { stream: "🧪" }\n`), { accepted: { params: [{ id: 'init', name: 'stream', value: '🧪' }] } }),
    gen('valid-bom-import', F, 'an imported file that starts with a BOM', 0, (d) => {
      write(d, 'lib/unit.yaml', `${BOM}${HEAD('unit')}nodes:\n  other:\n    kind: init\n`);
      write(d, 'pipeline.yaml', `${HEAD('bom-import')}imports: [lib/unit.yaml]\n${INIT}`);
    }, { accepted: { instances: 2 } }),
    gen('valid-no-final-newline', F, 'a file without a newline at the end', 0, (d) => write(d, 'pipeline.yaml', good.trimEnd()), { accepted: { instances: 1 } }),
  ];
}

export function generatedCases(): HostileCase[] {
  return [...yamlCases(), ...scaleCases(), ...pathCases(), ...encodingCases()];
}
