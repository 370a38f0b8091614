/**
 * Per-test Blob containers on the shared Azurite started by `azuriteGlobalSetup.ts`.
 *
 * `createTestContainer()` makes a uniquely named container and returns a storage URI for it
 * (`http://127.0.0.1:<port>/devstoreaccount1/<container>[/<prefix>]`, accepted by `openStorage`). It also sets
 * AZURE_STORAGE_CONNECTION_STRING in the current test process (each test file runs in its own process), because
 * that is how the storage layer finds credentials; pass `azuriteEnv()` to child processes.
 */
import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { inject } from 'vitest';

export interface TestContainer {
  /** Container name (3–63 lowercase characters). */
  name: string;
  /** Storage URI for the container (plus the prefix when one was asked for). */
  uri: string;
  connectionString: string;
  /** Deletes the container and everything in it. */
  dispose(): Promise<void>;
}

export function azuriteConnectionString(): string {
  const connectionString = inject('azuriteConnectionString');
  if (!connectionString) {
    throw new Error('Azurite is not running: test/support/azuriteGlobalSetup.ts must be listed in vitest globalSetup');
  }
  return connectionString;
}

/** Environment for child processes that talk to the test Azurite. */
export function azuriteEnv(): { AZURE_STORAGE_CONNECTION_STRING: string } {
  return { AZURE_STORAGE_CONNECTION_STRING: azuriteConnectionString() };
}

/** Sets AZURE_STORAGE_CONNECTION_STRING for this test process to the test Azurite. */
export function useAzuriteCredentials(): void {
  process.env.AZURE_STORAGE_CONNECTION_STRING = azuriteConnectionString();
}

export async function createTestContainer(opts: { prefix?: string } = {}): Promise<TestContainer> {
  const connectionString = azuriteConnectionString();
  const blobEndpoint = inject('azuriteBlobEndpoint');
  useAzuriteCredentials();
  const service = BlobServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 2 } });
  const name = `t-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
  const container = service.getContainerClient(name);
  await container.create();
  const prefix = opts.prefix ? `/${opts.prefix.replace(/^\/+|\/+$/g, '')}` : '';
  return {
    name,
    uri: `${blobEndpoint}/${name}${prefix}`,
    connectionString,
    async dispose() {
      await container.deleteIfExists();
    },
  };
}
