import { Command, Option } from 'commander';
import { intOption, numberOption, runCommand } from '../cliSupport';

export function defineMonitor(program: Command): void {
  program
    .command('monitor')
    .description('data drift of the production logs vs the reference profile, service checks (latency SLA, errors, routes), report, decision and alert')
    .addOption(new Option('--registry <uri>', 'model registry: a local directory or https://<account>.blob.core.windows.net/<container>[/<prefix>]').env('MLOPS_REGISTRY').makeOptionMandatory())
    .addOption(new Option('--logs <uri>', 'prediction log storage holding predictions/date=YYYY-MM-DD/*.jsonl').env('MLOPS_LOGS').makeOptionMandatory())
    .addOption(new Option('--report <uri>', 'report storage: writes monitor/<run id>/{report.json,report.html,decision.json}, latest-decision.json and audit/').env('MLOPS_REPORTS').makeOptionMandatory())
    .addOption(new Option('--model <name>', 'registered model name').env('MLOPS_MODEL').default('renewable_energy_predictor'))
    .option('--alias <alias>', "alias (or version number) whose current version is monitored", 'champion')
    .option('--lookback-days <n>', 'days in the window, ending with --end-date', intOption('--lookback-days', 1, 366), 7)
    .option('--end-date <YYYY-MM-DD>', 'last day of the window (UTC, inclusive; default today)')
    .addOption(new Option('--method <method>', 'drift test per column (auto = Evidently: KS for reference n ≤ 1000, normed Wasserstein above)').choices(['auto', 'ks', 'psi', 'wasserstein', 'jensenshannon']).default('auto'))
    .option('--threshold <p>', 'p-value threshold of p-value tests (drift when p ≤ threshold)', numberOption('--threshold', 0, 1), 0.05)
    .option('--distance-threshold <x>', "threshold of distance tests (PSI, Wasserstein, JS; default the test's own 0.1)", numberOption('--distance-threshold', 0))
    .addOption(new Option('--correction <kind>', 'multiple-testing correction of p-values across the columns').choices(['none', 'bonferroni', 'bh']).default('none'))
    .option('--min-effect <sigma>', 'a p-value drift counts only if |mean shift| or normed Wasserstein ≥ this (reference std units; 0 disables)', numberOption('--min-effect', 0), 0.1)
    .option('--null-rate-tolerance <x>', 'absolute null-rate change that counts as drift of a column', numberOption('--null-rate-tolerance', 0, 1), 0.05)
    .option('--retrain-share <x>', 'should_retrain when drifted features / 6 ≥ this', numberOption('--retrain-share', 0, 1), 0.3)
    .option('--min-rows <n>', 'fewer production rows → status insufficient_data (no drift verdict)', intOption('--min-rows', 1), 200)
    .option('--sla-p95-ms <ms>', 'request latency p95 SLA', numberOption('--sla-p95-ms', 0), 200)
    .option('--sla-p99-ms <ms>', 'optional request latency p99 SLA', numberOption('--sla-p99-ms', 0))
    .option('--max-error-rate <x>', 'largest acceptable share of failed requests', numberOption('--max-error-rate', 0, 1), 0.01)
    .option('--labels <uri>', 'delayed ground truth: CSV/Parquet with client_request_id [, row_index] and the actual value, joined to the logged predictions')
    .option('--label-column <name>', 'labels column with the actual value', 'renewables_share_energy')
    .option('--min-r2 <x>', 'quality threshold (default: the version card holdout R² − --r2-tolerance)', numberOption('--min-r2'))
    .option('--max-rmse <x>', 'quality threshold (default: the version card holdout RMSE × (1 + --rmse-tolerance))', numberOption('--max-rmse', 0))
    .option('--r2-tolerance <x>', 'absolute R² drop allowed below the holdout R²', numberOption('--r2-tolerance', 0), 0.05)
    .option('--rmse-tolerance <x>', 'relative RMSE increase allowed above the holdout RMSE', numberOption('--rmse-tolerance', 0), 0.2)
    .option('--min-labels <n>', 'labelled rows a daily window needs to be judged', intOption('--min-labels', 2), 30)
    .option('--degradation-k <k>', 'PERFORMANCE_DEGRADATION when thresholds are violated in k …', intOption('--degradation-k', 1), 2)
    .option('--degradation-n <n>', '… of the last n judged daily windows', intOption('--degradation-n', 1), 3)
    .option('--challenger-alias <alias>', 'alias compared with champion in the canary verdict', 'challenger')
    .option('--bootstrap <n>', 'bootstrap resamples of the canary verdict', intOption('--bootstrap', 100, 1_000_000), 2000)
    .option('--confidence <x>', 'confidence level of the canary interval', numberOption('--confidence', 0.5, 1), 0.95)
    .option('--seed <n>', 'bootstrap seed', intOption('--seed', 0), 42)
    .option('--canary-margin <rmse>', 'RMSE improvement (target units) the whole interval must exceed to promote', numberOption('--canary-margin', 0), 0)
    .option('--min-canary-labels <n>', 'labelled rows each route needs before a canary verdict', intOption('--min-canary-labels', 2), 50)
    .option('--run-id <id>', 'run id naming monitor/<run id>/ (default: <end date>-<time>-<random>)')
    .option('--temp-dir <dir>', 'parent of the scratch directory (downloaded logs, DuckDB spill; default $TMPDIR)')
    .option('--json', 'print one JSON object')
    .action(async (opts) => {
      await runCommand('monitor', opts.json, async () => {
        // Loaded on use: other commands must not pay for DuckDB and vega.
        const { runMonitor, describeMonitorResult } = require('../monitor/run') as typeof import('../monitor/run');
        const result = await runMonitor({
          registry: opts.registry,
          logs: opts.logs,
          report: opts.report,
          model: opts.model,
          alias: opts.alias,
          lookbackDays: opts.lookbackDays,
          endDate: opts.endDate,
          method: opts.method,
          threshold: opts.threshold,
          distanceThreshold: opts.distanceThreshold,
          correction: opts.correction,
          minEffect: opts.minEffect,
          nullRateTolerance: opts.nullRateTolerance,
          retrainShare: opts.retrainShare,
          minRows: opts.minRows,
          slaP95Ms: opts.slaP95Ms,
          slaP99Ms: opts.slaP99Ms,
          maxErrorRate: opts.maxErrorRate,
          runId: opts.runId,
          labels: opts.labels,
          labelColumn: opts.labelColumn,
          minR2: opts.minR2,
          maxRmse: opts.maxRmse,
          r2Tolerance: opts.r2Tolerance,
          rmseTolerance: opts.rmseTolerance,
          minLabels: opts.minLabels,
          degradationK: opts.degradationK,
          degradationN: opts.degradationN,
          challengerAlias: opts.challengerAlias,
          bootstrapResamples: opts.bootstrap,
          confidence: opts.confidence,
          seed: opts.seed,
          canaryMargin: opts.canaryMargin,
          minCanaryLabels: opts.minCanaryLabels,
          tempDir: opts.tempDir,
        });
        return { result, human: describeMonitorResult };
      });
    });
}
