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
          tempDir: opts.tempDir,
        });
        return { result, human: describeMonitorResult };
      });
    });
}
