/**
 * Opens a Storage by URI: local directories (plain paths or `file://`) and Azure Blob / ADLS Gen2 containers.
 * Loading this module does not load the Azure SDK; the blob backend imports it on first use.
 */
import { mkdir } from 'node:fs/promises';
import { UserError } from '../errors';
import { AZURE_URI_FORMS, AzureBlobStorage, parseAzureBlobUri } from './azureBlob';
import { LocalStorage } from './local';
import type { Storage } from './types';

export type { ObjectInfo, PutOptions, Storage } from './types';
export { AzureBlobStorage, parseAzureBlobUri, type AzureBlobLocation, type AzureBlobStorageOptions } from './azureBlob';
export { LocalStorage, type LocalStorageOptions } from './local';

export const ACCEPTED_STORAGE_URIS = ['a local directory path', 'file:///<absolute path>', ...AZURE_URI_FORMS];

/** True for URIs with a scheme other than `file:` (a Windows drive letter such as `C:\` is a local path). */
export function isRemoteUri(uri: string): boolean {
  const scheme = schemeOf(uri);
  return scheme !== null && scheme !== 'file';
}

export function openStorage(uri: string): Storage {
  if (typeof uri !== 'string' || uri.trim() === '') {
    throw new UserError(`empty storage URI; accepted: ${ACCEPTED_STORAGE_URIS.join(', ')}`);
  }
  const scheme = schemeOf(uri);
  if (scheme === null || scheme === 'file') return new LocalStorage(uri);
  const location = parseAzureBlobUri(uri);
  if (!location) {
    throw new UserError(`unsupported storage URI ${uri.replace(/\?.*$/, '?…')}; accepted: ${ACCEPTED_STORAGE_URIS.join(', ')}`);
  }
  return new AzureBlobStorage(uri);
}

/**
 * Opens a storage that a writer is about to fill: a local directory is created when missing (a remote container
 * must already exist — it is declared by the infrastructure), then the storage is checked.
 */
export async function openStorageForWriting(uri: string): Promise<Storage> {
  const storage = openStorage(uri);
  if (storage instanceof LocalStorage) {
    await mkdir(storage.root, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw new UserError(`cannot create storage directory ${storage.root}: ${err.code ?? err.message}`);
    });
  }
  await storage.check();
  return storage;
}

function schemeOf(uri: string): string | null {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  if (!match) return null;
  const scheme = match[1]!.toLowerCase();
  // `C:\models` or `C:/models`: a Windows drive letter, not a scheme.
  if (scheme.length === 1) return null;
  return scheme;
}
