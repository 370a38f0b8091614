/**
 * vitest globalSetup: one Azurite blob emulator for the whole test run.
 *
 * Tests read its coordinates with `inject('azuriteConnectionString')` / `inject('azuriteBlobEndpoint')`
 * (or through `test/support/blob.ts`). AZURE_STORAGE_CONNECTION_STRING is deliberately NOT set here for every test
 * process: tests of local-only code and of the credential chain must not see it. `test/support/blob.ts` sets it
 * inside the test process that asks for an Azurite container, and `azuriteEnv()` gives it to child processes.
 *
 * When Azurite cannot start the run fails with the reason; Blob tests are never skipped silently.
 */
import type { TestProject } from 'vitest/node';
import { startAzurite, type AzuriteHandle } from './azurite';

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
    azuriteBlobEndpoint: string;
    azuritePort: number;
  }
}

let azurite: AzuriteHandle | null = null;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  try {
    azurite = await startAzurite();
  } catch (err) {
    throw new Error(`test setup: could not start the Azurite blob emulator: ${(err as Error).message}`);
  }
  project.provide('azuriteConnectionString', azurite.connectionString);
  project.provide('azuriteBlobEndpoint', azurite.blobEndpoint);
  project.provide('azuritePort', azurite.port);
  return async () => {
    await azurite?.dispose();
    azurite = null;
  };
}
