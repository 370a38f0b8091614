/**
 * Storage on a local directory (a plain path or a `file://` URI).
 *
 * Every write goes to a temporary file in the destination directory (fsynced) and is then renamed or hard-linked
 * into place, so readers see the old or the new content, never a part. Conditional writes:
 * - `ifNoneMatch: '*'` hard-links the temporary file to the key: `link` fails with EEXIST when the key exists,
 *   which makes exclusive create atomic across processes.
 * - `ifMatch` and plain writes/deletes take a short-lived lock file beside the key (exclusive create; a lock older
 *   than `staleLockMs` is considered abandoned by a crashed writer and broken), compare the ETag, then rename.
 * ETags are the quoted sha256 of the content, so equal content has equal ETags across processes and restarts.
 * Temporary and lock files start with `.~` and never appear in `list`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError, PreconditionFailedError, UserError } from '../errors';
import type { ObjectInfo, PutOptions, Storage } from './types';

/** Names starting with this are internal (temporary and lock files); keys may not use it. */
const INTERNAL_MARK = '.~';
const TEMP_MARK = '.~tmp.';
const LOCK_MARK = '.~lock.';

export interface LocalStorageOptions {
  /** A lock file older than this is considered left behind by a crashed writer (default 10 s). */
  staleLockMs?: number;
  /** How long a writer waits for a busy lock before failing (default 30 s). */
  lockWaitMs?: number;
}

export class LocalStorage implements Storage {
  readonly uri: string;
  /** Absolute path of the root directory. */
  readonly root: string;
  private readonly staleLockMs: number;
  private readonly lockWaitMs: number;

  constructor(uri: string, options: LocalStorageOptions = {}) {
    if (!uri) throw new UserError('local storage: empty path');
    this.uri = uri;
    this.root = localPathOf(uri);
    this.staleLockMs = options.staleLockMs ?? 10_000;
    this.lockWaitMs = options.lockWaitMs ?? 30_000;
  }

  async get(key: string): Promise<Buffer> {
    const data = await this.readOrNull(key);
    if (data === null) throw new NotFoundError(`'${key}' not found in ${this.uri}`);
    return data;
  }

  async getWithEtag(key: string): Promise<{ data: Buffer; etag: string } | null> {
    const data = await this.readOrNull(key);
    return data === null ? null : { data, etag: etagOf(data) };
  }

  async put(key: string, data: Buffer | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const file = this.pathOf(key);
    if (options.ifNoneMatch !== undefined && options.ifMatch !== undefined) {
      throw new Error('put: ifNoneMatch and ifMatch cannot be combined');
    }
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const etag = etagOf(buf);
    const dir = path.dirname(file);
    await mkdirFor(dir, key, this.uri);
    const temp = await writeTemp(dir, path.basename(file), buf);
    try {
      if (options.ifNoneMatch === '*') {
        await this.createExclusive(temp, file, key);
      } else {
        await this.withLock(file, async () => {
          if (options.ifMatch !== undefined) {
            const current = await readFileOrNull(file);
            if (current === null) {
              throw new PreconditionFailedError(`'${key}' does not exist in ${this.uri} (expected ETag ${options.ifMatch})`);
            }
            if (etagOf(current) !== quoteEtag(options.ifMatch)) {
              throw new PreconditionFailedError(`'${key}' in ${this.uri} was changed by someone else`);
            }
          }
          await fs.rename(temp, file);
        });
      }
    } finally {
      // After a rename the temporary file is gone; after a link (or a failure) it is removed here.
      await fs.unlink(temp).catch(() => undefined);
    }
    return { etag };
  }

