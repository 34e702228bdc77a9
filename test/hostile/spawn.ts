/**
 * Runs the CLI the way a user's shell would, but fenced: a wall-clock limit (SIGKILL, so a hang ends),
 * a heap cap through NODE_OPTIONS (so a memory blow-up ends as an exit code, not a swapping machine),
 * and stdin closed (so nothing waits on a terminal).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { asUnprivileged } from '../fixtures/unprivileged.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const cliPath = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** The heap a hostile input may use; a pipeline validator needs far less. */
export const HEAP_MB = 512;

export interface Outcome {
  /** The exit code, or null when the process was killed. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** Killed because it ran past its limit. */
  readonly timedOut: boolean;
  /** Printed more than KEEP_BYTES on stdout or stderr. */
  readonly overflowed: boolean;
}

/** What a hostile input may print is bounded too: beyond this much, the rest is dropped and the run marked. */
export const KEEP_BYTES = 64 * 1024 * 1024;

export function runCli(
  args: readonly string[],
  options: { cwd: string; timeoutMs: number; heapMb?: number; env?: Readonly<Record<string, string>>; unprivileged?: boolean },
): Promise<Outcome> {
  const plain = [process.execPath, cliPath, ...args];
  const [program, ...rest] = options.unprivileged ? asUnprivileged(plain, { dir: options.cwd, reads: cliPath }) : plain;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(program!, rest, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NO_COLOR: '1',
        SPARSEGRAPH_KINDS: '',
        SPARSEGRAPH_CACHE: '',
        SPARSEGRAPH_DEBUG: '',
        ...options.env,
        NODE_OPTIONS: `--max-old-space-size=${options.heapMb ?? HEAP_MB}`,
      },
    });
    let overflowed = false;
    const collect = (stream: NodeJS.ReadableStream) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      stream.on('data', (chunk: Buffer) => {
        if (kept + chunk.length > KEEP_BYTES) {
          overflowed = true;
          return;
        }
        chunks.push(chunk);
        kept += chunk.length;
      });
      return () => Buffer.concat(chunks).toString('utf8');
    };
    const stdout = collect(child.stdout!);
    const stderr = collect(child.stderr!);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: stdout(), stderr: stderr(), ms: Math.round(performance.now() - started), timedOut, overflowed });
    });
  });
}
