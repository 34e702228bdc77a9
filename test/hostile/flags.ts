/**
 * Command-line cases: `--set` paths and values, counts, cache locations, unknown flags and commands, and
 * `--kinds` modules that are broken in every way a module can be. Each is a whole command line run in
 * a scratch directory holding a valid pipeline (ok.yaml), a pipeline of cheap test kinds (const.yaml)
 * and whatever the case adds.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Exit, Family, HostileCase } from './case.js';
import { repoRoot } from './spawn.js';

const OK = `sparsegraph: 1
name: flags
params:
  seed: 1
  epochs: 2
  stream: init
  dataset: { name: mnist }
  seeds: [1, 2]
  constructor_lr: 0.1
nodes:
  init:
    kind: init
    with: { seed: "\${params.seed}", stream: "\${params.stream}" }
`;

const CONST = `sparsegraph: 1
name: const
params:
  v: 1
nodes:
  c:
    kind: test-constant
    with: { v: "\${params.v}" }
`;

/** A pipeline of the kind `hostile-const` that the kinds modules below define (or fail to). */
const KINDS_PIPELINE = `sparsegraph: 1
name: kinds
nodes:
  c:
    kind: hostile-const
    with: { v: 2 }
`;

const fixtureKinds = join(repoRoot, 'dist/test/fixtures/kinds.js');

/** A cache directory whose data.mdb is 64 KiB of noise (a fixed sequence, so every run sees the same bytes). */
function garbageCache(dir: string): void {
  mkdirSync(join(dir, 'cache'));
  writeFileSync(join(dir, 'cache/data.mdb'), Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 2654435761) >>> 24)));
}

function baseSetup(dir: string): void {
  writeFileSync(join(dir, 'ok.yaml'), OK);
  writeFileSync(join(dir, 'const.yaml'), CONST);
  writeFileSync(join(dir, 'k.yaml'), KINDS_PIPELINE);
}

interface FlagCase {
  readonly name: string;
  readonly family?: Family;
  readonly why: string;
  readonly exit: Exit | readonly Exit[];
  /** The command line; `$D` stands for the scratch directory. */
  readonly argv: readonly string[];
  readonly setup?: (dir: string) => void;
  readonly says?: RegExp;
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly reportOnStdout?: boolean;
}

const cache = ['--cache', '$D/cache'];
const validate = (...args: string[]) => ['validate', 'ok.yaml', ...args];
const runConst = (...args: string[]) => ['run', 'const.yaml', '--kinds', fixtureKinds, ...cache, ...args];

const prototypeSets: FlagCase[] = [
  { name: 'set-proto-polluted', why: '--set __proto__.polluted=1', exit: 2, argv: validate('--set', '__proto__.polluted=1'), says: /'__proto__'/ },
  { name: 'set-proto', why: '--set __proto__=1', exit: 2, argv: validate('--set', '__proto__=1'), says: /'__proto__'/ },
  { name: 'set-constructor-prototype', why: '--set constructor.prototype.x=1', exit: 2, argv: validate('--set', 'constructor.prototype.x=1'), says: /no param 'constructor'/ },
  { name: 'set-tostring', why: '--set toString=1: Object.prototype has it, the pipeline does not', exit: 2, argv: validate('--set', 'toString=1'), says: /no param 'toString'/ },
  { name: 'set-hasownproperty', why: '--set hasOwnProperty=1', exit: 2, argv: validate('--set', 'hasOwnProperty=1'), says: /hasOwnProperty/ },
  { name: 'set-valueof', why: '--set valueOf=x', exit: 2, argv: validate('--set', 'valueOf=x'), says: /valueOf/ },
  { name: 'set-proto-tostring', why: '--set __proto__.toString=1', exit: 2, argv: validate('--set', '__proto__.toString=1'), says: /__proto__/ },
  { name: 'set-nested-proto', why: '--set dataset.__proto__.x=1 into a map param', exit: 2, argv: validate('--set', 'dataset.__proto__.x=1'), says: /'__proto__'/ },
  { name: 'set-nested-constructor', why: '--set dataset.constructor=1', exit: 2, argv: validate('--set', 'dataset.constructor=1'), says: /constructor/ },
  { name: 'set-nested-tostring', why: '--set dataset.toString=1', exit: 2, argv: validate('--set', 'dataset.toString=1'), says: /toString/ },
  { name: 'set-list-length', why: '--set seeds.length=1 into a list param', exit: 2, argv: validate('--set', 'seeds.length=1') },
  { name: 'set-value-proto-map', why: '--set stream={__proto__: x}: a map where a string belongs', exit: 2, argv: validate('--set', 'stream={__proto__: x}'), says: /'__proto__' cannot be used as a name \(JavaScript objects cannot hold it as data\)/ },
  { name: 'set-defineGetter', why: '--set __defineGetter__=1', exit: 2, argv: validate('--set', '__defineGetter__=1') },
  { name: 'set-proto-on-plan', why: '--set constructor=1 on plan', exit: 2, argv: ['plan', 'ok.yaml', ...cache, '--set', 'constructor=1'] },
  { name: 'set-proto-on-gc', why: '--set toString=1 on gc --keep', exit: 2, argv: ['gc', '--dry-run', ...cache, '--keep', 'ok.yaml', '--set', 'toString=1'] },
];

