/**
 * Hostile pipelines and flags for the language after parsing: prototype names, numbers no key can
 * hold, chains and nesting deeper than the analyzer goes, and sweeps too large to build. Each case is
 * a pipeline (written as `p.yaml` in a scratch directory), the flags, and exactly what `validate`
 * must print on stderr and the exit code; reusable by any test that runs them.
 */

/** The two lines every case's pipeline starts with. */
export const HEADER = 'sparsegraph: 1\nname: hostile\n';

export interface HostileCase {
  readonly name: string;
  /** The pipeline after `HEADER`. */
  readonly body: string;
  readonly args?: readonly string[];
  /** 1: located diagnostics; 2: a usage error. */
  readonly exit: 1 | 2;
  /** Exactly what stderr holds, line by line (the file is `p.yaml`). */
  readonly stderr: readonly string[];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const init = (seed: string, extra = '') => `nodes:\n  a:\n    kind: init\n${extra}    with: { arch: lenet300, seed: ${seed} }\n`;
const twoToThe53 = `must lie within ±2^53 (9007199254740991): beyond it numbers are not exact, and two different ones would share a key`;
const reserved = `'__proto__' cannot be used as a name (JavaScript objects cannot hold it as data); choose another`;
const one = (line: string) => [line, '1 problem found'];

export const hostileCases: readonly HostileCase[] = [
  // Prototype names. '__proto__' is refused wherever it is written; the others are ordinary names,
  // so naming one that is not declared is "unknown", never Object.prototype's member.
  { name: 'node id __proto__', body: init('1').replace('  a:', '  __proto__:'), exit: 1, stderr: one(`p.yaml:4:3: error: ${reserved}`) },
  { name: 'param __proto__', body: `params:\n  __proto__: { polluted: 1 }\n${init('1')}`, exit: 1, stderr: one(`p.yaml:4:3: error: ${reserved}`) },
  { name: 'with key __proto__', body: init('1, __proto__: 2'), exit: 1, stderr: one(`p.yaml:6:38: error: ${reserved}`) },
  { name: 'matrix axis __proto__', body: init('"${item.__proto__}"', '    matrix: { __proto__: [1, 2] }\n'), exit: 1, stderr: one(`p.yaml:6:15: error: ${reserved}`) },
  {
    name: 'input port __proto__',
    body: `${init('1')}  b:\n    kind: train-dense\n    inputs: { __proto__: a }\n`,
    exit: 1,
    stderr: one(`p.yaml:9:15: error: ${reserved}`),
  },
  { name: 'reference to params.__proto__', body: `params:\n  s: 3\n${init('"${params.__proto__}"')}`, exit: 1, stderr: one(`p.yaml:8:35: error: unknown param '__proto__' in \${params.__proto__}`) },
  { name: 'reference to params.constructor', body: `params:\n  s: 3\n${init('"${params.constructor}"')}`, exit: 1, stderr: one(`p.yaml:8:35: error: unknown param 'constructor' in \${params.constructor}`) },
  {
    name: 'nested reference to toString',
    body: `params:\n  m: { a: 1 }\n${init('"${params.m.toString}"')}`,
    exit: 1,
    stderr: one(`p.yaml:8:35: error: unknown key 'toString' in \${params.m.toString}`),
  },
  {
    name: 'arithmetic on params.hasOwnProperty',
    body: `params:\n  s: 3\n${init('"${1 + params.hasOwnProperty}"')}`,
    exit: 1,
    stderr: one(`p.yaml:8:35: error: unknown param 'hasOwnProperty' in \${params.hasOwnProperty}`),
  },
  {
    name: 'input port constructor',
    body: `${init('1')}  b:\n    kind: train-dense\n    inputs: { init: a, constructor: a }\n`,
    exit: 1,
    stderr: one(`p.yaml:9:24: error: kind 'train-dense' has no input 'constructor'; inputs: init`),
  },
  {
    name: 'output port valueOf',
    body: `${init('1')}  b:\n    kind: train-dense\n    inputs: { init: a.valueOf }\n`,
    exit: 1,
    stderr: one(`p.yaml:9:21: error: node 'a' (init) has no output 'valueOf'; outputs: checkpoint`),
  },
  { name: 'defaults for kind prototype', body: `defaults:\n  prototype: { seed: 1 }\n${init('1')}`, exit: 1, stderr: one(`p.yaml:4:3: error: unknown node kind 'prototype'`) },
  { name: '--set __proto__=1', body: `params:\n  s: 3\n${init('"${params.s}"')}`, args: ['--set', '__proto__=1'], exit: 2, stderr: [`sparsegraph: error: --set __proto__=1: ${reserved}`] },
  { name: '--set __proto__.x=1', body: `params:\n  s: 3\n${init('"${params.s}"')}`, args: ['--set', '__proto__.x=1'], exit: 2, stderr: [`sparsegraph: error: --set __proto__.x=1: ${reserved}`] },
  {
    name: '--set a map holding __proto__',
    body: `params:\n  s: { a: 1 }\n${init('1')}`,
    args: ['--set', 's={ __proto__: { polluted: 1 } }'],
    exit: 2,
    stderr: [`sparsegraph: error: --set s={ __proto__: { polluted: 1 } }: ${reserved}`],
  },
  // A merge (<<) would carry the key into the map it merges into, where it is not written: refused where it is.
  { name: 'a merge bringing in __proto__', body: `params:\n  <<: { __proto__: { polluted: 1 } }\n  s: 1\n${init('"${params.s}"')}`, exit: 1, stderr: one(`p.yaml:4:9: error: ${reserved}`) },
  { name: '--set constructor=1', body: `params:\n  s: 3\n${init('"${params.s}"')}`, args: ['--set', 'constructor=1'], exit: 2, stderr: [`sparsegraph: error: --set constructor=1: p.yaml has no param 'constructor'`] },
  { name: '--set toString=2', body: `params:\n  s: 3\n${init('"${params.s}"')}`, args: ['--set', 'toString=2'], exit: 2, stderr: [`sparsegraph: error: --set toString=2: p.yaml has no param 'toString'`] },
  {
    name: '--set nested hasOwnProperty',
    body: `params:\n  m: { a: 1 }\n${init('"${params.m.a}"')}`,
    args: ['--set', 'm.hasOwnProperty=1'],
    exit: 2,
    stderr: [`sparsegraph: error: --set m.hasOwnProperty=1: param 'm' has no key 'hasOwnProperty'`],
  },
  {
    name: '--set params.s',
    body: `params:\n  s: 3\n${init('"${params.s}"')}`,
    args: ['--set', 'params.s=1'],
    exit: 2,
    stderr: [`sparsegraph: error: --set params.s=1: p.yaml has no param 'params' (--set names a param without 'params.': --set s=1)`],
  },

  // Numbers no key can hold: refused where they are written.
  { name: 'seed .nan', body: init('.nan'), exit: 1, stderr: one(`p.yaml:6:35: error: parameter 'seed' must be a finite number, got number NaN`) },
  { name: 'seed 1e400', body: init('1e400'), exit: 1, stderr: one(`p.yaml:6:35: error: parameter 'seed' must be a finite number, got number Infinity`) },
  {
    name: 'seed 2^53 + 1',
    body: init('9007199254740993'),
    exit: 1,
    stderr: one(`p.yaml:6:35: error: parameter 'seed' ${twoToThe53} (this one reads as 9007199254740992)`),
  },
  { name: 'salt .nan', body: init('1', '    salt: .nan\n'), exit: 1, stderr: one(`p.yaml:6:11: error: salt must be a finite number, got number NaN`) },
  { name: 'salt 1e400', body: init('1', '    salt: 1e400\n'), exit: 1, stderr: one(`p.yaml:6:11: error: salt must be a finite number, got number Infinity`) },
  { name: 'salt a map', body: `params:\n  m: { a: 1 }\n${init('1', '    salt: "${params.m}"\n')}`, exit: 1, stderr: one(`p.yaml:8:11: error: salt must be a string or a number, got a map`) },
  // 1e-400 reads as 0: it and a salt of 0 would share a key.
  {
    name: 'salt 1e-400',
    body: init('1', '    salt: 1e-400\n'),
    exit: 1,
    stderr: one(`p.yaml:6:11: error: the number 1e-400 is too small for a double (it reads as 0): non-zero numbers must be at least 2.2250738585072014e-308 in size, or two different ones would share a key; write 0 or a larger number`),
  },
  {
    name: 'a subnormal param',
    body: `params:\n  s: 4.9e-324\n${init('1')}`,
    exit: 1,
    stderr: one(`p.yaml:4:6: error: the number 4.9e-324 is too small for a double (it reads as 5e-324): non-zero numbers must be at least 2.2250738585072014e-308 in size, or two different ones would share a key; write 0 or a larger number`),
  },
  { name: 'unused param -.inf', body: `params:\n  s: -.inf\n${init('1')}`, exit: 1, stderr: one(`p.yaml:4:6: error: param 's' must be a finite number, got number -Infinity`) },
  {
    name: 'nested param 2^53',
    body: `params:\n  m: { a: [1, { b: 9007199254740992 }] }\n${init('1')}`,
    exit: 1,
    stderr: one(`p.yaml:4:20: error: param 'm.a.1.b' ${twoToThe53} (this one reads as 9007199254740992)`),
  },
  { name: 'matrix value .inf', body: init('1', '    matrix: { s: [1, .inf] }\n'), exit: 1, stderr: one(`p.yaml:6:22: error: matrix axis 's' value must be a finite number, got number Infinity`) },
  { name: 'foreach value .nan', body: init('"${item}"', '    foreach: [1, .nan]\n'), exit: 1, stderr: one(`p.yaml:6:18: error: foreach value must be a finite number, got number NaN`) },
  { name: 'defaults seed 1e400', body: `defaults:\n  init: { seed: 1e400 }\nnodes:\n  a:\n    kind: init\n    with: { arch: lenet300 }\n`, exit: 1, stderr: one(`p.yaml:4:17: error: parameter 'seed' must be a finite number, got number Infinity`) },
  { name: '--set s=1e400', body: `params:\n  s: 1\n${init('"${params.s}"')}`, args: ['--set', 's=1e400'], exit: 2, stderr: [`sparsegraph: error: --set s=1e400: the value must be a finite number, got number Infinity`] },
  // --set values are read by the same bounded parser as files.
  {
    name: '--set a value that contains itself',
    body: `params:\n  s: 1\n${init('"${params.s}"')}`,
    args: ['--set', 's=&a [*a]'],
    exit: 2,
    stderr: ['sparsegraph: error: --set s=&a [*a]: YAML aliases: *a is inside the value anchored &a, which would contain itself'],
  },
  {
    name: '--set a value 50,000 lists deep',
    body: `params:\n  s: 1\n${init('"${params.s}"')}`,
    args: ['--set', `s=${'['.repeat(50_000)}${']'.repeat(50_000)}`],
    exit: 2,
    stderr: [`sparsegraph: error: --set s=${'['.repeat(95)}...: YAML nesting: maps and lists nest deeper than 100 levels here; a pipeline file may nest at most 100`],
  },
  {
    name: '--set s=1e-400',
    body: `params:\n  s: 1\n${init('"${params.s}"')}`,
    args: ['--set', 's=1e-400'],
    exit: 2,
    stderr: ['sparsegraph: error: --set s=1e-400: the number 1e-400 is too small for a double (it reads as 0): non-zero numbers must be at least 2.2250738585072014e-308 in size, or two different ones would share a key; write 0 or a larger number'],
  },
  {
    name: '--set s=2^53 + 1',
    body: `params:\n  s: 1\n${init('"${params.s}"')}`,
    args: ['--set', 's=9007199254740993'],
    exit: 2,
    stderr: [`sparsegraph: error: --set s=9007199254740993: the value ${twoToThe53} (this one reads as 9007199254740992)`],
  },
  { name: '${0/0}', body: init('"${0/0}"'), exit: 1, stderr: one(`p.yaml:6:35: error: \${0/0} is not a finite number (got NaN)`) },
  {
    name: '${1e308 * 10}',
    body: init('"${1e308 * 10}"'),
    exit: 1,
    stderr: one(`p.yaml:6:35: error: \${1e308 * 10}: the number 1e308 ${twoToThe53} (this one reads as 1e+308)`),
  },
  {
    name: '${1e-400 + 1}',
    body: init('"${1e-400 + 1}"'),
    exit: 1,
    stderr: one(
      `p.yaml:6:35: error: \${1e-400 + 1}: the number 1e-400 is too small for a double (it reads as 0): non-zero numbers must be at least 2.2250738585072014e-308 in size, or two different ones would share a key; write 0 or a larger number`,
    ),
  },
  { name: '${2 ** 1024}', body: init('"${2 ** 1024}"'), exit: 1, stderr: one(`p.yaml:6:35: error: \${2 ** 1024} is not a finite number (got Infinity)`) },
  { name: 'overflow hidden by a later step', body: init('"${1 / (2 ** 1024)}"'), exit: 1, stderr: one(`p.yaml:6:35: error: \${1 / (2 ** 1024)} is not a finite number (got Infinity)`) },
  {
    name: '${2 ** 60}',
    body: init('"${2 ** 60}"'),
    exit: 1,
    stderr: one(`p.yaml:6:35: error: \${2 ** 60} ${twoToThe53} (this one reads as 1152921504606847000)`),
  },

  // Depth: a clear limit, never the JavaScript call stack.
  {
    name: 'parentheses 20,000 deep',
    body: init(`"\${${'('.repeat(20000)}1${')'.repeat(20000)}}"`),
    exit: 1,
    stderr: one(`p.yaml:6:35: error: \${${'('.repeat(77)}...}: parentheses and signs nest deeper than 100 levels`),
  },
  {
    name: 'a chain of 10,000 params, each reading the one before',
    body: `params:\n${range(10000).map((i) => (i === 0 ? '  p0: 1' : `  p${i}: "\${params.p${i - 1}}"`)).join('\n')}\n${init('"${params.p9999}"')}`,
    exit: 1,
    stderr: one(`p.yaml:104:9: error: params refer to params in a chain longer than 100: p100 -> p99 -> p98 -> p97 -> ...; write a value directly somewhere along it`),
  },
  {
    name: 'a chain of 10,000 params, each reading the one after',
    body: `params:\n${range(10000).map((i) => (i === 9999 ? '  p9999: 1' : `  p${i}: "\${params.p${i + 1}}"`)).join('\n')}\n${init('"${params.p0}"')}`,
    exit: 1,
    stderr: one(`p.yaml:103:8: error: params refer to params in a chain longer than 100: p99 -> p100 -> ...; write a value directly somewhere along it`),
  },
  {
    name: 'a cycle of 300 params, longer than a chain may be',
    body: `params:\n${range(300).map((i) => (i === 0 ? '  p0: "${params.p299}"' : `  p${i}: "\${params.p${i - 1}}"`)).join('\n')}\nnodes: {}\n`,
    exit: 1,
    stderr: one(`p.yaml:4:7: error: params refer to each other in a cycle of more than 100 params: p0 -> p299 -> p298 -> ... -> p0`),
  },
  { name: 'a cycle of params', body: `params:\n  a: "\${params.b}"\n  b: "\${params.c}"\n  c: "\${params.a}"\nnodes: {}\n`, exit: 1, stderr: one(`p.yaml:4:6: error: params refer to each other in a cycle: a -> b -> c -> a`) },

  // Scale: refused before the instances are built.
  {
    name: 'a matrix of a million',
    body: init('"${item.s}"', `    matrix: { s: [${range(1000).join(',')}], t: [${range(1000).join(',')}] }\n`),
    exit: 1,
    stderr: one(`p.yaml:6:5: error: matrix of node 'a' has 1,000,000 combinations (1000 s × 1000 t), more than the 100,000 instances a pipeline may have`),
  },
  {
    name: 'a matrix of 10^12',
    body: init('"${item.a}"', `    matrix: { ${['a', 'b', 'c', 'd', 'e', 'f'].map((axis) => `${axis}: [${range(100).join(',')}]`).join(', ')} }\n`),
    exit: 1,
    stderr: one(`p.yaml:6:5: error: matrix of node 'a' has 1,000,000,000,000 combinations (100 a × 100 b × 100 c × 100 d × 100 e × 100 f), more than the 100,000 instances a pipeline may have`),
  },
  {
    name: 'two sweeps crossed into a million',
    body:
      init('"${item.s}"', `    matrix: { s: [${range(1000).join(',')}] }\n`) +
      `  b:\n    kind: init\n    matrix: { t: [${range(1000).join(',')}] }\n    with: { arch: lenet300, seed: "\${item.t}" }\n  c:\n    kind: interpolate\n    inputs: { start: a, end: b }\n`,
    exit: 1,
    stderr: one(`p.yaml:12:3: error: node 'c' would expand to 1,000,000 instances (with the 2,000 before it), more than the 100,000 a pipeline may have; sweep fewer values`),
  },
  {
    name: 'a sweep gathering a sweep into 25 million results',
    body:
      init('"${item.s}"', `    matrix: { s: [${range(5000).join(',')}] }\n`) +
      `  e:\n    kind: evaluate\n    inputs: { target: a }\n  f:\n    kind: figure\n    matrix: { t: [${range(5000).join(',')}] }\n    inputs: { series: e.metrics }\n    with: { plot: barrier-table }\n`,
    exit: 1,
    stderr: one(`p.yaml:11:3: error: node 'f' would gather 5,000 results into each of its 5,000 instances, more than the 10,000,000 gathered results a pipeline may have`),
  },
  {
    name: 'repeat a billion times',
    body: `nodes:\n  g:\n    repeat: 1000000000\n    nodes:\n      t:\n        kind: init\n        with: { arch: lenet300, seed: 1 }\n`,
    exit: 1,
    stderr: one(`p.yaml:5:13: error: repeat count 1,000,000,000 gives 1,000,000,000 node declarations, more than the 100,000 instances a pipeline may have`),
  },
];
