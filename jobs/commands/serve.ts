import { Command, Option } from 'commander';
import { EXIT, intOption, numberOption } from '../cliSupport';

/** `mlops serve`: every flag is also an environment variable (the Container App sets those). */
export function defineServe(program: Command): void {
  program
    .command('serve')
    .description('serve registry aliases over an MLflow-compatible scoring API with canary routing, shadow scoring and a prediction log')
    .addOption(new Option('--registry <uri>', 'model registry: a local directory or https://<account>.blob.core.windows.net/<container>[/<prefix>]').env('MLOPS_REGISTRY').makeOptionMandatory())
    .addOption(new Option('--model <name>', 'registered model name').env('MLOPS_MODEL').default('renewable_energy_predictor'))
    .addOption(new Option('--host <host>', 'address to listen on').env('MLOPS_HOST').default('0.0.0.0'))
    .addOption(new Option('--port <n>', 'port to listen on (0: any free port)').env('MLOPS_PORT').default(8080).argParser(intOption('--port', 0, 65535)))
    .addOption(new Option('--routes <spec>', 'alias=weight pairs, integer weights summing to 100').env('MLOPS_ROUTES').default('champion=100'))
    .addOption(new Option('--shadow <alias>', 'alias scored on every request in the background, logged, never returned').env('MLOPS_SHADOW'))
    .addOption(new Option('--logs <uri>', 'prediction log storage (local directory or Azure Blob URI); omitted: no prediction log').env('MLOPS_LOGS'))
    .addOption(new Option('--api-keys <keys>', 'comma-separated API keys; when set (or a key file), scoring needs Authorization: Bearer <key>').env('MLOPS_API_KEYS'))
    .addOption(new Option('--api-keys-file <path>', 'file with one API key per line (e.g. a mounted Key Vault secret)').env('MLOPS_API_KEYS_FILE'))
    .addOption(new Option('--reload-interval-seconds <n>', 'poll the registry aliases this often; 0 disables hot reload').env('MLOPS_RELOAD_INTERVAL_SECONDS').default(30).argParser(intOption('--reload-interval-seconds', 0)))
    .addOption(new Option('--rate-limit-rps <x>', 'token-bucket rate per API key (per client address without keys); unset: no limit').env('MLOPS_RATE_LIMIT_RPS').argParser(numberOption('--rate-limit-rps', 0.001)))
    .addOption(new Option('--rate-limit-burst <n>', 'token-bucket size (default: one second of --rate-limit-rps)').env('MLOPS_RATE_LIMIT_BURST').argParser(intOption('--rate-limit-burst', 1)))
    .addOption(new Option('--max-rows <n>', 'most rows accepted per request (more: 413)').env('MLOPS_MAX_ROWS').default(10_000).argParser(intOption('--max-rows', 1)))
    .addOption(new Option('--body-limit-bytes <n>', 'largest request body (default 16 MB, as Databricks Model Serving)').env('MLOPS_BODY_LIMIT_BYTES').default(16 * 1024 * 1024).argParser(intOption('--body-limit-bytes', 1024)))
    .addOption(new Option('--log-spill-dir <path>', 'local directory for prediction records while the log storage is unavailable').env('MLOPS_LOG_SPILL_DIR'))
    .addOption(new Option('--log-flush-seconds <x>', 'write queued prediction records at least this often').env('MLOPS_LOG_FLUSH_SECONDS').default(5).argParser(numberOption('--log-flush-seconds', 0.05, 3600)))
    .addOption(new Option('--log-batch-records <n>', 'records per written log object; a full batch is written at once').env('MLOPS_LOG_BATCH_RECORDS').default(10_000).argParser(intOption('--log-batch-records', 1)))
    .addOption(new Option('--log-queue-records <n>', 'records kept in memory at most; beyond, batches spill to disk').env('MLOPS_LOG_QUEUE_RECORDS').default(100_000).argParser(intOption('--log-queue-records', 1)))
    .addOption(new Option('--shutdown-grace-seconds <n>', 'time to drain and flush after SIGTERM (keep below the platform grace period)').env('MLOPS_SHUTDOWN_GRACE_SECONDS').default(25).argParser(intOption('--shutdown-grace-seconds', 1, 3600)))
    .addOption(new Option('--trust-proxy', 'take the client address from X-Forwarded-For (behind an ingress)').env('MLOPS_TRUST_PROXY'))
    .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent').env('MLOPS_LOG_LEVEL').default('info'))
    .action(async (opts) => {
      const { runServe } = await import('../../serving/main.js');
      try {
        await runServe(opts);
      } catch (err) {
        const userError = (err as Error)?.name === 'UserError';
        process.stderr.write(`mlops serve: error: ${String((err as Error)?.message ?? err).replace(/\s*\n\s*/g, ' ')}\n`);
        if (!userError) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
        process.exitCode = userError ? EXIT.usage : EXIT.internal;
      }
    });
}
