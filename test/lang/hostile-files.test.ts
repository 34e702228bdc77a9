/**
 * Pipeline files nobody here wrote: paths that are not regular files, files that are not UTF-8, and
 * YAML built to exhaust time or memory. Each ends in located diagnostics (exit 1) or a usage error
 * (exit 2) within a time limit and a small heap, never a stack trace or a hang, and `--json` still prints
 * one JSON document.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_ALIASES, MAX_NESTING, MAX_PIPELINE_BYTES, MAX_TOKENS } from '../../engine/lang/limits.js';
import { parseYamlDocument } from '../../engine/lang/parse-yaml.js';
import { asUnprivileged } from '../fixtures/unprivileged.js';
import { cliPath, scratchDir } from './helpers.js';

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** The CLI in `cwd`, killed after `timeoutMs`, with a heap small enough that a blow-up fails instead of swapping. */
function cli(args: readonly string[], cwd: string, timeoutMs = 30_000, heapMb = 384, unprivileged = false): Promise<Outcome> {
  const plain = [process.execPath, `--max-old-space-size=${heapMb}`, cliPath, ...args];
  const [program, ...rest] = unprivileged ? asUnprivileged(plain, { dir: cwd, reads: cliPath }) : plain;
  return new Promise((resolve) => {
    execFile(
      program!,
      rest,
      { cwd, env: { ...process.env, NO_COLOR: '1', SPARSEGRAPH_KINDS: '' }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const timedOut = Boolean(error && (error as { killed?: boolean }).killed);
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr, timedOut });
      },
    );
  });
}

/** No hang, no stack frame, no internal error, and the expected exit code. */
function assertClean(outcome: Outcome, code: number): void {
  assert.equal(outcome.timedOut, false, 'timed out');
  assert.doesNotMatch(outcome.stderr, /\n\s+at /, 'stack trace');
  assert.doesNotMatch(outcome.stderr, /internal error|FATAL ERROR|TypeError|RangeError/);
  assert.equal(outcome.code, code, outcome.stderr);
}

/** Validates FILE in DIR; expects exit 1 and exactly these diagnostic lines, then the same as JSON. */
async function expectDiagnostics(dir: string, file: string, lines: readonly string[], unprivileged = false): Promise<void> {
  const plain = await cli(['validate', file], dir, undefined, undefined, unprivileged);
  assertClean(plain, 1);
  const count = `${lines.length} problem${lines.length === 1 ? '' : 's'} found`;
  assert.equal(plain.stderr, [...lines, count, ''].join('\n'));
  const json = await cli(['validate', file, '--json'], dir, undefined, undefined, unprivileged);
  assertClean(json, 1);
  const parsed = JSON.parse(json.stdout) as { ok: boolean; diagnostics: { file: string; line: number | null; column: number | null; message: string }[] };
  assert.equal(parsed.ok, false);
  assert.deepEqual(
    parsed.diagnostics.map((d) => (d.line === null ? `${d.file}: error: ${d.message}` : `${d.file}:${d.line}:${d.column}: error: ${d.message}`)),
    lines,
  );
}

const HEAD = 'sparsegraph: 1\nname: hostile\n';
const NOT_REGULAR = 'not a regular file; a pipeline is read from a regular file';

function hostileDir(): string {
  const dir = scratchDir('sparsegraph-hostile-');
  mkdirSync(join(dir, 'folder.yaml'));
  execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
  symlinkSync('loop-b.yaml', join(dir, 'loop-a.yaml'));
  symlinkSync('loop-a.yaml', join(dir, 'loop-b.yaml'));
  // Sparse: a file past the size limit without writing its bytes.
  const fd = openSync(join(dir, 'huge.yaml'), 'w');
  closeSync(fd);
  execFileSync('truncate', ['-s', String(MAX_PIPELINE_BYTES + 1), join(dir, 'huge.yaml')]);
  return dir;
}

/** What each path that is not a readable pipeline file is reported as. */
const unreadable: readonly [string, string][] = [
  ['fifo.yaml', `is a named pipe (FIFO), ${NOT_REGULAR}`],
  ['/dev/zero', `is a character device, ${NOT_REGULAR}`],
  ['folder.yaml', 'is a directory'],
  ['missing.yaml', 'no such file'],
  ['missing-dir/x.yaml', 'no such file'],
  ['loop-a.yaml', 'too many levels of symbolic links (a symbolic link that points to itself?)'],
  ['huge.yaml', 'is 16,777,217 bytes; a pipeline file may hold at most 16 MiB (16,777,216 bytes)'],
];

