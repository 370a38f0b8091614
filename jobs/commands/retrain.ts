import { Command, Option } from 'commander';
import { intOption, runCommand } from '../cliSupport';

export function defineRetrain(program: Command): void {
  program
    .command('retrain')
    .description("train and register a candidate version when the monitor's decision asks for it (never moves aliases)")
    .requiredOption('--data <uri>', "training table: CSV or Parquet path/URI in the OWID schema, or 'synthetic'")
    .addOption(new Option('--registry <uri>', 'model registry: a local directory or https://<account>.blob.core.windows.net/<container>[/<prefix>]').env('MLOPS_REGISTRY').makeOptionMandatory())
    .addOption(new Option('--model <name>', 'registered model name').env('MLOPS_MODEL').default('renewable_energy_predictor'))
    .addOption(new Option('--decision <uri>', 'monitor decision: a decision .json URI or a reports root holding latest-decision.json').conflicts('force'))
    .option('--force', 'retrain regardless of any decision (trigger=forced)')
    .addOption(new Option('--from-year <n>', 'train on rows from this year on').argParser(intOption('--from-year')).conflicts('windowYears'))
    .option('--window-years <n>', 'train on the most recent N distinct years', intOption('--window-years', 1))
    .option('--seed <n>', 'seed for the split, subsampling and profile', intOption('--seed', 0), 42)
    .option('--n-estimators <n>', 'boosting rounds (default: the trainer default)', intOption('--n-estimators', 1, 100_000))
    .option('--json', 'print one JSON object')
    .action(async (opts) => {
      await runCommand('retrain', opts.json, async () => {
        const { runRetrain, describeRetrainResult } = require('../retrain') as typeof import('../retrain');
        const result = await runRetrain({
          data: opts.data,
          registry: opts.registry,
          model: opts.model,
          decision: opts.decision,
          force: opts.force === true,
          fromYear: opts.fromYear,
          windowYears: opts.windowYears,
          seed: opts.seed,
          ...(opts.nEstimators !== undefined ? { params: { nEstimators: opts.nEstimators } } : {}),
        });
        return { result, human: describeRetrainResult };
      });
    });
}
