import { Command, Option } from 'commander';
import { intOption, runCommand } from '../cliSupport';

export function defineStart(program: Command): void {
  program
    .command('start')
    .description('run the whole loop locally: train if the registry is empty, serve, and run score/monitor/retrain on the stack schedules')
    .addOption(new Option('--home <dir>', 'where registry, logs, scores, reports and data live').env('MLOPS_HOME').default('.mlops'))
    .option('--data <uri>', "training data: CSV/Parquet path or URI, or 'synthetic' (default: the official OWID CSV, downloaded once and cached)")
    .addOption(new Option('--data-url <url>', 'where to download the OWID CSV from').env('MLOPS_DATA_URL'))
    .option('--stack <name>', 'stack whose routes, shadow and schedules are used', 'dev')
    .addOption(new Option('--host <host>', 'listen address').env('MLOPS_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <n>', 'listen port (0 = any free port)').env('MLOPS_PORT').default(8080).argParser(intOption('--port', 0, 65535)))
    .option('--once', 'run one full loop now (traffic, score, monitor, retrain, promote), print a summary and exit')
    .option('--inject-drift <feature=sigma>', "shift traffic features by sigma reference standard deviations (repeatable; 'all=1' for every feature)", (v: string, prev?: Record<string, number>) => {
      const { parseDriftSpec } = require('../local') as typeof import('../local');
      return parseDriftSpec(v, prev);
    })
    .option('--traffic-rows <n>', 'rows of traffic sent by --once', intOption('--traffic-rows', 10, 1_000_000), 2000)
    .option('--seed <n>', 'seed for the synthetic data, training and traffic', intOption('--seed', 0), 42)
    .option('--json', 'with --once: print the summary as one JSON object')
    .action(async (opts) => {
      const local = require('../local') as typeof import('../local');
      const base = {
        home: opts.home,
        data: opts.data,
        dataUrl: opts.dataUrl,
        stack: opts.stack,
        host: opts.host,
        port: opts.port,
        once: Boolean(opts.once),
        injectDrift: opts.injectDrift ?? {},
        trafficRows: opts.trafficRows,
        seed: opts.seed,
        say: (line: string) => process.stderr.write(line + '\n'),
      };
      if (!opts.once) {
        await runCommand('start', false, async () => {
          await local.runLocalEnvironment(base);
          return { result: null, human: () => ['stopped'] };
        });
        return;
      }
      await runCommand('start', opts.json, async () => {
        const summary = await local.runOnce(base);
        return {
          result: summary,
          human: (s) => [
            `loop finished (${s.data.synthetic ? 'SYNTHETIC data' : s.data.source})`,
            `  traffic   ${s.traffic.rows} rows, ${s.traffic.requests} requests: ${Object.entries(s.traffic.served).map(([k, v]) => `${k} ${v}`).join(', ')}`,
            `  score     ${s.score?.scored ?? 0} scored, ${s.score?.rejects ?? 0} rejected`,
            `  monitor   ${s.monitor.status}; drifted: ${s.monitor.drift_features.join(', ') || 'none'}; report ${s.monitor.report}`,
            `  retrain   ${s.retrain.retrained ? `candidate version ${s.retrain.candidate_version}` : s.retrain.reason}`,
            `  promote   ${s.promote ? s.promote.decision : 'not run'}`,
            `  serving   ${s.served_before} → ${s.served_after}`,
          ],
        };
      });
    });
}
