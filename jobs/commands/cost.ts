import { Command, Option } from 'commander';
import { intOption, numberOption, runCommand } from '../cliSupport';

export function defineCost(program: Command): void {
  program
    .command('cost')
    .description("monthly cost estimate of a stack from its Pulumi.<stack>.yaml, with measured utilisation from the prediction logs and the scale-to-zero saving")
    .requiredOption('--stack <name>', 'stack whose Pulumi.<stack>.yaml is read (e.g. dev, prod)')
    .addOption(new Option('--project-dir <dir>', 'directory holding Pulumi.<stack>.yaml').default(process.cwd(), 'the current directory'))
    .addOption(new Option('--logs <uri>', 'prediction log storage (predictions/date=YYYY-MM-DD/*.jsonl): measure utilisation instead of assuming it'))
    .option('--since <YYYY-MM-DD>', 'with --logs: read only partitions on or after this day')
    .option('--prices <file>', 'JSON price table merged over jobs/cost/prices.json (same shape, partial allowed)')
    .option('--utilisation <share>', 'without --logs: assumed share of the month the endpoint is busy', numberOption('--utilisation', 0, 1))
    .option('--busy-blocks-per-day <n>', 'without --logs: busy blocks per day (each one a cold start when scaling to zero)', numberOption('--busy-blocks-per-day', 0))
    .option('--requests-per-month <n>', 'without --logs: requests per month', intOption('--requests-per-month', 0))
    .option('--job-minutes <n>', 'length of every job run (default: --job-timeout-share of each job timeout)', numberOption('--job-minutes', 0))
    .option('--job-timeout-share <x>', 'job run length as a share of its timeout', numberOption('--job-timeout-share', 0, 1))
    .option('--cluster-start-minutes <n>', 'job cluster start-up billed per run', numberOption('--cluster-start-minutes', 0))
    .option('--window-seconds <s>', 'scale-down window (default: container 300, databricks 1800)', numberOption('--window-seconds', 1))
    .option('--cold-start-seconds <s>', 'cold-start duration (default: container 20, databricks 300)', numberOption('--cold-start-seconds', 0))
    .option('--json', 'print one JSON object')
    .action(async (opts) => {
      await runCommand('cost', opts.json, async () => {
        // Loaded on use: other commands must not pay for croner and the price table.
        const { runCost, describeCostResult } = require('../cost/run') as typeof import('../cost/run');
        const result = await runCost({
          stack: opts.stack,
          projectDir: opts.projectDir,
          logs: opts.logs,
          since: opts.since,
          prices: opts.prices,
          utilisation: opts.utilisation,
          busyBlocksPerDay: opts.busyBlocksPerDay,
          requestsPerMonth: opts.requestsPerMonth,
          jobMinutes: opts.jobMinutes,
          jobTimeoutShare: opts.jobTimeoutShare,
          clusterStartMinutes: opts.clusterStartMinutes,
          windowSeconds: opts.windowSeconds,
          coldStartSeconds: opts.coldStartSeconds,
        });
        return { result, human: describeCostResult };
      });
    });
}