test('a pipeline path that is not a regular file is refused without reading it: no hang on a FIFO or /dev/zero', async () => {
  const dir = hostileDir();
  for (const [path, reason] of unreadable) {
    await expectDiagnostics(dir, path, [`${path}: error: cannot read pipeline file: ${reason}`]);
  }
});

test('an empty pipeline path is a usage error', async () => {
  const dir = scratchDir();
  const plain = await cli(['validate', ''], dir);
  assertClean(plain, 2);
  assert.equal(plain.stderr, 'sparsegraph: error: the pipeline file path is empty; name a pipeline YAML file\n');
  const json = await cli(['plan', '', '--json'], dir);
  assertClean(json, 2);
  assert.deepEqual(JSON.parse(json.stdout), { ok: false, error: 'the pipeline file path is empty; name a pipeline YAML file' });
});

test('a file that cannot be opened for reading says permission denied (as an unprivileged user, also when the suite runs as root)', async () => {
  const dir = scratchDir();
  writeFileSync(join(dir, 'locked.yaml'), `${HEAD}nodes: {}\n`);
  chmodSync(join(dir, 'locked.yaml'), 0o000);
  await expectDiagnostics(dir, 'locked.yaml', ['locked.yaml: error: cannot read pipeline file: permission denied'], true);
});

test('every command that reads a pipeline refuses a FIFO, with JSON on stdout', async () => {
  const dir = hostileDir();
  const cache = join(dir, 'cache');
  const reason = `cannot read pipeline file: is a named pipe (FIFO), ${NOT_REGULAR}`;
  const commands = [
    ['validate', 'fifo.yaml'],
    ['plan', 'fifo.yaml', '--cache', cache],
    ['run', 'fifo.yaml', '--cache', cache],
    ['graph', 'fifo.yaml'],
    ['report', 'fifo.yaml', '--cache', cache],
    ['cache', 'export', 'fifo.yaml', '--out', join(dir, 'b.bundle'), '--cache', cache],
    ['gc', '--keep', 'fifo.yaml', '--cache', cache],
    ['show', 'init', '--pipeline', 'fifo.yaml', '--cache', cache],
    ['export', 'fifo.yaml', '--out', join(dir, 'out'), '--cache', cache],
  ];
  for (const args of commands) {
    const outcome = await cli([...args, '--json'], dir);
    assertClean(outcome, 1);
    const parsed = JSON.parse(outcome.stdout) as { diagnostics: { message: string; line: null }[] };
    assert.deepEqual(parsed.diagnostics, [{ file: 'fifo.yaml', line: null, column: null, message: reason }], args.join(' '));
  }
});

test('an import that is not a readable file is reported at the import, naming the file', async () => {
  const dir = hostileDir();
  writeFileSync(join(dir, 'wide.yaml'), Buffer.from(`\uFEFF${HEAD}nodes: {}\n`, 'utf16le'));
  const cases: [string, string][] = [...unreadable, ['wide.yaml', 'is UTF-16 LE text; pipeline files must be UTF-8 text; save it as UTF-8']];
  for (const [path, reason] of cases) {
    writeFileSync(join(dir, 'importer.yaml'), `${HEAD}imports:\n  - ${path}\n  - { file: ${path}, as: again }\nnodes: {}\n`);
    await expectDiagnostics(dir, 'importer.yaml', [
      `importer.yaml:4:5: error: cannot read import '${path}': ${reason}`,
      `importer.yaml:5:13: error: cannot read import '${path}': ${reason}`,
    ]);
  }
  // A NUL byte no file name can hold: said in words, not as Node's ERR_INVALID_ARG_VALUE; export reads it the same way.
  writeFileSync(join(dir, 'importer.yaml'), `${HEAD}imports:\n  - "lib/unit\\0.yaml"\nnodes: {}\n`);
  const nul = "importer.yaml:4:5: error: cannot read import 'lib/unit\0.yaml': the path holds a NUL byte, which no file name can";
  await expectDiagnostics(dir, 'importer.yaml', [nul]);
  const exported = await cli(['export', 'importer.yaml', '--out', join(dir, 'out'), '--cache', join(dir, 'cache')], dir);
  assertClean(exported, 1);
  assert.equal(exported.stderr, `${nul}\n1 problem found\n`);
  writeFileSync(join(dir, 'importer.yaml'), `${HEAD}imports:\n  - ''\nnodes: {}\n`);
  await expectDiagnostics(dir, 'importer.yaml', ['importer.yaml:4:5: error: an import must name a pipeline file; this path is empty']);
});

