import { isRemoteUri, openStorage } from './index';
import type { Storage } from './types';

export { isRemoteUri };

/**
 * Opens the storage that holds one object named by a full URI (`https://<account>.blob.core.windows.net/
 * <container>/<dir>/<file>` or a local path) and returns the key of that object inside it.
 */
export function openStorageForObject(uri: string): { storage: Storage; key: string } {
  const trimmed = uri.replace(/\/+$/, '');
  const cut = trimmed.lastIndexOf('/');
  if (cut <= 0) return { storage: openStorage('.'), key: trimmed };
  return { storage: openStorage(trimmed.slice(0, cut)), key: trimmed.slice(cut + 1) };
}
