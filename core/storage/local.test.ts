/** LocalStorage specifics: paths and file URIs, temporary and lock files, stale locks, atomic replacement. */
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PreconditionFailedError, UserError } from '../errors';
import { LocalStorage } from './local';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function allFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

describe('LocalStorage', () => {
  it('opens a file:// URI and a plain path to the same directory', async () => {
    const viaUri = new LocalStorage(pathToFileURL(dir).href);
    await viaUri.put('models/a.json', '{"a":1}');
    const viaPath = new LocalStorage(dir);
    expect((await viaPath.get('models/a.json')).toString()).toBe('{"a":1}');
    expect(viaUri.root).toBe(viaPath.root);
    expect(viaUri.uri).toBe(pathToFileURL(dir).href);
    expect(await allFiles(dir)).toEqual(['models/a.json']);
  });

  it('leaves no temporary or lock files behind after writes, failed conditions and deletes', async () => {
    const storage = new LocalStorage(dir);
    const { etag } = await storage.put('k/v.json', '1');
    await storage.put('k/v.json', '2', { ifMatch: etag }).catch(() => undefined);
    await expect(storage.put('k/v.json', '3', { ifMatch: etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(storage.put('k/v.json', '4', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    await storage.put('k/w.json', 'w', { ifNoneMatch: '*' });
    await storage.delete('k/w.json');
    expect(await allFiles(dir)).toEqual(['k/v.json']);
  });

  it('accepts ETags with or without quotes', async () => {
    const storage = new LocalStorage(dir);
    const { etag } = await storage.put('e', 'x');
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    await storage.put('e', 'y', { ifMatch: etag.slice(1, -1) });
    expect((await storage.get('e')).toString()).toBe('y');
  });

  it('does not list temporary and lock files left by a crashed writer', async () => {
    const storage = new LocalStorage(dir);
    await storage.put('m/a.json', 'a');
    await writeFile(path.join(dir, 'm', '.~tmp.a.json.123abc'), 'partial');
    await writeFile(path.join(dir, 'm', '.~lock.a.json'), 'someone');
    expect((await storage.list('')).map((o) => o.key)).toEqual(['m/a.json']);
  });

  it('breaks a stale lock left by a crashed writer', async () => {
    const storage = new LocalStorage(dir, { staleLockMs: 500 });
    const { etag } = await storage.put('aliases.json', '{}');
    const lock = path.join(dir, '.~lock.aliases.json');
    await writeFile(lock, 'crashed writer');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    await storage.put('aliases.json', '{"champion":1}', { ifMatch: etag });
    expect((await storage.get('aliases.json')).toString()).toBe('{"champion":1}');
    expect(await allFiles(dir)).toEqual(['aliases.json']);
  });

  it('waits for a live lock and gives up after lockWaitMs', async () => {
    const storage = new LocalStorage(dir, { staleLockMs: 60_000, lockWaitMs: 300 });
    await storage.put('busy.json', '{}');
    await writeFile(path.join(dir, '.~lock.busy.json'), 'live writer');
    const started = Date.now();
    await expect(storage.put('busy.json', '{"x":1}')).rejects.toThrow(/timed out .* waiting for the lock/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await storage.get('busy.json')).toString()).toBe('{}');
  });

  it('replaces content atomically: concurrent readers see a whole old or new object', async () => {
    const storage = new LocalStorage(dir);
    const size = 2 * 1024 * 1024;
    const contents = ['a', 'b', 'c'].map((ch) => Buffer.alloc(size, ch));
    await storage.put('big.bin', contents[0]!);
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 15; i++) await storage.put('big.bin', contents[i % 3]!);
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const data = await storage.get('big.bin');
      expect(data.length).toBe(size);
      expect(contents.some((c) => c.equals(data))).toBe(true);
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
  });

  it('check() names the URI when the directory is missing or is a file', async () => {
    const missing = path.join(dir, 'nope');
    await expect(new LocalStorage(missing).check()).rejects.toThrow(UserError);
    await expect(new LocalStorage(missing).check()).rejects.toThrow(`storage ${missing} does not exist`);
    await writeFile(path.join(dir, 'file'), 'x');
    await expect(new LocalStorage(path.join(dir, 'file')).check()).rejects.toThrow(/is not a directory/);
    await expect(new LocalStorage(dir).check()).resolves.toBeUndefined();
  });

  it('reports a write below an existing file as a UserError', async () => {
    const storage = new LocalStorage(dir);
    await storage.put('a', 'file');
    await expect(storage.put('a/b', 'x')).rejects.toBeInstanceOf(UserError);
  });

  it('never writes outside its root', async () => {
    const inner = path.join(dir, 'inner');
    await mkdir(inner);
    const storage = new LocalStorage(inner);
    for (const key of ['../outside', 'x/../../outside', '/tmp/outside']) {
      await expect(storage.put(key, 'x')).rejects.toBeInstanceOf(UserError);
    }
    expect(await allFiles(dir)).toEqual([]);
  });
});