test('imports that double at every level, or chain deeper than the limit, stop at a clear limit', async () => {
  const dir = scratchDir();
  const levels = 30;
  for (let i = 0; i < levels; i++) {
    const next = `l${i + 1}.yaml`;
    writeFileSync(join(dir, `l${i}.yaml`), `sparsegraph: 1\nname: l${i}\nimports:\n  - { file: ${next}, as: a }\n  - { file: ${next}, as: b }\nnodes:\n  n: { kind: init }\n`);
  }
  writeFileSync(join(dir, `l${levels}.yaml`), 'sparsegraph: 1\nname: last\nnodes: {}\n');
  // 2^31 imports as written, loaded depth first: the 1,001st is the deepest file's first import again.
  await expectDiagnostics(dir, 'l0.yaml', ['l29.yaml:4:13: error: more than 1,000 imports in all, counting each import of an imported file']);
  for (let i = 0; i < 100; i++) writeFileSync(join(dir, `c${i}.yaml`), `sparsegraph: 1\nname: c${i}\nimports:\n  - c${i + 1}.yaml\nnodes: {}\n`);
  writeFileSync(join(dir, 'c100.yaml'), 'sparsegraph: 1\nname: last\nnodes: {}\n');
  await expectDiagnostics(dir, 'c0.yaml', ['c64.yaml:4:5: error: imports nest deeper than 64 files (a file importing a file importing ...)']);
});

test('a UTF-8 byte-order mark shifts no column', async () => {
  const dir = scratchDir();
  const text = `sparsegraph: 2\nname: bom\nnodes: {}\n`;
  writeFileSync(join(dir, 'plain.yaml'), text);
  writeFileSync(join(dir, 'bom.yaml'), `\uFEFF${text}`);
  await expectDiagnostics(dir, 'plain.yaml', ["plain.yaml:1:14: error: key 'sparsegraph' must be 1, got number 2"]);
  await expectDiagnostics(dir, 'bom.yaml', ["bom.yaml:1:14: error: key 'sparsegraph' must be 1, got number 2"]);
});

test('a byte-order mark anywhere but the first character is refused where it is', async () => {
  const dir = scratchDir();
  // Two marks: the file saved twice by an editor that adds one; the second would start the first key.
  writeFileSync(join(dir, 'two.yaml'), `\uFEFF\uFEFF${HEAD}nodes: {}\n`);
  writeFileSync(join(dir, 'inside.yaml'), `${HEAD}description: "a\uFEFFb"\nnodes: {}\n`);
  const invisible = 'it is invisible, and only the first character of a file may be one; delete it';
  await expectDiagnostics(dir, 'two.yaml', [`two.yaml:1:1: error: a second byte-order mark (U+FEFF) after the first: ${invisible}`]);
  await expectDiagnostics(dir, 'inside.yaml', [`inside.yaml:3:16: error: a byte-order mark (U+FEFF) after the start of the file: ${invisible}`]);
});

test('UTF-16 and UTF-32, with or without a byte-order mark, are named and refused', async () => {
  const dir = scratchDir();
  const text = `${HEAD}nodes: {}\n`;
  const le = Buffer.from(text, 'utf16le');
  const be = Buffer.from(le).swap16();
  const le32 = Buffer.alloc(text.length * 4);
  for (let i = 0; i < text.length; i++) le32.writeUInt32LE(text.charCodeAt(i), i * 4);
  const files: [string, Buffer, string][] = [
    ['le-bom.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), le]), 'UTF-16 LE'],
    ['be-bom.yaml', Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'UTF-16 BE'],
    ['le.yaml', le, 'UTF-16 LE'],
    ['be.yaml', be, 'UTF-16 BE'],
    ['le32-bom.yaml', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), le32]), 'UTF-32 LE'],
    ['le32.yaml', le32, 'UTF-32 LE'],
  ];
  for (const [name, bytes, encoding] of files) {
    writeFileSync(join(dir, name), bytes);
    await expectDiagnostics(dir, name, [`${name}: error: cannot read pipeline file: is ${encoding} text; pipeline files must be UTF-8 text; save it as UTF-8`]);
  }
});