const flagCasesList: FlagCase[] = [
  { name: 'set-no-equals', why: '--set without =', exit: 2, argv: validate('--set', 'seed') },
  { name: 'set-empty-name', why: '--set =1', exit: 2, argv: validate('--set', '=1') },
  { name: 'set-empty', why: "--set ''", exit: 2, argv: validate('--set', '') },
  { name: 'set-leading-dot', why: '--set .seed=1', exit: 2, argv: validate('--set', '.seed=1') },
  { name: 'set-trailing-dot', why: '--set seed.=1', exit: 2, argv: validate('--set', 'seed.=1') },
  { name: 'set-unknown', why: '--set of a param the file does not declare', exit: 2, argv: validate('--set', 'sed=1'), says: /sed/ },
  { name: 'set-into-scalar', why: '--set seed.x=1 into a number', exit: 2, argv: validate('--set', 'seed.x=1') },
  { name: 'set-unclosed-flow', why: '--set seed=[1,', exit: 2, argv: validate('--set', 'seed=[1,') },
  { name: 'set-multi-document', why: '--set with two YAML documents in its value', exit: 2, argv: validate('--set', 'seed=1\n---\n2') },
  { name: 'set-alias-bomb', why: '--set with a billion-laughs value', exit: 2, says: /YAML aliases expand the file past 1,000,000 values here \(an alias bomb\?\)/, argv: validate('--set', `stream=[${['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n, i) => (i === 0 ? `&a [x,x,x,x,x,x,x,x,x]` : `&${n} [${Array(9).fill(`*${'abcdefgh'[i - 1]}`).join(',')}]`)).join(', ')}]`) },
  { name: 'set-recursive-alias', why: '--set with a value that contains itself', exit: 2, argv: validate('--set', 'stream=&a [*a]'), says: /YAML aliases: \*a is inside the value anchored &a, which would contain itself/ },
  { name: 'set-js-tag', why: '--set with a !!js/function value', exit: 2, argv: validate('--set', 'seed=!!js/function "function(){}"'), says: /YAML tag !!js\/function is not supported: pipeline files hold maps, lists, strings, numbers, booleans and null/ },
  { name: 'set-nan-seed', why: '--set seed=.nan', exit: 2, argv: validate('--set', 'seed=.nan'), says: /--set seed=\.nan: the value must be a finite number, got number NaN/ },
  { name: 'set-1e400-seed', why: '--set seed=1e400', exit: 2, argv: validate('--set', 'seed=1e400'), says: /--set seed=1e400: the value must be a finite number, got number Infinity/ },
  { name: 'set-value-deep-flow', why: '--set with a value nested 50,000 lists deep', exit: 2, says: /YAML nesting: maps and lists nest deeper than 100 levels here; a pipeline file may nest at most 100/, argv: validate('--set', `stream=${'['.repeat(50_000)}${']'.repeat(50_000)}`) },
  { name: 'set-flag-without-value', why: '--set as the last argument', exit: 2, argv: validate('--set') },
  { name: 'jobs-negative', why: '--jobs -1', exit: 2, argv: runConst('--jobs', '-1') },
  { name: 'jobs-word', why: '--jobs abc', exit: 2, argv: runConst('--jobs', 'abc') },
  { name: 'jobs-1e9', why: '--jobs 1e9: a billion worker threads', exit: 2, argv: runConst('--jobs', '1e9') },
  { name: 'jobs-fraction', why: '--jobs 1.5', exit: 2, argv: runConst('--jobs', '1.5') },
  { name: 'jobs-empty', why: "--jobs ''", exit: 2, argv: runConst('--jobs', '') },
  { name: 'jobs-infinity', why: '--jobs Infinity', exit: 2, argv: runConst('--jobs', 'Infinity') },
  { name: 'gpus-negative', why: '--gpus -1', exit: 2, argv: runConst('--gpus', '-1') },
  { name: 'backend-unknown', why: '--backend nope', exit: 2, argv: runConst('--backend', 'nope') },
  { name: 'cache-is-a-file', why: '--cache naming a file', exit: 2, argv: ['plan', 'ok.yaml', '--cache', 'ok.yaml'] },
  { name: 'cache-is-a-fifo', why: '--cache naming a FIFO', exit: 2, argv: ['plan', 'ok.yaml', '--cache', 'fifo'], setup: (d) => execFileSync('mkfifo', [join(d, 'fifo')]) },
  { name: 'cache-dev-null', why: '--cache /dev/null', exit: 2, argv: ['plan', 'ok.yaml', '--cache', '/dev/null'] },
  { name: 'cache-under-a-file', why: '--cache ok.yaml/sub', exit: 2, argv: ['plan', 'ok.yaml', '--cache', 'ok.yaml/sub'] },
  { name: 'cache-env-is-a-file', why: 'SPARSEGRAPH_CACHE naming a file', exit: 2, argv: ['plan', 'ok.yaml'], env: { SPARSEGRAPH_CACHE: 'ok.yaml' } },
  { name: 'cache-data-file-fifo', why: 'a cache directory whose data.mdb is a FIFO', exit: 1, argv: ['plan', 'ok.yaml', ...cache], setup: (d) => {
    mkdirSync(join(d, 'cache'));
    execFileSync('mkfifo', [join(d, 'cache/data.mdb')]);
  } },
  { name: 'cache-data-file-garbage', why: 'a cache directory whose data.mdb is random bytes', exit: 1, argv: ['plan', 'ok.yaml', ...cache], setup: (d) => garbageCache(d) },
  { name: 'cache-data-file-directory', why: 'a cache directory whose data.mdb is a directory', exit: 1, argv: ['plan', 'ok.yaml', ...cache], setup: (d) => mkdirSync(join(d, 'cache/data.mdb'), { recursive: true }) },
  { name: 'unknown-flag', why: 'an option no command has', exit: 2, argv: validate('--nope') },
  { name: 'misspelt-json', why: '--jsonn', exit: 2, argv: validate('--jsonn') },
  { name: 'unknown-short-flag', why: '-x', exit: 2, argv: validate('-x') },
  { name: 'extra-argument', why: 'two pipeline files', exit: 2, argv: ['validate', 'ok.yaml', 'const.yaml'] },
  { name: 'unknown-command', why: 'a misspelt command', exit: 2, argv: ['valdate', 'ok.yaml'] },
  { name: 'missing-file-argument', why: 'validate without a file', exit: 2, argv: ['validate'] },
  { name: 'graph-format-unknown', why: 'graph --format svg', exit: 2, argv: ['graph', 'ok.yaml', '--format', 'svg'] },
  { name: 'force-unknown-node', why: 'plan --force of a node that does not exist', exit: 2, argv: ['plan', 'ok.yaml', ...cache, '--force', 'nosuch'] },
  { name: 'only-empty', why: "plan --only ''", exit: 2, argv: ['plan', 'ok.yaml', ...cache, '--only', ''] },
  { name: 'force-proto', why: 'plan --force __proto__', exit: 2, argv: ['plan', 'ok.yaml', ...cache, '--force', '__proto__'] },
  { name: 'gc-without-roots', why: 'gc with neither --keep nor --older-than', exit: 2, argv: ['gc', ...cache] },
  { name: 'gc-bad-duration', why: 'gc --older-than 5parsecs', exit: 2, argv: ['gc', ...cache, '--older-than', '5parsecs'] },
  { name: 'gc-negative-duration', why: 'gc --older-than -3d', exit: 2, argv: ['gc', ...cache, '--older-than', '-3d'] },
  { name: 'show-unknown-key', why: 'show of a key prefix nothing has', exit: 2, argv: ['show', 'deadbeef', ...cache] },
  { name: 'show-empty-target', why: "show ''", exit: 2, argv: ['show', '', ...cache] },
  { name: 'show-proto-with-pipeline', why: 'show __proto__ --pipeline ok.yaml', exit: 2, argv: ['show', '__proto__', '--pipeline', 'ok.yaml', ...cache] },
  { name: 'pin-without-target', why: 'pin with nothing to pin', exit: 2, argv: ['pin', ...cache] },
  { name: 'export-unknown-target', why: 'export of a node nothing cached', exit: 2, argv: ['export', 'init', '--pipeline', 'ok.yaml', '--out', 'x.json', ...cache] },
  { name: 'export-pipeline-with-port', why: 'export PIPELINE --port, which names one result', exit: 2, argv: ['export', 'ok.yaml', '--out', 'dir', '--port', 'x', ...cache] },
  { name: 'cache-import-missing', why: 'cache import of a bundle that does not exist', exit: 2, argv: ['cache', 'import', 'nope.sgb', ...cache] },
  { name: 'cache-import-dev-zero', why: 'cache import /dev/zero', exit: 1, argv: ['cache', 'import', '/dev/zero', ...cache] },
  { name: 'cache-import-fifo', why: 'cache import of a FIFO nobody writes to', exit: 1, argv: ['cache', 'import', 'fifo', ...cache], setup: (d) => execFileSync('mkfifo', [join(d, 'fifo')]) },
  { name: 'cache-import-not-a-bundle', why: 'cache import of a pipeline file', exit: 1, argv: ['cache', 'import', 'ok.yaml', ...cache] },
  { name: 'cache-import-directory', why: 'cache import of a directory', exit: 1, argv: ['cache', 'import', 'sub', ...cache], setup: (d) => mkdirSync(join(d, 'sub')) },
  { name: 'cache-import-magic-only', why: 'cache import of a file holding only the bundle magic', exit: 1, argv: ['cache', 'import', 'b.sgb', ...cache], setup: (d) => writeFileSync(join(d, 'b.sgb'), 'SGBUNDLE') },
  { name: 'cache-import-lying-length', why: 'a bundle header that claims a 4 GiB entry', exit: 1, argv: ['cache', 'import', 'b.sgb', ...cache], setup: (d) => writeFileSync(join(d, 'b.sgb'), Buffer.concat([Buffer.from('SGBUNDLE'), Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(64, 7)])) },
  { reportOnStdout: true, name: 'cache-verify-garbage', why: 'cache verify of a data.mdb of random bytes', exit: 1, argv: ['cache', 'verify', ...cache], setup: (d) => garbageCache(d), says: /damaged/ },
  { reportOnStdout: true, name: 'cache-verify-repair-garbage', why: 'cache verify --repair of a data.mdb of random bytes: replaced by a fresh cache, the damaged file kept beside it', exit: 0, argv: ['cache', 'verify', '--repair', ...cache], setup: (d) => garbageCache(d) },
  { reportOnStdout: true, name: 'cache-verify-fifo', why: 'cache verify of a cache whose data.mdb is a FIFO', exit: 1, argv: ['cache', 'verify', ...cache], setup: (d) => {
    mkdirSync(join(d, 'cache'));
    execFileSync('mkfifo', [join(d, 'cache/data.mdb')]);
  } },
  { reportOnStdout: true, name: 'cache-verify-data-directory', why: 'cache verify of a cache whose data.mdb is a directory', exit: 1, argv: ['cache', 'verify', ...cache], setup: (d) => mkdirSync(join(d, 'cache/data.mdb'), { recursive: true }) },
  { reportOnStdout: true, name: 'cache-verify-truncated', why: 'cache verify of a data.mdb cut to 100 bytes', exit: 1, argv: ['cache', 'verify', ...cache], setup: (d) => {
    mkdirSync(join(d, 'cache'));
    writeFileSync(join(d, 'cache/data.mdb'), Buffer.alloc(100, 0xab));
  } },
  { reportOnStdout: true, name: 'cache-verify-dev-null', why: 'cache verify --cache /dev/null', exit: 2, argv: ['cache', 'verify', '--cache', '/dev/null'] },
  { reportOnStdout: true, name: 'cache-verify-sparse-huge', why: 'cache verify of a 1 TiB sparse data.mdb', exit: 1, argv: ['cache', 'verify', ...cache], timeoutMs: 30_000, setup: (d) => {
    mkdirSync(join(d, 'cache'));
    closeSync(openSync(join(d, 'cache/data.mdb'), 'w'));
    truncateSync(join(d, 'cache/data.mdb'), 2 ** 40);
  } },
  { name: 'show-full-key-absent', why: 'show of a well-formed 64-hex key nothing has', exit: 2, argv: ['show', 'a'.repeat(64), ...cache] },
  { name: 'cache-export-into-directory', why: 'cache export --out naming an existing directory', exit: 2, argv: ['cache', 'export', 'ok.yaml', '--out', 'sub', ...cache], setup: (d) => mkdirSync(join(d, 'sub')), says: /--out sub is a directory, not a regular file; name a new file or a regular file to replace/ },
  { name: 'report-out-is-a-file', why: 'report --out naming a file', exit: 2, argv: ['report', 'ok.yaml', '--out', 'ok.yaml', ...cache], says: /--out ok\.yaml is a file; the report writes a directory/ },
  { name: 'export-pipeline-out-is-a-file', why: 'export PIPELINE --out naming a file', exit: 2, argv: ['export', 'ok.yaml', '--out', 'const.yaml', ...cache], says: /--out const\.yaml is a file; exporting a pipeline writes a directory/ },
];