  async exists(key: string): Promise<boolean> {
    const stat = await fs.stat(this.pathOf(key)).catch(() => null);
    return stat !== null && stat.isFile();
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    const dirStat = await fs.stat(path.dirname(file)).catch(() => null);
    if (!dirStat?.isDirectory()) return;
    await this.withLock(file, async () => {
      await fs.unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    });
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validatePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dirRel = slash >= 0 ? prefix.slice(0, slash) : '';
    const partial = prefix.slice(slash + 1);
    const out: ObjectInfo[] = [];
    await walk(path.join(this.root, ...splitKey(dirRel)), dirRel, partial, out);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  async check(): Promise<void> {
    let stat: Stats;
    try {
      stat = await fs.stat(this.root);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new UserError(`storage ${this.uri} does not exist (no directory ${this.root})`);
      throw new UserError(`storage ${this.uri} cannot be read: ${code ?? (err as Error).message}`);
    }
    if (!stat.isDirectory()) throw new UserError(`storage ${this.uri} is not a directory (${this.root})`);
    await fs.readdir(this.root).catch((err: NodeJS.ErrnoException) => {
      throw new UserError(`storage ${this.uri} cannot be read: ${err.code ?? err.message}`);
    });
  }

  private pathOf(key: string): string {
    validateKey(key);
    return path.join(this.root, ...splitKey(key));
  }

  private async readOrNull(key: string): Promise<Buffer | null> {
    return readFileOrNull(this.pathOf(key));
  }

  private async createExclusive(temp: string, file: string, key: string): Promise<void> {
    try {
      await fs.link(temp, file);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new PreconditionFailedError(`'${key}' already exists in ${this.uri}`);
      // File systems without hard links (some network mounts): fall back to the lock file.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
    }
    await this.withLock(file, async () => {
      if ((await fs.stat(file).catch(() => null)) !== null) {
        throw new PreconditionFailedError(`'${key}' already exists in ${this.uri}`);
      }
      await fs.rename(temp, file);
    });
  }

  /** Runs `fn` holding the lock file of `file` (its directory must exist). */
  private async withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
    const lockPath = path.join(path.dirname(file), LOCK_MARK + path.basename(file));
    const token = `${process.pid}.${randomBytes(8).toString('hex')}`;
    const deadline = Date.now() + this.lockWaitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.writeFile(lockPath, token, { flag: 'wx' });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const stat = await fs.stat(lockPath).catch(() => null);
      if (stat === null) continue;
      if (Date.now() - stat.mtimeMs > this.staleLockMs) {
        await breakStaleLock(lockPath, stat);
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${this.lockWaitMs} ms waiting for the lock on '${file}' in ${this.uri}`);
      }
      await sleep(Math.min(50, 2 + attempt) * (0.5 + Math.random()));
    }
    try {
      return await fn();
    } finally {
      // Only remove the lock when it is still ours (it may have been broken as stale by another writer).
      const holder = await fs.readFile(lockPath, 'utf8').catch(() => null);
      if (holder === token) await fs.unlink(lockPath).catch(() => undefined);
    }
  }
}

/** Resolves a plain path or a `file://` URI to an absolute path. */
export function localPathOf(uri: string): string {
  if (/^file:/i.test(uri)) {
    try {
      return fileURLToPath(uri);
    } catch (err) {
      throw new UserError(`invalid file URI ${uri}: ${(err as Error).message}`);
    }
  }
  return path.resolve(uri);
}

/**
 * Keys are `/`-separated relative paths: not empty, no leading `/`, no `.`/`..`/empty segments, no backslashes,
 * no control characters, and no segment starting with `.~` (reserved for temporary and lock files).
 */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new UserError('storage key must be a non-empty string');
  if (key.length > 1024) throw new UserError(`storage key is too long (${key.length} characters): '${key.slice(0, 60)}…'`);
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) throw new UserError(`storage key must be relative: '${key}'`);
  if (key.includes('\\')) throw new UserError(`storage key must use '/' as separator: '${key}'`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new UserError(`storage key contains control characters: '${JSON.stringify(key)}'`);
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new UserError(`storage key has an empty, '.' or '..' segment: '${key}'`);
    }
    if (segment.startsWith(INTERNAL_MARK)) {
      throw new UserError(`storage key segments may not start with '${INTERNAL_MARK}': '${key}'`);
    }
  }
}

/** A list prefix is a key, a key ending in `/`, or empty. */
export function validatePrefix(prefix: string): void {
  if (prefix === '') return;
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (body === '' || prefix.endsWith('//')) throw new UserError(`invalid storage prefix: '${prefix}'`);
  validateKey(body);
}

function splitKey(key: string): string[] {
  return key === '' ? [] : key.split('/');
}

function etagOf(data: Buffer): string {
  return `"${createHash('sha256').update(data).digest('hex')}"`;
}

function quoteEtag(etag: string): string {
  const bare = etag.replace(/^W\//, '');
  return bare.startsWith('"') ? bare : `"${bare}"`;
}

async function readFileOrNull(file: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
    throw err;
  }
}

async function mkdirFor(dir: string, key: string, uri: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new UserError(`cannot write '${key}' in ${uri}: a parent of it is a file`);
    }
    throw err;
  }
}

async function writeTemp(dir: string, base: string, data: Buffer): Promise<string> {
  const temp = path.join(dir, `${TEMP_MARK}${base}.${randomBytes(6).toString('hex')}`);
  const handle = await fs.open(temp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  return temp;
}

/**
 * Moves an abandoned lock aside (rename is atomic, so only one writer wins). If the file moved aside turns out to
 * be a fresh lock that replaced the stale one in the meantime, it is put back.
 */
async function breakStaleLock(lockPath: string, stale: Stats): Promise<void> {
  const aside = `${lockPath}.${randomBytes(6).toString('hex')}`;
  try {
    await fs.rename(lockPath, aside);
  } catch {
    return; // someone else broke or released it
  }
  const moved = await fs.stat(aside).catch(() => null);
  if (moved !== null && moved.ino !== stale.ino) {
    await fs.link(aside, lockPath).catch(() => undefined);
  }
  await fs.unlink(aside).catch(() => undefined);
}

async function walk(dir: string, dirRel: string, partial: string, out: ObjectInfo[]): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw err;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(INTERNAL_MARK)) continue;
    if (partial && !entry.name.startsWith(partial)) continue;
    const rel = dirRel ? `${dirRel}/${entry.name}` : entry.name;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await walk(full, rel, '', out);
    } else {
      const stat = await fs.stat(full).catch(() => null);
      if (stat?.isFile()) out.push({ key: rel, size: stat.size, lastModified: stat.mtime });
      else if (stat?.isDirectory()) await walk(full, rel, '', out);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