test('invalid UTF-8, a NUL byte and lone CR line breaks are located and named', async () => {
  const dir = scratchDir();
  writeFileSync(join(dir, 'latin1.yaml'), Buffer.concat([Buffer.from(`${HEAD}description: caf`), Buffer.from([0xe9]), Buffer.from('\nnodes: {}\n')]));
  writeFileSync(join(dir, 'nul.yaml'), `${HEAD}description: "a\0b"\nnodes: {}\n`);
  writeFileSync(join(dir, 'cr.yaml'), `${HEAD}nodes: {}\n`.replaceAll('\n', '\r'));
  writeFileSync(join(dir, 'crlf.yaml'), `${HEAD}nodes:\n  a: { kind: nope }\n`.replaceAll('\n', '\r\n'));
  await expectDiagnostics(dir, 'latin1.yaml', [
    'latin1.yaml:3:17: error: invalid UTF-8: byte 0xE9 is not part of a UTF-8 character; pipeline files must be UTF-8 text; save it as UTF-8',
  ]);
  await expectDiagnostics(dir, 'nul.yaml', ['nul.yaml:3:16: error: a NUL byte: pipeline files must be UTF-8 text; save it as UTF-8, not binary data']);
  await expectDiagnostics(dir, 'cr.yaml', [
    'cr.yaml:1:15: error: a line ends with a lone carriage return (CR, as classic Mac OS wrote them); pipeline files must break lines with LF or CRLF',
  ]);
  const crlf = await cli(['validate', 'crlf.yaml'], dir);
  assertClean(crlf, 1);
  assert.match(crlf.stderr, /^crlf\.yaml:4:14: error: unknown node kind 'nope'/);
});

test('columns count characters: an emoji or CJK text before a problem counts once per character', async () => {
  const dir = scratchDir();
  for (const [name, text] of [['ascii', 'ab'], ['emoji', '😀😀'], ['cjk', '日本']]) {
    writeFileSync(join(dir, `${name}.yaml`), `${HEAD}nodes:\n  a: { description: "${text}", kind: nope }\n`);
    const outcome = await cli(['validate', `${name}.yaml`], dir);
    assertClean(outcome, 1);
    assert.match(outcome.stderr, new RegExp(`^${name}\\.yaml:4:33: error: unknown node kind 'nope'`));
  }
});

/** A params block whose `a` is VALUE (written on the next lines when it starts with a newline). */
const withParam = (value: string) => `${HEAD}params:\n  a: ${value}\nnodes: {}\n`;

test('alias bombs, too many aliases and aliases that contain themselves are refused at the alias', async () => {
  const dir = scratchDir();
  let laughs = `${HEAD}params:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n`;
  for (let i = 1; i < 10; i++) laughs += `  l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]\n`;
  writeFileSync(join(dir, 'laughs.yaml'), `${laughs}nodes: {}\n`);
  writeFileSync(join(dir, 'many.yaml'), `${HEAD}params:\n  d: &d 1\n  l: [${Array(MAX_ALIASES + 1).fill('*d').join(', ')}]\nnodes: {}\n`);
  writeFileSync(join(dir, 'self-seq.yaml'), withParam('&a [1, *a]'));
  writeFileSync(join(dir, 'self-map.yaml'), withParam('&a { b: *a }'));
  let chain = `${HEAD}params:\n  c0: &c0 [1]\n`;
  for (let i = 1; i <= MAX_NESTING; i++) chain += `  c${i}: &c${i} [*c${i - 1}]\n`;
  writeFileSync(join(dir, 'deep-aliases.yaml'), `${chain}nodes: {}\n`);
  await expectDiagnostics(dir, 'laughs.yaml', ['laughs.yaml:9:47: error: YAML aliases expand the file past 1,000,000 values here (an alias bomb?)']);
  await expectDiagnostics(dir, 'many.yaml', [`many.yaml:5:${7 + 4 * MAX_ALIASES}: error: YAML aliases: more than 10000 aliases in one file`]);
  await expectDiagnostics(dir, 'self-seq.yaml', ['self-seq.yaml:4:13: error: YAML aliases: *a is inside the value anchored &a, which would contain itself']);
  await expectDiagnostics(dir, 'self-map.yaml', ['self-map.yaml:4:14: error: YAML aliases: *a is inside the value anchored &a, which would contain itself']);
  // c98 holds *c97, 98 levels deep, inside the file's map, params and its own list: 101 levels.
  await expectDiagnostics(dir, 'deep-aliases.yaml', [
    `deep-aliases.yaml:${4 + MAX_NESTING - 2}:14: error: YAML nesting: with *c${MAX_NESTING - 3} expanded, maps and lists nest deeper than 100 levels here`,
  ]);
});

