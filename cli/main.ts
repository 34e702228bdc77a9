#!/usr/bin/env node
/**
 * The `sparsegraph` command. Only this layer prints or exits; everything below returns values.
 * This file builds the program from the command groups of commands/ and turns what ends it into an
 * exit code; each group's file holds its commands' options and actions.
 */
import { Command, CommanderError } from 'commander';
import { unsettledKindsImport } from '../engine/exec/kinds-modules.js';
import { packageVersion } from '../base/version.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerCacheCommand } from './commands/cache.js';
import { registerPipelineCommands } from './commands/pipeline.js';
import { registerResultCommands } from './commands/results.js';
import { registerServeCommand } from './commands/serve.js';
import { registerWorkerCommand } from './commands/worker.js';
import { debugFromEnv } from './environment.js';
import { EXIT, expectedFailure, paint, printJson, UsageError } from './output.js';

function program(): Command {
  const cli = new Command('sparsegraph')
    .description('Sparse-neural-network experiments as declarative, cached experiment graphs.')
    .version(packageVersion())
    .showHelpAfterError()
    .allowExcessArguments(false)
    .exitOverride();
  registerPipelineCommands(cli); // validate, plan, graph, run, report
  registerResultCommands(cli); // show, gc, pin, export
  registerServeCommand(cli); // serve
  registerCacheCommand(cli); // cache export, cache verify, cache import
  registerWorkerCommand(cli); // worker
  registerBenchCommand(cli); // bench
  return cli;
}

export async function main(argv: readonly string[]): Promise<number> {
  // Output piped into `head` and closed early is not an error of ours: stop quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT.ok);
      throw e;
    });
  }
  const cli = program();
  const json = argv.includes('--json');
  const fail = (message: string, code: number): number => {
    if (json) printJson({ ok: false, error: message });
    process.stderr.write(`sparsegraph: ${paint('red', 'error', process.stderr)}: ${message}\n`);
    return code;
  };
  try {
    await cli.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      // Commander has printed its message on stderr already; a script asked for JSON gets it too.
      if (json) printJson({ ok: false, error: e.message.replace(/^error: /, '') });
      return EXIT.usage;
    }
    if (e instanceof UsageError) return fail(e.message, EXIT.usage);
    const expected = expectedFailure(e);
    if (expected) return fail(expected, EXIT.failure);
    return internalError(e, json);
  }
}

/**
 * Anything not foreseen is a bug in sparsegraph, not a problem in the user's input. The user gets one
 * line and the way to a bug report (the stack only on request, as DVC's `-v` or npm's log do), and a
 * script asking for JSON still gets a JSON document.
 */
function internalError(e: unknown, json: boolean): number {
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (json) printJson({ ok: false, error: message, internal: true });
  const debug = debugFromEnv();
  const detail = debug && e instanceof Error && e.stack ? `\n${e.stack}` : '\n(this is a bug in sparsegraph; SPARSEGRAPH_DEBUG=1 prints where it happened)';
  process.stderr.write(`sparsegraph: internal error: ${message}${detail}\n`);
  return EXIT.internal;
}

// An error escaping every await (an event handler, a stream) ends the same way as one main() catches.
const json = process.argv.includes('--json');
process.on('uncaughtException', (e) => process.exit(internalError(e, json)));
process.on('unhandledRejection', (e) => process.exit(internalError(e, json)));
// A kinds module whose top-level await never settles leaves nothing to run: Node would exit with 13.
process.on('exit', (exitCode) => {
  // Node sets process.exitCode to 13 before the 'exit' event and passes it as 0.
  const unsettled = exitCode === 13 || process.exitCode === 13 ? unsettledKindsImport() : undefined;
  if (unsettled === undefined) return;
  if (json) printJson({ ok: false, error: unsettled.message });
  process.stderr.write(`sparsegraph: ${paint('red', 'error', process.stderr)}: ${unsettled.message}\n`);
  process.exitCode = EXIT.failure;
});
const code = await main(process.argv);
process.exitCode = code;