/** A kinds module: `body` is its text. */
const kindsModule = (file: string, body: string) => (dir: string) => writeFileSync(join(dir, file), body);
const GOOD_KIND = `{
  kind: 'hostile-const', version: 1, description: 'a constant',
  params: { type: 'object', properties: { v: { type: 'number', default: 0 } }, additionalProperties: false },
  inputs: {}, outputs: { out: { type: 'Metrics', doc: 'v' } },
  run: async ({ params }) => ({ out: { values: { v: params.v } } }),
}`;
const withKinds = (module: string, ...rest: string[]) => ['validate', 'k.yaml', '--kinds', module, ...rest];

const kindsCases: FlagCase[] = [
  { name: 'kinds-missing-file', why: '--kinds naming a file that does not exist', exit: 1, argv: withKinds('./nope.mjs'), says: /nope\.mjs/ },
  { name: 'kinds-syntax-error', why: 'a kinds module that does not parse', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', 'export const kinds = [{ kind: \n'), says: /m\.mjs/ },
  { name: 'kinds-throws', why: 'a kinds module that throws while loading', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', "throw new Error('kaboom');\n"), says: /kaboom/ },
  { name: 'kinds-throws-non-error', why: 'a kinds module that throws a plain object', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', 'throw { code: 42 };\n'), says: /m\.mjs/ },
  { name: 'kinds-no-export', why: 'a kinds module without a kinds export', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', 'export const kind = [];\n'), says: /kinds/ },
  { name: 'kinds-a-number', why: 'kinds = 5', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', 'export const kinds = 5;\n'), says: /kinds/ },
  { name: 'kinds-a-string', why: "kinds = 'init'", exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', "export const kinds = 'hostile-const';\n") },
  { name: 'kinds-null-entry', why: 'a null in the kinds list', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [${GOOD_KIND}, null];\n`) },
  { name: 'kinds-entry-a-number', why: 'a number in the kinds list', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', 'export const kinds = [42];\n') },
  { name: 'kinds-entry-no-name', why: 'an entry without a kind name', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [{ ...${GOOD_KIND}, kind: undefined }];\n`) },
  { name: 'kinds-entry-no-params', why: 'an entry without a params schema', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [{ ...${GOOD_KIND}, params: undefined }];\n`) },
  { name: 'kinds-entry-params-not-schema', why: 'an entry whose params schema is a number', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [{ ...${GOOD_KIND}, params: 5 }];\n`) },
  { name: 'kinds-entry-outputs-not-map', why: 'an entry whose outputs is a string', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [{ ...${GOOD_KIND}, outputs: 'out' }];\n`) },
  { name: 'kinds-entry-no-version', why: 'an entry without a version', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [{ ...${GOOD_KIND}, version: undefined }];\n`) },
  { name: 'kinds-entry-missing-run', why: 'an entry without run, asked to run', exit: 1, argv: ['run', 'k.yaml', '--kinds', './m.mjs', '--jobs', '0', ...cache], setup: kindsModule('m.mjs', `export const kinds = [{ ...${GOOD_KIND}, run: undefined }];\n`), timeoutMs: 60_000 },
  { name: 'kinds-duplicate-builtin', why: "an entry named 'init', a built-in kind", exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [${GOOD_KIND}, { ...${GOOD_KIND}, kind: 'init' }];\n`), says: /init/ },
  { name: 'kinds-duplicate-in-module', why: 'the same kind twice in one module', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [${GOOD_KIND}, ${GOOD_KIND}];\n`), says: /hostile-const/ },
  { name: 'kinds-getter-throws', why: 'an entry whose kind getter throws', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', "export const kinds = [{ get kind() { throw new Error('getter says no'); } }];\n") },
  { name: 'kinds-proxy-throws', why: 'a kinds list that is a Proxy throwing on every access', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', "export const kinds = new Proxy([], { get() { throw new TypeError('proxy'); }, has() { throw new Error('proxy'); } });\n") },
  { name: 'kinds-promise', why: 'kinds exported as a Promise', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = Promise.resolve([${GOOD_KIND}]);\n`) },
  { name: 'kinds-proto-name', why: "an entry named '__proto__': the registry is a Map, so the name is data like any other", exit: 0, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [${GOOD_KIND}, { ...${GOOD_KIND}, kind: '__proto__' }];\n`) },
  { name: 'kinds-run-throws-object', why: "a kind whose run throws a plain object", exit: 1, argv: ['run', 'k.yaml', '--kinds', './m.mjs', '--jobs', '0', ...cache], setup: kindsModule('m.mjs', `export const kinds = [{ ...${GOOD_KIND}, run: async () => { throw { no: 'message' }; } }];\n`), timeoutMs: 60_000 },
  { name: 'kinds-run-returns-garbage', why: 'a kind whose run returns a number instead of its outputs', exit: 1, argv: ['run', 'k.yaml', '--kinds', './m.mjs', '--jobs', '0', ...cache], setup: kindsModule('m.mjs', `export const kinds = [{ ...${GOOD_KIND}, run: async () => 5 }];\n`), timeoutMs: 60_000 },
  { name: 'kinds-version-string', why: "an entry whose version is 'one'", exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [{ ...${GOOD_KIND}, version: 'one' }];\n`) },
  { name: 'kinds-output-unknown-type', why: 'an entry whose output has a type no one knows', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [{ ...${GOOD_KIND}, outputs: { out: { type: 'Nope', doc: 'x' } } }];\n`) },
  { name: 'kinds-directory', why: '--kinds naming a directory', exit: 1, argv: withKinds('./sub'), setup: (d) => mkdirSync(join(d, 'sub')) },
  { name: 'kinds-yaml-file', why: '--kinds naming the pipeline file', exit: 1, argv: withKinds('./k.yaml') },
  { name: 'kinds-json-file', why: '--kinds naming a JSON file', exit: 1, argv: withKinds('./m.json'), setup: kindsModule('m.json', '{"kinds": []}\n') },
  { name: 'kinds-cjs-number', why: 'a CommonJS module whose kinds is a number', exit: 1, argv: withKinds('./m.cjs'), setup: kindsModule('m.cjs', 'module.exports = { kinds: 5 };\n') },
  { name: 'kinds-unsettled-await', why: 'a kinds module whose top-level await never settles', exit: 1, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', 'await new Promise(() => {});\nexport const kinds = [];\n') },
  { name: 'kinds-fifo', why: '--kinds naming a FIFO nobody writes to', exit: 1, argv: withKinds('./m.mjs'), setup: (d) => execFileSync('mkfifo', [join(d, 'm.mjs')]) },
  { name: 'kinds-env-throws', why: 'SPARSEGRAPH_KINDS naming a module that throws', exit: 1, argv: ['validate', 'k.yaml'], setup: kindsModule('m.mjs', "throw new Error('from the environment');\n"), env: { SPARSEGRAPH_KINDS: './m.mjs' } },
  { name: 'kinds-empty-argument', why: "--kinds '': not the working directory", exit: 2, argv: withKinds(''), says: /--kinds expects a module path, got ''/ },
  { name: 'kinds-valid', family: 'kinds', why: 'a well-formed kinds module written without TypeBox', exit: 0, argv: withKinds('./m.mjs'), setup: kindsModule('m.mjs', `export const kinds = [${GOOD_KIND}];\n`) },
  { name: 'kinds-valid-run', family: 'kinds', why: 'a well-formed kinds module, run inline', exit: 0, argv: ['run', 'k.yaml', '--kinds', './m.mjs', '--jobs', '0', ...cache], setup: kindsModule('m.mjs', `export const kinds = [${GOOD_KIND}];\n`), timeoutMs: 60_000 },
];

const validFlags: FlagCase[] = [
  { name: 'valid-set-string-proto', family: 'prototype', why: "--set stream='__proto__': the word as a value", exit: 0, argv: validate('--set', "stream='__proto__'") },
  { name: 'valid-set-constructor-lr-flag', family: 'prototype', why: '--set constructor_lr=0.3', exit: 0, argv: validate('--set', 'constructor_lr=0.3') },
  { name: 'valid-run-const', why: 'a cheap pipeline of test kinds, run in this thread', exit: 0, argv: runConst('--jobs', '0'), timeoutMs: 60_000 },
  { name: 'valid-set-twice', why: 'the same --set twice: the last one wins', exit: 0, argv: validate('--set', 'seed=2', '--set', 'seed=3') },
];

function toCase(f: FlagCase, family: Family): HostileCase {
  return {
    name: f.name,
    family: f.family ?? family,
    why: f.why,
    exit: f.exit,
    setup: (dir) => {
      baseSetup(dir);
      f.setup?.(dir);
    },
    argv: (dir) => f.argv.map((a) => a.replaceAll('$D', dir)),
    ...(f.says ? { says: f.says } : {}),
    ...(f.env ? { env: f.env } : {}),
    ...(f.timeoutMs ? { timeoutMs: f.timeoutMs } : {}),
    ...(f.reportOnStdout ? { reportOnStdout: true } : {}),
  };
}

export function flagCases(): HostileCase[] {
  return [
    ...prototypeSets.map((f) => toCase(f, 'prototype')),
    ...flagCasesList.map((f) => toCase(f, 'flags')),
    ...kindsCases.map((f) => toCase(f, 'kinds')),
    ...validFlags.map((f) => toCase(f, 'flags')),
  ];
}
