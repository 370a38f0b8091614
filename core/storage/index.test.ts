/** openStorage / isRemoteUri / URI parsing, and the lazy loading of the Azure SDK. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors';
import { AzureBlobStorage, isRemoteUri, LocalStorage, openStorage, parseAzureBlobUri } from './index';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '..', '..');

describe('openStorage', () => {
  it('opens local paths and file URIs as LocalStorage', () => {
    expect(openStorage('/tmp/models')).toBeInstanceOf(LocalStorage);
    expect(openStorage('./models')).toBeInstanceOf(LocalStorage);
    expect(openStorage('models')).toBeInstanceOf(LocalStorage);
    const fromUri = openStorage('file:///tmp/models');
    expect(fromUri).toBeInstanceOf(LocalStorage);
    expect((fromUri as LocalStorage).root).toBe(path.resolve('/tmp/models'));
    expect((openStorage('./models') as LocalStorage).root).toBe(path.resolve('models'));
  });

  it('opens Azure Blob, ADLS Gen2 and emulator URIs as AzureBlobStorage without touching the network', () => {
    for (const uri of [
      'https://acct01.blob.core.windows.net/models',
      'https://acct01.dfs.core.windows.net/models/registry',
      'abfss://models@acct01.dfs.core.windows.net/registry',
      'http://127.0.0.1:10000/devstoreaccount1/models',
      'http://localhost:10000/devstoreaccount1/models/x/y',
    ]) {
      const storage = openStorage(uri);
      expect(storage).toBeInstanceOf(AzureBlobStorage);
      expect(storage.uri).toBe(uri);
    }
  });

  it.each([
    's3://bucket/models',
    'gs://bucket/models',
    'https://example.com/x',
    'http://10.1.2.3:10000/devstoreaccount1/models',
    'ftp://host/path',
  ])('rejects %s with a UserError listing the accepted forms', (uri) => {
    const call = (): unknown => openStorage(uri);
    expect(call).toThrow(UserError);
    expect(call).toThrow(/unsupported storage URI/);
    expect(call).toThrow(/a local directory path, file:\/\/\/<absolute path>, https:\/\/<account>\.blob\.core\.windows\.net/);
  });

  it('rejects empty URIs', () => {
    expect(() => openStorage('')).toThrow(UserError);
    expect(() => openStorage('   ')).toThrow(/empty storage URI/);
  });
});

describe('isRemoteUri', () => {
  it.each([
    ['/var/models', false],
    ['./models', false],
    ['models', false],
    ['file:///var/models', false],
    ['C:\\models', false],
    ['https://acct.blob.core.windows.net/models', true],
    ['abfss://models@acct.dfs.core.windows.net/x', true],
    ['http://127.0.0.1:10000/devstoreaccount1/models', true],
    ['s3://bucket', true],
  ])('%s → %s', (uri, remote) => {
    expect(isRemoteUri(uri)).toBe(remote);
  });
});

describe('parseAzureBlobUri', () => {
  it('parses the account, the blob service URL, the container and the prefix', () => {
    expect(parseAzureBlobUri('https://acct01.blob.core.windows.net/models')).toEqual({
      accountName: 'acct01',
      serviceUrl: 'https://acct01.blob.core.windows.net',
      container: 'models',
      prefix: '',
    });
    expect(parseAzureBlobUri('https://acct01.dfs.core.windows.net/logs/predictions/v1/')).toEqual({
      accountName: 'acct01',
      serviceUrl: 'https://acct01.blob.core.windows.net',
      container: 'logs',
      prefix: 'predictions/v1/',
    });
    expect(parseAzureBlobUri('abfss://models@acct01.dfs.core.windows.net/registry')).toEqual({
      accountName: 'acct01',
      serviceUrl: 'https://acct01.blob.core.windows.net',
      container: 'models',
      prefix: 'registry/',
    });
    expect(parseAzureBlobUri('http://127.0.0.1:10000/devstoreaccount1/models/a/b')).toEqual({
      accountName: 'devstoreaccount1',
      serviceUrl: 'http://127.0.0.1:10000/devstoreaccount1',
      container: 'models',
      prefix: 'a/b/',
    });
  });

  it('returns null for URIs that are not Azure storage at all', () => {
    expect(parseAzureBlobUri('https://example.com/models')).toBeNull();
    expect(parseAzureBlobUri('/var/models')).toBeNull();
    expect(parseAzureBlobUri('s3://bucket/x')).toBeNull();
  });

  it.each([
    ['http://acct01.blob.core.windows.net/models', /must use https/],
    ['https://acct01.blob.core.windows.net', /names no container/],
    ['https://acct01.blob.core.windows.net/', /names no container/],
    ['https://acct01.blob.core.windows.net/Models', /not a valid container name/],
    ['https://acct01.blob.core.windows.net/ab', /not a valid container name/],
    ['https://acct01.blob.core.windows.net/a--b', /not a valid container name/],
    ['http://127.0.0.1:10000/', /names no account/],
    ['http://127.0.0.1:10000/devstoreaccount1', /names no container/],
  ])('rejects %s', (uri, message) => {
    expect(() => parseAzureBlobUri(uri)).toThrow(UserError);
    expect(() => parseAzureBlobUri(uri)).toThrow(message);
  });

  it('rejects credentials in the URI without repeating them', () => {
    for (const uri of [
      'https://acct01.blob.core.windows.net/models?sv=2024&sig=SECRETSIG',
      'https://user:SECRETPW@acct01.blob.core.windows.net/models',
    ]) {
      let message = '';
      try {
        parseAzureBlobUri(uri);
      } catch (err) {
        expect(err).toBeInstanceOf(UserError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/must not (have a query|contain credentials)/);
      expect(message).not.toContain('SECRET');
    }
  });
});

describe('lazy loading of the Azure SDK', () => {
  it('a process that only uses local storage never loads @azure modules', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lazy-sdk-'));
    try {
      const { stdout } = await run(
        path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
        [path.join(REPO_ROOT, 'test', 'support', 'lazySdkProbe.ts'), dir],
        { cwd: REPO_ROOT, timeout: 60_000 },
      );
      const counts = JSON.parse(stdout.trim()) as { afterLocal: number; afterOpen: number; afterRemote: number };
      expect(counts.afterLocal).toBe(0);
      expect(counts.afterOpen).toBe(0);
      // The probe itself works: touching the blob backend does load the SDK.
      expect(counts.afterRemote).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
