/**
 * `mlops serve` process lifecycle: build the config, start the server, and on SIGTERM/SIGINT (Container Apps
 * sends SIGTERM on scale-in and revision changes) stop accepting, finish in-flight requests, flush the prediction
 * log and exit within the grace period.
 */
import { resolveServeConfig, type RawServeOptions } from './config';
import { ScoringServer } from './server';

export async function runServe(raw: RawServeOptions): Promise<void> {
  const config = resolveServeConfig(raw);
  const server = new ScoringServer(config);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      server.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    server.logger.info({ signal, graceSeconds: config.shutdownGraceSeconds }, 'shutting down: draining requests and flushing the prediction log');
    // Hard stop just inside the grace period, in case a dependency hangs.
    const hard = setTimeout(() => {
      server.logger.error('shutdown did not finish within the grace period; exiting');
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000);
    hard.unref();
    server.close().then(
      () => {
        server.logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        server.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await server.start();
  } catch (err) {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    throw err;
  }
}
