/**
 * What every answer to a hostile input must look like, as a list of what is wrong with one run (empty:
 * the run is right). Collected rather than asserted one by one, so that a failing case says everything
 * it got wrong at once.
 */
import type { Exit, HostileCase } from './case.js';
import { exitsOf } from './case.js';
import { KEEP_BYTES, type Outcome } from './spawn.js';

/**
 * JavaScript's own words: a user who sees them is reading a bug of ours, whatever the exit code. Each
 * is a stack frame, an engine error name or message, or Node's own fatal report.
 */
const INTERNALS: readonly [RegExp, string][] = [
  [/(\n|\\n)\s+at \S|^\s+at .+:\d+:\d+\)?$/m, 'a stack frame'],
  [/internal error/i, "'internal error'"],
  [/\b(TypeError|RangeError|ReferenceError|SyntaxError|EvalError|URIError)\b/, 'a JavaScript error name'],
  [/Maximum call stack/i, 'a stack overflow'],
  [/FATAL ERROR|heap out of memory|Allocation failed/i, 'an out-of-memory crash'],
  [/node:internal|ERR_[A-Z_]{4,}/, "Node's internals"],
  [/Cannot read propert(y|ies) of|Cannot convert undefined|Invalid (array|string) length|circular structure|before initialization/i, 'a JavaScript engine message'],
  [/\[object Object\]/, "'[object Object]'"],
  [/unsettled top-level await/i, 'an unsettled top-level await'],
];

export interface Run {
  readonly label: string;
  readonly json: boolean;
  readonly outcome: Outcome;
  /** The command is `validate`: its JSON says `ok` in every outcome. */
  readonly validate: boolean;
}

function parseJson(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! };
  }
}

/** The places `at` names (`LINE:COL`, `FILE:LINE:COL`, alternatives joined by '|'), resolved against the case's file. */
export function locations(c: HostileCase): { file: string; line: number; col: number }[] {
  if (!c.at) return [];
  return c.at.split('|').map((one) => {
    const parts = one.split(':');
    const col = Number(parts.pop());
    const line = Number(parts.pop());
    return { file: parts.length > 0 ? parts.join(':') : c.file!, line, col };
  });
}

export function problemsOf(c: HostileCase, run: Run, timeoutMs: number): string[] {
  const { outcome } = run;
  const problems: string[] = [];
  const allowed = exitsOf(c);
  if (outcome.timedOut) problems.push(`did not finish within ${timeoutMs} ms`);
  if (outcome.overflowed) problems.push(`printed more than ${KEEP_BYTES / 1024 / 1024} MiB`);
  else if (outcome.code === null) problems.push(`killed by ${outcome.signal}`);
  else if (!allowed.includes(outcome.code as Exit)) problems.push(`exit ${outcome.code}, expected ${allowed.join(' or ')}`);
  // stdout too when the run failed: a JSON document's messages are read by people as well.
  const shown = outcome.code === 0 ? outcome.stderr : `${outcome.stderr}\n${outcome.stdout}`;
  for (const [pattern, what] of INTERNALS) {
    const hit = pattern.exec(shown);
    if (hit) problems.push(`${what} in the output: ${JSON.stringify(hit[0].trim().slice(0, 80))}`);
  }
  if (outcome.timedOut || outcome.code === null) return problems;
  const failed = outcome.code !== 0;
  let document: unknown;
  if (run.json) {
    const parsed = parseJson(outcome.stdout);
    if ('error' in parsed) problems.push(`--json: stdout is not one JSON document (${parsed.error}): ${JSON.stringify(outcome.stdout.slice(0, 80))}`);
    else {
      document = parsed.value;
      const ok = (document as { ok?: unknown } | null)?.ok;
      if (failed && ok !== false) problems.push(`--json: exit ${outcome.code} but the document does not say ok: false`);
      if (!failed && run.validate && ok !== true) problems.push('--json: validate accepted the file but the document does not say ok: true');
    }
  } else if (failed && outcome.stdout.trim() !== '' && !c.reportOnStdout) {
    problems.push(`a failure printed on stdout: ${JSON.stringify(outcome.stdout.slice(0, 80))}`);
  }
  if (failed && outcome.stderr.trim() === '' && !run.json && !(c.reportOnStdout && outcome.stdout.trim() !== '')) problems.push('failed without a word on stderr');
  const places = locations(c);
  if (failed && places.length > 0) {
    const named = places.some((where) =>
      run.json
        ? jsonDiagnostics(document).some((d) => d.file === where.file && d.line === where.line && d.column === where.col)
        : outcome.stderr.includes(`${where.file}:${where.line}:${where.col}: error:`),
    );
    const wanted = places.map((w) => `${w.file}:${w.line}:${w.col}`).join(' or ');
    if (!named) problems.push(`no diagnostic at ${wanted}: ${firstLine(run.json ? outcome.stdout.replace(/\s+/g, ' ') : outcome.stderr)}`);
  }
  if (failed && c.says) {
    const text = run.json ? outcome.stdout : c.reportOnStdout ? `${outcome.stdout}\n${outcome.stderr}` : outcome.stderr;
    if (!c.says.test(text)) problems.push(`the message does not say ${c.says}: ${firstLine(text)}`);
  }
  return problems;
}

function jsonDiagnostics(document: unknown): { file?: unknown; line?: unknown; column?: unknown }[] {
  const list = (document as { diagnostics?: unknown } | null)?.diagnostics;
  return Array.isArray(list) ? (list as { file?: unknown; line?: unknown; column?: unknown }[]) : [];
}

export function firstLine(text: string): string {
  return JSON.stringify(text.trim().split('\n')[0]?.slice(0, 160) ?? '');
}

/** What is wrong with an accepted input's `plan --json`, against what the case says it must hold. */
export function acceptedProblems(c: HostileCase, planJson: string): string[] {
  const want = c.accepted;
  if (!want) return [];
  const parsed = parseJson(planJson);
  if ('error' in parsed) return [`plan --json is not JSON (${parsed.error})`];
  const nodes = (parsed.value as { nodes?: { id: string; key: string; components?: { params?: Record<string, unknown> } }[] }).nodes ?? [];
  const problems: string[] = [];
  if (want.instances !== undefined && nodes.length !== want.instances) problems.push(`accepted with ${nodes.length} instance(s), expected ${want.instances}`);
  if (want.distinctKeys) {
    const keys = new Set(nodes.map((n) => n.key));
    if (keys.size !== nodes.length) problems.push(`${nodes.length} instances share ${keys.size} key(s): different inputs collapsed into one key`);
  }
  for (const p of want.params ?? []) {
    // `NODE*` names the first instance of NODE, whatever its sweep coordinates.
    const node = p.id.endsWith('*') ? nodes.find((n) => n.id.startsWith(p.id.slice(0, -1))) : nodes.find((n) => n.id === p.id);
    const got = node?.components?.params?.[p.name];
    if (!node) problems.push(`no instance '${p.id}' in the plan`);
    else if (JSON.stringify(got) !== JSON.stringify(p.value)) problems.push(`${p.id}: param ${p.name} is ${JSON.stringify(got)}, expected ${JSON.stringify(p.value)}`);
  }
  return problems;
}
