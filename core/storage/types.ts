/**
 * One small interface in front of local directories and Azure Blob / ADLS containers, so that every job and
 * the server work the same locally and in the cloud. Keys are `/`-separated relative paths.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export interface PutOptions {
  /** `'*'`: create only; fails with PreconditionFailedError when the key exists (exclusive create). */
  ifNoneMatch?: '*';
  /** Replace only when the current ETag equals this; fails with PreconditionFailedError otherwise. */
  ifMatch?: string;
  contentType?: string;
}

export interface Storage {
  /** The URI this storage was opened with (credentials never appear in it). */
  readonly uri: string;
  /** Reads a whole object; throws NotFoundError. */
  get(key: string): Promise<Buffer>;
  /** Reads an object with its ETag, or null when absent. */
  getWithEtag(key: string): Promise<{ data: Buffer; etag: string } | null>;
  /** Writes a whole object atomically (readers see the old or the new content, never a part). */
  put(key: string, data: Buffer | string, options?: PutOptions): Promise<{ etag: string }>;
  exists(key: string): Promise<boolean>;
  /** Deletes an object; absent keys are not an error. */
  delete(key: string): Promise<void>;
  /** All objects whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Fails with a UserError naming the URI when the storage cannot be reached or does not exist. */
  check(): Promise<void>;
}
