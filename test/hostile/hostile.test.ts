/**
 * The hostile corpus: broken, malicious and merely unusual pipelines and flags (cases/*.yaml, and the
 * cases generated at run time in generated.ts and flags.ts), each run through the CLI as a user would,
 * fenced by a time limit and a heap cap. Every answer must be an exit code the case allows (1: located
 * diagnostics or an expected failure, 2: a usage error, 0 only for a near miss that is valid), in bounded
 * time, with no JavaScript internals on the screen, and with --json one JSON document saying `ok: false`.
 *
 * A case runs once, through `validate` or one other command, with or without --json: which, is chosen
 * by a hash of its name plus a rotation that advances by one every UTC day (HOSTILE_ROTATION=N fixes
 * it; a failing run prints the rotation it used). A case has at most four planned runs, so four
 * consecutive days of CI run every planned run of every case, while each suite run stays inside the
 * suite's time. HOSTILE_FULL=1 runs every planned run at once; HOSTILE_RESULTS=FILE writes every run's
 * outcome there as JSON, for a report.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CHEAP_COMMANDS, commandLine, DEFAULT_TIMEOUT_MS, exitsOf, FAMILIES, PIPELINE_COMMANDS, type HostileCase, type PipelineCommand } from './case.js';
import { acceptedProblems, firstLine, problemsOf, type Run } from './checks.js';
import { flagCases } from './flags.js';
import { generatedCases } from './generated.js';
import { runCli } from './spawn.js';
import { staticCases } from './static-cases.js';

const cases: HostileCase[] = [...staticCases(), ...generatedCases(), ...flagCases()];
/** HOSTILE_ONLY=REGEX runs only the cases whose name matches (the corpus checks still see them all). */
const only = process.env['HOSTILE_ONLY'] ? new RegExp(process.env['HOSTILE_ONLY']) : undefined;
const CONCURRENCY = Number(process.env['HOSTILE_CONCURRENCY'] ?? 3);

/** A stable number per case, so which extra command a case goes through never changes between runs. */
function hashOf(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0);
}

interface Planned {
  readonly label: string;
  readonly argv: readonly string[];
  readonly json: boolean;
  readonly validate: boolean;
}

const FULL = process.env['HOSTILE_FULL'] === '1';
/** Which of a case's planned runs this suite run makes: days since the epoch, unless fixed. */
const ROTATION = process.env['HOSTILE_ROTATION'] ? Number(process.env['HOSTILE_ROTATION']) : Math.floor(Date.now() / 86_400_000);

/** `--json` before the first option, so that an option left without its value does not take it as one. */
function withJson(argv: readonly string[]): string[] {
  const at = argv.findIndex((a) => a.startsWith('-'));
  return at < 0 ? [...argv, '--json'] : [...argv.slice(0, at), '--json', ...argv.slice(at)];
}

/**
 * The runs of a case: a pipeline file goes through `validate` and one other command, a command line
 * runs as given, each both with and without --json; unless FULL, only one of those runs, picked by hash.
 */
function plannedRuns(c: HostileCase, dir: string): Planned[] {
  const h = hashOf(c.name);
  let runs: Planned[];
  if (c.argv) {
    const argv = c.argv(dir);
    runs = [argv, withJson(argv)].map((line, i) => ({ label: line.join(' ').replaceAll(dir, '$DIR'), argv: line, json: i === 1, validate: argv[0] === 'validate' }));
  } else {
    const others: readonly PipelineCommand[] = exitsOf(c).includes(0) ? CHEAP_COMMANDS : PIPELINE_COMMANDS.filter((p) => p !== 'validate');
    const commands = c.commands ?? ['validate', others[(h >>> 2) % others.length]!];
    runs = commands.flatMap((command) =>
      [false, true].map((json) => {
        const argv = [...commandLine(command, c.file!, dir), ...(c.args ?? []), ...(json ? ['--json'] : [])];
        return { label: argv.join(' ').replaceAll(dir, '$DIR'), argv, json, validate: command === 'validate' };
      }),
    );
  }
  return FULL ? runs : [runs[(h + ROTATION) % runs.length]!];
}

interface Recorded {
  name: string;
  family: string;
  why: string;
  exit: readonly number[];
  runs: { label: string; code: number | null; ms: number; timedOut: boolean; stderr: string }[];
  problems: string[];
}
/** One JSON line per finished case, so that a run cut short still leaves what it found. */
const resultsFile = process.env['HOSTILE_RESULTS'];
if (resultsFile) writeFileSync(resultsFile, '');

async function runCase(c: HostileCase): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-hostile-'));
  const timeoutMs = c.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const problems: string[] = [];
  const record: Recorded = { name: c.name, family: c.family, why: c.why, exit: exitsOf(c), runs: [], problems };
  try {
    await c.setup(dir);
    const options = { cwd: dir, timeoutMs, ...(c.heapMb ? { heapMb: c.heapMb } : {}), ...(c.env ? { env: c.env } : {}), ...(c.unprivileged ? { unprivileged: true } : {}) };
    let allAccepted = true;
    let planJson: string | undefined;
    for (const planned of plannedRuns(c, dir)) {
      const outcome = await runCli(planned.argv, options);
      const run: Run = { label: planned.label, json: planned.json, validate: planned.validate, outcome };
      record.runs.push({ label: planned.label.slice(0, 300), code: outcome.code, ms: outcome.ms, timedOut: outcome.timedOut, stderr: firstLine(outcome.stderr) });
      for (const p of problemsOf(c, run, timeoutMs)) problems.push(`${planned.label.slice(0, 300)}: ${p}`);
      if (outcome.code !== 0) allAccepted = false;
      if (planned.argv[0] === 'plan' && planned.json) planJson = outcome.stdout;
    }
    if (c.accepted && allAccepted && c.file) {
      if (planJson === undefined) {
        const argv = [...commandLine('plan', c.file, dir), ...(c.args ?? []), '--json'];
        const outcome = await runCli(argv, options);
        record.runs.push({ label: argv.join(' ').replaceAll(dir, '$DIR'), code: outcome.code, ms: outcome.ms, timedOut: outcome.timedOut, stderr: firstLine(outcome.stderr) });
        planJson = outcome.stdout;
      }
      for (const p of acceptedProblems(c, planJson)) problems.push(`accepted, but ${p}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (resultsFile) appendFileSync(resultsFile, `${JSON.stringify(record)}\n`);
  }
  return problems;
}

test('the corpus is large and covers every family, with near misses that must stay valid', () => {
  assert.ok(cases.length >= 150, `only ${cases.length} cases`);
  const names = cases.map((c) => c.name);
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], 'case names are unique');
  for (const family of FAMILIES) {
    const n = cases.filter((c) => c.family === family).length;
    assert.ok(n >= 10, `family ${family} has ${n} cases`);
  }
  const valid = cases.filter((c) => exitsOf(c).length === 1 && exitsOf(c)[0] === 0).length;
  assert.ok(valid >= 10, `${valid} near misses that must be accepted`);
  for (const c of cases) assert.ok(Boolean(c.file) !== Boolean(c.argv), `${c.name}: a file or a command line`);
});

describe('the CLI on hostile input', { concurrency: CONCURRENCY }, () => {
  for (const c of cases.filter((k) => !only || only.test(k.name))) {
    test(`${c.family}: ${c.name}`, async () => {
      const problems = await runCase(c);
      assert.deepEqual(problems, [], `${c.name} (${c.why}); HOSTILE_ROTATION=${ROTATION}`);
    });
  }
});