test('one anchor used thousands of times is fine', async () => {
  const dir = scratchDir();
  writeFileSync(join(dir, 'reuse.yaml'), `${HEAD}params:\n  d: &d { x: 1 }\n  l: [${Array(5000).fill('*d').join(', ')}]\nnodes: {}\n`);
  const outcome = await cli(['validate', 'reuse.yaml'], dir);
  assertClean(outcome, 0);
  assert.equal(outcome.stdout, 'reuse.yaml: ok (0 node instances)\n');
});

test('maps and lists nested 100,000 deep are refused where they pass the limit, before anything recursive reads them', async () => {
  const dir = scratchDir();
  const deep = 100_000;
  const files: [string, string][] = [
    ['flow-seq.yaml', withParam(`${'['.repeat(deep)}${']'.repeat(deep)}`)],
    ['flow-seq-open.yaml', withParam('['.repeat(deep))],
    ['flow-map.yaml', withParam(`${'{a: '.repeat(deep)}1${'}'.repeat(deep)}`)],
    ['block-seq.yaml', withParam(`\n    ${'- '.repeat(deep)}x`)],
    ['block-map.yaml', `${HEAD}params:\n${Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i + 2)}k:`).join('\n')} x\nnodes: {}\n`],
  ];
  const expected: Record<string, string> = {
    'flow-seq.yaml': '4:105',
    'flow-seq-open.yaml': '4:105',
    'flow-map.yaml': '4:402',
    'block-seq.yaml': '5:203',
    'block-map.yaml': '104:103',
  };
  for (const [name, text] of files) {
    writeFileSync(join(dir, name), text);
    await expectDiagnostics(dir, name, [`${name}:${expected[name]}: error: YAML nesting: maps and lists nest deeper than 100 levels here; a pipeline file may nest at most 100`]);
  }
});

test('keys: one key twice (1 and "1" are one key), keys that are lists, merges of what is not a map', async () => {
  const dir = scratchDir();
  writeFileSync(join(dir, 'keys.yaml'), `${HEAD}params:\n  1: a\n  "1": b\n  ? [x]\n  : c\n  base: &base { y: 1 }\n  ok: { <<: *base, z: 2 }\n  bad: { <<: 3 }\nnodes: {}\n`);
  await expectDiagnostics(dir, 'keys.yaml', [
    "keys.yaml:5:3: error: duplicate key '1'",
    'keys.yaml:6:5: error: a key must be a plain value (a name or a number), not a list or a map',
    'keys.yaml:10:10: error: a merge (<<) takes a map, an alias of a map, or a list of them',
  ]);
});

test('tags that would put a Set, a Buffer or a Date in the data, YAML 1.1 and a second document are refused', async () => {
  const dir = scratchDir();
  writeFileSync(join(dir, 'tags.yaml'), `${HEAD}params:\n  s: !!set { a }\n  t: !!timestamp 2001-12-14\n  f: !foo bar\nnodes: {}\n`);
  writeFileSync(join(dir, 'v11.yaml'), `%YAML 1.1\n---\n${HEAD}nodes: {}\n`);
  writeFileSync(join(dir, 'two.yaml'), `${HEAD}nodes: {}\n---\n${HEAD}nodes: {}\n`);
  const supported = 'is not supported: pipeline files hold maps, lists, strings, numbers, booleans and null';
  await expectDiagnostics(dir, 'tags.yaml', [
    `tags.yaml:4:6: error: YAML tag !!set ${supported}`,
    `tags.yaml:5:6: error: YAML tag !!timestamp ${supported}`,
    `tags.yaml:6:6: error: YAML tag !foo ${supported}`,
  ]);
  await expectDiagnostics(dir, 'v11.yaml', ['v11.yaml:1:1: error: pipeline files are YAML 1.2, not 1.1: drop the %YAML line (YAML 1.1 reads yes, no and 017 otherwise)']);
  await expectDiagnostics(dir, 'two.yaml', ['two.yaml:4:1: error: a pipeline file holds one YAML document; another one starts here']);
});

test('more values than a file may write are refused while it is read', () => {
  const text = `a: [${'1,'.repeat(1_000_000)}1]\n`;
  const { doc, problems } = parseYamlDocument(text);
  assert.equal(doc, undefined);
  assert.deepEqual(problems.map((p) => p.message), ['YAML size: more than 1,000,000 values (counting the commas between them); a pipeline file may hold at most that many']);
  // Comments and line breaks are tokens the parser keeps too.
  const comments = parseYamlDocument(`a: 1\n${'#\n'.repeat(MAX_TOKENS / 2)}`);
  assert.equal(comments.doc, undefined);
  assert.deepEqual(comments.problems.map((p) => p.message), [
    'YAML size: more than 4,000,000 tokens (values, indicators, comments and line breaks); a pipeline file may hold at most that many',
  ]);
});

test('a flow list of a million commas is refused while it is read, in a small heap', async () => {
  // Each comma is an entry (and an error) of yaml's: a million of them took gigabytes to compose.
  const dir = scratchDir();
  writeFileSync(join(dir, 'commas.yaml'), `${HEAD}params:\n  p: [${','.repeat(1_000_000)}]\nnodes: {}\n`);
  await expectDiagnostics(dir, 'commas.yaml', [
    `commas.yaml:4:1000000: error: YAML size: more than 1,000,000 values (counting the commas between them); a pipeline file may hold at most that many`,
  ]);
});

test('100,000 explicitly written nodes validate in seconds, and a duplicate among them is found', async () => {
  const dir = scratchDir();
  const nodes = Array.from({ length: 100_000 }, (_, i) => `  n${i}:\n    kind: init\n    with: { seed: ${i} }\n`);
  writeFileSync(join(dir, 'many.yaml'), `${HEAD}nodes:\n${nodes.join('')}`);
  const started = Date.now();
  // Quadratic duplicate-key checking took 95 s here; the limit leaves room for a loaded machine.
  const outcome = await cli(['validate', 'many.yaml'], dir, 90_000, 1024);
  assertClean(outcome, 0);
  assert.equal(outcome.stdout, 'many.yaml: ok (100000 node instances)\n');
  process.stderr.write(`# 100,000 nodes validated in ${Date.now() - started} ms\n`);
  nodes.push('  n5:\n    kind: init\n');
  writeFileSync(join(dir, 'many.yaml'), `${HEAD}nodes:\n${nodes.join('')}`);
  const duplicate = await cli(['validate', 'many.yaml'], dir, 90_000, 1024);
  assertClean(duplicate, 1);
  assert.equal(duplicate.stderr, `many.yaml:${3 + 3 * 100_000 + 1}:3: error: duplicate key 'n5'\n1 problem found\n`);
});

test('20,000 problems reach a pipe whole, as lines and as one JSON document', async () => {
  const dir = scratchDir();
  const count = 20_000;
  const nodes = Array.from({ length: count }, (_, i) => `  n${i}: { kind: nope }\n`);
  writeFileSync(join(dir, 'wrong.yaml'), `${HEAD}nodes:\n${nodes.join('')}`);
  const plain = await cli(['validate', 'wrong.yaml'], dir, 90_000, 1024);
  assertClean(plain, 1);
  const lines = plain.stderr.split('\n');
  assert.equal(lines.length, count + 2);
  assert.match(lines[count - 1]!, new RegExp(`^wrong\\.yaml:${count + 3}:19: error: unknown node kind 'nope'`));
  assert.equal(lines[count], `${count} problems found`);
  const json = await cli(['validate', 'wrong.yaml', '--json'], dir, 90_000, 1024);
  assertClean(json, 1);
  assert.equal((JSON.parse(json.stdout) as { diagnostics: unknown[] }).diagnostics.length, count);
});
