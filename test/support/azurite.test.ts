/** The Azurite harness itself: outages with stop()/restart(), in-memory vs persistent data. */
import net from 'node:net';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../../core/errors';
import { openStorage } from '../../core/storage/index';
import { startAzurite, type AzuriteHandle } from './azurite';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function withContainer(azurite: AzuriteHandle, name: string): Promise<string> {
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(name).create();
  vi.stubEnv('AZURE_STORAGE_CONNECTION_STRING', azurite.connectionString);
  return `${azurite.blobEndpoint}/${name}`;
}

describe('startAzurite', () => {
  const started: AzuriteHandle[] = [];
  afterEach(async () => {
    vi.unstubAllEnvs();
    await Promise.all(started.splice(0).map((a) => a.dispose()));
  });

  it('simulates an outage: stop() closes the port, restart() brings the same port back (persistent keeps data)', async () => {
    const azurite = await startAzurite({ persistent: true });
    started.push(azurite);
    expect(azurite.accountName).toBe('devstoreaccount1');
    expect(azurite.blobEndpoint).toBe(`http://127.0.0.1:${azurite.port}/devstoreaccount1`);
    const uri = await withContainer(azurite, 'outage');
    await openStorage(uri).put('models/aliases.json', '{"champion":1}');

    await azurite.stop();
    expect(azurite.running).toBe(false);
    expect(await portOpen(azurite.port)).toBe(false);
    const err = await openStorage(uri).check().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(UserError);
    expect(err?.message).toContain('connection refused');
    await azurite.stop(); // idempotent

    await azurite.restart();
    expect(azurite.running).toBe(true);
    expect(await portOpen(azurite.port)).toBe(true);
    expect((await openStorage(uri).get('models/aliases.json')).toString()).toBe('{"champion":1}');
  }, 60_000);

  it('loses everything on restart() in the default in-memory mode', async () => {
    const azurite = await startAzurite();
    started.push(azurite);
    expect(azurite.persistent).toBe(false);
    const uri = await withContainer(azurite, 'volatile');
    await openStorage(uri).put('x.txt', 'x');
    await azurite.restart();
    await expect(openStorage(uri).check()).rejects.toThrow(/container 'volatile' does not exist/);
  }, 60_000);

  it('fails with the reason when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      await expect(startAzurite({ port, startTimeoutMs: 15_000 })).rejects.toThrow(/Azurite exited before it answered.*EADDRINUSE/s);
    } finally {
      blocker.close();
    }
  }, 30_000);
});
