import { Command, Option } from 'commander';
import { UserError } from '../../core/errors';
import { intOption, numberOption, runCommand } from '../cliSupport';

function listOption(value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0 && value.trim() !== '') throw new UserError(`--keep must be a comma-separated list of column names, got '${value}'`);
  return items;
}

export function defineScore(program: Command): void {
  program
    .command('score')
    .description('score a CSV/Parquet table in batches and write Parquet partitioned by run date, with a rejects output')
    .addOption(new Option('--registry <uri>', 'model registry: a local directory or https://<account>.blob.core.windows.net/<container>[/<prefix>]').env('MLOPS_REGISTRY').makeOptionMandatory())
    .addOption(new Option('--model <name>', 'registered model name').env('MLOPS_MODEL').default('renewable_energy_predictor'))
    .option('--alias <alias>', "alias to score with, 'latest' or a version number", 'champion')
    .requiredOption('--input <uri>', 'input table: .csv[.gz] or .parquet, local path (globs allowed) or Azure object URI')
    .requiredOption('--output <uri>', 'output root (local directory or Azure URI); writes date=<date>/part-0.parquet and rejects/date=<date>/part-0.parquet')
    .option('--date <YYYY-MM-DD>', 'run date naming the output partition (UTC; default today)')
    .option('--max-reject-share <x>', 'fail with exit code 3 when rejects / rows exceeds this', numberOption('--max-reject-share', 0, 1), 0.05)
    .option('--memory-limit <size>', "DuckDB memory_limit (e.g. '1GB'); larger inputs spill to the temp directory", '1GB')
    .option('--threads <n>', 'DuckDB and onnxruntime threads (default: DuckDB all cores, onnxruntime up to 4)', intOption('--threads', 1, 256))
    .option('--temp-dir <dir>', 'parent of the scratch directory (default $TMPDIR)')
    .option('--keep <columns>', 'comma-separated input columns carried into the outputs (default: country,iso_code when present)', listOption)
    .option('--run-id <id>', 'run id written to every row (default: generated)')
    .option('--json', 'print one JSON object')
    .action(async (opts) => {
      await runCommand('score', opts.json, async () => {
        // Loaded on use: `mlops serve` must not pay for DuckDB.
        const { runScore, describeScoreResult } = require('../score') as typeof import('../score');
        const result = await runScore({
          registry: opts.registry,
          model: opts.model,
          alias: opts.alias,
          input: opts.input,
          output: opts.output,
          date: opts.date,
          maxRejectShare: opts.maxRejectShare,
          memoryLimit: opts.memoryLimit,
          threads: opts.threads,
          tempDir: opts.tempDir,
          keep: opts.keep,
          runId: opts.runId,
        });
        return { result, human: describeScoreResult };
      });
    });
}
