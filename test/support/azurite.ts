/**
 * Starts the real Azurite blob emulator (npm `azurite`) as a child process for tests.
 *
 * The process runs in its own process group (detached) so that `stop()` can kill Azurite together with anything
 * it spawned. `stop()` and `restart()` wait until the port is really closed / answering again, so tests can use them
 * to simulate a storage outage and its recovery.
 *
 * Data survives `restart()` only with `persistent: true` (Azurite then keeps its data in a temporary `--location`
 * directory that `dispose()` removes). By default Azurite runs with `--inMemoryPersistence`: a restart starts empty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Azurite's well-known development account. Its key is public (published in Azurite's documentation). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const HOST = '127.0.0.1';
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const AZURITE_BIN = path.join(REPO_ROOT, 'node_modules', '.bin', 'azurite-blob');

export interface StartAzuriteOptions {
  /** Port to listen on; a free port is picked when omitted. */
  port?: number;
  /** Keep data on disk in a temporary directory so that `restart()` keeps it (default: in memory, lost on restart). */
  persistent?: boolean;
  /** How long to wait for Azurite to answer (default 30 s). */
  startTimeoutMs?: number;
}

export interface AzuriteHandle {
  readonly port: number;
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  readonly blobEndpoint: string;
  /** Connection string for the dev account (public dev key); never a real secret. */
  readonly connectionString: string;
  readonly accountName: typeof AZURITE_ACCOUNT;
  /** Whether data survives `restart()`. */
  readonly persistent: boolean;
  /** True while the Azurite process is running. */
  readonly running: boolean;
  /** Kills the process group and waits until the port is closed. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops (if running) and starts again on the same port; resolves once Azurite answers.
   * In-memory mode (the default) loses all data; `persistent: true` keeps it.
   */
  restart(): Promise<void>;
  /** `stop()` and remove the temporary data directory of persistent mode. */
  dispose(): Promise<void>;
}

export async function startAzurite(opts: StartAzuriteOptions = {}): Promise<AzuriteHandle> {
  const persistent = opts.persistent ?? false;
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const location = persistent ? mkdtempSync(path.join(os.tmpdir(), 'azurite-')) : null;

  let port = opts.port ?? (await freePort());
  let child: ChildProcess | null = null;

  const onExit = (): void => {
    // Last resort when the test runner exits without teardown: do not leave Azurite running.
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (location) rmSync(location, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  const launch = async (): Promise<void> => {
    child = await spawnAzurite(port, location, startTimeoutMs);
  };

  try {
    if (opts.port !== undefined) {
      await launch();
    } else {
      // The free port can be taken between probing and binding; try a few.
      for (let attempt = 1; ; attempt++) {
        try {
          await launch();
          break;
        } catch (err) {
          if (attempt >= 3 || !String((err as Error).message).includes('EADDRINUSE')) throw err;
          port = await freePort();
        }
      }
    }
  } catch (err) {
    process.off('exit', onExit);
    if (location) rmSync(location, { recursive: true, force: true });
    throw err;
  }

  const stop = async (): Promise<void> => {
    const current = child;
    child = null;
    if (current) await killGroup(current);
    await waitForPortClosed(port, 10_000);
  };

  const blobEndpoint = `http://${HOST}:${port}/${AZURITE_ACCOUNT}`;
  return {
    port,
    blobEndpoint,
    connectionString: azuriteConnectionString(blobEndpoint),
    accountName: AZURITE_ACCOUNT,
    persistent,
    get running() {
      return child !== null;
    },
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async dispose() {
      await stop();
      process.off('exit', onExit);
      if (location) rmSync(location, { recursive: true, force: true });
    },
  };
}

export function azuriteConnectionString(blobEndpoint: string): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_ACCOUNT_KEY};` +
    `BlobEndpoint=${blobEndpoint};`
  );
}

async function spawnAzurite(port: number, location: string | null, timeoutMs: number): Promise<ChildProcess> {
  const args = [
    AZURITE_BIN,
    ...(location ? ['--location', location] : ['--inMemoryPersistence']),
    '--silent',
    '--disableTelemetry',
    '--blobHost',
    HOST,
    '--blobPort',
    String(port),
    '--skipApiVersionCheck',
  ];
  const child = spawn(process.execPath, args, {
    cwd: location ?? os.tmpdir(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Keep the last few KB of output to explain a failed start.
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run ${AZURITE_BIN}: ${err.message}`)));
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `Azurite exited before it answered on ${HOST}:${port} (code ${code}, signal ${signal}): ${output.trim() || '(no output)'}`,
        ),
      ),
    );
  });
  exited.catch(() => undefined);

  try {
    await Promise.race([waitForHttp(port, timeoutMs, () => output), exited]);
  } catch (err) {
    await killGroup(child);
    throw err;
  }
  // Do not keep the test runner alive because of Azurite's pipes; the handle is stopped explicitly.
  child.stdout?.removeListener('data', collect);
  child.stderr?.removeListener('data', collect);
  child.stdout?.resume();
  child.stderr?.resume();
  child.unref();
  (child.stdout as net.Socket | null)?.unref?.();
  (child.stderr as net.Socket | null)?.unref?.();
  return child;
}

async function killGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // the group is already gone
    }
  };
  signal('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), delay(5_000).then(() => true)]);
  if (timedOut) {
    signal('SIGKILL');
    await exited;
  }
}

/** Resolves once an HTTP request to Azurite gets any response (Azurite answers 4xx to unauthenticated requests). */
async function waitForHttp(port: number, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await httpAnswers(port)) return;
    if (Date.now() > deadline) {
      throw new Error(`Azurite did not answer on ${HOST}:${port} within ${timeoutMs} ms: ${output().trim() || '(no output)'}`);
    }
    await delay(100);
  }
}

function httpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: `/${AZURITE_ACCOUNT}?comp=list`, timeout: 1_000, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function waitForPortClosed(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await portAcceptsConnections(port)) {
    if (Date.now() > deadline) throw new Error(`port ${HOST}:${port} still accepts connections after stopping Azurite`);
    await delay(50);
  }
}

function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
