import { Command, Option } from 'commander';
import { intOption, numberOption, runCommand, tagOption } from '../cliSupport';

export function defineTrain(program: Command): void {
  program
    .command('train')
    .description('train a version on a CSV/Parquet table, evaluate it, export ONNX and register it')
    .requiredOption('--data <uri>', "training table: CSV or Parquet path/URI in the OWID schema, or 'synthetic'")
    .addOption(new Option('--registry <uri>', 'model registry: a local directory or https://<account>.blob.core.windows.net/<container>[/<prefix>]').env('MLOPS_REGISTRY').makeOptionMandatory())
    .addOption(new Option('--model <name>', 'registered model name').env('MLOPS_MODEL').default('renewable_energy_predictor'))
    .option('--alias <alias>', 'point this alias (e.g. champion) at the new version')
    .option('--seed <n>', 'seed for the split, subsampling and profile', intOption('--seed', 0), 42)
    .option('--n-estimators <n>', 'boosting rounds', intOption('--n-estimators', 1, 100_000))
    .option('--max-depth <n>', 'maximum tree depth', intOption('--max-depth', 1, 16))
    .option('--learning-rate <x>', 'shrinkage', numberOption('--learning-rate', 1e-6, 1))
    .option('--min-samples-leaf <n>', 'minimum rows per leaf', intOption('--min-samples-leaf', 1))
    .option('--subsample <x>', 'row share sampled per tree', numberOption('--subsample', 1e-6, 1))
    .option('--max-bins <n>', 'histogram bins per feature', intOption('--max-bins', 2, 255))
    .option('--test-fraction <x>', 'share of rows held out by the seeded random split', numberOption('--test-fraction', 0.01, 0.9), 0.2)
    .option('--holdout-years <n>', 'most recent distinct years held out by the time-based evaluation', intOption('--holdout-years', 1), 5)
    .option('--from-year <n>', 'train only on rows from this year on', intOption('--from-year'))
    .option('--to-year <n>', 'train only on rows up to this year', intOption('--to-year'))
    .option('--tag <key=value>', 'tag the version (repeatable)', tagOption)
    .option('--json', 'print one JSON object')
    .action(async (opts) => {
      await runCommand('train', opts.json, async () => {
        const { runTrain, describeTrainResult } = await import('../train.js');
        const params = Object.fromEntries(
          Object.entries({
            nEstimators: opts.nEstimators,
            maxDepth: opts.maxDepth,
            learningRate: opts.learningRate,
            minSamplesLeaf: opts.minSamplesLeaf,
            subsample: opts.subsample,
            maxBins: opts.maxBins,
          }).filter(([, v]) => v !== undefined),
        );
        const result = await runTrain({
          data: opts.data,
          registry: opts.registry,
          model: opts.model,
          alias: opts.alias,
          seed: opts.seed,
          params,
          testFraction: opts.testFraction,
          holdoutYears: opts.holdoutYears,
          fromYear: opts.fromYear,
          toYear: opts.toYear,
          tags: opts.tag,
        });
        return { result, human: describeTrainResult };
      });
    });
}
