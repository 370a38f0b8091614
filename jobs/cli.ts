#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT } from './cliSupport';
import { defineTrain } from './commands/train';
import { defineServe } from './commands/serve';
import { defineScore } from './commands/score';
import { defineRetrain } from './commands/retrain';
import { definePromote } from './commands/promote';
import { defineMonitor } from './commands/monitor';
import { defineCost } from './commands/cost';
import { defineStart } from './commands/start';

/**
 * The `mlops` command line. Each command lives in `jobs/commands/<name>.ts`, declares its flags there and
 * imports its implementation lazily, so `mlops serve` does not load the trainer or DuckDB.
 */
export function buildProgram(): Command {
  const program = new Command('mlops')
    .description('Train, serve, score, monitor, retrain and promote the renewable_energy_predictor model')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  defineTrain(program);
  defineServe(program);
  defineScore(program);
  defineRetrain(program);
  definePromote(program);
  defineMonitor(program);
  defineCost(program);
  defineStart(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (or the help text).
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const message = (err as Error)?.message ?? String(err);
    process.stderr.write(`mlops: error: ${message}\n`);
    process.exitCode = (err as Error)?.name === 'UserError' ? EXIT.usage : EXIT.internal;
  }
}

if (require.main === module) void main();
