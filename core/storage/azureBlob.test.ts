/** AzureBlobStorage specifics against Azurite: prefixes, credentials, SAS, missing containers, readable errors. */
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobServiceClient,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { UserError } from '../errors';
import { createTestContainer, type TestContainer } from '../../test/support/blob';
import { AzureBlobStorage } from './azureBlob';
import { openStorage } from './index';

const ACCOUNT = 'devstoreaccount1';

function accountKey(connectionString: string): string {
  const match = /AccountKey=([^;]+)/.exec(connectionString);
  if (!match?.[1]) throw new Error('test connection string has no AccountKey');
  return match[1];
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err as Error,
  );
}

describe('AzureBlobStorage on Azurite', () => {
  let container: TestContainer;

  beforeEach(async () => {
    container = await createTestContainer();
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await container.dispose();
  });

  it('keeps keys under the URI prefix and strips it when listing', async () => {
    const nested = openStorage(`${container.uri}/teams/energy`);
    const whole = openStorage(container.uri);
    await nested.put('models/a.json', '{}');
    await whole.put('outside.txt', 'x');
    expect((await nested.list('')).map((o) => o.key)).toEqual(['models/a.json']);
    expect((await whole.list('')).map((o) => o.key)).toEqual(['outside.txt', 'teams/energy/models/a.json']);
    expect((await whole.get('teams/energy/models/a.json')).toString()).toBe('{}');
    await expect(nested.exists('outside.txt')).resolves.toBe(false);
  });

  it('sets a content type from the key, or the given one', async () => {
    const storage = openStorage(container.uri);
    await storage.put('card.json', '{}');
    await storage.put('data.bin', 'x', { contentType: 'application/x-custom' });
    const service = BlobServiceClient.fromConnectionString(container.connectionString);
    const blobs = service.getContainerClient(container.name);
    expect((await blobs.getBlobClient('card.json').getProperties()).contentType).toBe('application/json');
    expect((await blobs.getBlobClient('data.bin').getProperties()).contentType).toBe('application/x-custom');
  });

  it('works with a SAS connection string', async () => {
    const key = new StorageSharedKeyCredential(ACCOUNT, accountKey(container.connectionString));
    const sas = generateAccountSASQueryParameters(
      {
        expiresOn: new Date(Date.now() + 3_600_000),
        permissions: AccountSASPermissions.parse('rwdlc'),
        resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
        services: AccountSASServices.parse('b').toString(),
      },
      key,
    ).toString();
    vi.stubEnv('AZURE_STORAGE_CONNECTION_STRING', `BlobEndpoint=${inject('azuriteBlobEndpoint')};SharedAccessSignature=${sas}`);
    const storage = openStorage(container.uri);
    await storage.check();
    await storage.put('sas/x.txt', 'via sas', { ifNoneMatch: '*' });
    expect((await storage.get('sas/x.txt')).toString()).toBe('via sas');
  });

  it('check() names a missing container', async () => {
    const uri = `${inject('azuriteBlobEndpoint')}/missing-${container.name}`;
    const err = await failure(openStorage(uri).check());
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(`container 'missing-${container.name}' does not exist in storage account '${ACCOUNT}' (${uri})`);
    const readErr = await failure(openStorage(uri).get('x.json'));
    expect(readErr).toBeInstanceOf(UserError);
  });

  it('refuses a connection string for another account', async () => {
    const uri = `http://127.0.0.1:${inject('azuritePort')}/otheraccount/models`;
    const err = await failure(openStorage(uri).check());
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      `AZURE_STORAGE_CONNECTION_STRING is for storage account '${ACCOUNT}', but ${uri} is in account 'otheraccount'`,
    );
  });

  it('reports a wrong account key as an access error without leaking the key', async () => {
    const wrongKey = Buffer.alloc(64, 7).toString('base64');
    vi.stubEnv('AZURE_STORAGE_CONNECTION_STRING', container.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`));
    const err = await failure(openStorage(container.uri).check());
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(new RegExp(`^access to ${container.uri.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} denied \\(403`));
    expect(err.message).not.toContain(wrongKey);
  });

  it('reports an invalid connection string without repeating it', async () => {
    vi.stubEnv('AZURE_STORAGE_CONNECTION_STRING', 'AccountName=devstoreaccount1;SECRET=nonsense');
    const err = await failure(openStorage(container.uri).exists('x'));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^AZURE_STORAGE_CONNECTION_STRING is not a valid storage connection string/);
    expect(err.message).not.toContain('nonsense');
  });

  it('asks for a connection string for plain-http emulator URIs', async () => {
    vi.stubEnv('AZURE_STORAGE_CONNECTION_STRING', '');
    const err = await failure(openStorage(container.uri).get('x'));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain('set AZURE_STORAGE_CONNECTION_STRING');
  });

  it('fails fast with a UserError when the endpoint refuses connections', async () => {
    const closed = 'http://127.0.0.1:9/devstoreaccount1/models';
    const storage = new AzureBlobStorage(closed);
    for (const call of [() => storage.check(), () => storage.put('a', 'b'), () => storage.list('')]) {
      const started = Date.now();
      const err = await failure(call());
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toBe(`cannot reach ${closed}: connection refused`);
    }
  });
});

describe('AzureBlobStorage on a cloud URI that cannot be used here', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  // A random account name: its host name does not resolve (or, offline, no DNS answers at all).
  const account = `mlopsnone${Date.now().toString(36)}`.slice(0, 24);
  const uri = `https://${account}.blob.core.windows.net/models`;

  it('with an account key: check() fails within seconds with one line naming the URI', async () => {
    vi.stubEnv(
      'AZURE_STORAGE_CONNECTION_STRING',
      `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${Buffer.alloc(64, 1).toString('base64')};EndpointSuffix=core.windows.net`,
    );
    const started = Date.now();
    const err = await failure(openStorage(uri).check());
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(new RegExp(`^cannot reach ${uri.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(err.message).not.toContain('\n');
  }, 20_000);

  it('without a connection string: DefaultAzureCredential fails with a readable UserError', async () => {
    vi.stubEnv('AZURE_STORAGE_CONNECTION_STRING', '');
    const started = Date.now();
    const err = await failure(openStorage(uri).check());
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^(no usable Azure credential for|cannot reach) https:\/\/mlopsnone/);
    expect(err.message).not.toContain('\n');
  }, 30_000);
});
