import { Command, Option } from 'commander';
import { intOption, numberOption, runCommand } from '../cliSupport';

export function definePromote(program: Command): void {
  program
    .command('promote')
    .description('smoke-test a candidate, compare it with the champion on the same holdout rows, and move aliases (or roll back)')
    .addOption(new Option('--registry <uri>', 'model registry: a local directory or https://<account>.blob.core.windows.net/<container>[/<prefix>]').env('MLOPS_REGISTRY').makeOptionMandatory())
    .addOption(new Option('--model <name>', 'registered model name').env('MLOPS_MODEL').default('renewable_energy_predictor'))
    .option('--candidate <version>', 'candidate version number (required unless --rollback)', intOption('--candidate', 1))
    .addOption(new Option('--stage <stage>', 'alias to give a better candidate').choices(['challenger', 'champion']).default('champion'))
    .option('--rollback', "restore the 'previous' version as champion (the demoted one becomes 'rolled_back')")
    .option('--data <uri>', "holdout table (CSV/Parquet, OWID schema) scored by both models; required when a champion exists")
    .option('--min-r2-improvement <x>', 'promote when R² improves by at least this', numberOption('--min-r2-improvement'), 0.01)
    .option('--min-rmse-drop <x>', 'or when RMSE drops by more than this', numberOption('--min-rmse-drop'), 0.5)
    .option('--latency-budget-ms <ms>', 'smoke test: median time to score a 1,000-row batch must not exceed this', numberOption('--latency-budget-ms', 0))
    .option('--json', 'print one JSON object')
    .action(async (opts) => {
      await runCommand('promote', opts.json, async () => {
        const { runPromote, describePromoteResult } = require('../promote') as typeof import('../promote');
        const result = await runPromote({
          registry: opts.registry,
          model: opts.model,
          candidate: opts.candidate,
          stage: opts.stage,
          rollback: opts.rollback === true,
          data: opts.data,
          minR2Improvement: opts.minR2Improvement,
          minRmseDrop: opts.minRmseDrop,
          latencyBudgetMs: opts.latencyBudgetMs,
        });
        return { result, human: describePromoteResult };
      });
    });
}
